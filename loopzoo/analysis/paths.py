"""Path independence (does the final state depend on where the loop starts?) and limit cycles."""
from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

import torch

from .budget import spans
from .jacobian import StepFn, sample_norm, unit


def default_starts(e: torch.Tensor, generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
    """Start states: the embedding (the paper's ``s_0 = e``), zeros, and Gaussian noise with the
    embedding's norm per sample."""
    noise = unit(torch.randn(e.shape, generator=generator, dtype=e.dtype).to(e.device))
    noise = noise * sample_norm(e).view(-1, *([1] * (e.dim() - 1)))
    return {"embedding": e, "zeros": torch.zeros_like(e), "noise": noise}


@torch.no_grad()
def path_independence(F: StepFn, e: torch.Tensor, iters: int, *,
                      starts: dict[str, torch.Tensor] | None = None,
                      readout: Callable[[torch.Tensor], torch.Tensor] | None = None,
                      reference: tuple[str, torch.Tensor, torch.Tensor] | None = None,
                      same_tol: float = 1e-3, generator: torch.Generator | None = None,
                      chunk: int | None = None) -> dict[str, dict[str, float]]:
    """Run ``iters`` iterations from each start; compare with the first start's final state.

    Per start: ``distance`` = median (and ``distance_max``) over samples of
    ``||s_T - s_T^ref|| / ||s_T^ref||``, ``same_state`` = the share with distance ``<= same_tol``,
    ``final_residual`` (median), and with ``readout`` the share of samples whose answer (argmax
    at every position) equals the reference run's (``same_answer``). ``reference = (name, s_T,
    residual [B])`` supplies an already computed run; it is then the reference and its start is
    skipped in ``starts``. ``chunk`` samples run at a time.
    """
    starts = default_starts(e, generator) if starts is None else dict(starts)
    names = ([reference[0]] if reference is not None else []) + [n for n in starts if reference is None
                                                                 or n != reference[0]]
    rows: dict[str, dict[str, list[torch.Tensor]]] = {n: {"dist": [], "res": [], "same": []} for n in names}
    for part in spans(e.shape[0], chunk):
        e_c = e[part]
        finals: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
        if reference is not None:
            finals[reference[0]] = (reference[1][part], reference[2][part])
        for name in names[len(finals):]:
            s = starts[name][part]
            for _ in range(iters - 1):
                s = F(s, e_c)
            nxt = F(s, e_c)
            finals[name] = (nxt, sample_norm(nxt - s) / sample_norm(s).clamp_min(1e-30))
        ref, _ = finals[names[0]]
        ref_pred = readout(ref).argmax(-1) if readout is not None else None
        for name, (s, res) in finals.items():
            rows[name]["dist"].append(sample_norm(s - ref) / sample_norm(ref).clamp_min(1e-30))
            rows[name]["res"].append(res)
            if readout is not None:
                rows[name]["same"].append((readout(s).argmax(-1) == ref_pred).flatten(1).all(1))
    out: dict[str, dict[str, float]] = {}
    for name, r in rows.items():
        dist, res = torch.cat(r["dist"]), torch.cat(r["res"])
        row = {"distance": float(dist.median()), "distance_max": float(dist.max()),
               "same_state": float((dist <= same_tol).double().mean()), "final_residual": float(res.median())}
        if readout is not None:
            row["same_answer"] = float(torch.cat(r["same"]).double().mean())
        out[name] = row
    return out


@torch.no_grad()
def detect_cycles(F: StepFn, s0: torch.Tensor, e: torch.Tensor, iters: int, *, max_period: int = 8,
                  tol: float = 1e-3, chunk: int | None = None) -> dict[str, Any]:
    """Per sample, the smallest period ``p <= max_period`` with ``s_T ~ s_{T-p}`` and
    ``s_{T-1} ~ s_{T-1-p}`` (relative distance below ``tol``), after ``iters`` iterations.

    ``period[b] = 1``: a fixed point; ``>= 2``: a limit cycle (the residual does not vanish but
    the orbit repeats); ``0``: none found (still moving, slow or chaotic). Needs
    ``iters >= max_period + 2``. ``chunk`` samples run at a time.
    """
    if iters < max_period + 2:
        raise ValueError(f"detect_cycles needs iters >= max_period + 2 = {max_period + 2}, got {iters}")
    B = s0.shape[0]
    gaps = torch.empty(B, max_period, dtype=torch.float64)
    for part in spans(B, chunk):
        e_c = e[part]
        tail: deque[torch.Tensor] = deque(maxlen=max_period + 2)
        s = s0[part]
        for _ in range(iters):
            s = F(s, e_c)
            tail.append(s)
        states = list(tail)  # states[-1] = s_T
        for p in range(1, max_period + 1):
            d1 = sample_norm(states[-1] - states[-1 - p]) / sample_norm(states[-1]).clamp_min(1e-30)
            d2 = sample_norm(states[-2] - states[-2 - p]) / sample_norm(states[-2]).clamp_min(1e-30)
            gaps[part, p - 1] = torch.maximum(d1, d2).double().cpu()
        del tail, states
    period = torch.zeros(B, dtype=torch.long)
    for p in range(1, max_period + 1):
        period = torch.where((period == 0) & (gaps[:, p - 1] <= tol), torch.full_like(period, p), period)
    counts = {str(int(p)): int((period == p).sum()) for p in period.unique()}
    return {"period": period, "gaps": gaps, "counts": counts,
            "fixed_points": int((period == 1).sum()), "cycles": int((period >= 2).sum()),
            "unresolved": int((period == 0).sum())}
