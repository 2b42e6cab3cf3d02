# %% [markdown]
# # 8주차 — FlowDirector: 프롬프트가 바꾸는 것만 편집하기
#
# 역변환 없는 편집(inversion-free editing, 지난 노트북)은 두 속도의 *차이*를 따라 클립을 움직입니다.
#
#     V_edit = v(Z_tar, t, c_tar) − v(Z_src, t, c_src),
#
# 그러면 두 프롬프트가 동의하는 것은 상쇄됩니다. 다만 *평균적으로* 그렇습니다. 각 스텝은 무작위 노이즈를 한
# 번만 뽑아 쓰므로 V_edit에는 모든 곳에 노이즈가 섞여 있습니다. 배경이 조금씩 달라지고, 편집이 중간에 멈출
# 수도 있습니다. **FlowDirector**(Li et al. 2025, arXiv 2506.05046, v1)는 두 가지 보정을 더합니다.
#
# 1. **어텐션 기반 마스킹**(attention-guided masking, SAFC, 논문 §3.3): 편집된 단어가 *어디에* 있는지
#    트랜스포머에게 묻습니다. 단어 "red"와 비디오 토큰 사이의 어텐션을 공간과 시간에 걸친 마스크 M으로 바꾸고,
#    그 안에서만 움직입니다: V ← M ⊙ V. 강의: "해당 객체의 물체를 마스킹 처리함. Attention(Query, Key, Value)
#    내용들의 계산으로 구해짐."
# 2. **차분 평균 가이던스**(differential averaging guidance, DAG, 논문 §3.4): 노이즈 N개를 뽑아 후보 흐름(candidate
#    flows) N개를 만듭니다. 그 평균 V_better는 좋은 추정치이고, 일부의 평균 V_worse는 그보다 나쁜 추정치입니다.
#    분류기 없는 가이던스(classifier-free guidance)처럼 외삽합니다: V = V_better + (ω − 1)·(V_better − V_worse).
#    강의: "이미지 생성하고 나온 과정(Denoise처리 유사, 속도)를 평균화 처리(쉽게 말해 모션블러)."
#
# **이 모델에서 어텐션 마스크가 하는 일.** 우리의 작은 모델은 64 × 64 픽셀 클립을 다룹니다. VAE가 각 프레임을
# 8배 줄이고(8 × 8 잠재 격자), 트랜스포머가 잠재 셀 2 × 2개를 토큰 하나로 묶으므로, 잠재 프레임 하나는
# **4 × 4 토큰**에 불과합니다. 그리고 어텐션 맵(attention map)은 토큰마다 값이 하나입니다. 이 격자 위의 *완벽한*
# 단어 맵(각 토큰의 값: 물체가 그 토큰을 얼마나 덮는가)조차, SAFC 방식대로 업샘플링하고 임계값을 적용하면
# 물체의 실제 마스크와의 IoU가 약 **0.64**에 그칩니다. 2 × 2 블록으로는 원의 윤곽을 따라갈 수 없기 때문입니다
# (§1에서 계산합니다). 모델의 실제 단어 맵은 훨씬 나빠서, 두 물체 장면(two-object scene)들에서 IoU 중앙값이 약
# **0.3**이고(§2), 표시하는 영역의 일부는 *다른* 물체입니다. 따라서 이 모델에서 어텐션 마스크는 자주 엉뚱한
# 곳에 놓이는 거친 창입니다. 이 강의에서는 어텐션 마스크를 정답 마스크(true mask)와 나란히 놓고(§1–§3), 그것으로
# FlowDirector를 실행한 뒤(§4–§7), 실제로 위치를 찾아내는 마스크를 만듭니다. 두 프롬프트가 서로 다른 속도를
# 요구하는 곳을 표시하는 **속도 마스크**(velocity mask)입니다(§8).
#
# **이번 강의에서 배울 것**
# 1. **토큰 격자**(token grid): 프레임당 4 × 4 토큰인 단어 맵으로는 왜 물체의 윤곽을 그릴 수 없는지, 그리고 이
#    모델에서 완벽한 단어 맵조차 어디까지 도달하는지
# 2. 결합 3D 어텐션(joint 3D attention)에서 편집된 단어의 **어텐션 맵**(attention map): 비디오 → 텍스트와
#    텍스트 → 비디오를 레이어별로 보고, 그것이 자기 물체를 얼마나 잘 찾는지
# 3. **어텐션 기반 마스킹**(attention-guided masking, SAFC): 단어 맵에서 **편집 마스크**(edit mask)로(임계값,
#    평활화, 부드러운 경계), 그리고 마스크를 씌운 속도장(velocity field)
# 4. **차분 평균 가이던스**(differential averaging guidance, DAG): 후보 흐름(candidate flows), 그 평균과
#    차이, 그리고 그 평균이 왜 흐림(모션 블러)인지
# 5. **제거 실험**(ablation): 마스크와 DAG를 하나씩 끄고 오라클(oracle)로 측정하기, 그리고 실패하는 편집
#    (사각형 → 원)
# 6. **속도 마스크**(velocity mask): 편집된 물체를 찾아내는 마스크를, 마스크가 중요한 상황, 즉 편집이 보존해야
#    하는 **두 번째 물체**(second object)가 있는 상황에서 시험하기

# %%
import itertools
import statistics
from dataclasses import replace

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from IPython.display import display
from IPython.utils.capture import capture_output
from matplotlib.patches import ConnectionPatch

import minicog
from minicog import diagrams, edit_eval, editing, flowdirector, mask_eval, shapes
from minicog.flowdirector import DAG, MaskRule, VelocityMask
from minicog.video import frame_grid, show_video
from minicog.utils import FAST, seed_everything

seed_everything(0)
pipe = minicog.load_pipeline("tiny")
SRC = "a red circle moving down on a gray background"
TAR = "a red square moving down on a gray background"
source = shapes.render_caption(SRC, rng=2)
x_src = pipe.encode_video(source)
C, T, h, w = x_src.shape[1:]
print("latents (C, T, h, w):", (C, T, h, w), "| DiT layers:", pipe.dit.config.num_layers)
show_video(source, SRC)

# %% [markdown]
# ## 1분 라이브 데모: 한 물체는 바꾸고 다른 물체는 지키기
# 물체가 둘 있고, 목표 프롬프트는 단어 하나("yellow" → "red")를 바꿉니다. 지난주의 FlowEdit는 속도 차이를 따라
# 클립 전체를 움직이고, FlowDirector는 마스크 안에서만 움직입니다. 마스크는 논문처럼 트랜스포머의 어텐션에서
# 얻거나, §8의 속도 마스크를 씁니다. 아래에는 원본과 세 편집 결과, 그리고 각 편집이 단어가 바뀌지 않은 물체를
# 얼마나 잘 보존하는지(그 물체의 픽셀을 원본과 비교한 PSNR: 높을수록 가깝습니다)가 나옵니다.

# %%
DEMO_SRC = "a yellow triangle moving left and a blue circle moving down on a white background"
DEMO_TAR = DEMO_SRC.replace("yellow", "red")
demo_truth = edit_eval.two_object_truth(DEMO_SRC, DEMO_TAR, seed=5)
demo_clip = demo_truth["source"]
demo_runs = {"FlowEdit": dict(method="flowedit"),
             "FlowDirector, attention mask": dict(method="flowdirector"),
             "FlowDirector, velocity mask": dict(method="flowdirector", mask=VelocityMask())}
demo = {k: pipe.edit(demo_clip, DEMO_SRC, DEMO_TAR, seed=0, **kw) for k, kw in demo_runs.items()}
show_video([demo_clip] + list(demo.values()), ["source: " + DEMO_SRC] + list(demo))
demo_psnr = {}
for name, v in demo.items():
    m = edit_eval.two_object_metrics(demo_clip, v, demo_truth)
    demo_psnr[name] = m["other_psnr"]
    print(f"{name:30s} edited right: {m['success']}; the blue circle kept at {m['other_psnr']:.1f} dB")
assert min(demo_psnr["FlowDirector, attention mask"], demo_psnr["FlowDirector, velocity mask"]) > demo_psnr["FlowEdit"]

# %% [markdown]
# 두 마스크 모두 FlowEdit보다 파란 원을 원본에 더 가깝게 유지합니다. 얼마나 더 가까운지는 마스크가 편집된
# 물체를 얼마나 잘 찾느냐에 달려 있고, 그것이 이번 주의 질문입니다.

# %% [markdown]
# ## 1. 토큰 격자: 완벽한 단어 맵이 할 수 있는 것
# 어텐션은 토큰마다 값이 하나입니다. 실제 맵을 읽기 전에, 있을 수 있는 가장 좋은 맵부터 봅니다. 잠재 격자 위의
# 실제 물체(도형 세계가 그 마스크를 줍니다)를 각 토큰의 2 × 2 잠재 셀에 걸쳐 평균한 것입니다. 이 *완벽한
# 단어 맵*(perfect word map)을 SAFC의 규칙, 즉 `flowdirector` 프리셋(preset)의 `AttentionMask`(잠재 격자로
# 업샘플링, 정규화, 임계값 적용)에 통과시키고, 그 결과로 나온 마스크를 정답 마스크와의 IoU,
# |mask ∩ object| / |mask ∪ object|로 채점합니다.

# %%
def iou(a, b):
    """IoU of two 0/1 masks (on where > 0.5)."""
    a, b = a > 0.5, b > 0.5
    return float((a & b).sum() / (a | b).sum().clamp_min(1))

