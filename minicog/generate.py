"""Command line: prompt in, GIF/MP4 out.

    python -m minicog.generate "a red circle moving left on a black background" --out out.gif
    python -m minicog.generate "a blue square moving up on a white background" --seed 3 --out b.mp4
    python -m minicog.generate "..." --model runs/mine --steps 30 --guidance 5 --device cuda
"""
from __future__ import annotations

import argparse
import sys
import time
from typing import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m minicog.generate",
                                description="Generate a short video from a text prompt.")
    p.add_argument("prompt", nargs="+", help="the prompt (several prompts → out_0.gif, out_1.gif, ...)")
    p.add_argument("--out", default="out.gif", help="output file, .gif or .mp4 (default out.gif)")
    p.add_argument("--model", default="tiny", help="'tiny' (shipped) or a trained run folder")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--steps", type=int, help="sampling steps (default: the model's, 20 for tiny)")
    p.add_argument("--guidance", type=float, help="classifier-free guidance scale (default 4)")
    p.add_argument("--method", choices=("euler", "heun"), help="ODE solver (default euler)")
    p.add_argument("--fps", type=int, default=8)
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N")
    args = p.parse_args(argv)
    from pathlib import Path

    from .pipeline import load_pipeline
    from .video import save_video
    out = Path(args.out)
    if out.suffix.lower() not in (".gif", ".mp4"):
        p.error(f"--out must end in .gif or .mp4, got {args.out!r}")
    t0 = time.time()
    try:
        pipe = load_pipeline(args.model, device=args.device)
    except (FileNotFoundError, ValueError) as e:
        p.error(str(e))
    videos = pipe.generate(args.prompt, seed=args.seed, steps=args.steps, guidance=args.guidance,
                           method=args.method, progress=True)
    paths = [out] if len(videos) == 1 else [out.with_name(f"{out.stem}_{i}{out.suffix}")
                                            for i in range(len(videos))]
    for path, video, prompt in zip(paths, videos, args.prompt):
        save_video(video, path, fps=args.fps)
        print(f"{path}: {video.shape[0]} frames {video.shape[2]}x{video.shape[1]}  ← {prompt!r}")
    print(f"done in {time.time() - t0:.1f}s on {pipe.device}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
