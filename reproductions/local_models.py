"""Gradient descent, Newton's method and BFGS as steps on local models of f, on quadratics.

Notes 000/001 §1 present three methods as minimizers of local models of the objective:
gradient descent minimizes the linearization plus a quadratic penalty,
argmin_Delta g^T Delta + (beta/2) ||Delta||^2 = -g / beta; Newton's method steps
x - eta H^-1 g from the second-order model; quasi-Newton methods such as BFGS take the same
step with an inverse-Hessian estimate built from gradients only.

On a strictly convex quadratic f(x) = x^T A x / 2 - b^T x each has a closed form to check:
the penalized linear model is minimized where g + beta Delta = 0; one Newton step with eta = 1
lands on A^-1 b, and with eta < 1 it shrinks the error x - x* by exactly 1 - eta; BFGS from
H_0 = I with exact line searches ends, after n steps in R^n, at x* with H_n = A^-1 (quadratic
termination of the Broyden class with exact line searches; Nocedal & Wright, Numerical
Optimization, 2nd ed., 2006, Chapter 6). Everything is float64 numpy; each function takes a
seed or arrays and returns plain arrays and numbers.
"""

from __future__ import annotations

import numpy as np
import scipy.optimize

# Dimension and condition number of the test quadratics: small enough for exact linear algebra,
# ill-conditioned enough (kappa = 100) that plain gradient steps visibly fall short.
CONFIG = {"n": 6, "condition": 100.0}


def quadratic(seed: int, n: int = CONFIG["n"], condition: float = CONFIG["condition"]):
    """A random SPD matrix A (eigenvalues log-spaced in [1, condition], random eigenvectors), a
    linear term b and a start x0, all N(0, 1) draws of ``seed``."""
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    A = (Q * np.geomspace(1.0, condition, n)) @ Q.T
    return (A + A.T) / 2, rng.standard_normal(n), rng.standard_normal(n)


def objective(A, b, x):
    """f(x) = x^T A x / 2 - b^T x."""
    return 0.5 * x @ A @ x - b @ x


def gradient(A, b, x):
    """grad f(x) = A x - b (checked against autograd by the claim's precondition)."""
    return A @ x - b


def linear_model_minimizer(g, beta):
    """The notes' minimizer of g^T Delta + (beta/2) ||Delta||^2: Delta = -g / beta."""
    return -g / beta


def penalized_linear_model(g, beta, delta, metric=None):
    """g^T Delta + (beta/2) Delta^T M Delta (M = I: the notes' penalty)."""
    M = np.eye(len(g)) if metric is None else metric
    return g @ delta + 0.5 * beta * delta @ M @ delta


def numerical_minimizer(g, beta, metric=None):
    """The penalized linear model minimized by scipy's BFGS from 0 (no closed form used)."""
    result = scipy.optimize.minimize(
        lambda d: penalized_linear_model(g, beta, d, metric),
        np.zeros_like(g), jac=lambda d: g + beta * (d if metric is None else metric @ d),
        method="BFGS", options={"gtol": 1e-12})
    return result.x


def newton_step(A, b, x, eta):
    """x - eta H^-1 g with H = A, the Hessian of the quadratic."""
    return x - eta * np.linalg.solve(A, gradient(A, b, x))


def gradient_step(A, b, x, lr):
    """x - lr g."""
    return x - lr * gradient(A, b, x)


def bfgs_update(H, s, y):
    """BFGS's inverse-Hessian update: H+ = (I - rho s y^T) H (I - rho y s^T) + rho s s^T,
    rho = 1 / (y^T s) (Nocedal & Wright, eq. (6.17))."""
    rho = 1.0 / (y @ s)
    V = np.eye(len(s)) - rho * np.outer(s, y)
    return V @ H @ V.T + rho * np.outer(s, s)


def bfgs_update_expanded(H, s, y):
    """The same update multiplied out (a second form to check the first against):
    H + (s^T y + y^T H y) s s^T / (s^T y)^2 - (H y s^T + s y^T H) / (s^T y)."""
    sy, Hy = s @ y, H @ y
    return H + (sy + y @ Hy) * np.outer(s, s) / sy**2 - (np.outer(Hy, s) + np.outer(s, Hy)) / sy


def exact_line_search(A, b, x, direction):
    """argmin_t f(x + t p) on the quadratic: t = -g^T p / p^T A p."""
    return -(gradient(A, b, x) @ direction) / (direction @ A @ direction)


def bfgs_run(A, b, x0, steps: int, line_search_scale: float = 1.0) -> dict:
    """BFGS from H_0 = I, each step along -H g with the exact line-search length (times
    ``line_search_scale``: 1 is exact). Returns the iterates, the inverse-Hessian estimates, each
    step's secant residual ||H_(k+1) y_k - s_k|| / ||s_k|| and the directional derivative of f
    at the new point along the step, relative to the one at the old point (0 when exact)."""
    x, H = np.array(x0, dtype=float), np.eye(len(x0))
    xs, Hs, secant, slope = [x], [H], [], []
    for _ in range(steps):
        g = gradient(A, b, x)
        direction = -H @ g
        s = line_search_scale * exact_line_search(A, b, x, direction) * direction
        x_new = x + s
        y = gradient(A, b, x_new) - g
        H = bfgs_update(H, s, y)
        secant.append(np.linalg.norm(H @ y - s) / np.linalg.norm(s))
        slope.append(abs(gradient(A, b, x_new) @ direction) / abs(g @ direction))
        x = x_new
        xs.append(x)
        Hs.append(H)
    return {"x": np.array(xs), "H": np.array(Hs), "secant": np.array(secant),
            "slope": np.array(slope)}


def relative_error(estimate, truth) -> float:
    """||estimate - truth|| / ||truth|| (Frobenius for matrices)."""
    return float(np.linalg.norm(estimate - truth) / np.linalg.norm(truth))


def lbfgs_direction(g, pairs):
    """L-BFGS's two-loop recursion: H g from the stored (s, y) pairs (oldest first) and
    H_0 = I (Nocedal & Wright, Algorithm 7.4, with their scaling of H_0 left out, as in bfgs_run).
    With every pair since H_0 stored it is BFGS's H_k g exactly."""
    q, alphas = np.array(g, dtype=float), []
    for s, y in reversed(pairs):
        alpha = (s @ q) / (y @ s)
        q = q - alpha * y
        alphas.append(alpha)
    r = q
    for (s, y), alpha in zip(pairs, reversed(alphas)):
        beta = (y @ r) / (y @ s)
        r = r + s * (alpha - beta)
    return r


def lbfgs_against_bfgs(A, b, x0, steps: int, memory: int) -> float:
    """Along BFGS's own iterates: max over steps of ||L-BFGS(memory) H g - BFGS H_k g|| / ||H_k g||
    at a fixed random vector g, for the pairs BFGS produced."""
    run = bfgs_run(A, b, x0, steps)
    s_all = np.diff(run["x"], axis=0)
    y_all = s_all @ A.T
    probe = np.random.default_rng(0).standard_normal(len(x0))
    gaps = []
    for k in range(1, steps + 1):
        pairs = list(zip(s_all[:k], y_all[:k]))[-memory:]
        exact = run["H"][k] @ probe
        gaps.append(np.linalg.norm(lbfgs_direction(probe, pairs) - exact) / np.linalg.norm(exact))
    return float(max(gaps))
