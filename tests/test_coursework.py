"""The graded exercises (docs/coursework.md): every instructor edition scores full marks, every
untouched student edition scores 0 (so every check can fail), and a student edition with one exercise
solved scores exactly that exercise — graded by nbgrader through tools/coursework.py, as `make grade`
does. Also the checks themselves: their messages, an exercise not attempted yet (a note, or 0 points
under grading), an answer that only calls minicog's own function (rejected), and the grader's table
(messages whole)."""
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


nb_tool = _load("nb")
tool = _load("coursework")
SOURCES = nb_tool.sources()
LANGS = nb_tool.languages()                                     # notebooks/src/ko/, ...
CHECKS = sorted(n for n in dir(cw) if n.startswith("check_") and hasattr(getattr(cw, n), "exercise"))


def _ids(nb, kind):
    return [c.metadata["nbgrader"]["grade_id"] for c in nb.cells
            if c.metadata.get("nbgrader", {}).get(kind)]


@pytest.fixture(scope="module")
def editions(tmp_path_factory):
    """Both editions of every week, built from notebooks/src as `make instructor` and `make notebooks`
    build them (the student editions not executed: grading clears outputs anyway)."""
    out = tmp_path_factory.mktemp("editions")
    instructor, student = [], []
    for lang in ["en"] + LANGS:                       # the translated editions are graded the same way
        srcs = SOURCES if lang == "en" else nb_tool.sources(lang)
        instructor += nb_tool.make_instructor(srcs, out / "instructor" / lang, lang)
        for src in srcs:
            path = out / "student" / lang / f"{src.stem}.ipynb"
            path.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb_tool.student_edition(nb_tool.parse_percent(src.read_text())), path)
            student.append(path)
    return instructor, student


def test_every_week_has_graded_exercises_and_one_prediction():
    """At least two exercises a week and 30 in all, numbered in order; one "predict, then run" question
    a week (grade id `prediction`), its experiment in a later cell that shows it beside the guess."""
    assert [p.name[:2] for p in SOURCES] == [f"{i:02d}" for i in range(10)]
    counts = {}
    for p in SOURCES:
        nb = nb_tool.parse_percent(p.read_text())
        graded = _ids(nb, "grade")
        counts[p.name] = len([g for g in graded if g != "check_prediction"])
        assert graded.count("check_prediction") == 1, (p.name, graded)
        at = next(i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("grade_id") == "check_prediction")
        assert any("cw.show_prediction(prediction" in c.source for c in nb.cells[at + 1:]), p.name
        week = int(p.name[:2])
        numbers = [int(m) for m in re.findall(rf"\*\*Exercise {week}\.(\d+)", "\n".join(c.source for c in nb.cells))]
        assert numbers == list(range(1, len(numbers) + 1)) and len(numbers) == counts[p.name], (p.name, numbers)
    assert all(n >= 2 for n in counts.values()), counts
    assert sum(counts.values()) >= 30, counts
    total = sum(counts.values())                           # the counts the README and docs state
    assert f"({total} in all;" in (ROOT / "README.md").read_text()
    assert f"{total} exercises, " in (ROOT / "docs" / "coursework.md").read_text()


def test_instructor_full_marks_and_student_zero(editions):
    """One grading run over both editions of every week, in every language, as `make grade
    NB="coursework/instructor/*.ipynb notebooks/*.ipynb"` does; an unattempted exercise scores 0 and
    says so."""
    instructor, student = editions
    results = tool.grade(instructor + student)
    for r in results[: len(instructor)]:
        failed = [(e.name, e.message) for e in r.exercises if not e.passed]
        assert r.points > 0 and r.score == r.points, (r.notebook, failed)
    for r in results[len(instructor):]:
        assert r.points > 0 and r.score == 0, (r.notebook, [e.name for e in r.exercises if e.passed])
        assert all("not attempted" in e.message for e in r.exercises), r.notebook


