"""loopzoo.train.grid: the grid's variants, and one tiny equal-budget run trained, resumed and summed up;
the refusals of scripts/train_grid.py's command line."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

import loopzoo
from loopzoo import ConfigError, InputError, registry, runs
from loopzoo.train import grid as grid_module
from loopzoo.train import zoo

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"


@pytest.fixture
def grid(tmp_path, monkeypatch):
    """The module, with the runs in ``tmp_path`` and a tiny prefix-sums timed recipe."""
    monkeypatch.setattr(runs, "RUNS", tmp_path / "runs")
    tiny = {"model": dict(width=16, heads=2), "train": dict(
        epochs=100_000, batch_size=50, lr=3e-4, warmup_epochs=1.0, decay_epoch=None, eval_iters=4,
        train_size=100, max_iters=4, precision="fp32")}
    monkeypatch.setitem(zoo.TIMED_RECIPES, "prefix-sums", tiny)
    return grid_module


def train(grid, labels: list[str], epochs: int = 2) -> None:
    """Train the prefix-sums variants labelled ``labels``, seed 0, as ``train_grid.py --only`` does."""
    grid.train("prefix-sums", grid.select(grid.variants("prefix-sums"), labels), [0], epochs, progress=False)


@pytest.mark.parametrize("task", ["prefix-sums", "sudoku", "chess"])
def test_every_variant_is_a_registered_name_with_unique_labels(grid, task):
    recipe_lr = grid.recipe_lr(task)
    variants = grid.variants(task, recipe_lr)
    assert len({v.label for v in variants}) == len(variants)
    names = set(registry.models.names())
    assert {v.name for v in variants} <= names
    c4 = [v for v in variants if v.claims == "C4"]
    assert {v.lr for v in c4} == {recipe_lr, grid.high_lr(recipe_lr)}
    assert {v.name.rsplit("-", 1)[1] for v in c4 if v.lr > recipe_lr} == {"outernorm", "prenorm", "perinorm", "gru"}
    assert f"{task}-fixed15" in {v.name for v in variants}


def test_high_learning_rate(grid):
    assert grid.high_lr(3e-4) == pytest.approx(1e-3)
    assert grid.high_lr(1e-3) == pytest.approx(3e-3)


def test_a_runs_ref_is_its_tag_and_its_folder_keeps_the_grid_layout(grid):
    variant = grid.Variant("prefix-sums-recall-outernorm", 3e-4, "")
    assert variant.label == "prefix-sums-recall-outernorm.lr0.0003"
    assert variant.ref(1) == "prefix-sums-recall-outernorm.lr0.0003-seed1"
    folder = grid.run_dir("prefix-sums", variant, 1)
    assert folder == runs.RUNS / "grid" / "prefix-sums" / "prefix-sums-recall-outernorm@lr0.0003" / "seed1"
    assert runs.RunDir(folder).ref == variant.ref(1) and runs.RunDir(folder).lr_seed == (3e-4, 1)


def test_equal_budget_configs(grid):
    variants = grid.variants("prefix-sums", 3e-4)
    configs = [grid.configs("prefix-sums", v, seed=1, epochs=3) for v in variants]
    for (model, train), variant in zip(configs, variants):
        assert (model.width, train.batch_size, train.epochs, train.decay_epoch, train.seed) == (16, 50, 3, 2, 1)
        assert train.lr == variant.lr
        assert train.max_iters == (1 if model.iters == 1 else 4)  # the untied baseline runs once
        assert train.eval_iters == (1 if model.iters == 1 else 4)  # ... and is evaluated as it runs


@pytest.mark.parametrize("task", ["prefix-sums", "sudoku", "chess"])
def test_the_real_recipes_give_configs_that_keep_their_evaluation_settings(task):
    recipe = zoo.TIMED_RECIPES[task]["train"]
    for variant in grid_module.variants(task, recipe["lr"]):
        _, train = grid_module.configs(task, variant, seed=0, epochs=2)
        assert train.eval_samples == recipe.get("eval_samples", 500) and train.probe == recipe.get("probe", {})
        assert train.eval_every == grid_module.EVAL_EVERY[task]
    assert grid_module.DEFAULT_EPOCHS[task] >= grid_module.EVAL_EVERY[task]  # at least one evaluation before the end


def test_a_run_continues_with_other_evaluation_settings_but_not_other_training(grid):
    label = "prefix-sums-recall-outernorm.lr0.0003"
    run = runs.RUNS / "grid" / "prefix-sums" / "prefix-sums-recall-outernorm@lr0.0003" / "seed0"
    run.mkdir(parents=True)
    model, train_config = grid.configs("prefix-sums", grid.Variant("prefix-sums-recall-outernorm", 3e-4, ""), 0, epochs=2)
    watched_otherwise = {**train_config.to_dict(), "eval_iters": 120, "eval_samples": 7}
    (run / "train.json").write_text(json.dumps({"model": model.to_dict(), "train": watched_otherwise}))
    (run / "grid-status.json").write_text(json.dumps({"status": "done"}))
    train(grid, [label])  # the same budget
    older = {k: v for k, v in watched_otherwise.items() if k != "init_from"}  # saved before that option existed
    (run / "train.json").write_text(json.dumps({"model": model.to_dict(), "train": older}))
    train(grid, [label])
    (run / "train.json").write_text(json.dumps({"model": model.to_dict(), "train": {**watched_otherwise, "lr": 1e-3}}))
    with pytest.raises(ConfigError, match="other settings"):
        train(grid, [label])


def test_a_run_trains_to_its_end_once_and_is_summed_up(grid, capsys):
    label = "prefix-sums-internal-recall-outernorm.lr0.0003"
    ref = f"{label}-seed0"
    train(grid, ["prefix-sums-internal-recall-outernorm@lr0.0003"])  # the older label syntax is read too
    run = runs.find(ref)
    assert run is not None and run.path == runs.RUNS / "grid" / "prefix-sums" / "prefix-sums-internal-recall-outernorm@lr0.0003" / "seed0"
    state = json.loads((run.path / "grid-status.json").read_text())
    assert state["status"] == "done" and state["steps"] == 4
    assert not (run.path / "checkpoints").exists()  # optimizer state dropped once finished
    assert loopzoo.load(run.path).config.width == 16
    assert loopzoo.load(ref).config.width == 16  # by its ref
    print(grid.table(grid.summarize("prefix-sums", grid.variants("prefix-sums"), [0])))
    summary = json.loads((runs.RUNS / "grid" / "prefix-sums" / "grid.json").read_text())
    entry = summary["runs"][ref]
    assert entry["status"] == "done" and "30" not in entry["val_at"] and entry["val_at"]
    assert sum(r["status"] == "new" for r in summary["runs"].values()) == len(summary["runs"]) - 1
    mtime = (run.path / "model.safetensors").stat().st_mtime_ns
    train(grid, [label])  # finished: nothing retrained
    assert (run.path / "model.safetensors").stat().st_mtime_ns == mtime
    out = capsys.readouterr().out
    assert f"{ref}: done" in out
    row = next(line for line in out.splitlines() if line.startswith("| `prefix-sums-internal-recall-outernorm` lr 0.0003 |"))
    cells = [cell.strip() for cell in row.strip("|").split("|")]
    assert cells[1:4] == ["0", "done", "4"]
    val, hard = (float(x) for x in cells[-1].split(" / "))  # the last evaluated iteration count, in %
    last = max(entry["val_at"], key=int)
    assert (val, hard) == (round(100 * entry["val_at"][last], 1), round(100 * entry["test_at"][last], 1))
    assert "| `prefix-sums-internal-recall-gru` lr 0.001 | 0 | new | - | - |" in out


def test_the_status_table_has_one_column_per_evaluated_iteration_count(grid):
    summary = {"runs": {
        "a": {"name": "x", "lr": 1e-3, "seed": 0, "status": "done", "steps": 9, "train_minutes": 1.25,
              "val_at": {"1": 0.5, "30": 0.25}, "test_at": {"1": 0.125, "30": 0.0}},
        "b": {"name": "y", "lr": 3e-3, "seed": 1, "status": "diverged", "step": 3, "message": "loss is nan"}}}
    lines = grid.table(summary).splitlines()
    assert lines[0] == "| run | seed | status | steps | minutes | val / hard @1 | val / hard @30 |"
    assert lines[2] == "| `x` lr 0.001 | 0 | done | 9 | 1.2 | 50.0 / 12.5 | 25.0 / 0.0 |"
    assert lines[3] == "| `y` lr 0.003 | 1 | diverged | 3 | - | - | - |"


def test_a_diverged_run_is_recorded_not_raised(grid, monkeypatch):
    from loopzoo.train.trainer import Trainer, TrainingDiverged

    def diverge(self):
        self.step = 3
        raise TrainingDiverged("loss is nan at step 3; stopped.\nmore")

    monkeypatch.setattr(Trainer, "fit", diverge)
    train(grid, ["prefix-sums-internal-recall-prenorm.lr0.001"])
    run = runs.find("prefix-sums-internal-recall-prenorm.lr0.001-seed0")
    state = json.loads((run.path / "grid-status.json").read_text())
    assert state == {"status": "diverged", "step": 3, "message": "loss is nan at step 3; stopped.",
                     "train_minutes": state["train_minutes"]}
    assert run.status() == state


def test_a_started_or_finished_run_refuses_other_settings(grid):
    label = "prefix-sums-recall-outernorm.lr0.0003"
    run = grid.run_dir("prefix-sums", grid.Variant("prefix-sums-recall-outernorm", 3e-4, ""), 0)
    run.mkdir(parents=True)
    model, train_config = grid.configs("prefix-sums", grid.Variant("prefix-sums-recall-outernorm", 3e-4, ""), 0, epochs=5)
    (run / "train.json").write_text(json.dumps({"model": model.to_dict(), "train": train_config.to_dict()}))
    with pytest.raises(ConfigError, match="other settings"):
        train(grid, [label])
    (run / "grid-status.json").write_text(json.dumps({"status": "done"}))  # finished at 5 epochs: not done at 2
    with pytest.raises(ConfigError, match="other settings"):
        train(grid, [label])


def test_unknown_variants_are_refused_with_the_grid(grid):
    with pytest.raises(InputError, match="unknown variant.*nope.*the grid: prefix-sums-internal-recall-outernorm.lr0.0003"):
        grid.select(grid.variants("prefix-sums"), ["nope"])


@pytest.mark.subprocess
def test_bad_arguments_are_refused():
    for bad in (["--only", "nope"], ["--shard", "3/2"], ["--shard", "x"], ["--epochs", "0"]):
        out = subprocess.run([sys.executable, str(SCRIPTS / "train_grid.py"), "prefix-sums", *bad],
                             capture_output=True, text=True)
        assert out.returncode == 2 and "error" in out.stderr, (bad, out.stderr)


def test_shards_split_the_grid(grid):
    variants = grid.variants("prefix-sums", 3e-4)
    first = {v.label for v in grid.select(variants, shard=(1, 2))}
    second = {v.label for v in grid.select(variants, shard=(2, 2))}
    assert first | second == {v.label for v in variants} and not first & second
    assert grid.listing("prefix-sums", grid.select(variants, shard=(1, 2)), 0).split()[0] == variants[0].label


def test_bundle_takes_finished_recipe_rate_runs_but_not_the_flagship_or_the_untied_baseline(grid, monkeypatch, capsys):
    from loopzoo import bundle

    recipe_lr = zoo.TIMED_RECIPES["prefix-sums"]["train"]["lr"]
    variants = grid.variants("prefix-sums", recipe_lr)
    for variant in variants:
        run = grid.run_dir("prefix-sums", variant, 0)
        run.mkdir(parents=True)
        if variant.name != "prefix-sums-internal-recall-perinorm":  # one run not finished
            (run / "grid-status.json").write_text(json.dumps({"status": "done"}))
    bundled = []
    monkeypatch.setattr(bundle, "evaluate", lambda name, directory: {"name": name})
    monkeypatch.setattr(bundle, "bundle", lambda name, directory, result: bundled.append((name, directory)))
    grid.bundle("prefix-sums", variants, recipe_lr)
    assert sorted(name for name, _ in bundled) == ["prefix-sums-internal-recall-gru", "prefix-sums-internal-recall-prenorm",
                                                   "prefix-sums-no-recall-outernorm", "prefix-sums-recall-outernorm"]
    assert all(directory == grid.run_dir("prefix-sums", grid.Variant(name, recipe_lr, ""), 0) for name, directory in bundled)
    out = capsys.readouterr().out
    assert "prefix-sums-internal-recall-perinorm.lr0.0003-seed0: not finished; not bundled" in out
    assert "prefix-sums-fixed15.lr0.0003-seed0: untied baseline, not bundled" in out
    (grid.run_dir("prefix-sums", variants[-1], 0) / "grid-status.json").unlink()  # the baseline not finished
    grid.bundle("prefix-sums", variants[-1:], recipe_lr)
    assert "prefix-sums-fixed15.lr0.0003-seed0: not finished; not bundled" in capsys.readouterr().out


def _eval(step: int, val: float, hard: float, probe: float) -> dict:
    """An eval record as the trainer writes it, at 30 and 500 iterations (exact match at 30: half of 500's)."""
    def scored(x):
        return {"samples": 100, "final": x, "at": {"30": x / 2, "500": x}}
    return {"step": step, "kind": "eval", "val": scored(val), "test": scored(hard), "probe": scored(probe)}


def _grid_run(grid, name: str, records: list[dict], status: str) -> None:
    run = grid.run_dir("prefix-sums", grid.Variant(name, 3e-4, ""), 0)
    run.mkdir(parents=True)
    (run / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    if status == "done":
        (run / "grid-status.json").write_text(json.dumps(
            {"status": "done", "steps": records[-1]["step"], "train_minutes": 37.3, "eval": records[-1]}))
    else:
        (run / "checkpoints" / "step-00001440").mkdir(parents=True)


def test_a_finished_run_is_read_at_its_end_and_at_its_best_checkpoint_by_the_probe(grid):
    _grid_run(grid, "prefix-sums-internal-recall-outernorm",
              [_eval(720, 0.98, 0.85, 0.93), _eval(1440, 1.0, 0.2, 0.3), _eval(2960, 1.0, 0.06, 0.15)], "done")
    _grid_run(grid, "prefix-sums-no-recall-outernorm", [_eval(720, 0.0, 0.0, 0.0), _eval(2960, 0.0, 0.0, 0.0)], "done")
    # unfinished: its best so far is not reported
    _grid_run(grid, "prefix-sums-internal-recall-perinorm", [_eval(720, 0.5, 0.4, 0.6), _eval(1440, 0.58, 0.0, 0.0)], "started")
    summary = grid.summarize("prefix-sums", grid.variants("prefix-sums"), [0])
    entry = summary["runs"]["prefix-sums-internal-recall-outernorm.lr0.0003-seed0"]
    assert entry["probe_at"] == {"30": 0.075, "500": 0.15}
    assert entry["best"] == {"step": 720, "val_at": {"30": 0.49, "500": 0.98}, "test_at": {"30": 0.425, "500": 0.85},
                             "probe_at": {"30": 0.465, "500": 0.93}}
    assert summary["runs"]["prefix-sums-no-recall-outernorm.lr0.0003-seed0"]["best"]["step"] == 2960  # a tie: the later
    assert "best" not in summary["runs"]["prefix-sums-internal-recall-perinorm.lr0.0003-seed0"]
    assert json.loads((runs.RUNS / "grid" / "prefix-sums" / "grid.json").read_text()) == summary
    lines = grid.table(summary).splitlines()
    assert lines[0] == "| run | seed | status | steps | minutes | checkpoint | probe @500 | val / hard @30 | val / hard @500 |"
    assert lines[2:4] == [
        "| `prefix-sums-internal-recall-outernorm` lr 0.0003 | 0 | done | 2960 | 37.3 | end | 15.0 | 50.0 / 3.0 | 100.0 / 6.0 |",
        "| `prefix-sums-internal-recall-outernorm` lr 0.0003 | 0 |  |  |  | best by probe: step 720 | 93.0 | 49.0 / 42.5 | 98.0 / 85.0 |"]
    assert "| `prefix-sums-no-recall-outernorm` lr 0.0003 | 0 |  |  |  | best by probe: step 2960 (the end) | 0.0 | 0.0 / 0.0 | 0.0 / 0.0 |" in lines
    assert "| `prefix-sums-internal-recall-perinorm` lr 0.0003 | 0 | started | - | - | - | - | - | - |" in lines
    assert "| `prefix-sums-fixed15` lr 0.0003 | 0 | new | - | - | - | - | - | - |" in lines
    assert len(lines) == 2 + len(grid.variants("prefix-sums")) + 2  # two best rows


def test_a_grid_without_a_probe_keeps_its_table(grid):
    record = _eval(2995, 0.8, 0.7, 0.0)
    del record["probe"]
    run = grid.run_dir("prefix-sums", grid.Variant("prefix-sums-recall-outernorm", 3e-4, ""), 0)
    run.mkdir(parents=True)
    (run / "metrics.jsonl").write_text(json.dumps(record) + "\n")
    (run / "grid-status.json").write_text(json.dumps({"status": "done", "steps": 2995, "eval": record}))
    summary = grid.summarize("prefix-sums", grid.variants("prefix-sums"), [0])
    assert "best" not in summary["runs"]["prefix-sums-recall-outernorm.lr0.0003-seed0"]
    lines = grid.table(summary).splitlines()
    assert lines[0] == "| run | seed | status | steps | minutes | val / hard @30 | val / hard @500 |"
    assert "| `prefix-sums-recall-outernorm` lr 0.0003 | 0 | done | 2995 | - | 40.0 / 35.0 | 80.0 / 70.0 |" in lines
