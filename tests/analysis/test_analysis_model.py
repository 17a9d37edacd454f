"""The analysis tools on tiny looped models: agreement with dense Jacobians, the full report, CLI."""
import json

import pytest
import torch

import loopzoo
from loopzoo.analysis import analyze, Settings, spectral_radius, top_singular_value, trace_model
from loopzoo.analysis.jacobian import recall_matrix
from loopzoo.analysis.scaling import difficulty_bands, flops_per_iteration, scaling_grid
from loopzoo.data import load_split
from loopzoo.data.base import TaskDataset
from loopzoo.errors import DataError
from loopzoo.evaluate import accuracy_curve, recall_spectral_radius

from script_helpers import script_module


def tiny(name="prefix-sums-internal-recall-outernorm", **kw):
    return loopzoo.create(name, **{"width": 8, "heads": 2, **kw}).double().eval()


def dense_jacobian(model, s, e):
    """``[P, P]`` Jacobian of one sample's step (s, e: ``[1, L, D]``)."""
    return torch.autograd.functional.jacobian(lambda z: model.step(z.view_as(s), e).flatten(), s.flatten())


@pytest.mark.parametrize("name,length", [("prefix-sums-internal-recall-outernorm", 8),  # local-window path
                                         ("prefix-sums-recall-prenorm", 4),  # fused attention path
                                         ("prefix-sums-no-recall-gru", 8)])
def test_model_jacobian_estimates_match_dense_jacobian(name, length):
    model = tiny(name)
    x = load_split("prefix-sums", "val", n=2, length=length).x.double()
    e = model.embed(x).detach()
    s = e
    with torch.no_grad():
        for _ in range(5):
            s = model.step(s, e)
    rho = spectral_radius(model.step, s, e, steps=160, generator=torch.Generator().manual_seed(0))
    sigma = top_singular_value(model.step, s, e, steps=100, generator=torch.Generator().manual_seed(0))
    for b in range(2):
        J = dense_jacobian(model, s[b:b + 1], e[b:b + 1])
        assert float(sigma[b]) == pytest.approx(float(torch.linalg.matrix_norm(J, ord=2)), rel=2e-3)
        assert float(rho[b]) == pytest.approx(float(torch.linalg.eigvals(J).abs().max()), rel=0.03)


def test_recall_matrix_matches_evaluate():
    model = tiny()
    out = recall_matrix(model)
    assert out["rho_wx"] == recall_spectral_radius(model)
    w = model.blocks[0].recall.wx.weight.detach()
    assert out["norm_wx"] == pytest.approx(float(torch.linalg.svdvals(w.double())[0]))
    assert recall_matrix(tiny("prefix-sums-no-recall-outernorm")) == {"rho_wx": None, "norm_wx": None}


def test_trace_accuracy_agrees_with_accuracy_curve():
    model = loopzoo.create("prefix-sums-internal-recall-outernorm", width=16, heads=2).eval()
    ds = load_split("prefix-sums", "val", n=40)
    x, y = ds.tensors()
    tr = trace_model(model, x, 6, y)
    curve = accuracy_curve(model, ds, 6)
    assert tr.accuracy.tolist() == pytest.approx(curve.accuracy.tolist())
    assert tr.residual.shape == (40, 6) and tr.changed.shape == (6,)
    assert 0.5 <= float(tr.confidence.min()) <= 1.0


def test_gradients_work_after_an_inference_mode_evaluation():
    model = loopzoo.create("prefix-sums-internal-recall-outernorm", width=16, heads=2).eval()
    ds = load_split("prefix-sums", "val", n=4)
    accuracy_curve(model, ds, 2)  # fills the rotary / window caches under inference_mode
    e = model.embed(ds.x).detach()
    assert torch.isfinite(spectral_radius(model.step, e, e, steps=4)).all()


def test_analyze_tiny_model_report_is_complete_and_json(tmp_path):
    model = loopzoo.create("prefix-sums-internal-recall-outernorm", width=16, heads=2)
    settings = Settings(iters=12, samples=16, probe_samples=6, jacobian_steps=8, scaling_samples=4, max_period=3)
    report = analyze(model, settings)
    text = json.dumps(report)  # plain floats / lists only
    back = json.loads(text)
    assert set(back) >= {"curves", "overthinking", "trace", "reachability", "geometry", "input_dependence",
                         "paths", "cycles", "scaling", "recall_matrix", "timings_s"}
    assert len(back["curves"]["val"]["accuracy"]) == 12 and len(back["trace"]["residual_median"]) == 12
    assert len(back["reachability"]["spectral_radius"]["per_sample"]) == 6
    assert back["input_dependence"]["fixed_points"]["inputs"] == 6
    assert set(back["paths"]) == {"embedding", "zeros", "noise"} and back["paths"]["embedding"]["distance"] == 0.0
    assert sum(back["cycles"]["counts"].values()) == 6
    bands = back["scaling"]["bands"]
    assert [b["difficulty"] for b in bands] == [32, 64, 128, 256, 512]
    assert all(b["grid"][-1]["flops"] == 12 * b["flops_per_iter"] for b in bands)
    from loopzoo.analysis.plots import plot_report

    paths = plot_report(back, tmp_path)
    assert {p.name for p in paths} == {"accuracy.png", "residual.png", "spectral_radius.png", "scaling.png"}
    assert all(p.read_bytes()[:4] == b"\x89PNG" for p in paths)


