"""The ``loopzoo`` command line: list, info, solve (and subcommands added by other modules)."""
from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from . import __version__
from .errors import LoopzooError
from .registry import REGISTRIES

EPILOG = """\
Model names are {task}-{recall}-{norm}, e.g. sudoku-internal-recall-outernorm:
  task    prefix-sums | sudoku | chess
  recall  no-recall | recall | internal-recall
  norm    prenorm | perinorm | outernorm | gru
plus {task}-fixed15, the 15-layer untied baseline.

examples:
  loopzoo list 'sudoku-*'
  loopzoo info prefix-sums-internal-recall-outernorm
  loopzoo solve prefix-sums-internal-recall-outernorm 0110100 --weights runs/ps --iters 40
  loopzoo solve sudoku-internal-recall-outernorm PUZZLE --iters 500 --halt valid --restarts 2
  loopzoo solve sudoku-internal-recall-outernorm PUZZLE --iters 300 --halt valid --breadth 16
"""

# Modules that add subcommands: each has ``add_parser(subparsers)``; absent ones are skipped.
SUBCOMMAND_MODULES = ("loopzoo.data.cli", "loopzoo.train.cli", "loopzoo.hub_cli", "loopzoo.analysis.cli", "loopzoo.demo",
                      "loopzoo.web.cli")


def _list(args: argparse.Namespace) -> int:
    from . import list_models

    if args.kind == "models":
        names = list_models(args.pattern)
    else:
        import fnmatch

        names = [n for n in REGISTRIES[args.kind].names() if not args.pattern or fnmatch.fnmatchcase(n, args.pattern)]
    registry = REGISTRIES[args.kind]
    for name in names:
        print(f"{name:45s} {registry.source(name)}" if args.source else name)
    if not names:
        print(f"no {args.kind} match {args.pattern!r}", file=sys.stderr)
        return 1
    return 0


def describe_checkpoint(meta: dict) -> list[str]:
    """Lines on what a checkpoint's config.json records: recommended iterations, headline accuracy
    (exact match at those iterations, else at the most the evaluation measured) and training budget."""
    from .card import card_meta

    iters = meta["model"].get("iters")
    tuned = meta.get("iters_note") or "eval" in meta
    lines = [f"iterations:  {iters} recommended" + (f" ({meta['iters_note']})" if meta.get("iters_note") else "")
             if tuned else f"iterations:  {iters} (the config's default; not tuned on this checkpoint)"]
    ev = card_meta(meta).get("eval", {})
    for split in ("val", "test"):
        at = ev.get(split, {}).get("at", {})
        shown = str(iters) if str(iters) in at else max(at, key=int, default=None)
        if shown is not None:
            lines.append(f"accuracy:    {100 * at[shown]:.1f}% exact match on {ev[split].get('samples', '?')} "
                         f"{ev[split].get('label', split)} items at {shown} iterations")
    if len(lines) == 1:
        lines.append("accuracy:    not measured in this checkpoint's config.json")
    train = meta.get("train", {})
    budget = [f"{meta['steps']:,} steps" if isinstance(meta.get("steps"), int) else None,
              f"batch {train['batch_size']}" if train.get("batch_size") else None,
              meta.get("wall_time"), meta.get("hardware")]
    lines.append("training:    " + ("; ".join(str(b) for b in budget if b) or "not recorded"))
    return lines


def _info(args: argparse.Namespace) -> int:
    """Describe what ``load(NAME)`` gives: the bundled checkpoint (or a checkpoint directory) where
    there is one, else the registered name's default architecture (what ``create(NAME)`` builds)."""
    from pathlib import Path

    from . import config_for
    from .checkpoint import read_config
    from .hub import bundled
    from .model import build
    from .registry import models

    zoo = bundled()
    if Path(args.name).is_dir() or args.name in zoo:
        directory = Path(args.name) if Path(args.name).is_dir() else zoo[args.name]
        config, meta = read_config(directory)
        kind = "bundled checkpoint" if args.name in zoo else "checkpoint directory"
        what = f"{kind} {directory} (what loopzoo.load({args.name!r}) gives)"
        source = models.source(args.name) if args.name in models.names() else str(directory)
    elif args.name in models.names():
        config, meta, source = config_for(args.name), None, models.source(args.name)
        what = (f"default architecture, random weights (what loopzoo.create({args.name!r}) builds); "
                "no checkpoint is bundled for this name")
    else:  # a Hub repository id (cache or download), or an unknown name: resolve raises a clear error
        from .hub import resolve

        directory = resolve(args.name)
        config, meta = read_config(directory)
        what, source = f"checkpoint {directory} (what loopzoo.load({args.name!r}) gives)", args.name
    model = build(config)
    print(f"name:        {config.name or args.name}")
    print(f"describes:   {what}")
    print(f"source:      {source}")
    print(f"task:        {config.task}  (example input: {model.task.example})")
    print(f"architecture: width {config.width}, {config.heads} heads, depth {config.depth}, "
          f"{config.recall}, {config.norm}")
    print(f"parameters:  {model.num_parameters():,}")
    if meta is not None:
        print("\n".join(describe_checkpoint(meta)))
    print("config:      " + json.dumps(config.to_dict(), sort_keys=True))
    return 0


