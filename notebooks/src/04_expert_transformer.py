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
#    attention)**, and what that costs;
# 4. **어텐션 맵 (attention map)**: what a caption word attends to, frame by frame (with a slider).

# %%
from pathlib import Path

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from einops import rearrange
from IPython.display import display
from IPython.utils.capture import capture_output
from tqdm.auto import tqdm

import minicog
from minicog import shapes
from minicog.dit import DiTConfig, ExpertAdaLayerNorm, VideoDiT
from minicog.rectified_flow import rf_loss
from minicog.rope import apply_rope, cogvideox_rope_positions, rope_3d, rope_as_complex, rope_axis_dims
from minicog.shapes import vocabulary
from minicog.text_encoder import WordTokenizer
from minicog.utils import FAST, seed_everything

seed_everything(0)
print("fast mode:", FAST)

# %% [markdown]
# ## 0. A model to look inside
# If the course's tiny text-to-video model has been trained (`assets/tiny`), we use it. Otherwise we
# train a small DiT for a few minutes right here, on Shapes clips folded into 48×5×8×8 "latents"
# (5 frames of 32×32 pixels, each 4×4 pixel block becoming 48 channels) with a word-embedding text
# encoder — enough for the attention to start following the words (only a few steps in fast mode,
# so the maps below are still mostly noise there).

# %%
prompt = "a red circle moving right on a white background"
clip = shapes.render("red", "circle", "right", "white", frames=17, size=64, rng=0)

if (Path(minicog.__file__).parent.parent / "assets" / "tiny" / "pipeline.json").is_file():
    pipe = minicog.load_pipeline("tiny", device="cpu")
    model = pipe.dit
    latents = pipe.encode_video(clip)
    tokenizer = pipe.text_encoder.tokenizer

    def encode(prompts):
        return pipe.encode_prompt(prompts)
    source = "shipped tiny model"
else:
    tokenizer = WordTokenizer(vocabulary())
    words = torch.nn.Embedding(len(tokenizer), 32)

    def encode(prompts):
        ids, mask = tokenizer(prompts)
        return words(ids), mask

    def to_latents(videos):                       # (B, 3, 17, 32, 32) -> (B, 48, 5, 8, 8)
        return rearrange(videos[:, :, ::4], "b c t (h ph) (w pw) -> b (c ph pw) t h w", ph=4, pw=4)

    seed_everything(0)
    model = VideoDiT(DiTConfig.tiny(in_channels=48, out_channels=48, text_embed_dim=32, num_layers=4,
                                    num_heads=4, head_dim=32, time_embed_dim=64))
    data = shapes.ShapesDataset(length=64 if FAST else 1024, size=32, seed=0)
    pool = [data[i] for i in tqdm(range(len(data)), desc="rendering clips")]
    pool_x = to_latents(torch.stack([item["video"] for item in pool]))
    opt = torch.optim.AdamW(list(model.parameters()) + list(words.parameters()), lr=5e-4)
    steps = 15 if FAST else 400
    for step in tqdm(range(steps), desc="training a small DiT"):
        idx = np.random.randint(0, len(pool), 16)
        text, mask = encode([pool[i]["caption"] for i in idx])
        loss = rf_loss(lambda x, t, c: model(x, 1000 * t, c[0], text_mask=c[1]), pool_x[idx], (text, mask))
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    small = shapes.render("red", "circle", "right", "white", frames=17, size=32, rng=0)
    latents = to_latents(torch.from_numpy(small).permute(3, 0, 1, 2).float().div(127.5).sub(1)[None])
    source = f"small DiT trained here for {steps} steps"
print(source, "|", model.num_params() / 1e6, "M parameters | latents", tuple(latents.shape))

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
text, text_mask = encode([prompt])
with torch.no_grad():
    gates = {}
    for t in (900.0, 100.0):
        temb = model.time_embedding(minicog.rope.timestep_embedding(torch.tensor([t]), model.config.hidden))
        cond_vec = F.silu(temb)
        for i, blk in enumerate(model.blocks):
            mods = blk.norm1.linear(cond_vec).chunk(6, dim=-1)          # shift/scale/gate: video, text
            gates[(t, i)] = (mods[5].abs().mean().item(), mods[2].abs().mean().item())
    text_tok = model.text_proj(text)[text_mask]
    video_tok = model.patch_embed(minicog.dit.patchify(latents, model.config.patch_size))[0]

