"""The public pipeline contract on the shipped tiny model: `load_pipeline("tiny")`, `generate`
(uint8 (T, H, W, 3), lists, same seed → same video), the helpers the editing code uses, the CLI,
and the accuracy target measured by the Shapes oracle on a subset of prompts with unseen seeds."""
from pathlib import Path

import numpy as np
import pytest
import torch

import minicog
from minicog import shapes
from minicog.pipeline import Pipeline, load_pipeline

PROMPT = "a red circle moving left on a black background"
# floors two prompts under the shipped model's measured subsets at its sampling defaults (CFG 2.5,
# shift 2: English 98.6 % of 72, two-object 72.9 % of 48, Korean 98.6 % of 72; a prompt is 1.4 / 2.1
# points): room for another CPU's float rounding, none for a real regression
ONE_FLOOR, TWO_FLOOR, KO_FLOOR = 0.95, 0.68, 0.95


SHIPPED = (Path(minicog.__file__).resolve().parent.parent / "assets" / "tiny" / "pipeline.json").is_file()
needs_shipped = pytest.mark.skipif(
    not SHIPPED, reason="the shipped tiny model (assets/tiny) is not trained yet — issue 6; "
                        "train it with `python -m minicog.train --preset tiny --out runs/tiny --export assets/tiny`")


def untrained_pipeline() -> Pipeline:
    """The tiny architecture with random weights: the contract tests below do not need training."""
    from minicog.causal_vae import CausalVAE, VAEConfig
    from minicog.shapes import vocabulary
    from minicog.train import TrainConfig, build_model
    torch.manual_seed(0)
    model = build_model(TrainConfig.tiny(), vocabulary())
    return Pipeline(CausalVAE(VAEConfig.tiny()).eval(), model.dit.eval(), model.text_encoder.eval(), device="cpu")


@pytest.fixture(scope="module")
def pipe():
    return load_pipeline("tiny", device="cpu") if SHIPPED else untrained_pipeline()


@needs_shipped
def test_shipped_model_is_small_and_complete(pipe):
    assert isinstance(pipe, Pipeline) and pipe.device.type == "cpu"
    files = sorted((Path(minicog.__file__).resolve().parent.parent / "assets" / "tiny").rglob("*.safetensors"))
    sizes = {f.parent.name: f.stat().st_size for f in files}
    assert set(sizes) == {"vae", "dit", "text_encoder"}
    assert max(sizes.values()) < 10e6 and sum(sizes.values()) < 16e6, sizes   # float16, a few MB each
    assert pipe.latent_shape() == (pipe.dit.config.in_channels, 5, 8, 8)
    assert minicog.load_pipeline is load_pipeline


def test_generate_is_deterministic_and_batches(pipe):
    a = pipe.generate(PROMPT, seed=3, steps=6)
    b = pipe.generate(PROMPT, seed=3, steps=6)
    c = pipe.generate(PROMPT, seed=4, steps=6)
    assert a.shape == (17, 64, 64, 3) and a.dtype == np.uint8
    np.testing.assert_array_equal(a, b)                                    # same seed, same video
    assert np.abs(a.astype(int) - c).mean() > 1                           # another seed, another one
    two = pipe.generate([PROMPT, "a blue square moving up on a white background"], seed=3, steps=6)
    assert isinstance(two, list) and len(two) == 2
    assert np.abs(two[0].astype(int) - a).max() <= 2                      # batching barely matters
    per_seed = pipe.generate([PROMPT, PROMPT], seed=[3, 4], steps=6)
    assert np.abs(per_seed[1].astype(int) - c).max() <= 2
    three = [PROMPT, "a blue square moving up on a white background", PROMPT]
    whole, z = pipe.generate(three, seed=[3, 3, 4], steps=6, return_latents=True)
    chunked, zc = pipe.generate(three, seed=[3, 3, 4], steps=6, return_latents=True, batch_size=2)
    assert len(chunked) == 3 and zc.shape == z.shape == (3, *pipe.latent_shape())
    for x, y in zip(whole, chunked):                                       # chunks of 2 + 1 prompts
        assert np.abs(x.astype(int) - y).max() <= 2
    assert np.abs(chunked[2].astype(int) - c).max() <= 2                  # order kept: seed 4 last


