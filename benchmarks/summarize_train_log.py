"""Read a training run's `log.jsonl` (minicog.train writes one line every `log_every` steps) and print
its time per step by stage size, the pauses where latents were encoded, an estimate of the whole
preset's time from those rates, and — with `--compare` — its loss beside another run's loss curve
(e.g. the shipped model's `train_info.json`), step range by step range.

    python benchmarks/summarize_train_log.py docs/measurements/gpu_h200_2026-12-04/dit_log.jsonl \
        --compare assets/tiny/train_info.json

This is how docs/training.md's GPU figures were computed from the GPU run's log
(`bash benchmarks/gpu_recipe.sh OUTDIR`): a partial run, so the whole-preset time is an estimate from
the measured rates, and the latent encoding times come from the run's stdout."""
from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

from minicog.train_config import TrainConfig


def read_log(path: Path) -> list[dict]:
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    if len(rows) < 2:
        raise SystemExit(f"{path}: fewer than two logged steps; nothing to measure")
    return rows


def rates(rows: list[dict], pause: float) -> tuple[dict[int, float], list[tuple[int, float]]]:
    """Seconds per step for each stage size, and the gaps (step, seconds) longer than `pause` × the
    median interval: where the run stopped to encode latents (or was otherwise held up). The rate is
    the mean over the other intervals, so checkpoint writes are counted in it."""
    per: dict[int, list[float]] = {}
    for a, b in zip(rows, rows[1:]):
        per.setdefault(b["size"], []).append((b["sec"] - a["sec"]) / (b["step"] - a["step"]))
    median = {size: statistics.median(v) for size, v in per.items()}
    gaps, kept = [], {}
    for a, b in zip(rows, rows[1:]):
        n, dt = b["step"] - a["step"], b["sec"] - a["sec"]
        if dt > pause * median[b["size"]] * n:
            gaps.append((b["step"], dt - median[b["size"]] * n))
        else:
            kept.setdefault(b["size"], []).append(dt / n)
    return {size: statistics.mean(v) for size, v in kept.items()}, gaps


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("log", type=Path, help="a run's log.jsonl")
    p.add_argument("--compare", type=Path, help="a train_info.json whose loss_curve to set beside it")
    p.add_argument("--pause", type=float, default=5.0, help="a gap this many times the median is a pause")
    args = p.parse_args(argv)
    rows = read_log(args.log)
    median, gaps = rates(rows, args.pause)
    last = rows[-1]
    print(f"{args.log}: {last['step'] + 1} steps logged in {last['sec']:.0f} s "
          f"(first logged step {rows[0]['step'] + 1} at {rows[0]['sec']:.1f} s: setup and the first latents)")
    for size, s in sorted(median.items()):
        print(f"  {size} px: {s * 1000:.1f} ms per step (mean of the logged intervals, pauses left out)")
    for step, extra in gaps:
        print(f"  pause before step {step + 1}: {extra:.0f} s beyond the step rate")
    # the whole preset at these rates: the tiny preset's stages, the measured pauses, the start-up
    cfg = TrainConfig.tiny()
    steps = cfg.steps_per_size()
    missing = [size for size in steps if size not in median]
    if missing:
        raise SystemExit(f"no step at {missing[0]} px in the log; cannot estimate the preset")
    todo = sum(n * median[size] for size, n in steps.items())
    setup = rows[0]["sec"] - (rows[0]["step"] + 1) * median[rows[0]["size"]]
    total = todo + setup + sum(extra for _, extra in gaps)
    print(f"  the tiny preset ({cfg.steps} steps) at these rates: {todo / 60:.1f} min of steps + "
          f"{(setup + sum(e for _, e in gaps)) / 60:.1f} min of setup and latent encoding "
          f"= {total / 60:.1f} min (an estimate)")
    if args.compare:
        info = json.loads(args.compare.read_text())
        curve = info["loss_curve"]
        curve = json.loads(curve) if isinstance(curve, str) else curve
        print(f"  loss beside {args.compare} (its curve: mean per 100 steps; device {info.get('device')}):")
        edges = [0, 1000, 3000, 6000, 12000, 26000, 33000, 40000]
        for a, b in zip(edges, edges[1:]):
            if a > last["step"]:
                break
            b = min(b, last["step"] + 1)                 # only the steps this log covers
            mine = [r["loss"] for r in rows if a <= r["step"] < b]
            theirs = [loss for s, loss in curve if a < s <= b]
            if mine and theirs:
                m, t = statistics.mean(mine), statistics.mean(theirs)
                print(f"    steps {a:>5}–{b:<5} this log {m:.4f}  theirs {t:.4f}  ({100 * (m / t - 1):+.1f} %)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
