# %% [markdown]
# # 2주차 — 정류 흐름: 노이즈 제거 과정을 속도로 학습하기
#
# 강의: *"FlowDirector에서 적용한 것으로 Rectified flow 기법으로, Denoise 하는 과정(velocity, 속도)를 학습하는 방안
# 제시"*, *"이 기법을 FLUX 모델에서 채택"*. 확산 모델(diffusion model)은 노이즈를 한 단계씩 데이터로 바꿉니다. 정류
# 흐름(rectified flow, Liu et al. 2022 — Lipman et al. 2023은 flow matching이라 부르며, SD3와 FLUX가 이것으로 학습합니다)은
# 그 레시피를 더할 나위 없이 단순하게 만듭니다.
#
# * 각 데이터 점 `x0`와 각 노이즈 샘플 `ε`을 **직선** `x_t = (1 − t)·x0 + t·ε`으로 잇습니다. `minicog`에서는 언제나
#   **t = 0이 데이터, t = 1이 노이즈**입니다.
# * 그 직선을 따르는 **속도** `v = dx_t/dt = ε − x0`를 평범한 회귀로 네트워크에 가르칩니다.
# * 생성할 때는 t = 1의 노이즈에서 출발해 `dx/dt = v(x, t)`를 t = 0까지 거꾸로 적분합니다.
#
# 이 모든 것을 CPU에서 몇 초 만에 학습되는 2D 장난감 문제에서 해 봅니다.
#
# **이번 강의에서 배울 것**
# 1. **정류 흐름**(rectified flow) — 직선 경로(path), 속도(velocity) 목표와 손실, 샘플러(sampler)를 처음부터 만들고,
#    이어서 `minicog.rectified_flow`로 다시 만듭니다;
# 2. 학습된 **속도장**(velocity field)(t를 움직이는 슬라이더와 함께)과, 1, 2, 4, 32 스텝의 **오일러**(Euler)
#    궤적(trajectory);
# 3. 같은 네트워크를 쓰는 **확산(diffusion, DDPM / VP)** 기준선과, 이름의 "rectified"에 해당하는 **리플로우**(reflow);
# 4. **측정**: 같은 샘플 품질에 각 방법이 오일러 스텝을 몇 번 필요로 하는지, 그리고 2차 스텝인
#    **Heun 방법**(Heun's method);
# 5. **역변환**(inversion): 데이터 → 노이즈 → 데이터, 그리고 비디오 모델이 쓰는 SD3/FLUX의
#    **타임스텝 시프트**(timestep shift).

# %%
import math

import matplotlib.pyplot as plt
import numpy as np
import torch
from tqdm import tqdm

from minicog import rectified_flow as rf
from minicog.utils import FAST, seed_everything

seed_everything(0)
torch.set_num_threads(1)          # tiny MLPs: one thread is faster than several
ITERS = 1500 if FAST else 4000    # training iterations per model
N_EVAL = 1000 if FAST else 3000   # samples per quality measurement
print("fast mode:", FAST)

# %% [markdown]
# ## 1분 라이브 데모
# 생성이란 노이즈(t = 1)에서 데이터(t = 0)까지 속도장을 적분하는 것입니다. 데이터 점이 적은 경우에는 가능한 최선의
# 속도장이 닫힌 형태로 주어집니다. 점 `x`와 시간 `t`에서, 직선 위에서 `x`를 만들어 냈을 수 있는 데이터 점들의
# 평균으로부터 멀어지는 쪽을 향하면 됩니다. `v(x, t) = (x − E[x₀ | x_t = x]) / t`. 그래서 아무것도 학습하지 않고도
# 샘플링할 수 있습니다. 노이즈 점 1000개가 `rf.sample`의 오일러 스텝 20번을 거치며 이 속도장을 따라갑니다. 스냅샷을
# 보세요. 점 구름은 먼저 가운데로 오그라들었다가 갈라지고, 모든 점이 여덟 개의 군집 중 하나에 내려앉습니다. 이번 주의
# 나머지에서는 닫힌 형태가 없는 경우에 이 속도장을 근사하도록 네트워크를 학습합니다.

# %%
centres = 2 * torch.tensor([[math.cos(k * math.pi / 4), math.sin(k * math.pi / 4)] for k in range(8)])
demo_data = centres.repeat_interleave(50, 0) + 0.15 * torch.randn(400, 2, generator=torch.Generator().manual_seed(1))


def ideal_velocity(x, t, cond=None):
    """E[ε − x0 | x_t = x] on the straight path x_t = (1 − t)·x0 + t·ε, x0 one of demo_data's points."""
    t = t[:, None]                                                               # (N, 1)
    d2 = ((x[:, None] - (1 - t[:, :, None]) * demo_data) ** 2).sum(-1)           # (N, points)
    x0_mean = (-d2 / (2 * t ** 2)).softmax(-1) @ demo_data                       # E[x0 | x_t = x]
    return (x - x0_mean) / t


snaps = [torch.randn(1000, 2, generator=torch.Generator().manual_seed(2))]
rf.sample(ideal_velocity, snaps[0], steps=20, progress=False, callback=lambda i, t, x, v: snaps.append(x))
fig, axs = plt.subplots(1, 6, figsize=(16, 2.9), sharex=True, sharey=True)
for ax, i in zip(axs, (0, 4, 8, 12, 16, 20)):
    ax.scatter(*demo_data.T, s=1, c="lightgray")
    ax.scatter(*snaps[i].T, s=1, c="C0")
    ax.set_title(f"step {i}: t = {1 - i / 20:.1f}")
    ax.set_aspect("equal")
    ax.set_xlim(-3.5, 3.5)
    ax.set_ylim(-3.5, 3.5)
