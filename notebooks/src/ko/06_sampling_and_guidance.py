# %% [markdown]
# # 6주차 — 샘플링과 가이던스: 스텝 수, CFG, 오일러 대 Heun 방법, 타임스텝 시프트를 측정으로
#
# 작은 텍스트-비디오 모델은 **속도(velocity)** `v(x_t, t, c)`를 예측합니다; 샘플링은 노이즈(t = 1)에서
# 데이터(t = 0)까지 `dx/dt = v`를 적분하는 일입니다(2주차). (강의: "Rectified flow 기법으로, Denoise
# 하는 과정(velocity, 속도)를 학습하는 방안 제시") 품질과 비용을 정하는 손잡이는 두 가지입니다:
#
# - **스텝 수(steps)** — ODE를 얼마나 촘촘하게 적분하는가(비용 = 스텝 수 × 모델 호출);
# - **분류기 없는 가이던스(classifier-free guidance, CFG)** — 모델을 프롬프트로 *그리고* 빈 프롬프트로
#   실행한 뒤 외삽합니다: `v = v_uncond + g · (v_cond − v_uncond)`(Ho & Salimans 2022). g = 1은
#   평범한 조건부 샘플링이고, g가 클수록 프롬프트를 더 강하게 따릅니다.
#
# Shapes 오라클(oracle)은 "비디오가 프롬프트를 따르는가?"를 숫자로 바꿔 주므로, 샘플을 눈대중으로
# 보는 대신 두 손잡이를 훑어 가며(sweep) 그 답을 *그래프로* 그릴 수 있습니다.
#
# **이번 강의에서 배울 것**
# 1. **샘플러**(sampler)를 처음부터 만들기: **분류기 없는 가이던스**(CFG)를 적용한 오일러(Euler)
#    스텝을 만들고, `pipe.generate`와 비교해 확인합니다;
# 2. **가이던스 스케일**(guidance scale)과 **스텝 수**(number of steps)를 오라클로 채점합니다;
# 3. 같은 비용 — 같은 **모델 평가(model evaluation, NFE)** 횟수 — 에서 비교하는 **오일러 대 Heun
#    방법(Euler vs Heun)**;
# 4. **타임스텝 시프트(timestep shift)**: 스텝이 [0, 1]의 어디에 놓이는지, 그리고 비디오의 내용이 경로의
#    어디에서 결정되는지(모델이 매 순간 추정하는 깨끗한 비디오 x̂0를 오라클로 읽어 봅니다);
# 5. 잠재 공간(latent space)에서 본 비디오 모델의 **속도장(velocity field)**: 샘플링 궤적(trajectory)과
#    그 궤적이 얼마나 곧은지.

# %%
import matplotlib.pyplot as plt
import numpy as np
import torch
from tqdm.auto import tqdm

import minicog
from minicog import shapes, video
from minicog.rectified_flow import sample, timesteps
from minicog.utils import FAST, seed_everything

seed_everything(0)
torch.set_num_threads(2)
pipe = minicog.load_pipeline("tiny", device="cpu")
g0, shift0, steps0 = pipe.config.guidance, pipe.config.shift, pipe.config.steps
print(f"fast mode: {FAST} | the model's sampling defaults (assets/tiny/pipeline.json): {steps0} "
      f"{pipe.config.method} steps, guidance {g0}, timestep shift {shift0}")

# %% [markdown]
# ## 1분 라이브 데모: 가이던스를 끄고 켜기
# 두 물체 프롬프트 네 개를 모델의 기본 샘플러로 같은 노이즈에서 두 번씩 샘플링합니다: 한 번은 가이던스
# 없이(g = 1, 평범한 조건부 모델), 한 번은 모델의 기본 가이던스로. 각 비디오 아래에는 프롬프트에 대한
# 오라클의 판정이 나오고, 틀린 비디오에는 오라클이 그 대신 무엇으로 읽었는지가 나옵니다. **모양과 그
# 모양이 가는 방향을 보세요**: 가이던스가 없으면 프롬프트가 요구하는 것에서 벗어나고, 기본
# 가이던스에서는 오라클이 모든 비디오를 프롬프트대로 읽습니다. (이 네 프롬프트는 차이를 보여 주려고
# 고른 것입니다; §2에서는 고르지 않은 프롬프트로 측정합니다.)

