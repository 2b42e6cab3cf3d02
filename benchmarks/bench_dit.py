"""Expert transformer benchmarks (run by hand, not in CI).

    python benchmarks/bench_dit.py speed        # minicog VideoDiT vs diffusers, same weights/inputs
    python benchmarks/bench_dit.py attention    # 3D full vs separated spatial+temporal: cost
    python benchmarks/bench_dit.py quality      # full vs separated: short training on Shapes (~15 min)
    python benchmarks/bench_dit.py quality --threads 1 --seeds 0 --record benchmarks/results/dit_attention_quality.json
                                                # ... with its learning curves, as notebook 04 plots them
    python benchmarks/bench_dit.py all

`speed` times forward (no_grad) and forward+backward of both implementations in one run,
interleaving the two so machine load hits both alike, and prints fastest-run times and the ratio
minicog / diffusers (< 1 means minicog is faster). On CUDA both run with bf16 weights (SDPA picks
its flash kernel) and two more cases use CogVideoX's real width on a 49-frame 480x720 latent.
Results of a run are recorded in docs/dit.md.
"""
from __future__ import annotations

import argparse
import json
import shlex
import statistics
import sys
import tempfile
import time
import types
from pathlib import Path

import torch
import torch.nn.functional as F


from minicog.dit import DiTConfig, VideoDiT  # noqa: E402
from minicog.utils import autocast, resolve_device, seed_everything  # noqa: E402

# ----------------------------------------------------------------------------- speed vs diffusers

SPEED_CASES = {
    # name: (diffusers config overrides, latent (B, C, T, H, W), text length)
    "tiny (Shapes)": (dict(num_attention_heads=4, attention_head_dim=48, num_layers=6, in_channels=8,
                           out_channels=8, text_embed_dim=128, time_embed_dim=128, max_text_seq_length=16,
                           sample_height=8, sample_width=8, sample_frames=17,
                           use_rotary_positional_embeddings=True), (8, 8, 5, 8, 8), 16),
    "5B-like (RoPE)": (dict(num_attention_heads=8, attention_head_dim=64, num_layers=4,
                            use_rotary_positional_embeddings=True), (1, 16, 4, 16, 24), 226),
    "2B-like (sincos)": (dict(num_attention_heads=8, attention_head_dim=64, num_layers=4),
                         (1, 16, 4, 16, 24), 226),
    "1.5-like (p_t=2)": (dict(num_attention_heads=8, attention_head_dim=64, num_layers=4, patch_size_t=2,
                              patch_bias=False, sample_height=300, sample_width=300, sample_frames=81,
                              use_rotary_positional_embeddings=True), (1, 16, 4, 16, 24), 226),
}
# on CUDA (bf16 weights, SDPA flash): CogVideoX-5B's real width and a real 49-frame 480x720 latent,
# with 8 of its 42 layers so the random-weight pair fits comfortably in memory
GPU_CASES = {
    "5B width, 8 layers, 13x60x90 latents": (dict(num_attention_heads=48, num_layers=8,
                                                  use_rotary_positional_embeddings=True),
                                             (2, 16, 13, 60, 90), 226),
    "2B width, 8 layers, 13x60x90 latents": (dict(num_attention_heads=30, num_layers=8),
                                             (2, 16, 13, 60, 90), 226),
}


def _diffusers_pair(overrides: dict, device, dtype=torch.float32, via_disk: bool = True):
    """A diffusers CogVideoXTransformer3DModel with random weights and the same weights in minicog
    (through a saved diffusers folder and `VideoDiT.from_diffusers`, or converted in memory)."""
    from diffusers import CogVideoXTransformer3DModel
    with torch.device(device):
        ref = CogVideoXTransformer3DModel(**overrides).to(dtype)
    with torch.no_grad():
        for p in ref.parameters():
            p.normal_(0, 0.02)
    if via_disk:
        with tempfile.TemporaryDirectory() as d:
            ref.save_pretrained(d)
            ours = VideoDiT.from_diffusers(d, device=device, dtype=dtype)
    else:
        with torch.device("meta"):
            ours = VideoDiT(DiTConfig.from_diffusers_config(dict(ref.config)))
        state = {k: v.clone() for k, v in ours.convert_diffusers_state(ref.state_dict()).items()}
        ours.load_state_dict(state, assign=True)
    return ref, ours


