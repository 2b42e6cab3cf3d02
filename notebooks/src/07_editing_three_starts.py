# %% [markdown]
# # Week 7 — Editing a video: three ways to start
#
# We have a clip — *a red circle moving right on a black background* — and we want *a blue circle
# moving right on a black background*: the **same** circle, on the same path, only blue.
# A text-to-video flow model knows how to make blue circles; the question is how to make it
# start from *our* clip. The lecture's three answers:
#
# | start | idea | lecture |
# |---|---|---|
# | **random noise** (SDEdit) | noise the clip to a time t₀, regenerate with the target prompt | "unrelated generation" |
# | **noise inversion** | run the ODE *backwards* from the clip to noise with the source prompt, then forwards with the target | "accurate but slow" |
# | **inversion-free** (FlowEdit) | an ODE directly between the two clean videos, driven by the *difference* of two velocities | "good without inversion" |
#
# Convention (as everywhere in minicog): t ∈ [0, 1], **t = 0 is data, t = 1 is noise**,
# z_t = (1 − t)·x₀ + t·ε, and the model predicts the velocity v = ε − x₀.
#
# This notebook builds each start from scratch in a few lines, checks it against
# `minicog.editing`, draws the three ODEs as trajectories, and measures them with the Shapes
# oracle.
#
# **In this lecture / 이번 강의에서 배울 것**
# 1. **학습 없는 편집 (training-free editing)** with a text-to-video flow model: 원본 프롬프트
#    (source prompt) → 목표 프롬프트 (target prompt);
# 2. **무작위 노이즈 시작 (random-noise start, SDEdit)** and its one knob, the noise level t₀;
# 3. **노이즈 역변환 (noise inversion)**: the ODE run backwards to noise, then forwards;
# 4. **역변환 없는 편집 (inversion-free editing, FlowEdit)**: an ODE between the two clean videos,
#    driven by a 속도 차이 (velocity difference);
# 5. the three as **궤적 (trajectories)** in latent space, and **measured**: 성공률 (success),
#    보존 (preservation), 이동 오차 (drift) and time.

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
# The source clip is rendered by the Shapes world (so we know the truth), then encoded by the VAE.
# The editing happens on the **latents** `(1, C, T, h, w)`; the VAE round trip alone already costs
# some fidelity — that is the ceiling of every editing method.

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
# ## A minute of live demo
# The three starts side by side on this clip: pick the **target word** with the slider — a new colour
# or a new shape — and see what random noise, inversion and the inversion-free ODE make of it. Every
# edit is computed once when the cell runs, so the slider answers at once. Under each video: what the
# oracle reads, and how far (px) the object strays from the path of the perfect edit (`drift`).

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
# On this clip the target word is easy to reach; what tells the starts apart is the path. The
# random-noise start regenerates the clip from noise and strays furthest from it; inversion and the
# inversion-free ODE keep the object close to where it was. The rest of the notebook builds each start
# from scratch and measures what it keeps.

# %% [markdown]
# ## 1. From scratch
# One helper: the classifier-free-guided velocity of a prompt (row 0 = source, 1 = target,
# 2 = the empty prompt). Guidance g mixes the conditional and unconditional velocities,
# v = v_∅ + g·(v_c − v_∅).

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
# ### Start 1: random noise (SDEdit)
# Jump to t₀ by *adding noise* — z_t₀ = (1 − t₀)·x_src + t₀·ε — then integrate the target ODE
# dz/dt = v(z, t, c_tar) down to 0 with Euler.

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
# ### Start 2: ODE inversion
# Run the *source* ODE upwards (t: 0 → t₀), which maps the clip onto "its" noise, then the target
# ODE back down. With equal prompts this would return the clip, up to the Euler error — that is
# why inversion is *accurate*; it is *slow* because the two passes are sequential (twice the model
# calls), and it needs many steps to be accurate.

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
# ### Start 3: inversion-free (FlowEdit)
# No trip to the noise at all. Keep an *edit* Z_edit, starting at x_src. At each t, noise the
# source with a fresh ε and give the edit **the same noise offset**; the change of the edit is the
# difference between where the target prompt and the source prompt push:
#
#     Z_src = (1 − t)·x_src + t·ε
#     Z_tar = Z_edit + (Z_src − x_src)
#     Z_edit ← Z_edit + (t_next − t)·[ v(Z_tar, t, c_tar) − v(Z_src, t, c_src) ]
#
# Whatever both prompts agree on (the circle, its path, the background) cancels in the
# difference; only "red → blue" is left to move the clip.

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
# A sanity check that says a lot: with the **same** prompt *and the same guidance* on both sides the
# two velocities are identical, the difference is exactly 0, and the ODE is the identity — bit for
# bit. The guidance matters: with g_src ≠ g_tar the "difference" of one prompt's velocities is
# (g_tar − g_src)·(v_c − v_∅), a push towards how the model draws that prompt.

