"""Model names ``mazes-{recall}-{norm}`` and ``mazes-fixed15``, one factory each (no torch import).

Every attribute below is named by an entry point in ``pyproject.toml``; the factories return the
paper's sizes (width 256, 8 heads, 30 iterations), overridable through ``loopzoo.create(name, ...)``.
"""
from __future__ import annotations

from collections.abc import Callable

from loopzoo.config import ModelConfig


def recipe(recall: str, norm: str, name: str | None = None, **fields: int) -> Callable[[], ModelConfig]:
    """A factory of the mazes model with ``recall`` and ``norm`` (registry names) and other ``fields``."""
    name = name or f"mazes-{'no-recall' if recall == 'none' else recall}-{norm}"

    def factory() -> ModelConfig:
        return ModelConfig(task="mazes", recall=recall, norm=norm, name=name, **fields)

    factory.__name__ = factory.__qualname__ = name.replace("-", "_")
    factory.__doc__ = f"The {name} model config."
    return factory


no_recall_prenorm = recipe("none", "prenorm")
no_recall_perinorm = recipe("none", "perinorm")
no_recall_outernorm = recipe("none", "outernorm")
no_recall_gru = recipe("none", "gru")
recall_prenorm = recipe("recall", "prenorm")
recall_perinorm = recipe("recall", "perinorm")
recall_outernorm = recipe("recall", "outernorm")
recall_gru = recipe("recall", "gru")
internal_recall_prenorm = recipe("internal-recall", "prenorm")
internal_recall_perinorm = recipe("internal-recall", "perinorm")
internal_recall_outernorm = recipe("internal-recall", "outernorm")
internal_recall_gru = recipe("internal-recall", "gru")
fixed15 = recipe("none", "prenorm", depth=15, iters=1, name="mazes-fixed15")  # untied baseline, run once
