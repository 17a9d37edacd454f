"""The trainer: recipe values, loss goes down, exact resume, DDP, divergence (SIGKILL: test_survival.py)."""
import json
import math
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import loopzoo
from loopzoo.errors import ConfigError
from loopzoo.train import TrainConfig, checkpoints, lr_factor, paper_recipe
from loopzoo.train.trainer import TrainingDiverged, TrainingStopped, param_groups, progressive_iters

TINY_MODEL = dict(width=16, heads=2)

from train_helpers import losses, make


def test_schedule_follows_the_paper():
    c = paper_recipe("sudoku")
    assert (c.epochs, c.batch_size, c.warmup_epochs, c.decay_epoch, c.clip, c.weight_decay) == (100, 500, 10, 60, 1.0, 0.01)
    assert math.isclose(lr_factor(0, c), 1 - math.exp(-0.1))
    assert math.isclose(lr_factor(9, c), 1 - math.exp(-1.0))
    assert math.isclose(lr_factor(59, c), 1 - math.exp(-6.0))
    assert math.isclose(lr_factor(60, c), 0.1 * (1 - math.exp(-6.1)))
    assert math.isclose(lr_factor(99, c), 0.1 * (1 - math.exp(-10.0)))


def test_progressive_iters_cover_the_paper_ranges():
    draws = [progressive_iters(0, s, 30) for s in range(3000)]
    assert {n for n, _ in draws} == set(range(30))
    assert all(1 <= k <= 30 - n for n, k in draws)
    assert {k for n, k in draws if n == 0} >= {1, 30}
    assert progressive_iters(0, 5, 30) == progressive_iters(0, 5, 30)


def test_no_weight_decay_on_biases_and_norm_gains():
    model = loopzoo.create("sudoku-internal-recall-gru", **TINY_MODEL)
    decay, rest = param_groups(model, 0.01)
    names = {id(p): n for n, p in model.named_parameters()}
    assert decay["weight_decay"] == 0.01 and rest["weight_decay"] == 0.0
    assert all("weight" in names[id(p)] and p.ndim == 2 for p in decay["params"])
    no_decay = {names[id(p)] for p in rest["params"]}
    assert "blocks.0.norm.n1.weight" in no_decay and "blocks.0.attn.qkv.bias" in no_decay
    assert "blocks.0.attn.q_norm.weight" in no_decay and "readout.norm.weight" in no_decay
    assert len(decay["params"]) + len(rest["params"]) == len(list(model.parameters()))


def test_tiny_run_lowers_the_loss_and_writes_a_loadable_model(tmp_path):
    trainer = make(tmp_path, epochs=50, lr=1e-2, checkpoint_every=100)
    summary = trainer.fit()
    by_step = losses(tmp_path)
    first, last = [by_step[s] for s in range(1, 21)], [by_step[s] for s in range(181, 201)]
    assert sum(last) / 20 < 0.9 * sum(first) / 20  # measured: 0.694 -> 0.568
    assert summary["steps"] == 200
    model = loopzoo.load(tmp_path)
    assert json.loads((tmp_path / "config.json").read_text())["train"]["epochs"] == 50
    saved, trained = model.state_dict(), trainer.model.state_dict()
    assert saved.keys() == trained.keys() and all(torch.equal(saved[k], trained[k].cpu()) for k in saved)
    answer = model.solve("0110", iters=3)
    assert isinstance(answer, str) and len(answer) == 4 and set(answer) <= {"0", "1"}
    assert answer == trainer.model.solve("0110", iters=3)  # the weights it trained, not a fresh model's


def test_resume_gives_the_same_losses_as_an_uninterrupted_run(tmp_path):
    make(tmp_path / "full", max_steps=12).fit()
    make(tmp_path / "cut", max_steps=6).fit()
    resumed = make(tmp_path / "cut", max_steps=12)
    resumed.resume()
    assert resumed.step == 6
    resumed.fit()
    full, cut = losses(tmp_path / "full"), losses(tmp_path / "cut")
    assert sorted(cut) == list(range(1, 13))
    assert [cut[s] for s in range(7, 13)] == [full[s] for s in range(7, 13)]
    a, b = loopzoo.load(tmp_path / "full"), loopzoo.load(tmp_path / "cut")
    for (name, t1), (_, t2) in zip(a.state_dict().items(), b.state_dict().items()):
        assert torch.equal(t1, t2), name