def _diffusers_rope(ref, T, H, W, device):
    """RoPE tables exactly as CogVideoXPipeline prepares them (once per generation)."""
    if not ref.config.use_rotary_positional_embeddings:
        return None
    from diffusers.pipelines.cogvideo.pipeline_cogvideox import CogVideoXPipeline
    fake = types.SimpleNamespace(transformer=ref, vae_scale_factor_spatial=8)
    return CogVideoXPipeline._prepare_rotary_positional_embeddings(fake, H * 8, W * 8, T, device)


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def interleaved_times(fns: dict, reps: int, device, warmup: int = 2) -> dict[str, float]:
    """Run every fn `warmup` times, then `reps` rounds of all fns in turn; fastest run in seconds of
    each (the least disturbed by other processes on a shared machine; medians are printed too)."""
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    times = {k: [] for k in fns}
    for _ in range(reps):
        for k, fn in fns.items():
            _sync(device)
            t0 = time.perf_counter()
            fn()
            _sync(device)
            times[k].append(time.perf_counter() - t0)
    for k, v in times.items():
        print(f"    {k:10s} min {min(v) * 1e3:9.1f} ms  median {statistics.median(v) * 1e3:9.1f} ms")
    return {k: min(v) for k, v in times.items()}


def bench_speed(device, reps: int, cases: list[str] | None = None) -> list[dict]:
    """On CPU in fp32; on CUDA with bf16 weights and inputs (how CogVideoX runs), SDPA picks flash."""
    rows = []
    gpu = device.type == "cuda"
    dtype = torch.bfloat16 if gpu else torch.float32
    for name, (overrides, shape, L) in {**SPEED_CASES, **(GPU_CASES if gpu else {})}.items():
        if cases and not any(c.lower() in name.lower() for c in cases):
            continue
        seed_everything(0)
        ref, ours = _diffusers_pair(overrides, device, dtype, via_disk=not gpu)
        B, C, T, H, W = shape
        x = torch.randn(shape, device=device, dtype=dtype)
        x_ref = x.permute(0, 2, 1, 3, 4).contiguous()           # diffusers wants (B, T, C, H, W)
        text = torch.randn(B, L, overrides.get("text_embed_dim", 4096), device=device, dtype=dtype)
        t = torch.linspace(10, 990, B, device=device)
        rope = _diffusers_rope(ref, T, H, W, device)

        def run_ref(ref=ref):
            return ref(x_ref, text, t, image_rotary_emb=rope, return_dict=False)[0]

        def run_ours(ours=ours):
            return ours(x, t, text)

        print(f"{name}: forward")
        with torch.no_grad():
            err = ((run_ours().float() - run_ref().permute(0, 2, 1, 3, 4).float()).abs().max()
                   / run_ref().float().abs().max()).item()
            fwd = interleaved_times({"diffusers": run_ref, "minicog": run_ours}, reps, device)

        def backward(run, model):
            def step():
                model.zero_grad(set_to_none=True)
                run().float().pow(2).mean().backward()
            return step
        print(f"{name}: forward + backward")
        fb = interleaved_times({"diffusers": backward(run_ref, ref), "minicog": backward(run_ours, ours)},
                                max(3, reps // 2), device, warmup=1)
        tokens = L + T // (overrides.get("patch_size_t") or 1) * (H // 2) * (W // 2)
        rows.append(dict(case=name, tokens=tokens, params=ours.num_params(), rel_err=err,
                         fwd_ref=fwd["diffusers"], fwd_ours=fwd["minicog"],
                         fb_ref=fb["diffusers"], fb_ours=fb["minicog"]))
        r = rows[-1]
        print(f"=> {name:18s} tokens={tokens:4d} params={r['params'] / 1e6:6.1f}M  max rel err {err:.1e} | "
              f"fwd {r['fwd_ref'] * 1e3:8.1f} ms diffusers {r['fwd_ours'] * 1e3:8.1f} ms minicog "
              f"ratio {r['fwd_ours'] / r['fwd_ref']:.2f}x | fwd+bwd {r['fb_ref'] * 1e3:8.1f} / "
              f"{r['fb_ours'] * 1e3:8.1f} ms ratio {r['fb_ours'] / r['fb_ref']:.2f}x", flush=True)
        del ref, ours
    return rows


# ----------------------------------------------------------------------------- full vs separated: cost


def attention_pairs(n_text: int, grid: tuple[int, int, int], kind: str) -> int:
    """Query-key pairs of one layer: the True entries of its mask (all of them for "full"; for
    "spatial" and "temporal" the masks of `minicog.attention.separated_masks`, counted without
    building them — at CogVideoX's size a mask has 3·10⁸ entries)."""
    T, H, W = grid
    N, S = T * H * W, n_text + T * H * W
    if kind == "full":
        return S * S
    per_query = {"spatial": H * W, "temporal": T}[kind]      # video keys a video query sees
    return n_text * S + N * (n_text + per_query)             # text queries see all; all see the text


def attention_flops(n_text: int, grid: tuple[int, int, int], dim: int, kind: str) -> float:
    """Multiply-adds ×2 of QK^T and PV for one layer (projections are the same for both designs);
    "separated" alternates spatial and temporal layers."""
    kinds = ("spatial", "temporal") if kind == "separated" else (kind,)
    pairs = sum(attention_pairs(n_text, grid, k) for k in kinds) / len(kinds)
    return 2 * 2 * pairs * dim


def bench_attention(device, reps: int) -> None:
    print("\nAttention pattern cost per layer: FLOPs of QK^T + PV, and of the whole block (+ qkv/out "
          "projections and MLP, identical in both designs)")
    for name, L, grid, dim in [("Shapes tiny (5x4x4 tokens)", 16, (5, 4, 4), 192),
                               ("CogVideoX-5B 49f 480x720 (13x30x45)", 226, (13, 30, 45), 3072),
                               ("CogVideoX1.5 81f 768x1360 (11x48x85)", 226, (11, 48, 85), 3072)]:
        full, sep = (attention_flops(L, grid, dim, k) for k in ("full", "separated"))
        dense = 2 * (L + grid[0] * grid[1] * grid[2]) * 12 * dim * dim      # 4D² projections + 8D² MLP
        print(f"  {name:38s} attention: full {full / 1e9:9.1f} / separated {sep / 1e9:7.1f} GFLOP "
              f"= {full / sep:5.1f}x | whole block: {(full + dense) / 1e9:9.1f} / {(sep + dense) / 1e9:7.1f} "
              f"GFLOP = {(full + dense) / (sep + dense):4.2f}x")
    print("\nMeasured forward time, same weights, full vs separated (fastest of interleaved runs):")
    for name, cfg, shape, L in [
        ("tiny preset, Shapes latents", DiTConfig.tiny(), (8, 8, 5, 8, 8), 16),
        ("tiny preset, 4x bigger frames", DiTConfig.tiny(), (2, 8, 5, 32, 32), 16),
        ("2 layers 8x64, 13x16x24 tokens", DiTConfig.cogvideox_5b(num_layers=2, num_heads=8, text_embed_dim=64),
         (1, 16, 13, 32, 48), 32),
    ]:
        seed_everything(0)
        full = VideoDiT(cfg).to(device).eval()
        sep = VideoDiT(DiTConfig(**{**cfg.__dict__, "attention": "separated"})).to(device).eval()
        sep.load_state_dict(full.state_dict())
        x = torch.randn(shape, device=device)
        text = torch.randn(shape[0], L, cfg.text_embed_dim, device=device)
        t = torch.full((shape[0],), 500.0, device=device)
        with torch.no_grad(), autocast(device):
            print(f"  {name}:")
            times = interleaved_times({"full": lambda: full(x, t, text), "separated": lambda: sep(x, t, text)},
                                      reps, device, warmup=1)
        print(f"  => {name:32s} full {times['full'] * 1e3:9.1f} ms  separated {times['separated'] * 1e3:9.1f} ms"
              f"  full/separated {times['full'] / times['separated']:.2f}x", flush=True)


# ----------------------------------------------------------------------------- full vs separated: quality


def shapes_batch(ds, indices, vocab):
    """Shapes clips as small 'latents': 5 frames (every 4th of 17), 32x32 px folded into 4x4 blocks
    (space-to-depth, 48 channels on an 8x8 grid) — the shape a tiny VAE would give, without a VAE —
    and the four attribute words of each caption as token ids."""
    from einops import rearrange
    items = [ds[i] for i in indices]
    video = torch.stack([it["video"][:, ::4] for it in items])             # (B, 3, 5, 32, 32)
    lat = rearrange(video, "b c t (h ph) (w pw) -> b (c ph pw) t h w", ph=4, pw=4)
    words = [[vocab[it["attributes"][a]] for a in ("color", "shape", "direction", "background")]
             for it in items]
    return lat, torch.tensor(words)


def quality_data(seed: int, pool: int) -> dict:
    """Training and held-out Shapes pseudo-latents, the frozen word table, and the held-out loss's
    fixed noise and evenly spread noise levels."""
    from minicog import shapes
    words = sorted({w for v in (shapes.COLORS, shapes.SHAPES, shapes.DIRECTIONS, shapes.BACKGROUNDS) for w in v})
    vocab = {w: i for i, w in enumerate(words)}
    train_x, train_w = shapes_batch(shapes.ShapesDataset(pool, frames=17, size=32, seed=seed), range(pool), vocab)
    val_x, val_w = shapes_batch(shapes.ShapesDataset(256, frames=17, size=32, seed=seed + 1), range(256), vocab)
    g = torch.Generator().manual_seed(seed)
    word_table = torch.randn(len(vocab), 32, generator=g)                   # frozen "text encoder"
    return dict(train_x=train_x, train_w=train_w, val_x=val_x, val_w=val_w, word_table=word_table,
                val_noise=torch.randn(val_x.shape, generator=g), val_s=(torch.arange(256) + 0.5) / 256)


def held_out_loss(model, data: dict) -> torch.Tensor:
    """Per-clip flow-matching loss on the held-out clips (fixed noise and noise levels), in chunks."""
    model.eval()
    out = []
    with torch.no_grad():
        for a in range(0, len(data["val_x"]), 64):
            x0, s = data["val_x"][a:a + 64], data["val_s"][a:a + 64]
            noise, sv = data["val_noise"][a:a + 64], s[:, None, None, None, None]
            pred = model((1 - sv) * x0 + sv * noise, s * 1000, data["word_table"][data["val_w"][a:a + 64]])
            out.append((pred - (noise - x0)).pow(2).flatten(1).mean(1))
    model.train()
    return torch.cat(out)


def train_variant(attention: str, data: dict, steps: int, batch: int, seed: int, eval_every: int) -> dict:
    """Rectified-flow training of the quality run's DiT with `attention`; the held-out loss every
    `eval_every` steps (and at the end), and the final loss by noise level."""
    seed_everything(seed)
    cfg = DiTConfig.tiny(in_channels=48, out_channels=48, text_embed_dim=32, max_text_len=4,
                         num_layers=4, num_heads=4, head_dim=32, time_embed_dim=64, attention=attention)
    model = VideoDiT(cfg)
    opt = torch.optim.AdamW(model.parameters(), lr=5e-4, weight_decay=0.0)
    rng = torch.Generator().manual_seed(seed + 2)
    pool, curve, train_s = len(data["train_x"]), [], 0.0
    for step in range(steps + 1):
        if step % eval_every == 0 or step == steps:
            curve.append((step, held_out_loss(model, data).mean().item()))
        if step == steps:
            break
        t0 = time.perf_counter()
        idx = torch.randint(0, pool, (batch,), generator=rng)
        x0, w = data["train_x"][idx], data["train_w"][idx]
        noise = torch.randn(x0.shape, generator=rng)
        s = torch.rand(batch, generator=rng)
        sv = s[:, None, None, None, None]
        loss = F.mse_loss(model((1 - sv) * x0 + sv * noise, s * 1000, data["word_table"][w]), noise - x0)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        train_s += time.perf_counter() - t0
    per_clip, val_s = held_out_loss(model, data), data["val_s"]
    buckets = [per_clip[(val_s >= a) & (val_s < b)].mean().item() for a, b in ((0, 1 / 3), (1 / 3, 2 / 3), (2 / 3, 1))]
    return dict(params=model.num_params(), train_s=train_s, steps=[c[0] for c in curve],
                loss=[c[1] for c in curve], final=per_clip.mean().item(), by_noise_level=buckets)


def bench_quality(steps: int, batch: int, seeds=(0,), pool: int = 2048, eval_every: int = 100,
                  record: str | None = None, command: str = "") -> dict:
    """Train the same small DiT twice per seed — 3D full vs separated spatial/temporal attention,
    identical weights at init, same batches — with rectified flow on Shapes, then compare the
    held-out flow-matching loss (fixed noise and timesteps) overall and per noise level; the held-out
    loss every `eval_every` steps is the learning curve. `record`: write the results there as JSON, with
    `command` (the command line that made them)."""
    print(f"\nQuality: {steps} steps x batch {batch} of rectified-flow training on {pool} Shapes clips "
          f"(48x5x8x8 pseudo-latents, 4 caption-word tokens); held-out loss on 256 other clips")
    runs = []
    for seed in seeds:
        data = quality_data(seed, pool)
        run = {"seed": seed}
        for attention in ("full", "separated"):
            r = run[attention] = train_variant(attention, data, steps, batch, seed, eval_every)
            b = r["by_noise_level"]
            print(f"  seed {seed} {attention:9s} params {r['params'] / 1e6:.2f}M  train {r['train_s']:6.1f} s  "
                  f"held-out loss {r['final']:.4f}  (t<1/3: {b[0]:.4f}, mid: {b[1]:.4f}, t>2/3: {b[2]:.4f})",
                  flush=True)
        print(f"  seed {seed}: separated / full held-out loss: {run['separated']['final'] / run['full']['final']:.3f}")
        runs.append(run)
        result = dict(command=command, steps=steps, batch=batch, pool=pool, eval_every=eval_every,
                      torch=torch.__version__, threads=torch.get_num_threads(),
                      model=dict(num_layers=4, num_heads=4, head_dim=32, latent=[48, 5, 8, 8], patch_size=2,
                                 text_tokens=4), runs=runs)
        if record:                                  # after every seed, so a stopped run keeps what it has
            Path(record).parent.mkdir(parents=True, exist_ok=True)
            Path(record).write_text(json.dumps(result, indent=1) + "\n")
            print(f"  recorded in {record}")
    return result


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("what", choices=["speed", "attention", "quality", "all"], nargs="?", default="all")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--cases", nargs="*", help="substrings of speed case names to run")
    ap.add_argument("--steps", type=int, default=2000,
                    help="training steps of the quality run (2000: ~15 min on one CPU thread)")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0],
                    help="seeds of the quality run (data, init, noise), one pair of runs each")
    ap.add_argument("--eval-every", type=int, default=100, help="held-out loss every this many steps")
    ap.add_argument("--record", default=None,
                    help="write the quality run's curves as JSON here (e.g. benchmarks/results/dit_attention_quality.json)")
    ap.add_argument("--threads", type=int, default=None,
                    help="torch CPU threads (1 gives steadier timings on a shared machine)")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    print(f"device {device}, torch {torch.__version__}, threads {torch.get_num_threads()}")
    if args.what in ("speed", "all"):
        bench_speed(device, args.reps, args.cases)
    if args.what in ("attention", "all"):
        bench_attention(device, args.reps)
    if args.what in ("quality", "all"):
        command = "python benchmarks/bench_dit.py " + shlex.join(sys.argv[1:] if argv is None else argv)
        bench_quality(args.steps, args.batch, tuple(args.seeds), eval_every=args.eval_every, record=args.record,
                      command=command)


if __name__ == "__main__":
    main()
