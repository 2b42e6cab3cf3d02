"""FlowDirector (minicog.flowdirector): which words changed and where they sit among the tokens,
SAFC's attention and given masks, differential averaging guidance, and the parts as options; the
measurement of a word's map (minicog.mask_eval)."""
import itertools

import numpy as np
import pytest
import torch

import editing_fixtures as fx
from editing_fixtures import FAST, MockModel
from minicog import edit, edit_eval, editing, flowdirector, mask_eval
from minicog.editing import EditConfig
from minicog.flowdirector import DAG, AttentionMask, DirectionAware, FlowDirector, MaskRule, MotionGate, VelocityMask

SRC, TAR = fx.SRC, fx.TAR
pipe, clip, x_src = fx.pipe, fx.clip, fx.x_src          # the shared fixtures, registered in this module




# ----------------------------------------------------------------------------- which words

def test_diff_words_and_token_indices(pipe):
    assert flowdirector.diff_words(SRC, TAR) == (["red"], ["blue"])
    assert flowdirector.diff_words(SRC, SRC) == ([], [])
    assert flowdirector.diff_words(SRC, SRC.replace("circle", "big square")) == (["circle"], ["big", "square"])
    assert flowdirector.token_indices(pipe, SRC, ["red"]) == [2]          # <bos> a red ...
    assert flowdirector.token_indices(pipe, TAR, ["blue", "circle"]) == [2, 3]
    with pytest.raises(ValueError, match="not in the prompt"):
        flowdirector.token_indices(pipe, SRC, ["green"])


def test_diff_words_insertions_deletions_case_and_punctuation():
    add = SRC.replace("red circle", "big red circle")
    assert flowdirector.diff_words(SRC, add) == ([], ["big"])              # insertion: target only
    assert flowdirector.diff_words(add, SRC) == (["big"], [])              # deletion: source only
    # words are compared as `text_encoder.split_words` reads them: lower case, no punctuation
    punctuated = ("A Red circle, moving left.", "a blue circle moving LEFT")
    assert flowdirector.diff_words(*punctuated) == (["red"], ["blue"])
    two = SRC.replace("red", "blue").replace("black", "white")
    assert flowdirector.diff_words(SRC, two) == (["red", "black"], ["blue", "white"])


def test_token_indices_on_the_word_tokenizer(pipe):
    # <bos> a red circle moving left on a black background
    assert flowdirector.token_indices(pipe, SRC, ["moving", "left"]) == [4, 5]
    assert flowdirector.token_indices(pipe, SRC, ["black", "red"]) == [8, 2]   # in the words' order
    assert flowdirector.token_indices(pipe, SRC, ["red", "red"]) == [2]        # each position once
    assert flowdirector.token_indices(pipe, SRC, ["a"]) == [1]                 # the first occurrence
    assert flowdirector.token_indices(pipe, SRC, []) == []
    for missing in (["green"], ["zebra"], ["red", "square"]):               # known / unknown word
        with pytest.raises(ValueError, match="not in the prompt"):
            flowdirector.token_indices(pipe, SRC, missing)


def test_token_indices_prefers_the_pipelines_own_and_needs_a_tokenizer():
    class Own:
        def token_indices(self, prompt, words):
            return [len(prompt), len(words)]

    class HF:                                          # a Hugging Face-style tokenizer: callable
        def tokenizer(self, text, add_special_tokens=True):
            ids = [ord(c) for c in text.replace(" ", "")]
            return {"input_ids": ids + [0] if add_special_tokens else ids}

    assert flowdirector.token_indices(Own(), "abc", ["x", "y"]) == [3, 2]
    assert flowdirector.token_indices(HF(), "ab cd", ["cd"]) == [2, 3]      # both characters
    with pytest.raises(ValueError, match="cannot find the pipeline's tokenizer"):
        flowdirector.token_indices(object(), SRC, ["red"])