patch = pipe.dit.config.patch_size
preset = flowdirector.FlowDirector().mask                                   # the preset's AttentionMask
obj_lat = flowdirector.object_latent_mask(shapes.object_mask(source), (T, h, w))     # (T, h, w), 0/1
perfect = F.avg_pool2d(obj_lat[:, None], patch)[:, 0]                        # (T', 4, 4): one value per token
_, parts = flowdirector.attention_mask(perfect[None], (T, h, w), preset, return_parts=True)
ceiling = iou(parts["union"], obj_lat)
authors = iou(flowdirector.attention_mask(perfect[None], (T, h, w), MaskRule(kernel=3, threshold="mean"),
                                          return_parts=True)[1]["union"], obj_lat)
H = source.shape[1]
print(f"{H} px / {H // h} (VAE) / {patch} (patch) = {tuple(perfect.shape[1:])} tokens per latent frame")
print(f"perfect word map → the preset's mask (threshold {preset.threshold}): IoU with the object {ceiling:.2f}")
print(f"perfect word map → the authors' rule (3 × 3 box filter, mean threshold): IoU {authors:.2f}")
assert abs(ceiling - mask_eval.token_grid_ceiling(obj_lat, torch.zeros_like(obj_lat), patch, preset)[0]) < 1e-6
assert tuple(perfect.shape[1:]) == (4, 4)
assert 0.5 < ceiling < 0.8 and authors < 0.8          # far from 1 even for a perfect map

rows = [("object (latent grid)", obj_lat), ("perfect word map", perfect), ("mask from it", parts["union"])]
fig, axes = plt.subplots(len(rows), T, figsize=(1.3 * T, 1.3 * len(rows)), squeeze=False)
for r, (name, a) in enumerate(rows):
    for f in range(T):
        axes[r, f].imshow(a[f], cmap="viridis", vmin=0, vmax=1)
        axes[r, f].set_xticks([])
        axes[r, f].set_yticks([])
    axes[r, 0].set_ylabel(name, fontsize=7)
for f in range(T):
    axes[0, f].set_title(f"latent frame {f}", fontsize=8)
fig.suptitle(f"a perfect word map on the token grid: IoU {ceiling:.2f}", fontsize=9)
plt.tight_layout()

# %% [markdown]
# 프레임당 4 × 4 토큰이면 모든 어텐션 마스크는 잠재 격자의 2 × 2 블록들의 합집합입니다. 물체가 살짝 걸친 토큰은
# 포함되거나(마스크 안에 배경이 들어감) 빠지거나(물체가 마스크 밖에 남음) 둘 중 하나이므로, 프리셋의 규칙으로는
# 완벽한 단어 맵조차 이 클립에서 IoU 0.64에 그칩니다. 실질적으로 이것이 이 모델에서 SAFC의 상한이며, 다음 절에서는
# 실제 맵을 이 상한과 비교해 측정합니다.

# %% [markdown]
# ## 2. 어떤 단어가, 어디에 주목하는가
# 편집된 단어는 두 프롬프트를 단어 단위로 비교(diff)해서 얻고, 인코딩된 프롬프트에서 그 단어들의 위치가 어텐션의
# 텍스트 축을 인덱싱합니다.

# %%  NBVAL_CHECK_OUTPUT
src_words, tar_words = flowdirector.diff_words(SRC, TAR)
src_tok = flowdirector.token_indices(pipe, SRC, src_words)
tar_tok = flowdirector.token_indices(pipe, TAR, tar_words)
print("source words", src_words, "at tokens", src_tok)
print("target words", tar_words, "at tokens", tar_tok)

# %% [markdown]
# CogVideoX에는 교차 어텐션(cross-attention)이 없습니다. 텍스트 토큰과 비디오 토큰이 3D 전체 어텐션(3D full
# attention)으로 **하나의** 시퀀스에 놓입니다. 그 어텐션 행렬의 *비디오→텍스트* 블록, 즉 각 비디오 토큰의 쿼리가
# 텍스트 토큰에 얼마나 주목하는지가 교차 어텐션 맵(Prompt-to-Prompt)의 역할을 합니다. 원본에 t = 0.6까지 노이즈를
# 입히고(편집은 이런 상태를 거칩니다), 모든 레이어에 어텐션 훅을 건 채 DiT를 한 번 실행한 다음, 각 레이어에서
# 원본 단어의 맵을 프레임별로 읽습니다.

# %%
t = 0.6
eps = torch.randn(x_src.shape, generator=torch.Generator().manual_seed(0))
z_t = (1 - t) * x_src + t * eps
e, m = pipe.encode_prompt([SRC])
L = pipe.dit.config.num_layers
with pipe.dit.record_attention(layers=range(L), reduce_heads="mean") as rec:
    pipe.velocity(z_t, torch.tensor([t]), e, m)
# from scratch: maps[layer]["video_to_text"] is (B, heads, L_text, T', H', W')
word_maps = torch.stack([rec.maps[i]["video_to_text"][0, 0, src_tok].mean(0) for i in range(L)])
print("per-layer word maps:", tuple(word_maps.shape), "(layers, T', H', W')")

fig, axes = plt.subplots(L, word_maps.shape[1], figsize=(1.3 * word_maps.shape[1], 1.3 * L), squeeze=False)
for layer in range(L):
    for f in range(word_maps.shape[1]):
        axes[layer, f].imshow(word_maps[layer, f], cmap="magma")
        axes[layer, f].set_xticks([])
        axes[layer, f].set_yticks([])
    axes[layer, 0].set_ylabel(f"layer {layer}", fontsize=8)
for f in range(word_maps.shape[1]):
    axes[0, f].set_title(f"latent frame {f}", fontsize=8)
fig.suptitle(f"attention of {src_words} (video → text), t = {t}", fontsize=10)
plt.tight_layout()

# %% [markdown]
# 각 레이어는 물체를 얼마나 잘 찾을까요? 각 레이어의 맵을 §1의 완벽한 단어 맵과 비교합니다. 결합 어텐션에는
# 텍스트 블록이 *두 개* 있습니다. 비디오 쿼리가 단어를 보는 것(비디오 → 텍스트, 교차 어텐션 맵에 해당)과 단어의
# 쿼리가 비디오를 보는 것(텍스트 → 비디오)입니다. 둘 다 그려 봅니다. 마스크는 어느 쪽으로도 만들 수 있습니다
# (`AttentionMask(attn_map=...)`). 상관계수가 1이면 단어의 맵이 곧 물체라는 뜻입니다. 모델의 설정(`pipeline.json`)은
# 이 모델에서 위치를 가장 잘 찾는 방향과 레이어를 지정하며, FlowDirector는 그 맵을 읽습니다.

# %%
def corr(a, b):
    a, b = a.flatten() - a.mean(), b.flatten() - b.mean()
    return float(a @ b / (a.norm() * b.norm() + 1e-12))

scores = [corr(word_maps[i], perfect) for i in range(L)]
# the other half of the joint attention: where the word's own *query* looks in the video
looks = torch.stack([rec.maps[i]["text_to_video"][0, 0, src_tok].mean(0) for i in range(L)])
scores_t2v = [corr(looks[i], perfect) for i in range(L)]
plt.figure(figsize=(4.6, 2.4))
plt.bar(np.arange(L) - 0.2, scores, 0.4, label="video → text")
plt.bar(np.arange(L) + 0.2, scores_t2v, 0.4, label="text → video")
plt.axhline(0, color="k", lw=0.5)
plt.legend(fontsize=7)
plt.xlabel("layer")
plt.ylabel("corr(map, perfect map)")
plt.title("where the word lives")
rec_choice = pipe.config.edit_attention or {}                  # the model's configuration
kind = rec_choice.get("attn_map") or "video_to_text"
layers = list(rec_choice.get("attn_layers") or flowdirector.default_attention_layers(L))
print(f"FlowDirector reads on this model: {kind}, layers {layers}")
print("video→text correlations:", [round(s, 2) for s in scores])
print("text→video correlations:", [round(s, 2) for s in scores_t2v])
assert word_maps.shape[0] == L and np.isfinite(scores + scores_t2v).all()
assert max(scores + scores_t2v) < 0.4                 # no layer's map is close to the object

# %% [markdown]
# 이 클립에서는 어느 방향이든, 어느 레이어의 맵도 완벽한 맵과의 상관계수가 약 3분의 1을 넘지 않습니다. 클립
# 하나는 표본 하나에 불과하므로, 다음으로 두 물체 장면 여러 개를 봅니다. 각 장면에 0.6부터 0.15까지 네 시각(편집이
# 지나가는 범위)으로 노이즈를 입히고, 시각마다 노이즈를 두 번 뽑습니다. `mask_eval.word_localisation`은 물체를
# 가리키는 모든 단어의 맵(색 단어, 그리고 두 모양이 다를 때는 모양 단어)을 프리셋의 규칙으로 마스크로 만들고, 그
# 단어가 가리키는 물체와 비교해 채점하며, 같은 물체에 대한 §1의 상한과도 비교합니다.

# %%
pool = shapes.all_scenes(2)
picked = [pool[i] for i in np.random.default_rng(0).choice(len(pool), 4 if FAST else 12, replace=False)]
loc = mask_eval.word_localisation(pipe, picked, rule=preset,
                                  layer_sets=[layers] if len(layers) > 1 else [])[kind, tuple(layers)]
