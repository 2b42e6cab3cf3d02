"""Positional encodings (`minicog.rope`): the properties the lecture states about 3D RoPE, and parity
with diffusers' own functions (the numerical oracle) for the tables the DiT builds."""
import math

import pytest
import torch
from diffusers.models.embeddings import (get_1d_rotary_pos_embed, get_3d_rotary_pos_embed,
                                         get_3d_sincos_pos_embed, get_timestep_embedding)

from minicog.rope import (apply_rope, apply_rope_real, cogvideox_rope_positions, resize_crop_region, rope_1d,
                          rope_3d, rope_as_complex, rope_axis_dims, rotate_pairs, sincos_3d,
                          timestep_embedding)


def grids(T, H, W):
    return torch.arange(T).float(), torch.arange(H).float(), torch.arange(W).float()


@pytest.mark.parametrize("head_dim", [64, 128])
def test_axis_split_is_quarter_time_three_eighths_space(head_dim):
    dt, dh, dw = rope_axis_dims(head_dim)
    assert (dt, dh, dw) == (head_dim // 4, 3 * head_dim // 8, 3 * head_dim // 8)
    assert dt + dh + dw == head_dim
    with pytest.raises(ValueError, match="divisible by 8"):
        rope_3d(36, *grids(2, 2, 2))
    with pytest.raises(ValueError, match="even number"):
        rope_1d(5, torch.arange(3))


def test_rotation_keeps_norms_and_depends_only_on_offsets():
    """RoPE rotates each channel pair: norms are unchanged and <R(p)q, R(p')k> depends on p − p' only."""
    torch.manual_seed(0)
    d = 32
    q, k = torch.randn(d), torch.randn(d)
    pos = torch.arange(12).float()
    cos, sin = rope_1d(d, pos)
    rq = apply_rope_real(q.expand(12, d), cos, sin)
    rk = apply_rope_real(k.expand(12, d), cos, sin)
    assert torch.allclose(rq.norm(dim=-1), q.norm().expand(12), atol=1e-5)
    dots = rq @ rk.T                                                     # (12, 12): <R(i)q, R(j)k>
    for off in (-3, 0, 2, 5):
        diag = torch.diagonal(dots, offset=off)
        assert torch.allclose(diag, diag[0].expand_as(diag), atol=1e-4), off


def test_complex_and_real_forms_agree():
    torch.manual_seed(1)
    cos, sin = rope_3d(64, *grids(3, 4, 5))
    x = torch.randn(2, 4, 60, 64)                                        # (B, heads, S, d)
    assert torch.allclose(apply_rope(x, rope_as_complex(cos, sin)), apply_rope_real(x, cos, sin), atol=1e-5)
    assert torch.equal(rotate_pairs(torch.tensor([1., 2., 3., 4.])), torch.tensor([-2., 1., -4., 3.]))


def test_tables_match_diffusers():
    # one axis
    cos, sin = rope_1d(16, torch.arange(7).float())
    ref_cos, ref_sin = get_1d_rotary_pos_embed(16, torch.arange(7).float(), use_real=True,
                                               repeat_interleave_real=True)
    assert torch.allclose(cos, ref_cos.float(), atol=1e-6) and torch.allclose(sin, ref_sin.float(), atol=1e-6)
    # 3D, as CogVideoXPipeline builds it (a 60×90 base grid, the 480×720 training size of 5B)
    T, H, W, d = 4, 6, 8, 64
    crops = resize_crop_region((H, W), 90 // 2, 60 // 2)
    ref_cos, ref_sin = get_3d_rotary_pos_embed(d, crops, grid_size=(H, W), temporal_size=T)
    cos, sin = rope_3d(d, *cogvideox_rope_positions((T, H, W), (30, 45), slice_grid=False))
    assert cos.shape == (T * H * W, d)
    assert torch.allclose(cos, ref_cos.float(), atol=1e-5) and torch.allclose(sin, ref_sin.float(), atol=1e-5)


def test_sincos_3d_matches_diffusers():
    T, H, W, dim = 3, 4, 6, 48
    ref = torch.as_tensor(get_3d_sincos_pos_embed(dim, (W, H), T, spatial_interpolation_scale=1.875,
                                                  temporal_interpolation_scale=1.0, output_type="pt"))
    ours = sincos_3d(dim, (T, H, W), spatial_scale=1.875)
    assert ours.shape == (T * H * W, dim)
    assert torch.allclose(ours.float(), ref.reshape(T * H * W, dim).float(), atol=1e-5)


@pytest.mark.parametrize("flip,shift", [(True, 0.0), (False, 1.0)])
def test_timestep_embedding_matches_diffusers(flip, shift):
    t = torch.tensor([0.0, 1.5, 250.0, 999.0])
    for dim in (32, 33):
        ref = get_timestep_embedding(t, dim, flip_sin_to_cos=flip, downscale_freq_shift=shift)
        assert torch.allclose(timestep_embedding(t, dim, flip, shift), ref, atol=1e-5)
    emb = timestep_embedding(torch.zeros(1), 8)
    assert torch.allclose(emb[0, :4], torch.ones(4)) and torch.allclose(emb[0, 4:], torch.zeros(4))  # cos(0), sin(0)
    assert math.isclose(float(timestep_embedding(torch.tensor([3.0]), 2, flip_sin_to_cos=False)[0, 0]),
                        math.sin(3.0), rel_tol=1e-6)
