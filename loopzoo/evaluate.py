"""Exact-match accuracy at every iteration, and the scalar diagnostics logged in training.

Memory does not grow with the number of iterations: per batch, one state is kept and only a
count of correct answers per iteration is accumulated.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm


@dataclass
class Curve:
    """Accuracy after each iteration ``1..T`` on one split."""

    accuracy: np.ndarray  # [T]
    samples: int
    state_norm_ratio: float  # mean over samples of ||s_T|| / ||s_1||
    partial: np.ndarray | None = None  # [T] mean share of positions right (Task.partial)

    @property
    def final(self) -> float:
        return float(self.accuracy[-1])

    @property
    def best(self) -> float:
        return float(self.accuracy.max())

    @property
    def best_iter(self) -> int:
        return int(self.accuracy.argmax()) + 1

    @property
    def overthinking(self) -> float:
        """Best accuracy over iterations minus accuracy at the last iteration."""
        return self.best - self.final

    def at(self, iters: int) -> float:
        return float(self.accuracy[iters - 1])

    def summary(self, points: tuple[int, ...] = (1, 10, 30, 100, 300, 500)) -> dict[str, Any]:
        shown = {str(t): round(self.at(t), 4) for t in points if t <= len(self.accuracy)}
        record = {"samples": self.samples, "final": round(self.final, 4), "best": round(self.best, 4),
                  "best_iter": self.best_iter, "overthinking": round(self.overthinking, 4),
                  "state_norm_ratio": round(self.state_norm_ratio, 4), "at": shown}
        if self.partial is not None:
            record["partial_at"] = {str(t): round(float(self.partial[t - 1]), 4) for t in points if t <= len(self.partial)}
        return record


def collate(dataset, indices) -> tuple[torch.Tensor, torch.Tensor]:
    """``(x [B, L, C], y [B, L])`` of the items ``indices`` of a dataset of ``(x [L, C], y [L])``."""
    items = [dataset[i] for i in indices]
    return torch.stack([x for x, _ in items]), torch.stack([y for _, y in items])


def batches(dataset, batch_size: int, limit: int | None = None):
    """``(x, y)`` batches over the first ``limit`` items of a dataset."""
    n = len(dataset) if limit is None else min(limit, len(dataset))
    for start in range(0, n, batch_size):
        yield collate(dataset, range(start, min(start + batch_size, n)))


@torch.inference_mode()
def accuracy_curve(model, dataset, iters: int, *, batch_size: int = 256, limit: int | None = None,
                   device: str | torch.device | None = None, progress: bool | None = False,
                   autocast: bool = False) -> Curve:
    """Exact-match accuracy of ``model`` on ``dataset`` after every iteration ``1..iters``."""
    device = torch.device(device) if device is not None else model.device
    was_training = model.training
    model.eval()
    correct = torch.zeros(iters, dtype=torch.long, device=device)
    partial = torch.zeros(iters, dtype=torch.float64, device=device)
    ratios, count = 0.0, 0
    total = len(dataset) if limit is None else min(limit, len(dataset))
    bar = tqdm(total=total * iters, desc="eval", unit="it·ex", disable=None if progress else True, leave=False)
    for x, y in batches(dataset, batch_size, limit):
        x, y = x.to(device), y.to(device)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=autocast):
            e = model.embed(x)  # [B, L, D]
            u = model.recall_inputs(e)
            s, first = e, None
            for t in range(iters):
                s = model.step(s, e, u)
                if first is None:
                    first = s.float().flatten(1).norm(dim=1)
                logits = model.readout(s)
                correct[t] += model.task.correct(logits, y).sum()
                partial[t] += model.task.partial(logits, y).double().sum()
                bar.update(len(x))
        ratios += float((s.float().flatten(1).norm(dim=1) / first.clamp_min(1e-12)).sum())
        count += len(x)
    bar.close()
    model.train(was_training)
    return Curve((correct.double() / max(count, 1)).cpu().numpy(), count, ratios / max(count, 1),
                 (partial / max(count, 1)).cpu().numpy())


def recall_spectral_radius(model) -> float | None:
    """``rho(Wx)``: largest |eigenvalue| of the state-mixing recall matrix (None without recall)."""
    wx = getattr(model.blocks[0].recall, "wx", None)
    if wx is None:
        return None
    return float(torch.linalg.eigvals(wx.weight.detach().double().cpu()).abs().max())
