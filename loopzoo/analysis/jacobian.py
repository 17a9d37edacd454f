"""Reachability and geometry of a fixed point through Jacobian-vector products (docs/design.md §6).

Every function takes a map ``F(s, e) -> s`` that acts on each sample of a batch independently
(``s``, ``e``: ``[B, ...]``; a model's :meth:`~loopzoo.model.LoopedTransformer.step`, or any plain
function in tests). ``J = dF/ds`` is never formed: it is applied to vectors with
``torch.func.jvp`` (``J v``) and ``torch.func.vjp`` (``J^T u``). Each sample's state is treated as
one vector, so every estimate is per sample (``[B]``).
"""
from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator, Sequence

import torch

from .budget import spans

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
                    burn_in: int | None = None, generator: torch.Generator | None = None,
                    chunk: int | None = None) -> torch.Tensor:
    """``[B]`` estimate of ``rho(dF/ds)`` at ``(s, e)`` per sample, by power iteration on JVPs.

    The estimate is the growth rate ``(||J^k v|| / ||J^{k0} v||)^(1/(k-k0))`` over the steps after
    ``burn_in`` (default half of them), i.e. the geometric mean of the one-step ratios. For any
    start vector with a component along the dominant eigenspace it converges to ``|lambda_max|``,
    also when the dominant eigenvalues are a complex pair or a ``±`` pair (where the plain ratio
    ``||Jv||/||v||`` oscillates); convergence is slow when ``|lambda_2| ~ |lambda_1|``.
    ``chunk`` samples are processed at a time (the start vectors are drawn for the whole batch
    first, so the result does not depend on it).
    """
    s, e = s.detach(), e.detach()
    burn_in = steps // 2 if burn_in is None else burn_in
    if not 0 <= burn_in < steps:
        raise ValueError(f"need 0 <= burn_in < steps, got burn_in={burn_in}, steps={steps}")
    v0 = unit(torch.randn(s.shape, generator=generator, dtype=s.dtype).to(s.device))
    out = []
    for part in spans(s.shape[0], chunk):
        v, s_c, e_c = v0[part], s[part], e[part]
        log_growth = torch.zeros(s_c.shape[0], dtype=torch.float64, device=s.device)
        for k in range(steps):
            w = jvp(F, s_c, e_c, v)
            n = sample_norm(w)
            if k >= burn_in:
                log_growth += torch.log(n.double().clamp_min(1e-300))
            v = w / _bcast(n.clamp_min(1e-30), w)
        out.append(torch.exp(log_growth / (steps - burn_in)).to(s.dtype))
    return torch.cat(out)


def top_singular_value(F: StepFn, s: torch.Tensor, e: torch.Tensor, steps: int = 50, *,
                       generator: torch.Generator | None = None, chunk: int | None = None) -> torch.Tensor:
    """``[B]`` largest singular value of ``dF/ds`` at ``(s, e)``: the backprop gain of one iteration.

    Power iteration on ``J^T J`` (``J v`` by JVP, then ``J^T`` by VJP); returns ``||J v||`` for
    the last unit vector ``v``: a lower bound that converges to ``sigma_max`` at the rate
    ``(sigma_2 / sigma_1)^(2k)``. ``chunk`` samples at a time, as :func:`spectral_radius`.
    """
    s, e = s.detach(), e.detach()
    v0 = unit(torch.randn(s.shape, generator=generator, dtype=s.dtype).to(s.device))
    out = []
    for part in spans(s.shape[0], chunk):
        v, s_c, e_c = v0[part], s[part], e[part]
        back = vjp_fn(F, s_c, e_c)
        for _ in range(steps):
            v = unit(back(jvp(F, s_c, e_c, v)))  # J^T J v, normalised
        out.append(sample_norm(jvp(F, s_c, e_c, v)))
        del back
    return torch.cat(out)


Cotangent = torch.Tensor | Callable[[torch.Tensor], torch.Tensor]


