"""Finding and driving Stockfish reproducibly: one thread, 1 MB hash, fixed depth, cleared hash.

The engine is looked up in ``$LOOPZOO_STOCKFISH``, then on ``PATH``, then in ``/usr/games``
(where Debian's ``stockfish`` package puts it). With one thread and a new game (cleared hash)
before every search, a fixed-depth search gives the same answer every time.
"""
from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from ..errors import LoopzooError

MATE = 100_000  # centipawn value of a mate score


def find() -> Path | None:
    """Path of the Stockfish binary, or None."""
    env = os.environ.get("LOOPZOO_STOCKFISH")
    if env:
        return Path(env) if Path(env).is_file() else None
    found = shutil.which("stockfish") or shutil.which("stockfish", path="/usr/games")
    return Path(found) if found else None


@dataclass
class Line:
    """One principal variation: first move (UCI) and score in centipawns for the side to move."""

    move: str
    cp: int


class Engine:
    """A Stockfish process set up for reproducible fixed-depth searches. Use as a context manager."""

    def __init__(self, path: str | Path | None = None, hash_mb: int = 1):
        import chess.engine

        path = Path(path) if path else find()
        if path is None:
            raise LoopzooError(
                "Stockfish not found: install it (apt-get install stockfish) or set LOOPZOO_STOCKFISH=/path/to/stockfish"
            )
        self.path = path
        self._engine = chess.engine.SimpleEngine.popen_uci(str(path))
        self._engine.configure({"Threads": 1, "Hash": hash_mb})
        self.name = self._engine.id.get("name", "stockfish")

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._engine.quit()

    def lines(self, board, depth: int, multipv: int = 2) -> list[Line]:
        """The top ``multipv`` moves at ``depth`` after a cleared hash, best first."""
        import chess.engine

        infos = self._engine.analyse(board, chess.engine.Limit(depth=depth), multipv=multipv, game=object())
        return [Line(i["pv"][0].uci(), i["score"].pov(board.turn).score(mate_score=MATE)) for i in infos if i.get("pv")]

    def find_depth(self, board, depth: int, move: str) -> tuple[int, list[Line]]:
        """``(d, lines)``: the depth from which a search to ``depth`` keeps ``move`` as its best move
        (``depth + 1`` if it is not best at ``depth``), and the top two lines at ``depth``."""
        import chess.engine

        best_at: dict[int, str] = {}
        final: dict[int, Line] = {}
        with self._engine.analysis(board, chess.engine.Limit(depth=depth), multipv=2, game=object()) as analysis:
            for info in analysis:
                if "pv" not in info or "depth" not in info or "score" not in info:
                    continue
                k = info.get("multipv", 1)
                if k == 1:
                    best_at[info["depth"]] = info["pv"][0].uci()
                if info["depth"] == depth:
                    final[k] = Line(info["pv"][0].uci(), info["score"].pov(board.turn).score(mate_score=MATE))
        found = depth + 1
        for d in sorted(best_at, reverse=True):
            if best_at[d] != move:
                break
            found = d
        return found, [final[k] for k in sorted(final)]
