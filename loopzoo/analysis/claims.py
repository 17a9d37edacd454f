"""The paper's claims checked on checkpoints: the stability analysis of each, tables, the claim rules,
and the report (``scripts/reproduce_paper.py``).

Per task: a table of recall x norm with val and hard accuracy at the last iteration, the
overthinking gap, the final residual, the spectral radius of dF/ds, rho(Wx) and the input
sensitivity; then, for each of the paper's claims (docs/design.md §6), whether the checkpoints
support it, with the numbers and the rule used (:func:`claims`). Each checkpoint's JSON report is
kept and reused when the settings, the checkpoint's weights and the data are unchanged
(:func:`analyze_all`).

For the grid (:mod:`loopzoo.train.grid`, equal budget per variant) the report adds the training
side: claim C4 (pre/peri norm diverge at high learning rates) from the runs' losses
(:func:`grid_runs`, :func:`claim_c4`), and the C4 runs' loss and state-norm curves. A checkpoint is
labelled by its ref (``NAME``, ``NAME.TAG``; a grid run ``NAME.lrLR-seedK``, :mod:`loopzoo.runs`).

Where a grid's runs scored a held-out probe (prefix sums), each finished run is also read at its best
checkpoint by the probe, from its evaluation records (:func:`rows_at_best`; the weights of that
checkpoint are not kept, so the claims' fixed-point parts are not testable there), and the claims are
checked under both rules; a claim whose verdicts differ says so (:func:`differences`).
"""
from __future__ import annotations

import json
import math
import shutil
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import hub
from ..runs import RunDir, best_evaluation, grid_root, parse_grid_tag, split_tag

def find_checkpoints(paths: list[str]) -> list[Path]:
    """Checkpoint directories (with config.json) among ``paths``, or under the bundled zoo."""
    from ..errors import CheckpointError

    if paths:
        dirs = [Path(p) for p in paths]
        missing = [str(d) for d in dirs if not (d / "config.json").is_file()]
        if missing:
            raise CheckpointError(f"not checkpoint directories (no config.json): {', '.join(missing)}")
        return dirs
    zoo = hub.ZOO_DIR
    return sorted(d for d in zoo.glob("*/") if (d / "config.json").is_file()) if zoo.is_dir() else []


def grid_checkpoints(tasks: list[str]) -> list[Path]:
    """The finished runs of the equal-budget grid of ``tasks`` (folders ``runs/grid/<task>/<variant>/seed<k>/``)."""
    return sorted(d for task in tasks for d in (grid_root() / task).glob("*/seed*/") if (d / "config.json").is_file())


def checkpoint_label(d: Path) -> str:
    """A checkpoint's label: its ref (``NAME``, ``NAME.TAG``, a grid run's ``NAME.lrLR-seedK``); a run's
    best model is labelled as its run, a resumable checkpoint as ``REF-step-N``."""
    d = Path(d)
    if d.name == "best":
        return RunDir(d.parent).ref
    if d.name.startswith("step-") and d.parent.name == "checkpoints":
        return f"{RunDir(d.parent.parent).ref}-{d.name}"
    return RunDir(d).ref


def legacy_label(d: Path) -> str | None:
    """The label a grid run had before the ``NAME.TAG`` syntax (``NAME@lrLR/seedK``): its reports kept that
    file name."""
    d = Path(d)
    return f"{d.parent.name}/{d.name}" if d.name.startswith("seed") and "@lr" in d.parent.name else None


