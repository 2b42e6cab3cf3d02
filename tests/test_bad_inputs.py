"""Every ordinary mistake gets a clear error that names the cause, and leaves no file behind
(the CLI, `Pipeline.generate`, `Pipeline.edit`, video writing, broken or missing weights)."""
import os
import shutil
import stat
import warnings

import numpy as np
import pytest

from minicog import generate, load_pipeline, shapes, video
from minicog.flowdirector import DAG, DirectionAware, MotionGate, VelocityMask
from minicog.pipeline import Pipeline
from minicog.utils import asset_folder

PROMPT = "a red circle moving left on a black background"


@pytest.fixture(scope="module")
def pipe():
    return load_pipeline("tiny", device="cpu")


def run_cli(args, capsys):
    with pytest.raises(SystemExit) as e:
        generate.main(args)
    assert e.value.code == 2
    return capsys.readouterr().err


@pytest.mark.parametrize("args,cause", [
    (["--seed", str(2**70)], "seed must be an integer in \\[0, 2\\*\\*64\\)"),
    (["--fps", "0"], "fps must be a number of frames per second"),
    (["--fps", "-3"], "fps must be a number of frames per second"),
    (["--guidance", "nan"], "guidance must be a finite number"),
    (["--frames", "0"], "frames must be 1\\+4k"),
    (["--frames", "8"], "frames must be 1\\+4k"),
    (["--size", "60"], "multiple of 16"),
    (["--steps", "0"], "steps must be an integer >= 1"),
    (["--model", "no/such/folder"], "no pipeline named 'no/such/folder'"),
    (["--device", "tpu"], "unknown device 'tpu'"),
])
def test_cli_bad_arguments(tmp_path, capsys, args, cause):
    out = tmp_path / "v.gif"
    err = run_cli([PROMPT, "--out", str(out), "--steps", "1", *args], capsys)
    assert err.count("\n") <= 3 and "Traceback" not in err
    import re
    assert re.search(cause, err), err
    assert list(tmp_path.iterdir()) == []                         # nothing written


def test_cli_out_is_a_folder(tmp_path, capsys):
    (tmp_path / "clip.gif").mkdir()
    err = run_cli([PROMPT, "--out", str(tmp_path / "clip.gif")], capsys)
    assert "is a folder" in err
    err = run_cli([PROMPT, "--out", str(tmp_path / "clip.avi")], capsys)
    assert "must end in .gif or .mp4" in err


def test_cli_missing_model_fails_and_says_how_to_get_it(tmp_path, capsys, monkeypatch):
    # a copy of the repo's assets without the DiT: 'tiny' must fail, not fall back to the renderer
    fake = tmp_path / "assets"
    shutil.copytree(asset_folder("tiny"), fake / "tiny")
    (fake / "tiny" / "pipeline.json").unlink()
    monkeypatch.setattr("minicog.utils.ASSETS", fake)
    err = run_cli([PROMPT, "--out", str(tmp_path / "v.gif")], capsys)
    assert "tiny model is missing" in err and "git checkout -- assets/tiny" in err and "--render" in err
    assert not (tmp_path / "v.gif").exists()


def test_cli_render_is_explicit_and_help_lists_the_words(tmp_path, capsys):
    assert generate.main([PROMPT, "--render", "--out", str(tmp_path / "r.gif")]) == 0
    assert shapes.read_attributes(video.load_video(tmp_path / "r.gif"))["color"] == "red"
    with pytest.raises(SystemExit):
        generate.main(["--help"])
    text = capsys.readouterr().out
    assert "words the tiny model knows" in text and "triangle" in text and "--frames" in text


def test_outputs_get_the_usual_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        path = video.save_video(shapes.render("red", "circle", "left", "black", rng=0), tmp_path / "v.gif")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


@pytest.mark.parametrize("kw,cause", [
    (dict(seed="abc"), "seed must be an integer"), (dict(seed=1.5), "seed must be an integer"),
    (dict(seed=-1), "seed must be an integer"), (dict(seed=[0, 2**64]), "seed must be an integer"),
    (dict(guidance="high"), "guidance must be a finite number"), (dict(prompt=None), "prompt must be a string"),
    (dict(prompt=[]), "non-empty list"), (dict(frames=0), "frames must be 1\\+4k"),
    (dict(size=0), "multiple of 16"), (dict(shift=0.0), "shift must be a finite number > 0"),
])
def test_generate_rejects_bad_arguments(pipe, kw, cause):
    args = dict(prompt=PROMPT, steps=1)
    args.update(kw)
    with pytest.raises(ValueError, match=cause):
        pipe.generate(**args)


