"""The FlowDirector measure on the Shapes world (run by hand, not in CI).

    python benchmarks/bench_editing.py                         # 12 colour + 12 shape edits
    python benchmarks/bench_editing.py --n 4 --variants flowedit flowdirector
    python benchmarks/bench_editing.py --pipeline runs/tiny --json results.json
    python benchmarks/bench_editing.py --n 8 --edit-seed 7 --variants flowdirector \
        --set mask.threshold=0.3 n_max=12           # one row of the tuning sweep (edit-set seed 7)
    python benchmarks/bench_editing.py --objects 2             # two-object edits (issue 21 §1)

For every edit (a rendered source clip and a target prompt changing its colour or its shape) and
every variant (the three starts, FlowDirector and its ablations): edit success (the oracle reads the
target attribute), preservation (the oracle reads every other attribute as in the source), trajectory
drift (distance in px between the object's box centres in the edited clip and in the ideal edit —
the target rendered on the source's path — and, beside it, against the source clip), background
PSNR outside both objects, and seconds per edit, timed in the same run so the last column — time
relative to ODE inversion — compares like with like. The "reconstruction" row (VAE encode → decode,
no edit) is the ceiling every method shares. Results are recorded in docs/flowdirector.md.

`--objects 2` measures two-object edits (`edit_eval.two_object_edits`: one object's colour or shape
changes, the other must stay): edit success, other object kept (the oracle reads it unchanged) and
its PSNR against the source, background PSNR, drift of both objects against the ideal edit,
FlowDirector's mask against the true objects (IoU with the edited one, share of the other's latent
cells; union over the steps) and time relative to FlowEdit. Its default rows add FlowDirector v2's
options (DAG v2, +DA-FC, +MAD-FC) and the velocity mask (DiffEdit's, `mask=VelocityMask()`);
the one-object default keeps the rows it always had.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch


from minicog import edit_eval  # noqa: E402
from minicog.pipeline import load_pipeline  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pipeline", default="tiny", help="'tiny' (assets/tiny) or a trained run folder")
    ap.add_argument("--n", type=int, default=12, help="edits per kind (colour, shape)")
    ap.add_argument("--kinds", nargs="+", default=["color", "shape"])
    ap.add_argument("--objects", type=int, default=1, choices=(1, 2),
                    help="1: one-object edits (shapes_edits); 2: two-object edits (two_object_edits)")
    ap.add_argument("--variants", nargs="+", default=None,
                    help=f"rows to run, from: {', '.join(edit_eval.ABLATIONS)} (default: all; with "
                         f"--objects 1 all but {', '.join(edit_eval.TWO_OBJECT_ROWS)})")
    ap.add_argument("--seed", type=int, default=0, help="edit noise seed")
    ap.add_argument("--edit-seed", type=int, default=1, help="seed of the edit set (sources, targets)")
    ap.add_argument("--threads", type=int, default=1,
                    help="torch CPU threads (1 is fastest on a shared, oversubscribed CPU)")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--json", default=None, help="write per-edit rows and the summary here")
    ap.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE",
                    help="overrides for every variant, values as JSON: EditConfig fields (e.g. n_max=12), and "
                         "fields of FlowDirector's parts as part.field for the flowdirector rows (e.g. "
                         "mask.threshold=0.3 dag.n_worse=4; edit_eval.with_overrides)")
    args = ap.parse_args(argv)
    if args.variants is None:
        args.variants = [v for v in edit_eval.ABLATIONS if args.objects == 2 or v not in edit_eval.TWO_OBJECT_ROWS]
    unknown = [v for v in args.variants if v not in edit_eval.ABLATIONS]
    if unknown:
        ap.error(f"unknown variants {unknown}; choose from {list(edit_eval.ABLATIONS)}")
    torch.set_num_threads(args.threads)
    pipe = load_pipeline(args.pipeline, device=args.device)
    make = edit_eval.shapes_edits if args.objects == 1 else edit_eval.two_object_edits
    edits = make(args.n, args.kinds, seed=args.edit_seed)
    variants = {v: edit_eval.ABLATIONS[v] for v in args.variants}
    overrides = {}
    for item in args.set:
        key, sep, value = item.partition("=")
        if not sep:
            ap.error(f"--set expects KEY=VALUE, got {item!r}")
        try:
            overrides[key] = json.loads(value)
        except json.JSONDecodeError:
            overrides[key] = value                      # a bare string, e.g. mask.threshold=mean
    rows = edit_eval.measure(pipe, edits, variants, seed=args.seed, overrides=overrides)
    summary = edit_eval.summarise(rows)
    prefer = "inversion" if args.objects == 1 else "flowedit"
    ref = prefer if prefer in summary else next(iter(summary))
    what = "edits" if args.objects == 1 else "two-object edits"
    print(f"\n{len(edits)} {what} ({args.n} per kind: {', '.join(args.kinds)}), device {pipe.device}\n")
    print(edit_eval.results_table(summary, reference=ref))
    if args.json:
        Path(args.json).write_text(json.dumps(dict(args=vars(args), summary=summary, rows=rows),
                                              indent=1, default=str))
    return summary


if __name__ == "__main__":
    main()
