"""The browser test of the live demos runs only under `make browser-test` (MINICOG_BROWSER_TEST=1):
about 2.5 minutes on an idle 2-core CPU; CI runs it after `make test` (docs/browser_test.md)."""
import json
import os
import sys
from pathlib import Path

if os.environ.get("MINICOG_BROWSER_TEST") != "1":
    collect_ignore_glob = ["test_*.py"]

sys.path.insert(0, str(Path(__file__).resolve().parent))
from browser_lab import RESULTS  # noqa: E402  (filled by test_live_demos.py)


def pytest_terminal_summary(terminalreporter):
    if not RESULTS["demos"] and not RESULTS["notebooks"]:
        return
    tr = terminalreporter
    tr.section("live demos in the browser: response times (button press / slider step -> new output)")
    for nb, r in RESULTS["notebooks"].items():
        tr.write_line(f"{nb}: open {r['open_s']:.1f} s, run all {r['run_all_s']:.1f} s")
    for d in RESULTS["demos"]:
        action = f"{d['control']!r} slider" + (f" + {d['button']!r} button" if d["button"] else "")
        kernel = f"  (kernel's own timing: {d['kernel_s']} s)" if d.get("kernel_s") is not None else ""
        tr.write_line(f"{d['demo']:<20} {action:<32} " + ", ".join(f"{t:.2f} s" for t in d["response_s"])
                      + kernel + f"  -> {d['screenshot']}")
    if RESULTS.get("json"):
        tr.write_line(f"written to {RESULTS['json']}")
    tr.write_line(json.dumps({d["demo"]: d["response_s"] for d in RESULTS["demos"]}))
