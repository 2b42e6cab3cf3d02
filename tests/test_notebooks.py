"""The notebook pipeline (tools/nb.py, docs/notebooks.md): the committed student editions are built from
their current sources, in full mode, within the size limits, without solutions, and every figure and
video of theirs survives a static HTML export; the instructor editions differ from them only in the
exercise section; a rebuild of an unchanged source gives the same bytes. nbval itself (pyproject's
testpaths) runs both editions."""
import importlib.util
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
pytest.importorskip("jupytext", reason="jupytext is in requirements-dev.txt")
pytest.importorskip("nbgrader", reason="nbgrader is in requirements-dev.txt")


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


nb_tool = _load("nb")
COMMITTED = nb_tool.committed("en")
SOURCES = nb_tool.sources()
EVERY = nb_tool.committed()                             # every student edition, notebooks/ko/ included
LANGS = nb_tool.languages()


def _id(path):
    return f"{path.parent.name}/{path.stem}" if path.parent.name != "notebooks" else path.stem


def _read(path):
    return nbformat.read(path, as_version=4)


# ----------------------------------------------------------------------------- committed student editions

def test_every_source_has_its_notebook_and_back():
    assert [p.stem for p in COMMITTED] == [s.stem for s in SOURCES]
    assert len(SOURCES) == 10


@pytest.mark.parametrize("path", EVERY, ids=_id)
def test_committed_notebook_is_built_from_its_current_source(path):
    lang = nb_tool._lang_of(path)
    why = nb_tool.stale(path, nb_tool.source_for(path.stem, lang), lang)
    make = "make notebooks" + ("" if lang == "en" else f" NB_LANG={lang}")
    assert why is None, f"{path.relative_to(ROOT)}: {why} — run `{make}` and commit the result"


@pytest.mark.parametrize("lang", LANGS)
def test_every_week_has_its_translation_and_code_never_drifts(lang):
    """A translated edition covers every week, its sources keep the English code cells byte for byte
    and in order (only markdown is translated), and each has its committed notebook."""
    translated = nb_tool.sources(lang)
    assert [s.stem for s in translated] == [s.stem for s in SOURCES]
    problems = [p for src in translated for p in nb_tool.drift(src)]
    assert not problems, "\n".join(problems)
    built = nb_tool.committed(lang)
    assert [p.stem for p in built] == [s.stem for s in SOURCES], f"run `make notebooks NB_LANG={lang}`"
    for path in built:                                   # its markdown is in that language, not English
        text = " ".join(c.source for c in _read(path).cells if c.cell_type == "markdown")
        if lang == "ko":
            hangul = sum("\uac00" <= ch <= "\ud7a3" for ch in text)
            assert hangul > 0.3 * sum(ch.isalpha() for ch in text), f"{path.name}: markdown mostly not Korean"


def test_a_translation_that_changes_code_is_named(tmp_path):
    src = nb_tool.source_for("01")
    bad = tmp_path / src.name
    bad.write_text(src.read_text().replace("import torch\n", "import torch  # changed\n", 1))
    problems = nb_tool.drift(bad)
    assert problems and "translate markdown only" in problems[0]


@pytest.mark.parametrize("lang", ["en"] + LANGS)
def test_committed_notebooks_fit_the_size_limits(lang):
    edition = nb_tool.committed(lang)
    sizes = {str(p.relative_to(ROOT)): p.stat().st_size for p in edition}
    big = {k: f"{v / 1e6:.2f} MB" for k, v in sizes.items() if v > nb_tool.MAX_BYTES}
    assert not big, f"over {nb_tool.MAX_BYTES / 1e6:g} MB each: {big}"
    assert sum(sizes.values()) <= nb_tool.MAX_TOTAL_BYTES, f"{sum(sizes.values()) / 1e6:.1f} MB in all"


@pytest.mark.parametrize("path", EVERY, ids=_id)
def test_prediction_experiment_keeps_its_result_hidden(path):
    """The committed student edition runs each week's predict-then-run experiment without a prediction:
    its cell prints only that the prediction comes first, no number and no figure."""
    nb = _read(path)
    cells = [c for c in nb.cells if c.cell_type == "code" and "cw.show_prediction(prediction" in c.source]
    assert len(cells) == 1, path
    outs = cells[0].outputs
    assert [o.get("output_type") for o in outs] == ["stream"], outs
    assert outs[0]["text"].count("\n") == 1 and "write your prediction first" in outs[0]["text"], outs


