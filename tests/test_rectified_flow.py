"""Rectified flow (minicog.rectified_flow): path, loss, time samplers, ODE samplers, CFG, inversion."""
import math

import numpy as np
import pytest
import torch

from minicog.rectified_flow import (TimestepSampler, guided_velocity, interpolate, invert, resolution_shift,
                                    rf_loss, sample, sample_logit_normal, scale_time, shift_time, timesteps,
                                    to_model_timestep, unshift_time, velocity_target)

D = torch.float64


pytestmark = pytest.mark.usefixtures("one_thread")     # everything here is tiny


def test_path_endpoints_and_velocity_is_its_derivative():
    g = torch.Generator().manual_seed(0)
    x0, eps = torch.randn(3, 2, 4, generator=g, dtype=D), torch.randn(3, 2, 4, generator=g, dtype=D)
    assert torch.equal(interpolate(x0, eps, 0.0), x0) and torch.equal(interpolate(x0, eps, 1.0), eps)
    t = torch.tensor([0.1, 0.5, 0.9], dtype=D)
    h = 1e-6
    fd = (interpolate(x0, eps, t + h) - interpolate(x0, eps, t - h)) / (2 * h)
    assert torch.allclose(fd, velocity_target(x0, eps), atol=1e-8)
    assert to_model_timestep(torch.tensor(0.25)).item() == 250.0
    with pytest.raises(ValueError, match="shape"):
        interpolate(x0, eps, torch.rand(2))


def test_one_euler_step_is_exact_for_straight_paths():
    """For data = one point μ the optimal velocity v(x, t) = (x − μ)/t is linear in x and its paths are
    straight, so Euler is exact with ANY number of steps — including a single one."""
    mu = torch.tensor([[2.0, -1.0, 0.5]], dtype=D)
    model = lambda x, t, c: (x - mu) / t.reshape(-1, 1)  # noqa: E731
    noise = torch.randn(5, 3, generator=torch.Generator().manual_seed(1), dtype=D)
    for steps in (1, 2, 7):
        out = sample(model, noise, steps=steps, progress=False)
        assert (out - mu).abs().max() < 1e-12
    # and the constant field v = ε − x0 of one pair carries ε to x0 in one step
    x0 = torch.randn(5, 3, dtype=D)
    assert torch.allclose(sample(lambda x, t, c: noise - x0, noise, steps=1, progress=False), x0, atol=1e-12)


def _err_vs_steps(method, steps_list):
    """dx/dt = −2x·t + sin(t) integrated from t=1 to t=0: error of the sample vs a 4096-step Heun reference."""
    model = lambda x, t, c: -2 * x * t.reshape(-1, 1) + torch.sin(t).reshape(-1, 1)  # noqa: E731
    x1 = torch.tensor([[1.5], [-0.7]], dtype=D)
    ref = sample(model, x1, steps=4096, method="heun", progress=False)
    return [(sample(model, x1, steps=n, method=method, progress=False) - ref).abs().max().item()
            for n in steps_list]


def test_heun_is_second_order_euler_first_order():
    steps = [4, 8, 16, 32, 64]
    slope = {m: np.polyfit(np.log(steps), np.log(_err_vs_steps(m, steps)), 1)[0] for m in ("euler", "heun")}
    assert -1.2 < slope["euler"] < -0.8, slope
    assert -2.3 < slope["heun"] < -1.8, slope


class _Field(torch.nn.Module):
    """A fixed nonlinear, time-dependent velocity field (random small MLP)."""

    def __init__(self, dim=3, seed=0):
        super().__init__()
        torch.manual_seed(seed)
        self.net = torch.nn.Sequential(torch.nn.Linear(dim + 1, 32), torch.nn.Tanh(), torch.nn.Linear(32, dim))
        self.double()

    def forward(self, x, t, cond):
        return self.net(torch.cat([x, t.reshape(-1, 1).to(x)], dim=1))


@pytest.mark.parametrize("method", ["euler", "heun"])
def test_invert_then_sample_round_trip_shrinks_with_steps(method):
    field = _Field()
    x0 = torch.randn(16, 3, generator=torch.Generator().manual_seed(2), dtype=D)
    errs = []
    for n in (4, 16, 64):
        noise = invert(field, x0, steps=n, method=method, progress=False)
        back = sample(field, noise, steps=n, method=method, progress=False)
        errs.append((back - x0).abs().max().item())
    assert errs[0] > errs[1] > errs[2], errs
    assert errs[2] < (1e-2 if method == "euler" else 1e-4), errs
    # inversion really moves data to a different (noise-time) state
    assert (invert(field, x0, steps=8, progress=False) - x0).abs().max() > 0.1


