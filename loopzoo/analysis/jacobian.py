"""Reachability and geometry of a fixed point through Jacobian-vector products (SPEC 6).

Every function takes a map ``F(s, e) -> s`` that acts on each sample of a batch independently
(``s``, ``e``: ``[B, ...]``; a model's :meth:`~loopzoo.model.LoopedTransformer.step`, or any plain
function in tests). ``J = dF/ds`` is never formed: it is applied to vectors with
``torch.func.jvp`` (``J v``) and ``torch.func.vjp`` (``J^T u``). Each sample's state is treated as
one vector, so every estimate is per sample (``[B]``).
"""
from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator

import torch

StepFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def sample_norm(t: torch.Tensor) -> torch.Tensor:
    """``[B]`` Euclidean norm of each sample of ``t [B, ...]``."""
    return t.flatten(1).norm(dim=1)


def unit(t: torch.Tensor) -> torch.Tensor:
    """``t`` scaled so that each sample has norm 1."""
    n = sample_norm(t).clamp_min(1e-30)
    return t / n.view(-1, *([1] * (t.dim() - 1)))


def _bcast(v: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return v.view(-1, *([1] * (like.dim() - 1)))


@contextlib.contextmanager
def differentiable_attention() -> Iterator[None]:
    """Route ``scaled_dot_product_attention`` to its math kernel, which supports forward-mode AD.

    The fused CPU/flash kernels have no JVP rule; the math kernel computes the same function.
    """
    try:
        from torch.nn.attention import SDPBackend, sdpa_kernel
    except ImportError:  # older torch
        yield
        return
    with sdpa_kernel([SDPBackend.MATH]):
        yield


def jvp(F: StepFn, s: torch.Tensor, e: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """``J v`` with ``J = dF/ds`` at ``(s, e)``; ``v`` like ``s``."""
    with differentiable_attention():
        return torch.func.jvp(lambda z: F(z, e), (s,), (v,))[1].detach()


def vjp_fn(F: StepFn, s: torch.Tensor, e: torch.Tensor) -> Callable[[torch.Tensor], torch.Tensor]:
    """A function ``u -> J^T u`` at ``(s, e)`` (the forward pass is done once)."""
    with torch.enable_grad(), differentiable_attention():
        _, fn = torch.func.vjp(lambda z: F(z, e), s)

    def apply(u: torch.Tensor) -> torch.Tensor:
        with torch.enable_grad():
            return fn(u)[0].detach()

    return apply


def spectral_radius(F: StepFn, s: torch.Tensor, e: torch.Tensor, steps: int = 100, *,
                    burn_in: int | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
    """``[B]`` estimate of ``rho(dF/ds)`` at ``(s, e)`` per sample, by power iteration on JVPs.

    The estimate is the growth rate ``(||J^k v|| / ||J^{k0} v||)^(1/(k-k0))`` over the steps after
    ``burn_in`` (default half of them), i.e. the geometric mean of the one-step ratios. For any
    start vector with a component along the dominant eigenspace it converges to ``|lambda_max|``,
    also when the dominant eigenvalues are a complex pair or a ``±`` pair (where the plain ratio
    ``||Jv||/||v||`` oscillates); convergence is slow when ``|lambda_2| ~ |lambda_1|``.
    """
    s, e = s.detach(), e.detach()
    burn_in = steps // 2 if burn_in is None else burn_in
    if not 0 <= burn_in < steps:
        raise ValueError(f"need 0 <= burn_in < steps, got burn_in={burn_in}, steps={steps}")
    v = unit(torch.randn(s.shape, generator=generator, dtype=s.dtype).to(s.device))
    log_growth = torch.zeros(s.shape[0], dtype=torch.float64, device=s.device)
    for k in range(steps):
        w = jvp(F, s, e, v)
        n = sample_norm(w)
        if k >= burn_in:
            log_growth += torch.log(n.double().clamp_min(1e-300))
        v = w / _bcast(n.clamp_min(1e-30), w)
    return torch.exp(log_growth / (steps - burn_in)).to(s.dtype)


def top_singular_value(F: StepFn, s: torch.Tensor, e: torch.Tensor, steps: int = 50, *,
                       generator: torch.Generator | None = None) -> torch.Tensor:
    """``[B]`` largest singular value of ``dF/ds`` at ``(s, e)``: the backprop gain of one iteration.

    Power iteration on ``J^T J`` (``J v`` by JVP, then ``J^T`` by VJP); returns ``||J v||`` for
    the last unit vector ``v``: a lower bound that converges to ``sigma_max`` at the rate
    ``(sigma_2 / sigma_1)^(2k)``.
    """
    s, e = s.detach(), e.detach()
    back = vjp_fn(F, s, e)
    v = unit(torch.randn(s.shape, generator=generator, dtype=s.dtype).to(s.device))
    for _ in range(steps):
        v = unit(back(jvp(F, s, e, v)))  # J^T J v, normalised
    return sample_norm(jvp(F, s, e, v))


def backprop_gain(F: StepFn, s0: torch.Tensor, e: torch.Tensor, iters: int, *,
                  generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
    """Gradient norm through ``iters`` iterations from ``s0``: ``||(d s_T / d s_0)^T g||`` per sample.

    ``g`` is a random unit cotangent per sample. Returns ``{"norm": [B], "per_iter": [B]}``,
    ``per_iter = norm^(1/T)`` (the average gain of one iteration; above 1 gradients explode).
    """
    s0, e = s0.detach(), e.detach()
    with torch.enable_grad():
        start = s0.clone().requires_grad_(True)
        s = start
        for _ in range(iters):
            s = F(s, e)
        g = unit(torch.randn(s.shape, generator=generator, dtype=s.dtype).to(s.device))
        (grad,) = torch.autograd.grad(s, start, grad_outputs=g)
    norm = sample_norm(grad.detach())
    return {"norm": norm, "per_iter": norm.clamp_min(1e-300) ** (1.0 / iters)}


def parameter_grad_norm(model, x: torch.Tensor, y: torch.Tensor, iters: int) -> float:
    """Global norm of the cross-entropy gradient w.r.t. the weights, through ``iters`` iterations
    from ``s_0 = e`` (what training clips at 1.0). Gradients are computed and then cleared."""
    import torch.nn.functional as F_

    was_training = model.training
    model.eval()
    model.zero_grad(set_to_none=True)
    with torch.enable_grad():
        logits, _ = model(x, iters)
        loss = F_.cross_entropy(logits.flatten(0, -2).float(), y.flatten())
        loss.backward()
    total = math.sqrt(sum(float(p.grad.double().pow(2).sum()) for p in model.parameters() if p.grad is not None))
    model.zero_grad(set_to_none=True)
    model.train(was_training)
    return total


def recall_matrix(model) -> dict[str, float | None]:
    """``rho(Wx)`` and ``||Wx||_2`` of the state-mixing recall matrix (None without recall)."""
    from ..evaluate import recall_spectral_radius

    wx = getattr(model.blocks[0].recall, "wx", None)
    if wx is None:
        return {"rho_wx": None, "norm_wx": None}
    w = wx.weight.detach().double().cpu()
    return {"rho_wx": recall_spectral_radius(model), "norm_wx": float(torch.linalg.matrix_norm(w, ord=2))}
