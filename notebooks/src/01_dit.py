# %% [markdown]
# # Week 1 — DiT: a transformer on video patches
#
# Lecture: **"DiT (Diffusion Transformer)"**. A diffusion transformer (Peebles & Xie 2023) is a plain
# transformer that denoises *patch tokens*. CogVideoX's expert transformer is a DiT for video; this
# notebook builds its pieces from scratch and checks each one against `minicog.dit`.
#
# **In this lecture / 이번 강의에서 배울 것**
# 1. **패치화 (patchify) / unpatchify** — a video `(C, T, H, W)` becomes a sequence of 토큰 (tokens)
#    and back, and what the sequence's length costs;
# 2. **타임스텝 임베딩 (timestep embedding)** — how the network knows the noise level `t ∈ [0, 1000]`;
# 3. **adaLN-Zero 블록 (adaLN-Zero block)** — the timestep *modulates* the 적응형 레이어 정규화
#    (adaptive LayerNorm: scale, shift) and *gates* each residual branch; written from scratch and
#    checked equal to the package's block;
# 4. **어텐션 맵 (attention maps) on a frame** — which tokens a token looks at, in 3D 전체 어텐션
#    (3D full attention), measured on the trained tiny model.

# %%
import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

import minicog
from minicog import shapes
from minicog.dit import DiTConfig, ExpertBlock, TokenLayout, VideoDiT, patchify, unpatchify
from minicog.rope import timestep_embedding
from minicog.utils import FAST, seed_everything

seed_everything(0)
print("fast mode:", FAST)

# %% [markdown]
# ## A minute of live demo
# The course's trained tiny DiT, one forward pass at a time. We encode a clip to latents, mix in
# noise — `x_t = (1 − t)·x₀ + t·ε` at t = 0.5 (half noise), 0.8 and 1.0 (only noise) — and give the
# transformer `x_t`, `t` and the caption. It answers with a velocity `v`, and `x_t − t·v` is its
# estimate of the clean clip (week 2 explains why). Rows: what the DiT is given (the noisy latents,
# decoded) and its estimate. Look at the estimates and at the oracle's reading of each, printed below
# the figure: from half noise the transformer restores the clip, and even from pure noise the caption
# alone gives it the colour, the background and the motion — only the outline stays a blurred guess.

# %%
pipe = minicog.load_pipeline("tiny", device="cpu")
demo_caption = "a red circle moving right on a white background"
z0 = pipe.encode_video(shapes.render_caption(demo_caption, rng=0))      # latents (1, 8, 5, 8, 8)
noise = pipe.noise(seed=0)
text, text_mask = pipe.encode_prompt([demo_caption])
ts = torch.tensor([0.5, 0.8, 1.0])
t_ = ts[:, None, None, None, None]
z_t = (1 - t_) * z0 + t_ * noise                                          # (3, 8, 5, 8, 8)
v = pipe.velocity(z_t, ts, text.expand(3, -1, -1), text_mask.expand(3, -1))
z0_hat = z_t - t_ * v                                                     # one pass: the clean-clip estimate
decoded = pipe.decode_latents(torch.cat([z_t, z0_hat]))                   # 6 uint8 videos
rows, labels = [], []
for i, t in enumerate(ts.tolist()):
    rows += [decoded[i], decoded[3 + i]]
    labels += [f"given, t = {t:.1f}", "estimate"]
fig = minicog.video.frame_grid(rows, labels, max_frames=5, scale=0.8)
plt.show()
readings = [shapes.read_attributes(decoded[3 + i]) for i in range(len(ts))]
for t, r in zip(ts.tolist(), readings):
    print(f"t = {t:.1f}: the oracle reads the estimate as {r}")
assert readings[0] == shapes.parse_caption(demo_caption).attributes
assert all(r["color"] == "red" and r["background"] == "white" and r["direction"] == "right" for r in readings)

# %% [markdown]
# ## 1. Patchify: a video as a sequence of tokens
# A transformer eats a sequence of vectors. DiT cuts the input into non-overlapping `p × p` patches
# (CogVideoX 1.5 also groups `p_t` frames) and flattens each patch into one vector. In CogVideoX the
# input is the VAE *latent* `(16, 13, 60, 90)` and `p = 2` (we count its tokens below). Here we
# patchify a Shapes clip directly in pixels with big 16×16 patches, so we can see them.

