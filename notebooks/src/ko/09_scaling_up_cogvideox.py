# %% [markdown]
# # 9주차 — 규모 확장: 작은 모델에서 CogVideoX-2B / 5B로
#
# 지금까지는 모두 도형 세계에서 학습한 작은 모델로 실행했습니다. 공식 CogVideoX 체크포인트도 *같은 구조*를
# 씁니다. 3D 인과 VAE(3D causal VAE), 3D 전체 어텐션을 쓰는 전문가 트랜스포머(expert transformer), 텍스트
# 인코더로 이루어져 있으며, 다만 더 크고, 다른 노이즈 과정으로 샘플링합니다. `minicog.CogVideoX`는 로컬 폴더에서
# 이 체크포인트를 minicog 자신의 모듈로 불러옵니다.
#
# **이번 강의에서 배울 것**
# 1. **모델 설정**(model configs)을 나란히 비교하고, **매개변수 수**(parameter counts)를 처음부터 세기
# 2. **토큰 계산**(token arithmetic): 49 × 480 × 720 비디오가 왜 **비디오 토큰 17,550개**인지, 그리고 그 위의
#    **3D 전체 어텐션**(3D full attention)에 드는 비용
# 3. **활성화 메모리**(activation memory)를 손으로 계산하고, 실제 코드를 추적(trace)한 결과와 비교하기
# 4. **메모리 절약 기법**(memory savers): bf16, VAE 프레임 청크(frame chunking)와 타일링(tiling), 모델 CPU
#    오프로드(model CPU offload), 그리고 24 GB GPU에 필요한 것
# 5. 공식 레이아웃의 **체크포인트**(checkpoint) 폴더와, 그 위에서 텐서 모양을 추적해 그린 **파이프라인**(pipeline)
#    전체(텍스트 인코더 → 전문가 트랜스포머 → 3D 인과 VAE). 그리고 샘플러인 **v-예측 DDIM**(v-prediction DDIM)을
#    diffusers와 대조하고, 그것이 모습만 바꾼 **정류 흐름**(rectified flow) 모델임을 보이기(그래서 FlowDirector가
#    그 위에서 돌아갑니다)
# 6. 비디오 생성하기
#
# 실제 가중치가 없으면(CI) 공식 레이아웃의 작은 *무작위* 체크포인트를 만들어 그것으로 실행하고, GPU에서
# `COGVIDEOX_WEIGHTS=/path/to/CogVideoX-2b`(또는 -5b)를 지정하면 실제 비디오를 생성합니다.

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
# ## 1분 라이브 데모: 5B 비디오 모델이 24 GB GPU에 들어갈까?
# CogVideoX는 분류기 없는 가이던스(classifier-free guidance)를 써서 49프레임 480 × 720 비디오 하나를 세 단계로
# 생성합니다. T5 텍스트 인코더, 전문가 트랜스포머 50스텝, 인과 VAE의 디코더입니다. `minicog.memory`는 실제 모듈을
# PyTorch의 **meta 장치**(meta device, 형태만 있고 메모리도 연산도 없음)에서 실행하며, 각 순간에 살아 있는 모든
# 텐서를 합산합니다. 그 결과 각 설정에 필요한 GPU 메모리를 랩톱에서 몇 초 만에 계산합니다(CUDA 컨텍스트를 위한
# 여유분 포함). **24 GB 점선을 보세요.** 각 모델의 막대를 그 아래로 내려 주는 설정이 무엇인지 확인할 수 있습니다.

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
# ## 1. 설정 나란히 보기
# 이 강좌의 작은 DiT와 두 공식 트랜스포머는 모두 하나의 `DiTConfig`의 인스턴스입니다. 2B는 3D sincos 임베딩을
# 토큰에 더해 비디오 토큰의 위치를 나타내고, 5B는 쿼리와 키에 3D RoPE를 적용합니다. 각 모델을 PyTorch의
# **meta 장치**(메모리 없이 형태만)에 만들어 매개변수를 공짜로 셉니다.

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
# 이 수는 어디서 나올까요? 블록마다 전문가 적응형 레이어 정규화(expert adaLN) 두 개(LayerNorm 하나와, 타임스텝
# 임베딩(timestep embedding)에서 6 × hidden으로 가는 선형층 하나: 텍스트와 비디오 각각의 shift/scale/gate), 어텐션
# (하나로 합친 q/k/v, q/k LayerNorm, 출력 투영), 그리고 4배 MLP가 있습니다. 손으로 세어 봅니다.

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
# 나머지 두 모델입니다. VAE는 2B와 5B에서 같은 네트워크이고(잠재 변수 스케일링 계수만 다릅니다), 텍스트 인코더는
# **T5-XXL v1.1의 인코더 절반**으로, 2B 트랜스포머 전체보다 큽니다.

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
# **정리.** 규모 확장은 구조가 아니라 크기를 바꿉니다. 하나의 `DiTConfig`가 작은 모델과 두 공식 트랜스포머를 모두
# 기술하며, 그 매개변수는 대부분 각 블록에서 어텐션과 MLP가 차지하는 12·D²입니다. 강좌의 작은 모델에서는 단어
# 임베딩이었던 텍스트 인코더가 여기서는 2B 트랜스포머 전체보다 큰 T5-XXL 인코더이고, fp32에서는 5B 트랜스포머의
# 가중치만으로 24 GB GPU가 거의 가득 찹니다.

