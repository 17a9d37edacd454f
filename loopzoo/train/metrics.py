"""A run's ``metrics.jsonl``: one JSON record per line, appended as training goes.

A kill can land in the middle of an append, so a reader keeps every whole record and drops a
line that does not parse (the cut-off last one), instead of failing on the run it should resume.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..checkpoint import write_text_atomic

FILE = "metrics.jsonl"


def _line(record: dict[str, Any]) -> str:
    return json.dumps(record) + "\n"


def append(run_dir: str | Path, record: dict[str, Any]) -> None:
    """Add ``record`` as one line, starting a new line if a kill left the last one unfinished."""
    path = Path(run_dir) / FILE
    line = _line(record).encode()
    with open(path, "a+b") as f:
        if f.seek(0, 2) > 0:
            f.seek(-1, 2)
            if f.read(1) != b"\n":
                line = b"\n" + line
        f.write(line)


def read(run_dir: str | Path) -> list[dict[str, Any]]:
    """The run's whole records in order; ``[]`` when it has none yet."""
    path = Path(run_dir) / FILE
    if not path.is_file():
        return []
    records = []
    for line in path.read_text(errors="replace").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            records.append(record)
    return records


def truncate(run_dir: str | Path, step: int) -> None:
    """Keep only the records up to ``step`` (a run resumed from that step logs the rest again)."""
    if (Path(run_dir) / FILE).is_file():
        kept = [record for record in read(run_dir) if record.get("step", 0) <= step]
        write_text_atomic(Path(run_dir) / FILE, "".join(_line(record) for record in kept))
