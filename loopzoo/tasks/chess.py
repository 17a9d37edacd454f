"""Chess puzzles: find the best move of a position (docs/design.md §5).

The board is shown from the side to move as white (rotated 180 degrees with colours swapped
when black moves), then mirrored left-right if that king stands on files a-d. Input: 12 piece
planes per square; output: per square, whether it is the from- or to-square of the answer.
Requires python-chess (``pip install loopzoo[chess]``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from ..errors import LoopzooError
from ..registry import tasks
from .base import UNKNOWN, Task, Verdict, fail, short

MATE_DEPTH = 2  # verify() checks answers against forced mates within this many of our moves


def _chess():
    try:
        import chess
    except ImportError:
        raise LoopzooError("the chess task needs python-chess: pip install 'loopzoo[chess]'") from None
    return chess


@dataclass(frozen=True)
class ChessMove:
    """A legal move, in UCI and SAN."""

    uci: str
    san: str

    def __str__(self) -> str:
        return self.uci


@dataclass
class Position:
    """A parsed position and the map from canonical squares (model frame) to real squares."""

    board: Any  # chess.Board
    to_real: np.ndarray  # [64] canonical square -> real square
    planes: np.ndarray  # [64] piece index 0-11 in the canonical frame, -1 = empty
    mates: tuple[int, list[Any]] | None = field(default=None, repr=False)  # cached forced_mates()


def mating_moves(board, moves: int):
    """Lazily, the legal moves of ``board`` that force checkmate within ``moves`` of the mover's moves."""
    for move in list(board.legal_moves):
        board.push(move)
        try:
            mate = board.is_checkmate() or (moves > 1 and not board.is_game_over() and all(
                _still_mates(board, reply, moves - 1) for reply in list(board.legal_moves)))
        finally:
            board.pop()
        if mate:
            yield move


def _still_mates(board, reply, moves: int) -> bool:
    board.push(reply)
    try:
        return any(True for _ in mating_moves(board, moves))
    finally:
        board.pop()


def forced_mates(board, depth: int = MATE_DEPTH) -> tuple[int, list[Any]]:
    """``(n, moves)``: the fewest moves ``n <= depth`` in which the side to move forces mate, and
    the moves that do it; ``(0, [])`` when there is no such mate."""
    for n in range(1, depth + 1):
        moves = list(mating_moves(board, n))
        if moves:
            return n, moves
    return 0, []


def canonicalize(board) -> Position:
    chess = _chess()
    flip = board.turn == chess.BLACK  # show the side to move as white: rotate 180 degrees
    king = board.king(board.turn)
    mirror = ((63 - king) if flip else king) % 8 < 4  # then put that king on files e-h
    canon = np.arange(64)
    rotated = canon ^ 7 if mirror else canon
    to_real = 63 - rotated if flip else rotated
    planes = np.full(64, -1, dtype=np.int64)
    for canon, real in enumerate(to_real):
        piece = board.piece_at(int(real))
        if piece is not None:
            own = piece.color == board.turn
            planes[canon] = (piece.piece_type - 1) + (0 if own else 6)
    return Position(board, to_real, planes)


