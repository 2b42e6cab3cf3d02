"""Does the attention mask keep what the edit should not touch? A second, static object (run by hand).

    python benchmarks/diagnose_distractor.py                    # 6 colour + 6 shape edits, seed 7
    python benchmarks/diagnose_distractor.py --n 12 --edit-seed 1 --variants flowedit flowdirector
    python benchmarks/diagnose_distractor.py --n 12 --edit-seed 1 --variants flowdirector \
        --set mask.threshold='"mean"' mask.kernel=3              # the authors' (tighter) mask rule

On a plain background the only thing an edit can spoil outside the object is a uniform colour,
which every method keeps (docs/flowdirector.md §3.1), so "better preservation than FlowEdit" cannot
show there. Here each source clip of `edit_eval.shapes_edits` gets a *distractor*: a static shape of a
third colour (neither the source's nor the target's), placed where it never comes within 6 px of
the moving object, and not named in either prompt. The model was trained on one object per clip,
so this is out of its distribution — which is the point: FlowEdit's velocity difference is free to
touch the distractor, and SAFC's mask (v1 §3.3) is what should stop it.

Per variant: distractor kept (the median colour inside its true mask still reads as its colour),
distractor PSNR (dB, inside its mask, against the source), and, with the distractor painted back
to background in both clips, the usual edit success and drift against the ideal edit. The
"reconstruction" row (VAE encode → decode) is the ceiling. For the FlowDirector rows, the last
column says how much of the mask (averaged over the edit's steps, 0–1) lies on the
distractor and over the whole frame: a mask that localised the edited object would be ~0 on the
distractor.
"""
from __future__ import annotations

import argparse
import json
import sys

import numpy as np
import torch


from minicog import edit_eval, flowdirector as fd, shapes  # noqa: E402
from minicog.pipeline import load_pipeline  # noqa: E402

MARGIN = 6.0          # px between the distractor and the moving object, at every frame


def place_distractor(e: dict, rng: np.random.Generator, size: int = shapes.DEFAULT_SIZE,
                     frames: int = shapes.DEFAULT_FRAMES, tries: int = 2000):
    """(colour, shape, radius, (x, y)) of a static distractor clear of the edit's moving object,
    or None when the object's path leaves no room."""
    src, tar = shapes.parse_caption(e["source"]).attributes, shapes.parse_caption(e["target"]).attributes
    motion = shapes.sample_motion(src["direction"], size, e["seed"])
    path = motion.centers(frames)                                        # (T, 2)
    for _ in range(tries):
        r = size * rng.uniform(0.12, 0.15)
        pos = rng.uniform(r, size - r, 2)
        # chessboard distance: squares reach their corners
        if np.min(np.max(np.abs(path - pos), axis=1)) > motion.radius + r + MARGIN:
            colour = str(rng.choice([c for c in shapes.COLORS if c not in (src["color"], tar["color"])]))
            return colour, str(rng.choice(shapes.SHAPES)), float(r), (float(pos[0]), float(pos[1]))
    return None


def paint_out(video: np.ndarray, mask: np.ndarray, background: str, grow: int = 3) -> np.ndarray:
    """The clip with the distractor's mask (grown by `grow` px) set to the background colour."""
    m = torch.from_numpy(mask).float()[:, None]
    m = torch.nn.functional.max_pool2d(m, 2 * grow + 1, 1, grow)[:, 0].bool().numpy()
    out = video.copy()
    out[m] = shapes.BACKGROUNDS[background]
    return out


def distractor_stats(source: np.ndarray, edited: np.ndarray, mask: np.ndarray, colour: str) -> dict:
    read = shapes.nearest_color(np.median(edited[mask].astype(np.float32), axis=0), shapes.COLORS)
    return dict(kept=read == colour, psnr=edit_eval.region_psnr(source, edited, mask))


