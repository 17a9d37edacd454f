"""The model configuration: everything needed to rebuild a model, as JSON."""
from __future__ import annotations

import dataclasses
import json
import math
import os
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from .errors import ConfigError

# Upper bounds that keep a config from a stranger from allocating without limit or looping for
# ever: per integer field, and on the approximate parameter count (override the latter with
# the environment variable LOOPZOO_MAX_PARAMETERS).
LIMITS = {"width": 16384, "heads": 1024, "mlp_ratio": 64, "window": 65536, "depth": 1024, "iters": 100_000}
MAX_PARAMETERS = int(os.environ.get("LOOPZOO_MAX_PARAMETERS", 2**28))


def approx_parameters(width: int, mlp_ratio: int, depth: int) -> int:
    """Rough parameter count of a model: per layer QKV + output (4 w^2), recall (2 w^2), MLP."""
    return depth * width * width * (6 + 2 * mlp_ratio)


def parse_json(text: str | bytes, where: str) -> Any:
    """``json.loads`` that turns every way JSON text can be bad into :class:`ConfigError`.

    Besides syntax errors this covers integers longer than Python's digit limit (ValueError)
    and nesting deep enough to exhaust the stack (RecursionError).
    """
    try:
        return json.loads(text)
    except (ValueError, TypeError, RecursionError) as exc:
        raise ConfigError(f"{where} is not valid JSON: {type(exc).__name__}: {str(exc)[:200]}") from None


@dataclass
class ModelConfig:
    """Architecture of a looped transformer (docs/design.md §1-3).

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
                raise ConfigError(f"config field {f!r} must be a positive integer, got {str(value)[:60]!r}")
            if value > LIMITS[f]:
                raise ConfigError(f"config field {f!r} is {value}, above loopzoo's limit of {LIMITS[f]}")
        if self.width % self.heads:
            raise ConfigError(f"width {self.width} is not divisible by heads {self.heads}")
        if (self.width // self.heads) % 2:
            raise ConfigError(f"head size {self.width // self.heads} must be even for rotary embeddings")
        for f in ("task", "recall", "norm"):
            if not isinstance(getattr(self, f), str):
                raise ConfigError(f"config field {f!r} must be a string, got {str(getattr(self, f))[:60]!r}")
        for f in ("cell", "name"):
            if getattr(self, f) is not None and not isinstance(getattr(self, f), str):
                raise ConfigError(f"config field {f!r} must be a string or null, got {str(getattr(self, f))[:60]!r}")
        base = self.rope_base
        if isinstance(base, bool) or not isinstance(base, (int, float)) or not (0 < base < math.inf):
            raise ConfigError(f"config field 'rope_base' must be a finite positive number, got {str(base)[:60]!r}")
        params = approx_parameters(self.width, self.mlp_ratio, self.depth)
        if params > MAX_PARAMETERS:
            raise ConfigError(
                f"this config has about {params:,} parameters, above loopzoo's limit of {MAX_PARAMETERS:,} "
                "(set LOOPZOO_MAX_PARAMETERS to allow it)"
            )

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
            raise ConfigError(f"unknown config field(s) {[u[:40] for u in map(str, unknown[:10])]}; known: {sorted(known)}")
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
        return cls.from_dict(parse_json(text, "config"))

    @classmethod
    def from_file(cls, path: str | Path) -> ModelConfig:
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read {path}: {exc}") from None
        data = parse_json(text, str(path))
        if isinstance(data, dict) and isinstance(data.get("model"), dict):
            data = data["model"]  # a checkpoint's config.json wraps the model config
        return cls.from_dict(data)
