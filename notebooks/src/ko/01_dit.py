# %% [markdown]
# # 1주차 — DiT: 비디오 패치 위의 트랜스포머
#
# 강의: **"DiT (Diffusion Transformer)"**. 확산 트랜스포머(Diffusion Transformer, Peebles & Xie 2023)는 *패치 토큰*의
# 노이즈를 제거하는 평범한 트랜스포머입니다. CogVideoX의 전문가 트랜스포머(expert transformer)는 비디오용 DiT입니다
# (강의: "DiT 구조를 이용한 이미지 생성 + 시간"). 이 노트북에서는 그 부품들을 처음부터 만들고, 하나하나를
# `minicog.dit`과 대조해 확인합니다.
#
# **이번 강의에서 배울 것**
# 1. **패치화**(patchify) / unpatchify — 비디오 `(C, T, H, W)`를 토큰(token)의 시퀀스로 바꾸고 다시 되돌리기, 그리고
#    시퀀스의 길이가 치르게 하는 비용;
# 2. **타임스텝 임베딩**(timestep embedding) — 네트워크가 노이즈 수준 `t ∈ [0, 1000]`을 알게 되는 방법;
# 3. **adaLN-Zero 블록** — 타임스텝이 적응형 레이어 정규화(adaptive LayerNorm: 스케일, 시프트)를
#    *변조*하고 각 잔차 분기를 *게이트*로 조절합니다. 처음부터 작성하고 패키지의 블록과 같음을 확인합니다;
# 4. **프레임 위의 어텐션 맵**(attention maps) — 3D 전체 어텐션(3D full attention)에서 한 토큰이 어떤 토큰들을 보는지,
#    학습된 작은 모델에서 측정합니다.

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
# ## 1분 라이브 데모
# 강좌에서 학습한 작은 DiT를 순전파 한 번씩 돌려 봅니다. 클립을 잠재 변수(latent)로 인코딩하고 노이즈를 섞은 뒤 —
# t = 0.5(노이즈 절반), 0.8, 1.0(노이즈만)에서 `x_t = (1 − t)·x₀ + t·ε` — 트랜스포머에 `x_t`, `t`, 캡션을 줍니다.
# 트랜스포머는 속도(velocity) `v`로 답하고, `x_t − t·v`는 깨끗한 클립에 대한 추정입니다(이유는 2주차에서 설명합니다).
# 행은 DiT가 받은 것(노이즈가 섞인 잠재 변수를 디코딩한 것)과 그 추정입니다. 추정들과, 그림 아래에 출력되는 각 추정에
# 대한 오라클(oracle)의 판독을 보세요. 노이즈가 절반일 때 트랜스포머는 클립을 복원하고, 순수한 노이즈에서 출발해도
# 캡션만으로 색, 배경, 움직임을 알아냅니다. 윤곽만 흐릿한 추측으로 남습니다.

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
# ## 1. 패치화: 토큰의 시퀀스로 본 비디오
# 트랜스포머는 벡터의 시퀀스를 입력으로 받습니다. DiT는 입력을 겹치지 않는 `p × p` 패치로 자르고(CogVideoX 1.5는
# `p_t`개의 프레임도 묶습니다) 각 패치를 벡터 하나로 펼칩니다. CogVideoX에서 입력은 VAE의 *잠재 변수*
# `(16, 13, 60, 90)`이고 `p = 2`입니다(토큰 수는 아래에서 셉니다). 여기서는 패치를 눈으로 볼 수 있도록 도형 세계(Shapes
# world)의 클립을 픽셀 그대로 16×16 크기의 큰 패치로 패치화합니다.

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
# 토큰의 순서는 `(t, h, w)`입니다. 프레임 0의 모든 토큰, 그다음 프레임 1, ... 순입니다. 토큰 안에서 특징은
# `(c, p_h, p_w)` 순서이며, 이는 diffusers의 패치 합성곱 가중치와 같은 순서라서 공식 체크포인트를 단순한 reshape만으로
# `minicog`의 선형 패치 임베딩에 불러올 수 있습니다.
#
# 시퀀스는 얼마나 길까요? 어텐션은 모든 토큰을 다른 모든 토큰과 비교하므로, 비용이 토큰 수의 *제곱*으로 늘어납니다.
# 픽셀 예제, 작은 모델의 잠재 변수, CogVideoX-2b의 잠재 변수에 대해 세어 보면 다음과 같습니다.

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
# 패치화는 단순한 reshape이고 정확히 되돌릴 수 있으며, 패치화가 만드는 시퀀스 길이가 그 뒤에 오는 모든 것의 비용을
# 결정합니다. CogVideoX가 트랜스포머를 픽셀이 아니라 언제나 VAE 잠재 변수(3주차) 위에서 돌리는 이유, 그리고 더 길거나 큰
# 비디오일수록 어텐션 비용이 제곱으로 늘어나는 이유가 여기에 있습니다.
#
# ## 2. 타임스텝 임베딩
# 디노이저는 입력에 노이즈가 얼마나 섞여 있는지 알아야 합니다. DiT는 `t`를 등비 간격의 주파수를 갖는 사인파들로
# 바꾸고(트랜스포머의 위치 인코딩과 비슷합니다) 그 뒤에 MLP를 둡니다. 앞쪽 절반은
# $\mathrm{emb}(t)_i = \cos(t\,\omega_i)$, 뒤쪽 절반은 $\sin(t\,\omega_i)$이며,
# $\omega_i = 10000^{-i/(d/2)}$입니다.

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
# 두 임베딩의 유사도는 두 타임스텝이 얼마나 떨어져 있는지에만 달려 있고, 멀어질수록 낮아집니다. 가까운 노이즈 수준은
# 네트워크에게 비슷해 보이고, 먼 수준은 그렇지 않습니다. 그 뒤의 MLP가 이것을, 모든 블록을 구동하는 조건 벡터 `c`로
# 바꿉니다.
#
# ## 3. adaLN-Zero 블록을 처음부터
# DiT 블록은 pre-norm 트랜스포머 블록이되, 그 LayerNorm이 *적응형*입니다. `c`로부터 선형 층 하나가 벡터 여섯 개를
# 예측합니다. 어텐션 분기와 MLP 분기 각각에 대한 시프트 β, 스케일 γ, 게이트 α입니다.
#
# $$h = \mathrm{LN}(x)\,(1+\gamma_1) + \beta_1,\quad x \leftarrow x + \alpha_1 \odot \mathrm{Attn}(h),$$
# $$h = \mathrm{LN}(x)\,(1+\gamma_2) + \beta_2,\quad x \leftarrow x + \alpha_2 \odot \mathrm{MLP}(h).$$
#
# "Zero"의 뜻: DiT는 그 선형 층을 0으로 초기화하므로 α = 0이 되고, 모든 블록이 항등 함수로 시작합니다. 학습이
# 안정적이고 얕은 네트워크에서 출발하는 셈입니다. CogVideoX는 어텐션 로짓이 한없이 커지지 않도록 어텐션에
# QK-LayerNorm(헤드마다 쿼리와 키를 정규화)을 추가합니다.

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
# 패키지의 `ExpertBlock`은 이 블록에 한 가지 변형을 더한 것으로, 4주차에서 공부합니다. 텍스트 토큰과 비디오 토큰이
# *따로따로* (β, γ, α)를 받습니다. 텍스트 토큰이 없으면 비디오용 집합만 쓰이므로, 가중치를 그대로 복사해 오면 출력이
# 같아야 합니다.

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
# 그리고 adaLN-Zero의 "Zero": 변조 층이 0이면 블록은 정확히 항등 함수입니다. 그렇다고 블록이 얼어붙는 것은 아닙니다.
# 게이트의 그래디언트는 분기의 출력이므로, 첫 학습 스텝부터 변조 층이 움직입니다(닫힌 게이트 뒤에 있는 어텐션 가중치는
# 기다립니다).

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
# 패키지는 모델 전체에서 같은 층들을 0으로 만듭니다. 모든 블록의 변조, 마지막 변조, 출력 투영입니다
# (`VideoDiT.initialize_weights`, 트레이너가 새 모델에 호출하는 함수). 따라서 학습하지 않은 DiT는 내부가 항등 함수로
# 시작하고 속도를 정확히 0으로 예측합니다.

