"""Regularization of a small network on scikit-learn's digits: early stopping under label noise,
more data, dropout, mixup, Gaussian input noise, small batches, snapshot ensembles.

Sources: slides 002 (Velasco-Forero): "Early Stopping / ReduceLROnPlateau" and its Keras example,
"We need more data!", "Vicinal Risk Minimization" (Gaussian noise, mixup), "Dropout",
"SelectBatch" (small batch sizes have a regularizing effect), "Schedules 3/3" (snapshot
ensembles at the ends of warm-restart cycles, Huang et al. 2017).

Every experiment trains all its seeds (and variants) as one batch of independent MLPs
(``torch.func.grad`` under ``vmap``), with the shared Adam or SGD of ``reproductions.optimizers``
on the stacked parameters; each model draws its minibatches, noise, mixup pairs and dropout
masks from generators seeded by its own seed, so its run is the same whichever seeds share the
batch. Data: the 1797 digits, standardized with the training split's statistics, a stratified
split per seed.

The hand-written kernels (the soft-target cross-entropy, dropout's masks and their enumerated
average, input noise, mixup, the cyclic cosine schedule, the early-stopping rule, the label
noise) each have a counterpart here to check them against: ``training_parity`` and
``reference_training`` (torch.nn + torch.optim on the same minibatches), ``dropout_layer_parity``
(nn.Dropout), ``sampled_mask_averages`` (torch's dropout draws), ``mixup_against_definitions``.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch.func import grad, vmap

from . import optimizers as optim
from .data import digits as digit_arrays

CONFIG = {
    "hidden": 128,
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


def digits(seed: int, n_train: int | None = None, n_test: int = 360):
    """A stratified split of the digits: ``n_train`` training images (all the rest by default)
    and ``n_test`` test images, standardized with the training statistics."""
    from sklearn.model_selection import train_test_split
    _, rows, labels = digit_arrays()
    Xtr, Xte, ytr, yte = train_test_split(rows, labels, test_size=n_test, random_state=seed,
                                          stratify=labels)
    if n_train is not None and n_train < len(ytr):
        Xtr, _, ytr, _ = train_test_split(Xtr, ytr, train_size=n_train, random_state=seed,
                                          stratify=ytr)
    mu, sd = Xtr.mean(), Xtr.std()
    f = lambda a: torch.tensor((a - mu) / sd, dtype=torch.float32)  # noqa: E731
    return f(Xtr), torch.tensor(ytr), f(Xte), torch.tensor(yte)


def stacked_digits(seeds, n_train: int | None = None, n_test: int = 360):
    """``digits`` for each seed, stacked on a leading model axis: (X, Y, X_test, Y_test), X of
    shape (M, n, 64)."""
    splits = [digits(s, n_train, n_test) for s in seeds]
    return tuple(torch.stack(part) for part in zip(*splits))


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


def input_noise(x: torch.Tensor, sigma: float, gens) -> torch.Tensor:
    """Gaussian vicinities (Chapelle et al.; the slides' Keras GaussianNoise): each input of each
    model's batch (M, batch, d) plus independent N(0, sigma^2) noise from that model's
    generator, drawn afresh for every batch."""
    return x + sigma * torch.stack([torch.randn(x.shape[1:], generator=g) for g in gens])


def mixup_draws(alpha: float, batch: int, gens, rngs) -> tuple[torch.Tensor, torch.Tensor]:
    """Per model: lambda ~ Beta(alpha, alpha) (Zhang et al.; the slides' "Beta(alpha)") from its
    numpy generator (torch.distributions takes no generator) and a permutation of its batch."""
    lam = torch.tensor([r.beta(alpha, alpha) for r in rngs], dtype=torch.float32)[:, None, None]
    return lam, torch.stack([torch.randperm(batch, generator=g) for g in gens])


def mixup(x: torch.Tensor, target: torch.Tensor, lam: torch.Tensor, j: torch.Tensor):
    """Zhang et al.'s mixup of each model's batch with a permutation ``j`` (M, batch) of itself:
    inputs and label distributions mixed with one ``lam`` (M, 1, 1) per model and batch."""
    rows = torch.arange(x.shape[0])[:, None]
    return lam * x + (1 - lam) * x[rows, j], lam * target + (1 - lam) * target[rows, j]


def dropout_mask(shape, keep: float, gens) -> torch.Tensor:
    """Per model, a 0/1 mask of ``shape`` keeping each unit with probability ``keep``
    (``forward`` divides kept units by ``keep``, as torch's and Keras' Dropout(rate = 1 - keep)
    do)."""
    return torch.stack([(torch.rand(shape, generator=g) < keep).float() for g in gens])


def cosine_restarts(lr0: float, period: int):
    """Huang et al.'s (2017) cyclic cosine schedule, eq. (2): lr0/2 (cos(pi mod(t - 1, period) /
    period) + 1) at 1-based step t, restarting at lr0 every ``period`` steps."""
    return lambda t: 0.5 * lr0 * (1 + math.cos(math.pi * ((t - 1) % period) / period))


def step_decay(lr0: float, milestones: tuple, factor: float = 0.1):
    """lr0, multiplied by ``factor`` at each of the 1-based steps in ``milestones`` (Zhang et
    al.'s CIFAR schedule: 0.1, divided by 10 at epochs 100 and 150)."""
    return lambda t: lr0 * factor ** sum(t > m for m in milestones)


def train(models: list[dict], X, Y, epochs: int, batch: int, opt: optim.Optimizer, seed,
          variant: dict | None = None, on_epoch=None) -> dict:
    """Train M models (stacked on the leading axis of ``X`` (M, n, 64), ``Y`` (M, n)) for
    ``epochs`` epochs of minibatches (a fresh permutation per model and epoch; the last
    n mod batch examples of a permutation sit the epoch out). ``variant``: {"keep": p} dropout,
    {"mixup": alpha}, {"noise": sigma}, {"weight_decay": wd} (wd * params added to the
    gradient, as torch.optim.SGD's weight_decay); ``on_epoch(epoch, params, epoch_losses)`` is
    called after each epoch. ``seed``: the models' seeds (an int s stands for s, s + 1, ...)."""
    variant = variant or {}
    p = stack(models)
    state = {k: opt.init(v) for k, v in p.items()}
    M, n = Y.shape
    # One generator per model, seeded by its own seed: a model's run does not depend on which
    # other seeds share the batch, so a statistic over any window of seeds can be read off one
    # run over all of them.
    model_seeds = [seed + m for m in range(M)] if isinstance(seed, int) else list(seed)
    gens = [torch.Generator().manual_seed(int(s)) for s in model_seeds]
    rngs = [np.random.default_rng(int(s)) for s in model_seeds]
    rows = torch.arange(M)[:, None]

    def loss(params, x, target, mask):
        return soft_ce(forward(params, x, variant.get("keep"), mask), target)

    mask_dim = 0 if "keep" in variant else None
    step_grad = vmap(grad(loss), in_dims=(0, 0, 0, mask_dim))
    for epoch in range(epochs):
        perm = torch.stack([torch.randperm(n, generator=g) for g in gens])
        losses = []
        for s in range(0, n - batch + 1, batch):
            idx = perm[:, s:s + batch]
            x, target = X[rows, idx], torch.nn.functional.one_hot(Y[rows, idx], 10).float()
            if "noise" in variant:
                x = input_noise(x, variant["noise"], gens)
            if "mixup" in variant:
                x, target = mixup(x, target, *mixup_draws(variant["mixup"], batch, gens, rngs))
            mask = None
            if "keep" in variant:
                mask = dropout_mask((batch, p["w1"].shape[1]), variant["keep"], gens)
            grads = step_grad(p, x, target, mask)
            if on_epoch is not None:   # the logged training loss (Keras' 'loss') needs it
                with torch.no_grad():
                    losses.append(vmap(loss, in_dims=(0, 0, 0, mask_dim))(p, x, target, mask))
            for k in p:
                gk = grads[k] + variant["weight_decay"] * p[k] if "weight_decay" in variant \
                    else grads[k]
                upd, state[k] = opt.update(gk, state[k])
                p[k] = p[k] + upd
        if on_epoch is not None:
            on_epoch(epoch, p, torch.stack(losses).mean(0).numpy())
    return p


# --- early stopping under label noise -------------------------------------------------------------
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
          seeds, on_epoch=on_epoch)
    return {k: np.array(v).T for k, v in log.items()}              # (seeds, epochs)


