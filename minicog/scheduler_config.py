"""What a diffusers `scheduler/scheduler_config.json` says, read as diffusers reads it for its class.

`SchedulerConfig` holds the fields of diffusers' CogVideoX scheduler configs; `from_diffusers_config` is
the one reader of their keys: a field the file leaves out gets diffusers' default for that class, keys
diffusers ignores are ignored (with a warning), and classes or values minicog does not implement are
refused with a ValueError naming them — never sampled differently. The samplers themselves are in
`minicog.scheduler`.
"""
from __future__ import annotations

import dataclasses
import warnings
from dataclasses import dataclass

_BETA_SCHEDULES = ("linear", "scaled_linear", "squaredcos_cap_v2")
_SPACINGS = ("linspace", "leading", "trailing")
_PREDICTIONS = ("epsilon", "sample", "v_prediction")
# diffusers' constructor defaults (0.42) that differ from SchedulerConfig's (= the CogVideoX classes'):
# a config that leaves a field out gets what diffusers would give that class
CLASS_DEFAULTS = {
    "CogVideoXDDIMScheduler": {},
    "CogVideoXDPMScheduler": {},
    "DDIMScheduler": dict(beta_start=0.0001, beta_end=0.02, beta_schedule="linear", snr_shift_scale=1.0),
}
# parameters of a class that minicog implements at one value only (refused otherwise), and parameters that
# only matter when such a refused option is on
_ONLY_VALUE = {"DDIMScheduler": {"thresholding": False}}
_INERT = {"DDIMScheduler": ("dynamic_thresholding_ratio",)}
# SchedulerConfig fields that are not parameters of a class (diffusers ignores them in its config)
_NOT_PARAMS = {"DDIMScheduler": ("snr_shift_scale",)}


def check_scheduler_class(name: str) -> str:
    """The diffusers scheduler class `name` if minicog runs it, else a ValueError saying what is supported."""
    if name not in CLASS_DEFAULTS:
        raise ValueError(
            f"scheduler class {name!r} is not supported: minicog samples exactly as CogVideoXPipeline does with "
            f"{', '.join(CLASS_DEFAULTS)} (η = 0) only. Use a folder whose scheduler/scheduler_config.json "
            "names one of them (the official checkpoints do), or sample this one with diffusers")
    return name


@dataclass
class SchedulerConfig:
    """Fields of diffusers' CogVideoX scheduler configs (defaults = the constructor defaults of
    CogVideoXDDIMScheduler and CogVideoXDPMScheduler; DDIMScheduler's differ: `from_diffusers_config`)."""
    num_train_timesteps: int = 1000
    beta_start: float = 0.00085
    beta_end: float = 0.0120
    beta_schedule: str = "scaled_linear"
    trained_betas: list[float] | None = None
    clip_sample: bool = True            # clips x̂0 in DDIM only; diffusers' CogVideoX steps ignore it
    set_alpha_to_one: bool = True
    steps_offset: int = 0
    prediction_type: str = "epsilon"
    clip_sample_range: float = 1.0      # the clip of clip_sample (DDIM)
    sample_max_value: float = 1.0       # unused (thresholding only, which is refused)
    timestep_spacing: str = "leading"
    rescale_betas_zero_snr: bool = False
    snr_shift_scale: float = 3.0        # CogVideoX classes only (DDIMScheduler has no shift: 1.0)

    @classmethod
    def cogvideox_2b(cls) -> "SchedulerConfig":
        """THUDM/CogVideoX-2b `scheduler/scheduler_config.json`."""
        return cls(beta_schedule="scaled_linear", beta_start=0.00085, beta_end=0.012, clip_sample=False,
                   num_train_timesteps=1000, prediction_type="v_prediction", rescale_betas_zero_snr=True,
                   set_alpha_to_one=True, snr_shift_scale=3.0, steps_offset=0, timestep_spacing="trailing")

    def __post_init__(self):
        if self.trained_betas is None and self.beta_schedule not in _BETA_SCHEDULES:
            raise ValueError(f"beta_schedule {self.beta_schedule!r} is not supported; use one of {_BETA_SCHEDULES}")
        if self.timestep_spacing not in _SPACINGS:
            raise ValueError(f"timestep_spacing {self.timestep_spacing!r} is not supported; use one of {_SPACINGS}")
        if self.prediction_type not in _PREDICTIONS:
            raise ValueError(f"prediction_type {self.prediction_type!r} is not supported; use one of {_PREDICTIONS}")
        if self.num_train_timesteps < 1:
            raise ValueError(f"num_train_timesteps must be >= 1, got {self.num_train_timesteps}")

    @classmethod
    def from_diffusers_config(cls, config: dict, class_name: str | None = None) -> "SchedulerConfig":
        """From a diffusers scheduler config dict, read as diffusers reads it for `class_name` (default: the
        config's `_class_name`, else CogVideoXDDIMScheduler). The one reader of diffusers scheduler keys:

        * keys starting with "_" are metadata and skipped;
        * fields the config leaves out get diffusers' default *for that class* (no SNR shift for DDIMScheduler);
        * keys that are not parameters of the class are ignored with a warning — diffusers ignores them too,
          so the sampling is the same (the package's `utils.config_from_dict` refuses unknown keys instead;
          diffusers' scheduler configs carry keys of other schedulers);
        * an unsupported class, or a parameter at a value minicog does not implement (thresholding=True;
          an unknown beta_schedule / timestep_spacing / prediction_type) is a ValueError naming it."""
        name = check_scheduler_class(class_name or config.get("_class_name") or "CogVideoXDDIMScheduler")
        params = {f.name for f in dataclasses.fields(cls)} - set(_NOT_PARAMS.get(name, ()))
        only, inert = _ONLY_VALUE.get(name, {}), _INERT.get(name, ())
        for key, value in only.items():
            if key in config and config[key] != value:
                raise ValueError(f"{name} with {key}={config[key]!r} is not supported: minicog implements "
                                 f"{key}={value!r} only (diffusers' default); set it in scheduler_config.json "
                                 "or sample this folder with diffusers")
        unknown = sorted(k for k in config if not k.startswith("_") and k not in params | set(only) | set(inert))
        if unknown:
            warnings.warn(f"ignoring scheduler config keys {unknown}: they are not parameters of diffusers' "
                          f"{name}, which ignores them too")
        return cls(**{**CLASS_DEFAULTS[name], **{k: v for k, v in config.items() if k in params}})
