"""Input-dependence of the fixed point (docs/design.md §6): how far ``s*`` moves when the input moves, and
how many distinct fixed points a batch of different inputs reaches."""
from __future__ import annotations

from collections.abc import Callable

import torch

from .budget import spans
from .jacobian import StepFn, sample_norm, unit

Start = Callable[[torch.Tensor], torch.Tensor]  # e -> s_0


def from_input(e: torch.Tensor) -> torch.Tensor:
    """The paper's start state ``s_0 = e``."""
    return e


@torch.no_grad()
def iterate(F: StepFn, s0: torch.Tensor, e: torch.Tensor, iters: int) -> torch.Tensor:
    """``s_T`` after ``iters`` iterations of ``F(., e)`` from ``s0``."""
    s = s0
    for _ in range(iters):
        s = F(s, e)
    return s


@torch.no_grad()
def input_sensitivity(F: StepFn, e: torch.Tensor, iters: int, *, eps: float = 1e-3,
                      delta: torch.Tensor | None = None, start: Start = from_input,
                      reference: torch.Tensor | None = None,
                      generator: torch.Generator | None = None, chunk: int | None = None) -> dict[str, torch.Tensor]:
    """``||s*(e + delta) - s*(e)|| / ||delta||`` per sample (``[B]``).

    ``s*`` is approximated by ``iters`` iterations from ``start(e)`` (by default ``s_0 = e``, so
    the perturbation also moves the start). ``delta`` defaults to a random direction with
    ``||delta|| = eps * ||e||`` per sample. With recall and a reachable fixed point this tends to
    ``||(I - dF/ds)^-1 dF/de delta|| / ||delta||``; without recall ``dF/de = 0`` and it is 0 inside
    a basin. ``reference`` = ``s_T`` of the unperturbed run when already computed (saves a run).
    Also returns the residual of the last step of the perturbed run (to check convergence).
    ``chunk`` samples run at a time (``delta`` is drawn for the whole batch first).
    """
    if delta is None:
        direction = unit(torch.randn(e.shape, generator=generator, dtype=e.dtype).to(e.device))
        delta = direction * (eps * sample_norm(e)).view(-1, *([1] * (e.dim() - 1)))
    sens, res = [], []
    for part in spans(e.shape[0], chunk):
        e_a, d = e[part], delta[part]
        s_a = iterate(F, start(e_a), e_a, iters) if reference is None else reference[part]
        e_b = e_a + d
        s_b = iterate(F, start(e_b), e_b, iters - 1)
        s_b_next = F(s_b, e_b)
        sens.append(sample_norm(s_b_next - s_a) / sample_norm(d).clamp_min(1e-30))
        res.append(sample_norm(s_b_next - s_b) / sample_norm(s_b).clamp_min(1e-30))
    return {"sensitivity": torch.cat(sens), "residual": torch.cat(res)}


def cluster_states(states: torch.Tensor, tol: float = 1e-2) -> tuple[int, torch.Tensor]:
    """Greedy clustering of final states ``[N, ...]``: a state joins the first cluster whose
    representative is within relative distance ``tol`` (``||s - c|| <= tol * max(||s||, ||c||)``).

    Returns ``(number of clusters, labels [N])``. Many inputs sharing few clusters is the
    no-recall collapse: fixed points that do not depend on the input.
    """
    flat = states.detach().flatten(1).double()  # [N, P]
    norms = flat.norm(dim=1)
    reps: list[int] = []
    labels = torch.empty(flat.shape[0], dtype=torch.long)
    for i in range(flat.shape[0]):
        if reps:
            r = torch.tensor(reps)
            dist = (flat[r] - flat[i]).norm(dim=1)
            ok = dist <= tol * torch.maximum(norms[r], norms[i]).clamp_min(1e-30)
            if bool(ok.any()):
                labels[i] = int(ok.nonzero()[0])
                continue
        labels[i] = len(reps)
        reps.append(i)
    return len(reps), labels


@torch.no_grad()
def distinct_fixed_points(F: StepFn, e: torch.Tensor, iters: int, *, tol: float = 1e-2,
                          start: Start = from_input) -> dict[str, float | int]:
    """How many distinct final states ``N`` different inputs ``e [N, ...]`` reach (see
    :func:`cluster_states`), and the share ``clusters / N``."""
    s = iterate(F, start(e), e, iters)
    n, labels = cluster_states(s, tol)
    largest = int(torch.bincount(labels).max())
    return {"inputs": int(e.shape[0]), "clusters": n, "share": n / e.shape[0], "largest_cluster": largest,
            "tol": tol}
