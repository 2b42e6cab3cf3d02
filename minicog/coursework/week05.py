"""Week 5: Frame Pack — the checks of the notebook's graded exercises."""
from __future__ import annotations

from typing import Callable

import torch

from .. import frame_pack
from ..checking import assert_close, call, case, exercise

__all__ = ["check_frame_pack_mask", "check_block_diagonal_mask"]


@exercise("frame_pack_mask", "minicog.frame_pack.attention_mask", forbid=(frame_pack.attention_mask,))
def check_frame_pack_mask(frame_pack_mask: Callable) -> int:
    """frame_pack_mask(text_mask (B, L), video_mask (B, T), tokens_per_frame) -> (B, N, N) bool,
    vs `minicog.frame_pack.attention_mask`."""
    n = 0
    cases = [
        (torch.tensor([[True, True, False]]), torch.tensor([[True, True, True, False, False]]), 1),
        (torch.tensor([[True, True], [True, False]]), torch.tensor([[True, True, True], [True, False, False]]), 4),
        (torch.tensor([[True, True, True]]), torch.tensor([[True, True]]), 2),          # nothing padded
        (torch.ones(2, 0, dtype=torch.bool), torch.tensor([[True, False], [True, True]]), 3),   # no text
    ]
    for text_mask, video_mask, tpf in cases:
        where = case("frame_pack_mask", text_mask, video_mask, tpf)
        assert_close(call(frame_pack_mask, where, text_mask, video_mask, tpf),
                     frame_pack.attention_mask(text_mask, video_mask, tpf), where)
        n += 1
    return n


@exercise("block_diagonal_mask", "minicog.frame_pack.block_diagonal_mask", forbid=(frame_pack.block_diagonal_mask,))
def check_block_diagonal_mask(block_diagonal_mask: Callable) -> int:
    """block_diagonal_mask(segment_ids (R, T), tokens_per_frame) -> (R, N, N) bool, vs
    `minicog.frame_pack.block_diagonal_mask`."""
    n = 0
    clips = [torch.zeros(1, t, 2, 2) for t in (5, 3, 2, 4, 1)]
    packed = frame_pack.pack_sequences(clips, capacity=6).segment_ids
    for seg, tpf in [(torch.tensor([[0, 0, 1, 1, 1, -1]]), 1), (torch.tensor([[0, 1, 2], [3, 3, -1]]), 2),
                     (packed, 1), (packed, 3), (torch.tensor([[4, 4, 4, 4]]), 2)]:
        where = case("block_diagonal_mask", seg, tpf)
        assert_close(call(block_diagonal_mask, where, seg, tpf), frame_pack.block_diagonal_mask(seg, tpf), where)
        n += 1
    return n
