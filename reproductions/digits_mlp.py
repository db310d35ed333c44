"""The small network several claims train on scikit-learn's digits: a one-hidden-layer ReLU MLP
64-h-10, He-initialized, M models at once.

``train`` runs M such models stacked on a leading axis (``torch.func.grad`` under ``vmap``) with the
shared optimizers of ``reproductions.optimizers``; each model draws its minibatches, input noise,
mixup pairs and dropout masks from generators seeded by its own seed, so its run is the same
whichever seeds share the batch. Its variants are the regularizers of slides 002: dropout on the
hidden layer, mixup (Zhang et al. 2018), Gaussian input noise, weight decay.

Each hand-written piece has its counterpart in torch here: ``training_parity`` (``train`` against
torch.nn + torch.optim on the same minibatches) and ``dropout_layer_parity`` (nn.Dropout).
Data: the 1797 digits, a stratified split per seed, standardized with the training split's
statistics.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.func import grad, vmap

from . import minibatch
from . import optimizers as optim
from .data import digits as digit_arrays

HIDDEN = 128   # the hidden width of the regularization claims' network


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


def init(seed: int, hidden: int = HIDDEN, features: int = 64) -> dict:
    """He et al.'s (2015) initialization of the features-hidden-10 MLP: weights N(0, 2 / fan_in),
    biases zero, drawn from one generator seeded by ``seed`` (first layer first)."""
    g = torch.Generator().manual_seed(seed)
    he = lambda fan_in, shape: torch.randn(*shape, generator=g) * (2 / fan_in) ** 0.5  # noqa
    return {"w1": he(features, (hidden, features)), "b1": torch.zeros(hidden),
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


def train(models: list[dict], X, Y, epochs: int, batch: int, opt: optim.Optimizer, seed,
          variant: dict | None = None, on_epoch=None) -> dict:
    """Train M models (stacked on the leading axis of ``X`` (M, n, 64), ``Y`` (M, n)) for
    ``epochs`` epochs of minibatches (a fresh permutation per model and epoch; the last
    n mod batch examples of a permutation sit the epoch out). ``variant``: {"keep": p} dropout,
    {"mixup": alpha}, {"noise": sigma}, {"weight_decay": wd} (wd * params added to the
    gradient, as torch.optim.SGD's weight_decay); ``on_epoch(epoch, params, epoch_losses)`` is
    called after each epoch. ``seed``: the models' seeds (an int s stands for s, s + 1, ...)."""
    variant = variant or {}
    p = minibatch.stack(models)
    state = minibatch.init_each(opt, p)
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
        losses = []
        for idx in minibatch.shuffled_batches(gens, n, batch):
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
            if "weight_decay" in variant:
                grads = {k: grads[k] + variant["weight_decay"] * p[k] for k in p}
            p, state = minibatch.step_each(opt, p, grads, state)
        if on_epoch is not None:
            on_epoch(epoch, p, torch.stack(losses).mean(0).numpy())
    return p


# --- the kernels against torch --------------------------------------------------------------------
def optimizer_of(spec: dict) -> tuple[optim.Optimizer, dict | None]:
    """Our optimizer (and training variant) for ``spec``: {"name": "adam", "lr"} or {"name":
    "sgd", "lr", "momentum", "nesterov", "weight_decay", "period" (cosine restarts, or None)}."""
    if spec["name"] == "adam":
        return optim.adam(spec["lr"]), None
    lr = (optim.cosine_restarts(spec["lr"], spec["period"]) if spec.get("period") else
          optim.step_decay(spec["lr"], spec["milestones"]) if spec.get("milestones") else
          spec["lr"])
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
