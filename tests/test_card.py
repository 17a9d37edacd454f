"""loopzoo.card's public-benchmark parts, from synthetic records: the card's section, its front matter
entries and the zoo tables' column (the rest of the cards: tests/test_hub.py)."""
import json

import pytest

from loopzoo import card, hub

LICHESS = {
    "label": "Lichess puzzles, test split", "short": "Lichess", "task": "chess", "source": "lichess", "split": "test",
    "seed": 0, "samples": 2000, "iters": 22, "metric": "first move right", "group_by": "rating band",
    "data_sha256": "ab" * 32, "date": "2026-12-08", "seconds": 12.5, "loopzoo": "0.1.0", "alternate_mates": 3,
    "overall": {"n": 2000, "right": 628, "accuracy": 0.314},
    "groups": {"<1000": {"n": 387, "right": 204, "accuracy": 0.5271}, "2000+": {"n": 0, "right": 0, "accuracy": None}},
}
PUBLIC = {
    **LICHESS, "label": "public hard split", "short": "public hard", "task": "sudoku", "source": "public", "samples": 1000,
    "iters": 391, "metric": "exact match", "group_by": "list", "alternate_mates": None,
    "overall": {"n": 1000, "right": 93, "accuracy": 0.093},
    "groups": {"forum-hardest": {"n": 510, "right": 10, "accuracy": 0.0196}, "17-clue": {"n": 490, "right": 83, "accuracy": 0.1694}},
    "verified": {"valid": 0.095, "invalid": 0.905, "unknown": 0.0}, "givens_kept": 0.99, "cells_right": 0.605,
}
del PUBLIC["alternate_mates"]


def test_the_section_shows_every_figure_of_the_record():
    text = card.benchmarks_section("chess-x", {"benchmarks": {"lichess": LICHESS}})
    assert text.startswith("\n\n## Public benchmarks\n\n") and "`python scripts/train_zoo.py chess-x --benchmarks`" in text
    assert ("| set | samples | first move right |\n|---|---|---|\n| Lichess puzzles, test split | 2,000 | **31.4%** |\n"
            "| rating band: <1000 | 387 | 52.7% |\n| rating band: 2000+ | 0 | – |\n") in text
    assert (f"- At 22 iterations; measured on 2026-12-08 in 12.5 s (loopzoo 0.1.0); source `lichess`, split `test`, "
            f"seed 0, data sha256 `{'ab' * 32}`.") in text
    assert text.endswith("- 3 right only as a different mating move than the puzzle's.")
    sudoku = card.benchmarks_section("s", {"benchmarks": {"public-hard": PUBLIC}})
    assert "| public hard split | 1,000 | **9.3%** |\n| list: forum-hardest | 510 | 2.0% |\n| list: 17-clue | 490 | 16.9% |" in sudoku
    assert sudoku.endswith("- Answers checked by the task's verifier (`Task.verify`): 9.5% pass, 90.5% fail, "
                           "0.0% cannot be checked; every given kept in 99.0%; cells right 60.5%.")
    assert card.benchmarks_section("s", {}) == card.benchmarks_section("s", {"benchmarks": {}}) == ""


def test_the_front_matter_lists_each_benchmark_only_where_measured():
    meta = json.loads((hub.bundled()["chess-internal-recall-outernorm"] / "config.json").read_text())
    meta.pop("benchmarks", None)
    plain = card.front_matter("c", meta)
    with_record = card.front_matter("c", {**meta, "benchmarks": {"lichess": LICHESS}})
    assert with_record.startswith(plain + "\n") and plain.count("- task:") == 1
    assert with_record[len(plain):] == (
        "\n  - task:\n      type: first-move-right\n      name: chess puzzles (best move)\n    dataset:\n"
        "      name: Lichess puzzles, test split\n      type: loopzoo/chess-lichess\n      split: test\n"
        "    metrics:\n    - type: accuracy\n      name: first move right at 22 iterations\n      value: 31.4")


