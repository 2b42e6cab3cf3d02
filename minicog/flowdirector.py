"""FlowDirector (Li et al. 2025, arXiv 2506.05046 v1): inversion-free video editing with
attention-guided masking and differential averaging guidance.

FlowDirector runs FlowEdit's editing ODE (`minicog.editing.editing_ode`, v1 §3.2)

    dZ_edit/dt = V_edit(t) = v(Z_tar_t, t, c_tar) − v(Z_src_t, t, c_src),  Z_edit = X_src at t_max

and corrects its velocity in two ways before each Euler step Z_edit ← Z_edit + (t_next − t)·V:

1. **Spatially attentive flow correction** (SAFC, v1 §3.3). The words that change between the
   prompts ("red" → "blue") are looked up in the DiT's 3D full attention: for each edited word w,
   A_w[τ, y, x] = how much the video token (τ, y, x) attends to w (the video→text block of the
   attention, averaged over heads; source words in the source pass, target words in the target
   pass). Each map is normalised to [0, 1], smoothed with a box filter over space (and time),
   thresholded at its mean, and the binary masks of all words and all noise draws are united into
   M; its edges are softened with exp(−decay·distance). The edit moves only where M is on:

        V ← M ⊙ V                      (non-target regions keep velocity 0, i.e. stay X_src)

2. **Differential averaging guidance** (DAG, v1 §3.4). N candidate flows V_1..V_N come from N
   independent noise draws ε_k. Their mean V_better is a low-variance estimate; the mean of a
   subset of M < N of them, V_worse, a higher-variance one. Like classifier-free guidance, the
   difference is extrapolated:

        V = V_better + (ω − 1)·(V_better − V_worse)  =  V_worse + ω·(V_better − V_worse)

   ω = 1 is FlowEdit's plain noise averaging (n_avg = N). Choice (documented in
   docs/flowdirector.md): V_worse is the mean of the *first* M draws. The authors' code averages
   (V_better − V_worse) over *all* C(N, M) subsets, which cancels exactly — every draw is in the
   same number of subsets, so the mean of the subset means is V_better — leaving plain averaging.

v2 adds two corrections, each a switch of `EditConfig` (off in the preset until measured to help):
`use_dafc` (direction-aware flow correction, `direction_aware`) and `use_madfc` (motion–appearance
decoupling, `motion_gate` + `decouple_motion`); both are read from the v2 paper's description
(../shared/papers/flowdirector.md), not from released code.

Switches for the ablations: `use_mask`, `use_dag` in `EditConfig`; `mask=` puts a given mask (a
segmentation, or the Shapes world's true object) in place of the attention mask.
"""
from __future__ import annotations

import difflib
from dataclasses import replace
from typing import Callable, Sequence

import torch
import torch.nn.functional as F

from .attention import ATTN_MAPS
from .editing import DAG_VERSIONS, SRC, TAR, EditConfig, Prompts, editing_ode, guided_velocities
from .rectified_flow import interpolate
from .text_encoder import split_words, token_positions


# ----------------------------------------------------------------------------- which words

def diff_words(source_prompt: str, target_prompt: str) -> tuple[list[str], list[str]]:
    """The words that differ between the prompts (a word-level diff): ("a red circle ...",
    "a blue circle ...") → (["red"], ["blue"]). Replacements give both, insertions only target
    words, deletions only source words; equal prompts give ([], [])."""
    a, b = split_words(source_prompt), split_words(target_prompt)
    src, tar = [], []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if op != "equal":
            src += a[i1:i2]
            tar += b[j1:j2]
    return src, tar


def _tokenizer_ids(pipe) -> Callable[[str, bool], list[int]]:
    """A function (text, is_prompt) → token ids, as the pipeline's text encoder tokenizes.
    Supports minicog's WordTokenizer and Hugging Face tokenizers (T5 of the scaled path)."""
    for owner in (pipe, getattr(pipe, "text_encoder", None)):
        tok = getattr(owner, "tokenizer", None)
        if tok is None:
            continue
        if hasattr(tok, "tokenize") and hasattr(tok, "bos_id"):          # minicog WordTokenizer
            def ids(text, is_prompt, tok=tok):
                out = tok.tokenize(text)[0]
                return out if is_prompt else out[1:]                    # drop <bos> from words
            return ids
        if callable(tok):                                                # Hugging Face
            def ids(text, is_prompt, tok=tok):
                return list(tok(text, add_special_tokens=is_prompt)["input_ids"])
            return ids
    raise ValueError("cannot find the pipeline's tokenizer to locate the edited words; pass "
                     "use_mask=False, or give the pipeline a `token_indices(prompt, words)` method")


