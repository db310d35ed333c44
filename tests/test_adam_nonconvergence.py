"""Unit tests of the adam-nonconvergence library: problems, the batched kernel against the
plain-Python loop and the shared optimizers, the blocked clipped scan, chunking, regret."""

import numpy as np
import pytest
from matplotlib.figure import Figure

from reproductions import adam_nonconvergence as an
from reproductions import optimizers as opt


# --- problems -----------------------------------------------------------------------------------
def test_theorem1_gradients_are_C_then_two_minus_ones():
    assert an.grad_array(an.theorem1(3.0), 7)[:, 0].tolist() == [3, -1, -1, 3, -1, -1, 3]


def test_online_gradients_are_1010_once_every_101_steps():
    g = an.grad_array(an.online(), 303)[:, 0]
    assert np.flatnonzero(g == 1010).tolist() == [0, 101, 202]  # t = 1, 102, 203
    assert set(g[g != 1010]) == {-10.0}


def test_gradients_do_not_depend_on_how_time_is_chunked():
    for prob in (an.theorem1(3.0), an.online(), an.stochastic([0, 1], 1000)):
        whole = prob.grads(1, 1001)
        parts = np.concatenate([prob.grads(1, 334), prob.grads(334, 900), prob.grads(900, 1001)])
        np.testing.assert_array_equal(whole, parts)


def test_stochastic_problem_is_reproducible_per_seed_with_rate_p():
    a = an.grad_array(an.stochastic([3, 4], 200_000), 200_000)
    b = an.grad_array(an.stochastic([4], 200_000), 200_000)
    np.testing.assert_array_equal(a[:, 1], b[:, 0])  # a seed's stream does not depend on others
    assert not np.array_equal(a[:, 0], a[:, 1])
    assert set(np.unique(a)) == {-10.0, 1010.0}
    assert abs((a == 1010).mean() - 0.01) < 0.001


# --- the clipped scan ---------------------------------------------------------------------------
def plain_scan(d, x, lo=-1.0, hi=1.0):
    out = np.empty_like(d)
    for r in range(d.shape[0]):
        out[r] = x
        x = np.clip(x - d[r], lo, hi)
    return out, x


@pytest.mark.parametrize("N", [1, 3, 50])
@pytest.mark.parametrize("Tc", [1, 2, 17, 1000, 4097])
@pytest.mark.parametrize("block", [None, 1, 2, 7, 64])
def test_blocked_scan_matches_the_plain_loop(N, Tc, block):
    rng = np.random.default_rng(N * 10_000 + Tc)
    d = rng.normal(0, 0.3, (Tc, N)) + rng.choice([-0.02, 0.02], N)  # hits both bounds
    x0 = rng.uniform(-1.5, 1.5, N)  # a start outside [-1, 1] is projected after one step
    want, want_next = plain_scan(d, x0.copy())
    out = np.empty_like(d)
    got_next = an.clip_scan(d, x0.copy(), out, block=block)
    np.testing.assert_allclose(out, want, rtol=0, atol=1e-12)
    np.testing.assert_allclose(got_next, want_next, rtol=0, atol=1e-12)
    assert np.all(np.abs(out[1:]) <= 1) and np.all(np.abs(got_next) <= 1)


# --- the kernel against the references ----------------------------------------------------------
CASES = [(an.theorem1(3.0), 0.0, 0.1, False), (an.theorem1(3.0), 0.9, 0.1, False),
         (an.online(), 0.9, 0.99, False), (an.online(), 0.9, 0.99, True),
         (an.online(), 0.0, 0.99, True)]


@pytest.mark.parametrize("prob,b1,b2,amsgrad", CASES)
@pytest.mark.parametrize("x0", [0.0, 1.0])
def test_kernel_matches_the_plain_python_loop(prob, b1, b2, amsgrad, x0):
    T = 5000
    g = an.grad_array(prob, T)[:, 0].tolist()
    xs, regret, tail_mean = an.naive_loop(g, b1, b2, amsgrad=amsgrad, x0=x0, tail=500)
    tr = an.run_linear(prob, T, b1=b1, b2=b2, amsgrad=amsgrad, x0=x0, tail=500,
                       record_at=range(1, T + 1), chunk=777)
    np.testing.assert_allclose(tr.x[:, 0], xs[:-1], rtol=0, atol=1e-12)
    assert tr.x_final[0] == pytest.approx(xs[-1], abs=1e-12)
    assert tr.regret_T[0] == pytest.approx(regret, rel=1e-12, abs=1e-9)
    assert tr.regret[-1, 0] == pytest.approx(regret, rel=1e-12, abs=1e-9)
    assert tr.tail_mean[0] == pytest.approx(tail_mean, abs=1e-12)


ADAM_VARIANTS = [dict(bias_correction=False, eps=0.0),
                 dict(bias_correction=False, eps=0.0, amsgrad=True),
                 dict(bias_correction=True, eps=1e-8),
                 dict(bias_correction=True, eps=1e-8, amsgrad=True),
                 dict(bias_correction=True, eps=1e-8, amsgrad=True, max_of_corrected=True),
                 dict(bias_correction=False, eps=0.0, amsgrad=True, max_of_corrected=True)]


@pytest.mark.parametrize("kw", ADAM_VARIANTS,
                         ids=lambda kw: ",".join(f"{k}={v}" for k, v in kw.items()))
