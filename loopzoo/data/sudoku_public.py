"""The public sudoku lists bundled with loopzoo, rated by the project's solver and split by rating.

Two lists that people use to test solvers (both from t-dillon/tdoku's benchmark data, BSD-2-Clause;
provenance and licence in ``bundled/PROVENANCE.md`` and the manifest):

- ``forum-hardest``: 48,766 puzzles of the forum's "hardest" list, Sudoku Explainer rating >= 11;
- ``17-clue``: 49,158 puzzles of Gordon Royle's list with 17 givens (the minimum).

Each list is bundled as its own file (``bundled/sudoku_public_<list>.csv.xz``). Every puzzle is
rated like the generated set: backtracks of :func:`sudoku_solver.rate`. The split follows the
paper (hardest 20% = test), taken in each list on its own, since the rating's scale differs
between them (docs/sudoku-data.md):

- **test**: the list's top ``round(0.2 * n)`` puzzles ranked by rating (descending), ties broken
  by fewer givens, then by the sha256 of the question (so the cut is exact and deterministic);
- **val**: a fixed sample of 2,500 of the list's rest (the smallest sha256 of ``"...:val:" + question``);
- **train**: the rest.

Membership never depends on ``seed``. Each split is returned in a seeded hash order, so
``n=1000`` is a seeded random sample spread over the split (nested: ``n=500`` is a prefix of
``n=1000``) and ``seed`` draws another sample of the same split. ``source="forum-hardest"`` or
``"17-clue"`` keeps that list's puzzles of the split (after the order, before ``n``).
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path

import numpy as np

from ..errors import DataError
from . import sudoku_solver
from .base import TaskDataset, cached_read, check_split
from .formats import read_csv

HEADER = ("question", "answer", "rating", "source")
LISTS: dict[str, dict[str, str | int]] = {
    "forum-hardest": {
        "file": "sudoku_forum_hardest_1905_11plus.csv.xz",
        "rows": 48_766,
        "upstream": "balmerdx/sudoku_pytorch @9c4391b1 : data/puzzles5_forum_hardest_1905_11+ "
        "(a copy of t-dillon/tdoku's benchmark data)",
        "what": 'the forum "hardest" list, Sudoku Explainer rating >= 11',
    },
    "17-clue": {
        "file": "sudoku_17_clue.csv.xz",
        "rows": 49_158,
        "upstream": "balmerdx/sudoku_pytorch @9c4391b1 : data/puzzles2_17_clue "
        "(a copy of t-dillon/tdoku's benchmark data)",
        "what": "Gordon Royle's list of 17-clue sudokus (the minimum number of givens)",
    },
}
LICENCE = "BSD-2-Clause (t-dillon/tdoku, Copyright (c) 2019, Tom Dillon); see bundled/PROVENANCE.md"
SOURCES = ("generated", "public", *LISTS)  # the ``source=`` choices of load_split("sudoku", ...)
BUNDLED = {"forum-hardest": "sudoku_public_forum_hardest", "17-clue": "sudoku_public_17_clue"}  # bundled.FILES keys
TEST_FRACTION = 0.2
VAL_PER_LIST = 2_500
SALT = "loopzoo-sudoku-public"


# --- building ---------------------------------------------------------------------------------
def read_upstream(path: str | Path) -> list[tuple[str, str]]:
    """``(question, answer)`` rows of a tdoku-style ``puzzle,solution`` CSV (``0`` = blank), checked.

    Questions come back with ``.`` for blanks, as in the bundled files.
    """
    from .sudoku import check_row

    rows = []
    for line, row in read_csv(path, ("puzzle", "solution")):
        problem = check_row(row["puzzle"], row["solution"])
        if problem:
            raise DataError(f"{path}, line {line}: {problem}")
        rows.append((row["puzzle"].strip().replace("0", "."), row["solution"].strip()))
    if not rows:
        raise DataError(f"{path}: no puzzles in the file")
    return rows


def rate_row(row: tuple[str, str]) -> int:
    """Backtracks of ``(question, answer)``; :class:`DataError` unless ``answer`` is its only solution."""
    question, answer = row
    backtracks, _, solution = sudoku_solver.rate([0 if c == "." else int(c) for c in question])
    if solution is None or "".join(map(str, solution)) != answer:
        raise DataError(f"puzzle {question}: not uniquely solvable to the listed answer")
    return backtracks


def rate_rows(rows: Sequence[tuple[str, str]], workers: int = 1) -> Iterator[int]:
    """Ratings of ``rows`` in order, computed by ``workers`` processes (about 18-50 ms a puzzle)."""
    if workers <= 1:
        yield from map(rate_row, rows)
        return
    import multiprocessing as mp

    with mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn").Pool(workers) as pool:
        yield from pool.imap(rate_row, rows, chunksize=64)


def rate_into(rows: Sequence[tuple[str, str]], path: str | Path, workers: int = 1,
              progress: bool = False) -> int:
    """Rate ``rows`` into ``path``, one ``backtracks`` line per puzzle in order, continuing after the
    lines already there (resumable: a stopped job loses at most the line it was writing); returns
    the number of rated rows. Lines carry the rating first, as :func:`rate_rows` gives it."""
    from tqdm.auto import tqdm

    path = Path(path)
    done = 0
    if path.is_file():
        lines = path.read_text().split("\n")
        done = len(lines) - 1  # the part after the last newline is an unfinished line
        path.write_text("".join(line + "\n" for line in lines[:done]))
    with path.open("a") as out:
        for rating in tqdm(rate_rows(rows[done:], workers), total=len(rows) - done, initial=0,
                           desc=f"rating {path.name}", disable=not progress):
            out.write(f"{rating}\n")
            out.flush()
            done += 1
    return done


def build_rows(
    lists: Mapping[str, Sequence[tuple[str, str]]], ratings: Mapping[str, Sequence[int]] | None = None, workers: int = 1,
    progress: bool = False,
) -> list[tuple[str, str, int, str]]:
    """``(question, answer, rating, source)`` rows of the bundled file, list after list in file order.

    ``ratings`` (list name -> backtracks in row order) skips the rating, e.g. when it was computed
    before; without it every puzzle is rated here with ``workers`` processes.
    """
    out: list[tuple[str, str, int, str]] = []
    for name, rows in lists.items():
        if name not in LISTS:
            raise DataError(f"unknown public sudoku list {name!r}; choose from {', '.join(LISTS)}")
        if ratings is not None:
            values = list(ratings[name])
            if len(values) != len(rows):
                raise DataError(f"{name}: {len(values)} ratings for {len(rows)} puzzles")
        else:
            from tqdm import tqdm

            values = list(tqdm(rate_rows(rows, workers), total=len(rows), desc=name, disable=None if progress else True))
        out.extend((q, a, int(r), name) for (q, a), r in zip(rows, values))
    return out


# --- reading and splitting --------------------------------------------------------------------
def read(path: str | Path) -> tuple[list[str], list[str], list[float], np.ndarray]:
    """``(questions, answers, ratings, sources)`` of the bundled public file, each row checked.

    ``sources`` is an ``[N]`` array of list names. Raises :class:`DataError` naming the line.
    """
    from .sudoku import check_row

    questions, answers, ratings, sources = [], [], [], []
    for line, row in read_csv(path, HEADER):
        problem = check_row(row["question"], row["answer"])
        if problem is None and row["source"] not in LISTS:
            problem = f"source must be one of {', '.join(LISTS)}, got {row['source']!r}"
        if problem is None and not row["rating"].isdigit():
            problem = f"rating must be a whole number of backtracks, got {row['rating']!r}"
        if problem:
            raise DataError(f"{path}, line {line}: {problem}")
        questions.append(row["question"])
        answers.append(row["answer"])
        ratings.append(float(row["rating"]))
        sources.append(row["source"])
    if not questions:
        raise DataError(f"{path}: no puzzles in the file")
    return questions, answers, ratings, np.array(sources)


def _hash_keys(texts: Iterable[str], salt: str) -> np.ndarray:
    """``[N]`` uint64: the first 8 bytes of ``sha256(salt + text)``; a seedless, version-proof order."""
    return np.array(
        [int.from_bytes(hashlib.sha256(f"{salt}{t}".encode()).digest()[:8], "big") for t in texts], dtype=np.uint64
    )


def split_indices(
    questions: Sequence[str], ratings: Sequence[float], sources: Sequence[str] | None = None
) -> dict[str, np.ndarray]:
    """Indices of train / val / test in file order (see the module docstring for the rule).

    Each list (by ``sources``; one list without) is split on its own, so a list's split does not
    depend on which other lists are loaded, and each gives its own hardest fifth to test: the
    rating's scale differs between the lists, so one cut over both would put nearly only 17-clue
    puzzles in test (docs/sudoku-data.md).
    """
    rating = np.asarray(ratings, dtype=np.float64)
    givens = np.array([81 - q.count(".") for q in questions])
    tie = _hash_keys(questions, f"{SALT}:tie:")
    groups = [np.arange(len(questions))] if sources is None else [
        np.flatnonzero(np.asarray(sources) == name) for name in dict.fromkeys(sources)
    ]
    parts: dict[str, list[np.ndarray]] = {"train": [], "val": [], "test": []}
    for group in groups:
        rank = group[np.lexsort((tie[group], givens[group], -rating[group]))]  # hardest first
        n_test = int(round(TEST_FRACTION * len(group)))
        rest = rank[n_test:]
        if len(rest) <= VAL_PER_LIST:
            raise DataError(f"a public sudoku list has {len(rest)} puzzles below its hard cut; val needs more than {VAL_PER_LIST}")
        by_hash = rest[np.argsort(_hash_keys((questions[i] for i in rest), f"{SALT}:val:"), kind="stable")]
        parts["test"].append(rank[:n_test])
        parts["val"].append(by_hash[:VAL_PER_LIST])
        parts["train"].append(by_hash[VAL_PER_LIST:])
    return {split: np.sort(np.concatenate(p)) for split, p in parts.items()}


def _read_and_split(path: Path) -> tuple[list[str], list[str], list[float], np.ndarray, dict[str, np.ndarray]]:
    questions, answers, ratings, sources = read(path)
    return questions, answers, ratings, sources, split_indices(questions, ratings, sources)


def bundled_file(name: str) -> Path:
    """The verified bundled file of list ``name``; :class:`DataError` naming the command if absent."""
    from . import bundled

    key = BUNDLED[name]
    if not (bundled.DIR / bundled.FILES[key]).is_file():
        raise DataError(
            f"the public sudoku list {name!r} is not bundled yet; make it with "
            f"python scripts/make_sudoku_public.py --lists DIR --list {name}"
        )
    return bundled.path_for(key)


def load(split: str, source: str = "public", seed: int = 0, n: int | None = None, path: str | Path | None = None) -> TaskDataset:
    """A split of the public set (``source="public"``) or of one list of it (``"forum-hardest"``, ``"17-clue"``).

    ``seed`` orders the split (so ``n`` takes a seeded random sample of it); membership is fixed.
    ``path`` reads one file of the bundled format (any lists) instead of the bundled files.
    """
    from .sudoku import encode

    check_split(split)
    if source != "public" and source not in LISTS:
        raise DataError(f"unknown public sudoku source {source!r}; choose one of public, {', '.join(LISTS)}")
    names = list(LISTS) if source == "public" else [source]
    files = [Path(path)] if path is not None else [bundled_file(name) for name in names]
    questions, answers, ratings = [], [], []
    for file in files:
        q, a, r, src, splits = cached_read(_read_and_split, file)
        idx = splits[split]
        idx = idx[np.isin(src[idx], names)]
        questions += [q[i] for i in idx]
        answers += [a[i] for i in idx]
        ratings += [r[i] for i in idx]
    order = np.argsort(_hash_keys(questions, f"{SALT}:order:{seed}:"), kind="stable")[:n]
    return TaskDataset(
        "sudoku", split, [questions[i] for i in order], [answers[i] for i in order], [ratings[i] for i in order],
        source=f"{', '.join(map(str, files))} ({source})", encoder=encode,
    )


# --- making a bundled file of one list (scripts/make_sudoku_public.py) --------------------------
def ratings_file(folder: str | Path, name: str) -> Path:
    """``FOLDER/<list file stem>.txt``: where the ratings of list ``name`` are kept, one line per puzzle."""
    return Path(folder) / (str(LISTS[name]["file"]).removesuffix(".csv.xz") + ".txt")


def read_ratings(path: str | Path) -> list[int]:
    """Backtracks, the first field of each line of a precomputed ratings file."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such ratings file")
    return [int(line.split(",")[0]) for line in path.read_text().split()]


