# %% [markdown]
# # Week 9 — Scaling up: from the tiny model to CogVideoX-2B / 5B
#
# Everything so far ran on a tiny model trained on
# the Shapes world. The official CogVideoX checkpoints use *the same architecture* — a causal 3D VAE,
# an expert transformer with 3D full attention, a text encoder — only bigger, and sampled with a
# different noise process. `minicog.CogVideoX` loads them from a local folder into minicog's own
# modules.
#
# **In this lecture / 이번 강의에서 배울 것**
# 1. **모델 설정 (model configs)** side by side, and **매개변수 수 (parameter counts)** from scratch;
# 2. **토큰 계산 (token arithmetic)** — why a 49 × 480 × 720 video is **17,550 video tokens** — and
#    what **3D 전체 어텐션 (3D full attention)** over them costs;
# 3. **활성화 메모리 (activation memory)** by hand, compared with a trace of the real code;
# 4. the **메모리 절약 기법 (memory savers)** — bf16, VAE 프레임 청크 (frame chunking) and 타일링
#    (tiling), 모델 CPU 오프로드 (model CPU offload) — and what a 24 GB GPU needs;
# 5. a **체크포인트 (checkpoint)** folder in the official layout, and the whole **파이프라인 (pipeline)** —
#    text encoder → expert transformer → 3D causal VAE — drawn with the tensor shapes traced on it;
#    the sampler, **v-예측 DDIM (v-prediction DDIM)**, checked against diffusers, and shown to be a
#    **정류 흐름 (rectified flow)** model in disguise (so FlowDirector runs on it);
# 6. generating a video.
#
# Without real weights (CI) it builds a small *random* checkpoint in the official layout and runs on
# it; with `COGVIDEOX_WEIGHTS=/path/to/CogVideoX-2b` (or -5b) on a GPU it generates a real video.

# %%
import os
import sys
import tempfile
from pathlib import Path

import ipywidgets as widgets
import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import torch
from IPython.display import Markdown, display
from IPython.utils.capture import capture_output

import minicog
from minicog import memory
from minicog.causal_vae import CausalVAE, VAEConfig
from minicog.diagrams import draw_chain, shape_text, trace_shapes
from minicog.dit import DiTConfig, VideoDiT
from minicog.sizes import latent_length
from minicog.utils import FAST, seed_everything

seed_everything(0)
WEIGHTS = os.environ.get("COGVIDEOX_WEIGHTS")
print("fast mode:", FAST, "| real weights:", WEIGHTS or "none (a random toy checkpoint will be built)")

# %% [markdown]
# ## A minute of live demo: does a 5B video model fit a 24 GB GPU?
# CogVideoX generates one 49-frame 480 × 720 video with classifier-free guidance in three stages: the
# T5 text encoder, 50 steps of the expert transformer, the causal VAE's decoder. `minicog.memory` runs
# the real modules on PyTorch's **meta device** (shapes, no memory, no arithmetic) and adds up every
# tensor alive at each moment: the GPU memory each setting needs, computed in seconds on a laptop (a
# margin for the CUDA context included). **Look at the dashed 24 GB line**: which settings bring each
# model's bar below it.

# %%
settings = [name for name, _ in memory.MEMORY_SETTINGS]
needed = {p: [memory.with_margin(memory.estimate_memory(*memory.preset_configs(p), 49, 480, 720, **kw).peak)
              / 2**30 for _, kw in memory.MEMORY_SETTINGS] for p in ("2b", "5b")}
fig, ax = plt.subplots(figsize=(9, 3.5))
x = np.arange(len(settings))
for i, (p, v) in enumerate(needed.items()):
    ax.bar(x + (i - 0.5) * 0.38, v, 0.38, label=f"CogVideoX-{p.upper()}")
ax.axhline(24e9 / 2**30, color="k", ls="--", lw=1, label="24 GB GPU")
ax.set_xticks(x, [s.replace(" + ", "\n+ ") for s in settings], fontsize=7)
ax.set_yscale("log")
ax.set_ylabel("GPU memory needed (GiB)")
ax.legend()
ax.set_title("one 49 × 480 × 720 video with CFG: computed on the meta device")
plt.tight_layout()
plt.show()
fits = {p: [s for s, v in zip(settings, needed[p]) if v * 2**30 <= 24e9] for p in needed}
for p, names in fits.items():
    print(f"{p.upper()} fits a 24 GB GPU with: " + "; ".join(names))
assert fits["5b"] and all("offload" in name for name in fits["5b"])       # 5B needs model CPU offload

# %% [markdown]
# ## 1. The configs side by side
# The tiny DiT of the course and the two official transformers are instances of one `DiTConfig`.
# 2B positions video tokens with a 3D sincos embedding added to the tokens, 5B with 3D RoPE on queries
# and keys. We build each model on PyTorch's **meta device** — shapes without memory — to count its
# parameters for free.

# %%
configs = {"tiny": DiTConfig.tiny(), "2B": DiTConfig.cogvideox_2b(), "5B": DiTConfig.cogvideox_5b()}


