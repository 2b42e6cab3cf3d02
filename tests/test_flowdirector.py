"""FlowDirector (minicog.flowdirector): which words changed and where they sit among the tokens,
SAFC's attention and given masks, differential averaging guidance, and the ablation switches."""
import itertools

import numpy as np
import pytest
import torch

from editing_fixtures import FAST, SRC, TAR, MockModel, clip, pipe, red_circle, tiny_pipeline, x_src  # noqa: F401 (fixtures)
from minicog import edit, editing, flowdirector
from minicog.editing import EditConfig




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
        assert layers and all(0 <= l < n for l in layers)


# ----------------------------------------------------------------------------- SAFC masks

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


def test_mask_reduce_mean_votes_where_union_widens():
    maps = torch.zeros(3, 5, 4, 4)
    maps[:, :, 1, 1] = 1.0                     # all three maps find the token (1, 1) ...
    maps[0, :, 3, 3] = 1.0                     # ... one of them also (3, 3)
    kw = dict(kernel=1, threshold=0.5, decay=1.5, return_parts=True)     # (3, 3): 1 of 3 votes, 0.33
    _, union = flowdirector.attention_mask(maps, (5, 8, 8), **kw)
    _, mean = flowdirector.attention_mask(maps, (5, 8, 8), reduce="mean", **kw)
    assert union["union"][:, 6:, 6:].eq(1).all() and union["union"][:, 2:4, 2:4].eq(1).all()
    assert mean["union"][:, 6:, 6:].eq(0).all() and mean["union"][:, 2:4, 2:4].eq(1).all()
    one = maps[:1]
    a, _ = flowdirector.attention_mask(one, (5, 8, 8), **kw)
    b, _ = flowdirector.attention_mask(one, (5, 8, 8), reduce="mean", **kw)
    assert torch.equal(a, b)                   # one map: the same mask either way
    flat = torch.ones(2, 5, 4, 4)
    assert flowdirector.attention_mask(flat, (5, 8, 8), reduce="mean").eq(1).all()
    with pytest.raises(ValueError, match="reduce"):
        flowdirector.attention_mask(maps, (5, 8, 8), reduce="max")
    with pytest.raises(ValueError, match="mask_reduce"):
        EditConfig(mask_reduce="max")


def test_token_grid_ceiling_is_what_a_perfect_map_reaches_at_the_token_resolution():
    obj, other = torch.zeros(5, 8, 8), torch.zeros(5, 8, 8)
    obj[:, 2:4, 2:4] = 1                   # exactly one 2×2 attention token: a perfect map finds it
    other[:, 6:, 6:] = 1
    assert flowdirector.token_grid_ceiling(obj, other, patch=2) == (1.0, 0.0)
    straddle = torch.zeros(5, 8, 8)
    straddle[:, 1:3, 1:3] = 1              # the same size across four tokens: one value per token
    iou, on_other = flowdirector.token_grid_ceiling(straddle, other, patch=2)
    assert iou == pytest.approx(4 / 16) and on_other == 0.0     # the 4 tokens' 16 cells, 4 of them it
    near = torch.zeros(5, 8, 8)
    near[:, 3:5, 3:5] = 1                  # an "other" object sharing those tokens is covered too
    assert flowdirector.token_grid_ceiling(straddle, near, patch=2)[1] == pytest.approx(0.25)


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


def test_a_given_mask_replaces_the_attention_mask(pipe, clip, x_src):
    """edit(..., mask=): a pixel (or latent) mask in place of SAFC's; 0 keeps the source exactly,
    1 everywhere is the edit without a mask, a region edits only there."""
    kw = dict(method="flowdirector", n_avg=3, n_worse=1, seed=4, **FAST)
    T, H, W, _ = clip.shape
    zeros, ones = np.zeros((T, H, W), bool), np.ones((T, H, W), bool)
    assert torch.equal(edit.edit_latents(pipe, x_src, SRC, TAR, mask=zeros, **kw), x_src)
    z_ones = edit.edit_latents(pipe, x_src, SRC, TAR, mask=ones, **kw)
    assert torch.equal(z_ones, edit.edit_latents(pipe, x_src, SRC, TAR, use_mask=False, **kw))
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
    with pytest.raises(ValueError, match="use_mask=False"):
        edit.edit_latents(pipe, x_src, SRC, TAR, mask=ones, **{**kw, "use_mask": False})
    with pytest.raises(ValueError, match="method 'inversion' has no mask"):
        edit.edit(pipe, clip, SRC, TAR, method="inversion", mask=ones)