def test_one_exercise_solved_scores_exactly_it(editions, tmp_path, capsys):
    """Inject the instructor's solution of one exercise into a student edition; `make grade`'s table
    shows it passed, the rest failed, and its last line is the score."""
    instructor, student = editions
    name = "02_rectified_flow.ipynb"
    solution = nbformat.read(next(p for p in instructor if p.name == name), as_version=4)
    nb = nbformat.read(next(p for p in student if p.name == name), as_version=4)
    solved = "heun_step"
    src = next(c.source for c in solution.cells if c.metadata.get("nbgrader", {}).get("grade_id") == solved)
    for c in nb.cells:
        if c.metadata.get("nbgrader", {}).get("grade_id") == solved:
            c.source = src
    path = tmp_path / name
    nbformat.write(nb, path)
    assert tool.main(["grade", str(path)]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    rows = {line.split()[0]: line.split() for line in out if re.match(r"\s+\w+\s+\d+/\d+", line)}
    assert rows[solved][1:3] == ["2/2", "pass"], out
    assert all(r[2] == "FAIL" for k, r in rows.items() if k != solved), out
    assert out[-1] == "score: 2/7", out


def test_check_messages_name_the_case_and_the_difference():
    with pytest.raises(AssertionError, match=r"interpolate\(.*\): the result differs .* largest difference"):
        cw.check_interpolate(lambda x0, noise, t: t * x0 + (1 - t) * noise)
    with pytest.raises(AssertionError, match=r"has shape \(1, 2, 2\), expected \(1, 8, 8\)"):
        cw.check_frame_pack_mask(lambda text_mask, video_mask, tpf: torch.ones(1, 2, 2, dtype=torch.bool))
    with pytest.raises(AssertionError, match=r"parse_caption\('.*'\): the result is wrong — background: got 'black', expected 'white'"):
        cw.check_parse_caption(lambda text: {"color": "red", "shape": "circle", "direction": "left",
                                             "background": "black"})
    with pytest.raises(AssertionError, match=r"raised ZeroDivisionError"):
        cw.check_patchify(lambda x, p, p_t: 1 / 0)


def _stub(*args, **kwargs):
    raise NotImplementedError()


def test_not_attempted_is_a_note_and_under_grading_zero(capsys, monkeypatch):
    """The stub raises NotImplementedError on the first case: outside grading the check prints that
    the exercise is not attempted yet and returns (the notebook runs on); under grading it fails."""
    monkeypatch.delenv("MINICOG_GRADING", raising=False)
    assert cw.check_dag(_stub) is None
    assert "dag: not attempted yet" in capsys.readouterr().out
    monkeypatch.setenv("MINICOG_GRADING", "1")
    with pytest.raises(AssertionError, match=r"dag: not attempted \(the function still raises NotImplementedError\)"):
        cw.check_dag(_stub)


def test_not_implemented_on_a_later_case_is_an_error(monkeypatch):
    monkeypatch.delenv("MINICOG_GRADING", raising=False)
    calls = []

    def partial(x0, noise, t):
        calls.append(t)
        if len(calls) > 1:
            raise NotImplementedError()
        return (1 - t) * x0 + t * noise
    with pytest.raises(AssertionError, match=r"interpolate\(.*, 1\): raised NotImplementedError"):
        cw.check_interpolate(partial)


def _forbidden_owner(fn):
    owner = sys.modules[fn.__module__]
    for part in fn.__qualname__.split(".")[:-1]:
        owner = getattr(owner, part)
    return owner, fn.__name__


@pytest.mark.parametrize("name", CHECKS)
def test_an_answer_that_calls_minicog_is_rejected(name):
    """Every check forbids minicog's own function: reached through its module (or class), imported
    into the answer's globals, or handed over as the answer itself."""
    check = getattr(cw, name)
    assert check.forbid, f"{name} forbids nothing"
    owner, attr = _forbidden_owner(check.forbid[0])

    def via_module(*args, **kwargs):
        return getattr(owner, attr)(*args, **kwargs)
    with pytest.raises(AssertionError, match="write it yourself, not call minicog's version"):
        check(via_module)
    imported = check.forbid[0]
    globs = {"imported": imported}
    via_global = eval("lambda *a, **k: imported(*a, **k)", globs)        # as `from minicog.x import f` makes it
    with pytest.raises(AssertionError, match="write it yourself"):
        check(via_global)
    assert globs["imported"] is imported                                 # put back afterwards
    if not isinstance(owner, type):                                      # a plain function: itself as the answer
        with pytest.raises(AssertionError, match="is minicog's own"):
            check(imported)
    assert getattr(owner, attr) is imported


def test_grader_messages_are_shown_whole():
    """A check's message ends with the expected value; the table keeps all of it."""
    msg = ("interpolate(tensor (3, 4, 5, 2, 2), tensor (3, 4, 5, 2, 2), tensor([0.1, 0.6, 0.9])): the result "
           "(a (B,) t must broadcast over all of x's other dimensions) differs from minicog's in 240 of 240 "
           "entries; largest difference 2.24 at index (1, 0, 0, 0, 0): got 0.0616773, expected -2.17879 "
           "(tolerance 1e-05 + 1e-05·|expected|)")
    assert len(msg) > 300
    table = tool.report([tool.Graded(Path("02.ipynb"), [tool.Exercise("interpolate", 0, 1, msg)])])
    assert msg in table and "expected -2.17879" in table
    assert table.splitlines()[-1] == "score: 0/1"


def test_exercise_section_is_the_end_of_the_notebook():
    nb = nb_tool.parse_percent(SOURCES[2].read_text())
    section = tool.exercise_section(nb)
    assert section.cells[0].metadata["nbgrader"]["grade_id"] == "exercises"
    assert len(section.cells) < len(nb.cells) and section.cells[-1].source == nb.cells[-1].source
