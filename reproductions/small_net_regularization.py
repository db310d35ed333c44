"""Regularization of a small network on scikit-learn's digits: early stopping under label noise,
more data, dropout, mixup, Gaussian input noise, small batches, snapshot ensembles.

Sources: slides 002 (Velasco-Forero): "Early Stopping / ReduceLROnPlateau" and its Keras example,
"We need more data!", "Vicinal Risk Minimization" (Gaussian noise, mixup), "Dropout",
"SelectBatch" (small batch sizes have a regularizing effect), "Schedules 3/3" (snapshot
ensembles at the ends of warm-restart cycles, Huang et al. 2017).

Every experiment trains all its seeds (and variants) as one batch of independent MLPs
(``torch.func.functional_call`` under ``vmap``), with the shared Adam or SGD of
``reproductions.optimizers`` on the stacked parameters. Data: the 1797 digits, standardized with
the training split's statistics, a stratified split per seed.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch.func import grad, vmap

from . import optimizers as optim

CONFIG = {
    "hidden": 128,
    "early_stopping": {"label_noise": 0.3, "n_val": 300, "epochs": 120, "batch": 64,
                       "lr": 1e-3, "patience": 3},
    "more_data": {"sizes": (100, 300, 1000), "steps": 300, "lr": 3e-3},
    # n = 150: full-batch Adam for 300 steps reaches training accuracy 1; minibatches of 16
    # (9 steps an epoch) get 60 epochs, which also reach it.
    "small_data": {"n_train": 150, "epochs": 300, "batch": 150, "lr": 1e-3,
                   "small_batch_epochs": 60},
    "dropout": {"keep": 0.5, "masks": 2000},
    "mixup_alphas": (0.2, 1.0), "input_noise": 0.5, "small_batch": 16,
    "snapshots": {"cycles": 4, "epochs_per_cycle": 20, "batch": 64, "lr": 0.05},
}


def digits(seed: int, n_train: int | None = None, n_test: int = 360):
    """A stratified split of the digits: ``n_train`` training images (all the rest by default)
    and ``n_test`` test images, standardized with the training statistics."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    d = load_digits()
    Xtr, Xte, ytr, yte = train_test_split(d.data, d.target, test_size=n_test, random_state=seed,
                                          stratify=d.target)
    if n_train is not None and n_train < len(ytr):
        Xtr, _, ytr, _ = train_test_split(Xtr, ytr, train_size=n_train, random_state=seed,
                                          stratify=ytr)
    mu, sd = Xtr.mean(), Xtr.std()
    f = lambda a: torch.tensor((a - mu) / sd, dtype=torch.float32)  # noqa: E731
    return f(Xtr), torch.tensor(ytr), f(Xte), torch.tensor(yte)


def init(seed: int, hidden: int = CONFIG["hidden"]) -> dict:
    g = torch.Generator().manual_seed(seed)
    he = lambda fan_in, shape: torch.randn(*shape, generator=g) * (2 / fan_in) ** 0.5  # noqa
    return {"w1": he(64, (hidden, 64)), "b1": torch.zeros(hidden),
            "w2": he(hidden, (10, hidden)), "b2": torch.zeros(10)}


def forward(p, x, keep=None, mask=None):
    """The MLP; with ``mask`` (hidden,) and ``keep``, dropout on the hidden layer (inverted:
    kept units are divided by ``keep``)."""
    h = torch.relu(x @ p["w1"].T + p["b1"])
    if mask is not None:
        h = h * mask / keep
    return h @ p["w2"].T + p["b2"]


def soft_ce(logits, target):
    """Cross-entropy against a (possibly mixed) target distribution."""
    return -(target * torch.log_softmax(logits, -1)).sum(-1).mean()


def stack(dicts):
    return {k: torch.stack([d[k] for d in dicts]) for k in dicts[0]}


def accuracy(p, X, y):
    with torch.no_grad():
        return (vmap(forward)(p, X).argmax(-1) == y).float().mean(-1).numpy()


def mean_loss(p, X, y):
    with torch.no_grad():
        return vmap(lambda p, x, y: soft_ce(forward(p, x), torch.nn.functional.one_hot(y, 10)
                                            .float()))(p, X, y).numpy()


