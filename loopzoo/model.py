"""The looped transformer (SPEC section 1): embed, iterate one weight-tied block, read out.

    e   = Linear(x)                       # [B, L, D] input embedding
    s_0 = e
    s_t = F(s_{t-1}; e)                   # Block, the same weights every iteration
    y_t = Linear(GELU(Linear(RMSNorm(s_t))))  # per-token readout
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .config import ModelConfig
from .errors import ConfigError, InputError
from .registry import cells, norms, recalls, tasks
from .tasks.base import Task


class MLP(nn.Module):
    def __init__(self, width: int, ratio: int):
        super().__init__()
        self.up = nn.Linear(width, ratio * width)
        self.down = nn.Linear(ratio * width, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down(F.gelu(self.up(x)))


class Block(nn.Module):
    """One transformer layer with a recall mode and a norm placement.

    For each branch ``f`` in (attention, MLP): ``s <- N3(R(s, N2(f(inject(N1(s), e)))))``,
    after ``s <- before(s, e)`` (standard recall: ``Wx s + Wh e``).
    """

    def __init__(self, config: ModelConfig, task: Task):
        super().__init__()
        width = config.width
        self.recall = recalls.get(config.recall)(width)
        self.norm = norms.get(config.norm)(width)
        self.attn = cells.get(config.cell or task.cell)(
            width, config.heads, grid=task.grid, window=config.window, rope_base=config.rope_base
        )
        self.mlp = MLP(width, config.mlp_ratio)

    def forward(self, s: torch.Tensor, e: torch.Tensor) -> torch.Tensor:
        s = self.recall.before(s, e)  # [B, L, D]
        for branch in (self.attn, self.mlp):
            h = self.recall.inject(self.norm.n1(s), e)
            s = self.norm.update(s, branch(h))
        return s


class Readout(nn.Module):
    """``y = Linear(GELU(Linear(RMSNorm(s))))`` per token."""

    def __init__(self, width: int, classes: int):
        super().__init__()
        self.norm = nn.RMSNorm(width)
        self.hidden = nn.Linear(width, width)
        self.out = nn.Linear(width, classes)

    def forward(self, s: torch.Tensor) -> torch.Tensor:
        return self.out(F.gelu(self.hidden(self.norm(s))))


@dataclass
class Trace:
    """Per-iteration record of a :meth:`LoopedTransformer.solve` call, for one input.

    ``predictions[t]`` is the answer after iteration ``t + 1``; ``confidence[t]`` the mean
    probability of the predicted classes; ``residual[t] = ||s_{t+1} - s_t|| / ||s_t||``.
    """

    predictions: list[Any]
    confidence: np.ndarray  # [T]
    residual: np.ndarray  # [T]


def check_iters(iters: Any) -> int:
    if isinstance(iters, bool) or not isinstance(iters, (int, np.integer)) or iters < 1:
        raise InputError(f"iters must be a positive integer, got {iters!r}")
    return int(iters)


class LoopedTransformer(nn.Module):
    """A weight-tied transformer that runs its block ``iters`` times."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        self.task: Task = tasks.get(config.task)()
        self.embed = nn.Linear(self.task.in_channels, config.width)
        self.blocks = nn.ModuleList(Block(config, self.task) for _ in range(config.depth))
        self.readout = Readout(config.width, self.task.out_channels)

    # --- the loop -----------------------------------------------------------------------
    def step(self, s: torch.Tensor, e: torch.Tensor) -> torch.Tensor:
        """One iteration ``F(s; e)``: all ``depth`` layers (one for looped models)."""
        for block in self.blocks:
            s = block(s, e)
        return s

    def iterate(self, x: torch.Tensor, iters: int, state: torch.Tensor | None = None) -> Iterator[torch.Tensor]:
        """Yield the states ``s_1 .. s_T`` (``[B, L, D]``), starting from ``state`` or ``s_0 = e``."""
        e = self.embed(x)  # [B, L, D]
        s = e if state is None else state
        for _ in range(check_iters(iters)):
            s = self.step(s, e)
            yield s

    def forward(
        self, x: torch.Tensor, iters: int | None = None, state: torch.Tensor | None = None, *, no_grad_iters: int = 0
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(logits [B, L, C], state [B, L, D])`` after ``iters`` iterations; keeps one state only.

        ``no_grad_iters`` first runs that many iterations without gradient and detaches the state
        (the progressive loss: gradients flow through the last ``iters`` iterations only).
        """
        if no_grad_iters:
            with torch.no_grad():
                _, state = self.forward(x, no_grad_iters, state)
            state = state.detach()
        s = state
        for s in self.iterate(x, self.config.iters if iters is None else iters, state):
            pass
        return self.readout(s), s

    # --- inference ----------------------------------------------------------------------
    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def solve(
        self,
        inputs: Any,
        iters: int | None = None,
        *,
        batch_size: int = 256,
        device: str | torch.device | None = None,
        return_trace: bool = False,
    ) -> Any:
        """Answer natural inputs (a sudoku string, a FEN, a bit string, or a list of them).

        Returns one answer for one input, a list for a list. ``iters`` defaults to the
        config's. ``device`` (default: where the model is) moves the model there. With
        ``return_trace=True`` returns ``(answers, traces)`` with a :class:`Trace` per input.
        """
        iters = check_iters(self.config.iters if iters is None else iters)
        batch_size = check_iters(batch_size) if batch_size is not None else 256
        if device is not None:
            try:
                self.to(device)
            except (RuntimeError, AssertionError, ValueError) as exc:
                raise InputError(f"cannot use device {device!r}: {exc}") from None
        items, single = self.task.as_batch(inputs)
        parsed = [self.task.parse(item, i) for i, item in enumerate(items)]
        answers: list[Any] = [None] * len(parsed)
        traces: list[Trace | None] = [None] * len(parsed)
        by_length: dict[int, list[int]] = {}
        for i, p in enumerate(parsed):
            by_length.setdefault(self.task.length(p), []).append(i)
        with torch.inference_mode():
            for indices in by_length.values():
                for start in range(0, len(indices), batch_size):
                    chunk = indices[start : start + batch_size]
                    batch = [parsed[i] for i in chunk]
                    x = self.task.encode(batch).to(self.device)
                    if return_trace:
                        out, chunk_traces = self._solve_traced(x, batch, iters)
                        for i, tr in zip(chunk, chunk_traces):
                            traces[i] = tr
                    else:
                        out = self.task.decode(self(x, iters)[0], batch)
                    for i, answer in zip(chunk, out):
                        answers[i] = answer
        if return_trace:
            return (answers[0], traces[0]) if single else (answers, traces)
        return answers[0] if single else answers

    def _solve_traced(self, x: torch.Tensor, batch: list[Any], iters: int) -> tuple[list[Any], list[Trace]]:
        preds: list[list[Any]] = []
        conf, resid = [], []
        prev = self.embed(x)
        for s in self.iterate(x, iters):
            logits = self.readout(s)
            preds.append(self.task.decode(logits, batch))
            conf.append(self.task.confidence(logits))
            resid.append((s - prev).flatten(1).norm(dim=1) / prev.flatten(1).norm(dim=1).clamp_min(1e-12))
            prev = s
        confidence = torch.stack(conf, dim=1).float().cpu().numpy()  # [B, T]
        residual = torch.stack(resid, dim=1).float().cpu().numpy()  # [B, T]
        traces = [
            Trace([p[b] for p in preds], confidence[b], residual[b]) for b in range(len(batch))
        ]
        return preds[-1], traces

    # --- persistence --------------------------------------------------------------------
    def save(self, directory: str, **extra: Any) -> None:
        """Write ``config.json`` and ``model.safetensors`` to ``directory``."""
        from .checkpoint import save

        save(self, directory, **extra)

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())


def build(config: ModelConfig) -> LoopedTransformer:
    """A randomly initialised model of ``config``."""
    if not isinstance(config, ModelConfig):
        raise ConfigError(f"expected a ModelConfig, got {type(config).__name__}")
    return LoopedTransformer(config)
