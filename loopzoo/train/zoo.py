"""Training the zoo: its recipes, and the runs that train its checkpoints (``scripts/train_zoo.py``).

Two kinds of run (docs/training.md):

* a **fixed-step** run (:data:`FIXED_STEP_RECIPES`, :func:`train_fixed_step`): the paper's recipe at a
  width and a number of steps that one CPU thread trains in minutes, trained to its end once, in
  ``runs/NAME/``;
* a **timed** run (:data:`TIMED_RECIPES`, :func:`train_timed`, the flagships): everything but the
  length of the run; it trains for a wall-clock budget, continues where it stopped, keeps its best
  model by val exact match in ``runs/NAME/best``. The learning rate is constant after warmup, and the
  final x0.1 decay starts explicitly, for the last share of a budget. A timed run at another width
  lives in ``runs/NAME.wWIDTH/``; one of a recipe of :data:`TAGGED_RECIPES` in ``runs/NAME.TAG/``.

Evaluating, scoring and bundling what they leave: :mod:`loopzoo.bundle`. Run folders: :mod:`loopzoo.runs`.
"""
from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

from .. import checkpoint, hub, runs
from ..config import ModelConfig
from ..errors import CheckpointError, ConfigError
from ..names import FLAGSHIPS, TASKS
from .recipe import TrainConfig, paper_recipe

__all__ = ["FIXED_STEP_RECIPES", "FLAGSHIPS", "TAGGED_RECIPES", "TIMED_RECIPES", "VARIANTS", "compare_weights",
           "curve_configs", "finished", "heads_for", "tagged_name", "timed_run_dir", "train_fixed_step", "train_timed", "zoo_names"]

# The variants the zoo bundles for every task (the grid bundles more: loopzoo.train.grid).
VARIANTS = ("internal-recall-outernorm", "recall-outernorm", "no-recall-outernorm", "internal-recall-prenorm")

# Fixed-step recipes: the paper's recipe (progressive loss, AdamW, clip 1.0, warmup, x0.1 decay)
# at a width and a number of steps that one CPU thread trains in minutes; per name, else per task.
FIXED_STEP_RECIPES = {
    "prefix-sums-internal-recall-outernorm": dict(model=dict(width=64, heads=4), train=dict(
        epochs=30, batch_size=100, lr=3e-4)),
    "prefix-sums": dict(model=dict(width=64, heads=4), train=dict(
        epochs=8, batch_size=100, lr=3e-4, warmup_epochs=0.8, decay_epoch=5)),
    "sudoku-internal-recall-outernorm": dict(model=dict(width=64, heads=4), train=dict(
        epochs=4, batch_size=64, lr=1e-3, train_size=6400, warmup_epochs=0.4, decay_epoch=3)),
    "sudoku": dict(model=dict(width=64, heads=4), train=dict(
        epochs=2, batch_size=64, lr=1e-3, train_size=6400, warmup_epochs=0.2, decay_epoch=2)),
    "chess": dict(model=dict(width=64, heads=4), train=dict(
        epochs=4, batch_size=64, lr=1e-3, warmup_epochs=0.4, decay_epoch=3)),
}
# Timed recipes, per task: everything but the length of the run. bf16 autocast where the CPU has it,
# every train item with random symmetries, evaluation on 500 val + 500 hard items.
TIMED_RECIPES = {
    "sudoku": dict(model=dict(width=128, heads=4), train=dict(
        epochs=100_000, batch_size=64, lr=1e-3, warmup_epochs=1.0, decay_epoch=None, eval_iters=120)),
    "chess": dict(model=dict(width=128, heads=4), train=dict(
        epochs=100_000, batch_size=64, lr=1e-3, warmup_epochs=1.0, decay_epoch=None, eval_iters=100)),
    # prefix sums: val (32 bits) saturates long before 512 bits extrapolate, so every evaluation
    # runs 500 iterations and also scores held-out 512-bit strings (seed 1, not the test split),
    # which choose the best model where val ties; 100 strings a split keep an evaluation cheap
    "prefix-sums": dict(model=dict(width=64, heads=4), train=dict(
        epochs=100_000, batch_size=100, lr=3e-4, warmup_epochs=1.0, decay_epoch=None, eval_iters=500,
        eval_samples=100, probe=dict(split="test", seed=1))),
}
# What a timed run sets besides its recipe (a recipe's own values win).
TIMED_DEFAULTS = dict(eval_every=10_000, eval_samples=500, checkpoint_every=200)
# Tagged recipes (``--tag TAG``, in ``runs/NAME.TAG``, never bundled): the task's timed recipe with
# these changes. ``public``: the sudoku flagship fine-tuned on the forum-hardest list's train split (val:
# its val split; the probe: its hard split; test: the generated hard split); ``public-k60``: the same
# with the progressive loss's gradient window up to 60 iterations instead of 30. Both lost everything
# within 600 steps (0% on both val splits; docs/sudoku-data.md): kept to reproduce that. ``mix``: the
# generated and forum-hardest train splits together (val: both, half each) at a third of the rate.
# ``lichess``: see below.
FINE_TUNE = dict(lr=3e-4, warmup_epochs=0.1, eval_iters=200, eval_samples=200, init_from="sudoku-internal-recall-outernorm",
                 task_options={"source": "forum-hardest"}, probe={"split": "test", "source": "forum-hardest"})