def test_flops_grow_linearly_with_length_for_local_attention():
    model = loopzoo.create("prefix-sums-internal-recall-outernorm", width=16, heads=2)
    f32 = flops_per_iteration(model, load_split("prefix-sums", "val", n=1, length=32).x[0])
    f64 = flops_per_iteration(model, load_split("prefix-sums", "val", n=1, length=64).x[0])
    assert f32 > 0 and f64 == 2 * f32


def fake_rated(monkeypatch):
    def fake(task, split, seed=0, path=None, n=None, **kw):
        k = 40 if split == "val" else 20
        ds = load_split("prefix-sums", "val", n=k, length=8, seed={"val": 1, "test": 2}[split])
        ratings = [float(i + (100 if split == "test" else 0)) for i in range(k)]
        return TaskDataset("prefix-sums", split, ds.inputs, ds.answers, ratings)

    monkeypatch.setattr("loopzoo.data.load_split", fake)


def test_rating_bands_are_equal_count_quantiles(monkeypatch):
    fake_rated(monkeypatch)
    bands = difficulty_bands("sudoku", samples=100, bands=3)
    assert [len(b.dataset) for b in bands] == [20, 20, 20]
    values = [b.value for b in bands]
    assert values == sorted(values) and bands[-1].label == "rating 100-119"
    model = loopzoo.create("prefix-sums-internal-recall-outernorm", width=16, heads=2)
    grid = scaling_grid(model, bands, 3, points=(1, 3))
    assert [g["iters"] for g in grid["bands"][0]["grid"]] == [1, 3]


def test_missing_split_gives_a_clear_error(monkeypatch):
    def missing(task, split, **kw):
        raise DataError(f"the bundled {task} set is missing")

    monkeypatch.setattr("loopzoo.data.load_split", missing)
    model = loopzoo.create("sudoku-internal-recall-outernorm", width=8, heads=2)
    with pytest.raises(DataError, match="cannot analyze on the val split of sudoku"):
        analyze(model, Settings(iters=2, samples=2, probe_samples=2, jacobian_steps=2))


def test_cli_analyze_random_init(tmp_path, capsys):
    from loopzoo.cli import main

    out = tmp_path / "a"
    rc = main(["analyze", "prefix-sums-no-recall-outernorm", "--random-init", "--width", "16", "--heads", "2",
               "--iters", "10", "--samples", "8", "--probe-samples", "4", "--jacobian-steps", "4",
               "--no-scaling", "--out", str(out)])
    assert rc == 0
    report = json.loads((out / "report.json").read_text())
    assert report["recall_matrix"] == {"rho_wx": None, "norm_wx": None} and "scaling" not in report
    assert (out / "accuracy.png").is_file()
    assert "rho(J)=" in capsys.readouterr().out
    assert main(["analyze", str(tmp_path / "nothing-here")]) == 2


def test_a_fixed_depth_model_is_analyzed_at_its_own_iterations():
    model = loopzoo.create("prefix-sums-fixed15", width=8, heads=2, depth=3)  # iters=1: one pass of its layers
    settings = Settings(iters=12, samples=4, probe_samples=2, jacobian_steps=2, scaling=False, max_period=2)
    report = analyze(model, settings)
    assert report["iters"] == 1 and report["settings"]["iters"] == 12
    assert len(report["curves"]["val"]["accuracy"]) == 1 and len(report["trace"]["residual_median"]) == 1
    looped = analyze(loopzoo.create("prefix-sums-internal-recall-outernorm", width=8, heads=2), settings)
    assert looped["iters"] == 12 and len(looped["curves"]["hard"]["accuracy"]) == 12


def test_the_report_table_says_how_a_fixed_depth_row_was_run():
    mod = load_script()
    deep = fake_report("sudoku-fixed15@lr0.001/seed0", "none", "prenorm", 0.0, 0.0, 1.0)
    deep["model"]["depth"], deep["iters"] = 15, 1
    text = mod.markdown([deep, fake_report("c", "internal-recall", "outernorm", 0.97, 0.9, 0.4)], Settings(iters=500), 1.0)
    assert "| sudoku-fixed15@lr0.001/seed0 (15 untied layers, 1 pass) | none | prenorm |" in text
    assert "| c | internal-recall | outernorm |" in text
    assert "Fixed-depth baseline" in text and "has hard accuracy 0.000, behind the best looped run, c" in text
    deep["curves"]["hard"]["final"], deep["parameters"] = 0.95, 2_900_000
    text = mod.markdown([deep, fake_report("c", "internal-recall", "outernorm", 0.97, 0.9, 0.4)], Settings(iters=500), 1.0)
    assert "(15 untied layers, 1 pass, 2.90 M parameters) has hard accuracy 0.950, within 2 standard errors of" in text
    deep["curves"]["hard"]["final"] = 1.0
    text = mod.markdown([deep, fake_report("c", "internal-recall", "outernorm", 0.97, 0.8, 0.4)], Settings(iters=500), 1.0)
    assert "has hard accuracy 1.000, ahead of the best looped run" in text
    alone = mod.markdown([fake_report("c", "internal-recall", "outernorm", 0.97, 0.8, 0.4)], Settings(iters=500), 1.0)
    assert "Fixed-depth baseline" not in alone
    del deep["curves"]["hard"]  # no hard accuracy measured: nothing to compare
    text = mod.markdown([deep, fake_report("c", "internal-recall", "outernorm", 0.97, 0.8, 0.4)], Settings(iters=500), 1.0)
    assert "Fixed-depth baseline" not in text


