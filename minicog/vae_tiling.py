"""Spatial tiling of the causal VAE (diffusers' `enable_tiling`), a memory saver for large frames.

A frame larger than a tile is split into overlapping tiles (in pixels); the encoder or decoder runs on
each tile, and neighbouring outputs are cross-faded where they overlap, each tile blending with its
already-blended upper and left neighbours, as diffusers' `tiled_encode` / `tiled_decode` do. Memory then
stays that of one tile whatever the frame size. Tile sizes are multiples of the VAE's spatial
compression `s` (8); sizes whose overlap does not fall on whole latent pixels would change the video's
size (in diffusers too) and are refused with sizes that work (`check_tiles_line_up`).

`CausalVAE.encode` / `decode` call `tiled` when tiling is on (`CausalVAE.enable_tiling`).
"""
from __future__ import annotations

from typing import Callable

import torch


def check_tile_settings(s: int, tile_height: int, tile_width: int, overlap_height: float,
                        overlap_width: float) -> None:
    """Tiles (in pixels) must be multiples of the spatial compression `s`, at least 2·s, with overlaps
    in [0, 1) whose tile strides are positive multiples of `s`. Raises a ValueError saying which."""
    if tile_height % s or tile_width % s or tile_height < 2 * s or tile_width < 2 * s:
        raise ValueError(f"tile sizes must be multiples of {s} and at least {2 * s}, "
                         f"got {tile_height}x{tile_width}")
    if not (0 <= overlap_height < 1 and 0 <= overlap_width < 1):
        raise ValueError("tile overlaps are fractions in [0, 1)")
    strides = (int(tile_height * (1 - overlap_height)), int(tile_width * (1 - overlap_width)))
    if any(st % s or st == 0 for st in strides):
        raise ValueError(f"tile size x (1 - overlap) gives tile strides {strides} pixels; they must be "
                         f"positive multiples of {s} so every tile is too (adjust the overlap)")


def tile_fits(px: int, overlap: float, s: int) -> bool:
    """Whether tiles of `px` pixels with this overlap line up in the tiled encode and decode (ours and
    diffusers'): the stride of the input tiles equals what is kept of each output tile."""
    lat = px // s
    decode_ok = int(lat * (1 - overlap)) * s == px - int(px * overlap)
    encode_ok = int(px * (1 - overlap)) == (lat - int(lat * overlap)) * s
    return decode_ok and encode_ok


def check_tiles_line_up(s: int, tile_height: int, tile_width: int, overlap_height: float = 1 / 6,
                        overlap_width: float = 1 / 5) -> None:
    """Refuse tile sizes whose overlap does not fall on whole latent pixels: the tiles would not line
    up and the video would change size (as in diffusers, whose tiling has the same arithmetic)."""
    for name, px, ov in (("tile_height", tile_height, overlap_height), ("tile_width", tile_width, overlap_width)):
        if px % s == 0 and px >= 2 * s and not tile_fits(px, ov, s):
            good = [p for p in range(2 * s, 4 * px + 1, s) if tile_fits(p, ov, s)]
            near = sorted(good, key=lambda p: abs(p - px))[:3]
            raise ValueError(f"{name}={px} px with overlap {ov:.3g} does not tile evenly (after rounding to "
                             f"latent pixels the tile stride and the kept part of each tile differ, so the "
                             f"tiles would not line up and the video would change size); use e.g. "
                             f"{name} in {sorted(near)}")


def blend(a: torch.Tensor, b: torch.Tensor, extent: int, dim: int) -> None:
    """Cross-fade the start of tile b (in place) with the end of its neighbour a along `dim`."""
    extent = min(a.shape[dim], b.shape[dim], extent)
    if extent <= 0:
        return
    shape = [1] * b.ndim
    shape[dim] = extent
    w = (torch.arange(extent, dtype=torch.float64) / extent).to(b.dtype).to(b.device).view(shape)
    tail = a.narrow(dim, a.shape[dim] - extent, extent)
    head = b.narrow(dim, 0, extent)
    head.copy_(tail * (1 - w) + head * w)


def tiled(x: torch.Tensor, fn: Callable[[torch.Tensor], torch.Tensor], tile_in: tuple[int, int],
          tile_out: tuple[int, int], overlap: tuple[float, float]) -> torch.Tensor:
    """Run `fn` on overlapping spatial tiles of x (B, C, T, H, W) (tiles of `tile_in`, giving `tile_out`;
    `overlap` = (height, width) fractions) and cross-fade the overlaps."""
    stride = [int(tile_in[d] * (1 - overlap[d])) for d in range(2)]
    fade = [int(tile_out[d] * overlap[d]) for d in range(2)]
    keep = [tile_out[d] - fade[d] for d in range(2)]
    H, W = x.shape[-2:]
    rows = [[fn(x[..., i:i + tile_in[0], j:j + tile_in[1]]) for j in range(0, W, stride[1])]
            for i in range(0, H, stride[0])]
    out_rows = []
    for i, row in enumerate(rows):
        for j, tile in enumerate(row):
            if i > 0:
                blend(rows[i - 1][j], tile, fade[0], dim=3)
            if j > 0:
                blend(row[j - 1], tile, fade[1], dim=4)
        out_rows.append(torch.cat([t[..., :keep[0], :keep[1]] for t in row], dim=4))   # (B, C', T', th, W')
    return torch.cat(out_rows, dim=3)                                                   # (B, C', T', H', W')
