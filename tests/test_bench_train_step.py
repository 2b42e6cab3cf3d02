"""benchmarks/bench_train_step.py: the tool behind docs/training.md's "Can the recipe fit in 2 hours
on a CPU?" figures — its batches, its step and its arithmetic."""
import importlib.util
import json
from pathlib import Path

import pytest
import torch

from minicog import shapes
from minicog.data import LatentCache
from minicog.train import build_model, load_vae, make_batch
from minicog.train_config import TrainConfig

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("bench_train_step", ROOT / "benchmarks" / "bench_train_step.py")
B = importlib.util.module_from_spec(spec)
spec.loader.exec_module(B)


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    cfg = TrainConfig.fast(out_dir=str(tmp_path_factory.mktemp("bts")), latent_dir=None, num_clips=16)
    cache = LatentCache(cfg, load_vae(cfg.vae, torch.device("cpu")), torch.device("cpu"), progress=False)
    torch.manual_seed(0)
    return cfg, cache, build_model(cfg, shapes.vocabulary())


def test_one_duration_batches_have_no_padding_and_keep_the_recipes_draw(setup):
    cfg, cache, model = setup
    padded = B.Variant("recipe", model, cfg)
    one = B.Variant("one", model, cfg, one_duration=True)
    step = B.stage_step(cfg, 64)
    assert cfg.stage_at(step).size == 64
    seen = set()
    for s in range(step, step + 12):
        batch, captions, t, noise = one.batch(cache, s)
        assert bool(batch.mask.all()), "a one-duration batch has no padded frames"
        seen.add(batch.x.shape[2])
        ref = make_batch(cfg, cache, s)
        assert len(captions) == len(ref[1]) == cfg.batch_size
        assert torch.equal(t, ref[2])                   # the same times: only the durations differ
    assert len(seen) > 1, "durations are drawn per batch from the stage's mix"
    batch = padded.batch(cache, step)[0]
    assert torch.equal(batch.x, make_batch(cfg, cache, step)[0].x)   # the recipe's variant is make_batch


def test_a_step_trains_and_variants_start_from_the_same_weights(setup):
    cfg, cache, model = setup
    a, b = B.Variant("a", model, cfg), B.Variant("b", model, cfg, bf16_cpu=True)
    assert all(torch.equal(p, q) for p, q in zip(a.model.parameters(), b.model.parameters()))
    before = [p.detach().clone() for p in a.model.parameters()]
    assert a.step(cache, 0) > 0 and b.step(cache, 0) > 0
    assert any(not torch.equal(p, q) for p, q in zip(before, a.model.parameters()))
    assert all(torch.equal(p, q) for p, q in zip(before, model.parameters()))   # copies, not the original


def test_the_report_adds_up(tmp_path):
    out = tmp_path / "r.json"
    r = B.main(["--preset", "fast", "--steps", "1", "--rounds", "1", "--warmup", "0", "--clips", "8",
                "--vae-minutes", "1", "--json", str(out)])
    assert json.loads(out.read_text())["rows"][0]["variant"] == r["rows"][0]["variant"]
    cfg = TrainConfig.fast()
    assert r["steps"] == {32: cfg.stages[0].until, 64: cfg.stages[1].until - cfg.stages[0].until}
    base = r["rows"][0]
    assert base["speedup_64px"] == 1.0
    per = {int(k): v for k, v in base["seconds_per_step"].items()}
    total = r["latent_minutes"] * 60 + 60 + sum(r["steps"][s] * per[s] for s in per)
    assert base["recipe_hours"] * 3600 == pytest.approx(total)
    left = 7200 - r["latent_minutes"] * 60 - 60 - r["steps"][32] * per[32]
    assert base["steps_64px_in_2h"] == int(left / per[64])
    assert r["needed_seconds_per_64px_step"] == pytest.approx(left / r["steps"][64])


def test_the_profile_splits_the_step_by_operator_kind():
    share = B.main(["--preset", "fast", "--profile", "--steps", "2", "--warmup", "1", "--clips", "8"])
    assert sum(share.values()) == pytest.approx(1.0)
    # every kind of work a transformer step does shows up; which one is largest is a timing, and the
    # `fast` preset's tiny model makes it depend on the machine's load (the benchmark prints it)
    assert share["matrix products"] > 0 and share["attention"] > 0 and share["optimizer"] > 0
