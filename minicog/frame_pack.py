"""Frame Pack: clips of different durations (and images as 1-frame videos) in one batch.

CogVideoX (Yang et al. 2024, §3.2 "Frame Pack" / mixed-duration training) trains on videos of many
lengths together instead of cutting everything to one duration. Two ways to build such a batch:

1. **Padding** (`pack`): clips are placed in rows of the batch, cropped if longer than `max_frames`,
   zero-padded at the END along time if shorter, and a mask `(B, T)` says which frames are real.
   The DiT never attends to a padded key and gives valid tokens the same positions as the clip
   alone, so each clip's output equals running it by itself; the loss ignores padded frames.
2. **Sequence packing** (`pack_sequences`): several short clips share one row, one after the other;
   a block-diagonal attention mask (`block_diagonal_mask`) stops a token from seeing another clip
   or the padding, and positions restart at 0 for every clip. No compute is spent on padding.

The trainer uses (1), which `VideoDiT` supports through `video_mask`; (2) is shown with a small
attention layer in the tests and drawn in notebook 05. `attention_mask` draws "which token sees
which" for a padded batch including the text tokens (CogVideoX's full 3D text-video attention).

Clips of different *sizes* are brought to one bucket by `crop_and_pad` ("crop the large, pad the
small"): a centred crop of a side that is too long, zero padding at the bottom/right of one that is
too short, and a pixel mask of the real pixels.
"""
from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Sequence

import torch
import torch.nn.functional as F

from .sizes import latent_length, valid_length  # noqa: F401  (the 1+4k rule, re-exported here)


# ----------------------------------------------------------------------------- padding path

@dataclass
class PackedBatch:
    """A padded batch: `x` (B, C, T, H, W) with real frames first, `mask` (B, T) True = real."""
    x: torch.Tensor
    mask: torch.Tensor
    lengths: list[int]

    @property
    def weight(self) -> torch.Tensor:
        """Per-element loss weight (B, 1, T, 1, 1): 1 on real frames, 0 on padding."""
        return self.mask[:, None, :, None, None].to(self.x.dtype)

    def unpack(self, y: torch.Tensor | None = None) -> list[torch.Tensor]:
        """Split a (B, C, T, H, W) tensor (default: `x`) back into the clips (C, T_i, H, W)."""
        y = self.x if y is None else y
        return [y[i, :, :n] for i, n in enumerate(self.lengths)]

    def to(self, device) -> "PackedBatch":
        return PackedBatch(self.x.to(device), self.mask.to(device), list(self.lengths))


def pack(clips: Sequence[torch.Tensor], max_frames: int | None = None,
         pad_to: int | None = None) -> PackedBatch:
    """Pad (and crop) clips (C, T_i, H, W) into one batch (B, C, T, H, W) + frame mask (B, T).

    Clips longer than `max_frames` keep their first `max_frames` frames ("large ones cropped");
    shorter ones are zero-padded at the end ("small ones padded"). `T` is the longest kept clip,
    or `pad_to` when given (so every batch of a stage has the same shape). A 3-D tensor
    (C, H, W) is an image and becomes a 1-frame clip.
    """
    if len(clips) == 0:
        raise ValueError("pack() needs at least one clip")
    clips = [c[:, None] if c.ndim == 3 else c for c in clips]
    if any(c.ndim != 4 for c in clips):
        raise ValueError(f"clips must be (C, T, H, W) or images (C, H, W); got shapes "
                         f"{[tuple(c.shape) for c in clips]}")
    C, _, H, W = clips[0].shape
    if any(c.shape[0] != C or c.shape[2:] != (H, W) for c in clips):
        raise ValueError("all clips of a batch need the same channels and resolution (resize or "
                         f"bucket them first); got {[tuple(c.shape) for c in clips]}")
    if max_frames is not None:
        clips = [c[:, :max_frames] for c in clips]
    lengths = [c.shape[1] for c in clips]
    T = max(lengths) if pad_to is None else pad_to
    if T < max(lengths):
        raise ValueError(f"pad_to={pad_to} is shorter than the longest clip ({max(lengths)} frames); "
                         "pass max_frames to crop")
    x = clips[0].new_zeros(len(clips), C, T, H, W)
    mask = torch.zeros(len(clips), T, dtype=torch.bool, device=x.device)
    for i, c in enumerate(clips):
        x[i, :, : c.shape[1]] = c
        mask[i, : c.shape[1]] = True
    return PackedBatch(x, mask, lengths)


def attention_mask(text_mask: torch.Tensor, video_mask: torch.Tensor,
                   tokens_per_frame: int = 1) -> torch.Tensor:
    """Joint text+video attention mask of a padded batch: (B, N, N) bool, N = L + T·tokens_per_frame.

    Token order is [text tokens, frame 0 tokens, frame 1 tokens, ...] as in CogVideoX's expert
    transformer. Entry [b, i, j] is True when query i may attend key j: j must be a real text token
    or a token of a real frame. Padded queries attend only to themselves (their output is ignored).
    """
    video_tokens = video_mask.repeat_interleave(tokens_per_frame, dim=1)   # (B, T·tpf)
    real = torch.cat([text_mask.bool(), video_tokens.bool()], dim=1)        # (B, N)
    m = real[:, None, :] & real[:, :, None]
    eye = torch.eye(real.shape[1], dtype=torch.bool, device=real.device)
    return m | (eye & ~real[:, :, None])


