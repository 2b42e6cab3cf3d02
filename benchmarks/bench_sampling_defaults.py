"""Seconds per video of two sampling settings, interleaved in one run (A B A B), and their ratio.

    python benchmarks/bench_sampling_defaults.py                          # old defaults vs the shipped ones
    python benchmarks/bench_sampling_defaults.py --a 1 4 20 --b 2 2.5 20   # (shift, guidance, steps) each

The generation speed target compares one setting with another on the same machine; absolute times
move with the machine and what else runs on it, so both settings are timed in the same run, on the
same prompts and seeds, alternating, after a warm-up.
"""
from __future__ import annotations

import argparse
import time

import torch


from minicog import shapes  # noqa: E402
from minicog.pipeline import load_pipeline  # noqa: E402


def main(argv=None) -> float:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="tiny")
    ap.add_argument("--a", type=float, nargs=3, default=[1.0, 4.0, 20], metavar=("SHIFT", "GUIDANCE", "STEPS"))
    ap.add_argument("--b", type=float, nargs=3, default=None, metavar=("SHIFT", "GUIDANCE", "STEPS"),
                    help="default: the pipeline's own defaults")
    ap.add_argument("--prompts", type=int, default=108, help="one-object prompts (every 216/n-th combination)")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    pipe = load_pipeline(args.model, device="cpu")
    b = args.b or [pipe.config.shift, pipe.config.guidance, pipe.config.steps]
    combos = shapes.all_combinations()
    prompts = [shapes.caption(**c) for c in combos[::max(1, len(combos) // args.prompts)]][:args.prompts]
    seeds = [500_000 + i for i in range(len(prompts))]
    settings = {"A": args.a, "B": b}
    times = {k: [] for k in settings}
    pipe.generate(prompts[:8], seed=seeds[:8])                                       # warm-up
    for _ in range(args.repeats):
        for k, (shift, guidance, steps) in settings.items():
            t0 = time.time()
            pipe.generate(prompts, seed=seeds, shift=shift, guidance=guidance, steps=int(steps), batch_size=54)
            times[k].append((time.time() - t0) / len(prompts))
    for k, (shift, guidance, steps) in settings.items():
        print(f"{k}: shift {shift}, guidance {guidance}, {int(steps)} steps: "
              + " / ".join(f"{t:.3f}" for t in times[k]) + " s per video")
    ratio = (sum(times["B"]) / len(times["B"])) / (sum(times["A"]) / len(times["A"]))
    print(f"B / A = {ratio:.3f} ({len(prompts)} prompts, {args.repeats} interleaved repeats, {args.threads} threads)")
    return ratio


if __name__ == "__main__":
    main()
