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
"""
from __future__ import annotations

import collections
import itertools
import re
from dataclasses import asdict, dataclass, field
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
TWO_SIZE_RANGE = (0.11, 0.15)   # the same for each object of a two-object scene (docs/shapes_world.md)
TWO_TRAVEL_RANGE = (0.3, 0.45)
MIN_GAP = 2.0                 # px between the two objects' bounding squares, in every frame
CORE_SHARE = 0.6              # read_scene: an object's core is at least this far from background to colour
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
OBJECT_PHRASE = "a {color} {shape} moving {direction}"   # two-object captions: phrase and phrase
_MOTION = {"left": (-1, 0), "right": (1, 0), "up": (0, -1), "down": (0, 1)}  # (dx, dy), y grows down

# Korean captions (the lecture is taught in Korean): one word per English word; the tokenizer strips
# particles and verb endings (`text_encoder.split_words`), so these are the words the model sees.
KOREAN: dict[str, str] = {
    "red": "빨간", "green": "초록", "blue": "파란", "yellow": "노란", "purple": "보라", "orange": "주황",
    "circle": "원", "square": "정사각형", "triangle": "삼각형",
    "left": "왼쪽", "right": "오른쪽", "up": "위쪽", "down": "아래쪽",
    "black": "검정", "white": "흰색", "gray": "회색",
}
# {direction}{으로|로}: the particle follows the last syllable (all four directions take 으로), and
# two objects are joined by {와|과} after the first shape (all three shapes take 과).
KOREAN_TEMPLATE = "{background} 배경 위에서 {objects}"
KOREAN_OBJECT_PHRASE = "{direction}{euro} 움직이는 {color} {shape}"
KOREAN_PARAPHRASES: tuple[str, ...] = (          # one-object Korean captions for training
    KOREAN_TEMPLATE,
    "{background} 배경 위에서 {color} {shape}{iga} {direction}{euro} 움직인다",
)


def _has_final_consonant(word: str) -> bool:
    code = ord(word[-1]) - 0xAC00
    return 0 <= code < 11172 and code % 28 != 0


def _particle(word: str, after_consonant: str, after_vowel: str) -> str:
    """Korean particle allomorphs: 과/와, 이/가, 으로/로 (로 also after a final ㄹ)."""
    if after_consonant == "으로" and (ord(word[-1]) - 0xAC00) % 28 == 8:    # final ㄹ
        return after_vowel
    return after_consonant if _has_final_consonant(word) else after_vowel


def vocabulary() -> list[str]:
    """Every word of Shapes captions and paraphrases, English and Korean, one- and two-object
    (colours, shapes, directions, backgrounds and glue words such as "moving", "on", "and",
    "배경") — the tiny text encoder's vocabulary, as `text_encoder.split_words` reads the words."""
    words: set[str] = set()
    for template in PARAPHRASES + (OBJECT_PHRASE + " and",) + KOREAN_PARAPHRASES + (KOREAN_OBJECT_PHRASE,):
        words.update(split_words(re.sub(r"\{\w+\}", " ", template)))
    for names in (COLORS, BACKGROUNDS, SHAPES, DIRECTIONS, KOREAN.values()):
        for name in names:
            words.update(split_words(name))
    return sorted(words)


def glue_words() -> list[str]:
    """The vocabulary's words that name no colour, shape, direction or background ("a", "moving",
    "배경", ...): a prompt of these alone says nothing (`WordTokenizer.check_known(..., ignore=...)`)."""
    named = {*COLORS, *SHAPES, *DIRECTIONS, *BACKGROUNDS, *KOREAN.values()}
    return [w for w in vocabulary() if w not in named]


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


# --------------------------------------------------------------------------- scenes and captions
@dataclass(frozen=True)
class MovingShape:
    """One object of a scene. The oracle's readings may leave a field None (not readable)."""
    color: str | None
    shape: str | None
    direction: str | None

    def __str__(self) -> str:
        return " ".join(str(v or "?") for v in (self.color, self.shape, self.direction))


def _key(obj: MovingShape) -> tuple[str, str, str]:
    return tuple(v or "" for v in (obj.color, obj.shape, obj.direction))  # type: ignore[return-value]


