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
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
import torch.distributed as dist
import torch.nn as nn
from safetensors import safe_open
from tqdm.auto import tqdm

from . import shapes
from .causal_vae import CausalVAE
from .data import LatentCache, holdout_captions, two_object_holdout_captions
from .dit import DiTConfig, VideoDiT
from .frame_pack import pack
from .pipeline import Pipeline, PipelineConfig
from .rectified_flow import TimestepSampler, rf_loss, to_model_timestep
from .sizes import check_frames, check_size, latent_length
from .text_encoder import TextEncoderConfig, TinyTextEncoder, WordTokenizer
from .utils import (ASSETS, asset_folder, autocast, config_from_dict, load_safetensors,
                    load_state_dict_strict, read_json, resolve_device, save_safetensors_atomic,
                    write_json_atomic)
from .video import save_video

SAMPLE_PROMPTS = ("a red circle moving left on a black background",
                  "a blue square moving up on a white background",
                  "a yellow triangle moving right on a gray background",
                  "a purple circle moving down on a white background")
MIXTURE_PROMPTS = ("a red circle moving left and a blue square moving up on a white background",
                   "회색 배경 위에서 오른쪽으로 움직이는 노란 삼각형")


# ----------------------------------------------------------------------------- config

@dataclass
class Stage:
    """One stage of the progressive schedule: train until global step `until` at `size`×`size`
    pixels on clips of the durations `frames` (1 = still images), drawn with probabilities `mix`,
    from the first `clips[i]` clips of the dataset for duration `frames[i]` (default: all);
    `objects=1` draws only the one-object clips of a Shapes mixture (a curriculum: simple scenes
    first), None all of them. `lr` restarts the learning rate at the stage's first step (a warm
    restart, SGDR): warm-up to `lr`, then a cosine decay to `lr·min_lr_ratio` at the end of the
    stage (or of the next restart); the steps before it keep their own schedule unchanged."""
    until: int
    size: int = 64
    frames: tuple[int, ...] = (17,)
    mix: tuple[float, ...] | None = None
    clips: tuple[int, ...] | None = None
    objects: int | None = None
    lr: float | None = None

    def __post_init__(self):
        self.frames = tuple(check_frames(int(f)) for f in self.frames)
        check_size(self.size)
        for name in ("mix", "clips"):
            v = getattr(self, name)
            if v is None:
                continue
            v = tuple(float(m) if name == "mix" else int(m) for m in v)
            setattr(self, name, v)
            if len(v) != len(self.frames) or min(v) < 0 or sum(v) <= 0:
                raise ValueError(f"Stage {name}={v} must give one non-negative value per duration "
                                 f"in frames={self.frames}")
        if self.objects not in (None, 1):
            raise ValueError(f"Stage objects={self.objects!r}: use 1 (one-object clips only) or None (all clips)")
        if self.lr is not None and not self.lr > 0:
            raise ValueError(f"Stage lr={self.lr!r}: a restart's peak learning rate must be > 0 (or None: no restart)")

    @property
    def probs(self) -> torch.Tensor:
        m = torch.tensor(self.mix if self.mix is not None else [1.0] * len(self.frames))
        return m / m.sum()

    def num_clips(self, i: int, available: int) -> int:
        """How many clips duration `frames[i]` draws from."""
        return available if self.clips is None else max(1, min(available, self.clips[i]))