def token_indices(pipe, prompt: str, words: Sequence[str]) -> list[int]:
    """Positions of `words` in the encoded `prompt` (the text axis of the attention maps): the
    pipeline's own `token_indices(prompt, words)` when it has one, else
    `text_encoder.token_positions` on its tokenizer (`_tokenizer_ids`)."""
    fn = getattr(pipe, "token_indices", None)
    if callable(fn):
        return list(fn(prompt, list(words)))
    return token_positions(_tokenizer_ids(pipe), prompt, words)


def default_attention_layers(num_layers: int) -> list[int]:
    """The layers whose maps make the mask: by default layers 2 and 3 of the tiny 6-layer DiT, i.e.
    the ones in [0.3, 0.6]·depth (the authors take one layer at 0.6 of the depth of Wan-1.3B)."""
    lo, hi = int(round(0.3 * num_layers)), int(round(0.6 * num_layers))
    return list(range(lo, max(hi, lo + 1)))


# ----------------------------------------------------------------------------- SAFC: masks

def word_attention(maps: dict[int, torch.Tensor], tokens: Sequence[int],
                   layers: Sequence[int] | None = None, over_text: bool = True,
                   kind: str = "video_to_text") -> torch.Tensor:
    """maps[layer]: one text block of the attention (R, h, L, T', H', W') → (R, T', H', W'): the
    mean over layers, heads and the given text tokens.

    kind="video_to_text": how much each video token attends to the words. over_text=True
    renormalises each video token's attention over the text tokens first, A[w] / Σ_w' A[w'] — the
    softmax over text keys only, i.e. the *cross-attention* map the paper reads off Wan. In 3D
    full attention the softmax also runs over the video keys, and how much of its attention a
    video token spends on text at all varies across the frame (background tokens dump more on the
    text than object tokens do), which would otherwise swamp the word's map.

    kind="text_to_video": where the word's own query looks in the video, each token's row
    renormalised over the video keys (a distribution over the video for every word) — the other
    half of the joint attention, which has no counterpart in a cross-attention model."""
    if kind not in ATTN_MAPS:
        raise ValueError(f"kind must be one of {ATTN_MAPS}, got {kind!r}")
    if not tokens:
        raise ValueError("word_attention needs at least one text token index")
    layers = sorted(maps) if layers is None else list(layers)
    missing = [l for l in layers if l not in maps]
    if missing:
        raise ValueError(f"layers {missing} were not recorded; recorded: {sorted(maps)}")
    idx = torch.as_tensor(list(tokens), dtype=torch.long)
    per_layer = []
    for l in layers:
        a = maps[l].float().mean(1)                                   # (R, L, T', H', W')
        if kind == "text_to_video":
            a = a / a.sum(dim=(2, 3, 4), keepdim=True).clamp_min(1e-12)
        elif over_text:
            a = a / a.sum(1, keepdim=True).clamp_min(1e-12)
        per_layer.append(a[:, idx.to(a.device)].mean(1))
    return torch.stack(per_layer).mean(0)


def soften_edges(binary: torch.Tensor, decay: float) -> torch.Tensor:
    """(T, h, w) 0/1 → soft mask: 1 inside, exp(−decay·d) outside, d the chessboard distance (in
    latent pixels, within the frame) to the mask; frames without any mask stay 0."""
    on = binary > 0.5
    dist = torch.where(on, 0.0, float("inf"))
    cur = on
    for k in range(1, max(binary.shape[-2:])):
        if bool(cur.all()):
            break
        cur = F.max_pool2d(cur.float()[:, None], 3, 1, 1)[:, 0] > 0.5
        dist = torch.where(cur & torch.isinf(dist), float(k), dist)
    return torch.exp(-decay * dist)                       # exp(−inf) = 0


def latent_mask(mask, size: tuple[int, int, int], decay: float = 1.5) -> torch.Tensor:
    """A mask given by the user — pixels (T, H, W) of the video, or already the latent grid
    (T', h, w) — as SAFC's mask on the latent grid `size`: a latent token is on when any pixel of
    the frames and the patch it encodes is (the causal VAE's latent frame 0 encodes frame 0, each
    later one the next (T − 1)/(T' − 1) frames), then `soften_edges` like the attention mask.
    Values in [0, 1]; a latent-grid mask is used as it is."""
    m = torch.as_tensor(mask).float()
    if m.ndim != 3:
        raise ValueError(f"mask must be (T, H, W) over the video's pixels or (T', h, w) over the "
                         f"latent grid {tuple(size)}, got shape {tuple(m.shape)}")
    if float(m.min()) < 0 or float(m.max()) > 1:
        raise ValueError("mask values must lie in [0, 1] (1: edit here, 0: keep the source)")
    Tl, h, w = size
    if tuple(m.shape) == tuple(size):
        return m
    T, H, W = m.shape
    if H % h or W % w:
        raise ValueError(f"a pixel mask of shape {tuple(m.shape)} does not match the latent grid "
                         f"{tuple(size)}: pass the video's (T, H, W) with H, W multiples of {h}, {w}, "
                         "or the latent grid itself")
    return soften_edges(object_latent_mask(m, size), decay)


