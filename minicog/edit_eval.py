"""Measuring an edit in the Shapes world, where the ground truth exists (weeks 7–8).

The oracle (`minicog.shapes.read_attributes`) reads the edited clip's attributes, the object's
track gives its drift, and the perfect edit (`ideal_edit`: the target prompt rendered on the
source's motion) is the reference:

    edits = shapes_edits(12, ("color", "shape"), seed=1)       # sources and one-attribute targets
    rows = measure(pipe, edits, {k: ABLATIONS[k] for k in ("flowedit", "flowdirector")})
    print(results_table(summarise(rows), reference="flowedit"))

what `benchmarks/bench_editing.py` runs and `docs/flowdirector.md` records.
"""
from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import is_dataclass, replace
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from .edit import edit
from .flowdirector import DAG, DirectionAware, FlowDirector, MotionGate, VelocityMask, object_latent_mask
from .shapes import (ATTRIBUTES, COLORS, DEFAULT_FRAMES, DEFAULT_SIZE, SHAPES,
                     MovingShape, Scene, all_combinations, all_scenes, background_distance, caption,
                     min_object_area, object_mask, palette_mixing, parse_caption, read_attributes, read_scene,
                     render_caption, render_scene, scene_masks, scene_motions)


# ----------------------------------------------------------------------------- measuring an edit

def object_centers(video: np.ndarray, threshold: float = 60.0, min_pixels: int = 8) -> np.ndarray:
    """(T, 2) (x, y) centre of the object's bounding box per frame (NaN where no object).

    The box centre, not the area centroid: a triangle's centroid sits r/3 below the centre it is
    drawn around, so a perfect circle → triangle edit would otherwise look like a 3 px drift."""
    return box_centers(object_mask(video, threshold), min_pixels)


def box_centers(mask: np.ndarray, min_pixels: int = 8) -> np.ndarray:
    """(T, 2) (x, y) centre of the bounding box of a (T, H, W) bool mask per frame (NaN where it
    has fewer than `min_pixels` pixels)."""
    out = np.full((mask.shape[0], 2), np.nan)
    for t in range(mask.shape[0]):
        ys, xs = np.nonzero(mask[t])
        if len(xs) >= min_pixels:
            out[t] = ((xs.min() + xs.max() + 1) / 2, (ys.min() + ys.max() + 1) / 2)
    return out


def background_psnr(source: np.ndarray, edited: np.ndarray, threshold: float = 60.0,
                    margin: int = 2) -> float:
    """PSNR (dB) between two clips over the pixels that are background in *both* (the objects'
    masks dilated by `margin` px are left out)."""
    m = dilate(object_mask(source, threshold) | object_mask(edited, threshold), margin)
    return region_psnr(source, edited, ~m)


def dilate(mask: np.ndarray, margin: int) -> np.ndarray:
    """A (T, H, W) bool mask grown by `margin` px in each frame (chessboard distance)."""
    if not margin:
        return mask
    mt = torch.from_numpy(np.ascontiguousarray(mask)).float()[:, None]          # (T, 1, H, W)
    return F.max_pool2d(mt, 2 * margin + 1, 1, margin)[:, 0].bool().numpy()


