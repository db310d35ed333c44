"""Pictures of the loss landscape of a small network: the line from the initial to the final
weights, 1-D slices along random, filter-normalized, gradient and single-layer directions.

References: Goodfellow, Vinyals, Saxe, "Qualitatively characterizing neural network optimization
problems", ICLR 2015 (the loss on the segment theta(alpha) = (1 - alpha) theta_0 + alpha theta_T);
Li, Xu, Taylor, Studer, Goldstein, "Visualizing the Loss Landscape of Neural Nets", NeurIPS 2018,
§4 (filter normalization: each filter of a random direction rescaled to the norm of the same
filter of the weights; bias directions zero); lecture notes 000/001 §3 (these pictures, the
loss along random and gradient directions, and a comment from class on slices along one layer).

Scale: MLPs on scikit-learn's digits (1437 training images of a stratified split fixed by the
seed, standardized: ``digits_mlp.digits``), depth 3 and 6 (weight layers), width
32, He initialization, minibatch SGD with momentum or Adam (``reproductions.optimizers``), and
depth 1 (softmax regression, a convex model) as a reference. All seeds of one (depth, optimizer)
configuration train as one batch of independent nets (``batched_losses``: one batched matrix
product per layer, autograd of the nets' summed losses); every loss along a
line or slice is the mean cross-entropy on the whole training split, evaluated in float64 from
the float32 weights, the first layer's products once per net and line (``line_losses``).

Definitions:
  * non-convex points of a curve sampled on an even grid: the interior points whose second
    difference L[k-1] - 2 L[k] + L[k+1] is below -``CONFIG["curvature_tol"]``;
  * a direction's rise scale: the smallest s (found by bisection in log s) at which
    max(L(theta + s d), L(theta - s d)) - L(theta) reaches ``CONFIG["rise"]``; the slice is then
    L(theta + t s d) for t in [-1, 1], so every slice rises by the same amount, and a smaller s is
    a sharper direction;
  * a slice's quadratic R^2: the coefficient of determination of the least-squares fit
    a + b t + c t^2 to the slice;
  * mid-training: the weights after ``CONFIG["mid_epoch"]`` of ``CONFIG["epochs"]`` epochs;
  * the rescaled net: the first layer (weights and biases) times ``CONFIG["rescale"]``, the
    second layer's weights divided by it, the same function since ReLU is positively homogeneous.

Deviations: the nets are small (the papers: CIFAR-10 and MNIST nets); the lecture's unpublished
[LTSM18] protocol is not described: the gradient slices take the raw full-batch gradient (the
notes' 'total gradient') and raw Gaussian directions, each at unit norm, and rise-scale them all
so that their shapes are compared over the same loss excursion (``direction_slices``; the
filter-normalized variant is kept as a reading); the single-layer slices are filter-normalized
within the layer (``layer_slices``), the notes' answer to picking directions fairly; Li et al.
argue the scale invariance with batch normalization, here it comes from ReLU's positive
homogeneity with compensating layer scales.

References for the kernels: ``sequential`` (a net as ``torch.nn`` layers), ``reference_loss``,
``reference_gradient``, ``train_reference`` (``torch.optim`` per net); ``kernel_errors`` compares
every kernel with them, numpy or a closed form.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import torch
import torch.nn.functional as F

from . import digits_mlp as mlp
from . import minibatch
from . import optimizers as optim

CONFIG = {
    "width": 32,                              # small: 8 seeds x 4 runs train in seconds
    "depths": (3, 6),                         # weight layers 64 -> 32 ... -> 10; 3 default, 6 slow
    "optimizers": {"sgd": {"lr": 0.05, "momentum": 0.9},   # heavy ball; both reach a low
                   "adam": {"lr": 3e-3}},                  # training loss in 10 epochs
    "epochs": 10, "batch": 64,                # ~220 steps: final loss ~0.03 (SGD), ~0.1 (Adam)
    "decay": True,                            # lr to 0 linearly: theta_T settles, no SGD jitter
    "mid_epoch": 2,                           # "mid-training": weights after this many epochs
    "line_points": 61,                        # alpha = 0, 1/60, ..., 1: resolves the plateau
    "curvature_tol": 1e-9,                    # float64 losses: rounding is ~1e-15
    "monotone_tol": 1e-9,                     # the same
    "rise": 1.0,                              # each slice rises by this much at its ends: far
                                              # above rounding, below the loss at init (~2-3)
    "slice_points": 31,                       # t = -1, -14/15, ..., 1
    "bisection": {"low": 1e-3, "high": 1e3, "steps": 10},  # s to 1.4%
    "random_directions": 2,                   # per net and kind; a seed's value is their mean
    "gradient_random_directions": 1,          # beside the gradient: 1 decides every window of
                                              # 8 seeds (0-19, 10000-10019) as 2 did
    "layer_directions": 4,                    # per net through the first / the last layer: 2
                                              # left last/first inconclusive at 7 of 40 base seeds
    "rescale": 10.0,                          # layer 1 times 10, layer 2 divided by 10
    "twin_offset": 100_000,                   # a twin's initial weights: seed + this
    "direction_offset": 500_000,              # random directions: seed + this (+ 1000 j), not
}                                             # the seed itself, which drew the initial weights


# --- the network --------------------------------------------------------------------------------
def init(seed: int, depth: int, width: int = CONFIG["width"]) -> dict:
    """He-initialized weights w0..w{depth-1} (out, in) and zero biases b0..: 64 -> width ... ->
    10."""
    g = torch.Generator().manual_seed(int(seed))
    dims = [64] + [width] * (depth - 1) + [10]
    p = {}
    for i, (a, b) in enumerate(zip(dims[:-1], dims[1:])):
        p[f"w{i}"] = torch.randn(b, a, generator=g) * math.sqrt(2 / a)
        p[f"b{i}"] = torch.zeros(b)
    return p


def depth_of(p: dict) -> int:
    return sum(k.startswith("w") for k in p)


def forward(p: dict, x):
    n = depth_of(p)
    for i in range(n):
        x = x @ p[f"w{i}"].T + p[f"b{i}"]
        if i < n - 1:
            x = torch.relu(x)
    return x


def loss(p: dict, x, y):
    return F.cross_entropy(forward(p, x), y)


def batched_forward(p: dict, X) -> torch.Tensor:
    """The logits of stacked nets, net m on its own rows X[m]: weights (M, out, in), biases
    (M, out), X (M, n, 64); one batched matrix product per layer."""
    n, z = depth_of(p), X
    for i in range(n):
        z = torch.baddbmm(p[f"b{i}"].unsqueeze(1), z, p[f"w{i}"].mT)
        if i < n - 1:
            z = torch.relu(z)
    return z


def batched_losses(p: dict, X, Y) -> torch.Tensor:
    """Each stacked net's mean cross-entropy on its own rows: shape (M,). Their sum has each
    net's gradient in its own slice of the stacked weights."""
    logits = batched_forward(p, X)
    return F.cross_entropy(logits.flatten(0, 1), Y.flatten(), reduction="none").view(
        Y.shape).mean(1)


