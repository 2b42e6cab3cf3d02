"""Week 7: editing — the checks of the notebook's graded exercises."""
from __future__ import annotations

from typing import Callable

import torch

from .. import rectified_flow as rf
from ..checking import assert_close, assert_close_or_mistake, call, case, exercise
from ..editing import EditConfig, Prompts, editing_velocities, random_noise_edit, time_grid

from ._common import _gen, _randn, _toy_velocity

__all__ = ["check_random_noise_start", "check_invert", "check_flowedit_step"]


def _edit_setup(seed: int, N: int):
    """A toy text-conditioned velocity `velocity(z, t (B,), emb (B, L, D), mask)` as FlowEdit calls it,
    three prompt embeddings (SRC, TAR, NEG) and the source latents and noise."""
    base = _toy_velocity(seed)

    def velocity(z, t, emb, mask=None):
        return base(z, t) + emb.mean(dim=(1, 2)).reshape(-1, *([1] * (z.ndim - 1))) * torch.cos(2 * z)

    prompts = Prompts(_randn(3, 4, 6, seed=seed), None, ("a red circle", "a blue circle", ""))
    x_src = _randn(1, 2, 3, 4, 4, seed=seed + 1)
    noise = _randn(N, 2, 3, 4, 4, seed=seed + 2)
    return velocity, prompts, x_src, noise


@exercise("flowedit_step", "minicog.editing.editing_velocities + an Euler step", forbid=(editing_velocities,))
def check_flowedit_step(flowedit_step: Callable) -> int:
    """flowedit_step(velocity_src, velocity_tar, x_src, z_edit, t, t_next, noise) -> the next Z_edit:
    Z_src = (1 − t)·X_src + t·ε_k, Z_tar = Z_src + Z_edit − X_src, V = mean_k [v_tar(Z_tar) − v_src(Z_src)],
    Z_edit + (t_next − t)·V; vs `minicog.editing.editing_velocities` (guidance 1)."""
    n = 0
    for N, t, t_next, moved in [(1, 0.7, 0.65, False), (3, 0.7, 0.65, True), (2, 0.35, 0.3, True)]:
        velocity, prompts, x_src, noise = _edit_setup(n, N)
        z_edit = x_src + (0.3 * _randn(*x_src.shape, seed=n + 5) if moved else 0)
        cfg = EditConfig(src_guidance=1.0, tar_guidance=1.0)
        V = editing_velocities(velocity, x_src, z_edit, t, noise, prompts, cfg)[0]
        want = z_edit + (t_next - t) * V.mean(0, keepdim=True)

        def v_src(z, tt, e=prompts.embeds[0:1], f=velocity):
            return f(z, torch.full((z.shape[0],), float(tt)), e.expand(z.shape[0], -1, -1))

        def v_tar(z, tt, e=prompts.embeds[1:2], f=velocity):
            return f(z, torch.full((z.shape[0],), float(tt)), e.expand(z.shape[0], -1, -1))

        where = case("flowedit_step", v_src, v_tar, x_src, z_edit, t, t_next, noise)
        assert_close(call(flowedit_step, where, v_src, v_tar, x_src, z_edit, t, t_next, noise), want, where,
                     "the next Z_edit", atol=1e-5, rtol=1e-4)
        n += 1
    return n


@exercise("invert", "minicog.rectified_flow.invert", forbid=(rf.invert,))
def check_invert(invert: Callable) -> int:
    """invert(velocity, x0, steps) -> x at t = 1: Euler upwards on the uniform grid 0 → 1, vs
    `minicog.rectified_flow.invert`."""
    velocity = _toy_velocity(3)
    n = 0
    for shape, steps in [((2, 3), 5), ((1, 2, 3, 4, 4), 10), ((1, 4), 1)]:
        x0 = _randn(*shape, seed=n)
        want = rf.invert(lambda x, t, c: velocity(x, t), x0, None, steps=steps, progress=False)
        where = case("invert", velocity, x0, steps)
        assert_close(call(invert, where, velocity, x0, steps), want, where, "the inverted latents",
                     atol=1e-4, rtol=1e-4)
        n += 1
    return n


def _euler(velocity: Callable, z: torch.Tensor, ts: list[float], at_end: bool = False) -> torch.Tensor:
    """Euler along the grid `ts` (either direction); `at_end`: the slope taken at each step's end."""
    for t, t_next in zip(ts[:-1], ts[1:]):
        z = z + (t_next - t) * velocity(z, t_next if at_end else t)
    return z


