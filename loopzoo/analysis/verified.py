"""Verified answers as test-time scaling: fixed iterations vs ``halt="valid"`` vs restarts
(``scripts/bench_verify.py``, docs/verification.md).

For a model and a split, :func:`measure` gives exact-match accuracy (answers equal to the data's) and
block evaluations (iterations x depth, mean per input) of

* fixed iterations: the answer after ``T`` iterations, for every ``T`` of a curve and the cap;
* ``halt="valid"`` with cap ``T``: each input stops at the first iteration whose answer passes
  ``Task.verify``;
* restarts: ``halt="valid"`` with a cap and ``K`` restarts from perturbed starts.

The fixed and ``halt="valid"`` curves come from one pass per split that decodes and checks the
answer at every iteration (:func:`trajectory`); the table's ``halt="valid"`` and restart rows are real
``model.solve(..., return_info=True)`` calls (a note says where the pass and ``solve`` disagree).
:func:`markdown` writes the table (:func:`results_table`: from saved results), :func:`plot` accuracy against block
evaluations (needs matplotlib).
"""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field

import numpy as np
import torch
from tqdm.auto import tqdm

from ..data import load_split
from ..tasks.base import FAILED, UNKNOWN, VERIFIED

SPLIT_NAMES = {"val": "val", "test": "hard"}


@dataclass
class Point:
    """One way of answering a split: accuracy, share verified, mean block evaluations per input."""

    method: str
    accuracy: float
    verified: float
    evaluations: float
    knob: int = 0  # T (cap) or K (restarts)


@dataclass
class Result:
    model: str
    split: str
    n: int
    table: list[Point] = field(default_factory=list)
    fixed: list[Point] = field(default_factory=list)
    valid: list[Point] = field(default_factory=list)
    restarts: list[Point] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def right(answers: list, references: list) -> np.ndarray:
    """``[n]`` bool: each answer equal to the data's, compared as text (grids, bits, UCI moves)."""
    return np.array([str(a) == str(r) for a, r in zip(answers, references)])


@torch.inference_mode()
def trajectory(model, inputs: list, references: list, points: list[int], batch_size: int, autocast: bool):
    """One pass to ``max(points)`` iterations, checking the answer at every iteration.

    Returns ``(correct [P, n], verified [P, n], first [n], first_right [n])``: at each point,
    whether the answer is right and whether it verifies; the first iteration whose answer
    verifies (0: none did) and whether that answer is right.
    """
    task, device = model.task, model.device
    n, last = len(inputs), max(points)
    at = {t: k for k, t in enumerate(points)}
    correct = np.zeros((len(points), n), dtype=bool)
    verified = np.zeros((len(points), n), dtype=bool)
    first = np.zeros(n, dtype=np.int64)
    first_right = np.zeros(n, dtype=bool)
    bar = tqdm(total=n * last, desc="pass", unit="it·ex", disable=None, leave=False)
    for start in range(0, n, batch_size):
        rows = np.arange(start, min(n, start + batch_size))
        parsed = [task.parse(inputs[i], int(i)) for i in rows]
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=autocast):
            x = task.encode(parsed).to(device)
            e = model.embed(x)  # [B, L, D]
            u = model.recall_inputs(e)
            s = e
            for t in range(1, last + 1):
                s = model.step(s, e, u)
                logits = model.readout(s)  # [B, L, C]
                codes = task.verify_logits(logits, parsed).cpu().numpy()  # [B]
                new = np.flatnonzero((codes == VERIFIED) & (first[rows] == 0))
                if len(new):
                    answers = task.decode(logits[new], [parsed[j] for j in new])
                    first[rows[new]] = t
                    first_right[rows[new]] = right(answers, [references[i] for i in rows[new]])
                if t in at:
                    correct[at[t], rows] = right(task.decode(logits, parsed), [references[i] for i in rows])
                    verified[at[t], rows] = codes == VERIFIED
                bar.update(len(rows))
    bar.close()
    return correct, verified, first, first_right


def summary(method: str, solutions: list, references: list, depth: int, knob: int) -> Point:
    """A :class:`Point` of ``solve(..., return_info=True)``'s solutions."""
    return Point(method, float(right([s.answer for s in solutions], references).mean()),
                 float(np.mean([s.verified is True for s in solutions])),
                 float(np.mean([s.total_iters for s in solutions])) * depth, knob)


