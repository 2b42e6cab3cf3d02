"""Week 1: DiT — the checks of the notebook's graded exercises."""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn as nn
import torch.nn.functional as F

from .. import rope
from ..checking import assert_close, call, case, exercise
from ..dit import ExpertAdaLayerNorm
from ..dit import patchify as _patchify

from ._common import _gen, _randn

__all__ = ["check_patchify", "check_timestep_embedding", "check_adaln_zero"]


@exercise("patchify", "minicog.dit.patchify", forbid=(_patchify,))
def check_patchify(patchify: Callable) -> int:
    """patchify(x (B, C, T, H, W), p, p_t) -> (B, N, C·p_t·p·p), vs `minicog.dit.patchify`."""
    n = 0
    for shape, p, p_t in [((2, 3, 4, 8, 6), 2, 1), ((1, 4, 4, 4, 4), 2, 2), ((1, 2, 3, 5, 7), 1, 1),
                          ((2, 16, 2, 6, 4), 2, 2)]:
        x = _randn(*shape, seed=n)
        where = case("patchify", x, p=p, p_t=p_t)
        assert_close(call(patchify, where, x, p=p, p_t=p_t), _patchify(x, p, p_t), where, atol=0, rtol=0)
        n += 1
    return n


@exercise("timestep_embedding", "minicog.rope.timestep_embedding", forbid=(rope.timestep_embedding,))
def check_timestep_embedding(timestep_embedding: Callable) -> int:
    """timestep_embedding(t (B,), dim) -> (B, dim), cos half first, vs `rope.timestep_embedding`."""
    n = 0
    for t, dim in [(torch.tensor([0.0, 1.0, 500.0, 999.0]), 8), (torch.tensor([250.5]), 64),
                   (torch.rand(5, generator=_gen(1)) * 1000, 32), (torch.tensor([0, 999]), 16)]:
        where = case("timestep_embedding", t, dim)
        assert_close(call(timestep_embedding, where, t, dim), rope.timestep_embedding(t, dim), where,
                     atol=1e-4, rtol=1e-4)
        n += 1
    return n


@exercise("adaln_zero", "minicog.dit.ExpertAdaLayerNorm + gated residual", forbid=(ExpertAdaLayerNorm.forward,))
def check_adaln_zero(adaln_zero: Callable) -> int:
    """adaln_zero(x, c, ada, norm, branch) -> x + α ⊙ branch(LN(x)(1 + γ) + β) with (β, γ, α) the
    three chunks of ada(silu(c)), vs minicog's `ExpertAdaLayerNorm` (video expert) and a gated
    residual; also: zero `ada` ⇒ the identity."""
    n = 0
    for B, N, D, cond_dim in [(2, 6, 16, 8), (1, 10, 32, 12)]:
        torch.manual_seed(n)
        eln = ExpertAdaLayerNorm(D, cond_dim)
        ada = nn.Linear(cond_dim, 3 * D)
        with torch.no_grad():
            ada.weight.copy_(eln.linear.weight[:3 * D])       # rows [0:3D]: the video expert (β, γ, α)
            ada.bias.copy_(eln.linear.bias[:3 * D])
        branch = nn.Sequential(nn.Linear(D, D), nn.GELU())
        x, c = _randn(B, N, D, seed=n), _randn(B, cond_dim, seed=n + 10)
        with torch.no_grad():
            h, (_, gate_v) = eln(x[:, :0], x, F.silu(c))
            want = x + gate_v * branch(h)
            where = case("adaln_zero", x, c, ada, eln.norm, branch)
            assert_close(call(adaln_zero, where, x, c, ada, eln.norm, branch), want, where)
        n += 1
        with torch.no_grad():
            nn.init.zeros_(ada.weight), nn.init.zeros_(ada.bias)
            where = case("adaln_zero", x, c, "ada = zeros", eln.norm, branch)
            assert_close(call(adaln_zero, where, x, c, ada, eln.norm, branch), x, where,
                         "the result with a zero-initialised ada (adaLN-Zero: the identity)")
        n += 1
    return n
