"""loopzoo-sandwich: the ``sandwich`` norm placement, RMSNorm in all three slots N1, N2, N3.

A sub-layer step is ``s <- N3(s + N2(f(N1(s))))``: the branch sees a normalized input, its output
is normalized before the residual add, and the state is normalized after it (so ``||s_t||`` is
fixed, as with outernorm). The entry points in ``pyproject.toml`` name the objects below.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from loopzoo.config import ModelConfig

if TYPE_CHECKING:
    from loopzoo.layers.norms import NormPlacement

__version__ = "0.1.0"


def sandwich(width: int) -> NormPlacement:
    """Norm factory: ``width -> module`` with slots ``n1, n2, n3`` and ``residual``/``update``."""
    from loopzoo.layers.norms import NormPlacement  # torch loads here, not when a model name is looked up

    return NormPlacement(width, n1=True, n2=True, n3=True)


def prefix_sums_internal_recall_sandwich() -> ModelConfig:
    """Model factory: the prefix-sums model with internal recall and the sandwich norm."""
    return ModelConfig(task="prefix-sums", recall="internal-recall", norm="sandwich",
                       name="prefix-sums-internal-recall-sandwich")


def sudoku_internal_recall_sandwich() -> ModelConfig:
    """Model factory: the sudoku model with internal recall and the sandwich norm."""
    return ModelConfig(task="sudoku", recall="internal-recall", norm="sandwich", name="sudoku-internal-recall-sandwich")
