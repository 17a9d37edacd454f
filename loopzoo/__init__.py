"""loopzoo: a model zoo for looped (weight-tied) transformers.

    >>> import loopzoo
    >>> loopzoo.list_models("sudoku-*")
    >>> model = loopzoo.create("sudoku-internal-recall-outernorm", width=64)
    >>> model.solve("." * 81, iters=3)

Importing loopzoo is light: torch loads on the first ``create`` or ``load``.
"""
from __future__ import annotations

import fnmatch
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .config import ModelConfig
from .errors import (
    CheckpointError,
    ConfigError,
    DataError,
    InputError,
    LoopzooError,
    LoopzooWarning,
    RegistryError,
    UnknownNameError,
)
from .registry import models

if TYPE_CHECKING:
    from .model import LoopedTransformer

__version__ = "0.1.0"

__all__ = [
    "CheckpointError",
    "ConfigError",
    "DataError",
    "InputError",
    "LoopzooError",
    "LoopzooWarning",
    "ModelConfig",
    "RegistryError",
    "UnknownNameError",
    "config_for",
    "create",
    "list_models",
    "load",
]


def list_models(pattern: str | None = None) -> list[str]:
    """Registered model names, sorted; ``pattern`` is a shell glob such as ``"sudoku-*"``."""
    names = models.names()
    return [n for n in names if fnmatch.fnmatchcase(n, pattern)] if pattern else names


def config_for(name: str, **overrides: Any) -> ModelConfig:
    """The :class:`ModelConfig` of a registered name, with ``overrides`` (e.g. ``width=64``)."""
    config = models.get(name)()
    if not isinstance(config, ModelConfig):
        raise ConfigError(f"model factory {name!r} returned {type(config).__name__}, not a ModelConfig")
    return config.replace(**overrides) if overrides else config


def create(name_or_config: str | ModelConfig, **overrides: Any) -> LoopedTransformer:
    """A randomly initialised model of a registered name (or a config), with ``overrides``."""
    from .model import build

    if isinstance(name_or_config, ModelConfig):
        config = name_or_config.replace(**overrides) if overrides else name_or_config
    else:
        config = config_for(name_or_config, **overrides)
    return build(config)


def load(name_or_dir: str | Path, device: str | None = None, revision: str | None = None,
         cache_dir: str | Path | None = None) -> LoopedTransformer:
    """A trained model: a checkpoint directory, a bundled zoo name, a tagged name ``NAME.TAG``, or a
    Hugging Face repo id.

    Resolves in order: an explicit directory, the checkpoints bundled with loopzoo, for ``NAME.TAG``
    a run of that ref in a source tree (``runs/NAME.TAG/best``, docs/design.md §7), the local
    Hugging Face cache, the Hub (organisation ``$LOOPZOO_HUB_ORG``, default ``loopzoo``). Strict:
    every weight name, shape and dtype must match, the sha256 in config.json is checked, and
    nothing is unpickled.
    """
    from . import checkpoint, hub

    return checkpoint.load(hub.resolve(name_or_dir, revision=revision, cache_dir=cache_dir), device)
