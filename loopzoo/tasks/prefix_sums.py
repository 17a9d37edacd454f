"""Prefix sums: the running parity of a bit string, at every position."""
from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ..registry import tasks
from .base import Task, fail, short


class PrefixSums(Task):
    """Input ``'0110...'`` of any length; answer: the running sum mod 2 (``'0100...'``)."""

    name = "prefix-sums"
    in_channels = 1  # each bit is fed as +-0.5
    out_channels = 2
    partial_name = "bits right"
    cell = "local"
    example = "01101110010100110101101011100101"

    def is_single(self, inputs: Any) -> bool:
        if isinstance(inputs, str):
            return True
        if isinstance(inputs, np.ndarray):
            return inputs.ndim == 1
        if isinstance(inputs, (list, tuple)) and inputs:
            return all(isinstance(b, (int, bool, np.integer)) for b in inputs)
        return False

    def parse(self, item: Any, index: int) -> np.ndarray:
        if isinstance(item, str):
            text = item.strip()
            if not text:
                raise fail(self.name, index, "empty bit string")
            bad = sorted(set(text) - {"0", "1"})
            if bad:
                raise fail(self.name, index, f"bit strings hold only '0' and '1', found {bad[:5]} in {short(item)}")
            return np.frombuffer(text.encode(), dtype=np.uint8) - ord("0")
        if isinstance(item, np.ndarray) and item.ndim != 1:
            raise fail(self.name, index, f"expected a 1-D array of bits, got shape {item.shape}")
        if isinstance(item, (list, tuple, np.ndarray)):
            if len(item) == 0:
                raise fail(self.name, index, "empty bit list")
            if not all(isinstance(b, (int, bool, np.integer)) and b in (0, 1) for b in item):
                raise fail(self.name, index, f"a bit list holds only 0 and 1, got {short(list(item))}")
            return np.asarray(item, dtype=np.uint8)
        raise fail(self.name, index, f"expected a bit string like '0110', got {type(item).__name__} {short(item)}")

    def length(self, parsed: np.ndarray) -> int:
        return len(parsed)

    def encode(self, parsed: list[np.ndarray]) -> torch.Tensor:
        bits = torch.from_numpy(np.stack(parsed)).float()  # [B, L]
        return (bits - 0.5).unsqueeze(-1)  # [B, L, 1]

    def decode(self, logits: torch.Tensor, parsed: list[np.ndarray]) -> list[str]:
        return ["".join("01"[b] for b in row) for row in logits.argmax(dim=-1).tolist()]

    def targets(self, parsed: list[np.ndarray], answers: list[Any] | None = None) -> torch.Tensor:
        bits = torch.from_numpy(np.stack(parsed)).long()
        return bits.cumsum(dim=-1) % 2  # [B, L]


tasks.register("prefix-sums", func=PrefixSums)
