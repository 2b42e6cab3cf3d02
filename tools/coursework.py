"""Student editions and grading of the notebooks' graded exercises, with nbgrader doing the work.

    python tools/coursework.py student [NB.ipynb ...] [--out coursework/student]   # make coursework
    python tools/coursework.py grade NB.ipynb [NB.ipynb ...]                        # make grade NB=...

`student`: nbgrader's `generate_assignment` on each instructor notebook (notebooks/NN_*.ipynb): every
solution becomes `raise NotImplementedError()`, outputs are cleared, the check cells are locked.

`grade`: nbgrader's `autograde`, on the *exercise section* of each notebook only (from the cell with
grade_id "exercises" to the end; the section imports what it needs, so it runs alone in seconds and
the lecture above it is not re-run). The instructor notebook of the same name (or the same week
number) is the source: its check cells replace the submission's, as nbgrader always does. Prints one
table per notebook (exercise, points, pass/fail, the check's message on failure) and, as its last
line, `score: X/Y` over all the notebooks given.

Everything happens in a temporary nbgrader course folder (its own gradebook database), so nothing
here needs an nbgrader course set up. `docs/coursework.md` says why nbgrader.
"""
from __future__ import annotations

import argparse
import contextlib
import logging
import os
import re
import shutil
import sys
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
SECTION_ID = "exercises"                 # grade_id of the section's first (locked markdown) cell
TIMEOUT = 300                            # seconds per cell when grading


def instructor_notebooks() -> list[Path]:
    return sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))


def instructor_for(path: Path) -> Path:
    """The instructor edition a submission is graded against: same file name, else same week number."""
    same = NOTEBOOKS / path.name
    if same.exists():
        return same
    m = re.match(r"(\d\d)", path.name)
    found = sorted(NOTEBOOKS.glob(f"{m.group(1)}_*.ipynb")) if m else []
    if len(found) != 1:
        raise SystemExit(f"{path}: cannot tell which week's notebook this is; name it like "
                         f"notebooks/NN_name.ipynb (e.g. {instructor_notebooks()[0].name})")
    return found[0]


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


# ----------------------------------------------------------------------------- student editions

def make_student(notebooks: list[Path], out: Path) -> list[Path]:
    """nbgrader generate_assignment on each instructor notebook -> out/NAME.ipynb."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    with tempfile.TemporaryDirectory() as tmp, _quiet():
        root = Path(tmp)
        api = _api(root)
        for nb_path in notebooks:
            name = nb_path.stem
            (root / "source" / name).mkdir(parents=True)
            shutil.copy(nb_path, root / "source" / name / nb_path.name)
            _check(api.generate_assignment(name), f"generate_assignment {nb_path}")
            dst = out / nb_path.name
            shutil.copy(root / "release" / name / nb_path.name, dst)
            dst.chmod(0o644)
            written.append(dst)
    return written


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
            src = instructor_for(sub)
            assignment, student, fname = src.stem, f"s{k}", src.name
            if not (root / "source" / assignment).exists():
                (root / "source" / assignment).mkdir(parents=True)
                nbformat.write(exercise_section(nbformat.read(src, as_version=4)),
                               root / "source" / assignment / fname)
                _check(api.generate_assignment(assignment), f"generate_assignment {src}")
            folder = root / "submitted" / student / assignment
            folder.mkdir(parents=True)
            nbformat.write(exercise_section(nbformat.read(sub, as_version=4)), folder / fname)
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


def report(results: list[Graded], width: int = 160) -> str:
    lines = []
    for r in results:
        lines.append(f"{r.notebook}  ({_num(r.score)}/{_num(r.points)})")
        w = max([len("exercise")] + [len(e.name) for e in r.exercises])
        lines.append(f"  {'exercise':<{w}}  points  result  message")
        for e in r.exercises:
            msg = " ".join(e.message.split())
            msg = msg if len(msg) <= width else msg[: width - 1] + "…"
            lines.append(f"  {e.name:<{w}}  {_num(e.score):>2}/{_num(e.points):<3}  "
                         f"{'pass' if e.passed else 'FAIL':<6}  {msg}")
    lines.append(f"score: {_num(sum(r.score for r in results))}/{_num(sum(r.points for r in results))}")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("student", help="write the student editions")
    s.add_argument("notebooks", nargs="*", type=Path, help="instructor notebooks (default: all)")
    s.add_argument("--out", type=Path, default=ROOT / "coursework" / "student")
    g = sub.add_parser("grade", help="grade notebooks' exercises")
    g.add_argument("notebooks", nargs="+", type=Path)
    g.add_argument("--width", type=int, default=160, help="longest message shown per exercise")
    a = p.parse_args(argv)
    if a.cmd == "student":
        for path in make_student(a.notebooks or instructor_notebooks(), a.out):
            print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
        return 0
    missing = [str(n) for n in a.notebooks if not n.exists()]
    if missing:
        p.error(f"no such notebook: {', '.join(missing)}")
    print(report(grade(a.notebooks), a.width))
    return 0


if __name__ == "__main__":
    sys.exit(main())
