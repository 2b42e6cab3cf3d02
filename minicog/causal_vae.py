"""Causal 3D VAE of CogVideoX (§2.1, Figure 4), written from scratch; loads the official weights.

A video (B, 3, 1+4k, H, W) in [-1, 1] is compressed 8x in space and 4x in time to latents
(B, C_lat, 1+k, H/8, W/8). "Causal" means every convolution pads time on the *past* side only
(the first frame replicated), so output frame t never depends on input frames > t; the first
frame is kept on its own, so a single image is a 1-frame video and shares the latent space.

    encoder: CausalConv3d -> [ResBlock x L, Downsample (space 2x, time 2x on the first levels)] x N
             -> 2 ResBlocks -> GroupNorm, SiLU -> CausalConv3d -> (mean, logvar)   (KL-regularised)
    decoder: CausalConv3d -> 2 ResBlocks -> [ResBlock x (L+1), Upsample] x N
             -> SpatialNorm(z), SiLU -> CausalConv3d -> video
    (the decoder's norms are "spatial norms": GroupNorm whose scale and shift are predicted from z)

Long clips are processed in frame chunks (the paper's context parallel, Figure 4b): every
CausalConv3d keeps the last k-1 frames it saw in a *conv cache* and uses them, instead of the
replicated first frame, as the past padding of the next chunk. The convolutions are then exact;
GroupNorm statistics are per chunk (see docs/causal_vae.md). Large frames can also be split into
overlapping spatial tiles (as diffusers' `enable_tiling`; the arithmetic is in `minicog.vae_tiling`).

Module names are minicog's own; `from_diffusers` renames the diffusers keys (`_RENAMES`).
"""
from __future__ import annotations

import math
import os
import re
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Callable

import torch
import torch.nn as nn
import torch.nn.functional as F
from einops import rearrange

from .sizes import check_frames
from .utils import (asset_folder, check_state_keys, load_diffusers_folder, load_model_folder,
                    load_state_dict_strict, save_safetensors_atomic, write_json_atomic)
from .vae_tiling import check_tile_settings, check_tiles_line_up, tiled


# ----------------------------------------------------------------------------- config

