"""Grading of the notebooks' graded exercises, with nbgrader doing the work.

    python tools/coursework.py grade NB.ipynb [NB.ipynb ...]        # make grade NB=...

nbgrader's `autograde`, on the *exercise section* of each notebook only (from the cell with grade_id
"exercises" to the end; the section imports what it needs, so it runs alone in seconds and the lecture
above it is not re-run). The assignment's source is the instructor edition built from the notebook's
source, `notebooks/src/NAME.py` (same name, else the same week number): its check cells replace the
submission's, as nbgrader always does, so a student cannot edit a check into passing. Grading sets
MINICOG_GRADING=1, under which a check whose exercise is not attempted yet raises (0 points) instead
of only saying so. Prints one table per notebook (exercise, points, pass/FAIL, the check's whole
message on failure) and, as its last line, `score: X/Y` over all the notebooks given.

Everything happens in a temporary nbgrader course folder (its own gradebook database), so nothing
here needs an nbgrader course set up. The editions themselves are built by tools/nb.py
(`make notebooks`, `make instructor`); `docs/coursework.md` says why nbgrader.
"""
from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import nb as nbtool  # noqa: E402  (tools/nb.py: reads the sources, builds the editions)

SECTION_ID = nbtool.SECTION_ID           # grade_id of the section's first (locked markdown) cell
TIMEOUT = 300                            # seconds per cell when grading
GRADING_ENV = "MINICOG_GRADING"          # minicog.checking: a not-attempted exercise raises


def instructor_source(path: Path) -> nbformat.NotebookNode:
    """The instructor edition a submission is graded against, built from notebooks/src/NAME.py (same
    name, else the same week number)."""
    src = nbtool.source_for(path.stem)
    return nbtool.instructor_edition(nbtool.parse_percent(src.read_text()))


def _grade_id(cell) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def exercise_section(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of `nb` with only its graded-exercise section (all cells if it has no section marker)."""
    out = nbformat.from_dict(nb)
    start = next((i for i, c in enumerate(out.cells) if _grade_id(c) == SECTION_ID), 0)
    out.cells = out.cells[start:]
    return out


def _api(root: Path):
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config import Config

    config = Config()
    config.CourseDirectory.root = str(root)
    config.ExecutePreprocessor.timeout = TIMEOUT
    config.Execute.timeout = TIMEOUT
    logging.getLogger("traitlets").setLevel(logging.ERROR)
    return NbGraderAPI(CourseDirectory(config=config), config=config)


@contextlib.contextmanager
def _env(key: str, value: str):
    saved = os.environ.get(key)
    os.environ[key] = value
    try:
        yield
    finally:
        os.environ.pop(key) if saved is None else os.environ.__setitem__(key, saved)


@contextlib.contextmanager
def _quiet():
    """Keep the kernels' and the database's chatter (written straight to file descriptor 2) out of
    the report; shown again if nbgrader fails."""
    with tempfile.TemporaryFile("w+") as log:
        saved = os.dup(2)
        sys.stderr.flush()
        os.dup2(log.fileno(), 2)
        try:
            yield log
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)


def _check(result: dict, what: str) -> None:
    if not result.get("success"):
        raise RuntimeError(f"nbgrader {what} failed:\n{result.get('error') or ''}\n{result.get('log') or ''}")


# ----------------------------------------------------------------------------- grading

@dataclass
class Exercise:
    name: str
    score: float
    points: float
    message: str = ""

    @property
    def passed(self) -> bool:
        return self.score >= self.points


@dataclass
class Graded:
    notebook: Path
    exercises: list[Exercise] = field(default_factory=list)

    @property
    def score(self) -> float:
        return sum(e.score for e in self.exercises)

    @property
    def points(self) -> float:
        return sum(e.points for e in self.exercises)


def _message(cell) -> str:
    """The check's failure message: the last error's type and value (an AssertionError's text)."""
    for out in reversed(cell.get("outputs", [])):
        if out.get("output_type") == "error":
            if out["ename"] == "AssertionError" and out.get("evalue"):
                return out["evalue"]                    # the checks' own messages
            return out["ename"] + (f": {out['evalue']}" if out.get("evalue") else "")
    return "no output (did the cell run?)"


def grade(submissions: list[Path]) -> list[Graded]:
    """Autograde the exercise section of each submission against its instructor edition."""
    from nbgrader.api import Gradebook

    results = []
    with tempfile.TemporaryDirectory() as tmp, _quiet(), warnings.catch_warnings():
        warnings.simplefilter("ignore")                # SQLAlchemy's SAWarnings from nbgrader's gradebook
        root = Path(tmp)
        api = _api(root)
        for k, sub in enumerate(submissions):
            src = nbtool.source_for(sub.stem)
            assignment, student, fname = src.stem, f"s{k}", f"{src.stem}.ipynb"
            if not (root / "source" / assignment).exists():
                (root / "source" / assignment).mkdir(parents=True)
                nbformat.write(exercise_section(instructor_source(sub)), root / "source" / assignment / fname)
                _check(api.generate_assignment(assignment), f"generate_assignment {src}")
            folder = root / "submitted" / student / assignment
            folder.mkdir(parents=True)
            nbformat.write(exercise_section(nbformat.read(sub, as_version=4)), folder / fname)
            with _env(GRADING_ENV, "1"):              # the kernels inherit it
                _check(api.autograde(assignment, student), f"autograde {sub}")
            graded_nb = nbformat.read(root / "autograded" / student / assignment / fname, as_version=4)
            messages = {_grade_id(c): _message(c) for c in graded_nb.cells if _grade_id(c)}
            order = [_grade_id(c) for c in nbformat.read(root / "source" / assignment / fname, as_version=4).cells]
            with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
                snb = gb.find_submission_notebook(src.stem, assignment, student)
                grades = sorted(snb.grades, key=lambda g: order.index(g.name) if g.name in order else 1e9)
                rows = [Exercise(_exercise_name(g.name), float(g.score), float(g.max_score),
                                 messages.get(g.name, "") if g.score < g.max_score else "")
                        for g in grades]
            results.append(Graded(sub, rows))
    return results


def _exercise_name(grade_id: str) -> str:
    return grade_id.removeprefix("check_")


def _num(x: float) -> str:
    return f"{x:g}"


def report(results: list[Graded]) -> str:
    """One table per notebook; a failed check's message is shown whole (it ends with the expected
    value), on the exercise's row."""
    lines = []
    for r in results:
        lines.append(f"{r.notebook}  ({_num(r.score)}/{_num(r.points)})")
        w = max([len("exercise")] + [len(e.name) for e in r.exercises])
        lines.append(f"  {'exercise':<{w}}  points  result  message")
        for e in r.exercises:
            msg = " ".join(e.message.split())
            lines.append(f"  {e.name:<{w}}  {_num(e.score):>2}/{_num(e.points):<3}  "
                         f"{'pass' if e.passed else 'FAIL':<6}  {msg}")
    lines.append(f"score: {_num(sum(r.score for r in results))}/{_num(sum(r.points for r in results))}")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("grade", help="grade notebooks' exercises")
    g.add_argument("notebooks", nargs="+", type=Path)
    a = p.parse_args(argv)
    missing = [str(n) for n in a.notebooks if not n.exists()]
    if missing:
        p.error(f"no such notebook: {', '.join(missing)}")
    print(report(grade(a.notebooks)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
