# %% [markdown]
# # 5주차 — 텍스트-비디오 모델 학습하기
#
# 이제 모든 부품이 갖춰졌습니다: 도형 세계(Shapes world, 0주차), 3D 인과 VAE(causal 3D VAE), 전문가
# 트랜스포머(expert transformer, DiT), 그리고 정류 흐름(rectified flow). 이 노트북에서는 이들을 하나의
# **텍스트-비디오 모델**(text-to-video model)로 묶고 학습시킵니다.
# (강의: "Mixed Training — 이미지, 영상 생성에 차이를 줄이기 위한 다른 영상 이미지들을 연결하여 학습
# 방안 제시 … 큰 이미지는 자르기 처리, 공간이 작은 이미지는 패딩 처리, 또한 이미지 크기 점차 크게
# 적용")
#
# **이번 강의에서 배울 것**
# 1. **텍스트 조건화(text conditioning)** — T5와 같은 인터페이스 뒤에 둔, 단어 단위의 아주 작은 텍스트
#    인코더(text encoder);
# 2. **프레임 팩(Frame Pack)을 이용한 혼합 학습(mixed-duration training)** — 길이가 다른 클립(과 정지
#    이미지)을 한 배치에 넣고, 어떤 토큰도 패딩(padding)이나 다른 클립을 보지 못하도록 어텐션
#    마스크(attention mask)를 씁니다;
# 3. **짧은 실시간 학습 실행** — 학습기(trainer): AdamW, 워밍업(warm-up), EMA, 그리고 저해상도 →
#    고해상도로 가는 **점진적 학습(progressive training)** 스케줄;
# 4. **함께 제공되는 작은 모델(the shipped tiny model)** — 학습에 든 비용(FLOPs → 시간), 샘플,
#    오라클(oracle)의 정확도 표, 실패 사례, 그리고 **분류기 없는 가이던스(classifier-free guidance,
#    CFG)**;
# 5. 강의용 **라이브 데모**: 프롬프트를 입력하면 비디오가 나옵니다.

# %%
import time
import warnings

import matplotlib.pyplot as plt
import numpy as np
import torch

import minicog
from minicog import shapes, video
from minicog.utils import FAST, asset_folder, read_json, seed_everything

seed_everything(0)
torch.set_num_threads(2)
print("fast mode:", FAST)

# %% [markdown]
# ## 1분 라이브 데모: 이번 주에 학습시키는 것
# 이 노트북이 다루는 모델의 완성품입니다: 함께 제공되는 작은 텍스트-비디오 모델이 네 개의 프롬프트 —
# 그중 하나는 물체가 둘 — 를 비디오로 바꾸고, 오라클이 각 비디오를 다시 읽어 냅니다. 이번 주가 끝나면
# 프롬프트에서 이 픽셀들까지의 모든 단계와, 학습에 든 비용을 알게 됩니다.

# %%
pipe = minicog.load_pipeline("tiny", device="cpu")
demo_prompts = ["a red circle moving left on a black background",
                "a yellow triangle moving up on a white background",
                "a blue square moving right on a gray background",
                "a green circle moving down and a purple square moving left on a white background"]
t0 = time.time()
demo_videos = pipe.generate(demo_prompts, seed=0)
seconds = time.time() - t0
video.show_video(demo_videos, demo_prompts)
demo_report = shapes.evaluate(demo_videos, demo_prompts)
print(f"{len(demo_prompts)} videos in {seconds:.1f} s on the CPU; "
      f"the oracle reads {sum(demo_report.correct)} of {len(demo_prompts)} exactly as prompted")

# %% [markdown]
# ## 1. 텍스트 조건화
# CogVideoX는 프롬프트를 T5-XXL(파라미터 4.7B)로 인코딩하여, DiT에 임베딩 시퀀스 `(B, L, D)`와 실제
# 토큰의 마스크를 넘깁니다. 우리 세계의 단어는 25개 정도이므로 **단어 단위 토크나이저**(word-level
# tokenizer)로 충분합니다. 처음부터 만들면 사전 조회일 뿐입니다:

# %%  NBVAL_CHECK_OUTPUT
words = sorted({w for c in shapes.all_combinations() for w in shapes.caption(**c).split()})
vocab = ["<pad>", "<unk>", "<bos>"] + words
index = {w: i for i, w in enumerate(vocab)}


def tokenize(prompt):
    return [index["<bos>"]] + [index.get(w, index["<unk>"]) for w in prompt.lower().split()]


print(len(vocab), "tokens")
print(tokenize("a red circle moving left on a black background"))
print(tokenize("a red hexagon"))          # 'hexagon' is unknown -> <unk> = 1

# %% [markdown]
# 패키지의 `TinyTextEncoder`도 같은 일을 하고(여기에 구두점 처리, 바꿔 말하기(paraphrase) 단어, 모르는
# 단어를 나열하는 경고가 더해집니다), 그다음 2레이어 트랜스포머를 실행합니다. 이 트랜스포머는 **DiT와
# 함께 학습됩니다**. 인터페이스는 규모를 키운 경로가 T5에 쓰는 것과 같습니다:
# `embeds, mask = encoder.encode(prompts)`. 모든 프롬프트는 `<bos>`로 시작하므로, 빈 프롬프트 `""` —
# 분류기 없는 가이던스의 "무조건(unconditional)" 입력 — 도 실제 토큰 하나를 가집니다.