def test_default_attention_layers():
    assert flowdirector.default_attention_layers(6) == [2, 3]               # the tiny DiT
    assert flowdirector.default_attention_layers(30) == list(range(9, 18))  # CogVideoX-2B
    assert flowdirector.default_attention_layers(42) == list(range(13, 25))  # CogVideoX-5B
    for n in (1, 2, 3):                                                      # never empty
        layers = flowdirector.default_attention_layers(n)
        assert layers and all(0 <= layer < n for layer in layers)


# ----------------------------------------------------------------------------- SAFC masks

def test_attention_mask_shapes_values_and_threshold():
    maps = torch.rand(3, 5, 4, 4, generator=torch.Generator().manual_seed(0)) * 0.1
    maps[:, :, 0, 0] += 1.0                                # one token per frame lights up
    mask, parts = flowdirector.attention_mask(maps, (5, 8, 8), MaskRule(kernel=1, threshold="mean", decay=2.0),
                                              return_parts=True)
    assert mask.shape == (5, 8, 8) and parts["binary"].shape == (3, 5, 8, 8)
    assert mask.min() >= 0 and mask.max() <= 1
    assert (mask[:, :2, :2] == 1).all()                    # the token's 2×2 latent pixels
    assert mask[:, 2, 2].allclose(torch.tensor(np.exp(-2.0), dtype=torch.float32))  # 1 px away
    assert (mask[:, 6:, 6:] < 1e-4).all()
    # a higher threshold never grows the mask (the notebook's slider)
    areas = [flowdirector.attention_mask(maps, (5, 8, 8), MaskRule(kernel=3, threshold=th)).sum().item()
             for th in (0.05, 0.3, 0.6, 0.9)]
    assert all(a >= b for a, b in zip(areas, areas[1:])) and areas[0] > areas[-1]
    # a constant map cannot localise anything: all ones
    assert (flowdirector.attention_mask(torch.ones(1, 5, 4, 4), (5, 8, 8), MaskRule(3, "mean")) == 1).all()
    with pytest.raises(ValueError):
        flowdirector.attention_mask(torch.ones(5, 4, 4), (5, 8, 8), MaskRule())
    for bad, match in ((dict(threshold="median"), "threshold"), (dict(threshold=1.5), "threshold"),
                       (dict(kernel=2), "kernel"), (dict(decay=0), "decay")):
        with pytest.raises(ValueError, match=match):
            MaskRule(**bad)


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


def test_soften_edges_is_exp_of_the_chessboard_distance():
    binary = torch.zeros(2, 5, 5)
    binary[0, 2, 2] = 1.0                                  # one pixel on in frame 0, none in frame 1
    soft = flowdirector.soften_edges(binary, decay=2.0)
    d = torch.maximum(*torch.meshgrid((torch.arange(5) - 2).abs(), (torch.arange(5) - 2).abs(),
                                      indexing="ij")).float()
    assert torch.allclose(soft[0], torch.exp(-2.0 * d))
    assert (soft[1] == 0).all()                            # a frame without any mask stays 0
    assert (flowdirector.soften_edges(torch.ones(1, 3, 3), 1.5) == 1).all()


def test_latent_mask_groups_frames_as_the_causal_vae_and_patches_as_the_grid():
    m = np.zeros((17, 64, 64), bool)
    m[5, :8, :8] = True                # pixel frame 5 → latent frame 2 (frames 5–8); 8×8 px → 1 token
    lat = flowdirector.latent_mask(m, (5, 8, 8), decay=1.5)
    assert lat.shape == (5, 8, 8)
    assert lat[2, 0, 0] == 1.0
    assert torch.allclose(lat[2, 1, 1], torch.tensor(float(np.exp(-1.5))))
    assert torch.allclose(lat[2, 0, 3], torch.tensor(float(np.exp(-1.5 * 3))))
    assert (lat[[0, 1, 3, 4]] == 0).all()
    first = np.zeros((17, 64, 64), bool)
    first[0, 60:, 60:] = True                                      # frame 0 alone is latent frame 0
    lat0 = flowdirector.latent_mask(first, (5, 8, 8))
    assert lat0[0, 7, 7] == 1 and lat0[1:].sum() == 0
    grid = torch.rand(5, 8, 8)
    assert torch.equal(flowdirector.latent_mask(grid, (5, 8, 8)), grid)    # the latent grid: as it is
    share = flowdirector.per_latent_frame(torch.from_numpy(m).float(), 5, "mean")
    assert share.shape == (5, 64, 64) and share[2, 0, 0] == 0.25          # 1 of the 4 frames
    with pytest.raises(ValueError, match="must be"):
        flowdirector.latent_mask(np.ones((64, 64)), (5, 8, 8))
    with pytest.raises(ValueError, match="do not group"):
        flowdirector.latent_mask(np.ones((16, 64, 64)), (5, 8, 8))


