"""Expert transformer: the DiT of CogVideoX (Yang et al. 2024, §2.2), small enough to read.

    latents (B, C, T, H, W) ──patchify──> video tokens (B, N, D)   N = T/p_t · H/p · W/p
    text embeddings (B, L, D_text) ──linear──> text tokens (B, L, D)
    [text | video] one sequence ──> num_layers × ExpertBlock ──> final adaLN ──> unpatchify

* DiT (Peebles & Xie 2023): a plain transformer on patch tokens, conditioned on the timestep by
  adaptive LayerNorm whose scale/shift/gate come from the timestep embedding ("adaLN-Zero").
* Expert adaLN (CogVideoX §2.2): one LayerNorm, but the text tokens and the video tokens get their
  *own* scale/shift/gate, because the two modalities have very different feature statistics.
* 3D full attention (CogVideoX §2.2): every token attends to every text and video token of every
  frame at once, instead of separated spatial + temporal attention. `attention="separated"` gives
  the alternative for comparison (even layers within a frame, odd layers across frames). Both, and
  the recorder of attention maps, are in `minicog.attention`.
* Positions: 3D RoPE on queries/keys (5B, 1.5) or a 3D sincos embedding added to the video tokens
  (2B), computed inside the model from the input size exactly as diffusers' pipeline does.

Parameter names mirror diffusers' `CogVideoXTransformer3DModel` except that q/k/v are fused into
one `qkv` projection and the patch projection is a Linear; `VideoDiT.from_diffusers` converts.
"""
from __future__ import annotations

import re
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import torch
import torch.nn as nn
import torch.nn.functional as F
from einops import rearrange, repeat

from .attention import Attention, AttentionRecorder, TokenLayout
from .rope import cogvideox_rope_positions, rope_3d, rope_as_complex, sincos_3d, timestep_embedding
from .utils import (check_state_keys, config_from_dict, load_diffusers_folder, load_model_folder,
                    load_state_dict_strict, save_model_folder)

# ----------------------------------------------------------------------------- config


