"""The trainer: the paper's progressive loss and optimizer recipe, resumable and distributed.

One step (docs/design.md §4): draw ``n ~ U{0..29}`` and ``k ~ U{1..30-n}``; run ``n`` iterations
without gradient from ``s_0 = e``; run ``k`` more with gradient; cross-entropy of the readout
at the last iteration over every output position; AdamW step after global-norm clipping.

Two options beyond the paper (``TrainConfig``): ``segments`` (deep supervision: a batch trained in
several such steps, each from the previous one's final state) and ``ema`` (evaluate and save an
exponential moving average of the weights).
"""
from __future__ import annotations

import json
import math
import os
import shutil
import signal
import threading
import time
import warnings
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from .. import checkpoint as model_checkpoint
from ..checkpoint import write_text_atomic
from ..config import ModelConfig
from ..errors import ConfigError, LoopzooError, LoopzooWarning
from ..evaluate import accuracy_curve, collate, recall_spectral_radius
from ..hardware import use_bf16
from ..layers.attention import set_kernel
from ..model import LoopedTransformer, build
from ..registry import augmentations
from . import checkpoints, metrics
from .distributed import Distributed
from .recipe import TrainConfig, decay_stages, lr_factor


class TrainingDiverged(LoopzooError):
    """The loss became NaN or infinite; the last good checkpoint is kept."""


class TrainingStopped(LoopzooError):
    """SIGINT or SIGTERM arrived; the step in progress was finished and checkpointed, so the
    same command continues the run."""

    exit_code = 130  # the shell's code for an interrupted command


