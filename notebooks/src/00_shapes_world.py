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
video.show_video(clip, "from scratch: a red disc moving right")

# %% [markdown]
# Models want floats, channels first, in [-1, 1]: `(C, T, H, W)`, and a batch of them is
# `(B, C, T, H, W)` — **the one layout used everywhere in `minicog`**.

# %%
x = video.to_tensor(clip)
print(tuple(x.shape), float(x.min()), float(x.max()))
assert x.shape == (3, T, H, W)
assert np.array_equal(video.to_uint8(x), clip)          # the round trip is exact

# %% [markdown]
# ## 2. The Shapes world, with the package
# The world is small on purpose: 6 colours × 3 shapes × 4 directions × 3 backgrounds = **216**
# combinations. Shapes have a radius of 0.14–0.19 of the frame, travel 0.4–0.6 of it at constant
# speed, and always stay fully inside. Clips have `1 + 4k` frames (17 by default) because the
# causal VAE compresses time 4× after keeping the first frame.

# %%  NBVAL_CHECK_OUTPUT
print("colours:    ", list(shapes.COLORS))
print("shapes:     ", shapes.SHAPES)
print("directions: ", shapes.DIRECTIONS)
print("backgrounds:", list(shapes.BACKGROUNDS))
print("combinations:", len(shapes.all_combinations()))

# %%
v = shapes.render("blue", "triangle", "up", "white", rng=0)
video.show_video(v, shapes.caption("blue", "triangle", "up", "white"))
fig = video.frame_grid(v, max_frames=9)

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
ds = shapes.ShapesDataset(length=1000, seed=0, holdout=["a red circle moving left on a black background"])
items = [ds[i] for i in range(6)]
print(tuple(items[0]["video"].shape), items[0]["caption"])
video.show_video([video.to_uint8(it["video"]) for it in items], [it["caption"] for it in items], width=120)

# %% [markdown]
# ## 3. The oracle
# The oracle reads the four attributes off any uint8 video: the background from the border, the
# object as the pixels far from it, the colour from the object's core, the shape by matching a
# circle / square / triangle of the same area, and the direction from the centroid's velocity.

# %%  NBVAL_CHECK_OUTPUT
print(shapes.read_attributes(v))

# %%
combos = shapes.all_combinations()
clips = [shapes.render(**c, rng=i) for i, c in enumerate(combos)]
report = shapes.evaluate(clips, [shapes.caption(**c) for c in combos])
print(report.table())
assert report.prompt_accuracy == 1.0          # perfect on all 216 rendered combinations

# %% [markdown]
# ### Where the oracle stops working
# A metric you do not understand is a metric you cannot trust. We corrupt clips with pixel noise and
# see when reading fails (the tests pin these limits down).

# %%
rng = np.random.default_rng(0)
subset = clips[:: (6 if FAST else 1)]
captions = [shapes.caption(**c) for c in combos][:: (6 if FAST else 1)]
sigmas = [0, 15, 30, 45, 60, 75]
acc = []
for s in sigmas:
    noisy = [np.clip(c + rng.normal(0, s, c.shape), 0, 255).astype(np.uint8) for c in subset]
    acc.append(shapes.evaluate(noisy, captions).prompt_accuracy)
plt.figure(figsize=(4, 2.5))
plt.plot(sigmas, acc, "o-")
plt.xlabel("pixel noise σ (of 255)"); plt.ylabel("oracle prompt accuracy"); plt.ylim(0, 1.05)
plt.title("oracle under noise"); plt.grid(alpha=.3)
assert acc[0] == 1.0 and acc[2] >= 0.95

# %% [markdown]
# ## 3b. Two objects: words must bind to objects
# With one object per clip, "red" and "circle" can only mean *the* object. FlowDirector (week 8) and
# the classic failure of text-to-video models — **속성 결합 (attribute binding)**: the right
# attributes on the wrong object — need scenes where a word has to pick one object out of two. A
# two-object caption names two objects of different colours (the colour names the object); shapes
# and directions may repeat. Both objects stay inside every frame with a gap of at least 2 px
# between them, and they are drawn no larger than radius 0.17 of the frame (a lone object: up to
# 0.19), so both paths fit (docs/shapes_world.md).

