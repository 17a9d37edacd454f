"""scripts/train_zoo.py: wider tries of a timed name train in their own folder and replace a bundle only when better."""
import json
import subprocess
import sys

import pytest

from script_helpers import SCRIPTS, script_module

NAME = "prefix-sums-internal-recall-outernorm"


@pytest.fixture
def zoo(tmp_path, monkeypatch):
    with script_module("train_zoo") as mod:
        monkeypatch.setattr(mod, "RUNS", tmp_path / "runs")
        monkeypatch.setattr(mod, "ZOO_DIR", tmp_path / "zoo")
        tiny = {"model": dict(width=16, heads=2), "train": dict(
            epochs=100_000, batch_size=50, lr=3e-4, warmup_epochs=1.0, decay_epoch=None, eval_iters=2,
            train_size=100, max_iters=2, precision="fp32")}
        monkeypatch.setitem(mod.TIMED_RECIPES, "prefix-sums", tiny)
        yield mod


def test_the_recipe_width_keeps_the_flagship_folder_and_another_is_tagged(zoo):
    assert zoo.timed_run_dir(NAME) == zoo.RUNS / NAME
    assert zoo.timed_run_dir(NAME, 16) == zoo.RUNS / NAME
    assert zoo.timed_run_dir(NAME, 32) == zoo.RUNS / f"{NAME}.w32"


def test_a_wider_run_trains_in_its_folder_and_keeps_its_width(zoo):
    zoo.train_timed(NAME, minutes=0.02, decay_fraction=0.0, eval_minutes=10.0, new_cycle=False, progress=False,
                    width=32)
    run = zoo.RUNS / f"{NAME}.w32"
    saved = json.loads((run / "train.json").read_text())
    assert (saved["model"]["width"], saved["model"]["heads"]) == (32, 1)  # heads of 32 channels by default
    assert not (zoo.RUNS / NAME).exists()
    assert zoo.finished(NAME, 32) == run / "best"
    with pytest.raises(SystemExit, match="started at width 32"):
        zoo.train_timed(NAME, minutes=0.01, decay_fraction=0.0, eval_minutes=10.0, new_cycle=False, progress=False,
                        width=32, heads=2)


def test_a_decay_fraction_of_one_decays_from_the_first_step(zoo):
    zoo.train_timed(NAME, minutes=0.02, decay_fraction=1.0, eval_minutes=10.0, new_cycle=False, progress=False)
    steps = [json.loads(line) for line in (zoo.RUNS / NAME / "metrics.jsonl").read_text().splitlines()]
    lrs = [r["lr"] for r in steps if "lr" in r]
    assert lrs and max(lrs) <= 0.1 * 3e-4 * (1 + 1e-9)  # never at the full rate


def test_decay_again_starts_a_second_stage_only_on_a_decayed_run(zoo):
    zoo.TIMED_RECIPES["prefix-sums"]["train"]["warmup_epochs"] = 0.0  # rates exactly lr x factor
    with pytest.raises(SystemExit, match="has not decayed yet"):
        zoo.train_timed(NAME, minutes=0.01, decay_fraction=0.0, eval_minutes=10.0, new_cycle=False, progress=False,
                        decay_again=True)
    zoo.train_timed(NAME, minutes=0.01, decay_fraction=1.0, eval_minutes=10.0, new_cycle=False, progress=False)
    zoo.train_timed(NAME, minutes=0.01, decay_fraction=0.0, eval_minutes=10.0, new_cycle=False, progress=False,
                    decay_again=True)
    steps = [json.loads(line) for line in (zoo.RUNS / NAME / "metrics.jsonl").read_text().splitlines()]
    lrs = [r["lr"] for r in steps if "lr" in r]
    assert lrs[-1] == pytest.approx(0.01 * 3e-4) and max(lrs) <= 0.1 * 3e-4 * (1 + 1e-9)


def _result(val: float, iters: int = 7, sha: str | None = None, probe: float | None = None) -> dict:
    result = {"iters": iters, "eval": {"val": {"at": {str(iters): val}, "data_sha256": sha}}}
    if probe is not None:
        result["probe"] = {"best": probe, "samples": 50}
    return result


