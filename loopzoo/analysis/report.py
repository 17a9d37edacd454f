"""``analyze``: every analysis of one model in one JSON-ready report (plain floats, lists, dicts)."""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

import torch

from ..errors import DataError, InputError
from .jacobian import backprop_gain, parameter_grad_norm, recall_matrix, spectral_radius, top_singular_value
from .paths import default_starts, detect_cycles, path_independence
from .sensitivity import cluster_states, input_sensitivity
from .trace import trace_model

SPLITS = {"val": "val", "easy": "val", "hard": "test", "test": "test"}


@dataclass
class Settings:
    """What :func:`analyze` runs. ``data`` picks the probe split (val or hard) for the trace and
    the fixed-point probes; accuracy curves are measured on both splits."""

    data: str = "val"
    iters: int = 500
    samples: int = 100  # per split for the accuracy curves
    probe_samples: int = 32  # inputs for trace, Jacobians, sensitivity, paths, cycles
    jacobian_steps: int = 100  # power-iteration steps (spectral radius; half for the singular value)
    eps: float = 1e-3  # relative input perturbation for the sensitivity
    cluster_tol: float = 1e-2  # relative distance for "the same fixed point"
    cycle_tol: float = 1e-3
    max_period: int = 8
    grad_iters: int | None = None  # iterations for the gradient norms (default: the model's train depth)
    scaling: bool = True
    scaling_samples: int = 50
    batch_size: int = 256
    seed: int = 0

    def __post_init__(self) -> None:
        if self.data not in SPLITS:
            raise InputError(f"unknown data split {self.data!r}; choose val or hard")
        for name in ("iters", "samples", "probe_samples", "jacobian_steps", "scaling_samples", "batch_size"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise InputError(f"{name} must be a positive integer, got {value!r}")
        if self.jacobian_steps < 2:
            raise InputError("jacobian_steps must be at least 2")


def stats(t: torch.Tensor, below: float | None = None) -> dict[str, float]:
    """Mean, median, min, max (and the share below ``below``) of a ``[B]`` tensor."""
    t = t.detach().double().cpu().flatten()
    out = {"mean": float(t.mean()), "median": float(t.median()), "min": float(t.min()), "max": float(t.max())}
    if below is not None:
        out[f"share_below_{below:g}"] = float((t < below).double().mean())
    return out


def load_probe(task: str, split: str, n: int, seed: int = 0):
    """The first ``n`` items of ``split``; a clear :class:`DataError` when it is unavailable."""
    from ..data import load_split

    try:
        return load_split(task, SPLITS[split], seed=seed, n=n)
    except DataError as exc:
        raise DataError(f"cannot analyze on the {split} split of {task}: {exc}") from None


def analyze(model, settings: Settings | None = None, *, source: str = "", log=None) -> dict[str, Any]:
    """Run every analysis on ``model`` and return the report (see the module docs of each part).

    Sections that need an unavailable data split are replaced by ``{"error": message}``.
    """
    from ..evaluate import accuracy_curve

    st = settings or Settings()
    say = log or (lambda msg: None)
    model.eval()
    task = model.config.task
    gen = torch.Generator().manual_seed(st.seed)
    timings: dict[str, float] = {}
    report: dict[str, Any] = {
        "model": model.config.to_dict(), "source": source, "parameters": model.num_parameters(),
        "settings": asdict(st), "recall_matrix": recall_matrix(model),
    }

    def timed(name: str):
        class _T:
            def __enter__(self):
                self.t = time.perf_counter()
                say(f"{name} ...")

            def __exit__(self, *exc):
                timings[name] = round(time.perf_counter() - self.t, 3)
                say(f"{name}: {timings[name]:.1f} s")
        return _T()

    # --- accuracy at every iteration, both splits; overthinking ----------------------
    curves: dict[str, Any] = {}
    for split in ("val", "hard"):
        with timed(f"curve {split}"):
            try:
                ds = load_probe(task, split, st.samples, st.seed)
            except DataError as exc:
                curves[split] = {"error": str(exc)}
                continue
            c = accuracy_curve(model, ds, st.iters, batch_size=st.batch_size)
            curves[split] = {**c.summary(), "accuracy": [round(float(a), 5) for a in c.accuracy]}
    report["curves"] = curves
    report["overthinking"] = {k: {f: v[f] for f in ("final", "best", "best_iter", "overthinking")}
                              for k, v in curves.items() if "error" not in v}

    # --- probe batch: trace, reachability, geometry, input dependence, paths ---------
    ds = load_probe(task, st.data, st.probe_samples, st.seed)
    x, y = ds.tensors()
    x, y = x.to(model.device), y.to(model.device)
    with torch.no_grad():
        e = model.embed(x)  # [B, L, D]
    with timed("trace"):
        tr = trace_model(model, x, st.iters, y)
    report["trace"] = {"split": st.data, **tr.summary()}
    s_star = tr.final_state  # [B, L, D]
    with timed("spectral radius"):
        rho = spectral_radius(model.step, s_star, e, st.jacobian_steps, generator=gen)
    with timed("top singular value"):
        sigma = top_singular_value(model.step, s_star, e, max(st.jacobian_steps // 2, 1), generator=gen)
    report["reachability"] = {
        "final_residual": stats(tr.residual[:, -1]),
        "spectral_radius": {**stats(rho, below=1.0), "per_sample": [float(v) for v in rho]},
        **report["recall_matrix"],
    }
    grad_iters = st.grad_iters or model.config.iters
    with timed("gradients"):
        gain = backprop_gain(model.step, e, e, grad_iters, generator=gen)
        pgrad = parameter_grad_norm(model, x, y, grad_iters)
    report["geometry"] = {
        "top_singular_value": stats(sigma, below=1.0),
        "grad_iters": grad_iters,
        "state_grad_norm": stats(gain["norm"]),
        "state_grad_gain_per_iter": stats(gain["per_iter"]),
        "param_grad_norm": pgrad,
    }
    with timed("sensitivity"):
        sens = input_sensitivity(model.step, e, st.iters, eps=st.eps, reference=s_star, generator=gen)
    n_fp, labels = cluster_states(s_star, st.cluster_tol)
    report["input_dependence"] = {
        "eps": st.eps,
        "sensitivity": stats(sens["sensitivity"]),
        "perturbed_final_residual": stats(sens["residual"]),
        "fixed_points": {"inputs": int(x.shape[0]), "clusters": n_fp, "share": n_fp / x.shape[0],
                         "largest_cluster": int(torch.bincount(labels).max()), "tol": st.cluster_tol},
    }
    with timed("paths"):
        starts = default_starts(e, gen)
        report["paths"] = path_independence(
            model.step, e, st.iters, starts=starts, readout=model.readout,
            reference=("embedding", s_star, tr.residual[:, -1].to(s_star.device)))
    with timed("cycles"):
        cyc = detect_cycles(model.step, s_star, e, st.max_period + 2, max_period=st.max_period, tol=st.cycle_tol)
    report["cycles"] = {k: cyc[k] for k in ("counts", "fixed_points", "cycles", "unresolved")}
    report["cycles"].update({"after_iters": st.iters + st.max_period + 2, "tol": st.cycle_tol})

    # --- test-time scaling ----------------------------------------------------------
    if st.scaling:
        from .scaling import difficulty_bands, scaling_grid

        with timed("scaling"):
            try:
                bands = difficulty_bands(task, samples=st.scaling_samples, seed=st.seed)
                report["scaling"] = scaling_grid(model, bands, st.iters, batch_size=st.batch_size)
            except DataError as exc:
                report["scaling"] = {"error": str(exc)}
    report["timings_s"] = timings
    return report
