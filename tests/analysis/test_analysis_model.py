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
