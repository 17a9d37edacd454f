"""A GPU campaign: the sudoku and chess flagships at the paper's width on the public data, in one process.

Ten minutes of one GPU train more than many CPU-hours here (docs/gpu.md). A campaign is a list of
:class:`Job` s run one after another on the device at hand (CUDA where there is one, else the CPU):

* each trains a flagship name with its **timed recipe** (:func:`loopzoo.train.zoo.timed_configs`) at
  the paper's width (256, heads of 32 channels) on a public training source (:data:`PUBLIC`), under
  bf16 autocast with the fast step (its block compiled on CUDA), at a batch sized for the device, for
  a budget of minutes, in its own run folder ``OUT/NAME.TAG/``;
* it checkpoints every minute (:meth:`Trainer.fit_for`'s ``checkpoint_seconds``) and evaluates every
  few minutes, keeping its best model in ``OUT/NAME.TAG/best`` (val exact match of its training
  source, then the public hard split); the budget is the job's total training time, so running the
  same campaign again continues a job that was stopped and leaves a finished one as it is (a larger
  budget trains it further);
* at the end the best model is evaluated (:func:`evaluate`) on the zoo's val split (as every card)
  and the task's public hard split, and so are the bundled checkpoints of its name (the flagship,
  and an earlier ``NAME.TAG`` bundle), on the same items; ``OUT/summary.json`` records each job's
  steps, examples per second, minutes, device and those evaluations; with ``bundle`` a job's model
  becomes ``loopzoo/zoo/NAME.TAG/`` where it beats every one of them (:func:`beats`, by
  :func:`loopzoo.bundle.score`: val exact match at the recommended iterations, then the public hard
  split at them, then fewer iterations); with ``export`` the summary and each job's model (the
  bundle where there is one) are copied into a folder, e.g. a device machine's ``$OUT``.

``scripts/gpu_campaign.py`` is its command line; ``tiny`` runs the same campaign at a size a CPU test
trains in seconds.
"""
from __future__ import annotations

import dataclasses
import json
import math
import platform
import shutil
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import bundle, checkpoint, hub, runs
from ..errors import ConfigError, InputError
from . import checkpoints, zoo

__all__ = ["DEFAULT_MINUTES", "DEFAULT_TAG", "PAPER_WIDTH", "PUBLIC", "Job", "Settings", "beats", "default_jobs",
           "evaluate", "job_configs", "run_campaign", "run_job"]

PAPER_WIDTH = 256
DEFAULT_TAG = "gpu"
# per job: both flagships, loading, compiling and the final evaluations within one device command of
# at most ten minutes (docs/gpu.md)
DEFAULT_MINUTES = 3.0
# The public data of each task: the training source (``load_split``'s ``source``; val comes from the
# same source during training) and the public hard split the campaign reports, with its card label.
PUBLIC = {
    "sudoku": dict(source="generated+forum-hardest", hard=dict(split="test", source="forum-hardest"),
                   hard_label="hard (forum-hardest test split)"),
    "chess": dict(source="lichess+stockfish", hard=dict(split="test", source="lichess"),
                  hard_label="hard (Lichess test split, rated 1601-2000)"),
}
# Sizes of a real campaign, and of a tiny one (tests, a first try on a CPU): the model, the batch,
# the training split, the progressive loss's window, the final evaluation.
FULL = dict(val_samples=500, hard_samples=500, eval_iters=500, train_size=None, max_iters=None)
TINY = dict(width=16, heads=2, batch=16, val_samples=16, hard_samples=16, eval_iters=8, train_size=128, max_iters=4)
BATCH = {"cuda": 512, "cpu": 64}  # default batch per device type
TRAIN_EVAL_SAMPLES = 500  # at most this many items per split in the evaluations during training
NO_STEP_CHECKPOINTS = 10**9  # a campaign checkpoints by wall time, not every N steps
SUMMARY = "summary.json"
EVALUATION = "evaluation.json"  # in a run folder: the final evaluation of its best model
REFERENCES = "references.json"  # in OUT: the bundled checkpoints' evaluations, cached by what they were measured on


