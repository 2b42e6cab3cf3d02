"""Editing a video with a text-to-video flow model: three ways to start, one API.

    edited = pipe.edit(video, source_prompt="a red circle ...", target_prompt="a blue circle ...",
                       seed=0, method="flowdirector")          # uint8 (T, H, W, 3) in and out

Everything below works on *latents* X_src (1, C, T, h, w) and any rectified-flow velocity
`velocity(z, t, embeds, mask)` with t ∈ [0, 1] (t = 0 data, t = 1 noise; see `rectified_flow`), so
the same code drives the tiny pipeline, the scaled CogVideoX path and the mock models of the tests.

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

import time
from contextlib import contextmanager
from dataclasses import dataclass, fields, replace
from typing import Callable, NamedTuple, Sequence

import numpy as np
import torch

from .dit import ATTN_MAPS

METHODS = ("random_noise", "inversion", "flowedit", "flowdirector")
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
                   normalised map), mask_decay (edge softening per latent pixel)
        use_dag    differential averaging guidance: n_avg candidates, the first n_worse of them
                   give V_worse, V = V_better + (omega − 1)(V_better − V_worse)
    shift=None uses the pipeline's sampling shift (1.0 for a bare velocity)."""
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
    attn_map: str = "video_to_text"
    attn_layers: tuple[int, ...] | None = None
    mask_kernel: int = 3
    mask_kernel_t: int = 1
    mask_threshold: float | str = "mean"
    mask_decay: float = 1.5
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
        if self.attn_map not in ATTN_MAPS:
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
        if self.max_batch is not None and self.max_batch < 1:
            raise ValueError(f"max_batch must be None or >= 1, got {self.max_batch}")

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
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(overrides) - names)
        if unknown:
            raise ValueError(f"unknown edit settings {unknown}; known: {sorted(names)}")
        return cls(**{**base, **overrides})


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


def _autocast(device: torch.device):
    from .utils import autocast
    return autocast(device)


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
        with _autocast(z.device):
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
    from .rectified_flow import timesteps
    return timesteps(cfg.steps, shift).double().cpu()


def _noise(shape, generator: torch.Generator, device) -> torch.Tensor:
    """Noise drawn on the CPU from `generator` (the same on every device), then moved."""
    return torch.randn(tuple(shape), generator=generator).to(device)


def _rf_model(velocity: Callable) -> Callable:
    """(z, t, cond=(embeds, mask)) → v: the form `rectified_flow.sample/invert` expect."""
    def model(x, t, cond):
        embeds, mask = cond
        with _autocast(x.device):
            return velocity(x, t, embeds, mask).float()
    return model


@torch.no_grad()
def random_noise_edit(velocity: Callable, x_src: torch.Tensor, prompts: Prompts, cfg: EditConfig,
                      generator: torch.Generator, shift: float = 1.0,
                      callback: Callable | None = None, progress: bool = False) -> torch.Tensor:
    """SDEdit: noise X_src to t0 = grid[steps − n_max], then sample the target ODE to t = 0."""
    from .rectified_flow import interpolate, sample
    grid = time_grid(cfg, shift)[cfg.start_index:]
    t0 = float(grid[0])
    z = interpolate(x_src, _noise(x_src.shape, generator, x_src.device), t0)
    if callback is not None:
        callback(dict(method="random_noise", phase="start", step=-1, t=t0, z=z))
    g = cfg.tar_guidance
    return sample(_rf_model(velocity), z, prompts.select([TAR]), prompts.select([NEG]) if g != 1 else None,
                  guidance=g, times=grid, progress=progress, callback=_rf_callback(callback, "random_noise", "sample"))


@torch.no_grad()
def inversion_edit(velocity: Callable, x_src: torch.Tensor, prompts: Prompts, cfg: EditConfig,
                   shift: float = 1.0, callback: Callable | None = None, progress: bool = False
                   ) -> torch.Tensor:
    """ODE inversion with the source prompt from t = 0 up to t0, then target sampling back to 0."""
    from .rectified_flow import invert, sample
    grid = time_grid(cfg, shift)[cfg.start_index:]
    model = _rf_model(velocity)
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