def test_token_grid_ceiling_is_what_a_perfect_map_reaches_at_the_token_resolution():
    obj, other = torch.zeros(5, 8, 8), torch.zeros(5, 8, 8)
    obj[:, 2:4, 2:4] = 1                   # exactly one 2×2 attention token: a perfect map finds it
    other[:, 6:, 6:] = 1
    assert mask_eval.token_grid_ceiling(obj, other, patch=2) == (1.0, 0.0)
    straddle = torch.zeros(5, 8, 8)
    straddle[:, 1:3, 1:3] = 1              # the same size across four tokens: one value per token
    iou, on_other = mask_eval.token_grid_ceiling(straddle, other, patch=2)
    assert iou == pytest.approx(4 / 16) and on_other == 0.0     # the 4 tokens' 16 cells, 4 of them it
    near = torch.zeros(5, 8, 8)
    near[:, 3:5, 3:5] = 1                  # an "other" object sharing those tokens is covered too
    assert mask_eval.token_grid_ceiling(straddle, near, patch=2)[1] == pytest.approx(0.25)


def test_mask_keeps_the_edit_inside_the_attended_region():
    m = MockModel()
    x = torch.randn(1, 2, 5, 8, 8)
    prompts = editing.encode_prompts(m.encode_prompt, "a b c", "a b c d e")
    cfg = EditConfig(steps=6, n_max=4, n_avg=3, src_guidance=1.0, tar_guidance=1.0)
    z_fe = editing.flowedit(m.velocity, x, prompts, cfg, torch.Generator().manual_seed(0))
    parts = FlowDirector(mask=AttentionMask(kernel=1, threshold="mean", decay=4.0), dag=None)
    z = flowdirector.flowdirector(m.velocity, x, prompts, cfg, torch.Generator().manual_seed(0), parts,
                                  record=m.record_attention, source_tokens=[1], target_tokens=[2])
    change, change_fe = (z - x).abs(), (z_fe - x).abs()
    assert torch.allclose(change[..., :4, :4], change_fe[..., :4, :4])     # inside: the full edit
    assert change[..., 6:, :].max() < 1e-2 * change_fe.max()              # far outside: ~untouched
    # the mask from the other half of the joint attention lands where the fake model's word
    # queries look (the bottom-right quarter)
    t2v = FlowDirector(mask=AttentionMask(kernel=1, threshold="mean", decay=4.0, attn_map="text_to_video"), dag=None)
    z_k = flowdirector.flowdirector(m.velocity, x, prompts, cfg, torch.Generator().manual_seed(0), t2v,
                                    record=m.record_attention, source_tokens=[1], target_tokens=[2])
    change_k = (z_k - x).abs()
    assert torch.allclose(change_k[..., 4:, 4:], change_fe[..., 4:, 4:])
    assert change_k[..., :2, :].max() < 1e-2 * change_fe.max()
    with pytest.raises(ValueError, match="attn_map"):
        AttentionMask(attn_map="cross")