@dataclass(frozen=True)
class Job:
    """One training of a campaign: ``name`` for ``minutes`` at ``width`` on ``source`` (default: the
    task's :data:`PUBLIC` source), in ``OUT/NAME.TAG``."""

    name: str
    minutes: float = DEFAULT_MINUTES
    width: int = PAPER_WIDTH
    heads: int | None = None  # None: heads of 32 channels (the paper's 256 / 8)
    source: str | None = None
    tag: str = DEFAULT_TAG

    @property
    def task(self) -> str:
        from .. import config_for

        return config_for(self.name).task

    @property
    def train_source(self) -> str:
        return self.source or PUBLIC[self.task]["source"]

    @property
    def ref(self) -> str:
        """``NAME.TAG``: its run folder's name and, where bundled, its bundle's."""
        return runs.join_tag(self.name, self.tag)

    def check(self) -> None:
        """:class:`InputError` where the job cannot run."""
        from ..registry import models

        if self.name not in models.names():
            raise InputError(f"unknown model name {self.name!r}")
        if self.task not in PUBLIC:
            raise InputError(f"{self.name}: a campaign trains {' and '.join(PUBLIC)} names (its public data), "
                             f"not {self.task}")
        if isinstance(self.minutes, bool) or not (isinstance(self.minutes, (int, float)) and 0 < self.minutes < math.inf):
            raise InputError(f"{self.ref}: minutes must be a positive number, got {self.minutes!r}")
        if isinstance(self.width, bool) or not isinstance(self.width, int) or self.width < 1:
            raise InputError(f"{self.ref}: width must be a positive integer, got {self.width!r}")
        heads = zoo.heads_for(self.width, self.heads)
        if heads < 1 or self.width % heads:
            raise InputError(f"{self.ref}: width {self.width!r} must be a positive multiple of its {heads} heads")
        if not self.tag or "." in self.tag or "/" in self.tag:
            raise InputError(f"tag {self.tag!r}: give a short tag without dots or slashes, e.g. {DEFAULT_TAG!r}")


def default_jobs(tasks: tuple[str, ...] = ("sudoku", "chess"), minutes: float | dict[str, float] = DEFAULT_MINUTES,
                 width: int = PAPER_WIDTH, heads: int | None = None, tag: str = DEFAULT_TAG) -> list[Job]:
    """The flagship of each of ``tasks`` at ``width`` on its public data; ``minutes`` for each, or per task."""
    from .. import config_for
    from ..names import FLAGSHIPS

    unknown = [t for t in tasks if t not in PUBLIC]
    if unknown or not tasks:
        raise InputError(f"campaign tasks must be among {', '.join(PUBLIC)}, got {', '.join(unknown) or 'none'}")
    per_task = minutes if isinstance(minutes, dict) else {task: minutes for task in tasks}
    extra = sorted(set(per_task) - set(tasks))
    if extra:
        raise InputError(f"minutes given for {', '.join(extra)}, which this campaign does not train ({', '.join(tasks)})")
    flagship = {config_for(name).task: name for name in FLAGSHIPS}
    return [Job(flagship[task], per_task.get(task, DEFAULT_MINUTES), width, heads, tag=tag) for task in tasks]


