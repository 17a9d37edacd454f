"""solve(..., breadth=K): K trajectories per input in one batch, stopped at the first verified answer,
else the answer chosen by agreement (ties: confidence); seeds, compute, bad values, the CLI flag."""
import copy
from collections import Counter

import numpy as np
import pytest
import torch

import loopzoo
from loopzoo import InputError, breadth, halting
from loopzoo.cli import main
from loopzoo.model import Solution
from loopzoo.tasks.base import FAILED, UNKNOWN, VERIFIED, Verdict
from loopzoo.tasks.prefix_sums import PrefixSums

TINY = {"width": 16, "heads": 2}
PUZZLE = "..3.2.6..9..3.5..1..18.64....81.29..7.......8..67.82....26.95..8..2.3..9..5.1.3.."
BITS = ["0110100111", "1111100000", "0000000001", "1010101010", "0011001100", "1000000000"]


class ExactPrefixSums(PrefixSums):
    """Prefix sums with an exact check: the answer is the running parity."""

    def verify(self, parsed, answer):
        ok = answer == "".join(map(str, np.cumsum(parsed) % 2))
        return Verdict(ok, "the running parity" if ok else "not the running parity")


class Accepts(PrefixSums):
    """A check that passes exactly one given answer per input (and fails every other one)."""

    def __init__(self, targets):
        self.targets = targets  # bits -> the one answer that passes

    def verify(self, parsed, answer):
        ok = answer == self.targets["".join(map(str, parsed))]
        return Verdict(ok, "the chosen one" if ok else "not the chosen one")


def trajectories(model, inputs, k, iters, seed=0, noise=1.0):
    """Each trajectory run alone, to its fixed end: ``(answers [n][k], confidence [n][k])``."""
    task = model.task
    out, conf = [], []
    with torch.inference_mode():
        for i, item in enumerate(inputs):
            x = task.encode([task.parse(item, i)])  # [1, L, C]
            s0 = breadth.starts(model, x, [i], k, seed, noise)  # [K, L, D]
            logits = model(x.expand(k, -1, -1), iters, s0)[0]  # [K, L, C]
            out.append(task.decode(logits, [task.parse(item, i)] * k))
            conf.append(task.confidence(logits).tolist())
    return out, conf


def test_breadth_one_is_todays_solve(prefix, sudoku):
    for model, inputs in ((prefix, BITS), (sudoku, [PUZZLE, PUZZLE.replace(".", "0")])):
        for kwargs in ({}, {"halt": "residual:1e-2", "return_info": True}, {"return_info": True},
                       {"halt": "valid", "restarts": 2, "return_info": True}):
            assert model.solve(inputs, iters=5, breadth=1, **kwargs) == model.solve(inputs, iters=5, **kwargs)
        assert model.solve(inputs[0], iters=5, breadth=1) == model.solve(inputs[0], iters=5)


def test_without_a_check_the_most_common_answer_wins(prefix):
    """Prefix sums cannot verify: every trajectory runs to the cap, the answer is the vote's."""
    k, iters = 5, 6
    sols = prefix.solve(BITS, iters=iters, breadth=k, seed=2, return_info=True)
    answers, conf = trajectories(prefix, BITS, k, iters, seed=2)
    assert [a[0] for a in answers] == prefix.solve(BITS, iters=iters)  # trajectory 0 is today's run
    for sol, runs, c in zip(sols, answers, conf):
        votes = Counter(runs)
        best = max(votes.values())
        tied = [j for j, a in enumerate(runs) if votes[a] == best]
        assert sol.answer == runs[max(tied, key=lambda j: c[j])]
        assert (sol.verified, sol.trajectories, sol.iters, sol.total_iters, sol.runs) == (None, k, iters, k * iters, 1)
    assert any(len(set(runs)) > 1 for runs in answers), "all trajectories agree: the vote is not tested"


def test_choose_prefers_verified_then_agreement_then_confidence():
    ok, bad, unknown = Verdict(True), Verdict(False), Verdict(None)
    assert breadth.choose(["a", "b", "b"], [bad, ok, bad], [0.9, 0.1, 0.1]) == 1
    assert breadth.choose(["a", "b", "b"], [bad, bad, bad], [0.9, 0.1, 0.2]) == 2  # vote, then confidence
    assert breadth.choose(["a", "b", "b"], [unknown, bad, bad], [0.1, 0.9, 0.9]) == 0  # not known to fail
    assert breadth.choose(["a", "b", "c"], [unknown] * 3, [0.2, 0.7, 0.5]) == 1  # a three-way tie


