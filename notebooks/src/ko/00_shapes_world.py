# %% [markdown]
# # 0주차 — 도형 세계(Shapes world): 모델에게 비디오란 무엇인가
#
# 이 강좌의 모든 모델 — 3D 인과 VAE(3D causal VAE), 전문가 트랜스포머(expert transformer), 정류 흐름(rectified flow),
# FlowDirector — 은 아주 작은 합성 세계에서 학습하고 *측정*합니다. 단색 배경 위에서 색이 있는 도형 하나가 움직이고,
# 캡션은 클립에 무엇이 들어 있는지 정확히 말해 줍니다. 정답(ground truth)을 알고 있으므로 **오라클**(oracle)이 클립을
# 다시 읽어, 생성된 비디오가 프롬프트를 따르는지 알려 줄 수 있습니다. 합성 데이터 덕분에 모든 실험을 측정할 수 있습니다.
#
# **이번 강의에서 배울 것**
# 1. 비디오 텐서(video tensor) — 사람이 보는 형태는 `(T, H, W, 3)` uint8, 모델이 읽는 형태는 [-1, 1] 범위의 `(C, T, H, W)`;
# 2. 합성 데이터(synthetic data): 움직이는 도형을 처음부터 직접 그려 본 뒤, `minicog.shapes`로 도형 세계를 다룹니다;
# 3. 캡션(caption)과 데이터셋(dataset), 그리고 나중에 조합 일반화(compositional generalisation)를 시험하기 위해
#    따로 빼 두는(홀드아웃, hold-out) 조합;
# 4. 비디오를 다시 속성으로 읽어 내는 오라클 — 그리고 오라클이 통하지 않게 되는 지점;
# 5. 영어 또는 한국어 캡션이 붙은 두 물체 장면(two-object scene)과 속성 결합(attribute binding): 오라클이 잡아내는
#    결합 오류(binding error), 즉 올바른 속성이 엉뚱한 물체에 붙은 경우.

# %% [markdown]
# **준비.** 자신의 컴퓨터에서는 저장소 루트에서 `pip install -r requirements.txt -e ".[course]"`를 실행한 뒤(README의
# "Running it") 노트북을 엽니다. Colab에서는 GPU 런타임을 고르고, 아래 셀에서 `MINICOG_REPO`를 강좌 저장소의 주소로
# 설정한 뒤 한 번 실행하세요. 셀이 강좌를 클론하고 설치합니다. `minicog`가 이미 설치된 곳에서는 아무 일도 하지 않습니다.

# %%
import importlib.util
import os
import subprocess
import sys

if importlib.util.find_spec("minicog") is None:            # e.g. a fresh Colab runtime
    repo = os.environ.get("MINICOG_REPO")                    # e.g. os.environ["MINICOG_REPO"] = "https://…"
    if not repo:
        raise RuntimeError("minicog is not installed: set MINICOG_REPO to the course repository's git "
                           "address and run this cell again, or `pip install -e \".[course]\"` from a clone")
    subprocess.run(["git", "clone", "-q", repo, "minicog"], check=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "-e", "minicog[course]"], check=True)
    sys.path.insert(0, os.path.abspath("minicog"))
    os.chdir("minicog/notebooks")

# %%
import numpy as np
import torch
import matplotlib.pyplot as plt

import minicog
from minicog import shapes, video
from minicog.utils import FAST, seed_everything

seed_everything(0)
print("fast mode:", FAST, "| device:", minicog.utils.resolve_device("auto"))

# %% [markdown]
# ## 1분 라이브 데모
# 도형 세계에서 무작위로 뽑은 클립 여섯 개(물체가 하나인 것 셋, 둘인 것 셋)를 각각 캡션과 함께 보여 주고,
# **오라클**(§3)이 픽셀만 보고 모든 클립을 다시 읽어 냅니다. 비디오 아래의 줄을 보세요. 오라클이 읽은 결과가 모든
# 캡션과 일치합니다. 바로 이 덕분에 강좌 후반에 이 세계로 *생성된* 비디오를 채점할 수 있습니다. (`DEMO_SEED`를 바꾸면
# 새 클립이 나옵니다.)

