"""Inputs to try on the page: the first few of the bundled val and hard splits, a random hard one."""
from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from ..errors import InputError, LoopzooError

PER_SPLIT = 4  # examples shown from each split
POOL = 1000  # hard inputs "random hard" draws from
SPLITS = (("val", "val"), ("test", "hard"))  # (split, label on the page)


@dataclass(frozen=True)
class Example:
    label: str
    text: str
    answer: str | None  # the right answer, when the split has it


def _label(split: str, i: int, rating: float | None) -> str:
    return f"{split} {i + 1}" + ("" if rating is None else f" (rating {rating:g})")


@functools.lru_cache(maxsize=16)
def examples(task_name: str) -> tuple[Example, ...]:
    """The first :data:`PER_SPLIT` inputs of each split of ``task_name`` (``()`` if it has no data,
    e.g. a plugin task without a dataset or chess without python-chess)."""
    from ..data import load_split

    found = []
    for split, label in SPLITS:
        try:
            ds = load_split(task_name, split, n=PER_SPLIT)
        except LoopzooError:
            continue
        for i in range(len(ds)):
            rating = None if ds.ratings is None else ds.ratings[i]
            found.append(Example(_label(label, i, rating), str(ds.inputs[i]), str(ds.answers[i])))
    return tuple(found)


@functools.lru_cache(maxsize=4)
def _hard_pool(task_name: str):
    from ..data import load_split

    try:
        return load_split(task_name, "test", n=POOL)
    except LoopzooError as exc:
        raise InputError(f"no hard inputs for {task_name}: {exc}") from None


def random_hard(task_name: str, rng: np.random.Generator | None = None) -> Example:
    """One input drawn from the first :data:`POOL` of the hard split, with its answer."""
    ds = _hard_pool(task_name)
    i = int((rng or np.random.default_rng()).integers(len(ds)))
    rating = None if ds.ratings is None else ds.ratings[i]
    return Example(_label("random hard", i, rating), str(ds.inputs[i]), str(ds.answers[i]))
