"""loopzoo.analysis.speed (scripts/bench_solve.py) on a tiny random model: its fused-layer baseline, and the
script's rows."""
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import loopzoo
from loopzoo.analysis import speed

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"


def test_fused_baseline_runs_the_fast_path_and_counts_its_flops(monkeypatch):
    model = loopzoo.create("sudoku-internal-recall-outernorm", width=32, heads=2).eval()
    fused = speed.FusedLoop(model)
    x = model.task.encode([model.task.parse(model.task.example, 0)] * 3)
    calls = []
    original = torch._transformer_encoder_layer_fwd
    monkeypatch.setattr(torch, "_transformer_encoder_layer_fwd", lambda *a: calls.append(1) or original(*a))
    logits = fused.run(x, 4)
    assert logits.shape == (3, 81, model.task.out_channels) and len(calls) == 4  # the fused kernel, every iteration
    assert fused.run(x, 2, autocast=True).dtype == torch.bfloat16
    d, L = 32, 81  # Wx, QKV, output, MLP (ratio 4) matmuls and attention, per token and iteration
    assert fused.flops(3, L, 4) == 3 * L * 4 * (2 * (d * d + 3 * d * d + d * d + 8 * d * d) + 4 * L * d)


def test_model_for_takes_the_flagship_only_at_its_width():
    model, label = speed.model_for("prefix-sums", 24)
    assert model.config.width == 24 and "random, width 24" in label


@pytest.mark.subprocess
def test_bench_rows_compare_with_reference_and_fused_loop(tmp_path):
    out = tmp_path / "rows.json"
    done = subprocess.run([sys.executable, str(SCRIPTS / "bench_solve.py"), "--tasks", "sudoku", "--width", "16", "--iters",
                           "2", "3", "--n", "3", "--rounds", "1", "--mem-iters", "--no-compile", "--clock", "cpu",
                           "--threads", "1", "--json", str(out)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    rows = json.loads(out.read_text())
    assert [r["iters"] for r in rows] == [2, 3]
    for r in rows:
        assert r["ours_per_s"] > 0 and r["fused_per_s"] > 0 and r["fused16_per_s"] > 0
        assert r["vs_fused"] == pytest.approx(r["ours_per_s"] / r["fused_per_s"])
        assert r["bf16_vs_fused16"] == pytest.approx(r["bf16_per_s"] / r["fused16_per_s"])
        assert 0 <= r["bf16_agreement"] <= 1 and math.isnan(r["compiled_per_s"])
        assert 0 < r["mfu"] and 0 < r["bf16_mfu"] and 0 < r["fused_mfu"]
        assert r["mean_iters_halt"] <= r["iters"]
    printed = done.stdout
    assert "vs fused" in printed and "(random, width 16)" in printed


@pytest.mark.subprocess
def test_solve_memory_is_measured_in_a_fresh_process():
    assert speed.solve_memory_mib("prefix-sums", 2, 4, 16, 32, threads=1) >= 0
    assert speed.solve_memory_mib("prefix-sums", 2, 4, 16, 32, threads=1, ref=True) >= 0