def data_sha256(model_dir: Path) -> str | None:
    """The manifest hash of the bundled data set a checkpoint's task is analyzed on (None where the
    task generates its data): a report measured on rewritten data is not reused."""
    from loopzoo.data import bundled

    try:
        task = json.loads((model_dir / "config.json").read_text())["model"]["task"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return bundled.manifest().get(bundled.FILES.get(task, ""), {}).get("sha256")


def analyze_all(dirs: list[Path], settings, out: Path, fresh: bool, plots: bool) -> list[dict[str, Any]]:
    import torch

    import loopzoo
    from loopzoo import checkpoint
    from loopzoo.analysis.report import analyze

    reports = []
    for d in dirs:
        label = checkpoint_label(d)
        path = out / f"{label.replace('/', '-')}.json"
        old_label = legacy_label(d)
        if not path.is_file() and old_label and (out / f"{old_label.replace('/', '-')}.json").is_file():
            path = out / f"{old_label.replace('/', '-')}.json"  # a report written before the NAME.TAG syntax
        from dataclasses import asdict

        weights_file = d / checkpoint.WEIGHTS_FILE
        weights = checkpoint.sha256_file(weights_file) if weights_file.is_file() else None
        data = data_sha256(d)
        if path.is_file() and not fresh:
            old = json.loads(path.read_text())
            if (old.get("settings") == asdict(settings) and old.get("weights_sha256") == weights
                    and old.get("data_sha256") == data):
                print(f"[{label}] reusing {path}", file=sys.stderr)
                old["label"] = label
                reports.append(old)
                continue
        print(f"[{label}] analyzing {d}", file=sys.stderr)
        t0 = time.perf_counter()
        try:
            model = loopzoo.load(d)
        except loopzoo.LoopzooError as exc:
            print(f"[{label}] skipped: {exc}", file=sys.stderr)
            continue
        torch.manual_seed(settings.seed)
        report = analyze(model, settings, source=str(d), log=lambda m, lb=label: print(f"[{lb}] {m}", file=sys.stderr))
        report["label"], report["weights_sha256"], report["data_sha256"] = label, weights, data
        path = out / f"{label.replace('/', '-')}.json"
        path.write_text(json.dumps(report, indent=1) + "\n")
        print(f"[{label}] done in {time.perf_counter() - t0:.0f} s -> {path}", file=sys.stderr)
        if plots:
            from loopzoo.analysis.plots import plot_report

            plot_report(report, out / label.replace("/", "-"))
        reports.append(report)
    return reports


# --- tables --------------------------------------------------------------------------------
RECALL_ORDER = {"none": 0, "recall": 1, "internal-recall": 2}
NORM_ORDER = {"prenorm": 0, "perinorm": 1, "outernorm": 2, "gru": 3}


def acc(report: dict, split: str, at: int | None = None) -> float | None:
    """Exact match on ``split`` at iteration ``at`` (default: the last one)."""
    c = report["curves"].get(split, {})
    return c.get("final") if at is None else c.get("at", {}).get(str(at))


def fmt(v: Any, digits: int = 3) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        if v != 0 and (abs(v) < 1e-2 or abs(v) >= 1e4):
            return f"{v:.2e}"
        return f"{v:.{digits}f}"
    return str(v)


def label_lr(label: str) -> float | None:
    """The learning rate in a grid run's label (``NAME.lr0.001-seed0``); None for other checkpoints."""
    grid = parse_grid_tag(split_tag(label)[1])
    return grid[0] if grid else None


def row(report: dict) -> dict[str, Any]:
    m = report["model"]
    gap = report.get("overthinking", {})
    return {
        "label": report.get("label", m.get("name")), "recall": m["recall"], "norm": m["norm"], "depth": m.get("depth", 1),
        "iters": report.get("iters"), "lr": label_lr(report.get("label", "")), "parameters": report.get("parameters"),
        "val": acc(report, "val"), "hard": acc(report, "hard"), "val30": acc(report, "val", 30), "hard30": acc(report, "hard", 30),
        "n_val": report["curves"].get("val", {}).get("samples"), "n_hard": report["curves"].get("hard", {}).get("samples"),
        "gap_val": gap.get("val", {}).get("overthinking"), "gap_hard": gap.get("hard", {}).get("overthinking"),
        "residual": report["reachability"]["final_residual"]["median"],
        "rho": report["reachability"]["spectral_radius"]["median"],
        "rho_below_1": report["reachability"]["spectral_radius"]["share_below_1"],
        "rho_wx": report["reachability"].get("rho_wx"), "norm_wx": report["reachability"].get("norm_wx"),
        "sigma": report["geometry"]["top_singular_value"]["median"],
        "sensitivity": report["input_dependence"]["sensitivity"]["median"],
        "clusters": report["input_dependence"]["fixed_points"]["clusters"],
        "inputs": report["input_dependence"]["fixed_points"]["inputs"],
        "cycles": report["cycles"]["cycles"],
    }


def table(rows: list[dict[str, Any]], iters: int) -> list[str]:
    head = (f"| checkpoint | recall | norm | val acc@{iters} | hard acc@{iters} | val / hard acc@30 | n val / hard | gap val / hard | residual | "
            "rho(dF/ds) (share<1) | sigma_max | rho(Wx) / norm(Wx) | sensitivity | fixed points / inputs | cycles |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in rows:
        label = r["label"] if r["depth"] == 1 else f"{r['label']} ({r['depth']} untied layers, {r['iters'] or '?'} pass)"
        lines.append(
            f"| {label} | {r['recall']} | {r['norm']} | {fmt(r['val'])} | {fmt(r['hard'])} | "
            f"{fmt(r['val30'])} / {fmt(r['hard30'])} | {r['n_val'] or '–'} / {r['n_hard'] or '–'} | "
            f"{fmt(r['gap_val'])} / {fmt(r['gap_hard'])} | {fmt(r['residual'])} | {fmt(r['rho'])} ({fmt(r['rho_below_1'], 2)}) | "
            f"{fmt(r['sigma'])} | {fmt(r['rho_wx'])} / {fmt(r['norm_wx'])} | {fmt(r['sensitivity'])} | "
            f"{r['clusters']} / {r['inputs']} | {r['cycles']} |")
    return lines


# --- claims --------------------------------------------------------------------------------
def mean(values: list[float | None]) -> float | None:
    vals = [v for v in values if v is not None]
    return sum(vals) / len(vals) if vals else None


def se(p: float | None, n: int | None) -> float:
    """Binomial standard error of an accuracy ``p`` on ``n`` items (at least 1/n)."""
    if p is None or not n:
        return float("nan")
    return max(math.sqrt(p * (1 - p) / n), 1.0 / n)


def diff_margin(a: float | None, b: float | None, n: int) -> float:
    """Two standard errors of the difference of two accuracies measured on ``n`` items each."""
    return 2 * math.hypot(se(a, n), se(b, n))


def verdict(ok: bool | None) -> str:
    return {True: "**supported**", False: "**not supported**", None: "**not testable**"}[ok]


def all_of(parts: list[bool | None]) -> bool | None:
    """Three-valued and: False if any part fails, else None if any is unknown, else True."""
    return False if False in parts else (None if None in parts else True)


@dataclass(frozen=True)
class Claim:
    """One claim checked on one set of rows: its ``key`` (C1, C2, C3, internal-vs-standard), the report's line,
    and its verdicts by part (``"verdict"``, and a part a reader may want on its own: C3's extrapolation,
    sudoku's "clearly better"); None where a part is not testable."""

    key: str
    text: str
    verdicts: dict[str, bool | None]


REACHABLE_RESIDUAL = 1e-3
EXTRAPOLATES = 0.5
UNMEASURED = "fixed points not measured: the weights of that checkpoint are not kept"


def claims(task: str, rows: list[dict[str, Any]]) -> list[Claim]:
    """The paper's claims (docs/design.md §6) checked on ``rows`` of one task; each with rule and numbers.
    A row without fixed-point measurements (``residual`` None: a checkpoint read from its evaluations,
    :func:`rows_at_best`) leaves the parts that need them not testable."""
    looped = [r for r in rows if r["depth"] == 1]
    by = defaultdict(list)
    for r in looped:
        by[(r["recall"], r["norm"])].append(r)
    out = []

    # 1. no recall fails to extrapolate
    no = [r for r in looped if r["recall"] == "none"]
    rec = [r for r in looped if r["recall"] != "none"]
    if no and rec:
        best_no = max(no, key=lambda r: r["hard"] or 0.0)
        best_rec = max(rec, key=lambda r: r["hard"] or 0.0)
        margin = 2 * se(best_rec["hard"], best_rec["n_hard"])
        ok = (best_no["hard"] or 0.0) < (best_rec["hard"] or 0.0) - margin
        out.append(Claim("C1", f"- *No recall fails to extrapolate to harder inputs*: {verdict(ok)}. Best no-recall hard accuracy "
                   f"{fmt(best_no['hard'])} ({best_no['label']}) vs best recall {fmt(best_rec['hard'])} ({best_rec['label']}); "
                   f"rule: no-recall below recall by more than 2 standard errors ({fmt(margin)}).", {"verdict": ok}))
    else:
        out.append(Claim("C1", f"- *No recall fails to extrapolate*: {verdict(None)} (needs no-recall and recall checkpoints; "
                   f"have {len(no)} and {len(rec)}).", {"verdict": None}))

    # 2. without recall the fixed point does not depend on the input
    # against recall runs with the no-recall runs' norm placements: pre/peri norm's sensitivities are orders larger
    same_norm = [r for r in rec if r["norm"] in {r_no["norm"] for r_no in no}]
    title = "- *Without recall, fixed points do not move with the input (dF/de = 0)*"
    if no and same_norm and any(r["sensitivity"] is None for r in no + same_norm):
        out.append(Claim("C2", f"{title}: {verdict(None)} ({UNMEASURED}).", {"verdict": None}))
    elif no and same_norm:
        s_no = mean([r["sensitivity"] for r in no])
        s_rec = mean([r["sensitivity"] for r in same_norm])
        ok = s_no is not None and s_rec is not None and s_no < 0.1 * s_rec
        norms = "/".join(sorted({r["norm"] for r in no}))
        out.append(Claim("C2", f"{title}: {verdict(ok)}. "
                   f"Median sensitivity ||ds*||/||de||: no recall {fmt(s_no)}, recall {fmt(s_rec)} (means over the "
                   f"{norms} checkpoints: {len(no)} and {len(same_norm)}); "
                   "rule: no-recall below a tenth of recall with the same norm placement. Distinct fixed points / inputs: "
                   + ", ".join(f"{r['label']} {r['clusters']}/{r['inputs']}" for r in no) + ".", {"verdict": ok}))
    else:
        out.append(Claim("C2", f"{title}: {verdict(None)} (needs "
                   "no-recall and recall checkpoints with the same norm placement).", {"verdict": None}))

    # 3. recall + outer norm: reachable, input-smooth, stable, extrapolates
    outer = [r for r in looped if r["recall"] != "none" and r["norm"] == "outernorm"]
    if outer:
        parts, oks, extras = [], [], []
        for r in outer:
            extra = (r["hard"] or 0.0) >= EXTRAPOLATES
            extras.append(extra)
            extrapolates = f"hard accuracy {fmt(r['hard'])} [{'extrapolates' if extra else 'does not extrapolate'}]"
            if r["residual"] is None:
                oks.append(all_of([None, extra]))
                parts.append(f"{r['label']}: {extrapolates} (fixed points not measured)")
                continue
            reach = r["residual"] < REACHABLE_RESIDUAL and r["rho"] < 1.0
            smooth = r["clusters"] == r["inputs"] and 0 < r["sensitivity"] < 1e3
            oks.append(reach and smooth and extra)
            parts.append(f"{r['label']}: residual {fmt(r['residual'])}, rho(dF/ds) {fmt(r['rho'])} "
                         f"[{'reachable' if reach else 'not reachable'}], sensitivity {fmt(r['sensitivity'])} with "
                         f"{r['clusters']}/{r['inputs']} distinct fixed points [{'input-smooth' if smooth else 'not input-smooth'}], "
                         f"{extrapolates}")
        ok = all_of(oks)
        out.append(Claim("C3", f"- *Recall + outer norm gives reachable, input-smooth, stable fixed points and extrapolates*: "
                   f"{verdict(ok)}. " + "; ".join(parts) + f". Rules: reachable = residual < {REACHABLE_RESIDUAL:g} "
                   f"and median rho(dF/ds) < 1; input-smooth = one fixed point per input and finite non-zero "
                   f"sensitivity; extrapolates = hard accuracy >= {EXTRAPOLATES}.",
                   {"verdict": ok, "its extrapolation part": all(extras)}))
    else:
        out.append(Claim("C3", f"- *Recall + outer norm gives reachable, stable fixed points*: {verdict(None)} "
                   "(no recall+outernorm checkpoint).", {"verdict": None, "its extrapolation part": None}))

    # 4. internal recall >= standard recall (outer norm), clearly better on sudoku
    internal, standard = by.get(("internal-recall", "outernorm")), by.get(("recall", "outernorm"))
    if internal and standard:
        a_i, a_s = mean([r["hard"] for r in internal]), mean([r["hard"] for r in standard])
        n = min(r["n_hard"] or 0 for r in internal + standard)
        margin = diff_margin(a_i, a_s, n)
        ok = a_i is not None and a_s is not None and a_i >= a_s - margin
        line = (f"- *Internal recall + outer norm is at least as good as standard recall*: {verdict(ok)}. Hard accuracy "
                f"{fmt(a_i)} (internal) vs {fmt(a_s)} (standard); rule: not below by more than 2 standard errors ({fmt(margin)}).")
        verdicts = {"verdict": ok}
        if task == "sudoku":
            better = a_i is not None and a_s is not None and a_i > a_s + margin
            line += f" *Clearly better on sudoku*: {verdict(better)} (rule: above by more than {fmt(margin)})."
            verdicts["clearly better on sudoku"] = better
        out.append(Claim("internal-vs-standard", line, verdicts))
    else:
        out.append(Claim("internal-vs-standard", f"- *Internal recall + outer norm is at least as good as standard recall*: "
                   f"{verdict(None)} (needs both internal-recall-outernorm and recall-outernorm checkpoints).",
                   {"verdict": None}))
    return out


def differences(end: list[Claim], best: list[Claim]) -> dict[str, list[str]]:
    """Per claim key, the parts whose verdicts differ between ``end`` and ``best`` (both testable)."""
    at_best = {c.key: c for c in best}
    found = {}
    for claim in end:
        other = at_best.get(claim.key)
        if other is None:
            continue
        parts = [part for part, ok in claim.verdicts.items()
                 if ok is not None and other.verdicts.get(part) is not None and ok != other.verdicts[part]]
        if parts:
            found[claim.key] = parts
    return found


def differs(parts: list[str], end: Claim, best: Claim) -> str:
    """The sentence a claim's line gets where verdicts differ between the two checkpoint rules."""
    said = "; ".join(f"{'the verdict' if part == 'verdict' else part} is {verdict(end.verdicts[part])} at the end and "
                     f"{verdict(best.verdicts[part])} at the best checkpoint by the probe" for part in parts)
    return f" **Differs between the two checkpoint rules**: {said}."


def annotated(shown: list[Claim], end: list[Claim], best: list[Claim]) -> list[str]:
    """The lines of ``shown`` (``end`` or ``best``), each claim whose verdicts differ between the two saying so."""
    found = differences(end, best)
    ends, bests = {c.key: c for c in end}, {c.key: c for c in best}
    return [c.text + (differs(found[c.key], ends[c.key], bests[c.key]) if c.key in found else "") for c in shown]


def baseline(rows: list[dict[str, Any]], at: str = "") -> list[str]:
    """The untied fixed-depth baseline against the best looped run on hard: context, not one of the claims of
    docs/design.md §6; ``at`` says which checkpoints (" at the best checkpoints by the probe")."""
    deep = [r for r in rows if r["depth"] > 1 and r["hard"] is not None]
    looped = [r for r in rows if r["depth"] == 1 and r["hard"] is not None]
    if not deep or not looped:
        return []
    best = max(looped, key=lambda r: r["hard"])

    def size(r: dict[str, Any]) -> str:
        return f"{r['parameters'] / 1e6:.2f} M parameters" if r.get("parameters") else "parameters unknown"

    lines = []
    for r in deep:
        n = min(r["n_hard"] or 0, best["n_hard"] or 0)
        margin = diff_margin(r["hard"], best["hard"], n)
        diff = r["hard"] - best["hard"]
        side = "within 2 standard errors of" if abs(diff) <= margin else ("ahead of" if diff > 0 else "behind")
        lines.append(f"Fixed-depth baseline{at} (the paper's comparison, not one of the claims above): {r['label']} "
                     f"({r['depth']} untied layers, {r['iters'] or '?'} pass, {size(r)}) has hard accuracy {fmt(r['hard'])}, "
                     f"{side} the best looped run, {best['label']} ({size(best)}), at {fmt(best['hard'])} "
                     f"(margin {fmt(margin)}).")
    return lines + [""]


# --- the grid's training side: claim C4 -----------------------------------------------------
LOSS_WINDOW = 50  # steps per window of the training-loss rule
BLOWUP = 2.0  # unrecovered blow-up: the last window's mean loss above this multiple of the best window's


def blew_up(losses: list[float]) -> bool:
    """Whether a training loss curve went non-finite or ended far above its best (by the rule above)."""
    if any(not math.isfinite(v) for v in losses):
        return True
    if len(losses) < 2 * LOSS_WINDOW:
        return False
    means = [sum(losses[i:i + LOSS_WINDOW]) / LOSS_WINDOW for i in range(0, len(losses) - LOSS_WINDOW + 1, LOSS_WINDOW)]
    return means[-1] > BLOWUP * min(means)


def grid_runs(task: str) -> list[dict[str, Any]]:
    """Every run of ``task``'s grid (finished, diverged or started): what it is, how training went."""
    from .. import config_for

    found = []
    for d in sorted((grid_root() / task).glob("*/seed*/")):
        run = RunDir(d)
        if run.lr_seed is None:  # not a grid run's folder
            continue
        lr, seed = run.lr_seed
        state = run.status()
        losses, evals = run.losses(), run.evaluations()
        config = config_for(run.name)
        found.append({"label": run.ref, "name": run.name, "lr": lr, "seed": seed, "recall": config.recall,
                      "norm": config.norm, "depth": config.depth, "status": state["status"],
                      "steps": state.get("steps", state.get("step")), "minutes": state.get("train_minutes"),
                      "losses": losses, "evals": evals,
                      "unstable": state["status"] == "diverged" or blew_up([v for _, v in losses])})
    return found


def claim_c4(runs: list[dict[str, Any]]) -> str:
    """C4: without outer norm (pre/peri), training diverges at a high learning rate; with it, it does not."""
    ended = [r for r in runs if r["recall"] == "internal-recall" and r["status"] in ("done", "diverged")]
    high = max((r["lr"] for r in ended), default=None)
    recipe_lr = min((r["lr"] for r in runs), default=None)  # the grid's lowest rate, finished or not: not a high one
    at_high = [r for r in ended if r["lr"] == high] if high is not None and high > recipe_lr else []
    pre_peri = [r for r in at_high if r["norm"] in ("prenorm", "perinorm")]
    outer = [r for r in at_high if r["norm"] == "outernorm"]
    rule = (f"rule: at the grid's highest learning rate every pre/peri-norm run diverged (training stopped on a "
            f"non-finite loss, or its last {LOSS_WINDOW}-step mean loss ended above {BLOWUP:g}x its best) and no "
            "outer-norm run did")
    if not pre_peri or not outer:
        return (f"- *Pre/peri norm without outer norm diverge at high learning rates*: {verdict(None)} (needs finished "
                f"pre/peri and outer-norm runs at the same high learning rate; have {len(pre_peri)} and {len(outer)}); {rule}.")
    ok = all(r["unstable"] for r in pre_peri) and not any(r["unstable"] for r in outer)
    described = "; ".join(f"{r['label']}: {'diverged' if r['unstable'] else 'stable'} ({r['status']})"
                          for r in sorted(ended, key=lambda r: (-r["lr"], NORM_ORDER.get(r["norm"], 9), r["label"])))
    return f"- *Pre/peri norm without outer norm diverge at high learning rates*: {verdict(ok)}. {described}; {rule}."


def grid_table(runs: list[dict[str, Any]]) -> list[str]:
    """The grid's runs: status, budget, last training loss and the final-state norm ratio."""
    lines = ["| run | lr | status | steps | train minutes | last loss | state-norm ratio (hard) |", "|---|---|---|---|---|---|---|"]
    for r in runs:
        last = r["losses"][-LOSS_WINDOW:]
        loss = sum(v for _, v in last) / len(last) if last else None
        ratio = r["evals"][-1].get("test", {}).get("state_norm_ratio") if r["evals"] else None
        lines.append(f"| {r['label']} | {r['lr']:g} | {r['status']}{' (unstable)' if r['unstable'] and r['status'] == 'done' else ''} | "
                     f"{r['steps'] or '–'} | {fmt(r['minutes'], 1)} | {fmt(loss)} | {fmt(ratio)} |")
    return lines


def rows_at_best(runs: list[dict[str, Any]], end_rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per finished run that scored the held-out probe, a claims row (:func:`row`'s keys) at its best checkpoint
    by the probe (:func:`loopzoo.runs.best_evaluation`: the evaluation with the best probe exact match at its
    last iteration count, the later on a tie), read from that evaluation: val and hard (the test split) exact
    match at that count, on the evaluation's items. A grid run keeps only its final weights, so the
    fixed-point measurements are None; the parameter count comes from the run's analysed end (``end_rows``)."""
    parameters = {r["label"]: r.get("parameters") for r in end_rows}
    found = []
    for r in runs:
        best = best_evaluation(r["evals"]) if r["status"] == "done" else None
        if best is None:
            continue
        val, hard = best.get("val", {}), best.get("test", {})
        found.append({
            "label": r["label"], "recall": r["recall"], "norm": r["norm"], "depth": r["depth"], "lr": r["lr"],
            "iters": max((int(i) for i in hard.get("at", {})), default=None), "parameters": parameters.get(r["label"]),
            "step": best["step"], "probe": best["probe"]["final"], "n_probe": best["probe"].get("samples"),
            "val": val.get("final"), "hard": hard.get("final"), "val30": val.get("at", {}).get("30"),
            "hard30": hard.get("at", {}).get("30"), "n_val": val.get("samples"), "n_hard": hard.get("samples"),
            **dict.fromkeys(("gap_val", "gap_hard", "residual", "rho", "rho_below_1", "rho_wx", "norm_wx", "sigma",
                             "sensitivity", "clusters", "inputs", "cycles"))})
    return found


def checkpoints_table(runs: list[dict[str, Any]]) -> list[str]:
    """Per finished run that scored the probe: probe, val and hard exact match at its end (its last
    evaluation) and at its best checkpoint by the probe, each at the evaluation's last iteration count."""
    lines = ["| run | lr | end: step | probe | val | hard | best by probe: step | probe | val | hard |", "|" + "---|" * 10]
    for r in runs:
        best = best_evaluation(r["evals"]) if r["status"] == "done" else None
        if best is None:
            continue
        cells = [f"{e['step']} | {fmt(e['probe']['final'])} | {fmt(e.get('val', {}).get('final'))} | "
                 f"{fmt(e.get('test', {}).get('final'))}" for e in (r["evals"][-1], best)]
        lines.append(f"| {r['label']} | {r['lr']:g} | {cells[0]} | {cells[1]} |")
    return lines


def plot_task(task: str, reports: list[dict[str, Any]], runs: list[dict[str, Any]], out: Path) -> list[Path]:
    """Hard accuracy against iterations per checkpoint; for the grid, the C4 runs' loss and state-norm curves."""
    from loopzoo.analysis.plots import _save, pyplot

    plt = pyplot()
    paths = []
    curves = [(r.get("label", r["model"].get("name")), r["curves"]["hard"]["accuracy"]) for r in reports
              if "accuracy" in r["curves"].get("hard", {})]
    if curves:
        fig, ax = plt.subplots(figsize=(10, 4.5))
        ax.set_prop_cycle(color=plt.cm.tab20.colors)  # a colour per run for up to 20 (the default cycle has 10)
        for label, accuracy in curves:
            if len(accuracy) > 1:
                ax.plot(range(1, len(accuracy) + 1), accuracy, label=label)
            else:  # a fixed-depth model's one pass: a level to compare the looped curves with
                ax.axhline(accuracy[0], ls="--", color="black", label=f"{label} (one pass)")
        ax.set(xscale="log", xlabel="iterations", ylabel="exact match (hard)", title=f"{task}: hard accuracy against iterations")
        ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
        paths.append(_save(fig, out / f"hard_vs_iters_{task}.png"))
    c4 = [r for r in runs if r["recall"] == "internal-recall" and r["losses"]]
    if c4:
        fig, (loss_ax, norm_ax) = plt.subplots(1, 2, figsize=(11, 4.5))
        for r in c4:
            steps, values = zip(*r["losses"])
            loss_ax.plot(steps, values, lw=0.8, label=f"{r['norm']} lr {r['lr']:g} (seed{r['seed']})")
            if r["evals"]:
                norm_ax.plot([e["step"] for e in r["evals"]], [e["test"]["state_norm_ratio"] for e in r["evals"]], "o-",
                             label=f"{r['norm']} lr {r['lr']:g}")
        loss_ax.set(yscale="log", xlabel="step", ylabel="training loss", title=f"{task}: C4 runs, training loss")
        norm_ax.set(yscale="log", xlabel="step", ylabel="||s_T|| / ||s_1|| (hard)", title="final-state norm ratio at each evaluation")
        loss_ax.legend(fontsize=7)
        norm_ax.legend(fontsize=7)
        paths.append(_save(fig, out / f"c4_{task}.png"))
    return paths


def reports_by_task(reports: list[dict[str, Any]]) -> defaultdict[str, list[dict[str, Any]]]:
    by_task: defaultdict[str, list[dict[str, Any]]] = defaultdict(list)
    for rep in reports:
        by_task[rep["model"]["task"]].append(rep)
    return by_task


def markdown(reports: list[dict[str, Any]], settings, elapsed: float,
             grid: dict[str, list[dict[str, Any]]] | None = None, intro: str = "",
             figures: dict[str, list[str]] | None = None, reports_dir: str | None = None) -> str:
    """The report: ``intro`` under the title, then per task its table, its ``figures`` (image paths
    relative to the report), the grid's training runs and the claims."""
    lines = ["# Reproducing the paper's stability claims with the loopzoo checkpoints", ""]
    lines += [intro.strip(), ""] if intro.strip() else []
    lines += [
             f"Analysis settings: {settings.iters} iterations, {settings.samples} items per split for accuracy, "
             f"{settings.probe_samples} probe inputs from the {settings.data} split for the fixed-point measurements, "
             f"{settings.jacobian_steps} power-iteration steps, input perturbation eps = {settings.eps:g}. "
             f"Analysis time {sum(sum(r.get('timings_s', {}).values()) for r in reports):.0f} s summed over the "
             f"checkpoints (this run: {elapsed:.0f} s; reports with the same settings and weights are reused). "
             "All numbers are "
             "measured by `loopzoo.analysis` (`loopzoo.analysis.claims`, `scripts/reproduce_paper.py`); per-checkpoint JSON reports "
             + (f"are in `{reports_dir}`." if reports_dir else "sit next to this file."), "",
             "Columns: accuracy = exact match at the last iteration; gap = best accuracy over iterations minus the "
             "last (overthinking); residual = median ||s_{T+1}-s_T||/||s_T||; rho(dF/ds) = median spectral radius "
             "of the loop Jacobian at s_T (share of probes below 1); sigma_max = median top singular value "
             "(backprop gain per iteration); sensitivity = median ||s*(e+d)-s*(e)||/||d||; fixed points = distinct "
             "final states among the probe inputs (relative tolerance "
             f"{settings.cluster_tol:g}); cycles = probes on a limit cycle of period 2..{settings.max_period}.", ""]
    if grid:
        lines += ["Checkpoints: the runs of `scripts/train_grid.py`, each variant trained with the same budget (the "
                  "flagship's recipe, the same epochs, data, augmentation and seeds); labels are `<name>.lr<rate>-seed<k>`.", ""]
    if not reports and not grid:
        lines += ["**No checkpoints were found**: the zoo (`loopzoo/zoo/*/`) is empty and no directories were "
                  "given. Train models (`loopzoo train NAME`) and pass their checkpoint directories.", ""]
        return "\n".join(lines)
    by_task = reports_by_task(reports)
    for task in sorted(set(by_task) | set(grid or {})):
        rows = sorted((row(rep) for rep in by_task[task]), key=lambda r: (r["depth"] != 1, RECALL_ORDER.get(r["recall"], 9),
                                                     NORM_ORDER.get(r["norm"], 9), r["label"]))
        lines += [f"## {task}", ""] + (table(rows, settings.iters) if rows else ["No finished checkpoints yet."])
        for path in (figures or {}).get(task, []):
            lines += ["", f"![{task}: {Path(path).stem.replace('_', ' ')}]({path})"]
        best_rows = rows_at_best(grid[task], rows) if grid and task in grid else []
        if grid and task in grid:
            lines += ["", "### Training runs", ""] + grid_table(grid[task])
        if best_rows:
            lines += ["", "### Each run at its end and at its best checkpoint by the probe", "",
                      "Exact match at each evaluation's last iteration count, from the runs' evaluation records (the end: "
                      "the last evaluation; the best checkpoint by the probe: below).", ""] + checkpoints_table(grid[task])
        lines += ["", "### Claims", ""]
        at_end, at_best = claims(task, rows), []
        if grid and task in grid:
            # C1-C3 compare variants at the same budget and rate: the recipe's, the grid's lowest (the C4 runs add a high one)
            rates = [r["lr"] for r in rows + best_rows if r["lr"] is not None]
            recipe_lr = min(rates, default=None)
            lines += [f"C1-C3 use the runs at the recipe's learning rate ({recipe_lr:g}); C4 uses the training runs above.", ""] \
                if recipe_lr is not None else []
            at_end = claims(task, [r for r in rows if r["lr"] in (None, recipe_lr)])
            at_best = claims(task, [r for r in best_rows if r["lr"] in (None, recipe_lr)]) if best_rows else []
            lines += annotated(at_end, at_end, at_best) + [claim_c4(grid[task]), ""]
        else:
            lines += [c.text for c in at_end] + [""]
        lines += baseline(rows)
        if best_rows:
            counts = ", ".join(str(i) for i in sorted({r["iters"] for r in best_rows if r["iters"] is not None}))
            items = ", ".join(str(n) for n in sorted({r["n_hard"] for r in best_rows if r["n_hard"] is not None}))
            probes = ", ".join(str(n) for n in sorted({r["n_probe"] for r in best_rows if r["n_probe"] is not None}))
            lines += ["### Claims at the best checkpoint by the probe", "",
                      f"The same rules on each finished run at its best checkpoint by the held-out probe ({probes} hard inputs "
                      f"that are not the test split): its evaluation with the best probe exact match at the last evaluated "
                      f"iteration count ({counts}), the later one on a tie. A grid run keeps only its final weights, so these "
                      f"rows come from each run's evaluation records: val and hard exact match at {counts} iterations on {items} "
                      f"items (the claims above: the analysis of the final weights, on {settings.samples}), and the parts of "
                      "C2 and C3 that need fixed points are not testable. C4 reads the training losses, the same under both "
                      "rules. A claim whose verdict differs between the two rules says so, here and above.", ""]
            lines += annotated(at_best, at_end, at_best) + [""]
            lines += baseline(best_rows, at=" at the best checkpoints by the probe")
        errors = [(rep.get("label"), split, c["error"]) for rep in reports if rep["model"]["task"] == task
                  for split, c in rep["curves"].items() if "error" in c]
        for label, split, err in errors:
            lines.append(f"- note: {label}: {split} split unavailable: {err}")
        lines.append("")
    return "\n".join(lines)


def task_plots(reports: list[dict[str, Any]], grid: dict[str, list[dict[str, Any]]] | None, out: Path) -> dict[str, list[Path]]:
    """Per task: hard accuracy against iterations, the C4 runs (grid only) and the spectral radius per checkpoint."""
    from loopzoo.analysis.plots import plot_spectral_by_config

    by_task = reports_by_task(reports)
    plots = {}
    for task in sorted(set(by_task) | set(grid or {})):
        plots[task] = plot_task(task, by_task[task], (grid or {}).get(task, []), out)
        rows = [row(rep) for rep in by_task[task]]
        if rows:
            plots[task].append(plot_spectral_by_config(
                [{"name": r["label"], "rho_median": r["rho"], "rho_wx": r["rho_wx"]} for r in rows],
                out / f"spectral_radius_{task}.png", title=f"{task}: spectral radius per config"))
    return plots


def write_doc(doc: Path, intro_file: str | None, command: str, reports: list[dict[str, Any]], settings, elapsed: float,
              grid: dict[str, list[dict[str, Any]]] | None, plots: dict[str, list[Path]], out: Path) -> None:
    """The report as a page of the docs: ``intro_file``'s text under a line saying how it was made (by
    ``command``), the task plots copied to ``img/<page name>/`` beside it (two reports' plots share file names)."""
    images = doc.parent / "img" / doc.stem
    figures = {}
    for task, paths in plots.items():
        images.mkdir(parents=True, exist_ok=True)
        figures[task] = []
        for path in paths:
            shutil.copyfile(path, images / path.name)
            figures[task].append(f"img/{doc.stem}/{path.name}")
    intro = Path(intro_file).read_text() if intro_file else ""
    made = (f"Generated on {time.strftime('%Y-%m-%d')} by `{command}` "
            f"({len(reports)} checkpoint{'' if len(reports) == 1 else 's'}).")
    doc.parent.mkdir(parents=True, exist_ok=True)
    doc.write_text(markdown(reports, settings, elapsed, grid, intro=f"{made}\n\n{intro}", figures=figures,
                            reports_dir=str(out)) + "\n")
    print(f"wrote {doc}")




def reproduce(dirs: list[Path], settings, out: Path, *, grid_tasks: list[str] | None = None, fresh: bool = False,
              plots: bool = False, doc: Path | None = None, intro_file: str | None = None, command: str = "") -> list[dict[str, Any]]:
    """Analyze the checkpoints ``dirs`` (reusing reports in ``out``), with the training runs of the grid of
    ``grid_tasks``; write ``out/REPORT.md`` (with ``plots``, its PNGs beside it) and, with ``doc``, the
    report as a docs page made by ``command``. The per-checkpoint reports."""
    grid = {task: grid_runs(task) for task in grid_tasks} if grid_tasks else None
    t0 = time.perf_counter()
    reports = analyze_all(dirs, settings, out, fresh, plots)
    elapsed = time.perf_counter() - t0
    drawn = task_plots(reports, grid, out) if plots and (reports or grid) else {}
    (out / "REPORT.md").write_text(markdown(reports, settings, elapsed, grid, figures={
        task: [path.name for path in paths] for task, paths in drawn.items()}) + "\n")
    if doc is not None:
        write_doc(Path(doc), intro_file, command, reports, settings, elapsed, grid, drawn, out)
    return reports
