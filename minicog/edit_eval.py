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
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from .edit import edit
from .shapes import (ATTRIBUTES, COLORS, SHAPES, all_combinations, caption, object_mask,
                     parse_caption, read_attributes, render_caption)


# ----------------------------------------------------------------------------- measuring an edit

def object_centers(video: np.ndarray, threshold: float = 60.0, min_pixels: int = 8) -> np.ndarray:
    """(T, 2) (x, y) centre of the object's bounding box per frame (NaN where no object).

    The box centre, not the area centroid: a triangle's centroid sits r/3 below the centre it is
    drawn around, so a perfect circle → triangle edit would otherwise look like a 3 px drift."""
    m = object_mask(video, threshold)                                   # (T, H, W) bool
    out = np.full((m.shape[0], 2), np.nan)
    for t in range(m.shape[0]):
        ys, xs = np.nonzero(m[t])
        if len(xs) >= min_pixels:
            out[t] = ((xs.min() + xs.max() + 1) / 2, (ys.min() + ys.max() + 1) / 2)
    return out


def background_psnr(source: np.ndarray, edited: np.ndarray, threshold: float = 60.0,
                    margin: int = 2) -> float:
    """PSNR (dB) between two clips over the pixels that are background in *both* (the objects'
    masks dilated by `margin` px are left out)."""
    m = object_mask(source, threshold) | object_mask(edited, threshold)
    if margin:
        mt = torch.from_numpy(m).float()[:, None]                       # (T, 1, H, W)
        m = F.max_pool2d(mt, 2 * margin + 1, 1, margin)[:, 0].bool().numpy()
    return region_psnr(source, edited, ~m)


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

ABLATIONS = {                       # name → (method, overrides): the rows of the measure table
    "random_noise": ("random_noise", {}),
    "inversion": ("inversion", {}),
    "flowedit": ("flowedit", {}),
    "flowdirector": ("flowdirector", {}),
    "flowdirector −mask": ("flowdirector", {"use_mask": False}),
    "flowdirector −DAG": ("flowdirector", {"use_dag": False}),
    "flowdirector −both": ("flowdirector", {"use_mask": False, "use_dag": False}),
}


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


def measure(pipe, edits: Sequence[dict], variants: dict | None = None, seed: int = 0,
            progress: bool = True, **overrides) -> list[dict]:
    """Run every variant (name → (method, overrides); default `ABLATIONS`) on every edit of
    `shapes_edits`; one row per (variant, edit) with `edit_metrics` and the seconds it took.
    A "reconstruction" row per edit (encode → decode, no edit) gives the VAE's ceiling."""
    variants = ABLATIONS if variants is None else variants
    rows = []
    bar = tqdm(total=len(edits) * (len(variants) + 1), desc="measure", disable=not progress)
    for e in edits:
        src = render_caption(e["source"], rng=e["seed"])
        ideal = ideal_edit(e["target"], e["seed"])
        recon = pipe.decode_latents(pipe.encode_video(src))
        m = edit_metrics(src, recon, e["source"], e["source"])      # no edit: the source is the ideal
        m["success"] = float("nan")                 # nothing to edit: only preservation counts
        rows.append(dict(variant="reconstruction", kind=e["kind"], seconds=float("nan"),
                         calls=0, nfe=0, **m))
        bar.update()
        for name, (method, kw) in variants.items():
            out, sec, calls = timed_edit(pipe, src, e["source"], e["target"], seed=seed,
                                         method=method, **{**kw, **overrides})
            rows.append(dict(variant=name, kind=e["kind"], seconds=sec, calls=calls["calls"],
                             nfe=calls["rows"], **edit_metrics(src, out, e["source"], e["target"],
                                                                reference=ideal)))
            bar.update()
    bar.close()
    return rows


def summarise(rows: Sequence[dict]) -> dict[str, dict]:
    """Per variant: success (colour, shape, all), preservation, median / mean drift against the
    ideal edit (px; mean with lost objects counted as 64 px), median drift against the source
    clip, median background PSNR (dB), mean model calls, NFE (latents
    through the DiT) and seconds per edit."""
    out: dict[str, dict] = {}
    for name in dict.fromkeys(r["variant"] for r in rows):
        rs = [r for r in rows if r["variant"] == name]
        by = lambda k: [r for r in rs if r["kind"] == k]          # noqa: E731
        drift = np.array([r["drift"] for r in rs], dtype=float)
        psnr = np.array([r["bg_psnr"] for r in rs], dtype=float)
        ok = lambda rr: float(np.mean([float(r["success"]) for r in rr])) if rr else float("nan")  # noqa: E731
        out[name] = dict(
            n=len(rs),
            success_color=ok(by("color")), success_shape=ok(by("shape")), success=ok(rs),
            calls=float(np.mean([r.get("calls", 0) for r in rs])),
            nfe=float(np.mean([r.get("nfe", 0) for r in rs])),
            preserved=float(np.mean([r["preserved"] for r in rs])),
            drift_median=float(np.median(drift)), drift_mean=float(np.mean(np.minimum(drift, 64.0))),
            drift_src_median=float(np.median([r["drift_src"] for r in rs])),
            bg_psnr=float(np.median(np.minimum(psnr, 99.0))),
            seconds=float(np.nanmean([r["seconds"] for r in rs])) if name != "reconstruction" else float("nan"))
    return out


def results_table(summary: dict[str, dict], reference: str = "inversion") -> str:
    """The measure as a markdown table; 'time ×' is seconds per edit relative to `reference`."""
    ref = summary.get(reference, {}).get("seconds", float("nan"))
    lines = ["| method | success colour | success shape | success | preserved | drift median (px) "
             "| drift mean (px) | drift vs source, median (px) | bg PSNR (dB) | model calls | NFE "
             "| s / edit | time × " + reference + " |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    pct = lambda x: "—" if x != x else f"{100 * x:.0f} %"           # noqa: E731
    num = lambda x, f: "—" if x != x else format(x, f)              # noqa: E731
    for name, s in summary.items():
        lines.append(f"| {name} | {pct(s['success_color'])} | {pct(s['success_shape'])} | "
                     f"{pct(s['success'])} | {pct(s['preserved'])} | {num(s['drift_median'], '.2f')} | "
                     f"{num(s['drift_mean'], '.2f')} | {num(s['drift_src_median'], '.2f')} | "
                     f"{num(s['bg_psnr'], '.1f')} | "
                     f"{s['calls']:.0f} | {s['nfe']:.0f} | "
                     f"{num(s['seconds'], '.2f')} | {num(s['seconds'] / ref, '.2f')} |")
    return "\n".join(lines)
