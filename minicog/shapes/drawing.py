"""Drawing a `Scene` as a uint8 video (T, H, W, 3): sampled motions (two objects never closer than
`MIN_GAP`), supersampled coverage, and the true object masks."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ..sizes import check_frames, check_size
from .world import (
    _MOTION,
    BACKGROUNDS,
    COLORS,
    DEFAULT_FRAMES,
    DEFAULT_SIZE,
    DIRECTIONS,
    MIN_GAP,
    SHAPES,
    SIZE_RANGE,
    TRAVEL_RANGE,
    TWO_SIZE_RANGE,
    TWO_TRAVEL_RANGE,
    MovingShape,
    Scene,
    _check,
    parse_caption,
)


# --------------------------------------------------------------------------- rendering
@dataclass
class Motion:
    """The sampled geometry of one clip, in pixels (x to the right, y down)."""
    radius: float
    start: tuple[float, float]
    end: tuple[float, float]

    def centers(self, frames: int) -> np.ndarray:
        s = np.linspace(0.0, 1.0, frames)[:, None]
        return (1 - s) * np.asarray(self.start) + s * np.asarray(self.end)  # (T, 2)


def sample_motion(direction: str, size: int | Sequence[int] = DEFAULT_SIZE,
                  rng: np.random.Generator | int | None = None, size_range: tuple[float, float] = SIZE_RANGE,
                  travel_range: tuple[float, float] = TRAVEL_RANGE) -> Motion:
    """Radius in `size_range` (0.14–0.19) and travel in `travel_range` (0.4–0.6) of the frame size;
    the shape stays fully inside."""
    _check("direction", direction, DIRECTIONS)
    h, w = check_size(size)
    rng = np.random.default_rng(rng)
    ref = min(h, w)
    r = ref * rng.uniform(*size_range)
    travel = ref * rng.uniform(*travel_range)
    dx, dy = _MOTION[direction]
    # positions where the whole shape fits: [r, extent - r] on each axis
    lo_x, hi_x, lo_y, hi_y = r, w - r, r, h - r
    if dx:
        x0 = rng.uniform(lo_x, hi_x - travel) if dx > 0 else rng.uniform(lo_x + travel, hi_x)
        y0 = rng.uniform(lo_y, hi_y)
        start, end = (x0, y0), (x0 + dx * travel, y0)
    else:
        y0 = rng.uniform(lo_y, hi_y - travel) if dy > 0 else rng.uniform(lo_y + travel, hi_y)
        x0 = rng.uniform(lo_x, hi_x)
        start, end = (x0, y0), (x0, y0 + dy * travel)
    return Motion(radius=float(r), start=tuple(map(float, start)), end=tuple(map(float, end)))


def box_gap(a: Motion, b: Motion) -> float:
    """The smallest gap (px) over the whole clip between the bounding squares of two moving shapes:
    min over s in [0, 1] of max(|Δx(s)|, |Δy(s)|) − r_a − r_b, exact. Each shape lies inside its
    square (the triangle's apex and base corners touch it), so the outlines are at least this far apart."""
    p0 = np.subtract(a.start, b.start)                          # centre offset at s = 0, (x, y)
    v = np.subtract(a.end, a.start) - np.subtract(b.end, b.start)  # its change over the clip
    # max(|p0x + vx s|, |p0y + vy s|) is convex and piecewise linear: its minimum is at an end or a kink
    cand = [0.0, 1.0]
    cand += [-p0[i] / v[i] for i in range(2) if v[i]]
    cand += [-(p0[0] - sg * p0[1]) / (v[0] - sg * v[1]) for sg in (1, -1) if v[0] - sg * v[1]]
    s = np.clip(np.asarray(cand), 0.0, 1.0)[:, None]
    return float(np.abs(p0 + s * v).max(axis=1).min() - a.radius - b.radius)


def sample_motions(directions: Sequence[str], size: int | Sequence[int] = DEFAULT_SIZE,
                   rng: np.random.Generator | int | None = None, max_tries: int = 10_000,
                   size_range: tuple[float, float] = TWO_SIZE_RANGE) -> list[Motion]:
    """Geometry of a scene's objects. One object: `sample_motion` (radius 0.14–0.19, travel 0.4–0.6).
    Two: each of radius `size_range` (`TWO_SIZE_RANGE`, 0.14–0.17; another range only to measure
    what size does, e.g. `benchmarks/vae_two_object_sizes.py`) and travel `TWO_TRAVEL_RANGE`
    (0.3–0.45) of the frame size, fully inside, redrawn until their bounding squares stay `MIN_GAP`
    (2 px) apart in every frame (`box_gap`) — rejection sampling; at 64×64 about 1 draw in 4 is kept
    (1 in 40 when one object moves across the other's path)."""
    rng = np.random.default_rng(rng)
    if len(directions) == 1:
        return [sample_motion(directions[0], size, rng)]
    if len(directions) != 2:
        raise ValueError(f"a Shapes scene has one or two objects, got {len(directions)}")
    for _ in range(max_tries):
        ms = [sample_motion(d, size, rng, size_range, TWO_TRAVEL_RANGE) for d in directions]
        if box_gap(*ms) >= MIN_GAP:
            return ms
    raise ValueError(f"no placement of two objects {MIN_GAP} px apart found in {max_tries} draws "
                     f"at size {size}; use a larger frame")


def shape_mask(shape: str, cx: np.ndarray, cy: np.ndarray, r: float | np.ndarray,
               xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """Boolean inside-test of a shape centred (in its bounding box) at (cx, cy) with radius /
    half-side r. cx, cy: (T, 1, 1); xs, ys: (1, H, W) → (T, H, W)."""
    _check("shape", shape, SHAPES)
    if shape == "circle":
        return (xs - cx) ** 2 + (ys - cy) ** 2 <= r ** 2
    if shape == "square":
        return (np.abs(xs - cx) <= r) & (np.abs(ys - cy) <= r)
    # triangle, apex up: apex (cx, cy - r), base from (cx - r, cy + r) to (cx + r, cy + r)
    depth = (ys - (cy - r)) / 2.0               # half-width allowed at this row
    return (ys <= cy + r) & (ys >= cy - r) & (np.abs(xs - cx) <= depth)


def _coverage(shape: str, centers: np.ndarray, radius: float, size: tuple[int, int],
              antialias: int) -> np.ndarray:
    """(T, H, W) share in [0, 1] of each pixel the shape covers, centred at centers (T, 2) (x, y),
    by `antialias`² supersampling (1 gives hard edges)."""
    h, w = size
    ss = max(1, int(antialias))
    # sub-pixel sample positions, in pixel units (pixel i covers [i, i+1))
    ys = ((np.arange(h * ss) + 0.5) / ss)[None, :, None]
    xs = ((np.arange(w * ss) + 0.5) / ss)[None, None, :]
    c = np.asarray(centers)
    inside = shape_mask(shape, c[:, 0, None, None], c[:, 1, None, None], radius, xs, ys)
    return inside.reshape(len(c), h, ss, w, ss).mean(axis=(2, 4))


def render(color: str, shape: str, direction: str, background: str, frames: int = DEFAULT_FRAMES,
           size: int | Sequence[int] = DEFAULT_SIZE, *, rng: np.random.Generator | int | None = None,
           motion: Motion | None = None, antialias: int = 4) -> np.ndarray:
    """Render one clip as uint8 (T, H, W, 3). `rng` (a seed or Generator) fixes size, start and
    travel; pass `motion` to render a chosen geometry. Edges are anti-aliased by `antialias`²
    supersampling (1 gives hard edges)."""
    _check("color", color, COLORS)
    _check("shape", shape, SHAPES)
    _check("direction", direction, DIRECTIONS)
    _check("background", background, BACKGROUNDS)
    frames = check_frames(frames)
    h, w = check_size(size)
    motion = motion or sample_motion(direction, (h, w), rng)
    cover = _coverage(shape, motion.centers(frames), motion.radius, (h, w), antialias)  # (T, H, W)
    fg = np.asarray(COLORS[color], np.float32)
    bg = np.asarray(BACKGROUNDS[background], np.float32)
    video = bg + cover[..., None] * (fg - bg)                       # (T, H, W, 3)
    return np.clip(np.rint(video), 0, 255).astype(np.uint8)


def _canonical(scene: Scene) -> list[MovingShape]:
    """A scene's objects in palette order: the geometry drawn for a seed does not depend on the
    order the caption names them in."""
    order = list(COLORS)
    return sorted(scene.objects, key=lambda o: order.index(o.color))


def render_scene(scene: Scene, frames: int = DEFAULT_FRAMES, size: int | Sequence[int] = DEFAULT_SIZE,
                 rng: np.random.Generator | int | None = None, motions: Sequence[Motion] | None = None,
                 antialias: int = 4) -> np.ndarray:
    """Render a `Scene` as uint8 (T, H, W, 3). A one-object scene is exactly `render`; a two-object
    scene draws both objects (`sample_motions`, in palette order; `motions` to choose them)."""
    scene.check()
    if len(scene.objects) == 1:
        return render(**scene.attributes, frames=frames, size=size, rng=rng,
                      motion=motions[0] if motions else None, antialias=antialias)
    frames = check_frames(frames)
    h, w = check_size(size)
    objects = _canonical(scene)
    motions = motions or sample_motions([o.direction for o in objects], (h, w), rng)
    bg = np.asarray(BACKGROUNDS[scene.background], np.float32)
    video = np.broadcast_to(bg, (frames, h, w, 3)).copy()
    for o, m in zip(objects, motions):           # the objects never overlap: each adds its own share
        cover = _coverage(o.shape, m.centers(frames), m.radius, (h, w), antialias)       # (T, H, W)
        video += cover[..., None] * (np.asarray(COLORS[o.color], np.float32) - bg)
    return np.clip(np.rint(video), 0, 255).astype(np.uint8)


def scene_masks(scene: Scene, motions: Sequence[Motion], frames: int = DEFAULT_FRAMES,
                size: int | Sequence[int] = DEFAULT_SIZE) -> dict[str, np.ndarray]:
    """The true (T, H, W) bool mask of each object (pixels it covers by more than half), by colour
    — e.g. to score a word's attention map against the object it names. `motions` as passed to
    `render_scene` (palette order): `motions = sample_motions(...)`."""
    h, w = check_size(size)
    return {o.color: _coverage(o.shape, m.centers(frames), m.radius, (h, w), 4) > 0.5
            for o, m in zip(_canonical(scene), motions)}


def scene_motions(scene: Scene, size: int | Sequence[int] = DEFAULT_SIZE,
                  rng: np.random.Generator | int | None = None,
                  size_range: tuple[float, float] = TWO_SIZE_RANGE) -> list[Motion]:
    """The geometry `render_scene(scene, rng=rng)` draws, in palette order of the objects
    (`size_range`: another two-object radius range, as in `sample_motions`)."""
    return sample_motions([o.direction for o in _canonical(scene.check())], size, rng, size_range=size_range)


def add_shape(video: np.ndarray, color: str, shape: str, radius: float, center: Sequence[float],
              antialias: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """Draw a *static* shape over a clip (anti-aliased like `render`), e.g. a second object that no
    caption names (`benchmarks/diagnose_distractor.py`, notebook 08). Returns the new uint8 clip and
    the shape's (T, H, W) bool mask (pixels it covers by more than half)."""
    _check("color", color, COLORS)
    v = np.asarray(video)
    if v.ndim != 4 or v.shape[-1] != 3:
        raise ValueError(f"expected a uint8 video (T, H, W, 3), got shape {v.shape}")
    T, H, W, _ = v.shape
    cover = _coverage(shape, np.tile(np.asarray(center, np.float64), (T, 1)), radius, (H, W), antialias)
    fg = np.asarray(COLORS[color], np.float32)
    out = v.astype(np.float32) * (1 - cover[..., None]) + cover[..., None] * fg
    return np.clip(np.rint(out), 0, 255).astype(np.uint8), cover > 0.5


def render_caption(text: str, frames: int = DEFAULT_FRAMES, size: int | Sequence[int] = DEFAULT_SIZE,
                   rng: np.random.Generator | int | None = None) -> np.ndarray:
    """Render the clip a caption describes (the ground-truth 'generator' of the Shapes world), one-
    or two-object, English or Korean."""
    return render_scene(parse_caption(text), frames=frames, size=size, rng=rng)
