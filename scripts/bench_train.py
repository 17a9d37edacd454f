#!/usr/bin/env python
"""Training throughput: examples/s of the paper's progressive-loss step in fp32, bf16 autocast and
compiled, at several widths; achieved model FLOP/s divided by this machine's dense matmul FLOP/s of
the same dtype, measured in the same run (MFU); and whether bf16 reaches fp32's loss.

    python scripts/bench_train.py                                  # sudoku, widths 64 128 256, batch 64
    python scripts/bench_train.py --widths 128 --modes fp32 bf16 --steps 10
    python scripts/bench_train.py --loss-steps 300                 # + the bf16-vs-fp32 loss check

Each row is the median step time of ``--steps`` steps after ``--warmup`` (compiling happens in the
warm-up). The loss check trains the same initial weights on the same batches (augmented, as in
the zoo's runs) in fp32 and in bf16 autocast and prints the mean loss of the last 20% of steps.
"""
from __future__ import annotations

import argparse
import copy
import statistics
import time

import torch

import loopzoo
from loopzoo import flops
from loopzoo.data import load_split
from loopzoo.evaluate import collate
from loopzoo.hardware import default_threads, native_bf16
from loopzoo.registry import augmentations
from loopzoo.train.trainer import param_groups, progressive_iters

MODES = ("fp32", "bf16", "compiled-fp32", "compiled-bf16")


def make_step(model, optimizer, device: torch.device, bf16: bool):
    def step(x: torch.Tensor, y: torch.Tensor, n: int, k: int) -> torch.Tensor:
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            logits, _ = model(x, k, no_grad_iters=n)
        loss = torch.nn.functional.cross_entropy(logits.float().flatten(0, 1), y.flatten())
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        return loss.detach()

    return step


def batches(task: str, batch: int, count: int, length: int, seed: int = 0):
    """``count`` augmented training batches, the same for every mode."""
    options = {"length": length} if task == "prefix-sums" else {}
    data = load_split(task, "train", n=batch * 8, **options)
    augment = augmentations.get(task) if task in augmentations.names() else None
    for i in range(count):
        idx = range((i % 8) * batch, (i % 8 + 1) * batch)
        x, y = collate(data, idx)
        if augment is not None:
            x, y = augment(x, y, torch.Generator().manual_seed(seed * 1_000_003 + i))
        yield x, y


def bench(name: str, width: int, heads: int, mode: str, args, device: torch.device) -> dict:
    torch.manual_seed(0)
    model = loopzoo.create(name, width=width, heads=heads).to(device).train()
    if mode.startswith("compiled"):
        for block in model.blocks:
            block.compile()
    optimizer = torch.optim.AdamW(param_groups(model, 0.01), lr=1e-4)
    step = make_step(model, optimizer, device, bf16=mode.endswith("bf16"))
    times, work = [], 0.0
    data = list(batches(args.task, args.batch_size, 8, args.length))
    per_iter = flops.iteration_flops(model, args.batch_size, data[0][0].shape[1])
    for i in range(args.warmup + args.steps):
        x, y = data[i % len(data)]
        n, k = progressive_iters(0, i, 30)
        t0 = time.perf_counter()
        step(x.to(device), y.to(device), n, k)
        if device.type == "cuda":
            torch.cuda.synchronize()
        if i >= args.warmup:
            times.append(time.perf_counter() - t0)
            work += per_iter * (n + 3 * k)  # forward-only iterations, then forward + backward
    expected = flops.train_step_flops(model, args.batch_size, data[0][0].shape[1])
    median = statistics.median(times)
    return {"examples_per_s": args.batch_size / median, "s_per_step": median,
            "flops_per_s": work / sum(times), "expected_step_flops": expected}


def loss_check(name: str, width: int, heads: int, args, device: torch.device) -> dict[str, float]:
    torch.manual_seed(0)
    initial = loopzoo.create(name, width=width, heads=heads).to(device).train()
    out = {}
    for mode in ("fp32", "bf16"):
        model = copy.deepcopy(initial)
        optimizer = torch.optim.AdamW(param_groups(model, 0.01), lr=1e-3)
        step = make_step(model, optimizer, device, bf16=mode == "bf16")
        losses = []
        for i, (x, y) in enumerate(batches(args.task, args.batch_size, args.loss_steps, args.length)):
            n, k = progressive_iters(0, i, 30)
            losses.append(float(step(x.to(device), y.to(device), n, k)))
        tail = losses[-max(1, args.loss_steps // 5):]
        out[mode] = sum(tail) / len(tail)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--task", default="sudoku")
    parser.add_argument("--recall", default="internal-recall")
    parser.add_argument("--norm", default="outernorm")
    parser.add_argument("--widths", type=int, nargs="+", default=[64, 128, 256])
    parser.add_argument("--head-dim", type=int, default=32, help="heads = width / head-dim")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--length", type=int, default=32, help="prefix-sums bit length")
    parser.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--loss-steps", type=int, default=0, help="also train fp32 and bf16 this many steps (0: skip)")
    parser.add_argument("--loss-width", type=int, default=128)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--threads", type=int, default=default_threads())
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    name = f"{args.task}-{args.recall.replace('none', 'no-recall')}-{args.norm}"
    peak = {"fp32": flops.matmul_peak(device, torch.float32, n=2048),
            "bf16": flops.matmul_peak(device, torch.bfloat16, n=2048)}
    print(f"{name}, batch {args.batch_size}, {args.threads} threads on {device}; native bf16: {native_bf16(device)}")
    print(f"matmul peak measured now: fp32 {peak['fp32'] / 1e9:.0f} GFLOP/s, bf16 {peak['bf16'] / 1e9:.0f} GFLOP/s")
    print(f"{'width':>5s} {'mode':>14s} {'ex/s':>8s} {'s/step':>7s} {'GFLOP/s':>8s} {'MFU':>6s} {'vs fp32':>8s}")
    for width in args.widths:
        base = None
        for mode in args.modes:
            r = bench(name, width, max(1, width // args.head_dim), mode, args, device)
            dtype = "bf16" if mode.endswith("bf16") else "fp32"
            base = base or (r["examples_per_s"] if mode == "fp32" else None)
            ratio = f"{r['examples_per_s'] / base:.2f}x" if base else "-"
            print(f"{width:5d} {mode:>14s} {r['examples_per_s']:8.1f} {r['s_per_step']:7.3f} "
                  f"{r['flops_per_s'] / 1e9:8.1f} {r['flops_per_s'] / peak[dtype]:6.1%} {ratio:>8s}", flush=True)
    print("MFU = model FLOP/s / dense matmul FLOP/s of the same dtype on this machine; vs fp32 = examples/s over fp32's")
    if args.loss_steps:
        result = loss_check(name, args.loss_width, max(1, args.loss_width // args.head_dim), args, device)
        print(f"loss after {args.loss_steps} steps (mean of the last 20%), width {args.loss_width}, same init and "
              f"batches: fp32 {result['fp32']:.4f}, bf16 {result['bf16']:.4f} "
              f"(bf16/fp32 = {result['bf16'] / result['fp32']:.3f})")


if __name__ == "__main__":
    main()
