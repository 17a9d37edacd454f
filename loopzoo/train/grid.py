"""The grid: the paper's comparison, every variant of a task trained with an equal budget, resumable
(``scripts/train_grid.py``).

Every variant of a task gets the same budget: the flagship's timed recipe (width, heads, batch,
bf16 where native, augmentation, the whole train split; :data:`loopzoo.train.zoo.TIMED_RECIPES`)
for the same number of epochs, the x0.1 decay for the last epoch, and the same seeds. The set
serves the paper's claims (docs/design.md §6; checked by :mod:`loopzoo.analysis.claims`):

* C1-C3: ``{no-recall, recall, internal-recall} x outernorm`` at the recipe's learning rate;
* C4: ``internal-recall x {outernorm, prenorm, perinorm, gru}`` at the recipe's learning rate
  and at a high one (``max(1e-3, 3 x recipe)``: 1e-3 where the recipe uses 3e-4, 3e-3 for
  sudoku, whose recipe already uses 1e-3); a run that diverges is a result, recorded, not an error;
* ``{task}-fixed15``, the 15-layer untied baseline, trained once per example (no progressive
  loss) for the same epochs, i.e. the same examples seen, and evaluated as it runs: one pass of its
  layers (sudoku-fixed15 was evaluated at 1..120 passes before this rule; its later passes are not
  the baseline).

A grid run is called ``NAME.lrLR-seedK`` and lives in ``runs/grid/TASK/NAME@lrLR/seedK/`` (a run
folder, :class:`loopzoo.runs.RunDir`; the folder layout predates the tag syntax). A finished run
drops its optimizer checkpoints, so the committed grid stays small. ``runs/grid/TASK/grid.json``
sums the grid up: per run its status, steps, minutes and last evaluation, and where the run scored the
held-out probe (prefix sums: 512-bit strings of seed 1, not the test split) its best evaluation by the
probe: a run is read at its end and at its best checkpoint (:func:`summarize`).
"""
from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import runs
from ..config import ModelConfig
from ..errors import ConfigError, InputError
from ..names import FIXED_DEPTH, FLAGSHIPS
from . import zoo
from .recipe import TrainConfig, paper_recipe

# sudoku: 2,995 steps (x0.1 from 2,396), about 100 min a variant on one thread at width 128 in bf16.
# 3 epochs were too few: the flagship variant ended at 0% val exact (63.5% of cells, runs/grid-pilot/);
# the flagship's timed run first left 0% after about 1,400 steps and had 68% at 2,242 at the full rate
# prefix sums: 37 epochs = 2,960 steps of 100 strings, x0.1 from 2,880, as the flagship's timed run, whose val
# reached 100% at 2,299 and whose 512-bit strings peaked (78%) at 2,952, just after its x0.1 from about 2,900
DEFAULT_EPOCHS = {"sudoku": 5, "chess": 4, "prefix-sums": 37}
# Epochs between evaluations: a prefix-sums evaluation (500 iterations over 512-bit strings) takes
# about 2.6 min on one thread, as long as 200 training steps
EVAL_EVERY = {"sudoku": 1, "chess": 1, "prefix-sums": 9}
# What only says how a run is watched, not what it trains: a run may continue with other values.
WATCHING = ("eval_iters", "eval_every", "eval_samples", "probe", "checkpoint_every", "log_every")


@dataclass(frozen=True)
class Variant:
    """One cell of the grid: a zoo name at a learning rate."""

    name: str
    lr: float
    claims: str

    @property
    def label(self) -> str:
        """``NAME.lrLR``: the variant's runs are ``NAME.lrLR-seedK``."""
        return runs.join_tag(self.name, f"lr{self.lr:g}")

    def ref(self, seed: int) -> str:
        """The ref of this variant's run of ``seed``: ``NAME.lrLR-seedK``."""
        return runs.join_tag(self.name, runs.grid_tag(self.lr, seed))


def recipe_lr(task: str) -> float:
    """The learning rate of ``task``'s timed recipe: the grid's lower rate."""
    return zoo.TIMED_RECIPES[task]["train"]["lr"]


def high_lr(recipe_lr: float) -> float:
    """The C4 learning rate: 1e-3, or three times the recipe's where that is 1e-3 already."""
    return max(1e-3, 3 * recipe_lr)


def variants(task: str, lr: float | None = None) -> list[Variant]:
    """The grid of ``task`` in training order: the C1-C3 comparison first, then C4, then the baseline;
    ``lr``: the lower rate (default: the timed recipe's)."""
    lr = recipe_lr(task) if lr is None else lr
    grid = [Variant(f"{task}-{recall}-outernorm", lr, "C1 C2 C3") for recall in ("internal-recall", "recall", "no-recall")]
    grid += [Variant(f"{task}-internal-recall-{norm}", lr, "C4") for norm in ("prenorm", "perinorm", "gru")]
    grid += [Variant(f"{task}-internal-recall-{norm}", high_lr(lr), "C4") for norm in ("outernorm", "prenorm", "perinorm", "gru")]
    grid.append(Variant(f"{task}-fixed{FIXED_DEPTH}", lr, "C1 (untied baseline)"))
    return grid


