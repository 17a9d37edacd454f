#!/usr/bin/env python
"""Run the stability analysis over every checkpoint of the zoo and write a markdown report.

    python scripts/reproduce_paper.py                      # every loopzoo/zoo/*/ checkpoint
    python scripts/reproduce_paper.py runs/a runs/b --iters 100 --out runs/analysis-repro
    python scripts/reproduce_paper.py --grid sudoku --samples 500 --plots --out docs/repro   # the equal-budget grid

Per task: a table of recall x norm with val and hard accuracy at the last iteration, the
overthinking gap, the final residual, the spectral radius of dF/ds, rho(Wx) and the input
sensitivity; then, for each of the paper's claims (docs/design.md §6), whether our checkpoints support it,
with the numbers and the rule used. Each checkpoint's JSON report is kept in --out and reused
when the settings and the checkpoint's weights are unchanged (--fresh recomputes).

With ``--grid TASK`` the checkpoints are the finished runs of ``scripts/train_grid.py`` (equal budget
per variant), and the report adds the training side: claim C4 (pre/peri norm diverge at high
learning rates) from the runs' losses, and with ``--plots`` the C4 runs' loss and state-norm curves.

A command line over :mod:`loopzoo.analysis.claims`, which holds the analysis, the tables and the rules.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from loopzoo import LoopzooError
from loopzoo.analysis import claims
from loopzoo.analysis.report import Settings
from loopzoo.hub import ZOO_DIR


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("checkpoints", nargs="*", help="checkpoint directories (default: every loopzoo/zoo/*/)")
    p.add_argument("--grid", nargs="+", metavar="TASK", choices=("prefix-sums", "sudoku", "chess"), help="the finished runs of scripts/train_grid.py for these tasks")
    p.add_argument("--out", default="runs/analysis-reproduce", help="folder for JSON reports, plots and REPORT.md")
    p.add_argument("--iters", type=int, default=500)
    p.add_argument("--samples", type=int, default=100)
    p.add_argument("--probe-samples", type=int, default=32)
    p.add_argument("--jacobian-steps", type=int, default=100)
    p.add_argument("--data", default="val", choices=["val", "hard"])
    p.add_argument("--scaling", action="store_true", help="also measure the difficulty x iterations grid")
    p.add_argument("--scaling-samples", type=int, default=50)
    p.add_argument("--plots", action="store_true", help="PNG plots per checkpoint and per task (needs matplotlib)")
    p.add_argument("--fresh", action="store_true", help="recompute reports that already exist")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    p.add_argument("--doc", metavar="PATH", help="also write the report as a docs page (e.g. docs/reproduction.md), "
                   "its plots (with --plots) copied to img/<page name>/ beside it")
    p.add_argument("--intro", metavar="FILE", help="markdown put under the docs page's title (with --doc)")
    args = p.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)

    settings = Settings(data=args.data, iters=args.iters, samples=args.samples, probe_samples=args.probe_samples,
                        jacobian_steps=args.jacobian_steps, scaling=args.scaling, scaling_samples=args.scaling_samples)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.grid and args.checkpoints:
        p.error("give checkpoint directories or --grid, not both")
    if args.intro and not args.doc:
        p.error("--intro goes with --doc")
    if args.intro and not Path(args.intro).is_file():
        p.error(f"--intro: no such file: {args.intro}")
    try:
        dirs = claims.grid_checkpoints(args.grid) if args.grid else claims.find_checkpoints(args.checkpoints)
    except LoopzooError as exc:
        raise SystemExit(str(exc)) from None
    if not dirs and not args.grid:
        print(f"no checkpoints found under {ZOO_DIR} (the zoo is empty); writing an empty report", file=sys.stderr)
    command = f"python scripts/reproduce_paper.py {' '.join(argv if argv is not None else sys.argv[1:])}"
    reports = claims.reproduce(dirs, settings, out, grid_tasks=args.grid, fresh=args.fresh, plots=args.plots,
                               doc=args.doc and Path(args.doc), intro_file=args.intro, command=command)
    print(f"wrote {out / 'REPORT.md'} ({len(reports)} checkpoints)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
