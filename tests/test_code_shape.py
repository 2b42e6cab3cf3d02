"""The package's shape, as issue 38 set it: rooms that fit a screen, imports that point one way, lint.

- no module of minicog/ over 600 lines, no function over 80, none with more than 8 positional
  parameters (self/cls not counted; the rest keyword-only or grouped in a dataclass);
- generation (pipeline, cogvideox) does not import the edit path; the Shapes world does not import
  the text encoder; the VAE trainer does not import the DiT trainer; the paper's FlowDirector path
  does not import measurement code;
- `ruff check .` is clean (rules in pyproject.toml).
"""
from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "minicog"
MAX_MODULE_LINES, MAX_FUNCTION_LINES, MAX_POSITIONAL = 600, 80, 8


def _modules():
    return sorted(PACKAGE.rglob("*.py"))


def _functions(tree):
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node


def _positional(fn) -> int:
    names = [a.arg for a in fn.args.posonlyargs + fn.args.args]
    return len(names) - (1 if names and names[0] in ("self", "cls") else 0)


def test_modules_fit_a_screen():
    long = {str(p.relative_to(ROOT)): n for p in _modules()
            if (n := p.read_text().count("\n")) > MAX_MODULE_LINES}
    assert not long, f"modules over {MAX_MODULE_LINES} lines (split them by responsibility): {long}"


def test_functions_are_short_and_take_few_positional_parameters():
    long, wide = [], []
    for p in _modules():
        for fn in _functions(ast.parse(p.read_text())):
            where = f"{p.relative_to(ROOT)}:{fn.lineno} {fn.name}"
            if fn.end_lineno - fn.lineno + 1 > MAX_FUNCTION_LINES:
                long.append(f"{where} ({fn.end_lineno - fn.lineno + 1} lines)")
            if _positional(fn) > MAX_POSITIONAL:
                wide.append(f"{where} ({_positional(fn)} positional)")
    assert not long, f"functions over {MAX_FUNCTION_LINES} lines: {long}"
    assert not wide, (f"functions with more than {MAX_POSITIONAL} positional parameters (make the rest "
                      f"keyword-only after `*`, or group them in a dataclass): {wide}")


def _imported_after(module: str) -> set[str]:
    code = (f"import sys, {module}; print(' '.join(m for m in sys.modules if m.startswith('minicog')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    return set(out.stdout.split())


@pytest.mark.parametrize("module, forbidden", [
    ("minicog.pipeline", {"minicog.edit", "minicog.editing", "minicog.flowdirector", "minicog.edit_eval"}),
    ("minicog.cogvideox", {"minicog.edit", "minicog.editing", "minicog.flowdirector", "minicog.edit_eval"}),
    ("minicog.shapes", {"minicog.text_encoder"}),
    ("minicog.train_vae", {"minicog.train"}),
])
def test_imports_point_one_way(module, forbidden):
    loaded = _imported_after(module)
    assert not loaded & forbidden, f"importing {module} loads {sorted(loaded & forbidden)}"


def test_ruff_is_clean():
    ruff = shutil.which("ruff") or str(Path(sys.executable).parent / "ruff")
    if not Path(ruff).exists():
        pytest.skip("ruff is not installed (pip install -r requirements-dev.txt)")
    out = subprocess.run([ruff, "check", "--output-format", "concise", "."], capture_output=True,
                         text=True, cwd=ROOT)
    assert out.returncode == 0, f"ruff check . found problems:\n{out.stdout[-3000:]}{out.stderr[-1000:]}"
