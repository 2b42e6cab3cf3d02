"""Response times of the course's live demos in a real browser (run by hand, not in CI).

    python benchmarks/bench_live_demos.py                          # every demo, 5 presses each
    python benchmarks/bench_live_demos.py --demos 05_generate 08_edit --presses 10
    python benchmarks/bench_live_demos.py --json outputs/browser/bench.json

The same driver as `make browser-test` (tests/browser/browser_lab.py): JupyterLab on localhost, the
notebook opened in headless Chromium (Debian's /usr/bin/chromium, driven by Playwright), Run All Cells
in fast mode, then for each demo `--presses` times: one arrow-key step on its slider (and a click on
its button), timed from the key press / click to the moment the demo's output shows a new, decoded
video or figure (or new text). Beside each demo's browser time it times the same Python work in
this process without a browser (`--no-direct` skips it): the demo's callback body, so the difference
is what JupyterLab, the widget messages and the browser add. The load average is printed because on
a shared 2-core machine it, not the browser, decides most of the time. Results: docs/browser_test.md.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path



def _load_browser_lab():
    """tests/browser/browser_lab.py, the browser test's driver, loaded from its file."""
    import importlib.util
    path = Path(__file__).resolve().parents[1] / "tests" / "browser" / "browser_lab.py"
    spec = importlib.util.spec_from_file_location("browser_lab", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["browser_lab"] = module
    spec.loader.exec_module(module)
    return module


bl = _load_browser_lab()


def direct_times(name: str, presses: int) -> list[float] | None:
    """Seconds per call of the demo's callback work, outside the browser (the notebook's fast mode)."""
    os.environ.setdefault("MINICOG_FAST", "1")
    import matplotlib
    matplotlib.use("Agg")
    from minicog import edit_eval, load_pipeline, shapes, video
    from minicog.flowdirector import DAG
    if name == "05_generate":
        pipe = load_pipeline("tiny")
        prompt = "a purple triangle moving left on a white background"

        def call(i):
            v = pipe.generate(prompt, seed=i, guidance=4.0)
            video.video_html(v, width=256)
            shapes.read_attributes(v)
    elif name == "08_edit":
        pipe = load_pipeline("tiny")
        src, tar = ("a green triangle moving left on a white background",
                    "a purple triangle moving left on a white background")

        def call(i):
            clip = shapes.render_caption(src, rng=0)
            out = pipe.edit(clip, src, tar, seed=0, method="flowdirector", dag=DAG(omega=1.0 + 0.5 * (i + 1)))
            edit_eval.edit_metrics(clip, out, src, tar, reference=edit_eval.ideal_edit(tar, 0))
            video.video_html(clip, width=192), video.video_html(out, width=192)
    elif name == "00_explore_clip":
        def call(i):
            video.video_html(shapes.render(color="red", shape="circle", direction="right",
                                           background="black", rng=i + 1), width=192)
    else:
        return None                      # figure demos: the notebook's own state; not rebuilt here
    call(0)                              # warm-up (first call pays imports and allocations)
    times = []
    for i in range(presses):
        t0 = time.perf_counter()
        call(i + 1)
        times.append(time.perf_counter() - t0)
    return times


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--demos", nargs="*", default=[d.name for d in bl.DEMOS],
                    choices=[d.name for d in bl.DEMOS])
    ap.add_argument("--presses", type=int, default=5)
    ap.add_argument("--json", type=Path, default=bl.OUT_DIR / "bench_live_demos.json")
    ap.add_argument("--no-direct", action="store_true", help="skip the no-browser timing of the same work")
    args = ap.parse_args(argv)
    if (why := bl.missing_tools()):
        sys.exit(f"cannot run: {why}")
    from playwright.sync_api import sync_playwright

    demos = [d for d in bl.DEMOS if d.name in args.demos]
    rows, current = [], None
    with bl.Lab() as lab, sync_playwright() as pw:
        browser = bl.launch_browser(pw)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        try:
            for d in demos:
                if d.notebook != current:
                    if current is not None:
                        lab.shutdown_kernels()
                    bl.open_notebook(page, lab, d.notebook)
                    run_s = bl.run_all(page)
                    current = d.notebook
                    print(f"{d.notebook}: run all {run_s:.1f} s", flush=True)
                load = os.getloadavg()[0]
                r = bl.drive_demo(page, d, presses=args.presses)
                r["loadavg_1min"] = round(load, 2)
                rows.append(r)
                print(f"  {d.name:<20} browser: median {statistics.median(r['response_s']):.2f} s "
                      f"(min {min(r['response_s']):.2f}, max {max(r['response_s']):.2f}, n={args.presses}); "
                      f"load {load:.1f}", flush=True)
        finally:
            browser.close()
    if not args.no_direct:
        for r in rows:
            t = direct_times(r["demo"], args.presses)
            if t is not None:
                r["direct_s"] = [round(x, 3) for x in t]
                print(f"  {r['demo']:<20} same work without the browser: median {statistics.median(t):.2f} s; "
                      f"the browser path adds {statistics.median(r['response_s']) - statistics.median(t):+.2f} s",
                      flush=True)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(dict(rows=rows, loadavg_end=os.getloadavg(), cpus=os.cpu_count()),
                                    indent=1, ensure_ascii=False))
    print(f"written to {args.json}")


if __name__ == "__main__":
    main()
