"""The bundled data sets: hashes, sizes, splits, and a sample re-checked by the solver / Stockfish."""
from __future__ import annotations

import json
import shutil

import chess
import numpy as np
import pytest

from loopzoo import DataError
from loopzoo.data import bundled, load_split, sudoku_solver
from loopzoo.data import chess as cd


def _need(task: str):
    if bundled.FILES[task] not in bundled.manifest():
        pytest.skip(f"no bundled {task} set yet (scripts/make_{task}.py)")


def test_manifest_matches_the_files_and_stays_small():
    entries = bundled.manifest()
    assert entries, "the manifest lists the bundled files"
    total = 0
    for name, entry in entries.items():
        path = bundled.DIR / name
        assert bundled.verify_hash(path) == entry
        assert entry["bytes"] == path.stat().st_size
        total += entry["bytes"]
    assert total < 40e6


def test_altered_bundle_is_refused(tmp_path, monkeypatch):
    name, entry = next(iter(bundled.manifest().items()))
    copy = tmp_path / name
    shutil.copy(bundled.DIR / name, copy)
    (tmp_path / "manifest.json").write_text(json.dumps(bundled.manifest()))
    data = bytearray(copy.read_bytes())
    data[len(data) // 2] ^= 0xFF
    copy.write_bytes(bytes(data))
    monkeypatch.setattr(bundled, "DIR", tmp_path)
    monkeypatch.setattr(bundled, "MANIFEST", tmp_path / "manifest.json")
    with pytest.raises(DataError, match=rf"{name}: sha256 .* does not match the manifest"):
        load_split(entry["task"], "val")
    copy.unlink()
    with pytest.raises(DataError, match="missing"):
        load_split(entry["task"], "val")


def test_bundled_sudoku_splits():
    _need("sudoku")
    rows = bundled.manifest()[bundled.FILES["sudoku"]]["rows"]
    assert rows >= 60_000
    splits = {s: load_split("sudoku", s) for s in ("train", "val", "test")}
    n_easy = len(splits["train"]) + len(splits["val"])
    assert abs(n_easy - min(50_000, 0.8 * rows)) <= 0.001 * rows  # ties at the percentile are rare
    assert len(splits["train"]) == round(0.8 * n_easy)
    assert len(splits["test"]) == min(10_000, rows - n_easy)
    train, test = np.array(splits["train"].ratings), np.array(splits["test"].ratings)
    assert train.max() <= test.min() and test.mean() > 3 * train.mean()
    assert not set(splits["train"].inputs) & set(splits["test"].inputs)
    x, y = splits["test"][0]
    assert x.shape == (81, 10) and y.shape == (81,)
    with pytest.raises(DataError, match="seed"):
        load_split("sudoku", "train", seed=1)


def test_bundled_sudoku_sample_has_unique_solutions():
    _need("sudoku")
    ds = load_split("sudoku", "test", n=100)
    for q, a, r in zip(ds.inputs, ds.answers, ds.ratings):
        grid = [0 if c == "." else int(c) for c in q]
        backtracks, _, solution = sudoku_solver.rate(grid)
        assert solution is not None and "".join(map(str, solution)) == a and backtracks == r


def test_bundled_chess_splits_and_sample_confirmed(stockfish):
    _need("chess")
    entry = bundled.manifest()[bundled.FILES["chess"]]
    train, test = load_split("chess", "train"), load_split("chess", "test")
    assert max(train.ratings) < entry["hard_depth"] <= min(test.ratings)
    assert len(train) == round(0.8 * min(50_000, entry["easy"]))
    assert len(test) == min(10_000, entry["hard"])
    for ds in (train, test):
        for fen, move in list(zip(ds.inputs, ds.answers))[:3]:
            board = chess.Board(fen)
            lines = stockfish.lines(board, cd.DEPTH, multipv=2)
            assert lines[0].move == move and cd.qualifies(lines)


def test_bundled_sudoku_is_reproducible_from_its_seed():
    _need("sudoku")
    from loopzoo.data import sudoku
    from loopzoo.data.bundled import path_for

    seed = bundled.manifest()[bundled.FILES["sudoku"]]["seed"]
    q, a, r = sudoku.read(path_for("sudoku"), limit=12)
    assert list(zip(q, a, r)) == [sudoku.make_item(seed, i)[:2] + (float(sudoku.make_item(seed, i)[2]),) for i in range(12)]


def test_bundled_chess_is_reproducible_from_its_seed(stockfish):
    _need("chess")
    import csv

    from loopzoo.data.formats import open_text

    entry = bundled.manifest()[bundled.FILES["chess"]]
    with open_text(bundled.path_for("chess")) as f:
        rows = [r for r in csv.DictReader(f) if int(r["game"]) < 2]
    again = [p for g in range(2) for p in cd.play_game(stockfish, entry["seed"], g)]
    assert [(p.fen, p.move, p.rating) for p in again] == [(r["fen"], r["move"], int(r["rating"])) for r in rows]