# %%
fresh = VideoDiT(DiTConfig.tiny()).initialize_weights().eval()
with torch.no_grad():
    v0 = fresh(torch.randn(1, 8, 5, 8, 8), torch.tensor([500.0]), torch.randn(1, 10, 128))
print(f"a freshly initialised DiT predicts max |v| = {v0.abs().max().item()}")
assert torch.equal(v0, torch.zeros_like(v0))

# %% [markdown]
# 처음부터 작성한 블록은 패키지의 블록과 같고, "Zero"는 말 그대로의 뜻입니다. 새 DiT는 항등 함수들을 쌓아 놓은 것이며
# 그 변조 층들은 학습 중에 열립니다. 깊은 네트워크에 안정적인 출발점입니다.
#
# ## 4. 프레임 위의 어텐션 맵
# `VideoDiT.record_attention(layers=...)`은 선택한 층들의 softmax 어텐션을 기록합니다. 층이 쓰는 것과 같은 쿼리와 키로
# 계산하므로, 맵은 모델이 실제로 어텐션한 그대로입니다. 데모의 학습된 작은 모델에 §1의 클립을 노이즈를 절반만 섞어
# (t = 0.5) 캡션과 함께 주고, 비디오 토큰 하나 — 가운데 프레임의 중심 — 를 골라 그 토큰이 어디를 보는지 프레임별로
# 보여 줍니다.

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
# 모든 토큰은 모든 프레임의 모든 토큰과 캡션의 토큰들을 하나의 softmax 안에서 봅니다. 이것이 CogVideoX의
# **3D 전체 어텐션**입니다(4주차에서 분리된 공간·시간 어텐션(separated spatial / temporal attention)과 비교합니다).
# 강의: "현재, 다음 프레임 각 영역별로 동시 계산 적용". 학습된 모델은 이 자유를 활용합니다. 토큰 어텐션의 상당 부분이
# 움직임에 대한 정보가 있는 *다른* 프레임으로 갑니다.
#
# ## 요약
# * **패치화**: `(B, C, T, H, W)` 텐서가 `C·p·p`개의 특징을 가진 `T·(H/p)·(W/p)`개의 토큰이 되며, 순서는
#   `(t, h, w)`입니다. 단순한 reshape이고 정확히 되돌릴 수 있습니다.
# * **타임스텝 임베딩**: 등비 간격 주파수의 사인파와 그 뒤의 MLP가 조건 벡터 `c`를 만듭니다. 가까운 타임스텝은 비슷한
#   임베딩을 얻습니다.
# * **adaLN-Zero**: `c`가 분기마다 시프트 β, 스케일 γ, 게이트 α를 예측합니다. 그 층을 0으로 초기화하면 모든 블록이
#   항등 함수로 시작하지만(새 DiT는 속도를 0으로 예측합니다), 그래디언트는 여전히 변조 층에 도달합니다. 처음부터 작성한
#   블록은 패키지의 `ExpertBlock`과 같습니다(`ExpertBlock`은 텍스트 토큰을 위한 두 번째 전문가를 더합니다, 4주차).
# * **시퀀스 길이**: 어텐션의 비용은 토큰 수의 제곱으로 늘어나며, 그래서 DiT는 2×2 패치로 VAE 잠재 변수 위에서
#   돌아갑니다.
# * **어텐션 맵**: `VideoDiT.record_attention`은 층이 사용한 softmax 가중치를 그대로 기록합니다. 모든 비디오 토큰은 모든
#   프레임의 모든 토큰에 어텐션할 수 있고, 학습된 모델은 어텐션의 많은 부분을 프레임을 가로질러 보냅니다.
# * 다음 주에는 확산 목적 함수인 정류 흐름(rectified flow)으로, 노이즈에서 비디오로 가는 속도를 예측하도록 이 네트워크를
#   학습합니다.

