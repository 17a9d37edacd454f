#!/usr/bin/env python
"""Two cores, three ways to use them for training: two runs of one thread each (one per core), one
run with two threads, and one run as two ``torchrun`` processes of one thread each (DDP, global
batch twice the per-process batch). Every way trains the trainer's default step (bf16 autocast
where the CPU has it, the fast step's attention) on the sudoku flagship shape for the same steps
(the same progressive-loss draws), and reports examples/s summed over the machine, measured in
this one run (after ``--warmup`` steps), so the ratios compare like with like. Run it on an idle
machine.

    python scripts/bench_parallel.py                       # width 128, batch 64 per process, 20 steps
    python scripts/bench_parallel.py --width 64 --steps 40 --compile
    python scripts/bench_parallel.py --write                # and save the table in docs/training.md
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from loopzoo import docs_tables
from loopzoo.analysis.training_speed import parallel_table

SCRIPT = Path(__file__).resolve()


def worker(args: argparse.Namespace) -> None:
    """Train ``args.steps`` timed steps after ``args.warmup``; print one JSON line (rank 0)."""
    import torch

    import loopzoo
    from loopzoo.train import paper_recipe
    from loopzoo.train.trainer import Trainer

    torch.set_num_threads(args.threads)
    config = paper_recipe("sudoku", epochs=10_000, batch_size=args.batch, lr=1e-3, warmup_epochs=1.0, decay_epoch=None,
                          seed=0)
    with tempfile.TemporaryDirectory() as run_dir:
        trainer = Trainer(loopzoo.config_for("sudoku-internal-recall-outernorm", width=args.width, heads=args.width // 32),
                          config, run_dir, progress=False, compile=args.compile)
        for step in range(args.warmup):
            trainer.train_step(step)
        trainer.dist.barrier()
        started = time.perf_counter()
        for step in range(args.warmup, args.warmup + args.steps):
            loss, _ = trainer.train_step(step)
        loss.item()
        trainer.dist.barrier()
        seconds = time.perf_counter() - started
        if trainer.dist.is_main:
            print(json.dumps({"examples_per_s": args.batch * args.steps / seconds, "seconds": seconds,
                              "threads": torch.get_num_threads(), "world": trainer.dist.world,
                              "compiled": trainer.compiled}), flush=True)
        trainer.close()


def run(command: list[str], cpus: str | None = None) -> subprocess.Popen:
    prefix = ["taskset", "-c", cpus] if cpus is not None else []
    return subprocess.Popen(prefix + command, stdout=subprocess.PIPE, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})


def result(process: subprocess.Popen) -> dict:
    out, _ = process.communicate()
    if process.returncode:
        raise SystemExit(f"a worker failed (exit {process.returncode}): {' '.join(map(str, process.args))}")
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--width", type=int, default=128)
    parser.add_argument("--batch", type=int, default=64, help="examples per process and step (default 64)")
    parser.add_argument("--steps", type=int, default=20, help="timed steps (default 20)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps first (default 3)")
    parser.add_argument("--compile", action="store_true", help="compile the block (as runs of 2,000+ steps do)")
    parser.add_argument("--write", action="store_true", help="save the results and render docs/training.md's table")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--threads", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return
    base = [sys.executable, str(SCRIPT), "--worker", "--width", str(args.width), "--steps", str(args.steps),
            "--warmup", str(args.warmup)] + (["--compile"] if args.compile else [])
    rows = []
    pair = [run(base + ["--batch", str(args.batch)], cpus) for cpus in ("0", "1")]
    two_runs = [result(p) for p in pair]
    rows.append(("2 runs x 1 thread (one per core)", f"{args.batch} each", sum(r["examples_per_s"] for r in two_runs)))
    for batch in (args.batch, 2 * args.batch):
        one = result(run(base + ["--batch", str(batch), "--threads", "2"]))
        rows.append(("1 run x 2 threads", str(batch), one["examples_per_s"]))
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]
    ddp = result(run(torchrun + base[1:] + ["--batch", str(2 * args.batch)]))
    rows.append(("torchrun 2 processes x 1 thread", f"{2 * args.batch} ({args.batch} per process)", ddp["examples_per_s"]))
    results = {"width": args.width, "steps": args.steps, "compiled": args.compile,
               "rows": [{"way": way, "batch": batch, "examples_per_s": round(rate, 1)} for way, batch, rate in rows]}
    print(f"sudoku flagship shape, width {args.width}, {args.steps} timed steps, {'compiled' if args.compile else 'eager'}; "
          f"examples/s of the whole machine")
    print(parallel_table(results))
    if args.write:
        print(docs_tables.publish("training-parallel", docs_tables.stamp(results, sys.argv)))

if __name__ == "__main__":
    main()
