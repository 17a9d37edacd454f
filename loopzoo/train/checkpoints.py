"""Trainer checkpoints: model + optimizer + step, without pickle, written atomically.

A checkpoint is a directory ``checkpoints/step-00000123/`` holding ``model.safetensors`` +
``config.json`` (loadable by :func:`loopzoo.load`), ``optimizer.safetensors`` and
``trainer.json``, and the trainer's further state where it has some (``ema.safetensors``: the
averaged weights; ``carry.safetensors``: the state carried between a batch's segments). It is
assembled in a temporary directory and renamed into place, so a run killed at any moment leaves
only complete checkpoints. The random streams of training are counter-based (seeded by
``(seed, step)`` and ``(seed, epoch)``), so the step restores them.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import warnings
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_bytes
from safetensors.torch import save_file

from .. import checkpoint
from ..errors import CheckpointError, LoopzooWarning

PREFIX = "step-"


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def optimizer_state(optimizer: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Split an optimizer state dict into tensors (for safetensors) and JSON."""
    state = optimizer.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for pid, entry in state["state"].items():
        for key, value in entry.items():
            if torch.is_tensor(value):
                tensors[f"{pid}.{key}"] = value.detach().cpu().contiguous()
            else:
                scalars.setdefault(str(pid), {})[key] = value
    return tensors, {"param_groups": state["param_groups"], "scalars": scalars}


def restore_optimizer(optimizer: torch.optim.Optimizer, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
    state: dict[int, dict[str, Any]] = {}
    for name, tensor in tensors.items():
        pid, key = name.split(".", 1)
        state.setdefault(int(pid), {})[key] = tensor
    for pid, entries in meta["scalars"].items():
        state.setdefault(int(pid), {}).update(entries)
    groups = meta["param_groups"]
    for group in groups:
        if "betas" in group:
            group["betas"] = tuple(group["betas"])
    optimizer.load_state_dict({"state": state, "param_groups": groups})


def save(run_dir: Path, model, optimizer, step: int, extra: dict[str, Any], keep: int = 2, *,
         tensors: dict[str, dict[str, torch.Tensor]] | None = None) -> Path:
    """Write checkpoint ``step`` atomically and keep only the newest ``keep``.

    ``tensors`` maps further names to tensors to keep, each written to ``NAME.safetensors`` with its
    sha256 in trainer.json (:func:`load_latest` returns them). If writing fails (e.g. the disk is
    full) the partial copy is removed, the older checkpoints are untouched, and
    :class:`CheckpointError` says so.
    """
    root = Path(run_dir) / "checkpoints"
    root.mkdir(parents=True, exist_ok=True)
    final = root / f"{PREFIX}{step:08d}"
    tmp = root / f".tmp-{PREFIX}{step:08d}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        checkpoint.save(model, tmp, **extra)
        state, meta = optimizer_state(optimizer)
        save_file(state, tmp / "optimizer.safetensors")
        digest = checkpoint.sha256_file(tmp / "optimizer.safetensors")
        body = {"step": step, "optimizer": meta, "optimizer_sha256": digest, **extra}
        for name, group in (tensors or {}).items():
            save_file({k: v.detach().cpu().contiguous() for k, v in group.items()}, tmp / f"{name}.safetensors")
            body.setdefault("tensors_sha256", {})[name] = checkpoint.sha256_file(tmp / f"{name}.safetensors")
        (tmp / "trainer.json").write_text(json.dumps({**body, "sha256": _body_digest(body)}, indent=1))
        for f in tmp.iterdir():
            with open(f, "rb") as fh:
                os.fsync(fh.fileno())
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        previous = available(run_dir)
        kept = f"the previous checkpoint {previous[0]} is intact" if previous else "there is no earlier checkpoint"
        raise CheckpointError(f"cannot write checkpoint {final.name} ({exc}); {kept}") from exc
    shutil.rmtree(final, ignore_errors=True)
    os.rename(tmp, final)
    _fsync_dir(root)
    for old in sorted(root.glob(f"{PREFIX}*"))[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    for stale in root.glob(f".tmp-{PREFIX}*"):  # left by a process killed mid-write; only one process writes
        shutil.rmtree(stale, ignore_errors=True)
    return final


def _body_digest(body: dict[str, Any]) -> str:
    """sha256 of trainer.json's content (without this digest): a flipped byte that still parses as
    JSON (a digit, a letter of a string) is caught too."""
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def _read_verified(path: Path, digest: str) -> dict[str, torch.Tensor]:
    data = path.read_bytes()
    if hashlib.sha256(data).hexdigest() != digest:
        raise CheckpointError(f"{path.name} does not match the sha256 in trainer.json")
    return load_bytes(data)


def available(run_dir: Path) -> list[Path]:
    """Complete checkpoints of a run, newest first."""
    return sorted((Path(run_dir) / "checkpoints").glob(f"{PREFIX}*"), reverse=True)


def load_latest(run_dir: Path, model, optimizer) -> dict[str, Any]:
    """Restore ``model`` and ``optimizer`` from the newest readable checkpoint; its trainer.json,
    with the further tensors :func:`save` kept under ``"tensors"`` (name -> tensors, on the CPU).

    A corrupted newest checkpoint is skipped with a warning and the previous one is used.
    """
    candidates = available(run_dir)
    if not candidates:
        raise CheckpointError(f"{run_dir} has no checkpoints to resume from")
    for directory in candidates:
        try:
            loaded = checkpoint.load(directory)
            meta = json.loads((directory / "trainer.json").read_text())
            recorded = meta.pop("sha256", None)  # checkpoints written before the digest existed have none
            if recorded is not None and recorded != _body_digest(meta):
                raise CheckpointError("trainer.json does not match its own sha256")
            data = (directory / "optimizer.safetensors").read_bytes()
            expected = meta.get("optimizer_sha256")
            if expected is not None and hashlib.sha256(data).hexdigest() != expected:
                raise CheckpointError("optimizer.safetensors does not match the sha256 in trainer.json")
            tensors = load_bytes(data)
            further = {name: _read_verified(directory / f"{name}.safetensors", digest)
                       for name, digest in meta.get("tensors_sha256", {}).items()}
            int(meta["step"])
            model.load_state_dict(loaded.state_dict(), strict=True)
            restore_optimizer(optimizer, tensors, meta["optimizer"])
            return {**meta, "tensors": further}
        except (CheckpointError, OSError, ValueError, KeyError, TypeError, AttributeError, IndexError, RuntimeError,
                RecursionError, SafetensorError) as exc:
            warnings.warn(f"checkpoint {directory} is unreadable ({exc}); trying an older one", LoopzooWarning, stacklevel=2)
    raise CheckpointError(f"no readable checkpoint in {run_dir}")
