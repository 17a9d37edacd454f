#!/usr/bin/env python
"""Train, evaluate and bundle the zoo: ``loopzoo/zoo/<name>/`` = config.json + model.safetensors + README.md.

Each name trains with its CPU recipe into ``runs/<name>/`` (resumable: rerunning continues from the
newest checkpoint), is evaluated on the bundled data at every iteration up to
``max(500, recommended)``, and is bundled with a model card whose every number comes from that
evaluation.

Two ways to say how long to train:

* ``--minutes M`` (the flagships): train for a wall-clock budget. The learning rate is constant
  after warmup, and the final x0.1 decay starts explicitly, for the last ``--decay-fraction`` of
  the budget: a run whose length is not known up front cannot place a decay by epoch, and a
  constant rate leaves the run free to go on in a later call. The model is evaluated every
  ``--eval-minutes``; the best by val exact match is kept in ``runs/<name>/best`` and bundled
  where it beats the bundled checkpoint on val exact match at the recommended iterations (a
  bundle measured on an older val split, before the data were rewritten, is measured again).
  A run that has decayed stays decayed when continued, unless ``--new-cycle`` returns it to the
  full rate (a restart, as in cosine restarts), or ``--decay-again`` starts a further stage (x0.01
  after x0.1) for a run that went flat at its first decay.
* no ``--minutes``: the fixed-step CPU-scale recipe of the name, trained to its end once.
  ``--curve-every E`` reruns a bundled fixed-step checkpoint's own recipe (from its card) with an
  evaluation every E epochs at the card's recommended iterations, for its learning curve, and says
  whether the rerun trained the bundled weights again (in `runs/<name>.rerun/`, never bundled).

    python scripts/train_zoo.py sudoku-internal-recall-outernorm --minutes 120
    python scripts/train_zoo.py                      # every name below, in order (fixed-step recipes)
    python scripts/train_zoo.py --bundle-only        # re-evaluate and re-bundle finished runs
    python scripts/train_zoo.py chess-recall-outernorm --remeasure   # a card measured before the data were rewritten
    python scripts/train_zoo.py prefix-sums-internal-recall-outernorm --curve-every 3 --no-bundle

A wider try of a timed name (``--width 256``, heads of 32 channels unless ``--heads``) trains in its
own folder, ``runs/<name>.w256/``, continues there like any timed run, and replaces the bundled
checkpoint only if it beats it on val exact match at the recommended iterations:

    python scripts/train_zoo.py sudoku-internal-recall-outernorm --width 256 --minutes 60 --decay-fraction 0 --no-bundle
    python scripts/train_zoo.py sudoku-internal-recall-outernorm --width 256 --bundle-only
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import math
import platform
import shutil
import time
from collections import Counter
from pathlib import Path

import torch

import loopzoo
from loopzoo import card, checkpoint
from loopzoo.data import load_split
from loopzoo.evaluate import accuracy_curve, recall_spectral_radius
from loopzoo.hardware import default_threads
from loopzoo.hub import ZOO_DIR
from loopzoo.train import TrainConfig, checkpoints, metrics, paper_recipe
from loopzoo.train.trainer import Trainer, TrainingStopped

ROOT = Path(__file__).resolve().parents[1]
RUNS = ROOT / "runs"
FLAGSHIPS = ("prefix-sums-internal-recall-outernorm", "sudoku-internal-recall-outernorm", "chess-internal-recall-outernorm")
VARIANTS = ("internal-recall-outernorm", "recall-outernorm", "no-recall-outernorm", "internal-recall-prenorm")

# CPU-scale recipes: the paper's recipe (progressive loss, AdamW, clip 1.0, warmup, x0.1 decay)
# at a width and a number of steps that one CPU thread trains in minutes.
CPU_RECIPES = {
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
# Timed recipes (``--minutes``): everything but the length of the run. bf16 autocast where the CPU
# has it, every train item with random symmetries, evaluation on 500 val + 500 hard items.
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
# Tagged timed runs (``--tag TAG``, in ``runs/NAME.TAG``, never bundled): the task's timed recipe with
# these changes. ``public``: the sudoku flagship fine-tuned on the forum-hardest list's train split (val:
# its val split; the probe: its hard split; test: the generated hard split); ``public-k60``: the same
# with the progressive loss's gradient window up to 60 iterations instead of 30. Both lost everything
# within 600 steps (0% on both val splits; docs/sudoku-data.md): kept to reproduce that. ``mix``: the
# generated and forum-hardest train splits together (val: both, half each) at a third of the rate.
# ``lichess``: see below.
FINE_TUNE = dict(lr=3e-4, warmup_epochs=0.1, eval_iters=200, eval_samples=200, init_from="sudoku-internal-recall-outernorm",
                 task_options={"source": "forum-hardest"}, probe={"split": "test", "source": "forum-hardest"})
TAGS = {
    "public": dict(task="sudoku", train=FINE_TUNE),
    "public-k60": dict(task="sudoku", train={**FINE_TUNE, "max_iters": 60}),
    "mix": dict(task="sudoku", train={**FINE_TUNE, "lr": 1e-4, "task_options": {"source": "generated+forum-hardest"}}),
    # the chess flagship fine-tuned on real Lichess puzzles and Stockfish-labelled positions (val: the
    # Lichess val split; the probe: 500 of the Lichess test split; test: the generated hard split)
    "lichess": dict(task="chess", train=dict(
        lr=3e-4, warmup_epochs=0.1, eval_iters=100, eval_samples=500, init_from="chess-internal-recall-outernorm",
        task_options={"source": "lichess+stockfish"}, probe={"split": "test", "source": "lichess"})),
}
# Evaluation sizes for the cards (samples per split) and the longest iteration count.
EVAL = {"prefix-sums": dict(val=500, test=100, probe=50, probe_max=1000),
        "sudoku": dict(val=500, test=500), "chess": dict(val=500, test=500)}


def recipe_for(name: str) -> dict:
    task = loopzoo.config_for(name).task
    return CPU_RECIPES.get(name, CPU_RECIPES[task])


def timed_run_dir(name: str, width: int | None = None, tag: str | None = None) -> Path:
    """``runs/NAME`` for the timed recipe's width (or none given); ``runs/NAME.wWIDTH`` for another (a
    tagged run, as timm's ``name.tag``), so a wider try of a name never mixes with its flagship run;
    ``runs/NAME.TAG`` for a run of a recipe in :data:`TAGS`."""
    if tag is not None:
        return RUNS / f"{name}.{tag}"
    if width is None or width == TIMED_RECIPES[loopzoo.config_for(name).task]["model"]["width"]:
        return RUNS / name
    return RUNS / f"{name}.w{width}"


def heads_for(width: int, heads: int | None = None) -> int:
    """``heads``, or heads of 32 channels (the paper's 256 / 8) for ``width``."""
    return heads or max(1, width // 32)


def train_timed(name: str, minutes: float, decay_fraction: float, eval_minutes: float, new_cycle: bool,
                progress: bool, width: int | None = None, heads: int | None = None, decay_again: bool = False,
                tag: str | None = None) -> Path:
    """Train ``name`` for ``minutes`` (continuing its run if there is one); the directory to bundle.

    ``width`` (and ``heads``, default ``width // 32``: heads of 32 channels, as the paper's 256 / 8)
    trains the name at another width than the recipe's, in its own run directory. ``decay_again``
    multiplies the rate of a decayed run by its decay factor once more, from the first step of
    this call."""
    run_dir = timed_run_dir(name, width, tag)
    recipe = TIMED_RECIPES[loopzoo.config_for(name).task]
    if tag is not None:
        recipe = {"model": recipe["model"], "train": {**recipe["train"], **TAGS[tag]["train"]}}
    model_overrides = dict(recipe["model"])
    if width is not None:
        model_overrides.update(width=width, heads=heads_for(width, heads))
    if (run_dir / "train.json").is_file():  # continue with the run's own configs
        saved = json.loads((run_dir / "train.json").read_text())
        model_config, config = loopzoo.ModelConfig.from_dict(saved["model"]), TrainConfig.from_dict(saved["train"])
        if width is not None and (model_config.width, model_config.heads) != (width, model_overrides["heads"]):
            raise SystemExit(f"{run_dir} was started at width {model_config.width}, {model_config.heads} heads; "
                             f"continue it with --width {model_config.width} --heads {model_config.heads}")
    else:
        model_config = loopzoo.config_for(name, **model_overrides)
        config = paper_recipe(model_config.task, **{"eval_every": 10_000, "eval_samples": 500, "checkpoint_every": 200,
                                                    **recipe["train"]})
    trainer = Trainer(model_config, config, run_dir, progress=progress)
    if checkpoints.available(run_dir):
        trainer.resume()
        print(f"{name}: resuming at step {trainer.step} ({trainer.seconds_before / 60:.1f} min trained)")
    if new_cycle:
        trainer.decays = []
    if decay_again:
        if not trainer.decays:
            raise SystemExit(f"{run_dir} has not decayed yet: start its first decay with --decay-fraction")
        trainer.start_decay(again=True)
        print(f"{name}: decay stage {len(trainer.decays)} from step {trainer.step} "
              f"(x{trainer.config.decay_factor ** len(trainer.decays):g})")
    seconds = 60 * minutes
    decay_after = seconds * (1 - decay_fraction) if decay_fraction > 0 else None
    summary = trainer.fit_for(seconds, decay_after=decay_after, eval_every=60 * eval_minutes)
    ev = summary["eval"]
    print(f"{name}: {summary['steps']} steps ({summary['steps_this_run']} now, {summary['seconds']} s); "
          f"val {ev['val']['at']}, hard {ev['test']['at']}")
    return run_dir / "best"


def finished(name: str, width: int | None = None) -> Path | None:
    """The model to bundle of ``name``'s run: the best of a timed run, else a finished fixed-step run."""
    run_dir = timed_run_dir(name, width)
    for model_dir in (run_dir / "best", run_dir):
        if (model_dir / checkpoint.WEIGHTS_FILE).is_file():
            return model_dir
    return None


def curve_configs(name: str, every: int) -> tuple[loopzoo.ModelConfig, TrainConfig]:
    """The model and training configs recorded in ``name``'s bundled card, evaluating every ``every``
    epochs at the card's recommended iterations (on as many items per split as the card's hard split):
    a rerun of a fixed-step checkpoint that draws its learning curve. Training is seeded per step and
    evaluation draws no random numbers, so the rerun trains the same weights where the code and the
    kernels are the same; :func:`compare_weights` says whether they are."""
    config_file = ZOO_DIR / name / checkpoint.CONFIG_FILE
    if not config_file.is_file():
        raise SystemExit(f"{name} is not bundled: --curve-every reruns a bundled checkpoint's recipe")
    meta = json.loads(config_file.read_text())
    saved = TrainConfig.from_dict(meta["train"])
    if saved.decay_epoch is None:
        raise SystemExit(f"{name} was trained by a timed run (--minutes), whose metrics hold its curve already; "
                         f"plot it with scripts/plot_curves.py {name}")
    if every > saved.epochs:
        raise SystemExit(f"--curve-every {every} is more than the run's {saved.epochs} epochs")
    model_config = loopzoo.ModelConfig.from_dict(meta["model"])
    # the precision the run trained in: recorded since the trainer had --precision; before, it
    # autocast on CUDA only, so a checkpoint trained on a CPU then was trained in fp32
    precision = meta.get("precision") or ("fp32" if meta.get("hardware", "").startswith("CPU") else saved.precision)
    config = dataclasses.replace(saved, eval_every=every, eval_iters=model_config.iters, precision=precision,
                                 eval_samples=EVAL[model_config.task]["test"])
    return model_config, config


def compare_weights(name: str, run_dir: Path) -> float:
    """Largest absolute difference between the weights trained in ``run_dir`` and ``name``'s bundled ones."""
    from safetensors.torch import load_file

    ours, bundled = (load_file(d / checkpoint.WEIGHTS_FILE) for d in (run_dir, ZOO_DIR / name))
    if ours.keys() != bundled.keys() or any(ours[k].shape != bundled[k].shape for k in ours):
        return math.inf
    return max(float((ours[k].float() - bundled[k].float()).abs().max()) for k in ours)


def train(name: str, progress: bool, curve_every: int | None = None) -> Path:
    run_dir = RUNS / (f"{name}.rerun" if curve_every is not None else name)  # a rerun never passes for the run
    if (run_dir / checkpoint.WEIGHTS_FILE).is_file():
        print(f"{name}: trained already ({run_dir})")
        return run_dir
    if curve_every is None:
        recipe = recipe_for(name)
        model_config = loopzoo.config_for(name, **recipe["model"])
        config = paper_recipe(model_config.task, eval_every=10_000, eval_samples=100, eval_iters=30,
                              checkpoint_every=100, **recipe["train"])
    else:
        model_config, config = curve_configs(name, curve_every)
    trainer = Trainer(model_config, config, run_dir, progress=progress)
    if (run_dir / "checkpoints").is_dir() and any((run_dir / "checkpoints").iterdir()):
        trainer.resume()
        print(f"{name}: resuming at step {trainer.step}")
    summary = trainer.fit()
    if curve_every is not None:
        diff = compare_weights(name, run_dir)
        print(f"{name}: weights {'identical to' if diff == 0 else f'differ (max |diff| {diff:.3g}) from'} "
              f"the bundled checkpoint's")
    print(f"{name}: trained {summary['steps']} steps in {summary['seconds']} s")
    return run_dir


def prefix_sums_iters(model, sizes: dict) -> tuple[int, str, dict]:
    """Iterations for 512-bit inputs: the first iteration at which held-out 512-bit strings (seed 1,
    not the test split) reach their best accuracy, plus a 25% margin (answers settle about one
    position per iteration, and a small probe underestimates the slowest strings); the note that
    says so; and the probe's best accuracy and size."""
    probe = load_split("prefix-sums", "test", seed=1, n=sizes["probe"])
    curve = accuracy_curve(model, probe, sizes["probe_max"], progress=True)
    first = int(next(i for i, a in enumerate(curve.accuracy) if a >= curve.best)) + 1
    iters = int(math.ceil(1.25 * first / 10) * 10)
    return iters, (f"{curve.samples} held-out 512-bit strings (seed 1) first reach their best accuracy "
                   f"({curve.best:.1%}) at iteration {first}; plus a 25% margin"), \
        {"best": curve.best, "samples": curve.samples, "first_best_iter": first}


def evaluate(name: str, model_dir: Path) -> dict:
    cached = model_dir / "eval.json"
    if cached.is_file():
        return json.loads(cached.read_text())
    model = loopzoo.load(model_dir)
    task = model.config.task
    sizes = EVAL[task]
    t0 = time.perf_counter()
    curves, probe = {}, None
    if task == "prefix-sums":
        iters, note, probe = prefix_sums_iters(model, sizes)
    else:  # grids: the best iteration on the val split (exact match, then the share of positions right)
        val = curves["val"] = accuracy_curve(model, load_split(task, "val", n=sizes["val"]), 500, progress=True)
        iters = max(range(len(val.accuracy)), key=lambda t: (val.accuracy[t], val.partial[t])) + 1
        note = (f"best iteration on {val.samples} val puzzles by exact match, then by "
                f"{model.task.partial_name}, searched up to 500")
    horizon = max(500, iters)
    labels = {"prefix-sums": ("val (32 bits)", "hard (512 bits)"), "sudoku": ("val (easier 80%)", "hard (top 20% rating)"),
              "chess": ("val (easy)", "hard (harder rating)")}[task]
    result = {"iters": iters, "iters_note": note, "eval": {"rho_wx": recall_spectral_radius(model)}}
    if probe is not None:
        result["probe"] = probe
    for split, label in zip(("val", "test"), labels):
        data = load_split(task, split, n=sizes[split])
        curve = curves.get(split) or accuracy_curve(model, data, horizon, progress=True)
        summary = curve.summary(points=tuple(sorted({1, 10, 30, 100, 300, 500, iters})))
        result["eval"][split] = {**summary, "label": label, "data_sha256": data.data_hash,
                                 **checked_answers(model, data, iters)}
        print(f"{name}: {label}: {summary['at']} {result['eval'][split].get('verified', '')}")
    train_config = json.loads((model_dir / checkpoint.CONFIG_FILE).read_text())["train"]
    train_data = load_split(task, "train", n=train_config.get("train_size"), **train_config.get("task_options", {}))
    result["data"] = {"name": "generated" if task != "prefix-sums" else "random-bits",
                      "description": f"the first {len(train_data):,} items of the {task} train split (seed 0)",
                      "sha256": train_data.data_hash}
    result["eval_seconds"] = round(time.perf_counter() - t0, 1)
    cached.write_text(json.dumps(result, indent=1))
    return result


def checked_answers(model, data, iters: int) -> dict:
    """Shares of the answers at ``iters`` that pass, fail or cannot be checked by the task's verifier;
    for sudoku also the share that keeps every given."""
    if not model.task.can_verify():
        return {}
    solutions = model.solve(list(data.inputs), iters=iters, return_info=True)
    counts = Counter(sol.status for sol in solutions)
    out = {"verified": {status: round(counts[status] / len(solutions), 4) for status in ("valid", "invalid", "unknown")}}
    if model.config.task == "sudoku":
        kept = [all(q == "." or q == a for q, a in zip(question, str(sol.answer)))
                for question, sol in zip(data.inputs, solutions)]
        out["givens_kept"] = round(sum(kept) / len(kept), 4)
    return out


def wall_time(model_dir: Path, meta: dict) -> str:
    seconds = meta.get("train_seconds")
    if seconds is None:  # runs started before the trainer recorded it: file times of the run
        seconds = (model_dir / checkpoint.WEIGHTS_FILE).stat().st_mtime - (model_dir / "train.json").stat().st_mtime
        return f"{seconds / 60:.1f} min (from the run's file times, including its final evaluation)"
    return f"{seconds / 60:.1f} min"


def bundle(name: str, model_dir: Path, result: dict) -> Path:
    meta = json.loads((model_dir / checkpoint.CONFIG_FILE).read_text())
    precision = meta.get("precision", "fp32")
    threads = meta.get("threads", torch.get_num_threads())  # of the training process (runs before it was recorded: ours)
    tmp = ZOO_DIR / f".{name}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    shutil.copy2(model_dir / checkpoint.WEIGHTS_FILE, tmp / checkpoint.WEIGHTS_FILE)
    meta["model"]["iters"] = result["iters"]
    meta.update(eval=result["eval"], iters_note=result["iters_note"], data=result["data"],
                hardware=(f"CPU ({platform.processor() or platform.machine()}), {threads} thread(s), "
                          f"{precision}, torch {torch.__version__}"),
                wall_time=wall_time(model_dir, meta), steps=meta.get("steps") or _steps(model_dir),
                scale_note=(f"**Trained on a CPU.** {wall_time(model_dir, meta)} on {threads} CPU "
                            f"thread(s) in {precision} at width {meta['model']['width']} (the paper: width 256, 100 "
                            "epochs of 40,000 examples on a GPU); the accuracies below are what this budget reached."))
    meta.pop("final_eval", None)
    if "probe" in result:
        meta["probe"] = result["probe"]
    return install(name, tmp, meta)


def install(name: str, tmp: Path, meta: dict) -> Path:
    """Write ``meta`` and its card into ``tmp`` (which holds the weights), check that it loads, and
    make it the bundle of ``name``."""
    target = ZOO_DIR / name
    (tmp / checkpoint.CONFIG_FILE).write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
    card.write(tmp)
    loopzoo.load(tmp)  # strict check before replacing the bundle
    shutil.rmtree(target, ignore_errors=True)
    tmp.rename(target)
    print(f"{name}: bundled in {target}")
    return target


def remeasure(name: str) -> Path | None:
    """Measure ``name``'s bundled checkpoint again on the current bundled data and rewrite its card,
    when the card was measured on another val split (the data were rewritten since). The weights and
    the training record stay; where the training data are no longer the current split's, the card
    says so. None when there is nothing to do."""
    source = ZOO_DIR / name
    if not (source / checkpoint.CONFIG_FILE).is_file():
        print(f"{name}: not bundled; skipped")
        return None
    meta = json.loads((source / checkpoint.CONFIG_FILE).read_text())
    task = meta["model"]["task"]
    current = load_split(task, "val", n=EVAL[task]["val"]).data_hash
    if meta["eval"]["val"].get("data_sha256") == current:
        print(f"{name}: the card was measured on the current val split; skipped")
        return None
    tmp = ZOO_DIR / f".{name}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(source, tmp, ignore=shutil.ignore_patterns("eval.json"))
    try:
        result = evaluate(name, tmp)
    finally:
        (tmp / "eval.json").unlink(missing_ok=True)
    meta["model"]["iters"] = result["iters"]
    meta.update(eval=result["eval"], iters_note=result["iters_note"])
    if "probe" in result:
        meta["probe"] = result["probe"]
    if result["data"]["sha256"] != meta["data"]["sha256"]:
        described = meta["data"]["description"]
        if "before it was rewritten" not in described:
            meta["data"]["description"] = f"{described}, as bundled before it was rewritten"
    return install(name, tmp, meta)


def val_exact(result: dict) -> float:
    """Val exact match at the recommended iterations of ``evaluate``'s result."""
    return result["eval"]["val"]["at"][str(result["iters"])]


def bundled_val(name: str, val_sha256: str | None = None) -> float | None:
    """Val exact match of ``name``'s bundled checkpoint at its recommended iterations (None: none bundled).

    The card's number, unless the card was measured on another val split than the one with hash
    ``val_sha256`` (the bundled data were rewritten since): then the bundled model is measured
    again on the current val split, so that the comparison is on the same puzzles."""
    config = ZOO_DIR / name / checkpoint.CONFIG_FILE
    if not config.is_file():
        return None
    meta = json.loads(config.read_text())
    iters = meta["model"]["iters"]
    measured_on = meta["eval"]["val"].get("data_sha256")
    if val_sha256 is None or measured_on in (None, val_sha256):
        return val_exact({"eval": meta["eval"], "iters": iters})
    model = loopzoo.load(ZOO_DIR / name)
    task = model.config.task
    data = load_split(task, "val", n=EVAL[task]["val"])
    print(f"{name}: the bundled card was measured on another val split; measuring it on the current one")
    return float(accuracy_curve(model, data, iters).at(iters))


def score(result: dict) -> tuple[float, float, int]:
    """How a model compares with another of its name (``evaluate``'s result or a bundled card): val
    exact match at the recommended iterations; on a tie, the held-out probe's best accuracy (prefix
    sums: 512-bit strings, where 32-bit val saturates); then fewer recommended iterations (the same
    answers for less compute)."""
    return val_exact(result), float(result.get("probe", {}).get("best", 0.0)), -int(result["iters"])


def bundled_score(name: str, val_sha256: str | None = None) -> tuple[float, float, int] | None:
    """:func:`score` of ``name``'s bundled checkpoint (None: none bundled), its val exact match as
    :func:`bundled_val` gives it; a prefix-sums card from before probes were recorded has its probe
    measured."""
    val = bundled_val(name, val_sha256)
    if val is None:
        return None
    meta = json.loads((ZOO_DIR / name / checkpoint.CONFIG_FILE).read_text())
    probe = meta.get("probe")
    if probe is None and meta["model"]["task"] == "prefix-sums":
        print(f"{name}: the bundled card records no probe accuracy; measuring it")
        probe = prefix_sums_iters(loopzoo.load(ZOO_DIR / name), EVAL["prefix-sums"])[2]
    iters = meta["model"]["iters"]
    return score({"eval": {"val": {"at": {str(iters): val}}}, "iters": iters, "probe": probe or {}})


def replaces_bundle(result: dict, current: tuple[float, float, int] | None) -> bool:
    """Whether an evaluated model (``evaluate``'s result) beats the bundled one's :func:`score` ``current``."""
    return current is None or score(result) > current


def _steps(model_dir: Path) -> int:
    return max((record.get("step", 0) for record in metrics.read(model_dir)), default=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", help="names to train (default: the zoo list)")
    parser.add_argument("--threads", type=int, default=default_threads(), help="torch CPU threads (default: all cores)")
    parser.add_argument("--minutes", type=float, help="train for this wall-clock budget (timed recipe, see above)")
    parser.add_argument("--decay-fraction", type=float, default=0.2,
                        help="with --minutes: the last share of the budget at x0.1 learning rate "
                             "(0: no decay now; 1: decay from the first step, e.g. to finish a constant-rate run)")
    parser.add_argument("--eval-minutes", type=float, default=10.0, help="with --minutes: minutes between evaluations")
    parser.add_argument("--new-cycle", action="store_true", help="with --minutes: undo an earlier decay")
    parser.add_argument("--decay-again", action="store_true",
                        help="with --minutes, on a decayed run: one more x0.1 stage from now on (x0.01 after x0.1)")
    parser.add_argument("--width", type=int,
                        help="with --minutes or --bundle-only: train this width instead of the recipe's, in runs/NAME.wWIDTH; "
                             "its model is bundled only where it beats the bundled one on val")
    parser.add_argument("--heads", type=int, help="with --width: attention heads (default: width // 32)")
    parser.add_argument("--tag", choices=sorted(TAGS),
                        help="with --minutes --no-bundle: a tagged recipe (see TAGS), trained in runs/NAME.TAG")
    parser.add_argument("--no-bundle", action="store_true",
                        help="with --minutes: train only; evaluate and bundle later with --bundle-only")
    parser.add_argument("--bundle-only", action="store_true",
                        help="no training: evaluate and bundle the best model of timed runs and finished fixed-step runs")
    parser.add_argument("--remeasure", action="store_true",
                        help="no training: measure bundled checkpoints whose cards predate the current bundled "
                             "data again, and rewrite their cards (weights and training record kept)")
    parser.add_argument("--curve-every", type=int, metavar="EPOCHS",
                        help="no --minutes: rerun a bundled fixed-step checkpoint's recipe (from its card) into "
                             "runs/NAME.rerun (never bundled), evaluating every EPOCHS epochs at the card's recommended iterations, for "
                             "its learning curve (scripts/plot_curves.py NAME.rerun); says whether the weights match")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args()
    if args.minutes is not None and not args.minutes > 0:
        parser.error(f"--minutes must be positive, got {args.minutes}")
    if not 0 <= args.decay_fraction <= 1:
        parser.error(f"--decay-fraction must be in [0, 1], got {args.decay_fraction}")
    if not args.eval_minutes > 0:
        parser.error(f"--eval-minutes must be positive, got {args.eval_minutes}")
    if args.width is not None and (args.minutes is None and not args.bundle_only):
        parser.error("--width needs --minutes or --bundle-only (a timed run)")
    if args.width is not None and args.width < 1 or args.heads is not None and args.heads < 1:
        parser.error("--width and --heads must be positive")
    if args.heads is not None and args.width is None:
        parser.error("--heads needs --width")
    if args.width is not None and args.width % heads_for(args.width, args.heads):
        parser.error(f"--width {args.width} is not divisible by {heads_for(args.width, args.heads)} heads")
    if args.tag is not None and (args.minutes is None or not args.no_bundle or args.width is not None):
        parser.error("--tag needs --minutes and --no-bundle, and cannot go with --width")
    if args.decay_again and (args.minutes is None or args.new_cycle):
        parser.error("--decay-again needs --minutes and cannot go with --new-cycle")
    if args.no_bundle and args.minutes is None and args.curve_every is None:
        parser.error("--no-bundle needs --minutes or --curve-every")
    if args.curve_every is not None and (args.minutes is not None or args.bundle_only or args.remeasure):
        parser.error("--curve-every reruns a fixed-step recipe: it cannot go with --minutes, --bundle-only or --remeasure")
    if args.curve_every is not None and args.curve_every < 1:
        parser.error(f"--curve-every must be a positive number of epochs, got {args.curve_every}")
    if args.remeasure and (args.minutes is not None or args.bundle_only or args.width is not None):
        parser.error("--remeasure trains nothing: it cannot go with --minutes, --bundle-only or --width")
    torch.set_num_threads(args.threads)
    names = args.names or [f"{task}-{v}" for task in ("prefix-sums", "sudoku", "chess") for v in VARIANTS]
    for name in names:
        if args.tag is not None and loopzoo.config_for(name).task != TAGS[args.tag]["task"]:
            parser.error(f"--tag {args.tag} is a {TAGS[args.tag]['task']} recipe, not one for {name}")
        loopzoo.config_for(name)  # unknown names fail before any work
        if args.remeasure:
            remeasure(name)
            continue
        if args.bundle_only:
            model_dir = finished(name, args.width)
            if model_dir is None:
                print(f"{name}: not trained; skipped")
                continue
        elif args.minutes is not None:
            model_dir = train_timed(name, args.minutes, args.decay_fraction, args.eval_minutes, args.new_cycle,
                                    progress=not args.quiet, width=args.width, heads=args.heads,
                                    decay_again=args.decay_again, tag=args.tag)
            if args.no_bundle:
                continue
        else:
            model_dir = train(name, progress=not args.quiet, curve_every=args.curve_every)
            if args.no_bundle or args.curve_every is not None:  # a rerun draws a curve; it replaces no bundle
                continue
        result = evaluate(name, model_dir)
        if model_dir.name == "best":  # a timed run's best (flagship or tagged) replaces only a worse bundle
            current = bundled_score(name, result["eval"]["val"].get("data_sha256"))
            if not replaces_bundle(result, current):
                print(f"{name}: {model_dir} does not beat the bundled checkpoint (val exact, probe, -iterations: "
                      f"{score(result)} against {current}); bundle kept")
                continue
        bundle(name, model_dir, result)


if __name__ == "__main__":
    try:
        main()
    except TrainingStopped as exc:  # Ctrl-C or SIGTERM: the step in progress is checkpointed
        raise SystemExit(f"train_zoo: {exc}") from None
