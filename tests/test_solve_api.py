"""solve()'s result: answers, or a Solution per input with return_info=True, one result for one input and a
list for a list, whatever the options; the old shapes with a DeprecationWarning; bad values named."""
import warnings

import pytest
import torch

import loopzoo
from loopzoo import InputError
from loopzoo.model import Solution, Trace

PUZZLE = "..3.2.6..9..3.5..1..18.64....81.29..7.......8..67.82....26.95..8..2.3..9..5.1.3.."
BITS = ["0110100111", "1111100000", "0000000001", "1010101010"]

# every way to run: (options, whether the answers equal the plain fixed-iteration run's)
MODES = [({}, True), ({"halt": "unchanged:2"}, False), ({"halt": "valid"}, False), ({"restarts": 2}, True),
         ({"restarts": 2, "halt": "valid"}, False), ({"breadth": 3}, False), ({"breadth": 3, "halt": "valid"}, False),
         ({"trace": True}, True)]


@pytest.fixture(autouse=True)
def no_warnings():
    """The current forms warn about nothing; tests of the old ones use pytest.warns, which records them."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        yield


@pytest.mark.parametrize("options, same", MODES, ids=lambda o: ",".join(o) if isinstance(o, dict) else "")
def test_one_result_type_whatever_the_options(prefix, options, same):
    options = dict(options)
    trace = options.pop("trace", False)
    kw = dict(iters=6, **options)
    plain = prefix.solve(BITS, iters=6)
    sols = prefix.solve(BITS, return_info=True, trace=trace, **kw)
    assert isinstance(sols, list) and len(sols) == len(BITS) and all(isinstance(s, Solution) for s in sols)
    if not trace:
        answers = prefix.solve(BITS, return_info=False, **kw)
        assert answers == [s.answer for s in sols]
        if "halt" not in options:  # False is the default (with halt, until 0.3, None gives the old tuple)
            assert prefix.solve(BITS, **kw) == answers
        assert prefix.solve(tuple(BITS), return_info=False, **kw) == answers
        assert prefix.solve(BITS[1], return_info=False, **kw) == answers[1]  # one input, one result
    if same:
        assert [s.answer for s in sols] == plain
    assert prefix.solve(BITS[1], return_info=True, trace=trace, **kw) == sols[1]
    assert prefix.solve(BITS[1:2], return_info=True, trace=trace, **kw) == sols[1:2]  # a list of one, a list
    for s in sols:
        assert 1 <= s.iters <= 6 and s.iters <= s.total_iters and s.runs >= 1
        assert s.verified is None and s.status == "unknown" and "cannot check" in s.reason
        assert (s.trace is not None) == trace
    if "breadth" in options:
        assert all(s.trajectories == 3 and s.total_iters == 3 * 6 for s in sols)  # nothing verifies: all run to the cap


def test_halt_reports_where_each_input_stopped(prefix):
    sols = prefix.solve(BITS, iters=30, halt="residual:0.05", check_every=1, return_info=True)
    assert len({s.iters for s in sols}) > 1 and max(s.iters for s in sols) < 30
    for bits, sol in zip(BITS, sols):
        assert sol.iters == sol.total_iters and prefix.solve(bits, iters=sol.iters) == sol.answer


def test_verdicts_and_status(sudoku):
    sols = sudoku.solve([PUZZLE, PUZZLE.replace("3", "4", 1)], iters=2, restarts=1, return_info=True)
    assert [s.status for s in sols] == ["invalid", "invalid"]  # a random model never solves a sudoku
    assert all(s.runs == 2 and s.total_iters == 2 * s.iters and s.reason for s in sols)
    assert Solution("x", 1, 1, 1, True, "ok").status == "valid"


def test_the_trace_rides_on_the_solution(prefix):
    sol = prefix.solve(BITS[0], iters=4, trace=True, return_info=True)
    assert isinstance(sol.trace, Trace) and sol.trace.predictions[-1] == sol.answer and len(sol.trace.predictions) == 4
    assert sol == prefix.solve(BITS[0], iters=4, return_info=True)  # the trace is not part of equality
    assert "trace" not in repr(sol)


# --- the old shapes, for a while ----------------------------------------------------------------

def test_halt_without_return_info_returns_the_old_tuple(prefix):
    sols = prefix.solve(BITS, iters=30, halt="unchanged:2", return_info=True)
    with pytest.warns(DeprecationWarning, match=r"solve\(\) halt without return_info.*return_info=True") as rec:
        answers, used = prefix.solve(BITS, iters=30, halt="unchanged:2")
    assert (answers, used) == ([s.answer for s in sols], [s.total_iters for s in sols])
    assert rec[0].filename == __file__  # it points at the caller's line
    with pytest.warns(DeprecationWarning, match="return_info=False"):
        assert prefix.solve(BITS[0], iters=30, halt="unchanged:2") == (sols[0].answer, sols[0].iters)


def test_halt_with_restarts_or_breadth_returns_the_old_tuple(sudoku):
    for knob in ({"restarts": 2}, {"breadth": 3}):
        sols = sudoku.solve([PUZZLE] * 2, iters=3, halt="valid", return_info=True, **knob)
        with pytest.warns(DeprecationWarning, match="halt without return_info"):
            assert sudoku.solve([PUZZLE] * 2, iters=3, halt="valid", **knob) == (
                [s.answer for s in sols], [s.total_iters for s in sols])


def test_return_trace_returns_the_old_pair(prefix):
    sols = prefix.solve(BITS, iters=4, trace=True, return_info=True)
    with pytest.warns(DeprecationWarning, match=r"return_trace=True.*trace=True, return_info=True"):
        answers, traces = prefix.solve(BITS, iters=4, return_trace=True)
    assert answers == [s.answer for s in sols]
    assert [t.predictions for t in traces] == [s.trace.predictions for s in sols]
    with pytest.warns(DeprecationWarning, match="return_trace"):
        answer, trace = prefix.solve(BITS[0], iters=4, return_trace=True)
    assert answer == sols[0].answer and isinstance(trace, Trace)
    with pytest.warns(DeprecationWarning, match="return_trace"):
        assert prefix.solve(BITS, iters=4, return_trace=False) == answers


def test_restart_noise_is_noise(sudoku):
    new = sudoku.solve([PUZZLE] * 2, iters=2, restarts=2, noise=0.5, return_info=True)
    with pytest.warns(DeprecationWarning, match=r"restart_noise= is now noise="):
        assert sudoku.solve([PUZZLE] * 2, iters=2, restarts=2, restart_noise=0.5, return_info=True) == new
    assert new != sudoku.solve([PUZZLE] * 2, iters=2, restarts=2, return_info=True)


# --- bad values -----------------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, name", [
    ({"return_info": "yes"}, "return_info"), ({"return_info": 1}, "return_info"), ({"trace": "no"}, "trace"),
    ({"trace": True}, "return_info"),  # a trace lives on a Solution
    ({"trace": True, "return_info": True, "halt": "valid"}, "halt"),
    ({"trace": True, "return_info": True, "breadth": 2}, "breadth"),
    ({"autocast": "on"}, "autocast"), ({"compact": None}, "compact"), ({"compact": 0}, "compact"),
    ({"return_trace": "yes"}, "return_trace"), ({"return_trace": True, "return_info": True}, "return_info"),
    ({"return_trace": True, "trace": True}, "trace"), ({"return_trace": True, "halt": "valid"}, "halt"),
    ({"restart_noise": 0}, "restart_noise"), ({"restart_noise": "big"}, "restart_noise"),
    ({"restart_noise": 0.5, "noise": 2.0}, "restart_noise"),
    ({"halt": "valid", "check_every": 0}, "check_every"), ({"batch_size": 2.5}, "batch_size"),
])
def test_bad_values_name_themselves_before_any_warning(sudoku, kwargs, name):
    with pytest.raises(InputError, match=name):  # and no DeprecationWarning (the autouse fixture makes it an error)
        sudoku.solve(PUZZLE, iters=2, **kwargs)


def test_a_bad_input_raises_before_the_deprecation_warning(sudoku):
    with pytest.raises(InputError, match="input 1"):
        sudoku.solve([PUZZLE, "123"], iters=2, halt="valid")
