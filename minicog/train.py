"""Trainer: text encoder + VideoDiT trained jointly with the rectified-flow loss on VAE latents.

    python -m minicog.train --preset tiny --out runs/tiny --export runs/release    # the one recipe (make train-tiny)
    python -m minicog.train --preset fast --out runs/fast                          # a 1-minute run
    python -m minicog.train --preset folder --data my_clips/ --out runs/mine       # real clips
    torchrun --nproc_per_node 2 -m minicog.train --preset tiny --out runs/ddp       # several GPUs/CPUs

What happens (CogVideoX §3.2 "mixed-duration training" and "progressive training"):

1. Clips are encoded once by the frozen causal VAE and cached in memory — for every (resolution,
   duration) of the progressive schedule `config.stages` (low → high resolution, short → long).
2. Each step draws a batch whose clips have different durations (images = 1 frame, 9- and
   17-frame clips, ...), packs them with `frame_pack.pack` (padding + a frame mask) and applies the
   rectified-flow loss on the real frames only. Captions are dropped to "" with probability
   `caption_dropout` so the model also learns the unconditional velocity for classifier-free guidance.
3. AdamW with linear warm-up and cosine decay, gradient clipping, an EMA of the weights (the EMA is
   what gets exported), bf16 autocast on GPU, tqdm with the loss, sample GIFs every `sample_every`
   steps, atomic safetensors checkpoints (`checkpoint.safetensors`) and exact resume: every step's
   randomness is derived from (seed, step), so a resumed run continues the same run.
4. With `torchrun`, each process takes a slice of the global batch and DistributedDataParallel
   averages the gradients; rank 0 writes checkpoints, samples and the exported pipeline.

The settings (`TrainConfig`, `Stage`, the presets) live in `minicog.train_config`, the learning-rate
schedule in `minicog.lr_schedule`, the checkpoint format in `minicog.checkpoint`.
"""
from __future__ import annotations

import argparse
import copy
import json
import math
import os
import shlex
import sys
import time
import warnings
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
import torch.distributed as dist
import torch.nn as nn
from tqdm.auto import tqdm

from . import shapes
from .causal_vae import CausalVAE
from .checkpoint import load_training_state, save_training_state
from .data import LatentCache
from .dit import DiTConfig, VideoDiT
from .frame_pack import pack
from .lr_schedule import lr_at
from .pipeline import Pipeline, PipelineConfig
from .rectified_flow import TimestepSampler, rf_loss, to_model_timestep
from .sizes import latent_length
from .text_encoder import TextEncoderConfig, TinyTextEncoder, WordTokenizer
from .train_config import PRESETS, Stage, TrainConfig
from .utils import ASSETS, asset_folder, autocast, read_json, resolve_device, write_json_atomic
from .video import save_video

__all__ = ["PRESETS", "Stage", "TrainConfig", "TrainResult", "TextToVideo", "batch_loss", "build_model",
           "configure_optimizer", "ema_update", "init_model", "load_vae", "lr_at", "main", "make_batch",
           "train"]


# ----------------------------------------------------------------------------- model

class TextToVideo(nn.Module):
    """What is trained: the text encoder and the DiT, joined so DDP sees one module.

    forward(x, t, ids, ids_mask, video_mask) → velocity; t ∈ [0, 1] is fed to the DiT as 1000·t."""

    def __init__(self, text_encoder: nn.Module, dit: nn.Module):
        super().__init__()
        self.text_encoder = text_encoder
        self.dit = dit

    def forward(self, x, t, ids, ids_mask, video_mask=None):
        text = self.text_encoder(ids, ids_mask)                             # (B, L, D)
        return self.dit(x, to_model_timestep(t), text, text_mask=ids_mask, video_mask=video_mask)


def build_model(config: TrainConfig, vocab: Sequence[str]) -> TextToVideo:
    preset = getattr(DiTConfig, config.dit, None)
    if preset is None:
        raise ValueError(f"unknown DiT preset {config.dit!r}; use a DiTConfig classmethod, e.g. 'tiny'")
    dcfg = preset()
    if config.dit_overrides:
        dcfg = replace(dcfg, **config.dit_overrides)
    tcfg = TextEncoderConfig(vocab=list(vocab), dim=dcfg.text_embed_dim, depth=config.text_depth,
                             heads=config.text_heads)
    dit = VideoDiT(dcfg)
    if config.zero_init:
        dit.initialize_weights()                 # adaLN-Zero
    return TextToVideo(TinyTextEncoder(tcfg), dit)