def _subset_report(pipe, language: str = "en"):
    combos = shapes.all_combinations()
    picks = [combos[3 * k + k % 3] for k in range(len(combos) // 3)]      # 72: a third of them
    scenes = [shapes.Scene.of(**c) for c in picks]
    prompts = [s.caption(language=language) for s in scenes]
    seeds = [900_000 + i for i in range(len(prompts))]
    videos = pipe.generate(prompts, seed=seeds, batch_size=24)
    values = dict(color=shapes.COLORS, shape=shapes.SHAPES, direction=shapes.DIRECTIONS,
                  background=shapes.BACKGROUNDS)
    for attr, allowed in values.items():              # every attribute value appears in the subset
        assert {c[attr] for c in picks} == set(allowed)
    return shapes.evaluate(videos, scenes)


@needs_shipped
def test_accuracy_on_unseen_seeds(pipe):
    """The one-object measure (issue 20's target: 97 % of all 216) on CI's subset of the oracle
    benchmark (benchmarks/eval_tiny_t2v.py runs all 216 combinations): 72 prompts, a third of the
    combinations with every attribute value among them, seeds never used in training; a floor
    (ONE_FLOOR) two prompts under the measured level. Measured on the shipped model (the `tiny` recipe, 40000 steps, on
    the world with two-object radii 0.14–0.17; sampling defaults CFG 2.5, shift 2): these 72 98.6 %;
    all 216 97.7 % (shape 97.7 %, the rest 100 %). The first two-object model measured 88.9 % here, the one-object chain 91.7 %."""
    report = _subset_report(pipe)
    print("\n" + report.table())
    for attr in ("color", "direction", "background"):
        assert report.per_attribute[attr] >= 0.95, report.table()
    assert report.per_attribute["shape"] >= ONE_FLOOR, report.table()
    assert report.prompt_accuracy >= ONE_FLOOR, report.table()


def _two_object_report(pipe, n: int = 48):
    """`n` two-object prompts sampled from all 6480 scenes (each in a random phrase order), unseen seeds."""
    prompts = [s.caption() for s in shapes.sample_scenes(n, seed=2)]
    videos = pipe.generate(prompts, seed=[910_000 + i for i in range(n)], batch_size=24)
    return shapes.evaluate(videos, prompts)


@needs_shipped
def test_two_object_accuracy_floor(pipe):
    """Issue 20's two-object measure on CI's subset (benchmarks/eval_tiny_t2v.py --objects 2
    --prompts 300 runs the full one): a floor at the level measured on the shipped model, so a
    regression fails. Measured on the shipped 40000-step model at its sampling defaults (CFG 2.5,
    shift 2): these 48 72.9 % (binding errors 0.0 %); the 300 of the benchmark 80.7 % fully right
    (colour 99.5 %, shape 89.5 %, direction 99.0 %), binding errors 0.0 %."""
    report = _two_object_report(pipe)
    print("\n" + report.table())
    assert report.per_attribute["color"] >= 0.9 and report.per_attribute["direction"] >= 0.9, report.table()
    assert report.per_attribute["background"] >= 0.95, report.table()
    assert report.prompt_accuracy >= TWO_FLOOR, report.table()
    assert report.binding_errors <= 0.05, report.table()


@needs_shipped
def test_korean_prompts_draw_what_english_ones_draw(pipe):
    """Korean captions (the glossary's words, particles split off by the tokenizer) on the 72-prompt
    subset, the same seeds as the English test above. Measured on the shipped model at its sampling
    defaults: these 72 98.6 %; all 216 in Korean 97.7 % (English 97.7 %)."""
    report = _subset_report(pipe, language="ko")
    print("\n" + report.table())
    for attr in ("color", "direction", "background"):
        assert report.per_attribute[attr] >= 0.95, report.table()
    assert report.prompt_accuracy >= KO_FLOOR, report.table()


def test_helpers_for_editing(pipe):
    video = shapes.render("green", "square", "right", "gray", rng=5)
    z = pipe.encode_video(video)
    assert z.shape == (1, *pipe.latent_shape())
    back = pipe.decode_latents(z)
    assert back.shape == video.shape and back.dtype == np.uint8
    if SHIPPED:
        assert shapes.read_attributes(back) == shapes.read_attributes(video)   # the VAE keeps the content
    embeds, mask = pipe.encode_prompt([PROMPT, ""])
    assert embeds.shape[:2] == mask.shape and mask[1].sum() == 1
    v = pipe.velocity(z, 0.5, embeds[:1], mask[:1])
    assert v.shape == z.shape and torch.isfinite(v).all()
    v2 = pipe.velocity_model(z, torch.tensor([0.5]), (embeds[:1], mask[:1]))
    torch.testing.assert_close(v, v2)
    _, zg = pipe.generate(PROMPT, seed=1, steps=4, return_latents=True)
    assert zg.shape == z.shape


def test_edit_delegates_to_the_editing_module(pipe, monkeypatch):
    calls = {}

    def edit(p, video, **kw):
        calls.update(kw, pipe=p, video=video)
        return "edited"
    monkeypatch.setattr("minicog.edit.edit", edit)                 # imported when pipe.edit is called
    out = pipe.edit("V", source_prompt="a", target_prompt="b", seed=2, method="flowedit", steps=3)
    assert out == "edited" and calls["pipe"] is pipe and calls["video"] == "V"
    assert calls["source_prompt"] == "a" and calls["target_prompt"] == "b"
    assert calls["seed"] == 2 and calls["method"] == "flowedit" and calls["steps"] == 3


def test_bad_inputs_raise_clear_errors(pipe, tmp_path):
    with pytest.raises(FileNotFoundError, match="no pipeline named"):
        load_pipeline(tmp_path / "missing")
    with pytest.raises(FileNotFoundError, match="pipeline.json"):
        load_pipeline(tmp_path)
    with pytest.raises(ValueError, match="non-empty list"):
        pipe.generate([])
    with pytest.raises(ValueError, match="2 prompts"):
        pipe.generate([PROMPT, PROMPT], seed=[1, 2, 3], steps=2)
    with pytest.raises(ValueError, match="batch_size must be a positive"):
        pipe.generate([PROMPT, PROMPT], steps=2, batch_size=0)
    with pytest.raises(ValueError, match="1\\+4k"):
        pipe.generate(PROMPT, frames=8, steps=2)
    with pytest.warns(UserWarning, match="unknown words.*'hexagon'"):
        pipe.generate("a red hexagon moving left on a black background", steps=2)


@needs_shipped
def test_generate_cli_writes_a_gif(tmp_path, capsys):
    from minicog.generate import main
    from minicog.video import load_video
    out = tmp_path / "out.gif"
    assert main([PROMPT, "--out", str(out), "--steps", "4", "--seed", "1"]) == 0
    video = load_video(out)
    assert video.shape == (17, 64, 64, 3)
    assert "out.gif" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main([PROMPT, "--out", str(tmp_path / "out.txt")])


@pytest.mark.skipif(SHIPPED, reason="the Shapes-world fallback is used only while assets/tiny is missing")
def test_generate_cli_falls_back_to_the_shapes_world(tmp_path, capsys):
    from minicog.generate import main
    from minicog.video import load_video
    out = tmp_path / "out.gif"
    assert main([PROMPT, "--out", str(out), "--seed", "1"]) == 0
    video = load_video(out)
    assert video.shape == (17, 64, 64, 3)
    assert shapes.read_attributes(video) == shapes.parse_caption(PROMPT).attributes
    captured = capsys.readouterr()
    assert "out.gif" in captured.out and "Shapes world" in captured.err
    with pytest.raises(SystemExit):
        main(["a pink star moving left on a black background", "--out", str(tmp_path / "x.gif")])
