"""Expert transformer: parity with diffusers' CogVideoXTransformer3DModel (2B / 5B / 1.5 variants),
masks for Frame Pack, attention maps, separated attention, checkpoints and error messages."""
from __future__ import annotations

import types

import pytest
import torch

from minicog.dit import DiTConfig, VideoDiT, patchify, unpatchify
from minicog.rope import (apply_rope, apply_rope_real, cogvideox_rope_positions, rope_3d,
                          rope_as_complex, sincos_3d)

diffusers = pytest.importorskip("diffusers")

# small diffusers configs of the three families; latent sizes differ from the sample sizes on purpose
VARIANTS = {
    "2b-sincos": (dict(sample_height=8, sample_width=12, sample_frames=9), (2, 6, 10)),
    "5b-rope": (dict(sample_height=60, sample_width=90, use_rotary_positional_embeddings=True), (3, 8, 12)),
    "1.5-pt2": (dict(sample_height=300, sample_width=300, sample_frames=81, patch_size_t=2, patch_bias=False,
                     use_rotary_positional_embeddings=True), (4, 6, 8)),
    # image-to-video checkpoints: learned positional embedding (5B-I2V, at its sample size), ofs (1.5-I2V)
    "5b-i2v-learned": (dict(sample_height=8, sample_width=12, sample_frames=9, use_rotary_positional_embeddings=True,
                            use_learned_positional_embeddings=True), (3, 8, 12)),
    "1.5-i2v-ofs": (dict(sample_height=300, sample_width=300, sample_frames=81, patch_size_t=2, patch_bias=False,
                         use_rotary_positional_embeddings=True, ofs_embed_dim=16), (2, 4, 6)),
}


def make_reference(**overrides):
    from diffusers import CogVideoXTransformer3DModel
    cfg = dict(num_attention_heads=2, attention_head_dim=32, num_layers=2, text_embed_dim=12,
               time_embed_dim=16, in_channels=4, out_channels=4, max_text_seq_length=6)
    torch.manual_seed(0)
    ref = CogVideoXTransformer3DModel(**{**cfg, **overrides}).eval()
    _randomize(ref)
    return ref


def _randomize(model, std=0.2):
    """No zero-initialised or identity parameters left; QK-norm gains ~2 for peaked attention."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith(("norm_q.weight", "norm_k.weight")):
                p.normal_(2.0, 0.5)
            else:
                p.normal_(0, std)


def reference_rope(ref, T, H, W):
    """RoPE tables built by the pipeline's own code for this latent size."""
    from diffusers.pipelines.cogvideo.pipeline_cogvideox import CogVideoXPipeline
    if not ref.config.use_rotary_positional_embeddings:
        return None
    fake = types.SimpleNamespace(transformer=ref, vae_scale_factor_spatial=8)
    return CogVideoXPipeline._prepare_rotary_positional_embeddings(fake, H * 8, W * 8, T, torch.device("cpu"))


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_parity_with_diffusers(variant, tmp_path):
    overrides, (T, H, W) = VARIANTS[variant]
    ref = make_reference(**overrides)
    ref.save_pretrained(tmp_path, max_shard_size="30KB" if variant == "5b-rope" else "10GB")
    if variant == "5b-rope":
        assert (tmp_path / "diffusion_pytorch_model.safetensors.index.json").is_file()  # sharded
    model = VideoDiT.from_diffusers(tmp_path).eval()
    x = torch.randn(2, 4, T, H, W)
    t = torch.tensor([7.0, 913.0])
    text = torch.randn(2, 6, 12)
    ofs = {"ofs": torch.tensor([2.0, 2.0])} if overrides.get("ofs_embed_dim") else {}
    with torch.no_grad():
        want = ref(x.permute(0, 2, 1, 3, 4), text, t, image_rotary_emb=reference_rope(ref, T, H, W),
                   return_dict=False, **ofs)[0].permute(0, 2, 1, 3, 4)
        got = model(x, t, text, **ofs)
    assert got.shape == (2, 4, T, H, W)
    rel = ((got - want).abs().max() / want.abs().max()).item()
    assert rel < 1e-4, f"{variant}: max relative error {rel:.2e}"


