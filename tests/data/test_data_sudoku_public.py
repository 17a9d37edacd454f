"""The bundled public sudoku lists: manifest and provenance, solutions, the split rule, samples, sources."""
from __future__ import annotations

import numpy as np
import pytest

from loopzoo import DataError, LoopzooError
from loopzoo.cli import main
from loopzoo.data import bundled, load_split, sudoku_public, sudoku_solver
from loopzoo.data.formats import write_csv

NAME = bundled.FILES["sudoku_public"]
ROWS = sum(int(info["rows"]) for info in sudoku_public.LISTS.values())  # 97,924


def _need() -> dict:
    entry = bundled.manifest().get(NAME)
    if entry is None:
        pytest.skip("no bundled public sudoku set yet (scripts/make_sudoku_public.py)")
    return entry


def _digits(q: str) -> list[int]:
    return [0 if c == "." else int(c) for c in q]


@pytest.fixture(scope="module")
def public():
    """(questions, answers, ratings, sources, splits) of the bundled file, read once."""
    _need()
    questions, answers, ratings, sources = sudoku_public.read(bundled.path_for("sudoku_public"))
    return questions, answers, np.array(ratings), sources, sudoku_public.split_indices(questions, ratings, sources)


# --- the file, its manifest entry and its provenance -----------------------------------------
def test_manifest_entry_hash_size_and_provenance():
    entry = _need()
    path = bundled.path_for("sudoku_public")  # raises unless the sha256 matches
    assert bundled.verify_hash(path) == entry and entry["bytes"] == path.stat().st_size < 5e6
    assert entry["rows"] == ROWS and entry["task"] == "sudoku"
    assert {k: v["rows"] for k, v in entry["lists"].items()} == {"forum-hardest": 48_766, "17-clue": 49_158}
    assert all("9c4391b1" in v["upstream"] and len(v["upstream_sha256"]) == 64 for v in entry["lists"].values())
    assert "BSD-2-Clause" in entry["licence"]
    assert (entry["train"], entry["val"], entry["test"]) == (ROWS - 19_585 - 5_000, 5_000, 19_585)
    provenance = (bundled.DIR / "sudoku_public.PROVENANCE.md").read_text()
    assert "Copyright (c) 2019, Tom Dillon" in provenance and "balmerdx/sudoku_pytorch @9c4391b1" in provenance


def test_every_row_is_read_and_the_lists_are_whole(public):
    questions, answers, ratings, sources, _ = public
    assert len(questions) == ROWS and len(set(questions)) == ROWS
    assert (sources == "forum-hardest").sum() == 48_766 and (sources == "17-clue").sum() == 49_158
    givens = np.array([81 - q.count(".") for q in questions])
    assert (givens[sources == "17-clue"] == 17).all() and givens[sources == "forum-hardest"].min() > 17
    assert ratings.min() >= 0 and (ratings == np.round(ratings)).all()


def test_a_seeded_sample_has_unique_solutions_and_the_stored_ratings(public):
    questions, answers, ratings, sources, splits = public
    rng = np.random.default_rng(0)
    # both lists, below and above the hard cut; test-split puzzles can take seconds, so few of them
    picks = [*rng.choice(splits["val"], 16, replace=False), *rng.choice(splits["test"], 4, replace=False)]
    assert {sources[i] for i in picks} == {"forum-hardest", "17-clue"}
    for i in picks:
        backtracks, _, solution = sudoku_solver.rate(_digits(questions[i]))
        assert solution is not None and "".join(map(str, solution)) == answers[i]
        assert backtracks == ratings[i]


# --- the split rule ---------------------------------------------------------------------------
def test_split_sizes_disjoint_and_test_is_each_lists_hardest_fifth(public):
    questions, _, ratings, sources, splits = public
    train, val, test = splits["train"], splits["val"], splits["test"]
    assert (len(train), len(val), len(test)) == (ROWS - 19_585 - 5_000, 5_000, 19_585)
    assert np.array_equal(np.sort(np.r_[train, val, test]), np.arange(ROWS))  # disjoint and complete
    givens = np.array([81 - q.count(".") for q in questions])
    rest = np.r_[train, val]
    for name, n_test in (("forum-hardest", 9_753), ("17-clue", 9_832)):  # round(0.2 * rows of the list)
        t, r = test[sources[test] == name], rest[sources[rest] == name]
        assert len(t) == n_test
        cut = ratings[t].min()
        assert ratings[r].max() <= cut and np.median(ratings[t]) > 2 * np.median(ratings[r])
        tied_t, tied_r = t[ratings[t] == cut], r[ratings[r] == cut]
        if len(tied_r):  # at the cut, the test side has no more givens than the rest
            assert givens[tied_t].max() <= givens[tied_r].min()
    assert 2_000 < (sources[val] == "17-clue").sum() < 3_000  # the seeded val sample mixes both lists


