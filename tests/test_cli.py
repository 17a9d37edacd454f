"""The command line, run in-process through ``main``."""
import re

import pytest

from loopzoo.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_list_with_pattern_and_source(capsys):
    code, out, _ = run(capsys, "list", "chess-*")
    assert code == 0 and len(out.split()) == 13
    code, out, _ = run(capsys, "list", "--kind", "norms", "--source")
    assert code == 0 and "outernorm" in out and "built-in" in out
    code, _, err = run(capsys, "list", "nothing-*")
    assert code == 1 and "no models match" in err


def test_info(capsys):
    code, out, _ = run(capsys, "info", "sudoku-internal-recall-outernorm")
    assert code == 0 and "parameters:" in out and '"recall": "internal-recall"' in out


def test_solve_random_init_and_errors(capsys, tmp_path):
    code, out, err = run(capsys, "solve", "prefix-sums-recall-prenorm", "0110", "111", "--random-init", "--width", "16", "--heads", "2", "--iters", "2")
    assert code == 0 and [len(line) for line in out.split()] == [4, 3] and "random weights" in err
    code, _, err = run(capsys, "solve", "sudoku-recall-prenorm", "123", "--random-init", "--width", "16", "--heads", "2")
    assert code == 2 and "sudoku input 0" in err and "Traceback" not in err
    code, _, err = run(capsys, "solve", "sudoku-recall-prenorm", "." * 81, "--random-init", "--width", "16")
    assert code == 2 and "head size 2 is too small" in err
    code, _, err = run(capsys, "solve", "sudoku-recall-prenorm", "." * 81)
    assert code == 2 and "no trained weights" in err


def test_solve_with_halting_prints_the_iterations_used(capsys):
    code, out, _ = run(capsys, "solve", "prefix-sums-internal-recall-outernorm", "0110100111", "--iters", "60",
                       "--halt", "residual:1e-3")
    answer, used = out.split("  ")
    assert code == 0 and answer == "0100111010"  # prefix parities of 0110100111
    assert used.startswith("[") and 1 <= int(used.split()[0][1:]) <= 60
    code, _, err = run(capsys, "solve", "prefix-sums-internal-recall-outernorm", "0110", "--halt", "fast")
    assert code == 2 and "halt" in err and "Traceback" not in err


def test_solve_marks_each_answer_and_says_why_it_fails(capsys):
    puzzle = "..3.2.6..9..3.5..1..18.64....81.29..7.......8..67.82....26.95..8..2.3..9..5.1.3.."
    tiny = ("--random-init", "--width", "16", "--heads", "2", "--iters", "2")
    code, out, _ = run(capsys, "solve", "sudoku-recall-prenorm", puzzle, puzzle, *tiny, "--halt", "valid", "--restarts", "1")
    lines = out.splitlines()
    assert code == 0 and len(lines) == 2
    for line in lines:
        answer, verdict, cost = line.split("  ")
        assert len(answer) == 81 and cost == "[4 iterations, 2 runs]"  # a random model never solves it: 2 runs of 2
        assert verdict[0] in "\u2717x" and verdict[2:].startswith("invalid: ")
        assert re.fullmatch(r"digit \d twice in (row|column|box) \d|row \d, column \d is given as \d, the answer has \d",
                            verdict[len("x invalid: "):])
    fens = ["rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR w KQkq - 0 1", "6k1/5ppp/8/8/8/8/5PPP/R5K1 w - - 0 1"]
    code, out, _ = run(capsys, "solve", "chess-recall-outernorm", *fens, *tiny)
    start, mate = out.splitlines()
    assert code == 0 and start.split("  ")[1].startswith("? unknown: ")  # no forced mate to check against
    assert mate == "a1a8 (Ra8#)  \u2713 valid" or mate.split("  ")[1].endswith("invalid: misses a mate in 1 (Ra8#)")
    for bad in ("-1", "100000"):
        code, _, err = run(capsys, "solve", "sudoku-recall-prenorm", puzzle, *tiny, "--restarts", bad)
        assert code == 2 and "restarts" in err and "Traceback" not in err


def test_marks_fall_back_to_ascii():
    from loopzoo.cli import marks

    assert marks("utf-8")[True] == "\u2713" and marks("ascii") == {True: "+", False: "x", None: "?"}
    assert marks(None)[False] == "x" and marks("no-such-codec")[False] == "x"


def test_solve_from_weights_dir(capsys, tmp_path):
    import loopzoo

    loopzoo.create("chess-recall-outernorm", width=16, heads=2).save(tmp_path)
    code, out, _ = run(capsys, "solve", "chess", "8/8/8/4k3/8/8/8/4K2R w K - 0 1", "--weights", str(tmp_path), "--iters", "2")
    assert code == 0 and "(" in out


def test_help_texts(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "{task}-{recall}-{norm}" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["solve", "--help"])
    assert "--iters" in capsys.readouterr().out


def test_demo_runs_on_whatever_is_bundled(capsys):
    code, out, _ = run(capsys, "demo", "--samples", "2", "--iters", "1", "2", "--threads", "1")
    assert code == 0 and "bundled checkpoints" in out
    for name in ("prefix-sums", "sudoku", "chess"):
        assert f"{name}-internal-recall-outernorm" in out