plt.show()
spread = [x.std(0).mean().item() for x in snaps]
landed = (torch.cdist(snaps[-1], centres).min(1).values < 3 * 0.15).float().mean().item()
print(f"the cloud's spread: {spread[0]:.2f} at t = 1, {min(spread):.2f} at its narrowest, {spread[-1]:.2f} "
      f"at t = 0; {landed:.1%} of the points end within 3σ of a cluster centre")
assert min(spread) < spread[0] < spread[-1] and landed > 0.95

# %% [markdown]
# ## 1. 데이터: 두 개의 달(two moons)
# 노이즈가 약간 섞인, 서로 맞물린 두 개의 반원입니다. (생성의 출발점이 될 노이즈처럼) 분산이 대략 1이 되도록 스케일을
# 맞춥니다.

# %%
def two_moons(n, generator=None, noise=0.05):
    u = torch.rand(n, generator=generator) * math.pi
    upper = torch.stack([torch.cos(u), torch.sin(u)], 1)
    lower = torch.stack([1 - torch.cos(u), 0.5 - torch.sin(u)], 1)
    which = torch.rand(n, generator=generator) < 0.5
    x = torch.where(which[:, None], upper, lower) + noise * torch.randn(n, 2, generator=generator)
    return (x - torch.tensor([0.5, 0.25])) * 1.5


gen = torch.Generator().manual_seed(0)
target = two_moons(N_EVAL, torch.Generator().manual_seed(123))   # held-out samples for measuring quality
fig, ax = plt.subplots(figsize=(4, 3))
ax.scatter(*target.T, s=2)
ax.set_title("target: two moons")
ax.set_aspect("equal")
print("data std per axis:", target.std(0).numpy().round(2))
assert ((target.std(0) > 0.6) & (target.std(0) < 1.4)).all()

# %% [markdown]
# 데이터는 각 축에서 노이즈와 비슷한 정도로 퍼져 있으므로, 노이즈와 데이터가 같은 스케일에 있고 둘 사이의 직선은 너무
# 길지도 너무 짧지도 않습니다.
#
# ## 2. 경로와 그 속도, 처음부터
# 데이터 점 하나와 노이즈 점 하나를 골라 그 사이의 직선을 따라 걸어 봅니다. t에 대한 도함수는 상수 `ε − x0`이며, 이것이
# 회귀 목표입니다. 비교를 위해 분산 보존(variance-preserving) 확산(DDPM/VP)의 경로도 그립니다. `a² + b² = 1`인
# `x_t = a_t·x0 + b_t·ε`으로, 직선이 아니라 호(타원의 4분의 1)입니다.

# %%
x0 = two_moons(6, gen)
eps = torch.randn(6, 2, generator=gen)
ts = torch.linspace(0, 1, 21)

x_t = (1 - ts[:, None, None]) * x0 + ts[:, None, None] * eps          # (21, 6, 2) from scratch
assert torch.allclose(x_t[7], rf.interpolate(x0, eps, ts[7]))         # the package agrees
h = 1e-3
v_fd = (rf.interpolate(x0, eps, 0.5 + h) - rf.interpolate(x0, eps, 0.5 - h)) / (2 * h)
assert torch.allclose(v_fd, rf.velocity_target(x0, eps), atol=1e-3)  # velocity = dx_t/dt = ε − x0

a, b = torch.cos(ts * math.pi / 2), torch.sin(ts * math.pi / 2)       # a VP path: a² + b² = 1
x_vp = a[:, None, None] * x0 + b[:, None, None] * eps
fig, axs = plt.subplots(1, 2, figsize=(8, 3.5), sharex=True, sharey=True)
for ax, path, name in zip(axs, (x_t, x_vp), ("rectified flow: straight", "diffusion (VP): arcs")):
    ax.plot(path[..., 0], path[..., 1], c="gray", lw=1)
    ax.scatter(*x0.T, c="C0", label="data x0 (t=0)")
    ax.scatter(*eps.T, c="C3", label="noise ε (t=1)")
    ax.set_title(name)
axs[0].legend(fontsize=7)
plt.show()


def straightness(path):
    """Median over paths of (length along the path) / (distance between its ends); 1 = a straight line."""
    length = (path[1:] - path[:-1]).norm(dim=-1).sum(0)
    return (length / (path[-1] - path[0]).norm(dim=-1)).median().item()


print(f"straightness (path length / end-to-end distance): rectified flow {straightness(x_t):.3f}, "
      f"VP {straightness(x_vp):.3f}")
assert abs(straightness(x_t) - 1) < 1e-4 and straightness(x_vp) > 1.01

# %% [markdown]
# 정류 흐름에서 데이터 점과 그 노이즈를 잇는 경로는 정확히 직선이므로, 속도는 하나의 상수 벡터입니다. 가능한 가장 쉬운
# 회귀 목표입니다. 같은 두 점 사이의 VP 경로는 호이고, 속도가 경로를 따라 변합니다.
#
# ## 3. 손실, 처음부터 그리고 패키지로
# `loss = ‖f(x_t, t) − (ε − x0)‖²`를 데이터, 노이즈, t에 대해 평균합니다. 네트워크는 t의 사인파 특징 몇 개도 함께 받는
# 작은 MLP입니다.

# %%
class VelocityMLP(torch.nn.Module):
    def __init__(self, hidden=128):
        super().__init__()
        self.register_buffer("freqs", torch.arange(1, 5) * math.pi)
        self.net = torch.nn.Sequential(
            torch.nn.Linear(2 + 1 + 8, hidden), torch.nn.SiLU(),
            torch.nn.Linear(hidden, hidden), torch.nn.SiLU(),
            torch.nn.Linear(hidden, hidden), torch.nn.SiLU(),
            torch.nn.Linear(hidden, 2))

    def forward(self, x, t, cond=None):            # the minicog velocity-model signature f(x, t, cond)
        ft = t[:, None] * self.freqs
        return self.net(torch.cat([x, t[:, None], torch.sin(ft), torch.cos(ft)], 1))


