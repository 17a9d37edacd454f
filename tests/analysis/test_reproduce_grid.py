"""scripts/reproduce_paper.py --grid: the grid's runs read back, claim C4's rule, and its plots."""
import json
import math
from pathlib import Path

import pytest

from loopzoo.analysis.report import Settings

from script_helpers import script_module


@pytest.fixture
def repro(tmp_path, monkeypatch):
    with script_module("reproduce_paper") as mod:
        monkeypatch.setattr(mod, "GRID", tmp_path / "grid")
        yield mod


def fake_run(grid: Path, label: str, status: str, losses: list[float], norm_ratios=(1.0,)) -> Path:
    run = grid / "sudoku" / label / "seed0"
    run.mkdir(parents=True)
    lines = [{"step": i, "epoch": 0, "loss": v} for i, v in enumerate(losses)]
    lines += [{"step": 100 * (k + 1), "kind": "eval", "test": {"state_norm_ratio": r}} for k, r in enumerate(norm_ratios)]
    (run / "metrics.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    (run / "grid-status.json").write_text(json.dumps({"status": status, "steps": len(losses), "train_minutes": 1.5}))
    return run


FALLING = [2.0 * 0.99 ** i for i in range(300)]
BLOWING = FALLING[:200] + [5.0] * 100


def test_loss_rule():
    with script_module("reproduce_paper") as mod:
        rule = mod.blew_up
    assert not rule(FALLING) and rule(BLOWING)
    assert rule([1.0, math.nan]) and not rule([1.0, 9.0])  # too short to judge a blow-up, not a NaN


@pytest.mark.parametrize("pre_status, pre_losses, verdict", [
    ("diverged", FALLING[:120], "**supported**"),
    ("done", BLOWING, "**supported**"),
    ("done", FALLING, "**not supported**"),
])
def test_claim_c4(repro, pre_status, pre_losses, verdict):
    fake_run(repro.GRID, "sudoku-internal-recall-outernorm@lr0.003", "done", FALLING)
    fake_run(repro.GRID, "sudoku-internal-recall-prenorm@lr0.003", pre_status, pre_losses)
    fake_run(repro.GRID, "sudoku-internal-recall-perinorm@lr0.003", "diverged", FALLING[:50])
    fake_run(repro.GRID, "sudoku-internal-recall-prenorm@lr0.001", "done", FALLING)
    runs = repro.grid_runs("sudoku")
    assert {(r["norm"], r["lr"]) for r in runs} == {("outernorm", 0.003), ("prenorm", 0.003), ("perinorm", 0.003),
                                                      ("prenorm", 0.001)}
    line = repro.claim_c4(runs)
    assert f"diverge at high learning rates*: {verdict}" in line
    assert "sudoku-internal-recall-perinorm@lr0.003/seed0: diverged (diverged)" in line


def test_claim_c4_needs_both_sides(repro):
    fake_run(repro.GRID, "sudoku-internal-recall-prenorm@lr0.003", "diverged", FALLING[:50])
    assert "**not testable**" in repro.claim_c4(repro.grid_runs("sudoku"))


def test_claim_c4_needs_runs_above_the_recipe_rate(repro):
    fake_run(repro.GRID, "sudoku-internal-recall-outernorm@lr0.001", "done", FALLING)
    fake_run(repro.GRID, "sudoku-internal-recall-prenorm@lr0.001", "done", FALLING)
    fake_run(repro.GRID, "sudoku-internal-recall-prenorm@lr0.003", "started", FALLING[:50])
    line = repro.claim_c4(repro.grid_runs("sudoku"))
    assert "**not testable**" in line and "have 0 and 0" in line


def test_grid_report_and_plots(repro, tmp_path):
    pytest.importorskip("matplotlib")
    fake_run(repro.GRID, "sudoku-internal-recall-outernorm@lr0.003", "done", FALLING, norm_ratios=(1.0, 1.01))
    fake_run(repro.GRID, "sudoku-internal-recall-prenorm@lr0.003", "diverged", FALLING[:120])
    fake_run(repro.GRID, "sudoku-internal-recall-prenorm@lr0.001", "done", FALLING)  # the recipe's rate
    runs = repro.grid_runs("sudoku")
    report = {"label": "sudoku-internal-recall-outernorm@lr0.003/seed0",
              "model": {"task": "sudoku", "recall": "internal-recall", "norm": "outernorm", "depth": 1},
              "curves": {"val": {"final": 0.9, "samples": 500, "at": {"30": 0.7}},
                         "hard": {"final": 0.8, "samples": 500, "at": {"30": 0.6}, "accuracy": [0.0, 0.5, 0.8]}},
              "overthinking": {}, "reachability": {"final_residual": {"median": 1e-7},
                                                   "spectral_radius": {"median": 0.5, "share_below_1": 1.0}},
              "geometry": {"top_singular_value": {"median": 1.0}},
              "input_dependence": {"sensitivity": {"median": 0.3}, "fixed_points": {"clusters": 4, "inputs": 4}},
              "cycles": {"cycles": 0}}
    text = repro.markdown([report], Settings(iters=500), 1.0, {"sudoku": runs})
    assert "| 0.900 | 0.800 | 0.700 / 0.600 | 500 / 500 |" in text
    assert "### Training runs" in text and "| sudoku-internal-recall-prenorm@lr0.003/seed0 | 0.003 | diverged |" in text
    assert "diverge at high learning rates*: **supported**" in text
    paths = repro.plot_task("sudoku", [report], runs, tmp_path)
    assert [p.name for p in paths] == ["hard_vs_iters_sudoku.png", "c4_sudoku.png"] and all(p.stat().st_size > 0 for p in paths)
    assert repro.checkpoint_label(repro.GRID / "sudoku" / "x@lr0.001" / "seed1") == "x@lr0.001/seed1"


def test_a_one_pass_baseline_is_a_level_in_the_hard_accuracy_plot(repro, tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    looped = {"label": "a", "model": {"name": "a"}, "curves": {"hard": {"accuracy": [0.1, 0.2, 0.3]}}}
    deep = {"label": "b", "model": {"name": "b"}, "curves": {"hard": {"accuracy": [0.4]}}}
    figures = []
    monkeypatch.setattr("loopzoo.analysis.plots._save", lambda fig, path: figures.append(fig) or path)
    repro.plot_task("chess", [looped, deep], [], tmp_path)
    (ax,) = figures[0].axes
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert list(lines["a"].get_ydata()) == [0.1, 0.2, 0.3]
    assert list(lines["b (one pass)"].get_ydata()) == [0.4, 0.4] and lines["b (one pass)"].get_linestyle() == "--"


def test_grid_and_directories_are_exclusive(repro, tmp_path):
    with pytest.raises(SystemExit):
        repro.main([str(tmp_path), "--grid", "sudoku", "--out", str(tmp_path / "out")])
    with pytest.raises(SystemExit):
        repro.main(["--grid", "go"])


def _report(label: str, recall: str, norm: str, hard: float) -> dict:
    return {"label": label, "model": {"task": "sudoku", "recall": recall, "norm": norm, "depth": 1},
            "curves": {"val": {"final": 0.9, "samples": 500}, "hard": {"final": hard, "samples": 500}},
            "overthinking": {}, "reachability": {"final_residual": {"median": 1e-7},
                                                 "spectral_radius": {"median": 0.5, "share_below_1": 1.0}},
            "geometry": {"top_singular_value": {"median": 1.0}},
            "input_dependence": {"sensitivity": {"median": 0.3}, "fixed_points": {"clusters": 4, "inputs": 4}},
            "cycles": {"cycles": 0}}


def test_grid_claims_compare_the_runs_at_the_recipe_rate_only(repro):
    assert repro.label_lr("sudoku-recall-outernorm@lr0.001/seed0") == 0.001
    assert repro.label_lr("sudoku-recall-outernorm") is None and repro.label_lr("x@lrfast/seed0") is None
    reports = [_report("sudoku-internal-recall-outernorm@lr0.001/seed0", "internal-recall", "outernorm", 0.70),
               _report("sudoku-recall-outernorm@lr0.001/seed0", "recall", "outernorm", 0.70),
               # at the high rate: would make internal recall "clearly better" if it were averaged in
               _report("sudoku-internal-recall-outernorm@lr0.003/seed0", "internal-recall", "outernorm", 1.0)]
    text = repro.markdown(reports, Settings(iters=500), 1.0, {"sudoku": []})
    assert "C1-C3 use the runs at the recipe's learning rate (0.001)" in text
    assert "Hard accuracy 0.700 (internal) vs 0.700 (standard)" in text
    assert "*Clearly better on sudoku*: **not supported**" in text
    assert "| sudoku-internal-recall-outernorm@lr0.003/seed0 |" in text  # still in the table
    plain = repro.markdown(reports, Settings(iters=500), 1.0)  # not a grid: every checkpoint counts
    assert "Hard accuracy 0.850 (internal) vs 0.700 (standard)" in plain


def test_claim_c2_compares_the_same_norm_placement(repro):
    def sensitive(report, value):
        report["input_dependence"]["sensitivity"]["median"] = value
        return report

    reports = [sensitive(_report("sudoku-no-recall-outernorm", "none", "outernorm", 0.0), 0.05),
               sensitive(_report("sudoku-recall-outernorm", "recall", "outernorm", 0.7), 1.0),
               # pre-norm recall is far more sensitive: averaged in, it would make any no-recall value look small
               sensitive(_report("sudoku-internal-recall-prenorm", "internal-recall", "prenorm", 0.1), 1000.0)]
    text = repro.markdown(reports, Settings(iters=500), 1.0)
    assert "(dF/de = 0)*: **supported**" in text
    assert "no recall 0.050, recall 1.000 (means over the outernorm checkpoints: 1 and 1)" in text
    reports[0]["input_dependence"]["sensitivity"]["median"] = 0.5
    assert "(dF/de = 0)*: **not supported**" in repro.markdown(reports, Settings(iters=500), 1.0)
    no_match = [sensitive(_report("sudoku-no-recall-outernorm", "none", "outernorm", 0.0), 0.05), reports[2]]
    assert "(dF/de = 0)*: **not testable**" in repro.markdown(no_match, Settings(iters=500), 1.0)


def test_doc_page_has_the_intro_the_command_and_the_plots(repro, tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    fake_run(repro.GRID, "sudoku-internal-recall-outernorm@lr0.003", "done", FALLING, norm_ratios=(1.0, 1.01))
    report = _report("sudoku-internal-recall-outernorm@lr0.003/seed0", "internal-recall", "outernorm", 0.8)
    report["curves"]["hard"]["accuracy"] = [0.0, 0.5, 0.8]
    monkeypatch.setattr(repro, "analyze_all", lambda *args: [report])
    intro = tmp_path / "intro.md"
    intro.write_text("Hand-written context.\n")
    doc = tmp_path / "docs" / "reproduction.md"
    argv = ["--grid", "sudoku", "--plots", "--out", str(tmp_path / "out"), "--doc", str(doc), "--intro", str(intro)]
    assert repro.main(argv) == 0
    text = doc.read_text()
    assert text.startswith("# Reproducing") and "Hand-written context." in text
    assert f"by `python scripts/reproduce_paper.py {' '.join(argv)}` (1 checkpoint)" in text
    assert f"per-checkpoint JSON reports are in `{tmp_path / 'out'}`" in text
    for name in ("hard_vs_iters_sudoku.png", "c4_sudoku.png", "spectral_radius_sudoku.png"):
        assert f"](img/reproduction/{name})" in text and (doc.parent / "img" / "reproduction" / name).stat().st_size > 0
        assert f"]({name})" in (tmp_path / "out" / "REPORT.md").read_text()


def test_intro_needs_doc(repro, tmp_path):
    with pytest.raises(SystemExit):
        repro.main(["--grid", "sudoku", "--out", str(tmp_path / "out"), "--intro", str(tmp_path / "x.md")])
    with pytest.raises(SystemExit):
        repro.main(["--grid", "sudoku", "--out", str(tmp_path / "out"), "--doc", str(tmp_path / "d.md"),
                    "--intro", str(tmp_path / "missing.md")])
