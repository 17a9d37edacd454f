"""The analysis's memory budget: how many probe samples each phase takes at once, and what each
phase used (seconds, peak resident memory).

Every phase of :func:`~loopzoo.analysis.report.analyze` works on chunks of samples sized so that
its working memory (one iteration's activations, the states it keeps) stays within ``bytes``;
phases that backpropagate through many iterations keep states every few iterations instead of a
graph per iteration (:meth:`Budget.trajectory`). The budget comes from ``--max-memory``, else the
environment variable ``LOOPZOO_ANALYSIS_MEMORY``, else 512 MiB. It bounds the working memory of a
phase, not the whole process: Python, torch, the model and the data come on top (a few hundred MiB).
"""
from __future__ import annotations

import math
import os
import re
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any

import torch

from ..errors import InputError

ENV = "LOOPZOO_ANALYSIS_MEMORY"
DEFAULT_BYTES = 512 * 2**20
MIB = 2**20
_SIZE = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*([kmgt]?)(i?b)?\s*$", re.IGNORECASE)
_POWERS = {"": 0, "k": 1, "m": 2, "g": 3, "t": 4}


def parse_size(text: str | int, what: str = "memory size") -> int:
    """Bytes of ``512M``, ``1.5G``, ``800MiB``, ``2gb`` or ``536870912`` (K, M, G, T are powers of 1024)."""
    if isinstance(text, int) and not isinstance(text, bool):
        value = text
    else:
        m = _SIZE.match(str(text))
        if not m:
            raise InputError(f"{what} {str(text)[:60]!r} is not a size like 512M, 1.5G or 800MiB")
        value = int(float(m.group(1)) * 1024 ** _POWERS[m.group(2).lower()])
    if value < 1:
        raise InputError(f"{what} must be positive, got {str(text)[:60]!r}")
    return value


def default_bytes() -> int:
    """The budget when none is given: ``LOOPZOO_ANALYSIS_MEMORY`` if set, else 512 MiB."""
    env = os.environ.get(ENV)
    return parse_size(env, f"environment variable {ENV}") if env else DEFAULT_BYTES


def spans(n: int, size: int | None) -> list[slice]:
    """Slices that cut ``n`` samples into chunks of at most ``size`` (one chunk for ``None``)."""
    size = n if size is None else max(1, int(size))
    return [slice(i, min(i + size, n)) for i in range(0, n, size)] or [slice(0, 0)]


