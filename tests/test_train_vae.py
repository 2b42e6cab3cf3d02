"""VAE trainer: the recipe as a config (one unknown-key policy, keyword overrides), the LR schedule's
shape, a few steps on small Shapes clips that lower the loss and write a loadable checkpoint, the
same run twice giving the same numbers, and an interrupted stage (whole VAE or decoder) resumed to
exactly the uninterrupted run."""
import json

import pytest
import torch

from minicog.causal_vae import CausalVAE, VAEConfig
from minicog.lr_schedule import vae_lr_at
from minicog.train_vae import (DecoderFinetuneConfig, VAETrainConfig, finetune_decoder, reconstruction_loss,
                               train_vae)


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
    # the VAE (written atomically: no temp file left) holds the measured scaling factor; beside it
    # the resumable checkpoint of the last step
    assert sorted(p.name for p in out.iterdir()) == ["checkpoint.safetensors", "config.json", "model.safetensors"]
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


def _same_weights(a, b):
    for k, v in a.state_dict().items():
        torch.testing.assert_close(b.state_dict()[k], v, rtol=0, atol=0)


def test_an_interrupted_vae_run_resumes_exactly(tmp_path):
    """Stopped at step 3 and resumed, the run continues the same clips, posterior samples and
    optimizer state: the history and the weights equal those of one uninterrupted run."""
    config = VAETrainConfig(steps=5, frames=(1, 5), save_every=2, **SMALL)
    full_vae, full = train_vae(small_vae(), tmp_path / "a", config, log=quiet)
    part_vae, part = train_vae(small_vae(), tmp_path / "b", config, stop_after=3, log=quiet)
    assert part["stopped_at"] == 3 and not (tmp_path / "b" / "model.safetensors").exists()
    lines = []
    with pytest.warns(UserWarning, match=r"changed settings: \['lr'\]"):       # a changed recipe is named
        train_vae(small_vae(), tmp_path / "c", config, stop_after=1, log=quiet)
        train_vae(small_vae(), tmp_path / "c", config, stop_after=2, log=quiet, lr=1e-3)
    resumed_vae, resumed = train_vae(small_vae(), tmp_path / "b", config, log=lines.append)
    assert any("resuming" in line and "at step 3 of 5" in line for line in lines)
    assert resumed["history"] == full["history"] and resumed["scaling_factor"] == full["scaling_factor"]
    _same_weights(full_vae, resumed_vae)


def test_decoder_finetune_keeps_the_encoder_and_resumes_exactly(tmp_path):
    torch.manual_seed(0)
    base = CausalVAE(small_vae())
    tune = DecoderFinetuneConfig(steps=4, batch_size=1, frames=5, size=32, workers=0, save_every=2, progress=False)
    with pytest.raises(ValueError, match="unknown DecoderFinetuneConfig fields"):
        finetune_decoder(base, tune, stpes=3)
    full_vae = CausalVAE(small_vae())
    full_vae.load_state_dict(base.state_dict())
    full = finetune_decoder(full_vae, tune, out_dir=tmp_path / "a", log=quiet)
    assert full["decoder_steps"] == 4 and len(full["decoder_history"]) == 4
    for k, v in base.encoder.state_dict().items():                         # the latent space is kept
        torch.testing.assert_close(full_vae.encoder.state_dict()[k], v, rtol=0, atol=0)
    assert any(not torch.equal(full_vae.decoder.state_dict()[k], v) for k, v in base.decoder.state_dict().items())
    part_vae = CausalVAE(small_vae())
    part_vae.load_state_dict(base.state_dict())
    finetune_decoder(part_vae, tune, out_dir=tmp_path / "b", stop_after=1, log=quiet)
    resumed_vae = CausalVAE(small_vae())
    resumed_vae.load_state_dict(base.state_dict())
    resumed = finetune_decoder(resumed_vae, tune, out_dir=tmp_path / "b", log=quiet)
    assert resumed["decoder_history"] == full["decoder_history"]
    _same_weights(full_vae, resumed_vae)
