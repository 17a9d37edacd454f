#!/usr/bin/env python
"""Train the sudoku and chess flagships at the paper's width on the public data, on a GPU (docs/gpu.md).

A command line over :mod:`loopzoo.train.campaign`. Each job trains one flagship with its timed recipe at
width 256 (8 heads) on its public training source (sudoku: generated+forum-hardest; chess:
lichess+stockfish) under bf16 autocast with the fast step (compiled on CUDA), for --minutes of
training, in OUT/NAME.TAG/, checkpointing every --checkpoint-minutes. Then its best model is evaluated
on the zoo's val split and the public hard split (sudoku: forum-hardest test; chess: Lichess test),
beside the bundled checkpoints of its name, and OUT/summary.json records steps, examples/s, minutes,
the device and the evaluations. --minutes is each job's total: the same command run again continues
a stopped job and only re-reads a finished one (a larger --minutes trains it further).

    python scripts/gpu_campaign.py --out gpu-runs                  # both jobs, 3 min each, on CUDA if there is one
    python scripts/gpu_campaign.py --out gpu-runs --bundle --export "$OUT"   # bundle what beats the zoo, copy it out
    python scripts/gpu_campaign.py --out /tmp/c --tiny --minutes 0.1 # the same at a tiny size, on a CPU, in seconds
    python scripts/gpu_campaign.py --out gpu-runs --tasks chess --minutes chess=6

A SIGTERM (e.g. from `timeout`) or Ctrl-C during training finishes the step in progress and checkpoints
it (elsewhere it stops at once); the summary and the export are written and the exit code is 130: the
same command continues. Errors in the options exit with code 2.
"""
from __future__ import annotations

import argparse
import sys

from loopzoo.errors import InputError, LoopzooError
from loopzoo.train import campaign


def minutes_arg(values: list[str]) -> float | dict[str, float]:
    """``["4"]`` -> 4.0; ``["sudoku=5", "chess=3"]`` -> per task."""
    if len(values) == 1 and "=" not in values[0]:
        return _number(values[0])
    per_task = {}
    for value in values:
        task, sep, number = value.partition("=")
        if not sep:
            raise InputError(f"--minutes: give one number for every job, or TASK=MINUTES pairs; got {values}")
        per_task[task] = _number(number)
    return per_task


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise InputError(f"--minutes: {text!r} is not a number") from None


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True, help="folder of the campaign's run folders and summary.json (made if missing)")
    p.add_argument("--tasks", nargs="+", default=list(campaign.PUBLIC), choices=list(campaign.PUBLIC),
                   help="which flagships to train, in this order (default: %(default)s)")
    p.add_argument("--minutes", nargs="+", default=[str(campaign.DEFAULT_MINUTES)], metavar="M|TASK=M",
                   help="training minutes of each job, or per task (default: %(default)s); a job's total over reruns")
    p.add_argument("--width", type=int, default=campaign.PAPER_WIDTH, help="model width (default: the paper's 256)")
    p.add_argument("--heads", type=int, help="attention heads (default: width // 32)")
    p.add_argument("--tag", default=campaign.DEFAULT_TAG,
                   help="the jobs' tag: run folders OUT/NAME.TAG, bundles loopzoo/zoo/NAME.TAG (default: %(default)s)")
    p.add_argument("--device", default="auto", help="auto (CUDA where there is one), cuda, cuda:N or cpu")
    p.add_argument("--batch", type=int, help="batch size (default: 512 on CUDA, 64 on a CPU, 16 with --tiny)")
    p.add_argument("--lr", type=float, help="learning rate (default: the timed recipe's)")
    p.add_argument("--precision", default="bf16", choices=["bf16", "fp32", "auto"], help="training precision (default: bf16 autocast)")
    compile_group = p.add_mutually_exclusive_group()
    compile_group.add_argument("--compile", dest="compile", action="store_true", default=None,
                               help="compile the block (default: on CUDA only)")
    compile_group.add_argument("--no-compile", dest="compile", action="store_false")
    p.add_argument("--checkpoint-minutes", type=float, default=1.0, help="minutes between checkpoints (default: 1)")
    p.add_argument("--eval-minutes", type=float, default=2.0,
                   help="minutes between evaluations during training, each keeping the best model (default: 2)")
    p.add_argument("--decay-fraction", type=float, default=0.2,
                   help="the last share of each job's budget at x0.1 learning rate (default: 0.2; 0: none)")
    p.add_argument("--val-samples", type=int, help="val items in the final evaluation (default: 500; --tiny: 16)")
    p.add_argument("--hard-samples", type=int, help="public hard items in the final evaluation (default: 500; --tiny: 16)")
    p.add_argument("--eval-iters", type=int, help="iterations the final evaluation runs to (default: 500; --tiny: 8)")
    p.add_argument("--train-size", type=int, help="first N training items (default: all; --tiny: 128)")
    p.add_argument("--no-verify", dest="verify", action="store_false",
                   help="skip checking the final answers with the task's verifier (cards then say: not measured)")
    p.add_argument("--bundle", action="store_true",
                   help="bundle a job's best model as loopzoo/zoo/NAME.TAG where it beats the bundled checkpoints of its name")
    p.add_argument("--export", help="copy summary.json and each job's model (its bundle where bundled) into this folder")
    p.add_argument("--tiny", action="store_true", help="width 16, 2 heads and tiny data and evaluations: a test on a CPU")
    p.add_argument("--no-progress", dest="progress", action="store_false", default=None, help="no progress bars")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    from loopzoo.train.trainer import TrainingStopped

    try:
        jobs = campaign.default_jobs(tuple(args.tasks), minutes_arg(args.minutes), args.width, args.heads, args.tag)
        settings = campaign.Settings(
            out=args.out, device=args.device, batch=args.batch, precision=args.precision, compile=args.compile,
            checkpoint_minutes=args.checkpoint_minutes, eval_minutes=args.eval_minutes,
            decay_fraction=args.decay_fraction, lr=args.lr, val_samples=args.val_samples,
            hard_samples=args.hard_samples, eval_iters=args.eval_iters, train_size=args.train_size,
            verify=args.verify, tiny=args.tiny, bundle=args.bundle, export=args.export, progress=args.progress)
        summary = campaign.run_campaign(jobs, settings)
    except TrainingStopped as exc:
        print(f"stopped: {exc}", file=sys.stderr)
        return exc.exit_code
    except LoopzooError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"summary: {settings.out / campaign.SUMMARY}")
    for ref, record in summary["jobs"].items():
        if ref in {job.ref for job in jobs}:
            print(f"  {ref}: {record.get('status')}, bundled: {record.get('bundled') or 'no'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
