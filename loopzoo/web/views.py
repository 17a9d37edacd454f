"""How the page draws one task's answer at one iteration, as HTML (registered per task name).

A view gets a :class:`~loopzoo.web.record.Recording` and an iteration ``t`` (1-based). Tasks
without a registered view (a plugin's) are shown as text by :class:`View`; a plugin adds its own
through the entry-point group ``loopzoo_views``.
"""
from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

import numpy as np

from ..registry import views

if TYPE_CHECKING:
    from .record import Recording

CELLS = np.arange(81).reshape(9, 9)
UNITS = ([("row", r + 1, CELLS[r]) for r in range(9)] + [("column", c + 1, CELLS[:, c]) for c in range(9)]
         + [("box", b + 1, CELLS[3 * (b // 3):3 * (b // 3) + 3, 3 * (b % 3):3 * (b % 3) + 3].ravel()) for b in range(9)])
CHANGED = "#fde68a"  # highlight of what changed since the previous iteration
WRONG = "#b91c1c"


def softmax(logits: np.ndarray) -> np.ndarray:
    """Probabilities over the last axis of ``logits [..., C]``."""
    z = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return z / z.sum(axis=-1, keepdims=True)


def view_for(task_name: str) -> View:
    """The registered view of ``task_name``, or the plain-text :class:`View`."""
    return views.get(task_name)() if task_name in views.names() else View()


class View:
    """The answer as text; subclasses draw a task's natural picture."""

    def known_answer(self, parsed: Any) -> str | None:
        """The right answer when the view can compute it from the input alone (else ``None``)."""
        return None

    def render(self, rec: Recording, t: int) -> str:
        """HTML of the answer after iteration ``t``."""
        return (f'<div class="lz-view" data-iter="{t}"><pre class="lz-text">'
                f"{html.escape(str(rec.answer(t)))}</pre></div>")

    def caption(self, rec: Recording, t: int) -> str:
        """One line of markdown about iteration ``t``."""
        return ""


def rule_breaks(givens: np.ndarray, digits: np.ndarray) -> dict[int, list[str]]:
    """Cells of a filled grid that break a rule: a digit repeated in a row, column or box, or a
    given changed. ``givens [81]`` (0 = blank), ``digits [81]``; returns cell -> reasons."""
    found: dict[int, list[str]] = {}
    for kind, number, cells in UNITS:
        values = digits[cells]
        for d in np.unique(values):
            where = cells[values == d]
            if len(where) > 1:
                for cell in where:
                    found.setdefault(int(cell), []).append(f"{d} repeated in {kind} {number}")
    for cell in np.flatnonzero((givens > 0) & (givens != digits)):
        found.setdefault(int(cell), []).append(f"given {givens[cell]} changed to {digits[cell]}")
    return found


@views.register("sudoku")
class SudokuView(View):
    """The grid: givens bold, each cell shaded by the model's confidence, rule breaks in red, and
    a yellow edge on cells that changed since the previous iteration."""

    def digits(self, rec: Recording, t: int) -> np.ndarray:
        return np.frombuffer(str(rec.answer(t)).encode(), dtype=np.uint8) - ord("0")  # [81]

    def render(self, rec: Recording, t: int) -> str:
        givens = rec.parsed  # [81], 0 = blank
        digits = self.digits(rec, t)
        previous = self.digits(rec, t - 1) if t > 1 else digits
        confidence = softmax(rec.logits[t - 1]).max(axis=-1)  # [81]
        breaks = rule_breaks(givens, digits)
        rows = []
        for r in range(9):
            cells = []
            for c in range(9):
                i = 9 * r + c
                kind = ["lz-cell"] + ["given"] * bool(givens[i]) + ["break"] * (i in breaks) + \
                       ["changed"] * bool(previous[i] != digits[i])
                tip = f"r{r + 1}c{c + 1}: {digits[i]}, confidence {confidence[i]:.2f}"
                tip += "".join(f"; {why}" for why in breaks.get(i, []))
                style = f"background: rgba(37, 99, 235, {0.05 + 0.5 * confidence[i]:.3f})"
                cells.append(f'<td class="{" ".join(kind)}" data-cell="{i}" title="{html.escape(tip)}" '
                             f'style="{style}">{digits[i]}</td>')
            rows.append(f"<tr>{''.join(cells)}</tr>")
        return (f"<style>{SUDOKU_CSS}</style>"
                f'<div class="lz-view" data-iter="{t}"><table class="lz-sudoku">{"".join(rows)}</table></div>')

    def caption(self, rec: Recording, t: int) -> str:
        digits = self.digits(rec, t)
        breaks = rule_breaks(rec.parsed, digits)
        changed = int((self.digits(rec, t - 1) != digits).sum()) if t > 1 else 0
        right = "" if rec.expected is None else \
            f", {sum(a == b for a, b in zip(str(rec.answer(t)), rec.expected))}/81 cells right"
        return f"{len(breaks)} cells break a rule, {changed} changed since the previous iteration{right}"


SUDOKU_CSS = """
.lz-sudoku { border-collapse: collapse; border: 3px solid #111; margin: 4px 0; }
.lz-sudoku td { width: 2.2em; height: 2.2em; text-align: center; font-size: 1.25em; color: #1e3a8a;
  border: 1px solid #94a3b8; font-family: ui-monospace, monospace; }
.lz-sudoku td:nth-child(3n) { border-right: 3px solid #111; }
.lz-sudoku tr:nth-child(3n) td { border-bottom: 3px solid #111; }
.lz-sudoku td.given { font-weight: 800; color: #111; text-decoration: underline; }
.lz-sudoku td.changed { box-shadow: inset 0 0 0 3px #f59e0b; }
.lz-sudoku td.break { color: #b91c1c; font-weight: 800; outline: 2px solid #b91c1c; outline-offset: -4px; }
"""


@views.register("chess")
class ChessView(View):
    """The board from the side to move, the predicted move as a green arrow, the next best legal
    moves as blue arrows, squares tinted by the model's from/to score; a table of the top moves."""

    alternatives = 3

    def ranked(self, rec: Recording, t: int) -> list[tuple[Any, float]]:
        """Legal moves with their score (from- plus to-square logit margin), best first, ranked
        as the chess task's ``decode`` picks its answer."""
        import chess

        pos = rec.parsed
        margin = rec.logits[t - 1, :, 1] - rec.logits[t - 1, :, 0]  # [64] per canonical square
        real = np.empty(64)
        real[pos.to_real] = margin  # per real square
        moves = [(m, float(real[m.from_square] + real[m.to_square])) for m in pos.board.generate_legal_moves()]
        moves.sort(key=lambda ms: (ms[1], ms[0].promotion == chess.QUEEN), reverse=True)
        return moves

    def render(self, rec: Recording, t: int) -> str:
        import chess
        import chess.svg

        board = rec.parsed.board
        predicted = chess.Move.from_uci(str(rec.answer(t)))
        others = [m for m, _ in self.ranked(rec, t) if m != predicted][: self.alternatives]
        arrows = [chess.svg.Arrow(m.from_square, m.to_square, color="#2563eb80") for m in reversed(others)]
        arrows.append(chess.svg.Arrow(predicted.from_square, predicted.to_square, color="#15803dcc"))
        margin = rec.logits[t - 1, :, 1] - rec.logits[t - 1, :, 0]  # [64]
        p = 1 / (1 + np.exp(-margin))
        fill = {int(rec.parsed.to_real[i]): f"#f59e0b{int(200 * p[i]):02x}" for i in range(64) if p[i] > 0.1}
        svg = chess.svg.board(board, orientation=board.turn, arrows=arrows, fill=fill, size=380)
        return (f'<div class="lz-view" data-iter="{t}" data-move="{predicted.uci()}">{svg}'
                f"{self.table(rec, t)}</div>")

    def table(self, rec: Recording, t: int) -> str:
        board = rec.parsed.board
        ranked = self.ranked(rec, t)
        scores = np.array([s for _, s in ranked])
        share = softmax(scores)
        rows = "".join(f"<tr><td>{i + 1}</td><td>{html.escape(board.san(m))}</td><td>{s:+.2f}</td>"
                       f"<td>{w:.0%}</td></tr>" for i, ((m, s), w) in enumerate(zip(ranked, share))
                       if i <= self.alternatives)
        return ('<table class="lz-moves"><tr><th>#</th><th>move</th><th>score</th><th>share</th></tr>'
                f"{rows}</table>")

    def caption(self, rec: Recording, t: int) -> str:
        move = rec.answer(t)
        text = f"predicted {move.san} ({move.uci}); score = from- plus to-square logit margin, share = softmax over legal moves"
        if rec.expected is not None:
            import chess

            right = chess.Move.from_uci(rec.expected)
            san = rec.parsed.board.san(right) if rec.parsed.board.is_legal(right) else "not legal here"
            text += f"; the right move is {san} ({rec.expected})"
        return text


@views.register("prefix-sums")
class PrefixSumsView(View):
    """The input bits and the answer bits; bits changed since the previous iteration on yellow,
    wrong bits (when the answer is known) in red."""

    per_line = 48

    def known_answer(self, parsed: np.ndarray) -> str:
        return "".join("01"[b] for b in (np.cumsum(parsed) % 2))

    def render(self, rec: Recording, t: int) -> str:
        answer = str(rec.answer(t))
        previous = str(rec.answer(t - 1)) if t > 1 else answer
        source = "".join("01"[b] for b in rec.parsed)
        lines = []
        for start in range(0, len(answer), self.per_line):
            stop = start + self.per_line
            bits = []
            for i in range(start, min(stop, len(answer))):
                kind = "bit" + " changed" * (answer[i] != previous[i]) + \
                       " wrong" * (rec.expected is not None and answer[i] != rec.expected[i])
                bits.append(f'<span class="{kind}">{answer[i]}</span>')
            lines.append(f'<div class="lz-pos">{start:>5}</div><div class="lz-in">{source[start:stop]}</div>'
                         f'<div class="lz-out">{"".join(bits)}</div>')
        return (f"<style>{BITS_CSS}</style>"
                f'<div class="lz-view lz-bits" data-iter="{t}" data-answer="{answer}">{"".join(lines)}</div>')

    def caption(self, rec: Recording, t: int) -> str:
        answer = str(rec.answer(t))
        previous = str(rec.answer(t - 1)) if t > 1 else answer
        changed = sum(a != b for a, b in zip(answer, previous))
        text = f"{changed} bits changed since the previous iteration (top: input, bottom: running parity)"
        if rec.expected is not None:
            text += f"; {sum(a != b for a, b in zip(answer, rec.expected))} of {len(answer)} bits wrong"
        return text


BITS_CSS = f"""
.lz-bits {{ display: grid; grid-template-columns: auto 1fr; column-gap: 1em; font-family: ui-monospace, monospace;
  font-size: 0.95em; line-height: 1.3; }}
.lz-bits .lz-pos {{ grid-row: span 2; color: #64748b; }}
.lz-bits .lz-in {{ color: #64748b; letter-spacing: 0.05em; }}
.lz-bits .lz-out {{ margin-bottom: 0.5em; letter-spacing: 0.05em; }}
.lz-bits .changed {{ background: {CHANGED}; }}
.lz-bits .wrong {{ color: {WRONG}; font-weight: 800; }}
"""