def editing_velocities(velocity: Callable, x_src: torch.Tensor, z_edit: torch.Tensor, t: float,
                       noise: torch.Tensor, prompts: Prompts, cfg: EditConfig,
                       record: Callable | None = None):
    """The N candidate editing velocities of one step, one per noise draw (FlowEdit §4):

        Z_src = (1 − t)·X_src + t·ε_k,   Z_tar = Z_src + (Z_edit − X_src),
        V_k   = v(Z_tar, t, c_tar) − v(Z_src, t, c_src)
              [+ λ·(v(Z_tar, t, c_tar) − v(Z_tar, t, c_src))      with cfg.edit_guidance = λ ≠ 0]

    noise (N, C, T, h, w). All 2N (or 4N with guidance, plus N for λ) model passes are one
    batched call. Writing Z_tar as Z_src + (Z_edit − X_src) keeps Z_tar == Z_src *bit for bit*
    while the edit is still at X_src, so equal prompts and guidances give V_k = 0 exactly (the
    identity test; the λ term is 0 by definition then and its rows are skipped).
    Returns V (N, ...), Z_src, Z_tar [, maps of the 2N conditional rows: source rows first, then
    target rows; with λ ≠ 0 N more rows follow, the source prompt at Z_tar]."""
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
                            record, cfg.attn_map)
    V = out.v[N:2 * N] - out.v[:N]
    if lam:                                                      # v_c(Z_tar, c_tar) − v(Z_tar, c_src)
        V = V + lam * (out.conditional[N:2 * N] - out.v[2 * N:])
    return (V, z_src, z_tar) if record is None else (V, z_src, z_tar, out.maps)


