"""Training augmentations: random symmetries that keep an example valid, drawn per example per step.

Each is registered under its task's name as ``augment(x [B, L, C], y [B, L], generator) -> (x, y)``
and draws only from ``generator``, which the trainer seeds from ``(seed, step, rank)``: a resumed
run sees exactly the same stream. Tasks without an entry (prefix sums: a bit string has no
symmetry that keeps its prefix sums; chess: the board is already shown in a canonical frame, see
:func:`chess`) train on their data as it is.
"""
from __future__ import annotations

import torch

from ..registry import augmentations


def _random_perms(batch: int, groups: int, size: int, generator: torch.Generator) -> torch.Tensor:
    """``[batch, groups, size]`` independent uniform permutations of ``0..size-1``."""
    return torch.rand(batch, groups, size, generator=generator).argsort(dim=-1)


def _line_order(batch: int, generator: torch.Generator) -> torch.Tensor:
    """``[batch, 9]`` a random order of the 9 rows (or columns) that keeps the bands (stacks) whole:
    the bands are permuted, and the rows inside each band."""
    bands = _random_perms(batch, 1, 3, generator)[:, 0]  # [B, 3]
    within = _random_perms(batch, 3, 3, generator)  # [B, 3, 3]
    return (3 * bands[:, :, None] + within).flatten(1)  # [B, 9]


@augmentations.register("sudoku")
def sudoku(x: torch.Tensor, y: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Relabel the digits, permute rows within bands and the bands, columns within stacks and the
    stacks, and transpose with probability 1/2: every image of a puzzle with a unique solution is
    again a puzzle whose unique solution is the image of that solution."""
    b = x.shape[0]
    rows, cols = _line_order(b, generator), _line_order(b, generator)  # [B, 9] each
    source = 9 * rows[:, :, None] + cols[:, None, :]  # [B, 9, 9]: new cell (r, c) <- old cell
    transpose = torch.rand(b, generator=generator) < 0.5
    source = torch.where(transpose[:, None, None], source.transpose(1, 2), source).flatten(1)  # [B, 81]
    x = x.gather(1, source[:, :, None].expand(-1, -1, x.shape[2]))  # [B, 81, 10]
    y = y.gather(1, source)  # [B, 81]
    digits = _random_perms(b, 1, 9, generator)[:, 0]  # [B, 9]: digit index d -> digits[d]
    y = digits.gather(1, y)
    inverse = digits.argsort(dim=1)  # channel 1 + j of the new one-hot is channel 1 + inverse[j] of the old
    x = torch.cat((x[:, :, :1], x[:, :, 1:].gather(2, inverse[:, None, :].expand(-1, x.shape[1], -1))), dim=2)
    return x, y
