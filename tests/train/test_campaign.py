"""loopzoo.train.campaign (scripts/gpu_campaign.py): both flagships at a tiny size on the CPU, checkpoints by
wall time, summary.json, resuming, bundling what beats the zoo, and the refusals; Trainer.fit_for's
checkpoint_seconds."""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import loopzoo
from loopzoo import card, hub, runs
from loopzoo.data import load_split
from loopzoo.errors import ConfigError, InputError
from loopzoo.train import campaign
from loopzoo.train import trainer as trainer_module
from loopzoo.train.trainer import TrainingStopped

from train_helpers import make

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "gpu_campaign.py"
SUDOKU, CHESS = "sudoku-internal-recall-outernorm", "chess-internal-recall-outernorm"
MINUTES = 0.03  # 1.8 s of training per job


def tiny(out, **kw) -> campaign.Settings:
    options = dict(tiny=True, progress=False, checkpoint_minutes=0.005, eval_minutes=0.01)  # every 0.3 s / 0.6 s
    return campaign.Settings(out=out, **{**options, **kw})


def saving(monkeypatch) -> list[tuple[str, int]]:
    """Record every checkpoint the trainer writes: (run folder name, step)."""
    saves = []
    original = trainer_module.Trainer.save_checkpoint

    def save(self):
        saves.append((self.run_dir.name, self.step))
        original(self)

    monkeypatch.setattr(trainer_module.Trainer, "save_checkpoint", save)
    return saves


@pytest.fixture(scope="module")
def zoo_dir(tmp_path_factory):
    """A bundled zoo holding only the chess flagship (copied), so that chess has a bundle to beat and sudoku none."""
    zoo = tmp_path_factory.mktemp("zoo")
    shutil.copytree(hub.ZOO_DIR / CHESS, zoo / CHESS)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(hub, "ZOO_DIR", zoo)
        yield zoo


@pytest.fixture(scope="module")
def first(zoo_dir, tmp_path_factory):
    """Both default jobs, tiny, for MINUTES each: (settings, summary, checkpoints written)."""
    root = tmp_path_factory.mktemp("campaign")
    settings = tiny(root / "out", export=root / "export")
    with pytest.MonkeyPatch.context() as mp:
        saves = saving(mp)
        summary = campaign.run_campaign(campaign.default_jobs(minutes=MINUTES), settings)
    return settings, summary, saves


def test_fit_for_checkpoints_by_wall_time(tmp_path, monkeypatch):
    saves = saving(monkeypatch)
    trainer = make(tmp_path / "a", epochs=100_000, decay_epoch=None, checkpoint_every=10**6)
    trainer.fit_for(1.5, eval_every=1000.0, checkpoint_seconds=0.25)
    steps = [step for _, step in saves]
    assert len(steps) >= 4 and steps == sorted(steps) and steps[-1] == trainer.step
    saves.clear()
    trainer = make(tmp_path / "b", epochs=100_000, decay_epoch=None, checkpoint_every=10**6)
    trainer.fit_for(0.5, eval_every=1000.0)
    assert [step for _, step in saves] == [trainer.step], "without checkpoint_seconds: at the end only"
    for bad in (0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ConfigError, match="checkpoint_seconds"):
            trainer.fit_for(1.0, checkpoint_seconds=bad)


def test_a_tiny_campaign_trains_both_flagships_and_writes_its_summary(first):
    settings, summary, saves = first
    assert json.loads((settings.out / "summary.json").read_text()) == summary
    assert summary["tiny"] is True and summary["device"].startswith("CPU")
    assert list(summary["jobs"]) == [f"{SUDOKU}.gpu", f"{CHESS}.gpu"]
    for ref, record in summary["jobs"].items():
        task = record["task"]
        assert record["status"] == "done" and record["source"] == campaign.PUBLIC[task]["source"]
        assert (record["width"], record["heads"], record["batch"], record["device"]) == (16, 2, 16, "cpu")
        assert record["steps"] == record["steps_this_run"] > 0 and record["examples_per_second"] > 0
        assert record["minutes"] >= MINUTES and record["precision"] == "bf16"
        assert len([s for name, s in saves if name == ref]) >= 3, "checkpoints every 0.3 s, not only at the end"
        run = settings.out / ref
        assert (run / "checkpoints").is_dir() and (run / "best" / "config.json").is_file()
        saved = json.loads((run / "train.json").read_text())["train"]
        assert saved["task_options"] == {"source": campaign.PUBLIC[task]["source"]}
        assert saved["probe"] == campaign.PUBLIC[task]["hard"] and saved["batch_size"] == 16
        ev = record["evaluation"]
        val, hard = load_split(task, "val", n=16), load_split(task, n=16, **campaign.PUBLIC[task]["hard"])
        assert ev["eval"]["val"]["data_sha256"] == val.data_hash and ev["eval"]["val"]["samples"] == 16
        assert ev["eval"]["test"]["data_sha256"] == hard.data_hash
        assert ev["eval"]["test"]["label"] == campaign.PUBLIC[task]["hard_label"]
        assert 1 <= ev["iters"] <= 8 and str(ev["iters"]) in ev["eval"]["test"]["at"]
        exported = settings.export / ref
        assert sorted(p.name for p in exported.iterdir()) == ["config.json", "model.safetensors"]
        assert record["bundled"] is None
    chess = summary["jobs"][f"{CHESS}.gpu"]
    assert list(chess["references"]) == [CHESS] and chess["beats"] is False  # the bundled flagship, measured alike
    assert summary["jobs"][f"{SUDOKU}.gpu"]["references"] == {}
    assert json.loads((settings.export / "summary.json").read_text()) == summary


