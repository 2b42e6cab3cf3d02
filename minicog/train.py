"""Trainer: text encoder + VideoDiT trained jointly with the rectified-flow loss on VAE latents.

    python -m minicog.train --preset tiny --out runs/tiny --export assets/tiny     # the shipped model
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
import sys
import time
import warnings
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
import torch.distributed as dist
import torch.nn as nn

from .frame_pack import latent_length, pack, valid_length
from .utils import (autocast, load_safetensors, load_state_dict_strict, resolve_device,
                    save_safetensors_atomic, write_json_atomic)

SAMPLE_PROMPTS = ("a red circle moving left on a black background",
                  "a blue square moving up on a white background",
                  "a yellow triangle moving right on a gray background",
                  "a purple circle moving down on a white background")


# ----------------------------------------------------------------------------- config

@dataclass
class Stage:
    """One stage of the progressive schedule: train until global step `until` at `size`×`size`
    pixels on clips of the durations `frames` (1 = still images), drawn with probabilities `mix`,
    from the first `clips[i]` clips of the dataset for duration `frames[i]` (default: all)."""
    until: int
    size: int = 64
    frames: tuple[int, ...] = (17,)
    mix: tuple[float, ...] | None = None
    clips: tuple[int, ...] | None = None

    def __post_init__(self):
        from .shapes import check_frames, check_size
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
    data: str = "shapes"                 # "shapes" or a folder of clips + captions (see ClipFolder)
    vae: str = "assets/tiny/vae"         # CausalVAE folder (frozen)
    dit: str = "tiny"                    # DiTConfig preset name
    dit_overrides: dict = field(default_factory=dict)
    text_depth: int = 2
    text_heads: int = 4
    num_clips: int = 4096                # clips cached per (size, duration)
    data_seed: int = 0
    holdout: list = field(default_factory=list)   # Shapes combinations never shown (captions)
    paraphrase: bool = False             # Shapes captions drawn from shapes.PARAPHRASES
    stages: list = field(default_factory=lambda: [Stage(until=1000)])
    batch_size: int = 32                 # global batch (split across DDP processes)
    lr: float = 1e-3
    min_lr_ratio: float = 0.1            # cosine decay to lr·min_lr_ratio at the last step
    warmup: int = 100
    weight_decay: float = 0.01
    betas: tuple = (0.9, 0.99)
    ema_decay: float = 0.999
    grad_clip: float = 1.0
    caption_dropout: float = 0.1
    timesteps: str = "logit_normal"      # training-time distribution (rectified_flow.TimestepSampler)
    time_shift: float = 1.0
    init: str | None = None              # start from this pipeline folder's weights (fine-tuning)
    latent_dir: str | None = ""          # VAE latents kept on disk: "" = <out_dir>/latents, None = RAM only
    sample_every: int = 0                # 0: one sample GIF at the end only
    sample_prompts: list = field(default_factory=lambda: list(SAMPLE_PROMPTS))
    sample_steps: int = 20               # also the exported pipeline's default steps
    guidance: float = 4.0                # the exported pipeline's default guidance
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
        if not 0 <= self.caption_dropout < 1:
            raise ValueError(f"caption_dropout must be in [0, 1), got {self.caption_dropout}")

    @property
    def steps(self) -> int:
        return self.stages[-1].until

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
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown TrainConfig fields {sorted(unknown)}; known: {sorted(known)}")
        return cls(**d)

    # ------------------------------------------------------------------ presets
    @classmethod
    def tiny(cls, **kw) -> "TrainConfig":
        """The shipped tiny model: progressive 32 px → 64 px, images + 9- and 17-frame clips mixed."""
        stages = [Stage(until=800, size=32, frames=(1, 9, 17), mix=(0.2, 0.3, 0.5)),
                  Stage(until=4000, size=64, frames=(1, 9, 17), mix=(0.1, 0.2, 0.7))]
        return cls(**{**dict(out_dir="runs/tiny", stages=stages, num_clips=4096, batch_size=32,
                             lr=1e-3, warmup=100, sample_every=500, save_every=250), **kw})

    @classmethod
    def tiny_finetune(cls, **kw) -> "TrainConfig":
        """Stage 3 of the shipped model: the finished `tiny` run (its exported EMA weights) trained
        on at 64 px with a fresh optimiser, a third of the learning rate decaying to a tenth of that,
        and a shorter EMA — a cool-down that is what sharpens the squares (docs/training.md). Reuses
        the latents of the `tiny` run (runs/tiny/latents) when they are there."""
        stages = [Stage(until=3000, size=64, frames=(1, 9, 17), mix=(0.1, 0.2, 0.7))]
        return cls.tiny(**{**dict(out_dir="runs/tiny_ft", init="runs/tiny", latent_dir="runs/tiny/latents",
                                  stages=stages, lr=3e-4, warmup=50, ema_decay=0.998, seed=1), **kw})

    @classmethod
    def tiny_finetune2(cls, **kw) -> "TrainConfig":
        """Stage 4 of the shipped model: a second, longer cool-down from the exported stage-3 run
        (runs/tiny_ft): 9000 steps, lr 2e-4 decaying to 1e-5, EMA 0.999, new batch draws (seed 2)."""
        stages = [replace(s, until=9000) for s in cls.tiny_finetune().stages]   # stage 3's, longer
        return cls.tiny_finetune(**{**dict(out_dir="runs/tiny_ft2", init="runs/tiny_ft", stages=stages,
                                           lr=2e-4, min_lr_ratio=0.05, ema_decay=0.999, seed=2), **kw})

    @classmethod
    def tiny_finetune3(cls, **kw) -> "TrainConfig":
        """Stage 5 of the shipped model: a third cool-down from the exported stage-4 run
        (runs/tiny_ft2): 7000 steps, lr 1e-4 decaying to 5e-6, EMA 0.999, new batch draws (seed 3)."""
        stages = [replace(s, until=7000) for s in cls.tiny_finetune().stages]
        return cls.tiny_finetune2(**{**dict(out_dir="runs/tiny_ft3", init="runs/tiny_ft2", stages=stages,
                                            lr=1e-4, seed=3), **kw})

    @classmethod
    def fast(cls, **kw) -> "TrainConfig":
        """A short run for notebooks and CI: a few dozen steps, the same stages in small."""
        stages = [Stage(until=10, size=32, frames=(1, 9), mix=(0.3, 0.7)),
                  Stage(until=30, size=64, frames=(1, 9, 17), mix=(0.1, 0.3, 0.6))]
        return cls(**{**dict(out_dir="runs/fast", stages=stages, num_clips=64, batch_size=8,
                             warmup=5, ema_decay=0.9, sample_every=0, save_every=30, log_every=1,
                             sample_steps=4, sample_prompts=list(SAMPLE_PROMPTS[:2])), **kw})

    @classmethod
    def holdout_experiment(cls, **kw) -> "TrainConfig":
        """`tiny` with 24 of the 216 combinations never shown (compositional generalisation)."""
        return cls.tiny(**{**dict(out_dir="runs/holdout", holdout=holdout_captions()), **kw})

    @classmethod
    def folder(cls, data: str = "clips", **kw) -> "TrainConfig":
        """Real clips from a folder (see ClipFolder); the same schedule as `tiny`."""
        return cls.tiny(**{**dict(out_dir="runs/folder", data=data, sample_prompts=[]), **kw})


PRESETS = {"tiny": TrainConfig.tiny, "tiny_finetune": TrainConfig.tiny_finetune,
           "tiny_finetune2": TrainConfig.tiny_finetune2,
           "tiny_finetune3": TrainConfig.tiny_finetune3, "fast": TrainConfig.fast,
           "holdout": TrainConfig.holdout_experiment, "folder": TrainConfig.folder}


def holdout_captions(every: int = 9) -> list[str]:
    """Every 9th Shapes combination (24 of 216): each colour, shape, direction and background is
    still seen in training, only these particular combinations are not."""
    from . import shapes
    return [shapes.caption(**c) for c in shapes.all_combinations()[::every]]


# ----------------------------------------------------------------------------- data

VIDEO_EXTS = (".mp4", ".gif", ".webm", ".mov", ".avi")
IMAGE_EXTS = (".png", ".jpg", ".jpeg")


def resize_crop(video: np.ndarray, size: int) -> torch.Tensor:
    """uint8 (T, H, W, 3) → float (C, T, size, size) in [-1, 1]: scale the short side to `size`
    (antialiased) then centre-crop — large frames are cropped, never squashed."""
    from .video import to_tensor
    x = to_tensor(video).permute(1, 0, 2, 3)                                # (T, C, H, W)
    H, W = x.shape[-2:]
    s = size / min(H, W)
    if (H, W) != (size, size):
        new = (max(size, round(H * s)), max(size, round(W * s)))
        x = torch.nn.functional.interpolate(x, size=new, mode="bilinear", antialias=True,
                                            align_corners=False)
        top, left = (x.shape[-2] - size) // 2, (x.shape[-1] - size) // 2
        x = x[..., top: top + size, left: left + size]
    return x.permute(1, 0, 2, 3).clamp(-1, 1)                               # (C, T, size, size)


class ClipFolder:
    """A folder of real clips (MP4/GIF/...) or images (PNG/JPG) with captions, in either file:

    - `captions.json`: {"clip1.mp4": "a caption", ...}
    - `captions.txt`:  one `file<TAB>caption` per line (lines starting with # are skipped)

    Each item is (uint8 video (T, H, W, 3), caption); images are 1-frame videos."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        if not self.root.is_dir():
            raise FileNotFoundError(f"data folder {str(root)!r} does not exist")
        js, txt = self.root / "captions.json", self.root / "captions.txt"
        if js.is_file():
            entries = list(json.loads(js.read_text()).items())
        elif txt.is_file():
            entries = []
            for n, line in enumerate(txt.read_text().splitlines(), 1):
                if not line.strip() or line.startswith("#"):
                    continue
                if "\t" not in line:
                    raise ValueError(f"{txt}:{n}: expected 'file<TAB>caption', got {line!r}")
                name, cap = line.split("\t", 1)
                entries.append((name.strip(), cap.strip()))
        else:
            raise FileNotFoundError(f"{str(root)!r} has no captions.json or captions.txt; write one "
                                    "line 'clip.mp4<TAB>a caption' per clip in captions.txt")
        missing = [n for n, _ in entries if not (self.root / n).is_file()]
        if missing:
            raise FileNotFoundError(f"captioned files missing from {root}: {missing[:5]}")
        bad = [n for n, _ in entries if Path(n).suffix.lower() not in VIDEO_EXTS + IMAGE_EXTS]
        if bad:
            raise ValueError(f"unsupported files {bad[:5]}: use {VIDEO_EXTS + IMAGE_EXTS}")
        if not entries:
            raise ValueError(f"{root}: the captions file lists no clips")
        self.entries = entries

    def __len__(self) -> int:
        return len(self.entries)

    @property
    def captions(self) -> list[str]:
        return [c for _, c in self.entries]

    def __getitem__(self, i: int) -> tuple[np.ndarray, str]:
        name, cap = self.entries[i]
        path = self.root / name
        if path.suffix.lower() in IMAGE_EXTS:
            import imageio.v2 as imageio
            img = np.asarray(imageio.imread(path))
            img = np.repeat(img[..., None], 3, -1) if img.ndim == 2 else img[..., :3]
            return img[None].astype(np.uint8), cap
        from .video import load_video
        return load_video(path), cap


def export_shapes_folder(root: str | Path, n: int = 16, frames: int = 17, size: int = 64,
                         seed: int = 123) -> Path:
    """Write `n` Shapes clips as GIFs plus captions.txt — an example of the folder format."""
    from . import shapes
    from .video import save_video
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    ds = shapes.ShapesDataset(n, frames=frames, size=size, seed=seed)
    lines = []
    for i in range(n):
        attrs, rng = ds.attributes(i)
        save_video(shapes.render(**attrs, frames=frames, size=size, rng=rng), root / f"clip{i:03d}.gif")
        lines.append(f"clip{i:03d}.gif\t{shapes.caption(**attrs)}")
    (root / "captions.txt").write_text("\n".join(lines) + "\n")
    return root


class LatentCache:
    """Frozen-VAE latents of the training clips, per (size, duration), computed on first use.

    With `config.latent_dir` they are also written to disk (one safetensors file per size and
    duration, named by a fingerprint of the data settings and the VAE weights), so a resumed run or a
    fine-tuning run on the same data skips the encoding (minutes on a CPU).

    Clips longer than a duration keep their first frames ("large ones cropped"); shorter real clips
    keep their own (1+4k) length and are padded later by Frame Pack ("small ones padded")."""

    def __init__(self, config: TrainConfig, vae, device: torch.device, progress: bool = True):
        self.cfg, self.vae, self.device, self.progress = config, vae, device, progress
        self.store: dict[tuple[int, int], list[torch.Tensor]] = {}
        d = config.latent_dir
        self.dir = None if d is None else Path(d) if d else Path(config.out_dir) / "latents"
        self._source: str | None = None          # see _fingerprint
        if config.data == "shapes":
            from .shapes import ShapesDataset
            self.folder = None
            self.shapes_args = dict(length=config.num_clips, seed=config.data_seed,
                                    holdout=config.holdout, paraphrase=config.paraphrase)
            ds = ShapesDataset(frames=1, size=16, **self.shapes_args)
            self.captions = [self._shapes_caption(ds, i) for i in range(len(ds))]
        else:
            self.folder = ClipFolder(config.data)
            self.captions = self.folder.captions

    @staticmethod
    def _shapes_caption(ds, i: int) -> str:
        from .shapes import CAPTION_TEMPLATE, PARAPHRASES, caption
        attrs, rng = ds.attributes(i)
        tmpl = PARAPHRASES[rng.integers(len(PARAPHRASES))] if ds.paraphrase else CAPTION_TEMPLATE
        return caption(**attrs, template=tmpl)

    def __len__(self) -> int:
        return len(self.captions)

    def _video(self, i: int, size: int, frames: int) -> torch.Tensor:
        """Clip i as (C, T, size, size) float, at most `frames` long (its first frames)."""
        if self.folder is None:
            from .shapes import ShapesDataset, render
            if getattr(self, "_ds", None) is None:
                self._ds = ShapesDataset(frames=1, size=16, **self.shapes_args)
            attrs, rng = self._ds.attributes(i)
            return resize_crop(render(**attrs, frames=frames, size=size, rng=rng), size)
        v, _ = self.folder[i]
        return resize_crop(v[: valid_length(min(len(v), frames))], size)

    @torch.no_grad()
    def get(self, size: int, frames: int, count: int | None = None) -> list[torch.Tensor]:
        """Scaled latents (C, T_latent, h, w) of the first `count` clips (default all) at this
        size and duration, encoded by the frozen VAE on first use (64 clips per VAE call)."""
        from tqdm.auto import tqdm
        count = len(self) if count is None else min(count, len(self))
        out = self.store.setdefault((size, frames), [])
        if len(out) < count and self.dir is not None:
            out.extend(self._load(size, frames)[len(out):])
        todo = range(len(out), count)
        bar = tqdm(total=len(todo), desc=f"VAE latents {size}px {frames}f", leave=False,
                   disable=not self.progress or not todo)
        for lo in range(todo.start, todo.stop, 64):
            clips = [self._video(i, size, frames) for i in range(lo, min(lo + 64, todo.stop))]
            by_len: dict[int, list[int]] = {}          # real clips may differ in length
            for j, c in enumerate(clips):
                by_len.setdefault(c.shape[1], []).append(j)
            res: list = [None] * len(clips)
            for idx in by_len.values():
                x = torch.stack([clips[j] for j in idx]).to(self.device)
                z = self.vae.encode(x).mean * self.vae.scaling_factor   # (n, C, T_lat, h, w)
                for j, zz in zip(idx, z):
                    res[j] = zz.float().cpu()
            out.extend(res)
            bar.update(len(clips))
        bar.close()
        if todo and self.dir is not None:
            self._save(size, frames, out)
        return out

    # on disk: one safetensors file per (size, duration), named by a fingerprint of what made it
    def _fingerprint(self, size: int, frames: int) -> str:
        import hashlib
        if self._source is None:                 # data settings + VAE weights, hashed once
            h = hashlib.sha1()
            for k, v in sorted(self.vae.state_dict().items()):
                h.update(k.encode())
                h.update(v.detach().float().cpu().numpy().tobytes())
            c = self.cfg
            data = ([(n, (self.folder.root / n).stat().st_size, cap) for n, cap in self.folder.entries]
                    if self.folder is not None else "shapes")
            self._source = json.dumps([data, c.num_clips, c.data_seed, list(c.holdout), c.paraphrase,
                                       h.hexdigest()])
        return hashlib.sha1(f"{self._source}|{size}|{frames}".encode()).hexdigest()[:16]

    def _path(self, size: int, frames: int) -> Path:
        return self.dir / f"{size}px_{frames}f_{self._fingerprint(size, frames)}.safetensors"

    def _load(self, size: int, frames: int) -> list[torch.Tensor]:
        path = self._path(size, frames)
        if not path.is_file():
            return []
        t = load_safetensors(path)
        return [t[str(i)] for i in range(len(t))]

    def _save(self, size: int, frames: int, latents: list[torch.Tensor]) -> None:
        save_safetensors_atomic({str(i): z for i, z in enumerate(latents)}, self._path(size, frames))


# ----------------------------------------------------------------------------- model

class TextToVideo(nn.Module):
    """What is trained: the text encoder and the DiT, joined so DDP sees one module.

    forward(x, t, ids, ids_mask, video_mask) → velocity; t ∈ [0, 1] is fed to the DiT as 1000·t."""

    def __init__(self, text_encoder: nn.Module, dit: nn.Module):
        super().__init__()
        self.text_encoder = text_encoder
        self.dit = dit

    def forward(self, x, t, ids, ids_mask, video_mask=None):
        from .rectified_flow import to_model_timestep
        text = self.text_encoder(ids, ids_mask)                             # (B, L, D)
        return self.dit(x, to_model_timestep(t), text, text_mask=ids_mask, video_mask=video_mask)


def build_model(config: TrainConfig, vocab: Sequence[str]) -> TextToVideo:
    from .dit import DiTConfig, VideoDiT
    from .text_encoder import TextEncoderConfig, TinyTextEncoder
    preset = getattr(DiTConfig, config.dit, None)
    if preset is None:
        raise ValueError(f"unknown DiT preset {config.dit!r}; use a DiTConfig classmethod, e.g. 'tiny'")
    dcfg = preset()
    if config.dit_overrides:
        dcfg = replace(dcfg, **config.dit_overrides)
    tcfg = TextEncoderConfig(vocab=list(vocab), dim=dcfg.text_embed_dim, depth=config.text_depth,
                             heads=config.text_heads)
    return TextToVideo(TinyTextEncoder(tcfg), VideoDiT(dcfg))


def init_model(folder: str) -> TextToVideo:
    """The text encoder and DiT of a pipeline folder (e.g. a finished run), in float32, trainable —
    the starting point of a fine-tuning run (`TrainConfig.init`). Architecture and vocabulary are
    the folder's; `dit`, `dit_overrides` and `text_depth` of the config are not used."""
    from .pipeline import Pipeline
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
        return json.loads((root / "train_info.json").read_text())
    if (root / "train_config.json").is_file():
        cfg = json.loads((root / "train_config.json").read_text())
        return dict(config=cfg, steps=cfg["stages"][-1]["until"])
    return None


def resolve_repo_path(path: str) -> str:
    """A relative path that does not exist here but does in the repository root (e.g. the default
    "assets/tiny/vae" when running from notebooks/) resolves to the latter."""
    p = Path(path)
    root = Path(__file__).resolve().parent.parent
    return str(root / p) if not p.exists() and not p.is_absolute() and (root / p).exists() else path


def load_vae(path: str, device):
    from .causal_vae import CausalVAE
    path = resolve_repo_path(path)
    if not Path(path).is_dir():
        raise FileNotFoundError(f"VAE folder {path!r} does not exist; train it with "
                                "`python -m minicog.train_vae` or point TrainConfig.vae at one")
    return CausalVAE.from_pretrained(path).to(device).eval().requires_grad_(False)


# ----------------------------------------------------------------------------- schedule helpers

def lr_at(config: TrainConfig, step: int) -> float:
    """Linear warm-up to `lr`, then cosine decay to `lr·min_lr_ratio` at the last step."""
    if step < config.warmup:
        return config.lr * (step + 1) / config.warmup
    p = (step - config.warmup) / max(1, config.steps - config.warmup)
    return config.lr * (config.min_lr_ratio + (1 - config.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * p)))


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
    from .rectified_flow import TimestepSampler
    stage = config.stage_at(step)
    g = step_generator(config, step)
    B = config.batch_size
    u = torch.rand(B, generator=g)
    dur = torch.multinomial(stage.probs, B, replacement=True, generator=g)
    counts = torch.tensor([stage.num_clips(i, len(cache)) for i in range(len(stage.frames))])
    idx = (u * counts[dur]).long()                       # clip index, below its duration's count
    drop = torch.rand(B, generator=g) < config.caption_dropout
    t = TimestepSampler(config.timesteps, shift=config.time_shift)(B, generator=g)
    mine = list(range(rank, B, world))
    latents = [cache.get(stage.size, stage.frames[int(dur[i])], int(counts[dur[i]]))[int(idx[i])]
               for i in mine]
    batch = pack(latents)
    C, T, h, w = batch.x.shape[1:]
    noise = torch.randn(B, C, latent_length(max(stage.frames)), h, w, generator=g)[mine][:, :, :T]
    captions = ["" if drop[i] else cache.captions[int(idx[i])] for i in mine]
    return batch, captions, t[mine], noise.contiguous()


