"""Chess data: puzzles made with Stockfish from seeded noisy self-play, and the Lichess CSV.

A puzzle is a position with one clearly best move: at the fixed depth (one thread, cleared
hash) the best move scores at least ``WIN`` centipawns for the side to move and beats the
second best by at least ``GAP``. Candidates are screened at a low depth and confirmed at the
fixed depth. Rating = the search depth from which Stockfish keeps the answer as its best move
(how hard the move is to find); the eval gap is kept too. Game ``g`` of seed ``s`` depends on
``(s, g)`` only; duplicates are dropped in game order, so results do not depend on how many
processes made them.
"""
from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DataError
from ..registry import datasets
from . import bundled
from .base import TaskDataset, cached_read, check_split, paper_split
from .formats import read_csv

SCREEN_DEPTH = 8
DEPTH = 12  # the fixed confirmation depth
WIN = 200  # cp: the answer must win at least this much
GAP = 200  # cp: and beat the second-best move by at least this much
HARD_DEPTH = 3  # generated puzzles are "hard" when Stockfish keeps the answer only from this depth on
MIN_PLY, MAX_PLY = 8, 160
HEADER = ("fen", "move", "rating", "gap", "best", "game", "ply")
LICHESS = ("PuzzleId", "FEN", "Moves", "Rating")
LICHESS_EASY_MAX, LICHESS_HARD = 1600, (1601, 2000)  # the paper's rating split (docs/design.md §5)


@dataclass
class Puzzle:
    """A generated puzzle: the position, its answer, and how it was found."""

    fen: str
    move: str  # UCI
    rating: int  # depth from which the answer stays Stockfish's best move
    gap: int  # cp between best and second best at DEPTH
    best: int  # cp of the answer at DEPTH (100000 = mate)
    game: int
    ply: int
    before: tuple[str, str] | None = None  # (FEN one ply earlier, the move played), as Lichess stores it

    def row(self) -> tuple:
        return (self.fen, self.move, self.rating, self.gap, self.best, self.game, self.ply)


def qualifies(lines) -> bool:
    """Whether the top two lines (best first) make a puzzle: a unique clearly winning move."""
    return len(lines) >= 2 and lines[0].cp >= WIN and lines[0].cp - lines[1].cp >= GAP


def play_game(engine, seed: int, game: int) -> list[Puzzle]:
    """Puzzles found along game ``game`` of seed ``seed``: noisy self-play screened at SCREEN_DEPTH.

    Moves: 20% a random legal move, 25% Stockfish's second choice, else its first (all at the
    screening depth), so games leave the book and reach varied middlegames and endgames.
    """
    import chess

    rng = random.Random(f"loopzoo-chess:{seed}:{game}")
    board = chess.Board()
    found = []
    for ply in range(MAX_PLY):
        if board.is_game_over(claim_draw=True):
            break
        moves = list(board.legal_moves)
        lines = engine.lines(board, SCREEN_DEPTH, multipv=2) if len(moves) > 1 else []
        if ply >= MIN_PLY and qualifies(lines):
            depth, final = engine.find_depth(board, DEPTH, lines[0].move)
            if qualifies(final) and depth <= DEPTH:
                move = final[0].move
                last = board.pop()
                before = (board.fen(), last.uci())
                board.push(last)
                found.append(Puzzle(board.fen(), move, depth, final[0].cp - final[1].cp, final[0].cp, game, ply, before))
        r = rng.random()
        if not lines or r < 0.2:
            move = rng.choice(moves)
        elif r < 0.45 and len(lines) > 1:
            move = chess.Move.from_uci(lines[1].move)
        else:
            move = chess.Move.from_uci(lines[0].move)
        board.push(move)
    return found


_ENGINE = None


def _worker_game(args: tuple[int, int]) -> list[Puzzle]:
    global _ENGINE
    if _ENGINE is None:
        from .stockfish import Engine

        _ENGINE = Engine()
    return play_game(_ENGINE, *args)


def generate_games(seed: int, start: int, stop: int, workers: int = 1) -> Iterator[tuple[int, list[Puzzle]]]:
    """``(game, puzzles)`` for games ``start .. stop-1`` of ``seed``, in order."""
    jobs = [(seed, g) for g in range(start, stop)]
    if workers <= 1:
        from .stockfish import Engine

        with Engine() as engine:
            for s, g in jobs:
                yield g, play_game(engine, s, g)
        return
    import multiprocessing as mp

    with mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn").Pool(workers) as pool:
        yield from zip(range(start, stop), pool.imap(_worker_game, jobs))