def train(models: list[dict], X, Y, epochs: int, batch: int, opt: optim.Optimizer, seed: int,
          variant: dict | None = None, on_epoch=None) -> dict:
    """Train M models (stacked on the leading axis of ``X`` (M, n, 64), ``Y`` (M, n)) for
    ``epochs`` epochs of minibatches (a fresh permutation per model and epoch). ``variant``:
    {"keep": p} dropout, {"mixup": alpha}, {"noise": sigma}; ``on_epoch(epoch, params,
    epoch_losses)`` is called after each epoch."""
    variant = variant or {}
    p = stack(models)
    state = {k: opt.init(v) for k, v in p.items()}
    M, n = Y.shape
    g = torch.Generator().manual_seed(seed)
    mix_rng = np.random.default_rng(seed)      # Beta draws: torch.distributions has no generator
    rows = torch.arange(M)[:, None]

    def loss(params, x, target, mask):
        return soft_ce(forward(params, x, variant.get("keep"), mask), target)

    step_grad = vmap(grad(loss), in_dims=(0, 0, 0, 0 if "keep" in variant else None))
    for epoch in range(epochs):
        perm = torch.stack([torch.randperm(n, generator=g) for _ in range(M)])
        losses = []
        for s in range(0, n - batch + 1, batch):
            idx = perm[:, s:s + batch]
            x, target = X[rows, idx], torch.nn.functional.one_hot(Y[rows, idx], 10).float()
            if "noise" in variant:
                x = x + variant["noise"] * torch.randn(x.shape, generator=g)
            if "mixup" in variant:
                a = variant["mixup"]
                lam = torch.tensor(mix_rng.beta(a, a, size=(M, 1, 1)), dtype=x.dtype)
                j = torch.stack([torch.randperm(batch, generator=g) for _ in range(M)])
                x = lam * x + (1 - lam) * x[rows, j]
                target = lam * target + (1 - lam) * target[rows, j]
            mask = None
            if "keep" in variant:
                mask = (torch.rand(M, batch, p["w1"].shape[1], generator=g)
                        < variant["keep"]).float()
            grads = step_grad(p, x, target, mask)
            with torch.no_grad():
                losses.append(vmap(loss, in_dims=(0, 0, 0, 0 if mask is not None else None))(
                    p, x, target, mask))
            for k in p:
                upd, state[k] = opt.update(grads[k], state[k])
                p[k] = p[k] + upd
        if on_epoch is not None:
            on_epoch(epoch, p, torch.stack(losses).mean(0).numpy())
    return p


# --- early stopping under label noise --------------------------------------------------------------
def noisy_labels(y: torch.Tensor, fraction: float, seed: int) -> torch.Tensor:
    """A ``fraction`` of the labels replaced by a different class, chosen at random."""
    g = torch.Generator().manual_seed(seed)
    flip = torch.rand(len(y), generator=g) < fraction
    other = (y + torch.randint(1, 10, (len(y),), generator=g)) % 10
    return torch.where(flip, other, y)


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
    splits = [digits(s) for s in seeds]
    data = []
    for s, (Xtr, ytr, Xte, yte) in zip(seeds, splits):
        y_noisy = noisy_labels(ytr, cfg["label_noise"], s)
        data.append((Xtr[cfg["n_val"]:], y_noisy[cfg["n_val"]:], Xtr[:cfg["n_val"]],
                     y_noisy[:cfg["n_val"]], Xte, yte))
    X, Y, Xv, Yv, Xte, Yte = (torch.stack(c) for c in zip(*data))
    log = {"train_loss": [], "val_loss": [], "val_acc": [], "test_acc": []}

    def on_epoch(epoch, p, epoch_losses):
        log["train_loss"].append(epoch_losses)
        log["val_loss"].append(mean_loss(p, Xv, Yv))
        log["val_acc"].append(accuracy(p, Xv, Yv))
        log["test_acc"].append(accuracy(p, Xte, Yte))

    train([init(s) for s in seeds], X, Y, cfg["epochs"], cfg["batch"], optim.adam(cfg["lr"]),
          seeds[0], on_epoch=on_epoch)
    return {k: np.array(v).T for k, v in log.items()}              # (seeds, epochs)


# --- more data ---------------------------------------------------------------------------------------
def more_data_experiment(seeds, cfg: dict = CONFIG["more_data"]) -> dict:
    """Full-batch Adam for ``steps`` steps on n = each of ``sizes`` training images: the
    train-test accuracy gap per seed and size."""
    gaps = {}
    for n in cfg["sizes"]:
        splits = [digits(s, n_train=n) for s in seeds]
        X, Y, Xte, Yte = (torch.stack(c) for c in zip(*splits))
        p = train([init(s) for s in seeds], X, Y, cfg["steps"], n, optim.adam(cfg["lr"]),
                  seeds[0])
        gaps[n] = accuracy(p, X, Y) - accuracy(p, Xte, Yte)
    return gaps


