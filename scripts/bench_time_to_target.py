#!/usr/bin/env python
"""End-to-end speed of training: minutes until sudoku val exact match reaches a target, for the step
as it was (``old``: SDPA attention, eager) and the trainer's default fast step (``fast``: explicit
attention, the block compiled), same recipe and seed, each in its own process on one thread.

Run the two modes side by side, one per core, then report:

    taskset -c 0 python scripts/bench_time_to_target.py --mode old  &
    taskset -c 1 python scripts/bench_time_to_target.py --mode fast &
    python scripts/bench_time_to_target.py --report            # the table; --write saves it and puts it in docs/training.md

Each mode trains the sudoku flagship's timed recipe (width 128, 4 heads, batch 64, lr 1e-3 after a
one-epoch warmup, bf16 autocast where the CPU has it) in ``runs/bench-time-to-target/MODE``,
evaluating 500 val and 500 hard puzzles at up to 120 iterations every ``--eval-minutes`` of training,
and stops at the first evaluation that reaches ``--target`` (or after ``--max-minutes``). Minutes are
training time without the evaluations, plus the process's set-up (where compiling happens), on two
clocks: wall time, and the process's CPU time, which other work on the same core does not inflate
(beyond its effect on caches). A killed run continues where its last checkpoint left it (its CPU
clock from its last evaluation: the steps after it are not counted again). ``--report --write`` saves the
table's numbers as docs/results/time-to-target.json and renders the table in docs/training.md from them
(``loopzoo.analysis.training_speed``).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

import loopzoo
from loopzoo import docs_tables
from loopzoo.analysis.training_speed import time_to_target_table
from loopzoo.train import checkpoints, metrics, paper_recipe
from loopzoo.train.trainer import Trainer
from loopzoo.train.zoo import TIMED_DEFAULTS, TIMED_RECIPES

ROOT = Path(__file__).resolve().parents[1]
RUNS = ROOT / "runs" / "bench-time-to-target"
MODES = {"old": False, "fast": True}  # fast_step
NAME = "sudoku-internal-recall-outernorm"
# the sudoku flagship's timed recipe as scripts/train_zoo.py --minutes trains it (width 128, 4 heads, batch 64,
# lr 1e-3, one warmup epoch, no scheduled decay, 500 val + 500 hard puzzles evaluated at up to 120 iterations)
MODEL = TIMED_RECIPES["sudoku"]["model"]
RECIPE = {**TIMED_DEFAULTS, **TIMED_RECIPES["sudoku"]["train"], "seed": 0}


class CPUClockTrainer(Trainer):
    """A trainer whose evaluation records also hold ``cpu_minutes``: this process's CPU time spent
    training (evaluations excluded) since :meth:`start_clock`, plus ``cpu_before`` of earlier processes."""

    cpu_before = cpu_start = eval_cpu = cpu_at_eval = 0.0

    def start_clock(self) -> None:
        evals = [r for r in metrics.read(self.run_dir) if r.get("kind") == "eval" and "cpu_minutes" in r]
        self.cpu_before = 60 * evals[-1]["cpu_minutes"] if evals else 0.0
        self.cpu_start = time.process_time()

    def evaluate(self, step: int) -> dict:
        self.cpu_at_eval = time.process_time()
        record = super().evaluate(step)
        self.eval_cpu += time.process_time() - self.cpu_at_eval
        return record

    def _log(self, record: dict) -> None:
        if record.get("kind") == "eval":
            seconds = self.cpu_before + self.cpu_at_eval - self.cpu_start - self.eval_cpu
            record["cpu_minutes"] = round(seconds / 60, 2)
        super()._log(record)


def train(mode: str, target: float, eval_minutes: float, max_minutes: float) -> None:
    torch.set_num_threads(1)
    run_dir = RUNS / mode
    started = time.perf_counter()
    trainer = CPUClockTrainer(loopzoo.config_for(NAME, **MODEL), paper_recipe("sudoku", **RECIPE), run_dir,
                      fast_step=MODES[mode], progress=False)
    if checkpoints.available(run_dir):
        trainer.resume()
    setup = time.perf_counter() - started
    run_dir.mkdir(parents=True, exist_ok=True)
    log = run_dir / "bench.json"
    state = json.loads(log.read_text()) if log.is_file() else {"mode": mode, "target": target, "setups": []}
    state["setups"].append({"step": trainer.step, "seconds": round(setup, 1), "compiled": trainer.compiled,
                            "threads": torch.get_num_threads()})
    log.write_text(json.dumps(state, indent=1))
    left = 60 * max_minutes - trainer.seconds_before
    print(f"{mode}: step {trainer.step}, set-up {setup:.1f} s (compiled: {trainer.compiled}); training up to {left / 60:.1f} min")
    trainer.start_clock()
    summary = trainer.fit_for(left, eval_every=60 * eval_minutes, until_val=target)
    print(f"{mode}: {'reached' if summary['reached'] else 'did not reach'} {target:.0%} at step {summary['steps']}: "
          f"val {summary['eval']['val']['best']:.1%}")


def results(target: float) -> dict:
    """Each mode's set-up, the first evaluation reaching ``target`` (minutes with the set-up added) or the best so
    far, and its steps/s: what :func:`loopzoo.analysis.training_speed.time_to_target_table` shows."""
    modes = {}
    for mode in MODES:
        run_dir = RUNS / mode
        records = metrics.read(run_dir)
        if not records:
            continue
        state = json.loads((run_dir / "bench.json").read_text())
        setup = sum(s["seconds"] for s in state["setups"]) / 60
        hit, cpu = metrics.time_to(records, target), metrics.time_to(records, target, clock="cpu_minutes")
        evals = [r for r in records if r.get("kind") == "eval"]
        steps = [r for r in records if "loss" in r]
        last = evals[-1] if evals else None
        rate = (steps[-1]["step"] / (60 * (last["train_minutes"] - last["eval_minutes"]))) if last and steps else float("nan")
        row = {"compiled": state["setups"][0]["compiled"], "setup_minutes": setup, "steps_per_s": rate}
        timed = [r for r in evals if "cpu_minutes" in r]
        if timed and timed[-1]["cpu_minutes"] > 0:
            row["steps_per_cpu_s"] = timed[-1]["step"] / (60 * timed[-1]["cpu_minutes"])
        if hit and cpu:
            row["hit"] = {"step": hit["step"], "value": hit["value"], "wall_minutes": hit["minutes"] + setup,
                          "wall_interpolated_minutes": hit["interpolated_minutes"] + setup,
                          "cpu_interpolated_minutes": cpu["interpolated_minutes"] + setup}
        else:
            row.update(best=max((r["val"]["best"] for r in evals), default=0.0), last_step=records[-1]["step"])
            if last and "cpu_minutes" in last:
                row.update(wall_minutes=last["train_minutes"] - last["eval_minutes"] + setup,
                           cpu_minutes=last["cpu_minutes"] + setup)
        modes[mode] = row
    return {"target": target, "modes": modes}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mode", choices=sorted(MODES), help="train this mode (one process, one thread)")
    parser.add_argument("--target", type=float, default=0.8, help="val exact match to reach (default 0.8)")
    parser.add_argument("--eval-minutes", type=float, default=4.0, help="training minutes between evaluations")
    parser.add_argument("--max-minutes", type=float, default=150.0, help="give up after this many training minutes")
    parser.add_argument("--report", action="store_true", help="print the table of both modes")
    parser.add_argument("--write", action="store_true", help="with --report: put the table in docs/training.md")
    args = parser.parse_args()
    if args.mode:
        train(args.mode, args.target, args.eval_minutes, args.max_minutes)
    if args.report or not args.mode:
        measured = results(args.target)
        print(time_to_target_table(measured))
        if args.write:
            print(docs_tables.publish("time-to-target", docs_tables.stamp(measured, sys.argv)))


if __name__ == "__main__":
    main()
