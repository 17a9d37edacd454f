"""One registry per kind of component, backed by ``catalogue``, extended by entry points.

Built-in components register with a decorator (``@norms.register("prenorm")``); third-party
packages declare entry points in the group ``loopzoo_<kind>`` (``loopzoo_norms``, ...), whose
value is the factory. The wrapper fixes catalogue's sharp edges:

* listing names never imports a plugin (entry points are read as metadata only);
* a plugin that fails to import is skipped with one :class:`LoopzooWarning` naming it;
* registering a taken name raises :class:`RegistryError`;
* built-ins win over a plugin of the same name (with a warning);
* an unknown name raises :class:`UnknownNameError` with the available names and close matches.
"""
from __future__ import annotations

import importlib
import threading
import warnings
from collections.abc import Callable
from importlib import metadata
from typing import Any

import catalogue

from .errors import LoopzooWarning, RegistryError, UnknownNameError

BUILTIN = "loopzoo (built-in)"


class Registry:
    """Names -> factories for one kind of component."""

    def __init__(self, kind: str, builtin_modules: tuple[str, ...] = ()):
        self.kind = kind
        self.group = f"loopzoo_{kind}"
        self._builtins = catalogue.create("loopzoo", kind, entry_points=False)
        self._builtin_modules = builtin_modules
        self._builtins_loaded = False
        self._plugins: dict[str, Any] = {}
        self._failed: set[str] = set()
        self._warned: set[tuple[str, str]] = set()
        self._lock = threading.RLock()

    # --- registration -------------------------------------------------------------------
    def register(self, name: str, func: Callable | None = None):
        """Register ``func`` under ``name``; usable as a decorator. Refuses a taken name."""

        def do(f: Callable) -> Callable:
            if name in self._builtins:
                raise RegistryError(f"{self.kind} {name!r} is already registered; pick another name")
            self._builtins.register(name, func=f)
            return f

        return do(func) if func is not None else do

    # --- lookup -------------------------------------------------------------------------
    def _load_builtins(self) -> None:
        with self._lock:
            if not self._builtins_loaded:
                self._builtins_loaded = True
                for module in self._builtin_modules:
                    importlib.import_module(module)

    def entry_points(self) -> dict[str, metadata.EntryPoint]:
        """Installed entry points of this kind, read as metadata (nothing is imported)."""
        found: dict[str, metadata.EntryPoint] = {}
        for ep in metadata.entry_points(group=self.group):
            found.setdefault(ep.name, ep)
        return found

    def _builtin_names(self) -> list[str]:
        self._load_builtins()
        return list(self._builtins.get_all())

    def names(self) -> list[str]:
        """Every name of this kind, built-in and from plugins, sorted; imports no plugin."""
        return sorted(set(self._builtin_names()) | set(self.entry_points()))

    def __contains__(self, name: str) -> bool:
        return name in self.names()

    def source(self, name: str) -> str:
        """Where ``name`` comes from: built-in, or the distribution that provides it."""
        if name in self._builtin_names():
            return BUILTIN
        ep = self.entry_points().get(name)
        if ep is None:
            raise UnknownNameError(self.kind, name, self.names())
        dist = getattr(ep, "dist", None)
        return f"{dist.name} {dist.version}" if dist is not None else ep.value

    def _warn_once(self, key: tuple[str, str], message: str) -> None:
        if key not in self._warned:
            self._warned.add(key)
            warnings.warn(message, LoopzooWarning, stacklevel=3)

    def get(self, name: str) -> Any:
        """The factory registered as ``name``; :class:`UnknownNameError` if there is none."""
        if not isinstance(name, str):
            raise UnknownNameError(self.kind, repr(name), self.names())
        self._load_builtins()
        entry_points = self.entry_points()
        if name in self._builtins:
            if name in entry_points:
                self._warn_once(
                    ("shadow", name),
                    f"plugin {entry_points[name].value!r} also registers {self.kind} {name!r}; "
                    "the built-in is used",
                )
            return self._builtins.get(name)
        with self._lock:
            if name in self._plugins:
                return self._plugins[name]
            ep = entry_points.get(name)
            if ep is not None and name not in self._failed:
                try:
                    self._plugins[name] = ep.load()
                    return self._plugins[name]
                except Exception as exc:  # a broken plugin must not break anything else
                    self._failed.add(name)
                    self._warn_once(
                        ("broken", name),
                        f"plugin {ep.value!r} for {self.kind} {name!r} failed to import "
                        f"({type(exc).__name__}: {exc}); skipped",
                    )
        note = "Its plugin failed to import." if name in self._failed else ""
        available = [n for n in self.names() if n not in self._failed]
        raise UnknownNameError(self.kind, name, available, note)


tasks = Registry("tasks", ("loopzoo.tasks.prefix_sums", "loopzoo.tasks.sudoku", "loopzoo.tasks.chess"))
recalls = Registry("recalls", ("loopzoo.layers.recall",))
norms = Registry("norms", ("loopzoo.layers.norms",))
cells = Registry("cells", ("loopzoo.layers.attention",))
models = Registry("models", ("loopzoo.names",))
halting = Registry("halting", ("loopzoo.halting",))
datasets = Registry("datasets", ("loopzoo.data.prefix_sums", "loopzoo.data.sudoku", "loopzoo.data.chess"))
augmentations = Registry("augmentations", ("loopzoo.train.augment",))  # keyed by task name
views = Registry("views", ("loopzoo.web.views",))  # how `loopzoo serve` draws each task's answers

REGISTRIES: dict[str, Registry] = {
    r.kind: r for r in (tasks, recalls, norms, cells, models, halting, datasets, augmentations, views)
}