@dataclass
class Settings:
    """How a campaign runs: where, on what, at which sizes. Sizes left None take :data:`FULL`'s (or
    :data:`TINY`'s with ``tiny``); ``batch`` None takes :data:`BATCH` of the device."""

    out: Path
    device: str = "auto"  # "auto" (CUDA where there is one), "cuda", "cuda:N" or "cpu"
    batch: int | None = None
    precision: str = "bf16"
    compile: bool | None = None  # None: compile the block on CUDA
    checkpoint_minutes: float = 1.0
    eval_minutes: float = 2.0  # evaluations during training (each keeps the best model so far)
    decay_fraction: float = 0.2  # the last share of each job's budget at x0.1 learning rate
    lr: float | None = None  # None: the timed recipe's
    val_samples: int | None = None
    hard_samples: int | None = None
    eval_iters: int | None = None  # the final evaluation's horizon (iterations)
    train_size: int | None = None  # None: the whole train split of the source
    max_iters: int | None = None  # the progressive loss's window; None: the recipe's
    verify: bool = True  # the final evaluation checks answers with the task's verifier (the card shows it)
    tiny: bool = False
    bundle: bool = False
    export: Path | None = None
    progress: bool | None = None
    torch_device: Any = field(init=False, repr=False, default=None)

    def __post_init__(self) -> None:
        self.out = Path(self.out)
        if self.out.exists() and not self.out.is_dir():
            raise InputError(f"--out {self.out} is a file; give a folder (it is made where missing)")
        if self.export is not None:
            self.export = Path(self.export)
            if self.export.exists() and not self.export.is_dir():
                raise InputError(f"--export {self.export} is a file; give a folder")
        self.torch_device = resolve_device(self.device)
        preset = TINY if self.tiny else FULL
        for key in ("val_samples", "hard_samples", "eval_iters", "train_size", "max_iters"):
            if getattr(self, key) is None:
                setattr(self, key, preset[key])
        if self.batch is None:
            self.batch = TINY["batch"] if self.tiny else BATCH.get(self.torch_device.type, BATCH["cpu"])
        for key in ("batch", "val_samples", "hard_samples", "eval_iters", "train_size", "max_iters"):
            value = getattr(self, key)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise InputError(f"{key.replace('_', '-')} must be a positive integer, got {value!r}")
        for key in ("checkpoint_minutes", "eval_minutes"):
            value = getattr(self, key)
            if isinstance(value, bool) or not (isinstance(value, (int, float)) and 0 < value < math.inf):
                raise InputError(f"{key.replace('_', '-')} must be a positive number of minutes, got {value!r}")
        if not (isinstance(self.decay_fraction, (int, float)) and 0 <= self.decay_fraction <= 1):
            raise InputError(f"decay-fraction must be in [0, 1], got {self.decay_fraction!r}")
        if self.lr is not None and not (isinstance(self.lr, (int, float)) and 0 < self.lr < math.inf):
            raise InputError(f"lr must be a positive number, got {self.lr!r}")
        if self.precision not in ("bf16", "fp32", "auto"):
            raise InputError(f"precision must be bf16, fp32 or auto, got {self.precision!r}")
        if self.compile is None:
            self.compile = self.torch_device.type == "cuda"
        if self.tiny and self.bundle and bundle.zoo_dir().resolve() == PACKAGE_ZOO.resolve():
            raise InputError("a tiny campaign never bundles into loopzoo/zoo: drop --bundle (or --tiny)")

    @property
    def device_name(self) -> str:
        """The device in words, for summaries and cards."""
        import torch

        if self.torch_device.type == "cuda":
            return torch.cuda.get_device_name(self.torch_device)
        return f"CPU ({platform.processor() or platform.machine()}), {torch.get_num_threads()} thread(s)"


PACKAGE_ZOO = Path(hub.__file__).resolve().parent / "zoo"


def resolve_device(device: str):
    """``device`` as a ``torch.device``: "auto" is CUDA where there is one, else the CPU."""
    import torch

    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError):
        raise InputError(f"device {str(device)[:40]!r} is not one of auto, cuda, cuda:N, cpu") from None
    if resolved.type not in ("cpu", "cuda"):
        raise InputError(f"device {device!r}: a campaign runs on cuda or cpu")
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise InputError(f"device {device!r}: there is no CUDA device here (torch.cuda.is_available() is False); "
                         "use --device auto or cpu")
    return resolved


# --- configs --------------------------------------------------------------------------------
def job_configs(job: Job, settings: Settings):
    """The model and training configs a new run of ``job`` starts with: the name's timed recipe at the
    job's width (:data:`TINY`'s with ``tiny``), on its source, at the campaign's batch and precision,
    checkpointing by wall time."""
    width, heads = (TINY["width"], TINY["heads"]) if settings.tiny else (job.width, zoo.heads_for(job.width, job.heads))
    model_config, config = zoo.timed_configs(job.name, width=width, heads=heads)
    changes: dict[str, Any] = dict(
        batch_size=settings.batch, precision=settings.precision, task_options={"source": job.train_source},
        probe=dict(PUBLIC[job.task]["hard"]), eval_samples=min(TRAIN_EVAL_SAMPLES, settings.val_samples),
        eval_iters=min(config.eval_iters, settings.eval_iters), train_size=settings.train_size,
        checkpoint_every=NO_STEP_CHECKPOINTS)
    if settings.lr is not None:
        changes["lr"] = settings.lr
    if settings.max_iters is not None:
        changes["max_iters"] = settings.max_iters
    return model_config, dataclasses.replace(config, **changes)


