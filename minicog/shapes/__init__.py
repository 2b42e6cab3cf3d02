"""The Shapes world: synthetic text–video data with ground truth.

A clip shows one or two filled shapes (circle, square or triangle with its apex up), each of one
palette colour and moving left, right, up or down at constant speed over a plain background. Every
clip has a canonical caption,

    a {color} {shape} moving {direction} on a {background} background
    a {color} {shape} moving {direction} and a {color} {shape} moving {direction} on a {background} background

(the two colours of a two-object scene differ: the colour names the object), a Korean twin
(`KOREAN`), and an oracle reads the objects and the background back off any uint8 video, so every
model in the course can be *measured*, not just looked at. `docs/shapes_world.md` has the sizes,
the Korean word table and the oracle's measured limits.

Conventions: videos handed around here are uint8 numpy arrays (T, H, W, 3); the torch `Dataset`
returns float tensors (C, T, H, W) in [-1, 1], the layout of the whole package. A caption parses to
a `Scene` (its objects and background); `Scene.attributes` is the flat dict of a one-object scene.

The package, one part per module: `world` (words, scenes, captions in English and Korean), `drawing`
(motions and rendering), `dataset` (`ShapesDataset`) and `oracle` (reading videos back). Everything
is re-exported here, so `minicog.shapes.render(...)`, `shapes.evaluate(...)` etc. are the public API.
"""
# ruff: noqa: F401  (this module re-exports the four parts)
from __future__ import annotations

from .dataset import ShapesDataset
from .drawing import (
                    Motion,
                    add_shape,
                    box_gap,
                    render,
                    render_caption,
                    render_scene,
                    sample_motion,
                    sample_motions,
                    scene_masks,
                    scene_motions,
                    shape_mask,
)
from .oracle import (
                    Oracle,
                    OracleReport,
                    background_distance,
                    binding_error,
                    evaluate,
                    match_objects,
                    min_object_area,
                    nearest_color,
                    object_mask,
                    palette_mixing,
                    read_attributes,
                    read_scene,
)
from .world import (
                    ATTRIBUTES,
                    BACKGROUNDS,
                    CAPTION_TEMPLATE,
                    COLORS,
                    CORE_SHARE,
                    DEFAULT_FRAMES,
                    DEFAULT_SIZE,
                    DIRECTIONS,
                    KOREAN,
                    KOREAN_OBJECT_PHRASE,
                    KOREAN_PARAPHRASES,
                    KOREAN_TEMPLATE,
                    MIN_GAP,
                    OBJECT_PHRASE,
                    PARAPHRASES,
                    SHAPES,
                    SIZE_RANGE,
                    TRAVEL_RANGE,
                    TWO_SIZE_RANGE,
                    TWO_TRAVEL_RANGE,
                    MovingShape,
                    Scene,
                    all_combinations,
                    all_scenes,
                    as_scene,
                    caption,
                    check_frames,
                    check_size,
                    compositional_holdout,
                    glue_words,
                    parse_caption,
                    sample_scenes,
                    scene_dict,
                    vocabulary,
)
