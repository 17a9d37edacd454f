"""The bundled Lichess puzzles: hash, legality, the split rule and the ``source`` keyword."""
from __future__ import annotations

import csv
import io
import lzma
import random

import chess
import pytest

from loopzoo import DataError
from loopzoo.checkpoint import sha256_file
from loopzoo.data import bundled, lichess, load_split


def test_file_is_bundled_with_its_hash_and_provenance():
    path = bundled.DIR / lichess.FILE
    entry = bundled.manifest()[lichess.FILE]
    assert sha256_file(path) == entry["sha256"] and path.stat().st_size == entry["bytes"]
    assert entry["rows"] == 8896 and "CC0" in entry["licence"] and "alpha-nonzero @8845c51a" in entry["source"]
    assert lichess.path() == path
    assert "lichess_puzzles_8896.csv.xz" in (bundled.DIR / "PROVENANCE.md").read_text()


def test_altered_file_is_refused(tmp_path, monkeypatch):
    fake = tmp_path / lichess.FILE
    fake.write_bytes((bundled.DIR / lichess.FILE).read_bytes()[:-10] + b"0123456789")
    monkeypatch.setattr(bundled, "DIR", tmp_path)
    monkeypatch.setattr(bundled, "MANIFEST", bundled.MANIFEST)  # the real manifest, the altered file
    with pytest.raises(DataError, match="does not match the manifest"):
        lichess.path()


def test_split_sizes_disjoint_ratings_and_legal_labels():
    splits = {s: load_split("chess", s, source="lichess") for s in ("train", "val", "test")}
    assert {s: len(d) for s, d in splits.items()} == {"train": 5896, "val": 1000, "test": 2000}
    fens = {s: set(d.inputs) for s, d in splits.items()}
    assert not fens["train"] & fens["val"] and not fens["train"] & fens["test"] and not fens["val"] & fens["test"]
    assert sum(map(len, fens.values())) == 8896
    test = splits["test"]
    assert all(399 <= r <= 2999 for r in test.ratings)
    bands = [sum(lo <= r < hi for r in test.ratings) for lo, hi in ((0, 1000), (1000, 1500), (1500, 2000), (2000, 4000))]
    assert min(bands) > 300  # a hash sample is spread over all ratings
    raw = {r["fen"]: r for r in csv.DictReader(io.TextIOWrapper(lzma.open(bundled.DIR / lichess.FILE)))}
    for i in random.Random(0).sample(range(len(test)), 200):
        fen, move = test.inputs[i], test.answers[i]
        assert chess.Move.from_uci(move) in chess.Board(fen).legal_moves
        assert raw[fen]["best_move_uci"] == move and float(raw[fen]["rating"]) == test.ratings[i]
        before = chess.Board(raw[fen]["puzzle_fen_before_setup"])
        before.push_uci(raw[fen]["setup_move_uci"])
        assert before.fen() == fen  # fen is the position after the setup move


def test_split_does_not_depend_on_file_order(tmp_path):
    rows = list(csv.DictReader(io.TextIOWrapper(lzma.open(bundled.DIR / lichess.FILE))))
    random.Random(1).shuffle(rows)
    path = tmp_path / "shuffled.csv"
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]), lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    mine = lichess.lichess_split("test", 0, path)
    assert mine.inputs == load_split("chess", "test", source="lichess").inputs
    other = load_split("chess", "test", seed=1, source="lichess")
    assert set(other.inputs) != set(mine.inputs)


def test_default_source_is_unchanged_and_unknown_source_fails():
    assert load_split("chess", "val", n=3).source.endswith("chess.csv.xz")
    with pytest.raises(DataError, match="unknown chess source 'nope'.*lichess"):
        load_split("chess", "train", source="nope")


def test_illegal_label_is_a_data_error(tmp_path):
    rows = list(csv.DictReader(io.TextIOWrapper(lzma.open(bundled.DIR / lichess.FILE))))[:5]
    rows[2]["best_move_uci"] = "a1a1"
    path = tmp_path / "bad.csv"
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]), lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    with pytest.raises(DataError, match=r"bad\.csv, line 4: 'a1a1' is not a UCI move"):
        lichess.read(path)
