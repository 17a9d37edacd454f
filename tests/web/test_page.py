"""The Gradio page's handlers, called directly, and ``loopzoo serve`` building it."""
from __future__ import annotations

import pytest

from loopzoo.cli import main

gr = pytest.importorskip("gradio")
pytest.importorskip("matplotlib")
from loopzoo.web import page  # noqa: E402
from loopzoo.web.examples import examples  # noqa: E402

FLAGSHIP = "sudoku-internal-recall-outernorm"


def test_serve_builds_the_page_with_extra_checkpoints_on_this_machine_only(monkeypatch, tmp_path):
    seen = {}

    def fake_launch(demo, host, port):
        seen.update(demo=demo, host=host, port=port)

    monkeypatch.setattr(page, "launch", fake_launch)
    assert main(["serve", "--checkpoint", str(tmp_path), "--port", "7999", "--no-dirs"]) == 0
    assert seen["host"] == "127.0.0.1" and seen["port"] == 7999
    components = {c.elem_id: c for c in seen["demo"].blocks.values() if getattr(c, "elem_id", None)}
    assert str(tmp_path) in [value for _, value in components["lz-model"].choices]
    assert components["lz-model"].value == FLAGSHIP and components["lz-dir"].visible is False


def test_picking_a_model_fills_its_examples_and_iterations():
    import loopzoo

    info, radio, iters, text, chosen = page.on_model(FLAGSHIP, "")
    labels = [e.label for e in examples("sudoku")]
    assert FLAGSHIP in info and [value for _, value in radio.choices] == labels
    assert iters.value == loopzoo.load(FLAGSHIP).config.iters
    assert text == chosen.text == examples("sudoku")[0].text
    error, *rest = page.on_model(FLAGSHIP, "/no/such/dir")
    assert error.startswith("**error:** no checkpoint directory")


def test_solve_then_move_the_slider():
    ex = examples("sudoku")[4]
    assert page.on_example(FLAGSHIP, "", ex.label) == (ex.text, ex, "")
    rec, slider, view, caption, fig, summary, status = page.on_solve(FLAGSHIP, "", ex.text, 7.0, "unchanged:2", ex)
    assert rec.iters == 7 and slider.maximum == 7 and slider.value == 7 and status == ""
    assert 'data-iter="7"' in view and "iteration 7 of 7" in caption and "Halting `unchanged:2`" in summary
    assert len(fig.axes) == 3
    view, caption = page.on_step(rec, 3.0)
    assert 'data-iter="3"' in view and "iteration 3 of 7" in caption


def test_a_one_iteration_run_keeps_a_usable_slider():
    rec, slider, *_ = page.on_solve(FLAGSHIP, "", examples("sudoku")[0].text, 1, "none", None)
    assert slider.minimum == 1 and slider.maximum == 2 and slider.value == 1
    assert 'data-iter="1"' in page.on_step(rec, 2)[0]


def test_errors_show_as_words_on_the_page():
    rec, slider, view, caption, fig, summary, status = page.on_solve(FLAGSHIP, "", "12345", 5, "none", None)
    assert rec is None and fig is None and view == ""
    assert status == "**error:** sudoku input 0: a sudoku string has 81 cells, got 5: '12345'"
    assert page.on_solve(FLAGSHIP, "", "." * 81, 5, "residual:x", None)[-1].startswith("**error:** halting 'residual'")
    assert page.on_example(FLAGSHIP, "", "val 99")[-1] == "**error:** no example 'val 99' for sudoku"


def test_random_hard_picks_a_hard_input_with_its_answer():
    from loopzoo.data import load_split

    text, chosen, radio, status = page.on_random(FLAGSHIP, "")
    hard = load_split("sudoku", "test", n=1000)
    assert text == chosen.text and text in hard.inputs and chosen.answer == hard.answers[hard.inputs.index(text)]
    assert radio.value is None and status == f"picked {chosen.label}"