def test_split_rule_on_a_small_made_up_set():
    """Ties of rating go to fewer givens, then to the hash; the result is deterministic."""
    n = sudoku_public.N_VAL + 2_000
    questions = [f"{i:081d}".replace("0", ".", 81 - (i % 5 + 17)) for i in range(n)]
    ratings = [float(i % 97) for i in range(n)]  # many ties at every rating, the cut falls inside one
    a = sudoku_public.split_indices(questions, ratings)
    assert all(np.array_equal(a[s], b) for s, b in sudoku_public.split_indices(questions, ratings).items())
    assert len(a["test"]) == round(0.2 * n) and len(a["val"]) == sudoku_public.N_VAL
    r, g = np.array(ratings), np.array([81 - q.count(".") for q in questions])
    rest = np.r_[a["train"], a["val"]]
    cut = r[a["test"]].min()
    assert r[rest].max() <= cut
    tied_rest = rest[r[rest] == cut]
    assert len(tied_rest) and g[a["test"][r[a["test"]] == cut]].max() <= g[tied_rest].min()
    by_list = sudoku_public.split_indices(questions, ratings, ["a"] * 1_000 + ["b"] * (n - 1_000))
    assert len(by_list["test"]) == 200 + round(0.2 * (n - 1_000))
    assert (by_list["test"] < 1_000).sum() == 200  # each list gives its own hardest fifth
    with pytest.raises(DataError, match="val needs more"):
        sudoku_public.split_indices(questions[:5_000], ratings[:5_000])


# --- loading ----------------------------------------------------------------------------------
def test_load_split_public_is_deterministic_and_matches_the_rule(public):
    questions, _, _, _, splits = public
    for split in ("train", "val", "test"):
        ds = load_split("sudoku", split, source="public")
        assert sorted(ds.inputs) == sorted(questions[i] for i in splits[split])
        assert ds.data_hash == load_split("sudoku", split, source="public").data_hash
        assert set(load_split("sudoku", split, source="public", seed=1).inputs) == set(ds.inputs)  # seed: order only
    x, y = ds[0]
    assert x.shape == (81, 10) and y.shape == (81,)


def test_seeded_test_sample_is_reproducible_nested_and_spread(public):
    questions, _, ratings, sources, splits = public
    sample = load_split("sudoku", "test", source="public", n=1000)
    assert len(sample) == 1000 and sample.data_hash == load_split("sudoku", "test", source="public", n=1000).data_hash
    assert sample.inputs[:500] == load_split("sudoku", "test", source="public", n=500).inputs
    assert load_split("sudoku", "test", source="public", n=1000, seed=1).inputs != sample.inputs
    test = splits["test"]
    first_rows = {questions[i] for i in test[:1000]}  # not the file's first rows of the split
    assert len(first_rows & set(sample.inputs)) < 100
    index = {q: k for k, q in enumerate(questions[i] for i in test)}
    positions = np.array([index[q] for q in sample.inputs]) / len(test)
    assert 0.4 < np.median(positions) < 0.6  # spread over the whole split
    share_17 = (sources[test] == "17-clue").mean()
    sample_17 = np.mean([q.count(".") == 64 for q in sample.inputs])
    assert abs(sample_17 - share_17) < 0.06


def test_one_list_alone(public):
    _, _, _, sources, splits = public
    for name, givens in (("17-clue", {17}), ("forum-hardest", None)):
        ds = load_split("sudoku", "test", source=name)
        assert len(ds) == (sources[splits["test"]] == name).sum()
        counts = {81 - q.count(".") for q in ds.inputs}
        assert counts == givens if givens else 17 not in counts
    both = load_split("sudoku", "val", source="17-clue").inputs + load_split("sudoku", "val", source="forum-hardest").inputs
    assert sorted(both) == sorted(load_split("sudoku", "val", source="public").inputs)
    some = load_split("sudoku", "test", source="17-clue", n=50)
    assert len(some) == 50 and some.inputs == load_split("sudoku", "test", source="17-clue").inputs[:50]


def test_the_default_source_is_still_the_generated_set():
    gen = bundled.manifest().get(bundled.FILES["sudoku"])
    if gen is None:
        pytest.skip("no bundled generated sudoku set")
    assert load_split("sudoku", "val", n=5).inputs == load_split("sudoku", "val", source="generated", n=5).inputs
    assert "sudoku.csv.xz" in load_split("sudoku", "val", n=5).source


def test_bad_source_names_the_choices():
    with pytest.raises(LoopzooError, match="unknown sudoku source 'kaggle'; choose one of generated, public, forum-hardest, 17-clue"):
        load_split("sudoku", "test", source="kaggle")
    with pytest.raises(DataError, match="unknown public sudoku source"):
        sudoku_public.load("test", source="generated")
    with pytest.raises(LoopzooError, match="unknown split"):
        load_split("sudoku", "hard", source="public")


def test_data_list_shows_the_public_set(capsys):
    entry = _need()
    assert main(["data", "list"]) == 0
    out = capsys.readouterr().out
    line = next(line for line in out.splitlines() if NAME in line)
    assert f"{ROWS:,} puzzles" in line and "forum-hardest 48,766" in line and "17-clue 49,158" in line
    assert f"test {entry['test']:,}" in line and "source='public'" in line


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