# %%  NBVAL_CHECK_OUTPUT
same = editing.encode_prompts(pipe.encode_prompt, SRC, SRC)
c = editing.EditConfig(steps=STEPS, n_max=int(0.7 * STEPS), src_guidance=3.0, tar_guidance=3.0)
print("identity:", torch.equal(editing.flowedit(pipe.velocity, x_src, same, c, torch.Generator().manual_seed(0)), x_src))

# %% [markdown]
# The presets *do* use different guidance for the source and the target (printed below), so running
# their ODE with equal prompts would not be the identity: it would degrade the clip (the second line
# below, forced with `identity_if_same=False`). That is why `pipe.edit` treats equal prompts as
# "change nothing" for the inversion-free methods and returns the source as the VAE reconstructs it,
# without running the ODE.

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
# The three scratch versions give the package's results, and all three turn the circle blue on this
# easy clip. How they differ is in what they cost and what they keep, which the next two sections
# measure.

# %% [markdown]
# ## 2. The three ODEs as trajectories
# Each method is a path through latent space. We record every state with the `callback` of
# `pipe.edit` and project all of them onto their two principal directions. Random noise and
# inversion travel far — to (nearly) pure noise — and come back somewhere; the inversion-free ODE
# never leaves the neighbourhood of the data: it walks from x_src straight to the edit.

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
# ### How much noise? The random-noise start's dilemma
# SDEdit has one knob, t₀: how far towards noise to push the clip before regenerating it with the
# target prompt. The textbook dilemma is that too little noise keeps the source's colour and enough
# noise regenerates the clip — an *unrelated generation*. Below, for each t₀, the oracle reads the
# colour and measures how far the circle drifted from its path; the last lines say which t₀ read
# the target colour and how the drift changes from the smallest t₀ to the largest.

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
# Both horns of the dilemma show. At the smallest t₀ the colour changes only half way (the oracle
# reads neither red nor blue); a little more noise and the guided target prompt repaints the circle.
# What a large t₀ costs is the clip itself: the drift from the circle's path grows, and at t₀ = 1 the
# result is a new generation that only shares the prompt with the source.

# %% [markdown]
# ## 3. Quality and time
# The measure of `benchmarks/bench_editing.py`, on a few edits here (the full table is in
# `docs/flowdirector.md`): **success** — the oracle reads the target colour / shape;
# **preserved** — it reads everything else as before; **drift** — how far (px) the object's
# centre is from where the perfect edit (`edit_eval.ideal_edit`: the target prompt rendered on the
# source's own path) puts it, and "drift vs source" the same against the source clip (which a
# perfect edit to a triangle misses by ~0.75 px: the box of a triangle loses its thin apex);
# **bg PSNR** — the background outside the object;
# **s / edit** — wall-clock seconds, timed in the same run (`time ×` is relative to inversion).
# Two edits of each kind, here and in the two-object table below; set `LONG = True` for four (a few
# minutes more on a laptop CPU).

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
# FlowEdit keeps the object on its path at least as well as the random-noise start (median drift), and
# inversion pays for its accuracy with the most model evaluations: its two passes run one after the
# other.

