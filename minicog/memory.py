"""The GPU memory of one CogVideoX generation, computed (not measured) before anything is loaded.

    from minicog.memory import estimate_memory, memory_table, preset_configs
    print(estimate_memory(*preset_configs("5b"), 49, 480, 720, offload=True))   # peak 13.2 GiB, per stage
    print(memory_table())                                # every saver setting, 2B and 5B (docs/scaled_path.md)

Peak GPU memory = the weights resident on the GPU + the largest set of activations alive at one time.

* Weights: parameter counts × bytes per parameter. The transformer and the VAE are built on the *meta*
  device (shapes only, no memory) and their parameters counted; T5 from a closed formula
  (`t5_encoder_params`, checked against `transformers` in the tests).
* Activations: the real modules run on meta tensors of the exact size while a dispatch mode
  (`LiveTensorBytes`) adds up the bytes of every tensor alive and frees them when Python drops them, so
  the number follows the actual code (frame chunks, tiles, conv caches) and costs no memory. T5's are a
  formula (`t5_activation_bytes`, tiny next to its weights).
* Attention is traced as the fused kernel a GPU runs (FlashAttention / memory-efficient SDPA: only the
  output exists, never the (L+N)² score matrix), by a `TorchFunctionMode` that answers
  `scaled_dot_product_attention` with an empty output — nothing is patched; attention="math" traces the
  materialised scores instead.
* With model CPU offload only the model of the running stage is on the GPU; without it all three are.

Every figure is labelled "computed, not measured" where it is shown; `benchmarks/bench_cogvideox.py --gpu`
measures the same settings on a GPU. `CogVideoX.estimate_memory` / `check_memory` call in here with the
pipeline's own configs (this module knows nothing of the pipeline).
"""
from __future__ import annotations

import argparse
import json
import sys
import weakref
from contextlib import nullcontext
from dataclasses import asdict, dataclass, replace
from functools import lru_cache
from typing import Callable, Sequence

import torch
import torch.nn.functional as F
from torch.overrides import TorchFunctionMode
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

from .causal_vae import CausalVAE, VAEConfig
from .dit import DiTConfig, VideoDiT
from .sizes import check_video_size

# dtype names the estimator and the command line accept
DTYPES = {"float32": torch.float32, "fp32": torch.float32, "bfloat16": torch.bfloat16,
          "bf16": torch.bfloat16, "float16": torch.float16, "fp16": torch.float16}

T5_XXL = dict(vocab_size=32128, d_model=4096, d_kv=64, num_heads=64, d_ff=10240, num_layers=24)


class GPUMemoryError(RuntimeError):
    """The chosen setting needs more GPU memory than the GPU has; the message names the saver(s)
    to turn on (`enable_model_cpu_offload`, `enable_vae_tiling`, bf16, ...)."""


def with_margin(n: int) -> float:
    """A computed peak plus 10 % and 0.5 GiB for the CUDA context and fragmentation."""
    return 1.1 * n + 0.5 * 2**30


# ----------------------------------------------------------------------------- T5 (closed formulas)

def t5_encoder_params(vocab_size: int = 32128, d_model: int = 4096, d_kv: int = 64, num_heads: int = 64,
                      d_ff: int = 10240, num_layers: int = 24, relative_attention_num_buckets: int = 32,
                      gated: bool = True) -> int:
    """Parameters of a T5 v1.1 encoder (T5-XXL: 4.76 B): token embedding, per layer q/k/v/o (no
    biases), the gated-GELU MLP (wi_0, wi_1, wo) and two RMSNorm weights, the relative position
    bias of layer 0 and the final norm."""
    inner = num_heads * d_kv
    layer = 4 * d_model * inner + (3 if gated else 2) * d_model * d_ff + 2 * d_model
    return vocab_size * d_model + num_layers * layer + relative_attention_num_buckets * num_heads + d_model


