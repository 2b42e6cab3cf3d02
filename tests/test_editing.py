"""Video editing (minicog.editing, the `minicog.edit` entry, the `minicog.edit_eval` measure): the
three starts, the editing ODE, guidance, the `pipe.edit` contract and the Shapes-world metrics.
FlowDirector's masks and DAG: tests/test_flowdirector.py."""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import editing_fixtures as fx
from editing_fixtures import FAST, MockModel
from minicog import edit, edit_eval, editing, flowdirector, shapes
from minicog.editing import EditConfig
from minicog.flowdirector import DAG

SRC, TAR = fx.SRC, fx.TAR
pipe, clip, x_src = fx.pipe, fx.clip, fx.x_src          # the shared fixtures, registered in this module



# ----------------------------------------------------------------------------- the editing ODE

@pytest.mark.parametrize("method", ["flowedit", "flowdirector"])
def test_editing_ode_is_the_identity_when_prompts_agree(pipe, x_src, method):
    """Equal prompts (and equal guidance) → v(Z_tar) = v(Z_src) at every step → X_src exactly."""
    z = edit.edit_latents(pipe, x_src, SRC, SRC, seed=1, method=method, src_guidance=3.0,
                          tar_guidance=3.0, identity_if_same=False, **FAST)
    assert torch.equal(z, x_src)
    # ... while a real edit (or unequal guidance) does move the latents
    z2 = edit.edit_latents(pipe, x_src, SRC, TAR, seed=1, method=method, **FAST)
    assert (z2 - x_src).abs().max() > 1e-3


@pytest.mark.parametrize("method", ["flowedit", "flowdirector"])
def test_equal_prompts_return_the_source_with_the_presets(pipe, clip, x_src, method):
    """Equal prompts with the presets' *unequal* guidance: `edit` returns the source (latents as
    they are, the video as the VAE reconstructs it) without running the ODE — no model call, no
    callback; whitespace does not count. `identity_if_same=False` runs the ODE, which then moves
    the clip (the presets' guidance push, why the default skips it)."""
    cfg = EditConfig.preset(method)
    assert cfg.src_guidance != cfg.tar_guidance
    infos = []
    with edit_eval.count_model_calls(pipe) as calls:
        z = edit.edit_latents(pipe, x_src, SRC, " " + SRC.replace(" ", "  "), seed=0, method=method,
                              callback=infos.append, **FAST)
        out, z2 = edit.edit(pipe, clip, SRC, SRC, seed=0, method=method, return_latents=True, **FAST)
    assert torch.equal(z, x_src.float()) and torch.equal(z2, x_src.float())
    assert calls["calls"] == 0 and infos == []
    assert np.array_equal(out, pipe.decode_latents(x_src))
    forced = edit.edit_latents(pipe, x_src, SRC, SRC, seed=0, method=method, identity_if_same=False, **FAST)
    assert (forced - x_src).abs().max() > 1e-3


def test_equal_prompts_still_run_the_starts_that_go_through_noise(pipe, x_src):
    """random_noise and inversion with one prompt regenerate / reconstruct: they run as asked."""
    for method in ("random_noise", "inversion"):
        with edit_eval.count_model_calls(pipe) as calls:
            edit.edit_latents(pipe, x_src, SRC, SRC, seed=0, method=method, **FAST)
        assert calls["calls"] > 0, method


def test_flowedit_matches_a_direct_transcription_of_the_algorithm():
    """FlowEdit Alg. 1 written out by hand on the mock model (constant velocities): skip n_max,
    noise averaging, Euler in data space."""
    m = MockModel()
    x = torch.randn(1, 2, 5, 8, 8)
    cfg = EditConfig(steps=8, n_max=5, n_avg=2, src_guidance=1.0, tar_guidance=1.0)
    prompts = editing.encode_prompts(m.encode_prompt, "a b c", "a b c d e")
    z = editing.flowedit(m.velocity, x, prompts, cfg, torch.Generator().manual_seed(0))
    grid = editing.time_grid(cfg)
    dv = (5 - 3) / 10                                  # v_tar − v_src of the mock
    expected = x + (grid[-1] - grid[cfg.start_index]).item() * dv
    assert torch.allclose(z, expected, atol=1e-6)