# %% [markdown]
# The same three starts on **two-object** clips (`edit_eval.two_object_edits`): one object's colour
# or shape changes, the other's words stay, so the other object must come back unchanged.
# **other kept**: the oracle reads it as in the source; **other PSNR**: its pixels against the
# source; drift is measured for both objects against the ideal edit. The "reconstruction" row
# (encode → decode, no edit) is the ceiling every method shares: the VAE itself loses some of the
# small two-object shapes.

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
# None of the three starts knows *where* the edit belongs: the velocity difference may change any
# token, so the object whose words did not change is repainted too — its pixels end up several dB
# further from the source than the VAE round trip alone leaves them. Week 8 restricts the edit to where
# the edited word lives.

# %% [markdown]
# ## Summary / 요약
# - **Random-noise start (무작위 노이즈 시작, SDEdit)**: one pass and easy, but it trades the edit
#   against the clip: what the noise erased is regenerated, not kept (the t₀ sweep: drift grows with t₀).
# - **Noise inversion (노이즈 역변환)**: keeps the clip (it is a deterministic map), but costs two
#   sequential passes and is only as accurate as the step count.
# - **Inversion-free editing (역변환 없는 편집, FlowEdit)**: never goes to noise, so it keeps what the
#   prompts agree on for free — its trajectory stays near the data — but the edit can still leak
#   into places it should not touch (the velocity difference is noisy everywhere).
# - **Measure**: the Shapes oracle gives success, preservation and drift against the ideal edit,
#   for one object and for one of two (is the other kept?).
# - Next notebook: FlowDirector masks the edit with the model's own attention.

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
# **Predict, then run.** Edit the red circle into a blue one four times: twice with the random-noise
# start (t₀ = 0.7), once with noise seed 0 and once with seed 1, and twice with FlowEdit with the same
# two seeds. Whose two results lie further apart — `"random noise"`'s, `"FlowEdit"`'s, or are they
# `"about the same"`? Write your guess in `prediction()` (graded only on being answered, not on being
# right); the cell after the check runs the experiment and prints the result beside your guess.

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
# **Exercise 7.1 — the random-noise start (2 points).** Write
# `random_noise_start(velocity, x_src, noise, c_src, c_tar, t0, steps)`, the first of the three starts,
# with nothing but the model's velocity. `x_src (1, C, T, h, w)` are the latents of the source clip,
# `noise` a draw of ε of the same shape, `c_src` and `c_tar` the encoded source and target prompts, and
# `velocity(z, t, c)` the model's velocity of latents `z` at a float time `t` under the prompt `c`.
# Put the clip at the noise level `t0` the way the forward process does, with this `noise`; then let the
# model carry it back to the data under the prompt the edit asks for, in `steps` Euler steps of equal
# size. Return the edited latents (the shape of `x_src`). At `t0 = 1` nothing of the clip is left: the
# result is a plain generation from `noise` — the baseline that loses the source video.

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
# **Exercise 7.2 — invert (1 point).** Write `invert(velocity, x0, steps)`: run the ODE upwards, from
# the clip (t = 0) to noise (t = 1), with `steps` Euler steps on the uniform grid; `velocity(x, t)` takes
# a float t.

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
# **Exercise 7.3 — one FlowEdit step (3 points).** Write
# `flowedit_step(velocity_src, velocity_tar, x_src, z_edit, t, t_next, noise)` for the source latents
# `x_src (1, C, T, h, w)`, the current edit `z_edit` (same shape) and `noise (N, C, T, h, w)`, N noise
# draws. For each draw k: `Z_src = (1 − t)·X_src + t·ε_k`, `Z_tar = Z_src + (Z_edit − X_src)`, and the
# candidate `V_k = velocity_tar(Z_tar, t) − velocity_src(Z_src, t)`. Return the Euler step with their mean,
# `Z_edit + (t_next − t)·mean_k V_k`, shape `(1, C, T, h, w)`. (`velocity_src(z, t)` takes a batch of
# latents and a float t.)

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
