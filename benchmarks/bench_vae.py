"""Causal 3D VAE: minicog vs diffusers' AutoencoderKLCogVideoX on the same weights, in one run.

    python benchmarks/bench_vae.py                          # CogVideoX architecture (random weights), 17x64x64
    python benchmarks/bench_vae.py --preset tiny            # the shipped tiny Shapes VAE
    python benchmarks/bench_vae.py --frames 49 --size 480 720 --tiling   # on a GPU

Prints, for encode and decode: median time of each implementation and the ratio
minicog/diffusers (< 1 means minicog is faster), and the peak memory of one pass — diffusers
(its default 8-frame / 2-latent chunks), minicog with the same chunks, minicog on the whole clip.
Peak memory is torch.cuda.max_memory_allocated on a GPU; on a CPU each pass runs in a fresh
subprocess and reports the growth of the resident set (VmHWM after resetting it, minus VmRSS
before the pass; glibc's mmap threshold is pinned so freed buffers go back to the OS).
Also checks that both give the same numbers (max relative error).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch


from minicog.causal_vae import CausalVAE, minicog_to_diffusers  # noqa: E402


def build(args, folder: Path):
    """Write a diffusers VAE folder with the chosen weights (once) and load both implementations."""
    from diffusers import AutoencoderKLCogVideoX      # lazy: the oracle is optional

    if not (folder / "config.json").exists():
        if args.preset == "tiny":
            vae = CausalVAE.from_pretrained("tiny")
            c = vae.config
            ref = AutoencoderKLCogVideoX(
                block_out_channels=c.block_out_channels, layers_per_block=c.layers_per_block,
                norm_num_groups=c.norm_num_groups, latent_channels=c.latent_channels,
                scaling_factor=c.scaling_factor, sample_height=c.sample_height, sample_width=c.sample_width)
            ref.load_state_dict(minicog_to_diffusers(vae.state_dict()))
        else:
            torch.manual_seed(0)
            ref = AutoencoderKLCogVideoX()  # the CogVideoX-2b/5b VAE architecture
        ref.save_pretrained(folder)
    dev = torch.device(args.device)
    ref = AutoencoderKLCogVideoX.from_pretrained(folder).to(dev).eval()
    ours = CausalVAE.from_diffusers(folder).to(dev).eval()
    if args.tiling:
        ref.enable_tiling()
        ours.enable_tiling()
    return ref, ours


def inputs(args, ours):
    g = torch.Generator().manual_seed(0)
    h, w = args.size
    x = torch.rand(1, 3, args.frames, h, w, generator=g) * 2 - 1
    z = torch.randn(1, *ours.latent_shape(args.frames, h, w), generator=g)
    return x.to(args.device), z.to(args.device)


def run_op(impl: str, op: str, ref, ours, x, z):
    model = ref if impl == "diffusers" else ours
    with torch.no_grad():
        if op == "encode":
            return model.encode(x).latent_dist.mean if impl == "diffusers" else model.encode(x).mean
        return model.decode(z).sample if impl == "diffusers" else model.decode(z)


def sync(dev):
    if dev.startswith("cuda"):
        torch.cuda.synchronize()


def _rss_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def measure_memory(args, folder: Path, impl: str, op: str, chunked: bool) -> float:
    """Peak extra memory (MiB) of one pass."""
    ref, ours = build(args, folder)
    if not chunked:
        ours.disable_frame_chunking()
        ref.num_sample_frames_batch_size = ref.num_latent_frames_batch_size = 10**6
    x, z = inputs(args, ours)
    run_op(impl, op, ref, ours, x[:, :, :1], z[:, :, :1])   # warm up the kernels on a 1-frame clip
    if args.device.startswith("cuda"):
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
        run_op(impl, op, ref, ours, x, z)
        return (torch.cuda.max_memory_allocated() - base) / 2**20
    base = _rss_kb("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")             # reset VmHWM (the RSS peak)
    run_op(impl, op, ref, ours, x, z)
    return (_rss_kb("VmHWM") - base) / 1024


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", choices=["real", "tiny"], default="real")
    p.add_argument("--frames", type=int, default=17)
    p.add_argument("--size", type=int, nargs=2, default=[64, 64], metavar=("H", "W"))
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--device", default="cpu")
    p.add_argument("--tiling", action="store_true", help="enable spatial tiling in both")
    p.add_argument("--no-memory", action="store_true")
    p.add_argument("--folder", default=None, help=argparse.SUPPRESS)
    p.add_argument("--measure", nargs=3, default=None, help=argparse.SUPPRESS)  # impl op chunked
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    if args.device == "auto":
        args.device = "cuda" if torch.cuda.is_available() else "cpu"

    if args.measure:  # child process: one memory measurement
        impl, op, chunked = args.measure
        print(json.dumps(measure_memory(args, Path(args.folder), impl, op, chunked == "1")))
        return

    tmp = tempfile.TemporaryDirectory(prefix="bench_vae_")
    folder = Path(args.folder or tmp.name) / "vae"
    ref, ours = build(args, folder)
    x, z = inputs(args, ours)
    n_params = sum(p.numel() for p in ours.parameters())
    print(f"VAE {args.preset} ({n_params / 1e6:.1f}M params), clip {args.frames}x{args.size[0]}x{args.size[1]}, "
          f"latents {tuple(z.shape[1:])}, device {args.device}, threads {args.threads}, "
          f"tiling {'on' if args.tiling else 'off'}, frame chunks {ours.chunk_sample_frames} / "
          f"{ours.chunk_latent_frames} (both)")

    print(f"\n{'op':<8}{'diffusers s':>13}{'minicog s':>12}{'ratio':>8}{'max rel err':>14}")
    for op in ("encode", "decode"):
        outs = {i: run_op(i, op, ref, ours, x, z) for i in ("diffusers", "minicog")}  # warm-up
        err = ((outs["minicog"] - outs["diffusers"]).abs().max() / outs["diffusers"].abs().max()).item()
        times = {"diffusers": [], "minicog": []}
        for _ in range(args.reps):
            for impl in ("diffusers", "minicog"):  # interleaved, so load changes hit both
                sync(args.device)
                t0 = time.perf_counter()
                run_op(impl, op, ref, ours, x, z)
                sync(args.device)
                times[impl].append(time.perf_counter() - t0)
        med = {k: sorted(v)[len(v) // 2] for k, v in times.items()}
        print(f"{op:<8}{med['diffusers']:>13.3f}{med['minicog']:>12.3f}"
              f"{med['minicog'] / med['diffusers']:>8.2f}{err:>14.2e}")

    if args.no_memory:
        return
    print(f"\npeak memory of one pass (MiB){'':<4}{'diffusers':>11}{'minicog':>10}{'minicog whole clip':>20}")
    env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": "65536"}
    base_cmd = [sys.executable, __file__, "--preset", args.preset, "--frames", str(args.frames),
                "--size", *map(str, args.size), "--threads", str(args.threads), "--device", args.device,
                "--folder", str(folder.parent)] + (["--tiling"] if args.tiling else [])
    for op in ("encode", "decode"):
        row = []
        for impl, chunked in (("diffusers", "1"), ("minicog", "1"), ("minicog", "0")):
            out = subprocess.run(base_cmd + ["--measure", impl, op, chunked], env=env, check=True,
                                 capture_output=True, text=True).stdout
            row.append(float(out.strip().splitlines()[-1]))
        print(f"{op:<32}{row[0]:>11.0f}{row[1]:>10.0f}{row[2]:>20.0f}   "
              f"(minicog/diffusers {row[1] / row[0]:.2f}, chunked/whole {row[1] / row[2]:.2f})")


if __name__ == "__main__":
    main()