def test_what_beats_the_bundle_is_bundled_under_its_tag(first, zoo_dir):
    settings, summary, _ = first
    record = summary["jobs"][f"{SUDOKU}.gpu"]
    job = campaign.default_jobs(("sudoku",))[0]
    path = campaign.bundle_job(job, settings.out / job.ref / "best", record["evaluation"], record)
    assert path == zoo_dir / f"{SUDOKU}.gpu"
    model = loopzoo.load(f"{SUDOKU}.gpu")
    assert model.config.width == 16 and model.config.iters == record["evaluation"]["iters"]
    text = (path / "README.md").read_text()
    assert card.render(path) == text and f'loopzoo.load("{SUDOKU}.gpu")' in text
    assert "**Trained on a CPU.**" in text and campaign.PUBLIC["sudoku"]["hard_label"] in text
    meta = json.loads((path / "config.json").read_text())
    assert meta["ref"] == f"{SUDOKU}.gpu" and meta["data"]["name"] == "generated-forum-hardest"
    shutil.rmtree(path)


def test_the_same_command_continues_stopped_jobs_and_leaves_finished_ones(first, monkeypatch):
    settings, summary, _ = first
    jobs = campaign.default_jobs(minutes=MINUTES)
    evaluated = []
    monkeypatch.setattr(campaign, "evaluate", lambda *a, **k: evaluated.append(a) or pytest.fail("evaluated again"))
    again = campaign.run_campaign(jobs, tiny(settings.out))
    for ref, record in again["jobs"].items():
        assert record["steps_this_run"] == 0 and record["steps"] == summary["jobs"][ref]["steps"]
        assert record["evaluation"] == summary["jobs"][ref]["evaluation"]  # cached: same model, same items
    (settings.out / "summary.json").unlink()  # lost: the run folders and their caches still say it all
    lost = campaign.run_campaign(jobs, tiny(settings.out))
    for ref, record in lost["jobs"].items():
        assert record["steps"] == summary["jobs"][ref]["steps"] and record["device"] == "cpu"
        assert record["evaluation"] == summary["jobs"][ref]["evaluation"]
    assert not evaluated
    monkeypatch.undo()

    # a longer budget trains a finished job further, from its last checkpoint
    longer = campaign.run_campaign(campaign.default_jobs(("sudoku",), minutes=2 * MINUTES), tiny(settings.out))
    record = longer["jobs"][f"{SUDOKU}.gpu"]
    assert record["steps_this_run"] > 0 and record["steps"] == summary["jobs"][f"{SUDOKU}.gpu"]["steps"] + record["steps_this_run"]
    assert record["minutes"] >= 2 * MINUTES and f"{CHESS}.gpu" in longer["jobs"], "other jobs' records are kept"

    # a job stopped by a signal after a few steps: checkpointed, recorded as stopped, continued by the same call
    class StopAfterSteps(trainer_module.StopOnSignal):
        checks = 0

        @property
        def received(self):
            StopAfterSteps.checks += 1
            return "SIGTERM" if StopAfterSteps.checks > 5 else None

        @received.setter
        def received(self, value):
            pass

    job = [campaign.Job(SUDOKU, minutes=MINUTES, tag="stop")]
    monkeypatch.setattr(trainer_module, "StopOnSignal", StopAfterSteps)
    with pytest.raises(TrainingStopped, match="run the same command again"):
        campaign.run_campaign(job, tiny(settings.out))
    monkeypatch.undo()
    stopped = campaign.read_summary(settings.out)["jobs"][f"{SUDOKU}.stop"]
    assert stopped["status"] == "stopped"
    assert campaign.trained_seconds(runs.RunDir(settings.out / f"{SUDOKU}.stop")) > 0
    done = campaign.run_campaign(job, tiny(settings.out))["jobs"][f"{SUDOKU}.stop"]
    assert done["status"] == "done" and done["steps"] > done["steps_this_run"] > 0


def test_a_run_continues_only_with_the_options_it_started_with(first):
    settings, _, _ = first
    with pytest.raises(ConfigError, match=r"batch_size 16 \(now 8\)"):
        campaign.run_campaign(campaign.default_jobs(("sudoku",), minutes=1.0), tiny(settings.out, batch=8))
    with pytest.raises(ConfigError, match="width 16"):
        campaign.run_campaign(campaign.default_jobs(("chess",), minutes=1.0), campaign.Settings(
            out=settings.out, progress=False, batch=16, train_size=128, max_iters=4))


