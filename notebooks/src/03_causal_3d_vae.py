# %% [markdown]
# # Week 3 — The causal 3D VAE
#
# Lecture: *"3D Causal VAE — 8×8×4 compression; current and past frames only; spatial ×8, temporal ×4."*
#
# A video diffusion model never sees pixels. CogVideoX (§2.1, Figure 4) first compresses a clip of
# `1 + 4k` frames of `H × W` into latents of `1 + k` frames of `H/8 × W/8` (16 channels), runs the
# diffusion there, and decodes at the end. Two ideas make this a *video* VAE rather than an image VAE
# applied frame by frame:
#
# * **3D convolutions** mix neighbouring frames, so the latents can exploit that consecutive frames
#   are nearly the same (4× fewer latent frames);
# * the convolutions are **causal**: time is padded on the *past* side only, so frame `t` never sees
#   frames `> t`. The first frame is kept on its own (`1 + 4k → 1 + k`), so an image is just a
#   1-frame video and shares the latent space, and long clips can be processed **chunk by chunk**
#   with a small cache of past frames (the paper's context parallel, Figure 4b).
#
# **In this lecture / 이번 강의에서 배울 것**
# 1. a **인과적 합성곱 (causal convolution)** from scratch, and a picture of which input frames each
#    output frame sees;
# 2. the **합성곱 캐시 (conv cache)**: chunk-by-chunk = whole clip (the paper's 컨텍스트 병렬,
#    context parallel), and a picture of the frames each chunk's convolution sees inside the VAE;
# 3. the full **3D 인과 VAE (3D causal VAE)**, `minicog.CausalVAE`: **공간 압축 (spatial
#    compression)** ×8 and **시간 압축 (temporal compression)** ×4, `1 + 4k → 1 + k` frames of
#    **잠재 변수 (latents)**, for the real and the tiny preset, and its levels drawn with the shape
#    of the tensor at each;
# 4. the loss (재구성 손실 + KL, reconstruction loss + KL) from scratch, a few training steps on the
#    Shapes world, then the shipped checkpoint;
# 5. 재구성 (reconstructions) side by side — where the error is — and the latents per channel over
#    time;
# 6. **measured**: frame chunk size vs quality — the conv cache is exact, 그룹 정규화 (GroupNorm) per
#    chunk is not.

# %%
import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn as nn
from tqdm.auto import tqdm

from minicog import shapes
from minicog.causal_vae import CausalConv3d, CausalVAE, VAEConfig, conv_cache
from minicog.train_vae import EVAL_SEED, evaluate_psnr, psnr, reconstruction_loss, shapes_clips
from minicog.utils import FAST, seed_everything
from minicog.vae_figures import conv_calls, draw_conv_cache, draw_levels, trace_levels
from minicog.video import show_video, to_tensor, to_uint8

seed_everything(0)
torch.set_num_threads(2)
print("fast mode:", FAST)

# %% [markdown]
# ## A minute of live demo
# The course's trained tiny VAE squeezes a 17-frame clip into a small block of latents and rebuilds
# the clip from the latents alone. Left: the clip; right: the decoder's rebuild. Look for what is
# lost — the line below the videos says how many numbers the latents keep, how close the rebuild is
# (PSNR) and what the oracle of week 0 reads in it.

# %%
vae = CausalVAE.from_pretrained("tiny").eval()
demo_caption = "a purple triangle moving down on a gray background"
demo = shapes.render_caption(demo_caption, rng=1)                        # uint8 (17, 64, 64, 3)
x_demo = to_tensor(demo)[None]                                           # (1, 3, 17, 64, 64)
with torch.no_grad():
    z_demo = vae.encode(x_demo).mean                                     # (1, 8, 5, 8, 8)
    rebuilt = to_uint8(vae.decode(z_demo)[0])
show_video([demo, rebuilt], ["input", "decoded from the latents"], width=192)
print(f"{x_demo.numel():,} pixel values {tuple(x_demo.shape[1:])} -> {z_demo.numel():,} latents "
      f"{tuple(z_demo.shape[1:])}: {x_demo.numel() / z_demo.numel():.0f}× fewer numbers; "
      f"PSNR {psnr(to_tensor(rebuilt)[None], x_demo).item():.1f} dB; the oracle reads the rebuild as "
      f"'{shapes.caption(**shapes.read_attributes(rebuilt))}'")
