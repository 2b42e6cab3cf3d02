"""Command line: prompt in, GIF/MP4 out.

    python -m minicog.generate "a red circle moving left on a black background" --out out.gif
    python -m minicog.generate "a blue square moving up on a white background" --seed 3 --out b.mp4
    python -m minicog.generate "..." --model runs/mine --steps 30 --guidance 5 --device cuda
    python -m minicog.generate "..." --render      # no model: draw the prompt with the Shapes world

A prompt that names no background is completed the way every training caption reads ("... on a black
background") and the completed prompt is printed. More steps than the model samples with, or a
larger size, is said before it starts, with the time it will take. Every mistake (a bad seed, fps, guidance, frame count or size, an output that is a folder, missing or
broken weights) ends with one line `error: ...` that says what was wrong, exit status 2, and no file
written.
"""
from __future__ import annotations

import argparse
import re
import sys
import time
import warnings
from pathlib import Path
from typing import Sequence

from .pipeline import load_pipeline
from .pipeline import PipelineConfig
from .shapes import BACKGROUNDS, COLORS, DIRECTIONS, KOREAN, SHAPES, glue_words, render_caption, vocabulary
from .words import split_words
from .utils import asset_folder, read_json
from .video import check_fps, save_video

EXAMPLE = "a red circle moving left on a black background"
DEFAULT_BACKGROUND = next(iter(BACKGROUNDS))          # "black", the background of every example
_HANGUL = re.compile(r"[\uac00-\ud7a3]")
# the end of the "no known word" error on the command line (the pipeline's own hint is Python)
NO_WORD_HINT = (f'Try e.g. python -m minicog.generate "{EXAMPLE}"; '
                "`python -m minicog.generate --help` lists the words by kind.")


def _tiny_defaults() -> PipelineConfig:
    """The shipped tiny model's sampling defaults (assets/tiny/pipeline.json), for --help."""
    try:
        return PipelineConfig.from_dict(read_json(asset_folder("tiny") / "pipeline.json"))
    except (FileNotFoundError, ValueError):
        return PipelineConfig()


def complete_background(prompt: str) -> str:
    """`prompt`, completed the way every training caption reads when it names a colour, shape or
    direction but no background: "... on a black background" (Korean: "검정 배경 위에서 ...").
    Any other prompt is returned as it is (one naming nothing is refused later, with the vocabulary)."""
    words = set(split_words(prompt))
    named = {*COLORS, *SHAPES, *DIRECTIONS}
    named |= {KOREAN[w] for w in named}
    backgrounds = {*BACKGROUNDS, *(KOREAN[b] for b in BACKGROUNDS), "background", "배경"}
    if not words & named or words & backgrounds:
        return prompt
    if _HANGUL.search(prompt):
        return f"{KOREAN[DEFAULT_BACKGROUND]} 배경 위에서 {prompt.strip()}"
    return f"{prompt.strip()} on a {DEFAULT_BACKGROUND} background"


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min" if seconds < 5400 else f"{seconds / 3600:.1f} h"


