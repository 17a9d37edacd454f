"""The interface every task implements, and helpers for validating inputs."""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch

from ..errors import InputError


class Task:
    """How a task's natural inputs become tensors and logits become answers.

    Subclasses set the class attributes and implement :meth:`parse`, :meth:`encode`,
    :meth:`decode` and :meth:`targets`. Parsed items are whatever ``parse`` returns; they
    carry what decoding needs (e.g. the board, to return a legal move).
    """

    name: str = ""
    in_channels: int = 1
    out_channels: int = 2
    grid: tuple[int | None, ...] = ()  # token grid for rotary positions; () = 1-D sequence of any
    # length; a None axis takes any size, e.g. (None, None) = square grids of any side
    cell: str = "full"  # default attention cell
    example: str = ""  # one natural input, for help texts and demos

    # --- inputs -------------------------------------------------------------------------
    def is_single(self, inputs: Any) -> bool:
        """Whether ``inputs`` is one input (rather than a batch of them)."""
        return isinstance(inputs, str)

    def as_batch(self, inputs: Any) -> tuple[list[Any], bool]:
        """``(items, single)``: a list of raw inputs, and whether one input was given."""
        if self.is_single(inputs):
            return [inputs], True
        if isinstance(inputs, torch.Tensor) or not isinstance(inputs, Sequence) and not hasattr(inputs, "__array__"):
            raise InputError(
                f"{self.name}: expected one input or a list of inputs, got {type(inputs).__name__}"
            )
        try:
            items = list(inputs)
        except TypeError as exc:  # e.g. a 0-d numpy array
            raise InputError(f"{self.name}: expected one input or a list of inputs, got {type(inputs).__name__} ({exc})") from None
        if not items:
            raise InputError(f"{self.name}: the list of inputs is empty")
        return items, False

    def parse(self, item: Any, index: int) -> Any:
        """Validate one raw input; raise :class:`InputError` naming ``index`` and the problem."""
        raise NotImplementedError

    def length(self, parsed: Any) -> int:
        """Number of tokens of a parsed input; inputs of equal length are batched together."""
        return math.prod(self.grid) if self.grid and None not in self.grid else 0

    # --- tensors ------------------------------------------------------------------------
    def encode(self, parsed: list[Any]) -> torch.Tensor:
        """``[B, L, in_channels]`` float tensor of a batch of parsed inputs of equal length."""
        raise NotImplementedError

    def decode(self, logits: torch.Tensor, parsed: list[Any]) -> list[Any]:
        """Natural answers from ``logits [B, L, out_channels]``."""
        raise NotImplementedError

    def targets(self, parsed: list[Any], answers: list[Any]) -> torch.Tensor:
        """``[B, L]`` class indices of the right answers (for training and scoring)."""
        raise NotImplementedError

    def correct(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """``[B]`` bool: exact match of every output position."""
        return (logits.argmax(dim=-1) == targets).all(dim=-1)

    partial_name: str = "positions right"  # what :meth:`partial` measures, for reports

    def partial(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """``[B]`` float: the share of output positions predicted right (progress short of exact match)."""
        return (logits.argmax(dim=-1) == targets).float().mean(dim=-1)

    def confidence(self, logits: torch.Tensor) -> torch.Tensor:
        """``[B]`` mean over positions of the probability of the predicted class."""
        return logits.float().softmax(dim=-1).amax(dim=-1).mean(dim=-1)


def fail(task: str, index: int, problem: str) -> InputError:
    """An :class:`InputError` naming the task, the input's index and the problem."""
    return InputError(f"{task} input {index}: {problem}")


def short(value: Any, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
