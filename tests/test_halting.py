"""Early exit: halting never changes an answer, compaction keeps order and results, and the fast
loop equals the obvious reference implementation on every cell type."""
import pytest
import torch

import loopzoo
from loopzoo import InputError, UnknownNameError, halting, reference
from loopzoo.halting import Confidence, Residual, Unchanged

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
    answers, used = model.solve(BITS, iters=30, halt=spec, check_every=3)
    for bits, answer, n in zip(BITS, answers, used):
        assert 1 <= n <= 30
        assert model.solve(bits, iters=n) == answer


@pytest.mark.parametrize("spec", ["unchanged:2", "residual:0.05"])
def test_compaction_keeps_order_and_results(model, spec):
    a = model.solve(BITS, iters=30, halt=spec, compact=True, check_every=1)
    b = model.solve(BITS, iters=30, halt=spec, compact=False)
    c = model.solve(BITS[::-1], iters=30, halt=spec, compact=True, batch_size=4)
    assert a == b
    assert a[0] == c[0][::-1] and a[1] == c[1][::-1]
    one = model.solve(BITS[2], iters=30, halt=spec)
    assert one == (a[0][2], a[1][2])


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
    assert {"residual", "unchanged", "confidence"} <= set(loopzoo.registry.halting.names())


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
