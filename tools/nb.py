"""Build the course's notebooks from their percent-format sources (for maintainers, not students).

    make notebooks     python tools/nb.py notebooks [SRC.py ...] [--force] [--fast]
                       the student editions notebooks/NN_*.ipynb: solutions replaced by stubs, executed
                       in full mode (MINICOG_FAST unset), outputs kept; only notebooks whose source
                       changed are rebuilt (--force: all given)
    make instructor    python tools/nb.py instructor [SRC.py ...]
                       the instructor editions coursework/instructor/NN_*.ipynb (solutions in, not
                       committed); the lecture's outputs are copied from the student edition when that
                       was built from the same source, nothing is executed
    python tools/nb.py build notebooks/src/NN_x.py [OUT.ipynb] [--full]
                       one student edition, fast mode by default: a quick look while writing
    python tools/nb.py check [NB.ipynb ...]       which committed notebooks are stale, fast-mode or too big
    python tools/nb.py drift notebooks/src/LANG/NN_x.py ...
                       a translation's code cells must be the English source's (markdown is translated)
    make book          python tools/nb.py html NB.ipynb ... --out DIR [--screenshot HEIGHT]
                       static HTML (nbconvert, no execution) and a count of the figures and videos in it;
                       --screenshot: each page drawn by headless Chromium as PAGE.png

Sources (`notebooks/src/NN_*.py`) are jupytext percent scripts: `# %%` starts a code cell, `# %% [markdown]`
a markdown cell. Two markers of ours may follow on the `# %%` line (docs/notebooks.md):
`[nbgrader solution id=NAME]`, `[nbgrader check id=NAME points=N]`, `[nbgrader locked id=NAME]` (nbgrader's
cell metadata, docs/coursework.md) and `NBVAL_CHECK_OUTPUT` / `NBVAL_SKIP` / ... (nbval's tags).

Every built notebook records, in `metadata.minicog`, the SHA-256 of its source (with this tool's format
version), the edition, the mode and a hash of the package (minicog/ and assets/tiny/); a test fails when a
committed notebook's source hash is not its source's. Rebuilding an unchanged source gives the same bytes
for every deterministic output: stable cell ids (a hash of the cell), no execution timestamps, no widget
state (random model ids), PNG text chunks dropped, seeds fixed before the first cell.
"""
from __future__ import annotations

import argparse
import base64
import copy
import hashlib
import html as html_lib
import os
import re
import struct
import sys
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "notebooks" / "src"
INSTRUCTOR = ROOT / "coursework" / "instructor"
FORMAT = "minicog-nb-2"              # bump when the build changes what it writes: every notebook is stale
SECTION_ID = "exercises"             # grade_id of the graded-exercise section's first cell
MAX_BYTES = 3_000_000                # one notebook
MAX_TOTAL_BYTES = 30_000_000         # all of one edition
CELL_TIMEOUT = int(os.environ.get("NB_CELL_S", "900"))
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
# run in the kernel before the first cell (not stored): fixed seeds, so unseeded randomness repeats
SETUP = ("import random as _r, numpy as _np, torch as _t\n"
         "_r.seed(0); _np.random.seed(0); _t.manual_seed(0)\n"
         "del _r, _np, _t\n")

NBGRADER = {  # kind -> nbgrader cell metadata (nbgrader's schema 3)
    "solution": dict(solution=True, grade=False, locked=False),
    "check": dict(solution=False, grade=True, locked=True),
    "locked": dict(solution=False, grade=False, locked=True),
}
MARKER = re.compile(r"\[nbgrader [^\]]*\]|NBVAL_[A-Z_]+")


# ----------------------------------------------------------------------------- reading a source

def nbgrader_metadata(marker: str) -> dict:
    """`[nbgrader KIND id=NAME points=N]` -> the cell's `nbgrader` metadata."""
    m = re.fullmatch(r"\[nbgrader (\w+)((?:\s+\w+=[^\s\]]+)*)\s*\]", marker)
    if not m or m.group(1) not in NBGRADER:
        raise ValueError(f"unknown nbgrader marker {marker!r}: use [nbgrader KIND id=NAME] with KIND in "
                         f"{list(NBGRADER)} (and points=N on a check)")
    args = dict(a.split("=", 1) for a in m.group(2).split())
    if "id" not in args:
        raise ValueError(f"{marker!r} has no id=NAME")
    meta = dict(NBGRADER[m.group(1)], grade_id=args["id"], schema_version=3, task=False)
    if meta["grade"]:
        meta["points"] = float(args.get("points", 1))
    return meta


