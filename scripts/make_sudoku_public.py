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
A command line over :func:`loopzoo.data.sudoku_public.make_file`.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from loopzoo.data import sudoku_public as sp


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
    if args.rate_into is not None:
        rows = sp.read_list(args.lists, args.list, args.rows)
        args.rate_into.mkdir(parents=True, exist_ok=True)
        target = sp.ratings_file(args.rate_into, args.list)
        print(f"{target}: {sp.rate_into(rows, target, args.workers, progress=True):,} of {len(rows):,} rated")
        return 0
    sp.make_file(args.lists, args.list, ratings=args.ratings, check=args.check, workers=args.workers, out=args.out,
                 rows=args.rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
