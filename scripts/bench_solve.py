#!/usr/bin/env python
"""Inference benchmark: loopzoo's loop vs the obvious implementation, in one run.

For each task: puzzles/s at several iteration counts, fixed (eager fp32, bf16 autocast,
``torch.compile``d) and with halting, against ``loopzoo.reference`` (dense masked attention,
positions recomputed per call, every iteration's logits kept, no early exit); achieved FLOP/s over the machine's matmul FLOP/s
measured in the same run; peak memory at 30 vs 500 iterations (each in a fresh process).

    python scripts/bench_solve.py [--tasks sudoku prefix-sums chess] [--n 64] [--threads 2]
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import subprocess
import sys
import time

import torch

import loopzoo
from loopzoo import flops, reference


def model_for(task: str, width: int):
    """The bundled flagship if present, else a random model of ``width`` (speed does not depend on weights)."""
    name = f"{task}-internal-recall-outernorm"
    try:
        return loopzoo.load(name), name
    except loopzoo.LoopzooError:
        return loopzoo.create(name, width=width, heads=max(2, width // 32)).eval(), f"{name} (random, width {width})"


def inputs_for(task: str, n: int, length: int) -> list:
    from loopzoo.data import load_split

    if task == "prefix-sums":
        return load_split(task, "test", n=n, length=length).inputs
    return load_split(task, "test", n=n).inputs


def timed(fn, repeats: int = 1) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def agreement(answers: list, reference: list) -> float:
    """Share of ``answers`` equal to ``reference``, compared as strings (chess moves, grids, bits)."""
    return sum(str(a) == str(b) for a, b in zip(answers, reference)) / len(reference)


def solve_memory_mib(task: str, iters: int, n: int, width: int, length: int, threads: int, ref: bool = False) -> float:
    """Peak memory a solve adds, in a fresh process: the resident-set high-water mark is reset
    (``/proc/self/clear_refs``) after loading, so imports and data do not hide the solve."""
    code = f"""
