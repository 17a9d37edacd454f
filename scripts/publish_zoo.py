#!/usr/bin/env python
"""Publish every bundled zoo checkpoint to the Hugging Face Hub as ``ORG/<name>``.

    python scripts/publish_zoo.py --org loopzoo --dry-run
    python scripts/publish_zoo.py --org my-org [NAME ...]     # needs a Hub token
"""
from __future__ import annotations

import argparse

from loopzoo import hub


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", help="bundled names (default: all)")
    parser.add_argument("--org", default=hub.hub_org())
    parser.add_argument("--dry-run", action="store_true")
    parser.add_argument("--private", action="store_true")
    args = parser.parse_args()
    zoo = hub.bundled()
    for name in args.names or sorted(zoo):
        if name not in zoo:
            raise SystemExit(f"{name} is not bundled; bundled: {', '.join(sorted(zoo)) or '(none)'}")
        files = hub.publish(zoo[name], f"{args.org}/{name}", dry_run=args.dry_run, private=args.private)
        print(f"{'would upload' if args.dry_run else 'uploaded'} {name} -> {args.org}/{name}: {', '.join(files)}")


if __name__ == "__main__":
    main()
