"""Week 3's figures of the causal VAE, drawn from the real modules on a real clip.

- `trace_levels(vae, x)`: the tensor shape after every level of the encoder and the decoder, traced
  with forward hooks (`minicog.diagrams.trace_shapes`) while `vae` encodes `x` and decodes the
  posterior mean; `draw_levels` draws each stage's tensor as a block as wide as its frames and as
  tall as its frame side, so the 4x in time and the 8x in space show level by level.
- `conv_calls(conv, run, source)`: every call of one `CausalConv3d` while `run()` runs (e.g. a
  frame-chunked `vae.encode`), with the source frame each of its input frames is a copy of and why
  it is there (copy of the first frame, conv cache, or the chunk's own frame); `draw_conv_cache`
  draws them on a time axis with the frames' thumbnails.

matplotlib is imported lazily (slow to import, needed only for figures).
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np
import torch
import torch.nn as nn

from .causal_vae import CausalConv3d, CausalVAE
from .diagrams import PALETTE, trace_shapes

ROLE_COLORS = {"copy": "0.55", "cache": "#e6550d", "chunk": "#3182bd"}
ROLE_NAMES = {"copy": "copy of the clip's first frame (the very first chunk has no past)",
              "cache": "conv cache: the last k − 1 input frames before the chunk",
              "chunk": "the chunk's own frames"}


def level_modules(vae: CausalVAE) -> dict[str, nn.Module]:
    """name -> submodule for each level of the encoder and the decoder, in call order."""
    enc, dec = vae.encoder, vae.decoder
    mods: dict[str, nn.Module] = {"encoder conv_in": enc.conv_in}
    mods.update({f"down {i + 1}": level for i, level in enumerate(enc.down)})
    mods.update({"encoder mid": enc.mid[-1], "encoder conv_out": enc.conv_out,
                 "decoder conv_in": dec.conv_in, "decoder mid": dec.mid[-1]})
    mods.update({f"up {i + 1}": level for i, level in enumerate(dec.up)})
    mods["decoder conv_out"] = dec.conv_out
    return mods


@torch.no_grad()
def trace_levels(vae: CausalVAE, x: torch.Tensor) -> list[tuple[str, tuple[int, ...]]]:
    """[(stage, shape)] from the input clip through every level down to the latent z (the posterior
    mean) and back up to the reconstruction, traced on `x` (B, 3, 1+4k, H, W)."""
    latents: list[torch.Tensor] = []

    def run(v):
        latents.append(vae.encode(v).mean)
        return vae.decode(latents[-1])

    stages = trace_shapes(run, x, modules=level_modules(vae))
    cut = [name for name, _ in stages].index("decoder conv_in")
    return [("input clip", tuple(x.shape))] + stages[:cut] + [("latent z", tuple(latents[0].shape))] + stages[cut:]


def _change(before: tuple[int, ...], after: tuple[int, ...]) -> str:
    """`T ÷2` / `HW ÷2`-style notes (one a line) of how a stage changed frames and frame size."""
    notes = []
    for what, a, b in (("T", before[2], after[2]), ("HW", before[3], after[3])):
        if a != b:
            notes.append(f"{what} ÷{(a - 1) // (b - 1) if what == 'T' else a // b}" if b < a else
                         f"{what} ×{(b - 1) // (a - 1) if what == 'T' else b // a}")
    return "\n".join(notes)


def draw_levels(stages: list[tuple[str, tuple[int, ...]]], ax=None, title: str | None = None):
    """Each stage's tensor (B, C, T, H, W) as a block `T` wide and `H` tall (one scale for both across
    the figure), its shape above and its name (and what it changed) below. Returns the figure."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    n = len(stages)
    if ax is None:
        fig, ax = plt.subplots(figsize=(max(8.0, 0.8 * n), 3.4))
    else:
        fig = ax.figure
    t_max = max(s[2] for _, s in stages)
    h_max = max(s[3] for _, s in stages)
    z_at = next((i for i, (name, _) in enumerate(stages) if name == "latent z"), n)
    for i, (name, shape) in enumerate(stages):
        _, c, t, h, w = shape
        width, height = 0.8 * t / t_max, 1.6 * h / h_max
        part = 4 if i in (0, n - 1) else 2 if i == z_at else 0 if i < z_at else 1
        ax.add_patch(Rectangle((i - width / 2, -height / 2), width, height, fc=PALETTE[part], ec="0.3", lw=0.8))
        ax.text(i, 0.9, f"C{c}\nT{t}\n{h}×{w}", ha="center", va="bottom", fontsize=7.5, family="monospace")
        note = _change(stages[i - 1][1], shape) if i else ""
        ax.text(i, -0.9, (name.replace(" ", "\n", 1) if len(name) > 8 else name) + (f"\n{note}" if note else ""), ha="center", va="top",
                fontsize=7.5, color="0.1", fontweight="bold" if note else "normal")
    ax.set_xlim(-0.6, n - 0.4)
    ax.set_ylim(-1.75, 1.7)
    ax.axis("off")
    if title:
        ax.set_title(title, fontsize=10)
    return fig


