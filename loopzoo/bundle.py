"""Bundling: a trained model becomes ``loopzoo/zoo/NAME/`` (config.json + model.safetensors + README.md).

A run's model is evaluated on the bundled data at every iteration up to ``max(500, recommended)``
(:func:`evaluate`, cached in the model's ``eval.json``), scored against the bundled checkpoint of its
name (:func:`score`: val exact match at the recommended iterations, then the held-out probe, then
fewer iterations), and bundled with a card whose every number comes from that evaluation
(:func:`bundle`). :func:`remeasure` measures a bundled checkpoint again where its card was measured
on data that were rewritten since, and rewrites the card. :func:`measure_benchmarks` adds a bundled
checkpoint's scores on its task's public benchmarks (:mod:`loopzoo.benchmarks`) to its card.
"""
from __future__ import annotations

import json
import math
import platform
import shutil
import time
from collections import Counter
from pathlib import Path

from . import card, checkpoint, hub
from .data import load_split

# Evaluation sizes for the cards (items per split) and, for prefix sums, the probe and its longest run.
EVAL_SIZES = {"prefix-sums": dict(val=500, test=100, probe=50, probe_max=1000),
              "sudoku": dict(val=500, test=500), "chess": dict(val=500, test=500)}
SPLIT_LABELS = {"prefix-sums": ("val (32 bits)", "hard (512 bits)"),
                "sudoku": ("val (easier 80%)", "hard (top 20% rating)"),
                "chess": ("val (easy)", "hard (harder rating)")}


def zoo_dir() -> Path:
    """The bundled checkpoints' folder (read at call time, so that tests can move it)."""
    return hub.ZOO_DIR


def prefix_sums_iters(model, sizes: dict) -> tuple[int, str, dict]:
    """Iterations for 512-bit inputs: the first iteration at which held-out 512-bit strings (seed 1,
    not the test split) reach their best accuracy, plus a 25% margin (answers settle about one
    position per iteration, and a small probe underestimates the slowest strings); the note that
    says so; and the probe's best accuracy and size."""
    from .evaluate import accuracy_curve

    probe = load_split("prefix-sums", "test", seed=1, n=sizes["probe"])
    curve = accuracy_curve(model, probe, sizes["probe_max"], progress=True)
    first = int(next(i for i, a in enumerate(curve.accuracy) if a >= curve.best)) + 1
    iters = int(math.ceil(1.25 * first / 10) * 10)
    return iters, (f"{curve.samples} held-out 512-bit strings (seed 1) first reach their best accuracy "
                   f"({curve.best:.1%}) at iteration {first}; plus a 25% margin"), \
        {"best": curve.best, "samples": curve.samples, "first_best_iter": first}


def evaluate(name: str, model_dir: Path) -> dict:
    """The card's numbers for the model in ``model_dir`` (cached in its eval.json): the recommended
    iterations and why, val and hard accuracy curves summed up, rho(Wx), the training data."""
    import loopzoo
    from .evaluate import accuracy_curve, recall_spectral_radius

    cached = model_dir / "eval.json"
    if cached.is_file():
        return json.loads(cached.read_text())
    model = loopzoo.load(model_dir)
    task = model.config.task
    sizes = EVAL_SIZES[task]
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
    result = {"iters": iters, "iters_note": note, "eval": {"rho_wx": recall_spectral_radius(model)}}
    if probe is not None:
        result["probe"] = probe
    for split, label in zip(("val", "test"), SPLIT_LABELS[task]):
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
    return answer_checks(model, data.inputs, model.solve(list(data.inputs), iters=iters, return_info=True))


def answer_checks(model, inputs, solutions) -> dict:
    """Of ``solutions`` (one :class:`~loopzoo.Solution` per input): the shares the verifier passes, fails
    or cannot check; for sudoku also the share of answers that keep every given of their input."""
    counts = Counter(sol.status for sol in solutions)
    out = {"verified": {status: round(counts[status] / len(solutions), 4) for status in ("valid", "invalid", "unknown")}}
    if model.config.task == "sudoku":
        kept = [all(q == "." or q == a for q, a in zip(question, str(sol.answer)))
                for question, sol in zip(inputs, solutions)]
        out["givens_kept"] = round(sum(kept) / len(kept), 4)
    return out


def wall_time(model_dir: Path, meta: dict) -> str:
    seconds = meta.get("train_seconds")
    if seconds is None:  # runs started before the trainer recorded it: file times of the run
        seconds = (model_dir / checkpoint.WEIGHTS_FILE).stat().st_mtime - (model_dir / "train.json").stat().st_mtime
        return f"{seconds / 60:.1f} min (from the run's file times, including its final evaluation)"
    return f"{seconds / 60:.1f} min"


def _steps(model_dir: Path) -> int:
    from .train import metrics

    return max((record.get("step", 0) for record in metrics.read(model_dir)), default=0)


def bundle(name: str, model_dir: Path, result: dict) -> Path:
    """Bundle the model in ``model_dir`` as ``name`` with :func:`evaluate`'s ``result`` in its card."""
    import torch

    meta = json.loads((model_dir / checkpoint.CONFIG_FILE).read_text())
    precision = meta.get("precision", "fp32")
    threads = meta.get("threads", torch.get_num_threads())  # of the training process (runs before it was recorded: ours)
    tmp = zoo_dir() / f".{name}.tmp"
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
    import loopzoo

    target = zoo_dir() / name
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
    source = zoo_dir() / name
    if not (source / checkpoint.CONFIG_FILE).is_file():
        print(f"{name}: not bundled; skipped")
        return None
    meta = json.loads((source / checkpoint.CONFIG_FILE).read_text())
    task = meta["model"]["task"]
    current = load_split(task, "val", n=EVAL_SIZES[task]["val"]).data_hash
    if meta["eval"]["val"].get("data_sha256") == current:
        print(f"{name}: the card was measured on the current val split; skipped")
        return None
    tmp = zoo_dir() / f".{name}.tmp"
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


