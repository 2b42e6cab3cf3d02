"""The oracle: reads the objects (colour, shape, direction) and the background back off any uint8
video by segmenting palette colours, and scores videos against their prompts (per attribute, per
object, binding and count errors)."""
from __future__ import annotations

import collections
import itertools
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from .drawing import shape_mask
from .world import (
    ATTRIBUTES,
    BACKGROUNDS,
    COLORS,
    CORE_SHARE,
    SHAPES,
    SIZE_RANGE,
    TWO_SIZE_RANGE,
    MovingShape,
    Scene,
    _key,
    as_scene,
)


# --------------------------------------------------------------------------- the oracle
def nearest_color(rgb: np.ndarray, table: dict[str, tuple[int, int, int]]) -> str:
    """The name in `table` (name → RGB, e.g. `COLORS` or `BACKGROUNDS`) whose colour is nearest to
    `rgb` (3,) in Euclidean RGB distance."""
    names = list(table)
    d = np.linalg.norm(np.asarray([table[n] for n in names], np.float32) - rgb[None], axis=1)
    return names[int(np.argmin(d))]


def min_object_area(H: int, W: int, size_range: tuple[float, float] = TWO_SIZE_RANGE) -> float:
    """The least area (px) a colour must cover in a frame to count as an object: a quarter of the
    smallest circle of `size_range` at H×W (the two-object sizes by default)."""
    return 0.25 * np.pi * (size_range[0] * min(H, W)) ** 2


def background_distance(video: np.ndarray) -> tuple[str, np.ndarray, np.ndarray]:
    """The oracle's first look at a uint8 video (T, H, W, 3): the background's name (nearest
    background colour to the median border pixel), the 3x3-smoothed video (T, H, W, 3) float32,
    and each smoothed pixel's RGB distance to that background (T, H, W)."""
    v = np.asarray(video)
    if v.ndim != 4 or v.shape[-1] != 3:
        raise ValueError(f"expected a uint8 video (T, H, W, 3), got shape {v.shape}")
    v = v.astype(np.float32)
    H, W = v.shape[1:3]
    border = np.concatenate([v[:, 0], v[:, -1], v[:, :, 0], v[:, :, -1]], axis=1).reshape(-1, 3)
    bg_name = nearest_color(np.median(border, axis=0), BACKGROUNDS)
    bg = np.asarray(BACKGROUNDS[bg_name], np.float32)
    # a 3x3 box filter before thresholding keeps pixel noise from flooding the mask
    pad = np.pad(v, ((0, 0), (1, 1), (1, 1), (0, 0)), mode="edge")
    smooth = sum(pad[:, i:i + H, j:j + W] for i in range(3) for j in range(3)) / 9.0   # (T, H, W, 3)
    return bg_name, smooth, np.linalg.norm(smooth - bg, axis=-1)                        # (T, H, W)


def object_mask(video: np.ndarray, threshold: float = 60.0) -> np.ndarray:
    """(T, H, W) bool: the oracle's object mask — pixels of the 3x3-smoothed video farther than
    `threshold` (RGB distance) from the background colour read off the border."""
    return background_distance(video)[2] > threshold


def read_attributes(video: np.ndarray, threshold: float = 60.0) -> dict[str, str | None]:
    """Read colour, shape, direction and background off a uint8 video (T, H, W, 3) of one object.

    background: nearest background colour to the median border pixel;
    object mask: pixels of the 3x3-smoothed video farther than `threshold` (RGB distance) from
    that background (`object_mask`); colour: nearest palette colour to the median of the object's
    core (the half of its pixels farthest from the background, so blurred edges do not pull it);
    shape: best mean IoU over frames against a circle / square / triangle of the same area and
    centroid; direction: sign of the dominant axis of the centroid's least-squares velocity.
    Attributes that cannot be read (no object found) are None. `read_scene` reads two objects."""
    bg_name, smooth, dist = background_distance(video)                # (T, H, W, 3), (T, H, W)
    H, W = dist.shape[1:]
    mask = dist > threshold
    out: dict[str, str | None] = dict(color=None, shape=None, direction=None, background=bg_name)
    min_area = min_object_area(H, W, SIZE_RANGE)
    if not (mask.sum(axis=(1, 2)) >= min_area).any():
        return out
    core = mask & (dist >= np.quantile(dist[mask], 0.5))              # skip blurred/mixed edges
    out["color"] = nearest_color(np.median(smooth[core], axis=0), COLORS)
    out["shape"], out["direction"] = _shape_and_direction(mask, min_area)
    return out