def position_key(fen: str) -> str:
    """A position without move counters, for dropping duplicates."""
    return " ".join(fen.split()[:4])


# --- reading ------------------------------------------------------------------------------
def _board(path, line: int, fen: str):
    import chess

    try:
        board = chess.Board(fen)
    except ValueError as exc:
        raise DataError(f"{path}, line {line}: invalid FEN {fen!r}: {exc}") from None
    if not board.is_valid():
        raise DataError(f"{path}, line {line}: illegal position {fen!r} ({board.status()!r})")
    return board


def _move(path, line: int, board, uci: str):
    import chess

    try:
        move = chess.Move.from_uci(uci)
    except ValueError:
        raise DataError(f"{path}, line {line}: {uci!r} is not a UCI move") from None
    if move not in board.legal_moves:
        raise DataError(f"{path}, line {line}: move {uci} is illegal in {board.fen()!r}")
    return move


def read_positions(path: str | Path, columns: tuple[str, ...], fen: str = "fen", move: str = "move",
                   rating: str = "rating", limit: int | None = None,
                   progress: bool = False) -> tuple[list[str], list[str], list[float]]:
    """``(fens, moves, ratings)`` of a CSV with ``columns`` that holds a position, its move and a
    numeric rating per row (named ``fen``, ``move``, ``rating``), every FEN and move checked legal."""
    fens, moves, ratings = [], [], []
    for line, row in read_csv(path, columns, progress):
        board = _board(path, line, row[fen])
        _move(path, line, board, row[move])
        try:
            ratings.append(float(row[rating]))
        except ValueError:
            raise DataError(f"{path}, line {line}: {rating} must be a number, got {row[rating]!r}") from None
        fens.append(board.fen())
        moves.append(row[move])
        if limit is not None and len(fens) >= limit:
            break
    if not fens:
        raise DataError(f"{path}: no puzzles in the file")
    return fens, moves, ratings


def read_generated(path: str | Path, limit: int | None = None, progress: bool = False) -> tuple[list[str], list[str], list[float]]:
    """``(fens, moves, ratings)`` of a loopzoo chess CSV, every FEN and move checked."""
    return read_positions(path, HEADER[:3], limit=limit, progress=progress)


def _lichess_rating(path, line: int, row: dict) -> float:
    try:
        return float(row["Rating"])
    except ValueError:
        raise DataError(f"{path}, line {line}: Rating must be a number, got {row['Rating']!r}") from None


def _lichess_puzzle(path, line: int, row: dict) -> tuple[str, str]:
    """``(fen, answer)`` of one Lichess row: apply the first move, the second is the answer (both checked)."""
    board = _board(path, line, row["FEN"])
    ucis = row["Moves"].split()
    if len(ucis) < 2:
        raise DataError(f"{path}, line {line}: Moves needs at least two moves, got {row['Moves']!r}")
    board.push(_move(path, line, board, ucis[0]))
    _move(path, line, board, ucis[1])
    return board.fen(), ucis[1]


def read_lichess(path: str | Path, limit: int | None = None, progress: bool = False) -> tuple[list[str], list[str], list[float]]:
    """``(fens, answers, ratings)`` of a Lichess puzzle CSV (plain or ``.zst``).

    Lichess FENs are before the opponent's move: the first move of ``Moves`` is applied and
    the second is the answer (docs/design.md §5). Every FEN and both moves are checked.
    """
    fens, answers, ratings = [], [], []
    for line, row in read_csv(path, LICHESS, progress):
        fen, answer = _lichess_puzzle(path, line, row)
        ratings.append(_lichess_rating(path, line, row))
        fens.append(fen)
        answers.append(answer)
        if limit is not None and len(fens) >= limit:
            break
    if not fens:
        raise DataError(f"{path}: no puzzles in the file")
    return fens, answers, ratings


