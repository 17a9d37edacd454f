"""Norm placements (docs/design.md §3): which of the three slots of a sub-layer hold an RMSNorm.

For a branch ``f`` (attention or MLP) a sub-layer step is ``s <- N3(R(s, N2(f(N1(s)))))``:
N1 normalizes the branch input, N2 its output, N3 the state after the residual add ``R``.
One module per slot is shared by the attention and the MLP sub-layer, as in the paper's code.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..registry import norms


def inverse_rms(x: torch.Tensor, eps: float, dtype: torch.dtype | None = None) -> torch.Tensor:
    """``1 / sqrt(mean(x^2) + eps)`` over the last axis, ``[..., 1]`` in ``dtype`` (default ``x``'s).

    One reduction pass over ``x`` (``vector_norm``, which accumulates bf16 in fp32); the rest
    runs on the small result."""
    norm = torch.linalg.vector_norm(x, dim=-1, keepdim=True)  # [..., 1]
    norm = norm.to(torch.promote_types(norm.dtype, torch.float32))
    return (norm.square() / x.shape[-1] + eps).rsqrt().to(dtype or x.dtype)


class RMSNorm(nn.RMSNorm):
    """``nn.RMSNorm`` that normalizes bf16/fp16 inputs (under autocast) in fp32 and returns the
    input's dtype: the fused kernel needs input and gain in one dtype, and fp32 statistics are exact.

    Without gradients (inference, the progressive loss's first iterations) it takes fewer passes
    over ``x``: one ``vector_norm`` and two multiplies in ``x``'s dtype (CPU's ``rms_norm`` is a
    chain of six element-wise kernels, and a bf16 input was copied to fp32 and back), and
    :meth:`normalize_` writes in place into a tensor the caller owns.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not torch.is_grad_enabled():
            return self._scale(x, x * inverse_rms(x, self._eps()))
        if x.dtype == self.weight.dtype:
            return super().forward(x)
        return F.rms_norm(x.to(self.weight.dtype), self.normalized_shape, self.weight, self.eps).to(x.dtype)

    def normalize_(self, x: torch.Tensor) -> torch.Tensor:
        """The norm of ``x``, written into ``x`` when no gradient is recorded (else as ``forward``);
        for a temporary the caller owns, such as a residual sum."""
        if torch.is_grad_enabled():
            return self(x)
        return self._scale(x, x.mul_(inverse_rms(x, self._eps())))

    def _eps(self) -> float:
        return torch.finfo(self.weight.dtype).eps if self.eps is None else self.eps

    def _scale(self, x: torch.Tensor, normalized: torch.Tensor) -> torch.Tensor:
        weight = self.weight if self.weight.dtype == x.dtype else self.weight.to(x.dtype)  # [D]: bf16 x bf16 has one kernel
        return normalized.mul_(weight)


class NoNorm(nn.Identity):
    """An empty norm slot."""

    def normalize_(self, x: torch.Tensor) -> torch.Tensor:
        return x


class NormPlacement(nn.Module):
    """The slots N1, N2, N3 and the residual ``R(s, v) = s + v``."""

    def __init__(self, width: int, n1: bool, n2: bool, n3: bool):
        super().__init__()
        self.n1 = RMSNorm(width) if n1 else NoNorm()
        self.n2 = RMSNorm(width) if n2 else NoNorm()
        self.n3 = RMSNorm(width) if n3 else NoNorm()

    def residual(self, s: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        return s + v

    def update(self, s: torch.Tensor, branch_out: torch.Tensor) -> torch.Tensor:
        """``N3(R(s, N2(branch_out)))``: the state after one sub-layer (N3 in place on the new sum)."""
        n3 = getattr(self.n3, "normalize_", self.n3)  # in place where the slot can (a plugin's module may not)
        return n3(self.residual(s, self.n2(branch_out)))


class GRUResidual(NormPlacement):
    """Peri-norm slots with a gated residual: ``R(s, v) = GRUCell(input=v, hidden=s)``."""

    def __init__(self, width: int):
        super().__init__(width, n1=True, n2=True, n3=False)
        self.gru = nn.GRUCell(width, width)
        # As the paper's init.py: one orthogonal draw over the whole [3D, D] hidden weight (gates
        # reset, update, new), and the update-gate slice of BOTH biases at 1 (an effective bias of
        # 2), so the cell starts close to "keep s".
        nn.init.xavier_uniform_(self.gru.weight_ih)
        nn.init.orthogonal_(self.gru.weight_hh)
        with torch.no_grad():
            for bias in (self.gru.bias_ih, self.gru.bias_hh):
                bias.zero_()
                bias[width : 2 * width].fill_(1.0)

    def residual(self, s: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        shape = s.shape  # [B, L, D]
        return self.gru(v.reshape(-1, shape[-1]), s.reshape(-1, shape[-1])).view(shape)


@norms.register("prenorm")
def prenorm(width: int) -> NormPlacement:
    """N1 = RMSNorm: the usual pre-norm transformer."""
    return NormPlacement(width, n1=True, n2=False, n3=False)


@norms.register("perinorm")
def perinorm(width: int) -> NormPlacement:
    """N1 and N2 = RMSNorm: the branch input and output are normalized."""
    return NormPlacement(width, n1=True, n2=True, n3=False)


@norms.register("outernorm")
def outernorm(width: int) -> NormPlacement:
    """N3 = RMSNorm: post-norm on the state after every residual add, so ||s_t|| stays fixed."""
    return NormPlacement(width, n1=False, n2=False, n3=True)


@norms.register("gru")
def gru(width: int) -> NormPlacement:
    """Peri-norm branches with a GRU cell as the residual."""
    return GRUResidual(width)
