"""End-to-end plugin checks with real installed packages (see conftest.py for the install).

Installed example plugins add names to every listing with their source; a maze model found
only through entry points trains, checkpoints, reloads and solves; a plugin that fails to
import is isolated; a plugin that reuses built-in names replaces nothing.
"""
from __future__ import annotations

import re

import pytest

import loopzoo
from loopzoo.registry import REGISTRIES

MAZE_MODELS = {f"mazes-{r}-{n}" for r in ("no-recall", "recall", "internal-recall")
               for n in ("prenorm", "perinorm", "outernorm", "gru")} | {"mazes-fixed15"}


def listing(stdout: str) -> dict[str, str]:
    """``name -> source`` from ``loopzoo list --source`` output."""
    rows = [re.split(r"\s{2,}", line.strip(), maxsplit=1) for line in stdout.splitlines() if line.strip()]
    return {row[0]: row[1] for row in rows}


def test_install_is_real_and_not_editable(installed):
    for site, dist, module in ((installed.good, "loopzoo_mazes", "loopzoo_mazes/task.py"),
                               (installed.good, "loopzoo_sandwich", "loopzoo_sandwich/__init__.py"),
                               (installed.bad, "lz_broken_fixture", "lz_broken_fixture/__init__.py"),
                               (installed.bad, "lz_shadow_fixture", "lz_shadow_fixture/__init__.py")):
        info = next(site.glob(f"{dist}-0.1.0.dist-info"))
        assert (info / "entry_points.txt").is_file() and (site / module).is_file()
        assert "editable" not in (info / "direct_url.json").read_text()
    assert not list(installed.good.glob("*.pth")) and not list(installed.good.glob("__editable__*"))


def test_cli_lists_and_solves_with_plugin_names(installed):
    maze = "#######/#S..#.#/###.#.#/#...#.#/#.###.#/#....G#/#######"
    tiny = ("--random-init", "--width", "16", "--heads", "2", "--iters", "2")
    r = installed.python(f"""
        print(json.dumps({{
            "models": cli("list", "mazes-*", "--source"),
            "tasks": cli("list", "--kind", "tasks", "--source"),
            "datasets": cli("list", "--kind", "datasets", "--source"),
            "norms": cli("list", "--kind", "norms", "--source"),
            "sandwich": cli("list", "*-sandwich"),
            "info": cli("info", "mazes-internal-recall-outernorm"),
            "solve": cli("solve", "mazes-recall-gru", {maze!r}, *{tiny!r}),
            "bad": cli("solve", "mazes-recall-gru", "#S#/#.#/#G#", "###/#SG", *{tiny!r}),
            "cross": cli("solve", "prefix-sums-internal-recall-sandwich", "0110", *{tiny!r}),
        }}))
    """, installed.good)
    assert r["models"]["code"] == 0 and listing(r["models"]["out"]) == {n: "loopzoo-mazes 0.1.0" for n in MAZE_MODELS}
    tasks = listing(r["tasks"]["out"])
    assert tasks["mazes"] == "loopzoo-mazes 0.1.0" and tasks["sudoku"] == "loopzoo (built-in)"
    assert listing(r["datasets"]["out"])["mazes"] == "loopzoo-mazes 0.1.0"
    norms = listing(r["norms"]["out"])
    assert norms["sandwich"] == "loopzoo-sandwich 0.1.0" and norms["outernorm"] == "loopzoo (built-in)"
    assert r["sandwich"]["out"].split() == ["prefix-sums-internal-recall-sandwich", "sudoku-internal-recall-sandwich"]
    assert r["info"]["code"] == 0, r["info"]["err"]
    assert "source:      loopzoo-mazes 0.1.0" in r["info"]["out"] and '"task": "mazes"' in r["info"]["out"]

    assert r["solve"]["code"] == 0, r["solve"]["err"]
    *answer, verdict = r["solve"]["out"].strip().splitlines()  # a multi-line answer, then its check below it
    assert len(answer) == 7 and all(len(row) == 7 for row in answer) and answer[1][1] == "S" and answer[5][5] == "G"
    assert verdict.split(" ", 1)[1].startswith(("valid", "invalid: the path"))
    assert r["bad"]["code"] == 2 and "mazes input 1: a maze is square, got 2 rows of 3 cells" in r["bad"]["err"]
    assert r["cross"]["code"] == 0 and len(r["cross"]["out"].strip()) == 4, r["cross"]["err"]

    # This process has no plugin on its path: the names come from the install alone.
    if loopzoo.list_models("mazes-*"):
        pytest.skip("loopzoo-mazes is also installed in this environment")
    assert "mazes" not in REGISTRIES["tasks"].names() and "sandwich" not in REGISTRIES["norms"].names()


