"""Two training options beyond the paper: an EMA of the weights (``ema``) and deep supervision (``segments``)."""
import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

import loopzoo
from loopzoo.errors import ConfigError, LoopzooWarning
from loopzoo.train import TrainConfig, checkpoints
from loopzoo.train import trainer as trainer_module

from train_helpers import NAME, losses, make


def weights(model) -> dict[str, torch.Tensor]:
    return {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}


def same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def records(run_dir) -> list[dict]:
    return [json.loads(x) for x in (Path(run_dir) / "metrics.jsonl").read_text().splitlines()]


@pytest.mark.parametrize("option, value", [("ema", 0.0), ("ema", 1.0), ("ema", 1.5), ("ema", -0.1), ("ema", True),
                                           ("ema", "0.9"), ("segments", 0), ("segments", -2), ("segments", 1.5)])
def test_bad_values_are_refused_by_name(option, value):
    with pytest.raises(ConfigError, match=option):
        TrainConfig(**{option: value})


def test_the_options_default_to_the_paper_and_old_train_json_still_loads():
    old = TrainConfig().to_dict()
    del old["ema"], old["segments"]
    config = TrainConfig.from_dict(old)
    assert (config.ema, config.segments) == (None, 1)
    assert TrainConfig.from_dict({**old, "ema": 0.999, "segments": 3}).to_dict() == {**old, "ema": 0.999, "segments": 3}


def test_the_ema_is_the_hand_computed_average_of_the_weights_after_two_steps(tmp_path):
    decay = 0.9
    trainer = make(tmp_path, ema=decay)
    w = [[p.detach().clone() for p in trainer.model.parameters()]]
    for step in range(2):
        trainer.train_step(step)
        w.append([p.detach().clone() for p in trainer.model.parameters()])
    averaged = list(trainer.ema.parameters())
    for a, w0, w1, w2 in zip(averaged, *w):
        torch.testing.assert_close(a, decay**2 * w0 + decay * (1 - decay) * w1 + (1 - decay) * w2)
        assert a.dtype == torch.float32 and not a.requires_grad
    assert not any(torch.equal(a, p) for a, p in zip(averaged, trainer.model.parameters()))
    plain = make(tmp_path / "plain")
    assert trainer.eval_model is trainer.ema and plain.eval_model is plain.model and plain.ema is None


def test_evaluations_the_best_model_and_the_final_model_use_the_ema(tmp_path, monkeypatch):
    trainer = make(tmp_path, ema=0.9, max_steps=4)
    evaluated = []
    original = trainer_module.accuracy_curve

    def spy(model, *args, **kwargs):
        evaluated.append(model)
        return original(model, *args, **kwargs)

    monkeypatch.setattr(trainer_module, "accuracy_curve", spy)
    trainer.fit()
    assert evaluated and all(m is trainer.ema for m in evaluated)
    assert records(tmp_path)[-1]["ema"] == 0.9
    averaged, live = weights(trainer.ema), weights(trainer.model)
    assert not same(averaged, live)
    assert same(weights(loopzoo.load(tmp_path)), averaged)  # the final model.safetensors
    assert same(weights(loopzoo.load(tmp_path / "checkpoints" / "step-00000004")), live)  # resumable: the live weights
    assert trainer._keep_if_best(trainer.evaluate(4))
    assert same(weights(loopzoo.load(tmp_path / "best")), averaged)


def test_a_run_with_ema_resumes_exactly(tmp_path):
    make(tmp_path / "full", ema=0.9, max_steps=12).fit()
    make(tmp_path / "cut", ema=0.9, max_steps=6).fit()
    resumed = make(tmp_path / "cut", ema=0.9, max_steps=12)
    resumed.resume()
    assert resumed.step == 6
    resumed.fit()
    full, cut = losses(tmp_path / "full"), losses(tmp_path / "cut")
    assert [cut[s] for s in range(1, 13)] == [full[s] for s in range(1, 13)]
    assert same(weights(loopzoo.load(tmp_path / "full")), weights(loopzoo.load(tmp_path / "cut")))
    ema = [load_file(d / "checkpoints" / "step-00000012" / "ema.safetensors") for d in (tmp_path / "full", tmp_path / "cut")]
    assert same(*ema)


def test_ema_resumed_from_a_checkpoint_without_one_starts_from_its_weights_with_a_note(tmp_path):
    make(tmp_path, max_steps=4).fit()
    resumed = make(tmp_path, ema=0.9, max_steps=8)
    with pytest.warns(LoopzooWarning, match="no average of the weights"):
        resumed.resume()
    assert same(weights(resumed.ema), weights(resumed.model))
    assert [r["step"] for r in records(tmp_path) if r.get("kind") == "note"] == [4]
    resumed.fit()
    assert not same(weights(resumed.ema), weights(resumed.model))


