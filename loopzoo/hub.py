"""Where trained weights come from, and how they are published.

``resolve`` looks, in order, at an explicit directory, the checkpoints bundled with loopzoo
(``loopzoo/zoo/<name>/``, ``loopzoo/zoo/<name>.<tag>/``), for a tagged name ``NAME.TAG`` the run of
that name in a source tree's ``runs/`` (:mod:`loopzoo.runs`), the local Hugging Face cache, then the Hub. Names without an
organisation resolve to ``$LOOPZOO_HUB_ORG/<name>`` (default organisation ``loopzoo``).
Everything works offline from local files and the cache; the Hub is contacted only when a
name is found nowhere else and ``HF_HUB_OFFLINE`` is not set.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .checkpoint import CONFIG_FILE, WEIGHTS_FILE
from .errors import CheckpointError, LoopzooError
from .runs import split_tag

ZOO_DIR = Path(__file__).parent / "zoo"
CARD_FILE = "README.md"
FILES = [CONFIG_FILE, WEIGHTS_FILE, CARD_FILE]
DEFAULT_ORG = "loopzoo"


def hub_org() -> str:
    return os.environ.get("LOOPZOO_HUB_ORG", DEFAULT_ORG)


def bundled() -> dict[str, Path]:
    """Names of the checkpoints shipped with loopzoo -> their directories."""
    if not ZOO_DIR.is_dir():
        return {}
    return {p.name: p for p in sorted(ZOO_DIR.iterdir()) if (p / CONFIG_FILE).is_file()}


def repo_id_for(name: str) -> str:
    return name if "/" in name else f"{hub_org()}/{name}"


def _offline() -> bool:
    from huggingface_hub import constants

    return bool(constants.HF_HUB_OFFLINE)


def from_hub(name: str, revision: str | None = None, cache_dir: str | Path | None = None) -> Path:
    """Directory of ``name`` from the local Hugging Face cache, else downloaded from the Hub."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HFValidationError, LocalEntryNotFoundError

    repo_id = repo_id_for(name)
    kwargs: dict[str, Any] = dict(repo_id=repo_id, revision=revision, cache_dir=cache_dir, allow_patterns=FILES)
    try:
        path = Path(snapshot_download(local_files_only=True, **kwargs))
    except HFValidationError:
        raise CheckpointError(f"{name!r} is neither an existing directory nor a valid Hub repository id (ORG/NAME)") from None
    except (LocalEntryNotFoundError, OSError, ValueError):
        if _offline():
            raise CheckpointError(f"{repo_id} is not in the local Hugging Face cache and HF_HUB_OFFLINE is set") from None
        try:
            path = Path(snapshot_download(**kwargs))
        except Exception as exc:  # network, auth, missing repo: all mean "not available"
            raise CheckpointError(f"cannot fetch {repo_id} from the Hugging Face Hub: {type(exc).__name__}: {exc}") from None
    if not (path / CONFIG_FILE).is_file():
        raise CheckpointError(f"{repo_id} (revision {revision or 'main'}) has no {CONFIG_FILE}")
    return path


def resolve(name_or_path: str | Path, revision: str | None = None, cache_dir: str | Path | None = None) -> Path:
    """The checkpoint directory for a directory, a zoo name, a tagged name ``NAME.TAG`` (:func:`resolve_tagged`),
    or a Hub repository id."""
    from .registry import models

    path = Path(name_or_path)
    if path.is_dir():
        return path
    if path.is_file():
        from .checkpoint import PICKLE_SUFFIXES, pickle_refusal

        if path.suffix.lower() in PICKLE_SUFFIXES:
            raise CheckpointError(pickle_refusal(path))
        raise CheckpointError(f"{path} is a file; give the checkpoint directory holding {CONFIG_FILE} and {WEIGHTS_FILE}")
    name = str(name_or_path)
    zoo = bundled()
    if revision is None and name in zoo:
        return zoo[name]
    base, tag = split_tag(name)
    if tag is not None and "/" not in name and base in models.names():
        return resolve_tagged(name, revision, cache_dir)
    try:
        return from_hub(name, revision, cache_dir)
    except CheckpointError as exc:
        if name in models.names():
            raise CheckpointError(
                f"no trained weights for {name!r}: it is not bundled with loopzoo and {exc}. Train them "
                f"(loopzoo train {name}, or scripts/train_zoo.py), load a checkpoint directory "
                f"(loopzoo.load('path/to/dir')), or start from random weights with loopzoo.create({name!r})."
            ) from None
        if "/" in name or path.suffix or os.sep in name:
            raise
        from .errors import UnknownNameError

        raise UnknownNameError("model or checkpoint", name, sorted(set(models.names()) | set(zoo)),
                               note=f"{name!r} is not a directory, a bundled checkpoint or a known name ({exc}).") from None


def resolve_tagged(ref: str, revision: str | None = None, cache_dir: str | Path | None = None) -> Path:
    """The checkpoint of a tagged name ``NAME.TAG`` that is not bundled: in a source tree, the run of that
    ref (``runs/NAME.TAG/best`` or the run's model; a grid run ``NAME.lrLR-seedK``), else the Hub's
    ``ORG/NAME.TAG``. The error names the tagged checkpoints and runs of NAME that exist."""
    from . import runs

    run = runs.find(ref) if revision is None else None
    if run is not None and run.model_dir() is not None:
        return run.model_dir()
    try:
        return from_hub(ref, revision, cache_dir)
    except CheckpointError as exc:
        name, _ = split_tag(ref)
        bundled_refs = [n for n in bundled() if split_tag(n)[0] == name]
        run_refs = runs.refs_of(name)
        where = f"bundled: {', '.join(bundled_refs) or 'none'}; " + (
            f"runs with a model in {runs.RUNS}: {', '.join(run_refs) or 'none'}" if runs.RUNS.is_dir()
            else f"no runs folder ({runs.RUNS}: not a source checkout)")
        here = f"its run {run.path} holds no model" if run is not None else "no run of it here"
        raise CheckpointError(f"no checkpoint {ref!r}: not bundled, {here}, and {str(exc).splitlines()[0]}. "
                              f"Checkpoints of {name} that exist: {where}.") from None


def publish(directory: str | Path, repo_id: str, *, dry_run: bool = False, private: bool = False,
            api: Any = None, commit_message: str | None = None) -> list[str]:
    """Upload a checkpoint directory to ``repo_id`` with ``HfApi`` (``create_repo`` + ``upload_folder``).

    The checkpoint is loaded strictly first, so only a valid one is published. Returns the
    files uploaded (or that would be, with ``dry_run``).
    """
    from . import checkpoint

    directory = Path(directory)
    checkpoint.load(directory)  # strict: names, shapes, sha256
    missing = [f for f in FILES if not (directory / f).is_file()]
    if missing:
        raise CheckpointError(f"{directory} lacks {missing}; a published checkpoint needs {FILES} (render the card first)")
    if "/" not in repo_id:
        raise LoopzooError(f"repository id must be ORG/NAME, got {repo_id!r}")
    if dry_run:
        return list(FILES)
    if api is None:
        from huggingface_hub import HfApi

        api = HfApi()
    api.create_repo(repo_id, private=private, exist_ok=True)
    api.upload_folder(repo_id=repo_id, folder_path=str(directory), allow_patterns=FILES,
                      commit_message=commit_message or f"Upload {directory.name} with loopzoo")
    return list(FILES)
