"""Model cards: a README.md with Hub front matter, rendered from ``loopzoo/templates/model_card.md``
(package data, so an installed wheel renders cards too).

Every number in a card comes from the checkpoint's ``config.json`` (written by the evaluation
in ``scripts/train_zoo.py``); nothing is typed by hand.
"""
from __future__ import annotations

import json
from pathlib import Path
from string import Template
from typing import Any

TEMPLATE = Path(__file__).resolve().parent / "templates" / "model_card.md"
POINTS = (1, 10, 30, 100, 300, 500)
TASK_TYPES = {"prefix-sums": "prefix sums (running parity of a bit string)", "sudoku": "sudoku", "chess": "chess puzzles (best move)"}


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


def accuracy_table(evals: dict[str, Any], points: tuple[int, ...], partial_name: str) -> str:
    """Markdown table: exact match per split (and the share of positions right), one column per
    iteration count."""
    head = "| split | metric | samples | " + " | ".join(str(p) for p in points) + " |"
    rows = [head, "|" + "---|" * (len(points) + 3)]
    for key, metric in (("at", "exact match"), ("partial_at", partial_name)):
        for ev in evals.values():
            if key in ev:
                cells = " | ".join(_pct(ev[key].get(str(p))) for p in points)
                rows.append(f"| {ev['label']} | {metric} | {ev['samples']} | {cells} |")
    return "\n".join(rows)


def front_matter(name: str, meta: dict[str, Any]) -> str:
    model = meta["model"]
    hard = meta["eval"]["test"]
    iters = model["iters"]
    lines = [
        "library_name: loopzoo",
        "license: mit",
        "tags:",
        *[f"- {t}" for t in ("looped-transformer", "loopzoo", model["task"], model["recall"], model["norm"])],
        "datasets:",
        f"- loopzoo/{model['task']}-{meta.get('data', {}).get('name', 'generated')}",
        "model-index:",
        f"- name: {name}",
        "  results:",
        "  - task:",
        "      type: exact-match",
        f"      name: {TASK_TYPES.get(model['task'], model['task'])}",
        "    dataset:",
        f"      name: {hard['label']}",
        f"      type: loopzoo/{model['task']}",
        "      split: test",
        "    metrics:",
        "    - type: accuracy",
        f"      name: exact match at {iters} iterations",
        f"      value: {round(100 * hard['at'][str(iters)], 2) if str(iters) in hard['at'] else round(100 * hard['final'], 2)}",
    ]
    for record in meta.get("benchmarks", {}).values():  # the public benchmarks (loopzoo.benchmarks), where measured
        lines += [
            "  - task:",
            f"      type: {record['metric'].replace(' ', '-')}",
            f"      name: {TASK_TYPES.get(model['task'], model['task'])}",
            "    dataset:",
            f"      name: {record['label']}",
            f"      type: loopzoo/{record['task']}-{record['source']}",
            f"      split: {record['split']}",
            "    metrics:",
            "    - type: accuracy",
            f"      name: {record['metric']} at {record['iters']} iterations{_breadth_words(record)}",
            f"      value: {round(100 * record['overall']['accuracy'], 2)}",
        ]
    return "\n".join(lines)


def schedule(meta: dict) -> str:
    """The learning-rate schedule of a run, in words: the paper's by epoch, or a timed run's."""
    train = meta.get("train", {})
    warmup, factor = train.get("warmup_epochs"), train.get("decay_factor")
    steps = f" and {train['warmup_steps']:,} steps" if train.get("warmup_steps") else ""
    if train.get("decay_epoch", 60) is not None:
        return (f"{train.get('epochs')} epochs, warmup {warmup} epochs{steps}, x{factor} at epoch {train.get('decay_epoch')}")
    from .train.recipe import decay_stages

    stages = enumerate(decay_stages(meta), start=1)
    tail = ", ".join(f"x{factor ** stage:g} from step {step:,} on" for stage, step in stages) or "no decay yet"
    return f"timed run: warmup {warmup} epoch(s){steps}, then constant; {tail}"


def augmentation(task: str, train: dict) -> str:
    from .registry import augmentations

    if not train.get("augment", False) or task not in augmentations.names():
        return "no augmentation"
    return "random validity-preserving symmetries of every example at every step"