def t5_activation_bytes(batch: int, seq: int = 226, d_model: int = 4096, d_ff: int = 10240,
                        num_heads: int = 64, bytes_per: int = 2, **_) -> int:
    """Peak activations of one T5 encoder layer (it is the same for all): a few (B, L, d_model)
    hidden states, the gated MLP's four (B, L, d_ff) tensors, and the (B, heads, L, L) scores with
    their fp32 softmax. Tiny next to the weights (~0.1 GB for T5-XXL)."""
    return batch * seq * (3 * d_model + 4 * d_ff) * bytes_per + batch * num_heads * seq * seq * (bytes_per + 4)


def t5_dims(config) -> dict:
    """The `T5_XXL` fields of a T5 config — a `transformers` config object or its config.json dict
    (missing keys keep T5-XXL's values)."""
    if isinstance(config, dict):
        return {k: config.get(k, v) for k, v in T5_XXL.items()}
    return {k: getattr(config, k) for k in T5_XXL}


# ----------------------------------------------------------------------------- tracing on the meta device

class LiveTensorBytes:
    """Counts bytes of tensors alive during a computation (peak included), via a TorchDispatchMode.
    Storages shared by views count once; a storage is freed when its last tracked tensor dies.
    Tensors that exist before the trace (weights, inputs) are not counted."""

    def __init__(self):
        tracker = self

        class Mode(TorchDispatchMode):
            def __torch_dispatch__(self, func, types, args=(), kwargs=None):
                out = func(*args, **(kwargs or {}))
                tracker._track(out)
                return out

        self.mode = Mode()
        self.live = self.peak = 0
        self._refs: dict[int, int] = {}

    def _track(self, out):
        for t in tree_flatten(out)[0]:
            if isinstance(t, torch.Tensor):
                st = t.untyped_storage()
                key, n = st._cdata, st.nbytes()
                if key not in self._refs:
                    self._refs[key] = 0
                    self.live += n
                    self.peak = max(self.peak, self.live)
                self._refs[key] += 1
                weakref.finalize(t, self._free, key, n)

    def _free(self, key: int, n: int):
        self._refs[key] -= 1
        if self._refs[key] == 0:
            del self._refs[key]
            self.live -= n

    def __enter__(self):
        self.mode.__enter__()
        return self

    def __exit__(self, *exc):
        return self.mode.__exit__(*exc)


def trace_peak_bytes(fn: Callable[[], object]) -> int:
    """Peak bytes of the tensors `fn()` creates (run it on meta tensors to trace a size without memory)."""
    with torch.no_grad(), LiveTensorBytes() as tracker:
        out = fn()
        del out
    return tracker.peak


class FusedAttention(TorchFunctionMode):
    """Trace attention as a fused kernel (FlashAttention / memory-efficient SDPA, what a GPU uses):
    `F.scaled_dot_product_attention` returns an empty output (B, heads, L, d_v) and never builds the
    (L+N)² score matrix. Every other torch function runs unchanged."""

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func is F.scaled_dot_product_attention:
            q, v = args[0], (args[2] if len(args) > 2 else kwargs["value"])
            return q.new_empty(*q.shape[:-1], v.shape[-1])
        return func(*args, **kwargs)


def memoized_tiles(decode_frames: Callable, tracker: LiveTensorBytes) -> Callable:
    """A `decode_frames` callback for `CausalVAE.decode`: tiles of the same shape cost the same, so
    trace `decode_frames` once per input shape, then replay its transient peak and return an empty
    output of the recorded shape (a 2-4× faster trace of tiled decoding, the same number)."""
    seen: dict = {}

    def call(x):
        key = (tuple(x.shape), x.dtype)
        if key not in seen:
            live, before = tracker.live, tracker.peak
            tracker.peak = live                                  # measure this call's own peak
            out = decode_frames(x)
            seen[key] = (tracker.peak - live, tuple(out.shape))
            tracker.peak = max(tracker.peak, before)
            return out
        transient, shape = seen[key]
        tracker.peak = max(tracker.peak, tracker.live + transient)
        return x.new_empty(shape)
    return call


