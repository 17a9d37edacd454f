"""Run under torchrun by the DDP tests: train a few steps (continuing the run in OUT/run where it has
checkpoints), then write this rank's weight hash. Usage: ddp_worker.py OUT [TRAIN_OPTIONS_JSON]."""
import hashlib
import json
import sys
from pathlib import Path


import loopzoo
from loopzoo.train import TrainConfig, checkpoints
from loopzoo.train.trainer import Trainer

out = Path(sys.argv[1])
options = json.loads(sys.argv[2]) if len(sys.argv) > 2 else {}
config = TrainConfig(**{**dict(epochs=1, batch_size=8, lr=1e-3, warmup_epochs=0, max_iters=3, train_size=32,
                               eval_samples=4, eval_iters=2, checkpoint_every=100, task_options={"length": 8}), **options})
trainer = Trainer(loopzoo.config_for("prefix-sums-internal-recall-outernorm", width=16, heads=2), config, out / "run",
                  progress=False)
if checkpoints.available(out / "run"):
    trainer.resume()
trainer.fit()
digest = hashlib.sha256()
for name, tensor in sorted(trainer.model.state_dict().items()):
    digest.update(name.encode() + tensor.detach().cpu().numpy().tobytes())
(out / f"rank{trainer.dist.rank}.sha").write_text(f"{digest.hexdigest()} {trainer.step}\n")
trainer.close()
