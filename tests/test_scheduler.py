"""CogVideoX samplers (minicog.scheduler) vs diffusers' CogVideoXDDIMScheduler, CogVideoXDPMScheduler,
DDIMScheduler and CogVideoXPipeline; the loader's reading of scheduler configs."""
import dataclasses
import json
import math
import warnings

import pytest
import torch

from minicog.scheduler import (DDIM, CogVideoXDDIM, CogVideoXDPM, SchedulerConfig, apply_guidance,
                               dynamic_guidance_scale, guided_inputs, load_scheduler, model_timesteps)

diffusers = pytest.importorskip("diffusers")
from diffusers import CogVideoXDDIMScheduler, CogVideoXDPMScheduler, DDIMScheduler  # noqa: E402

COG_2B = dataclasses.asdict(SchedulerConfig.cogvideox_2b())
CONFIGS = {
    "cogvideox-2b": COG_2B,
    "no-snr-shift": {**COG_2B, "snr_shift_scale": 1.0},
    "eps-leading": {**COG_2B, "prediction_type": "epsilon", "timestep_spacing": "leading", "steps_offset": 1,
                    "rescale_betas_zero_snr": False, "set_alpha_to_one": False},
    "sample-linspace-linear": {**COG_2B, "prediction_type": "sample", "timestep_spacing": "linspace",
                               "beta_schedule": "linear", "beta_end": 0.02, "beta_start": 0.0001},
    "cosine-trailing": {**COG_2B, "beta_schedule": "squaredcos_cap_v2", "snr_shift_scale": 2.0},
}
DDIM_CONFIGS = {   # plain DDIMScheduler: its own defaults (diffusers' test components), and zero-SNR v-prediction
    "default": {},
    "zero-snr-v-trailing": {"beta_schedule": "scaled_linear", "beta_start": 0.00085, "beta_end": 0.012,
                            "prediction_type": "v_prediction", "rescale_betas_zero_snr": True,
                            "timestep_spacing": "trailing", "clip_sample": False},
    "sample-linspace-clip-0.5": {"prediction_type": "sample", "timestep_spacing": "linspace",
                                 "clip_sample_range": 0.5, "set_alpha_to_one": False},
}
# (diffusers class, config): every sampler minicog runs, on each of its test configs
CASES = ([(c, n, cfg) for c in (CogVideoXDDIMScheduler, CogVideoXDPMScheduler) for n, cfg in CONFIGS.items()]
         + [(DDIMScheduler, n, cfg) for n, cfg in DDIM_CONFIGS.items()])


pytestmark = pytest.mark.usefixtures("one_thread")     # everything here is tiny


def rel_err(a, b):
    return ((a.double() - b.double()).abs().max() / b.double().abs().max().clamp_min(1e-12)).item()


@pytest.mark.parametrize("ref_cls,name,cfg", CASES, ids=[f"{c.__name__}-{n}" for c, n, _ in CASES])
@pytest.mark.parametrize("steps", [1, 3, 7, 50])
def test_step_by_step_parity_with_diffusers(ref_cls, name, cfg, steps):
    """Each sampler == its diffusers class, step by step from the same input. DPM: diffusers' arguments
    (the previous x̂0 and timestep, a generator), against minicog's state and a generator of the same seed."""
    ref = ref_cls.from_config(cfg)
    ours = load_scheduler({"_class_name": ref_cls.__name__, **cfg})
    assert type(ours).diffusers_class == ref_cls.__name__
    assert rel_err(ours.alphas_cumprod, ref.alphas_cumprod) == 0.0
    ref.set_timesteps(steps)
    ours.set_timesteps(steps)
    assert torch.equal(ours.timesteps, ref.timesteps)
    g = torch.Generator().manual_seed(steps)
    g_ref, g_ours = torch.Generator().manual_seed(7), torch.Generator().manual_seed(7)
    x_ref = x_ours = torch.randn(2, 4, 3, 5, 5, generator=g)
    x0_old = None
    for i, t in enumerate(ref.timesteps):
        out = torch.randn(x_ref.shape, generator=g)
        if ref_cls is CogVideoXDPMScheduler:
            x_ref, x0_ref = ref.step(out, x0_old, t, ref.timesteps[i - 1] if i else None, x_ref, generator=g_ref,
                                     return_dict=False)
            x0_old = x0_ref
        else:
            x_ref, x0_ref = ref.step(out, t, x_ref, return_dict=False)
        x_ours, x0_ours = ours.step(out, t, x_ours, return_x0=True, generator=g_ours)
        assert rel_err(x_ours, x_ref) < 1e-6, (name, int(t))
        assert rel_err(x0_ours, x0_ref) < 1e-6
        x_ours = x_ref  # compare each step from the same input
    assert torch.equal(torch.randn(3, generator=g_ours), torch.randn(3, generator=g_ref))   # same number of draws


