"""Regularization and implicit bias in linear models: the minimum-norm interpolator, ridge
regression, Gaussian-noise vicinities, the bias-variance decomposition, bagging.

Sources: slides 002 (Velasco-Forero): "Regularization for linear models" (ridge's closed form and
its lambda -> 0 and lambda -> infinity limits, "the magnitude of the weights"), "Minimizing
Empirical Risk" (infinitely many minimizers), "Bias/Variance Tradeoff", "Vicinal Risk
Minimization" (Gaussian vicinities), "How can we reduce the variance" (the classical approach:
average models trained on different training sets); lecture notes 000/001 §1.2 (SGD converges to
the minimum-norm solution X^T (X X^T)^-1 y). Bishop (1995), "Training with noise is equivalent to
Tikhonov regularization", for the Gaussian-noise / ridge equivalence; Breiman (1996) for bagging.

All in float64 numpy (and torch for the first-order methods), from explicit seeds.
"""

from __future__ import annotations

import numpy as np
import torch

from . import optimizers as optim
from .data import sine_curve

CONFIG = {
    "min_norm": {"n": 40, "d": 200, "noise": 0.1, "n_test": 500, "gd_steps": 2000,
                 "sgd_epochs": 200, "sgd_lr": 0.002, "adam_lr": 0.01, "adam_steps": 3000,
                 "random_interpolators": 20},
    "ridge": {"n": 50, "d": 10, "lambdas": np.logspace(-3, 4, 60), "correlation": 0.9,
              "designs": 50},
    "vicinal": {"n": 50, "d": 10, "sigma": 0.3, "copies": 4000},
    "bias_variance": {"n": 20, "degree": 5, "noise": 0.3, "train_sets": 3000, "x_test": 200},
    "bagging": {"n": 100, "noise": 0.3, "train_sets": 100, "trees": 20, "x_test": 100},
}


# --- implicit bias: the minimum-norm interpolator --------------------------------------------------
def underdetermined_problem(seed: int, n: int, d: int, noise: float, n_test: int):
    rng = np.random.default_rng(seed)
    w = rng.normal(size=d) / np.sqrt(d)
    X, Xt = rng.normal(size=(n, d)), rng.normal(size=(n_test, d))
    return X, X @ w + noise * rng.normal(size=n), Xt, Xt @ w + noise * rng.normal(size=n_test)


def min_norm_experiment(seed: int, cfg: dict = CONFIG["min_norm"]) -> dict:
    """GD (lr 1/L), SGD (batch 1) and Adam from w = 0 on (1/2n)||Xw - y||^2 with n < d: each
    one's relative distance to X^T (X X^T)^-1 y and its training loss; the test MSE of the
    minimum-norm interpolator and of random interpolators w_mn + (a null-space vector of the same
    norm as w_mn)."""
    X, y, Xt, yt = underdetermined_problem(seed, cfg["n"], cfg["d"], cfg["noise"], cfg["n_test"])
    w_mn = X.T @ np.linalg.solve(X @ X.T, y)
    Xg, yg = torch.tensor(X), torch.tensor(y)
    n = len(y)
    full = lambda w, t: Xg.T @ (Xg @ w - yg) / n  # noqa: E731
    L = float(np.linalg.norm(X, 2) ** 2 / n)
    order = torch.cat([torch.randperm(n, generator=torch.Generator().manual_seed(seed * 1000 + e))
                       for e in range(cfg["sgd_epochs"])])
    one = lambda w, t: Xg[order[t - 1]] * (Xg[order[t - 1]] @ w - yg[order[t - 1]])  # noqa
    w0 = torch.zeros(X.shape[1], dtype=torch.float64)
    runs = {"gd": optim.run(optim.sgd(1.0 / L), full, w0, cfg["gd_steps"]),
            "sgd": optim.run(optim.sgd(cfg["sgd_lr"]), one, w0, cfg["sgd_epochs"] * n),
            "adam": optim.run(optim.adam(cfg["adam_lr"]), full, w0, cfg["adam_steps"])}
    out = {}
    for name, w in runs.items():
        w = w.numpy()
        out[name] = {"distance": float(np.linalg.norm(w - w_mn) / np.linalg.norm(w_mn)),
                     "train_mse": float(np.mean((X @ w - y) ** 2))}
    rng = np.random.default_rng(seed + 1)
    P = np.eye(X.shape[1]) - X.T @ np.linalg.solve(X @ X.T, X)      # projector on null(X)
    test_mse = lambda w: float(np.mean((Xt @ w - yt) ** 2))  # noqa: E731
    random = []
    for _ in range(cfg["random_interpolators"]):
        v = P @ rng.normal(size=X.shape[1])
        random.append(test_mse(w_mn + v * np.linalg.norm(w_mn) / np.linalg.norm(v)))
    out["test_mse_min_norm"] = test_mse(w_mn)
    out["test_mse_random"] = np.array(random)
    return out


