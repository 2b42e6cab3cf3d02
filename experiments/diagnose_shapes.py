"""Where a text-to-video model loses the shape (run by hand, not in CI; docs/training.md).

    python benchmarks/diagnose_shapes.py                    # the shipped tiny model
    python benchmarks/diagnose_shapes.py --model runs/tiny_ft

On 24 rendered square clips (their own prompts, seeds never used in training), three measures:

1. decoder robustness: the clips' latents plus i.i.d. noise of std σ, decoded — how often the oracle
   still reads a square (is the decoder the fragile part?);
2. the model's one-step estimate x̂0 = x_t − t·v(x_t, t, prompt) at several t: its RMS error and how
   often its decoding reads as a square (is the error large, or structured?);
3. prompt contrast: RMS of x̂0("… square …") − x̂0("… circle …") at the same x_t, against the RMS
   difference of rendered square and circle clips of the same motion, and against a colour word's
   effect (has the model learned the shape word as strongly as the data asks?).
"""
from __future__ import annotations

import argparse

import torch


from minicog import shapes  # noqa: E402
from minicog.pipeline import load_pipeline  # noqa: E402
from minicog.rectified_flow import to_model_timestep  # noqa: E402


def rms(x: torch.Tensor) -> float:
    return x.square().mean().sqrt().item()


@torch.no_grad()
def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="tiny")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    pipe = load_pipeline(args.model, device="cpu")
    squares = [shapes.caption(**c) for c in shapes.all_combinations() if c["shape"] == "square"][::3]
    circles = [p.replace("square", "circle") for p in squares]
    recolour = [p.replace(p.split()[1], "green" if p.split()[1] != "green" else "orange") for p in squares]
    def render(ps):
        return torch.cat([pipe.encode_video(shapes.render_caption(p, rng=3000 + i)) for i, p in enumerate(ps)])

    z_sq, z_ci = render(squares), render(circles)                 # same motion, other shape
    def square_rate(z):
        return shapes.evaluate(pipe.decode_latents(z), squares).per_attribute["shape"]
    g = torch.Generator().manual_seed(0)

    print(f"{len(squares)} square clips; latent std {z_sq.std():.3f}, "
          f"within-clip std {z_sq.std(dim=(2, 3, 4)).mean():.3f}")
    print("\n1. decoder: latents + N(0, σ²) → read as squares")
    for s in (0.0, 0.05, 0.1, 0.2):
        print(f"   σ = {s:<4}  {100 * square_rate(z_sq + s * torch.randn(z_sq.shape, generator=g)):5.1f} %")

    embeds = {k: pipe.encode_prompt(p) for k, p in
              dict(square=squares, circle=circles, colour=recolour).items()}
    print("\n2. one-step estimate x̂0 at time t (square prompt) · 3. prompt contrast in x̂0")
    print(f"   rendered square vs circle, same motion: RMS {rms(z_sq - z_ci):.4f}")
    print("   t     x̂0 RMS error  x̂0 read as square   |x̂0(square) − x̂0(circle)|   |x̂0(square) − x̂0(recoloured)|")
    for t in (0.1, 0.2, 0.3, 0.5, 0.8):
        x_t = (1 - t) * z_sq + t * torch.randn(z_sq.shape, generator=g)
        tt = to_model_timestep(torch.full((len(squares),), t))
        x0 = {k: x_t - t * pipe.dit(x_t, tt, e, text_mask=m) for k, (e, m) in embeds.items()}
        print(f"   {t:<4}  {rms(x0['square'] - z_sq):.4f}        {100 * square_rate(x0['square']):5.1f} %"
              f"             {rms(x0['square'] - x0['circle']):.4f}                    "
              f"{rms(x0['square'] - x0['colour']):.4f}")


if __name__ == "__main__":
    main()