def _encode_markers(text: str) -> str:
    """Our markers on a `# %%` line become jupytext cell metadata (`minicog="..."`), which jupytext
    keeps as it is; anything else on the line stays jupytext's to read."""
    def line(m: re.Match) -> str:
        head, rest = m.group(1), m.group(2)
        found = MARKER.findall(rest)
        if not found:
            return m.group(0)
        rest = MARKER.sub("", rest).strip()
        return f'{head} {rest} minicog="{" ".join(found)}"'.replace("  ", " ").rstrip()
    return re.sub(r"(?m)^(# %%)(.*)$", line, text)


def parse_percent(text: str) -> nbformat.NotebookNode:
    """A percent script -> a notebook (no outputs): jupytext reads the format, then our markers
    become nbgrader metadata and nbval tags, and every cell gets a stable id."""
    import jupytext

    nb = jupytext.reads(_encode_markers(text), fmt="py:percent")
    for cell in nb.cells:
        markers = cell.metadata.pop("minicog", "")
        for key in ("lines_to_next_cell", "cell_marker"):
            cell.metadata.pop(key, None)
        if cell.metadata:
            raise ValueError(f"unexpected text on the `# %%` line of the cell starting {cell.source[:60]!r}: "
                             f"{dict(cell.metadata)} — only [markdown], [nbgrader ...] and NBVAL_... belong there")
        for marker in MARKER.findall(markers):
            if marker.startswith("NBVAL_"):
                cell.metadata.setdefault("tags", []).append(marker.lower().replace("_", "-"))
            else:
                cell.metadata["nbgrader"] = nbgrader_metadata(marker)
    _stable_ids(nb)
    nb.metadata = nbformat.NotebookNode(
        kernelspec={"name": "python3", "display_name": "Python 3", "language": "python"},
        language_info={"name": "python"})
    return nb


def _stable_ids(nb: nbformat.NotebookNode) -> None:
    """Cell ids (nbformat 4.5) from a hash of the cell's kind and text: a rebuild changes only the ids
    of the cells that changed, and the two editions share the ids of the cells they share."""
    seen: dict[str, int] = {}
    for cell in nb.cells:
        h = hashlib.sha1(f"{cell.cell_type}\n{cell.source}".encode()).hexdigest()[:12]
        seen[h] = seen.get(h, 0) + 1
        cell.id = h if seen[h] == 1 else f"{h}-{seen[h]}"


# ----------------------------------------------------------------------------- editions

def edition_path(src: Path, edition: str, lang: str = "en") -> Path:
    """notebooks/NAME.ipynb (student, English), notebooks/LANG/NAME.ipynb (student, another language),
    coursework/instructor[/LANG]/NAME.ipynb."""
    base = ROOT / "notebooks" if edition == "student" else INSTRUCTOR
    return (base if lang == "en" else base / lang) / f"{src.stem}.ipynb"


def source_for(name: str, lang: str = "en") -> Path:
    """The source of a notebook named NN_name (or of week NN): notebooks/src[/LANG]/NN_name.py."""
    folder = SRC if lang == "en" else SRC / lang
    path = folder / f"{name}.py"
    if path.exists():
        return path
    found = sorted(folder.glob(f"{name[:2]}_*.py")) if re.match(r"\d\d", name) else []
    if len(found) != 1:
        raise SystemExit(f"no source for {name!r} in {folder.relative_to(ROOT)}: a notebook is named like "
                         "its source, e.g. notebooks/01_dit.ipynb <- notebooks/src/01_dit.py")
    return found[0]


def languages() -> list[str]:
    """The translations: each notebooks/src/LANG/ folder (e.g. ko)."""
    return sorted(p.name for p in SRC.iterdir() if p.is_dir() and len(p.name) == 2)


def sources(lang: str = "en") -> list[Path]:
    return sorted((SRC if lang == "en" else SRC / lang).glob("[0-9][0-9]_*.py"))


