"""benchmarks/bench_progressive.py, a seconds-long smoke run: both plans train, the progressive one
32 px first, and the record (the notebook's figure's data) holds the curves and the command."""
import importlib.util
import json
import math
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_bench_progressive_smoke(tmp_path):
    spec = importlib.util.spec_from_file_location("bench_progressive", ROOT / "benchmarks" / "bench_progressive.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    out = tmp_path / "progressive.json"
    assert bench.main(["--budget", "2", "--seeds", "0", "--clips", "4", "--eval-clips", "2", "--batch", "2",
                       "--out", str(out)]) == 0
    rec = json.loads(out.read_text())
    runs = rec["runs"]["0"]
    assert [s[0] for s in runs["progressive"]["stages"]] == [32, 64]
    assert [s[0] for s in runs["high_only"]["stages"]] == [64]
    for run in runs.values():
        gflop = [row[0] for row in run["curve"]]
        assert gflop == sorted(gflop) and 0 < gflop[-1] <= rec["budget_gflop"] * 1.01
        assert all(math.isfinite(row[3]) for row in run["curve"])
    assert rec["command"].startswith("python benchmarks/bench_progressive.py --budget 2")
