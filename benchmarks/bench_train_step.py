"""What the `tiny` recipe costs on this machine, step by step, and what a faster step would buy.

    python benchmarks/bench_train_step.py                # the recipe's step vs bf16 autocast and one duration per batch
    python benchmarks/bench_train_step.py --compile      # + torch.compile (about a minute of compiling per variant)
    python benchmarks/bench_train_step.py --json out.json
    python benchmarks/bench_train_step.py --profile      # where the recipe's step spends its time

Issue 20 asks for the whole recipe (VAE decoder + DiT) in at most 2 hours on a 2-core CPU; the
shipped run took 4.4 h. This benchmark answers two questions with measurements of one run:

1. What does a step cost, and how much of it could another way of computing the same step save?
   Variants, timed interleaved (each round runs every variant on the same batches, so machine load
   hits them alike), ratios against the recipe's own step (fp32, eager, Frame Pack padding to the
   longest clip of the batch):
   - bf16 autocast on the CPU (the recipe uses it on CUDA only: fp32 keeps CPU runs exact);
   - one duration per batch (no padding: a batch of images costs one latent frame, not five);
   - with --compile, `torch.compile` of the model, fp32 and with bf16.
   The batches are the recipe's own (`train.make_batch` on a small `LatentCache` of the preset's
   mixture), the step is `train.batch_loss` + backward + clipping + AdamW + EMA, as in `train.train`.
2. What does the whole recipe cost at each variant's step time, and how many 64-px steps would
   fit in 2 hours? The latent cache is timed on `--clips` clips per (size, duration) and scaled to
   the preset's `num_clips`; the VAE decoder fine-tune is not re-run (`--vae-minutes`, measured
   in docs/training.md).

The step counts the targets needed are in docs/training.md: 40000 steps (34000 of them at 64 px)
met them, 33000 did not.
"""
from __future__ import annotations

import argparse
import copy
import json
import statistics
import tempfile
import time
from contextlib import nullcontext
from dataclasses import replace
from pathlib import Path

import torch

from minicog import shapes
from minicog.data import LatentCache
from minicog.train import batch_loss, build_model, configure_optimizer, ema_update, load_vae, make_batch
from minicog.train_config import TrainConfig

BUDGET_S = 2 * 3600


class Variant:
    """One way of running the recipe's step: its own copy of the model, optimizer and EMA."""

    def __init__(self, name: str, model, config: TrainConfig, bf16_cpu: bool = False,
                 compiled: bool = False, one_duration: bool = False):
        self.name, self.config, self.bf16_cpu, self.one_duration = name, config, bf16_cpu, one_duration
        self.model = copy.deepcopy(model).train()
        self.ema = copy.deepcopy(model).requires_grad_(False).eval()
        self.opt = configure_optimizer(self.model, config)
        self.net = torch.compile(self.model) if compiled else self.model
        self.times: dict[int, list[float]] = {}

    def batch(self, cache: LatentCache, step: int):
        """The recipe's batch of `step`; with `one_duration`, the same draw with every clip of the
        batch at one duration, itself drawn from the stage's mix (seeded by the step)."""
        if not self.one_duration:
            return make_batch(self.config, cache, step)
        stage = self.config.stage_at(step)
        g = torch.Generator().manual_seed(step)
        i = int(torch.multinomial(stage.probs, 1, generator=g))
        one = replace(stage, frames=(stage.frames[i],), mix=None, until=self.config.steps,
                      clips=None if stage.clips is None else (stage.clips[i],))
        return make_batch(replace(self.config, stages=[one]), cache, step)

    def step(self, cache: LatentCache, step: int) -> float:
        t0 = time.perf_counter()
        batch = self.batch(cache, step)
        cpu_bf16 = torch.autocast("cpu", dtype=torch.bfloat16) if self.bf16_cpu else nullcontext()
        with cpu_bf16:
            loss = batch_loss(self.model.text_encoder.tokenizer, lambda x, t, c: self.net(x, t, *c),
                              *batch, torch.device("cpu"), self.config.bf16)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.config.grad_clip)
        self.opt.step()
        ema_update(self.ema, self.model, self.config.ema_decay)
        return time.perf_counter() - t0


def step_flops(v: Variant, cache: LatentCache, step: int) -> int:
    """Floating-point operations of one step's forward + backward (torch's FlopCounterMode)."""
    from torch.utils.flop_counter import FlopCounterMode
    batch = v.batch(cache, step)
    with FlopCounterMode(display=False) as counter:
        loss = batch_loss(v.model.text_encoder.tokenizer, lambda x, t, c: v.model(x, t, *c), *batch,
                          torch.device("cpu"), False)
        loss.backward()
    v.model.zero_grad(set_to_none=True)
    return counter.get_total_flops()


