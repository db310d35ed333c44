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


def quadratic_loss(A: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """f(x) = x^T A x / 2 for a batch (leading axis) of matrices and points."""
    return 0.5 * torch.einsum("bi,bij,bj->b", x, A, x)


def quadratic_grad(A: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """grad f(x) = A x (A symmetric), batched; the claims check it against autograd."""
    return torch.einsum("bij,bj->bi", A, x)


def run_on_quadratic(opt: optim.Optimizer, A: torch.Tensor, x0: torch.Tensor, steps: int,
                     record: int = 1, directions: torch.Tensor | None = None):
    """f(x_t) for t = 0, record, 2 record, ..., steps on f(x) = x^T A x / 2 (batched over the
    leading axis). Returns (steps // record + 1, batch); with ``directions`` (batch, dim, m) also
    the coordinates x_t . directions[:, :, j] and ||x_t||, (steps // record + 1, batch, m) and
    (steps // record + 1, batch)."""
    x, state = x0.clone(), opt.init(x0)
    out, coords, norms = [quadratic_loss(A, x)], [], []

    def keep(x):
        if directions is not None:
            coords.append(torch.einsum("bi,bim->bm", x, directions))
            norms.append(x.norm(dim=1))
    keep(x)
    for t in range(1, steps + 1):
        upd, state = opt.update(quadratic_grad(A, x), state)
        x = x + upd
        if t % record == 0:
            out.append(quadratic_loss(A, x))
            keep(x)
    losses = torch.stack(out).numpy()
    if directions is None:
        return losses
    return losses, torch.stack(coords).numpy(), torch.stack(norms).numpy()


# --- step size: divergence just above 2/L ---------------------------------------------------------
def step_size_limit(seeds, factors=(0.99, 1.01), cfg: dict = CONFIG) -> dict:
    """GD at lr = factor x 2/L on random quadratics: final loss / initial loss per seed."""
    A, x0, lam = quadratic_batch(seeds, cfg["dim"], cfg["kappa"])
    L = lam[:, -1]
    out = {}
    for c in factors:
        lr = (c * 2.0 / L)[:, None]
        f = run_on_quadratic(optim.sgd(lr), A, x0, cfg["steps_limit"])
        out[c] = {"loss_ratio": f[-1] / f[0]}
    return out


def eigen_coordinates(seeds, lr_times_L: float = 1.5, steps: int = 50,
                      cfg: dict = CONFIG) -> dict:
    """GD at lr = lr_times_L / L on the random quadratics: the coordinates of x_t along the
    steepest (top) and the flattest (bottom) eigenvector of A, and ||x_t||, for t = 0 .. steps.
    Theory: each coordinate is multiplied by 1 - lr lambda per step, exactly."""
    A, x0, lam = quadratic_batch(seeds, cfg["dim"], cfg["kappa"])
    _, V = torch.linalg.eigh(A)
    x, opt = x0.clone(), optim.sgd((lr_times_L / lam[:, -1])[:, None])
    state, xs = opt.init(x), [x0]
    for _ in range(steps):
        upd, state = opt.update(quadratic_grad(A, x), state)
        x = x + upd
        xs.append(x)
    X = torch.stack(xs)                                       # (steps + 1, S, dim)
    return {"top": torch.einsum("tsi,si->ts", X, V[:, :, -1]).numpy(),
            "bottom": torch.einsum("tsi,si->ts", X, V[:, :, 0]).numpy(),
            "norm": X.norm(dim=2).numpy(), "lr_lambda_top": lr_times_L,
            "lr_lambda_bottom": (lr_times_L * lam[:, 0] / lam[:, -1]).numpy()}


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
    """GD, heavy ball and Nesterov, each tuned for the eigenvalues [1, kappa], on the random
    quadratics: per method, f(x_t) / f(x_0) ("loss"), the coordinates of x_t along the flattest
    and the steepest eigenvector ("bottom", "top") and ||x_t|| ("norm"), t = 0 .. steps, each
    (steps + 1, seeds)."""
    A, x0, _ = quadratic_batch(seeds, cfg["dim"], kappa)
    _, V = torch.linalg.eigh(A)
    ends = V[:, :, [0, -1]]
    out = {"loss": {}, "bottom": {}, "top": {}, "norm": {}}
    for name, opt in tuned_methods(1.0, kappa).items():
        f, c, n = run_on_quadratic(opt, A, x0, steps, directions=ends)
        out["loss"][name], out["norm"][name] = f / f[0], n
        out["bottom"][name], out["top"][name] = c[..., 0], c[..., 1]
    return out


# --- Nesterov's worst-case function (Nesterov 2004, §2.1.2) ---------------------------------------
def worst_case_function(n: int, L: float = 1.0):
    """Nesterov's f(x) = L/4 (x^T A x / 2 - x_1), A the tridiagonal (2, -1, -1) matrix of size n:
    returns (f, grad, A); grad is hand-written (the claim checks it against autograd)."""
    A = (torch.diag(torch.full((n,), 2.0)) - torch.diag(torch.ones(n - 1), 1)
         - torch.diag(torch.ones(n - 1), -1)).double()
    b = torch.zeros(n, dtype=torch.float64)
    b[0] = 1.0
    f = lambda x: L / 4 * (0.5 * x @ A @ x - x[0])  # noqa: E731
    grad = lambda x: L / 4 * (A @ x - b)  # noqa: E731
    return f, grad, A


def nesterov_worst_case(k: int = CONFIG["nesterov_k"], n: int | None = None,
                        L: float = 1.0) -> dict:
    """Nesterov's worst-case function of size n (default 2k + 1, the size his lower bound needs
    for k steps), started at 0. Returns f(x_k) - f* for Nesterov (lr 1/L, momentum
    (t - 1)/(t + 2)) and GD (lr 1/L), the upper bound 2 L ||x_0 - x*||^2 / (k + 1)^2 and the lower
    bound 3 L ||x_0 - x*||^2 / (32 (k + 1)^2) that no first-order method beats (Theorem 2.1.7),
    and f*, x* (solved numerically; the claim checks them against their closed forms)."""
    n = 2 * k + 1 if n is None else n
    f, grad, A = worst_case_function(n, L)
    b = torch.zeros(n, dtype=torch.float64)
    b[0] = 1.0
    x_star = torch.linalg.solve(A, b)
    f_star = f(x_star)
    x_gd = torch.zeros(n, dtype=torch.float64)
    x, y_prev = x_gd.clone(), x_gd.clone()
    for t in range(1, k + 1):
        x_gd = x_gd - grad(x_gd) / L
        y = x - grad(x) / L                       # Nesterov's accelerated gradient (FISTA form)
        x = y + (t - 1) / (t + 2) * (y - y_prev)
        y_prev = y
    dist2 = float(x_star @ x_star)
    return {"nesterov": float(f(y_prev) - f_star), "gd": float(f(x_gd) - f_star),
            "bound": 2 * L * dist2 / (k + 1) ** 2, "lower": 3 * L * dist2 / (32 * (k + 1) ** 2),
            "f_star": float(f_star), "x_star": x_star.numpy()}


# --- AdaGrad's vanishing learning rate on a convex function ---------------------------------------
def steep_then_flat(x: torch.Tensor) -> torch.Tensor:
    """A convex 1-D function: slope -50 for x < 1, then (x - 10)^2 / 100 (continuous, slopes
    increasing from -50 to -0.18 at x = 1: convex). Minimum at x = 10."""
    return torch.where(x < 1, 0.81 + 50 * (1 - x), (x - 10) ** 2 / 100)


def steep_then_flat_grad(x: torch.Tensor) -> torch.Tensor:
    """The derivative of ``steep_then_flat`` (the claim checks it against autograd)."""
    return torch.where(x < 1, torch.full_like(x, -50.0), (x - 10) / 50)


ONE_D = {"lr": 0.5, "steps": 2000, "steep_slope": 50.0, "flat_curvature": 1 / 50, "minimum": 10.0}


def one_dimensional_trajectory(opt: optim.Optimizer, x0s, steps: int) -> tuple[np.ndarray, tuple]:
    """x_t, t = 0 .. steps, of one element-wise optimizer on ``steep_then_flat`` from each start in
    ``x0s`` at once (array (steps + 1, len(x0s))), and its final state."""
    x = torch.tensor(list(x0s), dtype=torch.float64)
    state, xs = opt.init(x), [x]
    for _ in range(steps):
        upd, state = opt.update(steep_then_flat_grad(x), state)
        x = x + upd
        xs.append(x)
    return torch.stack(xs).numpy(), state


def one_dimensional_runs(x0s=(0.0, 1.0), steps: int = ONE_D["steps"],
                         adagrad_steps: int | None = None, lr: float = ONE_D["lr"]) -> dict:
    """Trajectories on ``steep_then_flat`` from each start (0: the steep side, 1: the flat side)
    for AdaGrad (for ``adagrad_steps``, default ``steps``), RMSProp and Adam (torch's defaults
    otherwise), all at the same lr; and AdaGrad's final accumulator per start."""
    out = {}
    for name, opt, n in (("adagrad", optim.adagrad(lr), adagrad_steps or steps),
                         ("rmsprop", optim.rmsprop(lr), steps), ("adam", optim.adam(lr), steps)):
        out[name], state = one_dimensional_trajectory(opt, x0s, n)
        if name == "adagrad":
            out["adagrad_sum_sq"] = state.sum_sq.numpy()
    return out


def steps_within(x: np.ndarray, tol: float, minimum: float = ONE_D["minimum"]) -> np.ndarray:
    """Per column: the first step from which |x_t - minimum| stays below ``tol`` (inf if never)."""
    far = np.abs(x - minimum) >= tol
    last_far = np.where(far.any(0), x.shape[0] - 1 - np.argmax(far[::-1], 0), -1)
    return np.where(last_far == x.shape[0] - 1, np.inf, last_far + 1.0)