@dataclass
class DiTConfig:
    """Architecture of a `VideoDiT`. Field names follow diffusers' config where one exists.

    Sizes: hidden = num_heads · head_dim. `sample_height/width` are in latent pixels and
    `sample_frames` in *video* frames (diffusers' convention: latent frames = (f-1)/4 + 1); they only
    matter for positions (RoPE base grid, learned embeddings) — any latent size divisible by the
    patch works."""
    in_channels: int = 16
    out_channels: int = 16
    text_embed_dim: int = 4096
    max_text_len: int = 226            # used only by learned positional embeddings (5B-I2V)
    num_layers: int = 30
    num_heads: int = 30
    head_dim: int = 64
    time_embed_dim: int = 512
    mlp_ratio: float = 4.0
    patch_size: int = 2
    patch_size_t: int | None = None    # 1.5 models: 2 (latent frames per token)
    patch_bias: bool = True
    attention_bias: bool = True
    use_rope: bool = False             # False: 3D sincos added to video tokens (2B)
    learned_pos_embed: bool = False    # CogVideoX-5B-I2V only
    rope_theta: float = 10000.0
    sample_height: int = 60
    sample_width: int = 90
    sample_frames: int = 49
    temporal_compression_ratio: int = 4
    spatial_interpolation_scale: float = 1.875
    temporal_interpolation_scale: float = 1.0
    flip_sin_to_cos: bool = True
    freq_shift: float = 0.0
    ofs_embed_dim: int | None = None   # CogVideoX1.5-5B-I2V only
    norm_eps: float = 1e-5
    norm_affine: bool = True
    attention: str = "full"            # "full" (CogVideoX) or "separated" (spatial / temporal)

    def __post_init__(self):
        if self.attention not in ("full", "separated"):
            raise ValueError(f"attention must be 'full' or 'separated', got {self.attention!r}")
        if self.use_rope and self.head_dim % 16:
            raise ValueError(f"3D RoPE splits a head into t/h/w parts of even size: head_dim must be "
                             f"divisible by 16, got {self.head_dim}")
        if not self.use_rope and self.hidden % 16:
            raise ValueError(f"3D sincos embedding needs hidden = num_heads·head_dim divisible by 16, "
                             f"got {self.hidden}")
        if self.learned_pos_embed and not self.use_rope:
            raise ValueError("learned positional embeddings exist only together with RoPE (5B-I2V)")

    @property
    def hidden(self) -> int:
        return self.num_heads * self.head_dim

    @property
    def p_t(self) -> int:
        return self.patch_size_t or 1

    # presets ----------------------------------------------------------------
    @classmethod
    def tiny(cls, **overrides) -> "DiTConfig":
        """Shapes world: latents (8, 5, 8, 8) → 80 video tokens, ~16 text tokens of width 128."""
        base = dict(in_channels=8, out_channels=8, text_embed_dim=128, max_text_len=16,
                    num_layers=6, num_heads=4, head_dim=48, time_embed_dim=128, patch_size=2,
                    use_rope=True, sample_height=8, sample_width=8, sample_frames=17)
        return cls(**{**base, **overrides})

    @classmethod
    def cogvideox_2b(cls, **overrides) -> "DiTConfig":
        return cls(**{**dict(num_layers=30, num_heads=30, use_rope=False), **overrides})

    @classmethod
    def cogvideox_5b(cls, **overrides) -> "DiTConfig":
        return cls(**{**dict(num_layers=42, num_heads=48, use_rope=True), **overrides})

    @classmethod
    def cogvideox1_5_5b(cls, **overrides) -> "DiTConfig":
        base = dict(num_layers=42, num_heads=48, use_rope=True, patch_size_t=2, patch_bias=False,
                    sample_height=300, sample_width=300, sample_frames=81)
        return cls(**{**base, **overrides})

    # diffusers / json --------------------------------------------------------
    _DIFFUSERS_NAMES = {  # diffusers name -> our field
        "in_channels": "in_channels", "out_channels": "out_channels",
        "text_embed_dim": "text_embed_dim", "max_text_seq_length": "max_text_len",
        "num_layers": "num_layers", "num_attention_heads": "num_heads",
        "attention_head_dim": "head_dim", "time_embed_dim": "time_embed_dim",
        "patch_size": "patch_size", "patch_size_t": "patch_size_t", "patch_bias": "patch_bias",
        "attention_bias": "attention_bias", "use_rotary_positional_embeddings": "use_rope",
        "use_learned_positional_embeddings": "learned_pos_embed", "sample_height": "sample_height",
        "sample_width": "sample_width", "sample_frames": "sample_frames",
        "temporal_compression_ratio": "temporal_compression_ratio",
        "spatial_interpolation_scale": "spatial_interpolation_scale",
        "temporal_interpolation_scale": "temporal_interpolation_scale",
        "flip_sin_to_cos": "flip_sin_to_cos", "freq_shift": "freq_shift",
        "ofs_embed_dim": "ofs_embed_dim", "norm_eps": "norm_eps",
        "norm_elementwise_affine": "norm_affine",
    }
    _DIFFUSERS_FIXED = {"activation_fn": "gelu-approximate", "timestep_activation_fn": "silu"}

    @classmethod
    def from_diffusers_config(cls, cfg: dict) -> "DiTConfig":
        """Config of a diffusers `CogVideoXTransformer3DModel` (its config.json as a dict)."""
        for key, want in cls._DIFFUSERS_FIXED.items():
            if cfg.get(key, want) != want:
                raise ValueError(f"unsupported {key}={cfg[key]!r} in the diffusers config; "
                                 f"minicog's DiT implements {key}={want!r} (all CogVideoX checkpoints)")
        if cfg.get("dropout", 0.0):
            raise ValueError(f"dropout={cfg['dropout']} is not supported (CogVideoX uses 0.0)")
        kw = {ours: cfg[theirs] for theirs, ours in cls._DIFFUSERS_NAMES.items() if theirs in cfg}
        if kw.get("out_channels") is None:
            kw["out_channels"] = cfg.get("in_channels", 16)
        return cls(**kw)

    @classmethod
    def from_dict(cls, d: dict) -> "DiTConfig":
        return config_from_dict(cls, d)


