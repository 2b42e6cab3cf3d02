"""Trainer: loss goes down on mixed-duration Frame Pack batches, exact resume, NaN stop, exports,
real-clip folders, the CLI, and DistributedDataParallel with 2 gloo processes on the CPU."""
import json
import os
import shlex
import socket
import subprocess
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.multiprocessing as mp

from minicog.causal_vae import CausalVAE, VAEConfig
from minicog.data import ClipFolder, LatentCache, export_shapes_folder, two_object_holdout_captions
from minicog import shapes
from minicog.shapes import vocabulary
from minicog.lr_schedule import lr_at, warmup_cosine
from minicog.pipeline import Pipeline
from minicog.train import build_model, configure_optimizer, init_model, main, make_batch, train
from minicog.train_config import PRESETS, Stage, TrainConfig, progressive_stages
from minicog.utils import load_safetensors

PROMPT = "a red circle moving left on a black background"


@pytest.fixture(scope="module")
def vae_dir(tmp_path_factory):
    """A small random causal VAE: the trainer's mechanics do not need a trained one."""
    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("vae") / "vae"
    CausalVAE(VAEConfig.tiny()).save_pretrained(folder)
    return folder


def micro(out_dir, vae_dir, **kw):
    """A model and schedule small enough for a few seconds of CPU: 32 px, 1-, 5- and 9-frame clips;
    one-object English clips, adaLN-Zero, a decay to 10 % (the trainer's mechanics, not the recipe)."""
    base = dict(out_dir=str(out_dir), vae=str(vae_dir), num_clips=8, holdout=[], two_objects=0.0, korean=0.0,
                batch_size=4, min_lr_ratio=0.1, zero_init=True, sample_every=0, guidance=4.0, sample_shift=1.0,
                dit_overrides=dict(num_layers=1, num_heads=2, head_dim=16, time_embed_dim=32,
                                   text_embed_dim=32),
                text_depth=1, text_heads=2,
                stages=[Stage(until=2, size=32, frames=(1, 5)),
                        Stage(until=6, size=32, frames=(1, 5, 9), mix=(1, 1, 2), clips=(8, 4, 8))],
                warmup=2, lr=3e-3, save_every=100, log_every=1, sample_prompts=[PROMPT],
                sample_steps=2, progress=False)
    base.update(kw)
    return TrainConfig(**base)


def weights(path):
    return load_safetensors(path)


def test_config_schedule_and_validation(tmp_path, vae_dir):
    cfg = micro(tmp_path, vae_dir)
    assert cfg.steps == 6 and cfg.stage_at(1).frames == (1, 5) and cfg.stage_at(5).frames == (1, 5, 9)
    assert cfg.with_steps(60).stages[0].until == 20 and cfg.with_steps(60).steps == 60
    assert TrainConfig.tiny().steps_per_size() == {32: 6000, 64: 34000}      # six stages, two sizes
    lrs = [lr_at(cfg, s) for s in range(6)]
    assert lrs[0] < lrs[1] == pytest.approx(cfg.lr) and lrs[-1] < lrs[1]      # warm-up then decay
    with pytest.raises(ValueError, match="strictly increasing"):
        TrainConfig(stages=[Stage(until=5), Stage(until=5)])
    with pytest.raises(ValueError, match="1\\+4k"):
        Stage(until=5, frames=(8,))
    with pytest.raises(ValueError, match="one non-negative value per duration"):
        Stage(until=5, frames=(1, 17), mix=(1.0,))
    back = TrainConfig.from_dict(json.loads(json.dumps(cfg.to_dict())))
    assert back == cfg
    with pytest.raises(ValueError, match="unknown TrainConfig fields"):
        TrainConfig.from_dict({"learning_rate": 1})
    with pytest.raises(ValueError, match="unknown TrainConfig fields"):
        TrainConfig.tiny(learning_rate=1)                                   # presets: the same policy
    tiny = TrainConfig.tiny()
    assert tiny.stages[0].size < tiny.stages[-1].size                       # progressive resolution
    assert 1 in tiny.stages[-1].frames and len(tiny.stages[-1].frames) > 1   # images + videos mixed
    # the shipped model's recipe is one run from random weights on the Shapes mixture, with the
    # two-object compositional holdout never shown
    assert tiny.init is None and 0 < tiny.two_objects < 1 and 0 < tiny.korean < 1
    assert set(two_object_holdout_captions()) <= set(tiny.holdout)
    assert lr_at(tiny, tiny.steps - 1) < 0.05 * lr_at(tiny, tiny.warmup)