def test_maze_model_trains_through_entry_points_and_solves(installed, tmp_path):
    result = installed.python(f"""
        import numpy as np
        import loopzoo
        from loopzoo.registry import datasets, tasks
        from loopzoo.train.recipe import TrainConfig
        from loopzoo.train.trainer import Trainer

        config = loopzoo.config_for("mazes-internal-recall-outernorm", width=16, heads=2, iters=4)
        train = TrainConfig(epochs=100, batch_size=16, lr=3e-3, warmup_epochs=0, max_iters=4, train_size=160,
                            eval_samples=16, eval_iters=4, checkpoint_every=1000, log_every=4, max_steps=12,
                            task_options={{"side": 7}})
        trainer = Trainer(config, train, {str(tmp_path)!r}, progress=False)  # data from the loopzoo_datasets entry point
        summary = trainer.fit()
        model = loopzoo.load({str(tmp_path)!r})
        example = model.task.example
        big = trainer.datasets["test"].inputs[0]  # side 13: larger than every training maze
        grid = np.array([[".#SG".index(ch) for ch in row] for row in example.split("/")])
        answers = model.solve([example, grid, big], iters=6)
        try:
            model.solve([example, "#S#/###/#G#"], iters=1)
            error = None
        except loopzoo.InputError as exc:
            error = str(exc)
        print(json.dumps({{
            "losses": trainer.losses, "steps": summary["steps"], "eval": summary["eval"],
            "sides": {{k: int(round(len(ds[0][1]) ** 0.5)) for k, ds in trainer.datasets.items()}},
            "sources": [tasks.source("mazes"), datasets.source("mazes")],
            "answers": answers, "example": example, "big": big, "error": error,
            "task": type(model.task).__module__, "params": model.num_parameters(),
        }}))
    """, installed.good)
    losses = result["losses"]
    assert result["steps"] == 12 and len(losses) == 12
    assert sum(losses[-4:]) < 0.85 * sum(losses[:4]) and losses[-1] < losses[0], losses  # it learns
    assert result["sides"] == {"train": 7, "val": 7, "test": 13}
    assert result["sources"] == ["loopzoo-mazes 0.1.0"] * 2 and result["task"] == "loopzoo_mazes.task"
    assert set(result["eval"]["val"]) >= {"final", "best", "samples"} and result["eval"]["test"]["samples"] == 16
    small, from_grid, big = result["answers"]
    assert from_grid == small  # a 2-D array of codes is the same maze as its text
    for answer, maze in ((small, result["example"].replace("/", "\n")), (big, result["big"])):
        assert len(answer) == len(maze) and all(
            a == m or (m == "." and a == "*") for a, m in zip(answer, maze)), (answer, maze)
    assert result["error"] == "mazes input 1: the goal cannot be reached from the start"


