"""``solve`` is safe to call from several threads on one model: answers match a single thread."""
from concurrent.futures import ThreadPoolExecutor

import numpy as np

import loopzoo

TINY = {"width": 16, "heads": 2}


def test_eight_threads_give_the_single_threaded_answers():
    rng = np.random.default_rng(0)
    sudoku = loopzoo.create("sudoku-internal-recall-outernorm", **TINY)
    prefix = loopzoo.create("prefix-sums-internal-recall-outernorm", **TINY)
    example = sudoku.task.example  # blanking givens of a valid puzzle never makes a clash
    puzzles = ["".join(c if rng.random() < 0.7 else "." for c in example) for _ in range(40)]
    bits = ["".join(map(str, rng.integers(0, 2, int(n)))) for n in rng.integers(1, 70, 40)]  # many lengths
    jobs = []
    for k in range(32):
        jobs.append((sudoku, puzzles[k % 8 :: 3], dict(iters=3, batch_size=1 + k % 5)))
        jobs.append((prefix, bits[k % 8 :: 2], dict(iters=4, batch_size=1 + k % 7)))
        jobs.append((prefix, bits[k % 5 :: 3], dict(iters=6, halt="unchanged:2", return_info=True)))
    expected = [model.solve(inputs, **kw) for model, inputs, kw in jobs]
    with ThreadPoolExecutor(8) as pool:
        got = list(pool.map(lambda job: job[0].solve(job[1], **job[2]), jobs))
    assert got == expected
    assert len({len(b) for b in bits}) > 20  # the rotary/window caches were filled concurrently