def _key(cfg) -> str:
    d = cfg.to_dict() if hasattr(cfg, "to_dict") else asdict(cfg)
    return json.dumps(d, sort_keys=True, default=str)


@lru_cache(maxsize=64)
def _model_params(kind: str, cfg_json: str) -> int:
    d = json.loads(cfg_json)
    with torch.device("meta"):
        m = VideoDiT(DiTConfig.from_dict(d)) if kind == "dit" else CausalVAE(VAEConfig(**d))
    return sum(p.numel() for p in m.parameters())


@lru_cache(maxsize=64)
def _dit_activations(cfg_json: str, shape: tuple, text_len: int, batch: int, dtype: str, attention: str) -> int:
    d = json.loads(cfg_json)
    d["num_layers"] = min(2, d["num_layers"])          # every layer has the same activations
    dt = getattr(torch, dtype)
    with torch.device("meta"):
        model = VideoDiT(DiTConfig.from_dict(d)).to(dt)
        x = torch.empty(batch, *shape, dtype=dt)                                # (B, C, T, h, w)
        text = torch.empty(batch, text_len, d["text_embed_dim"], dtype=dt)       # (B, L, D)
        t = torch.zeros(batch, dtype=torch.int64)
    with (FusedAttention() if attention == "flash" else nullcontext()):
        peak = trace_peak_bytes(lambda: model(x, t, text))
    return peak + x.nbytes + text.nbytes


@lru_cache(maxsize=64)
def _vae_decode_activations(cfg_json: str, shape: tuple, batch: int, dtype: str, chunk: int | None,
                            tile: tuple | None) -> int:
    d = json.loads(cfg_json)
    dt = getattr(torch, dtype)
    with torch.device("meta"):
        vae = CausalVAE(VAEConfig(**d)).to(dt)
        z = torch.empty(batch, *shape, dtype=dt)                                # (B, C, T, h, w)
    vae.enable_frame_chunking(vae.chunk_sample_frames, chunk) if chunk else vae.disable_frame_chunking()
    if tile is None:
        return trace_peak_bytes(lambda: vae.decode(z)) + z.nbytes
    vae.enable_tiling(tile[0], tile[1], tile[2], tile[3])
    with LiveTensorBytes() as tracker, torch.no_grad():
        out = vae.decode(z, decode_frames=memoized_tiles(vae.decode_frames, tracker))
        del out
    return tracker.peak + z.nbytes


# ----------------------------------------------------------------------------- the estimate

@dataclass
class MemoryEstimate:
    """Computed (not measured) GPU memory of one generation, in bytes, per stage:
    text (T5), transformer (the denoising loop), vae (decoding)."""
    weights: dict[str, int]          # bytes of each model's weights
    activations: dict[str, int]      # peak activation bytes of each stage
    offload: bool
    setting: str = ""
    label: str = "computed, not measured"

    def stage_peaks(self) -> dict[str, int]:
        """GPU bytes at each stage's peak: with offload only that stage's model is resident, without it
        all three are (T5 stays on the GPU, as in diffusers without offload)."""
        resident = sum(self.weights.values())
        return {k: (self.weights[k] if self.offload else resident) + a for k, a in self.activations.items()}

    @property
    def peak(self) -> int:
        return max(self.stage_peaks().values())

    @property
    def peak_stage(self) -> str:
        peaks = self.stage_peaks()
        return max(peaks, key=peaks.get)

    def __str__(self) -> str:
        g = lambda n: f"{n / 2**30:.2f} GiB"                                      # noqa: E731
        rows = [f"{k:>12}: weights {g(self.weights[k])}, activations {g(self.activations[k])}, "
                f"stage peak {g(p)}" for k, p in self.stage_peaks().items()]
        return "\n".join([f"{self.setting or 'memory'} ({self.label}): peak {g(self.peak)} ({self.peak_stage})",
                          *rows])


