"""The scaled path: real CogVideoX weights (2B / 5B) from a local folder, on minicog's own modules.

    pipe = minicog.CogVideoX.from_pretrained("/weights/CogVideoX-5b")     # diffusers folder layout
    pipe.enable_model_cpu_offload(); pipe.enable_vae_tiling()           # for a 24 GB GPU
    video = pipe.generate("a panda playing guitar in a bamboo forest", seed=0)   # uint8 (49, 480, 720, 3)
    minicog.save_video(video, "panda.mp4")                               # 8 fps

or `python -m minicog.cogvideox --weights DIR --prompt "..." --out out.mp4` (`minicog.cogvideox_cli`).

The folder is the one of the official checkpoints (`huggingface-cli download THUDM/CogVideoX-5b
--local-dir DIR`): `transformer/` (config.json + sharded safetensors with an index json) → minicog's
`VideoDiT`; `vae/` → minicog's `CausalVAE`; `scheduler/scheduler_config.json` → the sampler its
`_class_name` names (`minicog.scheduler.load_scheduler`: CogVideoXDDIM for 2B/5B, CogVideoXDPM for 1.5;
classes and fields it does not implement are refused);
`text_encoder/` + `tokenizer/` (T5-XXL) → loaded lazily with `transformers`, and optional: without
them the pipeline still denoises from given text embeddings (`denoise`).

Sampling is the official pipeline's (CogVideoX §3 / diffusers' `CogVideoXPipeline`): the prompt is
tokenized to the transformer's `max_text_seq_length` (226 for the official checkpoints; padded, and the
transformer attends to all of them), T5's last hidden state conditions the DiT, noise
(B, C, 1+(F−1)/4, H/8, W/8) is drawn from the seed's generator (which a DPM scheduler keeps drawing its step
noise from), 50 steps with classifier-free guidance 6 (optionally the official "dynamic CFG",
`dynamic_guidance=True`), then the VAE decodes latents / scaling_factor. `denoise` matches diffusers to
< 1e-4 relative error in fp32 (tests).

Reading the folder (checks, dtype, the lazily loaded T5) is `minicog.cogvideox_weights`; model CPU
offload (only the model in use sits on the GPU) is `minicog.offload`.

Memory (docs/scaled_path.md): bf16 weights, the VAE's frame chunking and spatial tiling, and model CPU
offload. `estimate_memory` computes the peak GPU memory of a setting with `minicog.memory` (parameter
counts and a trace of activation sizes on the meta device, no memory used); `generate` refuses to start
on a GPU that is too small and says which saver to turn on.

FlowDirector / RF editing run on this pipeline through `velocity(z, s, embeds)`: the VP v-prediction
of the pretrained model converted into a rectified-flow velocity (see `minicog.scheduler`). Editing takes
a pipeline: `minicog.edit` is imported only when `CogVideoX.edit` is called.
"""
from __future__ import annotations

import os
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch
import torch.nn as nn
from tqdm.auto import tqdm

from .cogvideox_weights import (TEXT_PARTS, check_channels, check_folder, folder_t5, load_models, load_text_encoder,
                                load_tokenizer, resolve_dtype)
from .memory import GPUMemoryError, MemoryEstimate, estimate_memory, saver_advice, t5_dims, with_margin
from .offload import ModelOffload
from .rectified_flow import text_conditioned
from .scheduler import apply_guidance, dynamic_guidance_scale, model_timesteps
from .sizes import check_video_size
from .text_encoder import token_positions
from .utils import as_batch, resolve_device
from .video import save_video, to_tensor, to_uint8


# ----------------------------------------------------------------------------- config

