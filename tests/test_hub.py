"""Hub and bundled checkpoints, offline: resolution order, a hand-built Hugging Face cache,
publishing through an autospec'd HfApi, model cards, and the bundled zoo's card numbers."""
import hashlib
import json
import os
from pathlib import Path
from unittest import mock

import pytest
import torch

import loopzoo
from loopzoo import CheckpointError, card, hub

TINY = {"width": 16, "heads": 2}


def fake_cache(root: Path, repo_id: str, files: dict[str, bytes], commit: str = "a" * 40) -> Path:
    """The Hugging Face cache layout: refs/main -> commit, blobs by sha256, snapshot links."""
    repo = root / f"models--{repo_id.replace('/', '--')}"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)
    (repo / "blobs").mkdir()
    snap = repo / "snapshots" / commit
    snap.mkdir(parents=True)
    for name, data in files.items():
        digest = hashlib.sha256(data).hexdigest()
        (repo / "blobs" / digest).write_bytes(data)
        os.symlink(os.path.relpath(repo / "blobs" / digest, snap), snap / name)
    return root


@pytest.fixture
def saved(tmp_path):
    model = loopzoo.create("sudoku-recall-outernorm", **TINY).eval()
    model.save(tmp_path / "ckpt")
    return model, tmp_path / "ckpt"


def test_load_from_a_hand_built_cache_offline(saved, tmp_path, monkeypatch):
    model, directory = saved
    files = {f: (directory / f).read_bytes() for f in ("config.json", "model.safetensors")}
    cache = fake_cache(tmp_path / "cache", "someorg/sudoku-tiny", files)
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", True)
    loaded = loopzoo.load("someorg/sudoku-tiny", cache_dir=cache)
    for (k, a), (_, b) in zip(model.state_dict().items(), loaded.state_dict().items()):
        assert torch.equal(a, b), k
    monkeypatch.setenv("LOOPZOO_HUB_ORG", "someorg")
    assert loopzoo.load("sudoku-tiny", cache_dir=cache).config == model.config
    with pytest.raises(CheckpointError, match="not in the local Hugging Face cache and HF_HUB_OFFLINE"):
        loopzoo.load("someorg/missing", cache_dir=cache)


def test_cached_checkpoint_with_a_wrong_hash_is_refused(saved, tmp_path, monkeypatch):
    _, directory = saved
    config = json.loads((directory / "config.json").read_text())
    config["weights_sha256"] = "0" * 64
    files = {"config.json": json.dumps(config).encode(), "model.safetensors": (directory / "model.safetensors").read_bytes()}
    cache = fake_cache(tmp_path / "cache", "someorg/tampered", files)
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", True)
    with pytest.raises(CheckpointError, match="sha256"):
        loopzoo.load("someorg/tampered", cache_dir=cache)


def test_explicit_directory_wins_and_unknown_names_explain(saved, tmp_path, monkeypatch):
    _, directory = saved
    assert hub.resolve(directory) == directory
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", True)
    monkeypatch.setattr(hub, "ZOO_DIR", tmp_path / "empty-zoo")
    with pytest.raises(CheckpointError, match="no trained weights for 'chess-recall-gru'.*loopzoo train chess-recall-gru"):
        loopzoo.load("chess-recall-gru", cache_dir=tmp_path / "cache")


def test_publish_dry_run_and_with_a_mocked_api(saved, tmp_path):
    from huggingface_hub import HfApi

    _, directory = saved
    with pytest.raises(CheckpointError, match="README.md"):
        hub.publish(directory, "me/model", dry_run=True)
    (directory / "README.md").write_text("---\nlibrary_name: loopzoo\n---\n# card\n")
    assert hub.publish(directory, "me/model", dry_run=True) == ["config.json", "model.safetensors", "README.md"]
    api = mock.create_autospec(HfApi, instance=True)
    hub.publish(directory, "me/model", api=api, private=True)
    api.create_repo.assert_called_once_with("me/model", private=True, exist_ok=True)
    kwargs = api.upload_folder.call_args.kwargs
    assert kwargs["repo_id"] == "me/model" and Path(kwargs["folder_path"]) == directory
    assert kwargs["allow_patterns"] == ["config.json", "model.safetensors", "README.md"]
    with pytest.raises(loopzoo.LoopzooError, match="ORG/NAME"):
        hub.publish(directory, "no-org", api=api)