def init_model(folder: str) -> TextToVideo:
    """The text encoder and DiT of a pipeline folder (e.g. a finished run), in float32, trainable —
    the starting point of a fine-tuning run (`TrainConfig.init`). Architecture and vocabulary are
    the folder's; `dit`, `dit_overrides` and `text_depth` of the config are not used."""
    path = resolve_repo_path(folder)
    if not (Path(path) / "pipeline.json").is_file():
        raise FileNotFoundError(f"TrainConfig.init={folder!r} is not a pipeline folder (no "
                                "pipeline.json); point it at a finished run (e.g. runs/tiny) or assets/tiny")
    pipe = Pipeline.from_pretrained(path, device="cpu")
    return TextToVideo(pipe.text_encoder, pipe.dit).float().train().requires_grad_(True)


def training_history(folder: str) -> dict | None:
    """What trained the pipeline in `folder`: its train_info.json (an export) or train_config.json
    (a run folder), or None."""
    root = Path(resolve_repo_path(folder))
    if (root / "train_info.json").is_file():
        return read_json(root / "train_info.json", "training record")
    if (root / "train_config.json").is_file():
        cfg = read_json(root / "train_config.json", "training config")
        return dict(config=cfg, steps=cfg["stages"][-1]["until"])
    return None


def resolve_repo_path(path: str, part: str | None = None) -> str:
    """"tiny" → the shipped weights (`utils.asset_folder`, its sub-folder `part`). A relative path
    that does not exist here but does in the repository root (e.g. the default "assets/tiny/vae"
    when running from notebooks/) resolves to the latter."""
    if str(path) == "tiny":
        return str(asset_folder("tiny", part))
    p = Path(path)
    root = ASSETS.parent
    return str(root / p) if not p.exists() and not p.is_absolute() and (root / p).exists() else path


def load_vae(path: str, device) -> CausalVAE:
    path = resolve_repo_path(path, "vae")
    if not Path(path).is_dir():
        raise FileNotFoundError(f"VAE folder {path!r} does not exist; train it with "
                                "`python -m minicog.train_vae` or point TrainConfig.vae at one")
    return CausalVAE.from_pretrained(path).to(device).eval().requires_grad_(False)


def vocabulary(config: TrainConfig, cache: LatentCache) -> list[str]:
    """The text encoder's words: the Shapes vocabulary, plus every caption word of a clip folder."""
    vocab = shapes.vocabulary()
    if config.data != "shapes":
        vocab = sorted(set(vocab) | set(WordTokenizer.from_captions(cache.captions).vocab[3:]))
    return vocab


def configure_optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.AdamW:
    """AdamW with weight decay grouped by tensor dimension, as nanoGPT's `configure_optimizers`:
    every matrix (linear weights, adaLN modulation, token embeddings) decays, vectors (biases,
    LayerNorm affines) do not — decay shrinks weights that mix features, not offsets and scales."""
    decay, no_decay = [], []
    for p in model.parameters():
        (decay if p.ndim >= 2 else no_decay).append(p)
    return torch.optim.AdamW([{"params": decay, "weight_decay": config.weight_decay},
                              {"params": no_decay, "weight_decay": 0.0}],
                             lr=config.lr, betas=config.betas)


# ----------------------------------------------------------------------------- the step

@torch.no_grad()
def ema_update(ema: nn.Module, model: nn.Module, decay: float) -> None:
    """θ_ema ← d·θ_ema + (1 − d)·θ (Polyak averaging; buffers are copied)."""
    for e, p in zip(ema.parameters(), model.parameters()):
        e.lerp_(p.detach(), 1 - decay)
    for e, b in zip(ema.buffers(), model.buffers()):
        e.copy_(b)


def step_generator(config: TrainConfig, step: int) -> torch.Generator:
    """All randomness of a step comes from (seed, step): resume and DDP see the same batch."""
    return torch.Generator().manual_seed(config.seed * 1_000_003 + step)


