# %% [markdown]
# # 7주차 — 비디오 편집: 세 가지 출발점
#
# 클립이 하나 있습니다. *검은 배경 위에서 오른쪽으로 움직이는 빨간 원*입니다. 우리가 원하는 것은
# *검은 배경 위에서 오른쪽으로 움직이는 파란 원*, 즉 **같은** 원이 같은 경로를 따라 움직이되 색만 파란
# 클립입니다. 텍스트-비디오 흐름 모델(text-to-video flow model)은 파란 원을 그릴 줄 압니다. 문제는
# 그 모델이 *우리* 클립에서 출발하게 만드는 방법입니다. 강의가 제시하는 답은 세 가지입니다.
#
# | 출발점 | 아이디어 | 강의 |
# |---|---|---|
# | **무작위 노이즈 시작**(random-noise start) (SDEdit) | 클립에 시각 t₀까지 노이즈를 입힌 뒤 목표 프롬프트로 다시 생성 | "연관성 없이 이미지 생성" |
# | **노이즈 역변환**(noise inversion) | 원본 프롬프트로 ODE를 클립에서 노이즈까지 *거꾸로* 푼 다음, 목표 프롬프트로 다시 정방향으로 풂 | "정확도 높으나 속도 느림" |
# | **역변환 없는 편집**(inversion-free editing) (FlowEdit) | 두 속도의 *차이*로 움직이는 ODE를 두 깨끗한 비디오 사이에서 직접 풂 | "이미지 연관성 학습 없이도 성능 좋게 나옴" |
#
# 규약(minicog 전체에서 같습니다): t ∈ [0, 1]이고 **t = 0이 데이터, t = 1이 노이즈**이며,
# z_t = (1 − t)·x₀ + t·ε, 모델은 속도(velocity) v = ε − x₀를 예측합니다.
#
# 이 노트북에서는 각 출발점을 몇 줄의 코드로 처음부터 만들고, `minicog.editing`과 결과를 대조하고, 세
# ODE를 궤적(trajectory)으로 그린 뒤, Shapes 오라클(oracle)로 측정합니다.
#
# **이번 강의에서 배울 것**
# 1. 텍스트-비디오 흐름 모델로 하는 **학습 없는 편집**(training-free editing): 원본 프롬프트(source
#    prompt) → 목표 프롬프트(target prompt)
# 2. **무작위 노이즈 시작**(random-noise start, SDEdit)과 그 유일한 조절 변수인 노이즈 수준 t₀
# 3. **노이즈 역변환**(noise inversion): ODE를 노이즈까지 거꾸로 푼 다음 다시 정방향으로 풀기
# 4. **역변환 없는 편집**(inversion-free editing, FlowEdit): **속도 차이**(velocity difference)로 움직이는,
#    두 깨끗한 비디오 사이의 ODE
# 5. 세 방법을 잠재 공간(latent space)의 **궤적**(trajectory)으로 보고 **측정**하기: 성공률(success),
#    보존(preservation), 이동 오차(drift), 시간

# %%
import matplotlib.pyplot as plt
import numpy as np
import torch

import minicog
from minicog import edit, edit_eval, editing, shapes
from minicog.video import show_video
from minicog.utils import FAST, seed_everything

seed_everything(0)
pipe = minicog.load_pipeline("tiny")
STEPS = 10 if FAST else 20          # Euler steps over the whole time range [1, 0]
print(pipe)

# %% [markdown]
# 원본 클립은 도형 세계(Shapes world)에서 렌더링하고(그래서 정답을 알고 있습니다), VAE로 인코딩합니다.
# 편집은 **잠재 변수**(latents) `(1, C, T, h, w)` 위에서 이루어집니다. VAE를 한 번 왕복하는 것만으로도
# 충실도가 어느 정도 떨어지며, 이것이 모든 편집 방법의 상한입니다.

# %%
SRC = "a red circle moving right on a black background"
TAR = "a blue circle moving right on a black background"
CLIP_SEED = 1
source = shapes.render_caption(SRC, rng=CLIP_SEED)
x_src = pipe.encode_video(source)
recon = pipe.decode_latents(x_src)
print("latents:", tuple(x_src.shape))
show_video([source, recon], ["source (rendered)", "VAE round trip"])

