#!/usr/bin/env python
"""Inference benchmark: loopzoo's loop vs the obvious implementation and vs PyTorch's fused layer, in one run.

For each task: puzzles/s at several iteration counts, fixed (eager fp32, bf16 autocast,
``torch.compile``d) and with halting, against two loops on the same inputs:

- ``loopzoo.reference``: the same weights the obvious way (dense masked attention, positions
  recomputed per call, every iteration's logits kept, no early exit);
- a loop of PyTorch's ``nn.TransformerEncoderLayer`` (eval, ``batch_first``, GELU, the fused
  fast path) with a linear recall ``h = layer(Wx h + Wh e)``: a lighter model (no rotary, no
  QK-norm, one recall matmul per iteration), a speed reference only. Its bf16 column runs under
  the same autocast as ours.

Rounds are interleaved (every variant once per round, best round kept), so the ratios in one run
compare like with like on a loaded machine. MFU = model FLOP/s over the machine's dense matmul
FLOP/s of the same dtype, measured beside each row. Peak memory at 30 vs 500 iterations comes
from fresh processes.

    python scripts/bench_solve.py [--tasks sudoku prefix-sums chess] [--n 64] [--threads 2]
    python scripts/bench_solve.py --tasks sudoku --width 256 --iters 30 500  # the paper's size

``--write inference-speed`` (the flagships) or ``--write inference-speed-w256`` (the paper's width) saves the
rows as ``docs/results/NAME.json`` and renders that table of docs/inference.md from them.

A command line over :mod:`loopzoo.analysis.speed` (the baselines and the timing).
"""
from __future__ import annotations

import argparse
import copy
import json
import sys
import time

import torch