@dataclass
class TrainConfig:
    out_dir: str = "runs/tiny"
    data: str = "shapes"                 # "shapes" or a folder of clips + captions (see data.ClipFolder)
    vae: str = "assets/tiny/vae"         # CausalVAE folder (frozen)
    dit: str = "tiny"                    # DiTConfig preset name
    dit_overrides: dict = field(default_factory=dict)
    text_depth: int = 2
    text_heads: int = 4
    num_clips: int = 4096                # clips cached per (size, duration)
    data_seed: int = 0
    holdout: list = field(default_factory=list)   # Shapes combinations never shown (captions)
    paraphrase: bool = False             # Shapes captions drawn from shapes.PARAPHRASES
    two_objects: float = 0.0             # share of two-object Shapes scenes
    korean: float = 0.0                  # share of Korean Shapes captions
    stages: list = field(default_factory=lambda: [Stage(until=1000)])
    batch_size: int = 32                 # global batch (split across DDP processes)
    lr: float = 1e-3
    min_lr_ratio: float = 0.1            # cosine decay to lr·min_lr_ratio at the last step
    warmup: int = 100
    weight_decay: float = 0.01
    decay_by: str = "dim"                # "dim": matrices decay (nanoGPT); "name": the old name rule
    zero_init: bool = True               # adaLN-Zero (VideoDiT.initialize_weights) for a new model; `tiny` turns it off
    betas: tuple = (0.9, 0.99)
    ema_decay: float = 0.999
    grad_clip: float = 1.0
    caption_dropout: float = 0.1
    timesteps: str = "logit_normal"      # training-time distribution (rectified_flow.TimestepSampler)
    time_shift: float = 1.0
    init: str | None = None              # start from this pipeline folder's weights (fine-tuning)
    latent_dir: str | None = ""          # VAE latents kept on disk: "" = <out_dir>/latents, None = RAM only
    cache_workers: int = -1              # processes rendering clips for the latent cache (-1: 0 on CPU, up to 8 on GPU)
    sample_every: int = 0                # 0: one sample GIF at the end only
    sample_prompts: list = field(default_factory=lambda: list(SAMPLE_PROMPTS))
    sample_steps: int = 20               # also the exported pipeline's default steps
    guidance: float = 4.0                # the exported pipeline's default guidance
    sample_shift: float = 1.0            # ... and its default timestep shift (rectified_flow.shift_time)
    save_every: int = 500
    log_every: int = 10
    seed: int = 0
    device: str = "auto"
    bf16: bool = True
    threads: int = 0                     # CPU threads for torch (0 = torch's default)
    progress: bool = True

    def __post_init__(self):
        self.stages = [s if isinstance(s, Stage) else Stage(**s) for s in self.stages]
        if not self.stages:
            raise ValueError("TrainConfig.stages is empty; give at least one Stage(until=steps)")
        ends = [s.until for s in self.stages]
        if ends != sorted(ends) or len(set(ends)) != len(ends) or ends[0] <= 0:
            raise ValueError(f"stage ends must be positive and strictly increasing, got {ends}")
        self.betas = tuple(self.betas)
        if self.decay_by not in ("dim", "name"):
            raise ValueError(f"decay_by must be 'dim' or 'name', got {self.decay_by!r}")
        if not 0 <= self.caption_dropout < 1:
            raise ValueError(f"caption_dropout must be in [0, 1), got {self.caption_dropout}")

    @property
    def steps(self) -> int:
        return self.stages[-1].until

    def steps_per_size(self) -> dict[int, int]:
        """How many steps the schedule spends at each resolution, {size: steps} (low → high)."""
        out, start = {}, 0
        for s in self.stages:
            out[s.size] = out.get(s.size, 0) + s.until - start
            start = s.until
        return out

    def stage_at(self, step: int) -> Stage:
        return next((s for s in self.stages if step < s.until), self.stages[-1])

    def with_steps(self, steps: int) -> "TrainConfig":
        """The same schedule stretched or shrunk to `steps` total steps."""
        f = steps / self.steps
        ends = [max(i + 1, round(s.until * f)) for i, s in enumerate(self.stages)]
        ends[-1] = steps
        stages = [replace(s, until=e) for s, e in zip(self.stages, ends)]
        return replace(self, stages=stages, warmup=min(self.warmup, max(1, steps // 10)))

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        """The inverse of `to_dict` (e.g. a run's train_config.json); unknown keys are an error
        (`utils.config_from_dict`, the package's one policy)."""
        return config_from_dict(cls, d, "TrainConfig")

    # ------------------------------------------------------------------ presets
    # Each preset spells out its whole recipe; `**kw` overrides any field. `tiny` is the one recipe
    # for the tiny model, one run from random weights, and assets/tiny is its export; the runs and
    # 32-px ablations that shaped this version are in docs/training.md.
    @classmethod
    def tiny(cls, **kw) -> "TrainConfig":
        """The tiny model's recipe in one run: the Shapes mixture (half the clips two-object scenes,
        a quarter of the captions Korean, the 720 two-object pairs of `shapes.compositional_holdout`
        never shown) after a one-object curriculum (`tiny_stages`), progressive 32 px → 64 px with
        images + 9- and 17-frame clips, one warm-up + cosine schedule from 1e-3 down to 2e-5, weight
        decay on every matrix. PyTorch's default init, not adaLN-Zero: measured, adaLN-Zero delays the
        direction word by thousands of steps in a model this small (docs/training.md). Sampling
        defaults of the export: CFG 2.5 with timestep shift 2, picked after training on tuning seeds
        (docs/training.md, "Sampling defaults")."""
        return cls.from_dict({**dict(out_dir="runs/tiny", stages=tiny_stages(), num_clips=6144,
                                     two_objects=0.5, korean=0.25, holdout=two_object_holdout_captions(),
                                     batch_size=32, lr=1e-3, min_lr_ratio=0.02, warmup=200, zero_init=False,
                                     ema_decay=0.999, sample_every=2000, save_every=250, guidance=2.5,
                                     sample_shift=2.0,
                                     sample_prompts=list(SAMPLE_PROMPTS[:2]) + list(MIXTURE_PROMPTS)), **kw})

    @classmethod
    def fast(cls, **kw) -> "TrainConfig":
        """A short run for notebooks and CI: a few dozen steps, the same stages in small."""
        stages = [Stage(until=10, size=32, frames=(1, 9), mix=(0.3, 0.7)),
                  Stage(until=30, size=64, frames=(1, 9, 17), mix=(0.1, 0.3, 0.6))]
        return cls.from_dict({**dict(out_dir="runs/fast", stages=stages, num_clips=64, batch_size=8,
                                     warmup=5, ema_decay=0.9, sample_every=0, save_every=30, log_every=1,
                                     sample_steps=4, sample_prompts=list(SAMPLE_PROMPTS[:2])), **kw})

    @classmethod
    def holdout_experiment(cls, **kw) -> "TrainConfig":
        """The `tiny` recipe with, in addition, 24 of the 216 one-object combinations never shown
        (compositional generalisation of one-object prompts)."""
        return cls.tiny(**{**dict(out_dir="runs/holdout",
                                  holdout=holdout_captions() + two_object_holdout_captions()), **kw})

    @classmethod
    def folder(cls, data: str = "clips", **kw) -> "TrainConfig":
        """Real clips from a folder (see data.ClipFolder) with the `tiny` recipe; no sample prompts."""
        return cls.from_dict({**dict(out_dir="runs/folder", data=data, sample_prompts=[],
                                     stages=progressive_stages(), num_clips=4096, batch_size=32, lr=1e-3,
                                     warmup=100, sample_every=500, save_every=250), **kw})


def tiny_stages() -> list[Stage]:
    """The `tiny` schedule: 3000 steps at 32 px on the one-object clips of the mixture only (the
    direction word is learned there, between steps 2000 and 3000 in the ablations), 3000 more at
    32 px on all of it, 64 px to step 12000 (the end of the first cosine), then a warm restart at
    lr 3e-4 for 14000 more steps at 64 px (the cool-down that teaches squares), a second, lower
    one at lr 1e-4 for 7000 steps, and a third at lr 1e-4 for 7000 more (docs/training.md)."""
    small = dict(size=32, frames=(1, 9, 17), mix=(0.2, 0.3, 0.5))
    large = dict(size=64, frames=(1, 9, 17), mix=(0.1, 0.2, 0.7))
    return [Stage(until=3000, objects=1, **small), Stage(until=6000, **small),
            Stage(until=12000, **large), Stage(until=26000, lr=3e-4, **large),
            Stage(until=33000, lr=1e-4, **large), Stage(until=40000, lr=1e-4, **large)]


def progressive_stages() -> list[Stage]:
    """The `folder` schedule (CogVideoX's progressive training): 1000 steps at 32 px, then 64 px to
    step 6500; images and 9- and 17-frame clips mixed, more long clips at 64 px."""
    return [Stage(until=1000, size=32, frames=(1, 9, 17), mix=(0.2, 0.3, 0.5)),
            Stage(until=6500, size=64, frames=(1, 9, 17), mix=(0.1, 0.2, 0.7))]


PRESETS = {"tiny": TrainConfig.tiny, "fast": TrainConfig.fast,
           "holdout": TrainConfig.holdout_experiment, "folder": TrainConfig.folder}


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
    LayerNorm affines) do not. `config.decay_by="name"` restores the old grouping by name, which
    also exempted every tensor named *emb* or *norm* — among them all adaLN modulation matrices."""
    decay, no_decay = [], []
    for n, p in model.named_parameters():
        by_name = config.decay_by == "name" and ("emb" in n or "norm" in n)
        (no_decay if p.ndim < 2 or by_name else decay).append(p)
    return torch.optim.AdamW([{"params": decay, "weight_decay": config.weight_decay},
                              {"params": no_decay, "weight_decay": 0.0}],
                             lr=config.lr, betas=config.betas)


# ----------------------------------------------------------------------------- schedule helpers

def warmup_cosine(step: int, total: int, lr: float, warmup: int, min_ratio: float,
                  decay_start: int | None = None) -> float:
    """The learning rate of `step` (of `total`): linear warm-up over the first `warmup` steps, held
    at `lr` until `decay_start` (default: the end of warm-up), then a cosine decay to
    `lr·min_ratio` at the last step. The one LR schedule of both trainers (train, train_vae)."""
    if step < warmup:
        return lr * (step + 1) / warmup
    start = warmup if decay_start is None else decay_start
    if step < start:
        return lr
    p = (step - start) / max(1, total - start)
    return lr * (min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * p)))


def lr_at(config: TrainConfig, step: int) -> float:
    """Linear warm-up to `lr`, then cosine decay to `lr·min_lr_ratio` at the last step; a stage with
    its own `lr` starts a new cycle of the same form (warm restart) that ends where the next one
    starts or at the last step."""
    starts, peaks, begin = [0], [config.lr], 0
    for s in config.stages:
        if s.lr is not None and begin == 0:
            peaks[0] = s.lr
        elif s.lr is not None:
            starts.append(begin)
            peaks.append(s.lr)
        begin = s.until
    c = max(i for i, b in enumerate(starts) if step >= b)
    end = starts[c + 1] if c + 1 < len(starts) else config.steps
    return warmup_cosine(step - starts[c], end - starts[c], peaks[c], config.warmup, config.min_lr_ratio)


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
    tensors = {f"model.{k}": v for k, v in model.state_dict().items()}
    tensors.update({f"ema.{k}": v for k, v in ema.state_dict().items()})
    osd = opt.state_dict()
    for pid, st in osd["state"].items():
        for k, v in st.items():
            tensors[f"optim.{pid}.{k}"] = v if torch.is_tensor(v) else torch.tensor(v)
    meta = dict(step=str(step), seconds=f"{seconds:.1f}", config=json.dumps(config.to_dict()),
                param_groups=json.dumps(osd["param_groups"]))
    save_safetensors_atomic(tensors, path, metadata=meta)


def load_checkpoint(path: Path, model: nn.Module, ema: nn.Module, opt: torch.optim.Optimizer
                    ) -> tuple[int, dict]:
    """Load a checkpoint into model, EMA and optimizer; returns (step, the config it was written
    with, as a dict; its "seconds" key is the training time up to it, when recorded)."""
    with safe_open(str(path), "pt") as f:
        meta = f.metadata()
    tensors = load_safetensors(path)
    pick = lambda p: {k[len(p):]: v for k, v in tensors.items() if k.startswith(p)}
    load_state_dict_strict(model, pick("model."), what=f"checkpoint {path} (model)")
    load_state_dict_strict(ema, pick("ema."), what=f"checkpoint {path} (ema)")
    state: dict[int, dict] = {}
    for k, v in pick("optim.").items():
        pid, name = k.split(".", 1)
        state.setdefault(int(pid), {})[name] = v
    opt.load_state_dict({"state": state, "param_groups": json.loads(meta["param_groups"])})
    config = json.loads(meta["config"])
    if "seconds" in meta:
        config["seconds"] = float(meta["seconds"])
    return int(meta["step"]), config


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


def export_run(out_dir: Path, ema: TextToVideo, vae, config: TrainConfig, export: str | Path | None,
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
        export_run(out_dir, ema, vae, config, export, init_info, step, seconds, history)
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
    p.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE",
                   help="override config fields, values as JSON (e.g. lr=5e-4 batch_size=64)")
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
              f"{np.mean([l for _, l in res.history[-50:]]):.4f}; pipeline in {res.out_dir}"
              + (f" and {args.export}" if args.export else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
