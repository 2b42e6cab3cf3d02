"""Attention of the expert transformer (CogVideoX §2.2), and the recorder of its maps.

* 3D full attention: text and video tokens form one sequence [text | video], and every token attends to
  every text and video token of every frame at once (`Attention` with kind "full"), with QK LayerNorm and
  3D RoPE on the queries and keys.
* Separated attention, the design CogVideoX argues against: video queries see the text and the video
  tokens of their own frame ("spatial") or of their own location across frames ("temporal")
  (`separated_attention`; `DiTConfig(attention="separated")` alternates them by layer).
* `AttentionRecorder`: the softmax maps of chosen layers, computed from the layer's own q/k/v (the
  per-word maps FlowDirector's mask reads; `VideoDiT.record_attention`).

`TokenLayout` is what every layer needs to know about the current sequence; the model builds it once
per forward.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import torch
import torch.nn as nn
import torch.nn.functional as F
from einops import rearrange, repeat

from .rope import apply_rope


@dataclass
class TokenLayout:
    """What every layer needs to know about the current sequence (built once per forward)."""
    n_text: int
    grid: tuple[int, int, int]                      # (T', H', W') video token grid
    rope: torch.Tensor | None                       # complex (L+N, head_dim/2), 1 on text tokens
    key_mask: torch.Tensor | None                   # (B, L+N) bool, True = may be attended to
    recorder: "AttentionRecorder | None" = None


def _safe_mask(key_mask: torch.Tensor | None) -> torch.Tensor | None:
    """(G, S_k) key mask -> (G, 1, 1, S_k) boolean attention mask. A row with no visible key at all
    (only possible for pure padding) sees everything instead, so its softmax stays finite."""
    if key_mask is None:
        return None
    key_mask = key_mask | ~key_mask.any(dim=-1, keepdim=True)
    return key_mask[:, None, None, :]


def _attend(q, k, v, key_mask):
    """SDPA (B, h, S_q, d) x (B, h, S_k, d) with an optional (B, S_k) key mask."""
    return F.scaled_dot_product_attention(q, k, v, attn_mask=_safe_mask(key_mask))


class Attention(nn.Module):
    """Multi-head self-attention over [text | video] with QK LayerNorm (stabilises training,
    CogVideoX §2.2) and 3D RoPE on the video queries/keys."""

    def __init__(self, dim: int, num_heads: int, head_dim: int, bias: bool = True,
                 kind: str = "full", index: int = 0):
        super().__init__()
        self.num_heads, self.head_dim, self.kind, self.index = num_heads, head_dim, kind, index
        self.qkv = nn.Linear(dim, 3 * num_heads * head_dim, bias=bias)
        self.norm_q = nn.LayerNorm(head_dim, eps=1e-6)
        self.norm_k = nn.LayerNorm(head_dim, eps=1e-6)
        self.proj = nn.Linear(num_heads * head_dim, dim)

    def forward(self, x: torch.Tensor, layout: TokenLayout) -> torch.Tensor:
        q, k, v = rearrange(self.qkv(x), "b s (three h d) -> three b h s d", three=3, h=self.num_heads)
        q, k = self.norm_q(q), self.norm_k(k)
        if layout.rope is not None:
            q, k = apply_rope(q, layout.rope), apply_rope(k, layout.rope)
        rec = layout.recorder
        if self.kind != "full":
            if rec is not None and self.index in rec.layers:
                raise ValueError("attention maps are recorded for 3D full attention only")
            out = separated_attention(q, k, v, layout, self.kind)
        elif rec is not None and self.index in rec.layers:
            out = rec.attend(self.index, q, k, v, layout)
        else:
            out = _attend(q, k, v, layout.key_mask)
        return self.proj(rearrange(out, "b h s d -> b s (h d)"))


def separated_attention(q, k, v, layout: TokenLayout, kind: str) -> torch.Tensor:
    """Factorised attention (the design CogVideoX argues against): video queries see the text and
    only the video tokens of their own frame ("spatial") or of their own location across frames
    ("temporal"); text queries see everything. q, k, v: (B, h, L+N, d)."""
    L, (T, H, W) = layout.n_text, layout.grid
    mask = layout.key_mask
    out_text = _attend(q[:, :, :L], k, v, mask)
    if kind == "spatial":     # groups = frames, each of H'·W' tokens
        tokens, keys, G = "b h (t n) d", "(b t) h n d", T
        mtokens, mkeys = "b (t n)", "(b t) n"
    else:                     # groups = locations, each of T' tokens
        tokens, keys, G = "b h (t n) d", "(b n) h t d", H * W
        mtokens, mkeys = "b (t n)", "(b n) t"
    group = lambda z: rearrange(z[:, :, L:], f"{tokens} -> {keys}", t=T)           # noqa: E731
    with_text = lambda z: torch.cat([repeat(z[:, :, :L], "b h l d -> (b g) h l d", g=G), group(z)], 2)  # noqa: E731
    gmask = None
    if mask is not None:
        gmask = torch.cat([repeat(mask[:, :L], "b l -> (b g) l", g=G),
                           rearrange(mask[:, L:], f"{mtokens} -> {mkeys}", t=T)], dim=1)
    out_video = _attend(group(q), with_text(k), with_text(v), gmask)           # (B·G, h, n, d)
    out_video = rearrange(out_video, f"{keys} -> {tokens}", t=T, b=q.shape[0])
    return torch.cat([out_text, out_video], dim=2)


class AttentionRecorder:
    """Records softmax attention maps of chosen layers (use `VideoDiT.record_attention`).

    In a recorded layer the attention is computed explicitly, in chunks of queries, from the same
    q/k/v the layer uses, and those probabilities produce the layer's output — the maps are exactly
    what the layer attended with. Other layers keep using SDPA. After a forward, `maps[layer]`:

    - "video_to_text" (B, h, L, T', H', W'): for every text token, how much each video token's
      query attends to it (the classic per-word cross-attention map of Prompt-to-Prompt).
      **Use this one for FlowDirector / editing masks** (normalise per word over the video).
    - "text_to_video" (B, h, L, T', H', W'): where each text token's query looks in the video.
    - "video_to_video" (B, h, N, N): only with `video_to_video=True` (large).
    h is 1 when `reduce_heads="mean"`. Maps are detached float32; each forward overwrites them.
    Memory: the two text maps hold 2·B·h·L·N floats per layer (CogVideoX-5B at 49×480×720 with CFG:
    3 GB per layer, 64 MB with reduce_heads="mean"); the softmax is computed in chunks of
    `max_chunk_bytes`, so the full (S, S) matrix never exists at once.
    """

    def __init__(self, layers: Iterable[int], video_to_video: bool = False,
                 reduce_heads: str | None = None, max_chunk_bytes: int = 256 * 2**20):
        if reduce_heads not in (None, "mean"):
            raise ValueError(f"reduce_heads must be None or 'mean', got {reduce_heads!r}")
        self.layers = set(int(i) for i in layers)
        self.video_to_video = video_to_video
        self.reduce_heads = reduce_heads
        self.max_chunk_bytes = max_chunk_bytes
        self.maps: dict[int, dict[str, torch.Tensor]] = {}
        self.grid: tuple[int, int, int] | None = None
        self.n_text: int | None = None

    def _keep(self, p: torch.Tensor) -> torch.Tensor:
        p = p.detach().float()
        return p.mean(dim=1, keepdim=True) if self.reduce_heads == "mean" else p

    def attend(self, layer: int, q, k, v, layout: TokenLayout) -> torch.Tensor:
        B, h, S, d = q.shape
        L, grid = layout.n_text, layout.grid
        mask = _safe_mask(layout.key_mask)                                  # (B, 1, 1, S) or None
        chunk = max(1, self.max_chunk_bytes // (4 * B * h * S))
        outs, t2v, v2t, v2v = [], [], [], []
        kt = k.float().transpose(-1, -2)
        for a in range(0, S, chunk):
            b = min(S, a + chunk)
            scores = (q[:, :, a:b].float() @ kt) * d**-0.5                    # (B, h, c, S)
            if mask is not None:
                scores = scores.masked_fill(~mask, float("-inf"))
            probs = scores.softmax(dim=-1)
            outs.append(probs.to(v.dtype) @ v)
            if a < L:                                   # text queries in this chunk
                t2v.append(self._keep(probs[:, :, : L - a, L:]))
            if b > L:                                   # video queries in this chunk
                lo = max(a, L) - a
                v2t.append(self._keep(probs[:, :, lo:, :L]))
                if self.video_to_video:
                    v2v.append(self._keep(probs[:, :, lo:, L:]))
        T, H, W = grid
        to_grid = "b h l (t y x) -> b h l t y x"
        maps = {"text_to_video": rearrange(torch.cat(t2v, dim=2), to_grid, t=T, y=H, x=W),
                "video_to_text": rearrange(torch.cat(v2t, dim=2).transpose(-1, -2), to_grid,
                                           t=T, y=H, x=W)}
        if self.video_to_video:
            maps["video_to_video"] = torch.cat(v2v, dim=2)
        self.maps[layer] = maps
        self.grid, self.n_text = grid, L
        return torch.cat(outs, dim=2)

    def word_map(self, layer: int, token: int, kind: str = "video_to_text") -> torch.Tensor:
        """(B, T', H', W') map of one text token in one layer, averaged over heads."""
        if layer not in self.maps:
            raise KeyError(f"layer {layer} was not recorded; recorded: {sorted(self.maps)}")
        return self.maps[layer][kind][:, :, token].mean(dim=1)


def separated_masks(T: int, H: int, W: int, n_text: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """The masks of separated attention as (S, S) booleans, S = n_text + T·H·W, row = query, column =
    key, True = may attend: `(spatial, temporal)`. Tokens in minicog's order: the text first, then the
    video tokens frame-major (all H·W tokens of frame 0, then frame 1, ...; `dit.patchify`'s order).
    Text queries see every token and every query sees the text (as `separated_attention` does); a video
    query sees the video tokens of its own frame (spatial) or of its own position in every frame,
    itself included (temporal). 3D full attention's mask is all True."""
    frame = torch.arange(T).repeat_interleave(H * W)              # (N,) frame of each video token
    where = torch.arange(H * W).repeat(T)                         # (N,) position h·W + w in its frame
    masks = []
    for group in (frame, where):
        m = torch.ones(n_text + T * H * W, n_text + T * H * W, dtype=torch.bool)
        m[n_text:, n_text:] = group[:, None] == group[None, :]
        masks.append(m)
    return masks[0], masks[1]
