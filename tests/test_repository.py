"""The repository stops growing: no git-tracked file outside ``loopzoo/zoo/`` over 5 MB (docs/zoo.md).

Run folders keep metrics and best weights; optimizer state only while a run is in progress; large
weights (untied baselines) go to the Hub with ``loopzoo publish``. Skipped outside a git checkout.
"""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LIMIT = 5 * 1000 * 1000  # bytes
# Tracked before the rule (2026-12-07), the only ones allowed; never add to this list. The untied
# baselines' weights (12 MB each) are to be published with `loopzoo publish` and removed from the tree;
# the optimizer states (7.9 MB each) of the two width-256 runs go when their runs are declared ended.
GRANDFATHERED = {
    "runs/grid/sudoku/sudoku-fixed15@lr0.001/seed0/model.safetensors",
    "runs/grid/chess/chess-fixed15@lr0.001/seed0/model.safetensors",
    "runs/sudoku-internal-recall-outernorm.w256/checkpoints/step-00003457/optimizer.safetensors",
    "runs/chess-internal-recall-outernorm.w256/checkpoints/step-00003200/optimizer.safetensors",
}


def tracked_files(root: Path) -> list[str] | None:
    """Paths git tracks under ``root`` when ``root`` is the top of a git checkout, else None."""
    if shutil.which("git") is None:
        return None
    top = subprocess.run(["git", "-C", str(root), "rev-parse", "--show-toplevel"], capture_output=True, text=True)
    if top.returncode != 0 or Path(top.stdout.strip()).resolve() != root:
        return None
    out = subprocess.run(["git", "-C", str(root), "ls-files", "-z"], capture_output=True, check=True)
    return [p for p in out.stdout.decode().split("\0") if p]


def oversized(root: Path, files: list[str]) -> dict[str, int]:
    """Tracked files outside ``loopzoo/zoo/`` over the limit, with their sizes, less the grandfathered ones."""
    sizes = {p: (root / p).stat().st_size for p in files if not p.startswith("loopzoo/zoo/") and (root / p).is_file()}
    return {p: size for p, size in sizes.items() if size > LIMIT and p not in GRANDFATHERED}


def test_no_tracked_file_outside_the_zoo_exceeds_5_mb():
    files = tracked_files(ROOT)
    if files is None:
        pytest.skip("not a git checkout")
    big = oversized(ROOT, files)
    assert not big, (f"tracked files over {LIMIT:,} bytes (docs/zoo.md: keep metrics and best weights, publish large "
                     f"weights with `loopzoo publish`, delete optimizer state when a run ends): {big}")


def test_the_check_sees_a_large_file_and_only_at_the_top_of_a_checkout(tmp_path):
    if shutil.which("git") is None:
        pytest.skip("no git")
    root = tmp_path.resolve()
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    (root / "loopzoo" / "zoo").mkdir(parents=True)
    for name in ("big.bin", "loopzoo/zoo/weights.bin", "small.bin"):
        (root / name).write_bytes(b"\0" * (LIMIT + 1 if "small" not in name else 10))
    subprocess.run(["git", "-C", str(root), "add", "."], check=True)
    assert oversized(root, tracked_files(root)) == {"big.bin": LIMIT + 1}
    assert tracked_files(root / "loopzoo") is None  # inside a checkout, not its top