def model_from_args(args: argparse.Namespace):
    """The model a command names: ``--weights DIR``, ``--random-init`` (with ``--width/--heads``) or a load."""
    from . import create, load

    if getattr(args, "weights", None):
        return load(args.weights)
    if args.random_init:
        overrides = {k: v for k, v in (("width", args.width), ("heads", args.heads)) if v}
        print("note: random weights (--random-init); results are meaningless", file=sys.stderr)
        return create(args.name, **overrides)
    return load(args.name)


def marks(encoding: str | None) -> dict[bool | None, str]:
    """The mark of each verdict (valid, invalid, unknown): check marks where the terminal can print them."""
    try:
        "\u2713\u2717".encode(encoding or "ascii")
        return {True: "\u2713", False: "\u2717", None: "?"}
    except (UnicodeEncodeError, LookupError):
        return {True: "+", False: "x", None: "?"}


def _solve(args: argparse.Namespace) -> int:
    model = model_from_args(args)
    solutions = model.solve(list(args.inputs), iters=args.iters, device=args.device, halt=args.halt,
                            compile=args.compile, restarts=args.restarts, seed=args.seed, breadth=args.breadth,
                            noise=args.noise, return_info=True)
    mark = marks(getattr(sys.stdout, "encoding", None))
    checks = model.task.can_verify()
    for sol in solutions:
        answer = sol.answer
        line = str(answer) if not hasattr(answer, "san") else f"{answer.uci} ({answer.san})"
        notes = []
        if checks:
            notes.append(f"{mark[sol.verified]} {sol.status}" + ("" if sol.verified else f": {sol.reason}"))
        if args.halt or args.restarts or args.breadth != 1:
            notes.append(f"[{sol.total_iters} iterations" + (f", {sol.runs} runs" if sol.runs > 1 else "")
                         + (f", {sol.trajectories} trajectories" if sol.trajectories > 1 else "") + "]")
        if notes:  # beside a one-line answer, under a multi-line one (a maze)
            line += ("\n" if "\n" in line else "  ") + "  ".join(notes)
        print(line)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="loopzoo",
        description="Looped transformers: list, inspect, train and run weight-tied models.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"loopzoo {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("list", help="list model names (or other components)", description="List registered names.")
    p.add_argument("pattern", nargs="?", help="shell glob, e.g. 'sudoku-*'")
    p.add_argument("--kind", default="models", choices=list(REGISTRIES),
                   help="which registry to list (default: models)")
    p.add_argument("--source", action="store_true", help="show where each name comes from (built-in or plugin)")
    p.set_defaults(func=_list)

    p = sub.add_parser("info", help="show a model's configuration", description="Show the config of a name or checkpoint.")
    p.add_argument("name", help="a model name or a checkpoint directory")
    p.set_defaults(func=_info)

    p = sub.add_parser("solve", help="answer puzzles with a model",
                       description="Solve inputs: sudoku strings (81 chars, '.' blank), FENs, or bit strings.")
    p.add_argument("name", help="a model name or a checkpoint directory")
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="one or more task inputs")
    p.add_argument("--iters", type=int, default=None, help="loop iterations (default: the model's)")
    p.add_argument("--weights", metavar="DIR", help="checkpoint directory to load")
    p.add_argument("--random-init", action="store_true", help="use random weights (to try the API without a checkpoint)")
    p.add_argument("--width", type=int, help="width for --random-init (default: the paper's 256)")
    p.add_argument("--heads", type=int, help="attention heads for --random-init (default: 8)")
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:1 ... (default: cpu)")
    p.add_argument("--halt", metavar="SPEC", help="stop each input early: residual:1e-4, unchanged:5, confidence:0.99, "
                                                  "or valid (at the first answer that passes the task's check) "
                                                  "(--iters becomes a cap; the iterations used are printed)")
    p.add_argument("--restarts", type=int, default=0, metavar="K",
                   help="run an input whose answer fails the check again from a perturbed start, up to K times")
    p.add_argument("--breadth", type=int, default=1, metavar="K",
                   help="run K trajectories per input side by side (from e and K-1 perturbed starts); the answer is a "
                        "verified one if any, else the most common (ties: the most confident) (default 1)")
    p.add_argument("--noise", type=float, default=1.0,
                   help="scale of the perturbed starts of --restarts and --breadth (default 1.0)")
    p.add_argument("--seed", type=int, default=0, help="seed of the restarts' and --breadth's start states (default 0)")
    p.add_argument("--compile", action="store_true", help="torch.compile the block first (slow start, faster loop)")
    p.set_defaults(func=_solve)

    import importlib

    for module in SUBCOMMAND_MODULES:
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name and module.startswith(exc.name):
                continue
            raise
        mod.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        return args.func(args)
    except LoopzooError as exc:
        print(f"loopzoo: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except BrokenPipeError:  # e.g. piped into `head`
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print("loopzoo: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