def _shape_and_direction(mask: np.ndarray, min_area: float) -> tuple[str | None, str | None]:
    """Shape and direction of the object of a (T, H, W) mask, over the frames where it has at least
    `min_area` pixels: shape by IoU against area- and centroid-matched templates, direction by the
    centroid's least-squares velocity (None with fewer than two such frames)."""
    H, W = mask.shape[1:]
    areas = mask.sum(axis=(1, 2))
    good = areas >= min_area
    if not good.any():
        return None, None
    ys, xs = np.mgrid[0:H, 0:W].astype(np.float32) + 0.5
    t_idx = np.nonzero(good)[0]
    cx = np.array([xs[mask[t]].mean() for t in t_idx])
    cy = np.array([ys[mask[t]].mean() for t in t_idx])
    # shape: IoU against area- and centroid-matched templates
    scores = {}
    for shape in SHAPES:
        ious = []
        for k, t in enumerate(t_idx):
            a = float(areas[t])
            if shape == "circle":
                r, ocy = np.sqrt(a / np.pi), cy[k]
            elif shape == "square":
                r, ocy = np.sqrt(a) / 2, cy[k]
            else:                                    # area 2r², centroid r/3 below the box centre
                r = np.sqrt(a / 2)
                ocy = cy[k] - r / 3
            tmpl = shape_mask(shape, cx[k], ocy, r, xs, ys)
            inter = np.logical_and(tmpl, mask[t]).sum()
            ious.append(inter / max(1, np.logical_or(tmpl, mask[t]).sum()))
        scores[shape] = float(np.mean(ious))
    shape_read = max(scores, key=scores.get)
    direction = None
    if len(t_idx) >= 2:
        vx = np.polyfit(t_idx, cx, 1)[0]
        vy = np.polyfit(t_idx, cy, 1)[0]
        if abs(vx) >= abs(vy):
            direction = "right" if vx > 0 else "left"
        else:
            direction = "down" if vy > 0 else "up"
    return shape_read, direction


def palette_mixing(smooth: np.ndarray, background: str) -> tuple[np.ndarray, np.ndarray]:
    """How each pixel mixes the background with each palette colour: (alpha, residual), both
    (T, H, W, K) over the K = 6 COLORS — the pixel's share of colour k along the line background→k
    (clipped to [0, 1]) and its RGB distance from that line. An anti-aliased or blurred edge is a mix
    of its object's colour and the background, so it lies on its own colour's line (residual ≈ 0)."""
    bg = np.asarray(BACKGROUNDS[background], np.float32)
    lines = np.asarray(list(COLORS.values()), np.float32) - bg                  # (K, 3)
    p = smooth - bg                                                              # (T, H, W, 3)
    alpha = np.clip((p @ lines.T) / (lines ** 2).sum(1), 0.0, 1.0)               # (T, H, W, K)
    residual = np.linalg.norm(p[..., None, :] - alpha[..., None] * lines, axis=-1)  # (T, H, W, K)
    return alpha, residual


def read_scene(video: np.ndarray, threshold: float = 60.0) -> Scene:
    """Read every object and the background off a uint8 video (T, H, W, 3).

    Each pixel of the object mask (`object_mask`) is labelled with the palette colour whose mixing
    line passes nearest (`palette_mixing`). A colour is an object when its core (pixels at least
    `CORE_SHARE` of the way from the background to it) covers a quarter of the smallest two-object
    shape (`TWO_SIZE_RANGE`) in at least half the frames; the mask is then labelled again among
    the objects' colours only (so an orange edge cannot pass for yellow) and each object's shape and
    direction are read off its own mask as `read_attributes` reads them. With at most one such colour
    the clip is read by `read_attributes` (a one-object clip reads exactly as it always has);
    unreadable fields are None."""
    bg_name, smooth, dist = background_distance(video)                # (T, H, W, 3), (T, H, W)
    T, H, W = dist.shape
    mask = dist > threshold
    alpha, residual = palette_mixing(smooth, bg_name)                  # (T, H, W, K) each
    label = residual.argmin(-1)                                        # (T, H, W)
    core = mask & (np.take_along_axis(alpha, label[..., None], -1)[..., 0] >= CORE_SHARE)
    min_area = min_object_area(H, W)
    found = [k for k in range(len(COLORS))
             if 2 * int(((core & (label == k)).sum(axis=(1, 2)) >= min_area).sum()) >= T]
    if len(found) <= 1:
        read = read_attributes(video, threshold)
        objects = () if read["color"] is None else (MovingShape(read["color"], read["shape"], read["direction"]),)
        return Scene(objects, bg_name)
    label = np.asarray(found)[residual[..., found].argmin(-1)]        # among the objects' colours
    names = list(COLORS)
    return Scene(tuple(MovingShape(names[k], *_shape_and_direction(mask & (label == k), min_area))
                       for k in found), bg_name)


