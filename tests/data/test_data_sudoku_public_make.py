"""loopzoo.data.sudoku_public.make_file (scripts/make_sudoku_public.py): a list file and precomputed ratings in, a
checked bundled-format file out."""
from __future__ import annotations

import pytest

from loopzoo import DataError
from loopzoo.data import sudoku, sudoku_public


def _lists(tmp_path, n: int = 4):
    """A folder holding a tiny 17-clue-named list (generated puzzles) and a ratings folder for it."""
    items = [sudoku.make_item(4, i) for i in range(n)]
    lists, ratings = tmp_path / "lists", tmp_path / "ratings"
    lists.mkdir()
    ratings.mkdir()
    name = str(sudoku_public.LISTS["17-clue"]["file"])
    (lists / name.removesuffix(".xz")).write_text(
        "puzzle,solution\n" + "".join(f"{q.replace('.', '0')},{a}\n" for q, a, _ in items)
    )
    import lzma

    (lists / name).write_bytes(lzma.compress((lists / name.removesuffix(".xz")).read_bytes()))
    (ratings / name.replace(".csv.xz", ".txt")).write_text("".join(f"{r},0\n" for *_, r in items))
    return items, lists, ratings


def test_builds_from_precomputed_ratings_after_a_check(tmp_path, capsys):
    items, lists, ratings = _lists(tmp_path)
    out = tmp_path / "public.csv.xz"
    assert sudoku_public.make_file(lists, "17-clue", ratings=ratings, check=2, rows=4, out=out) == out
    printed = capsys.readouterr().out
    assert "check: 2 seeded random puzzles re-rated" in printed and "wrote 4 puzzles" in printed
    q, a, r, src = sudoku_public.read(out)
    assert list(zip(q, a, r)) == [(qq, aa, float(rr)) for qq, aa, rr in items] and set(src) == {"17-clue"}


def test_refuses_wrong_ratings_and_a_short_list(tmp_path):
    items, lists, ratings = _lists(tmp_path)
    txt = next(ratings.iterdir())
    txt.write_text("".join(f"{r + 1},0\n" for *_, r in items))
    with pytest.raises(DataError, match="re-rated puzzles differ"):
        sudoku_public.make_file(lists, "17-clue", ratings=ratings, check=4, rows=4, out=tmp_path / "x.csv.xz")
    with pytest.raises(DataError, match="4 puzzles, expected 49158"):
        sudoku_public.make_file(lists, "17-clue", out=tmp_path / "x.csv.xz")
    txt.write_text("1,0\n")
    with pytest.raises(DataError, match="1 ratings for 4 puzzles"):
        sudoku_public.make_file(lists, "17-clue", ratings=ratings, rows=4, out=tmp_path / "x.csv.xz")
    assert sudoku_public.ratings_file(ratings, "17-clue") == txt


def test_rating_into_a_file_continues_where_a_stopped_job_ended(tmp_path):
    from loopzoo.data import sudoku_public as sp

    rows = list(zip(*_generated_rows(4)))
    target = tmp_path / "r.txt"
    assert sp.rate_into(rows[:2], target) == 2
    target.write_text(target.read_text() + "12")  # a line cut off mid-write
    assert sp.rate_into(rows, target) == 4
    assert [int(x) for x in target.read_text().split()] == list(sp.rate_rows(rows))


def _generated_rows(n):
    from loopzoo.data import load_split

    ds = load_split("sudoku", "val", n=n)
    return ds.inputs, ds.answers
