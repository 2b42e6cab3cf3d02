"""The one public entry to video editing: `edit` (uint8 video in and out) and `edit_latents`.

    from minicog.edit import edit
    edited = edit(pipe, video, source_prompt="a red circle ...", target_prompt="a blue circle ...",
                  seed=0, method="flowdirector")        # what `Pipeline.edit` / `CogVideoX.edit` call

`method` picks the procedure: "random_noise" (SDEdit), "inversion" and "flowedit" from
`minicog.editing` (week 7), "flowdirector" from `minicog.flowdirector` (week 8); each runs only
itself. Settings come from `EditConfig.preset(method)` (or `config=`), keyword arguments override
its fields. FlowDirector's parts are objects, given as the keywords `mask`, `dag`, `direction_aware`
and `motion_gate` (left out: the preset, `flowdirector.FlowDirector()`; None: off), e.g.

    edit(pipe, video, src, tar, method="flowdirector", mask=VelocityMask(), dag=None)

and only to method="flowdirector": given to another method they are an error that names them.
`pipe` is anything with `encode_video`, `decode_latents`, `encode_prompt` and `velocity` (the tiny
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

from dataclasses import asdict, dataclass
from typing import Callable

import numpy as np
import torch

from .editing import EditConfig, check_method, encode_prompts, flowedit, inversion_edit, random_noise_edit
from .flowdirector import FlowDirector, flowdirector_for_pipeline
from .utils import config_from_dict


class _Preset:
    """The default of FlowDirector's keywords: the part as `FlowDirector()` has it (the preset)."""

    def __repr__(self) -> str:
        return "PRESET"


PRESET = _Preset()


@dataclass
class _Plan:
    """One checked edit: the method, its settings, FlowDirector's parts (None for other methods),
    and how it reports (callback after every step, progress bar)."""
    method: str
    config: EditConfig
    parts: FlowDirector | None = None
    callback: Callable | None = None
    progress: bool = False


def _plan(method: str, config: EditConfig | None, options: dict, *, callback: Callable | None = None,
          progress: bool = False, **overrides) -> _Plan:
    """Check the inputs of one edit once, before anything runs: the method, its settings (the
    method's preset, or `config`, with `overrides`) and FlowDirector's `options` ({field of
    `FlowDirector`: part}; PRESET values are left out), which only method "flowdirector" takes."""
    check_method(method)
    base = asdict(EditConfig.preset(method) if config is None else config)
    cfg = config_from_dict(EditConfig, {**base, **overrides}, what="edit settings")
    given = {k: v for k, v in options.items() if v is not PRESET}
    if method != "flowdirector" and given:
        names = ", ".join(f"{k}=" for k in given)
        raise ValueError(f"{names} {'is a FlowDirector option' if len(given) == 1 else 'are FlowDirector options'}: "
                         f"method {method!r} does not run FlowDirector (use method='flowdirector', or leave "
                         f"{names} out)")
    parts = FlowDirector(**given).check(cfg) if method == "flowdirector" else None
    return _Plan(method, cfg, parts, callback, progress)


def _check_video(video) -> np.ndarray:
    if torch.is_tensor(video):
        raise ValueError("edit() takes a uint8 numpy video (T, H, W, 3) as `generate` returns; "
                         "convert a float tensor with minicog.video.to_uint8 first")
    v = np.asarray(video)
    if v.ndim != 4 or v.shape[-1] != 3 or v.dtype != np.uint8:
        raise ValueError(f"video must be uint8 (T, H, W, 3) as `generate` returns, got "
                         f"{v.dtype} {v.shape}")
    return v


def _pipe_shift(pipe) -> float:
    """The time shift of an edit whose EditConfig.shift is None: the pipeline's `edit_shift`, else
    its sampling shift, else 1.0."""
    cfg = getattr(pipe, "config", None)
    shift = getattr(cfg, "edit_shift", None)
    return float((getattr(cfg, "shift", 1.0) if shift is None else shift) or 1.0)


def _is_identity(method: str, source_prompt, target_prompt) -> bool:
    """True when the edit is the identity by definition: an inversion-free method, equal prompts."""
    same = (isinstance(source_prompt, str) and isinstance(target_prompt, str)
            and " ".join(source_prompt.split()) == " ".join(target_prompt.split()))
    return same and method in ("flowedit", "flowdirector")


