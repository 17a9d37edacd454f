"""Chess training data at scale: positions from varied self-play, labelled by Stockfish.

Game ``g`` of seed ``s`` is played from ``random.Random(f"loopzoo-chess-labels:{s}:{g}")`` only:

* an opening of ``randint(2, 12)`` plies where each move is a uniformly random legal move with
  probability :data:`OPEN_RANDOM` (those positions are not searched), else played as below;
* then self-play at a strength drawn per game: a random legal move with probability
  ``p_random`` in :data:`P_RANDOM`, Stockfish's second choice with ``p_second`` in
  :data:`P_SECOND`, else its first; a game ends at mate/draw, at :data:`MAX_PLY`, or once one
  side has stood :data:`DECIDED_CP` ahead for :data:`DECIDED_PLIES` plies (no endless mop-ups).

Every searched position (two or more legal moves) is labelled with Stockfish's best move at the
fixed budget (:data:`DEPTH`, MultiPV 2, Threads=1, Hash=1 MB cleared before every search, so a
label is reproducible). It is kept when the best move beats the second by >= :data:`TACTICAL_GAP`
cp (tactical) and, otherwise (quiet), with probability :data:`QUIET_KEEP`. Rows: FEN, best move
(UCI), its eval cp for the side to move (mate = +-100,000 minus the distance), the gap to the second
best, game and ply. A position already kept from an earlier game of the same seed is dropped.

Rows go, in game order and whole games at a time, into xz CSV shards ``shard-NNNNN.csv.xz`` of
about ``shard_rows`` rows and at most :data:`MAX_BYTES` bytes under :data:`DIR`; each is written
once. ``manifest.json`` there records per shard its rows, bytes, sha256, seed and game range, with
the engine and search settings; a run resumes after the last game of its seed in the manifest, so
stopping and restarting writes the same shards as one uninterrupted run.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import lzma
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import DataError
from . import bundled
from .base import TaskDataset, check_split
from .formats import read_csv

DIR = bundled.DIR / "chess_labels"
FORMAT = "loopzoo chess labels v1"
HEADER = ("fen", "move", "cp", "gap", "game", "ply")
DEPTH = 10  # fixed search depth of every label
MULTIPV = 2
TACTICAL_GAP = 100  # cp: best beats second by at least this -> tactical, always kept
QUIET_KEEP = 0.25  # share of the other (quiet) positions kept
OPEN_PLIES = (2, 12)  # the opening's length in plies, drawn uniformly
OPEN_RANDOM = 0.6  # chance of a random legal move at each opening ply
P_RANDOM = (0.0, 0.03, 0.08, 0.15)  # per-game chance of a random move after the opening
P_SECOND = (0.05, 0.15, 0.3)  # per-game chance of Stockfish's second choice
MAX_PLY = 200
DECIDED_CP, DECIDED_PLIES = 1500, 8
SHARD_ROWS = 20_000
MAX_BYTES = 5_000_000  # no shard above this (repository rule)
XZ_PRESET = 9 | lzma.PRESET_EXTREME


def settings() -> dict[str, Any]:
    """Everything that decides the labels and the choice of positions (stored in the manifest)."""
    return {"depth": DEPTH, "multipv": MULTIPV, "threads": 1, "hash_mb": 1, "hash_cleared": "before every search",
            "tactical_gap_cp": TACTICAL_GAP, "quiet_keep": QUIET_KEEP, "open_plies": list(OPEN_PLIES),
            "open_random": OPEN_RANDOM, "p_random": list(P_RANDOM), "p_second": list(P_SECOND), "max_ply": MAX_PLY,
            "decided_cp": DECIDED_CP, "decided_plies": DECIDED_PLIES, "mate_cp": 100_000}


@dataclass
class Label:
    """One labelled position."""

    fen: str
    move: str  # Stockfish's best move, UCI
    cp: int  # its eval for the side to move (mate = +-100,000 minus the distance)
    gap: int  # cp of the best minus cp of the second best
    game: int
    ply: int

    def row(self) -> tuple:
        return (self.fen, self.move, self.cp, self.gap, self.game, self.ply)


def position_key(fen: str) -> str:
    """A position without move counters, for dropping duplicates."""
    return " ".join(fen.split()[:4])


def play_game(engine, seed: int, game: int) -> tuple[list[Label], int]:
    """``(labels kept, positions searched)`` of game ``game`` of ``seed`` (see the module doc)."""
    import chess

    rng = random.Random(f"loopzoo-chess-labels:{seed}:{game}")
    opening = rng.randint(*OPEN_PLIES)
    p_random, p_second = rng.choice(P_RANDOM), rng.choice(P_SECOND)
    board = chess.Board()
    kept, searched, decided = [], 0, 0
    for ply in range(MAX_PLY):
        if board.is_game_over(claim_draw=True):
            break
        moves = list(board.legal_moves)
        if ply < opening and rng.random() < OPEN_RANDOM:
            board.push(rng.choice(moves))
            continue
        lines = engine.lines(board, DEPTH, multipv=MULTIPV) if len(moves) > 1 else []
        searched += bool(lines)
        if len(lines) >= 2:
            gap = lines[0].cp - lines[1].cp
            if gap >= TACTICAL_GAP or rng.random() < QUIET_KEEP:
                kept.append(Label(board.fen(), lines[0].move, lines[0].cp, gap, game, ply))
        r = rng.random()
        if not lines or r < p_random:
            move = rng.choice(moves)
        elif r < p_random + p_second and len(lines) > 1:
            move = chess.Move.from_uci(lines[1].move)
        else:
            move = chess.Move.from_uci(lines[0].move)
        decided = decided + 1 if lines and abs(lines[0].cp) >= DECIDED_CP else 0
        if decided >= DECIDED_PLIES:
            break
        board.push(move)
    return kept, searched


_ENGINE = None


def _worker_game(args: tuple[int, int]) -> tuple[list[Label], int]:
    global _ENGINE
    if _ENGINE is None:
        from .stockfish import Engine

        _ENGINE = Engine()
    return play_game(_ENGINE, *args)


def games(seed: int, start: int, workers: int = 1, stop: int | None = None) -> Iterator[tuple[int, list[Label], int]]:
    """``(game, labels, searched)`` for games ``start, start+1, ...`` (to ``stop``) of ``seed``, in order."""
    import itertools

    numbers = itertools.count(start) if stop is None else iter(range(start, stop))
    if workers <= 1:
        from .stockfish import Engine

        with Engine() as engine:
            for g in numbers:
                yield (g, *play_game(engine, seed, g))
        return
    import multiprocessing as mp

    ctx = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")
    with ctx.Pool(workers) as pool:
        while True:
            batch = list(itertools.islice(numbers, 8 * workers))  # bounded: imap would read an endless iterator whole
            if not batch:
                return
            for g, (labels, searched) in zip(batch, pool.imap(_worker_game, [(seed, g) for g in batch])):
                yield g, labels, searched


# --- shards and manifest ------------------------------------------------------------------
def manifest_path(directory: Path = DIR) -> Path:
    return Path(directory) / "manifest.json"


def read_manifest(directory: Path = DIR) -> dict[str, Any]:
    """The shard manifest of ``directory`` (an empty one when there is none yet)."""
    path = manifest_path(directory)
    if not path.is_file():
        return {"format": FORMAT, "header": list(HEADER), "settings": settings(), "engine": None, "shards": []}
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}, line {exc.lineno}: invalid JSON: {exc.msg}") from None
    if data.get("format") != FORMAT or not isinstance(data.get("shards"), list):
        raise DataError(f"{path}: not a {FORMAT!r} manifest")
    return data


def _write_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=1) + "\n")
    tmp.replace(path)


def encode_shard(rows: list[tuple]) -> bytes:
    """The xz-compressed CSV bytes of a shard (deterministic)."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(HEADER)
    writer.writerows(rows)
    return lzma.compress(text.getvalue().encode(), preset=XZ_PRESET)


