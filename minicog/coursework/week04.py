"""Week 4: expert transformer — the checks of the notebook's graded exercises."""
from __future__ import annotations

from typing import Callable

import torch

from .. import rope
from ..checking import assert_close, call, case, exercise
from ..dit import ExpertAdaLayerNorm

from ._common import _randn

__all__ = ["check_expert_adaln", "check_rope_axis_dims", "check_rope_1d", "check_apply_rope"]


@exercise("expert_adaln", "minicog.dit.ExpertAdaLayerNorm", forbid=(ExpertAdaLayerNorm.forward,))
def check_expert_adaln(expert_adaln: Callable) -> int:
    """expert_adaln(text, video, cond, norm, linear) -> ([text | video] modulated, (gate_t, gate_v)),
    vs `minicog.dit.ExpertAdaLayerNorm`."""
    n = 0
    for B, L, N, D, cond_dim in [(2, 3, 5, 8, 4), (1, 7, 12, 16, 6), (2, 0, 4, 8, 4)]:
        torch.manual_seed(n)
        eln = ExpertAdaLayerNorm(D, cond_dim)
        text, video, cond = _randn(B, L, D, seed=n), _randn(B, N, D, seed=n + 1), _randn(B, cond_dim, seed=n + 2)
        with torch.no_grad():
            where = case("expert_adaln", text, video, cond, eln.norm, eln.linear)
            assert_close(call(expert_adaln, where, text, video, cond, eln.norm, eln.linear),
                         eln(text, video, cond), where, "(h, (gate_t, gate_v))")
        n += 1
    return n


@exercise("rope_axis_dims", "minicog.rope.rope_axis_dims", forbid=(rope.rope_axis_dims,))
def check_rope_axis_dims(rope_axis_dims: Callable[[int], tuple]) -> int:
    """rope_axis_dims(head_dim) -> (t, h, w) channels: d/4, 3d/8, 3d/8."""
    dims = list(range(8, 129, 8))
    for d in dims:
        where = case("rope_axis_dims", d)
        got = call(rope_axis_dims, where, d)
        assert_close(tuple(got) if isinstance(got, list) else got, rope.rope_axis_dims(d), where)
    return len(dims)


@exercise("rope_1d", "minicog.rope.rope_1d", forbid=(rope.rope_1d,))
def check_rope_1d(rope_1d: Callable) -> int:
    """rope_1d(dim, pos, theta) -> (cos, sin) tables (len(pos), dim), each frequency repeated for its
    channel pair, vs `minicog.rope.rope_1d`."""
    n = 0
    for dim, pos, theta in [(4, torch.arange(3), 10000.0), (16, torch.arange(13), 10000.0),
                            (24, torch.tensor([0, 5, 2]), 10000.0), (8, torch.arange(6), 100.0)]:
        where = case("rope_1d", dim, pos, theta=theta)
        assert_close(call(rope_1d, where, dim, pos, theta=theta), rope.rope_1d(dim, pos, theta), where,
                     "(cos, sin)", atol=1e-5, rtol=1e-4)
        n += 1
    return n


@exercise("apply_rope", "minicog.rope.apply_rope_real", forbid=(rope.apply_rope_real, rope.apply_rope))
def check_apply_rope(apply_rope: Callable) -> int:
    """apply_rope(x (..., S, d), cos, sin) -> x·cos + rotate_pairs(x)·sin, vs `rope.apply_rope_real`."""
    n = 0
    for shape, d in [((3, 4), 4), ((2, 2, 6, 8), 8), ((1, 1, 5, 16), 16)]:
        x = _randn(*shape, seed=n)
        cos, sin = rope.rope_1d(d, torch.arange(shape[-2]))
        where = case("apply_rope", x, cos, sin)
        assert_close(call(apply_rope, where, x, cos, sin), rope.apply_rope_real(x, cos, sin), where)
        n += 1
    return n
