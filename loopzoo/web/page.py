"""The Gradio page: widgets wired to :mod:`.actions`; the only module that imports Gradio.

Errors the user can fix (a malformed puzzle, a bad halting rule, a missing directory) arrive as
:class:`~loopzoo.LoopzooError` and are shown on the page in words, never as a traceback.
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # the page sends nothing anywhere
import gradio as gr  # noqa: E402

from ..errors import LoopzooError  # noqa: E402
from . import actions  # noqa: E402
from .curves import figure  # noqa: E402
from .record import MAX_ITERS  # noqa: E402

INTRO = """# loopzoo: see the loop think
A looped transformer runs one weight-tied layer again and again. Pick a model and an input, solve,
then move the **show iteration** slider to watch the answer form: sudoku cells are shaded by the
model's confidence and outlined in red where they break a rule, chess shows the predicted move and
its runners-up, bit strings mark the bits that changed since the previous iteration."""

# System fonts only: the page must not fetch anything from outside (the default theme loads web fonts).
THEME = gr.themes.Default(font=["ui-sans-serif", "system-ui", "sans-serif"], font_mono=["ui-monospace", "monospace"])
CSS = ("#lz-view { min-height: 120px; overflow-x: auto; } .lz-moves td, .lz-moves th { padding: 2px 8px; } "
       "#lz-caption code, #lz-summary code { overflow-wrap: anywhere; }")


def _error(exc: LoopzooError) -> str:
    return f"**error:** {exc}"


# Event handlers: plain functions of the widgets' values, returning the outputs' new values (or
# gr.update() for "unchanged"); the tests call them directly.
def on_model(name: str | None, directory: str | None) -> tuple:
    """A model was picked: its description, its examples, its recommended iterations, the first example."""
    try:
        model, ref = actions.load_model(name, directory)
    except LoopzooError as exc:
        return _error(exc), gr.update(), gr.update(), gr.update(), gr.update()
    labels = actions.example_labels(model.task.name)
    first = actions.pick_example(model.task.name, labels[0]) if labels else None
    text = first.text if first else model.task.example
    return (actions.model_info(model, ref), gr.Radio(choices=labels, value=labels[0] if labels else None),
            gr.Slider(value=actions.default_iters(model)), text, first)


def on_example(name: str | None, directory: str | None, label: str | None) -> tuple:
    """An example was picked: its text, the example (its answer) and a cleared status."""
    try:
        model, _ = actions.load_model(name, directory)
        chosen = actions.pick_example(model.task.name, label)
    except LoopzooError as exc:
        return gr.update(), None, _error(exc)
    return (chosen.text if chosen else gr.update()), chosen, ""


def on_random(name: str | None, directory: str | None) -> tuple:
    """"random hard": a hard input and its answer; the example list is cleared."""
    try:
        model, _ = actions.load_model(name, directory)
        chosen = actions.pick_random_hard(model.task.name)
    except LoopzooError as exc:
        return gr.update(), None, gr.update(), _error(exc)
    return chosen.text, chosen, gr.Radio(value=None), f"picked {chosen.label}"


def on_solve(name: str | None, directory: str | None, text: str, iters: float, halt: str | None,
             chosen: Any) -> tuple:
    """Solve: the recording, the iteration slider at the last iteration, its view, the curves, the
    summary; or the error in words and everything cleared."""
    try:
        rec = actions.solve(name, directory, text, iters, halt, chosen)
        view, caption = actions.frame(rec, rec.iters)
    except LoopzooError as exc:
        return None, gr.Slider(minimum=1, maximum=2, value=1), "", "", None, "", _error(exc)
    return (rec, gr.Slider(minimum=1, maximum=max(rec.iters, 2), value=rec.iters), view, caption, figure(rec),
            actions.summary(rec), "")


def on_step(rec: Any, t: float) -> tuple:
    """The slider moved: the view and caption of iteration ``t``."""
    if rec is None:
        return gr.update(), gr.update()
    try:
        return actions.frame(rec, min(t, rec.iters))  # a 1-iteration run still has a 1..2 slider
    except LoopzooError as exc:
        return gr.update(), _error(exc)


def build(models: Sequence[str] | None = None, default: str | None = None, allow_dirs: bool = True) -> gr.Blocks:
    """The page. ``models``: names or checkpoint directories in the model list (default: the
    bundled zoo); ``allow_dirs``: show a box that loads any local checkpoint directory (turn it
    off on a public server)."""
    choices = list(models) if models else actions.bundled_models()
    default = default or actions.default_model(choices)

    with gr.Blocks(title="loopzoo: see the loop think", analytics_enabled=False) as demo:
        gr.Markdown(INTRO)
        recording = gr.State(None)
        chosen = gr.State(None)
        with gr.Row():
            model = gr.Dropdown(choices, value=default, label="model", elem_id="lz-model", scale=2)
            directory = gr.Textbox(label="or a local checkpoint directory (Enter to load)", visible=allow_dirs,
                                   elem_id="lz-dir", scale=2)
        info = gr.Markdown(elem_id="lz-info")
        with gr.Row():
            example = gr.Radio([], label="examples: the first of the bundled val and hard splits", elem_id="lz-examples",
                               scale=4)
            random = gr.Button("random hard", elem_id="lz-random", scale=1)
        text = gr.Textbox(label="input (sudoku: 81 characters, '.' blank; chess: a FEN; prefix sums: bits)", lines=2,
                          elem_id="lz-input")
        with gr.Row():
            iters = gr.Slider(1, MAX_ITERS, value=30, step=1, label="iterations", elem_id="lz-iters")
            halt = gr.Dropdown(actions.halting_choices(), value="none", allow_custom_value=True,
                               label="halting rule (or type one, e.g. residual:1e-4)", elem_id="lz-halt")
        solve = gr.Button("solve", variant="primary", elem_id="lz-solve")
        status = gr.Markdown(elem_id="lz-status")
        step = gr.Slider(1, 2, value=1, step=1, label="show iteration", elem_id="lz-step")
        with gr.Row():
            view = gr.HTML(elem_id="lz-view", scale=3)
            with gr.Column(scale=2):
                caption = gr.Markdown(elem_id="lz-caption")
                summary = gr.Markdown(elem_id="lz-summary")
        curves = gr.Plot(label="against iteration", elem_id="lz-curves")

        model_outputs: list[Any] = [info, example, iters, text, chosen]
        demo.load(on_model, [model, directory], model_outputs)
        model.change(on_model, [model, directory], model_outputs)
        directory.submit(on_model, [model, directory], model_outputs)
        example.input(on_example, [model, directory, example], [text, chosen, status])
        random.click(on_random, [model, directory], [text, chosen, example, status])
        solve_outputs = [recording, step, view, caption, curves, summary, status]
        solve.click(on_solve, [model, directory, text, iters, halt, chosen], solve_outputs)
        text.submit(on_solve, [model, directory, text, iters, halt, chosen], solve_outputs)
        step.change(on_step, [recording, step], [view, caption])
    return demo


def launch(demo: gr.Blocks, host: str | None = "127.0.0.1", port: int | None = None, **kwargs: Any):
    """Serve ``demo`` (``host=None`` lets Gradio read ``GRADIO_SERVER_NAME``, as on a Space)."""
    return demo.launch(server_name=host, server_port=port, theme=THEME, css=CSS, ssr_mode=False,
                       footer_links=[], **kwargs)
