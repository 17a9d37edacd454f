"""scripts/bench_verify.py on a tiny random model: its table, curves and plot agree with solve()."""
import json
from pathlib import Path

import numpy as np
import pytest

import loopzoo
from loopzoo.data import load_split

from script_helpers import script_module

pytest.importorskip("chess")


@pytest.fixture(scope="module")
def bench():
    with script_module("bench_verify") as mod:
        yield mod


def test_bench_measures_fixed_valid_and_restarts(bench, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    loopzoo.create("chess-recall-outernorm", width=16, heads=2).save(tmp_path / "m")
    out = tmp_path / "out"
    rc = bench.main([str(tmp_path / "m"), "--splits", "val", "--n", "40", "--cap", "6", "--curve", "2", "4",
                     "--restart-cap", "3", "--ks", "0", "1", "--restarts", "1", "--threads", "1",
                     "--json", f"{out}.json", "--markdown", f"{out}.md", "--plot", f"{out}.png"])
    assert rc == 0 and Path(f"{out}.png").stat().st_size > 0
    (result,) = json.loads(Path(f"{out}.json").read_text())
    assert result["notes"] == []  # the pass and solve() agree on halt="valid"
    data = load_split("chess", "val", n=40)
    model = loopzoo.load(tmp_path / "m")
    fixed = np.mean([str(a) == r for a, r in zip(model.solve(list(data.inputs), iters=6), data.answers)])
    assert [p["knob"] for p in result["fixed"]] == [2, 4, 6] and result["fixed"][-1]["accuracy"] == fixed
    assert [p["method"] for p in result["table"]] == ["6 iterations", 'halt="valid", cap 6', 'halt="valid", cap 6, 1 restarts']
    for row in result["table"] + result["valid"] + result["restarts"]:
        assert 0 <= row["accuracy"] <= 1 and 0 <= row["verified"] <= 1 and row["evaluations"] > 0
    assert result["table"][1]["evaluations"] <= 6 and [p["knob"] for p in result["restarts"]] == [0, 1]
    table = Path(f"{out}.md").read_text()
    assert table.count("\n") == 5 and "| val | 40 | 6 iterations |" in table
    assert "block evaluations" in capsys.readouterr().out


def test_check_data_counts_verdicts_of_the_datas_answers(bench):
    assert bench.check_data("sudoku", "val", 20) == (
        "sudoku val: of 20 data answers, 20 pass the check, 0 fail it, 0 cannot be checked")
