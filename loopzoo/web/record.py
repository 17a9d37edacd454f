"""One run of a model on one input, kept iteration by iteration for the page.

The answers, confidence and residual come from ``model.solve(..., trace=True, return_info=True)``; the
per-position logits the views need (cell confidence, move scores) come from the model's own
``iterate`` and ``readout``; the iterations halting would use from ``model.solve(..., halt=...)``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ..errors import InputError, LoopzooError
from ..model import LoopedTransformer, check_iters

MAX_ITERS = 1000  # the page keeps every iteration, so it caps them
MAX_VALUES = 2**24  # iterations x positions x classes of logits one recording may keep (64 MiB)


@dataclass
class Recording:
    """What the model showed at each iteration ``t = 1..T`` of one input (index ``t - 1``)."""

    model: str  # the name or directory it was loaded from
    task: Any  # loopzoo.tasks.base.Task
    text: str  # the input as given
    parsed: Any  # task.parse(text)
    answers: list[Any]  # [T] the answer after each iteration
    logits: np.ndarray  # [T, L, C]
    residual: np.ndarray  # [T] ||s_t+1 - s_t|| / ||s_t||
    confidence: np.ndarray  # [T] mean probability of the predicted classes
    expected: str | None = None  # the right answer, when known
    correct: np.ndarray | None = None  # [T] bool: the answer equals ``expected``
    partial: np.ndarray | None = None  # [T] share of output positions right
    halt: str | None = None  # the halting rule asked for
    halted_at: int | None = None  # iterations it would use

    @property
    def iters(self) -> int:
        return len(self.answers)

    def answer(self, t: int) -> Any:
        """The answer after iteration ``t`` (1-based)."""
        return self.answers[self.check_t(t) - 1]

    def check_t(self, t: Any) -> int:
        """``t`` as an iteration number in ``[1, T]``, else :class:`InputError`."""
        try:
            value = int(t)
        except (TypeError, ValueError):
            raise InputError(f"iteration must be a number, got {str(t)[:40]!r}") from None
        if not 1 <= value <= self.iters:
            raise InputError(f"iteration {value} is outside 1..{self.iters}")
        return value


def record(model: LoopedTransformer, text: Any, iters: Any, *, halt: str | None = None,
           expected: str | None = None, name: str = "") -> Recording:
    """Run ``model`` on one input for ``iters`` iterations and keep every iteration.

    Bad input raises the task's :class:`InputError` before any model work. ``expected`` (the
    right answer, when known) adds the correctness curves; ``halt`` (e.g. ``"residual:1e-3"``)
    adds the iterations that rule would use, capped at ``iters``.
    """
    task = model.task
    if not isinstance(text, str) or not text.strip():
        raise InputError(f"type a {task.name} input, e.g. {task.example[:90]}")
    text = text.strip()
    iters = check_iters(iters, "iterations", high=MAX_ITERS)
    parsed = task.parse(text, 0)
    size = task.length(parsed) * iters * task.out_channels
    if size > MAX_VALUES:
        raise InputError(f"{task.length(parsed):,} positions x {iters} iterations is too much for the page, which keeps "
                         f"every iteration (at most {MAX_VALUES:,} values): use fewer iterations or a shorter input")
    halt = None if halt in (None, "", "none") else halt
    if halt is not None:
        from .. import halting

        halting.make(halt)  # a bad rule fails before any model work
    trace = model.solve(text, iters=iters, trace=True, return_info=True, autocast=False).trace
    with torch.inference_mode():
        x = task.encode([parsed]).to(model.device)  # [1, L, C_in]
        logits = np.stack([model.readout(s)[0].float().cpu().numpy() for s in model.iterate(x, iters)])  # [T, L, C]
    rec = Recording(name, task, text, parsed, list(trace.predictions), logits, np.asarray(trace.residual),
                    np.asarray(trace.confidence), halt=halt)
    if expected is not None:
        score(rec, expected)
    if halt is not None:
        rec.halted_at = model.solve(text, iters=iters, halt=halt, return_info=True, autocast=False).iters
    return rec


def score(rec: Recording, expected: str) -> None:
    """Fill ``rec.correct`` and ``rec.partial`` against the right answer ``expected``."""
    rec.expected = str(expected)
    rec.correct = np.array([str(a) == rec.expected for a in rec.answers])
    try:
        targets = rec.task.targets([rec.parsed], [expected])  # [1, L]
    except (LoopzooError, ValueError):  # an answer the task cannot encode: exact match only
        return
    logits = torch.from_numpy(rec.logits)  # [T, L, C]
    rec.partial = rec.task.partial(logits, targets.expand(rec.iters, -1)).numpy()


def verdict(task: Any, parsed: Any, answer: Any) -> str:
    """Whether ``answer`` verifies, in words, from the task's ``verify(parsed, answer)`` if it has one."""
    verify = getattr(task, "verify", None)
    if verify is None:
        return "not available (this task has no verifier)"
    try:
        result = verify(parsed, answer)
    except NotImplementedError:
        return "not available (this task has no verifier)"
    except LoopzooError as exc:
        return f"could not check: {exc}"
    if result is None:
        return "unknown for this task"
    if isinstance(result, (bool, np.bool_)):
        return "verifies" if result else "does not verify"
    return str(result)
