"""Prefix-sums data: the paper's splits, reproducible from (split, seed), and the dataset tensors."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from loopzoo import LoopzooError
from loopzoo.data import load_split, prefix_sums


def test_paper_split_sizes_and_lengths():
    for split, (length, n) in {"train": (32, 8000), "val": (32, 2000), "test": (512, 10000)}.items():
        ds = load_split("prefix-sums", split, seed=0)
        assert len(ds) == n
        x, y = ds[0]
        assert x.shape == (length, 1) and y.shape == (length,)
        assert x.dtype == torch.float32 and y.dtype == torch.long
        assert set(x.unique().tolist()) <= {-0.5, 0.5}


def test_answers_are_running_parities():
    ds = load_split("prefix-sums", "val", n=50)
    for i in range(50):
        bits = np.array([int(c) for c in ds.inputs[i]])
        assert ds.answers[i] == "".join(map(str, np.cumsum(bits) % 2))
        assert ds.y[i].tolist() == [int(c) for c in ds.answers[i]]
        assert ((ds.x[i, :, 0] + 0.5).long() == torch.from_numpy(bits)).all()


def test_reproducible_bit_for_bit_and_seed_dependent():
    a = prefix_sums.bits("train", seed=0)
    assert np.array_equal(a, prefix_sums.bits("train", seed=0))
    assert not np.array_equal(a, prefix_sums.bits("train", seed=1))
    assert not np.array_equal(a[:2000], prefix_sums.bits("val", seed=0))
    assert np.array_equal(prefix_sums.bits("train", seed=0, n=10), a[:10])  # n caps, does not reshuffle
    h = load_split("prefix-sums", "train", n=100).data_hash
    assert h == load_split("prefix-sums", "train", n=100).data_hash
    assert h != load_split("prefix-sums", "train", n=100, seed=1).data_hash


def test_length_override_and_errors():
    ds = load_split("prefix-sums", "test", n=3, length=1000)
    assert ds.tensors()[0].shape == (3, 1000, 1)
    with pytest.raises(LoopzooError, match="split"):
        load_split("prefix-sums", "dev")
    with pytest.raises(LoopzooError, match="length"):
        load_split("prefix-sums", "train", length=0)


def test_works_with_a_dataloader():
    loader = torch.utils.data.DataLoader(load_split("prefix-sums", "train", n=64), batch_size=16, shuffle=False)
    x, y = next(iter(loader))
    assert x.shape == (16, 32, 1) and y.shape == (16, 32)


def test_unknown_dataset_names_the_known_ones():
    from loopzoo import UnknownNameError
    from loopzoo.data import list_datasets

    assert list_datasets() == ["chess", "prefix-sums", "sudoku"]
    with pytest.raises(UnknownNameError, match="sudoku"):
        load_split("sudoku2", "train")