def test_presets_are_flat_and_complete():
    """Every preset builds alone; there is one recipe for the shipped model, no chain; the
    defaults are that recipe."""
    configs = {name: make() for name, make in PRESETS.items()}
    assert set(configs) == {"tiny", "fast", "holdout", "folder"}
    assert TrainConfig() == configs["tiny"]                          # the defaults are the recipe
    assert configs["tiny"].steps == 40000 and configs["fast"].steps == 30
    assert all(c.init is None for c in configs.values())
    assert configs["holdout"].stages == configs["tiny"].stages
    assert configs["folder"].stages == progressive_stages()          # real clips: no object counts
    # the one recipe: a one-object curriculum at 32 px, then the whole mixture; default init
    tiny = configs["tiny"]
    assert tiny.stages[0].objects == 1 and all(s.objects is None for s in tiny.stages[1:])
    assert not tiny.zero_init and configs["fast"].zero_init
    assert len(configs["holdout"].holdout) == 24 + len(configs["tiny"].holdout)
    assert configs["folder"].sample_prompts == []
    assert TrainConfig.folder("mine").data == "mine" and TrainConfig.tiny(seed=7).seed == 7


def test_new_model_starts_as_adaln_zero():
    """DiT's initialize_weights: every modulation layer and the output projection are zero, so each
    block is the identity and the untrained model predicts 0; construction alone is not degenerate."""
    cfg = TrainConfig.fast()
    model = build_model(cfg, vocabulary())
    zeroed = [n for n, p in model.dit.named_parameters()
              if (".linear." in n and ".norm" in n) or n.startswith(("norm_out_linear.", "proj_out."))]
    assert len(zeroed) == 2 * 2 * len(model.dit.blocks) + 4
    assert all(model.dit.get_parameter(n).abs().max() == 0 for n in zeroed)
    x, t = torch.randn(2, 8, 3, 8, 8), torch.tensor([0.3, 0.7])
    ids, mask = model.text_encoder.tokenizer(["a red circle moving left on a black background", ""])
    assert model(x, t, ids, mask).abs().max() == 0
    plain = build_model(TrainConfig.fast(zero_init=False), vocabulary())
    assert plain.dit.proj_out.weight.abs().max() > 0 and plain(x, t, ids, mask).abs().max() > 0


def test_weight_decay_is_grouped_by_tensor_dimension():
    """nanoGPT's rule: every matrix decays — the adaLN modulation and embedding matrices included —
    and no vector does."""
    model = build_model(TrainConfig.fast(), vocabulary())
    names = {id(p): n for n, p in model.named_parameters()}
    opt = configure_optimizer(model, TrainConfig.fast())
    decayed = {names[id(p)] for g in opt.param_groups if g["weight_decay"] > 0 for p in g["params"]}
    assert decayed == {n for n, p in model.named_parameters() if p.ndim >= 2}
    assert "dit.blocks.0.norm1.linear.weight" in decayed and "dit.blocks.0.norm1.linear.bias" not in decayed
    with pytest.raises(ValueError, match="unknown TrainConfig fields \\['decay_by'\\]"):
        TrainConfig.fast(decay_by="name")                   # the ablation's option left with it


def test_one_lr_schedule_for_both_trainers():
    # warm-up from lr/warmup, then cosine from lr down to lr·min_ratio at the last step
    lrs = [warmup_cosine(s, 100, 1.0, warmup=10, min_ratio=0.1) for s in range(100)]
    assert lrs[0] == pytest.approx(0.1) and lrs[9] == pytest.approx(1.0)
    assert all(a >= b for a, b in zip(lrs[9:], lrs[10:])) and lrs[-1] == pytest.approx(0.1, abs=1e-3)
    # a hold at lr until decay_start (the VAE's schedule)
    held = [warmup_cosine(s, 100, 1.0, warmup=10, min_ratio=0.05, decay_start=60) for s in range(100)]
    assert held[10:60] == [1.0] * 50 and 0.05 < held[-1] < 0.06


