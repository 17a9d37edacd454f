"""Make a bundled public sudoku file: one public list, rated by the project's solver, as xz CSV.

    python scripts/make_sudoku_public.py --lists ../shared/data --list 17-clue --workers 2      # rates all
    python scripts/make_sudoku_public.py --lists ../shared/data --list forum-hardest --ratings /tmp/ratings --check 300
    python scripts/make_sudoku_public.py --lists ../shared/data --list 17-clue --rate-into runs/sudoku-public-ratings --workers 2

``--lists`` holds the tdoku-style files (``puzzle,solution``, 0 = blank) named in
:data:`loopzoo.data.sudoku_public.LISTS`. Without ``--ratings`` every puzzle is rated here
(forum-hardest about 18 ms a puzzle, 17-clue several times more, on one idle core).
``--ratings DIR`` takes ratings computed before (``DIR/<list file stem>.txt``, one
``backtracks[,guesses]`` line per puzzle in file order) and re-rates ``--check`` seeded random
puzzles to confirm them. Writes loopzoo/data/bundled/sudoku_public_<list>.csv.xz (question,
answer, rating, source) and records its sha256, split sizes, provenance and licence in the manifest.
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


def check_sample(rows: list[tuple[str, str]], ratings: list[int], n: int, workers: int) -> None:
    """Re-rate ``n`` seeded random puzzles of ``rows`` and compare with ``ratings``."""
    picks = random.Random(f"{sp.SALT}:check").sample(range(len(rows)), min(n, len(rows)))
    t0 = time.time()
    again = list(sp.rate_rows([rows[i] for i in picks], workers))
    bad = [(i, ratings[i], r) for i, r in zip(picks, again) if ratings[i] != r]
    if bad:
        raise DataError(f"{len(bad)} of {len(picks)} re-rated puzzles differ (row, given, re-rated): {bad[:5]}")
    print(f"check: {len(picks)} seeded random puzzles re-rated in {time.time() - t0:.0f} s, all equal the given ratings")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lists", type=Path, required=True, help="folder with the public list files")
    ap.add_argument("--list", required=True, choices=list(sp.LISTS), help="which list to bundle")
    ap.add_argument("--ratings", type=Path, default=None, help="folder of precomputed ratings (else rate here)")
    ap.add_argument("--check", type=int, default=300, help="with --ratings: re-rate this many puzzles")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--rate-into", type=Path, default=None, metavar="DIR",
                    help="only rate the list into DIR/<list file stem>.txt (for --ratings), continuing a stopped job")
    ap.add_argument("--out", type=Path, default=None, help="default: the bundled file of the list")
    ap.add_argument("--rows", type=int, default=None, help="puzzles the list must hold (default: its published count)")
    args = ap.parse_args(argv)
    info = sp.LISTS[args.list]
    out = args.out or bundled.DIR / bundled.FILES[sp.BUNDLED[args.list]]
    upstream = args.lists / str(info["file"])
    rows = sp.read_upstream(upstream)
    if len(rows) != (args.rows or info["rows"]):
        raise DataError(f"{upstream}: {len(rows)} puzzles, expected {args.rows or info['rows']}")
    if args.rate_into is not None:
        args.rate_into.mkdir(parents=True, exist_ok=True)
        target = args.rate_into / (str(info["file"]).removesuffix(".csv.xz") + ".txt")
        print(f"{target}: {sp.rate_into(rows, target, args.workers, progress=True):,} of {len(rows):,} rated")
        return 0
    ratings = None
    if args.ratings is not None:
        ratings = {args.list: read_ratings(args.ratings / (str(info["file"]).removesuffix(".csv.xz") + ".txt"))}
        if len(ratings[args.list]) != len(rows):
            raise DataError(f"{args.ratings}: {len(ratings[args.list])} ratings for {len(rows)} puzzles (not finished?)")
        if args.check:
            check_sample(rows, ratings[args.list], args.check, args.workers)
    t0 = time.time()
    built = sp.build_rows({args.list: rows}, ratings, workers=args.workers, progress=True)
    write_csv(out, sp.HEADER, built)
    print(f"wrote {len(built):,} puzzles to {out} in {time.time() - t0:.0f} s")
    if len(built) <= sp.VAL_PER_LIST:  # too few to split (a test's tiny list); a bundled list never is
        return 0
    sizes = {s: len(v) for s, v in sp.split_indices([r[0] for r in built], [r[2] for r in built]).items()}
    print(f"splits {sizes}")
    if out.parent.resolve() == bundled.DIR.resolve():
        made_by = f"python scripts/make_sudoku_public.py --lists DIR --list {args.list} --workers {args.workers}"
        if args.ratings is not None:
            made_by += f" (ratings precomputed by the same solver; {args.check} seeded puzzles re-rated, all equal)"
        entry = bundled.record(
            out, task="sudoku", list=args.list, rows=len(built), **sizes,
            upstream=info["upstream"], upstream_sha256=sha256_file(upstream), what=info["what"],
            licence=sp.LICENCE, made_by=made_by,
            rating="backtracks of loopzoo.data.sudoku_solver.rate (naked singles, MRV, full search)",
            split="test = the list's hardest 20% by rating (ties: fewer givens, then sha256); val = 2,500 seeded of the rest",
        )
        print(f"recorded {out.name} ({entry['bytes']:,} bytes, sha256 {entry['sha256'][:16]}...)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