# --- more data ------------------------------------------------------------------------------------
def more_data_experiment(seeds, cfg: dict = CONFIG["more_data"]) -> dict:
    """Full-batch Adam for ``steps`` steps on n = each of ``sizes`` training images: the
    train-test accuracy gap per seed and size."""
    gaps = {}
    for n in cfg["sizes"]:
        X, Y, Xte, Yte = stacked_digits(seeds, n)
        p = train([init(s) for s in seeds], X, Y, cfg["steps"], n, optim.adam(cfg["lr"]),
                  seeds)
        gaps[n] = accuracy(p, X, Y) - accuracy(p, Xte, Yte)
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
    X, Y, Xte, Yte = stacked_digits(seeds, c["n_train"], c["n_test"])
    table = variant_table(cfg)
    scale = 1.0 if steps is None else steps / c["epochs"]
    opt, decay = optimizer_of(spec or {"name": "adam", "lr": c["lr"]})
    out = {}
    for name in ["plain"] + [n for n in (names or table) if n != "plain"]:
        variant, small, hidden = table[name]
        epochs = c["small_batch_epochs"] if small else c["epochs"]
        p = train([init(s, hidden) for s in seeds], X, Y, round(epochs * scale),
                  small or batch or c["n_train"], opt, seeds, {**variant, **(decay or {})})
        out[name] = accuracy(p, Xte, Yte)
        out[name + " train"] = accuracy(p, X, Y)
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
    X, Y, Xte, Yte = stacked_digits(seeds, cfg.get("n_train"), cfg.get("n_test", 360))
    steps_per_epoch = X.shape[1] // cfg["batch"]
    lr = cosine_restarts(cfg["lr"], cfg["epochs_per_cycle"] * steps_per_epoch)
    snapshots = []

    def on_epoch(epoch, p, _):
        if (epoch + 1) % cfg["epochs_per_cycle"] == 0:
            with torch.no_grad():
                snapshots.append(torch.softmax(vmap(forward)(p, Xte), -1))

    variant = {"weight_decay": cfg["weight_decay"]} if cfg.get("weight_decay") else None
    p = train([init(s) for s in seeds], X, Y, cfg["cycles"] * cfg["epochs_per_cycle"],
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
            "last_train_acc": accuracy(p, X, Y)}