# %% [markdown]
# ## 1분 라이브 데모
# 이 클립에서 세 출발점을 나란히 비교합니다. 슬라이더로 **목표 단어**(새 색이나 새 모양)를 고르면,
# 무작위 노이즈, 역변환, 역변환 없는 ODE가 각각 무엇을 만들어 내는지 볼 수 있습니다. 모든 편집은 셀을
# 실행할 때 한 번 계산해 두므로 슬라이더는 바로 반응합니다. 각 비디오 아래에는 오라클이 읽은 내용과,
# 물체가 완벽한 편집의 경로에서 몇 픽셀(px) 벗어났는지(`drift`)가 표시됩니다.

# %%
import ipywidgets as widgets
from IPython.display import HTML, display
from tqdm.auto import tqdm

from minicog import video

STARTS = {"random_noise": "random noise (SDEdit)", "inversion": "inversion", "flowedit": "inversion-free (FlowEdit)"}
WORDS = {"blue": "red", "yellow": "red", "square": "circle", "triangle": "circle"}    # target word → source word
demo = {}
with tqdm(total=len(WORDS) * len(STARTS), desc="edits for the demo") as bar:
    for word, old in WORDS.items():
        tar = SRC.replace(old, word)
        ideal = edit_eval.ideal_edit(tar, CLIP_SEED)         # the target prompt drawn on the source's own path
        for m in STARTS:
            out = pipe.edit(source, SRC, tar, seed=0, method=m, steps=STEPS, n_max=int(0.7 * STEPS))
            demo[word, m] = (out, edit_eval.edit_metrics(source, out, SRC, tar, reference=ideal))
            bar.update()


def three_starts(word):
    cells = [video.video_html(source, width=150) + "<br>source: " + SRC]
    for m in STARTS:
        out, r = demo[word, m]
        cells.append(video.video_html(out, width=150) + f"<br>{STARTS[m]}<br>reads {r['read']['color']} "
                     f"{r['read']['shape']} · drift {r['drift']:.1f} px")
    return HTML("".join(f'<div style="display:inline-block;margin:4px;text-align:center;font-size:11px;'
                        f'max-width:170px;vertical-align:top">{c}</div>' for c in cells))


target = widgets.SelectionSlider(options=list(WORDS), value="blue", description="target")
display(target)
shown = display(three_starts(target.value), display_id=True)      # an ordinary output: the slider redraws it
target.observe(lambda change: shown.update(three_starts(change["new"])), "value")
hits = {m: sum(demo[w, m][1]["success"] for w in WORDS) for m in STARTS}
drift = {m: np.mean([demo[w, m][1]["drift"] for w in WORDS]) for m in STARTS}
for m in STARTS:
    print(f"{STARTS[m]:26s} target reached in {hits[m]} of {len(WORDS)} edits, mean drift {drift[m]:.1f} px")
assert drift["random_noise"] > max(drift["inversion"], drift["flowedit"])

# %% [markdown]
# 이 클립에서는 목표 단어에 도달하기가 쉽습니다. 세 출발점을 가르는 것은 경로입니다. 무작위 노이즈
# 시작은 클립을 노이즈에서 다시 생성하므로 원래 경로에서 가장 멀리 벗어나고, 역변환과 역변환 없는 ODE는
# 물체를 원래 있던 자리 가까이에 둡니다. 노트북의 나머지 부분에서는 각 출발점을 처음부터 만들고, 각각이
# 무엇을 보존하는지 측정합니다.

# %% [markdown]
# ## 1. 처음부터 만들기
# 도우미 함수는 하나입니다. 프롬프트 하나에 대해 분류기 없는 가이던스(classifier-free guidance, CFG)를
# 적용한 속도를 돌려줍니다(행 0 = 원본, 1 = 목표, 2 = 빈 프롬프트). 가이던스 g는 조건부 속도와 무조건부
# 속도를 v = v_∅ + g·(v_c − v_∅)로 섞습니다.

# %%
embeds, mask = pipe.encode_prompt([SRC, TAR, ""])

def v_cfg(z, t, row, g):
    tt = torch.full((z.shape[0],), float(t))
    e, m = embeds[row:row + 1].expand(z.shape[0], -1, -1), mask[row:row + 1].expand(z.shape[0], -1)
    vc = pipe.velocity(z, tt, e, m)
    if g == 1:
        return vc
    vu = pipe.velocity(z, tt, embeds[2:3].expand_as(e), mask[2:3].expand_as(m))
    return vu + g * (vc - vu)

cfg = editing.EditConfig(steps=STEPS, n_max=int(0.7 * STEPS), src_guidance=1.5, tar_guidance=5.0)
grid = editing.time_grid(cfg)[cfg.start_index:]          # t from t_max ≈ 0.7 down to 0
print("time grid:", [round(float(t), 2) for t in grid])