def _start_mistakes(v_src, v_tar, x_src, noise, t0: float, steps: int) -> list[tuple[torch.Tensor, str]]:
    """(what a likely mistake returns, what went wrong), in the order they are tested."""
    z0 = (1 - t0) * x_src + t0 * noise

    def grid(n, a=t0, b=0.0):
        return torch.linspace(a, b, n + 1, dtype=torch.float64).tolist()
    return [
        (_euler(v_src, z0, grid(steps)), "it equals the start regenerated with the *source* prompt; the "
         "random-noise start regenerates the clip with the target prompt"),
        (_euler(v_tar, z0, grid(steps, 0.0, t0)), "it equals Euler steps on a grid from t = 0 up to t0: the "
         "start runs from t0 down to t = 0 (the data)"),
        (_euler(v_tar, z0, grid(steps, 0.0, 1.0)), "it equals Euler steps from t = 0 up to t = 1, the way "
         "inversion runs: the start runs from t0 down to t = 0 (the data)"),
        (_euler(v_tar, z0, grid(steps, 1.0)), "it equals Euler steps on the grid from t = 1 to 0 (a fresh "
         "generation's grid); the noised clip is at time t0, so the grid starts there"),
        (_euler(lambda z, t: -v_tar(z, t), z0, grid(steps)), "it equals steps taken with the velocity's sign "
         "flipped: going down from t0 to 0 the time step t_next − t is negative"),
        (_euler(v_tar, x_src, grid(steps)), "it equals the target ODE started from the clean source latent "
         "x_src: the start first puts the clip at noise level t0, with the given noise"),
        (_euler(v_tar, t0 * x_src + (1 - t0) * noise, grid(steps)), "it equals the start with the clip and the "
         "noise weighted the wrong way round at t0 (t = 0 is the data, t = 1 the noise)"),
        (_euler(v_tar, noise, grid(steps)), "it equals the ODE started from the pure noise: at t0 < 1 the "
         "noised clip still holds part of the source"),
        (_euler(v_tar, z0, grid(steps - 1)) if steps > 1 else z0, f"it equals {steps - 1} Euler steps from t0 "
         f"to 0, one too few: {steps} steps need {steps + 1} grid points"),
        (_euler(v_tar, z0, grid(steps + 1)), f"it equals {steps + 1} Euler steps from t0 to 0, one too many"),
        (_euler(v_tar, z0, grid(steps)[:-1]), "it stops one step short of t = 0: the last step must end at "
         "the data"),
        (_euler(v_tar, z0, grid(steps), at_end=True), "it equals Euler steps that take the velocity at the end "
         "of each step (t_next); Euler takes it at the start (t)"),
    ]


@exercise("random_noise_start", "minicog.editing.random_noise_edit", forbid=(random_noise_edit, rf.sample))
def check_random_noise_start(random_noise_start: Callable) -> int:
    """random_noise_start(velocity, x_src, noise, c_src, c_tar, t0, steps) -> the edited latents: the
    random-noise start (SDEdit) — the clip noised to t0 with `noise`, then `steps` Euler steps of the
    target prompt's ODE on the uniform grid t0 → 0 — vs `minicog.editing.random_noise_edit` (guidance 1,
    no shift); t0 = 1 is plain generation from the noise. Names the likely mistake (source prompt,
    wrong direction, no noise, an off-by-one grid, ...)."""
    n = 0
    for total, n_max in [(10, 7), (5, 2), (4, 4), (3, 1)]:           # t0 = 0.7, 0.4, 1 (pure noise), 1/3
        toy, prompts, x_src, _ = _edit_setup(n, 1)
        noise = _randn(*x_src.shape, seed=n + 10)
        cfg = EditConfig(steps=total, n_max=n_max, tar_guidance=1.0)
        want = random_noise_edit(toy, x_src, prompts, cfg, _gen(n + 10))
        t0 = float(time_grid(cfg)[cfg.start_index])

        def velocity(z, t, c, f=toy):
            return f(z, torch.full((z.shape[0],), float(t)), c.expand(z.shape[0], -1, -1))
        c_src, c_tar = prompts.embeds[0:1], prompts.embeds[1:2]
        where = case("random_noise_start", velocity, x_src, noise, c_src, c_tar, t0, n_max)
        got = call(random_noise_start, where, velocity, x_src, noise, c_src, c_tar, t0, n_max)
        mistakes = _start_mistakes(lambda z, t: velocity(z, t, c_src), lambda z, t: velocity(z, t, c_tar),
                                   x_src, noise, t0, n_max)
        assert_close_or_mistake(got, want, where, "the edited latents", mistakes, atol=1e-4, rtol=1e-4)
        n += 1
    return n
