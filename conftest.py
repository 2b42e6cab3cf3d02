"""pytest's view of the two editions of the notebooks (docs/notebooks.md, "Tests").

nbval runs every notebook under `testpaths`: the student editions `notebooks/NN_*.ipynb` top to bottom
(their exercises unattempted: each check says so and the notebook runs on) and the instructor editions
`coursework/instructor/NN_*.ipynb` (`make instructor`; solutions in, so every check must pass). The
instructor edition's lecture cells are the student edition's cells, byte for byte
(tests/test_notebooks.py checks it), so they are run once, in the student edition: of an instructor
notebook only the graded-exercise section runs — the part that differs, and the part grading runs
alone. The translated student editions (`notebooks/ko/`) are treated the same way: their code cells are
the English edition's, byte for byte (`tools/nb.py drift`, tests/test_notebooks.py), so only their
exercise section runs. `NBVAL_INSTRUCTOR=full` runs the instructor and translated editions whole.
"""
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent
INSTRUCTOR = ROOT / "coursework" / "instructor"


def _exercises_only(path: Path) -> bool:
    """An instructor edition or a translated student edition (notebooks/LANG/NN_*.ipynb)."""
    return path.is_relative_to(INSTRUCTOR) or (path.parent.parent == ROOT / "notebooks" and len(path.parent.name) == 2)


def _exercise_start(nb) -> int | None:
    return next((i for i, c in enumerate(nb.cells)
                 if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "exercises"), None)


def pytest_collection_modifyitems(config, items):
    if os.environ.get("NBVAL_INSTRUCTOR") == "full":
        return
    keep, lecture = [], []
    for item in items:
        nb = getattr(item.parent, "nb", None)
        cell = getattr(item, "cell", None)
        if nb is None or cell is None or not _exercises_only(Path(str(item.path)).resolve()):
            keep.append(item)
            continue
        start = _exercise_start(nb)
        index = next(i for i, c in enumerate(nb.cells) if c is cell)
        (keep if start is None or index >= start else lecture).append(item)
    if lecture:
        config.hook.pytest_deselected(items=lecture)
        items[:] = keep
