"""The mazes task: mark the path from start to goal, every cell of a square maze is a token.

Natural input: a string of rows of ``#`` (wall), ``.`` (open), ``S`` (start), ``G`` (goal),
separated by newlines or ``/`` (see :attr:`Mazes.example`); or a 2-D list/array of those
characters or of the codes 0 open, 1 wall, 2 start, 3 goal.
A list of strings is a batch of mazes. Answer: the maze text with open path cells as ``*``.

Tokens are cells, row-major; ``grid = (None, None)`` gives 2-D rotary positions for a square of
any side, so a model trained on small mazes runs unchanged on larger ones.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from loopzoo.errors import InputError
from loopzoo.tasks.base import Task, Verdict, fail, short

from .maze import CODES, GOAL, OPEN, PATH, START, SYMBOLS, WALL, path_problem, shortest_path, to_text


@dataclass
class Maze:
    """A parsed maze: ``grid [n, n]`` uint8 codes and its shortest path ``path [n, n]`` bool."""

    grid: np.ndarray
    path: np.ndarray

    @property
    def side(self) -> int:
        return self.grid.shape[0]


class Mazes(Task):
    """Input: a square maze with one ``S`` and one ``G``; answer: the maze with the path drawn in ``*``."""

    name = "mazes"
    in_channels = 3  # open (S and G are open), start, goal
    out_channels = 2  # off / on the path
    grid = (None, None)
    cell = "full"
    example = "#######/#S..#.#/###.#.#/#...#.#/#.###.#/#....G#/#######"

    def is_single(self, inputs: Any) -> bool:
        if isinstance(inputs, str):
            return True
        if isinstance(inputs, np.ndarray):
            return inputs.ndim == 2
        if isinstance(inputs, (list, tuple)) and inputs:
            return all(isinstance(row, (list, tuple, np.ndarray)) for row in inputs) and all(
                not isinstance(v, (list, tuple, np.ndarray)) for row in inputs for v in row
            )
        return False

    def _grid(self, item: Any, index: int, allow_path: bool = False) -> np.ndarray:
        """``[n, n]`` codes of one raw maze (``*`` read as open when ``allow_path``); checks its form only."""
        symbols = SYMBOLS + (PATH if allow_path else "")
        legend = "# wall, . open, S start, G goal" + (", * path" if allow_path else "")
        if isinstance(item, str):
            rows = [row.strip() for row in re.split(r"[\n/]", item.strip()) if row.strip()]
            if not rows:
                raise fail(self.name, index, "empty maze")
            bad = sorted(set("".join(rows)) - set(symbols))
            if bad:
                raise fail(self.name, index, f"maze cells are {legend}; found {bad[:5]} in {short(item)}")
            if len(set(map(len, rows))) > 1:
                raise fail(self.name, index, f"maze rows differ in length: {sorted(set(map(len, rows)))}")
            cells = [[ch for ch in row] for row in rows]
        elif isinstance(item, (list, tuple, np.ndarray)):
            try:
                cells = np.asarray(item, dtype=object)
            except ValueError:
                raise fail(self.name, index, "a maze grid must be rows of equal length") from None
            if cells.ndim != 2:
                hint = " (a list of strings is a batch of mazes; join one maze's rows with '\\n' or '/')" \
                    if cells.ndim == 1 and all(isinstance(v, str) for v in cells.tolist()) else ""
                raise fail(self.name, index, f"a maze grid is 2-D, got shape {cells.shape}{hint}")
            cells = cells.tolist()
        else:
            raise fail(self.name, index, f"expected a maze string or a 2-D grid, got {type(item).__name__} {short(item)}")
        codes = {**CODES, **({PATH: OPEN} if allow_path else {})}
        try:
            grid = np.array([[v if isinstance(v, (int, np.integer)) and not isinstance(v, bool) and 0 <= v <= 3
                              else codes[v] for v in row] for row in cells], dtype=np.uint8)
        except (KeyError, TypeError):
            raise fail(self.name, index, f"maze cells are {legend}, or the codes 0 open, 1 wall, 2 start, 3 goal; "
                                         f"got {short(cells)}") from None
        if grid.ndim != 2 or grid.shape[0] != grid.shape[1]:
            raise fail(self.name, index, f"a maze is square, got {grid.shape[0]} rows of {grid.shape[-1]} cells")
        if grid.shape[0] < 3:
            raise fail(self.name, index, f"a maze is at least 3x3, got {grid.shape[0]}x{grid.shape[0]}")
        return grid

    def parse(self, item: Any, index: int) -> Maze:
        grid = self._grid(item, index)
        for code, what in ((START, "start 'S'"), (GOAL, "goal 'G'")):
            count = int((grid == code).sum())
            if count != 1:
                raise fail(self.name, index, f"a maze has exactly one {what}, found {count}")
        path = shortest_path(grid)
        if path is None:
            raise fail(self.name, index, "the goal cannot be reached from the start")
        return Maze(grid, path)

    def length(self, parsed: Maze) -> int:
        return parsed.grid.size

    def encode(self, parsed: list[Maze]) -> torch.Tensor:
        grids = torch.from_numpy(np.stack([p.grid for p in parsed])).flatten(1)  # [B, L]
        return torch.stack((grids != WALL, grids == START, grids == GOAL), dim=-1).float()  # [B, L, 3]

    def decode(self, logits: torch.Tensor, parsed: list[Maze]) -> list[str]:
        on_path = logits.argmax(dim=-1).cpu().numpy().astype(bool)  # [B, L]
        return [to_text(p.grid, on.reshape(p.grid.shape)) for p, on in zip(parsed, on_path)]

    def verify(self, parsed: Maze, answer: Any) -> Verdict:
        """Valid iff ``answer`` is the input maze whose ``*`` cells, with ``S`` and ``G``, form one path
        from start to goal through open cells (no branch, dead end or stray cell). Mazes made by
        DFS have one such path, so a valid answer is the right one."""
        if not isinstance(answer, str):
            return Verdict(False, f"an answer is the maze text with the path in '*', got {type(answer).__name__}")
        try:
            drawn = self._grid(answer, 0, allow_path=True)  # '*' read as open
        except InputError as exc:
            return Verdict(False, str(exc).removeprefix(f"{self.name} input 0: "))
        if drawn.shape != parsed.grid.shape or not np.array_equal(drawn, parsed.grid):
            return Verdict(False, "the answer is not the same maze as the input")
        text = np.array(list(re.sub(r"[\s/]", "", answer))).reshape(parsed.grid.shape)
        problem = path_problem(parsed.grid, np.isin(text, [PATH, "S", "G"]))
        return Verdict(problem is None, problem or "a path from start to goal through open cells")

    def targets(self, parsed: list[Maze], answers: list[Any] | None = None) -> torch.Tensor:
        """``[B, L]`` 1 on the path (start and goal included): read from ``answers`` (the maze text with
        the path in ``*``) if given, else the shortest path."""
        if answers is None:
            masks = [p.path for p in parsed]
        else:
            masks = []
            for i, (p, answer) in enumerate(zip(parsed, answers)):
                if not isinstance(answer, str):
                    raise fail(self.name, i, f"an answer is the maze text with the path in '*', got {type(answer).__name__}")
                drawn = self._grid(answer, i, allow_path=True)  # '*' read as open
                if drawn.shape != p.grid.shape or ((drawn == WALL) != (p.grid == WALL)).any():
                    raise fail(self.name, i, "the answer is not the same maze as the input")
                text = np.array(list(re.sub(r"[\s/]", "", answer))).reshape(p.grid.shape)
                masks.append(np.isin(text, [PATH, "S", "G"]))
        return torch.from_numpy(np.stack(masks).reshape(len(parsed), -1).astype(np.int64))
