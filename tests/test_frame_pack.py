"""Frame Pack: padded batches and sequence packing give every clip the same output as running it
alone — checked on a small attention layer and on the real VideoDiT."""
import math

import pytest
import torch

from minicog.frame_pack import (attention_mask, block_diagonal_mask, latent_length, masked_attention,
                                pack, pack_sequences, valid_length)


def clips(lengths, C=3, H=4, W=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(C, n, H, W, generator=g) for n in lengths]


def test_valid_and_latent_lengths():
    assert [valid_length(n) for n in (1, 4, 5, 8, 9, 17, 20)] == [1, 1, 5, 5, 9, 17, 17]
    assert [latent_length(n) for n in (1, 5, 9, 17)] == [1, 2, 3, 5]
    with pytest.raises(ValueError, match="at least 1 frame"):
        valid_length(0)


def test_pack_pads_crops_and_unpacks():
    cs = clips([3, 1, 7]) + [torch.randn(3, 4, 4)]          # an image (C, H, W) joins the videos
    b = pack(cs, max_frames=5)
    assert b.x.shape == (4, 3, 5, 4, 4)
    assert b.lengths == [3, 1, 5, 1]
    assert b.mask.tolist() == [[1, 1, 1, 0, 0], [1, 0, 0, 0, 0], [1] * 5, [1, 0, 0, 0, 0]]
    assert (b.x[~b.mask.bool()[:, None].expand(-1, 3, -1)] == 0).all()    # padding is zeros
    out = b.unpack()
    torch.testing.assert_close(out[0], cs[0])
    torch.testing.assert_close(out[2], cs[2][:, :5])                     # long clip cropped
    torch.testing.assert_close(out[3][:, 0], cs[3])
    assert b.weight.shape == (4, 1, 5, 1, 1) and b.weight.sum() == 10
    assert pack(cs[:2], pad_to=6).x.shape[2] == 6


def test_pack_rejects_bad_batches():
    with pytest.raises(ValueError, match="at least one clip"):
        pack([])
    with pytest.raises(ValueError, match="same channels and resolution"):
        pack([torch.zeros(3, 2, 4, 4), torch.zeros(3, 2, 8, 8)])
    with pytest.raises(ValueError, match="pad_to"):
        pack(clips([5]), pad_to=3)
    with pytest.raises(ValueError, match="do not fit"):
        pack_sequences(clips([9]), capacity=5)


def test_pack_sequences_places_every_clip_once():
    cs = clips([5, 1, 3, 2, 1, 4])
    sp = pack_sequences(cs, capacity=6)
    assert sp.x.shape[0] == 3                                           # 16 frames in 3 rows of 6
    for i, (r, s, n) in enumerate(sp.placements):
        assert n == cs[i].shape[1]
        assert (sp.segment_ids[r, s: s + n] == i).all()
        assert sp.positions[r, s: s + n].tolist() == list(range(n))
    counts = torch.bincount(sp.segment_ids[sp.segment_ids >= 0])
    assert counts.tolist() == [c.shape[1] for c in cs]
    for a, b in zip(sp.unpack(), cs):
        torch.testing.assert_close(a, b)


def test_block_diagonal_mask_blocks_other_clips_and_padding():
    seg = torch.tensor([[0, 0, 1, 1, 1, -1]])
    m = block_diagonal_mask(seg, tokens_per_frame=2)[0]                 # (12, 12)
    seg_t = seg[0].repeat_interleave(2)
    for i in range(12):
        for j in range(12):
            same = seg_t[i] == seg_t[j] and seg_t[j] >= 0
            assert m[i, j] == (same or (i == j and seg_t[i] < 0))


def test_attention_mask_never_sees_padding():
    text_mask = torch.tensor([[True, True, False], [True, False, False]])
    video_mask = torch.tensor([[True, True], [True, False]])
    m = attention_mask(text_mask, video_mask, tokens_per_frame=3)     # (2, 9, 9)
    real = torch.cat([text_mask, video_mask.repeat_interleave(3, 1)], 1)
    for b in range(2):
        assert not m[b][real[b]][:, ~real[b]].any()       # real queries never look at padding
        assert m[b][real[b]][:, real[b]].all()            # ...and see every real token


class ToyAttention(torch.nn.Module):
    """One self-attention layer over frame tokens with sinusoidal positions of the frame index,
    the smallest model where packing could leak between clips or shift positions."""

    def __init__(self, dim=8, heads=2):
        super().__init__()
        self.heads, self.dim = heads, dim
        self.inp = torch.nn.Linear(3 * 4 * 4, dim)
        self.qkv = torch.nn.Linear(dim, 3 * dim)

    def forward(self, x, positions, mask):           # x (B, C, T, H, W) → (B, T, dim)
        B, C, T, H, W = x.shape
        h = self.inp(x.permute(0, 2, 1, 3, 4).reshape(B, T, C * H * W))
        freqs = torch.exp(-math.log(100.0) * torch.arange(0, self.dim, 2) / self.dim)
        ang = positions[..., None].float() * freqs
        h = h + torch.cat([ang.sin(), ang.cos()], -1)
        q, k, v = self.qkv(h).view(B, T, 3, self.heads, -1).permute(2, 0, 3, 1, 4)
        return masked_attention(q, k, v, mask).transpose(1, 2).reshape(B, T, self.dim)


