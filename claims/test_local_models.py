"""Gradient descent, Newton's method and quasi-Newton methods as steps on local models of f, as
notes 000/001 §1 present them, checked on strictly convex quadratics where each has a closed form.

Sources: notes 000/001 §1 (the three bullets: gradient descent as the minimizer of the penalized
linearization, Newton's method from the second-order model, BFGS and L-BFGS approximating the
inverse Hessian); Nocedal & Wright, Numerical Optimization, 2nd ed. (2006), Chapters 6-7 (the BFGS
update, quadratic termination with exact line searches, L-BFGS's two-loop recursion).
Kernels in ``reproductions/local_models.py``.

Seeds: every statement here is exact algebra, so each check is the worst case over 20 seeds
(base seed S: S .. S + 19) against a round-off tolerance, not a seed statistic. The tolerances
leave >= 100x over the worst of seeds 0-199 and 10000-10199 (measured: Newton 6e-14, the
contraction 2e-12, BFGS's H_n 1.2e-12, L-BFGS 1.3e-12); the controls' margins are stated where
they are checked.
"""

import numpy as np
import pytest
import torch

from optclaims_report.claim import measured, part, seed_range, theory, tried
from reproductions import local_models as lm

NOTES = "notes 000/001 §1"
NW = "Nocedal & Wright, Numerical Optimization, 2nd ed. (2006)"
N_SEEDS = 20
CLAIMS = [
    {"id": "local-model-steps", "title": "Gradient descent, Newton's method and BFGS are the "
     "steps of their local models",
     "statement": "On a strictly convex quadratic: the minimizer of the linearization plus "
                  "(beta/2) ||Delta||^2 is -g / beta; one Newton step x - eta H^-1 g with eta = 1 "
                  "lands on the minimizer and with eta < 1 shrinks the error by exactly 1 - eta; "
                  "BFGS, from gradients only, builds the inverse Hessian: with exact line "
                  "searches H_n = A^-1 after n steps in R^n, and L-BFGS holding every pair gives "
                  "the same H g.",
     "sources": [f"{NOTES} (gradient descent, Newton's method, quasi-Newton methods)",
                 f"{NW}, Chapters 6 and 7"],
     "parts": [
         part("linearization-minimizer", "effect", "The penalized linear model g^T Delta + "
              "(beta/2) ||Delta||^2, minimized numerically (scipy's BFGS from 0, no closed form "
              "used), has its minimizer at -g / beta to 1e-8 (relative), for random g and beta in "
              "[0.5, 5].", f"{NOTES}, first bullet (display)",
              judges=("notes-gd-linearization-minimizer",)),
         part("other-metric-differs", "control", "With the penalty measured in another metric, "
              "(beta/2) Delta^T M Delta (M SPD with eigenvalues 0.2 to 5), the numerical "
              "minimizer is more than 10% away from -g / beta on every seed: the comparison can "
              "tell a wrong penalty.", "our control"),
         part("newton-lands", "effect", "One Newton step with eta = 1 from a random start lands "
              "on A^-1 b to 1e-10 (relative), at condition number 100; with eta = 0.1, 0.5, 0.9 "
              "each coordinate of the error x - x* is multiplied by exactly 1 - eta (to 1e-9).",
              f"{NOTES}, second bullet (Newton's method)",
              judges=("notes-newton-step-quadratic",)),
         part("gradient-step-falls-short", "control", "One gradient step at the best fixed "
              "step size 2 / (mu + L) leaves more than 10% of the error on every seed: the "
              "curvature in H^-1 is what lands the Newton step.", "our control"),
         part("bfgs-builds-inverse-hessian", "effect", "BFGS from H_0 = I with exact line "
              "searches, using gradients only, ends after n = 6 steps with H_6 = A^-1 (to 1e-8, "
              "relative) and x_6 = A^-1 b (to 1e-10); L-BFGS's two-loop recursion holding all "
              "pairs gives BFGS's H_k g at every step (to 1e-8).",
              f"{NOTES}, second bullet (quasi-Newton methods, BFGS and L-BFGS); {NW}, "
              "Chapter 6 (quadratic termination)", judges=("notes-bfgs-inverse-hessian",)),
         part("inexact-line-search-breaks-it", "control", "The same BFGS with steps half the "
              "exact line-search length misses A^-1 by more than 1% after n steps on every "
              "seed, and L-BFGS with 2 pairs misses BFGS's H g by more than 1%: what the "
              "effect checks depends on the exact line search and the full memory.",
              "our control"),
         part("kernels-exact", "precondition", "The kernels compute what they stand for: the "
              "quadratic's gradient and Hessian equal autograd's (1e-12), the BFGS update equals "
              "its multiplied-out form (1e-12) and meets the secant condition H_(k+1) y_k = s_k "
              "(1e-10), and the exact line search zeroes the directional derivative (1e-10).",
              f"{NW}, eqs. (6.17), (6.6)"),
     ],
     "configurations_tried": [
         tried("n = 6, condition 100, seeds 0-199 and 10000-10199", "Newton (eta 1) relative "
               "error max 6.2e-14; contraction |e1/e0 - (1 - eta)| max 2.0e-12; BFGS H_6 "
               "relative error max 1.2e-12, x_6 max 6.0e-15; L-BFGS (all pairs) max 1.3e-12",
               kept=True),
         tried("controls on the same seeds", "best-step GD keeps 0.31-0.98 of the error; "
               "half-length line search: H_6 off by 0.026-0.87; L-BFGS with 2 pairs off by "
               "0.24-10; the metric-M minimizer 0.38-3.7 from -g/beta", kept=True),
         tried("H_(n-1) as the control (one step short)", "median 0.40 off, but 8.9e-6 on one "
               "of 400 seeds (the start had almost no error along one eigenvector): not a "
               "control on every seed; the half-length line search replaced it", kept=False),
     ]},
]


