"""The named models: ``{task}-{recall}-{norm}`` and ``{task}-fixed15``; the flagships.

Each name maps to a factory returning its :class:`ModelConfig` (the paper's sizes). This module
imports no torch, so listing names stays fast.
"""
from __future__ import annotations

from functools import partial

from .config import ModelConfig
from .registry import models

TASKS = ("prefix-sums", "sudoku", "chess")
RECALLS = {"no-recall": "none", "recall": "recall", "internal-recall": "internal-recall"}
NORMS = ("prenorm", "perinorm", "outernorm", "gru")
FIXED_DEPTH = 15
# The paper's proposed model per task; its bundled checkpoint is trained longest (docs/design.md §7).
FLAGSHIPS = tuple(f"{task}-internal-recall-outernorm" for task in TASKS)


def _register_all() -> None:
    for task in TASKS:
        for recall_name, recall in RECALLS.items():
            for norm in NORMS:
                name = f"{task}-{recall_name}-{norm}"
                models.register(name, func=partial(ModelConfig, task=task, recall=recall, norm=norm, name=name))
        name = f"{task}-fixed{FIXED_DEPTH}"  # the untied baseline: 15 layers, no recall, run once
        models.register(
            name, func=partial(ModelConfig, task=task, recall="none", norm="prenorm", depth=FIXED_DEPTH, iters=1, name=name)
        )


_register_all()
