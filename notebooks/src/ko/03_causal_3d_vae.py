# %% [markdown]
# # 3주차 — 3D 인과 VAE
#
# 강의: *"3D Causal VAE"* — "Spatial은 8배, temporal은 4배 줄어드는 구조"(픽셀에서 잠재 변수로 8×8×4 압축)이며, 현재와
# 과거 프레임만 봅니다.
#
# 비디오 확산 모델은 픽셀을 보지 않습니다. CogVideoX(§2.1, Figure 4)는 먼저 `H × W` 크기의 `1 + 4k` 프레임 클립을
# `H/8 × W/8` 크기의 `1 + k` 프레임 잠재 변수(latents, 16채널)로 압축하고, 거기서 확산을 돌린 뒤, 마지막에 디코딩합니다.
# 두 가지 아이디어가 이것을 프레임마다 따로 적용한 이미지 VAE가 아닌 *비디오* VAE로 만듭니다.
#
# * **3D 합성곱**(3D convolution)이 이웃한 프레임들을 섞으므로, 잠재 변수는 연속된 프레임이 거의 같다는 점을 활용할 수
#   있습니다(잠재 프레임 수가 4배 적습니다).
# * 합성곱은 **인과적**(causal)입니다. 시간 축은 *과거* 쪽만 패딩하므로 프레임 `t`는 `> t`인 프레임을 결코 보지
#   않습니다. 첫 프레임은 따로 유지되므로(`1 + 4k → 1 + k`) 이미지는 그냥 1프레임짜리 비디오로서 같은 잠재
#   공간(latent space)을 공유하고, 긴 클립은 과거 프레임의 작은 캐시를 이용해 **청크 단위로** 처리할 수 있습니다(논문의
#   컨텍스트 병렬(context parallel), Figure 4b).
#
# **이번 강의에서 배울 것**
# 1. **인과적 합성곱**(causal convolution)을 처음부터 만들고, 각 출력 프레임이 어떤 입력 프레임을 보는지 그림으로
#    확인합니다;
# 2. **합성곱 캐시**(conv cache): 청크 단위 처리 = 클립 전체 처리(논문의 컨텍스트 병렬)이며, VAE 안에서 각 청크의
#    합성곱이 어떤 프레임을 보는지 그림으로 확인합니다;
# 3. 완전한 **3D 인과 VAE**(3D causal VAE), `minicog.CausalVAE`: **공간 압축**(spatial compression) ×8과
#    **시간 압축**(temporal compression) ×4, `1 + 4k → 1 + k` 프레임의 **잠재 변수** — 실제 프리셋과 작은 프리셋 모두.
#    각 레벨의 텐서 모양도 그림으로 그려 봅니다;
# 4. 손실(재구성 손실(reconstruction loss) + KL)을 처음부터 만들고, 도형 세계(Shapes world)에서 몇 스텝 학습한 뒤,
#    배포된 체크포인트를 봅니다;
# 5. 재구성(reconstruction) 결과를 나란히 놓고 — 오차가 어디에 있는지 — 채널별 잠재 변수를 시간에 따라 봅니다;
# 6. **측정**: 프레임 청크 크기 대 품질 — 합성곱 캐시는 정확하지만, 청크마다 적용하는 그룹 정규화(GroupNorm)는 그렇지
#    않습니다.

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
# ## 1분 라이브 데모
# 강좌에서 학습한 작은 VAE가 17프레임 클립을 작은 잠재 변수 블록으로 압축하고, 잠재 변수만으로 클립을 다시 만들어
# 냅니다. 왼쪽은 원래 클립, 오른쪽은 디코더가 다시 만든 클립입니다. 무엇을 잃었는지 찾아보세요. 비디오 아래의 줄은
# 잠재 변수가 숫자를 몇 개 담고 있는지, 다시 만든 클립이 얼마나 가까운지(PSNR), 그리고 0주차의 오라클(oracle)이 그것을
# 어떻게 읽는지 알려 줍니다.

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
# ## 1. 인과적 합성곱을 처음부터
# 시간 축 커널이 `k`인 3D 합성곱은 보통 *양쪽*에 `(k-1)/2` 프레임을 패딩하므로, 출력 프레임 `t`는 프레임
# `t-1, t, t+1`을 봅니다(`k = 3`일 때). 인과적 버전은 **과거** 쪽에만 `k-1` 프레임을 패딩하므로 — CogVideoX는 첫
# 프레임의 복사본으로 패딩합니다 — 출력 `t`는 `t-2, t-1, t`를 봅니다. 공간은 평소대로 패딩합니다.

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
# 인과적 스택의 그림은 아래쪽 삼각형입니다. 모든 출력 프레임이 과거 프레임에만 의존하고, 층마다 `k − 1` 프레임만큼
# 기억이 늘어납니다. 반면 가운데 정렬(centred) 스택은 과거를 보는 만큼 미래도 봅니다. 같은 가중치로 패키지의
# `CausalConv3d`도 똑같이 확인합니다.

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
# ## 2. 합성곱 캐시: 클립을 청크로 나눠 처리하기
# 출력 `t`에는 입력 `t-2 … t`만 필요하므로, 긴 클립을 청크로 나눠 넣을 수 있습니다. 각 청크의 마지막 `k-1 = 2`개 입력
# 프레임(**합성곱 캐시**)을 보관해 두었다가, 다음 청크의 과거 쪽 패딩으로 복제한 첫 프레임 대신 사용합니다. 합성곱을
# 쌓은 스택에서는 이것이 *정확*합니다. `minicog.causal_vae.conv_cache(module)`는 `module` 안의 모든 `CausalConv3d`를
# 이 모드로 바꿉니다.

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
# 합성곱 캐시를 쓴 청크 단위 처리는 부동소수점 반올림 오차 범위에서 클립 전체 처리와 같습니다. 인과성 덕분에 긴
# 비디오를 한 번에 몇 프레임씩, 제한된 메모리로 인코딩할 수 있습니다.
#
# VAE도 정확히 이렇게 합니다. 프레임 청크 처리를 켜면 `CausalVAE.encode`는 클립을 `chunk_sample_frames` 프레임씩
# 청크로 자르고(나머지는 첫 청크가 가져가므로, 첫 청크에는 따로 떨어진 첫 프레임과 그 뒤 네 프레임이 들어갑니다),
# 합성곱 캐시를 켠 채 청크마다 인코더를 돌립니다. 아래 그림은 배포된 작은 VAE가 데모 클립을 4프레임 청크로
# 인코딩하는 동안, 인코더의 첫 `CausalConv3d`(k = 3)가 호출될 때마다 훅(hook)으로 기록한 것입니다. 합성곱에 들어간
# 프레임을 하나하나 그 시각의 자리에 놓고, 클립의 몇 번째 프레임을 복사한 것인지 번호를 붙였습니다.

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
# 첫 청크만 프레임 0의 복사본으로 패딩됩니다. 그 뒤의 청크는 모두 바로 앞 청크의 마지막 `k − 1 = 2`개 프레임, 즉
# 커널이 거슬러 닿는 프레임으로 시작하며, 청크별 합성곱 출력을 이어 붙이면 부동소수점 반올림 범위에서 클립 전체의
# 출력과 같습니다. 더 깊은 합성곱도 자기 특징 맵(feature map)에 대해 똑같이 합니다(6절에서 인코더 전체를 청크 단위로
# 측정합니다).

