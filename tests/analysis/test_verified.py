"""loopzoo.analysis.verified (scripts/bench_verify.py) on a tiny random model: its table, curves and plot agree
with solve()."""
import json
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest

import loopzoo
from loopzoo.analysis import verified
from loopzoo.data import load_split

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"

pytest.importorskip("chess")


def test_bench_measures_fixed_valid_and_restarts(tmp_path):
    pytest.importorskip("matplotlib")
    loopzoo.create("chess-recall-outernorm", width=16, heads=2).save(tmp_path / "m")
    model = loopzoo.load(tmp_path / "m").eval()
    measured = verified.measure(model, "m", "val", n=40, cap=6, curve=[2, 4], restart_cap=3, ks=[0, 1], restarts=1)
    verified.plot([measured], str(tmp_path / "out.png"), 3)
    assert (tmp_path / "out.png").stat().st_size > 0
    result = json.loads(json.dumps(asdict(measured)))  # as the script writes it
    assert result["notes"] == []  # the pass and solve() agree on halt="valid"
    data = load_split("chess", "val", n=40)
    fixed = np.mean([str(a) == r for a, r in zip(model.solve(list(data.inputs), iters=6), data.answers)])
    assert [p["knob"] for p in result["fixed"]] == [2, 4, 6] and result["fixed"][-1]["accuracy"] == fixed
    assert [p["method"] for p in result["table"]] == ["6 iterations", 'halt="valid", cap 6', 'halt="valid", cap 6, 1 restarts']
    for row in result["table"] + result["valid"] + result["restarts"]:
        assert 0 <= row["accuracy"] <= 1 and 0 <= row["verified"] <= 1 and row["evaluations"] > 0
    assert result["table"][1]["evaluations"] <= 6 and [p["knob"] for p in result["restarts"]] == [0, 1]
    table = verified.markdown([measured])
    assert table.count("\n") == 4 and "| val | 40 | 6 iterations |" in table
    assert "block evaluations" in verified.LEGEND


def test_check_data_counts_verdicts_of_the_datas_answers():
    assert verified.check_data("sudoku", "val", 20) == (
        "sudoku val: of 20 data answers, 20 pass the check, 0 fail it, 0 cannot be checked")


@pytest.mark.subprocess
def test_the_script_writes_its_table_json_and_plot(tmp_path):
    pytest.importorskip("matplotlib")
    loopzoo.create("chess-recall-outernorm", width=16, heads=2).save(tmp_path / "m")
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, str(SCRIPTS / "bench_verify.py"), str(tmp_path / "m"), "--splits", "val",
                           "--n", "8", "--cap", "3", "--curve", "2", "--restart-cap", "2", "--ks", "0", "--restarts", "0",
                           "--threads", "1", "--json", f"{out}.json", "--markdown", f"{out}.md", "--plot", f"{out}.png"],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "block evaluations" in done.stdout and Path(f"{out}.png").stat().st_size > 0
    (result,) = json.loads(Path(f"{out}.json").read_text())
    assert [p["knob"] for p in result["fixed"]] == [2, 3] and Path(f"{out}.md").read_text().count("\n") == 4
