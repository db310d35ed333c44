"""How the gradient signal travels through depth: the Jacobian product of a ReLU net, vanishing and
exploding rates, initialization, and residual connections.

Sources: lecture notes 000/001 §2 (eq. (2), "Vanishing/exploding gradients", "Issues at
initialization") and §2.1 ("Residual networks"); slides 002 "Initialization Issues", "Fighting
against Vanishing/Exploding Gradient" (ReLU, skip connections). Papers: Saxe, McClelland, Ganguli,
"Exact solutions to the nonlinear dynamics of learning in deep linear neural networks", ICLR 2014
(orthogonal initialization, depth-independent learning times); Pennington, Schoenholz, Ganguli,
NeurIPS 2017 (dynamical isometry); He, Zhang, Ren, Sun, ICCV 2015 (the sqrt(2/n) initialization
of ReLU nets) and CVPR 2016 (residual networks); Glorot & Bengio, AISTATS 2010.

Pieces:

- ``jacobian_log_norms``: the product D^l W^l ... D^2 W^2 applied to a random unit vector, layer
  by layer, with the ReLU masks D^i = diag(1{W^i X^{i-1} > 0}) of a real forward pass of a random
  input (bias-free, float64); ``jvp_log_norms`` is its reference (the same draws, the tangent
  carried by forward-mode autograd). The log-norm falls linearly in l (an exponential decay, the
  notes' exp(-l) read as an order of growth); ``fitted_slope`` is the least-squares slope per
  layer. With orthogonal W each mask keeps about half the coordinates, so the squared norm halves
  per layer: slope -ln(2)/2 (read literally, exp(-l) would be -1). ``he_gaussian_rate`` is the
  control, He's Gaussian weights with draws of its own: slope ~0.
- ``relu_mask_errors``: the autograd Jacobian (``torch.autograd.functional.jacobian``, equal to
  ``torch.func.jacrev``'s without its one-second first call) of a bias-free ReLU net with respect
  to X^1 against the product formula, once with masks on the pre-activations and once with the
  notes' literal mask 1{(X^i)_k >= 0} on the post-activations (identically 1 after a ReLU).
- ``exploding_slope``: the same product with random-sign matrices, every entry +-a: the log-norm
  grows by ln(a sqrt(n/2)) per layer (He et al. 2015), so entries well below 1 already explode
  once a > sqrt(2/n).
- ``train_mlp``: a deep MLP on scikit-learn's digits (64 -> width -> ... -> 10), all seeds and
  learning rates trained at once as stacked weights (one ``bmm`` per layer: the loss is the sum of
  the models' losses, which keeps their gradients separate), SGD with momentum from
  ``reproductions.optimizers``. Plain layers X^i = act(W^i X^(i-1) + b^i) or the notes' residual
  layers X^i = X^(i-1) + s act(W^i X^(i-1) + b^i) (layers 2 .. depth-1; the first maps the input,
  the last is the linear read-out); ``train_mlp_reference`` is one model of it with
  ``torch.optim.SGD``, its reference. ``init_diagnostics`` gives, at initialization,
  ||grad W_1|| / ||grad W_depth|| and the RMS of the last hidden layer over the input's.
- ``iterations_to_fit``: deep linear nets W_N ... W_1 fitted by full-batch GD to a random target
  A under whitened inputs, loss ||W_N ... W_1 - A||_F^2 / 2, gradients by prefix and suffix
  products (every seed and learning rate as one batch of matrices); the first iteration at which
  the loss is at most ``target`` times its initial value, each initialization on its own grid of
  rates (the Gaussian products' largest singular values make the orthogonal nets' rates
  diverge). ``linear_gd_reference`` runs one net with ``torch.optim.SGD`` on the autograd loss.

Deviations, stated: the residual branch is scaled by s = 1/depth (the notes' unscaled s = 1 is
run beside it and overflows; He et al.'s ResNets keep it in range with batch normalization, which
these nets do not have); every experiment is smaller than the papers' (widths 32-256, 5 epochs on
the 1437 digits training images, deep linear nets of width 32).
"""

from __future__ import annotations

import functools
import math

import numpy as np
import torch

from . import digits_mlp as mlp
from . import minibatch
from . import optimizers as optim