def count_params(module_factory):
    with torch.device("meta"):                      # no memory, no init time: a 5B model in milliseconds
        m = module_factory()
    return sum(p.numel() for p in m.parameters())


rows = ["num_layers", "num_heads", "head_dim", "hidden", "time_embed_dim", "text_embed_dim", "in_channels",
        "patch_size", "use_rope"]
print(f"{'':16s}" + "".join(f"{k:>14s}" for k in configs))
for r in rows:
    print(f"{r:16s}" + "".join(f"{str(getattr(c, r)):>14s}" for c in configs.values()))
n_dit = {k: count_params(lambda c=c: VideoDiT(c)) for k, c in configs.items()}
print(f"{'parameters':16s}" + "".join(f"{n / 1e6:>13.1f}M" for n in n_dit.values()))

# %% [markdown]
# Where do these counts come from? Per block: two expert adaLNs (a LayerNorm and a linear from the
# timestep embedding to 6 × hidden — shift/scale/gate for text and for video), attention (fused q/k/v,
# q/k LayerNorms, output projection) and a 4× MLP. Counting them by hand:

# %%
def dit_params(c: DiTConfig) -> int:
    D, te, p = c.hidden, c.time_embed_dim, c.patch_size
    patch = c.in_channels * p * p * D + D                       # patch embedding (a linear on 2×2 patches)
    text = c.text_embed_dim * D + D                             # T5 width -> hidden
    time = D * te + te + te * te + te                           # timestep MLP
    adaln = 2 * D + te * 6 * D + 6 * D                          # LayerNorm + (shift, scale, gate) × (text, video)
    attn = D * 3 * D + 3 * D + 4 * c.head_dim + D * D + D        # qkv, q/k norms, out projection
    mlp = D * 4 * D + 4 * D + 4 * D * D + D
    final = 2 * D + 2 * D + te * 2 * D + 2 * D + D * c.out_channels * p * p + c.out_channels * p * p
    return patch + text + time + c.num_layers * (2 * adaln + attn + mlp) + final


for k, c in configs.items():
    assert dit_params(c) == n_dit[k], k
c5 = configs["5B"]
square = 12 * c5.hidden**2 * c5.num_layers                     # the MLP's 8·D² and attention's 4·D² per block
adaln = 2 * c5.time_embed_dim * 6 * c5.hidden * c5.num_layers  # the two expert adaLNs' linears
print({k: f"{dit_params(c) / 1e9:.3f} B" for k, c in configs.items()})
print(f"5B: the 12·D² of attention and MLP per block are {square / n_dit['5B']:.0%} of all parameters, "
      f"the expert adaLNs {adaln / n_dit['5B']:.1%}")

# %% [markdown]
# The other two models. The VAE is the same network for 2B and 5B (only the latent scaling factor
# differs); the text encoder is the **encoder half of T5-XXL v1.1** — bigger than the whole 2B transformer.

# %%
n_vae = {"tiny": count_params(lambda: CausalVAE(VAEConfig.tiny())),
         "2B/5B": count_params(lambda: CausalVAE(VAEConfig.cogvideox_5b()))}


def t5_params(vocab=32128, d=4096, d_kv=64, heads=64, d_ff=10240, layers=24, buckets=32):
    """Token embedding + per layer: q, k, v, o (no biases), gated-GELU MLP (3 matrices), 2 RMSNorms."""
    return vocab * d + layers * (4 * d * heads * d_kv + 3 * d * d_ff + 2 * d) + buckets * heads + d


n_t5 = t5_params()
assert n_t5 == memory.t5_encoder_params() and n_t5 > n_dit["2B"]
print(f"VAE: tiny {n_vae['tiny'] / 1e6:.2f}M, real {n_vae['2B/5B'] / 1e6:.1f}M; T5-XXL encoder: {n_t5 / 1e9:.2f} B")
for name, n in [("T5-XXL encoder", n_t5), ("2B transformer", n_dit["2B"]), ("5B transformer", n_dit["5B"]),
                ("VAE", n_vae["2B/5B"])]:
    print(f"  {name:15s} weights: fp32 {4 * n / 2**30:5.1f} GiB   bf16 {2 * n / 2**30:5.1f} GiB")
assert 4 * n_dit["5B"] > 0.8 * 24e9                            # fp32 5B weights alone nearly fill 24 GB

# %% [markdown]
# **Takeaway.** Scaling up changes sizes, not structure: one `DiTConfig` describes the tiny model and
# both official transformers, and their parameters are mostly the 12·D² of attention and MLP in each
# block. The text encoder, a word embedding in the course's tiny model, is here a T5-XXL encoder bigger
# than the whole 2B transformer, and in fp32 the 5B transformer's weights alone nearly fill a 24 GB GPU.

# %% [markdown]
# ## 2. Tokens: why 49 × 480 × 720 is 17,550 video tokens
# The causal VAE keeps frame 0 alone and compresses 4× in time after it, and 8× in space:
# 49 frames → 1 + 48/4 = **13** latent frames of 60 × 90. The transformer cuts 2 × 2 patches:
# 30 × 45 = 1,350 tokens per latent frame, × 13 = **17,550** video tokens, plus 226 T5 tokens, all in
# **one** sequence (3D full attention, CogVideoX §2.2). The tiny model sees 80.