def test_time_grid_shift_and_inverse_grid():
    g = timesteps(10)
    assert g.shape == (11,) and g[0] == 1 and g[-1] == 0 and torch.all(g[1:] < g[:-1])
    gs = timesteps(10, shift=3.0)
    assert gs[0] == 1 and gs[-1] == 0 and torch.all(gs[1:-1] > g[1:-1])     # shift > 1 spends more steps near noise
    assert torch.allclose(timesteps(10, 3.0, 0.0, 1.0), gs.flip(0))
    part = timesteps(6, 3.0, t_start=0.6)
    assert part[0].item() == pytest.approx(0.6) and part[-1] == 0
    u = torch.rand(100, dtype=D)
    assert torch.allclose(unshift_time(shift_time(u, 2.5), 2.5), u)
    for bad in (dict(steps=0), dict(steps=4, t_start=1.5), dict(steps=4, t_start=0.0, t_end=0.0)):
        with pytest.raises(ValueError):
            timesteps(**bad)
    with pytest.raises(ValueError, match="shift"):
        shift_time(0.5, 0.0)


def test_shift_parity_with_diffusers_flow_match():
    """shift_time == FlowMatchEulerDiscreteScheduler's static shift; resolution_shift('flux') == FLUX's
    calculate_shift + exponential time shift."""
    from diffusers import FlowMatchEulerDiscreteScheduler
    from diffusers.pipelines.flux.pipeline_flux import calculate_shift
    sig = np.linspace(1.0, 0.05, 12).astype(np.float32)
    ref = FlowMatchEulerDiscreteScheduler(shift=3.0)
    ref.set_timesteps(sigmas=sig.tolist())
    assert torch.allclose(ref.sigmas[:-1], shift_time(torch.from_numpy(sig), 3.0), atol=1e-6)
    for n_tok in (256, 1024, 4096, 8192):
        dyn = FlowMatchEulerDiscreteScheduler(use_dynamic_shifting=True)
        dyn.set_timesteps(sigmas=sig.tolist(), mu=calculate_shift(n_tok))
        ours = shift_time(torch.from_numpy(sig), resolution_shift(n_tok, mode="flux"))
        assert torch.allclose(dyn.sigmas[:-1], ours, atol=1e-6)
    assert resolution_shift(1024, 256, mode="sd3") == pytest.approx(2.0)
    with pytest.raises(ValueError, match="mode"):
        resolution_shift(1024, mode="nope")


def test_timestep_samplers():
    g = torch.Generator().manual_seed(0)
    t = sample_logit_normal(20000, m=0.5, s=0.8, generator=g)
    assert t.min() > 0 and t.max() < 1
    logit = torch.log(t / (1 - t))
    assert abs(logit.mean().item() - 0.5) < 0.03 and abs(logit.std().item() - 0.8) < 0.03
    u = TimestepSampler("uniform")(20000, generator=g)
    assert abs(u.mean().item() - 0.5) < 0.01
    sh = TimestepSampler("uniform", shift=3.0)(20000, generator=g)
    assert sh.mean() > 0.6                                   # shifted towards noise
    with pytest.raises(ValueError, match="sampler"):
        TimestepSampler("beta")


class _Recorder:
    """Velocity model v = x·w(cond) + t that records the batch sizes it was called with."""

    def __init__(self):
        self.batches = []

    def __call__(self, x, t, cond):
        self.batches.append(x.shape[0])
        emb, mask = cond["emb"], cond["mask"]
        w = (emb * mask).sum(1, keepdim=True)
        return x * w + t.reshape(-1, 1)


