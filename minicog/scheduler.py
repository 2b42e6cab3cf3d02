"""The CogVideoX samplers (scaled path): DDIM and DPM-Solver++ on a shifted, zero-terminal-SNR schedule.

Pretrained CogVideoX checkpoints are *not* rectified-flow models: they are VP diffusion models

    x_t = a_t·x0 + b_t·ε,   a_t = sqrt(ᾱ_t),  b_t = sqrt(1 − ᾱ_t),  t ∈ {0, …, 999} (integer DDPM steps)

trained to predict v = a_t·ε − b_t·x0 (Salimans & Ho 2022, §4 / Imagen Video §2.4). Their ᾱ_t is built as

1. betas: "scaled_linear" (sqrt-linear from beta_start to beta_end), ᾱ = Π(1 − β);
2. SNR shift (SD3-style, CogVideoX §3): ᾱ ← ᾱ / (k + (1 − k)·ᾱ), i.e. SNR ← SNR / k with k = snr_shift_scale;
3. zero terminal SNR (Lin et al. 2024, Alg. 1): shift/scale sqrt(ᾱ) so that ᾱ_999 = 0 exactly;

and sampled on "trailing" timesteps (Lin et al. 2024 Table 2: 999, 979, …, 19 for 50 steps) with
classifier-free guidance and, optionally, the official pipeline's "dynamic CFG", by one of

* `CogVideoXDDIM` = diffusers' `CogVideoXDDIMScheduler`: deterministic DDIM (Song et al. 2021, eq. 12,
  η = 0) — CogVideoX-2b / -5b;
* `CogVideoXDPM` = diffusers' `CogVideoXDPMScheduler`: stochastic DPM-Solver++(2M) (Lu et al. 2022) with
  the previous step's x̂0 and fresh noise each step — CogVideoX 1.5;
* `DDIM` = diffusers' plain `DDIMScheduler` at η = 0 (no SNR shift, x̂0 clipping): what a folder naming it
  gets from `CogVideoXPipeline` (e.g. diffusers' own test components).

Each re-implements its diffusers class (without importing diffusers) from the folder's
`scheduler/scheduler_config.json`, picked by its `_class_name` (`load_scheduler`), and matches it step for
step. Classes and fields minicog does not implement are refused when the config is read
(`minicog.scheduler_config`), never sampled differently. `rf_velocity` (the one copy of the VP → RF
conversion) turns the model's v-prediction into a rectified-flow velocity in minicog's convention, so
the RF machinery (`minicog.rectified_flow`, editing, FlowDirector) can drive the pretrained model too:
`CogVideoX.velocity` and `velocity_model` both call it.
"""
from __future__ import annotations

import math
import os
import warnings
from pathlib import Path

import numpy as np
import torch

from .scheduler_config import CLASS_DEFAULTS, SchedulerConfig, check_scheduler_class
from .utils import read_json


def _betas(cfg: SchedulerConfig, scaled_linear_dtype: torch.dtype) -> torch.Tensor:
    """β_t of the config, in diffusers' dtypes (its CogVideoX classes build scaled_linear in float64, DDIM in
    float32) for exact parity."""
    n = cfg.num_train_timesteps
    if cfg.trained_betas is not None:
        return torch.tensor(cfg.trained_betas, dtype=torch.float32)
    if cfg.beta_schedule == "linear":
        return torch.linspace(cfg.beta_start, cfg.beta_end, n, dtype=torch.float32)
    if cfg.beta_schedule == "scaled_linear":
        return torch.linspace(cfg.beta_start ** 0.5, cfg.beta_end ** 0.5, n, dtype=scaled_linear_dtype) ** 2
    return _cosine_betas(n)


def _cosine_betas(n: int, max_beta: float = 0.999) -> torch.Tensor:
    """Glide / improved-DDPM cosine schedule (Nichol & Dhariwal 2021, eq. 17)."""
    def alpha_bar(t):
        return math.cos((t + 0.008) / 1.008 * math.pi / 2) ** 2
    return torch.tensor([min(1 - alpha_bar((i + 1) / n) / alpha_bar(i / n), max_beta) for i in range(n)],
                        dtype=torch.float32)


def rescale_zero_terminal_snr(alphas_cumprod: torch.Tensor) -> torch.Tensor:
    """Lin et al. 2024 ("Common Diffusion Noise Schedules and Sample Steps are Flawed"), Alg. 1:
    shift sqrt(ᾱ) so the last value is 0, and scale so the first value is unchanged."""
    s = alphas_cumprod.sqrt()
    s0, sT = s[0].clone(), s[-1].clone()
    s = (s - sT) * (s0 / (s0 - sT))
    return s ** 2