# %% [markdown]
# ## 3. 완전한 VAE
# `minicog.CausalVAE`는 이것들을 쌓아 인코더와 디코더를 만듭니다(CogVideoX §2.1).
#
# * 인코더: 인과적 합성곱 → ResBlock(GroupNorm, SiLU, 인과적 3×3×3 합성곱)의 4개 레벨. 처음 3개 레벨 뒤에는 stride 2
#   다운샘플링이 있고(공간 ×8), 그중 처음 2개는 프레임 쌍도 평균합니다(시간 ×4). 이때 첫 프레임은 따로 둡니다 → 대각
#   가우시안의 평균과 로그 분산(KL로 정칙화된 사후 분포). 강의: "Encoder와 Decoder에서 보면 2x Downsampling".
# * 디코더: 인코더의 거울상입니다. 디코더의 정규화는 *공간 정규화*(spatial norm)로, 스케일과 시프트를 잠재 변수 `z`
#   자체로부터 예측하는 GroupNorm입니다.
#
# 실제 프리셋은 `CausalVAE.from_diffusers("<CogVideoX-2b>/vae")`로 공식 가중치를 불러옵니다(diffusers의
# `AutoencoderKLCogVideoX`와 같은 숫자를 냅니다. `tests/test_causal_vae.py` 참고). 여기서는 두 프리셋을 무작위
# 가중치로 만들어 모양을 살펴봅니다.

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
# 두 프리셋은 하나의 설계를 공유하고 너비만 다릅니다. `1 + 4k` 프레임은 `1 + k` 잠재 프레임이 되고, 각 프레임은 높이와
# 너비가 8배 작아집니다. 그래서 5주차의 확산 모델은 자신이 생성하는 비디오가 가진 숫자 중 작은 일부만 다룹니다. 길이가
# `1 + 4k` 프레임이 아닌 클립은 거부됩니다.
#
# 압축은 어디에서 일어날까요? 배포된 작은 VAE가 데모 클립을 인코딩하고 잠재 변수의 평균을 디코딩하는 동안, 모든
# 레벨에 건 훅이 각 레벨이 넘겨주는 텐서의 모양을 기록합니다. 아래의 블록은 너비가 프레임 수에, 높이가 프레임 한 변의
# 길이에 비례하도록 그렸습니다. 굵은 글씨는 그 값을 바꾸는 레벨입니다.

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
# 공간은 처음 세 다운 레벨에서 절반씩 줄고(64 → 32 → 16 → 8 px), 시간은 처음 두 레벨에서 절반씩 줄어듭니다(17 → 9 →
# 5 프레임: 매번 첫 프레임은 따로 두고 나머지를 두 개씩 평균하므로 `1 + 2k → 1 + k`). 마지막 레벨과 가운데 블록은
# 모양을 그대로 둡니다. 디코더는 거꾸로 올라갑니다. 처음 두 업 레벨에서 시간이 두 배가 되고(따로 떨어진 첫 프레임은
# 제외), 처음 세 업 레벨에서 공간이 두 배가 됩니다. 프레임이 줄어드는 만큼 채널(C)은 늘어나지만, 잠재 변수에는 채널이
# 몇 개만 남습니다(작은 프리셋은 8개, CogVideoX는 16개).
#
# ## 4. 손실을 처음부터, 그리고 몇 스텝의 학습
# VAE는 사후 분포 `q(z|x)`의 평균이 아닌 **샘플**로부터 입력을 다시 만들도록 학습됩니다. 그래야 디코더가 노이즈가 섞인
# 잠재 변수를 견디는 법을 배우는데, 이는 나중에 확산 모델이 생성한 것을 디코딩할 때 쓸모가 있습니다. 손실은 두 항으로
# 이루어집니다.
#
# * **재구성**: 픽셀마다 `|e| + e²`(L1 + MSE)이며, 물체의 픽셀은 `1 + fg_weight`번 셉니다. 물체는 픽셀 중 작은
#   일부이고(0주차), 가중치가 없는 손실은 배경만 칠하는 것으로 만족해 버리기 때문입니다.
# * 잠재 원소마다 **KL(q(z|x) ‖ N(0, I))** 항을 작은 가중치로 더합니다. 이 항은 잠재 변수가 클립을 잊도록 강제하지
#   않으면서 표준 정규 분포 근처에 머물게 합니다.

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
# 강의 중에 돌아가도록 32×32 px에서, 새로 뽑은 도형 세계 클립으로 AdamW 스텝을 몇 번 밟습니다. 스텝은 단일 프레임
# 배치(색과 도형을 적은 비용으로 익힙니다. 어차피 첫 프레임은 따로 인코딩됩니다)와 9프레임 클립(움직임)을 번갈아
# 씁니다.

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
# 우리 손실은 항 하나하나까지 패키지의 손실과 같고(assert로 확인), 스텝 몇 번만으로도 손실이 내려갑니다. 하지만 쓸 만한
# 재구성을 얻으려면 수천 스텝이 필요합니다. `minicog.train_vae`는 이 루프를 64×64 px에서 학습률 스케줄, 그래디언트
# 클리핑, 데이터 로더, 체크포인트와 함께 돌리는 것이며, `make train-tiny`(`python -m minicog.train_vae`)가 이것으로
# 배포된 체크포인트를 학습했습니다. 먼저 VAE 전체를, 그다음 잠재 공간이 움직이지 않도록 인코더를 고정하고 디코더만
# 학습했습니다(레시피와 소요 시간: [`docs/causal_vae.md`](../docs/causal_vae.md)). 다음은 홀드아웃 클립(학습과 다른
# 데이터셋 시드)에서 그 체크포인트를 평가한 결과입니다.