def checked_line(ev: dict) -> str:
    """What share of the answers at the recommended iterations pass the task's own check."""
    parts = []
    for key in ("val", "test"):
        verified = ev[key].get("verified")
        if verified:
            kept = f", every given kept in {_pct(ev[key]['givens_kept'])}" if "givens_kept" in ev[key] else ""
            parts.append(f"{ev[key]['label']}: {_pct(verified['valid'])} pass, {_pct(verified['invalid'])} fail, "
                         f"{_pct(verified['unknown'])} cannot be checked{kept}")
    if not parts:
        return "Answers checked by the task's verifier: not measured for this checkpoint."
    return "Answers at the recommended iterations checked by the task's verifier (`Task.verify`): " + "; ".join(parts) + "."


def _breadth(record: dict[str, Any]) -> int:
    return record.get("breadth", 1)  # records from before breadth was an option: fixed depth


def _breadth_words(record: dict[str, Any]) -> str:
    return f", breadth {record['breadth']} (halt {record['halt']})" if _breadth(record) > 1 else ""


def _checks(record: dict[str, Any]) -> list[str]:
    """The card's lines on a record's answers: the verifier's shares, givens and cells (sudoku), mates (chess)."""
    lines = []
    if "verified" in record:
        v = record["verified"]
        kept = f"; every given kept in {_pct(record['givens_kept'])}" if "givens_kept" in record else ""
        cells = f"; cells right {_pct(record['cells_right'])}" if "cells_right" in record else ""
        lines.append(f"- Answers checked by the task's verifier (`Task.verify`): {_pct(v['valid'])} pass, "
                     f"{_pct(v['invalid'])} fail, {_pct(v['unknown'])} cannot be checked{kept}{cells}.")
    if "alternate_mates" in record:
        k = record["alternate_mates"]
        lines.append(f"- {'None' if k == 0 else f'{k:,}'} right only as a different mating move than the puzzle's.")
    return lines


def _fixed_depth_lines(record: dict[str, Any]) -> list[str]:
    """A fixed-depth record: its table (overall, then each group) and how it was measured."""
    c = record["overall"]
    evaluations = f" ({record['evaluations']:,.1f} block evaluations per puzzle)" if "evaluations" in record else ""
    parts = ["", f"| set | samples | {record['metric']} |", "|---|---|---|",
             f"| {record['label']} | {c['n']:,} | **{_pct(c['accuracy'])}** |"]
    parts += [f"| {record['group_by']}: {group} | {g['n']:,} | {_pct(g['accuracy'])} |"
              for group in record.get("group_order", record["groups"]) for g in (record["groups"][group],)]
    parts += ["", f"- At {record['iters']} iterations{evaluations}; measured on {record['date']} in {record['seconds']} s "
                  f"(loopzoo {record['loopzoo']}); source `{record['source']}`, split `{record['split']}`, "
                  f"seed {record['seed']}, data sha256 `{record['data_sha256']}`."]
    return parts + _checks(record)


def _breadth_lines(records: list[dict[str, Any]]) -> list[str]:
    """One benchmark's fixed-depth and breadth records side by side: a row each (trajectories ``K``,
    halting, cap, accuracy overall and per group, block evaluations per puzzle), then how each
    breadth record was measured."""
    first = records[0]
    groups = list(first.get("group_order", first["groups"]))
    parts = ["", f"With breadth on {first['label']}: `solve(..., breadth=K, halt=\"valid\")` runs `K` trajectories "
                 "per puzzle (from `e` and from perturbed starts), all stopping at the first answer that verifies; "
                 "the iterations are each trajectory's cap.", "",
             f"| trajectories `K` | halt | iterations | samples | {first['metric']} | "
             + "".join(f"{first['group_by']}: {g} | " for g in groups) + "block evaluations / puzzle |",
             "|" + "---|" * (len(groups) + 6)]
    for r in records:
        cells = "".join(f"{_pct(r['groups'][g]['accuracy']) if g in r['groups'] else '–'} | " for g in groups)
        evaluations = f"{r['evaluations']:,.1f}" if "evaluations" in r else "–"
        parts.append(f"| {_breadth(r)} | {r.get('halt') or '–'} | {r['iters']} | {r['overall']['n']:,} "
                     f"| **{_pct(r['overall']['accuracy'])}** | {cells}{evaluations} |")
    for r in records:
        if _breadth(r) > 1:
            parts += ["", f"- `K = {r['breadth']}`: noise {r['noise']}, seed {r['solve_seed']}; measured on {r['date']} in "
                          f"{r['seconds']} s (loopzoo {r['loopzoo']}), data sha256 `{r['data_sha256']}`."]
            parts += ["  " + line for line in _checks(r)]
    return parts


