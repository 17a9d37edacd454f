"""The looped transformer (docs/design.md §1): embed, iterate one weight-tied block, read out.

    e   = Linear(x)                       # [B, L, D] input embedding
    s_0 = e
    s_t = F(s_{t-1}; e)                   # Block, the same weights every iteration
    y_t = Linear(GELU(Linear(RMSNorm(s_t))))  # per-token readout
"""
from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .config import ModelConfig
from .errors import ConfigError, InputError, LoopzooError, LoopzooWarning
from .layers.norms import RMSNorm
from .registry import cells, norms, recalls, tasks
from .breadth import MAX_BREADTH, check_noise, solve_batch
from .tasks.base import Task


class MLP(nn.Module):
    def __init__(self, width: int, ratio: int):
        super().__init__()
        self.up = nn.Linear(width, ratio * width)
        self.down = nn.Linear(ratio * width, width)

    @property
    def in_proj(self) -> nn.Linear:
        """The first, linear map of the branch (see :class:`FoldedRecall`)."""
        return self.up

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.from_projection(self.up(x))

    def from_projection(self, h: torch.Tensor) -> torch.Tensor:
        """The branch after ``in_proj``: ``down(GELU(h))`` for ``h [B, L, ratio * D]``."""
        # GELU in place on the widest tensor of the loop when no gradient needs the pre-activation
        h = F.gelu(h) if torch.is_grad_enabled() else torch.ops.aten.gelu_(h)
        return self.down(h)


@dataclass(frozen=True)
class FoldedRecall:
    """A block's recall input folded into its branches' first linear maps, for the loop without gradients.

    With internal recall a branch ``f = g o P`` (``P`` linear: the attention's QKV projection,
    the MLP's up projection) sees ``P(Wx N1(s) + u) = (P_W Wx) N1(s) + (P_W u + P_b)``. The
    second term is constant over iterations, so each iteration runs one matmul-add per branch
    instead of two: 12 instead of 14 ``width^2`` multiply-adds per token at MLP ratio 4, for
    ``(3 + ratio) * width`` numbers kept per token. The same function up to float rounding.
    """

    weights: tuple[torch.Tensor, ...]  # per branch: P_W Wx, [out, D]
    inputs: tuple[torch.Tensor, ...]  # per branch: P_W u + P_b, [B, L, out]

    def rows(self, index: torch.Tensor) -> FoldedRecall:
        """The same for the samples ``index`` of the batch (halting drops finished samples)."""
        return FoldedRecall(self.weights, tuple(t[index] for t in self.inputs))


def select_rows(u: torch.Tensor | FoldedRecall, index: torch.Tensor) -> torch.Tensor | FoldedRecall:
    """Recall inputs ``u`` of one block, kept for the samples ``index`` only."""
    return u.rows(index) if isinstance(u, FoldedRecall) else u[index]


