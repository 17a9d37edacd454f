"""Compare the difficulty of the public sudoku lists with the bundled generated set.

    python scripts/sudoku_difficulty.py --sample 5000 --plot docs/img/sudoku-difficulty.png
    python scripts/sudoku_difficulty.py --lists ../shared/data --rate 300     # a list not bundled yet
    python scripts/sudoku_difficulty.py --write   # also save docs/results/sudoku-difficulty.json, render docs/sudoku-data.md

Ratings are the backtracks of ``loopzoo.data.sudoku_solver.rate`` stored in the bundled files. A
public list that is not bundled yet is read from ``--lists`` and ``--rate`` seeded random puzzles
of it are rated here (the table says so). The share solvable by naked + hidden singles alone is
measured on ``--sample`` seeded random puzzles of each set (``sudoku_solver.solved_by_singles``).
"""
from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from loopzoo import docs_tables  # noqa: E402
from loopzoo.data import bundled, sudoku, sudoku_public, sudoku_solver  # noqa: E402

QUANTILES = sudoku_public.DIFFICULTY_QUANTILES
GENERATED = "generated (all 60,000)"


def sets(lists: Path | None, rate: int) -> dict[str, tuple[list[str], np.ndarray]]:
    """Set name -> (questions, ratings): the generated set, its hard 20%, each public list and its splits.

    For a list rated here on a sample, ``questions`` is the whole list (for the singles sample)
    and ``ratings`` the sample's.
    """
    gq, _, gr = sudoku.read(bundled.path_for("sudoku"))
    gr = np.array(gr)
    ghard = sudoku.hard_mask(gr, gq)
    out = {GENERATED: (gq, gr), "generated hard 20% (test = its first 10,000)": ([gq[i] for i in np.flatnonzero(ghard)], gr[ghard])}
    for name, info in sudoku_public.LISTS.items():
        if bundled.FILES[sudoku_public.BUNDLED[name]] in bundled.manifest():
            q, _, r, _ = sudoku_public.read(sudoku_public.bundled_file(name))
            r = np.array(r)
            splits = sudoku_public.split_indices(q, r)
            rest = np.r_[splits["train"], splits["val"]]
            out[name] = (q, r)
            out[f"{name} train+val"] = ([q[i] for i in rest], r[rest])
            out[f"{name} test (hard 20%)"] = ([q[i] for i in splits["test"]], r[splits["test"]])
        elif lists is not None:
            rows = sudoku_public.read_upstream(lists / str(info["file"]))
            pick = random.Random(f"sudoku-difficulty:rate:{name}").sample(range(len(rows)), rate)
            t0 = time.time()
            ratings = np.array(list(sudoku_public.rate_rows([rows[i] for i in pick])))
            print(f"  ({name}: rated {rate} seeded puzzles in {time.time() - t0:.0f} s)", file=sys.stderr)
            out[f"{name} (ratings: sample of {rate}; not bundled yet)"] = ([q for q, _ in rows], ratings)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sample", type=int, default=5000, help="puzzles per set for the singles share")
    ap.add_argument("--plot", type=Path, default=None, help="write the rating histograms here (PNG)")
    ap.add_argument("--lists", type=Path, default=None, help="folder of the public lists, for a list not bundled")
    ap.add_argument("--rate", type=int, default=300, help="with --lists: puzzles to rate of a list not bundled")
    ap.add_argument("--write", action="store_true",
                    help="save the table's rows as docs/results/sudoku-difficulty.json and render docs/sudoku-data.md's table")
    args = ap.parse_args()
    data = sets(args.lists, args.rate)
    print("| set | puzzles rated | mean | min | " + " | ".join(f"p{q}" for q in QUANTILES) + " | max | singles only |")
    print("|---" * (6 + len(QUANTILES)) + "|")
    rows = []
    for name, (questions, ratings) in data.items():
        sample = random.Random(f"sudoku-difficulty:{name}").sample(range(len(questions)), min(args.sample, len(questions)))
        singles = sum(sudoku_solver.solved_by_singles([0 if c == "." else int(c) for c in questions[i]]) for i in sample)
        qs = " | ".join(f"{np.percentile(ratings, q):,.0f}" for q in QUANTILES)
        print(f"| {name} | {len(ratings):,} | {ratings.mean():,.0f} | {ratings.min():,.0f} | {qs} | {ratings.max():,.0f} | "
              f"{100 * singles / len(sample):.1f}% of {len(sample):,} |", flush=True)
        rows.append({"set": name, "rated": len(ratings), "mean": float(ratings.mean()), "min": float(ratings.min()),
                     **{f"p{q}": float(np.percentile(ratings, q)) for q in QUANTILES}, "max": float(ratings.max()),
                     "singles": singles / len(sample), "singles_n": len(sample)})
    gen_all = data[GENERATED][1]
    gen_cut = data["generated hard 20% (test = its first 10,000)"][1].min()
    print(f"generated hard cut: rating >= {gen_cut:,.0f}")
    cuts = {}
    for name in sudoku_public.LISTS:
        if f"{name} test (hard 20%)" in data:
            cuts[name] = data[f"{name} test (hard 20%)"][1].min()
            print(f"{name} test cut: rating >= {cuts[name]:,.0f}; "
                  f"generated puzzles at or above it: {100 * (gen_all >= cuts[name]).mean():.2f}%")
    for name, (_, r) in data.items():
        if name in sudoku_public.LISTS or "sample of" in name:
            line = f"{name}: {100 * (r >= gen_cut).mean():.1f}% at or above the generated hard cut"
            for other, cut in cuts.items():
                line += f", {100 * (r >= cut).mean():.1f}% at or above the {other} test cut"
            print(line)
    if args.write:
        print(docs_tables.publish("sudoku-difficulty", docs_tables.stamp({"rows": rows}, sys.argv)))
    if args.plot is not None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        top = max(r.max() for _, r in data.values()) + 1
        edges = np.unique(np.floor(np.logspace(0, np.log10(top + 1), 50)))  # whole numbers: no empty bins at 1, 2, 3
        widths = np.diff(np.log10(edges))
        fig, ax = plt.subplots(figsize=(8, 4.5))
        for name, (_, r) in data.items():
            if name == GENERATED or name in sudoku_public.LISTS or "sample of" in name:
                counts, _ = np.histogram(r + 1, bins=edges)
                ax.stairs(counts / len(r) / widths, edges, linewidth=1.6, label=f"{name} (median {np.median(r):,.0f})")
        ax.axvline(gen_cut + 1, color="grey", linestyle=":", label=f"generated hard cut ({gen_cut:,.0f})")
        for (name, cut), style in zip(cuts.items(), ("--", "-.")):
            ax.axvline(cut + 1, color="black", linestyle=style, label=f"{name} test cut ({cut:,.0f})")
        ax.set_xscale("log")
        ax.set_xlabel("rating = backtracks of sudoku_solver.rate, + 1 (log scale)")
        ax.set_ylabel("share of the set per decade of rating")
        ax.set_title("Sudoku difficulty: the bundled generated set and the public lists")
        ax.set_ylim(0, ax.get_ylim()[1] * 1.25)
        ax.legend(fontsize=7, loc="upper left")
        fig.tight_layout()
        args.plot.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(args.plot, dpi=110)
        print(f"wrote {args.plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