CONFIG = {
    # Vanishing rate: n = 256 units keeps the per-layer fluctuation of the kept fraction small
    # (~3%); 40 layers make the fitted slope's error ~0.008 per seed.
    # The control (He's Gaussian weights) draws everything from seed + control_offset.
    "jacobian": {"width": 256, "depth": 40, "control_offset": 1_000_000},
    # The mask check only needs a net deep enough to have several masks; float64 for 1e-15.
    "mask": {"width": 32, "depth": 6},
    # Random-sign weights, every entry +-a; threshold a = sqrt(2/n) = 0.088 at n = 256.
    # a = 0.18 (about twice the threshold) is well below 1, a = 1.1 above it; the factors c give
    # a = c * sqrt(2/n) at and below the threshold.
    "exploding": {"width": 256, "depth": 40, "below_one": 0.18, "above_one": 1.1,
                  "threshold_factors": (0.5, 1.0)},
    # Digits MLPs: width 64 (the input's dimension, so residual layers map 64 -> 64).
    "mlp": {"width": 64, "batch": 64, "momentum": 0.9},
    "init": {
        "depth": 20, "epochs": 5,
        # Each initialization gets its own grid around its best rate; the stuck ones a wide one,
        # up to rates where the trainable ones diverge. Measured on seeds 0-19 with three-point
        # grids: He's best rate is 0.003 or 0.01 and orthogonal's the same (0.03 worse on every
        # seed: dropped), tanh's 0.01 or 0.03 (0.003 never best: dropped); ReLU + Glorot's 0.03 or
        # 0.1 (it was the top of the first grid (0.003, 0.01, 0.03) on 16 of 20 seeds, so the grid
        # was moved up; 0.3 and 1.0 are worse or diverge).
        "models": {
            "gaussian-0.01": {"activation": "relu", "init": "gaussian-0.01",
                              "lrs": (0.01, 0.1, 1.0)},
            "sigmoid-glorot": {"activation": "sigmoid", "init": "glorot", "lrs": (0.01, 0.1, 1.0)},
            "relu-he": {"activation": "relu", "init": "he", "lrs": (0.003, 0.01)},
            "relu-orthogonal": {"activation": "relu", "init": "orthogonal", "lrs": (0.003, 0.01)},
            "relu-glorot": {"activation": "relu", "init": "glorot", "lrs": (0.01, 0.03, 0.1)},
            "tanh-glorot": {"activation": "tanh", "init": "glorot", "lrs": (0.01, 0.03)},
        },
        # Glorot's weights with ReLU at the Glorot paper's depth (5 hidden layers, 6 weight
        # layers). Of (0.01, 0.03, 0.1), 0.03 was best on 43 of seeds 0-21 and 10000-10021 and
        # 0.1 on one, every best loss 0.04-0.16: the default tier runs 0.03 alone (a net that
        # trains at one rate is trainable).
        "paper_depth": {"depth": 6, "activation": "relu", "init": "glorot", "lrs": (0.03,)},
        # ... and at depth 20 given 10x the epochs: 0.003 or 0.01 best (seeds 0-9; 0.03 and 0.1
        # never), slow tier.
        "horizon": {"depth": 20, "epochs": 50, "activation": "relu", "init": "glorot",
                    "lrs": (0.003, 0.01)},
    },
    "linear": {
        # Width 32: at width 16 the orthogonal counts scatter twice as much (depth 32 over depth 4
        # up to 5x on seeds 0-19, against 3.6x at width 32). 300 iterations: the orthogonal nets
        # need at most 84 at every depth (seeds 0-49), the Gaussian ones at depth 4 at most 67.
        "width": 32, "depths": (4, 16, 32), "target": 0.01, "max_iters": 300,
        # GD's rate scales as 1/depth (the end-to-end step is the sum of depth terms):
        # lr = factor / depth, a grid per initialization around its best factor. Orthogonal: 0.5
        # best at every depth; 1.0 fitted on none of seeds 0-49 at depths 16 and 32 (it
        # oscillates at 0.1-0.2 of the initial loss) and is left out. Gaussian: the products'
        # largest singular values (4-9 at depth 16) make the large factors diverge on many seeds;
        # over seeds 0-49 the lowest loss after 300 iterations came from 0.03 / 0.1 / 0.25 / 0.5
        # on 1 / 16 / 27 / 6 seeds at depth 16 and 14 / 20 / 16 / 0 at depth 32, and on seed 100
        # every factor from 0.03 up diverged at depth 32, so 0.01 was added (0.003-0.25 for 2000
        # iterations on seeds 0-2: none fits, 0.1 best at depth 16); 0.5 is best at depth 4.
        "lr_factors": {"orthogonal": (0.25, 0.5), "gaussian": (0.01, 0.03, 0.1, 0.25, 0.5)}},
    "residual": {
        # The default tier compares depth 3 with depth 20 (whose plain He nets are the
        # initialization experiment's, same seeds and grid); the slow tier runs 3, 10, 20, 40.
        "depths": (3, 20), "slow_depths": (3, 10, 20, 40), "epochs": 5,
        # Best plain rates (seeds 0-9): 0.1 at depth 3, 0.01 at 10, 0.003-0.01 at 20 and 40. The
        # residual nets' best of (0.03, 0.1, 0.3) is 0.1 at every depth (seeds 0-9; on seeds 0-49
        # at depth 3 on 50, at depth 20 on 48): the default tier runs them at 0.1 alone (a
        # residual net that trains at one rate is trainable), the slow tier on the whole grid.
        "plain_lrs": (0.003, 0.01, 0.03, 0.1),
        "residual_lrs": (0.1,), "slow_residual_lrs": (0.03, 0.1, 0.3),
        # The notes' unscaled residual (s = 1, He init) at depth 40: rates down to 1e-6.
        "literal_depth": 40, "literal_epochs": 1, "literal_lrs": (1e-6, 1e-4, 1e-2),
    },
}

