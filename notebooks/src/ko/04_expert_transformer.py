# %% [markdown]
# # 4주차 — 전문가 트랜스포머: 전문가 adaLN, 3D RoPE, 3D 전체 어텐션
#
# 강의: **"Expert Transformer — 3D Full Attention: 현재, 다음 프레임 각 영역별로 동시 계산 적용"**.
# CogVideoX(Yang et al. 2024, §2.2)는 1주차의 DiT를 세 가지 설계 선택으로 텍스트-비디오 모델로
# 바꿉니다. 이번 주에는 그 세 가지를 하나씩 살펴봅니다.
#
# **이번 강의에서 배울 것**
# 1. **전문가 적응형 레이어 정규화(expert adaptive LayerNorm, expert adaLN)** — 텍스트 토큰과 비디오
#    토큰은 하나의 시퀀스와 하나의 LayerNorm을 함께 쓰지만, 타임스텝으로 조건화된
#    스케일(scale) / 시프트(shift) / 게이트(gate)는 각자 따로 받습니다;
# 2. **3D 회전 위치 임베딩(3D rotary position embedding, 3D RoPE)** — 각 헤드의 채널을 시간, 높이,
#    너비 부분으로 나누고, 각 부분을 토큰의 (t, h, w) 좌표만큼 회전시킵니다;
# 3. **3D 전체 어텐션(3D full attention)** — **분리된 공간·시간 어텐션(separated spatial + temporal
#    attention)** 대신, 모든 토큰이 모든 프레임의 텍스트 토큰과 비디오 토큰 전부에 한꺼번에
#    어텐션합니다. 그 비용이 얼마인지, 그리고 측정한 학습 실행에서 그 대가로 무엇을 얻는지 봅니다;
# 4. **어텐션 맵(attention map)**: 캡션의 한 단어가 프레임마다 어디에 어텐션하는지(슬라이더로
#    확인합니다), 그리고 열두 개 클립에서 측정했을 때 어떤 단어와 어떤 레이어가 물체 위에
#    놓이는지.

# %% [markdown]
# ## 0. 준비: 들여다볼 모델
# 이 강좌의 작은 텍스트-비디오 모델(`assets/tiny`, 5주차에서 학습합니다)입니다. 작은 인과 VAE(causal
# VAE)의 잠재 변수(latent) 위에서 동작하는 전문가 트랜스포머(expert transformer)이며, 텍스트 인코더는
# 단어 임베딩 방식입니다. 아래 셀은 모델의 크기와, 클립 하나가 몇 개의 비디오 토큰이 되는지를
# 출력합니다.

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
# ## 1분 라이브 데모: 모든 프레임에 걸친 한 번의 어텐션
# 도형 세계(Shapes world)의 클립 하나와 그 캡션이 텍스트 토큰과 비디오 토큰으로 이루어진 하나의
# 시퀀스가 되어 트랜스포머를 한 번 통과합니다. 프레임 아래에는 중간 레이어에서 각 프레임의 비디오
# 토큰이 색 단어와 배경 단어에 얼마나 어텐션하는지가 나옵니다. **가운데 줄을 보세요**: 색 단어의
# 어텐션은 프레임마다 원을 따라 움직이고, 배경 단어의 어텐션은 원을 비껴갑니다. `demo_prompt`를
# 바꾸고(도형 세계의 어떤 색, 모양, 방향, 배경이든 됩니다) 셀을 다시 실행해 보세요.

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
# ## 1. 전문가 adaLN: 텍스트와 비디오에 각자의 변조가 필요한 이유
# 텍스트 토큰은 언어 모델(CogVideoX에서는 T5, 여기서는 작은 인코더)에서 오고, 비디오 토큰은 VAE 잠재
# 변수의 패치 임베딩에서 옵니다. 특징 통계가 서로 다른 두 모달리티(modality)이지만, CogVideoX는 이들을
# **하나의 시퀀스**에 넣습니다. LayerNorm 하나가 모든 토큰을 정규화하지만, 그 뒤에 오는 적응형
# 스케일/시프트가 각 모달리티의 *동작 범위*를 정하고, 게이트는 각 잔차 분기(residual branch)가 그
# 값을 얼마나 바꿀 수 있는지를 정합니다. 한 세트를 함께 쓰면 텍스트와 비디오가 모든 노이즈 수준에서
# 똑같이 변조될 수밖에 없습니다. 전문가 adaLN은 약간의 파라미터를 더 들여 모달리티마다 자기 세트를
# 줍니다.
#
# 처음부터 만들기: LayerNorm 하나와, (shift, scale, gate)를 **두** 세트 예측하는 선형 레이어 하나.

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
# 모델은 두 세트를 실제로 어떻게 쓸까요? 아래는 각 레이어와 두 노이즈 수준에 대해, 텍스트 토큰과 비디오
# 토큰의 어텐션 분기 **게이트** 절댓값의 평균, 그리고 첫 블록에 들어가는 토큰의 크기(텍스트 투영 대
# 패치 임베딩)입니다.

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
# **정리.** 학습된 모델은 두 세트를 실제로 다르게 씁니다: 같은 레이어에서도 텍스트 게이트와 비디오
# 게이트는 크기가 다르고 깊이에 따른 모양도 다르며, 둘 다 노이즈 수준이 내려갈수록 작아집니다. 또
# 텍스트 토큰은 비디오 토큰과 다른 스케일로 들어옵니다. (shift, scale, gate)를 한 세트만 공유한다면 그
# 한 세트가 양쪽을 모두 감당해야 합니다; 전문가 adaLN은 블록 파라미터의 몇 퍼센트만으로 두 번째 세트를
# 마련합니다.

