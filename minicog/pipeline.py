"""Text-to-video pipeline: text encoder → rectified-flow sampling with the DiT → VAE decoder.

    pipe = minicog.load_pipeline("tiny")            # the shipped tiny model (assets/tiny)
    video = pipe.generate("a red circle moving left on a black background", seed=0)
    # uint8 (T, H, W, 3); a list of prompts gives a list of videos

Sampling (CogVideoX §2 with the rectified-flow objective of SD3 §2): draw latent noise from the seed
on the CPU (so a seed gives the same video on every device), integrate dx/dt = v(x, t) from t = 1 to
t = 0 with classifier-free guidance against the empty prompt "", divide by the VAE scaling factor
and decode. A pipeline folder holds `pipeline.json` plus `vae/`, `text_encoder/` and `dit/`, each
with `config.json` + `model.safetensors`.
"""
from __future__ import annotations

import shutil
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from tqdm.auto import tqdm

from .causal_vae import CausalVAE
from .dit import VideoDiT
from .rectified_flow import sample, text_conditioned, to_model_timestep
from .shapes import glue_words
from .sizes import check_frames, check_size
from .text_encoder import TinyTextEncoder
from .utils import (as_batch, asset_folder, config_from_dict, is_integer, is_number, read_json, resolve_device,
                    write_json_atomic)
from .video import to_tensor, to_uint8


@dataclass
class PipelineConfig:
    """Sub-folders and sampling defaults, stored as `pipeline.json`."""
    vae: str = "vae"
    text_encoder: str = "text_encoder"
    dit: str = "dit"
    frames: int = 17
    size: int = 64
    steps: int = 20
    guidance: float = 4.0
    method: str = "euler"
    shift: float = 1.0
    # the time shift edits use (EditConfig.shift=None): the edit presets' start and stop indices are
    # on a grid of `steps` equal steps in unshifted time, and were measured at 1.0; None: `shift`
    edit_shift: float | None = None
    fps: int = 8
    # FlowDirector's mask: the attention direction and layers whose word maps localise best on this
    # model ({"attn_map", "attn_layers", "iou_median", ...}), written by
    # `benchmarks/eval_word_attention.py --record`; None: EditConfig's defaults
    edit_attention: dict | None = None

    @classmethod
    def from_dict(cls, d: dict) -> "PipelineConfig":
        return config_from_dict(cls, d)


def check_seed(seed) -> int:
    """A seed is an integer in [0, 2**64) (what torch.Generator.manual_seed takes)."""
    if not is_integer(seed) or not 0 <= int(seed) < 2**64:
        raise ValueError(f"seed must be an integer in [0, 2**64), got {seed!r}")
    return int(seed)


def _check_number(name: str, value, integer: bool = False, low: float | None = None,
                  strict: bool = False) -> None:
    """None (use the default) or a finite number (an integer if `integer`) at least `low`."""
    if value is None:
        return
    ok = is_integer(value) if integer else is_number(value)
    if ok and low is not None:
        ok = value > low if strict else value >= low
    if not ok:
        kind = "an integer" if integer else "a finite number"
        bound = "" if low is None else f" {'>' if strict else '>='} {low}"
        raise ValueError(f"{name} must be {kind}{bound}, got {value!r}")


