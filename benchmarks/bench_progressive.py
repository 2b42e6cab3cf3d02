"""Progressive resolution against high resolution only, at equal compute (notebook 05, §3).

    nice python benchmarks/bench_progressive.py                     # writes benchmarks/results/progressive.json
    python benchmarks/bench_progressive.py --budget 100 --seeds 0   # a one-minute smoke run

CogVideoX trains at low resolution first, then at high resolution ("progressive training"). Is that
better than spending the same compute at high resolution from the first step? Two short runs of the
`fast` preset's model (same seed, data, batch size, optimizer, mixture of durations) differ only in
the resolution of their stages:

- `progressive`: half the FLOP budget at 32 px, then the other half at 64 px;
- `high_only`:   the whole budget at 64 px.

The budget is `--budget` 64-px training steps' worth of FLOPs (each step's FLOPs counted by PyTorch's
`FlopCounterMode`, forward + backward, per batch shape). Both runs are evaluated at the same FLOP
checkpoints on the same held-out loss: the rectified-flow loss at 64 px on clips of another data seed
(17 frames, their own captions), at fixed times t and fixed noise, with the raw (not EMA) weights.
One CPU thread, so the wall-clock times are comparable too. The JSON holds, per seed and run, the
curve [[GFLOP, seconds, step, held-out loss], ...] and the command that made it.
"""
from __future__ import annotations

import argparse
import json
import shlex
import sys
import tempfile
import time
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

from minicog.data import LatentCache
from minicog.frame_pack import pack
from minicog.lr_schedule import lr_at
from minicog.rectified_flow import rf_loss
from minicog.train import batch_loss, build_model, configure_optimizer, load_vae, make_batch
from minicog.train_config import Stage, TrainConfig

ROOT = Path(__file__).resolve().parents[1]
FRAMES, MIX = (1, 9, 17), (0.1, 0.2, 0.7)          # the same durations at both sizes
EVAL_TIMES = (0.2, 0.4, 0.6, 0.8)


def make_config(sizes_steps: list[tuple[int, int]], seed: int, args) -> TrainConfig:
    """The fast preset with the given stages [(size, steps), ...]."""
    stages, end = [], 0
    for size, steps in sizes_steps:
        end += steps
        stages.append(Stage(until=end, size=size, frames=FRAMES, mix=MIX))
    return TrainConfig.fast(stages=stages, num_clips=args.clips, batch_size=args.batch, seed=seed,
                            warmup=20, latent_dir=args.latents, out_dir=args.latents, progress=False,
                            bf16=False)


class HeldOut:
    """The held-out loss at 64 px: fixed clips, captions, times and noise."""

    def __init__(self, vae, args):
        cfg = TrainConfig.fast(num_clips=args.eval_clips, data_seed=10_000, latent_dir=args.latents,
                               out_dir=args.latents, progress=False)
        cache = LatentCache(cfg, vae, torch.device("cpu"), progress=False)
        latents = cache.get(64, 17)
        self.batch = pack(latents)
        self.captions = cache.captions[: len(latents)]
        g = torch.Generator().manual_seed(1234)
        self.noise = [torch.randn(self.batch.x.shape, generator=g) for _ in EVAL_TIMES]

    @torch.no_grad()
    def loss(self, model) -> float:
        model.eval()
        ids, ids_mask = model.text_encoder.tokenizer(self.captions)
        cond = (ids, ids_mask, self.batch.mask)
        B = self.batch.x.shape[0]
        vals = [rf_loss(lambda x, t, c: model(x, t, *c), self.batch.x, cond, t=torch.full((B,), t),
                        noise=n, weight=self.batch.weight).item() for t, n in zip(EVAL_TIMES, self.noise)]
        model.train()
        return sum(vals) / len(vals)


def step_flops(model, batch, captions, t, noise, counted: dict) -> int:
    """FLOPs of one training step (forward + backward) of this batch shape, counted once per shape."""
    ids, _ = model.text_encoder.tokenizer(captions)
    key = (tuple(batch.x.shape), ids.shape[1])
    if key not in counted:
        with FlopCounterMode(display=False) as counter:
            loss = batch_loss(model.text_encoder.tokenizer, lambda x, tt, c: model(x, tt, *c), batch, captions,
                              t, noise, torch.device("cpu"), False)
            loss.backward()
        model.zero_grad(set_to_none=True)
        counted[key] = counter.get_total_flops()
    return counted[key]


