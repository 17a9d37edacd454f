"""Prefix-sums data: random bit strings of any length, reproducible from ``(split, seed)``.

The paper's splits (docs/design.md §5): train 8,000 and val 2,000 strings of 32 bits, test 10,000 of
512 bits. Each split draws from its own stream (``SeedSequence`` of seed and split), so
changing one split's size or length does not change the others.
"""
from __future__ import annotations

import numpy as np

from ..errors import LoopzooError
from ..registry import datasets
from .base import TaskDataset, check_split

SPLITS = {"train": (32, 8_000), "val": (32, 2_000), "test": (512, 10_000)}  # split -> (bits, count)
_STREAM = {"train": 0, "val": 1, "test": 2}


def bits(split: str, seed: int = 0, n: int | None = None, length: int | None = None) -> np.ndarray:
    """``[n, length]`` uint8 random bits of ``split`` for ``seed`` (defaults: the paper's sizes)."""
    check_split(split)
    default_len, default_n = SPLITS[split]
    length = default_len if length is None else length
    n = default_n if n is None else n
    if length < 1 or n < 1:
        raise LoopzooError(f"prefix sums need length >= 1 and n >= 1, got length={length}, n={n}")
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, _STREAM[split], length])))
    return rng.integers(0, 2, size=(n, length), dtype=np.uint8)


def answer(row: np.ndarray) -> np.ndarray:
    """Running parity of a bit row."""
    return np.cumsum(row, dtype=np.int64) % 2


@datasets.register("prefix-sums")
def prefix_sums_split(
    split: str, seed: int = 0, path: None = None, n: int | None = None, length: int | None = None
) -> TaskDataset:
    """A prefix-sums split, generated on the fly (no file is needed)."""
    if path is not None:
        raise LoopzooError("prefix sums are generated, not read: leave path=None")
    data = bits(split, seed, n, length)  # [n, L]
    sums = np.cumsum(data, axis=1, dtype=np.int64) % 2  # [n, L]
    to_str = lambda a: (a.astype(np.uint8) + ord("0")).tobytes().decode()  # noqa: E731
    inputs = [to_str(r) for r in data]
    answers = [to_str(r) for r in sums]
    return TaskDataset("prefix-sums", split, inputs, answers, None, source=f"generated seed={seed}")