# %%
demo_prompts = [s.caption() for s in shapes.sample_scenes(4, seed=7)]
for i, p in enumerate(demo_prompts):
    print(f"{i + 1}. {p}")
for g in (1.0, g0):
    videos = pipe.generate(demo_prompts, seed=[0, 1, 2, 3], guidance=g)
    verdict = shapes.evaluate(videos, demo_prompts)
    print(f"guidance {g}: the oracle reads {sum(verdict.correct)} of {len(videos)} videos as their prompt")
    for i, (ok, read) in enumerate(zip(verdict.correct, verdict.predictions)):
        if not ok:
            print(f"   video {i + 1} reads as: {read}")
    _ = video.show_video(list(videos), [f"{i + 1}. g = {g}: {'right' if ok else 'wrong'}"
                                        for i, ok in enumerate(verdict.correct)], width=128)
assert all(verdict.correct)                                       # the default guidance: all four right

# %% [markdown]
# ## 1. 샘플러를 처음부터 만들기
# CFG를 적용한 오일러는 다섯 줄이면 됩니다: 프롬프트와 빈 프롬프트에 대한 속도를 한 배치로 계산하고,
# 둘을 섞은 뒤, 스텝 `x ← x + (t_next − t) · v`를 밟습니다. 패키지와 비교해 확인합니다.

# %%
prompt = "a green triangle moving down on a black background"
z = pipe.noise(seed=0)                                           # (1, C, T, h, w)
emb, mask = pipe.encode_prompt([prompt, ""])
g, n_steps = g0, 10
ts = torch.linspace(1.0, 0.0, n_steps + 1)
x = z.clone()
with torch.no_grad():
    for t, t_next in zip(ts[:-1], ts[1:]):
        v_c, v_u = pipe.velocity(torch.cat([x, x]), t, emb, mask).chunk(2)
        x = x + (t_next - t) * (v_u + g * (v_c - v_u))
ours = pipe.decode_latents(x)
theirs = pipe.generate(prompt, seed=0, steps=n_steps, guidance=g, method="euler", shift=1.0)   # even steps: §4
print("max pixel difference vs pipe.generate:", int(np.abs(ours.astype(int) - theirs).max()))
assert np.abs(ours.astype(int) - theirs).max() <= 2
_ = video.show_video([ours, theirs], ["from scratch", "pipe.generate"])

# %% [markdown]
# **정리.** 샘플러는 모델 호출을 되풀이하는 반복문입니다: 가이던스는 호출마다 배치를 두 배로 만들고,
# 스텝 수는 호출 횟수를 그만큼 곱합니다. 아래에서는 이 두 손잡이(와 스텝이 놓이는 위치)를 바꿔 가며,
# 그것으로 무엇을 얻는지 오라클에게 묻습니다.
#
# ## 2. 오라클로 채점한 가이던스와 스텝 수
# 모든 설정에서 같은 두 물체 프롬프트를 같은 시드로 씁니다; 오라클은 프롬프트와 정확히 같게 읽히는
# 비디오(두 물체의 색, 모양, 방향, 그리고 배경)를 셉니다. 스윕은 짧게 끝나도록 오일러 10 스텝을
# 씁니다(모델의 기본값은 20); `LONG = True`로 두면 프롬프트 96개와 더 많은 설정으로 실행합니다(몇 배 더
# 오래 걸립니다).

# %%
LONG = False                     # True: 96 prompts, more settings (several times longer)
n_prompts = 8 if FAST else (96 if LONG else 24)
prompts = [s.caption() for s in shapes.sample_scenes(n_prompts, seed=3)]
seeds = [20_000 + i for i in range(n_prompts)]


def report(**kw):
    """The oracle's report on `prompts` sampled with `seeds` and the given settings."""
    return shapes.evaluate(pipe.generate(prompts, seed=seeds, **kw), prompts)