# --- the kernels against torch --------------------------------------------------------------------
def optimizer_of(spec: dict) -> tuple[optim.Optimizer, dict | None]:
    """Our optimizer (and training variant) for ``spec``: {"name": "adam", "lr"} or {"name":
    "sgd", "lr", "momentum", "nesterov", "weight_decay", "period" (cosine restarts, or None)}."""
    if spec["name"] == "adam":
        return optim.adam(spec["lr"]), None
    lr = (cosine_restarts(spec["lr"], spec["period"]) if spec.get("period") else
          step_decay(spec["lr"], spec["milestones"]) if spec.get("milestones") else spec["lr"])
    wd = spec.get("weight_decay", 0.0)
    return (optim.sgd(lr, momentum=spec.get("momentum", 0.0), nesterov=spec.get("nesterov",
                                                                                  False)),
            {"weight_decay": wd} if wd else None)


def reference_training(params: dict, X, Y, epochs: int, batch: int, spec: dict, seed: int):
    """``train`` for one model written with torch.nn.Linear, F.cross_entropy, torch.optim (Adam,
    or SGD with its momentum, Nesterov and weight decay, and CosineAnnealingWarmRestarts) on the
    same minibatches (the same generator draws the permutations): its final parameters."""
    hidden = params["w1"].shape[0]
    model = torch.nn.Sequential(torch.nn.Linear(64, hidden), torch.nn.ReLU(),
                                torch.nn.Linear(hidden, 10))
    with torch.no_grad():
        for layer, k in ((model[0], "1"), (model[2], "2")):
            layer.weight.copy_(params["w" + k])
            layer.bias.copy_(params["b" + k])
    if spec["name"] == "adam":
        opt = torch.optim.Adam(model.parameters(), lr=spec["lr"])
    else:
        opt = torch.optim.SGD(model.parameters(), lr=spec["lr"], momentum=spec.get("momentum", 0),
                              nesterov=spec.get("nesterov", False),
                              weight_decay=spec.get("weight_decay", 0.0))
    sched = (torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=spec["period"])
             if spec.get("period") else
             torch.optim.lr_scheduler.MultiStepLR(opt, list(spec["milestones"]), gamma=0.1)
             if spec.get("milestones") else None)
    g = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        perm = torch.randperm(len(Y), generator=g)
        for s in range(0, len(Y) - batch + 1, batch):
            idx = perm[s:s + batch]
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(X[idx]), Y[idx]).backward()
            opt.step()
            if sched is not None:
                sched.step()
    return {"w1": model[0].weight, "b1": model[0].bias, "w2": model[2].weight,
            "b2": model[2].bias}