real, best = statistics.median(loc["iou"]), statistics.median(loc["ceiling_iou"])
touching = float(np.mean([o > 0 for o in loc["other"]]))
print(f"{len(picked)} scenes, {len(loc['iou'])} word maps ({kind}, layers {layers}):")
print(f"  median IoU with the named object: the model's maps {real:.2f} | a perfect map {best:.2f}")
print(f"  masks that cover some of the other object: {100 * touching:.0f} %")
plt.figure(figsize=(4.6, 2.4))
plt.hist([loc["iou"], loc["ceiling_iou"]], bins=np.linspace(0, 1, 11), label=["model's word maps", "perfect map"])
plt.xlabel("IoU of the mask with the named object")
plt.ylabel("word maps")
plt.legend(fontsize=7)
assert 0.5 < best < 0.8 and real < best - 0.15        # the real maps fall far short of the ceiling
assert 0.2 < real < 0.42 and touching > 0.5

# %% [markdown]
# 모델의 단어 맵은 자기 물체를 부분적으로만 찾습니다. 그 마스크의 IoU 중앙값은 약 0.3으로 같은 격자에서 완벽한
# 맵이 도달하는 값의 절반이고, 대부분은 다른 물체의 일부까지 덮습니다. SAFC가 다음에 무엇을 하든, 출발점은 이런
# 맵입니다.

# %% [markdown]
# ## 3. 맵에서 마스크로(SAFC)
# 맵마다: 잠재 격자로 업샘플링 → [0, 1]로 정규화 → 공간(과 시간)에 걸친 박스 필터 → 맵의 평균(또는 직접 고른
# 임계값)에서 이진화 → 단어와 노이즈 샘플에 걸친 합집합 → 부드러운 경계 exp(−decay·distance). 슬라이더를 움직여
# 보세요. 임계값이 낮으면 편집이 배경으로 넘쳐흐르고, 높으면 물체를 파고듭니다. 그림 아래의 숫자는 마스크를 실제
# 물체와 비교해 측정한 것입니다. 마스크가 잠재 격자를 얼마나 덮는지, 물체를 얼마나 덮는지, 그리고 몇 가지
# 임계값에서의 IoU입니다. 저자들의 규칙은 3 × 3 박스 필터와 맵의 평균이고, `flowdirector` 프리셋은 박스 필터 없이
# 임계값 0.3을 씁니다. *넓은* 마스크입니다. 모양 편집은 원본 물체 바로 바깥의 픽셀(원 둘레에 생길 사각형의
# 모서리)도 바꿔야 하는데, 물체에 꼭 맞는 마스크는 그것을 막아 버립니다. 넓은 마스크는 맵이 물체 위에서 높을
# 때만 도움이 됩니다. 그러면 물체 전체와 배경 일부를 덮습니다. 맵이 다른 곳에서 높으면 마스크는 오히려 물체를
# 보호해 버립니다. 아래에 출력되는 물체 커버율을 읽어 보세요.

# %%
wm = flowdirector.word_attention({i: rec.maps[i][kind] for i in layers}, src_tok, kind=kind)
out = widgets.Output()
slider = widgets.FloatSlider(value=0.5, min=0.05, max=0.95, step=0.05, description="threshold")

def draw(threshold):
    mask, parts = flowdirector.attention_mask(wm, (T, h, w), MaskRule(kernel=3, threshold=threshold),
                                              return_parts=True)
    rows = [("normalised", parts["normalised"][0]), ("smoothed", parts["smoothed"][0]),
            ("binary", parts["binary"][0].float()), ("soft mask M", mask)]
    fig, axes = plt.subplots(len(rows), T, figsize=(1.3 * T + 0.8, 1.3 * len(rows)), squeeze=False)
    for r, (name, a) in enumerate(rows):
        for f in range(T):
            im = axes[r, f].imshow(a[f], cmap="viridis", vmin=0, vmax=1)
            axes[r, f].set_xticks([])
            axes[r, f].set_yticks([])
        axes[r, 0].set_ylabel(name, fontsize=8)
    fig.colorbar(im, ax=axes, shrink=0.6, label="0 = off, 1 = on")
    fig.suptitle(f"threshold {threshold:.2f}", fontsize=9)
    plt.show()

def show_in(out, draw, *args):
    """Run draw(*args) and put what it displays into the Output widget `out`, from the kernel side.
    (Not `with out:`: a headless runner such as nbconvert answers such captured output with
    messages to the kernel while the cell runs, which can leave the run hanging.)"""
    with capture_output() as cap:
        draw(*args)
    out.outputs = tuple({"output_type": "display_data", "data": o.data, "metadata": o.metadata}
                        for o in cap.outputs)

slider.observe(lambda change: show_in(out, draw, change["new"]), "value")
draw(slider.value)               # the first state, as an ordinary figure (seen without a kernel too)
display(widgets.VBox([slider, out]))                  # moving the slider draws the new mask below
on = obj_lat > 0.5
m = flowdirector.attention_mask(wm, (T, h, w), MaskRule(kernel=3, threshold="mean")) > 0.5   # the authors' rule
print(f"the authors' rule: covers {100 * float(m.float().mean()):.0f} % of the latent grid and "
      f"{100 * float(m[on].float().mean()):.0f} % of the object's cells; IoU {iou(m, obj_lat):.2f}")
m = flowdirector.attention_mask(wm, (T, h, w), preset) > 0.5
preset_iou, preset_cover = iou(m, obj_lat), float(m.float().mean())
print(f"the preset's mask (kernel {preset.kernel}, threshold {preset.threshold}): covers "
      f"{100 * preset_cover:.0f} % of the grid and {100 * float(m[on].float().mean()):.0f} % "
      f"of the object's cells; IoU {preset_iou:.2f} (a perfect map: {ceiling:.2f})")
covers, ious = [], []
for thr in (0.3, 0.5, 0.7, 0.9):
    m = flowdirector.attention_mask(wm, (T, h, w), MaskRule(kernel=3, threshold=thr)) > 0.5
    covers.append(float(m.float().mean()))
    ious.append(iou(m, obj_lat))
    print(f"  threshold {thr}: covers {100 * covers[-1]:3.0f} %, IoU {ious[-1]:.2f}")
assert covers == sorted(covers, reverse=True)     # a higher threshold never lets more of the grid move
assert preset_iou < ceiling - 0.3 and preset_cover > 0.5 and max(ious) < 0.4

# %% [markdown]
# 이 클립에서는 어떤 임계값도 단어의 맵을 물체로 바꿔 주지 못합니다. 프리셋의 마스크는 잠재 격자의 대부분을
# 열어 두고, 물체와의 IoU는 완벽한 맵의 값에 한참 못 미칩니다. 실제로 프리셋의 어텐션 마스크는 물체의 윤곽이
# 아니라 프레임의 많은 부분을 느슨하게 둘러싼 창입니다.

# %% [markdown]
# ## 4. FlowDirector 한 스텝 들여다보기
# `pipe.edit(..., callback=...)`은 매 스텝의 상태를 넘겨줍니다. N개 노이즈 샘플의 노이즈 섞인 잠재 변수 Z_k, 원본
# 속도, N개의 후보 흐름, V_better와 V_worse, 마스크, 그리고 마스크 적용 전후의 속도입니다. 첫 스텝을 먼저 전체로
# 봅니다. 이 스텝이 넘겨준 텐서의 모양을 붙인 연산의 사슬을 그리고, 이어서 그 텐서들이 잠재 프레임 하나에 담고 있는
# 것을 그립니다. 속도는 잠재 픽셀마다의 크기 |v|로 그리고, 그림이 도움이 되는 곳에서는 그 속도가 예측하는 깨끗한
# 클립 x̂ = Z − t·v(경로 Z = (1 − t)·x + t·ε 위에서 속도는 ε − x입니다)를 VAE로 디코딩해 보여 줍니다.

# %%
infos = []
edited = pipe.edit(source, SRC, TAR, seed=0, method="flowdirector", callback=infos.append)
info = infos[0]
dag = flowdirector.FlowDirector().dag                                  # the preset's DAG
print(f"{len(infos)} steps from t = {infos[0]['t']:.2f}; candidates:", tuple(info["candidates"].shape))

def speed(v):                      # |v| per latent pixel: norm over channels → (T, h, w)
    return v.reshape(-1, C, T, h, w)[0].norm(dim=0)

st = diagrams.shape_text
diagrams.draw_chain(
    ["N noise draws ε_k", "Z_k = (1 − t)·X_src\n+ t·ε_k", "the DiT under\nboth prompts (CFG)",
     "V_k = v_tar,k − v_src,k\n(candidate flows)", "DAG: V_better,\nV_worse → V",
     f"SAFC: mask M\n{st(info['mask'])}", "Euler step\nZ_edit += Δt·M ⊙ V"],
    [f"ε {st(info['z_src'])}", f"Z {st(info['z_src'])}", f"v_src, v_tar\n2 × {st(info['v_src'])}",
     st(info["candidates"]), f"V {st(info['v_unmasked'])}", f"M ⊙ V {st(info['v'])}"],
    colors=[0, 0, 1, 2, 3, 4, 5], per_row=4, box_width=2.6,
    title=f"one FlowDirector step (t = {info['t']:.2f}), with the shapes of its real tensors")

v_src1, V_1 = info["v_src"][:1], info["candidates"][:1]            # noise draw 1: guided source velocity, V_1
v_tar1 = v_src1 + V_1                                             # the guided target velocity
x_hat = pipe.decode_latents(torch.cat([info["z_src"][:1] - info["t"] * v_src1,       # x̂ = Z − t·v
                                       info["z_tar"][:1] - info["t"] * v_tar1]))
