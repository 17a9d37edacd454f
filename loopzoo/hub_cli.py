"""``loopzoo publish DIR --repo ORG/NAME [--dry-run]`` and ``loopzoo card DIR``."""
from __future__ import annotations

import argparse


def run(args: argparse.Namespace) -> int:
    from . import hub

    files = hub.publish(args.directory, args.repo, dry_run=args.dry_run, private=args.private)
    verb = "would upload" if args.dry_run else "uploaded"
    print(f"{verb} {', '.join(files)} from {args.directory} to {args.repo}")
    return 0


def run_card(args: argparse.Namespace) -> int:
    from . import card, checkpoint

    checkpoint.load(args.directory)  # strict: a card only for a checkpoint that loads
    print(f"wrote {card.write(args.directory)}")
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser("card", help="write a checkpoint's model card (README.md)",
                       description="Render the model card of a checkpoint directory into DIR/README.md from its "
                                   "config.json (a zoo checkpoint's evaluation, or a `loopzoo train` run's final one).")
    p.add_argument("directory", help="checkpoint directory (config.json + model.safetensors)")
    p.set_defaults(func=run_card)

    p = sub.add_parser("publish", help="upload a checkpoint to the Hugging Face Hub",
                       description="Check a checkpoint directory strictly, then create the Hub repository (if needed) "
                                   "and upload config.json, model.safetensors and README.md. Needs a Hub token "
                                   "(huggingface-cli login or HF_TOKEN).")
    p.add_argument("directory", help="checkpoint directory (config.json + model.safetensors + README.md)")
    p.add_argument("--repo", required=True, metavar="ORG/NAME", help="target repository id")
    p.add_argument("--dry-run", action="store_true", help="check and list the files; upload nothing")
    p.add_argument("--private", action="store_true", help="create the repository as private")
    p.set_defaults(func=run)
