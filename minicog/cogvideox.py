"""The scaled path: real CogVideoX weights (2B / 5B) from a local folder, on minicog's own modules.

    pipe = minicog.CogVideoX.from_pretrained("/weights/CogVideoX-5b")     # diffusers folder layout
    pipe.enable_model_cpu_offload(); pipe.enable_vae_tiling()           # for a 24 GB GPU
    video = pipe.generate("a panda playing guitar in a bamboo forest", seed=0)   # uint8 (49, 480, 720, 3)
    minicog.save_video(video, "panda.mp4")                               # 8 fps

or `python -m minicog.cogvideox --weights DIR --prompt "..." --out out.mp4`.

The folder is the one of the official checkpoints (`huggingface-cli download THUDM/CogVideoX-5b
--local-dir DIR`): `transformer/` (config.json + sharded safetensors with an index json) → minicog's
`VideoDiT`; `vae/` → minicog's `CausalVAE`; `scheduler/scheduler_config.json` → minicog's
`CogVideoXDDIM` (v-prediction DDIM, zero-terminal-SNR betas with the SNR shift, trailing timesteps);
`text_encoder/` + `tokenizer/` (T5-XXL) → loaded lazily with `transformers`, and optional: without
them the pipeline still denoises from given text embeddings (`denoise`).

Sampling is the official pipeline's (CogVideoX §3 / diffusers' `CogVideoXPipeline` with the DDIM
scheduler): the prompt is tokenized to 226 tokens (padded; the transformer attends to all of them),
T5's last hidden state conditions the DiT, noise (B, C, 1+(F−1)/4, H/8, W/8) is drawn from the seed,
50 DDIM steps with classifier-free guidance 6 (optionally the "dynamic CFG"), then the VAE decodes
latents / scaling_factor. `denoise` matches diffusers to < 1e-4 relative error in fp32 (tests).

Memory (docs/scaled_path.md): bf16 weights, the VAE's frame chunking and spatial tiling, and model CPU
offload (only the model in use sits on the GPU). `estimate_memory` computes the peak GPU memory of a
setting from parameter counts and a trace of activation sizes on the meta device (no memory used);
`generate` refuses to start on a GPU that is too small and says which saver to turn on.

FlowDirector / RF editing run on this pipeline through `velocity(z, s, embeds)`: the VP v-prediction
of the pretrained model converted into a rectified-flow velocity (see `minicog.scheduler`).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
import weakref
from contextlib import contextmanager, nullcontext
from dataclasses import asdict, dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch
import torch.nn as nn

from .utils import resolve_device
from .video import save_video  # noqa: F401  (re-exported: `minicog.cogvideox.save_video`, MP4 at 8 fps)

REQUIRED_PARTS = ("transformer", "vae", "scheduler")
TEXT_PARTS = ("text_encoder", "tokenizer")
DOWNLOAD_HINT = ("get the official weights with e.g. `huggingface-cli download THUDM/CogVideoX-2b "
                 "--local-dir DIR` (or CogVideoX-5b)")
_DTYPES = {"float32": torch.float32, "fp32": torch.float32, "bfloat16": torch.bfloat16,
           "bf16": torch.bfloat16, "float16": torch.float16, "fp16": torch.float16}


class GPUMemoryError(RuntimeError):
    """The chosen setting needs more GPU memory than the GPU has; the message names the saver(s)
    to turn on (`enable_model_cpu_offload`, `enable_vae_tiling`, bf16, ...)."""


# ----------------------------------------------------------------------------- config

@dataclass
class CogVideoXConfig:
    """Sampling defaults of the official pipeline (diffusers `CogVideoXPipeline.__call__`).

    num_frames / height / width of None mean "the checkpoint's training size" (the transformer's
    sample_frames and 8·sample_height × 8·sample_width: 49 × 480 × 720 for 2B and 5B)."""
    num_frames: int | None = None
    height: int | None = None
    width: int | None = None
    steps: int = 50
    guidance: float = 6.0
    dynamic_cfg: bool = False
    max_sequence_length: int = 226
    fps: int = 8

    @classmethod
    def cogvideox_2b(cls, **overrides) -> "CogVideoXConfig":
        return cls(**{**dict(num_frames=49, height=480, width=720), **overrides})

    @classmethod
    def cogvideox_5b(cls, **overrides) -> "CogVideoXConfig":
        return cls(**{**dict(num_frames=49, height=480, width=720), **overrides})


def resolve_dtype(dtype: torch.dtype | str | None, device: torch.device) -> torch.dtype:
    """None → bf16 on a CUDA GPU that has it (fp16 on older GPUs), fp32 on CPU. Half precision on the
    CPU is refused: CPU kernels for bf16/fp16 3D convolutions and attention are missing or very slow,
    and the parity guarantees are for fp32."""
    cuda = device.type == "cuda"
    if dtype is None or dtype == "auto":
        if cuda:
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.float32
    if isinstance(dtype, str):
        if dtype not in _DTYPES:
            raise ValueError(f"unknown dtype {dtype!r}: use one of {sorted(set(_DTYPES))} or None (auto)")
        dtype = _DTYPES[dtype]
    if dtype not in (torch.float32, torch.bfloat16, torch.float16):
        raise ValueError(f"dtype {dtype} is not supported: use torch.float32, torch.bfloat16 or torch.float16")
    if device.type == "cpu" and dtype != torch.float32:
        raise ValueError(f"dtype={dtype} on the CPU is not supported (half-precision 3D convolutions and "
                         "attention are missing or very slow there): use dtype=torch.float32 on the CPU, "
                         "or bf16 on a CUDA GPU (device='cuda')")
    if cuda and dtype == torch.bfloat16 and not torch.cuda.is_bf16_supported():
        raise ValueError(f"this GPU ({torch.cuda.get_device_name(device)}) has no bfloat16 support: "
                         "use dtype=torch.float16 (or float32)")
    return dtype


def check_folder(folder: str | os.PathLike) -> Path:
    """The weights folder must hold transformer/, vae/ and scheduler/ (text_encoder/ and tokenizer/
    are optional). Raises FileNotFoundError naming what is missing."""
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise FileNotFoundError(f"CogVideoX weights folder {str(folder)!r} does not exist; {DOWNLOAD_HINT}")
    missing = [p for p in REQUIRED_PARTS if not (folder / p).is_dir()]
    if not missing and not (folder / "scheduler" / "scheduler_config.json").is_file():
        missing = ["scheduler/scheduler_config.json"]
    if missing:
        have = sorted(p.name for p in folder.iterdir())
        raise FileNotFoundError(
            f"{str(folder)!r} is not a complete CogVideoX folder: missing {missing} (it holds {have}). "
            f"A CogVideoX folder has {list(REQUIRED_PARTS)} and optionally {list(TEXT_PARTS)}; {DOWNLOAD_HINT}")
    index = folder / "model_index.json"
    if index.is_file():
        name = json.loads(index.read_text()).get("_class_name", "")
        if "ImageToVideo" in name:
            raise ValueError(f"{str(folder)!r} holds a {name} (image-to-video) checkpoint; minicog's scaled "
                             "path runs the text-to-video CogVideoX-2b / CogVideoX-5b checkpoints")
    return folder


def check_video_size(num_frames: int, height: int, width: int, temporal: int = 4, multiple: int = 16) -> None:
    """Frames must be 1 + 4k (the causal VAE keeps frame 0 alone and compresses 4× in time);
    height and width multiples of 16 (8× VAE downsampling × 2×2 transformer patches)."""
    if int(num_frames) != num_frames or num_frames < 1 or (num_frames - 1) % temporal:
        k = max(0, round((num_frames - 1) / temporal))
        raise ValueError(f"num_frames must be 1 + {temporal}k (e.g. {1 + temporal * k} or 49), got {num_frames}: "
                         f"the causal VAE encodes the first frame alone and then {temporal} frames per latent frame")
    for name, v in (("height", height), ("width", width)):
        if int(v) != v or v < multiple or v % multiple:
            near = max(multiple, round(v / multiple) * multiple)
            raise ValueError(f"{name} must be a multiple of {multiple} (the VAE downsamples 8× and the "
                             f"transformer uses 2×2 patches), got {v}; use e.g. {near}")


# ----------------------------------------------------------------------------- the pipeline

class CogVideoX:
    """Text-to-video with CogVideoX weights on minicog's VideoDiT / CausalVAE / CogVideoXDDIM.

    Attributes: `dit`, `vae`, `scheduler`, `text_encoder` and `tokenizer` (T5, loaded lazily from the
    folder), `device` (where computation runs), `dtype` (of all weights), `config` (sampling defaults).
    The interface mirrors the tiny `minicog.pipeline.Pipeline` (encode_prompt, velocity, encode_video,
    decode_latents, generate), so `minicog.editing` / FlowDirector drive both with the same code."""

    _MODELS = ("text_encoder", "dit", "vae")

    def __init__(self, dit: nn.Module, vae: nn.Module, scheduler, text_encoder: nn.Module | None = None,
                 tokenizer=None, device: str | torch.device = "auto", dtype: torch.dtype | str | None = None,
                 config: CogVideoXConfig | None = None, folder: str | os.PathLike | None = None,
                 cpu_offload: bool = False):
        self.device = resolve_device(device)
        self.dtype = resolve_dtype(dtype, self.device)
        if dit.config.in_channels != vae.latent_channels:
            raise ValueError(f"the transformer takes {dit.config.in_channels} input channels but the VAE makes "
                             f"{vae.latent_channels}-channel latents: image-to-video checkpoints are not "
                             "supported by this text-to-video pipeline")
        self.dit = dit.to(dtype=self.dtype).eval()
        self.vae = vae.to(dtype=self.dtype).eval()
        self.scheduler = scheduler
        self.config = config or CogVideoXConfig()
        self.folder = Path(folder) if folder is not None else None
        self._text_encoder = None if text_encoder is None else text_encoder.to(dtype=self.dtype).eval()
        self._tokenizer = tokenizer
        self.offload = bool(cpu_offload)
        self._placement: dict[str, torch.device] = {}
        for name in self._MODELS:
            if self._module(name) is not None:
                self._move(name, torch.device("cpu") if self.offload else self.device)
        self._s_min = float(scheduler.rf_time(0))        # RF time of DDPM timestep 0 (the cleanest query)

    @classmethod
    def from_pretrained(cls, folder: str | os.PathLike, device: str | torch.device = "auto",
                        dtype: torch.dtype | str | None = None, cpu_offload: bool = False,
                        config: CogVideoXConfig | None = None) -> "CogVideoX":
        """Read a diffusers-layout CogVideoX folder into minicog's modules.

        dtype None → bf16 on a CUDA GPU, fp32 on the CPU. The T5 text encoder and tokenizer load lazily
        (at the first `encode_prompt`) and only if the folder has them. cpu_offload=True: see
        `enable_model_cpu_offload`."""
        from .causal_vae import CausalVAE
        from .dit import VideoDiT
        from .scheduler import CogVideoXDDIM
        folder = check_folder(folder)
        dev = resolve_device(device)
        dt = resolve_dtype(dtype, dev)
        scheduler = CogVideoXDDIM.from_folder(folder / "scheduler")
        if scheduler.config.prediction_type != "v_prediction":
            warnings.warn(f"scheduler prediction_type is {scheduler.config.prediction_type!r}; CogVideoX "
                          "checkpoints are v-prediction models and velocity() assumes v-prediction")
        dit = VideoDiT.from_diffusers(folder / "transformer", device="cpu", dtype=dt)   # sharded + index json
        vae = CausalVAE.from_diffusers(folder / "vae", dtype=dt, device="cpu")
        if config is None:
            s, c = vae.spatial_compression, dit.config
            config = CogVideoXConfig(num_frames=c.sample_frames, height=c.sample_height * s,
                                     width=c.sample_width * s)
        return cls(dit, vae, scheduler, device=dev, dtype=dt, config=config, folder=folder,
                   cpu_offload=cpu_offload)

    # ------------------------------------------------------------------ text encoder (lazy, optional)
    @property
    def has_text_encoder(self) -> bool:
        if self._text_encoder is not None and self._tokenizer is not None:
            return True
        return self.folder is not None and all((self.folder / p).is_dir() for p in TEXT_PARTS)

    def _require_text(self, part: str) -> Path:
        path = self.folder / part if self.folder is not None else None
        if path is None or not path.is_dir():
            where = f"{str(self.folder)!r} has no {part}/" if self.folder is not None else f"no {part} was given"
            raise FileNotFoundError(
                f"{where}: prompts need the T5 text encoder and tokenizer (text_encoder/ and tokenizer/ of the "
                "official checkpoint). Without them, encode prompts elsewhere and call "
                "pipe.denoise(text_embeds, negative_text_embeds, latents)")
        return path

    @property
    def tokenizer(self):
        if self._tokenizer is None:
            from transformers import AutoTokenizer     # lazy: only the T5 side needs transformers
            self._tokenizer = AutoTokenizer.from_pretrained(str(self._require_text("tokenizer")))
        return self._tokenizer

    @tokenizer.setter
    def tokenizer(self, value):
        self._tokenizer = value

    @property
    def text_encoder(self) -> nn.Module:
        if self._text_encoder is None:
            path = self._require_text("text_encoder")
            from transformers import T5EncoderModel
            self._text_encoder = T5EncoderModel.from_pretrained(str(path), dtype=self.dtype).eval()
            self._placement.pop("text_encoder", None)
            self._move("text_encoder", torch.device("cpu") if self.offload else self.device)
        return self._text_encoder

    @text_encoder.setter
    def text_encoder(self, value):
        self._text_encoder = None if value is None else value.to(dtype=self.dtype).eval()
        self._placement.pop("text_encoder", None)
        if value is not None:
            self._move("text_encoder", torch.device("cpu") if self.offload else self.device)

    # ------------------------------------------------------------------ memory savers
    def _module(self, name: str) -> nn.Module | None:
        return self._text_encoder if name == "text_encoder" else getattr(self, name)

    def _move(self, name: str, device: torch.device) -> None:
        """Move one model (skipped when it is already there)."""
        if self._placement.get(name) == device:
            return
        self._module(name).to(device)
        self._placement[name] = device
        if device.type == "cpu" and self.device.type == "cuda":
            torch.cuda.empty_cache()

    def _use(self, name: str) -> nn.Module:
        """The model `name`, on the compute device. With model CPU offload every other model goes back
        to the CPU first, so only one of T5 / transformer / VAE occupies the GPU at a time."""
        module = self.text_encoder if name == "text_encoder" else self._module(name)
        if self.offload:
            for other in self._MODELS:
                if other != name and self._module(other) is not None:
                    self._move(other, torch.device("cpu"))
        self._move(name, self.device)
        return module

    def _release(self) -> None:
        """After a generation with offload: everything back on the CPU (diffusers' maybe_free_model_hooks)."""
        if self.offload:
            for name in self._MODELS:
                if self._module(name) is not None:
                    self._move(name, torch.device("cpu"))

    def enable_model_cpu_offload(self) -> None:
        """Keep T5, transformer and VAE in CPU memory and move each to the GPU only while it runs
        (peak = the largest model + its activations instead of all three; costs a few s of transfers)."""
        self.offload = True
        self._release()

    def disable_model_cpu_offload(self) -> None:
        self.offload = False
        for name in self._MODELS:
            if self._module(name) is not None:
                self._move(name, self.device)

    def enable_vae_tiling(self, tile_height: int | None = None, tile_width: int | None = None,
                          overlap_height: float = 1 / 6, overlap_width: float = 1 / 5) -> None:
        """Encode/decode frames as overlapping spatial tiles (CausalVAE.enable_tiling; default tiles are
        half the VAE's training size, 240×360 px). Tile sizes whose overlap does not fall on whole latent
        pixels would change the output size (as in diffusers) and are refused with a suggestion."""
        vae, s = self.vae, self.vae.spatial_compression
        tile_height, tile_width = tile_height or vae.tile_sample_height, tile_width or vae.tile_sample_width
        for name, px, ov in (("tile_height", tile_height, overlap_height), ("tile_width", tile_width, overlap_width)):
            if px % s == 0 and px >= 2 * s and not _tile_fits(px, ov, s):
                good = [p for p in range(2 * s, 4 * px + 1, s) if _tile_fits(p, ov, s)]
                near = sorted(good, key=lambda p: abs(p - px))[:3]
                raise ValueError(f"{name}={px} px with overlap {ov:.3g} does not tile evenly (after rounding to "
                                 f"latent pixels the tile stride and the kept part of each tile differ, so the "
                                 f"tiles would not line up and the video would change size); use e.g. "
                                 f"{name} in {sorted(near)}")
        vae.enable_tiling(tile_height, tile_width, overlap_height, overlap_width)

    def disable_vae_tiling(self) -> None:
        self.vae.disable_tiling()

    def enable_vae_frame_chunking(self, sample_frames: int | None = 8, latent_frames: int | None = 2) -> None:
        """Encode 8 frames / decode 2 latent frames at a time with the causal conv cache (on by default,
        as in diffusers)."""
        self.vae.enable_frame_chunking(sample_frames, latent_frames)

    def disable_vae_frame_chunking(self) -> None:
        self.vae.disable_frame_chunking()

    # ------------------------------------------------------------------ sizes
    @property
    def size_multiple(self) -> int:
        return self.vae.spatial_compression * self.dit.config.patch_size

    def _sizes(self, num_frames, height, width) -> tuple[int, int, int]:
        c = self.config
        sizes = (num_frames or c.num_frames or self.dit.config.sample_frames,
                 height or c.height or self.dit.config.sample_height * self.vae.spatial_compression,
                 width or c.width or self.dit.config.sample_width * self.vae.spatial_compression)
        check_video_size(*sizes, temporal=self.vae.temporal_compression, multiple=self.size_multiple)
        return sizes

    def _padding_frames(self, latent_frames: int) -> int:
        """CogVideoX 1.5 (patch_size_t = 2) pads the latent frames to a multiple of patch_size_t at the start."""
        p_t = self.dit.config.p_t
        return (p_t - latent_frames % p_t) % p_t

    def latent_shape(self, num_frames: int | None = None, height: int | None = None,
                     width: int | None = None) -> tuple[int, int, int, int]:
        """(C, T_latent, h, w) of the noise for a num_frames × height × width video (49×480×720 → (16, 13, 60, 90))."""
        F, H, W = self._sizes(num_frames, height, width)
        s, T = self.vae.spatial_compression, (F - 1) // self.vae.temporal_compression + 1
        return (self.vae.latent_channels, T + self._padding_frames(T), H // s, W // s)

    def noise(self, seed: int, num_frames: int | None = None, height: int | None = None,
              width: int | None = None, batch: int = 1) -> torch.Tensor:
        """Initial noise (batch, C, T, h, w), drawn on the CPU exactly as diffusers' pipeline draws it
        with `generator=torch.Generator().manual_seed(seed)` (in its (B, T, C, h, w) layout)."""
        C, T, h, w = self.latent_shape(num_frames, height, width)
        g = torch.Generator().manual_seed(int(seed))
        eps = torch.randn(batch, T, C, h, w, generator=g)
        return eps.permute(0, 2, 1, 3, 4).to(self.device, self.dtype)          # (B, C, T, h, w)

    # ------------------------------------------------------------------ text
    @torch.no_grad()
    def encode_prompt(self, prompts: str | Sequence[str], max_sequence_length: int | None = None
                      ) -> tuple[torch.Tensor, torch.Tensor]:
        """prompts → (embeds (B, 226, 4096), mask (B, 226) bool) as the official pipeline makes them:
        T5 tokens padded/truncated to max_sequence_length, the encoder run WITHOUT an attention mask,
        its last hidden state. The transformer attends to all 226 tokens, padding included, so `mask`
        (True on real tokens and </s>) is informational only (velocity/denoise ignore it)."""
        prompts = [prompts] if isinstance(prompts, str) else list(prompts)
        if not prompts or not all(isinstance(p, str) for p in prompts):
            raise ValueError("encode_prompt needs a string or a non-empty list of strings ('' for the null prompt)")
        L = max_sequence_length or self.config.max_sequence_length
        tok = self.tokenizer
        inputs = tok(prompts, padding="max_length", max_length=L, truncation=True,
                     add_special_tokens=True, return_tensors="pt")
        long = [p for p in prompts if len(tok(p).input_ids) > L]
        if long:
            warnings.warn(f"{len(long)} prompt(s) longer than max_sequence_length={L} tokens were truncated "
                          f"(as in the official pipeline): {long[0][:80]!r}...")
        te = self._use("text_encoder")
        ids = inputs.input_ids.to(self.device)
        embeds = te(ids)[0]                                                    # (B, L, d_model)
        return embeds.to(self.dtype), inputs.attention_mask.bool().to(self.device)

    def prompt_tokens(self, prompt: str, max_sequence_length: int | None = None) -> list[str]:
        """The token string at each of the 226 positions of `prompt` (for picking words' attention maps)."""
        L = max_sequence_length or self.config.max_sequence_length
        ids = self.tokenizer(prompt, padding="max_length", max_length=L, truncation=True).input_ids
        return self.tokenizer.convert_ids_to_tokens(ids)

    # ------------------------------------------------------------------ sampling
    @torch.no_grad()
    def denoise(self, text_embeds: torch.Tensor, negative_text_embeds: torch.Tensor | None,
                latents: torch.Tensor, steps: int | None = None, guidance: float | None = None,
                dynamic_cfg: bool | None = None, progress: bool = False,
                callback: Callable | None = None) -> torch.Tensor:
        """The official denoising loop: DDIM (η = 0) over trailing timesteps with classifier-free guidance.

        text_embeds, negative_text_embeds: (B, L, D) (negative needed when guidance > 1);
        latents: initial noise (B, C, T, h, w) (scheduler.init_noise_sigma = 1).
        dynamic_cfg: the official "dynamic CFG" g_t = 1 + g·(1 − cos(π((N − t)/N)^5))/2, with t the DDPM
        timestep exactly as diffusers/SAT compute it (see scheduler.dynamic_guidance_scale).
        callback(i, t, latents) runs after every step. Returns the final latents (B, C, T, h, w) — the
        quantity of diffusers' `output_type="latent"` (scaled latents; decode_latents divides by the
        VAE scaling factor)."""
        from tqdm.auto import tqdm

        from .scheduler import apply_cfg, dynamic_guidance_scale, model_timesteps
        steps = self.config.steps if steps is None else int(steps)
        guidance = self.config.guidance if guidance is None else float(guidance)
        dynamic_cfg = self.config.dynamic_cfg if dynamic_cfg is None else dynamic_cfg
        if not torch.is_tensor(latents) or latents.ndim != 5:
            raise ValueError("latents must be a (B, C, T, h, w) tensor (minicog's layout; diffusers' pipeline "
                             "uses (B, T, C, h, w): permute(0, 2, 1, 3, 4))")
        B = latents.shape[0]
        if latents.shape[1] != self.dit.config.in_channels:
            raise ValueError(f"latents have {latents.shape[1]} channels, the transformer expects "
                             f"{self.dit.config.in_channels}: pass (B, C, T, h, w), not diffusers' (B, T, C, h, w)")
        if text_embeds.ndim != 3 or text_embeds.shape[0] != B:
            raise ValueError(f"text_embeds must be (B={B}, L, D), got {tuple(text_embeds.shape)}")
        do_cfg = guidance > 1.0
        if do_cfg:
            if negative_text_embeds is None:
                raise ValueError(f"guidance={guidance} > 1 needs negative_text_embeds (e.g. the embedding of the "
                                 "empty prompt: pipe.encode_prompt([''])[0]); or use guidance=1")
            if negative_text_embeds.shape != text_embeds.shape:
                raise ValueError(f"negative_text_embeds {tuple(negative_text_embeds.shape)} must have the shape of "
                                 f"text_embeds {tuple(text_embeds.shape)}")
        dit = self._use("dit")
        sched = self.scheduler
        sched.set_timesteps(steps)
        x = latents.to(self.device, self.dtype)
        text = text_embeds.to(self.device, self.dtype)
        if do_cfg:  # one batched call per step: [uncond; cond]
            text = torch.cat([negative_text_embeds.to(self.device, self.dtype), text])
        for i, t in enumerate(tqdm(sched.timesteps, desc="denoise", disable=not progress, leave=False)):
            x_in = torch.cat([x, x]) if do_cfg else x
            out = dit(x_in, model_timesteps(t, x_in.shape[0], self.device), text).float()
            g = dynamic_guidance_scale(guidance, int(t), steps) if dynamic_cfg else guidance
            if do_cfg:
                out = apply_cfg(out, g)
            x = sched.step(out, t, x).to(self.dtype)
            if callback is not None:
                callback(i, int(t), x)
        return x

    @torch.no_grad()
    def generate(self, prompt: str | Sequence[str], negative_prompt: str | Sequence[str] = "",
                 num_frames: int | None = None, height: int | None = None, width: int | None = None,
                 steps: int | None = None, guidance: float | None = None, seed: int = 0,
                 dynamic_cfg: bool | None = None, progress: bool = True, callback: Callable | None = None,
                 return_latents: bool = False, check_memory: bool = True):
        """Text → uint8 video (T, H, W, 3) (a list of videos for a list of prompts).

        Sizes default to the checkpoint's training size (49 frames, 480×720 for 2B/5B); frames must be
        1 + 4k and height/width multiples of 16. The noise is diffusers' for the same seed (one
        generator for the whole batch, drawn on the CPU), so on CPU in fp32 the result equals
        `CogVideoXPipeline(..., generator=torch.Generator().manual_seed(seed))`. On a GPU the setting is
        checked against the free memory first (GPUMemoryError names the saver to turn on)."""
        single = isinstance(prompt, str)
        prompts = [prompt] if single else list(prompt)
        if not prompts or not all(isinstance(p, str) for p in prompts):
            raise ValueError("generate() needs a prompt string or a non-empty list of strings")
        negs = [negative_prompt] * len(prompts) if isinstance(negative_prompt, str) else list(negative_prompt)
        if len(negs) != len(prompts):
            raise ValueError(f"got {len(negs)} negative prompts for {len(prompts)} prompts")
        F, H, W = self._sizes(num_frames, height, width)
        guidance = self.config.guidance if guidance is None else float(guidance)
        B, do_cfg = len(prompts), guidance > 1.0
        if check_memory and self.device.type == "cuda":
            self.check_memory(F, H, W, batch=B, cfg=do_cfg)
        embeds, _ = self.encode_prompt(prompts + (negs if do_cfg else []))
        cond, uncond = embeds[:B], (embeds[B:] if do_cfg else None)
        latents = self.noise(seed, F, H, W, batch=B)
        z = self.denoise(cond, uncond, latents, steps, guidance, dynamic_cfg, progress, callback)
        z = z[:, :, self._padding_frames((F - 1) // self.vae.temporal_compression + 1):]
        videos = self.decode_latents(z)
        self._release()
        videos = [videos] if B == 1 else videos
        out = videos[0] if single else videos
        return (out, z) if return_latents else out

    # ------------------------------------------------------------------ VAE
    @torch.no_grad()
    def decode_latents(self, z: torch.Tensor):
        """Scaled latents (B, C, T, h, w) → uint8 video (T, H, W, 3), or a list when B > 1."""
        from .video import to_uint8
        vae = self._use("vae")
        x = vae.decode(z.to(self.device, self.dtype) / vae.scaling_factor)       # (B, 3, F, H, W)
        videos = [to_uint8(v) for v in x]
        return videos[0] if len(videos) == 1 else videos

    @torch.no_grad()
    def encode_video(self, video) -> torch.Tensor:
        """uint8 video (F, H, W, 3), F = 1 + 4k, H and W multiples of 16 → scaled latents (1, C, T, h, w)
        (the posterior mean times the scaling factor)."""
        from .video import to_tensor
        v = np.asarray(video)
        if v.ndim != 4 or v.shape[-1] != 3:
            raise ValueError(f"video must be uint8 (F, H, W, 3), got shape {v.shape}")
        check_video_size(v.shape[0], v.shape[1], v.shape[2], self.vae.temporal_compression, self.size_multiple)
        vae = self._use("vae")
        x = to_tensor(v)[None].to(self.device, self.dtype)                      # (1, 3, F, H, W)
        return vae.encode(x).mean * vae.scaling_factor

    # ------------------------------------------------------------------ rectified-flow view (editing)
    def _ab(self, s: torch.Tensor, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """a = sqrt(ᾱ), b = sqrt(1 − ᾱ) of the VP state whose RF time is s: b/a = s/(1 − s), a² + b² = 1."""
        shape = (-1, *([1] * (like.ndim - 1)))
        norm = ((1 - s) ** 2 + s ** 2).rsqrt()
        a, b = (1 - s) * norm, s * norm
        return a.reshape(shape).to(like.device), b.reshape(shape).to(like.device)

    @torch.no_grad()
    def velocity(self, z: torch.Tensor, t: torch.Tensor | float, embeds: torch.Tensor,
                 mask: torch.Tensor | None = None) -> torch.Tensor:
        """The pretrained v-prediction model as a rectified-flow velocity u(z, s) (minicog's convention:
        z = (1 − s)·x0 + s·ε, u = ε − x0, s = 1 noise, s = 0 data) on scaled latents z (B, C, T, h, w).

        For RF time s: the VP state is x = (a + b)·z with a = (1 − s)/r, b = s/r, r = sqrt((1 − s)² + s²);
        the transformer runs at the (fractional) DDPM timestep with the same noise level
        (`scheduler.timestep_for_rf_time`) and its v becomes u = (b − a)·x + (a + b)·v
        (= `scheduler.v_to_velocity`): x̂0 = a·x − b·v, ε̂ = b·x + a·v, u = ε̂ − x̂0. With this, RF Euler on
        the grid s_i = rf_time(t_i) IS the official DDIM sampler (tested). Below s(0) = rf_time(0) ≈ 0.05
        (cleaner than any training timestep) the model is queried at timestep 0. `mask` is ignored: the
        official model attends to all 226 text tokens."""
        s = torch.as_tensor(t, dtype=torch.float64).detach().reshape(-1).cpu()
        if s.numel() == 1:
            s = s.expand(z.shape[0])
        if s.shape != (z.shape[0],):
            raise ValueError(f"t must be a scalar or (B,)=({z.shape[0]},) RF times, got shape {tuple(s.shape)}")
        if ((s < 0) | (s > 1)).any():
            raise ValueError(f"RF time must lie in [0, 1] (0 = data, 1 = noise), got {s.tolist()}")
        timestep = self.scheduler.timestep_for_rf_time(s.clamp(min=self._s_min))   # (B,) fractional
        a, b = self._ab(s, z)
        dit = self._use("dit")
        x = ((a + b) * z.double()).to(self.dtype)                                 # VP state
        v = dit(x, timestep.to(self.device, torch.float32), embeds.to(self.device, self.dtype)).double()
        return ((b - a) * x.double() + (a + b) * v).to(torch.float32)

    def velocity_model(self, x: torch.Tensor, t: torch.Tensor, cond) -> torch.Tensor:
        """`velocity` in the (x, t, cond=(embeds, mask)) form `rectified_flow.sample` expects."""
        embeds, mask = cond if isinstance(cond, (tuple, list)) else (cond, None)
        return self.velocity(x, t, embeds, mask)

    def rf_grid(self, steps: int | None = None) -> torch.Tensor:
        """The RF times s_i = rf_time(t_i) of the official DDIM timesteps, ending at 0 (float64, (steps+1,)):
        `rectified_flow.sample(pipe.velocity_model, noise, ..., times=pipe.rf_grid(50))` reproduces `denoise`."""
        sched = self.scheduler
        ts = sched.set_timesteps(self.config.steps if steps is None else steps).cpu()
        prev = [max(sched.prev_timestep(int(t)), -1) for t in ts]
        if prev[:-1] != [int(t) for t in ts[1:]]:
            raise ValueError(f"{len(ts)} steps do not divide {sched.config.num_train_timesteps}: DDIM's "
                             "previous timesteps are not the next grid points; pick steps dividing it")
        s = sched.rf_time(ts)
        return torch.cat([s.reshape(-1), torch.zeros(1, dtype=torch.float64)])

    def edit(self, video, source_prompt: str, target_prompt: str, seed: int = 0,
             method: str = "flowdirector", **kw):
        """Edit a uint8 video from `source_prompt` to `target_prompt` with FlowDirector / FlowEdit /
        inversion / SDEdit (`minicog.editing.edit`), driving `velocity` exactly as on the tiny model."""
        from . import editing
        return editing.edit(self, video, source_prompt=source_prompt, target_prompt=target_prompt,
                            seed=seed, method=method, **kw)

    def token_indices(self, prompt: str, words: Sequence[str]) -> list[int]:
        """Positions of `words` among the T5 tokens of `prompt` (the text axis of the DiT's attention maps):
        each word is tokenized as it appears mid-sentence (with its leading "▁")."""
        seq = self.tokenizer(prompt, add_special_tokens=True)["input_ids"]
        out: list[int] = []
        for w in words:
            sub = self.tokenizer(w, add_special_tokens=False)["input_ids"]
            at = next((i for i in range(len(seq) - len(sub) + 1) if sub and seq[i:i + len(sub)] == sub), None)
            if at is None:
                raise ValueError(f"word {w!r} is not in the prompt {prompt!r} (tokens "
                                 f"{self.tokenizer.convert_ids_to_tokens(seq)}); pass words of the prompt")
            out += [i for i in range(at, at + len(sub)) if i not in out]
        return out

    def save_video(self, video, path: str | os.PathLike, fps: int | None = None) -> Path:
        """Write a uint8 video as .mp4 (or .gif) at `config.fps` (8, CogVideoX's frame rate)."""
        return save_video(video, path, fps=fps or self.config.fps)

    # ------------------------------------------------------------------ memory
    def estimate_memory(self, num_frames: int | None = None, height: int | None = None,
                        width: int | None = None, batch: int = 1, cfg: bool = True, **overrides) -> "MemoryEstimate":
        """Computed peak GPU memory of generating with the current settings (or `overrides`: dtype,
        offload, vae_chunking, vae_tiling, attention) — see `estimate_memory` (module level)."""
        F, H, W = self._sizes(num_frames, height, width)
        vae = self.vae
        settings = dict(dtype=self.dtype, offload=self.offload, vae_chunking=vae.chunk_latent_frames is not None,
                        vae_tiling=vae.use_tiling, attention="flash")
        settings.update(overrides)
        t5 = self._t5_config()
        return estimate_memory(self.dit.config, vae.config, F, H, W, batch=batch, cfg=cfg, t5=t5,
                               text_len=self.config.max_sequence_length,
                               vae_chunk_latent_frames=vae.chunk_latent_frames or 2,
                               vae_tile=(vae.tile_sample_height, vae.tile_sample_width, *vae.tile_overlap),
                               **settings)

    def _t5_config(self) -> dict | None:
        if self._text_encoder is not None:
            c = self._text_encoder.config
            return {k: getattr(c, k) for k in T5_XXL}
        if self.folder is not None and (self.folder / "text_encoder" / "config.json").is_file():
            c = json.loads((self.folder / "text_encoder" / "config.json").read_text())
            return {k: c.get(k, v) for k, v in T5_XXL.items()}
        return None

    def check_memory(self, num_frames: int | None = None, height: int | None = None, width: int | None = None,
                     batch: int = 1, cfg: bool = True, available: int | None = None) -> "MemoryEstimate":
        """Raise GPUMemoryError when the computed peak (+10 % and 0.5 GiB for the CUDA context and
        fragmentation) exceeds `available` bytes (default: this GPU's free memory plus what this process
        already holds). The message names the cheapest saver(s) that make it fit."""
        est = self.estimate_memory(num_frames, height, width, batch, cfg)
        if available is None:
            if self.device.type != "cuda":
                return est
            free, _ = torch.cuda.mem_get_info(self.device)
            available = free + torch.cuda.memory_reserved(self.device)
        if _with_margin(est.peak) <= available:
            return est
        current = dict(dtype=self.dtype, offload=self.offload, vae_chunking=self.vae.chunk_latent_frames is not None,
                       vae_tiling=self.vae.use_tiling)
        savers = [("vae_chunking", True, "pipe.enable_vae_frame_chunking()"),
                  ("vae_tiling", True, "pipe.enable_vae_tiling()"),
                  ("offload", True, "pipe.enable_model_cpu_offload()"),
                  ("dtype", torch.bfloat16, "dtype=torch.bfloat16 in from_pretrained (half the weight memory)")]
        savers = [s for s in savers if current[s[0]] != s[1]]
        gib = lambda n: f"{n / 2**30:.1f} GiB"                                       # noqa: E731
        advice = None
        for k, value, how in savers:                                               # one saver enough?
            e = self.estimate_memory(num_frames, height, width, batch, cfg, **{k: value})
            if _with_margin(e.peak) <= available:
                advice = f"turn on {how} (peak → {gib(e.peak)})"
                break
        if advice is None and savers:                                              # all of them?
            e = self.estimate_memory(num_frames, height, width, batch, cfg, **{k: v for k, v, _ in savers})
            if _with_margin(e.peak) <= available:
                advice = "turn on " + " and ".join(h for _, _, h in savers) + f" (peak → {gib(e.peak)})"
        if advice is None:
            advice = ("even with every saver on it does not fit: generate fewer frames or a smaller size, "
                      "or use a larger GPU")
        raise GPUMemoryError(
            f"generating {batch}×{self._sizes(num_frames, height, width)} (frames, height, width) needs about "
            f"{gib(est.peak)} of GPU memory at the peak ({est.peak_stage}; computed, +10 % margin) but "
            f"{gib(available)} are available: {advice}. Pass check_memory=False to try anyway.")

    # ------------------------------------------------------------------ misc
    def num_params(self) -> dict[str, int]:
        n = lambda m: sum(p.numel() for p in m.parameters())                       # noqa: E731
        out = {"transformer": n(self.dit), "vae": n(self.vae)}
        if self._text_encoder is not None:
            out["text_encoder"] = n(self._text_encoder)
        return out

    def __repr__(self) -> str:
        p = ", ".join(f"{k}={v / 1e6:.4g}M" for k, v in self.num_params().items())
        return (f"CogVideoX(folder={str(self.folder)!r}, device={self.device}, dtype={self.dtype}, {p}, "
                f"offload={self.offload}, vae_tiling={self.vae.use_tiling}, scheduler={self.scheduler})")


def _tile_fits(px: int, overlap: float, s: int) -> bool:
    """Whether tiles of `px` pixels with this overlap line up in CausalVAE's (and diffusers') tiled
    encode and decode: the stride of the input tiles equals what is kept of each output tile."""
    lat = px // s
    decode_ok = int(lat * (1 - overlap)) * s == px - int(px * overlap)
    encode_ok = int(px * (1 - overlap)) == (lat - int(lat * overlap)) * s
    return decode_ok and encode_ok


def _with_margin(n: int) -> float:
    return 1.1 * n + 0.5 * 2**30


# ----------------------------------------------------------------------------- memory arithmetic
# Peak GPU memory = weights resident on the GPU + the largest set of activations alive at one time.
# Weights: parameter counts × bytes per parameter. Activations: traced on the *meta* device — the real
# modules run on shape-only tensors while a dispatch mode adds up the bytes of every tensor alive
# (freed when Python drops it), so the number follows the actual code (chunks, tiles, caches) and
# costs no memory. Labelled "computed, not measured" wherever it is shown.

T5_XXL = dict(vocab_size=32128, d_model=4096, d_kv=64, num_heads=64, d_ff=10240, num_layers=24)


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


class _LiveTensorBytes:
    """Counts bytes of tensors alive during a computation (peak included), via a TorchDispatchMode.
    Storages shared by views count once; a storage is freed when its last tracked tensor dies.
    Tensors that exist before the trace (weights, inputs) are not counted."""

    def __init__(self):
        from torch.utils._python_dispatch import TorchDispatchMode

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
        from torch.utils._pytree import tree_flatten
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
    with torch.no_grad(), _LiveTensorBytes() as tracker:
        out = fn()
        del out
    return tracker.peak


@contextmanager
def _flash_attention():
    """Trace attention as a fused kernel (FlashAttention / memory-efficient SDPA, what a GPU uses):
    only the output is materialised, never the (L+N)² score matrix."""
    import torch.nn.functional as F
    original = F.scaled_dot_product_attention

    def fused(q, k, v, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None, **kw):
        return q.new_empty(*q.shape[:-1], v.shape[-1])

    F.scaled_dot_product_attention = fused
    try:
        yield
    finally:
        F.scaled_dot_product_attention = original


def _key(cfg) -> str:
    d = cfg.to_dict() if hasattr(cfg, "to_dict") else asdict(cfg)
    return json.dumps(d, sort_keys=True, default=str)


@lru_cache(maxsize=64)
def _model_params(kind: str, cfg_json: str) -> int:
    from .causal_vae import CausalVAE, VAEConfig
    from .dit import DiTConfig, VideoDiT
    d = json.loads(cfg_json)
    with torch.device("meta"):
        m = VideoDiT(DiTConfig.from_dict(d)) if kind == "dit" else CausalVAE(VAEConfig(**d))
    return sum(p.numel() for p in m.parameters())


@lru_cache(maxsize=64)
def _dit_activations(cfg_json: str, shape: tuple, text_len: int, batch: int, dtype: str, attention: str) -> int:
    from .dit import DiTConfig, VideoDiT
    d = json.loads(cfg_json)
    d["num_layers"] = min(2, d["num_layers"])          # every layer has the same activations
    dt = getattr(torch, dtype)
    with torch.device("meta"):
        model = VideoDiT(DiTConfig.from_dict(d)).to(dt)
        x = torch.empty(batch, *shape, dtype=dt)
        text = torch.empty(batch, text_len, d["text_embed_dim"], dtype=dt)
        t = torch.zeros(batch, dtype=torch.int64)
    with (_flash_attention() if attention == "flash" else nullcontext()):
        peak = trace_peak_bytes(lambda: model(x, t, text))
    return peak + x.nbytes + text.nbytes


@lru_cache(maxsize=64)
def _vae_decode_activations(cfg_json: str, shape: tuple, batch: int, dtype: str, chunk: int | None,
                            tile: tuple | None) -> int:
    from .causal_vae import CausalVAE, VAEConfig
    d = json.loads(cfg_json)
    dt = getattr(torch, dtype)
    with torch.device("meta"):
        vae = CausalVAE(VAEConfig(**d)).to(dt)
        z = torch.empty(batch, *shape, dtype=dt)
    vae.enable_frame_chunking(vae.chunk_sample_frames, chunk) if chunk else vae.disable_frame_chunking()
    if tile is None:
        return trace_peak_bytes(lambda: vae.decode(z)) + z.nbytes
    vae.enable_tiling(tile[0], tile[1], tile[2], tile[3])
    with _LiveTensorBytes() as tracker, torch.no_grad():
        if hasattr(vae, "_decode_frames"):
            vae._decode_frames = _memoized_call(vae._decode_frames, tracker)
        out = vae.decode(z)
        del out
    return tracker.peak + z.nbytes


def _memoized_call(fn: Callable, tracker: "_LiveTensorBytes") -> Callable:
    """Tiles of the same shape cost the same: trace `fn` once per input shape, then replay its transient
    peak and return an empty output of the recorded shape (a 2-4× faster trace of tiled decoding)."""
    seen: dict = {}

    def call(x):
        key = (tuple(x.shape), x.dtype)
        if key not in seen:
            live, before = tracker.live, tracker.peak
            tracker.peak = live                                  # measure this call's own peak
            out = fn(x)
            seen[key] = (tracker.peak - live, tuple(out.shape))
            tracker.peak = max(tracker.peak, before)
            return out
        transient, shape = seen[key]
        tracker.peak = max(tracker.peak, tracker.live + transient)
        return x.new_empty(shape)
    return call


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


def estimate_memory(dit_config, vae_config, num_frames: int = 49, height: int = 480, width: int = 720,
                    dtype: torch.dtype = torch.bfloat16, batch: int = 1, cfg: bool = True,
                    t5: dict | None = T5_XXL, text_len: int = 226, offload: bool = False,
                    vae_chunking: bool = True, vae_chunk_latent_frames: int = 2, vae_tiling: bool = False,
                    vae_tile: tuple | None = None, attention: str = "flash", setting: str = "") -> MemoryEstimate:
    """Peak GPU memory of text → video with these configs and savers (computed, not measured).

    Weights: parameter counts (the modules built on the meta device; T5 from its config) × bytes.
    Activations: T5 from `t5_activation_bytes`; the transformer (batch 2B with CFG: [uncond; cond]) and the
    VAE decoder traced on the meta device at this exact size (`trace_peak_bytes`). attention="flash"
    traces the fused SDPA a GPU runs; "math" materialises the (L+N)² attention matrix."""
    if attention not in ("flash", "math"):
        raise ValueError(f"attention must be 'flash' or 'math', got {attention!r}")
    dtype = _DTYPES.get(dtype, dtype) if isinstance(dtype, str) else dtype
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
    B = batch * (2 if cfg else 1)
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


MEMORY_SETTINGS = (
    ("fp32, no savers", dict(dtype=torch.float32, vae_chunking=False)),
    ("bf16", dict(dtype=torch.bfloat16, vae_chunking=False)),
    ("bf16 + VAE frame chunking (default)", dict(dtype=torch.bfloat16)),
    ("bf16 + chunking + VAE tiling", dict(dtype=torch.bfloat16, vae_tiling=True)),
    ("bf16 + chunking + model CPU offload", dict(dtype=torch.bfloat16, offload=True)),
    ("bf16 + chunking + tiling + offload", dict(dtype=torch.bfloat16, vae_tiling=True, offload=True)),
)


def preset_configs(name: str):
    """(DiTConfig, VAEConfig) of "2b" or "5b"."""
    from .causal_vae import VAEConfig
    from .dit import DiTConfig
    if name not in ("2b", "5b"):
        raise ValueError(f"unknown preset {name!r}: use '2b' or '5b'")
    return ((DiTConfig.cogvideox_2b(), VAEConfig.cogvideox_2b()) if name == "2b"
            else (DiTConfig.cogvideox_5b(), VAEConfig.cogvideox_5b()))


def memory_table(presets: Sequence[str] = ("2b", "5b"), num_frames: int = 49, height: int = 480,
                 width: int = 720, settings=MEMORY_SETTINGS, gpu_gib: float = 24.0) -> str:
    """Markdown table of the computed peak GPU memory of each saver setting (one 49×480×720 video, CFG)."""
    head = ["model", "setting", "T5 stage", "transformer stage", "VAE stage", "peak", f"fits {gpu_gib:g} GB?"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for p in presets:
        dit_cfg, vae_cfg = preset_configs(p)
        for name, kw in settings:
            e = estimate_memory(dit_cfg, vae_cfg, num_frames, height, width, setting=name, **kw)
            sp = e.stage_peaks()
            g = lambda n: f"{n / 2**30:.1f} GiB"                                # noqa: E731
            fits = "yes" if _with_margin(e.peak) <= gpu_gib * 1e9 else "no"
            lines.append(f"| {p.upper()} | {name} | {g(sp['text_encoder'])} | {g(sp['transformer'])} | "
                         f"{g(sp['vae'])} | **{g(e.peak)}** | {fits} |")
    return "\n".join(lines)


def estimate_memory_for_folder(folder: str | os.PathLike, num_frames: int | None = None,
                               height: int | None = None, width: int | None = None, **kw) -> MemoryEstimate:
    """`estimate_memory` from a weights folder's config files only (no weights are read)."""
    from .causal_vae import VAEConfig
    from .dit import DiTConfig
    folder = check_folder(folder)
    dit_cfg = DiTConfig.from_diffusers_config(json.loads((folder / "transformer" / "config.json").read_text()))
    vae_cfg = VAEConfig.from_diffusers_config(json.loads((folder / "vae" / "config.json").read_text()))
    t5 = None
    if (folder / "text_encoder" / "config.json").is_file():
        c = json.loads((folder / "text_encoder" / "config.json").read_text())
        t5 = {k: c.get(k, v) for k, v in T5_XXL.items()}
    s = 2 ** (len(vae_cfg.block_out_channels) - 1)
    return estimate_memory(dit_cfg, vae_cfg, num_frames or dit_cfg.sample_frames,
                           height or dit_cfg.sample_height * s, width or dit_cfg.sample_width * s, t5=t5, **kw)


# ----------------------------------------------------------------------------- command line

def main(argv: Sequence[str] | None = None) -> int:
    """python -m minicog.cogvideox --weights DIR --prompt "..." --out out.mp4"""
    ap = argparse.ArgumentParser(prog="python -m minicog.cogvideox",
                                 description="Text to video with CogVideoX weights on minicog's modules.")
    ap.add_argument("--weights", required=True, help="CogVideoX folder (transformer/, vae/, scheduler/, "
                    "text_encoder/, tokenizer/), e.g. from `huggingface-cli download THUDM/CogVideoX-2b`")
    ap.add_argument("--prompt", help="text prompt (required unless --memory)")
    ap.add_argument("--negative-prompt", default="")
    ap.add_argument("--out", default="out.mp4", help="output .mp4 (or .gif), written at --fps")
    ap.add_argument("--frames", type=int, default=None, help="1 + 4k frames (default: the checkpoint's, 49)")
    ap.add_argument("--height", type=int, default=None, help="multiple of 16 (default 480)")
    ap.add_argument("--width", type=int, default=None, help="multiple of 16 (default 720)")
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--guidance", type=float, default=6.0)
    ap.add_argument("--dynamic-cfg", action="store_true", help="the official dynamic CFG schedule")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--dtype", default="auto", help="auto (bf16 on GPU, fp32 on CPU), bf16, fp16, fp32")
    ap.add_argument("--offload", action="store_true", help="model CPU offload (one model on the GPU at a time)")
    ap.add_argument("--vae-tiling", action="store_true", help="decode in overlapping spatial tiles")
    ap.add_argument("--no-frame-chunking", action="store_true", help="decode the whole clip at once")
    ap.add_argument("--fps", type=int, default=8)
    ap.add_argument("--memory", action="store_true", help="print the computed peak GPU memory and exit")
    args = ap.parse_args(argv)
    try:
        if args.memory:
            if args.dtype != "auto" and args.dtype not in _DTYPES:
                raise ValueError(f"unknown --dtype {args.dtype!r}: use auto, bf16, fp16 or fp32")
            dt = torch.bfloat16 if args.dtype == "auto" else _DTYPES[args.dtype]   # the GPU's dtype
            print(estimate_memory_for_folder(args.weights, args.frames, args.height, args.width, dtype=dt,
                                             offload=args.offload, vae_tiling=args.vae_tiling,
                                             vae_chunking=not args.no_frame_chunking, setting="this setting"))
            return 0
        if not args.prompt:
            ap.error("--prompt is required (or pass --memory)")
        if Path(args.out).suffix.lower() not in (".mp4", ".gif"):
            raise ValueError(f"--out must end in .mp4 or .gif, got {args.out!r}")
        pipe = CogVideoX.from_pretrained(args.weights, device=args.device,
                                         dtype=None if args.dtype == "auto" else args.dtype,
                                         cpu_offload=args.offload)
        if args.vae_tiling:
            pipe.enable_vae_tiling()
        if args.no_frame_chunking:
            pipe.disable_vae_frame_chunking()
        video = pipe.generate(args.prompt, negative_prompt=args.negative_prompt, num_frames=args.frames,
                              height=args.height, width=args.width, steps=args.steps, guidance=args.guidance,
                              seed=args.seed, dynamic_cfg=args.dynamic_cfg, progress=True)
        path = save_video(video, args.out, fps=args.fps)
        print(f"wrote {path} ({video.shape[0]} frames, {video.shape[2]}x{video.shape[1]}, {args.fps} fps)")
        return 0
    except (ValueError, FileNotFoundError, GPUMemoryError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
