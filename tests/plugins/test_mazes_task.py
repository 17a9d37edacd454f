"""The loopzoo-mazes package itself, imported from its real install: generation, parsing, encoding.

Only the plugin's modules are imported here (no loopzoo registry lookups), so this pytest
process's registries never see the plugin.
"""
from __future__ import annotations

import importlib
import sys

import numpy as np
import pytest
import torch

from loopzoo import InputError


@pytest.fixture(scope="module")
def mz(installed):
    """The installed ``loopzoo_mazes`` modules: ``mz.maze``, ``mz.task``, ``mz.data``."""
    sys.path.insert(0, str(installed.good))
    try:
        modules = {name: importlib.import_module(f"loopzoo_mazes.{name}") for name in ("maze", "task", "data", "names")}
    finally:
        sys.path.remove(str(installed.good))
    assert modules["task"].__file__.startswith(str(installed.good))
    yield type("Mazes", (), modules)
    for name in [m for m in sys.modules if m == "loopzoo_mazes" or m.startswith("loopzoo_mazes.")]:
        del sys.modules[name]


@pytest.mark.parametrize("side", [5, 7, 9, 13, 21])
def test_generated_mazes_are_perfect_and_seeded(mz, side):
    rng = np.random.default_rng(side)
    grids = [mz.maze.generate(side, rng) for _ in range(20)]
    assert np.array_equal(grids[0], mz.maze.generate(side, np.random.default_rng(side)))  # same seed, same maze
    rooms = (side - 1) // 2
    for grid in grids:
        assert grid.shape == (side, side) and grid.dtype == np.uint8
        assert (grid[0] == mz.maze.WALL).all() and (grid[:, -1] == mz.maze.WALL).all()
        assert (grid == mz.maze.START).sum() == 1 and (grid == mz.maze.GOAL).sum() == 1
        assert (grid[1::2, 1::2] != mz.maze.WALL).all() and (grid[::2, ::2] == mz.maze.WALL).all()
        # a spanning tree of rooms x rooms cells has rooms^2 - 1 passages: no loops, all connected
        assert (grid != mz.maze.WALL).sum() == rooms * rooms + rooms * rooms - 1
        path = mz.maze.shortest_path(grid)
        assert path is not None and path[grid == mz.maze.START].all() and path[grid == mz.maze.GOAL].all()
        assert not path[grid == mz.maze.WALL].any()
    assert len({g.tobytes() for g in grids}) > 10  # varied (side 5 has only 48 mazes)
    with pytest.raises(ValueError, match="odd"):
        mz.maze.generate(8, rng)


def test_splits_are_deterministic_and_independent(mz):
    a = mz.data.mazes("train", seed=0, n=30, side=7)
    assert all(np.array_equal(x, y) for x, y in zip(a[:10], mz.data.mazes("train", seed=0, n=10, side=7)))
    b = mz.data.mazes("val", seed=0, n=30, side=7)
    c = mz.data.mazes("train", seed=1, n=30, side=7)
    assert sum(np.array_equal(x, y) for x, y in zip(a, b)) < 5 and sum(np.array_equal(x, y) for x, y in zip(a, c)) < 5
    assert [g.shape[0] for g in (mz.data.mazes(s, n=1)[0] for s in ("train", "val", "test"))] == [9, 9, 13]
    with pytest.raises(Exception, match="odd side"):
        mz.data.mazes("train", n=1, side=6)


def test_text_and_grid_inputs_parse_to_the_same_maze(mz):
    task = mz.task.Mazes()
    text = task.example
    lines = text.replace("/", "\n")
    codes = np.array([[".#SG".index(ch) for ch in row] for row in text.split("/")])
    chars = [list(row) for row in text.split("/")]
    parsed = [task.parse(item, i) for i, item in enumerate((text, lines, " \n" + lines + "\n", codes, codes.tolist(), chars))]
    for p in parsed[1:]:
        assert np.array_equal(p.grid, parsed[0].grid) and np.array_equal(p.path, parsed[0].path)
    assert parsed[0].side == 7 and task.length(parsed[0]) == 49 and int(parsed[0].path.sum()) == 13
    assert task.as_batch(text) == ([text], True) and task.as_batch(codes)[1] and task.as_batch(chars)[1]
    assert task.as_batch([text, codes]) == ([text, codes], False)


@pytest.mark.parametrize("item, problem", [
    ("#S#/#.#/###", "exactly one goal 'G', found 0"),
    ("#SS/#.#/#G#", "exactly one start 'S', found 2"),
    ("#S#/###/#G#", "the goal cannot be reached from the start"),
    ("#S#/#.#/#G", "maze rows differ in length"),
    ("#S##/#..#/#.G#", "a maze is square, got 3 rows of 4 cells"),
    ("SG/..", "a maze is at least 3x3"),
    ("#S#/#x#/#G#", "maze cells are # wall, . open, S start, G goal; found ['x']"),
    ("", "empty maze"),
    (np.zeros((2, 2, 2)), "a maze grid is 2-D"),
    ([[0, 1, 2], [0, 5, 3], [0, 0, 0]], "or the codes 0 open, 1 wall, 2 start, 3 goal"),
    (42, "expected a maze string or a 2-D grid, got int"),
])
def test_bad_inputs_name_the_index_and_the_problem(mz, item, problem):
    with pytest.raises(InputError) as info:
        mz.task.Mazes().parse(item, 3)
    assert str(info.value).startswith("mazes input 3: ") and problem in str(info.value)


