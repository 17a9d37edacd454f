"""Compare the difficulty of the bundled public sudoku lists with the bundled generated set.

    python scripts/sudoku_difficulty.py                      # prints the tables of docs/sudoku-data.md
    python scripts/sudoku_difficulty.py --plot docs/img/sudoku-difficulty.png --sample 3000

Ratings are the backtracks of ``loopzoo.data.sudoku_solver.rate`` stored in both bundled files.
The share solvable by naked + hidden singles alone is measured on ``--sample`` seeded random
puzzles of each set (``sudoku_solver.solved_by_singles``).
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

from loopzoo.data import bundled, sudoku, sudoku_public, sudoku_solver  # noqa: E402

QUANTILES = (10, 25, 50, 75, 90, 99)


def sets(public: Path | None = None) -> dict[str, tuple[list[str], np.ndarray]]:
    """Set name -> (questions, ratings) for the generated set, each public list and the public splits."""
    gq, _, gr = sudoku.read(bundled.path_for("sudoku"))
    gr = np.array(gr)
    ghard = sudoku.hard_mask(gr, gq)
    pq, _, pr, src = sudoku_public.read(public or bundled.path_for("sudoku_public"))
    pr = np.array(pr)
    splits = sudoku_public.split_indices(pq, pr, src)
    pick = lambda qs, idx: [qs[i] for i in idx]  # noqa: E731
    out = {
        "generated (all 60,000)": (gq, gr),
        "generated hard 20% (test = its first 10,000)": (pick(gq, np.flatnonzero(ghard)), gr[ghard]),
        "forum-hardest": (pick(pq, np.flatnonzero(src == "forum-hardest")), pr[src == "forum-hardest"]),
        "17-clue": (pick(pq, np.flatnonzero(src == "17-clue")), pr[src == "17-clue"]),
        "public train+val": (pick(pq, np.r_[splits["train"], splits["val"]]), pr[np.r_[splits["train"], splits["val"]]]),
        "public test (hard 20%)": (pick(pq, splits["test"]), pr[splits["test"]]),
    }
    for name in ("forum-hardest", "17-clue"):
        t = splits["test"][src[splits["test"]] == name]
        out[f"public test, {name} only"] = (pick(pq, t), pr[t])
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sample", type=int, default=3000, help="puzzles per set for the singles share")
    ap.add_argument("--plot", type=Path, default=None, help="write the rating histograms here (PNG)")
    ap.add_argument("--public", type=Path, default=None, help="a public file other than the bundled one")
    args = ap.parse_args()
    data = sets(args.public)
    print("| set | puzzles | mean | " + " | ".join(f"p{q}" for q in QUANTILES) + " | max | singles only |")
    print("|---" * (5 + len(QUANTILES)) + "|")
    for name, (questions, ratings) in data.items():
        rng = random.Random(f"sudoku-difficulty:{name}")
        sample = rng.sample(range(len(questions)), min(args.sample, len(questions)))
        t0 = time.time()
        singles = sum(sudoku_solver.solved_by_singles([0 if c == "." else int(c) for c in questions[i]]) for i in sample)
        qs = " | ".join(f"{np.percentile(ratings, q):,.0f}" for q in QUANTILES)
        print(f"| {name} | {len(ratings):,} | {ratings.mean():,.0f} | {qs} | {ratings.max():,.0f} | "
              f"{100 * singles / len(sample):.1f}% of {len(sample):,} |", flush=True)
        print(f"  ({time.time() - t0:.0f} s for the singles sample)", file=sys.stderr)
    gen_all, pub_forum, pub_17 = data["generated (all 60,000)"][1], data["forum-hardest"][1], data["17-clue"][1]
    gen_cut = data["generated hard 20% (test = its first 10,000)"][1].min()
    print(f"generated hard cut: rating >= {gen_cut:,.0f}")
    for name, r in (("forum-hardest", pub_forum), ("17-clue", pub_17)):
        print(f"{name}: {100 * (r >= gen_cut).mean():.1f}% at or above the generated hard cut")
    forum_cut = data["public test, forum-hardest only"][1].min()
    print(f"generated: {100 * (gen_all >= forum_cut).mean():.2f}% at or above the forum-hardest test cut")
    for name in ("forum-hardest", "17-clue"):
        t = data[f"public test, {name} only"][1]
        print(f"public test split: {len(t):,} {name}, rating >= {t.min():,.0f}")
    pq = data["forum-hardest"][0] + data["17-clue"][0]
    one_cut = sudoku_public.split_indices(pq, np.r_[pub_forum, pub_17])["test"]  # one cut over both lists
    n_forum = int((one_cut < len(pub_forum)).sum())
    print(f"one cut over both lists instead: test = {n_forum:,} forum-hardest + {len(one_cut) - n_forum:,} 17-clue, "
          f"rating >= {np.r_[pub_forum, pub_17][one_cut].min():,.0f}")
    if args.plot is not None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        top = max(r.max() for _, r in data.values()) + 1
        edges = np.unique(np.floor(np.logspace(0, np.log10(top + 1), 50)))  # whole numbers: no empty bins at 1, 2, 3
        widths = np.diff(np.log10(edges))
        fig, ax = plt.subplots(figsize=(8, 4.5))
        for name in ("generated (all 60,000)", "forum-hardest", "17-clue"):
            r = data[name][1]
            counts, _ = np.histogram(r + 1, bins=edges)
            ax.stairs(counts / len(r) / widths, edges, linewidth=1.6, label=f"{name} (median {np.median(r):,.0f})")
        ax.axvline(gen_cut + 1, color="grey", linestyle=":", label=f"generated hard cut ({gen_cut:,.0f})")
        for name, style in (("forum-hardest", "--"), ("17-clue", "-.")):
            cut = data[f"public test, {name} only"][1].min()
            ax.axvline(cut + 1, color="black", linestyle=style, label=f"{name} test cut ({cut:,.0f})")
        ax.set_xscale("log")
        ax.set_xlabel("rating = backtracks of sudoku_solver.rate, + 1 (log scale)")
        ax.set_ylabel("share of the set per decade of rating")
        ax.set_title("Sudoku difficulty: bundled generated set vs the public lists")
        ax.legend(fontsize=8)
        fig.tight_layout()
        args.plot.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(args.plot, dpi=110)
        print(f"wrote {args.plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
