"""Full oracle measure of a text-to-video model on the Shapes world.

    python benchmarks/eval_tiny_t2v.py                      # the shipped tiny model, 216 prompts
    python benchmarks/eval_tiny_t2v.py --seeds 2            # 432 videos (2 unseen seeds per prompt)
    python benchmarks/eval_tiny_t2v.py --model runs/holdout # + accuracy on held-out combinations

Every one of the 216 attribute combinations is prompted with its canonical caption and seeds never
used in training; the oracle (`minicog.shapes.evaluate`) reads colour, shape, direction and
background back off each video. Prints per-attribute and whole-prompt accuracy, the most common
confusions, and — when the run held combinations out of training (`holdout` in its train config) —
the accuracy on held-out versus seen combinations (compositional generalisation). Timing: seconds
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
sys.path.insert(0, str(ROOT))

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


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="tiny")
    p.add_argument("--seeds", type=int, default=1, help="unseen seeds per prompt")
    p.add_argument("--seed-base", type=int, default=500_000)
    p.add_argument("--steps", type=int)
    p.add_argument("--guidance", type=float)
    p.add_argument("--method", choices=("euler", "heun"))
    p.add_argument("--batch", type=int, default=54)
    p.add_argument("--device", default="cpu")
    p.add_argument("--json", help="also write the results here")
    args = p.parse_args(argv)

    pipe = load_pipeline(args.model, device=args.device)
    combos = shapes.all_combinations()
    prompts, seeds = [], []
    for s in range(args.seeds):
        for i, c in enumerate(combos):
            prompts.append(shapes.caption(**c))
            seeds.append(args.seed_base + 1000 * s + i)
    t0 = time.time()
    videos = pipe.generate(prompts, seed=seeds, steps=args.steps, guidance=args.guidance,
                           method=args.method, batch_size=args.batch, progress=True)
    sec = (time.time() - t0) / len(prompts)
    z = torch.randn(args.batch, *pipe.latent_shape())
    t1 = time.time()
    pipe.decode_latents(z)
    decode_sec = (time.time() - t1) / args.batch

    report = shapes.evaluate(videos, prompts)
    print(f"model={args.model} steps={args.steps or pipe.config.steps} "
          f"guidance={args.guidance or pipe.config.guidance} videos={len(videos)} "
          f"({args.seeds} unseen seed(s) per combination)")
    print(report.table())
    confusions = collections.Counter()
    for _, target, pred in report.failures():
        for a in shapes.ATTRIBUTES:
            if pred[a] != target[a]:
                confusions[(a, target[a], pred[a])] += 1
    if confusions:
        print("most common errors (attribute: wanted -> read):")
        for (a, want, got), n in confusions.most_common(8):
            print(f"  {a}: {want} -> {got}  x{n}")
    results = dict(model=args.model, n=report.n, prompt_accuracy=report.prompt_accuracy,
                   per_attribute=report.per_attribute, sec_per_video=sec)
    held = {tuple(shapes.parse_caption(h)[a] for a in shapes.ATTRIBUTES) for h in holdout_of(args.model)}
    if held:
        key = lambda t: tuple(t[a] for a in shapes.ATTRIBUTES)            # noqa: E731
        split = collections.defaultdict(list)
        for t, ok in zip(report.targets, report.correct):
            split["held-out" if key(t) in held else "seen"].append(ok)
        print(f"compositional generalisation ({len(held)} combinations never trained on):")
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
