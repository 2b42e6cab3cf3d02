"""minicog.vae_figures: the VAE's levels traced on a real input; the frames each call of a causal conv
sees while a clip is encoded chunk by chunk (copies of the first frame, then the conv cache)."""
import matplotlib
import numpy as np
import torch

from minicog.causal_vae import CausalVAE, VAEConfig
from minicog.vae_figures import conv_calls, draw_conv_cache, draw_levels, trace_levels

matplotlib.use("Agg")


def _vae():
    torch.manual_seed(0)
    return CausalVAE(VAEConfig.tiny()).eval()


def test_trace_levels_goes_down_to_the_latent_and_back():
    vae, x = _vae(), torch.rand(1, 3, 9, 32, 32) * 2 - 1
    stages = trace_levels(vae, x)
    names = [n for n, _ in stages]
    assert names[0] == "input clip" and names[-1] == "decoder conv_out"
    assert names.index("latent z") == names.index("encoder conv_out") + 1
    shapes = dict(stages)
    assert shapes["latent z"] == (1, 8, 3, 4, 4) and shapes["encoder conv_out"] == (1, 16, 3, 4, 4)
    assert [shapes[f"down {i}"][2:4] for i in (1, 2, 3)] == [(5, 16), (3, 8), (3, 4)]
    assert shapes["decoder conv_out"] == tuple(x.shape)
    fig = draw_levels(stages, title="t")
    assert len(fig.axes[0].patches) == len(stages)
    assert any("T ÷2" in t.get_text() for t in fig.axes[0].texts)


def test_conv_calls_show_the_first_frame_copies_then_the_cache():
    vae, x = _vae(), torch.rand(1, 3, 9, 16, 16) * 2 - 1
    vae.enable_frame_chunking(sample_frames=4, latent_frames=None)
    chunked = conv_calls(vae.encoder.conv_in, lambda: vae.encode(x), x)
    vae.disable_frame_chunking()
    whole = conv_calls(vae.encoder.conv_in, lambda: vae.encode(x), x)
    assert [c["frames"] for c in chunked] == [[0, 0, 0, 1, 2, 3, 4], [3, 4, 5, 6, 7, 8]]
    assert [c["roles"][:2] for c in chunked] == [["copy", "copy"], ["cache", "cache"]]
    assert len(whole) == 1 and whole[0]["frames"] == [0, 0] + list(range(9))
    torch.testing.assert_close(torch.cat([c["output"] for c in chunked], dim=2), whole[0]["output"])
    assert not vae.encoder.conv_in._forward_pre_hooks and not vae.encoder.conv_in.conv._forward_hooks
    video = ((x[0].permute(1, 2, 3, 0) + 1) * 127.5).clamp(0, 255).to(torch.uint8).numpy()
    fig = draw_conv_cache(chunked, np.asarray(video), title="t")
    assert len(fig.axes[0].patches) == 7 + 6                     # one frame per input frame of each call
