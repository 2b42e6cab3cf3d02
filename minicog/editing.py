"""Editing a video with a text-to-video flow model: the three ways to start (week 7).

    edited = pipe.edit(video, source_prompt="a red circle ...", target_prompt="a blue circle ...",
                       seed=0, method="flowedit")              # uint8 (T, H, W, 3) in and out

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

The skip/stop/averaging knobs and the guidance scales live in `EditConfig`, with one preset per
method (`EditConfig.preset(method)`); keyword arguments of `edit` override fields. FlowDirector's
own parts (its mask, DAG, v2's corrections) are objects of `minicog.flowdirector`, not fields here.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, NamedTuple, Sequence

import torch
from tqdm.auto import tqdm

from .rectified_flow import guided_velocity, interpolate, invert, sample, text_conditioned, timesteps
from .utils import autocast, config_from_dict

METHODS = ("random_noise", "inversion", "flowedit", "flowdirector")
SRC, TAR, NEG = 0, 1, 2          # rows of `Prompts`: source, target, negative (unconditional)


# ----------------------------------------------------------------------------- configuration

@dataclass
class EditConfig:
    """Settings of one edit, shared by every method. Time grid: `steps` Euler steps over t ∈ [1, 0]
    (with `shift`); the edit runs the last `n_max` of them, i.e. starts at t_max = grid[steps − n_max].

    FlowEdit (§4, Alg. 1):   n_max (skip), n_min (stop: last n_min steps are plain target
                             sampling), n_avg (noise draws averaged per step; FlowDirector's
                             candidate flows)
    guidance:                src_guidance / tar_guidance — CFG on the source / target velocity
                             (Ho & Salimans 2022); inv_guidance for the inversion pass;
                             negative_prompt the unconditional prompt
    shift=None uses the pipeline's edit shift (PipelineConfig.edit_shift, else its sampling shift;
    1.0 for a bare velocity); max_batch splits model calls into chunks of that many rows (memory)."""
    steps: int = 20
    n_max: int = 14
    n_min: int = 0
    n_avg: int = 1
    src_guidance: float = 1.5
    tar_guidance: float = 5.0
    inv_guidance: float = 1.0
    shift: float | None = None
    negative_prompt: str = ""
    max_batch: int | None = None

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
        for name in ("src_guidance", "tar_guidance", "inv_guidance"):
            if not isinstance(getattr(self, name), (int, float)) or not math.isfinite(getattr(self, name)):
                raise ValueError(f"{name} must be a finite number, got {getattr(self, name)!r}")
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
            # tuned on Shapes edit-sets seed 7 and 11 (the table uses seed 1; docs/flowdirector.md):
            # a later start (n_max 12: t_max 0.6) keeps trajectories — earlier starts help shape
            # edits but move colour-edited objects — and ten candidate flows for DAG (its parts, the
            # mask and DAG, are `flowdirector.FlowDirector()`'s defaults)
            "flowdirector": dict(steps=20, n_max=12, n_avg=10, src_guidance=1.5, tar_guidance=5.0),
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
                      rows: Sequence[int], guidance: Sequence[float], *, max_batch: int | None = None,
                      record: Callable | None = None, map_kind: str = "video_to_text") -> GuidedVelocities:
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
                      generator: torch.Generator, *, shift: float = 1.0,
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
def inversion_edit(velocity: Callable, x_src: torch.Tensor, prompts: Prompts, cfg: EditConfig, *,
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
    v: torch.Tensor               # V_k = v(Z_tar, c_tar) − v(Z_src, c_src), guided
    z_src: torch.Tensor           # Z_src (N, ...)
    z_tar: torch.Tensor           # Z_tar (N, ...)
    v_src: torch.Tensor           # v(Z_src, c_src), guided (N, ...): FlowDirector v2's DA-FC reads it
    maps: dict | None = None      # recorded attention of the 2N conditional rows (with `record`)


def editing_velocities(velocity: Callable, x_src: torch.Tensor, z_edit: torch.Tensor, t: float,
                       noise: torch.Tensor, prompts: Prompts, cfg: EditConfig, *,
                       record: Callable | None = None, map_kind: str = "video_to_text") -> EditVelocities:
    """The N candidate editing velocities of one step, one per noise draw (FlowEdit §4):

        Z_src = (1 − t)·X_src + t·ε_k,   Z_tar = Z_src + (Z_edit − X_src),
        V_k   = v(Z_tar, t, c_tar) − v(Z_src, t, c_src)

    noise (N, C, T, h, w). All 2N (or 4N with guidance) model passes are one batched call. Writing
    Z_tar as Z_src + (Z_edit − X_src) keeps Z_tar == Z_src *bit for bit* while the edit is still at
    X_src, so equal prompts and guidances give V_k = 0 exactly (the identity test).
    Returns an `EditVelocities`: V (N, ...), Z_src, Z_tar, the source velocities and, with `record`,
    the `map_kind` maps of the 2N conditional rows (source rows first, then target rows)."""
    N = noise.shape[0]
    z_src = (1 - t) * x_src + t * noise                          # (N, C, T, h, w)
    z_tar = z_src + (z_edit - x_src)
    rows, guidance = [SRC] * N + [TAR] * N, [cfg.src_guidance] * N + [cfg.tar_guidance] * N
    out = guided_velocities(velocity, torch.cat([z_src, z_tar]), t, prompts, rows, guidance,
                            max_batch=cfg.max_batch, record=record, map_kind=map_kind)
    V = out.v[N:] - out.v[:N]                                    # (N, C, T, h, w)
    return EditVelocities(V, z_src, z_tar, out.v[:N], out.maps)


@torch.no_grad()
def editing_ode(velocity: Callable, x_src: torch.Tensor, prompts: Prompts, cfg: EditConfig,
                generator: torch.Generator, *, shift: float = 1.0, combine: Callable | None = None,
                record: Callable | None = None, map_kind: str = "video_to_text",
                callback: Callable | None = None, progress: bool = False,
                method: str = "flowedit") -> torch.Tensor:
    """Integrate the inversion-free editing ODE (FlowEdit Alg. 1) and return the edited latents.

    Z_edit starts at X_src at t_max = grid[steps − n_max]; each step draws n_avg noises, forms the
    candidate velocities V_k (`editing_velocities`) and moves Z_edit ← Z_edit + (t_next − t)·V with
    V = mean_k V_k, or V = combine(info) when given (FlowDirector's mask and guidance; `info` holds
    step, t, z, x_src, candidates, z_src, z_tar, the source velocities v_src and the attention
    `maps` recorded with `record` / `map_kind`). The last n_min steps sample the target ODE from
    Z_tar = Z_edit + Z_src − X_src (FlowEdit's "n_min" phase)."""
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
            out = editing_velocities(velocity, x_src, z, t, noise, prompts, cfg, record=record, map_kind=map_kind)
            info = dict(method=method, phase="edit", step=i, t=t, t_next=t_next, z=z, x_src=x_src,
                        candidates=out.v, z_src=out.z_src, z_tar=out.z_tar, v_src=out.v_src, maps=out.maps)
            # 4. combine the candidates (mean, or FlowDirector's mask and DAG) and take the Euler step
            V = out.v.mean(0, keepdim=True) if combine is None else combine(info)   # (1, C, T, h, w)
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
             generator: torch.Generator, *, shift: float = 1.0, callback: Callable | None = None,
             progress: bool = False) -> torch.Tensor:
    """FlowEdit (Kulikov et al. 2024): the editing ODE with plain noise averaging."""
    return editing_ode(velocity, x_src, prompts, cfg, generator, shift=shift, callback=callback,
                       progress=progress, method="flowedit")
