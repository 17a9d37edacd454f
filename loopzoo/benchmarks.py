"""Public benchmarks: each task's public splits, where a bundled checkpoint is measured beside its card.

Our hard splits are hard by the standard of our own generators; the field compares on public data
(issues 36 and 37): sudoku on the hardest 20% of two public puzzle lists, chess on real Lichess
puzzles. :data:`BENCHMARKS` says, per task, which split of which source, how many items, how an
answer is judged and how the items are grouped; :func:`measure` runs a model on them at one
iteration count and returns the records that a bundle keeps in its ``config.json`` under
``"benchmarks"`` (:func:`loopzoo.bundle.measure_benchmarks`), which its card and the zoo tables
show (:mod:`loopzoo.card`).

A record is measured at fixed depth (one trajectory to ``iters``: the headline, keyed by the
benchmark's name) or with breadth ``K > 1`` (``solve(..., breadth=K, halt="valid")``: ``K``
trajectories per item, all stopping at the first answer that verifies, ``iters`` their cap; keyed
``NAME@breadthK`` beside the fixed-depth record, :func:`key`). Either way it carries the compute:
mean block evaluations per item (:func:`loopzoo.breadth.evaluations`; ``iters x depth`` at fixed
depth). A record::

    {"label", "short", "task", "source", "split", "seed", "samples", "iters", "breadth", "evaluations",
     "metric", "group_by", "data_sha256", "date", "seconds", "loopzoo",
     "overall": {"n", "right", "accuracy"}, "groups": {name: {"n", "right", "accuracy"}},
     ...with breadth K > 1: "halt" ("valid"), "noise", "solve_seed" (solve's seed; "seed" is the sample's),
     ...extras of the judge: "verified", "givens_kept", "cells_right" (sudoku), "alternate_mates" (chess)}

Records measured before breadth was an option lack ``"breadth"`` (read as 1) and ``"evaluations"``.
"""
from __future__ import annotations

import datetime
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import LoopzooError

if TYPE_CHECKING:
    from .data.base import TaskDataset
    from .model import Solution

# (model, data, one Solution per item from solve(..., return_info=True)) -> right per item, extras
Judge = Callable[[Any, "TaskDataset", "list[Solution]"], tuple[list[bool], dict[str, Any]]]
BREADTH_HALT = "valid"  # a breadth record's halting: all K trajectories stop at the first answer that verifies
Grouper = Callable[["Benchmark", "TaskDataset"], dict[str, list[int]]]  # group name -> item indices, in display order


@dataclass(frozen=True)
class Benchmark:
    """One public split that a task's checkpoints are measured on."""

    task: str
    name: str  # the key of its record, e.g. "public-hard"
    label: str  # what the card calls it
    short: str  # what the zoo tables call it
    source: str  # load_split's ``source=``
    judge: Judge
    groups: Grouper
    group_by: str  # what the groups are, e.g. "list", "rating band"
    metric: str = "exact match"
    split: str = "test"
    n: int | None = None  # items measured (None: the whole split); a seeded sample where the source orders by seed
    seed: int = 0

    def load(self) -> TaskDataset:
        """The benchmark's items (:class:`~loopzoo.errors.DataError` where its data are not bundled)."""
        from .data import load_split

        return load_split(self.task, self.split, seed=self.seed, n=self.n, source=self.source)


# --- judges: is each answer right, plus what else is cheap to report -------------------------
def judge_sudoku(model, data: TaskDataset, solutions: list[Solution]) -> tuple[list[bool], dict[str, Any]]:
    """Exact match per puzzle; extras: the verifier's shares, the share of answers that keep every
    given, and the share of cells right."""
    from .bundle import answer_checks

    answers = [str(sol.answer) for sol in solutions]  # 81 digits each
    right = [a == t for a, t in zip(answers, data.answers)]
    cells = sum(sum(x == y for x, y in zip(a, t)) for a, t in zip(answers, data.answers))
    return right, {**answer_checks(model, data.inputs, solutions),
                   "cells_right": round(cells / sum(len(t) for t in data.answers), 4)}


def judge_chess(model, data: TaskDataset, solutions: list[Solution]) -> tuple[list[bool], dict[str, Any]]:
    """First move right per puzzle (the puzzle's move, or another mating move where it mates:
    :func:`loopzoo.tasks.chess_eval.move_right`); extra: how many were right only by that rule."""
    from .tasks.chess_eval import move_right

    moves = [str(sol.answer) for sol in solutions]  # UCI strings
    right = [move_right(fen, move, answer) for fen, move, answer in zip(data.inputs, moves, data.answers)]
    alternate = sum(ok and move != answer for ok, move, answer in zip(right, moves, data.answers))
    return right, {"alternate_mates": alternate}


# --- groupers: the per-group breakdown --------------------------------------------------------
def by_public_list(bench: Benchmark, data: TaskDataset) -> dict[str, list[int]]:
    """Item indices per public sudoku list (``forum-hardest``, ``17-clue``), from each list's own split."""
    from .data import load_split, sudoku_public

    names = list(sudoku_public.LISTS) if bench.source == "public" else [bench.source]
    owner = {q: name for name in names
             for q in load_split("sudoku", bench.split, seed=bench.seed, source=name).inputs}
    groups: dict[str, list[int]] = {name: [] for name in names}
    for i, question in enumerate(data.inputs):
        if question not in owner:
            raise LoopzooError(f"{bench.name}: puzzle {question} is in none of the lists {', '.join(names)}")
        groups[owner[question]].append(i)
    return groups


