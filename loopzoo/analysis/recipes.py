"""Recipe comparisons at an equal budget (issue 36, item 2; ``scripts/compare_recipes.py``).

Each arm is a tagged timed run (``runs/NAME.TAG``, a recipe of :data:`loopzoo.train.zoo.TAGGED_RECIPES`)
trained for the same minutes on one core of its own. :func:`score` measures an arm's best model on
held-out samples drawn with another seed than the runs' own evaluations (those chose the best
model, so they would flatter it), and reads its learning curve from the run's eval records;
:func:`changes` says in words what an arm's recipe changes against the first arm's; :func:`table`
renders the comparison.
"""
from __future__ import annotations

from typing import Any

from ..runs import RunDir
from .curves import training_minutes

# What each task's arms are scored on (label -> load_split keywords besides the split's size): seed 1
# draws samples apart from the runs' own val and probe (seed 0), which chose each run's best model.
SPLITS: dict[str, dict[str, dict[str, Any]]] = {
    "sudoku": {
        "public val": dict(split="val", source="public", seed=1),
        "public hard": dict(split="test", source="public", seed=1),
        "generated hard": dict(split="test"),
    },
    # the Lichess split depends on its seed (its members, not only their order): seed 0's test split,
    # of which the runs' probe (the tie-break after val) saw the first 500
    "chess": {
        "Lichess test": dict(split="test", source="lichess"),
        "generated hard": dict(split="test"),
    },
}
# Training options a comparison does not call a change of recipe (bookkeeping, or the same for every arm).
BOOKKEEPING = {"checkpoint_every", "log_every", "eval_every", "max_steps"}


# Model options a comparison names where arms differ (the rest follow from the name).
MODEL_KEYS = ("name", "width", "heads", "depth")


def changes(base: dict[str, Any], arm: dict[str, Any], base_model: dict[str, Any] | None = None,
            arm_model: dict[str, Any] | None = None) -> str:
    """What ``arm``'s training options (a train.json ``train`` dict) and, where given, its model (a
    train.json ``model`` dict: :data:`MODEL_KEYS`) change against ``base``'s, in words."""
    base_model, arm_model = base_model or {}, arm_model or {}
    model = [f"{k} {base_model.get(k)!r} -> {arm_model.get(k)!r}" for k in MODEL_KEYS
             if base_model.get(k) != arm_model.get(k)]
    keys = sorted(k for k in set(base) | set(arm) if k not in BOOKKEEPING and base.get(k) != arm.get(k))
    return ", ".join(model + [f"{k} {base.get(k)!r} -> {arm.get(k)!r}" for k in keys]) or "(base)"


def curve(run: RunDir, iters: int) -> list[dict[str, Any]]:
    """The run's learning curve: per evaluation, training minutes, steps and exact match on its val,
    its test and its probe (where it has one), at ``iters`` where the run evaluated that count, else at
    the largest count it evaluated (``at``: the count read)."""
    points = []
    for record in run.evaluations(timed=True):
        counts = sorted(int(i) for i in record["val"]["at"])
        at = str(iters) if iters in counts else str(counts[-1])
        point = {"minutes": round(training_minutes(record), 2), "step": record["step"], "at": int(at)}
        for split in ("val", "test", "probe"):
            if split in record and at in record[split]["at"]:
                point[split] = record[split]["at"][at]
        points.append(point)
    return points


def score(run: RunDir, iters: int, samples: int, splits: dict[str, dict[str, Any]] | None = None,
          progress: bool = False) -> dict[str, Any]:
    """One arm: its best model's exact match at ``iters`` on each of ``splits`` (``samples`` items each;
    default: :data:`SPLITS` of its task), its parameters, steps and training minutes, and its curve.
    A model of several untied layers is read after its one pass, as it was trained (``iters`` is a
    looped model's)."""
    import loopzoo
    from ..errors import CheckpointError

    model_dir = run.model_dir()
    if model_dir is None:
        raise CheckpointError(f"{run.path} has no best model yet: train the arm first "
                              f"(scripts/train_zoo.py {run.name} --tag {run.tag} --minutes M --no-bundle)")
    evals = run.evaluations(timed=True)
    last = evals[-1] if evals else {}
    saved = run.saved()
    result = {"ref": run.ref, "train": saved["train"], "model": saved["model"], "steps": last.get("step"),
              "minutes": round(training_minutes(last), 2) if last else None, "best_step": _best_step(model_dir),
              **_scores(loopzoo.load(model_dir), iters, samples, splits, progress)}
    result["curve"] = curve(run, result["iters"])
    return result


