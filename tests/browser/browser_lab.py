"""Drive the course notebooks' live demos in a real browser: JupyterLab on localhost + headless Chromium.

Used by tests/browser/test_live_demos.py (`make browser-test`), which also writes the response times.
Why Playwright and Debian's chromium, and what is clicked: docs/browser_test.md.

The notebooks are copied into a temporary folder that JupyterLab serves, so a run never writes to
notebooks/ (autosave is also off); settings, workspaces, runtime and data dirs are temporary too.
"""
from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("MINICOG_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
OUT_DIR = Path(os.environ.get("MINICOG_BROWSER_OUT", REPO / "outputs" / "browser"))
# Time limits, generous because a `nice`d run on a busy 2-core machine may get a few % of a core: the
# server's start, one notebook's Run All, and one demo's response (a press until the new output shows).
STARTUP_TIMEOUT_S = float(os.environ.get("MINICOG_BROWSER_STARTUP_S", 900))
RUN_ALL_TIMEOUT_S = float(os.environ.get("MINICOG_BROWSER_RUN_ALL_S", 3600))
RESPONSE_TIMEOUT_S = float(os.environ.get("MINICOG_BROWSER_RESPONSE_S", 600))

# What a run measured (per notebook: open and Run All times; per demo: drive_demo's record), filled by
# the test and printed by tests/browser/conftest.py's summary.
RESULTS: dict = {"notebooks": {}, "demos": []}

# JupyterLab settings for an unattended run: no news/update check, no autosave, every cell in the DOM.
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
    "@jupyterlab/docmanager-extension/plugin": {"autosave": False},
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
    "@jupyterlab/extensionmanager-extension/plugin": {"enabled": False},
}


@dataclass(frozen=True)
class Demo:
    """One live demo: the notebook, the control moved (an ipywidgets slider, found by its label) and
    the button pressed (None: the slider alone redraws). `kind`: what the output must show —
    "img" (a video GIF or a matplotlib PNG, both <img>) or "text"."""
    name: str
    notebook: str
    slider: str
    button: str | None = None
    kind: str = "img"
    expect_text: str | None = None      # the output's text must contain this (e.g. not an error message)


# Every ipywidgets control in the course (grep notebooks/src for `widgets.`): one demo per cell.
ENGLISH_DEMOS = [
    Demo("00_explore_clip", "00_shapes_world.ipynb", slider="seed"),
    Demo("02_velocity_field", "02_rectified_flow.ipynb", slider="t"),
    Demo("04_word_attention", "04_expert_transformer.ipynb", slider="layer"),
    Demo("05_generate", "05_training_text_to_video.ipynb", slider="seed", button="Generate",
         expect_text="the oracle reads"),
    Demo("07_three_starts", "07_editing_three_starts.ipynb", slider="target"),
    Demo("08_mask_threshold", "08_flowdirector.ipynb", slider="threshold"),
    Demo("08_edit", "08_flowdirector.ipynb", slider="ω", button="Edit", expect_text="oracle reads"),
    Demo("09_attention_cost", "09_scaling_up_cogvideox.ipynb", slider="k (frames=1+4k)", kind="text",
         expect_text="video tokens"),
]
# The Korean edition (notebooks/ko/) has the same code cells, so the same controls with the same labels:
# each of its demos is driven too, where its notebook exists.
DEMOS = ENGLISH_DEMOS + [replace(d, name=f"ko_{d.name}", notebook=f"ko/{d.notebook}") for d in ENGLISH_DEMOS
                         if (REPO / "notebooks" / "ko" / d.notebook).exists()]


