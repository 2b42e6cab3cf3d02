"""The checks of the notebooks' graded exercises: one `check_<exercise>` per exercise, one module per week.

Each week's notebook ends with exercises in which the student writes a piece of that week's lecture
(the rectified-flow step, the causal padding, the Frame Pack mask, ...). A check calls the student's
function on random inputs and edge cases, calls minicog's own implementation on the same inputs, and
raises AssertionError with a message that says which case, which output and by how much they differ.
On success it prints one line; on an exercise not attempted yet (the stub still raises
NotImplementedError) it says so and returns, except under grading, where that scores 0. An answer that
only calls minicog's own function fails. `minicog.checking` holds what the checks share.

    from minicog import coursework as cw
    cw.check_interpolate(interpolate)          # AssertionError: interpolate(x0 (2, 3), ...) ...

`docs/coursework.md` lists the exercises and how they are graded (nbgrader).
"""
from __future__ import annotations

from ..checking import assert_close, call, case, check_prediction, show_prediction
from . import week00, week01, week02, week03, week04, week05, week06, week07, week08, week09
from .week00 import *  # noqa: F403
from .week01 import *  # noqa: F403
from .week02 import *  # noqa: F403
from .week03 import *  # noqa: F403
from .week04 import *  # noqa: F403
from .week05 import *  # noqa: F403
from .week06 import *  # noqa: F403
from .week07 import *  # noqa: F403
from .week08 import *  # noqa: F403
from .week09 import *  # noqa: F403

# re-exported for the notebooks' own checks and "predict, then run" questions, then every week's checks
__all__ = ["assert_close", "call", "case", "check_prediction", "show_prediction"] + [
    name for week in (week00, week01, week02, week03, week04, week05, week06, week07, week08, week09)
    for name in week.__all__]