# ----------------------------------------------------------------------------- patches


def patchify(x: torch.Tensor, p: int, p_t: int = 1) -> torch.Tensor:
    """(B, C, T, H, W) -> (B, N, C·p_t·p·p) tokens in (t, h, w) order, features (c, pt, ph, pw)."""
    return rearrange(x, "b c (t pt) (h ph) (w pw) -> b (t h w) (c pt ph pw)", pt=p_t, ph=p, pw=p)


def unpatchify(tokens: torch.Tensor, grid: tuple[int, int, int], p: int, p_t: int = 1) -> torch.Tensor:
    """Inverse of `patchify`: (B, N, C·p_t·p·p) -> (B, C, T, H, W) for a (T', H', W') token grid."""
    t, h, w = grid
    return rearrange(tokens, "b (t h w) (c pt ph pw) -> b c (t pt) (h ph) (w pw)",
                     t=t, h=h, w=w, pt=p_t, ph=p, pw=p)


class TimestepEmbedding(nn.Module):
    """Sinusoidal features of t (on the 0–1000 scale) -> MLP -> conditioning vector (DiT §3.2)."""

    def __init__(self, in_dim: int, out_dim: int):
        super().__init__()
        self.linear_1 = nn.Linear(in_dim, out_dim)
        self.linear_2 = nn.Linear(out_dim, out_dim)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.linear_2(F.silu(self.linear_1(features)))


# ----------------------------------------------------------------------------- expert adaLN


class ExpertAdaLayerNorm(nn.Module):
    """Expert adaptive LayerNorm (CogVideoX §2.2): one LayerNorm shared by text and video tokens,
    but the timestep produces two sets of (shift, scale, gate) — one for the text tokens, one for the
    video tokens. The gates scale the residual branches as in DiT's adaLN-Zero."""

    def __init__(self, dim: int, cond_dim: int, eps: float = 1e-5, affine: bool = True):
        super().__init__()
        self.norm = nn.LayerNorm(dim, eps=eps, elementwise_affine=affine)
        self.linear = nn.Linear(cond_dim, 6 * dim)

    def forward(self, text: torch.Tensor, video: torch.Tensor, cond: torch.Tensor):
        """text (B, L, D), video (B, N, D), cond = silu(time embedding) (B, cond_dim) ->
        the joint modulated sequence [text | video] (B, L+N, D) and the gates (text, video) (B, 1, D)."""
        shift_v, scale_v, gate_v, shift_t, scale_t, gate_t = self.linear(cond)[:, None].chunk(6, dim=-1)
        h = torch.cat([torch.addcmul(shift_t, self.norm(text), 1 + scale_t),    # LN(x)·(1+scale)+shift
                       torch.addcmul(shift_v, self.norm(video), 1 + scale_v)], dim=1)
        return h, (gate_t, gate_v)


# ----------------------------------------------------------------------------- block & model


class FeedForward(nn.Module):
    def __init__(self, dim: int, inner: int):
        super().__init__()
        self.fc1 = nn.Linear(dim, inner)
        self.fc2 = nn.Linear(inner, dim)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x), approximate="tanh"))


