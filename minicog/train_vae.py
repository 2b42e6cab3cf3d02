"""Train the tiny causal 3D VAE on the Shapes world: reconstruction + KL loss (VAE ELBO with a small
KL weight, as in LDM §3 / CogVideoX §2.1), AdamW, tqdm progress, safetensors checkpoints.

    python -m minicog.train_vae --out assets/tiny/vae            # the shipped checkpoint

After training, `scaling_factor` is measured on fresh clips so that scaled latents
(z * scaling_factor) have unit standard deviation, which is what the diffusion model expects, and
the reconstruction PSNR on held-out clips is reported (and stored in the checkpoint metadata).
"""
from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from .causal_vae import CausalVAE, VAEConfig
from .utils import autocast, resolve_device, seed_everything

EVAL_SEED = 10_000  # held-out clips come from ShapesDataset(seed=EVAL_SEED), training uses seed 0..


def psnr(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """PSNR in dB per clip of videos in [-1, 1] (B, C, T, H, W), measured on the [0, 1] scale."""
    mse = ((x.float().clamp(-1, 1) - y.float()) / 2).pow(2).flatten(1).mean(1)
    return -10 * torch.log10(mse.clamp_min(1e-12))


def shapes_clips(n: int, seed: int = EVAL_SEED, frames: int = 17, size: int = 64) -> torch.Tensor:
    """n Shapes clips as one tensor (n, 3, T, H, W) in [-1, 1]."""
    from .shapes import ShapesDataset
    ds = ShapesDataset(n, frames=frames, size=size, seed=seed)
    return torch.stack([ds[i]["video"] for i in range(n)])


@torch.no_grad()
def evaluate_psnr(vae: CausalVAE, videos: torch.Tensor, batch_size: int = 4,
                  sample_posterior: bool = False) -> torch.Tensor:
    """Per-clip reconstruction PSNR (dB) of decode(encode(x).mean) (or of a posterior sample)."""
    vae.eval()
    dev = next(vae.parameters()).device
    out = []
    for i in range(0, len(videos), batch_size):
        x = videos[i:i + batch_size].to(dev)
        post = vae.encode(x)
        z = post.sample(torch.Generator(post.mean.device).manual_seed(i)) if sample_posterior else post.mean
        out.append(psnr(vae.decode(z), x).cpu())
    return torch.cat(out)


@torch.no_grad()
def measure_scaling_factor(vae: CausalVAE, videos: torch.Tensor, batch_size: int = 4) -> float:
    """1 / std of posterior samples over `videos` (LDM §4.3.2): scaled latents get unit std."""
    vae.eval()
    dev = next(vae.parameters()).device
    g = torch.Generator(dev).manual_seed(0)
    zs = [vae.encode(videos[i:i + batch_size].to(dev)).sample(g).cpu()
          for i in range(0, len(videos), batch_size)]
    return float(1.0 / torch.cat(zs).std())


def _lr_at(step: int, steps: int, lr: float, warmup: int) -> float:
    if step < warmup:
        return lr * (step + 1) / warmup
    p = (step - warmup) / max(1, steps - warmup)
    return lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * p)))  # cosine down to 5 %


