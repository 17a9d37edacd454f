"""Run the fuzz suite with a long budget and print per-target counts.

    nice -n 19 .venv/bin/python scripts/fuzz_long.py [--examples 10000] [--timeout 20] [-k EXPR]

Runs ``pytest -m fuzz tests/fuzz`` under the ``long`` hypothesis profile (random seeds,
``--examples`` cases per target, each case bounded by ``--timeout`` seconds) and prints, per
target: cases run, results, LoopzooErrors, unexpected exceptions and hangs. Exits non-zero on
any unexpected exception or hang. The counts are also written to ``--report`` (JSON).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--examples", type=int, default=10_000, help="cases per target (default 10,000)")
    parser.add_argument("--timeout", type=float, default=20.0, help="seconds one case may take before it counts as a hang")
    parser.add_argument("--report", default=str(Path(tempfile.gettempdir()) / "loopzoo_fuzz_report.json"), help="where to write the counts (JSON)")
    parser.add_argument("-k", default=None, help="pytest -k expression to run some targets only")
    args = parser.parse_args()
    env = {**os.environ, "LOOPZOO_FUZZ_PROFILE": "long", "LOOPZOO_FUZZ_EXAMPLES": str(args.examples),
           "LOOPZOO_FUZZ_TIMEOUT": str(args.timeout), "LOOPZOO_FUZZ_REPORT": args.report, "HF_HUB_OFFLINE": "1"}
    Path(args.report).unlink(missing_ok=True)
    cmd = [sys.executable, "-m", "pytest", "-q", "-m", "fuzz", "-p", "no:cacheprovider", str(ROOT / "tests" / "fuzz")]
    if args.k:
        cmd += ["-k", args.k]
    started = time.time()
    status = subprocess.run(cmd, cwd=ROOT, env=env).returncode
    counts = json.loads(Path(args.report).read_text()) if Path(args.report).exists() else {}
    print(f"\n{'target':20s} {'cases':>8s} {'results':>8s} {'loopzoo':>8s} {'unexpected':>10s} {'hangs':>6s} {'seconds':>8s}")
    for target, c in counts.items():
        print(f"{target:20s} {c['cases']:8d} {c['results']:8d} {c['loopzoo_errors']:8d} {c['unexpected']:10d} {c['hangs']:6d} {c['seconds']:8.1f}")
    print(f"pytest exit status {status}; {time.time() - started:.0f} s in all")
    bad = any(c["unexpected"] or c["hangs"] for c in counts.values())
    return 1 if bad or status != 0 or not counts else 0


if __name__ == "__main__":
    sys.exit(main())