def test_kernel_matches_optimizers_adam_for_every_variant(kw):
    """Several (beta1, beta2, x0) configurations at once, against the shared implementation."""
    T = 600
    prob = an.online()
    g = an.grad_array(prob, T)
    for b1, b2, x0 in ((0.9, 0.99, 0.0), (0.0, 0.5, 0.3), (0.5, 0.999, -0.7)):
        ref = an.optimizer_trajectory(opt.adam(opt.inverse_sqrt(0.5), b1=b1, b2=b2, **kw), g, x0)
        tr = an.run_linear(prob, T, b1=b1, b2=b2, x0=x0, record_at=range(1, T + 1), **kw)
        np.testing.assert_allclose(tr.x[:, 0], ref[:-1, 0], rtol=0, atol=1e-10)
        assert tr.x_final[0] == pytest.approx(ref[-1, 0], abs=1e-10)


@pytest.mark.parametrize("method", ["sgd", "adagrad"])
def test_kernel_matches_optimizers_sgd_and_adagrad(method):
    T = 600
    for prob in (an.theorem1(3.0), an.online()):
        g = an.grad_array(prob, T)
        o = opt.sgd(opt.inverse_sqrt(0.5)) if method == "sgd" else opt.adagrad(0.5, eps=0.0)
        ref = an.optimizer_trajectory(o, g, 0.2)
        tr = an.run_linear(prob, T, method=method, x0=0.2, record_at=range(1, T + 1))
        np.testing.assert_allclose(tr.x[:, 0], ref[:-1, 0], rtol=0, atol=1e-10)


def test_torch_adam_reference_matches_optimizers_adam():
    T = 300
    g = an.grad_array(an.online(), T)
    for amsgrad in (False, True):
        ours = an.optimizer_trajectory(
            opt.adam(opt.inverse_sqrt(0.5), b1=0.9, b2=0.99, amsgrad=amsgrad), g, 0.0)
        theirs = an.torch_adam_trajectory(g, 0.0, 0.9, 0.99, 0.5, amsgrad=amsgrad)
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-10)


# --- batching, chunking and bookkeeping ----------------------------------------------------------
def test_results_do_not_depend_on_the_chunk_size():
    T = 20_000
    b1 = np.array([0.0, 0.5, 0.9])
    runs = [an.run_linear(an.online(), T, b1=b1, b2=0.99, tail=2000, record_at=[1, 999, T],
                          chunk=c) for c in (7, 128, 1000, 8192, None)]
    for tr in runs[1:]:
        for a, b in zip(tr[:-1], runs[0][:-1]):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-9)


def test_phase_grid_fast_path_matches_separate_runs():
    b1s, b2s = np.array([0.0, 0.6, 0.95]), np.array([0.5, 0.9, 0.99, 0.999])
    x_tail, reg = an.phase_diagram(b1s, b2s, 3000)
    for i, b1 in enumerate(b1s):
        for j, b2 in enumerate(b2s):
            tr = an.run_linear(an.online(), 3000, b1=b1, b2=b2, tail=300)
            assert x_tail[i, j] == pytest.approx(tr.tail_mean[0], abs=1e-12)
            assert reg[i, j] == pytest.approx(tr.regret_T[0] / 3000, rel=1e-12, abs=1e-12)


def test_per_seed_gradient_columns_match_separate_runs():
    T, seeds = 5000, [0, 1, 2]
    together = an.run_linear(an.stochastic(seeds, T), T, b1=0.9, b2=0.99, amsgrad=True, tail=500)
    for k, s in enumerate(seeds):
        alone = an.run_linear(an.stochastic([s], T), T, b1=0.9, b2=0.99, amsgrad=True, tail=500)
        assert together.tail_mean[k] == pytest.approx(alone.tail_mean[0], abs=1e-12)
        assert together.regret_T[k] == pytest.approx(alone.regret_T[0], rel=1e-12)


def test_recorded_regret_and_tail_follow_their_definitions():
    T = 3000
    prob = an.stochastic([5], T)  # sum g changes sign along the way
    tr = an.run_linear(prob, T, b1=0.9, b2=0.99, tail=123, record_at=range(1, T + 1), chunk=500)
    g, x = an.grad_array(prob, T)[:, 0], tr.x[:, 0]
    G = np.cumsum(g)
    # min over [-1, 1] of the linear sum G x, by brute force on a grid that contains -1 and 1
    grid = np.linspace(-1, 1, 201)
    best = np.min(np.outer(G, grid), axis=1)
    np.testing.assert_allclose(tr.regret[:, 0], np.cumsum(g * x) - best, rtol=1e-12, atol=1e-8)
    assert tr.tail_mean[0] == pytest.approx(x[-123:].mean(), abs=1e-12)


def test_bad_arguments_are_rejected():
    with pytest.raises(ValueError):
        an.run_linear(an.online(), 10, record_at=[11])
    with pytest.raises(ValueError):
        an.run_linear(an.online(), 10, tail=11)
    with pytest.raises(ValueError):
        an.run_linear(an.online(), 10, method="rmsprop")
    with pytest.raises(ValueError):
        an.run_linear(an.stochastic([0, 1], 10), 10, b1=[0.0, 0.5, 0.9])


def test_figures_are_matplotlib_figures():
    tr = an.run_linear(an.online(), 1000, b1=[0.0, 0.9], b2=0.99, record_at=[1, 10, 100, 1000])
    one = an.run_linear(an.online(), 1000, b1=0.9, b2=0.99, record_at=[1, 10, 100, 1000])
    fig = an.figure_trajectories({"batch": tr, "single": one}, "t")
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    b1s, b2s = an.phase_grid(3, 4)
    x_tail, reg = an.phase_diagram(b1s, b2s, 1000)
    fig = an.figure_phase_diagram(b1s, b2s, x_tail, reg, "p")
    assert isinstance(fig, Figure) and len(fig.axes) == 4  # two maps and their colour bars
