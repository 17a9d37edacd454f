"""loopzoo.analysis.claims: the claims' rules and tables, report reuse, the grid's runs read back, claim C4's rule,
its plots and the docs page; the refusals of scripts/reproduce_paper.py's command line."""
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import loopzoo
from loopzoo import hub, runs
from loopzoo.analysis import claims
from loopzoo.analysis.report import Settings

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"


@pytest.fixture
def repro(tmp_path, monkeypatch):
    """The module, with the runs (and so the grid, ``GRID()``) in ``tmp_path``."""
    monkeypatch.setattr(runs, "RUNS", tmp_path)
    return claims


def GRID() -> Path:  # noqa: N802 (the folder the grid's runs live in: runs/grid)
    return runs.grid_root()


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
    rule = claims.blew_up
    assert not rule(FALLING) and rule(BLOWING)
    assert rule([1.0, math.nan]) and not rule([1.0, 9.0])  # too short to judge a blow-up, not a NaN


@pytest.mark.parametrize("pre_status, pre_losses, verdict", [
    ("diverged", FALLING[:120], "**supported**"),
    ("done", BLOWING, "**supported**"),
    ("done", FALLING, "**not supported**"),
])
def test_claim_c4(repro, pre_status, pre_losses, verdict):
    fake_run(GRID(), "sudoku-internal-recall-outernorm@lr0.003", "done", FALLING)
    fake_run(GRID(), "sudoku-internal-recall-prenorm@lr0.003", pre_status, pre_losses)
    fake_run(GRID(), "sudoku-internal-recall-perinorm@lr0.003", "diverged", FALLING[:50])
    fake_run(GRID(), "sudoku-internal-recall-prenorm@lr0.001", "done", FALLING)
    runs = repro.grid_runs("sudoku")
    assert {(r["norm"], r["lr"]) for r in runs} == {("outernorm", 0.003), ("prenorm", 0.003), ("perinorm", 0.003),
                                                      ("prenorm", 0.001)}
    line = repro.claim_c4(runs)
    assert f"diverge at high learning rates*: {verdict}" in line
    assert "sudoku-internal-recall-perinorm.lr0.003-seed0: diverged (diverged)" in line


def test_claim_c4_needs_both_sides(repro):
    fake_run(GRID(), "sudoku-internal-recall-prenorm@lr0.003", "diverged", FALLING[:50])
    assert "**not testable**" in repro.claim_c4(repro.grid_runs("sudoku"))


def test_claim_c4_needs_runs_above_the_recipe_rate(repro):
    fake_run(GRID(), "sudoku-internal-recall-outernorm@lr0.001", "done", FALLING)
    fake_run(GRID(), "sudoku-internal-recall-prenorm@lr0.001", "done", FALLING)
    fake_run(GRID(), "sudoku-internal-recall-prenorm@lr0.003", "started", FALLING[:50])
    line = repro.claim_c4(repro.grid_runs("sudoku"))
    assert "**not testable**" in line and "have 0 and 0" in line