# %%
DEMO_SEED = 2
demo_rng = np.random.default_rng(DEMO_SEED)
singles = [shapes.as_scene(c) for c in shapes.all_combinations()]
demo_scenes = ([singles[i] for i in demo_rng.choice(len(singles), 3, replace=False)]
               + shapes.sample_scenes(3, seed=DEMO_SEED))
demo_clips = [shapes.render_scene(sc, rng=i) for i, sc in enumerate(demo_scenes)]
video.show_video(demo_clips, [sc.caption() for sc in demo_scenes], width=150)
demo_report = shapes.evaluate(demo_clips, demo_scenes)
print(f"the oracle reads {sum(demo_report.correct)} of {len(demo_clips)} clips exactly as captioned")
assert all(demo_report.correct)

# %% [markdown]
# ## 1. 비디오를 처음부터 만들기
# 비디오는 프레임을 쌓아 놓은 것입니다. 순수 numpy로, 오른쪽으로 움직이는 원판을 한 프레임씩 그려 봅시다. 각 프레임은
# `(H, W, 3)`이고 클립은 `(T, H, W, 3)`입니다.

# %%
T, H, W = 17, 64, 64
ys, xs = np.mgrid[0:H, 0:W] + 0.5
clip = np.zeros((T, H, W, 3), np.uint8)                 # black background
for t in range(T):
    cx = 16 + 32 * t / (T - 1)                          # moves 32 px to the right
    disc = (xs - cx) ** 2 + (ys - 32) ** 2 <= 10 ** 2
    clip[t][disc] = (220, 40, 40)                       # red
print(clip.shape, clip.dtype)

# %%
_ = video.show_video(clip, "from scratch: a red disc moving right")

# %% [markdown]
# 모델은 채널이 앞에 오고 [-1, 1] 범위에 있는 실수를 원합니다. 즉 `(C, T, H, W)`이며, 이것들을 배치로 묶으면
# `(B, C, T, H, W)`입니다. **`minicog` 전체에서 쓰는 단 하나의 레이아웃**입니다.

# %%
x = video.to_tensor(clip)
print(tuple(x.shape), float(x.min()), float(x.max()))
assert x.shape == (3, T, H, W)
assert np.array_equal(video.to_uint8(x), clip)          # the round trip is exact

# %% [markdown]
# 비디오는 숫자로 된 4차원 배열일 뿐이며, 두 레이아웃은 같은 숫자를 담습니다. 모델용 실수로 바꿨다가 되돌리는 변환은
# 정확하므로(위에서 assert로 확인했습니다) 사람이 보는 것과 모델이 읽는 것 사이에서 잃는 것이 없습니다.
#
# ## 2. 패키지로 만드는 도형 세계
# `minicog.shapes`는 §1에서 손으로 그린 것을, 작고 완전히 알려진 속성 집합으로부터 그립니다. 속성은 색, 도형, 움직이는
# 방향, 배경입니다. 아래 셀은 세계 전체를 출력합니다.

# %%  NBVAL_CHECK_OUTPUT
print("colours:    ", list(shapes.COLORS))
print("shapes:     ", shapes.SHAPES)
print("directions: ", shapes.DIRECTIONS)
print("backgrounds:", list(shapes.BACKGROUNDS))
n_comb = len(shapes.all_combinations())
assert n_comb == len(shapes.COLORS) * len(shapes.SHAPES) * len(shapes.DIRECTIONS) * len(shapes.BACKGROUNDS)
print(f"combinations: {len(shapes.COLORS)} × {len(shapes.SHAPES)} × {len(shapes.DIRECTIONS)} × "
      f"{len(shapes.BACKGROUNDS)} = {n_comb}")
print(f"object radius {shapes.SIZE_RANGE[0]}–{shapes.SIZE_RANGE[1]} of the frame, travelling "
      f"{shapes.TRAVEL_RANGE[0]}–{shapes.TRAVEL_RANGE[1]} of it at constant speed, always fully inside; "
      f"{shapes.DEFAULT_FRAMES} frames of {shapes.DEFAULT_SIZE}×{shapes.DEFAULT_SIZE} px by default")

# %% [markdown]
# 클립이 `1 + 4k` 프레임인 이유는 인과 VAE(3주차)가 첫 프레임을 따로 두고 그 뒤로 시간을 4배 압축하기 때문입니다.
# 클립 하나를 비디오로, 그리고 프레임을 늘어놓은 띠로 보면 다음과 같습니다.

