"""Parsing, encoding, decoding and the bad inputs of every task, through ``solve``."""
import numpy as np
import pytest
import torch

import loopzoo
from loopzoo import InputError
from loopzoo.tasks.chess import ChessMove, canonicalize

chess = pytest.importorskip("chess")
TINY = {"width": 16, "heads": 2}
PUZZLE = "..3.2.6..9..3.5..1..18.64....81.29..7.......8..67.82....26.95..8..2.3..9..5.1.3.."


@pytest.fixture(scope="module")
def sudoku():
    return loopzoo.create("sudoku-internal-recall-outernorm", **TINY)


@pytest.fixture(scope="module")
def prefix():
    return loopzoo.create("prefix-sums-internal-recall-outernorm", **TINY)


@pytest.fixture(scope="module")
def chess_model():
    return loopzoo.create("chess-internal-recall-outernorm", **TINY)


# --- sudoku ------------------------------------------------------------------------------


def test_sudoku_accepts_strings_grids_and_arrays(sudoku):
    grid = [[0 if c == "." else int(c) for c in PUZZLE[r * 9 : r * 9 + 9]] for r in range(9)]
    one = sudoku.solve(PUZZLE, iters=2)
    assert isinstance(one, str) and len(one) == 81 and set(one) <= set("123456789")
    assert sudoku.solve(grid, iters=2) == one
    assert sudoku.solve(np.array(grid), iters=2) == one
    assert sudoku.solve(PUZZLE.replace(".", "0"), iters=2) == one
    assert sudoku.solve([PUZZLE, grid], iters=2) == [one, one]


def test_sudoku_encoding_is_one_hot_with_blank_class(sudoku):
    x = sudoku.task.encode([sudoku.task.parse(PUZZLE, 0)])
    assert x.shape == (1, 81, 10)
    assert x[0, 0, 0] == 1 and x[0, 2, 3] == 1 and x.sum() == 81


@pytest.mark.parametrize(
    "bad, problem",
    [
        ("." * 80, "81 cells, got 80"),
        ("x" + "." * 80, "found ['x']"),
        ("11" + "." * 79, "digit 1 appears twice in row 1"),
        ("1" + "." * 8 + "1" + "." * 71, "digit 1 appears twice in column 1"),
        ("1" + "." * 9 + "1" + "." * 70, "digit 1 appears twice in box 1"),
        ([[0] * 9] * 8, "9x9 or 81 numbers"),
        ([[10] + [0] * 8] + [[0] * 9] * 8, "integers 0-9"),
        (12345, "expected one input or a list"),
        ([], "empty"),
        ("r1bqkbnr/pppp1ppp/2n5/4p3/2B1P3/5Q2/PPPP1PPP/RNB1K1NR w KQkq - 2 3", "81 cells"),
    ],
)
def test_sudoku_bad_inputs(sudoku, bad, problem):
    with pytest.raises(InputError) as info:
        sudoku.solve(bad, iters=1)
    assert problem in str(info.value)


def test_bad_input_names_its_index(sudoku):
    with pytest.raises(InputError, match="sudoku input 2: .*81 cells"):
        sudoku.solve([PUZZLE, PUZZLE, "123"], iters=1)


@pytest.mark.parametrize("iters", [0, -3, 1.5, "10", True, None])
def test_bad_iters(sudoku, iters):
    if iters is None:
        assert len(sudoku.solve(PUZZLE)) == 81  # None = the config's default
        return
    with pytest.raises(InputError, match="iters"):
        sudoku.solve(PUZZLE, iters=iters)


# --- prefix sums -------------------------------------------------------------------------


def test_prefix_sums_any_length_and_order(prefix):
    inputs = ["0110", "1", "1011101", [1, 0, 1], "0001"]
    out = prefix.solve(inputs, iters=2, batch_size=2)
    assert [len(a) for a in out] == [4, 1, 7, 3, 4]
    assert prefix.solve([1, 0, 1], iters=2) == out[3]
    assert out[0] == prefix.solve("0110", iters=2)


def test_prefix_sums_targets_are_running_parity(prefix):
    parsed = [prefix.task.parse("0110100", 0)]
    assert prefix.task.targets(parsed, None).tolist() == [[0, 1, 0, 0, 1, 1, 1]]
    assert prefix.task.encode(parsed)[0, :3, 0].tolist() == [-0.5, 0.5, 0.5]