class Pipeline:
    """Holds `vae`, `text_encoder`, `dit` and `device`; every method runs without gradients."""

    def __init__(self, vae, dit, text_encoder, device: str | torch.device = "auto",
                 config: PipelineConfig | None = None):
        self.device = resolve_device(device)
        self.vae = vae.to(self.device).eval()
        self.dit = dit.to(self.device).eval()
        self.text_encoder = text_encoder.to(self.device).eval()
        self.config = config or PipelineConfig()

    # ------------------------------------------------------------------ loading / saving
    @classmethod
    def from_pretrained(cls, folder: str | Path, device: str | torch.device = "auto") -> "Pipeline":
        folder = Path(folder)
        cfg_path = folder / "pipeline.json"
        if not cfg_path.is_file():
            raise FileNotFoundError(
                f"{str(folder)!r} has no pipeline.json: pass 'tiny' or a folder written by "
                "`python -m minicog.train` (it holds pipeline.json, vae/, text_encoder/, dit/)")
        cfg = config_from_dict(PipelineConfig, read_json(cfg_path, "pipeline"), source=cfg_path)
        vae = CausalVAE.from_pretrained(str(folder / cfg.vae))
        te = TinyTextEncoder.from_pretrained(folder / cfg.text_encoder)
        dit = VideoDiT.from_pretrained(str(folder / cfg.dit))
        return cls(vae, dit, te, device, cfg)

    def save_pretrained(self, folder: str | Path, vae_source: str | Path | None = None,
                        dtype: torch.dtype | None = None) -> Path:
        """Write pipeline.json, text_encoder/, dit/ and vae/ (copied from `vae_source` when given,
        skipped when `folder/vae` already is that folder); `dtype=torch.float16` stores half-size
        weights (the shipped tiny model), loaded back as float32."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.text_encoder.save_pretrained(folder / self.config.text_encoder, dtype=dtype)
        self.dit.save_pretrained(str(folder / self.config.dit), dtype=dtype)
        dst = folder / self.config.vae
        if vae_source is not None and Path(vae_source).resolve() != dst.resolve():
            shutil.copytree(vae_source, dst, dirs_exist_ok=True)
        elif vae_source is None:
            self.vae.save_pretrained(str(dst), dtype=dtype)
        write_json_atomic(asdict(self.config), folder / "pipeline.json")
        return folder

    # ------------------------------------------------------------------ building blocks
    @property
    def latent_channels(self) -> int:
        return self.dit.config.in_channels

    def latent_shape(self, frames: int | None = None, size: int | None = None) -> tuple[int, ...]:
        """(C, T_latent, h, w) of a clip of `frames` frames at `size`×`size` pixels: the VAE's
        latent shape, with sizes a multiple of 16 (the DiT's 2×2 patches on the 8× VAE grid)."""
        frames = check_frames(self.config.frames if frames is None else frames)
        h, w = check_size(self.config.size if size is None else size)
        return self.vae.latent_shape(frames, h, w)

    @property
    def spatial_compression(self) -> int:
        return self.vae.spatial_compression

    @torch.no_grad()
    def encode_prompt(self, prompts: str | Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """prompts → (embeds (B, L, D), mask (B, L) bool) on the pipeline's device."""
        return self.text_encoder.encode(prompts)

    @torch.no_grad()
    def velocity(self, z: torch.Tensor, t: torch.Tensor | float, embeds: torch.Tensor,
                 mask: torch.Tensor | None = None, video_mask: torch.Tensor | None = None
                 ) -> torch.Tensor:
        """The DiT as a rectified-flow velocity model: v(z, t) for scaled latents z (B, C, T, h, w),
        t ∈ [0, 1] (scalar or (B,); the DiT checks it and broadcasts a scalar), text (embeds, mask)."""
        t = torch.as_tensor(t, dtype=torch.float32, device=z.device)
        return self.dit(z, to_model_timestep(t), embeds, text_mask=mask, video_mask=video_mask)

    def velocity_model(self, x: torch.Tensor, t: torch.Tensor, cond) -> torch.Tensor:
        """`velocity` in the (x, t, cond) form `rectified_flow.sample` expects; cond = (embeds, mask)."""
        return text_conditioned(self.velocity)(x, t, cond)

    @torch.no_grad()
    def encode_video(self, video) -> torch.Tensor:
        """uint8 video (T, H, W, 3) → scaled latents (1, C, T_latent, h, w) (posterior mean)."""
        x = to_tensor(np.asarray(video))[None].to(self.device)          # (1, 3, T, H, W)
        return self.vae.encode(x).mean * self.vae.scaling_factor

    @torch.no_grad()
    def decode_latents(self, z: torch.Tensor):
        """Scaled latents (B, C, T, h, w) → uint8 video (T, H, W, 3), or a list of them when B > 1."""
        x = self.vae.decode(z / self.vae.scaling_factor)                  # (B, 3, T, H, W)
        x = x.sample if hasattr(x, "sample") else x
        videos = [to_uint8(v) for v in x]
        return videos[0] if len(videos) == 1 else videos

    def noise(self, seed: int, frames: int | None = None, size: int | None = None) -> torch.Tensor:
        """The starting noise of `seed`, drawn on the CPU: (1, C, T_latent, h, w) on the device."""
        g = torch.Generator().manual_seed(check_seed(seed))
        return torch.randn(1, *self.latent_shape(frames, size), generator=g).to(self.device)

    def _warn_untrained_size(self, frames: int | None, size: int | None) -> None:
        """Warn when asked for longer or larger clips than the model was trained on (pipeline.json's
        `frames` and `size` are the training maximum): it runs, but expect broken videos."""
        cfg = self.config
        if (frames is not None and check_frames(frames) > cfg.frames) or \
                (size is not None and max(check_size(size)) > cfg.size):
            warnings.warn(f"this model was trained on clips of at most {cfg.frames} frames at {cfg.size}x"
                          f"{cfg.size} px; {frames or cfg.frames} frames at {size or cfg.size} px will "
                          "probably not look like the prompt", UserWarning, stacklevel=3)

    # ------------------------------------------------------------------ generation
    @torch.no_grad()
    def generate(self, prompt: str | Sequence[str], seed: int | Sequence[int] = 0,
                 steps: int | None = None, guidance: float | None = None, *, method: str | None = None,
                 frames: int | None = None, size: int | None = None, negative_prompt: str = "",
                 shift: float | None = None, progress: bool = False, return_latents: bool = False,
                 batch_size: int | None = None, unconditional: bool = False):
        """Generate uint8 videos (T, H, W, 3) from text.

        prompt: a string → one video; a list → a list of videos (sampled as one batch, or in
                batches of at most `batch_size` prompts, with a progress bar over them if
                `progress`; a video depends only on its prompt and seed, not on the batching).
        seed:   an int (every prompt uses that noise, so a prompt gives the same video alone or in a
                list) or one seed per prompt. steps/guidance/method/frames/size default to
                `pipe.config`. return_latents=True also returns the final scaled latents.
        A prompt in which the text encoder knows no word (a typo, another language, "") is refused
        with the vocabulary; `unconditional=True` asks for the unconditional video on purpose."""
        # 1. check inputs
        prompts, single = as_batch(prompt, "prompt")
        for p in prompts:
            if not isinstance(p, str):
                raise ValueError(f"a prompt must be a string (or a list of strings), got {p!r}")
        if not unconditional:
            self.text_encoder.tokenizer.check_known(
                prompts, ignore=glue_words(),
                hint="For an unconditional video, ask for one: generate('', unconditional=True).")
        many = isinstance(seed, Sequence) and not isinstance(seed, str)
        seeds = list(seed) if many else [seed] * len(prompts)
        for s in seeds:
            check_seed(s)
        if len(seeds) != len(prompts):
            raise ValueError(f"got {len(seeds)} seeds for {len(prompts)} prompts; pass one int or "
                             "one seed per prompt")
        if batch_size is not None and batch_size < 1:
            raise ValueError(f"batch_size must be a positive number of prompts, got {batch_size}")
        _check_number("steps", steps, integer=True, low=1)
        _check_number("guidance", guidance, low=0.0)
        _check_number("shift", shift, low=0.0, strict=True)
        self._warn_untrained_size(frames, size)
        # 2. many prompts in batches: one call per batch
        if not single and batch_size is not None and len(prompts) > batch_size:
            kw = dict(steps=steps, guidance=guidance, method=method, frames=frames, size=size,
                      negative_prompt=negative_prompt, shift=shift, return_latents=return_latents,
                      unconditional=unconditional)
            chunks = [self.generate(prompts[lo:lo + batch_size], seed=seeds[lo:lo + batch_size], **kw)
                      for lo in tqdm(range(0, len(prompts), batch_size), desc="generate",
                                     disable=not progress)]
            if not return_latents:
                return [v for chunk in chunks for v in chunk]
            return [v for c in chunks for v in c[0]], torch.cat([c[1] for c in chunks])
        # 3. defaults from pipeline.json, noise from the seeds, the prompts encoded with the negative one
        cfg = self.config
        steps = cfg.steps if steps is None else steps
        guidance = cfg.guidance if guidance is None else guidance
        method = cfg.method if method is None else method
        shift = cfg.shift if shift is None else shift
        noise = torch.cat([self.noise(s, frames, size) for s in seeds])
        B = len(prompts)
        embeds, mask = self.encode_prompt(prompts + [negative_prompt] * B)   # one padded length
        cond, uncond = (embeds[:B], mask[:B]), (embeds[B:], mask[B:])
        # 4. integrate the ODE from noise (t = 1) to data (t = 0), then decode
        z = sample(self.velocity_model, noise, cond, uncond if guidance != 1.0 else None,
                   steps=steps, guidance=guidance, method=method, shift=shift, progress=progress)
        videos = self.decode_latents(z)
        videos = [videos] if B == 1 else videos
        out = videos[0] if single else videos
        return (out, z) if return_latents else out

    def edit(self, video, source_prompt: str, target_prompt: str, seed: int = 0,
             method: str = "flowdirector", **options):
        """Edit a video from `source_prompt` to `target_prompt`: `minicog.edit.edit(self, video, ...)`.
        Editing takes a pipeline, so it is imported here, not by the generation path."""
        from .edit import edit
        return edit(self, video, source_prompt=source_prompt, target_prompt=target_prompt, seed=seed,
                    method=method, **options)

    def __repr__(self) -> str:
        n = lambda m: sum(p.numel() for p in m.parameters())                      # noqa: E731
        return (f"Pipeline(device={self.device}, vae={n(self.vae)/1e6:.2f}M, "
                f"text_encoder={n(self.text_encoder)/1e6:.2f}M, dit={n(self.dit)/1e6:.2f}M, "
                f"config={self.config})")


def load_pipeline(name_or_path: str | Path = "tiny", device: str | torch.device = "auto") -> Pipeline:
    """`"tiny"` → the shipped tiny model in `assets/tiny`; a path → a trained run folder."""
    folder = asset_folder(name_or_path)
    if str(name_or_path) == "tiny":
        if not (folder / "pipeline.json").is_file():
            raise FileNotFoundError(
                f"the tiny model is missing from {folder}; train it with "
                "`python -m minicog.train --preset tiny --out runs/tiny --export assets/tiny`")
        return Pipeline.from_pretrained(folder, device)
    if not folder.exists():
        raise FileNotFoundError(f"no pipeline named {str(name_or_path)!r}: use 'tiny' or the folder "
                                "of a trained run (e.g. runs/tiny)")
    return Pipeline.from_pretrained(folder, device)