f, n_show = T // 2, min(6, dag.n_worse)
rows = [("one noise draw", [("source frame", source[4 * f]), ("|v_src,1|", speed(v_src1)[f]),
                            ("x̂ of v_src,1", x_hat[0][4 * f]), ("|v_tar,1|", speed(v_tar1)[f]),
                            ("x̂ of v_tar,1", x_hat[1][4 * f]), ("|V_1| = |v_tar − v_src|", speed(V_1)[f])]),
        (f"candidate flows\n({n_show} of N = {info['candidates'].shape[0]})",
         [(f"|V_{k + 1}|", speed(info["candidates"][k:k + 1])[f]) for k in range(n_show)]),
        ("DAG and mask", [("|V_better|", speed(info["v_better"])[f]),
                          (f"|V_worse|\n(mean of V_1..V_{dag.n_worse})", speed(info["v_worse"])[f]),
                          ("|V_better − V_worse|", speed(info["v_better"] - info["v_worse"])[f]),
                          ("|V| (DAG)", speed(info["v_unmasked"])[f]), ("mask M", info["mask"][f].float()),
                          ("|M ⊙ V|", speed(info["v"])[f])])]
lim_v = float(torch.stack([speed(v_src1), speed(v_tar1)]).max())           # the two prompts' velocities
lim_e = float(max(speed(info["candidates"][k:k + 1]).max() for k in range(n_show)))   # the edit's velocities
fig, axes = plt.subplots(3, 6, figsize=(11, 6.4), gridspec_kw=dict(wspace=0.6, hspace=0.5))
for r, (row_name, panels) in enumerate(rows):
    for c, (name, a) in enumerate(panels):
        ax = axes[r, c]
        if a.ndim == 3:                                                     # a decoded frame
            ax.imshow(a)
        elif name == "mask M":
            ax.imshow(a, cmap="viridis", vmin=0, vmax=1)
        else:
            ax.imshow(a, cmap="inferno", vmin=0, vmax=lim_v if name in ("|v_src,1|", "|v_tar,1|") else lim_e)
        ax.set_title(name, fontsize=7)
        ax.set_xticks([])
        ax.set_yticks([])
    axes[r, 0].set_ylabel(row_name, fontsize=8)
    for c in range(len(panels), 6):
        axes[r, c].axis("off")

def link(a, b, label):             # an arrow from panel a to panel b, labelled under it
    fig.add_artist(ConnectionPatch((1.02, 0.5), (-0.02, 0.5), "axes fraction", "axes fraction", axesA=a,
                                   axesB=b, arrowstyle="-|>", mutation_scale=10, color="0.3"))
    pa, pb = a.get_position(), b.get_position()
    fig.text((pa.x1 + pb.x0) / 2, (pa.y0 + pa.y1) / 2 - 0.015, label, ha="center", va="top", fontsize=6.5)

link(axes[0, 1], axes[0, 2], "Z − t·v")
link(axes[0, 3], axes[0, 4], "Z − t·v")
link(axes[2, 1], axes[2, 2], "V_better\n−")
link(axes[2, 2], axes[2, 3], f"×{dag.omega - 1:g}\n+V_better")
link(axes[2, 4], axes[2, 5], "⊙ V")
fig.suptitle(f"the first step in latent frame {f} (video frame {4 * f}); |v| of the prompts' velocities "
             f"up to {lim_v:.1f}, of the edit's up to {lim_e:.1f}", fontsize=9)
assert torch.allclose(info["v_unmasked"], flowdirector.differential_averaging(info["candidates"], dag)[0])
assert torch.allclose(info["v"], info["v_unmasked"] * info["mask"])

# %% [markdown]
# 맨 윗줄을 왼쪽에서 오른쪽으로 읽어 봅시다. 각 프롬프트의 속도는 프레임 전체에서 큽니다. 노이즈 섞인 Z_1에서
# 깨끗한 클립 쪽을 가리키는데, Z_1은 모든 곳이 노이즈이기 때문입니다. 두 속도가 예측하는 클립은 물체가 있는 곳에서만
# 다릅니다. 원본 프롬프트 아래에서는 원, 목표 프롬프트 아래에서는 사각형입니다. 그래서 둘의 차이인 후보 흐름 V_1은
# 물체 주변에서 크고, 두 속도가 서로 상쇄되는 배경에서는 작습니다. 가운데 줄: 다른 노이즈 샘플들도 같은 종류의 흐름을
# 주지만, 저마다 다르게 흩어져 있습니다. 맨 아랫줄: DAG가 이들을 평균하고(V_better), 처음 여섯 개의 평균(V_worse)에서
# 멀어지는 쪽으로 외삽하며, 마스크 M이 그 결과가 어디에 작용할지를 정합니다. 다음 두 그림은 마스크와 DAG를 하나씩
# 자세히 봅니다.

# %%
fig, axes = plt.subplots(3, T, figsize=(1.3 * T + 1.2, 4))
rows = [("|V| unmasked", speed(info["v_unmasked"])), ("mask M", info["mask"].float()), ("|M ⊙ V|", speed(info["v"]))]
vmax = float(speed(info["v_unmasked"]).max())            # one scale for both speed rows
for r, (name, a) in enumerate(rows):
    lim = dict(vmin=0, vmax=1, cmap="viridis") if name == "mask M" else dict(vmin=0, vmax=vmax, cmap="inferno")
    for f in range(T):
        im = axes[r, f].imshow(a[f], **lim)
        axes[r, f].set_xticks([])
        axes[r, f].set_yticks([])
    axes[r, 0].set_ylabel(name, fontsize=8)
    fig.colorbar(im, ax=axes[r, :], shrink=0.8, label="0 = off, 1 = on" if name == "mask M" else "|v|")
fig.suptitle("the masked velocity field (first step)", fontsize=10)
kept = float(info["v"].norm() / info["v_unmasked"].norm())
print(f"mask M: mean {float(info['mask'].float().mean()):.2f}; "
      f"{float((info['mask'] >= 0.5).float().mean()):.0%} of the latent grid is ≥ 0.5")
print(f"|M ⊙ V| / |V| = {kept:.2f}: the share of the velocity the mask lets through")
assert torch.allclose(info["v"], info["v_unmasked"] * info["mask"])
assert kept > 0.5                       # the preset's mask lets most of the velocity through

# %% [markdown]
# 마스크를 씌운 장은 마스크 없는 장에서 셀 몇 개가 어두워진 것에 불과합니다. 프리셋의 마스크는 첫 스텝 속도의
# 대부분을 통과시킵니다. 여기의 마스크는 원본 단어와 목표 단어, 그리고 모든 후보 흐름에 걸친 합집합이어서 §3의
# 단일 맵보다 더 넓습니다.

# %% [markdown]
# ## 5. DAG: 후보 흐름과 그 차이
# 각 후보는 노이즈 샘플 하나의 편집 속도입니다. V_better는 N개 전부의 평균, V_worse는 처음 M개의 평균이며, 가이던스
# 항 (ω − 1)·(V_better − V_worse)(아래에서 처음부터 계산합니다)를 그 위에 더합니다.

# %%
V_k = info["candidates"]
better, worse = V_k.mean(0, keepdim=True), V_k[: dag.n_worse].mean(0, keepdim=True)
V_dag = better + (dag.omega - 1) * (better - worse)
ours, b2, w2 = flowdirector.differential_averaging(V_k, dag)
assert torch.allclose(V_dag, ours) and torch.allclose(info["v_unmasked"], ours)

f = T // 2
panels = [(f"V_{k + 1}", speed(V_k[k:k + 1])[f]) for k in range(V_k.shape[0])]
panels += [("V_better", speed(better)[f]), ("V_worse", speed(worse)[f]),
           ("V_better − V_worse", speed(better - worse)[f]), ("DAG", speed(V_dag)[f])]
fig, axes = plt.subplots(1, len(panels), figsize=(1.5 * len(panels), 1.9))
vmax = max(float(p.max()) for _, p in panels)
for ax, (name, a) in zip(axes, panels):
    ax.imshow(a, cmap="inferno", vmin=0, vmax=vmax)
    ax.set_title(name, fontsize=7)
    ax.axis("off")
fig.suptitle(f"|velocity| in latent frame {f}", fontsize=9)
plt.tight_layout()
spread = float((V_k - better).flatten(1).norm(dim=1).mean() / better.norm())
step = float((V_dag - better).norm() / better.norm())
print(f"N = {V_k.shape[0]} candidates, V_worse = the first {dag.n_worse}, ω = {dag.omega}")
print(f"a candidate's distance from V_better: {spread:.2f} × |V_better|; DAG's term: {step:.2f} × |V_better|")
assert step < spread                   # DAG moves V_better by less than the candidates scatter

# %% [markdown]
# 후보들은 평균 주위에 흩어져 있고, DAG의 항 (ω − 1)·(V_better − V_worse)는 V_better를 후보 하나가 V_better와
# 다른 정도보다 적게 움직입니다. DAG는 노이즈 샘플에 대한 단순 평균에 덧붙는 보정이며, 그 방향은 처음 M개 샘플이
# 우연히 공유하는 것이 정합니다.
#
# 왜 *처음* M개일까요? 저자들의 코드는 V_better − V_worse를 C(N, M)개 부분집합 **전부**에 대해 평균합니다. 그런데
# 모든 샘플은 같은 개수의 부분집합에 들어가므로, 부분집합 평균들의 평균은 곧 V_better이고 가이던스 항은 사라집니다
# (아래에서 확인합니다). 우리는 논문의 식이 말하는 대로 부분집합 하나를 씁니다.

