"""What every graded exercise's check shares (the checks themselves are `minicog.coursework`).

- `exercise(name, reference, forbid=...)` makes a function `check(fn)` a check: it runs the cases,
  prints `✓ name: N cases agree with REFERENCE` on success, and handles an exercise nobody has
  written yet: the stub's `raise NotImplementedError()` on the first case means *not attempted*.
  Outside grading the check then prints that and returns (so a fresh student notebook runs to its
  end); under grading (`MINICOG_GRADING=1`, set by `tools/coursework.py grade`) it raises, so the
  exercise scores 0.
- `call(fn, where, *args)` calls the student's function on copies of the inputs; its exceptions
  become AssertionErrors naming the case. While it runs, the package functions the exercise asks the
  student to write themselves (`forbid`) raise instead: an answer that only calls minicog's own
  function fails, saying so.
- `assert_close(got, want, where)` compares an output with minicog's (type, length, shape, dtype,
  then the largest difference, where it is and both values there); `assert_close_or_mistake` adds,
  when the output equals a likely mistake's, what that mistake gets wrong (`matching_mistake`).

A check returns None: nbgrader would read a number a graded cell returns as a partial score.
"""
from __future__ import annotations

import contextlib
import contextvars
import functools
import math
import os
import sys
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator

import numpy as np
import torch

GRADING_ENV = "MINICOG_GRADING"             # set (to 1) while tools/coursework.py grades a notebook


def grading() -> bool:
    return os.environ.get(GRADING_ENV, "") not in ("", "0")


# ----------------------------------------------------------------------------- describing a case

def _describe(v: Any) -> str:
    """A short description of an argument for messages: tensors by shape, numbers by value."""
    if isinstance(v, torch.Tensor):
        if v.numel() > 4:
            return f"tensor {tuple(v.shape)}"
        vals = v.tolist() if v.dtype == torch.bool or not v.is_floating_point() else \
            torch.round(v.double() * 1e4).div(1e4).tolist()
        return f"tensor({vals})"
    if isinstance(v, np.ndarray):
        return f"array {v.shape} {v.dtype}"
    if callable(v) and not isinstance(v, (int, float, str)):
        return getattr(v, "__name__", type(v).__name__)
    if isinstance(v, float):
        return f"{v:g}"
    return repr(v)


def case(name: str, *args, **kwargs) -> str:
    """`name(arg, ..., key=value)` with arguments described briefly: the case a message refers to."""
    parts = [_describe(a) for a in args] + [f"{k}={_describe(v)}" for k, v in kwargs.items()]
    return f"{name}({', '.join(parts)})"


# ----------------------------------------------------------------------------- running a check

class NotAttempted(Exception):
    """The student's function is still the stub (it raised NotImplementedError on the first case)."""


class _UsedMinicog(BaseException):
    """Raised by a forbidden package function; a BaseException, so `except Exception` in the
    student's code does not swallow it."""


@dataclass
class _Check:
    name: str
    forbid: tuple[Callable, ...]
    first: bool = True
    slots: list[tuple[Any, str, Any]] = field(default_factory=list)    # (namespace, name, function)


_current: contextvars.ContextVar[_Check | None] = contextvars.ContextVar("minicog_check", default=None)


def _qualified(fn: Callable) -> str:
    return f"{fn.__module__}.{fn.__qualname__}"


def _slots(targets: tuple[Callable, ...], student: Callable) -> list[tuple[Any, str, Any]]:
    """Every place a forbidden function can be reached from, as (namespace, name, function): its own
    module or class, every loaded minicog module that re-exports it, and the student's globals
    (`from minicog.x import f`). A namespace is a dict, or a class (set with setattr)."""
    spaces: list[Any] = [vars(m) for name, m in list(sys.modules.items())
                         if m is not None and (name == "minicog" or name.startswith("minicog."))]
    for fn in targets:
        owner = sys.modules[fn.__module__]
        for part in fn.__qualname__.split(".")[:-1]:           # a method: its class
            owner = getattr(owner, part)
        if isinstance(owner, type):
            spaces.append(owner)
    user = getattr(student, "__globals__", None)
    if isinstance(user, dict):
        spaces.append(user)
    found, seen = [], set()
    for space in spaces:
        items = space.items() if isinstance(space, dict) else vars(space).items()
        for key, value in list(items):
            if any(value is fn for fn in targets) and (id(space), key) not in seen:
                seen.add((id(space), key))
                found.append((space, key, value))
    return found


