"""``loopzoo data list | make | verify``."""
from __future__ import annotations

from loopzoo.cli import main


def test_data_list(capsys):
    assert main(["data", "list"]) == 0
    out = capsys.readouterr().out
    assert "prefix-sums" in out and "sudoku" in out and "chess" in out


def test_make_then_verify_sudoku(tmp_path, capsys):
    out = tmp_path / "s.csv.xz"
    assert main(["data", "make", "sudoku", "--n", "6", "--seed", "5", "--out", str(out)]) == 0
    first = out.read_bytes()
    assert main(["data", "make", "sudoku", "--n", "6", "--seed", "5", "--out", str(out)]) == 0
    assert out.read_bytes() == first
    assert main(["data", "verify", str(out)]) == 0
    assert "6 sudoku items OK" in capsys.readouterr().out


def test_make_then_verify_prefix_sums(tmp_path, capsys):
    out = tmp_path / "bits.csv"
    assert main(["data", "make", "prefix-sums", "--n", "4", "--length", "16", "--out", str(out)]) == 0
    assert main(["data", "verify", str(out)]) == 0
    assert "4 prefix-sums items OK" in capsys.readouterr().out
    lines = out.read_text().splitlines()
    lines[2] = lines[2][:-1] + ("1" if lines[2][-1] == "0" else "0")
    out.write_text("\n".join(lines) + "\n")
    assert main(["data", "verify", str(out)]) == 2
    assert "line 3: answer is not the running parity" in capsys.readouterr().err


def test_verify_reports_a_corrupt_file(fixtures, tmp_path, capsys):
    assert main(["data", "verify", str(fixtures / "lichess_puzzles.csv")]) == 0
    assert "14 chess items OK" in capsys.readouterr().out
    bad = tmp_path / "bad.csv"
    bad.write_text((fixtures / "sudoku_extreme.csv").read_text().replace(",27\n", ",27,extra\n").replace("1639", "1631", 1))
    assert main(["data", "verify", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "bad.csv, line 2" in err


def test_verify_unknown_format(tmp_path, capsys):
    f = tmp_path / "x.csv"
    f.write_text("a,b\n1,2\n")
    assert main(["data", "verify", str(f)]) == 2
    assert "unknown format" in capsys.readouterr().err


def test_deep_verify_resolves_sudoku(fixtures, capsys):
    assert main(["data", "verify", str(fixtures / "sudoku_extreme.csv"), "--deep", "-1"]) == 0
    assert "the first 20 puzzles have exactly one solution" in capsys.readouterr().out
