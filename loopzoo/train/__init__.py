"""Training with the paper's recipe: ``Trainer``, ``TrainConfig``, ``paper_recipe``."""
from .recipe import TrainConfig, lr_factor, paper_recipe

__all__ = ["TrainConfig", "Trainer", "lr_factor", "paper_recipe"]


def __getattr__(name):
    if name in ("Trainer", "TrainingDiverged", "TrainingStopped"):
        from . import trainer

        return getattr(trainer, name)
    raise AttributeError(name)
