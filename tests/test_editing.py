"""Video editing (minicog.editing, minicog.flowdirector): the three starts, the editing ODE, SAFC masks,
differential averaging guidance, the ablation switches and the `pipe.edit` contract."""
import itertools
from contextlib import contextmanager
from dataclasses import replace

import numpy as np
import pytest
import torch

from minicog import editing, flowdirector, shapes
from minicog.editing import EditConfig

SRC = "a red circle moving left on a black background"
TAR = "a blue circle moving left on a black background"


# ----------------------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def pipe():
    """A randomly initialised tiny pipeline (2-layer DiT): real attention hook, real tokenizer."""
    from minicog.causal_vae import CausalVAE, VAEConfig
    from minicog.dit import DiTConfig, VideoDiT
    from minicog.pipeline import Pipeline
    from minicog.text_encoder import TextEncoderConfig, TinyTextEncoder
    torch.manual_seed(0)
    dit = VideoDiT(DiTConfig.tiny(num_layers=2))
    with torch.no_grad():                      # adaLN-zero-free random init: make outputs non-trivial
        dit.proj_out.weight.normal_(0, 0.05)
    return Pipeline(CausalVAE(VAEConfig.tiny()), dit, TinyTextEncoder(TextEncoderConfig.tiny(shapes.vocabulary(), dim=128)), "cpu")


@pytest.fixture(scope="module")
def clip():
    return shapes.render("red", "circle", "left", "black", rng=3)


@pytest.fixture(scope="module")
def x_src(pipe, clip):
    return pipe.encode_video(clip)


FAST = dict(steps=4, n_max=2)


