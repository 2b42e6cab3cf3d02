"""FlowDirector (Li et al. 2025, arXiv 2506.05046 v1): inversion-free video editing with
attention-guided masking and differential averaging guidance.

    pipe.edit(video, src, tar, method="flowdirector")                    # the paper's v1, as tuned
    pipe.edit(video, src, tar, method="flowdirector", mask=VelocityMask(), dag=None)   # parts swapped

FlowDirector runs FlowEdit's editing ODE (`minicog.editing.editing_ode`, v1 §3.2)

    dZ_edit/dt = V_edit(t) = v(Z_tar_t, t, c_tar) − v(Z_src_t, t, c_src),  Z_edit = X_src at t_max

and corrects its velocity in two ways before each Euler step Z_edit ← Z_edit + (t_next − t)·V:

1. **Spatially attentive flow correction** (SAFC, v1 §3.3; `AttentionMask`). The words that change
   between the prompts ("red" → "blue") are looked up in the DiT's 3D full attention: for each
   edited word w, A_w[τ, y, x] = how much the video token (τ, y, x) attends to w (the video→text
   block of the attention, averaged over heads; source words in the source pass, target words in the
   target pass). Each map is normalised to [0, 1], smoothed with a box filter, thresholded
   (`MaskRule`), and the binary masks of all words and all noise draws are united into M; its edges
   are softened with exp(−decay·distance). The edit moves only where M is on:

        V ← M ⊙ V                      (non-target regions keep velocity 0, i.e. stay X_src)

2. **Differential averaging guidance** (DAG, v1 §3.4; `DAG`). N candidate flows V_1..V_N come from
   N independent noise draws ε_k (N = EditConfig.n_avg). Their mean V_better is a low-variance
   estimate; the mean of a subset of M < N of them, V_worse, a higher-variance one. Like
   classifier-free guidance, the difference is extrapolated:

        V = V_better + (ω − 1)·(V_better − V_worse)  =  V_worse + ω·(V_better − V_worse)

   ω = 1 is FlowEdit's plain noise averaging (n_avg = N). Choice (documented in
   docs/flowdirector.md): V_worse is the mean of the *first* M draws. The authors' code averages
   (V_better − V_worse) over *all* C(N, M) subsets, which cancels exactly — every draw is in the
   same number of subsets, so the mean of the subset means is V_better — leaving plain averaging.

The parts are objects passed whole (`FlowDirector`; `edit` takes its four fields as keywords), None
turns one off: mask = `AttentionMask()` (SAFC, the preset), `VelocityMask()` (DiffEdit's mask in
rectified flow, minicog's, beyond the paper), a fixed mask (an array: a segmentation, the Shapes
world's true object) or None; dag = `DAG()` (v1, the preset), `DAG(version="v2")` or None; v2's
corrections, off in the preset and read from the v2 paper, not from released code: `DirectionAware()`
(DA-FC) and `MotionGate()` (MAD-FC). How well a word's map finds its object: `minicog.mask_eval`.
"""
from __future__ import annotations

import difflib
import math
from dataclasses import dataclass, replace
from typing import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from .editing import SRC, TAR, EditConfig, Prompts, editing_ode, guided_velocities
from .rectified_flow import interpolate
from .text_encoder import token_positions
from .words import split_words

ATTN_MAPS = ("video_to_text", "text_to_video")   # the text blocks a word's map is read from (attention.AttentionRecorder)
DAG_VERSIONS = ("v1", "v2")       # which candidates make DAG's worse average (`differential_averaging`)


# ----------------------------------------------------------------------------- FlowDirector's parts