# %%
v = shapes.render("blue", "triangle", "up", "white", rng=0)
video.show_video(v, shapes.caption("blue", "triangle", "up", "white"))
fig = video.frame_grid(v, max_frames=9)

# %% [markdown]
# 프레임에서 물체가 차지하는 비율은 얼마나 될까요? 모든 조합을 한 번씩 렌더링해서, 배경색이 아닌 픽셀을 셉니다.

# %%
combos = shapes.all_combinations()
clips = [shapes.render(**c, rng=i) for i, c in enumerate(combos)]
share = np.array([(c != np.asarray(shapes.BACKGROUNDS[k["background"]], np.uint8)).any(-1).mean()
                  for c, k in zip(clips, combos)])
print(f"the object covers {share.min():.1%} to {share.max():.1%} of a frame "
      f"(median {np.median(share):.1%}); the rest is background")
assert share.max() < 0.25

# %% [markdown]
# 세계는 일부러 작게 만들었습니다. 모든 조합을 렌더링해서 확인할 수 있고, 이 세계에서 물체는 픽셀 중 작은 일부에
# 불과합니다. 모든 픽셀을 똑같이 세는 손실은 대부분 배경을 채점하게 됩니다. 3주차의 VAE가 물체의 픽셀에 가중치를 더
# 주는 것도 바로 이 때문입니다.

# %% [markdown]
# ### 캡션
# 모든 클립에는 표준 캡션(canonical caption)이 있습니다. 학습에는 바꿔 쓴 캡션(paraphrase)도 쓸 수 있으며, 이것들도
# 파싱하면 같은 속성으로 돌아옵니다.

# %%  NBVAL_CHECK_OUTPUT
attrs = dict(color="orange", shape="square", direction="left", background="gray")
for template in shapes.PARAPHRASES:
    text = shapes.caption(**attrs, template=template)
    assert shapes.parse_caption(text).attributes == attrs
    print(text)

# %% [markdown]
# 잘못된 입력은 분명하게 실패하며, 무엇이 허용되는지 알려 줍니다.

# %%  NBVAL_CHECK_OUTPUT
for bad in [dict(color="pink"), dict(frames=16), dict(size=60)]:
    kw = dict(color="red", shape="circle", direction="left", background="black") | bad
    try:
        shapes.render(**kw)
    except ValueError as e:
        print("ValueError:", e)

# %% [markdown]
# ### 데이터셋
# `ShapesDataset`은 인덱스마다 결정적이고(항목 *i*는 언제나 같은 클립입니다), `(C, T, H, W)` 텐서를 돌려주며, 나중에
# 조합 일반화를 시험하기 위해 선택한 조합을 홀드아웃할 수 있습니다.

# %%
held_out = "a red circle moving left on a black background"
ds = shapes.ShapesDataset(length=1000, seed=0, holdout=[held_out])
items = [ds[i] for i in range(6)]
print(tuple(items[0]["video"].shape), items[0]["caption"])
video.show_video([video.to_uint8(it["video"]) for it in items], [it["caption"] for it in items], width=120)
assert torch.equal(ds[3]["video"], items[3]["video"])                 # item 3 is always the same clip
assert shapes.parse_caption(held_out) not in ds.combos                  # the held-out scene is never drawn
print(f"{len(ds.combos)} of the {n_comb} one-object combinations can be drawn; 1 is held out")

# %% [markdown]
# 데이터셋은 인덱스의 순수 함수이므로 실험을 항목 단위로 똑같이 반복할 수 있고, 홀드아웃한 조합은 학습 중에 결코
# 그려지지 않습니다. 나중에 어떤 모델이 그 조합을 생성한다면, 그 모델은 다른 조합에서만 본 속성들을 *조합*해 낸
# 것입니다.
#
# ## 3. 오라클
# 오라클은 어떤 uint8 비디오에서든 네 가지 속성을 읽어 냅니다. 배경은 테두리에서, 물체는 배경색과 멀리 떨어진
# 픽셀로, 색은 물체의 중심부에서, 도형은 같은 면적의 원 / 정사각형 / 삼각형과 맞춰 보아서, 방향은 무게중심의 속도로
# 읽습니다.