def test_a_verified_answer_is_returned_even_against_the_vote(prefix):
    """Only one trajectory's answer passes, a minority one: it is returned, verified."""
    k, iters = 6, 4
    answers, _ = trajectories(prefix, BITS, k, iters)
    targets, against = {}, 0
    for bits, runs in zip(BITS, answers):
        votes = Counter(runs)
        minority = min(runs, key=lambda a: (votes[a], runs.index(a)))
        targets[bits] = minority
        against += votes[minority] < max(votes.values())
    assert against, "the passing answer is never a minority: the test checks too little"
    m = copy.copy(prefix)
    m.task = Accepts(targets)
    for compact, check_every in ((True, 1), (False, 3)):
        sols = m.solve(BITS, iters=iters, breadth=k, compact=compact, check_every=check_every, return_info=True)
        for bits, sol in zip(BITS, sols):
            assert sol.answer == targets[bits] and sol.verified is True
            assert 1 <= sol.iters <= iters and sol.total_iters == k * sol.iters  # all stop at the first pass


def test_every_trajectory_stops_at_the_first_verified_answer():
    """On the prefix-sums flagship with an exact check, an input stops at its trajectories' earliest
    first pass (each trajectory halted alone by halt="valid")."""
    m = loopzoo.load("prefix-sums-internal-recall-outernorm").eval()
    m.task = ExactPrefixSums()
    rng = np.random.default_rng(0)
    bits = ["".join(map(str, rng.integers(0, 2, n))) for n in (16, 24, 24, 40, 60)]
    k, cap = 4, 40
    sols = m.solve(bits, iters=cap, breadth=k, halt="valid", seed=5, return_info=True)
    with torch.inference_mode():
        for i, (b, sol) in enumerate(zip(bits, sols)):
            p = m.task.parse(b, i)
            x = m.task.encode([p] * k)  # [K, L, C]
            crit = halting.make("valid")
            crit.bind(m.task, [p] * k)
            states, steps = m.run_halting(x, cap, crit, state=breadth.starts(m, x[:1], [i], k, 5, 1.0), check_every=1)
            passed = [m.task.verify(p, a).verified for a in m.task.decode(m.readout(states), [p] * k)]
            firsts = [int(n) for n, ok in zip(steps, passed) if ok]
            if firsts:
                assert sol.verified and sol.iters == min(firsts) and sol.total_iters == k * min(firsts)
            else:
                assert not sol.verified and sol.total_iters == k * cap
    assert any(s.verified for s in sols) and any(s.iters < cap for s in sols)


def test_grouped_criterion_ignores_answers_of_rows_already_held():
    """Row 0 stops on its own criterion at call 1; its later passing answer is not returned, so it
    does not stop input 0; row 3's pass stops both rows of input 1."""

    class Script:
        def __init__(self):
            self.calls = [[FAILED, FAILED, FAILED, FAILED], [VERIFIED, FAILED, FAILED, VERIFIED]]

        def verify_logits(self, logits, parsed):
            return torch.tensor(self.calls.pop(0), dtype=torch.int8)

    class StopsRowZeroOnce(halting.Criterion):
        def __init__(self):
            self.t = 0

        def __call__(self, prev, s, logits):
            self.t += 1
            return torch.tensor([self.t == 1, False, False, False])

    crit = halting.Grouped(StopsRowZeroOnce(), 2)
    crit.bind(Script(), [None] * 4)
    logits = torch.zeros(4, 1, 2)
    assert crit(None, None, logits).tolist() == [True, False, False, False]
    assert crit(None, None, logits).tolist()[1:] == [False, True, True]  # row 0 is held: its value is unused
    crit.keep(torch.tensor([1, 2]))
    assert crit.group.tolist() == [0, 1] and crit.stopped.tolist() == [False, True]


def test_reproducible_with_a_seed_and_independent_of_batching(prefix, sudoku):
    a = prefix.solve(BITS, iters=4, breadth=4, seed=3, return_info=True)
    assert prefix.solve(BITS, iters=4, breadth=4, seed=3, return_info=True) == a
    assert prefix.solve(BITS, iters=4, breadth=4, seed=3, return_info=True, batch_size=2) == a
    b = sudoku.solve([PUZZLE] * 3, iters=3, breadth=3, seed=1, halt="valid", return_info=True)
    assert sudoku.solve([PUZZLE] * 3, iters=3, breadth=3, seed=1, halt="valid", return_info=True, batch_size=1) == b
    answers_seed, _ = trajectories(prefix, BITS, 4, 4, seed=3)
    answers_other, _ = trajectories(prefix, BITS, 4, 4, seed=4)
    assert answers_seed != answers_other  # another seed, other trajectories


def test_return_shapes_and_compute(sudoku):
    sols = sudoku.solve([PUZZLE] * 2, iters=3, breadth=4, return_info=True)
    assert all(isinstance(s, Solution) and not s.verified for s in sols)  # a random model never verifies
    assert all((s.iters, s.total_iters, s.runs, s.trajectories) == (3, 12, 1, 4) for s in sols)
    halted = sudoku.solve([PUZZLE] * 2, iters=3, breadth=4, halt="valid", return_info=True)
    assert halted == sols and [s.total_iters for s in halted] == [12, 12]
    answers = [s.answer for s in sols]
    assert sudoku.solve([PUZZLE] * 2, iters=3, breadth=4) == answers
    assert sudoku.solve(PUZZLE, iters=3, breadth=4) == answers[0]
    assert sudoku.solve(PUZZLE, iters=3, breadth=4, return_info=True) == sols[0]
    assert sudoku.solve(PUZZLE, iters=3, return_info=True).trajectories == 1