# %% [markdown]
# ### 출발점 1: 무작위 노이즈(SDEdit)
# *노이즈를 더해* t₀로 건너뛴 다음(z_t₀ = (1 − t₀)·x_src + t₀·ε), 목표 ODE
# dz/dt = v(z, t, c_tar)를 오일러(Euler) 방법으로 0까지 적분합니다.

# %%
g = torch.Generator().manual_seed(0)
eps = torch.randn(x_src.shape, generator=g)
z = (1 - grid[0].item()) * x_src + grid[0].item() * eps
for t, t_next in zip(grid[:-1], grid[1:]):
    z = z + (t_next - t).item() * v_cfg(z, t, 1, cfg.tar_guidance)
z_sdedit = z

prompts = editing.encode_prompts(pipe.encode_prompt, SRC, TAR)
z_pkg = editing.random_noise_edit(pipe.velocity, x_src, prompts, cfg, torch.Generator().manual_seed(0))
print("max |scratch − package| =", float((z_sdedit - z_pkg).abs().max()))
assert torch.allclose(z_sdedit, z_pkg, atol=1e-3)

# %% [markdown]
# ### 출발점 2: ODE 역변환
# *원본* ODE를 위쪽으로(t: 0 → t₀) 풀어 클립을 "그 클립의" 노이즈로 보낸 다음, 목표 ODE로 다시
# 내려옵니다. 두 프롬프트가 같다면 오일러 오차를 빼고는 클립이 그대로 돌아옵니다. 역변환이 *정확한*
# 이유가 이것입니다. 반면 두 번의 풀이가 차례로 이어져야 하므로(모델 호출이 두 배) *느리고*, 정확하려면
# 스텝 수도 많이 필요합니다.

# %%
z = x_src.clone()
up = grid.flip(0)                                            # 0 → t₀
for t, t_next in zip(up[:-1], up[1:]):
    z = z + (t_next - t).item() * v_cfg(z, t, 0, 1.0)       # no guidance: most accurate inversion
z_noise = z
for t, t_next in zip(grid[:-1], grid[1:]):
    z = z + (t_next - t).item() * v_cfg(z, t, 1, cfg.tar_guidance)
z_inv = z
z_pkg = editing.inversion_edit(pipe.velocity, x_src, prompts, cfg)
assert torch.allclose(z_inv, z_pkg, atol=1e-3)

# accuracy vs steps: invert and regenerate with the SAME prompt, no guidance
errs = {}
for n in ([4, 8, 16] if FAST else [4, 8, 16, 32, 64]):
    c = editing.EditConfig(steps=n, n_max=n, tar_guidance=1.0)
    same = editing.encode_prompts(pipe.encode_prompt, SRC, SRC)
    errs[n] = float((editing.inversion_edit(pipe.velocity, x_src, same, c) - x_src).abs().mean())
plt.figure(figsize=(4, 2.6))
plt.loglog(list(errs), list(errs.values()), "o-")
plt.xlabel("Euler steps")
plt.ylabel("mean |x̂ − x|  (latents)")
plt.title("inversion → regeneration, same prompt")
plt.grid(alpha=.3)
assert errs[max(errs)] < errs[min(errs)]

# %% [markdown]
# ### 출발점 3: 역변환 없는 편집(FlowEdit)
# 노이즈까지 가는 일이 전혀 없습니다. x_src에서 시작하는 *편집* 상태 Z_edit를 유지합니다. 각 t에서 새로
# 뽑은 ε로 원본에 노이즈를 입히고, 편집 상태에도 **같은 노이즈 오프셋**을 줍니다. 편집 상태의 변화량은
# 목표 프롬프트가 미는 방향과 원본 프롬프트가 미는 방향의 차이입니다.
#
#     Z_src = (1 − t)·x_src + t·ε
#     Z_tar = Z_edit + (Z_src − x_src)
#     Z_edit ← Z_edit + (t_next − t)·[ v(Z_tar, t, c_tar) − v(Z_src, t, c_src) ]
#
# 두 프롬프트가 동의하는 것(원, 그 경로, 배경)은 차이에서 상쇄되고, 클립을 움직이는 것은
# "빨강 → 파랑"뿐입니다.