def step_seconds(pipe, prompts: Sequence[str], guidance: float, method: str, frames: int | None = None,
                 size: int | None = None) -> float:
    """Seconds one sampling step of `prompts` takes on `pipe`'s device: one velocity call on the batch
    `generate` sends (conditional and unconditional halves when guidance != 1) timed, best of three
    (the first call also warms up), twice for Heun (two calls a step)."""
    n = len(prompts) * (1 if guidance == 1.0 else 2)
    z = pipe.noise(0, frames, size).repeat(n, 1, 1, 1, 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")                  # unknown words are reported by generate
        embeds, mask = pipe.encode_prompt((list(prompts) + [""] * len(prompts))[:n])
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        pipe.velocity(z, 0.5, embeds, mask).sum().item()   # .item() waits for an accelerator
        best = min(best, time.perf_counter() - t0)
    return best * (2 if method == "heun" else 1)


def _warn_steps(pipe, prompts: Sequence[str], args) -> None:
    """Say so, with the time it will take, when --steps is more than the model samples with."""
    cfg = pipe.config
    if args.steps is None or args.steps <= cfg.steps:
        return
    guidance = cfg.guidance if args.guidance is None else args.guidance
    method = cfg.method if args.method is None else args.method
    dt = step_seconds(pipe, prompts, guidance, method, args.frames, args.size)
    print(f"warning: --steps {args.steps} is {args.steps / cfg.steps:.3g}x the {cfg.steps} steps this model "
          f"samples with (its measured accuracy is at {cfg.steps}). One step takes {dt * 1000:.0f} ms here, "
          f"so sampling will take about {_duration(dt * args.steps)} (Ctrl-C stops it).", file=sys.stderr)


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Warnings on the command line: one line `warning: ...`, no source location."""
    print(f"warning: {message}", file=sys.stderr)


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
    tiny = _tiny_defaults()
    p = argparse.ArgumentParser(prog="python -m minicog.generate",
                                description="Generate a short video from a text prompt.",
                                epilog=_words(), formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("prompt", nargs="+", help="the prompt (several prompts → out_0.gif, out_1.gif, ...)")
    p.add_argument("--out", default="out.gif", help="output file, .gif or .mp4 (default out.gif)")
    p.add_argument("--model", default="tiny", help="'tiny' (shipped) or a trained run folder")
    p.add_argument("--seed", type=int, default=0, help="an integer in [0, 2**64)")
    p.add_argument("--steps", type=int, help=f"sampling steps (default: the model's, {tiny.steps} for tiny; "
                   "more is slower and warned)")
    p.add_argument("--guidance", type=float,
                   help=f"classifier-free guidance scale (default: the model's, {tiny.guidance:g} for tiny)")
    p.add_argument("--method", choices=("euler", "heun"),
                   help=f"ODE solver (default: the model's, {tiny.method} for tiny)")
    p.add_argument("--frames", type=int, help=f"1 + 4k frames (default: the model's, {tiny.frames} for tiny)")
    p.add_argument("--size", type=int,
                   help=f"frame size in px, a multiple of 16 (default: the model's, {tiny.size} for tiny)")
    p.add_argument("--fps", type=float, default=8, help="frames per second of the file, in (0, 100]")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N, mps")
    p.add_argument("--render", action="store_true",
                   help="no model: draw the prompt with the Shapes-world renderer (the ground truth)")
    args = p.parse_args(argv)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("default")
            warnings.showwarning = _show_warning
            return _run(args)
    except (ValueError, FileNotFoundError, IsADirectoryError) as e:
        p.exit(2, f"{p.prog}: error: {e}\n")
    except KeyboardInterrupt:
        p.exit(130, f"{p.prog}: stopped; no file written\n")


def _complete_prompts(args) -> None:
    """Complete each prompt that names no background (`complete_background`), and say so."""
    for i, prompt in enumerate(args.prompt):
        full = complete_background(prompt)
        if full != prompt:
            print(f"note: the prompt names no background and every training caption names one; generating "
                  f"{full!r} (name {', '.join(BACKGROUNDS)} to choose)", file=sys.stderr)
            args.prompt[i] = full


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
        _complete_prompts(args)
        videos = [render_caption(text, rng=args.seed) for text in args.prompt]
        device = "cpu (Shapes world renderer, no model)"
    else:
        try:
            pipe = load_pipeline(args.model, device=args.device)
        except FileNotFoundError as e:
            raise FileNotFoundError(f"{e}\n(the shipped weights come with the repository: `git checkout -- "
                                    "assets/tiny` restores them, `make train-tiny` re-trains them; "
                                    "--render draws the prompt without a model)") from e
        known = pipe.text_encoder.tokenizer.index
        if "background" in known and DEFAULT_BACKGROUND in known:      # a Shapes-world model
            _complete_prompts(args)
        pipe.text_encoder.tokenizer.check_known(args.prompt, ignore=glue_words(), hint=NO_WORD_HINT)
        _warn_steps(pipe, args.prompt, args)
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
