#!/usr/bin/env python
"""Print the markdown table of the bundled zoo (every figure read from each checkpoint's config.json)."""
from __future__ import annotations

import json

from loopzoo import hub


def main() -> None:
    print("| name | width | steps | train time | val acc | hard acc @ recommended iters | hard acc @ 30 | hard samples |")
    print("|---|---|---|---|---|---|---|---|")
    for name, directory in hub.bundled().items():
        meta = json.loads((directory / "config.json").read_text())
        ev, iters = meta["eval"], meta["model"]["iters"]
        hard = ev["test"]["at"]
        print(f"| `{name}` | {meta['model']['width']} | {meta['steps']} | {meta['wall_time']} "
              f"| {ev['val']['at'][str(iters)]:.1%} @ {iters} | {hard[str(iters)]:.1%} @ {iters} "
              f"| {hard['30']:.1%} | {ev['test']['samples']} |")


if __name__ == "__main__":
    main()
