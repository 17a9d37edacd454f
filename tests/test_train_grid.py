"""scripts/train_grid.py: the grid's variants, and one tiny equal-budget run trained, resumed and summed up."""
import json

import pytest

import loopzoo
from loopzoo import registry

from script_helpers import script_module


@pytest.fixture
def grid(tmp_path, monkeypatch):
    with script_module("train_grid") as mod:
        monkeypatch.setattr(mod, "GRID", tmp_path / "grid")
        tiny = {"model": dict(width=16, heads=2), "train": dict(
            epochs=100_000, batch_size=50, lr=3e-4, warmup_epochs=1.0, decay_epoch=None, eval_iters=4,
            train_size=100, max_iters=4, precision="fp32")}
        monkeypatch.setitem(mod._train_zoo().TIMED_RECIPES, "prefix-sums", tiny)
        yield mod


@pytest.mark.parametrize("task", ["prefix-sums", "sudoku", "chess"])
def test_every_variant_is_a_registered_name_with_unique_labels(grid, task):
    recipe_lr = grid._train_zoo().TIMED_RECIPES[task]["train"]["lr"]
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
    with script_module("train_grid") as mod:
        recipe = mod._train_zoo().TIMED_RECIPES[task]["train"]
        for variant in mod.variants(task, recipe["lr"]):
            _, train = mod.configs(task, variant, seed=0, epochs=2)
            assert train.eval_samples == recipe.get("eval_samples", 500) and train.probe == recipe.get("probe", {})
            assert train.eval_every == mod.EVAL_EVERY[task]
    assert mod.DEFAULT_EPOCHS[task] >= mod.EVAL_EVERY[task]  # at least one evaluation before the end


def test_a_run_continues_with_other_evaluation_settings_but_not_other_training(grid):
    label = "prefix-sums-recall-outernorm@lr0.0003"
    run = grid.GRID / "prefix-sums" / label / "seed0"
    run.mkdir(parents=True)
    model, train = grid.configs("prefix-sums", grid.Variant("prefix-sums-recall-outernorm", 3e-4, ""), 0, epochs=2)
    watched_otherwise = {**train.to_dict(), "eval_iters": 120, "eval_samples": 7}
    (run / "train.json").write_text(json.dumps({"model": model.to_dict(), "train": watched_otherwise}))
    (run / "grid-status.json").write_text(json.dumps({"status": "done"}))
    assert grid.main(["prefix-sums", "--epochs", "2", "--only", label, "--quiet"]) == 0  # the same budget
    older = {k: v for k, v in watched_otherwise.items() if k != "init_from"}  # saved before that option existed
    (run / "train.json").write_text(json.dumps({"model": model.to_dict(), "train": older}))
    assert grid.main(["prefix-sums", "--epochs", "2", "--only", label, "--quiet"]) == 0
    (run / "train.json").write_text(json.dumps({"model": model.to_dict(), "train": {**watched_otherwise, "lr": 1e-3}}))
    with pytest.raises(SystemExit, match="other settings"):
        grid.main(["prefix-sums", "--epochs", "2", "--only", label, "--quiet"])


def test_a_run_trains_to_its_end_once_and_is_summed_up(grid, capsys):
    label = "prefix-sums-internal-recall-outernorm@lr0.0003"
    args = ["prefix-sums", "--epochs", "2", "--only", label, "--threads", "1", "--quiet"]
    assert grid.main(args) == 0
    run = grid.GRID / "prefix-sums" / label / "seed0"
    state = json.loads((run / "grid-status.json").read_text())
    assert state["status"] == "done" and state["steps"] == 4
    assert not (run / "checkpoints").exists()  # optimizer state dropped once finished
    model = loopzoo.load(run)
    assert model.config.width == 16
    summary = json.loads((grid.GRID / "prefix-sums" / "grid.json").read_text())
    entry = summary["runs"][f"{label}/seed0"]
    assert entry["status"] == "done" and "30" not in entry["val_at"] and entry["val_at"]
    assert sum(r["status"] == "new" for r in summary["runs"].values()) == len(summary["runs"]) - 1
    mtime = (run / "model.safetensors").stat().st_mtime_ns
    assert grid.main(args) == 0  # finished: nothing retrained
    assert (run / "model.safetensors").stat().st_mtime_ns == mtime
    out = capsys.readouterr().out
    assert f"{label} seed 0: done" in out
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
    label = "prefix-sums-internal-recall-prenorm@lr0.001"
    assert grid.main(["prefix-sums", "--epochs", "2", "--only", label, "--threads", "1", "--quiet"]) == 0
    state = json.loads((grid.GRID / "prefix-sums" / label / "seed0" / "grid-status.json").read_text())
    assert state == {"status": "diverged", "step": 3, "message": "loss is nan at step 3; stopped.",
                     "train_minutes": state["train_minutes"]}


