"""Breadth at test time: ``solve(..., breadth=K)`` runs ``K`` trajectories per input in one batch.

Trajectory 0 starts at ``s_0 = e`` (today's run); trajectory ``k >= 1`` at the perturbed start of
restart ``k`` (:meth:`LoopedTransformer.restart_state`: ``e + noise * ||e|| * z``, ``z`` drawn from
``(seed, input index, k)``), so answers do not depend on batching, and breadth ``K`` runs the same
trajectories as ``restarts=K-1``, side by side instead of one after another. All trajectories of an
input stop at the first iteration where one of them verifies (:class:`loopzoo.halting.Grouped`), and
finished inputs leave the batch through the halting loop's compaction.

Which answer is returned (:func:`choose`): a verified one if any trajectory's answer verifies; else
the most common answer among the trajectories not known to fail (among all of them if every one
fails), ties broken by the model's confidence (:meth:`Task.confidence`) of the trajectories that gave it.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from .errors import InputError
from .tasks.base import Verdict

if TYPE_CHECKING:
    from .model import LoopedTransformer, Solution

MAX_BREADTH = 1024  # solve() refuses more trajectories per input than this


def check_noise(value: Any, what: str = "noise") -> float:
    """``value`` as a positive finite float, else :class:`InputError` naming ``what``."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not 0 < float(value) < float("inf"):
        raise InputError(f"{what} must be a positive finite number, got {str(value)[:60]!r}")
    return float(value)


def evaluations(model: Any, solutions: Sequence[Solution]) -> float:
    """Mean block evaluations per input of ``solve(..., return_info=True)``'s ``solutions``: the
    iterations over all runs and trajectories (``Solution.total_iters``) x blocks per iteration
    (the config's ``depth``); the compute that breadth, restarts and halting are compared at."""
    return model.config.depth * float(np.mean([s.total_iters for s in solutions]))


def starts(model: LoopedTransformer, x: torch.Tensor, indices: list[int], breadth: int, seed: int,
           noise: float) -> torch.Tensor:
    """Start states of ``breadth`` trajectories per input (``[B * K, L, D]``, row ``i * K + k``):
    ``e`` for ``k = 0``, restart ``k``'s perturbed start for ``k >= 1``."""
    e = model.embed(x)  # [B, L, D]
    per_k = [e] + [model.restart_state(x, indices, k, seed, noise) for k in range(1, breadth)]  # K x [B, L, D]
    return torch.stack(per_k, dim=1).flatten(0, 1)  # [B * K, L, D]


def choose(answers: list[Any], verdicts: list[Verdict], confidence: list[float]) -> int:
    """Index of the trajectory whose answer is returned (the module's rule): the first verified
    answer; else the most common answer among those not known to fail (all, if every one fails),
    ties broken by the highest confidence of a trajectory giving it."""
    verified = [k for k, v in enumerate(verdicts) if v.verified]
    if verified:
        return verified[0]
    pool = [k for k, v in enumerate(verdicts) if v.verified is not False] or list(range(len(answers)))
    votes = Counter(str(answers[k]) for k in pool)
    return max(pool, key=lambda k: (votes[str(answers[k])], confidence[k]))


def solve_batch(model: LoopedTransformer, x: torch.Tensor, parsed: list[Any], indices: list[int], *, iters: int,
                halt: str | None, compact: bool, check_every: int, breadth: int, seed: int,
                noise: float) -> list[Solution]:
    """One :class:`Solution` per input of the batch ``x [B, L, C]``, from ``breadth`` trajectories each."""
    from . import halting
    from .model import Solution

    task = model.task
    rows = [p for p in parsed for _ in range(breadth)]  # row i * K + k
    criterion = halting.Grouped(halting.make(halt) if halt is not None else None, breadth)
    criterion.bind(task, rows)
    xs = x.repeat_interleave(breadth, dim=0)  # [B * K, L, C]
    states, steps = model.run_halting(xs, iters, criterion, compact=compact, check_every=check_every,
                                      state=starts(model, x, indices, breadth, seed, noise))
    logits = model.readout(states)  # [B * K, L, C]
    answers = task.decode(logits, rows)
    verdicts = [task.verify(p, a) for p, a in zip(rows, answers)]
    confidence = task.confidence(logits).tolist()  # [B * K]
    used = steps.tolist()
    out = []
    for i in range(len(parsed)):
        group = slice(i * breadth, (i + 1) * breadth)
        k = i * breadth + choose(answers[group], verdicts[group], confidence[group])
        out.append(Solution(answers[k], used[k], sum(used[group]), 1, verdicts[k].verified, verdicts[k].reason,
                            trajectories=breadth))
    return out
