"""The data sets shipped inside the package, and their manifest of sha256 hashes.

``loopzoo/data/bundled/manifest.json`` maps each file name to its sha256, row count, task,
seed and the command that made it. A file whose hash differs from the manifest is refused.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..errors import DataError
from ..checkpoint import sha256_file

DIR = Path(__file__).parent / "bundled"
MANIFEST = DIR / "manifest.json"
FILES = {
    "sudoku": "sudoku.csv.xz", "chess": "chess.csv.xz",
    "sudoku_public_forum_hardest": "sudoku_public_forum_hardest.csv.xz", "sudoku_public_17_clue": "sudoku_public_17_clue.csv.xz",
}


def manifest() -> dict[str, dict[str, Any]]:
    """The manifest: file name -> {sha256, rows, task, seed, made_by, ...}."""
    if not MANIFEST.is_file():
        return {}
    try:
        return json.loads(MANIFEST.read_text())
    except json.JSONDecodeError as exc:
        raise DataError(f"{MANIFEST}, line {exc.lineno}: invalid JSON: {exc.msg}") from None


def path_for(task: str) -> Path:
    """The verified bundled file of ``task``; :class:`DataError` if absent or altered."""
    name = FILES.get(task)
    if name is None:
        raise DataError(f"no bundled data set for task {task!r} (bundled: {', '.join(FILES)})")
    path = DIR / name
    if not path.is_file():
        raise DataError(
            f"{path}: the bundled {task} set is missing; make it with scripts/make_{task}.py "
            f"or pass path= a local file"
        )
    verify_hash(path)
    return path


def verify_hash(path: Path) -> dict[str, Any]:
    """Check ``path`` against the manifest; return its entry."""
    entry = manifest().get(path.name)
    if entry is None:
        raise DataError(f"{path}: not listed in {MANIFEST}")
    actual = sha256_file(path)
    if actual != entry["sha256"]:
        raise DataError(
            f"{path}: sha256 {actual[:16]}... does not match the manifest's {entry['sha256'][:16]}...; "
            "the file is corrupted or was changed without updating the manifest"
        )
    return entry


def record(path: Path, **info: Any) -> dict[str, Any]:
    """Add or update ``path``'s entry in the manifest (its hash plus ``info``)."""
    entries = manifest()
    entries[path.name] = {"sha256": sha256_file(path), "bytes": path.stat().st_size, **info}
    MANIFEST.write_text(json.dumps(entries, indent=2, sort_keys=True) + "\n")
    return entries[path.name]
