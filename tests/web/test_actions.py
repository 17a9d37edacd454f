"""The page's functions, called directly (no Gradio, no browser): every bundled model on its
examples, the recording against the model's own answers, and the errors the page shows."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import loopzoo
from loopzoo import InputError, LoopzooError
from loopzoo.web import actions
from loopzoo.web.examples import examples, random_hard
from loopzoo.web.record import MAX_VALUES, record, verdict

BUNDLED = actions.bundled_models()
ITERS = 12


def needs_task_extras(name: str) -> None:
    if name.startswith("chess"):
        pytest.importorskip("chess")


@pytest.mark.parametrize("name", BUNDLED)
def test_a_recording_matches_the_model_at_every_iteration(name):
    needs_task_extras(name)
    model, ref = actions.load_model(name)
    labels = actions.example_labels(model.task.name)
    assert any(label.startswith("val") for label in labels) and any(label.startswith("hard") for label in labels)
    chosen = actions.pick_example(model.task.name, labels[-1])
    rec = actions.solve(name, None, chosen.text, ITERS, "residual", chosen)
    assert rec.iters == ITERS and rec.logits.shape[0] == ITERS
    for t in (1, ITERS // 2, ITERS):  # the kept logits decode to the trace's answers and to solve()'s
        decoded = model.task.decode(torch.from_numpy(rec.logits[t - 1 : t]), [rec.parsed])[0]
        assert str(decoded) == str(rec.answer(t)) == str(model.solve(chosen.text, iters=t))
    assert rec.expected == chosen.answer
    assert list(rec.correct) == [str(a) == chosen.answer for a in rec.answers]
    assert rec.partial.shape == (ITERS,) and ((0 <= rec.partial) & (rec.partial <= 1)).all()
    sol = model.solve(chosen.text, iters=ITERS, halt="residual", return_info=True)
    answer, used = sol.answer, sol.iters
    assert rec.halted_at == used and str(rec.answers[used - 1]) == str(answer)
    for t in (1, ITERS):
        html, caption = actions.frame(rec, t)
        assert f'data-iter="{t}"' in html and f"iteration {t} of {ITERS}" in caption
    summary = actions.summary(rec)
    assert f"After **{ITERS}** iterations" in summary and "Halting `residual`" in summary
    assert ref == name


def test_the_curves_have_residual_confidence_and_correctness():
    pytest.importorskip("matplotlib")
    from loopzoo.web.curves import figure

    ex = examples("prefix-sums")[0]
    rec = actions.solve("prefix-sums-internal-recall-outernorm", None, ex.text, 8, "unchanged:2", ex)
    fig = figure(rec)
    residual, confidence, correct = fig.axes
    assert np.allclose(residual.lines[0].get_ydata(), np.clip(rec.residual, 1e-12, None))
    assert np.allclose(confidence.lines[0].get_ydata(), rec.confidence)
    assert np.allclose(correct.lines[0].get_ydata(), rec.correct.astype(float))
    assert rec.halted_at in {line.get_xdata()[0] for line in residual.lines[1:]}  # the halting marker


def test_the_known_answer_comes_from_the_example_or_the_view():
    ex = examples("sudoku")[0]
    edited = ex.text.replace(".", "0", 1)  # the same puzzle typed differently: no longer the example's text
    assert actions.solve("sudoku-internal-recall-outernorm", None, ex.text, 3, None, ex).expected == ex.answer
    assert actions.solve("sudoku-internal-recall-outernorm", None, edited, 3, None, ex).expected is None
    rec = actions.solve("prefix-sums-internal-recall-outernorm", None, "0110", 3)  # typed: prefix sums knows it
    assert rec.expected == "0100" and rec.correct is not None


@pytest.mark.parametrize("text, iters, halt, message", [
    ("123", 5, None, "sudoku input 0: a sudoku string has 81 cells, got 3"),
    ("  ", 5, None, "type a sudoku input"),
    ("x" * 81, 5, None, "cells hold digits 1-9"),
    ("11" + "." * 79, 5, None, "the givens clash"),
    ("." * 81, 0, None, "iterations must be a positive integer"),
    ("." * 81, 5000, None, "above loopzoo's limit of 1000"),
    ("." * 81, 5, "residual:abc", "cannot read 'abc'"),
])
def test_bad_inputs_raise_the_input_error_the_page_shows(text, iters, halt, message):
    with pytest.raises(InputError, match=message.replace("(", r"\(")):
        actions.solve("sudoku-internal-recall-outernorm", None, text, iters, halt)


def test_unknown_names_and_directories_are_loopzoo_errors(tmp_path):
    with pytest.raises(LoopzooError, match="unknown halting 'bogus'"):
        actions.solve("sudoku-internal-recall-outernorm", None, "." * 81, 3, "bogus")
    with pytest.raises(InputError, match="no checkpoint directory"):
        actions.load_model("sudoku-internal-recall-outernorm", str(tmp_path / "missing"))
    with pytest.raises(LoopzooError):
        actions.load_model(None, str(tmp_path))  # a directory without a checkpoint
    with pytest.raises(InputError, match="pick a model"):
        actions.load_model(None)


def test_a_checkpoint_directory_loads_and_reloads_when_it_changes(tmp_path):
    first = loopzoo.create("prefix-sums-internal-recall-outernorm", width=16, heads=2)
    first.save(tmp_path)
    model, ref = actions.load_model("ignored", str(tmp_path))
    assert ref == str(tmp_path) and model.config.width == 16
    assert actions.load_model(None, str(tmp_path))[0] is model  # cached
    loopzoo.create("prefix-sums-internal-recall-outernorm", width=32, heads=2).save(tmp_path)
    assert actions.load_model(None, str(tmp_path))[0].config.width == 32


def test_the_page_refuses_recordings_too_large_to_keep():
    model, _ = actions.load_model("prefix-sums-internal-recall-outernorm")
    bits = MAX_VALUES // (2 * 1000) + 1
    with pytest.raises(InputError, match="too much for the page"):
        record(model, "01" * (bits // 2 + 1), 1000)


def test_an_iteration_outside_the_recording_is_an_input_error():
    rec = actions.solve("prefix-sums-internal-recall-outernorm", None, "0110", 3)
    for t in (0, 4, "x"):
        with pytest.raises(InputError):
            actions.frame(rec, t)


def test_examples_and_random_hard_come_from_the_bundled_splits():
    from loopzoo.data import load_split

    found = examples("sudoku")
    hard = load_split("sudoku", "test", n=1000)
    first = [e for e in found if e.label.startswith("hard")]
    assert [e.text for e in first] == list(hard.inputs[: len(first)])
    a, b = random_hard("sudoku", np.random.default_rng(1)), random_hard("sudoku", np.random.default_rng(1))
    assert a == b and a.text in hard.inputs and a.answer == hard.answers[hard.inputs.index(a.text)]
    assert examples("no-such-task") == ()
    with pytest.raises(InputError, match="no hard inputs"):
        random_hard("no-such-task")
    with pytest.raises(InputError, match="no example"):
        actions.pick_example("sudoku", "val 99")


class _Verifying:
    def __init__(self, result):
        self.result = result

    def verify(self, parsed, answer):
        if isinstance(self.result, type) and issubclass(self.result, BaseException):
            raise self.result("no verifier")
        return self.result


@pytest.mark.parametrize("task, words", [
    (object(), "not available"),
    (_Verifying(True), "verifies"),
    (_Verifying(np.bool_(False)), "does not verify"),
    (_Verifying(None), "unknown for this task"),
    (_Verifying(NotImplementedError), "not available"),
    (_Verifying(InputError), "could not check: no verifier"),
    (_Verifying("legal, not mate"), "legal, not mate"),
])
def test_the_verifier_hook_reads_any_task_verify(task, words):
    assert verdict(task, None, "answer").startswith(words)


def test_halting_choices_come_from_the_registry():
    from loopzoo.registry import halting

    assert actions.halting_choices() == ["none"] + halting.names()