def test_publish_refuses_a_corrupted_checkpoint(saved):
    _, directory = saved
    (directory / "README.md").write_text("card")
    data = bytearray((directory / "model.safetensors").read_bytes())
    data[-1] ^= 0xFF
    (directory / "model.safetensors").write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="sha256"):
        hub.publish(directory, "me/model", dry_run=True)


def test_publish_cli_dry_run(saved, capsys):
    from loopzoo.cli import main

    _, directory = saved
    (directory / "README.md").write_text("card")
    assert main(["publish", str(directory), "--repo", "me/model", "--dry-run"]) == 0
    assert "model.safetensors" in capsys.readouterr().out


def test_round_trip_save_publish_cache_load(saved, tmp_path, monkeypatch):
    """save -> publish (mocked upload captures the files) -> cache -> load equals the original."""
    from huggingface_hub import HfApi

    model, directory = saved
    (directory / "README.md").write_text("card")
    uploaded = {}
    api = mock.create_autospec(HfApi, instance=True)
    api.upload_folder.side_effect = lambda **kw: uploaded.update(
        {f: (Path(kw["folder_path"]) / f).read_bytes() for f in kw["allow_patterns"]})
    hub.publish(directory, "me/round-trip", api=api)
    cache = fake_cache(tmp_path / "cache", "me/round-trip", uploaded)
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", True)
    loaded = loopzoo.load("me/round-trip", cache_dir=cache)
    x = model.task.encode([model.task.parse(model.task.example, 0)])
    with torch.no_grad():
        assert torch.equal(model(x, 3)[0], loaded(x, 3)[0])


BUNDLED = sorted(hub.bundled())


def test_bundled_zoo_is_small():
    total = sum(f.stat().st_size for f in hub.ZOO_DIR.rglob("*") if f.is_file()) if hub.ZOO_DIR.exists() else 0
    assert total < 30 * 2**20


@pytest.mark.parametrize("name", BUNDLED)
def test_bundled_checkpoint_loads_and_reproduces_its_card(name):
    """Every number in the card comes from config.json; re-measure one point on a small sample."""
    from loopzoo.data import load_split
    from loopzoo.evaluate import accuracy_curve

    model = loopzoo.load(name)
    meta = json.loads((hub.bundled()[name] / "config.json").read_text())
    text = (hub.bundled()[name] / "README.md").read_text()
    assert text.startswith("---\nlibrary_name: loopzoo") and "model-index:" in text
    assert card.render(hub.bundled()[name]) == text
    val = meta["eval"]["val"]
    n = min(100, val["samples"])
    iters = 30 if "30" in val["at"] else int(next(iter(val["at"])))
    curve = accuracy_curve(model, load_split(model.config.task, "val", n=n), iters)
    # the card's figure is over val["samples"] items; a sub-sample of n agrees within sampling error
    tolerance = 3 * (max(val["at"][str(iters)] * (1 - val["at"][str(iters)]), 0.01) / n) ** 0.5
    assert abs(curve.at(iters) - val["at"][str(iters)]) <= tolerance + 1e-9


def test_card_describes_timed_runs_and_augmentation():
    timed = {"train": {"warmup_epochs": 1.0, "decay_factor": 0.1, "decay_epoch": None, "augment": True}}
    assert card.schedule({**timed, "decay_from": 5000}) == "timed run: warmup 1.0 epoch(s), then constant; x0.1 from step 5,000 on"
    assert card.schedule(timed).endswith("no decay yet")
    assert card.schedule({**timed, "decay_from": 5000, "decays": [5000, 9000]}).endswith(
        "x0.1 from step 5,000 on, x0.01 from step 9,000 on")
    paper = {"train": {"epochs": 100, "warmup_epochs": 10.0, "decay_factor": 0.1, "decay_epoch": 60}}
    assert card.schedule(paper) == "100 epochs, warmup 10.0 epochs, x0.1 at epoch 60"
    assert card.schedule({**timed, "train": {**timed["train"], "warmup_steps": 300}}).startswith(
        "timed run: warmup 1.0 epoch(s) and 300 steps, then constant")
    assert card.augmentation("sudoku", timed["train"]).startswith("random validity-preserving symmetries")
    assert card.augmentation("sudoku", {"augment": False}) == "no augmentation"
    assert card.augmentation("prefix-sums", timed["train"]) == "no augmentation", "no symmetries registered"