def profile_step(v: Variant, cache: LatentCache, first: int, warmup: int, steps: int) -> dict:
    """Where the recipe's step spends its time, by operator kind (torch.profiler, self CPU time)."""
    from torch.profiler import ProfilerActivity, profile
    for i in range(warmup):
        v.step(cache, first + i)
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for i in range(steps):
            v.step(cache, first + warmup + i)
    kinds = {"matrix products": ("aten::mm", "aten::addmm", "aten::bmm", "aten::matmul"),
             "attention": ("scaled_dot_product",), "GELU": ("gelu",), "LayerNorm": ("layer_norm",),
             "copies": ("aten::copy_", "aten::cat", "aten::contiguous"),
             "optimizer": ("AdamW", "addcdiv", "addcmul", "lerp_", "aten::sqrt")}
    total = sum(e.self_cpu_time_total for e in prof.key_averages())
    share = {k: 0.0 for k in kinds} | {"other": 0.0}
    for e in prof.key_averages():
        kind = next((k for k, keys in kinds.items() if any(key in e.key for key in keys)), "other")
        share[kind] += e.self_cpu_time_total / total
    print(f"profile of {steps} recipe steps at 64 px (self CPU time): " +
          ", ".join(f"{k} {100 * v:.0f} %" for k, v in share.items()))
    return share


def matmul_gflops(dtype: torch.dtype, n: int = 1024, repeats: int = 20) -> float:
    """What this machine's matmul reaches on a square (n, n) product: the reference for a step."""
    a, b = torch.randn(n, n).to(dtype), torch.randn(n, n).to(dtype)
    for _ in range(3):
        a @ b
    t0 = time.perf_counter()
    for _ in range(repeats):
        a @ b
    return 2 * n ** 3 * repeats / (time.perf_counter() - t0) / 1e9


def stage_step(config: TrainConfig, size: int) -> int:
    """The first step of the preset's first stage at `size` px that draws from all clips."""
    start = 0
    for s in config.stages:
        if s.size == size and s.objects is None:
            return start
        start = s.until
    raise ValueError(f"the preset has no {size}px stage over the whole mixture")


