#!/usr/bin/env python
"""Train, evaluate and bundle the zoo: ``loopzoo/zoo/<name>/`` = config.json + model.safetensors + README.md.

A command line over :mod:`loopzoo.train.zoo` (recipes, runs) and :mod:`loopzoo.bundle` (evaluation,
scoring, bundling, cards).

Each name trains with its fixed-step recipe into ``runs/<name>/`` (resumable: rerunning continues from the
newest checkpoint), is evaluated on the bundled data at every iteration up to
``max(500, recommended)``, and is bundled with a model card whose every number comes from that
evaluation.

Two ways to say how long to train:

* ``--minutes M`` (the flagships): train for a wall-clock budget. The learning rate is constant
  after warmup, and the final x0.1 decay starts explicitly, for the last ``--decay-fraction`` of
  the budget: a run whose length is not known up front cannot place a decay by epoch, and a
  constant rate leaves the run free to go on in a later call. The model is evaluated every
  ``--eval-minutes``; the best by val exact match is kept in ``runs/<name>/best`` and bundled
  where it beats the bundled checkpoint on val exact match at the recommended iterations (a
  bundle measured on an older val split, before the data were rewritten, is measured again).
  A run that has decayed stays decayed when continued, unless ``--new-cycle`` returns it to the
  full rate (a restart, as in cosine restarts), or ``--decay-again`` starts a further stage (x0.01
  after x0.1) for a run that went flat at its first decay.
* no ``--minutes``: the fixed-step CPU-scale recipe of the name, trained to its end once.
  ``--curve-every E`` reruns a bundled fixed-step checkpoint's own recipe (from its card) with an
  evaluation every E epochs at the card's recommended iterations, for its learning curve, and says
  whether the rerun trained the bundled weights again (in `runs/<name>.rerun/`, never bundled).

    python scripts/train_zoo.py sudoku-internal-recall-outernorm --minutes 120
    python scripts/train_zoo.py                      # every name of the zoo, in order (fixed-step recipes)
    python scripts/train_zoo.py --bundle-only        # re-evaluate and re-bundle finished runs
    python scripts/train_zoo.py chess-recall-outernorm --remeasure   # a card measured before the data were rewritten
    python scripts/train_zoo.py sudoku-internal-recall-outernorm --benchmarks   # add its public benchmarks to the card
    python scripts/train_zoo.py sudoku-internal-recall-outernorm --benchmarks --breadth 16   # and with 16 trajectories
    python scripts/train_zoo.py prefix-sums-internal-recall-outernorm --curve-every 3 --no-bundle

A wider try of a timed name (``--width 256``, heads of 32 channels unless ``--heads``) trains in its
own folder, ``runs/<name>.w256/``, continues there like any timed run, and replaces the bundled
checkpoint only if it beats it on val exact match at the recommended iterations:

    python scripts/train_zoo.py sudoku-internal-recall-outernorm --width 256 --minutes 60 --decay-fraction 0 --no-bundle
    python scripts/train_zoo.py sudoku-internal-recall-outernorm --width 256 --bundle-only
"""
from __future__ import annotations

import argparse

import torch

