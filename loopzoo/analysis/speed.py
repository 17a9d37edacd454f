"""Inference speed: loopzoo's loop against its baselines (``scripts/bench_solve.py``, docs/inference.md).

The baselines: ``loopzoo.reference`` (the same weights the obvious way) and :class:`FusedLoop`, a loop
of PyTorch's fused ``nn.TransformerEncoderLayer`` with a linear recall (a lighter model, a speed
reference only). :func:`best_of` times functions in interleaved rounds (the fastest round of each),
:func:`solve_memory_mib` measures the peak memory a solve adds in a fresh process. :func:`flagships_table` and
:func:`fused_table` render docs/inference.md's two tables from the rows the script saves (:mod:`loopzoo.docs_tables`).
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable

import torch
from torch import nn

CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}


def model_for(task: str, width: int | None):
    """The bundled flagship where one is bundled (of ``width``, if given), else a random model of
    ``width`` (default 128; speed does not depend on weights); and its label."""
    import loopzoo

    name = f"{task}-internal-recall-outernorm"
    try:
        model = loopzoo.load(name)
        if width is None or model.config.width == width:
            return model, name
    except loopzoo.LoopzooError:
        pass
    width = width or 128
    return loopzoo.create(name, width=width, heads=max(2, width // 32)).eval(), f"{name} (random, width {width})"


def inputs_for(task: str, n: int, length: int) -> list:
    """``n`` inputs of ``task``'s hard split (prefix sums: of ``length`` bits)."""
    from ..data import load_split

    if task == "prefix-sums":
        return load_split(task, "test", n=n, length=length).inputs
    return load_split(task, "test", n=n).inputs


class FusedLoop(nn.Module):
    """The baseline: ``h <- TransformerEncoderLayer(Wx h + Wh e)`` from ``h = e``, then the model's readout.

    ``nn.TransformerEncoderLayer(width, heads, mlp_ratio * width, gelu, batch_first)`` in eval
    mode takes PyTorch's fused fast path (``_transformer_encoder_layer_fwd``) without gradients.
    """

    def __init__(self, model):
        super().__init__()
        d, heads = model.config.width, model.config.heads
        self.model = model  # its embedding and readout
        self.layer = nn.TransformerEncoderLayer(d, heads, model.config.mlp_ratio * d, activation="gelu",
                                                batch_first=True)
        self.wx, self.wh = nn.Linear(d, d), nn.Linear(d, d)
        self.eval()

    def forward(self, x: torch.Tensor, iters: int) -> torch.Tensor:
        e = self.model.embed(x)  # [B, L, D]
        u = self.wh(e)
        h = e
        for _ in range(iters):
            h = self.layer(self.wx(h) + u)
        return self.model.readout(h)  # [B, L, C]

    def run(self, x: torch.Tensor, iters: int, autocast: bool = False) -> torch.Tensor:
        with torch.inference_mode(), torch.autocast("cpu", torch.bfloat16, enabled=autocast):
            return self(x, iters)

    def flops(self, batch: int, length: int, iters: int) -> float:
        """Forward FLOPs: per token per iteration ``Wx``, QKV, output, MLP and attention."""
        d, ratio = self.model.config.width, self.model.config.mlp_ratio
        per_token = 2 * (d * d + 3 * d * d + d * d + 2 * ratio * d * d) + 2 * 2 * length * d
        return float(batch * length * iters * per_token)


def best_of(fns: dict[str, Callable[[], object]], rounds: int, clock: Callable[[], float]) -> dict[str, float]:
    """Seconds of the fastest of ``rounds`` runs of each function, the functions interleaved."""
    best = {k: float("inf") for k in fns}
    for _ in range(rounds):
        for k, fn in fns.items():
            t0 = clock()
            fn()
            best[k] = min(best[k], clock() - t0)
    return best


def agreement(answers: list, reference: list) -> float:
    """Share of ``answers`` equal to ``reference``, compared as strings (chess moves, grids, bits)."""
    return sum(str(a) == str(b) for a, b in zip(answers, reference)) / len(reference)


