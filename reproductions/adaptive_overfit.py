"""Adaptive methods overfit a constructed linear problem that (S)GD solves perfectly.

Wilson, Roelofs, Stern, Srebro, Recht, "The Marginal Value of Adaptive Gradient Methods in
Machine Learning", NeurIPS 2017, Section 3.3. On the data of :func:`reproductions.data.
wilson_dataset` with least-squares loss, gradient descent from 0 converges to the minimum-norm
interpolator X^+ y, which classifies every test point correctly, while AdaGrad, RMSProp and Adam
converge to a solution proportional to sign(X^T y), which predicts +1 everywhere.

Protocol (measured to hold on 20/20 seeds): n = 50 training points, p = 0.7,
m = 1000 test points, loss L(w) = 1/(2n) ||Xw - y||^2, w_0 = 0, full batch for every method but
SGD. Hyperparameters are in ``CONFIG``; each has the reason it is what it is.

Every method is trained only on the columns that carry training features
(``Wilson.train_support``): the gradient on any other column is exactly 0 for every training
example, so every method leaves those weights at 0 (AdaGrad/RMSProp/Adam's update there is
0 / (0 + eps) = 0), and a test point's unique features contribute nothing to its prediction.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from . import optimizers as optim
from .data import wilson_dataset

CONFIG = {
    "n": 50, "p": 0.7, "m": 1000,          # Wilson et al.'s setting, small enough for CPU
    "gd": {"steps": 500},                  # lr = 1/L, L = sigma_max(X)^2 / n: the largest safe step
    "sgd": {"lr": 0.1, "steps": 5000},     # batch 1, 100 epochs, per-epoch reshuffling
    "adagrad": {"lr": 0.1, "steps": 1000},
    "rmsprop": {"lr": 1e-3, "alpha": 0.99, "steps": 3000},
    "adam": {"lr": 1e-2, "steps": 1000},   # torch defaults betas (0.9, 0.999), eps 1e-8
}
METHODS = ("gd", "sgd", "adagrad", "rmsprop", "adam")
ADAPTIVE = ("adagrad", "rmsprop", "adam")


@dataclass
class Runs:
    """Per method, arrays over seeds (first axis); weights restricted to the training support."""
    seeds: list[int]
    weights: dict[str, np.ndarray]          # (S, d_train)
    test_acc: dict[str, np.ndarray]         # (S,)
    frac_plus: dict[str, np.ndarray]        # (S,) fraction of test points predicted +1
    min_test_margin: dict[str, np.ndarray]  # (S,) min_j y_j <x_j, w>
    pos_frac: np.ndarray                    # (S,) fraction of +1 test labels
    min_norm: np.ndarray                    # (S, d_train) X^+ y
    sign_dir: np.ndarray                    # (S, d_train) sign(X^T y)
    config: dict = field(default_factory=dict)


def sgd_order(seed: int, n: int, steps: int) -> torch.Tensor:
    """SGD's example order: a fresh permutation of the n examples every epoch."""
    gen = torch.Generator().manual_seed(seed)
    epochs = -(-steps // n)
    return torch.cat([torch.randperm(n, generator=gen) for _ in range(epochs)])[:steps]


def _optimizer(method: str, cfg: dict, lipschitz: torch.Tensor) -> optim.Optimizer:
    c = cfg[method]
    if method == "gd":
        return optim.sgd(1.0 / lipschitz[:, None])
    if method == "sgd":
        return optim.sgd(c["lr"])
    if method == "adagrad":
        return optim.adagrad(c["lr"])
    if method == "rmsprop":
        return optim.rmsprop(c["lr"], alpha=c["alpha"])
    return optim.adam(c["lr"])


def least_squares_gradient(X: torch.Tensor, y: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """The gradient of (1/2n) ||X w - y||^2 for every seed at once: X (S, n, d), y (S, n),
    w (S, d). Checked against autograd through ``train_reference`` by the claim's
    kernel-parity part."""
    n = X.shape[1]
    return torch.einsum("snd,sn->sd", X, torch.einsum("snd,sd->sn", X, w) - y) / n


def train(seeds, variant: str = "paper", config: dict = CONFIG, methods=METHODS) -> Runs:
    """Train ``methods`` (default: all five) on every seed's data set, all seeds at once (one
    batch dimension)."""
    seeds = list(seeds)
    data = [wilson_dataset(config["n"], config["p"], config["m"], s, variant) for s in seeds]
    dt = data[0].train_support
    X = torch.tensor(np.stack([d.X_train[:, :dt] for d in data]))       # (S, n, dt)
    y = torch.tensor(np.stack([d.y_train for d in data]))               # (S, n)
    n = X.shape[1]
    lipschitz = torch.linalg.matrix_norm(X, ord=2) ** 2 / n             # (S,)

    def full_grad(w, t):
        return least_squares_gradient(X, y, w)

    rows = torch.arange(len(seeds))
    order = torch.stack([sgd_order(s, n, config["sgd"]["steps"]) for s in seeds])  # (S, steps)

    def sample_grad(w, t):
        i = order[:, t - 1]
        x = X[rows, i]                                                  # (S, dt)
        return x * ((x * w).sum(-1) - y[rows, i])[:, None]

    weights = {}
    for method in methods:
        grad = sample_grad if method == "sgd" else full_grad
        opt = _optimizer(method, config, lipschitz)
        w0 = torch.zeros(len(seeds), dt, dtype=X.dtype)
        weights[method] = optim.run(opt, grad, w0, config[method]["steps"]).numpy()

    Xn, yn = X.numpy(), y.numpy()
    Xt = np.stack([d.X_test[:, :dt] for d in data])
    yt = np.stack([d.y_test for d in data])
    out = Runs(seeds=seeds, weights=weights, test_acc={}, frac_plus={}, min_test_margin={},
               pos_frac=(yt > 0).mean(1), min_norm=np.stack([np.linalg.pinv(a) @ b
                                                            for a, b in zip(Xn, yn)]),
               sign_dir=np.sign(np.einsum("snd,sn->sd", Xn, yn)), config=config)
    for method, w in weights.items():
        score = np.einsum("smd,sd->sm", Xt, w)
        out.test_acc[method] = (np.sign(score) == yt).mean(1)           # sign(0) counts as wrong
        out.frac_plus[method] = (score > 0).mean(1)
        out.min_test_margin[method] = (yt * score).min(1)
    return out


# Learning-rate grids of the adaptive methods for the class-balance sweep: a decade either side of
# CONFIG's rate for AdaGrad and Adam, and RMSProp's 1e-4 ... 1e-2.
ADAPTIVE_LRS = {"adagrad": (0.01, 0.1, 1.0), "rmsprop": (1e-4, 1e-3, 1e-2),
                "adam": (1e-3, 1e-2, 0.1)}


def balance_sweep(seeds, variant: str, ps, ns, lrs: dict = ADAPTIVE_LRS,
                  config: dict = CONFIG) -> dict:
    """Each adaptive method at each lr of its grid, for every class balance p and size n:
    ``{(p, n, method, lr): {"generalizes": (S,) bool, "predicts_plus": (S,) bool}}``, where
    generalizes = every test point classified correctly and predicts_plus = every test point
    predicted +1, per seed."""
    out = {}
    for p in ps:
        for n in ns:
            for method, grid in lrs.items():
                for lr in grid:
                    cfg = dict(config, p=p, n=n, **{method: dict(config[method], lr=lr)})
                    r = train(seeds, variant, cfg, methods=(method,))
                    out[p, n, method, lr] = {"generalizes": r.test_acc[method] == 1.0,
                                             "predicts_plus": r.frac_plus[method] == 1.0}
    return out


def train_reference(seed: int, variant: str = "paper", config: dict = CONFIG) -> dict:
    """The naive counterpart of :func:`train`: one seed at a time, ``torch.optim`` and autograd
    on an explicit weight vector, with ``float(loss)`` read every step as a training loop would.

    It shares no update code with :func:`train`, so agreement between the two is a check of the
    hand-written rules; it is also the baseline of the benchmark.
    """
    d = wilson_dataset(config["n"], config["p"], config["m"], seed, variant)
    dt = d.train_support
    X = torch.tensor(d.X_train[:, :dt])
    y = torch.tensor(d.y_train)
    n = len(y)
    lipschitz = float(torch.linalg.matrix_norm(X, ord=2) ** 2 / n)
    order = sgd_order(seed, n, config["sgd"]["steps"])

    weights = {}
    for method in METHODS:
        w = torch.zeros(dt, dtype=X.dtype, requires_grad=True)
        c = config[method]
        opt = {"gd": lambda: torch.optim.SGD([w], lr=1.0 / lipschitz),
               "sgd": lambda: torch.optim.SGD([w], lr=c["lr"]),
               "adagrad": lambda: torch.optim.Adagrad([w], lr=c["lr"]),
               "rmsprop": lambda: torch.optim.RMSprop([w], lr=c["lr"], alpha=c["alpha"]),
               "adam": lambda: torch.optim.Adam([w], lr=c["lr"])}[method]()
        for t in range(c["steps"]):
            opt.zero_grad()
            if method == "sgd":
                i = order[t]
                loss = 0.5 * (X[i] @ w - y[i]) ** 2
            else:
                loss = 0.5 * ((X @ w - y) ** 2).mean()
            loss.backward()
            opt.step()
            loss.item()  # the host sync a typical training loop pays every step
        weights[method] = w.detach().numpy()
    return weights


# --- the gpu tier: Wilson et al.'s CIFAR-10 experiment, reduced -----------------------------
CIFAR_CONFIG = {
    "epochs": 30,            # the paper trains 250 epochs; 30 separates the methods at our budget
    "batch": 128,            # the paper's batch size
    "sgd_lrs": (0.05, 0.1, 0.2),     # tuned per method over a small grid, as the paper tunes
    "adam_lrs": (1e-4, 3e-4, 1e-3),
    "momentum": 0.9,
    "weight_decay": 5e-4,
    "lr_decay_epochs": (15, 25),      # step decay x0.1, the paper's schedule shape
    "tune_seed": 0,
}


def vgg_small(num_classes: int = 10) -> torch.nn.Module:
    """A VGG-style network (conv-BN-ReLU blocks, widths 64-128-256-512, max-pooling)."""
    nn = torch.nn
    layers, c_in = [], 3
    for c_out, pool in ((64, False), (64, True), (128, False), (128, True), (256, False),
                        (256, True), (512, False), (512, True)):
        layers += [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out),
                   nn.ReLU(inplace=True)]
        if pool:
            layers.append(nn.MaxPool2d(2))
        c_in = c_out
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(512, num_classes)]
    return nn.Sequential(*layers)