# ----------------------------------------------------------------------------- checkpoints

def save_checkpoint(path: Path, model: nn.Module, ema: nn.Module, opt: torch.optim.Optimizer,
                    step: int, config: TrainConfig) -> None:
    tensors = {f"model.{k}": v for k, v in model.state_dict().items()}
    tensors.update({f"ema.{k}": v for k, v in ema.state_dict().items()})
    osd = opt.state_dict()
    for pid, st in osd["state"].items():
        for k, v in st.items():
            tensors[f"optim.{pid}.{k}"] = v if torch.is_tensor(v) else torch.tensor(v)
    meta = dict(step=str(step), config=json.dumps(config.to_dict()),
                param_groups=json.dumps(osd["param_groups"]))
    save_safetensors_atomic(tensors, path, metadata=meta)


def load_checkpoint(path: Path, model: nn.Module, ema: nn.Module, opt: torch.optim.Optimizer
                    ) -> tuple[int, dict]:
    from safetensors import safe_open
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
    return int(meta["step"]), json.loads(meta["config"])


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
        from .pipeline import Pipeline
        return Pipeline.from_pretrained(self.out_dir, device=device)


def _dist() -> tuple[int, int]:
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def _export(out_dir: Path, ema: TextToVideo, vae, config: TrainConfig, dtype=None) -> None:
    """Write the EMA model as a pipeline folder (`dtype=torch.float16` for the shipped copy)."""
    from .pipeline import Pipeline, PipelineConfig
    last = config.stages[-1]
    pcfg = PipelineConfig(frames=max(last.frames), size=last.size, steps=config.sample_steps,
                          guidance=config.guidance)
    pipe = Pipeline(vae, copy.deepcopy(ema.dit), copy.deepcopy(ema.text_encoder), device="cpu",
                    config=pcfg)
    vae_src = resolve_repo_path(config.vae)
    vae_src = vae_src if Path(vae_src).is_dir() else None
    pipe.save_pretrained(out_dir, vae_source=vae_src, dtype=dtype)
    vae.to(next(ema.parameters()).device)       # the Pipeline moved it to the CPU


