"""Regularization of a small network on scikit-learn's digits: early stopping under label noise,
more data, dropout, mixup, Gaussian input noise, small batches, snapshot ensembles.

Sources: slides 002 (Velasco-Forero): "Early Stopping / ReduceLROnPlateau" and its Keras example,
"We need more data!", "Vicinal Risk Minimization" (Gaussian noise, mixup), "Dropout",
"SelectBatch" (small batch sizes have a regularizing effect), "Schedules 3/3" (snapshot
ensembles at the ends of warm-restart cycles, Huang et al. 2017).

Every experiment trains all its seeds (and variants) as one batch of the digits MLP of
``reproductions.digits_mlp`` (its ``train`` holds the dropout, mixup, input-noise and weight-decay
variants), with the shared Adam or SGD of ``reproductions.optimizers``.

The hand-written kernels here (dropout's masks and their enumerated average, the early-stopping
rule, the label noise) each have a counterpart to check them against: ``sampled_mask_averages``
(torch's dropout draws), ``mixup_against_definitions`` (mixup's kernels, example by example), and
in ``digits_mlp`` ``training_parity`` and ``dropout_layer_parity``.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch.func import vmap

from . import digits_mlp as mlp
from . import optimizers as optim

CONFIG = {
    "hidden": mlp.HIDDEN,
    "early_stopping": {"label_noise": 0.3, "n_val": 300, "epochs": 120, "batch": 64,
                       "lr": 1e-3, "patience": 3},
    "more_data": {"sizes": (100, 300, 1000), "steps": 300, "lr": 3e-3},
    # n = 150: full-batch Adam for 300 steps reaches training accuracy 1; minibatches of 16
    # (9 steps an epoch) get 60 epochs, which also reach it.
    # 1647 test images: every digit outside the training set (360 left a test-sampling noise
    # of ~0.9 points on a paired difference, as large as the effects measured).
    "small_data": {"n_train": 150, "n_test": 1647, "epochs": 300, "lr": 1e-3,
                   "small_batch_epochs": 60},
    "dropout": {"keep": 0.5},
    # Zhang et al.'s CIFAR recipe for mixup and its ERM baseline: SGD lr 0.1, momentum 0.9,
    # weight decay 1e-4, batch 128, 200 epochs, lr / 10 at epochs 100 and 150 (here one step
    # an epoch: 150 images hold one batch of 128).
    "mixup": {"alphas": (0.2, 1.0), "batch": 128, "epochs": 200,
              "recipe": {"name": "sgd", "lr": 0.1, "momentum": 0.9, "weight_decay": 1e-4,
                         "milestones": (100, 150)}},
    "input_noise": 0.5, "small_batch": 16,
    # Huang et al.'s snapshot ensembles as their CIFAR-100 example runs them: B = 200 epochs in
    # M = 5 cosine cycles from 0.2, batch 64, SGD with Nesterov momentum 0.9, weight decay 1e-4;
    # on 150 digits (2 steps an epoch), each cycle fits the training set.
    "snapshots": {"n_train": 150, "n_test": 1647, "cycles": 5, "epochs_per_cycle": 40,
                  "batch": 64, "lr": 0.2, "nesterov": True, "weight_decay": 1e-4},
}


# --- early stopping under label noise -------------------------------------------------------------
def noisy_labels(y: torch.Tensor, fraction: float, seed: int) -> torch.Tensor:
    """A ``fraction`` of the labels replaced by a different class, chosen at random."""
    g = torch.Generator().manual_seed(seed)
    flip = torch.rand(len(y), generator=g) < fraction
    other = (y + torch.randint(1, 10, (len(y),), generator=g)) % 10
    return torch.where(flip, other, y)


def dropout_layer_output(rate: float, n: int = 100_000, seed: int = 0) -> torch.Tensor:
    """What the slides' Dropout(rate) layer does to ``n`` ones in training: torch's
    nn.Dropout(rate) (the argument is the fraction dropped, as Keras'), under torch's global
    seed ``seed``."""
    torch.manual_seed(seed)
    return torch.nn.Dropout(rate).train()(torch.ones(n))


def keras_early_stopping(values: np.ndarray, patience: int) -> int | None:
    """The epoch (0-based) at which Keras' EarlyStopping(patience) stops on a logged metric
    (mode min, min_delta 0): the first epoch that ends ``patience`` epochs without a new best;
    None if it never fires."""
    best, wait = math.inf, 0
    for epoch, v in enumerate(values):
        if v < best:
            best, wait = v, 0
        else:
            wait += 1
            if wait >= patience:
                return epoch
    return None


def early_stopping_experiment(seeds, cfg: dict = CONFIG["early_stopping"]) -> dict:
    """Adam on digits whose training and validation labels carry ``label_noise`` (test labels
    clean): per epoch, the logged training loss, the validation loss and accuracy, and the test
    accuracy, per seed."""
    splits = [mlp.digits(s) for s in seeds]
    data = []
    for s, (Xtr, ytr, Xte, yte) in zip(seeds, splits):
        y_noisy = noisy_labels(ytr, cfg["label_noise"], s)
        data.append((Xtr[cfg["n_val"]:], y_noisy[cfg["n_val"]:], Xtr[:cfg["n_val"]],
                     y_noisy[:cfg["n_val"]], Xte, yte))
    X, Y, Xv, Yv, Xte, Yte = (torch.stack(c) for c in zip(*data))
    log = {"train_loss": [], "val_loss": [], "val_acc": [], "test_acc": []}

    def on_epoch(epoch, p, epoch_losses):
        log["train_loss"].append(epoch_losses)
        log["val_loss"].append(mlp.mean_loss(p, Xv, Yv))
        log["val_acc"].append(mlp.accuracy(p, Xv, Yv))
        log["test_acc"].append(mlp.accuracy(p, Xte, Yte))

    mlp.train([mlp.init(s) for s in seeds], X, Y, cfg["epochs"], cfg["batch"],
              optim.adam(cfg["lr"]), seeds, on_epoch=on_epoch)
    return {k: np.array(v).T for k, v in log.items()}              # (seeds, epochs)


# --- more data ------------------------------------------------------------------------------------
def more_data_experiment(seeds, cfg: dict = CONFIG["more_data"]) -> dict:
    """Full-batch Adam for ``steps`` steps on n = each of ``sizes`` training images: the
    train-test accuracy gap per seed and size."""
    gaps = {}
    for n in cfg["sizes"]:
        X, Y, Xte, Yte = mlp.stacked_digits(seeds, n)
        p = mlp.train([mlp.init(s) for s in seeds], X, Y, cfg["steps"], n, optim.adam(cfg["lr"]),
                      seeds)
        gaps[n] = mlp.accuracy(p, X, Y) - mlp.accuracy(p, Xte, Yte)
    return gaps


# --- dropout's weight scaling ---------------------------------------------------------------------
def all_masks(n: int, keep: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Every 0/1 mask of n units and its probability when each unit is kept with ``keep``."""
    masks = torch.tensor([[(k >> i) & 1 for i in range(n)] for k in range(2 ** n)],
                         dtype=torch.float64)
    kept = masks.sum(1)
    return masks, keep ** kept * (1 - keep) ** (n - kept)


def scaling_net(seed: int, width: int = 6):
    """The weight-scaling experiment's data and nets (float64): 50 random inputs ``x``, a linear
    unit's weights ``w``, and ``net(m1, m2)``, two ReLU layers of ``width`` units with the masks
    m1, m2 (0/1, or the keep probability for weight scaling) on their outputs; masks of shape
    (S, 1, width) give S outputs at once."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(50, width, generator=g, dtype=torch.float64)
    w = torch.randn(width, generator=g, dtype=torch.float64)
    W1, W2 = (torch.randn(width, width, generator=g, dtype=torch.float64) * (2 / width) ** 0.5
              for _ in range(2))
    v = torch.randn(width, generator=g, dtype=torch.float64) * (2 / width) ** 0.5

    def net(m1, m2):
        h = torch.relu(x @ W1.T) * m1
        return (torch.relu(h @ W2.T) * m2) @ v

    return x, w, net


def exact_mask_averages(seed: int, keep: float = 0.5, width: int = 6) -> dict:
    """The outputs averaged over every mask, enumerated with ``all_masks``' probabilities: the
    linear unit's (50,) and the ReLU net's (50,)."""
    x, w, net = scaling_net(seed, width)
    masks, prob = all_masks(width, keep)
    return {"linear": torch.einsum("k,kj,nj->n", prob, masks, x * w),
            "relu": sum(p1 * p2 * net(m1, m2) for m1, p1 in zip(masks, prob)
                        for m2, p2 in zip(masks, prob))}


def sampled_mask_averages(seed: int, keep: float = 0.5, width: int = 6,
                          samples: int = 20000) -> dict:
    """The same averages estimated from masks that torch's dropout draws
    (``torch.nn.functional.dropout`` on ones, kept units read as 1): per output the Monte Carlo
    mean and its standard error, for the linear unit and the ReLU net."""
    x, w, net = scaling_net(seed, width)
    torch.manual_seed(seed)
    ones = torch.ones(samples, 3, 1, width, dtype=torch.float64)
    m = (torch.nn.functional.dropout(ones, 1 - keep, training=True) != 0).double()
    outs = {"linear": (m[:, 0] * x * w).sum(-1), "relu": net(m[:, 1], m[:, 2])}   # (S, 50)
    return {k: (o.mean(0), o.std(0) / samples ** 0.5) for k, o in outs.items()}


def weight_scaling_gap(seed: int, keep: float = 0.5, width: int = 6) -> dict:
    """Dropout's weight-scaling rule against the exact average over every mask (enumerated, not
    sampled): relative difference for one linear unit with ``width`` inputs, and for a net with
    two ReLU hidden layers of ``width`` units, dropout after each, on 50 random inputs."""
    x, w, net = scaling_net(seed, width)
    exact = exact_mask_averages(seed, keep, width)
    rel = lambda a, b: float((a - b).norm() / a.norm())  # noqa: E731
    scaled = torch.full((width,), keep, dtype=torch.float64)
    return {"linear": rel(exact["linear"], keep * (x * w).sum(1)),
            "relu": rel(exact["relu"], net(scaled, scaled))}


# --- small-data regularizers: dropout, mixup, input noise, small batches --------------------------
def small_data_variants(seeds, names=None, cfg: dict = CONFIG, steps: int | None = None,
                        spec: dict | None = None, batch: int | None = None) -> dict:
    """Test and training accuracy per seed on n = 150 training images (tested on ``n_test``
    others) for the plain MLP and each regularizer in ``names`` (default: all of
    ``variant_table``); the same data split and initial weights per seed for every variant.
    ``spec``: the optimizer (``optimizer_of``; default Adam at the configured lr); ``batch``:
    the batch of every variant but small_batch (default: the whole training set); ``steps``:
    their number of epochs (default ``epochs``), and small_batch gets ``small_batch_epochs``
    scaled by the same factor."""
    c = cfg["small_data"]
    X, Y, Xte, Yte = mlp.stacked_digits(seeds, c["n_train"], c["n_test"])
    table = variant_table(cfg)
    scale = 1.0 if steps is None else steps / c["epochs"]
    opt, decay = mlp.optimizer_of(spec or {"name": "adam", "lr": c["lr"]})
    out = {}
    for name in ["plain"] + [n for n in (names or table) if n != "plain"]:
        variant, small, hidden = table[name]
        epochs = c["small_batch_epochs"] if small else c["epochs"]
        p = mlp.train([mlp.init(s, hidden) for s in seeds], X, Y, round(epochs * scale),
                      small or batch or c["n_train"], opt, seeds, {**variant, **(decay or {})})
        out[name] = mlp.accuracy(p, Xte, Yte)
        out[name + " train"] = mlp.accuracy(p, X, Y)
    return out


def variant_table(cfg: dict = CONFIG) -> dict:
    """Each small-data variant: (training variant, its own minibatch size or None, hidden
    width)."""
    h = cfg["hidden"]
    table = {"plain": ({}, None, h), "dropout": ({"keep": cfg["dropout"]["keep"]}, None, h),
             "noise": ({"noise": cfg["input_noise"]}, None, h),
             "small_batch": ({}, cfg["small_batch"], h)}
    table.update({f"mixup {a}": ({"mixup": a}, None, h) for a in cfg["mixup"]["alphas"]})
    return table


# --- snapshot ensembles (SGDR) --------------------------------------------------------------------
def snapshot_experiment(seeds, cfg: dict = CONFIG["snapshots"]) -> dict:
    """SGD with Huang et al.'s cyclic cosine schedule (``cycles`` cycles), a snapshot at the end
    of each cycle: test accuracy and test NLL of the last snapshot and of the ensemble (mean of
    the snapshots' probabilities), per seed."""
    X, Y, Xte, Yte = mlp.stacked_digits(seeds, cfg.get("n_train"), cfg.get("n_test", 360))
    steps_per_epoch = X.shape[1] // cfg["batch"]
    lr = optim.cosine_restarts(cfg["lr"], cfg["epochs_per_cycle"] * steps_per_epoch)
    snapshots = []

    def on_epoch(epoch, p, _):
        if (epoch + 1) % cfg["epochs_per_cycle"] == 0:
            with torch.no_grad():
                snapshots.append(torch.softmax(vmap(mlp.forward)(p, Xte), -1))

    variant = {"weight_decay": cfg["weight_decay"]} if cfg.get("weight_decay") else None
    p = mlp.train([mlp.init(s) for s in seeds], X, Y, cfg["cycles"] * cfg["epochs_per_cycle"],
                  cfg["batch"], optim.sgd(lr, momentum=0.9, nesterov=cfg.get("nesterov", False)),
                  seeds, variant, on_epoch=on_epoch)
    rows = torch.arange(len(seeds))[:, None]
    nll = lambda prob: (-torch.log(prob[rows, torch.arange(Yte.shape[1]), Yte] + 1e-12)  # noqa
                        ).mean(1).numpy()
    acc = lambda prob: (prob.argmax(-1) == Yte).float().mean(1).numpy()  # noqa: E731
    ens = torch.stack(snapshots).mean(0)
    return {"last_acc": acc(snapshots[-1]), "ensemble_acc": acc(ens),
            "last_nll": nll(snapshots[-1]), "ensemble_nll": nll(ens),
            "snapshot_acc": np.array([acc(prob) for prob in snapshots]),   # (cycles, seeds)
            "last_train_acc": mlp.accuracy(p, X, Y)}


# --- mixup's kernels against their definitions ----------------------------------------------------
def mixup_against_definitions(seed: int, alpha: float, models: int = 3, batch: int = 128,
                              draws: int = 20000) -> dict:
    """mixup's kernels against their definitions: the mixed inputs against lam x_i +
    (1 - lam) x_j computed example by example, the soft-target loss on the mixed labels against
    lam CE(y_i) + (1 - lam) CE(y_j) with torch's cross_entropy (the form of Zhang et al.'s
    code), and ``draws`` lambdas from ``mixup_draws``: their mean and variance."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(models, batch, 64, generator=g)
    y = torch.randint(0, 10, (models, batch), generator=g)
    logits = torch.randn(models, batch, 10, generator=g) * 3
    gens = [torch.Generator().manual_seed(seed + m) for m in range(models)]
    rngs = [np.random.default_rng(seed + m) for m in range(models)]
    lam, j = mlp.mixup_draws(alpha, batch, gens, rngs)
    mixed_x, mixed_t = mlp.mixup(x, torch.nn.functional.one_hot(y, 10).float(), lam, j)
    by_example = torch.stack([torch.stack([lam[m, 0, 0] * x[m, i] + (1 - lam[m, 0, 0])
                                           * x[m, j[m, i]] for i in range(batch)])
                              for m in range(models)])
    ce = torch.nn.functional.cross_entropy
    theirs = torch.stack([lam[m, 0, 0] * ce(logits[m], y[m]) + (1 - lam[m, 0, 0])
                          * ce(logits[m], y[m, j[m]]) for m in range(models)])
    ours = torch.stack([mlp.soft_ce(logits[m], mixed_t[m]) for m in range(models)])
    # One model's generators listed ``draws`` times: its successive draws, in one call.
    lams = mlp.mixup_draws(alpha, 2, gens[:1] * draws, rngs[:1] * draws)[0].double().numpy()
    return {"inputs": float((mixed_x - by_example).abs().max()),
            "loss": float(((ours - theirs) / theirs).abs().max()),
            "lam_mean": float(lams.mean()), "lam_var": float(lams.var()), "draws": draws}
