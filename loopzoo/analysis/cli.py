"""``loopzoo analyze NAME``: the fixed-point analysis of one model, as JSON (and PNG plots)."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def add_parser(sub) -> None:
    p = sub.add_parser(
        "analyze", help="stability analysis of a model (fixed points, Jacobians, scaling)",
        description="Measure reachability, input-dependence, geometry, path independence, overthinking "
                    "and test-time scaling of a trained looped model (docs/design.md §6). Writes report.json "
                    "and, with matplotlib installed, PNG plots into --out.")
    p.add_argument("name", help="a checkpoint directory or a zoo model name")
    p.add_argument("--data", default="val", choices=["val", "hard"], help="split to probe fixed points on (default: val)")
    p.add_argument("--iters", type=int, default=500, help="loop iterations (default: 500, as in the paper)")
    p.add_argument("--samples", type=int, default=100, help="items per split for accuracy curves (default: 100)")
    p.add_argument("--probe-samples", type=int, default=32, help="inputs for the fixed-point probes (default: 32)")
    p.add_argument("--jacobian-steps", type=int, default=100, help="power-iteration steps (default: 100)")
    p.add_argument("--scaling-samples", type=int, default=50, help="items per difficulty level (default: 50)")
    p.add_argument("--no-scaling", action="store_true", help="skip the difficulty x iterations grid")
    p.add_argument("--no-plots", action="store_true", help="write the JSON report only")
    p.add_argument("--out", metavar="DIR", default=None, help="output folder (default: analysis-<name>)")
    p.add_argument("--max-memory", metavar="SIZE", default=None,
                   help="working memory per analysis phase, e.g. 512M or 2G: probe batches are cut into chunks "
                        "that fit (default: env LOOPZOO_ANALYSIS_MEMORY, else 512M; Python, torch and the model "
                        "come on top)")
    p.add_argument("-v", "--verbose", action="store_true",
                   help="log each phase's peak resident memory and how its batch was cut, beside its time")
    p.add_argument("--device", default=None, help="cpu, cuda, ... (default: cpu)")
    p.add_argument("--seed", type=int, default=0, help="data and probe seed (default: 0)")
    p.add_argument("--random-init", action="store_true", help="analyze random weights of a zoo name (to try the tool)")
    p.add_argument("--width", type=int, help="width for --random-init")
    p.add_argument("--heads", type=int, help="heads for --random-init")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import torch

    from ..cli import model_from_args
    from .budget import parse_size
    from .report import Settings, analyze

    max_memory = parse_size(args.max_memory, "--max-memory") if args.max_memory is not None else None
    model = model_from_args(args)
    if args.device:
        model.to(args.device)
    torch.manual_seed(args.seed)
    settings = Settings(data=args.data, iters=args.iters, samples=args.samples, probe_samples=args.probe_samples,
                        jacobian_steps=args.jacobian_steps, scaling=not args.no_scaling,
                        scaling_samples=args.scaling_samples, seed=args.seed, max_memory=max_memory)
    label = model.config.name or Path(args.name).name
    out = Path(args.out or f"analysis-{label}")
    report = analyze(model, settings, source=str(args.name), log=lambda m: print(m, file=sys.stderr, flush=True),
                     verbose=args.verbose)
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(report, indent=1) + "\n")
    print(f"wrote {out / 'report.json'}")
    if not args.no_plots:
        from .plots import plot_report

        try:
            for path in plot_report(report, out):
                print(f"wrote {path}")
        except Exception as exc:  # a missing matplotlib is reported, the JSON is already written
            from ..errors import LoopzooError

            if not isinstance(exc, LoopzooError):
                raise
            print(f"note: {exc}", file=sys.stderr)
    print(summary_line(report))
    return 0


def summary_line(report: dict) -> str:
    """One line of the key numbers of a report."""
    parts = []
    for split, c in report["curves"].items():
        if "final" in c:
            parts.append(f"{split} acc@{report['settings']['iters']}={c['final']:.3f} (gap {c['overthinking']:.3f})")
    r = report["reachability"]
    parts.append(f"residual={r['final_residual']['median']:.2e}")
    parts.append(f"rho(J)={r['spectral_radius']['median']:.3f}")
    if r.get("rho_wx") is not None:
        parts.append(f"rho(Wx)={r['rho_wx']:.3f}")
    parts.append(f"sensitivity={report['input_dependence']['sensitivity']['median']:.3g}")
    return "  ".join(parts)