guidances = [1.0, 1.5, g0, 4.0, 5.5, 8.0, 12.0] if LONG else [1.0, g0, 5.0, 8.0]
cfg_acc = {g: report(steps=10, guidance=g) for g in tqdm(guidances, desc="guidance sweep")}
step_list = [1, 2, 3, 4, 6, 10, 20, 40] if LONG else [1, 2, 4, 10, 20]
step_acc = {s: cfg_acc[g0] if s == 10 else report(steps=s, guidance=g0) for s in tqdm(step_list, desc="step sweep")}

fig, ax = plt.subplots(1, 2, figsize=(9, 3))
ax[0].plot(guidances, [cfg_acc[g].prompt_accuracy for g in guidances], "o-", label="fully right")
for a in shapes.ATTRIBUTES:
    ax[0].plot(guidances, [cfg_acc[g].per_attribute[a] for g in guidances], ".--", alpha=.6, label=a)
ax[0].set_xlabel("guidance scale g")
ax[0].set_ylabel("oracle accuracy")
ax[0].set_title("guidance (10 Euler steps)")
ax[0].legend(fontsize=7)
ax[0].set_ylim(0, 1.05)
ax[1].plot(step_list, [step_acc[s].prompt_accuracy for s in step_list], "o-")
ax[1].set_xscale("log")
ax[1].set_xlabel("Euler steps")
ax[1].set_title(f"steps (g = {g0})")
ax[1].set_ylim(0, 1.05)
plt.tight_layout()
plt.show()
best_g = max(cfg_acc, key=lambda g: cfg_acc[g].prompt_accuracy)
best_s = max(r.prompt_accuracy for r in step_acc.values())
enough = min(s for s in step_list if step_acc[s].prompt_accuracy >= best_s - 0.05)
print(f"{n_prompts} two-object prompts fully right: without guidance {cfg_acc[1.0].prompt_accuracy:.0%}, "
      f"at the default g = {g0} {cfg_acc[g0].prompt_accuracy:.0%}, at g = {guidances[-1]} "
      f"{cfg_acc[guidances[-1]].prompt_accuracy:.0%} (best: g = {best_g})")
print(f"steps: 1 Euler step {step_acc[1].prompt_accuracy:.0%}; {enough} steps already come within 5 points of "
      f"the sweep's best ({best_s:.0%}); one prompt is {100 / n_prompts:.0f} points")
weakest = {g: min(shapes.ATTRIBUTES, key=cfg_acc[g].per_attribute.get) for g in (1.0, guidances[-1])}
print("the weakest attribute without guidance and at the largest g:", weakest)
assert cfg_acc[g0].prompt_accuracy > cfg_acc[1.0].prompt_accuracy                   # guidance helps
assert cfg_acc[guidances[-1]].prompt_accuracy < cfg_acc[g0].prompt_accuracy         # too much hurts
assert set(weakest.values()) == {"shape"}
assert step_acc[1].prompt_accuracy < 0.5 and step_acc[4].prompt_accuracy >= 0.5     # steep first steps,
assert step_acc[step_list[-1]].prompt_accuracy - step_acc[10].prompt_accuracy < 0.15   # then level

# %% [markdown]
# **정리.** 이 모델에서 두 물체 프롬프트를 맞게 만드는 것은 가이던스입니다: 평범한 조건부 모델(g = 1)은
# 기본 스케일보다 훨씬 적게 맞히고, 가이던스가 지나치면 다시 나빠집니다. 양쪽 끝에서 모두 손해를 보는
# 속성은 모양입니다. 스텝 수는 또 하나의 손잡이입니다: 오일러 한 스텝은 실패하는데, 샘플링 경로가 휘어
# 있기 때문입니다 — 곧은 경로라면 한 스텝으로 정확히 적분되겠지만(2주차), 작은 모델은 reflow를 거치지
# 않은 평범한 정류 흐름(rectified flow) 모델입니다 — 정확도는 처음 몇 스텝 동안 가파르게 오르다가
# 평평해집니다.
#
# ## 3. 같은 비용에서 오일러 대 Heun 방법
# Heun 방법(2차)은 스텝마다 모델을 두 번 평가하므로, 같은 모델 평가 횟수(NFE)에서 비교합니다: n 스텝의
# 오일러 대 n/2 스텝의 Heun 방법. 오일러의 수치는 스텝 스윕의 값을 그대로 씁니다.