# %% [markdown]
# ## 2. 3D 회전 위치 임베딩
# RoPE(Su et al. 2021)는 query/key 채널 쌍을 위치에 비례하는 각도만큼 *회전*시켜 위치를 인코딩하며,
# 채널 쌍마다 주파수가 하나씩 있습니다. 그러면 위치 p의 query와 위치 p'의 key 사이의 어텐션 점수는
# 오프셋 p − p'에만 의존합니다. CogVideoX는 각 헤드(d = 64)를 **시간에 d/4 = 16 채널, 높이와 너비에
# 각각 3d/8 = 24 채널**로 나누고, 각 부분을 자기 좌표만큼 회전시킵니다.
#
# 처음부터 만들기, 채널 쌍 하나: 위치 p의 query를 p·θ만큼, 위치 p'의 key를 p'·θ만큼 회전시킵니다. 둘의
# 내적은 |q||k|·cos(둘 사이의 각 + (p' − p)·θ)이므로 오프셋만 봅니다.

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
# RoPE는 이것을 d/2개의 채널 쌍 전부에 한 번에 적용하며, i번째 쌍은 자기 주파수
# θ_i = 10000^(−2i/d)로 돌아갑니다. 그래서 가까운 오프셋과 먼 오프셋을 모두 구별할 수 있습니다. 3D
# RoPE는 각 축에 채널 쌍을 나눠 줍니다(`minicog.rope.rope_3d`). 3 × 4 × 4 격자의 토큰에 대한
# cos(각도) 표는 다음과 같습니다:

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
# 상대 위치 성질을 확인해 봅니다: 벡터 하나를 7×9×9 격자의 모든 위치에 query로도, key로도 놓고, 가운데
# query와 모든 key의 점수를 계산합니다. 맵은 query를 중심으로 놓이며, query가 어디에 있든
# 똑같습니다(이동 불변성, shift invariance).

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
# **다른 크기에서의 위치.** CogVideoX 1.0은 60×90 잠재 변수(30×45 토큰 격자(token grid))로
# 학습되었습니다. 크기가 다르면 파이프라인은 새 격자를 학습 격자 위로 *늘립니다*(가운데를 잘라낸 영역
# 위의 `linspace`). 그래서 작은 비디오도 같은 위치 범위를 덮습니다. CogVideoX 1.5는 그냥 정수 위치
# 0, 1, 2, ...를 씁니다("slice"). `VideoDiT`는 diffusers의 파이프라인처럼 입력 크기로부터 둘 중 하나를
# 계산하므로, 호출하는 쪽에서 RoPE 표를 넘길 일이 없습니다.

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
# **정리.** RoPE는 위치를 query와 key 사이의 *각도*에 담으므로, 어텐션 점수는 시간, 높이, 너비의
# 오프셋만 봅니다 — 이동 불변성이 성립하고, 점수는 query 자신의 위치에서 가장 높습니다. 늘린
# (`linspace`) 위치는 작은 비디오를 모델이 학습한 범위 안에 두되 간격이 정수가 아니게 되고, `slice`는
# 간격 1을 유지하되 그 범위의 한쪽 귀퉁이만 씁니다.

