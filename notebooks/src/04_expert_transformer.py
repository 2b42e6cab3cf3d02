# %% [markdown]
# # Week 4 — The expert transformer: expert adaLN, 3D RoPE, 3D full attention
#
# Lecture: **"Expert Transformer — 3D Full Attention: current and next frames, every region computed
# together"**. CogVideoX (Yang et al. 2024, §2.2) turns the DiT of week 1 into a text-to-video model
# with three design choices, each studied here.
#
# **In this lecture / 이번 강의에서 배울 것**
# 1. **전문가 적응형 레이어 정규화 (expert adaptive LayerNorm, expert adaLN)** — text and video
#    tokens share one sequence and one LayerNorm, but get their own timestep-conditioned
#    scale / shift / gate;
# 2. **3D 회전 위치 임베딩 (3D rotary position embedding, 3D RoPE)** — each head's channels are split
#    into time, height and width parts that are rotated by the token's (t, h, w) coordinates;
# 3. **3D 전체 어텐션 (3D full attention)** — every token attends to all text and video tokens of all
#    frames at once, instead of **분리된 공간·시간 어텐션 (separated spatial + temporal
#    attention)**, what that costs and what a measured training run shows it buys;
# 4. **어텐션 맵 (attention map)**: what a caption word attends to, frame by frame (with a slider),
#    and which words and layers land on the object, measured over a dozen clips.

# %% [markdown]
# ## 0. Setup: the model to look inside
# The course's tiny text-to-video model (`assets/tiny`, trained in week 5): an expert transformer
# over the latents of a small causal VAE, with a word-embedding text encoder. The cell prints its size
# and how many video tokens a clip becomes.

# %%
import json
from pathlib import Path

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from IPython.display import display
from IPython.utils.capture import capture_output

import minicog
from minicog import shapes
from minicog.attention import separated_masks
from minicog.dit import DiTConfig, ExpertAdaLayerNorm, VideoDiT
from minicog.rope import apply_rope, cogvideox_rope_positions, rope_3d, rope_as_complex, rope_axis_dims
from minicog.utils import FAST, seed_everything

seed_everything(0)
torch.set_num_threads(2)
pipe = minicog.load_pipeline("tiny", device="cpu")
model, tokenizer = pipe.dit, pipe.text_encoder.tokenizer
C, T_lat, h, w = pipe.latent_shape()                      # one clip of the default size
p = model.config.patch_size
print(f"fast mode: {FAST} | {model.num_params() / 1e6:.1f}M parameters, {model.config.num_layers} layers | "
      f"latents (C, T', h, w) = {(C, T_lat, h, w)} -> {T_lat} × {h // p} × {w // p} = "
      f"{T_lat * (h // p) * (w // p)} video tokens")

# %% [markdown]
# ## A minute of live demo: one attention over every frame
# A clip of the Shapes world and its caption go through the transformer once, as one sequence of
# text and video tokens. Below the frames: how much the video tokens of each frame attend to the
# colour word and to the background word, in the middle layer. **Look at the middle row**: the
# colour word's attention moves with the circle, frame by frame, while the background word's stays
# off it. Change `demo_prompt` (any colour, shape, direction and background of the Shapes world) and
# run the cell again.

# %%
def word_maps(prompt, clip, t=0.3, seed=0):
    """Every layer's video->text attention for `prompt` on `clip`, noised to time t as in training:
    (words, maps (layers, L, T', H', W'), token grid)."""
    x0 = pipe.encode_video(clip)                                              # (1, C, T', h, w)
    x_t = (1 - t) * x0 + t * torch.randn(x0.shape, generator=torch.Generator().manual_seed(seed))
    text, text_mask = pipe.encode_prompt([prompt])
    with torch.no_grad(), model.record_attention(reduce_heads="mean") as rec:   # every layer
        model(x_t, torch.tensor([1000.0 * t]), text, text_mask=text_mask)
    words = [tokenizer.vocab[i] for i in tokenizer.tokenize(prompt)[0]]
    maps = torch.stack([rec.maps[i]["video_to_text"][0, 0] for i in range(model.config.num_layers)])
    return words, maps, rec.grid


def on_object(clip, grid):
    """(T', H', W') bool: the token cells the object covers (the Shapes world knows its pixels)."""
    mask = torch.from_numpy(shapes.object_mask(clip)).float()[None, None]
    return F.adaptive_avg_pool3d(mask, grid)[0, 0] > 0.25


def overlay_words(clip, words, maps, show, layer, title):
    T_ = maps.shape[2]
    frames = clip[np.linspace(0, len(clip) - 1, T_).round().astype(int)]      # a frame per latent frame
    fig, axes = plt.subplots(1 + len(show), T_, figsize=(1.9 * T_, 1.9 * (1 + len(show))))
    for f in range(T_):
        axes[0, f].imshow(frames[f])
        axes[0, f].set_title(f"latent frame {f}", fontsize=9)
        for row, word in enumerate(show, start=1):
            m = maps[layer, words.index(word)]
            axes[row, f].imshow(frames[f])
            axes[row, f].imshow(m[f], cmap="magma", alpha=0.65, vmin=0, vmax=m.max(),
                                extent=(-0.5, clip.shape[2] - 0.5, clip.shape[1] - 0.5, -0.5))
    for row, word in enumerate(show, start=1):
        axes[row, 0].set_ylabel(f"'{word}'", fontsize=11)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])                                                     # keep a frame's border
    plt.suptitle(title)
    plt.tight_layout()
    plt.show()