# %%
nfes = [2, 4, 6, 10, 20] if LONG else [2, 4, 10]
euler = [step_acc[n].prompt_accuracy for n in nfes]
heun = [report(steps=n // 2, guidance=g0, method="heun").prompt_accuracy for n in tqdm(nfes, desc="heun")]
plt.figure(figsize=(4, 3))
plt.plot(nfes, euler, "o-", label="Euler")
plt.plot(nfes, heun, "s-", label="Heun")
plt.xlabel("model evaluations (NFE)")
plt.ylabel("oracle accuracy")
plt.legend()
plt.ylim(0, 1.05)
plt.show()
for n, e, h in zip(nfes, euler, heun):
    print(f"NFE {n:2d}: Euler {e:.0%}, Heun {h:.0%}")
assert all(h <= e for e, h in zip(euler, heun))                  # at equal cost Heun never wins here

# %% [markdown]
# **정리.** 같은 비용에서 이 모델의 Heun 방법은 오일러를 이기지 못합니다: 스텝마다 하는 두 번째 평가는,
# 그 평가를 더 작은 오일러 스텝 하나에 쓰는 것보다 얻는 것이 적습니다. 고차 방법은 경로가 스텝 하나의
# 크기에서 매끄러울 때 효과를 내는데, 이렇게 적은 스텝에서는 그렇지 않습니다.
#
# ## 4. 스텝이 놓이는 곳: 타임스텝 시프트
# 오일러 격자가 t에 대해 균등할 필요는 없습니다. SD3(Esser et al. 2024, §5.3.2)는 균등 격자의 각
# 시간을 `t' = s·t / (1 + (s − 1)·t)`(`rectified_flow.shift_time`)로 옮깁니다: s > 1이면 추가 비용 없이
# 스텝이 노이즈 쪽 끝에 더 많이, t = 0 근처에 더 적게 놓입니다. 이것이 도움이 될지는 비디오의 내용이
# *어디에서* 결정되는지에 달려 있습니다. 아래는 균등 격자 위에서 가이던스를 적용한 궤적 하나를 따라,
# 몇몇 시간 t에서 상태 x_t 자체(초반에는 대부분 노이즈)와, 모델이 현재 추정한 깨끗한 비디오
# `x̂0 = x_t − t · v(x_t, t)`를 디코딩한 것입니다. 열은 비디오 프레임이고, 행은 확산 시간입니다.

# %%
emb1, mask1 = emb[:1], mask[:1]              # the §1 prompt, padded like the empty prompt emb[1:]
xs_one = []


def keep(i, t, x, v):
    xs_one.append((float(t), x.clone()))                    # the state x_t after step i


sample(pipe.velocity_model, pipe.noise(0), (emb1, mask1), steps=10, guidance=g0,
       uncond=(emb[1:], mask[1:]), callback=keep, progress=False)
rows, captions = [], []
with torch.no_grad():
    for t, x in xs_one[::3][:3]:                             # t = 0.9, 0.6, 0.3
        v_c, v_u = pipe.velocity(torch.cat([x, x]), torch.tensor(t), emb, mask).chunk(2)
        x0_hat = x - t * (v_u + g0 * (v_c - v_u))            # the model's clean-video guess
        rows += [pipe.decode_latents(x), pipe.decode_latents(x0_hat)]
        captions += [f"x_t, t = {t:.1f}", f"x̂0, t = {t:.1f}"]
rows.append(pipe.decode_latents(xs_one[-1][1]))
captions.append("sample, t = 0")
fig = video.frame_grid(rows, captions=captions, max_frames=5)   # columns: video frames; rows: times t

# %% [markdown]
# 오라클은 x̂0도 읽을 수 있습니다. §2의 두 물체 프롬프트 몇 개를 균등한 10 스텝 격자로 샘플링하면서, 각
# 스텝에서 x̂0가 이미 완성될 비디오와 똑같이(같은 물체, 색, 모양, 방향, 배경) 읽히는지 확인합니다.

# %%
def x0_guesses(prompt, seed, steps=10):
    """(times, latents): x̂0 at the state before each Euler step of an even grid, then the sample."""
    e, m = pipe.encode_prompt([prompt, ""])
    state = {"x": pipe.noise(seed), "t": 1.0}
    guesses = []

    def record(i, t, x, v):                                  # v: the guided slope used at state["x"]
        guesses.append((state["t"], state["x"] - state["t"] * v))
        state["x"], state["t"] = x.clone(), float(t)

    final = sample(pipe.velocity_model, state["x"], (e[:1], m[:1]), (e[1:], m[1:]), steps=steps,
                   guidance=g0, callback=record, progress=False)
    return [t for t, _ in guesses], torch.cat([x for _, x in guesses] + [final])


n_read = 4 if FAST else 8
settled = []
for p, s in tqdm(list(zip(prompts, seeds))[:n_read], desc="x̂0 along the path"):
    times, latents = x0_guesses(p, s)
    reads = [shapes.read_scene(v) for v in pipe.decode_latents(latents)]
    settled.append([r == reads[-1] for r in reads[:-1]])
settled = np.mean(settled, axis=0)                           # share of samples settled, per time

shifts = [1.0, 2.0, 3.0]
fig, ax = plt.subplots(1, 2, figsize=(9, 3))
ax[0].plot(times, settled, "o-")
ax[0].invert_xaxis()
ax[0].set_xlabel("t (sampling runs from 1 to 0)")
ax[0].set_ylabel("x̂0 reads as the final video")
ax[0].set_title(f"{n_read} two-object samples, even grid", fontsize=10)
for s in shifts:
    ax[1].plot(timesteps(10, s).numpy(), "o-", ms=3, label=f"shift {s}")
ax[1].set_xlabel("step")
ax[1].set_ylabel("t")
ax[1].set_title("10-step grids")
ax[1].legend()
plt.tight_layout()
plt.show()
t_all = times[next(i for i in range(len(times)) if settled[i:].min() == 1.0)]
print("x̂0 reads as the final video: " + ", ".join(f"t = {t:.1f}: {f:.0%}" for t, f in zip(times, settled)))
print(f"every sample has settled from t = {t_all:.1f} on")
for s in shifts:
    grid = timesteps(10, s)[:-1]
    late = int((grid <= t_all).sum())
    print(f"shift {s}: {10 - late} of 10 steps start above t = {t_all:.1f}, {late} after every sample has settled")
assert 0.2 <= t_all <= 0.7 and settled[0] < 0.5                # decided at high noise, not at the end

# %% [markdown]
# 내용 — 어떤 모양이, 어디에서, 어느 쪽으로 움직이는지 — 은 비디오가 아직 대부분 노이즈일 때
# 결정됩니다; 균등 격자의 마지막 스텝들은 오라클이 이미 읽어 내는 것을 선명하게 다듬을 뿐입니다.
# 시프트는 그 스텝들을 결정이 이루어지는 위쪽으로 비용 없이 옮겨 줍니다. 그것으로 정확도를 얼마나
# 얻는지는 측정할 문제입니다: 같은 프롬프트, 시드, 가이던스, 10 스텝으로 세 가지 시프트를
# 비교합니다(시프트 2는 §2 스윕에서 기본값으로 얻은 결과입니다).

# %%
shift_acc = {s: cfg_acc[g0] if s == shift0 else report(steps=10, guidance=g0, shift=s) for s in shifts}
acc = np.array([shift_acc[s].prompt_accuracy for s in shifts])
se = np.sqrt(acc.mean() * (1 - acc.mean()) / n_prompts)       # binomial standard error of one accuracy
print(f"{n_prompts} two-object prompts fully right: " + ", ".join(f"shift {s}: {a:.0%}" for s, a in zip(shifts, acc))
      + f"; spread {100 * (acc.max() - acc.min()):.0f} points, standard error of one accuracy "
      f"{100 * se:.0f} points")
assert acc.max() - acc.min() <= 3 * np.sqrt(2) * max(se, 0.5 / n_prompts)   # within the sample's noise

# %% [markdown]
# **정리.** 이 작은 모델에서 프롬프트 수십 개로는 오라클이 세 시프트를 구별하지 못합니다: 정확도 차이가
# 표본의 노이즈와 비슷한 정도입니다. 격자와 x̂0 판독이 보여 주는 사실은 모델과 상관없이 성립합니다:
# 시프트는 같은 수의 스텝을 내용이 결정되는 곳에 더 많이 씁니다. 그것이 몇 포인트의 가치가 있는지
# 보려면 프롬프트가 수백 개 필요합니다([`docs/training.md`](../docs/training.md)가 그렇게 모델의 기본값을
# 측정합니다).
#
# ## 5. 잠재 공간에서 본 비디오 모델의 속도장
# 잠재 비디오 하나는 C × T × h × w 차원 공간의 한 점입니다(차원 수는 셀이 출력합니다). 한 프롬프트에
# 대해 여러 시드로 샘플링 궤적을 기록하고, 궤적들을 처음 두 주성분(principal component)에 투영한 뒤,
# 각 스텝의 속도를 화살표로 그립니다. 2차원 투영은 굽은 경로를 곧게 보이게 할 수 있으므로(또는 그
# 반대로), 전체 공간에서 2주차의 **곧은 정도**(straightness)도 계산합니다: 경로 길이 / 양 끝점 사이의
# 거리(1 = 직선).

# %%
n_traj = 6 if FAST else 16
traj, vels, straight = [], [], []
for s in range(n_traj):
    z0 = pipe.noise(100 + s)
    xs, vs = [z0.flatten()], []

    def record(i, t, x, v):
        xs.append(x.flatten())
        vs.append(v.flatten())

    sample(pipe.velocity_model, z0, (emb1, mask1), steps=10, guidance=1.0, callback=record, progress=False)
    traj.append(torch.stack(xs[1:]))
    vels.append(torch.stack(vs))
    path = torch.stack(xs)                                   # (steps + 1, D), noise first
    straight.append(float((path[1:] - path[:-1]).norm(dim=1).sum() / (path[-1] - path[0]).norm()))
X, V = torch.cat(traj), torch.cat(vels)
mean = X.mean(0)
_, _, Vt = torch.linalg.svd(X - mean, full_matrices=False)
P = Vt[:2].T                                                 # (D, 2) projection
fig = plt.figure(figsize=(4.5, 4))
for xs, vs in zip(traj, vels):
    p = (xs - mean) @ P
    plt.plot(p[:, 0], p[:, 1], "-", color="gray", alpha=.5)
    d = -(vs @ P) * 0.1                                      # dx = -v dt (time runs 1 → 0)
    plt.quiver(p[:, 0], p[:, 1], d[:, 0], d[:, 1], angles="xy", scale_units="xy", scale=1, width=.004)
    plt.plot(p[-1, 0], p[-1, 1], "o", color="C1")
plt.title("sampling trajectories (PCA of latents)")
plt.xlabel("PC 1")
plt.ylabel("PC 2")
plt.show()
print(f"{X.shape[1]:,} latent dimensions; straightness of the {n_traj} paths (10 Euler steps): "
      f"mean {np.mean(straight):.3f}, range {min(straight):.3f}–{max(straight):.3f}  (1 = straight)")
assert np.mean(straight) < 1.05 and step_acc[1].prompt_accuracy < 0.5       # nearly straight, yet 1 step fails

# %% [markdown]
# **정리.** 모든 잠재 차원에서 재면 경로는 거의 곧은데도, 오일러 한 스텝은 실패합니다(§2): 경로 길이의
# 대부분은 노이즈를 걷어 내는 부분이고 이는 직선으로 해결되는 일이지만, 내용을 결정하는 작은 부분은
# 휩니다. 샘플링에서 중요한 척도는 곧은 정도의 비율이 아니라 스텝 스윕입니다.

# %% [markdown]
# ## 요약
# * **CFG(분류기 없는 가이던스)**: `v = v_uncond + g·(v_cond − v_uncond)`이며, 두 속도는 배치로 묶은
#   모델 호출 한 번에서 나옵니다. 두 물체 프롬프트에서 작은 모델이 캡션을 따르게 만드는 것은
#   가이던스이며, 지나치면 다시 나빠집니다.
# * **스텝 수**: 경로가 휘어 있으므로 오일러 한 스텝은 실패합니다; 정확도는 처음 몇 스텝 동안 가파르게
#   오르다가 평평해집니다. 몇 스텝이면 충분한지는 추론이 아니라 측정으로 정합니다.
# * **오일러 대 Heun 방법**: 같은 모델 호출 수(NFE)에서 비교합니다; 이 모델에서는 Heun 방법의 두 번째
#   평가가 한 번도 이득이 되지 않습니다.
# * **타임스텝 시프트**: `t' = s·t / (1 + (s − 1)·t)`는 같은 수의 스텝을 높은 노이즈 쪽에 더 많이
#   두는데, x̂0가 보여 주듯 그곳이 내용이 결정되는 곳입니다; 비용은 들지 않으며, 이 모델에서 얻는
#   이득은 프롬프트 수십 개로 가려낼 수 있는 것보다 작습니다.
# * **속도장**: 전체 잠재 공간에서 경로는 거의 곧아 보이지만, 내용을 결정하는 부분은 여전히 휩니다 —
#   중요한 척도는 스텝 스윕입니다.
# * 같은 `minicog.rectified_flow.sample`이 2주차의 2D 장난감 예제, 이 비디오 모델, 그리고 7–8주차의
#   편집 ODE를 모두 구동합니다.

# %% [markdown] [nbgrader locked id=exercises]
# ## 채점 과제
# 아래의 각 함수를 작성하세요. `raise NotImplementedError()`를 여러분의 코드로 바꾸고 그 아래의 확인 셀을 실행하면,
# 무작위 입력과 경계 사례에서 여러분의 함수를 minicog 자체의 함수와 비교해 무엇이 다른지 알려 줍니다.
# `make grade NB=<this notebook>`은 모든 과제를 채점합니다(`docs/coursework.md`).
# 이 절은 독립적으로 실행됩니다. 첫 셀이 필요한 것을 import합니다.

# %%
import torch

from minicog import coursework as cw

# %% [markdown]
# **예측한 뒤 실행하기.** 속도장을 정확히 아는 장난감 예제입니다. 데이터는 평면 위의 두 군집으로, 중심이 x축
# 위의 x = +2와 x = −2에 있고 퍼짐(표준편차)은 0.5입니다. 조건은 오른쪽 군집을 요구하고, 조건 없는
# 모델(unconditional model)은 두 군집을 모두 압니다. 가이던스 1이면 샘플은 오른쪽 군집이므로 평균 x는 약
# 2입니다. 같은 노이즈에서 가이던스 8로 샘플링하면 평균 x는 얼마일까요? 여러분의 추측을 `prediction()`에
# 적으세요(답했는지만 채점하고, 맞았는지는 채점하지 않습니다). 확인 셀 다음 셀이 실험을 실행하고 그 결과를 여러분의 추측
# 옆에 출력합니다.

# %% [nbgrader solution id=prediction]
def prediction():
    ### BEGIN SOLUTION
    return 2.0
    ### END SOLUTION

# %% [nbgrader check id=check_prediction points=1]
cw.check_prediction(prediction)

# %%
from minicog import rectified_flow as rf

centres, spread = torch.tensor([[2.0, 0.0], [-2.0, 0.0]]), 0.5


def two_clusters(x, t, cond):
    """The exact velocity for data = two round clusters; cond (B,): 1 = the right-hand cluster only,
    0 = either (the unconditional model)."""
    t = t[:, None, None]
    var = (1 - t) ** 2 * spread ** 2 + t ** 2                       # each cluster's variance at time t
    at_t = (1 - t) * centres                                        # (B, 2, 2): the clusters' centres at t
    logp = -((x[:, None] - at_t) ** 2).sum(-1, keepdim=True) / (2 * var)
    logp[:, 1] = logp[:, 1].masked_fill(cond[:, None] > 0, -torch.inf)
    x0 = centres + (1 - t) * spread ** 2 / var * (x[:, None] - at_t)   # E[x0 | x_t, cluster]
    return (x - (logp.softmax(1) * x0).sum(1)) / t[:, 0]


noise = torch.randn(2000, 2, generator=torch.Generator().manual_seed(0))
samples = {g: rf.sample(two_clusters, noise, torch.ones(2000), torch.zeros(2000), steps=50, guidance=g,
                        progress=False) for g in (1.0, 8.0)}
measured = samples[8.0][:, 0].mean().item()
if cw.show_prediction(prediction, measured, "mean x of the samples at guidance 8"):
    for g, x in samples.items():
        print(f"guidance {g:g}: mean x {x[:, 0].mean():.2f}, spread along x {x[:, 0].std():.2f}, "
              f"along y {x[:, 1].std():.2f} (the data's spread: {spread})")

# %% [markdown]
# **과제 6.1 — 분류기 없는 가이던스 (1점).** 속도 모델 `model(x, t, cond)`에 대해
# `guided_velocity(model, x, t, cond, uncond, guidance)`를 작성하세요: `v_c = model(x, t, cond)`,
# `v_u = model(x, t, uncond)`일 때 `v_u + g·(v_c − v_u)`를 반환합니다. `guidance == 1`이면 `v_c`를
# 반환하고 `uncond`는 쓰지 마세요(None일 수 있습니다).

# %% [nbgrader solution id=guided_velocity]
def guided_velocity(model, x, t, cond, uncond, guidance):
    ### BEGIN SOLUTION
    v_c = model(x, t, cond)
    if guidance == 1:
        return v_c
    v_u = model(x, t, uncond)
    return v_u + guidance * (v_c - v_u)
    ### END SOLUTION

# %% [nbgrader check id=check_guided_velocity points=1]
cw.check_guided_velocity(guided_velocity)

# %% [markdown]
# **과제 6.2 — 시프트를 적용한 시간 격자 (2점).** `time_grid(steps, shift)`를 작성하세요: 1에서 0까지의
# 시간 `steps + 1`개(float64)로, 시프트하지 않은 시간 `u`에서 간격이 같은 스텝들을 SD3의 시프트
# `t = s·u / (1 + (s − 1)·u)`로 옮긴 것입니다. t 격자가 정확히 1에서 시작해 정확히 0에서 끝나도록 u
# 격자를 고르세요(역함수는 `u = t / (s − (s − 1)·t)`이고, 0과 1은 고정점입니다).

# %% [nbgrader solution id=time_grid]
def time_grid(steps, shift=1.0):
    ### BEGIN SOLUTION
    u = torch.linspace(1.0, 0.0, steps + 1, dtype=torch.float64)
    return shift * u / (1 + (shift - 1) * u)
    ### END SOLUTION

# %% [nbgrader check id=check_time_grid points=2]
cw.check_time_grid(time_grid)

# %% [markdown]
# **과제 6.3 — 가이던스를 적용한 오일러 샘플러 (2점).**
# `euler_sample(model, noise, cond, uncond, steps, guidance)`를 작성하세요: `x = noise`(t = 1)에서
# 시작하여, 균등 격자 위에서 가이던스를 적용한 속도(과제 6.1)로 오일러 스텝을 `steps`번 밟아 t = 0까지
# 갑니다. 모델은 시간을 샘플마다 값 하나씩인 `(B,)` 텐서로 받습니다.

# %% [nbgrader solution id=euler_sample]
def euler_sample(model, noise, cond, uncond, steps, guidance):
    ### BEGIN SOLUTION
    ts = torch.linspace(1.0, 0.0, steps + 1)
    x = noise
    for t, t_next in zip(ts[:-1], ts[1:]):
        v = guided_velocity(model, x, t.expand(x.shape[0]), cond, uncond, guidance)
        x = x + (t_next - t) * v
    return x
    ### END SOLUTION

# %% [nbgrader check id=check_euler_sample points=2]
cw.check_euler_sample(euler_sample)