# %%
from minicog.text_encoder import TextEncoderConfig, TinyTextEncoder

encoder = TinyTextEncoder(TextEncoderConfig.tiny(shapes.vocabulary(), dim=64))
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    embeds, mask = encoder.encode(["a red circle moving left on a black background", "", "a pink blob"])
print("embeds", tuple(embeds.shape), "mask", mask.int().tolist())
print("warning:", caught[0].message)
assert embeds.shape[:2] == mask.shape and mask[1].sum() == 1
assert "pink" in str(caught[0].message)

# %% [markdown]
# ## 2. 프레임 팩: 한 배치 안의 서로 다른 길이
# CogVideoX는 모든 클립을 한 길이로 잘라 맞추지 않고 여러 길이의 클립으로 한꺼번에 학습하며, 이미지도
# 1프레임 비디오로 함께 학습합니다. 가장 간단한 방법은 모든 클립의 끝을 가장 긴 클립에 맞춰
# **패딩**하고, 실제 프레임의 마스크를 유지하는 것입니다. 처음부터 만들어 봅니다. 잠재 프레임이
# 1개(이미지), 3개, 5개인 잠재 클립(비디오 프레임으로는 1개, 9개, 17개)입니다:

# %%
C, h, w = 8, 8, 8
clips = [torch.randn(C, n, h, w) for n in (1, 3, 5)]
T = max(c.shape[1] for c in clips)
x = torch.zeros(len(clips), C, T, h, w)
frame_mask = torch.zeros(len(clips), T, dtype=torch.bool)
for i, c in enumerate(clips):
    x[i, :, : c.shape[1]] = c
    frame_mask[i, : c.shape[1]] = True
print(frame_mask.int())

# %%
from minicog.frame_pack import attention_mask, block_diagonal_mask, pack, pack_sequences

batch = pack(clips)                                   # the same thing, in the package
assert torch.equal(batch.x, x) and torch.equal(batch.mask, frame_mask)

# %% [markdown]
# **어느 토큰이 어느 토큰을 보는가.** 전문가 트랜스포머에서 텍스트 토큰과 모든 비디오 토큰은 하나의
# 시퀀스를 이룹니다(3D 전체 어텐션). 텍스트 토큰 2개, 잠재 프레임당 비디오 토큰 4개일 때, 배치의 각
# 행의 마스크는 query가 어떤 key에 어텐션할 수 있는지를 알려 줍니다: query는 패딩된 프레임(그리고
# 패딩된 텍스트)을 절대 보지 않습니다. 반면 시퀀스 패킹(sequence packing, 오른쪽)은 짧은 클립 여러
# 개를 한 행에 넣고 **블록 대각(block-diagonal)** 마스크를 써서, 패딩에 계산을 낭비하지 않습니다.

# %%
text_mask = torch.tensor([[1, 1], [1, 0], [1, 1]]).bool()
m = attention_mask(text_mask, batch.mask, tokens_per_frame=4)
sp = pack_sequences(clips, capacity=5)
bd = block_diagonal_mask(sp.segment_ids, tokens_per_frame=4)
fig, axes = plt.subplots(1, 4, figsize=(13, 3.4))
for i, (ax, n) in enumerate(zip(axes[:3], (1, 3, 5))):
    ax.imshow(m[i], cmap="Blues")
    ax.set_title(f"padded row {i}: {n} latent frame(s)", fontsize=9)
    ax.set_xlabel("key")
    ax.set_ylabel("query")
axes[3].imshow(bd[0], cmap="Greens")
axes[3].set_title(f"packed row: clips {sorted(set(sp.segment_ids[0].tolist()) - {-1})}", fontsize=9)
fig.tight_layout()

# %% [markdown]
# 중요한 성질은 이것입니다: **클립 하나는 패킹된 배치 안에서도 혼자일 때와 같은 출력을 냅니다.** 실제
# (무작위 가중치의) `VideoDiT`에서, 위치는 모델 안에서 계산하게 하여 확인해 봅시다.

# %%
from minicog.dit import DiTConfig, VideoDiT

torch.manual_seed(0)
dit = VideoDiT(DiTConfig.tiny()).eval()
text = torch.randn(3, 2, dit.config.text_embed_dim)
t = torch.tensor([200.0, 500.0, 800.0])
with torch.no_grad():
    packed = dit(batch.x, t, text, text_mask=text_mask, video_mask=batch.mask)
    errors = [(batch.unpack(packed)[i] - dit(c[None], t[i:i + 1], text[i:i + 1, : int(text_mask[i].sum())])[0])
              .abs().max().item() for i, c in enumerate(clips)]
print("max |packed - alone| per clip:", [f"{e:.1e}" for e in errors])
assert max(errors) < 1e-4

