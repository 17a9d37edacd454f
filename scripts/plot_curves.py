#!/usr/bin/env python
"""Learning curves of timed zoo runs: exact match against training minutes, from ``runs/<name>/metrics.jsonl``.

For each name: a PNG in ``docs/curves/<name>.png`` (val and hard, at 30 iterations and at the run's
evaluation horizon) and a Markdown table of every evaluation on stdout.

    python scripts/plot_curves.py sudoku-internal-recall-outernorm chess-internal-recall-outernorm
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from loopzoo.train import metrics
from loopzoo.train.recipe import decay_stages

ROOT = Path(__file__).resolve().parents[1]


def evaluations(run_dir: Path) -> tuple[list[dict], dict]:
    """The eval records of a run, in order, and its train.json."""
    return [r for r in metrics.read(run_dir) if r.get("kind") == "eval" and "train_minutes" in r], \
        json.loads((run_dir / "train.json").read_text())


def decay_starts(run_dir: Path) -> list[int]:
    """Steps at which the run's decay stages began (from its newest checkpoint), in order."""
    newest = sorted((run_dir / "checkpoints").glob("step-*"))
    if not newest:
        return []
    return decay_stages(json.loads((newest[-1] / "trainer.json").read_text()))


def training_minutes(record: dict) -> float:
    """Minutes spent training up to an eval record: its wall minutes less earlier evaluations, where the
    run recorded them (runs before ``eval_minutes`` existed: wall minutes, evaluations included)."""
    return record["train_minutes"] - record.get("eval_minutes", 0.0)


def excludes_evaluation(evals: list[dict]) -> bool:
    return all("eval_minutes" in r for r in evals)


def minutes_at(evals: list[dict], step: int) -> float | None:
    """Training minutes at ``step``, interpolated between the evaluations around it (None past the last)."""
    points = [(r["step"], training_minutes(r)) for r in evals]
    for (s0, m0), (s1, m1) in zip(points, points[1:]):
        if s0 <= step <= s1:
            return m0 if s1 == s0 else m0 + (m1 - m0) * (step - s0) / (s1 - s0)
    return points[0][1] if points and step <= points[0][0] else None


def table(evals: list[dict], horizon: int) -> str:
    """Markdown: per evaluation, val and hard at 30 iterations and at ``horizon``; the probe at ``horizon``
    where the run scored one (it chooses the best model among those tied on val)."""
    probe = all("probe" in r for r in evals)
    head = (f"| minutes | steps | val @30 | val @{horizon} | hard @30 | hard @{horizon} |"
            + (f" probe @{horizon} |" if probe else "") + "\n|---|---|---|---|---|---|" + ("---|" if probe else "") + "\n")
    rows = [f"| {training_minutes(r):.0f} | {r['step']:,} | {r['val']['at']['30']:.1%} | {r['val']['at'][str(horizon)]:.1%} "
            f"| {r['test']['at']['30']:.1%} | {r['test']['at'][str(horizon)]:.1%} |"
            + (f" {r['probe']['at'][str(horizon)]:.1%} |" if probe else "") for r in evals]
    return head + "\n".join(rows)


def plot(name: str, evals: list[dict], horizon: int, decay_minutes: list[float | None], samples: dict, out: Path,
         factor: float = 0.1) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    minutes = [training_minutes(r) for r in evals]
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    for split, label, color in (("val", "val", "tab:blue"), ("test", "hard", "tab:red")):
        for iters, style in ((horizon, "-"), (30, ":")):
            ax.plot(minutes, [100 * r[split]["at"][str(iters)] for r in evals], style, color=color, marker="o",
                    markersize=3, label=f"{label} ({samples[split]}) @ {iters} iters")
    if all("probe" in r for r in evals):
        ax.plot(minutes, [100 * r["probe"]["at"][str(horizon)] for r in evals], "--", color="tab:green", marker="x",
                markersize=3, label=f"probe ({evals[-1]['probe']['samples']}, held out) @ {horizon} iters")
    for stage, at in enumerate(decay_minutes, start=1):
        if at is not None:
            ax.axvline(at, color="grey", linewidth=0.8)
            ax.text(at, 99, f" lr x{factor ** stage:g}", color="grey", fontsize=8, va="top")
    xlabel = "training minutes (CPU, evaluations excluded)" if excludes_evaluation(evals) else "training minutes (CPU)"
    ax.set(xlabel=xlabel, ylabel="exact match (%)", ylim=(0, 100), title=name)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="+")
    parser.add_argument("--runs", type=Path, default=ROOT / "runs")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "curves")
    args = parser.parse_args()
    for name in args.names:
        run_dir = args.runs / name
        if not (run_dir / metrics.FILE).is_file():
            raise SystemExit(f"{run_dir} has no metrics.jsonl; train it with scripts/train_zoo.py {name} --minutes M")
        evals, saved = evaluations(run_dir)
        if not evals:
            raise SystemExit(f"{run_dir} has no timed evaluations yet")
        horizon = saved["train"]["eval_iters"]
        decay_minutes = [minutes_at(evals, step) for step in decay_starts(run_dir)]
        samples = {s: evals[-1][s]["samples"] for s in ("val", "test")}
        plot(name, evals, horizon, decay_minutes, samples, args.out / f"{name}.png",
             factor=saved["train"].get("decay_factor", 0.1))
        clock = "evaluations excluded" if excludes_evaluation(evals) else "wall time, evaluations included"
        print(f"### {name} ({samples['val']} val / {samples['test']} hard items per evaluation; minutes: {clock})\n")
        print(table(evals, horizon) + "\n")
        print(f"plot: {(args.out / f'{name}.png').relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}\n")


if __name__ == "__main__":
    main()
