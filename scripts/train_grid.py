#!/usr/bin/env python
"""Train the paper's comparison grid with an equal budget per variant, resumable.

    python scripts/train_grid.py sudoku --list                    # the variants and their run folders
    python scripts/train_grid.py sudoku --seeds 0                 # train them all, in order
    python scripts/train_grid.py sudoku --shard 1/2 --threads 1   # every second variant (one job per core)
    python scripts/train_grid.py sudoku --status                  # what is trained, what is left
    python scripts/train_grid.py sudoku --bundle                  # bundle the seed-0 runs as the zoo's checkpoints

Every variant of a task gets the same budget: the flagship's timed recipe (width, heads, batch,
bf16 where native, augmentation, the whole train split) for the same number of epochs, the x0.1
decay for the last epoch, and the same seeds. The set serves the paper's claims (docs/design.md §6):

* C1-C3: ``{no-recall, recall, internal-recall} x outernorm`` at the recipe's learning rate;
* C4: ``internal-recall x {outernorm, prenorm, perinorm, gru}`` at the recipe's learning rate
  and at a high one (``max(1e-3, 3 x recipe)``: 1e-3 where the recipe uses 3e-4, 3e-3 for
  sudoku, whose recipe already uses 1e-3); a run that diverges is a result, recorded, not an error;
* ``{task}-fixed15``, the 15-layer untied baseline, trained once per example (no progressive
  loss) for the same epochs, i.e. the same examples seen, and evaluated as it runs: one pass of its
  layers (sudoku-fixed15 was evaluated at 1..120 passes before this rule; its later passes are not
  the baseline).

Runs live in ``runs/grid/<task>/<name>@lr<lr>/seed<k>/`` (a :class:`Trainer` run folder: resumable
checkpoints, metrics.jsonl, and at the end the model, loadable with ``loopzoo.load``). A finished
run drops its optimizer checkpoints, so the committed grid stays small. ``runs/grid/<task>/grid.json``
sums the grid up: per run its status, steps, minutes and last evaluation.
"""
from __future__ import annotations

import argparse
import functools
import importlib.util
import json
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import loopzoo  # noqa: E402
from loopzoo import checkpoint  # noqa: E402
from loopzoo.hardware import default_threads  # noqa: E402
from loopzoo.names import FIXED_DEPTH, TASKS  # noqa: E402
from loopzoo.train import TrainConfig, checkpoints, paper_recipe  # noqa: E402
from loopzoo.train.trainer import Trainer, TrainingDiverged, TrainingStopped  # noqa: E402

GRID = ROOT / "runs" / "grid"
# sudoku: 2,995 steps (x0.1 from 2,396), about 100 min a variant on one thread at width 128 in bf16.
# 3 epochs were too few: the flagship variant ended at 0% val exact (63.5% of cells, runs/grid-pilot/);
# the flagship's timed run first left 0% after about 1,400 steps and had 68% at 2,242 at the full rate
# prefix sums: 37 epochs = 2,960 steps of 100 strings, x0.1 from 2,880, as the flagship's timed run, whose val
# reached 100% at 2,299 and whose 512-bit strings peaked (78%) at 2,952, just after its x0.1 from about 2,900
DEFAULT_EPOCHS = {"sudoku": 5, "chess": 4, "prefix-sums": 37}
# Epochs between evaluations: a prefix-sums evaluation (500 iterations over 512-bit strings) takes
# about 2.6 min on one thread, as long as 200 training steps
EVAL_EVERY = {"sudoku": 1, "chess": 1, "prefix-sums": 9}


