"""loopzoo.analysis.curves: where the decay lines go on a learning curve, and what its minutes count."""
import json

import pytest

from loopzoo.analysis import curves
from loopzoo.runs import RunDir

EVALS = [{"step": 100, "train_minutes": 10.0}, {"step": 300, "train_minutes": 30.0}, {"step": 400, "train_minutes": 50.0}]


@pytest.mark.parametrize("step, minutes", [(100, 10.0), (200, 20.0), (350, 40.0), (400, 50.0), (50, 10.0), (500, None)])
def test_the_decay_is_placed_at_its_own_step_between_evaluations(step, minutes):
    assert curves.minutes_at(EVALS, step) == (pytest.approx(minutes) if minutes is not None else None)


@pytest.mark.parametrize("meta, starts", [
    ({"decay_from": 5, "decays": [5, 9]}, [5, 9]),
    ({"decay_from": 5}, [5]),  # written before decay stages
    ({"decay_from": None}, []),
])
def test_every_decay_stage_of_the_newest_checkpoint_is_found(tmp_path, meta, starts):
    for step, written in ((1, {"decay_from": None}), (2, meta)):
        folder = tmp_path / "checkpoints" / f"step-{step:08d}"
        folder.mkdir(parents=True)
        (folder / "trainer.json").write_text(json.dumps(written))
    assert RunDir(tmp_path).decay_starts() == starts


def test_minutes_leave_out_the_evaluations_where_the_run_recorded_them():
    evals = [{"step": 100, "train_minutes": 10.0, "eval_minutes": 0.0},
             {"step": 200, "train_minutes": 25.0, "eval_minutes": 5.0}]
    assert [curves.training_minutes(r) for r in evals] == [10.0, 20.0]
    assert curves.minutes_at(evals, 150) == pytest.approx(15.0)
    assert curves.excludes_evaluation(evals)
    assert not curves.excludes_evaluation(evals + EVALS[:1])  # an older run's records: wall minutes
    assert curves.training_minutes(EVALS[1]) == 30.0


def _record(step: float, val: float, hard: float, probe: float | None = None) -> dict:
    split = lambda p: {"samples": 100, "at": {"30": 0.0, "500": p}}  # noqa: E731
    record = {"step": step, "train_minutes": step / 100, "eval_minutes": 0.0, "val": split(val), "test": split(hard)}
    if probe is not None:
        record["probe"] = split(probe)
    return record


def test_the_table_shows_the_probe_column_only_for_runs_that_scored_one():
    probed = curves.table([_record(100, 1.0, 0.5, probe=0.25), _record(200, 1.0, 0.75, probe=1.0)], 500)
    plain = curves.table([_record(100, 1.0, 0.5)], 500)
    head, rule, first, second = probed.splitlines()
    assert head.endswith("| probe @500 |") and rule.count("---") == 7
    assert first.endswith("| 50.0% | 25.0% |") and second.endswith("| 75.0% | 100.0% |")
    assert "probe" not in plain and plain.splitlines()[1].count("---") == 6


def test_a_runs_curve_is_plotted_and_tabled_from_its_folder(tmp_path):
    pytest.importorskip("matplotlib")
    from loopzoo import LoopzooError

    run = RunDir(tmp_path / "prefix-sums-internal-recall-outernorm.w32")
    with pytest.raises(LoopzooError, match="has no metrics.jsonl"):
        curves.curve(run, tmp_path / "a.png")
    run.path.mkdir()
    (run.path / "train.json").write_text(json.dumps({"model": {}, "train": {"eval_iters": 500}}))
    records = [{"step": 1, "loss": 0.5}, {**_record(100, 1.0, 0.5), "kind": "eval"}, {**_record(200, 1.0, 0.75), "kind": "eval"}]
    (run.path / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    text, counts = curves.curve(run, tmp_path / "out" / f"{run.ref}.png")
    assert text == curves.table(run.evaluations(timed=True), 500) and len(text.splitlines()) == 4
    assert counts == {"samples": {"val": 100, "test": 100}, "clock": "evaluations excluded"}
    assert (tmp_path / "out" / "prefix-sums-internal-recall-outernorm.w32.png").stat().st_size > 0
