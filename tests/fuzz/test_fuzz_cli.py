"""Fuzzed command lines through ``loopzoo.cli.main``: list, info, solve, data list/verify.

A case must end in an exit status (0, 1 or 2; argparse usage errors exit with 2) and print
``loopzoo: error: ...`` for a loopzoo error; never a traceback. Commands that write files,
train or publish are left out (they are covered by their own tests).
"""
from __future__ import annotations

import contextlib
import io
import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loopzoo.cli import main

pytestmark = pytest.mark.fuzz

FIXTURES = Path(__file__).resolve().parents[1] / "data" / "fixtures"
NAMES = ["prefix-sums-internal-recall-outernorm", "sudoku-recall-prenorm", "chess-no-recall-gru", "sudoku-fixed15",
         "nope", "a/b", "..", "/", "", "x.bin", "sudoku-*", "[", str(FIXTURES)]
texts = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=20)
names = st.one_of(st.sampled_from(NAMES), texts)
inputs = st.one_of(st.sampled_from(["0110", "1", "", "-1", "--", "..3.2.6..9..3.5..1..18.64....81.29..7.......8..67.82....26.95..8..2.3..9..5.1.3..",
                                    "8/8/8/4k3/8/8/4P3/4K3 w - - 0 1"]), texts)
ints = st.one_of(st.integers(-2, 8).map(str), st.sampled_from(["16", "32", "10000000", "99999999999999999999", "x", "1.5", ""]))
solve_args = st.tuples(
    names, st.lists(inputs, min_size=0, max_size=3),
    st.lists(st.one_of(
        st.just(["--random-init"]), st.just(["--random-init"]),
        st.tuples(st.just("--width"), st.sampled_from(["16", "8", "0", "-4", "7", "20000", "w"])).map(list),
        st.tuples(st.just("--heads"), st.sampled_from(["2", "1", "0", "3", "-1", "h"])).map(list),
        st.tuples(st.just("--iters"), ints).map(list),
        st.tuples(st.just("--device"), st.one_of(st.sampled_from(["cpu", "meta", "cuda:99", "bogus", "mps", ""]), texts)).map(list),
        st.tuples(st.just("--weights"), names).map(list),
    ), max_size=5),
).map(lambda t: ["solve", t[0], *t[1], *[a for opt in t[2] for a in opt]])
argvs = st.one_of(
    solve_args, solve_args,
    st.tuples(st.just("info"), names).map(list),
    st.tuples(st.just("list"), st.lists(names, max_size=1),
              st.lists(st.sampled_from(["--source", "--kind", "models", "tasks", "halting", "datasets", "bogus"]), max_size=3)).map(
        lambda t: ["list", *t[1], *t[2]]),
    st.tuples(st.sampled_from(["verify", "list"]), st.sampled_from([str(p) for p in sorted(FIXTURES.iterdir())] + ["nofile", ""]),
              st.lists(st.sampled_from(["--deep", "1", "0", "x", "--help"]), max_size=2)).map(
        lambda t: ["data", t[0], *([t[1]] if t[0] == "verify" else []), *t[2]]),
    st.lists(st.one_of(texts, st.sampled_from(["solve", "info", "list", "data", "--version", "-h", "--iters"])), max_size=4),
)


def run_cli(argv: list[str]) -> int:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse: --help/--version exit 0, usage errors exit 2
            code = exc.code
    assert code in (0, 1, 2, None), (code, err.getvalue()[-500:])
    assert "Traceback" not in err.getvalue()
    if code == 2 and "loopzoo: error:" not in err.getvalue():
        assert "usage:" in err.getvalue()  # an argparse usage error names the bad argument
    return code


@given(argvs)
def test_cli_arguments(fuzz, tmp_path_factory, argv):
    cwd = os.getcwd()
    os.chdir(tmp_path_factory.getbasetemp())  # anything a command writes lands in a scratch directory
    try:
        fuzz("cli-arguments", run_cli, argv)
    finally:
        os.chdir(cwd)
