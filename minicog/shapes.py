"""The Shapes world: synthetic text–video data with ground truth.

A clip is one filled shape (circle, square or triangle with its apex up) of one palette colour,
moving left, right, up or down at constant speed over a plain background. Every clip has a
canonical caption, `a {color} {shape} moving {direction} on a {background} background`, and an
oracle reads the four attributes back off any uint8 video, so every model in the course can be
*measured*, not just looked at.

Conventions: videos handed around here are uint8 numpy arrays (T, H, W, 3); the torch `Dataset`
returns float tensors (C, T, H, W) in [-1, 1], the layout of the whole package.
"""
from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from typing import Iterable, Sequence

import numpy as np
import torch

from .text_encoder import split_words

# --------------------------------------------------------------------------- the world's vocabulary
COLORS: dict[str, tuple[int, int, int]] = {
    "red": (220, 40, 40),
    "green": (40, 180, 60),
    "blue": (40, 80, 220),
    "yellow": (230, 200, 40),
    "purple": (150, 60, 200),
    "orange": (240, 130, 30),
}
BACKGROUNDS: dict[str, tuple[int, int, int]] = {
    "black": (0, 0, 0),
    "white": (255, 255, 255),
    "gray": (128, 128, 128),
}
SHAPES: tuple[str, ...] = ("circle", "square", "triangle")
DIRECTIONS: tuple[str, ...] = ("left", "right", "up", "down")
ATTRIBUTES: tuple[str, ...] = ("color", "shape", "direction", "background")

SIZE_RANGE = (0.14, 0.19)     # radius / half-side, as a fraction of the frame size
TRAVEL_RANGE = (0.4, 0.6)     # distance travelled over the clip, as a fraction of the frame size
DEFAULT_FRAMES = 17           # 1 + 4·4: the causal VAE maps 1+4k frames to 1+k latent frames
DEFAULT_SIZE = 64

CAPTION_TEMPLATE = "a {color} {shape} moving {direction} on a {background} background"
# Paraphrases for training (the canonical caption must always work too).
PARAPHRASES: tuple[str, ...] = (
    CAPTION_TEMPLATE,
    "a {color} {shape} moves {direction} on a {background} background",
    "{color} {shape} moving {direction} over a {background} background",
    "a {color} {shape} going {direction} on a plain {background} background",
    "a {background} background with a {color} {shape} moving {direction}",
)
_MOTION = {"left": (-1, 0), "right": (1, 0), "up": (0, -1), "down": (0, 1)}  # (dx, dy), y grows down


def vocabulary() -> list[str]:
    """Every word of Shapes captions and paraphrases (colours, shapes, directions, backgrounds and
    glue words such as "moving", "on", "background") — the tiny text encoder's vocabulary."""
    words: set[str] = set()
    for template in PARAPHRASES:
        words.update(split_words(re.sub(r"\{\w+\}", " ", template)))
    for names in (COLORS, BACKGROUNDS, SHAPES, DIRECTIONS):
        for name in names:
            words.update(split_words(name))
    return sorted(words)


# --------------------------------------------------------------------------- validation
def _check(name: str, value: str, allowed: Iterable[str]) -> str:
    allowed = tuple(allowed)
    if value not in allowed:
        raise ValueError(f"unknown {name} {value!r}; allowed values are: {', '.join(allowed)}")
    return value


def check_frames(frames: int) -> int:
    """Frame counts must be 1+4k (1, 5, 9, 13, 17, ...) so the causal VAE maps them to 1+k latents."""
    if not isinstance(frames, (int, np.integer)) or frames < 1 or (frames - 1) % 4 != 0:
        raise ValueError(f"frames must be 1+4k (1, 5, 9, 13, 17, ..., 49), got {frames!r}; "
                         "the causal VAE compresses time 4x after keeping the first frame")
    return int(frames)


def check_size(size: int | Sequence[int]) -> tuple[int, int]:
    """Sizes must be multiples of 16 (8x VAE downsampling, then a 2x2 transformer patch)."""
    h, w = (size, size) if isinstance(size, (int, np.integer)) else tuple(size)
    for s in (h, w):
        if not isinstance(s, (int, np.integer)) or s < 16 or s % 16 != 0:
            raise ValueError(f"frame size must be a multiple of 16 (16, 32, 48, 64, ...), got {size!r}")
    return int(h), int(w)


def caption(color: str, shape: str, direction: str, background: str, template: str = CAPTION_TEMPLATE) -> str:
    """The canonical caption of a clip (or a paraphrase, given another template)."""
    _check("color", color, COLORS)
    _check("shape", shape, SHAPES)
    _check("direction", direction, DIRECTIONS)
    _check("background", background, BACKGROUNDS)
    return template.format(color=color, shape=shape, direction=direction, background=background)