def test_divergence_stops_with_a_clear_error_and_keeps_the_last_good_checkpoint(tmp_path, monkeypatch):
    trainer = make(tmp_path, max_steps=12, checkpoint_every=2)
    original = trainer.train_step

    def poisoned(step):
        loss, gn = original(step)
        return (loss * float("nan"), gn) if step == 6 else (loss, gn)

    monkeypatch.setattr(trainer, "train_step", poisoned)
    with pytest.raises(TrainingDiverged, match="loss is nan at step 6"):
        trainer.fit()
    kept = sorted(p.name for p in (tmp_path / "checkpoints").iterdir())
    assert kept == ["step-00000004", "step-00000006"]
    model = loopzoo.load(tmp_path / "checkpoints" / "step-00000006")
    assert all(torch.isfinite(p).all() for p in model.parameters())


def signal_at(trainer, monkeypatch, step, signum=signal.SIGINT):
    """Make ``trainer`` receive ``signum`` in the middle of training step ``step``."""
    original = trainer.train_step

    def interrupted(s):
        if s == step:
            os.kill(os.getpid(), signum)
        return original(s)

    monkeypatch.setattr(trainer, "train_step", interrupted)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_stops_after_the_step_with_a_checkpoint_and_the_run_continues_exactly(tmp_path, monkeypatch, signum):
    make(tmp_path / "full", max_steps=12).fit()
    trainer = make(tmp_path / "cut", max_steps=12, checkpoint_every=100)
    before = signal.getsignal(signum)
    signal_at(trainer, monkeypatch, 4, signum)
    with pytest.raises(TrainingStopped, match=f"stopped by {signal.Signals(signum).name} after step 5") as info:
        trainer.fit()
    assert info.value.exit_code == 130
    assert sorted(p.name for p in (tmp_path / "cut" / "checkpoints").iterdir()) == ["step-00000005"]
    assert signal.getsignal(signum) is before  # the handler is gone with the run
    resumed = make(tmp_path / "cut", max_steps=12)
    resumed.resume()
    assert resumed.step == 5
    resumed.fit()
    full, cut = losses(tmp_path / "full"), losses(tmp_path / "cut")
    assert [cut[s] for s in range(1, 13)] == [full[s] for s in range(1, 13)]


def test_a_second_signal_interrupts_at_once(tmp_path, monkeypatch):
    trainer = make(tmp_path, max_steps=12)
    original = trainer.train_step

    def twice(s):
        if s == 2:
            os.kill(os.getpid(), signal.SIGINT)
            os.kill(os.getpid(), signal.SIGINT)
        return original(s)

    monkeypatch.setattr(trainer, "train_step", twice)
    # the handler the run found (default_int_handler, or SIG_IGN under nohup and background shells)
    before = signal.getsignal(signal.SIGINT)
    with pytest.raises(KeyboardInterrupt):
        trainer.fit()
    assert signal.getsignal(signal.SIGINT) is before


def test_a_timed_run_stops_on_a_signal_too(tmp_path, monkeypatch):
    trainer = make(tmp_path, epochs=10_000, decay_epoch=None, checkpoint_every=10_000)
    signal_at(trainer, monkeypatch, 3, signal.SIGTERM)
    with pytest.raises(TrainingStopped, match="after step 4"):
        trainer.fit_for(60.0, eval_every=60.0)
    resumed = make(tmp_path, epochs=10_000, decay_epoch=None)
    resumed.resume()
    assert resumed.step == 4


@pytest.mark.subprocess
def test_two_process_ddp_keeps_ranks_identical(tmp_path):
    worker = Path(__file__).with_name("ddp_worker.py")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", str(worker), str(tmp_path)]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stderr[-2000:]
    hashes = [(tmp_path / f"rank{r}.sha").read_text().split() for r in (0, 1)]
    assert hashes[0] == hashes[1]
    assert hashes[0][1] == "4"  # 32 items / batch 8 = 4 steps, each rank reading 4 of every 8
    assert loopzoo.load(tmp_path / "run").config.width == 16


# --- precision, timed runs ------------------------------------------------------------------
def test_timed_runs_keep_the_rate_constant_until_the_decay_is_started():
    c = paper_recipe("sudoku", decay_epoch=None, warmup_epochs=1.0)
    assert lr_factor(0, c) == pytest.approx(1 - math.exp(-1.0))
    assert lr_factor(5_000, c) == pytest.approx(1.0)
    assert lr_factor(5_000, c, decays=1) == pytest.approx(0.1)
    assert lr_factor(5_000, c, decays=2) == pytest.approx(0.01), "a second stage multiplies once more"


