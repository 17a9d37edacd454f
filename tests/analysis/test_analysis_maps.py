"""The analysis tools on maps with known answers (linear contractions, cycles, autonomous maps)."""
import math

import numpy as np
import pytest
import torch

from loopzoo.analysis.jacobian import backprop_gain, spectral_radius, top_singular_value
from loopzoo.analysis.paths import detect_cycles, path_independence
from loopzoo.analysis.sensitivity import cluster_states, distinct_fixed_points, input_sensitivity
from loopzoo.analysis.trace import overthinking, trace_run

D = 6


def linear(A: torch.Tensor, Bm: torch.Tensor | None = None):
    """``F(s, e) = A s + Bm e`` on states ``[B, D]`` (row vectors)."""
    def F(s, e):
        out = s @ A.T
        return out if Bm is None else out + e @ Bm.T
    return F


def block_diag(*blocks) -> torch.Tensor:
    return torch.block_diag(*[torch.as_tensor(b, dtype=torch.float64) for b in blocks])


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def test_spectral_radius_and_singular_value_of_non_normal_contraction():
    # eigenvalues 0.5, 0.3 (upper triangular, far from normal), a rotation of modulus 0.4, 0.1
    A = block_diag([[0.5, 2.0], [0.0, 0.3]], 0.4 * np.array([[math.cos(1), -math.sin(1)], [math.sin(1), math.cos(1)]]),
                   [[0.1]], [[-0.2]])
    rho = max(abs(np.linalg.eigvals(A.numpy())))
    sigma = np.linalg.svd(A.numpy(), compute_uv=False)[0]
    assert rho == pytest.approx(0.5) and sigma > 2.0  # a contraction in rho, not in norm
    s = torch.randn(4, D, dtype=torch.float64)
    e = torch.randn(4, D, dtype=torch.float64)
    est = spectral_radius(linear(A), s, e, steps=200, generator=gen())
    assert est.shape == (4,)
    assert torch.allclose(est, torch.full((4,), rho, dtype=torch.float64), rtol=1e-3)
    top = top_singular_value(linear(A), s, e, steps=100, generator=gen())
    assert torch.allclose(top, torch.full((4,), sigma, dtype=torch.float64), rtol=1e-6)


@pytest.mark.parametrize("kind", ["complex", "plus-minus", "expanding"])
def test_spectral_radius_with_oscillating_dominant_eigenvalues(kind):
    # A dominant complex pair (non-normal similarity) or a ±lambda pair makes ||Jv||/||v|| oscillate;
    # the growth-rate estimate still converges to |lambda|.
    S = torch.tensor(np.triu(np.ones((D, D))) + np.eye(D), dtype=torch.float64)
    if kind == "complex":
        core, rho = block_diag(0.9 * np.array([[math.cos(2), -math.sin(2)], [math.sin(2), math.cos(2)]]),
                               np.diag([0.5, -0.3, 0.2, 0.1])), 0.9
    elif kind == "plus-minus":
        core, rho = block_diag(np.diag([0.8, -0.8, 0.5, 0.4, 0.2, 0.1])), 0.8
    else:
        core, rho = block_diag(np.diag([1.5, 0.9, -0.5, 0.4, 0.2, 0.1])), 1.5
    A = S @ core @ torch.linalg.inv(S)
    s = torch.randn(3, D, dtype=torch.float64)
    est = spectral_radius(linear(A), s, s, steps=600, generator=gen(1))
    assert torch.allclose(est, torch.full((3,), rho, dtype=torch.float64), rtol=0.02), est


def test_backprop_gain_of_scaled_orthogonal_map():
    Q, _ = torch.linalg.qr(torch.randn(D, D, dtype=torch.float64))
    a, T = 0.8, 20
    s = torch.randn(5, D, dtype=torch.float64)
    out = backprop_gain(linear(a * Q), s, s, T, generator=gen())
    assert torch.allclose(out["norm"], torch.full((5,), a**T, dtype=torch.float64), rtol=1e-9)
    assert torch.allclose(out["per_iter"], torch.full((5,), a, dtype=torch.float64), rtol=1e-9)


def two_cycle(s, e):
    """``s -> -tanh(2 s)``: 0 is unstable (slope -2); the orbit ±0.957 of period 2 attracts."""
    return -torch.tanh(2 * s)


def test_two_cycle_is_detected_and_its_residual_does_not_vanish():
    s0 = torch.rand(6, D, dtype=torch.float64) + 0.1
    out = detect_cycles(two_cycle, s0, s0, iters=100)
    assert out["period"].tolist() == [2] * 6
    assert out["cycles"] == 6 and out["fixed_points"] == 0 and out["counts"] == {"2": 6}
    tr = trace_run(two_cycle, s0, s0, 100)
    assert float(tr.residual[:, -1].min()) == pytest.approx(2.0, rel=1e-6)  # ||a - (-a)|| / ||a||
    # a contraction ends in a fixed point; a slow rotation (period 50 > max_period) in none
    contraction = linear(0.5 * torch.eye(D, dtype=torch.float64), torch.eye(D, dtype=torch.float64))
    assert detect_cycles(contraction, s0, s0, iters=100)["fixed_points"] == 6
    theta = 2 * math.pi / 50
    R = block_diag(*[[[math.cos(theta), -math.sin(theta)], [math.sin(theta), math.cos(theta)]]] * 3)
    assert detect_cycles(linear(R), s0, s0, iters=100)["unresolved"] == 6
    # spectral radius at a point of the 2-cycle: |F'(a)| = 2 (1 - a^2) > 1 for F, < 1 for F∘F
    s = s0
    for _ in range(100):
        s = two_cycle(s, s0)
    slope = 2 * (1 - torch.tanh(2 * s) ** 2)
    est = spectral_radius(two_cycle, s, s0, steps=200, generator=gen())
    assert torch.allclose(est, slope.abs().flatten(1).max(1).values, rtol=1e-3)