def parse_caption(text: str) -> dict[str, str]:
    """Read the four attributes from a canonical caption or one of the paraphrases.

    The object colour is the palette word that is not followed by "background"; the background is
    the background word right before "background"."""
    words = re.findall(r"[a-z]+", text.lower())
    out: dict[str, str] = {}
    for i, w in enumerate(words):
        nxt = words[i + 1] if i + 1 < len(words) else ""
        if nxt == "background" and w in BACKGROUNDS:
            out["background"] = w
        elif w in COLORS and "color" not in out:
            out["color"] = w
        elif w in SHAPES and "shape" not in out:
            out["shape"] = w
        elif w in DIRECTIONS and "direction" not in out:
            out["direction"] = w
    missing = [a for a in ATTRIBUTES if a not in out]
    if missing:
        allowed = {"color": COLORS, "shape": SHAPES, "direction": DIRECTIONS, "background": BACKGROUNDS}
        hint = "; ".join(f"{a}: {', '.join(allowed[a])}" for a in missing)
        raise ValueError(f"caption {text!r} does not name a {', '.join(missing)} "
                         f"(expected e.g. {CAPTION_TEMPLATE!r}; allowed {hint})")
    return out


def all_combinations() -> list[dict[str, str]]:
    """All 6 colours × 3 shapes × 4 directions × 3 backgrounds = 216 attribute combinations."""
    return [dict(color=c, shape=s, direction=d, background=b)
            for c, s, d, b in itertools.product(COLORS, SHAPES, DIRECTIONS, BACKGROUNDS)]


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
                  rng: np.random.Generator | int | None = None) -> Motion:
    """Radius 0.14–0.19 and travel 0.4–0.6 of the frame size; the shape stays fully inside."""
    _check("direction", direction, DIRECTIONS)
    h, w = check_size(size)
    rng = np.random.default_rng(rng)
    ref = min(h, w)
    r = ref * rng.uniform(*SIZE_RANGE)
    travel = ref * rng.uniform(*TRAVEL_RANGE)
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
           size: int | Sequence[int] = DEFAULT_SIZE, rng: np.random.Generator | int | None = None,
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
    """Render the clip a caption describes (the ground-truth 'generator' of the Shapes world)."""
    return render(**parse_caption(text), frames=frames, size=size, rng=rng)


# --------------------------------------------------------------------------- dataset
def _as_combo(item) -> tuple[str, str, str, str]:
    if isinstance(item, str):
        item = parse_caption(item)
    if isinstance(item, dict):
        item = tuple(item[a] for a in ATTRIBUTES)
    item = tuple(item)
    if len(item) != 4:
        raise ValueError(f"a combination is (color, shape, direction, background), got {item!r}")
    for name, value, allowed in zip(ATTRIBUTES, item, (COLORS, SHAPES, DIRECTIONS, BACKGROUNDS)):
        _check(name, value, allowed)
    return item  # type: ignore[return-value]


class ShapesDataset(torch.utils.data.Dataset):
    """Deterministic Shapes clips: item i is always the same clip for the same `seed`.

    Returns dict(video=(C, T, H, W) float in [-1, 1], caption=str, attributes=dict).
    `holdout` lists combinations (dicts, 4-tuples or captions) never produced — for measuring
    compositional generalisation; `combinations` restricts to a chosen set instead.
    `paraphrase` draws the caption from PARAPHRASES (the canonical one included)."""

    def __init__(self, length: int = 10_000, frames: int = DEFAULT_FRAMES,
                 size: int | Sequence[int] = DEFAULT_SIZE, seed: int = 0,
                 holdout: Iterable = (), combinations: Iterable | None = None,
                 paraphrase: bool = False):
        self.length = int(length)
        self.frames = check_frames(frames)
        self.size = check_size(size)
        self.seed = int(seed)
        self.paraphrase = paraphrase
        self.holdout = {_as_combo(h) for h in holdout}
        pool = [_as_combo(c) for c in (combinations if combinations is not None else all_combinations())]
        self.combos = [c for c in pool if c not in self.holdout]
        if not self.combos:
            raise ValueError("holdout removes every combination; nothing left to sample")

    def __len__(self) -> int:
        return self.length

    def attributes(self, index: int) -> tuple[dict[str, str], np.random.Generator]:
        if not 0 <= index < self.length:
            raise IndexError(f"index {index} out of range for a dataset of length {self.length}")
        rng = np.random.default_rng([self.seed, index])
        combo = self.combos[rng.integers(len(self.combos))]
        return dict(zip(ATTRIBUTES, combo)), rng

    def __getitem__(self, index: int) -> dict:
        attrs, rng = self.attributes(index)
        template = PARAPHRASES[rng.integers(len(PARAPHRASES))] if self.paraphrase else CAPTION_TEMPLATE
        video = render(**attrs, frames=self.frames, size=self.size, rng=rng)
        x = torch.from_numpy(video).permute(3, 0, 1, 2).float().div(127.5).sub(1.0)  # (C, T, H, W)
        return dict(video=x, caption=caption(**attrs, template=template), attributes=attrs)