def check_sample(rows: Sequence[tuple[str, str]], ratings: Sequence[int], n: int, workers: int = 1) -> int:
    """Re-rate ``n`` seeded random puzzles of ``rows`` and compare with ``ratings``; how many were checked."""
    import random

    picks = random.Random(f"{SALT}:check").sample(range(len(rows)), min(n, len(rows)))
    again = list(rate_rows([rows[i] for i in picks], workers))
    bad = [(i, ratings[i], r) for i, r in zip(picks, again) if ratings[i] != r]
    if bad:
        raise DataError(f"{len(bad)} of {len(picks)} re-rated puzzles differ (row, given, re-rated): {bad[:5]}")
    return len(picks)


def read_list(lists: str | Path, name: str, rows: int | None = None) -> list[tuple[str, str]]:
    """The puzzles of list ``name`` from its upstream file in ``lists``, checked to number ``rows`` (default:
    its published count)."""
    upstream = Path(lists) / str(LISTS[name]["file"])
    found = read_upstream(upstream)
    if len(found) != (rows or LISTS[name]["rows"]):
        raise DataError(f"{upstream}: {len(found)} puzzles, expected {rows or LISTS[name]['rows']}")
    return found


def make_file(lists: str | Path, name: str, *, ratings: str | Path | None = None, check: int = 300, workers: int = 1,
              out: str | Path | None = None, rows: int | None = None, log=print) -> Path:
    """Write list ``name`` (upstream file in ``lists``) rated, as a bundled-format xz CSV (question, answer,
    rating, source) to ``out`` (default: its bundled file, whose sha256, split sizes, provenance and licence
    then go into the manifest). ``ratings``: a folder of ratings computed before (:func:`ratings_file`), of
    which ``check`` seeded puzzles are rated again to confirm them; else every puzzle is rated here."""
    import time

    from ..checkpoint import sha256_file
    from . import bundled
    from .formats import write_csv

    out = Path(out) if out is not None else bundled.DIR / bundled.FILES[BUNDLED[name]]
    found = read_list(lists, name, rows)
    given = None
    if ratings is not None:
        given = {name: read_ratings(ratings_file(ratings, name))}
        if len(given[name]) != len(found):
            raise DataError(f"{ratings}: {len(given[name])} ratings for {len(found)} puzzles (not finished?)")
        if check:
            t0 = time.time()
            checked = check_sample(found, given[name], check, workers)
            log(f"check: {checked} seeded random puzzles re-rated in {time.time() - t0:.0f} s, all equal the given ratings")
    t0 = time.time()
    built = build_rows({name: found}, given, workers=workers, progress=True)
    write_csv(out, HEADER, built)
    log(f"wrote {len(built):,} puzzles to {out} in {time.time() - t0:.0f} s")
    if len(built) <= VAL_PER_LIST:  # too few to split (a test's tiny list); a bundled list never is
        return out
    sizes = {s: len(v) for s, v in split_indices([r[0] for r in built], [r[2] for r in built]).items()}
    log(f"splits {sizes}")
    if out.parent.resolve() == bundled.DIR.resolve():
        made_by = f"python scripts/make_sudoku_public.py --lists DIR --list {name} --workers {workers}"
        if ratings is not None:
            made_by += f" (ratings precomputed by the same solver; {check} seeded puzzles re-rated, all equal)"
        info = LISTS[name]
        entry = bundled.record(
            out, task="sudoku", list=name, rows=len(built), **sizes,
            upstream=info["upstream"], upstream_sha256=sha256_file(Path(lists) / str(info["file"])), what=info["what"],
            licence=LICENCE, made_by=made_by,
            rating="backtracks of loopzoo.data.sudoku_solver.rate (naked singles, MRV, full search)",
            split="test = the list's hardest 20% by rating (ties: fewer givens, then sha256); val = 2,500 seeded of the rest",
        )
        log(f"recorded {out.name} ({entry['bytes']:,} bytes, sha256 {entry['sha256'][:16]}...)")
    return out


DIFFICULTY_QUANTILES = (10, 25, 50, 75, 90, 99)


def difficulty_table(saved: Mapping) -> str:
    """docs/sudoku-data.md's table of ratings per set (``scripts/sudoku_difficulty.py --write`` saves its rows:
    ``set``, ``rated``, ``mean``, ``min``, ``p10`` ... ``p99``, ``max``, and the share solved by singles alone,
    ``singles``, of ``singles_n`` puzzles)."""
    lines = ["| set | puzzles rated | mean | min | " + " | ".join(f"p{q}" if q != 50 else "median" for q in DIFFICULTY_QUANTILES)
             + " | max | solved by singles alone |", "|---" * (6 + len(DIFFICULTY_QUANTILES)) + "|"]
    for r in saved["rows"]:
        qs = " | ".join(f"{r[f'p{q}']:,.0f}" for q in DIFFICULTY_QUANTILES)
        lines.append(f"| {r['set']} | {r['rated']:,} | {r['mean']:,.0f} | {r['min']:,.0f} | {qs} | {r['max']:,.0f} | "
                     f"{r['singles']:.1%} of {r['singles_n']:,} |")
    return "\n".join(lines)
