"""Sudoku: fill a 9x9 grid; input one-hot over 10 classes (0 = blank), output the digit of every cell."""
from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ..registry import tasks
from .base import FAILED, VERIFIED, Task, Verdict, fail, short


def units(grid: np.ndarray) -> list[tuple[str, int, np.ndarray]]:
    """``(kind, index, cells)`` of the 27 rows, columns and boxes of a ``[9, 9]`` grid, in that order."""
    found = [("row", r, grid[r, :]) for r in range(9)]
    found += [("column", c, grid[:, c]) for c in range(9)]
    found += [("box", b, grid[3 * (b // 3) : 3 * (b // 3) + 3, 3 * (b % 3) : 3 * (b % 3) + 3].ravel()) for b in range(9)]
    return found


def repeats(grid: np.ndarray) -> list[tuple[int, str, int]]:
    """``(digit, kind, index)`` of the smallest repeated digit of each unit that repeats one (0 = blank)."""
    found = []
    for kind, i, cells in units(grid):
        counts = np.bincount(cells[cells > 0], minlength=10)
        if counts.max(initial=0) > 1:
            found.append((int(np.argmax(counts > 1)), kind, i))
    return found


def clashes(grid: np.ndarray) -> list[str]:
    """Descriptions of repeated givens in rows, columns and boxes of a ``[9, 9]`` grid (0 = blank)."""
    return [f"digit {d} appears twice in {kind} {i + 1}" for d, kind, i in repeats(grid)]


def answer_digits(answer: Any) -> np.ndarray | str:
    """The ``[81]`` digits of a filled grid (an 81-digit string or a 9x9/81 grid), or what is wrong with it."""
    if isinstance(answer, str):
        text = "".join(answer.split())
        if len(text) != 81:
            return f"an answer has 81 digits, got {len(text)} characters"
        if not set(text) <= set("123456789"):
            return f"an answer holds digits 1-9 only, found {sorted(set(text) - set('123456789'))[:5]}"
        return np.frombuffer(text.encode(), dtype=np.uint8).astype(np.int64) - ord("0")
    if isinstance(answer, (list, tuple, np.ndarray)):
        try:
            cells = np.asarray(answer, dtype=object)
        except ValueError:
            return "an answer grid must be 9 rows of 9 digits"
        if cells.shape not in ((9, 9), (81,)):
            return f"an answer grid is 9x9 or 81 digits, got shape {cells.shape}"
        values = cells.ravel().tolist()
        if not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) and 1 <= v <= 9 for v in values):
            return "an answer grid holds digits 1-9 only"
        return np.asarray(values, dtype=np.int64)
    return f"an answer is an 81-digit string or a 9x9 grid, got {type(answer).__name__}"


class Sudoku(Task):
    """Input: an 81-character string (``.`` or ``0`` for blanks) or a 9x9 list/array; answer: 81 digits."""

    name = "sudoku"
    in_channels = 10
    out_channels = 9  # digit - 1
    partial_name = "cells right (givens included)"
    grid = (9, 9)
    cell = "full"
    example = "..3.2.6..9..3.5..1..18.64....81.29..7.......8..67.82....26.95..8..2.3..9..5.1.3.."

    def is_single(self, inputs: Any) -> bool:
        if isinstance(inputs, str):
            return True
        if isinstance(inputs, np.ndarray):
            return inputs.shape in ((81,), (9, 9))
        if isinstance(inputs, (list, tuple)) and inputs:
            if all(isinstance(v, (int, np.integer)) for v in inputs):
                return True  # 81 numbers
            return len(inputs) == 9 and all(
                isinstance(row, (list, tuple)) and all(isinstance(v, (int, np.integer)) for v in row) for row in inputs
            )
        return False

    def parse(self, item: Any, index: int) -> np.ndarray:
        if isinstance(item, str):
            text = "".join(item.split())
            if len(text) != 81:
                raise fail(self.name, index, f"a sudoku string has 81 cells, got {len(text)}: {short(item)}")
            bad = sorted(set(text) - set("0123456789."))
            if bad:
                raise fail(self.name, index, f"cells hold digits 1-9 and '.' or '0' for blanks, found {bad[:5]}")
            grid = np.array([0 if ch == "." else int(ch) for ch in text], dtype=np.int64)
        elif isinstance(item, (list, tuple, np.ndarray)):
            try:
                grid = np.asarray(item, dtype=object)
            except ValueError:
                raise fail(self.name, index, "a sudoku grid must be 9 rows of 9 numbers") from None
            if grid.shape not in ((9, 9), (81,)):
                raise fail(self.name, index, f"a sudoku grid is 9x9 or 81 numbers, got shape {grid.shape}")
            values = grid.ravel().tolist()
            if not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) and 0 <= v <= 9 for v in values):
                raise fail(self.name, index, "sudoku cells are integers 0-9 (0 = blank)")
            grid = np.asarray(values, dtype=np.int64)
        else:
            raise fail(self.name, index, f"expected an 81-character string or a 9x9 grid, got {type(item).__name__}")
        problems = clashes(grid.reshape(9, 9))
        if problems:
            raise fail(self.name, index, "the givens clash: " + "; ".join(problems))
        return grid  # [81], 0 = blank

    def encode(self, parsed: list[np.ndarray]) -> torch.Tensor:
        cells = torch.from_numpy(np.stack(parsed))  # [B, 81]
        return torch.nn.functional.one_hot(cells, 10).float()  # [B, 81, 10]

    def decode(self, logits: torch.Tensor, parsed: list[np.ndarray]) -> list[str]:
        digits = (logits.argmax(dim=-1) + 1).tolist()  # [B, 81]
        return ["".join(map(str, row)) for row in digits]

    def targets(self, parsed: list[np.ndarray], answers: list[Any]) -> torch.Tensor:
        solved = [self.parse(a, i) for i, a in enumerate(answers)]
        return torch.from_numpy(np.stack(solved)) - 1  # [B, 81]

    def verify(self, parsed: np.ndarray, answer: Any) -> Verdict:
        """Valid iff the answer keeps every given and repeats no digit in a row, column or box.

        A sudoku with a unique solution (every bundled one) has no other valid answer, so a
        valid answer is the right one. A failure names the first rule broken.
        """
        digits = answer_digits(answer)
        if isinstance(digits, str):
            return Verdict(False, digits)
        changed = np.flatnonzero((parsed > 0) & (digits != parsed))
        if len(changed):
            r, c = divmod(int(changed[0]), 9)
            return Verdict(False, f"row {r + 1}, column {c + 1} is given as {parsed[changed[0]]}, "
                                  f"the answer has {digits[changed[0]]}")
        found = repeats(digits.reshape(9, 9))
        if found:
            d, kind, i = found[0]
            return Verdict(False, f"digit {d} twice in {kind} {i + 1}")
        return Verdict(True, "a valid solution: every given kept, no digit repeated")

    def verify_logits(self, logits: torch.Tensor, parsed: list[np.ndarray]) -> torch.Tensor:
        """:meth:`verify` of the decoded answers as tensor operations (no decoding, no host sync)."""
        pred = logits.argmax(dim=-1)  # [B, 81] digit - 1
        givens = torch.from_numpy(np.stack(parsed)).to(pred.device)  # [B, 81], 0 = blank
        kept = ((givens == 0) | (pred + 1 == givens)).all(dim=-1)  # [B]
        counts = torch.nn.functional.one_hot(pred, 9).view(-1, 9, 9, 9)  # [B, row, column, digit]
        rows = (counts.sum(dim=2) == 1).flatten(1).all(dim=-1)
        columns = (counts.sum(dim=1) == 1).flatten(1).all(dim=-1)
        boxes = (counts.view(-1, 3, 3, 3, 3, 9).sum(dim=(2, 4)) == 1).flatten(1).all(dim=-1)
        ok = kept & rows & columns & boxes
        return torch.where(ok, VERIFIED, FAILED).to(torch.int8)


tasks.register("sudoku", func=Sudoku)