def test_broken_plugin_is_isolated(installed):
    result = installed.python("""
        import loopzoo
        from loopzoo.registry import models, norms, tasks

        commands = {"list": cli("list", "--kind", "norms", "--source"), "info": cli("info", "crash-internal-recall-outernorm")}
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            listed = {"norms": norms.names(), "models": loopzoo.list_models("crash-*"), "tasks": tasks.names()}
            sources = [norms.source("crashnorm"), models.source("crash-internal-recall-outernorm")]
            errors = []
            for get in (lambda: norms.get("crashnorm"), lambda: norms.get("crashnorm"),
                        lambda: loopzoo.create("crash-internal-recall-outernorm"), lambda: tasks.get("crash")):
                try:
                    get()
                except loopzoo.UnknownNameError as exc:
                    errors.append(str(exc))
            model = loopzoo.create("mazes-internal-recall-outernorm", width=16, heads=2, norm="sandwich")
            answer = model.solve(model.task.example, iters=2)
            try:
                norms.get("crashnorn")
            except loopzoo.UnknownNameError as exc:
                typo = {"suggestions": exc.suggestions, "available": exc.available}
            try:
                loopzoo.create("mazes-internal-recall-outrnorm")
            except loopzoo.UnknownNameError as exc:
                typo_model = exc.suggestions
        broken = [str(w.message) for w in caught if "failed to import" in str(w.message)]
        print(json.dumps({"commands": commands, "listed": listed, "sources": sources, "errors": errors, "answer": answer,
                          "typo": typo, "typo_model": typo_model, "warnings": broken}))
    """, installed.good, installed.bad)
    # listing reads metadata only, so the broken names are still listed, with their source
    assert "crashnorm" in result["listed"]["norms"] and "sandwich" in result["listed"]["norms"]
    assert result["listed"]["models"] == ["crash-internal-recall-outernorm"] and "crash" in result["listed"]["tasks"]
    assert result["sources"] == ["lz-broken-fixture 0.1.0"] * 2
    # using them fails with a clear error; each broken name is reported once, however often it is asked for
    assert len(result["errors"]) == 4 and all("Its plugin failed to import" in e for e in result["errors"])
    # (the model name was already reported, once, by the `loopzoo info` command run first)
    assert sorted(w.split("'")[3] for w in result["warnings"]) == ["crash", "crashnorm"], result["warnings"]
    assert all("lz_broken_fixture" in w and "ModuleNotFoundError" in w for w in result["warnings"])
    # everything else keeps working: other plugins, built-ins, suggestions
    assert len(result["answer"].splitlines()) == 7
    assert "crashnorm" not in result["typo"]["available"] and "sandwich" in result["typo"]["available"]
    assert result["typo_model"][0] == "mazes-internal-recall-outernorm"

    listed, info = result["commands"]["list"], result["commands"]["info"]
    assert listed["code"] == 0 and listing(listed["out"])["crashnorm"] == "lz-broken-fixture 0.1.0"
    assert info["code"] == 2 and "Its plugin failed to import" in info["err"] and "Traceback" not in info["err"]
    assert info["err"].count("lz_broken_fixture") == 1, info["err"]  # the warning, once


def test_shadowing_plugin_does_not_replace_builtins(installed, tmp_path):
    marker = tmp_path / "imported.txt"
    result = installed.python("""
        import loopzoo
        from loopzoo.data import load_split
        from loopzoo.registry import datasets, models, norms, tasks

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            sources = [r.source(n) for r, n in ((norms, "outernorm"), (tasks, "sudoku"),
                                                  (models, "sudoku-internal-recall-outernorm"), (datasets, "prefix-sums"))]
            config = loopzoo.config_for("sudoku-internal-recall-outernorm")
            model = loopzoo.create("sudoku-internal-recall-outernorm", width=16, heads=2)
            answer = model.solve(model.task.example, iters=1)
            data = load_split("prefix-sums", "train", n=3, length=5)
            loopzoo.create("sudoku-internal-recall-outernorm", width=16, heads=2)  # again: no second warning
            listed = cli("list", "--kind", "tasks", "--source")
        shadow = [str(w.message) for w in caught if "built-in is used" in str(w.message)]
        print(json.dumps({"sources": sources, "config": config.to_dict(), "answer": answer, "n": len(data),
                          "task": type(model.task).__module__, "norm": type(model.blocks[0].norm).__module__,
                          "names": norms.names().count("outernorm"), "warnings": shadow,
                          "listed": listed}))
    """, installed.good, installed.bad, LZ_SHADOW_MARKER=str(marker))
    assert result["sources"] == ["loopzoo (built-in)"] * 4
    assert result["config"]["width"] == 256 and result["config"]["norm"] == "outernorm"
    assert result["task"] == "loopzoo.tasks.sudoku" and result["norm"] == "loopzoo.layers.norms"
    assert len(result["answer"]) == 81 and result["n"] == 3 and result["names"] == 1
    assert sorted(w.split("'")[3] for w in result["warnings"]) == sorted(
        ["outernorm", "sudoku", "sudoku-internal-recall-outernorm", "prefix-sums"]), result["warnings"]
    assert all("lz_shadow_fixture" in w for w in result["warnings"])
    assert not marker.exists()  # the shadowing module was never even imported
    assert listing(result["listed"]["out"])["sudoku"] == "loopzoo (built-in)"