# %%
clips = shapes_clips(8, seed=EVAL_SEED)
scores = evaluate_psnr(vae, clips)
print(f"shipped VAE, held-out PSNR: mean {scores.mean():.2f} dB, min {scores.min():.2f} dB "
      f"(our {steps} steps: {psnr_curve[-2:].mean():.1f} dB on their last batches)")
assert scores.mean() >= 32 and scores.mean() > psnr_curve.max() + 10

# %% [markdown]
# ## 5. 재구성 결과 나란히 보기, 그리고 잠재 변수
# 홀드아웃 클립 세 개를 배포된 VAE에 통과시킵니다. 위: 입력, 가운데: 재구성, 아래: |오차| × 4이며, 네 번째 프레임마다
# 보여 줍니다.

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
# 재구성은 어디서나 원본에 가깝고, 남은 오차는 물체의 가장자리에 면적에 비해 턱없이 많이 몰려 있습니다. 평평한 배경은
# 쉽고, VAE가 애써야 하는 것은 움직이는 도형입니다. 입력과 재구성을 나란히 비디오로 봅시다.

# %%
_ = show_video(np.concatenate([to_uint8(clips[0]), to_uint8(recon[0])], axis=2), "input | reconstruction")

# %% [markdown]
# 클립 하나의 잠재 채널 8개를 잠재 프레임 5개에 걸쳐 보여 줍니다(잠재 프레임 0은 첫 비디오 프레임 하나만 담고, 그 뒤의
# 잠재 프레임은 각각 4프레임을 요약합니다). VAE를 학습할 때 많은 클립에서 측정한 `scaling_factor`는 잠재 변수를, 확산
# 모델이 출발하는 분산 1의 노이즈와 같은 스케일로 맞춰 줍니다.

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
# 잠재 변수는 그 자체로 작은 비디오입니다. 모든 채널에서 물체는 배경의 평평한 값 위를 잠재 프레임마다 움직이는
# 얼룩으로 나타납니다. 4–6주차에서 트랜스포머가 생성하도록 가르치는 것이 바로 이것입니다.

