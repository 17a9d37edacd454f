#!/usr/bin/env python
"""Print the markdown table of the bundled zoo, or (--write) regenerate its tables in README.md
(``zoo-flagships``) and docs/zoo.md (``zoo-all``); every figure is read from each checkpoint's
config.json (``loopzoo.card.zoo_table``, placed by ``loopzoo.docs_tables``)."""
from __future__ import annotations

import argparse

from loopzoo import card, docs_tables

TABLES = ("zoo-flagships", "zoo-all")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--write", action="store_true",
                        help=f"rewrite the generated tables in {', '.join(docs_tables.TABLES[n].page for n in TABLES)}")
    parser.add_argument("--kind", default="all", choices=("all", "flagships"), help="which table to print")
    args = parser.parse_args()
    if not args.write:
        print(card.zoo_table(args.kind))
        return
    for name in TABLES:
        print(f"{docs_tables.TABLES[name].page}: {'rewritten' if docs_tables.write(name) else 'up to date'}")


if __name__ == "__main__":
    main()
