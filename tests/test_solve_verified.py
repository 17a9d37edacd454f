"""solve(..., return_info=True) and restarts: per-answer verdicts, restart semantics, seeds, bad values."""
import copy

import numpy as np
import pytest
import torch

import loopzoo
from loopzoo import InputError
from loopzoo.model import Solution
from loopzoo.tasks.base import Verdict
from loopzoo.tasks.prefix_sums import PrefixSums

PUZZLE = "..3.2.6..9..3.5..1..18.64....81.29..7.......8..67.82....26.95..8..2.3..9..5.1.3.."
BITS = ["0110100111", "1111100000", "0000000001", "1010101010", "0011001100", "1000000000"]


class SecondHalfParity(PrefixSums):
    """A check a random model passes for some inputs and start states and not for others."""

    def verify(self, parsed, answer):
        ok = answer[len(answer) // 2 :].count("1") % 2 == 1
        return Verdict(ok, "odd" if ok else "even number of ones in the second half")


@pytest.fixture(scope="module")
def checked(prefix):
    m = copy.copy(prefix)
    m.task = SecondHalfParity()
    return m


def test_info_reports_verdicts_without_changing_answers(sudoku):
    plain = sudoku.solve([PUZZLE, PUZZLE.replace(".", "0")], iters=3)
    info = sudoku.solve([PUZZLE, PUZZLE.replace(".", "0")], iters=3, return_info=True)
    assert [s.answer for s in info] == plain
    for sol in info:
        assert isinstance(sol, Solution) and (sol.iters, sol.total_iters, sol.runs) == (3, 3, 1)
        expected = sudoku.task.verify(sudoku.task.parse(PUZZLE, 0), sol.answer)
        assert (sol.verified, sol.reason) == (expected.verified, expected.reason)
        assert sol.status == {True: "valid", False: "invalid", None: "unknown"}[sol.verified]
    one = sudoku.solve(PUZZLE, iters=3, return_info=True)
    assert isinstance(one, Solution) and one == info[0]
    answers = sudoku.solve([PUZZLE], iters=7, halt="residual:1e-2", return_info=False)
    halted = sudoku.solve([PUZZLE], iters=7, halt="residual:1e-2", return_info=True)
    assert [s.answer for s in halted] == answers and all(1 <= s.iters == s.total_iters <= 7 for s in halted)


def test_restarts_keep_the_first_answer_that_verifies(checked):
    """Each restart is the plain loop from restart_state(); the answer is the first run's that passes."""
    iters, k, seed = 4, 3, 7
    sols = checked.solve(BITS, iters=iters, restarts=k, seed=seed, return_info=True)
    task = checked.task
    with torch.inference_mode():
        for i, (bits, sol) in enumerate(zip(BITS, sols)):
            x = task.encode([task.parse(bits, i)])
            runs = [task.decode(checked(x, iters)[0], [None])[0]]
            runs += [task.decode(checked(x, iters, checked.restart_state(x, [i], a, seed))[0], [None])[0]
                     for a in range(1, k + 1)]
            passing = [r for r in runs if task.verify(None, r).verified]
            expected_runs = runs.index(passing[0]) + 1 if passing else k + 1
            assert sol.answer == (passing[0] if passing else runs[-1])
            assert (sol.runs, sol.iters, sol.total_iters) == (expected_runs, iters, iters * expected_runs)
            assert sol.verified is bool(passing)
    assert {s.runs for s in sols} - {1}, "no input was restarted: the test checks nothing"
    assert any(s.runs > 1 and s.verified for s in sols), "no restart helped: the test checks too little"


def test_restarts_are_reproducible_with_a_seed(checked, sudoku):
    a = checked.solve(BITS, iters=4, restarts=3, seed=3, return_info=True)
    assert checked.solve(BITS, iters=4, restarts=3, seed=3, return_info=True) == a
    assert checked.solve(BITS, iters=4, restarts=3, seed=3, return_info=True, batch_size=2) == a
    x = sudoku.task.encode([sudoku.task.parse(PUZZLE, 0)] * 3)
    with torch.inference_mode():
        s0 = sudoku.restart_state(x, [0, 1, 2], 1, seed=0)
        assert torch.equal(s0, sudoku.restart_state(x, [0, 1, 2], 1, seed=0))
        assert torch.allclose(s0[2:], sudoku.restart_state(x[2:], [2], 1, seed=0))  # the index, not the batch
        assert not torch.allclose(s0[0], s0[1])  # other inputs, other starts
        assert not torch.allclose(s0, sudoku.restart_state(x, [0, 1, 2], 1, seed=1))
        assert not torch.allclose(s0, sudoku.restart_state(x, [0, 1, 2], 2, seed=0))
        e = sudoku.embed(x)
        dist = (s0 - e).flatten(1).norm(dim=1) / e.flatten(1).norm(dim=1)
        torch.testing.assert_close(dist, torch.ones(3))  # noise = 1: as far from e as e is long


def test_fixed_iterations_restart_until_the_cap_of_runs(sudoku):
    sols = sudoku.solve([PUZZLE] * 2, iters=3, restarts=2, return_info=True)
    assert all(not s.verified and (s.runs, s.iters, s.total_iters) == (3, 3, 9) for s in sols)
    halted = sudoku.solve([PUZZLE] * 2, iters=3, restarts=2, halt="valid", return_info=True)
    assert halted == sols  # a random model never verifies
    assert sudoku.solve([PUZZLE] * 2, iters=3, restarts=2, halt="valid", return_info=False) == [s.answer for s in sols]
    assert sudoku.solve(PUZZLE, iters=3, restarts=2) == sols[0].answer


def test_answers_that_cannot_be_checked_are_not_restarted(prefix):
    sols = prefix.solve(BITS, iters=4, restarts=3, return_info=True)
    assert [s.answer for s in sols] == prefix.solve(BITS, iters=4)
    assert all(s.runs == 1 and s.verified is None and "cannot check" in s.reason for s in sols)


@pytest.mark.parametrize("kwargs, name", [
    ({"restarts": -1}, "restarts"), ({"restarts": 1.5}, "restarts"), ({"restarts": True}, "restarts"),
    ({"restarts": "2"}, "restarts"), ({"restarts": 10**6}, "restarts"), ({"seed": -1}, "seed"),
    ({"seed": "x"}, "seed"), ({"noise": 0}, "noise"), ({"noise": float("nan")}, "noise"),
    ({"restarts": 1, "noise": "big"}, "noise"), ({"trace": True, "return_info": True, "restarts": 2}, "restarts"),
    ({"halt": "valid:valid"}, "valid"),
])
def test_bad_values_name_themselves(sudoku, kwargs, name):
    with pytest.raises(InputError, match=name):
        sudoku.solve(PUZZLE, iters=2, **kwargs)


def test_noise_scales_the_restart_start(sudoku):
    x = sudoku.task.encode([sudoku.task.parse(PUZZLE, 0)])
    with torch.inference_mode():
        e = sudoku.embed(x)
        s = sudoku.restart_state(x, [0], 1, noise=0.25)
    assert np.isclose(float((s - e).norm() / e.norm()), 0.25, rtol=1e-4)
