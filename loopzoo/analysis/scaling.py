"""Test-time scaling: accuracy over a grid of difficulty x iterations, with compute per point.

Difficulty is the bit length for prefix sums and a rating band (equal-count quantile bands of the
val + hard splits together) for sudoku and chess. Accuracy comes from
:func:`loopzoo.evaluate.accuracy_curve` (every iteration ``1..T``); compute is the measured FLOPs
of one iteration on one sample (``torch.utils.flop_counter``) times the iterations.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch.utils.data import ConcatDataset, Subset

from ..errors import DataError, LoopzooError
from .budget import Budget
from .jacobian import differentiable_attention

PREFIX_LENGTHS = (32, 64, 128, 256, 512)


@dataclass
class Band:
    """One difficulty level: a label, a numeric value (bits or mean rating) and its items."""

    label: str
    value: float
    dataset: Any  # supports len() and ds[i] -> (x, y)


def difficulty_bands(task: str, *, samples: int = 50, seed: int = 0, lengths: tuple[int, ...] = PREFIX_LENGTHS,
                     bands: int = 4) -> list[Band]:
    """Difficulty levels of ``task`` with up to ``samples`` items each.

    Raises :class:`~loopzoo.DataError` when the task's splits or ratings are unavailable.
    """
    from ..data import load_split

    if task == "prefix-sums":
        return [Band(f"{n} bits", float(n), load_split(task, "test", seed=seed, n=samples, length=n)) for n in lengths]
    parts, ratings = [], []
    for split in ("val", "test"):
        ds = load_split(task, split, seed=seed)
        if ds.ratings is None:
            raise DataError(f"{task} {split} split has no ratings: cannot form difficulty bands")
        parts.append(ds)
        ratings.extend(ds.ratings)
    data = ConcatDataset(parts)
    r = np.asarray(ratings, dtype=np.float64)
    out = []
    order = np.argsort(r, kind="stable")
    for i, chunk in enumerate(np.array_split(order, bands)):
        if not len(chunk):
            continue
        rng = np.random.default_rng([seed, i])
        pick = np.sort(rng.permutation(chunk)[:samples])
        out.append(Band(f"rating {r[chunk].min():g}-{r[chunk].max():g}", float(r[pick].mean()),
                        Subset(data, pick.tolist())))
    return out


def curve_batch(budget: Budget, dataset: Any) -> int:
    """Items per batch of an accuracy curve on ``dataset`` within ``budget`` (its first item's length)."""
    if not len(dataset):
        return 1
    return budget.samples(int(dataset[0][0].shape[0]), layers=1, states=3)


def flops_per_iteration(model, x: torch.Tensor) -> int:
    """Measured FLOPs of one loop iteration ``F(s; e)`` on one sample ``x [L, C_in]``."""
    from torch.utils.flop_counter import FlopCounterMode

    x = x[None].to(model.device)
    with torch.no_grad(), differentiable_attention():
        e = model.embed(x)
        with FlopCounterMode(display=False) as counter:
            model.step(e, e)
    return int(counter.get_total_flops())


def scaling_grid(model, bands: list[Band], iters: int, *, batch_size: int = 256,
                 points: tuple[int, ...] = (1, 2, 5, 10, 20, 30, 50, 100, 200, 300, 500),
                 budget: Budget | None = None) -> dict[str, Any]:
    """Accuracy of ``model`` at every iteration ``1..iters`` for each band, with compute.

    Returns plain lists: ``accuracy[band][t-1]``, ``flops_per_iter[band]`` (per sample),
    ``grid`` = accuracy and FLOPs at the ``points`` up to ``iters``, and at ``iters``. With a
    ``budget``, each band's batches are cut to fit it (long inputs run fewer at a time).
    """
    from ..evaluate import accuracy_curve

    if not bands:
        raise LoopzooError("no difficulty bands to evaluate")
    shown = sorted({t for t in points if t <= iters} | {iters})
    rows = []
    for band in bands:
        size = batch_size if budget is None else min(batch_size, curve_batch(budget, band.dataset))
        curve = accuracy_curve(model, band.dataset, iters, batch_size=size)
        flops = flops_per_iteration(model, band.dataset[0][0])
        rows.append({
            "label": band.label, "difficulty": band.value, "samples": curve.samples,
            "accuracy": [round(float(a), 5) for a in curve.accuracy],
            "flops_per_iter": flops,
            "grid": [{"iters": t, "accuracy": round(curve.at(t), 5), "flops": flops * t} for t in shown],
            "best": curve.best, "best_iter": curve.best_iter, "final": curve.final,
        })
    return {"iters": iters, "points": shown, "bands": rows}
