"""The frame-count and frame-size rules every part of minicog agrees on — one copy.

    frames   1 + 4k  (1, 5, 9, 13, 17, ..., 49): the causal VAE encodes frame 0 alone, then compresses
             time 4× — 1 + 4k frames become 1 + k latent frames
    size     a multiple of 16 px: the VAE downsamples 8× and the transformer groups 2×2 latent pixels
             into one patch (8 · 2 = 16)

The VAE (`causal_vae`), the tiny pipeline, the Shapes world, the trainer, Frame Pack and the scaled
CogVideoX path all check their inputs here, so the rule and its error message are written once.
"""
from __future__ import annotations

from typing import Sequence

from .utils import is_number

TEMPORAL_COMPRESSION = 4      # frames per latent frame after the first
SPATIAL_COMPRESSION = 8       # pixels per latent pixel, each side
SIZE_MULTIPLE = 16            # SPATIAL_COMPRESSION × the transformer's 2×2 patch


def _is_whole(v) -> bool:
    """An int, a numpy integer, or a finite float with no fractional part (not a bool or a string)."""
    return is_number(v) and float(v).is_integer()


def check_frames(frames, temporal: int = TEMPORAL_COMPRESSION, name: str = "frames") -> int:
    """`frames` as an int when it is 1 + `temporal`·k, else a ValueError that says why."""
    if not _is_whole(frames) or frames < 1 or (int(frames) - 1) % temporal:
        k = max(0, round((float(frames) - 1) / temporal)) if _is_whole(frames) else 4
        raise ValueError(f"{name} must be 1+{temporal}k (1, {1 + temporal}, {1 + 2 * temporal}, ..., 49), "
                         f"got {frames!r}; use e.g. {1 + temporal * k}: the causal VAE encodes the first frame alone and then compresses time "
                         f"{temporal}x, {temporal} frames per latent frame")
    return int(frames)


def check_side(value, name: str = "size", multiple: int = SIZE_MULTIPLE) -> int:
    """One side of a frame: a whole number of pixels, a positive multiple of `multiple`."""
    if not _is_whole(value) or value < multiple or int(value) % multiple:
        near = max(multiple, round(float(value) / multiple) * multiple) if _is_whole(value) else 64
        examples = ", ".join(str(multiple * k) for k in range(1, 5))
        why = ("the VAE downsamples 8x and the transformer uses 2x2 patches" if multiple == SIZE_MULTIPLE
               else f"the model downsamples by {multiple}")
        raise ValueError(f"{name} must be a multiple of {multiple} ({examples}, ...), got {value!r}; "
                         f"{why} — use e.g. {near}")
    return int(value)


def check_size(size, multiple: int = SIZE_MULTIPLE) -> tuple[int, int]:
    """A frame size, one int (square) or (height, width), → (height, width)."""
    if isinstance(size, Sequence) and not isinstance(size, str):
        if len(size) != 2:
            raise ValueError(f"frame size must be one int or (height, width), got {size!r}")
        h, w = size
    else:
        h = w = size
    return (check_side(h, "frame size" if h == w else "height", multiple),
            check_side(w, "frame size" if h == w else "width", multiple))


def check_video_size(num_frames, height, width, temporal: int = TEMPORAL_COMPRESSION,
                     multiple: int = SIZE_MULTIPLE) -> tuple[int, int, int]:
    """All three rules at once → (frames, height, width) as ints."""
    return (check_frames(num_frames, temporal, name="num_frames"),
            check_side(height, "height", multiple), check_side(width, "width", multiple))


def valid_length(frames: int, temporal: int = TEMPORAL_COMPRESSION) -> int:
    """Largest clip length ≤ `frames` that the causal VAE accepts (1 + k·temporal)."""
    if frames < 1:
        raise ValueError(f"a clip needs at least 1 frame, got {frames}")
    return 1 + (frames - 1) // temporal * temporal


def latent_length(frames: int, temporal: int = TEMPORAL_COMPRESSION) -> int:
    """Latent frames of a clip: the first frame alone, then one per `temporal` frames."""
    return 1 + (valid_length(frames, temporal) - 1) // temporal