def _fit(buffer: list[tuple[int, list[Label]]], max_bytes: int) -> tuple[int, bytes]:
    """``(k, data)``: the most leading games of ``buffer`` whose shard stays within ``max_bytes``."""
    k = len(buffer)
    while k > 0:
        data = encode_shard([lab.row() for _, labels in buffer[:k] for lab in labels])
        if len(data) <= max_bytes:
            return k, data
        k = min(k - 1, int(k * max_bytes / len(data) * 0.97))
    raise DataError(f"game {buffer[0][0]} alone makes a shard above {max_bytes:,} bytes")


def generate(seed: int, until: int, directory: Path = DIR, workers: int = 1, shard_rows: int = SHARD_ROWS,
             max_bytes: int = MAX_BYTES, on_shard: Callable[[Path, dict[str, Any]], None] | None = None,
             log: Callable[[str], None] = print, progress_games: int = 100) -> dict[str, Any]:
    """Write shards for ``seed`` until the finished shards of the directory hold >= ``until`` rows.

    Resumes after the last game of ``seed`` in the manifest (rows of unfinished shards are
    played again). Only whole shards are written, so the total overshoots ``until`` by less than
    a shard. ``on_shard(path, entry)`` runs after each shard and manifest update (e.g. to commit);
    ``log`` gets a line per shard and per ``progress_games`` games. Returns the manifest.
    """
    import time

    if shard_rows < 1 or until < 0:
        raise DataError(f"shard_rows must be >= 1 and until >= 0, got {shard_rows} and {until}")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    manifest = read_manifest(directory)
    if manifest["settings"] != settings():
        raise DataError(f"{manifest_path(directory)} was made with other settings ({manifest['settings']}); "
                        "use another directory for these")
    mine = [s for s in manifest["shards"] if s["seed"] == seed]
    start = max((s["games"][1] for s in mine), default=0)
    seen = set()
    for entry in mine:
        seen.update(position_key(fen) for fen in read_shard(directory / entry["file"], entry)[0])
    total = sum(s["rows"] for s in manifest["shards"])
    if total >= until:
        return manifest
    from .stockfish import Engine

    with Engine() as engine:
        name = engine.name
    if manifest["engine"] not in (None, name):
        raise DataError(f"{manifest_path(directory)} was labelled by {manifest['engine']}, this is {name}; "
                        "labels would differ: use that engine (LOOPZOO_STOCKFISH) or another directory")
    manifest["engine"] = name
    log(f"seed {seed}: resuming at game {start:,}; {total:,} rows in {len(manifest['shards'])} shards; target {until:,}")
    buffer: list[tuple[int, list[Label]]] = []
    pending, searched, t0, kept0 = 0, 0, time.time(), 0
    for game, labels, n in games(seed, start, workers):
        labels = [lab for lab in labels if position_key(lab.fen) not in seen]
        seen.update(position_key(lab.fen) for lab in labels)
        buffer.append((game, labels))
        pending += len(labels)
        searched += n
        kept0 += len(labels)
        if (game - start + 1) % progress_games == 0:
            dt = time.time() - t0
            log(f"game {game:,}: {pending:,} rows pending; since start {kept0:,} kept of {searched:,} searched in "
                f"{dt / 60:.1f} min ({kept0 / max(dt / 60, 1e-9) / workers:.0f} kept, "
                f"{searched / max(dt / 60, 1e-9) / workers:.0f} searched per core-minute)")
        while pending >= shard_rows:
            k = len(buffer)
            while k > 1 and sum(len(b[1]) for b in buffer[: k - 1]) >= shard_rows:
                k -= 1  # the fewest whole games that reach shard_rows
            k, data = _fit(buffer[:k], max_bytes)
            done, buffer = buffer[:k], buffer[k:]
            rows = sum(len(b[1]) for b in done)
            pending -= rows
            name = f"shard-{len(manifest['shards']):05d}.csv.xz"
            path = directory / name
            if path.exists():
                raise DataError(f"{path} exists but is not in the manifest; shards are never rewritten: move it away")
            tmp = path.with_name(name + ".tmp")
            tmp.write_bytes(data)
            tmp.replace(path)
            entry = {"file": name, "rows": rows, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest(),
                     "seed": seed, "games": [done[0][0], done[-1][0] + 1], "shard_rows": shard_rows}
            manifest["shards"].append(entry)
            _write_json(manifest_path(directory), manifest)
            total += rows
            dt = time.time() - t0
            log(f"{name}: {rows:,} rows, {len(data) / 1e6:.2f} MB, games {entry['games'][0]:,}-{entry['games'][1] - 1:,}; "
                f"total {total:,}; since start {kept0:,} kept of {searched:,} searched in {dt / 60:.1f} min "
                f"({kept0 / max(dt / 60, 1e-9) / workers:.0f} kept per core-minute)")
            if on_shard is not None:
                on_shard(path, entry)
            if total >= until:
                return manifest
    return manifest