@pytest.mark.parametrize("kw,cause", [
    (dict(method="magic"), "unknown editing method 'magic'"),
    (dict(n_steps=3), "unknown edit settings fields \\['n_steps'\\]"),
    (dict(use_mask=True, method="flowedit"), "unknown edit settings fields \\['use_mask'\\]"),   # no switches
    (dict(n_max=0), "n_max must lie in"),
    (dict(tar_guidance=float("nan")), "tar_guidance must be a finite number"),
    (dict(source_prompt=None), "source_prompt must be a string"),
    # each method runs only itself: FlowDirector's parts, even None, are refused by the others
    (dict(method="flowedit", mask=None), "mask= is a FlowDirector option: method 'flowedit'"),
    (dict(method="flowedit", mask=VelocityMask(), dag=DAG()), "mask=, dag= are FlowDirector options"),
    (dict(method="random_noise", dag=DAG()), "dag= is a FlowDirector option: method 'random_noise'"),
    (dict(method="inversion", direction_aware=DirectionAware()), "direction_aware= is a FlowDirector option"),
    (dict(method="flowedit", motion_gate=MotionGate()), "motion_gate= is a FlowDirector option: method 'flowedit'"),
    # FlowDirector's parts: the right kind, fitting the settings
    (dict(n_avg=4, dag=DAG(n_worse=6)), "n_worse=6, n_avg=4"),
    (dict(mask="segmentation"), "mask must be AttentionMask or VelocityMask or Tensor or ndarray"),
    (dict(dag=3), "dag must be DAG"),
    (dict(direction_aware=0.25), "direction_aware must be DirectionAware"),
    (dict(mask=np.ones((17, 60, 64), bool)), "does not match the latent grid"),
    (dict(mask=np.full((17, 64, 64), 2.0)), "mask values must lie in \\[0, 1\\]"),
])
def test_edit_rejects_bad_arguments(pipe, kw, cause):
    clip = shapes.render_caption(PROMPT, rng=0)
    args = dict(source_prompt=PROMPT, target_prompt=PROMPT.replace("red", "blue"), steps=2, n_max=1)
    args.update(kw)
    with pytest.raises(ValueError, match=cause):
        pipe.edit(clip, **args)


def test_generate_warns_outside_the_training_size(pipe):
    with pytest.warns(UserWarning, match="trained on clips of at most 17 frames at 64x64"):
        v = pipe.generate(PROMPT, steps=1, frames=21)
    assert v.shape == (21, 64, 64, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pipe.generate(PROMPT, steps=1, frames=9, size=32)          # smaller than trained: no warning


@pytest.mark.parametrize("damage", ["truncated", "empty", "random", "broken_config"])
def test_broken_weights_name_the_file(tmp_path, damage):
    folder = tmp_path / "tiny"
    shutil.copytree(asset_folder("tiny"), folder)
    weights = folder / "dit" / "model.safetensors"
    if damage == "truncated":
        weights.write_bytes(weights.read_bytes()[:1000])
    elif damage == "empty":
        weights.write_bytes(b"")
    elif damage == "random":
        weights.write_bytes(np.random.default_rng(0).bytes(4096))
    else:
        (folder / "dit" / "config.json").write_text('{"hidden": 64,')
    with pytest.raises(ValueError) as e:
        Pipeline.from_pretrained(folder, device="cpu")
    name = "config.json" if damage == "broken_config" else "model.safetensors"
    assert str(folder / "dit" / name) in str(e.value)


def test_save_video_bad_inputs(tmp_path):
    v = shapes.render("red", "circle", "left", "black", rng=0)
    for fps in (0, -3, float("nan"), "8"):
        with pytest.raises(ValueError, match="fps must be"):
            video.save_video(v, tmp_path / "a.gif", fps=fps)
    (tmp_path / "d.gif").mkdir()
    with pytest.raises(IsADirectoryError, match="is a folder"):
        video.save_video(v, tmp_path / "d.gif")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.gif"]


@pytest.mark.parametrize("prompt", ["안녕하세요 여러분", "", "a moving on", "une balle rouge"])
def test_prompts_with_no_known_word_are_refused(pipe, prompt):
    """An unknown-word prompt would condition on nothing and silently give an unconditional video.
    (The shipped model knows the 16 Korean glossary words too: a Korean prompt of them is read.)"""
    with pytest.raises(ValueError, match="knows no word of the prompt.*It knows 32 words: black, blue.*빨간"):
        pipe.generate(prompt, steps=1)
    with pytest.raises(ValueError, match="knows no word"):
        pipe.generate([PROMPT, prompt], steps=1)                    # one bad prompt in a list
    assert pipe.generate(prompt, steps=1, unconditional=True).shape == (17, 64, 64, 3)   # asked for


def test_a_korean_prompt_is_read_not_refused(pipe):
    """The issue's example prompt: every content word is in the glossary, particles split off."""
    assert {"빨간", "원", "왼쪽"} <= set(pipe.text_encoder.tokenizer.known_words("빨간 원이 왼쪽으로 움직인다"))
    assert pipe.generate("빨간 원이 왼쪽으로 움직인다", steps=1).shape == (17, 64, 64, 3)


def test_cli_refuses_a_prompt_it_cannot_read(tmp_path, capsys):
    err = run_cli(["안녕하세요 여러분", "--out", str(tmp_path / "k.gif"), "--steps", "1"], capsys)
    assert "knows no word" in err and list(tmp_path.iterdir()) == []
