"""Editing a video with a text-to-video flow model: the three ways to start (week 7).

    edited = pipe.edit(video, source_prompt="a red circle ...", target_prompt="a blue circle ...",
                       seed=0, method="flowdirector")          # uint8 (T, H, W, 3) in and out

`pipe.edit` is `minicog.edit.edit`, which picks one of the procedures below or FlowDirector
(`minicog.flowdirector`, week 8, built on `editing_ode`); the Shapes-world measure of an edit
lives in `minicog.edit_eval`. Everything below works on *latents* X_src (1, C, T, h, w) and any
rectified-flow velocity `velocity(z, t, embeds, mask)` with t ∈ [0, 1] (t = 0 data, t = 1 noise;
see `rectified_flow`), so the same code drives the tiny pipeline, the scaled CogVideoX path and
the mock models of the tests.

1. **random-noise start** (SDEdit, Meng et al. 2022 §3): Z_t0 = (1 − t0)·X_src + t0·ε, then integrate
   the target-prompt ODE from t0 to 0. One pass, but the noise erases what made the clip *this* clip:
   a large t0 gives an unrelated generation, a small t0 changes nothing.
2. **ODE inversion** (DDIM/RF inversion): integrate the source-prompt ODE *upwards* from X_src to t0,
   then the target-prompt ODE back down. Exact when the prompts agree and the steps go to ∞, but the
   two passes are sequential (twice the model calls) and errors grow with few steps and with guidance.
3. **inversion-free** (FlowEdit, Kulikov et al. 2024, §4 and Alg. 1): an ODE directly between the
   two *clean* videos. At time t draw ε, build the noisy source and a noisy target that shares its
   noise, and move the edit along the difference of the two velocities:

        Z_src_t = (1 − t)·X_src + t·ε                  (the source, noised by the forward process)
        Z_tar_t = Z_edit_t + Z_src_t − X_src           (the edit, noised with the *same* ε)
        dZ_edit/dt = V_edit(t) = v(Z_tar_t, t, c_tar) − v(Z_src_t, t, c_src),   Z_edit = X_src at t_max

   integrated with Euler from t_max = grid[T − n_max] down to 0 (n_max: how many of the T steps
   edit — the "skip" of FlowEdit), V_edit averaged over n_avg noise draws, and the last n_min steps
   optionally replaced by plain target sampling (the "stop"). Where the prompts agree the two
   velocities cancel, so what the target prompt does not ask to change stays exactly as it was;
   FlowDirector (`minicog.flowdirector`) adds attention masks and differential averaging on top.

The skip/stop/averaging knobs, the guidance scales and FlowDirector's switches live in `EditConfig`,
with one preset per method (`EditConfig.preset(method)`); keyword arguments override fields.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, NamedTuple, Sequence

import torch
from tqdm.auto import tqdm

from .attention import ATTN_MAPS
from .rectified_flow import guided_velocity, interpolate, invert, sample, text_conditioned, timesteps
from .utils import autocast, config_from_dict

METHODS = ("random_noise", "inversion", "flowedit", "flowdirector")
DAG_VERSIONS = ("v1", "v2")     # which candidates make DAG's worse average (flowdirector.differential_averaging)
MASK_SOURCES = ("attention", "velocity", "source_attention")   # where FlowDirector's mask comes from (flowdirector)
SRC, TAR, NEG = 0, 1, 2          # rows of `Prompts`: source, target, negative (unconditional)


# ----------------------------------------------------------------------------- configuration

@dataclass
class EditConfig:
    """Settings of one edit. Time grid: `steps` Euler steps over t ∈ [1, 0] (with `shift`); the
    edit runs the last `n_max` of them, i.e. starts at t_max = grid[steps − n_max].

    FlowEdit (§4, Alg. 1):   n_max (skip), n_min (stop: last n_min steps are plain target
                             sampling), n_avg (noise draws averaged per step)
    guidance:                src_guidance / tar_guidance — CFG on the source / target velocity
                             (Ho & Salimans 2022); inv_guidance for the inversion pass;
                             edit_guidance λ — minicog's extension, not in FlowEdit or
                             FlowDirector, 0 (off) in every preset: adds λ·(v(Z_tar, c_tar) −
                             v(Z_tar, c_src)), the change the edited words alone make at the
                             edit's own state (guidance with the source prompt as the negative
                             one, cf. InstructPix2Pix's two-scale guidance); measured in
                             docs/flowdirector.md §3.2
    FlowDirector (v1 §3.3–3.4, see `minicog.flowdirector`):
        use_mask   attention-guided masking (SAFC); attn_map (which text block of the 3D full
                   attention gives the word maps: "video_to_text", how much each video token
                   attends to the word, or "text_to_video", where the word's query looks in the
                   video), attn_layers, mask_kernel (spatial box size, latent pixels),
                   mask_kernel_t (frames), mask_threshold ("mean" or a level in [0, 1] of the
                   normalised map), mask_decay (edge softening per latent pixel), mask_reduce
                   (how a step's word maps — each edited word, each candidate flow, source and
                   target — are joined: "union" of their binary masks, as the authors' code, or
                   "mean" of the normalised maps before one threshold, minicog's switch);
                   mask_source "attention" (SAFC, the paper) or "velocity" — minicog's extension,
                   DiffEdit's mask (Couairon et al. 2023) in rectified flow: where the two prompts
                   ask for different velocities at the same noisy latent (mask_draws noise draws at
                   t = mask_t), made binary and softened by the same rule, computed once before the
                   ODE (`flowdirector.velocity_mask`; measured in docs/flowdirector.md), or
                   "source_attention" — minicog's variant of SAFC: the edited words' maps read once,
                   before the ODE, from the *source* latent noised to t = mask_t (mask_draws
                   draws, the source prompt), joined by mask_reduce, instead of at every step from
                   every candidate flow (`flowdirector.source_attention_mask`)
        use_dag    differential averaging guidance: n_avg candidates, n_worse of them give V_worse,
                   V = V_better + (omega − 1)(V_better − V_worse); dag_version "v1" takes the first
                   n_worse, "v2" (the v2 paper) the n_worse least similar to V_better
    FlowDirector v2's corrections (`flowdirector.direction_aware`, `flowdirector.motion_gate`):
        use_dafc   direction-aware flow correction: per latent token, the part of V along the
                   source velocity is dropped where it points with it and scaled by
                   (1 + dafc_alpha) where it points against it
        use_madfc  motion–appearance decoupling: where the source does not move (motion energy
                   below madfc_low of its maximum; full gate from madfc_high) the edit keeps only
                   its time-constant part (appearance), so static regions get no new motion
    shift=None uses the pipeline's edit shift (PipelineConfig.edit_shift, else its sampling shift;
    1.0 for a bare velocity)."""
    steps: int = 20
    n_max: int = 14
    n_min: int = 0
    n_avg: int = 1
    src_guidance: float = 1.5
    tar_guidance: float = 5.0
    inv_guidance: float = 1.0
    edit_guidance: float = 0.0
    shift: float | None = None
    negative_prompt: str = ""
    # FlowDirector
    use_mask: bool = False
    use_dag: bool = False
    n_worse: int = 3
    omega: float = 3.0
    dag_version: str = "v1"
    use_dafc: bool = False
    dafc_alpha: float = 0.25
    use_madfc: bool = False
    madfc_low: float = 0.01
    madfc_high: float = 0.3
    attn_map: str | None = None          # None: the model's recorded choice, else "video_to_text"
    attn_layers: tuple[int, ...] | None = None
    mask_kernel: int = 3
    mask_kernel_t: int = 1
    mask_threshold: float | str = "mean"
    mask_decay: float = 1.5
    mask_reduce: str = "union"
    mask_source: str = "attention"
    mask_t: float = 0.4
    mask_draws: int = 4
    max_batch: int | None = None      # split model calls into chunks of this many rows (memory)

    def __post_init__(self):
        if int(self.steps) != self.steps or self.steps < 1:
            raise ValueError(f"steps must be a positive integer, got {self.steps}")
        if not 1 <= self.n_max <= self.steps:
            raise ValueError(f"n_max must lie in [1, steps={self.steps}] (how many of the steps "
                             f"edit), got {self.n_max}")
        if not 0 <= self.n_min < self.n_max:
            raise ValueError(f"n_min must lie in [0, n_max={self.n_max}), got {self.n_min}")
        if self.n_avg < 1:
            raise ValueError(f"n_avg must be >= 1, got {self.n_avg}")
        if self.use_dag and not 1 <= self.n_worse < self.n_avg:
            raise ValueError(f"differential averaging needs 1 <= n_worse < n_avg (the worse average "
                             f"uses fewer candidates), got n_worse={self.n_worse}, n_avg={self.n_avg}; "
                             "raise n_avg or pass use_dag=False")
        if not float(self.edit_guidance) >= 0.0:
            raise ValueError(f"edit_guidance must be a number >= 0 (0 turns the edit-direction term "
                             f"off), got {self.edit_guidance}")
        if self.dag_version not in DAG_VERSIONS:
            raise ValueError(f"dag_version must be one of {DAG_VERSIONS}, got {self.dag_version!r}")
        if not float(self.dafc_alpha) >= 0.0:
            raise ValueError(f"dafc_alpha must be a number >= 0 (0: only drop the aligned part), got {self.dafc_alpha}")
        if not 0.0 <= float(self.madfc_low) < float(self.madfc_high) <= 1.0:
            raise ValueError(f"need 0 <= madfc_low < madfc_high <= 1 (shares of the clip's largest motion "
                             f"energy), got {self.madfc_low}, {self.madfc_high}")
        if self.attn_map is not None and self.attn_map not in ATTN_MAPS:
            raise ValueError(f"attn_map must be one of {ATTN_MAPS}, got {self.attn_map!r}")
        if isinstance(self.mask_threshold, str):
            if self.mask_threshold != "mean":
                raise ValueError(f"mask_threshold must be 'mean' or a number in [0, 1], got "
                                 f"{self.mask_threshold!r}")
        elif not 0.0 <= float(self.mask_threshold) <= 1.0:
            raise ValueError(f"mask_threshold must be 'mean' or a number in [0, 1], got {self.mask_threshold}")
        if self.mask_kernel < 1 or self.mask_kernel % 2 == 0 or self.mask_kernel_t < 1 or self.mask_kernel_t % 2 == 0:
            raise ValueError(f"mask_kernel and mask_kernel_t must be odd and >= 1, got "
                             f"{self.mask_kernel}, {self.mask_kernel_t}")
        if self.mask_decay <= 0:
            raise ValueError(f"mask_decay must be > 0, got {self.mask_decay}")
        if self.mask_reduce not in ("union", "mean"):
            raise ValueError(f"mask_reduce must be 'union' (of the binary maps) or 'mean' (of the "
                             f"normalised maps), got {self.mask_reduce!r}")
        if self.mask_source not in MASK_SOURCES:
            raise ValueError(f"mask_source must be one of {MASK_SOURCES}, got {self.mask_source!r}")
        if not 0.0 < float(self.mask_t) < 1.0 or int(self.mask_draws) != self.mask_draws or self.mask_draws < 1:
            raise ValueError(f"the velocity mask needs 0 < mask_t < 1 and an integer mask_draws >= 1, got "
                             f"mask_t={self.mask_t}, mask_draws={self.mask_draws}")
        if self.max_batch is not None and self.max_batch < 1:
            raise ValueError(f"max_batch must be None or >= 1, got {self.max_batch}")

    @property
    def attention_kind(self) -> str:
        """The attention direction the mask reads: `attn_map`, or "video_to_text" when unset (the
        pipeline resolves unset to its model's recorded choice first: `flowdirector_for_pipeline`)."""
        return self.attn_map or "video_to_text"

    @property
    def start_index(self) -> int:
        return self.steps - self.n_max

    @classmethod
    def preset(cls, method: str, **overrides) -> "EditConfig":
        """Tuned defaults of each method on the tiny Shapes model (see docs/flowdirector.md)."""
        check_method(method)
        base = {
            # SDEdit: start at t0 = 0.7 and regenerate with the target prompt
            "random_noise": dict(steps=20, n_max=14, tar_guidance=5.0),
            # invert all the way to noise without guidance (most accurate), regenerate with CFG
            "inversion": dict(steps=20, n_max=20, inv_guidance=1.0, tar_guidance=5.0),
            "flowedit": dict(steps=20, n_max=14, n_avg=1, src_guidance=1.5, tar_guidance=5.0),
            # tuned on Shapes edit-sets seed 7 and 11 (the table uses seed 1; docs/flowdirector.md
            # §2.3): a later start (n_max 12: t_max 0.6) keeps trajectories — earlier starts help
            # shape edits but move colour-edited objects — an unsmoothed map thresholded at 0.3
            # keeps the mask wide enough for shape changes, and on the stage-5 model ten candidate
            # flows (six of them V_worse) lower drift on both tuning sets
            "flowdirector": dict(steps=20, n_max=12, n_avg=10, src_guidance=1.5, tar_guidance=5.0,
                                 use_mask=True, use_dag=True, n_worse=6, omega=3.0,
                                 mask_threshold=0.3, mask_kernel=1),
        }[method]
        return config_from_dict(cls, {**base, **overrides}, what="edit settings")


def check_method(method: str) -> str:
    if method not in METHODS:
        raise ValueError(f"unknown editing method {method!r}; use one of {', '.join(METHODS)}")
    return method


# ----------------------------------------------------------------------------- conditioning

@dataclass
class Prompts:
    """The three prompts of an edit encoded as one padded batch: rows SRC, TAR, NEG."""
    embeds: torch.Tensor                 # (3, L, D)
    mask: torch.Tensor | None            # (3, L) bool, True = real token (None: no padding)
    texts: tuple[str, str, str]

    def select(self, rows: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor | None]:
        idx = torch.as_tensor(list(rows), device=self.embeds.device, dtype=torch.long)
        return self.embeds[idx], None if self.mask is None else self.mask[idx]


def encode_prompts(encode: Callable, source_prompt: str, target_prompt: str,
                   negative_prompt: str = "") -> Prompts:
    """`encode(list_of_prompts) -> (embeds, mask)` (e.g. `pipe.encode_prompt`) on the three prompts
    at once, so they share one padded length."""
    for name, p in (("source_prompt", source_prompt), ("target_prompt", target_prompt),
                    ("negative_prompt", negative_prompt)):
        if not isinstance(p, str):
            raise ValueError(f"{name} must be a string, got {type(p).__name__}: {p!r}")
    out = encode([source_prompt, target_prompt, negative_prompt])
    embeds, mask = out if isinstance(out, (tuple, list)) else (out, None)
    return Prompts(embeds, mask, (source_prompt, target_prompt, negative_prompt))


class GuidedVelocities(NamedTuple):
    """What `guided_velocities` returns: the guided velocities (B, ...), the unguided conditional
    ones v(z_b, t, c_rows[b]) (B, ...), and the recorded maps ({layer: (B, ...)}) or None."""
    v: torch.Tensor
    conditional: torch.Tensor
    maps: dict | None


def guided_velocities(velocity: Callable, z: torch.Tensor, t: float, prompts: Prompts,
                      rows: Sequence[int], guidance: Sequence[float], max_batch: int | None = None,
                      record: Callable | None = None, map_kind: str = "video_to_text"
                      ) -> GuidedVelocities:
    """Classifier-free-guided velocities of a batch, in as few model calls as possible.

    z (B, C, T, h, w); row b uses prompt `rows[b]` and guidance g_b:
        v_b = v(z_b, t, c_neg) + g_b · (v(z_b, t, c_rows[b]) − v(z_b, t, c_neg))   (g_b = 1: one pass)
    The conditional and unconditional passes of all rows run as one batch (split into chunks of
    `max_batch` rows). `record`: a factory of attention-recording context managers (e.g.
    `lambda: dit.record_attention(...)`); then `maps` holds, per recorded layer, the `map_kind`
    maps ("video_to_text" or "text_to_video") of the *conditional* rows concatenated over chunks.
    Returns GuidedVelocities(v, conditional, maps), all float32."""
    B = z.shape[0]
    if len(rows) != B or len(guidance) != B:
        raise ValueError(f"need one prompt row and one guidance per latent: B={B}, "
                         f"{len(rows)} rows, {len(guidance)} guidance values")
    need_u = [b for b in range(B) if float(guidance[b]) != 1.0]
    zz = torch.cat([z, z[need_u]]) if need_u else z
    all_rows = list(rows) + [NEG] * len(need_u)
    n = zz.shape[0]
    chunk = n if max_batch is None else int(max_batch)
    outs, maps = [], {}
    for a in range(0, n, chunk):
        b = min(n, a + chunk)
        e, m = prompts.select(all_rows[a:b])
        tt = torch.full((b - a,), float(t), device=z.device, dtype=torch.float32)
        with autocast(z.device):
            if record is None:
                outs.append(velocity(zz[a:b], tt, e, m).float())
            else:
                with record() as rec:
                    outs.append(velocity(zz[a:b], tt, e, m).float())
                keep = max(0, min(b, B) - a)               # conditional rows of this chunk
                if keep:
                    for layer, d in rec.maps.items():
                        maps.setdefault(layer, []).append(d[map_kind][:keep])
    v_all = torch.cat(outs)
    v = v_all[:B].clone()
    if need_u:
        g = torch.as_tensor([float(guidance[b]) for b in need_u], device=v.device,
                            dtype=v.dtype).view(-1, *([1] * (v.ndim - 1)))
        v_u = v_all[B:]
        v[need_u] = v_u + g * (v_all[:B][need_u] - v_u)
    maps = None if record is None else {layer: torch.cat(parts) for layer, parts in maps.items()}
    return GuidedVelocities(v, v_all[:B], maps)


# ----------------------------------------------------------------------------- the three starts

def time_grid(cfg: EditConfig, shift: float = 1.0) -> torch.Tensor:
    """The (steps + 1,) grid from t = 1 to 0 (float64, CPU); the edit uses grid[cfg.start_index:]."""
    return timesteps(cfg.steps, shift).double().cpu()


def _noise(shape, generator: torch.Generator, device) -> torch.Tensor:
    """Noise drawn on the CPU from `generator` (the same on every device), then moved."""
    return torch.randn(tuple(shape), generator=generator).to(device)


@torch.no_grad()
def random_noise_edit(velocity: Callable, x_src: torch.Tensor, prompts: Prompts, cfg: EditConfig,
                      generator: torch.Generator, shift: float = 1.0,
                      callback: Callable | None = None, progress: bool = False) -> torch.Tensor:
    """SDEdit: noise X_src to t0 = grid[steps − n_max], then sample the target ODE to t = 0."""
    grid = time_grid(cfg, shift)[cfg.start_index:]
    t0 = float(grid[0])
    z = interpolate(x_src, _noise(x_src.shape, generator, x_src.device), t0)
    if callback is not None:
        callback(dict(method="random_noise", phase="start", step=-1, t=t0, z=z))
    g = cfg.tar_guidance
    model = text_conditioned(velocity, autocast=True)
    return sample(model, z, prompts.select([TAR]), prompts.select([NEG]) if g != 1 else None,
                  guidance=g, times=grid, progress=progress, callback=_rf_callback(callback, "random_noise", "sample"))


@torch.no_grad()
def inversion_edit(velocity: Callable, x_src: torch.Tensor, prompts: Prompts, cfg: EditConfig,
                   shift: float = 1.0, callback: Callable | None = None, progress: bool = False
                   ) -> torch.Tensor:
    """ODE inversion with the source prompt from t = 0 up to t0, then target sampling back to 0."""
    grid = time_grid(cfg, shift)[cfg.start_index:]
    model = text_conditioned(velocity, autocast=True)
    gi, g = cfg.inv_guidance, cfg.tar_guidance
    z = invert(model, x_src, prompts.select([SRC]), uncond=prompts.select([NEG]) if gi != 1 else None,
               guidance=gi, times=grid.flip(0), progress=progress,
               callback=_rf_callback(callback, "inversion", "invert"))
    return sample(model, z, prompts.select([TAR]), prompts.select([NEG]) if g != 1 else None,
                  guidance=g, times=grid, progress=progress,
                  callback=_rf_callback(callback, "inversion", "sample"))


def _rf_callback(callback, method, phase):
    if callback is None:
        return None

    def cb(i, t, x, v):
        callback(dict(method=method, phase=phase, step=i, t=t, z=x, v=v))
    return cb


# ----------------------------------------------------------------------------- the editing ODE

class EditVelocities(NamedTuple):
    """One step's candidates (`editing_velocities`): V (N, ...) and what made them."""
    v: torch.Tensor               # V_k = v(Z_tar, c_tar) − v(Z_src, c_src) (+ the λ term), guided
    z_src: torch.Tensor           # Z_src (N, ...)
    z_tar: torch.Tensor           # Z_tar (N, ...)
    v_src: torch.Tensor           # v(Z_src, c_src), guided (N, ...): FlowDirector v2's DA-FC reads it
    maps: dict | None = None      # recorded attention of the 2N conditional rows (with `record`)


def editing_velocities(velocity: Callable, x_src: torch.Tensor, z_edit: torch.Tensor, t: float,
                       noise: torch.Tensor, prompts: Prompts, cfg: EditConfig,
                       record: Callable | None = None) -> EditVelocities:
    """The N candidate editing velocities of one step, one per noise draw (FlowEdit §4):

        Z_src = (1 − t)·X_src + t·ε_k,   Z_tar = Z_src + (Z_edit − X_src),
        V_k   = v(Z_tar, t, c_tar) − v(Z_src, t, c_src)
              [+ λ·(v(Z_tar, t, c_tar) − v(Z_tar, t, c_src))      with cfg.edit_guidance = λ ≠ 0]

    noise (N, C, T, h, w). All 2N (or 4N with guidance, plus N for λ) model passes are one
    batched call. Writing Z_tar as Z_src + (Z_edit − X_src) keeps Z_tar == Z_src *bit for bit*
    while the edit is still at X_src, so equal prompts and guidances give V_k = 0 exactly (the
    identity test; the λ term is 0 by definition then and its rows are skipped).
    Returns an `EditVelocities`: V (N, ...), Z_src, Z_tar, the source velocities and, with `record`,
    the maps of the 2N conditional rows (source rows first, then target rows; with λ ≠ 0 N more rows
    follow, the source prompt at Z_tar)."""
    N = noise.shape[0]
    z_src = (1 - t) * x_src + t * noise                          # (N, C, T, h, w)
    z_tar = z_src + (z_edit - x_src)
    # the λ term is 0 by definition when the two prompts agree: skip its N rows (also keeps the
    # batch, and with it the identity, bit-exact)
    lam = float(cfg.edit_guidance) if prompts.texts[SRC] != prompts.texts[TAR] else 0.0
    z, rows = [z_src, z_tar], [SRC] * N + [TAR] * N
    guidance = [cfg.src_guidance] * N + [cfg.tar_guidance] * N
    if lam:
        z, rows, guidance = z + [z_tar], rows + [SRC] * N, guidance + [1.0] * N
    out = guided_velocities(velocity, torch.cat(z), t, prompts, rows, guidance, cfg.max_batch,
                            record, cfg.attention_kind)
    V = out.v[N:2 * N] - out.v[:N]
    if lam:                                                      # v_c(Z_tar, c_tar) − v(Z_tar, c_src)
        V = V + lam * (out.conditional[N:2 * N] - out.v[2 * N:])
    return EditVelocities(V, z_src, z_tar, out.v[:N], out.maps if record is not None else None)


@torch.no_grad()
def editing_ode(velocity: Callable, x_src: torch.Tensor, prompts: Prompts, cfg: EditConfig,
                generator: torch.Generator, shift: float = 1.0, combine: Callable | None = None,
                record: Callable | None = None, callback: Callable | None = None,
                progress: bool = False, method: str = "flowedit") -> torch.Tensor:
    """Integrate the inversion-free editing ODE (FlowEdit Alg. 1) and return the edited latents.

    Z_edit starts at X_src at t_max = grid[steps − n_max]; each step draws n_avg noises, forms the
    candidate velocities V_k (`editing_velocities`) and moves Z_edit ← Z_edit + (t_next − t)·V with
    V = mean_k V_k, or V = combine(info) when given (FlowDirector's mask and guidance; `info` holds
    step, t, z, x_src, candidates, z_src, z_tar, the source velocities v_src and the recorded
    attention `maps`). The last n_min steps
    sample the target ODE from Z_tar = Z_edit + Z_src − X_src (FlowEdit's "n_min" phase)."""
    # 1. check inputs
    if x_src.ndim != 5 or x_src.shape[0] != 1:
        raise ValueError(f"x_src must be the latents of one clip (1, C, T, h, w), got {tuple(x_src.shape)}")
    # 2. time grid: the edit starts at t_max = grid[steps − n_max], with Z_edit = X_src
    grid = time_grid(cfg, shift)
    T = cfg.steps
    z = x_src.clone()
    z_tar = None
    model = text_conditioned(velocity, autocast=True)
    for i in tqdm(range(cfg.start_index, T), desc=method, disable=not progress, leave=False):
        t, t_next = float(grid[i]), float(grid[i + 1])
        if T - i > cfg.n_min:
            # 3. editing phase: n_avg noise draws → candidate velocities V_k (N, C, T, h, w)
            noise = _noise((cfg.n_avg, *x_src.shape[1:]), generator, x_src.device)
            out = editing_velocities(velocity, x_src, z, t, noise, prompts, cfg, record)
            V_k = out.v
            info = dict(method=method, phase="edit", step=i, t=t, t_next=t_next, z=z, x_src=x_src,
                        candidates=V_k, z_src=out.z_src, z_tar=out.z_tar, v_src=out.v_src, maps=out.maps)
            # 4. combine the candidates (mean, or FlowDirector's mask and DAG) and take the Euler step
            V = V_k.mean(0, keepdim=True) if combine is None else combine(info)   # (1, C, T, h, w)
            z = z + (t_next - t) * V
            info.update(v=V, z=z)
            if callback is not None:
                callback(info)
        else:
            # 5. n_min phase: noise the edit once with a fresh draw, then plain target sampling
            if z_tar is None:
                eps = _noise(x_src.shape, generator, x_src.device)
                z_tar = z + ((1 - t) * x_src + t * eps - x_src)
            g = cfg.tar_guidance
            v = guided_velocity(model, z_tar, torch.tensor(t, device=z.device), prompts.select([TAR]),
                             prompts.select([NEG]) if g != 1 else None, g)
            z_tar = z_tar + (t_next - t) * v
            if callback is not None:
                callback(dict(method=method, phase="sample", step=i, t=t_next, z=z_tar, v=v))
    return z if z_tar is None else z_tar


@torch.no_grad()
def flowedit(velocity: Callable, x_src: torch.Tensor, prompts: Prompts, cfg: EditConfig,
             generator: torch.Generator, shift: float = 1.0, callback: Callable | None = None,
             progress: bool = False) -> torch.Tensor:
    """FlowEdit (Kulikov et al. 2024): the editing ODE with plain noise averaging."""
    return editing_ode(velocity, x_src, prompts, cfg, generator, shift, callback=callback,
                       progress=progress, method="flowedit")