# %% [markdown]
# ## 2. 토큰: 49 × 480 × 720이 왜 비디오 토큰 17,550개인가
# 강의: "Spatial은 8배, temporal은 4배 줄어드는 구조." 인과 VAE는 프레임 0을 따로 두고 그 뒤를 시간 방향으로
# 4배, 공간 방향으로 8배 압축합니다. 49프레임 → 60 × 90 크기의 잠재 프레임 1 + 48/4 = **13**개입니다. 트랜스포머는
# 2 × 2 패치로 자릅니다. 잠재 프레임당 30 × 45 = 1,350 토큰, × 13 = 비디오 토큰 **17,550**개이며, 여기에 T5 토큰
# 226개가 더해져 모두 **하나의** 시퀀스에 들어갑니다(3D 전체 어텐션, CogVideoX §2.2). 작은 모델은 80개를 봅니다.

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
# 레이어 하나만 봐도 이 행렬 하나가 24 GB GPU 전체보다 큽니다. 그리고 이 행렬은 결코 만들어지지 않습니다. 융합
# 어텐션 커널(fused attention kernel: FlashAttention, PyTorch의 메모리 효율적 SDPA)은 키를 블록 단위로 훑어
# 나가므로, 어텐션의 메모리는 시퀀스 길이에 *선형*입니다. q, k, v와 출력만 유지하고 점수는 결코 저장하지 않습니다.
# 연산량은 여전히 이차입니다. 그림은 5B에 대해 이 둘을 비디오 토큰 수에 따라 그린 것으로, 주어진 크기에서 5프레임부터
# 161프레임까지입니다. 점은 슬라이더의 설정입니다. 슬라이더 아래의 그림은 시작 설정(480 × 720에서 49프레임)이고,
# 슬라이더 옆의 패널은 슬라이더를 움직이면 다시 그려집니다.

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
# **정리.** 17,776개 토큰에 대한 3D 전체 어텐션을 감당할 수 있는 것은 점수 행렬을 저장하지 않기 때문입니다. 융합
# 커널에서는 메모리가 토큰 수에 선형으로 늘고 연산량은 토큰 수의 제곱으로 늘어나므로, 토큰이 두 배면 어텐션 연산은
# 약 네 배가 됩니다.