def test_a_list_of_row_strings_gets_a_hint(mz):
    with pytest.raises(InputError, match="a list of strings is a batch of mazes"):
        mz.task.Mazes().parse(np.array(["#S#", "#.#", "#G#"]), 0)


def test_encode_targets_decode_round_trip(mz):
    task = mz.task.Mazes()
    grids = mz.data.mazes("val", n=8, side=9)
    inputs = [mz.maze.to_text(g) for g in grids]
    answers = [mz.maze.to_text(g, mz.maze.shortest_path(g)) for g in grids]
    parsed = [task.parse(x, i) for i, x in enumerate(inputs)]
    x = task.encode(parsed)
    assert x.shape == (8, 81, 3) and x.dtype == torch.float32
    flat = torch.from_numpy(np.stack(grids).reshape(8, -1))
    assert torch.equal(x[..., 0].bool(), flat != mz.maze.WALL) and torch.equal(x[..., 1].sum(1), torch.ones(8))
    y = task.targets(parsed, answers)
    assert torch.equal(y, task.targets(parsed))  # answers agree with the BFS path
    logits = torch.nn.functional.one_hot(y, 2).float()
    assert task.decode(logits, parsed) == answers and task.correct(logits, y).all()
    wrong = logits.clone()
    wrong[0, 0] = torch.tensor([0.0, 1.0])  # one extra cell on the path: not an exact match
    assert task.correct(wrong, y).tolist() == [False] + [True] * 7
    with pytest.raises(InputError, match="not the same maze"):
        task.targets(parsed[:1], answers[1:2])


def test_verify_accepts_exactly_one_path_from_start_to_goal(mz):
    task = mz.task.Mazes()
    for i, grid in enumerate(mz.data.mazes("test", n=10, side=13)):
        p = task.parse(mz.maze.to_text(grid), i)
        assert task.verify(p, mz.maze.to_text(grid, p.path)).verified is True  # the (unique) path
        assert task.verify(p, mz.maze.to_text(grid)).verified is False  # no path drawn
    p = task.parse(task.example, 0)  # rows '#S..#.#', '###.#.#', '#...#.#', '#.###.#', '#....G#'
    good = mz.maze.to_text(p.grid, p.path)
    assert task.verify(p, good).verified is True and task.verify(p, good.replace("\n", "/")).verified is True

    def drawn(*changes):
        mask = p.path.copy()
        for r, c, on in changes:
            mask[r, c] = on
        return task.verify(p, mz.maze.to_text(p.grid, mask))

    assert drawn((3, 2, False)) == mz.task.Verdict(False, "the path does not join the start to the goal")
    assert drawn((1, 5, True)).reason == "a path cell at row 2, column 6 is not joined to the path"
    assert drawn((4, 5, True)).reason == "the path has a dead end at row 5, column 6"  # a stub off the goal
    assert drawn((4, 5, True), (3, 5, True)).reason == "the path has a dead end at row 4, column 6"
    assert task.verify(p, good.replace("S", ".")).reason == "the answer is not the same maze as the input"
    assert task.verify(p, good.replace("#*", "**", 1)).reason == "the answer is not the same maze as the input"
    assert task.verify(p, "#S#/#*#/#G#").reason == "the answer is not the same maze as the input"
    assert task.verify(p, good[:-3]).reason.startswith("maze rows differ in length")
    assert task.verify(p, 42).verified is False and task.verify(p, good.replace("*", "x")).verified is False


def test_path_problem_finds_dead_ends_and_walls(mz):
    grid = np.array([[1, 1, 1, 1, 1], [1, 2, 0, 0, 1], [1, 1, 1, 0, 1], [1, 3, 0, 0, 1], [1, 1, 1, 1, 1]], dtype=np.uint8)
    path = mz.maze.shortest_path(grid)
    assert mz.maze.path_problem(grid, path) is None
    wall = path.copy()
    wall[2, 2] = True
    assert mz.maze.path_problem(grid, wall) == "the path crosses a wall at row 3, column 3"
    assert mz.maze.path_problem(grid, np.isin(grid, [0, 2, 3])) is None  # every open cell: here exactly the path
    grid[2, 1] = 0  # open a cell beside start and goal: a shortcut, and the long way round becomes a loop
    assert mz.maze.path_problem(grid, mz.maze.shortest_path(grid)) is None
    assert mz.maze.path_problem(grid, np.isin(grid, [0, 2, 3])).startswith("the path branches")


def test_names_cover_every_recall_and_norm(mz):
    config = mz.names.internal_recall_outernorm()
    assert (config.task, config.recall, config.norm, config.name) == (
        "mazes", "internal-recall", "outernorm", "mazes-internal-recall-outernorm")
    baseline = mz.names.fixed15()
    assert (baseline.depth, baseline.iters, baseline.name) == (15, 1, "mazes-fixed15")
    assert mz.names.no_recall_gru().recall == "none"
