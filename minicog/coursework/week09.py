"""Week 9: scaling up — the checks of the notebook's graded exercises (the v-prediction sampler seen as
rectified flow: what v says about x0 and ε, the velocity, one DDIM step as an Euler step)."""
from __future__ import annotations

from typing import Callable

import torch

from ..checking import assert_close_or_mistake, call, case, exercise
from ..scheduler import CogVideoXDDIM, SchedulerConfig, VPScheduler

from ._common import _randn

__all__ = ["check_v_to_x0_eps", "check_v_to_velocity", "check_ddim_step_as_euler"]

_TOL = dict(atol=1e-6, rtol=1e-6)


def _schedule() -> CogVideoXDDIM:
    return CogVideoXDDIM(SchedulerConfig.cogvideox_2b())          # zero terminal SNR: ᾱ_999 = 0


def _vp_cases():
    """(scheduler, DDPM timestep t, ᾱ_t (float64, 0-dim), x_t, v), from mid-way to clean (t = 0) and pure noise
    (t = 999)."""
    sched = _schedule()
    for i, t in enumerate([500, 250, 1, 0, 999]):          # the ends last: at ᾱ = 0 some mistakes agree
        x_t = _randn(2, 3, 2, 2, seed=i, dtype=torch.float64)
        v = _randn(2, 3, 2, 2, seed=i + 10, dtype=torch.float64)
        yield sched, t, sched.alphas_cumprod[t].double(), x_t, v


def _compare(got, want, where: str, what: str, mistakes: dict[str, torch.Tensor]) -> None:
    """assert_close; when it fails, name the first plausible mistake whose result `got` equals."""
    named = [(w, f"it equals what you get {m}") for m, w in mistakes.items()]
    assert_close_or_mistake(got, want, where, what, named, **_TOL)


