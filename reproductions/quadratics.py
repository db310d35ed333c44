"""Optimizer mechanics on quadratics and one-dimensional functions: step-size limits, momentum,
Nesterov's worst case, and AdaGrad's vanishing learning rate.

Sources: slides 002 ("The step size", "Momentum", "SGD with Nesterov's momentum", "Motivation"),
lecture notes 000/001 §1.2 (AdaGrad and RMSProp), Nesterov, *Introductory Lectures on Convex
Optimization* (2004), §2.1.2 (the worst function in the world) and §2.2 (the bound
2 L ||x_0 - x*||^2 / (k + 1)^2), Polyak (1964) for the heavy ball's optimal parameters.

Every run uses the shared optimizers of ``reproductions.optimizers`` on a batch of problems
(seeds on the leading axis), in float64.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from . import optimizers as optim

CONFIG = {
    "dim": 50,              # dimension of the random quadratics
    "steps_limit": 2000,    # GD steps at 0.99 and 1.01 x 2/L
    "kappa": 1000.0,        # condition number of the "Motivation" quadratic
    "steps_kappa": 500,     # iterations compared at that condition number
    "kappa_control": 2.0,   # a well-conditioned quadratic: momentum buys little there
    "nesterov_k": 100,      # iterations on Nesterov's worst-case function
    "nesterov_dim": 201,    # its dimension 2k + 1
}


def random_quadratic(seed: int, dim: int, kappa: float):
    """A = Q diag(lambda) Q^T with eigenvalues log-spaced in [1, kappa] and a random rotation Q;
    x_0 ~ N(0, I). f(x) = x^T A x / 2, minimum 0 at x = 0."""
    g = torch.Generator().manual_seed(seed)
    Q, _ = torch.linalg.qr(torch.randn(dim, dim, generator=g, dtype=torch.float64))
    lam = torch.logspace(0, math.log10(kappa), dim, dtype=torch.float64)
    return (Q * lam) @ Q.T, torch.randn(dim, generator=g, dtype=torch.float64), lam


def quadratic_batch(seeds, dim: int, kappa: float):
    """Stacked (A, x0, eigenvalues) of ``random_quadratic`` for each seed."""
    parts = [random_quadratic(s, dim, kappa) for s in seeds]
    return tuple(torch.stack(p) for p in zip(*parts))


def run_on_quadratic(opt: optim.Optimizer, A: torch.Tensor, x0: torch.Tensor, steps: int,
                     record: int = 1) -> np.ndarray:
    """f(x_t) for t = 0, record, 2 record, ..., steps on f(x) = x^T A x / 2 (batched over the
    leading axis). Returns (steps // record + 1, batch)."""
    x, state = x0.clone(), opt.init(x0)
    f = lambda x: 0.5 * torch.einsum("bi,bij,bj->b", x, A, x)  # noqa: E731
    out = [f(x)]
    for t in range(1, steps + 1):
        upd, state = opt.update(torch.einsum("bij,bj->bi", A, x), state)
        x = x + upd
        if t % record == 0:
            out.append(f(x))
    return torch.stack(out).numpy()


# --- step size: divergence just above 2/L ----------------------------------------------------------
def step_size_limit(seeds, factors=(0.99, 1.01), cfg: dict = CONFIG) -> dict:
    """GD at lr = factor x 2/L on random quadratics: final loss / initial loss per seed, and the
    fraction of steps on which the top-curvature coordinate changes sign."""
    A, x0, lam = quadratic_batch(seeds, cfg["dim"], cfg["kappa"])
    L = lam[:, -1]
    out = {}
    for c in factors:
        lr = (c * 2.0 / L)[:, None]
        f = run_on_quadratic(optim.sgd(lr), A, x0, cfg["steps_limit"])
        out[c] = {"loss_ratio": f[-1] / f[0]}
    # the coordinate along the top eigenvector, at lr = 1.5 / L (between 1/L and 2/L)
    _, V = torch.linalg.eigh(A)
    top = V[:, :, -1]
    x, opt = x0.clone(), optim.sgd((1.5 / L)[:, None])
    state, signs = opt.init(x), []
    for _ in range(50):
        signs.append(torch.sign((x * top).sum(1)))
        upd, state = opt.update(torch.einsum("bij,bj->bi", A, x), state)
        x = x + upd
    s = torch.stack(signs)
    out["top_coordinate_flips"] = (s[1:] != s[:-1]).double().mean(0).numpy()
    return out


# --- momentum ---------------------------------------------------------------------------------
def momentum_effective_step(lr: float = 0.01, beta: float = 0.9, steps: int = 300) -> float:
    """Heavy ball on a constant gradient g = 1: the step size it settles at, in units of lr
    (theory: 1 / (1 - beta))."""
    opt = optim.sgd(lr, momentum=beta)
    state = opt.init(torch.zeros(1, dtype=torch.float64))
    for _ in range(steps):
        upd, state = opt.update(torch.ones(1, dtype=torch.float64), state)
    return float(-upd[0] / lr)


def tuned_methods(mu: float, L: float) -> dict:
    """Each method with its classical tuning for eigenvalues in [mu, L]: GD at 2/(L + mu), heavy
    ball at Polyak's optimum, Nesterov at lr 1/L with beta = (sqrt(kappa) - 1)/(sqrt(kappa) + 1)."""
    k = math.sqrt(L / mu)
    return {"gd": optim.sgd(2.0 / (L + mu)),
            "heavy_ball": optim.sgd(4.0 / (math.sqrt(L) + math.sqrt(mu)) ** 2,
                                    momentum=((k - 1) / (k + 1)) ** 2),
            "nesterov": optim.sgd(1.0 / L, momentum=(k - 1) / (k + 1), nesterov=True)}


def momentum_at_condition_number(seeds, kappa: float, steps: int, cfg: dict = CONFIG) -> dict:
    """f(x_T) / f(x_0) per seed for GD, heavy ball and Nesterov, each tuned for [1, kappa]."""
    A, x0, _ = quadratic_batch(seeds, cfg["dim"], kappa)
    return {name: (lambda f: f[-1] / f[0])(run_on_quadratic(opt, A, x0, steps, record=steps))
            for name, opt in tuned_methods(1.0, kappa).items()}


# --- Nesterov's worst-case function (Nesterov 2004, §2.1.2) ---------------------------------------
def nesterov_worst_case(k: int = CONFIG["nesterov_k"], n: int = CONFIG["nesterov_dim"],
                        L: float = 1.0) -> dict:
    """f(x) = L/4 (x^T A x / 2 - x_1) with A the tridiagonal (2, -1, -1) matrix of size n,
    started at 0. Returns f(x_k) - f* for Nesterov (lr 1/L, the constant-momentum schedule
    (t - 1)/(t + 2)) and GD (lr 1/L), and the bound 2 L ||x_0 - x*||^2 / (k + 1)^2."""
    A = (torch.diag(torch.full((n,), 2.0)) - torch.diag(torch.ones(n - 1), 1)
         - torch.diag(torch.ones(n - 1), -1)).double()
    b = torch.zeros(n, dtype=torch.float64)
    b[0] = 1.0
    f = lambda x: L / 4 * (0.5 * x @ A @ x - x[0])  # noqa: E731
    grad = lambda x: L / 4 * (A @ x - b)  # noqa: E731
    x_star = torch.linalg.solve(A, b)
    f_star = f(x_star)
    x_gd = torch.zeros(n, dtype=torch.float64)
    x, y_prev = x_gd.clone(), x_gd.clone()
    for t in range(1, k + 1):
        x_gd = x_gd - grad(x_gd) / L
        y = x - grad(x) / L                       # Nesterov's accelerated gradient (FISTA form)
        x = y + (t - 1) / (t + 2) * (y - y_prev)
        y_prev = y
    return {"nesterov": float(f(y_prev) - f_star), "gd": float(f(x_gd) - f_star),
            "bound": float(2 * L * (x_star @ x_star) / (k + 1) ** 2)}


# --- AdaGrad's vanishing learning rate on a convex function ---------------------------------------
def steep_then_flat(x: torch.Tensor) -> torch.Tensor:
    """A convex 1-D function: slope -50 for x < 1, then (x - 10)^2 / 100 (continuous, slopes
    increasing from -50 to -0.18 at x = 1: convex). Minimum at x = 10."""
    return torch.where(x < 1, 0.81 + 50 * (1 - x), (x - 10) ** 2 / 100)


def steep_then_flat_grad(x: torch.Tensor) -> torch.Tensor:
    """The derivative of ``steep_then_flat`` (checked against autograd in the unit tests)."""
    return torch.where(x < 1, torch.full_like(x, -50.0), (x - 10) / 50)


def one_dimensional_runs(x0: float, steps: int = 2000, lr: float = 0.5) -> dict:
    """x after ``steps`` from ``x0`` on ``steep_then_flat`` for AdaGrad, RMSProp and Adam (torch
    defaults otherwise), all at the same lr."""
    out = {}
    for name, opt in (("adagrad", optim.adagrad(lr)), ("rmsprop", optim.rmsprop(lr)),
                      ("adam", optim.adam(lr))):
        x = torch.tensor([x0], dtype=torch.float64)
        out[name] = float(optim.run(opt, lambda x, t: steep_then_flat_grad(x), x, steps)[0])
    return out
