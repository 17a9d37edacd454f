"""Attention cells: bidirectional multi-head attention with rotary positions and QK-norm.

``full``: every token attends to every token (sudoku, chess), 2-D rotary over the grid.
``local``: each token attends to a window of ``window`` neighbours, shifted at the borders
so it always holds ``window`` positions (prefix sums); cost O(L * window), any length.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..registry import cells
from .rotary import Rotary, remember, rotate


class Attention(nn.Module):
    """Fused QKV projection, rotary, per-head RMSNorm on q and k, output projection."""

    def __init__(self, width: int, heads: int, grid: tuple[int, ...] = (), rope_base: float = 10000.0):
        super().__init__()
        self.heads, self.head_dim = heads, width // heads
        self.qkv = nn.Linear(width, 3 * width)
        self.out = nn.Linear(width, width)
        self.rotary = Rotary(self.head_dim, grid, rope_base)
        self.q_norm = nn.RMSNorm(self.head_dim)
        self.k_norm = nn.RMSNorm(self.head_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, L, D = x.shape
        q, k, v = self.qkv(x).view(B, L, 3, self.heads, self.head_dim).permute(2, 0, 3, 1, 4)  # 3 x [B, H, L, hd]
        cos, sin = self.rotary.tables(L, x.device, q.dtype)
        q = self.q_norm(rotate(q, cos, sin))
        k = self.k_norm(rotate(k, cos, sin))
        y = self.attend(q, k, v)  # [B, H, L, hd]
        return self.out(y.transpose(1, 2).reshape(B, L, D))

    def attend(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        return F.scaled_dot_product_attention(q, k, v)


class LocalAttention(Attention):
    """Attention restricted to a sliding window that is shifted inward at the borders."""

    def __init__(self, width: int, heads: int, window: int = 5, rope_base: float = 10000.0):
        super().__init__(width, heads, (), rope_base)
        self.window = window
        self._index: dict[tuple, torch.Tensor] = {}

    def window_index(self, length: int, device: torch.device) -> torch.Tensor:
        """``[L, W]``: the positions each token attends to."""
        key = (length, device)
        index = self._index.get(key)
        if index is None:
            with torch.inference_mode(False):  # an index first built during inference must serve training too
                start = (torch.arange(length) - self.window // 2).clamp(0, length - self.window)
                index = remember(self._index, key, (start[:, None] + torch.arange(self.window)).to(device))
        return index

    def attend(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        L = q.shape[2]
        if L <= self.window:
            return F.scaled_dot_product_attention(q, k, v)
        index = self.window_index(L, q.device)
        k_win, v_win = k[:, :, index], v[:, :, index]  # [B, H, L, W, hd]
        scores = torch.einsum("bhld,bhlwd->bhlw", q, k_win) * self.head_dim**-0.5
        return torch.einsum("bhlw,bhlwd->bhld", scores.softmax(dim=-1), v_win)


@cells.register("full")
def full(width: int, heads: int, grid: tuple[int, ...] = (), window: int = 5, rope_base: float = 10000.0) -> Attention:
    """Full bidirectional attention, rotary over the task's grid axes."""
    return Attention(width, heads, grid, rope_base)


@cells.register("local")
def local(width: int, heads: int, grid: tuple[int, ...] = (), window: int = 5, rope_base: float = 10000.0) -> Attention:
    """Windowed attention over a 1-D sequence (rotary over positions)."""
    return LocalAttention(width, heads, window, rope_base)
