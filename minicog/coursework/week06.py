"""Week 6: sampling and guidance — the checks of the notebook's graded exercises."""
from __future__ import annotations

from typing import Callable

import torch

from .. import rectified_flow as rf
from ..checking import assert_close, call, case, exercise
from ._common import _gen, _randn, _toy_velocity

__all__ = ["check_guided_velocity", "check_time_grid", "check_euler_sample"]


def _toy_model(seed: int = 0):
    """A velocity model f(x, t (B,), cond) whose output depends on the condition (B, D)."""
    velocity = _toy_velocity(seed)

    def model(x, t, cond):
        return velocity(x, t) + cond.mean(-1).reshape(-1, *([1] * (x.ndim - 1))) * torch.cos(x)

    return model


@exercise("guided_velocity", "minicog.rectified_flow.guided_velocity", forbid=(rf.guided_velocity,))
def check_guided_velocity(guided_velocity: Callable) -> int:
    """guided_velocity(model, x, t, cond, uncond, guidance) -> v_u + g·(v_c − v_u) (g = 1: v_c alone,
    `uncond` may be None), vs `minicog.rectified_flow.guided_velocity`."""
    model = _toy_model(0)
    n = 0
    for B, g in [(2, 4.0), (1, 1.0), (3, 0.0), (2, 7.5)]:
        x, t = _randn(B, 3, 2, 2, seed=n), torch.rand(B, generator=_gen(n))
        cond, uncond = _randn(B, 5, seed=n + 1), torch.zeros(B, 5)
        u = None if g == 1.0 else uncond
        where = case("guided_velocity", model, x, t, cond, u, g)
        assert_close(call(guided_velocity, where, model, x, t, cond, u, g),
                     rf.guided_velocity(model, x, t, cond, u, g), where)
        n += 1
    return n


@exercise("time_grid", "minicog.rectified_flow.timesteps", forbid=(rf.timesteps,))
def check_time_grid(time_grid: Callable) -> int:
    """time_grid(steps, shift) -> (steps + 1,) times from 1 to 0, equal steps in the unshifted time
    mapped through t' = s·t / (1 + (s − 1)·t), vs `minicog.rectified_flow.timesteps`."""
    n = 0
    for steps, shift in [(4, 1.0), (10, 3.0), (1, 2.0), (7, 0.5)]:
        where = case("time_grid", steps, shift)
        assert_close(call(time_grid, where, steps, shift), rf.timesteps(steps, shift), where,
                     "the grid", atol=1e-6, rtol=1e-6)
        n += 1
    return n


@exercise("euler_sample", "minicog.rectified_flow.sample", forbid=(rf.sample,))
def check_euler_sample(euler_sample: Callable) -> int:
    """euler_sample(model, noise, cond, uncond, steps, guidance) -> x at t = 0, Euler with CFG on
    the uniform grid from 1 to 0, vs `minicog.rectified_flow.sample(method="euler")`."""
    model = _toy_model(1)
    n = 0
    for B, steps, g in [(1, 4, 1.0), (2, 10, 4.0), (1, 1, 2.0)]:
        noise, cond, uncond = _randn(B, 2, 3, 2, 2, seed=n), _randn(B, 4, seed=n + 1), torch.zeros(B, 4)
        want = rf.sample(model, noise, cond, uncond, steps=steps, guidance=g, progress=False)
        where = case("euler_sample", model, noise, cond, uncond, steps, g)
        assert_close(call(euler_sample, where, model, noise, cond, uncond, steps, g), want, where,
                     "the sample", atol=1e-4, rtol=1e-4)
        n += 1
    return n
