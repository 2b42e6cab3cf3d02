"""Week 0: Shapes world — the checks of the notebook's graded exercises."""
from __future__ import annotations

from typing import Callable

import numpy as np

from .. import shapes
from ..checking import assert_close, call, case, exercise

__all__ = ["check_parse_caption", "check_object_mask"]


@exercise("parse_caption", "minicog.shapes.parse_caption", forbid=(shapes.parse_caption,))
def check_parse_caption(parse_caption: Callable[[str], dict]) -> int:
    """parse_caption(text) -> {"color", "shape", "direction", "background"} of a one-object English
    caption, canonical or paraphrased, vs `shapes.parse_caption(text).attributes`."""
    combos = shapes.all_combinations()
    n = 0
    for i, combo in enumerate(combos):
        for template in shapes.PARAPHRASES[: 1 + i % len(shapes.PARAPHRASES)]:
            text = shapes.caption(**combo, template=template)
            where = case("parse_caption", text)
            assert_close(call(parse_caption, where, text), shapes.parse_caption(text).attributes, where)
            n += 1
    text = "A BLUE square moving UP on a gray background."
    where = case("parse_caption", text)
    assert_close(call(parse_caption, where, text), shapes.parse_caption(text).attributes, where,
                 "the result (captions may use capitals and end with a full stop)")
    return n + 1


@exercise("object_mask", "minicog.shapes.object_mask", forbid=(shapes.object_mask,))
def check_object_mask(object_mask: Callable[[np.ndarray, float], np.ndarray]) -> int:
    """object_mask(video, threshold) -> (T, H, W) bool, vs `shapes.object_mask`."""
    videos = [shapes.render("red", "circle", "right", "black", frames=5, size=32, rng=0),
              shapes.render("blue", "triangle", "up", "white", frames=5, size=32, rng=1),
              shapes.render("yellow", "square", "left", "gray", frames=5, size=(32, 48), rng=2)]
    noisy = np.clip(videos[0].astype(np.int16) + np.random.default_rng(3).integers(-40, 41, videos[0].shape),
                    0, 255).astype(np.uint8)
    videos.append(noisy)
    n = 0
    for video in videos:
        for threshold in (60.0, 25.0):
            where = case("object_mask", video, threshold)
            assert_close(call(object_mask, where, video, threshold), shapes.object_mask(video, threshold), where)
            n += 1
    return n