@functools.cache
def _train_zoo():
    """scripts/train_zoo.py as a module: its recipes, evaluation and bundling."""
    spec = importlib.util.spec_from_file_location("train_zoo", ROOT / "scripts" / "train_zoo.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclass(frozen=True)
class Variant:
    """One cell of the grid: a zoo name at a learning rate."""

    name: str
    lr: float
    claims: str

    @property
    def label(self) -> str:
        return f"{self.name}@lr{self.lr:g}"


def high_lr(recipe_lr: float) -> float:
    """The C4 learning rate: 1e-3, or three times the recipe's where that is 1e-3 already."""
    return max(1e-3, 3 * recipe_lr)


def variants(task: str, recipe_lr: float) -> list[Variant]:
    """The grid of ``task`` in training order: the C1-C3 comparison first, then C4, then the baseline."""
    grid = [Variant(f"{task}-{recall}-outernorm", recipe_lr, "C1 C2 C3") for recall in ("internal-recall", "recall", "no-recall")]
    grid += [Variant(f"{task}-internal-recall-{norm}", recipe_lr, "C4") for norm in ("prenorm", "perinorm", "gru")]
    grid += [Variant(f"{task}-internal-recall-{norm}", high_lr(recipe_lr), "C4")
             for norm in ("outernorm", "prenorm", "perinorm", "gru")]
    grid.append(Variant(f"{task}-fixed{FIXED_DEPTH}", recipe_lr, "C1 (untied baseline)"))
    return grid


def run_dir(task: str, variant: Variant, seed: int) -> Path:
    return GRID / task / variant.label / f"seed{seed}"


def configs(task: str, variant: Variant, seed: int, epochs: int) -> tuple[loopzoo.ModelConfig, TrainConfig]:
    """The flagship's timed recipe at ``variant``'s learning rate, ``epochs`` long, decayed for the last one."""
    recipe = _train_zoo().TIMED_RECIPES[task]
    model_config = loopzoo.config_for(variant.name, **recipe["model"])
    train = {**recipe["train"], "lr": variant.lr, "epochs": epochs, "decay_epoch": epochs - 1 if epochs > 1 else None, "seed": seed,
             "warmup_epochs": min(recipe["train"]["warmup_epochs"], epochs / 4)}
    if model_config.iters == 1:  # the untied baseline runs once: no progressive loss, and it is evaluated as it runs
        train.update(max_iters=1, eval_iters=1)
    return model_config, paper_recipe(task, **{"eval_every": EVAL_EVERY[task], "eval_samples": 500, "checkpoint_every": 200, **train})


# What only says how a run is watched, not what it trains: a run may continue with other values.
WATCHING = ("eval_iters", "eval_every", "eval_samples", "probe", "checkpoint_every", "log_every")


def training_settings(train: dict[str, Any]) -> dict[str, Any]:
    """A run's training config without :data:`WATCHING`: what must be equal for an equal budget."""
    return {k: v for k, v in train.items() if k not in WATCHING}


def status(directory: Path) -> dict[str, Any]:
    """``{"status": "done" | "diverged" | "started" | "new", ...}`` of one run folder."""
    marker = directory / "grid-status.json"
    if marker.is_file():
        return json.loads(marker.read_text())
    if (directory / checkpoint.WEIGHTS_FILE).is_file():
        return {"status": "done"}
    return {"status": "started" if checkpoints.available(directory) else "new"}


def train_one(task: str, variant: Variant, seed: int, epochs: int, progress: bool) -> dict[str, Any]:
    """Train (or continue) one run to its end; its status."""
    directory = run_dir(task, variant, seed)
    model_config, config = configs(task, variant, seed, epochs)
    if (directory / "train.json").is_file():  # a run keeps its own configs, finished or not: equal budgets
        saved = json.loads((directory / "train.json").read_text())
        # both through TrainConfig, so options added since the run started take their defaults on both sides
        if training_settings(json.loads(TrainConfig.from_dict(saved["train"]).to_json())) != \
                training_settings(json.loads(config.to_json())):
            raise SystemExit(f"{directory}: trained with other settings (epochs, seed or recipe differ); "
                             f"use its own settings or move the folder away")
    state = status(directory)
    if state["status"] in ("done", "diverged"):
        return state
    trainer = Trainer(model_config, config, directory, progress=progress)
    if checkpoints.available(directory):
        trainer.resume()
    try:
        summary = trainer.fit()
    except TrainingDiverged as exc:
        state = {"status": "diverged", "step": trainer.step, "message": str(exc).splitlines()[0]}
    else:
        state = {"status": "done", "steps": summary["steps"], "eval": summary["eval"]}
    state["train_minutes"] = round(trainer.train_seconds / 60, 1)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "grid-status.json").write_text(json.dumps(state, indent=1) + "\n")
    shutil.rmtree(directory / "checkpoints", ignore_errors=True)  # the finished model (or the verdict) is what is kept
    return state


def summarize(task: str, grid: list[Variant], seeds: list[int]) -> dict[str, Any]:
    """Write and return ``runs/grid/<task>/grid.json``."""
    runs = {}
    for variant in grid:
        for seed in seeds:
            state = status(run_dir(task, variant, seed))
            ev = state.get("eval", {})
            runs[f"{variant.label}/seed{seed}"] = {
                "name": variant.name, "lr": variant.lr, "seed": seed, "claims": variant.claims, "status": state["status"],
                **{k: state[k] for k in ("steps", "step", "train_minutes", "message") if k in state},
                **{f"{split}_at": ev[split]["at"] for split in ("val", "test") if split in ev}}
    out = {"task": task, "seeds": seeds, "runs": runs}
    (GRID / task).mkdir(parents=True, exist_ok=True)
    (GRID / task / "grid.json").write_text(json.dumps(out, indent=1) + "\n")
    return out