def time_latents(config: TrainConfig, vae, clips: int) -> tuple[dict[tuple[int, int], float], LatentCache]:
    """Seconds to render + encode the preset's `num_clips` clips for each (size, duration) of its
    stages, scaled from `clips` clips each (the real `LatentCache` code path, in RAM); and that
    small cache, the benchmark's source of batches."""
    small = replace(config, num_clips=clips, latent_dir=None)
    cache = LatentCache(small, vae, torch.device("cpu"), progress=False)
    out = {}
    for size, frames in sorted({(s.size, f) for s in config.stages for f in s.frames}):
        t0 = time.perf_counter()
        cache.get(size, frames)
        out[(size, frames)] = (time.perf_counter() - t0) * config.num_clips / clips
    return out, cache


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--steps", type=int, default=8, help="timed steps per variant per round")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--warmup", type=int, default=3, help="untimed steps per variant first")
    p.add_argument("--clips", type=int, default=128, help="clips per (size, duration) in the small cache")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--compile", action="store_true", help="also time torch.compile variants (64 px)")
    p.add_argument("--vae-minutes", type=float, default=8.0,
                   help="the VAE decoder fine-tune, measured on the 2-core CPU (docs/training.md)")
    p.add_argument("--preset", default="tiny")
    p.add_argument("--json", default=None)
    p.add_argument("--profile", action="store_true",
                   help="only profile the recipe's 64-px step (torch.profiler): where its time goes")
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    config = getattr(TrainConfig, a.preset)(out_dir=tempfile.mkdtemp(prefix="bench_train_step_"))
    vae = load_vae(config.vae, torch.device("cpu"))

    # 1. the latent cache: time it on a few clips, keep it as the batches' source
    latents, cache = time_latents(config, vae, a.clips)

    # 2. the variants, each its own copy of one freshly initialised model
    torch.manual_seed(config.seed)
    model = build_model(config, shapes.vocabulary())
    kinds = [dict(name="recipe (fp32, eager, padded)"),
             dict(name="bf16 autocast on CPU", bf16_cpu=True),
             dict(name="one duration per batch", one_duration=True),
             dict(name="bf16 + one duration", bf16_cpu=True, one_duration=True)]
    compiled = [dict(name="torch.compile", compiled=True),
                dict(name="torch.compile + bf16", compiled=True, bf16_cpu=True),
                dict(name="torch.compile + bf16 + one duration", compiled=True, bf16_cpu=True,
                     one_duration=True)] if a.compile else []
    variants = [Variant(model=model, config=config, **k) for k in kinds + compiled]
    sizes = sorted({s.size for s in config.stages})
    big = max(sizes)
    if a.profile:
        return profile_step(variants[0], cache, stage_step(config, big), a.warmup, a.steps)

    # 3. timing: rounds of `steps` steps per variant, interleaved, the same steps for all
    for size in sizes:
        first = stage_step(config, size)
        todo = [v for v in variants if size == big or v.net is v.model]   # compiled: 64 px only
        for v in todo:                                    # warm-up (and compiling)
            for i in range(a.warmup):
                v.step(cache, first + i)
        for r in range(a.rounds):
            for v in todo:
                steps = range(first + a.warmup + r * a.steps, first + a.warmup + (r + 1) * a.steps)
                v.times.setdefault(size, []).append(sum(v.step(cache, s) for s in steps) / a.steps)

    # 4. report: per-step times, ratios, and the recipe each would give
    first = stage_step(config, big) + a.warmup
    timed = range(first, first + a.rounds * a.steps)
    flops = {od: statistics.mean(step_flops(next(v for v in variants if v.one_duration == od), cache, s)
                                 for s in timed) for od in (False, True)}
    peak = {"fp32": matmul_gflops(torch.float32), "bf16": matmul_gflops(torch.bfloat16)}
    print(f"\nmatmul reference on this machine ({a.threads} threads, 1024²): fp32 {peak['fp32']:.0f} GFLOP/s, "
          f"bf16 {peak['bf16']:.0f} GFLOP/s; a {big}-px step: {flops[False] / 1e9:.1f} GFLOP padded, "
          f"{flops[True] / 1e9:.1f} GFLOP with one duration per batch (forward + backward)")
    steps_at = config.steps_per_size()
    latent_s, vae_s = sum(latents.values()), a.vae_minutes * 60
    base = variants[0]

    def left_for_big(per: dict[int, float]) -> float:
        """Seconds of the 2-hour budget left for the largest size's steps at these step times."""
        return BUDGET_S - latent_s - vae_s - sum(steps_at[s] * per[s] for s in sizes if s != big)
    print(f"\n{config.num_clips} clips per (size, duration): latent cache {latent_s / 60:.1f} min "
          f"({', '.join(f'{s}px×{f}f {t / 60:.1f}' for (s, f), t in latents.items())}); VAE decoder "
          f"{a.vae_minutes:.1f} min (given); steps: " + ", ".join(f"{n} at {s} px" for s, n in steps_at.items()))
    head = ("variant", *[f"s/step {s}px" for s in sizes], "GFLOP/s (64px)", "vs recipe (64px)", "recipe, h",
            "64px steps in 2 h")
    print("| " + " | ".join(head) + " |\n|" + "---|" * len(head))
    rows = []
    for v in variants:
        per = {s: statistics.median(v.times[s]) if s in v.times else statistics.median(base.times[s])
               for s in sizes}
        total = latent_s + vae_s + sum(steps_at[s] * per[s] for s in sizes)
        rate = flops[v.one_duration] / per[big] / 1e9
        fit = left_for_big(per) / per[big]
        ratio = statistics.median(base.times[big]) / per[big]
        rows.append(dict(variant=v.name, seconds_per_step={str(s): per[s] for s in sizes},
                         timed_sizes=sorted(v.times), gflops_per_s_64px=rate, speedup_64px=ratio, recipe_hours=total / 3600,
                         steps_64px_in_2h=int(fit)))
        cells = [f"{per[s]:.3f}" + ("" if s in v.times else " (recipe's)") for s in sizes]
        print(f"| {v.name} | " + " | ".join(cells) + f" | {rate:.0f} | {ratio:.2f}× | {total / 3600:.2f} | {int(fit)} |")
    need = left_for_big({s: statistics.median(base.times[s]) for s in sizes}) / steps_at[big]
    print(f"\nfor the recipe's {steps_at[big]} steps at {big} px to fit in 2 h, a {big}-px "
          f"step must take ≤ {need:.3f} s: {statistics.median(base.times[big]) / max(need, 1e-9):.1f}× "
          "faster than the recipe's step")
    result = dict(threads=a.threads, clips_timed=a.clips, matmul_gflops_per_s=peak,
                  gflop_per_64px_step={"padded": flops[False] / 1e9, "one duration": flops[True] / 1e9}, latent_minutes=latent_s / 60, vae_minutes=a.vae_minutes,
                  steps=steps_at, rows=rows, needed_seconds_per_64px_step=need, torch=torch.__version__)
    if a.json:
        Path(a.json).write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