def match_objects(target: Scene, read: Scene) -> list[tuple[MovingShape, MovingShape | None]]:
    """Pair each object of `target` with an object of `read` (None where none is left): the same
    colour first (the colour names the object), then the rest by most agreeing shape and direction."""
    pairs: dict[int, MovingShape | None] = {}
    left = list(read.objects)
    for i, t in enumerate(target.objects):
        same = next((r for r in left if r.color == t.color), None)
        if same is not None:
            pairs[i] = same
            left.remove(same)
    rest = [i for i in range(len(target.objects)) if i not in pairs]
    agree = lambda t, r: (t.shape == r.shape) + (t.direction == r.direction)          # noqa: E731
    best = max(itertools.permutations(left, min(len(left), len(rest))),
               key=lambda perm: sum(agree(target.objects[i], r) for i, r in zip(rest, perm)), default=())
    for i, r in itertools.zip_longest(rest, best):
        if i is not None:
            pairs[i] = r
    return [(t, pairs[i]) for i, t in enumerate(target.objects)]


def binding_error(target: Scene, read: Scene) -> tuple[str, ...]:
    """The attributes bound to the wrong object: () unless `read` holds the same number of objects and
    the same colours, shapes and directions as `target` (as multisets) but not the same objects —
    e.g. ("shape",) for a red square and a blue circle read where a red circle and a blue square were
    asked for."""
    if len(target.objects) < 2 or len(read.objects) != len(target.objects) or \
            sorted(map(_key, target.objects)) == sorted(map(_key, read.objects)):
        return ()
    for a in ("color", "shape", "direction"):
        if collections.Counter(getattr(o, a) for o in target.objects) != \
                collections.Counter(getattr(o, a) for o in read.objects):
            return ()
    return tuple(a for a in ("shape", "direction")
                 if any(getattr(t, a) != getattr(r, a) for t, r in match_objects(target, read)))


@dataclass
class OracleReport:
    """Accuracy of a batch of videos against their prompts.

    per_attribute: colour, shape and direction over the prompts' objects (each paired with a read
    object, `match_objects`), background over videos; prompt_accuracy: videos whose set of objects
    and background are exactly the prompt's; per_object: prompted objects read exactly;
    binding_errors: videos with the right attributes on the wrong objects (`binding_error`);
    count_errors: videos with a wrong number of objects (a missing or an extra one)."""
    n: int
    per_attribute: dict[str, float]
    prompt_accuracy: float
    per_object: float = 0.0
    binding_errors: float = 0.0
    count_errors: float = 0.0
    predictions: list[Scene] = field(repr=False, default_factory=list)
    targets: list[Scene] = field(repr=False, default_factory=list)
    correct: list[bool] = field(repr=False, default_factory=list)
    binding: list[tuple[str, ...]] = field(repr=False, default_factory=list)

    def failures(self) -> list[tuple[int, Scene, Scene]]:
        """(index, prompt's scene, read scene) of every video not fully right."""
        return [(i, t, p) for i, (t, p, ok) in enumerate(zip(self.targets, self.predictions, self.correct))
                if not ok]

    def confusions(self) -> collections.Counter:
        """How often each (attribute, wanted, read) error occurs, over paired objects and backgrounds."""
        out: collections.Counter = collections.Counter()
        for t, p in zip(self.targets, self.predictions):
            for want, got in match_objects(t, p):
                for a in ("color", "shape", "direction"):
                    if got is None or getattr(got, a) != getattr(want, a):
                        out[(a, getattr(want, a), None if got is None else getattr(got, a))] += 1
            if p.background != t.background:
                out[("background", t.background, p.background)] += 1
        return out

    def by_objects(self, count: int) -> float:
        """Prompt accuracy over the prompts of `count` objects (nan when there are none)."""
        hits = [ok for t, ok in zip(self.targets, self.correct) if len(t.objects) == count]
        return float(np.mean(hits)) if hits else float("nan")

    def table(self) -> str:
        rows = [f"{'attribute':<12}{'accuracy':>9}"]
        rows += [f"{a:<12}{100 * self.per_attribute[a]:>8.1f}%" for a in ATTRIBUTES]
        rows.append(f"{'all (prompt)':<12}{100 * self.prompt_accuracy:>8.1f}%   (n={self.n})")
        if any(len(t.objects) > 1 for t in self.targets):
            rows.append(f"{'per object':<12}{100 * self.per_object:>8.1f}%")
            for k in (1, 2):
                n_k = sum(len(t.objects) == k for t in self.targets)
                if n_k:
                    rows.append(f"{f'{k} object' + 's' * (k > 1):<12}{100 * self.by_objects(k):>8.1f}%   (n={n_k})")
            rows += [f"{'binding err':<12}{100 * self.binding_errors:>8.1f}%",
                     f"{'count err':<12}{100 * self.count_errors:>8.1f}%"]
        return "\n".join(rows)