# %% [markdown]
# ## 3. 활성화 메모리: 손 계산과 추적
# 추론에서는 어떤 레이어도 역전파를 위해 활성화를 보관하지 않으므로, 트랜스포머의 최대치는 레이어 *하나* 분량입니다.
# 손으로 세면 잔차 스트림(residual stream), 정규화된 사본, q/k/v, 어텐션 출력, 그리고 4배 넓은 MLP 은닉 상태(GELU
# 전과 후)로, 대략 **B'·S·D개 값을 가진 텐서 10–14개**입니다.
#
# `minicog.memory.estimate_memory`는 추측하지 않습니다. 실제 모듈을 meta 장치에서 정확히 이 크기로 실행하고, 각
# 순간에 살아 있는 모든 텐서의 바이트를 합산합니다(텐서의 생성과 해제를 세는 `TorchDispatchMode`). 어텐션은 융합
# 커널로 추적합니다.

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
# **정리.** 추론 시 트랜스포머의 활성화는 레이어 하나 분량, 즉 (2, S, D) 텐서 십여 개 정도로 가중치보다 훨씬
# 작습니다. 파이프라인 전체에서 가장 큰 활성화는 VAE 디코더의 전체 해상도 특징 맵입니다. 아래의 메모리 절약 기법이
# 공략하는 것은 가중치와 디코더의 활성화입니다.

# %% [markdown]
# ## 4. 메모리 절약 기법, 그리고 24 GB GPU에 필요한 것
# 데모의 막대를 단계별로 나눠 봅니다. CFG를 쓴 49 × 480 × 720 비디오 하나의 최대 GPU 메모리이며, **측정한 것이
# 아니라 계산한 것**입니다(매개변수 수 × 바이트 + 추적한 활성화. "fits"는 CUDA 컨텍스트를 위해 10 %와 0.5 GiB를
# 더합니다). 오프로드가 없으면 세 모델이 모두 GPU에 머물고(diffusers에서처럼), **모델 CPU 오프로드**를 쓰면 실행
# 중인 모델만 GPU에 있습니다. **bf16**은 모든 바이트를 절반으로 줄이고, **VAE 프레임 청크**는 잠재 프레임을 두
# 개씩 디코딩하며, **VAE 타일링**은 서로 겹치는 공간 타일 단위로 디코딩합니다.

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
# **정리.** 각 절약 기법은 한 가지를 공략합니다. bf16은 모든 바이트를, 프레임 청크와 타일링은 VAE 디코더의 활성화를,
# 모델 CPU 오프로드는 실행 중이 아닌 모델의 가중치를 줄입니다. 5B에서는 최대치를 결정하는 단계가 VAE 디코더에서
# 트랜스포머로 옮겨 가고, 그러면 트랜스포머 자신의 가중치가 관건이 됩니다. 트랜스포머가 실행되는 동안 T5 인코더를
# GPU 밖에 두는 오프로드만이 5B를 24 GB GPU에 들어가게 합니다.

