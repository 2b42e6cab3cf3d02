"""Rectified flow: learn the denoising process as a velocity field, then integrate an ODE.

Convention (used everywhere in minicog): time t ∈ [0, 1], **t = 0 is data, t = 1 is noise**

    x_t = (1 − t)·x0 + t·ε,        ε ~ N(0, I)                (Liu et al. 2022, eq. 1; SD3 §2 eq. 3)
    v   = dx_t/dt = ε − x0                                    (the regression target)

A model f(x, t, cond) ≈ E[ε − x0 | x_t = x] is trained with the MSE `rf_loss`; sampling integrates
dx/dt = f(x, t) from t = 1 (noise) down to t = 0 (data) with Euler or Heun, and `invert` runs the same
ODE upwards (data → noise), which the editing baselines use.

Everything here works with any velocity model `model(x, t, cond) -> v` where `t` is a (B,) tensor in
[0, 1]; the same code drives the 2D toy, the tiny video DiT and the tests. The DiT itself embeds
timesteps on a 0–1000 scale: wrap it with `scale_time(dit)` (i.e. feed `to_model_timestep(t) = 1000·t`).
Note that diffusers' CogVideoX checkpoints were trained as v-prediction DDPMs on *integer DDPM
timesteps* (see `minicog.scheduler`, which also converts their output into this velocity), whereas
minicog's tiny model is trained on 1000·t with the rectified-flow objective below.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from .utils import autocast as _autocast

# A velocity model: model(x (B, ...), t (B,) in [0, 1], cond) -> v with x's shape.
VelocityModel = Callable[[torch.Tensor, torch.Tensor, Any], torch.Tensor]

TIMESTEP_SCALE = 1000.0


# ----------------------------------------------------------------------------- the path

def _bcast(t: torch.Tensor | float, x: torch.Tensor) -> torch.Tensor:
    """(B,) or scalar time → shape (B, 1, 1, ...) broadcastable against x."""
    t = torch.as_tensor(t, dtype=x.dtype, device=x.device)
    if t.ndim == 0:
        return t
    if t.ndim != 1 or t.shape[0] != x.shape[0]:
        raise ValueError(f"t must be a scalar or a (B,) tensor with B = x.shape[0] = {x.shape[0]}; "
                         f"got shape {tuple(t.shape)}")
    return t.reshape(-1, *([1] * (x.ndim - 1)))


def interpolate(x0: torch.Tensor, noise: torch.Tensor, t: torch.Tensor | float) -> torch.Tensor:
    """x_t = (1 − t)·x0 + t·ε — the straight path from data (t=0) to noise (t=1)."""
    if x0.shape != noise.shape:
        raise ValueError(f"x0 {tuple(x0.shape)} and noise {tuple(noise.shape)} must have the same shape")
    t = _bcast(t, x0)
    return (1 - t) * x0 + t * noise


def velocity_target(x0: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """v = d x_t / dt = ε − x0 (constant along each straight path)."""
    return noise - x0


def to_model_timestep(t: torch.Tensor | float) -> torch.Tensor | float:
    """Rectified-flow time t ∈ [0, 1] → the DiT's 0–1000 timestep scale (1000·t).

    minicog's tiny DiT is trained on exactly this. Pretrained CogVideoX checkpoints instead expect
    integer DDPM timesteps of a v-prediction VP process: use `minicog.scheduler.CogVideoXDDIM`."""
    return t * TIMESTEP_SCALE


def scale_time(model: Callable, scale: float = TIMESTEP_SCALE) -> VelocityModel:
    """Wrap a model that takes 0–`scale` timesteps into a velocity model taking t ∈ [0, 1]."""
    def wrapped(x, t, cond):
        return model(x, t * scale, cond)
    wrapped.__wrapped__ = model
    return wrapped


# ----------------------------------------------------------------------------- training times

def text_conditioned(velocity: Callable, autocast: bool = False) -> VelocityModel:
    """A text-conditioned velocity `velocity(z, t, embeds, mask)` (a pipeline's) → the
    `model(x, t, cond)` form `sample`, `invert` and `guided_velocity` take, with cond = (embeds, mask).
    `autocast=True` runs it under bf16 autocast on CUDA and returns float32 (a no-op on the CPU)."""
    def model(x, t, cond):
        embeds, mask = cond
        if not autocast:
            return velocity(x, t, embeds, mask)
        with _autocast(x.device):
            return velocity(x, t, embeds, mask).float()
    return model


def shift_time(t: torch.Tensor | float, shift: float) -> torch.Tensor | float:
    """SD3's timestep shift (Esser et al. 2024, §5.3.2 eq. 23): t' = shift·t / (1 + (shift − 1)·t).

    shift > 1 moves time towards the noise end (more steps / training at high noise), which larger
    images and videos need because more tokens average away more of the noise. Keeps 0 and 1 fixed."""
    if not shift > 0:
        raise ValueError(f"shift must be > 0 (1.0 = no shift), got {shift}")
    return shift * t / (1 + (shift - 1) * t)


def unshift_time(t: torch.Tensor | float, shift: float) -> torch.Tensor | float:
    """Inverse of `shift_time`: u such that shift_time(u, shift) = t."""
    if not shift > 0:
        raise ValueError(f"shift must be > 0 (1.0 = no shift), got {shift}")
    return t / (shift - (shift - 1) * t)


def resolution_shift(num_tokens: int, base_tokens: int = 256, mode: str = "flux",
                     max_tokens: int = 4096, base_shift: float = 0.5, max_shift: float = 1.15) -> float:
    """Resolution-dependent shift factor for `shift_time`.

    mode="sd3":  shift = sqrt(num_tokens / base_tokens)                          (SD3 §5.3.2)
    mode="flux": mu linear in num_tokens from (base_tokens, base_shift) to (max_tokens, max_shift),
                 shift = exp(mu); FLUX's exponential time shift e^mu/(e^mu + 1/t − 1) is exactly
                 shift_time(t, e^mu)."""
    if num_tokens <= 0 or base_tokens <= 0:
        raise ValueError(f"num_tokens and base_tokens must be positive, got {num_tokens}, {base_tokens}")
    if mode == "sd3":
        return math.sqrt(num_tokens / base_tokens)
    if mode == "flux":
        if max_tokens == base_tokens:
            raise ValueError("max_tokens must differ from base_tokens for mode='flux'")
        m = (max_shift - base_shift) / (max_tokens - base_tokens)
        mu = base_shift + m * (num_tokens - base_tokens)
        return math.exp(mu)
    raise ValueError(f"unknown mode {mode!r}: use 'sd3' or 'flux'")


def sample_uniform(n: int, generator: torch.Generator | None = None,
                   device: torch.device | str | None = None) -> torch.Tensor:
    """t ~ U(0, 1), shape (n,)."""
    return torch.rand(n, generator=generator, device=device)


def sample_logit_normal(n: int, m: float = 0.0, s: float = 1.0, generator: torch.Generator | None = None,
                        device: torch.device | str | None = None) -> torch.Tensor:
    """t = sigmoid(u), u ~ N(m, s²) — SD3's logit-normal sampling (§3.1 eq. 19), which puts more
    training weight on intermediate times, where the velocity is hardest to predict."""
    if not s > 0:
        raise ValueError(f"logit-normal scale s must be > 0, got {s}")
    return torch.sigmoid(m + s * torch.randn(n, generator=generator, device=device))


@dataclass
class TimestepSampler:
    """Training-time distribution: kind "uniform" or "logit_normal" (m, s), then `shift_time(·, shift)`."""
    kind: str = "uniform"
    m: float = 0.0
    s: float = 1.0
    shift: float = 1.0

    def __post_init__(self):
        if self.kind not in ("uniform", "logit_normal"):
            raise ValueError(f"unknown timestep sampler {self.kind!r}: use 'uniform' or 'logit_normal'")
        if not self.shift > 0:
            raise ValueError(f"shift must be > 0, got {self.shift}")

    @classmethod
    def sd3(cls, shift: float = 1.0) -> "TimestepSampler":
        return cls("logit_normal", 0.0, 1.0, shift)

    def __call__(self, n: int, generator: torch.Generator | None = None,
                 device: torch.device | str | None = None) -> torch.Tensor:
        t = (sample_uniform(n, generator, device) if self.kind == "uniform"
             else sample_logit_normal(n, self.m, self.s, generator, device))
        return shift_time(t, self.shift) if self.shift != 1.0 else t


def _get_sampler(sampler) -> Callable:
    if isinstance(sampler, str):
        return TimestepSampler(sampler)
    if callable(sampler):
        return sampler
    raise ValueError(f"sampler must be 'uniform', 'logit_normal', a TimestepSampler or a callable "
                     f"(n, generator, device) -> (n,) times; got {sampler!r}")


def rf_loss(model: VelocityModel, x0: torch.Tensor, cond: Any = None, t: torch.Tensor | None = None,
            noise: torch.Tensor | None = None, sampler: str | Callable = "uniform",
            weight: torch.Tensor | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
    """Conditional flow-matching loss E_t,ε ||f(x_t, t, cond) − (ε − x0)||² (scalar, mean over elements).

    t:      (B,) times in [0, 1]; drawn from `sampler` when None.
    noise:  ε with x0's shape; drawn N(0, I) when None.
    weight: optional mask/weights broadcastable to x0 (e.g. (B, 1, T, 1, 1) to drop padded frames);
            the loss is then Σ w·err² / Σ w over the broadcast elements."""
    B = x0.shape[0]
    if noise is None:
        noise = torch.randn(x0.shape, generator=generator, device=x0.device, dtype=x0.dtype)
    if t is None:
        t = _get_sampler(sampler)(B, generator=generator, device=x0.device)
    t = torch.as_tensor(t, device=x0.device, dtype=x0.dtype)
    if t.ndim == 0:
        t = t.expand(B)
    if t.shape != (B,):
        raise ValueError(f"t must have shape (B,) = ({B},), got {tuple(t.shape)}")
    x_t = interpolate(x0, noise, t)
    pred = model(x_t, t, cond)
    target = velocity_target(x0, noise)
    if pred.shape != target.shape:
        raise ValueError(f"model returned shape {tuple(pred.shape)}, expected {tuple(target.shape)}")
    if weight is None:
        return F.mse_loss(pred.float(), target.float())
    err = (pred.float() - target.float()) ** 2
    try:
        w = torch.broadcast_to(weight.to(err), err.shape)
    except RuntimeError as e:
        raise ValueError(f"weight of shape {tuple(weight.shape)} does not broadcast to x0's shape "
                         f"{tuple(err.shape)}") from e
    return (w * err).sum() / w.sum().clamp_min(1e-12)


# ----------------------------------------------------------------------------- sampling

def timesteps(steps: int, shift: float = 1.0, t_start: float = 1.0, t_end: float = 0.0,
              device: torch.device | str | None = None) -> torch.Tensor:
    """The (steps + 1,) float64 time grid from t_start to t_end.

    Equal steps in the *unshifted* time u, mapped through `shift_time`; the ends are exactly t_start and
    t_end whatever the shift, and `timesteps(n, s, 0, 1)` is `timesteps(n, s, 1, 0)` reversed."""
    if int(steps) != steps or steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps}")
    for name, v in (("t_start", t_start), ("t_end", t_end)):
        if not 0.0 <= v <= 1.0:
            raise ValueError(f"{name} must lie in [0, 1] (0 = data, 1 = noise), got {v}")
    if t_start == t_end:
        raise ValueError(f"t_start and t_end are both {t_start}: nothing to integrate")
    u = torch.linspace(unshift_time(t_start, shift), unshift_time(t_end, shift), int(steps) + 1,
                       dtype=torch.float64)
    t = shift_time(u, shift)
    t[0], t[-1] = t_start, t_end
    return t.to(device=device)


def _cat_cond(c: Any, u: Any) -> Any:
    """Concatenate cond and uncond along the batch: tensors, tuples/lists and dicts of tensors, None."""
    if torch.is_tensor(c):
        if not torch.is_tensor(u):
            raise ValueError(f"cond is a tensor but uncond is {type(u).__name__}; they must match")
        if c.shape[1:] != u.shape[1:]:
            raise ValueError(f"cond {tuple(c.shape)} and uncond {tuple(u.shape)} differ beyond the batch "
                             "dim; pad them to the same length (e.g. the same max_sequence_length)")
        return torch.cat([c, u], dim=0)
    if isinstance(c, (tuple, list)):
        if not isinstance(u, (tuple, list)) or len(u) != len(c):
            raise ValueError("cond and uncond must have the same structure (tuples of the same length)")
        return type(c)(_cat_cond(a, b) for a, b in zip(c, u))
    if isinstance(c, dict):
        if not isinstance(u, dict) or set(c) != set(u):
            raise ValueError(f"cond and uncond dicts must have the same keys: {sorted(c)} vs "
                             f"{sorted(u) if isinstance(u, dict) else type(u).__name__}")
        return {k: _cat_cond(c[k], u[k]) for k in c}
    if c is None and u is None:
        return None
    if c == u:  # e.g. a shared python flag
        return c
    raise ValueError(f"cannot batch cond leaf {type(c).__name__} with uncond leaf {type(u).__name__}")


def _time_dtype(x: torch.Tensor) -> torch.dtype:
    return x.dtype if x.dtype in (torch.float32, torch.float64) else torch.float32


def guided_velocity(model: VelocityModel, x: torch.Tensor, t: torch.Tensor | float, cond: Any,
                 uncond: Any = None, guidance: float = 1.0) -> torch.Tensor:
    """Velocity with classifier-free guidance (Ho & Salimans 2022): v = v_u + g·(v_c − v_u).

    When guidance != 1 the conditional and unconditional passes run as ONE batched model call
    (x repeated, cond and uncond concatenated leaf by leaf). guidance == 1 → one conditional pass."""
    B = x.shape[0]
    t = torch.as_tensor(t, device=x.device, dtype=_time_dtype(x))
    if t.ndim == 0:
        t = t.expand(B)
    if guidance == 1.0:
        return model(x, t, cond)
    if uncond is None:
        raise ValueError(f"guidance={guidance} needs an unconditional input: pass uncond= (e.g. the "
                         "empty-text embedding), or use guidance=1.0 to sample without guidance")
    v = model(torch.cat([x, x], dim=0), torch.cat([t, t], dim=0), _cat_cond(cond, uncond))
    v_c, v_u = v[:B], v[B:]
    return v_u + guidance * (v_c - v_u)


def ode_step(velocity: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], x: torch.Tensor,
             t: torch.Tensor, t_next: torch.Tensor, method: str = "euler"
             ) -> tuple[torch.Tensor, torch.Tensor]:
    """One step of dx/dt = velocity(x, t) from t to t_next (either direction). Returns (x_next, slope).

    euler: x + dt·v(x, t)                                     (1 model evaluation, 1st order)
    heun:  x + dt·(v(x, t) + v(x + dt·v(x, t), t_next)) / 2   (2 evaluations, 2nd order; Karras et al.
           2022 Alg. 1)"""
    dt = t_next - t
    v = velocity(x, t)
    if method == "euler":
        return x + dt * v, v
    if method == "heun":
        x_pred = x + dt * v
        slope = (v + velocity(x_pred, t_next)) / 2
        return x + dt * slope, slope
    raise ValueError(f"unknown method {method!r}: use 'euler' or 'heun'")


def _integrate(model: VelocityModel, x: torch.Tensor, cond: Any, uncond: Any, grid: torch.Tensor, *,
               guidance: float, method: str, callback: Callable | None, progress: bool, desc: str) -> torch.Tensor:
    """The loop `sample` and `invert` share: `ode_step` along `grid` with the guided velocity."""
    if method not in ("euler", "heun"):
        raise ValueError(f"unknown method {method!r}: use 'euler' or 'heun'")
    grid = torch.as_tensor(grid, dtype=torch.float64).cpu()
    if grid.ndim != 1 or len(grid) < 2:
        raise ValueError(f"the time grid needs at least 2 points, got shape {tuple(grid.shape)}")
    tdt = _time_dtype(x)

    def velocity(xx, tt):
        return guided_velocity(model, xx, tt, cond, uncond, guidance)

    for i in tqdm(range(len(grid) - 1), desc=desc, disable=not progress, leave=False):
        t = torch.tensor(grid[i].item(), dtype=tdt, device=x.device)
        t_next = torch.tensor(grid[i + 1].item(), dtype=tdt, device=x.device)
        x, v = ode_step(velocity, x, t, t_next, method)
        if callback is not None:
            out = callback(i, float(grid[i + 1]), x, v)
            if out is not None:
                x = out
    return x


@torch.no_grad()
def sample(model: VelocityModel, noise: torch.Tensor, cond: Any = None, uncond: Any = None, *,
           steps: int = 50, guidance: float = 1.0, method: str = "euler", shift: float = 1.0,
           t_start: float = 1.0, t_end: float = 0.0, callback: Callable | None = None,
           progress: bool = True, times: torch.Tensor | None = None) -> torch.Tensor:
    """Integrate the probability-flow ODE dx/dt = v(x, t) from t_start (noise, 1) to t_end (data, 0).

    model:    velocity model f(x, t (B,), cond).
    guidance: classifier-free guidance scale g (1 = off); needs `uncond` when g != 1.
    method:   "euler" (1 model call per step) or "heun" (2 per step).
    shift:    SD3/FLUX time shift of the grid (see `timesteps`); `times` overrides the whole grid.
    t_start:  < 1 starts from a partially noised input (SDEdit-style editing).
    callback: callback(i, t, x, v) after step i, with x the new state at time t and v the slope used;
              if it returns a tensor, that replaces x (lets editing code intervene between steps).
    Returns the sample at t_end."""
    grid = timesteps(steps, shift, t_start, t_end) if times is None else times
    return _integrate(model, noise, cond, uncond, grid, guidance=guidance, method=method, callback=callback,
                      progress=progress, desc="sample")


@torch.no_grad()
def invert(model: VelocityModel, x0: torch.Tensor, cond: Any = None, *, steps: int = 50,
           method: str = "euler", uncond: Any = None, guidance: float = 1.0, shift: float = 1.0,
           t_start: float = 0.0, t_end: float = 1.0, callback: Callable | None = None,
           progress: bool = True, times: torch.Tensor | None = None) -> torch.Tensor:
    """Inverse ODE: integrate the same velocity field upwards, data (t_start=0) → noise (t_end=1).

    With the same steps/shift, the grid is exactly the reverse of `sample`'s, so `sample(invert(x))`
    returns x up to the discretisation error, which shrinks as steps grow (faster with Heun)."""
    grid = timesteps(steps, shift, t_start, t_end) if times is None else times
    return _integrate(model, x0, cond, uncond, grid, guidance=guidance, method=method, callback=callback,
                      progress=progress, desc="invert")