@torch.no_grad()
def _run(pipe, x_src: torch.Tensor, source_prompt: str, target_prompt: str, seed: int,
         plan: _Plan) -> torch.Tensor:
    """Run one checked edit on scaled latents (1, C, T, h, w): the method of `plan`, nothing else."""
    cfg = plan.config
    shift = _pipe_shift(pipe) if cfg.shift is None else cfg.shift
    x_src = x_src.float()                      # the ODE runs in fp32 (the model may be bf16)
    prompts = encode_prompts(pipe.encode_prompt, source_prompt, target_prompt, cfg.negative_prompt)
    generator = torch.Generator().manual_seed(int(seed))
    report = dict(shift=shift, callback=plan.callback, progress=plan.progress)
    if plan.method == "random_noise":
        return random_noise_edit(pipe.velocity, x_src, prompts, cfg, generator, **report)
    if plan.method == "inversion":
        return inversion_edit(pipe.velocity, x_src, prompts, cfg, **report)
    if plan.method == "flowedit":
        return flowedit(pipe.velocity, x_src, prompts, cfg, generator, **report)
    return flowdirector_for_pipeline(pipe, x_src, prompts, cfg, generator, plan.parts, **report)


@torch.no_grad()
def edit_latents(pipe, x_src: torch.Tensor, source_prompt: str, target_prompt: str, seed: int = 0,
                 method: str = "flowdirector", *, config: EditConfig | None = None, mask=PRESET, dag=PRESET,
                 direction_aware=PRESET, motion_gate=PRESET, callback: Callable | None = None,
                 progress: bool = False, identity_if_same: bool = True, **overrides) -> torch.Tensor:
    """`edit` on scaled latents (1, C, T, h, w) → edited scaled latents (no VAE)."""
    # 1. check inputs and settle the settings
    plan = _plan(method, config, dict(mask=mask, dag=dag, direction_aware=direction_aware, motion_gate=motion_gate),
                 callback=callback, progress=progress, **overrides)
    if identity_if_same and _is_identity(method, source_prompt, target_prompt):
        return x_src.float()                   # equal prompts: nothing to change (module docstring)
    # 2. encode the prompts and run the method: (1, C, T, h, w) → (1, C, T, h, w)
    return _run(pipe, x_src, source_prompt, target_prompt, seed, plan)


@torch.no_grad()
def edit(pipe, video, source_prompt: str, target_prompt: str, seed: int = 0, method: str = "flowdirector", *,
         config: EditConfig | None = None, mask=PRESET, dag=PRESET, direction_aware=PRESET,
         motion_gate=PRESET, callback: Callable | None = None, progress: bool = False,
         return_latents: bool = False, identity_if_same: bool = True, **overrides):
    """Edit a uint8 video (T, H, W, 3) from `source_prompt` to `target_prompt`.

    method: "random_noise" | "inversion" | "flowedit" | "flowdirector" (default); each runs only
            itself. Settings: the method's preset `EditConfig.preset(method)` unless `config` is
            given; keyword arguments override its fields (e.g. steps=4, n_avg=6).
    FlowDirector's parts (method="flowdirector" only; left out: the preset `FlowDirector()`; None: off):
      mask:   `flowdirector.AttentionMask(...)` (SAFC, the preset's), `VelocityMask(...)` (DiffEdit's),
              or a fixed mask — (T, H, W) over the video's pixels (bool or [0, 1]; e.g. a
              segmentation) or (T', h, w) over the latent grid (`flowdirector.latent_mask`): the edit
              moves only where it is on;
      dag:    `flowdirector.DAG(...)` (differential averaging guidance; v1 or v2);
      direction_aware, motion_gate: v2's `DirectionAware(...)` (DA-FC), `MotionGate(...)` (MAD-FC).
    callback(info: dict): called after every step with the state (see `editing.editing_ode`).
    identity_if_same: "flowedit"/"flowdirector" with equal prompts return the source without running
            the ODE (the VAE reconstruction; no callback); False runs it anyway (module docstring).
    Returns the edited uint8 video (and the edited scaled latents with return_latents=True)."""
    # 1. check inputs and settle the settings (before the VAE runs)
    v = _check_video(video)
    plan = _plan(method, config, dict(mask=mask, dag=dag, direction_aware=direction_aware, motion_gate=motion_gate),
                 callback=callback, progress=progress, **overrides)
    # 2. encode the video: (T, H, W, 3) uint8 → scaled latents (1, C, T', h, w)
    x_src = pipe.encode_video(v)
    # 3. edit the latents (equal prompts: nothing to change, see the module docstring)
    if identity_if_same and _is_identity(method, source_prompt, target_prompt):
        z = x_src.float()
    else:
        z = _run(pipe, x_src, source_prompt, target_prompt, seed, plan)
    # 4. decode: (1, C, T', h, w) → (T, H, W, 3) uint8
    out = pipe.decode_latents(z)
    return (out, z) if return_latents else out
