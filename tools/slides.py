"""Slides for lecturing: one reveal.js page per week, from the committed notebooks (nothing executed).

    make slides                       python tools/slides.py notebooks/NN_*.ipynb --out outputs/slides
    make slides NB_LANG=ko            the Korean edition's notebooks (notebooks/ko/), when it exists

A notebook is a lecture, so its structure already says where a slide starts; this tool writes that
into the cells' `slideshow` metadata (in the exported copy only: the committed notebook is not
touched) and hands the copy to nbconvert's `SlidesExporter` (what `jupyter nbconvert --to slides`
runs):

* a markdown cell that opens with a `#` or `##` heading starts a new slide (a section of the week);
* a `###` heading starts a sub-slide (reveal.js's vertical slides: one idea of the section);
* a code cell whose outputs show a figure or a video starts a sub-slide when the current slide already
  shows one, so that a slide holds one idea and its figure;
* everything else continues the current slide (the takeaway under its figure, the code that made it);
* the graded exercises are homework, not lecture: their heading is kept as the last slide, the
  exercises themselves are skipped.

Slides scroll where a cell is taller than the screen (`reveal_scroll`). reveal.js itself is loaded
from nbconvert's default address (a CDN) unless `--reveal` names a local copy (e.g. a folder served
next to the pages, for a classroom without internet).
"""
from __future__ import annotations

import argparse
import copy
import html as html_lib
import re
import sys
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent))
import nb as nb_tool  # noqa: E402  (tools/nb.py: the media count and the exercise section)

ROOT = nb_tool.ROOT
HEADING = re.compile(r"^\s*(#{1,3})\s")


def slide_types(nb: nbformat.NotebookNode) -> list[str]:
    """reveal.js slide type per cell: "slide", "subslide", "-" (continue) or "skip"."""
    end = nb_tool.exercise_start(nb)
    types, has_media = [], False
    for i, cell in enumerate(nb.cells):
        if end is not None and i > end:
            types.append("skip")
            continue
        m = HEADING.match(cell.source) if cell.cell_type == "markdown" else None
        media = cell.cell_type == "code" and sum(nb_tool.count_media(o) for o in cell.outputs) > 0
        if m or (end is not None and i == end):
            kind = "subslide" if m and len(m.group(1)) == 3 else "slide"
            has_media = False
        elif media and has_media:
            kind = "subslide"
        else:
            kind = "-"
        has_media = has_media or media
        types.append("slide" if i == 0 else kind)
    return types


def with_slides(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    out = copy.deepcopy(nb)
    for cell, kind in zip(out.cells, slide_types(nb)):
        cell.metadata["slideshow"] = {"slide_type": kind}
    return out


def export(path: Path, out_dir: Path, reveal: str | None = None) -> tuple[Path, int, int, int]:
    """NN_name.slides.html in out_dir -> (page, slides, figures/videos in the lecture, in the page)."""
    from nbconvert import SlidesExporter

    nb = with_slides(nbformat.read(path, as_version=4))
    exporter = SlidesExporter(reveal_scroll=True, **({"reveal_url_prefix": reveal} if reveal else {}))
    body, _ = exporter.from_notebook_node(nb)
    out_dir.mkdir(parents=True, exist_ok=True)
    page = out_dir / f"{path.stem}.slides.html"
    page.write_text(body)
    kept = [c for c in nb.cells if c.metadata["slideshow"]["slide_type"] != "skip"]
    want = sum(nb_tool.count_media(o) for c in kept if c.cell_type == "code" for o in c.outputs)
    slides = sum(c.metadata["slideshow"]["slide_type"] in ("slide", "subslide") for c in kept)
    return page, slides, want, nb_tool.media_in_html(body)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("notebooks", nargs="+", type=Path)
    p.add_argument("--out", type=Path, default=ROOT / "outputs" / "slides")
    p.add_argument("--reveal", help="where reveal.js is loaded from (default: nbconvert's CDN address)")
    a = p.parse_args(argv)
    bad, items = [], []
    for path in a.notebooks:
        page, slides, want, got = export(path.resolve(), a.out, a.reveal)
        print(f"{page}: {slides} slides, {got} of {want} figures/videos" + ("" if got == want else "  MISSING"))
        items.append(f'<li><a href="{page.name}">{html_lib.escape(path.stem)}</a> ({slides} slides)</li>')
        if got != want:
            bad.append(path.name)
    index = a.out / "index.html"
    index.write_text('<!doctype html><meta charset="utf-8"><title>minicog slides</title>'
                     f"<h1>minicog: slides</h1><ul>{''.join(items)}</ul>\n")
    print(f"slides: {index}" + (f"; figures missing in: {' '.join(bad)}" if bad else ""))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
