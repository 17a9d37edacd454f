"""Model FLOP counts (multiply-adds x 2) and the machine's own dense matmul rate, for benchmarks."""
from __future__ import annotations

import time
from collections.abc import Callable

import torch

from .config import ModelConfig


def block_flops_per_token(config: ModelConfig, context: int) -> float:
    """Forward FLOPs of one iteration for one token attending to ``context`` tokens."""
    d, ratio = config.width, config.mlp_ratio
    flops = 2 * (3 * d * d + d * d)  # qkv, output projection
    flops += 2 * 2 * ratio * d * d  # MLP up and down
    flops += 2 * 2 * context * d  # scores and weighted sum
    recall_matmuls = {"none": 0, "recall": 1, "internal-recall": 2}.get(config.recall, 0)  # Wx s per use; Wh e once per input
    flops += 2 * recall_matmuls * d * d
    if config.norm == "gru":
        flops += 2 * 2 * 2 * 3 * d * d  # input and hidden matmuls of a GRU cell, per sub-layer
    return flops * config.depth


def context_of(model, length: int) -> int:
    window = getattr(model.blocks[0].attn, "window", None)
    return min(window, length) if window else length


def iteration_flops(model, batch: int, length: int) -> float:
    """Forward FLOPs of one iteration on a ``[batch, length]`` input."""
    return float(batch * length * block_flops_per_token(model.config, context_of(model, length)))


def solve_flops(model, batch: int, length: int, iters: int) -> float:
    """Forward FLOPs of ``iters`` iterations plus one readout on a ``[batch, length]`` input."""
    d = model.config.width
    per_token = iters * block_flops_per_token(model.config, context_of(model, length))
    per_token += 2 * (d * d + d * model.task.out_channels)  # readout
    return float(batch * length * per_token)


def train_step_flops(model, batch: int, length: int, max_iters: int = 30) -> float:
    """Expected FLOPs of one progressive-loss step: ``n`` forward-only iterations and ``k``
    iterations forward + backward (backward = 2x forward), averaged over the paper's draw."""
    pairs = [(n, k) for n in range(max_iters) for k in range(1, max_iters - n + 1)]
    weights = [1.0 / (max_iters * (max_iters - n)) for n, _ in pairs]
    mean_n = sum(w * n for w, (n, _) in zip(weights, pairs))
    mean_k = sum(w * k for w, (_, k) in zip(weights, pairs))
    return (mean_n + 3 * mean_k) * iteration_flops(model, batch, length)


def matmul_peak(device: str | torch.device = "cpu", dtype: torch.dtype = torch.float32, n: int = 2048,
                seconds: float = 1.0, clock: Callable[[], float] = time.perf_counter) -> float:
    """FLOP/s of a dense ``n x n`` matmul on ``device``, measured now (best of repeated runs).

    ``clock`` times each run (e.g. ``time.process_time`` to match timings taken in CPU time);
    ``seconds`` is wall time."""
    device = torch.device(device)
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    a @ b
    sync()
    best, deadline = float("inf"), time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        t0 = clock()
        for _ in range(4):
            a @ b
        sync()
        best = min(best, (clock() - t0) / 4)
    return 2 * n**3 / best
