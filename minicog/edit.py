"""The one public entry to video editing: `edit` (uint8 video in and out) and `edit_latents`.

    from minicog.edit import edit
    edited = edit(pipe, video, source_prompt="a red circle ...", target_prompt="a blue circle ...",
                  seed=0, method="flowdirector")        # what `Pipeline.edit` / `CogVideoX.edit` call

`method` picks the procedure: "random_noise" (SDEdit), "inversion" and "flowedit" from
`minicog.editing` (week 7), "flowdirector" from `minicog.flowdirector` (week 8). Settings come from
`EditConfig.preset(method)` (or `config=`), keyword arguments override its fields. `pipe` is
anything with `encode_video`, `decode_latents`, `encode_prompt` and `velocity` (the tiny
`Pipeline`, `CogVideoX`, the tests' mocks); FlowDirector's attention mask also needs
`pipe.dit.record_attention` and a tokenizer (`flowdirector.token_indices`).

Equal prompts. For the inversion-free methods ("flowedit", "flowdirector") a source prompt equal to
the target prompt means "change nothing", and `edit` returns the source unchanged: the latents as
they are (`edit` decodes them, so the video is the VAE reconstruction, the ceiling of every edit)
without running the ODE. Running it would not be the identity with the presets: their source and
target guidance differ (e.g. 1.5 and 5.0), so V = g_tar·(v_c − v_∅) − g_src·(v_c − v_∅) is not 0
but a push towards how the model draws the prompt, which degrades the clip well below what the VAE
round trip alone loses (notebook 07 prints both on its clip). Skipping is chosen over forcing
equal guidance because it is exact on any device and costs no model call; `identity_if_same=False`
runs the ODE anyway (to measure that drift). "random_noise" and "inversion" always run: regenerating
from noise, or inverting and regenerating, with one prompt is what they are for (and how their
accuracy is measured), not an edit to skip. Prompts are compared after collapsing whitespace.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Callable, Sequence

import numpy as np
import torch

from .editing import (EditConfig, check_method, encode_prompts, flowedit, inversion_edit,
                      random_noise_edit)
from .flowdirector import flowdirector_for_pipeline


def _check_video(video) -> np.ndarray:
    if torch.is_tensor(video):
        raise ValueError("edit() takes a uint8 numpy video (T, H, W, 3) as `generate` returns; "
                         "convert a float tensor with minicog.video.to_uint8 first")
    v = np.asarray(video)
    if v.ndim != 4 or v.shape[-1] != 3 or v.dtype != np.uint8:
        raise ValueError(f"video must be uint8 (T, H, W, 3) as `generate` returns, got "
                         f"{v.dtype} {v.shape}")
    return v


def _edit_config(method: str, config: EditConfig | None, overrides: dict, mask) -> EditConfig:
    """The settings of one edit: the method's preset (or `config`) with `overrides`, checked."""
    check_method(method)
    cfg = EditConfig.preset(method, **overrides) if config is None else (
        replace(config, **overrides) if overrides else config)
    if mask is not None and method != "flowdirector":
        raise ValueError(f"mask= replaces FlowDirector's attention mask; method {method!r} has no "
                         "mask — use method='flowdirector'")
    return cfg


def _pipe_shift(pipe) -> float:
    """The time shift of an edit whose EditConfig.shift is None: the pipeline's `edit_shift`, else
    its sampling shift, else 1.0."""
    cfg = getattr(pipe, "config", None)
    shift = getattr(cfg, "edit_shift", None)
    return float((getattr(cfg, "shift", 1.0) if shift is None else shift) or 1.0)


def _is_identity(method: str, source_prompt, target_prompt, identity_if_same: bool) -> bool:
    """True when the edit is the identity by definition: an inversion-free method, equal prompts."""
    same = (isinstance(source_prompt, str) and isinstance(target_prompt, str)
            and " ".join(source_prompt.split()) == " ".join(target_prompt.split()))
    return identity_if_same and same and method in ("flowedit", "flowdirector")