# %%  NBVAL_CHECK_OUTPUT
print(shapes.read_attributes(v))

# %% [markdown]
# 이제 세계의 모든 조합(§2에서 렌더링한 클립)에 적용해 봅니다.

# %%
report = shapes.evaluate(clips, [shapes.caption(**c) for c in combos])
print(report.table())
assert report.prompt_accuracy == 1.0          # every rendered combination is read back exactly

# %% [markdown]
# 깨끗하게 렌더링된 클립에서 오라클은 속성 하나하나까지 정확합니다. 따라서 생성된 클립에서 오라클이 보고하는 오류는
# 오라클이 아니라 생성기의 오류입니다.
#
# ### 오라클이 통하지 않게 되는 지점
# 이해하지 못하는 지표는 믿을 수 없는 지표입니다. 클립에 σ를 점점 키워 가며 가우시안 픽셀 노이즈를 섞고, 오라클이 어떤
# 속성을 가장 먼저 놓치는지 지켜봅니다.

# %%
rng = np.random.default_rng(0)
subset = clips[:: (6 if FAST else 2)]
captions = [shapes.caption(**c) for c in combos][:: (6 if FAST else 2)]
sigmas = [0, 15, 30, 45, 60, 75, 90]
acc, per_attr = [], []
for s in sigmas:
    noisy = [np.clip(c + rng.normal(0, s, c.shape), 0, 255).astype(np.uint8) for c in subset]
    r = shapes.evaluate(noisy, captions)
    acc.append(r.prompt_accuracy)
    per_attr.append(r.per_attribute)
plt.figure(figsize=(5, 2.8))
plt.plot(sigmas, acc, "ko-", lw=2, label="all four (prompt)")
for name in shapes.ATTRIBUTES:
    plt.plot(sigmas, [a[name] for a in per_attr], ".--", label=name)
plt.xlabel("pixel noise σ (of 255)")
plt.ylabel("oracle accuracy")
plt.ylim(0, 1.05)
plt.title(f"oracle under noise ({len(subset)} clips)")
plt.grid(alpha=.3)
plt.legend(fontsize=7)
plt.show()
exact_up_to = max(s for s, a in zip(sigmas, acc) if all(b == 1.0 for b in acc[:sigmas.index(s) + 1]))
first_bad = sigmas.index(exact_up_to) + 1
weakest = min(shapes.ATTRIBUTES, key=lambda n: per_attr[first_bad][n])
print(f"exact up to σ = {exact_up_to}; at σ = {sigmas[first_bad]} it reads {acc[first_bad]:.0%} of the clips, "
      f"{weakest} failing first ({per_attr[first_bad][weakest]:.0%}); at σ = {sigmas[-1]}: {acc[-1]:.0%} — "
      + ", ".join(f"{n} {per_attr[-1][n]:.0%}" for n in shapes.ATTRIBUTES))
last = per_attr[-1]
assert exact_up_to >= 30 and acc[-1] < 0.5 and weakest == "shape"
assert min(last["direction"], last["background"]) > 0.95 > max(last["shape"], last["color"])

# %% [markdown]
# 오라클은 노이즈를 상당히 견디며, 무너질 때도 예상할 만한 곳에서 무너집니다. 물체의 정확한 윤곽으로 읽는 도형이 가장
# 먼저 틀리고, 색이 그 뒤를 따릅니다. 방향(무게중심의 움직임)과 배경(테두리의 중앙값)은 각각 많은 픽셀에 대한 평균이라
# 끝까지 버팁니다. 이보다 훨씬 노이즈가 심한 클립은 애초에 오라클에게 채점을 맡길 클립이 아닙니다.

# %% [markdown]
# ## 4. 두 물체: 단어를 물체에 결합하기
# 클립마다 물체가 하나라면 "red"와 "circle"은 *그* 물체만을 가리킬 수 있습니다. FlowDirector(8주차)와, 텍스트-비디오
# 생성(text-to-video generation) 모델의 고전적인 실패인 **속성 결합** 문제 — 올바른 속성이 엉뚱한 물체에 붙는 것 — 를
# 다루려면, 단어가 두 물체 중 하나를 골라내야 하는 장면이 필요합니다. 두 물체 캡션은 색이 서로 다른 두 물체를 가리키며
# (색이 곧 물체를 가리키는 이름입니다), 도형과 방향은 겹쳐도 됩니다. 두 물체는 모든 프레임에서 서로 간격을 두고 프레임
# 안에 머물며, 두 경로가 모두 들어가도록 물체가 하나일 때보다 조금 작게 그립니다(셀이 크기를 출력합니다).