# %%
def video_tokens(frames, height, width, p=2, s=8, t=4):
    return ((frames - 1) // t + 1) * (height // (s * p)) * (width // (s * p))


N = video_tokens(49, 480, 720)
S = N + 226
print("latent", (16, (49 - 1) // 4 + 1, 480 // 8, 720 // 8), "| video tokens", N, "| sequence", S,
      "| tiny:", video_tokens(17, 64, 64))
assert N == 17_550 and video_tokens(17, 64, 64) == 80

# one attention score matrix: batch 2 (classifier-free guidance) × heads × S × S
for name, c in [("2B", configs["2B"]), ("5B", configs["5B"])]:
    scores = 2 * c.num_heads * S * S * 2
    print(f"{name}: one layer's attention matrix in bf16 = {scores / 2**30:.0f} GiB "
          f"(the layer's input is only {2 * S * c.hidden * 2 / 2**30:.2f} GiB)")
    assert scores > 24e9

# %% [markdown]
# For one layer, that matrix alone is bigger than a whole 24 GB GPU — and it is never built: fused attention kernels
# (FlashAttention, PyTorch's memory-efficient SDPA) stream over keys block by block, so attention costs
# memory *linear* in the sequence length: they keep q, k, v and the output, never the scores. Its
# compute is still quadratic. The figure draws both for 5B against the number of video tokens, from 5
# to 161 frames at a given size; the dots are the setting of the sliders. The figure under the sliders
# is the starting setting (49 frames at 480 × 720); the panel beside them redraws as you move them.

# %%
def attention_stats(frames_k, height, width, c=configs["5B"]):
    """One layer of 5B with CFG (batch 2) in bf16: video tokens, the naive (batch × heads × S × S) score
    matrix and the fused kernel's q, k, v and output (4 × batch × S × D) in GiB, and the attention
    FLOPs of one sampling step (batch × (QKᵀ and PV) × multiply-add × layers × S² × D) in TFLOP."""
    n = video_tokens(1 + 4 * frames_k, height, width)
    s = n + 226
    return (n, 2 * c.num_heads * s * s * 2 / 2**30, 4 * 2 * s * c.hidden * 2 / 2**30,
            2 * 2 * 2 * c.num_layers * s * s * c.hidden / 1e12)


def attention_cost(frames_k=12, height=480, width=720):
    n, naive, fused, tflop = attention_stats(frames_k, height, width)
    curve = np.array([attention_stats(k, height, width) for k in range(1, 41)])
    fig, axes = plt.subplots(1, 2, figsize=(9, 3))
    axes[0].loglog(curve[:, 0], curve[:, 1], "--", label="naive score matrix (never built)")
    axes[0].loglog(curve[:, 0], curve[:, 2], "-", label="fused kernel: q, k, v, output")
    axes[0].plot([n, n], [naive, fused], "o", color="k")
    axes[0].set_ylabel("GiB per layer")
    axes[0].legend(fontsize=7)
    axes[1].loglog(curve[:, 0], curve[:, 3], "-", color="C2")
    axes[1].plot([n], [tflop], "o", color="k")
    axes[1].set_ylabel("attention TFLOP per step")
    for ax in axes:
        ax.set_xlabel(f"video tokens (5 to 161 frames at {height} × {width})")
        ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:,.0f}"))
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    plt.tight_layout()
    plt.show()
    print(f"{1 + 4 * frames_k} frames × {height}×{width}: {n:,} video tokens; per layer, a naive score matrix "
          f"{naive:,.0f} GiB against the fused kernel's {fused:.2f} GiB; attention FLOPs per step {tflop:,.0f} TFLOP")


sliders = dict(frames_k=widgets.IntSlider(12, 1, 40, description="k (frames=1+4k)"),
               height=widgets.IntSlider(480, 160, 1280, step=16), width=widgets.IntSlider(720, 160, 1280, step=16))
cost_out = widgets.Output()                                # filled when a slider moves


def redraw_cost(_=None):
    """Draw into `cost_out` from the kernel side (not `interact` / `with out:`, whose captured output
    can leave a headless run hanging; docs/notebooks.md)."""
    with capture_output() as cap:
        attention_cost(**{name: s.value for name, s in sliders.items()})
    cost_out.outputs = (*({"output_type": "display_data", "data": o.data, "metadata": o.metadata}
                          for o in cap.outputs),
                        {"output_type": "stream", "name": "stdout", "text": cap.stdout})


for s in sliders.values():
    s.observe(redraw_cost, "value")
display(widgets.HBox([widgets.VBox(list(sliders.values())), cost_out]))
attention_cost()                                           # the starting setting, an ordinary figure
curve = np.array([attention_stats(k, 480, 720) for k in range(1, 41)])
slope = {name: np.polyfit(np.log(curve[:, 0]), np.log(curve[:, col]), 1)[0]
         for name, col in (("fused memory", 2), ("compute", 3))}
print("slopes on the log-log plots, against the number of tokens: "
      + ", ".join(f"{k} {v:.2f}" for k, v in slope.items()))
assert 0.9 < slope["fused memory"] < 1.05 and 1.8 < slope["compute"] < 2.05

# %% [markdown]
# **Takeaway.** 3D full attention over 17,776 tokens is affordable only because the score matrix is
# never stored: with a fused kernel its memory grows linearly with the tokens while its compute grows
# with their square, so twice the tokens cost about four times the attention compute.

# %% [markdown]
# ## 3. Activation memory: by hand, and traced
# In inference no layer keeps its activations for a backward pass, so the transformer's peak is *one*
# layer's worth. By hand: the residual stream, the normalised copy, q/k/v, the attention output, and the
# 4×-wide MLP hidden state (before and after GELU) — roughly **10–14 tensors of B'·S·D** values.
#
# `minicog.memory.estimate_memory` does not guess: it runs the real modules on the meta device and
# adds up the bytes of every tensor alive at each moment (a `TorchDispatchMode` that counts creations
# and frees), at exactly this size, with attention traced as a fused kernel.

# %%
dit5, vae5 = memory.preset_configs("5b")
est = memory.estimate_memory(dit5, vae5, 49, 480, 720, dtype=torch.bfloat16, offload=True)
unit = 2 * S * dit5.hidden * 2                                    # one (B'=2, S, D) bf16 tensor
traced = est.activations["transformer"]
print(f"5B transformer: traced peak activations {traced / 2**30:.2f} GiB = {traced / unit:.1f} × (2, S, D) tensors")
assert 10 <= traced / unit <= 14                                  # the hand count holds

# the VAE decoder: its largest tensors are the 256-channel maps at full resolution (after the last
# upsampling), for one chunk of 2 latent frames (+1 for the first chunk) = 9 video frames
largest = 256 * 9 * 480 * 720 * 2
vae_act = est.activations["vae"]
print(f"VAE decode (frame chunking): traced {vae_act / 2**30:.2f} GiB = {vae_act / largest:.1f} × the largest "
      f"tensor ({largest / 2**30:.2f} GiB)")
print(est)
assert traced < est.weights["transformer"] and vae_act > traced

# %% [markdown]
# **Takeaway.** At inference the transformer's activations are one layer's worth, about a dozen
# (2, S, D) tensors, much smaller than its weights; the largest activations of the whole pipeline are the VAE
# decoder's full-resolution feature maps. Weights and the decoder's activations are what the memory
# savers below attack.

# %% [markdown]
# ## 4. The memory savers, and what a 24 GB GPU needs
# The demo's bars, stage by stage: peak GPU memory for one 49 × 480 × 720 video with CFG, **computed,
# not measured** (parameter counts × bytes + traced activations; "fits" adds 10 % and 0.5 GiB for the
# CUDA context). Without offload all three models stay on the GPU (as in diffusers); with **model CPU
# offload** only the running one does. **bf16** halves every byte; **VAE frame chunking** decodes two
# latent frames at a time; **VAE tiling** decodes overlapping spatial tiles.

# %%
table = memory.memory_table(("2b", "5b"))
display(Markdown(table))

# %%
stages = {name: memory.estimate_memory(dit5, vae5, 49, 480, 720, **kw) for name, kw in memory.MEMORY_SETTINGS}
for name, e in stages.items():
    print(f"5B, {name:38s} the peak is set by the {e.peak_stage} stage ({e.peak / 2**30:.1f} GiB)")
fp32, bf16, chunked, tiled, offload, _ = (stages[n].stage_peaks() for n in settings)
assert all(abs(bf16[k] / fp32[k] - 0.5) < 0.01 for k in fp32)                         # bf16 halves every stage
assert chunked["vae"] < bf16["vae"] and tiled["vae"] < chunked["vae"]                 # the VAE savers...
assert all(chunked[k] == bf16[k] and tiled[k] == chunked[k] for k in ("text_encoder", "transformer"))  # ...only
assert all(offload[k] < chunked[k] for k in offload)                                  # offload: every stage

# %% [markdown]
# **Takeaway.** Each saver attacks one thing: bf16 every byte, frame chunking and tiling the VAE
# decoder's activations, model CPU offload the weights of the models that are not running. For 5B the
# stage that sets the peak moves from the VAE decoder to the transformer, whose own weights then
# decide: only offload, which keeps the T5 encoder off the GPU while the transformer runs, makes 5B fit
# a 24 GB GPU.

# %% [markdown]
# ## 5. A checkpoint folder in the official layout
# The official checkpoints are diffusers folders: `transformer/` (sharded safetensors + an index json),
# `vae/`, `scheduler/scheduler_config.json`, `text_encoder/` + `tokenizer/` (T5). Without real weights we
# build a random toy one with exactly that layout (the same builder the tests use: tiny random
# diffusers modules, a 2-layer T5 and a T5 tokenizer made offline).

# %%
if WEIGHTS:
    folder = Path(WEIGHTS)
else:
    from diffusers.utils import logging as diffusers_logging          # the course extra
    from transformers.utils import logging as transformers_logging

    diffusers_logging.disable_progress_bar()                           # no progress-bar widgets
    transformers_logging.disable_progress_bar()
    sys.path.insert(0, str(Path(minicog.__file__).resolve().parents[1] / "notebooks"))
    from toy_cogvideox import build_cogvideox_folder                   # notebooks/toy_cogvideox.py
    folder = build_cogvideox_folder(Path(tempfile.mkdtemp()) / "CogVideoX-toy", variant="5b")
for part in sorted(p for p in folder.iterdir()):
    files = sorted(f.name for f in part.iterdir()) if part.is_dir() else []
    print(f"{part.name + ('/' if part.is_dir() else ''):16s}", f"{len(files)} files" if files else "",
          [f for f in files if f.endswith(".json")])

# %%
device = "cuda" if torch.cuda.is_available() else "cpu"
pipe = minicog.CogVideoX.from_pretrained(folder, device=device, cpu_offload=WEIGHTS is not None)
print(pipe)
print("latents for the default size:", pipe.latent_shape(), "| sampling defaults:", pipe.config)

# %% [markdown]
# ### The whole pipeline, traced
# With a checkpoint loaded, CogVideoX's pipeline — text encoder → expert transformer → 3D causal VAE — can
# be drawn from the modules themselves. We run it once on a prompt with forward hooks on its stages
# (`minicog.diagrams.trace_shapes`) and record the shape of every tensor handed from one stage to the
# next. The letters: B batch, L text tokens, D feature width, N video tokens, S = L + N the joint
# sequence, C T H W channels, frames, height and width. The transformer and the sampler step run once per
# sampling step (here 1, officially 50); with classifier-free guidance the transformer's batch is 2.
#
# For the real models we do not run a 5B transformer to learn its shapes: the same tensors' shapes
# follow from the configs and the size rules (`minicog.sizes`). The function that computes them is
# checked against the trace at the toy size first, then applied to CogVideoX-2B and -5B at 49 × 480 × 720.

# %%
prompt0, size0 = "a red circle moving left", dict(num_frames=9, height=32, width=48)
ORDER = ["token ids", "text embeddings", "noise latents", "joint tokens", "video tokens", "v-prediction",
         "clean latents", "video"]                                        # in the order they are made


def text_to_video(prompt, steps=1):
    """The pipeline once, without guidance (batch 1): T5, the denoising loop, the VAE decoder. Returns the
    shapes of the handed-over tensors that are no hooked module's output."""
    ids = pipe.tokenizer(prompt, padding="max_length", max_length=pipe.text_length, return_tensors="pt").input_ids
    noise = pipe.noise(0, **size0)                                        # (1, C, T', H', W')
    latents = pipe.denoise(pipe.encode_prompt(prompt)[0], None, noise, steps=steps, guidance=1.0)
    pipe.decode_latents(latents)                                          # (1, 3, T, H, W) inside
    return {"token ids": ids.shape, "noise latents": noise.shape, "clean latents": latents.shape}


handed = {}
hooks = {"text embeddings": pipe.text_encoder, "joint tokens": pipe.dit.blocks[0].norm1,
         "video tokens": pipe.dit.norm_final, "v-prediction": pipe.dit, "video": pipe.vae.decoder}
stages = trace_shapes(lambda p: handed.update(text_to_video(p)), prompt0, modules=hooks)
traced = {**dict(stages), **handed}                                       # each stage runs once here
traced = {name: tuple(traced[name]) for name in ORDER}


def pipeline_shapes(dit_cfg, vae_cfg, num_frames, height, width, text_len=226, batch=1):
    """The same tensors' shapes from the configs and the size rules alone (no weights; nothing runs)."""
    s = 2 ** (len(vae_cfg.block_out_channels) - 1)                       # the VAE's spatial compression
    latents = (batch, vae_cfg.latent_channels, latent_length(num_frames, vae_cfg.temporal_compression_ratio),
               height // s, width // s)
    n = latents[2] * (latents[3] // dit_cfg.patch_size) * (latents[4] // dit_cfg.patch_size)   # video tokens
    return {"token ids": (batch, text_len), "text embeddings": (batch, text_len, dit_cfg.text_embed_dim),
            "noise latents": latents, "joint tokens": (batch, text_len + n, dit_cfg.hidden),
            "video tokens": (batch, n, dit_cfg.hidden), "v-prediction": latents, "clean latents": latents,
            "video": (batch, 3, num_frames, height, width)}


assert pipeline_shapes(pipe.dit.config, pipe.vae.config, **size0, text_len=pipe.text_length) == traced
computed = {p: pipeline_shapes(*memory.preset_configs(p), 49, 480, 720) for p in ("2b", "5b")}
AXES = {"token ids": "BL", "text embeddings": "BLD", "joint tokens": "BSD", "video tokens": "BND"}


def draw_pipeline(shapes, blocks, steps, title, ax):
    boxes = ["prompt", "T5 text\nencoder", "initial noise ε\n(the seed)", "patchify, embed\n[text | video]",
             f"{blocks} expert blocks\n(3D full\nattention)", "final adaLN,\nunpatchify",
             f"DDIM step\n(= Euler step on\nv → velocity)\n× {steps}", "3D causal VAE\ndecoder", "video"]
    arrows = [f"{name}\n{shape_text(shapes[name], AXES.get(name, 'BCTHW'))}" for name in ORDER]
    draw_chain(boxes, arrows, colors=[4, 0, 2, 1, 1, 1, 2, 3, 4], per_row=5, title=title, ax=ax)


c2, c5 = (memory.preset_configs(p)[0] for p in ("2b", "5b"))
fig, axes = plt.subplots(2, 1, figsize=(12.5, 8.6))
draw_pipeline(traced, pipe.dit.config.num_layers, "1 step", f"traced: the toy checkpoint's modules on {prompt0!r} "
              f"({size0['num_frames']} frames × {size0['height']} × {size0['width']})", axes[0])
draw_pipeline(computed["5b"], c5.num_layers, "50 steps", "computed from the configs (nothing run): CogVideoX-5B, "
              f"49 frames × 480 × 720  (2B: D {c2.hidden}, {c2.num_layers} blocks)", axes[1])
plt.tight_layout()
plt.show()
for name in ("text embeddings", "joint tokens", "video"):
    print(f"{name:16s} toy (traced) {str(traced[name]):20s} 2B {str(computed['2b'][name]):20s} "
          f"5B {computed['5b'][name]}")

# %% [markdown]
# **Takeaway.** minicog reads the official layout as it is, config files and sharded weights: the same
# `CogVideoX.from_pretrained` call loads this toy folder on a CPU and the real 2B / 5B folders on a GPU,
# into minicog's own VAE and transformer. The traced pipeline and the computed one have the same stages
# and the same tensors; scaling up changes only their sizes — the text embeddings' width, the number of
# video tokens in the joint sequence, the transformer's width and depth, the video's frames and pixels.

# %% [markdown]
# ## 6. The sampler: v-prediction DDIM — and the same thing as rectified flow
# CogVideoX was trained as a VP diffusion model, `x_t = a_t·x0 + b_t·ε`, predicting
# `v = a_t·ε − b_t·x0`, on a schedule with the SNR shift and **zero terminal SNR** (ᾱ_999 = 0: the last
# timestep is pure noise), sampled by DDIM on "trailing" timesteps 999, 979, …, 19. `pipe.denoise` is
# that loop; on the toy checkpoint we check it against diffusers' own `CogVideoXPipeline`.

# %%
sched = pipe.scheduler
fig, ax = plt.subplots(1, 2, figsize=(9, 3))
t = np.arange(1000)
ax[0].plot(t, sched.alphas_cumprod.numpy(), label=f"ᾱ_t (snr shift {sched.config.snr_shift_scale})")
ax[0].plot(t, sched.rf_time(torch.arange(1000)).numpy(), label="RF time s(t) = b/(a+b)")
ax[0].set_xlabel("DDPM timestep")
ax[0].legend(fontsize=8)
grid = pipe.rf_grid(50)
ax[1].plot(grid.numpy(), "o-", ms=2)
ax[1].set_xlabel("step")
ax[1].set_ylabel("RF time s")
ax[1].set_title("the 50 trailing DDIM steps as RF times", fontsize=9)
plt.tight_layout()
plt.show()
print("first timesteps:", sched.set_timesteps(50)[:4].tolist(), "... last:", sched.timesteps[-1].item(),
      "| ᾱ_999 =", float(sched.alphas_cumprod[-1]))

# %%
if not WEIGHTS:
    from diffusers import CogVideoXPipeline
    ref = CogVideoXPipeline.from_pretrained(folder)
    ref.set_progress_bar_config(disable=True)
    emb, neg = pipe.encode_prompt(["a red circle moving left", ""])[0].chunk(2)
    noise = pipe.noise(0, height=32, width=48)
    steps = 10 if FAST else 50
    ours = pipe.denoise(emb, neg, noise, steps=steps, guidance=6.0)
    theirs = ref(prompt_embeds=emb, negative_prompt_embeds=neg, latents=noise.permute(0, 2, 1, 3, 4),
                 num_frames=9, height=32, width=48, num_inference_steps=steps, guidance_scale=6.0,
                 output_type="latent").frames.permute(0, 2, 1, 3, 4)       # diffusers: (B, T, C, h, w)
    err = ((ours - theirs).abs().max() / theirs.abs().max()).item()
    print(f"denoise vs diffusers, {steps} steps: max relative error {err:.1e}")
    assert err < 1e-4

# %% [markdown]
# **Why FlowDirector runs on it.** The state x_t and the model's v are two different mixtures of the
# same x0 and ε, so together they determine both: the model's estimates x̂0 and ε̂ (Exercise 9.1). Rescale
# the state: `z = x_t/(a + b)` is exactly `(1 − s)·x̂0 + s·ε̂` with `s = b/(a + b)` — a point on the
# straight line of rectified flow, moving with the velocity `u = ε̂ − x̂0` of week 2 (Exercise 9.2 writes
# it in x_t and v). A DDIM step keeps x̂0 and ε̂ and moves to the next noise level: that is an **Euler
# step on z** (Exercise 9.3 writes one from v alone). So `pipe.velocity(z, s, embeds)` is an ordinary
# minicog velocity model, and `rectified_flow.sample` on the grid above reproduces DDIM. Let us check one
# step on the pipeline.

# %%
emb1 = pipe.encode_prompt("a red circle moving left")[0]
x = pipe.noise(1, height=32, width=48)                        # s = 1: x_999 = ε, and z = x
steps = 1 if WEIGHTS else 10                                   # (1 step: 999 → data, cheap on real weights)
after = {}
pipe.denoise(emb1, None, x, steps=steps, guidance=1.0, callback=lambda i, t, lat: after.setdefault(i, lat))
ddim = after[0].float()                                        # the latents after the first DDIM step
s0, s1 = pipe.rf_grid(steps)[:2].tolist()                      # RF times of 999 and of the next timestep
z1 = x.float() + (s1 - s0) * pipe.velocity(x, s0, emb1)        # one Euler step on the RF state
x1 = z1 / ((1 - s1) ** 2 + s1 ** 2) ** 0.5                     # back to the VP state: x = (a + b)·z
step_err = ((x1 - ddim).abs().max() / ddim.abs().max()).item()
print(f"s: {s0:.3f} -> {s1:.3f}; one Euler step on the converted velocity vs one DDIM step: "
      f"relative error {step_err:.1e}")
assert step_err < (1e-4 if pipe.dtype == torch.float32 else 3e-2)

# %% [markdown]
# **Takeaway.** CogVideoX samples with v-prediction DDIM, and `pipe.denoise` reproduces diffusers' loop.
# Rewritten in the rescaled state z, one DDIM step is one Euler step of a rectified-flow velocity, as
# the check above confirms: the samplers of weeks 2 and 6 and the editing methods of weeks 7–8 run on
# the pretrained model unchanged.

# %% [markdown]
# ## 7. Generate
# With real weights on a GPU this is the official recipe (50 steps, CFG 6, 49 frames at 480×720) with
# model CPU offload and VAE tiling on, which fits a 24 GB GPU for 5B. On the random toy checkpoint the
# "video" is structured noise — the point is that every stage runs; `python -m minicog.cogvideox
# --weights DIR --prompt "..." --out out.mp4` does the same from the command line.

# %%
prompt = "a panda playing guitar in a bamboo forest"
if WEIGHTS and torch.cuda.is_available():
    pipe.enable_vae_tiling()
    print(pipe.estimate_memory())
    video = pipe.generate(prompt, seed=0)                                  # 49 × 480 × 720
else:
    video = pipe.generate(prompt, height=32, width=48, steps=4 if FAST else 20, seed=0, progress=False)
path = pipe.save_video(video, Path(tempfile.mkdtemp()) / "cogvideox.mp4")
print(video.shape, video.dtype, "->", path.name, f"({path.stat().st_size / 1e3:.0f} kB, 8 fps)")
assert video.dtype == np.uint8 and video.shape[-1] == 3 and (video.shape[0] - 1) % 4 == 0
_ = minicog.show_video(video, captions=prompt, width=360 if WEIGHTS else 192)

# %% [markdown]
# **Takeaway.** Text encoder, denoising loop and VAE decoder run end to end on the official layout,
# and the video comes out with 1 + 4k frames, as the causal VAE's time compression requires. With real
# weights the same cell is CogVideoX.

# %% [markdown]
# ## Summary / 요약
# * **Scaling up (규모 확장)** changes sizes, not ideas: the same VAE, DiT and sampler code runs the
#   tiny model and CogVideoX-5B, and the pipeline traced on the toy checkpoint and computed for 5B has
#   the same stages and tensors; the T5-XXL text encoder alone is bigger than the whole 2B transformer.
# * **Tokens (토큰)**: 49 frames at 480 × 720 → 13 latent frames of 60 × 90 → 17,550 video tokens
#   (2 × 2 patches) plus 226 text tokens; 3D full attention over 17,776 tokens is affordable only
#   with fused attention (linear memory).
# * **Memory (메모리)**: at inference the *weights* dominate the transformer stage and the *VAE
#   decoder's activations* dominate decoding; bf16, frame chunking, tiling and model offload each
#   attack one of these, and model offload is what makes 5B fit a 24 GB GPU.
# * **Sampler (샘플러)**: CogVideoX samples with v-prediction DDIM; the pretrained v-prediction model
#   converts exactly into a rectified-flow velocity — one Euler step on it matches one DDIM step —
#   and the editing of weeks 7–8 runs on it.

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
# **Predict, then run.** CogVideoX-5B makes 49 frames at 480 × 720. Asked for 97 frames (twice as long)
# at the same size, by what factor does the transformer's peak activation memory grow (one sampling step,
# bf16, classifier-free guidance, a fused attention kernel)? Write your guess in `prediction()` (graded
# only on being answered, not on being right); the cell after the check runs the experiment and prints
# the result beside your guess.

# %% [nbgrader solution id=prediction]
def prediction():
    ### BEGIN SOLUTION
    return 2.0
    ### END SOLUTION

# %% [nbgrader check id=check_prediction points=1]
cw.check_prediction(prediction)

# %%
from minicog import memory
from minicog.dit import DiTConfig, VideoDiT


def transformer_activations(num_frames, height=480, width=720):
    """Peak bytes of the 5B transformer's activations for one step with guidance (batch 2) in bf16, traced
    on the meta device (shapes, no memory) with attention as a fused kernel; one block, since at inference
    every block's activations are freed before the next block runs."""
    with torch.device("meta"):
        dit = VideoDiT(DiTConfig.cogvideox_5b(num_layers=1)).to(torch.bfloat16)
        x = torch.empty(2, 16, (num_frames - 1) // 4 + 1, height // 8, width // 8, dtype=torch.bfloat16)
        text = torch.empty(2, 226, 4096, dtype=torch.bfloat16)
    with memory.FusedAttention():
        return memory.trace_peak_bytes(lambda: dit(x, torch.zeros(2, dtype=torch.int64), text))


a49, a97 = transformer_activations(49), transformer_activations(97)
if cw.show_prediction(prediction, round(a97 / a49, 2), "growth of the transformer's activation memory, 49 → 97 frames (×)"):
    print(f"peak activations of one step: {a49 / 2**30:.1f} GiB at 49 frames, {a97 / 2**30:.1f} GiB at 97")

# %% [markdown]
# The pretrained model is a v-prediction model of a VP process: `x_t = a·x0 + b·ε` with `a = √ᾱ_t`,
# `b = √(1 − ᾱ_t)` (so a² + b² = 1) and `v = a·ε − b·x0`. Each function below gets `alpha_bar` = ᾱ_t
# (a float64 scalar tensor; at the last timestep of CogVideoX's zero-terminal-SNR schedule it is 0, pure
# noise; after the last step it is 1, clean data). As in section 6, the rectified-flow state is
# `z = x_t / (a + b)` at RF time `s = b / (a + b)`, on the straight line from x0 (s = 0) to ε (s = 1).

# %% [markdown]
# **Exercise 9.1 — what v says about x0 and ε (2 points).** Write `v_to_x0_eps(v, x_t, alpha_bar)`, returning
# the pair `(x0_hat, eps_hat)`: the clean latents and the noise that the state `x_t` and the model's `v`
# imply together. For the exact v of a known (x0, ε) it must give back exactly x0 and ε, at every noise
# level, pure noise (ᾱ = 0) included.

# %% [nbgrader solution id=v_to_x0_eps]
def v_to_x0_eps(v, x_t, alpha_bar):
    ### BEGIN SOLUTION
    a, b = alpha_bar.sqrt(), (1 - alpha_bar).sqrt()
    return a * x_t - b * v, b * x_t + a * v
    ### END SOLUTION

# %% [nbgrader check id=check_v_to_x0_eps points=2]
cw.check_v_to_x0_eps(v_to_x0_eps)

# %% [markdown]
# **Exercise 9.2 — v-prediction → velocity (2 points).** Write `v_to_velocity(v, x_t, alpha_bar)`: the
# rectified-flow velocity u of the state z (minicog's convention: s = 1 is noise, s = 0 data), written in
# `x_t` and `v`. For the exact v of a known (x0, ε) it is ε − x0. You may call your `v_to_x0_eps`.

# %% [nbgrader solution id=v_to_velocity]
def v_to_velocity(v, x_t, alpha_bar):
    ### BEGIN SOLUTION
    a, b = alpha_bar.sqrt(), (1 - alpha_bar).sqrt()
    return (b - a) * x_t + (a + b) * v
    ### END SOLUTION

# %% [nbgrader check id=check_v_to_velocity points=2]
cw.check_v_to_velocity(v_to_velocity)

# %% [markdown]
# **Exercise 9.3 — a DDIM step as an Euler step (3 points).** Write
# `ddim_step_as_euler(v, x_t, alpha_bar, alpha_bar_next)`: the model predicted `v` at the state `x_t` (noise
# level ᾱ = `alpha_bar`); return the state at the next, less noisy level ᾱ = `alpha_bar_next`, reached by
# one Euler step of rectified flow — the step section 6 took with `pipe.velocity`, here from `v` and the
# two noise levels alone. It must equal CogVideoX's DDIM step (η = 0), including the first step from pure
# noise (ᾱ = 0) and the last one to clean data (ᾱ_next = 1). You may call your functions above.

# %% [nbgrader solution id=ddim_step_as_euler]
def ddim_step_as_euler(v, x_t, alpha_bar, alpha_bar_next):
    ### BEGIN SOLUTION
    a, b = alpha_bar.sqrt(), (1 - alpha_bar).sqrt()
    a_next, b_next = alpha_bar_next.sqrt(), (1 - alpha_bar_next).sqrt()
    s, s_next = b / (a + b), b_next / (a_next + b_next)
    z_next = x_t / (a + b) + (s_next - s) * v_to_velocity(v, x_t, alpha_bar)
    return (a_next + b_next) * z_next
    ### END SOLUTION

# %% [nbgrader check id=check_ddim_step_as_euler points=3]
cw.check_ddim_step_as_euler(ddim_step_as_euler)
