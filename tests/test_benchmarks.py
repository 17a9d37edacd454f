"""loopzoo.benchmarks: the public benchmarks per task, judged and grouped, with exact counts on
stand-in models whose answers are known, and clear errors for unknown tasks and missing data."""
import dataclasses
import datetime
from types import SimpleNamespace

import pytest

import loopzoo
from loopzoo import benchmarks
from loopzoo.data import load_split
from loopzoo.data.base import TaskDataset
from loopzoo.errors import DataError, InputError, LoopzooError
from loopzoo.model import Solution

# the bundled public list that is always there (17-clue, and so "public", may not be bundled yet)
FORUM = dataclasses.replace(benchmarks.BENCHMARKS["sudoku"][0], name="forum", source="forum-hardest", n=12)
LICHESS = dataclasses.replace(benchmarks.BENCHMARKS["chess"][0], n=40)


class Oracle:
    """A stand-in model: the right answer for items where ``right(i)``, else ``wrong(answer)``."""

    def __init__(self, task: str, data: TaskDataset, right, wrong):
        self.config = SimpleNamespace(task=task, iters=7, depth=1)
        self.data, self.right, self.wrong = data, right, wrong
        self.calls: list[int] = []

    def solve(self, inputs, iters=None, return_info=False, **_):
        assert list(inputs) == self.data.inputs
        self.calls.append(iters)
        answers = [a if self.right(i) else self.wrong(a) for i, a in enumerate(self.data.answers)]
        if not return_info:
            return answers
        return [Solution(a, iters, iters, 1, a == t, "") for a, t in zip(answers, self.data.answers)]


def test_the_table_covers_sudoku_and_chess_on_their_public_splits():
    sudoku, chess = benchmarks.for_task("sudoku"), benchmarks.for_task("chess")
    assert [(b.task, b.name, b.source, b.split, b.n) for b in (*sudoku, *chess)] == [
        ("sudoku", "public-hard", "public", "test", 1000), ("chess", "lichess", "lichess", "test", None)]
    assert sudoku[0].group_by == "list" and chess[0].metric == "first move right"


@pytest.mark.parametrize("task", ["prefix-sums", "mazes", ""])
def test_a_task_without_benchmarks_is_refused_by_name(task):
    with pytest.raises(LoopzooError, match=f"no public benchmark is registered for task {task!r}; tasks with one: chess, sudoku"):
        benchmarks.for_task(task)


def test_sudoku_exact_match_verifier_givens_and_cells_per_list():
    data = FORUM.load()
    model = Oracle("sudoku", data, right=lambda i: i % 3 == 0, wrong=lambda a: "1" * 81)  # breaks givens and rules
    record = benchmarks.run(FORUM, model, iters=5)
    assert model.calls == [5] and record["iters"] == 5 and record["samples"] == 12
    assert record["breadth"] == 1 and record["evaluations"] == 5 and "halt" not in record
    assert record["overall"] == {"n": 12, "right": 4, "accuracy": round(4 / 12, 4)}
    assert record["groups"] == {"forum-hardest": record["overall"]}
    assert record["verified"] == {"valid": round(4 / 12, 4), "invalid": round(8 / 12, 4), "unknown": 0.0}
    kept = sum(i % 3 == 0 or all(q in ".1" for q in data.inputs[i]) for i in range(12))
    assert record["givens_kept"] == round(kept / 12, 4) and kept < 12
    ones = sum(a.count("1") for i, a in enumerate(data.answers) if i % 3)  # each wrong grid's 9 cells that are 1
    assert ones == 8 * 9 and record["cells_right"] == round((4 * 81 + ones) / (12 * 81), 4)
    assert record["data_sha256"] == load_split("sudoku", "test", source="forum-hardest", n=12).data_hash
    assert record["date"] == datetime.datetime.now(datetime.timezone.utc).date().isoformat()
    assert (record["source"], record["split"], record["seed"], record["metric"], record["group_by"]) == (
        "forum-hardest", "test", 0, "exact match", "list")
    assert record["loopzoo"] == loopzoo.__version__ and record["seconds"] >= 0