@dataclass(frozen=True, eq=False)
class Scene:
    """What a caption says and a clip shows: one or two `MovingShape`s and a background.

    `objects` keep their caption order; two scenes are equal when they hold the same objects in any
    order and the same background (the order of the phrases says nothing about the clip)."""
    objects: tuple[MovingShape, ...]
    background: str | None

    def key(self) -> tuple:
        return tuple(sorted(_key(o) for o in self.objects)), self.background or ""

    def __eq__(self, other) -> bool:
        return isinstance(other, Scene) and self.key() == other.key()

    def __hash__(self) -> int:
        return hash(self.key())

    @property
    def attributes(self) -> dict[str, str | None]:
        """The flat dict {color, shape, direction, background} of a one-object scene."""
        if len(self.objects) != 1:
            raise ValueError(f"a scene of {len(self.objects)} objects has no single colour, shape and "
                             "direction; read scene.objects instead")
        return dict(asdict(self.objects[0]), background=self.background)

    @classmethod
    def of(cls, color: str, shape: str, direction: str, background: str) -> "Scene":
        """The one-object scene of these four attributes."""
        return cls((MovingShape(color, shape, direction),), background)

    def check(self) -> "Scene":
        """Validate: known words, one or two objects, different colours. Returns self."""
        if not 1 <= len(self.objects) <= 2:
            raise ValueError(f"a Shapes scene has one or two objects, got {len(self.objects)}")
        for o in self.objects:
            _check("color", o.color, COLORS)
            _check("shape", o.shape, SHAPES)
            _check("direction", o.direction, DIRECTIONS)
        _check("background", self.background, BACKGROUNDS)
        colors = [o.color for o in self.objects]
        if len(set(colors)) != len(colors):
            raise ValueError(f"the objects of a scene must differ in colour (the colour names the "
                             f"object), got {' and '.join(map(str, self.objects))}")
        return self

    def caption(self, template: str | None = None, language: str = "en") -> str:
        """The canonical caption (or a paraphrase, given a template) in English ("en") or Korean
        ("ko"). One-object templates take {color} {shape} {direction} {background}; two-object
        captions are the object phrases joined by "and" / 과 (English paraphrases are one-object)."""
        self.check()
        if language == "ko":
            return _korean_caption(self, template or KOREAN_TEMPLATE)
        if language != "en":
            raise ValueError(f"language must be 'en' or 'ko', got {language!r}")
        if len(self.objects) == 1:
            return (template or CAPTION_TEMPLATE).format(**self.attributes)
        if template not in (None, CAPTION_TEMPLATE):
            raise ValueError("English paraphrases are one-object templates; two-object scenes use "
                             "the canonical caption")
        phrases = " and ".join(OBJECT_PHRASE.format(**asdict(o)) for o in self.objects)
        return f"{phrases} on a {self.background} background"

    def __str__(self) -> str:
        if all(None not in (o.color, o.shape, o.direction) for o in self.objects) and self.objects \
                and self.background:
            return self.caption()
        return " and ".join(map(str, self.objects)) + f" on {self.background or '?'}"


def _korean_caption(scene: Scene, template: str) -> str:
    ko = {o: {a: KOREAN[getattr(o, a)] for a in ("color", "shape", "direction")} for o in scene.objects}
    if template == KOREAN_TEMPLATE:
        phrases = [KOREAN_OBJECT_PHRASE.format(**w, euro=_particle(w["direction"], "으로", "로"))
                   for w in ko.values()]
        if len(phrases) == 2:     # the first phrase ends in its shape word: 원과 / 정사각형과 / 삼각형과
            phrases[0] += _particle(phrases[0], "과", "와")
        return template.format(background=KOREAN[scene.background], objects=" ".join(phrases))
    if len(scene.objects) != 1:
        raise ValueError("Korean paraphrases are one-object templates; two-object scenes use "
                         "KOREAN_TEMPLATE")
    w = next(iter(ko.values()))
    return template.format(**w, background=KOREAN[scene.background],
                           iga=_particle(w["shape"], "이", "가"), euro=_particle(w["direction"], "으로", "로"))