torch.manual_seed(0)
model = VelocityMLP()
x0 = two_moons(256, gen)
eps, t = torch.randn(256, 2, generator=gen), torch.rand(256, generator=gen)
x_t = (1 - t[:, None]) * x0 + t[:, None] * eps
loss_scratch = ((model(x_t, t) - (eps - x0)) ** 2).mean()
loss_pkg = rf.rf_loss(model, x0, t=t, noise=eps)
print(f"from scratch {loss_scratch.item():.5f}   minicog.rf_loss {loss_pkg.item():.5f}")
assert torch.allclose(loss_scratch, loss_pkg)

# %% [markdown]
# 학습은 매번 새로 뽑은 두 개의 달 배치로 Adam 스텝을 수천 번 밟는 것입니다. `rf_loss`는 t(여기서는 균등 분포에서
# 뽑습니다. SD3는 로짓 정규 분포 `sampler="logit_normal"`을 선호합니다)와 노이즈를 스스로 뽑습니다.

# %%
def train(loss_fn, iters=ITERS, init=None, lr=3e-3, desc="train"):
    torch.manual_seed(0)
    net = VelocityMLP()
    if init is not None:
        net.load_state_dict(init.state_dict())
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, lr, total_steps=iters, pct_start=0.1)
    losses = []
    for _ in tqdm(range(iters), desc=desc):
        loss = loss_fn(net)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        losses.append(loss.item())
    return net.eval().requires_grad_(False), losses


rf_model, rf_losses = train(lambda net: rf.rf_loss(net, two_moons(512, gen), generator=gen), desc="rectified flow")
fig, ax = plt.subplots(figsize=(5, 2.5))
ax.plot(np.convolve(rf_losses, np.ones(50) / 50, mode="valid"))
ax.set_xlabel("step")
ax.set_ylabel("loss (running mean)")
plt.show()
first, last = np.mean(rf_losses[:100]), np.mean(rf_losses[-100:])
print(f"{ITERS} steps: the loss fell from {first:.2f} to {last:.2f} (means of the first and last 100 steps)")
assert last < 0.8 * first                                             # it learned something

# %% [markdown]
# 손실은 빠르게 떨어지다가 0보다 한참 위에서 평평해집니다. 왜 0까지 내려가지 않을까요? 같은 점 `x_t`를 지나는 직선이
# 여럿 있습니다(서로 다른 `x0`, `ε` 쌍). 네트워크가 할 수 있는 최선은 그 직선들의 *평균* 방향 `E[ε − x0 | x_t]`를
# 예측하는 것입니다. 우리가 적분하는 것은 바로 이 평균 속도장입니다.

# %% [markdown]
# ## 4. 샘플링 = 상미분방정식(ODE) 적분(오일러), 처음부터 그리고 패키지로
# t = 1의 노이즈에서 출발해 `x ← x + (t_next − t)·v(x, t)` 스텝을 밟습니다. `dt`는 음수입니다.

# %%
noise = torch.randn(N_EVAL, 2, generator=torch.Generator().manual_seed(7))
steps = 8
grid = torch.linspace(1, 0, steps + 1)
x = noise
for i in range(steps):                                            # Euler, from scratch
    x = x + (grid[i + 1] - grid[i]) * rf_model(x, grid[i].expand(len(x)))
x_pkg = rf.sample(rf_model, noise, steps=steps, progress=False)   # the package (Euler by default)
assert torch.allclose(x, x_pkg, atol=1e-5)
fig, ax = plt.subplots(figsize=(4, 3))
ax.scatter(*target.T, s=1, c="lightgray", label="target")
ax.scatter(*x_pkg.T, s=1, label=f"{steps} Euler steps")
ax.legend(markerscale=5, fontsize=7)
ax.set_aspect("equal")
plt.show()

# %% [markdown]
# 샘플러는 세 줄짜리 루프이며 `rf.sample`과 같은 숫자를 냅니다(assert로 확인). 학습된 속도장을 따라 오일러 스텝 여덟
# 번이면 노이즈가 두 개의 달 위로 옮겨집니다. 얼마나 가까운지는 §9에서 측정합니다.
#
# ## 5. 학습된 속도장
# 화살표와 유선은 `−v(x, t)`, 즉 t = 0을 향해 적분할 때 샘플이 움직이는 방향을 네 시점에서 보여 줍니다.

# %%
gx, gy = torch.meshgrid(torch.linspace(-3, 3, 21), torch.linspace(-2.5, 2.5, 17), indexing="xy")
grid_pts = torch.stack([gx.flatten(), gy.flatten()], 1)


def plot_field(t, ax=None, net=rf_model):
    ax = ax or plt.gca()
    v = -net(grid_pts, torch.full((len(grid_pts),), float(t)))      # minus: the sampling direction
    ax.quiver(gx, gy, v[:, 0].reshape(gx.shape), v[:, 1].reshape(gx.shape), color="C0", alpha=0.7)
    ax.streamplot(gx.numpy(), gy.numpy(), v[:, 0].reshape(gx.shape).numpy(),
                  v[:, 1].reshape(gx.shape).numpy(), color="C1", density=0.7, linewidth=0.6)
    ax.scatter(*target[:400].T, s=1, c="gray")
    ax.set_title(f"−v(x, t) at t = {float(t):.2f}")
    ax.set_xlim(-3, 3)
    ax.set_ylim(-2.5, 2.5)
    ax.set_aspect("equal")


fig, axs = plt.subplots(1, 4, figsize=(16, 3.5))
for ax, tt in zip(axs, (1.0, 0.6, 0.3, 0.05)):
    plot_field(tt, ax)