def test_the_public_split_is_broken_down_by_list(monkeypatch):
    """Each puzzle goes to the list whose split holds it (a stand-in for 17-clue: forum-hardest's val split)."""
    real = loopzoo.data.load_split
    hard, other = real("sudoku", "test", source="forum-hardest", n=5), real("sudoku", "val", source="forum-hardest", n=3)
    mixed = TaskDataset.concat([other, hard], "public")

    def stand_in(task, split, seed=0, n=None, source=None, **kw):
        if source == "public":
            return mixed
        return real(task, "val" if source == "17-clue" else split, seed=seed, n=n,
                    source="forum-hardest" if source == "17-clue" else source, **kw)

    monkeypatch.setattr(loopzoo.data, "load_split", stand_in)
    bench = dataclasses.replace(FORUM, source="public")
    assert benchmarks.by_public_list(bench, mixed) == {"forum-hardest": [3, 4, 5, 6, 7], "17-clue": [0, 1, 2]}
    record = benchmarks.run(bench, Oracle("sudoku", mixed, right=lambda i: i < 4, wrong=lambda a: a[::-1]), iters=9)
    assert record["overall"] == {"n": 8, "right": 4, "accuracy": 0.5}
    assert record["groups"] == {"forum-hardest": {"n": 5, "right": 1, "accuracy": 0.2},
                                "17-clue": {"n": 3, "right": 3, "accuracy": 1.0}}
    assert record["data_sha256"] == mixed.data_hash and record["source"] == "public"
    train = real("sudoku", "train", source="forum-hardest", n=1)
    with pytest.raises(LoopzooError, match="is in none of the lists forum-hardest, 17-clue"):
        benchmarks.by_public_list(bench, TaskDataset.concat([hard, train], "public"))


def test_chess_first_move_by_rating_band_agrees_with_chess_eval():
    pytest.importorskip("chess")
    from loopzoo.tasks.chess_eval import first_move_report

    data = LICHESS.load()
    model = Oracle("chess", data, right=lambda i: i % 4 != 1, wrong=lambda a: "a1a1")  # a1a1: never legal
    record = benchmarks.run(LICHESS, model, iters=3)
    assert record["overall"] == {"n": 40, "right": 30, "accuracy": 0.75} and record["alternate_mates"] == 0
    report = first_move_report(data.inputs, model.solve(data.inputs), data.answers, data.ratings)
    assert [(k, g["n"], g["right"]) for k, g in record["groups"].items()] == [
        (k, g["n"], g["right"]) for k, g in report["bands"].items()]
    assert list(record["groups"]) == ["<1000", "1000-1500", "1500-2000", "2000+"]
    assert sum(g["n"] for g in record["groups"].values()) == 40


def test_a_tiny_chess_model_is_measured_at_its_recommended_iterations():
    pytest.importorskip("chess")
    from loopzoo.tasks.chess_eval import first_move_report

    model = loopzoo.create("chess-internal-recall-outernorm", width=16, heads=2).eval()
    bench = dataclasses.replace(LICHESS, n=16)
    with pytest.MonkeyPatch.context() as mp:
        mp.setitem(benchmarks.BENCHMARKS, "chess", (bench,))
        records = benchmarks.measure(model, iters=2)
    data = bench.load()
    report = first_move_report(data.inputs, model.solve(data.inputs, iters=2), data.answers, data.ratings)
    assert list(records) == ["lichess"] and records["lichess"]["iters"] == 2
    assert records["lichess"]["overall"]["right"] == report["overall"]["right"]
    with pytest.MonkeyPatch.context() as mp:
        mp.setitem(benchmarks.BENCHMARKS, "chess", (bench,))
        wide = benchmarks.measure(model, iters=2, breadth=2)["lichess@breadth2"]
    sols = model.solve(data.inputs, iters=2, halt="valid", breadth=2, return_info=True)
    assert wide["overall"]["right"] == first_move_report(data.inputs, [s.answer for s in sols], data.answers,
                                                         data.ratings)["overall"]["right"]
    assert wide["breadth"] == 2 and wide["halt"] == "valid"
    with pytest.raises(LoopzooError, match="unknown chess benchmark\\(s\\) 'nope'; choose from lichess"):
        benchmarks.measure(model, names=["nope"])
    with pytest.raises(LoopzooError, match="lichess is a chess benchmark; this model solves sudoku"):
        benchmarks.run(bench, Oracle("sudoku", data, bool, str), 2)


