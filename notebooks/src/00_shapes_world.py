# %% [markdown]
# # Week 0 — The Shapes world: what a video is, to a model
#
# Every model in this course — the causal 3D VAE, the expert transformer, rectified flow,
# FlowDirector — is trained and *measured* on a tiny synthetic world: one coloured shape moving
# over a plain background, with a caption that says exactly what is in the clip.
# Because we know the ground truth, an **oracle** can read the clip back and tell us whether a
# generated video obeys its prompt: synthetic data makes every experiment measurable.
#
# **In this lecture / 이번 강의에서 배울 것**
# 1. 비디오 텐서 (video tensor) — `(T, H, W, 3)` uint8 for people, `(C, T, H, W)` in [-1, 1] for models;
# 2. 합성 데이터 (synthetic data): drawing a moving shape from scratch, then the 도형 세계
#    (Shapes world) with `minicog.shapes`;
# 3. 캡션 (captions) and 데이터셋 (the dataset), with combinations held out (홀드아웃, hold-out) for
#    testing 조합 일반화 (compositional generalisation) later;
# 4. the 오라클 (oracle) that reads a video back into its attributes — and where it stops working;
# 5. 두 물체 장면 (two-object scenes), with English or Korean captions, and 속성 결합 (attribute
#    binding): the oracle's 결합 오류 (binding error), the right attributes on the wrong object.

# %% [markdown]
# **Setup.** On your own machine: `pip install -r requirements.txt -e ".[course]"` from the repository
# root (README, "Running it"), then open the notebooks. On Colab, pick a GPU runtime, set
# `MINICOG_REPO` to the course repository's address in the cell below and run it once: it clones and
# installs the course. Anywhere `minicog` is already installed it does nothing.

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
# ## A minute of live demo
# Six clips drawn at random from the Shapes world (three with one object, three with two), each under
# its caption, and the **oracle** (§3) reading every clip back from its pixels alone. Look at the line
# under the videos: the oracle's reading matches every caption — which is what lets this world grade
# a *generated* video later in the course. (Change `DEMO_SEED` for new clips.)

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
# ## 1. A video from scratch
# A video is a stack of frames. Let us draw a disc that moves right, one frame at a time, in plain
# numpy. Each frame is `(H, W, 3)`; the clip is `(T, H, W, 3)`.

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
# Models want floats, channels first, in [-1, 1]: `(C, T, H, W)`, and a batch of them is
# `(B, C, T, H, W)` — **the one layout used everywhere in `minicog`**.

# %%
x = video.to_tensor(clip)
print(tuple(x.shape), float(x.min()), float(x.max()))
assert x.shape == (3, T, H, W)
assert np.array_equal(video.to_uint8(x), clip)          # the round trip is exact

# %% [markdown]
# A video is nothing more than a 4-D array of numbers, and the two layouts hold the same numbers: the
# conversion to the model's floats and back is exact (asserted above), so nothing is lost between
# what a person sees and what a model reads.
#
# ## 2. The Shapes world, with the package
# `minicog.shapes` draws what §1 drew by hand, from a small, fully known set of attributes: a colour,
# a shape, a direction of motion and a background. The cell prints the whole world.

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
# Clips have `1 + 4k` frames because the causal VAE (week 3) keeps the first frame alone and then
# compresses time 4×. One clip, as a video and as a strip of frames:

# %%
v = shapes.render("blue", "triangle", "up", "white", rng=0)
video.show_video(v, shapes.caption("blue", "triangle", "up", "white"))
fig = video.frame_grid(v, max_frames=9)

# %% [markdown]
# How much of a frame is the object? We count, over every one of the combinations rendered once, the
# pixels that are not the background colour.

# %%
combos = shapes.all_combinations()
clips = [shapes.render(**c, rng=i) for i, c in enumerate(combos)]
share = np.array([(c != np.asarray(shapes.BACKGROUNDS[k["background"]], np.uint8)).any(-1).mean()
                  for c, k in zip(clips, combos)])
print(f"the object covers {share.min():.1%} to {share.max():.1%} of a frame "
      f"(median {np.median(share):.1%}); the rest is background")
assert share.max() < 0.25

# %% [markdown]
# The world is small on purpose — every combination can be rendered and checked — and in it the
# object is a small minority of the pixels. A loss that counts every pixel equally mostly scores the
# background; week 3's VAE weights the object's pixels up for exactly this reason.

# %% [markdown]
# ### Captions
# Every clip has a canonical caption; training may also use paraphrases, which parse back to the
# same attributes.

# %%  NBVAL_CHECK_OUTPUT
attrs = dict(color="orange", shape="square", direction="left", background="gray")
for template in shapes.PARAPHRASES:
    text = shapes.caption(**attrs, template=template)
    assert shapes.parse_caption(text).attributes == attrs
    print(text)

# %% [markdown]
# Bad input fails loudly and says what is allowed:

# %%  NBVAL_CHECK_OUTPUT
for bad in [dict(color="pink"), dict(frames=16), dict(size=60)]:
    kw = dict(color="red", shape="circle", direction="left", background="black") | bad
    try:
        shapes.render(**kw)
    except ValueError as e:
        print("ValueError:", e)

# %% [markdown]
# ### The dataset
# `ShapesDataset` is deterministic per index (item *i* is always the same clip), returns
# `(C, T, H, W)` tensors, and can hold out chosen combinations to test compositional
# generalisation later.

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
# The dataset is a pure function of its index, so an experiment is repeatable item by item, and a
# held-out combination is never drawn in training — a model that later generates it has *composed*
# attributes it saw only in other combinations.
#
# ## 3. The oracle
# The oracle reads the four attributes off any uint8 video: the background from the border, the
# object as the pixels far from it, the colour from the object's core, the shape by matching a
# circle / square / triangle of the same area, and the direction from the centroid's velocity.

