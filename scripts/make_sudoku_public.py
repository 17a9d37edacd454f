"""Make the bundled public sudoku set: both public lists, rated by the project's solver, one xz CSV.

    python scripts/make_sudoku_public.py --lists ../shared/data --workers 2          # rates all (~30 min, 2 cores)
    python scripts/make_sudoku_public.py --lists ../shared/data --ratings /tmp/ratings --check 300

``--lists`` holds the tdoku-style files (``puzzle,solution``, 0 = blank) named in
:data:`loopzoo.data.sudoku_public.LISTS`. ``--ratings DIR`` takes ratings computed before
(``DIR/<list file stem>.txt``, one ``backtracks[,guesses]`` line per puzzle in file order) and
re-rates ``--check`` seeded random puzzles to confirm them. Writes
loopzoo/data/bundled/sudoku_public.csv.xz (question, answer, rating, source) and records its
sha256, split sizes, provenance and licence in the manifest.
"""
from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from loopzoo.checkpoint import sha256_file  # noqa: E402
from loopzoo.data import bundled  # noqa: E402
from loopzoo.data import sudoku_public as sp  # noqa: E402
from loopzoo.data.formats import write_csv  # noqa: E402
from loopzoo.errors import DataError  # noqa: E402


def read_ratings(path: Path) -> list[int]:
    """Backtracks, the first field of each line of a precomputed ratings file."""
    if not path.is_file():
        raise DataError(f"{path}: no such ratings file")
    return [int(line.split(",")[0]) for line in path.read_text().split()]


def check_sample(lists: dict[str, list[tuple[str, str]]], ratings: dict[str, list[int]], n: int, workers: int) -> None:
    """Re-rate ``n`` seeded random puzzles (split over the lists) and compare with ``ratings``."""
    rng = random.Random(f"{sp.SALT}:check")
    picks = [(name, i) for name, rows in lists.items() for i in rng.sample(range(len(rows)), n // len(lists))]
    t0 = time.time()
    again = list(sp.rate_rows([lists[name][i] for name, i in picks], workers))
    bad = [(name, i, ratings[name][i], r) for (name, i), r in zip(picks, again) if ratings[name][i] != r]
    if bad:
        raise DataError(f"{len(bad)} of {len(picks)} re-rated puzzles differ (list, row, given, re-rated): {bad[:5]}")
    print(f"check: {len(picks)} seeded random puzzles re-rated in {time.time() - t0:.0f} s, all equal the given ratings")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lists", type=Path, required=True, help="folder with the two public list files")
    ap.add_argument("--ratings", type=Path, default=None, help="folder of precomputed ratings (else rate here)")
    ap.add_argument("--check", type=int, default=300, help="with --ratings: re-rate this many puzzles")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--out", type=Path, default=bundled.DIR / bundled.FILES["sudoku_public"])
    args = ap.parse_args()

    files = {name: args.lists / str(info["file"]) for name, info in sp.LISTS.items()}
    lists = {name: sp.read_upstream(path) for name, path in files.items()}
    for name, rows in lists.items():
        if len(rows) != sp.LISTS[name]["rows"]:
            raise DataError(f"{files[name]}: {len(rows)} puzzles, expected {sp.LISTS[name]['rows']}")
    ratings = None
    if args.ratings is not None:
        ratings = {name: read_ratings(args.ratings / (str(info["file"]).removesuffix(".csv.xz") + ".txt"))
                   for name, info in sp.LISTS.items()}
        if args.check:
            check_sample(lists, ratings, args.check, args.workers)
    t0 = time.time()
    rows = sp.build_rows(lists, ratings, workers=args.workers, progress=True)
    write_csv(args.out, sp.HEADER, rows)
    questions = [r[0] for r in rows]
    sizes = {s: len(v) for s, v in sp.split_indices(questions, [r[2] for r in rows], [r[3] for r in rows]).items()}
    print(f"wrote {len(rows):,} puzzles to {args.out} in {time.time() - t0:.0f} s; splits {sizes}")
    if args.out.parent.resolve() == bundled.DIR.resolve():
        made_by = f"python scripts/make_sudoku_public.py --lists DIR --workers {args.workers}"
        if args.ratings is not None:
            made_by += f" (ratings precomputed by the same solver; {args.check} re-rated and equal)"
        entry = bundled.record(
            args.out, task="sudoku", rows=len(rows), **sizes,
            lists={name: {"rows": len(lists[name]), "upstream": info["upstream"], "what": info["what"],
                          "upstream_sha256": sha256_file(files[name])} for name, info in sp.LISTS.items()},
            licence=sp.LICENCE, made_by=made_by,
            rating="backtracks of loopzoo.data.sudoku_solver.rate (naked singles, MRV, full search)",
            split="test = the hardest 20% of each list by rating (ties: fewer givens, then sha256); val = 5,000 seeded of the rest",
        )
        print(f"recorded {args.out.name} ({entry['bytes']:,} bytes, sha256 {entry['sha256'][:16]}...)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
