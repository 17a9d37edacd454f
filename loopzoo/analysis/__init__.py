"""Stability analysis of looped models: the paper's fixed-point framework as tools (docs/design.md §6).

Every tool takes a map ``F(s, e) -> s`` acting per sample (a model's ``step`` or any function):

- :mod:`.trace`: per-iteration residual, state norm, changed predictions, confidence, accuracy.
- :mod:`.jacobian`: reachability (spectral radius of ``dF/ds`` by JVP power iteration) and
  geometry (top singular value, gradient norms through ``T`` iterations, ``rho(Wx)``, ``||Wx||``).
- :mod:`.sensitivity`: input-dependence of the fixed point and the number of distinct fixed points.
- :mod:`.paths`: path independence across start states, limit-cycle detection.
- :mod:`.scaling`: accuracy over difficulty x iterations with measured FLOPs.
- :mod:`.report`: :func:`analyze` runs them all on a model; :mod:`.plots` draws PNGs.
- :mod:`.budget`: the memory budget that sizes each phase's chunks of the probe batch, and the
  per-phase time and peak resident memory.

Over many checkpoints and runs (the libraries behind ``scripts/``): :mod:`.claims` checks the paper's
claims and writes the reproduction report; :mod:`.curves` draws a run's learning curve;
:mod:`.breadth`, :mod:`.verified` and :mod:`.speed` measure breadth against depth, verified answers
as test-time scaling, and inference speed against its baselines.

    >>> from loopzoo.analysis import analyze, Settings
    >>> report = analyze(loopzoo.load("runs/ps"), Settings(iters=100))
"""
from __future__ import annotations

from .jacobian import backprop_gain, parameter_grad_norm, recall_matrix, spectral_radius, top_singular_value
from .paths import detect_cycles, path_independence
from .report import Settings, analyze
from .sensitivity import cluster_states, distinct_fixed_points, input_sensitivity
from .trace import RunTrace, overthinking, trace_model, trace_run

__all__ = [
    "RunTrace", "Settings", "analyze", "backprop_gain", "cluster_states", "detect_cycles", "distinct_fixed_points",
    "input_sensitivity", "overthinking", "parameter_grad_norm", "path_independence", "recall_matrix",
    "spectral_radius", "top_singular_value", "trace_model", "trace_run",
]
