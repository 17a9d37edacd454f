"""What the machine can do fast: which devices run bf16 natively, so ``precision="auto"`` can pick it."""
from __future__ import annotations

import torch

from .errors import ConfigError


def native_bf16(device: torch.device | str) -> bool:
    """Whether ``device`` computes bf16 matmuls natively (CUDA, or a CPU with AVX-512 BF16 or AMX).

    On a CPU without them bf16 autocast is emulated and slower than fp32.
    """
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    if device.type == "cpu":
        cpu = torch.cpu
        checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
        return any(bool(getattr(cpu, name, lambda: False)()) for name in checks)
    return False


def use_bf16(precision: str, device: torch.device | str) -> bool:
    """Whether to run under bf16 autocast for ``precision`` ("fp32", "bf16" or "auto") on ``device``."""
    if precision == "auto":
        return native_bf16(device)
    if precision in ("bf16", "fp32"):
        return precision == "bf16"
    raise ConfigError(f"precision must be auto, bf16 or fp32, got {precision!r}")


def default_threads() -> int:
    """CPU threads for training: ``OMP_NUM_THREADS`` where set (torchrun sets 1 per worker), else
    every core this process may run on."""
    import os

    if os.environ.get("OMP_NUM_THREADS", "").isdigit() and int(os.environ["OMP_NUM_THREADS"]) > 0:
        return int(os.environ["OMP_NUM_THREADS"])
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1
