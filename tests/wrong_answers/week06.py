"""Plausible wrong answers to week 6's exercises (tests/test_wrong_answers.py)."""
import torch


def _guided_always_uncond(model, x, t, cond, uncond, guidance):
    v_c, v_u = model(x, t, cond), model(x, t, uncond)     # also calls the model on uncond = None at g = 1
    return v_u + guidance * (v_c - v_u)


def _grid_linear_in_t(steps, shift=1.0):
    t = torch.linspace(1.0, 0.0, steps + 1, dtype=torch.float64)
    return t / (shift - (shift - 1) * t)                   # the inverse map instead of the shift


def _sample_without_guidance(model, noise, cond, uncond, steps, guidance):
    ts = torch.linspace(1.0, 0.0, steps + 1)
    x = noise
    for t, t_next in zip(ts[:-1], ts[1:]):
        x = x + (t_next - t) * model(x, t.expand(x.shape[0]), cond)     # the conditional velocity only
    return x


def _sample_off_by_one(model, noise, cond, uncond, steps, guidance):
    ts = torch.linspace(1.0, 0.0, steps)                  # steps − 1 steps: one grid point short
    x = noise
    for t, t_next in zip(ts[:-1], ts[1:]):
        tt = t.expand(x.shape[0])
        v_c = model(x, tt, cond)
        v = v_c if guidance == 1 else model(x, tt, uncond) + guidance * (v_c - model(x, tt, uncond))
        x = x + (t_next - t) * v
    return x


WRONG = {
    "guided_velocity": [
        (lambda model, x, t, cond, uncond, g: model(x, t, cond) + g * (model(x, t, cond) - model(x, t, uncond)),
         "extrapolates from v_c instead of v_u", r"differs from minicog's"),
        (_guided_always_uncond, "calls the unconditional model even at guidance 1, where uncond is None",
         r"raised AttributeError"),
    ],
    "time_grid": [
        (lambda steps, shift=1.0: torch.linspace(0.0, 1.0, steps + 1, dtype=torch.float64),
         "runs from 0 to 1 and forgets the shift", r"the grid differs"),
        (_grid_linear_in_t, "applies the inverse map u = t / (s − (s − 1)·t)", r"the grid differs"),
    ],
    "euler_sample": [
        (_sample_without_guidance, "ignores the guidance", r"the sample differs"),
        (_sample_off_by_one, "a grid of steps points, one step short", r"the sample differs"),
    ],
}
