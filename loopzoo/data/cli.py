"""``loopzoo data list | make | verify``: inspect, generate and check data files."""
from __future__ import annotations

import argparse
import time
from pathlib import Path

from ..errors import DataError, LoopzooError

EPILOG = """\
examples:
  loopzoo data list
  loopzoo data make sudoku --n 1000 --seed 1 --out sudoku-1k.csv.xz --workers 2
  loopzoo data make chess --n 200 --seed 1 --out chess.csv
  loopzoo data make prefix-sums --n 100 --length 64 --out bits.csv
  loopzoo data verify loopzoo/data/bundled/sudoku.csv.xz
  loopzoo data verify lichess_db_puzzle.csv.zst
"""


def _list(args: argparse.Namespace) -> int:
    from . import bundled, list_datasets, prefix_sums

    entries = bundled.manifest()
    for task in list_datasets():
        if task == "prefix-sums":
            sizes = ", ".join(f"{s} {n:,} x {L} bits" for s, (L, n) in prefix_sums.SPLITS.items())
            print(f"{task:12s} generated on the fly from the seed ({sizes})")
            continue
        name = bundled.FILES.get(task)
        entry = entries.get(name) if name else None
        if entry is None:
            print(f"{task:12s} no bundled set (make one: loopzoo data make {task} --n N --seed S --out FILE)")
            continue
        extra = ", ".join(f"{k} {entry[k]:,}" for k in ("easy", "hard") if k in entry)
        print(
            f"{task:12s} bundled {name}: {entry['rows']:,} puzzles{' (' + extra + ')' if extra else ''}, "
            f"seed {entry.get('seed')}, {entry['bytes'] / 1e6:.1f} MB, sha256 {entry['sha256'][:12]}"
        )
        if task == "sudoku":
            _list_public(entries)
    return 0


def _list_public(entries: dict) -> None:
    """The bundled public sudoku lists: sizes per list and split, and how to load them."""
    from . import bundled, sudoku_public

    for name, key in sudoku_public.BUNDLED.items():
        file = bundled.FILES[key]
        entry = entries.get(file)
        if entry is None:
            print(f"{'':12s} public list {name} not bundled yet "
                  f"(make it: python scripts/make_sudoku_public.py --lists DIR --list {name})")
            continue
        splits = ", ".join(f"{k} {entry[k]:,}" for k in ("train", "val", "test") if k in entry)
        print(
            f"{'':12s} public {file}: {entry['rows']:,} puzzles ({splits}), {entry['bytes'] / 1e6:.1f} MB, "
            f"sha256 {entry['sha256'][:12]}; source='{name}'"
        )
    print(f"{'':12s} both public lists: load_split('sudoku', SPLIT, source='public')")


