"""Slides 002's practical advice, each on a problem small enough to decide it in seconds: a step size
too small to leave a sharp local minimum, the cost of a gradient as the batch grows, the
ReduceLROnPlateau callback's floor, and weight decay as regularization.

Each function takes a configuration (and a seed where it draws) and returns numbers or arrays.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from .data import digits

DT = torch.float64

# A broad quadratic with a narrow dip: f(x) = x^2 / 2 - DIP_DEPTH exp(-(x - DIP_AT)^2 / (2 w^2)).
# The global minimum is at 0; the dip makes a sharp local minimum near DIP_AT (curvature ~50).
DIP = {"at": 2.0, "depth": 0.5, "width": 0.1}


def dip_loss(x: torch.Tensor, dip: dict = DIP) -> torch.Tensor:
    return 0.5 * x ** 2 - dip["depth"] * torch.exp(-(x - dip["at"]) ** 2 / (2 * dip["width"] ** 2))


def dip_gradient(x: torch.Tensor, dip: dict = DIP) -> torch.Tensor:
    """The hand-written derivative of ``dip_loss``."""
    bump = torch.exp(-(x - dip["at"]) ** 2 / (2 * dip["width"] ** 2))
    return x + dip["depth"] * (x - dip["at"]) / dip["width"] ** 2 * bump


def gradient_descent_ends(starts: torch.Tensor, lr: float, steps: int = 3000) -> torch.Tensor:
    """Where gradient descent at ``lr`` ends on ``dip_loss`` from each start (all at once)."""
    x = starts.clone()
    for _ in range(steps):
        x = x - lr * dip_gradient(x)
    return x


def local_minimum(steps: int = 20000) -> tuple[float, float]:
    """The dip's local minimum (gradient descent at a tiny step from the dip's centre) and the
    curvature there, by autograd."""
    x = gradient_descent_ends(torch.tensor([DIP["at"]], dtype=DT), 1e-3, steps)[0]
    point = x.clone().requires_grad_()
    (grad,) = torch.autograd.grad(dip_loss(point), point, create_graph=True)
    (curvature,) = torch.autograd.grad(grad, point)
    return float(x), float(curvature)


def starts(seed: int, low: float, high: float, n: int = 50) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return low + (high - low) * torch.rand(n, generator=g, dtype=DT)


# --- the cost of a gradient as the batch grows -----------------------------------------------
def gradient_flops(batch: int, widths=(64, 128, 10)) -> float:
    """Floating-point operations torch counts for one forward-backward pass of an MLP
    (``widths``, ReLU, cross-entropy) on a batch of ``batch`` examples."""
    from torch.utils.flop_counter import FlopCounterMode
    g = torch.Generator().manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(widths[0], widths[1]), torch.nn.ReLU(),
                              torch.nn.Linear(widths[1], widths[2]))
    x = torch.randn(batch, widths[0], generator=g)
    y = torch.randint(0, widths[2], (batch,), generator=g)
    with FlopCounterMode(display=False) as counter:
        torch.nn.functional.cross_entropy(net(x), y).backward()
    return float(counter.get_total_flops())


def gradient_seconds(batch: int, repeats: int = 20, widths=(64, 128, 10)) -> float:
    """Median wall-clock seconds of one forward-backward pass of the same MLP (machine- and
    load-dependent: recorded beside the flop count, never judged)."""
    import time
    g = torch.Generator().manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(widths[0], widths[1]), torch.nn.ReLU(),
                              torch.nn.Linear(widths[1], widths[2]))
    x = torch.randn(batch, widths[0], generator=g)
    y = torch.randint(0, widths[2], (batch,), generator=g)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        torch.nn.functional.cross_entropy(net(x), y).backward()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


# --- ReduceLROnPlateau ------------------------------------------------------------------------
def plateau_learning_rates(lr: float, epochs: int = 40, factor: float = 0.2, patience: int = 5,
                           min_lr: float = 1e-3) -> list[float]:
    """The learning rate after each of ``epochs`` epochs whose validation loss never improves
    on the first, under torch's ReduceLROnPlateau (Keras' rule: after ``patience`` epochs
    without improvement, lr <- max(factor lr, min_lr))."""
    w = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([w], lr=lr)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=factor, patience=patience,
                                                           min_lr=min_lr)
    rates = []
    for _ in range(epochs):
        scheduler.step(1.0)
        rates.append(opt.param_groups[0]["lr"])
    return rates


def plateau_rule(lr: float, epochs: int = 40, factor: float = 0.2, patience: int = 5,
                 min_lr: float = 1e-3) -> list[float]:
    """The same sequence from the rule written out: the first epoch sets the best loss; every
    ``patience + 1``-th stalled epoch after it multiplies lr by ``factor``, floored at min_lr."""
    rates, stalled = [], 0
    for epoch in range(epochs):
        if epoch > 0:
            stalled += 1
            if stalled > patience:
                lr, stalled = max(lr * factor, min_lr), 0
        rates.append(lr)
    return rates


# --- weight decay -------------------------------------------------------------------------------
def sgd_weight_decay_step(seed: int, weight_decay: float, lr: float = 0.1, dim: int = 10):
    """One torch.optim.SGD step with ``weight_decay`` on a least-squares loss, and one plain
    gradient step on the loss plus weight_decay / 2 ||w||^2 (autograd), from the same w."""
    g = torch.Generator().manual_seed(seed)
    X, y = torch.randn(30, dim, generator=g, dtype=DT), torch.randn(30, generator=g, dtype=DT)
    w0 = torch.randn(dim, generator=g, dtype=DT)
    w = w0.clone().requires_grad_()
    opt = torch.optim.SGD([w], lr=lr, weight_decay=weight_decay)
    (0.5 * ((X @ w - y) ** 2).mean()).backward()
    opt.step()
    v = w0.clone().requires_grad_()
    penalized = 0.5 * ((X @ v - y) ** 2).mean() + weight_decay / 2 * (v * v).sum()
    (grad,) = torch.autograd.grad(penalized, v)
    return w.detach(), (w0 - lr * grad)


def ridge_test_gain(seed: int, n: int, dim: int = 30, noise: float = 1.0,
                    lambdas=tuple(10.0 ** np.arange(-3, 3.5, 0.5)), n_test: int = 2000) -> dict:
    """Linear regression y = X w* + noise, w* ~ N(0, I / dim): test MSE of least squares and of
    ridge (weight decay) with lambda picked on a validation set of n / 2 fresh points."""
    rng = np.random.default_rng(seed)
    w_star = rng.normal(size=dim) / math.sqrt(dim)

    def draw(m):
        X = rng.normal(size=(m, dim))
        return X, X @ w_star + noise * rng.normal(size=m)
    (X, y), (Xv, yv), (Xt, yt) = draw(n), draw(max(n // 2, 10)), draw(n_test)
    fit = lambda lam: np.linalg.solve(X.T @ X + lam * np.eye(dim), X.T @ y)  # noqa: E731
    mse = lambda w, A, b: float(np.mean((A @ w - b) ** 2))                   # noqa: E731
    best = min(lambdas, key=lambda lam: mse(fit(lam), Xv, yv))
    return {"least squares": mse(fit(0.0), Xt, yt), "weight decay": mse(fit(best), Xt, yt),
            "lambda": best}


# --- memorization ---------------------------------------------------------------------------------
def digits_split(seed: int):
    """scikit-learn's digits (pixels / 16), a stratified 80/20 split drawn by ``seed``."""
    from sklearn.model_selection import train_test_split
    _, X, y = digits()
    return train_test_split(X / 16.0, y, test_size=0.2, random_state=seed, stratify=y)


def lookup_table_accuracy(seed: int) -> dict:
    """A lookup table that stores every training image with its label (one stored label per
    example: as many parameters as examples) and answers the majority training class for an
    image it has not stored: its training and test accuracy; and the same for 1-nearest
    neighbour, which also stores the whole training set."""
    from sklearn.neighbors import KNeighborsClassifier
    X_train, X_test, y_train, y_test = digits_split(seed)
    table = {x.tobytes(): label for x, label in zip(X_train, y_train)}
    default = np.bincount(y_train).argmax()
    predict = lambda X: np.array([table.get(x.tobytes(), default) for x in X])  # noqa: E731
    knn = KNeighborsClassifier(n_neighbors=1).fit(X_train, y_train)
    return {"table train": float((predict(X_train) == y_train).mean()),
            "table test": float((predict(X_test) == y_test).mean()),
            "table unseen test images": float(np.mean([x.tobytes() not in table
                                                       for x in X_test])),
            "1-NN train": float(knn.score(X_train, y_train)),
            "1-NN test": float(knn.score(X_test, y_test)),
            "parameters / examples": len(table) / len(y_train)}