def make_batch(config: TrainConfig, cache: LatentCache, step: int, rank: int = 0, world: int = 1):
    """The slice of the global batch of `step` owned by `rank`: a Frame Pack `PackedBatch`,
    captions (with dropout to ""), times t and noise."""
    stage = config.stage_at(step)
    g = step_generator(config, step)
    B = config.batch_size
    u = torch.rand(B, generator=g)
    dur = torch.multinomial(stage.probs, B, replacement=True, generator=g)
    counts = torch.tensor([stage.num_clips(i, len(cache)) for i in range(len(stage.frames))])
    if stage.objects is None:
        idx = (u * counts[dur]).long()                   # clip index, below its duration's count
    else:                                                # the same draw, among clips of that many objects
        pools = [cache.indices(objects=stage.objects, below=int(c)) for c in counts]
        if not all(len(p) for p in pools):
            raise ValueError(f"stage until={stage.until} asks for {stage.objects}-object clips; the data has none")
        idx = torch.stack([pools[d][int(u[i] * len(pools[d]))] for i, d in enumerate(dur.tolist())])
    drop = torch.rand(B, generator=g) < config.caption_dropout
    t = TimestepSampler(config.timesteps, shift=config.time_shift)(B, generator=g)
    mine = list(range(rank, B, world))
    latents = [cache.get(stage.size, stage.frames[int(dur[i])], int(counts[dur[i]]))[int(idx[i])]
               for i in mine]
    batch = pack(latents)                                # x (b, C, T, h, w), mask (b, T)
    C, T, h, w = batch.x.shape[1:]
    noise = torch.randn(B, C, latent_length(max(stage.frames)), h, w, generator=g)[mine][:, :, :T]
    captions = ["" if drop[i] else cache.captions[int(idx[i])] for i in mine]
    return batch, captions, t[mine], noise.contiguous()


def batch_loss(tokenizer, velocity, batch, captions: list[str], t: torch.Tensor, noise: torch.Tensor,
               device: torch.device, bf16: bool = True) -> torch.Tensor:
    """The rectified-flow loss of one `make_batch` batch (padded frames weighted out), bf16
    autocast on CUDA; `velocity(x, t, cond)` is the model being trained."""
    ids, ids_mask = tokenizer(captions)
    batch = batch.to(device)
    cond = (ids.to(device), ids_mask.to(device), batch.mask)
    with autocast(device, enabled=bf16):
        return rf_loss(velocity, batch.x, cond, t=t.to(device), noise=noise.to(device), weight=batch.weight)


# ----------------------------------------------------------------------------- checkpoints

def save_checkpoint(path: Path, model: nn.Module, ema: nn.Module, opt: torch.optim.Optimizer,
                    step: int, config: TrainConfig, seconds: float = 0.0) -> None:
    """The run's resumable state: weights, EMA, optimizer, the config and the seconds trained."""
    save_training_state(path, {"model": model, "ema": ema}, opt, step,
                        metadata=dict(seconds=f"{seconds:.1f}", config=json.dumps(config.to_dict())))


def load_checkpoint(path: Path, model: nn.Module, ema: nn.Module, opt: torch.optim.Optimizer
                    ) -> tuple[int, dict]:
    """Load a checkpoint into model, EMA and optimizer; returns (step, the config it was written
    with, as a dict; its "seconds" key is the training time up to it, when recorded)."""
    step, meta, _ = load_training_state(path, {"model": model, "ema": ema}, opt)
    config = json.loads(meta["config"])
    if "seconds" in meta:
        config["seconds"] = float(meta["seconds"])
    return step, config


def resume(out_dir: Path, model: nn.Module, ema: nn.Module, opt: torch.optim.Optimizer,
           config: TrainConfig, rank: int = 0) -> tuple[int, list, float]:
    """Load `out_dir`'s checkpoint, if there is one, into the model, EMA and optimizer; returns the
    step to start from, the logged (step, loss) history before it and the training seconds spent
    before it (all runs and resumes together). Warns about changed settings."""
    ckpt_path = out_dir / "checkpoint.safetensors"
    if not ckpt_path.is_file():
        return 0, [], 0.0
    start, old = load_checkpoint(ckpt_path, model, ema, opt)
    seconds = old.pop("seconds", None)
    changed = {k for k, v in config.to_dict().items()
               if k not in ("progress", "device", "threads") and json.dumps(old.get(k)) != json.dumps(v)}
    if changed and rank == 0:
        warnings.warn(f"resuming {ckpt_path} (step {start}) with changed settings: {sorted(changed)}")
    history, records = [], []
    log = out_dir / "log.jsonl"
    if log.is_file():
        records = [r for r in map(json.loads, log.read_text().splitlines()) if r["step"] < start]
        history = [(r["step"], r["loss"]) for r in records]
    if seconds is None:       # a checkpoint without the record: the log's clock of its last segment
        seconds = records[-1]["sec"] if records else 0.0
    return start, history, seconds


