"""Real Lichess puzzles bundled with the package, split by a hash of the FEN.

``bundled/lichess_puzzles_8896.csv.xz``: the first 10,000 rows (by puzzle id) of the Lichess
puzzle database, deduplicated to 8,896 (CC0; from jorgenwh/alpha-nonzero @8845c51a :
lichess_puzzles.csv, see ``bundled/PROVENANCE.md``). Its ``fen`` is the position *after* the
opponent's setup move; the move to find is ``best_move_uci``; ``rating`` is the puzzle's Lichess
rating, kept on every item.

Split rule (``seed`` = 0 is the canonical split): every puzzle gets the key
``sha256(f"loopzoo-lichess:{seed}:{fen}")``; sorted by key, the first 2,000 are the test split,
the next 1,000 val, the rest (5,896) train. The key depends on the FEN only, so the split does
not depend on file order, and a hash sample is spread over all ratings in proportion. Within a
split, items are in key order.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

from ..errors import DataError
from . import bundled
from .base import TaskDataset, cached_read, check_split

FILE = "lichess_puzzles_8896.csv.xz"
COLUMNS = ("fen", "best_move_uci", "rating")
N_TEST, N_VAL = 2_000, 1_000
PROVENANCE = {
    "task": "chess",
    "source": "jorgenwh/alpha-nonzero @8845c51a : lichess_puzzles.csv (the first 10,000 rows of the "
              "Lichess puzzle database by id), deduplicated",
    "licence": "Lichess puzzle database: CC0 (https://database.lichess.org/#puzzles)",
    "columns": "puzzle_id (empty), fen (after the opponent's setup move), best_move_uci (the move to find), "
               "best_move_san, solution_uci, puzzle_fen_before_setup, setup_move_uci, rating",
    "split": f"sha256('loopzoo-lichess:{{seed}}:{{fen}}') order: test {N_TEST:,}, val {N_VAL:,}, train the rest",
}


def path() -> Path:
    """The bundled Lichess file, its sha256 checked against the manifest."""
    file = bundled.DIR / FILE
    if not file.is_file():
        raise DataError(f"{file}: the bundled Lichess puzzles are missing (reinstall loopzoo)")
    bundled.verify_hash(file)
    return file


def read(file: str | Path, progress: bool = False) -> tuple[list[str], list[str], list[float]]:
    """``(fens, moves, ratings)`` of a file in the bundled format; every FEN and move is checked legal."""
    from .chess import read_positions

    return read_positions(file, COLUMNS, move="best_move_uci", progress=progress)


def split_key(fen: str, seed: int = 0) -> str:
    """The hash that places a puzzle in a split (independent of file order)."""
    return hashlib.sha256(f"loopzoo-lichess:{seed}:{fen}".encode()).hexdigest()


def split_indices(fens: list[str], split: str, seed: int = 0) -> list[int]:
    """Row indices of ``split`` under the rule in the module docstring, in key order."""
    check_split(split)
    if len(fens) <= N_TEST + N_VAL:
        raise DataError(f"{len(fens):,} puzzles are too few for test {N_TEST:,} + val {N_VAL:,} + train")
    order = sorted(range(len(fens)), key=lambda i: split_key(fens[i], seed))
    bounds = {"test": (0, N_TEST), "val": (N_TEST, N_TEST + N_VAL), "train": (N_TEST + N_VAL, len(fens))}
    lo, hi = bounds[split]
    return order[lo:hi]


def lichess_split(split: str, seed: int = 0, path_: str | Path | None = None, n: int | None = None) -> TaskDataset:
    """A split of the bundled Lichess puzzles (or of ``path_``, a file in the same format)."""
    file = Path(path_) if path_ is not None else path()
    fens, moves, ratings = cached_read(read, file)
    idx = split_indices(fens, split, seed)
    if n is not None:
        idx = idx[:n]
    return TaskDataset("chess", split, [fens[i] for i in idx], [moves[i] for i in idx], [ratings[i] for i in idx],
                       source=f"{file} (lichess, seed {seed})")