# %%
clip = shapes.render("red", "circle", "right", "white", frames=17, size=64, rng=0)   # uint8 (T, H, W, 3)
x = torch.from_numpy(clip).permute(3, 0, 1, 2).float().div(127.5).sub(1)[None]      # (1, 3, 17, 64, 64)
p = 16


def patchify_scratch(x, p):
    """(B, C, T, H, W) -> (B, T·H/p·W/p, C·p·p) with plain reshape / permute."""
    B, C, T, H, W = x.shape
    x = x.reshape(B, C, T, H // p, p, W // p, p)          # split H and W into (blocks, within-block)
    x = x.permute(0, 2, 3, 5, 1, 4, 6)                    # (B, T, H/p, W/p, C, p, p): token axes first
    return x.reshape(B, T * (H // p) * (W // p), C * p * p)


tokens = patchify_scratch(x, p)
print("video", tuple(x.shape), "-> tokens", tuple(tokens.shape))
assert torch.equal(tokens, patchify(x, p))                            # same as the package
assert torch.equal(unpatchify(tokens, (17, 64 // p, 64 // p), p), x)   # and back, exactly

# %%
fig, axes = plt.subplots(1, 2, figsize=(8, 4))
axes[0].imshow(clip[8])
for k in range(0, 65, p):
    axes[0].axhline(k - 0.5, color="k", lw=0.8)
    axes[0].axvline(k - 0.5, color="k", lw=0.8)
for i in range(4):
    for j in range(4):
        axes[0].text(j * p + 2, i * p + 6, str(8 * 16 + i * 4 + j), fontsize=7)
axes[0].set_title("frame 8 cut into 16 patches (token ids)")
axes[1].imshow(tokens[0, 8 * 16: 9 * 16].numpy(), aspect="auto", cmap="coolwarm", vmin=-1, vmax=1)
axes[1].set_title("the 16 tokens of frame 8 (rows) × 768 features")
axes[1].set_xlabel("feature (c, ph, pw)")
plt.tight_layout()
plt.show()

# %% [markdown]
# The token order is `(t, h, w)`: all tokens of frame 0, then frame 1, ... Inside a token the
# features are ordered `(c, p_h, p_w)` — the same order as diffusers' patch convolution weights, so the
# official checkpoints load into `minicog`'s linear patch embedding with a plain reshape.
#
# How long is the sequence? Attention compares every token with every other, so its cost grows with
# the *square* of the token count. Counted for our pixel example, the tiny model's latents and
# CogVideoX-2b's latents:

# %%
def n_tokens(c, t, h, w, p):
    return patchify(torch.zeros(1, c, t, h, w), p).shape[1]


cases = {"Shapes clip in pixels, p = 16": (3, 17, 64, 64, 16),
         "tiny model's latents, p = 2": (*pipe.latent_shape(), pipe.dit.config.patch_size),
         "CogVideoX-2b latents, p = 2": (16, 13, 60, 90, 2)}
counts = {name: n_tokens(*shape_p) for name, shape_p in cases.items()}
for name, n in counts.items():
    print(f"{name:32s} {n:>6} tokens, {n * n:>12,} attention scores per head")
ratio = counts["CogVideoX-2b latents, p = 2"] / counts["tiny model's latents, p = 2"]
print(f"CogVideoX-2b has {ratio:.0f}× the tiny model's tokens, so {ratio ** 2:,.0f}× its attention scores")

# %% [markdown]
# Patchifying is a plain reshape, exactly invertible, and the sequence length it produces decides the
# cost of everything after it: this is why CogVideoX runs its transformer on VAE latents (week 3),
# never on pixels, and why a longer or larger video costs quadratically more attention.
#
# ## 2. Timestep embedding
# The denoiser must know how noisy its input is. DiT maps `t` to sinusoids of geometrically spaced
# frequencies (like transformer position encodings), then an MLP:
# $\mathrm{emb}(t)_i = \cos(t\,\omega_i)$ for the first half and $\sin(t\,\omega_i)$ for the second,
# with $\omega_i = 10000^{-i/(d/2)}$.

# %%
def timestep_embedding_scratch(t, dim, max_period=10000.0):
    half = dim // 2
    freqs = torch.exp(-np.log(max_period) * torch.arange(half) / half)      # ω_i, from 1 down to ~1e-4
    args = t[:, None].float() * freqs[None]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=-1)            # cos first (flip_sin_to_cos)


t = torch.linspace(0, 1000, 201)
emb = timestep_embedding_scratch(t, 128)
assert torch.allclose(emb, timestep_embedding(t, 128), atol=1e-5)
sim = F.normalize(emb, dim=-1) @ F.normalize(emb, dim=-1).T

fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
axes[0].imshow(emb.T, aspect="auto", cmap="coolwarm", extent=[0, 1000, 128, 0])
axes[0].set_xlabel("timestep t")
axes[0].set_ylabel("channel")
axes[0].set_title("sinusoidal timestep embedding")
axes[1].imshow(sim, cmap="viridis", extent=[0, 1000, 1000, 0])
axes[1].set_title("cosine similarity between timesteps")
plt.tight_layout()
plt.show()

gaps = [5, 50, 500, 1000]                                       # |Δt|; the grid above has steps of 5
by_gap = [sim.diagonal(g // 5) for g in gaps]                   # every pair of timesteps that far apart
print("cosine similarity at |Δt| = " + ", ".join(f"{g}: {d.mean():.2f}" for g, d in zip(gaps, by_gap)))
assert all(d.max() - d.min() < 1e-4 for d in by_gap)            # it depends only on the distance ...
assert all(a.mean() > b.mean() for a, b in zip(by_gap, by_gap[1:]))   # ... and falls as it grows

# %% [markdown]
# The similarity of two embeddings depends only on how far apart the timesteps are, and falls as they
# move apart: nearby noise levels look alike to the network, distant ones do not. The MLP after it
# turns this into the conditioning vector `c` that drives every block.
#
# ## 3. An adaLN-Zero block from scratch
# A DiT block is a pre-norm transformer block whose LayerNorms are *adaptive*: from `c`, a linear
# layer predicts six vectors — shift β, scale γ and gate α for the attention branch and for the MLP:
#
# $$h = \mathrm{LN}(x)\,(1+\gamma_1) + \beta_1,\quad x \leftarrow x + \alpha_1 \odot \mathrm{Attn}(h),$$
# $$h = \mathrm{LN}(x)\,(1+\gamma_2) + \beta_2,\quad x \leftarrow x + \alpha_2 \odot \mathrm{MLP}(h).$$
#
# "Zero": DiT initialises that linear layer to zero, so α = 0 and every block starts as the identity
# — training starts from a stable, shallow network. CogVideoX adds QK-LayerNorm in the attention
# (normalise queries and keys per head) to keep attention logits bounded.

# %%
class AdaLNZeroBlock(nn.Module):
    def __init__(self, dim, heads, cond_dim):
        super().__init__()
        self.heads = heads
        self.ada = nn.Linear(cond_dim, 6 * dim)
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.qkv, self.proj = nn.Linear(dim, 3 * dim), nn.Linear(dim, dim)
        self.q_norm, self.k_norm = nn.LayerNorm(dim // heads, eps=1e-6), nn.LayerNorm(dim // heads, eps=1e-6)
        self.fc1, self.fc2 = nn.Linear(dim, 4 * dim), nn.Linear(4 * dim, dim)

    def attention(self, h):
        B, S, D = h.shape
        q, k, v = self.qkv(h).reshape(B, S, 3, self.heads, D // self.heads).permute(2, 0, 3, 1, 4)
        q, k = self.q_norm(q), self.k_norm(k)                                 # QK-LayerNorm
        weights = (q @ k.transpose(-1, -2) / (D // self.heads) ** 0.5).softmax(-1)   # (B, heads, S, S)
        return self.proj((weights @ v).transpose(1, 2).reshape(B, S, D))

    def forward(self, x, c):
        shift1, scale1, gate1, shift2, scale2, gate2 = self.ada(F.silu(c))[:, None].chunk(6, dim=-1)
        x = x + gate1 * self.attention(self.norm1(x) * (1 + scale1) + shift1)
        mlp = lambda h: self.fc2(F.gelu(self.fc1(h), approximate="tanh"))    # noqa: E731
        return x + gate2 * mlp(self.norm2(x) * (1 + scale2) + shift2)


# %% [markdown]
# The package's `ExpertBlock` is this block with one twist we study in week 4: text tokens and
# video tokens get *separate* (β, γ, α). With no text tokens only the video set is used, so copying
# the weights over must give the same output.

# %%
D, heads, cond_dim = 64, 4, 32
cfg = DiTConfig.tiny(num_heads=heads, head_dim=D // heads, time_embed_dim=cond_dim, use_rope=False)
block = ExpertBlock(cfg, index=0).eval()
scratch = AdaLNZeroBlock(D, heads, cond_dim).eval()
with torch.no_grad():
    # rows [0:3D] of each expert linear are the video tokens' (shift, scale, gate)
    scratch.ada.weight.copy_(torch.cat([block.norm1.linear.weight[:3 * D], block.norm2.linear.weight[:3 * D]]))
    scratch.ada.bias.copy_(torch.cat([block.norm1.linear.bias[:3 * D], block.norm2.linear.bias[:3 * D]]))
    for mine, theirs in [(scratch.norm1, block.norm1.norm), (scratch.norm2, block.norm2.norm),
                         (scratch.qkv, block.attn.qkv), (scratch.proj, block.attn.proj),
                         (scratch.q_norm, block.attn.norm_q), (scratch.k_norm, block.attn.norm_k),
                         (scratch.fc1, block.mlp.fc1), (scratch.fc2, block.mlp.fc2)]:
        mine.load_state_dict(theirs.state_dict())

x_tok = torch.randn(2, 5 * 4 * 4, D)                 # 2 videos, 5×4×4 tokens, no text tokens
c = torch.randn(2, cond_dim)                         # conditioning vector (time embedding)
layout = TokenLayout(n_text=0, grid=(5, 4, 4), rope=None, key_mask=None)
with torch.no_grad():
    ours = scratch(x_tok, c)
    _, theirs = block(x_tok[:, :0], x_tok, F.silu(c), layout)        # (text stream, video stream)
print(f"max |scratch − package| = {(ours - theirs).abs().max().item():.1e}: the same block, up to float rounding")
assert torch.allclose(ours, theirs, atol=1e-5)

# %% [markdown]
# And the "Zero" in adaLN-Zero: with the modulation layer at zero, the block is exactly the identity.
# That does not freeze it: the gate's gradient is the branch's output, so the first training step
# already moves the modulation layer (while the attention weights, behind a closed gate, wait).

# %%
with torch.no_grad():
    nn.init.zeros_(scratch.ada.weight)
    nn.init.zeros_(scratch.ada.bias)
    assert torch.equal(scratch(x_tok, c), x_tok)
print("zero-initialised adaLN block = identity")
scratch.zero_grad()
((scratch(x_tok, c) - torch.randn_like(x_tok)) ** 2).mean().backward()
g_ada, g_qkv = scratch.ada.weight.grad.norm().item(), scratch.qkv.weight.grad.norm().item()
print(f"first gradient: modulation layer {g_ada:.3f}, attention's qkv {g_qkv:.3f}")
assert g_ada > 0 and g_qkv == 0

# %% [markdown]
# The package zeroes the same layers in a whole model — every block's modulation, the final
# modulation and the output projection (`VideoDiT.initialize_weights`, what the trainer calls on a new
# model) — so an untrained DiT starts as the identity inside and predicts exactly zero velocity:

# %%
fresh = VideoDiT(DiTConfig.tiny()).initialize_weights().eval()
with torch.no_grad():
    v0 = fresh(torch.randn(1, 8, 5, 8, 8), torch.tensor([500.0]), torch.randn(1, 10, 128))
print(f"a freshly initialised DiT predicts max |v| = {v0.abs().max().item()}")
assert torch.equal(v0, torch.zeros_like(v0))

# %% [markdown]
# The block written from scratch is the package's block, and "Zero" is literal: a new DiT is a stack
# of identities whose modulation layers open during training, a stable start for a deep network.
#
# ## 4. Attention maps on a frame
# `VideoDiT.record_attention(layers=...)` records the softmax attention of chosen layers — computed
# from the same queries and keys the layer uses, so the map is exactly what the model attended with.
# We give the trained tiny model from the demo the clip of §1, half noised (t = 0.5), with its
# caption, pick one video token — the centre of the middle frame — and show where it looks, frame by
# frame.

# %%
model = pipe.dit
prompt = "a red circle moving right on a white background"
latents = 0.5 * pipe.encode_video(clip) + 0.5 * noise                # x_t at t = 0.5
text, text_mask = pipe.encode_prompt([prompt])
layer = model.config.num_layers // 2
with torch.no_grad(), model.record_attention(layers=[layer], video_to_video=True, reduce_heads="mean") as rec:
    pipe.velocity(latents, 0.5, text, text_mask)
T_, H_, W_ = rec.grid
v2v = rec.maps[layer]["video_to_video"][0, 0]                         # (N, N), mean over heads
query = (T_ // 2) * H_ * W_ + (H_ // 2) * W_ + W_ // 2                # centre token of the middle frame
att = v2v[query].reshape(T_, H_, W_)
print("layer", layer, "| token grid", rec.grid)
assert att.min() >= 0 and att.sum() <= 1 + 1e-5

fig, axes = plt.subplots(1, T_, figsize=(2.2 * T_, 2.4))
for f in range(T_):
    axes[f].imshow(att[f], vmin=0, vmax=att.max(), cmap="magma")
    axes[f].set_title(f"frame {f}" + (" (query)" if f == T_ // 2 else ""))
    axes[f].axis("off")
axes[T_ // 2].scatter([W_ // 2], [H_ // 2], marker="x", color="cyan")
plt.suptitle(f"where the centre token attends, layer {layer}")
plt.show()

frame_of = torch.arange(T_ * H_ * W_) // (H_ * W_)                    # each video token's frame
same_frame = (frame_of[:, None] == frame_of[None]).float()
own_share = ((v2v * same_frame).sum(1) / v2v.sum(1)).mean().item()   # averaged over every query token
print(f"the centre token: {1 - att.sum().item():.0%} of its attention on the caption's tokens, "
      f"{1 - att[T_ // 2].sum().item() / att.sum().item():.0%} of the rest on other frames")
print(f"all {T_ * H_ * W_} video tokens: on average {1 - own_share:.0%} of their video attention crosses "
      f"to other frames (a token that ignored its position would send {1 - 1 / T_:.0%})")
assert 1 - own_share > 0.3

# %% [markdown]
# Every token sees every token of every frame, and the caption's tokens, in one softmax: this is
# CogVideoX's **3D full attention** (week 4 compares it with separated spatial / temporal attention).
# The trained model uses that freedom: a large share of a token's attention goes to *other* frames,
# where the information about motion is.
#
# ## Summary / 요약
# * **Patchify (패치화)**: a `(B, C, T, H, W)` tensor becomes `T·(H/p)·(W/p)` tokens of `C·p·p`
#   features, in `(t, h, w)` order — a plain reshape, exactly invertible.
# * **Timestep embedding (타임스텝 임베딩)**: sinusoids of geometrically spaced frequencies, then an
#   MLP, give the conditioning vector `c`; nearby timesteps get similar embeddings.
# * **adaLN-Zero**: `c` predicts a shift β, scale γ and gate α for each branch; zero-initialising
#   that layer makes every block start as the identity (and a new DiT predict zero velocity), while
#   the gradient still reaches the modulation layer. The from-scratch block equals the package's
#   `ExpertBlock` (which adds a second expert for text tokens, week 4).
# * **Sequence length**: attention's cost grows with the square of the token count, which is why the
#   DiT runs on VAE latents with 2×2 patches.
# * **Attention maps (어텐션 맵)**: `VideoDiT.record_attention` records exactly the softmax weights
#   the layer used; every video token can attend to every token of every frame, and the trained model
#   sends much of its attention across frames.
# * Next week the diffusion objective, rectified flow (정류 흐름), trains this network to predict the
#   velocity from noise to video.

# %% [markdown] [nbgrader locked id=exercises]
# ## Graded exercises
# Write each function below: replace `raise NotImplementedError()` with your code and run the check
# cell under it, which compares your function with minicog's own on random inputs and edge cases and
# says what differs. `make grade NB=<this notebook>` grades them all (`docs/coursework.md`).
# This section runs on its own: its first cell imports what it needs.

# %%
import math

import torch
import torch.nn.functional as F

from minicog import coursework as cw

# %% [markdown]
# **Predict, then run.** The tiny DiT's latent frames are 8×8, so with 2×2 patches each frame is 16
# tokens. Double the frame's height and width to 16×16 and keep the 5 latent frames: by how many times
# does the number of attention scores that one head computes between video tokens grow? Write your guess
# in `prediction()` (graded only on being answered, not on being right); the cell after the check runs
# the experiment and prints the result beside your guess.

# %% [nbgrader solution id=prediction]
def prediction():
    ### BEGIN SOLUTION
    return 16
    ### END SOLUTION

# %% [nbgrader check id=check_prediction points=1]
cw.check_prediction(prediction)

# %%
from minicog.dit import DiTConfig, VideoDiT

dit = VideoDiT(DiTConfig.tiny(num_layers=1)).eval()      # one untrained layer: only the shapes matter
scores, grids = {}, {}
for size in (8, 16):
    with torch.no_grad(), dit.record_attention(layers=[0], video_to_video=True) as rec:
        dit(torch.randn(1, 8, 5, size, size), torch.tensor([500.0]), torch.randn(1, 10, 128))
    scores[size] = rec.maps[0]["video_to_video"][0, 0].numel()         # one head's (N, N) map
    grids[size] = rec.grid
measured = scores[16] / scores[8]
if cw.show_prediction(prediction, measured, "growth of one head's video-to-video attention scores (×)"):
    for size in (8, 16):
        n = math.prod(grids[size])
        print(f"{size}×{size} latent frames: token grid {grids[size]} = {n} video tokens, "
              f"{scores[size]:,} scores per head")

# %% [markdown]
# **Exercise 1.1 — patchify (1 point).** Write `patchify(x, p, p_t)`: a latent video `(B, C, T, H, W)`
# becomes `(B, N, C·p_t·p·p)` tokens, N = (T/p_t)·(H/p)·(W/p), tokens in (t, h, w) order and each
# token's features in (c, pt, ph, pw) order. Use `reshape`/`permute` (or einops).

# %% [nbgrader solution id=patchify]
def patchify(x, p, p_t=1):
    ### BEGIN SOLUTION
    B, C, T, H, W = x.shape
    x = x.reshape(B, C, T // p_t, p_t, H // p, p, W // p, p)
    x = x.permute(0, 2, 4, 6, 1, 3, 5, 7)                     # (B, t, h, w, C, pt, ph, pw)
    return x.reshape(B, (T // p_t) * (H // p) * (W // p), C * p_t * p * p)
    ### END SOLUTION

# %% [nbgrader check id=check_patchify points=1]
cw.check_patchify(patchify)

# %% [markdown]
# **Exercise 1.2 — timestep embedding (1 point).** Write `timestep_embedding(t, dim)` for timesteps
# `t (B,)` (any real numbers) and an even `dim`: with `half = dim // 2` frequencies
# `f_i = exp(−ln(10000)·i / half)`, i = 0 … half−1, return `[cos(t·f), sin(t·f)]` concatenated, shape
# `(B, dim)` — cosines first (diffusers' `flip_sin_to_cos=True`).

# %% [nbgrader solution id=timestep_embedding]
def timestep_embedding(t, dim):
    ### BEGIN SOLUTION
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32) / half)
    args = t[:, None].float() * freqs[None]
    return torch.cat([args.cos(), args.sin()], dim=-1)
    ### END SOLUTION

# %% [nbgrader check id=check_timestep_embedding points=1]
cw.check_timestep_embedding(timestep_embedding)

# %% [markdown]
# **Exercise 1.3 — one adaLN-Zero branch (2 points).** Write `adaln_zero(x, c, ada, norm, branch)` for
# tokens `x (B, N, D)` and a conditioning vector `c (B, cond_dim)`: `ada` (a Linear cond_dim → 3D) maps
# `silu(c)` to shift β, scale γ and gate α (in that order, D each); return
# `x + α ⊙ branch(norm(x)·(1 + γ) + β)`, with β, γ, α broadcast over the N tokens. The check also
# zeroes `ada`: the block must then be exactly the identity (the "Zero" of adaLN-Zero).

# %% [nbgrader solution id=adaln_zero]
def adaln_zero(x, c, ada, norm, branch):
    ### BEGIN SOLUTION
    shift, scale, gate = ada(F.silu(c))[:, None].chunk(3, dim=-1)      # (B, 1, D) each
    return x + gate * branch(norm(x) * (1 + scale) + shift)
    ### END SOLUTION

# %% [nbgrader check id=check_adaln_zero points=2]
cw.check_adaln_zero(adaln_zero)
