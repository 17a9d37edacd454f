"""The page's curves against iteration: residual, confidence and (when the answer is known)
correctness, with the iteration where halting would stop marked. Needs matplotlib."""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from .record import Recording


def figure(rec: Recording) -> Figure:
    """Three panels side by side; a plain ``Figure`` (no pyplot state), safe in server threads."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10.5, 2.8), layout="constrained")
    residual, confidence, correct = fig.subplots(1, 3, sharex=True)
    t = np.arange(1, rec.iters + 1)
    residual.semilogy(t, np.clip(rec.residual, 1e-12, None), color="#2563eb")
    residual.set_title(r"residual $\|s_{t+1}-s_t\|\,/\,\|s_t\|$", fontsize=10)
    confidence.plot(t, rec.confidence, color="#7c3aed")
    confidence.set_ylim(0, 1.02)
    confidence.set_title("confidence (mean top probability)", fontsize=10)
    if rec.correct is not None:
        correct.step(t, rec.correct.astype(float), where="mid", color="#15803d", label="answer right")
        if rec.partial is not None:
            correct.plot(t, rec.partial, color="#f59e0b", label=rec.task.partial_name)
        correct.set_ylim(-0.02, 1.02)
        correct.legend(fontsize=8, loc="lower right")
        correct.set_title("correctness", fontsize=10)
    else:
        correct.text(0.5, 0.5, "answer not known\n(pick an example to see it)", ha="center", va="center",
                     transform=correct.transAxes, color="#64748b")
        correct.set_yticks([])
        correct.set_title("correctness", fontsize=10)
    for ax in (residual, confidence, correct):
        ax.set_xlabel("iteration", fontsize=9)
        ax.tick_params(labelsize=8)
        ax.grid(alpha=0.3)
        if rec.halted_at is not None:
            ax.axvline(rec.halted_at, color="#dc2626", linestyle="--", linewidth=1)
    if rec.halted_at is not None:
        residual.annotate(f"{rec.halt} stops", (rec.halted_at, 1), xycoords=("data", "axes fraction"),
                          xytext=(3, -12), textcoords="offset points", fontsize=8, color="#dc2626")
    return fig