def _source_index(frame: torch.Tensor, source: torch.Tensor) -> int:
    """The index of the frame of `source` (B, C, T, H, W) that `frame` (B, C, H, W) is a copy of, -1 if none."""
    hits = [s for s in range(source.shape[2]) if torch.equal(frame, source[:, :, s])]
    return hits[0] if len(hits) == 1 else -1


@torch.no_grad()
def conv_calls(conv: CausalConv3d, run: Callable[[], Any], source: torch.Tensor) -> list[dict]:
    """Every call of `conv` while `run()` runs: `frames` (the source frame index of each frame that
    entered its convolution, past padding included; -1 where no single frame of `source` matches),
    `roles` ("copy" of the first frame, "cache", "chunk"), and its `output`."""
    calls: list[dict] = []

    def before(module, args):                       # the chunk, before the past padding is added
        calls.append({"chunk": args[0].shape[2], "cached": module.cache is not None})

    def padded(module, args, out):                  # what the convolution itself sees
        x, call = args[0], calls[-1]
        pad = x.shape[2] - call["chunk"]
        call["frames"] = [_source_index(x[:, :, j], source) for j in range(x.shape[2])]
        call["roles"] = ["cache" if call["cached"] else "copy"] * pad + ["chunk"] * call["chunk"]
        call["output"] = out.detach().clone()

    handles = [conv.register_forward_pre_hook(before), conv.conv.register_forward_hook(padded)]
    try:
        run()
    finally:
        for h in handles:
            h.remove()
    return calls


def draw_conv_cache(calls: list[dict], video: np.ndarray, ax=None, title: str | None = None):
    """One row per call of the conv, each input frame's thumbnail at its place on the time axis (a
    chunk's past k − 1 frames to the left of its first frame), framed by its role (ROLE_COLORS)
    and labelled with the source frame it is a copy of. `video`: uint8 (T, H, W, 3)."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch, Rectangle

    pad = len(calls[0]["frames"]) - calls[0]["chunk"]
    T = video.shape[0]
    if ax is None:
        fig, ax = plt.subplots(figsize=(0.62 * (T + pad) + 1.6, 0.8 * len(calls) + 1.3))
    else:
        fig = ax.figure
    start = 0
    for row, call in enumerate(calls):
        y = -1.25 * row
        for j, (s, role) in enumerate(zip(call["frames"], call["roles"])):
            x = start - pad + j
            if s >= 0:
                ax.imshow(video[s], extent=(x + 0.06, x + 0.94, y, y + 0.88))
            ax.add_patch(Rectangle((x + 0.03, y - 0.03), 0.94, 0.94, fill=False, ec=ROLE_COLORS[role], lw=2.2))
            ax.text(x + 0.5, y + 0.44, str(s) if s >= 0 else "?", ha="center", va="center", fontsize=8,
                    color="white", fontweight="bold")
        ax.text(start - pad - 0.3, y + 0.44, f"chunk {row}\nframes {start}–{start + call['chunk'] - 1}",
                ha="right", va="center", fontsize=8)
        start += call["chunk"]
    ax.set_xlim(-pad - 2.6, T + 0.2)
    ax.set_ylim(-1.25 * (len(calls) - 1) - 0.3, 1.2)
    ax.set_xticks([t + 0.5 for t in range(-pad, T)])
    ax.set_xticklabels([str(t) for t in range(-pad, T)], fontsize=7)
    ax.xaxis.set_ticks_position("top")
    ax.set_xlabel("time (frame index); a frame's number: the frame of the clip it is a copy of", fontsize=8)
    ax.xaxis.set_label_position("top")
    ax.set_yticks([])
    for side in ("left", "right", "bottom"):
        ax.spines[side].set_visible(False)
    roles = [r for r in ROLE_COLORS if any(r in c["roles"] for c in calls)]
    ax.legend(handles=[Patch(fc="white", ec=ROLE_COLORS[r], lw=2, label=ROLE_NAMES[r]) for r in roles],
              loc="upper center", bbox_to_anchor=(0.5, -0.02), ncol=len(roles), fontsize=7.5, frameon=False)
    if title:
        ax.set_title(title, fontsize=10, pad=26)
    return fig