def missing_tools() -> str | None:
    """Why the browser test cannot run here, or None."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the Python package `playwright` is not installed (pip install playwright)"
    if not (Path(CHROMIUM).is_file() and os.access(CHROMIUM, os.X_OK)):
        return f"no Chromium at {CHROMIUM} (Debian: apt-get install -y chromium; or set MINICOG_CHROMIUM)"
    try:
        import jupyterlab  # noqa: F401
        import ipywidgets  # noqa: F401
    except ImportError:
        return "JupyterLab / ipywidgets are not installed (pip install -r requirements-dev.txt)"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Lab:
    """A JupyterLab server on a random free localhost port with a random token, serving a temporary
    copy of notebooks/. The server (and its kernels) run with MINICOG_FAST=1. Use as a context manager."""

    def __init__(self, fast: bool = True, startup_timeout: float = STARTUP_TIMEOUT_S):
        self.fast, self.startup_timeout = fast, startup_timeout
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> "Lab":
        self.tmp = Path(tempfile.mkdtemp(prefix="minicog-browser-"))
        shutil.copytree(REPO / "notebooks", self.tmp / "notebooks",
                        ignore=shutil.ignore_patterns("src", ".ipynb_checkpoints", "__pycache__"))
        settings = self.tmp / "lab-settings"
        for plugin, values in LAB_SETTINGS.items():
            f = settings / f"{plugin}.jupyterlab-settings"
            f.parent.mkdir(parents=True, exist_ok=True)
            f.write_text(json.dumps(values))
        self.port, self.token = _free_port(), secrets.token_hex(16)
        env = dict(os.environ, MINICOG_FAST="1" if self.fast else "0",
                   JUPYTER_CONFIG_DIR=str(self.tmp / "config"), JUPYTER_DATA_DIR=str(self.tmp / "data"),
                   JUPYTER_RUNTIME_DIR=str(self.tmp / "runtime"), JUPYTERLAB_WORKSPACES_DIR=str(self.tmp / "ws"))
        env.pop("MPLBACKEND", None)               # CI exports Agg; the kernel's inline backend draws the figures
        cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={self.port}",
               "--ServerApp.port_retries=0", f"--IdentityProvider.token={self.token}",
               f"--ServerApp.root_dir={self.tmp}", f"--LabApp.user_settings_dir={settings}",
               f"--LabApp.workspaces_dir={self.tmp / 'ws'}"]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            cmd.append("--allow-root")
        self.log_path = self.tmp / "jupyterlab.log"
        self._log = open(self.log_path, "w")
        self.proc = subprocess.Popen(cmd, env=env, cwd=self.tmp, stdout=self._log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        deadline = time.time() + self.startup_timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"JupyterLab exited ({self.proc.returncode}); log:\n{self.log()}")
            try:
                self.api("GET", "/api/status")
                break
            except OSError:
                if time.time() > deadline:
                    log = self.log()
                    self.__exit__(None, None, None)
                    raise RuntimeError(f"JupyterLab did not answer in {self.startup_timeout:.0f} s; log:\n{log}")
                time.sleep(0.5)
        return self

    def log(self, tail: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-tail:]
        except OSError:
            return "(no log)"

    def url(self, path: str) -> str:
        sep = "&" if "?" in path else "?"
        return f"http://127.0.0.1:{self.port}{path}{sep}token={self.token}"

    def api(self, method: str, path: str, timeout: float = 10.0):
        req = urllib.request.Request(self.url(path), method=method)
        with urllib.request.urlopen(req, timeout=timeout) as r:
            body = r.read()
        return json.loads(body) if body else None

    def shutdown_kernels(self):
        """Shut down every running kernel (between notebooks: frees the CPU and memory)."""
        for s in self.api("GET", "/api/sessions"):
            self.api("DELETE", f"/api/sessions/{s['id']}")

    def __exit__(self, *exc):
        if self.proc is not None and self.proc.poll() is None:
            try:
                self.api("POST", "/api/shutdown")           # stops the kernels too
                self.proc.wait(timeout=20)
            except (OSError, subprocess.TimeoutExpired):
                os.killpg(self.proc.pid, signal.SIGTERM)     # the server's own process group
                try:
                    self.proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    os.killpg(self.proc.pid, signal.SIGKILL)
        if getattr(self, "_log", None):
            self._log.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


def launch_browser(playwright):
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    keep_niceness()
    return browser


def _descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(d.name))
    out, todo = [], [root]
    while todo:
        kids = children.get(todo.pop(), [])
        out += kids
        todo += kids
    return out


def keep_niceness(period_s: float = 1.0):
    """Keep every process this one started (Playwright's driver, Chromium and its renderers) at this
    process's niceness: Chromium run as root resets its renderers' priority to 0, which would let a
    `nice -n 15` test compete with the machine's real work. Linux only; a daemon thread."""
    import threading
    if not Path("/proc/self/stat").is_file() or getattr(keep_niceness, "_started", False):
        return
    mine = os.getpriority(os.PRIO_PROCESS, 0)
    if mine <= 0:
        return
    keep_niceness._started = True

    def loop():
        while True:
            for pid in _descendants(os.getpid()):
                try:
                    if os.getpriority(os.PRIO_PROCESS, pid) < mine:
                        os.setpriority(os.PRIO_PROCESS, pid, mine)
                except OSError:
                    pass
            time.sleep(period_s)

    threading.Thread(target=loop, name="keep-niceness", daemon=True).start()


# --- the notebook page -----------------------------------------------------------------------------

# The notebook on show (each notebook is opened in a fresh workspace, so it is the only one).
NOTEBOOK = "#jp-main-dock-panel .jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook"
_PROMPTS_JS = f"""() => Array.from(document.querySelectorAll('{NOTEBOOK} .jp-CodeCell .jp-InputArea-prompt'))
                       .map(e => e.textContent.trim())"""


def open_notebook(page, lab: Lab, notebook: str, timeout_s: float = 300.0):
    """Open notebooks/<notebook> in JupyterLab, in a fresh workspace (no tab of an earlier notebook comes
    back), and wait for an idle kernel."""
    workspace = re.sub(r"\W", "-", notebook.removesuffix(".ipynb")) + "-" + secrets.token_hex(3)
    page.goto(lab.url(f"/lab/workspaces/{workspace}/tree/notebooks/{notebook}?reset"))
    page.wait_for_selector(f"{NOTEBOOK} .jp-CodeCell", timeout=timeout_s * 1000)
    page.wait_for_function("() => /\\|\\s*Idle/.test(document.querySelector('#jp-main-statusbar')?.innerText || '')",
                           timeout=timeout_s * 1000)


def run_all(page, timeout_s: float = RUN_ALL_TIMEOUT_S) -> float:
    """Run > Run All Cells, wait for the run to end; return its wall time. Raises AssertionError when a
    cell did not run (an error stops JupyterLab's run-all), naming the first one."""
    t0 = time.perf_counter()
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()
    page.wait_for_function(f"() => ({_PROMPTS_JS})().some(p => p.includes('*'))", timeout=60_000, polling=50)
    page.wait_for_function(f"() => !({_PROMPTS_JS})().some(p => p.includes('*'))",
                           timeout=timeout_s * 1000, polling=250)
    wall = time.perf_counter() - t0
    prompts = page.evaluate(_PROMPTS_JS)
    counts = [int(m.group(1)) if (m := re.fullmatch(r"\[(\d+)\]:", p)) else None for p in prompts]
    if None in counts or sorted(counts) != list(range(1, len(counts) + 1)):
        first = next((i for i, c in enumerate(counts) if c is None), None)
        errors = page.evaluate("""() => Array.from(document.querySelectorAll(
            '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')).map(e => e.innerText.slice(-1500))""")
        raise AssertionError(f"run-all did not run every code cell once: prompts {prompts} (first not run: code cell "
                             f"{first}); stderr outputs:\n" + "\n---\n".join(errors[-3:]))
    return wall


def demo_cell(page, demo: Demo):
    label = page.locator(".widget-label", has_text=re.compile(rf"^{re.escape(demo.slider)}$"))
    cell = page.locator(f"{NOTEBOOK} .jp-CodeCell").filter(has=label)
    assert cell.count() == 1, f"{demo.name}: {cell.count()} cells hold a control labelled {demo.slider!r}"
    return cell


def _slider(cell, demo: Demo):
    label = cell.page.locator(".widget-label", has_text=re.compile(rf"^{re.escape(demo.slider)}$"))
    return cell.locator(".widget-slider").filter(has=label)


def slider_value(cell, demo: Demo) -> str:
    return _slider(cell, demo).locator(".widget-readout").inner_text().strip()


def move_slider(cell, demo: Demo, key: str = "ArrowRight") -> str:
    """Focus the slider's noUiSlider handle and press an arrow key (one step); return the new readout.
    A handle already at its end (noUiSlider's aria-valuenow = aria-valuemax) steps back instead, so
    any number of presses moves it."""
    before = slider_value(cell, demo)
    handle = _slider(cell, demo).locator(".noUi-handle")
    now, end = (handle.get_attribute(a) for a in ("aria-valuenow", "aria-valuemax"))
    if key == "ArrowRight" and now is not None and now == end:
        key = "ArrowLeft"
    handle.focus()
    handle.press(key)
    deadline = time.time() + 10
    while (after := slider_value(cell, demo)) == before:
        if time.time() > deadline:
            raise AssertionError(f"{demo.name}: the {demo.slider!r} slider did not move ({before})")
        time.sleep(0.02)
    return after


# What the demo's Output widget shows: the <img> sources (videos are GIF <img>s, figures PNG <img>s),
# or its text. `ready`: every image decoded (naturalWidth > 0).
_OUTPUT_JS = """(el) => {
  const out = el.querySelector('.widget-output') || el.querySelector('.jp-Cell-outputWrapper');  // or a display_id output
  if (!out) return {sig: null, ready: false, n_img: 0, text: ''};
  const imgs = Array.from(out.querySelectorAll('img'));
  return {sig: KIND === 'img' ? imgs.map(i => i.src).join('|') : out.innerText,
          ready: imgs.every(i => i.complete && i.naturalWidth > 0), n_img: imgs.length, text: out.innerText};
}"""


def output_state(cell, demo: Demo) -> dict:
    return cell.evaluate(_OUTPUT_JS.replace("KIND", json.dumps(demo.kind)))


def act_and_time(cell, demo: Demo, action, timeout_s: float = RESPONSE_TIMEOUT_S) -> tuple[float, dict]:
    """Run `action()` (a key press or a click), then wait until the demo's output shows something new
    (a different image source set with every image decoded, or different text; for a demo with
    `expect_text`, its images and a line of text). Returns the seconds
    from the action to that moment, and the new output state."""
    before = output_state(cell, demo)["sig"]
    # demos with a result line (05, 08's edit: the video and its captions are displayed first, the
    # oracle's line a moment later) wait for that line, or an error in its place; text demos for text
    if demo.expect_text:
        text = f" && (s.text.includes({json.dumps(demo.expect_text)}) || s.text.includes('Error'))"
    else:
        text = " && s.text.trim().length > 0" if demo.kind != "img" else ""
    js = ("(el) => { const s = (" + _OUTPUT_JS.replace("KIND", json.dumps(demo.kind)) + ")(el);"
          f" return s.sig !== null && s.sig !== {json.dumps(before)} && s.ready"
          + (" && s.n_img > 0" if demo.kind == "img" else "") + text + "; }")
    t0 = time.perf_counter()
    action()
    handle = cell.element_handle()
    cell.page.wait_for_function(f"(el) => ({js})(el)", arg=handle, timeout=timeout_s * 1000, polling=20)
    return time.perf_counter() - t0, output_state(cell, demo)


def drive_demo(page, demo: Demo, out_dir: Path = OUT_DIR, presses: int = 2) -> dict:
    """Move the demo's slider one step (and press its button), `presses` times; each time wait for a new
    video/figure/text, time it, and keep a screenshot of the cell's output (controls and result) before
    and after. Returns the measurements."""
    cell = demo_cell(page, demo)
    cell.scroll_into_view_if_needed()
    out_dir.mkdir(parents=True, exist_ok=True)
    shown = cell.locator(".jp-Cell-outputWrapper")          # the widgets and their output (the code
    shown.scroll_into_view_if_needed()                       # cell can be taller than the window)
    shown.screenshot(path=str(out_dir / f"{demo.name}_before.png"))
    times, values, states = [], [], []
    for _ in range(presses):
        if demo.button is None:
            seconds, state = act_and_time(cell, demo, lambda: values.append(move_slider(cell, demo)))
        else:
            values.append(move_slider(cell, demo))
            button = cell.locator(".widget-button", has_text=re.compile(rf"^\s*{re.escape(demo.button)}\s*$"))
            seconds, state = act_and_time(cell, demo, button.click)
        times.append(seconds)
        states.append(state)
    shot = out_dir / f"{demo.name}.png"
    shown.scroll_into_view_if_needed()
    shown.screenshot(path=str(shot))
    return dict(demo=demo.name, notebook=demo.notebook, control=demo.slider, button=demo.button,
                slider_values=values, response_s=[round(t, 3) for t in times], screenshot=str(shot),
                n_img=states[-1]["n_img"], text=states[-1]["text"][-300:])
