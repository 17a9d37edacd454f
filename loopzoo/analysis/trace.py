"""Per-iteration trace of a looped run: residual, state norm, changed predictions, confidence,
accuracy. Batched tensors, one pass, memory independent of the number of iterations."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from .budget import spans
from .jacobian import StepFn, sample_norm


@dataclass
class RunTrace:
    """What happened at each iteration ``t = 1..T`` of a batch of ``B`` runs.

    ``residual[b, t] = ||s_{t+1} - s_t|| / ||s_t||`` (index ``t`` = iteration ``t + 1``, compared
    with the state before it); ``changed[t]`` the share of samples whose predicted answer (argmax
    at every position) differs from the previous iteration's (iteration 1 is compared with the
    readout of ``s_0``); ``changed_tokens[t]`` the same per output position.
    """

    residual: torch.Tensor  # [B, T]
    state_norm: torch.Tensor  # [B, T]
    changed: torch.Tensor | None  # [T]
    changed_tokens: torch.Tensor | None  # [T]
    confidence: torch.Tensor | None  # [T] mean over samples
    accuracy: torch.Tensor | None  # [T]
    final_state: torch.Tensor  # [B, ...]

    @property
    def iters(self) -> int:
        return self.residual.shape[1]

    def summary(self, points: tuple[int, ...] = (1, 10, 30, 100, 300, 500)) -> dict[str, Any]:
        """Plain-float summary: curves (mean over samples) at every iteration, and key values."""
        out: dict[str, Any] = {
            "iters": self.iters,
            "samples": int(self.residual.shape[0]),
            "residual_mean": _floats(self.residual.mean(0)),
            "residual_median": _floats(self.residual.median(0).values),
            "state_norm_mean": _floats(self.state_norm.mean(0)),
            "final_residual_median": float(self.residual[:, -1].median()),
            "final_residual_max": float(self.residual[:, -1].max()),
            "state_norm_ratio": float((self.state_norm[:, -1] / self.state_norm[:, 0].clamp_min(1e-30)).mean()),
        }
        for name in ("changed", "changed_tokens", "confidence", "accuracy"):
            value = getattr(self, name)
            if value is not None:
                out[name] = _floats(value)
        if self.accuracy is not None:
            out.update(overthinking(self.accuracy))
        out["at"] = {str(t): {"residual_median": float(self.residual[:, t - 1].median()),
                              **({"accuracy": float(self.accuracy[t - 1])} if self.accuracy is not None else {})}
                     for t in points if t <= self.iters}
        return out


def _floats(t: torch.Tensor) -> list[float]:
    return [float(v) for v in t.detach().double().cpu()]


def overthinking(accuracy: torch.Tensor | Any) -> dict[str, float | int]:
    """``{"final", "best", "best_iter", "overthinking"}`` of an accuracy curve ``[T]`` (iteration
    ``t`` at index ``t - 1``); overthinking = best over iterations minus final accuracy."""
    acc = torch.as_tensor(accuracy, dtype=torch.float64)
    best_iter = int(acc.argmax()) + 1
    return {"final": float(acc[-1]), "best": float(acc.max()), "best_iter": best_iter,
            "overthinking": float(acc.max() - acc[-1])}


@torch.no_grad()
def trace_run(F: StepFn, s0: torch.Tensor, e: torch.Tensor, iters: int, *,
              readout: Callable[[torch.Tensor], torch.Tensor] | None = None,
              targets: torch.Tensor | None = None,
              correct: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
              confidence: Callable[[torch.Tensor], torch.Tensor] | None = None,
              chunk: int | None = None) -> RunTrace:
    """Iterate ``s_{t+1} = F(s_t, e)`` from ``s0`` for ``iters`` steps and record the trace.

    ``readout(s) -> logits [B, L, C]`` enables ``changed``; with ``confidence(logits) -> [B]``
    the mean confidence; with ``targets`` and ``correct(logits, targets) -> [B] bool`` accuracy.
    ``chunk`` samples run at a time; the means over samples are then weighted by chunk size.
    """
    parts = spans(s0.shape[0], chunk)
    if len(parts) > 1:
        runs = [trace_run(F, s0[p], e[p], iters, readout=readout, correct=correct, confidence=confidence,
                          targets=None if targets is None else targets[p]) for p in parts]
        return _merge(runs)
    B = s0.shape[0]
    residual = torch.empty(B, iters, dtype=torch.float64)
    norms = torch.empty(B, iters, dtype=torch.float64)
    changed = torch.empty(iters, dtype=torch.float64) if readout is not None else None
    changed_tokens = torch.empty(iters, dtype=torch.float64) if readout is not None else None
    conf = torch.empty(iters, dtype=torch.float64) if readout is not None and confidence is not None else None
    acc = torch.empty(iters, dtype=torch.float64) if readout is not None and targets is not None and correct else None
    s = s0
    prev_pred = readout(s).argmax(-1) if readout is not None else None  # [B, L]
    for t in range(iters):
        nxt = F(s, e)
        residual[:, t] = (sample_norm((nxt - s).float()) / sample_norm(s.float()).clamp_min(1e-30)).double().cpu()
        norms[:, t] = sample_norm(nxt.float()).double().cpu()
        s = nxt
        if readout is not None:
            logits = readout(s)  # [B, L, C]
            pred = logits.argmax(-1)
            diff = pred != prev_pred
            changed[t] = float(diff.flatten(1).any(1).double().mean())
            changed_tokens[t] = float(diff.double().mean())
            prev_pred = pred
            if conf is not None:
                conf[t] = float(confidence(logits).double().mean())
            if acc is not None:
                acc[t] = float(correct(logits, targets).double().mean())
    return RunTrace(residual, norms, changed, changed_tokens, conf, acc, s)


def _merge(runs: list[RunTrace]) -> RunTrace:
    """One trace of the runs of consecutive chunks of a batch (per-sample rows concatenated,
    means over samples weighted by each chunk's size)."""
    n = torch.tensor([r.residual.shape[0] for r in runs], dtype=torch.float64)  # [chunks]

    def mean(name: str) -> torch.Tensor | None:
        if getattr(runs[0], name) is None:
            return None
        return (torch.stack([getattr(r, name) for r in runs]) * n[:, None]).sum(0) / n.sum()  # [T]

    return RunTrace(torch.cat([r.residual for r in runs]), torch.cat([r.state_norm for r in runs]),
                    mean("changed"), mean("changed_tokens"), mean("confidence"), mean("accuracy"),
                    torch.cat([r.final_state for r in runs]))


def trace_model(model, x: torch.Tensor, iters: int, y: torch.Tensor | None = None,
                state: torch.Tensor | None = None, *, chunk: int | None = None) -> RunTrace:
    """:func:`trace_run` of a :class:`~loopzoo.model.LoopedTransformer` on inputs ``x [B, ...]``
    from ``s_0 = e`` (or ``state``), with accuracy when targets ``y [B, L]`` are given."""
    with torch.no_grad():
        e = model.embed(x)  # [B, L, D]
    return trace_run(model.step, e if state is None else state, e, iters, readout=model.readout,
                     targets=y, correct=model.task.correct, confidence=model.task.confidence, chunk=chunk)