def caption(color: str | Scene, shape: str | None = None, direction: str | None = None,
            background: str | None = None, template: str | None = None, language: str = "en") -> str:
    """The canonical caption of a clip: `caption(color, shape, direction, background)` for one object
    (or a paraphrase, given another template), `caption(scene)` for any `Scene`; language "ko" gives
    the Korean caption."""
    scene = color if isinstance(color, Scene) else Scene.of(color, shape, direction, background)
    return scene.caption(template, language)


# caption words → (attribute, English value), both languages
_WORDS: dict[str, tuple[str, str]] = {
    **{w: ("color", w) for w in COLORS}, **{w: ("shape", w) for w in SHAPES},
    **{w: ("direction", w) for w in DIRECTIONS},
    **{KOREAN[w]: (a, w) for a, names in (("color", COLORS), ("shape", SHAPES), ("direction", DIRECTIONS))
       for w in names},
}
_BACKGROUND_WORDS = {**{w: w for w in BACKGROUNDS}, **{KOREAN[w]: w for w in BACKGROUNDS}}
# two object phrases are joined by "and" (English) or by 과/와 ending a Hangul word (Korean)
_JOIN = re.compile(r"\band\b|(?<=[\uac00-\ud7a3])[과와](?![\uac00-\ud7a3])", re.IGNORECASE)


def parse_caption(text: str) -> Scene:
    """Read the `Scene` of a caption: one- or two-object, English or Korean, canonical or paraphrase.

    The background is the (last) background word right before "background" / "배경"; the rest is cut into
    object phrases at "and" (과/와 in Korean), and each phrase names one colour, shape and direction
    (for one object: the first of each, as always)."""
    if not isinstance(text, str):
        raise ValueError(f"captions must be strings, got {type(text).__name__}: {text!r}")
    background = None
    phrases: list[list[str]] = []
    for part in _JOIN.split(text):
        words = split_words(part)
        kept = []
        for i, w in enumerate(words):
            nxt = words[i + 1] if i + 1 < len(words) else ""
            if nxt in ("background", "배경") and w in _BACKGROUND_WORDS:
                background = _BACKGROUND_WORDS[w]
            else:
                kept.append(w)
        phrases.append(kept)
    objects = []
    for words in phrases:
        found: dict[str, str] = {}
        for w in words:
            if w in _WORDS and _WORDS[w][0] not in found:
                found[_WORDS[w][0]] = _WORDS[w][1]
        if found or len(phrases) == 1:
            objects.append(found)
    missing = [(i, a) for i, o in enumerate(objects) for a in ("color", "shape", "direction") if a not in o]
    missing += [(0, "background")] if background is None else []
    if missing:
        names = sorted({a for _, a in missing}, key=ATTRIBUTES.index)
        allowed = {"color": COLORS, "shape": SHAPES, "direction": DIRECTIONS, "background": BACKGROUNDS}
        hint = "; ".join(f"{a}: {', '.join(allowed[a])}" for a in names)
        raise ValueError(f"caption {text!r} does not name a {', '.join(names)}"
                         + (f" for each of its {len(objects)} objects" if len(objects) > 1 else "")
                         + f" (expected e.g. {CAPTION_TEMPLATE!r}; allowed {hint})")
    return Scene(tuple(MovingShape(**o) for o in objects), background).check()


def all_combinations() -> list[dict[str, str]]:
    """All 6 colours × 3 shapes × 4 directions × 3 backgrounds = 216 attribute combinations."""
    return [dict(color=c, shape=s, direction=d, background=b)
            for c, s, d, b in itertools.product(COLORS, SHAPES, DIRECTIONS, BACKGROUNDS)]


def all_scenes(objects: int = 1) -> list[Scene]:
    """Every scene of `objects` (1 or 2) objects: 216 one-object scenes; 15 colour pairs × 3² shapes
    × 4² directions × 3 backgrounds = 6480 two-object scenes (objects in palette order)."""
    if objects == 1:
        return [Scene.of(**c) for c in all_combinations()]
    if objects != 2:
        raise ValueError(f"a Shapes scene has one or two objects, got {objects!r}")
    return [Scene((MovingShape(c1, s1, d1), MovingShape(c2, s2, d2)), b)
            for (c1, c2), s1, s2, d1, d2, b in itertools.product(
                itertools.combinations(COLORS, 2), SHAPES, SHAPES, DIRECTIONS, DIRECTIONS, BACKGROUNDS)]


