"""``loopzoo serve``: the interactive page (needs ``pip install 'loopzoo[web]'``)."""
from __future__ import annotations

import argparse

from ..errors import InputError, LoopzooError


def add_parser(sub) -> None:
    p = sub.add_parser(
        "serve", help="an interactive page: watch a model's answer change, iteration by iteration",
        description="Serve a page (Gradio) where you pick a bundled model or checkpoint, an input and the "
                    "iterations, and see the answer at every iteration, the residual, confidence and correctness "
                    "curves, and where halting would stop. Needs: pip install 'loopzoo[web]'.")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1, this machine only)")
    p.add_argument("--port", type=int, default=7860, help="port (default: 7860)")
    p.add_argument("--model", help="model shown first (default: the sudoku flagship)")
    p.add_argument("--checkpoint", action="append", default=[], metavar="DIR",
                   help="add a checkpoint directory to the model list (repeatable)")
    p.add_argument("--no-dirs", action="store_true",
                   help="hide the box that loads any local checkpoint directory (for a server others can reach)")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if not 0 < args.port < 65536:
        raise InputError(f"--port must be in 1..65535, got {args.port}")
    try:
        from . import page
    except ImportError as exc:
        raise LoopzooError(f"loopzoo serve needs Gradio and matplotlib ({exc}): pip install 'loopzoo[web]'") from None
    from .actions import bundled_models

    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    models = bundled_models() + list(args.checkpoint)
    if args.model and args.model not in models:
        models.insert(0, args.model)
    demo = page.build(models, default=args.model, allow_dirs=not args.no_dirs)
    page.launch(demo, host=args.host, port=args.port)
    return 0