def batched_gradient(p: dict, X, Y) -> dict:
    """Each stacked net's gradient of its mean loss on its rows (autograd of the summed losses)."""
    params = {k: v.detach().requires_grad_() for k, v in p.items()}
    grads = torch.autograd.grad(batched_losses(params, X, Y).sum(), list(params.values()))
    return dict(zip(params, grads))


# --- data and training ----------------------------------------------------------------------------
@functools.lru_cache(maxsize=None)
def training_split(seed: int) -> tuple:
    """(X (1437, 64), y (1437,)): the training split of ``seed`` (loaded once per seed; the
    tensors are only read)."""
    return mlp.digits(int(seed))[:2]


def training_data(seeds) -> tuple:
    """(X (M, 1437, 64), y (M, 1437)): each seed's training split."""
    splits = [training_split(s) for s in seeds]
    return torch.stack([s[0] for s in splits]), torch.stack([s[1] for s in splits])


def make_optimizer(name: str, total_steps: int, cfg: dict = CONFIG) -> optim.Optimizer:
    """SGD with momentum or Adam, the learning rate decayed linearly to 0 over the run when
    ``cfg["decay"]``."""
    c = cfg["optimizers"][name]
    lr = (lambda t: c["lr"] * (1 - (t - 1) / total_steps)) if cfg["decay"] else c["lr"]
    return optim.sgd(lr, momentum=c["momentum"]) if name == "sgd" else optim.adam(lr)