def test_guidance_is_one_batched_call_and_combines_correctly():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(3, 2, generator=g)
    cond = {"emb": torch.randn(3, 4, generator=g), "mask": torch.ones(3, 4)}
    uncond = {"emb": torch.zeros(3, 4), "mask": torch.ones(3, 4)}
    m = _Recorder()
    v = guided_velocity(m, x, 0.3, cond, uncond, guidance=4.0)
    assert m.batches == [6]                                  # ONE call with cond + uncond batched
    v_c, v_u = _Recorder()(x, torch.full((3,), 0.3), cond), _Recorder()(x, torch.full((3,), 0.3), uncond)
    assert torch.allclose(v, v_u + 4.0 * (v_c - v_u))
    m = _Recorder()
    sample(m, x, cond, uncond, steps=3, guidance=4.0, method="heun", progress=False)
    assert m.batches == [6] * 6                              # heun: 2 evaluations per step
    m = _Recorder()
    sample(m, x, cond, steps=3, progress=False)              # guidance 1: conditional only
    assert m.batches == [3] * 3
    # tuple conds, e.g. (text_embeds, text_mask)
    model = lambda x, t, c: x * (c[0] * c[1]).sum(1, keepdim=True)  # noqa: E731
    vt = guided_velocity(model, x, 0.5, (cond["emb"], cond["mask"]), (uncond["emb"], uncond["mask"]), 2.0)
    assert torch.allclose(vt, 2.0 * x * cond["emb"].sum(1, keepdim=True))
    with pytest.raises(ValueError, match="uncond"):
        sample(m, x, cond, steps=2, guidance=3.0, progress=False)
    with pytest.raises(ValueError, match="method"):
        sample(m, x, cond, steps=2, method="rk4", progress=False)


def test_callback_sees_every_step_and_can_replace_state():
    mu = torch.tensor([[1.0, 2.0]], dtype=D)
    model = lambda x, t, c: (x - mu) / t.reshape(-1, 1)  # noqa: E731
    noise = torch.randn(4, 2, dtype=D)
    seen = []
    sample(model, noise, steps=5, progress=False, callback=lambda i, t, x, v: seen.append((i, t, x.clone())))
    assert [s[0] for s in seen] == list(range(5))
    assert [s[1] for s in seen] == pytest.approx(timesteps(5)[1:].tolist())
    for _, t, x in seen:                                   # states lie on the straight line to μ
        assert torch.allclose(x, (1 - t) * mu + t * noise, atol=1e-6)
    out = sample(model, noise, steps=2, progress=False, callback=lambda i, t, x, v: torch.zeros_like(x))
    assert torch.equal(out, torch.zeros_like(noise))


def test_scale_time_wrapper():
    seen = []
    f = scale_time(lambda x, t, c: seen.append(t) or x)
    f(torch.zeros(2, 1), torch.tensor([0.5, 1.0]), None)
    assert seen[0].tolist() == [500.0, 1000.0]


def test_loss_of_tiny_model_decreases_and_weight_masks():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(3, 64), torch.nn.SiLU(), torch.nn.Linear(64, 64), torch.nn.SiLU(),
                              torch.nn.Linear(64, 2))
    model = lambda x, t, c: net(torch.cat([x, t[:, None]], 1))  # noqa: E731
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    g = torch.Generator().manual_seed(0)

    def data(n):  # two Gaussian blobs
        sign = torch.randint(0, 2, (n, 1), generator=g) * 2 - 1
        return sign * torch.tensor([2.0, 1.0]) + 0.1 * torch.randn(n, 2, generator=g)

    losses = []
    for _ in range(300):
        loss = rf_loss(model, data(256), sampler="logit_normal", generator=g)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert np.mean(losses[-30:]) < 0.7 * np.mean(losses[:30]), (losses[:3], losses[-3:])
    # weights: zero weight on the second half == the loss of the first half alone
    x0, eps, t = data(8), torch.randn(8, 2, generator=g), torch.rand(8, generator=g)
    w = torch.cat([torch.ones(4), torch.zeros(4)]).reshape(8, 1)
    full = rf_loss(model, x0, t=t, noise=eps, weight=w)
    half = rf_loss(model, x0[:4], t=t[:4], noise=eps[:4])
    assert full.item() == pytest.approx(half.item(), rel=1e-5)
    with pytest.raises(ValueError, match="broadcast"):
        rf_loss(model, x0, t=t, noise=eps, weight=torch.ones(3))
    with pytest.raises(ValueError, match="sampler"):
        rf_loss(model, x0, sampler=42)


def test_sample_works_in_float32_and_returns_input_dtype():
    field = _Field().float()
    x = torch.randn(4, 3)
    out = sample(field, x, steps=4, method="heun", progress=False)
    assert out.dtype == torch.float32 and torch.isfinite(out).all()
    assert math.isfinite(rf_loss(field, x).item())
