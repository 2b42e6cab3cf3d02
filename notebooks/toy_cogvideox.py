"""Small random CogVideoX folders in the official diffusers layout, built offline (no downloads).

    folder = build_cogvideox_folder(tmp / "cog5b", variant="5b")

writes what `huggingface-cli download THUDM/CogVideoX-5b` gives, at toy size:
model_index.json, transformer/ (config.json + safetensors shards + index json), vae/,
scheduler/scheduler_config.json, text_encoder/ (a tiny T5 v1.1-style encoder) and tokenizer/
(a T5 unigram tokenizer over a small vocabulary, built in memory). The "2b" variant uses the 3D
sincos position embedding and the 2B scheduler (snr_shift_scale 3); "5b" uses 3D RoPE and
snr_shift_scale 1 with the 5B VAE scaling factor; "5b-dpm" is "5b" with CogVideoX 1.5's scheduler
(CogVideoXDPMScheduler). `build_diffusers_test_folder` writes the components diffusers' own CogVideoX
pipeline tests build (`get_dummy_components`), with any scheduler. Used by notebook 09 (it sits
beside the notebooks, which import it from their own folder) and by tests/test_cogvideox.py. It needs the
course extra (`pip install -e ".[course]"`: diffusers, transformers, sentencepiece); minicog never imports it.
"""
from __future__ import annotations

import json
import shutil
import string
from pathlib import Path

import torch

WORDS = ("a an the red green blue yellow white black circle square triangle cat dog panda guitar "
         "moving left right up down on in of background forest playing bamboo").split()

# official scheduler configs (THUDM/CogVideoX-2b and -5b scheduler/scheduler_config.json)
SCHEDULER = dict(beta_schedule="scaled_linear", beta_start=0.00085, beta_end=0.012, clip_sample=False,
                 num_train_timesteps=1000, prediction_type="v_prediction", rescale_betas_zero_snr=True,
                 set_alpha_to_one=True, steps_offset=0, timestep_spacing="trailing")
VARIANTS = {
    "2b": dict(rope=False, snr_shift_scale=3.0, scaling_factor=1.15258426, scheduler="CogVideoXDDIMScheduler"),
    "5b": dict(rope=True, snr_shift_scale=1.0, scaling_factor=0.7, scheduler="CogVideoXDDIMScheduler"),
    "5b-dpm": dict(rope=True, snr_shift_scale=1.0, scaling_factor=0.7, scheduler="CogVideoXDPMScheduler"),
}
# toy sizes: videos of 9 frames x 64 x 96 px -> latents (4, 3, 8, 12) -> 72 video tokens + 226 text tokens
TEXT_DIM = 32
SAMPLE = dict(frames=9, height=64, width=96)


def tiny_tokenizer():
    """A T5 tokenizer (unigram, `▁`-prefixed words, </s> appended, <pad>=0) over WORDS + letters."""
    from transformers import T5Tokenizer
    vocab = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("▁", -2.0)]
    vocab += [("▁" + w, -1.0) for w in WORDS] + [(c, -5.0) for c in string.ascii_lowercase]
    return T5Tokenizer(vocab=vocab, extra_ids=0)


def tiny_t5(vocab_size: int, d_model: int = TEXT_DIM):
    """A 2-layer T5 v1.1-style encoder (gated GELU, relative position buckets), random weights."""
    from transformers import T5Config, T5EncoderModel
    cfg = T5Config(vocab_size=vocab_size, d_model=d_model, d_kv=8, d_ff=64, num_layers=2, num_heads=4,
                   relative_attention_num_buckets=8, relative_attention_max_distance=16,
                   feed_forward_proj="gated-gelu", is_encoder_decoder=False, use_cache=False,
                   tie_word_embeddings=False)
    return T5EncoderModel(cfg).eval()


def _no_zero_params(model: torch.nn.Module, std: float = 0.05) -> None:
    """Some diffusers layers start at zero; give them random values so no path is trivially zero."""
    with torch.no_grad():
        for p in model.parameters():
            if p.numel() and not p.abs().sum():
                p.normal_(0, std)


