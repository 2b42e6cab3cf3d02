"""What a newcomer meets on the command line (`python -m minicog.generate`), on the shipped tiny model:
the defaults --help states, a prompt without a background, a --steps far past the model's, a long
prompt, and a prompt of unknown words. Small clips (1 frame, 32 px, 1–2 steps) keep each run short."""
import re

import pytest

from minicog import shapes
from minicog.generate import complete_background, main
from minicog.utils import asset_folder, read_json
from minicog.video import load_video

TINY = asset_folder("tiny") / "pipeline.json"
pytestmark = pytest.mark.skipif(not TINY.is_file(), reason="needs the shipped tiny model (assets/tiny)")
SMALL = ["--frames", "1", "--size", "32"]


def test_help_states_the_shipped_models_own_defaults(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--help"])
    assert e.value.code == 0
    text = " ".join(capsys.readouterr().out.split())            # argparse wraps lines
    cfg = read_json(TINY)
    for flag, value in (("--guidance", f"{cfg['guidance']:g}"), ("--steps", str(cfg["steps"])),
                        ("--method", cfg["method"]), ("--frames", str(cfg["frames"])), ("--size", str(cfg["size"]))):
        assert re.search(rf"{flag} \S+ .*?default: the model's, {value} for tiny", text), flag
    assert "default 4)" not in text


@pytest.mark.parametrize("prompt, expected", [
    ("a red square moving left", "a red square moving left on a black background"),
    ("a red square moving left and a blue circle moving up ",
     "a red square moving left and a blue circle moving up on a black background"),
    ("왼쪽으로 움직이는 빨간 정사각형", "검정 배경 위에서 왼쪽으로 움직이는 빨간 정사각형"),
    ("a red square moving left on a white background", None),      # names one: unchanged
    ("흰색 배경 위에서 왼쪽으로 움직이는 빨간 원", None),
    ("xyzzy", None),                                               # names nothing: refused later
])
def test_a_prompt_without_background_is_completed_as_training_captions_read(prompt, expected):
    full = complete_background(prompt)
    assert full == (expected or prompt)
    if expected:
        assert shapes.parse_caption(full).background == "black"   # a caption the world reads


def test_cli_completes_the_background_and_says_so(tmp_path, capsys):
    out = tmp_path / "v.gif"
    assert main(["a blue triangle moving up", "--render", "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert "note: the prompt names no background" in captured.err
    assert "'a blue triangle moving up on a black background'" in captured.err
    assert "on a black background" in captured.out                # the written file's prompt
    assert shapes.read_scene(load_video(out)).background == "black"
    # through the model too (a Shapes-world vocabulary), and silent when the prompt names one
    assert main(["a blue triangle moving up", "--steps", "1", *SMALL, "--out", str(out)]) == 0
    assert "on a black background" in capsys.readouterr().out
    assert main(["a blue triangle moving up on a gray background", "--steps", "1", *SMALL, "--out", str(out)]) == 0
    assert "note:" not in capsys.readouterr().err


def test_many_steps_are_warned_with_their_time_before_sampling(tmp_path, capsys, monkeypatch):
    """--steps 100000 used to start a 24-minute run without a word: the warning comes first, with an
    estimate from a timed step, and Ctrl-C (here: raised by the sampler) ends cleanly, no file."""
    from minicog.pipeline import Pipeline

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt
    monkeypatch.setattr(Pipeline, "generate", interrupted)
    out = tmp_path / "v.gif"
    with pytest.raises(SystemExit) as e:
        main(["a red circle moving left on a black background", "--steps", "100000", "--out", str(out)])
    assert e.value.code == 130
    err = capsys.readouterr().err
    steps = read_json(TINY)["steps"]
    assert f"warning: --steps 100000 is {100000 / steps:.3g}x the {steps} steps" in err
    ms = float(re.search(r"One step takes (\d+) ms", err).group(1))
    assert ms > 0
    assert re.search(r"about \d+(\.\d)? (min|h) ", err), err          # ≥ 1 ms a step: minutes at least
    assert "stopped; no file written" in err and not out.exists()


def test_the_models_own_steps_are_not_warned(tmp_path, capsys):
    steps = read_json(TINY)["steps"]
    assert main(["a red circle moving left on a black background", "--steps", str(steps - 18), *SMALL,
                 "--out", str(tmp_path / "v.gif")]) == 0
    assert "--steps" not in capsys.readouterr().err


def test_long_prompt_warning_does_not_repeat_the_prompt(tmp_path, capsys):
    prompt = " ".join(["a red circle moving left on a black background"] * 4)   # 36 words
    assert main([prompt, "--steps", "1", *SMALL, "--out", str(tmp_path / "v.gif")]) == 0
    warning = [line for line in capsys.readouterr().err.splitlines() if "words: keeping the first" in line]
    assert len(warning) == 1, warning
    assert warning[0].startswith("warning: a prompt of 36 words: keeping the first 23")
    assert prompt not in warning[0] and len(warning[0]) < 140


def test_no_known_word_error_gives_a_command_line_hint(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        main(["xyzzy plugh", "--out", str(tmp_path / "v.gif")])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert "knows no word of the prompt 'xyzzy plugh'" in err and "circle" in err   # the vocabulary
    assert 'python -m minicog.generate "a red circle moving left on a black background"' in err
    assert "--help" in err and "unconditional=True" not in err                       # no Python hint
    assert not (tmp_path / "v.gif").exists()
