"""The Fisher information and the natural gradient, on softmax regression.

Sources: lecture notes 000/001 §1.1 (the natural-gradient step as the minimizer of a linear term
plus the expected KL divergence; the Fisher matrix, which "does not depend at all on the true
labels"; K-FAC speeds up training per iteration); slides 002 "Information theory point of view"
(natural gradient with the Fisher matrix, "empirical version"); Amari (1998); Martens (2020),
"New insights and perspectives on the natural gradient method", JMLR 21, §5 (for the
cross-entropy of an exponential family the Fisher equals the Hessian) and §11 (the empirical
Fisher is a different matrix).

Model: p(y | x) = softmax(W x) with the last class's row of W fixed at 0 (so the parameters are
identifiable and the Fisher is invertible); theta = the other K - 1 rows, flattened.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy import optimize

CONFIG = {
    "fisher": {"n": 200, "dim": 5, "classes": 3, "weight_scale": 1.0},
    "kl_step": {"n": 100, "dim": 2, "classes": 3, "scales": (0.01, 0.1, 0.3, 1.0),
                "unbounded_scale": 30.0, "probe_t": 1000.0},
    "ngd_vs_gd": {"iterations": 30, "damping": 1e-3, "ngd_lr": 1.0,
                  "gd_lrs": (1.0, 3.0, 10.0, 30.0, 100.0, 300.0), "train_fraction": 0.8},
}


def logits(theta: torch.Tensor, X: torch.Tensor, K: int) -> torch.Tensor:
    """(n, K) logits, the last class's at 0."""
    W = theta.view(K - 1, X.shape[1])
    return torch.cat([X @ W.T, torch.zeros(len(X), 1, dtype=X.dtype)], 1)


def mean_cross_entropy(theta, X, y, K):
    return torch.nn.functional.cross_entropy(logits(theta, X, K), y)


def log_prob_grads(theta, X, K) -> torch.Tensor:
    """d log p(k | x_i) / d theta for every example i and class k: (n, K, P), in closed form:
    (1[k = j] - p_j) x for the rows j < K."""
    p = torch.softmax(logits(theta, X, K), 1)                    # (n, K)
    onehot = torch.eye(K, dtype=X.dtype)[:, :K - 1]                # (K, K-1)
    coef = onehot[None] - p[:, None, :K - 1]                       # (n, K, K-1)
    return (coef[..., None] * X[:, None, None, :]).flatten(2)      # (n, K, (K-1) d)


def fisher(theta, X, K) -> torch.Tensor:
    """The Fisher of the notes: E_x E_{y ~ p_theta(.|x)} [grad log p grad log p^T]."""
    p = torch.softmax(logits(theta, X, K), 1)
    G = log_prob_grads(theta, X, K)
    return torch.einsum("nk,nki,nkj->ij", p, G, G) / len(X)


def empirical_fisher(theta, X, y, K) -> torch.Tensor:
    """The 'empirical Fisher': the same outer product at the true labels only."""
    G = log_prob_grads(theta, X, K)[torch.arange(len(X)), y]
    return G.T @ G / len(X)


def hessian(theta, X, y, K) -> torch.Tensor:
    return torch.autograd.functional.hessian(lambda t: mean_cross_entropy(t, X, y, K), theta)


def softmax_problem(seed: int, n: int, dim: int, classes: int, weight_scale: float):
    """Random inputs, labels from a random teacher, and a random current theta (not the
    optimum)."""
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, dim, generator=g, dtype=torch.float64)
    teacher = torch.randn((classes - 1) * dim, generator=g, dtype=torch.float64)
    y = torch.multinomial(torch.softmax(logits(teacher, X, classes), 1), 1, generator=g)[:, 0]
    theta = weight_scale * torch.randn((classes - 1) * dim, generator=g, dtype=torch.float64)
    return X, y, theta


def fisher_comparison(seed: int, cfg: dict = CONFIG["fisher"]) -> dict:
    """Relative Frobenius differences: Fisher vs Hessian; Hessian and Fisher under a label
    permutation; empirical Fisher vs Fisher, and under the permutation."""
    X, y, theta = softmax_problem(seed, **cfg)
    K = cfg["classes"]
    perm = y[torch.randperm(len(y), generator=torch.Generator().manual_seed(seed + 1))]
    rel = lambda a, b: float((a - b).norm() / b.norm())  # noqa: E731
    H, F, Fe = hessian(theta, X, y, K), fisher(theta, X, K), empirical_fisher(theta, X, y, K)
    return {"fisher_vs_hessian": rel(F, H),
            "hessian_under_permuted_labels": rel(hessian(theta, X, perm, K), H),
            "empirical_vs_fisher": rel(Fe, F),
            "empirical_under_permuted_labels": rel(empirical_fisher(theta, X, perm, K), Fe)}


# --- the natural-gradient step and the KL-regularized problem ---------------------------------------
def expected_kl(theta, delta, X, K) -> torch.Tensor:
    """E_x KL(p_theta(.|x) || p_{theta + delta}(.|x))."""
    lp = torch.log_softmax(logits(theta, X, K), 1)
    lq = torch.log_softmax(logits(theta + delta, X, K), 1)
    return (lp.exp() * (lp - lq)).sum(1).mean()


