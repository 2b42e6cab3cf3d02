"""VAE trainer: the recipe as a config (one unknown-key policy, keyword overrides), the LR schedule's
shape, a few steps on small Shapes clips that lower the loss and write a loadable checkpoint, and
the same run twice giving the same numbers."""
import json

import pytest
import torch

from minicog.causal_vae import CausalVAE, VAEConfig
from minicog.train_vae import VAETrainConfig, reconstruction_loss, train_vae, vae_lr_at


def small_vae() -> VAEConfig:
    cfg = VAEConfig.tiny()
    cfg.block_out_channels, cfg.norm_num_groups = (8, 8, 16, 16), 4
    return cfg


# small enough for CI: 32 px, 1 clip (or 8 single frames) per step, a short evaluation
SMALL = dict(batch_size=1, size=32, lr=3e-3, workers=0, eval_clips=2, eval_frames=5, progress=False)


def quiet(*args):
    pass


def test_config_policy_and_overrides():
    c = VAETrainConfig.from_dict({"steps": 7, "frames": [1, 5], "_comment": "metadata is skipped"})
    assert c.steps == 7 and c.frames == (1, 5)
    assert VAETrainConfig(frames=9).frames == (9,)                          # one length → a tuple
    assert VAETrainConfig.from_dict(json.loads(json.dumps(c.to_dict()))) == c
    with pytest.raises(ValueError, match=r"unknown VAETrainConfig fields \['stpes'\]"):
        VAETrainConfig.from_dict({"stpes": 7})
    with pytest.raises(ValueError, match="need steps >= 1"):
        VAETrainConfig(steps=0)
    # keyword overrides go through the same policy, before any training starts
    with pytest.raises(ValueError, match="unknown VAETrainConfig fields"):
        train_vae(small_vae(), stpes=3)


def test_lr_schedule_warms_up_holds_and_decays_to_five_percent():
    lrs = [vae_lr_at(s, 1000, 1e-3) for s in range(1000)]
    warmup = 1000 // 10 + 1                                                 # 101 (at most 200)
    assert lrs[0] == pytest.approx(1e-3 / warmup) and lrs[warmup - 1] == pytest.approx(1e-3)
    assert all(a < b for a, b in zip(lrs[:warmup - 1], lrs[1:warmup]))     # linear warm-up
    assert set(lrs[warmup:600]) == {1e-3}                                  # held until 60 %
    assert all(a >= b for a, b in zip(lrs[600:], lrs[601:]))               # then cosine decay
    assert 0.05e-3 < lrs[-1] < 0.051e-3                                    # to the 5 % floor
    assert vae_lr_at(10**6, 10**6, 1e-3) == pytest.approx(0.05e-3)
    # the decoder stage: short warm-up (at most 50), decay from the end of warm-up on
    dec = [vae_lr_at(s, 300, 2e-4, max_warmup=50, decay_from=0.0) for s in range(300)]
    assert dec[30] == pytest.approx(2e-4) and dec[31] < dec[30] and dec[-1] < 0.06 * 2e-4


def test_reconstruction_loss_weights_the_object():
    x = -torch.ones(1, 3, 1, 8, 8)                                          # black background
    x[..., 2:4, 2:4] = 1.0                                                  # a white object
    miss_object, miss_background = x.clone(), x.clone()
    miss_object[..., 2:4, 2:4] = 0.0
    miss_background[..., 6:8, 6:8] = 0.0                                    # as many pixels wrong
    assert reconstruction_loss(miss_object, x) == reconstruction_loss(miss_background, x)
    assert reconstruction_loss(miss_object, x, fg_weight=4.0) > reconstruction_loss(miss_background, x, fg_weight=4.0)


def test_a_few_steps_lower_the_loss_and_write_a_checkpoint(tmp_path):
    out = tmp_path / "vae"
    config = VAETrainConfig(steps=10, frames=1, save_every=5, **SMALL)
    vae, m = train_vae(small_vae(), out, config, log=quiet)
    losses = [h["loss"] for h in m["history"] if "loss" in h]
    assert len(losses) == 10 and {h["frames"] for h in m["history"]} == {1}
    first, last = sum(losses[:4]) / 4, sum(losses[-4:]) / 4
    assert last < 0.85 * first, (first, last)
    assert m["steps"] == 10 and m["frames"] == [1] and m["scaling_factor"] > 0
    # the final checkpoint (written atomically: no temp file left) holds the measured scaling factor
    assert sorted(p.name for p in out.iterdir()) == ["config.json", "model.safetensors"]
    back = CausalVAE.from_pretrained(out)
    assert back.scaling_factor == pytest.approx(m["scaling_factor"])
    for k, v in vae.state_dict().items():
        torch.testing.assert_close(back.state_dict()[k], v, rtol=0, atol=0)


def test_config_and_keywords_give_the_same_run():
    """`train_vae(cfg, None, VAETrainConfig(...))` and `train_vae(cfg, steps=..., ...)` are one run:
    every random draw (weights, clips, posterior samples) comes from the seed."""
    a = train_vae(small_vae(), None, VAETrainConfig(steps=2, frames=(1, 5), **SMALL), log=quiet)[1]
    b = train_vae(small_vae(), steps=2, frames=(1, 5), log=quiet, **SMALL)[1]
    assert [h["frames"] for h in a["history"]] == [1, 5]                  # lengths in turn
    assert a["history"] == b["history"] and a["scaling_factor"] == b["scaling_factor"]
