"""Train the tiny causal 3D VAE on the Shapes world: reconstruction + KL loss (VAE ELBO with a small
KL weight, as in LDM §3 / CogVideoX §2.1), AdamW, tqdm progress, safetensors checkpoints.

    python -m minicog.train_vae --out runs/vae                   # both stages: the whole VAE, then its decoder
    python -m minicog.train_vae --out runs/vae_one_object --two-objects 0 --decoder-steps 0   # make train-tiny, 1
    python -m minicog.train_vae --init runs/vae_one_object --steps 0 --two-objects 0.5 --out runs/vae_mix  # ... 2

Stage 1 (`train_vae`, `VAETrainConfig`) trains the whole VAE from random weights; stage 2
(`finetune_decoder`, `DecoderFinetuneConfig`) fine-tunes the decoder alone, the encoder (and so the
latent space) kept. Each stage keeps a resumable checkpoint in the output folder while it runs
(`checkpoint.safetensors`, `decoder_checkpoint.safetensors`): a rerun of the same command continues
where it stopped, and the command removes them once the VAE is written.

After training, `scaling_factor` is measured on fresh clips so that scaled latents
(z * scaling_factor) have unit standard deviation, which is what the diffusion model expects, and
the reconstruction PSNR on held-out clips is reported (and stored in the checkpoint metadata).
"""
from __future__ import annotations

import argparse
import json
import time
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from safetensors import safe_open
from tqdm.auto import tqdm

from . import shapes
from .causal_vae import CausalVAE, VAEConfig
from .checkpoint import load_training_state, save_training_state
from .data import EVAL_SEED, shapes_batches, shapes_clips
from .lr_schedule import vae_lr_at
from .utils import autocast, config_from_dict, resolve_device, seed_everything
from .video import to_uint8


@dataclass
class VAETrainConfig:
    """Stage 1 of the VAE recipe (`train_vae`): the whole VAE on fresh Shapes clips. The defaults are
    the function's; `python -m minicog.train_vae` sets its own (`--save-every 1000`, ...)."""
    steps: int = 2500
    batch_size: int = 16                 # clips per step (8x as many single frames)
    frames: tuple = (1, 9)               # clip lengths (1+4k), one length per step, in turn
    lr: float = 1e-3                     # AdamW peak; warm-up, hold, cosine decay to 5 % (vae_lr_at)
    kl_weight: float = 1e-4
    fg_weight: float = 4.0               # extra loss weight on object pixels (reconstruction_loss)
    size: int = 64
    two_objects: float = 0.0             # share of two-object scenes (the CLI's default is 0.5)
    eval_frames: int = 17                # held-out PSNR and scaling_factor are measured on these
    seed: int = 0
    device: str = "auto"
    threads: int = 0                     # torch CPU threads (0: torch's default)
    workers: int = 2                     # DataLoader processes rendering clips
    sample_posterior: bool = True        # decode a posterior sample (False: the mean)
    eval_clips: int = 32                 # held-out clips of the final evaluation
    eval_every: int = 0                  # held-out PSNR on 8 probe clips every n steps (0: never)
    save_every: int = 0                  # with out_dir: a resumable checkpoint every n steps (0: never)
    progress: bool = True

    def __post_init__(self):
        self.frames = (self.frames,) if isinstance(self.frames, int) else tuple(self.frames)
        if self.steps < 1 or self.batch_size < 1:
            raise ValueError(f"need steps >= 1 and batch_size >= 1, got steps={self.steps}, "
                             f"batch_size={self.batch_size}")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "VAETrainConfig":
        """From a dict (JSON, CLI); unknown keys are an error (`utils.config_from_dict`)."""
        return config_from_dict(cls, d, "VAETrainConfig")


@dataclass
class DecoderFinetuneConfig:
    """Stage 2 of the VAE recipe (`finetune_decoder`): the decoder alone on full-length clips.
    `python -m minicog.train_vae` passes its own `seed + 1`, `workers`, `eval_every // 5`, `fg_weight`
    and `two_objects`."""
    steps: int = 300
    batch_size: int = 4                  # clips per step
    frames: int = 17                     # clip length: the length the pipeline decodes
    lr: float = 2e-4                     # AdamW peak; warm-up (at most 50 steps), cosine decay to 5 %
    fg_weight: float = 4.0
    size: int = 64
    two_objects: float = 0.0             # share of two-object scenes
    seed: int = 1
    device: str = "auto"
    workers: int = 1                     # DataLoader processes rendering clips
    eval_every: int = 0                  # held-out PSNR on 8 probe clips every n steps (0: never)
    save_every: int = 50                 # with out_dir: a resumable checkpoint every n steps (0: never)
    progress: bool = True

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "DecoderFinetuneConfig":
        """From a dict (JSON, CLI); unknown keys are an error (`utils.config_from_dict`)."""
        return config_from_dict(cls, d, "DecoderFinetuneConfig")


