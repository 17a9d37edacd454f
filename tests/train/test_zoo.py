"""loopzoo.train.zoo: wider tries of a timed name train in their own folder, decays, fixed-step curve reruns;
and the refusals of scripts/train_zoo.py's command line."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from loopzoo import CheckpointError, ConfigError, hub, runs
from loopzoo.bundle import EVAL_SIZES
from loopzoo.train import zoo as zoo_module

NAME = "prefix-sums-internal-recall-outernorm"
SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"


@pytest.fixture
def zoo(tmp_path, monkeypatch):
    """The module, with the runs and the bundled zoo in ``tmp_path`` and a tiny prefix-sums timed recipe."""
    monkeypatch.setattr(runs, "RUNS", tmp_path / "runs")
    monkeypatch.setattr(hub, "ZOO_DIR", tmp_path / "zoo")
    tiny = {"model": dict(width=16, heads=2), "train": dict(
        epochs=100_000, batch_size=50, lr=3e-4, warmup_epochs=1.0, decay_epoch=None, eval_iters=2,
        train_size=100, max_iters=2, precision="fp32")}
    monkeypatch.setitem(zoo_module.TIMED_RECIPES, "prefix-sums", tiny)
    return zoo_module


def test_the_recipe_width_keeps_the_flagship_folder_and_another_is_tagged(zoo):
    assert zoo.timed_run_dir(NAME) == runs.RUNS / NAME
    assert zoo.timed_run_dir(NAME, 16) == runs.RUNS / NAME
    assert zoo.timed_run_dir(NAME, 32) == runs.RUNS / f"{NAME}.w32"
    assert zoo.timed_run_dir(NAME, tag="public") == runs.RUNS / f"{NAME}.public"
    assert runs.RunDir(zoo.timed_run_dir(NAME, 32)).ref == f"{NAME}.w32"


def test_a_wider_run_trains_in_its_folder_and_keeps_its_width(zoo):
    zoo.train_timed(NAME, minutes=0.02, decay_fraction=0.0, eval_minutes=10.0, new_cycle=False, progress=False,
                    width=32)
    run = runs.RUNS / f"{NAME}.w32"
    saved = json.loads((run / "train.json").read_text())
    assert (saved["model"]["width"], saved["model"]["heads"]) == (32, 1)  # heads of 32 channels by default
    assert not (runs.RUNS / NAME).exists()
    assert zoo.finished(NAME, 32) == run / "best"
    with pytest.raises(ConfigError, match="started at width 32"):
        zoo.train_timed(NAME, minutes=0.01, decay_fraction=0.0, eval_minutes=10.0, new_cycle=False, progress=False,
                        width=32, heads=2)


def test_a_wider_run_loads_by_its_tag(zoo):
    import loopzoo

    zoo.train_timed(NAME, minutes=0.02, decay_fraction=0.0, eval_minutes=10.0, progress=False, width=32)
    assert loopzoo.load(f"{NAME}.w32").config.width == 32
    with pytest.raises(CheckpointError, match=rf"{NAME}\.w32"):  # what exists is named
        loopzoo.load(f"{NAME}.w64")


def test_a_decay_fraction_of_one_decays_from_the_first_step(zoo):
    zoo.train_timed(NAME, minutes=0.02, decay_fraction=1.0, eval_minutes=10.0, new_cycle=False, progress=False)
    lrs = [r["lr"] for r in runs.RunDir(runs.RUNS / NAME).metrics() if "lr" in r]
    assert lrs and max(lrs) <= 0.1 * 3e-4 * (1 + 1e-9)  # never at the full rate


def test_decay_again_starts_a_second_stage_only_on_a_decayed_run(zoo):
    zoo.TIMED_RECIPES["prefix-sums"]["train"]["warmup_epochs"] = 0.0  # rates exactly lr x factor
    with pytest.raises(ConfigError, match="has not decayed yet"):
        zoo.train_timed(NAME, minutes=0.01, decay_fraction=0.0, eval_minutes=10.0, new_cycle=False, progress=False,
                        decay_again=True)
    zoo.train_timed(NAME, minutes=0.01, decay_fraction=1.0, eval_minutes=10.0, new_cycle=False, progress=False)
    zoo.train_timed(NAME, minutes=0.01, decay_fraction=0.0, eval_minutes=10.0, new_cycle=False, progress=False,
                    decay_again=True)
    steps = [json.loads(line) for line in (runs.RUNS / NAME / "metrics.jsonl").read_text().splitlines()]
    lrs = [r["lr"] for r in steps if "lr" in r]
    assert lrs[-1] == pytest.approx(0.01 * 3e-4) and max(lrs) <= 0.1 * 3e-4 * (1 + 1e-9)


def test_tagged_recipes_change_the_timed_recipe_of_their_task_only(zoo):
    model, train = zoo.timed_configs("sudoku-internal-recall-outernorm", "mix")
    assert (model.width, train.lr, train.init_from) == (128, 1e-4, "sudoku-internal-recall-outernorm")
    assert train.task_options == {"source": "generated+forum-hardest"}
    with pytest.raises(ConfigError, match="a sudoku recipe, not one for chess"):
        zoo.timed_configs("chess-internal-recall-outernorm", "mix")


def test_a_tagged_recipe_that_names_its_model_trains_that_model_only(zoo):
    model, train = zoo.timed_configs("chess-fixed15", "vs-untied-params")
    assert (model.depth, model.width, model.heads, train.max_iters, train.eval_iters) == (15, 36, 1, 1, 1)
    assert train.init_from is None and train.task_options == {"source": "generated+lichess"}
    looped, _ = zoo.timed_configs("chess-internal-recall-outernorm", "vs-looped")
    assert (looped.depth, looped.width) == (1, 128)
    assert zoo.tagged_name("vs-untied") == "chess-fixed15" and zoo.tagged_name("ab-lichess") is None
    with pytest.raises(ConfigError, match="--tag vs-untied trains chess-fixed15, not chess-internal-recall-outernorm"):
        zoo.timed_configs("chess-internal-recall-outernorm", "vs-untied")


@pytest.mark.parametrize("tag", sorted(zoo_module.TAGGED_RECIPES))
def test_every_tagged_recipe_builds_its_configs(tag):
    name = zoo_module.tagged_name(tag) or f"{zoo_module.TAGGED_RECIPES[tag]['task']}-internal-recall-outernorm"
    model, train = zoo_module.timed_configs(name, tag)
    assert model.task == zoo_module.TAGGED_RECIPES[tag]["task"] and train.lr > 0


def test_the_sudoku_timed_recipe_is_the_one_bench_time_to_target_measures():
    recipe = zoo_module.TIMED_RECIPES["sudoku"]
    assert recipe["model"] == dict(width=128, heads=4)
    _, train = zoo_module.timed_configs("sudoku-internal-recall-outernorm")
    assert (train.batch_size, train.lr, train.warmup_epochs, train.decay_epoch, train.eval_iters, train.eval_samples) == \
        (64, 1e-3, 1.0, None, 120, 500)


@pytest.mark.parametrize("args, message", [
    (["--width", "256"], "--width needs --minutes or --bundle-only"),
    (["--minutes", "1", "--heads", "4"], "--heads needs --width"),
    (["--minutes", "1", "--width", "100", "--heads", "3"], "not divisible by 3 heads"),
    (["--minutes", "1", "--width", "0"], "must be positive"),
    (["--no-bundle"], "--no-bundle needs --minutes"),
    (["--minutes", "1", "--decay-fraction", "1.5"], "must be in [0, 1]"),
    (["--minutes", "1", "--decay-fraction", "-0.1"], "must be in [0, 1]"),
    (["--decay-again"], "--decay-again needs --minutes"),
    (["--minutes", "1", "--decay-again", "--new-cycle"], "cannot go with --new-cycle"),
    (["--remeasure", "--minutes", "1"], "--remeasure trains nothing"),
    (["--remeasure", "--bundle-only"], "--remeasure trains nothing"),
    (["--curve-every", "3", "--minutes", "1"], "--curve-every reruns a fixed-step recipe"),
    (["--curve-every", "0"], "positive number of epochs"),
    (["--benchmarks", "--minutes", "1"], "--benchmarks trains nothing"),
    (["--benchmarks", "--remeasure"], "--benchmarks trains nothing"),
    (["--breadth", "4"], "--breadth and --noise need --benchmarks"),
    (["--benchmarks", "--breadth", "0"], "--breadth/--noise: breadth must be a positive integer, got '0'"),
    (["--benchmarks", "--breadth", "4", "--noise", "0"], "--breadth/--noise: noise must be a positive finite number"),
])
@pytest.mark.subprocess
def test_bad_width_options_are_refused_before_any_work(args, message):
    out = subprocess.run([sys.executable, str(SCRIPTS / "train_zoo.py"), NAME, *args],
                         capture_output=True, text=True)
    assert out.returncode == 2
    assert message in out.stderr


def _bundle_fixed_step(epochs: int = 2):
    """A tiny fixed-step checkpoint bundled in the test zoo, as train_zoo's fixed-step path leaves one."""
    import loopzoo
    from loopzoo.train import TrainConfig
    from loopzoo.train.trainer import Trainer

    config = TrainConfig(epochs=epochs, batch_size=50, lr=3e-3, warmup_epochs=1.0, train_size=100, max_iters=2,
                         eval_iters=2, eval_samples=4, eval_every=100, checkpoint_every=100, precision="fp32")
    Trainer(loopzoo.config_for(NAME, width=16, heads=2, iters=3), config, hub.ZOO_DIR / NAME, progress=False).fit()


