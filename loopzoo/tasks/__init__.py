"""Tasks: parse a task's natural inputs, encode them as tensors, decode and score answers."""
from .base import Task

__all__ = ["Task"]