def compositional_holdout() -> list[Scene]:
    """Two-object scenes held out of training for the compositional test: for the k-th colour pair
    (palette order, k = 0..14) one pairing of shapes — the first colour as SHAPES[k % 3], the second
    as SHAPES[k // 3 % 3] — in all 16 directions pairs and 3 backgrounds: 15 × 48 = 720 scenes (1 in
    9). Every coloured shape still appears in training, next to other partners; only these pairs of
    coloured shapes are never seen together."""
    held = {(c1, SHAPES[k % 3], c2, SHAPES[k // 3 % 3])
            for k, (c1, c2) in enumerate(itertools.combinations(COLORS, 2))}
    return [s for s in all_scenes(2)
            if (s.objects[0].color, s.objects[0].shape, s.objects[1].color, s.objects[1].shape) in held]


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
                   rng: np.random.Generator | int | None = None, max_tries: int = 10_000) -> list[Motion]:
    """Geometry of a scene's objects. One object: `sample_motion` (radius 0.14–0.19, travel 0.4–0.6).
    Two: each of radius `TWO_SIZE_RANGE` (0.11–0.15) and travel `TWO_TRAVEL_RANGE` (0.3–0.45) of
    the frame size, fully inside, redrawn until their bounding squares stay `MIN_GAP` (2 px) apart in
    every frame (`box_gap`) — rejection sampling; at 64×64 about 1 draw in 3 is kept (1 in 8 when
    one object moves across the other's path)."""
    rng = np.random.default_rng(rng)
    if len(directions) == 1:
        return [sample_motion(directions[0], size, rng)]
    if len(directions) != 2:
        raise ValueError(f"a Shapes scene has one or two objects, got {len(directions)}")
    for _ in range(max_tries):
        ms = [sample_motion(d, size, rng, TWO_SIZE_RANGE, TWO_TRAVEL_RANGE) for d in directions]
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
                  rng: np.random.Generator | int | None = None) -> list[Motion]:
    """The geometry `render_scene(scene, rng=rng)` draws, in palette order of the objects."""
    return sample_motions([o.direction for o in _canonical(scene.check())], size, rng)


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


# --------------------------------------------------------------------------- dataset
def as_scene(item) -> Scene:
    """A `Scene` from a Scene, a caption, an attribute dict or a 4-tuple (color, shape, direction,
    background), validated."""
    if isinstance(item, Scene):
        return item.check()
    if isinstance(item, str):
        return parse_caption(item)
    if isinstance(item, dict):
        if "objects" in item:
            return Scene(tuple(MovingShape(**o) for o in item["objects"]), item.get("background")).check()
        item = tuple(item.get(a) for a in ATTRIBUTES)
    item = tuple(item)
    if len(item) != 4:
        raise ValueError(f"a combination is (color, shape, direction, background), got {item!r}")
    return Scene.of(*item).check()


def scene_dict(scene: Scene) -> dict:
    """A scene as plain data: the flat attribute dict of one object (as always), or
    {"objects": [{color, shape, direction}, ...], "background": ...} for two (`as_scene` reads both)."""
    if len(scene.objects) == 1:
        return scene.attributes
    return dict(objects=[asdict(o) for o in scene.objects], background=scene.background)


