"""Week 3: causal VAE — the checks of the notebook's graded exercises."""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn as nn

from .. import sizes
from ..causal_vae import CausalConv3d
from ..checking import assert_close, call, case, exercise
from ._common import _randn

__all__ = ["check_causal_conv3d", "check_valid_length", "check_latent_length"]


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