# --- reading and checking -----------------------------------------------------------------
def read_shard(path: Path, entry: dict[str, Any] | None = None, check: bool = True) -> tuple[list[str], list[str], list[int]]:
    """``(fens, moves, gaps)`` of one shard; its sha256 and row count checked against ``entry``
    and (``check``) every FEN valid and every move legal."""
    from .chess import _board, _move

    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: shard missing")
    if entry is not None:
        data = path.read_bytes()
        if len(data) != entry["bytes"] or hashlib.sha256(data).hexdigest() != entry["sha256"]:
            raise DataError(f"{path}: sha256 or size does not match the manifest; the shard was changed or is corrupt")
    fens, moves, gaps = [], [], []
    for line, row in read_csv(path, HEADER):
        try:
            gaps.append(int(row["gap"]))
            int(row["cp"])
        except ValueError:
            raise DataError(f"{path}, line {line}: cp and gap must be integers") from None
        if check:
            board = _board(path, line, row["fen"])
            _move(path, line, board, row["move"])
        fens.append(row["fen"])
        moves.append(row["move"])
    if entry is not None and len(fens) != entry["rows"]:
        raise DataError(f"{path}: {len(fens):,} rows, the manifest says {entry['rows']:,}")
    return fens, moves, gaps


def verify(directory: Path = DIR, check: bool = True) -> dict[str, Any]:
    """Check every shard of ``directory`` against its manifest (hash, size, rows, legality);
    :class:`DataError` on the first difference, also for a shard file not in the manifest."""
    directory = Path(directory)
    manifest = read_manifest(directory)
    if not manifest_path(directory).is_file():
        raise DataError(f"{directory}: no manifest.json")
    listed = {s["file"] for s in manifest["shards"]}
    strays = sorted(p.name for p in directory.glob("shard-*.csv.xz") if p.name not in listed)
    if strays:
        raise DataError(f"{directory}: shard(s) not in the manifest: {', '.join(strays)}")
    rows = 0
    for entry in manifest["shards"]:
        rows += len(read_shard(directory / entry["file"], entry, check)[0])
    return {"shards": len(manifest["shards"]), "rows": rows, "engine": manifest["engine"], "settings": manifest["settings"]}