def source_hash(src: Path, lang: str = "en") -> str:
    """A translation's hash covers the English source too: its code cells and outputs come from there."""
    english = b"" if lang == "en" else source_for(src.stem).read_bytes()
    return hashlib.sha256(f"{FORMAT}\n{lang}\n".encode() + src.read_bytes() + english).hexdigest()


def package_hash() -> str:
    """What the figures also depend on: the package's code and the shipped tiny model."""
    h = hashlib.sha256()
    files = sorted(p for folder in ("minicog", "assets/tiny") for p in (ROOT / folder).rglob("*")
                   if p.is_file() and "__pycache__" not in p.parts)
    for p in files:
        h.update(str(p.relative_to(ROOT)).encode() + b"\0" + p.read_bytes())
    return h.hexdigest()


def student_edition(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """nbgrader's own preprocessors: solution regions -> `raise NotImplementedError()` stubs, graded and
    locked cells read-only, checksums as nbgrader's release writes them."""
    from nbgrader.preprocessors import ClearSolutions, ComputeChecksums, LockCells

    nb = copy.deepcopy(nb)
    for pre in (ClearSolutions(enforce_metadata=True), LockCells(), ComputeChecksums()):
        nb, _ = pre.preprocess(nb, {})
    _stable_ids(nb)
    return nb


def instructor_edition(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    from nbgrader.preprocessors import LockCells

    nb, _ = LockCells().preprocess(copy.deepcopy(nb), {})
    return nb


def relink(nb: nbformat.NotebookNode, folder: Path) -> None:
    """Relative links of the markdown (`[docs](../docs/x.md)`, written for notebooks/) made to work from
    `folder` (coursework/instructor/, notebooks/LANG/)."""
    here = (ROOT / "notebooks").resolve()
    if folder.resolve() == here:
        return

    def fix(m: re.Match) -> str:
        target = m.group(2)
        if re.match(r"[a-z][a-z0-9+.-]*:|#|/", target):
            return m.group(0)
        return f"{m.group(1)}({os.path.relpath(here / target, folder.resolve())})"
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = re.sub(r"(\]\s*)\(([^)\s]+)\)", fix, cell.source)


def exercise_start(nb: nbformat.NotebookNode) -> int | None:
    return next((i for i, c in enumerate(nb.cells)
                 if c.metadata.get("nbgrader", {}).get("grade_id") == SECTION_ID), None)


# ----------------------------------------------------------------------------- executing

def execute(nb: nbformat.NotebookNode, cwd: Path, fast: bool, timeout: int = CELL_TIMEOUT) -> float:
    """Run every cell in a fresh kernel (nbclient); raises on the first error."""
    from nbclient import NotebookClient

    env = {"MINICOG_FAST": "1" if fast else None, "PYTHONHASHSEED": "0", "MPLBACKEND": None}
    saved = {k: os.environ.get(k) for k in env}
    for k, v in env.items():                    # the kernel inherits this process's environment
        os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)
    # the setup runs as a first cell, removed afterwards (its count taken off the others)
    nb.cells.insert(0, nbformat.v4.new_code_cell(SETUP))
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", record_timing=False,
                            resources={"metadata": {"path": str(cwd)}})
    t0 = time.time()
    try:
        client.execute()
    finally:
        del nb.cells[0]
        for k, v in saved.items():
            os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)
    for cell in nb.cells:
        if cell.cell_type == "code" and cell.execution_count:
            cell.execution_count -= 1
            for out in cell.outputs:
                if "execution_count" in out:
                    out.execution_count -= 1
    return time.time() - t0


def _png_without_text(data: str) -> str:
    """A base64 PNG without its text and time chunks (matplotlib writes its version there)."""
    raw = base64.b64decode(data)
    if raw[:8] != b"\x89PNG\r\n\x1a\n":
        return data
    out, i = [raw[:8]], 8
    while i < len(raw):
        (n,) = struct.unpack(">I", raw[i:i + 4])
        kind = raw[i + 4:i + 8]
        if kind not in (b"tEXt", b"iTXt", b"zTXt", b"tIME"):
            out.append(raw[i:i + 12 + n])
        i += 12 + n
    return base64.b64encode(b"".join(out)).decode() + ("\n" if data.endswith("\n") else "")


def _is_progress(out) -> bool:
    return out.get("output_type") == "stream" and out.get("name") == "stderr" and \
        bool(re.search(r"\d+%\|", out.get("text", "")))