# %% [markdown]
# 슬라이더를 끌어 시간을 따라 움직여 보세요(실행 중인 노트북에서. 슬라이더를 움직이기 전까지 그림은 t = 0.5를 보여
# 줍니다).

# %%
import ipywidgets as widgets
from IPython.display import display


def field_figure(t):
    fig, ax = plt.subplots(figsize=(5, 4))
    plot_field(t, ax)
    plt.close(fig)                      # displayed through the handle below, not by the inline backend
    return fig


t_slider = widgets.FloatSlider(value=0.5, min=0.0, max=1.0, step=0.05, description="t")
display(t_slider)
field = display(field_figure(t_slider.value), display_id=True)     # an ordinary output: the slider redraws it
t_slider.observe(lambda change: field.update(field_figure(change["new"])), "value")

# %% [markdown]
# 학습된 속도장은 *시간에 따라 변하는* 사상입니다. t = 1 근처에서는 모든 샘플을 데이터의 가운데 쪽으로 되돌리고, t가
# 0에 가까워져서야 샘플을 두 달로 나눕니다. 라이브 데모에서 이상적인 속도장이 보여 준 것과 같은, 오그라들었다가
# 갈라지는 움직임입니다.

# %% [markdown]
# ## 6. 1, 2, 4, 32 스텝의 오일러
# `sample`은 매 스텝이 끝날 때마다 `callback(i, t, x, v)`를 호출합니다. 여기서는 이것으로 궤적을 기록합니다. 스텝이
# **하나**면 오일러는 `x1 − v(x1, 1)`, 즉 예측된 데이터의 평균으로 점프합니다. 한 스텝으로는 휘어지는 경로를 따라갈 수
# 없습니다. 스텝을 몇 번만 더 밟으면 샘플이 달 위에 내려앉습니다.

# %%
def trajectories(model_fn, z, steps, **kw):
    path = [z]
    out = rf.sample(model_fn, z, steps=steps, progress=False,
                    callback=lambda i, t, x, v: path.append(x), **kw)
    return torch.stack(path), out                                 # (steps + 1, N, 2)


z_show = noise[:300]
fig, axs = plt.subplots(1, 4, figsize=(16, 4), sharex=True, sharey=True)
ends = {}
for ax, n in zip(axs, (1, 2, 4, 32)):
    path, ends[n] = trajectories(rf_model, z_show, n)
    ax.plot(path[..., 0], path[..., 1], c="gray", lw=0.4, alpha=0.6)
    ax.scatter(*z_show.T, s=2, c="C3")
    ax.scatter(*ends[n].T, s=3, c="C0")
    ax.set_title(f"Euler, {n} step{'s' * (n > 1)}")
    ax.set_xlim(-3.2, 3.2)
    ax.set_ylim(-3.2, 3.2)
    ax.set_aspect("equal")
    assert len(path) == n + 1
plt.show()
spread = {n: x.std(0).mean().item() for n, x in ends.items()}
print("spread of the samples (mean std per axis) with " + ", ".join(f"{n} steps: {v:.2f}" for n, v in spread.items())
      + f"; the data's: {target.std(0).mean().item():.2f}")
assert spread[1] < 0.5 * target.std(0).mean().item()           # one step collapses towards the mean

# %% [markdown]
# 오일러 한 스텝은 샘플을 데이터의 가운데 쪽으로 뭉개 버려, 데이터보다 훨씬 좁게 만듭니다. 학습된 경로는 휘어 있고,
# 직선 스텝 하나로는 휘어짐을 따라갈 수 없습니다. 스텝 몇 번이면 이미 샘플이 달 위로 퍼지고, 스텝을 늘리면 더
# 다듬어집니다.

# %% [markdown]
# ## 7. 확산 기준선: 연속 시간의 DDPM(VP-SDE)
# 같은 네트워크, 같은 데이터, 같은 학습 스텝 수이지만 고전적인 레시피(Ho et al. 2020; Song et al. 2021)를 씁니다.
# `x_t = a_t·x0 + σ_t·ε`, `a_t² = exp(−∫β)`이고 `β(t)`는 0.1에서 20까지 선형(연속 시간으로 옮긴 DDPM의 스케줄)이며,
# 네트워크는 노이즈 ε을 예측합니다.
# 생성은 *확률 흐름 ODE*(probability-flow ODE) `dx/dt = −½β(t)·(x − ε̂(x, t)/σ_t)`를 적분하며, 이것을 똑같은
# `rf.sample` 오일러 적분기에 그대로 꽂아 씁니다(적분기에는 *어떤* 속도장이든 있기만 하면 됩니다).

# %%
B_MIN, B_MAX, T_MIN = 0.1, 20.0, 1e-3


def vp_alpha_bar(t):
    return torch.exp(-(B_MIN * t + 0.5 * (B_MAX - B_MIN) * t ** 2))


def vp_loss(net, x0):
    t = T_MIN + (1 - T_MIN) * torch.rand(len(x0), generator=gen)
    eps = torch.randn(x0.shape, generator=gen)
    ab = vp_alpha_bar(t)[:, None]
    return ((net(ab.sqrt() * x0 + (1 - ab).sqrt() * eps, t) - eps) ** 2).mean()


vp_model, vp_losses = train(lambda net: vp_loss(net, two_moons(512, gen)), desc="diffusion (VP)")


def vp_velocity(x, t, cond=None):
    beta, sigma = B_MIN + t * (B_MAX - B_MIN), (1 - vp_alpha_bar(t)).sqrt()
    return -0.5 * beta[:, None] * (x - vp_model(x, t) / sigma[:, None])


def vp_sample(z, steps, **kw):          # the VP ODE stops at t = 1e-3 (σ → 0 makes ε/σ blow up)
    return rf.sample(vp_velocity, z, steps=steps, t_end=T_MIN, progress=False, **kw)

