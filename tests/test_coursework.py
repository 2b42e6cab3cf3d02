"""The graded exercises (docs/coursework.md): every instructor edition scores full marks, every
untouched student edition scores 0 (so every check can fail), and a student edition with one exercise
solved scores exactly that exercise — graded by nbgrader through tools/coursework.py, as
`make grade` does. Also: the checks' messages, and tools/nb.py's nbgrader markers."""
import importlib.util
import re
import sys
from pathlib import Path

import nbformat
import pytest
import torch

from minicog import coursework as cw

ROOT = Path(__file__).resolve().parents[1]
pytest.importorskip("nbgrader", reason="nbgrader is in requirements-dev.txt")


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module               # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


tool = _load("coursework")
nb_tool = _load("nb")
INSTRUCTOR = tool.instructor_notebooks()


def _ids(nb, kind):
    return [c.metadata["nbgrader"]["grade_id"] for c in nb.cells
            if c.metadata.get("nbgrader", {}).get(kind)]


@pytest.fixture(scope="module")
def student_editions(tmp_path_factory):
    return tool.make_student(INSTRUCTOR, tmp_path_factory.mktemp("student"))


def test_every_week_has_graded_exercises():
    assert [p.name[:2] for p in INSTRUCTOR] == [f"{i:02d}" for i in range(10)]
    counts = {p.name: len(_ids(nbformat.read(p, as_version=4), "grade")) for p in INSTRUCTOR}
    assert all(n >= 2 for n in counts.values()), counts
    assert sum(counts.values()) >= 25, counts


def test_student_editions_have_stubs_not_solutions(student_editions):
    for path in student_editions:
        text = path.read_text()
        assert "BEGIN SOLUTION" not in text, path
        nb = nbformat.read(path, as_version=4)
        stubs = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution")]
        assert stubs and all("raise NotImplementedError()" in c.source for c in stubs), path


def test_instructor_full_marks_and_student_zero(student_editions):
    """One grading run over all twenty editions, as `make grade NB="notebooks/*.ipynb ..."` does."""
    results = tool.grade(INSTRUCTOR + student_editions)
    for r in results[: len(INSTRUCTOR)]:
        failed = [(e.name, e.message) for e in r.exercises if not e.passed]
        assert r.points > 0 and r.score == r.points, (r.notebook, failed)
    for r in results[len(INSTRUCTOR):]:
        assert r.points > 0 and r.score == 0, (r.notebook, [e.name for e in r.exercises if e.passed])
        assert all("not written yet" in e.message for e in r.exercises), r.notebook


def test_one_exercise_solved_scores_exactly_it(student_editions, tmp_path, capsys):
    """Inject the instructor's solution of one exercise into a student edition; `make grade`'s table
    shows it passed, the rest failed, and its last line is the score."""
    name = "02_rectified_flow.ipynb"
    solution = nbformat.read(ROOT / "notebooks" / name, as_version=4)
    student = nbformat.read(next(p for p in student_editions if p.name == name), as_version=4)
    solved = "heun_step"
    src = next(c.source for c in solution.cells if c.metadata.get("nbgrader", {}).get("grade_id") == solved)
    for c in student.cells:
        if c.metadata.get("nbgrader", {}).get("grade_id") == solved:
            c.source = src
    path = tmp_path / name
    nbformat.write(student, path)
    assert tool.main(["grade", str(path)]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    rows = {line.split()[0]: line.split() for line in out if re.match(r"\s+\w+\s+\d+/\d+", line)}
    assert rows[solved][1:3] == ["2/2", "pass"], out
    assert all(r[2] == "FAIL" for k, r in rows.items() if k != solved), out
    assert out[-1] == "score: 2/5", out


def test_check_messages_name_the_case_and_the_difference():
    with pytest.raises(AssertionError, match=r"interpolate\(.*\): the result differs .* largest difference"):
        cw.check_interpolate(lambda x0, noise, t: t * x0 + (1 - t) * noise)
    with pytest.raises(AssertionError, match=r"has shape \(1, 2, 2\), expected \(1, 8, 8\)"):
        cw.check_frame_pack_mask(lambda text_mask, video_mask, tpf: torch.ones(1, 2, 2, dtype=torch.bool))
    with pytest.raises(AssertionError, match=r"latent_length\(1\): the result is 0, expected 1"):
        cw.check_latent_length(lambda frames: (frames - 1) // 4)
    with pytest.raises(AssertionError, match="not written yet"):
        cw.check_dag(lambda *a: (_ for _ in ()).throw(NotImplementedError()))
    with pytest.raises(AssertionError, match=r"raised ZeroDivisionError"):
        cw.check_rope_axis_dims(lambda d: 1 / 0)


def test_nb_markers_become_nbgrader_metadata():
    nb = nb_tool.parse_percent("# %% [markdown] [nbgrader locked id=exercises]\n# ## Ex\n"
                               "# %% [nbgrader solution id=f]\ndef f():\n    return 1\n"
                               "# %% [nbgrader check id=check_f points=2]\nassert f() == 1\n# %%\nx = 1\n")
    meta = [c.metadata.get("nbgrader") for c in nb.cells]
    assert meta[0]["locked"] and not meta[0]["grade"] and meta[0]["grade_id"] == "exercises"
    assert meta[1]["solution"] and meta[1]["grade_id"] == "f"
    assert meta[2]["grade"] and meta[2]["points"] == 2 and meta[2]["locked"]
    assert meta[3] is None
    with pytest.raises(ValueError, match="unknown nbgrader cell kind"):
        nb_tool.parse_percent("# %% [nbgrader answer id=f]\nx = 1\n")


def test_exercise_section_is_the_end_of_the_notebook():
    nb = nbformat.read(INSTRUCTOR[2], as_version=4)
    section = tool.exercise_section(nb)
    assert section.cells[0].metadata["nbgrader"]["grade_id"] == "exercises"
    assert len(section.cells) < len(nb.cells) and section.cells[-1].source == nb.cells[-1].source
