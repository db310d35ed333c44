"""Initialization scales and conditioning, as slides 002 state them, on small random problems.

- Glorot & Bengio (AISTATS 2010, eq. (12)): Var(W) = 2 / (fan_in + fan_out), derived for layers
  without a non-linearity; with equal widths it keeps the activations' variance through depth.
- A Gaussian N(0, 1/n) square matrix is only approximately orthogonal: its singular values
  spread over (0, 2) (the quarter-circle law), where an orthogonal matrix has all of them 1.
- Two standardized features with correlation rho give least squares a Hessian with condition
  number (1 + rho) / (1 - rho): gradient descent bounces along (1, 1) and crawls along (1, -1).
- Least squares with N > P rows has the unique closed-form solution (X^T X)^-1 X^T y; with
  N < P, X^T X is singular.

Everything is float64 torch/numpy; each function takes a seed and sizes and returns arrays or
numbers.
"""

from __future__ import annotations

import math

import numpy as np
import torch

DT = torch.float64


def glorot_std(fan_in: int, fan_out: int) -> float:
    """Glorot's normal standard deviation sqrt(2 / (fan_in + fan_out))."""
    return math.sqrt(2.0 / (fan_in + fan_out))


def torch_xavier_variance(seed: int, fan_in: int, fan_out: int) -> float:
    """The sample variance of torch.nn.init.xavier_normal_ (gain 1) on a fan_out x fan_in
    matrix."""
    torch.manual_seed(seed)
    return torch.nn.init.xavier_normal_(torch.empty(fan_out, fan_in, dtype=DT)).var().item()


def activation_variances(seed: int, width: int, depth: int, relu: bool,
                         batch: int = 256) -> np.ndarray:
    """Variance of the activations after each of ``depth`` square layers with Glorot normal
    weights (our glorot_std), linear or with a ReLU after each layer, on N(0, I) inputs."""
    g = torch.Generator().manual_seed(seed)
    h = torch.randn(batch, width, generator=g, dtype=DT)
    out = []
    for _ in range(depth):
        W = glorot_std(width, width) * torch.randn(width, width, generator=g, dtype=DT)
        h = h @ W.T
        if relu:
            h = torch.relu(h)
        out.append(h.pow(2).mean().item())
    return np.array(out)


def singular_values(seed: int, n: int, orthogonal: bool) -> np.ndarray:
    """Singular values of an n x n matrix: N(0, 1/n) entries, or torch's orthogonal_ init."""
    g = torch.Generator().manual_seed(seed)
    if orthogonal:
        W = torch.nn.init.orthogonal_(torch.empty(n, n, dtype=DT), generator=g)
    else:
        W = torch.randn(n, n, generator=g, dtype=DT) / math.sqrt(n)
    return torch.linalg.svdvals(W).numpy()


def product_condition(seed: int, n: int, layers: int, orthogonal: bool) -> float:
    """Condition number of a product of ``layers`` such n x n matrices."""
    g = torch.Generator().manual_seed(seed)
    P = torch.eye(n, dtype=DT)
    for _ in range(layers):
        if orthogonal:
            W = torch.nn.init.orthogonal_(torch.empty(n, n, dtype=DT), generator=g)
        else:
            W = torch.randn(n, n, generator=g, dtype=DT) / math.sqrt(n)
        P = W @ P
    return torch.linalg.cond(P).item()


def correlated_features(seed: int, rho: float, n: int = 512) -> tuple[np.ndarray, np.ndarray]:
    """Two features with sample means 0, sample variances 1 and sample correlation exactly rho
    (whitened draws mixed by the Cholesky factor), and targets y = X w* with w* N(0, I)."""
    rng = np.random.default_rng(seed)
    Z = rng.standard_normal((n, 2))
    Z -= Z.mean(0)
    Z = Z @ np.linalg.inv(np.linalg.cholesky(Z.T @ Z / n)).T
    X = Z @ np.linalg.cholesky(np.array([[1.0, rho], [rho, 1.0]])).T
    return X, X @ rng.standard_normal(2)


def least_squares_hessian(X: np.ndarray) -> np.ndarray:
    """Hessian of (1/2n) ||X w - y||^2: X^T X / n."""
    return X.T @ X / len(X)


def gd_iterations(X, y, tolerance: float = 1e-6, max_steps: int = 100_000) -> int:
    """Gradient descent from 0 at the best fixed lr 2 / (mu + L) until ||w - w*|| falls below
    ``tolerance`` ||w*||."""
    H = least_squares_hessian(X)
    low, high = np.linalg.eigvalsh(H)
    w_star = np.linalg.solve(H, X.T @ y / len(X))
    w = np.zeros(2)
    for step in range(1, max_steps + 1):
        w = w - 2 / (low + high) * (H @ w - X.T @ y / len(X))
        if np.linalg.norm(w - w_star) <= tolerance * np.linalg.norm(w_star):
            return step
    return max_steps


def oscillation_signs(X, y, steps: int = 20) -> dict:
    """GD from 0 at lr 1.9 / L: the error's components along the Hessian's top and bottom
    eigenvectors, per step."""
    H = least_squares_hessian(X)
    values, vectors = np.linalg.eigh(H)
    w_star = np.linalg.solve(H, X.T @ y / len(X))
    w, top, bottom = np.zeros(2), [], []
    for _ in range(steps):
        w = w - 1.9 / values[-1] * (H @ w - X.T @ y / len(X))
        top.append((w - w_star) @ vectors[:, -1])
        bottom.append((w - w_star) @ vectors[:, 0])
    return {"top": np.array(top), "bottom": np.array(bottom)}


def regression(seed: int, rows: int, columns: int) -> tuple[np.ndarray, np.ndarray]:
    """X (rows x columns) and y with N(0, 1) entries."""
    rng = np.random.default_rng(seed)
    return rng.standard_normal((rows, columns)), rng.standard_normal(rows)


def closed_form(X, y) -> np.ndarray:
    """The slides' eq. (1): (X^T X)^-1 X^T y."""
    return np.linalg.solve(X.T @ X, X.T @ y)