# %%  NBVAL_CHECK_OUTPUT
subsets = list(itertools.combinations(range(V_k.shape[0]), dag.n_worse))
trend_all = torch.stack([better[0] - V_k[list(s)].mean(0) for s in subsets]).mean(0)
print(f"{len(subsets)} subsets; all-subset guidance term ≈ 0:", bool(trend_all.abs().max() < 1e-5))

# %% [markdown]
# 모든 부분집합에 걸치면 가이던스 항이 정확히 상쇄되므로, DAG에는 고정된 부분집합 하나가 필요합니다. 그러면
# V_worse는 같은 종류의 샘플을 더 적게 평균한 것이 되고, DAG는 그 여분의 노이즈에서 멀어지는 쪽으로 외삽합니다.

# %% [markdown]
# **평균은 모션 블러(motion blur)입니다.** 강의의 말로는 "평균화 처리(쉽게 말해 모션블러)"입니다. 움직이는 물체를
# 긴 노출로 찍은 사진은 여러 위치에 있는 물체의 평균이어서, 그 경계가 움직임을 따라 번집니다. 후보 흐름을 평균하면
# 편집에도 같은 일이 일어납니다. 노이즈 샘플마다 사각형의 경계가 어디에 있는지에 대한 저마다의 추측을 내놓고,
# V_better는 그 추측들의 평균만큼 클립을 움직입니다. 편집의 한 스텝 예측 X_src − t·V, 즉 이 스텝의 속도를 t = 0까지
# 그대로 따라갔을 때 클립이 도착할 곳이 각 추측을 그림으로 보여 줍니다. 먼저 처음부터 만들어 봅니다. 이상적인 편집
# (원의 경로 위의 사각형)을 움직임 방향으로 −3 … 3 px 옮겨 평균합니다. 그다음 실제 스텝입니다. 후보 흐름 하나, 4개의
# 평균, 10개 전부의 평균(V_better), 16개의 평균(이 스텝의 노이즈 샘플 10개와 6개 더), 그리고 DAG의 V입니다. 측정은
# 두 가지입니다. 경계 선명도(edge sharpness: 이상적인 사각형의 윤곽에서 2 px 안쪽 픽셀들에서, 한 픽셀에서 다음 픽셀로
# 넘어갈 때의 평균 색 변화이며, 움직임 방향인 아래쪽과 움직임을 가로지르는 옆쪽, 두 방향으로 잽니다. 0에서 약
# 1.7 사이)와 이상적인 편집에 대한 PSNR입니다.

# %%
ideal = edit_eval.ideal_edit(TAR, 2)                  # the perfect edit of `source` (seed 2)
sq_px = shapes.object_mask(ideal)
outline = edit_eval.dilate(sq_px, 2) & edit_eval.dilate(~sq_px, 2)        # within 2 px of the outline

def sharpness(clip):
    """(down, across): the mean colour step to the next pixel below / to the right, on the outline."""
    c = clip.astype(np.float32) / 255
    down = np.linalg.norm(np.diff(c, axis=1, append=c[:, -1:]), axis=-1)
    across = np.linalg.norm(np.diff(c, axis=2, append=c[:, :, -1:]), axis=-1)
    return float(down[outline].mean()), float(across[outline].mean())

def psnr(a, b):
    return float(10 * np.log10(255 ** 2 / np.mean((a.astype(np.float64) - b) ** 2)))

smear = np.mean([np.roll(ideal, s, axis=1) for s in range(-3, 4)], axis=0).round().astype(np.uint8)

# the step's ten noise draws (recovered from its Z_k) and six more: 16 candidate flows at the first step
x0, t0 = info["x_src"], info["t"]
eps = torch.cat([(info["z_src"] - (1 - t0) * x0) / t0,
                 torch.randn((6, *x0.shape[1:]), generator=torch.Generator().manual_seed(1))])
V16 = editing.editing_velocities(pipe.velocity, x0, x0, t0, eps, editing.encode_prompts(pipe.encode_prompt, SRC, TAR),
                                 editing.EditConfig.preset("flowdirector")).v             # (16, C, T, h, w)
assert torch.allclose(V16[:10], V_k, atol=1e-4)                   # the step's own candidate flows
n_one = 4 if FAST else 8                                          # how many single candidates to decode
groups = {"one candidate": V16[:n_one], "mean of 4": V16.reshape(4, 4, *V16.shape[1:]).mean(1),
          "mean of 16": V16.mean(0, keepdim=True), "mean of 10 (V_better)": better, f"DAG (ω = {dag.omega:g})": V_dag}
decoded = iter(pipe.decode_latents(x0 - t0 * torch.cat(list(groups.values()))))            # X_src − t·V
preds = {name: [next(decoded) for _ in range(len(v))] for name, v in groups.items()}
blur = {"ideal edit": [ideal], "shifted −3…3 px, averaged": [smear], **preds}
print(f"{'(mean over the groups)':26s} {'sharpness down':>14s} {'across':>7s} {'PSNR to the ideal':>18s}")
measures = {}
for name, clips in blur.items():
    measures[name] = np.mean([(*sharpness(c), np.nan if c is ideal else psnr(c, ideal)) for c in clips], axis=0)
    print(f"{name:26s} {measures[name][0]:14.3f} {measures[name][1]:7.3f} "
          + ("" if name == "ideal edit" else f"{measures[name][2]:15.1f} dB")
          + ("" if len(clips) == 1 else f"   (measures averaged over {len(clips)} clips)"))

fr = 4 * f                                                   # the video frame of latent frame f
ys, xs = np.nonzero(sq_px[fr])
crop = np.s_[max(0, ys.min() - 14): ys.max() + 15, max(0, xs.min() - 14): xs.max() + 15]
fig, axes = plt.subplots(1, len(blur), figsize=(1.6 * len(blur), 2.2))
for ax, (name, clips) in zip(axes, blur.items()):
    ax.imshow(clips[0][fr][crop], interpolation="nearest")
    ax.set_title(f"{name}\n↓ {measures[name][0]:.3f}   → {measures[name][1]:.3f}", fontsize=6.5)
    ax.axis("off")
fig.suptitle(f"frame {fr}, cropped: the one-step prediction X_src − t·V (the first of each group); "
             "edge sharpness down ↓ and across →", fontsize=8)
plt.tight_layout()
one, avg16, dag_m, avg10 = (measures[k] for k in ("one candidate", "mean of 16", f"DAG (ω = {dag.omega:g})",
                                                  "mean of 10 (V_better)"))
ideal_m, smear_m = measures["ideal edit"], measures["shifted −3…3 px, averaged"]
assert smear_m[0] < 0.8 * ideal_m[0] and smear_m[1] > 0.95 * ideal_m[1]    # shifting down blurs only down
assert avg16[2] > one[2] and avg16[1] < 0.9 * one[1] and avg16[0] > 0.9 * one[0]   # PSNR up, sides blurred
assert dag_m[1] > avg10[1] and dag_m[0] > avg10[0] and dag_m[2] < avg10[2]         # DAG: sharper, further off

# %% [markdown]
# 옮긴 프레임들의 평균은 움직임을 가로지르는 사각형의 위아래 경계를 흐리게 하고, 옆면은 선명하게 남깁니다. 후보
# 흐름의 평균도 흐려지지만, 움직임 방향으로 흐려지지는 않습니다. 후보 하나에서 열여섯 개의 평균으로 갈수록 이상적인 편집에 대한
# PSNR은 오르고, 옆면은 선명도를 잃지만 위아래 경계는 그렇지 않습니다. 노이즈 샘플들은 사각형의 옆면이 어디에
# 있는지(원이 모서리를 새로 길러야 하는 곳)에 대해 주로 의견이 갈리고, 위아래 경계의 위치에 대해서는 덜 갈립니다.
# 그래서 그 평균은 움직임을 따라서가 아니라 움직임을 가로질러 흐려집니다. DAG는 같은 샘플 중 여섯 개의 평균인
# V_worse에서 멀어지는 쪽으로 한 걸음 더 갑니다. 그러면 흐림의 일부가 되돌려져 경계가 두 방향 모두에서 V_better보다
# 선명해지고, 대신 PSNR을 잃습니다. 언샤프 마스크(unsharp mask)가 사진을 그 노이즈와 함께 선명하게 만드는 것과
# 같습니다.

# %% [markdown]
# ## 6. 제거 실험
# 몇 개의 편집에 대한 오라클의 측정입니다. 마스크와 DAG를 하나씩 끕니다. 기본값은 변형마다 편집 두 개이고,
# `LONG = True`로 두면 여덟 개가 됩니다(랩톱 CPU에서 몇 분 더 걸립니다).

# %%
LONG = False                     # True: 8 edits per variant instead of 2
N = 1 if FAST else (8 if LONG else 2)
rows = edit_eval.measure(pipe, edit_eval.shapes_edits(N, seed=1),
                         {k: edit_eval.ABLATIONS[k] for k in ("flowedit", "flowdirector", "flowdirector −mask",
                                                            "flowdirector −DAG", "flowdirector −both")},
                         progress=not FAST)
