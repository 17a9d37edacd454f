"""Chess data: the Lichess reader and split, Stockfish-made puzzles, and corrupted files."""
from __future__ import annotations

import csv

import chess
import pytest

from loopzoo import DataError
from loopzoo.data import chess as cd
from loopzoo.data import load_split
from loopzoo.tasks.chess import canonicalize

from data_helpers import rewrite_csv


def test_lichess_applies_the_first_move_and_answers_the_second(fixtures):
    path = fixtures / "lichess_puzzles.csv"
    fens, answers, ratings = cd.read_lichess(path)
    rows = list(csv.DictReader(open(path)))
    assert len(fens) == len(rows) == 14
    for fen, answer, row in zip(fens, answers, rows):
        board = chess.Board(row["FEN"])
        first, second = row["Moves"].split()[:2]
        board.push_uci(first)
        assert fen == board.fen() and answer == second
        assert chess.Move.from_uci(answer) in board.legal_moves


def test_lichess_split_by_rating(fixtures):
    path = fixtures / "lichess_puzzles.csv"
    splits = {s: load_split("chess", s, path=path) for s in ("train", "val", "test")}
    easy = [r for r in cd.read_lichess(path)[2] if r <= 1600]
    assert len(splits["train"]) + len(splits["val"]) == len(easy) and len(splits["train"]) == round(0.8 * len(easy))
    assert all(r <= 1600 for s in ("train", "val") for r in splits[s].ratings)
    assert splits["test"].ratings and all(1601 <= r <= 2000 for r in splits["test"].ratings)
    x, y = splits["train"][0]
    assert x.shape == (64, 12) and y.shape == (64,) and int(y.sum()) == 2
    board = chess.Board(splits["train"].inputs[0])
    pos = canonicalize(board)
    move = chess.Move.from_uci(splits["train"].answers[0])
    hot = sorted(int(pos.to_real[i]) for i in y.nonzero().flatten())
    assert hot == sorted([move.from_square, move.to_square])
    assert x[:, 5].sum() == 1  # exactly one own king, shown as white


@pytest.mark.parametrize(
    "line, column, value, message",
    [
        (3, "FEN", "rnbqkbnr/pppppppp/8/8 w KQkq - 0 1", "invalid FEN"),
        (4, "FEN", "8/8/8/8/8/8/8/8 w - - 0 1", "illegal position"),
        (5, "Moves", "a1a1 b2b3", "'a1a1' is not a UCI move"),
        (6, "Moves", "e2e4", "Moves needs at least two moves"),
        (7, "Rating", "high", "Rating must be a number"),
    ],
)
def test_corrupted_lichess_rows_raise_data_error(fixtures, tmp_path, line, column, value, message):
    path = rewrite_csv(fixtures / "lichess_puzzles.csv", tmp_path / "bad.csv", line, column, value)
    with pytest.raises(DataError, match=rf"bad\.csv, line {line}: ({message})"):
        load_split("chess", "train", path=path)


def test_illegal_answer_is_rejected(fixtures, tmp_path):
    rows = list(csv.DictReader(open(fixtures / "lichess_puzzles.csv")))
    first = rows[0]["Moves"].split()[0]
    path = rewrite_csv(fixtures / "lichess_puzzles.csv", tmp_path / "bad.csv", 2, "Moves", f"{first} a8a1")
    with pytest.raises(DataError, match=r"line 2: move a8a1 is illegal"):
        cd.read_lichess(path)


def test_zst_files(fixtures, tmp_path):
    path = tmp_path / "puzzles.csv.zst"
    try:
        import zstandard
    except ImportError:
        path.write_bytes(b"\x28\xb5\x2f\xfd")
        with pytest.raises(DataError, match="zstandard"):
            cd.read_lichess(path)
        return
    path.write_bytes(zstandard.ZstdCompressor().compress((fixtures / "lichess_puzzles.csv").read_bytes()))
    assert cd.read_lichess(path) == cd.read_lichess(fixtures / "lichess_puzzles.csv")


def test_generated_format_checks_moves(tmp_path):
    good = tmp_path / "gen.csv"
    good.write_text("fen,move,rating,gap,best,game,ply\n" f"{chess.STARTING_FEN},e2e4,1,300,400,0,0\n")
    assert cd.read_generated(good)[1] == ["e2e4"]
    bad = tmp_path / "bad.csv"
    bad.write_text("fen,move,rating,gap,best,game,ply\n" f"{chess.STARTING_FEN},e2e5,1,300,400,0,0\n")
    with pytest.raises(DataError, match="bad.csv, line 2: move e2e5 is illegal"):
        cd.read_generated(bad)


def test_qualifies_needs_a_clear_unique_winning_move():
    from loopzoo.data.stockfish import Line

    assert cd.qualifies([Line("a", 500), Line("b", 100)])
    assert not cd.qualifies([Line("a", 500), Line("b", 400)])  # not unique
    assert not cd.qualifies([Line("a", 150), Line("b", -300)])  # not winning
    assert not cd.qualifies([Line("a", 500)])


def test_self_play_puzzles_are_reproducible_legal_and_confirmed(stockfish):
    puzzles = []
    for game in range(3):
        puzzles += cd.play_game(stockfish, 0, game)
    assert puzzles, "three games should give at least one puzzle"
    again = [p for g in range(3) for p in cd.play_game(stockfish, 0, g)]
    assert [p.row() for p in again] == [p.row() for p in puzzles]
    other = [p.row() for g in range(3) for p in cd.play_game(stockfish, 1, g)]
    assert other != [p.row() for p in puzzles]
    for p in puzzles[:4]:
        board = chess.Board(p.fen)
        assert chess.Move.from_uci(p.move) in board.legal_moves
        lines = stockfish.lines(board, cd.DEPTH, multipv=2)
        assert lines[0].move == p.move and cd.qualifies(lines)
        assert 1 <= p.rating <= cd.DEPTH
        before = chess.Board(p.before[0])
        before.push_uci(p.before[1])
        assert before.fen() == p.fen


@pytest.mark.slow
def test_parallel_games_equal_sequential(stockfish):
    seq = [(g, [p.row() for p in ps]) for g, ps in cd.generate_games(2, 0, 4, workers=1)]
    par = [(g, [p.row() for p in ps]) for g, ps in cd.generate_games(2, 0, 4, workers=2)]
    assert seq == par