def test_warmup_steps_ramp_the_rate_linearly_within_the_first_epoch(tmp_path):
    c = paper_recipe("sudoku", decay_epoch=None, warmup_epochs=0.0, warmup_steps=4, lr=1e-3)
    assert [lr_factor(0, c, step=s) for s in range(6)] == pytest.approx([0.25, 0.5, 0.75, 1.0, 1.0, 1.0])
    assert lr_factor(0, c) == 1.0, "without a step only the epoch warmup applies"
    with_epochs = paper_recipe("sudoku", decay_epoch=None, warmup_epochs=1.0, warmup_steps=2)
    assert lr_factor(0, with_epochs, step=0) == pytest.approx(0.5 * (1 - math.exp(-1.0)))
    trainer = make(tmp_path, epochs=10, decay_epoch=None, warmup_epochs=0.0, warmup_steps=4)
    assert [trainer.lr_at(s) / trainer.config.lr for s in (0, 3, 9)] == pytest.approx([0.25, 1.0, 1.0])
    for bad in (-1, 1.5, True):
        with pytest.raises(ConfigError, match="warmup_steps"):
            TrainConfig(warmup_steps=bad)


def test_decay_stages_set_the_rate_from_their_steps_and_survive_a_resume(tmp_path):
    trainer = make(tmp_path, epochs=10_000, decay_epoch=None, warmup_epochs=0.0)
    trainer.start_decay()
    trainer.start_decay()  # already decayed: no second stage without ``again``
    assert trainer.decays == [0]
    trainer.step = 7
    trainer.start_decay(again=True)
    assert trainer.decays == [0, 7] and trainer.decay_from == 0
    lr = trainer.config.lr
    assert trainer.lr_at(6) == pytest.approx(0.1 * lr) and trainer.lr_at(7) == pytest.approx(0.01 * lr)
    trainer.save_checkpoint()
    resumed = make(tmp_path, epochs=10_000, decay_epoch=None, warmup_epochs=0.0)
    resumed.resume()
    assert resumed.decays == [0, 7]


def test_checkpoints_from_before_decay_stages_resume_with_their_one_decay(tmp_path):
    trainer = make(tmp_path, epochs=10_000, decay_epoch=None)
    trainer.save_checkpoint()
    newest = sorted((tmp_path / "checkpoints").glob("step-*"))[-1] / "trainer.json"
    meta = json.loads(newest.read_text())
    del meta["decays"], meta["sha256"]
    meta["decay_from"] = 3
    newest.write_text(json.dumps({**meta, "sha256": checkpoints._body_digest(meta)}))
    resumed = make(tmp_path, epochs=10_000, decay_epoch=None)
    resumed.resume()
    assert resumed.decays == [3]


def test_precision_is_checked_and_old_runs_still_load():
    from loopzoo.errors import ConfigError
    from loopzoo.train import TrainConfig

    with pytest.raises(ConfigError, match="precision"):
        TrainConfig(precision="fp8")
    assert TrainConfig.from_dict({"bf16": False}).precision == "fp32"
    assert TrainConfig.from_dict({"bf16": True}).precision == "auto"


def test_bf16_training_on_the_cpu_runs_under_autocast(tmp_path):
    trainer = make(tmp_path, max_steps=4, precision="bf16")
    assert trainer.autocast
    trainer.fit()
    assert all(math.isfinite(v) for v in losses(tmp_path).values())