summary = edit_eval.summarise(rows)
print(edit_eval.results_table(summary, reference="flowedit"))
nfe_ratio = summary["flowdirector"]["nfe"] / summary["flowedit"]["nfe"]
print(f"FlowDirector runs the DiT on {nfe_ratio:.1f}× as many latents as FlowEdit (its N candidate flows)")
assert set(summary) >= {"flowedit", "flowdirector", "flowdirector −mask", "flowdirector −DAG", "flowdirector −both"}
assert all(np.isfinite(r["bg_psnr"]) for r in summary.values())
assert nfe_ratio > 4
assert summary["flowdirector −mask"]["bg_psnr"] > summary["flowdirector"]["bg_psnr"] - 1.0   # the mask adds ~nothing

# %% [markdown]
# 배경 PSNR 열을 읽어 보세요. 단색 배경에서는 물체 바깥에 편집이 망칠 것이 없으므로, 마스크를 꺼도 배경 품질이
# 떨어지지 않습니다. FlowDirector가 대가를 치르는 것은 후보 흐름으로, FlowEdit의 몇 배에 달하는 모델 평가
# 횟수입니다. 마스크가 무엇을 위한 것인지 보려면 두 번째 물체가 필요합니다(§8).

# %% [markdown]
# ## 7. 나란히 비교하기, 그리고 실패하는 편집
# 원본 클립을 FlowEdit와 FlowDirector로 각각 사각형으로, 그리고 파란색으로 편집하고, 오라클이 각 결과를 읽습니다.

# %%
pairs = [(SRC, TAR), (SRC, SRC.replace("red", "blue"))]
vids, caps, ok = [], [], []
for s, t in pairs:
    for method in ("flowedit", "flowdirector"):
        vids.append(pipe.edit(source, s, t, seed=0, method=method))
        caps.append(f"{method}: {t.split(' moving')[0]}")
        r = edit_eval.edit_metrics(source, vids[-1], s, t, reference=edit_eval.ideal_edit(t, 2))
        ok.append(r["success"])
        print(f"{caps[-1]:32s} oracle reads {r['read']['color']} {r['read']['shape']} | success {r['success']} | "
              f"background PSNR {r['bg_psnr']:.1f} dB")
show_video([source] + vids, ["source"] + caps)
fig = frame_grid([source] + vids, ["source"] + caps, max_frames=6, scale=0.8)
assert all(ok)

# %% [markdown]
# 이 클립에서는 오라클이 읽은 대로 두 방법 모두 두 편집을 해냅니다. 하지만 이 모델에서 모든 모양 편집이 성공하는
# 것은 아닙니다. **사각형을 원으로**(또는 그 반대로) 바꾸려면 모서리를 없애야(또는 만들어야) 하는데, 편집 속도가
# 그러기에는 너무 약할 수 있습니다. 미는 힘은 어디서 올까요? 첫 스텝에서는 Z_tar = Z_src = Z이므로, 가이던스를
# 넣으면 다음과 같습니다.
#
#     V = g_tar·(v(Z, c_tar) − v(Z, ∅)) − g_src·(v(Z, c_src) − v(Z, ∅))
#       = g_tar·Δ + (g_tar − g_src)·(v(Z, c_src) − v(Z, ∅)),      Δ = v(Z, c_tar) − v(Z, c_src):
#
# 편집 방향 Δ(바뀐 단어만이 하는 일)는 두 번째로 미는 힘, 즉 모델이 *원본* 프롬프트를 그리는 방식 쪽으로 미는 힘
# 안에 들어 있습니다. 아래 셀은 사각형 클립 하나에서 두 편집을 실행한 다음, 그 클립에 t = 0.6까지 노이즈를 입혀
# 식을 처음부터 하나씩 분해합니다.

# %%
SQ, CI = "a blue square moving left on a black background", "a blue circle moving left on a black background"
SQ_SEED = 1713549972                                     # a clip whose square → circle edit fails
square = shapes.render_caption(SQ, rng=SQ_SEED)
for method in ("flowedit", "flowdirector"):
    r = edit_eval.edit_metrics(square, pipe.edit(square, SQ, CI, seed=0, method=method), SQ, CI,
                               reference=edit_eval.ideal_edit(CI, SQ_SEED))
    print(f"{method}: square → circle, the oracle reads a {r['read']['shape']}")
    assert r["read"]["shape"] == "square"                # the edit did not go through
x_sq = pipe.encode_video(square)
emb, msk = pipe.encode_prompt([SQ, CI, ""])
g = torch.Generator().manual_seed(0)
t0 = 0.6
z = (1 - t0) * x_sq + t0 * torch.randn(x_sq.shape, generator=g)
with torch.no_grad():
    v_src, v_tar, v_neg = (pipe.velocity(z, torch.full((1,), t0), emb[[i]], msk[[i]]).float() for i in range(3))
delta = v_tar - v_src
fd = editing.EditConfig.preset("flowdirector")                          # the preset's guidance
V0 = fd.tar_guidance * (v_tar - v_neg) - fd.src_guidance * (v_src - v_neg)
f = T // 2
fig, axes = plt.subplots(1, 3, figsize=(8, 2.8))
axes[0].imshow(square[4 * f])
axes[0].set_title(f"source (frame {4 * f})", fontsize=8)
for ax, (name, v) in zip(axes[1:], [("|V| first step", V0), ("|Δ| = |v(c_tar) − v(c_src)|", delta)]):
    ax.imshow(v[0, :, f].norm(dim=0), cmap="magma")
    ax.set_title(f"{name}\nmean {v.norm(dim=1).mean():.2f}", fontsize=8)
for ax in axes:
    ax.axis("off")
plt.tight_layout()
edit_dir, push = fd.tar_guidance * delta, (fd.tar_guidance - fd.src_guidance) * (v_src - v_neg)
assert torch.allclose(edit_dir + push, V0, atol=1e-4)
def cos(a, b):
    return float(F.cosine_similarity(a.flatten(), b.flatten(), dim=0))

print(f"g_tar = {fd.tar_guidance}, g_src = {fd.src_guidance}: |g_tar·Δ| = {edit_dir.norm():.1f}, "
      f"|(g_tar − g_src)·(v(c_src) − v(∅))| = {push.norm():.1f}")
print(f"cos(push, Δ) = {cos(push, delta):.2f}; cos(V, Δ) = {cos(V0, delta):.2f}")
assert push.norm() > edit_dir.norm() and cos(push, delta) < 0 and abs(cos(V0, delta)) < 0.3

# %% [markdown]
# 두 방법 모두 사각형을 사각형으로 남겨 둡니다. 이 클립에서는 원본 프롬프트의 그림 쪽으로 미는 힘이 바뀐 단어
# 자신의 방향 g_tar·Δ보다 크고 그 반대를 향하므로, 둘의 합인 첫 스텝의 V는 Δ와 거의 직각입니다. 편집은 원 쪽으로
# 거의 움직이지 않습니다. 마스크로는 이것을 고칠 수 없습니다. 마스크는 V가 *어디에서* 작용할지를 고를 뿐, 어느
# 방향을 가리킬지는 고르지 않습니다.

# %% [markdown]
# ## 8. 위치를 찾아내는 마스크를, 마스크가 중요한 곳에서: 두 번째 물체
# 단색 배경에서는 물체 바깥에 편집이 망칠 것이 없으므로, 제거 실험 표로는 마스크가 무엇을 위한 것인지 보여 줄 수
# 없습니다. 이 모델은 캡션에 각각 이름이 나오는 **두** 물체가 있는 클립으로도 학습했습니다. 한 물체의 색을 바꾸면
# 다른 물체는 그대로 있어야 합니다. 도형 세계는 이런 편집의 정답을 줍니다(`edit_eval.two_object_truth`: 이상적인
# 결과와 각 물체의 정답 마스크). 그래서 네 가지 편집을 비교할 수 있습니다. FlowEdit(마스크 없음), 어텐션 마스크
# (SAFC)를 쓰는 FlowDirector, **속도 마스크**(`mask=VelocityMask()`)를 쓰는 FlowDirector, 그리고 편집된 물체의
# **정답** 마스크를 `mask=`로 넘긴 FlowDirector(완벽하게 위치를 찾는 마스크라면 얻을 결과)입니다. 속도 마스크는
# 논문 밖의 방법으로, DiffEdit의 아이디어입니다. 원본에 노이즈를 입히고 두 프롬프트 각각에서의 속도를 물은 뒤,
# 둘이 다른 곳을 편집합니다. 속도 차이는 4 × 4 토큰 격자가 아니라 잠재 격자 자체(프레임당 8 × 8) 위의 맵입니다.

# %%
SRC2 = "a red circle moving right and a blue square moving up on a gray background"
TAR2 = SRC2.replace("red", "green")
truth = edit_eval.two_object_truth(SRC2, TAR2, seed=3)
two = truth["source"]
true_mask = truth["masks_src"]["red"] | truth["masks_tar"]["green"]
runs = {"flowedit": dict(method="flowedit"),
        "attention mask": dict(method="flowdirector"),
        "velocity mask": dict(method="flowdirector", mask=VelocityMask()),
        "true mask": dict(method="flowdirector", mask=true_mask)}
edited, masks = {}, {}
for name, kw in runs.items():
    rec = edit_eval.MaskRecorder()
    edited[name] = pipe.edit(two, SRC2, TAR2, seed=0, callback=rec, **kw)
    masks[name] = rec.union
print(f"{'':15s} {'edited right':>12s} {'other kept':>10s} {'other PSNR':>10s} {'mask IoU':>8s} {'mask on other':>13s}")
scores = {}
for name, v in edited.items():
    m = scores[name] = edit_eval.two_object_metrics(two, v, truth, mask=masks[name])
    print(f"{name:15s} {str(m['success']):>12s} {str(m['other_kept']):>10s} {m['other_psnr']:8.1f} dB "
          f"{m['mask_iou']:8.2f} {m['mask_other']:13.2f}")