# What must match between a run folder and the campaign that continues it.
SAME_TRAIN = ("batch_size", "lr", "precision", "task_options", "train_size", "max_iters", "probe", "augment", "seed")


def check_continues(run: runs.RunDir, model_config, config) -> None:
    """:class:`ConfigError` where ``run`` was started with other settings than the campaign's."""
    saved_model, saved_train = run.configs()
    ours, theirs = model_config.to_dict(), saved_model.to_dict()
    diffs = [f"{k} {theirs.get(k)!r} (now {ours.get(k)!r})" for k in sorted(set(ours) | set(theirs)) if ours.get(k) != theirs.get(k)]
    diffs += [f"{k} {getattr(saved_train, k)!r} (now {getattr(config, k)!r})" for k in SAME_TRAIN
              if getattr(saved_train, k) != getattr(config, k)]
    if diffs:
        raise ConfigError(f"{run.path} was started with {'; '.join(diffs)}. Continue it with the options it was "
                          f"started with, or train into another --out")


def trained_seconds(run: runs.RunDir) -> float:
    """Training wall time of ``run`` at its newest checkpoint (0 before any)."""
    found = checkpoints.available(run.path)
    if not found:
        return 0.0
    try:
        return float(json.loads((found[0] / "trainer.json").read_text()).get("train_seconds", 0.0))
    except (OSError, ValueError, AttributeError):
        return 0.0  # unreadable: the trainer falls back to an older checkpoint and says so


# --- one job --------------------------------------------------------------------------------
def train_job(job: Job, settings: Settings, run: runs.RunDir, model_config, config) -> dict[str, Any]:
    """Train ``job`` up to its budget in ``run``; what it did (steps, throughput, times, the training data)."""
    import torch

    from .trainer import Trainer

    budget = 60.0 * job.minutes
    started = time.perf_counter()
    trainer = Trainer(model_config, config, run.path, device=str(settings.torch_device), compile=settings.compile,
                      progress=settings.progress)  # loads the data; compiles the block (probed with one step)
    try:
        if run.checkpoints():
            trainer.resume()
            print(f"{job.ref}: resuming at step {trainer.step} ({trainer.seconds_before / 60:.2f} of "
                  f"{job.minutes:g} min trained)", flush=True)
        setup = time.perf_counter() - started
        before = trainer.seconds_before
        fraction = settings.decay_fraction
        decay_after = max(0.0, (1 - fraction) * budget - before) if fraction > 0 else None
        evals_before = trainer.eval_seconds
        summary = trainer.fit_for(max(budget - before, 0.0), decay_after=decay_after,
                                  eval_every=60.0 * settings.eval_minutes,
                                  checkpoint_seconds=60.0 * settings.checkpoint_minutes)
        in_evals = trainer.eval_seconds - evals_before
        stepping = summary["seconds"] - in_evals
        steps = summary["steps_this_run"]
        train = trainer.train_set
        return {
            "steps": summary["steps"], "steps_this_run": steps,
            "examples_per_second": round(steps * config.batch_size / stepping, 1) if steps and stepping > 0 else None,
            "minutes": round(trainer.train_seconds / 60, 2), "setup_seconds": round(setup, 1),
            "train_seconds_this_run": round(summary["seconds"], 1), "eval_seconds_this_run": round(in_evals, 1),
            "compiled": trainer.compiled, "precision": "bf16" if trainer.autocast else "fp32",
            "decays": summary["decays"], "data": data_record(job, config, train),
        }
    finally:
        trainer.close()
        del trainer  # the next job gets the device's memory
        if settings.torch_device.type == "cuda":
            torch.cuda.empty_cache()


def data_record(job: Job, config, train=None) -> dict[str, str]:
    """What a card says of the training data: its name, description and hash (``train``: the split, else loaded)."""
    if train is None:
        from ..data import load_split

        train = load_split(job.task, "train", seed=config.data_seed, n=config.train_size, **config.task_options)
    return {"name": job.train_source.replace("+", "-"), "sha256": train.data_hash,
            "description": f"the {len(train):,} items of the {job.task} train split of {job.train_source} "
                           f"(seed {config.data_seed})"}


def eval_data(task: str, settings: Settings):
    """``(val, hard)``: the zoo's val split (as every card) and the task's public hard split."""
    from ..data import load_split

    return (load_split(task, "val", n=settings.val_samples),
            load_split(task, n=settings.hard_samples, **PUBLIC[task]["hard"]))


