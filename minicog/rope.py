"""Positional information for video tokens: 3D rotary embeddings (CogVideoX-5B / 1.5) and the 3D
sincos absolute embedding (CogVideoX-2B), computed exactly as diffusers' CogVideoX pipeline does
for a given latent size, so `VideoDiT` can build them itself from the input shape.

3D RoPE (CogVideoX §2.2 "3D-RoPE", after Su et al. 2021): the head dimension d is split into a
temporal part (d/4) and two spatial parts (3d/8 each, height and width); each part rotates pairs of
channels (x_{2i}, x_{2i+1}) by the angle pos·θ^{-2i/d_part} of its own coordinate. Text tokens get
no rotation (identity rows), which is the same as diffusers rotating only the video part.
"""
from __future__ import annotations

import math

import torch
from einops import repeat

# ----------------------------------------------------------------------------- 3D RoPE


def rope_1d(dim: int, pos: torch.Tensor, theta: float = 10000.0) -> tuple[torch.Tensor, torch.Tensor]:
    """cos, sin tables (len(pos), dim) for one axis; each frequency is repeated for its channel pair
    (the "interleaved" layout of CogVideoX/Flux: pairs are adjacent channels)."""
    if dim % 2:
        raise ValueError(f"a rotary axis needs an even number of channels, got {dim}")
    freqs = 1.0 / (theta ** (torch.arange(0, dim, 2, dtype=torch.float32, device=pos.device) / dim))
    angles = torch.outer(pos.float(), freqs)                                  # (S, dim/2)
    return (angles.cos().repeat_interleave(2, dim=1), angles.sin().repeat_interleave(2, dim=1))


def rope_axis_dims(head_dim: int) -> tuple[int, int, int]:
    """(t, h, w) channel split of a head: d/4 for time, 3d/8 each for height and width."""
    return head_dim // 4, head_dim // 8 * 3, head_dim // 8 * 3


def rope_3d(head_dim: int, grid_t: torch.Tensor, grid_h: torch.Tensor, grid_w: torch.Tensor,
            theta: float = 10000.0) -> tuple[torch.Tensor, torch.Tensor]:
    """cos, sin tables (T·H·W, head_dim) for tokens ordered (t, h, w), from per-axis positions."""
    dt, dh, dw = rope_axis_dims(head_dim)
    if dt + dh + dw != head_dim:
        raise ValueError(f"3D RoPE needs head_dim divisible by 8 (t/h/w split), got {head_dim}")
    T, H, W = len(grid_t), len(grid_h), len(grid_w)
    tables = []
    for part in (0, 1):  # 0: cos, 1: sin
        t = repeat(rope_1d(dt, grid_t, theta)[part], "t d -> t h w d", h=H, w=W)
        h = repeat(rope_1d(dh, grid_h, theta)[part], "h d -> t h w d", t=T, w=W)
        w = repeat(rope_1d(dw, grid_w, theta)[part], "w d -> t h w d", t=T, h=H)
        tables.append(torch.cat([t, h, w], dim=-1).reshape(T * H * W, head_dim))
    return tables[0], tables[1]


def resize_crop_region(grid: tuple[int, int], base_w: int, base_h: int
                       ) -> tuple[tuple[int, int], tuple[int, int]]:
    """Where a (h, w) token grid lands when resized (aspect kept) into the base (training) grid and
    centred: ((top, left), (bottom, right)). Same rounding as diffusers'
    `get_resize_crop_region_for_grid` (Python's round, half to even)."""
    h, w = grid
    if h / w > base_h / base_w:
        rh, rw = base_h, int(round(base_h / h * w))
    else:
        rh, rw = int(round(base_w / w * h)), base_w
    top, left = int(round((base_h - rh) / 2.0)), int(round((base_w - rw) / 2.0))
    return (top, left), (top + rh, left + rw)