# %% [markdown]
# ## 5. 공식 레이아웃의 체크포인트 폴더
# 공식 체크포인트는 diffusers 폴더입니다. `transformer/`(샤딩된 safetensors + 인덱스 json), `vae/`,
# `scheduler/scheduler_config.json`, `text_encoder/` + `tokenizer/`(T5)로 이루어집니다. 실제 가중치가 없으면 정확히
# 같은 레이아웃으로 무작위 장난감 체크포인트를 만듭니다(테스트가 쓰는 것과 같은 빌더: 작은 무작위 diffusers 모듈,
# 2-레이어 T5, 오프라인에서 만든 T5 토크나이저).

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
# ### 파이프라인 전체를 추적하기
# 체크포인트를 불러왔으니 CogVideoX의 파이프라인(텍스트 인코더 → 전문가 트랜스포머 → 3D 인과 VAE)을 모듈 자체로부터
# 그릴 수 있습니다. 각 단계에 순방향 훅(forward hook)을 걸고(`minicog.diagrams.trace_shapes`) 프롬프트 하나로
# 파이프라인을 한 번 실행해, 한 단계에서 다음 단계로 넘어가는 모든 텐서의 모양을 기록합니다. 글자의 뜻은 다음과
# 같습니다. B는 배치, L은 텍스트 토큰, D는 특징 차원, N은 비디오 토큰, S = L + N은 결합 시퀀스, C T H W는 채널, 프레임,
# 높이, 너비입니다. 트랜스포머와 샘플러 스텝은 샘플링 스텝마다 한 번씩 실행됩니다(여기서는 1번, 공식 레시피는
# 50번). 분류기 없는 가이던스를 쓰면 트랜스포머의 배치는 2입니다.
#
# 실제 모델의 모양을 알려고 5B 트랜스포머를 실행하지는 않습니다. 같은 텐서들의 모양은 설정(config)과 크기 규칙
# (`minicog.sizes`)에서 바로 나옵니다. 그 모양을 계산하는 함수를 먼저 장난감 크기에서 추적 결과와 대조한 뒤,
# 49 × 480 × 720의 CogVideoX-2B와 -5B에 적용합니다.

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
# **정리.** minicog는 공식 레이아웃을 설정 파일과 샤딩된 가중치까지 있는 그대로 읽습니다. 같은
# `CogVideoX.from_pretrained` 호출이 CPU에서는 이 장난감 폴더를, GPU에서는 실제 2B / 5B 폴더를 minicog 자신의 VAE와
# 트랜스포머로 불러옵니다. 추적한 파이프라인과 계산한 파이프라인은 단계도 텐서도 같습니다. 규모 확장이 바꾸는 것은
# 그 크기뿐입니다. 텍스트 임베딩의 차원, 결합 시퀀스 안의 비디오 토큰 수, 트랜스포머의 폭과 깊이, 비디오의 프레임과
# 픽셀 수가 커집니다.

# %% [markdown]
# ## 6. 샘플러: v-예측 DDIM — 그리고 정류 흐름과 같은 것
# CogVideoX는 VP 확산 모델 `x_t = a_t·x0 + b_t·ε`로 학습되었습니다. SNR 시프트와 **종단 SNR 0**(zero terminal SNR,
# ᾱ_999 = 0: 마지막 타임스텝은 순수한 노이즈)을 가진 스케줄에서 `v = a_t·ε − b_t·x0`를 예측하며, "trailing"
# 타임스텝 999, 979, …, 19에서 DDIM으로 샘플링합니다. `pipe.denoise`가 그 루프이며, 장난감 체크포인트에서 diffusers
# 자체의 `CogVideoXPipeline`과 대조해 확인합니다.

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
# **FlowDirector가 여기서 돌아가는 이유.** 상태 x_t와 모델의 v는 같은 x0과 ε을 서로 다르게 섞은 것이므로, 둘을
# 함께 알면 x0과 ε을 모두 알 수 있습니다. 이것이 모델의 추정값 x̂0과 ε̂입니다(과제 9.1). 상태의 크기를 다시
# 맞추면 `z = x_t/(a + b)`는 `s = b/(a + b)`일 때 정확히 `(1 − s)·x̂0 + s·ε̂`입니다. 정류 흐름의 직선 위에 있는
# 점이며, 2주차의 속도 `u = ε̂ − x̂0`로 움직입니다(과제 9.2에서 이를 x_t와 v로 나타냅니다). DDIM 한 스텝은 x̂0과
# ε̂를 유지한 채 다음 노이즈 수준으로 옮겨 가는데, 이것이 곧 **z 위의 오일러 스텝**(Euler step)입니다(과제 9.3에서
# v만으로 한 스텝을 작성합니다). 그래서 `pipe.velocity(z, s, embeds)`는 평범한 minicog 속도 모델이고, 위의
# 격자에서 `rectified_flow.sample`을 실행하면 DDIM이 재현됩니다. 파이프라인에서 한 스텝을 확인해 봅시다.

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
# **정리.** CogVideoX는 v-예측 DDIM으로 샘플링하며, `pipe.denoise`는 diffusers의 루프를 재현합니다. 크기를 다시
# 맞춘 상태 z로 다시 쓰면, 위의 확인이 보여 주듯 DDIM 한 스텝은 정류 흐름 속도의 오일러 한 스텝입니다. 그래서
# 2주차와 6주차의 샘플러와 7–8주차의 편집 방법이 사전 학습된 모델 위에서 그대로 돌아갑니다.

