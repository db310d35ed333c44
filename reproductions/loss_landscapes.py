"""Pictures of the loss landscape of a small network: the line from the initial to the final
weights, 1-D slices along random, filter-normalized, gradient and single-layer directions.

References: Goodfellow, Vinyals, Saxe, "Qualitatively characterizing neural network optimization
problems", ICLR 2015 (the loss on the segment theta(alpha) = (1 - alpha) theta_0 + alpha theta_T);
Li, Xu, Taylor, Studer, Goldstein, "Visualizing the Loss Landscape of Neural Nets", NeurIPS 2018,
§4 (filter normalization: each filter of a random direction rescaled to the norm of the same
filter of the weights; bias directions zero); lecture notes 000/001 §3 (these pictures, the
loss along random and gradient directions, and a comment from class on slices along one layer).

Scale: MLPs on scikit-learn's digits (1437 training images of a stratified split fixed by the
seed, standardized: ``small_net_regularization.digits``), depth 3 and 6 (weight layers), width
32, He initialization, minibatch SGD with momentum or Adam (``reproductions.optimizers``), and
depth 1 (softmax regression, a convex model) as a reference. All seeds of one (depth, optimizer)
configuration train as one batch of independent nets (``torch.func.vmap``); every loss along a
line or slice is the mean cross-entropy on the whole training split, evaluated in float64 from
the float32 weights, every net at once (``line_losses``).

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
[LTSM18] protocol is not described, so the gradient-direction slices follow the same rise-scaled,
filter-normalized protocol as the random ones; Li et al. argue the scale invariance with batch
normalization, here it comes from ReLU's positive homogeneity with compensating layer scales.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch.func import grad, vmap

from . import optimizers as optim
from .small_net_regularization import digits

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


def stack(dicts: list) -> dict:
    return {k: torch.stack([d[k] for d in dicts]) for k in dicts[0]}


# --- data and training ----------------------------------------------------------------------------
def training_data(seeds) -> tuple:
    """(X (M, 1437, 64), y (M, 1437)): each seed's training split."""
    splits = [digits(s) for s in seeds]
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
    p = stack([init(s, depth, cfg["width"]) for s in init_seeds])
    M, n = Y.shape
    opt = make_optimizer(opt_name, cfg["epochs"] * (n // cfg["batch"]), cfg)
    state = {k: opt.init(v) for k, v in p.items()}
    gens = [torch.Generator().manual_seed(int(s) + 7919) for s in data_seeds]
    rows = torch.arange(M)[:, None]
    step_grad = vmap(grad(loss))
    out = {"theta0": {k: v.clone() for k, v in p.items()}}
    for epoch in range(cfg["epochs"]):
        if epoch == cfg["mid_epoch"]:
            out["mid"] = {k: v.clone() for k, v in p.items()}
        perm = torch.stack([torch.randperm(n, generator=g) for g in gens])
        for s in range(0, n - cfg["batch"] + 1, cfg["batch"]):
            idx = perm[:, s:s + cfg["batch"]]
            grads = step_grad(p, X[rows, idx], Y[rows, idx])
            for k in p:
                upd, state[k] = opt.update(grads[k], state[k])
                p[k] = p[k] + upd
    out["thetaT"] = p
    return out


# --- evaluating many points at once ---------------------------------------------------------------
def line_losses(theta: dict, direction: dict, ts, X, Y) -> torch.Tensor:
    """The full-batch training loss (float64) at theta + t d for every t of ``ts``, net m on its
    own data X[m], Y[m], all nets in one batched pass per t, without forming the points: the first
    layer's pre-activations are affine in t, X (w0 + t d0)^T + b0 + t db0 = A + t B, so A and B
    are computed once per net and every t costs only the layers above it. ``ts`` is (P,), or
    (P, M) for a different t per net. Returns (P, M), float64."""
    th = {k: v.double() for k, v in theta.items()}
    d = {k: v.double() for k, v in direction.items()}
    M, n = Y.shape[0], depth_of(theta)
    ts = torch.as_tensor(ts, dtype=torch.float64)
    if ts.dim() == 1:
        ts = ts[:, None].expand(-1, M)
    X64 = X.double()
    out = []
    with torch.no_grad():
        A = torch.baddbmm(th["b0"].unsqueeze(1), X64, th["w0"].mT)      # (M, n, width)
        B = torch.baddbmm(d["b0"].unsqueeze(1), X64, d["w0"].mT)
        for t in ts:
            t3 = t.view(-1, 1, 1)
            z = A + t3 * B
            for i in range(1, n):
                z = torch.baddbmm((th[f"b{i}"] + t[:, None] * d[f"b{i}"]).unsqueeze(1),
                                  torch.relu(z), (th[f"w{i}"] + t3 * d[f"w{i}"]).mT)
            out.append(F.cross_entropy(z.flatten(0, 1), Y.flatten(), reduction="none")
                       .view(M, -1).mean(1))
    return torch.stack(out)


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
    return vmap(grad(loss))({k: v.double() for k, v in theta.items()}, X.double(), Y)


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
        fa = vmap(forward)({k: v.double() for k, v in a.items()}, X.double())
        fb = vmap(forward)({k: v.double() for k, v in b.items()}, X.double())
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
def direction_slices(theta: dict, X, Y, seeds, cfg: dict = CONFIG) -> dict:
    """Rise-scaled slices (``rise_scaled_slice``) at ``theta`` along the filter-normalized
    full-batch gradient, along ``random_directions`` filter-normalized Gaussian directions over
    every layer, and along as many over the first and over the last layer only: {"gradient":
    slice, "random" / "first" / "last": [slice, ...]} (each slice's arrays over the M nets)."""
    depth = depth_of(theta)
    g = full_gradient(theta, X, Y)
    out = {"gradient": rise_scaled_slice(theta, filter_normalize(g, theta), X, Y, cfg)}
    for name, layers in (("random", None), ("first", {0}), ("last", {depth - 1})):
        out[name] = [rise_scaled_slice(theta, filter_normalize(gaussian_direction(
            theta, [s + cfg["direction_offset"] + 1000 * j for s in seeds]), theta, layers),
            X, Y, cfg) for j in range(cfg["random_directions"])]
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
    fig = Figure(figsize=(10, 3.6), layout="constrained")
    ax, bx = fig.subplots(1, 2)
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