@pytest.mark.parametrize("path", EVERY, ids=_id)
def test_committed_notebook_is_the_student_edition(path):
    """No solution anywhere in the file; every exercise a stub; every check cell, as run by the build,
    says the exercise is not attempted yet, or the prediction not answered yet (and so did not stop the
    notebook)."""
    text = path.read_text()
    assert "BEGIN SOLUTION" not in text and "END SOLUTION" not in text
    nb = _read(path)
    stubs = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution")]
    assert stubs and all("raise NotImplementedError()" in c.source for c in stubs)
    checks = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]
    if nb.metadata.get("minicog", {}).get("edition") == "student":      # executed by tools/nb.py
        outs = {c.metadata["nbgrader"]["grade_id"]: "".join(o.get("text", "") for o in c.outputs) for c in checks}
        assert all(("not answered yet" if k == "check_prediction" else "not attempted yet") in o
                   for k, o in outs.items()), outs


@pytest.mark.parametrize("path", EVERY, ids=_id)
def test_static_html_shows_every_figure_and_video(path, tmp_path):
    """nbconvert's HTML of the committed notebook, not executed: every image output and every inline
    GIF/video of an HTML output is in the page; widget cells showed their first state as a figure."""
    page, want, got = nb_tool.render_html(path, tmp_path)
    assert got == want, f"{page.name}: {got} figures/videos in the page, {want} in the notebook"
    if _read(path).metadata.get("minicog", {}).get("edition") == "student":
        assert want > 0, "an executed lecture with no figure"


@pytest.mark.parametrize("path", EVERY, ids=_id)
def test_widget_demos_show_their_first_state(path):
    """Widget state is not committed, so a static renderer shows a widget demo only through the ordinary
    outputs of its cell: each demo cell must have one (its first figure, video or print-out)."""
    bare = [w["cell"] for w in _read(path).metadata.get("minicog", {}).get("widgets", []) if not w["static"]]
    assert not bare, (f"widget cells {bare} show nothing of their first state as an ordinary output "
                      "(docs/notebooks.md, 'For authors')")


# ----------------------------------------------------------------------------- the two editions

@pytest.mark.parametrize("src", SOURCES, ids=lambda p: p.stem)
def test_editions_differ_only_in_the_exercise_solutions(src):
    """The instructor and student editions of a source have the same cells, code identical up to the
    exercise section (so nbval runs the lecture once, in the student edition: conftest.py), and in it
    only the solution cells differ — by their stubs."""
    nb = nb_tool.parse_percent(src.read_text())
    student, instructor = nb_tool.student_edition(nb), nb_tool.instructor_edition(nb)
    start = nb_tool.exercise_start(nb)
    assert start is not None, f"{src.name}: no `[nbgrader locked id=exercises]` heading"
    assert len(student.cells) == len(instructor.cells)
    for i, (s, t) in enumerate(zip(student.cells, instructor.cells)):
        solution = t.metadata.get("nbgrader", {}).get("solution")
        if solution:
            assert i > start and "### BEGIN SOLUTION" in t.source and "raise NotImplementedError()" in s.source
        else:
            assert (s.source, s.id) == (t.source, t.id), f"{src.name} cell {i}"


def test_instructor_editions_are_built_and_current():
    """`make test` builds coursework/instructor/ first (`make instructor`); nbval then runs it."""
    built = sorted(nb_tool.INSTRUCTOR.glob("[0-9][0-9]_*.ipynb"))
    assert [p.stem for p in built] == [s.stem for s in SOURCES], "run `make instructor` (make test does)"
    for path in built:
        meta = _read(path).metadata.get("minicog", {})
        assert meta.get("source_sha256") == nb_tool.source_hash(nb_tool.source_for(path.stem)), \
            f"{path.relative_to(ROOT)} is older than its source: run `make instructor`"
        assert "### BEGIN SOLUTION" in path.read_text()