# %% [markdown]
# ## 8. 리플로우: 경로를 곧게 펴기
# 위에서 학습한 정류 흐름(RF) 경로는 곧지 *않습니다*. 서로 다른 (x0, ε) 쌍에서 나온 직선들이 교차하고 네트워크가
# 그것들을 평균하므로, 주변(marginal) 경로가 휩니다(먼저 평균 쪽으로, 그다음 바깥의 달 쪽으로). Liu et al.의 해법인
# **리플로우**: 학습된 흐름으로 (노이즈 z, 생성된 x̂0 = ODE(z)) 쌍을 샘플링하고, *이* 쌍들 사이의 직선으로 다시
# 학습합니다. 이 직선들은 교차하지 않으므로(ODE의 경로는 결코 교차하지 않습니다) 새 흐름("2-rectified flow")은 거의
# 직선으로 움직입니다. `rf_loss`는 짝지어진 노이즈를 직접 받습니다.

# %%
z_pairs = torch.randn(8192, 2, generator=torch.Generator().manual_seed(11))
x_pairs = rf.sample(rf_model, z_pairs, steps=16, method="heun", progress=False)   # 32 evaluations


def reflow_loss(net):
    idx = torch.randint(0, len(z_pairs), (512,), generator=gen)
    return rf.rf_loss(net, x_pairs[idx], noise=z_pairs[idx], generator=gen)


