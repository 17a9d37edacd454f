"""The analysis memory budget: sizes, chunk plans, per-phase measurements, and results of chunked
and per-iteration computations equal to the whole-batch, whole-graph ones (float rounding)."""
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

import loopzoo
from loopzoo.analysis import Settings, analyze, spectral_radius, top_singular_value, trace_model
from loopzoo.analysis.budget import MIB, Budget, PhaseMeter, current_rss, default_bytes, parse_size, spans
from loopzoo.analysis.jacobian import backprop_gain, parameter_grad_norm, sample_norm, unit
from loopzoo.analysis.paths import default_starts, detect_cycles, path_independence
from loopzoo.analysis.sensitivity import input_sensitivity
from loopzoo.data import load_split
from loopzoo.errors import InputError

ROOT = Path(__file__).resolve().parents[2]
NAME = "prefix-sums-internal-recall-outernorm"


def tiny(name=NAME, **kw):
    return loopzoo.create(name, **{"width": 8, "heads": 2, **kw}).double().eval()


def probe(model, n=5, length=12):
    x, y = load_split("prefix-sums", "val", n=n, length=length).tensors()
    x = x.double()
    return x, y, model.embed(x).detach()  # e: [n, L, D]


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def test_parse_size_and_default(monkeypatch):
    assert parse_size("512M") == 512 * MIB
    assert parse_size("1.5G") == 3 * 2**29
    assert parse_size("800MiB") == parse_size("800 mb") == 800 * MIB
    assert parse_size("4096") == parse_size(4096) == 4096
    for bad in ("lots", "-1G", "0", "1.2.3M", ""):
        with pytest.raises(InputError, match="memory size"):
            parse_size(bad)
    monkeypatch.delenv("LOOPZOO_ANALYSIS_MEMORY", raising=False)
    assert default_bytes() == 512 * MIB and Settings().max_memory == 512 * MIB
    monkeypatch.setenv("LOOPZOO_ANALYSIS_MEMORY", "2G")
    assert default_bytes() == 2 * 2**30 and Settings().max_memory == 2 * 2**30
    assert Settings(max_memory="1G").max_memory == 2**30
    monkeypatch.setenv("LOOPZOO_ANALYSIS_MEMORY", "much")
    with pytest.raises(InputError, match="LOOPZOO_ANALYSIS_MEMORY"):
        default_bytes()


def test_spans_cover_the_batch():
    assert spans(5, 2) == [slice(0, 2), slice(2, 4), slice(4, 5)]
    assert spans(5, None) == spans(5, 9) == [slice(0, 5)]