LICHESS_FT = dict(lr=3e-4, warmup_epochs=0.1, eval_iters=100, eval_samples=500, init_from="chess-internal-recall-outernorm",
                  task_options={"source": "lichess+stockfish"}, probe={"split": "test", "source": "lichess"})
PUBLIC_MIX = {**FINE_TUNE, "task_options": {"source": "generated+forum-hardest"}}
# From scratch on the generated and Lichess train splits (val: both, half each; the probe: the Lichess
# test split), at the timed recipe's rate; the untied baseline runs once (as in the grid, loopzoo.train.grid)
CHESS_SCRATCH = dict(warmup_steps=200, eval_samples=200, task_options={"source": "generated+lichess"},
                     probe={"split": "test", "source": "lichess"})
UNTIED = dict(max_iters=1, eval_iters=1)
AB_ARMS = {"base": {}, "warmup": {"warmup_steps": 200}, "ema": {"ema": 0.995}, "seg2": {"segments": 2}}
TAGGED_RECIPES = {
    "public": dict(task="sudoku", train=FINE_TUNE),
    "public-k60": dict(task="sudoku", train={**FINE_TUNE, "max_iters": 60}),
    "mix": dict(task="sudoku", train={**FINE_TUNE, "lr": 1e-4, "task_options": {"source": "generated+forum-hardest"}}),
    # the recipe comparison of issue 36 (docs/sudoku-data.md, scripts/compare_recipes.py): the flagship
    # fine-tuned at ``public``'s rate on the generated and forum-hardest train splits (val: both, half
    # each; the probe: the forum-hardest hard split); each arm changes one thing against ``ab-base``
    **{f"ab-{arm}": dict(task="sudoku", train={**PUBLIC_MIX, **change}) for arm, change in AB_ARMS.items()},
    # issue 36 item 4, the long run: the flagship trained on the generated set and both public lists
    # (val: the generated and public val splits, half each; the probe: a seed-1 sample of the public
    # hard split, as the recipe tables score), warmup in steps (the A/B's choice)
    "public-long": dict(task="sudoku", train={**FINE_TUNE, "warmup_steps": 200, "task_options": {"source": "generated+public"},
                                               "probe": {"split": "test", "source": "public", "seed": 1}}),
    # the chess flagship fine-tuned on real Lichess puzzles and Stockfish-labelled positions (val: the
    # Lichess val split; the probe: 500 of the Lichess test split; test: the generated hard split)
    "lichess": dict(task="chess", train=LICHESS_FT),
    # issue 37's data comparison at an equal budget (docs/chess-data.md): the puzzles alone, and the
    # puzzles with the labelled positions, both with a warmup in steps
    "ab-lichess": dict(task="chess", train={**LICHESS_FT, "warmup_steps": 200, "task_options": {"source": "lichess"}}),
    "ab-lichess-labels": dict(task="chess", train={**LICHESS_FT, "warmup_steps": 200}),
    # issue 37's looped model against the untied 15-layer baseline at an equal CPU budget (the same
    # minutes each), every arm from scratch on the same data: the looped flagship's recipe; the baseline
    # at the same width (15x the parameters, about the compute of 15 iterations a pass); the baseline at
    # about the looped model's parameters (width 36, one head: 241,670 against 249,538)
    "vs-looped": dict(task="chess", name="chess-internal-recall-outernorm", train=CHESS_SCRATCH),
    "vs-untied": dict(task="chess", name="chess-fixed15", train={**CHESS_SCRATCH, **UNTIED}),
    "vs-untied-params": dict(task="chess", name="chess-fixed15", model=dict(width=36, heads=1),
                             train={**CHESS_SCRATCH, **UNTIED}),
}


def zoo_names() -> list[str]:
    """The names the zoo trains and bundles, in training order (every task's :data:`VARIANTS`)."""
    return [f"{task}-{variant}" for task in TASKS for variant in VARIANTS]


