"""Plausible wrong answers to week 2's exercises (tests/test_wrong_answers.py)."""
import torch


def _t(t, x):
    """A (B,) t shaped to broadcast over x (the part every rf_loss answer below gets right)."""
    return t.reshape(-1, *([1] * (x.ndim - 1)))


def _interpolate_2d_only(x0, noise, t):
    t = torch.as_tensor(t, dtype=x0.dtype)
    if t.ndim:
        t = t[:, None]                                  # right for (B, D) data, wrong for video latents
    return (1 - t) * x0 + t * noise


def _loss(model, x0, noise, t, *, x_t=None, target=None, reduce=torch.mean):
    x_t = (1 - _t(t, x0)) * x0 + _t(t, x0) * noise if x_t is None else x_t
    target = noise - x0 if target is None else target
    return reduce((model(x_t, t) - target) ** 2)


def _loss_per_sample(model, x0, noise, t):
    err = (model((1 - _t(t, x0)) * x0 + _t(t, x0) * noise, t) - (noise - x0)) ** 2
    return err.flatten(1).mean(1)                       # one loss per sample: never averaged over the batch


def _loss_item(model, x0, noise, t):
    return _loss(model, x0, noise, t).item()


def _loss_broadcast_t(model, x0, noise, t):
    tt = _t(t, x0)
    return ((model((1 - tt) * x0 + tt * noise, tt) - (noise - x0)) ** 2).mean()   # the model gets t reshaped


def _heun_wrong_point(velocity, x, t, t_next):
    dt = t_next - t
    return x + dt * (velocity(x, t) + velocity(x, t_next)) / 2     # second slope at x, not at the predicted point


WRONG = {
    "interpolate": [
        (lambda x0, noise, t: t * x0 + (1 - t) * noise, "x0 and noise swapped", r"differs"),
        (_interpolate_2d_only, "t reshaped to (B, 1): right for 2-D data, wrong for video latents",
         r"raised RuntimeError"),
    ],
    "rf_loss": [
        (lambda model, x0, noise, t: _loss(model, x0, noise, t, target=x0 - noise),
         "the target velocity with the wrong sign (x0 − ε)", r"target velocity pointing the wrong way"),
        (lambda model, x0, noise, t: _loss(model, x0, noise, t, x_t=_t(t, x0) * x0 + (1 - _t(t, x0)) * noise),
         "t and 1 − t swapped in the path", r"t and 1 − t swapped"),
        (lambda model, x0, noise, t: _loss(model, x0, noise, t, reduce=torch.sum),
         "the sum of the squared errors instead of their mean", r"sum of the squared errors"),
        (_loss_per_sample, "one loss per sample, not averaged over the batch", r"one loss per sample"),
        (lambda model, x0, noise, t: _loss_per_sample(model, x0, noise, t).sum(),
         "summed over the batch instead of averaged", r"summed over the batch"),
        (lambda model, x0, noise, t: _loss(model, x0, noise, t, x_t=x0),
         "the model evaluated at the clean x0", r"evaluated at the clean x0"),
        (_loss_item, "the loss as a Python float (.item())", r"don't call \.item\(\)"),
        (_loss_broadcast_t, "the model given t reshaped for broadcasting", r"takes t as a \(B,\) tensor"),
    ],
    "euler_step": [
        (lambda velocity, x, t, t_next: x + (t - t_next) * velocity(x, t), "the step's sign flipped",
         r"the next state differs"),
        (lambda velocity, x, t, t_next: x + (t_next - t) * velocity(x, t_next),
         "the slope taken at t_next instead of t", r"the next state differs"),
    ],
    "heun_step": [
        (_heun_wrong_point, "the second slope evaluated at x instead of at the Euler prediction",
         r"the next state differs"),
    ],
}