def start_run_folder(out_dir: Path, config: TrainConfig, start: int) -> None:
    """Write the run's train_config.json; a run that starts at step 0 starts an empty log."""
    out_dir.mkdir(parents=True, exist_ok=True)
    write_json_atomic(config.to_dict(), out_dir / "train_config.json")
    if start == 0:
        (out_dir / "log.jsonl").write_text("")


def log_step(out_dir: Path, step: int, loss: float, lr: float, stage: Stage, t0: float) -> None:
    """Append one line to the run's log.jsonl."""
    with open(out_dir / "log.jsonl", "a") as f:
        f.write(json.dumps(dict(step=step, loss=loss, lr=lr, size=stage.size,
                                sec=round(time.time() - t0, 2))) + "\n")


# ----------------------------------------------------------------------------- export and samples

def _sample_pipeline_config(config: TrainConfig) -> PipelineConfig:
    """The exported pipeline's defaults: the last stage's longest clip and size, the config's
    sampling steps, guidance and timestep shift; edits keep the unshifted grid their presets were
    measured on (edit_shift 1.0)."""
    last = config.stages[-1]
    return PipelineConfig(frames=max(last.frames), size=last.size, steps=config.sample_steps,
                          guidance=config.guidance, shift=config.sample_shift, edit_shift=1.0)


def _export(out_dir: Path, ema: TextToVideo, vae, config: TrainConfig, dtype=None) -> None:
    """Write the EMA model as a pipeline folder (`dtype=torch.float16` for the shipped copy)."""
    pipe = Pipeline(vae, copy.deepcopy(ema.dit), copy.deepcopy(ema.text_encoder), device="cpu",
                    config=_sample_pipeline_config(config))
    vae_src = resolve_repo_path(config.vae, "vae")
    vae_src = vae_src if Path(vae_src).is_dir() else None
    pipe.save_pretrained(out_dir, vae_source=vae_src, dtype=dtype)
    vae.to(next(ema.parameters()).device)       # the Pipeline moved it to the CPU