@torch.no_grad()
def editing_ode(velocity: Callable, x_src: torch.Tensor, prompts: Prompts, cfg: EditConfig,
                generator: torch.Generator, shift: float = 1.0, combine: Callable | None = None,
                record: Callable | None = None, callback: Callable | None = None,
                progress: bool = False, method: str = "flowedit") -> torch.Tensor:
    """Integrate the inversion-free editing ODE (FlowEdit Alg. 1) and return the edited latents.

    Z_edit starts at X_src at t_max = grid[steps − n_max]; each step draws n_avg noises, forms the
    candidate velocities V_k (`editing_velocities`) and moves Z_edit ← Z_edit + (t_next − t)·V with
    V = mean_k V_k, or V = combine(info) when given (FlowDirector's mask and guidance; `info` holds
    step, t, z, candidates, z_src, z_tar and the recorded attention `maps`). The last n_min steps
    sample the target ODE from Z_tar = Z_edit + Z_src − X_src (FlowEdit's "n_min" phase)."""
    from tqdm.auto import tqdm
    if x_src.ndim != 5 or x_src.shape[0] != 1:
        raise ValueError(f"x_src must be the latents of one clip (1, C, T, h, w), got {tuple(x_src.shape)}")
    grid = time_grid(cfg, shift)
    T = cfg.steps
    z = x_src.clone()
    z_tar = None
    model = _rf_model(velocity)
    for i in tqdm(range(cfg.start_index, T), desc=method, disable=not progress, leave=False):
        t, t_next = float(grid[i]), float(grid[i + 1])
        if T - i > cfg.n_min:                                   # editing phase
            noise = _noise((cfg.n_avg, *x_src.shape[1:]), generator, x_src.device)
            out = editing_velocities(velocity, x_src, z, t, noise, prompts, cfg, record)
            V_k, z_src, z_tar_k = out[:3]
            info = dict(method=method, phase="edit", step=i, t=t, t_next=t_next, z=z,
                        candidates=V_k, z_src=z_src, z_tar=z_tar_k,
                        maps=out[3] if record is not None else None)
            V = V_k.mean(0, keepdim=True) if combine is None else combine(info)
            z = z + (t_next - t) * V
            info.update(v=V, z=z)
            if callback is not None:
                callback(info)
        else:                                                   # n_min phase: plain sampling
            if z_tar is None:
                eps = _noise(x_src.shape, generator, x_src.device)
                z_tar = z + ((1 - t) * x_src + t * eps - x_src)
            from .rectified_flow import cfg_velocity
            g = cfg.tar_guidance
            v = cfg_velocity(model, z_tar, torch.tensor(t, device=z.device), prompts.select([TAR]),
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


# ----------------------------------------------------------------------------- the public entry

def _check_video(video) -> np.ndarray:
    if torch.is_tensor(video):
        raise ValueError("edit() takes a uint8 numpy video (T, H, W, 3) as `generate` returns; "
                         "convert a float tensor with minicog.video.to_uint8 first")
    v = np.asarray(video)
    if v.ndim != 4 or v.shape[-1] != 3 or v.dtype != np.uint8:
        raise ValueError(f"video must be uint8 (T, H, W, 3) as `generate` returns, got "
                         f"{v.dtype} {v.shape}")
    return v


def _pipe_shift(pipe) -> float:
    cfg = getattr(pipe, "config", None)
    return float(getattr(cfg, "shift", 1.0) or 1.0)


@torch.no_grad()
def edit_latents(pipe, x_src: torch.Tensor, source_prompt: str, target_prompt: str, seed: int = 0,
                 method: str = "flowdirector", config: EditConfig | None = None,
                 source_words: Sequence[str] | str | None = None,
                 target_words: Sequence[str] | str | None = None,
                 callback: Callable | None = None, progress: bool = False, mask=None,
                 **overrides) -> torch.Tensor:
    """`edit` on scaled latents (1, C, T, h, w) → edited scaled latents (no VAE)."""
    check_method(method)
    cfg = EditConfig.preset(method, **overrides) if config is None else (
        replace(config, **overrides) if overrides else config)
    if mask is not None and method != "flowdirector":
        raise ValueError(f"mask= replaces FlowDirector's attention mask; method {method!r} has no "
                         "mask — use method='flowdirector'")
    shift = _pipe_shift(pipe) if cfg.shift is None else cfg.shift
    x_src = x_src.float()                      # the ODE runs in fp32 (the model may be bf16)
    prompts = encode_prompts(pipe.encode_prompt, source_prompt, target_prompt, cfg.negative_prompt)
    generator = torch.Generator().manual_seed(int(seed))
    velocity = pipe.velocity
    if method == "random_noise":
        return random_noise_edit(velocity, x_src, prompts, cfg, generator, shift, callback, progress)
    if method == "inversion":
        return inversion_edit(velocity, x_src, prompts, cfg, shift, callback, progress)
    if method == "flowedit" and not (cfg.use_mask or cfg.use_dag):
        return flowedit(velocity, x_src, prompts, cfg, generator, shift, callback, progress)
    from .flowdirector import flowdirector_for_pipeline
    return flowdirector_for_pipeline(pipe, x_src, prompts, cfg, generator, shift, source_words,
                                     target_words, callback, progress, mask=mask)


@torch.no_grad()
def edit(pipe, video, source_prompt: str, target_prompt: str, seed: int = 0,
         method: str = "flowdirector", config: EditConfig | None = None,
         source_words: Sequence[str] | str | None = None,
         target_words: Sequence[str] | str | None = None, callback: Callable | None = None,
         progress: bool = False, return_latents: bool = False, mask=None, **overrides):
    """Edit a uint8 video (T, H, W, 3) from `source_prompt` to `target_prompt`.

    method: "random_noise" | "inversion" | "flowedit" | "flowdirector" (default; the tuned preset
            `EditConfig.preset(method)` unless `config` is given). Keyword arguments override config
            fields, e.g. `use_mask=False` or `use_dag=False` for FlowDirector's ablations.
    source_words / target_words: the words whose attention gives FlowDirector's mask; found by
            diffing the two prompts when not given.
    mask:   FlowDirector only — a fixed mask in place of the attention mask: (T, H, W) over the
            video's pixels (bool or [0, 1]; e.g. a segmentation) or (T', h, w) over the latent grid
            (`flowdirector.latent_mask`); the edit moves only where it is on.
    callback(info: dict): called after every step with the state (see `editing_ode`).
    Returns the edited uint8 video (and the edited scaled latents with return_latents=True)."""
    v = _check_video(video)
    check_method(method)
    cfg = EditConfig.preset(method, **overrides) if config is None else (
        replace(config, **overrides) if overrides else config)           # validate before encoding
    x_src = pipe.encode_video(v)
    z = edit_latents(pipe, x_src, source_prompt, target_prompt, seed, method, cfg, source_words,
                     target_words, callback, progress, mask=mask)
    out = pipe.decode_latents(z)
    return (out, z) if return_latents else out


# ----------------------------------------------------------------------------- measuring an edit
# Shapes world only (ground truth exists): the oracle, the object's track and the background.

def object_mask(video: np.ndarray, threshold: float = 60.0) -> np.ndarray:
    """(T, H, W) bool: pixels of the 3×3-smoothed video farther than `threshold` (RGB distance) from
    the background colour read off the border — the oracle's object mask (`shapes.read_attributes`)."""
    from .shapes import BACKGROUNDS, _nearest
    v = np.asarray(video, np.float32)
    T, H, W, _ = v.shape
    border = np.concatenate([v[:, 0], v[:, -1], v[:, :, 0], v[:, :, -1]], axis=1).reshape(-1, 3)
    bg = np.asarray(BACKGROUNDS[_nearest(np.median(border, axis=0), BACKGROUNDS)], np.float32)
    pad = np.pad(v, ((0, 0), (1, 1), (1, 1), (0, 0)), mode="edge")
    smooth = sum(pad[:, i:i + H, j:j + W] for i in range(3) for j in range(3)) / 9.0
    return np.linalg.norm(smooth - bg, axis=-1) > threshold


def object_centers(video: np.ndarray, threshold: float = 60.0, min_pixels: int = 8) -> np.ndarray:
    """(T, 2) (x, y) centre of the object's bounding box per frame (NaN where no object).

    The box centre, not the area centroid: a triangle's centroid sits r/3 below the centre it is
    drawn around, so a perfect circle → triangle edit would otherwise look like a 3 px drift."""
    m = object_mask(video, threshold)
    out = np.full((m.shape[0], 2), np.nan)
    for t in range(m.shape[0]):
        ys, xs = np.nonzero(m[t])
        if len(xs) >= min_pixels:
            out[t] = ((xs.min() + xs.max() + 1) / 2, (ys.min() + ys.max() + 1) / 2)
    return out


def background_psnr(source: np.ndarray, edited: np.ndarray, threshold: float = 60.0,
                    margin: int = 2) -> float:
    """PSNR (dB) between two clips over the pixels that are background in *both* (the objects'
    masks dilated by `margin` px are left out)."""
    import torch.nn.functional as F
    m = object_mask(source, threshold) | object_mask(edited, threshold)
    if margin:
        mt = torch.from_numpy(m).float()[:, None]
        m = F.max_pool2d(mt, 2 * margin + 1, 1, margin)[:, 0].bool().numpy()
    return region_psnr(source, edited, ~m)


def region_psnr(a: np.ndarray, b: np.ndarray, region: np.ndarray) -> float:
    """PSNR (dB) between two uint8 clips over the (T, H, W) pixels of `region` (nan when it is
    empty, inf when the clips agree there)."""
    if not region.any():
        return float("nan")
    err = (a.astype(np.float64) - b.astype(np.float64))[region]
    mse = float(np.mean(err ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0 ** 2 / mse)


def ideal_edit(target_prompt: str, seed: int) -> np.ndarray:
    """The perfect edit of the Shapes clip `render_caption(source_prompt, rng=seed)`: the target
    prompt's attributes rendered on the source's own motion (size, start and travel depend only on
    the direction and `seed`, and an edit of colour or shape keeps the direction)."""
    from .shapes import render_caption
    return render_caption(target_prompt, rng=seed)


def _centre_distance(c_a: np.ndarray, c_b: np.ndarray) -> float:
    both = ~np.isnan(c_a).any(1) & ~np.isnan(c_b).any(1)
    return float(np.linalg.norm(c_a[both] - c_b[both], axis=1).mean()) if both.any() else float("inf")


def trajectory_drift(a: np.ndarray, b: np.ndarray, threshold: float = 60.0) -> float:
    """Mean distance (px) between the object's box centres in two clips, over the frames where both
    show it (inf when one of them has lost the object)."""
    return _centre_distance(object_centers(a, threshold), object_centers(b, threshold))


def edit_metrics(source: np.ndarray, edited: np.ndarray, source_prompt: str, target_prompt: str,
                 threshold: float = 60.0, reference: np.ndarray | None = None) -> dict:
    """How good is one Shapes edit?  success: the oracle reads every attribute the target prompt
    changes; preserved: it reads every other attribute as in the source prompt; bg_psnr: background
    PSNR (dB) outside both objects; drift_src: `trajectory_drift` between the source and the edited
    clip; drift: the same against `reference`, the perfect edit (`ideal_edit`), when given.

    Why a reference: box centres are read off a thresholded, smoothed mask, which trims a
    triangle's thin apex but not a square's corner, and a colour's contrast with the background
    moves the box edge, so a *perfect* edit to or from a triangle is ~0.75 px from the source's
    centres and a perfect colour edit ~0.2 px (tests/test_editing.py). Against the ideal edit,
    measured the same way, those offsets cancel and a perfect edit drifts 0 px. Without a reference
    (a clip whose motion is not known) drift = drift_src."""
    from .shapes import ATTRIBUTES, parse_caption, read_attributes
    src, tar = parse_caption(source_prompt), parse_caption(target_prompt)
    changed = [a for a in ATTRIBUTES if src[a] != tar[a]]
    kept = [a for a in ATTRIBUTES if a not in changed]
    read = read_attributes(edited, threshold)
    c_ed = object_centers(edited, threshold)
    drift_src = _centre_distance(object_centers(source, threshold), c_ed)
    drift = drift_src if reference is None else _centre_distance(object_centers(reference, threshold), c_ed)
    return dict(success=all(read[a] == tar[a] for a in changed),
                preserved=all(read[a] == src[a] for a in kept),
                drift=drift, drift_src=drift_src, bg_psnr=background_psnr(source, edited, threshold),
                changed=changed, read=read)


@contextmanager
def count_model_calls(pipe):
    """Count the DiT passes of everything run inside: yields a dict with `calls` (sequential model
    calls) and `rows` (latents pushed through the model, i.e. NFE summed over the batch)."""
    stats = dict(calls=0, rows=0)
    orig = pipe.velocity

    def counted(z, *args, **kw):
        stats["calls"] += 1
        stats["rows"] += int(z.shape[0])
        return orig(z, *args, **kw)
    pipe.velocity = counted                      # an instance attribute shadows the method
    try:
        yield stats
    finally:
        del pipe.velocity


def timed_edit(pipe, video, source_prompt: str, target_prompt: str, **kw) -> tuple[np.ndarray, float, dict]:
    """`edit(pipe, ...)`, its wall-clock seconds (CUDA synchronised; VAE encode/decode included)
    and its model-call counts (`count_model_calls`)."""
    dev = torch.device(getattr(pipe, "device", "cpu"))
    if dev.type == "cuda":
        torch.cuda.synchronize()
    with count_model_calls(pipe) as calls:
        t0 = time.perf_counter()
        out = edit(pipe, video, source_prompt, target_prompt, **kw)
        if dev.type == "cuda":
            torch.cuda.synchronize()
        sec = time.perf_counter() - t0
    return out, sec, calls


# ----------------------------------------------------------------------------- the measure

ABLATIONS = {                       # name → (method, overrides): the rows of the measure table
    "random_noise": ("random_noise", {}),
    "inversion": ("inversion", {}),
    "flowedit": ("flowedit", {}),
    "flowdirector": ("flowdirector", {}),
    "flowdirector −mask": ("flowdirector", {"use_mask": False}),
    "flowdirector −DAG": ("flowdirector", {"use_dag": False}),
    "flowdirector −both": ("flowdirector", {"use_mask": False, "use_dag": False}),
}


def shapes_edits(n: int, kinds: Sequence[str] = ("color", "shape"), seed: int = 0) -> list[dict]:
    """`n` Shapes edits per kind: a random source clip (attributes and geometry from `seed`) and a
    target prompt that changes only that attribute. Items: kind, seed, source, target (captions)."""
    from .shapes import COLORS, SHAPES, all_combinations, caption
    values = {"color": list(COLORS), "shape": list(SHAPES)}
    bad = [k for k in kinds if k not in values]
    if bad:
        raise ValueError(f"unknown edit kinds {bad}; use 'color' and/or 'shape'")
    rng = np.random.default_rng(seed)
    combos = all_combinations()
    out = []
    for kind in kinds:
        for i in range(n):
            src = dict(combos[rng.integers(len(combos))])
            tar = dict(src)
            tar[kind] = str(rng.choice([v for v in values[kind] if v != src[kind]]))
            out.append(dict(kind=kind, seed=int(rng.integers(2**31)), source=caption(**src),
                            target=caption(**tar)))
    return out


def measure(pipe, edits: Sequence[dict], variants: dict | None = None, seed: int = 0,
            progress: bool = True, **overrides) -> list[dict]:
    """Run every variant (name → (method, overrides); default `ABLATIONS`) on every edit of
    `shapes_edits`; one row per (variant, edit) with `edit_metrics` and the seconds it took.
    A "reconstruction" row per edit (encode → decode, no edit) gives the VAE's ceiling."""
    from tqdm.auto import tqdm
    from .shapes import render_caption
    variants = ABLATIONS if variants is None else variants
    rows = []
    bar = tqdm(total=len(edits) * (len(variants) + 1), desc="measure", disable=not progress)
    for e in edits:
        src = render_caption(e["source"], rng=e["seed"])
        ideal = ideal_edit(e["target"], e["seed"])
        recon = pipe.decode_latents(pipe.encode_video(src))
        m = edit_metrics(src, recon, e["source"], e["source"])      # no edit: the source is the ideal
        m["success"] = float("nan")                 # nothing to edit: only preservation counts
        rows.append(dict(variant="reconstruction", kind=e["kind"], seconds=float("nan"),
                         calls=0, nfe=0, **m))
        bar.update()
        for name, (method, kw) in variants.items():
            out, sec, calls = timed_edit(pipe, src, e["source"], e["target"], seed=seed,
                                         method=method, **{**kw, **overrides})
            rows.append(dict(variant=name, kind=e["kind"], seconds=sec, calls=calls["calls"],
                             nfe=calls["rows"], **edit_metrics(src, out, e["source"], e["target"],
                                                                reference=ideal)))
            bar.update()
    bar.close()
    return rows


def summarise(rows: Sequence[dict]) -> dict[str, dict]:
    """Per variant: success (colour, shape, all), preservation, median / mean drift against the
    ideal edit (px; mean with lost objects counted as 64 px), median drift against the source
    clip, median background PSNR (dB), mean model calls, NFE (latents
    through the DiT) and seconds per edit."""
    out: dict[str, dict] = {}
    for name in dict.fromkeys(r["variant"] for r in rows):
        rs = [r for r in rows if r["variant"] == name]
        by = lambda k: [r for r in rs if r["kind"] == k]          # noqa: E731
        drift = np.array([r["drift"] for r in rs], dtype=float)
        psnr = np.array([r["bg_psnr"] for r in rs], dtype=float)
        ok = lambda rr: float(np.mean([float(r["success"]) for r in rr])) if rr else float("nan")  # noqa: E731
        out[name] = dict(
            n=len(rs),
            success_color=ok(by("color")), success_shape=ok(by("shape")), success=ok(rs),
            calls=float(np.mean([r.get("calls", 0) for r in rs])),
            nfe=float(np.mean([r.get("nfe", 0) for r in rs])),
            preserved=float(np.mean([r["preserved"] for r in rs])),
            drift_median=float(np.median(drift)), drift_mean=float(np.mean(np.minimum(drift, 64.0))),
            drift_src_median=float(np.median([r["drift_src"] for r in rs])),
            bg_psnr=float(np.median(np.minimum(psnr, 99.0))),
            seconds=float(np.nanmean([r["seconds"] for r in rs])) if name != "reconstruction" else float("nan"))
    return out


def results_table(summary: dict[str, dict], reference: str = "inversion") -> str:
    """The measure as a markdown table; 'time ×' is seconds per edit relative to `reference`."""
    ref = summary.get(reference, {}).get("seconds", float("nan"))
    lines = ["| method | success colour | success shape | success | preserved | drift median (px) "
             "| drift mean (px) | drift vs source, median (px) | bg PSNR (dB) | model calls | NFE "
             "| s / edit | time × " + reference + " |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    pct = lambda x: "—" if x != x else f"{100 * x:.0f} %"           # noqa: E731
    num = lambda x, f: "—" if x != x else format(x, f)              # noqa: E731
    for name, s in summary.items():
        lines.append(f"| {name} | {pct(s['success_color'])} | {pct(s['success_shape'])} | "
                     f"{pct(s['success'])} | {pct(s['preserved'])} | {num(s['drift_median'], '.2f')} | "
                     f"{num(s['drift_mean'], '.2f')} | {num(s['drift_src_median'], '.2f')} | "
                     f"{num(s['bg_psnr'], '.1f')} | "
                     f"{s['calls']:.0f} | {s['nfe']:.0f} | "
                     f"{num(s['seconds'], '.2f')} | {num(s['seconds'] / ref, '.2f')} |")
    return "\n".join(lines)