def test_instructor_edition_keeps_the_lecture_outputs_and_links(tmp_path):
    src = nb_tool.source_for("01")
    (out,) = nb_tool.make_instructor([src], tmp_path, "en")
    nb, student = _read(out), _read(nb_tool.edition_path(src, "student"))
    fresh = nb_tool.stale(nb_tool.edition_path(src, "student"), src) in (None, "built in fast mode")
    assert nb.metadata["minicog"]["outputs_from_student"] == fresh
    if fresh:
        assert nb_tool.media_in_notebook(nb) == nb_tool.media_in_notebook(student) > 0
    start = nb_tool.exercise_start(nb)
    assert not any(c.get("outputs") for c in nb.cells[start:])          # no "not attempted" print-outs
    text = "".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert "](../docs/" not in text or "](../../docs/" in text


# ----------------------------------------------------------------------------- reading sources

def test_markers_become_nbgrader_metadata_and_nbval_tags():
    nb = nb_tool.parse_percent("# %% [markdown] [nbgrader locked id=exercises]\n# ## Ex\n"
                               "# %% [nbgrader solution id=f]\ndef f():\n    return 1\n"
                               "# %% [nbgrader check id=check_f points=2]\nassert f() == 1\n"
                               "# %%  NBVAL_CHECK_OUTPUT\nprint(1)\n# %%\nx = 1\n")
    meta = [c.metadata.get("nbgrader") for c in nb.cells]
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source == "## Ex"
    assert meta[0]["locked"] and not meta[0]["grade"] and meta[0]["grade_id"] == "exercises"
    assert meta[1]["solution"] and meta[1]["grade_id"] == "f"
    assert meta[2]["grade"] and meta[2]["points"] == 2 and meta[2]["locked"]
    assert nb.cells[3].metadata == {"tags": ["nbval-check-output"]} and nb.cells[3].source == "print(1)"
    assert nb.cells[4].metadata == {}
    assert len({c.id for c in nb.cells}) == 5


@pytest.mark.parametrize("bad, error", [("# %% [nbgrader answer id=f]\nx = 1\n", "unknown nbgrader marker"),
                                        ("# %% [nbgrader solution]\nx = 1\n", "has no id"),
                                        ("# %% my title\nx = 1\n", "unexpected text on the `# %%` line")])
def test_bad_markers_are_named(bad, error):
    with pytest.raises(ValueError, match=error):
        nb_tool.parse_percent(bad)


def test_every_source_reads_into_cells():
    """jupytext reads every source into markdown and code cells, no `# %%` left inside a cell."""
    for src in SOURCES:
        nb = nb_tool.parse_percent(src.read_text())
        kinds = {c.cell_type for c in nb.cells}
        assert kinds == {"markdown", "code"}, src.name
        assert not any(line.startswith("# %%") for c in nb.cells for line in c.source.splitlines()), src.name


def test_count_media_follows_what_a_static_renderer_shows():
    png = {"output_type": "display_data", "data": {"image/png": "iVBOR", "text/plain": "<Figure>"}}
    gifs = {"output_type": "display_data", "data": {"text/html": '<img src="data:image/gif;base64,R0l"/>'
                                                    '<img src="data:image/gif;base64,R0l"/>', "text/plain": "x"}}
    text = {"output_type": "stream", "name": "stdout", "text": "data:image/ is not shown"}
    assert [nb_tool.count_media(o) for o in (png, gifs, text)] == [1, 2, 0]


# ----------------------------------------------------------------------------- a build, twice

BUILD_SRC = '''# %% [markdown]
# # A tiny lecture
# %%
import numpy as np
import matplotlib.pyplot as plt
import torch
from minicog import video
print("noise", np.random.rand(2), torch.rand(2))
from tqdm.auto import tqdm
for _ in tqdm(range(3)):                       # a notebook progress bar: a widget, but not a demo
    pass
# %%
plt.imshow(np.random.rand(8, 8)); plt.show()
# %%
import ipywidgets as widgets
s = widgets.IntSlider(value=1)
display(s)
_ = video.show_video(np.random.randint(0, 255, (3, 8, 8, 3), dtype=np.uint8), ["a clip"])
# %% [markdown] [nbgrader locked id=exercises]
# ## Graded exercises
# %% [nbgrader solution id=f]
def f():
    ### BEGIN SOLUTION
    return 1
    ### END SOLUTION
# %% [nbgrader check id=check_f points=1]
try:
    f()
except NotImplementedError:
    print("f: not attempted yet")
'''


