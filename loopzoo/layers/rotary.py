"""Rotary position embedding over a task's grid axes (docs/design.md §1).

For ``n`` axes, each axis gets ``head_dim / (2n)`` frequencies ``theta_k = base^(-k/K)``;
the angle is the integer cell coordinate times ``theta_k``; adjacent pairs of channels
``(x_2i, x_2i+1)`` are rotated: read as one complex number ``x_2i + i x_2i+1``, the pair is
multiplied by ``exp(i angle)``. Tables are cached per (length, device, dtype).
"""
from __future__ import annotations

import math

import torch
from torch import nn

from ..errors import ConfigError, InputError


CACHE_SIZE = 32  # tables kept per module: one per (length, device, dtype) seen, oldest dropped first


def remember(cache: dict, key: tuple, value):
    """Store ``value`` in a small bounded cache (inputs of many lengths must not grow memory)."""
    while len(cache) >= CACHE_SIZE:
        try:
            cache.pop(next(iter(cache)), None)
        except (StopIteration, RuntimeError):  # emptied or changed by another thread meanwhile
            break
    cache[key] = value
    return value


def grid_shape(grid: tuple[int | None, ...], length: int) -> tuple[int, ...]:
    """The concrete shape of a task grid for ``length`` tokens.

    ``None`` axes take any size: with every axis ``None`` the tokens form a square (cube, ...) of
    side ``length ** (1/n)``; one ``None`` axis takes what the fixed axes leave.
    """
    free = [i for i, size in enumerate(grid) if size is None]
    fixed = math.prod([size for size in grid if size is not None])  # a list: torch.compile traces it
    if not free:
        shape = tuple(grid)
    elif len(free) == len(grid):
        side = round(length ** (1 / len(grid)))
        shape = (side,) * len(grid)
    elif len(free) == 1:
        shape = tuple(length // fixed if size is None else size for size in grid)
    else:
        raise ConfigError(f"grid {grid}: either every axis or at most one may be None")
    if math.prod(shape) != length:
        raise InputError(f"a sequence of {length} tokens does not fill a grid of shape {grid}")
    return shape


def grid_coords(grid: tuple[int | None, ...], length: int) -> torch.Tensor:
    """Integer coordinates ``[L, n_axes]`` of a row-major grid (1-D positions if ``grid`` is empty)."""
    if not grid:
        return torch.arange(length).unsqueeze(1)
    idx = torch.arange(length)
    coords = []
    for size in reversed(grid_shape(grid, length)):
        coords.append(idx % size)
        idx = idx // size
    return torch.stack(coords[::-1], dim=1)


class Rotary(nn.Module):
    """Cos/sin tables for ``head_dim`` channels over ``len(grid)`` axes (1 axis if no grid)."""

    def __init__(self, head_dim: int, grid: tuple[int, ...] = (), base: float = 10000.0):
        super().__init__()
        self.grid = tuple(grid)
        n_axes = max(1, len(self.grid))
        k_max = head_dim // (2 * n_axes)
        if k_max < 1:
            raise ConfigError(
                f"head size {head_dim} is too small for rotary over {n_axes} axes: "
                f"use at least {2 * n_axes} channels per head (width / heads)"
            )
        self.head_dim = head_dim
        self.register_buffer("theta", base ** (-torch.arange(k_max, dtype=torch.float64) / k_max), persistent=False)
        self._cache: dict[tuple, torch.Tensor] = {}  # cos/sin tables and rotation matrices

    def table(self, length: int, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
        """``(cos, sin)`` of each angle, ``[L, head_dim/2, 2]`` in ``dtype``; pairs beyond the
        axes' share get angle 0 (not rotated)."""
        key = (length, device, dtype)
        cached = self._cache.get(key)
        if cached is None:
            if torch.compiler.is_compiling():  # built inside the graph (a constant there), not cached from it
                return self._build(length).to(device, dtype)
            with torch.inference_mode(False):  # a table first built during inference must serve training too
                cached = remember(self._cache, key, self._build(length).to(device, dtype))
        return cached

    def _build(self, length: int) -> torch.Tensor:
        coords = grid_coords(self.grid, length).to(torch.float64)  # [L, n]
        angles = (coords[:, :, None] * self.theta.to(torch.float64)).flatten(1)  # [L, n*K]
        angles = torch.nn.functional.pad(angles, (0, self.head_dim // 2 - angles.shape[1]))
        return torch.stack((angles.cos(), angles.sin()), dim=-1)  # [L, hd/2, 2]

    def matrices(self, length: int, gains: list[torch.Tensor], device: torch.device, dtype: torch.dtype) -> torch.Tensor:
        """The rotation of each position followed by per-channel gains (``G`` tensors ``[hd]``) as
        right-hand matrices: ``[L * G, hd, hd]``, so ``x @ M[l * G + g] = gains[g] * rotate(x, l)``
        for a row ``x [hd]``. Block-diagonal (2 x 2 per channel pair); for a batched matmul.

        Cached per gains' version outside ``torch.compile`` (an optimizer step bumps it)."""
        key = ("matrices", length, device, dtype, *((id(g), g.data_ptr(), g._version) for g in gains))
        cached = None if torch.compiler.is_compiling() else self._cache.get(key)
        if cached is None:
            with torch.no_grad():
                cached = self._matrices(length, torch.stack(gains), device).to(dtype)
            if not torch.compiler.is_compiling():
                remember(self._cache, key, cached)
        return cached

    def _matrices(self, length: int, gains: torch.Tensor, device: torch.device) -> torch.Tensor:
        table = self.table(length, device, torch.float32)  # [L, hd/2, 2]
        cos, sin = table[:, None, :, 0], table[:, None, :, 1]  # [L, 1, hd/2]
        even, odd = gains[:, 0::2].float(), gains[:, 1::2].float()  # [G, hd/2]: gains of x_2i, x_2i+1
        # block[i_in][i_out] of pair j: x_2j+i_in's weight in output 2j+i_out
        blocks = torch.stack((torch.stack((cos * even, sin * odd)), torch.stack((-sin * even, cos * odd))))
        L, G, pairs = length, gains.shape[0], self.head_dim // 2
        m = torch.zeros(L, G, pairs, 2, pairs, 2, device=device)
        m.diagonal(0, 2, 4).copy_(blocks.permute(2, 3, 0, 1, 4))  # [L, G, 2, 2, pairs] on the pair diagonal
        return m.view(L * G, self.head_dim, self.head_dim)

    def forward(self, x: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
        """Rotate the channel pairs of ``x [..., L, *, hd]`` by ``table [L, *, hd/2, 2]`` (from
        :meth:`table`, in ``x``'s dtype: fp32 or fp64, as ``view_as_complex`` needs)."""
        if torch.compiler.is_compiling():  # inductor fuses the real form and has no complex kernels
            a, b = x.unflatten(-1, (-1, 2)).unbind(-1)  # [..., hd/2] each
            cos, sin = table.unbind(-1)
            return torch.stack((a * cos - b * sin, a * sin + b * cos), dim=-1).flatten(-2)
        pairs = torch.view_as_complex(x.unflatten(-1, (-1, 2)))  # [..., hd/2] complex: one fused multiply
        return torch.view_as_real(pairs * torch.view_as_complex(table)).flatten(-2)