def test_fit_for_trains_for_a_time_decays_and_keeps_the_best_model(tmp_path):
    trainer = make(tmp_path, epochs=10_000, decay_epoch=None, checkpoint_every=10_000, log_every=5)
    summary = trainer.fit_for(3.0, decay_after=1.5, eval_every=1.0)
    assert summary["steps"] > 0 and summary["decay_from"] is not None and 0 < summary["decay_from"] <= summary["steps"]
    records = [json.loads(x) for x in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    evals = [r for r in records if r.get("kind") == "eval"]
    assert len(evals) >= 2 and all("train_minutes" in r for r in evals)
    lrs = {r["step"]: r["lr"] for r in records if "lr" in r}
    assert lrs[max(lrs)] == pytest.approx(0.1 * lrs[min(lrs)]), "the last steps ran at x0.1"
    best = json.loads((tmp_path / "best" / "config.json").read_text())
    assert best["best_val"] == max(r["val"]["best"] for r in evals)
    loopzoo.load(tmp_path / "best")
    resumed = make(tmp_path, epochs=10_000, decay_epoch=None)
    resumed.resume()
    assert resumed.step == summary["steps"] and resumed.decay_from == summary["decay_from"]


def test_evaluation_time_is_recorded_apart_and_survives_a_resume(tmp_path):
    trainer = make(tmp_path, epochs=3, eval_every=1, checkpoint_every=1)
    trainer.fit()
    evals = [json.loads(x) for x in (tmp_path / "metrics.jsonl").read_text().splitlines() if '"eval"' in x]
    assert [r["step"] for r in evals] == [4, 8, 12]
    assert evals[0]["eval_minutes"] == 0.0  # only evaluations before this one count
    spent = [r["eval_minutes"] for r in evals]
    assert spent == sorted(spent) and all(r["eval_minutes"] <= r["train_minutes"] for r in evals)
    assert trainer.eval_seconds > 0
    resumed = make(tmp_path, epochs=3, eval_every=1, checkpoint_every=1)
    resumed.resume()
    # the last checkpoint is written before the final evaluation: it holds the two before it
    assert 0 < resumed.eval_seconds < trainer.eval_seconds
    assert resumed.eval_seconds / 60 == pytest.approx(evals[-1]["eval_minutes"], abs=0.006)


def test_thread_default_follows_omp_num_threads(monkeypatch):
    from loopzoo.hardware import default_threads, use_bf16

    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert default_threads() == 1
    monkeypatch.delenv("OMP_NUM_THREADS")
    assert default_threads() >= 1
    assert use_bf16("bf16", "cpu") and not use_bf16("fp32", "cpu")
    from loopzoo.errors import ConfigError

    with pytest.raises(ConfigError, match="precision"):
        use_bf16("half", "cpu")


def test_a_probe_split_is_evaluated_and_breaks_ties_on_val(tmp_path):
    from loopzoo.errors import ConfigError
    from loopzoo.train import TrainConfig

    with pytest.raises(ConfigError, match="probe must name its split"):
        TrainConfig(probe={"seed": 1})
    trainer = make(tmp_path, epochs=10_000, decay_epoch=None, checkpoint_every=10_000,
                   probe={"split": "test", "seed": 1, "length": 16})
    probe = trainer.datasets["probe"]
    assert len(probe) == 8 and len(probe.inputs[0]) == 16  # eval_samples items, the probe's own options
    assert probe.inputs != trainer.datasets["test"].inputs  # held out: not the test split
    record = trainer.evaluate(0)
    assert record["probe"]["samples"] == 8
    assert trainer.selection_score(record) == [record["val"]["best"], record["probe"]["best"]]
    val = record["val"]["best"]
    assert trainer._keep_if_best({**record, "probe": {**record["probe"], "best": 0.25}})
    assert not trainer._keep_if_best({**record, "probe": {**record["probe"], "best": 0.25}})  # not better
    assert trainer._keep_if_best({**record, "probe": {**record["probe"], "best": 0.5}})  # tie on val, better probe
    best = json.loads((tmp_path / "best" / "config.json").read_text())
    assert best["best_score"] == [val, 0.5] and best["best_val"] == val
    assert not trainer._keep_if_best({**record, "val": {**record["val"], "best": val - 0.01},
                                      "probe": {**record["probe"], "best": 1.0}})  # val comes first


def test_the_fast_step_keeps_the_losses_of_the_sdpa_step_over_200_steps(tmp_path):
    """bf16 on the CPU: the fast step's attention (explicit) against SDPA's, same start and batches.

    Sudoku, whose tiny runs learn smoothly (tiny prefix-sums runs at a high rate are chaotic: fp32
    runs that differ only in float rounding ended 0.58 and 0.69 apart)."""
    from loopzoo.train.trainer import Trainer
    from train_helpers import tiny_config

    runs = {}
    for fast in (True, False):
        trainer = Trainer(loopzoo.config_for("sudoku-internal-recall-outernorm", **TINY_MODEL),
                          tiny_config(epochs=50, precision="bf16", task_options={}, checkpoint_every=1000),
                          tmp_path / str(fast), progress=False, compile=False, fast_step=fast)
        assert trainer.total_steps == 200
        trainer.fit()
        runs[fast] = [loss for _, loss in sorted(losses(tmp_path / str(fast)).items())]
    fast, slow = runs[True], runs[False]
    assert abs(fast[0] - slow[0]) < 0.01  # the same function up to bf16 rounding
    tail = len(fast) // 5
    assert sum(fast[-tail:]) / tail < 0.8 * fast[0]  # both learn (measured: 2.23 -> 1.52) ...
    assert abs(sum(fast[-tail:]) - sum(slow[-tail:])) / sum(slow[-tail:]) < 0.03  # ... to the same loss (0.2-0.8% apart)


def test_a_compile_that_fails_trains_eager_with_a_warning(tmp_path, monkeypatch):
    from loopzoo.errors import LoopzooWarning

    def broken(*args, **kwargs):
        def fail(*a, **k):
            raise RuntimeError("no C++ compiler here")
        return fail

    monkeypatch.setattr(torch, "compile", broken)
    with pytest.warns(LoopzooWarning, match="torch.compile failed, running eager: RuntimeError: no C"):
        trainer = make(tmp_path, max_steps=3, compile=True)
    assert not trainer.compiled
    trainer.fit()
    assert len(losses(tmp_path)) == 3


def test_long_runs_compile_by_default_and_the_slow_step_does_not(tmp_path, monkeypatch):
    from loopzoo.train import trainer as trainer_module

    monkeypatch.setattr(trainer_module.Trainer, "_compile", lambda self: True)
    assert Trainer_compiled(tmp_path / "a", epochs=10_000)
    assert not Trainer_compiled(tmp_path / "b", epochs=4)
    assert not Trainer_compiled(tmp_path / "c", epochs=10_000, fast_step=False)
    assert Trainer_compiled(tmp_path / "d", epochs=4, fast_step=False, compile=True)


def Trainer_compiled(run_dir, compile=None, **kw) -> bool:
    return make(run_dir, compile=compile, **kw).compiled


def test_a_compiled_run_trains_like_the_eager_one(tmp_path):
    eager = make(tmp_path / "eager", max_steps=6)
    eager.fit()
    compiled = make(tmp_path / "compiled", max_steps=6, compile=True)
    assert compiled.compiled
    compiled.fit()
    a, b = losses(tmp_path / "eager"), losses(tmp_path / "compiled")
    assert a.keys() == b.keys()
    for step in a:
        assert b[step] == pytest.approx(a[step], rel=1e-3)


def test_the_compiled_bf16_fast_step_resumes_exactly(tmp_path):
    """The default step of long runs (explicit attention in bf16, the block compiled) cut and resumed
    gives the losses and weights of the uninterrupted run."""
    kw = dict(precision="bf16", compile=True)
    full = make(tmp_path / "full", max_steps=8, **kw)
    assert full.compiled
    full.fit()
    make(tmp_path / "cut", max_steps=4, **kw).fit()
    resumed = make(tmp_path / "cut", max_steps=8, **kw)
    resumed.resume()
    resumed.fit()
    a, b = losses(tmp_path / "full"), losses(tmp_path / "cut")
    assert a == b
    for (name, t1), (_, t2) in zip(loopzoo.load(tmp_path / "full").state_dict().items(),
                                   loopzoo.load(tmp_path / "cut").state_dict().items()):
        assert torch.equal(t1, t2), name


def test_a_run_can_start_from_trained_weights_and_refuses_ones_that_do_not_fit(tmp_path):
    from loopzoo.errors import ConfigError

    first = make(tmp_path / "first", max_steps=2)
    first.fit()
    tuned = make(tmp_path / "tuned", max_steps=2, init_from=str(tmp_path / "first"))
    trained = first.model.state_dict()
    assert all(torch.equal(v, trained[k]) for k, v in tuned.model.state_dict().items())
    tuned.fit()
    assert json.loads((tmp_path / "tuned" / "train.json").read_text())["train"]["init_from"] == str(tmp_path / "first")
    with pytest.raises(ConfigError, match="do not fit this model"):
        Trainer_compiled(tmp_path / "wide", init_from="prefix-sums-internal-recall-outernorm")


def test_fit_for_stops_at_the_first_evaluation_that_reaches_until_val(tmp_path):
    trainer = make(tmp_path, epochs=10_000, decay_epoch=None, checkpoint_every=10_000)
    seen = []

    def evaluate(step):  # val exact match climbs 0.1 per evaluation
        seen.append(step)
        return {"step": step, "kind": "eval", "val": {"best": 0.1 * len(seen)}}

    trainer.evaluate = evaluate
    summary = trainer.fit_for(600.0, eval_every=0.0, until_val=0.3)
    assert summary["reached"] and len(seen) == 3 and summary["steps"] == seen[-1]
    with pytest.raises(loopzoo.errors.ConfigError, match="until_val"):
        trainer.fit_for(1.0, until_val=1.5)
