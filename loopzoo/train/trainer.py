"""The trainer: the paper's progressive loss and optimizer recipe, resumable and distributed.

One step (SPEC section 4): draw ``n ~ U{0..29}`` and ``k ~ U{1..30-n}``; run ``n`` iterations
without gradient from ``s_0 = e``; run ``k`` more with gradient; cross-entropy of the readout
at the last iteration over every output position; AdamW step after global-norm clipping.
"""
from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from .. import checkpoint as model_checkpoint
from ..checkpoint import write_text_atomic
from ..config import ModelConfig
from ..errors import ConfigError, LoopzooError
from ..evaluate import accuracy_curve, collate, recall_spectral_radius
from ..model import LoopedTransformer, build
from . import checkpoints
from .distributed import Distributed
from .recipe import TrainConfig, lr_factor


class TrainingDiverged(LoopzooError):
    """The loss became NaN or infinite; the last good checkpoint is kept."""


def param_groups(model: torch.nn.Module, weight_decay: float) -> list[dict[str, Any]]:
    """Weight decay on weight matrices only; none on biases and norm gains (1-D tensors)."""
    decay = [p for p in model.parameters() if p.requires_grad and p.ndim >= 2]
    rest = [p for p in model.parameters() if p.requires_grad and p.ndim < 2]
    return [{"params": decay, "weight_decay": weight_decay}, {"params": rest, "weight_decay": 0.0}]


def progressive_iters(seed: int, step: int, max_iters: int) -> tuple[int, int]:
    """``(n, k)`` of the progressive loss for ``step``: the same on every rank and on resume."""
    g = torch.Generator().manual_seed(seed * 1_000_003 + step)
    n = int(torch.randint(0, max_iters, (1,), generator=g))
    k = int(torch.randint(1, max_iters - n + 1, (1,), generator=g))
    return n, k


def load_datasets(task: str, config: TrainConfig) -> dict[str, Any]:
    from ..data import load_split

    opts = dict(config.task_options)
    return {
        "train": load_split(task, "train", seed=config.data_seed, n=config.train_size, **opts),
        "val": load_split(task, "val", seed=config.data_seed, n=config.eval_samples, **opts),
        "test": load_split(task, "test", seed=config.data_seed, n=config.eval_samples),
    }