demo_prompt = "a red circle moving right on a white background"
demo_clip = shapes.render_caption(demo_prompt, rng=0)                        # (17, 64, 64, 3)
words, maps, grid = word_maps(demo_prompt, demo_clip)
demo = shapes.parse_caption(demo_prompt).attributes                       # colour, shape, direction, background
mid = model.config.num_layers // 2
overlay_words(demo_clip, words, maps, (demo["color"], demo["background"]), mid,
              f"video→text attention, layer {mid}, of two words of '{demo_prompt}'")
obj = on_object(demo_clip, grid)
for word in (demo["color"], demo["background"]):
    m = maps[mid, words.index(word)]
    hits = sum(bool(obj[f].flatten()[m[f].flatten().argmax()]) for f in range(grid[0]))
    print(f"'{word}': its brightest cell is on the object in {hits} of {grid[0]} frames")

# %% [markdown]
# ## 1. Expert adaLN: why text and video need their own modulation
# Text tokens come from a language model (T5 in CogVideoX, our small encoder here) and video tokens
# from a patch embedding of VAE latents: two modalities with different feature statistics that
# CogVideoX nevertheless puts in **one sequence**. A single LayerNorm normalises every token, but the
# adaptive scale/shift that follows decides the *operating range* of each modality and the gate
# decides how much each residual branch may change it. Sharing one set would force text and video to
# be modulated identically at every noise level. The expert adaLN gives each modality its own set,
# for a small price in parameters.
#
# From scratch: one LayerNorm, one linear layer that predicts **two** sets of (shift, scale, gate).

# %%
def expert_adaln_scratch(x, c, n_text, norm, linear):
    """x (B, L+N, D): text tokens first. c: conditioning (B, cond_dim), already through SiLU."""
    shift_v, scale_v, gate_v, shift_t, scale_t, gate_t = linear(c)[:, None].chunk(6, dim=-1)
    h = norm(x)
    text = h[:, :n_text] * (1 + scale_t) + shift_t          # text expert
    video = h[:, n_text:] * (1 + scale_v) + shift_v         # video expert
    return torch.cat([text, video], dim=1), (gate_t, gate_v)


ada = ExpertAdaLayerNorm(64, 32)
x_tok, c = torch.randn(2, 6 + 40, 64), F.silu(torch.randn(2, 32))
ours, (gt, gv) = expert_adaln_scratch(x_tok, c, 6, ada.norm, ada.linear)
theirs, (gt2, gv2) = ada(x_tok[:, :6], x_tok[:, 6:], c)    # the package keeps two streams
assert torch.allclose(ours, theirs, atol=1e-6) and torch.equal(gt, gt2) and torch.equal(gv, gv2)

D, cond = 3072, 512                                          # CogVideoX-5B
block = 4 * D * D + 8 * D * D + 2 * (cond * 6 * D)           # attention + MLP + two expert adaLNs
extra = 2 * cond * 3 * D                                     # what the second (text) set costs
print(f"CogVideoX-5B block: {block / 1e6:.1f}M parameters, of which the text experts are "
      f"{extra / 1e6:.1f}M ({100 * extra / block:.1f}%)")

# %% [markdown]
# What does the model do with its two sets? Below, for each layer and two noise levels, the mean
# absolute **gate** of the attention branch for text tokens vs video tokens, and the size of the
# tokens that enter the first block (text projection vs patch embedding).

# %%
text, text_mask = pipe.encode_prompt([demo_prompt])
latents = pipe.encode_video(demo_clip)                       # (1, 8, 5, 8, 8)
with torch.no_grad():
    gates = {}
    for t in (0.9, 0.1):                                         # noisy, nearly clean
        temb = model.time_embedding(minicog.rope.timestep_embedding(torch.tensor([1000 * t]), model.config.hidden))
        cond_vec = F.silu(temb)
        for i, blk in enumerate(model.blocks):
            mods = blk.norm1.linear(cond_vec).chunk(6, dim=-1)          # shift/scale/gate: video, text
            gates[(t, i)] = (mods[5].abs().mean().item(), mods[2].abs().mean().item())
    text_tok = model.text_proj(text)[text_mask]
    video_tok = model.patch_embed(minicog.dit.patchify(latents, model.config.patch_size))[0]

layers = np.arange(model.config.num_layers)
fig, axes = plt.subplots(1, 2, figsize=(11, 3.5))
for t, style in ((0.9, "-o"), (0.1, "--s")):
    axes[0].plot(layers, [gates[(t, i)][0] for i in layers], style, color="C0", label=f"text gate, t = {t}")
    axes[0].plot(layers, [gates[(t, i)][1] for i in layers], style, color="C1", label=f"video gate, t = {t}")
axes[0].set_xlabel("layer")
axes[0].set_ylabel("mean |gate|")
axes[0].legend(fontsize=7)
axes[0].set_title("attention-branch gates per modality")
axes[1].hist(text_tok.norm(dim=-1).numpy(), bins=20, alpha=0.7, label="text tokens", density=True)
axes[1].hist(video_tok.norm(dim=-1).numpy(), bins=20, alpha=0.7, label="video tokens", density=True)
axes[1].set_xlabel("token norm entering block 0")
axes[1].legend()
axes[1].set_title("two modalities, two scales")
plt.tight_layout()
plt.show()

ratio = [max(gates[(t, i)]) / min(gates[(t, i)]) for t in (0.9, 0.1) for i in layers]
norm_ratio = float(text_tok.norm(dim=-1).mean() / video_tok.norm(dim=-1).mean())
print(f"In the same layer and at the same t, the text and video gates differ by a factor of "
      f"{min(ratio):.1f} to {max(ratio):.1f}; text tokens enter block 0 {norm_ratio:.1f}× as large as video tokens.")
