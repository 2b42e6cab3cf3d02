"""Full oracle measure of a text-to-video model on the Shapes world.

    python benchmarks/eval_tiny_t2v.py                      # the shipped tiny model, 216 prompts
    python benchmarks/eval_tiny_t2v.py --seeds 2            # 432 videos (2 unseen seeds per prompt)
    python benchmarks/eval_tiny_t2v.py --model runs/holdout # + accuracy on held-out combinations
    python benchmarks/eval_tiny_t2v.py --objects 2          # 300 sampled two-object prompts
    python benchmarks/eval_tiny_t2v.py --korean             # the 216 prompts in Korean

Every one of the 216 attribute combinations is prompted with its canonical caption (or, with
`--objects 2`, `--prompts` two-object scenes drawn from the 6480, each named in a random order) and
seeds never used in training; the oracle (`minicog.shapes.evaluate`) reads every object's colour,
shape and direction and the background back off each video. Prints per-attribute and whole-prompt
accuracy (for two objects also per object, binding errors — the right attributes on the wrong
object — and wrong object counts), the most common confusions, and — when the run held scenes out
of training (`holdout` in its train config) — the accuracy on held-out versus seen scenes
(compositional generalisation). `--korean` prompts with the Korean captions (the same oracle reads
the videos); `--strict` reads one-object prompts' videos for a second object too. Timing: seconds
per video, and the share spent in the VAE decoder measured in the same run.
"""
from __future__ import annotations

import argparse
import collections
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]

from minicog import shapes  # noqa: E402
from minicog.pipeline import load_pipeline  # noqa: E402
from minicog.utils import asset_folder  # noqa: E402


def holdout_of(model: str) -> list[str]:
    folder = asset_folder(model)
    for name in ("train_config.json", "train_info.json"):
        f = folder / name
        if f.is_file():
            cfg = json.loads(f.read_text())
            return list(cfg.get("config", cfg).get("holdout", []))
    return []


def prompt_scenes(objects: int, n: int = 300, seed: int = 0) -> list[shapes.Scene]:
    """The scenes prompted: all 216 one-object scenes, or `n` two-object scenes drawn without
    replacement from the 6480 (fixed by `seed`), each named in a random order."""
    return shapes.all_scenes(1) if objects == 1 else shapes.sample_scenes(n, seed)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="tiny")
    p.add_argument("--seeds", type=int, default=1, help="unseen seeds per prompt")
    p.add_argument("--seed-base", type=int, default=500_000)
    p.add_argument("--steps", type=int)
    p.add_argument("--guidance", type=float)
    p.add_argument("--method", choices=("euler", "heun"))
    p.add_argument("--shift", type=float, help="timestep shift (rectified_flow.shift_time; default the pipeline's)")
    p.add_argument("--batch", type=int, default=54)
    p.add_argument("--device", default="cpu")
    p.add_argument("--objects", type=int, choices=(1, 2), default=1,
                   help="1: all 216 one-object prompts; 2: --prompts sampled two-object prompts")
    p.add_argument("--prompts", type=int, default=300, help="two-object prompts (with --objects 2)")
    p.add_argument("--korean", action="store_true", help="prompt in Korean (shapes.KOREAN)")
    p.add_argument("--strict", action="store_true",
                   help="an extra object in a one-object prompt's video is an error (shapes.Oracle)")
    p.add_argument("--json", help="also write the results here")
    args = p.parse_args(argv)

    pipe = load_pipeline(args.model, device=args.device)
    scenes = prompt_scenes(args.objects, args.prompts)
    prompts, seeds = [], []
    for s in range(args.seeds):
        for i, scene in enumerate(scenes):
            prompts.append(scene.caption(language="ko" if args.korean else "en"))
            seeds.append(args.seed_base + 1000 * s + i)
    t0 = time.time()
    videos = pipe.generate(prompts, seed=seeds, steps=args.steps, guidance=args.guidance,
                           method=args.method, shift=args.shift, batch_size=args.batch, progress=True)
    sec = (time.time() - t0) / len(prompts)
    z = torch.randn(args.batch, *pipe.latent_shape())
    t1 = time.time()
    pipe.decode_latents(z)
    decode_sec = (time.time() - t1) / args.batch

    report = shapes.evaluate(videos, prompts, strict=args.strict)
    print(f"model={args.model} steps={args.steps or pipe.config.steps} "
          f"guidance={args.guidance or pipe.config.guidance} shift={args.shift or pipe.config.shift} videos={len(videos)} "
          f"({args.seeds} unseen seed(s) per prompt; {args.objects} object(s); "
          f"{'Korean' if args.korean else 'English'}{'; strict' if args.strict else ''})")
    print(report.table())
    confusions = report.confusions()
    if confusions:
        print("most common errors (attribute: wanted -> read):")
        for (a, want, got), n in confusions.most_common(8):
            print(f"  {a}: {want} -> {got}  x{n}")
    results = dict(model=args.model, n=report.n, objects=args.objects, korean=args.korean,
                   strict=args.strict, prompt_accuracy=report.prompt_accuracy,
                   per_attribute=report.per_attribute, per_object=report.per_object,
                   binding_errors=report.binding_errors, count_errors=report.count_errors, sec_per_video=sec,
                   correct=[bool(c) for c in report.correct])     # per prompt, in order: for paired comparisons
    held = {shapes.parse_caption(h) for h in holdout_of(args.model)}
    if held & set(scenes):
        split = collections.defaultdict(list)
        for t, ok in zip(report.targets, report.correct):
            split["held-out" if t in held else "seen"].append(ok)
        print(f"compositional generalisation ({len(held & set(scenes))} of these scenes never trained on):")
        for name in ("seen", "held-out"):
            print(f"  {name:<9} prompt accuracy {100 * np.mean(split[name]):5.1f}%  (n={len(split[name])})")
        results["seen_accuracy"] = float(np.mean(split["seen"]))
        results["heldout_accuracy"] = float(np.mean(split["held-out"]))
    print(f"time: {sec:.3f}s per video on {pipe.device} "
          f"(VAE decode {decode_sec:.3f}s = {100 * decode_sec / sec:.0f}% of it, measured in this run)")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
