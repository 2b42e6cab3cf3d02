"""The lectures' block diagrams, drawn by code from the real modules: `trace_shapes` runs a model on a
real input with forward hooks and records the tensor shape each stage produced; `draw_chain` draws
stages as boxes left to right (wrapping into rows) with the shape on each arrow.

    stages = trace_shapes(vae.encoder, video, modules={"conv_in": ..., "down 1": ..., ...})
    draw_chain([name for name, _ in stages], [shape_text(s) for _, s in stages][:-1])

matplotlib is imported lazily (slow to import, needed only for figures).
"""
from __future__ import annotations

from typing import Any, Sequence

import torch
import torch.nn as nn

PALETTE = ("#dbe9f6", "#fde2c8", "#d9f0d3", "#ece2f0", "#fff2ae", "#f4cccc")


def shape_text(shape: Sequence[int] | torch.Tensor, names: str | None = None) -> str:
    """`(1, 16, 5, 8, 8)`, or with axis names ("BCTHW") `B1 C16 T5 H8 W8`."""
    dims = tuple(shape.shape if isinstance(shape, torch.Tensor) else shape)
    if names is None:
        return "(" + ", ".join(str(d) for d in dims) + ")"
    if len(names) != len(dims):
        raise ValueError(f"shape_text: {len(dims)} dimensions {dims} but {len(names)} names {names!r}")
    return " ".join(f"{n}{d}" for n, d in zip(names, dims))


def _first_tensor(out: Any) -> torch.Tensor | None:
    if isinstance(out, torch.Tensor):
        return out
    if isinstance(out, (tuple, list)):
        for o in out:
            t = _first_tensor(o)
            if t is not None:
                return t
    if isinstance(out, dict):
        return _first_tensor(list(out.values()))
    return getattr(out, "sample", None) if isinstance(getattr(out, "sample", None), torch.Tensor) else None


@torch.no_grad()
def trace_shapes(model: nn.Module | Any, *inputs: Any, modules: dict[str, nn.Module] | None = None,
                 **kwargs: Any) -> list[tuple[str, tuple[int, ...]]]:
    """Call `model(*inputs, **kwargs)` with forward hooks on `modules` (name -> submodule; default: the
    model's direct children) and return `[(name, shape of its output)]` in call order; a module called
    several times (e.g. once per chunk) appears each time. `model` may be any callable when `modules`
    is given."""
    if modules is None:
        if not isinstance(model, nn.Module):
            raise TypeError("trace_shapes: pass `modules` (name -> submodule) when `model` is not an nn.Module")
        modules = dict(model.named_children())
    if not modules:
        raise ValueError("trace_shapes: no modules to trace")
    seen: list[tuple[str, tuple[int, ...]]] = []
    handles = []
    for name, module in modules.items():
        def hook(_m, _inp, out, name=name):
            t = _first_tensor(out)
            if t is not None:
                seen.append((name, tuple(t.shape)))
        handles.append(module.register_forward_hook(hook))
    try:
        model(*inputs, **kwargs)
    finally:
        for h in handles:
            h.remove()
    return seen


def draw_chain(boxes: Sequence[str], arrows: Sequence[str] | None = None, *, colors: Sequence[int] | None = None,
               per_row: int = 5, title: str | None = None, ax=None, box_width: float = 2.2):
    """Boxes left to right, `per_row` to a row (the next row runs back right to left under it), an arrow
    from each box to the next labelled `arrows[i]` (the tensor passed on). `colors[i]`: an index into
    PALETTE (e.g. one colour per model). Returns the figure."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    n = len(boxes)
    arrows = list(arrows or [""] * max(n - 1, 0))
    if len(arrows) != max(n - 1, 0):
        raise ValueError(f"draw_chain: {n} boxes need {n - 1} arrow labels, got {len(arrows)}")
    colors = list(colors) if colors is not None else [0] * n
    rows = (n + per_row - 1) // per_row
    gap, bw, bh, rh = 1.5, box_width, 1.0, 2.4
    if ax is None:
        fig, ax = plt.subplots(figsize=(min(per_row, n) * (bw + gap) * 0.8, rows * 1.9 + (0.3 if title else 0)))
    else:
        fig = ax.figure

    def xy(i: int) -> tuple[float, float]:            # rows snake: odd rows run right to left
        r, c = divmod(i, per_row)
        c = per_row - 1 - c if r % 2 else c
        return c * (bw + gap), -r * rh

    for i, label in enumerate(boxes):
        x, y = xy(i)
        ax.add_patch(FancyBboxPatch((x, y), bw, bh, boxstyle="round,pad=0.05,rounding_size=0.12",
                                    fc=PALETTE[colors[i] % len(PALETTE)], ec="0.3", lw=1))
        ax.text(x + bw / 2, y + bh / 2, label, ha="center", va="center", fontsize=8.5)
    for i, label in enumerate(arrows):
        (x0, y0), (x1, y1) = xy(i), xy(i + 1)
        if y0 == y1:                                        # along a row
            right = x1 > x0
            a = (x0 + bw if right else x0, y0 + bh / 2)
            b = (x1 if right else x1 + bw, y1 + bh / 2)
            text_at, va = ((a[0] + b[0]) / 2, y0 + bh + 0.05), "bottom"
        else:                                               # down to the next row
            a, b = (x0 + bw / 2, y0 - 0.05), (x1 + bw / 2, y1 + bh + 0.05)
            text_at, va = ((x0 + bw / 2) + 0.1, (y0 + y1 + bh) / 2), "center"
        ax.add_patch(FancyArrowPatch(a, b, arrowstyle="-|>", mutation_scale=12, color="0.25"))
        if label:
            ax.text(*text_at, label, ha="center" if y0 == y1 else "left", va=va, fontsize=7.5, color="0.1",
                    family="monospace", bbox=dict(fc="white", ec="none", alpha=0.8, pad=0.5))
    ax.set_xlim(-0.3, min(per_row, n) * (bw + gap) - gap + 0.3)
    ax.set_ylim(-(rows - 1) * rh - 0.3, bh + 0.6)
    ax.set_aspect("equal")
    ax.axis("off")
    if title:
        ax.set_title(title, fontsize=10)
    return fig