assert max(ratio) > 2 and norm_ratio > 1.5
assert all(gates[(0.1, i)][k] < gates[(0.9, i)][k] for i in layers for k in (0, 1))   # gates follow t

# %% [markdown]
# **Takeaway.** The trained model does use its two sets differently: in the same layer the text and
# video gates have different sizes and different profiles over depth, both shrink as the noise level
# falls, and the text tokens arrive at a different scale from the video tokens. One shared set of
# (shift, scale, gate) would have to serve both; the expert adaLN buys a second set for a few per cent
# of a block's parameters.

# %% [markdown]
# ## 2. 3D rotary position embedding
# RoPE (Su et al. 2021) encodes a position by *rotating* pairs of query/key channels by an angle
# proportional to the position, with one frequency per pair. The attention score of a query at p and a
# key at p' then depends only on the offset p − p'. CogVideoX splits each head (d = 64) into
# **d/4 = 16 channels for time and 3d/8 = 24 each for height and width**, and rotates each part by its
# own coordinate.
#
# From scratch, one channel pair: rotate a query at position p by p·θ and a key at p' by p'·θ. Their dot
# product is |q||k|·cos(angle between them + (p' − p)·θ): it sees only the offset.

# %%
def rotate(pair, angle):
    """One channel pair (x0, x1) rotated by `angle`."""
    c, s = np.cos(angle), np.sin(angle)
    return np.array([c * pair[0] - s * pair[1], s * pair[0] + c * pair[1]])


q_pair, k_pair, theta = np.array([1.0, 0.5]), np.array([0.3, -0.8]), 0.4
score = {(p, p2): rotate(q_pair, p * theta) @ rotate(k_pair, p2 * theta) for p in range(8) for p2 in range(8)}
same_offset = [f"{score[(p, p + 2)]:.6f}" for p in range(6)]
print("score of a query at p with a key at p + 2, for p = 0..5:", ", ".join(same_offset))
print(f"offset 3 instead: {score[(0, 3)]:.6f}")
assert len(set(same_offset)) == 1 and abs(score[(0, 2)] - score[(0, 3)]) > 0.1

# %% [markdown]
# RoPE does this for all d/2 channel pairs at once, pair i turning at its own frequency
# θ_i = 10000^(−2i/d), so that nearby and distant offsets are both told apart. 3D RoPE gives each axis
# its own share of the pairs (`minicog.rope.rope_3d`); the table of cos(angle) over the tokens of a
# 3 × 4 × 4 grid:

# %%
head_dim = 64
print("channels (t, h, w):", rope_axis_dims(head_dim))
grid = (3, 4, 4)
cos, sin = rope_3d(head_dim, *cogvideox_rope_positions(grid, base_hw=(4, 4), slice_grid=True))

plt.figure(figsize=(10, 3.5))
plt.imshow(cos.T, aspect="auto", cmap="coolwarm")
for split in np.cumsum(rope_axis_dims(head_dim))[:-1]:
    plt.axhline(split - 0.5, color="k")
plt.text(49, 8, "time", color="k")
plt.text(49, 28, "height", color="k")
plt.text(49, 52, "width", color="k")
plt.xlabel("video token (t, h, w order): 3 frames × 4 × 4")
plt.ylabel("channel")
plt.title("cos(angle) of the 3D RoPE table")
plt.show()

# %% [markdown]
# The relative-position property, checked: take one vector, place it at every position of a 7×9×9
# grid as a query and as a key, and compute the score of the centre query with every key. The map
# is centred on the query and is the same wherever the query sits (shift invariance).

# %%
grid = (7, 9, 9)
freqs = rope_as_complex(*rope_3d(head_dim, *cogvideox_rope_positions(grid, (9, 9), slice_grid=True)))
torch.manual_seed(0)
v = torch.randn(head_dim).expand(int(np.prod(grid)), head_dim)
qk = apply_rope(v, freqs)                                        # the same content at every position
scores = (qk @ qk.T).reshape(*grid, *grid)                       # [t, h, w, t', h', w']
centre = scores[3, 4, 4]                                         # (t', h', w') map of the centre query
shifted = scores[2, 3, 3]                                        # a query one step back in t, h and w
assert torch.allclose(centre[1:, 1:, 1:], shifted[:-1, :-1, :-1], atol=1e-3)
assert np.unravel_index(int(centre.argmax()), grid) == (3, 4, 4)          # highest at the query itself
fig, axes = plt.subplots(1, 7, figsize=(14, 2.3))
for t in range(7):
    axes[t].imshow(centre[t], cmap="viridis", vmin=centre.min(), vmax=centre.max())
    axes[t].set_title(f"key frame {t}" + (" (query)" if t == 3 else ""), fontsize=9)
    axes[t].axis("off")
plt.suptitle("RoPE score of the centre query with every key: it decays with the 3D offset")
plt.show()

# %% [markdown]
# **Positions for other sizes.** CogVideoX 1.0 was trained at 60×90 latents (a 30×45 token grid);
# for a different size the pipeline *stretches* the new grid over the training grid (`linspace`
# over a centred crop region), so a small video covers the same position range. CogVideoX 1.5 simply
# takes integer positions 0, 1, 2, ... ("slice"). `VideoDiT` computes either from the input size, as
# diffusers' pipeline does, so callers never pass RoPE tables.