def _label_of(text: str) -> str:
    """A variant label as given: ``NAME.lrLR``, or the older ``NAME@lrLR``."""
    name, found, lr = text.partition("@lr")
    return runs.join_tag(name, f"lr{lr}") if found else text


def select(grid: list[Variant], only: list[str] | None = None, shard: tuple[int, int] = (1, 1)) -> list[Variant]:
    """The variants labelled ``only`` (``NAME.lrLR``; the older ``NAME@lrLR`` is read too), then every
    ``shard[1]``-th of them from the ``shard[0]``-th."""
    if only:
        wanted = {_label_of(label) for label in only}
        unknown = sorted(wanted - {v.label for v in grid})
        if unknown:
            raise InputError(f"unknown variant(s) {', '.join(unknown)}; the grid: {', '.join(v.label for v in grid)}")
        grid = [v for v in grid if v.label in wanted]
    index, count = shard
    return grid[index - 1::count]


def run_dir(task: str, variant: Variant, seed: int) -> Path:
    """The folder of ``variant``'s run of ``seed``."""
    return runs.grid_dir(task, variant.name, variant.lr, seed)


def configs(task: str, variant: Variant, seed: int, epochs: int) -> tuple[ModelConfig, TrainConfig]:
    """The flagship's timed recipe at ``variant``'s learning rate, ``epochs`` long, decayed for the last one."""
    from .. import config_for

    recipe = zoo.TIMED_RECIPES[task]
    model_config = config_for(variant.name, **recipe["model"])
    train = {**recipe["train"], "lr": variant.lr, "epochs": epochs, "decay_epoch": epochs - 1 if epochs > 1 else None, "seed": seed,
             "warmup_epochs": min(recipe["train"]["warmup_epochs"], epochs / 4)}
    if model_config.iters == 1:  # the untied baseline runs once: no progressive loss, and it is evaluated as it runs
        train.update(max_iters=1, eval_iters=1)
    return model_config, paper_recipe(task, **{"eval_every": EVAL_EVERY[task], "eval_samples": 500, "checkpoint_every": 200, **train})


def training_settings(train: dict[str, Any]) -> dict[str, Any]:
    """A run's training config without :data:`WATCHING`: what must be equal for an equal budget."""
    return {k: v for k, v in train.items() if k not in WATCHING}


def train_one(task: str, variant: Variant, seed: int, epochs: int, progress: bool = True) -> dict[str, Any]:
    """Train (or continue) one run to its end; its status."""
    from .trainer import Trainer, TrainingDiverged

    run = runs.RunDir(run_dir(task, variant, seed))
    model_config, config = configs(task, variant, seed, epochs)
    saved = run.saved()
    if saved is not None:  # a run keeps its own configs, finished or not: equal budgets
        # both through TrainConfig, so options added since the run started take their defaults on both sides
        if training_settings(json.loads(TrainConfig.from_dict(saved["train"]).to_json())) != \
                training_settings(json.loads(config.to_json())):
            raise ConfigError(f"{run.path}: trained with other settings (epochs, seed or recipe differ); "
                              f"use its own settings or move the folder away")
    state = run.status()
    if state["status"] in ("done", "diverged"):
        return state
    trainer = Trainer(model_config, config, run.path, progress=progress)
    if run.checkpoints():
        trainer.resume()
    try:
        summary = trainer.fit()
    except TrainingDiverged as exc:
        state = {"status": "diverged", "step": trainer.step, "message": str(exc).splitlines()[0]}
    else:
        state = {"status": "done", "steps": summary["steps"], "eval": summary["eval"]}
    state["train_minutes"] = round(trainer.train_seconds / 60, 1)
    run.path.mkdir(parents=True, exist_ok=True)
    (run.path / "grid-status.json").write_text(json.dumps(state, indent=1) + "\n")
    shutil.rmtree(run.path / "checkpoints", ignore_errors=True)  # the finished model (or the verdict) is what is kept
    return state


def train(task: str, grid: list[Variant], seeds: list[int], epochs: int, progress: bool = True) -> None:
    """Train every run of ``grid`` x ``seeds`` to its end, seed by seed; print each one's status."""
    for seed in seeds:
        for variant in grid:
            state = train_one(task, variant, seed, epochs, progress=progress)
            print(f"{variant.ref(seed)}: {state['status']}", flush=True)


def listing(task: str, grid: list[Variant], seed: int) -> str:
    """Per variant: its label, the claims it serves, the folder of its runs."""
    lines = []
    for variant in grid:
        folder = run_dir(task, variant, seed).parent
        root = runs.runs_root().parent
        lines.append(f"{variant.label:45s} {variant.claims:22s} {folder.relative_to(root) if folder.is_relative_to(root) else folder}")
    return "\n".join(lines)


