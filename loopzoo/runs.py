"""Run folders, and the ``NAME.TAG`` syntax that names runs and checkpoints (docs/design.md §7).

A run is one training of one name in a folder (a :class:`~loopzoo.train.trainer.Trainer` run folder):

    train.json          the model and training configs it was started with
    metrics.jsonl       a record per logged step and per evaluation
    checkpoints/        resumable checkpoints (model + optimizer), while it trains
    best/               a timed run's best model so far (a checkpoint directory)
    config.json, model.safetensors   the model, once a fixed-step run has finished
    eval.json           beside a model (here or in best/): its bundling evaluation (``loopzoo.bundle.evaluate``)
    grid-status.json    a grid run's verdict (done or diverged)

Where runs live and what they are called, one syntax, as timm's ``name.tag``:

    runs/NAME/                        the zoo's run of NAME (no tag)
    runs/NAME.TAG/                    a tagged run: NAME.w256 (another width), NAME.rerun-bf16, NAME.public
    runs/grid/TASK/NAME@lrLR/seedK/   a grid run, called NAME.lrLR-seedK (its folder predates the syntax
                                      and is kept: :class:`RunDir` reads the tag out of it)

:class:`RunDir` is the one reader of a run folder (the zoo's training, the grid, the claims, the
learning curves). :func:`find` looks a ``NAME.TAG`` up among the runs of a source tree, for
``loopzoo.load("NAME.TAG")``. Nothing here imports torch.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# The repository's runs/, beside the package in a source tree (absent in an installed wheel).
RUNS = Path(__file__).resolve().parents[1] / "runs"
SEPARATOR = "."
_GRID_TAG = re.compile(r"lr(?P<lr>.+)-seed(?P<seed>\d+)")


def split_tag(ref: str) -> tuple[str, str | None]:
    """``"NAME.TAG"`` -> ``("NAME", "TAG")``; ``"NAME"`` -> ``("NAME", None)``. Names hold no dot; a tag may
    (``NAME.lr0.001-seed0``)."""
    name, _, tag = str(ref).partition(SEPARATOR)
    return name, tag or None


def join_tag(name: str, tag: str | None) -> str:
    """``NAME.TAG``, or ``NAME`` without a tag."""
    return f"{name}{SEPARATOR}{tag}" if tag else name


def grid_tag(lr: float, seed: int) -> str:
    """A grid run's tag: ``lr0.001-seed0``."""
    return f"lr{lr:g}-seed{seed}"


def parse_grid_tag(tag: str | None) -> tuple[float, int] | None:
    """``(lr, seed)`` of a grid run's tag; None for any other tag."""
    match = _GRID_TAG.fullmatch(tag or "")
    if match is None:
        return None
    try:
        return float(match["lr"]), int(match["seed"])
    except ValueError:
        return None


def runs_root() -> Path:
    """The runs folder (read at call time: tests point :data:`RUNS` elsewhere)."""
    return RUNS


def grid_root() -> Path:
    """``runs/grid``: the grid's runs, one folder per task."""
    return RUNS / "grid"


def grid_dir(task: str, name: str, lr: float, seed: int) -> Path:
    """The folder of a grid run: ``runs/grid/TASK/NAME@lrLR/seedK`` (the layout the grid was trained in)."""
    return grid_root() / task / f"{name}@lr{lr:g}" / f"seed{seed}"


def _name_and_tag(path: Path) -> tuple[str, str | None]:
    if path.name.startswith("seed") and "@lr" in path.parent.name:  # runs/grid/TASK/NAME@lrLR/seedK
        name, _, lr = path.parent.name.rpartition("@lr")
        return name, f"lr{lr}-{path.name}"
    return split_tag(path.name)