def latent_share(mask: np.ndarray, size: tuple[int, int, int]) -> torch.Tensor:
    """A (T, H, W) pixel mask → the share of each latent token's pixels it covers, (T', h, w)."""
    per = fd.per_latent_frame(torch.from_numpy(mask).float(), size[0], "mean")   # (T', H, W)
    return torch.nn.functional.adaptive_avg_pool2d(per[:, None], size[1:])[:, 0]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pipeline", default="tiny")
    ap.add_argument("--n", type=int, default=6, help="edits per kind (colour, shape)")
    ap.add_argument("--edit-seed", type=int, default=7)
    ap.add_argument("--seed", type=int, default=0, help="edit noise seed (and distractor placement)")
    ap.add_argument("--variants", nargs="+", default=["flowedit", "flowdirector", "flowdirector −mask"],
                    help=f"from: {', '.join(edit_eval.ABLATIONS)}")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE",
                    help="overrides for the flowdirector rows only, values as JSON: EditConfig fields, and "
                         "fields of FlowDirector's parts as part.field (e.g. mask.threshold='\"mean\"' "
                         "mask.kernel=3: the authors' mask rule; edit_eval.with_overrides)")
    ap.add_argument("--oracle-mask", action="store_true",
                    help="add a row: FlowDirector with the moving object's true mask in place of "
                         "the attention mask (`pipe.edit(..., mask=)`: the ceiling of SAFC)")
    args = ap.parse_args(argv)
    fd_overrides = {k: json.loads(v) for k, v in (kv.split("=", 1) for kv in args.set)}
    unknown = [v for v in args.variants if v not in edit_eval.ABLATIONS]
    if unknown:
        ap.error(f"unknown variants {unknown}; choose from {list(edit_eval.ABLATIONS)}")
    torch.set_num_threads(args.threads)
    from tqdm.auto import tqdm
    pipe = load_pipeline(args.pipeline, device=args.device)
    rng = np.random.default_rng(args.seed)
    rows, skipped = [], 0
    edits = edit_eval.shapes_edits(args.n, seed=args.edit_seed)
    for e in tqdm(edits, desc="edits"):
        d = place_distractor(e, rng)
        if d is None:
            skipped += 1
            continue
        colour, shape, r, pos = d
        bg = shapes.parse_caption(e["source"]).background
        src, dm = shapes.add_shape(shapes.render_caption(e["source"], rng=e["seed"]), colour, shape, r, pos)
        ideal = edit_eval.ideal_edit(e["target"], e["seed"])
        z = pipe.encode_video(src)                                           # (1, C, T', h, w)
        outs = {"reconstruction": pipe.decode_latents(z)}
        dm_lat = latent_share(dm, tuple(z.shape[-3:]))
        cover = {}

        def run(name, method, kw):
            masks = []
            outs[name] = pipe.edit(src, e["source"], e["target"], seed=args.seed, method=method,
                                   callback=lambda info: masks.append(info["mask"].float().cpu())
                                   if info.get("mask") is not None else None, **kw)
            if masks:                                   # SAFC's mask, averaged over the steps
                M = torch.stack(masks).mean(0)          # (T', h, w)
                cover[name] = (float((M * dm_lat).sum() / dm_lat.sum()), float(M.mean()))

        for name in args.variants:
            method, kw = edit_eval.ABLATIONS[name]
            run(name, method, edit_eval.with_overrides(method, kw, fd_overrides) if method == "flowdirector" else kw)
        if args.oracle_mask:                            # the moving object's true mask
            plain = shapes.render_caption(e["source"], rng=e["seed"])
            oracle = {k: v for k, v in fd_overrides.items() if not k.startswith("mask.")}
            run("flowdirector, oracle mask", "flowdirector",
                edit_eval.with_overrides("flowdirector", dict(mask=shapes.object_mask(plain)), oracle))
        for name, out in outs.items():
            m = edit_eval.edit_metrics(paint_out(src, dm, bg), paint_out(out, dm, bg), e["source"],
                                     e["source"] if name == "reconstruction" else e["target"],
                                     reference=None if name == "reconstruction" else ideal)
            on_d, on_all = cover.get(name, (float("nan"), float("nan")))
            rows.append(dict(variant=name, kind=e["kind"], success=m["success"], drift=m["drift"],
                             mask_on_distractor=on_d, mask_mean=on_all,
                             **distractor_stats(src, out, dm, colour)))
    n = len(edits) - skipped
    if not n:
        sys.exit(f"no edit of set {args.edit_seed} left room for a distractor; raise --n or change --edit-seed")
    print(f"\n{n} edits with a distractor ({skipped} skipped: no room beside the path), "
          f"edit set seed {args.edit_seed}\n")
    print("| method | distractor kept | distractor PSNR, median (dB) | distractor PSNR, mean (dB) "
          "| edit success | drift median (px) | mask on the distractor / over the frame |")
    print("|---|---|---|---|---|---|---|")
    for name in outs:
        rs = [r for r in rows if r["variant"] == name]
        psnr = np.minimum([r["psnr"] for r in rs], 99.0)
        succ = "—" if name == "reconstruction" else f"{100 * np.mean([r['success'] for r in rs]):.0f} %"
        print(f"| {name} | {100 * np.mean([r['kept'] for r in rs]):.0f} % | {np.median(psnr):.1f} | "
              f"{np.mean(psnr):.1f} | {succ} | {np.median([r['drift'] for r in rs]):.2f} | "
              + ("—" if np.isnan(rs[0]["mask_mean"]) else
                 f"{np.mean([r['mask_on_distractor'] for r in rs]):.2f} / "
                 f"{np.mean([r['mask_mean'] for r in rs]):.2f}") + " |")


if __name__ == "__main__":
    main()