# %% [markdown]
# ## 3. 3D 전체 어텐션 대 분리된 공간·시간 어텐션
# 이전의 비디오 모델은 어텐션을 분해합니다: **공간(spatial)** 레이어는 한 프레임의 토큰끼리 섞고,
# **시간(temporal)** 레이어는 같은 위치의 토큰을 프레임에 걸쳐 섞습니다. 프레임 0의 한 영역에 있는
# 정보는 프레임 3의 *다른* 영역에 여러 레이어를 거쳐 간접적으로만 닿을 수 있습니다 — CogVideoX는 이
# 방식이 큰 움직임에서 실패한다고 주장합니다. 3D 전체 어텐션은 강의의 말처럼 "현재, 다음 프레임 각
# 영역"이 모든 레이어에서 서로 작용하게 하며, 대신 비용이 더 듭니다.
#
# 누가 누구에게 어텐션할 수 있는지는 시퀀스 [text | video] 위의 불리언 어텐션 마스크(attention
# mask)로 나타냅니다. 행 하나가 query 하나, 열 하나가 key 하나이고, 비디오 토큰은 프레임
# 우선(frame-major) 순서입니다(프레임 0의 토큰 전부, 그다음 프레임 1, …: `patchify`의 순서). 두 설계
# 모두에서 텍스트 query는 모든 토큰을 보고, 모든 query는 텍스트를 봅니다. 차이는 비디오-비디오
# 블록에 있습니다. `minicog.attention.separated_masks`가 공간 마스크와 시간 마스크를 만듭니다(채점 과제에서 여러분이
# 직접 작성합니다). 아래는 텍스트 토큰 2개와 3 × 2 × 2 토큰 격자(token grid)에 대한 마스크이며, 빨간
# 선은 프레임의 경계입니다.

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
# `DiTConfig(attention="separated")`는 분해된 모델을 만듭니다(짝수 레이어는 공간, 홀수 레이어는 시간
# 어텐션이며, 가중치는 전체 어텐션 모델과 같습니다). 이 레이어들은 (S, S) 마스크를 만들지 않습니다:
# 비디오 토큰을 묶음(프레임마다 하나, 또는 위치마다 하나)으로 나누고 각 묶음 안과 텍스트에만
# 어텐션하는데, 그 결과는 마스크를 씌운 어텐션과 정확히 같습니다(`tests/test_attention_masks.py`).
# 차이를 확인해 봅시다: 프레임 3을 교란하고, 한 레이어짜리 모델의 어느 출력 프레임이 바뀌는지 봅니다.

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
# **정리.** 한 레이어 안에서 전체 어텐션은 프레임 3의 변화를 다른 모든 프레임으로 전달하지만, 공간
# 레이어는 그 변화를 프레임 3 안에 가둡니다. 분해된 모델이 한 프레임의 한 영역에서 다른 프레임의 다른
# 영역으로 정보를 옮기려면 공간 레이어와 시간 레이어가 (또는 그 이상이) 필요합니다.
#
# 비용은 토큰 수의 제곱으로 늘어납니다. 480×720 크기 49프레임의 CogVideoX-5B(비디오 토큰
# 13×30×45 = 17 550개 + 텍스트 토큰 226개)와 작은 모델에 대해, 블록 하나의 곱셈-덧셈(multiply-add)
# 횟수를 셉니다: 투영과 MLP(토큰당 12·D², 두 어텐션 방식에서 같습니다), 그리고 어텐션 점수와 그
# 가중합(query-key 쌍당 2·D).

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
# **정리.** CogVideoX 크기에서는 어텐션 점수가 비용의 대부분을 차지합니다: 전체 어텐션은 그 양을 한
# 자릿수(약 10배) 늘리고 블록 전체의 비용을 거의 두 배로 만드는데, 이것이 CogVideoX가 모든 레이어에서
# 모든 프레임의 모든 영역을 만나게 하는 대가입니다. 작은 모델의 비디오 토큰 80개에서는 블록 비용이
# 거의 달라지지 않으므로, 작은 모델은 전체 어텐션을 씁니다.
#
# **그 대가로 얻는 것, 측정해 봅니다.** `benchmarks/bench_dit.py quality`는 같은 작은 DiT(4 레이어,
# 헤드 4개 × 32)를 같은 초기화에서 같은 배치로 두 번 학습합니다. 한 번은 3D 전체 어텐션으로, 한 번은
# 분리된 레이어로 학습하며, 정류 흐름(rectified flow)으로 도형 세계 클립을 48 × 5 × 8 × 8 유사
# 잠재 변수(비디오 토큰 5 × 4 × 4개, 캡션 단어 토큰 4개)로 접어서 씁니다.
# 100 스텝마다 학습에 쓰지 않은 클립에서, 고정된 노이즈와 고르게 퍼진 노이즈 수준으로 흐름
# 매칭 손실(flow-matching loss)을 잽니다(낮을수록 좋습니다). 이 실행은 강의 중에 돌리기에는 너무
# 오래 걸리므로(학습 시간은 그림 아래에 출력됩니다), 노트북은 기록된 결과를 그립니다.

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
# **정리.** 이 작은 문제에서 두 설계는 실행의 대부분 동안 비슷하게 학습합니다: 학습에 쓰지 않은
# 클립에서 잰 두 손실의 비율은 1 근처에서 1퍼센트 남짓 오르내리고, 앞서는 쪽이 몇 번이고
# 바뀝니다. 마지막 평가에서만 분리된 어텐션이 뚜렷하게 뒤처지며, 그 차이는 노이즈가 낮은 곳(t < 1/3)에서 가장 큽니다. 이곳에서 모델은
# 모든 프레임에 도형을 정확히 놓아야 합니다 — 한 프레임의 한 영역에서 다음 프레임의 다른 영역으로
# 정보가 건너가야 하는데, 분리된 레이어는 이를 두 단계를 거쳐서만 할 수 있습니다. 하지만 시드 하나의
# 마지막 한 점만으로는 더 오래 학습하면 전체 어텐션이 앞서 나가는지 결론 낼 수 없습니다. 게다가 이
# 설정은 차이가 가장 드러나기 어려운 경우입니다: 프레임당 4 × 4 토큰에서는 공간 레이어 하나와 시간
# 레이어 하나만으로도 모든 토큰 쌍이 이미 연결되고, 도형 세계의 움직임은 작습니다. CogVideoX의 주장은
# 고해상도에서의 큰 움직임에 관한 것이고, CPU 실행으로는 그 크기에 닿을 수 없습니다. 비용 쪽은
# 분명합니다(출력된 쌍의 수).
#
# ## 4. 캡션의 한 단어는 프레임마다 어디를 볼까?
# `model.record_attention`은 기록하는 레이어의 어텐션을 명시적으로 계산하고(나머지 레이어는 융합
# 커널(fused kernel)을 그대로 씁니다) 레이어마다 맵 두 개를 보관합니다. **video→text** 맵은 각 텍스트
# 토큰에 대해, 모든 비디오 토큰의 query가 그 토큰에 얼마나 어텐션하는지를 (T', H', W') 토큰 격자 위에
# 나타냅니다: 8주차에서 FlowDirector가 편집 마스크(edit mask)로 바꾸는 바로 그 단어별 맵입니다. 데모의
# `word_maps`는 이 맵을 t = 0.3까지 노이즈를 더한 클립에서 기록합니다. 샘플링 중에 모델이 보는 것과
# 같은 종류의 상태입니다.