@dataclass
class VAEConfig:
    in_channels: int = 3
    out_channels: int = 3
    latent_channels: int = 16
    block_out_channels: tuple[int, ...] = (128, 256, 256, 512)  # one level per entry; 2x down between
    layers_per_block: int = 3            # ResBlocks per encoder level (the decoder has one more)
    norm_num_groups: int = 32
    norm_eps: float = 1e-6
    temporal_compression_ratio: int = 4  # 2x in time on the first log2(ratio) levels
    scaling_factor: float = 1.15258426   # z_for_diffusion = scaling_factor * z  (LDM §4.3.2)
    sample_height: int = 480             # the training resolution; tiles default to half of it
    sample_width: int = 720
    chunk_sample_frames: int | None = 8  # encode in chunks of this many frames (None: whole clip)
    chunk_latent_frames: int | None = 2  # decode in chunks of this many latent frames

    def __post_init__(self):
        self.block_out_channels = tuple(int(c) for c in self.block_out_channels)
        n = len(self.block_out_channels)
        if n < 1 or self.layers_per_block < 1:
            raise ValueError("VAEConfig needs at least one level and one ResBlock per level")
        bad = [c for c in self.block_out_channels if c % self.norm_num_groups]
        if bad:
            raise ValueError(f"block_out_channels {bad} are not divisible by norm_num_groups="
                             f"{self.norm_num_groups}; GroupNorm needs whole groups")
        levels = math.log2(self.temporal_compression_ratio)
        if levels != int(levels) or not 0 <= levels <= n - 1:
            raise ValueError(f"temporal_compression_ratio must be a power of 2 and at most "
                             f"2**{n - 1} (one 2x step per downsampling level), got "
                             f"{self.temporal_compression_ratio}")
        self.temporal_compression_ratio = int(self.temporal_compression_ratio)

    # -------- presets
    @classmethod
    def cogvideox_2b(cls) -> "VAEConfig":
        """THUDM/CogVideoX-2b/vae (scaling factor 1.15258426)."""
        return cls(scaling_factor=1.15258426)

    @classmethod
    def cogvideox_5b(cls) -> "VAEConfig":
        """THUDM/CogVideoX-5b/vae: same network as 2B, scaling factor 0.7."""
        return cls(scaling_factor=0.7)

    @classmethod
    def tiny(cls) -> "VAEConfig":
        """Trains on the Shapes world on a CPU; keeps 8x space / 4x time (64x64x17 -> 8x8x5).
        scaling_factor is measured on data after training (train_vae.py)."""
        return cls(latent_channels=8, block_out_channels=(16, 32, 64, 64), layers_per_block=1,
                   norm_num_groups=4, scaling_factor=1.0, sample_height=64, sample_width=64,
                   chunk_sample_frames=None, chunk_latent_frames=None)

    @classmethod
    def from_diffusers_config(cls, cfg: dict) -> "VAEConfig":
        """Map a diffusers `AutoencoderKLCogVideoX` config.json onto VAEConfig; options minicog
        does not implement raise a ValueError instead of being silently ignored."""
        name = cfg.get("_class_name", "AutoencoderKLCogVideoX")
        if name != "AutoencoderKLCogVideoX":
            raise ValueError(f"config.json describes a {name}, not an AutoencoderKLCogVideoX; "
                             "pass the CogVideoX 'vae' sub-folder")
        unsupported = {"use_quant_conv": False, "use_post_quant_conv": False, "act_fn": "silu",
                       "shift_factor": None, "latents_mean": None, "latents_std": None,
                       "invert_scale_latents": False}
        for key, ok in unsupported.items():
            if key in cfg and cfg[key] != ok:
                raise ValueError(f"diffusers VAE option {key}={cfg[key]!r} is not supported by "
                                 f"minicog's CausalVAE (only {key}={ok!r})")
        for key, kind in (("down_block_types", "CogVideoXDownBlock3D"),
                          ("up_block_types", "CogVideoXUpBlock3D")):
            if any(t != kind for t in cfg.get(key, [kind])):
                raise ValueError(f"{key} must all be {kind!r}, got {cfg[key]}")
        names = {f.name for f in fields(cls)} - {"chunk_sample_frames", "chunk_latent_frames"}
        return cls(**{k: (tuple(v) if isinstance(v, list) else v)
                      for k, v in cfg.items() if k in names})

    def to_dict(self) -> dict:
        d = asdict(self)
        d["block_out_channels"] = list(self.block_out_channels)
        return d


# ----------------------------------------------------------------------------- building blocks

