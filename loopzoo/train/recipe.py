"""The training recipe (docs/design.md §4) as a config, and its learning-rate schedule."""
from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, fields
from typing import Any

from ..errors import ConfigError

# Learning rates picked from the paper's grid {1e-4, 3e-4, 1e-3, 3e-3} per task.
TASK_LR = {"prefix-sums": 3e-4, "sudoku": 1e-3, "chess": 3e-4}
PRECISIONS = ("auto", "bf16", "fp32")


@dataclass
class TrainConfig:
    """Everything that determines a training run besides the model config."""

    epochs: int = 100
    batch_size: int = 500
    lr: float = 3e-4
    weight_decay: float = 0.01
    betas: tuple[float, float] = (0.9, 0.999)
    warmup_epochs: float = 10.0
    # A linear warmup over the first optimizer steps, on top of the per-epoch one: the epoch warmup
    # changes the rate once an epoch, so a fine-tune (warmup_epochs < 1) takes its first steps at the
    # full rate, and Adam's first update moves every weight by about ``lr`` at once.
    warmup_steps: int = 0
    decay_epoch: int | None = 60  # None: constant after warmup until a final decay is started explicitly
    decay_factor: float = 0.1
    clip: float = 1.0
    max_iters: int = 30  # progressive loss: n ~ U{0..max_iters-1}, k ~ U{1..max_iters-n}
    seed: int = 0
    precision: str = "auto"  # "fp32", "bf16" (autocast), or "auto": bf16 where the hardware runs it natively
    augment: bool = True  # random validity-preserving symmetries per example, where the task has some
    train_size: int | None = None  # first N training items (None = the whole split)
    eval_samples: int = 500
    eval_iters: int = 100
    eval_every: int = 10  # epochs
    checkpoint_every: int = 200  # steps
    log_every: int = 10  # steps
    max_steps: int | None = None  # stop early (e.g. for tests); the schedule still follows epochs
    data_seed: int = 0
    task_options: dict[str, Any] = dataclasses.field(default_factory=dict)  # e.g. {"length": 32}
    # A held-out split evaluated beside val and test, as ``load_split`` keywords (e.g. {"split": "test",
    # "seed": 1}: hard inputs that are not the test split). The best model is chosen by val exact match,
    # then by the probe's: where val saturates (prefix sums: 100% on 32 bits long before 512 bits
    # extrapolate), the probe still tells the checkpoints apart without looking at the test split.
    probe: dict[str, Any] = dataclasses.field(default_factory=dict)
    # Start from these weights (a zoo name or a checkpoint directory, as ``loopzoo.load`` takes it)
    # instead of a random initialisation: a fine-tune. The architecture must match the model's.
    init_from: str | None = None
    # Evaluate and bundle an exponential moving average of the weights, with this decay (TRM: 0.999),
    # instead of the live weights: after every optimizer step ``ema <- decay * ema + (1 - decay) * w``,
    # from the weights training starts from. Those keep a weight of ``decay ** steps`` (0.999: 37%
    # after 1,000 steps, 5% after 3,000), so a short run wants a lower decay. Resumable checkpoints
    # hold the average; training itself never reads it. None: no average.
    ema: float | None = None
    # Deep supervision (TRM, HRM): each batch is trained in this many segments, each one optimizer
    # step of the progressive loss (its own n, k), the next starting from the previous one's final
    # state, detached, instead of from the embedding. A step is one optimizer update, so a batch
    # lasts ``segments`` steps and an epoch ``segments`` times as many steps as batches.
    segments: int = 1

    def __post_init__(self) -> None:
        self.betas = tuple(self.betas)
        for name in ("epochs", "batch_size", "max_iters", "checkpoint_every", "log_every", "eval_every",
                     "segments"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ConfigError(f"training option {name} must be a positive integer, got {value!r}")
        if isinstance(self.warmup_steps, bool) or not isinstance(self.warmup_steps, int) or self.warmup_steps < 0:
            raise ConfigError(f"warmup_steps must be a non-negative integer, got {self.warmup_steps!r}")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise ConfigError(f"learning rate must be positive, got {self.lr!r}")
        if self.ema is not None and (isinstance(self.ema, bool) or not isinstance(self.ema, (int, float))
                                     or not 0.0 < self.ema < 1.0):
            raise ConfigError(f"ema must be a decay in (0, 1), e.g. 0.999, or None; got {self.ema!r}")
        if self.precision not in PRECISIONS:
            raise ConfigError(f"precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}")
        if self.decay_epoch is not None and (not isinstance(self.decay_epoch, int) or self.decay_epoch < 0):
            raise ConfigError(f"decay_epoch must be a non-negative integer or None, got {self.decay_epoch!r}")
        if self.probe and not isinstance(self.probe.get("split"), str):
            raise ConfigError(f"probe must name its split, e.g. {{'split': 'test', 'seed': 1}}, got {self.probe!r}")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        data = dict(data)
        if "bf16" in data:  # runs saved before ``precision`` existed: bf16=True meant autocast where supported
            data.setdefault("precision", "auto" if data.pop("bf16") else "fp32")
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


def lr_factor(epoch: float, config: TrainConfig, decays: int = 0, step: int | None = None) -> float:
    """Exponential warmup ``1 - exp(-(epoch+1)/warmup)``, times ``decay_factor ** decays``, times
    ``min(1, (step+1)/warmup_steps)`` where ``config.warmup_steps`` is set and ``step`` is given.

    The decay starts at ``decay_epoch`` (the paper's fixed schedule: one stage), or, for runs whose
    length is not known up front (``decay_epoch=None``), when the caller says so: ``decays`` is
    the number of decay stages begun so far (a second stage gives x0.01 after x0.1).
    """
    factor = 1.0 - math.exp(-(math.floor(epoch) + 1) / config.warmup_epochs) if config.warmup_epochs > 0 else 1.0
    if config.warmup_steps and step is not None:
        factor *= min(1.0, (step + 1) / config.warmup_steps)
    if config.decay_epoch is not None and epoch >= config.decay_epoch:
        decays = max(decays, 1)
    return factor * config.decay_factor ** decays


def decay_stages(meta: dict[str, Any]) -> list[int]:
    """Steps at which a timed run's decay stages began, from a checkpoint's trainer.json.

    Checkpoints written before decay stages record at most one, as ``decay_from``."""
    if meta.get("decays") is not None:
        return [int(step) for step in meta["decays"]]
    return [] if meta.get("decay_from") is None else [int(meta["decay_from"])]