# %%
fig, axes = plt.subplots(1, 2, figsize=(9, 3.5))
for ax, slice_grid, name in ((axes[0], False, "CogVideoX 1.0 (linspace)"), (axes[1], True, "CogVideoX 1.5 (slice)")):
    for size, color in (((30, 45), "C0"), ((16, 16), "C1")):
        _, gh, gw = cogvideox_rope_positions((1, *size), base_hw=(30, 45), slice_grid=slice_grid)
        hh, ww = torch.meshgrid(gh, gw, indexing="ij")
        ax.scatter(ww.flatten(), hh.flatten(), s=4, color=color, label=f"{size[0]}×{size[1]} token grid")
    ax.invert_yaxis()
    ax.set_title(name)
    ax.set_xlabel("w position")
    ax.legend(fontsize=7)
axes[0].set_ylabel("h position")
plt.tight_layout()
plt.show()
for slice_grid in (False, True):
    _, gh, gw = cogvideox_rope_positions((1, 16, 16), base_hw=(30, 45), slice_grid=slice_grid)
    print(f"{'slice' if slice_grid else 'linspace'}: a 16×16 grid gets h positions {gh.min():.1f}..{gh.max():.1f}, "
          f"w positions {gw.min():.1f}..{gw.max():.1f}")

# %% [markdown]
# **Takeaway.** RoPE puts position into the *angle* between a query and a key, so attention scores see
# only offsets in time, height and width — shift invariance holds, and the score is highest at
# the query's own position. Stretched (`linspace`) positions keep a small video inside the range the
# model was trained on, at fractional spacings; `slice` keeps the spacing of 1 and uses only a corner of
# that range.

# %% [markdown]
# ## 3. 3D full attention vs separated spatial + temporal attention
# Earlier video models factorise attention: **spatial** layers mix the tokens of one frame,
# **temporal** layers mix the tokens at one location across frames. Information from a region in
# frame 0 can reach a *different* region in frame 3 only indirectly, through several layers — which
# CogVideoX argues fails for large motion. Its 3D full attention lets "current and next frames, every
# region" interact in every layer, at a higher cost.
#
# Who may attend to whom is a boolean mask over the sequence [text | video], one row per query and one
# column per key, with the video tokens frame-major (all tokens of frame 0, then frame 1, …: the order
# of `patchify`). Text queries see every token and every query sees the text, in both designs; they
# differ in the video-to-video block. `minicog.attention.separated_masks` builds the spatial and
# temporal masks (you write your own in the exercises); here for 2 text tokens and a 3 × 2 × 2 token
# grid, with the frames' borders drawn in red.

# %%
n_text, mask_grid = 2, (3, 2, 2)
spatial, temporal = separated_masks(*mask_grid, n_text=n_text)
masks = {"full": torch.ones_like(spatial), "spatial": spatial, "temporal": temporal}
per_frame = mask_grid[1] * mask_grid[2]
fig, axes = plt.subplots(1, 3, figsize=(11, 3.8))
for ax, (kind, m) in zip(axes, masks.items()):
    ax.imshow(m, cmap="Greys", vmin=0, vmax=1)                              # black: may attend
    for edge in n_text + per_frame * np.arange(mask_grid[0]) - 0.5:        # text | frame 0 | frame 1 | ...
        ax.axhline(edge, color="r", lw=0.8)
        ax.axvline(edge, color="r", lw=0.8)
    ax.set_title(f"{kind}: {int(m.sum())} of {m.numel()} pairs")
    ax.set_xlabel("key (2 text, then frame-major video)")
axes[0].set_ylabel("query")
plt.suptitle("who may attend to whom (black: allowed), built by minicog.attention.separated_masks")
plt.tight_layout()
plt.show()

# %% [markdown]
# `DiTConfig(attention="separated")` builds the factorised model (even layers spatial, odd layers
# temporal, same weights as the full model). Its layers never build these (S, S) masks: they cut the
# video tokens into groups (one per frame, or one per location) and attend within each group and to
# the text, which gives exactly the masked attention (`tests/test_attention_masks.py`). Check the
# difference: perturb frame 3 and see which output frames of a one-layer model change.

# %%
changes = {}
for attention in ("full", "separated"):
    seed_everything(0)
    one = VideoDiT(DiTConfig.tiny(num_layers=1, attention=attention)).eval()
    with torch.no_grad():
        for prm in one.parameters():
            prm.normal_(0, 0.1)
        x = torch.randn(1, 8, 5, 8, 8)
        y = x.clone()
        y[:, :, 3] += 1
        txt = torch.randn(1, 4, 128)
        diff = (one(y, torch.tensor([500.0]), txt) - one(x, torch.tensor([500.0]), txt)).abs()
    changes[attention] = diff.amax(dim=(0, 1, 3, 4))
    print(f"{attention:9s} largest change per output frame:", [f"{v:.1e}" for v in changes[attention].tolist()])
assert changes["separated"][[0, 1, 2, 4]].max() < 1e-6 < changes["full"][[0, 1, 2, 4]].min()

# %% [markdown]
# **Takeaway.** In one layer, full attention carries a change in frame 3 to every other frame; a
# spatial layer keeps it inside frame 3. A factorised model needs a spatial and a temporal layer (or
# more) to move information from one region of one frame to another region of another frame.
#
# The cost grows with the square of the number of tokens. For CogVideoX-5B at 49 frames of 480×720
# (13×30×45 = 17 550 video tokens + 226 text tokens), and for the tiny model, we count one block's
# multiply-adds: the projections and the MLP (12·D² per token, the same for both kinds of attention)
# and the attention scores and their weighted sum (2·D per query-key pair).

# %%
def attention_pairs(n_text, grid, kind):
    T, H, W = grid
    N, S = T * H * W, n_text + T * H * W
    if kind == "full":
        return S * S
    per_query = H * W if kind == "spatial" else T              # video keys of a video query
    return n_text * S + N * (n_text + per_query)


