"""Make the bundled chess set from seeded noisy self-play with Stockfish, resumable.

    python scripts/make_chess.py --easy 10000 --hard 2000 --seed 0    # resumes build/data/chess-seed0.partial.csv
    python scripts/make_chess.py --finish                              # write the bundle from what exists
    python scripts/make_chess.py --easy 30000 --hard 6000 --seed 0    # extend the bundle: its games are kept

Without a partial file, a run starts from the bundled set of the same seed (its rows, games and
dropped duplicates), so extending the bundle plays only new games and keeps every old row, in order.

Games are played in order; after each game its puzzles (duplicates of earlier positions
dropped) are appended to a plain partial CSV and the game count to a ``.games`` file, so a
killed run resumes at the next game. When the targets are met (or with ``--finish``) the
set is written compressed to loopzoo/data/bundled/chess.csv.xz and recorded in the manifest.
"""
from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

from tqdm import tqdm

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from loopzoo.data import bundled  # noqa: E402
from loopzoo.data import chess as cd  # noqa: E402
from loopzoo.data.formats import read_csv, write_csv  # noqa: E402


def load_partial(partial: Path, games_file: Path) -> tuple[list[list[str]], int, int]:
    """Rows of complete games, games done, duplicates dropped so far; rows of a torn game are cut."""
    games, dupes = map(int, games_file.read_text().split()) if games_file.exists() else (0, 0)
    if not partial.exists():
        return [], 0, 0
    with open(partial, newline="") as f:
        rows = [r for r in csv.reader(f)][1:]
    rows = [r for r in rows if len(r) == len(cd.HEADER) and int(r[5]) < games]
    return rows, games, dupes


def seed_from_bundle(bundle: Path, seed: int, partial: Path, games_file: Path) -> tuple[list[list[str]], int, int] | None:
    """Rows, games and dropped duplicates of the bundled set made with ``seed``, to start ``partial``
    from when it does not exist yet (the games file is written now; the caller writes the rows)."""
    entry = bundled.manifest().get(bundle.name) if bundle.parent == bundled.DIR else None
    if partial.exists() or not bundle.is_file() or entry is None or entry.get("seed") != seed:
        return None
    bundled.verify_hash(bundle)
    rows = [[row[c] for c in cd.HEADER] for _, row in read_csv(bundle, cd.HEADER)]
    games, dupes = entry["games"], entry.get("duplicates_dropped", 0)
    games_file.write_text(f"{games} {dupes}")
    return rows, games, dupes


def counts(rows: list[list[str]]) -> tuple[int, int]:
    hard = sum(int(r[2]) >= cd.HARD_DEPTH for r in rows)
    return len(rows) - hard, hard


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--easy", type=int, default=10_000)
    ap.add_argument("--hard", type=int, default=2_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--finish", action="store_true", help="write the bundle from the games done so far")
    ap.add_argument("--partial", type=Path, default=None)
    ap.add_argument("--out", type=Path, default=bundled.DIR / bundled.FILES["chess"])
    args = ap.parse_args()
    partial = args.partial or ROOT / "build" / "data" / f"chess-seed{args.seed}.partial.csv"
    games_file = partial.with_suffix(".games")
    partial.parent.mkdir(parents=True, exist_ok=True)
    seeded = seed_from_bundle(args.out, args.seed, partial, games_file)
    if seeded:
        print(f"starting from {args.out} ({seeded[1]} games)")
    rows, games, dupes = seeded or load_partial(partial, games_file)
    with open(partial, "w", newline="") as f:  # rewrite without torn rows
        csv.writer(f, lineterminator="\n").writerows([cd.HEADER, *rows])
    seen = {cd.position_key(r[0]) for r in rows}
    easy, hard = counts(rows)
    t0, made = time.time(), 0
    if not args.finish:
        bar = tqdm(desc="chess puzzles", total=args.easy + args.hard, initial=min(easy, args.easy) + min(hard, args.hard),
                   disable=None, mininterval=30)
        with open(partial, "a", newline="") as f:
            writer = csv.writer(f, lineterminator="\n")
            while easy < args.easy or hard < args.hard:
                for g, puzzles in cd.generate_games(args.seed, games, games + 20 * max(1, args.workers), args.workers):
                    for p in puzzles:
                        key = cd.position_key(p.fen)
                        if key in seen:
                            dupes += 1
                            continue
                        seen.add(key)
                        writer.writerow(p.row())
                        rows.append([str(v) for v in p.row()])
                        made += 1
                        before = min(easy, args.easy) + min(hard, args.hard)
                        easy, hard = counts([rows[-1]])[0] + easy, counts([rows[-1]])[1] + hard
                        bar.update(min(easy, args.easy) + min(hard, args.hard) - before)
                    f.flush()
                    games = g + 1
                    games_file.write_text(f"{games} {dupes}")
        bar.close()
        dt = time.time() - t0
        print(f"made {made} puzzles in {games} games total; this run {dt:.0f} s ({made / max(dt, 1e-9):.2f} puzzles/s)")
    print(f"{len(rows)} puzzles: {easy} easy (find depth < {cd.HARD_DEPTH}), {hard} hard, from {games} games; "
          f"{dupes} repeated positions dropped")
    write_csv(args.out, cd.HEADER, rows)
    if args.out.parent == bundled.DIR:
        entry = bundled.record(
            args.out, task="chess", seed=args.seed, rows=len(rows), easy=easy, hard=hard, games=games, duplicates_dropped=dupes,
            made_by=f"python scripts/make_chess.py --easy {args.easy} --hard {args.hard} --seed {args.seed}",
            complete=easy >= args.easy and hard >= args.hard,
            engine="Stockfish 15.1 (Debian), Threads=1, Hash=1, cleared hash per search",
            screen_depth=cd.SCREEN_DEPTH, depth=cd.DEPTH, win_cp=cd.WIN, gap_cp=cd.GAP, hard_depth=cd.HARD_DEPTH,
        )
        print(f"wrote {args.out} ({entry['bytes']:,} bytes, sha256 {entry['sha256'][:16]}...)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