def evaluate(model, task: str, settings: Settings, data=None) -> dict[str, Any]:
    """``model`` on the zoo's val split and the public hard split at every iteration up to
    ``settings.eval_iters``, in :func:`loopzoo.bundle.evaluate`'s form: the recommended iterations (the
    best on val by exact match, then by the share of positions right), each split's curve summed up
    with its label and data hash (and, with ``verify``, the shares of answers the task's check passes)."""
    from ..evaluate import accuracy_curve, recall_spectral_radius

    val, hard = data if data is not None else eval_data(task, settings)
    iters_max = settings.eval_iters
    curves = {split: accuracy_curve(model, items, iters_max, progress=bool(settings.progress))
              for split, items in (("val", val), ("test", hard))}
    curve = curves["val"]
    iters = max(range(len(curve.accuracy)), key=lambda t: (curve.accuracy[t], curve.partial[t])) + 1
    result: dict[str, Any] = {
        "iters": iters, "eval": {"rho_wx": recall_spectral_radius(model)},
        "iters_note": (f"best iteration on {curve.samples} val items by exact match, then by "
                       f"{model.task.partial_name}, searched up to {iters_max}")}
    labels = {"val": bundle.SPLIT_LABELS[task][0], "test": PUBLIC[task]["hard_label"]}
    for split, items in (("val", val), ("test", hard)):
        checked = bundle.checked_answers(model, items, iters) if settings.verify else {}
        result["eval"][split] = {**curves[split].summary(points=(1, 10, 30, 100, 300, 500, iters)),
                                 "label": labels[split], "data_sha256": items.data_hash, **checked}
    return result


def _key(model_dir: Path, data, settings: Settings) -> dict[str, Any]:
    """What an evaluation of the model in ``model_dir`` depends on (its cache is kept while it matches)."""
    meta = json.loads((model_dir / checkpoint.CONFIG_FILE).read_text())
    return {"weights_sha256": meta.get("weights_sha256"), "val_sha256": data[0].data_hash,
            "hard_sha256": data[1].data_hash, "iters": settings.eval_iters, "verify": settings.verify}


def _cached_evaluation(model_dir: Path, cache: Path, entry: str, task: str, settings: Settings, data) -> dict[str, Any]:
    """:func:`evaluate` of the model in ``model_dir``, from ``cache[entry]`` where measured on the same items."""
    import loopzoo

    key = _key(model_dir, data, settings)
    stored = json.loads(cache.read_text()) if cache.is_file() else {}
    if stored.get(entry, {}).get("key") == key:
        return stored[entry]["result"]
    result = evaluate(loopzoo.load(model_dir, device=str(settings.torch_device)), task, settings, data)
    stored[entry] = {"key": key, "result": result}
    checkpoint.write_text_atomic(cache, json.dumps(stored, indent=1))
    return result


def references(job: Job, settings: Settings, data) -> dict[str, dict[str, Any]]:
    """The bundled checkpoints a job must beat, evaluated as the job is: the flagship of its name and an
    earlier bundle of its ref (where they exist)."""
    found = {}
    for ref in dict.fromkeys((job.name, job.ref)):
        directory = bundle.zoo_dir() / ref
        if (directory / checkpoint.CONFIG_FILE).is_file():
            found[ref] = _cached_evaluation(directory, settings.out / REFERENCES, ref, job.task, settings, data)
    return found


def comparable(result: dict[str, Any]) -> tuple[float, float, int]:
    """:func:`loopzoo.bundle.score` of an :func:`evaluate` result, the public hard split in the probe's place."""
    iters = result["iters"]
    return bundle.score({**result, "probe": {"best": result["eval"]["test"]["at"][str(iters)]}})


def beats(result: dict[str, Any], others: dict[str, dict[str, Any]]) -> bool:
    """Whether ``result`` is ahead of every one of ``others`` (:func:`comparable`). A model that solves
    nothing on either split beats nothing (not even on fewer iterations)."""
    ours = comparable(result)
    return max(ours[0], ours[1]) > 0 and all(ours > comparable(other) for other in others.values())