@pytest.fixture(scope="module")
def seeds(seed):
    return seed_range(seed, N_SEEDS)


@pytest.fixture(scope="module")
def problems(seeds):
    return [lm.quadratic(s) for s in seeds]


@pytest.fixture(scope="module")
def bfgs_runs(problems):
    """BFGS with exact line searches from H_0 = I, n steps, on every problem."""
    return [lm.bfgs_run(A, b, x0, lm.CONFIG["n"]) for A, b, x0 in problems]


def model_draws(seed):
    """A gradient g, a penalty beta in [0.5, 5] and an SPD metric M (eigenvalues 0.2-5)."""
    rng = np.random.default_rng(seed + 7)
    g, beta = rng.standard_normal(lm.CONFIG["n"]), rng.uniform(0.5, 5.0)
    Q, _ = np.linalg.qr(rng.standard_normal((lm.CONFIG["n"], lm.CONFIG["n"])))
    return g, beta, (Q * np.geomspace(0.2, 5.0, lm.CONFIG["n"])) @ Q.T


@pytest.mark.part("linearization-minimizer")
def test_the_penalized_linearization_is_minimized_at_minus_g_over_beta(seeds, evidence):
    evidence.seeds(seeds)
    errors = []
    for s in seeds:
        g, beta, _ = model_draws(s)
        errors.append(lm.relative_error(lm.numerical_minimizer(g, beta),
                                        lm.linear_model_minimizer(g, beta)))
    evidence.check("max over seeds: |numerical minimizer - (-g / beta)| / |g / beta|",
                   max(errors), "<=", 1e-8, theory(0.0, "exact (round-off and scipy's gtol)"))