def test_autonomous_map_has_one_fixed_point_for_every_input():
    c = torch.linspace(-1, 1, D, dtype=torch.float64)
    autonomous = lambda s, e: 0.5 * s + c  # noqa: E731  s* = 2c whatever e is
    recall = lambda s, e: 0.5 * s + e  # noqa: E731  s* = 2e
    e = torch.randn(32, D, dtype=torch.float64)
    out = distinct_fixed_points(autonomous, e, iters=60)
    assert out["clusters"] == 1 and out["largest_cluster"] == 32
    assert distinct_fixed_points(recall, e, iters=60)["clusters"] == 32
    sens = input_sensitivity(autonomous, e, iters=60, eps=1e-3, generator=gen())["sensitivity"]
    assert float(sens.max()) < 1e-12  # the start moved, but the loop forgot it: 0.5^60
    sens = input_sensitivity(recall, e, iters=60, eps=1e-3, generator=gen())["sensitivity"]
    assert torch.allclose(sens, torch.full_like(sens, 2.0), rtol=1e-9)  # 1 / (1 - 0.5)


def test_sensitivity_of_linear_recall_map_equals_implicit_function_theorem():
    A = block_diag([[0.5, 0.7], [0.0, -0.4]], np.diag([0.3, 0.2, -0.6, 0.1]))
    Bm = torch.randn(D, D, dtype=torch.float64)
    e = torch.randn(8, D, dtype=torch.float64)
    delta = 1e-4 * torch.randn(8, D, dtype=torch.float64)
    out = input_sensitivity(linear(A, Bm), e, iters=200, delta=delta)
    # ds*/de = (I - A)^-1 Bm
    exact = (delta @ (torch.linalg.inv(torch.eye(D, dtype=torch.float64) - A) @ Bm).T).norm(dim=1) / delta.norm(dim=1)
    assert torch.allclose(out["sensitivity"], exact, rtol=1e-6)
    assert float(out["residual"].max()) < 1e-12


def test_cluster_tolerance():
    base = torch.randn(1, 3, D)
    states = torch.cat([base, base * (1 + 1e-4), base + 10, -base])
    n, labels = cluster_states(states, tol=1e-2)
    assert n == 3 and labels.tolist() == [0, 0, 1, 2]
    assert cluster_states(states, tol=1e-6)[0] == 4


def test_path_independence_contraction_vs_bistable_map():
    e = torch.randn(10, D, dtype=torch.float64)
    contraction = lambda s, e: 0.5 * s + e  # noqa: E731
    out = path_independence(contraction, e, 80, generator=gen(), readout=lambda s: torch.stack([s, -s], -1))
    assert set(out) == {"embedding", "zeros", "noise"}
    assert all(row["distance_max"] < 1e-12 and row["same_answer"] == 1.0 and row["same_state"] == 1.0
               for row in out.values())
    bistable = lambda s, e: torch.tanh(3 * s)  # noqa: E731  each coordinate goes to ±0.995 by its start's sign
    out = path_independence(bistable, e, 80, starts={"plus": e, "minus": -e})
    assert out["plus"]["distance"] == 0.0 and out["minus"]["distance"] == pytest.approx(2.0)
    assert out["minus"]["same_state"] == 0.0


def test_trace_of_linear_map_and_overthinking():
    s0 = torch.randn(4, 3, 2, dtype=torch.float64)
    # prediction = sign pattern; 0.5 * s keeps signs, so nothing changes; accuracy known
    targets = s0.argmax(-1)
    targets[0, 0] = 1 - targets[0, 0]  # sample 0 is wrong
    tr = trace_run(lambda s, e: 0.5 * s, s0, s0, 5, readout=lambda s: s, targets=targets,
                   correct=lambda logits, y: (logits.argmax(-1) == y).all(-1),
                   confidence=lambda logits: logits.softmax(-1).amax(-1).mean(-1))
    assert torch.allclose(tr.residual, torch.full((4, 5), 0.5, dtype=torch.float64))
    expected = s0.flatten(1).norm(dim=1)[:, None] * 0.5 ** torch.arange(1, 6, dtype=torch.float64)
    assert torch.allclose(tr.state_norm, expected)
    assert tr.changed.tolist() == [0.0] * 5 and tr.accuracy.tolist() == [0.75] * 5
    summary = tr.summary(points=(1, 5))
    assert summary["at"]["5"]["accuracy"] == 0.75 and summary["overthinking"] == 0.0
    assert overthinking([0.1, 0.9, 0.4]) == {"final": 0.4, "best": 0.9, "best_iter": 2, "overthinking": pytest.approx(0.5)}