# %%
prompt = "a red circle moving right on a white background"
clip = shapes.render_caption(prompt, rng=0)
words, maps, grid = word_maps(prompt, clip)                  # maps: (layers, L, T', H', W')
n_layers, L, T_, H_, W_ = maps.shape
assert L == len(words) and (T_, H_, W_) == grid
assert torch.all(maps.sum(1) <= 1 + 1e-5)                     # a video query's weight on all words ≤ 1
print("tokens:", words, "| map grid (T', H', W'):", grid)

# %% [markdown]
# 단어, 레이어, 프레임을 고르세요. 컨트롤 아래의 그림은 시작 화면이고, 컨트롤 옆의 패널은 컨트롤을
# 움직일 때마다 다시 그려집니다.

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
# 이번에는 모든 프레임을 한 번에 봅니다: 중간 레이어에서 모양 단어, 색 단어, 배경 단어의 맵입니다. 각
# 단어의 맵은 프레임 전체에 걸쳐 자기만의 색 스케일을 쓰며, 그 어텐션 중 얼마가 물체의 토큰 칸에
# 놓이는지도 함께 출력합니다.

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
# 클립 하나는 예시 하나일 뿐입니다. 색, 모양, 움직임, 배경이 서로 다른 열두 개 클립(빠른 모드(fast
# mode)에서는 여섯 개)에 대해, 모든 레이어에서 색·모양·배경 단어의 어텐션 중 물체에 놓이는 비율을,
# 물체가 차지하는 토큰 칸의 비율(물체를 보지 못하는 맵이 줄 값)과 비교합니다.

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
# **정리.** 학습 손실의 어느 부분도 이 맵들에게 위치를 찾으라고 요구하지 않지만, 작은 모델의 한
# 레이어에서 색 단어의 어텐션은 프레임을 따라 물체를 쫓아가고, 배경 단어의 어텐션은 물체를 피합니다;
# 모양 단어의 맵은 물체를 보지 못하는 맵을 겨우 넘는 정도입니다. 어떤 단어와 어떤 레이어가 위치를
# 찾는지는 학습된 모델의 성질이므로, 가정하지 말고 측정해야 합니다. 게다가 프레임당 4 × 4 토큰에서는
# 맵이 거칩니다. 8주차에서는 이 맵을 편집 마스크로 바꾸고,
# [`docs/flowdirector.md`](../docs/flowdirector.md)는 두 물체 클립에서 맵이 위치를 얼마나 잘 찾는지
# 측정합니다.