# %%
g = torch.Generator().manual_seed(0)
z_edit = x_src.clone()
for t, t_next in zip(grid[:-1], grid[1:]):
    eps = torch.randn(x_src.shape, generator=g)
    z_src = (1 - t.item()) * x_src + t.item() * eps
    z_tar = z_src + (z_edit - x_src)
    V = v_cfg(z_tar, t, 1, cfg.tar_guidance) - v_cfg(z_src, t, 0, cfg.src_guidance)
    z_edit = z_edit + (t_next - t).item() * V
z_fe = z_edit
z_pkg = editing.flowedit(pipe.velocity, x_src, prompts, cfg, torch.Generator().manual_seed(0))
print("max |scratch − package| =", float((z_fe - z_pkg).abs().max()))
assert torch.allclose(z_fe, z_pkg, atol=1e-3)

# %% [markdown]
# 많은 것을 알려 주는 검증이 하나 있습니다. 양쪽에 **같은** 프롬프트*와 같은 가이던스*를 주면 두 속도가
# 똑같아져 차이가 정확히 0이 되고, ODE는 비트 하나까지 항등 변환이 됩니다. 가이던스가 중요합니다.
# g_src ≠ g_tar이면 한 프롬프트의 두 속도의 "차이"는 (g_tar − g_src)·(v_c − v_∅)가 되어, 모델이 그
# 프롬프트를 그리는 방식 쪽으로 미는 힘이 됩니다.

# %%  NBVAL_CHECK_OUTPUT
same = editing.encode_prompts(pipe.encode_prompt, SRC, SRC)
c = editing.EditConfig(steps=STEPS, n_max=int(0.7 * STEPS), src_guidance=3.0, tar_guidance=3.0)
print("identity:", torch.equal(editing.flowedit(pipe.velocity, x_src, same, c, torch.Generator().manual_seed(0)), x_src))

# %% [markdown]
# 프리셋(preset)은 원본과 목표에 *실제로* 서로 다른 가이던스를 씁니다(아래에 출력됩니다). 그래서 같은
# 프롬프트로 그 ODE를 풀면 항등 변환이 되지 않고 클립이 열화됩니다(아래 두 번째 줄, `identity_if_same=False`로
# 강제한 경우). 이 때문에 `pipe.edit`는 역변환 없는 방법에서 두 프롬프트가 같으면 "아무것도 바꾸지 않음"으로
# 처리하고, ODE를 풀지 않은 채 VAE가 재구성한 원본을 돌려줍니다.

# %%
def psnr(a, b):
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return 10 * np.log10(255 ** 2 / mse)

fe = editing.EditConfig.preset("flowedit")
print(f"flowedit preset: src_guidance {fe.src_guidance}, tar_guidance {fe.tar_guidance}")
same_psnr = {}
for label, kw in [("pipe.edit(v, P, P)", {}), ("... identity_if_same=False", dict(identity_if_same=False))]:
    same_psnr[label] = psnr(pipe.edit(source, SRC, SRC, seed=0, method="flowedit", **kw), source)
    print(f"{label:28s} PSNR vs source {same_psnr[label]:5.1f} dB "
          f"(the VAE round trip alone: {psnr(recon, source):.1f} dB)")
assert same_psnr["... identity_if_same=False"] < same_psnr["pipe.edit(v, P, P)"]   # the ODE costs fidelity

# %%
edits = {"random noise (SDEdit)": z_sdedit, "inversion": z_inv, "inversion-free (FlowEdit)": z_fe}
videos = {k: pipe.decode_latents(v) for k, v in edits.items()}
show_video([source] + list(videos.values()), ["source"] + list(videos))
for k, v in videos.items():
    print(f"{k:28s} oracle reads: {shapes.read_attributes(v)}")

# %% [markdown]
# 처음부터 만든 세 버전은 패키지와 같은 결과를 내고, 이 쉬운 클립에서는 셋 모두 원을 파랗게 바꿉니다.
# 차이는 드는 비용과 보존하는 것에 있으며, 다음 두 절에서 이를 측정합니다.

# %% [markdown]
# ## 2. 궤적으로 본 세 ODE
# 각 방법은 잠재 공간을 지나는 하나의 경로입니다. `pipe.edit`의 `callback`으로 모든 상태를 기록하고, 전부를
# 두 주성분 방향에 투영합니다. 무작위 노이즈와 역변환은 (거의) 순수한 노이즈까지 멀리 갔다가 어딘가로
# 돌아옵니다. 역변환 없는 ODE는 데이터 근처를 결코 벗어나지 않고, x_src에서 편집 결과까지 곧장 걸어갑니다.

