"""Sudoku data: seeded generation of rated unique puzzles, the sudoku-extreme CSV, the splits.

Puzzle ``i`` of seed ``s`` depends on ``(s, i)`` only, so generation is reproducible bit for
bit, resumable, and parallel. Rating = backtracks of the fixed rating solver
(:func:`loopzoo.data.sudoku_solver.rate`). Splits follow the paper (docs/design.md §5): train/val below
the 80th percentile of rating, test at or above it; on generated sets fewer givens break ties.
"""
from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from ..errors import DataError
from ..registry import datasets
from . import bundled, sudoku_solver
from .base import TaskDataset, cached_read, check_split, paper_split
from .formats import read_csv

HEADER = ("question", "answer", "rating")  # sudoku-extreme's columns (it also has ``source``)
HARD_PERCENTILE = 80.0


def make_item(seed: int, index: int) -> tuple[str, str, int]:
    """``(question, answer, rating)`` of puzzle ``index`` of ``seed``; blanks are ``.``."""
    rng = random.Random(f"loopzoo-sudoku:{seed}:{index}")
    puzzle, solution = sudoku_solver.generate(rng)
    backtracks, _, unique = sudoku_solver.rate(puzzle)
    assert unique == solution, "generator produced a puzzle without a unique solution"
    question = "".join(str(d) if d else "." for d in puzzle)
    return question, "".join(map(str, solution)), backtracks


def _make(args: tuple[int, int]) -> tuple[str, str, int]:
    return make_item(*args)


def generate(n: int, seed: int, start: int = 0, workers: int = 1) -> Iterator[tuple[str, str, int]]:
    """Rows ``start .. start+n-1`` of ``seed``, in order, computed by ``workers`` processes."""
    jobs = ((seed, i) for i in range(start, start + n))
    if workers <= 1:
        yield from map(_make, jobs)
        return
    import multiprocessing as mp

    with mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn").Pool(workers) as pool:
        yield from pool.imap(_make, jobs, chunksize=32)


# --- checking -----------------------------------------------------------------------------
def _digits(text: str, blanks: bool) -> list[int] | None:
    if len(text) != 81:
        return None
    allowed = "0123456789." if blanks else "123456789"
    if any(ch not in allowed for ch in text):
        return None
    return [0 if ch == "." else int(ch) for ch in text]


