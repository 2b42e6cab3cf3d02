"""How large must two objects be for the VAE to keep them? The oracle on reconstructions, by size.

    python benchmarks/vae_two_object_sizes.py                                   # the shipped VAE
    python benchmarks/vae_two_object_sizes.py --vae runs/vae_one_object runs/vae_first_mix assets/tiny/vae
                                                    # folders as docs/shapes_world.md makes them

Renders the same two-object scenes (`shapes.sample_scenes(n, seed)`, 17 frames, 64 × 64) with the
objects' radius drawn from each range of `--ranges` (fractions of the frame; the world draws
`shapes.TWO_SIZE_RANGE`), encodes and decodes them with each VAE (posterior mean), and prints the
share of reconstructions that `shapes.read_scene` reads as the scene (every object's colour, shape
and direction, the background, no extra object). The rendered clips themselves read 100 %.
This is the measurement behind the choice of two-object sizes (docs/shapes_world.md).
"""
from __future__ import annotations

import argparse

import torch

from minicog import shapes
from minicog.causal_vae import CausalVAE
from minicog.train_vae import oracle_accuracy
from minicog.video import to_tensor


def scenes_at(size_range: tuple[float, float], n: int, seed: int, frames: int = 17, size: int = 64):
    """`n` two-object scenes rendered with radii in `size_range` (uint8 (T, H, W, 3) each), and the scenes."""
    scenes = shapes.sample_scenes(n, seed=seed)
    videos = []
    for i, sc in enumerate(scenes):
        motions = shapes.scene_motions(sc, size, rng=seed * 100_003 + i, size_range=size_range)
        videos.append(shapes.render_scene(sc, frames=frames, size=size, motions=motions))
    return videos, scenes


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--vae", nargs="+", default=["assets/tiny/vae"], help="VAE folders (config.json + weights)")
    p.add_argument("--ranges", nargs="+", default=["0.11-0.15", "0.13-0.16", "0.14-0.17", "0.15-0.18"],
                   help="radius ranges, fractions of the frame, as LOW-HIGH")
    p.add_argument("--n", type=int, default=60, help="scenes per range")
    p.add_argument("--seed", type=int, default=5)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)

    ranges = [tuple(float(x) for x in r.split("-")) for r in args.ranges]
    rendered = {r: scenes_at(r, args.n, args.seed) for r in ranges}
    for r, (videos, scenes) in rendered.items():                      # the ground truth reads itself
        ok = sum(shapes.read_scene(v) == sc for v, sc in zip(videos, scenes))
        assert ok == len(scenes), f"the oracle misreads {len(scenes) - ok} rendered clips at {r}"

    print(f"two-object reconstructions read right ({args.n} scenes of sample_scenes(seed={args.seed}) per range)\n")
    print("| VAE | " + " | ".join(f"radius {a:.2f}–{b:.2f}" for a, b in ranges) + " |")
    print("|---|" + "---|" * len(ranges))
    for folder in args.vae:
        vae = CausalVAE.from_pretrained(folder).eval()
        cells = []
        for r in ranges:
            videos, scenes = rendered[r]
            x = torch.stack([to_tensor(v) for v in videos])
            cells.append(f"{100 * oracle_accuracy(vae, x, scenes)['prompt']:.0f} %")
        print(f"| {folder} | " + " | ".join(cells) + " |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