def cogvideox_rope_positions(grid: tuple[int, int, int], base_hw: tuple[int, int], slice_grid: bool,
                             device=None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per-axis positions (t, h, w) of a (T', H', W') token grid, as `CogVideoXPipeline` builds them.

    - CogVideoX 1.0 (`slice_grid=False`): the grid is stretched over the base grid (sample size /
      patch) with `linspace`, so a smaller video covers the same position range it was trained on.
    - CogVideoX 1.5 (`slice_grid=True`): plain integer positions 0..n-1 ("slice" of a big table).
    Both give prefix-consistent time positions, so frames padded at the end do not move the others.
    """
    T, H, W = grid
    if slice_grid:
        return tuple(torch.arange(n, device=device, dtype=torch.float32) for n in (T, H, W))
    base_h, base_w = base_hw
    (top, left), (bottom, right) = resize_crop_region((H, W), base_w, base_h)
    grid_h = torch.linspace(top, bottom * (H - 1) / H, H, device=device, dtype=torch.float32)
    grid_w = torch.linspace(left, right * (W - 1) / W, W, device=device, dtype=torch.float32)
    grid_t = torch.linspace(0, T * (T - 1) / T, T, device=device, dtype=torch.float32)
    return grid_t, grid_h, grid_w


def rotate_pairs(x: torch.Tensor) -> torch.Tensor:
    """(x0, x1, x2, x3, ...) -> (-x1, x0, -x3, x2, ...): multiplication by i on each channel pair."""
    x1, x2 = x.unflatten(-1, (-1, 2)).unbind(-1)
    return torch.stack((-x2, x1), dim=-1).flatten(-2)


def apply_rope_real(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Textbook RoPE: x·cos + rotate_pairs(x)·sin with tables (S, d); what diffusers computes."""
    return (x.float() * cos + rotate_pairs(x).float() * sin).to(x.dtype)


def rope_as_complex(cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """(S, d) cos/sin tables (each value repeated for its pair) -> (S, d/2) unit complex e^{iθ}."""
    return torch.complex(cos[:, ::2].float().contiguous(), sin[:, ::2].float().contiguous())


def apply_rope(x: torch.Tensor, freqs: torch.Tensor) -> torch.Tensor:
    """Rotate queries/keys x (..., S, d) by complex frequencies (S, d/2): each channel pair is one
    complex number multiplied by e^{iθ}. Same result as `apply_rope_real`, one fused kernel."""
    xc = torch.view_as_complex(x.float().unflatten(-1, (-1, 2)).contiguous())
    return torch.view_as_real(xc * freqs).flatten(-2).to(x.dtype)


# ----------------------------------------------------------------------------- 3D sincos (2B)


def sincos_1d(dim: int, pos: torch.Tensor) -> torch.Tensor:
    """Transformer sin/cos embedding (Vaswani et al. 2017 §3.5), [sin | cos] halves, in float64."""
    if dim % 2:
        raise ValueError(f"sincos embedding needs an even dim, got {dim}")
    omega = torch.arange(dim // 2, dtype=torch.float64, device=pos.device) / (dim / 2.0)
    omega = 1.0 / 10000**omega
    out = torch.outer(pos.reshape(-1).double(), omega)                        # (M, dim/2)
    return torch.cat([out.sin(), out.cos()], dim=1)


def sincos_3d(dim: int, grid: tuple[int, int, int], spatial_scale: float = 1.0,
              temporal_scale: float = 1.0) -> torch.Tensor:
    """Absolute 3D embedding (T·H·W, dim) of CogVideoX-2B: [time d/4 | width 3d/8 | height 3d/8].

    (The spatial half that diffusers calls "h" is computed from the width coordinate; we keep its
    channel order so official weights see the embedding they were trained with.)"""
    if dim % 16:
        raise ValueError(f"3D sincos embedding needs a hidden size divisible by 16, got {dim}")
    T, H, W = grid
    d_t, d_s = dim // 4, dim * 3 // 8
    pos_t = torch.arange(T, dtype=torch.float32) / temporal_scale
    pos_h = torch.arange(H, dtype=torch.float32) / spatial_scale
    pos_w = torch.arange(W, dtype=torch.float32) / spatial_scale
    e_t = repeat(sincos_1d(d_t, pos_t), "t d -> t h w d", h=H, w=W)
    e_w = repeat(sincos_1d(d_s, pos_w), "w d -> t h w d", t=T, h=H)
    e_h = repeat(sincos_1d(d_s, pos_h), "h d -> t h w d", t=T, w=W)
    return torch.cat([e_t, e_w, e_h], dim=-1).reshape(T * H * W, dim)        # float64


# ----------------------------------------------------------------------------- timestep


def timestep_embedding(t: torch.Tensor, dim: int, flip_sin_to_cos: bool = True,
                       freq_shift: float = 0.0, max_period: float = 10000.0) -> torch.Tensor:
    """Sinusoidal embedding (B, dim) of (possibly fractional) timesteps t (B,), as in DDPM/DiT
    (Peebles & Xie 2023 §3.2) and diffusers' `get_timestep_embedding`; cos first when flipped."""
    half = dim // 2
    exponent = -math.log(max_period) * torch.arange(half, dtype=torch.float32, device=t.device)
    freqs = torch.exp(exponent / (half - freq_shift))
    args = t[:, None].float() * freqs[None]
    emb = torch.cat([args.sin(), args.cos()], dim=-1)
    if flip_sin_to_cos:
        emb = torch.cat([emb[:, half:], emb[:, :half]], dim=-1)
    if dim % 2:
        emb = torch.nn.functional.pad(emb, (0, 1))
    return emb