@dataclass
class CogVideoXConfig:
    """Sampling defaults of the official pipeline (diffusers `CogVideoXPipeline.__call__`).

    num_frames / height / width of None mean "the checkpoint's training size" (the transformer's
    sample_frames and 8·sample_height × 8·sample_width: 49 × 480 × 720 for 2B and 5B);
    max_sequence_length None means the transformer's max_text_seq_length (226 for the official ones)."""
    num_frames: int | None = None
    height: int | None = None
    width: int | None = None
    steps: int = 50
    guidance: float = 6.0
    dynamic_guidance: bool = False      # the official "dynamic CFG" (scheduler.dynamic_guidance_scale)
    max_sequence_length: int | None = None
    fps: int = 8

    @classmethod
    def cogvideox_2b(cls, **overrides) -> "CogVideoXConfig":
        return cls(**{**dict(num_frames=49, height=480, width=720), **overrides})

    @classmethod
    def cogvideox_5b(cls, **overrides) -> "CogVideoXConfig":
        return cls(**{**dict(num_frames=49, height=480, width=720), **overrides})


# ----------------------------------------------------------------------------- the pipeline

class CogVideoX:
    """Text-to-video with CogVideoX weights on minicog's VideoDiT / CausalVAE / scheduler (DDIM or DPM).

    Attributes: `dit`, `vae`, `scheduler`, `text_encoder` and `tokenizer` (T5, loaded lazily from the
    folder), `device` (where computation runs), `dtype` (of all weights), `config` (sampling defaults).
    The interface mirrors the tiny `minicog.pipeline.Pipeline` (encode_prompt, velocity, encode_video,
    decode_latents, generate), so `minicog.editing` / FlowDirector drive both with the same code."""

    def __init__(self, dit: nn.Module, vae: nn.Module, scheduler, text_encoder: nn.Module | None = None,
                 tokenizer=None, *, device: str | torch.device = "auto", dtype: torch.dtype | str | None = None,
                 config: CogVideoXConfig | None = None, folder: str | os.PathLike | None = None,
                 cpu_offload: bool = False):
        self.device = resolve_device(device)
        self.dtype = resolve_dtype(dtype, self.device)
        check_channels(dit, vae)
        self.dit = dit.to(dtype=self.dtype).eval()
        self.vae = vae.to(dtype=self.dtype).eval()
        self.scheduler = scheduler
        self.config = config or CogVideoXConfig()
        self.folder = Path(folder) if folder is not None else None
        self._text_encoder = None if text_encoder is None else text_encoder.to(dtype=self.dtype).eval()
        self._tokenizer = tokenizer
        self._offload = ModelOffload(self.device, enabled=cpu_offload)
        for name, module in self._loaded().items():
            if module is not None:
                self._offload.place(name, module)

    @classmethod
    def from_pretrained(cls, folder: str | os.PathLike, device: str | torch.device = "auto",
                        dtype: torch.dtype | str | None = None, cpu_offload: bool = False,
                        config: CogVideoXConfig | None = None) -> "CogVideoX":
        """Read a diffusers-layout CogVideoX folder into minicog's modules (`minicog.cogvideox_weights`).

        dtype None → bf16 on a CUDA GPU, fp32 on the CPU. The T5 text encoder and tokenizer load lazily
        (at the first `encode_prompt`) and only if the folder has them. cpu_offload=True: see
        `enable_model_cpu_offload`."""
        folder = check_folder(folder)
        dev = resolve_device(device)
        dt = resolve_dtype(dtype, dev)
        dit, vae, scheduler = load_models(folder, dt)
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

    @property
    def tokenizer(self):
        if self._tokenizer is None:
            self._tokenizer = load_tokenizer(self.folder)
        return self._tokenizer

    @tokenizer.setter
    def tokenizer(self, value):
        self._tokenizer = value

    @property
    def text_encoder(self) -> nn.Module:
        if self._text_encoder is None:
            self._text_encoder = load_text_encoder(self.folder, self.dtype)
            self._offload.place("text_encoder", self._text_encoder)
        return self._text_encoder

    @text_encoder.setter
    def text_encoder(self, value):
        self._text_encoder = None if value is None else value.to(dtype=self.dtype).eval()
        self._offload.placement.pop("text_encoder", None)
        if value is not None:
            self._offload.place("text_encoder", self._text_encoder)

    # ------------------------------------------------------------------ memory savers (minicog.offload)
    def _loaded(self) -> dict[str, nn.Module | None]:
        """The three models by name, T5 None while it is not loaded (nothing is loaded here)."""
        return {"text_encoder": self._text_encoder, "dit": self.dit, "vae": self.vae}

    def _use(self, name: str) -> nn.Module:
        """The model `name` on the compute device (T5 loaded first if needed). With model CPU offload every
        other model goes back to the CPU first, so only one of T5 / transformer / VAE occupies the GPU."""
        t5 = self.text_encoder if name == "text_encoder" else self._text_encoder   # T5 loads at its first use
        return self._offload.use(name, {"text_encoder": t5, "dit": self.dit, "vae": self.vae})

    def _release(self) -> None:
        """After a generation with offload: everything back on the CPU (diffusers' maybe_free_model_hooks)."""
        self._offload.release(self._loaded())

    @property
    def offload(self) -> bool:
        """Whether model CPU offload is on."""
        return self._offload.enabled

    def enable_model_cpu_offload(self) -> None:
        """Keep T5, transformer and VAE in CPU memory and move each to the GPU only while it runs
        (peak = the largest model + its activations instead of all three; costs a few s of transfers)."""
        self._offload.enable(self._loaded())

    def disable_model_cpu_offload(self) -> None:
        self._offload.disable(self._loaded())

    def enable_vae_tiling(self, tile_height: int | None = None, tile_width: int | None = None,
                          overlap_height: float = 1 / 6, overlap_width: float = 1 / 5) -> None:
        """Encode/decode frames as overlapping spatial tiles (CausalVAE.enable_tiling; default tiles are
        half the VAE's training size, 240×360 px). Tile sizes whose overlap does not fall on whole latent
        pixels would change the output size (as in diffusers) and are refused with a suggestion."""
        vae = self.vae
        tile_height, tile_width = tile_height or vae.tile_sample_height, tile_width or vae.tile_sample_width
        vae.check_tiles_line_up(tile_height, tile_width, overlap_height, overlap_width)
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
        return check_video_size(*sizes, temporal=self.vae.temporal_compression, multiple=self.size_multiple)

    @property
    def text_length(self) -> int:
        """Tokens per prompt: `config.max_sequence_length`, by default the transformer's max_text_seq_length
        (226 for the official checkpoints), the length diffusers' sincos-position transformer requires."""
        return self.config.max_sequence_length or self.dit.config.max_text_len

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

    def noise(self, seed: int | None, num_frames: int | None = None, height: int | None = None,
              width: int | None = None, batch: int = 1, generator: torch.Generator | None = None) -> torch.Tensor:
        """Initial noise (batch, C, T, h, w), drawn on the CPU exactly as diffusers' pipeline draws it
        with `generator=torch.Generator().manual_seed(seed)` (in its (B, T, C, h, w) layout), or from
        `generator` (a CPU one) when given instead of a seed."""
        C, T, h, w = self.latent_shape(num_frames, height, width)
        if (seed is None) == (generator is None):
            raise ValueError("noise() needs a seed or a generator (one of the two)")
        g = torch.Generator().manual_seed(int(seed)) if generator is None else generator
        if g.device.type != "cpu":
            raise ValueError(f"the initial noise is drawn on the CPU as diffusers does; pass a CPU generator "
                             f"(torch.Generator()), not one on {g.device}")
        eps = torch.randn(batch, T, C, h, w, generator=g)
        return eps.permute(0, 2, 1, 3, 4).to(self.device, self.dtype)          # (B, C, T, h, w)

    # ------------------------------------------------------------------ text
    @torch.no_grad()
    def encode_prompt(self, prompts: str | Sequence[str], max_sequence_length: int | None = None
                      ) -> tuple[torch.Tensor, torch.Tensor]:
        """prompts → (embeds (B, L, 4096), mask (B, L) bool) as the official pipeline makes them: T5 tokens
        padded/truncated to L = max_sequence_length (default `text_length`: 226 for the official checkpoints),
        the encoder run WITHOUT an attention mask, its last hidden state. The transformer attends to all L
        tokens, padding included, so `mask` (True on real tokens and </s>) is informational only."""
        prompts = [prompts] if isinstance(prompts, str) else list(prompts)
        if not prompts or not all(isinstance(p, str) for p in prompts):
            raise ValueError("encode_prompt needs a string or a non-empty list of strings ('' for the null prompt)")
        L = max_sequence_length or self.text_length
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
        """The token string at each of the `text_length` positions of `prompt` (for picking words' attention maps)."""
        L = max_sequence_length or self.text_length
        ids = self.tokenizer(prompt, padding="max_length", max_length=L, truncation=True).input_ids
        return self.tokenizer.convert_ids_to_tokens(ids)

    # ------------------------------------------------------------------ sampling
    @torch.no_grad()
    def denoise(self, text_embeds: torch.Tensor, negative_text_embeds: torch.Tensor | None,
                latents: torch.Tensor, steps: int | None = None, guidance: float | None = None, *,
                dynamic_guidance: bool | None = None, progress: bool = False,
                callback: Callable | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
        """The official denoising loop: the folder's scheduler (DDIM, or DPM for CogVideoX 1.5) over its
        timesteps with classifier-free guidance.

        text_embeds, negative_text_embeds: (B, L, D) (negative needed when guidance > 1);
        latents: initial noise (B, C, T, h, w) (scheduler.init_noise_sigma = 1).
        generator: where a stochastic scheduler (CogVideoXDPM) draws each step's noise, in the order and
        shapes of CogVideoXPipeline(..., generator=generator) (None: torch's global RNG, as diffusers);
        the DDIM samplers draw nothing.
        dynamic_guidance: the official "dynamic CFG" g_t = 1 + g·(1 − cos(π((N − t)/N)^5))/2, with t the DDPM
        timestep exactly as diffusers/SAT compute it (see scheduler.dynamic_guidance_scale).
        callback(i, t, latents) runs after every step. Returns the final latents (B, C, T, h, w) — the
        quantity of diffusers' `output_type="latent"` (scaled latents; decode_latents divides by the
        VAE scaling factor)."""
        # 1. defaults and input checks
        steps = self.config.steps if steps is None else int(steps)
        guidance = self.config.guidance if guidance is None else float(guidance)
        dynamic_guidance = self.config.dynamic_guidance if dynamic_guidance is None else dynamic_guidance
        if not torch.is_tensor(latents) or latents.ndim != 5:
            raise ValueError("latents must be a (B, C, T, h, w) tensor (minicog's layout; diffusers' pipeline "
                             "uses (B, T, C, h, w): permute(0, 2, 1, 3, 4))")
        B = latents.shape[0]
        if latents.shape[1] != self.dit.config.in_channels:
            raise ValueError(f"latents have {latents.shape[1]} channels, the transformer expects "
                             f"{self.dit.config.in_channels}: pass (B, C, T, h, w), not diffusers' (B, T, C, h, w)")
        if text_embeds.ndim != 3 or text_embeds.shape[0] != B:
            raise ValueError(f"text_embeds must be (B={B}, L, D), got {tuple(text_embeds.shape)}")
        guided = guidance > 1.0
        if guided:
            if negative_text_embeds is None:
                raise ValueError(f"guidance={guidance} > 1 needs negative_text_embeds (e.g. the embedding of the "
                                 "empty prompt: pipe.encode_prompt([''])[0]); or use guidance=1")
            if negative_text_embeds.shape != text_embeds.shape:
                raise ValueError(f"negative_text_embeds {tuple(negative_text_embeds.shape)} must have the shape of "
                                 f"text_embeds {tuple(text_embeds.shape)}")
        # 2. the transformer on the GPU, the timesteps (999, 979, ..., 19 for 50 trailing steps)
        dit = self._use("dit")
        sched = self.scheduler
        sched.set_timesteps(steps)
        # 3. text conditioning, batched for guidance as one call per step: [uncond; cond]
        x = latents.to(self.device, self.dtype)                                 # (B, C, T, h, w)
        text = text_embeds.to(self.device, self.dtype)                          # (B, L, D)
        if guided:
            text = torch.cat([negative_text_embeds.to(self.device, self.dtype), text])     # (2B, L, D)
        # 4. denoising loop: model output, guidance, one scheduler step
        for i, t in enumerate(tqdm(sched.timesteps, desc="denoise", disable=not progress, leave=False)):
            x_in = torch.cat([x, x]) if guided else x                           # (2B or B, C, T, h, w)
            out = dit(x_in, model_timesteps(t, x_in.shape[0], self.device), text).float()
            g = dynamic_guidance_scale(guidance, int(t), steps) if dynamic_guidance else guidance
            if guided:
                out = apply_guidance(out, g)                                    # (B, C, T, h, w)
            # the step runs in diffusers' (B, T, C, h, w) layout, so DPM's noise has the pipeline's numbers
            x = sched.step(out.transpose(1, 2), t, x.transpose(1, 2), generator=generator)
            x = x.transpose(1, 2).contiguous().to(self.dtype)                   # (B, C, T, h, w)
            if callback is not None:
                callback(i, int(t), x)
        return x

    @torch.no_grad()
    def generate(self, prompt: str | Sequence[str], negative_prompt: str | Sequence[str] = "",
                 num_frames: int | None = None, height: int | None = None, width: int | None = None, *,
                 steps: int | None = None, guidance: float | None = None, seed: int = 0,
                 dynamic_guidance: bool | None = None, progress: bool = True, callback: Callable | None = None,
                 return_latents: bool = False, check_memory: bool = True, generator: torch.Generator | None = None):
        """Text → uint8 video (T, H, W, 3) (a list of videos for a list of prompts).

        Sizes default to the checkpoint's training size (49 frames, 480×720 for 2B/5B); frames must be
        1 + 4k and height/width multiples of 16. The noise is diffusers' for the same seed (one
        generator for the whole batch, drawn on the CPU, and a DPM scheduler's step noise from the same
        one), so on CPU in fp32 the result equals
        `CogVideoXPipeline(..., generator=torch.Generator().manual_seed(seed))`. `generator` (a CPU
        torch.Generator), when given, is used instead of the seed. On a GPU the setting is
        checked against the free memory first (GPUMemoryError names the saver to turn on)."""
        # 1. check inputs: prompts, sizes, and (on a GPU) that the setting fits in its memory
        prompts, single = as_batch(prompt, "prompt")
        if not all(isinstance(p, str) for p in prompts):
            raise ValueError("generate() needs a prompt string or a non-empty list of strings")
        negs = [negative_prompt] * len(prompts) if isinstance(negative_prompt, str) else list(negative_prompt)
        if len(negs) != len(prompts):
            raise ValueError(f"got {len(negs)} negative prompts for {len(prompts)} prompts")
        F, H, W = self._sizes(num_frames, height, width)
        guidance = self.config.guidance if guidance is None else float(guidance)
        B, guided = len(prompts), guidance > 1.0
        if check_memory and self.device.type == "cuda":
            self.check_memory(F, H, W, batch=B, guided=guided)
        # 2. encode the prompts (and the negative prompts for guidance) with T5
        embeds, _ = self.encode_prompt(prompts + (negs if guided else []))    # (B or 2B, L, D)
        cond, uncond = embeds[:B], (embeds[B:] if guided else None)
        # 3. the seed's noise, as diffusers draws it; the generator goes on to the scheduler (DPM)
        generator = torch.Generator().manual_seed(int(seed)) if generator is None else generator
        latents = self.noise(None, F, H, W, batch=B, generator=generator)     # (B, C, T_pad, h, w)
        # 4. denoising loop
        z = self.denoise(cond, uncond, latents, steps, guidance, dynamic_guidance=dynamic_guidance,
                         progress=progress, callback=callback, generator=generator)
        # 5. drop CogVideoX 1.5's padding frames, decode, unwrap a single prompt's video
        z = z[:, :, self._padding_frames((F - 1) // self.vae.temporal_compression + 1):]   # (B, C, T, h, w)
        videos = self.decode_latents(z)
        self._release()
        videos = [videos] if B == 1 else videos
        out = videos[0] if single else videos
        return (out, z) if return_latents else out

    # ------------------------------------------------------------------ VAE
    @torch.no_grad()
    def decode_latents(self, z: torch.Tensor):
        """Scaled latents (B, C, T, h, w) → uint8 video (T, H, W, 3), or a list when B > 1."""
        vae = self._use("vae")
        x = vae.decode(z.to(self.device, self.dtype) / vae.scaling_factor)       # (B, 3, F, H, W)
        videos = [to_uint8(v) for v in x]
        return videos[0] if len(videos) == 1 else videos

    @torch.no_grad()
    def encode_video(self, video) -> torch.Tensor:
        """uint8 video (F, H, W, 3), F = 1 + 4k, H and W multiples of 16 → scaled latents (1, C, T, h, w)
        (the posterior mean times the scaling factor)."""
        v = np.asarray(video)
        if v.ndim != 4 or v.shape[-1] != 3:
            raise ValueError(f"video must be uint8 (F, H, W, 3), got shape {v.shape}")
        check_video_size(v.shape[0], v.shape[1], v.shape[2], self.vae.temporal_compression, self.size_multiple)
        vae = self._use("vae")
        x = to_tensor(v)[None].to(self.device, self.dtype)                      # (1, 3, F, H, W)
        return vae.encode(x).mean * vae.scaling_factor

    # ------------------------------------------------------------------ rectified-flow view (editing)
    @torch.no_grad()
    def velocity(self, z: torch.Tensor, t: torch.Tensor | float, embeds: torch.Tensor,
                 mask: torch.Tensor | None = None) -> torch.Tensor:
        """The pretrained v-prediction model as a rectified-flow velocity u(z, s) (minicog's convention:
        z = (1 − s)·x0 + s·ε, u = ε − x0, s = 1 noise, s = 0 data) on scaled latents z (B, C, T, h, w).

        `scheduler.rf_velocity` does the conversion: the VP state x = (a + b)·z runs through the
        transformer at the (fractional) DDPM timestep of the same noise level and its v becomes
        u = (b − a)·x + (a + b)·v. With this, RF Euler on the grid s_i = rf_time(t_i) IS the official DDIM
        sampler (tested). Below s(0) = rf_time(0) ≈ 0.05 (cleaner than any training timestep) the model
        is queried at timestep 0. The transformer runs in the pipeline's dtype; u is float32. `mask` is
        ignored: the official model attends to all its text tokens, padding included."""
        dit = self._use("dit")
        return self.scheduler.rf_velocity(dit, z, t, embeds.to(self.device, self.dtype), clamp_low=True,
                                          model_dtype=self.dtype, out_dtype=torch.float32)

    def velocity_model(self, x: torch.Tensor, t: torch.Tensor, cond) -> torch.Tensor:
        """`velocity` in the (x, t, cond=(embeds, mask)) form `rectified_flow.sample` expects."""
        return text_conditioned(self.velocity)(x, t, cond)

    def rf_grid(self, steps: int | None = None) -> torch.Tensor:
        """The RF times s_i = rf_time(t_i) of the scheduler's timesteps, ending at 0 (float64, (steps+1,)). With
        a DDIM folder (2B / 5B) `rectified_flow.sample(pipe.velocity_model, noise, ..., times=pipe.rf_grid(50))`
        reproduces `denoise`; a DPM folder (1.5) samples differently (second order, stochastic) on the same grid."""
        sched = self.scheduler
        ts = sched.set_timesteps(self.config.steps if steps is None else steps).cpu()
        prev = [max(sched.prev_timestep(int(t)), -1) for t in ts]
        if prev[:-1] != [int(t) for t in ts[1:]]:
            raise ValueError(f"{len(ts)} steps do not divide {sched.config.num_train_timesteps}: DDIM's "
                             "previous timesteps are not the next grid points; pick steps dividing it")
        s = sched.rf_time(ts)
        return torch.cat([s.reshape(-1), torch.zeros(1, dtype=torch.float64)])

    def edit(self, video, source_prompt: str, target_prompt: str, seed: int = 0,
             method: str = "flowdirector", **options):
        """Edit a uint8 video from `source_prompt` to `target_prompt` with FlowDirector / FlowEdit /
        inversion / SDEdit: `minicog.edit.edit(self, video, ...)`, driving `velocity` exactly as on the
        tiny model. Editing takes a pipeline, so it is imported here, not by the generation path."""
        from .edit import edit
        return edit(self, video, source_prompt=source_prompt, target_prompt=target_prompt, seed=seed,
                    method=method, **options)

    def token_indices(self, prompt: str, words: Sequence[str]) -> list[int]:
        """Positions of `words` among the T5 tokens of `prompt` (the text axis of the DiT's attention maps):
        each word is tokenized as it appears mid-sentence (with its leading "▁")."""
        tok = self.tokenizer
        return token_positions(lambda text, is_prompt: tok(text, add_special_tokens=is_prompt)["input_ids"],
                               prompt, words, show=tok.convert_ids_to_tokens)

    def save_video(self, video, path: str | os.PathLike, fps: int | None = None) -> Path:
        """Write a uint8 video as .mp4 (or .gif) at `config.fps` (8, CogVideoX's frame rate)."""
        return save_video(video, path, fps=fps or self.config.fps)

    # ------------------------------------------------------------------ memory (minicog.memory)
    def estimate_memory(self, num_frames: int | None = None, height: int | None = None,
                        width: int | None = None, batch: int = 1, guided: bool = True,
                        **overrides) -> MemoryEstimate:
        """Computed peak GPU memory of generating with the current settings (or `overrides`: dtype,
        offload, vae_chunking, vae_tiling, attention) — `minicog.memory.estimate_memory` on this
        pipeline's configs. guided: with classifier-free guidance (the transformer runs a batch of 2B)."""
        F, H, W = self._sizes(num_frames, height, width)
        vae = self.vae
        settings = dict(dtype=self.dtype, offload=self.offload, vae_chunking=vae.chunk_latent_frames is not None,
                        vae_tiling=vae.use_tiling, attention="flash")
        settings.update(overrides)
        t5 = t5_dims(self._text_encoder.config) if self._text_encoder is not None else folder_t5(self.folder)
        return estimate_memory(self.dit.config, vae.config, F, H, W, batch=batch, guided=guided, t5=t5,
                               text_len=self.text_length,
                               vae_chunk_latent_frames=vae.chunk_latent_frames or 2,
                               vae_tile=(vae.tile_sample_height, vae.tile_sample_width, *vae.tile_overlap),
                               **settings)

    def check_memory(self, num_frames: int | None = None, height: int | None = None, width: int | None = None,
                     batch: int = 1, guided: bool = True, available: int | None = None) -> MemoryEstimate:
        """Raise GPUMemoryError when the computed peak (+10 % and 0.5 GiB for the CUDA context and
        fragmentation) exceeds `available` bytes (default: this GPU's free memory plus what this process
        already holds). The message names the cheapest saver(s) that make it fit."""
        est = self.estimate_memory(num_frames, height, width, batch=batch, guided=guided)
        if available is None:
            if self.device.type != "cuda":
                return est
            free, _ = torch.cuda.mem_get_info(self.device)
            available = free + torch.cuda.memory_reserved(self.device)
        if with_margin(est.peak) <= available:
            return est
        current = dict(dtype=self.dtype, offload=self.offload, vae_chunking=self.vae.chunk_latent_frames is not None,
                       vae_tiling=self.vae.use_tiling)
        advice = saver_advice(lambda **o: self.estimate_memory(num_frames, height, width, batch=batch,
                                                               guided=guided, **o), current, available)
        gib = lambda n: f"{n / 2**30:.1f} GiB"                                       # noqa: E731
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


if __name__ == "__main__":            # `python -m minicog.cogvideox ...`: the command line of minicog.cogvideox_cli
    from minicog.cogvideox_cli import main
    sys.exit(main())
