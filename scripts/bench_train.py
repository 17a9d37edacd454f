#!/usr/bin/env python
"""Training throughput: examples/s of the paper's progressive-loss step, and achieved model
FLOP/s divided by this machine's dense matmul FLOP/s measured in the same run (fp32 on CPU,
bf16 on CUDA).

    python scripts/bench_train.py [--task sudoku] [--width 256] [--batch-size 500] [--steps 5] [--compile]
"""
from __future__ import annotations

import argparse
import time

import torch

import loopzoo
from loopzoo import flops
from loopzoo.evaluate import collate
from loopzoo.train.trainer import param_groups, progressive_iters


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--task", default="sudoku")
    parser.add_argument("--recall", default="internal-recall")
    parser.add_argument("--norm", default="outernorm")
    parser.add_argument("--width", type=int, default=256)
    parser.add_argument("--heads", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--length", type=int, default=32, help="prefix-sums bit length")
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--compile", action="store_true")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    bf16 = device.type == "cuda"
    name = f"{args.task}-{args.recall.replace('none', 'no-recall')}-{args.norm}"
    model = loopzoo.create(name, width=args.width, heads=args.heads).to(device).train()
    if args.compile:
        for block in model.blocks:
            block.compile()
    optimizer = torch.optim.AdamW(param_groups(model, 0.01), lr=1e-4, fused=device.type == "cuda")
    from loopzoo.data import load_split

    options = {"length": args.length} if args.task == "prefix-sums" else {}
    data = load_split(args.task, "train", n=args.batch_size, **options)
    x, y = collate(data, range(len(data)))
    x, y = x.to(device), y.to(device)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)

    def step(i: int) -> torch.Tensor:
        n, k = progressive_iters(0, i, 30)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            logits, _ = model(x, k, no_grad_iters=n)
        loss = torch.nn.functional.cross_entropy(logits.float().flatten(0, 1), y.flatten())
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        return loss.detach()

    for i in range(args.warmup):
        step(i)
    sync()
    work, t0 = 0.0, time.perf_counter()
    per_iter = flops.iteration_flops(model, len(x), x.shape[1])
    for i in range(args.warmup, args.warmup + args.steps):
        n, k = progressive_iters(0, i, 30)
        work += per_iter * (n + 3 * k)  # forward-only iterations, then forward + backward
        step(i)
    sync()
    elapsed = time.perf_counter() - t0
    peak = flops.matmul_peak(device, torch.bfloat16 if bf16 else torch.float32, n=4096 if device.type == "cuda" else 2048)
    achieved = work / elapsed
    print(f"{name} width {args.width}, batch {len(x)}, {args.steps} steps on {device} ({'bf16' if bf16 else 'fp32'}, "
          f"{args.threads} threads{', compiled' if args.compile else ''})")
    print(f"throughput: {len(x) * args.steps / elapsed:.1f} examples/s, {elapsed / args.steps:.3f} s/step")
    print(f"model FLOP/s {achieved / 1e9:.1f} G; matmul peak measured now {peak / 1e9:.1f} G; ratio {achieved / peak:.1%}")
    expected_step = flops.train_step_flops(model, len(x), x.shape[1])
    print(f"paper recipe estimate (40,000 examples x 100 epochs, batch {len(x)}): "
          f"{expected_step * (40_000 // len(x)) * 100 / achieved / 60:.1f} min at this rate")


if __name__ == "__main__":
    main()