@pytest.mark.parametrize("kind", ["flagships", "all"])
def test_the_zoo_tables_show_the_headline_or_an_em_dash(kind, monkeypatch):
    metas = card._bundled_meta()
    for meta in metas.values():
        meta.pop("benchmarks", None)
    metas["sudoku-internal-recall-outernorm"]["benchmarks"] = {"public-hard": PUBLIC, "lichess": LICHESS}
    monkeypatch.setattr(card, "_bundled_meta", lambda: metas)
    rows = {line.split(" | ")[0].strip("| `"): line for line in card.zoo_table(kind).splitlines()[2:]}
    assert "| public benchmark |" in card.zoo_table(kind).splitlines()[0]
    assert "| 9.3% of 1,000 (public hard); 31.4% of 2,000 (Lichess) |" in rows["sudoku-internal-recall-outernorm"]
    assert "| — |" in rows["chess-internal-recall-outernorm"]
    assert all(line.count("|") == rows["sudoku-internal-recall-outernorm"].count("|") for line in rows.values())


def test_groups_keep_their_benchmark_order_after_a_json_round_trip_sorts_them():
    record = {**LICHESS, "groups": {"2000+": LICHESS["groups"]["2000+"], "<1000": LICHESS["groups"]["<1000"]},
              "group_order": ["<1000", "2000+"]}
    text = card.benchmarks_section("c", {"benchmarks": {"lichess": json.loads(json.dumps(record, sort_keys=True))}})
    assert text.index("rating band: <1000") < text.index("rating band: 2000+")


WIDE = {**PUBLIC, "breadth": 16, "halt": "valid", "noise": 1.0, "solve_seed": 0, "evaluations": 2345.6, "seconds": 80.0,
        "overall": {"n": 1000, "right": 200, "accuracy": 0.2},
        "groups": {"forum-hardest": {"n": 510, "right": 40, "accuracy": 0.0784}, "17-clue": {"n": 490, "right": 160, "accuracy": 0.3267}},
        "verified": {"valid": 0.2, "invalid": 0.8, "unknown": 0.0}}


def test_breadth_rows_sit_beside_the_fixed_depth_row_and_leave_the_zoo_cell_alone():
    fixed = {**PUBLIC, "breadth": 1, "evaluations": 391.0}
    meta = {"benchmarks": {"public-hard": fixed, "public-hard@breadth16": WIDE}}
    text = card.benchmarks_section("s", meta)
    alone = card.benchmarks_section("s", {"benchmarks": {"public-hard": fixed}})
    assert "--breadth" not in alone and "--benchmarks` (`loopzoo.bundle.measure_benchmarks`); the breadth rows by adding `--breadth K`." in text
    assert text.count("| public hard split | 1,000 | **9.3%** |") == 1 and "- At 391 iterations (391.0 block evaluations per puzzle);" in text
    assert ("| trajectories `K` | halt | iterations | samples | exact match | list: forum-hardest | list: 17-clue "
            "| block evaluations / puzzle |\n|---|---|---|---|---|---|---|---|\n"
            "| 1 | – | 391 | 1,000 | **9.3%** | 2.0% | 16.9% | 391.0 |\n"
            "| 16 | valid | 391 | 1,000 | **20.0%** | 7.8% | 32.7% | 2,345.6 |") in text
    assert text.endswith("- `K = 16`: noise 1.0, seed 0; measured on 2026-12-08 in 80.0 s (loopzoo 0.1.0), data sha256 "
                         f"`{'ab' * 32}`.\n  - Answers checked by the task's verifier (`Task.verify`): 20.0% pass, 80.0% fail, "
                         "0.0% cannot be checked; every given kept in 99.0%; cells right 60.5%.")
    assert card.benchmark_cell(meta) == card.benchmark_cell({"benchmarks": {"public-hard": fixed}}) == "9.3% of 1,000 (public hard)"
    old = card.benchmarks_section("s", {"benchmarks": {"public-hard": PUBLIC, "public-hard@breadth16": WIDE}})
    assert "| 1 | – | 391 | 1,000 | **9.3%** | 2.0% | 16.9% | – |" in old, "a record from before breadth: evaluations not recorded"


def test_the_front_matter_names_a_breadth_record_by_its_trajectories():
    meta = json.loads((hub.bundled()["sudoku-internal-recall-outernorm"] / "config.json").read_text())
    text = card.front_matter("s", {**meta, "benchmarks": {"public-hard": PUBLIC, "public-hard@breadth16": WIDE}})
    assert "name: exact match at 391 iterations\n" in text
    assert "name: exact match at 391 iterations, breadth 16 (halt valid)\n      value: 20.0" in text
