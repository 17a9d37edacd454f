"""First-move accuracy on rated chess puzzles, overall and by rating band.

A predicted move is right when it is the puzzle's move, or when the puzzle's move forces mate
within :data:`~loopzoo.tasks.chess.MATE_DEPTH` moves and the predicted move does too (Lichess
accepts any mate; python-chess checks it exactly, no engine needed). Mates longer than that are
not searched for: there only the puzzle's own move counts.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..errors import DataError, LoopzooError
from .chess import MATE_DEPTH, _chess

BANDS: tuple[tuple[str, float, float], ...] = (
    ("<1000", float("-inf"), 1000),
    ("1000-1500", 1000, 1500),
    ("1500-2000", 1500, 2000),
    ("2000+", 2000, float("inf")),
)  # (name, low inclusive, high exclusive)


def band(rating: float) -> str:
    """The name of the rating band holding ``rating``."""
    return next(name for name, lo, hi in BANDS if lo <= rating < hi)


def forces_mate(board, move, within: int = MATE_DEPTH) -> bool:
    """Whether ``move`` (legal on ``board``) forces checkmate within ``within`` of the mover's moves."""
    board.push(move)
    try:
        if board.is_checkmate():
            return True
        if within <= 1 or board.is_game_over():
            return False
        for reply in list(board.legal_moves):
            board.push(reply)
            try:
                if not any(forces_mate(board, m, within - 1) for m in list(board.legal_moves)):
                    return False
            finally:
                board.pop()
        return True
    finally:
        board.pop()


def move_right(fen: str, predicted: str, answer: str, within: int = MATE_DEPTH) -> bool:
    """The puzzle's move, or any mating move where the puzzle's move mates (see the module doc)."""
    chess = _chess()
    if predicted == answer:
        return True
    board = chess.Board(fen)
    try:
        move = chess.Move.from_uci(predicted)
    except ValueError:
        return False
    if not board.is_legal(move):
        return False
    return forces_mate(board, move, within) and forces_mate(board, chess.Move.from_uci(answer), within)


def first_move_report(fens: Sequence[str], predicted: Sequence[Any], answers: Sequence[str],
                      ratings: Sequence[float]) -> dict[str, Any]:
    """``{"overall": {"n", "right", "accuracy"}, "bands": {name: {...}}, "alternate_mates": k}``.

    ``predicted`` are UCI strings or objects whose ``str()`` is UCI (``ChessMove``); ``k`` counts
    the answers right only by the alternate-mate rule.
    """
    if not len(fens) == len(predicted) == len(answers) == len(ratings):
        raise DataError(f"lengths differ: {len(fens)} FENs, {len(predicted)} predictions, "
                        f"{len(answers)} answers, {len(ratings)} ratings")
    counts = {name: [0, 0] for name, _, _ in BANDS}  # name -> [n, right]
    alternate = 0
    for fen, guess, answer, rating in zip(fens, predicted, answers, ratings):
        guess = str(guess)
        ok = move_right(fen, guess, answer)
        alternate += ok and guess != answer
        counts[band(rating)][0] += 1
        counts[band(rating)][1] += ok

    def cell(n: int, right: int) -> dict[str, Any]:
        return {"n": n, "right": right, "accuracy": right / n if n else float("nan")}

    total = [sum(c[0] for c in counts.values()), sum(c[1] for c in counts.values())]
    return {"overall": cell(*total), "bands": {k: cell(*v) for k, v in counts.items()}, "alternate_mates": alternate}


def evaluate_puzzles(model, split: str = "test", iters: int | None = None, n: int | None = None,
                     seed: int = 0, batch_size: int = 256) -> dict[str, Any]:
    """First-move report of ``model`` on a split of the bundled Lichess puzzles, at ``iters``
    (default: the model's recommended iterations), plus ``split``, ``iters`` and ``source``."""
    from ..data import load_split

    if model.task.name != "chess":
        raise LoopzooError(f"Lichess puzzles need a chess model; this one solves {model.task.name}")
    data = load_split("chess", split, seed=seed, n=n, source="lichess")
    iters = iters or model.config.iters
    moves = model.solve(data.inputs, iters=iters, batch_size=batch_size)  # list[ChessMove]
    report = first_move_report(data.inputs, moves, data.answers, data.ratings)
    return {"split": split, "iters": iters, "source": data.source, **report}


def markdown_report(report: dict[str, Any]) -> str:
    """A :func:`first_move_report` as docs/chess-data.md's markdown table and the count of answers right by the
    alternate-mate rule (``scripts/eval_lichess.py --write``)."""
    lines = ["| band | puzzles | right | first move right |", "|---|---|---|---|"]
    lines += [f"| {name} | {c['n']:,} | {c['right']:,} | {c['accuracy']:.1%} |" for name, c in report["bands"].items()]
    c = report["overall"]
    lines.append(f"| overall | {c['n']:,} | {c['right']:,} | **{c['accuracy']:.1%}** |")
    k = report["alternate_mates"]
    lines += ["", f"({'none' if k == 0 else k} right by the alternate-mate rule{'' if k == 0 else ' only'}.)"]
    return "\n".join(lines)


def format_report(report: dict[str, Any]) -> str:
    """A plain-text table of a :func:`first_move_report`."""
    lines = [f"{'band':<10} {'n':>6} {'right':>6} {'accuracy':>9}"]
    for name, c in [*report["bands"].items(), ("overall", report["overall"])]:
        lines.append(f"{name:<10} {c['n']:>6} {c['right']:>6} {100 * c['accuracy']:>8.1f}%")
    lines.append(f"({report['alternate_mates']} counted right as a different mating move)")
    return "\n".join(lines)