def load_script():
    with script_module("reproduce_paper") as mod:
        return mod


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
    mod = load_script()
    reports = [fake_report("a", "none", "outernorm", 0.9, 0.05, 1e-6, clusters=3),
               fake_report("b", "recall", "outernorm", 0.95, 0.6, 0.5),
               fake_report("c", "internal-recall", "outernorm", 0.97, 0.9, 0.4)]
    text = mod.markdown(reports, Settings(iters=500), 1.0)
    assert "## sudoku" in text and "| c | internal-recall | outernorm | 0.970 | 0.900 |" in text
    claims = [line for line in text.splitlines() if line.startswith("- *")]
    assert len(claims) == 4 and all("**supported**" in c for c in claims), claims
    assert "*Clearly better on sudoku*: **supported**" in text
    # standard recall better than internal: claim 4 fails; a non-converged outer run fails claim 3
    reports[1] = fake_report("b", "recall", "outernorm", 0.95, 0.95, 0.5)
    reports[2] = fake_report("c", "internal-recall", "outernorm", 0.97, 0.5, 0.4, residual=0.1)
    claims = [line for line in mod.markdown(reports, Settings(iters=500), 1.0).splitlines() if line.startswith("- *")]
    assert "**not supported**" in claims[2] and "not reachable" in claims[2] and "**not supported**" in claims[3]
    empty = mod.markdown([], Settings(iters=500), 0.0)
    assert "No checkpoints were found" in empty
    assert mod.find_checkpoints([]) == sorted(d for d in mod.DEFAULT_ZOO.glob("*/") if (d / "config.json").is_file())


def test_reproduce_reuses_a_report_only_for_the_same_weights(tmp_path, monkeypatch):
    import dataclasses

    import loopzoo.analysis.report as report_module
    from loopzoo import checkpoint

    mod = load_script()
    model_dir = tmp_path / "prefix-sums-no-recall-outernorm"
    checkpoint.save(loopzoo.create("prefix-sums-no-recall-outernorm", width=16, heads=2), model_dir)
    calls = []
    monkeypatch.setattr(report_module, "analyze", lambda model, settings, **kw: calls.append(model) or {
        "n": len(calls), "settings": dataclasses.asdict(settings)})  # what analyze's report records
    settings, out = Settings(iters=3), tmp_path / "out"
    out.mkdir()
    mod.analyze_all([model_dir], settings, out, fresh=False, plots=False)
    mod.analyze_all([model_dir], settings, out, fresh=False, plots=False)
    assert len(calls) == 1, "same settings, same weights: the report is reused"
    torch.manual_seed(1)
    checkpoint.save(loopzoo.create("prefix-sums-no-recall-outernorm", width=16, heads=2), model_dir)
    [report] = mod.analyze_all([model_dir], settings, out, fresh=False, plots=False)
    assert len(calls) == 2 and report["n"] == 2, "new weights under the same name are analyzed again"


def test_reproduce_analyzes_again_when_the_bundled_data_were_rewritten(tmp_path, monkeypatch):
    import dataclasses

    import loopzoo.analysis.report as report_module
    from loopzoo import checkpoint
    from loopzoo.data import bundled

    mod = load_script()
    model_dir = tmp_path / "chess-no-recall-outernorm"
    checkpoint.save(loopzoo.create("chess-no-recall-outernorm", width=16, heads=2), model_dir)
    calls = []
    monkeypatch.setattr(report_module, "analyze", lambda model, settings, **kw: calls.append(model) or {
        "n": len(calls), "settings": dataclasses.asdict(settings)})
    monkeypatch.setattr(bundled, "manifest", lambda: {"chess.csv.xz": {"sha256": "old"}})
    settings, out = Settings(iters=3), tmp_path / "out"
    out.mkdir()
    [first] = mod.analyze_all([model_dir], settings, out, fresh=False, plots=False)
    assert first["data_sha256"] == "old"
    mod.analyze_all([model_dir], settings, out, fresh=False, plots=False)
    assert len(calls) == 1, "same weights, same data: the report is reused"
    monkeypatch.setattr(bundled, "manifest", lambda: {"chess.csv.xz": {"sha256": "new"}})
    [report] = mod.analyze_all([model_dir], settings, out, fresh=False, plots=False)
    assert len(calls) == 2 and report["data_sha256"] == "new", "rewritten data: the report is measured again"
