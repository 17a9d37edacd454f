"""Task.verify: every verifier on valid, invalid and edge answers, and verify_logits agreeing with it."""
import numpy as np
import pytest
import torch

from loopzoo.data import load_split
from loopzoo.registry import tasks
from loopzoo.tasks.base import FAILED, UNKNOWN, VERIFIED, Task, Verdict
from loopzoo.tasks.chess import ChessMove

chess = pytest.importorskip("chess")


@pytest.fixture(scope="module")
def sudoku():
    return tasks.get("sudoku")()


@pytest.fixture(scope="module")
def solved():
    """Three bundled sudokus and their (unique) solutions."""
    data = load_split("sudoku", "val", n=3)
    return list(data.inputs), list(data.answers)


def swap(answer: str, i: int, j: int) -> str:
    cells = list(answer)
    cells[i], cells[j] = cells[j], cells[i]
    return "".join(cells)


# --- sudoku ------------------------------------------------------------------------------


def test_sudoku_solutions_verify_in_every_form(sudoku, solved):
    for i, (puzzle, answer) in enumerate(zip(*solved)):
        p = sudoku.parse(puzzle, i)
        grid = np.array([int(c) for c in answer]).reshape(9, 9)
        for form in (answer, grid, grid.tolist(), grid.ravel().tolist(), " ".join(answer)):
            verdict = sudoku.verify(p, form)
            assert verdict.verified is True and verdict.code == VERIFIED, verdict


def test_sudoku_failures_name_the_first_rule_broken(sudoku, solved):
    puzzle, answer = solved[0][0], solved[1][0]
    p = sudoku.parse(puzzle, 0)
    given = next(i for i, c in enumerate(puzzle) if c != ".")
    blank = next(i for i, c in enumerate(puzzle) if c == ".")
    changed = answer[:given] + str(int(answer[given]) % 9 + 1) + answer[given + 1 :]
    r, c = divmod(given, 9)
    verdict = sudoku.verify(p, changed)
    assert verdict.verified is False
    assert verdict.reason == f"row {r + 1}, column {c + 1} is given as {puzzle[given]}, the answer has {changed[given]}"
    # a blank cell set to the digit of another blank cell of its row: that digit twice in that row
    row = blank // 9
    other = next(i for i in range(row * 9, row * 9 + 9) if puzzle[i] == "." and i != blank)
    twice = answer[:blank] + answer[other] + answer[blank + 1 :]
    assert sudoku.verify(p, twice) == Verdict(False, f"digit {answer[other]} twice in row {row + 1}")


