"""minicog.attention.separated_masks: the masks of separated attention, which the week-4 exercise and
notebook use, are exactly what `separated_attention` computes (and what bench_dit.py counts)."""
import importlib.util
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from minicog.attention import TokenLayout, separated_attention, separated_masks

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("grid,n_text", [((3, 2, 2), 2), ((1, 3, 4), 0), ((4, 2, 3), 5)])
def test_separated_attention_is_sdpa_with_the_masks(grid, n_text):
    torch.manual_seed(0)
    S = n_text + grid[0] * grid[1] * grid[2]
    q, k, v = torch.randn(3, 2, 3, S, 8).unbind(0)
    layout = TokenLayout(n_text=n_text, grid=grid, rope=None, key_mask=None)
    for kind, mask in zip(("spatial", "temporal"), separated_masks(*grid, n_text=n_text)):
        want = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        assert torch.allclose(separated_attention(q, k, v, layout, kind), want, atol=1e-5), kind


def test_masks_by_hand():
    spatial, temporal = separated_masks(2, 1, 2, n_text=1)       # text, then f0p0 f0p1 f1p0 f1p1
    assert spatial.tolist() == [[1, 1, 1, 1, 1], [1, 1, 1, 0, 0], [1, 1, 1, 0, 0],
                                [1, 0, 0, 1, 1], [1, 0, 0, 1, 1]]
    assert temporal.tolist() == [[1, 1, 1, 1, 1], [1, 1, 0, 1, 0], [1, 0, 1, 0, 1],
                                 [1, 1, 0, 1, 0], [1, 0, 1, 0, 1]]
    one_frame = separated_masks(1, 2, 3)
    assert one_frame[0].all() and torch.equal(one_frame[1], torch.eye(6, dtype=torch.bool))


def test_benchmark_counts_the_pairs_of_the_masks():
    spec = importlib.util.spec_from_file_location("bench_dit", ROOT / "benchmarks" / "bench_dit.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    for grid, n_text in [((5, 4, 4), 16), ((3, 2, 5), 0)]:
        spatial, temporal = separated_masks(*grid, n_text=n_text)
        S = spatial.shape[0]
        assert bench.attention_pairs(n_text, grid, "full") == S * S
        assert bench.attention_pairs(n_text, grid, "spatial") == spatial.sum()
        assert bench.attention_pairs(n_text, grid, "temporal") == temporal.sum()