def diffusers_components(variant: str = "5b", seed: int = 0) -> dict:
    """The five random components of a toy CogVideoX pipeline (diffusers / transformers objects)."""
    import diffusers
    from diffusers import AutoencoderKLCogVideoX, CogVideoXTransformer3DModel
    v = VARIANTS[variant]
    torch.manual_seed(seed)
    tokenizer = tiny_tokenizer()
    text_encoder = tiny_t5(len(tokenizer))
    transformer = CogVideoXTransformer3DModel(
        num_attention_heads=2, attention_head_dim=16, in_channels=4, out_channels=4, time_embed_dim=16,
        text_embed_dim=TEXT_DIM, num_layers=2, sample_width=SAMPLE["width"] // 8,
        sample_height=SAMPLE["height"] // 8, sample_frames=SAMPLE["frames"], patch_size=2,
        max_text_seq_length=226, use_rotary_positional_embeddings=v["rope"]).eval()
    # the VAE's sample size only sets the default tiles (half of it): 48×40 px tiles line up with the
    # default overlaps (1/6, 1/5) and split a 64×96 frame into 2×3 tiles
    vae = AutoencoderKLCogVideoX(block_out_channels=(8, 8, 16, 16), latent_channels=4, layers_per_block=1,
                                 norm_num_groups=4, sample_height=96, sample_width=80,
                                 scaling_factor=v["scaling_factor"]).eval()
    for m in (transformer, vae):
        _no_zero_params(m)
    scheduler = getattr(diffusers, v["scheduler"])(**SCHEDULER, snr_shift_scale=v["snr_shift_scale"])
    return dict(tokenizer=tokenizer, text_encoder=text_encoder, vae=vae, transformer=transformer,
                scheduler=scheduler)


def build_cogvideox_folder(folder: str | Path, variant: str = "5b", text_encoder: bool = True,
                           max_shard_size: str = "20KB", seed: int = 0) -> Path:
    """Write a random toy CogVideoX checkpoint in the official layout (transformer sharded with an index
    json). text_encoder=False leaves out text_encoder/ and tokenizer/ (an embeddings-only folder)."""
    from diffusers import CogVideoXPipeline
    folder = Path(folder)
    pipe = CogVideoXPipeline(**diffusers_components(variant, seed))
    pipe.save_pretrained(folder, max_shard_size=max_shard_size)
    if not text_encoder:
        drop_text_encoder(folder)
    return folder


def diffusers_test_components(scheduler, in_channels: int = 4) -> dict:
    """The components of diffusers' CogVideoXPipelineFastTests.get_dummy_components (tests/pipelines/cogvideo/
    test_cogvideox.py; in_channels=8 is test_cogvideox_fun_control.py's transformer): a 1-layer sincos-position
    transformer with max_text_seq_length=16, an (8, 8, 8, 8)-channel VAE, and `scheduler` (there a default
    DDIMScheduler()). Their hub T5 (hf-internal-testing/tiny-random-t5) is replaced by `tiny_t5` (same width, 32)."""
    from diffusers import AutoencoderKLCogVideoX, CogVideoXTransformer3DModel
    torch.manual_seed(0)
    transformer = CogVideoXTransformer3DModel(
        num_attention_heads=4, attention_head_dim=8, in_channels=in_channels, out_channels=4, time_embed_dim=2,
        text_embed_dim=32, num_layers=1, sample_width=2, sample_height=2, sample_frames=9, patch_size=2,
        temporal_compression_ratio=4, max_text_seq_length=16).eval()
    torch.manual_seed(0)
    vae = AutoencoderKLCogVideoX(
        in_channels=3, out_channels=3, down_block_types=("CogVideoXDownBlock3D",) * 4,
        up_block_types=("CogVideoXUpBlock3D",) * 4, block_out_channels=(8, 8, 8, 8), latent_channels=4,
        layers_per_block=1, norm_num_groups=2, temporal_compression_ratio=4).eval()
    tokenizer = tiny_tokenizer()
    return dict(tokenizer=tokenizer, text_encoder=tiny_t5(len(tokenizer)), vae=vae, transformer=transformer,
                scheduler=scheduler)


def build_diffusers_test_folder(folder: str | Path, scheduler, in_channels: int = 4) -> Path:
    """`diffusers_test_components` saved as a CogVideoX folder (what a user gets saving diffusers' test pipeline)."""
    from diffusers import CogVideoXPipeline
    folder = Path(folder)
    CogVideoXPipeline(**diffusers_test_components(scheduler, in_channels)).save_pretrained(folder)
    return folder


def drop_text_encoder(folder: str | Path) -> Path:
    """Remove text_encoder/ and tokenizer/ (marked null in model_index.json, diffusers' optional parts)."""
    folder = Path(folder)
    for part in ("text_encoder", "tokenizer"):
        shutil.rmtree(folder / part, ignore_errors=True)
    index = folder / "model_index.json"
    cfg = json.loads(index.read_text())
    cfg.update(text_encoder=[None, None], tokenizer=[None, None])
    index.write_text(json.dumps(cfg, indent=2))
    return folder


def copy_without_text_encoder(src: str | Path, dst: str | Path) -> Path:
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("text_encoder", "tokenizer"))
    return drop_text_encoder(dst)
