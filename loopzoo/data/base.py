"""The dataset type every loader returns: natural inputs and answers, encoded once as tensors."""
from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from ..errors import DataError, LoopzooError

SPLITS = ("train", "val", "test")
_CACHE: dict[tuple, object] = {}
ENCODE_BATCH = 2048


def content_hash(task: str, inputs: Sequence[str], answers: Sequence[str]) -> str:
    """sha256 hex of a split's content: the task name and every ``input,answer`` line, in order."""
    digest = hashlib.sha256(f"loopzoo-data:{task}\n".encode())
    for inp, ans in zip(inputs, answers):
        digest.update(f"{inp},{ans}\n".encode())
    return digest.hexdigest()


def cached_read(reader: Callable, path) -> object:
    """``reader(path)``, remembered while the file is unchanged (train/val/test read one file once)."""
    from pathlib import Path

    stat = Path(path).stat()
    key = (reader.__module__, reader.__name__, str(Path(path).resolve()), stat.st_mtime_ns, stat.st_size)
    if key not in _CACHE:
        if len(_CACHE) >= 4:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[key] = reader(path)
    return _CACHE[key]


def check_split(split: str) -> str:
    if split not in SPLITS:
        raise LoopzooError(f"unknown split {split!r}; choose one of {', '.join(SPLITS)} (test = the hard split)")
    return split


def paper_split(easy: np.ndarray, hard: np.ndarray, split: str, n_easy: int = 50_000, n_test: int = 10_000) -> np.ndarray:
    """Indices of ``split`` as the paper takes them (docs/design.md §5).

    ``easy``/``hard`` are item indices in file order. Train/val = the first ``n_easy`` easy
    items, the first 80% for train (40k/10k at full size); test = the first ``n_test`` hard ones.
    """
    pool = easy[:n_easy]
    cut = int(round(0.8 * len(pool)))
    return {"train": pool[:cut], "val": pool[cut:], "test": hard[:n_test]}[split]


class TaskDataset(Dataset):
    """A split of one task: ``ds[i] -> (x [L, C_in] float, y [L] long)``.

    Inputs are parsed and encoded by the task once, in batches, when the dataset is built.
    One-hot encodings are kept as uint8 (a quarter of the memory) and cast on access.
    ``encoder`` is a vectorised shortcut for already-validated data; it must give exactly what
    ``task.encode`` / ``task.targets`` give (the tests check this).
    """

    def __init__(
        self,
        task_name: str,
        split: str,
        inputs: Sequence[str],
        answers: Sequence[str],
        ratings: Sequence[float] | None = None,
        source: str = "",
        encoder: Callable[[list[str], list[str]], tuple[torch.Tensor, torch.Tensor]] | None = None,
    ):
        from ..registry import tasks

        if len(inputs) != len(answers):
            raise DataError(f"{source or task_name}: {len(inputs)} inputs but {len(answers)} answers")
        if not inputs:
            raise DataError(f"{source or task_name}: the {split} split is empty")
        self.task_name, self.split, self.source = task_name, split, source
        self.task = tasks.get(task_name)()
        self.inputs = list(inputs)
        self.answers = list(answers)
        self.ratings = list(ratings) if ratings is not None else None
        self.data_hash = content_hash(task_name, self.inputs, self.answers)
        if encoder is not None:
            x, self.y = encoder(self.inputs, self.answers)
            self._x = x.to(torch.uint8) if bool(((x == 0) | (x == 1)).all()) else x  # [N, L, C_in]
            return
        xs, ys = [], []
        for start in range(0, len(self.inputs), ENCODE_BATCH):
            chunk = self.inputs[start : start + ENCODE_BATCH]
            parsed = [self.task.parse(item, start + i) for i, item in enumerate(chunk)]
            x = self.task.encode(parsed)  # [B, L, C_in]
            if x.dtype.is_floating_point and bool(((x == 0) | (x == 1)).all()):
                x = x.to(torch.uint8)
            xs.append(x)
            ys.append(self.task.targets(parsed, self.answers[start : start + ENCODE_BATCH]))  # [B, L]
        self._x = torch.cat(xs)  # [N, L, C_in]
        self.y = torch.cat(ys).long()  # [N, L]

    @classmethod
    def concat(cls, parts: Sequence[TaskDataset], source: str) -> TaskDataset:
        """The items of ``parts`` (splits of one task) in order, each ``(input, answer)`` once (two
        sources may share a split, e.g. a training source whose val split is another's), as one dataset."""
        if not parts or len({p.task_name for p in parts}) != 1:
            raise DataError(f"{source}: cannot mix {[p.task_name for p in parts]}: one task's splits only")
        first = parts[0]
        mixed = cls.__new__(cls)
        mixed.task_name, mixed.split, mixed.source, mixed.task = first.task_name, first.split, source, first.task
        dtype = functools.reduce(torch.promote_types, (p._x.dtype for p in parts))
        mixed.inputs, mixed.answers, mixed.ratings, xs, ys = [], [], [], [], []
        seen: set[tuple[str, str]] = set()
        for part in parts:
            keep = [i for i, item in enumerate(zip(part.inputs, part.answers)) if not (item in seen or seen.add(item))]
            mixed.inputs += [part.inputs[i] for i in keep]
            mixed.answers += [part.answers[i] for i in keep]
            mixed.ratings += [part.ratings[i] for i in keep] if part.ratings is not None else [float("nan")] * len(keep)
            xs.append(part._x[keep].to(dtype))
            ys.append(part.y[keep])
        mixed.data_hash = content_hash(mixed.task_name, mixed.inputs, mixed.answers)
        mixed._x, mixed.y = torch.cat(xs), torch.cat(ys)  # [N, L, C_in], [N, L]
        return mixed

    def subset(self, indices: Sequence[int]) -> TaskDataset:
        """The items ``indices`` of this split, in that order."""
        idx = list(indices)
        out = type(self).__new__(type(self))
        out.__dict__.update(self.__dict__)
        out.inputs = [self.inputs[i] for i in idx]
        out.answers = [self.answers[i] for i in idx]
        out.ratings = None if self.ratings is None else [self.ratings[i] for i in idx]
        out.data_hash = content_hash(self.task_name, out.inputs, out.answers)
        out._x, out.y = self._x[idx], self.y[idx]
        return out

    def __len__(self) -> int:
        return len(self.inputs)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self._x[i].float(), self.y[i]

    @property
    def x(self) -> torch.Tensor:
        """All inputs, ``[N, L, C_in]`` float."""
        return self._x.float()

    def tensors(self) -> tuple[torch.Tensor, torch.Tensor]:
        """``(x [N, L, C_in] float, y [N, L] long)``: the whole split, for fast batching."""
        return self.x, self.y

    def __repr__(self) -> str:
        return (
            f"TaskDataset({self.task_name!r}, split={self.split!r}, n={len(self)}, "
            f"shape={tuple(self._x.shape[1:])}, source={self.source!r}, hash={self.data_hash[:12]})"
        )