def solve_memory_mib(task: str, iters: int, n: int, width: int | None, length: int, threads: int,
                     ref: bool = False) -> float:
    """Peak memory a solve adds, in a fresh process: the resident-set high-water mark is reset
    (``/proc/self/clear_refs``) after loading, so imports and data do not hide the solve."""
    code = f"""
import sys, torch
torch.set_num_threads({threads})
from loopzoo.analysis.speed import model_for, inputs_for
from loopzoo import reference
model, _ = model_for({task!r}, {width!r})
xs = inputs_for({task!r}, {n}, {length})
x = model.task.encode([model.task.parse(v, i) for i, v in enumerate(xs)])
model.solve(xs, iters=1)
def status(key):
    return int(next(l for l in open('/proc/self/status') if l.startswith(key)).split()[1])
open('/proc/self/clear_refs', 'w').write('5')
base = status('VmRSS:')
if {ref!r}:
    reference.run(model, x, {iters})
else:
    model.solve(xs, iters={iters})
print((status('VmHWM:') - base) / 1024)
"""
    # A fixed mmap threshold makes glibc return freed tensors to the OS at once, so the high-water
    # mark follows live memory instead of heap fragmentation (which varied by up to 18 MiB run to run).
    env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": "131072"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    return float(out.stdout.strip().splitlines()[-1])


def ratio(baseline_s: float, ours_s: float) -> str:
    """How many times faster ``ours_s`` is than ``baseline_s``, as printed in the table."""
    return f"{baseline_s / ours_s:5.2f}x"


def _rate(per_s: float) -> str:
    return f"{per_s:.1f}" if per_s >= 10 else f"{per_s:.2f}"


def flagships_table(results: dict) -> str:
    """docs/inference.md's table of the bundled flagships: inputs/s of ours and of the reference, the speed-ups
    of fp32, bf16 and compiled solves over the reference, MFU, and what halting saves (rows of ``bench_solve.py``)."""
    lines = ["| task | iters | ours fp32 (inputs/s) | reference | speed-up fp32 | bf16 autocast | `compile=True` | MFU (fp32) "
             '| block evaluations saved by `halt="residual:1e-3"` (answers equal to fixed) |', "|---|---|---|---|---|---|---|---|---|"]
    for r in (r for r in results["rows"] if "iters" in r):
        lines.append(f"| {r['task']} | {r['iters']} | {r['ours_per_s']:.1f} | {r['ref_per_s']:.1f} | {r['speedup']:.2f}x | "
                     f"{r['bf16_speedup']:.2f}x | {r['compiled_speedup']:.2f}x | {r['mfu']:.1%} | "
                     f"{r['evals_reduction']:.2f}x ({r['halt_agreement']:.2f}) |")
    return "\n".join(lines)


def fused_table(results: dict) -> str:
    """docs/inference.md's table at the paper's width: puzzles/s of ours in fp32, bf16 and compiled, against the
    reference and the fused-layer loop, and the share of bf16 and compiled answers equal to fp32's."""
    lines = ["| iters | ours fp32 (puzzles/s) | vs reference | vs fused loop | bf16 autocast | bf16 vs fused loop in bf16 "
             "| `compile=True` fp32 | compiled vs fused loop | agree (bf16, compiled) |", "|---|---|---|---|---|---|---|---|---|"]
    for r in (r for r in results["rows"] if "iters" in r):
        lines.append(f"| {r['iters']} | {_rate(r['ours_per_s'])} | {r['speedup']:.2f}x | {r['vs_fused']:.2f}x | "
                     f"{_rate(r['bf16_per_s'])} | {r['bf16_vs_fused16']:.2f}x | {_rate(r['compiled_per_s'])} | "
                     f"{r['compiled_vs_fused']:.2f}x | {r['bf16_agreement']:.2f}, {r['compiled_agreement']:.2f} |")
    return "\n".join(lines)
