"""Recall modes (docs/design.md §2): how the input embedding ``e`` re-enters every iteration.

A recall module has three hooks: ``project(e)`` turns the input embedding into what the block
receives, ``u`` (``Wh e``, computed once per input, not once per iteration); the block then calls
``before(s, u)`` on the state before the block and ``inject(h, u)`` on each branch input
``h = N1(s)``. ``Wx`` (state) and ``Wh`` (input) are ``Linear(d, d)`` with bias. ``u`` carries
both biases, so ``Wx s + Wh e`` is one matmul-add per iteration (``addmm``), with no separate add.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..registry import recalls


class NoRecall(nn.Module):
    """The block is autonomous; the input enters only through ``s_0 = e``."""

    def project(self, e: torch.Tensor) -> torch.Tensor:
        return e

    def before(self, s: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        return s

    def inject(self, h: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        return h

    def fold(self, u: torch.Tensor, linear: nn.Linear) -> tuple[torch.Tensor, torch.Tensor] | None:
        """``(W, c)`` with ``linear(inject(h, u)) = h W^T + c`` for every ``h``, or ``None`` where
        ``inject`` is not affine in ``h`` with a weight of its own (the block then runs unfolded)."""
        return None


class StandardRecall(NoRecall):
    """External recall: ``u = Wx s + Wh e`` replaces the state before the block."""

    def __init__(self, width: int):
        super().__init__()
        self.wx = nn.Linear(width, width)
        self.wh = nn.Linear(width, width)

    def project(self, e: torch.Tensor) -> torch.Tensor:
        """``Wh e`` plus both biases (``[B, L, D]``)."""
        return F.linear(e, self.wh.weight, self.wh.bias + self.wx.bias)

    def recall(self, s: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        """``Wx s + Wh e`` from ``u = project(e)``: one ``addmm`` (``[B, L, D]``)."""
        shape = s.shape
        return torch.addmm(u.reshape(-1, shape[-1]), s.reshape(-1, shape[-1]), self.wx.weight.t()).view(shape)

    def before(self, s: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        return self.recall(s, u)


class InternalRecall(StandardRecall):
    """Internal recall: each branch sees ``Wx N1(s) + Wh e``; the residual stream carries ``s``."""

    def before(self, s: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        return s

    def inject(self, h: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        return self.recall(h, u)

    def fold(self, u: torch.Tensor, linear: nn.Linear) -> tuple[torch.Tensor, torch.Tensor]:
        """``linear(Wx h + u) = h (P Wx)^T + linear(u)``: ``(P Wx [out, D], linear(u) [B, L, out])``.

        ``P Wx`` is formed in the parameters' dtype; under autocast it is cast once here, not per
        iteration."""
        device = linear.weight.device.type
        with torch.autocast(device, enabled=False):
            weight = linear.weight @ self.wx.weight  # [out, D]
        if torch.is_autocast_enabled(device):
            weight = weight.to(torch.get_autocast_dtype(device))
        return weight, linear(u)


@recalls.register("none")
def none(width: int) -> NoRecall:
    """No recall (model names say ``no-recall``)."""
    return NoRecall()


@recalls.register("recall")
def recall(width: int) -> StandardRecall:
    """Standard ("external") recall before the block."""
    return StandardRecall(width)


@recalls.register("internal-recall")
def internal_recall(width: int) -> InternalRecall:
    """The paper's internal recall inside each sub-layer."""
    return InternalRecall(width)
