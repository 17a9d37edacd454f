#!/usr/bin/env python
"""Print the markdown table of the bundled zoo, or (--write) regenerate the tables in README.md and
docs/zoo.md; every figure is read from each checkpoint's config.json (``loopzoo.card.zoo_table``)."""
from __future__ import annotations

import argparse
from pathlib import Path

from loopzoo import card

ROOT = Path(__file__).resolve().parents[1]
DOCS = ("README.md", "docs/zoo.md")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--write", action="store_true", help=f"rewrite the generated tables in {', '.join(DOCS)}")
    parser.add_argument("--kind", default="all", choices=("all", "flagships"), help="which table to print")
    args = parser.parse_args()
    if not args.write:
        print(card.zoo_table(args.kind))
        return
    for name in DOCS:
        path = ROOT / name
        text = path.read_text()
        new = card.replace_tables(text)
        if new != text:
            path.write_text(new)
        print(f"{name}: {'rewritten' if new != text else 'up to date'}")


if __name__ == "__main__":
    main()
