"""Training data: Shapes clips, folders of real clips with captions, and the frozen-VAE latent cache.

    ClipFolder("my_clips/")                 # real clips (MP4/GIF/...) or images + captions.txt/json
    LatentCache(train_config, vae, device)  # what the text-to-video trainer (minicog.train) reads
    shapes_batches(frames, size, seed, ...) # fresh Shapes clips for the VAE trainer (minicog.train_vae)

The text-to-video model trains on VAE latents, not pixels (CogVideoX §3.2): each clip is resized
and centre-cropped (`resize_crop`), encoded once by the frozen causal VAE, and kept per (resolution,
duration) — in memory and, named by a fingerprint of the data and the VAE weights, on disk. The VAE
itself trains on pixels, on Shapes clips rendered fresh by DataLoader workers.
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
import time
from pathlib import Path

import imageio.v2 as imageio
import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from . import shapes
from .sizes import valid_length
from .utils import load_safetensors, save_safetensors_atomic
from .video import load_video, save_video, to_tensor

VIDEO_EXTS = (".mp4", ".gif", ".webm", ".mov", ".avi")
IMAGE_EXTS = (".png", ".jpg", ".jpeg")
EVAL_SEED = 10_000  # held-out clips come from ShapesDataset(seed=EVAL_SEED), training uses seed 0..


# ----------------------------------------------------------------------------- Shapes clips

def holdout_captions(every: int = 9) -> list[str]:
    """Every 9th Shapes combination (24 of 216): each colour, shape, direction and background is
    still seen in training, only these particular combinations are not."""
    return [shapes.caption(**c) for c in shapes.all_combinations()[::every]]


def two_object_holdout_captions() -> list[str]:
    """The 720 two-object scenes of `shapes.compositional_holdout()` as captions (the form
    `TrainConfig.holdout` takes, and its default): pairs of coloured shapes never seen together in
    training."""
    return list(_two_object_holdout())


@functools.lru_cache(maxsize=1)
def _two_object_holdout() -> tuple[str, ...]:
    return tuple(s.caption() for s in shapes.compositional_holdout())   # half a second: computed once


def shapes_clips(n: int, seed: int = EVAL_SEED, frames: int = 17, size: int = 64) -> torch.Tensor:
    """n Shapes clips as one tensor (n, 3, T, H, W) in [-1, 1]."""
    ds = shapes.ShapesDataset(n, frames=frames, size=size, seed=seed)
    return torch.stack([ds[i]["video"] for i in range(n)])


class ShapesClips(torch.utils.data.Dataset):
    """Shapes clips of one length, rendered on the fly (by DataLoader workers); `two_objects` is
    the share of two-object scenes; item i is clip `first + i` of the seed's endless sequence."""

    def __init__(self, frames: int, size: int, seed: int, two_objects: float = 0.0, first: int = 0):
        self.ds = shapes.ShapesDataset(10**8, frames=frames, size=size, seed=seed, two_objects=two_objects)
        self.first = first

    def __len__(self) -> int:
        return len(self.ds) - self.first

    def __getitem__(self, i: int) -> torch.Tensor:
        return self.ds[self.first + i]["video"]


WORKER_START = "spawn"


def worker_context(workers: int) -> str | None:
    """How DataLoader workers start: "spawn", a fresh interpreter, on every platform. The default on
    Linux, "fork", copies the parent — and a parent that has initialised CUDA (the trainer on a
    GPU) hands its children a driver state that is not fork-safe, so a forked worker can hang on
    its first lock (PyTorch's "CUDA in multiprocessing" notes). Spawn costs a second or two of
    start-up per worker and needs picklable datasets; the tests run the loaders this way on CPU."""
    return WORKER_START if workers > 0 else None