def test_velocity_mask_marks_where_the_prompts_ask_for_different_velocities():
    """mask_source="velocity" (DiffEdit's mask): a model whose target prompt changes the velocity
    only in a box gives a mask that is 1 on the box and small away from it; the edit keeps the
    source there, needs no attention hook, and leaves the edit's own noise draws unchanged."""
    m = MockModel()
    box = torch.zeros(1, 2, 5, 8, 8)
    box[..., 1:4, 2:5] = 1.0

    def velocity(z, t, embeds, mask):                       # prompt-dependent only inside the box
        return 0.1 * z + embeds.mean(dim=(1, 2)).view(-1, 1, 1, 1, 1) * box

    x = torch.randn(1, 2, 5, 8, 8)
    prompts = editing.encode_prompts(m.encode_prompt, "a b c", "a b c d e")
    cfg = EditConfig(steps=6, n_max=4, n_avg=3, src_guidance=1.0, tar_guidance=1.0, use_mask=True,
                     mask_source="velocity", mask_kernel=1, mask_threshold=0.5, mask_decay=4.0)
    g = torch.Generator().manual_seed(0)
    state = g.get_state()
    M, parts = flowdirector.velocity_mask(velocity, x, prompts, cfg, g, return_parts=True)
    assert torch.equal(g.get_state(), state)                  # the edit's generator is not drawn from
    assert torch.all(M[:, 1:4, 2:5] == 1) and M[:, 6:, :].max() < 1e-3 and M.shape == (5, 8, 8)
    assert parts["difference"][:, 1:4, 2:5].min() > 10 * parts["difference"][:, 6:, :].max()
    infos = []
    z = flowdirector.flowdirector(velocity, x, prompts, cfg, torch.Generator().manual_seed(0),
                                  callback=infos.append)      # no `record`: no attention needed
    assert torch.equal(infos[0]["mask"], M)
    assert (z - x)[..., 6:, :].abs().max() < 1e-3 * (z - x).abs().max()
    with pytest.raises(ValueError, match="mask_source"):
        EditConfig(mask_source="segmentation")
    with pytest.raises(ValueError, match="mask_t"):
        EditConfig(mask_t=1.0)


def test_velocity_mask_through_pipe_edit(pipe, clip):
    """pipe.edit(..., method="flowdirector", mask_source="velocity") runs end to end and differs
    from the attention mask's edit."""
    kw = dict(method="flowdirector", n_avg=3, n_worse=1, seed=4, **FAST)
    a = edit.edit(pipe, clip, SRC, TAR, mask_source="velocity", **kw)
    b = edit.edit(pipe, clip, SRC, TAR, **kw)
    assert a.shape == clip.shape and a.dtype == np.uint8 and not np.array_equal(a, b)


def test_source_attention_mask_reads_the_source_words_once_from_the_source():
    """mask_source="source_attention": the edited source words' maps, recorded once from the source
    latent noised to mask_t (mask_draws rows, the source prompt, unguided), through SAFC's rule;
    the ODE then records nothing, and the edit's own noise draws are unchanged."""
    m = MockModel()
    box = torch.zeros(5, 8, 8)
    box[1:4, 2:5] = 1.0
    calls, recorders = [], []

    class Recorder:                                          # what dit.record_attention gives
        def __enter__(self):
            recorders.append(self)
            return self

        def __exit__(self, *exc):
            recorders.remove(self)

    def velocity(z, t, embeds, mask):
        calls.append((z.shape[0], float(t[0]), embeds.clone()))
        for rec in recorders:                                # token 2's attention sits on the box
            a = torch.ones(z.shape[0], 1, 6, 5, 8, 8)
            a[:, :, 2] += 9.0 * box
            rec.maps = {0: {"video_to_text": a, "text_to_video": a}}
        return 0.1 * z + embeds.mean(dim=(1, 2)).view(-1, 1, 1, 1, 1)

    x = torch.randn(1, 2, 5, 8, 8)
    prompts = editing.encode_prompts(m.encode_prompt, "a b c", "a b c d e")    # velocities differ everywhere
    cfg = EditConfig(steps=6, n_max=4, n_avg=3, src_guidance=1.0, tar_guidance=1.0, use_mask=True,
                     mask_source="source_attention", mask_t=0.15, mask_draws=3, mask_kernel=1,
                     mask_threshold=0.5, mask_decay=4.0, attn_map="video_to_text")
    g = torch.Generator().manual_seed(0)
    state = g.get_state()
    M = flowdirector.source_attention_mask(velocity, x, prompts, cfg, g, Recorder, [2], [0])
    assert torch.equal(g.get_state(), state)
    assert torch.all(M[1:4, 2:5] == 1) and M[:, 6:, :].max() < 1e-3 and M.shape == (5, 8, 8)
    (rows, t, embeds), = calls                               # one call: 3 source rows at t = 0.15
    src_embeds, _ = prompts.select([editing.SRC])
    assert rows == 3 and t == pytest.approx(0.15) and torch.equal(embeds, src_embeds.expand(3, -1, -1))
    calls.clear()
    infos = []
    made = []

    def record():
        made.append(1)
        return Recorder()

    z = flowdirector.flowdirector(velocity, x, prompts, cfg, torch.Generator().manual_seed(0), record=record,
                                  source_tokens=[2], target_tokens=[2], layers=[0], callback=infos.append)
    assert len(made) == 1 and torch.equal(infos[0]["mask"], M)          # recorded once, before the ODE
    assert (z - x)[..., 6:, :].abs().max() < 1e-3 * (z - x).abs().max()
    with pytest.raises(ValueError, match="edited words of the source"):
        flowdirector.source_attention_mask(velocity, x, prompts, cfg, g, Recorder, [], [0])