def test_a_stage_with_its_own_lr_is_a_warm_restart():
    """Stage(lr=...) starts a new warm-up + cosine cycle at the stage's first step; the steps before
    it keep exactly the schedule of the run without it (so a finished run can be resumed into it)."""
    large = dict(size=64, frames=(1, 17))
    plain = TrainConfig(stages=[Stage(until=40, size=32), Stage(until=100, **large)], lr=1e-3, warmup=10,
                        min_lr_ratio=0.02)
    restarted = replace(plain, stages=plain.stages + [Stage(until=160, lr=3e-4, **large)])
    assert [lr_at(restarted, s) for s in range(100)] == [lr_at(plain, s) for s in range(100)]
    after = [lr_at(restarted, s) for s in range(100, 160)]
    assert after[0] == pytest.approx(3e-4 / 10) and after[9] == pytest.approx(3e-4)      # warm-up again
    assert all(a >= b for a, b in zip(after[9:], after[10:]))
    assert after[-1] == pytest.approx(3e-4 * 0.02, rel=0.1) and lr_at(plain, 99) < after[0]
    first = replace(plain, stages=[replace(plain.stages[0], lr=5e-4), plain.stages[1]])
    assert lr_at(first, 9) == pytest.approx(5e-4)                  # a first stage's lr is the peak
    with pytest.raises(ValueError, match="lr=0"):
        Stage(until=5, lr=0)


def test_batches_mix_durations_and_are_deterministic(tmp_path, vae_dir):
    cfg = micro(tmp_path, vae_dir)
    vae = CausalVAE.from_pretrained(vae_dir)
    cache = LatentCache(cfg, vae, torch.device("cpu"), progress=False)
    lengths = set()
    for step in range(2, 6):
        batch, caps, t, noise = make_batch(cfg, cache, step)
        again = make_batch(cfg, cache, step)
        torch.testing.assert_close(batch.x, again[0].x)
        assert caps == again[1]
        assert batch.x.shape[:2] == (4, 8) and noise.shape == batch.x.shape
        assert batch.mask.shape == batch.x.shape[:1] + batch.x.shape[2:3]
        lengths |= set(batch.lengths)
        # the two halves of a 2-process split are exactly the global batch
        halves = [make_batch(cfg, cache, step, rank=r, world=2) for r in (0, 1)]
        assert sorted(halves[0][1] + halves[1][1]) == sorted(caps)
    assert lengths <= {1, 2, 3} and len(lengths) >= 2                       # 1-, 5- and 9-frame clips


def test_a_one_object_stage_draws_only_one_object_clips_of_the_mixture(tmp_path, vae_dir):
    cfg = micro(tmp_path, vae_dir, num_clips=24, two_objects=0.5, caption_dropout=0.0,
                stages=[Stage(until=4, size=32, frames=(1, 5), objects=1),
                        Stage(until=40, size=32, frames=(1, 5))])
    cache = LatentCache(cfg, CausalVAE.from_pretrained(vae_dir), torch.device("cpu"), progress=False)
    assert 0 < cache.objects.count(2) < 24                                  # a real mixture
    def n_objects(caps):
        return {len(shapes.parse_caption(c).objects) for c in caps}
    early = [c for step in range(4) for c in make_batch(cfg, cache, step)[1]]
    late = [c for step in range(4, 40) for c in make_batch(cfg, cache, step)[1]]
    assert n_objects(early) == {1} and n_objects(late) == {1, 2}
    assert make_batch(cfg, cache, 2)[1] == make_batch(cfg, cache, 2)[1]      # still deterministic
    with pytest.raises(ValueError, match="objects"):
        Stage(until=5, objects=2)


def test_training_lowers_the_loss_and_exports_a_pipeline(tmp_path, vae_dir):
    cfg = micro(tmp_path / "run", vae_dir, num_clips=4, lr=5e-3,
                stages=[Stage(until=10, size=32, frames=(1, 5)),
                        Stage(until=40, size=32, frames=(1, 5, 9), mix=(1, 1, 2))],
                caption_dropout=0.0, sample_every=20)
    res = train(cfg)
    losses = [loss for _, loss in res.history]
    assert len(losses) == 40 and all(np.isfinite(losses))
    assert np.mean(losses[-8:]) < 0.75 * np.mean(losses[:8]), (losses[:8], losses[-8:])
    out = tmp_path / "run"
    assert (out / "samples" / "step_000020.gif").is_file() and (out / "samples" / "step_000040.gif").is_file()
    ckpt = weights(out / "checkpoint.safetensors")
    assert any(k.startswith("model.") for k in ckpt) and any(k.startswith("ema.") for k in ckpt)
    assert any(k.startswith("optim.") for k in ckpt)
    assert not list(out.glob(".*.tmp"))                                       # atomic writes
    log = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log] == list(range(40))
    # the export holds the EMA weights and generates
    pipe = res.pipeline()
    ema_dit = {k[len("ema.dit."):]: v for k, v in ckpt.items() if k.startswith("ema.dit.")}
    exported = weights(out / "dit" / "model.safetensors")
    assert set(ema_dit) == set(exported)
    for k in exported:
        torch.testing.assert_close(exported[k], ema_dit[k])
    video = pipe.generate(PROMPT, seed=0, steps=2, size=32)
    assert video.shape == (9, 32, 32, 3) and video.dtype == np.uint8   # the last stage: 9 frames, 32 px


