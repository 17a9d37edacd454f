"""Data for the three tasks: generated offline from a seed, bundled, or read from public formats.

    >>> from loopzoo.data import load_split
    >>> ds = load_split("sudoku", "train")          # the bundled generated set
    >>> x, y = ds[0]                                 # x [81, 10] float, y [81] long
    >>> load_split("chess", "test", path="lichess_db_puzzle.csv.zst")
    >>> load_split("sudoku", "test", source="public", n=1000)   # seeded sample of the public hard split

Each task registers one dataset factory in :data:`loopzoo.registry.datasets`.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .base import TaskDataset

__all__ = ["load_split", "list_datasets"]


def list_datasets() -> list[str]:
    """Task names that have a registered dataset."""
    from ..registry import datasets

    return datasets.names()


def load_split(
    task: str, split: str, seed: int = 0, path: str | Path | None = None, n: int | None = None, **kwargs: Any
) -> TaskDataset:
    """One split (``"train"``, ``"val"`` or ``"test"`` = the hard split) of ``task``.

    ``path=None`` uses the bundled or generated set; a path reads a local public-format file
    (sudoku-extreme CSV, Lichess puzzle CSV, plain or compressed). ``n`` keeps the first ``n``
    items; prefix sums also take ``length=`` to override the bit length. Sudoku takes
    ``source="public"`` (or ``"forum-hardest"``, ``"17-clue"``) for the bundled public lists, whose
    splits come in a seeded order, so there ``n`` is a seeded random sample (docs/sudoku-data.md).

    Sources joined by ``+`` mix: ``source="generated+forum-hardest"`` is the same split of each source,
    concatenated, each item once (with ``n``, an equal share of the ``n`` from each, in order: fewer
    where the sources share items), e.g. to fine-tune on new data without forgetting the old.
    """
    from ..registry import datasets
    from .base import TaskDataset

    source = kwargs.get("source")
    if isinstance(source, str) and "+" in source:
        parts = source.split("+")
        share = None if n is None else -(-n // len(parts))
        mixed = TaskDataset.concat(
            [load_split(task, split, seed, path, share, **{**kwargs, "source": part}) for part in parts], source)
        return mixed if n is None else mixed.subset(range(min(n, len(mixed))))
    return datasets.get(task)(split, seed=seed, path=path, n=n, **kwargs)