def training_parity(seed: int, n_train: int, epochs: int, batch: int, spec: dict) -> float:
    """The largest parameter difference between ``train`` and ``reference_training`` after
    ``epochs`` epochs from the same initial weights, relative to the largest parameter."""
    X, Y, _, _ = digits(seed, n_train=n_train)
    opt, variant = optimizer_of(spec)
    ours = train([init(seed)], X[None], Y[None], epochs, batch, opt, seed, variant)
    ref = reference_training(init(seed), X, Y, epochs, batch, spec, seed)
    with torch.no_grad():
        return max(float((ours[k][0] - ref[k]).abs().max() / ref[k].abs().max()) for k in ref)


def dropout_layer_parity(seed: int, keep: float = 0.5, batch: int = 32) -> float:
    """``forward`` with a mask against torch's nn.Dropout(1 - keep) in a torch.nn model, the mask
    read off torch's own draw (the same global seed, the same shape): relative difference."""
    p = init(seed)
    x = torch.randn(batch, 64, generator=torch.Generator().manual_seed(seed))
    model = torch.nn.Sequential(torch.nn.Linear(64, p["w1"].shape[0]), torch.nn.ReLU(),
                                torch.nn.Dropout(1 - keep), torch.nn.Linear(p["w1"].shape[0], 10))
    with torch.no_grad():
        for layer, k in ((model[0], "1"), (model[3], "2")):
            layer.weight.copy_(p["w" + k])
            layer.bias.copy_(p["b" + k])
        torch.manual_seed(seed)
        theirs = model.train()(x)
        torch.manual_seed(seed)
        mask = (torch.nn.functional.dropout(torch.ones(batch, p["w1"].shape[0]), 1 - keep)
                != 0).float()
        ours = forward(p, x, keep, mask)
    return float((ours - theirs).abs().max() / theirs.abs().max())


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
    lam, j = mixup_draws(alpha, batch, gens, rngs)
    mixed_x, mixed_t = mixup(x, torch.nn.functional.one_hot(y, 10).float(), lam, j)
    by_example = torch.stack([torch.stack([lam[m, 0, 0] * x[m, i] + (1 - lam[m, 0, 0])
                                           * x[m, j[m, i]] for i in range(batch)])
                              for m in range(models)])
    ce = torch.nn.functional.cross_entropy
    theirs = torch.stack([lam[m, 0, 0] * ce(logits[m], y[m]) + (1 - lam[m, 0, 0])
                          * ce(logits[m], y[m, j[m]]) for m in range(models)])
    ours = torch.stack([soft_ce(logits[m], mixed_t[m]) for m in range(models)])
    # One model's generators listed ``draws`` times: its successive draws, in one call.
    lams = mixup_draws(alpha, 2, gens[:1] * draws, rngs[:1] * draws)[0].double().numpy()
    return {"inputs": float((mixed_x - by_example).abs().max()),
            "loss": float(((ours - theirs) / theirs).abs().max()),
            "lam_mean": float(lams.mean()), "lam_var": float(lams.var()), "draws": draws}