# ----------------------------------------------------------------------------- sequence packing

@dataclass
class SequencePack:
    """Several clips per row: `x` (R, C, capacity, H, W), `segment_ids` (R, capacity) with the clip
    index of every frame (-1 = padding), `positions` (R, capacity) the frame index inside its own
    clip, and `placements[i] = (row, start, length)` of clip i."""
    x: torch.Tensor
    segment_ids: torch.Tensor
    positions: torch.Tensor
    placements: list[tuple[int, int, int]]

    def unpack(self, y: torch.Tensor | None = None) -> list[torch.Tensor]:
        """Split (R, C, capacity, ...) back into the clips in their original order."""
        y = self.x if y is None else y
        return [y[r, :, s: s + n] for r, s, n in self.placements]


def pack_sequences(clips: Sequence[torch.Tensor], capacity: int) -> SequencePack:
    """First-fit-decreasing bin packing of clips (C, T_i, H, W) into rows of `capacity` frames."""
    clips = [c[:, None] if c.ndim == 3 else c for c in clips]
    if not clips:
        raise ValueError("pack_sequences() needs at least one clip")
    too_long = [c.shape[1] for c in clips if c.shape[1] > capacity]
    if too_long:
        raise ValueError(f"clips of {too_long} frames do not fit in capacity={capacity}; crop them "
                         "or raise the capacity")
    order = sorted(range(len(clips)), key=lambda i: -clips[i].shape[1])
    free: list[int] = []                               # frames left in each row
    placements: list[tuple[int, int, int]] = [(0, 0, 0)] * len(clips)
    for i in order:
        n = clips[i].shape[1]
        row = next((r for r, f in enumerate(free) if f >= n), None)
        if row is None:
            free.append(capacity)
            row = len(free) - 1
        placements[i] = (row, capacity - free[row], n)
        free[row] -= n
    C, _, H, W = clips[0].shape
    R = len(free)
    x = clips[0].new_zeros(R, C, capacity, H, W)
    seg = torch.full((R, capacity), -1, dtype=torch.long)
    pos = torch.zeros(R, capacity, dtype=torch.long)
    for i, (r, s, n) in enumerate(placements):
        x[r, :, s: s + n] = clips[i]
        seg[r, s: s + n] = i
        pos[r, s: s + n] = torch.arange(n)
    return SequencePack(x, seg, pos, placements)


def block_diagonal_mask(segment_ids: torch.Tensor, tokens_per_frame: int = 1) -> torch.Tensor:
    """(R, T) segment ids → (R, N, N) bool attention mask, N = T·tokens_per_frame.

    A token attends to a key only when both belong to the same clip (same id ≥ 0). Padding
    queries attend only to themselves so the softmax stays finite; their outputs are discarded.
    """
    seg = segment_ids.repeat_interleave(tokens_per_frame, dim=1)            # (R, N)
    same = (seg[:, :, None] == seg[:, None, :]) & (seg[:, None, :] >= 0)
    eye = torch.eye(seg.shape[1], dtype=torch.bool, device=seg.device)
    return same | (eye & (seg[:, :, None] < 0))


def masked_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                     mask: torch.Tensor) -> torch.Tensor:
    """softmax(q kᵀ/√d + log mask) v for q, k, v (B, heads, N, d) and mask (B, N, N) bool."""
    return F.scaled_dot_product_attention(q, k, v, attn_mask=mask[:, None])


# ----------------------------------------------------------------------------- mixed resolutions

def crop_and_pad(video: torch.Tensor, size: int | Sequence[int]) -> tuple[torch.Tensor, torch.Tensor]:
    """Bring a clip (C, T, H, W) to one bucket size: "crop the large, pad the small".

    Each side is handled on its own: a side longer than the bucket keeps its middle (a centred crop,
    the extra row or column of an odd difference cut at the bottom/right), a shorter side keeps all its
    pixels at the top/left and is zero-padded at the bottom/right (as `pack` pads time at the end).
    `size` is one int (square) or (height, width). Returns the clip (C, T, h, w) and the pixel mask
    (h, w) bool, True on real pixels, False on padding (what the loss ignores).
    """
    if not isinstance(video, torch.Tensor) or video.ndim != 4:
        got = tuple(video.shape) if isinstance(video, torch.Tensor) else type(video).__name__
        raise ValueError(f"crop_and_pad needs a clip (C, T, H, W), got {got}; an image (C, H, W) is "
                         "image[:, None], a 1-frame clip")
    hw = tuple(size) if isinstance(size, Sequence) and not isinstance(size, str) else (size, size)
    if len(hw) != 2 or not all(isinstance(s, numbers.Integral) and not isinstance(s, bool) and s > 0 for s in hw):
        raise ValueError(f"size must be a positive int or (height, width) of positive ints, got {size!r}")
    h, w = int(hw[0]), int(hw[1])
    C, T, H, W = video.shape
    top, left = max(0, (H - h) // 2), max(0, (W - w) // 2)          # centred crop where too large
    kept = video[:, :, top: top + h, left: left + w]                 # (C, T, min(H, h), min(W, w))
    out = video.new_zeros(C, T, h, w)
    out[:, :, : kept.shape[2], : kept.shape[3]] = kept               # padding at the bottom/right
    mask = torch.zeros(h, w, dtype=torch.bool, device=video.device)
    mask[: kept.shape[2], : kept.shape[3]] = True
    return out, mask