def test_positions_match_diffusers_functions():
    from diffusers.models.embeddings import get_3d_rotary_pos_embed, get_3d_sincos_pos_embed
    from diffusers.pipelines.cogvideo.pipeline_cogvideox import get_resize_crop_region_for_grid
    for grid, base in [((13, 30, 45), (30, 45)), ((5, 8, 12), (30, 45)), ((3, 17, 9), (30, 45))]:
        T, H, W = grid
        crops = get_resize_crop_region_for_grid((H, W), base[1], base[0])
        cos, sin = get_3d_rotary_pos_embed(64, crops, (H, W), T)
        ours = rope_3d(64, *cogvideox_rope_positions(grid, base, slice_grid=False))
        assert torch.equal(ours[0], cos) and torch.equal(ours[1], sin)
    pe = get_3d_sincos_pos_embed(64, (10, 6), 3, 1.875, 1.0).flatten(0, 1)     # (W', H') in diffusers
    assert torch.allclose(sincos_3d(64, (3, 6, 10), 1.875, 1.0).float(), pe.float(), atol=1e-6)


def test_rope_complex_equals_textbook_rotation():
    cos, sin = rope_3d(32, *cogvideox_rope_positions((2, 3, 4), (3, 4), slice_grid=True))
    x = torch.randn(2, 3, 24, 32)
    assert torch.allclose(apply_rope(x, rope_as_complex(cos, sin)), apply_rope_real(x, cos, sin), atol=1e-6)
    # rotation keeps norms and makes q·k depend on the position difference only (1D check on time)
    assert torch.allclose(apply_rope(x, rope_as_complex(cos, sin)).norm(dim=-1), x.norm(dim=-1), atol=1e-5)


