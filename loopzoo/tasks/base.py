"""The interface every task implements, and helpers for validating inputs."""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from ..errors import InputError


# Codes of :meth:`Task.verify_logits`, one per sample.
VERIFIED, FAILED, UNKNOWN = 1, 0, -1


@dataclass(frozen=True)
class Verdict:
    """Whether an answer checks out: ``verified`` is True (it does), False (it breaks a rule,
    named in ``reason``) or None (the task cannot tell)."""

    verified: bool | None
    reason: str = ""

    @property
    def code(self) -> int:
        """:data:`VERIFIED`, :data:`FAILED` or :data:`UNKNOWN`."""
        return UNKNOWN if self.verified is None else VERIFIED if self.verified else FAILED


class Task:
    """How a task's natural inputs become tensors and logits become answers.

    Subclasses set the class attributes and implement :meth:`parse`, :meth:`encode`,
    :meth:`decode` and :meth:`targets`; tasks whose answers can be checked cheaply also
    implement :meth:`verify`. Parsed items are whatever ``parse`` returns; they carry what
    decoding needs (e.g. the board, to return a legal move).
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

    # --- checking answers -------------------------------------------------------------
    def can_verify(self) -> bool:
        """Whether this task overrides :meth:`verify` (else every verdict is unknown)."""
        return type(self).verify is not Task.verify

    def verify(self, parsed: Any, answer: Any) -> Verdict:
        """Whether ``answer`` is a valid answer to the parsed input, without knowing the right one.

        Used by ``halt="valid"``, restarts and ``solve(..., return_info=True)``. The default
        cannot check and returns an unknown verdict.
        """
        return Verdict(None, f"the {self.name} task cannot check its answers")

    def verify_logits(self, logits: torch.Tensor, parsed: list[Any]) -> torch.Tensor:
        """``[B]`` int8 :data:`VERIFIED` / :data:`FAILED` / :data:`UNKNOWN` of the answers ``logits
        [B, L, C]`` decode to; the same verdicts as :meth:`verify`. Called every iteration by
        ``halt="valid"``: override it with tensor operations where decoding is slow."""
        if not self.can_verify():
            return torch.full((logits.shape[0],), UNKNOWN, dtype=torch.int8, device=logits.device)
        codes = [self.verify(p, a).code for p, a in zip(parsed, self.decode(logits, parsed))]
        return torch.tensor(codes, dtype=torch.int8, device=logits.device)


def fail(task: str, index: int, problem: str) -> InputError:
    """An :class:`InputError` naming the task, the input's index and the problem."""
    return InputError(f"{task} input {index}: {problem}")


def short(value: Any, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
