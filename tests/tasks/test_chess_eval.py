"""First-move accuracy on rated puzzles: the alternate-mate rule and the band report."""
from __future__ import annotations

import math

import pytest

chess = pytest.importorskip("chess")

from loopzoo import DataError  # noqa: E402
from loopzoo.tasks.chess_eval import band, first_move_report, forces_mate, format_report, move_right  # noqa: E402

TWO_MATES = "7k/6pp/8/8/8/8/8/RR4K1 w - - 0 1"  # Ra8# and Rb8# both mate
MATE_IN_2 = "2r3k1/5ppp/8/8/8/8/4QPPP/4R1K1 w - - 0 1"  # Qe8+ Rxe8 Rxe8#: a mate in 2, not in 1


def test_forces_mate():
    board = chess.Board(TWO_MATES)
    assert forces_mate(board, chess.Move.from_uci("a1a8")) and forces_mate(board, chess.Move.from_uci("b1b8"))
    assert not forces_mate(board, chess.Move.from_uci("a1a7"))
    board = chess.Board(MATE_IN_2)
    assert not forces_mate(board, chess.Move.from_uci("e2e8"), within=1)
    assert forces_mate(board, chess.Move.from_uci("e2e8"), within=2)
    assert board.fen() == MATE_IN_2  # the board is left as it was


def test_alternate_mate_counts_only_where_the_puzzle_mates():
    assert move_right(TWO_MATES, "b1b8", "a1a8")  # another mate counts
    assert move_right(TWO_MATES, "a1a8", "a1a8")
    assert not move_right(TWO_MATES, "a1a7", "a1a8")  # a non-mating move does not
    assert not move_right(TWO_MATES, "a1a8", "g1f2")  # the puzzle's move does not mate: only it counts
    assert not move_right(TWO_MATES, "a1h8", "a1a8")  # illegal
    assert not move_right(TWO_MATES, "zz", "a1a8")


def test_bands():
    assert [band(r) for r in (399, 999.5, 1000, 1499, 1500, 1999, 2000, 2999)] == [
        "<1000", "<1000", "1000-1500", "1000-1500", "1500-2000", "1500-2000", "2000+", "2000+"]


def test_report_overall_and_by_band():
    fens = [TWO_MATES] * 5
    answers = ["a1a8", "a1a8", "a1a8", "g1f2", "a1a8"]
    predicted = ["a1a8", "b1b8", "a1a7", "a1a8", "b1b8"]
    ratings = [900, 1200, 1200, 1700, 2500]
    report = first_move_report(fens, predicted, answers, ratings)
    assert report["overall"] == {"n": 5, "right": 3, "accuracy": 0.6}
    assert report["bands"]["<1000"] == {"n": 1, "right": 1, "accuracy": 1.0}
    assert report["bands"]["1000-1500"] == {"n": 2, "right": 1, "accuracy": 0.5}
    assert report["bands"]["1500-2000"] == {"n": 1, "right": 0, "accuracy": 0.0}
    assert report["bands"]["2000+"]["right"] == 1
    assert report["alternate_mates"] == 2
    table = format_report(report)
    assert "overall" in table and "60.0%" in table and "2000+" in table
    empty = first_move_report([TWO_MATES], ["a1a8"], ["a1a8"], [500])
    assert math.isnan(empty["bands"]["2000+"]["accuracy"])


def test_lengths_must_match():
    with pytest.raises(DataError, match="lengths differ"):
        first_move_report([TWO_MATES], [], ["a1a8"], [1000])


def test_evaluate_puzzles_on_the_bundled_flagship():
    import loopzoo
    from loopzoo import LoopzooError
    from loopzoo.tasks.chess_eval import evaluate_puzzles

    model = loopzoo.load("chess-internal-recall-outernorm")
    report = evaluate_puzzles(model, "test", iters=3, n=24)
    assert report["iters"] == 3 and report["split"] == "test" and report["overall"]["n"] == 24
    assert sum(c["n"] for c in report["bands"].values()) == 24
    assert sum(c["right"] for c in report["bands"].values()) == report["overall"]["right"]
    with pytest.raises(LoopzooError, match="need a chess model"):
        evaluate_puzzles(loopzoo.load("sudoku-internal-recall-outernorm"), n=2)