layers = np.arange(model.config.num_layers)
fig, axes = plt.subplots(1, 2, figsize=(11, 3.5))
for t, style in ((900.0, "-o"), (100.0, "--s")):
    axes[0].plot(layers, [gates[(t, i)][0] for i in layers], style, color="C0", label=f"text gate, t={t:.0f}")
    axes[0].plot(layers, [gates[(t, i)][1] for i in layers], style, color="C1", label=f"video gate, t={t:.0f}")
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

# %% [markdown]
# ## 2. 3D rotary position embedding
# RoPE (Su et al. 2021) encodes a position by *rotating* pairs of query/key channels by an angle
# proportional to the position, with one frequency per pair. The attention score of a query at p and a
# key at p' then depends only on the offset p − p'. CogVideoX splits each head (d = 64) into
# **d/4 = 16 channels for time and 3d/8 = 24 each for height and width**, and rotates each part by its
# own coordinate.

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

# %% [markdown]
# ## 3. 3D full attention vs separated spatial + temporal attention
# Earlier video models factorise attention: **spatial** layers mix the tokens of one frame,
# **temporal** layers mix the tokens at one location across frames. Information from a region in
# frame 0 can reach a *different* region in frame 3 only indirectly, through several layers — which
# CogVideoX argues fails for large motion. Its 3D full attention lets "current and next frames, every
# region" interact in every layer, at a higher cost. The masks (who may attend to whom) for 2 text
# tokens and a 3×2×2 token grid:

# %%
def attention_mask(kind, n_text=2, grid=(3, 2, 2)):
    T, H, W = grid
    t = torch.arange(T).repeat_interleave(H * W)
    hw = torch.arange(H * W).repeat(T)
    S = n_text + T * H * W
    m = torch.ones(S, S, dtype=torch.bool)                      # text queries and text keys: all
    if kind == "spatial":
        m[n_text:, n_text:] = t[:, None] == t[None, :]          # same frame
    elif kind == "temporal":
        m[n_text:, n_text:] = hw[:, None] == hw[None, :]        # same location
    return m


fig, axes = plt.subplots(1, 3, figsize=(11, 3.8))
for ax, kind in zip(axes, ("full", "spatial", "temporal")):
    m = attention_mask(kind)
    ax.imshow(m, cmap="Greys")
    ax.set_title(f"{kind}: {int(m.sum())} of {m.numel()} pairs")
    ax.set_xlabel("key (2 text, then t-major video)")
axes[0].set_ylabel("query")
plt.tight_layout()
plt.show()

# %% [markdown]
# `DiTConfig(attention="separated")` builds the factorised model (even layers spatial, odd layers
# temporal, same weights as the full model). Check the difference: perturb frame 3 and see which
# output frames of a one-layer model change.

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
# The cost grows with the square of the number of tokens: for CogVideoX-5B at 49 frames of 480×720
# (13×30×45 = 17 550 video tokens + 226 text tokens) one layer's attention scores cost:

# %%
def attention_pairs(n_text, grid, kind):
    T, H, W = grid
    N, S = T * H * W, n_text + T * H * W
    if kind == "full":
        return S * S
    per_query = H * W if kind == "spatial" else T              # video keys of a video query
    return n_text * S + N * (n_text + per_query)


for grid in ((13, 30, 45), (5, 4, 4)):
    full = attention_pairs(226 if grid[0] == 13 else 16, grid, "full")
    sep = [attention_pairs(226 if grid[0] == 13 else 16, grid, k) for k in ("spatial", "temporal")]
    print(f"grid {grid}: full {full / 1e6:8.1f}M query-key pairs, spatial {sep[0] / 1e6:6.1f}M, "
          f"temporal {sep[1] / 1e6:6.1f}M -> full costs {2 * full / sum(sep):.0f}x a separated layer")

