# %% [markdown]
# # Week 1 — DiT: a transformer on video patches
#
# Lecture: **"DiT (Diffusion Transformer)"**. A diffusion transformer (Peebles & Xie 2023) is a plain
# transformer that denoises *patch tokens*. CogVideoX's expert transformer is a DiT for video; this
# notebook builds its pieces from scratch and checks each one against `minicog.dit`.
#
# **In this lecture / 이번 강의에서 배울 것**
# 1. **패치화 (patchify) / unpatchify** — a video `(C, T, H, W)` becomes a sequence of 토큰 (tokens)
#    and back;
# 2. **타임스텝 임베딩 (timestep embedding)** — how the network knows the noise level `t ∈ [0, 1000]`;
# 3. **adaLN-Zero 블록 (adaLN-Zero block)** — the timestep *modulates* the 적응형 레이어 정규화
#    (adaptive LayerNorm: scale, shift) and *gates* each residual branch; written from scratch and
#    checked equal to the package's block;
# 4. **어텐션 맵 (attention maps) on a frame** — which tokens a token looks at, in 3D 전체 어텐션
#    (3D full attention).

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
# ## 1. Patchify: a video as a sequence of tokens
# A transformer eats a sequence of vectors. DiT cuts the input into non-overlapping `p × p` patches
# (CogVideoX 1.5 also groups `p_t` frames) and flattens each patch into one vector. In CogVideoX the
# input is the VAE *latent* `(16, 13, 60, 90)` and `p = 2`, giving 13·30·45 = 17 550 video tokens.
# Here we patchify a Shapes clip directly in pixels with big 16×16 patches, so we can see them.

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

# %% [markdown]
# Nearby timesteps get similar embeddings, far ones different: the MLP after it turns this into
# the conditioning vector `c` that drives every block.
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
print("max |scratch - package|:", (ours - theirs).abs().max().item())
assert torch.allclose(ours, theirs, atol=1e-5)

# %% [markdown]
# And the "Zero" in adaLN-Zero: with the modulation layer at zero, the block is exactly the identity.

# %%
with torch.no_grad():
    nn.init.zeros_(scratch.ada.weight)
    nn.init.zeros_(scratch.ada.bias)
    assert torch.equal(scratch(x_tok, c), x_tok)
print("zero-initialised adaLN block = identity")

# %% [markdown]
# ## 4. Attention maps on a frame
# `VideoDiT.record_attention(layers=...)` records the softmax attention of chosen layers — computed
# from the same queries and keys the layer uses, so the map is exactly what the model attended with.
# Below: the tiny text-to-video model if it has been trained (`assets/tiny`), otherwise a randomly
# initialised one (then the maps show only the positional structure that RoPE imposes).
# We pick one video token — the centre of the middle frame — and show where it looks, frame by frame.

# %%
from pathlib import Path

prompt = "a red circle moving right on a white background"
if (Path(minicog.__file__).parent.parent / "assets" / "tiny" / "pipeline.json").is_file():
    pipe = minicog.load_pipeline("tiny", device="cpu")
    model = pipe.dit
    latents = pipe.encode_video(clip)
    text, text_mask = pipe.encode_prompt([prompt])
    source = "trained tiny model"
else:
    torch.manual_seed(0)
    model = VideoDiT(DiTConfig.tiny()).eval()
    latents = torch.randn(1, 8, 5, 8, 8)
    text, text_mask = torch.randn(1, 10, 128), torch.ones(1, 10, dtype=torch.bool)
    source = "random model (train the tiny model for meaningful maps)"

layer = model.config.num_layers // 2
with torch.no_grad(), model.record_attention(layers=[layer], video_to_video=True, reduce_heads="mean") as rec:
    model(latents, torch.tensor([500.0]), text, text_mask=text_mask)
T_, H_, W_ = rec.grid
v2v = rec.maps[layer]["video_to_video"][0, 0]                         # (N, N), mean over heads
query = (T_ // 2) * H_ * W_ + (H_ // 2) * W_ + W_ // 2                # centre token of the middle frame
att = v2v[query].reshape(T_, H_, W_)
print(source, "| layer", layer, "| token grid", rec.grid, "| attention to video tokens sums to",
      round(att.sum().item(), 3), "(the rest goes to text tokens)")
assert att.min() >= 0 and att.sum() <= 1 + 1e-5

fig, axes = plt.subplots(1, T_, figsize=(2.2 * T_, 2.4))
for f in range(T_):
    axes[f].imshow(att[f], vmin=0, vmax=att.max(), cmap="magma")
    axes[f].set_title(f"frame {f}" + (" (query)" if f == T_ // 2 else ""))
    axes[f].axis("off")
axes[T_ // 2].scatter([W_ // 2], [H_ // 2], marker="x", color="cyan")
plt.suptitle(f"where the centre token attends, layer {layer}")
plt.show()

# %% [markdown]
# Every token sees every token of every frame at once: this is CogVideoX's **3D full attention**
# (week 4 compares it with separated spatial / temporal attention).
#
# ## Summary / 요약
# * **Patchify (패치화)**: a `(B, C, T, H, W)` tensor becomes `T·(H/p)·(W/p)` tokens of `C·p·p`
#   features, in `(t, h, w)` order — a plain reshape, exactly invertible.
# * **Timestep embedding (타임스텝 임베딩)**: sinusoids of geometrically spaced frequencies, then an
#   MLP, give the conditioning vector `c`; nearby timesteps get similar embeddings.
# * **adaLN-Zero**: `c` predicts a shift β, scale γ and gate α for each branch; zero-initialising
#   that layer makes every block start as the identity. The from-scratch block equals the package's
#   `ExpertBlock` (which adds a second expert for text tokens, week 4).
# * **Attention maps (어텐션 맵)**: `VideoDiT.record_attention` records exactly the softmax weights
#   the layer used; every video token can attend to every token of every frame.
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