def by_rating_band(bench: Benchmark, data: TaskDataset) -> dict[str, list[int]]:
    """Item indices per Lichess rating band (:data:`loopzoo.tasks.chess_eval.BANDS`), every band listed."""
    from .tasks.chess_eval import BANDS, band

    if data.ratings is None:
        raise LoopzooError(f"{bench.name}: its data carry no ratings to band by")
    groups: dict[str, list[int]] = {name: [] for name, _, _ in BANDS}
    for i, rating in enumerate(data.ratings):
        groups[band(rating)].append(i)
    return groups


BENCHMARKS: dict[str, tuple[Benchmark, ...]] = {
    "sudoku": (Benchmark(
        "sudoku", "public-hard", "public hard split (the hardest 20% of the forum-hardest and 17-clue lists), seeded sample",
        "public hard", "public", judge_sudoku, by_public_list, "list", n=1000),),
    "chess": (Benchmark(
        "chess", "lichess", "Lichess puzzles, test split (first move; another mating move counts where the puzzle's mates)",
        "Lichess", "lichess", judge_chess, by_rating_band, "rating band", metric="first move right"),),
}


def for_task(task: str) -> tuple[Benchmark, ...]:
    """The public benchmarks of ``task``; :class:`LoopzooError` naming the tasks that have some."""
    if task not in BENCHMARKS:
        raise LoopzooError(f"no public benchmark is registered for task {task!r}; "
                           f"tasks with one: {', '.join(sorted(BENCHMARKS))} (loopzoo.benchmarks.BENCHMARKS)")
    return BENCHMARKS[task]


def _cell(right: Sequence[bool]) -> dict[str, Any]:
    n = len(right)
    return {"n": n, "right": int(sum(right)), "accuracy": round(sum(right) / n, 4) if n else None}


def check_search(breadth: Any, noise: Any, seed: Any) -> tuple[int, float, int]:
    """``(breadth, noise, seed)`` checked as ``solve`` checks them (:class:`~loopzoo.errors.InputError`
    naming a bad one), before any data are loaded."""
    from .breadth import MAX_BREADTH, check_noise
    from .model import check_count, check_iters

    return check_iters(breadth, "breadth", high=MAX_BREADTH), check_noise(noise), check_count(seed, "seed", 2**63 - 1)


def key(bench: Benchmark, breadth: int = 1) -> str:
    """The key of a record: the benchmark's name at fixed depth, ``NAME@breadthK`` with breadth ``K > 1``."""
    return bench.name if breadth == 1 else f"{bench.name}@breadth{breadth}"


def run(bench: Benchmark, model, iters: int, breadth: int = 1, noise: float = 1.0, seed: int = 0) -> dict[str, Any]:
    """The record of one benchmark for ``model`` at ``iters`` (see the module docstring): one
    trajectory to ``iters``, or with ``breadth > 1`` that many per item, stopping at the first
    verified answer (``noise``, ``seed``: the starts of trajectories ``1 .. K-1``, as in ``solve``)."""
    import loopzoo

    from .breadth import evaluations

    breadth, noise, seed = check_search(breadth, noise, seed)
    if model.config.task != bench.task:
        raise LoopzooError(f"{bench.name} is a {bench.task} benchmark; this model solves {model.config.task}")
    t0 = time.perf_counter()
    data = bench.load()
    halt = BREADTH_HALT if breadth > 1 else None
    solutions = model.solve(list(data.inputs), iters=iters, halt=halt, breadth=breadth, noise=noise, seed=seed,
                            return_info=True)
    right, extras = bench.judge(model, data, solutions)
    groups = {name: _cell([right[i] for i in idx]) for name, idx in bench.groups(bench, data).items()}
    search = {"halt": halt, "noise": noise, "solve_seed": seed} if breadth > 1 else {}
    return {
        "label": bench.label, "short": bench.short, "task": bench.task, "source": bench.source, "split": bench.split,
        "seed": bench.seed, "samples": len(data), "iters": iters, "breadth": breadth, **search,
        "evaluations": round(evaluations(model, solutions), 2), "metric": bench.metric, "group_by": bench.group_by,
        "data_sha256": data.data_hash, "date": datetime.datetime.now(datetime.timezone.utc).date().isoformat(),
        "overall": _cell(right), "groups": groups, "group_order": list(groups), **extras,
        "seconds": round(time.perf_counter() - t0, 1), "loopzoo": loopzoo.__version__,
    }


def measure(model, iters: int | None = None, names: Sequence[str] | None = None, breadth: int = 1,
            noise: float = 1.0, seed: int = 0) -> dict[str, dict[str, Any]]:
    """Records of ``model`` on its task's public benchmarks (``names``: only those), at ``iters``
    (default: the model's recommended iterations), with ``breadth`` trajectories per item (:func:`run`),
    keyed by :func:`key`."""
    breadth, noise, seed = check_search(breadth, noise, seed)
    benches = for_task(model.config.task)
    if names is not None:
        known = {b.name for b in benches}
        unknown = [n for n in names if n not in known]
        if unknown:
            raise LoopzooError(f"unknown {model.config.task} benchmark(s) {', '.join(map(repr, unknown))}; "
                               f"choose from {', '.join(sorted(known))}")
        benches = tuple(b for b in benches if b.name in names)
    iters = iters or model.config.iters
    return {key(b, breadth): run(b, model, iters, breadth, noise, seed) for b in benches}
