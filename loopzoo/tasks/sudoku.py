"""Sudoku: fill a 9x9 grid; input one-hot over 10 classes (0 = blank), output the digit of every cell."""
from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ..registry import tasks
from .base import Task, fail, short


def clashes(grid: np.ndarray) -> list[str]:
    """Descriptions of repeated givens in rows, columns and boxes of a ``[9, 9]`` grid (0 = blank)."""
    found = []
    units = [("row", r, grid[r, :]) for r in range(9)]
    units += [("column", c, grid[:, c]) for c in range(9)]
    units += [("box", b, grid[3 * (b // 3) : 3 * (b // 3) + 3, 3 * (b % 3) : 3 * (b % 3) + 3].ravel()) for b in range(9)]
    for kind, i, cells in units:
        digits = cells[cells > 0]
        repeated = sorted({int(d) for d in digits if (digits == d).sum() > 1})
        if repeated:
            found.append(f"digit {repeated[0]} appears twice in {kind} {i + 1}")
    return found


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


tasks.register("sudoku", func=Sudoku)
