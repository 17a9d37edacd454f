"""Tables of training speed (docs/training.md): the throughput of one step
(``scripts/bench_train.py``) and the time to a target accuracy (``scripts/bench_time_to_target.py``),
rendered from the results those scripts save (:mod:`loopzoo.docs_tables`).
"""
from __future__ import annotations

from typing import Any

DEFAULT_STEP = "fast-bf16"  # the trainer's default step: its speed-up is in bold


def throughput_table(results: dict[str, Any]) -> str:
    """One row per width and mode: examples/s, s/step, model GFLOP/s, MFU, speed-up over ``old`` of the
    same dtype (``vs_old`` None where ``old`` was not measured)."""
    lines = ["| width | mode | ex/s | s/step | model GFLOP/s | MFU | vs old |", "|---|---|---|---|---|---|---|"]
    for row in results["rows"]:
        vs_old = "-" if row["vs_old"] is None else f"{row['vs_old']:.2f}x"
        if row["mode"] == DEFAULT_STEP and row["vs_old"] is not None:
            vs_old = f"**{vs_old}**"
        lines.append(f"| {row['width']} | {row['mode']} | {row['ex_per_s']:.1f} | {row['s_per_step']:.3f} | "
                     f"{row['gflop_per_s']:.1f} | {row['mfu']:.1%} | {vs_old} |")
    return "\n".join(lines)


def time_to_target_table(results: dict[str, Any]) -> str:
    """One row per step mode: set-up, the evaluation that first reached the target (or, for a mode
    that has not, the best so far and the minutes spent), minutes by wall and CPU clock, steps/s by
    both clocks; and the old / fast ratios: measured when both modes reached the target, a lower
    bound (CPU clock) when only the fast one did."""
    target = results["target"]
    rows = []
    for mode, r in results["modes"].items():
        if r.get("hit"):
            hit = r["hit"]
            cells = (f"{hit['step']:,} | {hit['value']:.1%} | {hit['wall_minutes']:.1f} | "
                     f"{hit['wall_interpolated_minutes']:.1f} | {hit['cpu_interpolated_minutes']:.1f}")
        else:
            spent = (f" ({r['wall_minutes']:.1f} wall / {r['cpu_minutes']:.1f} CPU min)" if "cpu_minutes" in r else "")
            cells = f"not reached: best {r['best']:.1%} by step {r['last_step']:,}{spent} | - | - | - | -"
        cpu_rate = f" | {r['steps_per_cpu_s']:.2f}" if "steps_per_cpu_s" in r else " | -"
        rows.append(f"| {mode} | {r['compiled']} | {r['setup_minutes']:.1f} | {cells} | {r['steps_per_s']:.2f}{cpu_rate} |")
    text = (f"| step | compiled | set-up min | step reaching {target:.0%} | val there | wall min (at that evaluation) | "
            f"wall min (interpolated) | CPU min (interpolated) | steps/s (wall) | steps/s (CPU) |\n"
            f"|---|---|---|---|---|---|---|---|---|---|\n" + "\n".join(rows))
    modes = results["modes"]
    old, fast = modes.get("old", {}), modes.get("fast", {})
    if old.get("hit") and fast.get("hit"):
        old, fast = old["hit"], fast["hit"]
        text += (f"\n\nTime to {target:.0%} val, old / fast (interpolated): "
                 f"**{old['wall_interpolated_minutes'] / fast['wall_interpolated_minutes']:.2f}x** by wall time, "
                 f"**{old['cpu_interpolated_minutes'] / fast['cpu_interpolated_minutes']:.2f}x** by CPU time")
    elif fast.get("hit") and "cpu_minutes" in old:
        text += (f"\n\nTime to {target:.0%} val, old / fast by CPU time: **more than "
                 f"{old['cpu_minutes'] / fast['hit']['cpu_interpolated_minutes']:.2f}x** (the old step had not reached it "
                 f"after {old['cpu_minutes']:.1f} CPU minutes)")
    return text


def parallel_table(results: dict[str, Any]) -> str:
    """Examples/s of the whole machine for each way of using its cores, and the ratio to the first way."""
    rows = results["rows"]
    reference = rows[0]["examples_per_s"]
    lines = ["| way | batch | examples/s | vs the first way |", "|---|---|---|---|"]
    lines += [f"| {r['way']} | {r['batch']} | {r['examples_per_s']:.1f} | {r['examples_per_s'] / reference:.2f}x |" for r in rows]
    return "\n".join(lines)
