"""The command line, run in-process through ``main``."""
import re

import pytest

import loopzoo
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


def test_info_describes_the_bundled_checkpoint(capsys):
    import json

    from loopzoo.hub import bundled

    name = "sudoku-internal-recall-outernorm"
    meta = json.loads((bundled()[name] / "config.json").read_text())
    iters, model = meta["model"]["iters"], meta["model"]
    code, out, _ = run(capsys, "info", name)
    assert code == 0 and "describes:   bundled checkpoint" in out and '"recall": "internal-recall"' in out
    assert f"width {model['width']}, {model['heads']} heads" in out
    params = loopzoo.load(name).num_parameters()
    assert f"parameters:  {params:,}\n" in out
    assert f"iterations:  {iters} recommended" in out
    hard = meta["eval"]["test"]
    assert f"{100 * hard['at'][str(iters)]:.1f}% exact match on {hard['samples']} {hard['label']} items at {iters}" in out
    assert f"training:    {meta['steps']:,} steps; batch {meta['train']['batch_size']}; {meta['wall_time']}" in out


def test_info_says_when_it_shows_the_default_architecture(capsys):
    name = "sudoku-recall-prenorm"  # registered, nothing bundled
    code, out, _ = run(capsys, "info", name)
    assert code == 0 and "default architecture, random weights" in out and "no checkpoint is bundled" in out
    assert f"parameters:  {loopzoo.create(name).num_parameters():,}\n" in out
    assert "accuracy:" not in out and "training:" not in out


def test_info_and_card_of_a_trained_directory(capsys, tmp_path):
    from loopzoo.checkpoint import CONFIG_FILE
    import json

    model = loopzoo.create("prefix-sums-internal-recall-outernorm", width=16, heads=2)
    ev = {"at": {"1": 0.25, "3": 0.5}, "partial_at": {"1": 0.6, "3": 0.7}, "best": 0.5, "best_iter": 3, "final": 0.5,
          "overthinking": 0.0, "samples": 8}
    model.save(tmp_path / "run", steps=2, final_eval={"val": ev, "test": ev, "rho_wx": 0.5})
    code, out, _ = run(capsys, "info", str(tmp_path / "run"))
    assert code == 0 and "describes:   checkpoint directory" in out
    assert "iterations:  30 (the config's default; not tuned" in out
    assert "50.0% exact match on 8 hard (test split) items at 3 iterations" in out
    code, out, _ = run(capsys, "card", str(tmp_path / "run"))
    card = (tmp_path / "run" / "README.md").read_text()
    assert code == 0 and "Recommended iterations: **3**" in card and "| hard (test split) | exact match | 8 | 25.0% | 50.0%" in card
    assert json.loads((tmp_path / "run" / CONFIG_FILE).read_text())["model"]["iters"] == 30  # the card does not retune
    model.save(tmp_path / "bare")
    code, _, err = run(capsys, "card", str(tmp_path / "bare"))
    assert code != 0 and "records no evaluation" in err and "Traceback" not in err


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
