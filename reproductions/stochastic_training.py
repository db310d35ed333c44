"""Stochastic-gradient mechanics: the variance of a minibatch gradient, a linear learning-rate
decay, and gradient clipping.

Sources: slides 002 "SelectBatch" (larger batches give more accurate gradients), "Schedules 1/3"
(linear rate decay eta_k = (1 - k/tau) eta_0 + (k/tau) eta_tau), "Fighting against
Vanishing/Exploding Gradient" (clipping by value or by norm, Keras ``clipvalue`` and
``clipnorm``). The finite-population variance of a mean drawn without replacement,
Var = sigma^2 / m (N - m) / (N - 1), is Cochran, *Sampling Techniques* (1977), Thm 2.2.

Randomness comes from explicit seeds; everything but the clipping net runs as one batch of seeds.
"""

from __future__ import annotations

import numpy as np
import torch

from . import optimizers as optim

CONFIG = {
    # Minibatch variance: N per-example gradients of least squares at a fixed weight vector.
    "variance": {"N": 512, "dim": 10, "batch_sizes": (4, 16, 64, 256), "draws": 10_000},
    # Linear decay: least squares with label noise (no interpolating solution), SGD batch 1.
    "decay": {"n": 200, "dim": 20, "noise": 0.5, "epochs": 20, "lr0": 0.05,
              "lr_tau_ratio": 0.01,      # eta_tau = eta_0 / 100, reached at the last step
              "small_lr_ratio": 0.1},    # the constant-lr alternative at eta_0 / 10
    # The separable case: logistic regression on linearly separable data, same schedules.
    "separable": {"n": 200, "dim": 20, "epochs": 20, "lr0": 0.5, "margin": 0.5},
    # Clipping: a deep ReLU MLP whose initialization is too large, on standardized digits.
    # gain 2: every weight N(0, (2 / sqrt(fan_in))^2), sqrt(2) times He's scale, so the logits
    # start in the hundreds; lr 0.05, batch 64. Clipping constants: the slides' Keras example.
    "clip": {"depth": 12, "width": 64, "gain": 2.0, "lr": 0.05, "batch": 64, "steps": 300,
             "clip_norm": 1.0, "clip_value": 0.5},
}


# --- the variance of a minibatch gradient ---------------------------------------------------------
def least_squares_problem(seed: int, N: int, dim: int):
    """N random examples (X, y) of a noisy linear model and a random weight w, from ``seed``."""
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(N, dim, generator=g, dtype=torch.float64)
    y = X @ torch.randn(dim, generator=g, dtype=torch.float64) + torch.randn(
        N, generator=g, dtype=torch.float64)
    return X, y, torch.randn(dim, generator=g, dtype=torch.float64)


def per_example_gradients(seed: int, N: int, dim: int) -> torch.Tensor:
    """g_i = x_i (x_i . w - y_i), the gradients of (x_i . w - y_i)^2 / 2 at a random w, for N
    random examples (hand-written; the claim checks them against autograd)."""
    X, y, w = least_squares_problem(seed, N, dim)
    return X * (X @ w - y)[:, None]


def minibatch_indices(gen: torch.Generator, draws: int, N: int, m: int) -> torch.Tensor:
    """``draws`` minibatches of m distinct indices out of N (without replacement): the first m of
    a uniformly random permutation per draw. (draws, m)."""
    return torch.rand(draws, N, generator=gen).argsort(1)[:, :m]


def minibatch_variance(seed: int, cfg: dict = CONFIG["variance"]) -> dict:
    """Total variance (trace of the covariance) of the mean of m gradients drawn without
    replacement, by Monte Carlo, against sigma^2/m (N-m)/(N-1) and the with-replacement
    sigma^2/m; sigma^2 = the population's total variance."""
    G = per_example_gradients(seed, cfg["N"], cfg["dim"])
    N = len(G)
    sigma2 = float(((G - G.mean(0)) ** 2).sum(1).mean())
    gen = torch.Generator().manual_seed(seed + 1)
    out = {}
    for m in cfg["batch_sizes"]:
        means = G[minibatch_indices(gen, cfg["draws"], N, m)].mean(1)
        out[m] = {"monte_carlo": float(((means - G.mean(0)) ** 2).sum(1).mean()),
                  "without_replacement": sigma2 / m * (N - m) / (N - 1),
                  "with_replacement": sigma2 / m}
    return out


