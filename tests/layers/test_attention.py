"""The attention kernels: the explicit form computes SDPA's function and gradients, and the rule
that picks it."""
import pytest
import torch
import torch.nn.functional as F

import loopzoo
from loopzoo.layers.attention import Attention, attention, explicit_attention, set_kernel, use_explicit


def qkv(*shape, dtype=torch.float64, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(*shape, generator=g, dtype=dtype).requires_grad_() for _ in range(3)]


def band(L: int, S: int) -> torch.Tensor:
    """An additive mask with some keys hidden from each query (every row keeps at least one)."""
    allowed = (torch.arange(S)[None] - torch.arange(L)[:, None]).abs() <= 2
    return torch.zeros(L, S, dtype=torch.float64).masked_fill(~allowed, float("-inf"))


@pytest.mark.parametrize("masked", [False, True])
def test_explicit_attention_equals_sdpa_with_its_gradients(masked):
    q, k, v = qkv(2, 3, 9, 8)
    mask = band(9, 9) if masked else None
    dy = torch.randn(2, 3, 9, 8, dtype=torch.float64)
    ours = explicit_attention(q, k, v, mask)
    grads = torch.autograd.grad(ours, (q, k, v), dy)
    ref = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    ref_grads = torch.autograd.grad(ref, (q, k, v), dy)
    torch.testing.assert_close(ours, ref)
    for a, b in zip(grads, ref_grads):
        torch.testing.assert_close(a, b)


@pytest.mark.parametrize("masked", [False, True])
def test_explicit_attention_passes_gradcheck(masked):
    q, k, v = qkv(1, 2, 5, 4, seed=1)
    mask = band(5, 5) if masked else None
    assert torch.autograd.gradcheck(lambda a, b, c: explicit_attention(a, b, c, mask), (q, k, v))


def test_the_explicit_kernel_serves_half_precision_training_on_the_cpu_only():
    q = torch.zeros(1, 1, 4, 8, dtype=torch.bfloat16)
    assert use_explicit(q)
    assert not use_explicit(q.float())
    with torch.no_grad():
        assert not use_explicit(q)
    assert not use_explicit(q, explicit=False)
    assert use_explicit(q.float(), explicit=True)


def test_attention_routes_to_the_chosen_kernel(monkeypatch):
    calls = []
    monkeypatch.setattr(F, "scaled_dot_product_attention", lambda *a, **k: calls.append("sdpa") or a[0])
    q, k, v = qkv(1, 1, 4, 8, dtype=torch.bfloat16)
    attention(q, k, v)
    assert calls == []
    attention(q, k, v, explicit=False)
    assert calls == ["sdpa"]


@pytest.mark.parametrize("name", ["sudoku-internal-recall-outernorm", "prefix-sums-internal-recall-outernorm"])
def test_a_model_gives_the_same_logits_and_gradients_with_either_kernel(name):
    torch.manual_seed(0)
    model = loopzoo.create(name, width=16, heads=2).double()
    task = model.task
    x = task.encode([task.parse(task.example, 0)] * 2).double()  # [2, L, C]
    out = {}
    for explicit in (True, False):
        set_kernel(model, explicit)
        assert all(m.explicit is explicit for m in model.modules() if isinstance(m, Attention))
        model.zero_grad()
        logits, _ = model(x, 3)
        logits.square().sum().backward()
        out[explicit] = (logits.detach(), [p.grad.clone() for p in model.parameters()])
    torch.testing.assert_close(out[True][0], out[False][0])
    for a, b in zip(out[True][1], out[False][1]):
        torch.testing.assert_close(a, b)