@dataclass(frozen=True)
class Budget:
    """``bytes`` of working memory per phase, and the model sizes that turn it into samples per chunk.

    The per-sample estimates are upper bounds of the tensors alive during one iteration (as the
    comment on :data:`loopzoo.model.MAX_TOKENS`): per token ``width * (2 * mlp_ratio + 8)`` values
    for the MLP and projections, ``3 * window * width`` for local attention's key/value slots, or
    ``2 * heads * length`` for the attention weights of full attention, and a few per class.
    """

    bytes: int
    width: int
    mlp_ratio: int = 4
    heads: int = 1
    classes: int = 2
    window: int | None = None  # local attention window; None: full attention over the sequence
    depth: int = 1
    itemsize: int = 4

    @classmethod
    def of(cls, model, nbytes: int | None = None) -> Budget:
        """The budget of ``nbytes`` (default: :func:`default_bytes`) for a :class:`LoopedTransformer`."""
        cfg = model.config
        param = next(model.parameters())
        attn = model.blocks[0].attn
        return cls(bytes=default_bytes() if nbytes is None else parse_size(nbytes), width=cfg.width,
                   mlp_ratio=cfg.mlp_ratio, heads=cfg.heads, classes=model.task.out_channels,
                   window=getattr(attn, "window", None), depth=cfg.depth, itemsize=param.element_size())

    def state(self, length: int) -> int:
        """Bytes of one sample's state ``[L, D]``."""
        return length * self.width * self.itemsize

    def layer(self, length: int) -> int:
        """Bytes alive during one layer of one iteration (forward) for one sample of ``length`` tokens."""
        per_token = self.width * (2 * self.mlp_ratio + 8) + 3 * self.classes
        per_token += 3 * self.window * self.width if self.window else 2 * self.heads * length
        return length * per_token * self.itemsize

    def samples(self, length: int, *, layers: float = 1.0, states: float = 2.0) -> int:
        """Samples per chunk for a phase that holds ``layers`` layer activations and ``states``
        states per sample at once (at least 1)."""
        per = layers * self.layer(length) + states * self.state(length)
        return max(1, int(self.bytes // max(per, 1)))

    def trajectory(self, length: int, iters: int, batch: int) -> tuple[int, int]:
        """``(samples per chunk, segment)`` for backpropagation through ``iters`` iterations one
        iteration at a time (:func:`~loopzoo.analysis.jacobian.backprop_through`).

        The graph of one iteration (forward and its gradients) is alive at a time, with states kept
        every ``segment`` iterations plus the states of one segment. ``segment = iters`` keeps every
        state (no recomputation); a shorter one (``~sqrt(iters)``) is chosen when it lets at least
        twice as many samples share a chunk.
        """
        graph = 2 * self.depth * self.layer(length) + 4 * self.state(length)
        whole = int(self.bytes // (graph + (iters + 1) * self.state(length)))
        segment = max(1, math.isqrt(iters - 1) + 1) if iters > 1 else 1
        kept = -(-iters // segment) + segment + 1
        cut = int(self.bytes // (graph + kept * self.state(length)))
        if whole >= 1 and (whole >= batch or 2 * whole >= cut):
            return min(batch, whole), iters
        return min(batch, max(1, cut)), segment

    def describe(self) -> str:
        return size_text(self.bytes)


def size_text(nbytes: float) -> str:
    """``512 MiB``, ``1.5 GiB``, ``300 KiB`` or ``12 B``."""
    for unit, power in (("GiB", 3), ("MiB", 2), ("KiB", 1)):
        if nbytes >= 1024**power:
            value = nbytes / 1024**power
            return f"{value:.3g} {unit}" if value < 100 else f"{value:.0f} {unit}"
    return f"{nbytes:.0f} B"


# --- measuring -------------------------------------------------------------------------------

def current_rss() -> int | None:
    """Resident set size of this process in bytes (Linux ``/proc``), else None."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError, AttributeError):
        return None


def process_peak() -> int | None:
    """Peak resident set size of this process so far in bytes (``getrusage``), else None."""
    try:
        import resource
    except ImportError:  # Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)


class PhaseMeter:
    """Seconds and peak resident memory of one phase.

    The peak is exact when the phase raised the process's peak (``getrusage``); otherwise it is
    the highest resident size sampled every ``interval`` seconds by a thread during the phase
    (``/proc/self/statm``; short spikes between samples can be missed). On CUDA the peak of
    allocated device memory is recorded too.
    """

    def __init__(self, device: torch.device | None = None, interval: float = 0.005):
        self.device = device
        self.interval = interval
        self.seconds = 0.0
        self.peak_rss: int | None = None
        self.process_peak: int | None = None
        self.cuda_peak: int | None = None

    def __enter__(self) -> PhaseMeter:
        self._stop = threading.Event()
        self._start_peak = process_peak()
        self._sampled = current_rss() or 0
        self._thread = threading.Thread(target=self._sample, daemon=True) if current_rss() is not None else None
        if self._thread is not None:
            self._thread.start()
        if self.device is not None and self.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(self.device)
        self._t = time.perf_counter()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(self.interval):
            rss = current_rss() or 0
            if rss > self._sampled:
                self._sampled = rss
        self._sampled = max(self._sampled, current_rss() or 0)

    def __exit__(self, *exc: Any) -> None:
        self.seconds = time.perf_counter() - self._t
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.process_peak = process_peak()
        raised = self.process_peak is not None and self._start_peak is not None and self.process_peak > self._start_peak
        self.peak_rss = self.process_peak if raised else (self._sampled or None)
        if self.device is not None and self.device.type == "cuda":
            self.cuda_peak = int(torch.cuda.max_memory_allocated(self.device))

    def describe(self) -> str:
        """``12.3 s, peak RSS 412 MiB (process 530 MiB)`` and the CUDA peak where there is one."""
        parts = [f"{self.seconds:.1f} s"]
        if self.peak_rss is not None:
            parts.append(f"peak RSS {self.peak_rss / MIB:.0f} MiB"
                         + (f" (process peak {self.process_peak / MIB:.0f} MiB)" if self.process_peak else ""))
        if self.cuda_peak is not None:
            parts.append(f"peak CUDA {self.cuda_peak / MIB:.0f} MiB")
        return ", ".join(parts)


def chunks_text(n: int, size: int) -> str:
    """``32 samples in 2 chunks of 16``."""
    size = min(max(1, size), max(n, 1))
    k = -(-n // size)
    return f"{n} samples in {k} chunk{'s' if k != 1 else ''} of {size}" if k > 1 else f"{n} samples in 1 chunk"
