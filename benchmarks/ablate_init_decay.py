"""What adaLN-Zero and weight decay by tensor dimension each do (docs/training.md; run by hand).

    python benchmarks/ablate_init_decay.py                   # 4 short runs, ~10 CPU minutes
    python benchmarks/ablate_init_decay.py --steps 1500 --json out.json

The `tiny` recipe in small (32 px, images and 9-frame clips of the Shapes mixture, the same seed
and batches for every variant) trained four ways — {PyTorch default init, adaLN-Zero} × {weight
decay exempting every tensor named *emb*/*norm* (the old rule, which exempts the adaLN modulation
matrices), decay on every matrix (nanoGPT)} — and scored by the rectified-flow loss of the raw
weights on held-out clips (other data seed) at fixed times and noise, the loss early in training,
and the size of the adaLN modulation matrices at the end.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from minicog.data import LatentCache  # noqa: E402
from minicog.frame_pack import pack  # noqa: E402
from minicog.rectified_flow import rf_loss  # noqa: E402
from minicog.train import Stage, TrainConfig, load_vae, train  # noqa: E402


@torch.no_grad()
def heldout_loss(model, latents, captions, times=(0.1, 0.3, 0.5, 0.7, 0.9), seed=0) -> float:
    """Mean rectified-flow loss over `times` with fixed noise (the same for every model)."""
    model.eval()
    batch = pack(latents)
    ids, mask = model.text_encoder.tokenizer(captions)
    g = torch.Generator().manual_seed(seed)
    noise = torch.randn(batch.x.shape, generator=g)
    out = []
    for t in times:
        tt = torch.full((batch.x.shape[0],), t)
        out.append(float(rf_loss(lambda x, t, c: model(x, t, *c), batch.x, (ids, mask, batch.mask),
                                 t=tt, noise=noise, weight=batch.weight)))
    model.train()
    return sum(out) / len(out)


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=600)
    ap.add_argument("--out", default="runs/ablate_init_decay")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--heldout", type=int, default=128)
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    base = TrainConfig.tiny(stages=[Stage(until=args.steps, size=32, frames=(1, 9), mix=(0.3, 0.7))],
                            num_clips=2048, batch_size=16, warmup=50, ema_decay=0.99, sample_every=0,
                            save_every=10**9, sample_prompts=[], latent_dir=f"{args.out}/latents",
                            threads=args.threads, progress=False, device="cpu")
    vae = load_vae(base.vae, torch.device("cpu"))
    held_cfg = TrainConfig.from_dict({**base.to_dict(), "data_seed": 99, "num_clips": args.heldout})
    held = LatentCache(held_cfg, vae, torch.device("cpu"), progress=False)
    held_latents, held_captions = held.get(32, 9), held.captions
    rows = []
    for zero_init, decay_by in ((False, "name"), (True, "name"), (False, "dim"), (True, "dim")):
        cfg = TrainConfig.from_dict({**base.to_dict(), "zero_init": zero_init, "decay_by": decay_by,
                                     "out_dir": f"{args.out}/{'zero' if zero_init else 'default'}_{decay_by}"})
        ckpt = Path(cfg.out_dir) / "checkpoint.safetensors"
        ckpt.unlink(missing_ok=True)
        t0 = time.time()
        res = train(cfg, vae=vae)
        losses = [l for _, l in res.history]
        mod = [p for n, p in res.model.named_parameters() if ".linear.weight" in n and ".norm" in n]
        row = dict(zero_init=zero_init, decay_by=decay_by,
                   loss_first_100=sum(losses[:100]) / 100, loss_last_100=sum(losses[-100:]) / 100,
                   heldout=heldout_loss(res.model, held_latents, held_captions),
                   modulation_rms=float(torch.cat([p.flatten() for p in mod]).pow(2).mean().sqrt()),
                   seconds=time.time() - t0)
        rows.append(row)
        print(json.dumps(row), flush=True)
    ref = rows[0]["heldout"]
    print(f"\n{args.steps} steps, 32 px, batch 16; held-out loss on {args.heldout} clips at t ∈ 0.1…0.9\n")
    print("| init | weight decay | train loss, steps 1–100 | train loss, last 100 | held-out loss | vs. old | adaLN weight RMS |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {'adaLN-Zero' if r['zero_init'] else 'PyTorch default'} | "
              f"{'every matrix' if r['decay_by'] == 'dim' else 'by name (old)'} | {r['loss_first_100']:.4f} | "
              f"{r['loss_last_100']:.4f} | {r['heldout']:.4f} | {r['heldout'] / ref:.3f}× | {r['modulation_rms']:.4f} |")
    if args.json:
        Path(args.json).write_text(json.dumps(dict(steps=args.steps, rows=rows), indent=1))
    return dict(rows=rows)


if __name__ == "__main__":
    main()