def test_bad_options_are_refused(tmp_path, monkeypatch):
    (tmp_path / "file").write_text("")
    for kw, match in [(dict(out=tmp_path / "file"), "is a file"), (dict(batch=0), "batch"), (dict(val_samples=-1), "val-samples"),
                      (dict(eval_minutes=0), "eval-minutes"), (dict(checkpoint_minutes=float("inf")), "checkpoint-minutes"),
                      (dict(decay_fraction=1.5), "decay-fraction"), (dict(lr=0), "lr"), (dict(precision="fp16"), "precision"),
                      (dict(device="tpu"), "device"), (dict(export=tmp_path / "file"), "is a file")]:
        with pytest.raises(InputError, match=match):
            campaign.Settings(**{"out": tmp_path / "out", **kw})
    if not __import__("torch").cuda.is_available():
        with pytest.raises(InputError, match="no CUDA device"):
            campaign.Settings(out=tmp_path / "out", device="cuda")
    monkeypatch.setattr(hub, "ZOO_DIR", campaign.PACKAGE_ZOO)  # the package's own zoo (other tests here move it)
    with pytest.raises(InputError, match="never bundles into loopzoo/zoo"):
        campaign.Settings(out=tmp_path / "out", tiny=True, bundle=True)
    with pytest.raises(InputError, match="among sudoku, chess, got prefix-sums"):
        campaign.default_jobs(("prefix-sums",))
    with pytest.raises(InputError, match="does not train"):
        campaign.default_jobs(("sudoku",), minutes={"chess": 3.0})
    settings = tiny(tmp_path / "out")
    for job, match in [(campaign.Job(SUDOKU, minutes=0), "minutes"), (campaign.Job(SUDOKU, width=100, heads=3), "multiple"),
                       (campaign.Job(SUDOKU, tag="a.b"), "tag"), (campaign.Job("sudoku-nope"), "unknown"),
                       (campaign.Job("prefix-sums-internal-recall-outernorm"), "sudoku and chess")]:
        with pytest.raises(InputError, match=match):
            campaign.run_campaign([job], settings)
    with pytest.raises(InputError, match="different refs"):
        campaign.run_campaign([campaign.Job(SUDOKU), campaign.Job(SUDOKU)], settings)
    assert not (tmp_path / "out").exists(), "nothing is written before the options are checked"


def test_the_command_line_refuses_bad_options(tmp_path):
    for args, match in [(["--minutes", "0"], "minutes must be a positive"), (["--minutes", "sudoku=x"], "not a number"),
                        (["--minutes", "4", "chess=2"], "TASK=MINUTES"), (["--tiny", "--bundle"], "never bundles")]:
        out = subprocess.run([sys.executable, str(SCRIPT), "--out", str(tmp_path / "out"), *args],
                             capture_output=True, text=True, timeout=300)
        assert out.returncode == 2 and out.stderr.startswith("error:") and match in out.stderr, (args, out.stderr)
    help_text = subprocess.run([sys.executable, str(SCRIPT), "--help"], capture_output=True, text=True, timeout=300).stdout
    assert "--checkpoint-minutes" in help_text and "docs/gpu.md" in help_text


def test_a_model_that_solves_nothing_beats_nothing():
    def result(val, hard, iters):
        return {"iters": iters, "eval": {"val": {"at": {str(iters): val}}, "test": {"at": {str(iters): hard}}}}

    flagship = {"flagship": result(0.5, 0.2, 100)}
    assert campaign.comparable(result(0.5, 0.3, 40)) == (0.5, 0.3, -40)
    assert campaign.beats(result(0.6, 0.0, 400), flagship)  # val first
    assert not campaign.beats(result(0.4, 0.9, 10), flagship)
    assert campaign.beats(result(0.5, 0.3, 400), flagship)  # a tie on val: the public hard split
    assert campaign.beats(result(0.5, 0.2, 50), flagship)  # then fewer iterations
    assert not campaign.beats(result(0.5, 0.2, 100), flagship)
    assert campaign.beats(result(0.1, 0.0, 5), {}) and not campaign.beats(result(0.0, 0.0, 1), {})


def test_sigterm_stops_the_command_with_its_summary_and_export(tmp_path):
    """What `timeout` does on a device machine: the job stops at a checkpoint, summary and export are written."""
    import signal
    import time

    out, export = tmp_path / "out", tmp_path / "export"
    process = subprocess.Popen([sys.executable, str(SCRIPT), "--out", str(out), "--export", str(export), "--tiny",
                                "--tasks", "sudoku", "--minutes", "2", "--checkpoint-minutes", "0.005", "--no-progress"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    checkpoints = out / f"{SUDOKU}.gpu" / "checkpoints"
    deadline = time.monotonic() + 240
    while not any(checkpoints.glob("step-*")) and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130 and "run the same command again" in stderr, stderr[-2000:]
    summary = json.loads((export / "summary.json").read_text())
    assert summary["jobs"][f"{SUDOKU}.gpu"]["status"] == "stopped"
    assert campaign.trained_seconds(runs.RunDir(out / f"{SUDOKU}.gpu")) > 0