# %%  NBVAL_CHECK_OUTPUT
scene = shapes.parse_caption("a red circle moving left and a blue square moving up on a white background")
print(scene.caption())
print(scene.caption(language="ko"))                     # the Korean template names the same scene
print("parses back:", shapes.parse_caption(scene.caption(language="ko")) == scene)
print("two-object scenes:", len(shapes.all_scenes(2)), "| held out for the compositional test:",
      len(shapes.compositional_holdout()))

# %%
motions = shapes.scene_motions(scene, 64, rng=3)
two = shapes.render_scene(scene, motions=motions)
masks = shapes.scene_masks(scene, motions)              # the true mask of each object, by colour
video.show_video(two, scene.caption())
fig, axes = plt.subplots(1, 3, figsize=(7, 2.4))
axes[0].imshow(two[8]); axes[0].set_title("frame 8")
for ax, (colour, m) in zip(axes[1:], masks.items()):
    ax.imshow(m[8], cmap="gray"); ax.set_title(f"true mask: {colour}")
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

# %% [markdown]
# ## 4. Explore
# Pick the attributes and see the clip (drawn once when the cell runs; move the controls to redraw).

# %%
import ipywidgets as widgets
from IPython.display import display
from IPython.utils.capture import capture_output

pick = dict(
    color=widgets.Dropdown(options=list(shapes.COLORS), value="red", description="colour"),
    shape=widgets.Dropdown(options=list(shapes.SHAPES), value="circle", description="shape"),
    direction=widgets.Dropdown(options=list(shapes.DIRECTIONS), value="right", description="direction"),
    background=widgets.Dropdown(options=list(shapes.BACKGROUNDS), value="black", description="background"),
    seed=widgets.IntSlider(value=0, min=0, max=20, description="seed"),
)
out = widgets.Output()

def redraw(_=None):
    a = {k: w.value for k, w in pick.items()}
    seed = a.pop("seed")
    # put the clip into `out` from the kernel side (not `with out:`: a headless runner such as
    # nbconvert answers captured output with messages to the kernel mid-cell, which can hang it)
    with capture_output() as cap:
        video.show_video(shapes.render(**a, rng=seed), shapes.caption(**a), width=192)
    out.outputs = tuple({"output_type": "display_data", "data": o.data, "metadata": o.metadata}
                        for o in cap.outputs)

for w in pick.values():
    w.observe(redraw, "value")
redraw()
display(widgets.VBox([widgets.HBox(list(pick.values())[:2]), widgets.HBox(list(pick.values())[2:]), out]))

# %% [markdown]
# ## Summary / 요약
# * **Video tensor (비디오 텐서)**: `(T, H, W, 3)` uint8 for people, `(B, C, T, H, W)` floats in
#   [-1, 1] for models — the one layout of `minicog`; `video.to_tensor` / `video.to_uint8` convert
#   exactly.
# * **Shapes world (도형 세계)**: a small, fully known world of coloured shapes moving on plain
#   backgrounds; clips have `1 + 4k` frames because the causal VAE (week 3) keeps the first frame
#   alone and compresses time 4×.
# * **Captions (캡션)**: a canonical caption plus paraphrases that parse back to the same attributes;
#   bad input fails loudly with what is allowed.
# * **Dataset (데이터셋)**: `ShapesDataset` is deterministic per index and can hold combinations out,
#   so compositional generalisation can be measured later.
# * **Oracle (오라클)**: reads the attributes back off any video, exact on rendered clips; §3 measured
#   how much pixel noise it tolerates. From week 5 on it turns "does the video obey the prompt?"
#   into a number.
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