def psnr(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """PSNR in dB per clip of videos in [-1, 1] (B, C, T, H, W), measured on the [0, 1] scale."""
    mse = ((x.float().clamp(-1, 1) - y.float()) / 2).pow(2).flatten(1).mean(1)
    return -10 * torch.log10(mse.clamp_min(1e-12))


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


def reconstruction_loss(recon: torch.Tensor, x: torch.Tensor, fg_weight: float = 0.0) -> torch.Tensor:
    """Mean of (|e| + e^2) per pixel, e = recon - x, weighted by 1 + fg_weight on the object.

    The object covers ~5 % of a Shapes frame, so an unweighted loss is dominated by the plain
    background; `fg_weight` counts each object pixel (any pixel that differs from the frame's
    corner colour, i.e. the background) 1 + fg_weight times."""
    err = recon.float() - x
    per_pixel = (err.abs() + err.pow(2)).mean(1, keepdim=True)             # (B, 1, T, H, W)
    if not fg_weight:
        return per_pixel.mean()
    bg = x[:, :, :, :1, :1]                                                # corner = background
    fg = ((x - bg).abs().amax(1, keepdim=True) > 0.05).float()
    w = 1 + fg_weight * fg
    return (w * per_pixel).sum() / w.sum()


@torch.no_grad()
def oracle_accuracy(vae: CausalVAE, videos: torch.Tensor, attributes: list, batch_size: int = 8) -> dict:
    """The Shapes oracle on reconstructions: can every attribute still be read back?"""
    vae.eval()
    dev = next(vae.parameters()).device
    recons = []
    for i in range(0, len(videos), batch_size):
        x = videos[i:i + batch_size].to(dev)
        recons += [to_uint8(r) for r in vae.decode(vae.encode(x).mean).float().cpu()]
    rep = shapes.evaluate(recons, attributes)          # captions or attribute dicts
    return dict(prompt=rep.prompt_accuracy, **rep.per_attribute)


def evaluate_vae(vae: CausalVAE, eval_clips: int = 32, eval_frames: int = 17, size: int = 64,
                 log=print, two_object_clips: int = 0) -> dict:
    """Held-out PSNR (posterior mean and a sample) and the oracle on reconstructions, on
    `eval_clips` clips of ShapesDataset(seed=EVAL_SEED), never used in training; with
    `two_object_clips`, also the oracle on that many two-object reconstructions."""
    ds = shapes.ShapesDataset(eval_clips, frames=eval_frames, size=size, seed=EVAL_SEED)
    held_out = torch.stack([ds[i]["video"] for i in range(eval_clips)])
    scores = evaluate_psnr(vae, held_out)
    oracle = oracle_accuracy(vae, held_out, [ds[i]["caption"] for i in range(eval_clips)])
    out = dict(heldout_psnr_mean=float(scores.mean()), heldout_psnr_min=float(scores.min()),
               heldout_psnr_sampled=float(evaluate_psnr(vae, held_out, sample_posterior=True).mean()),
               oracle_on_reconstructions=oracle["prompt"], eval_clips=eval_clips)
    log(f"held-out PSNR {out['heldout_psnr_mean']:.2f} dB (min {out['heldout_psnr_min']:.2f}) on "
        f"{eval_clips} clips of {eval_frames} frames; the oracle reads {100 * oracle['prompt']:.0f} % "
        f"of the reconstructions")
    if two_object_clips:
        two = shapes.ShapesDataset(two_object_clips, frames=eval_frames, size=size, seed=EVAL_SEED + 1,
                                   two_objects=1.0)
        videos = torch.stack([two[i]["video"] for i in range(two_object_clips)])
        oracle2 = oracle_accuracy(vae, videos, [two[i]["caption"] for i in range(two_object_clips)])
        out.update(oracle_on_two_object_reconstructions=oracle2["prompt"], two_object_clips=two_object_clips)
        log(f"two-object clips: the oracle reads {100 * oracle2['prompt']:.1f} % of {two_object_clips} "
            "reconstructions")
    return out


# ----------------------------------------------------------------------------- resumable checkpoints

_RUN_ONLY = ("device", "threads", "workers", "progress", "eval_every", "save_every")   # may change on resume


def _save_state(path: Path, vae: CausalVAE, opt: torch.optim.Optimizer, step: int, config, history: list,
                seconds: list[float], gen: torch.Generator | None = None) -> None:
    """A stage's resumable state: weights, optimizer, the posterior-sampling generator, the config, the
    history and the [wall, CPU] seconds trained so far."""
    save_training_state(path, {"model": vae}, opt, step,
                        extra=None if gen is None else {"rng": gen.get_state()},
                        metadata=dict(config=json.dumps(config.to_dict()), history=json.dumps(history),
                                      seconds=json.dumps(seconds)))


def _resume(path: Path | None, vae: CausalVAE, opt: torch.optim.Optimizer, config, log,
            gen: torch.Generator | None = None) -> tuple[int, list, list[float]]:
    """(the step to start from, the history before it, the [wall, CPU] seconds before it), loaded from
    the checkpoint `path` into `vae`, `opt` and `gen` when there is one; warns about changed settings."""
    if path is None or not path.is_file():
        return 0, [], [0.0, 0.0]
    step, meta, extra = load_training_state(path, {"model": vae}, opt, () if gen is None else ("rng",))
    if gen is not None:
        gen.set_state(extra["rng"])
    old = json.loads(meta["config"])
    changed = sorted(k for k, v in config.to_dict().items()
                     if k not in _RUN_ONLY and json.dumps(old.get(k)) != json.dumps(v))
    if changed:
        warnings.warn(f"resuming {path} (step {step}) with changed settings: {changed}")
    log(f"resuming {path} at step {step} of {config.steps}")
    return step, json.loads(meta["history"]), json.loads(meta["seconds"])


def _checkpoint_due(done: int, every: int, last: int, stop_after: int | None) -> bool:
    return bool(every and done % every == 0) or done == last or done == stop_after


# ----------------------------------------------------------------------------- stage 1: the whole VAE

def _vae_step(vae: CausalVAE, opt: torch.optim.Optimizer, x: torch.Tensor, c: VAETrainConfig,
              gen: torch.Generator, step: int) -> tuple[dict, torch.Tensor]:
    """One AdamW step on reconstruction + KL of a posterior sample; returns its record and the
    reconstruction."""
    for group in opt.param_groups:
        group["lr"] = vae_lr_at(step, c.steps, c.lr)
    vae.train()
    with autocast(x.device):
        recon, post = vae(x, sample_posterior=c.sample_posterior, generator=gen)
    rec = reconstruction_loss(recon, x, c.fg_weight)
    kl = post.kl().float().mean() / post.mean[0].numel()  # per latent element
    loss = rec + c.kl_weight * kl
    if not torch.isfinite(loss):
        raise FloatingPointError(f"VAE loss became {loss.item()} at step {step}; lower --lr")
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(vae.parameters(), 1.0)
    opt.step()
    return dict(step=step, frames=x.shape[2], loss=loss.item(), rec=rec.item(), kl=kl.item()), recon


def _stage1_metrics(vae: CausalVAE, c: VAETrainConfig, history: list, seconds: list[float], log) -> dict:
    """After the loop: `scaling_factor` measured on fresh clips, then the held-out evaluation."""
    fresh = shapes_clips(32, seed=EVAL_SEED + 1, frames=c.eval_frames, size=c.size)
    vae.config.scaling_factor = measure_scaling_factor(vae, fresh)
    dev = next(vae.parameters()).device
    return dict(steps=c.steps, batch_size=c.batch_size, frames=list(c.frames), lr=c.lr,
                kl_weight=c.kl_weight, fg_weight=c.fg_weight, seed=c.seed,
                wall_minutes=seconds[0] / 60, cpu_minutes=seconds[1] / 60,
                threads=torch.get_num_threads(), device=str(dev), scaling_factor=vae.config.scaling_factor,
                final_train_loss=sum(h["loss"] for h in history[-20:] if "loss" in h)
                / len([h for h in history[-20:] if "loss" in h]),
                **evaluate_vae(vae, c.eval_clips, c.eval_frames, c.size, log,
                               two_object_clips=c.eval_clips if c.two_objects else 0))


def train_vae(config: VAEConfig | None = None, out_dir: str | Path | None = None,
              train_config: VAETrainConfig | None = None, *, init: CausalVAE | None = None,
              stop_after: int | None = None, log=print, **overrides) -> tuple[CausalVAE, dict]:
    """Train a CausalVAE (default: the `tiny` preset) on Shapes clips; returns (vae, metrics).

    The recipe is `train_config` (a `VAETrainConfig`, default its defaults) with any of its fields
    overridden by keyword, e.g. `train_vae(VAEConfig.tiny(), steps=30, workers=0)`; `init` starts
    from a trained VAE instead of random weights.

    Each step draws a batch of clips whose length is one of `frames` (1+4k each, in turn): single
    frames (the first frame of a clip is encoded on its own) teach colours and shapes cheaply,
    9-frame clips the causal 4-frame pattern of motion; the held-out PSNR is measured on
    `eval_frames`-frame clips. Clips are rendered fresh by `workers` DataLoader processes.

    loss = reconstruction_loss(x_hat, x, fg_weight) + kl_weight * KL(q(z|x) || N(0, I)) / (latent
    elements), x_hat decoded from a posterior *sample*, so the decoder learns to tolerate latent
    noise (LDM §3, CogVideoX §2.1). AdamW, warm-up, cosine decay, bf16 autocast on GPU.
    With `out_dir`, a resumable `checkpoint.safetensors` is kept there (every `save_every` steps,
    and at the last step) and resumed from by the next call, exactly (the clips, the posterior
    samples and the optimizer continue where they were); at the end the VAE is written there as a
    minicog checkpoint (config.json + model.safetensors, with the measured scaling_factor).
    `stop_after=n` checkpoints and returns at step n, as if the run had been interrupted there."""
    c = VAETrainConfig.from_dict({**asdict(train_config or VAETrainConfig()), **overrides})
    # 1. setup: the VAE, AdamW, the posterior-sampling generator; resume; one loader per clip length
    if c.threads:
        torch.set_num_threads(c.threads)
    dev = resolve_device(c.device)
    seed_everything(c.seed)
    vae = (init if init is not None else CausalVAE(config or VAEConfig.tiny())).to(dev)
    opt = torch.optim.AdamW(vae.parameters(), lr=c.lr, betas=(0.9, 0.99), weight_decay=0.0)
    gen = torch.Generator(dev).manual_seed(c.seed)
    ckpt = None if out_dir is None else Path(out_dir) / "checkpoint.safetensors"
    start, history, before = _resume(ckpt, vae, opt, c, log, gen)
    # image batches are cheap: 8x the clips per step so every step sees many colours and shapes
    sizes = {f: c.batch_size * (8 if f == 1 else 1) for f in c.frames}
    done_per_length = {f: len(range(i, start, len(c.frames))) for i, f in enumerate(c.frames)}
    loaders = {f: shapes_batches(f, c.size, c.seed + 101 * f, sizes[f], c.workers, c.two_objects,
                                 skip=done_per_length[f]) for f in c.frames}
    probe = shapes_clips(8, seed=EVAL_SEED + 2, frames=c.eval_frames, size=c.size) if c.eval_every else None
    t0, cpu0 = time.time(), time.process_time()

    # 2. the loop: reconstruction + KL on a posterior sample, one clip length per step
    bar = tqdm(range(start, c.steps), initial=start, total=c.steps, desc="train VAE", disable=not c.progress)
    for step in bar:
        x = next(loaders[c.frames[step % len(c.frames)]]).to(dev, non_blocking=True)   # (B, 3, f, H, W)
        record, recon = _vae_step(vae, opt, x, c, gen, step)
        history.append(record)
        if step % 10 == 0 or step == c.steps - 1:
            history[-1]["psnr"] = p = psnr(recon.detach(), x).mean().item()
            bar.set_postfix(frames=x.shape[2], psnr=f"{p:.1f}", kl=f"{record['kl']:.2f}")
        done = step + 1
        if probe is not None and done % c.eval_every == 0 and done < c.steps:
            history.append(dict(step=step, heldout_psnr=evaluate_psnr(vae, probe).mean().item()))
            log(f"step {done}: held-out PSNR {history[-1]['heldout_psnr']:.2f} dB ({len(probe)} clips of "
                f"{c.eval_frames} frames), {(time.time() - t0) / 60:.1f} min")
        if ckpt is not None and _checkpoint_due(done, c.save_every, c.steps, stop_after):
            _save_state(ckpt, vae, opt, done, c, history,
                        [before[0] + time.time() - t0, before[1] + time.process_time() - cpu0], gen)
        if done == stop_after:
            return vae, dict(stopped_at=done, history=history)

    # 3. scaling_factor on fresh clips, held-out evaluation, the VAE written to out_dir
    seconds = [before[0] + time.time() - t0, before[1] + time.process_time() - cpu0]
    metrics = _stage1_metrics(vae, c, history, seconds, log)
    if out_dir is not None:
        vae.save_pretrained(out_dir, metadata={k: str(v) for k, v in metrics.items()})
    metrics["history"] = history
    return vae, metrics


# ----------------------------------------------------------------------------- stage 2: the decoder

def finetune_decoder(vae: CausalVAE, config: DecoderFinetuneConfig | None = None, *,
                     out_dir: str | Path | None = None, stop_after: int | None = None, log=print,
                     **overrides) -> dict:
    """Stage 2: fine-tune the decoder alone on posterior means, the encoder frozen (as Stable
    Diffusion's ft-MSE decoders were tuned after the autoencoder). The latent space, and with it
    `scaling_factor` and any diffusion model trained on it, stays exactly the same; only
    decode(z) gets sharper. Trains on full `frames`-frame clips, the length the pipeline decodes.
    The recipe is `config` (a `DecoderFinetuneConfig`) with any field overridden by keyword; with
    `out_dir`, a resumable `decoder_checkpoint.safetensors` is kept there as `train_vae` keeps its
    own. Returns the metrics (`decoder_*`), `vae` fine-tuned in place."""
    c = DecoderFinetuneConfig.from_dict({**asdict(config or DecoderFinetuneConfig()), **overrides})
    # 1. setup: the decoder's parameters, AdamW, resume, the clips from where the run stopped
    dev = resolve_device(c.device)
    vae = vae.to(dev)
    vae.encoder.requires_grad_(False)
    params = [p for n, p in vae.named_parameters() if not n.startswith("encoder.")]
    opt = torch.optim.AdamW(params, lr=c.lr, betas=(0.9, 0.99), weight_decay=0.0)
    ckpt = None if out_dir is None else Path(out_dir) / "decoder_checkpoint.safetensors"
    start, history, before = _resume(ckpt, vae, opt, c, log)
    batches = shapes_batches(c.frames, c.size, c.seed + 7919, c.batch_size, c.workers, c.two_objects, skip=start)
    probe = shapes_clips(8, seed=EVAL_SEED + 3, frames=c.frames, size=c.size) if c.eval_every else None
    t0, cpu0 = time.time(), time.process_time()
    # 2. the loop: decode the frozen encoder's posterior mean, reconstruction loss, AdamW
    for step in tqdm(range(start, c.steps), initial=start, total=c.steps, desc="fine-tune decoder",
                     disable=not c.progress):
        x = next(batches).to(dev, non_blocking=True)
        for group in opt.param_groups:
            group["lr"] = vae_lr_at(step, c.steps, c.lr, max_warmup=50, decay_from=0.0)
        with torch.no_grad():
            vae.eval()
            z = vae.encode(x).mean
        vae.decoder.train()
        with autocast(dev):
            recon = vae.decode(z)
        loss = reconstruction_loss(recon, x, c.fg_weight)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        history.append(dict(step=step, loss=loss.item()))
        if probe is not None and (step + 1) % c.eval_every == 0:
            history[-1]["heldout_psnr"] = p = evaluate_psnr(vae, probe).mean().item()
            log(f"decoder step {step + 1}: held-out PSNR {p:.2f} dB ({len(probe)} clips)")
        if ckpt is not None and _checkpoint_due(step + 1, c.save_every, c.steps, stop_after):
            _save_state(ckpt, vae, opt, step + 1, c, history,
                        [before[0] + time.time() - t0, before[1] + time.process_time() - cpu0])
        if step + 1 == stop_after:
            break
    vae.requires_grad_(True)
    wall, cpu = before[0] + time.time() - t0, before[1] + time.process_time() - cpu0
    return dict(decoder_steps=c.steps, decoder_batch_size=c.batch_size, decoder_frames=c.frames,
                decoder_lr=c.lr, decoder_two_objects=c.two_objects, decoder_wall_minutes=wall / 60,
                decoder_cpu_minutes=(wall if dev.type == "cuda" else cpu) / 60, decoder_history=history)


# ----------------------------------------------------------------------------- CLI

def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True, help="output folder (config.json + model.safetensors)")
    p.add_argument("--steps", type=int, default=2500, help="stage 1: whole-VAE steps (0: skip, with --init)")
    p.add_argument("--batch-size", type=int, default=16, help="clips per step (8x as many single frames)")
    p.add_argument("--frames", type=int, nargs="+", default=[1, 9], help="clip lengths (1+4k), in turn")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--kl-weight", type=float, default=1e-4)
    p.add_argument("--fg-weight", type=float, default=4.0, help="extra loss weight on object pixels")
    p.add_argument("--size", type=int, default=64, help="frame size (pixels) of training and evaluation clips")
    p.add_argument("--decoder-steps", type=int, default=300,
                   help="stage 2: decoder-only fine-tuning steps on 17-frame clips (0: skip)")
    p.add_argument("--init", default=None, help="start from this checkpoint folder instead of random weights")
    p.add_argument("--channels", type=int, nargs="+", default=None,
                   help="block_out_channels (default: the tiny preset's)")
    p.add_argument("--groups", type=int, default=None, help="GroupNorm groups (default: the tiny preset's)")
    p.add_argument("--two-objects", type=float, default=0.5,
                   help="share of two-object scenes in both stages (0: one object only, as before 2026-12-02)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    p.add_argument("--workers", type=int, default=2, help="DataLoader processes rendering clips")
    p.add_argument("--eval-every", type=int, default=500)
    p.add_argument("--eval-clips", type=int, default=32, help="held-out clips of the final evaluations")
    p.add_argument("--eval-two-object-clips", type=int, default=120,
                   help="held-out two-object clips of the evaluation after stage 2 (with --two-objects > 0)")
    p.add_argument("--save-every", type=int, default=100, help="resumable checkpoint every n steps (0: only the last)")
    p.add_argument("--float32", action="store_true", help="store float32 weights (default: float16, half the size)")
    p.add_argument("--metrics", default=None, help="also write the metrics (and loss histories) to this json")
    return p


def main(argv=None) -> int:
    p = _parser()
    a = p.parse_args(argv)
    if a.threads:
        torch.set_num_threads(a.threads)
    over = {}
    if a.channels:
        over["block_out_channels"] = tuple(a.channels)
    if a.groups:
        over["norm_num_groups"] = a.groups
    config = VAEConfig(**{**VAEConfig.tiny().__dict__, **over})
    vae = CausalVAE.from_pretrained(a.init) if a.init else None
    # 1. the whole VAE (from random weights, or from --init), resumable in --out
    if a.steps:
        train_config = VAETrainConfig.from_dict(dict(
            steps=a.steps, batch_size=a.batch_size, frames=tuple(a.frames), lr=a.lr, kl_weight=a.kl_weight,
            fg_weight=a.fg_weight, size=a.size, seed=a.seed, device=a.device, workers=a.workers,
            two_objects=a.two_objects, eval_every=a.eval_every, eval_clips=a.eval_clips, save_every=a.save_every))
        vae, metrics = train_vae(config, a.out, train_config, init=vae)
    elif vae is None:
        p.error("--steps 0 needs --init (a checkpoint whose decoder to fine-tune)")
    else:
        with safe_open(str(Path(a.init) / "model.safetensors"), "pt") as f:   # stage-1 metrics, kept
            metrics = {k: v for k, v in (f.metadata() or {}).items() if k != "format"}
    # 2. the decoder alone, resumable in --out
    if a.decoder_steps:
        tune = DecoderFinetuneConfig(steps=a.decoder_steps, fg_weight=a.fg_weight, size=a.size, seed=a.seed + 1,
                                     device=a.device, workers=a.workers, eval_every=a.eval_every // 5,
                                     save_every=a.save_every, two_objects=a.two_objects)
        metrics.update(finetune_decoder(vae, tune, out_dir=a.out))
        metrics.update(evaluate_vae(vae, eval_clips=a.eval_clips, size=a.size,
                                    two_object_clips=a.eval_two_object_clips if a.two_objects else 0))
    # 3. the VAE, then the stages' checkpoints are no longer needed
    vae.save_pretrained(a.out, metadata={k: str(v) for k, v in metrics.items() if "history" not in k},
                        dtype=None if a.float32 else torch.float16)
    for name in ("checkpoint.safetensors", "decoder_checkpoint.safetensors"):
        (Path(a.out) / name).unlink(missing_ok=True)
    if a.metrics:
        Path(a.metrics).write_text(json.dumps(metrics, indent=1))
    print(json.dumps({k: v for k, v in metrics.items() if "history" not in k}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