def per_latent_frame(m: torch.Tensor, latent_frames: int, reduce: str = "max") -> torch.Tensor:
    """(T, H, W) per pixel frame → (T', H, W) per latent frame, as the causal VAE groups frames:
    latent frame 0 is frame 0, each later one the next k = (T − 1)/(T' − 1) frames; `reduce` "max"
    (any frame) or "mean" (share of the frames)."""
    T, Tl = m.shape[0], latent_frames
    k = (T - 1) // (Tl - 1) if Tl > 1 else 0
    if (Tl > 1 and (T - 1) != k * (Tl - 1)) or (Tl == 1 and T != 1) or reduce not in ("max", "mean"):
        raise ValueError(f"{T} frames do not group into {Tl} latent frames (T = 1 + {max(Tl - 1, 0)}·k "
                         f"for the causal VAE), or reduce {reduce!r} is not 'max' / 'mean'")
    groups = [m[:1]] + [m[1 + i * k: 1 + (i + 1) * k] for i in range(Tl - 1)]
    return torch.stack([g.amax(0) if reduce == "max" else g.mean(0) for g in groups])


def attention_mask(word_maps: torch.Tensor, size: tuple[int, int, int], kernel: int = 3,
                   kernel_t: int = 1, threshold: float | str = "mean", decay: float = 1.5,
                   return_parts: bool = False, reduce: str = "union"):
    """SAFC's mask (v1 §3.3) from word maps (R, T', H', W') on the latent grid size (T, h, w).

    per map: nearest upsampling to the latent grid → min–max normalisation to [0, 1] → box filter
    of `kernel`×`kernel` latent pixels and `kernel_t` frames → binary at `threshold` ("mean": the
    map's own mean, as in the authors' code; a number: that level) ; then the union over the R maps
    and `soften_edges`. A map with no contrast (constant) cannot localise anything and gives all
    ones. reduce="mean" (minicog's switch) instead averages the R smoothed maps and thresholds that
    one map: the maps vote, rather than any one of them widening the mask; a constant map then adds
    nothing, and only all-constant maps give all ones. Returns (T, h, w) in [0, 1] (and a dict of
    the intermediate maps with return_parts)."""
    if word_maps.ndim != 4:
        raise ValueError(f"word_maps must be (R, T', H', W'), got {tuple(word_maps.shape)}")
    a = F.interpolate(word_maps.float()[:, None], size=tuple(size), mode="nearest")   # (R, 1, T, h, w)
    lo = a.amin(dim=(2, 3, 4), keepdim=True)
    hi = a.amax(dim=(2, 3, 4), keepdim=True)
    flat = (hi - lo) < 1e-12
    a = (a - lo) / (hi - lo).clamp_min(1e-12)
    smooth = F.avg_pool3d(a, (kernel_t, kernel, kernel), stride=1,
                          padding=(kernel_t // 2, kernel // 2, kernel // 2), count_include_pad=False)
    if reduce == "mean":
        smooth, flat = smooth.mean(0, keepdim=True), flat.all(0, keepdim=True)
    elif reduce != "union":
        raise ValueError(f"reduce must be 'union' or 'mean', got {reduce!r}")
    thr = smooth.mean(dim=(2, 3, 4), keepdim=True) if threshold == "mean" else float(threshold)
    binary = (smooth > thr) | flat
    union = binary.any(dim=0)[0].float()                                              # (T, h, w)
    mask = soften_edges(union, decay)
    if return_parts:
        return mask, dict(normalised=a[:, 0], smoothed=smooth[:, 0], binary=binary[:, 0], union=union)
    return mask


# ----------------------------------------------------------------------------- DAG

def differential_averaging(candidates: torch.Tensor, n_worse: int, omega: float, version: str = "v1"):
    """DAG: candidates (N, ...) → (V, V_better, V_worse) with V_better the mean of all N and
    V = V_better + (ω − 1)·(V_better − V_worse). Which candidates make V_worse:

    "v1" (v1 §3.4, minicog's reading): the first n_worse — a smaller, noisier average;
    "v2" (the v2 paper's fix, V_DAG = V_HQ + w·(V_HQ − V_BL), w = ω − 1): the n_worse candidates least
         similar (cosine) to V_better, so the difference points from a deliberately poor estimate
         towards the good one. ω = 1 (w = 0) is plain averaging in both."""
    N = candidates.shape[0]
    if not 1 <= n_worse < N:
        raise ValueError(f"n_worse must lie in [1, N={N}), got {n_worse}")
    if version not in DAG_VERSIONS:
        raise ValueError(f"DAG version must be one of {DAG_VERSIONS}, got {version!r}")
    better = candidates.mean(0, keepdim=True)
    if version == "v1":
        worse = candidates[:n_worse].mean(0, keepdim=True)
    else:
        similarity = F.cosine_similarity(candidates.flatten(1), better.flatten(1), dim=1)   # (N,)
        worse = candidates[similarity.argsort()[:n_worse]].mean(0, keepdim=True)
    return better + (omega - 1.0) * (better - worse), better, worse


# ----------------------------------------------------------------------------- the velocity mask (beyond the paper)

@torch.no_grad()
def _noised_source(x_src: torch.Tensor, cfg: EditConfig, generator: torch.Generator, salt: int) -> torch.Tensor:
    """The source latent (1, C, T, h, w) noised to t = cfg.mask_t with cfg.mask_draws draws →
    (mask_draws, C, T, h, w), for a mask computed once before the ODE. The noise comes from a
    generator seeded by `generator`'s seed + `salt` (one salt per kind of mask), so the edit's own
    draws from `generator` are unchanged."""
    N = int(cfg.mask_draws)
    g = torch.Generator().manual_seed((generator.initial_seed() + salt) % 2**63)
    eps = torch.randn((N, *x_src.shape[1:]), generator=g).to(x_src)
    return interpolate(x_src.expand(N, *x_src.shape[1:]), eps, float(cfg.mask_t))


def velocity_mask(velocity: Callable, x_src: torch.Tensor, prompts: Prompts, cfg: EditConfig,
                  generator: torch.Generator, return_parts: bool = False):
    """DiffEdit's mask (Couairon et al. 2023, §3.1) for a rectified-flow model: where do the source
    and target prompts ask for different velocities at the same noisy latent?

        z_k = (1 − t)·X_src + t·ε_k   (k = 1..mask_draws, t = cfg.mask_t)
        D   = mean_k ‖v(z_k, t, c_tar) − v(z_k, t, c_src)‖   over channels, per latent pixel (T, h, w)

    then SAFC's own rule (`attention_mask` with cfg's kernel, threshold and edge decay) makes it
    binary and soft. Unguided (conditional) velocities, as DiffEdit. The noise comes from a
    generator derived from `generator`'s seed, so the edit's own draws are the same as with the
    attention mask. Costs 2·mask_draws model rows once, before the ODE. Returns (T, h, w) in
    [0, 1] (and {"difference": D, ...attention_mask's parts} with return_parts)."""
    N = int(cfg.mask_draws)
    z = _noised_source(x_src, cfg, generator, salt=0x5EED)
    out = guided_velocities(velocity, torch.cat([z, z]), float(cfg.mask_t), prompts,
                            [SRC] * N + [TAR] * N, [1.0] * (2 * N), cfg.max_batch)
    D = (out.conditional[N:] - out.conditional[:N]).norm(dim=1).mean(0)        # (T, h, w)
    M, parts = attention_mask(D[None], tuple(D.shape), cfg.mask_kernel, cfg.mask_kernel_t,
                              cfg.mask_threshold, cfg.mask_decay, return_parts=True)
    return (M, dict(difference=D, **parts)) if return_parts else M


def source_attention_mask(velocity: Callable, x_src: torch.Tensor, prompts: Prompts, cfg: EditConfig,
                          generator: torch.Generator, record: Callable, source_tokens: Sequence[int],
                          layers: Sequence[int] | None = None, return_parts: bool = False):
    """SAFC's word maps read once, from the source (minicog's variant of v1 §3.3):

        z_k = (1 − t)·X_src + t·ε_k   (k = 1..mask_draws, t = cfg.mask_t)

    run with the source prompt (conditional, unguided) while `record` records the attention; the
    maps of the edited source words (`word_attention` over `layers`, cfg's direction) then go
    through SAFC's own rule (`attention_mask` with cfg's kernel, threshold, decay and
    `mask_reduce` over the draws). Why: the paper reads the maps at every step from every candidate
    flow, source and target, at the step's noise level and unites their binary masks (20+ maps per
    step here), while a word's attention localises best at low noise (docs/training.md, word
    attention by t) and on the clip that actually holds the named object — the source. Costs
    mask_draws model rows once; the noise comes from a generator derived from `generator`'s seed
    (another one than `velocity_mask`'s), so the edit's own draws are unchanged.
    Returns (T, h, w) in [0, 1] (and attention_mask's parts with return_parts)."""
    if not source_tokens:
        raise ValueError("the source-attention mask needs the edited words of the source prompt; "
                         "with words only added in the target use mask_source='attention' or 'velocity'")
    N = int(cfg.mask_draws)
    z = _noised_source(x_src, cfg, generator, salt=0x5A7C)
    out = guided_velocities(velocity, z, float(cfg.mask_t), prompts, [SRC] * N, [1.0] * N,
                            cfg.max_batch, record=record, map_kind=cfg.attention_kind)
    word_maps = word_attention(out.maps, source_tokens, layers, kind=cfg.attention_kind)   # (N, T', H', W')
    return attention_mask(word_maps, tuple(x_src.shape[-3:]), cfg.mask_kernel, cfg.mask_kernel_t,
                          cfg.mask_threshold, cfg.mask_decay, return_parts=return_parts,
                          reduce=cfg.mask_reduce)


# ----------------------------------------------------------------------------- v2's corrections (as we read v2)

def direction_aware(V: torch.Tensor, v_src: torch.Tensor, alpha: float) -> torch.Tensor:
    """DA-FC (FlowDirector v2): per latent token (the channel vector at each (τ, y, x)), split the
    editing velocity V into its part along the source velocity s and the rest,

        c = ⟨V, s⟩ / |s|²,   V_∥ = c·s,   V_⊥ = V − V_∥,
        V' = V_⊥                   where c > 0  (V_∥ only pushes towards re-creating the source)
        V' = V_⊥ + (1 + α)·V_∥     where c ≤ 0  (V_∥ moves away from the source: amplified)

    V, v_src (B, C, T, h, w); α ≥ 0. V = 0 stays 0 (an identity edit stays the identity)."""
    s = v_src.to(V)
    c = (V * s).sum(1, keepdim=True) / (s * s).sum(1, keepdim=True).clamp_min(1e-12)
    par = c * s
    return V - par + torch.where(c > 0, torch.zeros_like(c), torch.full_like(c, 1.0 + alpha)) * par


def motion_gate(x_src: torch.Tensor, low: float, high: float) -> torch.Tensor:
    """MAD-FC's gate (FlowDirector v2, as we read it) from the source latents (1, C, T, h, w):
    motion energy E[τ] = mean over channels of (x[τ] − x[τ−1])² (E[0] = E[1]), divided by the
    clip's largest, then 0 below `low`, 1 above `high`, linear between → (1, 1, T, h, w)."""
    x = x_src.float()
    if x.shape[2] < 2:
        return torch.ones_like(x[:, :1])
    d = (x[:, :, 1:] - x[:, :, :-1]).pow(2).mean(1, keepdim=True)              # (1, 1, T−1, h, w)
    e = torch.cat([d[:, :, :1], d], dim=2)
    e = e / e.amax().clamp_min(1e-12)
    return ((e - low) / (high - low)).clamp(0, 1)


def decouple_motion(V: torch.Tensor, gate: torch.Tensor) -> torch.Tensor:
    """MAD-FC: V = appearance (its mean over time) + motion (the rest); the motion part is kept
    only where the source moves: V' = mean_τ V + gate·(V − mean_τ V). gate 1 everywhere = V."""
    app = V.mean(dim=2, keepdim=True)
    return app + gate.to(V) * (V - app)


# ----------------------------------------------------------------------------- the edit

@torch.no_grad()
def flowdirector(velocity: Callable, x_src: torch.Tensor, prompts: Prompts, cfg: EditConfig,
                 generator: torch.Generator, shift: float = 1.0, record: Callable | None = None,
                 source_tokens: Sequence[int] = (), target_tokens: Sequence[int] = (),
                 layers: Sequence[int] | None = None, callback: Callable | None = None,
                 progress: bool = False, mask: torch.Tensor | None = None) -> torch.Tensor:
    """FlowDirector on latents: the editing ODE with V = M ⊙ DAG(V_1..V_N).

    record: factory of attention recorders (needed when cfg.use_mask); source_tokens /
    target_tokens: positions of the edited words in the source / target prompt. Without any edited
    word (equal prompts) there is nothing to localise and the mask is all ones. mask: a fixed
    (T, h, w) mask in [0, 1] on the latent grid used *instead of* the attention mask (e.g. a
    segmentation, or the true object in the Shapes world: the ceiling of SAFC); no attention is
    recorded then. The callback's info dict gains `mask`, `v_better`, `v_worse` and `word_maps`
(and `v_before_dafc`, `motion_gate` with the v2 switches)."""
    # 1. check inputs: a given mask on the latent grid, or what the attention mask needs
    N = cfg.n_avg
    size = tuple(x_src.shape[-3:])                       # latent grid (T, h, w)
    if mask is not None:
        if not cfg.use_mask:
            raise ValueError("a mask was given but use_mask=False: drop the mask, or leave use_mask on")
        if tuple(mask.shape) != size:
            raise ValueError(f"mask must be on the latent grid {size}, got {tuple(mask.shape)}; "
                             "`flowdirector.latent_mask` converts a pixel mask")
    if mask is None and cfg.use_mask and cfg.mask_source == "velocity":
        mask = velocity_mask(velocity, x_src, prompts, cfg, generator)      # once, before the ODE
    if mask is None and cfg.use_mask and cfg.mask_source == "source_attention" and source_tokens:
        if record is None:
            raise ValueError("mask_source='source_attention' needs attention maps: pass `record`")
        mask = source_attention_mask(velocity, x_src, prompts, cfg, generator, record,
                                     source_tokens, layers).to(x_src.device)   # once, before the ODE
    use_mask = cfg.use_mask and mask is None and (len(source_tokens) + len(target_tokens)) > 0
    if use_mask and record is None:
        raise ValueError("use_mask=True needs attention maps: pass `record` (a factory of "
                         "attention recorders, e.g. lambda: dit.record_attention(...))")

    gate = motion_gate(x_src, cfg.madfc_low, cfg.madfc_high) if cfg.use_madfc else None

    # 2. each step's velocity from its N candidates (N, C, T, h, w) → V (1, C, T, h, w)
    def combine(info: dict) -> torch.Tensor:
        V_k = info["candidates"]
        # 2a. DAG (or plain averaging)
        if cfg.use_dag:
            V, better, worse = differential_averaging(V_k, cfg.n_worse, cfg.omega, cfg.dag_version)
            info.update(v_better=better, v_worse=worse)
        else:
            V = V_k.mean(0, keepdim=True)
        # 2b. v2's corrections: direction-aware (against the mean source velocity), motion gate
        if cfg.use_dafc:
            info.update(v_before_dafc=V)
            V = direction_aware(V, info["v_src"].mean(0, keepdim=True), cfg.dafc_alpha)
        if cfg.use_madfc:
            info.update(motion_gate=gate)
            V = decouple_motion(V, gate)
        # 2c. SAFC: the mask from this step's word attention (or the given mask)
        if use_mask:
            maps = info["maps"]                          # rows: N source passes, then N target
            parts = [word_attention({l: m[rows] for l, m in maps.items()}, tokens, layers, kind=cfg.attention_kind)
                     for rows, tokens in ((slice(None, N), source_tokens), (slice(N, 2 * N), target_tokens))
                     if tokens]
            word_maps = torch.cat(parts)                 # (R, T', H', W')
            M = attention_mask(word_maps, size, cfg.mask_kernel, cfg.mask_kernel_t,
                               cfg.mask_threshold, cfg.mask_decay, reduce=cfg.mask_reduce).to(V)
            info.update(mask=M, word_maps=word_maps, v_unmasked=V)
            V = V * M                                    # (1, C, T, h, w) ⊙ (T, h, w)
        elif mask is not None:
            info.update(mask=mask.to(V), v_unmasked=V)
            V = V * mask.to(V)
        return V

    # 3. the editing ODE with that velocity
    return editing_ode(velocity, x_src, prompts, cfg, generator, shift, combine=combine,
                       record=record if use_mask else None, callback=callback, progress=progress,
                       method="flowdirector")


def flowdirector_for_pipeline(pipe, x_src: torch.Tensor, prompts: Prompts, cfg: EditConfig,
                              generator: torch.Generator, shift: float = 1.0,
                              source_words: Sequence[str] | str | None = None,
                              target_words: Sequence[str] | str | None = None,
                              callback: Callable | None = None, progress: bool = False,
                              mask=None) -> torch.Tensor:
    """Resolve the edited words (diff of the prompts unless given) and the pipeline DiT's attention
    hook, then run `flowdirector`. mask: a fixed mask (pixels of the video or the latent grid, see
    `latent_mask`) in place of the attention mask."""
    # 1. a given mask: (T, H, W) pixels or (T', h, w) latents → (T', h, w) soft mask; no attention
    if mask is not None:
        M = latent_mask(mask, tuple(x_src.shape[-3:]), cfg.mask_decay).to(x_src.device)
        return flowdirector(pipe.velocity, x_src, prompts, cfg, generator, shift, callback=callback,
                            progress=progress, mask=M)
    # 2. the edited words: the prompts' diff unless given
    src_text, tar_text, _ = prompts.texts
    d_src, d_tar = diff_words(src_text, tar_text)
    sw = d_src if source_words is None else ([source_words] if isinstance(source_words, str) else list(source_words))
    tw = d_tar if target_words is None else ([target_words] if isinstance(target_words, str) else list(target_words))
    sw = [w for s in sw for w in split_words(s)]
    tw = [w for s in tw for w in split_words(s)]
    # 3. the DiT's attention recorder on the mask's layers: those given, else the ones this model's
    #    localisation measure recorded (PipelineConfig.edit_attention), else the default band
    record, layers = None, None
    chosen = getattr(getattr(pipe, "config", None), "edit_attention", None) or {}
    if cfg.attn_map is None and chosen.get("attn_map"):
        cfg = replace(cfg, attn_map=chosen["attn_map"])
    if cfg.attn_layers is None and chosen.get("attn_layers"):
        cfg = replace(cfg, attn_layers=tuple(chosen["attn_layers"]))
    if cfg.use_mask and cfg.mask_source in ("attention", "source_attention") and (sw or tw):
        dit = getattr(pipe, "dit", None)
        if dit is None or not hasattr(dit, "record_attention"):
            raise ValueError("use_mask=True needs `pipe.dit.record_attention` (minicog's VideoDiT); "
                             "pass use_mask=False to edit without the attention mask")
        n_layers = dit.config.num_layers
        layers = list(cfg.attn_layers) if cfg.attn_layers is not None else default_attention_layers(n_layers)
        bad = [l for l in layers if not 0 <= l < n_layers]
        if bad:
            raise ValueError(f"attn_layers {bad} out of range for a DiT with {n_layers} layers")
        record = lambda: dit.record_attention(layers=layers, reduce_heads="mean")   # noqa: E731
    # 4. the words' token positions in each prompt, then FlowDirector
    src_tok = token_indices(pipe, src_text, sw) if (record is not None and sw) else []
    tar_tok = token_indices(pipe, tar_text, tw) if (record is not None and tw) else []
    return flowdirector(pipe.velocity, x_src, prompts, cfg, generator, shift, record, src_tok,
                        tar_tok, layers, callback, progress)


# ----------------------------------------------------------------------------- does a word's map localise?

def object_latent_mask(mask, size: tuple[int, int, int]) -> torch.Tensor:
    """A true object mask (T, H, W) over the video's pixels as a 0/1 mask on the latent grid
    (T', h, w): on where any pixel of the frames and the patch a latent encodes is the object —
    the binary mask `latent_mask` softens."""
    m = torch.as_tensor(mask).float()
    Tl, h, w = size
    per = per_latent_frame(m, Tl, "max")
    return (F.max_pool2d(per[:, None], (m.shape[1] // h, m.shape[2] // w))[:, 0] > 0.5).float()


@torch.no_grad()
def word_localisation(pipe, scenes, times: Sequence[float] = (0.6, 0.45, 0.3, 0.15), draws: int = 2,
                      seed: int = 0, cfg: EditConfig | None = None, layer_sets: Sequence[Sequence[int]] = ()
                      ) -> dict[tuple[str, tuple[int, ...]], dict[str, list[float]]]:
    """How well each word's attention finds the object it names, on rendered two-object Shapes
    clips — the measure behind FlowDirector's mask (SAFC) and the layer it reads.

    For every scene of `scenes` (two-object `shapes.Scene`s), the clip is rendered, encoded, noised
    to each of `times` with `draws` noise draws, and the DiT run on its own caption while the
    attention of every layer is recorded. For each object, its colour word and (when the two shapes
    differ, so the word names one object) its shape word give a map per direction (ATTN_MAPS) and
    per layer (and per set of `layer_sets`, averaged as SAFC averages them); the map is made binary
    with SAFC's own rule (`attention_mask` with `cfg`'s kernel and threshold, the union over the
    draws) and scored against the object's true mask on the latent grid (`object_latent_mask`):

        iou    |binary ∩ object| / |binary ∪ object|
        other  the share of the other object's cells inside the binary mask (should be 0)

    Returns {(kind, layers): {"iou": [...], "other": [...], "word": [...], "time": [...],
    "ceiling_iou": [...], "ceiling_other": [...]}}, one entry per (scene, object, word, time); the
    ceiling lists give what a perfect map of the same word would score (`token_grid_ceiling`)."""
    from .shapes import render_scene, scene_masks, scene_motions

    cfg = cfg or EditConfig.preset("flowdirector")
    n = pipe.dit.config.num_layers
    sets = [(l,) for l in range(n)] + [tuple(s) for s in layer_sets]
    out: dict = {}
    gen = torch.Generator().manual_seed(seed)
    for i, scene in enumerate(scenes):
        if len(scene.objects) != 2:
            raise ValueError(f"word_localisation scores two-object scenes, got {scene.caption()!r}")
        motions = scene_motions(scene, 64, seed * 100_003 + i)
        video = render_scene(scene, frames=17, size=64, motions=motions)
        masks = scene_masks(scene, motions, frames=17, size=64)
        prompt = scene.caption()
        x = pipe.encode_video(video)
        embeds, tmask = pipe.encode_prompt([prompt])
        size = tuple(x.shape[-3:])
        truth = {c: object_latent_mask(m, size) for c, m in masks.items()}
        words = []                                   # (word, the object's colour, the other's)
        a, b = scene.objects
        for obj, other in ((a, b), (b, a)):
            words.append((obj.color, obj.color, other.color))
            if a.shape != b.shape:
                words.append((obj.shape, obj.color, other.color))
        tokens = {w: token_indices(pipe, prompt, [w]) for w, _, _ in words}
        patch = pipe.dit.config.patch_size
        ceiling = {c: token_grid_ceiling(truth[c], truth[o], patch, cfg) for _, c, o in words}
        for t in times:
            eps = torch.randn((draws, *x.shape[1:]), generator=gen).to(x)
            z = (1 - t) * x + t * eps
            with pipe.dit.record_attention(layers=range(n), reduce_heads="mean") as rec:
                pipe.velocity(z, t, embeds.expand(draws, -1, -1),
                              None if tmask is None else tmask.expand(draws, -1))
            for kind in ATTN_MAPS:
                maps = {l: rec.maps[l][kind] for l in range(n)}
                for layers in sets:
                    for w, mine, theirs in words:
                        wm = word_attention(maps, tokens[w], layers=layers, kind=kind)
                        _, parts = attention_mask(wm, size, cfg.mask_kernel, cfg.mask_kernel_t,
                                                  cfg.mask_threshold, return_parts=True,
                                                  reduce=cfg.mask_reduce)
                        iou, other = _mask_scores(parts["union"], truth[mine], truth[theirs])
                        s = out.setdefault((kind, layers), dict(iou=[], other=[], word=[], time=[],
                                                                ceiling_iou=[], ceiling_other=[]))
                        s["iou"].append(iou)
                        s["other"].append(other)
                        s["word"].append("color" if w == mine else "shape")
                        s["time"].append(float(t))
                        s["ceiling_iou"].append(ceiling[mine][0])
                        s["ceiling_other"].append(ceiling[mine][1])
    return out


def _mask_scores(mask: torch.Tensor, obj: torch.Tensor, other: torch.Tensor) -> tuple[float, float]:
    """(IoU of the binary `mask` with the object, share of the other object's cells inside it);
    all three on the latent grid, on where > 0.5."""
    binary, obj, other = mask > 0.5, obj > 0.5, other > 0.5
    iou = float((binary & obj).sum() / (binary | obj).sum().clamp_min(1))
    return iou, (float(binary[other].float().mean()) if other.any() else 0.0)


def token_grid_ceiling(object_mask: torch.Tensor, other_mask: torch.Tensor, patch: int,
                       cfg: EditConfig | None = None) -> tuple[float, float]:
    """What SAFC's rule can reach at the transformer's token resolution: the IoU (and the share of
    the other object covered) of the binary mask that `attention_mask` makes from a *perfect* word
    map — each `patch`×`patch` attention token's value the share of its latent cells inside the
    object. Attention has one value per token, so a map of the latent grid's own resolution is out
    of its reach; this is the best `word_localisation` could score. Masks are (T, h, w) on the latent
    grid (`object_latent_mask`)."""
    cfg = cfg or EditConfig.preset("flowdirector")
    size = tuple(object_mask.shape)
    perfect = F.avg_pool2d(object_mask.float()[:, None], patch)[:, 0][None]          # (1, T, h/p, w/p)
    _, parts = attention_mask(perfect, size, cfg.mask_kernel, cfg.mask_kernel_t, cfg.mask_threshold,
                              return_parts=True)
    return _mask_scores(parts["union"], object_mask, other_mask)


def best_attention(scores: dict, statistic: str = "median") -> tuple[str, tuple[int, ...], float]:
    """The (direction, layers) whose maps localise best in `word_localisation`'s scores: the highest
    median (or mean) IoU over all words; returns (kind, layers, that value)."""
    import statistics
    f = statistics.median if statistic == "median" else statistics.fmean
    (kind, layers), s = max(scores.items(), key=lambda kv: f(kv[1]["iou"]))
    return kind, layers, f(s["iou"])
