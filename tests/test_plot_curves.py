"""scripts/plot_curves.py: where the decay line goes on a learning curve."""
import pytest

from script_helpers import script_module

EVALS = [{"step": 100, "train_minutes": 10.0}, {"step": 300, "train_minutes": 30.0}, {"step": 400, "train_minutes": 50.0}]


@pytest.mark.parametrize("step, minutes", [(100, 10.0), (200, 20.0), (350, 40.0), (400, 50.0), (50, 10.0), (500, None)])
def test_the_decay_is_placed_at_its_own_step_between_evaluations(step, minutes):
    with script_module("plot_curves") as mod:
        assert mod.minutes_at(EVALS, step) == (pytest.approx(minutes) if minutes is not None else None)