@pytest.mark.parametrize("bad, problem", [("0120", "found ['2']"), ("", "empty"), ([0, 2], "only 0 and 1"),
                                          (["01", 7], "input 1: expected a bit string"), (3.5, "expected one input")])
def test_prefix_sums_bad_inputs(prefix, bad, problem):
    with pytest.raises(InputError) as info:
        prefix.solve(bad, iters=1)
    assert problem in str(info.value)


# --- chess -------------------------------------------------------------------------------

FEN_BLACK = "rnbqkbnr/pppp1ppp/8/4p3/4P3/5N2/PPPP1PPP/RNBQKB1R b KQkq - 1 2"


def test_chess_returns_legal_moves_in_uci_and_san(chess_model):
    fens = [chess_model.task.example, FEN_BLACK]
    moves = chess_model.solve(fens, iters=2)
    for fen, move in zip(fens, moves):
        assert isinstance(move, ChessMove)
        board = chess.Board(fen)
        assert chess.Move.from_uci(move.uci) in board.legal_moves
        assert board.san(chess.Move.from_uci(move.uci)) == move.san


def test_chess_canonical_frame_shows_side_to_move_as_white_with_king_on_e_to_h():
    for fen in (chess.STARTING_FEN, FEN_BLACK, "4k3/8/8/8/8/8/8/1K6 w - - 0 1", "1k6/8/8/8/8/8/8/4K3 b - - 0 1"):
        board = chess.Board(fen)
        pos = canonicalize(board)
        assert sorted(pos.to_real.tolist()) == list(range(64))
        own_king = int(np.flatnonzero(pos.planes == 5)[0])
        assert own_king % 8 >= 4  # files e-h
        assert pos.to_real[own_king] == board.king(board.turn)
        for canon, real in enumerate(pos.to_real):
            piece = board.piece_at(int(real))
            if piece is None:
                assert pos.planes[canon] == -1
            else:
                assert pos.planes[canon] == piece.piece_type - 1 + (0 if piece.color == board.turn else 6)
    # black to move: its pieces become the "own" planes and its back rank the canonical first rank
    pos = canonicalize(chess.Board(FEN_BLACK))
    assert set(pos.planes[:8].tolist()) - {-1} <= set(range(6))
    assert set(pos.planes[56:].tolist()) - {-1} <= set(range(6, 12))


def test_chess_targets_and_exact_match_scoring(chess_model):
    task = chess_model.task
    parsed = [task.parse(FEN_BLACK, 0)]
    target = task.targets(parsed, ["g8f6"])
    assert target.sum() == 2
    logits = torch.zeros(1, 64, 2)
    logits[..., 1] = target.float() * 5
    assert task.correct(logits, target).tolist() == [True]
    assert task.decode(logits, parsed)[0].uci == "g8f6"
    logits[0, int(target[0].nonzero()[0]), 1] = -5
    assert task.correct(logits, target).tolist() == [False]


@pytest.mark.parametrize(
    "bad, problem",
    [
        ("not a fen", "invalid FEN"),
        ("8/8/8/8/8/8/8/8 w - - 0 1", "illegal position"),
        ("7k/5QQ1/8/8/8/8/8/K7 b - - 0 1", "checkmate"),
        ("7k/5Q2/6K1/8/8/8/8/8 b - - 0 1", "stalemate"),
        ("." * 81, "invalid FEN"),
        (42, "expected one input or a list"),
        ([None], "input 0: expected a FEN"),
    ],
)
def test_chess_bad_inputs(chess_model, bad, problem):
    with pytest.raises(InputError) as info:
        chess_model.solve(bad, iters=1)
    assert problem in str(info.value)


def test_trace_records_every_iteration(prefix):
    sols = prefix.solve(["0110", "1"], iters=4, trace=True, return_info=True)
    assert len(sols) == 2 and [s.answer for s in sols] == prefix.solve(["0110", "1"], iters=4)
    for sol in sols:
        trace = sol.trace
        assert len(trace.predictions) == 4 and trace.predictions[-1] == sol.answer and sol.iters == 4
        assert trace.confidence.shape == (4,) and trace.residual.shape == (4,)
        assert ((trace.confidence >= 0.5) & (trace.confidence <= 1)).all()  # two classes
        assert (trace.residual >= 0).all()
    one = prefix.solve("0110", iters=4, trace=True, return_info=True)
    assert one == sols[0] and one.trace.predictions == sols[0].trace.predictions
    assert prefix.solve("0110", iters=4, return_info=True).trace is None  # only where asked for
