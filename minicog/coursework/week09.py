"""Week 9: scaling up — the checks of the notebook's graded exercises."""
from __future__ import annotations

from typing import Callable

import torch

from ..checking import assert_close, call, case, exercise
from ..scheduler import CogVideoXDDIM, SchedulerConfig

from ._common import _randn

__all__ = ["check_rf_time", "check_vp_to_rf", "check_v_to_velocity"]


def _vp_cases():
    sched = CogVideoXDDIM(SchedulerConfig.cogvideox_2b())          # zero terminal SNR: ᾱ_999 = 0
    for i, t in enumerate([0, 1, 250, 500, 999]):
        x_t = _randn(2, 3, 2, 2, seed=i, dtype=torch.float64)
        v = _randn(2, 3, 2, 2, seed=i + 10, dtype=torch.float64)
        yield sched, t, sched.alphas_cumprod[t].double(), x_t, v


@exercise("rf_time", "minicog.scheduler.CogVideoXDDIM.rf_time", forbid=(CogVideoXDDIM.rf_time,))
def check_rf_time(rf_time: Callable) -> int:
    """rf_time(alpha_bar) -> s = b / (a + b), a = √ᾱ, b = √(1 − ᾱ), vs `VPScheduler.rf_time`."""
    n = 0
    for sched, t, ab, _, _ in _vp_cases():
        where = case("rf_time", ab) + f"  [ᾱ of DDPM timestep {t}]"
        assert_close(call(rf_time, where, ab), sched.rf_time(t), where, "s", atol=1e-6, rtol=1e-6)
        n += 1
    return n


@exercise("vp_to_rf", "minicog.scheduler.CogVideoXDDIM.vp_to_rf", forbid=(CogVideoXDDIM.vp_to_rf,))
def check_vp_to_rf(vp_to_rf: Callable) -> int:
    """vp_to_rf(x_t, alpha_bar) -> z = x_t / (a + b), the rectified-flow state, vs `VPScheduler.vp_to_rf`."""
    n = 0
    for sched, t, ab, x_t, _ in _vp_cases():
        where = case("vp_to_rf", x_t, ab) + f"  [ᾱ of DDPM timestep {t}]"
        assert_close(call(vp_to_rf, where, x_t, ab), sched.vp_to_rf(x_t, t)[0], where, "z", atol=1e-6, rtol=1e-6)
        n += 1
    return n


@exercise("v_to_velocity", "minicog.scheduler.CogVideoXDDIM.v_to_velocity", forbid=(CogVideoXDDIM.v_to_velocity,))
def check_v_to_velocity(v_to_velocity: Callable) -> int:
    """v_to_velocity(v, x_t, alpha_bar) -> u = (b − a)·x_t + (a + b)·v, vs `VPScheduler.v_to_velocity`."""
    n = 0
    for sched, t, ab, x_t, v in _vp_cases():
        where = case("v_to_velocity", v, x_t, ab) + f"  [ᾱ of DDPM timestep {t}]"
        assert_close(call(v_to_velocity, where, v, x_t, ab), sched.v_to_velocity(v, x_t, t), where,
                     "the velocity", atol=1e-6, rtol=1e-6)
        n += 1
    return n
