#!/usr/bin/env python
"""Verified answers as test-time scaling: fixed iterations vs ``halt="valid"`` vs restarts.

For each model and split, measures exact-match accuracy (answers equal to the data's) and block
evaluations (iterations x depth, mean per input) of

* fixed iterations: the answer after ``T`` iterations, for every ``T`` in ``--curve`` and ``--cap``;
* ``halt="valid"`` with cap ``T``: each input stops at the first iteration whose answer passes
  ``Task.verify``;
* restarts: ``halt="valid"`` with cap ``--restart-cap`` and ``K`` restarts from perturbed starts,
  for every ``K`` in ``--ks``, and ``--restarts`` at ``--cap`` for the table.

The fixed and ``halt="valid"`` curves come from one pass per split that decodes and checks the
answer at every iteration; the table's ``halt="valid"`` and restart rows are real
``model.solve(..., return_info=True)`` calls (the script says if the pass and ``solve`` disagree).
Prints a markdown table (``--markdown FILE`` writes it) and plots accuracy against block
evaluations (``--plot FILE``, needs matplotlib).

    python scripts/bench_verify.py sudoku-internal-recall-outernorm chess-internal-recall-outernorm \\
        --splits val test --n 500 --cap 500 --plot docs/verify_scaling.png --markdown verify_table.md
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
from tqdm.auto import tqdm

import loopzoo
from loopzoo.data import load_split
from loopzoo.names import FLAGSHIPS
from loopzoo.tasks.base import FAILED, UNKNOWN, VERIFIED

VERIFIABLE = tuple(name for name in FLAGSHIPS if not name.startswith("prefix-sums"))  # tasks with a checker
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
    return Point(method, float(right([s.answer for s in solutions], references).mean()),
                 float(np.mean([s.verified is True for s in solutions])),
                 float(np.mean([s.total_iters for s in solutions])) * depth, knob)


def measure(model, label: str, split: str, args) -> Result:
    task = model.config.task
    options = {"length": args.length} if task == "prefix-sums" and args.length else {}
    data = load_split(task, split, n=args.n, **options)
    inputs, refs = list(data.inputs), list(data.answers)
    depth = model.config.depth
    autocast = model.device.type == "cuda"  # what solve() does by default
    result = Result(label, SPLIT_NAMES.get(split, split), len(inputs))

    points = sorted(set(args.curve) | {args.cap})
    t0 = time.perf_counter()
    correct, verified, first, first_right = trajectory(model, inputs, refs, points, args.batch_size, autocast)
    for k, t in enumerate(points):
        stopped = (first > 0) & (first <= t)
        result.fixed.append(Point(f"{t} iterations", float(correct[k].mean()), float(verified[k].mean()), t * depth, t))
        result.valid.append(Point(f'halt="valid", cap {t}', float(np.where(stopped, first_right, correct[k]).mean()),
                                  float(stopped.mean()), float(np.where(stopped, first, t).mean()) * depth, t))
    print(f"  {label} {split}: pass of {max(points)} iterations over {len(inputs)} inputs in {time.perf_counter() - t0:.0f} s",
          file=sys.stderr)

    solve = dict(batch_size=args.batch_size, return_info=True, seed=args.seed)
    fixed_row = result.fixed[points.index(args.cap)]
    valid_row = summary(f'halt="valid", cap {args.cap}', model.solve(inputs, iters=args.cap, halt="valid", **solve),
                        refs, depth, args.cap)
    derived = result.valid[points.index(args.cap)]
    if (abs(valid_row.accuracy - derived.accuracy) > 1e-9 or abs(valid_row.evaluations - derived.evaluations) > 1e-9):
        result.notes.append(f"the pass and solve() differ at cap {args.cap}: accuracy {derived.accuracy:.4f} vs "
                            f"{valid_row.accuracy:.4f}, evaluations {derived.evaluations:.2f} vs {valid_row.evaluations:.2f} "
                            "(numerics of a smaller batch after compaction)")
    result.table = [fixed_row, valid_row]
    if args.restarts:
        sols = model.solve(inputs, iters=args.cap, halt="valid", restarts=args.restarts, **solve)
        result.table.append(summary(f'halt="valid", cap {args.cap}, {args.restarts} restarts', sols, refs, depth,
                                    args.restarts))
    for k in args.ks:
        sols = model.solve(inputs, iters=args.restart_cap, halt="valid", restarts=k, **solve)
        result.restarts.append(summary(f'halt="valid", cap {args.restart_cap}, {k} restarts', sols, refs, depth, k))
    return result


def check_data(task_name: str, split: str, n: int | None) -> str:
    """How the data's own answers fare under ``Task.verify``: a check that fails a right answer would
    make ``halt="valid"`` run past it."""
    from collections import Counter

    from loopzoo.registry import tasks

    task = tasks.get(task_name)()
    data = load_split(task_name, split, n=n)
    counts = Counter(task.verify(task.parse(x, i), a).code for i, (x, a) in enumerate(zip(data.inputs, data.answers)))
    return (f"{task_name} {split}: of {len(data)} data answers, {counts[VERIFIED]} pass the check, "
            f"{counts[FAILED]} fail it, {counts[UNKNOWN]} cannot be checked")


def markdown(results: list[Result]) -> str:
    lines = ["| model | split | n | method | exact | verified | block evaluations / input | saved vs fixed |",
             "|---|---|---|---|---|---|---|---|"]
    for r in results:
        base = r.table[0].evaluations
        for p in r.table:
            lines.append(f"| `{r.model}` | {r.split} | {r.n} | {p.method} | {p.accuracy:.1%} | {p.verified:.1%} | "
                         f"{p.evaluations:.1f} | {base / p.evaluations:.2f}x |")
    return "\n".join(lines)


def plot(results: list[Result], path: str, restart_cap: int) -> None:
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="*", default=list(VERIFIABLE), help="model names or checkpoint directories")
    parser.add_argument("--splits", nargs="+", default=["val", "test"], help="data splits (test = the hard split)")
    parser.add_argument("--n", type=int, default=None, help="inputs per split (default 500; --check-data: all)")
    parser.add_argument("--cap", type=int, default=500, help="iteration cap of the table's rows")
    parser.add_argument("--restarts", type=int, default=2, help="restarts of the table's restart row (0: no such row)")
    parser.add_argument("--curve", nargs="+", type=int, default=[10, 30, 100, 200, 500],
                        help="caps T of the fixed and halt='valid' curves")
    parser.add_argument("--restart-cap", type=int, default=100, help="cap of each run on the restarts curve")
    parser.add_argument("--ks", nargs="+", type=int, default=[0, 1, 2, 4], help="restart counts K on the restarts curve")
    parser.add_argument("--length", type=int, default=None, help="bits of prefix-sums inputs (default: the split's)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the restarts' start states")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--device", default=None, help="cpu, cuda ... (default: cpu)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--plot", metavar="PNG", help="write accuracy against block evaluations here")
    parser.add_argument("--markdown", metavar="FILE", help="write the table here")
    parser.add_argument("--json", metavar="FILE", help="write every measured point here")
    parser.add_argument("--check-data", action="store_true",
                        help="only check the data's own answers with Task.verify (all of each split without --n)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.check_data:
        for task in dict.fromkeys(loopzoo.config_for(m).task if m in loopzoo.list_models() else loopzoo.load(m).config.task
                                  for m in args.models):
            for split in args.splits:
                print(check_data(task, split, args.n))
        return 0
    args.n = args.n or 500
    results = []
    for name in args.models:
        model = loopzoo.load(name, device=args.device).eval()
        label = model.config.name or name
        print(f"{label}: width {model.config.width}, depth {model.config.depth}, task {model.config.task}", file=sys.stderr)
        for split in args.splits:
            results.append(measure(model, label, split, args))
    table = markdown(results)
    print(table)
    for r in results:
        for note in r.notes:
            print(f"note ({r.model}, {r.split}): {note}")
    print("\nexact = answers equal to the data's; verified = answers that pass Task.verify; block evaluations = "
          "iterations x depth over all runs; saved = fixed-iteration evaluations / these.")
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(table + "\n")
    if args.json:
        with open(args.json, "w") as f:
            json.dump([asdict(r) for r in results], f, indent=1)
    if args.plot:
        plot(results, args.plot, args.restart_cap)
    return 0


if __name__ == "__main__":
    sys.exit(main())
