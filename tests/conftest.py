import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import pytest
import torch

TINY = {"width": 16, "heads": 2}

# Tiny models on a shared 2-core machine: more than one intra-op thread makes every op wait on
# the others (measured: 100 tiny training steps took 77 s with 2 threads under load, 1.7 s with 1).
torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


@pytest.fixture(scope="module")
def prefix():
    """A tiny untrained prefix-sums model, the same in every module that asks for it."""
    import loopzoo

    torch.manual_seed(1)
    return loopzoo.create("prefix-sums-internal-recall-outernorm", **TINY).eval()


@pytest.fixture(scope="module")
def sudoku():
    """A tiny untrained sudoku model, the same in every module that asks for it."""
    import loopzoo

    torch.manual_seed(0)
    return loopzoo.create("sudoku-internal-recall-outernorm", **TINY).eval()


# `make test-fast` (docs/contributing.md) leaves out `heavy` tests: in-process checks that took a
# second or more in a --durations run (training loops, torch.compile, every bundled checkpoint or
# data set evaluated). Whole files, then single tests by name (all their parameters).
HEAVY_FILES = ("tests/train/", "tests/test_bundle.py", "tests/test_threads.py",
               "tests/analysis/test_speed.py", "tests/analysis/test_verified.py", "tests/plugins/test_plugins.py",
               "tests/data/test_data_chess_labels.py")
HEAVY_TESTS = {
    "test_chunked_probes_equal_the_whole_batch", "test_cli_verbose_logs_each_phase_and_rejects_a_bad_size",
    "test_report_within_a_tiny_budget_equals_the_unchunked_report", "test_a_fixed_depth_model_is_analyzed_at_its_own_iterations",
    "test_analyze_tiny_model_report_is_complete_and_json", "test_cli_analyze_random_init",
    "test_model_jacobian_estimates_match_dense_jacobian", "test_doc_page_has_the_intro_the_command_and_the_plots",
    "test_grid_report_and_plots", "test_bundled_chess_is_reproducible_from_its_seed",
    "test_bundled_chess_splits_and_sample_confirmed", "test_bundled_sudoku_splits",
    "test_self_play_puzzles_are_reproducible_legal_and_confirmed", "test_split_does_not_depend_on_file_order",
    "test_split_sizes_disjoint_ratings_and_legal_labels", "test_the_default_source_is_still_the_generated_set",
    "test_generated_mazes_are_perfect_and_seeded", "test_demo_runs_on_whatever_is_bundled",
    "test_bundled_checkpoint_loads_and_reproduces_its_card", "test_publish_dry_run_and_with_a_mocked_api",
    "test_compiled_solve_equals_eager_with_and_without_halting", "test_a_recording_matches_the_model_at_every_iteration",
    "test_solve_then_move_the_slider", "test_default_source_is_unchanged_and_unknown_source_fails",
    "test_bundled_sudoku_sample_has_unique_solutions",
}


def pytest_collection_modifyitems(config, items):
    """Mark the heavy tests, and the plugin tests that pip-install the example plugins and run them in
    fresh interpreters (tests/plugins, fixture ``installed``) as ``subprocess`` tests."""
    root = Path(__file__).resolve().parents[1]
    for item in items:
        path = item.path.resolve().relative_to(root).as_posix() if item.path.resolve().is_relative_to(root) else ""
        if path.startswith(HEAVY_FILES) or getattr(item, "originalname", item.name) in HEAVY_TESTS:
            item.add_marker(pytest.mark.heavy)
        if "plugins" in item.path.parts and "installed" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.subprocess)
