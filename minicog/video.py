"""Video I/O and display: GIF/MP4 files, inline display in Jupyter, frame grids, and the
conversions between the two layouts used across the course:

- videos handed to people: uint8 numpy (T, H, W, 3);
- videos handed to models: float tensors (C, T, H, W) or (B, C, T, H, W) in [-1, 1].
"""
from __future__ import annotations

import base64
import os
import tempfile
from pathlib import Path
from typing import Sequence

import imageio.v2 as imageio
import numpy as np
import torch

from .utils import atomic_path, is_number


def _check_uint8_video(video) -> np.ndarray:
    v = np.asarray(video)
    if v.ndim == 3 and v.shape[-1] == 3:     # a single image → 1-frame video
        v = v[None]
    if v.ndim != 4 or v.shape[-1] != 3:
        raise ValueError(f"expected a video of shape (T, H, W, 3), got {v.shape}; "
                         "convert model tensors with minicog.video.to_uint8 first")
    if v.dtype != np.uint8:
        raise ValueError(f"expected dtype uint8, got {v.dtype}; use to_uint8() for float tensors")
    return v


def to_tensor(video: np.ndarray) -> torch.Tensor:
    """uint8 (T, H, W, 3) → float32 (C, T, H, W) in [-1, 1]."""
    v = _check_uint8_video(video)
    return torch.from_numpy(np.ascontiguousarray(v)).permute(3, 0, 1, 2).float().div(127.5).sub(1.0)


def to_uint8(x: torch.Tensor) -> np.ndarray:
    """Float (C, T, H, W) or (B, C, T, H, W) in [-1, 1] → uint8 (T, H, W, 3) (or (B, T, H, W, 3))."""
    if not torch.is_tensor(x):
        raise TypeError(f"expected a torch tensor, got {type(x).__name__}")
    if x.ndim not in (4, 5) or x.shape[-4] != 3:
        raise ValueError(f"expected (C=3, T, H, W) or (B, 3, T, H, W), got {tuple(x.shape)}")
    x = ((x.detach().float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).cpu()
    return x.movedim(-4, -1).numpy()       # channels last


def check_fps(fps) -> float:
    """Frames per second: a finite number in (0, 100] (a GIF frame lasts at least 10 ms)."""
    if not (is_number(fps) and 0 < fps <= 100):
        raise ValueError(f"fps must be a number of frames per second in (0, 100], e.g. 8, got {fps!r}")
    return fps


def save_video(video, path: str | os.PathLike, fps: int = 8) -> Path:
    """Save a uint8 (T, H, W, 3) video (or a float tensor, converted) as .gif or .mp4.
    The file is written to a temporary name first and renamed, so it is never half-written."""
    if torch.is_tensor(video):
        video = to_uint8(video)
    v = _check_uint8_video(video)
    path = Path(path)
    ext = path.suffix.lower()
    if ext not in (".gif", ".mp4"):
        raise ValueError(f"unsupported video extension {ext!r}: use .gif or .mp4")
    fps = check_fps(fps)
    with atomic_path(path, suffix=ext) as tmp:
        if ext == ".gif":
            imageio.mimsave(tmp, list(v), format="GIF", duration=1000.0 / fps, loop=0)
        else:
            # H.264 wants even sizes; macro_block_size=1 keeps the exact size (e.g. 64x64)
            writer = imageio.get_writer(tmp, format="FFMPEG", fps=fps, codec="libx264", quality=8,
                                        macro_block_size=1, pixelformat="yuv420p")
            try:
                for frame in v:
                    writer.append_data(frame)
            finally:
                writer.close()
    return path


def load_video(path: str | os.PathLike) -> np.ndarray:
    """Read a .gif or .mp4 into uint8 (T, H, W, 3)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"video file {str(path)!r} does not exist")
    if path.suffix.lower() == ".gif":
        frames = imageio.mimread(path, memtest=False)
    else:
        reader = imageio.get_reader(path, format="FFMPEG")
        try:
            frames = [f for f in reader]
        finally:
            reader.close()
    frames = [np.asarray(f)[..., :3] if np.asarray(f).ndim == 3 else np.repeat(np.asarray(f)[..., None], 3, -1)
              for f in frames]
    return np.stack(frames).astype(np.uint8)


def video_html(video, fps: int = 8, width: int = 192, fmt: str = "gif") -> str:
    """HTML for a video embedded inline (GIF image or HTML5 <video> with MP4), pixelated upscaling."""
    v = to_uint8(video) if torch.is_tensor(video) else _check_uint8_video(video)
    with tempfile.TemporaryDirectory() as d:
        f = save_video(v, Path(d) / f"clip.{fmt}", fps=fps)
        data = base64.b64encode(f.read_bytes()).decode()
    style = f'width="{width}" style="image-rendering: pixelated"'
    if fmt == "mp4":
        return (f'<video {style} autoplay loop muted playsinline>'
                f'<source src="data:video/mp4;base64,{data}" type="video/mp4"></video>')
    return f'<img {style} src="data:image/gif;base64,{data}"/>'


def show_video(videos, captions: Sequence[str] | str | None = None, fps: int = 8, width: int = 160,
               fmt: str = "gif"):
    """Show one video or a list of videos side by side inline in Jupyter. Returns nothing, so a call on
    a cell's last line shows the videos once (not again as the cell's value)."""
    from IPython.display import HTML, display    # lazy: only in a notebook
    if not isinstance(videos, (list, tuple)):
        videos, captions = [videos], [captions] if isinstance(captions, str) else captions
    captions = list(captions) if captions is not None else [""] * len(videos)
    cells = "".join(
        f'<figure style="display:inline-block;margin:4px;text-align:center">{video_html(v, fps, width, fmt)}'
        f'<figcaption style="font-size:11px;max-width:{width}px">{c or ""}</figcaption></figure>'
        for v, c in zip(videos, captions))
    display(HTML(f"<div>{cells}</div>"))


def frame_grid(videos, captions: Sequence[str] | None = None, max_frames: int = 9, scale: float = 1.0):
    """A matplotlib figure: one row per video, `max_frames` evenly spaced frames per row."""
    import matplotlib.pyplot as plt              # lazy: slow to import, only for figures
    if not isinstance(videos, (list, tuple)):
        videos = [videos]
    videos = [to_uint8(v) if torch.is_tensor(v) else _check_uint8_video(v) for v in videos]
    n_cols = min(max_frames, max(v.shape[0] for v in videos))
    fig, axes = plt.subplots(len(videos), n_cols, figsize=(scale * 1.2 * n_cols, scale * 1.3 * len(videos)),
                             squeeze=False)
    for r, v in enumerate(videos):
        idx = np.linspace(0, v.shape[0] - 1, n_cols).round().astype(int)
        for c, t in enumerate(idx):
            ax = axes[r, c]
            ax.imshow(v[t], interpolation="nearest")
            ax.set_xticks([]), ax.set_yticks([])
            if r == 0 or len(videos) == 1:
                ax.set_title(f"frame {t}", fontsize=8)
        if captions is not None:
            axes[r, 0].set_ylabel(captions[r], fontsize=7, rotation=0, ha="right", va="center")
    fig.tight_layout()
    return fig