assert shapes.read_attributes(rebuilt) == shapes.parse_caption(demo_caption).attributes

# %% [markdown]
# ## 1. A causal convolution from scratch
# A 3D conv with kernel `k` in time normally pads `(k-1)/2` frames on *both* sides, so output
# frame `t` sees frames `t-1, t, t+1` (for `k = 3`). The causal version pads `k-1` frames on the
# **past** side only — CogVideoX pads with copies of the first frame — so output `t` sees
# `t-2, t-1, t`. Space is padded normally.

# %%
class MyCausalConv3d(nn.Module):
    def __init__(self, c_in, c_out, k=3):
        super().__init__()
        self.k = k
        self.conv = nn.Conv3d(c_in, c_out, k, padding=(0, k // 2, k // 2))  # no time padding here

    def forward(self, x):                                      # x: (B, C, T, H, W)
        first = x[:, :, :1].repeat(1, 1, self.k - 1, 1, 1)    # k-1 copies of frame 0
        return self.conv(torch.cat([first, x], dim=2))         # (B, C', T, H, W)


class CenteredConv3d(nn.Conv3d):                               # the usual, non-causal conv
    def __init__(self, c_in, c_out, k=3):
        super().__init__(c_in, c_out, k, padding=k // 2, padding_mode="replicate")


def dependency(net, T=12):
    """|d out[t] / d in[s]| summed over everything else: which input frames each output frame sees."""
    x = torch.randn(1, 2, T, 8, 8, requires_grad=True)
    out = net(x)
    rows = []
    for t in range(T):
        (g,) = torch.autograd.grad(out[:, :, t].sum(), x, retain_graph=True)
        rows.append(g.abs().sum(dim=(0, 1, 3, 4)))
    return torch.stack(rows)                                   # (T out, T in)


torch.manual_seed(0)
causal = nn.Sequential(*[MyCausalConv3d(2, 2) for _ in range(3)])
centered = nn.Sequential(*[CenteredConv3d(2, 2) for _ in range(3)])
D_causal, D_centered = dependency(causal), dependency(centered)
assert torch.all(torch.triu(D_causal, diagonal=1) == 0)       # out[t] ignores every frame s > t
assert torch.triu(D_centered, diagonal=1).sum() > 0            # the centred conv does not

fig, axes = plt.subplots(1, 2, figsize=(8, 3.6))
for ax, D, name in zip(axes, (D_causal, D_centered), ("causal (3 layers)", "centred (3 layers)")):
    ax.imshow((D > 0).float(), cmap="Blues")
    ax.set_title(name)
    ax.set_xlabel("input frame s")
    ax.set_ylabel("output frame t")
fig.suptitle("which input frames each output frame depends on")
plt.tight_layout()
plt.show()


def reach(D):
    """(frames into the past, frames into the future) that some output frame depends on."""
    t, s = torch.nonzero(D, as_tuple=True)
    return (t - s).max().item(), (s - t).max().item()


print("3 layers of k = 3 — causal: (past, future) =", reach(D_causal), "| centred:", reach(D_centered))

# %% [markdown]
# The causal stack's picture is a lower triangle: every output frame depends on past frames only,
# each layer adding `k − 1` frames of memory, while the centred stack looks as far into the future as
# into the past. Same check on the package's `CausalConv3d` with the same weights:

# %%
mine = MyCausalConv3d(2, 4)
theirs = CausalConv3d(2, 4, 3)
theirs.conv.load_state_dict(mine.conv.state_dict())
x = torch.randn(1, 2, 9, 8, 8)
with torch.no_grad():
    torch.testing.assert_close(theirs(x), mine(x))
    y = x.clone()
    y[:, :, 5:] += 1.0                                         # change frames 5..8
    change = (theirs(y) - theirs(x)).abs().amax(dim=(0, 1, 3, 4))
print("max change of each output frame when frames 5.. change:", change.numpy().round(3))
assert torch.all(change[:5] == 0) and torch.all(change[5:] > 0)

# %% [markdown]
# ## 2. The conv cache: process a clip in chunks
# Because output `t` only needs inputs `t-2 … t`, a long clip can be fed in chunks: keep the last
# `k-1 = 2` input frames of each chunk (the **conv cache**) and use them instead of the replicated
# first frame as the past padding of the next chunk. For a stack of convs this is *exact*.
# `minicog.causal_vae.conv_cache(module)` switches every `CausalConv3d` inside `module` to this mode.

# %%
stack = nn.Sequential(*[CausalConv3d(2, 2) for _ in range(3)])
x = torch.randn(1, 2, 17, 8, 8)
with torch.no_grad():
    whole = stack(x)
    with conv_cache(stack):
        chunks = [stack(x[:, :, a:b]) for a, b in [(0, 9), (9, 13), (13, 17)]]
err = (torch.cat(chunks, dim=2) - whole).abs().max().item()
print(f"chunked vs whole clip, max abs difference: {err:.1e}")
assert err < 1e-5

# %% [markdown]
# Chunk by chunk with the conv cache equals the whole clip, up to float rounding: causality is what
# lets a long video be encoded a few frames at a time, in bounded memory.
#
# The VAE does exactly this. With frame chunking on, `CausalVAE.encode` cuts the clip into chunks of
# `chunk_sample_frames` frames (the first chunk also takes the remainder, so it holds the lone first
# frame and four more) and runs the encoder on each with the conv cache switched on. Below, hooks
# record every call of the encoder's first `CausalConv3d` (k = 3) while the shipped tiny VAE encodes
# the demo clip in chunks of 4 frames: each frame that entered its convolution, placed at its time,
# with the number of the clip's frame it is a copy of.

# %%
vae.enable_frame_chunking(sample_frames=4, latent_frames=None)
chunked = conv_calls(vae.encoder.conv_in, lambda: vae.encode(x_demo), x_demo)
vae.disable_frame_chunking()
whole_clip = conv_calls(vae.encoder.conv_in, lambda: vae.encode(x_demo), x_demo)
draw_conv_cache(chunked, demo, title="the encoder's first causal conv (k = 3), the demo clip in chunks")
plt.show()
for i, c in enumerate(chunked):
    print(f"chunk {i}: the conv sees clip frames {c['frames']}")
err = (torch.cat([c["output"] for c in chunked], dim=2) - whole_clip[0]["output"]).abs().max().item()
print(f"its output chunk by chunk vs on the whole clip ({len(whole_clip)} call): max abs difference {err:.1e}")
assert err < 1e-5 and chunked[0]["frames"][:2] == [0, 0] and [c["chunk"] for c in chunked] == [5, 4, 4, 4]
assert all(c["frames"][:2] == before["frames"][-2:] for before, c in zip(chunked, chunked[1:]))

# %% [markdown]
# Only the very first chunk is padded with copies of frame 0; every later chunk starts with the last
# `k − 1 = 2` frames of the chunk before it, the frames the kernel reaches back to, and the
# convolution's output over the chunks is the whole clip's, to float rounding. The deeper
# convolutions do the same on their features (section 6 measures the whole encoder chunk by chunk).

# %% [markdown]
# ## 3. The full VAE
# `minicog.CausalVAE` stacks these into an encoder and a decoder (CogVideoX §2.1):
#
# * encoder: causal conv → 4 levels of ResBlocks (GroupNorm, SiLU, causal 3×3×3 convs), with a
#   stride-2 downsample after the first 3 levels (×8 in space); the first 2 also average pairs of
#   frames (×4 in time), keeping the first frame alone → mean and log-variance of a diagonal
#   Gaussian (the KL-regularised posterior);
# * decoder: the mirror image; its norms are *spatial norms* — GroupNorm whose scale and shift are
#   predicted from the latent `z` itself.
#
# The real preset loads the official weights with `CausalVAE.from_diffusers("<CogVideoX-2b>/vae")`
# (same numbers as diffusers' `AutoencoderKLCogVideoX`, see `tests/test_causal_vae.py`). Here we
# build both presets with random weights and look at the shapes.

# %%
real = CausalVAE(VAEConfig.cogvideox_2b())
tiny = CausalVAE(VAEConfig.tiny())
for name, m in (("CogVideoX-2b VAE", real), ("tiny Shapes VAE", tiny)):
    n = sum(p.numel() for p in m.parameters())
    print(f"{name:18s} {n / 1e6:6.2f}M params, latent channels {m.latent_channels}, "
          f"compression {m.spatial_compression}x{m.spatial_compression} space, {m.temporal_compression}x time")
print("\nframes -> latent frames (1+4k -> 1+k):")
print("  ", [(f, real.latent_shape(f, 480, 720)[1]) for f in (1, 5, 9, 13, 17, 49)])
real_latent = real.latent_shape(49, 480, 720)
ratio = (3 * 49 * 480 * 720) / np.prod(real_latent)
print(f"a 49x480x720 clip -> {real_latent} latents: {ratio:.0f}x fewer numbers")
del real

x = torch.rand(1, 3, 17, 64, 64) * 2 - 1
with torch.no_grad():
    post = tiny.encode(x)
    print("tiny: x", tuple(x.shape), "-> z", tuple(post.mean.shape), "-> x_hat", tuple(tiny.decode(post.mean).shape))
assert post.mean.shape == (1, 8, 5, 8, 8)
try:
    tiny.encode(torch.zeros(1, 3, 16, 64, 64))
except ValueError as e:
    print("16 frames ->", e)

# %% [markdown]
# Both presets share one design and differ only in width: `1 + 4k` frames become `1 + k` latent
# frames, each 8× smaller in height and width, so the diffusion model of week 5 works on a small
# fraction of the numbers of the video it generates. A clip that is not `1 + 4k` frames long is refused.
#
# Where does the compression happen? Hooks on every level record the shape of the tensor it passes on
# while the shipped tiny VAE encodes the demo clip and decodes the mean of its latents. Each block
# below is drawn as wide as its number of frames and as tall as its frame side; in bold, the levels
# that change them.

# %%
stages = trace_levels(vae, x_demo)
frames_at = [s[2] for _, s in stages]
side_at = [s[3] for _, s in stages]
z_shape = dict(stages)["latent z"]
draw_levels(stages, title=f"tiny VAE: {frames_at[0]} frames of {side_at[0]}×{side_at[0]} → latents "
            f"{z_shape[2]} frames of {z_shape[3]}×{z_shape[4]} → back")
plt.show()
print("frames after each stage:", frames_at)
print("frame side after each stage:", side_at)
print(f"space ÷{side_at[0] // z_shape[3]}, time {frames_at[0]} -> {z_shape[2]} frames "
      f"(÷{(frames_at[0] - 1) // (z_shape[2] - 1)} after the first)")
assert frames_at[:5] == [17, 17, 9, 5, 5] and side_at[:5] == [64, 64, 32, 16, 8] and z_shape[1] == 8
up = [dict(stages)[f"up {i}"] for i in (1, 2, 3)]
assert [s[2] for s in up] == [9, 17, 17] and [s[3] for s in up] == [16, 32, 64] and stages[-1][1] == stages[0][1]

# %% [markdown]
# Space halves at each of the first three down levels (64 → 32 → 16 → 8 px) and time at the first two
# (17 → 9 → 5 frames: each time the first frame stays alone and the others are averaged in pairs,
# `1 + 2k → 1 + k`); the last level and the middle blocks keep the shape. The decoder climbs back up:
# time doubles at its first two up levels (except the lone first frame), space at its first three.
# The channels (C) grow as the frames shrink, yet the latent keeps only a few (8 in the tiny preset,
# 16 in CogVideoX's).
#
# ## 4. The loss, from scratch, and a few steps of training
# The VAE is trained to rebuild its input from a **sample** of its posterior `q(z|x)` (not the mean),
# so that the decoder learns to tolerate noisy latents — useful later, when it decodes what a
# diffusion model generated. The loss has two terms:
#
# * **reconstruction**: `|e| + e²` per pixel (L1 + MSE), with the object's pixels counted
#   `1 + fg_weight` times — the object is a small minority of the pixels (week 0), and an
#   unweighted loss would be content to paint the background;
# * **KL(q(z|x) ‖ N(0, I))** per latent element, with a small weight: it keeps the latents near a
#   standard normal without forcing them to forget the clip.

# %%
def vae_loss(vae, x, fg_weight=4.0, kl_weight=1e-4, generator=None):
    post = vae.encode(x)                                                   # q(z|x): mean, log-variance
    z = post.mean + post.std * torch.randn(post.mean.shape, generator=generator)   # a posterior sample
    recon = vae.decode(z)
    err = recon - x
    per_pixel = (err.abs() + err ** 2).mean(1, keepdim=True)              # (B, 1, T, H, W)
    background = x[:, :, :, :1, :1]                                         # the corner's colour
    w = 1 + fg_weight * ((x - background).abs().amax(1, keepdim=True) > 0.05).float()
    rec = (w * per_pixel).sum() / w.sum()
    kl = 0.5 * (post.mean ** 2 + post.var - 1 - post.logvar).mean()        # per latent element
    return rec + kl_weight * kl, dict(rec=rec, kl=kl, recon=recon, post=post)


x = shapes_clips(2, seed=0, frames=9, size=32)
loss, parts = vae_loss(tiny, x, generator=torch.Generator().manual_seed(0))
assert torch.allclose(parts["rec"], reconstruction_loss(parts["recon"], x, fg_weight=4.0))      # the package's
assert torch.allclose(parts["kl"], parts["post"].kl().mean() / parts["post"].mean[0].numel())  # terms
print(f"untrained VAE: reconstruction {parts['rec'].item():.3f}, KL {parts['kl'].item():.4f}, loss {loss.item():.3f}")

# %% [markdown]
# A few AdamW steps on fresh Shapes clips, at 32×32 px so that it runs in the lecture. Steps alternate
# between batches of single frames (colours and shapes, cheaply — the first frame is encoded on its
# own anyway) and 9-frame clips (motion).

# %%
steps = 6 if FAST else 20
torch.manual_seed(0)
student = CausalVAE(VAEConfig.tiny())
opt = torch.optim.AdamW(student.parameters(), lr=2e-3)
gen = torch.Generator().manual_seed(0)
history = []
for step in tqdm(range(steps), desc="train"):
    frames = 1 if step % 2 == 0 else 9
    x = shapes_clips(4 if frames == 1 else 2, seed=step, frames=frames, size=32)
    loss, parts = vae_loss(student, x, generator=gen)
    opt.zero_grad()
    loss.backward()
    opt.step()
    history.append((loss.item(), psnr(parts["recon"].detach(), x).mean().item()))
loss_curve, psnr_curve = np.array(history).T
fig, axes = plt.subplots(1, 2, figsize=(9, 2.6))
for ax, curve, name in zip(axes, (loss_curve, psnr_curve), ("loss", "PSNR of the batch (dB)")):
    ax.plot(range(0, steps, 2), curve[0::2], "o-", label="single-frame batches")
    ax.plot(range(1, steps, 2), curve[1::2], "o-", label="9-frame clips")
    ax.set_xlabel("step")
    ax.set_ylabel(name)
axes[0].legend(fontsize=8)
plt.tight_layout()
plt.show()
print(f"{steps} steps: loss {loss_curve[:2].mean():.2f} -> {loss_curve[-2:].mean():.2f}, "
      f"PSNR {psnr_curve[:2].mean():.1f} -> {psnr_curve[-2:].mean():.1f} dB (means of the first and last two steps)")
assert loss_curve[-2:].mean() < loss_curve[:2].mean()

# %% [markdown]
# Our loss is the package's, term by term (asserted), and a handful of steps already lowers it — but
# a rebuild worth using takes thousands of steps. `minicog.train_vae` is this loop at 64×64 px with a
# learning-rate schedule, gradient clipping, data loaders and checkpoints; `make train-tiny`
# (`python -m minicog.train_vae`) trained the shipped checkpoint with it: the whole VAE, then the
# decoder alone with the encoder frozen, so that the latent space does not move (recipe and timings:
# [`docs/causal_vae.md`](../docs/causal_vae.md)). Here is that checkpoint on held-out clips (a
# different dataset seed from training):

# %%
clips = shapes_clips(8, seed=EVAL_SEED)
scores = evaluate_psnr(vae, clips)
print(f"shipped VAE, held-out PSNR: mean {scores.mean():.2f} dB, min {scores.min():.2f} dB "
      f"(our {steps} steps: {psnr_curve[-2:].mean():.1f} dB on their last batches)")
assert scores.mean() >= 32 and scores.mean() > psnr_curve.max() + 10

# %% [markdown]
# ## 5. Reconstructions side by side, and the latents
# Three held-out clips through the shipped VAE. Top: input, middle: reconstruction, bottom:
# |error| × 4, every fourth frame.

# %%
with torch.no_grad():
    z = vae.encode(clips[:3]).mean
    recon = vae.decode(z)
fig, axes = plt.subplots(3, 3, figsize=(12, 2.8))
for i in range(3):
    orig, rec = to_uint8(clips[i]), to_uint8(recon[i])
    err = np.abs(orig.astype(int) - rec.astype(int)).clip(0, 63) * 4
    for row, v in enumerate((orig, rec, err.astype(np.uint8))):
        axes[row, i].imshow(np.concatenate(list(v[::4]), axis=1))
        axes[row, i].axis("off")
    axes[0, i].set_title(f"clip {i}: {psnr(recon[i:i + 1], clips[i:i + 1]).item():.1f} dB")
plt.tight_layout()
plt.show()
sq_err = ((recon - clips[:3]) ** 2).sum(1)                                       # (3, T, H, W)
on_object = (clips[:3] - clips[:3, :, :, :1, :1]).abs().amax(1) > 0.05          # not the background
err_share = (sq_err[on_object].sum() / sq_err.sum()).item()
print(f"the object covers {on_object.float().mean():.0%} of the pixels and carries {err_share:.0%} "
      "of the squared error")
assert err_share > 2 * on_object.float().mean()

# %% [markdown]
# The rebuild is close everywhere, and what error there is sits on the object's edges, out of all
# proportion to its area: the plain background is easy, the moving shape is what the VAE has to work
# for. Input and reconstruction side by side as a video:

# %%
_ = show_video(np.concatenate([to_uint8(clips[0]), to_uint8(recon[0])], axis=2), "input | reconstruction")

# %% [markdown]
# The 8 latent channels of one clip over its 5 latent frames (latent frame 0 is the first video
# frame alone; each later one summarises 4 frames). `scaling_factor`, measured over many clips when
# the VAE was trained, brings them to the scale of the unit-variance noise the diffusion model
# starts from.

# %%
zs = z[0] * vae.scaling_factor                               # (C, T_lat, 8, 8)
print(f"scaling_factor {vae.scaling_factor:.3f}; scaled latents of clip 0: mean {zs.mean():.2f}, std {zs.std():.2f}")
assert 0.5 < zs.std() < 1.5
fig, axes = plt.subplots(zs.shape[0], zs.shape[1], figsize=(6, 9))
lim = zs.abs().max().item()
for c in range(zs.shape[0]):
    for t in range(zs.shape[1]):
        axes[c, t].imshow(zs[c, t], cmap="RdBu", vmin=-lim, vmax=lim)
        axes[c, t].set_xticks([])
        axes[c, t].set_yticks([])
    axes[c, 0].set_ylabel(f"ch {c}")
for t in range(zs.shape[1]):
    axes[0, t].set_title(f"t_lat={t}")
plt.suptitle("latents of clip 0, per channel over time")
plt.tight_layout()
plt.show()

# %% [markdown]
# The latents are a small video in their own right: in every channel the object is a blob that moves
# from latent frame to latent frame over a flat value for the background. This is what weeks 4–6
# teach a transformer to generate.

# %% [markdown]
# ## 6. Measured: frame chunk size vs quality
# Real clips are long (49 frames at 480×720), so CogVideoX's inference code encodes 8 frames and
# decodes 2 latent frames at a time, carrying the conv cache between chunks. The convolutions are
# then exact — but **GroupNorm** normalises over (channels of a group × frames × height × width), so
# per chunk it uses that chunk's statistics instead of the whole clip's. We measure the effect on the
# tiny VAE (trained on whole clips of 1 and 9 frames): PSNR and latent change for several chunk sizes,
# then repeat with every GroupNorm removed (on a freshly initialised VAE), which makes chunked and
# whole-clip processing identical.

# %%
def run(model, x, chunks):
    model.chunk_sample_frames, model.chunk_latent_frames = chunks
    with torch.no_grad():
        z = model.encode(x).mean
        return z, model.decode(z)


settings = [(None, None), (12, 3), (8, 2), (4, 1)]
z_whole, _ = run(vae, clips, (None, None))
rows = []
for chunks in tqdm(settings, desc="chunk sizes"):
    z_c, rec_c = run(vae, clips, chunks)
    dz = ((z_c - z_whole).abs().max() / z_whole.abs().max()).item()
    rows.append((chunks, psnr(rec_c, clips).mean().item(), dz))
    print(f"encode chunk {str(chunks[0]):>4} frames / decode chunk {str(chunks[1]):>4} latents: "
          f"PSNR {rows[-1][1]:.2f} dB, latent change {dz:.3f} (relative)")
vae.chunk_sample_frames = vae.chunk_latent_frames = None

plt.figure(figsize=(5, 2.8))
plt.bar([("whole" if c[0] is None else f"{c[0]}/{c[1]}") for c, _, _ in rows], [p for _, p, _ in rows])
plt.ylim(min(p for _, p, _ in rows) - 2, max(p for _, p, _ in rows) + 1)
plt.xlabel("encode frames / decode latents per chunk")
plt.ylabel("PSNR (dB)")
plt.title("tiny VAE: chunked processing")
plt.show()
drop = rows[0][1] - rows[-1][1]
print(f"whole clip {rows[0][1]:.2f} dB, smallest chunks (4 frames / 1 latent) {rows[-1][1]:.2f} dB: "
      f"{drop:.2f} dB lost; the latents move by up to {rows[-1][2]:.1%} of their range")
assert rows[-1][2] > 0 and 0 <= drop < 3

# %%
# a freshly initialised tiny VAE: the trained weights expect normalised features and overflow without
no_norm = CausalVAE(VAEConfig.tiny()).eval()
for module in list(no_norm.modules()):                       # every GroupNorm -> identity
    for name, child in module.named_children():
        if isinstance(child, nn.GroupNorm):
            setattr(module, name, nn.Identity())
x = clips[:2]
z_w, v_w = run(no_norm, x, (None, None))
z_c, v_c = run(no_norm, x, (4, 1))
ez = ((z_c - z_w).abs().max() / z_w.abs().max()).item()
ev = ((v_c - v_w).abs().max() / v_w.abs().max()).item()
print(f"without GroupNorm: chunked vs whole relative difference, latents {ez:.1e}, video {ev:.1e}")
assert ez < 1e-4 and ev < 1e-4

# %% [markdown]
# Without GroupNorm, chunked and whole-clip processing agree to float rounding: the conv cache makes
# the causal convolutions exact. With GroupNorm, each chunk is normalised with its own mean and
# variance instead of the whole clip's, so the latents move and the PSNR drops — here only a little.
# In the Shapes world — a static background and one moving shape — chunk statistics
# are close to clip statistics and the cost is small; real footage with scene changes can drift
# further, one reason diffusers' CogVideoX VAE always splits a clip the same way (8 frames / 2
# latents). A side effect worth noting: whole-clip GroupNorm is *not* causal (every frame's statistics
# include future frames); chunked processing is causal at the granularity of chunks.

# %% [markdown]
# ## Summary / 요약
# * **Causal convolution (인과적 합성곱)** = pad the past only; output `t` never sees frames `> t`
#   (the lower-triangular picture).
# * **Compression (공간 · 시간 압축)**: `1 + 4k` frames → `1 + k` latent frames, `H × W → H/8 × W/8`;
#   the first frame is encoded alone, so an image is a 1-frame video in the same latent space. Space
#   halves at three levels of the encoder and time at two (the figure of section 3).
# * **Conv cache (합성곱 캐시)**: a clip can be processed chunk by chunk with exact convolutions;
#   GroupNorm per chunk is the one approximation, and on the Shapes world it costs little.
# * **Training**: reconstruction loss (object pixels weighted up) + a small KL term, decoding a
#   posterior *sample* so the decoder tolerates latent noise; a few steps lower the loss, a usable
#   VAE takes thousands. What error remains sits on the moving object.
# * **Latents (잠재 변수)** are unscaled: multiply by `vae.scaling_factor` before diffusion, divide
#   before decoding.

# %% [markdown] [nbgrader locked id=exercises]
# ## Graded exercises
# Write each function below: replace `raise NotImplementedError()` with your code and run the check
# cell under it, which compares your function with minicog's own on random inputs and edge cases and
# says what differs. `make grade NB=<this notebook>` grades them all (`docs/coursework.md`).
# This section runs on its own: its first cell imports what it needs.

# %%
import torch
import torch.nn as nn

from minicog import coursework as cw
from minicog.causal_vae import CausalConv3d

# %% [markdown]
# **Predict, then run.** A stack of three causal convolutions (`CausalConv3d`, k = 3) processes a
# 17-frame clip in chunks of 8 frames (frames 0–7, 8–15 and 16) but *without* the conv cache: each
# chunk is padded with copies of its own first frame, as if it were a clip of its own. How many of
# the 17 output frames come out different from the whole-clip output? Write your guess in
# `prediction()` (graded only on being answered, not on being right); the cell after the check runs
# the experiment and prints the result beside your guess.

# %% [nbgrader solution id=prediction]
def prediction():
    ### BEGIN SOLUTION
    return 7
    ### END SOLUTION

# %% [nbgrader check id=check_prediction points=1]
cw.check_prediction(prediction)

# %%
torch.manual_seed(0)
stack = nn.Sequential(*[CausalConv3d(2, 2, 3) for _ in range(3)])
x = torch.randn(1, 2, 17, 8, 8)
with torch.no_grad():
    no_cache = torch.cat([stack(x[:, :, a:a + 8]) for a in range(0, 17, 8)], dim=2)   # each chunk alone
    frame_error = (no_cache - stack(x)).abs().amax(dim=(0, 1, 3, 4))                  # per output frame
if cw.show_prediction(prediction, int((frame_error > 1e-5).sum()), "output frames that differ (of 17)"):
    print("the frames that differ:", (frame_error > 1e-5).nonzero().flatten().tolist())

# %% [markdown]
# **Exercise 3.1 — the causal padding (2 points).** Write `causal_conv3d(conv, x)` for a clip
# `x (B, C, T, H, W)` and an `nn.Conv3d` with kernel `k` in time that pads only space
# (`padding=(0, k//2, k//2)`): put `k − 1` copies of the first frame in front of the clip (the past
# side only), then apply `conv`. The output has T frames again, and frame t sees no frame after t.

# %% [nbgrader solution id=causal_conv3d]
def causal_conv3d(conv, x):
    ### BEGIN SOLUTION
    k = conv.kernel_size[0]
    if k > 1:
        x = torch.cat([x[:, :, :1].expand(-1, -1, k - 1, -1, -1), x], dim=2)
    return conv(x)
    ### END SOLUTION

# %% [nbgrader check id=check_causal_conv3d points=2]
cw.check_causal_conv3d(causal_conv3d)

# %% [markdown]
# **Exercise 3.2 — the conv cache (3 points).** Write `chunked_causal_conv(conv, x, chunk)`: the same
# output as exercise 3.1's causal convolution of the whole clip `x (B, C, T, H, W)`, computed a chunk
# at a time, as the VAE encodes a long video in bounded memory. Cut `x` into consecutive chunks of
# `chunk` frames (the last one shorter when `chunk` does not divide T) and call `conv` (an
# `nn.Conv3d` with kernel k in time that pads only space) once per chunk, in order, on that chunk's
# frames plus a few frames carried over from before it — the cache; the whole clip never enters
# `conv` at once. Work out what the cache must hold so that the chunked output equals the unchunked
# one for any kernel size (k = 1 too) and any chunk size (1 too). Return all the chunks' outputs
# joined along time, `(B, C', T, H, W)`. The check counts the frames that enter `conv` at each call.

# %% [nbgrader solution id=chunked_causal_conv]
def chunked_causal_conv(conv, x, chunk):
    ### BEGIN SOLUTION
    k = conv.kernel_size[0]
    past = x[:, :, :1].expand(-1, -1, k - 1, -1, -1)          # the first chunk: copies of frame 0
    outs = []
    for a in range(0, x.shape[2], chunk):
        frames = torch.cat([past, x[:, :, a:a + chunk]], dim=2)
        outs.append(conv(frames))
        past = frames[:, :, frames.shape[2] - (k - 1):]        # the cache: the last k − 1 input frames
    return torch.cat(outs, dim=2)
    ### END SOLUTION

# %% [nbgrader check id=check_chunked_causal_conv points=3]
cw.check_chunked_causal_conv(chunked_causal_conv)
