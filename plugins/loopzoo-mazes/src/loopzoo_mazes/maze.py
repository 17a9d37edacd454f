"""Mazes as numpy grids: seeded depth-first generation, shortest paths, text form.

A maze of odd side ``n`` is an ``[n, n]`` uint8 grid of codes ``OPEN, WALL, START, GOAL``.
Rooms sit at odd coordinates ``(2i+1, 2j+1)``; the border is wall. Depth-first search with
backtracking carves a spanning tree of the rooms, so the path between any two rooms is
unique, as in deep-thinking's mazes (Schwarzschild et al., 2021). No torch here.
"""
from __future__ import annotations

from collections import deque

import numpy as np

OPEN, WALL, START, GOAL = 0, 1, 2, 3
SYMBOLS = ".#SG"  # code -> character
PATH = "*"  # open cells on the path, in answers
CODES = {ch: code for code, ch in enumerate(SYMBOLS)}
STEPS = ((-1, 0), (0, -1), (0, 1), (1, 0))  # up, left, right, down: the BFS tie-break order


def generate(side: int, rng: np.random.Generator) -> np.ndarray:
    """One ``[side, side]`` maze: DFS-carved rooms, start and goal in two distinct random rooms."""
    if side < 5 or side % 2 == 0:
        raise ValueError(f"a maze side must be odd and at least 5, got {side}")
    rooms = (side - 1) // 2
    grid = np.full((side, side), WALL, dtype=np.uint8)
    visited = np.zeros((rooms, rooms), dtype=bool)
    draws = iter(rng.random(2 * rooms * rooms).tolist())  # one per carving step: pre-drawn is ~5x faster
    first = int(rng.integers(rooms * rooms))
    stack = [divmod(first, rooms)]
    visited[stack[0]] = True
    grid[2 * stack[0][0] + 1, 2 * stack[0][1] + 1] = OPEN
    while stack:
        r, c = stack[-1]
        free = [(r + dr, c + dc) for dr, dc in STEPS
                if 0 <= r + dr < rooms and 0 <= c + dc < rooms and not visited[r + dr, c + dc]]
        if not free:
            stack.pop()
            continue
        nr, nc = free[int(next(draws) * len(free))]
        grid[r + nr + 1, c + nc + 1] = OPEN  # the wall between the two rooms
        grid[2 * nr + 1, 2 * nc + 1] = OPEN
        visited[nr, nc] = True
        stack.append((nr, nc))
    start, goal = rng.choice(rooms * rooms, size=2, replace=False).tolist()
    grid[2 * (start // rooms) + 1, 2 * (start % rooms) + 1] = START
    grid[2 * (goal // rooms) + 1, 2 * (goal % rooms) + 1] = GOAL
    return grid


def shortest_path(grid: np.ndarray) -> np.ndarray | None:
    """``[n, n]`` bool mask of a shortest start-to-goal path (both ends included); None if unreachable.

    Breadth-first search over non-wall cells; ties go to the first neighbour in ``STEPS`` order,
    so the result is deterministic (and unique for DFS mazes, which have no loops).
    """
    (sr,), (sc,) = np.nonzero(grid == START)
    (gr,), (gc,) = np.nonzero(grid == GOAL)
    rows, cols = grid.shape
    parent = {(int(sr), int(sc)): None}
    queue = deque([(int(sr), int(sc))])
    while queue:
        cell = queue.popleft()
        if cell == (gr, gc):
            break
        for dr, dc in STEPS:
            nxt = (cell[0] + dr, cell[1] + dc)
            if 0 <= nxt[0] < rows and 0 <= nxt[1] < cols and nxt not in parent and grid[nxt] != WALL:
                parent[nxt] = cell
                queue.append(nxt)
    if (gr, gc) not in parent:
        return None
    mask = np.zeros(grid.shape, dtype=bool)
    cell = (int(gr), int(gc))
    while cell is not None:
        mask[cell] = True
        cell = parent[cell]
    return mask


def path_problem(grid: np.ndarray, marked: np.ndarray) -> str | None:
    """Why the cells ``marked`` (bool ``[n, n]``, start and goal included) are not one path from
    start to goal through open cells, or None if they are: joined up, on no wall, with no branch,
    dead end or stray cell."""
    walls = np.argwhere(marked & (grid == WALL))
    if len(walls):
        return f"the path crosses a wall at row {walls[0][0] + 1}, column {walls[0][1] + 1}"
    start, goal = (tuple(int(v) for v in np.argwhere(grid == code)[0]) for code in (START, GOAL))
    reached = {start}
    queue = deque([start])
    while queue:
        cell = queue.popleft()
        for dr, dc in STEPS:
            nxt = (cell[0] + dr, cell[1] + dc)
            if 0 <= nxt[0] < grid.shape[0] and 0 <= nxt[1] < grid.shape[1] and marked[nxt] and nxt not in reached:
                reached.add(nxt)
                queue.append(nxt)
    if goal not in reached:
        return "the path does not join the start to the goal"
    padded = np.pad(marked, 1)
    neighbours = padded[:-2, 1:-1].astype(int) + padded[2:, 1:-1] + padded[1:-1, :-2] + padded[1:-1, 2:]  # [n, n]
    for r, c in np.argwhere(marked).tolist():
        where = f"row {r + 1}, column {c + 1}"
        if (r, c) not in reached:
            return f"a path cell at {where} is not joined to the path"
        ends = (r, c) in (start, goal)
        if neighbours[r, c] > (1 if ends else 2):
            return f"the path branches at {where}"
        if not ends and neighbours[r, c] < 2:
            return f"the path has a dead end at {where}"
    return None


def to_text(grid: np.ndarray, path: np.ndarray | None = None) -> str:
    """Rows of ``#.SG`` joined by newlines; open cells of ``path`` (a bool mask) become ``*``."""
    chars = np.array(list(SYMBOLS))[grid]
    if path is not None:
        chars[path & (grid == OPEN)] = PATH
    return "\n".join("".join(row) for row in chars)