def test_patchify_roundtrip():
    x = torch.randn(2, 3, 4, 6, 8)
    for p_t in (1, 2):
        tok = patchify(x, 2, p_t)
        assert tok.shape == (2, 4 // p_t * 3 * 4, 3 * p_t * 4)
        assert torch.equal(unpatchify(tok, (4 // p_t, 3, 4), 2, p_t), x)


def _random_tiny(**overrides) -> VideoDiT:
    torch.manual_seed(0)
    small = dict(num_layers=3, num_heads=2, head_dim=32, time_embed_dim=32)   # tiny preset, narrower
    model = VideoDiT(DiTConfig.tiny(**{**small, **overrides})).eval()
    _randomize(model, std=0.1)
    return model


@pytest.mark.parametrize("overrides", [{}, {"use_rope": False}, {"attention": "separated"},
                                       {"patch_size_t": 2}])
def test_padded_clip_matches_clip_alone(overrides):
    """Frame Pack: a 2-latent-frame clip padded to 4 frames (and its caption padded) gives the same
    outputs on its real frames as the clip run alone."""
    model = _random_tiny(**overrides)
    x = torch.randn(2, 8, 4, 8, 8)
    x[0, :, 2:] *= 10                                    # loud padding: must have no effect
    t = torch.tensor([120.0, 640.0])
    text = torch.randn(2, 7, 128)
    text_mask = torch.tensor([[1, 1, 1, 1, 0, 0, 0], [1] * 7], dtype=torch.bool)
    video_mask = torch.tensor([[1, 1, 0, 0], [1, 1, 1, 1]], dtype=torch.bool)
    with torch.no_grad():
        packed = model(x, t, text, text_mask=text_mask, video_mask=video_mask)
        alone = model(x[:1, :, :2], t[:1], text[:1, :4])
        full = model(x[1:], t[1:], text[1:])
        unmasked = model(x, t, text)
    assert (packed[0, :, :2] - alone[0]).abs().max() < 1e-5
    assert (packed[1] - full[0]).abs().max() < 1e-5
    assert (unmasked[0, :, :2] - alone[0]).abs().max() > 1e-4      # the mask is what makes it equal


def test_attention_maps():
    model = _random_tiny()
    x, t, text = torch.randn(2, 8, 5, 8, 8), torch.tensor([10.0, 500.0]), torch.randn(2, 6, 128)
    text_mask = torch.tensor([[1, 1, 1, 1, 1, 0], [1] * 6], dtype=torch.bool)
    with torch.no_grad():
        plain = model(x, t, text, text_mask=text_mask)
        with model.record_attention(layers=[1], video_to_video=True) as rec:
            recorded = model(x, t, text, text_mask=text_mask)
        with model.record_attention(layers=[1], reduce_heads="mean") as rec_mean:
            model(x, t, text, text_mask=text_mask)
    assert (recorded - plain).abs().max() < 1e-5                      # maps come from the real layer
    assert set(rec.maps) == {1} and rec.grid == (5, 4, 4)
    m = rec.maps[1]
    assert m["text_to_video"].shape == (2, 2, 6, 5, 4, 4)
    assert m["video_to_text"].shape == (2, 2, 6, 5, 4, 4)
    assert m["video_to_video"].shape == (2, 2, 80, 80)
    # every video query's distribution over all keys (text + video) sums to 1; masked text key gets 0
    total = m["video_to_text"].flatten(3).sum(2) + m["video_to_video"].sum(-1)
    assert torch.allclose(total, torch.ones_like(total), atol=1e-5)
    assert m["video_to_text"][0, :, 5].abs().max() == 0
    assert torch.allclose(rec_mean.maps[1]["video_to_text"], m["video_to_text"].mean(1, keepdim=True), atol=1e-6)
    assert rec.word_map(1, 2).shape == (2, 5, 4, 4)
    with pytest.raises(ValueError, match="out of range"):
        with model.record_attention(layers=[9]):
            pass


def test_separated_attention_is_factorised():
    """One separated (spatial) layer: a frame's output ignores the other frames; full attention does not."""
    outs = {}
    for attention in ("full", "separated"):
        model = _random_tiny(attention=attention, num_layers=1)
        x = torch.randn(1, 8, 5, 8, 8)
        y = x.clone()
        y[:, :, 3] += 1.0
        t, text = torch.tensor([300.0]), torch.randn(1, 4, 128)
        with torch.no_grad():
            outs[attention] = (model(y, t, text) - model(x, t, text))[:, :, 0].abs().max().item()
    assert outs["separated"] < 1e-6 < outs["full"]


def test_save_load_and_gradient_checkpointing(tmp_path):
    model = _random_tiny()
    model.save_pretrained(tmp_path / "dit")
    again = VideoDiT.from_pretrained(tmp_path / "dit")
    x, t, text = torch.randn(2, 8, 5, 8, 8), torch.tensor([1.0, 999.0]), torch.randn(2, 5, 128)
    with torch.no_grad():
        assert torch.equal(model(x, t, text), again(x, t, text))
    again.gradient_checkpointing = True
    for m in (model, again):
        m.train()
        m(x, t, text).pow(2).mean().backward()
    assert torch.allclose(model.blocks[0].attn.qkv.weight.grad, again.blocks[0].attn.qkv.weight.grad,
                          atol=1e-6)


def test_training_lowers_loss():
    """From the default initialisation, a few Adam steps fit one batch (here: reproduce the input)."""
    torch.manual_seed(0)
    model = VideoDiT(DiTConfig.tiny(num_layers=3, num_heads=2, head_dim=32, time_embed_dim=32))
    x, t, text = torch.randn(2, 8, 5, 8, 8), torch.tensor([1.0, 999.0]), torch.randn(2, 5, 128)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    losses = []
    for _ in range(10):
        loss = (model(x, t, text) - x).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.75 * losses[0], losses


def test_tiny_preset_size():
    model = VideoDiT(DiTConfig.tiny())
    assert model.num_params() <= 5_000_000
    assert patchify(torch.zeros(1, 8, 5, 8, 8), 2).shape[1] == 80


def test_clear_errors(tmp_path):
    model = _random_tiny()
    t, text = torch.tensor([5.0]), torch.randn(1, 4, 128)
    with pytest.raises(ValueError, match="not divisible by the patch"):
        model(torch.randn(1, 8, 5, 7, 8), t, text)
    with pytest.raises(ValueError, match="text_embed_dim=128"):
        model(torch.randn(1, 8, 5, 8, 8), t, torch.randn(1, 4, 64))
    with pytest.raises(ValueError, match="in_channels=8"):
        model(torch.randn(1, 3, 5, 8, 8), t, text)
    with pytest.raises(ValueError, match="patch_size_t=2"):
        _random_tiny(patch_size_t=2)(torch.randn(1, 8, 5, 8, 8), t, text)
    # a checkpoint with a renamed and a missing tensor: both are listed by name
    ref = make_reference(**VARIANTS["5b-rope"][0])
    state = ref.state_dict()
    state["transformer_blocks.0.attn1.to_q.weight_renamed"] = state.pop("transformer_blocks.0.attn1.to_q.weight")
    del state["proj_out.bias"]
    from safetensors.torch import save_file
    ref.save_config(tmp_path)
    save_file({k: v.contiguous() for k, v in state.items()}, tmp_path / "diffusion_pytorch_model.safetensors")
    with pytest.raises(ValueError) as err:
        VideoDiT.from_diffusers(tmp_path)
    msg = str(err.value)
    assert "transformer_blocks.0.attn1.to_q.weight_renamed" in msg and "proj_out.bias" in msg
    with pytest.raises(FileNotFoundError):
        VideoDiT.from_diffusers(tmp_path / "nope")
    with pytest.raises(FileNotFoundError, match="from_diffusers"):
        VideoDiT.from_pretrained(tmp_path)
    with pytest.raises(ValueError, match="attention must be"):
        DiTConfig.tiny(attention="axial")
