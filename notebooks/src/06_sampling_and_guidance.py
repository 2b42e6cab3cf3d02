# %% [markdown]
# # Week 6 — Sampling and guidance: steps, CFG, Euler vs Heun, timestep shift, measured
#
# The tiny text-to-video model predicts a **velocity** `v(x_t, t, c)`; sampling integrates
# `dx/dt = v` from noise (t = 1) to data (t = 0) (week 2). Two knobs decide quality and cost:
#
# - **steps** — how finely we integrate the ODE (cost = steps × model calls);
# - **classifier-free guidance (CFG)** — run the model with the prompt *and* with the empty prompt
#   and extrapolate: `v = v_uncond + g · (v_cond − v_uncond)` (Ho & Salimans 2022). g = 1 is plain
#   conditional sampling; larger g follows the prompt harder.
#
# The Shapes oracle turns "does the video obey the prompt?" into a number, so we can sweep both
# knobs and *plot* the answer instead of eyeballing samples.
#
# **In this lecture / 이번 강의에서 배울 것**
# 1. a **샘플러 (sampler)** from scratch: Euler steps with **분류기 없는 가이던스 (classifier-free
#    guidance, CFG)**, checked against `pipe.generate`;
# 2. **가이던스 스케일 (guidance scale)** and **스텝 수 (number of steps)**, scored by the oracle;
# 3. **오일러 vs 휜 (Euler vs Heun)** at equal cost — the same number of 모델 평가 (model evaluations,
#    NFE);
# 4. the **타임스텝 시프트 (timestep shift)**: where on [0, 1] the steps go;
# 5. the video model's **속도장 (velocity field)** in latent space: sampling 궤적 (trajectories) and how
#    straight they are;
# 6. the model's running guess of the clean video, x̂0, along one trajectory.

# %%
import time
import numpy as np
import torch
import matplotlib.pyplot as plt
from tqdm.auto import tqdm

import minicog
from minicog import shapes, video
from minicog.rectified_flow import sample, timesteps
from minicog.utils import FAST, seed_everything

seed_everything(0)
torch.set_num_threads(2)
pipe = minicog.load_pipeline("tiny", device="cpu")
print(pipe)

# %% [markdown]
# ## 1. A sampler from scratch
# Euler with CFG is five lines: evaluate the velocity for the prompt and for the empty prompt in one
# batch, mix them, and take a step `x ← x + (t_next − t) · v`. We check it against the package.

# %%
prompt = "a green triangle moving down on a black background"
z = pipe.noise(seed=0)                                           # (1, C, T, h, w)
emb, mask = pipe.encode_prompt([prompt, ""])
g, n_steps = 4.0, 10
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
video.show_video([ours, theirs], ["from scratch", "pipe.generate"])

# %% [markdown]
# ## 2. Guidance and steps, scored by the oracle
# Each cell of the sweep generates the same prompts with the same seeds and asks the oracle how many
# came out with every attribute right. The default sweep (24 prompts) takes about two minutes on a
# laptop CPU; `LONG = True` runs 108 prompts and more settings (about ten minutes).

# %%
LONG = False                     # True: the full sweep (108 prompts, more settings; ~10 min on a CPU)
combos = shapes.all_combinations()
rng = np.random.default_rng(0)
n_prompts = 12 if FAST else (108 if LONG else 24)
pick = rng.choice(len(combos), n_prompts, replace=False)
prompts = [shapes.caption(**combos[i]) for i in pick]
seeds = [10_000 + i for i in range(n_prompts)]

def accuracy(**kw):
    vids = pipe.generate(prompts, seed=seeds, **kw)
    return shapes.evaluate(vids, prompts)

guidances = [1.0, 1.5, 2.0, 3.0, 4.0, 5.5, 7.0, 10.0] if LONG else [1.0, 2.0, 4.0, 7.0]
cfg_acc = {}
for gs in tqdm(guidances, desc="guidance sweep"):
    cfg_acc[gs] = accuracy(steps=10, guidance=gs)

step_list = [1, 2, 3, 5, 10, 20, 40] if LONG else ([1, 2, 5, 10] if FAST else [1, 2, 5, 10, 20])
step_acc = {}
for s in tqdm(step_list, desc="step sweep"):
    step_acc[s] = accuracy(steps=s, guidance=pipe.config.guidance)