def test_dpm_draws_noise_and_uses_the_previous_x0():
    """The DPM step is stochastic (the generator matters) and second order (the previous x̂0 matters)."""
    cfg = {**COG_2B, "_class_name": "CogVideoXDPMScheduler"}
    x, out = torch.randn(1, 4, 2, 3, 3), torch.randn(1, 4, 2, 3, 3)

    def run(seed, outs):
        s = load_scheduler(cfg)
        s.set_timesteps(4)
        y, g = x, torch.Generator().manual_seed(seed)
        for t, o in zip(s.timesteps, outs):
            y = s.step(o, t, y, generator=g)
        return y
    assert isinstance(load_scheduler(cfg), CogVideoXDPM)
    assert not torch.equal(run(0, [out] * 4), run(1, [out] * 4))
    first = run(0, [out, 2 * out, out, out])
    assert not torch.equal(first, run(0, [out, out, out, out]))


def test_cogvideox_2b_schedule_properties():
    s = CogVideoXDDIM.from_config({"_class_name": "CogVideoXDDIMScheduler", "_diffusers_version": "0.30", **COG_2B})
    assert s.alphas_cumprod[-1] == 0.0                   # zero terminal SNR
    assert torch.all(s.alphas_cumprod[1:] < s.alphas_cumprod[:-1])
    s.set_timesteps(50)
    assert s.timesteps[0] == 999 and s.timesteps[-1] == 19 and len(s.timesteps) == 50   # trailing
    # the SNR shift divides the SNR by snr_shift_scale (before the zero-SNR rescale)
    base = CogVideoXDDIM.from_config({**COG_2B, "snr_shift_scale": 1.0, "rescale_betas_zero_snr": False})
    shifted = CogVideoXDDIM.from_config({**COG_2B, "snr_shift_scale": 3.0, "rescale_betas_zero_snr": False})
    snr = lambda ac: ac / (1 - ac)  # noqa: E731
    assert torch.allclose(snr(shifted.alphas_cumprod), snr(base.alphas_cumprod) / 3.0, rtol=1e-10)


def test_add_noise_and_velocity_parity():
    ref, ours = CogVideoXDDIMScheduler(**COG_2B), CogVideoXDDIM.from_config(COG_2B)
    g = torch.Generator().manual_seed(0)
    x0, eps = torch.randn(3, 4, 2, 4, 4, generator=g), torch.randn(3, 4, 2, 4, 4, generator=g)
    t = torch.tensor([0, 500, 999])
    assert rel_err(ours.add_noise(x0, eps, t), ref.add_noise(x0, eps, t)) < 1e-6
    assert rel_err(ours.get_velocity(x0, eps, t), ref.get_velocity(x0, eps, t)) < 1e-6


def test_v_to_velocity_exact_and_round_trip():
    s = CogVideoXDDIM.from_config(COG_2B)
    g = torch.Generator().manual_seed(0)
    x0 = torch.randn(4, 4, 2, 3, 3, dtype=torch.float64, generator=g)
    eps = torch.randn(4, 4, 2, 3, 3, dtype=torch.float64, generator=g)
    for t in [torch.tensor([0, 1, 500, 999]), 250]:
        x_t = s.add_noise(x0, eps, t)
        v = s.get_velocity(x0, eps, t)
        u = s.v_to_velocity(v, x_t, t)
        assert (u - (eps - x0)).abs().max() < 1e-10             # the exact v gives exactly ε − x0
        z, rf_s = s.vp_to_rf(x_t, t)
        sb = rf_s.reshape(-1, 1, 1, 1, 1) if torch.is_tensor(rf_s) and rf_s.ndim else rf_s
        assert (z - ((1 - sb) * x0 + sb * eps)).abs().max() < 1e-10   # z = (1 − s)·x0 + s·ε
        assert (s.rf_to_vp(z, rf_s) - x_t).abs().max() < 1e-10        # and back
    # RF time: 1 at zero terminal SNR, monotone, and timestep_for_rf_time inverts it
    table = s.rf_time(torch.arange(1000))
    assert table[-1] == 1.0 and torch.all(table[1:] > table[:-1])
    t_frac = s.timestep_for_rf_time(table[[0, 10, 500, 999]])
    assert torch.allclose(t_frac, torch.tensor([0.0, 10, 500, 999], dtype=torch.float64), atol=1e-6)