def block_macs(n_text, grid, kind, hidden):
    """One block's multiply-adds: q/k/v/out projections and the 4x MLP, then the attention itself."""
    return 12 * hidden**2 * (n_text + int(np.prod(grid))) + 2 * hidden * attention_pairs(n_text, grid, kind)


cost = {}
for name, n_text, grid, hidden in (("CogVideoX-5B", 226, (13, 30, 45), 3072),
                                   ("tiny model", len(words), (5, 4, 4), model.config.hidden)):
    full = attention_pairs(n_text, grid, "full")
    separated = np.mean([attention_pairs(n_text, grid, k) for k in ("spatial", "temporal")])  # layers alternate
    per_block = block_macs(n_text, grid, "full", hidden) / np.mean(
        [block_macs(n_text, grid, k, hidden) for k in ("spatial", "temporal")])
    cost[name] = (full / separated, per_block)
    print(f"{name}, {n_text} text + {int(np.prod(grid)):,} video tokens: full attention has {full:,} query-key "
          f"pairs, {full / separated:.0f}× a separated layer's; the whole block costs {per_block:.2f}× as much")
assert cost["CogVideoX-5B"][0] > 10 and cost["CogVideoX-5B"][1] > 1.5 and cost["tiny model"][1] < 1.1

# %% [markdown]
# **Takeaway.** At CogVideoX's size the attention scores dominate: full attention multiplies them by
# an order of magnitude and nearly doubles the cost of a whole block, which is the price CogVideoX pays
# for every region of every frame meeting in every layer. At the tiny model's 80 video tokens the
# block barely notices, so the tiny model uses full attention.
#
# **What the price buys, measured.** `benchmarks/bench_dit.py quality` trains the same small DiT (4
# layers, 4 heads × 32) twice from the same initialisation on the same batches, once with 3D full
# attention and once with separated layers: rectified flow on Shapes clips folded into 48 × 5 × 8 × 8
# pseudo-latents (5 × 4 × 4 video tokens, 4 caption-word tokens). Every 100 steps it
# measures the flow-matching loss on held-out clips with fixed noise and evenly spread noise
# levels (lower is better). The run is too long for a lecture (its training time is printed under the
# figure), so the notebook plots its recorded result.

# %%
record = json.loads((Path(minicog.__file__).parents[1] / "benchmarks/results/dit_attention_quality.json").read_text())
runs = record["runs"]
assert record["model"] == dict(num_layers=4, num_heads=4, head_dim=32, latent=[48, 5, 8, 8], patch_size=2,
                               text_tokens=4) and record["eval_every"] == 100        # as the text says
steps = np.array(runs[0]["full"]["steps"])
curve = {kind: np.array([r[kind]["loss"] for r in runs]) for kind in ("full", "separated")}   # (seeds, evals)
final = {kind: np.array([r[kind]["final"] for r in runs]) for kind in ("full", "separated")}
by_noise = {kind: np.array([r[kind]["by_noise_level"] for r in runs]) for kind in ("full", "separated")}
fig, axes = plt.subplots(1, 3, figsize=(14, 3.6))
late = steps >= 300                                               # the first steps would flatten the plot
for kind, color in (("full", "C0"), ("separated", "C3")):
    for j, r in enumerate(runs):
        axes[0].plot(steps[late], curve[kind][j, late], color=color, lw=1,
                     ls="-" if j == 0 else "--", label=f"{kind}, seed {r['seed']}")
for j, r in enumerate(runs):
    axes[1].plot(steps[late], curve["separated"][j, late] / curve["full"][j, late], "k", lw=1,
                 ls="-" if j == 0 else "--", label=f"seed {r['seed']}")
    axes[2].bar(np.arange(3) + 0.8 * (j + 0.5) / len(runs) - 0.4, by_noise["separated"][j] / by_noise["full"][j],
                0.8 / len(runs), bottom=0, color=f"C{j + 4}", label=f"seed {r['seed']}")
for ax in axes[1:]:
    ax.axhline(1, color="grey", lw=0.8)
axes[2].set_ylim(0.9, 1.15)
axes[2].set_xticks(np.arange(3), ["t < 1/3", "1/3 ≤ t < 2/3", "t ≥ 2/3"])
axes[0].set(xlabel="training step", ylabel="held-out loss", title="learning curves")
axes[1].set(xlabel="training step", ylabel="separated / full", title="held-out loss ratio (> 1: full is better)")
axes[2].set(xlabel="noise level of the held-out clips", ylabel="separated / full",
            title=f"held-out loss ratio after {record['steps']} steps")
for ax in axes:
    ax.legend(fontsize=7)
plt.tight_layout()
plt.show()