rf2_model, _ = train(reflow_loss, iters=ITERS // 2, init=rf_model, lr=1e-3, desc="reflow")

# %% [markdown]
# 같은 노이즈 점 300개에서 출발한 세 흐름의 궤적(오일러 64 스텝)과 그 **직선도**(straightness): 경로 길이 / 양 끝점
# 사이의 거리(1 = 직선).

# %%
flows = {"diffusion (VP)": (vp_velocity, dict(t_end=T_MIN)), "rectified flow (1-RF)": (rf_model, {}),
         "reflow (2-RF)": (rf2_model, {})}
fig, axs = plt.subplots(1, 3, figsize=(15, 5), sharex=True, sharey=True)
straight = {}
for ax, (name, (f, kw)) in zip(axs, flows.items()):
    path, out = trajectories(f, z_show, 64, **kw)
    straight[name] = straightness(path)
    ax.plot(path[..., 0], path[..., 1], c="gray", lw=0.4, alpha=0.6)
    ax.scatter(*z_show.T, s=2, c="C3")
    ax.scatter(*out.T, s=3, c="C0")
    ax.set_title(f"{name}\nstraightness {straight[name]:.2f}")
    ax.set_xlim(-3.2, 3.2)
    ax.set_ylim(-3.2, 3.2)
    ax.set_aspect("equal")
plt.show()
print("straightness of the sampling paths: " + ", ".join(f"{k} {v:.3f}" for k, v in straight.items()))
assert straight["reflow (2-RF)"] < 1.05                          # reflowed paths are nearly straight
assert straight["reflow (2-RF)"] < min(straight["diffusion (VP)"], straight["rectified flow (1-RF)"])
assert straight["rectified flow (1-RF)"] > straight["diffusion (VP)"]    # 1-RF bends most (why: §9)

# %% [markdown]
# 곧은 *학습* 경로가 곧은 *샘플링* 경로를 만들지는 않습니다. 네트워크는 교차하는 직선들의 평균을 학습하고, 평범한
# 정류 흐름의 경로는 휩니다. 흐름 자신이 이어 준 쌍으로 학습하는 리플로우는 경로를 거의 직선에 가깝게 폅니다.

# %% [markdown]
# ## 9. 측정: 같은 품질에 오일러 스텝이 몇 번 필요한가?
# 품질 = 생성된 점들과 같은 수의 홀드아웃 목표 점들 사이의 **MMD**(maximum mean discrepancy, 최대 평균 불일치; 대역폭
# 4개의 RBF 커널). 낮을수록 좋고, 서로 독립인 두 목표 샘플 사이의 값이 노이즈 하한(noise floor)입니다. "같은 품질"의
# 기준(bar): **확산 기준선이 도달하는 최고 품질**(256 스텝에서의 MMD, +10 %). 각 샘플러에 대해 이 기준에 도달하는 데
# 필요한 오일러 스텝 수를 셉니다.

# %%
BANDWIDTHS = (0.05, 0.1, 0.2, 0.5)


def kernel_mean(p, q):
    d2 = torch.cdist(p, q) ** 2
    return sum(torch.exp(-d2 / (2 * bw ** 2)).mean() for bw in BANDWIDTHS).item()


def mmd(x, y, k_yy=None):
    """Squared MMD = E k(x, x') + E k(y, y') − 2 E k(x, y); pass k_yy to reuse the target's term."""
    k_yy = kernel_mean(y, y) if k_yy is None else k_yy
    return kernel_mean(x, x) + k_yy - 2 * kernel_mean(x, y)


K_TT = kernel_mean(target, target)
quality_of = lambda x: mmd(x, target, K_TT)                       # noqa: E731
floor = quality_of(two_moons(N_EVAL, torch.Generator().manual_seed(456)))
STEPS = [1, 2, 4, 8, 16, 32, 64]
samplers = {
    "diffusion (VP)": lambda n: vp_sample(noise, n),
    "rectified flow (1-RF)": lambda n: rf.sample(rf_model, noise, steps=n, progress=False),
    "reflow (2-RF)": lambda n: rf.sample(rf2_model, noise, steps=n, progress=False),
}
quality = {name: [quality_of(f(n)) for n in STEPS] for name, f in tqdm(samplers.items(), desc="measure")}
best_vp = quality_of(vp_sample(noise, 256))
bar = 1.1 * best_vp


def steps_needed(curve):
    return next((n for n, q in zip(STEPS, curve) if q <= bar), None)


needed = {name: steps_needed(curve) for name, curve in quality.items()}
print(f"{N_EVAL} samples each: noise floor {floor:.4f}   diffusion's best (256 steps) {best_vp:.4f}   "
      f"bar {bar:.4f}")
print("steps:".ljust(24), "".join(f"{n:>8}" for n in STEPS))
for name, curve in quality.items():
    print(name.ljust(24), "".join(f"{q:8.4f}" for q in curve), f"   → needs {needed[name]}")

# %%
fig, ax = plt.subplots(figsize=(6, 4))
for name, curve in quality.items():
    ax.plot(STEPS, curve, "o-", label=f"{name}: needs {needed[name]}")
ax.axhline(bar, c="k", ls="--", lw=1, label="bar: diffusion's best +10%")
ax.axhline(floor, c="gray", ls=":", lw=1, label="noise floor")
ax.set_xscale("log", base=2)
ax.set_yscale("log")
ax.set_xlabel("Euler steps (= model evaluations)")
ax.set_ylabel("MMD to target (lower is better)")
ax.legend(fontsize=8)
plt.show()
assert needed["reflow (2-RF)"] is not None and needed["diffusion (VP)"] is not None
assert needed["reflow (2-RF)"] <= 2                                   # straight paths: one or two steps
assert needed["reflow (2-RF)"] < needed["diffusion (VP)"]             # ... fewer than diffusion needs
assert min(quality["rectified flow (1-RF)"]) < best_vp                # RF also trains the better model
print(f"steps to reach the diffusion baseline's best quality: reflow {needed['reflow (2-RF)']}, "
      f"rectified flow {needed['rectified flow (1-RF)']}, diffusion {needed['diffusion (VP)']}")
print(f"best quality reached: rectified flow {min(quality['rectified flow (1-RF)']):.4f}, diffusion "
      f"{best_vp:.4f} (with 256 steps), noise floor {floor:.4f}")

# %% [markdown]
# 적은 스텝에서의 승리는 *곧은* 경로에서 나옵니다. 리플로우를 거치면 오일러 한두 스텝으로 확산 모델의 최고 샘플과
# 맞먹습니다. 평범한 (1-)정류 흐름은 같은 네트워크와 같은 학습 예산으로 더 나은 모델을 학습하지만 — 곡선이 확산
# 기준선의 최고치보다 아래에서 끝납니다 — 그 자체로 적은 스텝의 샘플러는 아닙니다. 경로가 휘기 때문입니다(§8). 왜 VP
# ODE의 경로보다 더 휠까요? 독립적으로 뽑은 쌍에서는 경로의 중간 `(x0 + ε)/2`의 퍼짐이 양 끝보다 작으므로, 경로가
# 먼저 수축했다가 팽창합니다. VP 과정은 분산을 1로 유지하므로, 분산이 1인 데이터에 대해서는 그 ODE가 이미 "제자리에"
# 있는 점들을 거의 움직이지 않습니다. 곧은 조건부 경로는 출발점일 뿐이고, 샘플링 경로를 곧게 만드는 것은 리플로우(또는
# 증류)입니다.
#
# 사전 학습된 CogVideoX는 확산(v-prediction) 모델입니다. `minicog.scheduler`는 그 출력을 정확히 이런 종류의 속도로
# 바꿔 주므로(그 DDIM 샘플러는 정류 흐름의 변수로 쓰면 오일러 *그 자체*입니다), 여기의 정류 흐름 샘플러들로 그 모델도
# 구동할 수 있습니다.
#
# ## 10. Heun 방법: 2차 스텝
# Heun 방법은 스텝 양 끝에서의 기울기를 평균합니다. 스텝마다 모델 평가가 2번이므로, 평가 예산이 같으면 오일러의 절반만큼
# 스텝을 밟습니다. 어느 쪽이 이길까요?

# %%
heun_wins = []
for nfe in (4, 8, 16):
    q_euler = quality_of(rf.sample(rf_model, noise, steps=nfe, progress=False))
    q_heun = quality_of(rf.sample(rf_model, noise, steps=nfe // 2, method="heun", progress=False))
    print(f"{nfe:>2} evaluations: Euler {q_euler:.4f}   Heun {q_heun:.4f}")
    if q_heun < q_euler:
        heun_wins.append(nfe)
print(f"Heun is better at {heun_wins or 'none'} of [4, 8, 16] evaluations")
assert 16 in heun_wins

# %% [markdown]
# Heun 방법의 2차 스텝은 스텝이 충분히 잘게 나뉘면 두 번째 네트워크 호출의 값을 합니다. 평가 16번에서는 오일러를
# 이깁니다. 평가 횟수가 아주 적으면 스텝 수가 오일러의 절반뿐이라, 그래도 이기는지는 학습된 속도장이 얼마나 매끄럽게
# 휘는지에 달려 있습니다.

# %% [markdown]
# ## 11. 역변환: 데이터 → 노이즈 → 데이터
# 같은 ODE를 *위쪽으로* 돌리면(`rf.invert`) 데이터가, 그 데이터를 만들어 냈을 노이즈로 옮겨집니다. 7주차의 편집
# 방법들은 이렇게 역변환한 노이즈에서 출발합니다. 왕복은 적분이 정확한 만큼만 정확하므로, 그 오차는 스텝 수가 늘수록
# 줄어듭니다(Heun 방법이면 더 빠르게).

# %%
data = two_moons(500, torch.Generator().manual_seed(3))
for method in ("euler", "heun"):
    errs = []
    for n in (4, 16, 64):
        z_inv = rf.invert(rf_model, data, steps=n, method=method, progress=False)
        back = rf.sample(rf_model, z_inv, steps=n, method=method, progress=False)
        errs.append((back - data).norm(dim=1).mean().item())
    print(f"{method}: round-trip error with 4 / 16 / 64 steps:", [f"{e:.4f}" for e in errs])
    assert errs[0] > errs[1] > errs[2]
assert errs[2] < 0.01                                             # Heun, 64 steps: almost exact
z_inv = rf.invert(rf_model, data, steps=64, method="heun", progress=False)
print("inverted noise: mean", z_inv.mean(0).numpy().round(2), " std", z_inv.std(0).numpy().round(2))
assert (z_inv.std(0) - 1).abs().max() < 0.3                       # looks like N(0, I) again

# %% [markdown]
# ODE는 양방향으로 돌아갑니다. t = 1까지 역변환한 데이터는 표준 노이즈처럼 보이고, 거기서 샘플링하면 데이터로
# 돌아옵니다. 적분이 세밀할수록 더 정확하며, Heun 방법으로 64 스텝이면 거의 정확합니다. 7주차에서는 이렇게 역변환한
# 노이즈에서 출발해 비디오를 편집합니다.

# %% [markdown]
# ## 12. 타임스텝 시프트: 스텝을 어디에 쓸 것인가 (SD3, FLUX)
# 큰 이미지와 긴 비디오에는 토큰이 많습니다. 그 토큰들에 걸쳐 평균하면 노이즈가 지워지므로, 같은 t에서도 2D 점
# 하나보다 "노이즈가 덜 낀" 것처럼 보입니다. SD3는 t를 노이즈 쪽 끝으로 밀어 줍니다.
# `t' = shift·t / (1 + (shift − 1)·t)`이며, 학습할 때의 t 샘플링과 샘플링 격자 모두에 적용합니다. FLUX는 토큰 수로부터
# 시프트 값을 고릅니다(`rf.resolution_shift`). `rf.timesteps`가 격자를 만듭니다.

# %%  NBVAL_CHECK_OUTPUT
for shift in (1.0, 3.0):
    print(f"shift {shift}:", [round(v, 3) for v in rf.timesteps(8, shift=shift).tolist()])
for tokens in (256, 1024, 4096):
    print(f"{tokens:>5} tokens → FLUX shift {rf.resolution_shift(tokens, mode='flux'):.3f}, "
          f"SD3 shift {rf.resolution_shift(tokens, mode='sd3'):.2f}")
assert (rf.timesteps(8, shift=3.0) > 0.5).sum() > (rf.timesteps(8, shift=1.0) > 0.5).sum()

# %% [markdown]
# 1보다 큰 시프트는 스텝을 높은 노이즈 구간에 더 많이 배치합니다. 큰 이미지나 비디오의 대략적인 구도가 결정되는 곳이
# 바로 그 구간입니다. 그리고 샘플의 토큰이 많을수록 FLUX와 SD3는 더 큰 시프트를 고릅니다.

# %% [markdown]
# ## 요약
# * **경로**: `x_t = (1 − t)·x0 + t·ε`(t = 0 데이터, t = 1 노이즈). **목표인 속도**: `v = ε − x0`. **손실**:
#   `rf.rf_loss`(균등 또는 로짓 정규 분포의 t, 선택적인 시프트와 마스크 가중치) — 평범한 회귀입니다.
# * **샘플링**: `rf.sample(model, noise, cond, uncond, steps=, guidance=, method="euler"|"heun", shift=)`은 t = 1에서
#   0까지 적분합니다. 분류기 없는 가이던스(classifier-free guidance, CFG)는 평가마다 모델 호출 한 번으로 배치 처리되며,
#   스텝마다 부르는 콜백과 진행 표시줄이 있습니다.
# * 두 개의 달에서 **측정한 결과**: 리플로우로 곧게 편 경로는 오일러 한두 스텝만으로 확산 기준선의 최고 품질에
#   도달하며, 이는 확산에 필요한 스텝 수보다 적습니다. 평범한 정류 흐름은 더 나은 모델을 학습하지만 리플로우 전까지
#   경로가 휘어 있으므로, 그 자체로는 적은 스텝의 샘플러가 아닙니다. Heun 방법은 스텝마다 모델 호출 두 번을 들여 2차
#   스텝을 밟으며, 호출 횟수가 충분히 많아지면 같은 호출 횟수에서 오일러를 이깁니다.
# * **역변환**: `rf.invert`는 같은 ODE를 데이터에서 노이즈로 돌립니다. 왕복 오차는 스텝 수에 따라 줄어듭니다.
#   7–8주차 편집의 바탕입니다.
# * **타임스텝 시프트**: `rf.timesteps(n, shift=...)`는 SD3와 FLUX가 토큰이 많을 때 하듯, 샘플링 격자를 노이즈 쪽
#   끝으로 옮깁니다.

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
# **예측한 뒤 실행하기.** 점 하나, `x0 = (1, 1)`만으로 이루어진 데이터셋을 생각합시다. 이 데이터의 가장 좋은
# 속도장은 정확히 알려져 있고(데이터 점이 하나일 때의 라이브 데모 공식), 이 속도장이 만드는 경로는 모두 노이즈 점에서
# x0로 가는 직선입니다. 노이즈 점 1000개를 t = 1에서 t = 0까지 오일러 스텝 **한 번**으로 샘플링하면,
# 평균적으로 x0에서 얼마나 떨어진 곳에 도착할까요? 여러분의 추측을 `prediction()`에 적으세요(답했는지만 채점하고,
# 맞았는지는 채점하지 않습니다). 확인 셀 다음 셀이 실험을 실행하고 그 결과를 여러분의 추측 옆에 출력합니다.

# %% [nbgrader solution id=prediction]
def prediction():
    ### BEGIN SOLUTION
    return 0.0
    ### END SOLUTION

# %% [nbgrader check id=check_prediction points=1]
cw.check_prediction(prediction)

# %%
from minicog import rectified_flow as rf


def ideal_field(points):
    """The exact velocity field for a data set of a few points (the live demo's formula)."""
    def velocity(x, t, cond=None):
        t = t[:, None]                                                        # (N, 1)
        d2 = ((x[:, None] - (1 - t[:, :, None]) * points) ** 2).sum(-1)       # (N, points)
        return (x - (-d2 / (2 * t ** 2)).softmax(-1) @ points) / t

    return velocity


noise_pts = torch.randn(1000, 2, generator=torch.Generator().manual_seed(0))
x0_point = torch.tensor([[1.0, 1.0]])
landed = rf.sample(ideal_field(x0_point), noise_pts, steps=1, progress=False)
measured = round((landed - x0_point).norm(dim=1).mean().item(), 6)
if cw.show_prediction(prediction, measured, "mean distance from x0 after one Euler step"):
    pair = torch.tensor([[2.0, 0.0], [-2.0, 0.0]])                            # two points: the paths bend
    for steps in (1, 64):
        out = rf.sample(ideal_field(pair), noise_pts, steps=steps, progress=False)
        print(f"two data points (±2, 0), {steps} Euler step{'s' * (steps > 1)}: the samples land "
              f"{torch.cdist(out, pair).min(1).values.mean().item():.3f} from the nearest one on average")

# %% [markdown]
# **과제 2.1 — 경로 (1점).** `interpolate(x0, noise, t)` = `x_t = (1 − t)·x0 + t·ε`를 작성하세요.
# `t`는 float이거나, 샘플마다 시간이 하나씩인 `(B,)` 텐서입니다(B = `x0.shape[0]`). `(B,)` 모양의 t는 x0의 나머지
# 차원이 몇 개이든 그 모든 차원에 걸쳐 브로드캐스트되어야 합니다.

# %% [nbgrader solution id=interpolate]
def interpolate(x0, noise, t):
    ### BEGIN SOLUTION
    t = torch.as_tensor(t, dtype=x0.dtype)
    if t.ndim:
        t = t.reshape(-1, *([1] * (x0.ndim - 1)))
    return (1 - t) * x0 + t * noise
    ### END SOLUTION

# %% [nbgrader check id=check_interpolate points=1]
cw.check_interpolate(interpolate)

# %% [markdown]
# **과제 2.2 — 정류 흐름 손실 (2점).** `rf_loss(model, x0, noise, t)`를 작성하세요. 배치
# 하나의 학습 손실로, §3에서 속도 네트워크를 학습하며 최소화한 바로 그 값입니다. `model(x, t)`는 속도
# 모델입니다(x는 `x0`와 같은 모양이고, t는 샘플마다 시간이 하나씩인 `(B,)` 텐서입니다). `x0`는 임의의 모양
# `(B, ...)`을 가진 깨끗한 샘플 B개, `noise`는 샘플마다 하나씩인 같은 모양의 노이즈, `t`는 각 샘플을
# 학습하는 [0, 1] 사이의 시간 `(B,)`입니다. 각 샘플을 그 데이터 점에서 그 노이즈로 가는 직선 경로 위, 자기
# 시간의 위치에 놓고(t = 0이 데이터, t = 1이 노이즈입니다. 여러분의 `interpolate`가 도움이 될 수
# 있습니다), 그 위치에서 모델이 내놓는 속도가 그 점이 경로를 따라 움직이는 속도와 얼마나 다른지 재세요. 배치 전체에 대해
# 숫자 하나, 곧 모든 원소에 대한 평균 제곱 오차를 반환하되, 학습이 `.backward()`를 호출할 수 있는 텐서로
# 반환하세요. 확인 셀은 작은 장난감 모델에서 minicog 자체의 손실과 비교합니다. `rf.rf_loss`나
# `rf.velocity_target`을 호출하는 답은 인정되지 않습니다.

# %% [nbgrader solution id=rf_loss]
def rf_loss(model, x0, noise, t):
    ### BEGIN SOLUTION
    t_b = t.reshape(-1, *([1] * (x0.ndim - 1)))               # (B, 1, ...): broadcasts over each sample
    x_t = (1 - t_b) * x0 + t_b * noise                        # the point on the straight path at time t
    v = noise - x0                                            # its velocity d x_t / dt, constant on the path
    return ((model(x_t, t) - v) ** 2).mean()
    ### END SOLUTION

# %% [nbgrader check id=check_rf_loss points=2]
cw.check_rf_loss(rf_loss)

# %% [markdown]
# **과제 2.3 — 오일러 스텝 (1점).** 속도장 `velocity(x, t)`에 대해 `euler_step(velocity, x, t, t_next)`를 작성하세요.
# `t`에서 `t_next`까지 `dx/dt = v(x, t)`의 오일러 스텝 한 번입니다(방향은 어느 쪽이든 됩니다. 샘플링은 내려가고,
# 역변환은 올라갑니다).

# %% [nbgrader solution id=euler_step]
def euler_step(velocity, x, t, t_next):
    ### BEGIN SOLUTION
    return x + (t_next - t) * velocity(x, t)
    ### END SOLUTION

# %% [nbgrader check id=check_euler_step points=1]
cw.check_euler_step(euler_step)

# %% [markdown]
# **과제 2.4 — Heun 스텝 (2점).** `heun_step(velocity, x, t, t_next)`를 작성하세요. 오일러 스텝으로 예측하고, 예측한
# 점과 `t_next`에서 속도를 다시 평가한 다음, 두 기울기의 평균으로 `x`에서 스텝을 밟습니다(§10).

# %% [nbgrader solution id=heun_step]
def heun_step(velocity, x, t, t_next):
    ### BEGIN SOLUTION
    dt = t_next - t
    v = velocity(x, t)
    v_next = velocity(x + dt * v, t_next)
    return x + dt * (v + v_next) / 2
    ### END SOLUTION

# %% [nbgrader check id=check_heun_step points=2]
cw.check_heun_step(heun_step)
