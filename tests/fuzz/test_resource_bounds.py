"""Resource bounds: inputs too long for one forward pass are refused up front, big batches are chunked."""
import time
from pathlib import Path

import pytest

import loopzoo
from loopzoo import model as model_module
from loopzoo.errors import ConfigError, InputError

TINY = {"width": 16, "heads": 2}


def test_a_ten_million_bit_prefix_sum_is_refused_before_the_model_runs(monkeypatch):
    model = loopzoo.create("prefix-sums-internal-recall-outernorm", **TINY)
    monkeypatch.setattr(model, "forward", lambda *a, **k: pytest.fail("the model ran"))
    bits = "01" * 5_000_000
    started = time.perf_counter()
    with pytest.raises(InputError, match=r"input 0: 10,000,000 tokens, above the limit of 262,144 tokens.*LOOPZOO_MAX_TOKENS"):
        model.solve(bits)
    assert time.perf_counter() - started < 10  # linear-time checks only (measured about 0.1 s)


def test_batches_are_cut_to_the_token_limit_with_the_same_answers(monkeypatch):
    model = loopzoo.create("sudoku-internal-recall-outernorm", **TINY)
    puzzles = [model.task.example] * 50
    expected = model.solve(puzzles, iters=2)
    seen = []
    encode = model.task.encode
    monkeypatch.setattr(model.task, "encode", lambda parsed: seen.append(len(parsed)) or encode(parsed))
    monkeypatch.setattr(model_module, "MAX_TOKENS", 81 * 7)  # 7 sudokus per forward pass
    assert model.solve(puzzles, iters=2) == expected
    assert seen == [7] * 7 + [1]


def test_large_batches_are_parsed_per_chunk_not_held(monkeypatch):
    """Above KEEP_PARSED inputs, parsed items are not kept: each is parsed to check it, then per chunk."""
    model = loopzoo.create("prefix-sums-internal-recall-outernorm", **TINY)
    monkeypatch.setattr(model_module, "KEEP_PARSED", 10)
    bits = ["0110", "1", "111"] * 10
    calls = []
    parse = model.task.parse
    monkeypatch.setattr(model.task, "parse", lambda item, i: calls.append(i) or parse(item, i))
    answers = model.solve(bits, iters=2, batch_size=4)
    assert len(answers) == 30 and all(len(a) == len(b) for a, b in zip(answers, bits))
    assert sorted(calls) == sorted(list(range(30)) * 2)
    with pytest.raises(InputError, match="prefix-sums input 29: bit strings hold only"):
        model.solve(bits[:29] + ["012"], iters=2)


def test_huge_configs_are_refused_before_allocation():
    with pytest.raises(ConfigError, match="above loopzoo's limit"):
        loopzoo.create("sudoku-internal-recall-outernorm", width=2**20, heads=2)
    with pytest.raises(ConfigError, match="parameters, above loopzoo's limit"):
        loopzoo.create("sudoku-internal-recall-outernorm", width=8192, heads=8, depth=64)
    with pytest.raises(ConfigError, match="not valid JSON"):
        loopzoo.ModelConfig.from_json('{"task": "sudoku", "width": ' + "9" * 5000 + "}")
    with pytest.raises(ConfigError, match="not valid JSON"):
        loopzoo.ModelConfig.from_json("[" * 100_000)


def test_oversized_weights_file_is_refused_unread(tmp_path):
    loopzoo.create("prefix-sums-internal-recall-outernorm", **TINY).save(tmp_path)
    with open(tmp_path / "model.safetensors", "ab") as f:
        f.truncate((tmp_path / "model.safetensors").stat().st_size + (1 << 25))  # sparse: 32 MiB more
    with pytest.raises(loopzoo.CheckpointError, match="refusing to read it"):
        loopzoo.load(tmp_path)


def test_paper_split_refuses_an_infinite_rating(tmp_path):
    """Found by the data fuzzer: read() refused inf/nan ratings but read_paper_split() took them (nan percentile)."""
    from loopzoo.data import sudoku as sudoku_data
    from loopzoo.errors import DataError

    rows = (Path(__file__).resolve().parents[1] / "data" / "fixtures" / "sudoku_extreme.csv").read_text().splitlines()[:3]
    rows[2] = rows[2].rsplit(",", 1)[0] + ",1e400"
    (tmp_path / "s.csv").write_text("\n".join(rows) + "\n")
    with pytest.raises(DataError, match="line 3: rating must be finite, got '1e400'"):
        sudoku_data.read_paper_split(tmp_path / "s.csv")
