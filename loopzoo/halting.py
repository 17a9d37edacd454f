"""Halting criteria: when a sample may stop iterating (``solve(..., halt="residual:1e-4")``).

A criterion is made per batch from its argument string, shown the batch's task and parsed
inputs (:meth:`Criterion.bind`), and called once per iteration with the previous state, the new
state and (if it asks for them) the logits; it returns a ``[B]`` bool mask of samples that may
stop. Criteria with memory keep it per sample and drop rows with :meth:`Criterion.keep` when
finished samples leave the batch.
"""
from __future__ import annotations

from typing import Any

import torch

from .errors import InputError
from .registry import halting
from .tasks.base import UNKNOWN, VERIFIED


class Criterion:
    """Base class: stateless, needs no logits."""

    needs_logits = False

    def __call__(self, prev: torch.Tensor, s: torch.Tensor, logits: torch.Tensor | None) -> torch.Tensor:
        raise NotImplementedError

    def bind(self, task: Any, parsed: list[Any]) -> None:
        """Called by ``solve`` before the loop with the task and the batch's parsed inputs."""

    def keep(self, rows: torch.Tensor) -> None:
        """Keep only the rows ``rows`` (indices) of any per-sample memory."""


def _number(name: str, arg: str | None, default: float, cast=float, low: float = 0.0, high: float = float("inf")):
    if arg in (None, ""):
        return default
    try:
        value = cast(arg)
    except ValueError:
        raise InputError(f"halting {name!r}: cannot read {arg!r} as a {cast.__name__}") from None
    if not low < value <= high:
        raise InputError(f"halting {name!r}: {arg} is outside ({low}, {high}]")
    return value


@halting.register("residual")
class Residual(Criterion):
    """Stop when ``||s_t - s_{t-1}|| / ||s_{t-1}||`` falls below a tolerance (default 1e-3)."""

    def __init__(self, arg: str | None = None):
        self.tol = _number("residual", arg, 1e-3)

    def __call__(self, prev, s, logits):
        diff = (s - prev).float().flatten(1).norm(dim=1)
        return diff <= self.tol * prev.float().flatten(1).norm(dim=1)


@halting.register("unchanged")
class Unchanged(Criterion):
    """Stop when the predicted classes have not changed for ``k`` iterations (default 5)."""

    needs_logits = True

    def __init__(self, arg: str | None = None):
        self.k = _number("unchanged", arg, 5, cast=int)
        self.last: torch.Tensor | None = None
        self.streak: torch.Tensor | None = None

    def __call__(self, prev, s, logits):
        pred = logits.argmax(dim=-1)  # [B, L]
        if self.last is None:
            self.streak = torch.zeros(pred.shape[0], dtype=torch.long, device=pred.device)
        else:
            same = (pred == self.last).all(dim=-1)
            self.streak = torch.where(same, self.streak + 1, torch.zeros_like(self.streak))
        self.last = pred
        return self.streak >= self.k

    def keep(self, rows):
        if self.last is not None:
            self.last, self.streak = self.last[rows], self.streak[rows]


@halting.register("confidence")
class Confidence(Criterion):
    """Stop when every position's predicted class has probability >= a threshold (default 0.99)."""

    needs_logits = True

    def __init__(self, arg: str | None = None):
        self.threshold = _number("confidence", arg, 0.99, high=1.0)

    def __call__(self, prev, s, logits):
        return logits.float().softmax(dim=-1).amax(dim=-1).amin(dim=-1) >= self.threshold