def test_source_attention_mask_through_pipe_edit(pipe, clip):
    """pipe.edit(..., method="flowdirector", mask_source="source_attention") runs end to end on the
    pipeline's DiT and differs from the per-step attention mask's edit."""
    kw = dict(method="flowdirector", n_avg=3, n_worse=1, seed=4, **FAST)
    a = edit.edit(pipe, clip, SRC, TAR, mask_source="source_attention", mask_t=0.15, **kw)
    b = edit.edit(pipe, clip, SRC, TAR, **kw)
    assert a.shape == clip.shape and a.dtype == np.uint8 and not np.array_equal(a, b)


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


def test_differential_averaging_shapes_and_omega_one():
    V = torch.randn(4, 2, 3, 5, 5, generator=torch.Generator().manual_seed(1))   # (N, C, T, h, w)
    out, better, worse = flowdirector.differential_averaging(V, 1, 1.0)
    assert out.shape == better.shape == worse.shape == (1, 2, 3, 5, 5)
    assert torch.equal(out, better) and torch.allclose(better, V.mean(0, keepdim=True))
    assert torch.allclose(worse, V[:1])
    with pytest.raises(ValueError, match="n_worse"):
        flowdirector.differential_averaging(V, 0, 3.0)


def test_v2_dag_takes_the_least_similar_candidates():
    """v2: V_BL is the mean of the n_worse candidates least similar to V_HQ; w = ω − 1 = 0 is plain
    averaging, any other w differs from it (and from v1 when the least similar are not the first)."""
    g = torch.Generator().manual_seed(2)
    V = torch.randn(6, 2, 3, 4, 4, generator=g) * 0.1 + 1.0                  # six similar candidates
    V[4] = -V[4]                                                              # two that point away
    V[1] = -V[1]
    out, better, worse = flowdirector.differential_averaging(V, 2, 3.75, version="v2")
    assert torch.allclose(worse, V[[1, 4]].mean(0, keepdim=True))           # the two outliers, by cosine
    assert torch.allclose(out, better + 2.75 * (better - worse), atol=1e-6)  # V_HQ + w·(V_HQ − V_BL)
    assert not torch.allclose(out, V.mean(0, keepdim=True))                   # differs from averaging
    v1, _, _ = flowdirector.differential_averaging(V, 2, 3.75, version="v1")
    assert not torch.allclose(out, v1)                                        # and from v1 (first two)
    plain, _, _ = flowdirector.differential_averaging(V, 2, 1.0, version="v2")
    assert torch.allclose(plain, V.mean(0, keepdim=True))                     # w = 0: plain averaging
    with pytest.raises(ValueError, match="DAG version"):
        flowdirector.differential_averaging(V, 2, 3.0, version="v3")
    with pytest.raises(ValueError, match="dag_version must be one of"):
        EditConfig(dag_version="v3")