L_q, (T_q, H_q, W_q) = record["model"]["text_tokens"], record["model"]["latent"][1:]
q_grid = (T_q, H_q // record["model"]["patch_size"], W_q // record["model"]["patch_size"])
q_pairs = {"full": (L_q + int(np.prod(q_grid))) ** 2,
           "separated": float(np.mean([int(m.sum()) for m in separated_masks(*q_grid, n_text=L_q)]))}
train_min = sum(r[k]["train_s"] for r in runs for k in ("full", "separated")) / 60
print(f"measured by: {record['command']} ({train_min:.0f} min of training, wall clock, {record['threads']} CPU thread)")
for j, r in enumerate(runs):
    print(f"seed {r['seed']}: held-out loss after {record['steps']} steps: full {final['full'][j]:.4f}, separated "
          f"{final['separated'][j]:.4f} (separated / full = {final['separated'][j] / final['full'][j]:.3f})")
ratio = (curve["separated"] / curve["full"]).mean(0)[late]                   # mean over the seeds
before = ratio[:-1]                                                         # every evaluation but the last
flips = int((np.diff(np.sign(before - 1)) != 0).sum())
print(f"separated / full, steps {steps[late][0]}–{steps[late][-2]}: between {before.min():.3f} and "
      f"{before.max():.3f}, the lead changing hands {flips} times; at step {steps[-1]}: {ratio[-1]:.3f}")
assert before.min() < 1 < before.max() and flips >= 3 and ratio[-1] > before.max()     # as the takeaway says
ratio_noise = (by_noise["separated"] / by_noise["full"]).mean(0)
print("separated / full by noise level (mean of the seeds): "
      + ", ".join(f"{name} {v:.3f}" for name, v in zip(("t < 1/3", "middle", "t ≥ 2/3"), ratio_noise)))
assert ratio_noise.argmax() == 0                                             # largest at low noise
print(f"attention cost of this run: {q_pairs['full']:,} query-key pairs per full layer, {q_pairs['separated']:,.0f} "
      f"per separated layer ({q_pairs['full'] / q_pairs['separated']:.1f}× fewer; CogVideoX-5B: "
      f"{cost['CogVideoX-5B'][0]:.0f}× fewer)")

# %% [markdown]
# **Takeaway.** On this small problem the two designs learn alike for most of the run: the ratio of
# their held-out losses wanders a percent or so around 1 and the lead changes hands again and again.
# Only the last evaluation has separated attention clearly behind, and most of all at low noise
# (t < 1/3), where the model must place the shape precisely in every frame — information that has to
# travel from one region of one frame to another region of the next, which separated layers do only
# in two hops. One late point of one seed does not settle whether full attention pulls ahead with
# longer training. The setting is also the one least likely to show a difference: at 4 × 4 tokens per
# frame a spatial and a temporal layer already connect every pair of tokens, and Shapes' motion is
# small. CogVideoX's argument is about large motion at high resolution, which a CPU run cannot reach;
# its cost side is certain (the printed pair counts).
#
# ## 4. Where does a caption word look, frame by frame?
# `model.record_attention` computes the recorded layers' attention explicitly (the other layers keep
# the fused kernel) and keeps two maps per layer. The **video→text** map says, for each text token,
# how much every video token's query attends to it, on the (T', H', W') token grid: the per-word map
# that FlowDirector turns into editing masks in week 8. The demo's `word_maps` records it on a clip
# noised to t = 0.3, the kind of state the model sees while sampling.

# %%
prompt = "a red circle moving right on a white background"
clip = shapes.render_caption(prompt, rng=0)
words, maps, grid = word_maps(prompt, clip)                  # maps: (layers, L, T', H', W')
n_layers, L, T_, H_, W_ = maps.shape
assert L == len(words) and (T_, H_, W_) == grid
assert torch.all(maps.sum(1) <= 1 + 1e-5)                     # a video query's weight on all words ≤ 1
print("tokens:", words, "| map grid (T', H', W'):", grid)

# %% [markdown]
# Pick a word, a layer and a frame. The figure under the controls is the starting view; the panel
# beside the controls redraws as you move them.

# %%
frames_small = clip[np.linspace(0, len(clip) - 1, T_).round().astype(int)]    # a frame per latent frame


def show_word(word_index, layer, frame):
    m = maps[layer, word_index]
    fig, axes = plt.subplots(1, 2, figsize=(6, 3))
    axes[0].imshow(frames_small[frame])
    axes[0].set_title(f"latent frame {frame}")
    axes[1].imshow(m[frame], cmap="magma", vmin=0, vmax=m.max())
    axes[1].set_title(f"'{words[word_index]}', layer {layer}")
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    plt.show()


def show_in(out, draw, **kw):
    """Run draw(**kw) and put what it displays into the Output widget `out`, from the kernel side.
    (Not `with out:` / `interact`: a headless runner such as nbconvert answers such captured output
    with messages to the kernel while the cell runs, which can leave the run hanging.)"""
    with capture_output() as cap:
        draw(**kw)
    out.outputs = tuple({"output_type": "display_data", "data": o.data, "metadata": o.metadata}
                        for o in cap.outputs)


start = dict(word_index=words.index("circle"), layer=n_layers // 2, frame=T_ // 2)
controls = dict(word_index=widgets.Dropdown(options=[(w, i) for i, w in enumerate(words)],
                                            value=start["word_index"], description="word"),
                layer=widgets.IntSlider(value=start["layer"], min=0, max=n_layers - 1, description="layer"),
                frame=widgets.IntSlider(value=start["frame"], min=0, max=T_ - 1, description="frame"))
word_out = widgets.Output()                                   # filled when a control moves
for c in controls.values():
    c.observe(lambda _: show_in(word_out, show_word, **{k: c.value for k, c in controls.items()}), "value")
display(widgets.HBox([widgets.VBox(list(controls.values())), word_out]))
show_word(**start)                                            # the starting view, an ordinary figure

# %% [markdown]
# All frames at once, for the shape word, the colour word and the background word, in the middle
# layer, each word's map on its own colour scale over the frames, with how much of its attention lands
# on the object's token cells.

# %%
layer = n_layers // 2
overlay_words(clip, words, maps, ("circle", "red", "white"), layer, f"video→text attention, layer {layer}")
obj = on_object(clip, grid)
print(f"the object covers {obj.float().mean():.0%} of the token cells")
for word in ("circle", "red", "white"):
    m = maps[layer, words.index(word)]
    on_top = sum(bool(obj[f].flatten()[m[f].flatten().argmax()]) for f in range(T_))
    print(f"'{word}': {float((m * obj).sum() / m.sum()):.0%} of its attention on the object; "
          f"its brightest cell is on the object in {on_top} of {T_} frames")

# %% [markdown]
# One clip is one example. Over a dozen clips (six in fast mode) of different colours, shapes, motions and backgrounds,
# every layer: the share of the colour, shape and background words' attention that lands on the
# object, against the object's share of the token cells (what a map blind to the object would give).

# %%
combos = shapes.all_combinations()
pick = np.random.default_rng(0).choice(len(combos), 6 if FAST else 12, replace=False)
share = np.zeros((len(pick), n_layers, 3))                   # clip, layer, (colour, shape, background)
top = np.zeros((len(pick), n_layers))                         # colour word's brightest cell on the object
blind = []
for j, i in enumerate(pick):
    c = combos[i]
    clip_j = shapes.render(**c, rng=j)
    words_j, maps_j, _ = word_maps(shapes.caption(**c), clip_j, seed=j)
    obj_j = on_object(clip_j, grid)
    blind.append(float(obj_j.float().mean()))
    for k, word in enumerate((c["color"], c["shape"], c["background"])):
        m = maps_j[:, words_j.index(word)]                                  # (layers, T', H', W')
        share[j, :, k] = ((m * obj_j).sum((1, 2, 3)) / m.sum((1, 2, 3))).numpy()
    peak = maps_j[:, words_j.index(c["color"])].flatten(2).argmax(-1)        # (layers, T')
    top[j] = obj_j.flatten(1).gather(1, peak.T).float().mean(0).numpy()
share, base = share.mean(0), float(np.mean(blind))

plt.figure(figsize=(5.5, 3.2))
for k, name in enumerate(("colour word", "shape word", "background word")):
    plt.plot(range(n_layers), share[:, k], "o-", label=name)
plt.axhline(base, color="k", ls="--", lw=1, label="the object's share of the cells")
plt.xlabel("layer")
plt.ylabel("attention on the object")
plt.legend(fontsize=7)
plt.title(f"video→text attention, {len(pick)} one-object clips, t = 0.3", fontsize=10)
plt.show()
best = int(share[:, 0].argmax())
print(f"Over {len(pick)} clips the object covers {base:.0%} of the token cells. In layer {best} the colour word puts "
      f"{share[best, 0]:.0%} of its attention there ({share[best, 0] / base:.1f}× a blind map) and its brightest "
      f"cell is on the object in {top.mean(0)[best]:.0%} of the frames; the shape word puts {share[best, 1]:.0%} "
      f"there, the background word {share[best, 2]:.0%}.")
assert share[best, 0] > 1.5 * base and share[best, 2] < base and share[:, 1].max() < share[best, 0]

# %% [markdown]
# **Takeaway.** Nothing in the training loss asks these maps to localise, yet in one layer of the
# tiny model the colour word's attention follows the object through the frames, while the background
# word's avoids it; the shape word's barely beats a map blind to the object. Which words and which
# layers localise is a property of the trained model, to be measured, not assumed; and at 4 × 4 tokens
# per frame a map is coarse. Week 8 turns these maps into editing masks; [`docs/flowdirector.md`](../docs/flowdirector.md)
# measures how well they localise on two-object clips.

# %% [markdown]
# ## Summary / 요약
# * **Expert adaLN (전문가 적응형 레이어 정규화)**: text and video tokens share one sequence and one
#   LayerNorm, but each modality gets its own timestep-conditioned shift, scale and gate.
# * **3D RoPE (3D 회전 위치 임베딩)**: a head's channels are split into t, h and w parts, each rotated
#   by its coordinate, so attention scores depend on relative offsets in time and space.
# * **3D full attention (3D 전체 어텐션)**: every token sees every token of every frame in every layer;
#   separated spatial + temporal attention reaches another region of another frame only through
#   several layers. The attention's cost grows with the square of the token count: at CogVideoX's
#   size it nearly doubles a block's cost, at the tiny model's it is a few per cent. Trained side by
#   side on Shapes at 4 × 4 tokens per frame, the two learn alike for most of the run; a quality
#   difference has to be measured at the scale where it is claimed.
# * **Attention maps (어텐션 맵)**: `record_attention` gives each caption word's map over the
#   (T', H', W') token grid — what FlowDirector turns into editing masks in week 8. On the tiny model
#   the colour word localises in one layer, the shape word hardly at all: measure before relying on a map.
# * Together: CogVideoX's expert transformer, `minicog.VideoDiT`. It loads the official 2B / 5B / 1.5
#   weights (`VideoDiT.from_diffusers`) and gives diffusers' outputs on them (`tests/test_dit.py`
#   checks it).

# %% [markdown] [nbgrader locked id=exercises]
# ## Graded exercises
# Write each function below: replace `raise NotImplementedError()` with your code and run the check
# cell under it, which compares your function with minicog's own on random inputs and edge cases and
# says what differs. `make grade NB=<this notebook>` grades them all (`docs/coursework.md`).
# This section runs on its own: its first cell imports what it needs.

# %%
import torch

import minicog.attention
from minicog import coursework as cw

# %% [markdown]
# **Predict, then run.** Separated attention alternates spatial and temporal layers. Take 13 latent
# frames of 12 × 18 video tokens, no text. A spatial layer and a temporal layer together: what fraction
# of the query–key pairs of *one* 3D full-attention layer do they compute (the two layers' pairs added,
# divided by the full layer's)? Write your guess in `prediction()` (graded only on being answered, not on
# being right); the cell after the check runs the experiment and prints the result beside your guess.

# %% [nbgrader solution id=prediction]
def prediction():
    ### BEGIN SOLUTION
    return 1 / 13 + 1 / (12 * 18)          # a spatial query sees 1/T of the keys, a temporal one 1/(H·W)
    ### END SOLUTION

# %% [nbgrader check id=check_prediction points=1]
cw.check_prediction(prediction)

# %%
spatial, temporal = minicog.attention.separated_masks(13, 12, 18)     # 2808 video tokens, frame-major
measured = (int(spatial.sum()) + int(temporal.sum())) / spatial.numel()
if cw.show_prediction(prediction, measured, "pairs of a spatial + a temporal layer / pairs of a full layer"):
    print(f"spatial {int(spatial.sum()):,} + temporal {int(temporal.sum()):,} of {spatial.numel():,} pairs")

# %% [markdown]
# **Exercise 4.1 — expert adaLN (2 points).** Write `expert_adaln(text, video, cond, norm, linear)` for
# text tokens `(B, L, D)`, video tokens `(B, N, D)` and `cond (B, cond_dim)` (already through SiLU):
# `linear(cond)` gives six D-vectors in the order shift_v, scale_v, gate_v, shift_t, scale_t, gate_t;
# the one LayerNorm `norm` is shared, each stream gets its own expert's modulation
# `norm(x)·(1 + scale) + shift`. Return `(h, (gate_t, gate_v))` with `h` the joint sequence
# `[text | video]` `(B, L + N, D)` and the gates shaped `(B, 1, D)`.

# %% [nbgrader solution id=expert_adaln]
def expert_adaln(text, video, cond, norm, linear):
    ### BEGIN SOLUTION
    shift_v, scale_v, gate_v, shift_t, scale_t, gate_t = linear(cond)[:, None].chunk(6, dim=-1)
    h = torch.cat([norm(text) * (1 + scale_t) + shift_t, norm(video) * (1 + scale_v) + shift_v], dim=1)
    return h, (gate_t, gate_v)
    ### END SOLUTION

# %% [nbgrader check id=check_expert_adaln points=2]
cw.check_expert_adaln(expert_adaln)

# %% [markdown]
# **Exercise 4.2 — one axis of RoPE (2 points).** Write `rope_1d(dim, pos, theta=10000.0)`: for positions
# `pos (S,)` and an even `dim`, the frequencies `θ^(−2i/dim)`, i = 0 … dim/2 − 1, the angles
# `pos·freq (S, dim/2)`, and the tables `(cos, sin)`, each `(S, dim)` with every frequency repeated for
# its channel pair (columns 2i and 2i+1 hold the same angle: the "interleaved" layout).

# %% [nbgrader solution id=rope_1d]
def rope_1d(dim, pos, theta=10000.0):
    ### BEGIN SOLUTION
    freqs = 1.0 / theta ** (torch.arange(0, dim, 2, dtype=torch.float32) / dim)
    angles = pos.float()[:, None] * freqs[None]
    return angles.cos().repeat_interleave(2, dim=1), angles.sin().repeat_interleave(2, dim=1)
    ### END SOLUTION

# %% [nbgrader check id=check_rope_1d points=2]
cw.check_rope_1d(rope_1d)

# %% [markdown]
# **Exercise 4.3 — rotate (1 point).** Write `apply_rope(x, cos, sin)` for `x (..., S, d)` and tables
# `(S, d)`: rotate each channel pair `(x₀, x₁)` by its angle, i.e. `x·cos + r(x)·sin` with
# `r(x₀, x₁, x₂, x₃, …) = (−x₁, x₀, −x₃, x₂, …)`.

# %% [nbgrader solution id=apply_rope]
def apply_rope(x, cos, sin):
    ### BEGIN SOLUTION
    x0, x1 = x.unflatten(-1, (-1, 2)).unbind(-1)
    rotated = torch.stack((-x1, x0), dim=-1).flatten(-2)
    return x * cos + rotated * sin
    ### END SOLUTION

# %% [nbgrader check id=check_apply_rope points=1]
cw.check_apply_rope(apply_rope)

# %% [markdown]
# **Exercise 4.4 — the masks of separated attention (2 points).** Write `separated_masks(T, H, W,
# n_text=0)` for a sequence of `n_text` text tokens followed by the video tokens of a T × H × W token
# grid in minicog's order: frame-major, the H·W tokens of frame 0 row by row, then those of frame 1, ….
# Return `(spatial, temporal)`, two boolean tensors of shape `(S, S)` with S = n_text + T·H·W, whose
# entry `[i, j]` is True when query token i may attend to key token j. In both masks every query may
# attend to every text token, and a text query to every token. A video query may attend, in `spatial`,
# to the video tokens of its own frame, and in `temporal`, to the video tokens at its own position
# (h, w) in every frame; in both, to itself. The check tries several grids, among them a single frame
# (T = 1) and frames that are not square.

# %% [nbgrader solution id=separated_masks]
def separated_masks(T, H, W, n_text=0):
    ### BEGIN SOLUTION
    frame = torch.arange(T).repeat_interleave(H * W)         # the frame of each video token
    where = torch.arange(H * W).repeat(T)                    # its position h·W + w in the frame
    S = n_text + T * H * W
    spatial = torch.ones(S, S, dtype=torch.bool)             # text rows and columns: all True
    temporal = torch.ones(S, S, dtype=torch.bool)
    spatial[n_text:, n_text:] = frame[:, None] == frame[None, :]
    temporal[n_text:, n_text:] = where[:, None] == where[None, :]
    return spatial, temporal
    ### END SOLUTION

# %% [nbgrader check id=check_separated_masks points=2]
cw.check_separated_masks(separated_masks)