# %% [markdown]
# ## 6. 측정: 프레임 청크 크기 대 품질
# 실제 클립은 깁니다(480×720에서 49프레임). 그래서 CogVideoX의 추론 코드는 한 번에 8프레임씩 인코딩하고 잠재 프레임
# 2개씩 디코딩하며, 청크 사이에 합성곱 캐시를 넘깁니다. 이때 합성곱은 정확합니다. 하지만 **GroupNorm**은 (그룹의 채널 ×
# 프레임 × 높이 × 너비)에 걸쳐 정규화하므로, 청크마다 클립 전체가 아니라 그 청크의 통계를 씁니다. 이 영향을 작은
# VAE(1프레임과 9프레임의 전체 클립으로 학습)에서 측정합니다. 여러 청크 크기에 대해 PSNR과 잠재 변수의 변화를 재고,
# 그다음 모든 GroupNorm을 제거한 상태(새로 초기화한 VAE)로 반복합니다. 그러면 청크 처리와 클립 전체 처리가
# 똑같아집니다.

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
# GroupNorm이 없으면 청크 처리와 클립 전체 처리가 부동소수점 반올림 범위에서 일치합니다. 합성곱 캐시가 인과적 합성곱을
# 정확하게 만들어 주기 때문입니다. GroupNorm이 있으면 각 청크가 클립 전체가 아닌 자기 자신의 평균과 분산으로
# 정규화되므로 잠재 변수가 움직이고 PSNR이 떨어집니다. 여기서는 아주 조금입니다. 정적인 배경과 움직이는 도형 하나로
# 이루어진 도형 세계에서는 청크 통계가 클립 통계에 가까워 비용이 작습니다. 장면 전환이 있는 실제 영상은 더 크게 어긋날
# 수 있으며, diffusers의 CogVideoX VAE가 클립을 언제나 같은 방식(8프레임 / 잠재 프레임 2개)으로 나누는 이유 중 하나가
# 이것입니다. 짚어 둘 만한 부수 효과: 클립 전체에 적용하는 GroupNorm은 인과적이지 *않습니다*(모든 프레임의 통계에 미래
# 프레임이 포함됩니다). 청크 처리는 청크 단위로 인과적입니다.