class Block(nn.Module):
    """One transformer layer with a recall mode and a norm placement.

    For each branch ``f`` in (attention, MLP): ``s <- N3(R(s, N2(f(inject(N1(s), u)))))``,
    after ``s <- before(s, u)`` (standard recall: ``Wx s + Wh e``), where ``u = recall.project(e)``
    (``Wh e`` with recall) is computed once per input by the model.
    """

    def __init__(self, config: ModelConfig, task: Task):
        super().__init__()
        width = config.width
        self.recall = recalls.get(config.recall)(width)
        self.norm = norms.get(config.norm)(width)
        self.attn = cells.get(config.cell or task.cell)(
            width, config.heads, grid=task.grid, window=config.window, rope_base=config.rope_base
        )
        self.mlp = MLP(width, config.mlp_ratio)

    def forward(self, s: torch.Tensor, u: torch.Tensor | FoldedRecall) -> torch.Tensor:
        if isinstance(u, FoldedRecall):
            return self.forward_folded(s, u)
        s = self.recall.before(s, u)  # [B, L, D]
        for branch in (self.attn, self.mlp):
            h = self.recall.inject(self.norm.n1(s), u)
            s = self.norm.update(s, branch(h))
        return s

    def fold(self, u: torch.Tensor) -> torch.Tensor | FoldedRecall:
        """``u`` folded into the branches' input projections (:class:`FoldedRecall`) where the
        recall allows it and no gradient is recorded; else ``u`` itself."""
        branches = (self.attn, self.mlp)
        projections = [getattr(branch, "in_proj", None) for branch in branches]
        if torch.is_grad_enabled() or any(p is None or not hasattr(b, "from_projection")
                                          for p, b in zip(projections, branches)):
            return u
        folds = [self.recall.fold(u, p) for p in projections]
        if any(f is None for f in folds):
            return u
        return FoldedRecall(tuple(w for w, _ in folds), tuple(i for _, i in folds))

    def forward_folded(self, s: torch.Tensor, u: FoldedRecall) -> torch.Tensor:
        """:meth:`forward` with the recall folded into the branches (see :class:`FoldedRecall`)."""
        B, L, D = s.shape
        for branch, weight, inputs in zip((self.attn, self.mlp), u.weights, u.inputs):
            h = self.norm.n1(s).reshape(B * L, D)
            p = torch.addmm(inputs.reshape(B * L, -1), h, weight.t()).view(B, L, -1)  # P(Wx N1(s) + u)
            s = self.norm.update(s, branch.from_projection(p))
        return s


class Readout(nn.Module):
    """``y = Linear(GELU(Linear(RMSNorm(s))))`` per token."""

    def __init__(self, width: int, classes: int):
        super().__init__()
        self.norm = RMSNorm(width)
        self.hidden = nn.Linear(width, width)
        self.out = nn.Linear(width, classes)

    def forward(self, s: torch.Tensor) -> torch.Tensor:
        return self.out(F.gelu(self.hidden(self.norm(s))))


@dataclass
class Trace:
    """Per-iteration record of a :meth:`LoopedTransformer.solve` call, for one input.

    ``predictions[t]`` is the answer after iteration ``t + 1``; ``confidence[t]`` the mean
    probability of the predicted classes; ``residual[t] = ||s_{t+1} - s_t|| / ||s_t||``.
    """

    predictions: list[Any]
    confidence: np.ndarray  # [T]
    residual: np.ndarray  # [T]


@dataclass(frozen=True)
class Solution:
    """One input's result of ``solve(..., return_info=True)``: the answer, what it cost, and whether it checks out."""

    answer: Any
    iters: int  # iterations of the run that gave the answer (with halt: where it stopped)
    total_iters: int  # iterations over all runs and trajectories of this input: its compute (block evaluations / depth)
    runs: int  # 1 + the restarts used
    verified: bool | None  # Task.verify: True valid, False breaks a rule, None the task cannot tell
    reason: str  # what the check found; for a failure, the first rule broken
    trajectories: int = 1  # trajectories run side by side per run (solve's breadth)
    trace: Trace | None = field(default=None, compare=False, repr=False)  # every iteration, with solve(trace=True)

    @property
    def status(self) -> str:
        """``"valid"``, ``"invalid"`` or ``"unknown"``."""
        return "unknown" if self.verified is None else "valid" if self.verified else "invalid"


# Most tokens (inputs x length) one forward pass may hold. Activation memory grows with it
# (about tokens * width * 4 bytes * (2 * mlp_ratio + 3 * window + 8) at most, plus (3 + mlp_ratio)
# for the recall inputs folded into the branches with internal recall), so solve() cuts
# batches into chunks within it and refuses, up front, a single input longer than it.
# Set it with the environment variable LOOPZOO_MAX_TOKENS or by assigning this attribute.
MAX_TOKENS = int(os.environ.get("LOOPZOO_MAX_TOKENS", 2**18))
MAX_ITERS = 100_000  # solve() refuses more iterations than this (the config's limit too)
MAX_RESTARTS = 1000  # solve() refuses more restarts than this
COMPILE_MODES = ("default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")
KEEP_PARSED = 4096  # batches up to this size keep parsed inputs; larger ones re-parse per chunk