class Oracle:
    """Scores videos against prompts: a one-object prompt's video is read by `read_attributes` (the
    decisions every earlier measurement made, blind to a second object), a two-object prompt's by
    `read_scene`. `strict=True` reads every video by `read_scene`, so an extra object in a one-object
    prompt's video makes it wrong (what a model trained on two-object scenes should be held to)."""

    def __init__(self, threshold: float = 60.0, strict: bool = False):
        self.threshold, self.strict = threshold, strict

    def read(self, video: np.ndarray) -> dict:
        return read_attributes(video, self.threshold)

    def read_scene(self, video: np.ndarray) -> Scene:
        return read_scene(video, self.threshold)

    def read_for(self, video: np.ndarray, target: Scene) -> Scene:
        """The reading a video is judged by against `target` (see the class docstring)."""
        if len(target.objects) == 1 and not self.strict:
            r = self.read(video)
            objects = () if r["color"] is None else (MovingShape(r["color"], r["shape"], r["direction"]),)
            return Scene(objects, r["background"])
        return self.read_scene(video)

    def evaluate(self, videos: Sequence[np.ndarray], prompts: Sequence[str | dict | Scene]) -> OracleReport:
        if len(videos) != len(prompts):
            raise ValueError(f"got {len(videos)} videos but {len(prompts)} prompts")
        targets = [as_scene(p) for p in prompts]
        preds = [self.read_for(v, t) for v, t in zip(videos, targets)]
        hits: dict[str, list[bool]] = {a: [] for a in ATTRIBUTES}
        exact = []
        for t, p in zip(targets, preds):
            for want, got in match_objects(t, p):
                for a in ("color", "shape", "direction"):
                    hits[a].append(got is not None and getattr(got, a) == getattr(want, a))
                exact.append(got is not None and _key(got) == _key(want))
            hits["background"].append(p.background == t.background)
        correct = [p == t for t, p in zip(targets, preds)]
        binding = [binding_error(t, p) for t, p in zip(targets, preds)]
        n = len(videos)
        mean = lambda xs: float(np.mean(xs)) if xs else 0.0                     # noqa: E731
        return OracleReport(
            n=n, per_attribute={a: mean(hits[a]) for a in ATTRIBUTES}, prompt_accuracy=mean(correct),
            per_object=mean(exact), binding_errors=mean([bool(b) for b in binding]),
            count_errors=mean([len(p.objects) != len(t.objects) for t, p in zip(targets, preds)]),
            predictions=preds, targets=targets, correct=correct, binding=binding)


def evaluate(videos: Sequence[np.ndarray], prompts: Sequence[str | dict | Scene],
             threshold: float = 60.0, strict: bool = False) -> OracleReport:
    """Oracle accuracy of `videos` (uint8 (T, H, W, 3) each) against `prompts` (captions in either
    language, attribute dicts or Scenes; one- or two-object); `strict` as in `Oracle`."""
    return Oracle(threshold, strict).evaluate(videos, prompts)
