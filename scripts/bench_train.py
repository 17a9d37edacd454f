#!/usr/bin/env python
"""Training throughput of the paper's progressive-loss step: the step as it was (``old``: SDPA
attention, eager), the explicit attention alone (``explicit``), and the trainer's default fast step
(``fast``: explicit attention where it is faster, the block compiled), in fp32 and bf16 autocast, at
several widths. Every rate is measured in this one run: examples/s, s/step, the model's matmul
FLOP/s over the machine's dense matmul FLOP/s of the same dtype (MFU), and the speed-up over
``old`` of the same dtype.

    python scripts/bench_train.py                                   # sudoku, widths 64 128 256, batch 64, 1 thread
    python scripts/bench_train.py --widths 128 --modes old-bf16 fast-bf16 --rounds 5
    python scripts/bench_train.py --widths 128 --loss-steps 200     # + losses of old vs fast from one start
    python scripts/bench_train.py --write    # also save docs/results/training-throughput.json, render docs/training.md

Model FLOPs count matmul work only (:mod:`loopzoo.flops`): 2 x (14 D^2 + 2 L D) per token and
iteration for internal recall (qkv, output, MLP, the two state projections ``Wx``; attention
scores and values), 3x that for iterations with gradient. Timings: after a warm-up (where
compiling happens: its seconds are printed), ``--rounds`` interleaved rounds of ``--steps`` steps
each, the same (n, k) draws for every mode within a round; each mode's best round counts. The
dense peak (a 2048^3 matmul) and the model's own matmul shapes are timed on the same threads, in
the same run, best of interleaved rounds too. Run it on an idle machine: a timing beside other jobs
is not clean.
"""
from __future__ import annotations

import argparse
import copy
import statistics
import sys
import time

import torch

import loopzoo
from loopzoo import docs_tables, flops
from loopzoo.data import load_split
from loopzoo.evaluate import collate
from loopzoo.hardware import native_bf16
from loopzoo.layers.attention import set_kernel
from loopzoo.registry import augmentations
from loopzoo.train.trainer import param_groups, progressive_iters

# step -> (attention kernel: None = the faster per call, False = SDPA; compiled)
STEPS = {"old": (False, False), "explicit": (None, False), "fast": (None, True)}
MODES = tuple(f"{step}-{dtype}" for dtype in ("fp32", "bf16") for step in STEPS)


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


class Candidate:
    """One mode's model, optimizer and step, warmed up (compiled) on construction."""

    def __init__(self, initial, mode: str, device: torch.device, data, lr: float = 1e-4):
        step_name, dtype = mode.rsplit("-", 1)
        explicit, compiled = STEPS[step_name]
        self.mode, self.dtype, self.device = mode, dtype, device
        self.model = copy.deepcopy(initial)
        set_kernel(self.model, explicit)
        if compiled:
            for block in self.model.blocks:
                block.compile()
        optimizer = torch.optim.AdamW(param_groups(self.model, 0.01), lr=lr, foreach=True)
        self.step = make_step(self.model, optimizer, device, bf16=dtype == "bf16")
        t0 = time.perf_counter()
        for n, k in ((1, 1), (3, 2)):  # both phases (no-grad and grad) once, twice
            x, y = data[0]
            self.step(x.to(device), y.to(device), n, k)
        self.warmup_s = time.perf_counter() - t0

    def run(self, data, draws: list[tuple[int, tuple[int, int]]]) -> float:
        """Seconds for the steps ``draws`` (batch index, (n, k))."""
        sync = torch.cuda.synchronize if self.device.type == "cuda" else (lambda: None)
        sync()
        t0 = time.perf_counter()
        for i, (n, k) in draws:
            x, y = data[i % len(data)]
            self.step(x.to(self.device), y.to(self.device), n, k)
        sync()
        return time.perf_counter() - t0


def matmul_rate(device: torch.device, dtype: torch.dtype, m: int, k: int, n: int, repeats: int = 8) -> float:
    """FLOP/s of ``[m, k] x [k, n]`` on ``device`` in ``dtype`` (best of ``repeats``)."""
    a = torch.randn(m, k, device=device, dtype=dtype)
    b = torch.randn(k, n, device=device, dtype=dtype)
    a @ b
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        a @ b
        if device.type == "cuda":
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - t0)
    return 2 * m * k * n / best


def rates(device: torch.device, shapes: dict[str, tuple[int, int, int]], rounds: int) -> dict[tuple[str, str], float]:
    """Best-of-interleaved-rounds FLOP/s of each ``name: (m, k, n)`` in fp32 and bf16."""
    out: dict[tuple[str, str], float] = {}
    for _ in range(rounds):
        for name, (m, k, n) in shapes.items():
            for dtype, torch_dtype in (("fp32", torch.float32), ("bf16", torch.bfloat16)):
                r = matmul_rate(device, torch_dtype, m, k, n, repeats=2 if name == "peak" else 8)
                out[name, dtype] = max(out.get((name, dtype), 0.0), r)
    return out


def loss_check(name: str, width: int, heads: int, modes: list[str], args, device: torch.device) -> dict[str, list[float]]:
    """Losses of ``modes`` over ``--loss-steps`` steps from the same initial weights and batches."""
    torch.manual_seed(0)
    initial = loopzoo.create(name, width=width, heads=heads).to(device).train()
    data = list(batches(args.task, args.batch_size, args.loss_steps, args.length))
    out = {}
    for mode in modes:
        cand = Candidate(initial, mode, device, data[:1], lr=1e-3)
        cand.model.load_state_dict(initial.state_dict())  # undo the warm-up steps
        optimizer = torch.optim.AdamW(param_groups(cand.model, 0.01), lr=1e-3, foreach=True)
        cand.step = make_step(cand.model, optimizer, device, bf16=cand.dtype == "bf16")
        out[mode] = [float(cand.step(x.to(device), y.to(device), *progressive_iters(0, i, 30)))
                     for i, (x, y) in enumerate(data)]
    return out


