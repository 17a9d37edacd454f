"""Strict, pickle-free checkpoint loading."""
import json

import pytest
import torch
from safetensors.torch import load_file, save_file

import loopzoo
from loopzoo import CheckpointError

TINY = {"width": 16, "heads": 2}


@pytest.fixture
def saved(tmp_path):
    model = loopzoo.create("prefix-sums-internal-recall-outernorm", **TINY)
    model.save(tmp_path)
    return tmp_path


def rewrite_weights(directory, change):
    tensors = load_file(directory / "model.safetensors")
    change(tensors)
    save_file(tensors, directory / "model.safetensors")
    config = json.loads((directory / "config.json").read_text())
    config.pop("weights_sha256")  # so the structural check, not the hash, is what fails
    (directory / "config.json").write_text(json.dumps(config))


def test_config_json_records_version_and_hash(saved):
    config = json.loads((saved / "config.json").read_text())
    assert config["model"]["width"] == 16 and config["loopzoo_version"] == loopzoo.__version__
    assert len(config["weights_sha256"]) == 64


def test_renamed_weight_is_rejected(saved):
    rewrite_weights(saved, lambda t: t.__setitem__("embed.weight_renamed", t.pop("embed.weight")))
    with pytest.raises(CheckpointError, match="missing \\['embed.weight'\\]"):
        loopzoo.load(saved)


def test_reshaped_weight_is_rejected(saved):
    rewrite_weights(saved, lambda t: t.__setitem__("embed.bias", torch.zeros(17)))
    with pytest.raises(CheckpointError, match="embed.bias has shape \\(17,\\)"):
        loopzoo.load(saved)


def test_wrong_hash_is_rejected(saved):
    data = bytearray((saved / "model.safetensors").read_bytes())
    data[-1] ^= 1
    (saved / "model.safetensors").write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="sha256"):
        loopzoo.load(saved)


def test_truncated_file_is_rejected(saved):
    data = (saved / "model.safetensors").read_bytes()
    (saved / "model.safetensors").write_bytes(data[: len(data) // 2])
    config = json.loads((saved / "config.json").read_text())
    config.pop("weights_sha256")
    (saved / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="not a valid safetensors"):
        loopzoo.load(saved)


def test_pickle_files_are_refused_by_name(tmp_path, saved):
    (saved / "model.safetensors").rename(saved / "pytorch_model.bin")
    with pytest.raises(CheckpointError, match="never unpickles"):
        loopzoo.load(saved)


def test_missing_or_bad_config(tmp_path):
    with pytest.raises(CheckpointError, match="no config.json"):
        loopzoo.load(tmp_path)
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="cannot read"):
        loopzoo.load(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps({"model": {"task": "sudoku", "width": "wide"}}))
    with pytest.raises(CheckpointError, match="width"):
        loopzoo.load(tmp_path)


def test_load_of_a_name_without_weights_says_what_to_do():
    with pytest.raises(CheckpointError, match="loopzoo train sudoku-recall-prenorm"):
        loopzoo.load("sudoku-recall-prenorm")
    with pytest.raises(CheckpointError, match="neither an existing directory nor a valid Hub repository id"):
        loopzoo.load("no/such/place")
    with pytest.raises(loopzoo.UnknownNameError, match="sudoku-internal-recall-outernorm"):
        loopzoo.load("sudoku-internl-recall-outernorm")
