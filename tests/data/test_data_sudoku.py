"""Sudoku data: the solver, the seeded generator, ratings, the sudoku-extreme reader, splits."""
from __future__ import annotations

import csv
import gzip

import numpy as np
import pytest

from loopzoo import DataError
from loopzoo.data import load_split, sudoku, sudoku_solver

from data_helpers import rewrite_csv

EXTREME = "8..........36......7..9.2...5...7.......457.....1...3...1....68..85...1..9....4.."  # "Arto Inkala"


def _digits(q: str) -> list[int]:
    return [0 if c in ".0" else int(c) for c in q]


def test_generated_puzzles_have_exactly_one_solution_and_are_minimal():
    for i in range(8):
        q, a, r = sudoku.make_item(1, i)
        grid = _digits(q)
        res = sudoku_solver.solve(grid, limit=3)
        assert len(res.solutions) == 1
        assert "".join(map(str, res.solutions[0])) == a
        assert sudoku.check_row(q, a) is None
        if i == 0:  # minimal: blanking any given allows a second solution
            for cell in (c for c in range(81) if grid[c]):
                g = grid.copy()
                g[cell] = 0
                assert sudoku_solver.count_solutions(g) == 2


def test_solver_counts_multiple_solutions_and_contradictions():
    assert sudoku_solver.count_solutions([0] * 81, limit=5) == 5
    bad = [0] * 81
    bad[0] = bad[1] = 5
    assert sudoku_solver.count_solutions(bad) == 0


def test_rating_is_deterministic_and_harder_for_a_known_hard_puzzle(fixtures):
    hard = sudoku_solver.rate(_digits(EXTREME))
    assert hard == sudoku_solver.rate(_digits(EXTREME))
    assert hard[2] is not None  # unique
    typical = np.median(sudoku.read(fixtures / "sudoku_extreme.csv")[2])  # random minimal puzzles
    assert hard[0] > 10 * typical


def test_same_seed_same_puzzles_different_seed_different():
    a = list(sudoku.generate(5, seed=3))
    assert a == list(sudoku.generate(5, seed=3))
    assert a[2:] == list(sudoku.generate(3, seed=3, start=2))  # resumable: row i depends on (seed, i) only
    assert not set(r[0] for r in a) & set(r[0] for r in sudoku.generate(5, seed=4))


def test_parallel_generation_gives_the_same_rows():
    assert list(sudoku.generate(6, seed=8, workers=2)) == list(sudoku.generate(6, seed=8))


def test_written_file_is_byte_identical(tmp_path):
    from loopzoo.checkpoint import sha256_file
    from loopzoo.data.formats import write_csv

    rows = list(sudoku.generate(4, seed=2))
    for name in ("a.csv.xz", "b.csv.xz", "a.csv.gz", "b.csv.gz"):
        write_csv(tmp_path / name, sudoku.HEADER, rows)
    assert sha256_file(tmp_path / "a.csv.xz") == sha256_file(tmp_path / "b.csv.xz")
    assert sha256_file(tmp_path / "a.csv.gz") == sha256_file(tmp_path / "b.csv.gz")


def test_reads_sudoku_extreme_format_and_splits_by_rating(fixtures):
    path = fixtures / "sudoku_extreme.csv"
    questions, answers, ratings = sudoku.read(path)
    assert len(questions) == 20 and all(len(q) == 81 and "0" not in q for q in questions)
    splits = {s: load_split("sudoku", s, path=path) for s in ("train", "val", "test")}
    assert [len(splits[s]) for s in ("train", "val", "test")] == [13, 3, 4]
    threshold = np.percentile(ratings, 80)
    assert max(splits["train"].ratings + splits["val"].ratings) < threshold <= min(splits["test"].ratings)
    x, y = splits["train"][0]
    assert x.shape == (81, 10) and x.dtype.is_floating_point and y.shape == (81,)
    q = splits["train"].inputs[0]
    givens = [i for i, ch in enumerate(q) if ch != "."]
    assert x[givens].argmax(-1).tolist() == [int(q[i]) for i in givens]
    assert (y + 1).tolist() == [int(c) for c in splits["train"].answers[0]]
    assert splits["train"].data_hash == load_split("sudoku", "train", path=path).data_hash
    assert splits["train"].data_hash != splits["val"].data_hash
    assert len(load_split("sudoku", "train", path=path, n=5)) == 5


@pytest.mark.parametrize(
    "line, column, change, message",
    [
        (5, "answer", lambda a: a[:10] + ("1" if a[10] != "1" else "2") + a[11:], "the answer is not a valid sudoku"),
        (7, "question", lambda q: q[:80] + "x", "question must be 81 characters"),
        (3, "answer", lambda a: a[:80], "answer must be 81 digits"),
        (9, "rating", lambda r: "hard", "rating must be a number"),
    ],
)
def test_corrupted_rows_raise_data_error_naming_file_and_line(fixtures, tmp_path, line, column, change, message):
    rows = list(csv.DictReader(open(fixtures / "sudoku_extreme.csv")))
    path = rewrite_csv(fixtures / "sudoku_extreme.csv", tmp_path / "bad.csv", line, column,
                       change(rows[line - 2][column]))
    with pytest.raises(DataError, match=rf"bad\.csv, line {line}: {message}"):
        load_split("sudoku", "train", path=path)


def test_answer_contradicting_givens_is_rejected(fixtures, tmp_path):
    rows = list(csv.DictReader(open(fixtures / "sudoku_extreme.csv")))
    q, a = rows[2]["question"], rows[2]["answer"]
    i = next(k for k, ch in enumerate(q) if ch not in ".0")
    wrong = next(d for d in "123456789" if d != q[i])
    path = rewrite_csv(fixtures / "sudoku_extreme.csv", tmp_path / "bad.csv", 4, "question", q[:i] + wrong + q[i + 1 :])
    with pytest.raises(DataError, match="line 4: (the answer contradicts the given|question)"):
        sudoku.read(path)
    assert a  # untouched


def test_missing_column_empty_and_truncated_files(fixtures, tmp_path):
    (tmp_path / "nocol.csv").write_text("question,rating\n" + "." * 81 + ",1\n")
    with pytest.raises(DataError, match="nocol.csv, line 1: missing column"):
        sudoku.read(tmp_path / "nocol.csv")
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(DataError, match="empty"):
        sudoku.read(tmp_path / "empty.csv")
    data = gzip.compress((fixtures / "sudoku_extreme.csv").read_bytes())
    (tmp_path / "cut.csv.gz").write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match="cut.csv.gz"):
        sudoku.read(tmp_path / "cut.csv.gz")
    with pytest.raises(DataError, match="no such file"):
        sudoku.read(tmp_path / "absent.csv")


def test_hard_mask_breaks_ties_by_givens():
    ratings = [5] * 10
    questions = ["." * (50 + i) + "1" * (31 - i) for i in range(10)]
    mask = sudoku.hard_mask(ratings, questions)
    assert mask.sum() == 2 and mask[-2:].all()  # the two with the fewest givens


def test_vectorised_encoding_equals_the_task_encoding(fixtures):
    from loopzoo.data.base import TaskDataset

    q, a, r = sudoku.read(fixtures / "sudoku_extreme.csv")
    fast = TaskDataset("sudoku", "train", q, a, r, encoder=sudoku.encode)
    slow = TaskDataset("sudoku", "train", q, a, r)
    assert fast.x.dtype == slow.x.dtype == fast[0][0].dtype
    assert (fast.x == slow.x).all() and (fast.y == slow.y).all() and fast.data_hash == slow.data_hash
