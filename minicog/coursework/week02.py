"""Week 2: rectified flow — the checks of the notebook's graded exercises."""
from __future__ import annotations

import math
from typing import Callable

import torch
import torch.nn as nn

from .. import rectified_flow as rf
from ..checking import assert_close, call, case, exercise
from ._common import _gen, _randn, _toy_velocity

__all__ = ["check_interpolate", "check_rf_loss", "check_euler_step", "check_heun_step"]


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


class _ToyVelocityModel(nn.Module):
    """A velocity model f(x, t) with trainable parameters, nonlinear in x and t, for x of any shape;
    t must be a (B,) tensor, one time per sample (as `rf_loss` gives the model)."""

    def __init__(self, seed: int):
        super().__init__()
        a, b, c = (torch.rand(3, generator=_gen(seed)) + 0.5).tolist()
        self.a, self.b, self.c = (nn.Parameter(torch.tensor(v)) for v in (a, b, c))
        self.__name__ = "toy_model"                                  # how a case names it

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        if not torch.is_tensor(t) or tuple(t.shape) != (x.shape[0],):
            got = tuple(t.shape) if torch.is_tensor(t) else type(t).__name__
            raise ValueError(f"the model takes t as a (B,) tensor, one time per sample (B = {x.shape[0]}); "
                             f"got {got}")
        tt = t.reshape(-1, *([1] * (x.ndim - 1)))
        return torch.sin(self.a * x + 2 * tt) * (1 + self.b * tt) - self.c * x * (1 - tt)


def _mse(model: Callable, x: torch.Tensor, t: torch.Tensor, target: torch.Tensor) -> float:
    return float(((model(x, t) - target) ** 2).mean())


def _loss_mistakes(model: Callable, x0, noise, t) -> list[tuple[float, str]]:
    """(the loss value, what went wrong) for the likely mistakes, in the order they are tested."""
    B, n = x0.shape[0], x0.numel()
    with torch.no_grad():
        tt = t.reshape(-1, *([1] * (x0.ndim - 1)))
        x_t, x_swap, v = rf.interpolate(x0, noise, t), tt * x0 + (1 - tt) * noise, noise - x0
        want = _mse(model, x_t, t, v)
        return [
            (_mse(model, x_t, t, -v), "it equals the loss with the target velocity pointing the wrong way: "
             "x_t moves from the data (t = 0) towards the noise (t = 1) as t grows"),
            (_mse(model, x_swap, t, v), "it equals the loss with t and 1 − t swapped in the path: at t = 0 "
             "the point must be the data, at t = 1 the noise"),
            (_mse(model, x_swap, t, -v), "it equals the loss of the path that runs from noise at t = 0 to "
             "data at t = 1; in minicog t = 0 is data and t = 1 is noise"),
            (want * n, "it is the sum of the squared errors; the loss is their mean over every element"),
            (want * B, "it is summed over the batch (B times the mean); average over the batch too"),
            (want * n / B, "it sums each sample's squared errors and averages only over the batch; "
             "take the mean over every element"),
            (_mse(model, x0, t, v), "it equals the loss with the model evaluated at the clean x0; evaluate "
             "it at the point on the path at time t"),
            (_mse(model, x_t, 1 - t, v), "it equals the loss with the model given 1 − t instead of t"),
            (want ** 0.5, "it is the square root of the mean squared error; return the mean itself"),
            (float((model(x_t, t) - v).abs().mean()), "it is the mean absolute error; square the errors"),
        ]


def _assert_loss(got, want: torch.Tensor, where: str, mistakes: list[tuple[float, str]], B: int) -> None:
    """The student's loss: a 0-dim tensor that gradients flow through, equal to minicog's value;
    when it is not, say which likely mistake it matches."""
    if not isinstance(got, torch.Tensor):
        kind = "a Python number (don't call .item() or float() on it)" if isinstance(got, (int, float)) \
            else f"a {type(got).__name__}"
        raise AssertionError(f"{where}: the loss should be a 0-dim torch tensor that gradients flow "
                             f"through (training calls .backward() on it), got {kind}")
    if got.ndim != 0:
        hint = "one loss per sample; the training loss is one number: average over the batch too" \
            if tuple(got.shape) == (B,) else "the loss is one number, the mean over the whole batch"
        raise AssertionError(f"{where}: the loss has shape {tuple(got.shape)}, expected a 0-dim tensor "
                             f"(shape ()) — {hint}")
    if got.grad_fn is None:
        raise AssertionError(f"{where}: no gradient flows from your loss back to the model's parameters "
                             "(was it computed under torch.no_grad(), or detached?)")
    value, expected = float(got.detach()), float(want)
    if math.isclose(value, expected, rel_tol=1e-5, abs_tol=1e-6):
        return
    why = next((w for v, w in mistakes if math.isclose(value, v, rel_tol=1e-4, abs_tol=1e-6)), None)
    raise AssertionError(f"{where}: the loss is {value:.6g}, expected {expected:.6g}"
                         + (f" — {why}" if why else ""))


@exercise("rf_loss", "minicog.rectified_flow.rf_loss", forbid=(rf.rf_loss, rf.velocity_target))
def check_rf_loss(rf_loss: Callable) -> int:
    """rf_loss(model, x0, noise, t) -> the scalar rectified-flow training loss of a velocity model
    `model(x, t)` (t of shape (B,)), vs `minicog.rectified_flow.rf_loss`, on toy models with
    parameters; names the likely mistake (wrong sign, t and 1 − t swapped, sum, per-sample, ...)."""
    cases = [((4, 2), torch.tensor([0.0, 0.25, 0.5, 1.0])), ((3, 2, 4, 4), None), ((2, 4, 3, 2, 2), None),
             ((1, 3), torch.tensor([0.7])), ((6, 5), None)]
    for n, (shape, t) in enumerate(cases):
        model = _ToyVelocityModel(n)
        x0, noise = _randn(*shape, seed=2 * n), _randn(*shape, seed=2 * n + 1)
        t = torch.rand(shape[0], generator=_gen(10 + n)) if t is None else t
        with torch.no_grad():
            want = rf.rf_loss(lambda x, tt, cond: model(x, tt), x0, t=t, noise=noise)
        where = case("rf_loss", model, x0, noise, t)
        got = call(rf_loss, where, model, x0, noise, t)
        _assert_loss(got, want, where, _loss_mistakes(model, x0, noise, t), shape[0])
    return len(cases)


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