def kl_step_errors(seed: int, cfg: dict = CONFIG["kl_step"]) -> dict:
    """For each gradient scale c: the minimizer of c g^T Delta + E KL (BFGS, from the natural
    step), and its relative distance from the natural step -c F^-1 g; and, at a large c, the
    objective along -F^-1 g at t = probe_t (very negative: no minimizer)."""
    X, y, theta = softmax_problem(seed, cfg["n"], cfg["dim"], cfg["classes"], 1.0)
    K = cfg["classes"]
    g = torch.autograd.functional.jacobian(lambda t: mean_cross_entropy(t, X, y, K), theta)
    natural = -torch.linalg.solve(fisher(theta, X, K), g)

    def objective(c):
        def f(d):
            d = torch.tensor(d, dtype=torch.float64, requires_grad=True)
            val = c * (g @ d) + expected_kl(theta, d, X, K)
            (grad,) = torch.autograd.grad(val, d)
            return float(val.detach()), grad.numpy()
        return f

    errors = {}
    for c in cfg["scales"]:
        res = optimize.minimize(objective(c), (c * natural).numpy(), jac=True, method="BFGS",
                                options={"gtol": 1e-12, "maxiter": 10_000})
        errors[c] = float(np.linalg.norm(res.x - c * natural.numpy())
                          / np.linalg.norm(c * natural.numpy()))
    c, t = cfg["unbounded_scale"], cfg["probe_t"]
    along = objective(c)((t * natural).numpy())[0]
    return {"relative_error": errors, "objective_along_natural_at_large_c": along,
            "objective_at_zero": 0.0}


# --- natural gradient vs gradient descent per iteration, digits --------------------------------------
def digits_softmax_split(seed: int, train_fraction: float):
    """scikit-learn's 8x8 digits, standardized features plus a bias column, a random split."""
    from sklearn.datasets import load_digits
    d = load_digits()
    X = torch.tensor(d.data, dtype=torch.float64)
    X = (X - X.mean(0)) / X.std(0).clamp_min(1e-12)
    X = torch.cat([X, torch.ones(len(X), 1, dtype=torch.float64)], 1)
    y = torch.tensor(d.target, dtype=torch.int64)
    order = torch.randperm(len(y), generator=torch.Generator().manual_seed(seed))
    n = int(train_fraction * len(y))
    return X[order[:n]], y[order[:n]], X[order[n:]], y[order[n:]]


def fisher_kron(theta, X, K) -> torch.Tensor:
    """The exact Fisher of softmax regression, assembled from its blocks: for classes j, k the
    block E[p_j (1[j = k] - p_k) x x^T] (the same matrix as ``fisher``, cheaper for many
    examples)."""
    p = torch.softmax(logits(theta, X, K), 1)[:, :K - 1]           # (n, K-1)
    d, n = X.shape[1], len(X)
    Z = (p[:, :, None] * X[:, None, :]).reshape(n, -1)             # p_j x
    F = -(Z.T @ Z) / n
    for j in range(K - 1):
        F[j * d:(j + 1) * d, j * d:(j + 1) * d] += (X.T * p[:, j]) @ X / n
    return F


def ngd_vs_gd(seed: int, cfg: dict = CONFIG["ngd_vs_gd"]) -> dict:
    """Training cross-entropy after each iteration: damped natural gradient (F + lambda I)^-1 g
    at lr 1, and GD at each lr of its grid; plus the test losses at the end."""
    Xtr, ytr, Xte, yte = digits_softmax_split(seed, cfg["train_fraction"])
    K, d = 10, Xtr.shape[1]
    loss = lambda t, X, y: float(mean_cross_entropy(t, X, y, K))  # noqa: E731
    grad = lambda t: torch.autograd.functional.jacobian(  # noqa: E731
        lambda u: mean_cross_entropy(u, Xtr, ytr, K), t)

    def run(step):
        theta, curve = torch.zeros((K - 1) * d, dtype=torch.float64), []
        for _ in range(cfg["iterations"]):
            theta = theta - step(theta)
            curve.append(loss(theta, Xtr, ytr))
        return np.array(curve), loss(theta, Xte, yte)

    eye = torch.eye((K - 1) * d, dtype=torch.float64)
    ngd, ngd_test = run(lambda t: cfg["ngd_lr"] * torch.linalg.solve(
        fisher_kron(t, Xtr, K) + cfg["damping"] * eye, grad(t)))
    gd = {lr: run(lambda t, lr=lr: lr * grad(t)) for lr in cfg["gd_lrs"]}
    finite = {lr: r for lr, r in gd.items() if np.isfinite(r[0][-1])}
    best_lr = min(finite, key=lambda lr: finite[lr][0][-1])
    return {"ngd_train": ngd, "ngd_test": ngd_test, "gd_train": gd[best_lr][0],
            "gd_test": gd[best_lr][1], "gd_best_lr": best_lr,
            "gd_lr_interior": 0 < list(cfg["gd_lrs"]).index(best_lr) < len(cfg["gd_lrs"]) - 1}