# %% [markdown]
# ## 3. 짧은 실시간 학습 실행
# `minicog.train`이 이 모두를 엮습니다(`docs/training.md` 참고):
#
# * 클립은 고정된(frozen) VAE로 **한 번만** 인코딩되어 캐시에 저장됩니다. **점진적 스케줄**
#   `config.stages`의 모든 (해상도, 길이)마다 그렇게 합니다 — 저해상도 → 고해상도, 이미지 + 짧은
#   클립 + 긴 클립;
# * 각 스텝은 길이가 섞인 배치를 뽑아 묶고(프레임 팩), 캡션의 10 %를 `""`로 바꾸며(분류기 없는
#   가이던스를 위해), 실제 프레임에만 정류 흐름 손실을 적용합니다;
# * 워밍업과 코사인 감쇠(cosine decay)를 갖춘 AdamW, 그래디언트 클리핑(gradient clipping), EMA 가중치,
#   체크포인트, 정확한 재개(exact resume);
#   `torchrun --nproc_per_node N -m minicog.train`으로 여러 GPU/프로세스에서 실행합니다.
#
# 여기서는 `fast` 프리셋으로 클립 128개에 대해 백 스텝 — 랩톱 CPU에서 몇 분 — 을 돌리고, 그 손실
# 곡선을 그립니다. 함께 제공되는 모델은 같은 학습기를 `tiny` 프리셋으로 돌린 것입니다(§4).

# %%
from minicog.train import train
from minicog.train_config import TrainConfig

steps = 12 if FAST else 100
cfg = TrainConfig.fast(out_dir="runs/notebook05", num_clips=16 if FAST else 128, progress=True,
                       sample_prompts=[] if FAST else ["a red circle moving left on a black background"])
cfg = cfg.with_steps(steps)
for s in cfg.stages:
    print(s)
import shutil
shutil.rmtree(cfg.out_dir, ignore_errors=True)       # start fresh (a checkpoint there would resume)
t0 = time.time()
result = train(cfg)
print(f"{result.step} steps in {time.time() - t0:.0f}s")