def _progress_models(nb: nbformat.NotebookNode) -> set[str]:
    """Ids of the saved widget models that are progress bars (tqdm.auto's notebook bars, e.g. while a
    library loads a model) or containers holding one: not demos."""
    state = nb.metadata.get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {}).get("state", {})
    bars = {k for k, v in state.items() if v.get("model_name") in ("FloatProgressModel", "IntProgressModel")}
    return bars | {k for k, v in state.items()
                   if any(str(c).removeprefix("IPY_MODEL_") in bars for c in v.get("state", {}).get("children", []))}


def normalize(nb: nbformat.NotebookNode) -> list[dict]:
    """Make an executed notebook reproducible and static (see the module docstring); returns the widget
    demos: [{"cell": id, "static": the cell's ordinary outputs (figures, videos, print-outs)}]."""
    progress, widgets = _progress_models(nb), []
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        if cell.cell_type != "code":
            continue
        views = [o.data[WIDGET_MIME].get("model_id") for o in cell.outputs if WIDGET_MIME in o.get("data", {})]
        cell.outputs = [o for o in cell.outputs if WIDGET_MIME not in o.get("data", {}) and not _is_progress(o)]
        for o in cell.outputs:
            if "image/png" in o.get("data", {}):
                o.data["image/png"] = _png_without_text(o.data["image/png"])
        if any(v not in progress for v in views):
            widgets.append({"cell": cell.id, "static": len(cell.outputs)})
    nb.metadata.pop("widgets", None)
    nb.metadata["language_info"] = {"name": "python"}
    return widgets


# ----------------------------------------------------------------------------- figures and videos

PRIORITY = ["text/html", "image/svg+xml", "image/png", "image/jpeg", "text/markdown", "text/plain"]  # nbconvert's


def count_media(output) -> int:
    """Figures and videos one output shows in a static renderer: an image output, or the inline
    `<img>`/`<video>` data URIs of an HTML output (minicog.video's GIFs)."""
    data = output.get("data", {})
    kind = next((m for m in PRIORITY if m in data), None)
    if kind is None:
        return 0
    if kind.startswith("image/"):
        return 1
    if kind == "text/html":
        text = data[kind] if isinstance(data[kind], str) else "".join(data[kind])
        return media_in_html(text)
    return 0


def media_in_notebook(nb: nbformat.NotebookNode) -> int:
    return sum(count_media(o) for c in nb.cells if c.cell_type == "code" for o in c.outputs)


MEDIA_TAG = re.compile(r"""<(?:img|video|source)\b[^>]*?\bsrc=["']data:(?:image|video)/""", re.I)


def media_in_html(text: str) -> int:
    """`<img>` / `<video>` / `<source>` elements whose source is an inline image or video (a page's CSS
    has data URIs of its own, not counted)."""
    return len(MEDIA_TAG.findall(text))


def render_html(path: Path, out_dir: Path) -> tuple[Path, int, int]:
    """nbconvert's HTML export of a committed notebook, as it is (no execution) -> (page, figures and
    videos in the notebook, in the page)."""
    from nbconvert import HTMLExporter

    nb = nbformat.read(path, as_version=4)
    body, _ = HTMLExporter().from_notebook_node(nb)
    out_dir.mkdir(parents=True, exist_ok=True)
    page = out_dir / f"{path.stem}.html"
    page.write_text(body)
    # media in markdown cells (none today) count on both sides
    md = sum(media_in_html(c.source) for c in nb.cells if c.cell_type == "markdown")
    return page, media_in_notebook(nb) + md, media_in_html(body)


# ----------------------------------------------------------------------------- commands

def build(src: Path, dst: Path, *, fast: bool, lang: str = "en") -> nbformat.NotebookNode:
    """Student edition of `src` -> `dst`, executed. Written only when every cell ran."""
    if lang != "en":
        return build_translation(src, dst, lang)
    nb = student_edition(parse_percent(src.read_text()))
    relink(nb, dst.parent)
    secs = execute(nb, ROOT / "notebooks", fast)          # where the notebooks' relative paths start
    widgets = normalize(nb)
    nb.metadata["minicog"] = {
        "source": str(_show(src)), "source_sha256": source_hash(src, lang), "edition": "student",
        "mode": "fast" if fast else "full", "language": lang, "package_sha256": package_hash(),
        "widgets": widgets}
    dst.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, dst)
    bare = [w["cell"] for w in widgets if not w["static"]]
    print(f"{_show(dst)}: {'fast' if fast else 'full'} mode, "
          f"{secs:.0f} s, {dst.stat().st_size / 1e6:.2f} MB, {media_in_notebook(nb)} figures/videos"
          + (f"; widget cells showing nothing static: {bare}" if bare else ""))
    return nb


