"""Maze data: DFS mazes generated from ``(split, seed, side)``, found by ``load_split("mazes", ...)``.

Defaults follow deep-thinking's easy-to-hard set-up: train on small mazes, test on larger
ones. Train 8,000 and val 2,000 mazes of side 9 (4x4 rooms), test 2,000 of side 13 (6x6 rooms).
Each split draws from its own stream (``SeedSequence`` of seed, split and side), so changing one
split's size does not change the others, and the first ``n`` mazes never depend on ``n``.
"""
from __future__ import annotations

import numpy as np
from loopzoo.data.base import TaskDataset, check_split
from loopzoo.errors import LoopzooError

from .maze import generate, shortest_path, to_text

SPLITS = {"train": (9, 8_000), "val": (9, 2_000), "test": (13, 2_000)}  # split -> (side, count)
_STREAM = {"train": 0, "val": 1, "test": 2}


def mazes(split: str, seed: int = 0, n: int | None = None, side: int | None = None) -> list[np.ndarray]:
    """``n`` mazes (``[side, side]`` uint8 codes) of ``split`` for ``seed`` (defaults: :data:`SPLITS`)."""
    check_split(split)
    default_side, default_n = SPLITS[split]
    side = default_side if side is None else side
    n = default_n if n is None else n
    if not isinstance(side, int) or side < 5 or side % 2 == 0 or not isinstance(n, int) or n < 1:
        raise LoopzooError(f"mazes need an odd side >= 5 and n >= 1, got side={side!r}, n={n!r}")
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, _STREAM[split], side])))
    return [generate(side, rng) for _ in range(n)]


def mazes_split(split: str, seed: int = 0, path: None = None, n: int | None = None, side: int | None = None) -> TaskDataset:
    """A mazes split (``side=`` overrides the maze side), generated on the fly; no file is read."""
    if path is not None:
        raise LoopzooError("mazes are generated, not read: leave path=None")
    grids = mazes(split, seed, n, side)
    inputs = [to_text(g) for g in grids]
    answers = [to_text(g, shortest_path(g)) for g in grids]
    return TaskDataset("mazes", split, inputs, answers, None, source=f"generated seed={seed}")