# --------------------------------------------------------------------------- the oracle
def nearest_color(rgb: np.ndarray, table: dict[str, tuple[int, int, int]]) -> str:
    """The name in `table` (name → RGB, e.g. `COLORS` or `BACKGROUNDS`) whose colour is nearest to
    `rgb` (3,) in Euclidean RGB distance."""
    names = list(table)
    d = np.linalg.norm(np.asarray([table[n] for n in names], np.float32) - rgb[None], axis=1)
    return names[int(np.argmin(d))]


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
    """Read colour, shape, direction and background off a uint8 video (T, H, W, 3).

    background: nearest background colour to the median border pixel;
    object mask: pixels of the 3x3-smoothed video farther than `threshold` (RGB distance) from
    that background (`object_mask`); colour: nearest palette colour to the median of the object's
    core (the half of its pixels farthest from the background, so blurred edges do not pull it);
    shape: best mean IoU over frames against a circle / square / triangle of the same area and
    centroid; direction: sign of the dominant axis of the centroid's least-squares velocity.
    Attributes that cannot be read (no object found) are None."""
    bg_name, smooth, dist = background_distance(video)                # (T, H, W, 3), (T, H, W)
    H, W = dist.shape[1:]
    mask = dist > threshold
    out: dict[str, str | None] = dict(color=None, shape=None, direction=None, background=bg_name)
    min_area = 0.25 * np.pi * (SIZE_RANGE[0] * min(H, W)) ** 2       # a quarter of the smallest shape
    areas = mask.sum(axis=(1, 2))
    good = areas >= min_area
    if not good.any():
        return out
    core = mask & (dist >= np.quantile(dist[mask], 0.5))              # skip blurred/mixed edges
    out["color"] = nearest_color(np.median(smooth[core], axis=0), COLORS)
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
    out["shape"] = max(scores, key=scores.get)
    if len(t_idx) >= 2:
        vx = np.polyfit(t_idx, cx, 1)[0]
        vy = np.polyfit(t_idx, cy, 1)[0]
        if abs(vx) >= abs(vy):
            out["direction"] = "right" if vx > 0 else "left"
        else:
            out["direction"] = "down" if vy > 0 else "up"
    return out


@dataclass
class OracleReport:
    """Per-attribute and whole-prompt accuracy of a batch of videos against their prompts."""
    n: int
    per_attribute: dict[str, float]
    prompt_accuracy: float
    predictions: list[dict] = field(repr=False, default_factory=list)
    targets: list[dict] = field(repr=False, default_factory=list)
    correct: list[bool] = field(repr=False, default_factory=list)

    def failures(self) -> list[tuple[int, dict, dict]]:
        return [(i, t, p) for i, (t, p, ok) in enumerate(zip(self.targets, self.predictions, self.correct))
                if not ok]

    def table(self) -> str:
        rows = [f"{'attribute':<12}{'accuracy':>9}"]
        rows += [f"{a:<12}{100 * self.per_attribute[a]:>8.1f}%" for a in ATTRIBUTES]
        rows.append(f"{'all (prompt)':<12}{100 * self.prompt_accuracy:>8.1f}%   (n={self.n})")
        return "\n".join(rows)


class Oracle:
    """Scores videos against prompts with `read_attributes`."""

    def __init__(self, threshold: float = 60.0):
        self.threshold = threshold

    def read(self, video: np.ndarray) -> dict:
        return read_attributes(video, self.threshold)

    def evaluate(self, videos: Sequence[np.ndarray], prompts: Sequence[str | dict]) -> OracleReport:
        if len(videos) != len(prompts):
            raise ValueError(f"got {len(videos)} videos but {len(prompts)} prompts")
        targets = [dict(zip(ATTRIBUTES, _as_combo(p))) for p in prompts]
        preds = [self.read(v) for v in videos]
        hits = {a: [p[a] == t[a] for p, t in zip(preds, targets)] for a in ATTRIBUTES}
        correct = [all(hits[a][i] for a in ATTRIBUTES) for i in range(len(videos))]
        n = len(videos)
        return OracleReport(
            n=n,
            per_attribute={a: float(np.mean(hits[a])) if n else 0.0 for a in ATTRIBUTES},
            prompt_accuracy=float(np.mean(correct)) if n else 0.0,
            predictions=preds, targets=targets, correct=correct)


def evaluate(videos: Sequence[np.ndarray], prompts: Sequence[str | dict], threshold: float = 60.0) -> OracleReport:
    """Oracle accuracy of `videos` (uint8 (T, H, W, 3) each) against `prompts`."""
    return Oracle(threshold).evaluate(videos, prompts)