# ----------------------------------------------------------------------------- other languages

def _skeleton(nb: nbformat.NotebookNode) -> list:
    """What a translation must keep of a notebook: every code cell (text and markers), in order, and
    the markers of the markdown cells (nbgrader's locked cells); markdown text is free."""
    return [(c.cell_type, c.source if c.cell_type == "code" else "", c.metadata.get("nbgrader"),
             c.metadata.get("tags")) for c in nb.cells if c.cell_type == "code" or c.metadata]


def drift(src: Path) -> list[str]:
    """How a translated source (notebooks/src/LANG/NN_*.py) departs from the English source's code
    cells (empty: it does not)."""
    en_src = source_for(src.stem)
    theirs, ours = _skeleton(parse_percent(en_src.read_text())), _skeleton(parse_percent(src.read_text()))
    problems = []
    for i, (a, b) in enumerate(zip(theirs, ours)):
        if a != b:
            line = (a[1] or b[1] or str(a[2] or b[2])).strip().splitlines()[0][:70]
            problems.append(f"{_show(src)}: cell {i + 1} of the code and marked cells differs from "
                            f"{_show(en_src)}'s (it starts {line!r}): translate markdown only")
            break
    if len(theirs) != len(ours) and not problems:
        problems.append(f"{_show(src)}: {len(ours)} code and marked cells, {_show(en_src)} has {len(theirs)}")
    return problems


def build_translation(src: Path, dst: Path, lang: str) -> nbformat.NotebookNode:
    """A translated student edition: its markdown, and the code cells of the English student edition
    with their outputs. The code is the English edition's, byte for byte (`drift`), and the English
    edition is a current full-mode run of it, so running it again would only repeat those outputs."""
    problems = drift(src)
    if problems:
        raise ValueError("; ".join(problems))
    en_src = source_for(src.stem)
    en_path = edition_path(en_src, "student")
    why = stale(en_path, en_src)
    if why:
        raise ValueError(f"{_show(en_path)}: {why}: build the English edition first (make notebooks)")
    en = nbformat.read(en_path, as_version=4)
    nb = student_edition(parse_percent(src.read_text()))
    relink(nb, dst.parent)
    for cell, done in zip([c for c in nb.cells if c.cell_type == "code"], [c for c in en.cells if c.cell_type == "code"]):
        assert cell.source == done.source and cell.id == done.id, (cell.id, done.id)
        cell.outputs, cell.execution_count = done.outputs, done.execution_count
    meta = en.metadata["minicog"]
    nb.metadata["minicog"] = {
        "source": str(_show(src)), "source_sha256": source_hash(src, lang), "edition": "student",
        "mode": meta["mode"], "language": lang, "package_sha256": meta["package_sha256"],
        "widgets": meta["widgets"], "outputs_from": str(_show(en_path)),
        "outputs_sha256": hashlib.sha256(en_path.read_bytes()).hexdigest()}
    dst.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, dst)
    print(f"{_show(dst)}: {lang}, the outputs of {_show(en_path)}, {dst.stat().st_size / 1e6:.2f} MB, "
          f"{media_in_notebook(nb)} figures/videos")
    return nb


def _show(path: Path) -> Path:
    return path.relative_to(ROOT) if path.is_relative_to(ROOT) else path


def stale(path: Path, src: Path, lang: str = "en") -> str | None:
    """Why the committed notebook `path` is not a full-mode student build of `src` (None: it is)."""
    if not path.exists():
        return "missing"
    meta = nbformat.read(path, as_version=4).metadata.get("minicog", {})
    if meta.get("source_sha256") != source_hash(src, lang):
        return f"not built from the current {_show(src)}"
    if meta.get("edition") != "student":
        return "not the student edition"
    if meta.get("mode") != "full":
        return f"built in {meta.get('mode')} mode"
    if lang != "en":
        en_path = edition_path(src, "student")
        if not en_path.exists() or meta.get("outputs_sha256") != hashlib.sha256(en_path.read_bytes()).hexdigest():
            return f"its outputs are not those of the current {_show(en_path)}"
    return None