class ExpertBlock(nn.Module):
    """One CogVideoX block: expert adaLN -> 3D full attention -> gated residual, expert adaLN ->
    MLP on the joint sequence -> gated residual (DiT adaLN-Zero with per-modality experts)."""

    def __init__(self, cfg: DiTConfig, index: int):
        super().__init__()
        D = cfg.hidden
        kind = "full" if cfg.attention == "full" else ("spatial", "temporal")[index % 2]
        self.norm1 = ExpertAdaLayerNorm(D, cfg.time_embed_dim, cfg.norm_eps, cfg.norm_affine)
        self.attn = Attention(D, cfg.num_heads, cfg.head_dim, cfg.attention_bias, kind, index)
        self.norm2 = ExpertAdaLayerNorm(D, cfg.time_embed_dim, cfg.norm_eps, cfg.norm_affine)
        self.mlp = FeedForward(D, int(D * cfg.mlp_ratio))

    def forward(self, text: torch.Tensor, video: torch.Tensor, cond: torch.Tensor, layout: TokenLayout):
        """text (B, L, D), video (B, N, D): the two streams meet in attention and in the MLP, which
        run on the joint sequence; each stream keeps its own gated residual."""
        sizes = [text.shape[1], video.shape[1]]
        h, (gate_t, gate_v) = self.norm1(text, video, cond)
        out_t, out_v = self.attn(h, layout).split(sizes, dim=1)
        text, video = torch.addcmul(text, gate_t, out_t), torch.addcmul(video, gate_v, out_v)
        h, (gate_t, gate_v) = self.norm2(text, video, cond)
        out_t, out_v = self.mlp(h).split(sizes, dim=1)
        return torch.addcmul(text, gate_t, out_t), torch.addcmul(video, gate_v, out_v)


# minicog name pattern -> diffusers name (first match wins; unmatched names are the same)
_DIFFUSERS_RENAMES = [
    (r"^blocks\.(\d+)\.attn\.qkv\.", r"transformer_blocks.\1.attn1.to_qkv."),   # split into q, k, v
    (r"^blocks\.(\d+)\.attn\.norm_(q|k)\.", r"transformer_blocks.\1.attn1.norm_\2."),
    (r"^blocks\.(\d+)\.attn\.proj\.", r"transformer_blocks.\1.attn1.to_out.0."),
    (r"^blocks\.(\d+)\.mlp\.fc1\.", r"transformer_blocks.\1.ff.net.0.proj."),
    (r"^blocks\.(\d+)\.mlp\.fc2\.", r"transformer_blocks.\1.ff.net.2."),
    (r"^blocks\.(\d+)\.", r"transformer_blocks.\1."),                            # norm1, norm2
    (r"^patch_embed\.", "patch_embed.proj."),
    (r"^text_proj\.", "patch_embed.text_proj."),
    (r"^pos_embedding$", "patch_embed.pos_embedding"),
    (r"^norm_out\.", "norm_out.norm."),
    (r"^norm_out_linear\.", "norm_out.linear."),
]