# --- ridge regression -------------------------------------------------------------------------------
def ridge(X, y, lam):
    """The slides' closed form (X^T X + lambda I)^-1 X^T y."""
    return np.linalg.solve(X.T @ X + lam * np.eye(X.shape[1]), X.T @ y)


def correlated_design(seed: int, n: int, d: int, rho: float):
    """Gaussian features with pairwise correlation rho, and a random linear target with noise."""
    rng = np.random.default_rng(seed)
    C = rho * np.ones((d, d)) + (1 - rho) * np.eye(d)
    X = rng.normal(size=(n, d)) @ np.linalg.cholesky(C).T
    return X, X @ rng.normal(size=d) + 0.5 * rng.normal(size=n)


def ridge_experiment(seed: int, cfg: dict = CONFIG["ridge"]) -> dict:
    """On ``designs`` correlated designs: the closed form against a solver and against the two
    limits; along a lambda path, whether the norm decreases strictly and whether some coefficient
    grows in magnitude somewhere along the path."""
    from scipy import optimize
    X, y = correlated_design(seed, cfg["n"], cfg["d"], cfg["correlation"])
    lam = 1.0
    res = optimize.minimize(lambda t: (np.sum((y - X @ t) ** 2) + lam * t @ t,
                                       -2 * X.T @ (y - X @ t) + 2 * lam * t),
                            np.zeros(X.shape[1]), jac=True, method="L-BFGS-B",
                            options={"ftol": 1e-15, "gtol": 1e-12, "maxiter": 10_000})
    closed = ridge(X, y, lam)
    ls = np.linalg.lstsq(X, y, rcond=None)[0]
    big = 1e8
    out = {"vs_solver": float(np.linalg.norm(closed - res.x) / np.linalg.norm(closed)),
           "small_lambda_vs_least_squares": float(np.linalg.norm(ridge(X, y, 1e-10) - ls)
                                                  / np.linalg.norm(ls)),
           "large_lambda_scaled_vs_Xty": float(np.linalg.norm(big * ridge(X, y, big) - X.T @ y)
                                               / np.linalg.norm(X.T @ y))}
    norm_decreases, some_weight_grows = [], []
    for k in range(cfg["designs"]):
        Xk, yk = correlated_design(seed * 1000 + k, cfg["n"], cfg["d"], cfg["correlation"])
        path = np.array([ridge(Xk, yk, lam) for lam in cfg["lambdas"]])
        norms = np.linalg.norm(path, axis=1)
        norm_decreases.append(bool(np.all(np.diff(norms) < 0)))
        some_weight_grows.append(bool(np.any(np.diff(np.abs(path), axis=0) > 1e-12)))
    out["norm_decreases"] = np.array(norm_decreases)
    out["some_weight_grows"] = np.array(some_weight_grows)
    return out


# --- vicinal risk: Gaussian noise on the inputs ----------------------------------------------------
def vicinal_experiment(seed: int, cfg: dict = CONFIG["vicinal"]) -> dict:
    """Least squares on ``copies`` Gaussian-noised copies of each input (noise sigma) against
    ridge with lambda = n sigma^2 (sum-of-squares loss on the original n points), and against
    plain least squares."""
    rng = np.random.default_rng(seed)
    n, d, s = cfg["n"], cfg["d"], cfg["sigma"]
    X = rng.normal(size=(n, d))
    y = X @ rng.normal(size=d) + 0.5 * rng.normal(size=n)
    Xn = np.repeat(X, cfg["copies"], 0) + s * rng.normal(size=(n * cfg["copies"], d))
    yn = np.repeat(y, cfg["copies"])
    noisy = np.linalg.lstsq(Xn, yn, rcond=None)[0]
    ref = ridge(X, y, n * s ** 2)
    ls = np.linalg.lstsq(X, y, rcond=None)[0]
    rel = lambda a: float(np.linalg.norm(a - ref) / np.linalg.norm(ref))  # noqa: E731
    return {"noisy_vs_ridge": rel(noisy), "least_squares_vs_ridge": rel(ls)}


# --- bias and variance -------------------------------------------------------------------------------
truth = sine_curve   # the examples' target, sin(2 pi x)