class StopOnSignal:
    """While active, SIGINT (Ctrl-C) and SIGTERM ask the run to stop after the current step
    instead of killing it between checkpoints; a second signal interrupts at once. Only the main
    thread can install handlers; elsewhere signals keep their usual effect."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self.received: str | None = None
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> StopOnSignal:
        if threading.current_thread() is threading.main_thread():
            self._previous = {sig: signal.signal(sig, self._handle) for sig in self.SIGNALS}
        return self

    def __exit__(self, *exc: object) -> None:
        self._restore()

    def _handle(self, signum: int, frame: object) -> None:
        if self.received is not None:
            self._restore()
            raise KeyboardInterrupt
        self.received = signal.Signals(signum).name

    def _restore(self) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous = {}


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
    data = {
        "train": load_split(task, "train", seed=config.data_seed, n=config.train_size, **opts),
        "val": load_split(task, "val", seed=config.data_seed, n=config.eval_samples, **opts),
        "test": load_split(task, "test", seed=config.data_seed, n=config.eval_samples),
    }
    if config.probe:
        data["probe"] = load_split(task, n=config.eval_samples, **{"seed": config.data_seed, **config.probe})
    return data


# Runs of at least this many steps compile the block by default: compiling costs tens of seconds
# to a few minutes on a CPU, which a long run repays (``scripts/bench_train.py`` measures both).
COMPILE_MIN_STEPS = 2000


class Trainer:
    """Train one model; ``fit()`` runs to the end, checkpointing into ``run_dir``.

    On several processes (``torchrun``) the model is wrapped in DDP, every rank reads its share
    of each batch through a ``DistributedSampler``, and rank 0 alone writes files.

    The fast step is the default (``fast_step=True``): attention by the faster kernel per call
    (:func:`loopzoo.layers.attention.use_explicit`) and, for runs of at least
    :data:`COMPILE_MIN_STEPS` steps (``compile=None``), the block compiled with ``torch.compile``
    (one iteration, so the progressive loss's random depths do not recompile it); evaluations run
    eager. ``fast_step=False`` is the step as it was: SDPA everywhere, eager. ``compile=True`` or
    ``False`` decides compiling alone; a compile that fails falls back to eager with a warning.

    A step is one optimizer update. With ``config.segments = S`` (deep supervision) a batch lasts
    ``S`` steps: step ``t`` is segment ``t % S`` of batch ``t // S``, and an epoch is ``S`` times
    as many steps as batches. With ``config.ema`` the average of the weights (:attr:`ema`) is what
    evaluations, ``run_dir/best`` and the final ``model.safetensors`` hold (:attr:`eval_model`);
    resumable checkpoints keep the live weights and, beside them, the average and the state carried
    into the next segment, so a resumed run goes on exactly.
    """

    def __init__(self, model_config: ModelConfig, config: TrainConfig, run_dir: str | Path, *,
                 device: str | None = None, compile: bool | None = None, datasets: dict[str, Any] | None = None,
                 progress: bool | None = None, fast_step: bool = True):
        self.dist = Distributed.from_env(device)
        self.device = self.dist.device
        self.config, self.model_config = config, model_config
        self.run_dir = Path(run_dir)
        torch.manual_seed(config.seed)  # the same initial weights on every rank
        self.model: LoopedTransformer = build(model_config).to(self.device)
        if config.init_from:
            self._init_from(config.init_from)
        self.ema: LoopedTransformer | None = self._average() if config.ema is not None else None
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
        self.batches_per_epoch = len(self.sampler) // self.local_batch
        if self.batches_per_epoch < 1:
            raise ConfigError(f"the training set ({len(self.train_set)}) is smaller than one batch ({config.batch_size})")
        self.steps_per_epoch = self.batches_per_epoch * config.segments  # optimizer steps
        self._carry: torch.Tensor | None = None  # [B, L, D] this rank's final state of the last segment, detached
        self.total_steps = self.steps_per_epoch * config.epochs
        if config.max_steps is not None:
            self.total_steps = min(self.total_steps, config.max_steps)
        self.net = self.dist.wrap(self.model)
        self.autocast = use_bf16(config.precision, self.device)
        task = model_config.task
        self.augment = augmentations.get(task) if config.augment and task in augmentations.names() else None
        self.step = 0
        self.decays: list[int] = []  # steps at which explicitly started decay stages began, in order
        self._epoch_indices: tuple[int, list[int]] = (-1, [])  # this rank's sample order for one epoch
        self.seconds_before = 0.0  # training wall time of earlier processes of this run (resume)
        self.eval_seconds = 0.0  # of that wall time, the part spent in evaluations (earlier processes included)
        self._started = time.perf_counter()
        self.progress = progress
        self.losses: list[float] = []  # per step, this process's loss
        set_kernel(self.model, None if fast_step else False)
        if self.ema is not None:
            set_kernel(self.ema, None if fast_step else False)
        if compile is None:
            compile = fast_step and self.total_steps >= COMPILE_MIN_STEPS
        self.compiled = bool(compile) and self._compile()

    def _init_from(self, source: str) -> None:
        """Load the weights of ``source`` (a zoo name or checkpoint directory) into the model, strictly."""
        from .. import load

        weights = load(source).state_dict()
        try:
            self.model.load_state_dict(weights)
        except RuntimeError as exc:
            raise ConfigError(f"init_from {source!r}: its weights do not fit this model "
                              f"({self.model_config.name}, width {self.model_config.width}): {str(exc)[:300]}") from None

    def _average(self) -> LoopedTransformer:
        """A copy of the model to hold the average of its weights: fp32, no gradients, never compiled."""
        ema = build(self.model_config).to(self.device)
        ema.load_state_dict(self.model.state_dict())
        ema.requires_grad_(False).eval()
        self._ema_pairs = (list(ema.parameters()), [p.detach() for p in self.model.parameters()])
        return ema

    @torch.no_grad()
    def _update_ema(self) -> None:
        """``ema <- decay * ema + (1 - decay) * w`` for every weight (buffers are constants).

        A hand-written foreach lerp rather than ``torch.optim.swa_utils.AveragedModel`` with
        ``get_ema_multi_avg_fn``: at width 128 (250k weights, one thread) it took ~75 us per step
        against ~350 us, beside an AdamW step of ~1.1 ms (measured 2026-12-07 next to busy cores:
        relative), and it keeps the model's own parameter names (no ``module.`` prefix)."""
        averages, weights = self._ema_pairs
        torch._foreach_lerp_(averages, weights, 1.0 - self.config.ema)

    @property
    def eval_model(self) -> LoopedTransformer:
        """The weights evaluations and saved models use: their average with ``ema``, else the live ones."""
        return self.model if self.ema is None else self.ema

    def _compile(self) -> bool:
        """Compile every block for training (:meth:`LoopedTransformer.compile_blocks`), probed with both
        phases of a step (the no-grad iterations with the recall folded, then one with gradients), so
        that a compile failure shows here and the blocks train eager with a warning."""

        def probe() -> None:
            x, y = self.batch_for(0)
            self.net.train()
            with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.autocast):
                logits, _ = self.net(x, 1, no_grad_iters=1)
            F.cross_entropy(logits.float().flatten(0, 1), y.flatten()).backward()

        try:
            return self.model.compile_blocks(probe=probe)
        finally:
            self.optimizer.zero_grad(set_to_none=True)

    # --- state --------------------------------------------------------------------------
    def _extra(self) -> dict[str, Any]:
        return {"train": self.config.to_dict(), "world_size": self.dist.world, "steps": self.step,
                "train_seconds": round(self.train_seconds, 1),
                "eval_seconds": round(self.eval_seconds, 3), "device": str(self.device), "decay_from": self.decay_from,
                "decays": list(self.decays),
                "precision": "bf16" if self.autocast else "fp32", "threads": torch.get_num_threads(),
                "compiled": self.compiled}

    def _write_train_json(self) -> None:
        """``run_dir/train.json``: the model and training configs a continued run starts from."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        if self.dist.is_main:
            write_text_atomic(self.run_dir / "train.json", json.dumps(
                {"model": self.model_config.to_dict(), "train": self.config.to_dict()}, indent=2))

    @property
    def train_seconds(self) -> float:
        """Training wall time of this run so far, earlier processes (before a resume) included."""
        return self.seconds_before + time.perf_counter() - self._started

    @property
    def decay_from(self) -> int | None:
        """Step at which the first explicitly started decay began (None before any)."""
        return self.decays[0] if self.decays else None

    def lr_at(self, step: int) -> float:
        epoch = step // self.steps_per_epoch
        return self.config.lr * lr_factor(epoch, self.config, sum(step >= d for d in self.decays), step)

    def start_decay(self, *, again: bool = False) -> None:
        """Begin the final learning-rate decay now (runs without a fixed ``decay_epoch``).

        A no-op on a run that has decayed, unless ``again``: then a further stage begins, and the
        rate is multiplied by ``decay_factor`` once more from this step on."""
        if again or not self.decays:
            self.decays.append(self.step)

    def save_checkpoint(self) -> None:
        tensors: dict[str, dict[str, torch.Tensor]] = {}
        if self.ema is not None:
            tensors["ema"] = self.ema.state_dict()
        if self._carry is not None:  # in the middle of a batch's segments: every rank's rows, in rank order
            tensors["carry"] = {"state": self.dist.gather(self._carry)}  # [batch_size, L, D]
        if self.dist.is_main:
            checkpoints.save(self.run_dir, self.model, self.optimizer, self.step, self._extra(), tensors=tensors)
        self.dist.barrier()

    def resume(self) -> None:
        """Continue from the newest checkpoint in ``run_dir`` (older metrics lines are dropped).

        A checkpoint without what this run needs (the average of the weights, with ``ema``; the
        state carried into the next segment, in the middle of a batch) goes on without it, with a
        note in the log: the average starts from the checkpoint's weights, the segment from ``e``.
        """
        meta = checkpoints.load_latest(self.run_dir, self.model, self.optimizer)
        self.step = int(meta["step"])
        self.seconds_before = float(meta.get("train_seconds", 0.0))
        self.eval_seconds = float(meta.get("eval_seconds", 0.0))
        self.decays = decay_stages(meta)
        if self.dist.is_main:
            metrics.truncate(self.run_dir, self.step)
        saved = meta["tensors"]
        if self.ema is not None:
            if "ema" in saved:
                self.ema.load_state_dict(saved["ema"])
            else:
                self.ema.load_state_dict(self.model.state_dict())
                self._note(f"the checkpoint of step {self.step} holds no average of the weights; "
                           f"the average (ema {self.config.ema}) starts from its weights")
        self._carry = None
        segment = self.step % self.config.segments
        if segment:
            carry = saved.get("carry", {}).get("state")
            if carry is not None and carry.shape[0] == self.config.batch_size:
                rows = slice(self.dist.rank * self.local_batch, (self.dist.rank + 1) * self.local_batch)
                self._carry = carry[rows].to(self.device)
            else:
                self._note(f"the checkpoint of step {self.step} holds no state for segment {segment + 1} of "
                           f"{self.config.segments} of its batch; that segment starts from the embedding")

    def _note(self, text: str) -> None:
        """Something a reader of the run should know: a warning now and a ``note`` record in the log."""
        if self.dist.is_main:
            warnings.warn(text, LoopzooWarning, stacklevel=3)
        self._log({"step": self.step, "kind": "note", "note": text})

    def _log(self, record: dict[str, Any]) -> None:
        if self.dist.is_main:
            metrics.append(self.run_dir, record)

    # --- one step -----------------------------------------------------------------------
    def batch_for(self, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
        """This rank's share of training batch number ``batch`` (``step // segments``), augmented."""
        epoch, position = divmod(batch, self.batches_per_epoch)
        self.sampler.set_epoch(epoch)
        if self._epoch_indices[0] != epoch:
            self._epoch_indices = (epoch, list(self.sampler))
        indices = self._epoch_indices[1][position * self.local_batch : (position + 1) * self.local_batch]
        x, y = collate(self.train_set, indices)
        if self.augment is not None:
            g = torch.Generator().manual_seed((self.config.seed * 1_000_003 + batch) * 1_009 + self.dist.rank)
            x, y = self.augment(x, y, g)
        return x.to(self.device, non_blocking=True), y.to(self.device, non_blocking=True)

    def train_step(self, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        """One optimizer step: segment ``step % segments`` of batch ``step // segments``; returns
        ``(loss, grad_norm)`` as tensors (no host sync).

        The progressive loss's ``n`` iterations without gradient and ``k`` with run from ``s_0 = e``
        in a batch's first segment, and from the previous segment's final state (detached) in the others.
        """
        for group in self.optimizer.param_groups:
            group["lr"] = self.lr_at(step)
        batch, segment = divmod(step, self.config.segments)
        x, y = self.batch_for(batch)
        n, k = progressive_iters(self.config.seed, step, self.config.max_iters)
        start = self._carry if segment else None  # [B, L, D] or None: e
        self.net.train()
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.autocast):
            logits, state = self.net(x, k, start, no_grad_iters=n)
        loss = F.cross_entropy(logits.float().flatten(0, 1), y.flatten())
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.config.clip)
        self.optimizer.step()
        if self.ema is not None:
            self._update_ema()
        self._carry = state.detach() if segment + 1 < self.config.segments else None
        return loss.detach(), grad_norm.detach()

    # --- the run ------------------------------------------------------------------------
    def _advance(self, pending: list[tuple[int, torch.Tensor, torch.Tensor]], stop: StopOnSignal) -> None:
        """One step, its loss logged every ``log_every``; after a stop request (rank 0's), a
        checkpoint of this step and :class:`TrainingStopped`."""
        loss, grad_norm = self.train_step(self.step)
        pending.append((self.step, loss, grad_norm))
        self.step += 1
        if len(pending) >= self.config.log_every or self.step == self.total_steps:
            self._flush(pending)
        if self.dist.agree(stop.received is not None):
            self._flush(pending)
            self.save_checkpoint()
            raise TrainingStopped(
                f"stopped by {stop.received or 'a signal'} after step {self.step}: checkpoint saved in "
                f"{self.run_dir / 'checkpoints'}; run the same command again to continue from it")

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
            record = {"step": step + 1, "epoch": epoch, "loss": round(loss, 6), "grad_norm": round(gn, 4),
                      "lr": self.lr_at(step)}
            if self.config.segments > 1:
                record["segment"] = step % self.config.segments + 1  # 1..segments within its batch
            self._log(record)
        pending.clear()

    def evaluate(self, step: int) -> dict[str, Any]:
        """Exact match of :attr:`eval_model` on val and test up to ``eval_iters``, logged with the run's
        wall minutes so far (``train_minutes``) and the part of them spent in earlier evaluations
        (``eval_minutes``)."""
        started = time.perf_counter()
        model = self.eval_model
        record: dict[str, Any] = {"step": step, "kind": "eval", "train_minutes": round(self.train_seconds / 60, 2),
                                  "eval_minutes": round(self.eval_seconds / 60, 2),
                                  "rho_wx": recall_spectral_radius(model)}
        if self.ema is not None:
            record["ema"] = self.config.ema  # the average of the weights was evaluated
        for split in ("val", "test", "probe"):
            if split not in self.datasets:
                continue
            with torch.compiler.set_stance("force_eager"):  # other batch sizes, inference mode: no recompiles
                curve = accuracy_curve(model, self.datasets[split], self.config.eval_iters,
                                       limit=self.config.eval_samples, autocast=self.autocast)
            record[split] = curve.summary(points=(1, 10, 30, 100, 300, 500, self.config.eval_iters))
        self._log(record)
        self.eval_seconds += time.perf_counter() - started
        return record

    def fit(self) -> dict[str, Any]:
        """Train to ``total_steps``; evaluate every ``eval_every`` epochs and at the end."""
        self._write_train_json()
        pending: list[tuple[int, torch.Tensor, torch.Tensor]] = []
        bar = tqdm(total=self.total_steps, initial=self.step, desc=self.model_config.name or "train", unit="step",
                   disable=(not self.dist.is_main) or (None if self.progress is None else not self.progress))
        started, first_step = time.perf_counter(), self.step
        self._started = started
        last_eval: dict[str, Any] = {}
        with StopOnSignal() as stop, bar:
            while self.step < self.total_steps:
                self._advance(pending, stop)
                bar.update(1)
                if self.step % self.config.log_every == 0 and self.losses:
                    bar.set_postfix(loss=f"{self.losses[-1]:.4f}")
                epoch_end = self.step % self.steps_per_epoch == 0
                if self.dist.is_main and epoch_end and (self.step // self.steps_per_epoch) % self.config.eval_every == 0 \
                        and self.step != self.total_steps:
                    self._flush(pending)
                    last_eval = self.evaluate(self.step)
                    bar.set_postfix(loss=f"{self.losses[-1]:.4f}", val=last_eval["val"]["final"])
                if self.step % self.config.checkpoint_every == 0 or self.step == self.total_steps:
                    self._flush(pending)
                    self.save_checkpoint()
        summary: dict[str, Any] = {"steps": self.step, "seconds": round(time.perf_counter() - started, 1),
                                   "steps_this_run": self.step - first_step}
        if self.dist.is_main:
            last_eval = self.evaluate(self.step)
            summary["eval"] = last_eval
            model_checkpoint.save(self.eval_model, self.run_dir, **self._extra(), final_eval=last_eval)
        self.dist.barrier()
        return summary

    def fit_for(self, seconds: float, *, decay_after: float | None = None, eval_every: float = 600.0,
                until_val: float | None = None, checkpoint_seconds: float | None = None) -> dict[str, Any]:
        """Train for ``seconds`` of wall time, for runs whose length is not known up front.

        The learning rate stays constant after warmup until the final decay begins: after
        ``decay_after`` seconds of this call, or already (a resumed run that had decayed goes on
        decayed). Every ``eval_every`` seconds and at the end the model is evaluated, a resumable
        checkpoint is written, and the model with the best val exact match so far is kept in
        ``run_dir/best`` (loadable with :func:`loopzoo.load`). ``until_val`` ends the call early, at
        the first evaluation whose val exact match (best over its iterations) reaches it: a
        time-to-target measurement (``scripts/bench_time_to_target.py``). ``checkpoint_seconds``
        also writes a resumable checkpoint whenever that much wall time has passed since the last one
        (besides every ``config.checkpoint_every`` steps and every evaluation), so that a run killed
        from outside loses at most that much.
        """
        if until_val is not None and not 0.0 < until_val <= 1.0:
            raise ConfigError(f"until_val must be a share in (0, 1], got {until_val}")
        if checkpoint_seconds is not None and not (checkpoint_seconds > 0 and math.isfinite(checkpoint_seconds)):
            raise ConfigError(f"checkpoint_seconds must be a positive number of seconds, got {checkpoint_seconds!r}")
        self._write_train_json()
        pending: list[tuple[int, torch.Tensor, torch.Tensor]] = []
        self._started = started = time.perf_counter()
        first_step, last_eval_at, last_checkpoint_at, record = self.step, started, started, {}
        bar = tqdm(total=round(seconds), desc=self.model_config.name or "train", unit="s",
                   disable=(not self.dist.is_main) or (None if self.progress is None else not self.progress))
        with StopOnSignal() as stop, bar:
            while True:
                now = time.perf_counter()
                done = self.dist.agree(now - started >= seconds or self.step >= self.total_steps)
                if not done and decay_after is not None and self.dist.agree(now - started >= decay_after):
                    self.start_decay()
                if done or self.dist.agree(now - last_eval_at >= eval_every):
                    self._flush(pending)
                    if self.dist.is_main:
                        record = self.evaluate(self.step)
                        self._keep_if_best(record)
                        bar.set_postfix(loss=f"{self.losses[-1]:.4f}" if self.losses else "-", val=record["val"]["best"])
                    self.save_checkpoint()
                    last_eval_at = last_checkpoint_at = time.perf_counter()
                    reached = self.dist.is_main and until_val is not None and record["val"]["best"] >= until_val
                    if done or self.dist.agree(reached):
                        break
                self._advance(pending, stop)
                bar.n = min(round(time.perf_counter() - started), bar.total)
                bar.refresh()
                due = checkpoint_seconds is not None and self.dist.agree(
                    time.perf_counter() - last_checkpoint_at >= checkpoint_seconds)
                if self.step % self.config.checkpoint_every == 0 or due:
                    self._flush(pending)
                    self.save_checkpoint()
                    last_checkpoint_at = time.perf_counter()
        return {"steps": self.step, "steps_this_run": self.step - first_step,
                "seconds": round(time.perf_counter() - started, 1), "decay_from": self.decay_from,
                "decays": list(self.decays), "eval": record,
                "reached": until_val is not None and bool(record) and record["val"]["best"] >= until_val}

    @staticmethod
    def selection_score(record: dict[str, Any]) -> list[float]:
        """What :meth:`_keep_if_best` compares: val exact match (best over the evaluated iterations),
        then the probe's where the run has one."""
        return [record[split]["best"] for split in ("val", "probe") if split in record]

    def _keep_if_best(self, record: dict[str, Any]) -> bool:
        """Save the model to ``run_dir/best`` if its :meth:`selection_score` beats the kept one's."""
        best_dir = self.run_dir / "best"
        kept = [-1.0]
        if (best_dir / model_checkpoint.CONFIG_FILE).is_file():
            meta = json.loads((best_dir / model_checkpoint.CONFIG_FILE).read_text())
            kept = meta.get("best_score", [meta.get("best_val", -1.0)])
        score = self.selection_score(record)
        if score <= kept:
            return False
        tmp = self.run_dir / ".best.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        model_checkpoint.save(self.eval_model, tmp, **self._extra(), best_val=score[0], best_score=score, eval=record)
        shutil.rmtree(best_dir, ignore_errors=True)
        os.rename(tmp, best_dir)
        return True

    def close(self) -> None:
        self.dist.close()