def _task(name: str) -> str:
    from .. import config_for

    return config_for(name).task


def fixed_step_recipe(name: str) -> dict:
    """``name``'s fixed-step recipe (``{"model": overrides, "train": overrides}``)."""
    return FIXED_STEP_RECIPES.get(name, FIXED_STEP_RECIPES[_task(name)])


def timed_recipe(task: str, tag: str | None = None) -> dict:
    """The timed recipe of ``task``, with a tagged recipe's changes."""
    recipe = TIMED_RECIPES[task]
    if tag is None:
        return recipe
    tagged = TAGGED_RECIPES[tag]
    if tagged["task"] != task:
        raise ConfigError(f"--tag {tag} is a {tagged['task']} recipe, not one for {task}")
    return {"model": {**recipe["model"], **tagged.get("model", {})}, "train": {**recipe["train"], **tagged["train"]}}


def tagged_name(tag: str, name: str | None = None) -> str | None:
    """The name a tagged recipe trains where it names one (else ``name``); ConfigError where ``name``
    is another: such a recipe (e.g. the untied baseline's) fits no other model."""
    wanted = TAGGED_RECIPES[tag].get("name")
    if wanted is not None and name is not None and name != wanted:
        raise ConfigError(f"--tag {tag} trains {wanted}, not {name}")
    return wanted or name


def timed_configs(name: str, tag: str | None = None, **model_overrides) -> tuple[ModelConfig, TrainConfig]:
    """The model and training configs a new timed run of ``name`` starts with."""
    from .. import config_for

    if tag is not None:
        tagged_name(tag, name)
    task = _task(name)
    recipe = timed_recipe(task, tag)
    model_config = config_for(name, **{**recipe["model"], **model_overrides})
    return model_config, paper_recipe(task, **{**TIMED_DEFAULTS, **recipe["train"]})


def timed_run_dir(name: str, width: int | None = None, tag: str | None = None) -> Path:
    """``runs/NAME`` for the timed recipe's width (or none given); ``runs/NAME.wWIDTH`` for another (a
    tagged run), so a wider try of a name never mixes with its flagship run; ``runs/NAME.TAG`` for a
    run of a recipe in :data:`TAGGED_RECIPES`."""
    if tag is not None:
        return runs.runs_root() / runs.join_tag(name, tag)
    if width is None or width == TIMED_RECIPES[_task(name)]["model"]["width"]:
        return runs.runs_root() / name
    return runs.runs_root() / runs.join_tag(name, f"w{width}")