def profile(initial, mode: str, device: torch.device, data, steps: int, top: int = 12) -> None:
    """Print the operators that took most of ``steps`` steps of ``mode`` (self time, all threads)."""
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as torch_profile

    torch._dynamo.reset()
    cand = Candidate(initial, mode, device, data)
    draws = [(i, progressive_iters(7, i, 30)) for i in range(steps)]
    with torch_profile(activities=[ProfilerActivity.CPU]) as prof:
        cand.run(data, draws)
    print(f"profile of {steps} steps of {mode}:")
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=top, max_name_column_width=48))


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
    parser.add_argument("--steps", type=int, default=4, help="steps per mode and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--loss-steps", type=int, default=0, help="also train old-bf16 and fast-bf16 this many steps (0: skip)")
    parser.add_argument("--loss-width", type=int, default=128)
    parser.add_argument("--profile", metavar="MODE", choices=MODES, help="also profile this mode's step at each width")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--write", action="store_true",
                        help="save the rows as docs/results/training-throughput.json and render its table in docs/training.md")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    name = f"{args.task}-{args.recall.replace('none', 'no-recall')}-{args.norm}"
    data = list(batches(args.task, args.batch_size, 8, args.length))
    length = data[0][0].shape[1]
    print(f"{name}, batch {args.batch_size}, {args.threads} thread(s) on {device}; native bf16: {native_bf16(device)}")
    print(f"{'width':>5s} {'mode':>13s} {'warm-up s':>9s} {'ex/s':>7s} {'s/step':>7s} {'GFLOP/s':>8s} {'MFU':>6s} "
          f"{'vs old':>7s}")
    rows, matmul = [], {}
    for width in args.widths:
        torch._dynamo.reset()  # each model's compiled block is a cache entry of its own: stay under the limit
        torch.manual_seed(0)
        initial = loopzoo.create(name, width=width, heads=max(1, width // args.head_dim)).to(device).train()
        cands = [Candidate(initial, mode, device, data) for mode in args.modes]
        tokens = args.batch_size * length
        shapes = {"peak": (2048, 2048, 2048), "qkv": (tokens, width, 3 * width), "mlp": (tokens, width, 4 * width)}
        peak = rates(device, shapes, 1)
        per_iter = flops.iteration_flops(initial, args.batch_size, length)
        best: dict[str, tuple[float, float]] = {}  # mode -> (seconds, flops) of its best round
        for r in range(args.rounds):
            draws = [(i, progressive_iters(r, i, 30)) for i in range(args.steps)]
            work = sum(per_iter * (n + 3 * k) for _, (n, k) in draws)
            for cand in cands:
                seconds = cand.run(data, draws)
                if cand.mode not in best or work / seconds > best[cand.mode][1] / best[cand.mode][0]:
                    best[cand.mode] = (seconds, work)
            for key, value in rates(device, shapes, 1).items():  # interleaved with the model's rounds
                peak[key] = max(peak[key], value)
        step_flops = flops.train_step_flops(initial, args.batch_size, length)  # the paper's draw, on average
        for cand in cands:
            seconds, work = best[cand.mode]
            rate = work / seconds
            old = best.get(f"old-{cand.dtype}")
            ratio = f"{rate / (old[1] / old[0]):.2f}x" if old else "-"
            rows.append(dict(width=width, mode=cand.mode, warmup_s=cand.warmup_s, ex_per_s=args.batch_size * rate / step_flops,
                             s_per_step=step_flops / rate, gflop_per_s=rate / 1e9, mfu=rate / peak["peak", cand.dtype],
                             vs_old=rate / (old[1] / old[0]) if old else None))
            print(f"{width:5d} {cand.mode:>13s} {cand.warmup_s:9.1f} {args.batch_size * rate / step_flops:7.1f} "
                  f"{step_flops / rate:7.3f} {rate / 1e9:8.1f} {rate / peak['peak', cand.dtype]:6.1%} "
                  f"{ratio:>7s}", flush=True)
        if args.profile:
            profile(initial, args.profile, device, data, args.steps)
        matmul[width] = {f"{s} {d}": peak[s, d] / 1e9 for s in shapes for d in ("fp32", "bf16")}
        print(f"      matmul rates measured now (GFLOP/s): " + ", ".join(
            f"{s} {d} {peak[s, d] / 1e9:.0f}" for s in shapes for d in ("fp32", "bf16")), flush=True)
    print("MFU = model matmul FLOP/s / the 2048^3 matmul's FLOP/s of the same dtype, both measured above; "
          "vs old = this mode's rate over old's, same dtype; ex/s and s/step at that rate for the average step "
          "of the paper's (n, k) draw")
    if args.loss_steps:
        modes = ["old-fp32", "old-bf16", "fast-bf16"]
        out = loss_check(name, args.loss_width, max(1, args.loss_width // args.head_dim), modes, args, device)
        tail = max(1, args.loss_steps // 5)
        print(f"losses over {args.loss_steps} steps, width {args.loss_width}, same initial weights and batches "
              f"(first step; mean of the last {tail}):")
        for mode, values in out.items():
            print(f"  {mode:>10s} {values[0]:.4f}; {statistics.mean(values[-tail:]):.4f}")
    if args.write:
        results = dict(task=args.task, batch_size=args.batch_size, threads=args.threads, device=str(device), rows=rows,
                       matmul_gflop_per_s=matmul)
        print(docs_tables.publish("training-throughput", docs_tables.stamp(results, sys.argv)))


if __name__ == "__main__":
    main()
