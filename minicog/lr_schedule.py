"""The learning-rate schedule of both trainers: linear warm-up, an optional hold, cosine decay.

    warmup_cosine(step, total, lr, warmup, min_ratio, decay_start)   # the formula, once
    lr_at(train_config, step)       # the text-to-video trainer (minicog.train): warm restarts per stage
    vae_lr_at(step, steps, lr)      # the VAE trainer (minicog.train_vae): warm-up, hold to 60 %, decay

Both trainers import it from here, so neither imports the other (issue 38: imports point one way).
"""
from __future__ import annotations

import math


def warmup_cosine(step: int, total: int, lr: float, warmup: int, min_ratio: float,
                  decay_start: int | None = None) -> float:
    """The learning rate of `step` (of `total`): linear warm-up over the first `warmup` steps, held
    at `lr` until `decay_start` (default: the end of warm-up), then a cosine decay to
    `lr·min_ratio` at the last step. The one LR formula of both trainers (train, train_vae)."""
    if step < warmup:
        return lr * (step + 1) / warmup
    start = warmup if decay_start is None else decay_start
    if step < start:
        return lr
    p = (step - start) / max(1, total - start)
    return lr * (min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * p)))


def lr_at(config, step: int) -> float:
    """The text-to-video schedule of a `TrainConfig`: linear warm-up to `lr`, then cosine decay to
    `lr·min_lr_ratio` at the last step; a stage with its own `lr` starts a new cycle of the same
    form (warm restart, SGDR) that ends where the next one starts or at the last step."""
    starts, peaks, begin = [0], [config.lr], 0
    for s in config.stages:
        if s.lr is not None and begin == 0:
            peaks[0] = s.lr
        elif s.lr is not None:
            starts.append(begin)
            peaks.append(s.lr)
        begin = s.until
    c = max(i for i, b in enumerate(starts) if step >= b)
    end = starts[c + 1] if c + 1 < len(starts) else config.steps
    return warmup_cosine(step - starts[c], end - starts[c], peaks[c], config.warmup, config.min_lr_ratio)


def vae_lr_at(step: int, steps: int, lr: float, max_warmup: int = 200, decay_from: float = 0.6) -> float:
    """The VAE's schedule: warm up (over a tenth of the steps, at most `max_warmup`), hold, then
    cosine-decay to 5 % over the last (1 - decay_from) of training — `warmup_cosine` with the VAE's
    settings (the decoder fine-tune: `max_warmup=50, decay_from=0.0`)."""
    return warmup_cosine(step, steps, lr, warmup=min(max_warmup, steps // 10 + 1), min_ratio=0.05,
                         decay_start=int(decay_from * steps))
