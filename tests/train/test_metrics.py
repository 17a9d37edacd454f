"""``metrics.jsonl`` survives a kill in the middle of an append: readers and a resumed run go on."""
import json

from loopzoo.train import metrics
from train_helpers import losses, make


def test_records_come_back_in_order(tmp_path):
    assert metrics.read(tmp_path) == []
    metrics.append(tmp_path, {"step": 1, "loss": 2.0})
    metrics.append(tmp_path, {"step": 2, "loss": 1.5})
    assert metrics.read(tmp_path) == [{"step": 1, "loss": 2.0}, {"step": 2, "loss": 1.5}]
    assert (tmp_path / metrics.FILE).read_text().count("\n") == 2


def test_a_line_cut_short_is_dropped_and_the_next_record_starts_a_new_line(tmp_path):
    metrics.append(tmp_path, {"step": 1, "loss": 2.0})
    with open(tmp_path / metrics.FILE, "a") as f:
        f.write('{"step": 2, "lo')  # a kill in the middle of the second append
    assert metrics.read(tmp_path) == [{"step": 1, "loss": 2.0}]
    metrics.append(tmp_path, {"step": 3, "loss": 1.0})
    assert metrics.read(tmp_path) == [{"step": 1, "loss": 2.0}, {"step": 3, "loss": 1.0}]
    lines = (tmp_path / metrics.FILE).read_text().splitlines()
    assert lines[-1] == json.dumps({"step": 3, "loss": 1.0})


def test_records_that_are_not_objects_are_skipped(tmp_path):
    (tmp_path / metrics.FILE).write_text('[1, 2]\n{"step": 4}\n7\n')
    assert metrics.read(tmp_path) == [{"step": 4}]


def test_truncate_keeps_the_records_up_to_a_step_and_drops_a_cut_line(tmp_path):
    metrics.truncate(tmp_path, 3)
    assert not (tmp_path / metrics.FILE).exists()
    for step in (1, 2, 3, 4):
        metrics.append(tmp_path, {"step": step})
    with open(tmp_path / metrics.FILE, "a") as f:
        f.write('{"step": 5')
    metrics.truncate(tmp_path, 2)
    assert (tmp_path / metrics.FILE).read_text() == '{"step": 1}\n{"step": 2}\n'


def test_a_run_resumes_after_a_kill_cut_its_metrics_line(tmp_path):
    make(tmp_path, max_steps=6).fit()
    with open(tmp_path / metrics.FILE, "a") as f:
        f.write('{"step": 7, "loss": 0.')
    resumed = make(tmp_path, max_steps=8)
    resumed.resume()
    resumed.fit()
    assert sorted(losses(tmp_path)) == list(range(1, 9))
    assert all(json.loads(line) for line in (tmp_path / metrics.FILE).read_text().splitlines())


def _eval(step, train_minutes, eval_minutes, val):
    return {"step": step, "kind": "eval", "train_minutes": train_minutes, "eval_minutes": eval_minutes, "val": {"best": val}}


def test_time_to_target_is_training_time_without_evaluations_interpolated_between_evaluations():
    records = [{"step": 5, "loss": 1.0}, _eval(10, 5.0, 0.0, 0.5), _eval(20, 11.0, 1.0, 0.7), _eval(30, 17.0, 2.0, 0.9)]
    hit = metrics.time_to(records, 0.8)
    assert hit == {"step": 30, "minutes": 15.0, "value": 0.9, "interpolated_minutes": 12.5}
    assert metrics.time_to(records, 0.95) is None
    assert metrics.time_to(records, 0.4)["interpolated_minutes"] == 4.0  # from the start: 0 at minute 0
    for minutes, record in zip((3.0, 7.0, 9.0), records[1:]):
        record["cpu_minutes"] = minutes
    assert metrics.time_to(records, 0.8, clock="cpu_minutes")["interpolated_minutes"] == 8.0