def run(name: str, cfg: TrainConfig, cache, held: HeldOut, budget: float, counted: dict) -> dict:
    """Train `cfg` step by step; evaluate the held-out loss at every tenth of the FLOP budget."""
    from minicog import shapes
    torch.manual_seed(cfg.seed)
    model = build_model(cfg, shapes.vocabulary())
    opt = configure_optimizer(model, cfg)
    curve = [[0.0, 0.0, 0, held.loss(model)]]
    flops, seconds, marks = 0, 0.0, [budget * k / 10 for k in range(1, 11)]
    for step in range(cfg.steps):
        batch, captions, t, noise = make_batch(cfg, cache, step)
        flops += step_flops(model, batch, captions, t, noise, counted)
        t0 = time.perf_counter()
        for g in opt.param_groups:
            g["lr"] = lr_at(cfg, step)
        loss = batch_loss(model.text_encoder.tokenizer, lambda x, tt, c: model(x, tt, *c), batch, captions,
                          t, noise, torch.device("cpu"), False)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        opt.step()
        seconds += time.perf_counter() - t0
        if (marks and flops >= marks[0]) or step + 1 == cfg.steps:
            while marks and flops >= marks[0]:
                marks.pop(0)
            curve.append([flops / 1e9, seconds, step + 1, held.loss(model)])
            print(f"  {name:12s} step {step + 1:5d}  {flops / 1e12:6.2f} TFLOP  {seconds:6.0f} s  "
                  f"held-out loss {curve[-1][3]:.4f}", flush=True)
    return {"stages": [[s.size, s.until] for s in cfg.stages], "curve": curve}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--budget", type=int, default=600, help="compute budget in 64-px training steps")
    p.add_argument("--low-share", type=float, default=0.5, help="share of the budget spent at 32 px")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--clips", type=int, default=256, help="training clips per (size, duration)")
    p.add_argument("--eval-clips", type=int, default=48)
    p.add_argument("--latents", default=None, help="latent cache folder (default: a temporary one)")
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "progressive.json"))
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    tmp = tempfile.TemporaryDirectory()
    args.latents = args.latents or tmp.name
    vae = load_vae(TrainConfig.fast().vae, torch.device("cpu"))
    held = HeldOut(vae, args)
    probe = make_config([(32, 1), (64, 1)], 0, args)
    cache = LatentCache(probe, vae, torch.device("cpu"), progress=False)
    from minicog import shapes
    model, counted = build_model(probe, shapes.vocabulary()), {}
    per_step = {}
    for size in (32, 64):                  # a step of the usual shape (17-frame clips in the batch)
        h = size // 8
        batch = pack([torch.zeros(8, 5, h, h)] * args.batch)
        caps = [cache.captions[i % len(cache.captions)] for i in range(args.batch)]
        per_step[size] = step_flops(model, batch, caps, torch.rand(args.batch),
                                    torch.randn(batch.x.shape), {})
    budget = args.budget * per_step[64]
    low = round(args.low_share * budget / per_step[32])
    high = max(1, round((1 - args.low_share) * budget / per_step[64]))
    plans = {"progressive": [(32, low), (64, high)], "high_only": [(64, args.budget)]}
    print(f"one step: {per_step[32] / 1e9:.2f} GFLOP at 32 px, {per_step[64] / 1e9:.2f} at 64 px; "
          f"plans {plans}", flush=True)
    out = {"command": "python " + " ".join(shlex.quote(a) for a in ["benchmarks/bench_progressive.py"] +
                                           list(sys.argv[1:] if argv is None else argv)),
           "budget_gflop": budget / 1e9, "step_gflop": {str(k): v / 1e9 for k, v in per_step.items()},
           "batch_size": args.batch, "clips": args.clips, "eval_clips": args.eval_clips,
           "eval_times": list(EVAL_TIMES), "threads": 1, "columns": ["gflop", "seconds", "step", "heldout_loss"],
           "runs": {}}
    for seed in args.seeds:
        for name, plan in plans.items():
            cfg = make_config(plan, seed, args)
            print(f"seed {seed}, {name}: {plan}", flush=True)
            out["runs"].setdefault(str(seed), {})[name] = run(name, cfg, cache, held, budget, counted)
            Path(args.out).parent.mkdir(parents=True, exist_ok=True)
            Path(args.out).write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