@torch.no_grad()
def save_samples(path: Path, ema: TextToVideo, vae, config: TrainConfig, device) -> Path | None:
    """A GIF grid: one sample per `config.sample_prompts` (seed 0, EMA weights), side by side."""
    from .pipeline import Pipeline, PipelineConfig
    from .video import save_video
    if not config.sample_prompts:
        return None
    last = config.stages[-1]
    pipe = Pipeline(vae, ema.dit, ema.text_encoder, device=device,
                    config=PipelineConfig(frames=max(last.frames), size=last.size,
                                          steps=config.sample_steps, guidance=config.guidance))
    videos = pipe.generate(list(config.sample_prompts), seed=0)
    grid = np.concatenate(videos, axis=2)                                    # (T, H, n·W, 3)
    return save_video(grid, path)


def train(config: TrainConfig, vae=None, export: str | Path | None = None,
          stop_after: int | None = None, cache: LatentCache | None = None) -> TrainResult:
    """Run (or resume) a training run into `config.out_dir`; returns the history and the models.

    A `checkpoint.safetensors` in `out_dir` is resumed from automatically (delete it, or pick a new
    out_dir, to start over). When done, the EMA weights are exported as a pipeline folder
    (`out_dir/pipeline.json`, `text_encoder/`, `dit/`, `vae/`) that `load_pipeline(out_dir)` opens,
    and also into `export` when given (e.g. assets/tiny). `stop_after=n` checkpoints and stops at
    step n, as if the run had been interrupted there (resume by calling `train` again)."""
    from tqdm.auto import tqdm
    from .rectified_flow import rf_loss
    from .text_encoder import WordTokenizer
    from .shapes import vocabulary as shapes_vocabulary
    rank, world = _dist()
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
    out_dir = Path(config.out_dir)
    ckpt_path = out_dir / "checkpoint.safetensors"
    vae = load_vae(config.vae, device) if vae is None else vae.to(device).eval().requires_grad_(False)
    if cache is None:
        cache = LatentCache(config, vae, device, progress=config.progress and rank == 0)
    vocab = shapes_vocabulary()
    if config.data != "shapes":
        vocab = sorted(set(vocab) | set(WordTokenizer.from_captions(cache.captions).vocab[3:]))
    init_info = training_history(config.init) if config.init is not None else None
    torch.manual_seed(config.seed)                      # same initial weights on every rank
    model = (build_model(config, vocab) if config.init is None else init_model(config.init)).to(device)
    ema = copy.deepcopy(model).requires_grad_(False).eval()
    decay, no_decay = [], []
    for n, p in model.named_parameters():
        (no_decay if p.ndim < 2 or "emb" in n or "norm" in n else decay).append(p)
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": config.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=config.lr, betas=config.betas)
    start, history = 0, []
    if ckpt_path.is_file():
        start, old = load_checkpoint(ckpt_path, model, ema, opt)
        changed = {k for k, v in config.to_dict().items()
                   if k not in ("progress", "device", "threads") and json.dumps(old.get(k)) != json.dumps(v)}
        if changed and rank == 0:
            warnings.warn(f"resuming {ckpt_path} (step {start}) with changed settings: {sorted(changed)}")
        log = out_dir / "log.jsonl"
        if log.is_file():
            history = [(r["step"], r["loss"]) for r in map(json.loads, log.read_text().splitlines())
                       if r["step"] < start]
    if rank == 0:
        out_dir.mkdir(parents=True, exist_ok=True)
        write_json_atomic(config.to_dict(), out_dir / "train_config.json")
        if start == 0:
            (out_dir / "log.jsonl").write_text("")
    ddp = model
    if world > 1:
        ddp = nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None)

    def velocity(x, t, cond):
        return ddp(x, t, *cond)

    model.train()
    t0 = time.time()
    bar = tqdm(range(start, config.steps), initial=start, total=config.steps, desc="train",
               disable=not (config.progress and rank == 0), dynamic_ncols=True)
    step = start
    for step in bar:
        stage = config.stage_at(step)
        for g in opt.param_groups:
            g["lr"] = lr_at(config, step)
        batch, captions, t, noise = make_batch(config, cache, step, rank, world)
        ids, ids_mask = model.text_encoder.tokenizer(captions)
        batch = batch.to(device)
        cond = (ids.to(device), ids_mask.to(device), batch.mask)
        with autocast(device, enabled=config.bf16):
            loss = rf_loss(velocity, batch.x, cond, t=t.to(device), noise=noise.to(device),
                           weight=batch.weight)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
        value = loss.detach().float()
        if world > 1:
            dist.all_reduce(value)
            value /= world
        value = value.item()
        if not (math.isfinite(value) and torch.isfinite(grad_norm)):
            where = (f"resume from the last good checkpoint {ckpt_path} (not overwritten)"
                     if ckpt_path.is_file() else "no checkpoint was written yet")
            raise FloatingPointError(
                f"training diverged: loss={value} (grad norm {float(grad_norm)}) at step {step}, "
                f"stage size={stage.size} frames={stage.frames}, lr={lr_at(config, step):.2e}. "
                f"Lower TrainConfig.lr or grad_clip, or check the data for NaN/inf; {where}.")
        opt.step()
        ema_update(ema, model, min(config.ema_decay, (1 + step) / (10 + step)))
        history.append((step, value))
        bar.set_postfix(loss=f"{value:.4f}", lr=f"{lr_at(config, step):.1e}", px=stage.size)
        done = step + 1
        if rank == 0:
            if done % config.log_every == 0 or done == config.steps:
                with open(out_dir / "log.jsonl", "a") as f:
                    f.write(json.dumps(dict(step=step, loss=value, lr=lr_at(config, step),
                                            size=stage.size, sec=round(time.time() - t0, 2))) + "\n")
            if config.sample_every and done % config.sample_every == 0 and done < config.steps:
                save_samples(out_dir / "samples" / f"step_{done:06d}.gif", ema, vae, config, device)
            if done % config.save_every == 0 or done == config.steps or done == stop_after:
                save_checkpoint(ckpt_path, model, ema, opt, done, config)
        step = done
        if done == stop_after:
            break
    bar.close()
    seconds = time.time() - t0
    if rank == 0 and step >= config.steps:
        _export(out_dir, ema, vae, config)
        if export is not None:
            export = Path(export)
            _export(export, ema, vae, config, dtype=torch.float16)   # shipped: half-size weights
            info = dict(config=config.to_dict(), steps=step, seconds=round(seconds, 1))
            if init_info is not None:
                info["init"] = init_info            # the run this one fine-tuned, and so on back
            write_json_atomic(info, export / "train_info.json")
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
    known = {f.name for f in fields(TrainConfig)}
    if set(kw) - known:
        p.error(f"unknown config fields {sorted(set(kw) - known)}")
    config = PRESETS[args.preset](**kw)
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