def bias_variance(seed: int, cfg: dict = CONFIG["bias_variance"]) -> dict:
    """Polynomial least squares (``degree``) on n noisy samples of sin(2 pi x), over many training
    sets: at test points, the expected squared error against noise + variance + bias^2
    (everything averaged over x), by Monte Carlo. And, for one fitted model, the slides'
    identity read for a deterministic model with the expectation over (x, y): Var[y] +
    Var[Model(x)] + (E[y - Model(x)])^2."""
    rng = np.random.default_rng(seed)
    x_test = np.linspace(0, 1, cfg["x_test"])
    preds, errors = [], []
    for _ in range(cfg["train_sets"]):
        x = rng.uniform(0, 1, cfg["n"])
        coef = np.polyfit(x, truth(x) + cfg["noise"] * rng.normal(size=cfg["n"]), cfg["degree"])
        p = np.polyval(coef, x_test)
        preds.append(p)
        y_test = truth(x_test) + cfg["noise"] * rng.normal(size=cfg["x_test"])
        errors.append((y_test - p) ** 2)
    preds = np.array(preds)
    mse = float(np.mean(errors))
    variance = float(np.mean(preds.var(0)))
    bias2 = float(np.mean((preds.mean(0) - truth(x_test)) ** 2))
    noise = cfg["noise"] ** 2
    # one deterministic model (the last fit), expectation over (x, y) of a large test sample
    xs = rng.uniform(0, 1, 200_000)
    ys = truth(xs) + cfg["noise"] * rng.normal(size=xs.size)
    m = np.polyval(coef, xs)
    deterministic = {"lhs": float(np.mean((ys - m) ** 2)),
                     "rhs": float(ys.var() + m.var() + np.mean(ys - m) ** 2)}
    return {"mse": mse, "noise": noise, "variance": variance, "bias2": bias2,
            "decomposition_gap": abs(mse - (noise + variance + bias2)) / mse,
            "deterministic": deterministic}


def bagging_variance(seed: int, cfg: dict = CONFIG["bagging"]) -> dict:
    """Regression trees and bagged trees (bootstrap, ``trees`` of them) on n noisy samples of
    sin(2 pi x), over many training sets: the variance of the prediction over training sets and
    the expected squared error, averaged over the test points."""
    from sklearn.ensemble import BaggingRegressor
    from sklearn.tree import DecisionTreeRegressor
    rng = np.random.default_rng(seed)
    x_test = np.linspace(0, 1, cfg["x_test"])[:, None]
    single, bagged = [], []
    for k in range(cfg["train_sets"]):
        x = rng.uniform(0, 1, (cfg["n"], 1))
        y = truth(x[:, 0]) + cfg["noise"] * rng.normal(size=cfg["n"])
        single.append(DecisionTreeRegressor(random_state=k).fit(x, y).predict(x_test))
        bagged.append(BaggingRegressor(DecisionTreeRegressor(), n_estimators=cfg["trees"],
                                       random_state=k).fit(x, y).predict(x_test))
    out = {}
    for name, p in (("tree", np.array(single)), ("bagged", np.array(bagged))):
        out[name] = {"variance": float(np.mean(p.var(0))),
                     "mse": float(np.mean((p - truth(x_test[:, 0])) ** 2) + cfg["noise"] ** 2)}
    return out


def bagging_variance_by_trees(seed: int, trees=(1, 2, 5, 20, 100),
                              cfg: dict = CONFIG["bagging"]) -> dict:
    """The variance over training sets of a bagged prediction with each number of ``trees`` (the
    same bootstrap trees, averaged over the first B), averaged over the test points; and the
    correlation rho between two bootstrap trees' predictions of the same training set."""
    from sklearn.ensemble import BaggingRegressor
    from sklearn.tree import DecisionTreeRegressor
    rng = np.random.default_rng(seed)
    x_test = np.linspace(0, 1, cfg["x_test"])[:, None]
    per_tree = []                                      # (train sets, trees, test points)
    for k in range(cfg["train_sets"]):
        x = rng.uniform(0, 1, (cfg["n"], 1))
        y = truth(x[:, 0]) + cfg["noise"] * rng.normal(size=cfg["n"])
        bag = BaggingRegressor(DecisionTreeRegressor(), n_estimators=max(trees),
                               random_state=k).fit(x, y)
        per_tree.append([est.predict(x_test) for est in bag.estimators_])
    per_tree = np.array(per_tree)
    variance = {b: float(np.mean(per_tree[:, :b].mean(1).var(0))) for b in trees}
    one = per_tree.var(0).mean(0)                                  # each tree's variance
    pair = np.mean([np.cov(per_tree[:, 0, j], per_tree[:, 1, j])[0, 1]
                    for j in range(per_tree.shape[2])])
    return {"variance": variance, "tree_variance": float(one.mean()),
            "rho": float(pair / one.mean())}
