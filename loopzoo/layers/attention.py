"""Attention cells: bidirectional multi-head attention with rotary positions and QK-norm.

``full``: every token attends to every token (sudoku, chess), 2-D rotary over the grid.
``local``: each token attends to a window of ``window`` neighbours, shifted at the borders
so it always holds ``window`` positions (prefix sums); cost O(L * window), any length.

q and k are rotated and normalized together, as one tensor. Attention itself runs in
``scaled_dot_product_attention`` (its fused kernels), except where that is slow: on the CPU, in
bf16/fp16 with gradients, the fused kernel's backward ran about 7x slower than autograd through
``softmax(q k^T * scale) v`` at the sudoku shape (``[64, 4, 81, 32]``: 44 ms against 6.8 ms), and
it was half of a training step; there the explicit form runs (:func:`explicit_attention`,
chosen by :func:`use_explicit`; ``scripts/bench_train.py`` measures both).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..registry import cells
from .norms import RMSNorm, inverse_rms
from .rotary import Rotary, remember


def use_explicit(q: torch.Tensor, explicit: bool | None = None) -> bool:
    """Whether :func:`explicit_attention` serves ``q``: ``explicit`` if given, else where it is the
    faster kernel (on the CPU, in half precision, with gradients)."""
    if explicit is not None:
        return explicit
    return q.device.type == "cpu" and q.dtype in (torch.bfloat16, torch.float16) and torch.is_grad_enabled()


def explicit_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """``softmax(q k^T / sqrt(hd) + mask) v`` for ``q, k, v [..., L, hd]`` (``mask`` additive,
    broadcast to the scores ``[..., L, S]``): the function SDPA computes, as two batched matmuls
    around a softmax, whose autograd backward is fast on the CPU for short sequences."""
    scores = torch.matmul(q, k.transpose(-1, -2)).mul_(q.shape[-1] ** -0.5)  # [..., L, S]
    if mask is not None:
        scores = scores + mask
    return torch.matmul(torch.softmax(scores, dim=-1), v)  # [..., L, hd]


def attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None = None,
              explicit: bool | None = None) -> torch.Tensor:
    """Scaled dot-product attention by the faster kernel for this call (:func:`use_explicit`)."""
    if use_explicit(q, explicit):
        return explicit_attention(q, k, v, mask)
    return F.scaled_dot_product_attention(q, k, v, attn_mask=mask)


def set_kernel(model: nn.Module, explicit: bool | None) -> None:
    """Set ``explicit`` (see :class:`Attention`) on every attention cell of ``model``."""
    for module in model.modules():
        if isinstance(module, Attention):
            module.explicit = explicit


class Attention(nn.Module):
    """Fused QKV projection, rotary, per-head RMSNorm on q and k, output projection.

    ``explicit`` picks the attention kernel (:func:`use_explicit`): None (default) the faster one
    for each call, False always SDPA, True always the explicit form."""

    explicit: bool | None = None

    def __init__(self, width: int, heads: int, grid: tuple[int, ...] = (), rope_base: float = 10000.0):
        super().__init__()
        self.heads, self.head_dim = heads, width // heads
        self.qkv = nn.Linear(width, 3 * width)
        self.out = nn.Linear(width, width)
        self.rotary = Rotary(self.head_dim, grid, rope_base)
        self.q_norm = RMSNorm(self.head_dim)
        self.k_norm = RMSNorm(self.head_dim)

    @property
    def in_proj(self) -> nn.Linear:
        """The first, linear map of the branch (the model may fold its recall into it)."""
        return self.qkv

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.from_projection(self.qkv(x))

    def from_projection(self, qkv: torch.Tensor) -> torch.Tensor:
        """The branch after ``in_proj``, from ``qkv [B, L, 3 D]``."""
        B, L, D = qkv.shape[0], qkv.shape[1], qkv.shape[2] // 3
        H, hd = self.heads, self.head_dim
        qkv = qkv.view(B, L, 3, H, hd)
        q, k = self.rotate_and_normalize(qkv[:, :, :2])  # [B, H, L, hd] each
        y = self.attend(q, k, qkv[:, :, 2].transpose(1, 2))  # [B, H, L, hd]
        return self.out(y.transpose(1, 2).reshape(B, L, D))

    def rotate_and_normalize(self, qk: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Rotary, then per-head RMSNorm with q's and k's gains, on ``qk [B, L, 2, H, hd]``:
        ``(q, k)``, each ``[B, H, L, hd]`` in ``qk``'s dtype.

        With gradients the rotation runs in fp32 at least (bf16 has no complex type), then
        ``rms_norm``. Without, a rotation keeps the norm, so the scale comes from ``qk`` before
        it (one reduction pass); fp32 then rotates with one complex multiply and scales in place;
        bf16 (with at least 64 rows per position) rotates and applies the gains as one batched
        matmul per position and q/k (:meth:`Rotary.matrices`) and writes the scaled result in
        the layout attention reads fastest, instead of converting to fp32 and back.
        """
        B, L, _, H, hd = qk.shape
        real = torch.promote_types(qk.dtype, torch.float32)
        eps = self.q_norm._eps()
        if not torch.is_grad_enabled() and qk.dtype != real and B * H >= 64:
            scale = inverse_rms(qk, eps)  # [B, L, 2, H, 1]
            x = qk.permute(1, 2, 0, 3, 4).contiguous().view(L * 2, B * H, hd)  # rows of one position and q/k
            matrices = self.rotary.matrices(L, [self.q_norm.weight, self.k_norm.weight], qk.device, qk.dtype)
            rotated = torch.bmm(x, matrices)  # [L * 2, B * H, hd]
            out = qk.new_empty((2, B, H, L, hd))
            torch.mul(rotated.view(L, 2, B, H, hd).permute(1, 2, 3, 0, 4), scale.permute(2, 0, 3, 1, 4), out=out)
            return out[0], out[1]
        table = self.rotary.table(L, qk.device, real)[:, None, None]  # [L, 1, 1, hd/2, 2]
        gains = torch.stack((self.q_norm.weight, self.k_norm.weight))[:, None]  # [2, 1, hd]
        if torch.is_grad_enabled():
            qk = (F.rms_norm(self.rotary(qk.to(real), table), (hd,), eps=eps) * gains).to(qk.dtype)
        else:
            scale = inverse_rms(qk, eps, real)  # [B, L, 2, H, 1]
            rotated = self.rotary(qk.to(real), table)  # [B, L, 2, H, hd], new
            qk = rotated.mul_(scale).mul_(gains.to(real)).to(qk.dtype)
        return qk[:, :, 0].transpose(1, 2), qk[:, :, 1].transpose(1, 2)

    def attend(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        return attention(q, k, v, explicit=self.explicit)


class LocalAttention(Attention):
    """Attention restricted to a sliding window that is shifted inward at the borders.

    Queries go in blocks of ``block`` positions; each block attends, in one fused SDPA call with
    a band mask, to the keys its rows can reach (``block + 2 (window - 1)`` positions), so the
    cost stays O(L * window) without gathering a copy of k and v per query.
    """

    def __init__(self, width: int, heads: int, window: int = 5, rope_base: float = 10000.0):
        super().__init__(width, heads, (), rope_base)
        self.window = window
        self.block = max(8, window)
        self._masks: dict[tuple, torch.Tensor] = {}

    def band_mask(self, length: int, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
        """``[1, blocks, block, block + 2 (window - 1)]``, additive: 0 where query row r of a block
        may see key slot j, ``-inf`` elsewhere (4-D and of q's dtype, as the fused CPU kernel takes it)."""
        key = (length, device, dtype)
        mask = self._masks.get(key)
        if mask is None:
            if torch.compiler.is_compiling():  # built inside the graph (a constant there), not cached from it
                return self._build_mask(length).to(device, dtype)
            with torch.inference_mode(False):  # a mask first built during inference must serve training too
                mask = remember(self._masks, key, self._build_mask(length).to(device, dtype))
        return mask

    def _build_mask(self, length: int) -> torch.Tensor:
        W, size, blocks = self.window, self.block, -(-length // self.block)
        start = (torch.arange(blocks * size) - W // 2).clamp(0, length - W).view(blocks, size, 1)
        keys = torch.arange(blocks)[:, None] * size - (W - 1) + torch.arange(size + 2 * (W - 1))
        keys = keys[:, None, :]  # absolute position of each key slot, [blocks, 1, slots]
        allowed = (keys >= start) & (keys < start + W)
        return torch.zeros(allowed.shape).masked_fill(~allowed, float("-inf"))[None]

    def attend(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        B, H, L, hd = q.shape
        if L <= self.window:
            return attention(q, k, v, explicit=self.explicit)
        mask = self.band_mask(L, q.device, q.dtype)
        _, blocks, size, slots = mask.shape
        pad = blocks * size - L
        q = F.pad(q, (0, 0, 0, pad)).reshape(B * H, blocks, size, hd)
        # keys of block b: positions b*size - (W-1) ... (b+1)*size + W-2, cut from padded k, v
        k, v = (F.pad(t, (0, 0, self.window - 1, pad + self.window - 1)).unfold(2, slots, size).transpose(-1, -2)
                .reshape(B * H, blocks, slots, hd) for t in (k, v))
        y = attention(q, k, v, mask, self.explicit)  # [B*H, blocks, size, hd]
        return y.view(B, H, blocks * size, hd)[:, :, :L]


@cells.register("full")
def full(width: int, heads: int, grid: tuple[int, ...] = (), window: int = 5, rope_base: float = 10000.0) -> Attention:
    """Full bidirectional attention, rotary over the task's grid axes."""
    return Attention(width, heads, grid, rope_base)


@cells.register("local")
def local(width: int, heads: int, grid: tuple[int, ...] = (), window: int = 5, rope_base: float = 10000.0) -> Attention:
    """Windowed attention over a 1-D sequence (rotary over positions)."""
    return LocalAttention(width, heads, window, rope_base)
