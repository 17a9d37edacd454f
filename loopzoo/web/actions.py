"""The page's functions, in plain Python: load a model, pick an input, solve, show an iteration.

Each takes and returns plain values (strings, numbers, :class:`Recording`), raises
:class:`~loopzoo.LoopzooError` with the message the page shows, and needs no Gradio, so the tests
call them directly. :mod:`.page` wires them to the widgets.
"""
from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from .examples import Example, examples, random_hard
from .record import MAX_ITERS, Recording, record, score, verdict
from .views import view_for

FLAGSHIP = "sudoku-internal-recall-outernorm"  # shown first when bundled: the most visual task


def bundled_models() -> list[str]:
    """Names of the checkpoints shipped with loopzoo."""
    from ..hub import bundled

    return list(bundled())


def default_model(choices: list[str]) -> str | None:
    return FLAGSHIP if FLAGSHIP in choices else (choices[0] if choices else None)


def halting_choices() -> list[str]:
    """``"none"`` and every registered halting rule (each with its default argument)."""
    from ..registry import halting

    return ["none"] + halting.names()


@functools.lru_cache(maxsize=8)
def _load(ref: str, stamp: int):
    from .. import load

    return load(ref).eval()


def load_model(name: str | None, directory: str | None = None) -> tuple[Any, str]:
    """``(model, what it was loaded from)``: ``directory`` if given, else the zoo name ``name``.

    Models stay cached; a directory is reloaded when its ``config.json`` changes.
    """
    directory = (directory or "").strip()
    if directory:
        path = Path(directory).expanduser()
        if not path.is_dir():
            raise InputError(f"no checkpoint directory {directory[:200]!r}")
        config = path / "config.json"
        return _load(str(path.resolve()), config.stat().st_mtime_ns if config.is_file() else 0), directory
    if not name:
        raise InputError("pick a model")
    return _load(str(name), 0), str(name)


def model_info(model: Any, ref: str) -> str:
    """One line of markdown about the model."""
    c = model.config
    return (f"**{ref}**: task `{c.task}`, recall `{c.recall}`, norm `{c.norm}`, width {c.width}, "
            f"{model.num_parameters():,} parameters; recommended {c.iters} iterations")


def default_iters(model: Any) -> int:
    return int(min(max(model.config.iters, 1), MAX_ITERS))


def example_labels(task_name: str) -> list[str]:
    return [e.label for e in examples(task_name)]


def pick_example(task_name: str, label: str | None) -> Example | None:
    """The example of ``task_name`` labelled ``label`` (``None`` for no label)."""
    if not label:
        return None
    for example in examples(task_name):
        if example.label == label:
            return example
    raise InputError(f"no example {label!r} for {task_name}")


def pick_random_hard(task_name: str, seed: int | None = None) -> Example:
    return random_hard(task_name, np.random.default_rng(seed))


def solve(name: str | None, directory: str | None, text: Any, iters: Any, halt: str | None = None,
          chosen: Example | None = None) -> Recording:
    """Run the model on ``text`` and record every iteration.

    The right answer is known when ``text`` is the example ``chosen`` (unchanged) or when the
    task's view can compute it (prefix sums).
    """
    model, ref = load_model(name, directory)
    if isinstance(iters, float) and iters.is_integer():
        iters = int(iters)  # sliders send floats
    same = chosen is not None and isinstance(text, str) and chosen.text.strip() == text.strip()
    rec = record(model, text, iters, halt=halt, expected=chosen.answer if same else None, name=ref)
    if rec.expected is None:
        known = view_for(rec.task.name).known_answer(rec.parsed)
        if known is not None:
            score(rec, known)
    return rec


def _short(answer: Any, limit: int = 81) -> str:
    text = str(getattr(answer, "san", None) or answer)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def frame(rec: Recording, t: Any) -> tuple[str, str]:
    """``(html, caption markdown)`` of the answer after iteration ``t``."""
    t = rec.check_t(t)
    view = view_for(rec.task.name)
    answer = rec.answer(t)
    parts = [f"**iteration {t} of {rec.iters}**", f"answer `{_short(answer)}`",
             f"residual {rec.residual[t - 1]:.2e}", f"confidence {rec.confidence[t - 1]:.3f}"]
    if rec.correct is not None:
        parts.append("right" if rec.correct[t - 1] else "wrong")
    parts.append(f"verifier: {verdict(rec.task, rec.parsed, answer)}")
    note = view.caption(rec, t)
    return view.render(rec, t), " · ".join(parts) + (f"  \n{note}" if note else "")


def settled_at(rec: Recording) -> int:
    """The first iteration from which the answer no longer changes."""
    last = rec.iters
    while last > 1 and str(rec.answers[last - 2]) == str(rec.answers[-1]):
        last -= 1
    return last


def summary(rec: Recording) -> str:
    """Markdown: the final answer, when it settled and became right, halting, verification."""
    final = rec.answers[-1]
    lines = [f"After **{rec.iters}** iterations: `{_short(final)}`; the answer stops changing at iteration "
             f"{settled_at(rec)}."]
    if rec.correct is not None:
        if rec.correct[-1]:
            first = rec.iters - int(np.argmin(rec.correct[::-1])) + 1 if not rec.correct.all() else 1
            lines.append(f"It is **right** (expected `{_short(rec.expected)}`), and right at every iteration from {first} on.")
        else:
            ever = np.flatnonzero(rec.correct)
            lines.append(f"It is **wrong** (expected `{_short(rec.expected)}`)"
                         + (f"; it was right at iteration {ever[0] + 1}." if len(ever) else "."))
    if rec.halt is None:
        lines.append("Halting: none chosen (pick e.g. `residual` to see where it would stop).")
    else:
        there = rec.answers[rec.halted_at - 1]
        same = "the same answer as" if str(there) == str(final) else "a different answer from"
        where = (f"runs to the cap of **{rec.iters}** iterations" if rec.halted_at == rec.iters else
                 f"stops at iteration **{rec.halted_at}** of {rec.iters}, with {same} iteration {rec.iters}")
        lines.append(f"Halting `{rec.halt}` {where}.")
    lines.append(f"Verifier on the final answer: {verdict(rec.task, rec.parsed, final)}.")
    return "  \n".join(lines)
