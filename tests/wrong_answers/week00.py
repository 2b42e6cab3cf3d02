"""Plausible wrong answers to week 0's exercises (tests/test_wrong_answers.py)."""
import numpy as np

from minicog import shapes


def _parse_by_position(text):
    words = text.lower().rstrip(".").split()            # "a red circle moving left on a black background"
    return {"color": words[1], "shape": words[2], "direction": words[4], "background": words[7]}


def _parse_case_sensitive(text):
    words = text.replace(".", " ").split()              # forgets that captions may use capitals
    out = {}
    for i, w in enumerate(words):
        if w in shapes.BACKGROUNDS and i + 1 < len(words) and words[i + 1] == "background":
            out["background"] = w
        for key, names in (("color", shapes.COLORS), ("shape", shapes.SHAPES), ("direction", shapes.DIRECTIONS)):
            if w in names and key not in out:
                out[key] = w
    return out


def _mask(video, threshold, pad_mode="edge", border_stat=np.median):
    v = video.astype(np.float32)
    T, H, W, _ = v.shape
    border = np.concatenate([v[:, 0], v[:, -1], v[:, :, 0], v[:, :, -1]], axis=1).reshape(-1, 3)
    centre = border_stat(border, axis=0)
    names = list(shapes.BACKGROUNDS)
    bg = np.asarray(shapes.BACKGROUNDS[names[int(np.argmin(
        [np.linalg.norm(np.asarray(shapes.BACKGROUNDS[n], np.float32) - centre) for n in names]))]], np.float32)
    pad = np.pad(v, ((0, 0), (1, 1), (1, 1), (0, 0)), mode=pad_mode)
    smooth = sum(pad[:, i:i + H, j:j + W] for i in range(3) for j in range(3)) / 9.0
    return np.linalg.norm(smooth - bg, axis=-1) > threshold


def _mask_unsmoothed(video, threshold):
    v = video.astype(np.float32)
    bg = np.median(np.concatenate([v[:, 0], v[:, -1]], axis=1).reshape(-1, 3), axis=0)  # raw median, no box filter
    return np.linalg.norm(v - bg, axis=-1) > threshold


WRONG = {
    "parse_caption": [
        (_parse_by_position, "reads the words at the canonical caption's positions (paraphrases reorder them)",
         r"is wrong — "),
        (_parse_case_sensitive, "forgets that captions may use capitals", r"captions may use capitals"),
    ],
    "object_mask": [
        (lambda video, threshold: _mask(video, threshold, pad_mode="constant"),
         "pads the edges with zeros instead of repeating them", r"differs in \d+ of"),
        (_mask_unsmoothed, "no box filter, and the raw border median as the background", r"differs in \d+ of"),
    ],
}