# %% [markdown]
# ## 요약
# * **전문가 adaLN(전문가 적응형 레이어 정규화)**: 텍스트 토큰과 비디오 토큰은 하나의 시퀀스와 하나의
#   LayerNorm을 함께 쓰지만, 각 모달리티는 타임스텝으로 조건화된 자기만의 시프트, 스케일, 게이트를
#   받습니다.
# * **3D RoPE(3D 회전 위치 임베딩)**: 헤드의 채널을 t, h, w 부분으로 나누어 각 부분을 자기 좌표만큼
#   회전시키므로, 어텐션 점수는 시간과 공간에서의 상대 오프셋에 의존합니다.
# * **3D 전체 어텐션**: 모든 토큰이 모든 레이어에서 모든 프레임의 모든 토큰을 봅니다. 분리된
#   공간·시간 어텐션은 여러 레이어를 거쳐야만 다른 프레임의 다른 영역에 닿습니다. 어텐션 비용은 토큰
#   수의 제곱으로 늘어나서, CogVideoX 크기에서는 블록 비용을 거의 두 배로 만들고, 작은 모델 크기에서는
#   몇 퍼센트에 그칩니다. 프레임당 4 × 4 토큰의 도형 세계에서 나란히 학습하면 두 방식은 실행의 대부분
#   동안 비슷하게 학습합니다: 품질 차이는 그것을 주장하는 크기에서 측정해야 합니다.
# * **어텐션 맵**: `record_attention`은 캡션의 각 단어에 대한 맵을 (T', H', W') 토큰 격자 위에
#   줍니다 — 8주차에서 FlowDirector가 편집 마스크로 바꾸는 것입니다. 작은 모델에서 색 단어는 한
#   레이어에서 위치를 찾지만, 모양 단어는 거의 찾지 못합니다: 맵에 기대기 전에 측정하세요.
# * 이 모두를 합친 것이 CogVideoX의 전문가 트랜스포머, `minicog.VideoDiT`입니다. 공식 2B / 5B / 1.5
#   가중치를 불러올 수 있고(`VideoDiT.from_diffusers`), 그 가중치로 diffusers와 같은 출력을
#   냅니다(`tests/test_dit.py`가 확인합니다).

# %% [markdown] [nbgrader locked id=exercises]
# ## 채점 과제
# 아래의 각 함수를 작성하세요. `raise NotImplementedError()`를 여러분의 코드로 바꾸고 그 아래의 확인 셀을 실행하면,
# 무작위 입력과 경계 사례에서 여러분의 함수를 minicog 자체의 함수와 비교해 무엇이 다른지 알려 줍니다.
# `make grade NB=<this notebook>`은 모든 과제를 채점합니다(`docs/coursework.md`).
# 이 절은 독립적으로 실행됩니다. 첫 셀이 필요한 것을 import합니다.

