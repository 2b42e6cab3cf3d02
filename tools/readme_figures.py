"""The README's picture: a video the shipped tiny model generates and its FlowDirector edit, as a
frame strip, written to assets/readme/generate_and_edit.png.

    python tools/readme_figures.py            # a minute or two on a laptop CPU; fixed seeds

The oracle's reading of both videos is printed, so a change of model that breaks the picture shows.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import minicog
from minicog import shapes

SOURCE = "a red circle moving right and a blue square moving down on a black background"
TARGET = "a red circle moving right and a yellow square moving down on a black background"
SEED = 0
FRAMES = (0, 4, 8, 12, 16)          # of the 17 a clip has
SCALE = 2                           # 64 px frames drawn at 128 px (nearest neighbour)


def _big(frame: np.ndarray) -> np.ndarray:
    return frame.repeat(SCALE, axis=0).repeat(SCALE, axis=1)


def strip(rows: list[tuple[str, np.ndarray]], path: Path) -> None:
    """One labelled row of frames per video, written as a PNG without a time stamp."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    px = 64 * SCALE / 100                                   # a frame's side in inches at dpi 100
    gap, label, foot = 0.05, 0.24, 0.16                     # inches
    width = len(FRAMES) * (px + gap) + gap
    height = len(rows) * (label + px + foot)
    fig = plt.figure(figsize=(width, height))
    for r, (text, video) in enumerate(rows):
        top = height - r * (label + px + foot)
        fig.text(gap / width, (top - label / 2) / height, text, fontsize=8, va="center")
        for c, t in enumerate(FRAMES):
            ax = fig.add_axes(((gap + c * (px + gap)) / width, (top - label - px) / height, px / width, px / height))
            ax.imshow(_big(video[t]), interpolation="nearest")
            ax.set_xticks([]), ax.set_yticks([])
            ax.set_xlabel(f"frame {t}", fontsize=7, labelpad=1)
    fig.savefig(path, dpi=100, metadata={"Software": None})
    plt.close(fig)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="assets/readme", help="folder for the PNG")
    out = Path(ap.parse_args().out)
    out.mkdir(parents=True, exist_ok=True)
    # 1. generate, then edit the generated clip
    pipe = minicog.load_pipeline("tiny", device="cpu")
    video = pipe.generate(SOURCE, seed=SEED)
    edited = pipe.edit(video, source_prompt=SOURCE, target_prompt=TARGET, seed=SEED, method="flowdirector")
    # 2. what the oracle reads in each
    for name, v, prompt in (("generated", video, SOURCE), ("edited", edited, TARGET)):
        read = shapes.read_scene(v)
        verdict = "as prompted" if read == shapes.parse_caption(prompt) else "NOT as prompted"
        print(f"{name}: the oracle reads {str(read)!r} ({verdict})")
    # 3. the picture
    png = out / "generate_and_edit.png"
    strip([(f"generated: “{SOURCE}”", video),
           ("FlowDirector edit of it: “… a yellow square …” (the red circle is kept)", edited)], png)
    print(f"{png}: {png.stat().st_size / 1024:.0f} KB")


if __name__ == "__main__":
    main()