def heads_for(width: int, heads: int | None = None) -> int:
    """``heads``, or heads of 32 channels (the paper's 256 / 8) for ``width``."""
    return heads or max(1, width // 32)


def train_timed(name: str, minutes: float, decay_fraction: float, eval_minutes: float, new_cycle: bool = False,
                progress: bool = True, width: int | None = None, heads: int | None = None, decay_again: bool = False,
                tag: str | None = None) -> Path:
    """Train ``name`` for ``minutes`` (continuing its run if there is one); the directory of its best model.

    ``decay_fraction``: the last share of the budget at the decayed rate (0: no decay now).
    ``width`` (and ``heads``, default ``width // 32``: heads of 32 channels, as the paper's 256 / 8)
    trains the name at another width than the recipe's, in its own run directory. ``new_cycle``
    undoes an earlier decay; ``decay_again`` multiplies the rate of a decayed run by its decay factor
    once more, from the first step of this call."""
    from .trainer import Trainer

    run = runs.RunDir(timed_run_dir(name, width, tag))
    overrides = {} if width is None else dict(width=width, heads=heads_for(width, heads))
    if run.saved() is not None:  # continue with the run's own configs
        model_config, config = run.configs()
        if width is not None and (model_config.width, model_config.heads) != (width, overrides["heads"]):
            raise ConfigError(f"{run.path} was started at width {model_config.width}, {model_config.heads} heads; "
                              f"continue it with --width {model_config.width} --heads {model_config.heads}")
    else:
        model_config, config = timed_configs(name, tag, **overrides)
    trainer = Trainer(model_config, config, run.path, progress=progress)
    if run.checkpoints():
        trainer.resume()
        print(f"{run.ref}: resuming at step {trainer.step} ({trainer.seconds_before / 60:.1f} min trained)")
    if new_cycle:
        trainer.decays = []
    if decay_again:
        if not trainer.decays:
            raise ConfigError(f"{run.path} has not decayed yet: start its first decay with --decay-fraction")
        trainer.start_decay(again=True)
        print(f"{run.ref}: decay stage {len(trainer.decays)} from step {trainer.step} "
              f"(x{trainer.config.decay_factor ** len(trainer.decays):g})")
    seconds = 60 * minutes
    decay_after = seconds * (1 - decay_fraction) if decay_fraction > 0 else None
    summary = trainer.fit_for(seconds, decay_after=decay_after, eval_every=60 * eval_minutes)
    ev = summary["eval"]
    print(f"{run.ref}: {summary['steps']} steps ({summary['steps_this_run']} now, {summary['seconds']} s); "
          f"val {ev['val']['at']}, hard {ev['test']['at']}")
    return run.best


def finished(name: str, width: int | None = None) -> Path | None:
    """The model to bundle of ``name``'s run: the best of a timed run, else a finished fixed-step run."""
    return runs.RunDir(timed_run_dir(name, width)).model_dir()


def curve_configs(name: str, every: int) -> tuple[ModelConfig, TrainConfig]:
    """The model and training configs recorded in ``name``'s bundled card, evaluating every ``every``
    epochs at the card's recommended iterations (on as many items per split as the card's hard split):
    a rerun of a fixed-step checkpoint that draws its learning curve. Training is seeded per step and
    evaluation draws no random numbers, so the rerun trains the same weights where the code and the
    kernels are the same; :func:`compare_weights` says whether they are."""
    from ..bundle import EVAL_SIZES

    config_file = hub.ZOO_DIR / name / checkpoint.CONFIG_FILE
    if not config_file.is_file():
        raise CheckpointError(f"{name} is not bundled: --curve-every reruns a bundled checkpoint's recipe")
    meta = json.loads(config_file.read_text())
    saved = TrainConfig.from_dict(meta["train"])
    if saved.decay_epoch is None:
        raise ConfigError(f"{name} was trained by a timed run (--minutes), whose metrics hold its curve already; "
                          f"plot it with scripts/plot_curves.py {name}")
    if every > saved.epochs:
        raise ConfigError(f"--curve-every {every} is more than the run's {saved.epochs} epochs")
    model_config = ModelConfig.from_dict(meta["model"])
    # the precision the run trained in: recorded since the trainer had --precision; before, it
    # autocast on CUDA only, so a checkpoint trained on a CPU then was trained in fp32
    precision = meta.get("precision") or ("fp32" if meta.get("hardware", "").startswith("CPU") else saved.precision)
    config = dataclasses.replace(saved, eval_every=every, eval_iters=model_config.iters, precision=precision,
                                 eval_samples=EVAL_SIZES[model_config.task]["test"])
    return model_config, config


def compare_weights(name: str, run_dir: Path) -> float:
    """Largest absolute difference between the weights trained in ``run_dir`` and ``name``'s bundled ones."""
    from safetensors.torch import load_file

    ours, bundled = (load_file(d / checkpoint.WEIGHTS_FILE) for d in (run_dir, hub.ZOO_DIR / name))
    if ours.keys() != bundled.keys() or any(ours[k].shape != bundled[k].shape for k in ours):
        return math.inf
    return max(float((ours[k].float() - bundled[k].float()).abs().max()) for k in ours)


def train_fixed_step(name: str, progress: bool = True, curve_every: int | None = None) -> Path:
    """Train ``name`` with its fixed-step recipe into ``runs/NAME`` (resumable; a finished run is kept);
    with ``curve_every``, rerun its bundled checkpoint's recipe into ``runs/NAME.rerun`` (never bundled),
    evaluating every ``curve_every`` epochs, and say whether it trained the same weights."""
    from .. import config_for
    from .trainer import Trainer

    run = runs.RunDir(runs.runs_root() / runs.join_tag(name, "rerun" if curve_every is not None else None))
    if (run.path / checkpoint.WEIGHTS_FILE).is_file():
        print(f"{name}: trained already ({run.path})")
        return run.path
    if curve_every is None:
        recipe = fixed_step_recipe(name)
        model_config = config_for(name, **recipe["model"])
        config = paper_recipe(model_config.task, eval_every=10_000, eval_samples=100, eval_iters=30,
                              checkpoint_every=100, **recipe["train"])
    else:
        model_config, config = curve_configs(name, curve_every)
    trainer = Trainer(model_config, config, run.path, progress=progress)
    if run.checkpoints():
        trainer.resume()
        print(f"{name}: resuming at step {trainer.step}")
    summary = trainer.fit()
    if curve_every is not None:
        diff = compare_weights(name, run.path)
        print(f"{name}: weights {'identical to' if diff == 0 else f'differ (max |diff| {diff:.3g}) from'} "
              f"the bundled checkpoint's")
    print(f"{name}: trained {summary['steps']} steps in {summary['seconds']} s")
    return run.path