def read_all(directory: Path) -> tuple[list[str], list[str], list[int]]:
    """``(fens, moves, gaps)`` of every finished shard of ``directory``, in manifest order."""
    directory = Path(directory)
    manifest = read_manifest(directory)
    if not manifest["shards"]:
        raise DataError(f"{directory}: no finished shards yet (make some: python scripts/make_chess_labels.py)")
    fens, moves, gaps = [], [], []
    for entry in manifest["shards"]:
        f, m, g = read_shard(directory / entry["file"], entry)
        fens += f
        moves += m
        gaps += g
    return fens, moves, gaps


def labels_split(split: str, seed: int = 0, path: str | Path | None = None, n: int | None = None) -> TaskDataset:
    """Train: every finished shard of ``path`` (default: the bundled :data:`DIR`), in order,
    with the gap (cp) as the rating. Val/test: the bundled Lichess puzzle splits of ``seed``
    (the model is judged on real puzzles), so a trainer can pass ``source="stockfish"`` to all."""
    check_split(split)
    if split != "train":
        from .lichess import lichess_split

        return lichess_split(split, seed, None, n)
    directory = Path(path) if path is not None else DIR
    manifest = manifest_path(directory)
    if not manifest.is_file():
        raise DataError(f"{directory}: no labelled chess positions yet (make some: python scripts/make_chess_labels.py)")
    key = read_manifest(directory)["shards"]
    fens, moves, gaps = _cached_all(directory, json.dumps(key))
    if n is not None:
        fens, moves, gaps = fens[:n], moves[:n], gaps[:n]
    return TaskDataset("chess", split, fens, moves, gaps, source=f"{directory} (stockfish labels)")


_ALL: dict[tuple[str, str], tuple[list[str], list[str], list[int]]] = {}


def _cached_all(directory: Path, key: str) -> tuple[list[str], list[str], list[int]]:
    """:func:`read_all`, remembered while the manifest's shard list is unchanged."""
    k = (str(directory.resolve()), key)
    if k not in _ALL:
        _ALL.clear()
        _ALL[k] = read_all(directory)
    return _ALL[k]


def agreement(directory: Path = DIR, n: int = 200, extra_depth: int = 4, seed: int = 0,
              progress: bool = False) -> dict[str, Any]:
    """Share of ``n`` labels (a seeded sample of every finished shard) that a search ``extra_depth``
    deeper (same settings otherwise, MultiPV 2 included) also plays, overall and for tactical/quiet rows."""
    import chess
    from tqdm import tqdm

    from .stockfish import Engine

    directory = Path(directory)
    depth = read_manifest(directory)["settings"]["depth"]
    rows = [row for entry in read_manifest(directory)["shards"] for row in rows_of(directory / entry["file"])]
    if not rows:
        raise DataError(f"{directory}: no finished shards to sample")
    sample = random.Random(seed).sample(rows, min(n, len(rows)))
    tally = {"tactical": [0, 0], "quiet": [0, 0]}  # kind -> [n, agree]
    with Engine() as engine:
        for row in tqdm(sample, desc=f"depth {depth + extra_depth}", disable=None if progress else True):
            kind = "tactical" if int(row["gap"]) >= TACTICAL_GAP else "quiet"
            deep = engine.lines(chess.Board(row["fen"]), depth + extra_depth, multipv=MULTIPV)[0].move
            tally[kind][0] += 1
            tally[kind][1] += deep == row["move"]
    total = [sum(v[0] for v in tally.values()), sum(v[1] for v in tally.values())]
    share = lambda k, a: a / k if k else float("nan")  # noqa: E731
    return {"depth": depth, "deep_depth": depth + extra_depth, "n": total[0], "agree": share(*total),
            **{f"{k}_n": v[0] for k, v in tally.items()}, **{f"{k}_agree": share(*v) for k, v in tally.items()}}


def rows_of(path: Path) -> list[dict[str, str]]:
    """The raw rows of one shard (for tools and tests)."""
    return [row for _, row in read_csv(path, HEADER)]


__all__ = ["Label", "play_game", "games", "generate", "verify", "read_all", "read_shard", "labels_split", "settings",
           "agreement"]