# %%
tracks = {}
for method in ("random_noise", "inversion", "flowedit"):
    states = [x_src.flatten()]
    ts = [0.0]

    def record(info, states=states, ts=ts):
        states.append(info["z"].flatten().clone())
        ts.append(float(info["t_next"] if "t_next" in info else info["t"]))
    edit.edit_latents(pipe, x_src, SRC, TAR, seed=0, method=method, callback=record)   # presets
    tracks[method] = (torch.stack(states), ts)

allz = torch.cat([s for s, _ in tracks.values()])
mean = allz.mean(0)
_, _, V = torch.pca_lowrank(allz - mean, q=2, center=False)
fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
for (name, (s, ts)), col in zip(tracks.items(), ["C0", "C1", "C2"]):
    p = (s - mean) @ V
    axes[0].plot(p[:, 0], p[:, 1], "o-", ms=3, color=col, label=name)
    axes[0].plot(p[-1, 0], p[-1, 1], "*", ms=14, color=col)
    axes[1].plot(range(len(s)), (s - x_src.flatten()).norm(dim=1), "o-", ms=3, color=col, label=name)
p0 = (x_src.flatten() - mean) @ V
axes[0].plot(p0[0], p0[1], "ks", ms=9, label="x_src")
axes[0].set_title("latent trajectories (PCA of all states)")
axes[0].legend(fontsize=8)
axes[1].set_xlabel("step")
axes[1].set_ylabel("‖z − x_src‖")
axes[1].set_title("distance from the source")
axes[1].legend(fontsize=8)
plt.tight_layout()
far = {k: float((s - x_src.flatten()).norm(dim=1).max()) for k, (s, _) in tracks.items()}
print({k: round(v, 1) for k, v in far.items()})
assert far["flowedit"] < far["random_noise"] and far["flowedit"] < far["inversion"]

# %% [markdown]
# ### 노이즈를 얼마나? 무작위 노이즈 시작의 딜레마
# SDEdit의 조절 변수는 t₀ 하나입니다. 목표 프롬프트로 다시 생성하기 전에 클립을 노이즈 쪽으로 얼마나 밀지를
# 정합니다. 교과서적인 딜레마는 노이즈가 너무 적으면 원본의 색이 남고, 노이즈가 충분하면 클립 자체가 다시
# 생성된다는 것, 즉 *연관성 없는 생성*이 된다는 것입니다. 아래에서는 각 t₀마다 오라클이 색을 읽고 원이
# 경로에서 얼마나 벗어났는지 측정합니다. 마지막 줄들은 어떤 t₀에서 목표 색이 읽혔는지, 그리고 가장 작은
# t₀에서 가장 큰 t₀로 갈 때 이동 오차가 어떻게 변하는지를 알려 줍니다.

# %%
t0s = [3, 5, 7, 10] if FAST else [2, 4, 6, 8, 10]
rows, vids = [], []
for k in t0s:
    n_max = round(k * STEPS / 10)
    out = pipe.edit(source, SRC, TAR, seed=0, method="random_noise", steps=STEPS, n_max=n_max)
    m = edit_eval.edit_metrics(source, out, SRC, TAR, reference=edit_eval.ideal_edit(TAR, CLIP_SEED))
    vids.append(out)
    rows.append((round(float(editing.time_grid(editing.EditConfig(steps=STEPS, n_max=n_max))[STEPS - n_max]), 2),
                 m["read"]["color"], round(m["drift"], 1)))
show_video(vids, [f"t₀={r[0]}" for r in rows])
for r in rows:
    print(f"t0={r[0]:.2f}  colour read: {r[1]}  drift: {r[2]} px")
target_colour = "blue"
print(f"reads {target_colour} at t0 =", [r[0] for r in rows if r[1] == target_colour],
      "| still reads red at t0 =", [r[0] for r in rows if r[1] == "red"])
print(f"drift from t0 = {rows[0][0]} to t0 = {rows[-1][0]}: {rows[0][2]} px → {rows[-1][2]} px")
assert rows[-1][2] > rows[0][2]
assert FAST or rows[0][1] != target_colour               # the smallest t0 stops half way

# %% [markdown]
# 딜레마의 양쪽이 모두 보입니다. 가장 작은 t₀에서는 색이 절반만 바뀝니다(오라클이 빨강도 파랑도 아닌 색으로
# 읽습니다). 노이즈를 조금만 더 주면 가이던스를 준 목표 프롬프트가 원을 다시 칠합니다. 큰 t₀의 대가는 클립
# 자체입니다. 원의 경로에서 벗어나는 이동 오차가 커지고, t₀ = 1에서는 결과가 원본과 프롬프트만 공유하는 새로운
# 생성물이 됩니다.