# --- a linear learning-rate decay -----------------------------------------------------------------
def linear_decay(lr0: float, lr_tau: float, tau: int):
    """Slides 002's schedule: eta_k = (1 - k/tau) eta_0 + (k/tau) eta_tau until k = tau, then
    constant (k counted from 0)."""
    return lambda t: (1 - min(t - 1, tau) / tau) * lr0 + min(t - 1, tau) / tau * lr_tau


def noisy_least_squares(seeds, n: int, dim: int, noise: float):
    g = [torch.Generator().manual_seed(s) for s in seeds]
    X = torch.stack([torch.randn(n, dim, generator=q, dtype=torch.float64) for q in g])
    w = torch.stack([torch.randn(dim, generator=q, dtype=torch.float64) for q in g])
    y = torch.einsum("snd,sd->sn", X, w) + noise * torch.stack(
        [torch.randn(n, generator=q, dtype=torch.float64) for q in g])
    return X, y


def separable_logistic(seeds, n: int, dim: int, margin: float):
    """Labels sign(x . w*) with every |x . w*| / ||w*|| >= margin: linearly separable."""
    Xs, ys = [], []
    for s in seeds:
        q = torch.Generator().manual_seed(s)
        w = torch.randn(dim, generator=q, dtype=torch.float64)
        w = w / w.norm()
        X = torch.randn(4 * n, dim, generator=q, dtype=torch.float64)
        keep = (X @ w).abs() >= margin
        X = X[keep][:n]
        Xs.append(X)
        ys.append(torch.sign(X @ w))
    return torch.stack(Xs), torch.stack(ys)


def example_gradient(loss: str, x: torch.Tensor, y: torch.Tensor, w: torch.Tensor):
    """Gradient in w of one example's loss per row (hand-written; the claim checks it against
    autograd): squared (x . w - y)^2 / 2 gives x (x . w - y); logistic softplus(-y x . w) gives
    -y sigmoid(-y x . w) x."""
    z = (x * w).sum(-1)
    r = z - y if loss == "squared" else -y * torch.sigmoid(-y * z)
    return x * r[..., None]


