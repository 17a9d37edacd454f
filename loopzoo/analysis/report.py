"""``analyze``: every analysis of one model in one JSON-ready report (plain floats, lists, dicts)."""
from __future__ import annotations

import contextlib
from dataclasses import asdict, dataclass
from typing import Any

import torch

from ..errors import DataError, InputError
from .budget import MIB, Budget, PhaseMeter, chunks_text, default_bytes, parse_size
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
    batch_size: int = 256  # at most; phases take fewer per chunk when max_memory asks for it
    seed: int = 0
    max_memory: int | str | None = None  # working-memory budget per phase in bytes (or "512M"); see .budget

    def __post_init__(self) -> None:
        if self.data not in SPLITS:
            raise InputError(f"unknown data split {self.data!r}; choose val or hard")
        self.max_memory = default_bytes() if self.max_memory is None else parse_size(self.max_memory, "max_memory")
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


def analyze(model, settings: Settings | None = None, *, source: str = "", log=None,
            verbose: bool = False) -> dict[str, Any]:
    """Run every analysis on ``model`` and return the report (see the module docs of each part).

    Every phase works on chunks of the probe batch sized to ``settings.max_memory``
    (:class:`~.budget.Budget`). ``log(message)`` receives each phase's time; with ``verbose``
    also its peak resident memory and how the batch was cut. ``timings_s`` and ``peak_rss_mib``
    in the report hold the same per phase. Sections that need an unavailable data split are
    replaced by ``{"error": message}``.
    """
    from ..evaluate import accuracy_curve
    from .scaling import curve_batch

    st = settings or Settings()
    say = log or (lambda msg: None)
    model.eval()
    task = model.config.task
    # A fixed-depth model (depth > 1: the paper's untied baseline) runs its own iterations, one pass of
    # its layers: looping an untied stack is not the baseline, and each pass costs depth looped iterations.
    iters = st.iters if model.config.depth == 1 else model.config.iters
    budget = Budget.of(model, st.max_memory)
    gen = torch.Generator().manual_seed(st.seed)
    timings: dict[str, float] = {}
    peaks: dict[str, float | None] = {}
    report: dict[str, Any] = {
        "model": model.config.to_dict(), "source": source, "parameters": model.num_parameters(),
        "settings": asdict(st), "iters": iters, "recall_matrix": recall_matrix(model),
    }
    if verbose:
        say(f"memory budget per phase: {budget.describe()} (--max-memory, env LOOPZOO_ANALYSIS_MEMORY)")

    @contextlib.contextmanager
    def timed(name: str, plan: str = ""):
        say(f"{name} ..." + (f" ({plan})" if verbose and plan else ""))
        with PhaseMeter(model.device) as meter:
            yield
        timings[name] = round(meter.seconds, 3)
        peaks[name] = None if meter.peak_rss is None else round(meter.peak_rss / MIB, 1)
        say(f"{name}: {meter.describe() if verbose else f'{meter.seconds:.1f} s'}")

    # --- accuracy at every iteration, both splits; overthinking ----------------------
    curves: dict[str, Any] = {}
    for split in ("val", "hard"):
        try:
            ds = load_probe(task, split, st.samples, st.seed)
        except DataError as exc:
            curves[split] = {"error": str(exc)}
            continue
        size = min(st.batch_size, curve_batch(budget, ds))
        with timed(f"curve {split}", chunks_text(len(ds), size)):
            c = accuracy_curve(model, ds, iters, batch_size=size)
        curves[split] = {**c.summary(), "accuracy": [round(float(a), 5) for a in c.accuracy]}
    report["curves"] = curves
    report["overthinking"] = {k: {f: v[f] for f in ("final", "best", "best_iter", "overthinking")}
                              for k, v in curves.items() if "error" not in v}

    # --- probe batch: trace, reachability, geometry, input dependence, paths ---------
    ds = load_probe(task, st.data, st.probe_samples, st.seed)
    x, y = ds.tensors()
    x, y = x.to(model.device), y.to(model.device)
    B, L = x.shape[0], x.shape[1]
    with torch.no_grad():
        e = model.embed(x)  # [B, L, D]
    chunk = budget.samples(L, layers=1, states=4)
    with timed("trace", chunks_text(B, chunk)):
        tr = trace_model(model, x, iters, y, chunk=chunk)
    report["trace"] = {"split": st.data, **tr.summary()}
    s_star = tr.final_state  # [B, L, D]
    chunk = budget.samples(L, layers=3, states=4)  # JVPs: primal and tangent activations
    with timed("spectral radius", chunks_text(B, chunk)):
        rho = spectral_radius(model.step, s_star, e, st.jacobian_steps, generator=gen, chunk=chunk)
    chunk = budget.samples(L, layers=4 + budget.depth, states=5)  # the VJP's graph (every layer) beside the JVPs
    with timed("top singular value", chunks_text(B, chunk)):
        sigma = top_singular_value(model.step, s_star, e, max(st.jacobian_steps // 2, 1), generator=gen, chunk=chunk)
    report["reachability"] = {
        "final_residual": stats(tr.residual[:, -1]),
        "spectral_radius": {**stats(rho, below=1.0), "per_sample": [float(v) for v in rho]},
        **report["recall_matrix"],
    }
    grad_iters = st.grad_iters or model.config.iters
    chunk, segment = budget.trajectory(L, grad_iters, B)
    plan = chunks_text(B, chunk) + (f", a state kept every {segment} iterations" if segment < grad_iters else "")
    with timed("state gradient", plan):
        gain = backprop_gain(model.step, e, e, grad_iters, generator=gen, chunk=chunk, segment=segment)
    with timed("parameter gradient", plan):
        pgrad = parameter_grad_norm(model, x, y, grad_iters, chunk=chunk, segment=segment)
    report["geometry"] = {
        "top_singular_value": stats(sigma, below=1.0),
        "grad_iters": grad_iters,
        "state_grad_norm": stats(gain["norm"]),
        "state_grad_gain_per_iter": stats(gain["per_iter"]),
        "param_grad_norm": pgrad,
    }
    chunk = budget.samples(L, layers=1, states=4)
    with timed("sensitivity", chunks_text(B, chunk)):
        sens = input_sensitivity(model.step, e, iters, eps=st.eps, reference=s_star, generator=gen, chunk=chunk)
    n_fp, labels = cluster_states(s_star, st.cluster_tol)
    report["input_dependence"] = {
        "eps": st.eps,
        "sensitivity": stats(sens["sensitivity"]),
        "perturbed_final_residual": stats(sens["residual"]),
        "fixed_points": {"inputs": int(x.shape[0]), "clusters": n_fp, "share": n_fp / x.shape[0],
                         "largest_cluster": int(torch.bincount(labels).max()), "tol": st.cluster_tol},
    }
    chunk = budget.samples(L, layers=1, states=8)
    with timed("paths", chunks_text(B, chunk)):
        starts = default_starts(e, gen)
        report["paths"] = path_independence(
            model.step, e, iters, starts=starts, readout=model.readout,
            reference=("embedding", s_star, tr.residual[:, -1].to(s_star.device)), chunk=chunk)
    chunk = budget.samples(L, layers=1, states=st.max_period + 4)
    with timed("cycles", chunks_text(B, chunk)):
        cyc = detect_cycles(model.step, s_star, e, st.max_period + 2, max_period=st.max_period, tol=st.cycle_tol,
                            chunk=chunk)
    report["cycles"] = {k: cyc[k] for k in ("counts", "fixed_points", "cycles", "unresolved")}
    report["cycles"].update({"after_iters": iters + st.max_period + 2, "tol": st.cycle_tol})

    # --- test-time scaling ----------------------------------------------------------
    if st.scaling:
        from .scaling import difficulty_bands, scaling_grid

        with timed("scaling", "each band's batches cut to the budget"):
            try:
                bands = difficulty_bands(task, samples=st.scaling_samples, seed=st.seed)
                report["scaling"] = scaling_grid(model, bands, iters, batch_size=st.batch_size, budget=budget)
            except DataError as exc:
                report["scaling"] = {"error": str(exc)}
    report["timings_s"] = timings
    report["peak_rss_mib"] = peaks
    return report
