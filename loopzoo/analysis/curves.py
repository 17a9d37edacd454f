"""Learning curves of timed runs: exact match against training minutes, from a run's eval records
(``scripts/plot_curves.py``).

The records come from :meth:`loopzoo.runs.RunDir.evaluations`; the decay lines from
:meth:`loopzoo.runs.RunDir.decay_starts`. :func:`table` writes them as Markdown, :func:`plot` as a PNG
(val and hard at 30 iterations and at the run's evaluation horizon; the probe where the run scored one).
"""
from __future__ import annotations

from pathlib import Path

from ..runs import RunDir


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


def curve(run: RunDir, out: Path) -> tuple[str, dict]:
    """Plot ``run``'s learning curve into ``out`` (a PNG); its table of evaluations and what the table
    counts (``{"samples": {split: n}, "clock": ...}``). Raises where the run has no timed evaluations."""
    from ..errors import LoopzooError

    if not (run.path / "metrics.jsonl").is_file():
        raise LoopzooError(f"{run.path} has no metrics.jsonl; train it with scripts/train_zoo.py {run.name} --minutes M")
    evals = run.evaluations(timed=True)
    if not evals:
        raise LoopzooError(f"{run.path} has no timed evaluations yet")
    train = run.saved()["train"]
    horizon = train["eval_iters"]
    decay_minutes = [minutes_at(evals, step) for step in run.decay_starts()]
    samples = {s: evals[-1][s]["samples"] for s in ("val", "test")}
    plot(run.ref, evals, horizon, decay_minutes, samples, out, factor=train.get("decay_factor", 0.1))
    clock = "evaluations excluded" if excludes_evaluation(evals) else "wall time, evaluations included"
    return table(evals, horizon), {"samples": samples, "clock": clock}