fig = frame_grid([two, truth["ideal"]] + list(edited.values()), ["source", "ideal edit"] + list(edited),
                 max_frames=6, scale=0.8)

# %% [markdown]
# 각 마스크가 편집을 허용하는 곳입니다(스텝에 걸친 합집합, 잠재 프레임 하나. 편집된 물체는 흰색, 다른 물체는 청록색
# 윤곽선으로 표시했습니다).

# %%
f = T // 2
lat = {c: flowdirector.object_latent_mask(m, (T, h, w))[f] for c, m in truth["masks_src"].items()}
fig, axes = plt.subplots(1, 3, figsize=(7.5, 2.6))
for ax, key in zip(axes, ("attention mask", "velocity mask", "true mask")):
    ax.imshow(masks[key][f].float(), cmap="viridis", vmin=0, vmax=1)
    ax.contour(lat["red"], levels=[0.5], colors="w", linewidths=1)
    ax.contour(lat["blue"], levels=[0.5], colors="c", linewidths=1)
    ax.set_title(f"{key}: IoU {scores[key]['mask_iou']:.2f}", fontsize=8)
    ax.axis("off")
plt.tight_layout()
psnr = {k: s["other_psnr"] for k, s in scores.items()}
assert psnr["true mask"] > psnr["velocity mask"] > psnr["attention mask"] > psnr["flowedit"]
assert scores["velocity mask"]["mask_iou"] > scores["attention mask"]["mask_iou"] + 0.3
assert scores["attention mask"]["mask_other"] > scores["velocity mask"]["mask_other"]
assert all(sc["other_kept"] for sc in scores.values())       # the oracle reads it kept in every run

# %% [markdown]
# 오라클은 모든 실행에서 다른 물체가 보존되었다고 읽습니다. 실행들을 구별해 주는 것은 PSNR입니다. 정답 마스크는
# 다른 물체를 VAE가 재구성한 그대로 유지합니다. 마스크란 바로 그러라고 있는 것입니다. 마스크가 없는 FlowEdit는
# 다른 물체를 가장 많이 바꿉니다. 어텐션 마스크는 편집된 물체를 일부만 찾고 다른 물체까지 뻗어 있어서(위의
# "mask on other"), 속도 마스크보다 다른 물체를 덜 보존합니다. 속도 마스크는 편집된 물체의 윤곽을 그려 내며 정답
# 마스크에 가까워집니다. 속도 마스크에는 어텐션 기록이 필요 없고, 편집 전에 한 번, 모델 행 2·4개만 추가로
# 계산하면 됩니다.

# %% [markdown]
# ## 9. 직접 해 보기
# 원본 클립과 목표 프롬프트, 방법을 고르고 **Edit**를 누르세요(누르기 전에는 아무것도 실행되지 않습니다). 마스크를
# 씌울 단어는 두 프롬프트를 비교해 찾습니다. 물체가 하나든 둘이든 Shapes 캡션이면 무엇이든 됩니다(둘이면 한 물체만
# 바꾸세요. 아래 줄이 다른 물체가 보존되었는지 알려 줍니다). ω는 DAG의 세기입니다(§5; 1이면 단순 평균; FlowDirector
# 전용). "velocity mask"는 §8의 마스크입니다.

# %%
src_box = widgets.Text(value="a green triangle moving left and a red square moving down on a white background",
                       description="source", layout=widgets.Layout(width="600px"))
tar_box = widgets.Text(value="a purple triangle moving left and a red square moving down on a white background",
                       description="target", layout=widgets.Layout(width="600px"))
method_box = widgets.Dropdown(options=list(editing.METHODS) + ["velocity mask"], value="flowdirector",
                              description="method")
seed_box = widgets.IntText(value=0, description="seed")
omega_box = widgets.FloatSlider(value=3.0, min=1.0, max=6.0, step=0.5, description="ω")
button = widgets.Button(description="Edit", button_style="primary")
demo = widgets.Output()

def on_edit(_):
    with demo:
        demo.clear_output(wait=True)
        try:
            src, tar, seed = src_box.value, tar_box.value, seed_box.value
            clip = shapes.render_caption(src, rng=seed)
            method, extra = method_box.value, {}
            if method == "velocity mask":                # 6 candidate flows: within 2× FlowEdit's time
                method, extra = edit_eval.ABLATIONS["flowdirector velocity mask, 6 flows"]
                extra = dict(extra)
            if method == "flowdirector":
                extra["dag"] = replace(extra.get("dag", DAG()), omega=omega_box.value)
            out_clip = pipe.edit(clip, src, tar, seed=seed, method=method, **extra)
            show_video([clip, out_clip], ["source", method_box.value], width=192)
            if len(shapes.parse_caption(src).objects) == 2:
                r = edit_eval.two_object_metrics(clip, out_clip, edit_eval.two_object_truth(src, tar, seed))
                print(f"oracle reads {r['read']} | edited object right {r['success']} | other kept "
                      f"{r['other_kept']} ({r['other_psnr']:.1f} dB) | background PSNR {r['bg_psnr']:.1f} dB")
            else:
                r = edit_eval.edit_metrics(clip, out_clip, src, tar, reference=edit_eval.ideal_edit(tar, seed))
                print(f"oracle reads {r['read']} | success {r['success']} | drift {r['drift']:.1f} px | "
                      f"background PSNR {r['bg_psnr']:.1f} dB")
        except ValueError as err:
            print("ValueError:", err)

button.on_click(on_edit)
# the default settings' result, as an ordinary output (seen without a kernel too); Edit redraws below
clip0 = shapes.render_caption(src_box.value, rng=seed_box.value)
show_video([clip0, pipe.edit(clip0, src_box.value, tar_box.value, seed=seed_box.value)],
           ["source", "flowdirector (default settings)"], width=192)
display(widgets.VBox([src_box, tar_box, widgets.HBox([method_box, seed_box, omega_box, button]), demo]))

# %% [markdown]
# 해 볼 만한 것: 두 물체 모양 편집을 "flowdirector"로, 그다음 "velocity mask"로 해 보기(다른 물체가 그대로
# 남는가?), 그리고 ω = 1과 ω = 3 비교하기(DAG가 무엇을 바꾸는가?).

# %% [markdown]
# ## 부록 — 논문 너머: FlowDirector v2의 보정
# 이번 주 내용에는 포함되지 않으며, 모든 프리셋에서 꺼져 있습니다. 논문의 두 번째 버전(arXiv v2)은 V_worse를 다르게
# 읽고 보정 두 가지를 더하는데, 모두 `pipe.edit`의 옵션으로 쓸 수 있습니다. **DAG v2**(`DAG(version="v2")`)는
# 평균과 *가장 덜 비슷한* n_worse개 후보를 V_worse로 삼습니다. 일부러 나쁘게 만든 추정치에서 멀어지는 쪽으로
# 외삽하려는 것이며, v1(§5)은 *처음* n_worse개를 씁니다. **DA-FC**(`DirectionAware`)는 V 중 원본 속도 방향의
# 성분을 그 부호에 따라 다르게 다룹니다. **MAD-FC**(`MotionGate`)는 원본이 움직이지 않는 곳에서 편집의 시간에
# 따라 변하지 않는 부분만 남깁니다. ω = 1이면 두 DAG 버전 모두 단순 평균입니다. 처음부터 해 봅시다. 신호를 공유하고
# 독립적인 노이즈로만 다른 후보 열 개가 있을 때(독립적인 노이즈 샘플에서 나온 흐름처럼), 어떤 추정치가 신호에
# 가장 가까울까요?

# %%
g = torch.Generator().manual_seed(0)
signal = torch.randn(1, 64, generator=g)
cands = signal + 0.8 * torch.randn(10, 64, generator=g)               # cos(): §7's cosine similarity
plain, _, _ = flowdirector.differential_averaging(cands, DAG(n_worse=6, omega=1.0, version="v2"))
assert torch.allclose(plain, cands.mean(0, keepdim=True))          # ω = 1: plain averaging
print(f"one candidate {cos(cands[:1], signal):.3f} | plain average {cos(plain, signal):.3f}")
dag_cos = {}
for n_worse in (3, 6):
    for version in ("v1", "v2"):
        V, better, worse = flowdirector.differential_averaging(cands, DAG(n_worse, omega=3.0, version=version))
        dag_cos[version, n_worse] = cos(V, signal)
        print(f"DAG {version}, n_worse {n_worse}, ω 3: cos(V_worse, signal) {cos(worse, signal):.3f} → "
              f"cos(V, signal) {dag_cos[version, n_worse]:.3f}")
assert all(c < cos(plain, signal) for c in dag_cos.values())     # what the next cell says

# %% [markdown]
# 값은 신호와의 코사인 유사도이며, 1이면 신호와 정확히 같습니다. 후보들이 독립적인 노이즈로만 다를 때는 단순 평균이
# 이미 최선의 추정치이고, 어떤 부분집합(v1의 것이든 v2의 것이든)에서 멀어지도록 외삽하든 최선에서 벗어납니다. 어느
# 버전의 DAG든 이득을 볼 수 있는 것은 V_worse가 *일관된* 방향으로 나쁠 때뿐이며, 이는 식이 아니라 모델의 흐름에
# 관한 질문입니다.

