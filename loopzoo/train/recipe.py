"""The training recipe (SPEC section 4) as a config, and its learning-rate schedule."""
from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, fields
from typing import Any

from ..errors import ConfigError

# Learning rates picked from the paper's grid {1e-4, 3e-4, 1e-3, 3e-3} per task.
TASK_LR = {"prefix-sums": 3e-4, "sudoku": 1e-3, "chess": 3e-4}


@dataclass
class TrainConfig:
    """Everything that determines a training run besides the model config."""

    epochs: int = 100
    batch_size: int = 500
    lr: float = 3e-4
    weight_decay: float = 0.01
    betas: tuple[float, float] = (0.9, 0.999)
    warmup_epochs: float = 10.0
    decay_epoch: int = 60
    decay_factor: float = 0.1
    clip: float = 1.0
    max_iters: int = 30  # progressive loss: n ~ U{0..max_iters-1}, k ~ U{1..max_iters-n}
    seed: int = 0
    bf16: bool = True  # autocast on CUDA only
    train_size: int | None = None  # first N training items (None = the whole split)
    eval_samples: int = 500
    eval_iters: int = 100
    eval_every: int = 10  # epochs
    checkpoint_every: int = 200  # steps
    log_every: int = 10  # steps
    max_steps: int | None = None  # stop early (e.g. for tests); the schedule still follows epochs
    data_seed: int = 0
    task_options: dict[str, Any] = dataclasses.field(default_factory=dict)  # e.g. {"length": 32}

    def __post_init__(self) -> None:
        self.betas = tuple(self.betas)
        for name in ("epochs", "batch_size", "max_iters", "checkpoint_every", "log_every", "eval_every"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ConfigError(f"training option {name} must be a positive integer, got {value!r}")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise ConfigError(f"learning rate must be positive, got {self.lr!r}")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"unknown training option(s) {unknown}")
        return cls(**data)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)


def paper_recipe(task: str, **overrides: Any) -> TrainConfig:
    """The paper's recipe for ``task`` (batch 500, 100 epochs, ...), with overrides."""
    return TrainConfig(**{"lr": TASK_LR.get(task, 3e-4), **overrides})


def lr_factor(epoch: float, config: TrainConfig) -> float:
    """Exponential warmup ``1 - exp(-(epoch+1)/warmup)``, times ``decay_factor`` from ``decay_epoch`` on."""
    factor = 1.0 - math.exp(-(math.floor(epoch) + 1) / config.warmup_epochs) if config.warmup_epochs > 0 else 1.0
    return factor * (config.decay_factor if epoch >= config.decay_epoch else 1.0)
