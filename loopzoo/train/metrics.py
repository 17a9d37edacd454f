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


def time_to(records: list[dict[str, Any]], target: float, split: str = "val",
            clock: str | None = None) -> dict[str, Any] | None:
    """When a run's evaluations first reached ``target`` exact match on ``split`` (best over the
    evaluated iterations): the step and the training minutes of that evaluation, and the minutes
    linearly interpolated from the evaluation before it. Minutes are wall time less evaluations,
    or the evaluation record's field ``clock`` where given (e.g. CPU minutes). ``None`` if none
    reached it."""
    evals = [r for r in records if r.get("kind") == "eval" and split in r]
    before = {"step": 0, "minutes": 0.0, "value": 0.0}
    for record in evals:
        minutes = record[clock] if clock else record["train_minutes"] - record.get("eval_minutes", 0.0)
        value = record[split]["best"]
        if value >= target:
            share = (target - before["value"]) / (value - before["value"]) if value > before["value"] else 1.0
            return {"step": record["step"], "minutes": round(minutes, 2), "value": value,
                    "interpolated_minutes": round(before["minutes"] + share * (minutes - before["minutes"]), 2)}
        before = {"step": record["step"], "minutes": minutes, "value": value}
    return None