def _run(pipe, x_src: torch.Tensor, source_prompt: str, target_prompt: str, seed: int, method: str,
         cfg: EditConfig, source_words, target_words, callback, progress: bool, mask) -> torch.Tensor:
    """Dispatch one checked edit on latents (1, C, T, h, w) to its procedure."""
    shift = _pipe_shift(pipe) if cfg.shift is None else cfg.shift
    x_src = x_src.float()                      # the ODE runs in fp32 (the model may be bf16)
    prompts = encode_prompts(pipe.encode_prompt, source_prompt, target_prompt, cfg.negative_prompt)
    generator = torch.Generator().manual_seed(int(seed))
    velocity = pipe.velocity
    if method == "random_noise":
        return random_noise_edit(velocity, x_src, prompts, cfg, generator, shift, callback, progress)
    if method == "inversion":
        return inversion_edit(velocity, x_src, prompts, cfg, shift, callback, progress)
    if method == "flowedit" and not (cfg.use_mask or cfg.use_dag):
        return flowedit(velocity, x_src, prompts, cfg, generator, shift, callback, progress)
    return flowdirector_for_pipeline(pipe, x_src, prompts, cfg, generator, shift, source_words,
                                     target_words, callback, progress, mask=mask)


@torch.no_grad()
def edit_latents(pipe, x_src: torch.Tensor, source_prompt: str, target_prompt: str, seed: int = 0,
                 method: str = "flowdirector", config: EditConfig | None = None,
                 source_words: Sequence[str] | str | None = None,
                 target_words: Sequence[str] | str | None = None,
                 callback: Callable | None = None, progress: bool = False, mask=None,
                 identity_if_same: bool = True, **overrides) -> torch.Tensor:
    """`edit` on scaled latents (1, C, T, h, w) → edited scaled latents (no VAE)."""
    # 1. check inputs and settle the settings
    cfg = _edit_config(method, config, overrides, mask)
    if _is_identity(method, source_prompt, target_prompt, identity_if_same):
        return x_src.float()                   # equal prompts: nothing to change (module docstring)
    # 2. encode the prompts and run the method: (1, C, T, h, w) → (1, C, T, h, w)
    return _run(pipe, x_src, source_prompt, target_prompt, seed, method, cfg, source_words,
                target_words, callback, progress, mask)


@torch.no_grad()
def edit(pipe, video, source_prompt: str, target_prompt: str, seed: int = 0,
         method: str = "flowdirector", config: EditConfig | None = None,
         source_words: Sequence[str] | str | None = None,
         target_words: Sequence[str] | str | None = None, callback: Callable | None = None,
         progress: bool = False, return_latents: bool = False, mask=None,
         identity_if_same: bool = True, **overrides):
    """Edit a uint8 video (T, H, W, 3) from `source_prompt` to `target_prompt`.

    method: "random_noise" | "inversion" | "flowedit" | "flowdirector" (default; the tuned preset
            `EditConfig.preset(method)` unless `config` is given). Keyword arguments override config
            fields, e.g. `use_mask=False` or `use_dag=False` for FlowDirector's ablations.
    source_words / target_words: the words whose attention gives FlowDirector's mask; found by
            diffing the two prompts when not given.
    mask:   FlowDirector only — a fixed mask in place of the attention mask: (T, H, W) over the
            video's pixels (bool or [0, 1]; e.g. a segmentation) or (T', h, w) over the latent grid
            (`flowdirector.latent_mask`); the edit moves only where it is on.
    callback(info: dict): called after every step with the state (see `editing.editing_ode`).
    identity_if_same: "flowedit"/"flowdirector" with equal prompts return the source without running
            the ODE (the VAE reconstruction; no callback); False runs it anyway (module docstring).
    Returns the edited uint8 video (and the edited scaled latents with return_latents=True)."""
    # 1. check inputs and settle the settings (before the VAE runs)
    v = _check_video(video)
    cfg = _edit_config(method, config, overrides, mask)
    # 2. encode the video: (T, H, W, 3) uint8 → scaled latents (1, C, T', h, w)
    x_src = pipe.encode_video(v)
    # 3. edit the latents (equal prompts: nothing to change, see the module docstring)
    if _is_identity(method, source_prompt, target_prompt, identity_if_same):
        z = x_src.float()
    else:
        z = _run(pipe, x_src, source_prompt, target_prompt, seed, method, cfg, source_words,
                 target_words, callback, progress, mask)
    # 4. decode: (1, C, T', h, w) → (T, H, W, 3) uint8
    out = pipe.decode_latents(z)
    return (out, z) if return_latents else out