def shapes_batches(frames: int, size: int, seed: int, batch_size: int, workers: int,
                   two_objects: float = 0.0, *, skip: int = 0):
    """An endless iterator of (batch_size, 3, frames, size, size) Shapes batches, in order, from the
    `skip`-th batch on (a resumed run continues the same sequence of clips)."""
    clips = ShapesClips(frames, size, seed, two_objects, first=skip * batch_size)
    loader = torch.utils.data.DataLoader(clips, batch_size=batch_size,
                                         shuffle=False, num_workers=workers, persistent_workers=workers > 0,
                                         prefetch_factor=4 if workers else None,
                                         multiprocessing_context=worker_context(workers))
    return iter(loader)


def export_shapes_folder(root: str | Path, n: int = 16, frames: int = 17, size: int = 64,
                         seed: int = 123) -> Path:
    """Write `n` Shapes clips as GIFs plus captions.txt — an example of the folder format."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    ds = shapes.ShapesDataset(n, frames=frames, size=size, seed=seed)
    lines = []
    for i in range(n):
        scene, rng = ds.scene(i)
        save_video(shapes.render_scene(scene, frames=frames, size=size, rng=rng), root / f"clip{i:03d}.gif")
        lines.append(f"clip{i:03d}.gif\t{scene.caption()}")
    (root / "captions.txt").write_text("\n".join(lines) + "\n")
    return root


# ----------------------------------------------------------------------------- real clips

def resize_crop(video: np.ndarray, size: int) -> torch.Tensor:
    """uint8 (T, H, W, 3) → float (C, T, size, size) in [-1, 1]: scale the short side to `size`
    (antialiased) then centre-crop — large frames are cropped, never squashed."""
    x = to_tensor(video).permute(1, 0, 2, 3)                                # (T, C, H, W)
    H, W = x.shape[-2:]
    s = size / min(H, W)
    if (H, W) != (size, size):
        new = (max(size, round(H * s)), max(size, round(W * s)))
        x = F.interpolate(x, size=new, mode="bilinear", antialias=True, align_corners=False)
        top, left = (x.shape[-2] - size) // 2, (x.shape[-1] - size) // 2
        x = x[..., top: top + size, left: left + size]                      # (T, C, size, size)
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
        entries = self._read_captions(root)
        missing = [n for n, _ in entries if not (self.root / n).is_file()]
        if missing:
            raise FileNotFoundError(f"captioned files missing from {root}: {missing[:5]}")
        bad = [n for n, _ in entries if Path(n).suffix.lower() not in VIDEO_EXTS + IMAGE_EXTS]
        if bad:
            raise ValueError(f"unsupported files {bad[:5]}: use {VIDEO_EXTS + IMAGE_EXTS}")
        if not entries:
            raise ValueError(f"{root}: the captions file lists no clips")
        self.entries = entries

    def _read_captions(self, root) -> list[tuple[str, str]]:
        js, txt = self.root / "captions.json", self.root / "captions.txt"
        if js.is_file():
            return list(json.loads(js.read_text()).items())
        if not txt.is_file():
            raise FileNotFoundError(f"{str(root)!r} has no captions.json or captions.txt; write one "
                                    "line 'clip.mp4<TAB>a caption' per clip in captions.txt")
        entries = []
        for n, line in enumerate(txt.read_text().splitlines(), 1):
            if not line.strip() or line.startswith("#"):
                continue
            if "\t" not in line:
                raise ValueError(f"{txt}:{n}: expected 'file<TAB>caption', got {line!r}")
            name, cap = line.split("\t", 1)
            entries.append((name.strip(), cap.strip()))
        return entries

    def __len__(self) -> int:
        return len(self.entries)

    @property
    def captions(self) -> list[str]:
        return [c for _, c in self.entries]

    def __getitem__(self, i: int) -> tuple[np.ndarray, str]:
        name, cap = self.entries[i]
        path = self.root / name
        if path.suffix.lower() in IMAGE_EXTS:
            img = np.asarray(imageio.imread(path))
            img = np.repeat(img[..., None], 3, -1) if img.ndim == 2 else img[..., :3]
            return img[None].astype(np.uint8), cap                           # (1, H, W, 3)
        return load_video(path), cap


# ----------------------------------------------------------------------------- the latent cache

class LatentCache:
    """Frozen-VAE latents of the training clips, per (size, duration), computed on first use.

    `config` is a `minicog.train_config.TrainConfig`; its data settings (`data`, `num_clips`, `data_seed`,
    `holdout`, `paraphrase`, and `two_objects` and `korean` where it has them (the Shapes mixture),
    `latent_dir`, `out_dir`) say which clips and where to keep them.
    With `config.latent_dir` they are also written to disk (one safetensors file per size and
    duration, named by a fingerprint of the data settings and the VAE's encoder and scaling factor), so a
    resumed run, or a run with the same encoder but a fine-tuned decoder, skips the encoding (minutes on a CPU).

    Clips longer than a duration keep their first frames ("large ones cropped"); shorter real clips
    keep their own (1+4k) length and are padded later by Frame Pack ("small ones padded")."""

    def __init__(self, config, vae, device: torch.device, progress: bool = True, workers: int | None = None):
        self.cfg, self.vae, self.device, self.progress = config, vae, device, progress
        # clips are rendered by `workers` DataLoader processes (spawned, `worker_context`); default:
        # none on a CPU, where the encoder needs both cores, several beside a GPU, where rendering
        # in the main process would be the bottleneck
        if workers is None:
            workers = getattr(config, "cache_workers", -1)
        if workers < 0:
            workers = 0 if torch.device(device).type == "cpu" else min(8, max(1, (os.cpu_count() or 2) - 1))
        self.workers = workers
        self.store: dict[tuple[int, int], list[torch.Tensor]] = {}
        d = config.latent_dir
        self.dir = None if d is None else Path(d) if d else Path(config.out_dir) / "latents"
        self._source: str | None = None          # see _fingerprint
        if config.data == "shapes":
            self.folder = None
            self.shapes_args = dict(length=config.num_clips, seed=config.data_seed,
                                    holdout=config.holdout, paraphrase=config.paraphrase,
                                    **self._mixture(config))
            ds = shapes.ShapesDataset(frames=1, size=16, **self.shapes_args)
            items = [ds.scene_caption(i) for i in range(len(ds))]
            self.captions = [caption for _, caption in items]
            self.objects = [len(scene.objects) for scene, _ in items]
        else:
            self.folder = ClipFolder(config.data)
            self.captions = self.folder.captions
            self.objects = None                  # unknown for real clips
        self._pools: dict[tuple[int, int], torch.Tensor] = {}

    @staticmethod
    def _mixture(config) -> dict:
        """The Shapes mixture settings a config sets (`two_objects`, `korean`; 0 when it has none)."""
        return {k: getattr(config, k) for k in ("two_objects", "korean") if getattr(config, k, 0)}

    def __len__(self) -> int:
        return len(self.captions)

    def indices(self, objects: int, below: int | None = None) -> torch.Tensor:
        """The indices (below `below`, default all) of the clips showing `objects` objects."""
        if self.objects is None:
            raise ValueError("the number of objects per clip is known for Shapes data only; "
                             "drop `objects` from the stages of a folder run")
        below = len(self) if below is None else below
        if (objects, below) not in self._pools:
            self._pools[(objects, below)] = torch.tensor(
                [i for i, n in enumerate(self.objects[:below]) if n == objects], dtype=torch.long)
        return self._pools[(objects, below)]

    def _clips(self, size: int, frames: int, todo: range):
        """The clips `todo` as (C, T, size, size) tensors, in chunks of 64 (`_CacheClips`)."""
        src = _CacheClips(self.shapes_args if self.folder is None else None,
                          None if self.folder is None else str(self.folder.root), size, frames, todo.start)
        sub = torch.utils.data.Subset(src, range(len(todo)))
        return torch.utils.data.DataLoader(sub, batch_size=64, shuffle=False, num_workers=self.workers,
                                           collate_fn=_as_list, multiprocessing_context=worker_context(self.workers))

    @torch.no_grad()
    def get(self, size: int, frames: int, count: int | None = None) -> list[torch.Tensor]:
        """Scaled latents (C, T_latent, h, w) of the first `count` clips (default all) at this
        size and duration, encoded by the frozen VAE on first use (64 clips per VAE call)."""
        count = len(self) if count is None else min(count, len(self))
        out = self.store.setdefault((size, frames), [])
        if len(out) < count and self.dir is not None:
            out.extend(self._load(size, frames)[len(out):])
        todo = range(len(out), count)
        bar = tqdm(total=len(todo), desc=f"VAE latents {size}px {frames}f", leave=False,
                   disable=not self.progress or not todo)
        t0 = time.time()
        for clips in (self._clips(size, frames, todo) if todo else ()):
            by_len: dict[int, list[int]] = {}          # real clips may differ in length
            for j, c in enumerate(clips):
                by_len.setdefault(c.shape[1], []).append(j)
            res: list = [None] * len(clips)
            for idx in by_len.values():
                x = torch.stack([clips[j] for j in idx]).to(self.device)           # (n, C, T, H, W)
                z = self.vae.encode(x).mean * self.vae.scaling_factor   # (n, C, T_lat, h, w)
                for j, zz in zip(idx, z):
                    res[j] = zz.float().cpu()
            out.extend(res)
            bar.update(len(clips))
        bar.close()
        if todo:
            print(f"latent cache: {len(todo)} clips at {size}px × {frames} frames encoded in "
                  f"{time.time() - t0:.0f} s ({self.workers} render workers, {self.device})", flush=True)
        if todo and self.dir is not None:
            self._save(size, frames, out)
        return out

    # on disk: one safetensors file per (size, duration), named by a fingerprint of what made it
    def _fingerprint(self, size: int, frames: int) -> str:
        if self._source is None:                 # data settings + VAE encoder weights, hashed once
            h = hashlib.sha1(repr(float(self.vae.scaling_factor)).encode())
            for k, v in sorted(self.vae.state_dict().items()):
                if not k.startswith("encoder."):  # latents depend on the encoder alone: a VAE whose
                    continue                       # decoder was fine-tuned reuses them
                h.update(k.encode())
                h.update(v.detach().float().cpu().numpy().tobytes())
            c = self.cfg
            data = ([(n, (self.folder.root / n).stat().st_size, cap) for n, cap in self.folder.entries]
                    if self.folder is not None else "shapes")
            self._source = json.dumps([data, c.num_clips, c.data_seed, list(c.holdout), c.paraphrase,
                                       h.hexdigest()] + ([self._mixture(c)] if self._mixture(c) else []))
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


class _CacheClips(torch.utils.data.Dataset):
    """Clip `start + i` of a latent cache's data as (C, T, size, size) float, at most `frames` long
    (its first frames): small and picklable, so spawned DataLoader workers can render it."""

    def __init__(self, shapes_args: dict | None, folder: str | None, size: int, frames: int, start: int):
        self.shapes_args, self.folder_root, self.size, self.frames, self.start = \
            shapes_args, folder, size, frames, start
        self._src = None

    def __len__(self) -> int:
        return 10**9

    def __getitem__(self, i: int) -> torch.Tensor:
        i += self.start
        if self._src is None:
            self._src = (shapes.ShapesDataset(frames=1, size=16, **self.shapes_args)
                         if self.shapes_args is not None else ClipFolder(self.folder_root))
        if self.shapes_args is not None:
            scene, rng = self._src.scene(i)      # geometry drawn right after the scene, as always
            return resize_crop(shapes.render_scene(scene, frames=self.frames, size=self.size, rng=rng),
                               self.size)
        v, _ = self._src[i]
        return resize_crop(v[: valid_length(min(len(v), self.frames))], self.size)


def _as_list(batch: list) -> list:
    """DataLoader collate that keeps the clips apart (real clips may differ in length)."""
    return batch
