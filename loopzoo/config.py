"""The model configuration: everything needed to rebuild a model, as JSON."""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from .errors import ConfigError


@dataclass
class ModelConfig:
    """Architecture of a looped transformer (SPEC sections 1-3).

    ``recall``, ``norm``, ``cell`` and ``task`` are registry names. ``cell=None`` takes the
    task's default attention (full for grids, local window for sequences). ``depth`` untied
    layers make one iteration; the looped models use ``depth=1``.
    """

    task: str
    recall: str = "internal-recall"
    norm: str = "outernorm"
    cell: str | None = None
    width: int = 256
    heads: int = 8
    mlp_ratio: int = 4
    window: int = 5
    depth: int = 1
    iters: int = 30
    rope_base: float = 10000.0
    name: str | None = None

    def __post_init__(self) -> None:
        for f in ("width", "heads", "mlp_ratio", "window", "depth", "iters"):
            value = getattr(self, f)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigError(f"config field {f!r} must be a positive integer, got {value!r}")
        if self.width % self.heads:
            raise ConfigError(f"width {self.width} is not divisible by heads {self.heads}")
        if (self.width // self.heads) % 2:
            raise ConfigError(f"head size {self.width // self.heads} must be even for rotary embeddings")
        for f in ("task", "recall", "norm"):
            if not isinstance(getattr(self, f), str):
                raise ConfigError(f"config field {f!r} must be a string, got {getattr(self, f)!r}")

    @property
    def head_dim(self) -> int:
        return self.width // self.heads

    def replace(self, **overrides: Any) -> ModelConfig:
        """A copy with some fields changed; unknown fields raise :class:`ConfigError`."""
        known = {f.name for f in fields(self)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise ConfigError(f"unknown config field(s) {unknown}; known: {sorted(known)}")
        return dataclasses.replace(self, **overrides)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> ModelConfig:
        if not isinstance(data, dict):
            raise ConfigError(f"a model config must be a JSON object, got {type(data).__name__}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"unknown config field(s) {unknown}; known: {sorted(known)}")
        if "task" not in data:
            raise ConfigError("a model config needs a 'task'")
        try:
            return cls(**data)
        except TypeError as exc:
            raise ConfigError(f"bad model config: {exc}") from None

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> ModelConfig:
        try:
            data = json.loads(text)
        except (json.JSONDecodeError, TypeError) as exc:
            raise ConfigError(f"config is not valid JSON: {exc}") from None
        return cls.from_dict(data)

    @classmethod
    def from_file(cls, path: str | Path) -> ModelConfig:
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read {path}: {exc}") from None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{path} is not valid JSON: {exc}") from None
        if isinstance(data, dict) and isinstance(data.get("model"), dict):
            data = data["model"]  # a checkpoint's config.json wraps the model config
        return cls.from_dict(data)