# %% [markdown] [nbgrader locked id=exercises]
# ## 채점 과제
# 아래의 각 함수를 작성하세요. `raise NotImplementedError()`를 여러분의 코드로 바꾸고 그 아래의 확인 셀을 실행하면,
# 무작위 입력과 경계 사례에서 여러분의 함수를 minicog 자체의 함수와 비교해 무엇이 다른지 알려 줍니다.
# `make grade NB=<this notebook>`은 모든 과제를 채점합니다(`docs/coursework.md`).
# 이 절은 독립적으로 실행됩니다. 첫 셀이 필요한 것을 import합니다.

# %%
import math

import torch
import torch.nn.functional as F

from minicog import coursework as cw

# %% [markdown]
# **예측한 뒤 실행하기.** 작은 DiT의 잠재 프레임은 8×8이므로, 2×2 패치로 자르면 프레임 하나가 토큰 16개입니다.
# 잠재 프레임 5개는 그대로 두고 프레임의 높이와 너비를 두 배인 16×16으로 늘리면, 헤드 하나가 비디오 토큰 사이에서
# 계산하는 어텐션 점수(attention score)의 개수는 몇 배가 될까요? 여러분의 추측을 `prediction()`에
# 적으세요(답했는지만 채점하고, 맞았는지는 채점하지 않습니다). 확인 셀 다음 셀이 실험을 실행하고 그 결과를 여러분의 추측
# 옆에 출력합니다.

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
# **과제 1.1 — 패치화 (1점).** `patchify(x, p, p_t)`를 작성하세요. 잠재 비디오 `(B, C, T, H, W)`가
# `(B, N, C·p_t·p·p)` 토큰이 되며, N = (T/p_t)·(H/p)·(W/p)입니다. 토큰은 (t, h, w) 순서, 각 토큰의 특징은
# (c, pt, ph, pw) 순서입니다. `reshape`/`permute`(또는 einops)를 쓰세요.

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
# **과제 1.2 — 타임스텝 임베딩 (1점).** 타임스텝 `t (B,)`(임의의 실수)와 짝수 `dim`에 대해
# `timestep_embedding(t, dim)`을 작성하세요. `half = dim // 2`개의 주파수 `f_i = exp(−ln(10000)·i / half)`,
# i = 0 … half−1에 대해 `[cos(t·f), sin(t·f)]`를 이어 붙여 `(B, dim)` 모양으로 반환합니다. 코사인이 먼저 옵니다
# (diffusers의 `flip_sin_to_cos=True`).

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
# **과제 1.3 — adaLN-Zero 분기 하나 (2점).** 토큰 `x (B, N, D)`와 조건 벡터 `c (B, cond_dim)`에 대해
# `adaln_zero(x, c, ada, norm, branch)`를 작성하세요. `ada`(cond_dim → 3D인 Linear)는 `silu(c)`를 시프트 β, 스케일 γ,
# 게이트 α로 바꿉니다(이 순서로, 각각 D개). `x + α ⊙ branch(norm(x)·(1 + γ) + β)`를 반환하며, β, γ, α는 N개의 토큰에
# 걸쳐 브로드캐스트됩니다. 확인 셀은 `ada`를 0으로 만든 경우도 검사합니다. 이때 블록은 정확히 항등 함수여야 합니다
# (adaLN-Zero의 "Zero").

# %% [nbgrader solution id=adaln_zero]
def adaln_zero(x, c, ada, norm, branch):
    ### BEGIN SOLUTION
    shift, scale, gate = ada(F.silu(c))[:, None].chunk(3, dim=-1)      # (B, 1, D) each
    return x + gate * branch(norm(x) * (1 + scale) + shift)
    ### END SOLUTION

# %% [nbgrader check id=check_adaln_zero points=2]
cw.check_adaln_zero(adaln_zero)
