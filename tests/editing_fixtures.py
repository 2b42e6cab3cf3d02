"""What tests/test_editing.py and tests/test_flowdirector.py share: the prompts, a randomly
initialised tiny pipeline with the real attention hook and tokenizer, and a mock velocity model
whose attention maps are known."""
from __future__ import annotations

from contextlib import contextmanager

import pytest
import torch

from minicog import shapes
from minicog.causal_vae import CausalVAE, VAEConfig
from minicog.dit import DiTConfig, VideoDiT
from minicog.pipeline import Pipeline
from minicog.text_encoder import TextEncoderConfig, TinyTextEncoder

SRC = "a red circle moving left on a black background"
TAR = "a blue circle moving left on a black background"
FAST = dict(steps=4, n_max=2)


def tiny_pipeline() -> Pipeline:
    """A randomly initialised tiny pipeline (2-layer DiT): real attention hook, real tokenizer."""
    torch.manual_seed(0)
    dit = VideoDiT(DiTConfig.tiny(num_layers=2))
    with torch.no_grad():                      # adaLN-zero-free random init: make outputs non-trivial
        dit.proj_out.weight.normal_(0, 0.05)
    return Pipeline(CausalVAE(VAEConfig.tiny()), dit,
                    TinyTextEncoder(TextEncoderConfig.tiny(shapes.vocabulary(), dim=128)), "cpu")


def red_circle():
    return shapes.render("red", "circle", "left", "black", rng=3)


# fixtures of both test files (imported by name there, so pytest registers them per module)
@pytest.fixture(scope="module")
def pipe():
    return tiny_pipeline()


@pytest.fixture(scope="module")
def clip():
    return red_circle()


@pytest.fixture(scope="module")
def x_src(pipe, clip):
    return pipe.encode_video(clip)


class MockModel:
    """A velocity that depends only on the prompt (v = mean of its embedding, everywhere), and an
    attention hook in which text tokens 1 and 2 light up in the top-left quarter of every frame."""

    def __init__(self, grid=(5, 4, 4)):
        self.grid = grid
        self._rec = None
        self.calls = 0

    def encode_prompt(self, prompts):
        e = torch.stack([torch.full((4, 3), float(len(p.split())) / 10) for p in prompts])
        return e, torch.ones(len(prompts), 4, dtype=torch.bool)

    def velocity(self, z, t, embeds, mask):
        self.calls += 1
        if self._rec is not None:
            B, (T, H, W) = z.shape[0], self.grid
            m = 0.5 + 0.1 * torch.rand(B, 1, 4, T, H, W, generator=torch.Generator().manual_seed(self.calls))
            look = m.clone()
            m[:, :, 1:3, :, : H // 2, : W // 2] += 1.0             # the edited words' tokens
            look[:, :, 1:3, :, H // 2:, W // 2:] += 1.0            # ... where their queries look
            self._rec.maps = {0: {"video_to_text": m, "text_to_video": look}}
        return embeds.mean(dim=(1, 2)).view(-1, 1, 1, 1, 1).expand_as(z).clone()

    @contextmanager
    def record_attention(self):
        self._rec = type("Rec", (), {"maps": {}})()
        try:
            yield self._rec
        finally:
            self._rec = None