def _make(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from .formats import write_csv

    if args.n < 1:
        raise LoopzooError(f"--n must be at least 1, got {args.n}")
    out = Path(args.out)
    t0 = time.time()
    if args.task == "sudoku":
        from . import sudoku

        rows = list(tqdm(sudoku.generate(args.n, args.seed, workers=args.workers), total=args.n, desc="sudoku", disable=None))
        header = sudoku.HEADER
    elif args.task == "chess":
        from . import chess as cd

        rows, seen, game, dupes = [], set(), 0, 0
        with tqdm(total=args.n, desc="chess", disable=None) as bar:
            while len(rows) < args.n:
                batch = 4 * max(1, args.workers)
                for _, puzzles in cd.generate_games(args.seed, game, game + batch, args.workers):
                    for p in puzzles:
                        if cd.position_key(p.fen) in seen:
                            dupes += 1
                        elif len(rows) < args.n:
                            seen.add(cd.position_key(p.fen))
                            rows.append(p.row())
                            bar.update()
                game += batch
        print(f"{game} games played; {dupes} repeated positions dropped")
        header = cd.HEADER
    elif args.task == "prefix-sums":
        from . import prefix_sums

        data = prefix_sums.bits("test", args.seed, args.n, args.length or 32)
        rows = [("".join(map(str, r)), "".join(map(str, prefix_sums.answer(r)))) for r in tqdm(data, desc="prefix-sums", disable=None)]
        header = ("input", "answer")
    else:
        raise LoopzooError(f"unknown task {args.task!r}: choose sudoku, chess or prefix-sums")
    write_csv(out, header, rows)
    dt = time.time() - t0
    print(f"wrote {len(rows):,} {args.task} items to {out} in {dt:.1f} s ({len(rows) / dt:.1f}/s)")
    return 0


def _verify(args: argparse.Namespace) -> int:
    from . import bundled
    from . import chess as cd
    from . import sudoku
    from .base import content_hash
    from ..checkpoint import sha256_file
    from .formats import open_text

    path = Path(args.file)
    if path.is_dir() or path.name.startswith("shard-") and (path.parent / "manifest.json").is_file():
        return _verify_labels(path)
    with open_text(path) as f:
        try:
            header = f.readline().strip().split(",")
        except (OSError, EOFError, UnicodeDecodeError) as exc:
            raise DataError(f"{path}: cannot read: {exc}") from None
    if path.resolve().parent == bundled.DIR.resolve() and path.name in bundled.manifest():
        bundled.verify_hash(path)
        print(f"{path}: sha256 matches the manifest")
    if {"question", "answer"} <= set(header):
        task, (inputs, answers, ratings) = "sudoku", sudoku.read(path, progress=True)
        what = "solutions valid and consistent with the givens"
    elif {"PuzzleId", "FEN", "Moves"} <= set(header):
        task, (inputs, answers, ratings) = "chess", cd.read_lichess(path, progress=True)
        what = "FENs valid, both moves legal (Lichess format)"
    elif {"fen", "best_move_uci", "rating"} <= set(header):
        from . import lichess

        task, (inputs, answers, ratings) = "chess", lichess.read(path, progress=True)
        what = "FENs valid, moves legal (bundled Lichess format)"
    elif {"fen", "move"} <= set(header):
        task, (inputs, answers, ratings) = "chess", cd.read_generated(path, progress=True)
        what = "FENs valid, answers legal"
    elif {"input", "answer"} <= set(header):
        task, (inputs, answers), ratings = "prefix-sums", _read_bits(path), None
        what = "answers are the running parities"
    else:
        raise DataError(f"{path}, line 1: unknown format (header {','.join(header)})")
    print(f"{path}: {len(inputs):,} {task} items OK ({what}); content sha256 {content_hash(task, inputs, answers)}; "
          f"file sha256 {sha256_file(path)}")
    if args.deep:
        _deep(path, task, inputs, answers, len(inputs) if args.deep < 0 else min(args.deep, len(inputs)))
    if ratings:
        print(f"ratings: min {min(ratings):g}, median {sorted(ratings)[len(ratings) // 2]:g}, max {max(ratings):g}")
    return 0


def _verify_labels(path: Path) -> int:
    """Check a directory of Stockfish-labelled shards (or one shard) against its manifest."""
    from . import chess_labels

    if path.is_dir():
        info = chess_labels.verify(path)
        print(f"{path}: {info['shards']} shards, {info['rows']:,} labelled positions OK (sha256, sizes and row counts "
              f"match the manifest; FENs valid, moves legal); {info['engine']}, depth {info['settings']['depth']}")
        return 0
    entry = next((s for s in chess_labels.read_manifest(path.parent)["shards"] if s["file"] == path.name), None)
    if entry is None:
        raise DataError(f"{path}: not listed in {chess_labels.manifest_path(path.parent)}")
    fens = chess_labels.read_shard(path, entry)[0]
    print(f"{path}: {len(fens):,} labelled positions OK (sha256 and rows match the manifest; FENs valid, moves legal)")
    return 0


def _deep(path: Path, task: str, inputs: list[str], answers: list[str], n: int) -> None:
    """Re-derive the first ``n`` answers: sudoku by the solver (unique), chess by Stockfish at the fixed depth."""
    from tqdm import tqdm

    if task == "sudoku":
        from .sudoku_solver import solve

        for i in tqdm(range(n), desc="solving", disable=None):
            res = solve([0 if c == "." else int(c) for c in inputs[i]], limit=2)
            if len(res.solutions) != 1 or "".join(map(str, res.solutions[0])) != answers[i]:
                raise DataError(f"{path}, item {i + 1}: {len(res.solutions)} solution(s) found, or not the given answer")
        print(f"deep check: the first {n:,} puzzles have exactly one solution, the given answer")
    elif task == "chess":
        import chess

        from . import chess as cd
        from .stockfish import Engine

        agree = 0
        with Engine() as engine:
            for i in tqdm(range(n), desc="stockfish", disable=None):
                agree += engine.lines(chess.Board(inputs[i]), cd.DEPTH, multipv=2)[0].move == answers[i]
        print(f"deep check: Stockfish at depth {cd.DEPTH} (multipv 2, as generated) plays the answer in {agree:,} of the first {n:,} positions")


def _read_bits(path: Path) -> tuple[list[str], list[str]]:
    import numpy as np

    from .formats import read_csv

    inputs, answers = [], []
    for line, row in read_csv(path, ("input", "answer"), progress=True):
        bits, ans = row["input"].strip(), row["answer"].strip()
        if not bits or set(bits) - {"0", "1"}:
            raise DataError(f"{path}, line {line}: input must be a string of 0 and 1")
        want = "".join(map(str, np.cumsum(np.frombuffer(bits.encode(), np.uint8) - 48) % 2))
        if ans != want:
            raise DataError(f"{path}, line {line}: answer is not the running parity of the input")
        inputs.append(bits)
        answers.append(ans)
    if not inputs:
        raise DataError(f"{path}: no items in the file")
    return inputs, answers


def add_parser(sub) -> None:
    """Add ``loopzoo data`` with its subcommands to the main parser's subparsers."""
    p = sub.add_parser("data", help="list, make and verify data sets", description="Data sets: list, make, verify.",
                       epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    dsub = p.add_subparsers(dest="data_command", metavar="SUBCOMMAND")
    p.set_defaults(func=lambda a: (p.print_help(), 0)[1])

    q = dsub.add_parser("list", help="the data set of each task (bundled or generated)")
    q.set_defaults(func=_list)

    q = dsub.add_parser("make", help="generate a data file from a seed")
    q.add_argument("task", choices=["sudoku", "chess", "prefix-sums"])
    q.add_argument("--n", type=int, required=True, help="number of items")
    q.add_argument("--seed", type=int, default=0)
    q.add_argument("--out", required=True, help="output CSV (.csv, .csv.gz or .csv.xz)")
    q.add_argument("--workers", type=int, default=1, help="processes (sudoku, chess)")
    q.add_argument("--length", type=int, default=None, help="bits per string (prefix-sums; default 32)")
    q.set_defaults(func=_make)

    q = dsub.add_parser("verify", help="check every row of a data file (and a bundled file's hash)")
    q.add_argument("file")
    q.add_argument("--deep", type=int, default=0, metavar="N",
                   help="also re-derive the first N answers (sudoku: solver, unique; chess: Stockfish); -1 = all")
    q.set_defaults(func=_verify)


