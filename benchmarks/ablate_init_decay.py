"""What the one recipe's changes each do to what the model learns (docs/training.md; run by hand).

    python benchmarks/ablate_init_decay.py                       # 4 short runs at 32 px
    python benchmarks/ablate_init_decay.py --steps 1500 --json out.json

The `tiny` recipe in small (32 px; images, 9- and 17-frame clips; batch 32; the same seed and
batch draws for every variant) trained several ways:

    old        PyTorch default init, weight decay by name (exempts the adaLN matrices), one-object
               English captions — the recipe of the one-object chain's first run
    +init      old + adaLN-Zero and weight decay on every matrix (nanoGPT)
    +mixture   +init on the Shapes mixture (half two-object scenes, a quarter Korean captions) — `tiny`
    mixture    the mixture with the old init and decay
    zero, dim  old + only adaLN-Zero, old + only decay on every matrix
    curriculum, +curriculum
               mixture, +mixture with the first two thirds of the steps on its one-object clips
               only (`Stage(objects=1)`), the last third on all of it
    dim+mixture, dim+curriculum
               dim on the mixture; the same with the first half of the steps on one-object clips

Each is scored on held-out clips (another data seed; fixed times and noise, the same for every
model) by the rectified-flow loss of the raw weights, and by how much the model *uses* each word:
the loss with one word of the caption replaced (colour, shape, direction; for two-object clips the
two objects' directions or shapes exchanged — a binding probe) minus the loss with the true caption,
relative to the latter. A model that ignores the direction word has a direction gap ≈ 0.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from minicog import shapes  # noqa: E402
from minicog.data import LatentCache  # noqa: E402
from minicog.frame_pack import pack  # noqa: E402
from minicog.rectified_flow import rf_loss  # noqa: E402
from minicog.train import Stage, TrainConfig, load_vae, train  # noqa: E402

TIMES = (0.3, 0.5, 0.7, 0.9)
VARIANTS = {  # name: (zero_init, decay_by, mixture, share of the steps on one-object clips only)
    "old": (False, "name", False, 0.0),
    "+init": (True, "dim", False, 0.0),
    "+mixture": (True, "dim", True, 0.0),
    "mixture": (False, "name", True, 0.0),
    "zero": (True, "name", False, 0.0),
    "dim": (False, "dim", False, 0.0),
    "curriculum": (False, "name", True, 2 / 3),
    "+curriculum": (True, "dim", True, 2 / 3),
    "dim+mixture": (False, "dim", True, 0.0),
    "dim+curriculum": (False, "dim", True, 0.5),
}


def _next(values, v):
    return values[(values.index(v) + 1) % len(values)]


def corrupt(caption: str, what: str) -> str:
    """`caption` (English) with one word changed: 'color'/'shape'/'direction' of the first object
    moved to the next value; 'bind_direction'/'bind_shape' exchanges that attribute between two objects."""
    scene = shapes.parse_caption(caption)
    objs = list(scene.objects)
    if what.startswith("bind_"):
        a = what[5:]
        o1, o2 = objs
        objs = [replace(o1, **{a: getattr(o2, a)}), replace(o2, **{a: getattr(o1, a)})]
    else:
        values = {"color": list(shapes.COLORS), "shape": list(shapes.SHAPES), "direction": list(shapes.DIRECTIONS)}[what]
        new = _next(values, getattr(objs[0], what))
        if what == "color" and len(objs) == 2 and new == objs[1].color:
            new = _next(values, new)
        objs[0] = replace(objs[0], **{what: new})
    return shapes.Scene(tuple(objs), scene.background).caption()


@torch.no_grad()
def loss_of(model, latents, captions, seed=0) -> torch.Tensor:
    """Per-clip rectified-flow loss averaged over TIMES, fixed noise (the same for every model)."""
    model.eval()
    batch = pack(latents)
    ids, mask = model.text_encoder.tokenizer(captions)
    g = torch.Generator().manual_seed(seed)
    noise = torch.randn(batch.x.shape, generator=g)
    per = torch.zeros(len(latents))
    for t in TIMES:
        for i in range(len(latents)):           # per clip: rf_loss averages over its elements
            per[i] += float(rf_loss(lambda x, t, c: model(x, t, *c), batch.x[i:i + 1],
                                    (ids[i:i + 1], mask[i:i + 1], batch.mask[i:i + 1]),
                                    t=torch.full((1,), t), noise=noise[i:i + 1], weight=batch.weight[i:i + 1]))
    model.train()
    return per / len(TIMES)


def word_use(model, latents, captions, probes) -> dict:
    base = loss_of(model, latents, captions)
    out = dict(loss=float(base.mean()))
    for what in probes:
        worse = loss_of(model, latents, [corrupt(c, what) for c in captions])
        out[what] = float(((worse - base) / base).mean())
    return out


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--variants", default="old,+init,+mixture,mixture", help=f"comma-separated, of {list(VARIANTS)}")
    ap.add_argument("--out", default="runs/ablate_init_decay")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--heldout", type=int, default=48, help="held-out clips per probe set")
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    size, frames = 32, 17
    stage = dict(size=size, frames=(1, 9, 17), mix=(0.2, 0.3, 0.5))
    base = TrainConfig.tiny(stages=[Stage(until=args.steps, **stage)],
                            num_clips=2048, warmup=100, ema_decay=0.995, sample_every=0, save_every=250, sample_prompts=[],
                            threads=args.threads, progress=False, device="cpu")
    vae = load_vae(base.vae, torch.device("cpu"))

    def heldout(two_objects: float):
        cfg = TrainConfig.from_dict({**base.to_dict(), "data_seed": 99, "num_clips": args.heldout,
                                     "two_objects": two_objects, "korean": 0.0, "holdout": [],
                                     "latent_dir": f"{args.out}/heldout_latents"})
        c = LatentCache(cfg, vae, torch.device("cpu"), progress=False)
        return c.get(size, frames), c.captions

    one, two = heldout(0.0), heldout(1.0)
    rows = []
    for name in args.variants.split(","):
        zero_init, decay_by, mixture, first = VARIANTS[name]
        stages = ([Stage(until=round(args.steps * first), objects=1, **stage)] if first else []) + base.stages
        cfg = TrainConfig.from_dict({**base.to_dict(), "zero_init": zero_init, "decay_by": decay_by,
                                     "stages": [vars(s) for s in stages],
                                     **({} if mixture else dict(two_objects=0.0, korean=0.0, holdout=[])),
                                     "latent_dir": f"{args.out}/latents_{'mixture' if mixture else 'one'}",
                                     "out_dir": f"{args.out}/{name.replace('+', 'plus_')}"})
        t0 = time.time()
        res = train(cfg, vae=vae)
        losses = [l for _, l in res.history]
        row = dict(variant=name, zero_init=zero_init, decay_by=decay_by, mixture=mixture, one_object_first=first,
                   train_loss_last_100=sum(losses[-100:]) / min(100, len(losses)),
                   one=word_use(res.ema, *one, ("color", "shape", "direction")),
                   two=word_use(res.ema, *two, ("color", "direction", "bind_direction", "bind_shape")),
                   seconds=time.time() - t0)
        rows.append(row)
        print(json.dumps(row), flush=True)
    print(f"\n{args.steps} steps at {size} px, batch 32; EMA weights; held-out {args.heldout} one-object and "
          f"{args.heldout} two-object clips ({frames} frames), loss at t ∈ {TIMES}; word use = relative loss "
          "increase when the word is changed\n")
    print("| variant | held-out loss (1 obj) | colour | shape | direction | held-out loss (2 obj) | "
          "colour | direction | binding: directions swapped | binding: shapes swapped |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        o, t = r["one"], r["two"]
        print(f"| {r['variant']} | {o['loss']:.4f} | {o['color']:+.1%} | {o['shape']:+.1%} | {o['direction']:+.1%} | "
              f"{t['loss']:.4f} | {t['color']:+.1%} | {t['direction']:+.1%} | {t['bind_direction']:+.1%} | "
              f"{t['bind_shape']:+.1%} |")
    if args.json:
        Path(args.json).write_text(json.dumps(dict(steps=args.steps, rows=rows), indent=1))
    return dict(rows=rows)


if __name__ == "__main__":
    main()