# %% [markdown]
# ## 3. 품질과 시간
# `benchmarks/bench_editing.py`의 측정을 여기서는 몇 개의 편집에 적용합니다(전체 표는 `docs/flowdirector.md`에
# 있습니다). **success**(성공): 오라클이 목표 색/모양을 읽어 냄. **preserved**(보존): 그 밖의 모든 것을 이전과
# 같게 읽음. **drift**(이동 오차): 물체의 중심이 완벽한 편집(`edit_eval.ideal_edit`: 목표 프롬프트를 원본의 경로
# 그대로 렌더링한 것)이 놓는 위치에서 몇 픽셀(px) 떨어져 있는지. "drift vs source"는 같은 값을 원본 클립에 대해
# 잰 것입니다(삼각형으로 바꾸는 완벽한 편집도 이 값에서 약 0.75 px 어긋납니다. 삼각형의 상자는 가는 꼭짓점
# 부분을 잃기 때문입니다). **bg PSNR**: 물체 바깥 배경의 PSNR. **s / edit**: 같은 실행 안에서 잰 실제 경과
# 시간(초)(`time ×`는 역변환 대비 비율입니다). 여기와 아래의 두 물체 표 모두 종류마다 편집 두 개로 잽니다.
# `LONG = True`로 두면 네 개씩 잽니다(노트북 CPU에서 몇 분 더 걸립니다).

# %%
LONG = False                     # True: 4 edits of each kind instead of 2, in both tables
N = 2 if FAST else (4 if LONG else 2)
edits_set = edit_eval.shapes_edits(N, seed=1)
variants = {k: edit_eval.ABLATIONS[k] for k in ("random_noise", "inversion", "flowedit")}
rows = edit_eval.measure(pipe, edits_set, variants, progress=not FAST)
summary = edit_eval.summarise(rows)
print(edit_eval.results_table(summary))
assert summary["flowedit"]["drift_median"] <= summary["random_noise"]["drift_median"]
assert summary["inversion"]["nfe"] > summary["random_noise"]["nfe"]

# %% [markdown]
# FlowEdit는 물체를 경로 위에 무작위 노이즈 시작 못지않게 잘 유지하고(이동 오차의 중앙값), 역변환은 정확도의
# 대가로 모델 평가 횟수가 가장 많습니다. 두 번의 풀이가 차례로 실행되기 때문입니다.

# %% [markdown]
# 같은 세 출발점을 **두 물체** 클립(two-object clip, `edit_eval.two_object_edits`)에 적용합니다. 한 물체의 색이나
# 모양이 바뀌고 다른 물체를 가리키는 단어는 그대로이므로, 다른 물체는 변하지 않은 채 돌아와야 합니다.
# **other kept**: 오라클이 그 물체를 원본과 같게 읽음. **other PSNR**: 그 물체의 픽셀을 원본과 비교한 PSNR.
# drift는 두 물체 모두에 대해 이상적인 편집과 비교해 잽니다. "reconstruction" 행(인코딩 → 디코딩, 편집 없음)은
# 모든 방법이 공유하는 상한입니다. 두 물체 장면의 작은 모양 중 일부는 VAE 자체가 잃어버립니다.

# %%
edits_two = edit_eval.two_object_edits(1 if FAST else (4 if LONG else 2), seed=1)
rows_two = edit_eval.measure(pipe, edits_two, variants, progress=not FAST)
summary_two = edit_eval.summarise(rows_two)
print(edit_eval.results_table(summary_two, reference="flowedit"))
ceiling = summary_two["reconstruction"]["other_psnr"]
print(f"the other object's PSNR: {ceiling:.1f} dB after the VAE alone; " +
      ", ".join(f"{k} {summary_two[k]['other_psnr']:.1f} dB" for k in variants))
assert all(summary_two[k]["other_psnr"] < ceiling - 3 for k in variants)

# %% [markdown]
# 세 출발점 중 어느 것도 편집이 *어디에* 속하는지 알지 못합니다. 속도 차이는 어떤 토큰이든 바꿀 수 있으므로,
# 단어가 바뀌지 않은 물체까지 다시 칠해집니다. 그 물체의 픽셀은 VAE 왕복만 거쳤을 때보다 원본에서 몇 dB 더
# 멀어집니다. 8주차에서는 편집을 편집된 단어가 자리한 곳으로 제한합니다.