SPLITS = ("val", "test", "probe")  # what an evaluation scores: val, the hard split (test), the held-out probe


def accuracies(record: dict[str, Any]) -> dict[str, dict[str, float]]:
    """``{"val_at": ..., "test_at": ..., "probe_at": ...}``: an eval record's exact match per evaluated
    iteration count, for the splits it scored."""
    return {f"{split}_at": record[split]["at"] for split in SPLITS if split in record}


def summarize(task: str, grid: list[Variant], seeds: list[int]) -> dict[str, Any]:
    """Write and return ``runs/grid/<task>/grid.json``: per run its status, budget and exact match at
    its end (its last evaluation) and, for a finished run that scored the held-out probe, at its best
    checkpoint by the probe (:func:`loopzoo.runs.best_evaluation`: its evaluation with the best probe
    exact match at the last iteration count, the later on a tie; read from the eval records, since a
    finished grid run keeps only its final weights)."""
    summary = {}
    for variant in grid:
        for seed in seeds:
            run = runs.RunDir(run_dir(task, variant, seed))
            state = run.status()
            best = run.best_evaluation("probe") if state["status"] == "done" else None
            summary[variant.ref(seed)] = {
                "name": variant.name, "lr": variant.lr, "seed": seed, "claims": variant.claims, "status": state["status"],
                **{k: state[k] for k in ("steps", "step", "train_minutes", "message") if k in state},
                **accuracies(state.get("eval", {})),
                **({"best": {"step": best["step"], **accuracies(best)}} if best else {})}
    out = {"task": task, "seeds": seeds, "runs": summary}
    (runs.grid_root() / task).mkdir(parents=True, exist_ok=True)
    (runs.grid_root() / task / "grid.json").write_text(json.dumps(out, indent=1) + "\n")
    return out


def _cells(at: dict[str, dict[str, float]], iters: list[int]) -> list[str]:
    """val / hard exact match (%) at each of ``iters``; "-" where either was not evaluated."""
    return [f"{100 * at['val_at'][str(i)]:.1f} / {100 * at['test_at'][str(i)]:.1f}"
            if str(i) in at.get("val_at", {}) and str(i) in at.get("test_at", {}) else "-" for i in iters]


def table(summary: dict[str, Any]) -> str:
    """The grid as a markdown table: per run its status, budget and exact match (%) at each evaluated
    iteration count of its last evaluation, val / hard. Where runs scored the held-out probe, a
    checkpoint column and the probe at the last count, and under each finished run's end a row for its
    best checkpoint by the probe (``best`` in :func:`summarize`)."""
    rows = summary["runs"].values()
    iters = sorted({int(i) for run in rows for at in (run, run.get("best", {})) for i in at.get("val_at", {})})
    probed = sorted({int(i) for run in rows for at in (run, run.get("best", {})) for i in at.get("probe_at", {})})
    horizon = str(probed[-1]) if probed else None

    def probe(at: dict[str, Any]) -> list[str]:
        if horizon is None:
            return []
        return [f"{100 * at['probe_at'][horizon]:.1f}" if horizon in at.get("probe_at", {}) else "-"]

    head = ["run", "seed", "status", "steps", "minutes", *(["checkpoint", f"probe @{horizon}"] if horizon else []),
            *(f"val / hard @{i}" for i in iters)]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for run in rows:
        steps = run.get("steps", run.get("step", "-"))
        minutes = f"{run['train_minutes']:.1f}" if "train_minutes" in run else "-"
        name = f"`{run['name']}` lr {run['lr']:g}"
        end = (["end" if "val_at" in run else "-"] if horizon else []) + probe(run)
        lines.append("| " + " | ".join([name, str(run["seed"]), run["status"], str(steps), minutes, *end, *_cells(run, iters)]) + " |")
        if "best" in run:
            best = run["best"]
            where = f"best by probe: step {best['step']}" + (" (the end)" if best["step"] == run.get("steps") else "")
            lines.append("| " + " | ".join([name, str(run["seed"]), "", "", "", where, *probe(best), *_cells(best, iters)]) + " |")
    return "\n".join(lines)


def bundle(task: str, grid: list[Variant], recipe_lr: float) -> None:
    """Bundle each finished seed-0 run at the recipe's learning rate as its zoo name (the flagships keep
    theirs; the untied baseline stays in its run folder: 15 layers in fp32 outweigh the other bundles ten times)."""
    from .. import bundle as bundling
    from .. import config_for

    for variant in grid:
        run = runs.RunDir(run_dir(task, variant, 0))
        if variant.lr != recipe_lr or variant.name in FLAGSHIPS:
            continue
        if run.status()["status"] != "done":
            print(f"{variant.ref(0)}: not finished; not bundled")
            continue
        if config_for(variant.name).depth > 1:
            print(f"{variant.ref(0)}: untied baseline, not bundled; loopzoo.load({variant.ref(0)!r}) loads it")
            continue
        bundling.bundle(variant.name, run.path, bundling.evaluate(variant.name, run.path))
