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
    assert "| old | False | 0.1 | 4,000 | 81.0% | 151.0 | 150.0 | 140.0 | 0.62 | - |" in text
    assert "| fast | True | 0.6 | not reached: best 50.0% by step 3,000 | - | - | - | - | 0.90 | - |" in text
    assert "old / fast" not in text
    modes["fast"] = {**modes["fast"], "hit": hit(100.0, 70.0)}
    text = time_to_target_table({"target": 0.8, "modes": modes})
    assert text.endswith("Time to 80% val, old / fast (interpolated): **1.50x** by wall time, **2.00x** by CPU time")


def test_time_to_target_gives_a_lower_bound_when_only_the_fast_step_reached_it():
    hit = {"step": 3900, "value": 0.82, "wall_minutes": 101.0, "wall_interpolated_minutes": 100.0, "cpu_interpolated_minutes": 60.0}
    modes = {"old": {"compiled": False, "setup_minutes": 0.1, "steps_per_s": 0.62, "steps_per_cpu_s": 0.66, "best": 0.75,
                     "last_step": 3300, "wall_minutes": 110.0, "cpu_minutes": 90.0},
             "fast": {"compiled": True, "setup_minutes": 0.6, "steps_per_s": 0.7, "steps_per_cpu_s": 0.98, "hit": hit}}
    text = time_to_target_table({"target": 0.8, "modes": modes})
    assert "| old | False | 0.1 | not reached: best 75.0% by step 3,300 (110.0 wall / 90.0 CPU min) | - | - | - | - | 0.62 | 0.66 |" in text
    assert text.endswith("**more than 1.50x** (the old step had not reached it after 90.0 CPU minutes)")


def test_parallel_table_gives_each_way_against_the_first():
    from loopzoo.analysis.training_speed import parallel_table

    rows = [{"way": "2 runs x 1 thread", "batch": "64 each", "examples_per_s": 120.0},
            {"way": "1 run x 2 threads", "batch": "64", "examples_per_s": 90.0}]
    lines = parallel_table({"rows": rows}).splitlines()
    assert lines[2] == "| 2 runs x 1 thread | 64 each | 120.0 | 1.00x |"
    assert lines[3] == "| 1 run x 2 threads | 64 | 90.0 | 0.75x |"
