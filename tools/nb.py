"""Notebook authoring tool (for maintainers, not students).

    python tools/nb.py build notebooks/src/NAME.py notebooks/NAME.ipynb   # script -> executed notebook
    python tools/nb.py run notebooks/NAME.ipynb            # re-execute in fast mode and re-save

SRC.py uses `# %%` for code cells and `# %% [markdown]` for markdown cells (markdown lines start
with `# `). A graded exercise's cells carry nbgrader's cell metadata, written on the `# %%` line:
`[nbgrader solution id=NAME]` (the student's function, its answer between `### BEGIN SOLUTION` and
`### END SOLUTION`), `[nbgrader check id=NAME points=N]` (the check, graded) and
`[nbgrader locked id=NAME]` (read-only); see docs/coursework.md. The notebook is executed with MINICOG_FAST=1; then outputs are kept only for cells that
contain `# NBVAL_CHECK_OUTPUT` (deterministic text output that nbval compares), so committed
notebooks stay small and students see fresh outputs when they run them. Cell ids are hashes of the
cells' text, so a rebuild changes only the ids of cells that changed.
"""
from __future__ import annotations

import hashlib
import os
import re
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient


NBGRADER = {  # kind -> nbgrader cell metadata (nbgrader's schema 3)
    "solution": dict(solution=True, grade=False, locked=False),
    "check": dict(solution=False, grade=True, locked=True),
    "locked": dict(solution=False, grade=False, locked=True),
}


def nbgrader_metadata(line: str) -> dict | None:
    """`# %% ... [nbgrader KIND id=NAME points=N]` -> the cell's `nbgrader` metadata, or None."""
    m = re.search(r"\[nbgrader (\w+)((?:\s+\w+=[^\s\]]+)*)\]", line)
    if not m:
        return None
    if m.group(1) not in NBGRADER:
        raise ValueError(f"unknown nbgrader cell kind {m.group(1)!r} in {line!r}: use {list(NBGRADER)}")
    args = dict(a.split("=", 1) for a in m.group(2).split())
    meta = dict(NBGRADER[m.group(1)], grade_id=args["id"], schema_version=3, task=False)
    if meta["grade"]:
        meta["points"] = float(args.get("points", 1))
    return meta


def parse_percent(src: str) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    cells = []
    kind, buf, meta = None, [], None

    def flush():
        if kind is None:
            return
        text = "\n".join(buf).strip("\n")
        extra = {"nbgrader": meta} if meta else {}
        if kind == "markdown":
            text = "\n".join(re.sub(r"^# ?", "", l) for l in text.splitlines())
            cells.append(nbformat.v4.new_markdown_cell(text, metadata=extra))
        elif text.strip():
            cells.append(nbformat.v4.new_code_cell(text, metadata=extra))

    for line in src.splitlines():
        if line.startswith("# %%"):
            flush()
            kind = "markdown" if "[markdown]" in line else "code"
            meta = nbgrader_metadata(line)
            # `# %% NBVAL_CHECK_OUTPUT` (or NBVAL_SKIP, ...) becomes the cell's first line
            marks = re.findall(r"NBVAL_[A-Z_]+", line)
            buf = [f"# {m}" for m in marks] if kind == "code" else []
        else:
            buf.append(line)
    flush()
    # stable cell ids (nbformat 4.5): a hash of the cell's kind and text, so rebuilding a notebook
    # changes only the ids of the cells that changed, and diffs stay readable
    seen: dict[str, int] = {}
    for cell in cells:
        h = hashlib.sha1(f"{cell.cell_type}\n{cell.source}".encode()).hexdigest()[:12]
        seen[h] = seen.get(h, 0) + 1
        cell.id = h if seen[h] == 1 else f"{h}-{seen[h]}"
    nb.cells = cells
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    return nb


def execute(nb: nbformat.NotebookNode, cwd: Path) -> float:
    os.environ["MINICOG_FAST"] = "1"
    t0 = time.time()
    NotebookClient(nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(cwd)}}).execute()
    return time.time() - t0


def strip(nb: nbformat.NotebookNode) -> None:
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        if "NBVAL_CHECK_OUTPUT" not in cell.source:
            cell.outputs = []
            cell.execution_count = None      # nbval only compares cells that were run
        cell.metadata.pop("execution", None)
    nb.metadata.pop("widgets", None)


def main(argv):
    if len(argv) >= 3 and argv[0] == "build":
        src, dst = Path(argv[1]), Path(argv[2])
        nb = parse_percent(src.read_text())
    elif len(argv) >= 2 and argv[0] == "run":
        dst = Path(argv[1])
        nb = nbformat.read(dst, as_version=4)
    else:
        print(__doc__)
        return 2
    secs = execute(nb, dst.parent.resolve())
    strip(nb)
    nbformat.write(nb, dst)
    print(f"{dst}: executed in {secs:.1f}s (fast mode), {dst.stat().st_size/1024:.1f} KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