def dynamic_guidance_scale(guidance: float, step_index: int | float, num_steps: int,
                           exponent: float = 5.0) -> float:
    """CogVideoX "dynamic CFG" (dynamic classifier-free guidance): g_i = 1 + g·(1 − cos(π·((N − x)/N)^5))/2.

    This is the formula of the official pipeline (`use_dynamic_cfg=True`, SAT's `DynamicCFG`), with
    x = `step_index`: it anneals smoothly from 1 + g at the first step to ~1 at the last.
    NOTE: diffusers' CogVideoXPipeline (and SAT) plug the *DDPM timestep* (999, 979, …) in for x
    instead of the step index, which makes (N − x)/N strongly negative and the scale oscillate in
    [1, 1 + g] (diffusers issue #9641; the CogVideoX authors call the wave "a coincidence" that works).
    Pass `step_index=t` (the DDPM timestep) to reproduce that exact behaviour."""
    if num_steps < 1:
        raise ValueError(f"num_steps must be >= 1, got {num_steps}")
    return 1 + guidance * ((1 - math.cos(math.pi * ((num_steps - step_index) / num_steps) ** exponent)) / 2)


def guided_inputs(latents: torch.Tensor, cond_embeds: torch.Tensor, uncond_embeds: torch.Tensor
                  ) -> tuple[torch.Tensor, torch.Tensor]:
    """Batch one guided model call as the official pipeline does: ([x; x], [uncond; cond]).

    Note the order: unconditional FIRST (diffusers' `torch.cat([negative_prompt_embeds, prompt_embeds])`),
    which `apply_guidance` expects."""
    if cond_embeds.shape != uncond_embeds.shape:
        raise ValueError(f"cond {tuple(cond_embeds.shape)} and uncond {tuple(uncond_embeds.shape)} embeddings "
                         "must have the same shape (encode both with the same max_sequence_length)")
    return torch.cat([latents, latents], dim=0), torch.cat([uncond_embeds, cond_embeds], dim=0)


def apply_guidance(model_output: torch.Tensor, guidance: float) -> torch.Tensor:
    """Combine a batched [uncond; cond] model output: out_u + g·(out_c − out_u) (Ho & Salimans 2022).
    Works for any prediction type (ε, v, velocity): the combination is linear."""
    if model_output.shape[0] % 2:
        raise ValueError(f"expected a batched [uncond; cond] output with an even batch, got "
                         f"{model_output.shape[0]}; build the inputs with guided_inputs()")
    out_u, out_c = model_output.chunk(2)
    return out_u + guidance * (out_c - out_u)


def model_timesteps(t: int | torch.Tensor, batch: int, device: torch.device | str | None = None
                    ) -> torch.Tensor:
    """The pipeline feeds the transformer the integer DDPM timestep, repeated over the batch: (batch,) int64."""
    return torch.as_tensor(t, dtype=torch.int64, device=device).reshape(()).expand(batch)