fig, ax = plt.subplots(1, 2, figsize=(9, 3))
ax[0].plot(guidances, [cfg_acc[g].prompt_accuracy for g in guidances], "o-", label="all attributes")
for a in shapes.ATTRIBUTES:
    ax[0].plot(guidances, [cfg_acc[g].per_attribute[a] for g in guidances], ".--", alpha=.6, label=a)
ax[0].set_xlabel("guidance scale g"); ax[0].set_ylabel("oracle accuracy"); ax[0].set_title("CFG sweep (10 Euler steps)")
ax[0].legend(fontsize=7); ax[0].set_ylim(0, 1.05)
ax[1].plot(step_list, [step_acc[s].prompt_accuracy for s in step_list], "o-")
ax[1].set_xscale("log"); ax[1].set_xlabel("Euler steps"); ax[1].set_title(f"step sweep (g={pipe.config.guidance})")
ax[1].set_ylim(0, 1.05)
plt.tight_layout()
print({g: round(r.prompt_accuracy, 2) for g, r in cfg_acc.items()})
print({s: round(r.prompt_accuracy, 2) for s, r in step_acc.items()})
best_g = max(cfg_acc, key=lambda g: cfg_acc[g].prompt_accuracy)
best_s = max(r.prompt_accuracy for r in step_acc.values())
enough = min(s for s in step_list if step_acc[s].prompt_accuracy >= best_s - 0.05)
print(f"guidance: best g = {best_g} ({cfg_acc[best_g].prompt_accuracy:.2f}) vs unguided g = 1 "
      f"({cfg_acc[1.0].prompt_accuracy:.2f})")
print(f"steps: {enough} Euler steps already reach within 0.05 of the best accuracy of the sweep ({best_s:.2f})")
# guidance helps: the best guided setting beats unguided sampling; one step is not enough
assert max(r.prompt_accuracy for g, r in cfg_acc.items() if g > 1) >= cfg_acc[1.0].prompt_accuracy
assert step_acc[step_list[-1]].prompt_accuracy > step_acc[1].prompt_accuracy

# %% [markdown]
# The printed lines read the two curves: which guidance scale the oracle likes best, and how few Euler
# steps already come close to the best accuracy. The step sweep is also a test of straightness: a
# straight path is integrated exactly by a single Euler step, so if one or two steps score far
# below ten, the sampling paths bend. That is what week 2 measured for plain rectified flow (only
# reflow straightens the paths), and the tiny model is plain rectified flow: how many steps suffice
# is read off this curve, not deduced from the training objective.
#
# ## 3. Euler vs Heun at equal cost
# Heun (2nd order) evaluates the model twice per step, so compare at the same number of model
# evaluations (NFE).