def table(summary: dict[str, Any]) -> str:
    """The grid as a markdown table: per run its status, budget and exact match (%) at each evaluated
    iteration count of its last evaluation, val / hard."""
    runs = summary["runs"].values()
    iters = sorted({int(i) for run in runs for i in run.get("val_at", {})})
    head = ["run", "seed", "status", "steps", "minutes", *(f"val / hard @{i}" for i in iters)]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for run in runs:
        steps = run.get("steps", run.get("step", "-"))
        minutes = f"{run['train_minutes']:.1f}" if "train_minutes" in run else "-"
        cells = [
            f"{100 * run['val_at'][str(i)]:.1f} / {100 * run['test_at'][str(i)]:.1f}"
            if str(i) in run.get("val_at", {}) and str(i) in run.get("test_at", {}) else "-" for i in iters]
        row = [f"`{run['name']}` lr {run['lr']:g}", str(run["seed"]), run["status"], str(steps), minutes, *cells]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def bundle(task: str, grid: list[Variant], recipe_lr: float) -> None:
    """Bundle each finished seed-0 run at the recipe's learning rate as its zoo name (the flagships keep
    theirs; the untied baseline stays in its run folder: 15 layers in fp32 outweigh the other bundles ten times)."""
    tz = _train_zoo()
    for variant in grid:
        directory = run_dir(task, variant, 0)
        if variant.lr != recipe_lr or variant.name in tz.FLAGSHIPS:
            continue
        if status(directory)["status"] != "done":
            print(f"{variant.label}: not finished; not bundled")
            continue
        if loopzoo.config_for(variant.name).depth > 1:
            print(f"{variant.label}: untied baseline, not bundled; loopzoo.load({str(directory)!r}) loads it")
            continue
        tz.bundle(variant.name, directory, tz.evaluate(variant.name, directory))


def parse_shard(text: str) -> tuple[int, int]:
    try:
        index, count = (int(part) for part in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected I/N such as 1/2, got {text!r}") from None
    if not 1 <= index <= count:
        raise argparse.ArgumentTypeError(f"shard {text!r}: need 1 <= I <= N")
    return index, count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("task", choices=TASKS)
    parser.add_argument("--epochs", type=int, help="epochs per run (default: %s)" % DEFAULT_EPOCHS)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--only", nargs="+", metavar="LABEL", help="train only these variants (labels as --list prints)")
    parser.add_argument("--shard", type=parse_shard, default=(1, 1), metavar="I/N", help="every N-th variant from the I-th")
    parser.add_argument("--threads", type=int, default=default_threads(), help="torch CPU threads (default: all cores)")
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--list", action="store_true", help="print the variants and their folders; train nothing")
    action.add_argument("--status", action="store_true", help="write grid.json and print it as a markdown table; train nothing")
    action.add_argument("--bundle", action="store_true", help="bundle finished seed-0 runs as the zoo's checkpoints")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    epochs = DEFAULT_EPOCHS[args.task] if args.epochs is None else args.epochs
    if epochs < 1:
        parser.error(f"--epochs must be positive, got {epochs}")
    recipe_lr = _train_zoo().TIMED_RECIPES[args.task]["train"]["lr"]
    grid = variants(args.task, recipe_lr)
    if args.only:
        unknown = sorted(set(args.only) - {v.label for v in grid})
        if unknown:
            parser.error(f"unknown variant(s) {', '.join(unknown)}; the grid: {', '.join(v.label for v in grid)}")
        grid = [v for v in grid if v.label in args.only]
    index, count = args.shard
    grid = grid[index - 1::count]
    if args.list:
        for variant in grid:
            folder = run_dir(args.task, variant, args.seeds[0]).parent
            print(f"{variant.label:45s} {variant.claims:22s} {folder.relative_to(ROOT) if folder.is_relative_to(ROOT) else folder}")
        return 0
    torch.set_num_threads(args.threads)  # bundling evaluates: it honours --threads like training
    if args.bundle:
        bundle(args.task, grid, recipe_lr)
        return 0
    if not args.status:
        for seed in args.seeds:
            for variant in grid:
                state = train_one(args.task, variant, seed, epochs, progress=not args.quiet)
                print(f"{variant.label} seed {seed}: {state['status']}", flush=True)
    print(table(summarize(args.task, variants(args.task, recipe_lr), args.seeds)))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except TrainingStopped as exc:  # Ctrl-C or SIGTERM: the run in progress is checkpointed, not marked done
        raise SystemExit(f"train_grid: {exc}") from None