def read_lichess_split(path: str | Path, progress: bool = False) -> tuple[list[str], list[str], list[float]]:
    """The rows the paper's split uses from a Lichess CSV of any size (millions of rows).

    Scans in file order, checking every rating, and keeps (fully checked: FEN, both moves)
    the first 50,000 puzzles rated <= 1600 and the first 10,000 rated 1601-2000; stops when
    it has both.
    """
    fens, answers, ratings = [], [], []
    want_easy, want_hard = 50_000, 10_000
    for line, row in read_csv(path, LICHESS, progress):
        rating = _lichess_rating(path, line, row)
        easy = rating <= LICHESS_EASY_MAX
        hard = LICHESS_HARD[0] <= rating <= LICHESS_HARD[1]
        if not (easy and want_easy > 0 or hard and want_hard > 0):
            continue
        fen, answer = _lichess_puzzle(path, line, row)
        fens.append(fen)
        answers.append(answer)
        ratings.append(rating)
        want_easy -= easy
        want_hard -= hard
        if want_easy <= 0 and want_hard <= 0:
            break
    if not fens:
        raise DataError(f"{path}: no puzzles rated <= {LICHESS_HARD[1]} in the file")
    return fens, answers, ratings


def _is_lichess(path: Path) -> bool:
    from .formats import DECOMPRESS_ERRORS, open_text

    with open_text(path) as f:
        try:
            head = f.readline()
        except (*DECOMPRESS_ERRORS, UnicodeDecodeError) as exc:
            raise DataError(f"{path}: cannot read: {exc}") from None
    return "PuzzleId" in head and "FEN" in head


def _sources() -> dict[str, Callable[..., TaskDataset]]:
    """Source name -> split factory ``(split, seed, path, n)``; imported lazily (python-chess, files)."""
    from . import chess_labels, lichess

    return {"generated": generated_split, "lichess": lichess.lichess_split, "stockfish": chess_labels.labels_split}


@datasets.register("chess")
def chess_split(split: str, seed: int = 0, path: str | Path | None = None, n: int | None = None,
                source: str = "generated") -> TaskDataset:
    """A chess split from ``source``.

    ``"generated"`` (default): the bundled self-play puzzles (``path=None``) or a Lichess
    database CSV / loopzoo chess CSV at ``path`` (see :func:`generated_split`).
    ``"lichess"``: the bundled real Lichess puzzles, test 2,000 / val 1,000 / train the rest by a
    hash of the FEN (:mod:`loopzoo.data.lichess`). ``"stockfish"``: train = every finished shard of
    Stockfish-labelled positions (:mod:`loopzoo.data.chess_labels`); val/test = the Lichess ones.
    """
    check_split(split)
    factories = _sources()
    if source not in factories:
        raise DataError(f"unknown chess source {source!r}; choose one of {', '.join(factories)}")
    return factories[source](split, seed, path, n)


def generated_split(split: str, seed: int = 0, path: str | Path | None = None, n: int | None = None) -> TaskDataset:
    """The bundled generated set (``path=None``) or a Lichess puzzle CSV.

    Bundled: easy = rating (find depth) below ``HARD_DEPTH`` (first 80% train, rest val),
    test = rating >= ``HARD_DEPTH``. Lichess: the paper's rule, train/val = the first 50,000
    rated <= 1600 (40k/10k), test = the first 10,000 rated 1601-2000.
    """
    if path is None:
        file = bundled.path_for("chess")
        entry = bundled.manifest()[file.name]
        if seed != entry.get("seed", 0):
            raise DataError(
                f"the bundled chess set was made with seed {entry.get('seed', 0)}, not {seed}; make one with "
                f"`loopzoo data make chess --n N --seed {seed} --out FILE` and pass path=FILE"
            )
        fens, moves, ratings = cached_read(read_generated, file)
        r = np.asarray(ratings)
        cut = entry.get("hard_depth", HARD_DEPTH)
        easy, hard = np.flatnonzero(r < cut), np.flatnonzero(r >= cut)
    else:
        file = Path(path)
        if _is_lichess(file):
            fens, moves, ratings = cached_read(read_lichess_split, file)
            r = np.asarray(ratings)
            easy = np.flatnonzero(r <= LICHESS_EASY_MAX)
            hard = np.flatnonzero((r >= LICHESS_HARD[0]) & (r <= LICHESS_HARD[1]))
        else:
            fens, moves, ratings = cached_read(read_generated, file)
            r = np.asarray(ratings)
            easy, hard = np.flatnonzero(r < HARD_DEPTH), np.flatnonzero(r >= HARD_DEPTH)
    idx = paper_split(easy, hard, split)
    if n is not None:
        idx = idx[:n]
    return TaskDataset("chess", split, [fens[i] for i in idx], [moves[i] for i in idx], [ratings[i] for i in idx], source=str(file))