@dataclass(frozen=True)
class MaskRule:
    """How a map over the video becomes a soft mask (`attention_mask`): per map, min–max
    normalisation, a `kernel`×`kernel` box filter (latent pixels), binary above `threshold` ("mean":
    the map's own mean, the authors' rule; a number in [0, 1]: that level of the normalised map),
    the union over the maps, and edges softened by exp(−decay·distance). The defaults are the
    preset's rule, tuned on the tiny model: unsmoothed, thresholded at 0.3 — a *wide* mask, because a
    tight one cuts off the border pixels a shape edit must change (docs/flowdirector.md); the
    authors' rule reads MaskRule(kernel=3, threshold="mean") at this grid size."""
    kernel: int = 1
    threshold: float | str = 0.3
    decay: float = 1.5

    def __post_init__(self):
        if isinstance(self.threshold, str) and self.threshold != "mean" or \
                not isinstance(self.threshold, str) and not 0.0 <= float(self.threshold) <= 1.0:
            raise ValueError(f"threshold must be 'mean' or a number in [0, 1], got {self.threshold!r}")
        if int(self.kernel) != self.kernel or self.kernel < 1 or self.kernel % 2 == 0:
            raise ValueError(f"kernel must be an odd integer >= 1 (latent pixels), got {self.kernel}")
        if not float(self.decay) > 0:
            raise ValueError(f"decay must be > 0, got {self.decay}")


@dataclass(frozen=True)
class AttentionMask(MaskRule):
    """SAFC (v1 §3.3): at every step, the edited words' attention → a mask by the `MaskRule`.
    attn_map: the text block read ("video_to_text": how much each video token attends to the word;
    "text_to_video": where the word's query looks in the video); layers: the DiT layers averaged.
    None for either: the model's recorded choice (PipelineConfig.edit_attention), else
    "video_to_text" and `default_attention_layers`. source_words / target_words: the words whose
    maps make the mask; None: the words that differ between the prompts (`diff_words`)."""
    attn_map: str | None = None
    layers: tuple[int, ...] | None = None
    source_words: tuple[str, ...] | None = None
    target_words: tuple[str, ...] | None = None

    def __post_init__(self):
        super().__post_init__()
        if self.attn_map is not None and self.attn_map not in ATTN_MAPS:
            raise ValueError(f"attn_map must be one of {ATTN_MAPS} or None, got {self.attn_map!r}")
        if self.layers is not None:
            object.__setattr__(self, "layers", tuple(int(layer) for layer in self.layers))
            if not self.layers:
                raise ValueError("layers must name at least one DiT layer, or be None (the model's choice)")
        for name in ("source_words", "target_words"):         # "big red" → ("big", "red")
            words = getattr(self, name)
            if words is not None:
                words = [words] if isinstance(words, str) else list(words)
                object.__setattr__(self, name, tuple(w for s in words for w in split_words(s)))

    @property
    def kind(self) -> str:
        return self.attn_map or "video_to_text"


@dataclass(frozen=True)
class VelocityMask(MaskRule):
    """DiffEdit's mask (Couairon et al. 2023, §3.1) in rectified flow — minicog's, beyond the paper:
    where the two prompts ask for different velocities at the source noised to `t` (`draws` noise
    draws), made a mask by the `MaskRule`; computed once, before the ODE (`velocity_mask`)."""
    t: float = 0.4
    draws: int = 4

    def __post_init__(self):
        super().__post_init__()
        if not 0.0 < float(self.t) < 1.0 or int(self.draws) != self.draws or self.draws < 1:
            raise ValueError(f"the velocity mask needs 0 < t < 1 and an integer draws >= 1, got "
                             f"t={self.t}, draws={self.draws}")


@dataclass(frozen=True)
class DAG:
    """Differential averaging guidance (v1 §3.4, `differential_averaging`): of the n_avg candidate
    flows, n_worse make V_worse; V = V_better + (omega − 1)·(V_better − V_worse). version "v1" takes
    the first n_worse, "v2" (the v2 paper's fix) the n_worse least similar to V_better. Defaults: the
    preset (six of ten candidates, ω = 3)."""
    n_worse: int = 6
    omega: float = 3.0
    version: str = "v1"

    def __post_init__(self):
        if int(self.n_worse) != self.n_worse or self.n_worse < 1:
            raise ValueError(f"DAG's n_worse must be an integer >= 1, got {self.n_worse}")
        if not math.isfinite(float(self.omega)):
            raise ValueError(f"DAG's omega must be a finite number, got {self.omega}")
        if self.version not in DAG_VERSIONS:
            raise ValueError(f"DAG version must be one of {DAG_VERSIONS}, got {self.version!r}")


