"""The minibatch size as a choice of computation: the training loss a budget of examples buys at
each batch size, with SGD and with Adam, on scikit-learn's digits.

Source: slides 002, 'SelectBatch(X)' (smaller batches than N converge faster in total
computation; the best batch size also depends on the algorithm). The MLP, the data split and the
batched training are ``digits_mlp``'s (every seed one model in one vmapped batch,
each with its own minibatch order); the cost of a run is counted in examples whose gradient it
computed (epochs times the training set), the measure the slide's "total computation" names on
one device; a per-step count is the control.

Sharpness (slides 002, 'Schedules 2/3'; Keskar et al. 2017): the top eigenvalue of the training
loss's Hessian by power iteration on Hessian-vector products (``top_hessian_eigenvalue``, checked
against the explicit Hessian of a small net by ``dense_hessian_top_eigenvalue``), and Dinh et
al. (2017)'s rescaling of the two ReLU layers that changes it without changing the function.
"""

from __future__ import annotations

import numpy as np
import torch

from . import optimizers as optim
from . import digits_mlp as mlp

CONFIG = {
    # 300 training images, 128 hidden units: full batch is 300; 10 epochs is 3000 examples;
    # the control's 30 updates are 1 epoch of batch 10 and 30 epochs of the full batch.
    "n_train": 300, "epochs": 10, "updates": 30, "batches": (10, 300),
    "all_batches": (10, 30, 100, 300),
    # lr grids (exponents of 10, half decades), each bracketing its optimizer's best lr at every
    # batch size (measured on seeds 0-5 and 100-105: SGD's best 10^-1 to 10^0, Adam's 10^-2
    # to 10^-1.5; checked per seed by the claim).
    "grids": {"sgd": (-1.5, -1.0, -0.5, 0.0, 0.5), "adam": (-3.0, -2.5, -2.0, -1.5, -1.0)},
    # Sharpness (Keskar et al. 2017's comparison at CPU scale): 100 epochs of SGD, batch 10 at
    # lr 10^-0.5 and the full batch at 10^0 (their best at 10 epochs), then the full batch for
    # 1000 epochs, where its training loss (~5e-4) matches the minibatch run's.
    "sharp_epochs": 100, "sharp_lrs": (-0.5, 0.0), "rescale": 10.0,
}


def make_optimizer(name: str, lr: float) -> optim.Optimizer:
    return optim.sgd(lr) if name == "sgd" else optim.adam(lr)


def training_losses(seeds, optimizer: str, batch: int, epochs: int,
                    cfg: dict = CONFIG) -> np.ndarray:
    """Full training-set cross-entropy per (lr of the grid, seed) after ``epochs`` epochs of
    minibatches of ``batch`` (NaN where a run diverged)."""
    X, Y, _, _ = mlp.stacked_digits(seeds, cfg["n_train"])
    out = []
    for exponent in cfg["grids"][optimizer]:
        p = mlp.train([mlp.init(s) for s in seeds], X, Y, epochs, batch,
                      make_optimizer(optimizer, 10.0 ** exponent), seeds)
        out.append(mlp.mean_loss(p, X, Y))
    losses = np.array(out)
    return np.where(np.isfinite(losses), losses, np.nan)