def _put(space: Any, key: str, value: Any) -> None:
    if isinstance(space, dict):
        space[key] = value
    else:
        setattr(space, key, value)


def _trap(fn: Callable) -> Callable:
    def trap(*args, **kwargs):
        raise _UsedMinicog(f"your function calls minicog's own {_qualified(fn)} — this exercise asks you "
                           "to write it yourself, not call minicog's version (the check compares "
                           "against it)")
    return trap


@contextlib.contextmanager
def _forbidden(state: _Check | None) -> Iterator[None]:
    """While the student's function runs, the forbidden functions raise wherever they are reached."""
    slots = state.slots if state is not None else []
    for space, key, original in slots:
        _put(space, key, _trap(original))
    try:
        yield
    finally:
        for space, key, original in slots:
            _put(space, key, original)


def _unwrap(fn: Any) -> Any:
    """A partial's function or a bound method's function: what an answer that only re-exports
    minicog's function is made of."""
    for _ in range(5):
        inner = getattr(fn, "func", None) or getattr(fn, "__func__", None)
        if inner is None:
            return fn
        fn = inner
    return fn


def exercise(name: str, reference: str, forbid: tuple[Callable, ...] = ()) -> Callable:
    """Decorator: `check(fn) -> int` (the number of cases) becomes the exercise's check (see the
    module docstring). `forbid`: minicog's functions (or methods) the student must not call."""
    def decorate(check: Callable[[Callable], int]) -> Callable[[Callable], None]:
        @functools.wraps(check)
        def run(fn: Callable) -> None:
            if not callable(fn):
                raise AssertionError(f"{name}: expected your function, got {type(fn).__name__} "
                                     f"({_describe(fn)}); pass the function itself, e.g. check_{name}({name})")
            if any(_unwrap(fn) is f for f in forbid):
                raise AssertionError(f"{name}: your {name} is minicog's own {_qualified(_unwrap(fn))} — "
                                     "this exercise asks you to write it yourself")
            state = _Check(name, tuple(forbid))
            state.slots = _slots(state.forbid, fn)
            token = _current.set(state)
            try:
                n = check(fn)
            except NotAttempted as e:
                if grading():
                    raise AssertionError(f"{name}: not attempted (the function still raises "
                                         "NotImplementedError)") from None
                print(f"○ {e}")
                return None
            finally:
                _current.reset(token)
            print(f"✓ {name}: {n} cases agree with {reference}")
            return None
        run.exercise, run.forbid = name, tuple(forbid)
        return run
    return decorate


def _copy(v: Any) -> Any:
    """Inputs are copied before the student's function sees them, so an in-place edit cannot change
    what minicog's reference is given."""
    if isinstance(v, (torch.Tensor, np.ndarray)):
        return v.copy() if isinstance(v, np.ndarray) else v.clone()
    return v


def call(fn: Callable, where: str, *args, **kwargs) -> Any:
    """Call the student's function; an exception becomes an AssertionError that names the case."""
    state = _current.get()
    first = state is not None and state.first
    if state is not None:
        state.first = False
    try:
        with _forbidden(state):
            return fn(*[_copy(a) for a in args], **{k: _copy(v) for k, v in kwargs.items()})
    except NotImplementedError:
        if first:
            raise NotAttempted(f"{state.name}: not attempted yet — replace the `raise NotImplementedError()` "
                               "line of the cell above with your code, run that cell, then this one") from None
        raise AssertionError(f"{where}: raised NotImplementedError — your function must handle this "
                             "case too") from None
    except _UsedMinicog as e:
        raise AssertionError(f"{where}: {e}") from None
    except AssertionError:
        raise
    except Exception as e:                                          # noqa: BLE001 (reported, not hidden)
        raise AssertionError(f"{where} raised {type(e).__name__}: {e}") from None


# ----------------------------------------------------------------------------- comparing outputs