@dataclass(frozen=True)
class DirectionAware:
    """DA-FC (FlowDirector v2, `direction_aware`): the part of V along the source velocity is dropped
    where it points with it and scaled by (1 + alpha) where it points against it."""
    alpha: float = 0.25

    def __post_init__(self):
        if not float(self.alpha) >= 0.0:
            raise ValueError(f"DirectionAware's alpha must be a number >= 0, got {self.alpha}")


@dataclass(frozen=True)
class MotionGate:
    """MAD-FC (FlowDirector v2, `motion_gate` + `decouple_motion`): where the source does not move
    (motion energy below `low` of its maximum; full gate from `high`) the edit keeps only its
    time-constant part (appearance), so static regions get no new motion."""
    low: float = 0.01
    high: float = 0.3

    def __post_init__(self):
        if not 0.0 <= float(self.low) < float(self.high) <= 1.0:
            raise ValueError(f"MotionGate needs 0 <= low < high <= 1, got low={self.low}, high={self.high}")


@dataclass(frozen=True, eq=False)
class FlowDirector:
    """FlowDirector's parts; None turns one off. The defaults are the `flowdirector` preset: the
    paper's v1 as tuned here (SAFC with the preset's `MaskRule`, DAG v1 with six of the ten
    candidate flows of EditConfig.preset("flowdirector")), v2's corrections off. `mask` may also be
    a fixed mask: an array or tensor over the video's pixels (T, H, W) or the latent grid (`latent_mask`)."""
    mask: AttentionMask | VelocityMask | torch.Tensor | np.ndarray | None = AttentionMask()
    dag: DAG | None = DAG()
    direction_aware: DirectionAware | None = None
    motion_gate: MotionGate | None = None

    def __post_init__(self):
        kinds = dict(mask=(AttentionMask, VelocityMask, torch.Tensor, np.ndarray), dag=(DAG,),
                     direction_aware=(DirectionAware,), motion_gate=(MotionGate,))
        for name, ok in kinds.items():
            value = getattr(self, name)
            if value is not None and not isinstance(value, ok):
                raise ValueError(f"{name} must be {' or '.join(k.__name__ for k in ok)} (or None to turn "
                                 f"it off), got {type(value).__name__}")

    def check(self, cfg: EditConfig) -> "FlowDirector":
        """The parts fit the edit's settings: DAG's worse average uses fewer than the n_avg flows."""
        if self.dag is not None and not self.dag.n_worse < cfg.n_avg:
            raise ValueError(f"differential averaging needs 1 <= n_worse < n_avg (the worse average uses "
                             f"fewer candidates), got n_worse={self.dag.n_worse}, n_avg={cfg.n_avg}; raise "
                             "n_avg, lower DAG(n_worse=...), or pass dag=None")
        return self


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
                     "mask=VelocityMask() or mask=None, or give the pipeline a `token_indices(prompt, words)` method")


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
    missing = [layer for layer in layers if layer not in maps]
    if missing:
        raise ValueError(f"layers {missing} were not recorded; recorded: {sorted(maps)}")
    idx = torch.as_tensor(list(tokens), dtype=torch.long)
    per_layer = []
    for layer in layers:
        a = maps[layer].float().mean(1)                                   # (R, L, T', H', W')
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