def test_resume_continues_the_same_run(tmp_path, vae_dir):
    full = train(micro(tmp_path / "a", vae_dir, save_every=3))
    cfg_b = micro(tmp_path / "b", vae_dir, save_every=3)
    part = train(cfg_b, stop_after=4)                                         # "interrupted" at step 4
    assert part.step == 4 and not (tmp_path / "b" / "pipeline.json").exists()
    rest = train(cfg_b)                                                       # resumes from step 4
    assert rest.step == 6
    assert [s for s, _ in rest.history] == list(range(6))
    np.testing.assert_allclose([x for _, x in rest.history], [x for _, x in full.history], rtol=1e-5)
    a, b = weights(tmp_path / "a" / "checkpoint.safetensors"), weights(tmp_path / "b" / "checkpoint.safetensors")
    assert set(a) == set(b)
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=0, atol=0)


def test_nan_loss_stops_with_a_clear_message(tmp_path, vae_dir):
    vae = CausalVAE.from_pretrained(vae_dir)
    vae.config.scaling_factor = float("nan")                                  # poisons every latent
    with pytest.raises(FloatingPointError, match=r"training diverged: loss=nan .* at step 0.*lr=.*no checkpoint"):
        train(micro(tmp_path, vae_dir), vae=vae)


def test_trains_on_a_folder_of_real_clips(tmp_path, vae_dir):
    folder = export_shapes_folder(tmp_path / "clips", n=6, frames=9, size=32)
    (folder / "captions.txt").write_text((folder / "captions.txt").read_text()
                                         + "clip000.gif\ta sparkly zebra dancing\n")
    ds = ClipFolder(folder)
    assert len(ds) == 7 and ds[0][0].shape == (9, 32, 32, 3)
    rc = main(["--preset", "fast", "--data", str(folder), "--out", str(tmp_path / "run"),
               "--steps", "3", "--no-progress", "--set", f"vae={json.dumps(str(vae_dir))}",
               "num_clips=7", "batch_size=2", "sample_prompts=[]",
               'dit_overrides={"num_layers": 1, "num_heads": 2, "head_dim": 16, "time_embed_dim": 32, "text_embed_dim": 32}',
               "text_depth=1"])
    assert rc == 0
    vocab = json.loads((tmp_path / "run" / "text_encoder" / "config.json").read_text())["vocab"]
    assert {"zebra", "sparkly", "circle"} <= set(vocab)       # caption words + the Shapes vocabulary
    with pytest.raises(FileNotFoundError, match="captions"):
        ClipFolder(tmp_path)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        ClipFolder(tmp_path / "nope")


def test_fine_tuning_starts_from_a_finished_run(tmp_path, vae_dir):
    base = train(micro(tmp_path / "base", vae_dir))
    # init: a new run starts from the finished run's exported (EMA) weights; lr = 0 keeps them
    init = init_model(str(tmp_path / "base"))
    cfg = micro(tmp_path / "ft", vae_dir, init=str(tmp_path / "base"), lr=0.0, weight_decay=0.0,
                stages=[Stage(until=2, size=32, frames=(1, 5))])
    res = train(cfg, export=tmp_path / "shipped")
    assert all(np.isfinite(loss) for _, loss in res.history)
    info = json.loads((tmp_path / "shipped" / "train_info.json").read_text())
    assert info["steps"] == 2 and info["init"]["steps"] == 6                  # the chain is recorded
    a, b = weights(tmp_path / "base" / "dit" / "model.safetensors"), weights(tmp_path / "ft" / "dit" / "model.safetensors")
    for k in a:
        torch.testing.assert_close(b[k], a[k], rtol=0, atol=0)
    assert set(init.state_dict()) == set(base.ema.state_dict())
    with pytest.raises(FileNotFoundError, match="not a pipeline folder"):
        init_model(str(tmp_path / "nope"))