# %% [markdown]
# ## 요약
# - **무작위 노이즈 시작**(random-noise start, SDEdit): 한 번의 풀이로 끝나고 쉽지만, 편집을 얻는 대신 클립을
#   내줍니다. 노이즈가 지운 것은 보존되지 않고 다시 생성됩니다(t₀ 스윕: t₀가 클수록 이동 오차가 커집니다).
# - **노이즈 역변환**(noise inversion): 결정론적 사상이므로 클립을 보존하지만, 차례로 이어지는 두 번의 풀이가
#   필요하고 정확도는 스텝 수가 허락하는 만큼만 나옵니다.
# - **역변환 없는 편집**(inversion-free editing, FlowEdit): 노이즈로 가지 않으므로 두 프롬프트가 동의하는 것은
#   공짜로 보존됩니다(궤적이 데이터 근처에 머뭅니다). 그래도 편집이 건드리지 말아야 할 곳으로 새어 나갈 수
#   있습니다(속도 차이에는 모든 곳에 노이즈가 섞여 있습니다).
# - **측정**: Shapes 오라클은 이상적인 편집과 비교한 성공률, 보존, 이동 오차를 물체 하나에 대해, 그리고 두 물체
#   중 하나를 편집할 때(다른 물체는 보존되는가?)에 대해 알려 줍니다.
# - 다음 노트북: FlowDirector는 모델 자신의 어텐션으로 편집에 마스크를 씌웁니다.

# %% [markdown] [nbgrader locked id=exercises]
# ## 채점 과제
# 아래의 각 함수를 작성하세요. `raise NotImplementedError()`를 여러분의 코드로 바꾸고 바로 아래의 확인 셀을
# 실행하면, 여러분의 함수를 minicog 자체의 함수와 무작위 입력 및 경계 사례에서 비교해 무엇이 다른지 알려 줍니다.
# `make grade NB=<this notebook>`은 모든 과제를 채점합니다(`docs/coursework.md`).
# 이 절은 단독으로 실행됩니다. 첫 셀에서 필요한 것을 가져옵니다.

# %%
import torch

from minicog import coursework as cw

# %% [markdown]
# **예측한 뒤 실행하기.** 빨간 원을 파란 원으로 네 번 편집합니다. 무작위 노이즈 시작(t₀ = 0.7)으로 노이즈
# 시드 0과 시드 1에서 한 번씩, 그리고 FlowEdit로 같은 두 시드에서 한 번씩입니다. 두 결과가 서로 더 멀리
# 떨어지는 쪽은 `"random noise"`일까요, `"FlowEdit"`일까요, 아니면 둘이 `"about the same"`(비슷함)일까요?
# 여러분의 추측을 `prediction()`에 적으세요(맞았는지가 아니라 답했는지만 채점합니다). 확인 셀 다음 셀이
# 실험을 실행하고, 그 결과를 여러분의 추측 옆에 출력합니다.

# %% [nbgrader solution id=prediction]
def prediction():
    ### BEGIN SOLUTION
    return "random noise"
    ### END SOLUTION

# %% [nbgrader check id=check_prediction points=1]
cw.check_prediction(prediction, ("random noise", "FlowEdit", "about the same"))

# %%
import minicog
from minicog import edit, shapes

pipe = minicog.load_pipeline("tiny")
SRC = "a red circle moving right on a black background"
TAR = "a blue circle moving right on a black background"
x = pipe.encode_video(shapes.render_caption(SRC, rng=1))
apart = {}
for method in ("random_noise", "flowedit"):                  # the presets' guidance, 10 steps, t₀ = 0.7
    z0, z1 = (edit.edit_latents(pipe, x, SRC, TAR, seed=s, method=method, steps=10, n_max=7) for s in (0, 1))
    apart[method] = float((z0 - z1).norm() / x.norm())        # seed 0's edit vs seed 1's, relative to the clip
ratio = apart["random_noise"] / apart["flowedit"]
further = "random noise" if ratio > 2 else "FlowEdit" if ratio < 0.5 else "about the same"
if cw.show_prediction(prediction, further, "whose two seeds' edits lie further apart"):
    print(f"‖edit(seed 0) − edit(seed 1)‖ / ‖x_src‖: random noise {apart['random_noise']:.3f}, "
          f"FlowEdit {apart['flowedit']:.3f} ({ratio:.1f}×)")

