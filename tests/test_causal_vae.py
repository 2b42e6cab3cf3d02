"""Causal 3D VAE: parity with diffusers' AutoencoderKLCogVideoX, loading, causality, the shipped tiny VAE."""
import json
import random

import pytest
import torch

from minicog.causal_vae import (CausalConv3d, CausalVAE, VAEConfig, conv_cache, diffusers_to_minicog,
                                minicog_to_diffusers)

diffusers = pytest.importorskip("diffusers")
from diffusers import AutoencoderKLCogVideoX  # noqa: E402

TOL = 1e-4  # max relative error, fp32


def rel_err(a: torch.Tensor, b: torch.Tensor) -> float:
    """max|a - b| / max|b|"""
    return ((a - b).abs().max() / b.abs().max()).item()


def random_config(seed: int) -> dict:
    """A small random AutoencoderKLCogVideoX config (diffusers kwargs)."""
    rng = random.Random(seed)
    groups = rng.choice([2, 4, 8])
    levels = rng.choice([3, 4])
    ch = sorted(groups * rng.choice([2, 3, 4]) for _ in range(levels))
    return dict(block_out_channels=tuple(ch), layers_per_block=rng.choice([1, 2]), norm_num_groups=groups,
                down_block_types=("CogVideoXDownBlock3D",) * levels, up_block_types=("CogVideoXUpBlock3D",) * levels,
                latent_channels=rng.choice([4, 8, 16]),
                temporal_compression_ratio=rng.choice([2, 4]) if levels > 2 else 2,
                sample_height=64, sample_width=64)


def diffusers_vae(kwargs: dict, seed: int) -> AutoencoderKLCogVideoX:
    torch.manual_seed(seed)
    ref = AutoencoderKLCogVideoX(**kwargs).eval()
    with torch.no_grad():  # non-trivial norm affines, so a mix-up of scale and shift would show
        for name, p in ref.named_parameters():
            if "norm" in name:
                p.add_(0.2 * torch.randn_like(p))
    return ref


