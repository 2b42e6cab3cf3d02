"""What several weeks' checks share: seeded random inputs and toy velocity fields."""
from __future__ import annotations

from typing import Callable

import torch




def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _randn(*shape, seed: int = 0, dtype=torch.float32) -> torch.Tensor:
    return torch.randn(*shape, generator=_gen(seed), dtype=dtype)


def _toy_velocity(seed: int = 0) -> Callable[[torch.Tensor, float | torch.Tensor], torch.Tensor]:
    """A smooth, nonlinear, time-dependent velocity field v(x, t) on tensors of any shape; t a float
    or a (B,) tensor."""
    a, b = [float(v) for v in torch.rand(2, generator=_gen(seed)) + 0.5]

    def velocity(x: torch.Tensor, t) -> torch.Tensor:
        t = torch.as_tensor(t, dtype=x.dtype)
        if t.ndim:
            t = t.reshape(-1, *([1] * (x.ndim - 1)))
        return torch.sin(a * x + t) * (1 + t) - b * x

    return velocity