import sys, torch
torch.set_num_threads({threads})
sys.path.insert(0, 'scripts')
from bench_solve import model_for, inputs_for
from loopzoo import reference
model, _ = model_for({task!r}, {width})
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", nargs="+", default=["prefix-sums", "sudoku", "chess"])
    parser.add_argument("--iters", nargs="+", type=int, default=[30, 100, 500])
    parser.add_argument("--n", type=int, default=64, help="inputs per measurement")
    parser.add_argument("--mem-n", type=int, default=256,
                        help="inputs per memory measurement (large enough that activations, not allocator noise, dominate)")
    parser.add_argument("--width", type=int, default=128, help="width of the random model when no checkpoint is bundled")
    parser.add_argument("--length", type=int, default=128, help="prefix-sums bit length")
    parser.add_argument("--halt", default="residual:1e-3")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--json", help="also write the rows here")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    peak = flops.matmul_peak()
    print(f"machine: {args.threads} threads, dense fp32 matmul {peak / 1e9:.1f} GFLOP/s at the start "
          f"(re-measured for each row's MFU); prefix sums of {args.length} bits\n")
    header = f"{'task':12s} {'iters':>5s} {'ours/s':>9s} {'ref/s':>9s} {'ratio':>6s} {'bf16/s':>9s} {'ratio':>6s} " \
             f"{'agree':>6s} {'comp/s':>9s} {'ratio':>6s} {'agree':>6s} {'halt/s':>9s} {'mean it':>7s} {'evals÷':>6s} " \
             f"{'agree':>6s} {'MFU':>6s}"
    print(header)
    rows = []
    for task in args.tasks:
        model, label = model_for(task, args.width)
        xs = inputs_for(task, args.n, args.length)
        parsed = [model.task.parse(x, i) for i, x in enumerate(xs)]
        x = model.task.encode(parsed)
        length = x.shape[1]
        compiled = copy.deepcopy(model)  # compiled in place: the eager model stays as it is
        t0 = time.perf_counter()
        compiled.solve(xs, iters=2, batch_size=args.n, compile=True)
        compile_s = time.perf_counter() - t0
        for iters in args.iters:
            ours = timed(lambda: model.solve(xs, iters=iters, batch_size=args.n), repeats=2)
            ref = timed(lambda: reference.run(model, x, iters), repeats=2)
            fixed = model.solve(xs, iters=iters, batch_size=args.n)
            bf16 = timed(lambda: model.solve(xs, iters=iters, batch_size=args.n, autocast=True), repeats=2)
            bf16_agree = agreement(model.solve(xs, iters=iters, batch_size=args.n, autocast=True), fixed)
            comp = timed(lambda: compiled.solve(xs, iters=iters, batch_size=args.n), repeats=2)
            comp_agree = agreement(compiled.solve(xs, iters=iters, batch_size=args.n), fixed)
            halt_time = timed(lambda: model.solve(xs, iters=iters, halt=args.halt, batch_size=args.n))
            halted, used = model.solve(xs, iters=iters, halt=args.halt, batch_size=args.n)
            agree = agreement(halted, fixed)
            peak = flops.matmul_peak(seconds=0.5)  # re-measured beside each row: the machine's load changes
            mfu = flops.solve_flops(model, len(xs), length, iters) / ours / peak
            row = dict(task=task, model=label, iters=iters, n=len(xs), ours_per_s=len(xs) / ours,
                       ref_per_s=len(xs) / ref, speedup=ref / ours, bf16_per_s=len(xs) / bf16,
                       bf16_speedup=ref / bf16, bf16_agreement=bf16_agree, compiled_per_s=len(xs) / comp,
                       compiled_speedup=ref / comp, compiled_agreement=comp_agree, compile_s=compile_s, halt_per_s=len(xs) / halt_time,
                       mean_iters_halt=sum(used) / len(used), evals_reduction=iters * len(used) / sum(used),
                       halt_agreement=agree, mfu=mfu)
            rows.append(row)
            print(f"{task:12s} {iters:5d} {row['ours_per_s']:9.1f} {row['ref_per_s']:9.1f} {row['speedup']:5.2f}x "
                  f"{row['bf16_per_s']:9.1f} {row['bf16_speedup']:5.2f}x {bf16_agree:6.2f} {row['compiled_per_s']:9.1f} "
                  f"{row['compiled_speedup']:5.2f}x {comp_agree:6.2f} {row['halt_per_s']:9.1f} {row['mean_iters_halt']:7.1f} {row['evals_reduction']:5.2f}x "
                  f"{agree:6.2f} {mfu:6.1%}")
        mem = {it: solve_memory_mib(task, it, args.mem_n, args.width, args.length, args.threads) for it in (30, 500)}
        ref_mem = {it: solve_memory_mib(task, it, args.mem_n, args.width, args.length, args.threads, ref=True) for it in (30, 500)}
        print(f"{task:12s} peak memory of a solve of {args.mem_n} inputs: {mem[30]:.1f} MiB at 30 iterations, {mem[500]:.1f} MiB at 500 "
              f"(ratio {mem[500] / max(mem[30], 1e-9):.2f}); reference {ref_mem[30]:.1f} -> {ref_mem[500]:.1f} MiB; "
              f"model: {label}; torch.compile took {compile_s:.1f} s (first call, not in the rows)\n")
        rows.append(dict(task=task, solve_mib_30=mem[30], solve_mib_500=mem[500], ref_mib_30=ref_mem[30],
                         ref_mib_500=ref_mem[500]))
    print("ratio = reference time / ours (fp32, then bf16 autocast, then fp32 compiled); agree = share of answers equal to the fp32 "
          "fixed-iteration answers; evals÷ = block evaluations without halting / with halting "
          f"({args.halt}); MFU = model FLOP/s / matmul FLOP/s.")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
