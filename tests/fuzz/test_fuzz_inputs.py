"""Fuzzed task inputs through ``model.solve``: sudoku strings and grids, bit strings, FENs, options.

Each case must give answers of the right form or a :class:`LoopzooError` naming the problem.
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import loopzoo
from loopzoo.errors import InputError

pytestmark = pytest.mark.fuzz

TINY = {"width": 16, "heads": 2}
MODELS = {task: loopzoo.create(f"{task}-internal-recall-outernorm", **TINY) for task in ("sudoku", "prefix-sums", "chess")}
SUDOKU = MODELS["sudoku"].task.example
FENS = [
    "rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR w KQkq - 0 1",
    MODELS["chess"].task.example,
    "r1bkr3/pp3pp1/2n5/2P4p/3P1B1P/Pq3NP1/1P3KP1/3R1B1R w - - 4 25",
    "8/8/8/4k3/8/8/4P3/4K3 b - - 0 1",
    "r3k2r/8/8/8/8/8/8/R3K2R w KQkq - 0 1",
    "8/P7/8/8/8/8/8/k6K w - - 0 1",
]


def mutate(base: str, edits: list[tuple[int, int, str]]) -> str:
    """Apply (kind, position, text) edits: 0 replace, 1 insert, 2 delete."""
    s = base
    for kind, pos, text in edits:
        pos = pos % (len(s) + 1)
        if kind == 0:
            s = s[:pos] + text + s[pos + 1 :]
        elif kind == 1:
            s = s[:pos] + text + s[pos:]
        else:
            s = s[:pos] + s[pos + len(text) + 1 :]
    return s


def edits(alphabet: str):
    return st.lists(st.tuples(st.integers(0, 2), st.integers(0, 200), st.text(alphabet=alphabet, max_size=3)), max_size=6)


def check_answers(task: str, inputs, answers) -> None:
    """A solve that returned must give one well-formed answer per input."""
    single = MODELS[task].task.is_single(inputs)
    out = [answers] if single else answers
    assert isinstance(out, list) and len(out) == (1 if single else len(list(inputs)))
    for a in out:
        if task == "sudoku":
            assert len(a) == 81 and set(a) <= set("123456789")
        elif task == "prefix-sums":
            assert set(a) <= {"0", "1"} and a
        else:
            assert len(a.uci) in (4, 5) and a.san


def solve(task: str, inputs, **kw):
    answers = MODELS[task].solve(inputs, iters=1, **kw)
    check_answers(task, inputs, answers)
    return answers


sudoku_strings = st.one_of(
    st.text(alphabet="0123456789. \n\t", max_size=100),
    st.text(max_size=100),
    edits("0123456789.x \n\u0663\uff11").map(lambda e: mutate(SUDOKU, e)),
    st.just(SUDOKU),
)


@given(st.one_of(sudoku_strings, st.lists(sudoku_strings, max_size=4)))
def test_sudoku_strings(fuzz, inputs):
    fuzz("sudoku-strings", solve, "sudoku", inputs)


cells = st.one_of(st.integers(-2, 11), st.integers(0, 9), st.booleans(), st.floats(), st.none(),
                  st.text(max_size=2), st.integers(-2**70, 2**70))
grid_arrays = hnp.arrays(
    dtype=st.sampled_from([np.int8, np.int64, np.uint8, np.uint64, np.float64, np.int32]),
    shape=st.sampled_from([(9, 9), (81,), (3, 27), (9, 9, 1), (0,), (), (2, 9, 9), (80,)]),
    elements=st.integers(0, 9),
) | hnp.arrays(dtype=np.bool_, shape=st.sampled_from([(9, 9), (81,)]))
grids = st.one_of(
    st.lists(st.lists(cells, max_size=11), max_size=11),
    st.lists(cells, min_size=79, max_size=83),
    st.lists(st.lists(st.integers(0, 9), min_size=9, max_size=9), min_size=9, max_size=9),
    st.lists(st.lists(st.sampled_from([0, 0, 0, 0, 1, 5, 9]), min_size=9, max_size=9), min_size=9, max_size=9).map(
        lambda g: tuple(tuple(r) for r in g)),
    grid_arrays,
)


@given(st.one_of(grids, st.lists(grids, min_size=1, max_size=3), grid_arrays.map(lambda a: [a, a])))
def test_sudoku_grids(fuzz, inputs):
    fuzz("sudoku-grids", solve, "sudoku", inputs)


bit_strings = st.one_of(st.text(alphabet="01", min_size=1, max_size=300), st.text(alphabet="01 \n2x", max_size=60),
                        st.text(max_size=30))
bits = st.one_of(
    bit_strings,
    st.lists(st.one_of(st.integers(-1, 2), st.booleans()), max_size=60),
    hnp.arrays(dtype=st.sampled_from([np.uint8, np.int64, np.float32, np.bool_]),
               shape=st.sampled_from([(5,), (1,), (0,), (3, 4), ()]), elements=st.sampled_from([0, 1])),
)


@given(st.one_of(bits, st.lists(bits, max_size=5), st.lists(bit_strings, min_size=1, max_size=8)))
def test_bit_strings(fuzz, inputs):
    fuzz("bit-strings", solve, "prefix-sums", inputs)


FEN_ALPHABET = "rnbqkpRNBQKP12345678/ wb-KQkqa-h0-9x"
fens = st.one_of(
    st.text(alphabet=FEN_ALPHABET, max_size=90),
    st.tuples(st.sampled_from(FENS), edits(FEN_ALPHABET)).map(lambda t: mutate(*t)),
    st.sampled_from(FENS),
    st.text(max_size=40),
    st.one_of(st.integers(), st.none(), st.lists(st.integers(), max_size=2)),
)


@given(st.one_of(fens, st.lists(fens, min_size=1, max_size=3)))
def test_fens(fuzz, inputs):
    fuzz("fens", solve, "chess", inputs)


halts = st.one_of(st.none(), st.sampled_from(["residual:1e-4", "unchanged:2", "confidence:0.9", "residual", "unchanged:0",
                                               "confidence:2", "residual:nan", "bogus:1", ":", "unchanged:1.5", ""]),
                  st.text(max_size=15))


def mostly(good, bad):
    """Valid values three times in four, so the cases reach the model, not only the checks."""
    return st.one_of(good, good, good, bad)


@given(task=st.sampled_from(sorted(MODELS)),
       iters=mostly(st.integers(1, 4), st.one_of(st.integers(-2, 0), st.sampled_from([10**6, 10**30, True, 2.0, "3"]))),
       batch_size=mostly(st.integers(1, 5), st.sampled_from([0, -1, 10**20, 0.5, None])),
       halt=st.one_of(st.none(), halts),
       check_every=mostly(st.integers(1, 5), st.sampled_from([0, -1, "2"])), trace=st.booleans(),
       device=mostly(st.sampled_from([None, "cpu"]),
                     st.one_of(st.sampled_from(["meta", "cuda:99", "bogus", "", "cpu:0", "xla", "mps", "cuda"]), st.integers(-1, 2))),
       n=st.integers(1, 5))
def test_solve_options(fuzz, task, iters, batch_size, halt, check_every, trace, device, n):
    model = MODELS[task]
    inputs = [model.task.example] * n if n > 1 else model.task.example

    def run():
        try:
            return model.solve(inputs, iters=iters, batch_size=batch_size, halt=halt, check_every=check_every,
                               trace=trace, return_info=trace, device=device)
        finally:
            model.to("cpu")  # a fuzzed device must not leak into later cases

    fuzz("solve-options", run)


def test_bad_inputs_name_the_problem():
    """Spot checks of messages the fuzzers only see in bulk."""
    with pytest.raises(InputError, match="sudoku input 0: a sudoku string has 81 cells, got 3"):
        MODELS["sudoku"].solve("123", iters=1)
    with pytest.raises(InputError, match="batch_size must be a positive integer"):
        MODELS["sudoku"].solve(SUDOKU, iters=1, batch_size=0)
    with pytest.raises(InputError, match="iters is 1000000000, above loopzoo's limit of 100000"):
        MODELS["sudoku"].solve(SUDOKU, iters=10**9)
    with pytest.raises(InputError, match="cannot use device 'meta'"):
        MODELS["sudoku"].solve(SUDOKU, iters=1, device="meta")
    assert MODELS["sudoku"].device.type == "cpu"