def test_a_tagged_model_replaces_the_bundle_only_when_better_on_val(zoo):
    assert zoo.bundled_score(NAME) is None
    assert zoo.replaces_bundle(_result(0.1), None)  # nothing bundled yet
    bundled = zoo.ZOO_DIR / NAME
    bundled.mkdir(parents=True)
    (bundled / "config.json").write_text(json.dumps(
        {"model": {"iters": 40, "task": "prefix-sums"}, **_result(0.5, 40, probe=0.8)}))
    current = zoo.bundled_score(NAME)
    assert current == (0.5, 0.8, -40)
    assert zoo.replaces_bundle(_result(0.6, 400, probe=0.0), current)  # val first
    assert not zoo.replaces_bundle(_result(0.4, 4, probe=1.0), current)
    # a tie on val: the held-out probe decides, then fewer iterations
    assert zoo.replaces_bundle(_result(0.5, 400, probe=0.9), current)
    assert not zoo.replaces_bundle(_result(0.5, 4, probe=0.7), current)
    assert zoo.replaces_bundle(_result(0.5, 30, probe=0.8), current)
    assert not zoo.replaces_bundle(_result(0.5, 40, probe=0.8), current)  # the same: the bundle stays


def test_a_prefix_sums_bundle_without_a_recorded_probe_has_it_measured(zoo, monkeypatch):
    import loopzoo

    monkeypatch.setitem(zoo.EVAL, "prefix-sums", dict(val=20, test=10, probe=4, probe_max=3))
    model = loopzoo.create(NAME, width=16, heads=2)
    model.save(str(zoo.ZOO_DIR / NAME), eval={"val": {"at": {"5": 1.0}}})
    config = zoo.ZOO_DIR / NAME / "config.json"
    meta = json.loads(config.read_text())
    meta["model"]["iters"] = 5
    config.write_text(json.dumps(meta))
    val, probe, iters = zoo.bundled_score(NAME)
    expected = loopzoo.evaluate.accuracy_curve(loopzoo.load(zoo.ZOO_DIR / NAME), loopzoo.data.load_split(
        "prefix-sums", "test", seed=1, n=4), 3).best
    assert (val, iters) == (1.0, -5) and probe == expected


def test_a_bundle_measured_on_older_data_is_measured_again_on_the_current_val_split(zoo):
    import loopzoo
    from loopzoo.data import load_split

    model = loopzoo.create(NAME, width=16, heads=2)  # untrained: near 0% exact on 32-bit prefix sums
    current = load_split("prefix-sums", "val", n=zoo.EVAL["prefix-sums"]["val"]).data_hash
    measured = {"at": {"5": 0.9}, "data_sha256": "0" * 64}  # the card's claim, on a split that no longer exists
    model.save(str(zoo.ZOO_DIR / NAME), eval={"val": measured})
    config = zoo.ZOO_DIR / NAME / "config.json"
    meta = json.loads(config.read_text())
    meta["model"]["iters"] = 5
    config.write_text(json.dumps(meta))
    assert zoo.bundled_val(NAME) == 0.9  # no split to compare with: the card's number
    again = zoo.bundled_val(NAME, current)
    assert again < 0.5 and again == pytest.approx(
        loopzoo.evaluate.accuracy_curve(loopzoo.load(zoo.ZOO_DIR / NAME), load_split(
            "prefix-sums", "val", n=zoo.EVAL["prefix-sums"]["val"]), 5).at(5))
    assert zoo.replaces_bundle(_result(0.6, sha=current), (again, 0.0, -5))
    measured["data_sha256"] = current
    meta["eval"] = {"val": measured}
    config.write_text(json.dumps(meta))
    assert zoo.bundled_val(NAME, current) == 0.9  # the same split: the card's number stands


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
])
@pytest.mark.subprocess
def test_bad_width_options_are_refused_before_any_work(args, message):
    out = subprocess.run([sys.executable, str(SCRIPTS / "train_zoo.py"), NAME, *args],
                         capture_output=True, text=True)
    assert out.returncode == 2
    assert message in out.stderr