# %% [markdown]
# **과제 7.1 — 무작위 노이즈 시작 (2점).**
# `random_noise_start(velocity, x_src, noise, c_src, c_tar, t0, steps)`를 작성하세요. 세 출발점 가운데 첫
# 번째를 모델의 속도만으로 만드는 과제입니다. `x_src (1, C, T, h, w)`는 원본 클립의 잠재 변수, `noise`는 같은
# 형태로 뽑은 ε, `c_src`와 `c_tar`는 인코딩한 원본 프롬프트와 목표 프롬프트이고, `velocity(z, t, c)`는
# 프롬프트 `c` 아래에서 float 시각 `t`의 잠재 변수 `z`에 대한 모델의 속도입니다. 먼저 이 `noise`를 써서
# 순방향 과정(forward process)이 하는 방식대로 클립을 노이즈 수준 `t0`에 놓습니다. 그다음 편집이 원하는
# 프롬프트 아래에서 모델의 속도를 따라 클립을 데이터까지 되돌리되, 같은 크기의 오일러 스텝을 `steps`번
# 밟습니다. 편집된 잠재 변수(`x_src`와 같은 형태)를 반환합니다. `t0 = 1`이면 클립의 흔적은 전혀 남지 않습니다.
# 결과는 `noise`에서 새로 생성한 비디오, 즉 원본 비디오를 잃어버리는 기준선(baseline)입니다.

# %% [nbgrader solution id=random_noise_start]
def random_noise_start(velocity, x_src, noise, c_src, c_tar, t0, steps):
    ### BEGIN SOLUTION
    ts = torch.linspace(t0, 0.0, steps + 1).tolist()
    z = (1 - t0) * x_src + t0 * noise
    for t, t_next in zip(ts[:-1], ts[1:]):
        z = z + (t_next - t) * velocity(z, t, c_tar)
    return z
    ### END SOLUTION

# %% [nbgrader check id=check_random_noise_start points=2]
cw.check_random_noise_start(random_noise_start)

# %% [markdown]
# **과제 7.2 — 역변환 (1점).** `invert(velocity, x0, steps)`를 작성하세요. 균등 격자 위에서 오일러 스텝
# `steps`번으로 ODE를 클립(t = 0)에서 노이즈(t = 1)까지 위쪽으로 풉니다. `velocity(x, t)`는 t를 float로
# 받습니다.

# %% [nbgrader solution id=invert]
def invert(velocity, x0, steps):
    ### BEGIN SOLUTION
    ts = torch.linspace(0.0, 1.0, steps + 1).tolist()
    x = x0
    for t, t_next in zip(ts[:-1], ts[1:]):
        x = x + (t_next - t) * velocity(x, t)
    return x
    ### END SOLUTION

# %% [nbgrader check id=check_invert points=1]
cw.check_invert(invert)

# %% [markdown]
# **과제 7.3 — FlowEdit 한 스텝 (3점).** 원본 잠재 변수 `x_src (1, C, T, h, w)`, 현재 편집 상태 `z_edit`(같은
# 형태), 노이즈 N개를 뽑은 `noise (N, C, T, h, w)`에 대해
# `flowedit_step(velocity_src, velocity_tar, x_src, z_edit, t, t_next, noise)`를 작성하세요. 각 샘플 k마다
# `Z_src = (1 − t)·X_src + t·ε_k`, `Z_tar = Z_src + (Z_edit − X_src)`, 그리고 후보
# `V_k = velocity_tar(Z_tar, t) − velocity_src(Z_src, t)`를 계산합니다. 이들의 평균으로 오일러 한 스텝을 밟은
# `Z_edit + (t_next − t)·mean_k V_k`를 `(1, C, T, h, w)` 형태로 반환합니다. (`velocity_src(z, t)`는 잠재 변수의
# 배치와 float t를 받습니다.)

# %% [nbgrader solution id=flowedit_step]
def flowedit_step(velocity_src, velocity_tar, x_src, z_edit, t, t_next, noise):
    ### BEGIN SOLUTION
    z_src = (1 - t) * x_src + t * noise                         # (N, C, T, h, w)
    z_tar = z_src + (z_edit - x_src)
    V = velocity_tar(z_tar, t) - velocity_src(z_src, t)
    return z_edit + (t_next - t) * V.mean(0, keepdim=True)
    ### END SOLUTION

# %% [nbgrader check id=check_flowedit_step points=3]
cw.check_flowedit_step(flowedit_step)