@pytest.mark.parametrize("steps", [1, 10, 50])
def test_ddim_is_rf_euler_in_rf_variables(steps):
    """DDIM (η = 0) is exactly Euler on the RF ODE dz/ds = ε̂ − x̂0 in z = x_t/(a+b), s = b/(a+b):
    running minicog's RF `sample` on the grid s_i = rf_time(t_i), s_N = 0 with `velocity_model`
    reproduces the DDIM loop for any (here nonlinear, time-dependent) v-model."""
    from minicog.rectified_flow import sample
    s = CogVideoXDDIM.from_config(COG_2B)

    def v_model(x_t, t, cond):
        return torch.tanh(x_t) * torch.cos(t.double() / 300).reshape(-1, 1, 1) + 0.1 * x_t + cond

    cond = torch.randn(2, 3, 4, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    noise = torch.randn(2, 3, 4, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    s.set_timesteps(steps)
    x = noise
    for t in s.timesteps:
        x = s.step(v_model(x, t.reshape(1).expand(2), cond), t, x)
    grid = torch.cat([s.rf_time(s.timesteps), torch.zeros(1, dtype=torch.float64)])
    z0, _ = s.vp_to_rf(noise, s.timesteps[0])
    z = sample(s.velocity_model(v_model), z0, cond, times=grid, progress=False)
    assert rel_err(z, x) < 1e-6


def test_dynamic_guidance_matches_official_pipeline_and_full_loop_parity():
    """Run diffusers' CogVideoXPipeline (tiny random transformer, dynamic CFG) and rebuild its denoising loop
    from minicog's building blocks: the guidance scales and the final latents must match."""
    from diffusers import CogVideoXPipeline, CogVideoXTransformer3DModel
    torch.manual_seed(0)
    tr = CogVideoXTransformer3DModel(num_attention_heads=2, attention_head_dim=8, in_channels=4, out_channels=4,
                                     time_embed_dim=8, text_embed_dim=16, num_layers=1, sample_width=4,
                                     sample_height=4, sample_frames=5, patch_size=2,
                                     temporal_compression_ratio=4, max_text_seq_length=8).eval()
    pipe = CogVideoXPipeline(tokenizer=None, text_encoder=None, vae=None, transformer=tr,
                             scheduler=CogVideoXDDIMScheduler(**COG_2B))
    pipe.set_progress_bar_config(disable=True)
    emb, neg = torch.randn(1, 8, 16), torch.randn(1, 8, 16)
    steps, scales = 7, []

    def record(p, i, t, kw):
        scales.append(p.guidance_scale)
        return {}

    ref = pipe(prompt_embeds=emb, negative_prompt_embeds=neg, num_frames=5, height=32, width=32,
               num_inference_steps=steps, guidance_scale=6.0, use_dynamic_cfg=True, output_type="latent",
               generator=torch.Generator().manual_seed(1), callback_on_step_end=record).frames
    sched = CogVideoXDDIM.from_config(COG_2B)
    sched.set_timesteps(steps)
    x = torch.randn(ref.shape, generator=torch.Generator().manual_seed(1))
    for i, t in enumerate(sched.timesteps):
        x_in, e_in = guided_inputs(x, emb, neg)
        with torch.no_grad():
            out = tr(hidden_states=x_in, encoder_hidden_states=e_in, timestep=model_timesteps(t, 2),
                     return_dict=False)[0].float()
        g = dynamic_guidance_scale(6.0, int(t), steps)      # the pipeline plugs in the DDPM timestep
        assert g == pytest.approx(scales[i], abs=1e-12)
        x = sched.step(apply_guidance(out, g), t, x)
    assert rel_err(x, ref) < 1e-6


def test_dynamic_guidance_by_step_index_anneals_smoothly():
    g = [dynamic_guidance_scale(6.0, i, 50) for i in range(50)]
    assert g[0] == pytest.approx(7.0)
    assert all(a >= b for a, b in zip(g, g[1:])) and g[-1] < 1.01


def test_guidance_helpers():
    x = torch.randn(2, 3)
    c, u = torch.ones(2, 4), torch.zeros(2, 4)
    xx, ee = guided_inputs(x, c, u)
    assert torch.equal(xx, torch.cat([x, x])) and torch.equal(ee[:2], u) and torch.equal(ee[2:], c)
    out = torch.cat([torch.full((2, 3), 1.0), torch.full((2, 3), 3.0)])      # [uncond; cond]
    assert torch.allclose(apply_guidance(out, 2.0), torch.full((2, 3), 5.0))
    assert model_timesteps(torch.tensor(999), 4).tolist() == [999] * 4
    with pytest.raises(ValueError, match="same shape"):
        guided_inputs(x, c, torch.zeros(2, 5))
    with pytest.raises(ValueError, match="even batch"):
        apply_guidance(torch.zeros(3, 2), 2.0)


def test_from_folder_and_bad_input(tmp_path):
    (tmp_path / "scheduler").mkdir()
    (tmp_path / "scheduler" / "scheduler_config.json").write_text(json.dumps(COG_2B))
    for folder in (tmp_path, tmp_path / "scheduler"):
        s = CogVideoXDDIM.from_folder(folder)
        assert s.config.prediction_type == "v_prediction" and s.config.timestep_spacing == "trailing"
    with pytest.raises(FileNotFoundError, match="scheduler_config.json"):
        CogVideoXDDIM.from_folder(tmp_path / "nope")
    with pytest.raises(ValueError, match="timestep_spacing"):
        CogVideoXDDIM.from_config({**COG_2B, "timestep_spacing": "karras"})
    with pytest.raises(ValueError, match="beta_schedule"):
        CogVideoXDDIM.from_config({**COG_2B, "beta_schedule": "sigmoid"})
    with pytest.warns(UserWarning, match="not parameters of diffusers' CogVideoXDDIMScheduler"):
        CogVideoXDDIM.from_config({**COG_2B, "thresholding": False})
    s = CogVideoXDDIM.from_config(COG_2B)
    with pytest.raises(ValueError, match="set_timesteps"):
        s.step(torch.zeros(1), 999, torch.zeros(1))
    with pytest.raises(ValueError, match="num_inference_steps"):
        s.set_timesteps(0)
    assert math.isfinite(float(s.rf_time(0)))


def test_rf_velocity_ends_and_dtypes():
    """The one VP → RF conversion: below s(0) = rf_time(0) the pipeline's form (clamp_low=True) queries
    timestep 0, the plain `velocity_model` refuses; model_dtype / out_dtype set the model's input and u."""
    s = CogVideoXDDIM.from_config(COG_2B)
    seen = []

    def v_model(x_t, t, cond):
        seen.append((x_t.dtype, t.clone()))
        return 0.5 * x_t + cond

    z = torch.randn(2, 3, 4, generator=torch.Generator().manual_seed(0))
    u = s.rf_velocity(v_model, z, torch.tensor([0.0, 0.5]), 0.1, clamp_low=True, model_dtype=torch.float64,
                      out_dtype=torch.float32)
    assert u.dtype == torch.float32 and seen[-1][0] == torch.float64 and seen[-1][1][0] == 0.0
    # at s = 0 the state is the data (a = 1, b = 0): u = v − x
    torch.testing.assert_close(u[0], (0.5 * z[0].double() + 0.1 - z[0].double()).float())
    with pytest.raises(ValueError, match="RF time must lie in"):
        s.velocity_model(v_model)(z, torch.tensor([0.0, 0.5]), 0.1)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        s.rf_velocity(v_model, z, 1.5, 0.1, clamp_low=True)
    # the plain wrapper keeps the state's dtype and equals the pipeline's form where both are defined
    grid = torch.tensor([0.9, 0.3])
    torch.testing.assert_close(s.velocity_model(v_model)(z, grid, 0.1),
                               s.rf_velocity(v_model, z, grid, 0.1, clamp_low=True), rtol=0, atol=0)


def test_unknown_diffusers_keys_warn_through_one_loader():
    with pytest.warns(UserWarning, match=r"ignoring scheduler config keys \['thresholding'\]"):
        cfg = SchedulerConfig.from_diffusers_config({**COG_2B, "thresholding": False,
                                                    "_class_name": "CogVideoXDDIMScheduler"})
    assert cfg == SchedulerConfig.cogvideox_2b()


# the configs a folder may carry, read as diffusers reads them: missing fields take the class's defaults, keys
# of other classes are ignored (with a warning here), harmless keys pass silently
READS = {
    "DDIMScheduler-empty": ("DDIMScheduler", {}),
    "DDIMScheduler-with-snr-shift-key": ("DDIMScheduler", {"snr_shift_scale": 3.0}),          # not a DDIM field
    "DDIMScheduler-harmless": ("DDIMScheduler", {"thresholding": False, "dynamic_thresholding_ratio": 0.9,
                                                 "sample_max_value": 2.0, "_diffusers_version": "0.30.0"}),
    "CogVideoXDDIMScheduler-empty": ("CogVideoXDDIMScheduler", {}),                           # snr shift 3.0
    "CogVideoXDPMScheduler-1.5": ("CogVideoXDPMScheduler", {**COG_2B, "snr_shift_scale": 1.0,
                                                            "_diffusers_version": "0.32.0.dev0"}),
    "CogVideoXDPMScheduler-no-shift-key": ("CogVideoXDPMScheduler",
                                           {k: v for k, v in COG_2B.items() if k != "snr_shift_scale"}),
}


@pytest.mark.parametrize("name", sorted(READS))
def test_configs_are_read_as_diffusers_reads_them(name):
    cls_name, cfg = READS[name]
    cfg = {"_class_name": cls_name, **cfg}
    ref = getattr(diffusers, cls_name).from_config(cfg)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        ours = load_scheduler(cfg)
    assert [str(w.message) for w in seen] == (
        ["ignoring scheduler config keys ['snr_shift_scale']: they are not parameters of diffusers' DDIMScheduler, "
         "which ignores them too"] if "snr-shift-key" in name else [])
    assert type(ours).diffusers_class == cls_name
    assert rel_err(ours.alphas_cumprod, ref.alphas_cumprod) == 0.0
    for field in ("clip_sample", "prediction_type", "timestep_spacing", "set_alpha_to_one", "steps_offset"):
        assert getattr(ours.config, field) == ref.config[field], field


@pytest.mark.parametrize("cfg,match", [
    ({"_class_name": "EulerDiscreteScheduler"}, (r"scheduler class 'EulerDiscreteScheduler' is not supported.*"
                                                 r"CogVideoXDDIMScheduler, CogVideoXDPMScheduler, DDIMScheduler")),
    ({"_class_name": "DDIMScheduler", "thresholding": True}, (r"DDIMScheduler with thresholding=True is not "
                                                             r"supported: minicog implements thresholding=False")),
    ({"_class_name": "CogVideoXDPMScheduler", "timestep_spacing": "karras"}, r"timestep_spacing 'karras'.*linspace"),
    ({"_class_name": "DDIMScheduler", "prediction_type": "flow"}, r"prediction_type 'flow'.*v_prediction"),
])
def test_unsupported_classes_and_fields_are_refused(cfg, match):
    with pytest.raises(ValueError, match=match):
        load_scheduler(cfg)


def test_a_class_loads_only_its_own_config():
    assert isinstance(load_scheduler({"_class_name": "DDIMScheduler"}), DDIM)
    assert isinstance(load_scheduler(COG_2B), CogVideoXDDIM)           # no _class_name: CogVideoX DDIM
    with pytest.raises(ValueError, match="load_scheduler"):
        CogVideoXDDIM.from_config({**COG_2B, "_class_name": "CogVideoXDPMScheduler"})
    eps = load_scheduler({"_class_name": "DDIMScheduler"})
    with pytest.raises(ValueError, match="prediction_type='epsilon'"):
        eps.rf_velocity(lambda x, t, c: x, torch.zeros(1, 2), 0.5, None)
