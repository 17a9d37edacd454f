"""Training survives: SIGKILL at random points, a full disk mid-checkpoint, a corrupted newest checkpoint."""
import errno
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import safetensors.torch
import torch

import loopzoo
from loopzoo.errors import CheckpointError, LoopzooWarning
from loopzoo.train import checkpoints

from train_helpers import NAME, losses, make


def same_weights(a_dir, b_dir):
    a, b = loopzoo.load(a_dir).state_dict(), loopzoo.load(b_dir).state_dict()
    assert a.keys() == b.keys()
    return all(torch.equal(a[k], b[k]) for k in a)


def cli(run_dir):
    return [sys.executable, "-m", "loopzoo.train", NAME, "--width", "16", "--heads", "2", "--epochs", "8",
            "--batch-size", "16", "--train-size", "64", "--length", "8", "--max-iters", "4", "--eval-samples", "8",
            "--eval-iters", "3", "--checkpoint-every", "1", "--log-every", "1", "--threads", "1", "--quiet",
            "--out", str(run_dir)]


def newest(run_dir) -> int:
    steps = [int(p.name[5:]) for p in (Path(run_dir) / "checkpoints").glob("step-*")]
    return max(steps, default=0)


@pytest.mark.subprocess
def test_sigkill_at_random_points_then_resume_matches_an_uninterrupted_run(tmp_path):
    """Kill three times, each a random 0-60 ms after a new checkpoint appears (mid-step or mid-write)."""
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    subprocess.run(cli(tmp_path / "full"), check=True, env=env, capture_output=True, timeout=300)
    victim, rng, kills = tmp_path / "killed", random.Random(1234), []
    resume = [sys.executable, "-m", "loopzoo.train", "--resume", str(victim), "--threads", "1", "--quiet"]
    for _ in range(3):
        before = newest(victim)
        proc = subprocess.Popen(resume if before else cli(victim), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 120
        while time.time() < deadline and proc.poll() is None and newest(victim) <= before:
            time.sleep(0.01)
        time.sleep(rng.uniform(0, 0.06))
        if proc.poll() is not None:
            break  # it finished first
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        kills.append(newest(victim))
    assert len(kills) == 3 and kills[-1] < 32, kills  # really interrupted three times before the end (32 steps)
    subprocess.run(resume, check=True, env=env, capture_output=True, timeout=300)
    assert losses(victim) == losses(tmp_path / "full")
    assert same_weights(tmp_path / "full", victim)
    assert not list((victim / "checkpoints").glob(".tmp-*"))  # partial copies of killed writes are cleaned up


def test_full_disk_while_checkpointing_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    make(tmp_path / "full", max_steps=12).fit()
    real = safetensors.torch.save_file

    def disk_full(tensors, filename, metadata=None):
        real(tensors, filename, metadata=metadata)
        data = Path(filename).read_bytes()
        Path(filename).write_bytes(data[: len(data) // 2])  # half written, then the disk is full
        raise OSError(errno.ENOSPC, "No space left on device", str(filename))

    trainer = make(tmp_path / "run", max_steps=12)
    original = checkpoints.save

    def save(run_dir, model, optimizer, step, extra, keep=2, **kw):
        if step == 8:
            monkeypatch.setattr(safetensors.torch, "save_file", disk_full)
        try:
            return original(run_dir, model, optimizer, step, extra, keep, **kw)
        finally:
            monkeypatch.setattr(safetensors.torch, "save_file", real)

    monkeypatch.setattr(checkpoints, "save", save)
    with pytest.raises(CheckpointError, match=r"cannot write checkpoint step-00000008 .*No space left.*step-00000004 is intact"):
        trainer.fit()
    left = sorted(p.name for p in (tmp_path / "run" / "checkpoints").iterdir())
    assert left == ["step-00000004"]  # no half-written directory is left behind
    assert loopzoo.load(tmp_path / "run" / "checkpoints" / "step-00000004") is not None
    monkeypatch.setattr(checkpoints, "save", original)  # space freed: resume and finish
    resumed = make(tmp_path / "run", max_steps=12)
    resumed.resume()
    assert resumed.step == 4
    resumed.fit()
    assert same_weights(tmp_path / "full", tmp_path / "run")


@pytest.mark.parametrize("damage", ["weights", "optimizer", "trainer.json"])
def test_corrupted_newest_checkpoint_falls_back_to_the_previous_one(tmp_path, damage):
    make(tmp_path / "full", max_steps=12).fit()
    make(tmp_path / "run", max_steps=12).fit()
    ckpt = tmp_path / "run" / "checkpoints" / "step-00000012"
    target = {"weights": "model.safetensors", "optimizer": "optimizer.safetensors", "trainer.json": "trainer.json"}[damage]
    data = bytearray((ckpt / target).read_bytes())
    data[-20] ^= 0x55  # one byte, in the tensor data (or the JSON) near the end
    (ckpt / target).write_bytes(bytes(data))
    (tmp_path / "run" / "model.safetensors").unlink()  # as if killed before the end
    resumed = make(tmp_path / "run", max_steps=12)
    with pytest.warns(LoopzooWarning, match="step-00000012 is unreadable.*trying an older one"):
        resumed.resume()
    assert resumed.step == 8
    resumed.fit()
    assert same_weights(tmp_path / "full", tmp_path / "run")
