"""The bundled public sudoku lists: manifest and provenance, solutions, the split rule, samples, sources."""
from __future__ import annotations

import numpy as np
import pytest

from loopzoo import DataError, LoopzooError
from loopzoo.cli import main
from loopzoo.data import bundled, load_split, sudoku_public, sudoku_solver
from loopzoo.data.formats import write_csv

LIST_ROWS = {"forum-hardest": 48_766, "17-clue": 49_158}


def _file(name: str) -> str:
    return bundled.FILES[sudoku_public.BUNDLED[name]]


def _entry(name: str) -> dict:
    entry = bundled.manifest().get(_file(name))
    if entry is None:
        pytest.skip(f"the public list {name} is not bundled yet (scripts/make_sudoku_public.py --list {name})")
    return entry


def _digits(q: str) -> list[int]:
    return [0 if c == "." else int(c) for c in q]


_READ: dict[str, tuple] = {}


def _read(name: str) -> tuple:
    """(questions, answers, ratings, sources, splits) of one bundled list, read once per session."""
    _entry(name)
    if name not in _READ:
        questions, answers, ratings, sources = sudoku_public.read(sudoku_public.bundled_file(name))
        _READ[name] = (questions, answers, np.array(ratings), sources, sudoku_public.split_indices(questions, ratings, sources))
    return _READ[name]


LISTS = pytest.mark.parametrize("name", list(LIST_ROWS))


# --- the files, their manifest entries and their provenance ------------------------------------
@LISTS
def test_manifest_entry_hash_size_and_provenance(name):
    entry = _entry(name)
    path = sudoku_public.bundled_file(name)  # raises unless the sha256 matches
    assert bundled.verify_hash(path) == entry and entry["bytes"] == path.stat().st_size < 5e6
    rows = LIST_ROWS[name]
    assert entry["rows"] == rows and entry["task"] == "sudoku" and entry["list"] == name
    assert "9c4391b1" in entry["upstream"] and len(entry["upstream_sha256"]) == 64 and "BSD-2-Clause" in entry["licence"]
    n_test = round(0.2 * rows)
    assert (entry["train"], entry["val"], entry["test"]) == (rows - n_test - 2_500, 2_500, n_test)
    provenance = (bundled.DIR / "PROVENANCE.md").read_text()
    assert "Copyright (c) 2019, Tom Dillon" in provenance and "balmerdx/sudoku_pytorch @9c4391b1" in provenance
    assert path.name in provenance


@LISTS
def test_every_row_is_read_and_the_list_is_whole(name):
    questions, answers, ratings, sources, _ = _read(name)
    assert len(questions) == LIST_ROWS[name] == len(set(questions)) and (sources == name).all()
    givens = np.array([81 - q.count(".") for q in questions])
    assert (givens == 17).all() if name == "17-clue" else givens.min() > 17
    assert ratings.min() >= 0 and (ratings == np.round(ratings)).all()


@LISTS
def test_a_seeded_sample_has_unique_solutions_and_the_stored_ratings(name):
    questions, answers, ratings, _, splits = _read(name)
    rng = np.random.default_rng(0)
    # below and above the hard cut; test-split puzzles can take seconds, so few of them
    for i in [*rng.choice(splits["val"], 10, replace=False), *rng.choice(splits["test"], 2, replace=False)]:
        backtracks, _, solution = sudoku_solver.rate(_digits(questions[i]))
        assert solution is not None and "".join(map(str, solution)) == answers[i]
        assert backtracks == ratings[i]


# --- the split rule ---------------------------------------------------------------------------
@LISTS
def test_split_sizes_disjoint_and_test_is_the_lists_hardest_fifth(name):
    questions, _, ratings, _, splits = _read(name)
    rows = LIST_ROWS[name]
    train, val, test = splits["train"], splits["val"], splits["test"]
    assert (len(train), len(val), len(test)) == (rows - round(0.2 * rows) - 2_500, 2_500, round(0.2 * rows))
    assert np.array_equal(np.sort(np.r_[train, val, test]), np.arange(rows))  # disjoint and complete
    rest = np.r_[train, val]
    cut = ratings[test].min()
    assert ratings[rest].max() <= cut and np.median(ratings[test]) > 2 * np.median(ratings[rest])
    givens = np.array([81 - q.count(".") for q in questions])
    tied_test, tied_rest = test[ratings[test] == cut], rest[ratings[rest] == cut]
    if len(tied_rest):  # at the cut, the test side has no more givens than the rest
        assert givens[tied_test].max() <= givens[tied_rest].min()