def bundle_job(job: Job, model_dir: Path, result: dict[str, Any], record: dict[str, Any]) -> Path:
    """Bundle the model in ``model_dir`` as ``loopzoo/zoo/NAME.TAG`` with ``result`` in its card."""
    import torch

    meta = json.loads((model_dir / checkpoint.CONFIG_FILE).read_text())
    tmp = bundle.zoo_dir() / f".{job.ref}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    shutil.copy2(model_dir / checkpoint.WEIGHTS_FILE, tmp / checkpoint.WEIGHTS_FILE)
    for key in ("final_eval", "best_val", "best_score"):
        meta.pop(key, None)
    model = meta["model"]
    model["iters"] = result["iters"]
    precision = meta.get("precision", record.get("precision"))
    wall = f"{meta.get('train_seconds', 0.0) / 60:.1f} min"
    kind = "GPU" if str(record.get("device", "cpu")).startswith("cuda") else "CPU"
    meta.update(
        ref=job.ref, eval=result["eval"], iters_note=result["iters_note"], data=record["data"],
        hardware=f"{record['device_name']}, {precision}, torch {torch.__version__}", wall_time=wall,
        steps=meta.get("steps"),
        measured_by="`scripts/gpu_campaign.py` after training, on the zoo's val split and the public hard split",
        scale_note=(f"**Trained on a {kind}.** {wall} on {record['device_name']} in {precision} at width "
                    f"{model['width']} ({model['heads']} heads), batch {meta['train']['batch_size']}, on "
                    f"{job.train_source} (the paper: width 256, 100 epochs of 40,000 examples); the accuracies "
                    f"below are what this budget reached. The hard split is the public one: "
                    f"{PUBLIC[job.task]['hard_label']}."))
    return bundle.install(job.ref, tmp, meta)


def run_job(job: Job, settings: Settings, previous: dict[str, Any] | None = None) -> dict[str, Any]:
    """Train ``job`` up to its budget (continuing its run), evaluate its best model beside the bundled
    ones, bundle it where it beats them and ``settings.bundle``; its summary record (``previous``, the
    record of an earlier call, keeps what this call did not measure again)."""
    run = runs.RunDir(settings.out / job.ref)
    model_config, config = job_configs(job, settings)
    if run.saved() is not None:
        check_continues(run, model_config, config)
        model_config, config = run.configs()
    record: dict[str, Any] = {**(previous or {}), "ref": job.ref, "name": job.name, "task": job.task,
                              "width": model_config.width, "heads": model_config.heads, "source": job.train_source,
                              "batch": config.batch_size, "budget_minutes": job.minutes, "run": str(run.path)}
    here = {"device": str(settings.torch_device), "device_name": settings.device_name}  # where it trains now
    for stale in ("status", "error"):
        record.pop(stale, None)
    done = trained_seconds(run)
    if done < 60.0 * job.minutes:
        print(f"{job.ref}: width {model_config.width}, {model_config.heads} heads, batch {config.batch_size}, "
              f"{job.task} train split of {job.train_source}, {job.minutes:g} min on {settings.device_name} "
              f"({config.precision}{', compiled' if settings.compile else ''})", flush=True)
        record.update(here)
        record.update(train_job(job, settings, run, model_config, config))
    else:  # finished earlier, maybe elsewhere: the record keeps where and how fast it trained
        print(f"{job.ref}: trained its {job.minutes:g} min already ({done / 60:.2f} min); evaluating", flush=True)
        for key, value in {**here, "minutes": round(done / 60, 2),
                           "steps": int(checkpoints.available(run.path)[0].name[len(checkpoints.PREFIX):])}.items():
            record.setdefault(key, value)
        record["steps_this_run"] = 0
    best = run.best
    if not (best / checkpoint.CONFIG_FILE).is_file():
        raise ConfigError(f"{run.path} holds no best model (best/): its training never reached an evaluation")
    started = time.perf_counter()
    data = eval_data(job.task, settings)
    ours = _cached_evaluation(best, run.path / EVALUATION, "best", job.task, settings, data)
    others = references(job, settings, data)
    record.update(evaluation=ours, references=others, beats=beats(ours, others),
                  final_eval_seconds=round(time.perf_counter() - started, 1), status="done")
    line = ", ".join(f"{ref} {_pct(comparable(r))}" for ref, r in others.items()) or "none bundled"
    print(f"{job.ref}: {record.get('steps')} steps, {record.get('examples_per_second')} examples/s, "
          f"{record.get('minutes')} min; val / public hard {_pct(comparable(ours))} at {ours['iters']} iterations "
          f"(bundled: {line}); {'beats' if record['beats'] else 'does not beat'} the bundle", flush=True)
    record["bundled"] = None
    if settings.bundle and record["beats"]:
        record.setdefault("data", data_record(job, config))  # a finished job whose summary was lost
        record["bundled"] = str(bundle_job(job, best, ours, record))
    return record