def test_missing_data_raises_a_data_error(monkeypatch, tmp_path):
    from loopzoo.data import bundled

    monkeypatch.setattr(bundled, "DIR", tmp_path)
    with pytest.raises(DataError, match="the bundled Lichess puzzles are missing"):
        LICHESS.load()
    with pytest.raises(DataError, match="is not bundled yet"):
        FORUM.load()


def test_a_tiny_sudoku_model_agrees_with_the_cards_own_check(sudoku):
    from loopzoo import bundle

    data = FORUM.load()
    record = benchmarks.run(FORUM, sudoku, iters=2)
    answers = [str(a) for a in sudoku.solve(data.inputs, iters=2)]
    assert record["overall"]["right"] == sum(a == t for a, t in zip(answers, data.answers))
    checked = bundle.checked_answers(sudoku, data, 2)
    assert record["verified"] == checked["verified"] and record["givens_kept"] == checked["givens_kept"]


def test_a_breadth_record_is_seeded_carries_its_search_and_compute_and_sits_beside_the_fixed_one(sudoku, monkeypatch):
    """breadth=K records what solve(..., breadth=K, halt="valid") gives, under its own key; the same seed, the same record."""
    bench = dataclasses.replace(FORUM, n=4)
    monkeypatch.setitem(benchmarks.BENCHMARKS, "sudoku", (bench,))
    fixed = benchmarks.measure(sudoku, iters=3)
    wide = benchmarks.measure(sudoku, iters=3, breadth=4, noise=0.5, seed=7)
    assert list(fixed) == ["forum"] and list(wide) == ["forum@breadth4"] == [benchmarks.key(bench, 4)]
    record = wide["forum@breadth4"]
    assert (record["breadth"], record["halt"], record["noise"], record["solve_seed"], record["seed"]) == (4, "valid", 0.5, 7, 0)
    assert fixed["forum"]["breadth"] == 1 and fixed["forum"]["evaluations"] == 3 * sudoku.config.depth
    data = bench.load()
    sols = sudoku.solve(data.inputs, iters=3, halt="valid", breadth=4, noise=0.5, seed=7, return_info=True)
    assert record["overall"]["right"] == sum(str(s.answer) == t for s, t in zip(sols, data.answers))
    assert record["evaluations"] == round(sudoku.config.depth * sum(s.total_iters for s in sols) / 4, 2)
    assert 0 < record["evaluations"] <= 4 * 3 * sudoku.config.depth
    again = benchmarks.run(bench, sudoku, 3, breadth=4, noise=0.5, seed=7)
    assert {k: v for k, v in again.items() if k != "seconds"} == {k: v for k, v in record.items() if k != "seconds"}


@pytest.mark.parametrize("options, message", [
    ({"breadth": 0}, "breadth must be a positive integer, got '0'"),
    ({"breadth": 2.5}, "breadth must be a positive integer, got '2.5'"),
    ({"breadth": 5000}, "breadth is 5000, above loopzoo's limit of 1024"),
    ({"breadth": 4, "noise": 0}, "noise must be a positive finite number, got '0'"),
    ({"seed": -1}, "seed must be a non-negative integer, got '-1'"),
])
def test_a_bad_breadth_noise_or_seed_is_refused_by_name_before_any_data_load(options, message, monkeypatch):
    model = Oracle("sudoku", FORUM.load(), bool, str)
    monkeypatch.setattr(benchmarks.Benchmark, "load", lambda self: pytest.fail("data loaded"))
    with pytest.raises(InputError, match=message):
        benchmarks.measure(model, **options)
    with pytest.raises(InputError, match=message):
        benchmarks.run(FORUM, model, 2, **options)
    assert model.calls == []