# %% [markdown]
# ## 7. 생성하기
# GPU에서 실제 가중치로 실행하면 이것이 공식 레시피(50스텝, CFG 6, 480×720에서 49프레임)이며, 모델 CPU 오프로드와
# VAE 타일링을 켜서 5B가 24 GB GPU에 들어갑니다. 무작위 장난감 체크포인트에서는 "비디오"가 구조가 있는 노이즈일
# 뿐이며, 요점은 모든 단계가 실행된다는 것입니다.
# `python -m minicog.cogvideox --weights DIR --prompt "..." --out out.mp4`는 명령줄에서 같은 일을 합니다.

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
# **정리.** 텍스트 인코더, 디노이징 루프, VAE 디코더가 공식 레이아웃 위에서 처음부터 끝까지 실행되고, 비디오는 인과
# VAE의 시간 압축이 요구하는 대로 1 + 4k 프레임으로 나옵니다. 실제 가중치를 쓰면 같은 셀이 곧 CogVideoX입니다.

# %% [markdown]
# ## 요약
# * **규모 확장**(scaling up)은 아이디어가 아니라 크기를 바꿉니다. 같은 VAE, DiT, 샘플러 코드가 작은 모델과
#   CogVideoX-5B를 실행하며, 장난감 체크포인트에서 추적한 파이프라인과 5B에 대해 계산한 파이프라인은 단계도
#   텐서도 같습니다. T5-XXL 텍스트 인코더 하나만으로도 2B 트랜스포머 전체보다 큽니다.
# * **토큰**: 480 × 720의 49프레임 → 60 × 90의 잠재 프레임 13개 → 비디오 토큰 17,550개(2 × 2 패치)와 텍스트 토큰
#   226개. 17,776개 토큰에 대한 3D 전체 어텐션은 융합 어텐션(선형 메모리)이 있어야만 감당할 수 있습니다.
# * **메모리**: 추론 시 트랜스포머 단계는 *가중치*가, 디코딩은 *VAE 디코더의 활성화*가 지배합니다. bf16, 프레임
#   청크, 타일링, 모델 오프로드가 각각 이 중 하나를 공략하며, 5B를 24 GB GPU에 들어가게 하는 것은 모델 오프로드입니다.
# * **샘플러**: CogVideoX는 v-예측 DDIM으로 샘플링합니다. 사전 학습된 v-예측 모델은 정류 흐름 속도로 정확히 변환되며
#   (그 위의 오일러 한 스텝이 DDIM 한 스텝과 일치합니다), 7–8주차의 편집이 그 위에서 돌아갑니다.

# %% [markdown] [nbgrader locked id=exercises]
# ## 채점 과제
# 아래의 각 함수를 작성하세요. `raise NotImplementedError()`를 여러분의 코드로 바꾸고 바로 아래의 확인 셀을
# 실행하면, 여러분의 함수를 minicog 자체의 함수와 무작위 입력 및 경계 사례에서 비교해 무엇이 다른지 알려 줍니다.
# `make grade NB=<this notebook>`은 모든 과제를 채점합니다(`docs/coursework.md`).
# 이 절은 단독으로 실행됩니다. 첫 셀에서 필요한 것을 가져옵니다.

# %%
import torch

from minicog import coursework as cw