@halting.register("valid")
class Valid(Criterion):
    """Stop at the first iteration whose decoded answer verifies (:meth:`Task.verify`).

    ``"valid:SPEC"`` (e.g. ``"valid:residual:1e-3"``) also stops samples whose answer the task
    cannot check when the criterion ``SPEC`` holds; answers known to be wrong keep iterating.
    """

    needs_logits = True

    def __init__(self, arg: str | None = None):
        if arg is not None and arg.partition(":")[0] == "valid":
            raise InputError(f"halting 'valid': its fallback {arg!r} cannot be 'valid' again")
        self.fallback = make(arg) if arg else None
        self.task: Any = None
        self.parsed: list[Any] = []

    def bind(self, task, parsed):
        self.task, self.parsed = task, list(parsed)
        if self.fallback is not None:
            self.fallback.bind(task, parsed)

    def __call__(self, prev, s, logits):
        if self.task is None:
            raise InputError("halting 'valid' needs the batch's inputs: call bind(task, parsed) first (solve does)")
        status = self.task.verify_logits(logits, self.parsed)  # [B] int8
        stop = status == VERIFIED
        if self.fallback is not None:
            stop = stop | ((status == UNKNOWN) & self.fallback(prev, s, logits))
        return stop

    def keep(self, rows):
        self.parsed = [self.parsed[i] for i in rows.tolist()]
        if self.fallback is not None:
            self.fallback.keep(rows)


class Grouped(Criterion):
    """Breadth at test time (``solve(..., breadth=K)``): rows ``i*K .. i*K+K-1`` are the ``K``
    trajectories of input ``i``; all of them stop at the first iteration where one of them (not yet
    stopped) has an answer that verifies, so a finished input leaves the batch at the next compaction.

    ``inner`` (the ``halt`` criterion, or None) may also stop single trajectories; ``"valid"``
    needs no inner check (verified rows stop anyway), so only its fallback is kept, for answers the
    task cannot check. Not registered: ``solve`` builds it.
    """

    needs_logits = True

    def __init__(self, inner: Criterion | None, breadth: int):
        self.unknown_only = isinstance(inner, Valid)  # "valid:SPEC": SPEC applies to unknown verdicts only
        self.inner = inner.fallback if isinstance(inner, Valid) else inner
        self.breadth = breadth
        self.task: Any = None
        self.parsed: list[Any] = []

    def bind(self, task, parsed):
        if len(parsed) % self.breadth:
            raise InputError(f"halting: {len(parsed)} rows are not whole groups of breadth {self.breadth}")
        self.task, self.parsed = task, list(parsed)
        self.group = torch.arange(len(parsed)) // self.breadth  # [R] input of each row
        self.stopped = torch.zeros(len(parsed), dtype=torch.bool)  # [R] rows this criterion has stopped
        self.done = torch.zeros(len(parsed) // self.breadth, dtype=torch.int32)  # [N] inputs with a verified answer
        if self.inner is not None:
            self.inner.bind(task, parsed)

    def __call__(self, prev, s, logits):
        if self.task is None:
            raise InputError("halting: a grouped criterion needs the batch's inputs: call bind(task, parsed) first")
        if self.group.device != logits.device:  # no host sync in the loop: the masks live beside the logits
            self.group, self.stopped, self.done = (t.to(logits.device) for t in (self.group, self.stopped, self.done))
        status = self.task.verify_logits(logits, self.parsed)  # [R] int8
        hit = status == VERIFIED
        if self.inner is not None:
            own = self.inner(prev, s, logits)  # [R]
            hit = hit | (own & (status == UNKNOWN) if self.unknown_only else own)
        fresh = (status == VERIFIED) & ~self.stopped  # a held (stopped) row's later answers are not returned
        self.done = self.done.index_add(0, self.group, fresh.to(torch.int32))  # [N] > 0: a row of the input verified
        hit = hit | (self.done[self.group] > 0)
        self.stopped = self.stopped | hit
        return hit

    def keep(self, rows):
        self.parsed = [self.parsed[i] for i in rows.tolist()]
        self.group, self.stopped = self.group[rows], self.stopped[rows]
        if self.inner is not None:
            self.inner.keep(rows)


def make(spec: str) -> Criterion:
    """A criterion from ``"name"`` or ``"name:argument"``, e.g. ``"residual:1e-4"``."""
    if not isinstance(spec, str) or not spec:
        raise InputError(f"halt must be a string such as 'residual:1e-4', got {spec!r}")
    name, _, arg = spec.partition(":")
    return halting.get(name)(arg or None)