def test_latents_are_kept_on_disk_and_reused(tmp_path, vae_dir):
    cfg = micro(tmp_path / "run", vae_dir)
    vae = CausalVAE.from_pretrained(vae_dir)
    first = LatentCache(cfg, vae, torch.device("cpu"), progress=False).get(32, 5)
    files = list((tmp_path / "run" / "latents").glob("32px_5f_*.safetensors"))
    assert len(files) == 1

    def no_encoding(*a, **k):
        raise AssertionError("the VAE was called although the latents are on disk")
    vae.encode = no_encoding
    again = LatentCache(cfg, vae, torch.device("cpu"), progress=False).get(32, 5)
    assert len(again) == len(first)
    for x, y in zip(first, again):
        torch.testing.assert_close(x, y, rtol=0, atol=0)
    # other data or another VAE → another file, never a stale one
    other = LatentCache(micro(tmp_path / "run", vae_dir, data_seed=1), CausalVAE.from_pretrained(vae_dir),
                        torch.device("cpu"), progress=False)
    other.get(32, 5)
    assert len(list((tmp_path / "run" / "latents").glob("32px_5f_*.safetensors"))) == 2
    vae2 = CausalVAE.from_pretrained(vae_dir)
    with torch.no_grad():                    # a fine-tuned decoder: same latents, the same file
        next(vae2.decoder.parameters()).add_(0.01)
    LatentCache(cfg, vae2, torch.device("cpu"), progress=False).get(32, 5)
    assert len(list((tmp_path / "run" / "latents").glob("32px_5f_*.safetensors"))) == 2
    with torch.no_grad():                    # another encoder: another file
        next(vae2.encoder.parameters()).add_(0.01)
    LatentCache(cfg, vae2, torch.device("cpu"), progress=False).get(32, 5)
    assert len(list((tmp_path / "run" / "latents").glob("32px_5f_*.safetensors"))) == 3
    assert LatentCache(micro(tmp_path / "ram", vae_dir, latent_dir=None), CausalVAE.from_pretrained(vae_dir),
                       torch.device("cpu"), progress=False).dir is None


def test_latent_cache_renders_in_spawned_workers(tmp_path, vae_dir):
    """The cache's clips can be rendered by DataLoader workers started with "spawn" — the start
    method the trainer uses beside a GPU (data.worker_context: a forked child of a CUDA process can
    hang) — and give exactly the latents of rendering in the main process, two-object scenes and
    Korean captions included."""
    from minicog.data import worker_context
    assert worker_context(2) == "spawn" and worker_context(0) is None
    cfg = micro(tmp_path / "run", vae_dir, latent_dir=None, num_clips=10, two_objects=0.5, korean=0.5)
    vae = CausalVAE.from_pretrained(vae_dir)
    inline = LatentCache(cfg, vae, torch.device("cpu"), progress=False, workers=0)
    spawned = LatentCache(cfg, vae, torch.device("cpu"), progress=False, workers=2)
    assert spawned.workers == 2 and LatentCache(cfg, vae, torch.device("cpu")).workers == 0   # CPU default
    assert any(" and " in c for c in inline.captions) and any("배경" in c for c in inline.captions)
    for x, y in zip(inline.get(32, 5), spawned.get(32, 5), strict=True):
        torch.testing.assert_close(x, y, rtol=0, atol=0)


# ----------------------------------------------------------------------------- DDP

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ddp_worker(rank, world, port, cfg_dict, result_dir):
    import torch.distributed as dist
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank),
                      WORLD_SIZE=str(world))
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        res = train(TrainConfig.from_dict(cfg_dict))
        from minicog.utils import save_safetensors_atomic
        save_safetensors_atomic(res.model.state_dict(), os.path.join(result_dir, f"rank{rank}.safetensors"))
    finally:
        dist.destroy_process_group()


def test_ddp_two_gloo_processes_match_one_process(tmp_path, vae_dir):
    """2 processes × half the batch end with identical weights, equal to 1 process × the whole batch
    (DDP averages the gradients; all clips have one duration so both losses weigh frames alike)."""
    kw = dict(stages=[Stage(until=3, size=32, frames=(5,))], num_clips=8, caption_dropout=0.5)
    cfg = micro(tmp_path / "ddp", vae_dir, **kw)
    mp.spawn(_ddp_worker, args=(2, _free_port(), cfg.to_dict(), str(tmp_path)), nprocs=2, join=True)
    r0, r1 = weights(tmp_path / "rank0.safetensors"), weights(tmp_path / "rank1.safetensors")
    for k in r0:
        torch.testing.assert_close(r0[k], r1[k], rtol=0, atol=0)
    assert (tmp_path / "ddp" / "pipeline.json").is_file()                     # rank 0 exported
    single = train(micro(tmp_path / "single", vae_dir, **kw)).model.state_dict()
    torch.manual_seed(cfg.seed)
    init = build_model(cfg, vocabulary()).state_dict()
    # Adam divides by √v, so float-rounding differences in near-zero gradients can grow to ~1e-5;
    # the updates themselves are ~lr = 3e-3 per step
    for k in r0:
        torch.testing.assert_close(r0[k], single[k], rtol=1e-3, atol=1e-4)
    moved = max((single[k] - init[k]).abs().max().item() for k in single)
    assert moved > 3e-3


