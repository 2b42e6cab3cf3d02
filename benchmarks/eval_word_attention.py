"""Does each word's attention land on the object it names? (issue "two objects", §3; run by hand)

    python benchmarks/eval_word_attention.py                       # the shipped tiny model
    python benchmarks/eval_word_attention.py --model runs/tiny --scenes 48 --json out.json

On rendered two-object Shapes clips (their own captions, unseen seeds), noised to the times a
FlowDirector edit visits, every layer's attention is recorded in both directions of the 3D full
attention (video→text: how much each video token attends to the word; text→video: where the
word's query looks). Each object's colour word — and its shape word, when the two shapes differ —
gives a map that SAFC's own rule (the flowdirector preset's threshold and box filter, the union
over the noise draws) makes binary; the table gives the IoU of that mask with the true mask of
the object the word names, on the latent grid (8×8 per latent frame; one attention token covers
2×2 of it), and the share of the *other* object's cells the mask covers. `mask_eval.word_localisation`
computes it; the best (direction, layers) is what FlowDirector should read on this model, and
`--record` writes it into the model folder's pipeline.json (`edit_attention`), where
`pipe.edit(..., method="flowdirector")` finds it.
"""
from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np
import torch


from minicog import flowdirector as fd, mask_eval, shapes  # noqa: E402
from minicog.pipeline import load_pipeline  # noqa: E402
from minicog.utils import asset_folder, read_json, write_json_atomic  # noqa: E402


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="tiny")
    ap.add_argument("--scenes", type=int, default=48)
    ap.add_argument("--times", type=float, nargs="+", default=[0.6, 0.45, 0.3, 0.15])
    ap.add_argument("--draws", type=int, default=2, help="noise draws per scene and time")
    ap.add_argument("--seed", type=int, default=515151)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", default=None, help="also write the summary here")
    ap.add_argument("--record", action="store_true",
                    help="write the best direction and layers into the model's pipeline.json (edit_attention)")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    pipe = load_pipeline(args.model)
    rng = np.random.default_rng(args.seed)
    pool = shapes.all_scenes(2)
    scenes = [pool[i] for i in rng.choice(len(pool), args.scenes, replace=False)]
    n = pipe.dit.config.num_layers
    t0 = time.time()
    scores = mask_eval.word_localisation(pipe, scenes, times=args.times, draws=args.draws, seed=args.seed,
                                         layer_sets=[fd.default_attention_layers(n)])
    print(f"{args.scenes} two-object scenes × t ∈ {args.times} × {args.draws} draws, "
          f"{time.time() - t0:.0f} s\n")
    print("| direction | layers | IoU median | IoU mean | colour words | shape words | other object covered |")
    print("|---|---|---|---|---|---|---|")
    rows = []
    for (kind, layers), s in scores.items():
        by = {w: [v for v, ww in zip(s["iou"], s["word"]) if ww == w] for w in ("color", "shape")}
        row = dict(kind=kind, layers=list(layers), iou_median=statistics.median(s["iou"]),
                   iou_mean=statistics.fmean(s["iou"]),
                   color_median=statistics.median(by["color"]) if by["color"] else None,
                   shape_median=statistics.median(by["shape"]) if by["shape"] else None,
                   other=statistics.fmean(s["other"]), n=len(s["iou"]))
        rows.append(row)
        fmt = lambda v: "–" if v is None else f"{v:.2f}"                     # noqa: E731
        print(f"| {kind} | {','.join(map(str, layers))} | {row['iou_median']:.2f} | {row['iou_mean']:.2f} | "
              f"{fmt(row['color_median'])} | {fmt(row['shape_median'])} | {row['other']:.2f} |")
    kind, layers, value = mask_eval.best_attention(scores)
    print(f"\nbest: {kind}, layers {list(layers)}: median IoU {value:.2f}")
    best = scores[(kind, layers)]
    by_time = {t: statistics.median([v for v, tt in zip(best["iou"], best["time"]) if tt == t]) for t in args.times}
    print("  by noise level t: " + ", ".join(f"{t}: {v:.2f}" for t, v in by_time.items()))
    # the reference: SAFC's rule on a perfect word map at the token resolution (token_grid_ceiling)
    c_iou, c_other = statistics.median(best["ceiling_iou"]), statistics.fmean(best["ceiling_other"])
    p = pipe.dit.config.patch_size
    print(f"ceiling (a perfect map on the {p}×{p}-latent token grid, the same rule): median IoU "
          f"{c_iou:.2f}, other object covered {c_other:.2f}")
    summary = dict(model=args.model, scenes=args.scenes, times=args.times, draws=args.draws,
                   seed=args.seed, rows=rows, best=dict(kind=kind, layers=list(layers), iou_median=value,
                                                       iou_median_by_time=by_time),
                   ceiling=dict(iou_median=c_iou, other=c_other))
    if args.json:
        Path(args.json).write_text(json.dumps(summary, indent=1))
    if args.record:
        folder = Path(asset_folder("tiny") if args.model == "tiny" else args.model)
        cfg = read_json(folder / "pipeline.json", "pipeline")
        cfg["edit_attention"] = dict(attn_map=kind, attn_layers=list(layers), iou_median=round(value, 4),
                                     scenes=args.scenes, times=args.times, draws=args.draws, seed=args.seed,
                                     measured_by="python benchmarks/eval_word_attention.py --record")
        write_json_atomic(cfg, folder / "pipeline.json")
        print(f"recorded in {folder / 'pipeline.json'}")
    return summary


if __name__ == "__main__":
    main()
