"""Week 2: rectified flow — the checks of the notebook's graded exercises."""
from __future__ import annotations

from typing import Callable

import torch

from .. import rectified_flow as rf
from ..checking import assert_close, call, case, exercise
from ._common import _randn, _toy_velocity

__all__ = ["check_interpolate", "check_velocity_target", "check_euler_step", "check_heun_step"]


@exercise("interpolate", "minicog.rectified_flow.interpolate", forbid=(rf.interpolate,))
def check_interpolate(interpolate: Callable) -> int:
    """interpolate(x0, noise, t) -> x_t = (1 − t)·x0 + t·ε; t a float or a (B,) tensor."""
    n = 0
    x0, eps = _randn(4, 2, seed=0), _randn(4, 2, seed=1)
    cases = [0.0, 1.0, 0.3, torch.tensor([0.0, 0.25, 0.5, 1.0])]
    for t in cases:
        where = case("interpolate", x0, eps, t)
        assert_close(call(interpolate, where, x0, eps, t), rf.interpolate(x0, eps, t), where)
        n += 1
    x0, eps, t = _randn(3, 4, 5, 2, 2, seed=2), _randn(3, 4, 5, 2, 2, seed=3), torch.tensor([0.1, 0.6, 0.9])
    where = case("interpolate", x0, eps, t)
    assert_close(call(interpolate, where, x0, eps, t), rf.interpolate(x0, eps, t), where,
                 "the result (a (B,) t must broadcast over all of x's other dimensions)")
    return n + 1


@exercise("velocity_target", "minicog.rectified_flow.velocity_target", forbid=(rf.velocity_target,))
def check_velocity_target(velocity_target: Callable) -> int:
    """velocity_target(x0, noise) -> v = ε − x0."""
    n = 0
    for shape in [(4, 2), (2, 4, 3, 2, 2)]:
        x0, eps = _randn(*shape, seed=n), _randn(*shape, seed=n + 1)
        where = case("velocity_target", x0, eps)
        assert_close(call(velocity_target, where, x0, eps), rf.velocity_target(x0, eps), where)
        n += 1
    return n


def _check_step(step: Callable, name: str, method: str) -> int:
    n = 0
    velocity = _toy_velocity(0)
    for shape, t, t_next in [((4, 2), 1.0, 0.75), ((2, 3, 2, 2), 0.5, 0.0), ((3, 2), 0.0, 0.1)]:
        x = _randn(*shape, seed=n)
        want = rf.ode_step(velocity, x, torch.tensor(t), torch.tensor(t_next), method)[0]
        where = case(name, velocity, x, t, t_next)
        assert_close(call(step, where, velocity, x, t, t_next), want, where,
                     "the next state" + (" (this case integrates upwards, t → t_next > t)" if t_next > t else ""))
        n += 1
    return n


@exercise("euler_step", "minicog.rectified_flow.ode_step(method='euler')", forbid=(rf.ode_step,))
def check_euler_step(euler_step: Callable) -> int:
    """euler_step(velocity, x, t, t_next) -> x + (t_next − t)·v(x, t)."""
    return _check_step(euler_step, "euler_step", "euler")


@exercise("heun_step", "minicog.rectified_flow.ode_step(method='heun')", forbid=(rf.ode_step,))
def check_heun_step(heun_step: Callable) -> int:
    """heun_step(velocity, x, t, t_next): Euler predictor, then the average of the two slopes."""
    return _check_step(heun_step, "heun_step", "heun")