def _ab(alpha_bar: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    return alpha_bar.sqrt(), (1 - alpha_bar).sqrt()


@exercise("v_to_x0_eps", "minicog.scheduler.CogVideoXDDIM.pred_x0 / pred_eps",
          forbid=(VPScheduler.pred_x0, VPScheduler.pred_eps))
def check_v_to_x0_eps(v_to_x0_eps: Callable) -> int:
    """v_to_x0_eps(v, x_t, alpha_bar) -> (x̂0, ε̂), vs `pred_x0` and `pred_eps` of a v-prediction scheduler."""
    n = 0
    for sched, t, ab, x_t, v in _vp_cases():
        where = case("v_to_x0_eps", v, x_t, ab) + f"  [ᾱ = {float(ab):.3g}, of DDPM timestep {t}]"
        got = call(v_to_x0_eps, where, v, x_t, ab)
        if not isinstance(got, (tuple, list)) or len(got) != 2:
            size = f" of {len(got)}" if isinstance(got, (tuple, list)) else ""
            raise AssertionError(f"{where}: return the pair (x̂0, ε̂), got {type(got).__name__}{size}")
        x0 = sched.pred_x0(v, t, x_t)
        eps = sched.pred_eps(v, t, x_t, x0)
        a, b = _ab(ab)
        sa, sb = ab, 1 - ab                                               # ᾱ and 1 − ᾱ without the square roots
        _compare(got[0], x0, where, "x̂0 (the first of the pair)", {
            "with x̂0 and ε̂ in the wrong order (return (x̂0, ε̂))": eps,
            "with a and b swapped (a = √ᾱ scales x0 in x_t, b = √(1 − ᾱ) scales ε)": b * x_t - a * v,
            "with the sign of the v term flipped (v = a·ε − b·x0 holds −x0)": a * x_t + b * v,
            "using ᾱ and 1 − ᾱ where their square roots a and b belong": sa * x_t - sb * v})
        _compare(got[1], eps, where, "ε̂ (the second of the pair)", {
            "with x̂0 and ε̂ in the wrong order (return (x̂0, ε̂))": x0,
            "with a and b swapped (a = √ᾱ scales x0 in x_t, b = √(1 − ᾱ) scales ε)": a * x_t + b * v,
            "with the sign of a term flipped": b * x_t - a * v,
            "using ᾱ and 1 − ᾱ where their square roots a and b belong": sb * x_t + sa * v})
        n += 1
    return n


@exercise("v_to_velocity", "minicog.scheduler.CogVideoXDDIM.v_to_velocity", forbid=(CogVideoXDDIM.v_to_velocity,))
def check_v_to_velocity(v_to_velocity: Callable) -> int:
    """v_to_velocity(v, x_t, alpha_bar) -> u = (b − a)·x_t + (a + b)·v, vs `VPScheduler.v_to_velocity`."""
    n = 0
    for sched, t, ab, x_t, v in _vp_cases():
        where = case("v_to_velocity", v, x_t, ab) + f"  [ᾱ = {float(ab):.3g}, of DDPM timestep {t}]"
        a, b = _ab(ab)
        u = (b - a) * x_t + (a + b) * v
        _compare(call(v_to_velocity, where, v, x_t, ab), sched.v_to_velocity(v, x_t, t), where, "the velocity", {
            "going the wrong way, x̂0 − ε̂ (s = 1 is noise, s = 0 data: u = dz/ds points to the noise)": -u,
            "with a and b swapped (a = √ᾱ scales x0 in x_t, b = √(1 − ᾱ) scales ε)": (a - b) * x_t + (a + b) * v,
            "without the factor (a + b) on v": (b - a) * x_t + v,
            "when you divide by (a + b): ε̂ − x̂0 is already the velocity of z = x_t / (a + b)": u / (a + b)})
        n += 1
    return n


def _step_cases():
    """(scheduler, steps, t, ᾱ_t, ᾱ of the timestep the step goes to, x_t, v): middle steps first (there
    the plausible mistakes all differ), then the first step from pure noise (ᾱ = 0, where a + b = 1), the
    last step to clean data (ᾱ_next = 1) and one step over the whole path."""
    sched = _schedule()
    for i, (steps, t) in enumerate([(50, 519), (10, 499), (50, 999), (50, 19), (1, 999)]):
        sched.set_timesteps(steps)
        prev = sched.prev_timestep(t)
        ab_next = (sched.alphas_cumprod[prev] if prev >= 0 else sched.final_alpha_cumprod).double()
        x_t = _randn(2, 4, 2, 3, 3, seed=20 + i, dtype=torch.float64)
        v = _randn(2, 4, 2, 3, 3, seed=30 + i, dtype=torch.float64)
        yield sched, steps, t, sched.alphas_cumprod[t].double(), ab_next, x_t, v


def _step_mistakes(v, x_t, ab, ab_next) -> dict[str, torch.Tensor]:
    (a, b), (a2, b2) = _ab(ab), _ab(ab_next)
    s, s2 = b / (a + b), b2 / (a2 + b2)
    u = (b - a) * x_t + (a + b) * v
    z2 = x_t / (a + b) + (s2 - s) * u
    return {
        "by stepping the VP state x_t itself: the straight line is in the RF state z = x_t / (a + b) — convert, "
        "step, convert back": x_t + (s2 - s) * u,
        "when you return the RF state z: convert it back to the VP state of the next timestep": z2,
        "when you convert back with this timestep's a + b instead of the next timestep's": z2 * (a + b),
        "by stepping the wrong way (s falls from 1 at noise to 0 at data; the step is (s_next − s)·u)":
            x_t / (a + b) * (a2 + b2) - (s2 - s) * u * (a2 + b2),
        "with a and b swapped in the RF time (s = 0 must be data, s = 1 noise)":
            (x_t / (a + b) + ((a2 / (a2 + b2)) - a / (a + b)) * u) * (a2 + b2),
    }


@exercise("ddim_step_as_euler", "minicog.scheduler.CogVideoXDDIM.step",
          forbid=(CogVideoXDDIM.step, VPScheduler.v_to_velocity, VPScheduler.vp_to_rf, VPScheduler.rf_to_vp,
                  VPScheduler.rf_time, VPScheduler.pred_x0, VPScheduler.pred_eps))
def check_ddim_step_as_euler(ddim_step_as_euler: Callable) -> int:
    """ddim_step_as_euler(v, x_t, alpha_bar, alpha_bar_next) -> the VP state at the next timestep, vs one
    step of CogVideoX's DDIM (`CogVideoXDDIM.step`, η = 0)."""
    n = 0
    for sched, steps, t, ab, ab_next, x_t, v in _step_cases():
        where = (case("ddim_step_as_euler", v, x_t, ab, ab_next)
                 + f"  [{steps}-step DDIM, timestep {t} → {sched.prev_timestep(t)}: ᾱ = {float(ab):.3g}, "
                   f"ᾱ_next = {float(ab_next):.3g}]")
        sched.set_timesteps(steps)
        want = sched.step(v, t, x_t)
        got = call(ddim_step_as_euler, where, v, x_t, ab, ab_next)
        _compare(got, want, where, "the next state", _step_mistakes(v, x_t, ab, ab_next))
        n += 1
    return n