# %%  NBVAL_CHECK_OUTPUT
print(shapes.read_attributes(v))

# %% [markdown]
# Now on every combination of the world (the clips rendered in §2):

# %%
report = shapes.evaluate(clips, [shapes.caption(**c) for c in combos])
print(report.table())
assert report.prompt_accuracy == 1.0          # every rendered combination is read back exactly

# %% [markdown]
# On clean rendered clips the oracle is exact, attribute by attribute, so any error it reports on a
# generated clip is the generator's, not the oracle's.
#
# ### Where the oracle stops working
# A metric you do not understand is a metric you cannot trust. We corrupt the clips with Gaussian
# pixel noise of growing σ and watch which attribute the oracle loses first.

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
# The oracle tolerates a lot of noise, and when it breaks it breaks where you would expect: the
# shape, read from the object's exact outline, goes first and the colour follows; the direction (the
# centroid's motion) and the background (the border's median), each an average over many pixels,
# hold out. A clip far noisier than this is not a clip the oracle should be asked to grade.

# %% [markdown]
# ## 4. Two objects: words must bind to objects
# With one object per clip, "red" and "circle" can only mean *the* object. FlowDirector (week 8) and
# the classic failure of text-to-video models — **속성 결합 (attribute binding)**: the right
# attributes on the wrong object — need scenes where a word has to pick one object out of two. A
# two-object caption names two objects of different colours (the colour names the object); shapes
# and directions may repeat. Both objects stay inside every frame with a gap between them, and are
# drawn a little smaller than a lone object so that both paths fit (the cell prints the sizes).

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
# The oracle segments the clip by palette colour, reads every object it finds and compares the
# *set* of (colour, shape, direction) with the prompt's — order does not matter, a missing or extra
# object is an error, and so is a **binding error**: every attribute present, but on the wrong
# object. Here we "generate" with the shapes swapped between the two colours:

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
# The oracle is exact on rendered two-object scenes as well — every object read, no binding error —
# so when a model's two-object video is read with a binding error, the model put an attribute on the
# wrong object.
#
# ## 5. Explore
# Pick the attributes and see the clip (drawn once when the cell runs; move the controls to redraw).

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
# ## Summary / 요약
# * **Video tensor (비디오 텐서)**: `(T, H, W, 3)` uint8 for people, `(B, C, T, H, W)` floats in
#   [-1, 1] for models — the one layout of `minicog`; `video.to_tensor` / `video.to_uint8` convert
#   exactly.
# * **Shapes world (도형 세계)**: a small, fully known world of coloured shapes moving on plain
#   backgrounds, where the object is a small minority of the pixels; clips have `1 + 4k` frames
#   because the causal VAE (week 3) keeps the first frame alone and compresses time 4×.
# * **Captions (캡션)**: a canonical caption plus paraphrases that parse back to the same attributes;
#   bad input fails loudly with what is allowed.
# * **Dataset (데이터셋)**: `ShapesDataset` is deterministic per index and can hold combinations out,
#   so compositional generalisation can be measured later.
# * **Oracle (오라클)**: reads the attributes back off any video, exact on rendered clips and robust
#   to heavy pixel noise, where the shape is the first attribute to go. From week 5 on it turns
#   "does the video obey the prompt?" into a number.
# * **Two objects (두 물체) and attribute binding (속성 결합)**: two-object captions (English or Korean)
#   make a word pick one object out of two; the oracle reads every object and reports binding
#   errors — the scenes week 8's FlowDirector needs.

# %% [markdown] [nbgrader locked id=exercises]
# ## Graded exercises
# Write each function below: replace `raise NotImplementedError()` with your code and run the check
# cell under it, which compares your function with minicog's own on random inputs and edge cases and
# says what differs. `make grade NB=<this notebook>` grades them all (`docs/coursework.md`).
# This section runs on its own: its first cell imports what it needs.

# %%
import numpy as np

from minicog import coursework as cw
from minicog import shapes

# %% [markdown]
# **Predict, then run.** The oracle reads a clip's direction from how the object's position changes
# from frame to frame. Shuffle the frames of each clip into a random order and ask the oracle again:
# for what share of 48 clips (0 to 1) does it still read the direction right? There are four directions.
# Write your guess in `prediction()` (graded only on being answered, not on being right); the cell after
# the check runs the experiment and prints the result beside your guess.

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
# **Exercise 0.1 — read a caption (1 point).** Write `parse_caption(text)` for one-object English
# captions: return `{"color": ..., "shape": ..., "direction": ..., "background": ...}`. The caption may be
# the canonical one or any of `shapes.PARAPHRASES` (the words come in different orders), and may use
# capitals or end with a full stop. Hint: the background is the word right before `background`; the
# colour, shape and direction are the words found in `shapes.COLORS`, `shapes.SHAPES`, `shapes.DIRECTIONS`.

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
# **Exercise 0.2 — the oracle's object mask (2 points).** Write `object_mask(video, threshold)` for a
# uint8 video `(T, H, W, 3)`: (1) the background colour is the entry of `shapes.BACKGROUNDS` nearest (RGB
# distance) to the median of the border pixels (first and last row and column of every frame);
# (2) smooth the video with a 3×3 box filter, padding the edges by repeating them (`np.pad(..., mode="edge")`);
# (3) a pixel is *object* when its smoothed colour is farther than `threshold` from the background colour.
# Return a `(T, H, W)` bool array.

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