def check_iters(iters: Any, what: str = "iters", high: int = MAX_ITERS) -> int:
    """``iters`` as an int in ``[1, high]``, else :class:`InputError` naming ``what``."""
    if isinstance(iters, bool) or not isinstance(iters, (int, np.integer)) or iters < 1:
        raise InputError(f"{what} must be a positive integer, got {str(iters)[:60]!r}")
    if iters > high:
        raise InputError(f"{what} is {iters}, above loopzoo's limit of {high}")
    return int(iters)


def check_flag(value: Any, what: str, none: bool = False) -> bool | None:
    """``value`` as a bool (None too where ``none``), else :class:`InputError` naming ``what``."""
    if value is None and none:
        return None
    if not isinstance(value, (bool, np.bool_)):
        allowed = "True, False or None" if none else "True or False"
        raise InputError(f"{what} must be {allowed}, got {str(value)[:60]!r}")
    return bool(value)


def deprecated(message: str) -> None:
    """A ``DeprecationWarning`` about an old form of a :meth:`LoopedTransformer.solve` call, shown
    at the caller's line."""
    warnings.warn(f"solve() {message} (the old form goes in loopzoo 0.3; docs/inference.md has the table)",
                  DeprecationWarning, stacklevel=3)


def check_count(value: Any, what: str, high: int) -> int:
    """``value`` as an int in ``[0, high]``, else :class:`InputError` naming ``what``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise InputError(f"{what} must be a non-negative integer, got {str(value)[:60]!r}")
    if value > high:
        raise InputError(f"{what} is {value}, above loopzoo's limit of {high}")
    return int(value)


class LoopedTransformer(nn.Module):
    """A weight-tied transformer that runs its block ``iters`` times."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        self.task: Task = tasks.get(config.task)()
        self.embed = nn.Linear(self.task.in_channels, config.width)
        self.blocks = nn.ModuleList(Block(config, self.task) for _ in range(config.depth))
        self.readout = Readout(config.width, self.task.out_channels)

    # --- the loop -----------------------------------------------------------------------
    def recall_inputs(self, e: torch.Tensor, fold: bool = False) -> list[torch.Tensor | FoldedRecall]:
        """What each layer's recall receives: ``Wh e`` (constant over iterations, so computed once).

        ``fold=True``, for a loop of many iterations without gradients, folds it into the
        branches where the recall allows (:class:`FoldedRecall`): fewer FLOPs per iteration,
        more to set up, so a single :meth:`step` does not.
        """
        u = [block.recall.project(e) for block in self.blocks]
        return [block.fold(u_i) for block, u_i in zip(self.blocks, u)] if fold else u

    def step(self, s: torch.Tensor, e: torch.Tensor, u: list[torch.Tensor | FoldedRecall] | None = None) -> torch.Tensor:
        """One iteration ``F(s; e)``: all ``depth`` layers (one for looped models).

        ``u = recall_inputs(e)`` may be passed to skip recomputing it in a loop.
        """
        for block, u_i in zip(self.blocks, self.recall_inputs(e) if u is None else u):
            s = block(s, u_i)
        return s

    def iterate(self, x: torch.Tensor, iters: int, state: torch.Tensor | None = None) -> Iterator[torch.Tensor]:
        """Yield the states ``s_1 .. s_T`` (``[B, L, D]``), starting from ``state`` or ``s_0 = e``."""
        e = self.embed(x)  # [B, L, D]
        u = self.recall_inputs(e, fold=True)
        s = e if state is None else state
        for _ in range(check_iters(iters)):
            s = self.step(s, e, u)
            yield s

    def forward(
        self, x: torch.Tensor, iters: int | None = None, state: torch.Tensor | None = None, *, no_grad_iters: int = 0
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(logits [B, L, C], state [B, L, D])`` after ``iters`` iterations; keeps one state only.

        ``no_grad_iters`` first runs that many iterations without gradient and detaches the state
        (the progressive loss: gradients flow through the last ``iters`` iterations only).
        """
        if no_grad_iters:
            with torch.no_grad():
                _, state = self.forward(x, no_grad_iters, state)
            state = state.detach()
        s = state
        for s in self.iterate(x, self.config.iters if iters is None else iters, state):
            pass
        return self.readout(s), s

    # --- inference ----------------------------------------------------------------------
    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def solve(
        self,
        inputs: Any,
        iters: int | None = None,
        *,
        # when to stop, how hard to search
        halt: str | None = None,
        restarts: int = 0,
        breadth: int = 1,
        seed: int = 0,
        noise: float = 1.0,
        # what to return: answers, or a Solution per input
        return_info: bool | None = None,  # None: False (until 0.3, with halt: the old tuple)
        trace: bool = False,
        # how to run it: speed and memory (answers change only with the arithmetic: bf16 autocast)
        batch_size: int = 256,
        device: str | torch.device | None = None,
        autocast: bool | None = None,
        compile: bool | str = False,
        compact: bool = True,
        check_every: int = 4,
        # deprecated until loopzoo 0.3: use trace=True with return_info=True, and noise
        return_trace: bool | None = None,
        restart_noise: float | None = None,
    ) -> Any:
        """Answer natural inputs (a sudoku string, a FEN, a bit string, or a list of them).

        **What it returns.** One result per input, in the inputs' order: one input (a string, a
        sudoku grid: what :meth:`Task.is_single` reads as one) gives one result, a list, tuple or
        array of inputs a list. A result is the task's answer, or with ``return_info=True`` a
        :class:`Solution`: ``.answer``, ``.iters`` (of the run that gave the answer),
        ``.total_iters`` (over all runs and trajectories: the input's compute), ``.runs``,
        ``.trajectories``, ``.verified`` / ``.status`` / ``.reason`` (:meth:`Task.verify` of the
        answer) and ``.trace`` (with ``trace=True``). No other option changes the shape.

        **When to stop and how hard to search.** ``iters`` defaults to the config's. ``halt``
        (``"residual:1e-4"``, ``"unchanged:5"``, ``"confidence:0.99"``, ``"valid"``,
        ``"valid:residual:1e-3"``; :mod:`loopzoo.halting`) makes ``iters`` a cap: each input stops
        when the criterion holds and its answer is the one at that iteration (``Solution.iters``
        says which); ``"valid"`` stops at the first answer that passes the task's check.
        ``restarts=K`` runs an input whose answer fails the check again, from the start state
        ``e + noise * ||e|| * z`` (``z`` a unit Gaussian direction drawn from ``seed``, the input's
        index and the attempt), up to ``K`` times; its answer is the first that passes, else the
        last. Inputs the task cannot check are not restarted. ``breadth=K`` runs ``K`` trajectories
        per input side by side (:mod:`loopzoo.breadth`): from ``e`` and from the starts of restarts
        ``1 .. K-1``; all stop at the first answer of any of them that verifies, else the answer is
        the most common one among them (not known to fail), ties broken by the model's confidence.
        ``breadth`` cannot be combined with ``restarts``.

        **What to record.** ``return_info=True`` returns :class:`Solution` objects (it verifies
        every answer). ``trace=True`` also records every iteration in ``Solution.trace`` (a
        :class:`Trace`: the answer, confidence and residual after each); it needs
        ``return_info=True`` and cannot be combined with ``halt``, ``restarts`` or ``breadth``.

        **How to run it** (speed and memory; answers change only with the arithmetic, e.g. bf16
        ``autocast`` on inputs that have not converged). ``batch_size`` inputs per forward pass at most (fewer for long inputs, within
        :data:`MAX_TOKENS`); ``device`` (default: where the model is) moves the model there;
        ``autocast`` (default: on for CUDA) runs in bf16; ``compile=True`` (or a ``torch.compile``
        mode such as ``"reduce-overhead"``) compiles the blocks in place first, as
        :meth:`compile_blocks`. With ``halt``, halted inputs leave the batch (``compact``), checked
        every ``check_every`` iterations (one host sync each).

        **Deprecated, until loopzoo 0.3** (each with a ``DeprecationWarning``; docs/inference.md):
        ``halt`` without ``return_info`` returns ``(answers, iterations)`` (the iterations are
        ``Solution.total_iters``): pass ``return_info=True`` for :class:`Solution` objects, or
        ``return_info=False`` for the answers alone, which ``halt`` returns from 0.3 on.
        ``return_trace=True`` returns ``(answers, traces)``: use ``trace=True, return_info=True``.
        ``restart_noise`` is ``noise``.
        """
        iters = check_iters(self.config.iters if iters is None else iters)
        restarts = check_count(restarts, "restarts", MAX_RESTARTS)
        breadth = check_iters(breadth, "breadth", high=MAX_BREADTH)
        seed = check_count(seed, "seed", 2**63 - 1)
        noise = check_noise(noise, "noise")
        info = check_flag(return_info, "return_info", none=True)
        trace = check_flag(trace, "trace")
        batch_size = check_iters(batch_size, "batch_size", high=2**62)
        autocast = check_flag(autocast, "autocast", none=True)
        compact = check_flag(compact, "compact")
        check_every = check_iters(check_every, "check_every", high=2**62)
        legacy = None  # the old shape to return: "trace" (answers, traces) or "halt" (answers, iterations)
        old_forms = []  # deprecation warnings, given once the call is known to be valid
        if restart_noise is not None:
            restart_noise = check_noise(restart_noise, "restart_noise")
            if noise not in (1.0, restart_noise):
                raise InputError(f"restart_noise ({restart_noise}) and noise ({noise}) are one setting: "
                                 "give noise only")
            old_forms.append("restart_noise= is now noise= (the same scale, for restarts and breadth alike)")
            noise = restart_noise
        if return_trace is not None:
            if check_flag(return_trace, "return_trace"):
                if info is not None or trace:
                    raise InputError("return_trace is the old form of trace=True, return_info=True: give those only")
                legacy, trace = "trace", True
            old_forms.append("return_trace=True returns (answers, traces); use trace=True, return_info=True and "
                             "read Solution.answer and Solution.trace")
        if trace and (halt is not None or restarts or breadth > 1):
            what = "halt" if halt is not None else "restarts" if restarts else "breadth"
            raise InputError(f"trace and {what} cannot be combined; the trace shows every iteration of one run")
        if trace and not info and legacy is None:
            raise InputError("trace=True records Solution.trace: pass return_info=True as well")
        if halt is not None:
            from . import halting

            halting.make(halt)  # validate before any work
            if info is None:
                legacy = "halt"
                old_forms.append("halt without return_info returns (answers, iterations); pass return_info=True for "
                                 "Solution objects (.answer, .iters, .total_iters) or return_info=False for the "
                                 "answers alone, which halt returns from loopzoo 0.3 on")
        if breadth > 1 and restarts:
            raise InputError("breadth and restarts cannot be combined: breadth K already runs restarts 1..K-1's starts")
        if device is not None:
            try:
                target = torch.device(device)
                if target.type not in ("cpu", "cuda", "mps", "xpu"):
                    raise ValueError("loopzoo runs on cpu, cuda, mps or xpu")
                self.to(target)
            except (RuntimeError, AssertionError, ValueError, TypeError) as exc:
                raise InputError(f"cannot use device {str(device)[:60]!r}: {str(exc)[:200]}") from None
        if compile:
            self.compile_blocks(None if compile is True else compile)
        device_type = self.device.type
        use_autocast = (device_type == "cuda") if autocast is None else autocast
        items, single = self.task.as_batch(inputs)
        max_tokens = int(MAX_TOKENS)
        keep = len(items) <= KEEP_PARSED
        kept: list[Any] = []
        by_length: dict[int, list[int]] = {}
        for i, item in enumerate(items):  # check every input before any model work
            p = self.task.parse(item, i)
            length = self.task.length(p)
            if length * breadth > max_tokens and length <= max_tokens:
                raise InputError(
                    f"{self.task.name} input {i}: breadth {breadth} x {length:,} tokens is above the limit of "
                    f"{max_tokens:,} tokens per forward pass (loopzoo.model.MAX_TOKENS); lower breadth"
                )
            if length > max_tokens:
                raise InputError(
                    f"{self.task.name} input {i}: {length:,} tokens, above the limit of {max_tokens:,} tokens per "
                    "forward pass (loopzoo.model.MAX_TOKENS, env LOOPZOO_MAX_TOKENS); it would not fit in memory "
                    "at once: split it, or raise the limit if your memory allows"
                )
            if keep:
                kept.append(p)
            by_length.setdefault(length, []).append(i)
        for message in old_forms:
            deprecated(message)
        checked = bool(info) or trace or restarts > 0 or breadth > 1  # Solutions come out: answers are verified
        results: list[Any] = [None] * len(items)  # a Solution per input where checked, else an answer
        used: list[int] = [iters] * len(items)  # iterations per input, over all its runs
        with torch.inference_mode(), torch.autocast(device_type, dtype=torch.bfloat16, enabled=use_autocast):
            for length, indices in by_length.items():
                step = max(1, min(batch_size, max_tokens // max(length * breadth, 1)))
                for start in range(0, len(indices), step):
                    chunk = indices[start : start + step]
                    batch = [kept[i] if keep else self.task.parse(items[i], i) for i in chunk]
                    x = self.task.encode(batch).to(self.device)
                    if trace:
                        out = self._solve_traced(x, batch, iters)
                    elif breadth > 1:
                        out = solve_batch(self, x, batch, chunk, iters=iters, halt=halt, compact=compact,
                                          check_every=check_every, breadth=breadth, seed=seed, noise=noise)
                    else:
                        run = partial(self._run, iters=iters, halt=halt, compact=compact, check_every=check_every)
                        if checked:
                            out = self._solve_checked(x, batch, chunk, run, restarts, seed, noise)
                        else:
                            logits, costs = run(x, batch, None)
                            out = self.task.decode(logits, batch)
                    if checked:
                        costs = [sol.total_iters for sol in out]
                    for i, result, n in zip(chunk, out, costs):
                        results[i], used[i] = result, n
        answers = [sol.answer for sol in results] if checked else results
        if legacy == "trace":
            traces = [sol.trace for sol in results]
            return (answers[0], traces[0]) if single else (answers, traces)
        if legacy == "halt":
            return (answers[0], used[0]) if single else (answers, used)
        out = results if info else answers
        return out[0] if single else out

    def _run(self, x: torch.Tensor, parsed: list[Any], start: torch.Tensor | None, *, iters: int, halt: str | None,
             compact: bool, check_every: int) -> tuple[torch.Tensor, list[int]]:
        """One run of a batch: ``(logits [B, L, C], iterations used per sample)``, fixed or halting."""
        from . import halting

        if halt is None:
            return self(x, iters, start)[0], [iters] * x.shape[0]
        criterion = halting.make(halt)
        criterion.bind(self.task, parsed)
        states, steps = self.run_halting(x, iters, criterion, compact=compact, check_every=check_every, state=start)
        return self.readout(states), steps.tolist()

    def _solve_checked(self, x: torch.Tensor, parsed: list[Any], indices: list[int], run: Callable, restarts: int,
                       seed: int, noise: float) -> list[Solution]:
        """Run, check every answer, and restart the ones that fail from perturbed start states."""
        logits, steps = run(x, parsed, None)
        answers = self.task.decode(logits, parsed)
        verdicts = [self.task.verify(p, a) for p, a in zip(parsed, answers)]
        last, total, runs = list(steps), list(steps), [1] * len(parsed)
        pending = [j for j, v in enumerate(verdicts) if v.verified is False]
        for attempt in range(1, restarts + 1):
            if not pending:
                break
            sub = [parsed[j] for j in pending]
            xs = x[pending]
            logits, steps = run(xs, sub, self.restart_state(xs, [indices[j] for j in pending], attempt, seed, noise))
            for j, answer, n in zip(pending, self.task.decode(logits, sub), steps):
                answers[j], verdicts[j] = answer, self.task.verify(parsed[j], answer)
                last[j], total[j], runs[j] = n, total[j] + n, runs[j] + 1
            pending = [j for j in pending if verdicts[j].verified is False]
        return [Solution(a, n, t, r, v.verified, v.reason) for a, n, t, r, v in zip(answers, last, total, runs, verdicts)]

    def restart_state(self, x: torch.Tensor, indices: list[int], attempt: int, seed: int = 0,
                      noise: float = 1.0) -> torch.Tensor:
        """A perturbed start ``e + noise * ||e|| * z`` (``[B, L, D]``) for restart ``attempt`` of the
        inputs ``indices``; ``z`` is a unit Gaussian direction drawn from ``(seed, index, attempt)``,
        so it does not depend on batching or device."""
        e = self.embed(x)  # [B, L, D]
        z = torch.stack([
            torch.randn(e.shape[1:], generator=torch.Generator().manual_seed(
                int(np.random.SeedSequence([seed, i, attempt]).generate_state(1)[0])))
            for i in indices
        ])  # [B, L, D]
        z = z / z.flatten(1).norm(dim=1).clamp_min(1e-12).view(-1, 1, 1)
        scale = noise * e.float().flatten(1).norm(dim=1).view(-1, 1, 1)
        return e + (scale * z.to(e.device)).to(e.dtype)

    def compile_blocks(self, mode: str | None = None, probe: Callable[[], Any] | None = None) -> bool:
        """``torch.compile`` each block in place (kept for later calls, training included).

        Shapes that change between calls (other batch sizes, halted samples leaving the batch)
        recompile once and then run with a dynamic batch size. ``probe`` (default: one inference
        iteration of the task's example) runs right after, so that a compile failure (no C++
        compiler, an unsupported platform) shows here: the blocks then stay eager with a
        :class:`LoopzooWarning`. Returns whether they are compiled.
        """
        if mode is not None and mode not in COMPILE_MODES:
            raise InputError(f"compile mode {str(mode)[:60]!r} is not one of {', '.join(COMPILE_MODES)}")
        todo = [b for b in self.blocks if getattr(b, "_loopzoo_compile_mode", False) != mode]
        if not todo:
            return True
        probe = probe or self._inference_probe(todo)
        try:
            for block in todo:
                block.compile(mode=mode)
            if probe is not None:
                probe()
            for block in todo:
                block._loopzoo_compile_mode = mode
        except Exception as exc:  # torch.compile raises many kinds; the eager blocks still work
            for block in todo:
                block._compiled_call_impl = None
                block.__dict__.pop("_loopzoo_compile_mode", None)
            warnings.warn(f"torch.compile failed, running eager: {type(exc).__name__}: {str(exc)[:300]}",
                          LoopzooWarning, stacklevel=3)
            return False
        return True

    def _inference_probe(self, blocks: list[Block]) -> Callable[[], None] | None:
        """One iteration of ``blocks`` on the task's example, as the inference loop calls them;
        None for a task without a usable example (compiling then happens at the first real call)."""
        try:
            with torch.inference_mode():
                e = self.embed(self.task.encode([self.task.parse(self.task.example, 0)] * 2).to(self.device))  # [2, L, D]
        except LoopzooError:
            return None

        def probe() -> None:
            with torch.inference_mode():
                for block in blocks:
                    block(e, block.fold(block.recall.project(e)))

        return probe

    def run_halting(
        self, x: torch.Tensor, iters: int, criterion: Any, *, compact: bool = True, check_every: int = 4,
        state: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Iterate with per-sample early exit: ``(states at each sample's halt [B, L, D], iterations used [B])``.

        Starts from ``state`` (default ``s_0 = e``). A sample's state is held at the first
        iteration its criterion holds, without a host sync; every ``check_every`` iterations
        halted samples are removed from the batch (``compact``), so compute falls as samples finish.
        """
        e = self.embed(x)  # [B, L, D]
        u = self.recall_inputs(e, fold=True)
        s = e if state is None else state
        final = torch.empty_like(e)
        used = torch.full((x.shape[0],), iters, dtype=torch.long, device=x.device)
        rows = torch.arange(x.shape[0], device=x.device)  # original index of each active row
        held, held_at = s, torch.full_like(rows, iters)
        stopped = torch.zeros_like(rows, dtype=torch.bool)
        for t in range(1, iters + 1):
            prev, s = s, self.step(s, e, u)
            logits = self.readout(s) if criterion.needs_logits else None
            newly = criterion(prev, s, logits) & ~stopped
            held = torch.where(newly[:, None, None], s, held)
            held_at = torch.where(newly, t, held_at)
            stopped = stopped | newly
            if t % check_every or t == iters:
                continue
            if not compact:
                if bool(stopped.all()):
                    break
                continue
            done = stopped.nonzero().squeeze(1)  # host sync
            if len(done):
                final[rows[done]], used[rows[done]] = held[done], held_at[done]
                keep = (~stopped).nonzero().squeeze(1)
                if not len(keep):
                    return final, used
                s, e, held, held_at, rows, stopped = s[keep], e[keep], held[keep], held_at[keep], rows[keep], stopped[keep]
                u = [select_rows(u_i, keep) for u_i in u]
                criterion.keep(keep)
        final[rows] = torch.where(stopped[:, None, None], held, s)
        used[rows] = held_at
        return final, used

    def _solve_traced(self, x: torch.Tensor, batch: list[Any], iters: int) -> list[Solution]:
        """A :class:`Solution` with its :class:`Trace` per input of the batch ``x [B, L, C]``, after ``iters``
        iterations."""
        preds: list[list[Any]] = []
        conf, resid = [], []
        prev = self.embed(x)
        for s in self.iterate(x, iters):
            logits = self.readout(s).float()
            preds.append(self.task.decode(logits, batch))
            conf.append(self.task.confidence(logits))
            resid.append((s - prev).flatten(1).norm(dim=1) / prev.flatten(1).norm(dim=1).clamp_min(1e-12))
            prev = s
        confidence = torch.stack(conf, dim=1).float().cpu().numpy()  # [B, T]
        residual = torch.stack(resid, dim=1).float().cpu().numpy()  # [B, T]
        out = []
        for b, (p, answer) in enumerate(zip(batch, preds[-1])):
            v = self.task.verify(p, answer)
            out.append(Solution(answer, iters, iters, 1, v.verified, v.reason,
                                trace=Trace([t[b] for t in preds], confidence[b], residual[b])))
        return out

    # --- persistence --------------------------------------------------------------------
    def save(self, directory: str, **extra: Any) -> None:
        """Write ``config.json`` and ``model.safetensors`` to ``directory``."""
        from .checkpoint import save

        save(self, directory, **extra)

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())


def build(config: ModelConfig) -> LoopedTransformer:
    """A randomly initialised model of ``config``."""
    if not isinstance(config, ModelConfig):
        raise ConfigError(f"expected a ModelConfig, got {type(config).__name__}")
    return LoopedTransformer(config)