class Chess(Task):
    """Input: a FEN; answer: the best move as :class:`ChessMove` (UCI and SAN), always legal."""

    name = "chess"
    in_channels = 12  # own P N B R Q K, then the opponent's
    out_channels = 2  # per square: not / is a square of the move
    grid = (8, 8)
    cell = "full"
    example = "r1bqkbnr/pppp1ppp/2n5/4p3/2B1P3/5Q2/PPPP1PPP/RNB1K1NR w KQkq - 2 3"

    def is_single(self, inputs: Any) -> bool:
        return isinstance(inputs, str) or type(inputs).__name__ == "Board"

    def parse(self, item: Any, index: int) -> Position:
        chess = _chess()
        if isinstance(item, chess.Board):
            board = item.copy(stack=False)
        elif isinstance(item, str):
            try:
                board = chess.Board(item.strip())
            except ValueError as exc:
                raise fail(self.name, index, f"invalid FEN {short(item)}: {exc}") from None
        else:
            raise fail(self.name, index, f"expected a FEN string, got {type(item).__name__} {short(item)}")
        if not board.is_valid():
            raise fail(self.name, index, f"illegal position {short(item)}: {board.status()!r}")
        if not any(board.generate_legal_moves()):
            outcome = "checkmate" if board.is_check() else "stalemate"
            raise fail(self.name, index, f"the side to move has no legal move ({outcome})")
        return canonicalize(board)

    def encode(self, parsed: list[Position]) -> torch.Tensor:
        planes = torch.from_numpy(np.stack([p.planes for p in parsed]))  # [B, 64]
        return torch.nn.functional.one_hot(planes + 1, 13)[..., 1:].float()  # [B, 64, 12], empty = 0

    def decode(self, logits: torch.Tensor, parsed: list[Position]) -> list[ChessMove]:
        """The legal move whose from- and to-square score highest together."""
        chess = _chess()
        scores = (logits[..., 1] - logits[..., 0]).float().cpu().numpy()  # [B, 64]
        answers = []
        for score, pos in zip(scores, parsed):
            to_canon = np.argsort(pos.to_real)
            best = max(
                pos.board.generate_legal_moves(),
                key=lambda m: (score[to_canon[m.from_square]] + score[to_canon[m.to_square]], m.promotion == chess.QUEEN),
            )
            answers.append(ChessMove(best.uci(), pos.board.san(best)))
        return answers

    def targets(self, parsed: list[Position], answers: list[Any]) -> torch.Tensor:
        chess = _chess()
        out = torch.zeros(len(parsed), 64, dtype=torch.long)
        for i, (pos, answer) in enumerate(zip(parsed, answers)):
            move = chess.Move.from_uci(str(answer)) if not isinstance(answer, chess.Move) else answer
            to_canon = np.argsort(pos.to_real)
            out[i, to_canon[move.from_square]] = 1
            out[i, to_canon[move.to_square]] = 1
        return out

    def correct(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Right iff the two highest-scoring squares are the from- and to-square."""
        score = logits[..., 1] - logits[..., 0]  # [B, 64]
        top2 = score.topk(2, dim=-1).indices
        return targets.gather(1, top2).sum(dim=1) == 2

    def mates(self, pos: Position) -> tuple[int, list[Any]]:
        """:func:`forced_mates` of a parsed position, computed once and kept on it."""
        if pos.mates is None:
            pos.mates = forced_mates(pos.board.copy(stack=False))
        return pos.mates

    def verify(self, parsed: Position, answer: Any) -> Verdict:
        """Illegal moves fail. Where the side to move can force mate within :data:`MATE_DEPTH`
        moves (python-chess finds it), the answer verifies iff it is a fastest mating move;
        elsewhere a legal move is unknown (checking its strength would need an engine)."""
        chess = _chess()
        try:
            move = answer if isinstance(answer, chess.Move) else chess.Move.from_uci(str(getattr(answer, "uci", answer)))
        except ValueError:
            return Verdict(False, f"{short(answer)} is not a move in UCI notation")
        if not parsed.board.is_legal(move):
            return Verdict(False, f"{move.uci()} is not a legal move here")
        n, mates = self.mates(parsed)
        if not n:
            return Verdict(None, f"a legal move; there is no forced mate within {MATE_DEPTH} moves to check it against")
        what = "checkmate" if n == 1 else f"forces mate in {n}"
        if move in mates:
            return Verdict(True, what)
        return Verdict(False, f"misses a mate in {n} ({parsed.board.san(mates[0])})")

    def verify_logits(self, logits: torch.Tensor, parsed: list[Position]) -> torch.Tensor:
        """Decodes only the positions with a forced mate; the others are unknown (decoding is legal)."""
        codes = torch.full((logits.shape[0],), UNKNOWN, dtype=torch.int8)
        rows = [i for i, pos in enumerate(parsed) if self.mates(pos)[0]]
        if rows:
            answers = self.decode(logits[rows], [parsed[i] for i in rows])
            for i, answer in zip(rows, answers):
                codes[i] = self.verify(parsed[i], answer).code
        return codes.to(logits.device)

    partial_name = "move squares right"

    def partial(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Share of the from- and to-square among the two highest-scoring squares (0, 0.5 or 1)."""
        top2 = (logits[..., 1] - logits[..., 0]).topk(2, dim=-1).indices
        return targets.gather(1, top2).sum(dim=1).float() / 2


tasks.register("chess", func=Chess)