def test_v2_dag_runs_through_edit(pipe, x_src):
    kw = dict(steps=4, n_max=2, n_avg=4, n_worse=2, use_mask=False, use_dag=True, omega=3.0)
    v1 = edit.edit_latents(pipe, x_src, SRC, TAR, seed=0, method="flowdirector", **kw)
    v2 = edit.edit_latents(pipe, x_src, SRC, TAR, seed=0, method="flowdirector", dag_version="v2", **kw)
    plain = edit.edit_latents(pipe, x_src, SRC, TAR, seed=0, method="flowdirector", dag_version="v2",
                              **{**kw, "omega": 1.0})
    avg = edit.edit_latents(pipe, x_src, SRC, TAR, seed=0, method="flowdirector", **{**kw, "use_dag": False})
    assert v2.shape == x_src.shape and not torch.allclose(v1, v2)
    assert torch.allclose(plain, avg, atol=1e-6)                              # ω = 1 is the plain average


def test_ablation_switches(pipe, x_src):
    """use_mask / use_dag toggle exactly their component; both off is FlowEdit with n_avg draws."""
    def run(**kw):
        infos = []
        kw = dict(n_avg=3, n_worse=1) | kw
        z = edit.edit_latents(pipe, x_src, SRC, TAR, seed=4, callback=infos.append, **FAST, **kw)
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


# ----------------------------------------------------------------------------- v2's corrections

def test_direction_aware_correction():
    """DA-FC, per latent token: the part of V along the source velocity is dropped where it points
    with it, scaled by 1 + α where it points against it; the orthogonal part is untouched."""
    s = torch.zeros(1, 2, 1, 1, 3)
    s[0, 0] = 1.0                                            # source velocity along channel 0
    V = torch.tensor([[2.0, 1.0], [-2.0, 1.0], [0.0, 1.0]]).T.reshape(1, 2, 1, 1, 3)
    out = flowdirector.direction_aware(V, s, alpha=0.25)
    assert torch.allclose(out[0, :, 0, 0, 0], torch.tensor([0.0, 1.0]))    # aligned part removed
    assert torch.allclose(out[0, :, 0, 0, 1], torch.tensor([-2.5, 1.0]))   # opposing part × 1.25
    assert torch.allclose(out[0, :, 0, 0, 2], torch.tensor([0.0, 1.0]))    # orthogonal: unchanged
    assert torch.equal(flowdirector.direction_aware(torch.zeros_like(V), s, 0.25), torch.zeros_like(V))
    with pytest.raises(ValueError, match="dafc_alpha"):
        EditConfig(dafc_alpha=-1)


def test_motion_gate_and_decoupling():
    """MAD-FC: a token that never changes gets gate 0 and keeps only the time-constant part of V; one
    that moves most gets gate 1 and keeps V; gate 1 everywhere is the identity."""
    x = torch.zeros(1, 2, 4, 1, 2)
    x[0, :, :, 0, 1] = torch.tensor([0.0, 1.0, 0.0, 1.0])   # token 1 flickers, token 0 is static
    gate = flowdirector.motion_gate(x, 0.01, 0.3)
    assert gate.shape == (1, 1, 4, 1, 2)
    assert torch.all(gate[..., 0] == 0) and torch.all(gate[..., 1] == 1)
    V = torch.randn(1, 2, 4, 1, 2, generator=torch.Generator().manual_seed(0))
    out = flowdirector.decouple_motion(V, gate)
    assert torch.allclose(out[..., 0], V[..., 0].mean(2, keepdim=True).expand_as(V[..., 0]))
    assert torch.allclose(out[..., 1], V[..., 1])
    assert torch.allclose(flowdirector.decouple_motion(V, torch.ones_like(gate)), V)
    with pytest.raises(ValueError, match="madfc_low"):
        EditConfig(madfc_low=0.5, madfc_high=0.3)


def test_v2_corrections_are_switches(pipe, x_src):
    """Off (the default) = today's FlowDirector bit for bit; on, each changes the edit and reports
    its parts to the callback; equal prompts stay the identity with both on."""
    kw = dict(n_avg=3, n_worse=1, **FAST)
    base = edit.edit_latents(pipe, x_src, SRC, TAR, seed=4, method="flowdirector", **kw)
    off = edit.edit_latents(pipe, x_src, SRC, TAR, seed=4, method="flowdirector", use_dafc=False,
                            use_madfc=False, **kw)
    assert torch.equal(base, off)
    for switch, key in (("use_dafc", "v_before_dafc"), ("use_madfc", "motion_gate")):
        infos = []
        on = edit.edit_latents(pipe, x_src, SRC, TAR, seed=4, method="flowdirector", callback=infos.append,
                               **{switch: True}, **kw)
        assert key in infos[0] and not torch.allclose(on, base)
    same = edit.edit_latents(pipe, x_src, SRC, SRC, seed=4, method="flowdirector", use_dafc=True,
                             use_madfc=True, **kw)
    assert torch.equal(same, x_src)
