"""Model names ``mazes-{recall}-{norm}`` and ``mazes-fixed15``, one factory each (no torch import).

Every attribute below is named by an entry point in ``pyproject.toml``; the factories return the
paper's sizes (width 256, 8 heads, 30 iterations), overridable through ``loopzoo.create(name, ...)``.
"""
from __future__ import annotations

from collections.abc import Callable

from loopzoo.config import ModelConfig


def factory_of(recall: str, norm: str, name: str | None = None, **fields: int) -> Callable[[], ModelConfig]:
    """A factory of the mazes model with ``recall`` and ``norm`` (registry names) and other ``fields``."""
    name = name or f"mazes-{'no-recall' if recall == 'none' else recall}-{norm}"

    def factory() -> ModelConfig:
        return ModelConfig(task="mazes", recall=recall, norm=norm, name=name, **fields)

    factory.__name__ = factory.__qualname__ = name.replace("-", "_")
    factory.__doc__ = f"The {name} model config."
    return factory


no_recall_prenorm = factory_of("none", "prenorm")
no_recall_perinorm = factory_of("none", "perinorm")
no_recall_outernorm = factory_of("none", "outernorm")
no_recall_gru = factory_of("none", "gru")
recall_prenorm = factory_of("recall", "prenorm")
recall_perinorm = factory_of("recall", "perinorm")
recall_outernorm = factory_of("recall", "outernorm")
recall_gru = factory_of("recall", "gru")
internal_recall_prenorm = factory_of("internal-recall", "prenorm")
internal_recall_perinorm = factory_of("internal-recall", "perinorm")
internal_recall_outernorm = factory_of("internal-recall", "outernorm")
internal_recall_gru = factory_of("internal-recall", "gru")
fixed15 = factory_of("none", "prenorm", depth=15, iters=1, name="mazes-fixed15")  # untied baseline, run once