def benchmarks_section(name: str, meta: dict[str, Any]) -> str:
    """The card's "Public benchmarks" section, from ``meta["benchmarks"]`` (:mod:`loopzoo.benchmarks`),
    led by a blank line; empty where none was measured, so that such cards stay as they were. Per
    benchmark: its fixed-depth record's table, then, where breadth was measured, a table of the
    fixed-depth and breadth records side by side."""
    records = meta.get("benchmarks") or {}
    if not records:
        return ""
    by_label: dict[str, list[dict[str, Any]]] = {}
    for record in records.values():
        by_label.setdefault(record["label"], []).append(record)
    wide = any(_breadth(r) > 1 for r in records.values())
    parts = ["", "", "## Public benchmarks", "",
             "Public data that the field compares on (beside the bundled splits above), measured by",
             f"`python scripts/train_zoo.py {name} --benchmarks` (`loopzoo.bundle.measure_benchmarks`)"
             + ("; the breadth rows by adding `--breadth K`." if wide else ".")]
    for group in by_label.values():
        fixed = [r for r in group if _breadth(r) == 1]
        broad = sorted((r for r in group if _breadth(r) > 1), key=_breadth)
        for record in fixed:
            parts += _fixed_depth_lines(record)
        if broad:
            parts += _breadth_lines(fixed + broad)
    return "\n".join(parts)


def benchmark_cell(meta: dict[str, Any]) -> str:
    """The zoo tables' public-benchmark cell: each fixed-depth record's headline (breadth records are
    on the card only), or an em dash where none was measured."""
    records = [r for r in (meta.get("benchmarks") or {}).values() if _breadth(r) == 1]
    return "; ".join(f"{_pct(r['overall']['accuracy'])} of {r['samples']:,} ({r['short']})" for r in records) or "—"


DEFAULT_LABELS = {"val": "val", "test": "hard (test split)"}


def card_meta(meta: dict[str, Any]) -> dict[str, Any]:
    """``meta`` with an ``eval`` section a card can show.

    A zoo checkpoint has ``eval`` (``scripts/train_zoo.py``). A ``loopzoo train`` run has only its
    trainer's ``final_eval``: its splits are labelled, and the card's iterations become the most
    the trainer measured (with a note saying so) when the config's own were not measured.
    """
    if "eval" in meta or "final_eval" not in meta:
        return meta
    final = meta["final_eval"]
    ev: dict[str, Any] = {k: {"label": DEFAULT_LABELS[k], **final[k]} for k in ("val", "test") if k in final}
    if "rho_wx" in final:
        ev["rho_wx"] = final["rho_wx"]
    model, note = dict(meta["model"]), meta.get("iters_note", "")
    measured = sorted(int(i) for i in ev.get("test", {}).get("at", {}))
    if measured and str(model["iters"]) not in ev["test"]["at"]:
        model["iters"], note = measured[-1], "the most iterations the trainer's final evaluation measured; not tuned"
    return {**meta, "model": model, "eval": ev, "iters_note": note,
            "measured_by": "the trainer's final evaluation (`loopzoo train`)"}


def render(directory: str | Path) -> str:
    """The card text for the checkpoint in ``directory`` (its config.json holds ``eval`` or a
    trainer's ``final_eval``)."""
    meta = card_meta(json.loads((Path(directory) / "config.json").read_text()))
    if "eval" not in meta:
        from .errors import CheckpointError

        raise CheckpointError(f"{directory}: config.json records no evaluation ('eval' or a trainer's 'final_eval'); "
                              "a card shows measured accuracy, so evaluate the checkpoint first (loopzoo train, "
                              "scripts/train_zoo.py)")
    model, train, ev = meta["model"], meta.get("train", {}), meta["eval"]
    # a tagged bundle (``loopzoo/zoo/NAME.TAG``) records the ref it loads by; others load by the model's name
    name = meta.get("ref") or model.get("name") or Path(directory).name
    iters = model["iters"]
    points = tuple(sorted(set(POINTS) | {iters}))
    hard = ev["test"]
    from .model import build
    from .config import ModelConfig

    built = build(ModelConfig.from_dict(model))
    example = built.task.example
    values = dict(
        front_matter=front_matter(name, meta), name=name, recall=model["recall"], norm=model["norm"], task=model["task"],
        measured_by=meta.get("measured_by", "`scripts/train_zoo.py` on the bundled data after training"),
        scale_note=meta.get("scale_note", ""), example_repr=repr(example), iters=iters,
        iters_note=meta.get("iters_note", ""), table=accuracy_table({k: ev[k] for k in ("val", "test")}, points, built.task.partial_name),
        best_hard=_pct(hard["best"]), best_iter_hard=hard["best_iter"], final_hard=_pct(hard["final"]),
        overthinking_hard=_pct(hard["overthinking"]),
        checked=checked_line(ev),
        extra_metrics=f"rho(Wx) = {meta['eval'].get('rho_wx'):.3f}" if meta["eval"].get("rho_wx") is not None
        else "no recall matrix (no-recall model)",
        width=model["width"], heads=model["heads"], mlp_ratio=model["mlp_ratio"], depth=model["depth"],
        cell=model.get("cell") or built.task.cell, parameters=f"{built.num_parameters():,}",
        max_iters=train.get("max_iters", "?"), max_iters_minus_1=train.get("max_iters", 1) - 1, lr=train.get("lr"),
        weight_decay=train.get("weight_decay"), batch_size=train.get("batch_size"), schedule=schedule(meta),
        augmentation=augmentation(built.task.name, train), clip=train.get("clip"), steps=meta.get("steps", "?"),
        train_data=meta.get("data", {}).get("description", "?"), data_hash=meta.get("data", {}).get("sha256", "?"),
        hardware=meta.get("hardware", "?"), wall_time=meta.get("wall_time", "?"), version=meta.get("loopzoo_version"),
        weights_sha256=meta.get("weights_sha256"), benchmarks=benchmarks_section(name, meta),
    )
    return Template(TEMPLATE.read_text()).substitute(values)