def train_vae(config: VAEConfig | None = None, out_dir: str | Path | None = None, steps: int = 2500,
              batch_size: int = 2, lr: float = 3e-3, kl_weight: float = 1e-4,
              frames: int | tuple[int, ...] = (5, 9), eval_frames: int = 17, size: int = 64,
              seed: int = 0, device: str = "auto", num_threads: int | None = None,
              crop: int | None = None, sample_posterior: bool = True, init: CausalVAE | None = None,
              eval_clips: int = 16, eval_every: int = 0, save_every: int = 0, progress: bool = True,
              log=print) -> tuple[CausalVAE, dict]:
    """Train a CausalVAE (default: the `tiny` preset) on Shapes clips and return (vae, metrics).

    loss = mean |x_hat - x| + mean (x_hat - x)^2 + kl_weight * KL / (latent elements), with
    x_hat decoded from a posterior *sample* (so the decoder learns to tolerate latent noise).
    `frames` may be a tuple of 1+4k clip lengths: each batch then uses one of them (drawn at
    random); short clips cost less and teach the same causal 4-frame pattern, while
    the held-out PSNR is always measured on `eval_frames`-frame clips. `crop` trains on random
    crop x crop windows (a multiple of 8; 4x cheaper at half the size, the net being convolutional).
    With `out_dir`, a minicog checkpoint (config.json + model.safetensors) is written there
    (every `save_every` steps if > 0, and at the end, with the measured scaling_factor)."""
    from tqdm.auto import tqdm

    from .shapes import ShapesDataset
    if num_threads:
        torch.set_num_threads(num_threads)
    if steps < 1 or batch_size < 1:
        raise ValueError(f"steps and batch_size must be >= 1, got {steps} and {batch_size}")
    dev = resolve_device(device)
    seed_everything(seed)
    if init is not None:          # continue training a model
        vae = init.to(dev)
    else:
        vae = CausalVAE(config or VAEConfig.tiny()).to(dev)
    lengths = (frames,) if isinstance(frames, int) else tuple(frames)
    data = {f: ShapesDataset(steps * batch_size, frames=f, size=size, seed=seed + 101 * f) for f in lengths}
    pick = torch.Generator().manual_seed(seed)
    opt = torch.optim.AdamW(vae.parameters(), lr=lr, betas=(0.9, 0.99), weight_decay=0.0)
    gen = torch.Generator(dev).manual_seed(seed)
    warmup = min(100, max(1, steps // 10))
    history: list[dict] = []
    probe = None
    t0, cpu0 = time.time(), time.process_time()

    def checkpoint(step: int, final: bool = False) -> None:
        if out_dir is None:
            return
        vae.save_pretrained(out_dir, metadata={"step": str(step), "final": str(final)})

    bar = tqdm(range(steps), desc="train VAE", disable=not progress)
    for step in bar:
        vae.train()
        ds = data[lengths[int(torch.randint(len(lengths), (1,), generator=pick))]]
        x = torch.stack([ds[step * batch_size + i]["video"] for i in range(batch_size)])
        if crop:
            i, j = (int(v) for v in torch.randint(size - crop + 1, (2,), generator=pick) // 8 * 8)
            x = x[..., i:i + crop, j:j + crop]
        x = x.to(dev)
        for group in opt.param_groups:
            group["lr"] = _lr_at(step, steps, lr, warmup)
        with autocast(dev):
            recon, post = vae(x, sample_posterior=sample_posterior, generator=gen)
        recon = recon.float()
        rec = (recon - x).abs().mean() + (recon - x).pow(2).mean()
        kl = post.kl().mean() / post.mean[0].numel()  # per latent element
        loss = rec + kl_weight * kl
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(vae.parameters(), 1.0)
        opt.step()
        with torch.no_grad():
            p = psnr(recon, x).mean().item()
        history.append(dict(step=step, loss=loss.item(), rec=rec.item(), kl=kl.item(), psnr=p))
        bar.set_postfix(loss=f"{loss.item():.4f}", psnr=f"{p:.1f}", kl=f"{kl.item():.2f}")
        if eval_every and (step + 1) % eval_every == 0 and step + 1 < steps:
            if probe is None:
                probe = shapes_clips(4, seed=EVAL_SEED + 2, frames=eval_frames, size=size)
            p_eval = evaluate_psnr(vae, probe).mean().item()
            history[-1]["heldout_psnr"] = p_eval
            log(f"step {step + 1}: held-out PSNR {p_eval:.2f} dB (4 clips), "
                f"{(time.process_time() - cpu0) / 60:.1f} CPU min")
        if save_every and (step + 1) % save_every == 0 and step + 1 < steps:
            checkpoint(step + 1)

    train_seconds, cpu_seconds = time.time() - t0, time.process_time() - cpu0
    held_out = shapes_clips(eval_clips, seed=EVAL_SEED, frames=eval_frames, size=size)
    vae.config.scaling_factor = measure_scaling_factor(vae, shapes_clips(32, seed=EVAL_SEED + 1,
                                                                         frames=eval_frames, size=size))
    scores = evaluate_psnr(vae, held_out)
    metrics = dict(steps=steps, batch_size=batch_size, lr=lr, kl_weight=kl_weight, seed=seed,
                   frames=list(lengths),
                   wall_minutes=train_seconds / 60, cpu_minutes=cpu_seconds / 60,
                   threads=torch.get_num_threads(), device=str(dev),
                   heldout_psnr_mean=float(scores.mean()), heldout_psnr_min=float(scores.min()),
                   heldout_psnr_sampled=float(evaluate_psnr(vae, held_out, sample_posterior=True).mean()),
                   scaling_factor=vae.config.scaling_factor,
                   final_train_loss=sum(h["loss"] for h in history[-20:]) / len(history[-20:]))
    log(f"held-out PSNR {metrics['heldout_psnr_mean']:.2f} dB (min {metrics['heldout_psnr_min']:.2f}), "
        f"scaling_factor {vae.config.scaling_factor:.4f}, {metrics['wall_minutes']:.1f} min wall, "
        f"{metrics['cpu_minutes']:.1f} CPU min on {metrics['threads']} threads")
    if out_dir is not None:
        vae.save_pretrained(out_dir, metadata={k: str(v) for k, v in metrics.items()})
    metrics["history"] = history
    return vae, metrics


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True, help="output folder (config.json + model.safetensors)")
    p.add_argument("--steps", type=int, default=2500)
    p.add_argument("--batch-size", type=int, default=2)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--frames", type=int, nargs="+", default=[5, 9], help="training clip lengths (1+4k)")
    p.add_argument("--crop", type=int, default=None)
    p.add_argument("--eval-every", type=int, default=250)
    p.add_argument("--kl-weight", type=float, default=1e-4)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto")
    p.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2)")
    p.add_argument("--save-every", type=int, default=500)
    p.add_argument("--metrics", default=None, help="also write the metrics (and loss history) to this json")
    a = p.parse_args(argv)
    _, metrics = train_vae(out_dir=a.out, steps=a.steps, batch_size=a.batch_size, lr=a.lr,
                           kl_weight=a.kl_weight, frames=tuple(a.frames), crop=a.crop, seed=a.seed,
                           device=a.device, num_threads=a.threads, eval_every=a.eval_every,
                           save_every=a.save_every)
    if a.metrics:
        Path(a.metrics).write_text(json.dumps(metrics, indent=1))
    print(json.dumps({k: v for k, v in metrics.items() if k != "history"}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
