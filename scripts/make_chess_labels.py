"""Grow the Stockfish-labelled chess positions under loopzoo/data/bundled/chess_labels/, resumably.

    python scripts/make_chess_labels.py --seed 0 --until 1000000 --workers 2
    python scripts/make_chess_labels.py --seed 0 --until 1000000 --workers 1 --commit   # commit each shard

Running the same command again resumes after the last finished shard of the seed: the shards it
writes are the ones one uninterrupted run would write. Only whole shards are written (about
--shard-rows rows, never above 5 MB); rows of an unfinished shard are played again on restart.
--commit commits each new shard and the manifest (those paths only) as soon as it is written.

    python scripts/make_chess_labels.py --agreement 200    # label agreement with a search 4 plies deeper
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from loopzoo.data import chess_labels as cl  # noqa: E402
from loopzoo.errors import LoopzooError  # noqa: E402


def commit(path: Path, entry: dict) -> None:
    """``git add`` + ``git commit`` of the shard and the manifest only; retried while the index is locked."""
    paths = [str(path.relative_to(ROOT)), str(cl.manifest_path(path.parent).relative_to(ROOT))]
    msg = f"chess labels: {entry['file']} ({entry['rows']:,} rows, seed {entry['seed']}, games {entry['games'][0]}-{entry['games'][1] - 1})"
    _commit(paths, msg, entry["file"])


def commit_leftovers(directory: Path) -> None:
    """Commit shards (and the manifest) a killed run wrote but did not commit."""
    if not directory.resolve().is_relative_to(ROOT):
        raise LoopzooError(f"--commit needs --dir inside the repository {ROOT}, got {directory}")
    rel = str(directory.resolve().relative_to(ROOT))
    status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all", "--", rel], cwd=ROOT,
                            capture_output=True, text=True).stdout
    paths = [line[3:] for line in status.splitlines() if line[3:].endswith((".csv.xz", "manifest.json"))]
    if paths:
        _commit(paths, f"chess labels: {', '.join(Path(p).name for p in paths)} (left by a stopped run)", "left-over shards")


def _commit(paths: list[str], msg: str, what: str) -> None:
    for attempt in range(30):
        add = subprocess.run(["git", "add", "--", *paths], cwd=ROOT, capture_output=True, text=True)
        done = add.returncode == 0 and subprocess.run(
            ["git", "commit", "-q", "-m", msg, "--", *paths], cwd=ROOT, capture_output=True, text=True).returncode == 0
        if done:
            print(f"committed {what}", flush=True)
            return
        time.sleep(5 + attempt)
    print(f"warning: could not commit {what}; commit it by hand: git add {' '.join(paths)}", flush=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--until", type=int, default=1_000_000, help="stop once the finished shards hold this many rows")
    ap.add_argument("--workers", type=int, default=1, help="Stockfish processes (one core each)")
    ap.add_argument("--shard-rows", type=int, default=cl.SHARD_ROWS, help="rows per shard (whole games; cap 5 MB)")
    ap.add_argument("--dir", type=Path, default=cl.DIR, help="shard directory (default: the bundled one)")
    ap.add_argument("--commit", action="store_true", help="git-commit each shard and the manifest when written")
    ap.add_argument("--agreement", type=int, default=0, metavar="N",
                    help="only measure: agreement of N sampled labels with a search --extra-depth deeper")
    ap.add_argument("--extra-depth", type=int, default=4)
    args = ap.parse_args()
    try:
        if args.agreement:
            t0 = time.time()
            res = cl.agreement(args.dir, args.agreement, args.extra_depth, progress=True)
            print(f"depth {res['depth']} labels vs depth {res['deep_depth']}: {100 * res['agree']:.1f}% of {res['n']} agree "
                  f"(tactical {100 * res['tactical_agree']:.1f}% of {res['tactical_n']}, quiet "
                  f"{100 * res['quiet_agree']:.1f}% of {res['quiet_n']}); {time.time() - t0:.0f} s")
            return 0
        if args.commit:
            commit_leftovers(args.dir)
        manifest = cl.generate(args.seed, args.until, args.dir, args.workers, args.shard_rows,
                               on_shard=commit if args.commit else None, log=lambda s: print(s, flush=True))
    except LoopzooError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"done: {sum(s['rows'] for s in manifest['shards']):,} rows in {len(manifest['shards'])} shards")
    return 0


if __name__ == "__main__":
    sys.exit(main())