def full_loss(loss: str, X: torch.Tensor, y: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """Mean loss over the examples, per seed (the leading axis)."""
    z = torch.einsum("snd,sd->sn", X, w)
    return (0.5 * (z - y) ** 2).mean(1) if loss == "squared" else \
        torch.nn.functional.softplus(-y * z).mean(1)


def sgd_runs(X, y, loss: str, schedules: dict, epochs: int, seeds) -> dict:
    """SGD with batch 1 (a fresh permutation per epoch, per seed) under each named schedule;
    returns the final full-batch loss per seed."""
    S, n, d = X.shape
    order = torch.stack([torch.cat([torch.randperm(n, generator=torch.Generator().manual_seed(
        10_000 * s + e)) for e in range(epochs)]) for s in seeds])
    rows = torch.arange(S)

    def grad(w, t):
        i = order[:, t - 1]
        return example_gradient(loss, X[rows, i], y[rows, i], w)

    out = {}
    for name, lr in schedules.items():
        w = optim.run(optim.sgd(lr), grad, torch.zeros(S, d, dtype=torch.float64), epochs * n)
        out[name] = full_loss(loss, X, y, w).numpy()
    return out


def least_squares_optimum(X: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """argmin_w ||X w - y||^2 per seed (``torch.linalg.lstsq``; the claim checks it against the
    normal equations)."""
    return torch.linalg.lstsq(X, y[..., None]).solution[..., 0]


def schedule_comparison(seeds, cfg: dict = CONFIG) -> dict:
    """Excess loss over the least-squares optimum (noisy least squares) and final logistic loss
    (separable data), for constant eta_0, constant eta_0/10 and the linear decay to eta_0/100."""
    c = cfg["decay"]
    X, y = noisy_least_squares(seeds, c["n"], c["dim"], c["noise"])
    steps = c["epochs"] * c["n"]
    schedules = {"constant": c["lr0"], "constant_small": c["lr0"] * c["small_lr_ratio"],
                 "linear_decay": linear_decay(c["lr0"], c["lr0"] * c["lr_tau_ratio"], steps)}
    final = sgd_runs(X, y, "squared", schedules, c["epochs"], seeds)
    best = full_loss("squared", X, y, least_squares_optimum(X, y)).numpy()
    out = {"noisy_least_squares": {k: v - best for k, v in final.items()}}
    s = cfg["separable"]
    Xs, ys = separable_logistic(seeds, s["n"], s["dim"], s["margin"])
    steps = s["epochs"] * s["n"]
    out["separable_logistic"] = sgd_runs(Xs, ys, "logistic", {
        "constant": s["lr0"], "linear_decay": linear_decay(s["lr0"], s["lr0"] * c["lr_tau_ratio"],
                                                           steps)}, s["epochs"], seeds)
    return out


# --- gradient clipping ----------------------------------------------------------------------------
def clip_by_value(grads: list[torch.Tensor], c: float) -> list[torch.Tensor]:
    """Keras ``clipvalue``: every component into [-c, c]."""
    return [g.clamp(-c, c) for g in grads]


def _norms(grads: list[torch.Tensor], batched: bool) -> list[torch.Tensor]:
    """Each tensor's norm (a scalar), or with ``batched`` each model's along the leading axis,
    shaped to broadcast against the tensor."""
    if not batched:
        return [g.norm() for g in grads]
    return [g.flatten(1).norm(dim=1).view(-1, *[1] * (g.dim() - 1)) for g in grads]


def clip_by_norm(grads: list[torch.Tensor], c: float, batched: bool = False) -> list[torch.Tensor]:
    """Keras ``clipnorm``: each tensor rescaled to norm <= c, its direction kept (with
    ``batched``, each model's slice along the leading axis on its own)."""
    return [g * torch.clamp(c / (n + 1e-12), max=1.0)
            for g, n in zip(grads, _norms(grads, batched))]


def clip_by_global_norm(grads: list[torch.Tensor], c: float,
                        batched: bool = False) -> list[torch.Tensor]:
    """``torch.nn.utils.clip_grad_norm_`` (Keras ``global_clipnorm``): all tensors rescaled by
    one factor so that their joint norm is <= c (with ``batched``, one factor per model)."""
    total = torch.sqrt(sum(n.flatten() ** 2 for n in _norms(grads, batched)))   # (M,) or (1,)
    factor = torch.clamp(c / (total + 1e-6), max=1.0)                          # torch's guard
    return [g * (factor.view(-1, *[1] * (g.dim() - 1)) if batched else factor[0]) for g in grads]


CLIPS = {"norm": lambda g, cfg, batched=False: clip_by_norm(g, cfg["clip_norm"], batched),
         "global_norm": lambda g, cfg, batched=False: clip_by_global_norm(g, cfg["clip_norm"],
                                                                          batched),
         "value": lambda g, cfg, batched=False: clip_by_value(g, cfg["clip_value"])}


def deep_relu_net(seed: int, depth: int, width: int, gain: float, d_in: int, d_out: int):
    torch.manual_seed(seed)
    layers, fan_in = [], d_in
    for i in range(depth):
        out = width if i < depth - 1 else d_out
        lin = torch.nn.Linear(fan_in, out)
        torch.nn.init.normal_(lin.weight, std=gain / fan_in ** 0.5)
        torch.nn.init.zeros_(lin.bias)
        layers += [lin] + ([torch.nn.ReLU()] if i < depth - 1 else [])
        fan_in = out
    return torch.nn.Sequential(*layers)


def stacked_nets(seeds, cfg: dict, d_in: int, d_out: int) -> list[torch.Tensor]:
    """The parameters of ``deep_relu_net`` for each seed, stacked on a leading model axis:
    [W_1, b_1, W_2, b_2, ...], W_i (M, out, in), b_i (M, out)."""
    nets = [list(deep_relu_net(s, cfg["depth"], cfg["width"], cfg["gain"], d_in, d_out)
                 .parameters()) for s in seeds]
    return [torch.stack([n[i].detach() for n in nets]) for i in range(len(nets[0]))]


def stacked_forward(params: list[torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """Logits of every model on its own inputs x (M, B, d_in): ReLU between the layers."""
    h = x
    for i in range(0, len(params), 2):
        h = torch.baddbmm(params[i + 1][:, None, :], h, params[i].transpose(1, 2))
        if i + 2 < len(params):
            h = torch.relu(h)
    return h


def stacked_losses(params: list[torch.Tensor], x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Each model's mean cross-entropy on its own batch, (M,)."""
    logits = stacked_forward(params, x)
    return torch.nn.functional.cross_entropy(logits.flatten(0, 1), y.flatten(),
                                             reduction="none").view(y.shape).mean(1)


def stacked_forward_gap(seeds, data, cfg: dict = CONFIG["clip"]) -> float:
    """max |stacked_forward - deep_relu_net(seed)(x)| / max |logits| over the seeds' nets on the
    first 64 inputs: the batched forward the runs use against torch's module."""
    X, y = data
    x = X[:64]
    params = stacked_nets(seeds, cfg, X.shape[1], int(y.max()) + 1)
    ours = stacked_forward(params, x.expand(len(seeds), *x.shape))
    with torch.no_grad():
        ref = torch.stack([deep_relu_net(s, cfg["depth"], cfg["width"], cfg["gain"], X.shape[1],
                                         int(y.max()) + 1)(x) for s in seeds])
    return float((ours - ref).abs().max() / ref.abs().max())


def seed_minibatches(seeds, n: int, cfg: dict) -> torch.Tensor:
    """(steps, M, batch) example indices: seed s draws its ``steps`` minibatches of ``batch``
    (with replacement) from its own generator, the same sequence in every run of that seed."""
    gens = [torch.Generator().manual_seed(s) for s in seeds]
    return torch.stack([torch.stack([torch.randint(n, (cfg["batch"],), generator=g)
                                     for _ in range(cfg["steps"])]) for g in gens], 1)


def clipping_runs(seeds, data, cfg: dict = CONFIG["clip"]) -> dict:
    """Full-batch training loss per seed after ``steps`` SGD steps of the deep ReLU net, without
    clipping and with each clipping of ``CLIPS`` (NaN: diverged). The seeds train as one batch
    of models (independent: the summed loss's gradient is each model's own); seed s draws its
    minibatches from its own generator, the same sequence under every clipping."""
    X, y = data
    seeds = list(seeds)
    idx = seed_minibatches(seeds, len(y), cfg)
    out = {}
    for mode in ("none", *CLIPS):
        params = stacked_nets(seeds, cfg, X.shape[1], int(y.max()) + 1)
        for t in range(cfg["steps"]):
            ps = [p.requires_grad_(True) for p in params]
            loss = stacked_losses(ps, X[idx[t]], y[idx[t]]).sum()
            grads = list(torch.autograd.grad(loss, ps))
            if mode != "none":
                grads = CLIPS[mode](grads, cfg, batched=True)
            params = [p.detach() - cfg["lr"] * g for p, g in zip(ps, grads)]
        with torch.no_grad():
            full = stacked_losses(params, X.expand(len(seeds), *X.shape),
                                  y.expand(len(seeds), *y.shape)).numpy()
        out[mode] = np.where(np.isfinite(full), full, np.nan)
    return out


# --- exploding gradients and step sizes ---------------------------------------------------------
def weight_growth(seeds, data, gain: float, lr: float, cfg: dict = CONFIG["clip"]) -> dict:
    """The deep ReLU net of the clipping runs (``cfg``'s depth and width, weights N(0, gain^2 /
    fan_in)) trained by plain SGD at ``lr`` on the same minibatches: per seed, the first step's
    size relative to the weights (||lr g_0|| / ||theta_0||), the gradient's norm on the first
    layer over that on the last at step 0, and the largest ||theta_t|| / ||theta_0|| over the
    run (inf once a weight is no longer finite)."""
    X, y = data
    seeds = list(seeds)
    idx = seed_minibatches(seeds, len(y), cfg)
    params = stacked_nets(seeds, dict(cfg, gain=gain), X.shape[1], int(y.max()) + 1)

    def norm(ps):
        return torch.sqrt(sum((p.flatten(1) ** 2).sum(1) for p in ps))

    start = norm(params)
    growth = torch.ones(len(seeds))
    for t in range(cfg["steps"]):
        ps = [p.requires_grad_(True) for p in params]
        grads = torch.autograd.grad(stacked_losses(ps, X[idx[t]], y[idx[t]]).sum(), ps)
        if t == 0:
            first_step = (lr * norm(grads) / start).numpy()
            layer_ratio = (grads[0].flatten(1).norm(dim=1)
                           / grads[-2].flatten(1).norm(dim=1)).numpy()
        params = [p.detach() - lr * g for p, g in zip(ps, grads)]
        size = norm(params) / start
        growth = torch.maximum(growth, torch.where(torch.isfinite(size), size,
                                                   torch.tensor(float("inf"))))
    return {"first_step": first_step, "layer_ratio": layer_ratio, "growth": growth.numpy()}