def test_guided_velocities_is_cfg_per_row_in_one_batch(pipe, x_src):
    """v_b = v(z, c_neg) + g_b·(v(z, c_rows[b]) − v(z, c_neg)) per row, rows with g = 1 get no
    unconditional pass, `conditional` is the unguided v(z, c_rows[b]), and splitting the batch
    (max_batch) or recording attention does not change the numbers."""
    prompts = editing.encode_prompts(pipe.encode_prompt, SRC, TAR)
    z = x_src.repeat(3, 1, 1, 1, 1) + 0.2 * torch.randn(3, *x_src.shape[1:],
                                                         generator=torch.Generator().manual_seed(2))
    rows, guidance = [editing.SRC, editing.TAR, editing.TAR], [1.0, 4.0, 2.5]

    def v(i, row):
        e, m = prompts.select([row])
        return pipe.velocity(z[i:i + 1], torch.full((1,), 0.5), e, m).float()[0]

    cond = torch.stack([v(i, r) for i, r in enumerate(rows)])
    uncond = torch.stack([v(i, editing.NEG) for i in range(3)])
    g = torch.tensor(guidance).view(-1, 1, 1, 1, 1)
    expected = torch.where(g == 1.0, cond, uncond + g * (cond - uncond))
    with edit_eval.count_model_calls(pipe) as calls:
        out = editing.guided_velocities(pipe.velocity, z, 0.5, prompts, rows, guidance)
    assert calls == dict(calls=1, rows=3 + 2)                   # no unconditional row for g = 1
    assert out.maps is None
    assert torch.allclose(out.v, expected, atol=1e-5) and torch.allclose(out.conditional, cond, atol=1e-5)
    split = editing.guided_velocities(pipe.velocity, z, 0.5, prompts, rows, guidance, max_batch=2,
                                      record=lambda: pipe.dit.record_attention())
    assert torch.allclose(split.v, out.v, atol=1e-5)
    assert set(split.maps) == set(range(pipe.dit.config.num_layers))
    assert all(m.shape[0] == 3 for m in split.maps.values())       # the conditional rows only
    with pytest.raises(ValueError, match="one prompt row and one guidance"):
        editing.guided_velocities(pipe.velocity, z, 0.5, prompts, rows[:2], guidance)


def test_inversion_reconstructs_and_gets_better_with_steps(pipe, x_src):
    errs = [(edit.edit_latents(pipe, x_src, SRC, SRC, method="inversion", steps=n, n_max=n,
                                  tar_guidance=1.0) - x_src).abs().mean().item() for n in (3, 12)]
    assert errs[1] < 0.4 * errs[0], errs                 # Euler: error ~ 1/steps


def test_random_noise_start_forgets_more_the_later_it_starts(pipe, x_src):
    d = [(edit.edit_latents(pipe, x_src, SRC, SRC, seed=0, method="random_noise", steps=4,
                               n_max=k, tar_guidance=1.0) - x_src).abs().mean().item() for k in (1, 4)]
    assert d[0] < d[1], d
    a = edit.edit_latents(pipe, x_src, SRC, TAR, seed=0, method="random_noise", **FAST)
    b = edit.edit_latents(pipe, x_src, SRC, TAR, seed=1, method="random_noise", **FAST)
    assert not torch.equal(a, b)


def test_n_min_stop_phase_samples_the_target():
    m = MockModel()
    x = torch.randn(1, 2, 5, 8, 8)
    prompts = editing.encode_prompts(m.encode_prompt, "a b c", "a b c d e")
    cfg = EditConfig(steps=6, n_max=4, n_min=2, src_guidance=1.0, tar_guidance=1.0)
    seen = []
    z = editing.editing_ode(m.velocity, x, prompts, cfg, torch.Generator().manual_seed(0),
                            callback=lambda info: seen.append(info["phase"]))
    assert seen == ["edit", "edit", "sample", "sample"]
    assert z.shape == x.shape and torch.isfinite(z).all()


# ----------------------------------------------------------------------------- the public contract

