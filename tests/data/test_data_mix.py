"""Sources joined by ``+`` mix the same split of each source (load_split)."""
import pytest
import torch

from loopzoo.data import load_split
from loopzoo.errors import DataError


def test_a_mix_is_each_sources_split_in_order():
    a = load_split("sudoku", "val", n=6)
    b = load_split("sudoku", "val", source="forum-hardest", n=6)
    mixed = load_split("sudoku", "val", source="generated+forum-hardest")
    assert mixed.inputs[:6] == a.inputs and len(mixed) == len(load_split("sudoku", "val")) + len(
        load_split("sudoku", "val", source="forum-hardest"))
    assert mixed.source == "generated+forum-hardest" and mixed.split == "val"
    x, y = mixed[len(load_split("sudoku", "val"))]
    assert torch.equal(x, b[0][0]) and torch.equal(y, b[0][1])
    assert mixed.ratings is not None and len(mixed.ratings) == len(mixed)


def test_a_mix_keeps_each_item_once():
    """Chess's labelled positions take the Lichess puzzles' val split as theirs: mixed, it counts once."""
    lichess = load_split("chess", "val", source="lichess")
    mixed = load_split("chess", "val", source="lichess+lichess")
    assert mixed.inputs == lichess.inputs and torch.equal(mixed.tensors()[0], lichess.x)
    assert mixed.data_hash == lichess.data_hash


def test_a_mix_with_n_takes_an_equal_share_of_each():
    mixed = load_split("sudoku", "val", source="generated+forum-hardest", n=5)
    a = load_split("sudoku", "val", n=3)
    b = load_split("sudoku", "val", source="forum-hardest", n=3)
    assert mixed.inputs == a.inputs + b.inputs[:2]
    assert torch.equal(mixed.tensors()[0], torch.cat([a.x, b.x[:2]]))
    assert mixed.data_hash != a.data_hash


def test_a_mix_of_an_unknown_source_names_the_choices():
    with pytest.raises(DataError, match="unknown sudoku source 'nope'"):
        load_split("sudoku", "val", source="generated+nope")
