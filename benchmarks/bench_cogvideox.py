"""Scaled path benchmark (minicog.cogvideox).

CPU part (always runs, ~1 min): on a random toy CogVideoX folder in the official layout
(notebooks/toy_cogvideox.py), time minicog's `denoise` against diffusers' `CogVideoXPipeline`
(output_type="latent", same embeddings and noise) in the same run and print the ratio and the parity
errors of the transformer, the VAE, the loop and `generate`.

GPU part (only with CUDA): measure the peak GPU memory of each memory-saver setting for the real
2B / 5B *architectures* with random bf16 weights (weight values do not change memory; the real T5-XXL
architecture too), stage by stage, next to `minicog.memory.estimate_memory`'s computed number.

    python benchmarks/bench_cogvideox.py                       # CPU part
    python benchmarks/bench_cogvideox.py --gpu --preset 5b     # + measured memory (needs a GPU)
    python benchmarks/bench_cogvideox.py --gpu --dry-run       # exercise the GPU code path on the CPU, toy size
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from minicog import memory
from minicog.causal_vae import CausalVAE, VAEConfig
from minicog.cogvideox import CogVideoX
from minicog.dit import DiTConfig, VideoDiT
from minicog.scheduler import CogVideoXDDIM, SchedulerConfig

ROOT = Path(__file__).resolve().parents[1]


def _toy_cogvideox():
    """notebooks/toy_cogvideox.py (the random-folder builder of week 9), loaded from its file."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("toy_cogvideox", ROOT / "notebooks" / "toy_cogvideox.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def rel_err(a, b):
    a, b = torch.as_tensor(a).double(), torch.as_tensor(b).double()
    return ((a - b).abs().max() / b.abs().max()).item()