def _pct(score: tuple[float, float, int]) -> str:
    return f"{score[0]:.1%} / {score[1]:.1%}"


# --- the campaign ---------------------------------------------------------------------------
def read_summary(out: Path) -> dict[str, Any]:
    file = Path(out) / SUMMARY
    return json.loads(file.read_text()) if file.is_file() else {"jobs": {}}


def write_summary(settings: Settings, summary: dict[str, Any]) -> Path:
    import torch

    summary.update(updated=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), device=settings.device_name,
                   torch=torch.__version__, tiny=settings.tiny)
    settings.out.mkdir(parents=True, exist_ok=True)
    path = settings.out / SUMMARY
    checkpoint.write_text_atomic(path, json.dumps(summary, indent=1))
    return path


def export(settings: Settings, summary: dict[str, Any], jobs: list[Job]) -> None:
    """Copy the summary and each job's model (its bundle where there is one, else its best model: config.json,
    model.safetensors, and the card where there is one) into ``settings.export``: two folders deep at most,
    at most 1 + 3 files per job."""
    dest = settings.export
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy2(settings.out / SUMMARY, dest / SUMMARY)
    for job in jobs:
        record = summary["jobs"].get(job.ref, {})
        source = Path(record["bundled"]) if record.get("bundled") else settings.out / job.ref / "best"
        if not (source / checkpoint.CONFIG_FILE).is_file():
            continue
        target = dest / job.ref
        target.mkdir(exist_ok=True)
        for name in hub.FILES:
            if (source / name).is_file():
                shutil.copy2(source / name, target / name)


class StopOnTerm:
    """While active, SIGTERM (``timeout``, a scheduler) raises :class:`TrainingStopped` wherever the
    campaign is (loading data, compiling, evaluating), so that the summary and the export are still
    written; during training the trainer's own handler finishes the step and checkpoints it first."""

    def __enter__(self) -> StopOnTerm:
        self.previous = None
        if threading.current_thread() is threading.main_thread():
            self.previous = signal.signal(signal.SIGTERM, self._stop)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.previous is not None:
            signal.signal(signal.SIGTERM, self.previous)

    @staticmethod
    def _stop(signum: int, frame: object) -> None:
        from .trainer import TrainingStopped

        raise TrainingStopped("stopped by SIGTERM outside a training step (loading, compiling or evaluating); "
                              "run the same command again to continue")


def run_campaign(jobs: list[Job], settings: Settings) -> dict[str, Any]:
    """Run ``jobs`` one after another (:func:`run_job`); ``OUT/summary.json`` is written after each, and
    when a job is stopped by a signal (the step in progress checkpointed; rerunning continues it).
    The summary, its jobs by ref."""
    from .trainer import TrainingDiverged, TrainingStopped

    refs = [job.ref for job in jobs]
    if not jobs or len(set(refs)) != len(refs):
        raise InputError(f"a campaign needs jobs with different refs, got {refs}")
    for job in jobs:
        job.check()
    summary = read_summary(settings.out)
    summary.setdefault("jobs", {})
    try:
        with StopOnTerm():
            for number, job in enumerate(jobs, start=1):
                print(f"[{number}/{len(jobs)}] {job.ref}", flush=True)
                previous = summary["jobs"].get(job.ref)
                try:
                    summary["jobs"][job.ref] = run_job(job, settings, previous)
                except TrainingDiverged as exc:
                    summary["jobs"][job.ref] = {**(previous or {}), "ref": job.ref, "status": "diverged",
                                                "error": str(exc)}
                    print(f"{job.ref}: {exc}", flush=True)
                except TrainingStopped:
                    summary["jobs"][job.ref] = {**(previous or {}), "ref": job.ref, "status": "stopped"}
                    raise
                finally:
                    write_summary(settings, summary)
    finally:
        if settings.export is not None and (settings.out / SUMMARY).is_file():
            export(settings, summary, jobs)
    return summary