def test_rebuild_of_an_unchanged_source_is_byte_identical(tmp_path):
    """Unseeded randomness, a progress bar, a matplotlib figure, a widget and a GIF: two builds, the same
    bytes; no timestamps, no widget state, no PNG text chunk; the widget demo's GIF is its static
    output, the progress bar is no demo."""
    src = tmp_path / "src" / "00_tiny.py"
    src.parent.mkdir()
    src.write_text(BUILD_SRC)
    first, second = tmp_path / "a" / "00_tiny.ipynb", tmp_path / "b" / "00_tiny.ipynb"
    nb_tool.build(src, first, fast=True)
    nb_tool.build(src, second, fast=True)
    assert first.read_bytes() == second.read_bytes()
    nb = _read(first)
    text = first.read_text()
    assert "execution" not in {k for c in nb.cells for k in c.metadata} and "widgets" not in nb.metadata
    assert nb_tool.WIDGET_MIME not in text
    pngs = [o.data["image/png"] for c in nb.cells if c.cell_type == "code" for o in c.outputs
            if "image/png" in o.get("data", {})]
    assert len(pngs) == 1 and nb_tool._png_without_text(pngs[0]) == pngs[0]
    assert nb.metadata["minicog"]["widgets"] == [{"cell": nb.cells[3].id, "static": 1}]
    assert "raise NotImplementedError()" in nb.cells[5].source
    assert "not attempted yet" in nb.cells[6].outputs[0].text


# ----------------------------------------------------------------------------- slides (tools/slides.py)

def test_slide_types_follow_the_lecture_structure():
    slides = _load("slides")
    fig = {"output_type": "display_data", "data": {"image/png": "iVBORw0KGgo="}, "metadata": {}}
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# Week 1 — title"),
        nbformat.v4.new_code_cell("import torch"),
        nbformat.v4.new_markdown_cell("## 1. A section"),
        nbformat.v4.new_code_cell("plot()", outputs=[nbformat.from_dict(fig)]),
        nbformat.v4.new_markdown_cell("The takeaway under the figure."),
        nbformat.v4.new_code_cell("plot_again()", outputs=[nbformat.from_dict(fig)]),
        nbformat.v4.new_markdown_cell("### 1b. One idea of the section"),
        nbformat.v4.new_markdown_cell("## Graded exercises", metadata={"nbgrader": {"grade_id": "exercises"}}),
        nbformat.v4.new_code_cell("def answer(): ..."),
    ])
    assert slides.slide_types(nb) == ["slide", "-", "slide", "-", "-", "subslide", "subslide", "slide", "skip"]


def test_slides_of_a_committed_week_keep_every_figure(tmp_path):
    slides = _load("slides")
    path = ROOT / "notebooks" / "01_dit.ipynb"
    page, n_slides, want, got = slides.export(path, tmp_path)
    body = page.read_text()
    assert want > 0 and got == want, f"{got} of {want} figures/videos in {page.name}"
    assert n_slides >= 1 + sum(c.source.lstrip().startswith("## ") for c in _read(path).cells
                               if c.cell_type == "markdown")
    assert "reveal" in body.lower() and "cw.check_" not in body     # the exercises and their checks left out


FORBIDDEN_TERMS = {"휜": "Heun 방법", "시간 이동": "타임스텝 시프트", "Shapes 세계": "도형 세계"}   # docs/glossary.md


@pytest.mark.parametrize("src", SOURCES + [s for lang in LANGS for s in nb_tool.sources(lang)],
                         ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_one_korean_term_per_idea(src):
    text = src.read_text()
    wrong = {bad: good for bad, good in FORBIDDEN_TERMS.items() if bad in text}
    assert not wrong, f"{src.relative_to(ROOT)}: write {wrong} (docs/glossary.md)"