def cpu_part(steps: int = 50, repeats: int = 1):
    # lazy: the oracle (diffusers) and the fixtures that build folders with it are optional
    build_cogvideox_folder = _toy_cogvideox().build_cogvideox_folder
    from diffusers import CogVideoXPipeline

    h, w = 32, 48
    with tempfile.TemporaryDirectory() as tmp:
        for variant in ("2b", "5b"):
            folder = build_cogvideox_folder(Path(tmp) / variant, variant)
            pipe = CogVideoX.from_pretrained(folder, device="cpu")
            ref = CogVideoXPipeline.from_pretrained(folder)
            ref.set_progress_bar_config(disable=True)
            emb, neg = ref.encode_prompt("a red circle moving left", "", device="cpu")
            noise = torch.randn(1, 4, 3, h // 8, w // 8, generator=torch.Generator().manual_seed(0))
            # transformer
            x, t = torch.randn(2, 4, 3, 8, 12), torch.tensor([999, 300])
            text = torch.cat([emb, neg])
            rot = (ref._prepare_rotary_positional_embeddings(64, 96, 3, torch.device("cpu"))
                   if ref.transformer.config.use_rotary_positional_embeddings else None)
            with torch.no_grad():
                e_dit = rel_err(pipe.dit(x, t, text), ref.transformer(
                    hidden_states=x.permute(0, 2, 1, 3, 4), encoder_hidden_states=text, timestep=t,
                    image_rotary_emb=rot, return_dict=False)[0].permute(0, 2, 1, 3, 4))
                z = torch.randn(1, 4, 5, h // 8, w // 8)
                e_vae = rel_err(pipe.vae.decode(z), ref.vae.decode(z).sample)
            # the loop, timed
            t_ours, t_ref = [], []
            for _ in range(repeats):
                t0 = time.perf_counter()
                ours = pipe.denoise(emb, neg, noise, steps=steps, guidance=6.0)
                t_ours.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                theirs = ref(prompt_embeds=emb, negative_prompt_embeds=neg, latents=noise.permute(0, 2, 1, 3, 4),
                             num_frames=9, height=h, width=w, num_inference_steps=steps, guidance_scale=6.0,
                             output_type="latent").frames.permute(0, 2, 1, 3, 4)
                t_ref.append(time.perf_counter() - t0)
            e_loop = rel_err(ours, theirs)
            video = pipe.generate("a panda playing guitar", height=h, width=w, steps=4, seed=3, progress=False)
            ref_v = ref("a panda playing guitar", num_frames=9, height=h, width=w, num_inference_steps=4,
                        generator=torch.Generator().manual_seed(3), output_type="np").frames[0]
            d = np.abs(video.astype(int) - (ref_v * 255).round().astype(int))
            print(f"[{variant}-like toy] parity (max relative error): transformer {e_dit:.2e}, VAE decode {e_vae:.2e}, "
                  f"denoise {steps} steps {e_loop:.2e}; generate uint8 max |diff| {d.max()} (mean {d.mean():.4f})")
            print(f"[{variant}-like toy] denoise time: minicog {min(t_ours):.2f}s vs diffusers {min(t_ref):.2f}s "
                  f"-> ratio {min(t_ours) / min(t_ref):.2f}x")


def gpu_part(preset: str, frames: int, height: int, width: int, dry_run: bool = False):
    """Measured peak memory per setting and stage vs the computed estimate."""
    cuda = torch.cuda.is_available() and not dry_run
    if not cuda and not dry_run:
        print("no CUDA GPU: skipping the measured-memory part (use --dry-run to exercise it on the CPU)")
        return
    device = torch.device("cuda" if cuda else "cpu")
    dtype = torch.bfloat16 if cuda else torch.float32
    if dry_run:
        dit_cfg = DiTConfig(in_channels=4, out_channels=4, text_embed_dim=32, num_layers=2, num_heads=2,
                            head_dim=16, time_embed_dim=16, use_rope=preset == "5b", sample_height=4,
                            sample_width=6, sample_frames=9)
        vae_cfg = VAEConfig(latent_channels=4, block_out_channels=(8, 8, 16, 16), layers_per_block=1,
                            norm_num_groups=4, sample_height=96, sample_width=80)
        t5 = dict(vocab_size=64, d_model=32, d_kv=8, num_heads=4, d_ff=64, num_layers=2)
        frames, height, width = 9, 32, 48
    else:
        dit_cfg, vae_cfg = memory.preset_configs(preset)
        t5 = dict(memory.T5_XXL)

    def random_module(build):
        with torch.device("meta"):
            m = build()
        m = m.to_empty(device="cpu").to(dtype)
        with torch.no_grad():
            for name, p in m.named_parameters():
                if p.ndim > 1:
                    p.normal_(0, 0.02)
                else:
                    p.fill_(1.0 if "norm" in name and name.endswith("weight") else 0.0)
        return m.eval()

    from transformers import T5Config, T5EncoderModel      # lazy: optional, heavy
    t5_cfg = T5Config(**t5, feed_forward_proj="gated-gelu", is_encoder_decoder=False, use_cache=False,
                      tie_word_embeddings=False)
    print(f"building random {preset} modules ({dtype}) ...", flush=True)
    dit = random_module(lambda: VideoDiT(dit_cfg))
    vae = random_module(lambda: CausalVAE(vae_cfg))
    te = random_module(lambda: T5EncoderModel(t5_cfg))
    sched = CogVideoXDDIM(SchedulerConfig.cogvideox_2b())
    settings = [s for s in memory.MEMORY_SETTINGS if s[1].get("dtype", torch.bfloat16) == torch.bfloat16]
    for name, kw in settings:
        pipe = CogVideoX(dit, vae, sched, text_encoder=te, device=device, dtype=dtype,
                         cpu_offload=kw.get("offload", False))
        pipe.enable_vae_frame_chunking() if kw.get("vae_chunking", True) else pipe.disable_vae_frame_chunking()
        pipe.enable_vae_tiling() if kw.get("vae_tiling") else pipe.disable_vae_tiling()
        est = pipe.estimate_memory(frames, height, width)
        measured = {}

        def stage(label, fn):
            if cuda:
                torch.cuda.synchronize()
                torch.cuda.reset_peak_memory_stats()
            out = fn()
            if cuda:
                torch.cuda.synchronize()
                measured[label] = torch.cuda.max_memory_allocated()
            return out

        try:
            ids = torch.randint(0, t5_cfg.vocab_size, (2, 226))
            emb = stage("text_encoder", lambda: pipe._use("text_encoder")(ids.to(device))[0].to(dtype))
            noise = pipe.noise(0, frames, height, width)
            z = stage("transformer", lambda: pipe.denoise(emb[:1], emb[1:], noise, steps=1, guidance=6.0))
            stage("vae", lambda: pipe.decode_latents(z))
            pipe._release()
            g = lambda n: f"{n / 2**30:6.2f}"                                      # noqa: E731
            cells = " | ".join(f"{k}: measured {g(measured[k]) if k in measured else '  n/a'} / computed "
                               f"{g(v)} GiB" for k, v in est.stage_peaks().items())
            print(f"{name:40s} {cells}", flush=True)
        except torch.cuda.OutOfMemoryError:
            print(f"{name:40s} out of GPU memory (computed peak {est.peak / 2**30:.1f} GiB)", flush=True)
        pipe = None                                  # free the GPU memory before the next setting
        if cuda:
            torch.cuda.empty_cache()
        for m in (dit, vae, te):
            m.to("cpu")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--skip-cpu", action="store_true")
    ap.add_argument("--gpu", action="store_true")
    ap.add_argument("--dry-run", action="store_true")
    ap.add_argument("--preset", default="5b", choices=["2b", "5b"])
    ap.add_argument("--frames", type=int, default=49)
    ap.add_argument("--height", type=int, default=480)
    ap.add_argument("--width", type=int, default=720)
    args = ap.parse_args()
    if not args.skip_cpu:
        cpu_part(args.steps, args.repeats)
    if args.gpu:
        gpu_part(args.preset, args.frames, args.height, args.width, args.dry_run)


if __name__ == "__main__":
    main()
