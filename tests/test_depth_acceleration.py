"""Unit tests of reproductions/depth_acceleration.py: hand-derived gradients vs autograd, the
batched grid trainer vs the naive per-configuration loop, the end-to-end rule's pieces, the L*
solvers, and the gpu tier's convnet at toy size on CPU. Synthetic data only (no data files)."""

import numpy as np
import pytest
import scipy.optimize
import torch

from reproductions import depth_acceleration as da
from reproductions import linear_nets as ln
from reproductions.data import standardize


def toy_problem(m=60, d=8, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(m, d)) @ np.diag(np.logspace(0, -2, d))  # ill-conditioned columns
    y = X @ rng.normal(size=d) + 0.3 * rng.normal(size=m)
    X, y = standardize(X, y)
    return ln.Problem(X, y, f"toy {m}x{d}")


TOY = toy_problem()
SMALL = {**da.CONFIG, "n_log": 8, "n_linear": 10}


# --- gradients -----------------------------------------------------------------------------------
@pytest.mark.parametrize("p", [2, 4])
def test_grad_fn_matches_the_direct_formula_in_both_layouts(p):
    """l2 from X^T X / m and X^T y / m, l4 in the column (C >= 16) and row (C < 16) layouts."""
    rng = np.random.default_rng(1)
    g = ln.grad_fn(TOY, p, torch.float64)
    for C in (3, 20):
        w = rng.normal(size=(TOY.X.shape[1], C))
        r = TOY.X @ w - TOY.y[:, None]
        want = TOY.X.T @ (np.abs(r) ** (p - 1) * np.sign(r)) / TOY.m
        np.testing.assert_allclose(g(torch.tensor(w)).numpy(), want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("p", [2, 4])
def test_width_1_factor_gradients_match_autograd(p):
    """grad W_1 = s g, grad a_k = (prod_{j != k} a_j)(W_1 . g), frozen factors get zero."""
    d, K = TOY.X.shape[1], 2
    rng = np.random.default_rng(2)
    P = torch.tensor(rng.normal(size=(d + K, 3)), requires_grad=True)
    trainable = torch.tensor([[0.0, 1.0, 1.0], [0.0, 0.0, 1.0]])  # depths 1, 2, 3
    with torch.no_grad():
        P[d:][trainable == 0] = 1.0
    X, y = torch.tensor(TOY.X), torch.tensor(TOY.y)[:, None]
    w = P[:d] * P[d:].prod(0, keepdim=True)
    ((X @ w - y).abs() ** p).mean(0).div(p).sum().backward()
    grads, w_hand = ln.factor_grads(P.detach(), ln.grad_fn(TOY, p, torch.float64), d, trainable)
    np.testing.assert_allclose(w_hand.numpy(), w.detach().numpy(), rtol=1e-14)
    want = P.grad.clone()
    want[d:] *= trainable
    np.testing.assert_allclose(grads.numpy(), want.numpy(), rtol=1e-10, atol=1e-13)


def test_wide_factor_gradients_match_autograd():
    """grad W_j = (W_N..W_{j+1})^T g (W_{j-1}..W_1)^T for depth 3, width 5, batched."""
    rng = np.random.default_rng(3)
    d, h, C = TOY.X.shape[1], 5, 2
    Ws = [torch.tensor(rng.normal(size=s), requires_grad=True)
          for s in ((C, h, d), (C, h, h), (C, 1, h))]
    w = (Ws[2] @ Ws[1] @ Ws[0])[:, 0, :]
    X, y = torch.tensor(TOY.X), torch.tensor(TOY.y)
    (((w @ X.T - y) ** 4).mean(1) / 4).sum().backward()
    g = ln.grad_fn(TOY, 4, torch.float64)(w.detach().T).T[:, None, :]
    for hand, W in zip(ln.wide_factor_grads([W.detach() for W in Ws], g), Ws):
        np.testing.assert_allclose(hand.numpy(), W.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_zero_padding_makes_a_wide_net_exactly_a_narrow_one():
    """train_wide's padding: width 1 inside a width-4 tensor equals width 1 alone."""
    a = da.train_wide(TOY, 4, 2, (1, 4), [0], 0.05, 50, torch.float64, SMALL)[0, 0]
    b = da.train_wide(TOY, 4, 2, (1,), [0], 0.05, 50, torch.float64, SMALL)[0, 0]
    np.testing.assert_allclose(a, b, rtol=1e-12)


# --- the batched trainer --------------------------------------------------------------------------
@pytest.mark.parametrize("p", [2, 4])
def test_batched_grid_trainer_matches_the_naive_per_config_loop(p):
    """train_grid (hand gradients, all configs as columns, shared optimizer) and train_naive
    (nn.Linear + torch.optim.SGD + autograd, one config at a time) share no update code."""
    steps, lrs = 120, (-1.5, -1.0)
    g = da.train_grid(TOY, p, [4, 5], (1, 2, 3), lrs, steps, dtype=torch.float64, config=SMALL)
    for i, s in enumerate((4, 5)):
        for j, depth in enumerate((1, 2, 3)):
            for k, e in enumerate(lrs):
                losses, w = da.train_naive(TOY, p, depth, 10.0**e, s, steps, torch.float64)
                at = g.steps[g.steps < steps]
                np.testing.assert_allclose(g.loss[i, j, k, :len(at)], losses[at], rtol=1e-11)
                np.testing.assert_allclose(g.w[i, j, k], w, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("name", ["gd", "adagrad", "adadelta", "adam"])
def test_shallow_columns_are_unaffected_by_deeper_ones(name):
    """A depth-1 column batched with depth-3 columns (its unused factors frozen at 1) ends where
    a depth-1 run alone ends, for every optimizer: the frozen factors get zero gradient."""
    mixed = da.train_grid(TOY, 4, [0], (1, 3), (-2.0,), 200, name, torch.float64, config=SMALL)
    alone = da.train_grid(TOY, 4, [0], (1,), (-2.0,), 200, name, torch.float64, config=SMALL)
    np.testing.assert_allclose(mixed.loss[0, 0], alone.loss[0, 0], rtol=1e-12)


def test_a_diverging_config_is_dropped_counts_as_inf_and_leaves_the_others_alone():
    both = da.train_grid(TOY, 4, [0], (1,), (-1.0, 1.5), 300, dtype=torch.float64, config=SMALL)
    alone = da.train_grid(TOY, 4, [0], (1,), (-1.0,), 300, dtype=torch.float64, config=SMALL)
    assert np.isinf(both.final[0, 0, 1]) and np.isnan(both.w[0, 0, 1]).all()
    np.testing.assert_allclose(both.loss[0, 0, 0], alone.loss[0, 0, 0], rtol=1e-12)
    assert both.config_steps < 2 * 300


def test_best_over_lr_counts_nan_as_inf():
    best, arg = ln.best_over_lr(np.array([[np.nan, 0.3, np.inf, 0.2]]))
    assert best[0] == 0.2 and arg[0] == 3
    best, arg = ln.best_over_lr(np.array([[np.nan, 0.1]]))
    assert arg[0] == 1


def test_record_steps_start_at_0_and_end_at_T():
    r = ln.record_steps(1000, 10, 10)
    assert r[0] == 0 and r[-1] == 1000 and np.all(np.diff(r) > 0) and 100 in r


# --- the end-to-end rule --------------------------------------------------------------------------
def test_single_output_rule_is_the_general_rule_with_one_row():
    """||w||^{2-2/N}(g + (N-1) Pr_w g) = sum_j [ww^T]^{(j-1)/N} g [w^Tw]^{(N-j)/N} for k = 1."""
    rng = np.random.default_rng(5)
    w, g = rng.normal(size=7), rng.normal(size=7)
    for N in (1, 2, 3, 4):
        single = (torch.tensor(w)[:, None] - ln.e2e_step_single(
            torch.tensor(w)[:, None], torch.tensor(g)[:, None], 1.0, N)).numpy()[:, 0]
        general = ln.e2e_direction_multi(w[None, :], g[None, :], N)[0]
        np.testing.assert_allclose(single, general, rtol=1e-10)


def test_e2e_rule_at_depth_1_is_gradient_descent():
    rng = np.random.default_rng(6)
    w, g = torch.tensor(rng.normal(size=(5, 2))), torch.tensor(rng.normal(size=(5, 2)))
    np.testing.assert_allclose(ln.e2e_step_single(w, g, 0.1, 1).numpy(), (w - 0.1 * g).numpy())


def test_balanced_factors_multiply_to_w0_and_are_balanced():
    w0 = np.random.default_rng(7).normal(size=6)
    for N in (2, 3):
        f = ln.balanced_factors(w0, N)
        np.testing.assert_allclose(f[:6] * np.prod(f[6:]), w0, rtol=1e-12)
        np.testing.assert_allclose(f[6:] ** 2, np.sum(f[:6] ** 2), rtol=1e-12)


def test_balanced_multi_output_factors():
    rng = np.random.default_rng(8)
    We = rng.normal(size=(3, 6))
    Ws = ln.balanced_multi(We, 3, 5, rng)
    np.testing.assert_allclose(Ws[2] @ Ws[1] @ Ws[0], We, atol=1e-12)
    for j in range(2):
        np.testing.assert_allclose(Ws[j + 1].T @ Ws[j + 1], Ws[j] @ Ws[j].T, atol=1e-12)


def test_dropping_the_projection_term_breaks_the_tracking():
    """The planted bug: without (N-1) Pr_w the rule no longer follows balanced deep training."""
    cfg = {**SMALL, "e2e": {"steps": 1000, "lr": 1e-3, "init_norm": 0.5, "depths": (2, 3)},
           "dtype": torch.float64}
    good = da.e2e_vs_real(TOY, 4, 0, cfg)
    bad = da.e2e_vs_real(TOY, 4, 0, cfg, drop_projection=True)
    dev = lambda r: np.max(np.abs(r["e2e"] - r["real"]) / r["real"])  # noqa: E731
    assert dev(good) < 0.02 < dev(bad)


def test_claim_1_distinguishes_the_papers_exponent_from_the_slides():
    e = da.claim1_check(0)
    assert e["paper"] < 1e-10 and e["eigvec_residual"] < 1e-10 and e["slide"] > 0.1


# --- the optimum ----------------------------------------------------------------------------------
def test_least_squares_optimum_solves_the_normal_equations():
    w, L = ln.solve_l2(TOY)
    np.testing.assert_allclose(TOY.X.T @ (TOY.X @ w - TOY.y), 0, atol=1e-10)
    assert L == pytest.approx(0.5 * np.mean((TOY.X @ w - TOY.y) ** 2), rel=1e-14)


def test_l4_newton_optimum_agrees_with_scipy():
    w, L, info = ln.solve_l4(TOY)
    assert info["grad_norm"] < 1e-10
    X, y, m = TOY.X, TOY.y, TOY.m
    ref = scipy.optimize.minimize(lambda v: np.mean((X @ v - y) ** 4) / 4, np.zeros(X.shape[1]),
                                  jac=lambda v: X.T @ (X @ v - y) ** 3 / m, method="BFGS",
                                  options={"gtol": 1e-12, "maxiter": 10_000})
    assert L <= ref.fun + 1e-15
    assert L == pytest.approx(ref.fun, rel=1e-8)


def test_ratios_and_time_to_reach_on_a_hand_built_grid():
    steps = np.array([0, 5, 10])
    d1 = [[3.0, 2.0, 1.5], [3.0, 2.5, np.inf]]     # best lr: index 0, final 1.5
    d2 = [[3.0, 1.2, 1.0], [3.0, 2.0, 1.25]]       # best lr: index 0, final 1.0
    d3 = [[3.0, 2.9, 2.0], [3.0, 1.4, 1.25]]       # best lr: index 1, final 1.25
    g = ln.Grid(4, "gd", [0], [1, 2, 3], np.array([-3.0, -2.0]), steps,
                np.array([[d1, d2, d3]]), np.zeros((1, 3, 2, 1)), lstar=0.5)
    r = da.depth_ratios(g)
    assert r["ratio2"][0] == pytest.approx(1.0 / 0.5)
    assert r["ratio3"][0] == pytest.approx(1.0 / 0.75)
    assert list(r["best_lr"][0]) == [-3.0, -3.0, -2.0]
    assert ln.time_to_reach(g, 1.5, 0, 1, 0) == pytest.approx(0.5)
    assert ln.time_to_reach(g, 1.5, 0, 2, 1) == pytest.approx(0.5)
    assert ln.time_to_reach(g, 0.1, 0, 1, 0) == np.inf


# --- the gpu tier's code path on CPU --------------------------------------------------------------
def test_product_of_two_dense_layers_adds_about_16_percent_parameters():
    n = [sum(q.numel() for q in da.ConvNet(o).parameters()) for o in (False, True)]
    assert n[1] / n[0] - 1 == pytest.approx(0.158, abs=0.005)


def test_overparameterized_net_starts_as_the_original():
    torch.manual_seed(0)
    a = da.ConvNet(False)
    torch.manual_seed(0)
    b = da.ConvNet(True)
    x = torch.randn(2, 1, 28, 28)
    torch.testing.assert_close(a(x), b(x))


def test_convnet_trainer_runs_on_cpu_at_toy_size():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (24, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, 24)
    cfg = {**da.CONVNET, "steps": 4, "batch": 8}
    for over in (False, True):
        log = da.train_convnet(images, labels, over, 0, torch.device("cpu"), cfg)
        assert log["ce"].shape == (4,) and np.isfinite(log["ce"]).all()
        assert (log["penalty"] > 0).all()