def test_split_rule_on_a_small_made_up_set():
    """Ties of rating go to fewer givens, then to the hash; the result is deterministic."""
    n = 7_000
    questions = [f"{i:081d}".replace("0", ".", 81 - (i % 5 + 17)) for i in range(n)]
    ratings = [float(i % 97) for i in range(n)]  # many ties at every rating, the cut falls inside one
    a = sudoku_public.split_indices(questions, ratings)
    assert all(np.array_equal(a[s], b) for s, b in sudoku_public.split_indices(questions, ratings).items())
    assert len(a["test"]) == round(0.2 * n) and len(a["val"]) == sudoku_public.VAL_PER_LIST
    r, g = np.array(ratings), np.array([81 - q.count(".") for q in questions])
    rest = np.r_[a["train"], a["val"]]
    cut = r[a["test"]].min()
    assert r[rest].max() <= cut
    tied_rest = rest[r[rest] == cut]
    assert len(tied_rest) and g[a["test"][r[a["test"]] == cut]].max() <= g[tied_rest].min()
    # two lists: each is split on its own, exactly as when it is alone
    both = sudoku_public.split_indices(questions + questions[:4_000], ratings + [r * 10 for r in ratings[:4_000]],
                                       ["a"] * n + ["b"] * 4_000)
    alone = sudoku_public.split_indices(questions, ratings)
    for split in ("train", "val", "test"):
        assert np.array_equal(both[split][both[split] < n], alone[split])
    assert len(both["test"]) == round(0.2 * n) + 800 and len(both["val"]) == 2 * sudoku_public.VAL_PER_LIST
    with pytest.raises(DataError, match="val needs more"):
        sudoku_public.split_indices(questions[:3_000], ratings[:3_000])


# --- loading ----------------------------------------------------------------------------------
def test_load_one_list_is_deterministic_and_matches_the_rule():
    questions, _, _, _, splits = _read("forum-hardest")
    for split in ("train", "val", "test"):
        ds = load_split("sudoku", split, source="forum-hardest")
        assert sorted(ds.inputs) == sorted(questions[i] for i in splits[split])
        assert ds.data_hash == load_split("sudoku", split, source="forum-hardest").data_hash
        assert set(load_split("sudoku", split, source="forum-hardest", seed=1).inputs) == set(ds.inputs)  # order only
    x, y = ds[0]
    assert x.shape == (81, 10) and y.shape == (81,)


