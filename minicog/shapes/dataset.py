"""`ShapesDataset`: rendered clips with captions, one- and two-object scenes mixed, English and Korean."""
from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np
import torch

from ..sizes import check_frames, check_size
from .drawing import render_scene
from .world import (
    DEFAULT_FRAMES,
    DEFAULT_SIZE,
    KOREAN_PARAPHRASES,
    PARAPHRASES,
    Scene,
    all_combinations,
    all_scenes,
    as_scene,
    scene_dict,
)


# --------------------------------------------------------------------------- dataset
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
                 size: int | Sequence[int] = DEFAULT_SIZE, seed: int = 0, *,
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
        return self.scene_caption(index)[1]

    def scene_caption(self, index: int) -> tuple[Scene, str]:
        """Item `index`'s scene and caption from one draw, without rendering it."""
        scene, rng = self.scene(index)
        return scene, self._caption(index, scene, rng)

    def __getitem__(self, index: int) -> dict:
        scene, rng = self.scene(index)
        text = self._caption(index, scene, rng)
        video = render_scene(scene, frames=self.frames, size=self.size, rng=rng)
        x = torch.from_numpy(video).permute(3, 0, 1, 2).float().div(127.5).sub(1.0)  # (C, T, H, W)
        return dict(video=x, caption=text, attributes=scene_dict(scene))