LN10 = math.log(10.0)
DT = torch.float64


# --- random matrices ------------------------------------------------------------------------------
def orthogonal(n: int, g: torch.Generator, m: int | None = None, dtype=DT) -> torch.Tensor:
    """A Haar-random n x m matrix with orthonormal columns (m <= n; square when m is None): the QR
    of a Gaussian matrix with the signs of R's diagonal moved into Q."""
    m = n if m is None else m
    Q, R = torch.linalg.qr(torch.randn(n, m, generator=g, dtype=dtype))
    return Q * torch.sign(torch.diagonal(R))


def random_signs(n: int, a: float, g: torch.Generator) -> torch.Tensor:
    """An n x n matrix whose entries are +a or -a with equal probability."""
    return a * (2.0 * torch.randint(0, 2, (n, n), generator=g, dtype=DT) - 1.0)


# --- the Jacobian product D^l W^l ... D^2 W^2 -----------------------------------------------------
def relu_derivative(pre: torch.Tensor) -> torch.Tensor:
    """The ReLU's derivative at its pre-activations, the Jacobian's mask: 1[pre > 0]."""
    return (pre > 0).to(pre.dtype)


def jacobian_log_norms(seed: int, width: int, depth: int, weights) -> dict:
    """log ||D^l W^l ... D^2 W^2 v|| for l = 1 .. depth (l = 1: ||v|| = 1) and the fraction of
    active units per layer, for a random unit v; the masks come from the forward pass of a random
    Gaussian input x, X^1 = relu(x), X^i = relu(W^i X^(i-1)). ``weights(g)`` draws one W^i."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(width, generator=g, dtype=DT)
    v = torch.randn(width, generator=g, dtype=DT)
    h, v = torch.relu(x), v / v.norm()
    log_norms, active = [0.0], []
    for _ in range(2, depth + 1):
        W = weights(g)
        pre = W @ h
        mask = relu_derivative(pre)
        h, v = torch.relu(pre), mask * (W @ v)
        log_norms.append(math.log(float(v.norm())))
        active.append(float(mask.mean()))
    return {"log_norms": np.array(log_norms), "active": np.array(active)}


def fitted_slope(log_norms: np.ndarray) -> float:
    """Least-squares slope of the log-norm against the layer index (per layer)."""
    return float(np.polyfit(np.arange(len(log_norms)), log_norms, 1)[0])


def linear_fit_r2(log_norms: np.ndarray) -> float:
    """R^2 of the least-squares line through the log-norm against the layer index: 1 for an
    exactly exponential decay (or growth)."""
    layer = np.arange(len(log_norms))
    fit = np.polyval(np.polyfit(layer, log_norms, 1), layer)
    return float(1 - ((log_norms - fit) ** 2).sum() / ((log_norms - log_norms.mean()) ** 2).sum())


def vanishing_rate(seed: int, cfg: dict = CONFIG["jacobian"]) -> dict:
    """Random orthogonal W^i (gain 1): the fitted slope of log ||J v|| per layer, the R^2 of that
    straight line, the log-norms and the mean fraction of active units."""
    n, L = cfg["width"], cfg["depth"]
    r = jacobian_log_norms(seed, n, L, lambda g: orthogonal(n, g))
    return {"slope": fitted_slope(r["log_norms"]), "r2": linear_fit_r2(r["log_norms"]),
            "log_norms": r["log_norms"], "active": float(r["active"].mean())}


def he_gaussian_rate(seed: int, cfg: dict = CONFIG["jacobian"]) -> dict:
    """He's initialization run on its own (the control of ``vanishing_rate``): Gaussian W^i with
    std sqrt(2/n) (He et al. 2015, eq. (10)), with its own input, vector, weights and masks, drawn
    from ``seed + cfg["control_offset"]`` so that nothing is shared with the orthogonal run. The
    fitted slope per layer and the log-norms."""
    n, L = cfg["width"], cfg["depth"]
    std = math.sqrt(2.0 / n)
    # Drawn in float32 (4.5 times faster than float64 draws), propagated in float64.
    r = jacobian_log_norms(seed + cfg["control_offset"], n, L,
                           lambda g: std * torch.randn(n, n, generator=g).to(DT))
    return {"slope": fitted_slope(r["log_norms"]), "log_norms": r["log_norms"]}


def jvp_log_norms(seed: int, width: int, depth: int, weights) -> np.ndarray:
    """The reference for ``jacobian_log_norms``: the same draws (input x, vector v, then one W^i
    per layer from one generator), and log ||J_l v|| for l = 1 .. depth with J_l v the tangent
    that forward-mode autograd (dual numbers, ``torch.autograd.forward_ad``) carries through the
    bias-free ReLU layers X^i = relu(W^i X^(i-1)): no mask is written by hand."""
    import torch.autograd.forward_ad as fwad
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(width, generator=g, dtype=DT)
    v = torch.randn(width, generator=g, dtype=DT)
    Ws = [weights(g) for _ in range(2, depth + 1)]
    out = [0.0]
    with fwad.dual_level():
        h = fwad.make_dual(torch.relu(x), v / v.norm())
        for W in Ws:
            h = torch.relu(W @ h)
            out.append(math.log(float(fwad.unpack_dual(h).tangent.norm())))
    return np.array(out)


def exploding_slope(seed: int, a: float, cfg: dict = CONFIG["exploding"]) -> float:
    """The fitted slope per layer of log ||J v|| with random-sign W^i (every entry +-a)."""
    n = cfg["width"]
    r = jacobian_log_norms(seed, n, cfg["depth"], lambda g: random_signs(n, a, g))
    return fitted_slope(r["log_norms"])


def predicted_exploding_slope(a: float, width: int) -> float:
    """ln(a sqrt(n/2)): E||D W u||^2 = a^2 (n/2) ||u||^2 (each row's sign symmetry)."""
    return math.log(a * math.sqrt(width / 2))


# --- eq. (2): autograd against the product formula ------------------------------------------------
def relu_net(Ws, x1):
    """X^depth as a function of X^1 for the bias-free ReLU net X^i = relu(W^i X^(i-1))."""
    h = x1
    for W in Ws:
        h = torch.relu(W @ h)
    return h


def product_formula(Ws, masks) -> torch.Tensor:
    """D^l W^l ... D^2 W^2 for the given diagonal masks (vectors)."""
    J = torch.eye(Ws[0].shape[1], dtype=DT)
    for W, d in zip(Ws, masks):
        J = d[:, None] * (W @ J)
    return J


def relu_mask_errors(seed: int, cfg: dict = CONFIG["mask"]) -> dict:
    """Relative Frobenius error of the product formula against autograd's Jacobian with the masks
    on the pre-activations (W^i X^(i-1) > 0) and with the notes' mask 1{(X^i)_k >= 0} on the
    post-activations; and the fraction of ones in the notes' masks."""
    n, L = cfg["width"], cfg["depth"]
    g = torch.Generator().manual_seed(seed)
    Ws = [torch.randn(n, n, generator=g, dtype=DT) * math.sqrt(2 / n) for _ in range(L)]
    x1 = torch.relu(torch.randn(n, generator=g, dtype=DT))       # X^1 = relu(W^1 x)
    auto = torch.autograd.functional.jacobian(functools.partial(relu_net, Ws[1:]), x1)
    pre_masks, post_masks, h = [], [], x1
    for W in Ws[1:]:
        pre = W @ h
        h = torch.relu(pre)
        pre_masks.append(relu_derivative(pre))
        post_masks.append((h >= 0).to(DT))
    rel = lambda J: float((J - auto).norm() / auto.norm())  # noqa: E731
    return {"pre-activation mask": rel(product_formula(Ws[1:], pre_masks)),
            "notes' mask": rel(product_formula(Ws[1:], post_masks)),
            "notes' mask: fraction of ones": float(torch.cat(post_masks).mean())}


# --- digits MLPs ----------------------------------------------------------------------------------
@functools.lru_cache(maxsize=None)
def _digits_split(seed: int):
    return mlp.digits(seed)


def digits_train(seed: int):
    """The training part (1437 images, standardized) of the stratified digits split of ``seed``."""
    X, y, _, _ = _digits_split(seed)
    return X, y


ACTIVATIONS = {"relu": torch.relu, "sigmoid": torch.sigmoid, "tanh": torch.tanh}


def layer_init(init: str, fan_out: int, fan_in: int, g: torch.Generator) -> torch.Tensor:
    """One weight matrix: N(0, 0.01^2) (Krizhevsky et al. 2012), Glorot normal (std
    sqrt(2/(fan_in + fan_out))), He normal (std sqrt(2/fan_in)) or orthogonal with gain sqrt(2)."""
    if init == "orthogonal":
        Q = orthogonal(max(fan_out, fan_in), g, min(fan_out, fan_in), torch.float32)
        return math.sqrt(2.0) * (Q if fan_out >= fan_in else Q.T)
    std = {"gaussian-0.01": 0.01, "glorot": math.sqrt(2 / (fan_in + fan_out)),
           "he": math.sqrt(2 / fan_in)}[init]
    return std * torch.randn(fan_out, fan_in, generator=g)


def init_mlp(init: str, depth: int, seed: int, width: int = CONFIG["mlp"]["width"]):
    """Weights and (zero) biases of a depth-``depth`` MLP 64 -> width -> ... -> 10."""
    g = torch.Generator().manual_seed(seed)
    dims = [64] + [width] * (depth - 1) + [10]
    Ws = [layer_init(init, dims[i + 1], dims[i], g) for i in range(depth)]
    return Ws, [torch.zeros(1, d) for d in dims[1:]]


def last_hidden(Ws, bs, x, activation: str = "relu", scale: float | None = None):
    """The last hidden layer X^(depth-1) of stacked MLPs: ``Ws[i]`` (M, out, in), ``bs[i]``
    (M, 1, out), ``x`` (M, batch, 64). With ``scale`` s, layers 2 .. depth-1 are the notes'
    residual layers h + s act(W h + b)."""
    act = ACTIVATIONS[activation]
    h = act(torch.baddbmm(bs[0], x, Ws[0].transpose(-1, -2)))
    for W, b in zip(Ws[1:-1], bs[1:-1]):
        f = act(torch.baddbmm(b, h, W.transpose(-1, -2)))
        h = f if scale is None else h + scale * f
    return h


def forward(Ws, bs, x, activation: str = "relu", scale: float | None = None):
    """The logits: the linear read-out of the last hidden layer."""
    h = last_hidden(Ws, bs, x, activation, scale)
    return torch.baddbmm(bs[-1], h, Ws[-1].transpose(-1, -2))


def mean_losses(Ws, bs, X, Y, activation, scale) -> torch.Tensor:
    """Cross-entropy of each stacked model on its rows of (X, Y): shape (M,)."""
    out = forward(Ws, bs, X, activation, scale)
    M = X.shape[0]
    return torch.nn.functional.cross_entropy(out.reshape(-1, 10), Y.reshape(-1),
                                             reduction="none").view(M, -1).mean(1)


def train_mlp(seeds, lrs, depth: int, init: str, activation: str = "relu",
              scale: float | None = None, epochs: int = 5, cfg: dict = CONFIG["mlp"],
              dtype: torch.dtype = torch.float32) -> np.ndarray:
    """Final training loss (full training set) of each (seed, lr): shape (len(seeds), len(lrs));
    +inf where it is not finite. Seed s fixes the split, the initial weights and the minibatch
    order, shared by its learning rates; SGD with momentum on minibatches. ``dtype`` is the
    arithmetic's (the weights are drawn in float32 either way)."""
    S, K = len(seeds), len(lrs)
    nets = [init_mlp(init, depth, s, cfg["width"]) for s in seeds]
    rep = lambda ts: torch.stack(ts).repeat_interleave(K, 0).to(dtype)  # noqa: E731  (S*K, ...)
    params = {**{f"W{i}": rep([w[i] for w, _ in nets]) for i in range(depth)},
              **{f"b{i}": rep([b[i] for _, b in nets]) for i in range(depth)}}
    layers = lambda p: ([p[f"W{i}"] for i in range(depth)],            # noqa: E731
                        [p[f"b{i}"] for i in range(depth)])
    X = rep([digits_train(s)[0] for s in seeds])
    Y = torch.stack([digits_train(s)[1] for s in seeds]).repeat_interleave(K, 0)
    opt = optim.sgd(torch.tensor(lrs, dtype=dtype).repeat(S)[:, None, None],
                    momentum=cfg["momentum"])
    states = minibatch.init_each(opt, params)
    gens = [torch.Generator().manual_seed(s) for s in seeds]
    rows = torch.arange(S * K)[:, None]
    for _ in range(epochs):
        for idx in minibatch.shuffled_batches(gens, X.shape[1], cfg["batch"], repeat=K):
            leaves = {k: v.detach().requires_grad_() for k, v in params.items()}
            loss = mean_losses(*layers(leaves), X[rows, idx], Y[rows, idx], activation, scale)
            grads = torch.autograd.grad(loss.sum(), list(leaves.values()))
            params, states = minibatch.step_each(opt, params, dict(zip(leaves, grads)), states)
    with torch.no_grad():
        final = mean_losses(*layers(params), X, Y, activation, scale)
    final = torch.where(torch.isfinite(final), final, torch.tensor(math.inf))
    return final.view(S, K).numpy().astype(float)


def train_mlp_reference(seed: int, lr: float, depth: int, init: str, activation: str = "relu",
                        scale: float | None = None, epochs: int = 5,
                        cfg: dict = CONFIG["mlp"], dtype: torch.dtype = torch.float32) -> float:
    """One (seed, lr) of ``train_mlp`` the plain way: one model, its layers one matrix product
    at a time, ``torch.optim.SGD`` with momentum, the same initial weights and minibatch order.
    The baseline of the benchmark and the reference the batched trainer is checked against."""
    act = ACTIVATIONS[activation]
    W0, b0 = init_mlp(init, depth, seed, cfg["width"])
    Ws = [w.to(dtype).requires_grad_() for w in W0]
    bs = [b[0].to(dtype).requires_grad_() for b in b0]
    X, Y = digits_train(seed)
    X = X.to(dtype)
    opt = torch.optim.SGD(Ws + bs, lr=lr, momentum=cfg["momentum"])

    def loss_of(x, y):
        h = act(x @ Ws[0].T + bs[0])
        for W, b in zip(Ws[1:-1], bs[1:-1]):
            f = act(h @ W.T + b)
            h = f if scale is None else h + scale * f
        return torch.nn.functional.cross_entropy(h @ Ws[-1].T + bs[-1], y)

    g, n, batch = torch.Generator().manual_seed(seed), X.shape[0], cfg["batch"]
    for _ in range(epochs):
        perm = torch.randperm(n, generator=g)
        for start in range(0, n - batch + 1, batch):
            idx = perm[start:start + batch]
            opt.zero_grad()
            loss_of(X[idx], Y[idx]).backward()
            opt.step()
    with torch.no_grad():
        final = float(loss_of(X, Y))
    return final if math.isfinite(final) else math.inf


def init_diagnostics(seed: int, depth: int, init: str, activation: str = "relu",
                     scale: float | None = None) -> dict:
    """At initialization, on the full training set: ||grad W_1|| / ||grad W_depth|| and the RMS of
    the last hidden layer divided by the input's RMS."""
    Ws, bs = init_mlp(init, depth, seed)
    Ws = [w[None].requires_grad_() for w in Ws]
    bs = [b[None] for b in bs]
    X, y = (t[None] for t in digits_train(seed))
    loss = mean_losses(Ws, bs, X, y, activation, scale).sum()
    g_first, g_last = torch.autograd.grad(loss, [Ws[0], Ws[-1]])
    with torch.no_grad():
        h = last_hidden(Ws, bs, X, activation, scale)
    return {"gradient ratio": float(g_first.norm() / g_last.norm()),
            "last hidden RMS / input RMS": float(h.pow(2).mean().sqrt() / X.pow(2).mean().sqrt())}


def init_experiment(seeds, cfg: dict = CONFIG["init"]) -> dict:
    """Per model of ``cfg["models"]``: the final training loss per seed and learning rate
    (S, K), trained ``epochs`` epochs at depth ``depth``."""
    return {name: train_mlp(seeds, m["lrs"], cfg["depth"], m["init"], m["activation"],
                            epochs=cfg["epochs"]) for name, m in cfg["models"].items()}


def train_one(seeds, model: dict, epochs: int) -> np.ndarray:
    """``train_mlp`` of a model given as {"depth", "activation", "init", "lrs"}: (S, K)."""
    return train_mlp(seeds, model["lrs"], model["depth"], model["init"], model["activation"],
                     epochs=epochs)


def residual_experiment(seeds, cfg: dict = CONFIG["residual"], depths=None,
                        plain: dict | None = None) -> dict:
    """Final training loss per seed and learning rate, He init, ReLU: plain nets and residual
    nets (s = 1/depth) at each depth (``cfg["depths"]`` unless ``depths``), and the notes'
    unscaled residual (s = 1) at ``literal_depth``. ``plain`` {depth: (S, K) array} supplies
    plain runs already made with the same seeds (the initialization experiment's He nets)."""
    out = {("plain", d): a for d, a in (plain or {}).items()}
    for d in depths or cfg["depths"]:
        if ("plain", d) not in out:
            out[("plain", d)] = train_mlp(seeds, cfg["plain_lrs"], d, "he", epochs=cfg["epochs"])
        out[("residual", d)] = train_mlp(seeds, cfg["residual_lrs"], d, "he", scale=1.0 / d,
                                         epochs=cfg["epochs"])
    out[("literal", cfg["literal_depth"])] = train_mlp(
        seeds, cfg["literal_lrs"], cfg["literal_depth"], "he", scale=1.0,
        epochs=cfg["literal_epochs"])
    return out


# --- deep linear nets (Saxe et al. 2014) ----------------------------------------------------------
def _linear_start(init: str, depth: int, width: int, seed: int):
    g = torch.Generator().manual_seed(seed)
    A = torch.randn(width, width, generator=g) / math.sqrt(width)
    if init == "orthogonal":
        W = torch.stack([orthogonal(width, g, dtype=torch.float32) for _ in range(depth)])
    else:                                                     # Gaussian N(0, 1/width)
        W = torch.randn(depth, width, width, generator=g) / math.sqrt(width)
    return W, A


def linear_net_losses(W: torch.Tensor, A: torch.Tensor):
    """Loss ||W_N ... W_1 - A||^2 / 2 of stacked nets W (depth, B, n, n) and the gradients of
    every factor, G_i = (W_N ... W_(i+1))^T E (W_(i-1) ... W_1)^T with E = W_N ... W_1 - A."""
    depth = W.shape[0]
    prefix = [torch.eye(A.shape[-1], dtype=A.dtype).expand_as(A)]
    for i in range(depth):
        prefix.append(W[i] @ prefix[-1])
    E = prefix[-1] - A
    grads, suffix = [None] * depth, E
    for i in reversed(range(depth)):
        grads[i] = suffix @ prefix[i].transpose(-1, -2)
        suffix = W[i].transpose(-1, -2) @ suffix
    return 0.5 * E.pow(2).sum((-1, -2)), torch.stack(grads)


def iterations_to_fit(seeds, depth: int, init: str, cfg: dict = CONFIG["linear"]) -> dict:
    """GD on deep linear nets, per seed and lr factor of ``init`` (lr = factor / depth), each an
    (S, K) array: ``first``, the first iteration at which the loss is at most ``target`` times
    its initial value (+inf when not within ``max_iters`` or when the run diverged), and
    ``final``, the loss over the initial loss when the run stopped (nan: diverged). The loop
    stops once every run has fitted or diverged."""
    factors = cfg["lr_factors"][init]
    S, K = len(seeds), len(factors)
    starts = [_linear_start(init, depth, cfg["width"], s) for s in seeds]
    W = torch.cat([w.unsqueeze(1).expand(-1, K, -1, -1) for w, _ in starts], 1).clone()
    A = torch.cat([a.expand(K, -1, -1) for _, a in starts])
    lr = torch.tensor(factors).repeat(S)[:, None, None] / depth
    first = torch.full((S * K,), math.inf)
    loss0 = None
    for t in range(cfg["max_iters"] + 1):
        loss, grads = linear_net_losses(W, A)
        loss0 = loss if loss0 is None else loss0
        first = torch.where((loss <= cfg["target"] * loss0) & torch.isinf(first),
                            torch.tensor(float(t)), first)
        if (torch.isfinite(first) | ~torch.isfinite(loss)).all():
            break
        W = W - lr * grads
    ratio = torch.where(torch.isfinite(loss), loss / loss0, torch.tensor(math.nan))
    return {"first": first.view(S, K).numpy().astype(float),
            "final": ratio.view(S, K).numpy().astype(float)}


def linear_gd_reference(seed: int, depth: int, init: str, factor: float, steps: int,
                        cfg: dict = CONFIG["linear"]) -> float:
    """One net of ``iterations_to_fit`` the plain way: the same start, ``steps`` steps of
    ``torch.optim.SGD`` (lr = factor / depth) on the autograd loss ||W_N ... W_1 - A||^2 / 2;
    the final loss over the initial one."""
    W0, A = _linear_start(init, depth, cfg["width"], seed)
    Ws = [w.clone().requires_grad_() for w in W0]

    def loss_of():
        P = torch.eye(A.shape[0])
        for W in Ws:
            P = W @ P
        return 0.5 * (P - A).pow(2).sum()

    opt = torch.optim.SGD(Ws, lr=factor / depth)
    with torch.no_grad():
        loss0 = float(loss_of())
    for _ in range(steps):
        opt.zero_grad()
        loss_of().backward()
        opt.step()
    with torch.no_grad():
        return float(loss_of()) / loss0


def linear_experiment(seeds, cfg: dict = CONFIG["linear"]) -> dict:
    """``iterations_to_fit`` per (init, depth)."""
    return {(init, d): iterations_to_fit(seeds, d, init, cfg)
            for init in ("orthogonal", "gaussian") for d in cfg["depths"]}


# --- figure ---------------------------------------------------------------------------------------
def plot_log_norms(curves: dict, title: str = ""):
    """log ||J v|| against the layer index, one line per {label: log_norms}, beside the literal
    reading -(l - 1) of the notes' exp(-l) and the rate -(l - 1) ln(2)/2."""
    from matplotlib.figure import Figure
    fig = Figure(figsize=(5.5, 3.5))
    ax = fig.add_subplot()
    for label, y in curves.items():
        ax.plot(np.arange(1, len(y) + 1), y, label=label)
    layers = np.arange(1, len(next(iter(curves.values()))) + 1)
    ax.plot(layers, -(layers - 1.0), "k:", label="exp(-l) read literally")
    ax.plot(layers, -(layers - 1.0) * math.log(2) / 2, "k--", label="2^(-l/2)")
    ax.set_xlabel("layer l")
    ax.set_ylabel("log ||D^l W^l ... D^2 W^2 v||")
    ax.set_title(title)
    ax.legend(fontsize=8)
    return fig
