"""The Shapes world's words and scenes: palette, shapes, directions, backgrounds, the English and
Korean captions of one- and two-object scenes, and their parsing back to a `Scene`."""
from __future__ import annotations

import itertools
import re
from dataclasses import asdict, dataclass
from typing import Iterable

import numpy as np

from ..sizes import check_frames, check_size  # noqa: F401  (re-exported: the one copy of the rules)
from ..words import split_words

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
TWO_SIZE_RANGE = (0.14, 0.17)   # the same for each object of a two-object scene (docs/shapes_world.md)
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
# particles and verb endings (`minicog.words.split_words`), so these are the words the model sees.
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
    "배경") — the tiny text encoder's vocabulary, as `words.split_words` reads the words."""
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
        """The caption of a valid scene; any other reading (unreadable fields, three objects read off
        a failed sample) as its objects' words, "?" where a field is None. Never raises."""
        try:
            return self.caption()
        except ValueError:                        # Scene.check refuses it
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


def sample_scenes(n: int, seed: int = 0) -> list[Scene]:
    """`n` two-object scenes drawn without replacement from the 6480 of `all_scenes(2)` (fixed by
    `seed`), each named in a random order: the prompts of every two-object accuracy measure."""
    rng = np.random.default_rng(seed)
    pool = all_scenes(2)
    return [pool[i] if rng.random() >= 0.5 else Scene(pool[i].objects[::-1], pool[i].background)
            for i in rng.choice(len(pool), n, replace=False)]


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
