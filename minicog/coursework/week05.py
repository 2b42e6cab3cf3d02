"""Week 5: Frame Pack — the checks of the notebook's graded exercises."""
from __future__ import annotations

from typing import Callable

import torch

from .. import frame_pack, train_config
from ..checking import assert_close, call, case, exercise, matching_mistake
from ._common import _randn

__all__ = ["check_frame_pack_mask", "check_block_diagonal_mask", "check_crop_and_pad", "check_resolution_at"]


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


# ----------------------------------------------------------------------------- crop the large, pad the small

def _crop_pad_variant(video: torch.Tensor, size: tuple[int, int], crop: str, pad: str):
    """What a likely mistake returns: `crop` "corner" (top-left window) or "ceil" (an odd extra row or
    column cut at the top/left); `pad` "centre" (padding on both sides)."""
    (h, w), (H, W) = size, video.shape[2:]
    if crop == "corner":
        top, left = 0, 0
    else:
        top, left = max(0, -(-(H - h) // 2)), max(0, -(-(W - w) // 2))
    kept = video[:, :, top: top + h, left: left + w]
    kh, kw = kept.shape[2:]
    y, x = ((h - kh) // 2, (w - kw) // 2) if pad == "centre" else (0, 0)
    out = video.new_zeros(*video.shape[:2], h, w)
    out[:, :, y: y + kh, x: x + kw] = kept
    return out


def _crop_pad_hint(video, size, got, want) -> str | None:
    """A message naming the likely mistake when the student's (clip, mask) shows a known one."""
    gv, gm = got
    wv, wm = want
    if not (isinstance(gm, torch.Tensor) and gm.dtype == torch.bool and gm.shape == wm.shape):
        return None
    if torch.equal(gm, ~wm):
        return ("the mask is inverted: it must be True on the clip's real pixels and False on the "
                "padding (the pixels the loss ignores)")
    (H, W), (h, w) = video.shape[2:], size
    if wm.all() and not gm.all():
        return (f"a {H}×{W} clip covers the whole {h}×{w} bucket, so it is cropped to fill it (its mask is "
                "all True) — not shrunk and padded: crop the large, pad only the small")
    if not isinstance(gv, torch.Tensor) or gv.shape != wv.shape:
        return None
    mistakes = [(("corner", "end"), "you cropped the top-left corner; a side longer than the bucket keeps "
                 "its middle (a centred crop)"),
                (("ceil", "end"), "your centred crop is one pixel off for an odd difference: the extra "
                 "row or column is cut at the bottom/right"),
                (("centre", "centre"), "you padded on both sides; the clip stays at the top/left and the "
                 "padding goes at the bottom/right (as `pack` pads time at the end)")]
    why = matching_mistake(gv, wv, [(_crop_pad_variant(video, size, c, p), text) for (c, p), text in mistakes])
    if why is not None:
        return why
    if (H > h or W > w) and not torch.allclose(gv.float(), wv.float()):
        return "a side longer than the bucket keeps the middle pixels unchanged (cropped, not resized)"
    return None


@exercise("crop_and_pad", "minicog.frame_pack.crop_and_pad", forbid=(frame_pack.crop_and_pad,))
def check_crop_and_pad(crop_and_pad: Callable) -> int:
    """crop_and_pad(video (C, T, H, W), size) -> (video (C, T, h, w), mask (h, w) bool), vs
    `minicog.frame_pack.crop_and_pad`: large sides cropped around the middle, small ones padded at
    the bottom/right, the mask True on real pixels."""
    n = 0
    cases = [((3, 2, 12, 16), 8), ((3, 2, 5, 6), 8), ((3, 1, 12, 5), 8), ((2, 3, 11, 9), 8),
             ((3, 2, 8, 8), 8), ((3, 2, 10, 4), (6, 8)), ((1, 1, 20, 3), (16, 16)), ((2, 2, 7, 13), (4, 6))]
    for shape, size in cases:
        video = _randn(*shape, seed=n)
        where = case("crop_and_pad", video, size)
        got = call(crop_and_pad, where, video, size)
        want = frame_pack.crop_and_pad(video, size)
        hw = tuple(size) if isinstance(size, tuple) else (size, size)
        if isinstance(got, (tuple, list)) and len(got) == 2:
            gv = got[0]
            if isinstance(gv, torch.Tensor) and gv.shape != want[0].shape and gv.ndim == 4:
                raise AssertionError(f"{where}: the clip has shape {tuple(gv.shape)}, expected "
                                     f"{tuple(want[0].shape)} — every clip leaves at the bucket's size: "
                                     "a side longer than the bucket is cropped, a shorter one padded")
            hint = _crop_pad_hint(video, hw, got, want)
            if hint is not None:
                raise AssertionError(f"{where}: {hint}")
        assert_close(got, want, where, "(clip, mask)")
        n += 1
    return n


# ----------------------------------------------------------------------------- the progressive schedule

def _plans() -> list[list[tuple[int, int]]]:
    g = torch.Generator().manual_seed(5)
    plans = [[(32, 3), (64, 5)], [(16, 2), (32, 2), (64, 4)], [(32, 2), (32, 3), (64, 1)], [(64, 4)]]
    for _ in range(3):
        k = int(torch.randint(2, 5, (1,), generator=g))
        sizes = sorted(16 * int(v) for v in torch.randint(1, 9, (k,), generator=g))
        plans.append([(s, int(torch.randint(1, 7, (1,), generator=g))) for s in sizes])
    return plans


def _boundary_hint(plan: list[tuple[int, int]], step: int) -> str:
    ends, end = [], 0
    for _, steps in plan:
        end += steps
        ends.append(end)
    if step >= ends[-1]:
        return f" — step {step} is past the plan's {ends[-1]} steps: the run stays at the last size"
    if step in ends[:-1]:
        return (f" — step {step} is the first step of stage {ends.index(step) + 2} (steps count from 0: a "
                f"first stage of {plan[0][1]} steps is steps 0 … {plan[0][1] - 1})")
    if step + 1 in ends:
        return f" — step {step} is the last step of stage {ends.index(step + 1) + 1}"
    if step < ends[0]:
        return f" — the first {ends[0]} steps run at the first stage's size (the plan lists its stages in order)"
    return ""


@exercise("resolution_at", "minicog.train_config.resolution_at",
          forbid=(train_config.resolution_at, train_config.TrainConfig.stage_at))
def check_resolution_at(resolution_at: Callable) -> int:
    """resolution_at(plan [(size, steps), ...], step) -> size, vs `minicog.train_config.resolution_at`
    (TrainConfig.stage_at on the plan's stages); a plan whose sizes go down must raise ValueError."""
    n = 0
    for plan in _plans():
        total = sum(steps for _, steps in plan)
        for step in range(total + 3):
            where = case("resolution_at", plan, step)
            got = call(resolution_at, where, list(plan), step)
            want = train_config.resolution_at(plan, step)
            if got != want and not isinstance(got, bool):
                raise AssertionError(f"{where}: returned {got!r}, expected {want}{_boundary_hint(plan, step)}")
            assert_close(got, want, where, "the size")
            n += 1
    for plan in ([(64, 5), (32, 5)], [(32, 2), (64, 2), (32, 2)], [(128, 1), (64, 3)]):
        where = case("resolution_at", plan, 0)
        try:
            got = call(resolution_at, where, list(plan), 0)
        except AssertionError as e:
            if "raised ValueError" in str(e):
                n += 1
                continue
            raise
        raise AssertionError(f"{where}: returned {got!r}, but the sizes {[s for s, _ in plan]} go down — a "
                             "progressive plan goes from low to high resolution, so this plan must raise "
                             "ValueError")
    return n