def make_notebooks(srcs: list[Path], *, force: bool, fast: bool, lang: str, out: Path | None = None) -> int:
    failed, t0 = [], time.time()
    for src in srcs:
        dst = out / f"{src.stem}.ipynb" if out else edition_path(src, "student", lang)
        why = "forced" if force else stale(dst, src, lang)
        if why is None and not fast:
            print(f"{_show(dst)}: up to date")
            continue
        try:
            build(src, dst, fast=fast, lang=lang)
        except Exception as e:                      # noqa: BLE001 (named at the end; the others still build)
            text = re.sub(r"\x1b\[[0-9;]*m", "", str(e))                     # no terminal colours
            lines = [line for line in text.splitlines() if line.strip() and not set(line) <= set("-")]
            print(f"{_show(dst)}: FAILED ({type(e).__name__}: {' | '.join(lines)[:600]})")
            failed.append(src.stem)
    print(f"notebooks: {time.time() - t0:.0f} s" + (f"; failed: {' '.join(failed)}" if failed else ""))
    return 1 if failed else 0


def make_instructor(srcs: list[Path], out: Path | None, lang: str) -> list[Path]:
    """Instructor editions: solutions in; the lecture's outputs copied from a current student edition."""
    written = []
    for src in srcs:
        nb = instructor_edition(parse_percent(src.read_text()))
        student = edition_path(src, "student", lang)
        fresh = student.exists() and stale(student, src, lang) in (None, "built in fast mode")
        end = exercise_start(nb)
        if fresh:
            done = {c.id: c for c in nbformat.read(student, as_version=4).cells}
            for cell in nb.cells[:end]:
                if cell.cell_type == "code" and cell.id in done:
                    cell.outputs, cell.execution_count = done[cell.id].outputs, done[cell.id].execution_count
        nb.metadata["minicog"] = {"source": str(src.relative_to(ROOT)), "source_sha256": source_hash(src, lang),
                                  "edition": "instructor", "language": lang, "outputs_from_student": fresh}
        dst = (out / f"{src.stem}.ipynb") if out else edition_path(src, "instructor", lang)
        relink(nb, dst.parent)
        dst.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, dst)
        written.append(dst)
    return written


def check(paths: list[Path]) -> list[str]:
    """Problems with committed student editions: stale, fast mode, over the size limits, widget cells
    without a static figure."""
    problems, total = [], 0
    for path in paths:
        total += path.stat().st_size
        why = stale(path, source_for(path.stem, _lang_of(path)), _lang_of(path))
        if why:
            problems.append(f"{path.relative_to(ROOT)}: {why} — run `make notebooks`")
        if path.stat().st_size > MAX_BYTES:
            problems.append(f"{path.relative_to(ROOT)}: {path.stat().st_size / 1e6:.2f} MB, over "
                            f"{MAX_BYTES / 1e6:g} MB: show fewer or smaller videos (width, frames) or figures")
        meta = nbformat.read(path, as_version=4).metadata.get("minicog", {})
        bare = [w["cell"] for w in meta.get("widgets", []) if not w["static"]]
        if bare:
            problems.append(f"{path.relative_to(ROOT)}: widget cells {bare} show nothing of their first state as an "
                            "ordinary output (docs/notebooks.md, 'For authors')")
    if total > MAX_TOTAL_BYTES:
        problems.append(f"all notebooks: {total / 1e6:.1f} MB, over {MAX_TOTAL_BYTES / 1e6:g} MB")
    return problems


def committed(lang: str | None = None) -> list[Path]:
    """The committed student editions of `lang` (None: of every language): notebooks/NN_*.ipynb (en),
    notebooks/LANG/NN_*.ipynb."""
    folder = ROOT / "notebooks"
    if lang is None:
        return sorted(folder.glob("[0-9][0-9]_*.ipynb")) + sorted(folder.glob("[a-z][a-z]/[0-9][0-9]_*.ipynb"))
    return sorted((folder if lang == "en" else folder / lang).glob("[0-9][0-9]_*.ipynb"))


