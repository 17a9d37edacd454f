"""First-move accuracy of a chess model on the bundled Lichess puzzles, by rating band.

    python scripts/eval_lichess.py chess-internal-recall-outernorm            # test split, card's iterations
    python scripts/eval_lichess.py runs/my-chess --iters 30 --split val --json out.json
    python scripts/eval_lichess.py chess-internal-recall-outernorm --write   # save and render docs/chess-data.md's table
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import loopzoo  # noqa: E402
from loopzoo import docs_tables  # noqa: E402
from loopzoo.tasks.chess_eval import evaluate_puzzles, format_report  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", help="a bundled zoo name or a checkpoint directory")
    ap.add_argument("--split", default="test", choices=["train", "val", "test"])
    ap.add_argument("--iters", type=int, default=None, help="default: the model's recommended iterations")
    ap.add_argument("--n", type=int, default=None, help="only the first N puzzles of the split")
    ap.add_argument("--seed", type=int, default=0, help="split seed (0 = the canonical split)")
    ap.add_argument("--json", type=Path, default=None, help="also write the report as JSON here")
    ap.add_argument("--write", action="store_true",
                    help="save the report as docs/results/lichess-flagship.json and render docs/chess-data.md's table")
    args = ap.parse_args()
    try:
        model = loopzoo.load(args.model)
        t0 = time.time()
        report = evaluate_puzzles(model, args.split, args.iters, args.n, args.seed)
    except loopzoo.LoopzooError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    report["model"] = args.model
    print(f"{args.model} on Lichess {args.split} ({report['overall']['n']} puzzles), {report['iters']} iterations, "
          f"{time.time() - t0:.0f} s")
    print(format_report(report))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    if args.write:  # "source" there says where the numbers come from: the data's source is "data"
        saved = {"data" if k == "source" else k: v for k, v in report.items()}
        print(docs_tables.publish("lichess-flagship", docs_tables.stamp(saved, sys.argv)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
