"""loopzoo.runs: the NAME.TAG syntax, one reader of run folders (older grid folders included), and
``loopzoo.load("NAME.TAG")`` from a run or a bundled tagged checkpoint."""
import json

import pytest

import loopzoo
from loopzoo import CheckpointError, checkpoint, hub, runs

NAME = "sudoku-internal-recall-outernorm"


@pytest.fixture
def root(tmp_path, monkeypatch):
    monkeypatch.setattr(runs, "RUNS", tmp_path / "runs")
    monkeypatch.setattr(hub, "ZOO_DIR", tmp_path / "zoo")
    return tmp_path / "runs"


def _model(directory, width=16):
    checkpoint.save(loopzoo.create(NAME, width=width, heads=2), directory)


@pytest.mark.parametrize("ref, name, tag", [
    (NAME, NAME, None), (f"{NAME}.w256", NAME, "w256"), (f"{NAME}.rerun-bf16", NAME, "rerun-bf16"),
    (f"{NAME}.lr0.001-seed0", NAME, "lr0.001-seed0"),
])
def test_a_ref_splits_at_its_first_dot_and_joins_back(ref, name, tag):
    assert runs.split_tag(ref) == (name, tag) and runs.join_tag(name, tag) == ref


def test_grid_tags_carry_the_rate_and_the_seed():
    assert runs.grid_tag(1e-3, 0) == "lr0.001-seed0" and runs.grid_tag(3e-5, 2) == "lr3e-05-seed2"
    assert runs.parse_grid_tag("lr0.001-seed0") == (1e-3, 0) and runs.parse_grid_tag("lr3e-05-seed2") == (3e-5, 2)
    assert runs.parse_grid_tag("w256") is None and runs.parse_grid_tag(None) is None
    assert runs.parse_grid_tag("lrfast-seed0") is None


def test_an_older_grid_folder_is_read_as_its_ref(root):
    folder = root / "grid" / "sudoku" / f"{NAME}@lr0.003" / "seed1"
    run = runs.RunDir(folder)
    assert (run.name, run.tag, run.ref, run.lr_seed) == (NAME, "lr0.003-seed1", f"{NAME}.lr0.003-seed1", (0.003, 1))
    assert runs.grid_dir("sudoku", NAME, 0.003, 1) == folder
    assert run.status() == {"status": "new"} and not run.exists()
    folder.mkdir(parents=True)
    (folder / "grid-status.json").write_text(json.dumps({"status": "diverged", "step": 3}))
    assert run.exists() and run.status()["status"] == "diverged"
    assert runs.find(f"{NAME}.lr0.003-seed1") == run and runs.find(f"{NAME}.lr0.001-seed1") is None


def test_a_run_folder_gives_its_configs_records_and_models(root):
    run = runs.RunDir(root / f"{NAME}.w32")
    assert run.saved() is None and run.model_dir() is None and run.checkpoints() == []
    with pytest.raises(CheckpointError, match="has not started"):
        run.configs()
    run.path.mkdir(parents=True)
    model = loopzoo.config_for(NAME, width=32, heads=1)
    (run.path / "train.json").write_text(json.dumps({"model": model.to_dict(), "train": {"lr": 1e-3}}))
    records = [{"step": 1, "epoch": 0, "loss": 2.0}, {"step": 2, "kind": "eval", "train_minutes": 1.0},
               {"step": 2, "kind": "eval"}]
    (run.path / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    model_config, train_config = run.configs()
    assert (model_config.width, train_config.lr) == (32, 1e-3)
    assert run.losses() == [(1, 2.0)] and len(run.evaluations()) == 2 and len(run.evaluations(timed=True)) == 1
    assert run.status() == {"status": "new"}
    (run.path / "checkpoints" / "step-00000002").mkdir(parents=True)
    assert run.status() == {"status": "started"}
    _model(run.path)
    assert run.model_dir() == run.path and run.status() == {"status": "done"}
    _model(run.best)
    assert run.model_dir() == run.best  # a timed run's best before the run's own weights
    (run.best / "eval.json").write_text('{"iters": 7}')
    assert run.eval_record() == {"iters": 7}
    assert [r.ref for r in runs.find_runs()] == [f"{NAME}.w32"] and runs.refs_of(NAME) == [f"{NAME}.w32"]


def test_load_takes_a_runs_ref_and_names_what_exists_when_there_is_none(root):
    _model(root / f"{NAME}.w32" / "best", width=32)
    _model(root / "grid" / "sudoku" / f"{NAME}@lr0.001" / "seed0")
    assert loopzoo.load(f"{NAME}.w32").config.width == 32
    assert loopzoo.load(f"{NAME}.lr0.001-seed0").config.width == 16
    (root / f"{NAME}.public").mkdir()
    (root / f"{NAME}.public" / "train.json").write_text("{}")  # started, no model
    for missing in (f"{NAME}.w64", f"{NAME}.public"):
        with pytest.raises(CheckpointError) as info:
            loopzoo.load(missing)
        assert f"{NAME}.w32" in str(info.value) and f"{NAME}.lr0.001-seed0" in str(info.value)
    with pytest.raises(CheckpointError, match="holds no model"):
        loopzoo.load(f"{NAME}.public")


def test_a_bundled_tagged_checkpoint_loads_before_a_run_of_that_ref(root):
    _model(hub.ZOO_DIR / f"{NAME}.w24", width=24)
    _model(root / f"{NAME}.w24" / "best", width=32)
    assert loopzoo.load(f"{NAME}.w24").config.width == 24
    with pytest.raises(loopzoo.LoopzooError):  # not a registered name: no lookup among the runs
        loopzoo.load("sudoku-nothing.w24")


def _eval(step: int, probe: float | None, hard: float = 0.0) -> dict:
    record = {"step": step, "kind": "eval", "val": {"final": 1.0, "at": {"500": 1.0}}, "test": {"final": hard, "at": {"500": hard}}}
    if probe is not None:
        record["probe"] = {"final": probe, "at": {"500": probe}}
    return record


def test_the_best_evaluation_by_the_probe_takes_the_later_of_a_tie(root):
    swing = [_eval(720, 0.93, 0.85), _eval(1440, 0.30), _eval(2960, 0.15, 0.06)]
    assert runs.best_evaluation(swing)["step"] == 720
    flat = [_eval(720, 0.0), _eval(1440, 0.0), _eval(2960, 0.0)]
    assert runs.best_evaluation(flat)["step"] == 2960  # never better than its end: read at its end
    tied = [_eval(720, 0.5), _eval(1440, 0.5), _eval(2960, 0.25)]
    assert runs.best_evaluation(tied)["step"] == 1440
    assert runs.best_evaluation([_eval(720, None, 0.9)]) is None and runs.best_evaluation([]) is None
    assert runs.best_evaluation(swing, split="test")["step"] == 720
    run = runs.RunDir(root / "grid" / "prefix-sums" / "prefix-sums-recall-outernorm@lr0.0003" / "seed0")
    run.path.mkdir(parents=True)
    (run.path / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in [{"step": 1, "loss": 0.7}, *swing]))
    assert run.best_evaluation() == swing[0]