def assert_close(got: Any, want: Any, where: str, what: str = "the result",
                 atol: float = 1e-5, rtol: float = 1e-5) -> None:
    """Compare a student's output with minicog's: type, length, shape, then values (the largest
    difference, where it is and both values there). Tensors, arrays, numbers, strings, tuples, dicts."""
    if isinstance(want, (tuple, list)):
        if not isinstance(got, (tuple, list)) or len(got) != len(want):
            n = len(got) if isinstance(got, (tuple, list)) else None
            raise AssertionError(f"{where}: {what} should be a tuple of {len(want)} values, got "
                                 + (f"{n} values" if n is not None else f"a {type(got).__name__}"))
        for i, (g, w) in enumerate(zip(got, want)):
            assert_close(g, w, where, f"{what}[{i}]", atol, rtol)
        return
    if isinstance(want, dict):
        _assert_dict_equal(got, want, where, what)
        return
    if isinstance(want, (torch.Tensor, np.ndarray)):
        _assert_array_close(got, want, where, what, atol, rtol)
        return
    if isinstance(want, (int, float)) and not isinstance(want, bool):
        if isinstance(got, torch.Tensor) and got.numel() == 1:
            got = got.item()
        if not isinstance(got, (int, float, np.number)) or isinstance(got, bool):
            raise AssertionError(f"{where}: {what} should be a number ({want!r}), got {got!r}")
        if not math.isclose(float(got), float(want), rel_tol=rtol, abs_tol=atol):
            raise AssertionError(f"{where}: {what} is {got!r}, expected {want!r} "
                                 f"(off by {float(got) - float(want):+.3g})")
        return
    if got != want:
        raise AssertionError(f"{where}: {what} is {got!r}, expected {want!r}")



def matching_mistake(got: Any, want: torch.Tensor, mistakes: Iterable[tuple[torch.Tensor | None, str]],
                     atol: float = 1e-5, rtol: float = 1e-5) -> str | None:
    """Which likely mistake a wrong output is: the text of the first `(output, what it gets wrong)` of
    `mistakes` whose output `got` equals (an output may be None: a mistake that cannot run here).
    Mistakes whose output equals `want` in this case are passed over: they are no evidence."""
    if not isinstance(got, torch.Tensor):
        return None
    g, w = got.detach().double().cpu(), want.detach().double().cpu()
    for alt, why in mistakes:
        if alt is None or tuple(alt.shape) != tuple(g.shape):
            continue
        a = alt.detach().double().cpu()
        if a.shape == w.shape and torch.allclose(a, w, atol=atol, rtol=rtol):
            continue
        if torch.allclose(g, a, atol=atol, rtol=rtol):
            return why
    return None


def assert_close_or_mistake(got: Any, want: torch.Tensor, where: str, what: str,
                            mistakes: Iterable[tuple[torch.Tensor | None, str]],
                            atol: float = 1e-5, rtol: float = 1e-5) -> None:
    """`assert_close`; when it fails and `got` is a likely mistake's output (`matching_mistake`), the
    message ends with what that mistake gets wrong."""
    try:
        assert_close(got, want, where, what, atol, rtol)
    except AssertionError as failed:
        why = matching_mistake(got, want, mistakes, atol, rtol)
        if why is None:
            raise
        raise AssertionError(f"{failed} — {why}") from None

def _assert_dict_equal(got, want, where, what):
    if not isinstance(got, dict):
        raise AssertionError(f"{where}: {what} should be a dict like {want}, got {got!r}")
    wrong = {k: (got.get(k, "<missing>"), v) for k, v in want.items() if got.get(k, "<missing>") != v}
    extra = sorted(set(got) - set(want))
    if wrong or extra:
        detail = "; ".join(f"{k}: got {g!r}, expected {w!r}" for k, (g, w) in wrong.items())
        if extra:
            detail += ("; " if detail else "") + f"unexpected keys {extra}"
        raise AssertionError(f"{where}: {what} is wrong — {detail}")


