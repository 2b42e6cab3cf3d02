"""Plausible wrong answers to week 7's exercises (tests/test_wrong_answers.py)."""
import torch


def _start(noised=lambda x, n, t0: (1 - t0) * x + t0 * n, grid=lambda t0, s: (t0, 0.0, s + 1),
           prompt="target", sign=1.0):
    """A random-noise start with one thing changed: how the clip is noised, the grid, the prompt, the sign."""
    def random_noise_start(velocity, x_src, noise, c_src, c_tar, t0, steps):
        ts = torch.linspace(*grid(t0, steps)).tolist()
        z = noised(x_src, noise, t0)
        for t, t_next in zip(ts[:-1], ts[1:]):
            z = z + sign * (t_next - t) * velocity(z, t, c_tar if prompt == "target" else c_src)
        return z
    return random_noise_start


def _invert(grid):
    def invert(velocity, x0, steps):
        ts = torch.linspace(*grid(steps)).tolist()
        x = x0
        for t, t_next in zip(ts[:-1], ts[1:]):
            x = x + (t_next - t) * velocity(x, t)
        return x
    return invert


def _flowedit_no_offset(velocity_src, velocity_tar, x_src, z_edit, t, t_next, noise):
    z_src = (1 - t) * x_src + t * noise
    V = velocity_tar(z_src, t) - velocity_src(z_src, t)             # Z_tar without the edit's offset
    return z_edit + (t_next - t) * V.mean(0, keepdim=True)


def _flowedit_sum(velocity_src, velocity_tar, x_src, z_edit, t, t_next, noise):
    z_src = (1 - t) * x_src + t * noise
    z_tar = z_src + (z_edit - x_src)
    V = velocity_tar(z_tar, t) - velocity_src(z_src, t)
    return z_edit + (t_next - t) * V.sum(0, keepdim=True)             # summed over the draws, not averaged


def _flowedit_swapped(velocity_src, velocity_tar, x_src, z_edit, t, t_next, noise):
    z_src = (1 - t) * x_src + t * noise
    z_tar = z_src + (z_edit - x_src)
    V = velocity_src(z_src, t) - velocity_tar(z_tar, t)             # source minus target
    return z_edit + (t_next - t) * V.mean(0, keepdim=True)


WRONG = {
    "random_noise_start": [
        (_start(prompt="source"), "regenerates with the source prompt", r"with the \*source\* prompt"),
        (_start(grid=lambda t0, s: (0.0, 1.0, s + 1)), "integrates the wrong way, from t = 0 up to t = 1",
         r"from t = 0 up to t = 1, the way inversion runs"),
        (_start(grid=lambda t0, s: (0.0, t0, s + 1)), "integrates upwards, from t = 0 to t0",
         r"from t = 0 up to t0: the start runs from t0 down"),
        (_start(sign=-1.0), "steps with the velocity's sign flipped", r"sign flipped"),
        (_start(noised=lambda x, n, t0: x), "starts from the clean source latent instead of the noised clip",
         r"started from the clean source latent"),
        (_start(noised=lambda x, n, t0: n), "starts from the pure noise although t0 < 1",
         r"started from the pure noise"),
        (_start(noised=lambda x, n, t0: t0 * x + (1 - t0) * n), "clip and noise weighted the wrong way round",
         r"weighted the wrong way round"),
        (_start(grid=lambda t0, s: (t0, 0.0, s)), "an off-by-one grid: steps points, steps − 1 steps",
         r"one too few: \d+ steps need \d+ grid points"),
        (_start(grid=lambda t0, s: (t0, 0.0, s + 2)), "an off-by-one grid: steps + 1 steps", r"one too many"),
        (_start(grid=lambda t0, s: (1.0, 0.0, s + 1)), "the grid of a fresh generation, from t = 1",
         r"grid from t = 1 to 0"),
    ],
    "invert": [
        (_invert(lambda steps: (1.0, 0.0, steps + 1)), "integrates downwards, from noise to data", r"differs"),
        (_invert(lambda steps: (0.0, 1.0, steps)), "an off-by-one grid: steps − 1 steps", r"differs"),
    ],
    "flowedit_step": [
        (_flowedit_no_offset, "Z_tar = Z_src: the edit's offset Z_edit − X_src forgotten", r"differs"),
        (_flowedit_sum, "sums the candidate velocities instead of averaging them", r"differs"),
        (_flowedit_swapped, "source minus target velocity", r"differs"),
    ],
}