def backprop_through(step: Callable[[torch.Tensor], torch.Tensor], s0: torch.Tensor, iters: int,
                     cotangent: Cotangent, *, segment: int | None = None,
                     inputs: Sequence[torch.Tensor] = ()) -> tuple[torch.Tensor, list[torch.Tensor | None]]:
    """Backpropagate ``u`` at ``s_T`` (``s_{t+1} = step(s_t)``, ``T = iters``) to ``s_0``, one
    iteration at a time: ``((d s_T / d s_0)^T u, [d<s_T, u>/d x for x in inputs])``.

    ``inputs`` are tensors that every step uses (the embedding, the weights); their gradients are
    summed over iterations (None where unused). ``cotangent`` is ``u`` or a function of ``s_T``
    that returns it. Rather than one graph through every iteration, the forward pass keeps the
    state every ``segment`` iterations (default: every state), and the backward pass recomputes
    one segment's states from its first one and applies one vector-Jacobian product per iteration
    on them: memory holds one iteration's graph and ``ceil(T / segment) + segment`` states. The
    result equals ``torch.autograd.grad`` through the whole loop up to float rounding.
    """
    seg = iters if segment is None else min(max(1, int(segment)), iters)
    last = ((iters - 1) // seg) * seg  # first iteration of the last segment
    kept: dict[int, torch.Tensor] = {}
    tail: list[torch.Tensor] = []
    s = s0.detach()
    with torch.no_grad():
        for t in range(iters):
            if t >= last:
                tail.append(s)
            elif t % seg == 0:
                kept[t] = s
            s = step(s)
    u = cotangent(s) if callable(cotangent) else cotangent
    del s
    grads: list[torch.Tensor | None] = [None] * len(inputs)
    for start in range(last, -1, -seg):
        if start == last:
            states, tail = tail, []
        else:
            states = [kept.pop(start)]
            with torch.no_grad():
                for _ in range(seg - 1):
                    states.append(step(states[-1]))
        while states:
            with torch.enable_grad():
                z = states.pop().detach().requires_grad_(True)
                got = torch.autograd.grad(step(z), (z, *inputs), grad_outputs=u, allow_unused=True)
            u = got[0]
            grads = [g if d is None else (d if g is None else g + d) for g, d in zip(grads, got[1:])]
    return u.detach(), grads


def backprop_gain(F: StepFn, s0: torch.Tensor, e: torch.Tensor, iters: int, *,
                  generator: torch.Generator | None = None, chunk: int | None = None,
                  segment: int | None = None) -> dict[str, torch.Tensor]:
    """Gradient norm through ``iters`` iterations from ``s0``: ``||(d s_T / d s_0)^T g||`` per sample.

    ``g`` is a random unit cotangent per sample. Returns ``{"norm": [B], "per_iter": [B]}``,
    ``per_iter = norm^(1/T)`` (the average gain of one iteration; above 1 gradients explode).
    Computed by :func:`backprop_through` on ``chunk`` samples at a time, keeping a state every
    ``segment`` iterations.
    """
    s0, e = s0.detach(), e.detach()
    g = unit(torch.randn(s0.shape, generator=generator, dtype=s0.dtype).to(s0.device))
    grads = []
    for part in spans(s0.shape[0], chunk):
        e_c = e[part]
        grads.append(backprop_through(lambda z: F(z, e_c), s0[part], iters, g[part], segment=segment)[0])
    norm = sample_norm(torch.cat(grads))
    return {"norm": norm, "per_iter": norm.clamp_min(1e-300) ** (1.0 / iters)}


def parameter_grad_norm(model, x: torch.Tensor, y: torch.Tensor, iters: int, *, chunk: int | None = None,
                        segment: int | None = None) -> float:
    """Global norm of the cross-entropy gradient w.r.t. the weights, through ``iters`` iterations
    from ``s_0 = e`` (what training clips at 1.0; the loss is the mean over every token of the batch).

    Computed by :func:`backprop_through` on ``chunk`` samples at a time (keeping a state every
    ``segment`` iterations); the weights' ``.grad`` are left as they are.
    """
    import torch.nn.functional as F_

    was_training = model.training
    model.eval()
    params = [p for p in model.parameters() if p.requires_grad]
    total: list[torch.Tensor | None] = [None] * len(params)
    tokens = y.numel()

    def add(got: Sequence[torch.Tensor | None]) -> None:
        for i, g in enumerate(got):
            if g is not None:
                total[i] = g.detach() if total[i] is None else total[i] + g.detach()

    for part in spans(x.shape[0], chunk):
        x_c, y_c = x[part], y[part]
        with torch.enable_grad():
            e = model.embed(x_c)  # [b, L, D]
        e_leaf = e.detach().requires_grad_(True)

        def loss_grad(s_T: torch.Tensor) -> torch.Tensor:
            with torch.enable_grad():
                z = s_T.detach().requires_grad_(True)
                logits = model.readout(z)  # [b, L, C]
                loss = F_.cross_entropy(logits.flatten(0, -2).float(), y_c.flatten(), reduction="sum") / tokens
                got = torch.autograd.grad(loss, (z, *params), allow_unused=True)
            add(got[1:])
            return got[0]

        u0, (g_e, *g_params) = backprop_through(lambda z: model.step(z, e_leaf), e_leaf, iters, loss_grad,
                                                segment=segment, inputs=(e_leaf, *params))
        add(g_params)
        with torch.enable_grad():  # s_0 = e and every step's recall input come from the embedding
            add(torch.autograd.grad(e, params, grad_outputs=u0 if g_e is None else u0 + g_e, allow_unused=True))
    model.train(was_training)
    return math.sqrt(sum(float(g.double().pow(2).sum()) for g in total if g is not None))


def recall_matrix(model) -> dict[str, float | None]:
    """``rho(Wx)`` and ``||Wx||_2`` of the state-mixing recall matrix (None without recall)."""
    from ..evaluate import recall_spectral_radius

    wx = getattr(model.blocks[0].recall, "wx", None)
    if wx is None:
        return {"rho_wx": None, "norm_wx": None}
    w = wx.weight.detach().double().cpu()
    return {"rho_wx": recall_spectral_radius(model), "norm_wx": float(torch.linalg.matrix_norm(w, ord=2))}
