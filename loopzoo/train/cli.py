"""``loopzoo train NAME`` and ``python -m loopzoo.train`` (also under ``torchrun``)."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

OVERRIDES = ("epochs", "batch_size", "lr", "seed", "train_size", "eval_samples", "eval_iters", "eval_every",
             "checkpoint_every", "max_steps", "max_iters", "log_every", "ema", "segments", "warmup_steps")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", nargs="?", help="a model name, e.g. prefix-sums-internal-recall-outernorm")
    p.add_argument("--out", metavar="DIR", help="run directory (default: runs/NAME)")
    p.add_argument("--resume", metavar="DIR", help="continue the run in DIR from its newest checkpoint")
    g = p.add_argument_group("model (defaults: the paper's sizes)")
    g.add_argument("--width", type=int)
    g.add_argument("--heads", type=int)
    g = p.add_argument_group("recipe (defaults: the paper's: 100 epochs, batch 500, AdamW, warmup 10, x0.1 at 60)")
    g.add_argument("--epochs", type=int)
    g.add_argument("--batch-size", type=int)
    g.add_argument("--lr", type=float)
    g.add_argument("--seed", type=int)
    g.add_argument("--warmup-steps", type=int, metavar="N",
                   help="a linear warmup over the first N steps, on top of the per-epoch one (default 0)")
    g.add_argument("--max-iters", type=int, help="progressive loss depth (default 30)")
    g.add_argument("--max-steps", type=int, help="stop after this many steps")
    g.add_argument("--train-size", type=int, help="use the first N training items")
    g.add_argument("--length", type=int, help="prefix sums: training bit length (default 32)")
    g.add_argument("--ema", type=float, metavar="DECAY",
                   help="evaluate and save an exponential moving average of the weights with this decay, e.g. 0.999")
    g.add_argument("--segments", type=int, metavar="S",
                   help="deep supervision: train each batch in S optimizer steps, each from the previous one's "
                        "final state (default 1)")
    g = p.add_argument_group("evaluation and checkpoints")
    g.add_argument("--eval-samples", type=int)
    g.add_argument("--eval-iters", type=int)
    g.add_argument("--eval-every", type=int, help="epochs between evaluations")
    g.add_argument("--checkpoint-every", type=int, help="steps between checkpoints")
    g.add_argument("--log-every", type=int, help="steps between loss records")
    g = p.add_argument_group("hardware")
    g.add_argument("--device", help="cpu or cuda (default: cuda if available)")
    g.add_argument("--compile", action=argparse.BooleanOptionalAction, default=None,
                   help="torch.compile the block (default: for runs of 2,000 steps or more, with the fast step)")
    g.add_argument("--no-fast-step", dest="fast_step", action="store_false",
                   help="the step as before 2026-12: SDPA attention everywhere, no compile unless --compile")
    g.add_argument("--precision", choices=("auto", "bf16", "fp32"),
                   help="bf16 autocast or fp32 (default auto: bf16 on CUDA and on CPUs with AVX-512 BF16 or AMX)")
    g.add_argument("--no-bf16", action="store_true", help="same as --precision fp32")
    g.add_argument("--no-augment", action="store_true", help="no random symmetries of the training examples")
    g.add_argument("--threads", type=int, help="torch CPU threads (default: all cores)")
    g.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    import torch

    from .. import config_for
    from ..hardware import default_threads
    from ..errors import ConfigError
    from ..runs import RunDir
    from .recipe import paper_recipe
    from .trainer import Trainer

    torch.set_num_threads(args.threads or default_threads())
    if args.resume:
        resumed = RunDir(args.resume)
        if resumed.saved() is None:
            raise ConfigError(f"{args.resume} is not a run directory (no train.json)")
        model_config, config = resumed.configs()
        run_dir = resumed.path
    else:
        if not args.name:
            raise ConfigError("give a model name to train, or --resume DIR")
        model_config = config_for(args.name, **{k: getattr(args, k) for k in ("width", "heads") if getattr(args, k)})
        overrides = {k: getattr(args, k) for k in OVERRIDES if getattr(args, k) is not None}
        if args.precision or args.no_bf16:
            overrides["precision"] = "fp32" if args.no_bf16 else args.precision
        if args.no_augment:
            overrides["augment"] = False
        if args.length:
            overrides["task_options"] = {"length": args.length}
        config = paper_recipe(model_config.task, **overrides)
        run_dir = Path(args.out or Path("runs") / args.name)
    trainer = Trainer(model_config, config, run_dir, device=args.device, compile=args.compile,
                      progress=False if args.quiet else None, fast_step=args.fast_step)
    try:
        if args.resume:
            trainer.resume()
        summary = trainer.fit()
    finally:
        trainer.close()
    if trainer.dist.is_main:
        print(json.dumps({k: v for k, v in summary.items() if k != "eval"}))
        ev = summary.get("eval", {})
        for split in ("val", "test"):
            if split in ev:
                print(f"{split}: final accuracy {ev[split]['final']:.4f} at {config.eval_iters} iterations "
                      f"(best {ev[split]['best']:.4f} at {ev[split]['best_iter']})")
        print(f"checkpoint: {run_dir}")
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser("train", help="train a model with the paper's recipe",
                       description="Train NAME with the paper's recipe (docs/design.md §4); flags scale it down for a CPU. "
                                   "Under torchrun it runs DDP: torchrun --nproc_per_node=2 -m loopzoo.train NAME ...")
    add_arguments(p)
    p.set_defaults(func=run)


def main(argv=None) -> int:
    from ..errors import LoopzooError

    parser = argparse.ArgumentParser(prog="python -m loopzoo.train", description="Train a loopzoo model.")
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return run(args)
    except LoopzooError as exc:
        print(f"loopzoo: error: {exc}", file=sys.stderr)
        return exc.exit_code