def to_minicog(ref: AutoencoderKLCogVideoX) -> CausalVAE:
    vae = CausalVAE(VAEConfig.from_diffusers_config(dict(ref.config))).eval()
    vae.load_state_dict(diffusers_to_minicog(ref.state_dict()))
    return vae


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_parity_with_diffusers(seed):
    kwargs = random_config(seed)
    ref = diffusers_vae(kwargs, seed)
    vae = to_minicog(ref)
    t = kwargs["temporal_compression_ratio"]
    s = 2 ** (len(kwargs["block_out_channels"]) - 1)
    # 9 frames: one diffusers chunk; 17 frames: two encode chunks (9 + 8) and two decode chunks
    for frames in (9, 17):
        x = torch.rand(1, 3, frames, 2 * s, 3 * s, generator=torch.Generator().manual_seed(frames)) * 2 - 1
        with torch.no_grad():
            post_ref = ref.encode(x).latent_dist
            post = vae.encode(x)
            assert post.mean.shape == post_ref.mean.shape == (1, kwargs["latent_channels"],
                                                              1 + (frames - 1) // t, 2, 3)
            assert rel_err(post.mean, post_ref.mean) < TOL, (kwargs, frames)
            assert rel_err(post.logvar, post_ref.logvar) < TOL
            z = post_ref.sample(generator=torch.Generator().manual_seed(0))
            video_ref = ref.decode(z).sample
            video = vae.decode(z)
        assert video.shape == video_ref.shape == x.shape
        assert rel_err(video, video_ref) < TOL, (kwargs, frames)


def test_parity_with_diffusers_tiling():
    kwargs = random_config(3)
    ref = diffusers_vae(kwargs, 3)
    vae = to_minicog(ref)
    ref.enable_tiling(tile_sample_min_height=32, tile_sample_min_width=32,
                      tile_overlap_factor_height=1 / 4, tile_overlap_factor_width=1 / 4)
    vae.enable_tiling(32, 32, 1 / 4, 1 / 4)
    s = 2 ** (len(kwargs["block_out_channels"]) - 1)
    x = torch.rand(1, 3, 9, 48, 72, generator=torch.Generator().manual_seed(0)) * 2 - 1
    with torch.no_grad():
        m_ref, m = ref.encode(x).latent_dist.mean, vae.encode(x).mean
        assert m.shape == m_ref.shape and m.shape[-2:] == (48 // s, 72 // s)
        assert rel_err(m, m_ref) < TOL
        z = torch.randn(1, kwargs["latent_channels"], m.shape[2], 64 // s, 96 // s)
        v_ref, v = ref.decode(z).sample, vae.decode(z)
        tiles = []                         # the public per-tile hook (minicog.memory traces tiles with it)
        hooked = vae.decode(z, decode_frames=lambda t: tiles.append(tuple(t.shape)) or vae.decode_frames(t))
    assert torch.equal(hooked, v) and len(tiles) > 1 and all(t[-2:] <= (32 // s, 32 // s) for t in tiles)
    assert v.shape == v_ref.shape == (1, 3, 9, 64, 96)
    assert rel_err(v, v_ref) < TOL
    # tiles are a (blended) approximation of the untiled pass, not a copy of it
    vae.disable_tiling()
    with torch.no_grad():
        assert not torch.allclose(vae.decode(z), v, atol=1e-3)


def test_from_diffusers_single_and_sharded(tmp_path):
    kwargs = random_config(4)
    ref = diffusers_vae(kwargs, 4)
    ref.save_pretrained(tmp_path / "single")
    ref.save_pretrained(tmp_path / "sharded", max_shard_size="100KB")
    assert (tmp_path / "sharded" / "diffusion_pytorch_model.safetensors.index.json").is_file()
    assert len(list((tmp_path / "sharded").glob("*.safetensors"))) > 1
    x = torch.rand(1, 3, 9, 16, 16) * 2 - 1
    with torch.no_grad():
        expected = ref.encode(x).latent_dist.mean
        for sub in ("single", "sharded"):
            vae = CausalVAE.from_diffusers(tmp_path / sub).eval()
            assert vae.config.latent_channels == kwargs["latent_channels"]
            assert rel_err(vae.encode(x).mean, expected) < TOL


def test_loading_errors(tmp_path):
    from safetensors.torch import load_file, save_file
    with pytest.raises(FileNotFoundError, match="does not exist"):
        CausalVAE.from_diffusers(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="no config.json"):
        CausalVAE.from_diffusers(tmp_path / "empty")

    kwargs = random_config(5)
    folder = tmp_path / "vae"
    diffusers_vae(kwargs, 5).save_pretrained(folder)
    weights = folder / "diffusion_pytorch_model.safetensors"
    state = load_file(weights)
    good = dict(state)
    # missing + unexpected keys are listed by their (diffusers) names
    del state["encoder.conv_in.conv.weight"]
    state["encoder.extra.weight"] = torch.zeros(1)
    save_file(state, weights)
    with pytest.raises(ValueError) as err:
        CausalVAE.from_diffusers(folder)
    assert "missing keys (1): encoder.conv_in.conv.weight" in str(err.value)
    assert "unexpected keys (1): encoder.extra.weight" in str(err.value)
    # shape mismatch: the config says more latent channels than the weights have
    save_file(good, weights)
    cfg = json.loads((folder / "config.json").read_text())
    cfg["latent_channels"] = kwargs["latent_channels"] * 2
    (folder / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ValueError, match="shape mismatches"):
        CausalVAE.from_diffusers(folder)
    # some other model's folder
    cfg["_class_name"] = "AutoencoderKL"
    (folder / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ValueError, match="not an AutoencoderKLCogVideoX"):
        CausalVAE.from_diffusers(folder)
    # minicog-format loader pointed at a diffusers folder says so
    with pytest.raises(FileNotFoundError, match="from_diffusers"):
        CausalVAE.from_pretrained(folder)


def test_key_renames_roundtrip():
    ref = AutoencoderKLCogVideoX(**random_config(6))
    vae = CausalVAE(VAEConfig.from_diffusers_config(dict(ref.config)))
    assert set(diffusers_to_minicog(ref.state_dict())) == set(vae.state_dict())
    assert set(minicog_to_diffusers(vae.state_dict())) == set(ref.state_dict())


def test_input_validation():
    vae = CausalVAE(VAEConfig.tiny()).eval()
    assert (vae.spatial_compression, vae.temporal_compression) == (8, 4)
    with pytest.raises(ValueError, match="1\\+4k"):
        vae.encode(torch.zeros(1, 3, 8, 64, 64))
    with pytest.raises(ValueError, match="multiple of 8"):
        vae.encode(torch.zeros(1, 3, 9, 60, 64))
    with pytest.raises(ValueError, match="3 channels"):
        vae.encode(torch.zeros(1, 4, 9, 64, 64))
    with pytest.raises(ValueError, match="5D tensor"):
        vae.encode(torch.zeros(3, 9, 64, 64))
    with pytest.raises(ValueError, match="8 channels"):
        vae.decode(torch.zeros(1, 16, 3, 8, 8))
    with pytest.raises(ValueError, match="multiple of the temporal compression"):
        vae.enable_frame_chunking(sample_frames=6)
    with pytest.raises(ValueError, match="multiples of 8"):
        vae.enable_tiling(tile_height=36)


@pytest.mark.parametrize("frames", [1, 5, 13, 17])
def test_frames_1_plus_4k_to_1_plus_k(frames):
    vae = CausalVAE(VAEConfig.tiny(), block_out_channels=(8, 8, 8, 8), norm_num_groups=4).eval()
    with torch.no_grad():
        post = vae.encode(torch.zeros(1, 3, frames, 32, 48))
        assert post.mean.shape == (1, 8, 1 + (frames - 1) // 4, 4, 6)
        assert vae.latent_shape(frames, 32, 48) == tuple(post.mean.shape[1:])
        for chunks in (None, 1):  # 1+k latents -> 1+4k frames, whole clip or one latent at a time
            vae.chunk_latent_frames = chunks
            assert vae.decode(post.mean).shape == (1, 3, frames, 32, 48)


def test_causal_conv_ignores_future_and_cache_is_exact():
    conv = CausalConv3d(3, 5, 3)
    x = torch.randn(1, 3, 10, 8, 8)
    y = x.clone()
    y[:, :, 6:] = torch.randn_like(y[:, :, 6:])   # change frames 6..9
    with torch.no_grad():
        out_x, out_y = conv(x), conv(y)
        assert torch.equal(out_x[:, :, :6], out_y[:, :, :6])
        assert not torch.allclose(out_x[:, :, 6:], out_y[:, :, 6:])
        with conv_cache(conv):                    # chunk by chunk with the cache = whole clip
            chunked = torch.cat([conv(x[:, :, a:b]) for a, b in [(0, 1), (1, 5), (5, 10)]], dim=2)
        torch.testing.assert_close(chunked, out_x, atol=1e-6, rtol=0)
        assert conv.cache is None                 # the cache does not leak into the next clip


def test_chunked_vae_is_causal():
    """With frame chunking, later chunks cannot change earlier latents / frames (GroupNorm only
    mixes frames within a chunk)."""
    vae = CausalVAE(VAEConfig.tiny(), block_out_channels=(8, 8, 16, 16), norm_num_groups=4).eval()
    vae.enable_frame_chunking(sample_frames=4, latent_frames=1)
    x = torch.rand(1, 3, 17, 32, 32) * 2 - 1
    y = x.clone()
    y[:, :, 9:] = torch.rand_like(y[:, :, 9:])    # frames 9..16 feed latents 3 and 4 only
    with torch.no_grad():
        zx, zy = vae.encode(x).mean, vae.encode(y).mean
        assert torch.equal(zx[:, :, :3], zy[:, :, :3])
        assert not torch.allclose(zx[:, :, 3:], zy[:, :, 3:])
        z2 = zx.clone()
        z2[:, :, 3:] = torch.randn_like(z2[:, :, 3:])
        vx, v2 = vae.decode(zx), vae.decode(z2)   # latents 0..2 decode to frames 0..8
        assert torch.equal(vx[:, :, :9], v2[:, :, :9])
        assert not torch.allclose(vx[:, :, 9:], v2[:, :, 9:])


def test_chunked_equals_whole_clip_without_groupnorm():
    """The conv cache makes chunked processing exact; GroupNorm (per-chunk statistics) is the only
    difference between chunked and whole-clip passes: remove it and they agree."""
    import torch.nn as nn
    vae = CausalVAE(VAEConfig.tiny(), block_out_channels=(8, 8, 16, 16), norm_num_groups=4).eval()
    x = torch.rand(1, 3, 17, 32, 32) * 2 - 1
    with torch.no_grad():
        vae.enable_frame_chunking(4, 1)
        z_c = vae.encode(x).mean
        vae.disable_frame_chunking()
        z_w = vae.encode(x).mean
        assert rel_err(z_c, z_w) > 1e-3                       # GroupNorm stats differ per chunk
        for module in list(vae.modules()):
            for name, child in module.named_children():
                if isinstance(child, nn.GroupNorm):
                    setattr(module, name, nn.Identity())
        z_w = vae.encode(x).mean
        v_w = vae.decode(z_w)
        vae.enable_frame_chunking(4, 1)
        assert rel_err(vae.encode(x).mean, z_w) < TOL
        assert rel_err(vae.decode(z_w), v_w) < TOL


def test_posterior():
    vae = CausalVAE(VAEConfig.tiny(), block_out_channels=(8, 8, 8, 8), norm_num_groups=4).eval()
    with torch.no_grad():
        post = vae.encode(torch.rand(2, 3, 5, 16, 16) * 2 - 1)
    a = post.sample(torch.Generator().manual_seed(1))
    b = post.sample(torch.Generator().manual_seed(1))
    assert torch.equal(a, b) and not torch.equal(a, post.mean)
    torch.testing.assert_close(post.std, torch.exp(0.5 * post.logvar))
    kl = post.kl()
    assert kl.shape == (2,) and (kl >= 0).all()


def test_save_and_from_pretrained(tmp_path):
    vae = CausalVAE(VAEConfig.tiny(), block_out_channels=(8, 8, 8, 8), norm_num_groups=4).eval()
    vae.save_pretrained(tmp_path / "v")
    back = CausalVAE.from_pretrained(tmp_path / "v").eval()
    assert back.config == vae.config
    x = torch.rand(1, 3, 5, 16, 16) * 2 - 1
    with torch.no_grad():
        assert torch.equal(back.encode(x).mean, vae.encode(x).mean)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        CausalVAE.from_pretrained(tmp_path / "missing")
    assert next(CausalVAE.from_pretrained(tmp_path / "v", dtype=torch.float64).parameters()).dtype == torch.float64
    cfg = json.loads((tmp_path / "v" / "config.json").read_text())
    (tmp_path / "v" / "config.json").write_text(json.dumps({**cfg, "_note": "metadata is skipped"}))
    assert CausalVAE.from_pretrained(tmp_path / "v").config == vae.config
    (tmp_path / "v" / "config.json").write_text(json.dumps({**cfg, "latent_chanels": 4}))
    with pytest.raises(ValueError, match="unknown VAEConfig fields"):      # a typo is an error, not a default
        CausalVAE.from_pretrained(tmp_path / "v")


def test_training_reduces_loss(tmp_path):
    from minicog.train_vae import train_vae
    cfg = VAEConfig.tiny()
    cfg.block_out_channels, cfg.norm_num_groups = (8, 8, 16, 16), 4
    vae, m = train_vae(cfg, out_dir=tmp_path / "vae", steps=30, batch_size=2, frames=(1, 5), size=32,
                       lr=3e-3, workers=0, eval_clips=2, progress=False, log=lambda *a: None)
    clips = [h["loss"] for h in m["history"] if "loss" in h and h["frames"] == 5]
    assert len(clips) == 15 and m["history"][0]["frames"] == 1      # images and clips in turn
    first, last = sum(clips[:4]) / 4, sum(clips[-4:]) / 4
    assert last < 0.7 * first, (first, last)
    back = CausalVAE.from_pretrained(tmp_path / "vae")
    assert back.scaling_factor == pytest.approx(m["scaling_factor"]) and m["scaling_factor"] > 0


def test_shipped_tiny_vae_psnr():
    from minicog.train_vae import EVAL_SEED, evaluate_psnr, shapes_clips
    vae = CausalVAE.from_pretrained("tiny").eval()
    assert (vae.spatial_compression, vae.temporal_compression) == (8, 4)
    clips = shapes_clips(6, seed=EVAL_SEED + 7)   # held out: training used seed 0
    with torch.no_grad():
        z = vae.encode(clips).mean
        assert z.shape == (6, vae.latent_channels, 5, 8, 8)
        assert 0.5 < (z * vae.scaling_factor).std().item() < 2.0
    scores = evaluate_psnr(vae, clips)
    assert scores.mean() >= 32.0, scores