class MockModel:
    """A velocity that depends only on the prompt (v = mean of its embedding, everywhere), and an
    attention hook in which text tokens 1 and 2 light up in the top-left quarter of every frame."""

    def __init__(self, grid=(5, 4, 4)):
        self.grid = grid
        self._rec = None
        self.calls = 0

    def encode_prompt(self, prompts):
        e = torch.stack([torch.full((4, 3), float(len(p.split())) / 10) for p in prompts])
        return e, torch.ones(len(prompts), 4, dtype=torch.bool)

    def velocity(self, z, t, embeds, mask):
        self.calls += 1
        if self._rec is not None:
            B, (T, H, W) = z.shape[0], self.grid
            m = 0.5 + 0.1 * torch.rand(B, 1, 4, T, H, W, generator=torch.Generator().manual_seed(self.calls))
            look = m.clone()
            m[:, :, 1:3, :, : H // 2, : W // 2] += 1.0             # the edited words' tokens
            look[:, :, 1:3, :, H // 2:, W // 2:] += 1.0            # ... where their queries look
            self._rec.maps = {0: {"video_to_text": m, "text_to_video": look}}
        return embeds.mean(dim=(1, 2)).view(-1, 1, 1, 1, 1).expand_as(z).clone()

    @contextmanager
    def record_attention(self):
        self._rec = type("Rec", (), {"maps": {}})()
        try:
            yield self._rec
        finally:
            self._rec = None


# ----------------------------------------------------------------------------- the editing ODE

@pytest.mark.parametrize("method", ["flowedit", "flowdirector"])
@pytest.mark.parametrize("edit_guidance", [0.0, 2.0])
def test_editing_ode_is_the_identity_when_prompts_agree(pipe, x_src, method, edit_guidance):
    """Equal prompts (and equal guidance) → v(Z_tar) = v(Z_src) at every step → X_src exactly
    (and the edit-direction term v(Z_tar, c_tar) − v(Z_tar, c_src) is then 0 too)."""
    z = editing.edit_latents(pipe, x_src, SRC, SRC, seed=1, method=method, src_guidance=3.0,
                             tar_guidance=3.0, edit_guidance=edit_guidance, **FAST)
    assert torch.equal(z, x_src)
    # ... while a real edit (or unequal guidance) does move the latents
    z2 = editing.edit_latents(pipe, x_src, SRC, TAR, seed=1, method=method, **FAST)
    assert (z2 - x_src).abs().max() > 1e-3


@pytest.mark.parametrize("edit_guidance", [0.0, 1.5])
def test_flowedit_matches_a_direct_transcription_of_the_algorithm(edit_guidance):
    """FlowEdit Alg. 1 written out by hand on the mock model (constant velocities): skip n_max,
    noise averaging, Euler in data space; edit_guidance λ adds λ·(v(Z_tar, c_tar) − v(Z_tar, c_src)),
    which for the mock is λ times the same difference."""
    m = MockModel()
    x = torch.randn(1, 2, 5, 8, 8)
    cfg = EditConfig(steps=8, n_max=5, n_avg=2, src_guidance=1.0, tar_guidance=1.0,
                     edit_guidance=edit_guidance)
    prompts = editing.encode_prompts(m.encode_prompt, "a b c", "a b c d e")
    z = editing.flowedit(m.velocity, x, prompts, cfg, torch.Generator().manual_seed(0))
    grid = editing.time_grid(cfg)
    dv = (5 - 3) / 10                                  # v_tar − v_src of the mock
    expected = x + (grid[-1] - grid[cfg.start_index]).item() * dv * (1 + edit_guidance)
    assert torch.allclose(z, expected, atol=1e-6)


def test_edit_guidance_adds_the_word_difference_at_the_edit_state(pipe, x_src):
    """On the real DiT: V(λ) − V(0) = λ·(v(Z_tar, c_tar) − v(Z_tar, c_src)), computed in the same
    batched call (N more rows), with the target's CFG left as it was."""
    prompts = editing.encode_prompts(pipe.encode_prompt, SRC, TAR)
    noise = torch.randn(2, *x_src.shape[1:], generator=torch.Generator().manual_seed(0))
    z_edit = x_src + 0.1 * torch.randn(x_src.shape, generator=torch.Generator().manual_seed(1))
    base = EditConfig(n_avg=2, src_guidance=1.5, tar_guidance=4.0)
    V0, _, z_tar = editing.editing_velocities(pipe.velocity, x_src, z_edit, 0.6, noise, prompts, base)
    V1, _, _ = editing.editing_velocities(pipe.velocity, x_src, z_edit, 0.6, noise, prompts,
                                          replace(base, edit_guidance=2.0))
    t = torch.full((2,), 0.6)
    c_tar, c_src = (prompts.select([r, r]) for r in (editing.TAR, editing.SRC))
    word = pipe.velocity(z_tar, t, *c_tar).float() - pipe.velocity(z_tar, t, *c_src).float()
    assert word.abs().max() > 1e-3                          # the words do change the velocity
    assert torch.allclose(V1 - V0, 2.0 * word, atol=1e-4)
    with editing.count_model_calls(pipe) as calls:
        editing.edit_latents(pipe, x_src, SRC, TAR, method="flowedit", edit_guidance=1.0, **FAST)
    assert calls == dict(calls=2, rows=2 * 5)               # one call per step: 4 rows + 1 for λ
    with pytest.raises(ValueError, match="edit_guidance"):
        EditConfig(edit_guidance=-1.0)


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
    with editing.count_model_calls(pipe) as calls:
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
    errs = [(editing.edit_latents(pipe, x_src, SRC, SRC, method="inversion", steps=n, n_max=n,
                                  tar_guidance=1.0) - x_src).abs().mean().item() for n in (3, 12)]
    assert errs[1] < 0.4 * errs[0], errs                 # Euler: error ~ 1/steps


def test_random_noise_start_forgets_more_the_later_it_starts(pipe, x_src):
    d = [(editing.edit_latents(pipe, x_src, SRC, SRC, seed=0, method="random_noise", steps=4,
                               n_max=k, tar_guidance=1.0) - x_src).abs().mean().item() for k in (1, 4)]
    assert d[0] < d[1], d
    a = editing.edit_latents(pipe, x_src, SRC, TAR, seed=0, method="random_noise", **FAST)
    b = editing.edit_latents(pipe, x_src, SRC, TAR, seed=1, method="random_noise", **FAST)
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


# ----------------------------------------------------------------------------- SAFC masks

def test_diff_words_and_token_indices(pipe):
    assert flowdirector.diff_words(SRC, TAR) == (["red"], ["blue"])
    assert flowdirector.diff_words(SRC, SRC) == ([], [])
    assert flowdirector.diff_words(SRC, SRC.replace("circle", "big square")) == (["circle"], ["big", "square"])
    assert flowdirector.token_indices(pipe, SRC, ["red"]) == [2]          # <bos> a red ...
    assert flowdirector.token_indices(pipe, TAR, ["blue", "circle"]) == [2, 3]
    with pytest.raises(ValueError, match="not in the prompt"):
        flowdirector.token_indices(pipe, SRC, ["green"])


def test_attention_mask_shapes_values_and_threshold():
    maps = torch.rand(3, 5, 4, 4, generator=torch.Generator().manual_seed(0)) * 0.1
    maps[:, :, 0, 0] += 1.0                                # one token per frame lights up
    mask, parts = flowdirector.attention_mask(maps, (5, 8, 8), kernel=1, decay=2.0, return_parts=True)
    assert mask.shape == (5, 8, 8) and parts["binary"].shape == (3, 5, 8, 8)
    assert mask.min() >= 0 and mask.max() <= 1
    assert (mask[:, :2, :2] == 1).all()                    # the token's 2×2 latent pixels
    assert mask[:, 2, 2].allclose(torch.tensor(np.exp(-2.0), dtype=torch.float32))  # 1 px away
    assert (mask[:, 6:, 6:] < 1e-4).all()
    # a higher threshold never grows the mask (the notebook's slider)
    areas = [flowdirector.attention_mask(maps, (5, 8, 8), kernel=3, threshold=th).sum().item()
             for th in (0.05, 0.3, 0.6, 0.9)]
    assert all(a >= b for a, b in zip(areas, areas[1:])) and areas[0] > areas[-1]
    # a constant map cannot localise anything: all ones
    assert (flowdirector.attention_mask(torch.ones(1, 5, 4, 4), (5, 8, 8)) == 1).all()
    with pytest.raises(ValueError):
        flowdirector.attention_mask(torch.ones(5, 4, 4), (5, 8, 8))


def test_word_attention_reads_the_recorded_maps(pipe, x_src):
    e, m = pipe.encode_prompt([SRC])
    with pipe.dit.record_attention(layers=[1], reduce_heads="mean") as rec:
        pipe.velocity(x_src, torch.tensor([0.5]), e, m)
    A = rec.maps[1]["video_to_text"]                                      # (1, 1, L, 5, 4, 4)
    wm = flowdirector.word_attention({1: A}, [2, 3], over_text=False)
    assert wm.shape == (1, 5, 4, 4)
    assert torch.allclose(wm[0], A[0, 0, 2:4].mean(0))
    cross = flowdirector.word_attention({1: A}, [2, 3])                   # softmax over text keys only
    assert torch.allclose(cross[0], (A[0, 0] / A[0, 0].sum(0))[2:4].mean(0))
    everything = flowdirector.word_attention({1: A}, range(A.shape[2]))   # all tokens: 1/L each
    assert torch.allclose(everything * A.shape[2], torch.ones(1, 5, 4, 4))
    # the other half of the joint attention: the word's query over the video keys, one
    # distribution over the video per token
    B = rec.maps[1]["text_to_video"]
    look = flowdirector.word_attention({1: B}, [2, 3], kind="text_to_video")
    assert look.shape == (1, 5, 4, 4) and torch.allclose(look.sum(), torch.tensor(1.0))
    assert torch.allclose(look[0], (B[0, 0, 2:4] / B[0, 0, 2:4].sum(dim=(1, 2, 3), keepdim=True)).mean(0))
    with pytest.raises(ValueError, match="kind"):
        flowdirector.word_attention({1: B}, [2], kind="video_to_video")


def test_mask_keeps_the_edit_inside_the_attended_region():
    m = MockModel()
    x = torch.randn(1, 2, 5, 8, 8)
    prompts = editing.encode_prompts(m.encode_prompt, "a b c", "a b c d e")
    base = dict(steps=6, n_max=4, n_avg=3, src_guidance=1.0, tar_guidance=1.0, mask_kernel=1)
    z_fe = editing.flowedit(m.velocity, x, prompts, EditConfig(**base), torch.Generator().manual_seed(0))
    cfg = EditConfig(**base, use_mask=True, mask_decay=4.0)
    z = flowdirector.flowdirector(m.velocity, x, prompts, cfg, torch.Generator().manual_seed(0),
                                  record=m.record_attention, source_tokens=[1], target_tokens=[2])
    change, change_fe = (z - x).abs(), (z_fe - x).abs()
    assert torch.allclose(change[..., :4, :4], change_fe[..., :4, :4])     # inside: the full edit
    assert change[..., 6:, :].max() < 1e-2 * change_fe.max()              # far outside: ~untouched
    # the mask from the other half of the joint attention lands where the fake model's word
    # queries look (the bottom-right quarter)
    cfg_t2v = EditConfig(**base, use_mask=True, mask_decay=4.0, attn_map="text_to_video")
    z_k = flowdirector.flowdirector(m.velocity, x, prompts, cfg_t2v, torch.Generator().manual_seed(0),
                                    record=m.record_attention, source_tokens=[1], target_tokens=[2])
    change_k = (z_k - x).abs()
    assert torch.allclose(change_k[..., 4:, 4:], change_fe[..., 4:, 4:])
    assert change_k[..., :2, :].max() < 1e-2 * change_fe.max()
    with pytest.raises(ValueError, match="attn_map"):
        EditConfig(attn_map="cross")


# ----------------------------------------------------------------------------- DAG and switches

def test_differential_averaging():
    V = torch.randn(5, 2, 3, generator=torch.Generator().manual_seed(0))
    out, better, worse = flowdirector.differential_averaging(V, 3, 1.0)
    assert torch.allclose(out, V.mean(0, keepdim=True))                   # ω = 1: plain averaging
    out, better, worse = flowdirector.differential_averaging(V, 3, 3.0)
    assert torch.allclose(worse, V[:3].mean(0, keepdim=True))
    assert torch.allclose(out, worse + 3.0 * (better - worse), atol=1e-6)  # the CFG form
    # why one subset: averaging (V_better − V_worse) over ALL subsets of size 3 cancels exactly
    trend = torch.stack([better[0] - V[list(c)].mean(0) for c in itertools.combinations(range(5), 3)]).mean(0)
    assert trend.abs().max() < 1e-6
    with pytest.raises(ValueError):
        flowdirector.differential_averaging(V, 5, 3.0)


def test_ablation_switches(pipe, x_src):
    """use_mask / use_dag toggle exactly their component; both off is FlowEdit with n_avg draws."""
    def run(**kw):
        infos = []
        kw = dict(n_avg=3, n_worse=1) | kw
        z = editing.edit_latents(pipe, x_src, SRC, TAR, seed=4, callback=infos.append, **FAST, **kw)
        return z, infos[0]
    z_full, full = run(method="flowdirector")
    assert {"mask", "v_better", "v_worse"} <= set(full)
    assert full["mask"].shape == x_src.shape[-3:]
    assert torch.allclose(full["v"], full["v_unmasked"] * full["mask"])
    _, no_mask = run(method="flowdirector", use_mask=False)
    assert "mask" not in no_mask and "v_better" in no_mask
    _, no_dag = run(method="flowdirector", use_dag=False)
    assert "mask" in no_dag and "v_better" not in no_dag
    z_none, none = run(method="flowdirector", use_mask=False, use_dag=False)
    assert "mask" not in none and "v_better" not in none
    z_fe, _ = run(method="flowedit", n_avg=3)
    assert torch.equal(z_none, z_fe)
    assert not torch.equal(z_full, z_none)


def test_a_given_mask_replaces_the_attention_mask(pipe, clip, x_src):
    """pipe.edit(..., mask=): a pixel (or latent) mask in place of SAFC's; 0 keeps the source exactly,
    1 everywhere is the edit without a mask, a region edits only there."""
    kw = dict(method="flowdirector", n_avg=3, n_worse=1, seed=4, **FAST)
    T, H, W, _ = clip.shape
    zeros, ones = np.zeros((T, H, W), bool), np.ones((T, H, W), bool)
    assert torch.equal(editing.edit_latents(pipe, x_src, SRC, TAR, mask=zeros, **kw), x_src)
    z_ones = editing.edit_latents(pipe, x_src, SRC, TAR, mask=ones, **kw)
    assert torch.equal(z_ones, editing.edit_latents(pipe, x_src, SRC, TAR, use_mask=False, **kw))
    left = zeros.copy()
    left[:, :, : W // 2] = True                                      # the left half of every frame
    infos = []
    z = editing.edit_latents(pipe, x_src, SRC, TAR, mask=left, callback=infos.append, **kw)
    M = infos[0]["mask"]
    assert M.shape == x_src.shape[-3:] and torch.all(M[..., : M.shape[-1] // 2] == 1)
    d = M.shape[-1] - M.shape[-1] // 2                               # last column to the half's edge
    assert torch.allclose(M[..., -1], torch.full_like(M[..., -1], float(np.exp(-1.5 * d))))
    change, change_all = (z - x_src).abs(), (z_ones - x_src).abs()
    assert change[..., -1].max() < 0.05 * change_all[..., -1].max()  # far right: nearly kept
    # a latent-grid mask is used as it is
    lat = torch.zeros(x_src.shape[-3:])
    assert torch.equal(editing.edit_latents(pipe, x_src, SRC, TAR, mask=lat, **kw), x_src)
    with pytest.raises(ValueError, match="does not match the latent grid"):
        editing.edit_latents(pipe, x_src, SRC, TAR, mask=np.ones((T, H - 3, W), bool), **kw)
    with pytest.raises(ValueError, match="must lie in"):
        editing.edit_latents(pipe, x_src, SRC, TAR, mask=2 * ones.astype(np.float32), **kw)
    with pytest.raises(ValueError, match="use_mask=False"):
        editing.edit_latents(pipe, x_src, SRC, TAR, mask=ones, **{**kw, "use_mask": False})
    with pytest.raises(ValueError, match="method 'inversion' has no mask"):
        pipe.edit(clip, SRC, TAR, method="inversion", mask=ones)


# ----------------------------------------------------------------------------- the public contract

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
        EditConfig(n_avg=2, n_worse=3, use_dag=True)


def test_edit_metrics_on_ground_truth():
    src = shapes.render("red", "circle", "left", "black", rng=5)
    motion = shapes.sample_motion("left", rng=5)          # the geometry render(..., rng=5) drew
    perfect = shapes.render("red", "triangle", "left", "black", motion=motion)
    r = editing.edit_metrics(src, perfect, SRC, SRC.replace("circle", "triangle"))
    assert r["success"] and r["preserved"] and r["bg_psnr"] > 40
    # against the source clip a perfect circle -> triangle edit is not at 0 px: the thresholded
    # box trims the triangle's apex; against the ideal edit (the same render) it is
    assert 0.3 < r["drift_src"] == r["drift"] < 1.2
    assert np.array_equal(editing.ideal_edit(SRC.replace("circle", "triangle"), 5), perfect)
    r = editing.edit_metrics(src, perfect, SRC, SRC.replace("circle", "triangle"), reference=perfect)
    assert r["drift"] == 0.0 and r["drift_src"] > 0.3
    r = editing.edit_metrics(src, src, SRC, SRC.replace("circle", "triangle"))
    assert not r["success"] and r["drift"] == 0.0 and r["bg_psnr"] == float("inf")
    moved = np.roll(src, 3, axis=1)                       # the same clip, 3 px lower
    assert abs(editing.edit_metrics(src, moved, SRC, SRC)["drift"] - 3.0) < 0.01


def test_measure_rows_summary_and_table(pipe):
    """measure: a reconstruction row and one row per variant and edit, drift against the ideal
    edit beside drift against the source; summarise / results_table report both."""
    edits = editing.shapes_edits(1, ("color", "shape"), seed=1)
    rows = editing.measure(pipe, edits, {"flowedit": ("flowedit", FAST)}, progress=False)
    assert [r["variant"] for r in rows] == ["reconstruction", "flowedit"] * 2
    for r, e in zip(rows[1::2], edits):
        assert r["kind"] == e["kind"] and r["nfe"] > 0 and r["seconds"] > 0
        assert r["drift"] >= 0 and r["drift_src"] >= 0 and r["bg_psnr"] > 0
    assert all(r["drift"] == r["drift_src"] for r in rows[::2])                # recon: the source
    summary = editing.summarise(rows)
    assert set(summary) == {"reconstruction", "flowedit"} and summary["flowedit"]["n"] == 2
    assert summary["flowedit"]["drift_src_median"] == np.median([r["drift_src"] for r in rows[1::2]])
    table = editing.results_table(summary, reference="flowedit")
    assert "drift vs source" in table and table.count("\n") == 3


# ----------------------------------------------------------------------------- the scaled path

@pytest.fixture(scope="module")
def cog(tmp_path_factory):
    """A random toy CogVideoX-2B folder (tests/cogvideox_fixtures.py) on minicog's modules."""
    pytest.importorskip("diffusers")
    pytest.importorskip("transformers")
    from cogvideox_fixtures import build_cogvideox_folder
    from minicog.cogvideox import CogVideoX
    return CogVideoX.from_pretrained(build_cogvideox_folder(tmp_path_factory.mktemp("cog") / "2b", "2b"),
                                     device="cpu")


def test_scaled_path_edits_with_the_same_code(cog):
    """v-prediction converted to an RF velocity: all four methods run, FlowDirector finds the edited
    words among T5's 226 tokens, and equal prompts give the identity."""
    from cogvideox_fixtures import SAMPLE
    video = np.random.default_rng(0).integers(0, 256, (SAMPLE["frames"], SAMPLE["height"], SAMPLE["width"], 3),
                                              dtype=np.uint8)
    src, tar = "a red cat playing on a black background", "a blue dog playing on a black background"
    assert flowdirector.token_indices(cog, src, ["red", "cat"]) == [1, 2]      # ▁a ▁red ▁cat ...
    x = cog.encode_video(video)
    for method in editing.METHODS:
        z = editing.edit_latents(cog, x, src, tar, seed=0, method=method, **FAST)
        assert z.shape == x.shape and torch.isfinite(z).all() and not torch.equal(z, x)
    z_lam = editing.edit_latents(cog, x, src, tar, seed=0, method="flowdirector", edit_guidance=1.0, **FAST)
    assert torch.isfinite(z_lam).all() and not torch.equal(z_lam, z)            # z: flowdirector, λ = 0
    infos = []
    out = editing.edit(cog, video, src, tar, seed=0, method="flowdirector", callback=infos.append, **FAST)
    assert out.dtype == np.uint8 and out.shape == video.shape
    assert infos[0]["mask"].shape == (3, 8, 12)                               # latent grid (T, h, w)
    z = editing.edit_latents(cog, x, src, src, seed=0, method="flowdirector", src_guidance=2.0,
                             tar_guidance=2.0, **FAST)
    assert torch.equal(z, x.float())


def test_model_call_counts_show_why_inversion_is_slow(pipe, x_src):
    """Per edit step: FlowEdit makes one batched call (source + target, with their unconditional
    twins); inversion makes one call up and one call down — twice the *sequential* calls."""
    with editing.count_model_calls(pipe) as fe:
        editing.edit_latents(pipe, x_src, SRC, TAR, method="flowedit", **FAST)
    with editing.count_model_calls(pipe) as inv:
        editing.edit_latents(pipe, x_src, SRC, TAR, method="inversion", steps=4, n_max=2)
    assert fe == dict(calls=2, rows=2 * 4)
    assert inv == dict(calls=2 + 2, rows=2 * 1 + 2 * 2)
    assert "velocity" not in vars(pipe)                                     # restored


def test_shipped_model_flowdirector_edits_colour_in_place():
    """The shipped tiny model with the tuned `flowdirector` preset: colour edits (the kind the model
    renders reliably) are read by the oracle as the target colour with direction, background and
    shape kept, and the object stays where it was (the full table: benchmarks/bench_editing.py)."""
    from minicog.pipeline import load_pipeline
    shipped = load_pipeline("tiny", device="cpu")
    edits = editing.shapes_edits(4, ("color",), seed=1)
    rows = []
    for e in edits:
        src = shapes.render_caption(e["source"], rng=e["seed"])
        out = shipped.edit(src, e["source"], e["target"], seed=0, method="flowdirector")
        rows.append(editing.edit_metrics(src, out, e["source"], e["target"],
                                         reference=editing.ideal_edit(e["target"], e["seed"])))
    assert sum(r["success"] for r in rows) >= 3, rows
    assert sum(r["preserved"] for r in rows) >= 3, rows
    assert np.median([r["drift"] for r in rows]) < 4.0, rows
