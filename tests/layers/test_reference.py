"""Each recall mode and norm placement against a hand-written reference of docs/design.md §2-3,
and the attention cells against a naive dense reference (rotary written out per docs/design.md §1).

The layers take a leaner path without gradients (in-place, fewer passes), so each check runs
with gradients, under ``no_grad`` and under ``inference_mode``."""
import contextlib
import math

import pytest
import torch

import loopzoo
from loopzoo.registry import norms, recalls

# The three ways the layers run: training, the progressive loss's no-grad iterations, solve().
MODES = {"grad": contextlib.nullcontext, "no_grad": torch.no_grad, "inference": torch.inference_mode}

# docs/design.md §3: which slots hold an RMSNorm; "gru" also swaps the residual.
SLOTS = {"prenorm": (1, 0, 0), "perinorm": (1, 1, 0), "outernorm": (0, 0, 1), "gru": (1, 1, 0)}


def rms(x, gain, eps):
    eps = torch.finfo(x.dtype).eps if eps is None else eps
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * gain


def gru_ref(cell, v, s):
    """PyTorch's GRU equations, written out: input v, hidden s."""
    wi, wh, bi, bh = cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh
    gi = v @ wi.T + bi
    gh = s @ wh.T + bh
    ir, iz, in_ = gi.chunk(3, -1)
    hr, hz, hn = gh.chunk(3, -1)
    r, z = torch.sigmoid(ir + hr), torch.sigmoid(iz + hz)
    n = torch.tanh(in_ + r * hn)
    return (1 - z) * n + z * s


def block_ref(block, recall, norm, s, e):
    slots = SLOTS[norm]
    p = block.norm

    def N(i, x):
        if not slots[i]:
            return x
        mod = (p.n1, p.n2, p.n3)[i]
        return rms(x, mod.weight, mod.eps)

    def R(s, v):
        return gru_ref(p.gru, v, s) if norm == "gru" else s + v

    Wx = lambda x: x @ block.recall.wx.weight.T + block.recall.wx.bias  # noqa: E731
    Wh = lambda x: x @ block.recall.wh.weight.T + block.recall.wh.bias  # noqa: E731
    mlp = block.mlp
    mlp_ref = lambda x: torch.nn.functional.gelu(x @ mlp.up.weight.T + mlp.up.bias) @ mlp.down.weight.T + mlp.down.bias  # noqa: E731
    if recall == "recall":
        s = Wx(s) + Wh(e)  # u = Wx s + Wh e, then the "none" block on u
    for f in (block.attn, mlp_ref):
        h = N(0, s)
        if recall == "internal-recall":
            h = Wx(h) + Wh(e)
        s = N(2, R(s, N(1, f(h))))
    return s


@pytest.mark.parametrize("mode", sorted(MODES))
@pytest.mark.parametrize("norm", sorted(SLOTS))
@pytest.mark.parametrize("recall", ["none", "recall", "internal-recall"])
def test_block_matches_spec_equations(recall, norm, mode):
    model = loopzoo.create(loopzoo.ModelConfig(task="sudoku", recall=recall, norm=norm, width=16, heads=2))
    block = model.blocks[0]
    for param in block.parameters():  # move gains/biases off their defaults so every term counts
        torch.nn.init.normal_(param, std=0.3)
    s, e = torch.randn(3, 81, 16), torch.randn(3, 81, 16)
    expected = block_ref(block, recall, norm, s, e)  # with gradients: the attention cell's own check is below
    s0, e0 = s.clone(), e.clone()
    with MODES[mode]():
        u = block.recall.project(e)
        u0 = u.clone()
        out = block(s, u)
    torch.testing.assert_close(out, expected, rtol=1e-4, atol=1e-5)
    # the in-place inference path writes only into its own temporaries, never into its inputs
    assert torch.equal(s, s0) and torch.equal(e, e0) and torch.equal(u, u0)


