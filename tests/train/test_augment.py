"""Training augmentations: every registered one keeps examples valid; the stream is seeded and resumable."""
import pytest
import torch

from loopzoo.data import load_split
from loopzoo.data import sudoku as sudoku_data
from loopzoo.data import sudoku_solver
from loopzoo.evaluate import collate
from loopzoo.registry import augmentations, tasks

from train_helpers import make


def _batch(task: str, n: int = 16):
    data = load_split(task, "val", n=n)
    return collate(data, range(len(data)))


@pytest.mark.parametrize("task", augmentations.names())
def test_every_augmentation_keeps_shapes_classes_and_is_seeded(task):
    x, y = _batch(task)
    out = [augmentations.get(task)(x, y, torch.Generator().manual_seed(seed)) for seed in (0, 0, 1)]
    (xa, ya), (xb, yb), (xc, yc) = out
    assert xa.shape == x.shape and ya.shape == y.shape and xa.dtype == x.dtype and ya.dtype == y.dtype
    assert int(ya.min()) >= 0 and int(ya.max()) < tasks.get(task)().out_channels
    assert torch.equal(xa, xb) and torch.equal(ya, yb), "same seed, same draw"
    assert not torch.equal(xa, xc), "another seed, another draw"
    assert torch.equal(x.sum(dim=(1, 2)), xa.sum(dim=(1, 2))), "as many set input channels as before"


def _strings(x: torch.Tensor, y: torch.Tensor) -> tuple[str, str]:
    cells = x.argmax(dim=-1).tolist()  # [81], 0 = blank
    return "".join(str(c) if c else "." for c in cells), "".join(str(d + 1) for d in y.tolist())


def test_sudoku_augmentation_gives_valid_puzzles_with_their_unique_solution():
    x, y = _batch("sudoku", 12)
    for seed in range(3):
        xa, ya = augmentations.get("sudoku")(x, y, torch.Generator().manual_seed(seed))
        for i in range(len(x)):
            question, answer = _strings(xa[i], ya[i])
            assert sudoku_data.check_row(question, answer) is None
            grid = [0 if ch == "." else int(ch) for ch in question]
            _, _, unique = sudoku_solver.rate(grid)
            assert "".join(map(str, unique)) == answer, "the augmented puzzle's unique solution is the augmented answer"
            assert question.count(".") == _strings(x[i], y[i])[0].count("."), "the same number of givens"


def test_sudoku_augmentation_draws_every_symmetry():
    x, y = _batch("sudoku", 1)
    x, y = x.expand(400, -1, -1), y.expand(400, -1)
    xa, ya = augmentations.get("sudoku")(x, y, torch.Generator().manual_seed(0))
    first_digits = {int(v) for v in ya[:, 0]}
    assert first_digits == set(range(9)), "digit relabelling reaches every digit"
    patterns = {tuple((xa[i].argmax(-1) > 0).tolist()) for i in range(400)}
    assert len(patterns) > 50, "the givens' pattern moves (row, column, band, stack permutations, transpose)"


def test_tasks_without_symmetries_train_on_their_data_as_is(tmp_path):
    trainer = make(tmp_path)  # prefix sums: no augmentation registered
    assert "prefix-sums" not in augmentations.names() and trainer.augment is None


def test_the_augmented_stream_is_the_same_after_a_resume(tmp_path):
    import loopzoo
    from loopzoo.train import TrainConfig
    from loopzoo.train.trainer import Trainer

    def sudoku_trainer(run_dir):
        config = TrainConfig(epochs=2, batch_size=8, train_size=32, eval_samples=8, eval_iters=2, max_iters=2,
                             precision="fp32")
        return Trainer(loopzoo.config_for("sudoku-internal-recall-outernorm", width=16, heads=2), config, run_dir,
                       progress=False)

    a, b = sudoku_trainer(tmp_path / "a"), sudoku_trainer(tmp_path / "b")
    assert a.augment is not None
    for step in (0, 3, 5):
        xa, ya = a.batch_for(step)
        xb, yb = b.batch_for(step)
        assert torch.equal(xa, xb) and torch.equal(ya, yb)
    plain = Trainer(a.model_config, a.config.__class__(**{**a.config.to_dict(), "augment": False}), tmp_path / "c",
                    progress=False)
    assert not torch.equal(plain.batch_for(0)[1], a.batch_for(0)[1])
