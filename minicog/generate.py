"""Command line: prompt in, GIF/MP4 out.

    python -m minicog.generate "a red circle moving left on a black background" --out out.gif
    python -m minicog.generate "a blue square moving up on a white background" --seed 3 --out b.mp4
    python -m minicog.generate "..." --model runs/mine --steps 30 --guidance 5 --device cuda
    python -m minicog.generate "..." --render      # no model: draw the prompt with the Shapes world

Every mistake (a bad seed, fps, guidance, frame count or size, an output that is a folder, missing or
broken weights) ends with one line `error: ...` that says what was wrong, exit status 2, and no file
written.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Sequence

from .pipeline import load_pipeline
from .shapes import BACKGROUNDS, COLORS, DIRECTIONS, KOREAN, SHAPES, glue_words, render_caption, vocabulary
from .utils import asset_folder, read_json
from .video import check_fps, save_video


def _words() -> str:
    """The --help epilog: the words the shipped tiny model's text encoder knows (read from its config,
    so the list is the model's, not the Shapes world's), by kind."""
    try:
        known = set(read_json(asset_folder("tiny", "text_encoder") / "config.json")["vocab"])
    except (FileNotFoundError, ValueError, KeyError):
        known = set(vocabulary())
    kinds = [("colours", COLORS), ("shapes", SHAPES), ("directions", DIRECTIONS), ("backgrounds", BACKGROUNDS)]
    lines = [f"words the tiny model knows ({len(known)}):"]
    lines += [f"  {kind + ':':13s}{', '.join(w for w in (*names, *(KOREAN[n] for n in names)) if w in known)}"
              for kind, names in kinds]
    lines += [f"  {'other:':13s}{', '.join(w for w in glue_words() if w in known)}",
              'prompt form:   "a {colour} {shape} moving {direction} on a {background} background"']
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m minicog.generate",
                                description="Generate a short video from a text prompt.",
                                epilog=_words(), formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("prompt", nargs="+", help="the prompt (several prompts → out_0.gif, out_1.gif, ...)")
    p.add_argument("--out", default="out.gif", help="output file, .gif or .mp4 (default out.gif)")
    p.add_argument("--model", default="tiny", help="'tiny' (shipped) or a trained run folder")
    p.add_argument("--seed", type=int, default=0, help="an integer in [0, 2**64)")
    p.add_argument("--steps", type=int, help="sampling steps (default: the model's, 20 for tiny)")
    p.add_argument("--guidance", type=float, help="classifier-free guidance scale (default 4)")
    p.add_argument("--method", choices=("euler", "heun"), help="ODE solver (default euler)")
    p.add_argument("--frames", type=int, help="1 + 4k frames (default: the model's, 17 for tiny)")
    p.add_argument("--size", type=int, help="frame size in px, a multiple of 16 (default 64 for tiny)")
    p.add_argument("--fps", type=float, default=8, help="frames per second of the file, in (0, 100]")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N, mps")
    p.add_argument("--render", action="store_true",
                   help="no model: draw the prompt with the Shapes-world renderer (the ground truth)")
    args = p.parse_args(argv)
    try:
        return _run(args)
    except (ValueError, FileNotFoundError, IsADirectoryError) as e:
        p.exit(2, f"{p.prog}: error: {e}\n")


def _run(args) -> int:
    # 1. check what can be checked before loading anything
    out = Path(args.out)
    if args.prompt and len(args.prompt) > 1 and all(" " not in w for w in args.prompt):
        args.prompt = [" ".join(args.prompt)]          # an unquoted prompt: words → one prompt
    if out.suffix.lower() not in (".gif", ".mp4"):
        raise ValueError(f"--out must end in .gif or .mp4, got {args.out!r}")
    if out.is_dir():
        raise IsADirectoryError(f"--out {args.out!r} is a folder; give a file name such as "
                                f"{str(out / 'video.gif')!r}")
    check_fps(args.fps)
    t0 = time.time()
    # 2. the videos: from the model, or drawn by the Shapes world when asked for
    if args.render:
        videos = [render_caption(text, rng=args.seed) for text in args.prompt]
        device = "cpu (Shapes world renderer, no model)"
    else:
        try:
            pipe = load_pipeline(args.model, device=args.device)
        except FileNotFoundError as e:
            raise FileNotFoundError(f"{e}\n(the shipped weights come with the repository: `git checkout -- "
                                    "assets/tiny` restores them, `make train-tiny` re-trains them; "
                                    "--render draws the prompt without a model)") from e
        videos = pipe.generate(args.prompt, seed=args.seed, steps=args.steps, guidance=args.guidance,
                               method=args.method, frames=args.frames, size=args.size, progress=True)
        device = pipe.device
    # 3. write them
    paths = [out] if len(videos) == 1 else [out.with_name(f"{out.stem}_{i}{out.suffix}")
                                            for i in range(len(videos))]
    for path, video, prompt in zip(paths, videos, args.prompt):
        save_video(video, path, fps=args.fps)
        print(f"{path}: {video.shape[0]} frames {video.shape[2]}x{video.shape[1]}  ← {prompt!r}")
    print(f"done in {time.time() - t0:.1f}s on {device}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