def train(init_seeds, data_seeds, depth: int, opt_name: str, cfg: dict = CONFIG) -> dict:
    """Train one net per (init seed, data seed) pair, all in one batch: minibatches of each net's
    own training split in an order fixed by its data seed. Returns the weights at the start,
    after ``mid_epoch`` epochs, and at the end, each stacked (M, ...)."""
    X, Y = training_data(data_seeds)
    p = minibatch.stack([init(s, depth, cfg["width"]) for s in init_seeds])
    M, n = Y.shape
    opt = make_optimizer(opt_name, cfg["epochs"] * (n // cfg["batch"]), cfg)
    state = minibatch.init_each(opt, p)
    gens = [torch.Generator().manual_seed(int(s) + 7919) for s in data_seeds]
    rows = torch.arange(M)[:, None]
    out = {"theta0": {k: v.clone() for k, v in p.items()}}
    for epoch in range(cfg["epochs"]):
        if epoch == cfg["mid_epoch"]:
            out["mid"] = {k: v.clone() for k, v in p.items()}
        for idx in minibatch.shuffled_batches(gens, n, cfg["batch"]):
            grads = batched_gradient(p, X[rows, idx], Y[rows, idx])
            p, state = minibatch.step_each(opt, p, grads, state)
    out["thetaT"] = p
    return out


# --- references for the hand-written kernels: torch.nn and torch.optim, one net at a time ---------
def sequential(p: dict, m: int = 0) -> torch.nn.Sequential:
    """Net ``m`` of stacked weights ``p`` as a float64 ``torch.nn.Sequential`` of Linear and ReLU
    layers (parameters copied, requiring gradients)."""
    n, layers = depth_of(p), []
    for i in range(n):
        w = p[f"w{i}"][m].double()
        lin = torch.nn.Linear(w.shape[1], w.shape[0], dtype=torch.float64)
        with torch.no_grad():
            lin.weight.copy_(w)
            lin.bias.copy_(p[f"b{i}"][m].double())
        layers += [lin] + ([torch.nn.ReLU()] if i < n - 1 else [])
    return torch.nn.Sequential(*layers)


def sequential_params(net: torch.nn.Sequential) -> dict:
    """The weights of ``sequential``'s net back as {w0, b0, ...} (unstacked)."""
    lins = [layer for layer in net if isinstance(layer, torch.nn.Linear)]
    return {**{f"w{i}": lin.weight for i, lin in enumerate(lins)},
            **{f"b{i}": lin.bias for i, lin in enumerate(lins)}}


def reference_loss(p: dict, m: int, X, Y) -> float:
    """Net ``m``'s full-batch training loss through ``torch.nn`` (float64)."""
    with torch.no_grad():
        return float(F.cross_entropy(sequential(p, m)(X[m].double()), Y[m]))


def reference_gradient(p: dict, m: int, X, Y) -> dict:
    """Net ``m``'s full-batch gradient through ``torch.nn`` and ``torch.autograd`` (float64)."""
    net = sequential(p, m)
    params = sequential_params(net)
    grads = torch.autograd.grad(F.cross_entropy(net(X[m].double()), Y[m]), list(params.values()))
    return dict(zip(params, grads))


def train_reference(init_seed: int, data_seed: int, depth: int, opt_name: str,
                    cfg: dict = CONFIG) -> dict:
    """One net of ``train`` the plain way: ``torch.nn`` layers in float32, ``torch.optim.SGD``
    (momentum) or ``torch.optim.Adam`` with a ``LambdaLR`` linear decay, the same initial weights
    and minibatch order. Returns its final weights {w0, b0, ...}."""
    p0 = minibatch.stack([init(init_seed, depth, cfg["width"])])
    net = sequential(p0).float()
    X, Y = training_split(data_seed)
    n, batch = Y.shape[0], cfg["batch"]
    total = cfg["epochs"] * (n // batch)
    c = cfg["optimizers"][opt_name]
    params = list(net.parameters())
    opt = (torch.optim.SGD(params, lr=c["lr"], momentum=c["momentum"]) if opt_name == "sgd"
           else torch.optim.Adam(params, lr=c["lr"]))
    decay = torch.optim.lr_scheduler.LambdaLR(
        opt, (lambda k: 1 - k / total) if cfg["decay"] else (lambda k: 1.0))
    g = torch.Generator().manual_seed(int(data_seed) + 7919)
    for _ in range(cfg["epochs"]):
        perm = torch.randperm(n, generator=g)
        for s in range(0, n - batch + 1, batch):
            idx = perm[s:s + batch]
            opt.zero_grad()
            F.cross_entropy(net(X[idx]), Y[idx]).backward()
            opt.step()
            decay.step()
    return {k: v.detach() for k, v in sequential_params(net).items()}


def kernel_errors(seed: int, cfg: dict = CONFIG) -> dict:
    """Every hand-written kernel of this module against ``torch.nn``, ``torch.optim``,
    ``torch.autograd``, numpy or a closed form, on nets drawn from ``seed``: {name: value},
    each an error that is 0 up to rounding (or, for the rise scale, the two sides of its
    bracket). No asserts: the claims' precondition parts check the values."""
    out, depth = {}, 3
    # The batched trainer (batched gradients, our optimizers, the linear decay), 2 epochs.
    short = dict(cfg, epochs=2)
    for name in cfg["optimizers"]:
        ours = train([seed], [seed], depth, name, short)["thetaT"]
        ref = train_reference(seed, seed, depth, name, short)
        out[f"trainer {name}"] = max(float((ours[k][0] - ref[k]).abs().max()
                                           / ref[k].abs().max()) for k in ref)
    # Two nets with non-zero biases, a direction over weights and biases.
    seeds = [seed, seed + 1]
    theta = minibatch.stack([init(s, depth, cfg["width"]) for s in seeds])
    theta = {k: v + 0.1 if k.startswith("b") else v for k, v in theta.items()}
    X, Y = training_data(seeds)
    d = gaussian_direction(theta, [s + cfg["direction_offset"] for s in seeds])
    d["b0"] = torch.ones_like(d["b0"])
    ts = [-0.7, 0.3, 1.0]
    probe = line_losses(theta, d, ts, X, Y)
    points = along(theta, d, ts)
    out["line losses"] = max(abs(float(probe[i, m]) - reference_loss(
        {k: v[i] for k, v in points.items()}, m, X, Y)) for i in range(len(ts)) for m in range(2))
    b = {k: v + d[k].float() for k, v in theta.items()}
    alphas = [0.0, 0.5, 1.0]
    seg = segment_losses(theta, b, alphas, X, Y)
    out["segment losses"] = max(abs(seg[m, i] - reference_loss(
        {k: ((1 - a) * theta[k].double() + a * b[k].double()) for k in theta}, m, X, Y))
        for i, a in enumerate(alphas) for m in range(2))
    g = full_gradient(theta, X, Y)
    out["full gradient"] = max(float((g[k][m] - r[k]).abs().max() / r[k].abs().max())
                               for m in range(2) for r in [reference_gradient(theta, m, X, Y)]
                               for k in r)
    # Filter normalization: each kept filter has the weights' filter norm and its own direction;
    # biases and the layers left out are zero.
    for layers in (None, {0}, {depth - 1}):
        fn = filter_normalize(d, theta, layers)
        kept = [k for k in fn if k.startswith("w") and (layers is None or int(k[1:]) in layers)]
        norm_gap = max(float((fn[k].norm(dim=-1) - theta[k].double().norm(dim=-1)).abs().max()
                             / theta[k].double().norm(dim=-1).max()) for k in kept)
        cos_gap = max(float((1 - F.cosine_similarity(fn[k], d[k].double(), dim=-1)).abs().max())
                      for k in kept)
        zeros = max((float(fn[k].abs().max()) for k in fn if k not in kept), default=0.0)
        label = "every layer" if layers is None else f"layer {min(layers)} only"
        out[f"filter normalization ({label}): filter norms"] = norm_gap
        out[f"filter normalization ({label}): filter directions"] = cos_gap
        out[f"filter normalization ({label}): entries left out"] = zeros
    u = unit_norm(d)
    out["unit norm"] = float((torch.sqrt(sum((v ** 2).flatten(1).sum(1) for v in u.values()))
                              - 1).abs().max())
    # The rise scale brackets the requested rise: reached at s, not one bisection step below.
    bis = cfg["bisection"]
    step = math.exp((math.log(bis["high"]) - math.log(bis["low"])) / 2 ** bis["steps"])
    dn = filter_normalize(d, theta)
    s_ = torch.as_tensor(rise_scale(theta, dn, X, Y, cfg))
    L0 = line_losses(theta, dn, [0.0], X, Y)[0]
    rise_at = lambda sc: (line_losses(theta, dn, torch.stack([sc, -sc]), X, Y)  # noqa: E731
                          .max(0).values - L0)
    out["rise at the rise scale / rise"] = float(rise_at(s_).min()) / cfg["rise"]
    out["rise one bisection step below / rise"] = float(rise_at(s_ / step).max()) / cfg["rise"]
    # Curve measures against numpy and closed forms.
    rng = np.random.default_rng(seed)
    curves = rng.normal(size=(3, 31)).cumsum(1)
    out["second differences"] = float(np.abs(second_differences(curves)
                                             - np.diff(curves, n=2)).max())
    x = np.linspace(0, 2 * np.pi, 61)
    sine = np.sin(x)[None]          # its second difference is -4 sin^2(h/2) sin(x): negative
    concave = np.sin(x[1:-1]) * 4 * np.sin((x[1] - x[0]) / 2) ** 2 > cfg["curvature_tol"]
    out["non-convex fraction of a sine"] = abs(float(nonconvex_fraction(sine)[0])
                                               - concave.mean())
    span = nonconvex_span(sine)[0]
    where = np.linspace(0, 1, 61)[1:-1][concave]
    out["non-convex span of a sine"] = float(np.abs(span - [where[0], where[-1]]).max())
    out["largest rise"] = float(np.abs(largest_rise(curves) - np.diff(curves).max(1)).max())
    ts_ = np.linspace(-1, 1, 31)
    fit = np.array([np.polyval(np.polyfit(ts_, c, 2), ts_) for c in curves])
    r2 = 1 - ((curves - fit) ** 2).sum(1) / ((curves - curves.mean(1, keepdims=True)) ** 2).sum(1)
    out["quadratic R^2"] = float(np.abs(quadratic_r2(ts_, curves) - r2).max())
    out["quadratic R^2 of a parabola, minus 1"] = abs(float(quadratic_r2(
        ts_, (2 * ts_ ** 2 - ts_ + 3)[None])[0]) - 1)
    return out


# --- evaluating many points at once ---------------------------------------------------------------
def line_losses(theta: dict, direction: dict, ts, X, Y) -> torch.Tensor:
    """The full-batch training loss (float64) at theta + t d for every t of ``ts``, net m on its
    own data X[m], Y[m], without forming the points: the first layer's pre-activations are affine
    in t, X (w0 + t d0)^T + b0 + t db0 = A + t B, so A and B are computed once per net and every t
    costs only the layers above it (about 60% of a depth-3 net's products). One net and one t at
    a time: batched over nets and ts the intermediates left the cache and ran at 0.9-1.1x the
    point-by-point loop (``losses_naive``); this loop runs at 1.3-1.6x it. ``ts`` is (P,), or
    (P, M) for a different t per net. Returns (P, M), float64."""
    M, n = Y.shape[0], depth_of(theta)
    ts = torch.as_tensor(ts, dtype=torch.float64)
    if ts.dim() == 1:
        ts = ts[:, None].expand(-1, M)
    out = torch.empty(ts.shape, dtype=torch.float64)
    with torch.no_grad():
        for m in range(M):
            th = {k: v[m].double() for k, v in theta.items()}
            d = {k: v[m].double() for k, v in direction.items()}
            x = X[m].double()
            A = torch.addmm(th["b0"], x, th["w0"].T)
            B = torch.addmm(d["b0"], x, d["w0"].T)
            for p, t in enumerate(ts[:, m].tolist()):
                z = A + t * B
                for i in range(1, n):
                    z = torch.addmm(th[f"b{i}"] + t * d[f"b{i}"], torch.relu(z),
                                    (th[f"w{i}"] + t * d[f"w{i}"]).T)
                out[p, m] = F.cross_entropy(z, Y[m])
    return out


def along(theta: dict, direction: dict, ts) -> dict:
    """theta + t d for every t of ``ts`` (P,): leading dims (P, M)."""
    ts = torch.as_tensor(ts, dtype=torch.float64)
    return {k: theta[k].double()[None] + ts.view(-1, *[1] * theta[k].dim())
            * direction[k].double()[None] for k in theta}


def segment_losses(a: dict, b: dict, alphas, X, Y) -> np.ndarray:
    """The loss at (1 - alpha) a + alpha b for every alpha: (M, points)."""
    return line_losses(a, {k: b[k].double() - a[k].double() for k in a}, alphas, X, Y).T.numpy()


# --- curve measures -------------------------------------------------------------------------------
def second_differences(curves: np.ndarray) -> np.ndarray:
    return curves[..., :-2] - 2 * curves[..., 1:-1] + curves[..., 2:]


def nonconvex_fraction(curves: np.ndarray, tol: float = CONFIG["curvature_tol"]) -> np.ndarray:
    """The fraction of interior points with a second difference below -tol (per curve)."""
    return (second_differences(curves) < -tol).mean(-1)


def nonconvex_span(curves: np.ndarray, tol: float = CONFIG["curvature_tol"]) -> np.ndarray:
    """Per curve sampled on an even grid of [0, 1], the positions (first, last) of its non-convex
    interior points, as fractions of the way; (nan, nan) for a curve without any."""
    grid = np.linspace(0, 1, curves.shape[-1])[1:-1]
    out = np.full(curves.shape[:-1] + (2,), np.nan)
    for idx, neg in np.ndenumerate(np.empty(curves.shape[:-1])):
        where = grid[second_differences(curves[idx]) < -tol]
        if where.size:
            out[idx] = where[0], where[-1]
    return out


def largest_rise(curves: np.ndarray) -> np.ndarray:
    """The largest increase between consecutive points (per curve): <= 0 for a non-increasing
    curve."""
    return np.diff(curves, axis=-1).max(-1)


def quadratic_r2(ts: np.ndarray, curves: np.ndarray) -> np.ndarray:
    """R^2 of the least-squares fit a + b t + c t^2 of each curve (last axis) over ``ts``."""
    A = np.stack([np.ones_like(ts), ts, ts ** 2], 1)
    coef, *_ = np.linalg.lstsq(A, curves.reshape(-1, len(ts)).T, rcond=None)
    fit = (A @ coef).T.reshape(curves.shape)
    res = ((curves - fit) ** 2).sum(-1)
    tot = ((curves - curves.mean(-1, keepdims=True)) ** 2).sum(-1)
    return 1 - res / tot


# --- directions -----------------------------------------------------------------------------------
def gaussian_direction(theta: dict, seeds) -> dict:
    """A Gaussian direction over the weights (biases zero), shaped like ``theta`` (M, ...): net m
    draws its own from ``seeds[m]``, so a net's direction does not depend on the others."""
    gens = [torch.Generator().manual_seed(int(s)) for s in seeds]
    return {k: torch.stack([torch.randn(v.shape[1:], generator=g, dtype=torch.float64)
                            for g in gens]) if k.startswith("w")
            else torch.zeros_like(v, dtype=torch.float64) for k, v in theta.items()}


def filter_normalize(direction: dict, theta: dict, layers=None) -> dict:
    """Li et al. (2018) §4: each filter (a row of a weight matrix: one unit's incoming weights)
    of ``direction`` rescaled to the norm of the same filter of ``theta``; bias directions zero;
    with ``layers``, the weights of every other layer zero too. A filter of ``direction`` with
    norm 0 stays 0."""
    out = {}
    for k, d in direction.items():
        keep = k.startswith("w") and (layers is None or int(k[1:]) in layers)
        if not keep:
            out[k] = torch.zeros_like(d, dtype=torch.float64)
            continue
        d = d.double()
        norm = d.norm(dim=-1, keepdim=True)
        # A filter of d with no norm (a dead unit's row of the gradient) stays zero.
        out[k] = torch.where(norm > 0, d * theta[k].double().norm(dim=-1, keepdim=True)
                             / norm.clamp_min(1e-300), 0.0)
    return out


def full_gradient(theta: dict, X, Y) -> dict:
    """Each net's gradient of its full-batch training loss (float64)."""
    return batched_gradient({k: v.double() for k, v in theta.items()}, X.double(), Y)


def rise_scale(theta: dict, direction: dict, X, Y, cfg: dict = CONFIG) -> np.ndarray:
    """Per net, the step s at which max(L(theta + s d), L(theta - s d)) - L(theta) reaches
    ``rise``, by bisection in log s between ``bisection["low"]`` and ``["high"]``."""
    b = cfg["bisection"]
    L0 = line_losses(theta, direction, [0.0], X, Y)[0]
    lo = torch.full_like(L0, math.log(b["low"]))
    hi = torch.full_like(L0, math.log(b["high"]))
    for _ in range(b["steps"]):
        mid = (lo + hi) / 2
        s = mid.exp()
        up = line_losses(theta, direction, torch.stack([s, -s]), X, Y).max(0).values - L0 \
            >= cfg["rise"]
        hi, lo = torch.where(up, mid, hi), torch.where(up, lo, mid)
    return hi.exp().numpy()


def rise_scaled_slice(theta: dict, direction: dict, X, Y, cfg: dict = CONFIG) -> dict:
    """The slice L(theta + t s d), t in [-1, 1], with s the rise scale: {"scale" (M,),
    "ts", "loss" (M, points), "r2" (M,), "nonconvex" (M,)}."""
    s = rise_scale(theta, direction, X, Y, cfg)
    ts = np.linspace(-1, 1, cfg["slice_points"])
    scaled = {k: v * torch.as_tensor(s).view(-1, *[1] * (v.dim() - 1)) for k, v in
              direction.items()}
    curves = line_losses(theta, scaled, ts, X, Y).T.numpy()
    return {"scale": s, "ts": ts, "loss": curves, "r2": quadratic_r2(ts, curves),
            "nonconvex": nonconvex_fraction(curves, cfg["curvature_tol"])}


# --- filter normalization and rescaling -----------------------------------------------------------
def rescaled(theta: dict, factor: float = CONFIG["rescale"]) -> dict:
    """The same function with other weights: the first layer's weights and biases times
    ``factor``, the second layer's weights divided by it (ReLU is positively homogeneous, so
    relu(a z) = a relu(z) for a > 0 and the second layer's input is ``factor`` times larger)."""
    out = {k: v.clone() for k, v in theta.items()}
    out["w0"], out["b0"] = theta["w0"] * factor, theta["b0"] * factor
    out["w1"] = theta["w1"] / factor
    return out


def max_output_change(a: dict, b: dict, X) -> np.ndarray:
    """Per net, the largest |difference| of the logits of two weight sets on the training data
    (float64), relative to the largest |logit|."""
    with torch.no_grad():
        fa = batched_forward({k: v.double() for k, v in a.items()}, X.double())
        fb = batched_forward({k: v.double() for k, v in b.items()}, X.double())
    return ((fa - fb).abs().amax((1, 2)) / fa.abs().amax((1, 2))).numpy()


def rescaling_slices(theta: dict, X, Y, seeds, cfg: dict = CONFIG) -> dict:
    """Li et al. §4's argument on a ReLU net: the slice L(theta + t d), t in [-1, 1], of the
    trained weights and of their rescaled copy (``rescaled``: the same function), along
    (a) a filter-normalized Gaussian direction, normalized against each net's own weights, and
    (b) the same raw Gaussian direction for both, scaled once to the norm of the original
    weights. Returns {"ts", "function_change" (M,), "filter" / "raw": {"original", "rescaled"
    (M, points)}, "filter_gap" / "raw_gap": the largest |difference| of the two slices (M,)}."""
    twin = rescaled(theta, cfg["rescale"])
    ts = np.linspace(-1, 1, cfg["slice_points"])
    d = gaussian_direction(theta, [s + cfg["direction_offset"] for s in seeds])
    weights = [k for k in theta if k.startswith("w")]
    norm = lambda p: torch.sqrt(sum((p[k].double() ** 2).flatten(1).sum(1)  # noqa: E731
                                    for k in weights))
    factor = (norm(theta) / norm(d)).view(-1, 1, 1)
    raw = {k: v * factor if k.startswith("w") else v for k, v in d.items()}
    out = {"ts": ts, "function_change": max_output_change(theta, twin, X)}
    for name, dirs in (("filter", (filter_normalize(d, theta), filter_normalize(d, twin))),
                       ("raw", (raw, raw))):
        out[name] = {which: line_losses(p, di, ts, X, Y).T.numpy()
                     for which, p, di in (("original", theta, dirs[0]),
                                          ("rescaled", twin, dirs[1]))}
        out[f"{name}_gap"] = np.abs(out[name]["original"] - out[name]["rescaled"]).max(1)
    return out


# --- slices along the gradient, random directions and single layers ------------------------------
def unit_norm(direction: dict) -> dict:
    """Each net's direction divided by its Euclidean norm over every tensor (weights and
    biases), so that a rise scale is a distance in parameter space."""
    norm = torch.sqrt(sum((v.double() ** 2).flatten(1).sum(1) for v in direction.values()))
    return {k: v.double() / norm.view(-1, *[1] * (v.dim() - 1)) for k, v in direction.items()}


def restricted(direction: dict, layers) -> dict:
    """``direction`` with every tensor outside the weight matrices of ``layers`` set to zero."""
    return {k: v.double() if k.startswith("w") and int(k[1:]) in layers
            else torch.zeros_like(v, dtype=torch.float64) for k, v in direction.items()}


def random_direction(theta: dict, seeds, j: int, cfg: dict = CONFIG) -> dict:
    """The j-th Gaussian direction of each net (its seed + ``direction_offset`` + 1000 j)."""
    return gaussian_direction(theta, [s + cfg["direction_offset"] + 1000 * j for s in seeds])


def direction_slices(theta: dict, X, Y, seeds, normalization: str = "raw",
                     cfg: dict = CONFIG) -> dict:
    """Rise-scaled slices (``rise_scaled_slice``) at ``theta`` along the full-batch gradient and
    along ``gradient_random_directions`` Gaussian directions over every layer's weights: {"gradient":
    slice, "random": [slice, ...]} (each slice's arrays over the M nets). ``normalization``
    "raw": each direction as it is (the gradient over every parameter, biases included), scaled to
    unit norm, so a rise scale is a parameter distance; "filter": filter-normalized (Li et al.)."""
    g = full_gradient(theta, X, Y)
    norm = unit_norm if normalization == "raw" else (lambda d: filter_normalize(d, theta))
    return {"gradient": rise_scaled_slice(theta, norm(g), X, Y, cfg),
            "random": [rise_scaled_slice(theta, norm(random_direction(theta, seeds, j, cfg)),
                                         X, Y, cfg)
                       for j in range(cfg["gradient_random_directions"])]}


def layer_slices(theta: dict, X, Y, seeds, normalization: str = "filter",
                 cfg: dict = CONFIG) -> dict:
    """Rise-scaled slices at ``theta`` along ``random_directions`` Gaussian directions over every
    layer ("random"), over the first layer's weights only ("first") and over the last layer's
    only ("last"): {kind: [slice, ...]}. ``normalization`` "filter": filter-normalized against
    the weights of the layers kept (Li et al.); "raw": restricted, then scaled to unit norm."""
    depth = depth_of(theta)
    out = {}
    for name, layers in (("random", None), ("first", {0}), ("last", {depth - 1})):
        count = cfg["random_directions"] if layers is None else cfg["layer_directions"]
        if normalization == "filter":
            norm = lambda d, layers=layers: filter_normalize(d, theta, layers)  # noqa: E731
        else:
            norm = lambda d, layers=layers: unit_norm(  # noqa: E731
                d if layers is None else restricted(d, layers))
        out[name] = [rise_scaled_slice(theta, norm(random_direction(theta, seeds, j, cfg)), X,
                                       Y, cfg) for j in range(count)]
    return out


def losses_naive(points: dict, X, Y) -> torch.Tensor:
    """The loss at every point of ``points`` (leading dims (P, M), from ``along`` or
    ``segment``), one point and one net at a time: the benchmark's baseline for ``line_losses``."""
    P, M = next(iter(points.values())).shape[:2]
    out = torch.empty(P, M, dtype=torch.float64)
    with torch.no_grad():
        for i in range(P):
            for m in range(M):
                out[i, m] = loss({k: v[i, m].double() for k, v in points.items()},
                                 X[m].double(), Y[m])
    return out


# --- figure ---------------------------------------------------------------------------------------
def plot(lines: dict, slices: dict | None = None):
    """Left: the loss on the segment theta_0 -> theta_T for every configuration and net. Right
    (with ``slices``): rise-scaled slices along the gradient and along random directions."""
    from matplotlib.figure import Figure
    fig = Figure(figsize=(10 if slices is not None else 5.5, 3.6), layout="constrained")
    ax, *bx = fig.subplots(1, 2 if slices is not None else 1, squeeze=False)[0]
    for i, (c, curves) in enumerate(lines.items()):
        alphas = np.linspace(0, 1, curves.shape[1])
        for j, curve in enumerate(curves):
            ax.plot(alphas, curve, color=f"C{i}", lw=1, label=f"depth {c[0]}, {c[1]}"
                    if j == 0 else None)
    ax.set_yscale("log")
    ax.set_xlabel("alpha (0: initial weights, 1: final)")
    ax.set_ylabel("training loss")
    ax.legend(fontsize=8)
    if slices is not None:
        bx = bx[0]
        s = slices["gradient"]
        for j, curve in enumerate(s["loss"]):
            bx.plot(s["ts"], curve - curve[len(curve) // 2], color="C3", lw=1,
                    label="gradient" if j == 0 else None)
        for k, r in enumerate(slices["random"]):
            for j, curve in enumerate(r["loss"]):
                bx.plot(r["ts"], curve - curve[len(curve) // 2], color="C0", lw=1,
                        label="random" if j == k == 0 else None)
        bx.set_xlabel("t (each slice rises by 1 at its ends)")
        bx.set_ylabel("L(theta + t s d) - L(theta)")
        bx.legend(fontsize=8)
    return fig