def test_a_given_mask_replaces_the_attention_mask(pipe, clip, x_src):
    """edit(..., mask=): a pixel (or latent) mask in place of SAFC's; 0 keeps the source exactly,
    1 everywhere is the edit without a mask, a region edits only there."""
    kw = dict(method="flowdirector", n_avg=3, dag=DAG(n_worse=1), seed=4, **FAST)
    T, H, W, _ = clip.shape
    zeros, ones = np.zeros((T, H, W), bool), np.ones((T, H, W), bool)
    assert torch.equal(edit.edit_latents(pipe, x_src, SRC, TAR, mask=zeros, **kw), x_src)
    z_ones = edit.edit_latents(pipe, x_src, SRC, TAR, mask=ones, **kw)
    assert torch.equal(z_ones, edit.edit_latents(pipe, x_src, SRC, TAR, mask=None, **kw))
    left = zeros.copy()
    left[:, :, : W // 2] = True                                      # the left half of every frame
    infos = []
    z = edit.edit_latents(pipe, x_src, SRC, TAR, mask=left, callback=infos.append, **kw)
    M = infos[0]["mask"]
    assert M.shape == x_src.shape[-3:] and torch.all(M[..., : M.shape[-1] // 2] == 1)
    d = M.shape[-1] - M.shape[-1] // 2                               # last column to the half's edge
    assert torch.allclose(M[..., -1], torch.full_like(M[..., -1], float(np.exp(-1.5 * d))))
    change, change_all = (z - x_src).abs(), (z_ones - x_src).abs()
    assert change[..., -1].max() < 0.05 * change_all[..., -1].max()  # far right: nearly kept
    # a latent-grid mask is used as it is
    lat = torch.zeros(x_src.shape[-3:])
    assert torch.equal(edit.edit_latents(pipe, x_src, SRC, TAR, mask=lat, **kw), x_src)
    with pytest.raises(ValueError, match="does not match the latent grid"):
        edit.edit_latents(pipe, x_src, SRC, TAR, mask=np.ones((T, H - 3, W), bool), **kw)
    with pytest.raises(ValueError, match="must lie in"):
        edit.edit_latents(pipe, x_src, SRC, TAR, mask=2 * ones.astype(np.float32), **kw)
    with pytest.raises(ValueError, match="mask must be AttentionMask or VelocityMask or Tensor or ndarray"):
        edit.edit_latents(pipe, x_src, SRC, TAR, mask=[[0, 1]], **kw)
    with pytest.raises(ValueError, match="mask= is a FlowDirector option: method 'inversion'"):
        edit.edit(pipe, clip, SRC, TAR, method="inversion", mask=ones)


def test_velocity_mask_marks_where_the_prompts_ask_for_different_velocities():
    """mask=VelocityMask() (DiffEdit's mask): a model whose target prompt changes the velocity
    only in a box gives a mask that is 1 on the box and small away from it; the edit keeps the
    source there, needs no attention hook, and leaves the edit's own noise draws unchanged."""
    m = MockModel()
    box = torch.zeros(1, 2, 5, 8, 8)
    box[..., 1:4, 2:5] = 1.0

    def velocity(z, t, embeds, mask):                       # prompt-dependent only inside the box
        return 0.1 * z + embeds.mean(dim=(1, 2)).view(-1, 1, 1, 1, 1) * box

    x = torch.randn(1, 2, 5, 8, 8)
    prompts = editing.encode_prompts(m.encode_prompt, "a b c", "a b c d e")
    cfg = EditConfig(steps=6, n_max=4, n_avg=3, src_guidance=1.0, tar_guidance=1.0)
    rule = VelocityMask(kernel=1, threshold=0.5, decay=4.0)
    g = torch.Generator().manual_seed(0)
    state = g.get_state()
    M, parts = flowdirector.velocity_mask(velocity, x, prompts, rule, g, return_parts=True)
    assert torch.equal(g.get_state(), state)                  # the edit's generator is not drawn from
    assert torch.all(M[:, 1:4, 2:5] == 1) and M[:, 6:, :].max() < 1e-3 and M.shape == (5, 8, 8)
    assert parts["difference"][:, 1:4, 2:5].min() > 10 * parts["difference"][:, 6:, :].max()
    infos = []
    z = flowdirector.flowdirector(velocity, x, prompts, cfg, torch.Generator().manual_seed(0),
                                  FlowDirector(mask=rule, dag=None), callback=infos.append)   # no `record` needed
    assert torch.equal(infos[0]["mask"], M)
    assert (z - x)[..., 6:, :].abs().max() < 1e-3 * (z - x).abs().max()
    with pytest.raises(ValueError, match="mask must be"):
        FlowDirector(mask="segmentation")
    with pytest.raises(ValueError, match="0 < t < 1"):
        VelocityMask(t=1.0)


def test_velocity_mask_through_pipe_edit(pipe, clip):
    """pipe.edit(..., method="flowdirector", mask=VelocityMask()) runs end to end and differs
    from the attention mask's edit."""
    kw = dict(method="flowdirector", n_avg=3, dag=DAG(n_worse=1), seed=4, **FAST)
    a = edit.edit(pipe, clip, SRC, TAR, mask=VelocityMask(), **kw)
    b = edit.edit(pipe, clip, SRC, TAR, **kw)
    assert a.shape == clip.shape and a.dtype == np.uint8 and not np.array_equal(a, b)


# ----------------------------------------------------------------------------- DAG and switches

def test_differential_averaging():
    V = torch.randn(5, 2, 3, generator=torch.Generator().manual_seed(0))
    out, better, worse = flowdirector.differential_averaging(V, DAG(3, 1.0))
    assert torch.allclose(out, V.mean(0, keepdim=True))                   # ω = 1: plain averaging
    out, better, worse = flowdirector.differential_averaging(V, DAG(3, 3.0))
    assert torch.allclose(worse, V[:3].mean(0, keepdim=True))
    assert torch.allclose(out, worse + 3.0 * (better - worse), atol=1e-6)  # the CFG form
    # why one subset: averaging (V_better − V_worse) over ALL subsets of size 3 cancels exactly
    trend = torch.stack([better[0] - V[list(c)].mean(0) for c in itertools.combinations(range(5), 3)]).mean(0)
    assert trend.abs().max() < 1e-6
    with pytest.raises(ValueError):
        flowdirector.differential_averaging(V, DAG(5, 3.0))


def test_differential_averaging_shapes_and_omega_one():
    V = torch.randn(4, 2, 3, 5, 5, generator=torch.Generator().manual_seed(1))   # (N, C, T, h, w)
    out, better, worse = flowdirector.differential_averaging(V, DAG(1, 1.0))
    assert out.shape == better.shape == worse.shape == (1, 2, 3, 5, 5)
    assert torch.equal(out, better) and torch.allclose(better, V.mean(0, keepdim=True))
    assert torch.allclose(worse, V[:1])
    with pytest.raises(ValueError, match="n_worse"):
        DAG(0, 3.0)


def test_v2_dag_takes_the_least_similar_candidates():
    """v2: V_BL is the mean of the n_worse candidates least similar to V_HQ; w = ω − 1 = 0 is plain
    averaging, any other w differs from it (and from v1 when the least similar are not the first)."""
    g = torch.Generator().manual_seed(2)
    V = torch.randn(6, 2, 3, 4, 4, generator=g) * 0.1 + 1.0                  # six similar candidates
    V[4] = -V[4]                                                              # two that point away
    V[1] = -V[1]
    out, better, worse = flowdirector.differential_averaging(V, DAG(2, 3.75, version="v2"))
    assert torch.allclose(worse, V[[1, 4]].mean(0, keepdim=True))           # the two outliers, by cosine
    assert torch.allclose(out, better + 2.75 * (better - worse), atol=1e-6)  # V_HQ + w·(V_HQ − V_BL)
    assert not torch.allclose(out, V.mean(0, keepdim=True))                   # differs from averaging
    v1, _, _ = flowdirector.differential_averaging(V, DAG(2, 3.75, version="v1"))
    assert not torch.allclose(out, v1)                                        # and from v1 (first two)
    plain, _, _ = flowdirector.differential_averaging(V, DAG(2, 1.0, version="v2"))
    assert torch.allclose(plain, V.mean(0, keepdim=True))                     # w = 0: plain averaging
    with pytest.raises(ValueError, match="DAG version must be one of"):
        DAG(2, 3.0, version="v3")


def test_v2_dag_runs_through_edit(pipe, x_src):
    kw = dict(steps=4, n_max=2, n_avg=4, mask=None, seed=0, method="flowdirector")
    v1 = edit.edit_latents(pipe, x_src, SRC, TAR, dag=DAG(n_worse=2, omega=3.0), **kw)
    v2 = edit.edit_latents(pipe, x_src, SRC, TAR, dag=DAG(n_worse=2, omega=3.0, version="v2"), **kw)
    plain = edit.edit_latents(pipe, x_src, SRC, TAR, dag=DAG(n_worse=2, omega=1.0, version="v2"), **kw)
    avg = edit.edit_latents(pipe, x_src, SRC, TAR, dag=None, **kw)
    assert v2.shape == x_src.shape and not torch.allclose(v1, v2)
    assert torch.allclose(plain, avg, atol=1e-6)                              # ω = 1 is the plain average


def test_parts_are_options(pipe, x_src):
    """mask= / dag= turn exactly their part off (None) or swap it; both off is FlowEdit with n_avg
    draws; the defaults are the preset, `FlowDirector()`."""
    def run(**kw):
        infos = []
        kw = dict(n_avg=3) | kw
        z = edit.edit_latents(pipe, x_src, SRC, TAR, seed=4, callback=infos.append, **FAST, **kw)
        return z, infos[0]
    one = DAG(n_worse=1)
    z_full, full = run(method="flowdirector", dag=one)
    assert {"mask", "v_better", "v_worse"} <= set(full)
    assert full["mask"].shape == x_src.shape[-3:]
    assert torch.allclose(full["v"], full["v_unmasked"] * full["mask"])
    _, no_mask = run(method="flowdirector", mask=None, dag=one)
    assert "mask" not in no_mask and "v_better" in no_mask
    _, no_dag = run(method="flowdirector", dag=None)
    assert "mask" in no_dag and "v_better" not in no_dag
    z_none, none = run(method="flowdirector", mask=None, dag=None)
    assert "mask" not in none and "v_better" not in none
    z_fe, _ = run(method="flowedit")
    assert torch.equal(z_none, z_fe)
    assert not torch.equal(z_full, z_none)
    # the preset's parts: the paper's v1 as tuned here
    preset = FlowDirector()
    assert preset.mask == AttentionMask(kernel=1, threshold=0.3, decay=1.5) and preset.dag == DAG(6, 3.0, "v1")
    assert preset.direction_aware is None and preset.motion_gate is None
    z_given = edit.edit_latents(pipe, x_src, SRC, TAR, seed=4, method="flowdirector", n_avg=7, **FAST,
                                mask=AttentionMask(kernel=1, threshold=0.3), dag=DAG(6, 3.0))
    assert torch.equal(z_given, edit.edit_latents(pipe, x_src, SRC, TAR, seed=4, method="flowdirector",
                                                  n_avg=7, **FAST))


@pytest.mark.parametrize("method", ["random_noise", "inversion", "flowedit"])
@pytest.mark.parametrize("option", ["mask", "dag", "direction_aware", "motion_gate"])
def test_a_flowdirector_option_given_to_another_method_is_an_error(pipe, clip, x_src, method, option):
    """Each method runs only itself: a FlowDirector part given to another method — even None — is a
    ValueError that names the option and the method, raised before any model call."""
    value = dict(mask=VelocityMask(), dag=DAG(), direction_aware=DirectionAware(), motion_gate=MotionGate())[option]
    with edit_eval.count_model_calls(pipe) as calls:
        for v in (value, None):
            with pytest.raises(ValueError, match=f"{option}= is a FlowDirector option: method '{method}'"):
                edit.edit_latents(pipe, x_src, SRC, TAR, method=method, **{option: v}, **FAST)
            with pytest.raises(ValueError, match=f"{option}= is a FlowDirector option: method '{method}'"):
                edit.edit(pipe, clip, SRC, TAR, method=method, **{option: v}, **FAST)
    assert calls["calls"] == 0


def test_flowedit_never_runs_flowdirector(pipe, x_src):
    """method="flowedit" is FlowEdit: several options at once are one error naming them all, and its
    own edit never reports FlowDirector's parts (no mask, no DAG) to the callback."""
    with pytest.raises(ValueError, match="mask=, dag= are FlowDirector options: method 'flowedit'"):
        edit.edit_latents(pipe, x_src, SRC, TAR, method="flowedit", mask=VelocityMask(), dag=DAG(n_worse=1),
                          n_avg=3, **FAST)
    infos = []
    edit.edit_latents(pipe, x_src, SRC, TAR, method="flowedit", n_avg=3, callback=infos.append, **FAST)
    assert infos and all(i["method"] == "flowedit" and "mask" not in i and "v_better" not in i for i in infos)


# ----------------------------------------------------------------------------- v2's corrections

def test_direction_aware_correction():
    """DA-FC, per latent token: the part of V along the source velocity is dropped where it points
    with it, scaled by 1 + α where it points against it; the orthogonal part is untouched."""
    s = torch.zeros(1, 2, 1, 1, 3)
    s[0, 0] = 1.0                                            # source velocity along channel 0
    V = torch.tensor([[2.0, 1.0], [-2.0, 1.0], [0.0, 1.0]]).T.reshape(1, 2, 1, 1, 3)
    out = flowdirector.direction_aware(V, s, DirectionAware(alpha=0.25))
    assert torch.allclose(out[0, :, 0, 0, 0], torch.tensor([0.0, 1.0]))    # aligned part removed
    assert torch.allclose(out[0, :, 0, 0, 1], torch.tensor([-2.5, 1.0]))   # opposing part × 1.25
    assert torch.allclose(out[0, :, 0, 0, 2], torch.tensor([0.0, 1.0]))    # orthogonal: unchanged
    assert torch.equal(flowdirector.direction_aware(torch.zeros_like(V), s, DirectionAware(0.25)),
                       torch.zeros_like(V))
    with pytest.raises(ValueError, match="alpha"):
        DirectionAware(alpha=-1)


def test_motion_gate_and_decoupling():
    """MAD-FC: a token that never changes gets gate 0 and keeps only the time-constant part of V; one
    that moves most gets gate 1 and keeps V; gate 1 everywhere is the identity."""
    x = torch.zeros(1, 2, 4, 1, 2)
    x[0, :, :, 0, 1] = torch.tensor([0.0, 1.0, 0.0, 1.0])   # token 1 flickers, token 0 is static
    gate = flowdirector.motion_gate(x, MotionGate(0.01, 0.3))
    assert gate.shape == (1, 1, 4, 1, 2)
    assert torch.all(gate[..., 0] == 0) and torch.all(gate[..., 1] == 1)
    V = torch.randn(1, 2, 4, 1, 2, generator=torch.Generator().manual_seed(0))
    out = flowdirector.decouple_motion(V, gate)
    assert torch.allclose(out[..., 0], V[..., 0].mean(2, keepdim=True).expand_as(V[..., 0]))
    assert torch.allclose(out[..., 1], V[..., 1])
    assert torch.allclose(flowdirector.decouple_motion(V, torch.ones_like(gate)), V)
    with pytest.raises(ValueError, match="low < high"):
        MotionGate(low=0.5, high=0.3)


def test_v2_corrections_are_options(pipe, x_src):
    """Off (the default) = today's FlowDirector bit for bit; on, each changes the edit and reports
    its parts to the callback; equal prompts stay the identity with both on."""
    kw = dict(n_avg=3, dag=DAG(n_worse=1), **FAST)
    base = edit.edit_latents(pipe, x_src, SRC, TAR, seed=4, method="flowdirector", **kw)
    off = edit.edit_latents(pipe, x_src, SRC, TAR, seed=4, method="flowdirector", direction_aware=None,
                            motion_gate=None, **kw)
    assert torch.equal(base, off)
    for option, key in ((dict(direction_aware=DirectionAware()), "v_before_dafc"),
                        (dict(motion_gate=MotionGate()), "motion_gate")):
        infos = []
        on = edit.edit_latents(pipe, x_src, SRC, TAR, seed=4, method="flowdirector", callback=infos.append,
                               **option, **kw)
        assert key in infos[0] and not torch.allclose(on, base)
    same = edit.edit_latents(pipe, x_src, SRC, SRC, seed=4, method="flowdirector", direction_aware=DirectionAware(),
                             motion_gate=MotionGate(), **kw)
    assert torch.equal(same, x_src)