@pytest.mark.part("other-metric-differs")
def test_a_penalty_in_another_metric_moves_the_minimizer(seeds, evidence):
    evidence.seeds(seeds)
    gaps = []
    for s in seeds:
        g, beta, M = model_draws(s)
        gaps.append(lm.relative_error(lm.numerical_minimizer(g, beta, M),
                                      lm.linear_model_minimizer(g, beta)))
    evidence.check("min over seeds: |minimizer with metric M - (-g / beta)| / |g / beta|",
                   min(gaps), ">", 0.1, measured(0.38, "min over seeds 0-199, 10000-10199"))


@pytest.mark.part("newton-lands")
def test_one_newton_step_lands_on_the_minimizer_of_a_quadratic(problems, seeds, evidence):
    evidence.seeds(seeds)
    evidence.note(f"Quadratics f = x^T A x / 2 - b^T x in R^{lm.CONFIG['n']}, eigenvalues of A "
                  f"log-spaced in [1, {lm.CONFIG['condition']:g}], random eigenvectors, b and "
                  "the start x0 N(0, I).")
    landed = [lm.relative_error(lm.newton_step(A, b, x0, 1.0), np.linalg.solve(A, b))
              for A, b, x0 in problems]
    evidence.check("max over seeds: |Newton step (eta = 1) - A^-1 b| / |A^-1 b|", max(landed),
                   "<=", 1e-10, theory(0.0, "exact (round-off)"))
    for eta in (0.1, 0.5, 0.9):
        worst = 0.0
        for A, b, x0 in problems:
            x_star = np.linalg.solve(A, b)
            ratio = (lm.newton_step(A, b, x0, eta) - x_star) / (x0 - x_star)
            worst = max(worst, float(np.max(np.abs(ratio - (1 - eta)))))
        evidence.check(f"eta = {eta}: max over seeds and coordinates of |(x1 - x*) / (x0 - x*) "
                       f"- (1 - eta)|", worst, "<=", 1e-9, theory(0.0, "exact: the error "
                                                                 "shrinks by 1 - eta"))


@pytest.mark.part("gradient-step-falls-short")
def test_a_gradient_step_at_the_best_fixed_size_falls_short(problems, seeds, evidence):
    evidence.seeds(seeds)
    left = []
    for A, b, x0 in problems:
        low, high = np.linalg.eigvalsh(A)[[0, -1]]
        x_star = np.linalg.solve(A, b)
        left.append(np.linalg.norm(lm.gradient_step(A, b, x0, 2 / (low + high)) - x_star) /
                    np.linalg.norm(x0 - x_star))
    evidence.record("error left by one gradient step at lr 2 / (mu + L), per seed", left)
    evidence.check("min over seeds: |x1 - x*| / |x0 - x*| after one gradient step", min(left),
                   ">", 0.1, measured(0.31, "min over seeds 0-199, 10000-10199"))


@pytest.mark.part("bfgs-builds-inverse-hessian")
def test_bfgs_with_exact_line_searches_ends_with_the_inverse_hessian(problems, bfgs_runs, seeds,
                                                                      evidence):
    evidence.seeds(seeds)
    n = lm.CONFIG["n"]
    runs = bfgs_runs
    H_error = [lm.relative_error(r["H"][-1], np.linalg.inv(A)) for r, (A, _, _) in
               zip(runs, problems)]
    x_error = [lm.relative_error(r["x"][-1], np.linalg.solve(A, b)) for r, (A, b, _) in
               zip(runs, problems)]
    evidence.check(f"max over seeds: |H_{n} - A^-1|_F / |A^-1|_F", max(H_error), "<=", 1e-8,
                   theory(0.0, "exact: quadratic termination"))
    evidence.check(f"max over seeds: |x_{n} - A^-1 b| / |A^-1 b|", max(x_error), "<=", 1e-10,
                   theory(0.0, "exact: quadratic termination"))
    one_short = [lm.relative_error(r["H"][-2], np.linalg.inv(A)) for r, (A, _, _) in
                 zip(runs, problems)]
    evidence.record(f"|H_{n - 1} - A^-1|_F / |A^-1|_F per seed (one step short)", one_short)
    lbfgs = [lm.lbfgs_against_bfgs(A, b, x0, n, memory=n) for A, b, x0 in problems]
    evidence.check("max over seeds and steps: |L-BFGS (all pairs) H g - BFGS H_k g| / |H_k g|",
                   max(lbfgs), "<=", 1e-8, theory(0.0, "exact: the same update"))