@dataclass(frozen=True)
class RunDir:
    """A run folder: its name and tag, its configs, metrics, checkpoints and models."""

    path: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", Path(self.path))

    # --- what it is ------------------------------------------------------------------------
    @property
    def name(self) -> str:
        """The registered name it trains."""
        return _name_and_tag(self.path)[0]

    @property
    def tag(self) -> str | None:
        return _name_and_tag(self.path)[1]

    @property
    def ref(self) -> str:
        """``NAME.TAG`` (or ``NAME``): what ``loopzoo.load`` takes and reports print."""
        return join_tag(self.name, self.tag)

    @property
    def lr_seed(self) -> tuple[float, int] | None:
        """A grid run's learning rate and seed (from its tag); None for other runs."""
        return parse_grid_tag(self.tag)

    def exists(self) -> bool:
        """Whether the run has started (or left a model or a verdict)."""
        return any((self.path / f).is_file() for f in ("train.json", "config.json", "metrics.jsonl", "grid-status.json",
                                                        "best/config.json"))

    # --- what it holds ---------------------------------------------------------------------
    def saved(self) -> dict[str, Any] | None:
        """train.json (``{"model": ..., "train": ...}``), None before the run started."""
        file = self.path / "train.json"
        return json.loads(file.read_text()) if file.is_file() else None

    def configs(self):
        """The run's own :class:`ModelConfig` and :class:`TrainConfig` (from train.json)."""
        from .config import ModelConfig
        from .train.recipe import TrainConfig

        saved = self.saved()
        if saved is None:
            from .errors import CheckpointError

            raise CheckpointError(f"{self.path} has no train.json: the run has not started")
        return ModelConfig.from_dict(saved["model"]), TrainConfig.from_dict(saved["train"])

    def metrics(self) -> list[dict[str, Any]]:
        """Every record of metrics.jsonl, in order."""
        from .train import metrics

        return metrics.read(self.path)

    def evaluations(self, timed: bool = False) -> list[dict[str, Any]]:
        """The eval records, in order; ``timed``: only those with training minutes (timed runs' records)."""
        return [r for r in self.metrics() if r.get("kind") == "eval" and (not timed or "train_minutes" in r)]

    def best_evaluation(self, split: str = "probe") -> dict[str, Any] | None:
        """The eval record best on ``split`` (:func:`best_evaluation`); None where none scored it."""
        return best_evaluation(self.evaluations(), split)

    def losses(self) -> list[tuple[int, float]]:
        """``(step, training loss)`` of every logged step."""
        return [(r["step"], r["loss"]) for r in self.metrics() if r.get("kind") != "eval" and "loss" in r]

    def checkpoints(self) -> list[Path]:
        """Resumable checkpoints, newest first."""
        return sorted((self.path / "checkpoints").glob("step-*"), reverse=True)

    def decay_starts(self) -> list[int]:
        """Steps at which the run's decay stages began (from its newest checkpoint), in order."""
        from .train.recipe import decay_stages

        newest = self.checkpoints()
        if not newest:
            return []
        return decay_stages(json.loads((newest[0] / "trainer.json").read_text()))

    @property
    def best(self) -> Path:
        return self.path / "best"

    def model_dir(self) -> Path | None:
        """The model this run leaves: its best (a timed run), else its own folder once finished (a
        fixed-step or grid run); None while there is neither."""
        for directory in (self.best, self.path):
            if (directory / "model.safetensors").is_file() and (directory / "config.json").is_file():
                return directory
        return None

    def eval_record(self, model_dir: Path | None = None) -> dict[str, Any] | None:
        """The cached bundling evaluation (eval.json) of the run's model, if any."""
        directory = model_dir or self.model_dir()
        file = directory / "eval.json" if directory else None
        return json.loads(file.read_text()) if file and file.is_file() else None

    def status(self) -> dict[str, Any]:
        """``{"status": "done" | "diverged" | "started" | "new", ...}``: a grid run's verdict where it
        has one; else done where the finished model is there, started where checkpoints are."""
        marker = self.path / "grid-status.json"
        if marker.is_file():
            return json.loads(marker.read_text())
        if (self.path / "model.safetensors").is_file():
            return {"status": "done"}
        return {"status": "started" if self.checkpoints() else "new"}


def best_evaluation(records: list[dict[str, Any]], split: str = "probe") -> dict[str, Any] | None:
    """Among eval ``records``, the one with the highest ``split`` exact match at its last evaluated
    iteration count (``final``, the count the reports read accuracies at); a tie goes to the later
    record, so a run whose probe never improves on its end is read at its end. None where no record
    scored ``split``."""
    scored = [r for r in records if split in r]
    return max(reversed(scored), key=lambda r: r[split]["final"]) if scored else None


def find_runs(root: Path | None = None) -> list[RunDir]:
    """Every run under ``root`` (default :data:`RUNS`): ``runs/*/`` and ``runs/grid/TASK/*/seed*/``
    folders that hold a train.json or a model, by ref."""
    root = RUNS if root is None else Path(root)
    if not root.is_dir():
        return []
    found = [RunDir(d) for d in root.glob("*/") if d.name != "grid"]
    found += [RunDir(d) for d in (root / "grid").glob("*/*/seed*/")]
    return sorted((r for r in found if r.exists()), key=lambda r: r.ref)


def find(ref: str, root: Path | None = None) -> RunDir | None:
    """The run called ``ref`` (``NAME`` or ``NAME.TAG``) under ``root``, None if there is none."""
    root = RUNS if root is None else Path(root)
    name, tag = split_tag(ref)
    direct = RunDir(root / ref)
    if direct.exists():
        return direct
    grid = parse_grid_tag(tag)
    if grid is not None:
        for task_dir in sorted((root / "grid").glob("*/")):
            for folder in task_dir.glob(f"{name}@lr*/seed{grid[1]}/"):
                run = RunDir(folder)
                if run.lr_seed == grid and run.exists():
                    return run
    return None


def refs_of(name: str, root: Path | None = None) -> list[str]:
    """The refs of ``name``'s runs that hold a model (``NAME``, ``NAME.w256``, ...)."""
    return [r.ref for r in find_runs(root) if r.name == name and r.model_dir() is not None]
