"""Every graded exercise's check fails on a plausible wrong answer, with a message that names the case
and says what differs (or what the mistake is), and on the untouched stub under grading.

The wrong answers live in tests/wrong_answers/weekNN.py, one file per week beside
minicog/coursework/weekNN.py: `WRONG = {exercise: [(answer, what it gets wrong, regex of the message)]}`.
docs/coursework.md lists them ("The exercises", its column "rejects")."""
import importlib.util
from pathlib import Path

import pytest

from minicog import coursework as cw

HERE = Path(__file__).resolve().parent / "wrong_answers"
EXERCISES = sorted(getattr(cw, n).exercise for n in dir(cw)
                   if n.startswith("check_") and hasattr(getattr(cw, n), "exercise"))


def _load(path: Path) -> dict:
    spec = importlib.util.spec_from_file_location(f"wrong_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.WRONG


WRONG = {name: answers for path in sorted(HERE.glob("week*.py")) for name, answers in _load(path).items()}
CASES = [(name, i) for name in sorted(WRONG) for i in range(len(WRONG[name]))]


def test_every_exercise_has_a_wrong_answer():
    assert sorted(WRONG) == EXERCISES, (sorted(set(EXERCISES) - set(WRONG)), sorted(set(WRONG) - set(EXERCISES)))


@pytest.mark.parametrize("name,i", CASES, ids=[f"{n}-{i}" for n, i in CASES])
def test_a_plausible_wrong_answer_fails_with_a_helpful_message(name, i, monkeypatch):
    monkeypatch.delenv("MINICOG_GRADING", raising=False)
    answer, mistake, message = WRONG[name][i]
    with pytest.raises(AssertionError, match=message) as failed:
        getattr(cw, f"check_{name}")(answer)
    text = str(failed.value)
    assert name in text.split(":")[0] or "(" in text.split(":")[0], (mistake, text)   # names the case
    assert "not attempted" not in text, (mistake, text)


@pytest.mark.parametrize("name", EXERCISES)
def test_the_stub_scores_zero_under_grading(name, monkeypatch):
    def stub(*args, **kwargs):
        raise NotImplementedError()
    monkeypatch.setenv("MINICOG_GRADING", "1")
    with pytest.raises(AssertionError, match="not attempted"):
        getattr(cw, f"check_{name}")(stub)


def test_a_prediction_is_graded_on_being_answered(monkeypatch, capsys):
    def stub():
        raise NotImplementedError()
    monkeypatch.delenv("MINICOG_GRADING", raising=False)
    cw.check_prediction(stub)
    assert not cw.show_prediction(stub, 3.25, "drift (px)")         # the measurement stays hidden
    out = capsys.readouterr().out
    assert "not answered yet" in out and "3.25" not in out
    cw.check_prediction(lambda: 0.5)                                 # wrong or right: answered
    assert cw.show_prediction(lambda: 0.5, 3.25, "drift (px)")
    assert "you predicted 0.5 — measured 3.25" in capsys.readouterr().out
    with pytest.raises(AssertionError, match=r"return one of \['faster', 'slower'\], got 'quicker'"):
        cw.check_prediction(lambda: "quicker", ("faster", "slower"))
    with pytest.raises(AssertionError, match="return a number, got 'ten'"):
        cw.check_prediction(lambda: "ten")
    monkeypatch.setenv("MINICOG_GRADING", "1")
    with pytest.raises(AssertionError, match="prediction: not attempted"):
        cw.check_prediction(stub)