VALID_GRID = "".join(str((r * 3 + r // 3 + c) % 9 + 1) for r in range(9) for c in range(9))


@pytest.mark.parametrize("answer, reason", [
    ("".join(str(r + 1) * 9 for r in range(9)), "digit 1 twice in row 1"),  # columns fine, rows not
    ("123456789" * 9, "digit 1 twice in column 1"),  # rows fine, columns not
    ("".join(str((r + c) % 9 + 1) for r in range(9) for c in range(9)), "digit 2 twice in box 1"),  # a Latin square
    (swap(VALID_GRID, 0, 1), f"digit {VALID_GRID[1]} twice in column 1"),  # two cells of row 1 swapped
])
def test_sudoku_each_rule_is_checked(sudoku, answer, reason):
    """An empty puzzle has no givens to keep, so only the rows, columns and boxes can fail (in that order)."""
    p = sudoku.parse("." * 81, 0)
    assert sudoku.verify(p, VALID_GRID).verified is True
    assert sudoku.verify(p, answer) == Verdict(False, reason)


@pytest.mark.parametrize("answer, problem", [
    ("1" * 80, "81 digits, got 80"),
    ("1" * 82, "81 digits, got 82"),
    ("", "81 digits, got 0"),
    ("0" + "1" * 80, "digits 1-9 only, found ['0']"),
    ("." + "1" * 80, "found ['.']"),
    ([[1] * 9] * 8, "9x9 or 81 digits"),
    ([0] * 81, "digits 1-9 only"),
    ([True] * 81, "digits 1-9 only"),
    (12345, "got int"),
    (None, "got NoneType"),
])
def test_sudoku_malformed_answers_fail_without_raising(sudoku, answer, problem):
    verdict = sudoku.verify(sudoku.parse("." * 81, 0), answer)
    assert verdict.verified is False and problem in verdict.reason


def test_sudoku_verify_logits_matches_verify(sudoku, solved):
    """The tensor check agrees with the per-answer one on solutions, near-solutions and noise."""
    parsed, logits = [], []
    rng = np.random.default_rng(0)
    for i, (puzzle, answer) in enumerate(zip(*solved)):
        p = sudoku.parse(puzzle, i)
        digits = torch.tensor([int(c) - 1 for c in answer])
        blanks = [j for j, c in enumerate(puzzle) if c == "."]
        variants = [digits, digits.roll(1), torch.from_numpy(rng.integers(0, 9, 81))]
        a = blanks[0]
        b = next(j for j in blanks if digits[j] != digits[a])
        variants.append(digits.clone().index_put_((torch.tensor([a, b]),), digits[[b, a]]))  # two blanks swapped
        changed = digits.clone()
        changed[next(j for j, c in enumerate(puzzle) if c != ".")] += 1
        variants.append(changed % 9)  # a given changed
        for v in variants:
            parsed.append(p)
            logits.append(torch.nn.functional.one_hot(v, 9).float() * 3 + torch.randn(81, 9) * 0.1)
    logits = torch.stack(logits)  # [B, 81, 9]
    expected = [sudoku.verify(p, a).code for p, a in zip(parsed, sudoku.decode(logits, parsed))]
    got = sudoku.verify_logits(logits, parsed)
    assert got.dtype == torch.int8 and got.tolist() == expected
    assert expected.count(VERIFIED) == 3 and expected.count(FAILED) == len(expected) - 3


# --- chess -------------------------------------------------------------------------------

MATE_IN_ONE = "6k1/5ppp/8/8/8/8/5PPP/R5K1 w - - 0 1"  # back rank: only Ra8 mates
# from the bundled val set; the move is Stockfish's (the data's answer), a forced mate in 2
MATE_IN_TWO = ("4R3/8/2P5/3P1N2/2P3K1/R7/P7/7k w - - 3 48", "g4g3")


def test_chess_mate_in_one_verifies_exactly_the_mating_moves():
    task = tasks.get("chess")()
    p = task.parse(MATE_IN_ONE, 0)
    board = chess.Board(MATE_IN_ONE)
    for move in board.legal_moves:
        board.push(move)
        mates = board.is_checkmate()
        board.pop()
        verdict = task.verify(p, move.uci())
        assert verdict.verified is mates
        assert verdict.reason == ("checkmate" if mates else "misses a mate in 1 (Ra8#)")
    assert task.verify(p, ChessMove("a1a8", "Ra8#")).verified is True
    assert task.verify(p, chess.Move.from_uci("a1a8")).verified is True


def test_chess_mate_in_two_verifies_the_engine_move():
    task = tasks.get("chess")()
    fen, move = MATE_IN_TWO
    p = task.parse(fen, 0)
    assert task.verify(p, move) == Verdict(True, "forces mate in 2")
    assert task.verify(p, "c4c5").verified is False and "mate in 2" in task.verify(p, "c4c5").reason


@pytest.mark.parametrize("answer, problem", [("e2e5", "e2e5 is not a legal move"), ("a1a1", "not a move in UCI"),
                                             ("zz", "not a move in UCI"), ("", "not a move in UCI"),
                                             (None, "not a move in UCI"), ("0000", "not a legal move")])
def test_chess_illegal_or_malformed_moves_fail(answer, problem):
    task = tasks.get("chess")()
    verdict = task.verify(task.parse(chess.STARTING_FEN, 0), answer)
    assert verdict.verified is False and problem in verdict.reason


def test_chess_without_a_forced_mate_a_legal_move_is_unknown():
    task = tasks.get("chess")()
    verdict = task.verify(task.parse(chess.STARTING_FEN, 0), "e2e4")
    assert verdict.verified is None and verdict.code == UNKNOWN and "no forced mate" in verdict.reason


def test_prefix_sums_cannot_check():
    task = tasks.get("prefix-sums")()
    p = task.parse("0110", 0)
    assert not task.can_verify()
    for answer in ("0100", "1111", "", None):
        assert task.verify(p, answer).verified is None
    assert task.verify_logits(torch.randn(2, 4, 2), [p, p]).tolist() == [UNKNOWN, UNKNOWN]


# --- every registered task ---------------------------------------------------------------


@pytest.mark.parametrize("name", tasks.names())
def test_verify_logits_agrees_with_verify_on_decoded_answers(name):
    task = tasks.get(name)()
    assert isinstance(task, Task)
    p = task.parse(task.example, 0)
    parsed = [p] * 6
    logits = torch.randn(6, task.length(p) or int(np.prod(task.grid)), task.out_channels) * 3
    codes = task.verify_logits(logits, parsed)
    assert codes.shape == (6,) and codes.dtype == torch.int8
    verdicts = [task.verify(q, a) for q, a in zip(parsed, task.decode(logits, parsed))]
    assert all(isinstance(v, Verdict) and v.reason for v in verdicts)
    assert codes.tolist() == [v.code for v in verdicts]
    assert task.can_verify() == (type(task).verify is not Task.verify)
