"""minicog.diagrams: shapes traced with forward hooks in call order; a chain drawn with one box per stage."""
import matplotlib
import pytest
import torch
import torch.nn as nn

from minicog import diagrams

matplotlib.use("Agg")


def test_trace_shapes_records_each_call_in_order():
    seq = nn.Sequential(nn.Conv2d(3, 8, 3, 2, 1), nn.ReLU(), nn.Conv2d(8, 16, 3, 2, 1))
    assert diagrams.trace_shapes(seq, torch.randn(2, 3, 32, 32)) == [
        ("0", (2, 8, 16, 16)), ("1", (2, 8, 16, 16)), ("2", (2, 16, 8, 8))]
    conv = nn.Conv1d(1, 1, 1)
    twice = diagrams.trace_shapes(lambda x: conv(conv(x)[..., :2]), torch.randn(1, 1, 5), modules={"c": conv})
    assert twice == [("c", (1, 1, 5)), ("c", (1, 1, 2))]
    assert not conv._forward_hooks                                   # hooks removed afterwards


def test_shape_text_and_draw_chain():
    assert diagrams.shape_text((1, 16, 5, 8, 8)) == "(1, 16, 5, 8, 8)"
    assert diagrams.shape_text(torch.zeros(1, 2, 3), "BCT") == "B1 C2 T3"
    with pytest.raises(ValueError, match="3 dimensions"):
        diagrams.shape_text((1, 2, 3), "BC")
    fig = diagrams.draw_chain(list("abcdefg"), list("123456"), per_row=4)
    ax = fig.axes[0]
    assert len(ax.patches) == 7 + 6                                   # boxes and arrows
    assert {t.get_text() for t in ax.texts} >= set("abcdefg") | set("123456")
    with pytest.raises(ValueError, match="3 boxes need 2 arrow labels"):
        diagrams.draw_chain(list("abc"), ["x"])