def test_a_started_or_finished_run_refuses_other_settings(grid):
    label = "prefix-sums-recall-outernorm@lr0.0003"
    run = grid.GRID / "prefix-sums" / label / "seed0"
    run.mkdir(parents=True)
    model, train = grid.configs("prefix-sums", grid.Variant("prefix-sums-recall-outernorm", 3e-4, ""), 0, epochs=5)
    (run / "train.json").write_text(json.dumps({"model": model.to_dict(), "train": train.to_dict()}))
    with pytest.raises(SystemExit, match="other settings"):
        grid.main(["prefix-sums", "--epochs", "2", "--only", label, "--quiet"])
    (run / "grid-status.json").write_text(json.dumps({"status": "done"}))  # finished at 5 epochs: not done at 2
    with pytest.raises(SystemExit, match="other settings"):
        grid.main(["prefix-sums", "--epochs", "2", "--only", label, "--quiet"])


@pytest.mark.parametrize("bad", [["--only", "nope"], ["--shard", "3/2"], ["--shard", "x"], ["--epochs", "0"]])
def test_bad_arguments_are_refused(grid, bad, capsys):
    with pytest.raises(SystemExit):
        grid.main(["prefix-sums", *bad])
    assert "error" in capsys.readouterr().err


def test_shards_split_the_grid(grid, capsys):
    grid.main(["prefix-sums", "--list", "--shard", "1/2"])
    first = capsys.readouterr().out.split()
    grid.main(["prefix-sums", "--list", "--shard", "2/2"])
    second = capsys.readouterr().out.split()
    labels = {v.label for v in grid.variants("prefix-sums", 3e-4)}
    assert (set(first) | set(second)) & labels == labels and not set(first) & set(second) & labels


def test_bundle_takes_finished_recipe_rate_runs_but_not_the_flagship_or_the_untied_baseline(grid, monkeypatch, capsys):
    tz = grid._train_zoo()
    recipe_lr = tz.TIMED_RECIPES["prefix-sums"]["train"]["lr"]
    variants = grid.variants("prefix-sums", recipe_lr)
    for variant in variants:
        run = grid.run_dir("prefix-sums", variant, 0)
        run.mkdir(parents=True)
        if variant.name != "prefix-sums-internal-recall-perinorm":  # one run not finished
            (run / "grid-status.json").write_text(json.dumps({"status": "done"}))
    bundled = []
    monkeypatch.setattr(tz, "evaluate", lambda name, directory: {"name": name})
    monkeypatch.setattr(tz, "bundle", lambda name, directory, result: bundled.append((name, directory)))
    grid.bundle("prefix-sums", variants, recipe_lr)
    assert sorted(name for name, _ in bundled) == ["prefix-sums-internal-recall-gru", "prefix-sums-internal-recall-prenorm",
                                                   "prefix-sums-no-recall-outernorm", "prefix-sums-recall-outernorm"]
    assert all(directory == grid.run_dir("prefix-sums", grid.Variant(name, recipe_lr, ""), 0) for name, directory in bundled)
    out = capsys.readouterr().out
    assert "prefix-sums-internal-recall-perinorm@lr0.0003: not finished; not bundled" in out
    assert "prefix-sums-fixed15@lr0.0003: untied baseline, not bundled" in out
    (grid.run_dir("prefix-sums", variants[-1], 0) / "grid-status.json").unlink()  # the baseline not finished
    grid.bundle("prefix-sums", variants[-1:], recipe_lr)
    assert "prefix-sums-fixed15@lr0.0003: not finished; not bundled" in capsys.readouterr().out
