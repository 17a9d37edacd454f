"""Tiny training runs shared by the trainer tests (imported by name: pytest puts this folder on sys.path)."""
import json
from pathlib import Path

import loopzoo
from loopzoo.train import TrainConfig
from loopzoo.train.trainer import Trainer

NAME = "prefix-sums-internal-recall-outernorm"


def tiny_config(**kw) -> TrainConfig:
    base = dict(epochs=4, batch_size=16, lr=3e-3, warmup_epochs=0, max_iters=4, train_size=64, eval_samples=8,
                eval_iters=3, eval_every=100, checkpoint_every=4, log_every=1, task_options={"length": 8},
                precision="fp32")  # the same numbers on every CPU; bf16 has its own tests
    base.update(kw)
    return TrainConfig(**base)


def make(run_dir, compile: bool = False, fast_step: bool = True, **kw) -> Trainer:
    """A tiny trainer; eager unless ``compile`` (timed runs set huge epoch counts, which would compile)."""
    return Trainer(loopzoo.config_for(NAME, width=16, heads=2), tiny_config(**kw), run_dir, progress=False,
                   compile=compile, fast_step=fast_step)


def losses(run_dir) -> dict[int, float]:
    """Step -> loss, from a run's metrics.jsonl."""
    lines = [json.loads(x) for x in (Path(run_dir) / "metrics.jsonl").read_text().splitlines()]
    return {r["step"]: r["loss"] for r in lines if "loss" in r}
