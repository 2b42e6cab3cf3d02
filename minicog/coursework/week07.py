"""Week 7: editing — the checks of the notebook's graded exercises."""
from __future__ import annotations

from typing import Callable

import torch

from .. import rectified_flow as rf
from ..checking import assert_close, call, case, exercise
from ..editing import EditConfig, Prompts, editing_velocities

from ._common import _randn, _toy_velocity

__all__ = ["check_flowedit_step", "check_invert"]


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