# %% [markdown]
# At CogVideoX's size, full attention costs ~16× more in the attention itself (the projections and
# MLP are the same), about 1.9× per block. `benchmarks/bench_dit.py` measures the time and trains
# both variants on Shapes; the numbers are in `docs/dit.md`. At the tiny size the attention is
# cheap either way, so the tiny model uses full attention.
#
# ## 4. Where does a caption word look, frame by frame?
# `record_attention` gives, per recorded layer, the **video→text** map: for each text token, how
# much every video token attends to it, on the (T', H', W') token grid. This is what FlowDirector
# turns into editing masks. Move the sliders to pick the word, the layer and the frame.

# %%
with torch.no_grad(), model.record_attention(layers=range(model.config.num_layers), reduce_heads="mean") as rec:
    model(latents, torch.tensor([500.0]), text, text_mask=text_mask)
ids, _ = tokenizer.tokenize(prompt)
token_words = [tokenizer.vocab[i] for i in ids]
maps = torch.stack([rec.maps[i]["video_to_text"][0, 0] for i in range(model.config.num_layers)])  # (layers, L, T', H', W')
n_layers, L, T_, H_, W_ = maps.shape
assert L == len(token_words) and (T_, H_, W_) == rec.grid
assert torch.all(maps.sum(1) <= 1 + 1e-5)                     # a video query's weight on all words ≤ 1
print(source, "| tokens:", token_words, "| map grid", rec.grid)

# %%
frames_small = clip[::4]                                       # the 5 frames the latent frames summarise


