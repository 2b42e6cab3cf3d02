"""Does a word's attention find the object it names? The measurement behind FlowDirector's mask
(SAFC) and the layers it reads — measurement code, apart from the paper's path (`flowdirector` does
not import it).

    scores = word_localisation(pipe, scenes, layer_sets=[layers])     # two-object Shapes scenes
    kind, layers, iou = best_attention(scores)

what `benchmarks/eval_word_attention.py` runs (its `--record` writes the best direction and layers
into the model's pipeline.json, `PipelineConfig.edit_attention`, where `pipe.edit(...,
method="flowdirector")` finds them) and notebook 05 shows.
"""
from __future__ import annotations

import statistics
from typing import Sequence

import torch
import torch.nn.functional as F

from .flowdirector import ATTN_MAPS, MaskRule, attention_mask, object_latent_mask, token_indices, word_attention
from .shapes import render_scene, scene_masks, scene_motions


@torch.no_grad()
def word_localisation(pipe, scenes, *, times: Sequence[float] = (0.6, 0.45, 0.3, 0.15), draws: int = 2,
                      seed: int = 0, rule: MaskRule | None = None, layer_sets: Sequence[Sequence[int]] = ()
                      ) -> dict[tuple[str, tuple[int, ...]], dict[str, list[float]]]:
    """How well each word's attention finds the object it names, on rendered two-object Shapes
    clips.

    For every scene of `scenes` (two-object `shapes.Scene`s), the clip is rendered, encoded, noised
    to each of `times` with `draws` noise draws, and the DiT run on its own caption while the
    attention of every layer is recorded. For each object, its colour word and (when the two shapes
    differ, so the word names one object) its shape word give a map per direction (ATTN_MAPS) and
    per layer (and per set of `layer_sets`, averaged as SAFC averages them); the map is made binary
    with SAFC's own rule (`attention_mask` with `rule`, the preset's `MaskRule()` by default; the
    union over the draws) and scored against the object's true mask on the latent grid
    (`flowdirector.object_latent_mask`):

        iou    |binary ∩ object| / |binary ∪ object|
        other  the share of the other object's cells inside the binary mask (should be 0)

    Returns {(kind, layers): {"iou": [...], "other": [...], "word": [...], "time": [...],
    "ceiling_iou": [...], "ceiling_other": [...]}}, one entry per (scene, object, word, time); the
    ceiling lists give what a perfect map of the same word would score (`token_grid_ceiling`)."""
    rule = MaskRule() if rule is None else rule
    n = pipe.dit.config.num_layers
    sets = [(layer,) for layer in range(n)] + [tuple(s) for s in layer_sets]
    out: dict = {}
    gen = torch.Generator().manual_seed(seed)
    for i, scene in enumerate(scenes):
        if len(scene.objects) != 2:
            raise ValueError(f"word_localisation scores two-object scenes, got {scene.caption()!r}")
        motions = scene_motions(scene, 64, seed * 100_003 + i)
        x = pipe.encode_video(render_scene(scene, frames=17, size=64, motions=motions))
        masks = scene_masks(scene, motions, frames=17, size=64)
        prompt = scene.caption()
        embeds, tmask = pipe.encode_prompt([prompt])
        size = tuple(x.shape[-3:])
        truth = {c: object_latent_mask(m, size) for c, m in masks.items()}
        words = _scene_words(scene)                   # (word, the object's colour, the other's)
        tokens = {w: token_indices(pipe, prompt, [w]) for w, _, _ in words}
        patch = pipe.dit.config.patch_size
        ceiling = {c: token_grid_ceiling(truth[c], truth[o], patch, rule) for _, c, o in words}
        for t in times:
            eps = torch.randn((draws, *x.shape[1:]), generator=gen).to(x)
            z = (1 - t) * x + t * eps
            with pipe.dit.record_attention(layers=range(n), reduce_heads="mean") as rec:
                pipe.velocity(z, t, embeds.expand(draws, -1, -1),
                              None if tmask is None else tmask.expand(draws, -1))
            for kind in ATTN_MAPS:
                maps = {layer: rec.maps[layer][kind] for layer in range(n)}
                for layers in sets:
                    for w, mine, theirs in words:
                        wm = word_attention(maps, tokens[w], layers=layers, kind=kind)
                        _, parts = attention_mask(wm, size, rule, return_parts=True)
                        iou, other = _mask_scores(parts["union"], truth[mine], truth[theirs])
                        s = out.setdefault((kind, layers), dict(iou=[], other=[], word=[], time=[],
                                                                ceiling_iou=[], ceiling_other=[]))
                        s["iou"].append(iou)
                        s["other"].append(other)
                        s["word"].append("color" if w == mine else "shape")
                        s["time"].append(float(t))
                        s["ceiling_iou"].append(ceiling[mine][0])
                        s["ceiling_other"].append(ceiling[mine][1])
    return out


def _scene_words(scene) -> list[tuple[str, str, str]]:
    """(word, the colour of the object it names, the other object's colour) for a two-object scene:
    each colour word, and each shape word when the two shapes differ (so the word names one object)."""
    a, b = scene.objects
    words = []
    for obj, other in ((a, b), (b, a)):
        words.append((obj.color, obj.color, other.color))
        if a.shape != b.shape:
            words.append((obj.shape, obj.color, other.color))
    return words


def _mask_scores(mask: torch.Tensor, obj: torch.Tensor, other: torch.Tensor) -> tuple[float, float]:
    """(IoU of the binary `mask` with the object, share of the other object's cells inside it);
    all three on the latent grid, on where > 0.5."""
    binary, obj, other = mask > 0.5, obj > 0.5, other > 0.5
    iou = float((binary & obj).sum() / (binary | obj).sum().clamp_min(1))
    return iou, (float(binary[other].float().mean()) if other.any() else 0.0)


def token_grid_ceiling(object_mask: torch.Tensor, other_mask: torch.Tensor, patch: int,
                       rule: MaskRule | None = None) -> tuple[float, float]:
    """What SAFC's rule can reach at the transformer's token resolution: the IoU (and the share of
    the other object covered) of the binary mask that `attention_mask` makes from a *perfect* word
    map — each `patch`×`patch` attention token's value the share of its latent cells inside the
    object. Attention has one value per token, so a map of the latent grid's own resolution is out
    of its reach; this is the best `word_localisation` could score. Masks are (T, h, w) on the latent
    grid (`object_latent_mask`); rule: the preset's `MaskRule()` by default."""
    rule = MaskRule() if rule is None else rule
    size = tuple(object_mask.shape)
    perfect = F.avg_pool2d(object_mask.float()[:, None], patch)[:, 0][None]          # (1, T, h/p, w/p)
    _, parts = attention_mask(perfect, size, rule, return_parts=True)
    return _mask_scores(parts["union"], object_mask, other_mask)


def best_attention(scores: dict, statistic: str = "median") -> tuple[str, tuple[int, ...], float]:
    """The (direction, layers) whose maps localise best in `word_localisation`'s scores: the highest
    median (or mean) IoU over all words; returns (kind, layers, that value)."""
    f = statistics.median if statistic == "median" else statistics.fmean
    (kind, layers), s = max(scores.items(), key=lambda kv: f(kv[1]["iou"]))
    return kind, layers, f(s["iou"])
