"""loopzoo.bundle: a model replaces the bundle of its name only when better; cards measured on older data are
measured again."""
import json

import pytest

import loopzoo
from loopzoo import bundle, hub
from loopzoo.data import load_split

NAME = "prefix-sums-internal-recall-outernorm"


@pytest.fixture
def zoo_dir(tmp_path, monkeypatch):
    monkeypatch.setattr(hub, "ZOO_DIR", tmp_path / "zoo")
    return tmp_path / "zoo"


def _result(val: float, iters: int = 7, sha: str | None = None, probe: float | None = None) -> dict:
    result = {"iters": iters, "eval": {"val": {"at": {str(iters): val}, "data_sha256": sha}}}
    if probe is not None:
        result["probe"] = {"best": probe, "samples": 50}
    return result


def _bundled_untrained(zoo_dir, eval_record: dict, iters: int = 5) -> dict:
    """An untrained tiny model bundled as NAME with ``eval_record`` as its card's numbers; its config."""
    model = loopzoo.create(NAME, width=16, heads=2)  # untrained: near 0% exact on 32-bit prefix sums
    model.save(str(zoo_dir / NAME), eval=eval_record)
    config = zoo_dir / NAME / "config.json"
    meta = json.loads(config.read_text())
    meta["model"]["iters"] = iters
    config.write_text(json.dumps(meta))
    return meta


def test_a_tagged_model_replaces_the_bundle_only_when_better_on_val(zoo_dir):
    assert bundle.bundled_score(NAME) is None
    assert bundle.replaces_bundle(_result(0.1), None)  # nothing bundled yet
    bundled = zoo_dir / NAME
    bundled.mkdir(parents=True)
    (bundled / "config.json").write_text(json.dumps(
        {"model": {"iters": 40, "task": "prefix-sums"}, **_result(0.5, 40, probe=0.8)}))
    current = bundle.bundled_score(NAME)
    assert current == (0.5, 0.8, -40)
    assert bundle.replaces_bundle(_result(0.6, 400, probe=0.0), current)  # val first
    assert not bundle.replaces_bundle(_result(0.4, 4, probe=1.0), current)
    # a tie on val: the held-out probe decides, then fewer iterations
    assert bundle.replaces_bundle(_result(0.5, 400, probe=0.9), current)
    assert not bundle.replaces_bundle(_result(0.5, 4, probe=0.7), current)
    assert bundle.replaces_bundle(_result(0.5, 30, probe=0.8), current)
    assert not bundle.replaces_bundle(_result(0.5, 40, probe=0.8), current)  # the same: the bundle stays


def test_a_prefix_sums_bundle_without_a_recorded_probe_has_it_measured(zoo_dir, monkeypatch):
    monkeypatch.setitem(bundle.EVAL_SIZES, "prefix-sums", dict(val=20, test=10, probe=4, probe_max=3))
    _bundled_untrained(zoo_dir, {"val": {"at": {"5": 1.0}}})
    val, probe, iters = bundle.bundled_score(NAME)
    expected = loopzoo.evaluate.accuracy_curve(loopzoo.load(zoo_dir / NAME), load_split(
        "prefix-sums", "test", seed=1, n=4), 3).best
    assert (val, iters) == (1.0, -5) and probe == expected


def test_a_bundle_measured_on_older_data_is_measured_again_on_the_current_val_split(zoo_dir):
    current = load_split("prefix-sums", "val", n=bundle.EVAL_SIZES["prefix-sums"]["val"]).data_hash
    measured = {"at": {"5": 0.9}, "data_sha256": "0" * 64}  # the card's claim, on a split that no longer exists
    meta = _bundled_untrained(zoo_dir, {"val": measured})
    config = zoo_dir / NAME / "config.json"
    assert bundle.bundled_val(NAME) == 0.9  # no split to compare with: the card's number
    again = bundle.bundled_val(NAME, current)
    assert again < 0.5 and again == pytest.approx(
        loopzoo.evaluate.accuracy_curve(loopzoo.load(zoo_dir / NAME), load_split(
            "prefix-sums", "val", n=bundle.EVAL_SIZES["prefix-sums"]["val"]), 5).at(5))
    assert bundle.replaces_bundle(_result(0.6, sha=current), (again, 0.0, -5))
    measured["data_sha256"] = current
    meta["eval"] = {"val": measured}
    config.write_text(json.dumps(meta))
    assert bundle.bundled_val(NAME, current) == 0.9  # the same split: the card's number stands


def test_remeasure_rewrites_a_card_measured_on_older_data_and_keeps_the_training_record(zoo_dir, monkeypatch):
    current = load_split("prefix-sums", "val", n=bundle.EVAL_SIZES["prefix-sums"]["val"]).data_hash
    meta = _bundled_untrained(zoo_dir, {"val": {"at": {"5": 0.9}, "data_sha256": "0" * 64}})
    config = zoo_dir / NAME / "config.json"
    meta["data"] = {"name": "random-bits", "description": "the first 100 items of the train split", "sha256": "old"}
    meta["wall_time"], meta["hardware"] = "3.4 min", "CPU (x86_64), 1 thread(s), fp32, torch 2.13.0"
    config.write_text(json.dumps(meta))
    weights = (zoo_dir / NAME / "model.safetensors").read_bytes()
    remeasured = {"iters": 7, "iters_note": "remeasured", "data": {"sha256": "new"},
                  "eval": {"rho_wx": 0.5, "val": {"at": {"7": 0.25}, "data_sha256": current, "samples": 3},
                           "test": {"at": {"7": 0.125}, "data_sha256": "t", "samples": 3}}}
    seen = []
    monkeypatch.setattr(bundle, "evaluate", lambda name, model_dir: seen.append(model_dir) or remeasured)
    monkeypatch.setattr(bundle.card, "write", lambda directory: None)
    assert bundle.remeasure(NAME) == zoo_dir / NAME
    assert seen and not (seen[0] / "eval.json").exists()
    new = json.loads(config.read_text())
    assert new["model"]["iters"] == 7 and new["eval"] == remeasured["eval"] and new["iters_note"] == "remeasured"
    assert new["wall_time"] == "3.4 min" and new["hardware"].startswith("CPU (x86_64), 1 thread(s)")
    assert new["data"]["sha256"] == "old" and new["data"]["description"].endswith("as bundled before it was rewritten")
    assert (zoo_dir / NAME / "model.safetensors").read_bytes() == weights
    assert bundle.remeasure(NAME) is None and len(seen) == 1, "measured on the current split: nothing to do"
    assert bundle.remeasure("prefix-sums-recall-outernorm") is None  # not bundled