def test_segments_carry_the_state_through_one_batch(tmp_path):
    trainer = make(tmp_path, segments=2)
    assert trainer.steps_per_epoch == 2 * trainer.batches_per_epoch == 8
    calls = []
    trainer.model.register_forward_hook(
        lambda module, args, out: calls.append((args[0].clone(), args[2], out[1].detach().clone())))
    for step in range(4):
        trainer.train_step(step)
    (x0, start0, end0), (x1, start1, _), (x2, start2, end2), (x3, start3, _) = calls
    assert start0 is None and start2 is None  # a batch's first segment starts from e
    assert torch.equal(start1, end0) and torch.equal(start3, end2)  # the next from the state the last one ended in
    with torch.no_grad():
        assert not torch.allclose(start1, trainer.model.embed(x1), atol=1e-3)
    assert torch.equal(x0, x1) and torch.equal(x2, x3) and not torch.equal(x0, x2)  # one batch per 2 steps
    assert start1.requires_grad is False


@pytest.mark.parametrize("cut", [7, 9])  # in the middle of a batch (the carried state is kept), at its start
def test_a_run_with_segments_and_ema_resumes_exactly(tmp_path, cut):
    make(tmp_path / "full", segments=3, ema=0.9, max_steps=12).fit()
    make(tmp_path / "cut", segments=3, ema=0.9, max_steps=cut).fit()
    kept = sorted(p.name for p in (tmp_path / "cut" / "checkpoints" / f"step-{cut:08d}").iterdir())
    assert ("carry.safetensors" in kept) == (cut % 3 != 0)
    resumed = make(tmp_path / "cut", segments=3, ema=0.9, max_steps=12)
    resumed.resume()
    resumed.fit()
    full, cut_losses = losses(tmp_path / "full"), losses(tmp_path / "cut")
    assert [cut_losses[s] for s in range(1, 13)] == [full[s] for s in range(1, 13)]
    assert same(weights(loopzoo.load(tmp_path / "full")), weights(loopzoo.load(tmp_path / "cut")))
    assert not [r for r in records(tmp_path / "cut") if r.get("kind") == "note"]
    assert [r["segment"] for r in records(tmp_path / "cut") if "loss" in r][:4] == [1, 2, 3, 1]


def test_a_segment_without_its_carried_state_starts_from_e_with_a_note(tmp_path):
    make(tmp_path, max_steps=5).fit()  # one segment per batch: step 5 has no carried state
    resumed = make(tmp_path, segments=2, max_steps=8)
    with pytest.warns(LoopzooWarning, match="no state for segment 2 of 2"):
        resumed.resume()
    assert resumed._carry is None
    resumed.fit()
    assert sorted(losses(tmp_path)) == list(range(1, 9))


def test_the_cli_passes_ema_and_segments_to_the_recipe(tmp_path, monkeypatch, capsys):
    from loopzoo.train.cli import main

    seen = {}

    class Fake:
        def __init__(self, model_config, config, run_dir, **kwargs):
            seen["config"] = config
            self.dist = type("D", (), {"is_main": True})()

        def fit(self):
            return {"steps": 0}

        def close(self):
            pass

    monkeypatch.setattr(trainer_module, "Trainer", Fake)
    assert main([NAME, "--ema", "0.999", "--segments", "3", "--out", str(tmp_path), "--quiet", "--threads", "1"]) == 0
    assert (seen["config"].ema, seen["config"].segments) == (0.999, 3)
    assert main([NAME, "--ema", "1.5", "--out", str(tmp_path), "--threads", "1"]) != 0
    assert "ema must be a decay in (0, 1)" in capsys.readouterr().err


def test_checkpoints_keep_further_tensors_and_check_them(tmp_path):
    trainer = make(tmp_path, segments=2, ema=0.5)
    trainer.train_step(0)
    trainer.step = 1
    trainer.save_checkpoint()
    meta = checkpoints.load_latest(tmp_path, trainer.model, trainer.optimizer)
    assert sorted(meta["tensors"]) == ["carry", "ema"]
    assert torch.equal(meta["tensors"]["carry"]["state"], trainer._carry)
    path = tmp_path / "checkpoints" / "step-00000001" / "carry.safetensors"
    data = bytearray(path.read_bytes())
    data[-3] ^= 0x55
    path.write_bytes(bytes(data))
    with pytest.warns(LoopzooWarning, match="carry.safetensors does not match"):
        with pytest.raises(loopzoo.errors.CheckpointError, match="no readable checkpoint"):
            checkpoints.load_latest(tmp_path, trainer.model, trainer.optimizer)


def test_two_process_ddp_with_segments_and_ema_resumes_exactly_in_the_middle_of_a_batch(tmp_path):
    import subprocess
    import sys

    worker = Path(__file__).with_name("ddp_worker.py")

    def run(out, **options):
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", str(worker),
               str(out), json.dumps({"segments": 2, "ema": 0.9, **options})]
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=240)
        assert result.returncode == 0, result.stderr[-2000:]
        return [(out / f"rank{r}.sha").read_text().split() for r in (0, 1)]

    full = run(tmp_path / "full", max_steps=6)
    run(tmp_path / "cut", max_steps=3)  # step 3: segment 2 of batch 2, each rank's carried state in the checkpoint
    assert load_file(tmp_path / "cut" / "run" / "checkpoints" / "step-00000003" / "carry.safetensors")["state"].shape[0] == 8
    resumed = run(tmp_path / "cut", max_steps=6)
    assert resumed == full and full[0] == full[1] and full[0][1] == "6"
    assert same(weights(loopzoo.load(tmp_path / "full" / "run")), weights(loopzoo.load(tmp_path / "cut" / "run")))