def write(directory: str | Path) -> Path:
    """Render the card of ``directory`` into its ``README.md``; returns that path."""
    path = Path(directory) / "README.md"
    path.write_text(render(directory))
    return path


# The zoo's tables in README.md and docs/zoo.md (``zoo-flagships``, ``zoo-all`` in loopzoo.docs_tables), generated
# from the bundled checkpoints' config.json by ``python scripts/zoo_table.py --write``.


def _bundled_meta() -> dict[str, dict[str, Any]]:
    from .hub import bundled

    return {name: json.loads((d / "config.json").read_text()) for name, d in bundled().items()}


def zoo_table(kind: str = "all") -> str:
    """Markdown table of the bundled checkpoints: ``"all"`` (every figure of each card) or
    ``"flagships"`` (each task's flagship, its headline accuracy at its recommended iterations)."""
    from . import create
    from .config import ModelConfig

    rows = []
    if kind == "all":
        rows += ["| name | width | steps | train time | recommended iters | val exact | hard exact | hard exact @ 30 "
                 "| hard partial (what) | hard samples | public benchmark |", "|---|---|---|---|---|---|---|---|---|---|---|"]
        for name, meta in _bundled_meta().items():
            ev, iters = meta["eval"], meta["model"]["iters"]
            hard = ev["test"]["at"]
            partial = ev["test"].get("partial_at", {}).get(str(iters))
            what = create(name, width=8, heads=2).task.partial_name if partial is not None else ""
            rows.append(f"| `{name}` | {meta['model']['width']} | {meta['steps']} | {meta['wall_time']} | {iters} "
                        f"| {ev['val']['at'][str(iters)]:.1%} | {hard[str(iters)]:.1%} | {hard['30']:.1%} "
                        f"| {'–' if partial is None else f'{partial:.1%} ({what})'} | {ev['test']['samples']} "
                        f"| {benchmark_cell(meta)} |")
    elif kind == "flagships":
        rows += ["| flagship | width | parameters | iterations | val exact | hard exact | hard split | public benchmark "
                 "| trained |", "|---|---|---|---|---|---|---|---|---|"]
        for name, meta in _bundled_meta().items():
            if not name.endswith("-internal-recall-outernorm"):
                continue
            model, ev = meta["model"], meta["eval"]
            iters = str(model["iters"])
            params = create(ModelConfig.from_dict(model)).num_parameters()
            label = ev["test"]["label"]
            split = label[len("hard ("):-1] if label.startswith("hard (") and label.endswith(")") else label
            rows.append(f"| `{name}` | {model['width']} | {params:,} | {iters} "
                        f"| {ev['val']['at'][iters]:.1%} of {ev['val']['samples']} "
                        f"| {ev['test']['at'][iters]:.1%} of {ev['test']['samples']} | {split} | {benchmark_cell(meta)} "
                        f"| {meta['steps']:,} steps, {meta['wall_time'].split(' (')[0]} on a CPU |")
    else:
        raise ValueError(f"kind must be 'all' or 'flagships', not {kind!r}")
    return "\n".join(rows)