def test_sequence_packing_matches_clips_run_alone():
    torch.manual_seed(0)
    model = ToyAttention()
    cs = clips([5, 1, 3, 2, 1, 4])
    sp = pack_sequences(cs, capacity=6)
    packed = model(sp.x, sp.positions, block_diagonal_mask(sp.segment_ids))  # (R, 6, dim)
    for i, c in enumerate(cs):
        alone = model(c[None], torch.arange(c.shape[1])[None],
                      torch.ones(1, c.shape[1], c.shape[1], dtype=torch.bool))[0]
        r, s, n = sp.placements[i]
        torch.testing.assert_close(packed[r, s: s + n], alone, atol=1e-5, rtol=1e-5)
    # without the block-diagonal mask the clips leak into each other
    leaky = model(sp.x, sp.positions, torch.ones(sp.x.shape[0], 6, 6, dtype=torch.bool))
    r, s, n = sp.placements[0]
    assert not torch.allclose(leaky[r, s: s + n], packed[r, s: s + n], atol=1e-3)


def test_padded_batch_matches_clips_run_alone_on_videodit():
    """The trainer's path: latents of an image (1 latent frame), a 9-frame and a 17-frame clip
    padded into one batch give the same VideoDiT outputs as each clip alone."""
    from minicog.dit import DiTConfig, VideoDiT
    torch.manual_seed(0)
    cfg = DiTConfig.tiny()
    model = VideoDiT(cfg).eval()
    C, D = cfg.in_channels, cfg.text_embed_dim
    cs = clips([5, 1, 3], C=C, H=8, W=8)
    b = pack(cs)
    text = torch.randn(3, 6, D)
    text_mask = torch.tensor([[1, 1, 1, 1, 1, 1], [1, 1, 1, 0, 0, 0], [1, 1, 1, 1, 0, 0]]).bool()
    t = torch.tensor([100.0, 500.0, 900.0])
    with torch.no_grad():
        out = model(b.x, t, text, text_mask=text_mask, video_mask=b.mask)
        for i, c in enumerate(cs):
            n_text = int(text_mask[i].sum())
            alone = model(c[None], t[i: i + 1], text[i: i + 1, :n_text])
            torch.testing.assert_close(b.unpack(out)[i], alone[0], atol=1e-4, rtol=1e-4)
        # and the padding really is masked: garbage in the padded frames changes nothing
        noisy = b.x + 10 * (~b.mask)[:, None, :, None, None] * torch.randn_like(b.x)
        out2 = model(noisy, t, text, text_mask=text_mask, video_mask=b.mask)
    for i in range(3):
        torch.testing.assert_close(b.unpack(out2)[i], b.unpack(out)[i], atol=1e-4, rtol=1e-4)


def test_crop_and_pad_crops_the_large_around_the_middle_and_pads_the_small():
    from minicog.frame_pack import crop_and_pad
    v = torch.arange(2 * 1 * 12 * 5, dtype=torch.float32).reshape(2, 1, 12, 5)   # tall and narrow
    out, mask = crop_and_pad(v, 8)
    assert out.shape == (2, 1, 8, 8) and mask.shape == (8, 8) and mask.dtype == torch.bool
    torch.testing.assert_close(out[:, :, :, :5], v[:, :, 2:10])          # rows 2..9: the middle 8 of 12
    assert (out[:, :, :, 5:] == 0).all()                                # columns 5..7 padded on the right
    assert mask[:, :5].all() and not mask[:, 5:].any()
    odd, _ = crop_and_pad(torch.arange(11.0).reshape(1, 1, 11, 1).expand(1, 1, 11, 3), (8, 3))
    assert odd[0, 0, :, 0].tolist() == list(range(1, 9))               # odd difference: extra row cut at the bottom
    same = torch.randn(3, 2, 8, 6)
    out, mask = crop_and_pad(same, (8, 6))
    assert torch.equal(out, same) and mask.all()


def test_crop_and_pad_rejects_bad_input():
    from minicog.frame_pack import crop_and_pad
    with pytest.raises(ValueError, match=r"clip \(C, T, H, W\), got \(3, 8, 8\)"):
        crop_and_pad(torch.zeros(3, 8, 8), 8)
    for size in (0, -4, (8,), (8, 8, 8), 8.5, "8"):
        with pytest.raises(ValueError, match="size must be a positive int"):
            crop_and_pad(torch.zeros(3, 1, 8, 8), size)


def test_resolution_at_follows_the_stages_and_refuses_a_plan_going_down():
    from minicog.train_config import resolution_at
    assert [resolution_at([(32, 3), (64, 2)], s) for s in range(7)] == [32, 32, 32, 64, 64, 64, 64]
    with pytest.raises(ValueError, match="low to high"):
        resolution_at([(64, 2), (32, 2)], 0)