# %%
nfes = [2, 4, 6, 10, 20] if LONG else [2, 4, 10]
euler = [accuracy(steps=n, guidance=pipe.config.guidance, method="euler").prompt_accuracy for n in tqdm(nfes, desc="euler")]
heun = [accuracy(steps=max(1, n // 2), guidance=pipe.config.guidance, method="heun").prompt_accuracy for n in tqdm(nfes, desc="heun")]
plt.figure(figsize=(4, 3))
plt.plot(nfes, euler, "o-", label="Euler"); plt.plot(nfes, heun, "s-", label="Heun")
plt.xlabel("model evaluations (NFE)"); plt.ylabel("oracle accuracy"); plt.legend(); plt.ylim(0, 1.05)
print("Euler:", euler, "Heun:", heun)
for verdict, keep in (("beats", lambda e, h: h > e), ("ties", lambda e, h: h == e), ("loses to", lambda e, h: h < e)):
    print(f"Heun {verdict} Euler at NFE:", [n for n, e, h in zip(nfes, euler, heun) if keep(e, h)])

# %% [markdown]
# ## 4. Where the steps go: the timestep shift
# The Euler grid need not be even in t. SD3 (Esser et al. 2024, §5.3.2) maps each time of an even
# grid through `t' = s·t / (1 + (s − 1)·t)` (`rectified_flow.shift_time`): with s > 1 more of the
# steps fall near the noise end, where the layout of the video — which shape is drawn where — is
# decided, and fewer near t = 0, where only detail changes. The shipped model's sampling defaults,
# `pipe.config.shift` and `pipe.config.guidance`, were picked after training on tuning seeds and
# measured once on the benchmark's (docs/training.md, "Sampling defaults"); below, the grids, and the
# oracle on a few two-object prompts with the same seeds at each shift.

# %%
shifts = [1.0, 2.0, 3.0]
n_two = 8 if FAST else 60
prompts_two = [s.caption() for s in shapes.sample_scenes(n_two, seed=3)]
seeds_two = [20_000 + i for i in range(n_two)]
shift_acc = {s: shapes.evaluate(pipe.generate(prompts_two, seed=seeds_two, shift=s), prompts_two)
             for s in tqdm(shifts, desc="shift sweep")}
fig, ax = plt.subplots(1, 2, figsize=(9, 3))
for s in shifts:
    ax[0].plot(timesteps(10, s).numpy(), "o-", ms=3, label=f"shift {s}")
ax[0].set_xlabel("step"); ax[0].set_ylabel("t"); ax[0].set_title("10-step grids"); ax[0].legend()
ax[1].bar([str(s) for s in shifts], [shift_acc[s].prompt_accuracy for s in shifts])
ax[1].set_xlabel("shift"); ax[1].set_ylim(0, 1.05)
ax[1].set_title(f"{n_two} two-object prompts, g = {pipe.config.guidance}, {pipe.config.steps} steps")
plt.tight_layout()
print(f"shipped defaults: shift {pipe.config.shift}, guidance {pipe.config.guidance}, {pipe.config.steps} Euler steps")
print("two-object prompts fully right:", {s: f"{r.prompt_accuracy:.0%}" for s, r in shift_acc.items()})
print("steps above t = 0.5 of 10:", {s: int((timesteps(10, s)[:-1] > 0.5).sum()) for s in shifts})

# %% [markdown]
# A handful of prompts cannot separate settings a few points apart (one prompt here is
# 100/`n_two` points): the choice of the default rests on the 300-prompt measure in the docs. What the
# grids show holds whatever the model: the shift moves steps to high noise without costing any.
#
# ## 5. The velocity field of the video model, in latent space
# A latent video is a point in a 2,560-dimensional space (C × T × h × w). We record sampling
# trajectories of one prompt from several seeds, project them onto their first two principal
# components, and draw the velocity at each step as an arrow. A 2-D projection can make a bent path
# look straight (or the other way round), so we also print week 2's **straightness** in the full
# space: path length / distance between the end points (1 = a straight line). Compare it with the
# step sweep of §2: over all 2,560 dimensions the path's length is mostly the noise being removed,
# so this ratio can sit near 1 even when the part that decides the video's content bends enough
# that one Euler step fails — the step sweep is the measure that counts for sampling.

# %%
n_traj = 6 if FAST else 16
traj, vels, straight = [], [], []
emb1, mask1 = emb[:1], mask[:1]              # the prompt, padded like the empty prompt emb[1:]
for s in range(n_traj):
    z0 = pipe.noise(100 + s)
    xs, vs = [z0.flatten()], []
    def record(i, t, x, v):
        xs.append(x.flatten()); vs.append(v.flatten())
    sample(pipe.velocity_model, z0, (emb1, mask1), steps=10, guidance=1.0,
           callback=record, progress=False)
    traj.append(torch.stack(xs[1:])); vels.append(torch.stack(vs))
    path = torch.stack(xs)                                   # (steps + 1, D), noise first
    straight.append(float((path[1:] - path[:-1]).norm(dim=1).sum() / (path[-1] - path[0]).norm()))
X = torch.cat(traj); V = torch.cat(vels)
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
plt.title("sampling trajectories (PCA of latents)"); plt.xlabel("PC 1"); plt.ylabel("PC 2")
print(f"straightness of the {n_traj} paths (full latent space, 10 Euler steps): "
      f"mean {np.mean(straight):.2f}, range {min(straight):.2f}–{max(straight):.2f}  (1 = straight)")

# %% [markdown]
# Along one guided trajectory we now decode two things at a few times t: the state x_t itself
# (mostly noise early on) and the model's current guess of the clean video,
# `x̂0 = x_t − t · v(x_t, t)`, with v the guided velocity the model predicts at that state. The
# columns are video frames; the rows are diffusion times.

# %%
xs_one = []
def keep(i, t, x, v):
    xs_one.append((float(t), x.clone()))                    # the state x_t after step i
sample(pipe.velocity_model, pipe.noise(0), (emb1, mask1), steps=10, guidance=pipe.config.guidance,
       uncond=(emb[1:], mask[1:]), callback=keep, progress=False)
g = pipe.config.guidance
rows, captions = [], []
with torch.no_grad():
    for t, x in xs_one[::3][:3]:                             # t = 0.9, 0.6, 0.3
        v_c, v_u = pipe.velocity(torch.cat([x, x]), torch.tensor(t), emb, mask).chunk(2)
        x0_hat = x - t * (v_u + g * (v_c - v_u))             # the model's clean-video guess
        rows += [pipe.decode_latents(x), pipe.decode_latents(x0_hat)]
        captions += [f"x_t, t = {t:.1f}", f"x̂0, t = {t:.1f}"]
rows.append(pipe.decode_latents(xs_one[-1][1])); captions.append("sample, t = 0")
fig = video.frame_grid(rows, captions=captions, max_frames=5)   # columns: video frames; rows: times t

# %% [markdown]
# ## Summary / 요약
# * **CFG (분류기 없는 가이던스)**: `v = v_uncond + g·(v_cond − v_uncond)`, both velocities from one
#   batched model call; §2's guidance sweep (compare g = 1 with the best g) shows how much of the
#   tiny model's caption-following comes from guidance.
# * **Steps (스텝 수)**: how many suffice is read off the step sweep, not deduced from "straight
#   paths" — one Euler step would do for straight ones; compare its score with ten's.
# * **Euler vs Heun (오일러 vs 휜)**: compare at equal model calls (NFE); the lines printed under §3
#   say at which budgets Heun's second evaluation pays on this model.
# * **Timestep shift (타임스텝 시프트)**: `t' = s·t / (1 + (s − 1)·t)` puts more of the same steps at high
#   noise, where the layout is decided; free in cost, and one of the shipped sampling defaults (§4).
# * **Velocity field (속도장)**: in the full latent space a path can look nearly straight while the
#   part that decides the content still bends — the step sweep is the measure that counts.
# * The same `minicog.rectified_flow.sample` drives the 2D toy of week 2, this video model, and the
#   editing ODEs of weeks 7–8.

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
# **Exercise 6.1 — classifier-free guidance (1 point).** Write
# `guided_velocity(model, x, t, cond, uncond, guidance)` for a velocity model `model(x, t, cond)`:
# `v_u + g·(v_c − v_u)` with `v_c = model(x, t, cond)` and `v_u = model(x, t, uncond)`. With
# `guidance == 1` return `v_c` and do not use `uncond` (it may be None).

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
# **Exercise 6.2 — the time grid with a shift (2 points).** Write `time_grid(steps, shift)`: `steps + 1`
# times from 1 to 0 (float64), equal steps in an unshifted time `u` mapped through SD3's shift
# `t = s·u / (1 + (s − 1)·u)`. Pick the u-grid so that the t-grid starts at exactly 1 and ends at exactly 0
# (the inverse map is `u = t / (s − (s − 1)·t)`, and 0 and 1 are fixed points).

# %% [nbgrader solution id=time_grid]
def time_grid(steps, shift=1.0):
    ### BEGIN SOLUTION
    u = torch.linspace(1.0, 0.0, steps + 1, dtype=torch.float64)
    return shift * u / (1 + (shift - 1) * u)
    ### END SOLUTION

# %% [nbgrader check id=check_time_grid points=2]
cw.check_time_grid(time_grid)

# %% [markdown]
# **Exercise 6.3 — a guided Euler sampler (2 points).** Write
# `euler_sample(model, noise, cond, uncond, steps, guidance)`: start at `x = noise` (t = 1) and take
# `steps` Euler steps on the uniform grid to t = 0 with the guided velocity (Exercise 6.1). The model
# takes the time as a `(B,)` tensor, one value per sample.

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