def estimate_memory(dit_config, vae_config, num_frames: int = 49, height: int = 480, width: int = 720, *,
                    dtype: torch.dtype = torch.bfloat16, batch: int = 1, guided: bool = True,
                    t5: dict | None = T5_XXL, text_len: int = 226, offload: bool = False,
                    vae_chunking: bool = True, vae_chunk_latent_frames: int = 2, vae_tiling: bool = False,
                    vae_tile: tuple | None = None, attention: str = "flash", setting: str = "") -> MemoryEstimate:
    """Peak GPU memory of text → video with these configs and savers (computed, not measured).

    Weights: parameter counts (the modules built on the meta device; T5 from its config) × bytes.
    Activations: T5 from `t5_activation_bytes`; the transformer (batch 2B when `guided`, i.e. with
    classifier-free guidance: [uncond; cond]) and the VAE decoder traced on the meta device at this exact
    size (`trace_peak_bytes`). attention="flash" traces the fused SDPA a GPU runs; "math" materialises
    the (L+N)² attention matrix."""
    if attention not in ("flash", "math"):
        raise ValueError(f"attention must be 'flash' or 'math', got {attention!r}")
    dtype = DTYPES.get(dtype, dtype) if isinstance(dtype, str) else dtype
    nbytes = torch.empty(0, dtype=dtype).element_size()
    dname = str(dtype).removeprefix("torch.")
    s, tc = 2 ** (len(vae_config.block_out_channels) - 1), vae_config.temporal_compression_ratio
    check_video_size(num_frames, height, width, tc, s * dit_config.patch_size)
    T = (num_frames - 1) // tc + 1
    T_pad = T + (dit_config.p_t - T % dit_config.p_t) % dit_config.p_t
    C = vae_config.latent_channels
    vae_json = _key(replace(vae_config, scaling_factor=1.0))      # the scaling factor changes nothing here
    weights = {"transformer": _model_params("dit", _key(dit_config)) * nbytes,
               "vae": _model_params("vae", vae_json) * nbytes}
    B = batch * (2 if guided else 1)
    acts = {"transformer": _dit_activations(_key(dit_config), (C, T_pad, height // s, width // s), text_len, B,
                                            dname, attention)}
    tile = None
    if vae_tiling:
        tile = vae_tile or (vae_config.sample_height // 2, vae_config.sample_width // 2, 1 / 6, 1 / 5)
    acts["vae"] = _vae_decode_activations(vae_json, (C, T, height // s, width // s), batch, dname,
                                          vae_chunk_latent_frames if vae_chunking else None, tile)
    if t5 is not None:
        weights = {"text_encoder": t5_encoder_params(**t5) * nbytes, **weights}
        acts = {"text_encoder": t5_activation_bytes(B, text_len, bytes_per=nbytes, **t5), **acts}
    return MemoryEstimate(weights, acts, offload, setting)


def saver_advice(estimate: Callable[..., MemoryEstimate], current: dict, available: int) -> str:
    """What to turn on so that a setting fits in `available` bytes: the first single saver that is
    enough, else all of them together, else "it does not fit". `estimate(**overrides)` re-estimates
    the setting with overrides (dtype, offload, vae_chunking, vae_tiling); `current` holds their
    present values (savers already on are not suggested)."""
    savers = [("vae_chunking", True, "pipe.enable_vae_frame_chunking()"),
              ("vae_tiling", True, "pipe.enable_vae_tiling()"),
              ("offload", True, "pipe.enable_model_cpu_offload()"),
              ("dtype", torch.bfloat16, "dtype=torch.bfloat16 in from_pretrained (half the weight memory)")]
    savers = [s for s in savers if current[s[0]] != s[1]]
    gib = lambda n: f"{n / 2**30:.1f} GiB"                                       # noqa: E731
    for k, value, how in savers:                                               # one saver enough?
        e = estimate(**{k: value})
        if with_margin(e.peak) <= available:
            return f"turn on {how} (peak → {gib(e.peak)})"
    if savers:                                                                 # all of them?
        e = estimate(**{k: v for k, v, _ in savers})
        if with_margin(e.peak) <= available:
            return "turn on " + " and ".join(h for _, _, h in savers) + f" (peak → {gib(e.peak)})"
    return "even with every saver on it does not fit: generate fewer frames or a smaller size, or use a larger GPU"


# ----------------------------------------------------------------------------- the table of docs/scaled_path.md

MEMORY_SETTINGS = (
    ("fp32, no savers", dict(dtype=torch.float32, vae_chunking=False)),
    ("bf16", dict(dtype=torch.bfloat16, vae_chunking=False)),
    ("bf16 + VAE frame chunking (default)", dict(dtype=torch.bfloat16)),
    ("bf16 + chunking + VAE tiling", dict(dtype=torch.bfloat16, vae_tiling=True)),
    ("bf16 + chunking + model CPU offload", dict(dtype=torch.bfloat16, offload=True)),
    ("bf16 + chunking + tiling + offload", dict(dtype=torch.bfloat16, vae_tiling=True, offload=True)),
)


def preset_configs(name: str) -> tuple[DiTConfig, VAEConfig]:
    """(DiTConfig, VAEConfig) of "2b" or "5b"."""
    if name not in ("2b", "5b"):
        raise ValueError(f"unknown preset {name!r}: use '2b' or '5b'")
    return ((DiTConfig.cogvideox_2b(), VAEConfig.cogvideox_2b()) if name == "2b"
            else (DiTConfig.cogvideox_5b(), VAEConfig.cogvideox_5b()))


def memory_table(presets: Sequence[str] = ("2b", "5b"), num_frames: int = 49, height: int = 480,
                 width: int = 720, settings=MEMORY_SETTINGS, gpu_gib: float = 24.0) -> str:
    """Markdown table of the computed peak GPU memory of each saver setting (one 49×480×720 video, CFG)."""
    head = ["model", "setting", "T5 stage", "transformer stage", "VAE stage", "peak", f"fits {gpu_gib:g} GB?"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    g = lambda n: f"{n / 2**30:.1f} GiB"                                        # noqa: E731
    for p in presets:
        dit_cfg, vae_cfg = preset_configs(p)
        for name, kw in settings:
            e = estimate_memory(dit_cfg, vae_cfg, num_frames, height, width, setting=name, **kw)
            sp = e.stage_peaks()
            fits = "yes" if with_margin(e.peak) <= gpu_gib * 1e9 else "no"
            lines.append(f"| {p.upper()} | {name} | {g(sp['text_encoder'])} | {g(sp['transformer'])} | "
                         f"{g(sp['vae'])} | **{g(e.peak)}** | {fits} |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """python -m minicog.memory: print `memory_table` (the table of docs/scaled_path.md)."""
    ap = argparse.ArgumentParser(prog="python -m minicog.memory", description=(
        "Print the computed (not measured) peak GPU memory of generating one video with CogVideoX-2B and -5B "
        "under each memory-saver setting, as a markdown table (the table of docs/scaled_path.md). Nothing is "
        "downloaded or loaded: the models are traced on the meta device."))
    ap.add_argument("--frames", type=int, default=49, help="video frames, 1 + 4k (default 49)")
    ap.add_argument("--height", type=int, default=480, help="video height, a multiple of 16 (default 480)")
    ap.add_argument("--width", type=int, default=720, help="video width, a multiple of 16 (default 720)")
    ap.add_argument("--gpu-gib", type=float, default=24.0,
                    help="the GPU memory the 'fits' column compares against, in GB (default 24)")
    args = ap.parse_args(argv)
    try:
        print(memory_table(num_frames=args.frames, height=args.height, width=args.width, gpu_gib=args.gpu_gib))
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
