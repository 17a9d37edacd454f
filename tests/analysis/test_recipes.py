"""loopzoo.analysis.recipes: what an arm changes, its curve, its score on held-out samples, the table."""
import json

import pytest

from loopzoo import checkpoint
from loopzoo.analysis import recipes
from loopzoo.data import load_split
from loopzoo.errors import CheckpointError
from loopzoo.evaluate import accuracy_curve
from loopzoo.runs import RunDir
from loopzoo.train import paper_recipe

SPLITS = {"short": dict(split="val", length=8), "long": dict(split="test", length=12, seed=1)}


def _split(p: float) -> dict:
    return {"samples": 10, "at": {"3": p}}


def _arm(tmp_path, model, tag: str, **train) -> RunDir:
    run = RunDir(tmp_path / f"prefix-sums-internal-recall-outernorm.{tag}")
    run.path.mkdir()
    config = paper_recipe("prefix-sums", **train).to_dict()
    (run.path / "train.json").write_text(json.dumps({"model": model.config.to_dict(), "train": config}))
    evals = [{"kind": "eval", "step": 40, "train_minutes": 2.0, "eval_minutes": 0.0, "val": _split(0.5), "test": _split(0.25)},
             {"kind": "eval", "step": 90, "train_minutes": 5.0, "eval_minutes": 1.0, "val": _split(0.75),
              "test": _split(0.5), "probe": _split(0.125)}]
    (run.path / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in [{"step": 1, "loss": 1.0}, *evals]))
    checkpoint.save(model, run.best, eval=evals[0])
    return run


def test_changes_name_every_recipe_option_that_differs_and_ignore_bookkeeping():
    base = paper_recipe("sudoku").to_dict()
    arm = paper_recipe("sudoku", warmup_steps=200, ema=0.995, checkpoint_every=7).to_dict()
    assert recipes.changes(base, arm) == "ema None -> 0.995, warmup_steps 0 -> 200"
    assert recipes.changes(base, base) == "(base)"


def test_an_arm_is_scored_on_its_best_model_and_its_curve_read_from_its_records(tmp_path, prefix):
    run = _arm(tmp_path, prefix, "ab-base")
    result = recipes.score(run, iters=3, samples=10, splits=SPLITS)
    for label, keywords in SPLITS.items():
        expected = accuracy_curve(prefix, load_split("prefix-sums", n=10, **keywords), 3).at(3)
        assert result["scores"][label] == pytest.approx(expected, abs=1e-4)
    assert (result["ref"], result["steps"], result["minutes"], result["best_step"]) == \
        ("prefix-sums-internal-recall-outernorm.ab-base", 90, 4.0, 40)
    assert result["curve"] == [{"minutes": 2.0, "step": 40, "at": 3, "val": 0.5, "test": 0.25},
                               {"minutes": 4.0, "step": 90, "at": 3, "val": 0.75, "test": 0.5, "probe": 0.125}]
    assert recipes.curve(run, 200)[0] == result["curve"][0], "a count the run never evaluated reads its largest"


def test_the_table_has_a_row_and_a_curve_per_arm_against_the_first(tmp_path, prefix):
    arms = [recipes.score(_arm(tmp_path, prefix, tag, **train), 3, 10, SPLITS)
            for tag, train in (("ab-base", {}), ("ab-warmup", {"warmup_steps": 5}))]
    text = recipes.table({"name": "prefix-sums-internal-recall-outernorm", "arms": arms})
    rows = [line for line in text.splitlines() if line.startswith("| `")]
    assert len(rows) == 2 and "(base)" in rows[0] and "warmup_steps 0 -> 5" in rows[1]
    assert "| 90 (4.0) | 40 |" in rows[1]
    assert text.count("- `prefix-sums-internal-recall-outernorm.ab-") == 2 and "4 min, 90: 75.0% / 12.5%" in text


def test_an_arm_without_a_model_says_how_to_train_it(tmp_path):
    run = RunDir(tmp_path / "sudoku-internal-recall-outernorm.ab-ema")
    run.path.mkdir()
    with pytest.raises(CheckpointError, match="--tag ab-ema"):
        recipes.score(run, 3, 10)


@pytest.mark.parametrize("task, label", [(task, label) for task, splits in recipes.SPLITS.items() for label in splits])
def test_every_split_an_arm_is_scored_on_loads(task, label):
    data = load_split(task, n=4, **recipes.SPLITS[task][label])
    assert len(data) == 4 and data.task.name == task


def test_arms_of_other_models_add_parameters_and_an_untied_model_is_read_after_its_one_pass(tmp_path, prefix):
    import loopzoo

    untied = loopzoo.create("prefix-sums-fixed15", width=16, heads=1)
    looped = recipes.score(_arm(tmp_path, prefix, "vs-looped"), 3, 10, SPLITS)
    base = recipes.score(_arm(tmp_path, untied, "vs-untied", max_iters=1), 3, 10, SPLITS)
    assert base["iters"] == 1 and looped["iters"] == 3
    expected = accuracy_curve(untied, load_split("prefix-sums", n=10, **SPLITS["long"]), 1).at(1)
    assert base["scores"]["long"] == pytest.approx(expected, abs=1e-4)
    assert base["parameters"] == sum(p.numel() for p in untied.parameters())
    text = recipes.table({"name": "prefix-sums-internal-recall-outernorm", "arms": [looped, base]})
    rows = [line for line in text.splitlines() if line.startswith("| `")]
    assert "| parameters | iterations read |" in text and "each arm's iterations read" in text
    assert "name 'prefix-sums-internal-recall-outernorm' -> 'prefix-sums-fixed15'" in rows[1]
    assert "depth 1 -> 15" in rows[1] and f"| {base['parameters']:,} | 1 |" in rows[1]
    same = recipes.table({"name": "x", "arms": [looped, looped]})
    assert "parameters" not in same, "arms of one model keep the narrower table"


def test_a_reference_model_is_scored_on_the_same_samples_and_shown_as_a_row_of_its_own(tmp_path, prefix):
    folder = tmp_path / "reference"
    checkpoint.save(prefix, folder)
    reference = recipes.score_reference(str(folder), 3, 10, SPLITS)
    arm = recipes.score(_arm(tmp_path, prefix, "ab-base"), 3, 10, SPLITS)
    assert reference["scores"] == arm["scores"] and reference["iters"] == 3, "the same weights score the same"
    text = recipes.table({"name": "x", "arms": [arm], "reference": reference})
    row = next(line for line in text.splitlines() if line.startswith(f"| `{folder}`"))
    assert "the reference, not trained here | - | - |" in row and text.count("- `") == 1, "no curve for the reference"