@pytest.mark.parametrize("mode", ["no_grad", "inference"])
@pytest.mark.parametrize("norm", sorted(SLOTS))
@pytest.mark.parametrize("recall", ["none", "recall", "internal-recall"])
def test_block_with_recall_folded_into_the_branches_matches_spec_equations(recall, norm, mode):
    """The loop's form without gradients: internal recall folded into the QKV and up projections."""
    from loopzoo.model import FoldedRecall

    model = loopzoo.create(loopzoo.ModelConfig(task="sudoku", recall=recall, norm=norm, width=16, heads=2))
    block = model.blocks[0]
    for param in block.parameters():
        torch.nn.init.normal_(param, std=0.3)
    s, e = torch.randn(3, 81, 16), torch.randn(3, 81, 16)
    expected = block_ref(block, recall, norm, s, e)
    with MODES[mode]():
        u = block.fold(block.recall.project(e))
        assert isinstance(u, FoldedRecall) == (recall == "internal-recall")
        out = block(s, u)
        rows = block(s[[2, 0]], model.recall_inputs(e, fold=True)[0].rows(torch.tensor([2, 0]))
                     if recall == "internal-recall" else u[[2, 0]])
    torch.testing.assert_close(out, expected, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(rows, expected[[2, 0]], rtol=1e-4, atol=1e-5)


def test_recall_is_not_folded_where_gradients_flow():
    model = loopzoo.create(loopzoo.ModelConfig(task="sudoku", width=16, heads=2))
    e = torch.randn(2, 81, 16)
    u = model.recall_inputs(e, fold=True)[0]
    assert isinstance(u, torch.Tensor)  # folding would cut the gradient to Wx and the projections
    model.step(e, e, [u]).square().sum().backward()
    assert model.blocks[0].recall.wx.weight.grad is not None


def test_folded_recall_under_bf16_autocast_stays_close_to_fp32():
    model = loopzoo.create(loopzoo.ModelConfig(task="sudoku", width=32, heads=2)).eval()
    x = model.task.encode([model.task.parse(model.task.example, 0)] * 2)
    with torch.inference_mode():
        e = model.embed(x)
        expected = model.step(e, e)
        with torch.autocast("cpu", torch.bfloat16):
            e = model.embed(x)  # bf16, as in solve(autocast=True)
            u = model.recall_inputs(e, fold=True)
            assert u[0].weights[0].dtype == torch.bfloat16  # cast once, not per iteration
            out = model.step(e, e, u)
    assert out.dtype == torch.bfloat16
    torch.testing.assert_close(out.float(), expected, rtol=0.05, atol=0.05)


@pytest.mark.parametrize("mode", sorted(MODES))
def test_rms_norm_matches_its_formula_in_every_mode(mode):
    from loopzoo.layers.norms import RMSNorm

    norm = RMSNorm(24)
    torch.nn.init.normal_(norm.weight, std=0.5)
    x = torch.randn(5, 7, 24) * 3
    x0 = x.clone()
    expected = rms(x, norm.weight, None)
    with MODES[mode]():
        torch.testing.assert_close(norm(x), expected)
        assert torch.equal(x, x0), "forward must not write into its input"
        out = norm.normalize_(x.clone())
    torch.testing.assert_close(out, expected)


def test_rms_norm_of_bf16_keeps_dtype_and_agrees_with_fp32():
    from loopzoo.layers.norms import RMSNorm

    norm = RMSNorm(64)
    torch.nn.init.normal_(norm.weight, std=0.5)
    x = torch.randn(4, 9, 64)
    expected = rms(x, norm.weight, None)
    for mode in MODES.values():
        with mode():
            out = norm(x.bfloat16())
        assert out.dtype == torch.bfloat16
        torch.testing.assert_close(out.float(), expected, rtol=2e-2, atol=2e-2)


def test_registries_hold_exactly_the_spec_components():
    assert set(norms.names()) >= set(SLOTS)
    assert set(recalls.names()) >= {"none", "recall", "internal-recall"}


def test_gru_init_follows_the_papers_code():
    """Update-gate slice 1 in both biases (effective bias 2); one orthogonal draw over [3D, D]."""
    gru = norms.get("gru")(8).gru
    for bias in (gru.bias_ih, gru.bias_hh):
        assert torch.all(bias[8:16] == 1) and torch.all(bias[:8] == 0) and torch.all(bias[16:] == 0)
    w = gru.weight_hh  # [24, 8]: orthonormal columns over all three gates together
    torch.testing.assert_close(w.T @ w, torch.eye(8), atol=1e-5, rtol=0)
    gate_norms = torch.stack([(gate.T @ gate).diagonal().sum() for gate in w.chunk(3)])
    assert not torch.allclose(gate_norms, torch.full((3,), 8.0), atol=0.5), "drawn per gate, not over the whole matrix"


def test_outernorm_keeps_state_norm_fixed():
    model = loopzoo.create("sudoku-internal-recall-outernorm", width=16, heads=2)
    x = model.task.encode([model.task.parse(model.task.example, 0)])
    norms_t = [s.norm(dim=-1) for s in model.iterate(x, 20)]
    torch.testing.assert_close(norms_t[0], norms_t[-1], rtol=1e-4, atol=1e-4)


# --- attention ------------------------------------------------------------------------


def rotary_ref(x, coords, base=10000.0):
    """docs/design.md §1: for n axes, head_dim/(2n) frequencies per axis, theta_k = base^(-k/k_max),
    angle = coordinate * theta_k, rotating adjacent pairs (x_2i, x_2i+1)."""
    hd = x.shape[-1]
    n = coords.shape[1]
    k_max = hd // (2 * n)
    out = x.clone()
    pair = 0
    for axis in range(n):
        for k in range(k_max):
            theta = base ** (-k / k_max)
            angle = coords[:, axis].double() * theta  # [L]
            c, s = angle.cos().to(x.dtype), angle.sin().to(x.dtype)
            a, b = x[..., 2 * pair], x[..., 2 * pair + 1]
            out[..., 2 * pair] = a * c - b * s
            out[..., 2 * pair + 1] = a * s + b * c
            pair += 1
    return out


def attention_ref(attn, x, coords, allowed):
    """Dense softmax attention with a boolean mask ``allowed [L, L]``."""
    B, L, D = x.shape
    H, hd = attn.heads, attn.head_dim
    q, k, v = (x @ attn.qkv.weight.T + attn.qkv.bias).view(B, L, 3, H, hd).permute(2, 0, 3, 1, 4)
    q = rms(rotary_ref(q, coords), attn.q_norm.weight, attn.q_norm.eps)
    k = rms(rotary_ref(k, coords), attn.k_norm.weight, attn.k_norm.eps)
    scores = (q @ k.transpose(-1, -2)) / math.sqrt(hd)
    scores = scores.masked_fill(~allowed, float("-inf"))
    y = scores.softmax(-1) @ v
    return y.transpose(1, 2).reshape(B, L, D) @ attn.out.weight.T + attn.out.bias


def band(length, window):
    """``[L, L]``: the shifted window of each position (local attention, docs/design.md §1)."""
    i = torch.arange(length)
    start = (i - window // 2).clamp(0, max(length - window, 0))
    return (i[None, :] >= start[:, None]) & (i[None, :] < start[:, None] + window)


# lengths around the block size (8) and window, so every partial-block and border case is hit
@pytest.mark.parametrize("mode", sorted(MODES))
@pytest.mark.parametrize("window,length", [(5, 3), (5, 5), (5, 6), (5, 8), (5, 9), (5, 16), (5, 17), (5, 32),
                                           (5, 513), (3, 10), (9, 9), (9, 10), (9, 41), (12, 30)])
def test_local_attention_matches_masked_reference(window, length, mode):
    from loopzoo.registry import cells

    attn = cells.get("local")(16, 2, window=window)
    for param in attn.parameters():
        torch.nn.init.normal_(param, std=0.3)
    x = torch.randn(2, length, 16)
    allowed = band(length, window)
    assert bool((allowed.sum(1) == min(window, length)).all())
    positions = torch.arange(length)[:, None]
    expected = attention_ref(attn, x, positions, allowed)
    with MODES[mode]():
        out = attn(x)
    torch.testing.assert_close(out, expected, rtol=1e-4, atol=1e-5)


def test_local_attention_gradients_match_masked_reference():
    from loopzoo.registry import cells

    attn = cells.get("local")(16, 2, window=5)
    x = torch.randn(2, 19, 16, requires_grad=True)
    ref_x = x.detach().clone().requires_grad_(True)
    attn(x).square().sum().backward()
    ours = [x.grad] + [p.grad.clone() for p in attn.parameters()]
    attn.zero_grad()
    attention_ref(attn, ref_x, torch.arange(19)[:, None], band(19, 5)).square().sum().backward()
    for a, b in zip(ours, [ref_x.grad] + [p.grad for p in attn.parameters()]):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


def test_rotary_real_form_equals_complex_form(monkeypatch):
    """The compiled path rotates with cos/sin (inductor has no complex kernels); eager uses complex."""
    from loopzoo.layers.rotary import Rotary

    rotary = Rotary(8, (4, 4))
    x = torch.randn(3, 16, 2, 8)
    table = rotary.table(16, x.device, x.dtype)[:, None]
    eager = rotary(x, table)
    monkeypatch.setattr(torch.compiler, "is_compiling", lambda: True)
    torch.testing.assert_close(rotary(x, table), eager)
    coords = torch.stack(torch.meshgrid(torch.arange(4), torch.arange(4), indexing="ij"), -1).view(16, 2)
    torch.testing.assert_close(eager, rotary_ref(x.transpose(1, 2), coords).transpose(1, 2))


@pytest.mark.parametrize("mode", sorted(MODES))
@pytest.mark.parametrize("grid", [(9, 9), (8, 8)])
def test_full_attention_matches_reference_with_grid_rotary(grid, mode):
    from loopzoo.registry import cells

    attn = cells.get("full")(32, 2, grid=grid)
    for param in attn.parameters():
        torch.nn.init.normal_(param, std=0.3)
    L = grid[0] * grid[1]
    x = torch.randn(2, L, 32)
    coords = torch.stack([torch.arange(L) // grid[1], torch.arange(L) % grid[1]], dim=1)
    allowed = torch.ones(L, L, dtype=torch.bool)
    expected = attention_ref(attn, x, coords, allowed)
    x0 = x.clone()
    with MODES[mode]():
        out = attn(x)
    torch.testing.assert_close(out, expected, rtol=1e-4, atol=1e-5)
    assert torch.equal(x, x0)


def test_rotation_matrices_rotate_and_scale_like_the_rotary():
    from loopzoo.layers.rotary import Rotary

    rotary = Rotary(8, (4, 4))
    gains = [torch.randn(8), torch.randn(8)]  # q's and k's
    x = torch.randn(16, 2, 5, 8)  # [L, q/k, rows, hd]
    table = rotary.table(16, x.device, x.dtype)[:, None, None]

    def check():
        m = rotary.matrices(16, gains, x.device, torch.float32)
        torch.testing.assert_close(x @ m.view(16, 2, 8, 8), rotary(x, table) * torch.stack(gains)[:, None])
        return m

    m = check()
    assert rotary.matrices(16, gains, x.device, torch.float32) is m  # cached
    gains[0].mul_(2)  # an in-place update (an optimizer step) is seen
    assert check() is not m


@pytest.mark.parametrize("cell,grid,length", [("full", (9, 9), 81), ("local", (), 40)])
def test_bf16_inference_attention_stays_close_to_fp32(cell, grid, length):
    """bf16 without gradients rotates by batched matmul (64+ rows a position) or in fp32 (fewer)."""
    from loopzoo.registry import cells

    attn = cells.get(cell)(64, 4, grid=grid)
    for param in attn.parameters():
        torch.nn.init.normal_(param, std=0.2)
    for batch in (16, 2):  # 16 x 4 heads = 64 rows: the matmul path; 2 x 4: the complex path
        x = torch.randn(batch, length, 64)
        expected = attn(x)
        with torch.inference_mode(), torch.autocast("cpu", torch.bfloat16):
            out = attn(x)
        assert out.dtype == torch.bfloat16
        torch.testing.assert_close(out.float(), expected, rtol=0.05, atol=0.05)


def test_free_grid_axes_take_any_size():
    from loopzoo.layers.rotary import grid_coords

    assert grid_coords((None, None), 9).tolist() == [[r, c] for r in range(3) for c in range(3)]
    assert grid_coords((None, None), 49).max(0).values.tolist() == [6, 6]
    assert grid_coords((2, None), 6).tolist() == [[0, 0], [0, 1], [0, 2], [1, 0], [1, 1], [1, 2]]
    with pytest.raises(loopzoo.InputError, match="does not fill"):
        grid_coords((None, None), 10)


def test_position_caches_stay_bounded_over_many_lengths():
    from loopzoo.layers.rotary import CACHE_SIZE
    from loopzoo.registry import cells

    attn = cells.get("local")(16, 2, window=5)
    with torch.no_grad():
        for length in range(6, 6 + 3 * CACHE_SIZE):
            attn(torch.randn(1, length, 16))
    assert len(attn.rotary._cache) <= CACHE_SIZE and len(attn._masks) <= CACHE_SIZE
    assert (length, torch.device("cpu"), torch.float32) in attn.rotary._cache  # the newest is kept


def test_rms_norm_of_bf16_input_is_computed_in_fp32_without_warnings():
    import warnings

    from loopzoo.layers.norms import RMSNorm

    norm = RMSNorm(8)
    torch.nn.init.normal_(norm.weight)
    x = torch.randn(4, 8)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = norm(x.bfloat16())
    assert y.dtype == torch.bfloat16
    torch.testing.assert_close(y.float(), norm(x.bfloat16().float()).bfloat16().float())