def measure_benchmarks(name: str, names: list[str] | None = None, breadth: int = 1, noise: float = 1.0) -> Path | None:
    """Measure ``name``'s bundled checkpoint on its task's public benchmarks (``names``: only those) at
    its card's recommended iterations, keep the records in its config.json under ``"benchmarks"`` and
    rewrite its card; the bundle's directory, or None where ``name`` is not bundled. ``breadth=K > 1``
    measures ``K`` trajectories per item with ``noise`` (:func:`loopzoo.benchmarks.run`), kept beside
    the fixed-depth records (key ``NAME@breadthK``). Nothing else is measured again; weights, the
    card's other numbers and the other records stay. A re-bundled model (new weights) starts without
    records. A task without benchmarks, data not bundled or a bad ``breadth``/``noise`` raise a
    :class:`~loopzoo.errors.LoopzooError` before anything is written."""
    import loopzoo

    from . import benchmarks

    benchmarks.check_search(breadth, noise, 0)
    source = zoo_dir() / name
    if not (source / checkpoint.CONFIG_FILE).is_file():
        print(f"{name}: not bundled; skipped")
        return None
    meta = json.loads((source / checkpoint.CONFIG_FILE).read_text())
    model = loopzoo.load(source)
    records = benchmarks.measure(model, meta["model"]["iters"], names, breadth, noise)  # before anything is touched
    for key, record in records.items():
        print(f"{name}: {key}: {record['overall']['accuracy']:.1%} of {record['samples']} at {record['iters']} "
              f"iterations, breadth {record['breadth']}, {record['evaluations']} block evaluations per item "
              f"({record['seconds']} s)")
    tmp = zoo_dir() / f".{name}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(source, tmp, ignore=shutil.ignore_patterns("eval.json"))
    meta["benchmarks"] = {**meta.get("benchmarks", {}), **records}
    return install(name, tmp, meta)


# --- scoring: does a model replace the bundled one? ------------------------------------------
def val_exact(result: dict) -> float:
    """Val exact match at the recommended iterations of :func:`evaluate`'s result."""
    return result["eval"]["val"]["at"][str(result["iters"])]


def bundled_val(name: str, val_sha256: str | None = None) -> float | None:
    """Val exact match of ``name``'s bundled checkpoint at its recommended iterations (None: none bundled).

    The card's number, unless the card was measured on another val split than the one with hash
    ``val_sha256`` (the bundled data were rewritten since): then the bundled model is measured
    again on the current val split, so that the comparison is on the same puzzles."""
    import loopzoo
    from .evaluate import accuracy_curve

    config = zoo_dir() / name / checkpoint.CONFIG_FILE
    if not config.is_file():
        return None
    meta = json.loads(config.read_text())
    iters = meta["model"]["iters"]
    measured_on = meta["eval"]["val"].get("data_sha256")
    if val_sha256 is None or measured_on in (None, val_sha256):
        return val_exact({"eval": meta["eval"], "iters": iters})
    model = loopzoo.load(zoo_dir() / name)
    task = model.config.task
    data = load_split(task, "val", n=EVAL_SIZES[task]["val"])
    print(f"{name}: the bundled card was measured on another val split; measuring it on the current one")
    return float(accuracy_curve(model, data, iters).at(iters))


def score(result: dict) -> tuple[float, float, int]:
    """How a model compares with another of its name (:func:`evaluate`'s result or a bundled card): val
    exact match at the recommended iterations; on a tie, the held-out probe's best accuracy (prefix
    sums: 512-bit strings, where 32-bit val saturates); then fewer recommended iterations (the same
    answers for less compute)."""
    return val_exact(result), float(result.get("probe", {}).get("best", 0.0)), -int(result["iters"])


def bundled_score(name: str, val_sha256: str | None = None) -> tuple[float, float, int] | None:
    """:func:`score` of ``name``'s bundled checkpoint (None: none bundled), its val exact match as
    :func:`bundled_val` gives it; a prefix-sums card from before probes were recorded has its probe
    measured."""
    import loopzoo

    val = bundled_val(name, val_sha256)
    if val is None:
        return None
    meta = json.loads((zoo_dir() / name / checkpoint.CONFIG_FILE).read_text())
    probe = meta.get("probe")
    if probe is None and meta["model"]["task"] == "prefix-sums":
        print(f"{name}: the bundled card records no probe accuracy; measuring it")
        probe = prefix_sums_iters(loopzoo.load(zoo_dir() / name), EVAL_SIZES["prefix-sums"])[2]
    iters = meta["model"]["iters"]
    return score({"eval": {"val": {"at": {str(iters): val}}}, "iters": iters, "probe": probe or {}})


def replaces_bundle(result: dict, current: tuple[float, float, int] | None) -> bool:
    """Whether an evaluated model (:func:`evaluate`'s result) beats the bundled one's :func:`score` ``current``."""
    return current is None or score(result) > current


def evaluate_and_bundle(name: str, model_dir: Path) -> Path | None:
    """Evaluate the model in ``model_dir`` and bundle it as ``name``; a timed run's best (``.../best``)
    replaces only a bundle it beats. The bundle's directory, or None where the bundle was kept."""
    result = evaluate(name, model_dir)
    if model_dir.name == "best":
        current = bundled_score(name, result["eval"]["val"].get("data_sha256"))
        if not replaces_bundle(result, current):
            print(f"{name}: {model_dir} does not beat the bundled checkpoint (val exact, probe, -iterations: "
                  f"{score(result)} against {current}); bundle kept")
            return None
    return bundle(name, model_dir, result)
