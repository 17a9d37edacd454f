"""The obvious implementation of a looped model, for checking and benchmarking the fast path.

It uses the weights of a :class:`~loopzoo.model.LoopedTransformer` but does everything the
straightforward way: separate q/k/v slices, dense ``[L, L]`` attention scores with an explicit
band mask for local attention (``nn.MultiheadAttention`` cannot apply rotary and QK-norm between
projection and scores, so the scores are written out), rotary tables and grid positions
recomputed with Python loops on every call, every iteration's logits kept, no early exit.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .layers.rotary import grid_shape


def positions(grid, length: int) -> torch.Tensor:
    """Grid coordinates ``[L, n]``, computed from scratch with Python loops."""
    if not grid:
        return torch.tensor([[i] for i in range(length)])
    shape = grid_shape(grid, length)
    coords = []
    for i in range(length):
        c, rest = [], i
        for size in reversed(shape):
            c.append(rest % size)
            rest //= size
        coords.append(c[::-1])
    return torch.tensor(coords)


def rope(x: torch.Tensor, coords: torch.Tensor, base: float) -> torch.Tensor:
    hd, n = x.shape[-1], coords.shape[1]
    k_max = hd // (2 * n)
    theta = base ** (-torch.arange(k_max, dtype=torch.float64) / k_max)
    angles = torch.cat([coords[:, a : a + 1].double() * theta for a in range(n)], dim=1)  # [L, n*K]
    angles = F.pad(angles, (0, hd // 2 - angles.shape[1]))
    cos, sin = angles.cos().to(x.dtype), angles.sin().to(x.dtype)
    a, b = x[..., 0::2], x[..., 1::2]
    return torch.stack((a * cos - b * sin, a * sin + b * cos), dim=-1).flatten(-2)


def attention(attn, x: torch.Tensor, grid, window: int | None, base: float) -> torch.Tensor:
    B, L, D = x.shape
    H, hd = attn.heads, attn.head_dim
    q, k, v = F.linear(x, attn.qkv.weight, attn.qkv.bias).split(D, dim=-1)
    q, k, v = (t.view(B, L, H, hd).transpose(1, 2) for t in (q, k, v))  # [B, H, L, hd]
    coords = positions(() if window else grid, L)
    q = attn.q_norm(rope(q, coords, base))
    k = attn.k_norm(rope(k, coords, base))
    scores = q @ k.transpose(-1, -2) / math.sqrt(hd)  # [B, H, L, L]
    if window and L > window:
        i = torch.arange(L)
        start = (i - window // 2).clamp(0, L - window)
        allowed = (i[None, :] >= start[:, None]) & (i[None, :] < start[:, None] + window)
        scores = scores.masked_fill(~allowed, float("-inf"))
    y = scores.softmax(dim=-1) @ v
    return attn.out(y.transpose(1, 2).reshape(B, L, D))


def block(blk, s: torch.Tensor, e: torch.Tensor, grid, base: float) -> torch.Tensor:
    window = getattr(blk.attn, "window", None)
    s = blk.recall.before(s, blk.recall.project(e))
    for branch in ("attn", "mlp"):
        h = blk.recall.inject(blk.norm.n1(s), blk.recall.project(e))
        out = attention(blk.attn, h, grid, window, base) if branch == "attn" else blk.mlp(h)
        s = blk.norm.update(s, out)
    return s


@torch.no_grad()
def run(model, x: torch.Tensor, iters: int) -> list[torch.Tensor]:
    """Logits after every iteration ``1..iters``, all kept (the memory-hungry way)."""
    e = model.embed(x)
    s = e
    outputs = []
    for _ in range(iters):
        for blk in model.blocks:
            s = block(blk, s, e, model.task.grid, model.config.rope_base)
        outputs.append(model.readout(s))
    return outputs