def _velocity_from_v(x_t: torch.Tensor, v: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """u = ε̂ − x̂0 = (b − a)·x_t + (a + b)·v for a VP state x_t = a·x0 + b·ε and v = a·ε − b·x0
    (derivation in `CogVideoXDDIM.v_to_velocity`)."""
    return (b - a) * x_t + (a + b) * v


class VPScheduler:
    """What the three samplers share: the schedule ᾱ_t, the inference timesteps, x̂0 / ε̂ from the model
    output, the forward process and the VP → RF conversion. A subclass is one diffusers class: its
    `diffusers_class` name, its ᾱ construction (`_alphas_cumprod`) and its `step`.

        sched = load_scheduler("<weights>/scheduler")          # the class named in scheduler_config.json
        sched.set_timesteps(50)
        for i, t in enumerate(sched.timesteps):
            v = apply_guidance(transformer(*guided_inputs(x, emb, neg), timestep=model_timesteps(t, 2 * B)), 6.0)
            x = sched.step(v, t, x, generator=g)              # g: the noise of a stochastic step (DPM)
    """

    diffusers_class = ""
    order = 1
    init_noise_sigma = 1.0

    def __init__(self, config: SchedulerConfig | None = None):
        cfg = config or SchedulerConfig(**CLASS_DEFAULTS[self.diffusers_class])
        self.config = cfg
        self.betas, self.alphas_cumprod = self._alphas_cumprod(cfg)    # (num_train_timesteps,) each
        self.final_alpha_cumprod = torch.tensor(1.0) if cfg.set_alpha_to_one else self.alphas_cumprod[0]
        self._rf_table: torch.Tensor | None = None                    # rf_time of 0..N−1, built lazily
        self.num_inference_steps: int | None = None
        self.timesteps = torch.arange(cfg.num_train_timesteps - 1, -1, -1, dtype=torch.int64)

    @staticmethod
    def _alphas_cumprod(cfg: SchedulerConfig) -> tuple[torch.Tensor, torch.Tensor]:
        """(β, ᾱ) of diffusers' CogVideoX schedulers (scaled_linear in float64)."""
        # 1. betas and ᾱ
        betas = _betas(cfg, torch.float64)
        alphas_cumprod = torch.cumprod(1.0 - betas, dim=0)
        # 2. SNR shift: SNR' = SNR / k  ⇔  ᾱ' = ᾱ / (k + (1 − k)ᾱ)
        k = cfg.snr_shift_scale
        alphas_cumprod = alphas_cumprod / (k + (1 - k) * alphas_cumprod)
        # 3. zero terminal SNR
        if cfg.rescale_betas_zero_snr:
            alphas_cumprod = rescale_zero_terminal_snr(alphas_cumprod)
        return betas, alphas_cumprod

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_config(cls, config: dict | SchedulerConfig) -> "VPScheduler":
        """From a diffusers scheduler config dict (read by `SchedulerConfig.from_diffusers_config`). On
        `VPScheduler` (= `load_scheduler`) the class is the one its `_class_name` names (CogVideoXDDIM when
        it names none); on a subclass a config naming another class is refused."""
        if isinstance(config, SchedulerConfig):
            if cls is VPScheduler:
                raise ValueError("a SchedulerConfig does not say which sampler it is for: build CogVideoXDDIM, "
                                 "CogVideoXDPM or DDIM from it, or pass the diffusers config dict")
            return cls(config)
        if not isinstance(config, dict):
            raise ValueError(f"config must be a dict or SchedulerConfig, got {type(config).__name__}")
        name = config.get("_class_name")
        if cls is VPScheduler:
            target = SCHEDULERS[check_scheduler_class(name or CogVideoXDDIM.diffusers_class)]
        elif name not in (None, cls.diffusers_class):
            raise ValueError(f"the config is for {name}, not {cls.diffusers_class}: load it with "
                             "minicog.scheduler.load_scheduler, which picks the sampler its _class_name names")
        else:
            target = cls
        return target(SchedulerConfig.from_diffusers_config(config, target.diffusers_class))

    @classmethod
    def from_folder(cls, folder: str | os.PathLike) -> "VPScheduler":
        """From `<weights>/scheduler/scheduler_config.json` (the weights root, the scheduler folder or the file)."""
        folder = Path(folder)
        for path in (folder / "scheduler_config.json", folder / "scheduler" / "scheduler_config.json", folder):
            if path.is_file() and path.suffix == ".json":
                return cls.from_config(read_json(path, "scheduler config"))
        raise FileNotFoundError(
            f"no scheduler_config.json in {str(folder)!r} or {str(folder / 'scheduler')!r}; pass the "
            "CogVideoX weights folder or its scheduler/ sub-folder")

    def __repr__(self):
        c = self.config
        return (f"{type(self).__name__}({c.prediction_type}, {c.beta_schedule}, snr_shift={c.snr_shift_scale}, "
                f"zero_snr={c.rescale_betas_zero_snr}, spacing={c.timestep_spacing}, "
                f"steps={self.num_inference_steps})")

    def __len__(self):
        return self.config.num_train_timesteps

    # ------------------------------------------------------------------ timesteps
    def set_timesteps(self, num_inference_steps: int, device: torch.device | str | None = None) -> torch.Tensor:
        """Inference timesteps, descending (Lin et al. 2024 Table 2). trailing, 50 steps: 999, 979, …, 19."""
        N, n = self.config.num_train_timesteps, int(num_inference_steps)
        if n < 1 or n > N:
            raise ValueError(f"num_inference_steps must be in [1, {N}], got {num_inference_steps}")
        self.num_inference_steps = n
        spacing = self.config.timestep_spacing
        if spacing == "linspace":
            ts = np.linspace(0, N - 1, n).round()[::-1].copy().astype(np.int64)
        elif spacing == "leading":
            ts = (np.arange(0, n) * (N // n)).round()[::-1].copy().astype(np.int64) + self.config.steps_offset
        else:  # trailing
            ts = np.round(np.arange(N, 0, -N / n)).astype(np.int64) - 1
        self.timesteps = torch.from_numpy(ts).to(device)
        return self.timesteps

    def prev_timestep(self, t: int) -> int:
        """The timestep DDIM steps to from t. As in diffusers: t − N // n (for trailing spacing with n not
        dividing N this can differ by one from the next entry of `timesteps`; we keep diffusers' rule)."""
        if self.num_inference_steps is None:
            raise ValueError("call set_timesteps(num_inference_steps) before step()")
        return int(t) - self.config.num_train_timesteps // self.num_inference_steps

    # ------------------------------------------------------------------ schedule lookups
    def _alpha_prod(self, t: int | torch.Tensor) -> torch.Tensor:
        t = int(t)
        if not -1 <= t < self.config.num_train_timesteps:  # DDIM's "previous" of the last step may be < 0
            raise ValueError(f"timestep {t} out of range [0, {self.config.num_train_timesteps - 1}]")
        return self.alphas_cumprod[t] if t >= 0 else self.final_alpha_cumprod

    def _alpha_prods(self, t: int | torch.Tensor) -> torch.Tensor:
        """ᾱ at integer timesteps t (any shape; −1 means the final "previous" value), float64."""
        t = torch.as_tensor(t).long().cpu()
        N = self.config.num_train_timesteps
        if ((t < -1) | (t >= N)).any():
            raise ValueError(f"timesteps must lie in [0, {N - 1}], got {t.tolist()}")
        table = torch.cat([self.alphas_cumprod.double(), self.final_alpha_cumprod.double().reshape(1)])
        return table[t]                                   # index −1 → the appended final value

    def _ab(self, t: int | torch.Tensor, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """a_t = sqrt(ᾱ_t), b_t = sqrt(1 − ᾱ_t), computed in float64 and shaped to broadcast against `like`
        (t a scalar, or a (B,) tensor of per-sample timesteps)."""
        tt = torch.as_tensor(t)
        if tt.ndim and tt.shape != (like.shape[0],):
            raise ValueError(f"per-sample timesteps must have shape ({like.shape[0]},), got {tuple(tt.shape)}")
        ac = self._alpha_prods(tt)
        if tt.ndim:
            ac = ac.reshape(-1, *([1] * (like.ndim - 1)))
        ac = ac.to(like.device)
        return ac.sqrt(), (1 - ac).sqrt()


    # ------------------------------------------------------------------ the model output
    def pred_x0(self, model_output: torch.Tensor, t: int | torch.Tensor, sample: torch.Tensor) -> torch.Tensor:
        """x̂0 from the model output at timestep t (DDIM eq. 12 / v-prediction: x̂0 = a·x_t − b·v)."""
        alpha_prod_t = self._alpha_prod(t)
        beta_prod_t = 1 - alpha_prod_t
        kind = self.config.prediction_type
        if kind == "epsilon":
            return (sample - beta_prod_t ** 0.5 * model_output) / alpha_prod_t ** 0.5
        if kind == "sample":
            return model_output
        return alpha_prod_t ** 0.5 * sample - beta_prod_t ** 0.5 * model_output

    def pred_eps(self, model_output: torch.Tensor, t: int | torch.Tensor, sample: torch.Tensor,
                 x0: torch.Tensor) -> torch.Tensor:
        """ε̂ from the model output at timestep t (x0 = `pred_x0` of the same output; v: ε̂ = a·v + b·x_t)."""
        alpha_prod_t = self._alpha_prod(t)
        beta_prod_t = 1 - alpha_prod_t
        kind = self.config.prediction_type
        if kind == "epsilon":
            return model_output
        if kind == "sample":
            return (sample - alpha_prod_t ** 0.5 * x0) / beta_prod_t ** 0.5
        return alpha_prod_t ** 0.5 * model_output + beta_prod_t ** 0.5 * sample

    def _check_step(self, model_output: torch.Tensor, timestep: int | torch.Tensor, sample: torch.Tensor) -> int:
        """The step's timestep as an int, after checking the inputs every `step` takes."""
        if torch.is_tensor(timestep) and timestep.numel() != 1:
            raise ValueError("step() takes one timestep for the whole batch (as the pipeline does), "
                             f"got a tensor of shape {tuple(timestep.shape)}")
        if model_output.shape != sample.shape:
            raise ValueError(f"model_output {tuple(model_output.shape)} and sample {tuple(sample.shape)} differ")
        if self.num_inference_steps is None:
            raise ValueError("call set_timesteps(num_inference_steps) before step()")
        return int(timestep)

    def step(self, model_output: torch.Tensor, timestep: int | torch.Tensor, sample: torch.Tensor,
             return_x0: bool = False, generator: torch.Generator | None = None):
        raise NotImplementedError(f"{type(self).__name__} has no step; use CogVideoXDDIM, CogVideoXDPM or DDIM")

    # ------------------------------------------------------------------ forward process
    def add_noise(self, x0: torch.Tensor, noise: torch.Tensor, t: int | torch.Tensor) -> torch.Tensor:
        """x_t = a_t·x0 + b_t·ε (t scalar or (B,))."""
        a, b = self._ab(t, x0)
        return (a * x0 + b * noise).to(x0.dtype)

    def get_velocity(self, x0: torch.Tensor, noise: torch.Tensor, t: int | torch.Tensor) -> torch.Tensor:
        """The v-prediction target v = a_t·ε − b_t·x0 (Salimans & Ho 2022, §4)."""
        a, b = self._ab(t, x0)
        return (a * noise - b * x0).to(x0.dtype)

    # ------------------------------------------------------------------ VP ↔ rectified flow
    def rf_time(self, t: int | torch.Tensor) -> torch.Tensor:
        """Rectified-flow time of DDPM timestep t: s = b_t / (a_t + b_t) (float64; 1 at zero terminal SNR)."""
        ac = self._alpha_prods(t)
        a, b = ac.sqrt(), (1 - ac).sqrt()
        return b / (a + b)

    def timestep_for_rf_time(self, s: float | torch.Tensor) -> torch.Tensor:
        """Inverse of `rf_time` on the continuous level: the (fractional) DDPM timestep whose RF time is s,
        by linear interpolation in the monotone table s(0..N−1). Lets an RF sampler query the VP model at
        arbitrary s ∈ [s(0), s(N−1)] (the transformer's timestep embedding accepts float timesteps)."""
        if self._rf_table is None:
            self._rf_table = self.rf_time(torch.arange(self.config.num_train_timesteps))  # increasing in t
        table = self._rf_table
        s = torch.as_tensor(s, dtype=torch.float64)
        lo, hi = table[0].item(), table[-1].item()
        if ((s < lo - 1e-9) | (s > hi + 1e-9)).any():
            raise ValueError(f"RF time must lie in [{lo:.6f}, {hi:.6f}] for this schedule, got {s}")
        s = s.clamp(lo, hi)
        idx = torch.searchsorted(table, s.reshape(-1)).clamp(1, len(table) - 1)
        s0, s1 = table[idx - 1], table[idx]
        frac = ((s.reshape(-1) - s0) / (s1 - s0)).clamp(0, 1)
        return (idx - 1 + frac).reshape(s.shape)

    def vp_to_rf(self, sample: torch.Tensor, t: int | torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """VP state x_t = a·x0 + b·ε  →  RF state z = x_t / (a + b) = (1 − s)·x0 + s·ε at s = b/(a + b).
        Returns (z, s) with s a scalar or (B,) tensor."""
        a, b = self._ab(t, sample)
        z = (sample / (a + b)).to(sample.dtype)
        s = b / (a + b)
        return z, (s.reshape(-1) if s.ndim else s)

    @staticmethod
    def rf_to_vp(z: torch.Tensor, s: float | torch.Tensor) -> torch.Tensor:
        """Inverse of `vp_to_rf`: x_t = (a + b)·z with a + b = 1 / sqrt((1 − s)² + s²) (since a² + b² = 1
        and b/a = s/(1 − s))."""
        s = torch.as_tensor(s, dtype=torch.float64, device=z.device)
        if s.ndim:
            s = s.reshape(-1, *([1] * (z.ndim - 1)))
        return (z / ((1 - s) ** 2 + s ** 2).sqrt()).to(z.dtype)

    def v_to_velocity(self, v_pred: torch.Tensor, sample: torch.Tensor, t: int | torch.Tensor) -> torch.Tensor:
        """Convert a v-prediction at DDPM timestep t into a rectified-flow velocity (minicog convention).

        VP: x_t = a·x0 + b·ε with a² + b² = 1 and v = a·ε − b·x0, so
            x̂0 = a·x_t − b·v,     ε̂ = b·x_t + a·v.
        RF reparametrisation: s = b/(a + b), z = x_t/(a + b)  ⇒  z = (1 − s)·x0 + s·ε, whose velocity
        dz/ds along the path is
            u = ε̂ − x̂0 = (b − a)·x_t + (a + b)·v.
        For the exact v of a known (x0, ε) this is exactly ε − x0. With `vp_to_rf` / `rf_to_vp` the
        pretrained model becomes an RF velocity model (`rf_velocity`), and DDIM (η = 0) is then
        *exactly* RF Euler: both move along the line (1 − s)·x̂0 + s·ε̂ through the current state, so
        Euler on the grid s_i = rf_time(t_i), ending at s = 0, reproduces the DDIM loop (tested).
        `sample` is the VP state x_t the model was given; t is a scalar or (B,) per-sample timesteps."""
        if v_pred.shape != sample.shape:
            raise ValueError(f"v_pred {tuple(v_pred.shape)} and sample {tuple(sample.shape)} differ")
        if self.config.prediction_type != "v_prediction":
            warnings.warn(f"this scheduler's prediction_type is {self.config.prediction_type!r}, "
                          "but v_to_velocity assumes a v-prediction model output")
        a, b = self._ab(t, sample)
        return _velocity_from_v(sample, v_pred, a, b).to(sample.dtype)

    def rf_velocity(self, model, z: torch.Tensor, s: float | torch.Tensor, cond, clamp_low: bool = False,
                    model_dtype: torch.dtype | None = None, out_dtype: torch.dtype | None = None) -> torch.Tensor:
        """The rectified-flow velocity u(z, s) of a v-prediction model `model(x_t, timestep (B,), cond)`
        (DDPM timesteps) at RF state z (B, ...) and RF time s (a scalar or (B,), 0 = data, 1 = noise).

        For RF time s the VP state is x_t = (a + b)·z with a = (1 − s)/r, b = s/r, r = sqrt((1 − s)² + s²)
        (so a² + b² = 1 and b/a = s/(1 − s)); the model runs at the fractional DDPM timestep of the same
        noise level (`timestep_for_rf_time`) and its v becomes u = (b − a)·x_t + (a + b)·v (`v_to_velocity`).
        a, b, and u are computed in float64.

        The two callers differ at the ends, each on purpose (their numbers are kept):
        * the low end: RF time below s(0) = rf_time(0) ≈ 0.05 is cleaner than any training timestep.
          `CogVideoX.velocity` (clamp_low=True) queries the model at timestep 0 there, because RF editors
          (FlowEdit, inversion) evaluate it all the way down to s = 0; `velocity_model` (clamp_low=False)
          refuses such s, because the DDIM grid it reproduces never evaluates below s(0).
        * the dtypes: the pipeline's state goes to its model in `model_dtype` (bf16 on a GPU) and u comes
          back as `out_dtype` float32 for the fp32 ODE; the plain wrapper keeps z's dtype for both."""
        if self.config.prediction_type != "v_prediction":
            raise ValueError(f"rf_velocity converts a v-prediction, but this folder's scheduler says "
                             f"prediction_type={self.config.prediction_type!r}: the RF view (velocity, editing) "
                             "needs a v-prediction checkpoint (all official CogVideoX ones are)")
        s = torch.as_tensor(s, dtype=torch.float64).detach().reshape(-1).cpu()
        if s.numel() == 1:
            s = s.expand(z.shape[0])
        if s.shape != (z.shape[0],):
            raise ValueError(f"t must be a scalar or (B,)=({z.shape[0]},) RF times, got shape {tuple(s.shape)}")
        if ((s < 0) | (s > 1)).any():
            raise ValueError(f"RF time must lie in [0, 1] (0 = data, 1 = noise), got {s.tolist()}")
        timestep = self.timestep_for_rf_time(s.clamp(min=float(self.rf_time(0))) if clamp_low else s)  # (B,)
        shape = (-1, *([1] * (z.ndim - 1)))
        norm = ((1 - s) ** 2 + s ** 2).rsqrt()
        a = ((1 - s) * norm).reshape(shape).to(z.device)                       # (B, 1, ..., 1)
        b = (s * norm).reshape(shape).to(z.device)
        x_t = ((a + b) * z.double()).to(model_dtype or z.dtype)               # the VP state
        v = model(x_t, timestep.to(z.device, torch.float32), cond).double()
        return _velocity_from_v(x_t.double(), v, a, b).to(out_dtype or z.dtype)

    def velocity_model(self, model):
        """Wrap a v-prediction model `model(x_t, timestep (B,), cond)` (DDPM timesteps) into a minicog
        velocity model `f(z, s (B,), cond)` on RF states and times, usable with `rectified_flow.sample`
        (`rf_velocity` with the state's dtype, refusing s below rf_time(0))."""
        def f(z, s, cond):
            return self.rf_velocity(model, z, s, cond)
        return f


def _randn(shape: tuple, generator: torch.Generator | None, device: torch.device, dtype: torch.dtype
           ) -> torch.Tensor:
    """Standard normal noise drawn as diffusers' `randn_tensor` draws it: on the CPU when the generator is a CPU
    one (then moved), else on `device`; `generator=None` uses torch's global RNG."""
    if generator is not None and generator.device.type != torch.device(device).type:
        if generator.device.type != "cpu":
            raise ValueError(f"cannot draw {torch.device(device)} noise from a {generator.device} generator; "
                             "use a CPU generator (torch.Generator()) or one on the latents' device")
        return torch.randn(shape, generator=generator, device="cpu", dtype=dtype).to(device)
    return torch.randn(shape, generator=generator, device=device, dtype=dtype)


class CogVideoXDDIM(VPScheduler):
    """Deterministic (η = 0) DDIM for CogVideoX, equal to diffusers' CogVideoXDDIMScheduler (CogVideoX-2b/-5b)."""

    diffusers_class = "CogVideoXDDIMScheduler"

    def step(self, model_output: torch.Tensor, timestep: int | torch.Tensor, sample: torch.Tensor,
             return_x0: bool = False, generator: torch.Generator | None = None):
        """x_t → x_{t_prev} with deterministic DDIM (η = 0), written like diffusers for bit-level parity:

            x_prev = c_t·x_t + d_t·x̂0,   c_t = sqrt((1 − ᾱ_prev)/(1 − ᾱ_t)),   d_t = sqrt(ᾱ_prev) − sqrt(ᾱ_t)·c_t

        (the ε̂-direction of DDIM eq. 12 rewritten with ε̂ = (x_t − sqrt(ᾱ_t) x̂0)/sqrt(1 − ᾱ_t); diffusers'
        CogVideoXDDIMScheduler ignores clip_sample, and so does this). `generator` is unused (no noise).
        Returns x_prev, or (x_prev, x̂0) with return_x0=True."""
        t = self._check_step(model_output, timestep, sample)
        alpha_prod_t = self._alpha_prod(t)
        alpha_prod_t_prev = self._alpha_prod(max(self.prev_timestep(t), -1))
        x0 = self.pred_x0(model_output, t, sample)
        c_t = ((1 - alpha_prod_t_prev) / (1 - alpha_prod_t)) ** 0.5
        d_t = alpha_prod_t_prev ** 0.5 - alpha_prod_t ** 0.5 * c_t
        prev = c_t * sample + d_t * x0
        return (prev, x0) if return_x0 else prev


class CogVideoXDPM(VPScheduler):
    """diffusers' CogVideoXDPMScheduler (CogVideoX 1.5): the stochastic DPM-Solver++(2M) of Lu et al. 2022
    ("DPM-Solver++", §4 and the SDE variant of Appendix), on the same ᾱ_t as CogVideoXDDIM.

    With the half log-SNR λ = log(a/b), h = λ_prev − λ_t and r = (λ_t − λ_back)/h (t_back the step before):

        x_prev = (b_prev/b_t)·e^{−h}·x_t + a_prev·(1 − e^{−2h})·D + b_prev·sqrt(1 − e^{−2h})·z,   z ~ N(0, I)

    with D = x̂0 at the first step and D = (1 + 1/2r)·x̂0 − (1/2r)·x̂0_back after it (the multistep
    correction with the previous step's x̂0). As diffusers, each step draws z from the pipeline's generator
    in the shape of the latents — once, then again for the corrected update (the first draw is discarded);
    the first and the last step draw once. `step` keeps x̂0_back and t_back between calls (reset by
    `set_timesteps`), which is what CogVideoXPipeline passes as `old_pred_original_sample` and
    `timesteps[i − 1]`; `dpm_step` is the same update with them given."""

    diffusers_class = "CogVideoXDPMScheduler"
    _back: tuple[int, torch.Tensor] | None = None                        # (t_back, x̂0_back) of the last step

    def set_timesteps(self, num_inference_steps: int, device: torch.device | str | None = None) -> torch.Tensor:
        self._back = None
        return super().set_timesteps(num_inference_steps, device)

    def step(self, model_output: torch.Tensor, timestep: int | torch.Tensor, sample: torch.Tensor,
             return_x0: bool = False, generator: torch.Generator | None = None):
        """x_t → x_{t_prev}; call it once per timestep in order, after `set_timesteps`. Returns x_prev, or
        (x_prev, x̂0) with return_x0=True. `generator`: where z is drawn from (None: torch's global RNG)."""
        t = self._check_step(model_output, timestep, sample)
        t_back, x0_back = self._back if self._back is not None else (None, None)
        prev, x0 = self.dpm_step(model_output, x0_back, t, t_back, sample, generator)
        self._back = (t, x0)
        return (prev, x0) if return_x0 else prev

    def dpm_step(self, model_output: torch.Tensor, x0_back: torch.Tensor | None, timestep: int,
                 timestep_back: int | None, sample: torch.Tensor, generator: torch.Generator | None = None
                 ) -> tuple[torch.Tensor, torch.Tensor]:
        """One update given the previous step's x̂0 and timestep (None at the first step) → (x_prev, x̂0),
        with diffusers' arithmetic (0-dim float64 coefficients) and draws, for bit-level parity."""
        t = self._check_step(model_output, timestep, sample)
        prev_t = self.prev_timestep(t)
        # 1. ᾱ at t, at the step's target and at the step before, and x̂0
        alpha_prod_t = self._alpha_prod(t)
        alpha_prod_t_prev = self._alpha_prod(max(prev_t, -1))
        x0 = self.pred_x0(model_output, t, sample)
        # 2. h = λ_prev − λ_t and the coefficients
        lamb = ((alpha_prod_t / (1 - alpha_prod_t)) ** 0.5).log()
        h = ((alpha_prod_t_prev / (1 - alpha_prod_t_prev)) ** 0.5).log() - lamb
        mult_x = ((1 - alpha_prod_t_prev) / (1 - alpha_prod_t)) ** 0.5 * (-h).exp()     # (b_prev/b_t)·e^{−h}
        mult_d = (-2 * h).expm1() * alpha_prod_t_prev ** 0.5                           # −a_prev·(1 − e^{−2h})
        mult_z = (1 - alpha_prod_t_prev) ** 0.5 * (1 - (-2 * h).exp()) ** 0.5           # b_prev·sqrt(1 − e^{−2h})
        # 3. the first-order update (the whole step at the first and the last timestep)
        z = _randn(sample.shape, generator, sample.device, sample.dtype)
        prev = mult_x * sample - mult_d * x0 + mult_z * z
        if x0_back is None or prev_t < 0:
            return prev, x0
        # 4. the second-order update with the previous x̂0 and fresh noise
        lamb_back = ((self._alpha_prod(timestep_back) / (1 - self._alpha_prod(timestep_back))) ** 0.5).log()
        r = (lamb - lamb_back) / h
        d = (1 + 1 / (2 * r)) * x0 - 1 / (2 * r) * x0_back
        z = _randn(sample.shape, generator, sample.device, sample.dtype)
        return mult_x * sample - mult_d * d + mult_z * z, x0


class DDIM(VPScheduler):
    """diffusers' plain DDIMScheduler at η = 0 (what CogVideoXPipeline runs for a folder that names it): no SNR
    shift, scaled_linear betas in float32, the zero-SNR rescale applied to the betas, and the ε̂ form of DDIM
    eq. 12 with x̂0 clipped to ±clip_sample_range when clip_sample is on:

        x_prev = sqrt(ᾱ_prev)·clip(x̂0) + sqrt(1 − ᾱ_prev)·ε̂

    Dynamic thresholding (thresholding=True) is refused when the config is read."""

    diffusers_class = "DDIMScheduler"

    @staticmethod
    def _alphas_cumprod(cfg: SchedulerConfig) -> tuple[torch.Tensor, torch.Tensor]:
        betas = _betas(cfg, torch.float32)
        if cfg.rescale_betas_zero_snr:       # diffusers rescales ᾱ through the betas here: β = 1 − ᾱ_t/ᾱ_{t−1}
            ab = rescale_zero_terminal_snr(torch.cumprod(1.0 - betas, dim=0))
            betas = 1 - torch.cat([ab[0:1], ab[1:] / ab[:-1]])
        return betas, torch.cumprod(1.0 - betas, dim=0)

    def step(self, model_output: torch.Tensor, timestep: int | torch.Tensor, sample: torch.Tensor,
             return_x0: bool = False, generator: torch.Generator | None = None):
        """x_t → x_{t_prev} (η = 0, so `generator` is unused). Returns x_prev, or (x_prev, x̂0) with return_x0."""
        t = self._check_step(model_output, timestep, sample)
        alpha_prod_t_prev = self._alpha_prod(max(self.prev_timestep(t), -1))
        x0 = self.pred_x0(model_output, t, sample)
        eps = self.pred_eps(model_output, t, sample, x0)            # from the unclipped x̂0, as diffusers
        if self.config.clip_sample:
            r = self.config.clip_sample_range
            x0 = x0.clamp(-r, r)
        prev = alpha_prod_t_prev ** 0.5 * x0 + (1 - alpha_prod_t_prev) ** 0.5 * eps
        return (prev, x0) if return_x0 else prev


SCHEDULERS = {c.diffusers_class: c for c in (CogVideoXDDIM, CogVideoXDPM, DDIM)}


def load_scheduler(source: str | os.PathLike | dict) -> VPScheduler:
    """The sampler a CogVideoX folder asks for: `scheduler_config.json` (a folder, the file, or its dict)
    → CogVideoXDDIM / CogVideoXDPM / DDIM by its `_class_name`; any other class or an unsupported field
    is a ValueError naming it (`SchedulerConfig.from_diffusers_config`)."""
    return VPScheduler.from_config(source) if isinstance(source, dict) else VPScheduler.from_folder(source)