def measure(model, label: str, split: str, *, n: int, cap: int, curve: list[int], restart_cap: int, ks: list[int],
            restarts: int = 0, length: int | None = None, seed: int = 0, batch_size: int = 256) -> Result:
    """``model`` on ``n`` inputs of ``split``: the fixed and ``halt="valid"`` curves at the caps ``curve`` and
    ``cap``; the table (fixed, ``halt="valid"`` and, with ``restarts``, restarts at ``cap``); the restarts
    curve (``K`` in ``ks`` restarts at ``restart_cap``). ``length``: bits of prefix-sums inputs."""
    task = model.config.task
    options = {"length": length} if task == "prefix-sums" and length else {}
    data = load_split(task, split, n=n, **options)
    inputs, refs = list(data.inputs), list(data.answers)
    depth = model.config.depth
    autocast = model.device.type == "cuda"  # what solve() does by default
    result = Result(label, SPLIT_NAMES.get(split, split), len(inputs))

    points = sorted(set(curve) | {cap})
    t0 = time.perf_counter()
    correct, verified, first, first_right = trajectory(model, inputs, refs, points, batch_size, autocast)
    for k, t in enumerate(points):
        stopped = (first > 0) & (first <= t)
        result.fixed.append(Point(f"{t} iterations", float(correct[k].mean()), float(verified[k].mean()), t * depth, t))
        result.valid.append(Point(f'halt="valid", cap {t}', float(np.where(stopped, first_right, correct[k]).mean()),
                                  float(stopped.mean()), float(np.where(stopped, first, t).mean()) * depth, t))
    print(f"  {label} {split}: pass of {max(points)} iterations over {len(inputs)} inputs in {time.perf_counter() - t0:.0f} s",
          file=sys.stderr)

    solve = dict(batch_size=batch_size, return_info=True, seed=seed)
    fixed_row = result.fixed[points.index(cap)]
    valid_row = summary(f'halt="valid", cap {cap}', model.solve(inputs, iters=cap, halt="valid", **solve),
                        refs, depth, cap)
    derived = result.valid[points.index(cap)]
    if (abs(valid_row.accuracy - derived.accuracy) > 1e-9 or abs(valid_row.evaluations - derived.evaluations) > 1e-9):
        result.notes.append(f"the pass and solve() differ at cap {cap}: accuracy {derived.accuracy:.4f} vs "
                            f"{valid_row.accuracy:.4f}, evaluations {derived.evaluations:.2f} vs {valid_row.evaluations:.2f} "
                            "(numerics of a smaller batch after compaction)")
    result.table = [fixed_row, valid_row]
    if restarts:
        sols = model.solve(inputs, iters=cap, halt="valid", restarts=restarts, **solve)
        result.table.append(summary(f'halt="valid", cap {cap}, {restarts} restarts', sols, refs, depth,
                                    restarts))
    for k in ks:
        sols = model.solve(inputs, iters=restart_cap, halt="valid", restarts=k, **solve)
        result.restarts.append(summary(f'halt="valid", cap {restart_cap}, {k} restarts', sols, refs, depth, k))
    return result


def check_data(task_name: str, split: str, n: int | None) -> str:
    """How the data's own answers fare under ``Task.verify``: a check that fails a right answer would
    make ``halt="valid"`` run past it."""
    from collections import Counter

    from ..registry import tasks

    task = tasks.get(task_name)()
    data = load_split(task_name, split, n=n)
    counts = Counter(task.verify(task.parse(x, i), a).code for i, (x, a) in enumerate(zip(data.inputs, data.answers)))
    return (f"{task_name} {split}: of {len(data)} data answers, {counts[VERIFIED]} pass the check, "
            f"{counts[FAILED]} fail it, {counts[UNKNOWN]} cannot be checked")


LEGEND = ("exact = answers equal to the data's; verified = answers that pass Task.verify; block evaluations = "
          "iterations x depth over all runs; saved = fixed-iteration evaluations / these.")


def markdown(results: list[Result]) -> str:
    """The table rows of every result, with the evaluations saved against the fixed-iteration row."""
    lines = ["| model | split | n | method | exact | verified | block evaluations / input | saved vs fixed |",
             "|---|---|---|---|---|---|---|---|"]
    for r in results:
        base = r.table[0].evaluations
        for p in r.table:
            lines.append(f"| `{r.model}` | {r.split} | {r.n} | {p.method} | {p.accuracy:.1%} | {p.verified:.1%} | "
                         f"{p.evaluations:.1f} | {base / p.evaluations:.2f}x |")
    return "\n".join(lines)


def from_dict(data: dict) -> Result:
    """A :class:`Result` from its ``dataclasses.asdict`` (the script's JSON)."""
    points = {k: [Point(**p) for p in data.get(k, [])] for k in ("table", "fixed", "valid", "restarts")}
    return Result(data["model"], data["split"], data["n"], notes=list(data.get("notes", [])), **points)


def results_table(saved: dict) -> str:
    """docs/verification.md's table, from the results ``scripts/bench_verify.py --write`` saves."""
    return markdown([from_dict(r) for r in saved["results"]])


def plot(results: list[Result], path: str, restart_cap: int) -> None:
    """Accuracy against block evaluations, one panel per model and split, into the PNG ``path``."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    models = list(dict.fromkeys(r.model for r in results))
    splits = list(dict.fromkeys(r.split for r in results))
    fig, axes = plt.subplots(len(models), len(splits), figsize=(5 * len(splits), 3.8 * len(models)), squeeze=False)
    for r in results:
        ax = axes[models.index(r.model)][splits.index(r.split)]
        for points, style, label in ((r.fixed, "o-", "fixed iterations T"), (r.valid, "s-", 'halt="valid", cap T'),
                                     (r.restarts, "^-", f'halt="valid", cap {restart_cap}, K restarts')):
            if not points:
                continue
            ax.plot([p.evaluations for p in points], [p.accuracy for p in points], style, label=label)
            knobs: dict[tuple[float, float], list[str]] = {}  # points that coincide share one label
            for p in points:
                knobs.setdefault((p.evaluations, p.accuracy), []).append(str(p.knob))
            for (x, y), names in knobs.items():
                ax.annotate(("K=" if points is r.restarts else "") + ",".join(names), (x, y),
                            textcoords="offset points", xytext=(3, 3), fontsize=7)
        ax.set_xscale("log")
        ax.xaxis.set_major_locator(matplotlib.ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
        ax.xaxis.set_major_formatter(matplotlib.ticker.ScalarFormatter())
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_title(f"{r.model}\n{r.split} split, {r.n} inputs", fontsize=9)
        ax.set_xlabel("block evaluations per input (mean)")
        ax.set_ylabel("exact match")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    print(f"wrote {path}", file=sys.stderr)
