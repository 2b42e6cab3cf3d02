"""Which attention maps localise the edited object? (run by hand, not in CI; docs/flowdirector.md).

    python benchmarks/diagnose_attention.py                      # the shipped tiny model
    python benchmarks/diagnose_attention.py --model runs/tiny_ft3 --clips 48

FlowDirector's mask (v1 §3.3) is only as good as the word → video attention it is read from. On
rendered Shapes clips (their own prompts; seeds disjoint from the edit sets), noised to the times
an edit visits, this records every layer's two text blocks of the 3D full attention and scores the
map of the colour word and of the shape word against where the object really is, on the token grid
(one token = 2×2 latent pixels = 16×16 px):

- point: how often the map's largest token (per latent frame) holds object pixels (pointing game);
- mass: the share of the map's mass on object tokens (the object covers `area` of the tokens, so a
  map that does not localise at all scores about `area`);
- recall / cover: with the preset's rule (`flowdirector.attention_mask`: min–max, threshold 0.3,
  no box filter, union over the N candidate draws), the share of object tokens inside the binary mask, and the share of all tokens inside it.
"""
from __future__ import annotations

import argparse
import sys

import numpy as np
import torch
import torch.nn.functional as F


from minicog import flowdirector as fd, shapes  # noqa: E402
from minicog.pipeline import load_pipeline  # noqa: E402


def object_tokens(video: np.ndarray, grid: tuple[int, int, int]) -> torch.Tensor:
    """(T', H', W') share of object pixels per video token; latent frame k covers pixel frames
    4k − 3 … 4k (frame 0 alone), as the causal VAE groups them."""
    m = torch.from_numpy(shapes.object_mask(video)).float()            # (T, H, W)
    Tl, Hg, Wg = grid
    per = fd.per_latent_frame(m, Tl, "max")                              # (T', H, W)
    return F.adaptive_avg_pool2d(per[:, None], (Hg, Wg))[:, 0]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="tiny")
    ap.add_argument("--clips", type=int, default=24)
    ap.add_argument("--times", type=float, nargs="+", default=[0.6, 0.45, 0.3, 0.15])
    ap.add_argument("--draws", type=int, default=10, help="noise draws per clip and time (the preset's N)")
    ap.add_argument("--seed", type=int, default=424242)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--by-time", action="store_true", help="one row per noise level too")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    pipe = load_pipeline(args.model)
    n_layers = pipe.dit.config.num_layers
    rng = np.random.default_rng(args.seed)
    combos = shapes.all_combinations()
    words = ("color", "shape")
    kinds = fd.ATTN_MAPS
    rule = fd.FlowDirector().mask                         # the preset's mask rule (threshold, box filter)
    # score[(kind, layer, word, t)] -> lists of per-clip numbers
    score: dict[tuple, dict[str, list]] = {}
    areas = []
    gen = torch.Generator().manual_seed(args.seed)
    for c in range(args.clips):
        attrs = combos[rng.integers(len(combos))]
        prompt = shapes.caption(**attrs)
        video = shapes.render_caption(prompt, rng=int(rng.integers(2**31)))
        x = pipe.encode_video(video)
        embeds, mask = pipe.encode_prompt([prompt])
        tok = {w: fd.token_indices(pipe, prompt, [attrs[w]]) for w in words}
        for t in args.times:
            eps = torch.randn((args.draws, *x.shape[1:]), generator=gen).to(x)
            z = (1 - t) * x + t * eps
            with pipe.dit.record_attention(layers=range(n_layers), reduce_heads="mean") as rec, torch.no_grad():
                pipe.velocity(z, t, embeds.expand(args.draws, -1, -1),
                              None if mask is None else mask.expand(args.draws, -1))
            grid = tuple(rec.maps[0]["video_to_text"].shape[-3:])
            occ = object_tokens(video, grid) > 0                          # (T', H', W') bool
            areas.append(float(occ.float().mean()))
            for kind in kinds:
                for layer in range(n_layers):
                    for w in words:
                        a = fd.word_attention({layer: rec.maps[layer][kind]}, tok[w], kind=kind)  # (N, T', H', W')
                        s = score.setdefault((kind, layer, w, t), dict(point=[], mass=[], recall=[], cover=[]))
                        flat = a.flatten(2)                                            # (N, T', HW)
                        hit = occ.flatten(1).gather(1, flat.argmax(-1).T.contiguous()).float()  # (T', N)
                        s["point"].append(float(hit.mean()))
                        s["mass"].append(float((a * occ).sum((1, 2, 3)).div(a.sum((1, 2, 3))).mean()))
                        _, parts = fd.attention_mask(a, grid, rule, return_parts=True)
                        binary = parts["union"] > 0.5                                  # union over N
                        s["recall"].append(float(binary[occ].float().mean()))
                        s["cover"].append(float(binary.float().mean()))
        print(f"clip {c + 1}/{args.clips}", end="\r", file=sys.stderr)
    print(f"\n{args.clips} clips × t ∈ {args.times} × {args.draws} draws; object area {np.mean(areas):.2f} of the tokens\n")
    by_t = args.by_time
    print("| map | layer | word |" + (" t |" if by_t else "") + " point | mass | recall (preset rule, ∪N) | cover |")
    print("|---|---|---|" + ("---|" if by_t else "") + "---|---|---|---|")
    merged: dict[tuple, dict[str, list]] = {}
    for (kind, layer, w, t), s in score.items():
        key = (kind, layer, w, t) if by_t else (kind, layer, w)
        for k, v in s.items():
            merged.setdefault(key, {}).setdefault(k, []).extend(v)
    for key, s in merged.items():
        m = {k: np.mean(v) for k, v in s.items()}
        print("| " + " | ".join(str(k) for k in key) +
              f" | {m['point']:.2f} | {m['mass']:.2f} | {m['recall']:.2f} | {m['cover']:.2f} |")


if __name__ == "__main__":
    main()
