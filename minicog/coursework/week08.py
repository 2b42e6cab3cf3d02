"""Week 8: FlowDirector — the checks of the notebook's graded exercises."""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F

from .. import flowdirector
from ..checking import assert_close, assert_close_or_mistake, call, case, exercise
from ._common import _gen, _randn

__all__ = ["check_safc_mask", "check_soften_edges", "check_dag"]


def _word_maps(R, T, H, W, seed):
    g = _gen(seed)
    maps = torch.rand(R, T, H, W, generator=g) * 0.2
    for r in range(R):                                             # a bright blob per map
        i, j = int(torch.randint(0, H, (1,), generator=g)), int(torch.randint(0, W, (1,), generator=g))
        maps[r, :, max(0, i - 1): i + 2, max(0, j - 1): j + 2] += 1.0
    return maps


def _safc_variant(maps, size, k, mode="nearest", threshold="mean", union=True, include_pad=False):
    """SAFC's binary union with one step done another way (the likely mistakes of `safc_mask`)."""
    a = F.interpolate(maps.float()[:, None], size=tuple(size), mode=mode)
    lo, hi = a.amin(dim=(2, 3, 4), keepdim=True), a.amax(dim=(2, 3, 4), keepdim=True)
    flat = (hi - lo) < 1e-12
    a = (a - lo) / (hi - lo).clamp_min(1e-12)
    s = F.avg_pool3d(a, (1, k, k), stride=1, padding=(0, k // 2, k // 2), count_include_pad=include_pad)
    on = (s > (s.mean(dim=(2, 3, 4), keepdim=True) if threshold == "mean" else threshold)) | flat
    return (on.any(dim=0) if union else on.all(dim=0))[0].float()


def _safc_mistakes(maps, size, k) -> list[tuple[torch.Tensor, str]]:
    return [
        (_safc_variant(maps, size, k, mode="trilinear"), "it matches smooth (trilinear) upsampling: the maps are "
         "upsampled by repeating each token's value (nearest), so that each token covers a block"),
        (_safc_variant(maps, size, k, threshold=0.5), "it matches a fixed threshold of 0.5: the authors' rule keeps "
         "what lies above each map's own mean"),
        (_safc_variant(maps, size, k, union=False), "it matches the intersection of the maps: a cell is on when "
         "*any* word's map turns it on (the union)"),
        (_safc_variant(maps, size, k, include_pad=True), "it matches a box filter that averages the zero padding "
         "too: at the frame's border only the pixels inside the frame count (count_include_pad=False)"),
    ]


@exercise("safc_mask", "minicog.flowdirector.attention_mask", forbid=(flowdirector.attention_mask,))
def check_safc_mask(safc_mask: Callable) -> int:
    """safc_mask(word_maps (R, T', H', W'), size (T, h, w), kernel) -> the binary union (T, h, w) float:
    nearest upsampling, min–max normalisation per map, a kernel×kernel box filter, > the map's mean,
    union over maps; vs `flowdirector.attention_mask(..., return_parts=True)[1]["union"]`; names the
    likely mistake (smooth upsampling, a fixed threshold, the intersection, padding counted)."""
    n = 0
    for (R, T, H, W), size, k in [((1, 2, 4, 4), (2, 8, 8), 3), ((2, 3, 4, 6), (3, 8, 12), 3),
                                  ((1, 1, 6, 6), (1, 6, 6), 1), ((3, 2, 3, 3), (2, 9, 9), 5)]:
        maps = _word_maps(R, T, H, W, n)
        want = flowdirector.attention_mask(maps, size, flowdirector.MaskRule(k, "mean"), return_parts=True)[1]["union"]
        where = case("safc_mask", maps, size, k)
        assert_close_or_mistake(call(safc_mask, where, maps, size, k), want, where, "the binary mask",
                                _safc_mistakes(maps, size, k))
        n += 1
    maps = torch.rand(2, 2, 3, 4, generator=_gen(9))                 # no blobs: every token its own level
    want = flowdirector.attention_mask(maps, (2, 9, 12), flowdirector.MaskRule(1, "mean"), return_parts=True)[1]["union"]
    where = case("safc_mask", maps, (2, 9, 12), 1)
    assert_close_or_mistake(call(safc_mask, where, maps, (2, 9, 12), 1), want, where, "the binary mask",
                            _safc_mistakes(maps, (2, 9, 12), 1))
    flat = torch.full((1, 2, 4, 4), 0.5)
    want = flowdirector.attention_mask(flat, (2, 4, 4), flowdirector.MaskRule(3, "mean"), return_parts=True)[1]["union"]
    where = case("safc_mask", "constant maps", (2, 4, 4), 3)
    assert_close(call(safc_mask, where, flat, (2, 4, 4), 3), want, where,
                 "the mask of a constant map (no contrast: all ones)")
    return n + 2


def _soft_variant(binary, decay, p=float("inf"), extra=0.0):
    """exp(−decay·(d + extra)) outside the mask with d the p-norm distance (p = inf: chessboard)."""
    T, h, w = binary.shape
    grid = torch.stack(torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij"), -1).reshape(-1, 2).double()
    out = torch.zeros(T, h, w, dtype=torch.float64)
    for f in range(T):
        on = binary[f].reshape(-1) > 0.5
        if on.any():
            d = torch.cdist(grid, grid[on], p=p).amin(1).reshape(h, w)
            out[f] = torch.where(d > 0, torch.exp(-decay * (d + extra)), torch.ones_like(d))
    return out.to(binary.dtype)


def _soften_mistakes(binary, decay) -> list[tuple[torch.Tensor, str]]:
    return [
        (_soft_variant(binary, decay, p=2.0), "it matches the Euclidean distance: the distance here is the "
         "chessboard distance (a diagonal neighbour is 1 away, as one 3×3 growth step reaches it)"),
        (_soft_variant(binary, decay, p=1.0), "it matches the city-block distance (4 neighbours): a diagonal "
         "neighbour is 1 away, not 2 (grow with a full 3×3 neighbourhood)"),
        (_soft_variant(binary, decay, extra=1.0), "it matches a distance one too large: the pixel next to the "
         "mask is at d = 1, so it gets exp(−decay)"),
    ]


@exercise("soften_edges", "minicog.flowdirector.soften_edges", forbid=(flowdirector.soften_edges,))
def check_soften_edges(soften_edges: Callable) -> int:
    """soften_edges(binary (T, h, w), decay) -> exp(−decay·d), d the chessboard distance to the mask
    within the frame (frames with no mask: 0), vs `minicog.flowdirector.soften_edges`; names the likely
    mistake (Euclidean or city-block distance, d off by one)."""
    n = 0
    b1 = torch.zeros(2, 6, 7)
    b1[0, 2:4, 3] = 1
    b2 = (torch.rand(3, 5, 5, generator=_gen(1)) > 0.85).float()
    b2[1] = 0                                                      # a frame with no mask
    for binary, decay in [(b1, 1.5), (b2, 0.7), (torch.ones(1, 3, 3), 2.0)]:
        where = case("soften_edges", binary, decay)
        assert_close_or_mistake(call(soften_edges, where, binary, decay), flowdirector.soften_edges(binary, decay),
                                where, "the soft mask", _soften_mistakes(binary, decay))
        n += 1
    return n


def _dag_mistakes(cands, n_worse, omega) -> list[tuple[torch.Tensor, str]]:
    better = cands.mean(0, keepdim=True)
    last, rest = cands[-n_worse:].mean(0, keepdim=True), cands[n_worse:].mean(0, keepdim=True)
    first = cands[:n_worse].mean(0, keepdim=True)
    return [
        (better + (omega - 1) * (better - last), "it matches V_worse made of the *last* n_worse candidates; v1 "
         "takes the first n_worse"),
        (better + (omega - 1) * (better - rest), "it matches V_worse made of the candidates *not* among the first "
         "n_worse; V_worse is the mean of the first n_worse"),
        (better + omega * (better - first), "it matches a guidance weight of ω: with ω = 1 DAG must be plain "
         "averaging, so the weight of (V_better − V_worse) is ω − 1"),
        (better + (omega - 1) * (first - better), "it matches the guidance pointing the wrong way: extrapolate "
         "from V_worse through V_better, away from V_worse"),
        (first + (omega - 1) * (first - better), "it matches V_better and V_worse swapped: V_better is the mean of "
         "all N"),
    ]


@exercise("dag", "minicog.flowdirector.differential_averaging (v1)", forbid=(flowdirector.differential_averaging,))
def check_dag(dag: Callable) -> int:
    """dag(candidates (N, ...), n_worse, omega) -> V = V_better + (ω − 1)·(V_better − V_worse), V_better
    the mean of all N, V_worse the mean of the first n_worse (v1), vs `differential_averaging`; names
    the likely mistake (the wrong subset, ω for ω − 1, the wrong sign, better and worse swapped)."""
    n = 0
    for N, n_worse, omega in [(4, 1, 3.0), (6, 3, 2.0), (10, 6, 3.0), (5, 2, 1.0)]:
        cands = _randn(N, 2, 3, 4, 4, seed=n)
        want = flowdirector.differential_averaging(cands, flowdirector.DAG(n_worse, omega, "v1"))[0]
        where = case("dag", cands, n_worse, omega)
        assert_close_or_mistake(call(dag, where, cands, n_worse, omega), want, where, "V",
                                _dag_mistakes(cands, n_worse, omega))
        n += 1
    return n