# %%
steps_, losses = zip(*result.history)
fig, ax = plt.subplots(figsize=(6, 3))
ax.plot(steps_, losses, ".", alpha=0.4, label="loss per step")
k = max(1, len(losses) // 10)
ax.plot(steps_[k - 1:], np.convolve(losses, np.ones(k) / k, "valid"), label=f"mean of {k}")
for s in cfg.stages[:-1]:
    ax.axvline(s.until, color="gray", ls="--", lw=0.8)
ax.set_xlabel("step")
ax.set_ylabel("rectified-flow loss")
ax.legend()
first, last = np.mean(losses[:k]), np.mean(losses[-k:])
print(f"mean loss of the first {k} steps {first:.3f}, of the last {k} {last:.3f}")
assert last < first

# %% [markdown]
# 손실은 몇 분 안에 내려갑니다. 점선은 두 번째 단계를 표시합니다: 최대 17프레임의 64 px 클립으로,
# 프레임당 토큰이 네 배입니다. 백 스텝은 시작에 불과합니다: 아래의 제공 모델은 수만 스텝을
# 학습했습니다.

# %% [markdown]
# ## 4. 함께 제공되는 작은 모델
# `minicog.load_pipeline("tiny")`는 `make train-tiny`로 학습한 VAE, 텍스트 인코더, DiT를
# 불러옵니다(`tiny` 프리셋: 위와 같은 학습기를 더 오래 돌린 것). 학습 실행의 설정은
# `assets/tiny/train_info.json`에 저장되어 있으며 아래에 출력됩니다; 레시피는 `docs/training.md`에서
# 설명합니다.

# %%
pipe = minicog.load_pipeline("tiny", device="cpu")
print(pipe)
info = read_json(asset_folder("tiny") / "train_info.json")
print({k: v for k, v in info.items() if k not in ("config", "loss_curve")})

# %% [markdown]
# 이 실행의 손실 곡선(100 스텝마다의 평균, 모델과 함께 저장됨)입니다. 점선은 스케줄의 단계
# 경계입니다(`train_config.tiny_stages()`: 32 px의 물체 하나짜리 클립, 32 px의 혼합, 64 px, 그다음
# 64 px에서 학습률의 웜 리스타트(warm restart) 세 번). 손실은 단계가 요구하는 것이 바뀌는 곳에서
# 뛰어오릅니다: 물체가 둘이 될 때, 그리고 프레임당 토큰이 네 배가 될 때입니다.

# %%
curve = np.array(info.get("loss_curve", []))
if len(curve):
    fig, ax = plt.subplots(figsize=(7, 3))
    ax.plot(curve[:, 0], curve[:, 1])
    for st in info["config"]["stages"][:-1]:
        ax.axvline(st["until"], color="gray", ls="--", lw=0.8)
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("training loss (mean of 100)")
    print(f"{len(info['config']['stages'])} stages, {info['steps']} steps, "
          f"{info['seconds'] / 60:.0f} min of training on {info['device']}")

# %% [markdown]
# ### 레시피의 비용: FLOPs와 시간
# 왜 이 레시피는 랩톱 CPU에서 몇 시간이나 걸릴까요? 일의 양을 세어 봅시다. 토큰 하나에 적용되는 선형
# 레이어는 순전파에서 가중치당 2 FLOPs(곱셈 하나와 덧셈 하나)가 들고, 역전파에서 약 4 FLOPs가 더
# 듭니다(입력의 그래디언트와 가중치의 그래디언트). 그래서 트랜스포머의 학습 스텝 하나는
# **≈ 6·N·D FLOPs**가 듭니다 — N은 모든 토큰이 거치는 가중치의 수, D는 배치의 토큰 수입니다(Kaplan et
# al., 2020) — 여기에 어텐션이 더해지는데, 어텐션의 점수 곱과 혼합 곱은 시퀀스 길이의 제곱으로
# 늘어납니다. 아래에서는 `tiny` 프리셋의 64 px 배치 하나(샘플 32개, 각각 잠재 프레임 5개 × 토큰
# 16개에 텍스트 토큰 16개)에 대한 그 추정치, PyTorch의 정확한 집계(`FlopCounterMode`), 같은 스텝에 이
# 머신이 걸리는 시간, 그리고 그 속도로 레시피의 64 px 스텝들에 드는 비용을 구합니다.

# %%
from torch.utils.flop_counter import FlopCounterMode

from minicog.frame_pack import pack
from minicog.train import batch_loss, build_model

tiny = TrainConfig.tiny()
net = build_model(tiny, shapes.vocabulary())            # the preset's model, fresh weights
B, frames, tokens_per_frame = tiny.batch_size, 5, (64 // 8 // 2) ** 2
batch = pack([torch.randn(8, frames, 8, 8) for _ in range(B)])        # latents of 17-frame 64-px clips
captions = [scene.caption() for scene in shapes.sample_scenes(B, seed=0)]
t, noise = torch.rand(B), torch.randn(B, 8, frames, 8, 8)


def one_step():
    loss = batch_loss(net.text_encoder.tokenizer, lambda x, tt, c: net(x, tt, *c), batch, captions, t, noise,
                      torch.device("cpu"))
    loss.backward()
    net.zero_grad(set_to_none=True)


seq = frames * tokens_per_frame + net.dit.config.max_text_len           # one sample's sequence
n_tok = sum(p.numel() for n, p in net.dit.blocks.named_parameters() if p.ndim == 2 and "norm" not in n)
width = net.dit.config.num_heads * net.dit.config.head_dim
estimate = 6 * n_tok * B * seq + 3 * 4 * seq ** 2 * width * net.dit.config.num_layers * B
with FlopCounterMode(display=False) as counter:
    one_step()
flops = counter.get_total_flops()
one_step()                                               # warm-up, then time a few steps
t0 = time.perf_counter()
for _ in range(3):
    one_step()
sec = (time.perf_counter() - t0) / 3
steps_64 = tiny.steps_per_size()[64]
print(f"N = {n_tok / 1e6:.2f} M weights per token (DiT blocks), D = {B} × {seq} tokens")
print(f"6·N·D + attention ≈ {estimate / 1e9:.1f} GFLOP; counted: {flops / 1e9:.1f} GFLOP "
      f"({flops / estimate:.2f} of the estimate)")
a = torch.randn(1024, 1024)
t0 = time.perf_counter()
for _ in range(10):
    a @ a
matmul = 10 * 2 * 1024 ** 3 / (time.perf_counter() - t0)
print(f"this machine: {sec:.2f} s per step = {flops / sec / 1e9:.0f} GFLOP/s "
      f"(a bare 1024² matrix multiply: {matmul / 1e9:.0f} GFLOP/s); "
      f"the recipe's {steps_64} steps at 64 px ≈ {steps_64 * sec / 3600:.1f} h "
      f"(the shipped DiT run, all its steps and latents: {info['seconds'] / 3600:.1f} h on {info['device']})")
assert 0.8 < flops / estimate < 1.2                      # the back-of-envelope rule holds

# %% [markdown]
# 어림 규칙은 정확한 집계와 몇 퍼센트 이내로 맞습니다. 집계가 레시피로 정해져 있으니, 바꿀 수 있는
# 것은 머신의 처리 속도뿐입니다: 스텝의 속도를 맨 행렬 곱셈의 속도와 비교해 보세요 — 스텝은 작은
# 행렬(폭 192)과 그 사이의 작업들로 이루어져 있어서 그 속도에 못 미칩니다. 그래서 이 레시피가
# CPU에서 몇 시간 걸리는 것입니다: 집계는 고정되어 있고, 머신은 이런 작은 행렬을 더 빨리 돌릴 수
# 없습니다. GPU에서는 같은 양의 일이 몇 분이면 끝납니다.

# %%
prompts = ["a red circle moving left on a black background",
           "a blue square moving up on a white background",
           "a yellow triangle moving right on a gray background",
           "a green circle moving down on a white background"]
videos = pipe.generate(prompts, seed=0)
video.show_video(videos, prompts)
fig = video.frame_grid(videos, prompts, max_frames=9)

# %% [markdown]
# ### 오라클 정확도
# 오라클은 각 비디오에서 색, 모양, 방향, 배경을 읽어 냅니다. 목표는 모델이 학습에 쓴 적 없는
# 시드에서, 물체 하나짜리 조합 216개 전체에 대해 **모든** 속성이 맞는 프롬프트가 ≥ 97 %가 되는
# 것입니다. 아래 셀이 이를 측정합니다(빠른 모드(fast mode)에서는 18번째 프롬프트마다 하나씩);
# `python benchmarks/eval_tiny_t2v.py`는 같은 측정을 스크립트로 수행합니다.

# %%
combos = shapes.all_combinations()
picks = combos[::18] if FAST else combos
eval_prompts = [shapes.caption(**c) for c in picks]
eval_videos = pipe.generate(eval_prompts, seed=[700_000 + i for i in range(len(eval_prompts))],
                            batch_size=54, progress=True)
report = shapes.evaluate(eval_videos, eval_prompts)
print(report.table())
for attr in ("color", "direction", "background"):
    assert report.per_attribute[attr] >= 0.9, attr
print(f"{report.prompt_accuracy:.1%} of {len(eval_prompts)} prompts with every attribute right (target 97 %)")
assert report.prompt_accuracy >= (0.75 if FAST else 0.97)
worst = min(report.per_attribute, key=report.per_attribute.get)
print(f"the weakest attribute: {worst} ({report.per_attribute[worst]:.1%})")

# %% [markdown]
# 물체 하나짜리 프롬프트는 해결되었습니다: 거의 모든 비디오가 모든 속성을 맞히며, 마지막에 출력된
# 속성에 나머지 오류가 모여 있습니다.

# %% [markdown]
# ### 실패 사례, 그리고 더 거친 샘플러
# 무엇이 잘못될까요? 각 레이블은 프롬프트와 오라클이 읽은 내용을 보여 줍니다. 작은 모델의 전형적인
# 실패는 색, 크기, 움직임은 맞지만 윤곽이 흔들리는 덩어리입니다 — 사각형의 모서리는 잠재 픽셀
# 하나(8×8 px)보다 가늘어서, 사각형이 원으로 나올 수 있습니다. 이 셀은 처음 12개 프롬프트를 4 스텝만,
# 가이던스 없이 다시 샘플링하기도 합니다.

# %%
weak = pipe.generate(eval_prompts[:12], seed=[700_000 + i for i in range(12)], steps=4, guidance=1.0)
weak_report = shapes.evaluate(weak, eval_prompts[:12])
print("4 steps, no guidance:", f"{100 * weak_report.prompt_accuracy:.0f}% of 12 prompts right")
assert weak_report.prompt_accuracy >= 0.75
fails = (report.failures() or [])[:2] + weak_report.failures()[:3]
pool = [eval_videos] * len((report.failures() or [])[:2]) + [weak] * len(weak_report.failures()[:3])
if fails:
    labels = [f"want {tgt}\nread {pred}" for _, tgt, pred in fails]
    fig = video.frame_grid([p[i] for p, (i, _, _) in zip(pool, fails)], labels, max_frames=6)

# %% [markdown]
# 물체 하나짜리 문제는 이 모델에게 쉽습니다: 가이던스 없이 4 스텝만으로도 이 프롬프트들의 대부분을
# 맞힙니다. 가이던스가 정말로 중요한 곳은 이 절 끝의 가이던스 스윕이 보여 줍니다.

# %% [markdown]
# ### 두 물체: 단어를 물체에 결합하기
# 학습 클립의 절반에는 물체가 둘 있습니다. 예를 들면 "a red circle moving left and a blue square
# moving up on a white background"입니다(0주차, §3b). 이제 단어가 올바른 물체에 가서 붙어야 합니다:
# 텍스트-비디오 모델의 고전적인 실패는 **결합(binding)** 오류입니다 — 속성은 모두 그려졌지만 엉뚱한
# 물체에 붙은 경우입니다(예를 들어 두 색의 모양이 서로 뒤바뀐 경우). 오라클은 각 물체를 색으로 찾아
# 읽고, 속성별 표와 함께 정확히 맞은 물체가 얼마나 되는지, 결합 오류인 비디오가 얼마나 되는지를 알려
# 줍니다. 프롬프트는 두 물체 장면(two-object scene) 6480개에서 뽑으며, 각 프롬프트는 물체를 무작위
# 순서로 말합니다(문장 안의 위치는 아무 정보도 주지 않습니다).

# %%
n2 = 12 if FAST else 300
scenes2 = shapes.sample_scenes(n2, seed=1)                # random scenes, random phrase order
prompts2 = [s.caption() for s in scenes2]
videos2 = pipe.generate(prompts2, seed=[800_000 + i for i in range(n2)], batch_size=50, progress=True)
report2 = shapes.evaluate(videos2, prompts2)
print(report2.table())
print(f"{report2.prompt_accuracy:.1%} of {n2} two-object prompts fully right; "
      f"{report2.binding_errors:.1%} binding errors; {report2.per_object:.1%} of the objects exactly right")
assert report2.per_attribute["color"] >= 0.8 and report2.per_attribute["background"] >= 0.9
assert FAST or report2.prompt_accuracy < report.prompt_accuracy
assert report2.binding_errors <= 0.5 * (1 - report2.prompt_accuracy)

# %% [markdown]
# 두 물체는 하나보다 어렵습니다: 완전히 맞는 프롬프트가 줄어들고, 표는 어떤 속성이 가장 많이 틀리는지
# 보여 줍니다. 결합 오류 — 두 물체를 모두 그렸지만 속성이 서로 뒤바뀐 경우 — 는 실패의 일부일
# 뿐입니다; 대부분의 실패는 한 물체의 속성 하나를 틀립니다.

# %% [markdown]
# 실패가 어떻게 생겼는지 봅시다: 각 행은 프롬프트 하나와 오라클이 읽은 내용입니다(결합 오류가 있으면
# 그것부터 보여 줍니다).

# %%
fails2 = sorted(report2.failures(), key=lambda f: not report2.binding[f[0]])[:4]
if fails2:
    labels = [f"want {tgt}\nread {pred}" for _, tgt, pred in fails2]
    fig = video.frame_grid([videos2[i] for i, _, _ in fails2], labels, max_frames=6)

# %% [markdown]
# ### 각 단어는 어디를 보는가
# FlowDirector(8주차)는 편집할 단어의 어텐션이 놓이는 곳만 편집하므로, 색 단어 "red"가 다른 물체가
# 아니라 빨간 물체에 어텐션하는지가 중요합니다. 아래는 렌더링한 두 물체 클립에 t = 0.45까지 노이즈를
# 더하고, 각 비디오 토큰이 각 단어에 주는 어텐션(video → text, 텍스트 토큰에 대해 다시 정규화; 모델의
# FlowDirector가 읽는 레이어들)을 각 물체의 실제 윤곽과 함께 그린 것입니다. 이어서
# `mask_eval.word_localisation`이 여러 장면에서 임계값을 적용한 맵을 실제 마스크와 비교해 점수를
# 매깁니다: 단어가 가리키는 물체와의 IoU(1 = 정확히 그 물체)와, 마스크가 *다른* 물체를 덮는 비율(0이어야
# 합니다)입니다.

# %%
from minicog import flowdirector as fd, mask_eval

scene = shapes.parse_caption("a red circle moving left and a blue square moving up on a gray background")
motions = shapes.scene_motions(scene, 64, 3)
clip = shapes.render_scene(scene, motions=motions)
masks = shapes.scene_masks(scene, motions)
x = pipe.encode_video(clip)
emb, tmask = pipe.encode_prompt([scene.caption()])
gen = torch.Generator().manual_seed(0)
z = 0.55 * x + 0.45 * torch.randn(x.shape, generator=gen)
layers = (pipe.config.edit_attention or {}).get("attn_layers") or fd.default_attention_layers(pipe.dit.config.num_layers)
with pipe.dit.record_attention(layers=layers, reduce_heads="mean") as rec:
    pipe.velocity(z, 0.45, emb, tmask)
words = ["red", "circle", "blue", "square"]
f = 2                                                     # a latent frame (video frames 5-8)
fig, axes = plt.subplots(1, len(words) + 1, figsize=(2.2 * (len(words) + 1), 2.4))
axes[0].imshow(clip[4 * f])
axes[0].set_title(f"frame {4 * f}", fontsize=8)
for ax, w in zip(axes[1:], words):
    wm = fd.word_attention({layer: rec.maps[layer]["video_to_text"] for layer in layers},
                           fd.token_indices(pipe, scene.caption(), [w]))
    ax.imshow(wm[0, f], cmap="magma", extent=(0, 64, 64, 0))
    for c, m in masks.items():
        ax.contour(m[4 * f], levels=[0.5], colors="w" if c == "red" else "c", linewidths=1)
    ax.set_title(f'"{w}"', fontsize=8)
for ax in axes:
    ax.set_xticks([])
    ax.set_yticks([])
plt.tight_layout()

# %%
pool = shapes.all_scenes(2)
scenes_a = [pool[i] for i in np.random.default_rng(515151).choice(len(pool), 4 if FAST else 24, replace=False)]
scores = mask_eval.word_localisation(pipe, scenes_a, times=(0.45,) if FAST else (0.6, 0.45, 0.3, 0.15),
                                     seed=515151, layer_sets=[layers])
import statistics
for kind in ("video_to_text", "text_to_video"):
    s = scores[(kind, tuple(layers))]
    print(f"{kind:14s} layers {list(layers)}: IoU median {statistics.median(s['iou']):.2f}, "
          f"other object covered {statistics.fmean(s['other']):.2f} ({len(s['iou'])} word maps)")
best = mask_eval.best_attention(scores)
print(f"best single choice: {best[0]}, layers {list(best[1])}, IoU median {best[2]:.2f} (1.0 = the object exactly)")
assert best[2] < 0.64                    # a perfect word map at 4×4 tokens per frame reaches 0.64 (week 8)

# %% [markdown]
# 단어 맵은 자기 물체를 대략적으로만 찾습니다: IoU 중앙값은 1에서 멀고, 한 단어의 마스크가 다른 물체의
# 일부까지 덮습니다. 64 px에서 한 프레임은 4×4 토큰뿐이라서, 완벽한 맵이라도 거칩니다. 8주차는 이
# 측정에서 출발합니다.

# %% [markdown]
# ### 가이던스
# 분류기 없는 가이던스는 속도를 무조건 속도에서 멀어지는 쪽으로 밀어냅니다: `v = v_u + g·(v_c − v_u)`.
# 너무 약하면 속성이 흐려지고, 너무 강하면 색이 포화됩니다. 함께 제공되는 모델은 `pipe.config.guidance`와
# 타임스텝 시프트(timestep shift, 6주차)로 샘플링합니다.

# %%
print(f"sampling defaults: guidance {pipe.config.guidance}, shift {pipe.config.shift}, {pipe.config.steps} Euler steps")
g_values = sorted({1.0, pipe.config.guidance, 4.0} if FAST else {1.0, 2.0, pipe.config.guidance, 4.0, 7.0})
n = 6 if FAST else 54
acc = {}
for g in g_values:
    vids = pipe.generate(eval_prompts[:n], seed=[700_000 + i for i in range(n)], guidance=g)
    acc[g] = shapes.evaluate(vids, eval_prompts[:n]).prompt_accuracy
    print(f"guidance {g:>4}: {100 * acc[g]:5.1f}% of {n} prompts")
assert FAST or acc[pipe.config.guidance] > acc[1.0]

# %% [markdown]
# 가이던스가 없으면(g = 1) 모델은 제공된 스케일에서보다 캡션을 눈에 띄게 덜 따릅니다: 가이던스는
# 마무리 손질이 아니라, 작은 모델을 쓸 만하게 만드는 요소의 일부입니다.

# %% [markdown]
# ## 5. 라이브 데모 (강사용)
# 프롬프트를 입력하고, 시드와 가이던스 스케일을 고른 뒤 **Generate**를 누르세요. 모델이 아는 단어가
# 하나도 없는 프롬프트는 거절되며, 모델이 아는 단어 목록이 함께 나옵니다 — "a pink hexagon"을 시도해
# 보세요. 아는 단어 사이에 섞인 모르는 단어는 경고와 함께 `<unk>`로 바뀝니다 — "a red hexagon moving
# left on a black background"을 시도해 보세요. 셀을 실행하면 데모의 첫 프롬프트로 한 번 생성한 결과도
# 함께 보여 줍니다.

# %%
import ipywidgets as widgets
from IPython.display import HTML, display

prompt_box = widgets.Text(value="a purple triangle moving left on a white background",
                          description="prompt", layout=widgets.Layout(width="520px"))
seed_box = widgets.IntSlider(value=0, min=0, max=100, description="seed")
guide_box = widgets.FloatSlider(value=pipe.config.guidance, min=1.0, max=8.0, step=0.5, description="guidance")
button = widgets.Button(description="Generate", button_style="primary")
out = widgets.Output()


def on_click(_):
    with out:
        out.clear_output()
        t0 = time.time()
        try:
            v = pipe.generate(prompt_box.value, seed=seed_box.value, guidance=guide_box.value)
        except ValueError as e:                     # e.g. a prompt with no known word
            print(e)
            return
        display(HTML(video.video_html(v, width=256)))
        print(f"{time.time() - t0:.1f}s — the oracle reads: {shapes.read_attributes(v)}")


button.on_click(on_click)
display(widgets.VBox([prompt_box, widgets.HBox([seed_box, guide_box, button]), out]))
first = pipe.generate(prompt_box.value, seed=seed_box.value, guidance=guide_box.value)   # the first state
display(HTML(video.video_html(first, width=256)))
print(f"{prompt_box.value!r} — the oracle reads: {shapes.read_attributes(first)}")

# %% [markdown]
# ## 요약
# * **텍스트 조건화**: 단어 토크나이저와, DiT와 함께 학습되는 작은 트랜스포머가 비디오 토큰과 한
#   시퀀스로 합쳐질 텍스트 토큰을 만듭니다 — CogVideoX에서 T5가 맡는 인터페이스입니다.
# * **프레임 팩**: 길이가 다른 클립과 정지 이미지가 한 배치에 함께 들어갑니다; 어텐션 마스크가 모든
#   토큰을 자기 클립 안에 두고 패딩에서 떼어 놓으므로, 패킹된 클립은 혼자일 때와 같은 출력을
#   냅니다(§2에서 확인했습니다).
# * **학습**: 잠재 변수는 고정된 VAE로 한 번 인코딩되어 캐시됩니다; 각 스텝은 섞인 배치를 묶고, 일부
#   캡션을 지우며(CFG를 위해), 실제 프레임에만 정류 흐름 손실을 적용합니다; AdamW, 워밍업, 코사인
#   감쇠, EMA, 그리고 저해상도 → 고해상도의 점진적 스케줄을 씁니다.
# * **비용**: 학습 스텝 하나는 ≈ 6·N·D FLOPs(토큰당 가중치 × 토큰 수, 여기에 어텐션)입니다; PyTorch의
#   `FlopCounterMode`가 이 집계를 확인해 주고, 머신의 처리 속도가 이를 시간으로 바꿉니다.
# * **측정**: 오라클이 생성된 모든 비디오를 다시 읽습니다; §4에 출력된 정확도는 이번 실행에서 제공
#   모델을 잰 값이며, 실패 사례는 아직 어려운 것이 무엇인지 보여 줍니다.
# * **가이던스**: `v = v_u + g·(v_c − v_u)`; §4의 스윕은 캡션을 따르는 데 가이던스가 얼마나 중요한지
#   보여 줍니다.

# %% [markdown]
# ## 연습 문제
# 1. `TrainConfig.holdout_experiment()`(한 번도 보여 주지 않는 조합 24개)로 학습하고, 빼 둔 조합을
#    `benchmarks/eval_tiny_t2v.py --model runs/holdout`으로 측정하세요: 모델은 함께 본 적 없는
#    속성들을 조합해 낼까요?
# 2. `TrainConfig.tiny()`에서 32 px 단계 두 개를 없애 보세요(첫 스텝부터 64 px). 같은 벽시계 시간에서
#    손실이 더 빨리 내려갈까요, 더 느리게 내려갈까요?
# 3. `caption_dropout=0`으로 두고 가이던스 4로 샘플링해 보세요. 무슨 일이 일어나며, 왜 그럴까요?
# 4. 32 px 단계를 `zero_init=True`(adaLN-Zero)로 학습해 보세요: 첫 단계의 손실 곡선이 달라질까요?
#    모델이 방향 단어를 따르기 시작하는 시점은 빨라질까요, 늦어질까요?
# 5. 자기 클립으로 폴더를 만들어 `captions.txt`를 넣고
#    `python -m minicog.train --preset folder --data my_clips/`로 학습해 보세요.

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
# **과제 5.1 — 프레임 팩 마스크 (2점).** 배치는 길이가 다른 클립을 섞고, 가장 긴 클립에 맞춰
# 패딩합니다. `text_mask (B, L)`(True: 실제 텍스트 토큰)와 `video_mask (B, T)`(True: 실제 프레임, 각
# 프레임은 `tokens_per_frame`개의 토큰)에 대해 `frame_pack_mask(text_mask, video_mask, tokens_per_frame)`를
# 작성하세요: 결합 시퀀스 `[text, frame 0 tokens, frame 1 tokens, …]`의 어텐션 마스크 `(B, N, N)` bool을
# 반환하며, N = L + T·tokens_per_frame입니다. query i는 자신과 key j가 모두 실제 토큰일 때 key j에 어텐션할 수
# 있습니다. 패딩된 query는 자기 자신에게만 어텐션합니다(그래야 softmax가 유한하게 유지됩니다; 그
# 출력은 무시됩니다).

# %% [nbgrader solution id=frame_pack_mask]
def frame_pack_mask(text_mask, video_mask, tokens_per_frame=1):
    ### BEGIN SOLUTION
    real = torch.cat([text_mask.bool(), video_mask.bool().repeat_interleave(tokens_per_frame, dim=1)], dim=1)
    m = real[:, :, None] & real[:, None, :]
    eye = torch.eye(real.shape[1], dtype=torch.bool)
    return m | (eye & ~real[:, :, None])
    ### END SOLUTION

# %% [nbgrader check id=check_frame_pack_mask points=2]
cw.check_frame_pack_mask(frame_pack_mask)

# %% [markdown]
# **과제 5.2 — 한 행에 클립 여러 개 (2점).** 시퀀스 패킹은 클립 여러 개를 한 행에 넣습니다;
# `segment_ids (R, T)`에는 각 프레임의 클립 번호가 들어 있습니다(−1: 패딩).
# `block_diagonal_mask(segment_ids, tokens_per_frame)`를 작성하세요: `(R, N, N)` bool이며,
# N = T·tokens_per_frame이고, query와 key가 같은 클립(id ≥ 0)에 속할 때 참입니다; 패딩 query는 자기
# 자신에게만 어텐션합니다.

# %% [nbgrader solution id=block_diagonal_mask]
def block_diagonal_mask(segment_ids, tokens_per_frame=1):
    ### BEGIN SOLUTION
    seg = segment_ids.repeat_interleave(tokens_per_frame, dim=1)
    same = (seg[:, :, None] == seg[:, None, :]) & (seg[:, None, :] >= 0)
    eye = torch.eye(seg.shape[1], dtype=torch.bool)
    return same | (eye & (seg[:, :, None] < 0))
    ### END SOLUTION

# %% [nbgrader check id=check_block_diagonal_mask points=2]
cw.check_block_diagonal_mask(block_diagonal_mask)