import loopzoo
from loopzoo import benchmarks, bundle
from loopzoo.errors import ConfigError
from loopzoo.hardware import default_threads
from loopzoo.train import zoo
from loopzoo.train.trainer import TrainingStopped


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", help="names to train (default: the zoo list)")
    parser.add_argument("--threads", type=int, default=default_threads(), help="torch CPU threads (default: all cores)")
    parser.add_argument("--minutes", type=float, help="train for this wall-clock budget (timed recipe, see above)")
    parser.add_argument("--decay-fraction", type=float, default=0.2,
                        help="with --minutes: the last share of the budget at x0.1 learning rate "
                             "(0: no decay now; 1: decay from the first step, e.g. to finish a constant-rate run)")
    parser.add_argument("--eval-minutes", type=float, default=10.0, help="with --minutes: minutes between evaluations")
    parser.add_argument("--new-cycle", action="store_true", help="with --minutes: undo an earlier decay")
    parser.add_argument("--decay-again", action="store_true",
                        help="with --minutes, on a decayed run: one more x0.1 stage from now on (x0.01 after x0.1)")
    parser.add_argument("--width", type=int,
                        help="with --minutes or --bundle-only: train this width instead of the recipe's, in runs/NAME.wWIDTH; "
                             "its model is bundled only where it beats the bundled one on val")
    parser.add_argument("--heads", type=int, help="with --width: attention heads (default: width // 32)")
    parser.add_argument("--tag", choices=sorted(zoo.TAGGED_RECIPES),
                        help="with --minutes --no-bundle: a tagged recipe (loopzoo.train.zoo.TAGGED_RECIPES), trained in runs/NAME.TAG")
    parser.add_argument("--no-bundle", action="store_true",
                        help="with --minutes: train only; evaluate and bundle later with --bundle-only")
    parser.add_argument("--bundle-only", action="store_true",
                        help="no training: evaluate and bundle the best model of timed runs and finished fixed-step runs")
    parser.add_argument("--remeasure", action="store_true",
                        help="no training: measure bundled checkpoints whose cards predate the current bundled "
                             "data again, and rewrite their cards (weights and training record kept)")
    parser.add_argument("--benchmarks", action="store_true",
                        help="no training: measure bundled checkpoints on their task's public benchmarks "
                             "(loopzoo.benchmarks) at the card's recommended iterations and add them to the card")
    parser.add_argument("--breadth", type=int, metavar="K",
                        help="with --benchmarks: K trajectories per item, stopping at the first verified answer "
                             "(solve(..., breadth=K, halt='valid')), recorded beside the fixed-depth record (default 1: fixed depth)")
    parser.add_argument("--noise", type=float, help="with --benchmarks --breadth: the perturbation of the starts (default 1.0)")
    parser.add_argument("--curve-every", type=int, metavar="EPOCHS",
                        help="no --minutes: rerun a bundled fixed-step checkpoint's recipe (from its card) into "
                             "runs/NAME.rerun (never bundled), evaluating every EPOCHS epochs at the card's recommended iterations, for "
                             "its learning curve (scripts/plot_curves.py NAME.rerun); says whether the weights match")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args()
    if args.minutes is not None and not args.minutes > 0:
        parser.error(f"--minutes must be positive, got {args.minutes}")
    if not 0 <= args.decay_fraction <= 1:
        parser.error(f"--decay-fraction must be in [0, 1], got {args.decay_fraction}")
    if not args.eval_minutes > 0:
        parser.error(f"--eval-minutes must be positive, got {args.eval_minutes}")
    if args.width is not None and (args.minutes is None and not args.bundle_only):
        parser.error("--width needs --minutes or --bundle-only (a timed run)")
    if args.width is not None and args.width < 1 or args.heads is not None and args.heads < 1:
        parser.error("--width and --heads must be positive")
    if args.heads is not None and args.width is None:
        parser.error("--heads needs --width")
    if args.width is not None and args.width % zoo.heads_for(args.width, args.heads):
        parser.error(f"--width {args.width} is not divisible by {zoo.heads_for(args.width, args.heads)} heads")
    if args.tag is not None and (args.minutes is None or not args.no_bundle or args.width is not None):
        parser.error("--tag needs --minutes and --no-bundle, and cannot go with --width")
    if args.decay_again and (args.minutes is None or args.new_cycle):
        parser.error("--decay-again needs --minutes and cannot go with --new-cycle")
    if args.no_bundle and args.minutes is None and args.curve_every is None:
        parser.error("--no-bundle needs --minutes or --curve-every")
    if args.curve_every is not None and (args.minutes is not None or args.bundle_only or args.remeasure):
        parser.error("--curve-every reruns a fixed-step recipe: it cannot go with --minutes, --bundle-only or --remeasure")
    if args.curve_every is not None and args.curve_every < 1:
        parser.error(f"--curve-every must be a positive number of epochs, got {args.curve_every}")
    if args.remeasure and (args.minutes is not None or args.bundle_only or args.width is not None):
        parser.error("--remeasure trains nothing: it cannot go with --minutes, --bundle-only or --width")
    if args.benchmarks and (args.minutes is not None or args.bundle_only or args.remeasure or args.width is not None
                            or args.curve_every is not None):
        parser.error("--benchmarks trains nothing: it cannot go with --minutes, --bundle-only, --remeasure, --width "
                     "or --curve-every")
    if (args.breadth is not None or args.noise is not None) and not args.benchmarks:
        parser.error("--breadth and --noise need --benchmarks")
    breadth, noise = 1 if args.breadth is None else args.breadth, 1.0 if args.noise is None else args.noise
    try:
        benchmarks.check_search(breadth, noise, 0)
    except loopzoo.InputError as exc:
        parser.error(f"--breadth/--noise: {exc}")
    torch.set_num_threads(args.threads)
    names = args.names or zoo.zoo_names()
    for name in names:
        loopzoo.config_for(name)  # unknown names fail before any work
        if args.tag is not None:  # the task and, where the recipe names one, the model must fit the tag
            try:
                zoo.timed_recipe(loopzoo.config_for(name).task, args.tag)
                zoo.tagged_name(args.tag, name)
            except ConfigError as exc:
                parser.error(str(exc))
        if args.remeasure:
            bundle.remeasure(name)
            continue
        if args.benchmarks:
            if loopzoo.config_for(name).task not in benchmarks.BENCHMARKS:
                print(f"{name}: no public benchmark for its task; skipped")
            else:
                bundle.measure_benchmarks(name, breadth=breadth, noise=noise)
            continue
        if args.bundle_only:
            model_dir = zoo.finished(name, args.width)
            if model_dir is None:
                print(f"{name}: not trained; skipped")
                continue
        elif args.minutes is not None:
            model_dir = zoo.train_timed(name, args.minutes, args.decay_fraction, args.eval_minutes, args.new_cycle,
                                        progress=not args.quiet, width=args.width, heads=args.heads,
                                        decay_again=args.decay_again, tag=args.tag)
            if args.no_bundle:
                continue
        else:
            model_dir = zoo.train_fixed_step(name, progress=not args.quiet, curve_every=args.curve_every)
            if args.no_bundle or args.curve_every is not None:  # a rerun draws a curve; it replaces no bundle
                continue
        bundle.evaluate_and_bundle(name, model_dir)  # a timed run's best replaces only a worse bundle


if __name__ == "__main__":
    try:
        main()
    except TrainingStopped as exc:  # Ctrl-C or SIGTERM: the step in progress is checkpointed
        raise SystemExit(f"train_zoo: {exc}") from None
    except loopzoo.LoopzooError as exc:
        raise SystemExit(f"train_zoo: {exc}") from None