def loss_curve(history: Sequence[tuple[int, float]], window: int = 100) -> list[list[float]]:
    """The logged (step, loss) history as [last step, mean loss] per `window` steps: a small loss
    curve to ship with a model (train_info.json)."""
    out: dict[int, list[float]] = {}
    for step, loss in history:
        out.setdefault(step // window, []).append(loss)
    return [[(k + 1) * window, round(float(np.mean(v)), 5)] for k, v in sorted(out.items())]


def export_run(out_dir: Path, ema: TextToVideo, vae, config: TrainConfig, *, export: str | Path | None,
               init_info: dict | None, step: int, seconds: float, history=()) -> None:
    """A finished run: the EMA weights as a pipeline folder in `out_dir`, and — half-size float16,
    with train_info.json recording what trained it and its loss curve — in `export` when given
    (e.g. assets/tiny)."""
    _export(out_dir, ema, vae, config)
    if export is None:
        return
    export = Path(export)
    _export(export, ema, vae, config, dtype=torch.float16)   # shipped: half-size weights
    info = dict(config=config.to_dict(), steps=step, seconds=round(seconds, 1),
                device=str(next(ema.parameters()).device), torch_threads=torch.get_num_threads(),
                loss_curve=loss_curve(history))
    if Path(sys.argv[0]).name == "train.py":   # run as python -m minicog.train: the command itself
        info["command"] = " ".join(["python -m minicog.train"] + [shlex.quote(a) for a in sys.argv[1:]])
    if init_info is not None:
        info["init"] = init_info            # the run this one fine-tuned, and so on back
    write_json_atomic(info, export / "train_info.json")


@torch.no_grad()
def save_samples(path: Path, ema: TextToVideo, vae, config: TrainConfig, device) -> Path | None:
    """A GIF grid: one sample per `config.sample_prompts` (seed 0, EMA weights), side by side."""
    if not config.sample_prompts:
        return None
    pipe = Pipeline(vae, ema.dit, ema.text_encoder, device=device, config=_sample_pipeline_config(config))
    videos = pipe.generate(list(config.sample_prompts), seed=0)
    grid = np.concatenate(videos, axis=2)                                    # (T, H, n·W, 3)
    return save_video(grid, path)


# ----------------------------------------------------------------------------- training

@dataclass
class TrainResult:
    out_dir: Path
    step: int
    history: list                        # [(step, loss)] of every logged step (this run and before)
    model: nn.Module | None = None       # the raw (non-EMA) TextToVideo
    ema: nn.Module | None = None         # the EMA TextToVideo (what is exported)
    seconds: float = 0.0
    cache: "LatentCache | None" = None   # the VAE latents, reusable by a later `train` call

    def pipeline(self, device="cpu"):
        """The exported pipeline (EMA weights) of a finished run."""
        return Pipeline.from_pretrained(self.out_dir, device=device)


def _dist() -> tuple[int, int]:
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def setup_process(config: TrainConfig, rank: int, world: int) -> torch.device:
    """CPU threads and this process's device (under torchrun with CUDA: the GPU of its local rank)."""
    if config.threads:
        torch.set_num_threads(config.threads)
    if dist.is_available() and dist.is_initialized() and torch.cuda.is_available() and config.device == "auto":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", rank)))
        torch.cuda.set_device(device)
    else:
        device = resolve_device(config.device)
    if config.batch_size % world:
        raise ValueError(f"batch_size={config.batch_size} must be divisible by the number of "
                         f"processes ({world})")
    return device


def _mean_loss(loss: torch.Tensor, world: int) -> float:
    """The step's loss as a float, averaged over the DDP processes."""
    value = loss.detach().float()
    if world > 1:
        dist.all_reduce(value)
        value /= world
    return value.item()


def _check_finite(loss: float, grad_norm: torch.Tensor, step: int, stage: Stage, lr: float,
                  ckpt_path: Path) -> None:
    if not (math.isfinite(loss) and torch.isfinite(grad_norm)):
        where = (f"resume from the last good checkpoint {ckpt_path} (not overwritten)"
                 if ckpt_path.is_file() else "no checkpoint was written yet")
        raise FloatingPointError(
            f"training diverged: loss={loss} (grad norm {float(grad_norm)}) at step {step}, "
            f"stage size={stage.size} frames={stage.frames}, lr={lr:.2e}. "
            f"Lower TrainConfig.lr or grad_clip, or check the data for NaN/inf; {where}.")


def train(config: TrainConfig, vae=None, export: str | Path | None = None,
          stop_after: int | None = None, cache: LatentCache | None = None) -> TrainResult:
    """Run (or resume) a training run into `config.out_dir`; returns the history and the models.

    A `checkpoint.safetensors` in `out_dir` is resumed from automatically (delete it, or pick a new
    out_dir, to start over). When done, the EMA weights are exported as a pipeline folder
    (`out_dir/pipeline.json`, `text_encoder/`, `dit/`, `vae/`) that `load_pipeline(out_dir)` opens,
    and also into `export` when given (e.g. assets/tiny). `stop_after=n` checkpoints and stops at
    step n, as if the run had been interrupted there (resume by calling `train` again)."""
    # 1. setup: process and device, the frozen VAE and its latents of the training clips
    rank, world = _dist()
    device = setup_process(config, rank, world)
    out_dir = Path(config.out_dir)
    ckpt_path = out_dir / "checkpoint.safetensors"
    vae = load_vae(config.vae, device) if vae is None else vae.to(device).eval().requires_grad_(False)
    if cache is None:
        cache = LatentCache(config, vae, device, progress=config.progress and rank == 0)
    # 2. the model (new, or a finished run's weights), its EMA copy and the optimizer
    vocab = vocabulary(config, cache)
    init_info = training_history(config.init) if config.init is not None else None
    torch.manual_seed(config.seed)                      # same initial weights on every rank
    model = (build_model(config, vocab) if config.init is None else init_model(config.init)).to(device)
    ema = copy.deepcopy(model).requires_grad_(False).eval()
    opt = configure_optimizer(model, config)
    # 3. resume from out_dir's checkpoint, if any
    start, history, before = resume(out_dir, model, ema, opt, config, rank)
    if rank == 0:
        start_run_folder(out_dir, config, start)
    ddp = model if world == 1 else nn.parallel.DistributedDataParallel(
        model, device_ids=[device.index] if device.type == "cuda" else None)

    def velocity(x, t, cond):
        return ddp(x, t, *cond)

    # 4. the loop: rectified-flow loss on Frame Pack batches, AdamW, EMA; log, sample, checkpoint
    model.train()
    t0 = time.time()
    bar = tqdm(range(start, config.steps), initial=start, total=config.steps, desc="train",
               disable=not (config.progress and rank == 0), dynamic_ncols=True)
    step = start
    for step in bar:
        stage, lr = config.stage_at(step), lr_at(config, step)
        for g in opt.param_groups:
            g["lr"] = lr
        batch = make_batch(config, cache, step, rank, world)   # this rank's slice
        loss = batch_loss(model.text_encoder.tokenizer, velocity, *batch, device, config.bf16)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
        value = _mean_loss(loss, world)
        _check_finite(value, grad_norm, step, stage, lr, ckpt_path)
        opt.step()
        ema_update(ema, model, min(config.ema_decay, (1 + step) / (10 + step)))
        history.append((step, value))
        bar.set_postfix(loss=f"{value:.4f}", lr=f"{lr:.1e}", px=stage.size)
        done = step + 1
        if rank == 0:
            if done % config.log_every == 0 or done == config.steps:
                log_step(out_dir, step, value, lr, stage, t0)
            if config.sample_every and done % config.sample_every == 0 and done < config.steps:
                save_samples(out_dir / "samples" / f"step_{done:06d}.gif", ema, vae, config, device)
            if done % config.save_every == 0 or done == config.steps or done == stop_after:
                save_checkpoint(ckpt_path, model, ema, opt, done, config, before + time.time() - t0)
        step = done
        if done == stop_after:
            break
    bar.close()
    seconds = before + time.time() - t0                 # this run's training time, resumes included
    # 5. a finished run: export the EMA weights and draw the last samples
    if rank == 0 and step >= config.steps:
        export_run(out_dir, ema, vae, config, export=export, init_info=init_info, step=step,
                   seconds=seconds, history=history)
        save_samples(out_dir / "samples" / f"step_{step:06d}.gif", ema, vae, config, device)
    if world > 1:
        dist.barrier()
    return TrainResult(out_dir, step, history, model, ema, seconds, cache)


# ----------------------------------------------------------------------------- CLI

def _parse_value(text: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m minicog.train", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", default="tiny", choices=sorted(PRESETS))
    p.add_argument("--out", help="run folder (default: the preset's out_dir)")
    p.add_argument("--data", help="'shapes' or a folder of clips with captions.txt/captions.json")
    p.add_argument("--steps", type=int, help="total steps (the stage schedule is stretched to fit)")
    p.add_argument("--device", help="auto, cpu, cuda, cuda:N")
    p.add_argument("--export", help="also write the final pipeline here (e.g. assets/tiny)")
    p.add_argument("--set", nargs="*", default=[], action="extend", metavar="KEY=VALUE",
                   help="override config fields, values as JSON (e.g. lr=5e-4 batch_size=64); may be repeated")
    p.add_argument("--no-progress", action="store_true")
    args = p.parse_args(argv)
    kw = {}
    for item in args.set:
        if "=" not in item:
            p.error(f"--set expects KEY=VALUE, got {item!r}")
        k, v = item.split("=", 1)
        kw[k] = _parse_value(v)
    for k, v in (("out_dir", args.out), ("data", args.data), ("device", args.device)):
        if v is not None:
            kw[k] = v
    if args.no_progress:
        kw["progress"] = False
    try:
        config = PRESETS[args.preset](**kw)
    except ValueError as e:                              # unknown fields, invalid values
        p.error(str(e))
    if args.steps:
        config = config.with_steps(args.steps)
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() and config.device != "cpu" else "gloo")
    try:
        res = train(config, export=args.export)
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()
    if _dist()[0] == 0:
        print(f"done: {res.step} steps in {res.seconds / 60:.1f} min, final loss "
              f"{np.mean([loss for _, loss in res.history[-50:]]):.4f}; pipeline in {res.out_dir}"
              + (f" and {args.export}" if args.export else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
