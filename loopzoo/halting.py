"""Halting criteria: when a sample may stop iterating (``solve(..., halt="residual:1e-4")``).

A criterion is made per batch from its argument string and called once per iteration with the
previous state, the new state and (if it asks for them) the logits; it returns a ``[B]`` bool
mask of samples that may stop. Criteria with memory keep it per sample and drop rows with
:meth:`Criterion.keep` when finished samples leave the batch.
"""
from __future__ import annotations

import torch

from .errors import InputError
from .registry import halting


class Criterion:
    """Base class: stateless, needs no logits."""

    needs_logits = False

    def __call__(self, prev: torch.Tensor, s: torch.Tensor, logits: torch.Tensor | None) -> torch.Tensor:
        raise NotImplementedError

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


def make(spec: str) -> Criterion:
    """A criterion from ``"name"`` or ``"name:argument"``, e.g. ``"residual:1e-4"``."""
    if not isinstance(spec, str) or not spec:
        raise InputError(f"halt must be a string such as 'residual:1e-4', got {spec!r}")
    name, _, arg = spec.partition(":")
    return halting.get(name)(arg or None)
