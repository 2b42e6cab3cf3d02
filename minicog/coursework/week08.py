"""Week 8: FlowDirector — the checks of the notebook's graded exercises."""
from __future__ import annotations

from typing import Callable

import torch

from .. import flowdirector
from ..checking import assert_close, call, case, exercise
from ._common import _gen, _randn

__all__ = ["check_safc_mask", "check_soften_edges", "check_dag"]


def _word_maps(R, T, H, W, seed):
    g = _gen(seed)
    maps = torch.rand(R, T, H, W, generator=g) * 0.2
    for r in range(R):                                             # a bright blob per map
        i, j = int(torch.randint(0, H, (1,), generator=g)), int(torch.randint(0, W, (1,), generator=g))
        maps[r, :, max(0, i - 1): i + 2, max(0, j - 1): j + 2] += 1.0
    return maps


@exercise("safc_mask", "minicog.flowdirector.attention_mask", forbid=(flowdirector.attention_mask,))
def check_safc_mask(safc_mask: Callable) -> int:
    """safc_mask(word_maps (R, T', H', W'), size (T, h, w), kernel) -> the binary union (T, h, w) float:
    nearest upsampling, min–max normalisation per map, a kernel×kernel box filter, > the map's mean,
    union over maps; vs `flowdirector.attention_mask(..., return_parts=True)[1]["union"]`."""
    n = 0
    for (R, T, H, W), size, k in [((1, 2, 4, 4), (2, 8, 8), 3), ((2, 3, 4, 6), (3, 8, 12), 3),
                                  ((1, 1, 6, 6), (1, 6, 6), 1), ((3, 2, 3, 3), (2, 9, 9), 5)]:
        maps = _word_maps(R, T, H, W, n)
        want = flowdirector.attention_mask(maps, size, flowdirector.MaskRule(k, "mean"), return_parts=True)[1]["union"]
        where = case("safc_mask", maps, size, k)
        assert_close(call(safc_mask, where, maps, size, k), want, where, "the binary mask")
        n += 1
    flat = torch.full((1, 2, 4, 4), 0.5)
    want = flowdirector.attention_mask(flat, (2, 4, 4), flowdirector.MaskRule(3, "mean"), return_parts=True)[1]["union"]
    where = case("safc_mask", "constant maps", (2, 4, 4), 3)
    assert_close(call(safc_mask, where, flat, (2, 4, 4), 3), want, where,
                 "the mask of a constant map (no contrast: all ones)")
    return n + 1


@exercise("soften_edges", "minicog.flowdirector.soften_edges", forbid=(flowdirector.soften_edges,))
def check_soften_edges(soften_edges: Callable) -> int:
    """soften_edges(binary (T, h, w), decay) -> exp(−decay·d), d the chessboard distance to the mask
    within the frame (frames with no mask: 0), vs `minicog.flowdirector.soften_edges`."""
    n = 0
    b1 = torch.zeros(2, 6, 7)
    b1[0, 2:4, 3] = 1
    b2 = (torch.rand(3, 5, 5, generator=_gen(1)) > 0.85).float()
    b2[1] = 0                                                      # a frame with no mask
    for binary, decay in [(b1, 1.5), (b2, 0.7), (torch.ones(1, 3, 3), 2.0)]:
        where = case("soften_edges", binary, decay)
        assert_close(call(soften_edges, where, binary, decay), flowdirector.soften_edges(binary, decay), where,
                     "the soft mask")
        n += 1
    return n


@exercise("dag", "minicog.flowdirector.differential_averaging (v1)", forbid=(flowdirector.differential_averaging,))
def check_dag(dag: Callable) -> int:
    """dag(candidates (N, ...), n_worse, omega) -> V = V_better + (ω − 1)·(V_better − V_worse), V_better
    the mean of all N, V_worse the mean of the first n_worse (v1), vs `differential_averaging`."""
    n = 0
    for N, n_worse, omega in [(4, 1, 3.0), (6, 3, 2.0), (5, 2, 1.0)]:
        cands = _randn(N, 2, 3, 4, 4, seed=n)
        want = flowdirector.differential_averaging(cands, flowdirector.DAG(n_worse, omega, "v1"))[0]
        where = case("dag", cands, n_worse, omega)
        assert_close(call(dag, where, cands, n_worse, omega), want, where, "V")
        n += 1
    return n