class Trainer:
    """Train one model; ``fit()`` runs to the end, checkpointing into ``run_dir``.

    On several processes (``torchrun``) the model is wrapped in DDP, every rank reads its share
    of each batch through a ``DistributedSampler``, and rank 0 alone writes files.
    """

    def __init__(self, model_config: ModelConfig, config: TrainConfig, run_dir: str | Path, *,
                 device: str | None = None, compile: bool = False, datasets: dict[str, Any] | None = None,
                 progress: bool | None = None):
        self.dist = Distributed.from_env(device)
        self.device = self.dist.device
        self.config, self.model_config = config, model_config
        self.run_dir = Path(run_dir)
        torch.manual_seed(config.seed)  # the same initial weights on every rank
        self.model: LoopedTransformer = build(model_config).to(self.device)
        self.optimizer = torch.optim.AdamW(param_groups(self.model, config.weight_decay), lr=config.lr,
                                           betas=config.betas, foreach=True)
        self.datasets = datasets if datasets is not None else load_datasets(model_config.task, config)
        self.train_set = self.datasets["train"]
        self.local_batch = config.batch_size // self.dist.world
        if self.local_batch < 1 or config.batch_size % self.dist.world:
            raise ConfigError(f"batch size {config.batch_size} must be a multiple of the {self.dist.world} processes")
        self.sampler = torch.utils.data.DistributedSampler(
            self.train_set, num_replicas=self.dist.world, rank=self.dist.rank, shuffle=True,
            seed=config.seed, drop_last=True)
        self.steps_per_epoch = len(self.sampler) // self.local_batch
        if self.steps_per_epoch < 1:
            raise ConfigError(f"the training set ({len(self.train_set)}) is smaller than one batch ({config.batch_size})")
        self.total_steps = self.steps_per_epoch * config.epochs
        if config.max_steps is not None:
            self.total_steps = min(self.total_steps, config.max_steps)
        self.net = self.dist.wrap(self.model)
        if compile:
            for block in self.model.blocks:
                block.compile()
        self.autocast = config.bf16 and self.device.type == "cuda"
        self.step = 0
        self._epoch_indices: tuple[int, list[int]] = (-1, [])  # this rank's sample order for one epoch
        self.seconds_before = 0.0  # training wall time of earlier processes of this run (resume)
        self._started = time.perf_counter()
        self.progress = progress
        self.losses: list[float] = []  # per step, this process's loss

    # --- state --------------------------------------------------------------------------
    def _extra(self) -> dict[str, Any]:
        seconds = self.seconds_before + time.perf_counter() - self._started
        return {"train": self.config.to_dict(), "world_size": self.dist.world, "steps": self.step,
                "train_seconds": round(seconds, 1), "device": str(self.device)}

    def save_checkpoint(self) -> None:
        if self.dist.is_main:
            checkpoints.save(self.run_dir, self.model, self.optimizer, self.step, self._extra())
        self.dist.barrier()

    def resume(self) -> None:
        """Continue from the newest checkpoint in ``run_dir`` (older metrics lines are dropped)."""
        meta = checkpoints.load_latest(self.run_dir, self.model, self.optimizer)
        self.step = int(meta["step"])
        self.seconds_before = float(meta.get("train_seconds", 0.0))
        metrics = self.run_dir / "metrics.jsonl"
        if self.dist.is_main and metrics.exists():
            kept = [line for line in metrics.read_text().splitlines() if json.loads(line).get("step", 0) <= self.step]
            write_text_atomic(metrics, "".join(line + "\n" for line in kept))

    def _log(self, record: dict[str, Any]) -> None:
        if self.dist.is_main:
            with open(self.run_dir / "metrics.jsonl", "a") as f:
                f.write(json.dumps(record) + "\n")

    # --- one step -----------------------------------------------------------------------
    def batch_for(self, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        epoch, position = divmod(step, self.steps_per_epoch)
        self.sampler.set_epoch(epoch)
        if self._epoch_indices[0] != epoch:
            self._epoch_indices = (epoch, list(self.sampler))
        indices = self._epoch_indices[1][position * self.local_batch : (position + 1) * self.local_batch]
        x, y = collate(self.train_set, indices)
        return x.to(self.device, non_blocking=True), y.to(self.device, non_blocking=True)

    def train_step(self, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        """One optimizer step; returns ``(loss, grad_norm)`` as tensors (no host sync)."""
        epoch = step // self.steps_per_epoch
        for group in self.optimizer.param_groups:
            group["lr"] = self.config.lr * lr_factor(epoch, self.config)
        x, y = self.batch_for(step)
        n, k = progressive_iters(self.config.seed, step, self.config.max_iters)
        self.net.train()
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.autocast):
            logits, _ = self.net(x, k, no_grad_iters=n)
        loss = F.cross_entropy(logits.float().flatten(0, 1), y.flatten())
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.config.clip)
        self.optimizer.step()
        return loss.detach(), grad_norm.detach()

    # --- the run ------------------------------------------------------------------------
    def _flush(self, pending: list[tuple[int, torch.Tensor, torch.Tensor]]) -> None:
        """Log buffered losses; stop on NaN/inf before any checkpoint could store it."""
        if not pending:
            return
        values = torch.stack([torch.stack((loss, gn)) for _, loss, gn in pending]).tolist()
        for (step, _, _), (loss, gn) in zip(pending, values):
            if not math.isfinite(loss):
                raise TrainingDiverged(
                    f"loss is {loss} at step {step}; stopped. The last good checkpoint is kept in "
                    f"{self.run_dir / 'checkpoints'}; lower the learning rate (now {self.config.lr}) and resume or restart."
                )
            self.losses.append(loss)
            epoch = step // self.steps_per_epoch
            self._log({"step": step + 1, "epoch": epoch, "loss": round(loss, 6), "grad_norm": round(gn, 4),
                       "lr": self.config.lr * lr_factor(epoch, self.config)})
        pending.clear()

    def evaluate(self, step: int) -> dict[str, Any]:
        record: dict[str, Any] = {"step": step, "kind": "eval", "rho_wx": recall_spectral_radius(self.model)}
        for split in ("val", "test"):
            curve = accuracy_curve(self.model, self.datasets[split], self.config.eval_iters,
                                   limit=self.config.eval_samples, autocast=self.autocast)
            record[split] = curve.summary()
        self._log(record)
        return record

    def fit(self) -> dict[str, Any]:
        """Train to ``total_steps``; evaluate every ``eval_every`` epochs and at the end."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        if self.dist.is_main:
            write_text_atomic(self.run_dir / "train.json", json.dumps(
                {"model": self.model_config.to_dict(), "train": self.config.to_dict()}, indent=2))
        pending: list[tuple[int, torch.Tensor, torch.Tensor]] = []
        bar = tqdm(total=self.total_steps, initial=self.step, desc=self.model_config.name or "train", unit="step",
                   disable=(not self.dist.is_main) or (None if self.progress is None else not self.progress))
        started, first_step = time.perf_counter(), self.step
        self._started = started
        last_eval: dict[str, Any] = {}
        while self.step < self.total_steps:
            loss, grad_norm = self.train_step(self.step)
            pending.append((self.step, loss, grad_norm))
            self.step += 1
            bar.update(1)
            if len(pending) >= self.config.log_every or self.step == self.total_steps:
                self._flush(pending)
                bar.set_postfix(loss=f"{self.losses[-1]:.4f}")
            epoch_end = self.step % self.steps_per_epoch == 0
            if self.dist.is_main and epoch_end and (self.step // self.steps_per_epoch) % self.config.eval_every == 0 \
                    and self.step != self.total_steps:
                last_eval = self.evaluate(self.step)
                bar.set_postfix(loss=f"{self.losses[-1]:.4f}", val=last_eval["val"]["final"])
            if self.step % self.config.checkpoint_every == 0 or self.step == self.total_steps:
                self._flush(pending)
                self.save_checkpoint()
        bar.close()
        summary: dict[str, Any] = {"steps": self.step, "seconds": round(time.perf_counter() - started, 1),
                                   "steps_this_run": self.step - first_step}
        if self.dist.is_main:
            last_eval = self.evaluate(self.step)
            summary["eval"] = last_eval
            model_checkpoint.save(self.model, self.run_dir, **self._extra(), final_eval=last_eval)
        self.dist.barrier()
        return summary

    def close(self) -> None:
        self.dist.close()
