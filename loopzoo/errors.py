"""Every error loopzoo raises on purpose derives from :class:`LoopzooError`."""
from __future__ import annotations

import difflib
from collections.abc import Iterable


class LoopzooError(Exception):
    """Base class of all loopzoo errors."""

    exit_code = 2  # of the command line tools that report it


class InputError(LoopzooError, ValueError):
    """A task input (puzzle, bit string, FEN, tensor) or an argument is malformed."""


class ConfigError(LoopzooError, ValueError):
    """A model configuration is inconsistent or cannot be parsed."""


class CheckpointError(LoopzooError):
    """A checkpoint is missing, incomplete, corrupted or does not match its config."""


class DataError(LoopzooError):
    """A data file is malformed; the message names the file, the line and the problem."""


class RegistryError(LoopzooError):
    """A registration is refused, e.g. a name that is already taken."""


class UnknownNameError(LoopzooError, LookupError):
    """A registry has no entry of that name; the message lists what exists and close matches."""

    def __init__(self, kind: str, name: str, available: Iterable[str], note: str = ""):
        self.kind, self.name = kind, name
        self.available = sorted(available)
        self.suggestions = difflib.get_close_matches(name, self.available, n=3, cutoff=0.5)
        msg = f"unknown {kind} {name!r}."
        if self.suggestions:
            msg += f" Did you mean: {', '.join(self.suggestions)}?"
        if note:
            msg += f" {note}"
        shown = ", ".join(self.available[:50]) + (" ..." if len(self.available) > 50 else "")
        msg += f" Available {kind}: {shown or '(none)'}."
        super().__init__(msg)

    def __str__(self) -> str:  # LookupError would quote the message like a key
        return str(self.args[0])


class LoopzooWarning(UserWarning):
    """Something was skipped or overridden but work goes on (e.g. a broken plugin)."""
