"""loopzoo.analysis.training_speed: the throughput and time-to-target tables, from saved results."""
from __future__ import annotations

from loopzoo.analysis.training_speed import throughput_table, time_to_target_table


def test_throughput_bolds_the_default_step_and_marks_a_missing_baseline():
    rows = [{"width": 128, "mode": "fast-bf16", "ex_per_s": 92.1, "s_per_step": 0.695, "gflop_per_s": 146.4, "mfu": 0.14, "vs_old": 1.6},
            {"width": 128, "mode": "fast-fp32", "ex_per_s": 48.8, "s_per_step": 1.313, "gflop_per_s": 77.5, "mfu": 0.453, "vs_old": None}]
    lines = throughput_table({"rows": rows}).splitlines()
    assert lines[2] == "| 128 | fast-bf16 | 92.1 | 0.695 | 146.4 | 14.0% | **1.60x** |"
    assert lines[3] == "| 128 | fast-fp32 | 48.8 | 1.313 | 77.5 | 45.3% | - |"


def test_time_to_target_rows_and_the_ratio_once_both_modes_reach_it():
    def hit(wall, cpu):
        return {"step": 4000, "value": 0.81, "wall_minutes": wall + 1, "wall_interpolated_minutes": wall,
                "cpu_interpolated_minutes": cpu}

    modes = {"old": {"compiled": False, "setup_minutes": 0.1, "steps_per_s": 0.62, "hit": hit(150.0, 140.0)},
             "fast": {"compiled": True, "setup_minutes": 0.6, "steps_per_s": 0.9, "best": 0.5, "last_step": 3000}}
    text = time_to_target_table({"target": 0.8, "modes": modes})
    assert "| old | False | 0.1 | 4,000 | 81.0% | 151.0 | 150.0 | 140.0 | 0.62 |" in text
    assert "| fast | True | 0.6 | not yet: best 50.0% by step 3,000 | - | - | - | - | 0.90 |" in text
    assert "old / fast" not in text
    modes["fast"] = {**modes["fast"], "hit": hit(100.0, 70.0)}
    text = time_to_target_table({"target": 0.8, "modes": modes})
    assert text.endswith("Time to 80% val, old / fast (interpolated): **1.50x** by wall time, **2.00x** by CPU time")
