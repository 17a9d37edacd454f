"""Stockfish-labelled positions: determinism, exact resume, the shard cap, the manifest check, legality."""
from __future__ import annotations

import random

import chess
import pytest

from loopzoo import DataError
from loopzoo.data import chess_labels as cl
from loopzoo.data import load_split


@pytest.fixture
def fast(monkeypatch, stockfish):
    """Short shallow games so the tests run in seconds (the rules are the same at any depth)."""
    monkeypatch.setattr(cl, "DEPTH", 3)
    monkeypatch.setattr(cl, "MAX_PLY", 40)
    return stockfish


def _shards(directory):
    manifest = cl.read_manifest(directory)
    return [(s["file"], (directory / s["file"]).read_bytes()) for s in manifest["shards"]], manifest


def test_same_seed_same_rows_other_seed_other_rows(fast):
    a = [cl.play_game(fast, 5, g) for g in range(3)]
    b = [cl.play_game(fast, 5, g) for g in range(3)]
    c = [cl.play_game(fast, 6, g) for g in range(3)]
    rows = lambda games: [lab.row() for labels, _ in games for lab in labels]  # noqa: E731
    assert rows(a) == rows(b) and rows(a) and rows(a) != rows(c)
    for labels, searched in a:
        assert len(labels) <= searched
        for lab in labels:
            board = chess.Board(lab.fen)
            assert chess.Move.from_uci(lab.move) in board.legal_moves
            assert lab.gap >= 0


def test_rule_keeps_tactical_and_a_share_of_quiet(fast):
    labels = [lab for g in range(6) for lab in cl.play_game(fast, 1, g)[0]]
    tactical = sum(lab.gap >= cl.TACTICAL_GAP for lab in labels)
    assert 0 < tactical < len(labels)  # both kinds are kept


def test_resume_gives_the_same_shards_as_one_run(fast, tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    cl.generate(2, 120, one, shard_rows=30, log=lambda s: None)
    cl.generate(2, 40, two, shard_rows=30, log=lambda s: None)  # stopped early ...
    first, _ = _shards(two)
    cl.generate(2, 120, two, shard_rows=30, log=lambda s: None)  # ... and resumed
    a, ma = _shards(one)
    b, mb = _shards(two)
    assert a == b and len(a) >= 4 and b[: len(first)] == first
    assert ma == mb and sum(s["rows"] for s in ma["shards"]) >= 120
    games = [s["games"] for s in ma["shards"]]
    assert all(x[1] == y[0] for x, y in zip(games, games[1:]))  # consecutive whole games
    fens = [f for s in ma["shards"] for f in cl.read_shard(one / s["file"], s)[0]]
    assert len({cl.position_key(f) for f in fens}) == len(fens)  # no repeated position


def test_parallel_workers_write_the_same_shards(fast, tmp_path):
    cl.generate(4, 40, tmp_path / "seq", shard_rows=20, log=lambda s: None)
    cl.generate(4, 40, tmp_path / "par", workers=2, shard_rows=20, log=lambda s: None)
    assert _shards(tmp_path / "seq") == _shards(tmp_path / "par")


def test_shard_size_cap(fast, tmp_path):
    cap = 1500
    manifest = cl.generate(3, 150, tmp_path, shard_rows=1000, max_bytes=cap, log=lambda s: None)
    assert len(manifest["shards"]) >= 2
    for entry in manifest["shards"]:
        assert (tmp_path / entry["file"]).stat().st_size == entry["bytes"] <= cap
    with pytest.raises(DataError, match="alone makes a shard above 100 bytes"):
        cl.generate(3, 10_000, tmp_path / "tiny", shard_rows=1000, max_bytes=100, log=lambda s: None)


def test_verify_catches_a_changed_shard_and_a_stray(fast, tmp_path):
    cl.generate(1, 40, tmp_path, shard_rows=20, log=lambda s: None)
    info = cl.verify(tmp_path)
    assert info["shards"] >= 2 and info["rows"] >= 40
    stray = tmp_path / "shard-99999.csv.xz"
    stray.write_bytes(b"x")
    with pytest.raises(DataError, match="not in the manifest: shard-99999"):
        cl.verify(tmp_path)
    stray.unlink()
    shard = tmp_path / "shard-00001.csv.xz"
    data = bytearray(shard.read_bytes())
    data[-20] ^= 1
    shard.write_bytes(bytes(data))
    with pytest.raises(DataError, match=r"shard-00001\.csv\.xz: sha256 or size does not match the manifest"):
        cl.verify(tmp_path)


def test_other_settings_refuse_to_resume(fast, tmp_path, monkeypatch):
    cl.generate(1, 10, tmp_path, shard_rows=10, log=lambda s: None)
    monkeypatch.setattr(cl, "DEPTH", 4)
    with pytest.raises(DataError, match="made with other settings"):
        cl.generate(1, 100, tmp_path, shard_rows=10, log=lambda s: None)


def test_cli_verify(fast, tmp_path, capsys):
    from loopzoo.cli import main

    cl.generate(1, 20, tmp_path, shard_rows=20, log=lambda s: None)
    assert main(["data", "verify", str(tmp_path)]) == 0
    assert "labelled positions OK" in capsys.readouterr().out


def test_load_split_stockfish(fast, tmp_path):
    cl.generate(1, 20, tmp_path, shard_rows=20, log=lambda s: None)
    train = load_split("chess", "train", path=tmp_path, source="stockfish")
    assert len(train) == cl.verify(tmp_path)["rows"] and train.y.sum(dim=1).eq(2).all()
    assert load_split("chess", "val", n=5, source="stockfish").answers == load_split("chess", "val", n=5, source="lichess").answers
    with pytest.raises(DataError, match="no labelled chess positions yet"):
        load_split("chess", "train", path=tmp_path / "none", source="stockfish")


def test_committed_shards_are_legal_on_a_sample():
    manifest = cl.read_manifest(cl.DIR)
    if not manifest["shards"]:
        pytest.skip("no committed shards yet")
    assert manifest["settings"] == cl.settings()
    rng = random.Random(0)
    for entry in manifest["shards"][:3]:
        rows = cl.rows_of(cl.DIR / entry["file"])
        assert len(rows) == entry["rows"]
        for row in rng.sample(rows, min(100, len(rows))):
            board = chess.Board(row["fen"])
            assert board.is_valid() and chess.Move.from_uci(row["move"]) in board.legal_moves
            assert abs(int(row["cp"])) <= 100_000 and int(row["ply"]) < cl.MAX_PLY


def test_agreement_with_a_deeper_search(fast, tmp_path):
    cl.generate(1, 20, tmp_path, shard_rows=20, log=lambda s: None)
    res = cl.agreement(tmp_path, n=12, extra_depth=0)  # the same search again: labels are reproducible
    assert res["n"] == 12 == res["tactical_n"] + res["quiet_n"] and res["agree"] == 1.0
    deeper = cl.agreement(tmp_path, n=12, extra_depth=3)
    assert deeper["deep_depth"] == 6 and 0.0 <= deeper["agree"] <= 1.0