# %%
import torch

import minicog.attention
from minicog import coursework as cw

# %% [markdown]
# **예측한 뒤 실행하기.** 분리된 어텐션은 공간 레이어와 시간 레이어를 번갈아 씁니다. 잠재 프레임
# 13개, 프레임마다 12 × 18개의 비디오 토큰이 있고 텍스트는 없다고 합시다. 공간 레이어 하나와 시간
# 레이어 하나를 합치면, 3D 전체 어텐션 레이어 *하나*의 query–key 쌍 가운데 몇 분의 몇을 계산할까요
# (두 레이어의 쌍을 더해 전체 어텐션 레이어의 쌍으로 나눈 값)? 여러분의 추측을 `prediction()`에
# 적으세요(답했는지만 채점하고, 맞았는지는 채점하지 않습니다). 확인 셀 다음 셀이 실험을 실행하고
# 그 결과를 여러분의 추측 옆에 출력합니다.

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
# **과제 4.1 — 전문가 adaLN (2점).** 텍스트 토큰 `(B, L, D)`, 비디오 토큰 `(B, N, D)`,
# `cond (B, cond_dim)`(이미 SiLU를 거친 값)에 대해 `expert_adaln(text, video, cond, norm, linear)`를
# 작성하세요. `linear(cond)`는 shift_v, scale_v, gate_v, shift_t, scale_t, gate_t 순서로 D차원 벡터
# 여섯 개를 줍니다. LayerNorm `norm` 하나를 함께 쓰고, 각 스트림은 자기 전문가의 변조
# `norm(x)·(1 + scale) + shift`를 받습니다. `(h, (gate_t, gate_v))`를 반환하되, `h`는 결합 시퀀스
# `[text | video]` `(B, L + N, D)`이고 게이트의 모양은 `(B, 1, D)`입니다.

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
# **과제 4.2 — RoPE의 한 축 (2점).** `rope_1d(dim, pos, theta=10000.0)`를 작성하세요: 위치
# `pos (S,)`와 짝수 `dim`에 대해 주파수 `θ^(−2i/dim)`(i = 0 … dim/2 − 1), 각도
# `pos·freq (S, dim/2)`, 그리고 표 `(cos, sin)`을 구합니다. 두 표는 각각 `(S, dim)`이며, 모든 주파수가
# 자기 채널 쌍에 반복해 들어갑니다(2i열과 2i+1열이 같은 각도를 가집니다: "interleaved" 배치).

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
# **과제 4.3 — 회전 (1점).** `x (..., S, d)`와 표 `(S, d)`에 대해 `apply_rope(x, cos, sin)`을
# 작성하세요: 각 채널 쌍 `(x₀, x₁)`을 자기 각도만큼 회전시킵니다. 즉 `x·cos + r(x)·sin`이고,
# `r(x₀, x₁, x₂, x₃, …) = (−x₁, x₀, −x₃, x₂, …)`입니다.

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
# **과제 4.4 — 분리된 어텐션의 마스크 (2점).** `separated_masks(T, H, W, n_text=0)`를 작성하세요.
# 시퀀스는 텍스트 토큰 `n_text`개 다음에 T × H × W 토큰 격자의 비디오 토큰이 minicog의 순서로
# 옵니다: 프레임 우선(frame-major), 즉 프레임 0의 H·W개 토큰을 행 순서대로, 그다음 프레임 1의 토큰,
# …입니다. `(spatial, temporal)`을 반환하세요. 둘 다 모양이 `(S, S)`(S = n_text + T·H·W)인 불리언
# 텐서이며, 성분 `[i, j]`는 query 토큰 i가 key 토큰 j에 어텐션할 수 있을 때 True입니다. 두 마스크
# 모두에서 모든 query는 모든 텍스트 토큰에 어텐션할 수 있고, 텍스트 query는 모든 토큰에 어텐션할 수
# 있습니다. 비디오 query는 `spatial`에서는 자기 프레임의 비디오 토큰에, `temporal`에서는 모든
# 프레임에서 자기 위치 (h, w)에 있는 비디오 토큰에 어텐션할 수 있습니다. 두 경우 모두 자기 자신도
# 포함합니다. 확인 셀은 여러 격자를 시험하며, 그중에는 프레임이 하나뿐인 경우(T = 1)와 정사각형이
# 아닌 프레임도 있습니다.

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