def check_row(question: str, answer: str) -> str | None:
    """The problem with a (question, answer) pair, or None: solution valid and matches the givens."""
    q = _digits(question.strip(), blanks=True)
    if q is None:
        return f"question must be 81 characters of 1-9 and '.' or '0', got {question[:90]!r}"
    a = _digits(answer.strip(), blanks=False)
    if a is None:
        return f"answer must be 81 digits 1-9, got {answer[:90]!r}"
    for unit_no, unit in enumerate(sudoku_solver.UNITS):
        if sorted(a[i] for i in unit) != list(range(1, 10)):
            kind = ("row", "column", "box")[unit_no // 9]
            return f"the answer is not a valid sudoku: {kind} {unit_no % 9 + 1} repeats a digit"
    for i, (g, s) in enumerate(zip(q, a)):
        if g and g != s:
            return f"the answer contradicts the given {g} at row {i // 9 + 1}, column {i % 9 + 1}"
    return None


def read(path: str | Path, limit: int | None = None, progress: bool = False) -> tuple[list[str], list[str], list[float]]:
    """``(questions, answers, ratings)`` of a sudoku-extreme style CSV, every row checked.

    Questions are normalised to ``.`` for blanks. Raises :class:`DataError` naming the line.
    """
    questions, answers, ratings = [], [], []
    for line, row in read_csv(path, HEADER, progress):
        problem = check_row(row["question"], row["answer"])
        if problem is None:
            try:
                rating = float(row["rating"])
            except ValueError:
                problem = f"rating must be a number, got {row['rating']!r}"
            else:
                if not np.isfinite(rating):
                    problem = f"rating must be finite, got {row['rating']!r}"
        if problem:
            raise DataError(f"{path}, line {line}: {problem}")
        questions.append(row["question"].strip().replace("0", "."))
        answers.append(row["answer"].strip())
        ratings.append(rating)
        if limit is not None and len(questions) >= limit:
            break
    if not questions:
        raise DataError(f"{path}: no puzzles in the file")
    return questions, answers, ratings


def read_paper_split(path: str | Path, progress: bool = False) -> tuple[list[str], list[str], list[float], np.ndarray]:
    """The rows the paper's split uses from a sudoku-extreme CSV of any size, and their hard mask.

    Pass 1 reads every rating (each checked to be a number) for the 80th percentile; pass 2
    keeps, in file order, the first 50,000 puzzles below it and the first 10,000 at or above
    it, each fully checked. The millions of other rows are never held in memory.
    """
    ratings = []
    for line, row in read_csv(path, HEADER, progress):
        try:
            ratings.append(float(row["rating"]))
        except ValueError:
            raise DataError(f"{path}, line {line}: rating must be a number, got {row['rating']!r}") from None
        if not np.isfinite(ratings[-1]):  # an inf or nan would make the percentile, and so the split, nan
            raise DataError(f"{path}, line {line}: rating must be finite, got {row['rating']!r}")
    if not ratings:
        raise DataError(f"{path}: no puzzles in the file")
    hard_all = hard_mask(ratings)
    want_easy, want_hard = 50_000, 10_000
    questions, answers, kept, hard = [], [], [], []
    for k, (line, row) in enumerate(read_csv(path, HEADER)):
        is_hard = bool(hard_all[k])
        if (want_hard if is_hard else want_easy) <= 0:
            continue
        problem = check_row(row["question"], row["answer"])
        if problem:
            raise DataError(f"{path}, line {line}: {problem}")
        questions.append(row["question"].strip().replace("0", "."))
        answers.append(row["answer"].strip())
        kept.append(ratings[k])
        hard.append(is_hard)
        want_hard, want_easy = (want_hard - 1, want_easy) if is_hard else (want_hard, want_easy - 1)
        if want_hard <= 0 and want_easy <= 0:
            break
    return questions, answers, kept, np.array(hard, dtype=bool)


def hard_mask(ratings: Sequence[float], questions: Sequence[str] | None = None) -> np.ndarray:
    """``[N]`` bool: rating at or above the 80th percentile (the paper's hard split).

    With ``questions``, fewer givens break ties of rating (used for generated sets, whose
    integer ratings tie often), by ranking ``rating + (81 - givens) / 100``.
    """
    key = np.asarray(ratings, dtype=np.float64)
    if questions is not None:
        key = key + np.array([q.count(".") for q in questions]) / 100.0
    return key >= np.percentile(key, HARD_PERCENTILE)


def encode(questions: list[str], answers: list[str]):
    """``(x [N, 81, 10] uint8 one-hot, y [N, 81] long digit-1)`` of checked rows, vectorised.

    Equal to ``Sudoku.encode`` / ``Sudoku.targets`` (tested); skips their per-item checks,
    which :func:`read` has already done.
    """
    import torch

    q = np.frombuffer("".join(questions).encode(), dtype=np.uint8).reshape(-1, 81)
    cells = np.where(q == ord("."), 0, q - ord("0")).astype(np.int64)  # [N, 81]
    a = np.frombuffer("".join(answers).encode(), dtype=np.uint8).reshape(-1, 81).astype(np.int64) - ord("1")
    x = torch.nn.functional.one_hot(torch.from_numpy(cells), 10).to(torch.uint8)  # [N, 81, 10]
    return x, torch.from_numpy(a)  # [N, 81]


@datasets.register("sudoku")
def sudoku_split(
    split: str, seed: int = 0, path: str | Path | None = None, n: int | None = None, source: str = "generated"
) -> TaskDataset:
    """A sudoku split: the bundled generated set (``path=None``) or a sudoku-extreme CSV.

    ``source="public"`` gives the bundled public lists instead (forum-hardest + 17-clue, split by
    rating; ``"forum-hardest"`` or ``"17-clue"`` keeps one list's puzzles of that split): see
    :mod:`loopzoo.data.sudoku_public`. There ``seed`` orders the split, and ``n`` takes a seeded
    random sample of it rather than the first rows of the file.
    """
    from . import sudoku_public

    if source not in sudoku_public.SOURCES:
        raise DataError(f"unknown sudoku source {source!r}; choose one of {', '.join(sudoku_public.SOURCES)}")
    if source != "generated":
        return sudoku_public.load(split, source=source, seed=seed, n=n, path=path)
    check_split(split)
    if path is None:
        file = bundled.path_for("sudoku")
        made_with = bundled.manifest()[file.name].get("seed", 0)
        if seed != made_with:
            raise DataError(
                f"the bundled sudoku set was made with seed {made_with}, not {seed}; make one with "
                f"`loopzoo data make sudoku --n 60000 --seed {seed} --out FILE` and pass path=FILE"
            )
        questions, answers, ratings = cached_read(read, file)
        hard = hard_mask(ratings, questions)
    else:
        file = Path(path)
        questions, answers, ratings, hard = cached_read(read_paper_split, file)
    idx = paper_split(np.flatnonzero(~hard), np.flatnonzero(hard), split)
    if n is not None:
        idx = idx[:n]
    return TaskDataset(
        "sudoku", split, [questions[i] for i in idx], [answers[i] for i in idx], [ratings[i] for i in idx], source=str(file),
        encoder=encode,
    )