# %%  NBVAL_CHECK_OUTPUT
scene = shapes.parse_caption("a red circle moving left and a blue square moving up on a white background")
print(scene.caption())
print(scene.caption(language="ko"))                     # the Korean template names the same scene
print("parses back:", shapes.parse_caption(scene.caption(language="ko")) == scene)
print("two-object scenes:", len(shapes.all_scenes(2)), "| held out for the compositional test:",
      len(shapes.compositional_holdout()))
print(f"each object's radius {shapes.TWO_SIZE_RANGE[0]}–{shapes.TWO_SIZE_RANGE[1]} of the frame (alone: up to "
      f"{shapes.SIZE_RANGE[1]}), at least {shapes.MIN_GAP:g} px apart in every frame")

# %%
motions = shapes.scene_motions(scene, 64, rng=3)
two = shapes.render_scene(scene, motions=motions)
masks = shapes.scene_masks(scene, motions)              # the true mask of each object, by colour
video.show_video(two, scene.caption())
fig, axes = plt.subplots(1, 3, figsize=(7, 2.4))
axes[0].imshow(two[8])
axes[0].set_title("frame 8")
for ax, (colour, m) in zip(axes[1:], masks.items()):
    ax.imshow(m[8], cmap="gray")
    ax.set_title(f"true mask: {colour}")
for ax in axes:
    ax.axis("off")

# %% [markdown]
# 오라클은 팔레트 색으로 클립을 분할하고, 찾아낸 물체를 하나하나 읽은 다음, (색, 도형, 방향)의 *집합*을 프롬프트의
# 집합과 비교합니다. 순서는 상관없고, 물체가 빠지거나 남아도 오류이며, **결합 오류**도 오류입니다. 결합 오류란 모든
# 속성이 있기는 하지만 엉뚱한 물체에 붙어 있는 경우입니다. 여기서는 두 색 사이에서 도형을 서로 바꿔 "생성"해 봅니다.

# %%  NBVAL_CHECK_OUTPUT
swapped = shapes.parse_caption("a red square moving left and a blue circle moving up on a white background")
report = shapes.evaluate([two, shapes.render_scene(swapped, rng=3)], [scene, scene])
print("read:", [p.caption() for p in report.predictions])
print("right:", report.correct, "| binding errors:", [bool(b) for b in report.binding])

# %%
pairs = shapes.all_scenes(2)
pick_rng = np.random.default_rng(1)
sample = [pairs[i] for i in pick_rng.choice(len(pairs), 40 if FAST else 300, replace=False)]
rendered = [shapes.render_scene(sc, rng=i) for i, sc in enumerate(sample)]
report2 = shapes.evaluate(rendered, sample)
print(report2.table())
assert report2.prompt_accuracy == 1.0               # exact on rendered two-object clips too
assert report2.binding_errors == 0

# %% [markdown]
# 오라클은 렌더링된 두 물체 장면에서도 정확합니다. 모든 물체를 읽어 내고 결합 오류도 없습니다. 따라서 모델이 만든 두
# 물체 비디오에서 결합 오류가 읽힌다면, 속성을 엉뚱한 물체에 붙인 것은 모델입니다.
#
# ## 5. 직접 탐색하기
# 속성을 골라 클립을 확인해 보세요(셀을 실행할 때 한 번 그려지고, 컨트롤을 움직이면 다시 그려집니다).

# %%
import ipywidgets as widgets
from IPython.display import HTML, display

pick = dict(
    color=widgets.Dropdown(options=list(shapes.COLORS), value="red", description="colour"),
    shape=widgets.Dropdown(options=list(shapes.SHAPES), value="circle", description="shape"),
    direction=widgets.Dropdown(options=list(shapes.DIRECTIONS), value="right", description="direction"),
    background=widgets.Dropdown(options=list(shapes.BACKGROUNDS), value="black", description="background"),
    seed=widgets.IntSlider(value=0, min=0, max=20, description="seed"),
)


