"""benchmarks/summarize_train_log.py: the tool behind docs/training.md's GPU figures."""
import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("summarize_train_log", ROOT / "benchmarks" / "summarize_train_log.py")
S = importlib.util.module_from_spec(spec)
spec.loader.exec_module(S)


def _log(tmp_path, rows):
    path = tmp_path / "log.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_rates_per_size_and_the_encoding_pause(tmp_path):
    # 0.1 s a step at 32 px, a 30 s pause (latents) at the switch, then 0.3 s a step at 64 px
    rows, sec = [], 5.0
    for step in range(9, 200, 10):
        size = 32 if step < 100 else 64
        sec += (0.1 if size == 32 else 0.3) * 10 + (30.0 if step == 109 else 0.0)
        rows.append(dict(step=step, loss=0.1, lr=1e-3, size=size, sec=round(sec, 3)))
    rate, gaps = S.rates(rows, pause=5.0)
    assert rate[32] == pytest.approx(0.1) and rate[64] == pytest.approx(0.3)
    assert len(gaps) == 1 and gaps[0][0] == 109 and gaps[0][1] == pytest.approx(30.0)


def test_the_committed_gpu_log_gives_the_documented_estimate(capsys):
    log = ROOT / "docs" / "measurements" / "gpu_h200_2026-12-04" / "dit_log.jsonl"
    assert S.main([str(log)]) == 0
    out = capsys.readouterr().out
    assert "32 px: 47.7 ms" in out and "64 px: 51.6 ms" in out and "= 36.7 min" in out


def test_a_log_with_one_line_is_refused(tmp_path):
    with pytest.raises(SystemExit, match="fewer than two"):
        S.main([str(_log(tmp_path, [dict(step=9, loss=1.0, lr=1e-3, size=32, sec=1.0)]))])