# ----------------------------------------------------------------------------- the recipe (make train-tiny)

ROOT = Path(__file__).resolve().parents[1]
SMALL_DIT = {"num_layers": 1, "num_heads": 2, "head_dim": 16, "time_embed_dim": 32, "text_embed_dim": 32}


def recipe_commands(**knobs) -> list[list[str]]:
    """The commands `make train-tiny` runs (make -n, the install step left out), split as the shell
    splits them."""
    out = subprocess.run(["make", "-s", "-n", "-o", "install", "train-tiny", "PY=python",
                          *[f"{k}={v}" for k, v in knobs.items()]],
                         cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return [shlex.split(line) for line in out.splitlines() if line.strip()]


def test_the_recipe_trains_everything_from_random_weights_without_git_history():
    """`make train-tiny` needs no git history (it works from `git clone --depth 1` or an archive):
    the VAE from random weights, its decoder on the mixture, the DiT on its latents, then the
    install — in that order."""
    makefile = (ROOT / "Makefile").read_text()
    section = makefile[makefile.index("# Train the tiny models"):makefile.index("# The live demos")]
    assert "git " not in section and "7c7c31a" not in section
    cmds = recipe_commands()
    assert [c[:3] for c in cmds] == [["python", "-m", "minicog.train_vae"]] * 2 + [
        ["python", "-m", "minicog.train"], ["python", "-m", "minicog.utils"]]
    vae, decoder, dit, install = cmds
    assert "--init" not in vae and vae[vae.index("--steps") + 1] == "2500" and "--decoder-steps" in vae
    assert decoder[decoder.index("--init") + 1] == vae[vae.index("--out") + 1]
    assert decoder[decoder.index("--steps") + 1] == "0" and decoder[decoder.index("--decoder-steps") + 1] == "300"
    assert dit[dit.index("--preset") + 1] == "tiny" and "--steps" not in dit
    assert f'vae="{decoder[decoder.index("--out") + 1]}"' in dit
    assert install[3:] == ["replace-folder", dit[dit.index("--export") + 1], "assets/tiny"]


def test_a_small_dry_run_of_the_recipe_chain(tmp_path):
    """The chain as the Makefile writes it, each command's `main` run here with a few steps and
    small models: every stage reads what the one before wrote, and the installed folder generates."""
    import importlib
    small = dict(VAE_STEPS=2, DECODER_STEPS=1, DIT_STEPS=6, VAE_BASE=tmp_path / "vae", VAE_MIX=tmp_path / "mix",
                 DIT_RUN=tmp_path / "dit", RELEASE=tmp_path / "release", TINY=tmp_path / "installed",
                 VAE_ARGS="--channels 8 8 16 16 --groups 4 --size 32 --frames 1 --batch-size 1 --workers 0 "
                          "--eval-every 0 --eval-clips 1 --eval-two-object-clips 1",
                 DIT_ARGS="--no-progress --set num_clips=8 batch_size=2 'sample_prompts=[]' text_depth=1 "
                          f"text_heads=2 'dit_overrides={json.dumps(SMALL_DIT)}'")
    for cmd in recipe_commands(**small):
        assert importlib.import_module(cmd[2]).main(cmd[3:]) == 0, cmd
    assert CausalVAE.from_pretrained(tmp_path / "mix").config.block_out_channels == (8, 8, 16, 16)
    assert not list((tmp_path / "mix").glob("*checkpoint*"))              # the stages' checkpoints removed
    info = json.loads((tmp_path / "installed" / "train_info.json").read_text())
    assert info["steps"] == 6 and info["config"]["vae"] == str(tmp_path / "mix")
    assert not (tmp_path / "release").exists()                            # moved, not copied
    video = Pipeline.from_pretrained(tmp_path / "installed").generate(PROMPT, seed=0, steps=1, size=32, frames=1)
    assert video.shape == (1, 32, 32, 3)