def _lang_of(path: Path) -> str:
    return path.parent.name if path.parent.name != "notebooks" and len(path.parent.name) == 2 else "en"


def screenshot(page: Path, height: int) -> Path:
    """PAGE.png: the page as headless Chromium draws it (1100 px wide, `height` px tall)."""
    import shutil
    import subprocess

    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    png = page.with_suffix(".png")
    subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                    f"--window-size=1100,{height}", f"--screenshot={png}", page.resolve().as_uri()],
                   check=True, capture_output=True, timeout=180)
    return png


def write_index(pages: list[Path], out_dir: Path) -> Path:
    items = []
    for page in pages:
        src = SRC / f"{page.stem}.py"
        title = next((m.group(1) for m in [re.search(r"^# # (.+)$", src.read_text(), re.M)] if m), page.stem) \
            if src.exists() else page.stem
        items.append(f'<li><a href="{page.name}">{html_lib.escape(title)}</a></li>')
    index = out_dir / "index.html"
    index.write_text('<!doctype html><meta charset="utf-8"><title>minicog</title><h1>minicog: the course</h1>'
                     f"<ul>{''.join(items)}</ul>\n")
    return index


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    n = sub.add_parser("notebooks", help="the student editions (make notebooks)")
    n.add_argument("sources", nargs="*", type=Path)
    n.add_argument("--force", action="store_true", help="rebuild even if up to date")
    n.add_argument("--fast", action="store_true", help="MINICOG_FAST=1 (a smoke run; `check` flags the result)")
    n.add_argument("--lang", default="en")
    n.add_argument("--out", type=Path, help="write here instead of notebooks/ (e.g. a fast smoke run)")
    i = sub.add_parser("instructor", help="the instructor editions (make instructor)")
    i.add_argument("sources", nargs="*", type=Path)
    i.add_argument("--out", type=Path, help="folder (default coursework/instructor)")
    i.add_argument("--lang", default="en")
    b = sub.add_parser("build", help="one student edition, fast mode unless --full")
    b.add_argument("source", type=Path)
    b.add_argument("out", type=Path, nargs="?")
    b.add_argument("--full", action="store_true")
    c = sub.add_parser("check", help="stale / fast-mode / oversized committed notebooks")
    c.add_argument("notebooks", nargs="*", type=Path)
    d = sub.add_parser("drift", help="translated sources whose code cells are not the English source's")
    d.add_argument("sources", nargs="+", type=Path)
    h = sub.add_parser("html", help="static HTML of committed notebooks (no execution), figures counted")
    h.add_argument("notebooks", nargs="+", type=Path)
    h.add_argument("--out", type=Path, default=ROOT / "outputs" / "book")
    h.add_argument("--screenshot", type=int, metavar="HEIGHT", help="also PAGE.png, HEIGHT px tall (chromium)")
    a = p.parse_args(argv)

    if a.cmd == "notebooks":
        srcs = [s.resolve() for s in a.sources] or sources(a.lang)
        return make_notebooks(srcs, force=a.force, fast=a.fast, lang=a.lang, out=a.out and a.out.resolve())
    if a.cmd == "instructor":
        for path in make_instructor([s.resolve() for s in a.sources] or sources(a.lang), a.out, a.lang):
            print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
        return 0
    if a.cmd == "build":
        src = a.source.resolve()
        build(src, (a.out or edition_path(src, "student")).resolve(), fast=not a.full)
        return 0
    if a.cmd == "drift":
        problems = [p for src in a.sources for p in drift(src.resolve())]
        print("\n".join(problems) or "translations: the code cells are the English sources', in order")
        return 1 if problems else 0
    if a.cmd == "check":
        problems = check([n.resolve() for n in a.notebooks] or committed())
        print("\n".join(problems) or "notebooks: all built from their current sources, within the size limits")
        return 1 if problems else 0
    bad, pages = [], []
    for path in a.notebooks:
        page, want, got = render_html(path.resolve(), a.out)
        pages.append(page)
        print(f"{page}: {got} of {want} figures/videos" + ("" if got == want else "  MISSING"))
        if a.screenshot:
            print(f"  {screenshot(page, a.screenshot)}")
        if got != want:
            bad.append(path.name)
    print(f"book: {write_index(pages, a.out)}" + (f"; figures missing in: {' '.join(bad)}" if bad else ""))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
