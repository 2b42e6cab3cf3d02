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
# 3. **오일러 vs Heun 방법 (Euler vs Heun)** at equal cost — the same number of 모델 평가 (model evaluations,
#    NFE);
# 4. the **타임스텝 시프트 (timestep shift)**: where on [0, 1] the steps go, and where along the path
#    the video's content is decided (the model's running guess of the clean video, x̂0, read by the
#    oracle);
# 5. the video model's **속도장 (velocity field)** in latent space: sampling 궤적 (trajectories) and how
#    straight they are.

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
# ## A minute of live demo: guidance off and on
# Four two-object prompts, each sampled twice from the same noise with the model's default sampler:
# once without guidance (g = 1, the plain conditional model) and once with the model's default
# guidance. Under each video, the oracle's verdict against the prompt, and for a wrong one what it
# reads instead. **Look at the shapes and where they go**: without guidance they drift from what the
# prompt asks for; with the default guidance the oracle reads every video as its prompt. (These four
# prompts were picked to show the difference; §2 measures it on prompts that were not.)

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
# ## 1. A sampler from scratch
# Euler with CFG is five lines: evaluate the velocity for the prompt and for the empty prompt in one
# batch, mix them, and take a step `x ← x + (t_next − t) · v`. We check it against the package.

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
# **Takeaway.** A sampler is a loop of model calls: guidance doubles the batch of each call, and the
# number of steps multiplies the calls. Everything below varies those two knobs (and where the steps
# go) and asks the oracle what they buy.
#
# ## 2. Guidance and steps, scored by the oracle
# The same two-object prompts with the same seeds for every setting; the oracle counts the videos it
# reads exactly as their prompt (both objects' colour, shape and direction, and the background). The
# sweeps use 10 Euler steps (the model's default is 20) to stay short; `LONG = True` runs 96 prompts
# and more settings (several times longer).

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
# **Takeaway.** Guidance is what makes two-object prompts come out right on this model: the plain
# conditional model (g = 1) gets far fewer of them than the default scale, and too much guidance hurts
# again. Shape is the attribute that suffers at both ends. Steps are the other knob: a single Euler step
# fails, because the sampling paths bend — a straight path would be integrated exactly by one step
# (week 2), and the tiny model is plain rectified flow, not reflowed — and accuracy climbs steeply over
# the first few steps, then levels off.
#
# ## 3. Euler vs Heun at equal cost
# Heun (2nd order) evaluates the model twice per step, so compare at the same number of model
# evaluations (NFE): Euler with n steps against Heun with n/2. Euler's numbers are the step sweep's.

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
# **Takeaway.** At equal cost Heun does not beat Euler on this model: its second evaluation per step
# buys less than spending it on a second, smaller Euler step. A higher-order method pays off where the
# path is smooth at the scale of a step; with this few steps it is not.
#
# ## 4. Where the steps go: the timestep shift
# The Euler grid need not be even in t. SD3 (Esser et al. 2024, §5.3.2) maps each time of an even
# grid through `t' = s·t / (1 + (s − 1)·t)` (`rectified_flow.shift_time`): with s > 1 more of the
# steps fall near the noise end and fewer near t = 0, at no extra cost. Whether that helps depends on
# *where* the video's content is decided. Below, along one guided trajectory on an even grid: the state
# x_t itself (mostly noise early on) and the model's current guess of the clean video,
# `x̂0 = x_t − t · v(x_t, t)`, decoded at a few times t. The columns are video frames; the rows are
# diffusion times.

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
# The oracle can read x̂0 too. For a few of §2's two-object prompts, sampled on an even 10-step grid:
# at each step, does the x̂0 already read as the finished video will (the same objects, colours,
# shapes, directions and background)?

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
# The content — which shapes, where, moving which way — is decided while the video is still mostly
# noise; the last steps of an even grid only sharpen what the oracle already reads. A shift moves those
# steps up to where the decisions are made, at no cost. How much accuracy that buys is a measurement:
# the same prompts, seeds, guidance and 10 steps at three shifts (shift 2 is §2's sweep at the default).

# %%
shift_acc = {s: cfg_acc[g0] if s == shift0 else report(steps=10, guidance=g0, shift=s) for s in shifts}
acc = np.array([shift_acc[s].prompt_accuracy for s in shifts])
se = np.sqrt(acc.mean() * (1 - acc.mean()) / n_prompts)       # binomial standard error of one accuracy
print(f"{n_prompts} two-object prompts fully right: " + ", ".join(f"shift {s}: {a:.0%}" for s, a in zip(shifts, acc))
      + f"; spread {100 * (acc.max() - acc.min()):.0f} points, standard error of one accuracy "
      f"{100 * se:.0f} points")
assert acc.max() - acc.min() <= 3 * np.sqrt(2) * max(se, 0.5 / n_prompts)   # within the sample's noise

# %% [markdown]
# **Takeaway.** On this small model the oracle cannot tell the three shifts apart on a few dozen
# prompts: their accuracies differ by about as much as the noise of the sample. What the grids and the
# x̂0 readings show holds whatever the model: the shift spends more of the same steps where the
# content is decided. Whether that is worth a few points takes hundreds of prompts to see
# ([`docs/training.md`](../docs/training.md) measures the model's defaults that way).
#
# ## 5. The velocity field of the video model, in latent space
# A latent video is a point in a space of C × T × h × w dimensions (the cell prints how many). We record
# sampling trajectories of one prompt from several seeds, project them onto their first two principal
# components, and draw the velocity at each step as an arrow. A 2-D projection can make a bent path
# look straight (or the other way round), so we also compute week 2's **straightness** in the full
# space: path length / distance between the end points (1 = a straight line).

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
# **Takeaway.** Measured over all the latent dimensions, the paths are almost straight, and yet one
# Euler step fails (§2): most of a path's length is the noise being removed, which is a straight-line
# job, while the small part that decides the content bends. The step sweep, not the straightness
# ratio, is the measure that counts for sampling.

# %% [markdown]
# ## Summary / 요약
# * **CFG (분류기 없는 가이던스)**: `v = v_uncond + g·(v_cond − v_uncond)`, both velocities from one
#   batched model call. On two-object prompts guidance is what makes the tiny model follow the caption;
#   too much of it hurts again.
# * **Steps (스텝 수)**: one Euler step fails because the paths bend; accuracy climbs steeply over the
#   first few steps, then levels off. How many suffice is measured, not deduced.
# * **Euler vs Heun (오일러 vs Heun 방법)**: compare at equal model calls (NFE); on this model Heun's second
#   evaluation never pays.
# * **Timestep shift (타임스텝 시프트)**: `t' = s·t / (1 + (s − 1)·t)` puts more of the same steps at high
#   noise, where x̂0 shows the content being decided; free in cost, and its gain on this model is
#   smaller than a few dozen prompts can resolve.
# * **Velocity field (속도장)**: in the full latent space a path looks nearly straight while the part
#   that decides the content still bends — the step sweep is the measure that counts.
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
# **Predict, then run.** A toy whose velocity field is known exactly: the data are two clusters in the
# plane, centred at x = +2 and x = −2 (on the x axis, spread 0.5); the condition asks for the right-hand
# cluster, and the unconditional model knows both. With guidance 1 the samples are the right-hand
# cluster, so their mean x is about 2. From the same noise with guidance 8, what is their mean x? Write
# your guess in `prediction()` (graded only on being answered, not on being right); the cell after the
# check runs the experiment and prints the result beside your guess.

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