def explore_clip():
    a = {k: w.value for k, w in pick.items()}
    seed = a.pop("seed")
    return HTML(video.video_html(shapes.render(**a, rng=seed), width=192) + f"<br>{shapes.caption(**a)}")


display(widgets.VBox([widgets.HBox(list(pick.values())[:2]), widgets.HBox(list(pick.values())[2:])]))
shown = display(explore_clip(), display_id=True)         # an ordinary output: the controls redraw it
for w in pick.values():
    w.observe(lambda _: shown.update(explore_clip()), "value")

# %% [markdown]
# ## 요약
# * **비디오 텐서**: 사람에게는 `(T, H, W, 3)` uint8, 모델에게는 [-1, 1] 범위의 실수 `(B, C, T, H, W)` — `minicog`의
#   단 하나의 레이아웃이며, `video.to_tensor` / `video.to_uint8`이 정확하게 변환합니다.
# * **도형 세계**: 단색 배경 위에서 색이 있는 도형이 움직이는, 작고 완전히 알려진 세계로, 물체는 픽셀 중 작은
#   일부입니다. 인과 VAE(3주차)가 첫 프레임을 따로 두고 시간을 4배 압축하므로 클립은 `1 + 4k` 프레임입니다.
# * **캡션**: 표준 캡션과, 파싱하면 같은 속성으로 돌아오는 바꿔 쓴 캡션들이 있습니다. 잘못된 입력은 무엇이 허용되는지
#   알려 주며 분명하게 실패합니다.
# * **데이터셋**: `ShapesDataset`은 인덱스마다 결정적이고 조합을 홀드아웃할 수 있어, 나중에 조합 일반화를 측정할 수
#   있습니다.
# * **오라클**: 어떤 비디오에서든 속성을 다시 읽어 냅니다. 렌더링된 클립에서는 정확하고 강한 픽셀 노이즈에도
#   견고하며, 노이즈가 심해지면 가장 먼저 무너지는 속성은 도형입니다. 5주차부터는 "비디오가 프롬프트를 따르는가?"를
#   숫자로 바꿔 줍니다.
# * **두 물체와 속성 결합**: 두 물체 캡션(영어 또는 한국어)은 단어가 두 물체 중 하나를 골라내게 만듭니다. 오라클은
#   모든 물체를 읽고 결합 오류를 보고합니다. 8주차의 FlowDirector에 필요한 장면들입니다.

# %% [markdown] [nbgrader locked id=exercises]
# ## 채점 과제
# 아래의 각 함수를 작성하세요. `raise NotImplementedError()`를 여러분의 코드로 바꾸고 그 아래의 확인 셀을 실행하면,
# 무작위 입력과 경계 사례에서 여러분의 함수를 minicog 자체의 함수와 비교해 무엇이 다른지 알려 줍니다.
# `make grade NB=<this notebook>`은 모든 과제를 채점합니다(`docs/coursework.md`).
# 이 절은 독립적으로 실행됩니다. 첫 셀이 필요한 것을 import합니다.

# %%
import numpy as np

from minicog import coursework as cw
from minicog import shapes

# %% [markdown]
# **예측한 뒤 실행하기.** 오라클은 프레임에서 프레임으로 물체의 위치가 어떻게 바뀌는지를 보고 클립의 방향을 읽습니다. 각
# 클립의 프레임을 무작위 순서로 섞은 뒤 오라클에게 다시 물어봅시다. 클립 48개 가운데 몇 분의 몇(0에서 1 사이)에서
# 여전히 방향을 맞게 읽을까요? 방향은 네 가지입니다. 여러분의 추측을 `prediction()`에 적으세요(답했는지만
# 채점하고, 맞았는지는 채점하지 않습니다). 확인 셀 다음 셀이 실험을 실행하고 그 결과를 여러분의 추측 옆에 출력합니다.

# %% [nbgrader solution id=prediction]
def prediction():
    ### BEGIN SOLUTION
    return 0.25
    ### END SOLUTION

# %% [nbgrader check id=check_prediction points=1]
cw.check_prediction(prediction)

