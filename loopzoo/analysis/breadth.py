"""Breadth against depth at equal compute (``scripts/bench_breadth.py``, docs/verification.md).

For a task whose answers verify exactly (sudoku with a unique solution: valid = right), one pass
gives a whole depth x breadth grid: :func:`first_passes` runs ``K`` trajectories per input (the
starts of ``solve(..., breadth=K)``) each halted alone at its first verified answer, and records
that iteration. ``solve(breadth=k, halt="valid", iters=D)`` solves an input iff one of its first
``k`` trajectories passes by ``D``, at ``k x`` the earliest such iteration (:func:`breadth_point`);
``solve(restarts=k-1, halt="valid", iters=D)`` runs the same trajectories one after another and
stops at the first that passes (:func:`restarts_point`). The script checks some cells against
real ``solve`` calls. :func:`grid_table` and :func:`solve_table` render docs/verification.md's two breadth
tables from the points the script saves (:mod:`loopzoo.docs_tables`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from .. import breadth, halting


@dataclass(frozen=True)
class Point:
    """One way of answering: exact match, mean block evaluations per input (iterations x depth)."""

    method: str  # "breadth" or "restarts"
    depth: int  # iteration cap per trajectory
    k: int  # trajectories per input (restarts: 1 + restarts)
    accuracy: float
    evaluations: float


@torch.inference_mode()
def first_passes(model: Any, inputs: list[Any], references: list[Any], cap: int, k: int, *, seed: int = 0,
                 noise: float = 1.0, batch_size: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """``(first [n, K], right [n, K])``: the first iteration (``<= cap``) each trajectory's answer
    verifies, 0 where it never does; whether that answer equals the reference."""
    task = model.task
    first = np.zeros((len(inputs), k), dtype=np.int64)
    right = np.zeros((len(inputs), k), dtype=bool)
    for lo in range(0, len(inputs), batch_size):
        idx = list(range(lo, min(lo + batch_size, len(inputs))))
        parsed = [task.parse(inputs[i], i) for i in idx]
        x = task.encode(parsed).to(model.device)  # [B, L, C]
        rows = [p for p in parsed for _ in range(k)]  # row b * K + j
        criterion = halting.make("valid")
        criterion.bind(task, rows)
        states, steps = model.run_halting(x.repeat_interleave(k, dim=0), cap, criterion,
                                          state=breadth.starts(model, x, idx, k, seed, noise))
        answers = task.decode(model.readout(states), rows)
        for r, (p, answer, n) in enumerate(zip(rows, answers, steps.tolist())):
            b, j = divmod(r, k)
            if task.verify(p, answer).verified:
                first[lo + b, j] = n
                right[lo + b, j] = str(answer) == str(references[lo + b])
    return first, right


def breadth_point(first: np.ndarray, right: np.ndarray, depth: int, k: int, layers: int = 1) -> Point:
    """``solve(breadth=k, halt="valid", iters=depth)`` from :func:`first_passes`: all ``k``
    trajectories stop at the earliest pass by ``depth`` (its answer is returned)."""
    hit = np.where((first[:, :k] > 0) & (first[:, :k] <= depth), first[:, :k], np.iinfo(np.int64).max)  # [n, k]
    earliest = hit.argmin(axis=1)  # [n] the first trajectory to pass (the lowest index among ties)
    passed = hit.min(axis=1) <= depth
    ok = passed & right[np.arange(len(first)), earliest]
    cost = k * np.where(passed, hit.min(axis=1), depth)
    return Point("breadth", depth, k, float(ok.mean()), layers * float(cost.mean()))


def restarts_point(first: np.ndarray, right: np.ndarray, depth: int, k: int, layers: int = 1) -> Point:
    """``solve(restarts=k-1, halt="valid", iters=depth)`` from :func:`first_passes`: trajectories
    ``0 .. k-1`` one after another, stopping at the first that passes by ``depth``."""
    acc, cost = [], []
    for f, r in zip(first[:, :k], right[:, :k]):
        passes = np.flatnonzero((f > 0) & (f <= depth))
        j = passes[0] if len(passes) else k - 1
        acc.append(bool(len(passes)) and bool(r[j]))
        cost.append(depth * j + (f[j] if len(passes) else depth))
    return Point("restarts", depth, k, float(np.mean(acc)), layers * float(np.mean(cost)))


def grid(first: np.ndarray, right: np.ndarray, depths: list[int], ks: list[int], layers: int = 1) -> list[Point]:
    """Breadth and restarts at every ``(depth, k)``; restarts at ``k`` use ``k - 1`` restarts.
    ``layers``: blocks per iteration (the config's ``depth``), so evaluations = iterations x layers."""
    return [point(first, right, d, k, layers) for point in (breadth_point, restarts_point) for d in depths for k in ks]


def solve_point(model: Any, inputs: list[Any], references: list[Any], method: str, depth: int, k: int, *,
                seed: int = 0, noise: float = 1.0, batch_size: int = 64) -> Point:
    """A real ``solve(..., halt="valid", iters=depth, return_info=True)`` call with ``breadth=k``
    (``method="breadth"``) or ``restarts=k-1``: exact match and mean block evaluations."""
    knob = {"breadth": k, "noise": noise} if method == "breadth" else {"restarts": k - 1, "noise": noise}
    sols = model.solve(list(inputs), iters=depth, halt="valid", seed=seed, batch_size=batch_size, return_info=True,
                       **knob)
    ok = [str(s.answer) == str(r) for s, r in zip(sols, references)]
    return Point(method, depth, k, float(np.mean(ok)), breadth.evaluations(model, sols))


def plot(points: list[Point], path: str, title: str) -> None:
    """Exact match against block evaluations per input, one line per depth and method (needs matplotlib)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    depths = sorted({p.depth for p in points})
    colors = dict(zip(depths, plt.rcParams["axes.prop_cycle"].by_key()["color"]))
    for method, style in (("breadth", "-o"), ("restarts", "--s")):
        for d in depths:
            line = sorted((p for p in points if p.method == method and p.depth == d), key=lambda p: p.k)
            if not line:
                continue
            ax.plot([p.evaluations for p in line], [100 * p.accuracy for p in line], style, color=colors[d],
                    label=f"{method}, depth {d}")
            for p in line if method == "breadth" else ():  # restarts lie on the same K: label once
                ax.annotate(f"{p.k}", (p.evaluations, 100 * p.accuracy), textcoords="offset points", xytext=(3, 3),
                            fontsize=7, color=colors[d])
    ax.set_xscale("log")
    ax.set_xlabel("block evaluations per input (mean)")
    ax.set_ylabel("exact match (%)")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _exact(accuracy: float, n: int) -> str:
    return f"{100 * accuracy:.1f}% ({round(accuracy * n)}/{n})"


def grid_table(saved: dict) -> str:
    """docs/verification.md's sudoku table: per cap and ``K``, breadth and restarts side by side (the points
    ``scripts/bench_breadth.py --mode grid --write`` saves: ``n`` and ``points`` of both methods)."""
    n, points = saved["n"], saved["points"]
    restarts = {(p["depth"], p["k"]): p for p in points if p["method"] == "restarts"}
    lines = ["| cap (iterations) | trajectories `K` | breadth: exact | block evaluations / puzzle | restarts `K-1`: exact "
             "| block evaluations / puzzle |", "|---|---|---|---|---|---|"]
    for p in (p for p in points if p["method"] == "breadth"):
        r = restarts.get((p["depth"], p["k"]))
        tail = f"{100 * r['accuracy']:.1f}% | {r['evaluations']:.1f}" if r else "- | -"
        lines.append(f"| {p['depth']} | {p['k']} | {_exact(p['accuracy'], n)} | {p['evaluations']:.1f} | {tail} |")
    return "\n".join(lines)


def solve_table(saved: dict) -> str:
    """docs/verification.md's chess table: one row per cap, ``K`` and noise (the points
    ``scripts/bench_breadth.py --mode solve --write`` saves; noise is left blank for ``K = 1``)."""
    lines = ["| cap (iterations) | trajectories `K` | noise | exact | block evaluations / puzzle |", "|---|---|---|---|---|"]
    for p in sorted(saved["points"], key=lambda p: p["depth"]):
        noise = "" if p.get("noise") is None else f" {p['noise']}"
        lines.append(f"| {p['depth']} | {p['k']} |{noise} | {_exact(p['accuracy'], saved['n'])} | {p['evaluations']:.1f} |")
    return "\n".join(lines)