def test_the_flagships_solve_with_breadth():
    """Real solves: the sudoku flagship's answer passes and costs K x its iterations; chess returns moves."""
    m = loopzoo.load("sudoku-internal-recall-outernorm").eval()
    sol = m.solve(PUZZLE, iters=100, breadth=4, halt="valid", return_info=True)
    assert sol.verified and sol.total_iters == 4 * sol.iters and sol.trajectories == 4
    torch.manual_seed(0)
    chess = loopzoo.create("chess-internal-recall-outernorm", **TINY).eval()
    fens = ["rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR w KQkq - 0 1", "6k1/5ppp/8/8/8/8/5PPP/R5K1 w - - 0 1"]
    sols = chess.solve(fens, iters=3, breadth=3, return_info=True)
    assert sols[0].verified is None and sols[1].verified in (True, False)
    assert all(hasattr(s.answer, "uci") and s.trajectories == 3 for s in sols)


@pytest.mark.parametrize("kwargs, name", [
    ({"breadth": 0}, "breadth"), ({"breadth": -2}, "breadth"), ({"breadth": 1.5}, "breadth"),
    ({"breadth": True}, "breadth"), ({"breadth": "4"}, "breadth"), ({"breadth": 10**6}, "breadth"),
    ({"noise": 0}, "noise"), ({"noise": -1.0}, "noise"), ({"noise": float("nan")}, "noise"),
    ({"noise": float("inf")}, "noise"), ({"noise": "x"}, "noise"), ({"noise": True}, "noise"),
    ({"breadth": 2, "restarts": 1}, "restarts"), ({"breadth": 2, "trace": True, "return_info": True}, "breadth"),
])
def test_bad_values_name_themselves(sudoku, kwargs, name):
    with pytest.raises(InputError, match=name):
        sudoku.solve(PUZZLE, iters=2, **kwargs)


def test_breadth_counts_against_the_token_limit(sudoku, monkeypatch):
    monkeypatch.setattr(loopzoo.model, "MAX_TOKENS", 81 * 3)
    assert len(sudoku.solve(PUZZLE, iters=2, breadth=3)) == 81
    with pytest.raises(InputError, match="breadth 4"):
        sudoku.solve(PUZZLE, iters=2, breadth=4)


def test_cli_breadth_flag(capsys):
    tiny = ("--random-init", "--width", "16", "--heads", "2", "--iters", "2")
    code = main(["solve", "sudoku-recall-prenorm", PUZZLE, PUZZLE, *tiny, "--breadth", "3", "--seed", "1"])
    out = capsys.readouterr().out.splitlines()
    assert code == 0 and len(out) == 2
    assert all(line.split("  ")[-1] == "[6 iterations, 3 trajectories]" for line in out)
    for bad in ("0", "5000"):
        code = main(["solve", "sudoku-recall-prenorm", PUZZLE, *tiny, "--breadth", bad])
        err = capsys.readouterr().err
        assert code == 2 and "breadth" in err and "Traceback" not in err
    code = main(["solve", "sudoku-recall-prenorm", PUZZLE, *tiny, "--breadth", "2", "--noise", "0"])
    err = capsys.readouterr().err
    assert code == 2 and "noise" in err


def test_grid_cells_from_first_passes():
    """The bench's derivation on known first-pass iterations (0 = never passes)."""
    from loopzoo.analysis.breadth import breadth_point, restarts_point

    first = np.array([[0, 30, 10], [5, 0, 0], [0, 0, 0]])  # [n=3, K=3]
    right = first > 0
    p = breadth_point(first, right, depth=20, k=3)  # input 0 at 10 (x3), input 1 at 5 (x3), input 2 never (3 x 20)
    assert (p.accuracy, p.evaluations) == (2 / 3, (30 + 15 + 60) / 3)
    q = restarts_point(first, right, depth=20, k=3)  # input 0: 20 + 20 + 10; input 1: 5; input 2: 60
    assert (q.accuracy, q.evaluations) == (2 / 3, (50 + 5 + 60) / 3)
    assert breadth_point(first, right, depth=40, k=2).accuracy == 2 / 3  # trajectory 1 passes at 30 <= 40
    wrong = right.copy()
    wrong[1, 0] = False  # a verified answer that is not the data's counts as wrong
    assert breadth_point(first, wrong, depth=20, k=1).accuracy == 0


def test_halt_stops_single_trajectories(prefix):
    """Where nothing can be checked, "valid:SPEC" is SPEC, per trajectory; the cost sums the trajectories."""
    a = prefix.solve(BITS, iters=30, breadth=3, halt="valid:unchanged:2", return_info=True)
    assert a == prefix.solve(BITS, iters=30, breadth=3, halt="unchanged:2", return_info=True)
    assert all(s.total_iters < 3 * 30 for s in a)  # trajectories stopped early on their own