def _assert_array_close(got, want, where, what, atol, rtol):
    is_np = isinstance(want, np.ndarray)
    kind = "numpy array" if is_np else "torch tensor"
    if not isinstance(got, np.ndarray if is_np else torch.Tensor):
        raise AssertionError(f"{where}: {what} should be a {kind} of shape {tuple(want.shape)}, "
                             f"got {type(got).__name__}")
    if tuple(got.shape) != tuple(want.shape):
        raise AssertionError(f"{where}: {what} has shape {tuple(got.shape)}, expected {tuple(want.shape)}")
    g = torch.as_tensor(np.asarray(got)) if is_np else got.detach().cpu()
    w = torch.as_tensor(np.asarray(want)) if is_np else want.detach().cpu()
    if w.dtype == torch.bool:
        if g.dtype != torch.bool:
            raise AssertionError(f"{where}: {what} should be a boolean mask (dtype bool), got {g.dtype}")
        bad = g != w
        if bad.any():
            idx = tuple(int(i) for i in bad.nonzero()[0])
            raise AssertionError(f"{where}: {what} differs in {int(bad.sum())} of {w.numel()} entries; "
                                 f"first at index {idx}: got {bool(g[idx])}, expected {bool(w[idx])}")
        return
    if g.dtype == torch.bool or g.is_complex() != w.is_complex():
        raise AssertionError(f"{where}: {what} has dtype {g.dtype}, expected {w.dtype}")
    g, w = g.double(), w.double()
    if w.numel() == 0:
        return
    if torch.isnan(g).any() and not torch.isnan(w).any():
        idx = tuple(int(i) for i in torch.isnan(g).nonzero()[0])
        raise AssertionError(f"{where}: {what} contains NaN (first at index {idx})")
    diff = (g - w).abs().nan_to_num(0.0)
    bad = diff > atol + rtol * w.abs()
    if bad.any():
        flat = int((diff * bad).flatten().argmax())
        idx = tuple(int(i) for i in np.unravel_index(flat, tuple(w.shape)))
        raise AssertionError(
            f"{where}: {what} differs from minicog's in {int(bad.sum())} of {w.numel()} entries; "
            f"largest difference {float(diff.max()):.3g} at index {idx}: got {float(g[idx]):.6g}, "
            f"expected {float(w[idx]):.6g} (tolerance {atol:g} + {rtol:g}·|expected|)")


# ----------------------------------------------------------------------------- predict, then run

def _prediction(prediction: Callable[[], Any]) -> Any:
    """The student's prediction, or None while the function is still the stub."""
    if not callable(prediction):
        raise AssertionError(f"prediction: expected your function, got {type(prediction).__name__}; "
                             "pass the function itself, e.g. check_prediction(prediction)")
    try:
        return prediction()
    except NotImplementedError:
        return None


def check_prediction(prediction: Callable[[], Any], kind: str = "a number") -> None:
    """A "predict, then run" question: graded only on being answered (any `kind` value counts, right or
    wrong); `show_prediction` then prints the experiment's result beside it. `kind`: "a number", or
    the choices, e.g. ("faster", "slower")."""
    value = _prediction(prediction)
    if value is None:
        if grading():
            raise AssertionError("prediction: not attempted (the function still raises NotImplementedError "
                                 "or returns None)")
        print("○ prediction: not answered yet — write your guess in the cell above, run it, then this one")
        return
    if isinstance(kind, str):
        if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
            raise AssertionError(f"prediction: return {kind}, got {value!r}")
    elif value not in kind:
        raise AssertionError(f"prediction: return one of {list(kind)}, got {value!r}")
    print(f"✓ prediction recorded: {value!r} (graded on being answered; the next cell runs the experiment)")


def show_prediction(prediction: Callable[[], Any], measured: Any, what: str) -> bool:
    """Print the student's prediction beside the measured `what`; while there is no prediction, say
    so and keep the measurement hidden (a committed notebook does not give the answer away).
    Returns whether the measurement was shown."""
    value = _prediction(prediction)
    if value is None:
        print(f"○ {what}: write your prediction first (the cell above); this cell then shows the "
              "measurement beside it")
        return False
    show = f"{measured:.3g}" if isinstance(measured, float) else str(measured)
    print(f"{what}: you predicted {value!r} — measured {show}")
    return True
