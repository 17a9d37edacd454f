#!/usr/bin/env python
"""Print the markdown table of the bundled zoo (every figure read from each checkpoint's config.json)."""
from __future__ import annotations

import json

import loopzoo
from loopzoo import hub


def main() -> None:
    print("| name | width | steps | train time | recommended iters | val exact | hard exact | hard exact @ 30 "
          "| hard partial (what) | hard samples |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, directory in hub.bundled().items():
        meta = json.loads((directory / "config.json").read_text())
        ev, iters = meta["eval"], meta["model"]["iters"]
        hard = ev["test"]["at"]
        partial = ev["test"].get("partial_at", {}).get(str(iters))
        what = loopzoo.create(name, width=8, heads=2).task.partial_name if partial is not None else ""
        print(f"| `{name}` | {meta['model']['width']} | {meta['steps']} | {meta['wall_time']} | {iters} "
              f"| {ev['val']['at'][str(iters)]:.1%} | {hard[str(iters)]:.1%} | {hard['30']:.1%} "
              f"| {'–' if partial is None else f'{partial:.1%} ({what})'} | {ev['test']['samples']} |")


if __name__ == "__main__":
    main()