# %% [markdown]
# ## 요약
# * **인과적 합성곱** = 과거 쪽만 패딩합니다. 출력 `t`는 `> t`인 프레임을 결코 보지 않습니다(아래쪽 삼각형 그림).
# * **압축(공간 · 시간 압축)**: `1 + 4k` 프레임 → `1 + k` 잠재 프레임, `H × W → H/8 × W/8`. 첫 프레임은 따로
#   인코딩되므로 이미지는 같은 잠재 공간 안의 1프레임 비디오입니다. 공간은 인코더의 세 레벨에서, 시간은 두 레벨에서
#   절반씩 줄어듭니다(3절의 그림).
# * **합성곱 캐시**: 클립을 청크 단위로 처리해도 합성곱은 정확합니다. 청크별 GroupNorm이 유일한 근사이며, 도형
#   세계에서는 그 비용이 작습니다.
# * **학습**: 재구성 손실(물체 픽셀에 가중치를 더 줌) + 작은 KL 항. 사후 분포의 *샘플*을 디코딩하므로 디코더가 잠재
#   변수의 노이즈를 견딥니다. 몇 스텝이면 손실이 내려가지만, 쓸 만한 VAE에는 수천 스텝이 필요합니다. 남는 오차는
#   움직이는 물체에 있습니다.
# * **잠재 변수**는 스케일이 맞춰져 있지 않습니다. 확산 전에 `vae.scaling_factor`를 곱하고, 디코딩 전에 나눕니다.

# %% [markdown] [nbgrader locked id=exercises]
# ## 채점 과제
# 아래의 각 함수를 작성하세요. `raise NotImplementedError()`를 여러분의 코드로 바꾸고 그 아래의 확인 셀을 실행하면,
# 무작위 입력과 경계 사례에서 여러분의 함수를 minicog 자체의 함수와 비교해 무엇이 다른지 알려 줍니다.
# `make grade NB=<this notebook>`은 모든 과제를 채점합니다(`docs/coursework.md`).
# 이 절은 독립적으로 실행됩니다. 첫 셀이 필요한 것을 import합니다.

# %%
import torch
import torch.nn as nn

from minicog import coursework as cw
from minicog.causal_vae import CausalConv3d

# %% [markdown]
# **예측한 뒤 실행하기.** 인과적 합성곱 세 개를 쌓은 스택(`CausalConv3d`, k = 3)이 17프레임 클립을 8프레임 청크(프레임
# 0–7, 8–15, 16)로 나눠 처리하는데, 합성곱 캐시는 *쓰지 않습니다*. 각 청크를 마치 독립된 클립처럼 자기 첫 프레임의
# 복사본으로 패딩합니다. 출력 프레임 17개 중 몇 개가 클립 전체를 한 번에 처리한 출력과 달라질까요? 여러분의 추측을
# `prediction()`에 적으세요(맞았는지가 아니라 답했는지만 채점합니다). 확인 셀 다음 셀이 실험을 돌려 여러분의 추측
# 옆에 결과를 출력합니다.

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
# **과제 3.1 — 인과적 패딩 (2점).** 클립 `x (B, C, T, H, W)`와, 시간 축 커널이 `k`이고 공간만 패딩하는
# (`padding=(0, k//2, k//2)`) `nn.Conv3d`에 대해 `causal_conv3d(conv, x)`를 작성하세요. 첫 프레임의 복사본 `k − 1`개를
# 클립 앞에(과거 쪽에만) 붙인 다음 `conv`를 적용합니다. 출력은 다시 T 프레임이고, 프레임 t는 t 이후의 프레임을 보지
# 않습니다.

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
# **과제 3.2 — 합성곱 캐시 (3점).** `chunked_causal_conv(conv, x, chunk)`를 작성하세요. 클립 전체 `x (B, C, T, H, W)`에
# 과제 3.1의 인과적 합성곱을 적용한 것과 같은 출력을, VAE가 긴 비디오를 제한된 메모리로 인코딩할 때처럼 청크 단위로
# 계산합니다. `x`를 `chunk` 프레임씩 연속된 청크로 자르고(T가 `chunk`로 나누어떨어지지 않으면 마지막 청크가
# 더 짧습니다), 청크마다 차례로 한 번씩 `conv`(시간 축 커널이 k이고 공간만 패딩하는 `nn.Conv3d`)를 호출합니다. 이때
# `conv`에는 그 청크의 프레임과, 앞에서 넘겨받은 프레임 몇 개(캐시)만 들어갑니다. 클립 전체가 한꺼번에 `conv`에
# 들어가서는 안 됩니다. 어떤 커널 크기(k = 1 포함)와 어떤 청크 크기(1 포함)에서도 청크 단위 출력이 청크로 나누지 않은
# 출력과 같으려면 캐시에 무엇을 담아야 하는지 알아내세요. 모든 청크의 출력을 시간 축으로 이어 붙인
# `(B, C', T, H, W)`를 반환합니다. 확인 셀은 호출마다 `conv`에 들어간 프레임 수를 셉니다.

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