# --- dropout's weight scaling ------------------------------------------------------------------------
def all_masks(n: int, keep: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Every 0/1 mask of n units and its probability when each unit is kept with ``keep``."""
    masks = torch.tensor([[(k >> i) & 1 for i in range(n)] for k in range(2 ** n)],
                         dtype=torch.float64)
    kept = masks.sum(1)
    return masks, keep ** kept * (1 - keep) ** (n - kept)


def weight_scaling_gap(seed: int, keep: float = 0.5, width: int = 6) -> dict:
    """Dropout's weight-scaling rule against the exact average over every mask (enumerated, not
    sampled): relative difference for one linear unit with ``width`` inputs, and for a net with
    two ReLU hidden layers of ``width`` units, dropout after each, on 50 random inputs."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(50, width, generator=g, dtype=torch.float64)
    w = torch.randn(width, generator=g, dtype=torch.float64)
    masks, prob = all_masks(width, keep)
    linear_exact = torch.einsum("k,kj,nj->n", prob, masks, x * w)
    W1, W2 = (torch.randn(width, width, generator=g, dtype=torch.float64) * (2 / width) ** 0.5
              for _ in range(2))
    v = torch.randn(width, generator=g, dtype=torch.float64) * (2 / width) ** 0.5

    def net(m1, m2):
        h = torch.relu(x @ W1.T) * m1
        return (torch.relu(h @ W2.T) * m2) @ v

    relu_exact = sum(p1 * p2 * net(m1, m2) for m1, p1 in zip(masks, prob)
                     for m2, p2 in zip(masks, prob))
    rel = lambda a, b: float((a - b).norm() / a.norm())  # noqa: E731
    return {"linear": rel(linear_exact, keep * (x * w).sum(1)),
            "relu": rel(relu_exact, net(torch.full((width,), keep), torch.full((width,), keep)))}


# --- small-data regularizers: dropout, mixup, input noise, small batches -----------------------------
def small_data_variants(seeds, cfg: dict = CONFIG) -> dict:
    """Test accuracy per seed on n = 150 training images for the plain MLP and each regularizer:
    dropout (keep 0.5), mixup (each alpha), Gaussian input noise, minibatches of 16 (the others
    full batch); same initial weights and data per seed, Adam, ``epochs`` epochs."""
    c = cfg["small_data"]
    splits = [digits(s, n_train=c["n_train"]) for s in seeds]
    X, Y, Xte, Yte = (torch.stack(p) for p in zip(*splits))
    variants = {"plain": ({}, c["batch"]), "dropout": ({"keep": cfg["dropout"]["keep"]},
                                                      c["batch"]),
                "noise": ({"noise": cfg["input_noise"]}, c["batch"]),
                "small_batch": ({}, cfg["small_batch"])}
    variants.update({f"mixup {a}": ({"mixup": a}, c["batch"]) for a in cfg["mixup_alphas"]})
    out = {}
    for name, (variant, batch) in variants.items():
        epochs = c["epochs"] if batch == c["batch"] else c["small_batch_epochs"]
        p = train([init(s) for s in seeds], X, Y, epochs, batch, optim.adam(c["lr"]), seeds[0],
                  variant)
        out[name] = accuracy(p, Xte, Yte)
        out[name + " train"] = accuracy(p, X, Y)
    return out


# --- snapshot ensembles (SGDR) -----------------------------------------------------------------------
def snapshot_experiment(seeds, cfg: dict = CONFIG["snapshots"]) -> dict:
    """SGD with cosine warm restarts (``cycles`` cycles), a snapshot at the end of each cycle:
    test accuracy and test NLL of the last snapshot and of the ensemble (mean of the snapshots'
    probabilities), per seed."""
    splits = [digits(s) for s in seeds]
    X, Y, Xte, Yte = (torch.stack(p) for p in zip(*splits))
    steps_per_epoch = X.shape[1] // cfg["batch"]
    period = cfg["epochs_per_cycle"] * steps_per_epoch
    lr = lambda t: 0.5 * cfg["lr"] * (1 + math.cos(math.pi * ((t - 1) % period) / period))  # noqa
    snapshots = []

    def on_epoch(epoch, p, _):
        if (epoch + 1) % cfg["epochs_per_cycle"] == 0:
            with torch.no_grad():
                snapshots.append(torch.softmax(vmap(forward)(p, Xte), -1))

    train([init(s) for s in seeds], X, Y, cfg["cycles"] * cfg["epochs_per_cycle"], cfg["batch"],
          optim.sgd(lr, momentum=0.9), seeds[0], on_epoch=on_epoch)
    rows = torch.arange(len(seeds))[:, None]
    nll = lambda prob: (-torch.log(prob[rows, torch.arange(Yte.shape[1]), Yte] + 1e-12)  # noqa
                        ).mean(1).numpy()
    acc = lambda prob: (prob.argmax(-1) == Yte).float().mean(1).numpy()  # noqa: E731
    ens = torch.stack(snapshots).mean(0)
    return {"last_acc": acc(snapshots[-1]), "ensemble_acc": acc(ens),
            "last_nll": nll(snapshots[-1]), "ensemble_nll": nll(ens)}