def test_grid_report_and_plots(repro, tmp_path):
    pytest.importorskip("matplotlib")
    fake_run(GRID(), "sudoku-internal-recall-outernorm@lr0.003", "done", FALLING, norm_ratios=(1.0, 1.01))
    fake_run(GRID(), "sudoku-internal-recall-prenorm@lr0.003", "diverged", FALLING[:120])
    fake_run(GRID(), "sudoku-internal-recall-prenorm@lr0.001", "done", FALLING)  # the recipe's rate
    runs = repro.grid_runs("sudoku")
    report = {"label": "sudoku-internal-recall-outernorm.lr0.003-seed0",
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
    assert "### Training runs" in text and "| sudoku-internal-recall-prenorm.lr0.003-seed0 | 0.003 | diverged |" in text
    assert "diverge at high learning rates*: **supported**" in text
    paths = repro.plot_task("sudoku", [report], runs, tmp_path)
    assert [p.name for p in paths] == ["hard_vs_iters_sudoku.png", "c4_sudoku.png"] and all(p.stat().st_size > 0 for p in paths)
    assert repro.checkpoint_label(GRID() / "sudoku" / "x@lr0.001" / "seed1") == "x.lr0.001-seed1"
    assert repro.legacy_label(GRID() / "sudoku" / "x@lr0.001" / "seed1") == "x@lr0.001/seed1"
    assert repro.checkpoint_label(GRID().parent / "x.w256" / "best") == "x.w256"
    assert repro.checkpoint_label(GRID().parent / "x" / "checkpoints" / "step-00000010") == "x-step-00000010"


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


@pytest.mark.subprocess
def test_grid_and_directories_are_exclusive_and_intro_needs_doc(tmp_path):
    out = str(tmp_path / "out")
    for argv in ([str(tmp_path), "--grid", "sudoku", "--out", out], ["--grid", "go"],
                 ["--grid", "sudoku", "--out", out, "--intro", str(tmp_path / "x.md")],
                 ["--grid", "sudoku", "--out", out, "--doc", str(tmp_path / "d.md"), "--intro", str(tmp_path / "missing.md")]):
        done = subprocess.run([sys.executable, str(SCRIPTS / "reproduce_paper.py"), *argv], capture_output=True, text=True)
        assert done.returncode == 2 and "error" in done.stderr, (argv, done.stderr)


def _report(label: str, recall: str, norm: str, hard: float) -> dict:
    return {"label": label, "model": {"task": "sudoku", "recall": recall, "norm": norm, "depth": 1},
            "curves": {"val": {"final": 0.9, "samples": 500}, "hard": {"final": hard, "samples": 500}},
            "overthinking": {}, "reachability": {"final_residual": {"median": 1e-7},
                                                 "spectral_radius": {"median": 0.5, "share_below_1": 1.0}},
            "geometry": {"top_singular_value": {"median": 1.0}},
            "input_dependence": {"sensitivity": {"median": 0.3}, "fixed_points": {"clusters": 4, "inputs": 4}},
            "cycles": {"cycles": 0}}


def test_grid_claims_compare_the_runs_at_the_recipe_rate_only(repro):
    assert repro.label_lr("sudoku-recall-outernorm.lr0.001-seed0") == 0.001
    assert repro.label_lr("sudoku-recall-outernorm.lr3e-05-seed1") == 3e-5
    assert repro.label_lr("sudoku-recall-outernorm") is None and repro.label_lr("x.lrfast-seed0") is None
    assert repro.label_lr("sudoku-recall-outernorm.w256") is None
    reports = [_report("sudoku-internal-recall-outernorm.lr0.001-seed0", "internal-recall", "outernorm", 0.70),
               _report("sudoku-recall-outernorm.lr0.001-seed0", "recall", "outernorm", 0.70),
               # at the high rate: would make internal recall "clearly better" if it were averaged in
               _report("sudoku-internal-recall-outernorm.lr0.003-seed0", "internal-recall", "outernorm", 1.0)]
    text = repro.markdown(reports, Settings(iters=500), 1.0, {"sudoku": []})
    assert "C1-C3 use the runs at the recipe's learning rate (0.001)" in text
    assert "Hard accuracy 0.700 (internal) vs 0.700 (standard)" in text
    assert "*Clearly better on sudoku*: **not supported**" in text
    assert "| sudoku-internal-recall-outernorm.lr0.003-seed0 |" in text  # still in the table
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
    fake_run(GRID(), "sudoku-internal-recall-outernorm@lr0.003", "done", FALLING, norm_ratios=(1.0, 1.01))
    report = _report("sudoku-internal-recall-outernorm.lr0.003-seed0", "internal-recall", "outernorm", 0.8)
    report["curves"]["hard"]["accuracy"] = [0.0, 0.5, 0.8]
    monkeypatch.setattr(repro, "analyze_all", lambda *args: [report])
    intro = tmp_path / "intro.md"
    intro.write_text("Hand-written context.\n")
    doc = tmp_path / "docs" / "reproduction.md"
    out = tmp_path / "out"
    out.mkdir()
    command = f"python scripts/reproduce_paper.py --grid sudoku --plots --out {out} --doc {doc} --intro {intro}"
    reports = repro.reproduce([], Settings(iters=500), out, grid_tasks=["sudoku"], plots=True, doc=doc,
                              intro_file=str(intro), command=command)
    assert reports == [report]
    text = doc.read_text()
    assert text.startswith("# Reproducing") and "Hand-written context." in text
    assert f"by `{command}` (1 checkpoint)" in text
    assert f"per-checkpoint JSON reports are in `{out}`" in text
    for name in ("hard_vs_iters_sudoku.png", "c4_sudoku.png", "spectral_radius_sudoku.png"):
        assert f"](img/reproduction/{name})" in text and (doc.parent / "img" / "reproduction" / name).stat().st_size > 0
        assert f"]({name})" in (out / "REPORT.md").read_text()


def test_the_report_table_says_how_a_fixed_depth_row_was_run():
    deep = fake_report("sudoku-fixed15.lr0.001-seed0", "none", "prenorm", 0.0, 0.0, 1.0)
    deep["model"]["depth"], deep["iters"] = 15, 1
    text = claims.markdown([deep, fake_report("c", "internal-recall", "outernorm", 0.97, 0.9, 0.4)], Settings(iters=500), 1.0)
    assert "| sudoku-fixed15.lr0.001-seed0 (15 untied layers, 1 pass) | none | prenorm |" in text
    assert "| c | internal-recall | outernorm |" in text
    assert "Fixed-depth baseline" in text and "has hard accuracy 0.000, behind the best looped run, c" in text
    deep["curves"]["hard"]["final"], deep["parameters"] = 0.95, 2_900_000
    text = claims.markdown([deep, fake_report("c", "internal-recall", "outernorm", 0.97, 0.9, 0.4)], Settings(iters=500), 1.0)
    assert "(15 untied layers, 1 pass, 2.90 M parameters) has hard accuracy 0.950, within 2 standard errors of" in text
    deep["curves"]["hard"]["final"] = 1.0
    text = claims.markdown([deep, fake_report("c", "internal-recall", "outernorm", 0.97, 0.8, 0.4)], Settings(iters=500), 1.0)
    assert "has hard accuracy 1.000, ahead of the best looped run" in text
    alone = claims.markdown([fake_report("c", "internal-recall", "outernorm", 0.97, 0.8, 0.4)], Settings(iters=500), 1.0)
    assert "Fixed-depth baseline" not in alone
    del deep["curves"]["hard"]  # no hard accuracy measured: nothing to compare
    text = claims.markdown([deep, fake_report("c", "internal-recall", "outernorm", 0.97, 0.8, 0.4)], Settings(iters=500), 1.0)
    assert "Fixed-depth baseline" not in text


def fake_report(label, recall, norm, val, hard, sens, clusters=8, task="sudoku", residual=1e-7, rho=0.8):
    return {
        "label": label, "model": {"task": task, "recall": recall, "norm": norm, "depth": 1, "name": label},
        "curves": {"val": {"final": val, "samples": 100}, "hard": {"final": hard, "samples": 100}},
        "overthinking": {"val": {"overthinking": 0.0}, "hard": {"overthinking": 0.01}},
        "reachability": {"final_residual": {"median": residual}, "spectral_radius": {"median": rho, "share_below_1": 1.0},
                         "rho_wx": None if recall == "none" else 0.7, "norm_wx": None if recall == "none" else 1.2},
        "geometry": {"top_singular_value": {"median": 1.5}},
        "input_dependence": {"sensitivity": {"median": sens}, "fixed_points": {"clusters": clusters, "inputs": 8}},
        "cycles": {"cycles": 0},
    }


def test_reproduce_report_claims(tmp_path):
    reports = [fake_report("a", "none", "outernorm", 0.9, 0.05, 1e-6, clusters=3),
               fake_report("b", "recall", "outernorm", 0.95, 0.6, 0.5),
               fake_report("c", "internal-recall", "outernorm", 0.97, 0.9, 0.4)]
    text = claims.markdown(reports, Settings(iters=500), 1.0)
    assert "## sudoku" in text and "| c | internal-recall | outernorm | 0.970 | 0.900 |" in text
    lines = [line for line in text.splitlines() if line.startswith("- *")]
    assert len(lines) == 4 and all("**supported**" in c for c in lines), lines
    assert "*Clearly better on sudoku*: **supported**" in text
    # standard recall better than internal: claim 4 fails; a non-converged outer run fails claim 3
    reports[1] = fake_report("b", "recall", "outernorm", 0.95, 0.95, 0.5)
    reports[2] = fake_report("c", "internal-recall", "outernorm", 0.97, 0.5, 0.4, residual=0.1)
    lines = [line for line in claims.markdown(reports, Settings(iters=500), 1.0).splitlines() if line.startswith("- *")]
    assert "**not supported**" in lines[2] and "not reachable" in lines[2] and "**not supported**" in lines[3]
    empty = claims.markdown([], Settings(iters=500), 0.0)
    assert "No checkpoints were found" in empty
    assert claims.find_checkpoints([]) == sorted(d for d in hub.ZOO_DIR.glob("*/") if (d / "config.json").is_file())


def test_reproduce_reuses_a_report_only_for_the_same_weights(tmp_path, monkeypatch):
    import dataclasses

    import loopzoo.analysis.report as report_module
    from loopzoo import checkpoint

    model_dir = tmp_path / "prefix-sums-no-recall-outernorm"
    checkpoint.save(loopzoo.create("prefix-sums-no-recall-outernorm", width=16, heads=2), model_dir)
    calls = []
    monkeypatch.setattr(report_module, "analyze", lambda model, settings, **kw: calls.append(model) or {
        "n": len(calls), "settings": dataclasses.asdict(settings)})  # what analyze's report records
    settings, out = Settings(iters=3), tmp_path / "out"
    out.mkdir()
    claims.analyze_all([model_dir], settings, out, fresh=False, plots=False)
    claims.analyze_all([model_dir], settings, out, fresh=False, plots=False)
    assert len(calls) == 1, "same settings, same weights: the report is reused"
    torch.manual_seed(1)
    checkpoint.save(loopzoo.create("prefix-sums-no-recall-outernorm", width=16, heads=2), model_dir)
    [report] = claims.analyze_all([model_dir], settings, out, fresh=False, plots=False)
    assert len(calls) == 2 and report["n"] == 2, "new weights under the same name are analyzed again"


def test_reproduce_analyzes_again_when_the_bundled_data_were_rewritten(tmp_path, monkeypatch):
    import dataclasses

    import loopzoo.analysis.report as report_module
    from loopzoo import checkpoint
    from loopzoo.data import bundled

    model_dir = tmp_path / "chess-no-recall-outernorm"
    checkpoint.save(loopzoo.create("chess-no-recall-outernorm", width=16, heads=2), model_dir)
    calls = []
    monkeypatch.setattr(report_module, "analyze", lambda model, settings, **kw: calls.append(model) or {
        "n": len(calls), "settings": dataclasses.asdict(settings)})
    monkeypatch.setattr(bundled, "manifest", lambda: {"chess.csv.xz": {"sha256": "old"}})
    settings, out = Settings(iters=3), tmp_path / "out"
    out.mkdir()
    [first] = claims.analyze_all([model_dir], settings, out, fresh=False, plots=False)
    assert first["data_sha256"] == "old"
    claims.analyze_all([model_dir], settings, out, fresh=False, plots=False)
    assert len(calls) == 1, "same weights, same data: the report is reused"
    monkeypatch.setattr(bundled, "manifest", lambda: {"chess.csv.xz": {"sha256": "new"}})
    [report] = claims.analyze_all([model_dir], settings, out, fresh=False, plots=False)
    assert len(calls) == 2 and report["data_sha256"] == "new", "rewritten data: the report is measured again"


def test_a_grid_runs_report_written_under_its_older_label_is_reused_under_its_ref(repro, tmp_path, monkeypatch):
    import dataclasses

    import loopzoo.analysis.report as report_module
    from loopzoo import checkpoint

    run = GRID() / "prefix-sums" / "prefix-sums-no-recall-outernorm@lr0.0003" / "seed0"
    checkpoint.save(loopzoo.create("prefix-sums-no-recall-outernorm", width=16, heads=2), run)
    calls = []
    monkeypatch.setattr(report_module, "analyze", lambda model, settings, **kw: calls.append(model) or {
        "settings": dataclasses.asdict(settings)})
    settings, out = Settings(iters=3), tmp_path / "out"
    out.mkdir()
    [first] = repro.analyze_all(repro.grid_checkpoints(["prefix-sums"]), settings, out, fresh=False, plots=False)
    assert first["label"] == "prefix-sums-no-recall-outernorm.lr0.0003-seed0" and len(calls) == 1
    (out / "prefix-sums-no-recall-outernorm.lr0.0003-seed0.json").rename(out / "prefix-sums-no-recall-outernorm@lr0.0003-seed0.json")
    [again] = repro.analyze_all([run], settings, out, fresh=False, plots=False)
    assert len(calls) == 1 and again["label"] == "prefix-sums-no-recall-outernorm.lr0.0003-seed0"


def test_three_valued_and():
    assert claims.all_of([True, True]) is True and claims.all_of([True, None]) is None
    assert claims.all_of([None, False]) is False and claims.all_of([]) is True


def _scored(x: float, counts: tuple[str, ...]) -> dict:
    return {"samples": 100, "final": x, "at": dict.fromkeys(counts, x)}


def probed_run(label: str, evals: list[tuple[int, float, float]], status: str = "done", counts=("30", "500")) -> Path:
    """A prefix-sums grid run whose evaluations ``(step, hard, probe)`` scored the held-out probe (val: 1.0) at the
    iteration ``counts``."""
    run = GRID() / "prefix-sums" / label / "seed0"
    run.mkdir(parents=True)
    records = [{"step": i, "loss": 0.1} for i in range(10)]
    records += [{"step": step, "kind": "eval", "val": _scored(1.0, counts), "test": _scored(hard, counts),
                 "probe": _scored(probe, counts)}
                for step, hard, probe in evals]
    (run / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    if status == "done":
        (run / "grid-status.json").write_text(json.dumps({"status": "done", "steps": evals[-1][0], "train_minutes": 30.0}))
    return run


def _prefix_report(name: str, recall: str, hard: float, sensitivity: float = 0.3) -> dict:
    report = _report(f"{name}.lr0.0003-seed0", recall, "outernorm", hard)
    report["model"]["task"] = "prefix-sums"
    report["input_dependence"]["sensitivity"]["median"] = sensitivity
    report["parameters"] = 250_000
    return report


@pytest.fixture
def prefix_grid(repro):
    """Four finished prefix-sums runs at lr 3e-4 (internal and standard recall swing: 85% hard at step 720, little at
    their end; no recall solves none) and one started; their analysed ends."""
    probed_run("prefix-sums-internal-recall-outernorm@lr0.0003", [(720, 0.85, 0.93), (1440, 0.2, 0.3), (2960, 0.06, 0.15)])
    probed_run("prefix-sums-recall-outernorm@lr0.0003", [(720, 0.85, 0.90), (2960, 0.0, 0.0)])
    probed_run("prefix-sums-no-recall-outernorm@lr0.0003", [(720, 0.0, 0.0), (2960, 0.0, 0.0)])
    probed_run("prefix-sums-internal-recall-perinorm@lr0.0003", [(720, 0.5, 0.6)], status="started")
    reports = [_prefix_report("prefix-sums-internal-recall-outernorm", "internal-recall", 0.104),
               _prefix_report("prefix-sums-recall-outernorm", "recall", 0.0),
               _prefix_report("prefix-sums-no-recall-outernorm", "none", 0.0, sensitivity=0.01)]
    return reports, repro.grid_runs("prefix-sums")


def test_rows_at_the_best_checkpoint_by_the_probe_come_from_the_evaluations(repro, prefix_grid):
    reports, runs_ = prefix_grid
    best = {r["label"]: r for r in repro.rows_at_best(runs_, [repro.row(rep) for rep in reports])}
    assert sorted(best) == ["prefix-sums-internal-recall-outernorm.lr0.0003-seed0", "prefix-sums-no-recall-outernorm.lr0.0003-seed0",
                            "prefix-sums-recall-outernorm.lr0.0003-seed0"]  # finished runs only
    internal = best["prefix-sums-internal-recall-outernorm.lr0.0003-seed0"]
    assert (internal["step"], internal["probe"], internal["val"], internal["hard"], internal["n_hard"], internal["iters"]) == \
        (720, 0.93, 1.0, 0.85, 100, 500)
    assert internal["parameters"] == 250_000 and internal["residual"] is None and internal["sensitivity"] is None
    assert best["prefix-sums-no-recall-outernorm.lr0.0003-seed0"]["step"] == 2960  # never better: its end


def test_the_report_reads_each_claim_at_the_end_and_at_the_best_checkpoint_by_the_probe(repro, prefix_grid):
    reports, runs_ = prefix_grid
    text = repro.markdown(reports, Settings(iters=500, samples=500), 1.0, {"prefix-sums": runs_})
    assert "| prefix-sums-internal-recall-outernorm.lr0.0003-seed0 | 0.0003 | 2960 | 0.150 | 1.000 | 0.060 | 720 | 0.930 | 1.000 | 0.850 |" in text
    assert "| prefix-sums-no-recall-outernorm.lr0.0003-seed0 | 0.0003 | 2960 | 0.000 | 1.000 | 0.000 | 2960 | 0.000 | 1.000 | 0.000 |" in text
    assert "| prefix-sums-internal-recall-perinorm.lr0.0003-seed0 | 0.0003 |" not in text.split("by the probe\n")[1].split("###")[0]
    end, best = text.split("### Claims at the best checkpoint by the probe")
    assert "(100 hard inputs that are not the test split)" in best and "at 500 iterations on 100 items" in best
    # C1 holds under both rules; C3's extrapolation part differs (10.4% and 0% at the end, 85% at the best)
    differs = ("**Differs between the two checkpoint rules**: its extrapolation part is **not supported** at the end and "
               "**supported** at the best checkpoint by the probe.")
    c3_end = next(line for line in end.splitlines() if line.startswith("- *Recall + outer norm"))
    c3_best = next(line for line in best.splitlines() if line.startswith("- *Recall + outer norm"))
    assert "**not supported**" in c3_end and "hard accuracy 0.104 [does not extrapolate]" in c3_end and c3_end.endswith(differs)
    assert c3_best.startswith("- *Recall + outer norm gives reachable, input-smooth, stable fixed points and extrapolates*: **not testable**")
    assert "prefix-sums-internal-recall-outernorm.lr0.0003-seed0: hard accuracy 0.850 [extrapolates] (fixed points not measured)" in c3_best
    assert c3_best.endswith(differs)
    assert "Best no-recall hard accuracy 0.000 (prefix-sums-no-recall-outernorm.lr0.0003-seed0) vs best recall 0.850" in best
    assert "(dF/de = 0)*: **supported**" in end
    assert "(dF/de = 0)*: **not testable** (fixed points not measured: the weights of that checkpoint are not kept)." in best
    assert text.count("Differs between") == 2
    # the verdict itself differs: standard recall ahead at the end, level at the best checkpoint
    reports[1]["curves"]["hard"]["final"] = 0.6
    text = repro.markdown(reports, Settings(iters=500, samples=500), 1.0, {"prefix-sums": runs_})
    said = ("**Differs between the two checkpoint rules**: the verdict is **not supported** at the end and **supported** "
            "at the best checkpoint by the probe.")
    internal = [line for line in text.splitlines() if line.startswith("- *Internal recall + outer norm")]
    assert len(internal) == 2 and all(line.endswith(said) for line in internal)
    assert "Hard accuracy 0.104 (internal) vs 0.600 (standard)" in internal[0]
    assert "Hard accuracy 0.850 (internal) vs 0.850 (standard); rule: not below by more than 2 standard errors (0.101)" in internal[1]


def test_a_grid_without_a_probe_has_no_second_reading(repro):
    fake_run(GRID(), "sudoku-internal-recall-outernorm@lr0.001", "done", FALLING)
    text = repro.markdown([_report("sudoku-internal-recall-outernorm.lr0.001-seed0", "internal-recall", "outernorm", 0.8)],
                          Settings(iters=500), 1.0, {"sudoku": repro.grid_runs("sudoku")})
    assert "best checkpoint" not in text and "Differs" not in text
    assert repro.rows_at_best(repro.grid_runs("sudoku"), []) == []


def test_the_fixed_depth_baseline_is_read_at_the_best_checkpoints_too(repro, prefix_grid):
    reports, runs_ = prefix_grid
    probed_run("prefix-sums-fixed15@lr0.0003", [(720, 0.9, 0.95), (2960, 0.5, 0.5)], counts=("1",))  # evaluated as it runs
    deep = _prefix_report("prefix-sums-fixed15", "none", 0.5)
    deep["model"]["depth"], deep["iters"], deep["parameters"] = 15, 1, 2_900_000
    text = repro.markdown(reports + [deep], Settings(iters=500, samples=500), 1.0, {"prefix-sums": repro.grid_runs("prefix-sums")})
    assert "Fixed-depth baseline (the paper's comparison" in text and "has hard accuracy 0.500, ahead of the best looped run" in text
    assert ("Fixed-depth baseline at the best checkpoints by the probe (the paper's comparison, not one of the claims above): "
            "prefix-sums-fixed15.lr0.0003-seed0 (15 untied layers, 1 pass, 2.90 M parameters) has hard accuracy 0.900, "
            "within 2 standard errors of the best looped run") in text