def score_reference(name: str, iters: int, samples: int, splits: dict[str, dict[str, Any]] | None = None,
                    progress: bool = False) -> dict[str, Any]:
    """A model the arms are measured against (e.g. the bundled flagship they started from), scored as
    :func:`score` scores an arm: ``name`` is anything :func:`loopzoo.load` takes."""
    import loopzoo

    model = loopzoo.load(name)
    return {"ref": name, "model": model.config.to_dict(), **_scores(model, iters, samples, splits, progress)}


def _scores(model, iters: int, samples: int, splits: dict[str, dict[str, Any]] | None, progress: bool) -> dict[str, Any]:
    """Parameters, the iterations read and exact match on each split (a model of untied layers: after
    its one pass, as it was trained)."""
    from ..data import load_split
    from ..evaluate import accuracy_curve

    task = model.config.task
    iters = iters if model.config.depth == 1 else model.config.iters
    splits = SPLITS[task] if splits is None else splits
    scores = {label: round(accuracy_curve(model, load_split(task, n=samples, **keywords), iters,
                                          progress=progress).at(iters), 4) for label, keywords in splits.items()}
    return {"parameters": sum(p.numel() for p in model.parameters()), "iters": iters, "samples": samples,
            "scores": scores}


def _best_step(model_dir) -> int | None:
    """The step at which the kept model was evaluated (its config.json's ``eval`` record)."""
    import json

    return json.loads((model_dir / "config.json").read_text()).get("eval", {}).get("step")


def table(results: dict[str, Any]) -> str:
    """Markdown: one row per arm (what it changes, steps, minutes, each split's exact match) and one for
    ``results["reference"]`` where there is one (:func:`score_reference`), then each arm's learning curve
    (val / probe at every evaluation)."""
    arms = results["arms"]
    labels = list(arms[0]["scores"])
    base = arms[0]
    several = any(arm.get("model") != base.get("model") for arm in arms)  # then parameters and iterations differ
    extra = " parameters | iterations read |" if several else ""
    head = (f"| run | changes against the first |{extra} steps (train min) | best at step | "
            + " | ".join(labels) + " |\n|---|---|" + "---|" * (2 * several) + "---|---|" + "---|" * len(labels) + "\n")
    rows = []
    for arm in arms:
        scores = " | ".join(f"{arm['scores'][label]:.1%}" for label in labels)
        cells = f" {arm['parameters']:,} | {arm['iters']} |" if several else ""
        rows.append(f"| `{arm['ref']}` | {changes(base['train'], arm['train'], base.get('model'), arm.get('model'))} |"
                    f"{cells} {arm['steps']:,} ({arm['minutes']:.1f}) | "
                    f"{arm['best_step'] if arm['best_step'] is not None else '-'} | {scores} |")
    reference = results.get("reference")
    if reference is not None:
        scores = " | ".join(f"{reference['scores'][label]:.1%}" for label in labels)
        cells = f" {reference['parameters']:,} | {reference['iters']} |" if several else ""
        rows.append(f"| `{reference['ref']}` | the reference, not trained here |{cells} - | - | {scores} |")
    iters, samples = arms[0]["iters"], arms[0]["samples"]
    read = sorted({p.get("at", iters) for arm in arms for p in arm["curve"]})
    curves = ["", f"Learning curves (the runs' own evaluations, {', '.join(map(str, read))} iterations: val / probe, "
              "minutes of training, steps):", ""]
    for arm in arms:
        points = "; ".join(f"{p['minutes']:.0f} min, {p['step']:,}: {p.get('val', float('nan')):.1%} / "
                           f"{p.get('probe', float('nan')):.1%}" for p in arm["curve"])
        curves.append(f"- `{arm['ref']}`: {points}")
    at = "each arm's iterations read" if several else f"{iters} iterations"
    note = (f"\n\nExact match at {at} on {samples:,} items of each split (seed 1 samples; the "
            "runs chose their best model on seed 0 samples).")
    return head + "\n".join(rows) + note + "\n" + "\n".join(curves)