def cifar_test_error(x_train, y_train, x_test, y_test, method: str, lr: float, seed: int,
                     device, config: dict = CIFAR_CONFIG) -> float:
    """Train :func:`vgg_small` with SGD-momentum or Adam; return the final test error (%).

    Augmentation: random crops (pad 4) and horizontal flips, as in the paper's CIFAR-10 setup.
    """
    torch.manual_seed(seed)
    mean = x_train.reshape(-1, 3).mean(0) / 255
    std = x_train.reshape(-1, 3).std(0) / 255

    def to_tensor(x):
        t = torch.tensor(x, dtype=torch.float32, device=device).permute(0, 3, 1, 2) / 255
        return (t - torch.tensor(mean, device=device, dtype=torch.float32)[:, None, None]) / \
            torch.tensor(std, device=device, dtype=torch.float32)[:, None, None]

    xtr, xte = to_tensor(x_train), to_tensor(x_test)
    ytr = torch.tensor(y_train, device=device)
    yte = torch.tensor(y_test, device=device)
    net = vgg_small().to(device)
    if method == "sgd":
        opt = torch.optim.SGD(net.parameters(), lr=lr, momentum=config["momentum"],
                              weight_decay=config["weight_decay"])
    else:
        opt = torch.optim.Adam(net.parameters(), lr=lr, weight_decay=config["weight_decay"])
    sched = torch.optim.lr_scheduler.MultiStepLR(opt, list(config["lr_decay_epochs"]), 0.1)
    gen = torch.Generator(device=device).manual_seed(seed)
    n = len(ytr)
    for _ in range(config["epochs"]):
        net.train()
        perm = torch.randperm(n, device=device, generator=gen)
        for start in range(0, n, config["batch"]):
            idx = perm[start:start + config["batch"]]
            xb = torch.nn.functional.pad(xtr[idx], (4, 4, 4, 4), mode="reflect")
            i, j = torch.randint(0, 9, (2,), device=device, generator=gen).tolist()
            xb = xb[:, :, i:i + 32, j:j + 32]
            flip = torch.rand(len(idx), device=device, generator=gen) < 0.5
            xb = torch.where(flip[:, None, None, None], xb.flip(3), xb)
            loss = torch.nn.functional.cross_entropy(net(xb), ytr[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        sched.step()
    net.eval()
    with torch.no_grad():
        wrong = sum(int((net(xte[s:s + 1000]).argmax(1) != yte[s:s + 1000]).sum())
                    for s in range(0, len(yte), 1000))
    return 100.0 * wrong / len(yte)


# --- figure ----------------------------------------------------------------------------------
def plot(runs: Runs):
    """Left: test accuracy per method over seeds. Right: mean |w| on features 1-3 vs unique."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 3.6))
    ax, bx = fig.subplots(1, 2)
    rng = np.random.default_rng(0)
    for k, method in enumerate(METHODS):
        acc = runs.test_acc[method]
        ax.scatter(k + rng.uniform(-0.15, 0.15, len(acc)), acc, s=14,
                   color="C0" if method in ("gd", "sgd") else "C3")
    ax.plot([-0.5, len(METHODS) - 0.5], [runs.pos_frac.mean()] * 2, "k--", lw=1,
            label="fraction of +1 test labels (mean)")
    ax.set_xticks(range(len(METHODS)), [m.upper() if len(m) < 4 else m.capitalize()
                                        for m in METHODS])
    ax.set_ylabel("test accuracy")
    ax.set_title(f"Test accuracy, {len(runs.seeds)} seeds")
    ax.legend(loc="center right", fontsize=8)

    width = 0.38
    shared = [np.abs(runs.weights[m][:, :3]).mean() for m in METHODS]
    unique = [np.abs(runs.weights[m][:, 3:]).mean() for m in METHODS]
    x = np.arange(len(METHODS))
    bx.bar(x - width / 2, shared, width, label="features 1-3 (label, two constants)")
    bx.bar(x + width / 2, unique, width, label="unique features")
    bx.set_xticks(x, ax.get_xticklabels() and [t.get_text() for t in ax.get_xticklabels()])
    bx.set_ylabel("mean |w|")
    bx.set_title("Where the weight goes")
    bx.legend(fontsize=8)
    return fig


# --- the notes' sentence on the unseen features ---------------------------------------------------
def weights_off_the_training_support(seed: int, start_scale: float = 0.0, steps: int = 40,
                                     config: dict = CONFIG, m: int = 20) -> dict:
    """Train each method with torch.optim on *every* column (the test points' unique features
    included) from w_0 = ``start_scale`` N(0, I); return, per method, the largest |w_j| over
    the columns no training example uses (m test points keep the problem small)."""
    d = wilson_dataset(config["n"], config["p"], m, seed, "paper")
    X, y = torch.tensor(d.X_train), torch.tensor(d.y_train)
    lipschitz = float(torch.linalg.matrix_norm(X, ord=2) ** 2 / len(y))
    start = start_scale * torch.randn(X.shape[1], generator=torch.Generator().manual_seed(seed),
                                      dtype=X.dtype)
    out = {}
    for method in METHODS:
        w = start.clone().requires_grad_()
        c = config[method]
        opt = {"gd": lambda: torch.optim.SGD([w], lr=1.0 / lipschitz),
               "sgd": lambda: torch.optim.SGD([w], lr=c["lr"]),
               "adagrad": lambda: torch.optim.Adagrad([w], lr=c["lr"]),
               "rmsprop": lambda: torch.optim.RMSprop([w], lr=c["lr"], alpha=c["alpha"]),
               "adam": lambda: torch.optim.Adam([w], lr=c["lr"])}[method]()
        for t in range(steps):
            opt.zero_grad()
            rows = slice(t % len(y), t % len(y) + 1) if method == "sgd" else slice(None)
            (0.5 * ((X[rows] @ w - y[rows]) ** 2).mean()).backward()
            opt.step()
        out[method] = float(w.detach()[d.train_support:].abs().max())
    return out
