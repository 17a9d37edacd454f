"""Checkpoints on disk: ``config.json`` + ``model.safetensors``, loaded strictly, never unpickled."""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from .config import ModelConfig, parse_json
from .errors import CheckpointError, ConfigError

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
PICKLE_SUFFIXES = {".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle"}
MAX_CONFIG_BYTES = 1 << 20  # a config.json is a few hundred bytes; refuse to read a huge one
HEADER_SLACK = 1 << 24  # bytes a safetensors file may hold beyond its tensors (header, metadata)


def pickle_refusal(path: str | Path) -> str:
    """Why a pickled PyTorch file is refused, naming what to use instead."""
    return (f"{path} looks like a pickled PyTorch file; loopzoo never unpickles (unpickling a file can run "
            f"any code in it). Convert it to safetensors (config.json + {WEIGHTS_FILE}) in a trusted environment")


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


def write_text_atomic(path: str | Path, text: str) -> None:
    """Replace ``path`` with ``text`` at once: a reader (or a crash) sees the old or the new file, never half."""
    path = Path(path)
    _write_atomic(path, lambda tmp: Path(tmp).write_text(text))


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
    write_text_atomic(directory / CONFIG_FILE, json.dumps(config, indent=2, sort_keys=True) + "\n")
    return directory


def read_config(directory: str | Path) -> tuple[ModelConfig, dict[str, Any]]:
    """``(model config, the whole config.json)`` of a checkpoint directory."""
    if Path(directory).is_file():
        if Path(directory).suffix.lower() in PICKLE_SUFFIXES:
            raise CheckpointError(pickle_refusal(directory))
        raise CheckpointError(f"{directory} is a file; a checkpoint is a directory holding {CONFIG_FILE} and {WEIGHTS_FILE}")
    path = Path(directory) / CONFIG_FILE
    if not path.is_file():
        raise CheckpointError(f"{directory} has no {CONFIG_FILE}")
    try:
        if path.stat().st_size > MAX_CONFIG_BYTES:
            raise CheckpointError(f"{path} is {path.stat().st_size:,} bytes, more than a config can need ({MAX_CONFIG_BYTES:,})")
        data = parse_json(path.read_text(encoding="utf-8"), str(path))
    except (OSError, UnicodeDecodeError, ConfigError) as exc:
        raise CheckpointError(f"cannot read {path}: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("model"), dict):
        raise CheckpointError(f"{path} has no 'model' section with the architecture")
    try:
        return ModelConfig.from_dict(data["model"]), data
    except ConfigError as exc:
        raise CheckpointError(f"{path}: {exc}") from None


def load(directory: str | Path, device: str | None = None):
    """Build the model of a checkpoint directory and load its weights strictly.

    The weights file is read once into memory: its sha256 is checked and the same bytes are
    parsed, so a file swapped between check and use is never loaded. A file larger than the
    config's tensors can need is refused before it is read.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load as load_bytes

    from .model import build

    directory = Path(directory)
    config, meta = read_config(directory)
    weights = directory / WEIGHTS_FILE
    if not weights.is_file():
        pickled = [p.name for p in directory.glob("*") if p.suffix.lower() in PICKLE_SUFFIXES]
        hint = f" (found {pickled}: loopzoo never unpickles; convert them to safetensors)" if pickled else ""
        raise CheckpointError(f"{directory} has no {WEIGHTS_FILE}{hint}")
    model = build(config)
    own = model.state_dict()
    needed = sum(t.numel() * t.element_size() for t in own.values())
    try:
        size = weights.stat().st_size
        if size > needed + HEADER_SLACK:
            raise CheckpointError(
                f"{weights} is {size:,} bytes but the model of its config needs {needed:,}; refusing to read it"
            )
        data = weights.read_bytes()
    except OSError as exc:
        raise CheckpointError(f"cannot read {weights}: {exc}") from None
    expected = meta.get("weights_sha256")
    if expected is not None and hashlib.sha256(data).hexdigest() != expected:
        raise CheckpointError(f"{weights}: sha256 does not match config.json (file corrupted or replaced)")
    try:
        tensors = load_bytes(data)
    except (SafetensorError, OSError, ValueError, RuntimeError, TypeError) as exc:
        raise CheckpointError(f"{weights} is not a valid safetensors file: {str(exc)[:300]}") from None
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