def region_psnr(a: np.ndarray, b: np.ndarray, region: np.ndarray) -> float:
    """PSNR (dB) between two uint8 clips over the (T, H, W) pixels of `region` (nan when it is
    empty, inf when the clips agree there)."""
    if not region.any():
        return float("nan")
    err = (a.astype(np.float64) - b.astype(np.float64))[region]
    mse = float(np.mean(err ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0 ** 2 / mse)


def ideal_edit(target_prompt: str, seed: int) -> np.ndarray:
    """The perfect edit of the Shapes clip `render_caption(source_prompt, rng=seed)`: the target
    prompt's attributes rendered on the source's own motion (size, start and travel depend only on
    the direction and `seed`, and an edit of colour or shape keeps the direction)."""
    return render_caption(target_prompt, rng=seed)


def _centre_distance(c_a: np.ndarray, c_b: np.ndarray) -> float:
    both = ~np.isnan(c_a).any(1) & ~np.isnan(c_b).any(1)
    return float(np.linalg.norm(c_a[both] - c_b[both], axis=1).mean()) if both.any() else float("inf")


def trajectory_drift(a: np.ndarray, b: np.ndarray, threshold: float = 60.0) -> float:
    """Mean distance (px) between the object's box centres in two clips, over the frames where both
    show it (inf when one of them has lost the object)."""
    return _centre_distance(object_centers(a, threshold), object_centers(b, threshold))


def edit_metrics(source: np.ndarray, edited: np.ndarray, source_prompt: str, target_prompt: str,
                 threshold: float = 60.0, reference: np.ndarray | None = None) -> dict:
    """How good is one Shapes edit?  success: the oracle reads every attribute the target prompt
    changes; preserved: it reads every other attribute as in the source prompt; bg_psnr: background
    PSNR (dB) outside both objects; drift_src: `trajectory_drift` between the source and the edited
    clip; drift: the same against `reference`, the perfect edit (`ideal_edit`), when given.

    Why a reference: box centres are read off a thresholded, smoothed mask, which trims a
    triangle's thin apex but not a square's corner, and a colour's contrast with the background
    moves the box edge, so a *perfect* edit to or from a triangle is ~0.75 px from the source's
    centres and a perfect colour edit ~0.2 px (tests/test_editing.py). Against the ideal edit,
    measured the same way, those offsets cancel and a perfect edit drifts 0 px. Without a reference
    (a clip whose motion is not known) drift = drift_src."""
    src, tar = parse_caption(source_prompt).attributes, parse_caption(target_prompt).attributes
    changed = [a for a in ATTRIBUTES if src[a] != tar[a]]
    kept = [a for a in ATTRIBUTES if a not in changed]
    read = read_attributes(edited, threshold)
    c_ed = object_centers(edited, threshold)
    drift_src = _centre_distance(object_centers(source, threshold), c_ed)
    drift = drift_src if reference is None else _centre_distance(object_centers(reference, threshold), c_ed)
    return dict(success=all(read[a] == tar[a] for a in changed),
                preserved=all(read[a] == src[a] for a in kept),
                drift=drift, drift_src=drift_src, bg_psnr=background_psnr(source, edited, threshold),
                changed=changed, read=read)


# ----------------------------------------------------------------------------- measuring a two-object edit
#
# A two-object edit changes one object (its colour or its shape) and must keep the other. Its ground
# truth: the source scene drawn with `scene_motions` (palette order of the *source's* colours), the
# target scene drawn on the same motions, each object on its own motion (`two_object_truth`: a
# colour edit can swap the palette order, so motions follow the objects, not the order).

def _palette_order(objects) -> list:
    order = list(COLORS)
    return sorted(objects, key=lambda o: order.index(o.color))


def edit_pairs(source: Scene, target: Scene, edited: str | None = None) -> list[tuple[MovingShape, MovingShape]]:
    """[(edited object in the source, in the target), (other object in the source, in the target)]
    of a two-object edit. The other object is the one both scenes hold unchanged; `edited` (the
    edited object's source colour) names it instead, e.g. when the prompts agree (the objects then
    keep their caption positions)."""
    if len(source.objects) != 2 or len(target.objects) != 2:
        raise ValueError(f"a two-object edit needs two objects in both prompts, got "
                         f"{len(source.objects)} and {len(target.objects)}")
    if edited is None:
        same = [(i, j) for i, a in enumerate(source.objects) for j, b in enumerate(target.objects) if a == b]
        if len(same) != 1:
            raise ValueError(f"a two-object edit changes exactly one object: '{source}' → '{target}' "
                             f"keeps {len(same)}; pass edited=<its source colour>")
        i, j = same[0]
    else:
        colours = [o.color for o in source.objects]
        if edited not in colours:
            raise ValueError(f"edited={edited!r} is not a colour of '{source}'")
        i = j = 1 - colours.index(edited)
    return [(source.objects[1 - i], target.objects[1 - j]), (source.objects[i], target.objects[j])]


def two_object_truth(source_prompt: str, target_prompt: str, seed: int, edited: str | None = None,
                     frames: int = DEFAULT_FRAMES, size: int = DEFAULT_SIZE) -> dict:
    """The ground truth of a two-object edit of the clip `render_caption(source_prompt, rng=seed)`:
    source (that clip), ideal (the target scene on the source's motions, each object on its own),
    motions / target_motions (as `render_scene` takes them: palette order of each scene), masks_src
    / masks_tar (colour → true (T, H, W) mask, `scene_masks`), target (the Scene), and the objects:
    edited, edited_target, other, other_target (`edit_pairs`)."""
    src, tar = parse_caption(source_prompt), parse_caption(target_prompt)
    (e_src, e_tar), (o_src, o_tar) = edit_pairs(src, tar, edited)
    motions = scene_motions(src, size, seed)                            # palette order of the source
    by_colour = {o.color: m for o, m in zip(_palette_order(src.objects), motions)}
    follow = {e_tar.color: by_colour[e_src.color], o_tar.color: by_colour[o_src.color]}
    tar_motions = [follow[o.color] for o in _palette_order(tar.objects)]  # palette order of the target
    return dict(source=render_scene(src, frames, size, motions=motions),
                ideal=render_scene(tar, frames, size, motions=tar_motions),
                masks_src=scene_masks(src, motions, frames, size),
                masks_tar=scene_masks(tar, tar_motions, frames, size),
                motions=motions, target_motions=tar_motions, target=tar,
                edited=e_src, edited_target=e_tar, other=o_src, other_target=o_tar)


def colour_centers(video: np.ndarray, colours: Sequence[str], threshold: float = 60.0) -> dict[str, np.ndarray]:
    """colour → (T, 2) box centres of that colour's object, segmented as `read_scene` segments:
    the oracle's object mask, each pixel labelled with the nearest palette mixing line among
    `colours` only; a frame with less than a quarter of the smallest two-object shape is NaN."""
    bg_name, smooth, dist = background_distance(video)
    names = list(COLORS)
    idx = [names.index(c) for c in colours]
    _, residual = palette_mixing(smooth, bg_name)                       # (T, H, W, K)
    label = np.asarray(idx)[residual[..., idx].argmin(-1)]             # (T, H, W)
    mask = dist > threshold
    H, W = dist.shape[1:]
    min_area = min_object_area(H, W)
    return {c: box_centers(mask & (label == k), int(np.ceil(min_area))) for c, k in zip(colours, idx)}


def mask_metrics(mask, truth: dict) -> dict:
    """How FlowDirector's (binary, latent-grid (T', h, w)) mask sits on the objects: mask_iou, its
    IoU with the edited object (source ∪ target shape, `flowdirector.object_latent_mask`), and
    mask_other, the share of the other object's latent cells it covers."""
    m = torch.as_tensor(mask).bool()
    size = tuple(m.shape)
    e, et, o = truth["edited"].color, truth["edited_target"].color, truth["other"].color
    obj = object_latent_mask(truth["masks_src"][e] | truth["masks_tar"][et], size).bool()
    oth = object_latent_mask(truth["masks_src"][o], size).bool()
    union = int((m | obj).sum())
    return dict(mask_iou=float((m & obj).sum()) / union if union else float("nan"),
                mask_other=float((m & oth).sum()) / float(oth.sum()) if oth.any() else float("nan"))


def two_object_metrics(source: np.ndarray, edited: np.ndarray, truth: dict, threshold: float = 60.0,
                       margin: int = 2, mask=None) -> dict:
    """How good is one two-object Shapes edit (`truth` from `two_object_truth`)?

    success: `read_scene` reads the edited object as the target says (colour, shape, direction) and,
    for a colour edit, no object of its old colour is left; other_kept: it reads the other object
    unchanged; exact: it reads exactly the target scene (background included); other_psnr: PSNR
    (dB) of the edited clip against the source over the other object's true mask dilated by
    `margin` px, less the edited object's source and target masks dilated by 1 px and every pixel
    the ideal edit changes (the edited object's anti-aliased edge can come that close); bg_psnr: `background_psnr`; drift_edited / drift_other: mean distance (px) of each
    object's box centres (`colour_centers`) from the ideal edit's; mask: FlowDirector's binary mask
    on the latent grid, when there is one → `mask_metrics`."""
    e_src, e_tar, other = truth["edited"], truth["edited_target"], truth["other"]
    read = read_scene(edited, threshold)
    success = e_tar in read.objects and (e_src.color == e_tar.color
                                         or all(o.color != e_src.color for o in read.objects))
    near_edit = dilate(truth["masks_src"][e_src.color] | truth["masks_tar"][e_tar.color], 1) \
        | (truth["source"] != truth["ideal"]).any(-1)                # every pixel the ideal edit changes
    other_region = dilate(truth["masks_src"][other.color], margin) & ~near_edit
    colours = list(dict.fromkeys([e_tar.color, other.color, e_src.color]))
    c_ed = colour_centers(edited, colours, threshold)
    c_ref = colour_centers(truth["ideal"], colours, threshold)
    out = dict(success=bool(success), other_kept=other in read.objects, exact=read == truth["target"],
               other_psnr=region_psnr(source, edited, other_region),
               bg_psnr=background_psnr(source, edited, threshold, margin),
               drift_edited=_centre_distance(c_ref[e_tar.color], c_ed[e_tar.color]),
               drift_other=_centre_distance(c_ref[other.color], c_ed[other.color]),
               read=str(read), mask_iou=float("nan"), mask_other=float("nan"))
    if mask is not None:
        out.update(mask_metrics(mask, truth))
    return out


class MaskRecorder:
    """A callback for `edit(..., callback=...)` that keeps FlowDirector's mask (info["mask"] > 0.5,
    on the latent grid) of every step: `union` (the cells any step edited) and `last`."""

    def __init__(self):
        self.union = self.last = None

    def __call__(self, info: dict):
        if info.get("mask") is None:
            return
        m = (info["mask"].detach() > 0.5).cpu()
        m = m.reshape(m.shape[-3:])
        self.last = m
        self.union = m if self.union is None else self.union | m


@contextmanager
def count_model_calls(pipe):
    """Count the DiT passes of everything run inside: yields a dict with `calls` (sequential model
    calls) and `rows` (latents pushed through the model, i.e. NFE summed over the batch)."""
    stats = dict(calls=0, rows=0)
    orig = pipe.velocity

    def counted(z, *args, **kw):
        stats["calls"] += 1
        stats["rows"] += int(z.shape[0])
        return orig(z, *args, **kw)
    pipe.velocity = counted                      # an instance attribute shadows the method
    try:
        yield stats
    finally:
        del pipe.velocity


def timed_edit(pipe, video, source_prompt: str, target_prompt: str, **kw) -> tuple[np.ndarray, float, dict]:
    """`edit(pipe, ...)`, its wall-clock seconds (CUDA synchronised; VAE encode/decode included)
    and its model-call counts (`count_model_calls`)."""
    dev = torch.device(getattr(pipe, "device", "cpu"))
    if dev.type == "cuda":
        torch.cuda.synchronize()
    with count_model_calls(pipe) as calls:
        t0 = time.perf_counter()
        out = edit(pipe, video, source_prompt, target_prompt, **kw)
        if dev.type == "cuda":
            torch.cuda.synchronize()
        sec = time.perf_counter() - t0
    return out, sec, calls


# ----------------------------------------------------------------------------- the measure

ABLATIONS = {                       # name → (method, edit keywords): the rows of the measure table
    "random_noise": ("random_noise", {}),
    "inversion": ("inversion", {}),
    "flowedit": ("flowedit", {}),
    "flowdirector": ("flowdirector", {}),
    "flowdirector −mask": ("flowdirector", {"mask": None}),
    "flowdirector −DAG": ("flowdirector", {"dag": None}),
    "flowdirector −both": ("flowdirector", {"mask": None, "dag": None}),
    "flowdirector DAG v2": ("flowdirector", {"dag": DAG(version="v2")}),       # FlowDirector v2's options
    "flowdirector +DA-FC": ("flowdirector", {"direction_aware": DirectionAware()}),
    "flowdirector +MAD-FC": ("flowdirector", {"motion_gate": MotionGate()}),
    "flowdirector velocity mask": ("flowdirector", {"mask": VelocityMask()}),  # DiffEdit's mask
    # the same with six candidate flows (four of them V_worse): inside 2x FlowEdit's time on the
    # first two-object model, chosen on the two-object tuning set (docs/flowdirector.md);
    # 2.00x (16 edits) / 1.97x (32 edits) on the shipped one
    "flowdirector velocity mask, 6 flows": ("flowdirector", {"mask": VelocityMask(), "n_avg": 6,
                                                             "dag": DAG(n_worse=4)}),
    # five flows: the time goal (≤ 2× FlowEdit) at the cost of the averaging (docs/flowdirector.md)
    "flowdirector velocity mask, 5 flows": ("flowdirector", {"mask": VelocityMask(), "n_avg": 5,
                                                             "dag": DAG(n_worse=3)}),
}
V2_ROWS = ("flowdirector DAG v2", "flowdirector +DA-FC", "flowdirector +MAD-FC")  # rows added with v2
# the two-object measure's extra rows
TWO_OBJECT_ROWS = V2_ROWS + ("flowdirector velocity mask", "flowdirector velocity mask, 6 flows",
                             "flowdirector velocity mask, 5 flows")


def with_overrides(method: str, kw: dict, overrides: dict | None) -> dict:
    """A variant's edit keywords `kw` with `overrides` on top: EditConfig fields by name (every
    method), and fields of FlowDirector's parts as "part.field" (e.g. {"mask.threshold": "mean",
    "dag.n_worse": 4}; method "flowdirector" only), applied to the variant's part, else the preset's."""
    out = dict(kw)
    for key, value in (overrides or {}).items():
        part, dot, name = key.partition(".")
        if not dot:
            out[key] = value
        elif method == "flowdirector":
            base = out.get(part, getattr(FlowDirector(), part, None))
            if not is_dataclass(base):
                raise ValueError(f"override {key!r}: the variant's {part} is {type(base).__name__}, not a "
                                 "FlowDirector part with fields")
            out[part] = replace(base, **{name: value})
    return out


def shapes_edits(n: int, kinds: Sequence[str] = ("color", "shape"), seed: int = 0) -> list[dict]:
    """`n` Shapes edits per kind: a random source clip (attributes and geometry from `seed`) and a
    target prompt that changes only that attribute. Items: kind, seed, source, target (captions)."""
    values = {"color": list(COLORS), "shape": list(SHAPES)}
    bad = [k for k in kinds if k not in values]
    if bad:
        raise ValueError(f"unknown edit kinds {bad}; use 'color' and/or 'shape'")
    rng = np.random.default_rng(seed)
    combos = all_combinations()
    out = []
    for kind in kinds:
        for i in range(n):
            src = dict(combos[rng.integers(len(combos))])
            tar = dict(src)
            tar[kind] = str(rng.choice([v for v in values[kind] if v != src[kind]]))
            out.append(dict(kind=kind, seed=int(rng.integers(2**31)), source=caption(**src),
                            target=caption(**tar)))
    return out


def two_object_edits(n: int, kinds: Sequence[str] = ("color", "shape"), seed: int = 0) -> list[dict]:
    """`n` two-object Shapes edits per kind: a random source scene (`shapes.all_scenes(2)`, geometry
    from the item's seed) and a target prompt that changes one object's colour (to a colour neither
    object has) or shape, the other object's words left as they are (both keep their caption
    positions). Items: kind, seed, source, target (captions), edited (the edited object's source
    colour), edited_to (its target colour: the same for a shape edit), other (the other's colour).
    As with `shapes_edits`, sets of different `seed`s (tuning, measuring) are drawn independently."""
    values = {"color": list(COLORS), "shape": list(SHAPES)}
    bad = [k for k in kinds if k not in values]
    if bad:
        raise ValueError(f"unknown edit kinds {bad}; use 'color' and/or 'shape'")
    rng = np.random.default_rng(seed)
    scenes = all_scenes(2)
    out = []
    for kind in kinds:
        for _ in range(n):
            src = scenes[rng.integers(len(scenes))]
            j = int(rng.integers(2))                                  # the edited object's position
            obj, other = src.objects[j], src.objects[1 - j]
            taken = (obj.color, other.color) if kind == "color" else (obj.shape,)
            new = str(rng.choice([v for v in values[kind] if v not in taken]))
            objects = list(src.objects)
            objects[j] = replace(obj, **{kind: new})
            tar = Scene(tuple(objects), src.background).check()
            out.append(dict(kind=kind, seed=int(rng.integers(2**31)), source=src.caption(),
                            target=tar.caption(), edited=obj.color, edited_to=objects[j].color,
                            other=other.color))
    return out


def measure(pipe, edits: Sequence[dict], variants: dict | None = None, *, seed: int = 0,
            progress: bool = True, overrides: dict | None = None) -> list[dict]:
    """Run every variant (name → (method, edit keywords); default `ABLATIONS`; `overrides` on top,
    `with_overrides`) on every edit of
    `shapes_edits` or `two_object_edits`; one row per (variant, edit) with the seconds it took and
    `edit_metrics` (one object) or `two_object_metrics` (two; FlowDirector's mask is the union over
    the steps of info["mask"] > 0.5, `MaskRecorder`, with the last step's IoU as mask_iou_last).
    A "reconstruction" row per edit (encode → decode, no edit) gives the VAE's ceiling."""
    variants = ABLATIONS if variants is None else variants
    rows = []
    bar = tqdm(total=len(edits) * (len(variants) + 1), desc="measure", disable=not progress)
    for e in edits:
        two = "edited" in e                                           # a `two_object_edits` item
        if two:
            truth = two_object_truth(e["source"], e["target"], e["seed"], e["edited"])
            src = truth["source"]
            score = lambda out, mask=None: two_object_metrics(src, out, truth, mask=mask)  # noqa: E731
        else:
            src = render_caption(e["source"], rng=e["seed"])
            ideal = ideal_edit(e["target"], e["seed"])
            score = lambda out, mask=None: edit_metrics(src, out, e["source"], e["target"],  # noqa: E731
                                                        reference=ideal)
        recon = pipe.decode_latents(pipe.encode_video(src))
        if two:                                     # no edit: the source scene is the ideal
            m = two_object_metrics(src, recon, two_object_truth(e["source"], e["source"], e["seed"],
                                                                 e["edited"]))
        else:
            m = edit_metrics(src, recon, e["source"], e["source"])      # no edit: the source is the ideal
        m["success"] = float("nan")                 # nothing to edit: only preservation counts
        rows.append(dict(variant="reconstruction", kind=e["kind"], seconds=float("nan"),
                         calls=0, nfe=0, **m))
        bar.update()
        for name, (method, kw) in variants.items():
            kw = with_overrides(method, kw, overrides)
            rec = MaskRecorder() if two and method == "flowdirector" else None
            if rec is not None:
                kw["callback"] = rec
            out, sec, calls = timed_edit(pipe, src, e["source"], e["target"], seed=seed,
                                         method=method, **kw)
            m = score(out, None if rec is None else rec.union)
            if rec is not None and rec.last is not None:
                m["mask_iou_last"] = mask_metrics(rec.last, truth)["mask_iou"]
            rows.append(dict(variant=name, kind=e["kind"], seconds=sec, calls=calls["calls"],
                             nfe=calls["rows"], **m))
            bar.update()
    bar.close()
    return rows


def _median(xs, cap: float | None = None) -> float:
    """Median of the non-NaN values (capped at `cap`), NaN when there are none."""
    a = np.asarray([x for x in xs if x == x], dtype=float)
    if cap is not None:
        a = np.minimum(a, cap)
    return float(np.median(a)) if a.size else float("nan")


def summarise(rows: Sequence[dict]) -> dict[str, dict]:
    """Per variant: success (colour, shape, all), mean model calls, NFE (latents through the DiT)
    and seconds per edit, and
    one object: preservation, median / mean drift against the ideal edit (px; mean with lost
    objects counted as 64 px), median drift against the source clip, median background PSNR (dB);
    two objects: other_kept (share of edits whose other object reads unchanged), exact (the whole
    target scene read), median other-object and background PSNR (dB, capped at 99), median drift of
    the edited and of the other object against the ideal edit, drift_mean (both objects, lost ones
    counted as 64 px), and the medians of mask_iou and mask_other over the edits with a mask."""
    out: dict[str, dict] = {}
    for name in dict.fromkeys(r["variant"] for r in rows):
        rs = [r for r in rows if r["variant"] == name]
        by = lambda k: [r for r in rs if r["kind"] == k]          # noqa: E731
        ok = lambda rr: float(np.mean([float(r["success"]) for r in rr])) if rr else float("nan")  # noqa: E731
        col = lambda k: np.array([r[k] for r in rs], dtype=float)  # noqa: E731
        s = dict(n=len(rs), success_color=ok(by("color")), success_shape=ok(by("shape")), success=ok(rs),
                 calls=float(np.mean([r.get("calls", 0) for r in rs])),
                 nfe=float(np.mean([r.get("nfe", 0) for r in rs])))
        if "other_kept" in rs[0]:
            both = np.concatenate([col("drift_edited"), col("drift_other")])
            s.update(other_kept=float(np.mean(col("other_kept"))), exact=float(np.mean(col("exact"))),
                     other_psnr=_median(col("other_psnr"), 99.0), bg_psnr=_median(col("bg_psnr"), 99.0),
                     drift_edited_median=float(np.median(col("drift_edited"))),
                     drift_other_median=float(np.median(col("drift_other"))),
                     drift_mean=float(np.mean(np.minimum(both, 64.0))),
                     mask_iou=_median(col("mask_iou")), mask_other=_median(col("mask_other")))
        else:
            drift, psnr = col("drift"), col("bg_psnr")
            s.update(preserved=float(np.mean([r["preserved"] for r in rs])),
                     drift_median=float(np.median(drift)), drift_mean=float(np.mean(np.minimum(drift, 64.0))),
                     drift_src_median=float(np.median([r["drift_src"] for r in rs])),
                     bg_psnr=float(np.median(np.minimum(psnr, 99.0))))
        s["seconds"] = float(np.nanmean([r["seconds"] for r in rs])) if name != "reconstruction" else float("nan")
        out[name] = s
    return out


def results_table(summary: dict[str, dict], reference: str = "inversion") -> str:
    """The measure as a markdown table; 'time ×' is seconds per edit relative to `reference`
    (two-object summaries get their own columns, `_two_object_table`)."""
    ref = summary.get(reference, {}).get("seconds", float("nan"))
    if any("other_kept" in s for s in summary.values()):
        return _two_object_table(summary, reference, ref)
    lines = ["| method | success colour | success shape | success | preserved | drift median (px) "
             "| drift mean (px) | drift vs source, median (px) | bg PSNR (dB) | model calls | NFE "
             "| s / edit | time × " + reference + " |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for name, s in summary.items():
        lines.append(f"| {name} | {_pct(s['success_color'])} | {_pct(s['success_shape'])} | "
                     f"{_pct(s['success'])} | {_pct(s['preserved'])} | {_num(s['drift_median'], '.2f')} | "
                     f"{_num(s['drift_mean'], '.2f')} | {_num(s['drift_src_median'], '.2f')} | "
                     f"{_num(s['bg_psnr'], '.1f')} | "
                     f"{s['calls']:.0f} | {s['nfe']:.0f} | "
                     f"{_num(s['seconds'], '.2f')} | {_num(s['seconds'] / ref, '.2f')} |")
    return "\n".join(lines)


def _pct(x: float) -> str:
    return "—" if x != x else f"{100 * x:.0f} %"


def _num(x: float, f: str) -> str:
    return "—" if x != x else format(x, f)


def _two_object_table(summary: dict[str, dict], reference: str, ref: float) -> str:
    lines = ["| method | success colour | success shape | success | other kept | other PSNR (dB) "
             "| bg PSNR (dB) | drift edited, median (px) | drift other, median (px) "
             "| mask IoU, median | mask on other, median | model calls | NFE | s / edit "
             "| time × " + reference + " |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for name, s in summary.items():
        lines.append(f"| {name} | {_pct(s['success_color'])} | {_pct(s['success_shape'])} | "
                     f"{_pct(s['success'])} | {_pct(s['other_kept'])} | {_num(s['other_psnr'], '.1f')} | "
                     f"{_num(s['bg_psnr'], '.1f')} | {_num(s['drift_edited_median'], '.2f')} | "
                     f"{_num(s['drift_other_median'], '.2f')} | {_num(s['mask_iou'], '.2f')} | "
                     f"{_pct(s['mask_other'])} | {s['calls']:.0f} | {s['nfe']:.0f} | "
                     f"{_num(s['seconds'], '.2f')} | {_num(s['seconds'] / ref, '.2f')} |")
    return "\n".join(lines)