def test_a_curve_rerun_evaluates_every_few_epochs_at_the_cards_iterations_and_trains_the_same_weights(zoo):
    _bundle_fixed_step(epochs=2)
    model_config, config = zoo.curve_configs(NAME, 1)
    assert (config.eval_every, config.eval_iters, config.eval_samples) == (1, 3, EVAL_SIZES["prefix-sums"]["test"])
    assert (model_config.width, config.epochs, config.lr) == (16, 2, 3e-3)
    run = zoo.train_fixed_step(NAME, progress=False, curve_every=1)
    assert run == runs.RUNS / f"{NAME}.rerun"
    evals = runs.RunDir(run).evaluations()
    assert [r["step"] for r in evals] == [2, 4]  # after epoch 1, and at the end
    assert all("3" in r["test"]["at"] and "eval_minutes" in r for r in evals)
    assert zoo.compare_weights(NAME, run) == 0.0  # evaluation draws nothing from the training stream


def test_a_curve_rerun_is_refused_for_timed_or_unbundled_names_and_too_few_epochs(zoo):
    with pytest.raises(CheckpointError, match="is not bundled"):
        zoo.curve_configs(NAME, 1)
    _bundle_fixed_step(epochs=2)
    with pytest.raises(ConfigError, match="more than the run's 2 epochs"):
        zoo.curve_configs(NAME, 3)
    config = hub.ZOO_DIR / NAME / "config.json"
    meta = json.loads(config.read_text())
    meta["train"]["decay_epoch"] = None  # as a timed run records it
    config.write_text(json.dumps(meta))
    with pytest.raises(ConfigError, match="timed run"):
        zoo.curve_configs(NAME, 1)


def test_a_curve_rerun_trains_in_the_precision_the_checkpoint_was_trained_in(zoo):
    _bundle_fixed_step(epochs=1)
    config = hub.ZOO_DIR / NAME / "config.json"
    meta = json.loads(config.read_text())
    assert meta["precision"] == "fp32" and zoo.curve_configs(NAME, 1)[1].precision == "fp32"
    del meta["precision"]  # a card from before the trainer recorded it, when bf16 meant autocast on CUDA only
    meta["train"] = {k: v for k, v in meta["train"].items() if k != "precision"} | {"bf16": True}
    for hardware, precision in (("CPU (x86_64), 1 thread, torch 2.13.0+cpu", "fp32"), ("GPU", "auto")):
        config.write_text(json.dumps({**meta, "hardware": hardware}))
        assert zoo.curve_configs(NAME, 1)[1].precision == precision
