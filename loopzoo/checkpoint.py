"""Checkpoints on disk: ``config.json`` + ``model.safetensors``, loaded strictly, never unpickled."""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from .config import ModelConfig
from .errors import CheckpointError, ConfigError

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"


def sha256_file(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _write_atomic(path: Path, write) -> None:
    """Write through a temporary file in the same directory, then rename over ``path``."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save(model, directory: str | Path, **extra: Any) -> Path:
    """Save ``model`` (a LoopedTransformer) into ``directory``; ``extra`` goes into config.json."""
    from safetensors.torch import save_file

    from . import __version__

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    weights = directory / WEIGHTS_FILE
    _write_atomic(weights, lambda tmp: save_file(tensors, tmp, metadata={"format": "pt", "loopzoo": __version__}))
    config = {"model": model.config.to_dict(), "loopzoo_version": __version__, "weights_sha256": sha256_file(weights)}
    config.update(extra)
    _write_atomic(directory / CONFIG_FILE, lambda tmp: Path(tmp).write_text(json.dumps(config, indent=2, sort_keys=True) + "\n"))
    return directory


def read_config(directory: str | Path) -> tuple[ModelConfig, dict[str, Any]]:
    """``(model config, the whole config.json)`` of a checkpoint directory."""
    path = Path(directory) / CONFIG_FILE
    if not path.is_file():
        raise CheckpointError(f"{directory} has no {CONFIG_FILE}")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"cannot read {path}: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("model"), dict):
        raise CheckpointError(f"{path} has no 'model' section with the architecture")
    try:
        return ModelConfig.from_dict(data["model"]), data
    except ConfigError as exc:
        raise CheckpointError(f"{path}: {exc}") from None


def load(directory: str | Path, device: str | None = None):
    """Build the model of a checkpoint directory and load its weights strictly."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    from .model import build

    directory = Path(directory)
    config, meta = read_config(directory)
    weights = directory / WEIGHTS_FILE
    if not weights.is_file():
        pickled = [p.name for p in directory.glob("*") if p.suffix in {".bin", ".pt", ".pth", ".ckpt"}]
        hint = f" (found {pickled}: loopzoo never unpickles; convert them to safetensors)" if pickled else ""
        raise CheckpointError(f"{directory} has no {WEIGHTS_FILE}{hint}")
    expected = meta.get("weights_sha256")
    if expected is not None and sha256_file(weights) != expected:
        raise CheckpointError(f"{weights}: sha256 does not match config.json (file corrupted or replaced)")
    try:
        tensors = load_file(weights)
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise CheckpointError(f"{weights} is not a valid safetensors file: {exc}") from None
    model = build(config)
    own = model.state_dict()
    missing = sorted(set(own) - set(tensors))
    unexpected = sorted(set(tensors) - set(own))
    if missing or unexpected:
        raise CheckpointError(
            f"{weights} does not match its config: missing {missing[:5]}, unexpected {unexpected[:5]}"
        )
    for name, tensor in tensors.items():
        if tensor.shape != own[name].shape or tensor.dtype != own[name].dtype:
            raise CheckpointError(
                f"{weights}: {name} has shape {tuple(tensor.shape)} {tensor.dtype}, "
                f"the model expects {tuple(own[name].shape)} {own[name].dtype}"
            )
    model.load_state_dict(tensors, strict=True)
    model.eval()
    return model.to(device) if device is not None else model
