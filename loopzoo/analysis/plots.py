"""PNG plots of analysis reports (needs the ``plot`` extra: matplotlib, imported lazily, Agg)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import LoopzooError


def pyplot():
    """matplotlib.pyplot on the Agg backend; a clear error without the ``plot`` extra."""
    try:
        import matplotlib
    except ImportError:
        raise LoopzooError("plots need matplotlib: pip install 'loopzoo[plot]' (or pass --no-plots)") from None
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    import matplotlib.pyplot as plt

    plt.close(fig)
    return path


def plot_report(report: dict[str, Any], out: str | Path) -> list[Path]:
    """Write the plots of one :func:`~loopzoo.analysis.report.analyze` report into ``out``."""
    plt = pyplot()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    name = report["model"].get("name") or report["model"]["task"]
    paths = []

    fig, ax = plt.subplots(figsize=(6, 4))
    for split, curve in report.get("curves", {}).items():
        if "accuracy" in curve:
            ax.plot(range(1, len(curve["accuracy"]) + 1), curve["accuracy"], label=split)
    ax.set(xlabel="iterations", ylabel="exact-match accuracy", title=f"{name}: accuracy", ylim=(-0.02, 1.02))
    ax.set_xscale("log")
    ax.legend()
    paths.append(_save(fig, out / "accuracy.png"))

    tr = report["trace"]
    fig, ax = plt.subplots(figsize=(6, 4))
    t = range(1, len(tr["residual_median"]) + 1)
    ax.plot(t, tr["residual_median"], label="median")
    ax.plot(t, tr["residual_mean"], label="mean", alpha=0.7)
    ax.set(xlabel="iterations", ylabel="||s_{t+1} - s_t|| / ||s_t||", title=f"{name}: residual ({tr['split']})")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.legend()
    paths.append(_save(fig, out / "residual.png"))

    rho = report["reachability"]["spectral_radius"]["per_sample"]
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.hist(rho, bins=20)
    ax.axvline(1.0, color="k", ls="--", lw=1)
    ax.set(xlabel="spectral radius of dF/ds at s_T", ylabel="samples", title=f"{name}: reachability")
    paths.append(_save(fig, out / "spectral_radius.png"))

    scaling = report.get("scaling")
    if scaling and "bands" in scaling:
        paths.append(plot_scaling(scaling, out / "scaling.png", title=f"{name}: difficulty x iterations"))
    return paths


def plot_scaling(scaling: dict[str, Any], path: str | Path, title: str = "") -> Path:
    """Heat map of accuracy over difficulty (rows) x iterations (columns, log scale)."""
    import numpy as np

    plt = pyplot()
    acc = np.array([band["accuracy"] for band in scaling["bands"]])  # [bands, T]
    fig, ax = plt.subplots(figsize=(7, 3 + 0.3 * len(acc)))
    T = acc.shape[1]
    mesh = ax.pcolormesh(np.arange(1, T + 2) - 0.5, np.arange(len(acc) + 1), acc, vmin=0, vmax=1, cmap="viridis")
    ax.set_xscale("log")
    ax.set_yticks(np.arange(len(acc)) + 0.5, [band["label"] for band in scaling["bands"]])
    ax.set(xlabel="iterations", title=title)
    fig.colorbar(mesh, ax=ax, label="accuracy")
    return _save(fig, Path(path))


def plot_spectral_by_config(rows: list[dict[str, Any]], path: str | Path, title: str = "") -> Path:
    """Bar chart of the median spectral radius of dF/ds (and rho(Wx)) per config.

    ``rows``: ``{"name", "rho_median", "rho_wx"}`` (``rho_wx`` may be None).
    """
    import numpy as np

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(max(5, 0.8 * len(rows) + 2), 4))
    idx = np.arange(len(rows))
    ax.bar(idx - 0.2, [r["rho_median"] for r in rows], 0.4, label="rho(dF/ds) median")
    ax.bar(idx + 0.2, [r["rho_wx"] if r["rho_wx"] is not None else 0.0 for r in rows], 0.4, label="rho(Wx)")
    ax.axhline(1.0, color="k", ls="--", lw=1)
    ax.set_xticks(idx, [r["name"] for r in rows], rotation=45, ha="right")
    ax.set(ylabel="spectral radius", title=title)
    ax.legend()
    return _save(fig, Path(path))