class VideoDiT(nn.Module):
    """CogVideoX's expert transformer. `model(x, timestep, text)`: latents x (B, C, T, H, W),
    timestep (B,) on the 0–1000 scale, text embeddings (B, L, D_text) -> (B, C_out, T, H, W)."""

    def __init__(self, config: DiTConfig):
        super().__init__()
        self.config = cfg = config
        D, p = cfg.hidden, cfg.patch_size
        self.patch_embed = nn.Linear(cfg.in_channels * cfg.p_t * p * p, D,
                                     bias=cfg.patch_bias or cfg.patch_size_t is not None)
        self.text_proj = nn.Linear(cfg.text_embed_dim, D)
        if cfg.learned_pos_embed:
            self.pos_embedding = nn.Parameter(torch.zeros(1, cfg.max_text_len + self._sample_tokens(), D))
        self.time_embedding = TimestepEmbedding(D, cfg.time_embed_dim)
        if cfg.ofs_embed_dim:
            self.ofs_embedding = TimestepEmbedding(cfg.ofs_embed_dim, cfg.ofs_embed_dim)
        self.blocks = nn.ModuleList(ExpertBlock(cfg, i) for i in range(cfg.num_layers))
        self.norm_final = nn.LayerNorm(D, eps=cfg.norm_eps, elementwise_affine=cfg.norm_affine)
        self.norm_out = nn.LayerNorm(D, eps=cfg.norm_eps, elementwise_affine=cfg.norm_affine)
        self.norm_out_linear = nn.Linear(cfg.time_embed_dim, 2 * D)
        self.proj_out = nn.Linear(D, cfg.out_channels * cfg.p_t * p * p)
        self.gradient_checkpointing = False
        self._recorder: AttentionRecorder | None = None
        self._pos_cache: dict = {}

    def initialize_weights(self) -> "VideoDiT":
        """adaLN-Zero (DiT §3.2, DiT's `initialize_weights`, CogVideoX SAT's `reinit`): zero every
        modulation layer (shift, scale and gate of each expert adaLN, the final adaLN) and the output
        projection, so each block starts as the identity and the model predicts 0. The trainer calls
        this on a new model (`train.build_model`); construction alone keeps PyTorch's default init, as
        diffusers' module does, so random test models (and weights about to be loaded) are not
        degenerate."""
        for block in self.blocks:
            for ada in (block.norm1.linear, block.norm2.linear):
                nn.init.zeros_(ada.weight)
                nn.init.zeros_(ada.bias)
        for layer in (self.norm_out_linear, self.proj_out):
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)
        return self

    # ------------------------------------------------------------------ positions
    def _sample_grid(self) -> tuple[int, int, int]:
        c = self.config
        frames = (c.sample_frames - 1) // c.temporal_compression_ratio + 1
        return (frames + c.p_t - 1) // c.p_t, c.sample_height // c.patch_size, c.sample_width // c.patch_size

    def _sample_tokens(self) -> int:
        t, h, w = self._sample_grid()
        return t * h * w

    def positions(self, grid: tuple[int, int, int], n_text: int, device, dtype):
        """RoPE frequencies e^{iθ} (L+N, head_dim/2) — 1 (no rotation) on text tokens — or the sincos
        embedding (N, D) of the video tokens, for a (T', H', W') grid. Cached per size."""
        key = (grid, n_text, str(device), dtype)
        if key in self._pos_cache:
            return self._pos_cache[key]
        c = self.config
        if c.use_rope:
            base = (c.sample_height // c.patch_size, c.sample_width // c.patch_size)
            axes = cogvideox_rope_positions(grid, base, slice_grid=c.patch_size_t is not None)
            cos, sin = rope_3d(c.head_dim, *axes, theta=c.rope_theta)
            freqs = rope_as_complex(cos, sin)                                  # (N, head_dim/2)
            value = torch.cat([torch.ones(n_text, c.head_dim // 2, dtype=freqs.dtype), freqs]).to(device)
        else:
            pe = sincos_3d(c.hidden, grid, c.spatial_interpolation_scale, c.temporal_interpolation_scale)
            value = pe.to(device=device, dtype=dtype)
        if len(self._pos_cache) > 16:
            self._pos_cache.clear()
        self._pos_cache[key] = value
        return value

    # ------------------------------------------------------------------ checks
    def _check_inputs(self, x, timestep, text, text_mask, video_mask):
        c = self.config
        if x.ndim != 5:
            raise ValueError(f"x must be latents (B, C, T, H, W), got shape {tuple(x.shape)}")
        B, C, T, H, W = x.shape
        if C != c.in_channels:
            raise ValueError(f"x has {C} channels but the model expects in_channels={c.in_channels}")
        p, pt = c.patch_size, c.p_t
        if H % p or W % p:
            raise ValueError(f"latent size H×W = {H}×{W} is not divisible by the patch size {p}; "
                             f"crop or pad the latents (i.e. the video to a multiple of {8 * p} px)")
        if T % pt:
            raise ValueError(f"{T} latent frames are not divisible by patch_size_t={pt}; pad the latents "
                             f"along T like CogVideoXPipeline does (it adds frames at the start)")
        if text.ndim != 3 or text.shape[0] != B:
            raise ValueError(f"text must be embeddings (B={B}, L, {c.text_embed_dim}), got {tuple(text.shape)}")
        if text.shape[-1] != c.text_embed_dim:
            raise ValueError(f"text embeddings have width {text.shape[-1]} but the config has "
                             f"text_embed_dim={c.text_embed_dim}; use the matching text encoder")
        if c.learned_pos_embed and (text.shape[1] != c.max_text_len or
                                    (T // pt, H // p, W // p) != self._sample_grid()):
            raise ValueError("a model with learned positional embeddings only accepts the sample size "
                             f"{self._sample_grid()} (tokens) and exactly {c.max_text_len} text tokens")
        t = torch.as_tensor(timestep, device=x.device)
        if t.ndim == 0:
            t = t.expand(B)
        if t.shape != (B,):
            raise ValueError(f"timestep must be a scalar or shape (B,)=({B},), got {tuple(t.shape)}")
        if text_mask is not None and tuple(text_mask.shape) != tuple(text.shape[:2]):
            raise ValueError(f"text_mask must be (B, L)={tuple(text.shape[:2])}, got {tuple(text_mask.shape)}")
        if video_mask is not None:
            if tuple(video_mask.shape) != (B, T):
                raise ValueError(f"video_mask must be (B, T)=({B}, {T}) latent frames, got "
                                 f"{tuple(video_mask.shape)}")
            vm = video_mask.bool().reshape(B, T // pt, pt)
            if pt > 1 and not bool((vm == vm[..., :1]).all()):
                raise ValueError(f"video_mask must be constant inside each group of patch_size_t={pt} "
                                 "latent frames (a token covers them all)")
        return t

    # ------------------------------------------------------------------ forward
    def forward(self, x: torch.Tensor, timestep, text: torch.Tensor,
                text_mask: torch.Tensor | None = None, video_mask: torch.Tensor | None = None,
                ofs=None) -> torch.Tensor:
        c = self.config
        t = self._check_inputs(x, timestep, text, text_mask, video_mask)
        B, _, T, H, W = x.shape
        L, p, pt = text.shape[1], c.patch_size, c.p_t
        grid = (T // pt, H // p, W // p)

        # conditioning vector: timestep (+ ofs for 1.5-I2V) embedding, silu'd once for all adaLNs
        temb = self.time_embedding(timestep_embedding(t, c.hidden, c.flip_sin_to_cos, c.freq_shift).to(x.dtype))
        if c.ofs_embed_dim:
            if ofs is None:
                raise ValueError("this model (CogVideoX1.5-I2V) needs `ofs` (diffusers passes 2.0)")
            o = torch.as_tensor(ofs, device=x.device).float().reshape(-1).expand(B)
            temb = temb + self.ofs_embedding(
                timestep_embedding(o, c.ofs_embed_dim, c.flip_sin_to_cos, c.freq_shift).to(x.dtype))
        cond = F.silu(temb)

        # tokens: text (B, L, D) and video (B, N, D), attended to as one sequence [text | video]
        video = self.patch_embed(patchify(x, p, pt))                            # (B, N, D)
        text = self.text_proj(text)                                             # (B, L, D)
        pos = self.positions(grid, L, x.device, x.dtype)
        if not c.use_rope:
            video = video + pos
        if c.learned_pos_embed:
            pos_t, pos_v = self.pos_embedding.to(x.dtype).split([L, video.shape[1]], dim=1)
            text, video = text + pos_t, video + pos_v

        key_mask = None
        if text_mask is not None or video_mask is not None:
            tm = text_mask.bool() if text_mask is not None else torch.ones(B, L, dtype=torch.bool, device=x.device)
            vm = video_mask.bool() if video_mask is not None else torch.ones(B, T, dtype=torch.bool, device=x.device)
            vm = repeat(vm[:, ::pt], "b t -> b (t n)", n=grid[1] * grid[2])
            key_mask = torch.cat([tm, vm], dim=1)                               # (B, L+N)
        layout = TokenLayout(L, grid, pos if c.use_rope else None, key_mask, self._recorder)

        for block in self.blocks:
            if self.gradient_checkpointing and torch.is_grad_enabled():
                text, video = torch.utils.checkpoint.checkpoint(block, text, video, cond, layout,
                                                                use_reentrant=False)
            else:
                text, video = block(text, video, cond, layout)

        # final adaLN on video tokens, project to patches, unpatchify
        video = self.norm_final(video)
        shift, scale = self.norm_out_linear(cond)[:, None].chunk(2, dim=-1)
        video = self.norm_out(video) * (1 + scale) + shift
        return unpatchify(self.proj_out(video), grid, p, pt)                   # (B, C_out, T, H, W)

    # ------------------------------------------------------------------ attention maps
    @contextmanager
    def record_attention(self, layers: Iterable[int] | None = None, video_to_video: bool = False,
                         reduce_heads: str | None = None):
        """`with model.record_attention(layers=[3, 5]) as rec: model(...)`; then `rec.maps[3]`.
        See `AttentionRecorder`. Only the listed layers leave SDPA, so memory stays bounded."""
        n = self.config.num_layers
        layers = list(range(n)) if layers is None else list(layers)
        bad = [i for i in layers if not 0 <= i < n]
        if bad:
            raise ValueError(f"layers {bad} out of range: the model has {n} layers (0..{n - 1})")
        rec = AttentionRecorder(layers, video_to_video, reduce_heads)
        previous, self._recorder = self._recorder, rec
        try:
            yield rec
        finally:
            self._recorder = previous

    # ------------------------------------------------------------------ diffusers weights
    def diffusers_key_map(self) -> dict[str, tuple[str, ...]]:
        """minicog parameter name -> the diffusers name(s) it is built from (q, k, v for qkv)."""
        out = {}
        for name in self.state_dict():
            for pattern, theirs in _DIFFUSERS_RENAMES:
                if re.match(pattern, name):
                    theirs = re.sub(pattern, theirs, name)
                    break
            else:
                theirs = name
            out[name] = (tuple(theirs.replace("to_qkv", f"to_{z}") for z in "qkv")
                         if "to_qkv" in theirs else (theirs,))
        return out

    def convert_diffusers_state(self, state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Rename / fuse a diffusers state dict into this model's names. Raises one ValueError listing
        missing keys, unexpected keys and shape mismatches (in diffusers' names)."""
        c, own = self.config, self.state_dict()
        want: dict[str, tuple[int, ...]] = {}
        key_map = self.diffusers_key_map()
        for name, theirs in key_map.items():
            shape = tuple(own[name].shape)
            if len(theirs) == 3:
                shape = (shape[0] // 3, *shape[1:])
            if name == "patch_embed.weight" and c.patch_size_t is None:
                shape = (shape[0], c.in_channels, c.patch_size, c.patch_size)  # a Conv2d there
            for k in theirs:
                want[k] = shape
        check_state_keys(want, state, "diffusers checkpoint does not match this VideoDiT config",
                         "check that config.json belongs to these weights (2B / 5B / 1.5 variant).")
        out = {}
        for name, theirs in key_map.items():
            tensors = [state[k] for k in theirs]
            out[name] = torch.cat(tensors, dim=0) if len(tensors) == 3 else tensors[0].reshape(own[name].shape)
        return out

    @classmethod
    def from_diffusers(cls, folder, device=None, dtype: torch.dtype | None = torch.float32) -> "VideoDiT":
        """Load a diffusers `CogVideoXTransformer3DModel` folder (config.json + single or sharded
        safetensors), e.g. `<CogVideoX-5b>/transformer`. dtype=None keeps the checkpoint's dtype."""
        cfg, state = load_diffusers_folder(folder, kind="transformer")
        if cfg.get("_class_name", "CogVideoXTransformer3DModel") != "CogVideoXTransformer3DModel":
            raise ValueError(f"{folder} holds a {cfg['_class_name']}, not a CogVideoXTransformer3DModel")
        with torch.device("meta"):
            model = cls(DiTConfig.from_diffusers_config(cfg))
        state = model.convert_diffusers_state(state)
        model.load_state_dict(state, strict=True, assign=True)
        return model.to(device=device, dtype=dtype)

    # ------------------------------------------------------------------ minicog format
    def save_pretrained(self, folder, dtype: torch.dtype | None = None) -> Path:
        return save_model_folder(folder, self.config, self.state_dict(), dtype=dtype)

    @classmethod
    def from_pretrained(cls, folder, device=None, dtype: torch.dtype | None = None) -> "VideoDiT":
        config, state = load_model_folder(folder, DiTConfig, "VideoDiT")
        model = cls(config)
        load_state_dict_strict(model, state, what=f"checkpoint {folder}")
        return model.to(device=device, dtype=dtype)

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())