def show_word(word_index=token_words.index("circle"), layer=n_layers // 2, frame=T_ // 2):
    m = maps[layer, word_index]
    fig, axes = plt.subplots(1, 2, figsize=(6, 3))
    axes[0].imshow(frames_small[min(frame, len(frames_small) - 1)])
    axes[0].set_title(f"frame {frame}")
    axes[1].imshow(m[frame], cmap="magma", vmin=0, vmax=m.max())
    axes[1].set_title(f"'{token_words[word_index]}', layer {layer}")
    for ax in axes:
        ax.axis("off")


def show_in(out, draw, **kw):
    """Run draw(**kw) and put what it displays into the Output widget `out`, from the kernel side.
    (Not `with out:` / `interact`: a headless runner such as nbconvert answers such captured output
    with messages to the kernel while the cell runs, which can leave the run hanging.)"""
    with capture_output() as cap:
        draw(**kw)
        plt.show()
    out.outputs = tuple({"output_type": "display_data", "data": o.data, "metadata": o.metadata}
                        for o in cap.outputs)


controls = dict(word_index=widgets.Dropdown(options=[(w, i) for i, w in enumerate(token_words)],
                                            value=token_words.index("circle"), description="word"),
                layer=widgets.IntSlider(value=n_layers // 2, min=0, max=n_layers - 1, description="layer"),
                frame=widgets.IntSlider(value=T_ // 2, min=0, max=T_ - 1, description="frame"))
word_out = widgets.Output()
redraw_word = lambda _=None: show_in(word_out, show_word, **{k: c.value for k, c in controls.items()})  # noqa: E731
for c in controls.values():
    c.observe(redraw_word, "value")
redraw_word()                                                 # drawn once now; the controls redraw
display(widgets.VBox([widgets.HBox(list(controls.values())), word_out]))

# %% [markdown]
# The same maps for all frames at once, for the shape word, the colour word and the background word
# (middle layer). Each row has its own colour scale, so each map shows where *that* word's attention
# is highest; the numbers printed under the figure say how much of it lands on the object.

# %%
layer = n_layers // 2
fig, axes = plt.subplots(4, T_, figsize=(2 * T_, 8.2))
for f in range(T_):
    axes[0, f].imshow(frames_small[min(f, len(frames_small) - 1)])
    axes[0, f].set_title(f"frame {f}")
for row, word in enumerate(("circle", "red", "white"), start=1):
    m = maps[layer, token_words.index(word)]
    for f in range(T_):
        axes[row, f].imshow(m[f], cmap="magma", vmin=m.min(), vmax=m.max())   # contrast per word
    axes[row, 0].text(-0.6, H_ / 2, word, ha="right", va="center", fontsize=11)
for ax in axes.flat:
    ax.axis("off")
plt.suptitle(f"video→text attention of caption words, layer {layer} ({source})")
plt.tight_layout()
plt.show()

# how much of each word's attention falls on the object's token cells (the Shapes world knows them)
obj = F.adaptive_avg_pool3d(torch.from_numpy(shapes.object_mask(clip)).float()[None, None],
                            (T_, H_, W_))[0, 0] > 0.25                        # (T', H', W') bool
print(f"the object covers {obj.float().mean():.0%} of the token cells")
for word in ("circle", "red", "white"):
    m = maps[layer, token_words.index(word)]
    on_top = sum(bool(obj[f].flatten()[m[f].flatten().argmax()]) for f in range(T_))
    print(f"'{word}': {float((m * obj).sum() / m.sum()):.0%} of its attention on the object; "
          f"its brightest cell is on the object in {on_top} of {T_} frames")

# %% [markdown]
# **What the maps show.** Read the numbers above: the share of each word's attention that falls on
# the object, against the object's share of the grid (what a map blind to the object would give),
# and in how many frames the word's brightest cell sits on the object. Nothing in the training loss
# asks these maps to localise: a model has to bind a word to a place only when its clips hold more
# than one object, so whether — and in which layers — they do depends on what it was trained on.
# [`docs/flowdirector.md`](../docs/flowdirector.md) §3.1 measures this over 24 clips and every layer (and which of the two
# text blocks, *video → text* or *text → video*, localises better), and week 8 shows what it means
# for editing masks. If the shipped model is missing, the maps above come from the small DiT trained
# in §0 and are mostly noise.

# %% [markdown]
# ## Summary / 요약
# * **Expert adaLN (전문가 적응형 레이어 정규화)**: text and video tokens share one sequence and one
#   LayerNorm, but each modality gets its own timestep-conditioned shift, scale and gate.
# * **3D RoPE (3D 회전 위치 임베딩)**: a head's channels are split into t, h and w parts, each rotated
#   by its coordinate, so attention scores depend on relative offsets in time and space.
# * **3D full attention (3D 전체 어텐션)**: every token sees every token of every frame in every layer;
#   separated spatial + temporal attention reaches another region of another frame only through
#   several layers. The cost grows with the square of the token count.
# * **Attention maps (어텐션 맵)**: `record_attention` gives each caption word's map over the
#   (T', H', W') token grid — what FlowDirector turns into editing masks in week 8.
# * Together: CogVideoX's expert transformer, `minicog.VideoDiT`. It loads the official 2B / 5B / 1.5
#   weights (`VideoDiT.from_diffusers`) and matches diffusers to < 1e-4 relative error
#   (tests/test_dit.py).

# %% [markdown] [nbgrader locked id=exercises]
# ## Graded exercises
# Write each function below: replace `raise NotImplementedError()` with your code and run the check
# cell under it, which compares your function with minicog's own on random inputs and edge cases and
# says what differs. `make grade NB=<this notebook>` grades them all (`docs/coursework.md`).
# This section runs on its own: its first cell imports what it needs.

# %%
import torch

from minicog import coursework as cw

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
# **Exercise 4.2 — the 3D RoPE split (1 point).** Write `rope_axis_dims(head_dim)`: the channels of a
# head given to time, height and width — d/4 for time and 3d/8 each for height and width — as a tuple.

# %% [nbgrader solution id=rope_axis_dims]
def rope_axis_dims(head_dim):
    ### BEGIN SOLUTION
    return head_dim // 4, head_dim // 8 * 3, head_dim // 8 * 3
    ### END SOLUTION

# %% [nbgrader check id=check_rope_axis_dims points=1]
cw.check_rope_axis_dims(rope_axis_dims)

# %% [markdown]
# **Exercise 4.3 — one axis of RoPE (2 points).** Write `rope_1d(dim, pos, theta=10000.0)`: for positions
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
# **Exercise 4.4 — rotate (1 point).** Write `apply_rope(x, cos, sin)` for `x (..., S, d)` and tables
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
