"""Helpers shared by the data tests."""
from __future__ import annotations

import csv
from pathlib import Path


def rewrite_csv(src: Path, dst: Path, line: int, column: str, value: str) -> Path:
    """Copy the CSV ``src`` to ``dst`` with ``column`` of file line ``line`` (header = line 1) set to ``value``."""
    rows = list(csv.DictReader(open(src)))
    rows[line - 2][column] = value
    with open(dst, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]), lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    return dst