def test_week_7_does_not_import_week_8():
    """Imports point one way: the algorithms of week 7 (`editing`) know nothing of FlowDirector (nor of
    the DiT); the paper's path (`flowdirector`) imports no measurement code; the entry (`edit`)
    imports both algorithms."""
    code = ("import sys, minicog.editing; assert 'minicog.flowdirector' not in sys.modules; "
            "assert 'minicog.dit' not in sys.modules; "
            "import minicog.flowdirector; assert not {'minicog.mask_eval', 'minicog.edit_eval', 'minicog.edit'} "
            "& set(sys.modules); "
            "import minicog.edit; assert 'minicog.flowdirector' in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_pipe_edit_contract(pipe, clip):
    out = pipe.edit(clip, source_prompt=SRC, target_prompt=TAR, seed=0, method="flowedit", **FAST)
    assert isinstance(out, np.ndarray) and out.dtype == np.uint8 and out.shape == clip.shape
    with pytest.raises(ValueError, match="unknown editing method"):
        pipe.edit(clip, source_prompt=SRC, target_prompt=TAR, method="magic")
    with pytest.raises(ValueError, match="uint8"):
        pipe.edit(clip.astype(np.float32), source_prompt=SRC, target_prompt=TAR)
    with pytest.raises(ValueError, match="unknown edit settings"):
        pipe.edit(clip, source_prompt=SRC, target_prompt=TAR, n_steps=3)
    with pytest.raises(ValueError, match="n_worse"):
        pipe.edit(clip, source_prompt=SRC, target_prompt=TAR, n_avg=2, dag=DAG(n_worse=3))


def test_edit_metrics_on_ground_truth():
    src = shapes.render("red", "circle", "left", "black", rng=5)
    motion = shapes.sample_motion("left", rng=5)          # the geometry render(..., rng=5) drew
    perfect = shapes.render("red", "triangle", "left", "black", motion=motion)
    r = edit_eval.edit_metrics(src, perfect, SRC, SRC.replace("circle", "triangle"))
    assert r["success"] and r["preserved"] and r["bg_psnr"] > 40
    # against the source clip a perfect circle -> triangle edit is not at 0 px: the thresholded
    # box trims the triangle's apex; against the ideal edit (the same render) it is
    assert 0.3 < r["drift_src"] == r["drift"] < 1.2
    assert np.array_equal(edit_eval.ideal_edit(SRC.replace("circle", "triangle"), 5), perfect)
    r = edit_eval.edit_metrics(src, perfect, SRC, SRC.replace("circle", "triangle"), reference=perfect)
    assert r["drift"] == 0.0 and r["drift_src"] > 0.3
    r = edit_eval.edit_metrics(src, src, SRC, SRC.replace("circle", "triangle"))
    assert not r["success"] and r["drift"] == 0.0 and r["bg_psnr"] == float("inf")
    moved = np.roll(src, 3, axis=1)                       # the same clip, 3 px lower
    assert abs(edit_eval.edit_metrics(src, moved, SRC, SRC)["drift"] - 3.0) < 0.01


def test_measure_rows_summary_and_table(pipe):
    """measure: a reconstruction row and one row per variant and edit, drift against the ideal
    edit beside drift against the source; summarise / results_table report both."""
    edits = edit_eval.shapes_edits(1, ("color", "shape"), seed=1)
    rows = edit_eval.measure(pipe, edits, {"flowedit": ("flowedit", FAST)}, progress=False)
    assert [r["variant"] for r in rows] == ["reconstruction", "flowedit"] * 2
    for r, e in zip(rows[1::2], edits):
        assert r["kind"] == e["kind"] and r["nfe"] > 0 and r["seconds"] > 0
        assert r["drift"] >= 0 and r["drift_src"] >= 0 and r["bg_psnr"] > 0
    assert all(r["drift"] == r["drift_src"] for r in rows[::2])                # recon: the source
    summary = edit_eval.summarise(rows)
    assert set(summary) == {"reconstruction", "flowedit"} and summary["flowedit"]["n"] == 2
    assert summary["flowedit"]["drift_src_median"] == np.median([r["drift_src"] for r in rows[1::2]])
    table = edit_eval.results_table(summary, reference="flowedit")
    assert "drift vs source" in table and table.count("\n") == 3


# ----------------------------------------------------------------------------- the scaled path

@pytest.fixture(scope="module")
def cog(tmp_path_factory):
    """A random toy CogVideoX-2B folder (notebooks/toy_cogvideox.py) on minicog's modules."""
    pytest.importorskip("diffusers")
    pytest.importorskip("transformers")
    from toy_cogvideox import build_cogvideox_folder
    from minicog.cogvideox import CogVideoX
    return CogVideoX.from_pretrained(build_cogvideox_folder(tmp_path_factory.mktemp("cog") / "2b", "2b"),
                                     device="cpu")


def test_scaled_path_edits_with_the_same_code(cog):
    """v-prediction converted to an RF velocity: all four methods run, FlowDirector finds the edited
    words among T5's 226 tokens, and equal prompts give the identity."""
    from toy_cogvideox import SAMPLE
    video = np.random.default_rng(0).integers(0, 256, (SAMPLE["frames"], SAMPLE["height"], SAMPLE["width"], 3),
                                              dtype=np.uint8)
    src, tar = "a red cat playing on a black background", "a blue dog playing on a black background"
    assert flowdirector.token_indices(cog, src, ["red", "cat"]) == [1, 2]      # ▁a ▁red ▁cat ...
    x = cog.encode_video(video)
    for method in editing.METHODS:
        z = edit.edit_latents(cog, x, src, tar, seed=0, method=method, **FAST)
        assert z.shape == x.shape and torch.isfinite(z).all() and not torch.equal(z, x)
    infos = []
    out = edit.edit(cog, video, src, tar, seed=0, method="flowdirector", callback=infos.append, **FAST)
    assert out.dtype == np.uint8 and out.shape == video.shape
    assert infos[0]["mask"].shape == (3, 8, 12)                               # latent grid (T, h, w)
    z = edit.edit_latents(cog, x, src, src, seed=0, method="flowdirector", src_guidance=2.0,
                             tar_guidance=2.0, **FAST)
    assert torch.equal(z, x.float())


def test_model_call_counts_show_why_inversion_is_slow(pipe, x_src):
    """Per edit step: FlowEdit makes one batched call (source + target, with their unconditional
    twins); inversion makes one call up and one call down — twice the *sequential* calls."""
    with edit_eval.count_model_calls(pipe) as fe:
        edit.edit_latents(pipe, x_src, SRC, TAR, method="flowedit", **FAST)
    with edit_eval.count_model_calls(pipe) as inv:
        edit.edit_latents(pipe, x_src, SRC, TAR, method="inversion", steps=4, n_max=2)
    assert fe == dict(calls=2, rows=2 * 4)
    assert inv == dict(calls=2 + 2, rows=2 * 1 + 2 * 2)
    assert "velocity" not in vars(pipe)                                     # restored


def test_shipped_model_flowdirector_edits_colour_in_place():
    """The shipped tiny model with the tuned `flowdirector` preset: colour edits (the kind the model
    renders reliably) are read by the oracle as the target colour with direction, background and
    shape kept, and the object stays where it was (the full table: benchmarks/bench_editing.py)."""
    from minicog.pipeline import load_pipeline
    shipped = load_pipeline("tiny", device="cpu")
    edits = edit_eval.shapes_edits(4, ("color",), seed=1)
    rows = []
    for e in edits:
        src = shapes.render_caption(e["source"], rng=e["seed"])
        out = shipped.edit(src, e["source"], e["target"], seed=0, method="flowdirector")
        rows.append(edit_eval.edit_metrics(src, out, e["source"], e["target"],
                                         reference=edit_eval.ideal_edit(e["target"], e["seed"])))
    assert sum(r["success"] for r in rows) >= 3, rows
    assert sum(r["preserved"] for r in rows) >= 3, rows
    assert np.median([r["drift"] for r in rows]) < 4.0, rows


def test_edits_use_the_pipelines_edit_shift_then_its_sampling_shift():
    """The shipped model samples with shift 2 but its edit presets were measured on the unshifted
    grid: PipelineConfig.edit_shift wins over the sampling shift when set (minicog.edit._pipe_shift)."""
    from types import SimpleNamespace
    from minicog.edit import _pipe_shift
    from minicog.pipeline import PipelineConfig
    assert _pipe_shift(SimpleNamespace(config=PipelineConfig(shift=2.0, edit_shift=1.0))) == 1.0
    assert _pipe_shift(SimpleNamespace(config=PipelineConfig(shift=2.0))) == 2.0
    assert _pipe_shift(SimpleNamespace()) == 1.0                       # a bare model: unshifted
    from minicog.utils import asset_folder, read_json
    shipped = PipelineConfig.from_dict(read_json(Path(asset_folder("tiny")) / "pipeline.json", "pipeline"))
    assert (shipped.shift, shipped.edit_shift) == (2.0, 1.0)