# %%
combos = shapes.all_combinations()
chosen = np.random.default_rng(0).choice(len(combos), 48, replace=False)   # (not `pick`: §5's demo uses it)
clips = [shapes.render(**combos[i], rng=int(i)) for i in chosen]
order = np.random.default_rng(1)
shuffled = [clip[order.permutation(len(clip))] for clip in clips]        # the same frames, in a random order
read = shapes.evaluate(shuffled, [shapes.caption(**combos[i]) for i in chosen])
measured = read.per_attribute["direction"]
if cw.show_prediction(prediction, measured, "share of shuffled clips whose direction is read right"):
    axis = {"left": "x", "right": "x", "up": "y", "down": "y"}
    same_axis = np.mean([bool(p.objects) and axis[p.objects[0].direction] == axis[combos[i]["direction"]]
                         for p, i in zip(read.predictions, chosen)])
    print("colour, shape, background read right: "
          + ", ".join(f"{a} {read.per_attribute[a]:.0%}" for a in ("color", "shape", "background"))
          + f"; the direction read along the right axis (horizontal or vertical): {same_axis:.0%}")

# %% [markdown]
# **과제 0.1 — 캡션 읽기 (1점).** 물체가 하나인 영어 캡션에 대해 `parse_caption(text)`를 작성하세요.
# `{"color": ..., "shape": ..., "direction": ..., "background": ...}`를 반환합니다. 캡션은 표준 캡션일 수도 있고
# `shapes.PARAPHRASES` 중 어느 것일 수도 있으며(단어의 순서가 다릅니다), 대문자를 쓰거나 마침표로 끝날 수도 있습니다.
# 힌트: 배경은 `background` 바로 앞의 단어이고, 색·도형·방향은 각각 `shapes.COLORS`, `shapes.SHAPES`,
# `shapes.DIRECTIONS`에 있는 단어입니다.

# %% [nbgrader solution id=parse_caption]
def parse_caption(text):
    ### BEGIN SOLUTION
    words = text.lower().replace(".", " ").split()
    out = {}
    for i, w in enumerate(words):
        if w in shapes.BACKGROUNDS and i + 1 < len(words) and words[i + 1] == "background":
            out["background"] = w
        for key, names in (("color", shapes.COLORS), ("shape", shapes.SHAPES), ("direction", shapes.DIRECTIONS)):
            if w in names and key not in out:
                out[key] = w
    return out
    ### END SOLUTION

# %% [nbgrader check id=check_parse_caption points=1]
cw.check_parse_caption(parse_caption)

# %% [markdown]
# **과제 0.2 — 오라클의 물체 마스크 (2점).** uint8 비디오 `(T, H, W, 3)`에 대해 `object_mask(video, threshold)`를
# 작성하세요. (1) 배경색은 테두리 픽셀(모든 프레임의 첫 행과 마지막 행, 첫 열과 마지막 열)의 중앙값에 (RGB 거리로)
# 가장 가까운 `shapes.BACKGROUNDS`의 항목입니다. (2) 가장자리 값을 반복하는 패딩(`np.pad(..., mode="edge")`)을 한 뒤
# 3×3 박스 필터로 비디오를 평활화합니다. (3) 평활화한 색이 배경색에서 `threshold`보다 멀리 떨어진 픽셀이 *물체*입니다.
# `(T, H, W)` bool 배열을 반환합니다.

# %% [nbgrader solution id=object_mask]
def object_mask(video, threshold=60.0):
    ### BEGIN SOLUTION
    v = video.astype(np.float32)
    T, H, W, _ = v.shape
    border = np.concatenate([v[:, 0], v[:, -1], v[:, :, 0], v[:, :, -1]], axis=1).reshape(-1, 3)
    median = np.median(border, axis=0)
    names = list(shapes.BACKGROUNDS)
    dist = [np.linalg.norm(np.asarray(shapes.BACKGROUNDS[n], np.float32) - median) for n in names]
    bg = np.asarray(shapes.BACKGROUNDS[names[int(np.argmin(dist))]], np.float32)
    pad = np.pad(v, ((0, 0), (1, 1), (1, 1), (0, 0)), mode="edge")
    smooth = sum(pad[:, i:i + H, j:j + W] for i in range(3) for j in range(3)) / 9.0
    return np.linalg.norm(smooth - bg, axis=-1) > threshold
    ### END SOLUTION

# %% [nbgrader check id=check_object_mask points=2]
cw.check_object_mask(object_mask)