from loopzoo import docs_tables, flops, reference
from loopzoo.analysis import speed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", nargs="+", default=["prefix-sums", "sudoku", "chess"])
    parser.add_argument("--iters", nargs="+", type=int, default=[30, 100, 500])
    parser.add_argument("--n", type=int, default=64, help="inputs per measurement")
    parser.add_argument("--mem-n", type=int, default=256,
                        help="inputs per memory measurement (large enough that activations, not allocator noise, dominate)")
    parser.add_argument("--mem-iters", nargs="*", type=int, default=[30, 500],
                        help="iteration counts whose peak memory is compared (none: skip the memory measurement)")
    parser.add_argument("--width", type=int, default=None,
                        help="model width: the bundled flagship where it has this width, else a random model "
                             "(default: the flagship, or a random width-128 model where none is bundled)")
    parser.add_argument("--length", type=int, default=128, help="prefix-sums bit length")
    parser.add_argument("--halt", default="residual:1e-3", help='halting criterion of the halt columns ("none": skip them)')
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds per row (best kept)")
    parser.add_argument("--long-rounds", type=int, default=1,
                        help="rounds for rows of --long-iters or more iterations (they are long enough to be stable)")
    parser.add_argument("--long-iters", type=int, default=200)
    parser.add_argument("--clock", choices=sorted(speed.CLOCKS), default="wall",
                        help="wall: elapsed time; cpu: this process's CPU time, steadier when other jobs share "
                             "the cores (meant for --threads 1)")
    parser.add_argument("--compile", action=argparse.BooleanOptionalAction, default=True,
                        help="time compile=True too (--no-compile: skip those columns)")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--json", help="also write the rows here")
    parser.add_argument("--write", choices=("inference-speed", "inference-speed-w256"),
                        help="save the rows as docs/results/NAME.json and render that table of docs/inference.md")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    clock = speed.CLOCKS[args.clock]
    halt = None if args.halt == "none" else args.halt
    peak = flops.matmul_peak(clock=clock)
    print(f"machine: {args.threads} threads, {args.clock} clock, dense matmul {peak / 1e9:.1f} GFLOP/s fp32 at the "
          f"start (re-measured, fp32 and bf16, for each row's MFU); prefix sums of {args.length} bits\n")
    header = (f"{'task':12s} {'iters':>5s} {'ours/s':>8s} {'vs ref':>6s} {'vs fused':>8s} {'bf16/s':>8s} {'vs ref':>6s} "
              f"{'vs fused':>8s} {'agree':>5s} {'comp/s':>8s} {'vs ref':>6s} {'vs fused':>8s} {'agree':>5s} "
              f"{'fused/s':>8s} {'fused16/s':>9s} {'halt/s':>8s} {'mean it':>7s} {'evals÷':>6s} {'agree':>5s} "
              f"{'MFU':>6s} {'MFU16':>6s} {'fusedMFU':>8s}")
    print(header)
    rows = []
    for task in args.tasks:
        model, label = speed.model_for(task, args.width)
        fused = speed.FusedLoop(model)
        xs = speed.inputs_for(task, args.n, args.length)
        parsed = [model.task.parse(x, i) for i, x in enumerate(xs)]
        x = model.task.encode(parsed)
        length = x.shape[1]
        compiled, compile_s = None, float("nan")
        if args.compile:
            compiled = copy.deepcopy(model)  # compiled in place: the eager model stays as it is
            t0 = time.perf_counter()
            compiled.solve(xs, iters=2, batch_size=args.n, compile=True)
            compiled.solve(xs, iters=2, batch_size=args.n)  # and warm at the batch size timed
            compile_s = time.perf_counter() - t0
        for iters in args.iters:
            def solve(m=model, **kw):
                return m.solve(xs, iters=iters, batch_size=args.n, **kw)

            fns = {"ours": solve, "ref": lambda: reference.run(model, x, iters), "fused": lambda: fused.run(x, iters),
                   "bf16": lambda: solve(autocast=True), "fused16": lambda: fused.run(x, iters, autocast=True)}
            if compiled is not None:
                fns["comp"] = lambda: solve(compiled)
            if halt is not None:
                fns["halt"] = lambda: solve(halt=halt, return_info=False)
            best = speed.best_of(fns, args.long_rounds if iters >= args.long_iters else args.rounds, clock)
            fixed = solve()
            bf16_agree = speed.agreement(solve(autocast=True), fixed)
            comp_agree = speed.agreement(solve(compiled), fixed) if compiled is not None else float("nan")
            used, halt_agree = [iters] * len(xs), 1.0
            if halt is not None:
                sols = solve(halt=halt, return_info=True)
                halted, used = [sol.answer for sol in sols], [sol.iters for sol in sols]
                halt_agree = speed.agreement(halted, fixed)
            peak = flops.matmul_peak(seconds=0.5, clock=clock)  # re-measured beside each row: the load changes
            peak16 = flops.matmul_peak(dtype=torch.bfloat16, seconds=0.5, clock=clock)
            model_flops = flops.solve_flops(model, len(xs), length, iters)
            fused_flops = fused.flops(len(xs), length, iters)
            best.setdefault("comp", float("nan"))
            per_s = {k: len(xs) / v for k, v in best.items()}
            row = dict(task=task, model=label, iters=iters, n=len(xs), clock=args.clock, threads=args.threads,
                       ours_per_s=per_s["ours"], ref_per_s=per_s["ref"], fused_per_s=per_s["fused"],
                       bf16_per_s=per_s["bf16"], fused16_per_s=per_s["fused16"], compiled_per_s=per_s["comp"],
                       speedup=best["ref"] / best["ours"], vs_fused=best["fused"] / best["ours"],
                       bf16_speedup=best["ref"] / best["bf16"], bf16_vs_fused16=best["fused16"] / best["bf16"],
                       bf16_agreement=bf16_agree, compiled_speedup=best["ref"] / best["comp"],
                       compiled_vs_fused=best["fused"] / best["comp"], compiled_agreement=comp_agree,
                       compile_s=compile_s, mfu=model_flops / best["ours"] / peak,
                       bf16_mfu=model_flops / best["bf16"] / peak16, fused_mfu=fused_flops / best["fused"] / peak,
                       peak_flops=peak, peak_flops_bf16=peak16)
            if halt is not None:
                row.update(halt_per_s=per_s["halt"], mean_iters_halt=sum(used) / len(used),
                           evals_reduction=iters * len(used) / sum(used), halt_agreement=halt_agree)
            rows.append(row)
            halt_cols = (f"{row['halt_per_s']:8.1f} {row['mean_iters_halt']:7.1f} {row['evals_reduction']:5.2f}x "
                         f"{halt_agree:5.2f}" if halt is not None else f"{'-':>8s} {'-':>7s} {'-':>6s} {'-':>5s}")
            print(f"{task:12s} {iters:5d} {per_s['ours']:8.1f} {speed.ratio(best['ref'], best['ours'])} "
                  f"{speed.ratio(best['fused'], best['ours']):>8s} {per_s['bf16']:8.1f} {speed.ratio(best['ref'], best['bf16'])} "
                  f"{speed.ratio(best['fused16'], best['bf16']):>8s} {bf16_agree:5.2f} {per_s['comp']:8.1f} "
                  f"{speed.ratio(best['ref'], best['comp'])} {speed.ratio(best['fused'], best['comp']):>8s} {comp_agree:5.2f} "
                  f"{per_s['fused']:8.1f} {per_s['fused16']:9.1f} {halt_cols} {row['mfu']:6.1%} {row['bf16_mfu']:6.1%} "
                  f"{row['fused_mfu']:8.1%}")
        if args.mem_iters:
            mem = {it: speed.solve_memory_mib(task, it, args.mem_n, args.width, args.length, args.threads) for it in args.mem_iters}
            ref_mem = {it: speed.solve_memory_mib(task, it, args.mem_n, args.width, args.length, args.threads, ref=True)
                       for it in args.mem_iters}
            first, last = args.mem_iters[0], args.mem_iters[-1]
            print(f"{task:12s} peak memory of a solve of {args.mem_n} inputs: "
                  + ", ".join(f"{mem[it]:.1f} MiB at {it} iterations" for it in args.mem_iters)
                  + f" (ratio {mem[last] / max(mem[first], 1e-9):.2f}); reference "
                  + " -> ".join(f"{ref_mem[it]:.1f}" for it in args.mem_iters) + " MiB")
            rows.append(dict(task=task, **{f"solve_mib_{it}": mem[it] for it in args.mem_iters},
                             **{f"ref_mib_{it}": ref_mem[it] for it in args.mem_iters}))
        compiled_note = f"; torch.compile took {compile_s:.1f} s (first calls, not in the rows)" if args.compile else ""
        print(f"{task:12s} model: {label}{compiled_note}\n")
    print("vs ref / vs fused = time of loopzoo.reference / of the fused-TransformerEncoderLayer loop (bf16 column: under "
          "the same bf16 autocast; compiled column: the eager fp32 loop) over ours: above 1 is faster; agree = share "
          "of answers equal to the fp32 fixed-iteration answers; evals÷ = block evaluations without halting / with "
          f"halting ({args.halt}); MFU = model FLOP/s over the matmul FLOP/s of the same dtype (ours: fp32, bf16; "
          "the fused loop: fp32).")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)
    if args.write:
        print(docs_tables.publish(args.write, docs_tables.stamp({"rows": rows}, sys.argv)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