class CausalConv3d(nn.Module):
    """3D convolution that pads time on the past side only (Figure 4a).

    Space is zero-padded symmetrically ("same"); time gets k-1 frames in front: copies of the
    first frame for the first chunk of a clip, the conv cache (the last k-1 input frames of the
    previous chunk) afterwards. With `streaming` on, the cache is kept between calls."""

    def __init__(self, in_ch: int, out_ch: int, kernel_size: int = 3):
        super().__init__()
        self.time_pad = kernel_size - 1
        self.conv = nn.Conv3d(in_ch, out_ch, kernel_size, padding=(0, kernel_size // 2, kernel_size // 2))
        self.streaming = False
        self.cache: torch.Tensor | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, T, H, W) -> (B, C', T, H, W)
        if self.time_pad:
            past = self.cache if self.cache is not None else x[:, :, :1].expand(-1, -1, self.time_pad, -1, -1)
            x = torch.cat([past, x], dim=2)  # (B, C, k-1+T, H, W)
            if self.streaming:
                self.cache = x[:, :, -self.time_pad:].clone()
        return self.conv(x)


@contextmanager
def conv_cache(module: nn.Module):
    """Within this context every CausalConv3d of `module` carries its cache from one call to the
    next, so a clip can be fed chunk by chunk; the caches are dropped on exit."""
    convs = [m for m in module.modules() if isinstance(m, CausalConv3d)]
    for c in convs:
        c.streaming, c.cache = True, None
    try:
        yield
    finally:
        for c in convs:
            c.streaming, c.cache = False, None


def frame_conv2d(conv: nn.Conv2d, x: torch.Tensor) -> torch.Tensor:
    """Apply a 2D conv to every frame: (B, C, T, H, W) -> (B, C', T, H', W')."""
    b = x.shape[0]
    x = conv(rearrange(x, "b c t h w -> (b t) c h w"))
    return rearrange(x, "(b t) c h w -> b c t h w", b=b)


def modulate(n: torch.Tensor, scale: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
    """n * up(scale) + up(shift), `up` = nearest-neighbour resize of (t, h, w) maps to n's (T, H, W).
    With integer factors (the usual case) this broadcasts over a (t, T/t, h, H/h, w, W/w) view of n
    instead of materialising the two upsampled maps (same numbers, less memory traffic)."""
    B, C, T, H, W = n.shape
    t, h, w = scale.shape[2:]
    if T % t or H % h or W % w:
        size = (T, H, W)
        return torch.addcmul(F.interpolate(shift, size=size), n, F.interpolate(scale, size=size))
    blocks = n.reshape(B, C, t, T // t, h, H // h, w, W // w)
    out = torch.addcmul(shift[:, :, :, None, :, None, :, None], blocks, scale[:, :, :, None, :, None, :, None])
    return out.reshape(B, C, T, H, W)


class SpatialNorm3d(nn.Module):
    """Decoder norm conditioned on the latent (MoVQ, arXiv:2209.09002):
    out = GroupNorm(f) * scale(z) + shift(z), scale/shift being 1x1x1 convs of z nearest-resized to f;
    in the first chunk latent frame 0 maps to frame 0 alone and the other frames stretch over the rest.
    (The 1x1x1 convs run at latent resolution before the resize: the same numbers, fewer FLOPs.)"""

    def __init__(self, f_ch: int, z_ch: int, groups: int):
        super().__init__()
        self.group_norm = nn.GroupNorm(groups, f_ch, eps=1e-6)
        self.to_scale = nn.Conv3d(z_ch, f_ch, 1)
        self.to_shift = nn.Conv3d(z_ch, f_ch, 1)

    def forward(self, f: torch.Tensor, z: torch.Tensor, first: bool) -> torch.Tensor:
        n = self.group_norm(f)                                  # (B, C, T, H, W)
        scale, shift = self.to_scale(z), self.to_shift(z)       # (B, C, t, h, w), latent resolution
        if first and f.shape[2] > 1:
            return torch.cat([modulate(n[:, :, :1], scale[:, :, :1], shift[:, :, :1]),
                              modulate(n[:, :, 1:], scale[:, :, 1:], shift[:, :, 1:])], dim=2)
        return modulate(n, scale, shift)


class ResBlock(nn.Module):
    """Pre-norm ResNet block: (norm, SiLU, causal 3x3x3 conv) x 2 + skip (1x1x1 conv if the width
    changes). Norms are GroupNorm in the encoder and SpatialNorm3d(z) in the decoder."""

    def __init__(self, in_ch: int, out_ch: int, groups: int, eps: float, z_ch: int | None = None):
        super().__init__()
        if z_ch is None:
            self.norm1 = nn.GroupNorm(groups, in_ch, eps=eps)
            self.norm2 = nn.GroupNorm(groups, out_ch, eps=eps)
        else:
            self.norm1 = SpatialNorm3d(in_ch, z_ch, groups)
            self.norm2 = SpatialNorm3d(out_ch, z_ch, groups)
        self.conv1 = CausalConv3d(in_ch, out_ch, 3)
        self.conv2 = CausalConv3d(out_ch, out_ch, 3)
        self.shortcut = nn.Conv3d(in_ch, out_ch, 1) if in_ch != out_ch else nn.Identity()

    def _norm(self, norm, h, z, first):
        return norm(h) if z is None else norm(h, z, first)

    def forward(self, x, z=None, first=True):
        h = self.conv1(F.silu(self._norm(self.norm1, x, z, first)))
        h = self.conv2(F.silu(self._norm(self.norm2, h, z, first)))
        return self.shortcut(x) + h


class Downsample(nn.Module):
    """Halve H and W (stride-2 3x3 conv per frame, padded right/bottom); with `compress_time`
    first halve T by averaging frame pairs, keeping the clip's first frame alone (1+2k -> 1+k)."""

    def __init__(self, ch: int, compress_time: bool):
        super().__init__()
        self.compress_time = compress_time
        self.conv = nn.Conv2d(ch, ch, 3, stride=2)

    def forward(self, x: torch.Tensor, first: bool) -> torch.Tensor:
        if self.compress_time:
            head, rest = (x[:, :, :1], x[:, :, 1:]) if first else (x[:, :, :0], x)
            rest = rearrange(rest, "b c (t two) h w -> b c t two h w", two=2).mean(3)
            x = torch.cat([head, rest], dim=2)  # (B, C, T/2 (+1), H, W)
        x = F.pad(x, (0, 1, 0, 1))
        return frame_conv2d(self.conv, x)       # (B, C, T', H/2, W/2)


class Upsample(nn.Module):
    """Double H and W (nearest, then 3x3 conv per frame); with `compress_time` also double T by
    repeating frames, except the clip's first frame (1+k -> 1+2k)."""

    def __init__(self, ch: int, compress_time: bool):
        super().__init__()
        self.compress_time = compress_time
        self.conv = nn.Conv2d(ch, ch, 3, padding=1)

    def forward(self, x: torch.Tensor, first: bool) -> torch.Tensor:
        if self.compress_time and first:  # the lone first frame is only upsampled in space
            head = F.interpolate(x[:, :, :1], scale_factor=(1, 2, 2))
            x = torch.cat([head, F.interpolate(x[:, :, 1:], scale_factor=(2, 2, 2))], dim=2) \
                if x.shape[2] > 1 else head
        else:
            x = F.interpolate(x, scale_factor=(2 if self.compress_time else 1, 2, 2))
        return frame_conv2d(self.conv, x)  # (B, C, T', 2H, 2W)


class DownLevel(nn.Module):
    def __init__(self, in_ch, out_ch, n_blocks, groups, eps, downsample: bool, compress_time: bool):
        super().__init__()
        self.blocks = nn.ModuleList(ResBlock(in_ch if i == 0 else out_ch, out_ch, groups, eps)
                                    for i in range(n_blocks))
        self.downsample = Downsample(out_ch, compress_time) if downsample else None

    def forward(self, x, first):
        for block in self.blocks:
            x = block(x)
        return self.downsample(x, first) if self.downsample is not None else x


class UpLevel(nn.Module):
    def __init__(self, in_ch, out_ch, n_blocks, groups, eps, z_ch, upsample: bool, compress_time: bool):
        super().__init__()
        self.blocks = nn.ModuleList(ResBlock(in_ch if i == 0 else out_ch, out_ch, groups, eps, z_ch)
                                    for i in range(n_blocks))
        self.upsample = Upsample(out_ch, compress_time) if upsample else None

    def forward(self, x, z, first):
        for block in self.blocks:
            x = block(x, z, first)
        return self.upsample(x, first) if self.upsample is not None else x


class Encoder(nn.Module):
    """(B, 3, 1+4k, H, W) -> moments (B, 2*C_lat, 1+k, H/8, W/8) = (mean, logvar)."""

    def __init__(self, cfg: VAEConfig):
        super().__init__()
        ch, g, eps = cfg.block_out_channels, cfg.norm_num_groups, cfg.norm_eps
        time_levels = int(math.log2(cfg.temporal_compression_ratio))
        self.conv_in = CausalConv3d(cfg.in_channels, ch[0], 3)
        self.down = nn.ModuleList(
            DownLevel(ch[max(i - 1, 0)], ch[i], cfg.layers_per_block, g, eps,
                      downsample=i < len(ch) - 1, compress_time=i < time_levels)
            for i in range(len(ch)))
        self.mid = nn.ModuleList(ResBlock(ch[-1], ch[-1], g, eps) for _ in range(2))
        self.norm_out = nn.GroupNorm(g, ch[-1], eps=1e-6)
        self.conv_out = CausalConv3d(ch[-1], 2 * cfg.latent_channels, 3)

    def forward(self, x: torch.Tensor, first: bool = True) -> torch.Tensor:
        h = self.conv_in(x)
        for level in self.down:
            h = level(h, first)
        for block in self.mid:
            h = block(h)
        return self.conv_out(F.silu(self.norm_out(h)))


class Decoder(nn.Module):
    """z (B, C_lat, 1+k, h, w) -> video (B, 3, 1+4k, 8h, 8w); every norm is conditioned on z."""

    def __init__(self, cfg: VAEConfig):
        super().__init__()
        ch, g, eps, zc = cfg.block_out_channels[::-1], cfg.norm_num_groups, cfg.norm_eps, cfg.latent_channels
        time_levels = int(math.log2(cfg.temporal_compression_ratio))
        self.conv_in = CausalConv3d(zc, ch[0], 3)
        self.mid = nn.ModuleList(ResBlock(ch[0], ch[0], g, eps, zc) for _ in range(2))
        self.up = nn.ModuleList(
            UpLevel(ch[max(i - 1, 0)], ch[i], cfg.layers_per_block + 1, g, eps, zc,
                    upsample=i < len(ch) - 1, compress_time=i < time_levels)
            for i in range(len(ch)))
        self.norm_out = SpatialNorm3d(ch[-1], zc, g)
        self.conv_out = CausalConv3d(ch[-1], cfg.out_channels, 3)

    def forward(self, z: torch.Tensor, first: bool = True) -> torch.Tensor:
        h = self.conv_in(z)
        for block in self.mid:
            h = block(h, z, first)
        for level in self.up:
            h = level(h, z, first)
        return self.conv_out(F.silu(self.norm_out(h, z, first)))


# ----------------------------------------------------------------------------- posterior

class DiagonalGaussian:
    """q(z|x) = N(mean, exp(logvar)) per latent element; `kl()` is KL(q || N(0, I)) summed over
    all non-batch dims (the VAE's regulariser)."""

    def __init__(self, moments: torch.Tensor):
        self.moments = moments
        self.mean, logvar = moments.chunk(2, dim=1)
        self.logvar = logvar.clamp(-30.0, 20.0)
        self.std = torch.exp(0.5 * self.logvar)
        self.var = torch.exp(self.logvar)

    def sample(self, generator: torch.Generator | None = None) -> torch.Tensor:
        dev = generator.device if generator is not None else self.mean.device
        eps = torch.randn(self.mean.shape, generator=generator, device=dev, dtype=self.mean.dtype)
        return self.mean + self.std * eps.to(self.mean.device)

    def mode(self) -> torch.Tensor:
        return self.mean

    def kl(self) -> torch.Tensor:  # (B,)
        return 0.5 * (self.mean.pow(2) + self.var - 1.0 - self.logvar).flatten(1).sum(1)


# ----------------------------------------------------------------------------- diffusers names

# (diffusers key fragment, minicog key fragment); "{}" is a block index.
_RENAMES = [
    ("down_blocks.{}.resnets.", "down.{}.blocks."),
    ("down_blocks.{}.downsamplers.0.", "down.{}.downsample."),
    ("up_blocks.{}.resnets.", "up.{}.blocks."),
    ("up_blocks.{}.upsamplers.0.", "up.{}.upsample."),
    ("mid_block.resnets.", "mid."),
    ("norm_layer.", "group_norm."),
    ("conv_y.conv.", "to_scale."),
    ("conv_b.conv.", "to_shift."),
    ("conv_shortcut.", "shortcut."),
]


def _rename(key: str, to_minicog: bool) -> str:
    for d, m in _RENAMES:
        src, dst = (d, m) if to_minicog else (m, d)
        pattern = r"(?<![^.])" + re.escape(src).replace(r"\{\}", r"(\d+)")
        key = re.sub(pattern, dst.replace("{}", r"\1"), key)
    return key


def diffusers_to_minicog(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {_rename(k, True): v for k, v in state.items()}


def minicog_to_diffusers(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {_rename(k, False): v for k, v in state.items()}


# ----------------------------------------------------------------------------- the VAE

def _chunks(n: int, size: int | None) -> list[tuple[int, int]]:
    """Frame ranges of diffusers' frame batching: chunks of `size`, the remainder n % size going
    to the first chunk (which holds the clip's lone first frame)."""
    if not size or n <= size:
        return [(0, n)]
    extra = n % size
    return [(0, size + extra)] + [(s, s + size) for s in range(size + extra, n, size)]


class CausalVAE(nn.Module):
    """The CogVideoX causal 3D VAE. Latents are unscaled: multiply by `scaling_factor` before
    diffusion and divide before `decode`."""

    def __init__(self, config: VAEConfig | None = None, **overrides):
        super().__init__()
        config = config or VAEConfig()
        if overrides:
            config = VAEConfig(**{**config.to_dict(), **overrides})
        self.config = config
        self.encoder = Encoder(config)
        self.decoder = Decoder(config)
        # frame chunking (context parallel), per diffusers' defaults for the real model
        self.chunk_sample_frames = config.chunk_sample_frames
        self.chunk_latent_frames = config.chunk_latent_frames
        # spatial tiling, off by default (diffusers' defaults: half the training size, 1/6 and 1/5 overlap)
        self.use_tiling = False
        self.tile_sample_height = config.sample_height // 2
        self.tile_sample_width = config.sample_width // 2
        self.tile_overlap = (1 / 6, 1 / 5)

    # -------- properties
    @property
    def scaling_factor(self) -> float:
        return self.config.scaling_factor

    @property
    def spatial_compression(self) -> int:
        return 2 ** (len(self.config.block_out_channels) - 1)

    @property
    def temporal_compression(self) -> int:
        return self.config.temporal_compression_ratio

    @property
    def latent_channels(self) -> int:
        return self.config.latent_channels

    def latent_shape(self, frames: int, height: int, width: int) -> tuple[int, int, int, int]:
        """(C_lat, T_lat, h, w) of a clip of `frames` x `height` x `width`."""
        self._check_video_dims(frames, height, width)
        s, t = self.spatial_compression, self.temporal_compression
        return (self.latent_channels, 1 + (frames - 1) // t, height // s, width // s)

    # -------- settings
    def enable_frame_chunking(self, sample_frames: int | None = 8, latent_frames: int | None = 2) -> None:
        """Encode `sample_frames` / decode `latent_frames` at a time, with the conv cache carrying
        the causal padding across chunks (diffusers' defaults: 8 and 2)."""
        if sample_frames is not None and (sample_frames < 1 or sample_frames % self.temporal_compression):
            raise ValueError(f"sample_frames must be a positive multiple of the temporal compression "
                             f"({self.temporal_compression}), got {sample_frames}")
        if latent_frames is not None and latent_frames < 1:
            raise ValueError(f"latent_frames must be >= 1, got {latent_frames}")
        self.chunk_sample_frames, self.chunk_latent_frames = sample_frames, latent_frames

    def disable_frame_chunking(self) -> None:
        """Process whole clips at once (GroupNorm statistics over the whole clip)."""
        self.chunk_sample_frames = self.chunk_latent_frames = None

    def enable_tiling(self, tile_height: int | None = None, tile_width: int | None = None,
                      overlap_height: float = 1 / 6, overlap_width: float = 1 / 5) -> None:
        """Encode/decode frames larger than a tile as overlapping tiles (in pixels), cross-faded
        where they overlap; memory then stays that of one tile whatever the frame size
        (`minicog.vae_tiling`)."""
        tile_height = tile_height or self.tile_sample_height
        tile_width = tile_width or self.tile_sample_width
        check_tile_settings(self.spatial_compression, tile_height, tile_width, overlap_height, overlap_width)
        self.use_tiling = True
        self.tile_sample_height, self.tile_sample_width = tile_height, tile_width
        self.tile_overlap = (overlap_height, overlap_width)

    def disable_tiling(self) -> None:
        self.use_tiling = False

    def check_tiles_line_up(self, tile_height: int, tile_width: int, overlap_height: float = 1 / 6,
                            overlap_width: float = 1 / 5) -> None:
        """Refuse tile sizes whose overlap does not fall on whole latent pixels (`vae_tiling.check_tiles_line_up`):
        `enable_tiling` allows them; the scaled pipeline checks first and suggests sizes that work."""
        check_tiles_line_up(self.spatial_compression, tile_height, tile_width, overlap_height, overlap_width)

    # -------- validation
    def _check_video_dims(self, frames: int, height: int, width: int) -> None:
        s = self.spatial_compression
        check_frames(frames, self.temporal_compression, name="a clip's frames")
        # the VAE alone needs multiples of its own 8x (the 16 of `sizes.check_side` adds the DiT's patches)
        if height % s or width % s:
            raise ValueError(f"frame size {height}x{width} is not a multiple of {s}; "
                             f"resize or crop it, e.g. to {height // s * s}x{width // s * s}")

    def _check_input(self, x: torch.Tensor, channels: int, what: str) -> None:
        if not torch.is_tensor(x) or x.ndim != 5:
            got = tuple(x.shape) if torch.is_tensor(x) else type(x).__name__
            raise ValueError(f"{what} must be a 5D tensor (B, C, T, H, W), got {got}")
        if x.shape[1] != channels:
            raise ValueError(f"{what} must have {channels} channels (dim 1 of (B, C, T, H, W)), "
                             f"got shape {tuple(x.shape)}")

    # -------- frame-chunked passes (conv cache between chunks), on a whole frame or on one tile
    def encode_frames(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, 3, 1+4k, H, W) -> moments (B, 2·C_lat, 1+k, H/8, W/8), `chunk_sample_frames` at a time."""
        with conv_cache(self.encoder):
            return torch.cat([self.encoder(x[:, :, a:b], first=(a == 0))
                              for a, b in _chunks(x.shape[2], self.chunk_sample_frames)], dim=2)

    def decode_frames(self, z: torch.Tensor) -> torch.Tensor:
        """z (B, C_lat, 1+k, h, w) -> video (B, 3, 1+4k, 8h, 8w), `chunk_latent_frames` at a time. `decode`
        runs it on the whole frame or on each spatial tile."""
        with conv_cache(self.decoder):
            return torch.cat([self.decoder(z[:, :, a:b], first=(a == 0))
                              for a, b in _chunks(z.shape[2], self.chunk_latent_frames)], dim=2)

    # -------- public API
    def encode(self, x: torch.Tensor) -> DiagonalGaussian:
        """x (B, 3, 1+4k, H, W) in [-1, 1] -> posterior over z (B, C_lat, 1+k, H/8, W/8)."""
        self._check_input(x, self.config.in_channels, "encode input x")
        self._check_video_dims(*x.shape[2:])
        th, tw = self.tile_sample_height, self.tile_sample_width
        if self.use_tiling and (x.shape[-2] > th or x.shape[-1] > tw):
            s = self.spatial_compression
            moments = tiled(x, self.encode_frames, (th, tw), (th // s, tw // s), self.tile_overlap)
        else:
            moments = self.encode_frames(x)
        return DiagonalGaussian(moments)

    def decode(self, z: torch.Tensor, decode_frames: Callable[[torch.Tensor], torch.Tensor] | None = None
               ) -> torch.Tensor:
        """z (B, C_lat, 1+k, h, w) (unscaled) -> video (B, 3, 1+4k, 8h, 8w), roughly in [-1, 1].

        `decode_frames` (default `self.decode_frames`) decodes the whole frame, or each tile with tiling
        on: a hook for tools that watch or replace the per-tile pass (`minicog.memory` traces each tile
        shape once with it)."""
        self._check_input(z, self.latent_channels, "decode input z")
        decode_frames = decode_frames or self.decode_frames
        s = self.spatial_compression
        th, tw = self.tile_sample_height // s, self.tile_sample_width // s
        if self.use_tiling and (z.shape[-2] > th or z.shape[-1] > tw):
            return tiled(z, decode_frames, (th, tw), (th * s, tw * s), self.tile_overlap)
        return decode_frames(z)

    def forward(self, x: torch.Tensor, sample_posterior: bool = True,
                generator: torch.Generator | None = None) -> tuple[torch.Tensor, DiagonalGaussian]:
        """Reconstruct x; returns (reconstruction, posterior) for the training loss."""
        posterior = self.encode(x)
        z = posterior.sample(generator) if sample_posterior else posterior.mean
        return self.decode(z), posterior

    # -------- checkpoints
    @classmethod
    def from_diffusers(cls, folder: str | os.PathLike, device: str | torch.device | None = None,
                       dtype: torch.dtype | None = None) -> "CausalVAE":
        """Build from a diffusers-layout folder (config.json + diffusion_pytorch_model.safetensors,
        or shards + index json), e.g. `<CogVideoX-2b>/vae`."""
        cfg_dict, state = load_diffusers_folder(folder, kind="VAE")
        model = cls(VAEConfig.from_diffusers_config(cfg_dict))
        # check in the file's (diffusers) names, so missing/unexpected keys read as in the folder
        expected = {k: tuple(v.shape) for k, v in minicog_to_diffusers(model.state_dict()).items()}
        check_state_keys(expected, state, f"diffusers VAE weights in {str(folder)!r} do not match its config.json",
                         "is this an AutoencoderKLCogVideoX folder with a matching config.json?")
        model.load_state_dict(diffusers_to_minicog(state), strict=True)
        return model.to(device=device, dtype=dtype)

    def save_pretrained(self, folder: str | os.PathLike, metadata: dict[str, str] | None = None,
                        dtype: torch.dtype | None = None) -> Path:
        """Write folder/config.json (VAEConfig fields) and folder/model.safetensors, atomically
        (`metadata`: extra strings stored in the safetensors header, e.g. training metrics;
        `dtype=torch.float16` halves the file, as for the shipped checkpoint)."""
        folder = Path(folder)
        save_safetensors_atomic(self.state_dict(), folder / "model.safetensors", dtype=dtype,
                                metadata={"format": "minicog.CausalVAE", **(metadata or {})})
        write_json_atomic(self.config.to_dict(), folder / "config.json")
        return folder

    @classmethod
    def from_pretrained(cls, folder: str | os.PathLike = "tiny", device: str | torch.device | None = None,
                        dtype: torch.dtype | None = None) -> "CausalVAE":
        """Load a minicog-format folder (`save_pretrained`); "tiny" is the shipped Shapes VAE."""
        folder = asset_folder(folder, "vae")
        if not folder.is_dir():
            raise FileNotFoundError(f"VAE folder {str(folder)!r} does not exist; pass a folder written "
                                    "by CausalVAE.save_pretrained (or 'tiny'); for diffusers weights "
                                    "use CausalVAE.from_diffusers")
        config, state = load_model_folder(folder, VAEConfig, "CausalVAE")
        model = cls(config)
        load_state_dict_strict(model, state, what=f"VAE checkpoint {folder / 'model.safetensors'}")
        return model.to(device=device, dtype=dtype)