def test_budget_chunks_shrink_with_length_width_and_iterations():
    narrow = Budget.of(loopzoo.create(NAME, width=64, heads=4), "512M")
    wide = Budget.of(loopzoo.create(NAME, width=256, heads=8), "512M")
    assert narrow.samples(32) > narrow.samples(512) > wide.samples(512) >= 1
    assert Budget.of(loopzoo.create(NAME, width=64, heads=4), 1).samples(512) == 1
    # a short trajectory of short inputs keeps every state; a long one of long inputs keeps one every ~sqrt(T)
    assert narrow.trajectory(32, 30, 32) == (32, 30)
    chunk, segment = wide.trajectory(512, 500, 32)
    assert segment == 23 and 1 < chunk < 32
    kept = -(-500 // segment) + segment + 1
    assert chunk * (2 * wide.layer(512) + (kept + 4) * wide.state(512)) <= wide.bytes
    full = Budget.of(loopzoo.create("sudoku-internal-recall-outernorm", width=64, heads=4), "512M")
    assert full.window is None and full.layer(81) > 0


def whole_graph_gain(F_, s0, e, iters, seed):
    """backprop_gain as one autograd graph through every iteration (the earlier implementation)."""
    start = s0.clone().requires_grad_(True)
    s = start
    for _ in range(iters):
        s = F_(s, e)
    g = unit(torch.randn(s.shape, generator=gen(seed), dtype=s.dtype))
    (grad,) = torch.autograd.grad(s, start, grad_outputs=g)
    return sample_norm(grad)


def whole_graph_param_norm(model, x, y, iters):
    model.zero_grad(set_to_none=True)
    logits, _ = model(x, iters)
    F.cross_entropy(logits.flatten(0, -2).float(), y.flatten()).backward()
    norm = sum(float(p.grad.double().pow(2).sum()) for p in model.parameters() if p.grad is not None) ** 0.5
    model.zero_grad(set_to_none=True)
    return norm


@pytest.mark.parametrize("chunk,segment", [(None, None), (2, None), (None, 1), (2, 4), (3, 7)])
def test_per_iteration_gradients_equal_the_whole_graph(chunk, segment):
    model = tiny()
    x, y, e = probe(model)
    T = 17
    expected = whole_graph_gain(model.step, e, e, T, seed=3)
    gain = backprop_gain(model.step, e, e, T, generator=gen(3), chunk=chunk, segment=segment)
    assert torch.allclose(gain["norm"], expected, rtol=1e-10)
    assert torch.allclose(gain["per_iter"], expected ** (1 / T), rtol=1e-10)
    norm = parameter_grad_norm(model, x, y, T, chunk=chunk, segment=segment)
    assert norm == pytest.approx(whole_graph_param_norm(model, x, y, T), rel=1e-10)
    assert all(p.grad is None for p in model.parameters())  # the weights' .grad are left alone


@pytest.mark.parametrize("name", [NAME, "prefix-sums-recall-prenorm", "prefix-sums-no-recall-gru"])
def test_chunked_probes_equal_the_whole_batch(name):
    model = tiny(name)
    x, y, e = probe(model)
    iters = 9
    whole, cut = (trace_model(model, x, iters, y, chunk=c) for c in (None, 2))
    for field in ("residual", "state_norm", "changed", "changed_tokens", "confidence", "accuracy", "final_state"):
        assert torch.allclose(getattr(cut, field), getattr(whole, field), rtol=1e-10, atol=1e-12), field
    s = whole.final_state
    for fn, kw in ((spectral_radius, {"steps": 6}), (top_singular_value, {"steps": 4})):
        a, b = (fn(model.step, s, e, generator=gen(1), chunk=c, **kw) for c in (None, 2))
        assert torch.allclose(a, b, rtol=1e-10)
    a, b = (input_sensitivity(model.step, e, iters, reference=s, generator=gen(2), chunk=c) for c in (None, 2))
    assert all(torch.allclose(a[k], b[k], rtol=1e-10) for k in a)
    starts = default_starts(e, gen(4))
    ref = ("embedding", s, whole.residual[:, -1])
    a, b = (path_independence(model.step, e, iters, starts=starts, readout=model.readout, reference=ref, chunk=c)
            for c in (None, 2))
    assert a.keys() == b.keys() == {"embedding", "zeros", "noise"}
    assert all(a[k][f] == pytest.approx(b[k][f], rel=1e-9, abs=1e-15) for k in a for f in a[k])
    a, b = (detect_cycles(model.step, s, e, 6, max_period=3, tol=1e-3, chunk=c) for c in (None, 2))
    assert torch.equal(a["period"], b["period"]) and torch.allclose(a["gaps"], b["gaps"], rtol=1e-10)


def leaves(d, path=""):
    if isinstance(d, dict):
        for k, v in d.items():
            yield from leaves(v, f"{path}.{k}")
    elif isinstance(d, list):
        for i, v in enumerate(d):
            yield from leaves(v, f"{path}[{i}]")
    else:
        yield path, d


def test_report_within_a_tiny_budget_equals_the_unchunked_report():
    reports = []
    for memory in ("1G", 1):  # one chunk per phase; one sample per chunk and a state kept every few iterations
        torch.manual_seed(0)
        model = loopzoo.create(NAME, width=16, heads=2, iters=10)
        settings = Settings(iters=8, samples=6, probe_samples=4, jacobian_steps=4, scaling_samples=2, max_period=2,
                            max_memory=memory)
        reports.append(dict(leaves(analyze(model, settings))))
    whole, cut = reports
    assert whole.keys() == cut.keys()
    phases = {k.split(".")[-1] for k in whole if k.startswith(".timings_s.")}
    assert phases == {k.split(".")[-1] for k in whole if k.startswith(".peak_rss_mib.")}
    assert {"trace", "state gradient", "parameter gradient", "scaling"} <= phases
    for key, value in whole.items():
        if key.startswith((".timings_s", ".peak_rss_mib", ".settings.max_memory")):
            continue
        if isinstance(value, float):
            assert cut[key] == pytest.approx(value, rel=1e-5, abs=1e-7), key
        else:
            assert cut[key] == value, key


def test_phase_meter_sees_a_phase_peak():
    if current_rss() is None:
        pytest.skip("no /proc/self/statm here")
    before = current_rss()
    with PhaseMeter() as meter:
        big = torch.ones(2**25)  # 128 MiB, touched
        time.sleep(0.05)
        del big
    assert meter.seconds >= 0.05 and meter.peak_rss >= before + 100 * MIB
    assert "peak RSS" in meter.describe()


def test_cli_verbose_logs_each_phase_and_rejects_a_bad_size(tmp_path, capsys):
    from loopzoo.cli import main

    out = tmp_path / "a"
    rc = main(["analyze", NAME, "--random-init", "--width", "16", "--heads", "2", "--iters", "6", "--samples", "4",
               "--probe-samples", "3", "--jacobian-steps", "2", "--no-scaling", "--no-plots", "--out", str(out),
               "--max-memory", "64K", "-v"])
    assert rc == 0
    err = capsys.readouterr().err
    assert "memory budget per phase: 64 KiB" in err
    for phase in ("curve val", "trace", "spectral radius", "state gradient", "parameter gradient", "paths"):
        assert f"{phase}: " in err and "peak RSS" in err.split(f"{phase}: ")[1].splitlines()[0], phase
    report = json.loads((out / "report.json").read_text())
    assert report["settings"]["max_memory"] == 64 * 1024 and report["peak_rss_mib"].keys() == report["timings_s"].keys()
    assert main(["analyze", NAME, "--random-init", "--max-memory", "lots"]) == 2
    assert "--max-memory 'lots' is not a size" in capsys.readouterr().err


@pytest.mark.slow
def test_default_analysis_of_the_prefix_sums_flagship_fits_in_1_5_gb(tmp_path):
    """The full default run (about 10 minutes on one core): peak resident set at most 1.5 GB."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    subprocess.run([sys.executable, "-m", "loopzoo", "analyze", NAME, "--no-plots", "--out", str(tmp_path)],
                   check=True, env=env, cwd=ROOT)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024  # Linux: KiB
    assert peak <= 1.5e9, f"peak resident set {peak / 1e9:.2f} GB"
    assert "param_grad_norm" in json.loads((tmp_path / "report.json").read_text())["geometry"]
