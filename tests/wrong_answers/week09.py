"""Plausible wrong answers to week 9's exercises (tests/test_wrong_answers.py)."""


def _ab(alpha_bar):
    return alpha_bar.sqrt(), (1 - alpha_bar).sqrt()


def _velocity(v, x_t, alpha_bar):
    a, b = _ab(alpha_bar)
    return (b - a) * x_t + (a + b) * v


def _x0_eps_swapped_ab(v, x_t, alpha_bar):
    a, b = _ab(alpha_bar)
    return b * x_t - a * v, a * x_t + b * v


def _x0_eps_sign(v, x_t, alpha_bar):
    a, b = _ab(alpha_bar)
    return a * x_t + b * v, b * x_t - a * v


def _x0_eps_order(v, x_t, alpha_bar):
    a, b = _ab(alpha_bar)
    return b * x_t + a * v, a * x_t - b * v


def _x0_eps_no_sqrt(v, x_t, alpha_bar):
    return alpha_bar * x_t - (1 - alpha_bar) * v, (1 - alpha_bar) * x_t + alpha_bar * v


def _step_on_x(v, x_t, alpha_bar, alpha_bar_next):
    (a, b), (a2, b2) = _ab(alpha_bar), _ab(alpha_bar_next)
    return x_t + (b2 / (a2 + b2) - b / (a + b)) * _velocity(v, x_t, alpha_bar)


def _step_returns_z(v, x_t, alpha_bar, alpha_bar_next):
    (a, b), (a2, b2) = _ab(alpha_bar), _ab(alpha_bar_next)
    return x_t / (a + b) + (b2 / (a2 + b2) - b / (a + b)) * _velocity(v, x_t, alpha_bar)


def _step_back_with_old_scale(v, x_t, alpha_bar, alpha_bar_next):
    a, b = _ab(alpha_bar)
    return _step_returns_z(v, x_t, alpha_bar, alpha_bar_next) * (a + b)


def _step_wrong_way(v, x_t, alpha_bar, alpha_bar_next):
    (a, b), (a2, b2) = _ab(alpha_bar), _ab(alpha_bar_next)
    z = x_t / (a + b) + (b / (a + b) - b2 / (a2 + b2)) * _velocity(v, x_t, alpha_bar)
    return z * (a2 + b2)


def _step_unscaled_velocity(v, x_t, alpha_bar, alpha_bar_next):
    (a, b), (a2, b2) = _ab(alpha_bar), _ab(alpha_bar_next)
    z = x_t / (a + b) + (b2 / (a2 + b2) - b / (a + b)) * ((b - a) * x_t + v)
    return z * (a2 + b2)


WRONG = {
    "v_to_x0_eps": [
        (_x0_eps_swapped_ab, "a and b swapped", r"x̂0 .*a and b swapped"),
        (_x0_eps_sign, "the sign of the v term flipped", r"x̂0 .*sign of the v term"),
        (_x0_eps_order, "returns (ε̂, x̂0)", r"wrong order"),
        (_x0_eps_no_sqrt, "ᾱ used for a", r"square roots"),
        (lambda v, x_t, alpha_bar: alpha_bar.sqrt() * x_t - (1 - alpha_bar).sqrt() * v,
         "returns x̂0 alone", r"return the pair \(x̂0, ε̂\)"),
    ],
    "v_to_velocity": [
        (lambda v, x_t, alpha_bar: -_velocity(v, x_t, alpha_bar), "x̂0 − ε̂: the wrong direction", r"wrong way"),
        (lambda v, x_t, alpha_bar: (alpha_bar.sqrt() - (1 - alpha_bar).sqrt()) * x_t
         + (alpha_bar.sqrt() + (1 - alpha_bar).sqrt()) * v, "a and b swapped", r"a and b swapped"),
        (lambda v, x_t, alpha_bar: ((1 - alpha_bar).sqrt() - alpha_bar.sqrt()) * x_t + v,
         "the (a + b) scaling of v missing", r"without the factor \(a \+ b\)"),
    ],
    "ddim_step_as_euler": [
        (_step_on_x, "the Euler step taken on x_t, not on z = x_t / (a + b)", r"stepping the VP state x_t itself"),
        (_step_returns_z, "returns the RF state z", r"return the RF state z"),
        (_step_back_with_old_scale, "converts back with this timestep's a + b", r"this timestep's a \+ b"),
        (_step_wrong_way, "(s − s_next)·u: the step's sign flipped", r"wrong way"),
        (_step_unscaled_velocity, "the velocity without the (a + b) on v", r"differs from minicog's"),
    ],
}
