"""Plausible wrong answers to week 1's exercises (tests/test_wrong_answers.py)."""
import math

import torch
import torch.nn.functional as F


def _patchify_channels_last(x, p, p_t=1):
    B, C, T, H, W = x.shape
    x = x.reshape(B, C, T // p_t, p_t, H // p, p, W // p, p)
    x = x.permute(0, 2, 4, 6, 3, 5, 7, 1)                  # features (pt, ph, pw, c): channels last
    return x.reshape(B, (T // p_t) * (H // p) * (W // p), C * p_t * p * p)


def _patchify_no_time_group(x, p, p_t=1):
    B, C, T, H, W = x.shape                                 # ignores p_t: every frame its own token
    x = x.reshape(B, C, T, H // p, p, W // p, p).permute(0, 2, 3, 5, 1, 4, 6)
    return x.reshape(B, T * (H // p) * (W // p), C * p * p)


def _embedding(t, dim, sin_first=False, denominator=None):
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32) / (denominator or half))
    args = t[:, None].float() * freqs[None]
    parts = [args.sin(), args.cos()] if sin_first else [args.cos(), args.sin()]
    return torch.cat(parts, dim=-1)


def _adaln_no_one(x, c, ada, norm, branch):
    shift, scale, gate = ada(F.silu(c))[:, None].chunk(3, dim=-1)
    return x + gate * branch(norm(x) * scale + shift)       # scale without the 1 +


def _adaln_no_gate(x, c, ada, norm, branch):
    shift, scale, _ = ada(F.silu(c))[:, None].chunk(3, dim=-1)
    return x + branch(norm(x) * (1 + scale) + shift)        # forgets the gate α


def _adaln_order(x, c, ada, norm, branch):
    scale, shift, gate = ada(F.silu(c))[:, None].chunk(3, dim=-1)   # chunks in the wrong order
    return x + gate * branch(norm(x) * (1 + scale) + shift)


WRONG = {
    "patchify": [
        (_patchify_channels_last, "each token's features in (pt, ph, pw, c) order", r"differs from minicog's"),
        (_patchify_no_time_group, "ignores p_t", r"has shape .*, expected"),
    ],
    "timestep_embedding": [
        (lambda t, dim: _embedding(t, dim, sin_first=True), "sines first", r"differs from minicog's"),
        (lambda t, dim: _embedding(t, dim, denominator=dim), "frequencies spaced over dim instead of dim / 2",
         r"differs from minicog's"),
    ],
    "adaln_zero": [
        (_adaln_no_one, "scales by γ instead of 1 + γ", r"differs from minicog's"),
        (_adaln_no_gate, "forgets the gate α", r"differs from minicog's"),
        (_adaln_order, "reads (γ, β, α) instead of (β, γ, α)", r"differs from minicog's"),
    ],
}
