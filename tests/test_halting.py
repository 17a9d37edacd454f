"""Early exit: halting never changes an answer, compaction keeps order and results, and the fast
loop equals the obvious reference implementation on every cell type."""
import copy

import numpy as np
import pytest
import torch

import loopzoo
from loopzoo import InputError, UnknownNameError, halting, reference
from loopzoo.halting import Confidence, Residual, Unchanged
from loopzoo.tasks.base import Verdict
from loopzoo.tasks.prefix_sums import PrefixSums

TINY = {"width": 16, "heads": 2}
BITS = ["0110100111", "1111100000", "0000000001", "1010101010", "0011001100", "1000000000"]


class HaltAtRow(halting.Criterion):
    """Row i (in the original batch) may stop at iteration i + 1: a known schedule."""

    def __init__(self, n):
        self.rows = torch.arange(n)
        self.t = 0

    def __call__(self, prev, s, logits):
        self.t += 1
        return self.rows + 1 <= self.t

    def keep(self, rows):
        self.rows = self.rows[rows]


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return loopzoo.create("prefix-sums-internal-recall-outernorm", **TINY).eval()


def test_known_schedule_gives_the_answer_at_each_samples_halt(model):
    x = model.task.encode([model.task.parse(b, 0) for b in BITS])
    with torch.no_grad():
        for compact in (True, False):
            states, used = model.run_halting(x, 20, HaltAtRow(len(BITS)), compact=compact, check_every=2)
            assert used.tolist() == [1, 2, 3, 4, 5, 6]
            for i in range(len(BITS)):
                _, expected = model(x[i : i + 1], i + 1)
                torch.testing.assert_close(states[i : i + 1], expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("spec", ["unchanged:2", "residual:0.05", "confidence:0.6"])
def test_halting_never_changes_an_answer(model, spec):
    for bits, sol in zip(BITS, model.solve(BITS, iters=30, halt=spec, check_every=3, return_info=True)):
        assert 1 <= sol.iters <= 30
        assert model.solve(bits, iters=sol.iters) == sol.answer


@pytest.mark.parametrize("spec", ["unchanged:2", "residual:0.05"])
def test_compaction_keeps_order_and_results(model, spec):
    a = model.solve(BITS, iters=30, halt=spec, compact=True, check_every=1, return_info=True)
    b = model.solve(BITS, iters=30, halt=spec, compact=False, return_info=True)
    c = model.solve(BITS[::-1], iters=30, halt=spec, compact=True, batch_size=4, return_info=True)
    assert a == b == c[::-1]
    assert model.solve(BITS[2], iters=30, halt=spec, return_info=True) == a[2]


def test_criteria_on_known_tensors():
    s0 = torch.ones(2, 3, 4)
    s1 = s0.clone()
    s1[1] += 1.0
    assert Residual("1e-3")(s0, s1, None).tolist() == [True, False]
    logits = torch.tensor([[[5.0, 0.0], [0.0, 5.0]], [[0.1, 0.0], [0.0, 5.0]]])  # [B=2, L=2, C=2]
    assert Confidence("0.99")(None, None, logits).tolist() == [True, False]
    crit = Unchanged("2")
    results = [crit(None, None, logits).tolist() for _ in range(3)]
    assert results == [[False, False], [False, False], [True, True]]
    crit.keep(torch.tensor([1]))
    assert crit(None, None, logits[1:]).tolist() == [True]


@pytest.mark.parametrize("spec, error", [("nonsense", UnknownNameError), ("residual:abc", InputError),
                                         ("confidence:2", InputError), ("unchanged:-1", InputError), ("", InputError),
                                         (5, InputError)])
def test_bad_halting_specs(model, spec, error):
    with pytest.raises(error):
        model.solve(BITS, iters=3, halt=spec)


def test_halting_registry_lists_the_criteria():
    assert {"residual", "unchanged", "confidence", "valid"} <= set(loopzoo.registry.halting.names())


@pytest.mark.parametrize("name", ["prefix-sums-internal-recall-gru", "sudoku-recall-perinorm", "chess-no-recall-outernorm",
                                  "sudoku-fixed15"])
def test_fast_loop_equals_the_obvious_reference(name):
    m = loopzoo.create(name, width=32, heads=4).eval()
    t = m.task
    x = t.encode([t.parse(t.example, 0)] * 2)
    with torch.no_grad():
        fast = m(x, 4)[0]
    slow = reference.run(m, x, 4)
    assert len(slow) == 4
    torch.testing.assert_close(fast, slow[-1], rtol=1e-4, atol=1e-5)


def test_local_attention_long_input_equals_reference():
    m = loopzoo.create("prefix-sums-recall-prenorm", width=32, heads=4).eval()
    x = m.task.encode([m.task.parse("01" * 300, 0)])
    with torch.no_grad():
        torch.testing.assert_close(m(x, 2)[0], reference.run(m, x, 2)[-1], rtol=1e-4, atol=1e-5)


# --- halt="valid": stop at the first answer that passes the task's check ---------------------


class ExactPrefixSums(PrefixSums):
    """Prefix sums with an exact check, as a user could add: the answer is the running parity."""

    def verify(self, parsed, answer):
        right = "".join(map(str, np.cumsum(parsed) % 2))
        return Verdict(answer == right, "the running parity" if answer == right else "not the running parity")


class OddOnes(PrefixSums):
    """A check that answers pass and fail from one iteration to the next while they change."""

    def verify(self, parsed, answer):
        return Verdict(answer.count("1") % 2 == 1, "an odd number of ones")


def first_valid(task, parsed, predictions):
    """1-based iteration of the first prediction that verifies, or None."""
    return next((t + 1 for t, a in enumerate(predictions) if task.verify(parsed, a).verified), None)


@pytest.fixture(scope="module")
def flagship():
    """The bundled prefix-sums flagship with an exact check: its answers become right after ~length iterations."""
    m = loopzoo.load("prefix-sums-internal-recall-outernorm").eval()
    m.task = ExactPrefixSums()
    return m


@pytest.mark.parametrize("check", [ExactPrefixSums, OddOnes])
@pytest.mark.parametrize("compact, check_every", [(True, 1), (True, 3), (False, 4)])
def test_valid_stops_at_the_first_answer_that_verifies(flagship, check, compact, check_every):
    """Never an answer that fails when one that passes was seen, on a check answers keep passing once
    they pass (the exact one) and on one they pass and fail in turn."""
    rng = np.random.default_rng(1)
    m, cap = copy.copy(flagship), 50
    m.task = check()
    lengths = (12, 24, 24, 36, 36, 120) if check is ExactPrefixSums else (1, 2, 2, 3, 4, 6)  # 120 bits: not by 50
    bits = ["".join(map(str, rng.integers(0, 2, n))) for n in lengths]
    if check is OddOnes:
        bits = [b * 20 for b in bits]  # repeated: answers settle late, so the count of ones flips
    sols = m.solve(bits, iters=cap, halt="valid", compact=compact, check_every=check_every, return_info=True)
    traces = [s.trace for s in m.solve(bits, iters=cap, trace=True, return_info=True)]
    firsts, lost = [], 0
    for i, (answer, n, trace) in enumerate((s.answer, s.iters, t) for s, t in zip(sols, traces)):
        parsed = m.task.parse(bits[i], i)
        first = first_valid(m.task, parsed, trace.predictions)
        firsts.append(first)
        lost += first is not None and not m.task.verify(parsed, trace.predictions[-1]).verified
        if first is None:  # never passed: runs to the cap, like a fixed-iteration run
            assert n == cap and answer == trace.predictions[-1]
        else:  # a passing answer was seen: it is the one returned, at the iteration it was first seen
            assert n == first and answer == trace.predictions[first - 1]
            assert m.task.verify(parsed, answer).verified
    assert None in firsts and any(f is not None and f < cap for f in firsts)  # both cases occur
    assert lost > 0 or check is ExactPrefixSums  # fixed iterations would have returned a failing answer


def test_valid_with_a_fallback_uses_it_only_for_answers_it_cannot_check(flagship, model):
    bits = ["0110100111", "1111100000", "0000000001", "1010101010"]
    def halted(m, spec, cap):
        return m.solve(bits, iters=cap, halt=spec, return_info=True)

    assert halted(model, "valid:unchanged:2", 30) == halted(model, "unchanged:2", 30)
    assert halted(model, "valid", 30) == model.solve(bits, iters=30, return_info=True)  # nothing checks out
    # every answer can be checked here, so the fallback never fires
    assert halted(flagship, "valid:unchanged:1", 40) == halted(flagship, "valid", 40)


def test_valid_needs_the_batch():
    criterion = halting.make("valid")
    with pytest.raises(InputError, match="bind"):
        criterion(None, None, torch.zeros(1, 4, 2))


@pytest.mark.parametrize("spec, error", [("valid:valid", InputError), ("valid:nonsense", UnknownNameError),
                                         ("valid:residual:abc", InputError)])
def test_bad_valid_specs(model, spec, error):
    with pytest.raises(error):
        model.solve(BITS, iters=3, halt=spec)