def batch_table(seeds, optimizer: str, batches=CONFIG["batches"], cfg: dict = CONFIG) -> dict:
    """Per batch size, the losses over the lr grid after the same number of examples
    (``epochs`` epochs) and, for the control, after the same number of updates (``updates``
    steps: updates * batch / n_train epochs)."""
    return {batch: {"examples": training_losses(seeds, optimizer, batch, cfg["epochs"], cfg),
                    "updates": training_losses(seeds, optimizer, batch,
                                               cfg["updates"] * batch // cfg["n_train"], cfg)}
            for batch in batches}


def best_over_lrs(losses: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per seed: the lowest loss over the grid and whether its lr lies strictly inside it."""
    filled = np.where(np.isnan(losses), np.inf, losses)
    index = filled.argmin(0)
    return filled.min(0), (index > 0) & (index < len(losses) - 1)


# --- sharpness ----------------------------------------------------------------------------------
def top_hessian_eigenvalue(params: dict, X: torch.Tensor, Y: torch.Tensor,
                           iterations: int = 50, seed: int = 0) -> float:
    """The largest eigenvalue of the training loss's Hessian at one model's ``params`` (a dict
    of tensors), by power iteration on Hessian-vector products (torch.func.jvp of the
    gradient)."""
    from torch.func import grad, jvp
    keys = list(params)

    def loss(*flat):
        p = dict(zip(keys, flat))
        return mlp.soft_ce(mlp.forward(p, X), torch.nn.functional.one_hot(Y, 10).float())

    primals = tuple(params[k] for k in keys)
    g = torch.Generator().manual_seed(seed)
    v = tuple(torch.randn(t.shape, generator=g) for t in primals)
    value = 0.0
    for _ in range(iterations):
        norm = torch.sqrt(sum((t ** 2).sum() for t in v))
        v = tuple(t / norm for t in v)
        _, hv = jvp(grad(loss, argnums=tuple(range(len(keys)))), primals, v)
        value = float(sum((a * b).sum() for a, b in zip(v, hv)))
        v = hv
    return value


def sharpness_experiment(seeds, cfg: dict = CONFIG) -> dict:
    """Per seed, SGD with batches of the smallest size and with the full batch, each at its
    best lr on the default grid: the test accuracy, training loss and top Hessian eigenvalue of
    the training loss after ``sharp_epochs`` epochs, and the full batch's again after ten times
    as many (where its training loss reaches the minibatch run's)."""
    X, Y, Xte, Yte = mlp.stacked_digits(seeds, cfg["n_train"])
    epochs = cfg["sharp_epochs"]
    runs = {"minibatch": (cfg["batches"][0], cfg["sharp_lrs"][0], epochs),
            "full batch": (cfg["n_train"], cfg["sharp_lrs"][1], epochs),
            "full batch, 10x epochs": (cfg["n_train"], cfg["sharp_lrs"][1], 10 * epochs)}
    out = {}
    for name, (batch, exponent, run_epochs) in runs.items():
        p = mlp.train([mlp.init(s) for s in seeds], X, Y, run_epochs, batch,
                      optim.sgd(10.0 ** exponent), seeds)
        out[name] = {"test": mlp.accuracy(p, Xte, Yte), "train": mlp.mean_loss(p, X, Y),
                     "sharpness": np.array([top_hessian_eigenvalue(
                         {k: v[m] for k, v in p.items()}, X[m], Y[m])
                         for m in range(len(seeds))])}
    return out


def rescaled(params: dict, a: float) -> dict:
    """Dinh et al. (2017)'s reparametrization of the ReLU MLP: the first layer's weights and
    bias times a, the second layer's weights divided by a: the same function for a > 0."""
    return {**params, "w1": a * params["w1"], "b1": a * params["b1"], "w2": params["w2"] / a}


def dense_hessian_top_eigenvalue(params: dict, X: torch.Tensor, Y: torch.Tensor) -> float:
    """The largest eigenvalue of the explicit Hessian (torch.autograd.functional.hessian over
    the flattened parameters): the reference for the power iteration on small nets."""
    keys, shapes = list(params), [params[k].shape for k in params]
    sizes = [params[k].numel() for k in keys]

    def loss(flat):
        chunks = torch.split(flat, sizes)
        p = {k: c.reshape(s) for k, c, s in zip(keys, chunks, shapes)}
        return mlp.soft_ce(mlp.forward(p, X.double()),
                           torch.nn.functional.one_hot(Y, 10).double())

    flat = torch.cat([params[k].flatten() for k in keys]).double()
    H = torch.autograd.functional.hessian(loss, flat)
    return float(torch.linalg.eigvalsh(H).max())
