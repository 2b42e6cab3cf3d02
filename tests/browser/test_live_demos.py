"""Every live demo of the course in a real browser (issue 23 §3): JupyterLab on localhost, the notebook
opened in headless Chromium (Playwright), Run All Cells (MINICOG_FAST=1), then each ipywidgets demo is
driven like a person would — an arrow key on the slider's handle, a click on the button — and the test
waits for a new video/figure/text in the demo's output. A screenshot of each demo cell is kept in
outputs/browser/ (MINICOG_BROWSER_OUT), with the measured response times in response_times.json; the
test asserts nothing about time. Run: `make browser-test`. Design and numbers: docs/browser_test.md."""
import json
import os
import re
import time

import pytest

import browser_lab as bl
from browser_lab import RESULTS

_missing = bl.missing_tools()
pytestmark = pytest.mark.skipif(_missing is not None, reason=f"browser test skipped: {_missing}")


@pytest.fixture(scope="module")
def browser_page():
    from playwright.sync_api import sync_playwright
    bl.OUT_DIR.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    with bl.Lab() as lab, sync_playwright() as pw:
        browser = bl.launch_browser(pw)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        state = {"lab": lab, "page": page, "notebook": None, "error": None}
        try:
            yield state
        finally:
            browser.close()
    RESULTS["total_s"] = round(time.perf_counter() - t0, 1)
    RESULTS["loadavg_end"] = os.getloadavg()
    _write()


def _write():
    """outputs/browser/response_times.json, rewritten after every demo (a stopped run keeps what it measured)."""
    path = bl.OUT_DIR / "response_times.json"
    path.write_text(json.dumps({k: v for k, v in RESULTS.items() if k != "json"}, indent=1, ensure_ascii=False))
    RESULTS["json"] = str(path)


def _open(state, notebook):
    """Open `notebook` and run all its cells, once for all the demos it holds."""
    if state["notebook"] == notebook:
        if state["error"]:
            pytest.fail(f"{notebook} did not run in the browser (see the first test of this notebook)")
        return
    page, lab = state["page"], state["lab"]
    if state["notebook"] is not None:
        lab.shutdown_kernels()
    state["notebook"], state["error"] = notebook, "opening"
    t0 = time.perf_counter()
    try:
        bl.open_notebook(page, lab, notebook)
        t_open = time.perf_counter() - t0
        t_run = bl.run_all(page)
    except Exception:
        page.screenshot(path=str(bl.OUT_DIR / f"{notebook.removesuffix('.ipynb').replace('/', '_')}_FAILED.png"))
        print("JupyterLab log (tail):\n" + lab.log())
        raise
    state["error"] = None
    RESULTS["notebooks"][notebook] = dict(open_s=round(t_open, 1), run_all_s=round(t_run, 1))


@pytest.mark.parametrize("demo", bl.DEMOS, ids=[d.name for d in bl.DEMOS])
def test_live_demo(browser_page, demo):
    _open(browser_page, demo.notebook)
    page = browser_page["page"]
    load = os.getloadavg()[0]
    try:
        r = bl.drive_demo(page, demo)
    except Exception:
        page.screenshot(path=str(bl.OUT_DIR / f"{demo.name}_FAILED.png"))
        raise
    m = re.match(r"\s*(\d+(?:\.\d+)?)s\b", r["text"])
    r["kernel_s"] = float(m.group(1)) if m else None     # 05 prints its own generate time
    r["loadavg_1min_before"] = round(load, 2)
    RESULTS["demos"].append(r)
    _write()
    # a new video / figure / text appeared after every press (drive_demo waited for it); it is the
    # demo's own output, not an error message
    assert len(r["response_s"]) == 2
    if demo.kind == "img":
        assert r["n_img"] >= 1, r
    if demo.expect_text:
        assert demo.expect_text in r["text"], f"{demo.name}: unexpected output {r['text']!r}"