# %% [markdown]
# ## 요약
# * **토큰 격자**(token grid): 64 px에서 작은 모델은 잠재 프레임당 4 × 4 토큰을 가지며, 어텐션 맵은 토큰마다 값이
#   하나입니다. 완벽한 단어 맵조차 SAFC의 마스크에 물체와의 IoU 약 0.64를 줄 뿐입니다(§1).
# * **편집된 단어와 그 맵**(어텐션 맵, attention map): 단어는 두 프롬프트의 비교(diff)에서 나옵니다. 결합 3D
#   어텐션에서는 비디오 → 텍스트 블록이 교차 어텐션 맵의 역할을 하고, 텍스트 → 비디오 블록이 두 번째 후보입니다.
#   이 모델의 맵은 자기 물체와의 IoU 중앙값이 약 0.3이고, 그 마스크 대부분은 다른 물체의 일부를 덮습니다(§2).
# * **SAFC**(어텐션 기반 마스킹, attention-guided masking): 맵 → 업샘플링, 정규화, 임계값, 합집합, 부드러운 경계 →
#   편집 마스크(edit mask) M. 편집은 그 안에서만 움직입니다: V ← M ⊙ V. 프리셋의 마스크는 모양 편집이 물체 주변의
#   픽셀을 바꿀 수 있도록 일부러 넓게 잡았으며, 이 모델에서는 프레임의 대부분을 엽니다(§3–§4).
# * **DAG**(차분 평균 가이던스, differential averaging guidance): N개의 후보 흐름(candidate flows). CFG처럼 부분집합의
#   평균에서 전체 평균 쪽으로 외삽합니다: V = V_better + (ω − 1)·(V_better − V_worse). 고정된 부분집합 하나를 씁니다.
#   모든 부분집합에 걸치면 이 항은 상쇄됩니다(§5).
#   후보 흐름의 평균은 옮긴 프레임들의 평균처럼 흐림(모션 블러)입니다. 더 많이 평균할수록 편집의 한 스텝 예측은
#   PSNR을 얻고 경계 선명도를 잃습니다. DAG의 외삽은 이를 다시 선명하게 만들고 PSNR을 잃습니다(§5).
# * **제거 실험**(ablation): 단색 배경에서는 마스크가 보호할 것이 없습니다. 후보 흐름에는 FlowEdit의 몇 배에 달하는
#   모델 평가 횟수가 듭니다(§6). 사각형 ↔ 원 편집은 멈출 수 있습니다. 첫 스텝에서 원본 프롬프트 쪽으로 미는 힘이
#   바뀐 단어 자신의 방향보다 크고 그 반대를 향하기 때문입니다(§7).
# * **속도 마스크**(velocity mask): 두 프롬프트가 서로 다른 속도를 요구하는 곳을 잠재 격자 자체 위에서 표시합니다.
#   보존해야 할 두 번째 물체(second object)가 있을 때, 어텐션 마스크보다 편집된 물체의 위치를 훨씬 잘 찾고, 다른
#   물체를 정답 마스크와 거의 비슷한 수준으로 보존합니다(§8).
#
# 더 읽을거리: `docs/flowdirector.md`.

# %% [markdown] [nbgrader locked id=exercises]
# ## 채점 과제
# 아래의 각 함수를 작성하세요. `raise NotImplementedError()`를 여러분의 코드로 바꾸고 바로 아래의 확인 셀을
# 실행하면, 여러분의 함수를 minicog 자체의 함수와 무작위 입력 및 경계 사례에서 비교해 무엇이 다른지 알려 줍니다.
# `make grade NB=<this notebook>`은 모든 과제를 채점합니다(`docs/coursework.md`).
# 이 절은 단독으로 실행됩니다. 첫 셀에서 필요한 것을 가져옵니다.

# %%
import torch
import torch.nn.functional as F

from minicog import coursework as cw
from minicog import flowdirector

# %% [markdown]
# **예측한 뒤 실행하기.** 프리셋의 DAG는 후보 흐름 N = 10개를 결합하며, V_worse는 처음 6개의 평균이고 ω = 3입니다.
# 그 결과 V는 열 개 후보의 가중합입니다. 단순 평균은 각 후보에 가중치 0.1을 줍니다. DAG는 *처음 여섯 개* 후보 각각에
# 어떤 가중치를 줄까요? 여러분의 추측을 `prediction()`에 적으세요(답했는지만 채점하고, 맞았는지는 채점하지
# 않습니다). 확인 셀 다음 셀이 실험을 실행하고 그 결과를 여러분의 추측 옆에 출력합니다.

# %% [nbgrader solution id=prediction]
def prediction():
    ### BEGIN SOLUTION
    return 0.1
    ### END SOLUTION

# %% [nbgrader check id=check_prediction points=1]
cw.check_prediction(prediction)

# %%
preset_dag = flowdirector.FlowDirector().dag
one_hot = torch.eye(10)                           # candidate k is 1 at position k: V shows each one's weight
weights = flowdirector.differential_averaging(one_hot, preset_dag)[0][0]
measured = round(float(weights[0]), 4)
if cw.show_prediction(prediction, measured, "DAG's weight on each of the first six candidates"):
    print("all ten weights:", [round(float(w), 3) for w in weights], "| sum", round(float(weights.sum()), 3))
    print(f"V = {float(weights[-1]) * 4:.1f} × (the mean of the last four) − {-float(weights[0]) * 6:.1f} × "
          "(the mean of the first six): DAG leans on four of the ten draws")

# %% [markdown]
# **과제 8.1 — 어텐션 맵으로 만드는 SAFC 마스크 (3점).** 단어 맵 `(R, T', H', W')`와 잠재 격자 `size = (T, h, w)`에
# 대해 `safc_mask(word_maps, size, kernel)`를 작성하세요. 맵마다 `size`로 최근접 업샘플링
# (`F.interpolate(..., mode="nearest")`), [0, 1]로의 최소–최대 정규화, 공간에서의 `kernel × kernel` 박스 필터
# (stride 1, padding `kernel // 2`, 프레임 안쪽 픽셀만의 평균: `count_include_pad=False`)를 차례로 적용한 뒤,
# 평활화된 맵이 자기 평균을 넘는 곳을 *켭니다*. 대비가 없는 맵(max = min)은 모든 곳이 켜집니다. R개 맵에 걸친
# 합집합을 0/1 값의 float `(T, h, w)`로 반환합니다.

# %% [nbgrader solution id=safc_mask]
def safc_mask(word_maps, size, kernel=3):
    ### BEGIN SOLUTION
    a = F.interpolate(word_maps.float()[:, None], size=tuple(size), mode="nearest")     # (R, 1, T, h, w)
    lo, hi = a.amin(dim=(2, 3, 4), keepdim=True), a.amax(dim=(2, 3, 4), keepdim=True)
    flat = (hi - lo) < 1e-12
    a = (a - lo) / (hi - lo).clamp_min(1e-12)
    smooth = F.avg_pool3d(a, (1, kernel, kernel), stride=1, padding=(0, kernel // 2, kernel // 2),
                          count_include_pad=False)
    on = (smooth > smooth.mean(dim=(2, 3, 4), keepdim=True)) | flat
    return on.any(dim=0)[0].float()
    ### END SOLUTION

# %% [nbgrader check id=check_safc_mask points=3]
cw.check_safc_mask(safc_mask)

# %% [markdown]
# **과제 8.2 — 부드러운 경계 (2점).** 0/1 마스크 `(T, h, w)`에 대해 `soften_edges(binary, decay)`를 작성하세요.
# 마스크 안은 1, 바깥은 `exp(−decay·d)`이며, d는 마스크의 가장 가까운 픽셀까지의 체스판 거리(chessboard
# distance)입니다(잠재 픽셀 단위, 같은 프레임 안에서). 마스크가 전혀 없는 프레임은 0으로 남습니다. 힌트: 3×3
# max-pool로 마스크를 한 픽셀씩 키우면서 각 픽셀에 언제 도달하는지 기록하세요.

# %% [nbgrader solution id=soften_edges]
def soften_edges(binary, decay):
    ### BEGIN SOLUTION
    cur = binary > 0.5
    dist = torch.where(cur, 0.0, float("inf"))
    for k in range(1, max(binary.shape[-2:])):
        cur = F.max_pool2d(cur.float()[:, None], 3, 1, 1)[:, 0] > 0.5
        dist = torch.where(cur & torch.isinf(dist), float(k), dist)
    return torch.exp(-decay * dist)
    ### END SOLUTION

# %% [nbgrader check id=check_soften_edges points=2]
cw.check_soften_edges(soften_edges)

# %% [markdown]
# **과제 8.3 — DAG (1점).** N개의 후보 속도 `(N, ...)`에 대해 `dag(candidates, n_worse, omega)`를 작성하세요.
# §5에서 계산한 차분 평균 가이던스이며, V_worse는 v1 해석대로 처음 `n_worse`개 후보로 만들고, 가이던스 세기는
# ω입니다. ω = 1에서는 N개 전부의 단순 평균이어야 합니다. 맨 앞 차원이 1인 V를 반환합니다.

# %% [nbgrader solution id=dag]
def dag(candidates, n_worse, omega):
    ### BEGIN SOLUTION
    better = candidates.mean(0, keepdim=True)
    worse = candidates[:n_worse].mean(0, keepdim=True)
    return better + (omega - 1) * (better - worse)
    ### END SOLUTION

# %% [nbgrader check id=check_dag points=1]
cw.check_dag(dag)