def object_latent_mask(mask, size: tuple[int, int, int]) -> torch.Tensor:
    """An object mask (T, H, W) over the video's pixels as a 0/1 mask on the latent grid (T', h, w):
    on where any pixel of the frames and the patch a latent encodes is the object — the binary mask
    `latent_mask` softens."""
    m = torch.as_tensor(mask).float()
    Tl, h, w = size
    per = per_latent_frame(m, Tl, "max")
    return (F.max_pool2d(per[:, None], (m.shape[1] // h, m.shape[2] // w))[:, 0] > 0.5).float()


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


def attention_mask(word_maps: torch.Tensor, size: tuple[int, int, int], rule: MaskRule, *,
                   return_parts: bool = False):
    """SAFC's mask (v1 §3.3) from word maps (R, T', H', W') on the latent grid size (T, h, w), by
    `rule` (a `MaskRule`, e.g. an `AttentionMask` or a `VelocityMask`):

    per map: nearest upsampling to the latent grid → min–max normalisation to [0, 1] → box filter
    of rule.kernel × rule.kernel latent pixels → binary above rule.threshold ("mean": the map's own
    mean, as in the authors' code; a number: that level); then the union over the R maps and
    `soften_edges` with rule.decay. A map with no contrast (constant) cannot localise anything and
    gives all ones. Returns (T, h, w) in [0, 1] (and a dict of the intermediate maps with
    return_parts)."""
    if word_maps.ndim != 4:
        raise ValueError(f"word_maps must be (R, T', H', W'), got {tuple(word_maps.shape)}")
    k = int(rule.kernel)
    a = F.interpolate(word_maps.float()[:, None], size=tuple(size), mode="nearest")   # (R, 1, T, h, w)
    lo = a.amin(dim=(2, 3, 4), keepdim=True)
    hi = a.amax(dim=(2, 3, 4), keepdim=True)
    flat = (hi - lo) < 1e-12
    a = (a - lo) / (hi - lo).clamp_min(1e-12)
    smooth = F.avg_pool3d(a, (1, k, k), stride=1, padding=(0, k // 2, k // 2), count_include_pad=False)
    thr = smooth.mean(dim=(2, 3, 4), keepdim=True) if rule.threshold == "mean" else float(rule.threshold)
    binary = (smooth > thr) | flat
    union = binary.any(dim=0)[0].float()                                              # (T, h, w)
    mask = soften_edges(union, rule.decay)
    if return_parts:
        return mask, dict(normalised=a[:, 0], smoothed=smooth[:, 0], binary=binary[:, 0], union=union)
    return mask


# ----------------------------------------------------------------------------- DAG

def differential_averaging(candidates: torch.Tensor, dag: DAG):
    """DAG: candidates (N, ...) → (V, V_better, V_worse) with V_better the mean of all N and
    V = V_better + (ω − 1)·(V_better − V_worse), ω = dag.omega. Which candidates make V_worse:

    "v1" (v1 §3.4, minicog's reading): the first dag.n_worse — a smaller, noisier average;
    "v2" (the v2 paper's fix, V_DAG = V_HQ + w·(V_HQ − V_BL), w = ω − 1): the n_worse candidates least
         similar (cosine) to V_better, so the difference points from a deliberately poor estimate
         towards the good one. ω = 1 (w = 0) is plain averaging in both."""
    N, n_worse = candidates.shape[0], dag.n_worse
    if not 1 <= n_worse < N:
        raise ValueError(f"n_worse must lie in [1, N={N}), got {n_worse}")
    better = candidates.mean(0, keepdim=True)
    if dag.version == "v1":
        worse = candidates[:n_worse].mean(0, keepdim=True)
    else:
        similarity = F.cosine_similarity(candidates.flatten(1), better.flatten(1), dim=1)   # (N,)
        worse = candidates[similarity.argsort()[:n_worse]].mean(0, keepdim=True)
    return better + (dag.omega - 1.0) * (better - worse), better, worse


# ----------------------------------------------------------------------------- the velocity mask (beyond the paper)

@torch.no_grad()
def velocity_mask(velocity: Callable, x_src: torch.Tensor, prompts: Prompts, rule: VelocityMask,
                  generator: torch.Generator, *, max_batch: int | None = None, return_parts: bool = False):
    """DiffEdit's mask (Couairon et al. 2023, §3.1) for a rectified-flow model: where do the source
    and target prompts ask for different velocities at the same noisy latent?

        z_k = (1 − t)·X_src + t·ε_k   (k = 1..rule.draws, t = rule.t)
        D   = mean_k ‖v(z_k, t, c_tar) − v(z_k, t, c_src)‖   over channels, per latent pixel (T, h, w)

    then SAFC's own rule (`attention_mask` with `rule`) makes it binary and soft. Unguided
    (conditional) velocities, as DiffEdit. The noise comes from a generator seeded by `generator`'s
    seed + a salt, so the edit's own draws from `generator` are unchanged. Costs 2·draws model rows
    once, before the ODE. Returns (T, h, w) in [0, 1] (and {"difference": D, ...attention_mask's
    parts} with return_parts)."""
    N, t = int(rule.draws), float(rule.t)
    g = torch.Generator().manual_seed((generator.initial_seed() + 0x5EED) % 2**63)
    eps = torch.randn((N, *x_src.shape[1:]), generator=g).to(x_src)
    z = interpolate(x_src.expand(N, *x_src.shape[1:]), eps, t)                     # (N, C, T, h, w)
    out = guided_velocities(velocity, torch.cat([z, z]), t, prompts, [SRC] * N + [TAR] * N,
                            [1.0] * (2 * N), max_batch=max_batch)
    D = (out.conditional[N:] - out.conditional[:N]).norm(dim=1).mean(0)        # (T, h, w)
    M, parts = attention_mask(D[None], tuple(D.shape), rule, return_parts=True)
    return (M, dict(difference=D, **parts)) if return_parts else M


# ----------------------------------------------------------------------------- v2's corrections (as we read v2)

def direction_aware(V: torch.Tensor, v_src: torch.Tensor, correction: DirectionAware) -> torch.Tensor:
    """DA-FC (FlowDirector v2): per latent token (the channel vector at each (τ, y, x)), split the
    editing velocity V into its part along the source velocity s and the rest,

        c = ⟨V, s⟩ / |s|²,   V_∥ = c·s,   V_⊥ = V − V_∥,
        V' = V_⊥                   where c > 0  (V_∥ only pushes towards re-creating the source)
        V' = V_⊥ + (1 + α)·V_∥     where c ≤ 0  (V_∥ moves away from the source: amplified)

    V, v_src (B, C, T, h, w); α = correction.alpha ≥ 0. V = 0 stays 0 (an identity edit stays the
    identity)."""
    s = v_src.to(V)
    c = (V * s).sum(1, keepdim=True) / (s * s).sum(1, keepdim=True).clamp_min(1e-12)
    par = c * s
    return V - par + torch.where(c > 0, torch.zeros_like(c), torch.full_like(c, 1.0 + correction.alpha)) * par


def motion_gate(x_src: torch.Tensor, gate: MotionGate) -> torch.Tensor:
    """MAD-FC's gate (FlowDirector v2, as we read it) from the source latents (1, C, T, h, w):
    motion energy E[τ] = mean over channels of (x[τ] − x[τ−1])² (E[0] = E[1]), divided by the
    clip's largest, then 0 below gate.low, 1 above gate.high, linear between → (1, 1, T, h, w)."""
    x = x_src.float()
    if x.shape[2] < 2:
        return torch.ones_like(x[:, :1])
    d = (x[:, :, 1:] - x[:, :, :-1]).pow(2).mean(1, keepdim=True)              # (1, 1, T−1, h, w)
    e = torch.cat([d[:, :, :1], d], dim=2)
    e = e / e.amax().clamp_min(1e-12)
    return ((e - gate.low) / (gate.high - gate.low)).clamp(0, 1)


def decouple_motion(V: torch.Tensor, gate: torch.Tensor) -> torch.Tensor:
    """MAD-FC: V = appearance (its mean over time) + motion (the rest); the motion part is kept
    only where the source moves: V' = mean_τ V + gate·(V − mean_τ V). gate 1 everywhere = V."""
    app = V.mean(dim=2, keepdim=True)
    return app + gate.to(V) * (V - app)


# ----------------------------------------------------------------------------- the edit

def _step_mask(maps: dict, tokens: tuple[Sequence[int], Sequence[int]], rule: AttentionMask,
               size: tuple[int, int, int]) -> tuple[torch.Tensor, torch.Tensor]:
    """SAFC at one step: the edited words' maps of the 2N recorded rows (N source passes, then N
    target passes) → (M (T, h, w), word maps (R, T', H', W'))."""
    N = next(iter(maps.values())).shape[0] // 2
    parts = [word_attention({layer: m[rows] for layer, m in maps.items()}, tok, rule.layers, kind=rule.kind)
             for rows, tok in ((slice(None, N), tokens[0]), (slice(N, 2 * N), tokens[1])) if tok]
    word_maps = torch.cat(parts)                                                      # (R, T', H', W')
    return attention_mask(word_maps, size, rule), word_maps


@torch.no_grad()
def flowdirector(velocity: Callable, x_src: torch.Tensor, prompts: Prompts, cfg: EditConfig,
                 generator: torch.Generator, parts: FlowDirector | None = None, *, shift: float = 1.0,
                 record: Callable | None = None, source_tokens: Sequence[int] = (),
                 target_tokens: Sequence[int] = (), callback: Callable | None = None,
                 progress: bool = False) -> torch.Tensor:
    """FlowDirector on latents: the editing ODE with V = M ⊙ DAG(V_1..V_N); parts: `FlowDirector()`
    (the preset) unless given.

    With an `AttentionMask`: record, a factory of attention recorders, and source_tokens /
    target_tokens, the positions of the edited words in the source / target prompt; without any
    edited word (equal prompts) there is nothing to localise and no mask is applied. A fixed mask
    must be on the latent grid (T, h, w) here (`flowdirector_for_pipeline` converts pixel masks);
    a `VelocityMask` is computed once, before the ODE. The callback's info dict gains `mask`,
    `v_unmasked`, `v_better`, `v_worse` and `word_maps` (and `v_before_dafc`, `motion_gate` with
    v2's corrections)."""
    # 1. check inputs; a fixed mask (given, or the velocity mask, computed once before the ODE)
    parts = (FlowDirector() if parts is None else parts).check(cfg)
    size = tuple(x_src.shape[-3:])                       # latent grid (T, h, w)
    rule = parts.mask if isinstance(parts.mask, AttentionMask) else None
    fixed = None
    if isinstance(parts.mask, VelocityMask):
        fixed = velocity_mask(velocity, x_src, prompts, parts.mask, generator, max_batch=cfg.max_batch)
    elif parts.mask is not None and rule is None:
        fixed = torch.as_tensor(parts.mask)
        if tuple(fixed.shape) != size:
            raise ValueError(f"mask must be on the latent grid {size}, got {tuple(fixed.shape)}; "
                             "`flowdirector.latent_mask` converts a pixel mask")
    tokens = (list(source_tokens), list(target_tokens))
    use_attention = rule is not None and any(tokens)
    if use_attention and record is None:
        raise ValueError("the attention mask needs attention maps: pass `record` (a factory of attention "
                         "recorders, e.g. lambda: dit.record_attention(...))")
    gate = None if parts.motion_gate is None else motion_gate(x_src, parts.motion_gate)

    # 2. each step's velocity from its N candidates (N, C, T, h, w) → V (1, C, T, h, w)
    def combine(info: dict) -> torch.Tensor:
        V_k = info["candidates"]
        # 2a. DAG (or plain averaging)
        if parts.dag is not None:
            V, better, worse = differential_averaging(V_k, parts.dag)
            info.update(v_better=better, v_worse=worse)
        else:
            V = V_k.mean(0, keepdim=True)
        # 2b. v2's corrections: direction-aware (against the mean source velocity), motion gate
        if parts.direction_aware is not None:
            info.update(v_before_dafc=V)
            V = direction_aware(V, info["v_src"].mean(0, keepdim=True), parts.direction_aware)
        if gate is not None:
            info.update(motion_gate=gate)
            V = decouple_motion(V, gate)
        # 2c. SAFC: the mask from this step's word attention (or the fixed mask)
        if use_attention:
            M, word_maps = _step_mask(info["maps"], tokens, rule, size)
            info.update(word_maps=word_maps)
        elif fixed is not None:
            M = fixed
        else:
            return V
        info.update(mask=M.to(V), v_unmasked=V)
        return V * M.to(V)                               # (1, C, T, h, w) ⊙ (T, h, w)

    # 3. the editing ODE with that velocity
    return editing_ode(velocity, x_src, prompts, cfg, generator, shift=shift, combine=combine,
                       record=record if use_attention else None, map_kind=rule.kind if rule else "video_to_text",
                       callback=callback, progress=progress, method="flowdirector")


def _attention_for_pipeline(pipe, rule: AttentionMask, texts: Sequence[str]):
    """What the attention mask needs from a pipeline: the rule with its direction and layers settled
    (given, else the ones this model's localisation measure recorded — PipelineConfig.edit_attention —
    else "video_to_text" and the default band), the DiT's recorder on those layers, and the edited
    words' token positions (the prompts' diff unless the rule names the words).
    Returns (rule, record or None, (source tokens, target tokens))."""
    chosen = getattr(getattr(pipe, "config", None), "edit_attention", None) or {}
    sw, tw = diff_words(texts[0], texts[1])
    sw = sw if rule.source_words is None else list(rule.source_words)
    tw = tw if rule.target_words is None else list(rule.target_words)
    if not (sw or tw):
        return rule, None, ([], [])
    dit = getattr(pipe, "dit", None)
    if dit is None or not hasattr(dit, "record_attention"):
        raise ValueError("the attention mask needs `pipe.dit.record_attention` (minicog's VideoDiT); "
                         "pass mask=VelocityMask() or mask=None to edit without it")
    n_layers = dit.config.num_layers
    layers = rule.layers or chosen.get("attn_layers") or default_attention_layers(n_layers)
    bad = [layer for layer in layers if not 0 <= layer < n_layers]
    if bad:
        raise ValueError(f"attention layers {bad} out of range for a DiT with {n_layers} layers")
    rule = replace(rule, attn_map=rule.attn_map or chosen.get("attn_map"), layers=tuple(layers))

    def record():
        return dit.record_attention(layers=list(rule.layers), reduce_heads="mean")
    return rule, record, (token_indices(pipe, texts[0], sw) if sw else [], token_indices(pipe, texts[1], tw) if tw else [])


def flowdirector_for_pipeline(pipe, x_src: torch.Tensor, prompts: Prompts, cfg: EditConfig,
                              generator: torch.Generator, parts: FlowDirector | None = None, *,
                              shift: float = 1.0, callback: Callable | None = None,
                              progress: bool = False) -> torch.Tensor:
    """`flowdirector` on a pipeline (anything with `velocity`; the attention mask also needs
    `dit.record_attention` and a tokenizer): a fixed pixel mask goes to the latent grid
    (`latent_mask`), the attention mask gets its words, layers and recorder (`_attention_for_pipeline`)."""
    parts = FlowDirector() if parts is None else parts
    record, tokens = None, ([], [])
    if isinstance(parts.mask, AttentionMask):
        rule, record, tokens = _attention_for_pipeline(pipe, parts.mask, prompts.texts)
        parts = replace(parts, mask=rule)
    elif parts.mask is not None and not isinstance(parts.mask, VelocityMask):
        parts = replace(parts, mask=latent_mask(parts.mask, tuple(x_src.shape[-3:])).to(x_src.device))
    return flowdirector(pipe.velocity, x_src, prompts, cfg, generator, parts, shift=shift, record=record,
                        source_tokens=tokens[0], target_tokens=tokens[1], callback=callback, progress=progress)