@pytest.mark.part("inexact-line-search-breaks-it")
def test_bfgs_needs_the_exact_line_search_and_lbfgs_the_full_memory(problems, seeds, evidence):
    evidence.seeds(seeds)
    n = lm.CONFIG["n"]
    half = [lm.relative_error(lm.bfgs_run(A, b, x0, n, line_search_scale=0.5)["H"][-1],
                              np.linalg.inv(A)) for A, b, x0 in problems]
    evidence.check(f"min over seeds: |H_{n} - A^-1|_F / |A^-1|_F with half-length steps",
                   min(half), ">", 0.01, measured(0.026, "min over seeds 0-199, 10000-10199"))
    short = [lm.lbfgs_against_bfgs(A, b, x0, n, memory=2) for A, b, x0 in problems]
    evidence.check("min over seeds: max over steps of |L-BFGS (2 pairs) H g - BFGS H_k g| / "
                   "|H_k g|", min(short), ">", 0.01,
                   measured(0.24, "min over seeds 0-99, 10000-10099"))


def autograd_derivatives(A, b, x):
    """The quadratic's gradient and Hessian by torch.autograd."""
    At, bt = torch.tensor(A), torch.tensor(b)

    def f(v):
        return 0.5 * v @ At @ v - bt @ v
    xt = torch.tensor(x, requires_grad=True)
    (grad,) = torch.autograd.grad(f(xt), xt)
    return grad.numpy(), torch.autograd.functional.hessian(f, torch.tensor(x)).numpy()


@pytest.mark.part("kernels-exact")
def test_the_kernels_match_autograd_and_the_bfgs_identities(problems, bfgs_runs, seeds, evidence):
    evidence.seeds(seeds)
    grad_gap, hess_gap, form_gap, secant, slope = 0.0, 0.0, 0.0, 0.0, 0.0
    for s, (A, b, x0), run in zip(seeds, problems, bfgs_runs):
        grad, hess = autograd_derivatives(A, b, x0)
        grad_gap = max(grad_gap, lm.relative_error(lm.gradient(A, b, x0), grad))
        hess_gap = max(hess_gap, lm.relative_error(A, hess))
        rng = np.random.default_rng(s + 11)
        H, step = np.linalg.inv(A + np.diag(rng.uniform(size=len(b)))), rng.standard_normal(len(b))
        form_gap = max(form_gap, lm.relative_error(lm.bfgs_update(H, step, A @ step),
                                                   lm.bfgs_update_expanded(H, step, A @ step)))
        secant, slope = max(secant, run["secant"].max()), max(slope, run["slope"].max())
    evidence.check("max over seeds: |gradient - autograd's| / |autograd's|", grad_gap, "<=",
                   1e-12, theory(0.0, "exact"))
    evidence.check("max over seeds: |A - autograd's Hessian|_F / |A|_F", hess_gap, "<=", 1e-12,
                   theory(0.0, "exact"))
    evidence.check("max over seeds: |BFGS update - its multiplied-out form|_F / |form|_F",
                   form_gap, "<=", 1e-12, theory(0.0, "exact"))
    evidence.check("max over seeds and steps: secant residual |H_(k+1) y_k - s_k| / |s_k|",
                   secant, "<=", 1e-10, theory(0.0, "exact: the secant condition"))
    evidence.check("max over seeds and steps: |directional derivative after / before the line "
                   "search|", slope, "<=", 1e-10, theory(0.0, "exact line search"))
