# %% [markdown]
# # Week 2 — Rectified flow: learn the denoising process as a velocity
#
# Lecture: *"Rectified flow — learn the denoising process as a velocity; adopted by FLUX; used by
# FlowDirector."* A diffusion model turns noise into data step by step. Rectified flow (Liu et al.
# 2022; Lipman et al. 2023 call it flow matching; SD3 and FLUX train with it) makes the recipe as
# simple as it gets:
#
# * connect each data point `x0` and each noise sample `ε` by a **straight line**
#   `x_t = (1 − t)·x0 + t·ε` — in `minicog`, **t = 0 is data and t = 1 is noise**, always;
# * teach a network the **velocity** along that line, `v = dx_t/dt = ε − x0`, by plain regression;
# * to generate, start from noise at t = 1 and integrate `dx/dt = v(x, t)` back to t = 0.
#
# We do it all on a 2D toy that trains in seconds on a CPU.
#
# **In this lecture / 이번 강의에서 배울 것**
# 1. **정류 흐름 (rectified flow)** — the straight 경로 (path), the 속도 (velocity) target and the loss,
#    and the 샘플러 (sampler), from scratch, then with `minicog.rectified_flow`;
# 2. the learned **속도장 (velocity field)** (with a slider over t) and **오일러 (Euler)** trajectories
#    with 1, 2, 4, 32 steps;
# 3. a **확산 (diffusion, DDPM / VP)** baseline with the same network, and **리플로우 (reflow)** — the
#    "rectified" in the name;
# 4. **measured**: how many Euler steps each needs for the same sample quality, and
#    **Heun 방법 (Heun's method)**, a second-order step;
# 5. **역변환 (inversion)**: data → noise → data, and the SD3/FLUX **타임스텝 시프트 (timestep shift)**, which
#    the video models use.

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
# ## A minute of live demo
# Generating is integrating a velocity field from noise (t = 1) to data (t = 0). For a small set of
# data points the best possible field has a closed form — at a point `x` and time `t`, head away from
# the average data point that could have produced `x` on a straight line:
# `v(x, t) = (x − E[x₀ | x_t = x]) / t` — so we can sample without training anything: 1000 noise
# points follow it through 20 Euler steps of `rf.sample`. Look at the snapshots: the cloud first
# shrinks towards the middle, then splits, and every point lands on one of the eight clusters. The
# rest of the week trains a network to approximate this field where no closed form exists.

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
# ## 1. The data: two moons
# Two interleaved half-circles with a little noise, scaled to roughly unit variance (like the
# noise it will be generated from).

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
# The data have about the noise's spread on each axis, so noise and data live on the same scale and
# the straight lines between them are neither very long nor very short.
#
# ## 2. The path and its velocity, from scratch
# Pick a data point and a noise point and walk the straight line between them. Its derivative in t
# is the constant `ε − x0`: that is the regression target. For comparison we also draw the path of
# a variance-preserving diffusion (DDPM/VP): `x_t = a_t·x0 + b_t·ε` with `a² + b² = 1` — an arc
# (a quarter of an ellipse), not a line.

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
# Rectified flow's path from a data point to its noise is exactly straight, so its velocity is one
# constant vector — the easiest possible regression target; the VP path between the same two points
# is an arc, with a velocity that changes along the way.
#
# ## 3. The loss, from scratch and with the package
# `loss = ‖f(x_t, t) − (ε − x0)‖²` averaged over data, noise and t. The network is a small MLP that
# also sees a few sinusoidal features of t.

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
# Training is a few thousand Adam steps on fresh two-moons batches. `rf_loss` draws t (uniformly
# here; SD3 prefers a logit-normal, `sampler="logit_normal"`) and the noise itself.

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
# The loss falls quickly and then levels off well above zero. Why doesn't it go to zero? Many
# straight lines pass through the same point `x_t` (different `x0`, `ε` pairs); the best the network
# can do is predict their *average* direction `E[ε − x0 | x_t]`. That average field is what we
# integrate.

# %% [markdown]
# ## 4. Sampling = integrating the ODE (Euler), from scratch and with the package
# Start at t = 1 with noise and take steps `x ← x + (t_next − t)·v(x, t)`; `dt` is negative.

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
# The sampler is a three-line loop, the same numbers as `rf.sample` (asserted): eight Euler steps
# through the learned field carry the noise onto the two moons. §9 measures how close.
#
# ## 5. The learned velocity field
# The arrows and stream lines show `−v(x, t)`, the direction a sample moves in as we integrate
# towards t = 0, at four times.

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
# Drag the slider to move through time (in a live notebook; the figure shows t = 0.5 until you do).

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
# The learned field is a *time-dependent* map: near t = 1 it points every sample back towards the
# data's middle, and only as t approaches 0 does it split the samples between the moons — the same
# shrink-then-split the live demo showed with the ideal field.