def test_a_timed_runs_best_is_bundled_only_where_it_beats_the_bundle(zoo_dir, tmp_path, monkeypatch):
    best = tmp_path / "run" / "best"
    best.mkdir(parents=True)
    bundled = []
    monkeypatch.setattr(bundle, "bundle", lambda name, model_dir, result: bundled.append(model_dir) or model_dir)
    monkeypatch.setattr(bundle, "bundled_score", lambda name, sha: (0.5, 0.0, -7))
    monkeypatch.setattr(bundle, "evaluate", lambda name, model_dir: _result(0.4))
    assert bundle.evaluate_and_bundle(NAME, best) is None and not bundled
    monkeypatch.setattr(bundle, "evaluate", lambda name, model_dir: _result(0.6))
    assert bundle.evaluate_and_bundle(NAME, best) == best
    assert bundle.evaluate_and_bundle(NAME, tmp_path / "run") == tmp_path / "run"  # a finished fixed-step run: always


def _card_eval(iters: int) -> dict:
    """A complete (made-up) card record: every figure a card shows, 0.5 everywhere."""
    def split(label: str) -> dict:
        return {"label": label, "samples": 10, "at": {str(p): 0.5 for p in (1, 10, 30, 100, 300, 500, iters)},
                "best": 0.5, "best_iter": 3, "final": 0.5, "overthinking": 0.0}
    return {"val": split("val"), "test": split("hard"), "rho_wx": 0.9}


def test_measure_benchmarks_adds_the_public_scores_to_the_card_and_keeps_the_rest(zoo_dir, monkeypatch):
    import dataclasses

    from loopzoo import benchmarks, card
    from loopzoo.errors import InputError

    name = "sudoku-internal-recall-outernorm"
    loopzoo.create(name, width=16, heads=2).save(str(zoo_dir / name), eval=_card_eval(4), iters_note="made up")
    config = zoo_dir / name / "config.json"
    meta = json.loads(config.read_text())
    meta["model"]["iters"] = 4
    config.write_text(json.dumps(meta))
    before, weights = card.render(zoo_dir / name), (zoo_dir / name / "model.safetensors").read_bytes()
    forum = dataclasses.replace(benchmarks.BENCHMARKS["sudoku"][0], name="forum", source="forum-hardest", n=6)
    monkeypatch.setitem(benchmarks.BENCHMARKS, "sudoku", (forum,))
    assert bundle.measure_benchmarks(name) == zoo_dir / name
    new = json.loads(config.read_text())
    record = new["benchmarks"]["forum"]
    expected = benchmarks.run(forum, loopzoo.load(zoo_dir / name), 4)
    assert record["iters"] == 4 and record["samples"] == 6
    assert {k: v for k, v in record.items() if k != "seconds"} == {k: v for k, v in expected.items() if k != "seconds"}
    assert {k: v for k, v in new.items() if k != "benchmarks"} == meta, "nothing else measured again"
    assert (zoo_dir / name / "model.safetensors").read_bytes() == weights
    text = (zoo_dir / name / "README.md").read_text()
    assert text == card.render(zoo_dir / name) and "## Public benchmarks" in text and "## Public benchmarks" not in before
    assert card.benchmarks_section(name, new) in text
    with pytest.raises(InputError, match="breadth must be a positive integer, got '0'"):
        bundle.measure_benchmarks(name, breadth=0)
    assert json.loads(config.read_text()) == new, "a bad breadth writes nothing"
    bundle.measure_benchmarks(name, breadth=2, noise=0.5)
    wide = json.loads(config.read_text())["benchmarks"]
    assert list(wide) == ["forum", "forum@breadth2"] and wide["forum"] == record, "the fixed-depth record stays"
    assert (wide["forum@breadth2"]["breadth"], wide["forum@breadth2"]["noise"]) == (2, 0.5)
    assert "| 2 | valid | 4 | 6 |" in (zoo_dir / name / "README.md").read_text()
    del new["benchmarks"]
    config.write_text(json.dumps(new))
    assert card.render(zoo_dir / name) == before, "without a record the card is as it was"
    assert not list(zoo_dir.glob(".*.tmp"))


def test_measure_benchmarks_refuses_a_task_without_them_and_skips_what_is_not_bundled(zoo_dir):
    from loopzoo.errors import LoopzooError

    _bundled_untrained(zoo_dir, {"val": {"at": {"5": 0.9}}})
    before = (zoo_dir / NAME / "config.json").read_text()
    with pytest.raises(LoopzooError, match="no public benchmark is registered for task 'prefix-sums'"):
        bundle.measure_benchmarks(NAME)
    assert (zoo_dir / NAME / "config.json").read_text() == before
    assert bundle.measure_benchmarks("chess-recall-outernorm") is None  # not bundled