# %% [markdown]
# **예측한 뒤 실행하기.** CogVideoX-5B는 480 × 720에서 49프레임을 만듭니다. 같은 크기에서 두 배 길이인 97프레임을
# 만들게 하면, 트랜스포머의 최대 활성화 메모리는 몇 배가 될까요(샘플링 한 스텝, bf16, 분류기 없는 가이던스, 융합
# 어텐션 커널)? 여러분의 추측을 `prediction()`에 적으세요(답했는지만 채점하고, 맞았는지는 채점하지 않습니다). 확인
# 셀 다음 셀이 실험을 실행하고 그 결과를 여러분의 추측 옆에 출력합니다.

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
# 사전 학습된 모델은 VP 과정의 v-예측 모델입니다. `x_t = a·x0 + b·ε`이고 `a = √ᾱ_t`, `b = √(1 − ᾱ_t)`(따라서
# a² + b² = 1)이며 `v = a·ε − b·x0`입니다. 아래의 각 함수는 `alpha_bar` = ᾱ_t를 받습니다(float64 스칼라 텐서이며,
# CogVideoX의 종단 SNR 0 스케줄의 마지막 타임스텝에서는 0, 곧 순수한 노이즈이고, 마지막 스텝 뒤에는 1, 곧 깨끗한
# 데이터입니다). 6절에서처럼 정류 흐름의 상태는 RF 시간 `s = b / (a + b)`에서 `z = x_t / (a + b)`이며, x0(s = 0)에서
# ε(s = 1)으로 가는 직선 위에 있습니다.

# %% [markdown]
# **과제 9.1 — v가 말해 주는 x0과 ε (2점).** `v_to_x0_eps(v, x_t, alpha_bar)`를 작성하세요. 상태 `x_t`와 모델의
# `v`가 함께 가리키는 깨끗한 잠재 변수와 노이즈의 쌍 `(x0_hat, eps_hat)`을 돌려줍니다. 알려진 (x0, ε)의 정확한 v를
# 넣으면, 순수한 노이즈(ᾱ = 0)를 포함한 모든 노이즈 수준에서 x0과 ε을 정확히 되돌려주어야 합니다.

# %% [nbgrader solution id=v_to_x0_eps]
def v_to_x0_eps(v, x_t, alpha_bar):
    ### BEGIN SOLUTION
    a, b = alpha_bar.sqrt(), (1 - alpha_bar).sqrt()
    return a * x_t - b * v, b * x_t + a * v
    ### END SOLUTION

# %% [nbgrader check id=check_v_to_x0_eps points=2]
cw.check_v_to_x0_eps(v_to_x0_eps)

# %% [markdown]
# **과제 9.2 — v-예측 → 속도 (2점).** `v_to_velocity(v, x_t, alpha_bar)`를 작성하세요. 상태 z의 정류 흐름 속도 u를
# `x_t`와 `v`로 나타냅니다(minicog의 규약: s = 1이 노이즈, s = 0이 데이터). 알려진 (x0, ε)의 정확한 v에 대해서는
# ε − x0입니다. 여러분의 `v_to_x0_eps`를 불러 써도 됩니다.

# %% [nbgrader solution id=v_to_velocity]
def v_to_velocity(v, x_t, alpha_bar):
    ### BEGIN SOLUTION
    a, b = alpha_bar.sqrt(), (1 - alpha_bar).sqrt()
    return (b - a) * x_t + (a + b) * v
    ### END SOLUTION

# %% [nbgrader check id=check_v_to_velocity points=2]
cw.check_v_to_velocity(v_to_velocity)

# %% [markdown]
# **과제 9.3 — 오일러 스텝으로 쓴 DDIM 스텝 (3점).** `ddim_step_as_euler(v, x_t, alpha_bar, alpha_bar_next)`를
# 작성하세요. 모델이 상태 `x_t`(노이즈 수준 ᾱ = `alpha_bar`)에서 `v`를 예측했습니다. 정류 흐름의 오일러 스텝 한
# 번으로 도달하는, 노이즈가 덜한 다음 수준 ᾱ = `alpha_bar_next`의 상태를 돌려주세요. 6절에서 `pipe.velocity`로
# 밟은 스텝을 여기서는 `v`와 두 노이즈 수준만으로 밟습니다. 결과는 CogVideoX의 DDIM 스텝(η = 0)과 같아야 하며,
# 순수한 노이즈(ᾱ = 0)에서 출발하는 첫 스텝과 깨끗한 데이터(ᾱ_next = 1)로 가는 마지막 스텝도 마찬가지입니다. 위에서
# 작성한 함수를 불러 써도 됩니다.

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