class ShapesDataset(torch.utils.data.Dataset):
    """Deterministic Shapes clips: item i is always the same clip for the same `seed`.

    Returns dict(video=(C, T, H, W) float in [-1, 1], caption=str, attributes=dict) — `attributes`
    is `scene_dict(scene)`: the flat dict of a one-object clip.
    `holdout` lists scenes (Scenes, dicts, 4-tuples or captions, one- or two-object) never produced —
    for measuring compositional generalisation (`compositional_holdout()` for two-object scenes);
    `combinations` restricts the one-object scenes to a chosen set instead.
    `paraphrase` draws one-object captions from PARAPHRASES (KOREAN_PARAPHRASES), the canonical one
    included. `two_objects` is the share of two-object scenes (their objects named in random order)
    and `korean` the share of Korean captions; both default to 0, and a one-object English item is
    the same clip and caption whatever they are (the mixture draws from a stream of its own)."""

    def __init__(self, length: int = 10_000, frames: int = DEFAULT_FRAMES,
                 size: int | Sequence[int] = DEFAULT_SIZE, seed: int = 0,
                 holdout: Iterable = (), combinations: Iterable | None = None,
                 paraphrase: bool = False, two_objects: float = 0.0, korean: float = 0.0):
        self.length = int(length)
        self.frames = check_frames(frames)
        self.size = check_size(size)
        self.seed = int(seed)
        self.paraphrase = paraphrase
        for name, share in (("two_objects", two_objects), ("korean", korean)):
            if not 0.0 <= share <= 1.0:
                raise ValueError(f"{name} is a share of the clips, in [0, 1]; got {share!r}")
        self.two_objects, self.korean = float(two_objects), float(korean)
        self.holdout = {as_scene(h) for h in holdout}
        pool = [as_scene(c) for c in (combinations if combinations is not None else all_combinations())]
        self.combos = [c for c in pool if c not in self.holdout]
        self.pairs = [c for c in all_scenes(2) if c not in self.holdout] if self.two_objects else []
        if (not self.combos and self.two_objects < 1) or (self.two_objects and not self.pairs):
            raise ValueError("holdout removes every combination; nothing left to sample")

    def __len__(self) -> int:
        return self.length

    def _mixture(self, index: int) -> tuple[bool, bool, np.random.Generator]:
        """(two objects?, Korean?, a generator for the Korean template), from a stream of their own."""
        mix = np.random.default_rng([self.seed, index, 1])
        u = mix.random(2)
        return bool(u[0] < self.two_objects), bool(u[1] < self.korean), mix

    def scene(self, index: int) -> tuple[Scene, np.random.Generator]:
        """Item `index`'s scene and the generator that draws the rest of it (template, geometry)."""
        if not 0 <= index < self.length:
            raise IndexError(f"index {index} out of range for a dataset of length {self.length}")
        rng = np.random.default_rng([self.seed, index])
        two, _, _ = self._mixture(index) if (self.two_objects or self.korean) else (False, False, None)
        if not two:
            return self.combos[rng.integers(len(self.combos))], rng
        pair = self.pairs[rng.integers(len(self.pairs))]
        order = rng.permutation(2)                 # the caption names the objects in random order
        return Scene(tuple(pair.objects[i] for i in order), pair.background), rng

    def _caption(self, index: int, scene: Scene, rng: np.random.Generator) -> str:
        """The caption (draws the English paraphrase from `rng`, as it always has)."""
        template = None
        if self.paraphrase and len(scene.objects) == 1:
            template = PARAPHRASES[rng.integers(len(PARAPHRASES))]
        _, korean, mix = self._mixture(index) if self.korean else (False, False, None)
        if korean:
            ko = KOREAN_PARAPHRASES[mix.integers(len(KOREAN_PARAPHRASES))] \
                if self.paraphrase and len(scene.objects) == 1 else None
            return scene.caption(ko, language="ko")
        return scene.caption(template)

    def caption(self, index: int) -> str:
        """Item `index`'s caption, without rendering it."""
        scene, rng = self.scene(index)
        return self._caption(index, scene, rng)

    def __getitem__(self, index: int) -> dict:
        scene, rng = self.scene(index)
        text = self._caption(index, scene, rng)
        video = render_scene(scene, frames=self.frames, size=self.size, rng=rng)
        x = torch.from_numpy(video).permute(3, 0, 1, 2).float().div(127.5).sub(1.0)  # (C, T, H, W)
        return dict(video=x, caption=text, attributes=scene_dict(scene))


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
    min_area = 0.25 * np.pi * (SIZE_RANGE[0] * min(H, W)) ** 2       # a quarter of the smallest shape
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
    min_area = 0.25 * np.pi * (TWO_SIZE_RANGE[0] * min(H, W)) ** 2
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