def test_seeded_test_sample_is_reproducible_nested_and_spread():
    questions, _, ratings, _, splits = _read("forum-hardest")
    sample = load_split("sudoku", "test", source="forum-hardest", n=1000)
    assert len(sample) == 1000
    assert sample.data_hash == load_split("sudoku", "test", source="forum-hardest", n=1000).data_hash
    assert sample.inputs[:500] == load_split("sudoku", "test", source="forum-hardest", n=500).inputs
    assert load_split("sudoku", "test", source="forum-hardest", n=1000, seed=1).inputs != sample.inputs
    test = splits["test"]
    assert len({questions[i] for i in test[:1000]} & set(sample.inputs)) < 200  # not the split's first rows
    position = {questions[i]: k / len(test) for k, i in enumerate(test)}
    assert 0.4 < np.median([position[q] for q in sample.inputs]) < 0.6  # spread over the whole split
    hardest = {questions[i] for i in test[np.argsort(-ratings[test])[: len(test) // 2]]}
    assert 0.4 < np.mean([q in hardest for q in sample.inputs]) < 0.6  # and over its ratings


def test_public_is_both_lists():
    for name in LIST_ROWS:
        _entry(name)
    for split in ("val", "test"):
        public = load_split("sudoku", split, source="public")
        parts = [load_split("sudoku", split, source=name).inputs for name in LIST_ROWS]
        assert sorted(public.inputs) == sorted(parts[0] + parts[1])
    assert len(public) == 19_585
    sample = load_split("sudoku", "test", source="public", n=1000)
    share_17 = np.mean([q.count(".") == 64 for q in sample.inputs])
    assert 0.45 < share_17 < 0.56 and sample.inputs == public.inputs[:1000]


def test_public_names_a_missing_list(monkeypatch):
    monkeypatch.setitem(bundled.FILES, sudoku_public.BUNDLED["17-clue"], "not-there.csv.xz")
    with pytest.raises(DataError, match="'17-clue' is not bundled yet; make it with python scripts/make_sudoku_public.py"):
        load_split("sudoku", "test", source="public")


def test_the_default_source_is_still_the_generated_set():
    if bundled.manifest().get(bundled.FILES["sudoku"]) is None:
        pytest.skip("no bundled generated sudoku set")
    assert load_split("sudoku", "val", n=5).inputs == load_split("sudoku", "val", source="generated", n=5).inputs
    assert "sudoku.csv.xz" in load_split("sudoku", "val", n=5).source


def test_bad_source_names_the_choices():
    with pytest.raises(LoopzooError, match="unknown sudoku source 'kaggle'; choose one of generated, public, forum-hardest, 17-clue"):
        load_split("sudoku", "test", source="kaggle")
    with pytest.raises(DataError, match="unknown public sudoku source"):
        sudoku_public.load("test", source="generated")
    with pytest.raises(LoopzooError, match="unknown split"):
        load_split("sudoku", "hard", source="forum-hardest")


def test_data_list_shows_the_public_lists(capsys):
    assert main(["data", "list"]) == 0
    out = capsys.readouterr().out
    assert "load_split('sudoku', SPLIT, source='public')" in out
    for name, rows in LIST_ROWS.items():
        entry = bundled.manifest().get(_file(name))
        line = next(line for line in out.splitlines() if f"source='{name}'" in line or f"public list {name} " in line)
        if entry is None:
            assert "not bundled yet" in line and f"--list {name}" in line
        else:
            assert _file(name) in line and f"{rows:,} puzzles" in line and f"test {entry['test']:,}" in line


# --- building from the upstream format --------------------------------------------------------
def test_build_rows_rates_and_round_trips(tmp_path):
    from loopzoo.data import sudoku

    upstream = tmp_path / "forum.csv"
    rows = [sudoku.make_item(2, i)[:2] for i in range(3)]
    upstream.write_text("puzzle,solution\n" + "".join(f"{q.replace('.', '0')},{a}\n" for q, a in rows))
    read = sudoku_public.read_upstream(upstream)
    assert read == rows
    built = sudoku_public.build_rows({"forum-hardest": read, "17-clue": read[:1]})
    assert [b[:2] for b in built] == rows + rows[:1] and [b[3] for b in built] == ["forum-hardest"] * 3 + ["17-clue"]
    assert [b[2] for b in built[:3]] == [sudoku.make_item(2, i)[2] for i in range(3)]
    assert sudoku_public.build_rows({"forum-hardest": read}, {"forum-hardest": [b[2] for b in built[:3]]}) == built[:3]
    out = tmp_path / "public.csv.xz"
    write_csv(out, sudoku_public.HEADER, built)
    questions, answers, ratings, sources = sudoku_public.read(out)
    assert list(zip(questions, answers, ratings, sources)) == [(q, a, float(r), s) for q, a, r, s in built]
    with pytest.raises(DataError, match="2 ratings for 3 puzzles"):
        sudoku_public.build_rows({"forum-hardest": read}, {"forum-hardest": [1, 2]})
    with pytest.raises(DataError, match="unknown public sudoku list"):
        sudoku_public.build_rows({"kaggle": read}, {"kaggle": [1, 2, 3]})
    q0, a0 = rows[0]
    wrong = a0[:80] + ("1" if a0[80] != "1" else "2")
    with pytest.raises(DataError, match="not uniquely solvable"):
        sudoku_public.rate_row((q0, wrong))
    bad = tmp_path / "bad.csv"
    bad.write_text("question,answer,rating,source\n" + f"{q0},{a0},7,kaggle\n")
    with pytest.raises(DataError, match="bad.csv, line 2: source must be one of"):
        sudoku_public.read(bad)


def test_solved_by_singles():
    from loopzoo.data import sudoku

    q, a, _ = sudoku.make_item(0, 0)
    grid = _digits(q)
    assert not sudoku_solver.solved_by_singles(grid)  # needs search
    blanks = [i for i in range(81) if not grid[i]]
    easy = grid.copy()
    easy[blanks[0]] = 0
    for i in blanks[1:]:
        easy[i] = int(a[i])  # one blank: a naked single
    assert sudoku_solver.solved_by_singles(easy)
    bad = [0] * 81
    bad[0] = bad[1] = 5
    assert not sudoku_solver.solved_by_singles(bad)