# %% [markdown]
# ## 6. Euler with 1, 2, 4 and 32 steps
# `sample` takes a `callback(i, t, x, v)` after every step — here it records the trajectories.
# With **one** step, Euler jumps to `x1 − v(x1, 1)` = the predicted mean of the data: one step
# cannot follow a path that bends. With a few more steps the samples land on the moons.

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
# One Euler step collapses the samples towards the data's middle, far narrower than the data: the
# learned paths bend, and a single straight step cannot follow a bend. A handful of steps already
# spreads the samples onto the moons, and more steps refine them.

# %% [markdown]
# ## 7. A diffusion baseline: DDPM in continuous time (VP-SDE)
# Same network, same data, same number of training steps, but the classic recipe (Ho et al. 2020;
# Song et al. 2021): `x_t = a_t·x0 + σ_t·ε` with `a_t² = exp(−∫β)`, `β(t)` linear from 0.1 to 20
# (DDPM's schedule in continuous time), and the network predicts the noise ε.
# Generation integrates the *probability-flow ODE* `dx/dt = −½β(t)·(x − ε̂(x, t)/σ_t)` — plugged into
# the very same `rf.sample` Euler integrator (it only needs *some* velocity field).

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
# ## 8. Reflow: making the paths straight
# The learned RF paths above are *not* straight: lines from different (x0, ε) pairs cross, and the
# network averages them, so the marginal paths bend (towards the mean first, then out to the moons).
# Liu et al.'s fix, **reflow**: sample pairs (noise z, generated x̂0 = ODE(z)) with the trained flow and
# train again on straight lines between *these* pairs. They do not cross (an ODE's paths never do),
# so the new flow ("2-rectified flow") moves almost in straight lines. `rf_loss` takes the paired
# noise directly.

# %%
z_pairs = torch.randn(8192, 2, generator=torch.Generator().manual_seed(11))
x_pairs = rf.sample(rf_model, z_pairs, steps=16, method="heun", progress=False)   # 32 evaluations


def reflow_loss(net):
    idx = torch.randint(0, len(z_pairs), (512,), generator=gen)
    return rf.rf_loss(net, x_pairs[idx], noise=z_pairs[idx], generator=gen)


