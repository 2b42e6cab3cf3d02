"""Plausible wrong answers to week 5's exercises (tests/test_wrong_answers.py)."""
import torch
import torch.nn.functional as F


def _mask_text_only_real(text_mask, video_mask, tokens_per_frame=1):
    """Padded video frames kept as keys: only the text padding is masked out."""
    video = torch.ones_like(video_mask.bool()).repeat_interleave(tokens_per_frame, dim=1)
    real = torch.cat([text_mask.bool(), video], dim=1)
    return real[:, :, None] & real[:, None, :]


def _mask_no_self(text_mask, video_mask, tokens_per_frame=1):
    """Padded queries left with no key at all (their softmax is NaN)."""
    real = torch.cat([text_mask.bool(), video_mask.bool().repeat_interleave(tokens_per_frame, dim=1)], dim=1)
    return real[:, :, None] & real[:, None, :]


def _mask_frames_not_tokens(text_mask, video_mask, tokens_per_frame=1):
    """One entry per frame instead of per token (tokens_per_frame ignored)."""
    real = torch.cat([text_mask.bool(), video_mask.bool()], dim=1)
    m = real[:, :, None] & real[:, None, :]
    return m | (torch.eye(real.shape[1], dtype=torch.bool) & ~real[:, :, None])


def _block_padding_together(segment_ids, tokens_per_frame=1):
    """Padding (id −1) treated as one more clip: padded tokens attend to each other."""
    seg = segment_ids.repeat_interleave(tokens_per_frame, dim=1)
    return seg[:, :, None] == seg[:, None, :]


def _block_row_is_one_clip(segment_ids, tokens_per_frame=1):
    """Every real token of a row sees every other real token (the padding mask, not block-diagonal)."""
    seg = segment_ids.repeat_interleave(tokens_per_frame, dim=1)
    real = seg >= 0
    return (real[:, :, None] & real[:, None, :]) | (torch.eye(seg.shape[1], dtype=torch.bool) & ~real[:, :, None])


def _crop_pad(video, size, crop="centre", pad="end", invert=False):
    h, w = (size, size) if isinstance(size, int) else size
    H, W = video.shape[2:]
    top, left = ((H - h) // 2, (W - w) // 2) if crop == "centre" else (0, 0)
    kept = video[:, :, max(0, top): max(0, top) + h, max(0, left): max(0, left) + w]
    kh, kw = kept.shape[2:]
    y, x = ((h - kh) // 2, (w - kw) // 2) if pad == "centre" else (0, 0)
    out = video.new_zeros(*video.shape[:2], h, w)
    out[:, :, y: y + kh, x: x + kw] = kept
    mask = torch.zeros(h, w, dtype=torch.bool)
    mask[y: y + kh, x: x + kw] = True
    return out, ~mask if invert else mask


def _shrink_and_pad(video, size):
    """"Pad the large": a large clip shrunk to fit inside the bucket (aspect kept), then padded."""
    h, w = (size, size) if isinstance(size, int) else size
    H, W = video.shape[2:]
    f = min(1.0, h / H, w / W)
    nh, nw = max(1, int(H * f)), max(1, int(W * f))
    small = F.interpolate(video, size=(nh, nw), mode="bilinear", align_corners=False) if f < 1 else video
    return _crop_pad(small, size)


def _resolution_off_by_one(plan, step):
    """A stage's last step counted into the next stage (`<=` where `<` belongs)."""
    end = 0
    for size, steps in plan:
        end += steps
        if step < end - 1:
            return size
    return plan[-1][0]


def _resolution_inclusive_end(plan, step):
    """step == the stage's end still counted in it (`<=`)."""
    end = 0
    for size, steps in plan:
        end += steps
        if step <= end:
            return size
    return plan[-1][0]


def _resolution_reversed(plan, step):
    """The stages walked from the last to the first: high resolution first."""
    end = 0
    for size, steps in reversed(plan):
        end += steps
        if step < end:
            return size
    return plan[0][0]


def _resolution_no_order_check(plan, step):
    """Right sizes, but a plan going from high to low resolution accepted."""
    end = 0
    for size, steps in plan:
        end += steps
        if step < end:
            return size
    return plan[-1][0]


def _resolution_steps_as_ends(plan, step):
    """The steps read as the stage's last step number (like Stage.until), not as its length."""
    for size, until in plan:
        if step < until:
            return size
    return plan[-1][0]


WRONG = {
    "frame_pack_mask": [
        (_mask_text_only_real, "padded frames left visible as keys", r"differs in \d+ of"),
        (_mask_no_self, "padded queries attend to nothing", r"differs in \d+ of"),
        (_mask_frames_not_tokens, "one entry per frame, tokens_per_frame ignored", r"has shape"),
    ],
    "block_diagonal_mask": [
        (_block_padding_together, "padding treated as one more clip", r"differs in \d+ of"),
        (_block_row_is_one_clip, "a row's clips see each other", r"differs in \d+ of"),
    ],
    "crop_and_pad": [
        (lambda video, size: _crop_pad(video, size, crop="corner"), "top-left crop instead of the middle",
         r"cropped the top-left corner.*centred crop"),
        (lambda video, size: _crop_pad(video, size, invert=True), "mask of the wrong polarity",
         r"mask is inverted: it must be True on the clip's real pixels"),
        (lambda video, size: _crop_pad(video, size, pad="centre"), "padding on both sides",
         r"padded on both sides"),
        (_shrink_and_pad, "the large clip shrunk and padded instead of cropped",
         r"cropped to fill it .*not shrunk and padded"),
        (lambda video, size: (video, torch.ones(video.shape[2:], dtype=torch.bool)), "the clip returned as it is",
         r"the clip has shape .* a side longer than the bucket is cropped"),
    ],
    "resolution_at": [
        (_resolution_off_by_one, "a stage's last step moved to the next stage", r"last step of stage 1"),
        (_resolution_inclusive_end, "step == end kept in the stage", r"first step of stage 2 \(steps count from 0"),
        (_resolution_reversed, "high resolution first", r"returned 64, expected 32"),
        (_resolution_no_order_check, "a plan going down accepted", r"go down .* must raise ValueError"),
        (_resolution_steps_as_ends, "steps read as stage ends", r"expected"),
    ],
}