def test_remeasure_rewrites_a_card_measured_on_older_data_and_keeps_the_training_record(zoo, monkeypatch):
    import loopzoo
    from loopzoo.data import load_split

    model = loopzoo.create(NAME, width=16, heads=2)
    current = load_split("prefix-sums", "val", n=zoo.EVAL["prefix-sums"]["val"]).data_hash
    model.save(str(zoo.ZOO_DIR / NAME), eval={"val": {"at": {"5": 0.9}, "data_sha256": "0" * 64}})
    config = zoo.ZOO_DIR / NAME / "config.json"
    meta = json.loads(config.read_text())
    meta["model"]["iters"] = 5
    meta["data"] = {"name": "random-bits", "description": "the first 100 items of the train split", "sha256": "old"}
    meta["wall_time"], meta["hardware"] = "3.4 min", "CPU (x86_64), 1 thread(s), fp32, torch 2.13.0"
    config.write_text(json.dumps(meta))
    weights = (zoo.ZOO_DIR / NAME / "model.safetensors").read_bytes()
    remeasured = {"iters": 7, "iters_note": "remeasured", "data": {"sha256": "new"},
                  "eval": {"rho_wx": 0.5, "val": {"at": {"7": 0.25}, "data_sha256": current, "samples": 3},
                           "test": {"at": {"7": 0.125}, "data_sha256": "t", "samples": 3}}}
    seen = []
    monkeypatch.setattr(zoo, "evaluate", lambda name, model_dir: seen.append(model_dir) or remeasured)
    monkeypatch.setattr(zoo.card, "write", lambda directory: None)
    assert zoo.remeasure(NAME) == zoo.ZOO_DIR / NAME
    assert seen and not (seen[0] / "eval.json").exists()
    new = json.loads(config.read_text())
    assert new["model"]["iters"] == 7 and new["eval"] == remeasured["eval"] and new["iters_note"] == "remeasured"
    assert new["wall_time"] == "3.4 min" and new["hardware"].startswith("CPU (x86_64), 1 thread(s)")
    assert new["data"]["sha256"] == "old" and new["data"]["description"].endswith("as bundled before it was rewritten")
    assert (zoo.ZOO_DIR / NAME / "model.safetensors").read_bytes() == weights
    assert zoo.remeasure(NAME) is None and len(seen) == 1, "measured on the current split: nothing to do"
    assert zoo.remeasure("prefix-sums-recall-outernorm") is None  # not bundled


def _bundle_fixed_step(zoo, epochs: int = 2):
    """A tiny fixed-step checkpoint bundled in the test zoo, as train_zoo's fixed-step path leaves one."""
    import loopzoo
    from loopzoo.train import TrainConfig
    from loopzoo.train.trainer import Trainer

    config = TrainConfig(epochs=epochs, batch_size=50, lr=3e-3, warmup_epochs=1.0, train_size=100, max_iters=2,
                         eval_iters=2, eval_samples=4, eval_every=100, checkpoint_every=100, precision="fp32")
    Trainer(loopzoo.config_for(NAME, width=16, heads=2, iters=3), config, zoo.ZOO_DIR / NAME, progress=False).fit()


def test_a_curve_rerun_evaluates_every_few_epochs_at_the_cards_iterations_and_trains_the_same_weights(zoo):
    _bundle_fixed_step(zoo, epochs=2)
    model_config, config = zoo.curve_configs(NAME, 1)
    assert (config.eval_every, config.eval_iters, config.eval_samples) == (1, 3, zoo.EVAL["prefix-sums"]["test"])
    assert (model_config.width, config.epochs, config.lr) == (16, 2, 3e-3)
    run = zoo.train(NAME, progress=False, curve_every=1)
    evals = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines() if '"eval"' in x]
    assert [r["step"] for r in evals] == [2, 4]  # after epoch 1, and at the end
    assert all("3" in r["test"]["at"] and "eval_minutes" in r for r in evals)
    assert zoo.compare_weights(NAME, run) == 0.0  # evaluation draws nothing from the training stream


def test_a_curve_rerun_is_refused_for_timed_or_unbundled_names_and_too_few_epochs(zoo):
    with pytest.raises(SystemExit, match="is not bundled"):
        zoo.curve_configs(NAME, 1)
    _bundle_fixed_step(zoo, epochs=2)
    with pytest.raises(SystemExit, match="more than the run's 2 epochs"):
        zoo.curve_configs(NAME, 3)
    config = zoo.ZOO_DIR / NAME / "config.json"
    meta = json.loads(config.read_text())
    meta["train"]["decay_epoch"] = None  # as a timed run records it
    config.write_text(json.dumps(meta))
    with pytest.raises(SystemExit, match="timed run"):
        zoo.curve_configs(NAME, 1)


def test_a_curve_rerun_trains_in_the_precision_the_checkpoint_was_trained_in(zoo):
    _bundle_fixed_step(zoo, epochs=1)
    config = zoo.ZOO_DIR / NAME / "config.json"
    meta = json.loads(config.read_text())
    assert meta["precision"] == "fp32" and zoo.curve_configs(NAME, 1)[1].precision == "fp32"
    del meta["precision"]  # a card from before the trainer recorded it, when bf16 meant autocast on CUDA only
    meta["train"] = {k: v for k, v in meta["train"].items() if k != "precision"} | {"bf16": True}
    for hardware, precision in (("CPU (x86_64), 1 thread, torch 2.13.0+cpu", "fp32"), ("GPU", "auto")):
        config.write_text(json.dumps({**meta, "hardware": hardware}))
        assert zoo.curve_configs(NAME, 1)[1].precision == precision
