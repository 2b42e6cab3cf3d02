"""The checks of the notebooks' graded exercises: one `check_<exercise>` per exercise.

Each week's notebook ends with exercises in which the student writes a piece of that week's lecture
(the rectified-flow step, the causal padding, the Frame Pack mask, ...). A check calls the student's
function on random inputs and edge cases, calls minicog's own implementation on the same inputs, and
raises AssertionError with a message that says which case, which output and by how much they differ.
On success it prints one line; on an exercise not attempted yet (the stub still raises
NotImplementedError) it says so and returns, except under grading, where that scores 0. An answer that
only calls minicog's own function fails. `minicog.checking` holds what the checks share.

    from minicog import coursework as cw
    cw.check_interpolate(interpolate)          # AssertionError: interpolate(x0 (2, 3), ...) ...

`docs/coursework.md` lists the exercises and how they are graded (nbgrader).
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from . import frame_pack, flowdirector, rope, shapes, sizes
from . import rectified_flow as rf
from .causal_vae import CausalConv3d
from .checking import assert_close, call, case, exercise
from .dit import ExpertAdaLayerNorm
from .dit import patchify as _patchify
from .editing import EditConfig, Prompts, editing_velocities
from .scheduler import CogVideoXDDIM, SchedulerConfig

__all__ = ["assert_close", "call", "case"]        # re-exported for the notebooks' own checks

def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _randn(*shape, seed: int = 0, dtype=torch.float32) -> torch.Tensor:
    return torch.randn(*shape, generator=_gen(seed), dtype=dtype)


def _toy_velocity(seed: int = 0) -> Callable[[torch.Tensor, float | torch.Tensor], torch.Tensor]:
    """A smooth, nonlinear, time-dependent velocity field v(x, t) on tensors of any shape; t a float
    or a (B,) tensor."""
    a, b = [float(v) for v in torch.rand(2, generator=_gen(seed)) + 0.5]

    def velocity(x: torch.Tensor, t) -> torch.Tensor:
        t = torch.as_tensor(t, dtype=x.dtype)
        if t.ndim:
            t = t.reshape(-1, *([1] * (x.ndim - 1)))
        return torch.sin(a * x + t) * (1 + t) - b * x

    return velocity


# ----------------------------------------------------------------------------- week 0: Shapes world

@exercise("parse_caption", "minicog.shapes.parse_caption", forbid=(shapes.parse_caption,))
def check_parse_caption(parse_caption: Callable[[str], dict]) -> int:
    """parse_caption(text) -> {"color", "shape", "direction", "background"} of a one-object English
    caption, canonical or paraphrased, vs `shapes.parse_caption(text).attributes`."""
    combos = shapes.all_combinations()
    n = 0
    for i, combo in enumerate(combos):
        for template in shapes.PARAPHRASES[: 1 + i % len(shapes.PARAPHRASES)]:
            text = shapes.caption(**combo, template=template)
            where = case("parse_caption", text)
            assert_close(call(parse_caption, where, text), shapes.parse_caption(text).attributes, where)
            n += 1
    text = "A BLUE square moving UP on a gray background."
    where = case("parse_caption", text)
    assert_close(call(parse_caption, where, text), shapes.parse_caption(text).attributes, where,
                 "the result (captions may use capitals and end with a full stop)")
    return n + 1


@exercise("object_mask", "minicog.shapes.object_mask", forbid=(shapes.object_mask,))
def check_object_mask(object_mask: Callable[[np.ndarray, float], np.ndarray]) -> int:
    """object_mask(video, threshold) -> (T, H, W) bool, vs `shapes.object_mask`."""
    videos = [shapes.render("red", "circle", "right", "black", frames=5, size=32, rng=0),
              shapes.render("blue", "triangle", "up", "white", frames=5, size=32, rng=1),
              shapes.render("yellow", "square", "left", "gray", frames=5, size=(32, 48), rng=2)]
    noisy = np.clip(videos[0].astype(np.int16) + np.random.default_rng(3).integers(-40, 41, videos[0].shape),
                    0, 255).astype(np.uint8)
    videos.append(noisy)
    n = 0
    for video in videos:
        for threshold in (60.0, 25.0):
            where = case("object_mask", video, threshold)
            assert_close(call(object_mask, where, video, threshold), shapes.object_mask(video, threshold), where)
            n += 1
    return n


# ----------------------------------------------------------------------------- week 1: DiT

@exercise("patchify", "minicog.dit.patchify", forbid=(_patchify,))
def check_patchify(patchify: Callable) -> int:
    """patchify(x (B, C, T, H, W), p, p_t) -> (B, N, C·p_t·p·p), vs `minicog.dit.patchify`."""
    n = 0
    for shape, p, p_t in [((2, 3, 4, 8, 6), 2, 1), ((1, 4, 4, 4, 4), 2, 2), ((1, 2, 3, 5, 7), 1, 1),
                          ((2, 16, 2, 6, 4), 2, 2)]:
        x = _randn(*shape, seed=n)
        where = case("patchify", x, p=p, p_t=p_t)
        assert_close(call(patchify, where, x, p=p, p_t=p_t), _patchify(x, p, p_t), where, atol=0, rtol=0)
        n += 1
    return n


@exercise("timestep_embedding", "minicog.rope.timestep_embedding", forbid=(rope.timestep_embedding,))
def check_timestep_embedding(timestep_embedding: Callable) -> int:
    """timestep_embedding(t (B,), dim) -> (B, dim), cos half first, vs `rope.timestep_embedding`."""
    n = 0
    for t, dim in [(torch.tensor([0.0, 1.0, 500.0, 999.0]), 8), (torch.tensor([250.5]), 64),
                   (torch.rand(5, generator=_gen(1)) * 1000, 32), (torch.tensor([0, 999]), 16)]:
        where = case("timestep_embedding", t, dim)
        assert_close(call(timestep_embedding, where, t, dim), rope.timestep_embedding(t, dim), where,
                     atol=1e-4, rtol=1e-4)
        n += 1
    return n


@exercise("adaln_zero", "minicog.dit.ExpertAdaLayerNorm + gated residual", forbid=(ExpertAdaLayerNorm.forward,))
def check_adaln_zero(adaln_zero: Callable) -> int:
    """adaln_zero(x, c, ada, norm, branch) -> x + α ⊙ branch(LN(x)(1 + γ) + β) with (β, γ, α) the
    three chunks of ada(silu(c)), vs minicog's `ExpertAdaLayerNorm` (video expert) and a gated
    residual; also: zero `ada` ⇒ the identity."""
    n = 0
    for B, N, D, cond_dim in [(2, 6, 16, 8), (1, 10, 32, 12)]:
        torch.manual_seed(n)
        eln = ExpertAdaLayerNorm(D, cond_dim)
        ada = nn.Linear(cond_dim, 3 * D)
        with torch.no_grad():
            ada.weight.copy_(eln.linear.weight[:3 * D])       # rows [0:3D]: the video expert (β, γ, α)
            ada.bias.copy_(eln.linear.bias[:3 * D])
        branch = nn.Sequential(nn.Linear(D, D), nn.GELU())
        x, c = _randn(B, N, D, seed=n), _randn(B, cond_dim, seed=n + 10)
        with torch.no_grad():
            h, (_, gate_v) = eln(x[:, :0], x, F.silu(c))
            want = x + gate_v * branch(h)
            where = case("adaln_zero", x, c, ada, eln.norm, branch)
            assert_close(call(adaln_zero, where, x, c, ada, eln.norm, branch), want, where)
        n += 1
        with torch.no_grad():
            nn.init.zeros_(ada.weight), nn.init.zeros_(ada.bias)
            where = case("adaln_zero", x, c, "ada = zeros", eln.norm, branch)
            assert_close(call(adaln_zero, where, x, c, ada, eln.norm, branch), x, where,
                         "the result with a zero-initialised ada (adaLN-Zero: the identity)")
        n += 1
    return n


# ----------------------------------------------------------------------------- week 2: rectified flow

@exercise("interpolate", "minicog.rectified_flow.interpolate", forbid=(rf.interpolate,))
def check_interpolate(interpolate: Callable) -> int:
    """interpolate(x0, noise, t) -> x_t = (1 − t)·x0 + t·ε; t a float or a (B,) tensor."""
    n = 0
    x0, eps = _randn(4, 2, seed=0), _randn(4, 2, seed=1)
    cases = [0.0, 1.0, 0.3, torch.tensor([0.0, 0.25, 0.5, 1.0])]
    for t in cases:
        where = case("interpolate", x0, eps, t)
        assert_close(call(interpolate, where, x0, eps, t), rf.interpolate(x0, eps, t), where)
        n += 1
    x0, eps, t = _randn(3, 4, 5, 2, 2, seed=2), _randn(3, 4, 5, 2, 2, seed=3), torch.tensor([0.1, 0.6, 0.9])
    where = case("interpolate", x0, eps, t)
    assert_close(call(interpolate, where, x0, eps, t), rf.interpolate(x0, eps, t), where,
                 "the result (a (B,) t must broadcast over all of x's other dimensions)")
    return n + 1


@exercise("velocity_target", "minicog.rectified_flow.velocity_target", forbid=(rf.velocity_target,))
def check_velocity_target(velocity_target: Callable) -> int:
    """velocity_target(x0, noise) -> v = ε − x0."""
    n = 0
    for shape in [(4, 2), (2, 4, 3, 2, 2)]:
        x0, eps = _randn(*shape, seed=n), _randn(*shape, seed=n + 1)
        where = case("velocity_target", x0, eps)
        assert_close(call(velocity_target, where, x0, eps), rf.velocity_target(x0, eps), where)
        n += 1
    return n


def _check_step(step: Callable, name: str, method: str) -> int:
    n = 0
    velocity = _toy_velocity(0)
    for shape, t, t_next in [((4, 2), 1.0, 0.75), ((2, 3, 2, 2), 0.5, 0.0), ((3, 2), 0.0, 0.1)]:
        x = _randn(*shape, seed=n)
        want = rf.ode_step(velocity, x, torch.tensor(t), torch.tensor(t_next), method)[0]
        where = case(name, velocity, x, t, t_next)
        assert_close(call(step, where, velocity, x, t, t_next), want, where,
                     "the next state" + (" (this case integrates upwards, t → t_next > t)" if t_next > t else ""))
        n += 1
    return n


@exercise("euler_step", "minicog.rectified_flow.ode_step(method='euler')", forbid=(rf.ode_step,))
def check_euler_step(euler_step: Callable) -> int:
    """euler_step(velocity, x, t, t_next) -> x + (t_next − t)·v(x, t)."""
    return _check_step(euler_step, "euler_step", "euler")


@exercise("heun_step", "minicog.rectified_flow.ode_step(method='heun')", forbid=(rf.ode_step,))
def check_heun_step(heun_step: Callable) -> int:
    """heun_step(velocity, x, t, t_next): Euler predictor, then the average of the two slopes."""
    return _check_step(heun_step, "heun_step", "heun")


# ----------------------------------------------------------------------------- week 3: causal VAE

@exercise("causal_conv3d", "minicog.causal_vae.CausalConv3d", forbid=(CausalConv3d.forward,))
def check_causal_conv3d(causal_conv3d: Callable) -> int:
    """causal_conv3d(conv, x): pad time with k − 1 copies of the first frame in front, then `conv`
    (an nn.Conv3d that pads only space), vs minicog's `CausalConv3d` with the same weights."""
    n = 0
    for (B, C, T, H, W), k, out in [((1, 2, 5, 4, 4), 3, 3), ((2, 3, 9, 6, 5), 3, 2), ((1, 2, 1, 4, 4), 3, 2),
                                    ((1, 2, 4, 3, 3), 1, 2), ((1, 1, 6, 5, 5), 5, 1)]:
        torch.manual_seed(n)
        ref = CausalConv3d(C, out, k)
        conv = nn.Conv3d(C, out, k, padding=(0, k // 2, k // 2))
        conv.load_state_dict(ref.conv.state_dict())
        x = _randn(B, C, T, H, W, seed=n)
        with torch.no_grad():
            where = case("causal_conv3d", f"Conv3d(kernel={k})", x)
            assert_close(call(causal_conv3d, where, conv, x), ref(x), where, atol=1e-5, rtol=1e-4)
        n += 1
    return n


@exercise("valid_length", "minicog.sizes.valid_length", forbid=(sizes.valid_length,))
def check_valid_length(valid_length: Callable[[int], int]) -> int:
    """valid_length(frames) -> the largest 1 + 4k ≤ frames, vs `sizes.valid_length`."""
    for frames in range(1, 60):
        where = case("valid_length", frames)
        assert_close(call(valid_length, where, frames), sizes.valid_length(frames), where)
    return 59


@exercise("latent_length", "minicog.sizes.latent_length", forbid=(sizes.latent_length,))
def check_latent_length(latent_length: Callable[[int], int]) -> int:
    """latent_length(frames) -> latent frames 1 + k of the (cut to 1 + 4k) clip, vs `sizes.latent_length`."""
    for frames in range(1, 60):
        where = case("latent_length", frames)
        assert_close(call(latent_length, where, frames), sizes.latent_length(frames), where)
    return 59


# ----------------------------------------------------------------------------- week 4: expert transformer

@exercise("expert_adaln", "minicog.dit.ExpertAdaLayerNorm", forbid=(ExpertAdaLayerNorm.forward,))
def check_expert_adaln(expert_adaln: Callable) -> int:
    """expert_adaln(text, video, cond, norm, linear) -> ([text | video] modulated, (gate_t, gate_v)),
    vs `minicog.dit.ExpertAdaLayerNorm`."""
    n = 0
    for B, L, N, D, cond_dim in [(2, 3, 5, 8, 4), (1, 7, 12, 16, 6), (2, 0, 4, 8, 4)]:
        torch.manual_seed(n)
        eln = ExpertAdaLayerNorm(D, cond_dim)
        text, video, cond = _randn(B, L, D, seed=n), _randn(B, N, D, seed=n + 1), _randn(B, cond_dim, seed=n + 2)
        with torch.no_grad():
            where = case("expert_adaln", text, video, cond, eln.norm, eln.linear)
            assert_close(call(expert_adaln, where, text, video, cond, eln.norm, eln.linear),
                         eln(text, video, cond), where, "(h, (gate_t, gate_v))")
        n += 1
    return n


@exercise("rope_axis_dims", "minicog.rope.rope_axis_dims", forbid=(rope.rope_axis_dims,))
def check_rope_axis_dims(rope_axis_dims: Callable[[int], tuple]) -> int:
    """rope_axis_dims(head_dim) -> (t, h, w) channels: d/4, 3d/8, 3d/8."""
    dims = list(range(8, 129, 8))
    for d in dims:
        where = case("rope_axis_dims", d)
        got = call(rope_axis_dims, where, d)
        assert_close(tuple(got) if isinstance(got, list) else got, rope.rope_axis_dims(d), where)
    return len(dims)


@exercise("rope_1d", "minicog.rope.rope_1d", forbid=(rope.rope_1d,))
def check_rope_1d(rope_1d: Callable) -> int:
    """rope_1d(dim, pos, theta) -> (cos, sin) tables (len(pos), dim), each frequency repeated for its
    channel pair, vs `minicog.rope.rope_1d`."""
    n = 0
    for dim, pos, theta in [(4, torch.arange(3), 10000.0), (16, torch.arange(13), 10000.0),
                            (24, torch.tensor([0, 5, 2]), 10000.0), (8, torch.arange(6), 100.0)]:
        where = case("rope_1d", dim, pos, theta=theta)
        assert_close(call(rope_1d, where, dim, pos, theta=theta), rope.rope_1d(dim, pos, theta), where,
                     "(cos, sin)", atol=1e-5, rtol=1e-4)
        n += 1
    return n


@exercise("apply_rope", "minicog.rope.apply_rope_real", forbid=(rope.apply_rope_real, rope.apply_rope))
def check_apply_rope(apply_rope: Callable) -> int:
    """apply_rope(x (..., S, d), cos, sin) -> x·cos + rotate_pairs(x)·sin, vs `rope.apply_rope_real`."""
    n = 0
    for shape, d in [((3, 4), 4), ((2, 2, 6, 8), 8), ((1, 1, 5, 16), 16)]:
        x = _randn(*shape, seed=n)
        cos, sin = rope.rope_1d(d, torch.arange(shape[-2]))
        where = case("apply_rope", x, cos, sin)
        assert_close(call(apply_rope, where, x, cos, sin), rope.apply_rope_real(x, cos, sin), where)
        n += 1
    return n


# ----------------------------------------------------------------------------- week 5: Frame Pack

@exercise("frame_pack_mask", "minicog.frame_pack.attention_mask", forbid=(frame_pack.attention_mask,))
def check_frame_pack_mask(frame_pack_mask: Callable) -> int:
    """frame_pack_mask(text_mask (B, L), video_mask (B, T), tokens_per_frame) -> (B, N, N) bool,
    vs `minicog.frame_pack.attention_mask`."""
    n = 0
    cases = [
        (torch.tensor([[True, True, False]]), torch.tensor([[True, True, True, False, False]]), 1),
        (torch.tensor([[True, True], [True, False]]), torch.tensor([[True, True, True], [True, False, False]]), 4),
        (torch.tensor([[True, True, True]]), torch.tensor([[True, True]]), 2),          # nothing padded
        (torch.ones(2, 0, dtype=torch.bool), torch.tensor([[True, False], [True, True]]), 3),   # no text
    ]
    for text_mask, video_mask, tpf in cases:
        where = case("frame_pack_mask", text_mask, video_mask, tpf)
        assert_close(call(frame_pack_mask, where, text_mask, video_mask, tpf),
                     frame_pack.attention_mask(text_mask, video_mask, tpf), where)
        n += 1
    return n


@exercise("block_diagonal_mask", "minicog.frame_pack.block_diagonal_mask", forbid=(frame_pack.block_diagonal_mask,))
def check_block_diagonal_mask(block_diagonal_mask: Callable) -> int:
    """block_diagonal_mask(segment_ids (R, T), tokens_per_frame) -> (R, N, N) bool, vs
    `minicog.frame_pack.block_diagonal_mask`."""
    n = 0
    clips = [torch.zeros(1, t, 2, 2) for t in (5, 3, 2, 4, 1)]
    packed = frame_pack.pack_sequences(clips, capacity=6).segment_ids
    for seg, tpf in [(torch.tensor([[0, 0, 1, 1, 1, -1]]), 1), (torch.tensor([[0, 1, 2], [3, 3, -1]]), 2),
                     (packed, 1), (packed, 3), (torch.tensor([[4, 4, 4, 4]]), 2)]:
        where = case("block_diagonal_mask", seg, tpf)
        assert_close(call(block_diagonal_mask, where, seg, tpf), frame_pack.block_diagonal_mask(seg, tpf), where)
        n += 1
    return n


# ----------------------------------------------------------------------------- week 6: sampling and guidance

def _toy_model(seed: int = 0):
    """A velocity model f(x, t (B,), cond) whose output depends on the condition (B, D)."""
    velocity = _toy_velocity(seed)

    def model(x, t, cond):
        return velocity(x, t) + cond.mean(-1).reshape(-1, *([1] * (x.ndim - 1))) * torch.cos(x)

    return model


@exercise("guided_velocity", "minicog.rectified_flow.guided_velocity", forbid=(rf.guided_velocity,))
def check_guided_velocity(guided_velocity: Callable) -> int:
    """guided_velocity(model, x, t, cond, uncond, guidance) -> v_u + g·(v_c − v_u) (g = 1: v_c alone,
    `uncond` may be None), vs `minicog.rectified_flow.guided_velocity`."""
    model = _toy_model(0)
    n = 0
    for B, g in [(2, 4.0), (1, 1.0), (3, 0.0), (2, 7.5)]:
        x, t = _randn(B, 3, 2, 2, seed=n), torch.rand(B, generator=_gen(n))
        cond, uncond = _randn(B, 5, seed=n + 1), torch.zeros(B, 5)
        u = None if g == 1.0 else uncond
        where = case("guided_velocity", model, x, t, cond, u, g)
        assert_close(call(guided_velocity, where, model, x, t, cond, u, g),
                     rf.guided_velocity(model, x, t, cond, u, g), where)
        n += 1
    return n


@exercise("time_grid", "minicog.rectified_flow.timesteps", forbid=(rf.timesteps,))
def check_time_grid(time_grid: Callable) -> int:
    """time_grid(steps, shift) -> (steps + 1,) times from 1 to 0, equal steps in the unshifted time
    mapped through t' = s·t / (1 + (s − 1)·t), vs `minicog.rectified_flow.timesteps`."""
    n = 0
    for steps, shift in [(4, 1.0), (10, 3.0), (1, 2.0), (7, 0.5)]:
        where = case("time_grid", steps, shift)
        assert_close(call(time_grid, where, steps, shift), rf.timesteps(steps, shift), where,
                     "the grid", atol=1e-6, rtol=1e-6)
        n += 1
    return n


@exercise("euler_sample", "minicog.rectified_flow.sample", forbid=(rf.sample,))
def check_euler_sample(euler_sample: Callable) -> int:
    """euler_sample(model, noise, cond, uncond, steps, guidance) -> x at t = 0, Euler with CFG on
    the uniform grid from 1 to 0, vs `minicog.rectified_flow.sample(method="euler")`."""
    model = _toy_model(1)
    n = 0
    for B, steps, g in [(1, 4, 1.0), (2, 10, 4.0), (1, 1, 2.0)]:
        noise, cond, uncond = _randn(B, 2, 3, 2, 2, seed=n), _randn(B, 4, seed=n + 1), torch.zeros(B, 4)
        want = rf.sample(model, noise, cond, uncond, steps=steps, guidance=g, progress=False)
        where = case("euler_sample", model, noise, cond, uncond, steps, g)
        assert_close(call(euler_sample, where, model, noise, cond, uncond, steps, g), want, where,
                     "the sample", atol=1e-4, rtol=1e-4)
        n += 1
    return n


# ----------------------------------------------------------------------------- week 7: editing

def _edit_setup(seed: int, N: int):
    """A toy text-conditioned velocity `velocity(z, t (B,), emb (B, L, D), mask)` as FlowEdit calls it,
    three prompt embeddings (SRC, TAR, NEG) and the source latents and noise."""
    base = _toy_velocity(seed)

    def velocity(z, t, emb, mask=None):
        return base(z, t) + emb.mean(dim=(1, 2)).reshape(-1, *([1] * (z.ndim - 1))) * torch.cos(2 * z)

    prompts = Prompts(_randn(3, 4, 6, seed=seed), None, ("a red circle", "a blue circle", ""))
    x_src = _randn(1, 2, 3, 4, 4, seed=seed + 1)
    noise = _randn(N, 2, 3, 4, 4, seed=seed + 2)
    return velocity, prompts, x_src, noise


@exercise("flowedit_step", "minicog.editing.editing_velocities + an Euler step", forbid=(editing_velocities,))
def check_flowedit_step(flowedit_step: Callable) -> int:
    """flowedit_step(velocity_src, velocity_tar, x_src, z_edit, t, t_next, noise) -> the next Z_edit:
    Z_src = (1 − t)·X_src + t·ε_k, Z_tar = Z_src + Z_edit − X_src, V = mean_k [v_tar(Z_tar) − v_src(Z_src)],
    Z_edit + (t_next − t)·V; vs `minicog.editing.editing_velocities` (guidance 1)."""
    n = 0
    for N, t, t_next, moved in [(1, 0.7, 0.65, False), (3, 0.7, 0.65, True), (2, 0.35, 0.3, True)]:
        velocity, prompts, x_src, noise = _edit_setup(n, N)
        z_edit = x_src + (0.3 * _randn(*x_src.shape, seed=n + 5) if moved else 0)
        cfg = EditConfig(src_guidance=1.0, tar_guidance=1.0)
        V = editing_velocities(velocity, x_src, z_edit, t, noise, prompts, cfg)[0]
        want = z_edit + (t_next - t) * V.mean(0, keepdim=True)

        def v_src(z, tt, e=prompts.embeds[0:1], f=velocity):
            return f(z, torch.full((z.shape[0],), float(tt)), e.expand(z.shape[0], -1, -1))

        def v_tar(z, tt, e=prompts.embeds[1:2], f=velocity):
            return f(z, torch.full((z.shape[0],), float(tt)), e.expand(z.shape[0], -1, -1))

        where = case("flowedit_step", v_src, v_tar, x_src, z_edit, t, t_next, noise)
        assert_close(call(flowedit_step, where, v_src, v_tar, x_src, z_edit, t, t_next, noise), want, where,
                     "the next Z_edit", atol=1e-5, rtol=1e-4)
        n += 1
    return n


@exercise("invert", "minicog.rectified_flow.invert", forbid=(rf.invert,))
def check_invert(invert: Callable) -> int:
    """invert(velocity, x0, steps) -> x at t = 1: Euler upwards on the uniform grid 0 → 1, vs
    `minicog.rectified_flow.invert`."""
    velocity = _toy_velocity(3)
    n = 0
    for shape, steps in [((2, 3), 5), ((1, 2, 3, 4, 4), 10), ((1, 4), 1)]:
        x0 = _randn(*shape, seed=n)
        want = rf.invert(lambda x, t, c: velocity(x, t), x0, None, steps=steps, progress=False)
        where = case("invert", velocity, x0, steps)
        assert_close(call(invert, where, velocity, x0, steps), want, where, "the inverted latents",
                     atol=1e-4, rtol=1e-4)
        n += 1
    return n


# ----------------------------------------------------------------------------- week 8: FlowDirector

def _word_maps(R, T, H, W, seed):
    g = _gen(seed)
    maps = torch.rand(R, T, H, W, generator=g) * 0.2
    for r in range(R):                                             # a bright blob per map
        i, j = int(torch.randint(0, H, (1,), generator=g)), int(torch.randint(0, W, (1,), generator=g))
        maps[r, :, max(0, i - 1): i + 2, max(0, j - 1): j + 2] += 1.0
    return maps


@exercise("safc_mask", "minicog.flowdirector.attention_mask", forbid=(flowdirector.attention_mask,))
def check_safc_mask(safc_mask: Callable) -> int:
    """safc_mask(word_maps (R, T', H', W'), size (T, h, w), kernel) -> the binary union (T, h, w) float:
    nearest upsampling, min–max normalisation per map, a kernel×kernel box filter, > the map's mean,
    union over maps; vs `flowdirector.attention_mask(..., return_parts=True)[1]["union"]`."""
    n = 0
    for (R, T, H, W), size, k in [((1, 2, 4, 4), (2, 8, 8), 3), ((2, 3, 4, 6), (3, 8, 12), 3),
                                  ((1, 1, 6, 6), (1, 6, 6), 1), ((3, 2, 3, 3), (2, 9, 9), 5)]:
        maps = _word_maps(R, T, H, W, n)
        want = flowdirector.attention_mask(maps, size, flowdirector.MaskRule(k, "mean"), return_parts=True)[1]["union"]
        where = case("safc_mask", maps, size, k)
        assert_close(call(safc_mask, where, maps, size, k), want, where, "the binary mask")
        n += 1
    flat = torch.full((1, 2, 4, 4), 0.5)
    want = flowdirector.attention_mask(flat, (2, 4, 4), flowdirector.MaskRule(3, "mean"), return_parts=True)[1]["union"]
    where = case("safc_mask", "constant maps", (2, 4, 4), 3)
    assert_close(call(safc_mask, where, flat, (2, 4, 4), 3), want, where,
                 "the mask of a constant map (no contrast: all ones)")
    return n + 1


@exercise("soften_edges", "minicog.flowdirector.soften_edges", forbid=(flowdirector.soften_edges,))
def check_soften_edges(soften_edges: Callable) -> int:
    """soften_edges(binary (T, h, w), decay) -> exp(−decay·d), d the chessboard distance to the mask
    within the frame (frames with no mask: 0), vs `minicog.flowdirector.soften_edges`."""
    n = 0
    b1 = torch.zeros(2, 6, 7)
    b1[0, 2:4, 3] = 1
    b2 = (torch.rand(3, 5, 5, generator=_gen(1)) > 0.85).float()
    b2[1] = 0                                                      # a frame with no mask
    for binary, decay in [(b1, 1.5), (b2, 0.7), (torch.ones(1, 3, 3), 2.0)]:
        where = case("soften_edges", binary, decay)
        assert_close(call(soften_edges, where, binary, decay), flowdirector.soften_edges(binary, decay), where,
                     "the soft mask")
        n += 1
    return n


@exercise("dag", "minicog.flowdirector.differential_averaging (v1)", forbid=(flowdirector.differential_averaging,))
def check_dag(dag: Callable) -> int:
    """dag(candidates (N, ...), n_worse, omega) -> V = V_better + (ω − 1)·(V_better − V_worse), V_better
    the mean of all N, V_worse the mean of the first n_worse (v1), vs `differential_averaging`."""
    n = 0
    for N, n_worse, omega in [(4, 1, 3.0), (6, 3, 2.0), (5, 2, 1.0)]:
        cands = _randn(N, 2, 3, 4, 4, seed=n)
        want = flowdirector.differential_averaging(cands, flowdirector.DAG(n_worse, omega, "v1"))[0]
        where = case("dag", cands, n_worse, omega)
        assert_close(call(dag, where, cands, n_worse, omega), want, where, "V")
        n += 1
    return n


# ----------------------------------------------------------------------------- week 9: scaling up

def _vp_cases():
    sched = CogVideoXDDIM(SchedulerConfig.cogvideox_2b())          # zero terminal SNR: ᾱ_999 = 0
    for i, t in enumerate([0, 1, 250, 500, 999]):
        x_t = _randn(2, 3, 2, 2, seed=i, dtype=torch.float64)
        v = _randn(2, 3, 2, 2, seed=i + 10, dtype=torch.float64)
        yield sched, t, sched.alphas_cumprod[t].double(), x_t, v


@exercise("rf_time", "minicog.scheduler.CogVideoXDDIM.rf_time", forbid=(CogVideoXDDIM.rf_time,))
def check_rf_time(rf_time: Callable) -> int:
    """rf_time(alpha_bar) -> s = b / (a + b), a = √ᾱ, b = √(1 − ᾱ), vs `VPScheduler.rf_time`."""
    n = 0
    for sched, t, ab, _, _ in _vp_cases():
        where = case("rf_time", ab) + f"  [ᾱ of DDPM timestep {t}]"
        assert_close(call(rf_time, where, ab), sched.rf_time(t), where, "s", atol=1e-6, rtol=1e-6)
        n += 1
    return n


@exercise("vp_to_rf", "minicog.scheduler.CogVideoXDDIM.vp_to_rf", forbid=(CogVideoXDDIM.vp_to_rf,))
def check_vp_to_rf(vp_to_rf: Callable) -> int:
    """vp_to_rf(x_t, alpha_bar) -> z = x_t / (a + b), the rectified-flow state, vs `VPScheduler.vp_to_rf`."""
    n = 0
    for sched, t, ab, x_t, _ in _vp_cases():
        where = case("vp_to_rf", x_t, ab) + f"  [ᾱ of DDPM timestep {t}]"
        assert_close(call(vp_to_rf, where, x_t, ab), sched.vp_to_rf(x_t, t)[0], where, "z", atol=1e-6, rtol=1e-6)
        n += 1
    return n


@exercise("v_to_velocity", "minicog.scheduler.CogVideoXDDIM.v_to_velocity", forbid=(CogVideoXDDIM.v_to_velocity,))
def check_v_to_velocity(v_to_velocity: Callable) -> int:
    """v_to_velocity(v, x_t, alpha_bar) -> u = (b − a)·x_t + (a + b)·v, vs `VPScheduler.v_to_velocity`."""
    n = 0
    for sched, t, ab, x_t, v in _vp_cases():
        where = case("v_to_velocity", v, x_t, ab) + f"  [ᾱ of DDPM timestep {t}]"
        assert_close(call(v_to_velocity, where, v, x_t, ab), sched.v_to_velocity(v, x_t, t), where,
                     "the velocity", atol=1e-6, rtol=1e-6)
        n += 1
    return n