rf2_model, _ = train(reflow_loss, iters=ITERS // 2, init=rf_model, lr=1e-3, desc="reflow")

# %% [markdown]
# Trajectories of the three flows from the same 300 noise points (64 Euler steps), and their
# **straightness**: path length / distance between the end points (1 = a straight line).

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
# Straight *training* paths do not make straight *sampling* paths: the network learns an average
# over crossing lines, and plain rectified flow's paths bend. Reflow, trained on pairs that the flow
# itself connects, straightens them almost to lines.

# %% [markdown]
# ## 9. Measured: how many Euler steps for the same quality?
# Quality = **MMD** (maximum mean discrepancy, RBF kernels at 4 bandwidths) between generated
# points and as many held-out target points; lower is better, and two independent target samples give
# the noise floor. The bar for "the same quality": **the best the diffusion baseline ever gets**
# (its 256-step MMD, +10 %). For each sampler we count the Euler steps needed to reach that bar.

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
# The few-step win comes from *straight* paths: after reflow, one or two Euler steps match the
# diffusion model's best samples. Plain (1-)rectified flow, with the same network and training
# budget, learns the better model — its curve ends below the diffusion baseline's best — but it is not
# by itself a few-step sampler: its paths bend (§8). Why do they bend more than the VP ODE's? With
# independently drawn pairs the middle of the path, `(x0 + ε)/2`, has a smaller spread than either
# end, so paths first contract and then expand; the VP process keeps the variance at 1, so for
# unit-variance data its ODE barely moves points that are already "in place". Straight conditional
# paths are the starting point; reflow (or distillation) is what makes the sampling paths straight.
#
# Pretrained CogVideoX is a diffusion (v-prediction) model; `minicog.scheduler` converts its outputs
# into exactly this kind of velocity (its DDIM sampler *is* Euler in rectified-flow variables), so the
# RF samplers here also drive it.
#
# ## 10. Heun: a second-order step
# Heun averages the slope at both ends of the step: 2 model evaluations per step, so at a fixed
# budget of evaluations it takes half as many steps as Euler. Which wins?

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
# Heun's second-order step pays for its second network call once the steps are fine enough: at 16
# evaluations it beats Euler. With very few evaluations it has only half as many steps as Euler, and
# whether it still wins depends on how smoothly the learned field bends.

# %% [markdown]
# ## 11. Inversion: data → noise → data
# Running the same ODE *upwards* (`rf.invert`) maps data to the noise it would have come from. The
# editing methods of week 7 start from such inverted noise. The round trip is only as exact as the
# integration, so its error shrinks with the number of steps (faster with Heun).

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
# The ODE runs both ways: data inverted to t = 1 looks like standard noise, and sampling from it
# returns the data, more exactly the finer the integration — with Heun and 64 steps, almost exactly.
# Week 7 edits videos by starting from such inverted noise.

# %% [markdown]
# ## 12. Time shift: where to spend the steps (SD3, FLUX)
# Big images and long videos have many tokens; averaging over them removes noise, so at a given t
# they look "less noisy" than a 2D point does. SD3 shifts time towards the noise end,
# `t' = shift·t / (1 + (shift − 1)·t)`, both for training-time sampling and for the sampling grid;
# FLUX picks the shift from the number of tokens (`rf.resolution_shift`). `rf.timesteps` builds the grid.

# %%  NBVAL_CHECK_OUTPUT
for shift in (1.0, 3.0):
    print(f"shift {shift}:", [round(v, 3) for v in rf.timesteps(8, shift=shift).tolist()])
for tokens in (256, 1024, 4096):
    print(f"{tokens:>5} tokens → FLUX shift {rf.resolution_shift(tokens, mode='flux'):.3f}, "
          f"SD3 shift {rf.resolution_shift(tokens, mode='sd3'):.2f}")
assert (rf.timesteps(8, shift=3.0) > 0.5).sum() > (rf.timesteps(8, shift=1.0) > 0.5).sum()

# %% [markdown]
# A shift above 1 puts more of the steps at high noise, where the coarse layout of a large image or
# video is decided, and the more tokens a sample has, the larger the shift FLUX and SD3 choose.

# %% [markdown]
# ## Summary / 요약
# * **Path (경로)**: `x_t = (1 − t)·x0 + t·ε` (t = 0 data, t = 1 noise); **target, the velocity
#   (속도)**: `v = ε − x0`; **loss**: `rf.rf_loss` (uniform or logit-normal t, optional shift and
#   mask weights) — plain regression.
# * **Sampling (샘플링)**: `rf.sample(model, noise, cond, uncond, steps=, guidance=, method="euler"|"heun", shift=)`
#   integrates from t = 1 to 0, with classifier-free guidance batched into one model call per
#   evaluation, a per-step callback and a progress bar.
# * **Measured** on two moons: reflowed (straight) paths reach the diffusion baseline's best quality
#   in one or two Euler steps, fewer than diffusion needs; plain rectified flow trains the better
#   model but its paths stay curved until reflow, so it is not by itself a few-step sampler.
#   Heun's method (Heun 방법) spends two model calls per step for a second-order step, and beats
#   Euler at the same number of calls once there are enough of them.
# * **Inversion (역변환)**: `rf.invert` runs the same ODE from data to noise; the round trip's error
#   shrinks with the number of steps — the basis of the editing weeks 7–8.
# * **Timestep shift (타임스텝 시프트)**: `rf.timesteps(n, shift=...)` moves the sampling grid towards the noise
#   end, as SD3 and FLUX do for many tokens.

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
# **Predict, then run.** Take a data set of a single point, `x0 = (1, 1)`. Its best velocity field is
# known exactly — the live demo's formula with one data point — and every path it makes is a straight
# line from a noise point to x0. Sample 1000 noise points with **one** Euler step from t = 1 to t = 0:
# on average, how far from x0 do they land? Write your guess in `prediction()` (graded only on being
# answered, not on being right); the cell after the check runs the experiment and prints the result
# beside your guess.

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
# **Exercise 2.1 — the path (1 point).** Write `interpolate(x0, noise, t)` = `x_t = (1 − t)·x0 + t·ε`.
# `t` is a float or a `(B,)` tensor with one time per sample (B = `x0.shape[0]`); a `(B,)` t must
# broadcast over all of x0's other dimensions, whatever their number.

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
# **Exercise 2.2 — the rectified-flow loss (2 points).** Write `rf_loss(model, x0, noise, t)`: the
# training loss of one batch, the number §3 minimised to train the velocity network. `model(x, t)` is a
# velocity model (x shaped like `x0`, t a `(B,)` tensor with one time per sample); `x0` holds B clean
# samples of any shape `(B, ...)`, `noise` a noise sample of the same shape for each, and `t` the `(B,)`
# times in [0, 1] at which they are trained. Put each sample at its time on the straight path from its
# data point to its noise (t = 0 is data, t = 1 is noise; your `interpolate` may help), and score how far
# the model's velocity there is from the velocity with which that point moves along its path. Return one
# number for the batch — the mean squared error over every element — as a tensor that training can call
# `.backward()` on. The check compares it with minicog's own loss on small toy models; calling
# `rf.rf_loss` or `rf.velocity_target` does not count.

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
# **Exercise 2.3 — an Euler step (1 point).** Write `euler_step(velocity, x, t, t_next)` for a velocity
# field `velocity(x, t)`: one Euler step of `dx/dt = v(x, t)` from `t` to `t_next` (either direction:
# sampling goes down, inversion goes up).

# %% [nbgrader solution id=euler_step]
def euler_step(velocity, x, t, t_next):
    ### BEGIN SOLUTION
    return x + (t_next - t) * velocity(x, t)
    ### END SOLUTION

# %% [nbgrader check id=check_euler_step points=1]
cw.check_euler_step(euler_step)

# %% [markdown]
# **Exercise 2.4 — a Heun step (2 points).** Write `heun_step(velocity, x, t, t_next)`: predict with an
# Euler step, evaluate the velocity again at the predicted point and `t_next`, and step from `x` with the
# average of the two slopes (§10).

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
