"""Normalization layers: BatchNorm's scale invariance, what BatchNorm does to vanishing and
exploding gradients, GroupNorm's special cases, and which axis LayerNorm normalizes.

References:
  * Ioffe & Szegedy, ICML 2015 (BatchNorm, per feature over the mini-batch); slides 002 "Batch
    Normalization" (x^ = (x - mu_B) / sqrt(sigma_B^2), no epsilon; large learning rates scaling
    the parameters).
  * Lecture notes 000/001 §2.1: with BatchNorm, vanishing and exploding gradients become much
    less of an issue. Yang, Pennington, Rao, Sohl-Dickstein, Schoenholz, "A mean field theory of
    batch normalization", ICLR 2019: a deep BatchNorm network at initialization has gradients
    that grow geometrically from the last layer to the first.
  * Ba, Kiros & Hinton 2016 (LayerNorm: each example over its features); Ulyanov et al. 2016
    (InstanceNorm: each example and channel over space); Wu & He, ECCV 2018 (GroupNorm: each
    example and group of channels; G = 1 is LayerNorm over (C, H, W), G = C is InstanceNorm);
    slides 002 "Other Normalizations".

Scale and choices (CONFIG, each knob with its reason):
  * Scale invariance runs one linear layer in float64 with the slides' BatchNorm (no epsilon, so
    that the invariance is exact up to rounding); torch's layer adds eps = 1e-5, which breaks it
    by about eps / var (recorded, not gated). The downstream loss is a fixed positive weighting
    of the squared outputs, 0.5 sum (R * y)^2: it is homogeneous of degree 2 in y, so the same
    loss on the layer without BatchNorm has a gradient that scales exactly as a (the control).
  * Gradients through depth: the 8-layer ReLU MLP of ``batchnorm_landscape`` (width 64, He
    init, zero biases, real 8x8 digits, batch 64), float64, its weights multiplied by an init
    scale s. A plain bias-free ReLU net is positively homogeneous, so every ratio of *weight*
    gradients ||grad W_i|| / ||grad W_j|| is the same at every s: a bad init scale shows in the
    backpropagated signal, the gradient with respect to the hidden activations, which shrinks or
    grows by s per layer (the notes' grad_{X_1} X_l). The measure here is that signal's ratio
    ||dL/dh_1|| / ||dL/dh_{L-1}|| (first hidden layer over last). Yang et al.'s explosion is read
    on the weight gradients, ||grad W_1|| / ||grad W_{L-1}|| (the first and last normalized layers),
    at He init for depths 5 to 40.
  * The training runs judge the notes' sentence (training is reliable with BatchNorm where a
    plain net's gradients vanish or explode): the same MLP from N(0, 0.01^2) weights (the
    fixed-std init of early networks; s = 0.057 of He at width 64), and a 32-layer MLP at He
    init beside the plain 8-layer one (what depth costs the plain net), plain and BatchNorm,
    plain SGD at every lr of a grid, each net at its best lr.
  * Every hand-written kernel these claims rely on is checked inside its claim: the slides'
    BatchNorm against torch's ``F.batch_norm`` (``slides_bn_vs_torch``), the float64 forward and
    backward of the gradient measurements and the float32 training step against a torch.nn
    rebuild (``backprop_vs_torch``, ``training_kernel_vs_torch``), the GroupNorm, LayerNorm and
    InstanceNorm references against torch's functional layers (``group_norm_cases``).
  * GroupNorm / LayerNorm / InstanceNorm: random float64 (N, C, H, W) inputs with per-channel
    offsets and scales, torch's functional layers and a hand-written reference, all with eps 1e-5.
  * LayerNorm's axis: the hidden activations relu(x W^T) of a random He layer on real digits
    (features with very different means, as real activations have).
"""

from __future__ import annotations

import functools
import math
from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from . import batched_nets as nets
from . import minibatch
from . import models as md
from . import optimizers as optim
from .data import digits_standardized

if TYPE_CHECKING:      # the figures' return annotations; matplotlib is imported where one is drawn
    from matplotlib.figure import Figure

CONFIG = {
    "invariance": {
        "batch": 32, "d_in": 20, "d_out": 10,    # one small layer: the identity is per layer
        "scales": (1e-3, 0.1, 0.5, 2.0, 10.0, 1e3),  # six decades around 1, both directions
        "torch_eps": 1e-5,                       # nn.BatchNorm's default, for the recorded gap
        "sgd_lr": 0.5, "sgd_steps": 50,          # a large lr, so the norm's growth is visible
    },
    "depth": {
        "mlp_depth": 8, "width": 64,             # batchnorm_landscape's MLP (its protocol's)
        "batch": 64,                             # its batch size (the BN statistics' sample)
        "scales": (0.1, 0.3, 1.0, 3.0, 10.0),    # init scale s times He: two decades
        "depths": (5, 10, 20, 40),               # the research protocol's depths
    },
    "train": {
        "init_std": 0.01,                        # the bad init: fixed N(0, 0.01^2) weights
        "lrs": (0.01, 0.1, 1.0),                 # three decades; the plain net's best is taken
        "steps": 200,                            # as batchnorm_landscape's lr runs (~9 epochs)
        "chance_loss": math.log(10),             # a net that learned nothing: ln 10
    },
    "depth_train": {
        "depth": 32, "shallow": 8,               # a deep MLP and the protocol's 8 layers
        "lrs": (0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0),  # half decades, so that each
                                                 # net's best lr lies inside: the plain depth-32
                                                 # net's is 0.003-0.03, BN's 0.1-0.3
        "steps": 200,                            # as the bad-init runs
    },
    "groups": {
        "shape": (4, 6, 5, 5),                   # (N, C, H, W): C = 6 allows G = 1, 2, 3, 6
        "eps": 1e-5,                             # torch's default for GN, LN and IN alike
        "control_groups": 2,                     # neither 1 nor C
    },
    "layernorm": {"width": 32, "batch": 128, "eps": 1e-5},  # a batch of digits' hidden units
}


# --- BatchNorm's scale invariance ---------------------------------------------------------------
def batch_norm(z: Tensor, eps: float = 0.0) -> Tensor:
    """Slides 002's BatchNorm of z (batch, features): per feature over the batch, biased
    variance, (z - mu_B) / sqrt(sigma_B^2 + eps); gamma = 1, beta = 0."""
    mu = z.mean(0, keepdim=True)
    var = (z - mu).pow(2).mean(0, keepdim=True)
    return (z - mu) / torch.sqrt(var + eps)


def layer_loss(W: Tensor, x: Tensor, R: Tensor, normalize: bool, eps: float = 0.0) -> Tensor:
    """0.5 sum (R * y)^2 with y = BN(x W^T) (``normalize``) or y = x W^T."""
    z = x @ W.T
    y = batch_norm(z, eps) if normalize else z
    return 0.5 * (R * y).pow(2).sum()


def _grad(W, x, R, normalize, eps=0.0):
    W = W.detach().requires_grad_(True)
    loss = layer_loss(W, x, R, normalize, eps)
    (g,) = torch.autograd.grad(loss, W)
    return loss.detach(), g


def invariance_problem(seed: int, cfg: dict = CONFIG) -> tuple[Tensor, Tensor, Tensor]:
    """(W, x, R) in float64: W and x standard normal, x with per-feature offsets, R uniform in
    [0.5, 1.5]."""
    c = cfg["invariance"]
    gen = torch.Generator().manual_seed(int(seed))
    kw = {"generator": gen, "dtype": torch.float64}
    W = torch.randn(c["d_out"], c["d_in"], **kw)
    x = torch.randn(c["batch"], c["d_in"], **kw) + torch.randn(1, c["d_in"], **kw)
    R = 0.5 + torch.rand(c["batch"], c["d_out"], **kw)
    return W, x, R


def scale_invariance(seed: int, cfg: dict = CONFIG) -> dict:
    """At every scale a of ``invariance.scales``, with and without BatchNorm:
      out_err     max |y(aW) - y(W)| / max |y(W)|          (0 for BN: invariant)
      grad_err    max |a grad(aW) - grad(W)| / max |grad(W)| (0 for BN: grad scales as 1/a)
      grad_exp    log(||grad(aW)|| / ||grad(W)||) / log a  (-1 for BN, +1 without)
    and at a = 1: cos(grad, W) (0 for BN: <grad, W> = 0, Euler's identity for a function of
    degree 0); the same out_err for torch's ``F.batch_norm`` with eps (``torch_out_err``)."""
    c = cfg["invariance"]
    W, x, R = invariance_problem(seed, cfg)
    out = {}
    for name, normalize in (("bn", True), ("plain", False)):
        y0 = batch_norm(x @ W.T) if normalize else x @ W.T
        _, g0 = _grad(W, x, R, normalize)
        errs, gerrs, exps = [], [], []
        for a in c["scales"]:
            ya = batch_norm(x @ (a * W).T) if normalize else x @ (a * W).T
            _, ga = _grad(a * W, x, R, normalize)
            errs.append(float((ya - y0).abs().max() / y0.abs().max()))
            gerrs.append(float((a * ga - g0).abs().max() / g0.abs().max()))
            exps.append(float(torch.log(ga.norm() / g0.norm()) / math.log(a)))
        out[name] = {"out_err": np.array(errs), "grad_err": np.array(gerrs),
                     "grad_exp": np.array(exps),
                     "cos_grad_w": float((g0 * W).sum() / (g0.norm() * W.norm()))}
    t_eps = c["torch_eps"]

    def torch_bn(V):
        return F.batch_norm(x @ V.T, None, None, training=True, eps=t_eps)
    y0 = torch_bn(W)
    out["torch_out_err"] = np.array([float((torch_bn(a * W) - y0).abs().max() / y0.abs().max())
                                     for a in c["scales"]])
    return out


def sgd_norm_growth(seed: int, normalize: bool, cfg: dict = CONFIG) -> dict:
    """Plain SGD on W (``optimizers.sgd``): with BatchNorm the gradient is orthogonal to W, so
    ||W_{t+1}||^2 = ||W_t||^2 + lr^2 ||g_t||^2 exactly (the norm only grows, and the effective
    step lr / ||W||^2 shrinks). Returns the largest relative violation of that identity over the
    steps and ||W_T|| / ||W_0||."""
    c = cfg["invariance"]
    W, x, R = invariance_problem(seed, cfg)
    opt = optim.sgd(c["sgd_lr"])
    state, w0, worst = opt.init(W), W.norm(), 0.0
    for _ in range(c["sgd_steps"]):
        _, g = _grad(W, x, R, normalize)
        upd, state = opt.update(g, state)
        new = W + upd
        predicted = W.pow(2).sum() + c["sgd_lr"] ** 2 * g.pow(2).sum()
        worst = max(worst, float((new.pow(2).sum() - predicted).abs() / predicted))
        W = new
    return {"identity_err": worst, "norm_growth": float(W.norm() / w0)}


# --- gradients through depth ----------------------------------------------------------------------
def digits_batches(seeds, cfg: dict = CONFIG) -> tuple[Tensor, Tensor]:
    """(x, y) of shape (B, M, 64) and (B, M): each seed's first training batch of digits
    (``batched_nets``' split and batch order), float64."""
    return _digits_batches(tuple(int(s) for s in seeds), cfg["depth"]["batch"])


@functools.lru_cache(maxsize=8)
def _digits_batches(seeds: tuple, B: int) -> tuple[Tensor, Tensor]:
    xs, ys = [], []
    for s in seeds:
        split = nets.digits_split(s, flat=True)
        idx = nets.batch_order(s, len(split.y_train), 1, B)[0]
        xs.append(split.x_train[idx])
        ys.append(split.y_train[idx])
    return torch.stack(xs, 1).double(), torch.stack(ys, 1)


def scaled_init(arch: md.Arch, seeds, scale: float) -> dict[str, Tensor]:
    """``models.init`` (He) with every weight matrix multiplied by ``scale``, float64."""
    p = {k: v.double() for k, v in md.init(arch, seeds).items()}
    for k in p:
        if k.startswith("w"):
            p[k] = p[k] * scale
    return p


def backprop(seeds, depth: int, scale: float, variant: str, cfg: dict = CONFIG) -> dict:
    """One forward/backward of the ReLU MLP (``depth`` weight layers, width ``depth.width``) per
    seed on its digits batch, at init scale ``scale``, plain or "bn" (train-mode BatchNorm after
    every hidden linear layer, ``models.batch_norm``), float64. Returns per seed: ``loss`` (M,),
    ``weight_grads`` (one (M, out, in) tensor per layer) and ``signal`` (M, L-1), the norms
    ||dL/dh_i|| of the hidden activations after each ReLU."""
    c = cfg["depth"]
    arch = md.mlp(64, c["width"], depth, 10)
    x, y = digits_batches(seeds, cfg)
    params = {k: v.requires_grad_(True) for k, v in scaled_init(arch, seeds, scale).items()}
    code = md.VARIANTS[variant]
    h, hidden = x, []
    for i in range(arch.n_norm):
        z = torch.einsum("bmi,moi->bmo", h, params[f"w{i}"]) + params[f"b{i}"]
        h = F.relu(md.batch_norm(z, params[f"g{i}"], params[f"beta{i}"], code))
        h.retain_grad()
        hidden.append(h)
    i = arch.n_norm
    logits = torch.einsum("bmi,moi->bmo", h, params[f"w{i}"]) + params[f"b{i}"]
    B, M, C = logits.shape
    loss = F.cross_entropy(logits.reshape(B * M, C), y.reshape(-1),
                           reduction="none").view(B, M).mean(0)
    loss.sum().backward()
    signal = torch.stack([hd.grad.pow(2).sum((0, 2)).sqrt() for hd in hidden], 1)  # (M, L-1)
    return {"loss": loss.detach(), "signal": signal.detach(),
            "weight_grads": [params[f"w{j}"].grad for j in range(arch.n_layers)]}


def gradient_profile(seeds, depth: int, scale: float, variant: str,
                     cfg: dict = CONFIG) -> dict:
    """``backprop``'s ratios per seed (arrays (M,)):
      signal_ratio  ||dL/dh_1|| / ||dL/dh_{L-1}||  (hidden activations after the ReLU)
      weight_ratio  ||grad W_1|| / ||grad W_{L-1}||
    and per seed and hidden layer ``signal`` (M, L-1)."""
    res = backprop(seeds, depth, scale, variant, cfg)
    signal, grads = res["signal"], res["weight_grads"]
    wnorm = [g.flatten(1).norm(dim=1) for g in grads]
    return {"signal": signal.numpy(), "signal_ratio": (signal[:, 0] / signal[:, -1]).numpy(),
            "weight_ratio": (wnorm[0] / wnorm[len(grads) - 2]).numpy()}


def backprop_vs_torch(seeds, depth: int, scale: float, variant: str,
                      cfg: dict = CONFIG) -> dict:
    """``backprop``'s numbers against a torch.nn rebuild of each model
    (``batched_nets.torch_net``: its own layers, nn.BatchNorm1d in train mode, autograd),
    float64, per seed: the relative difference
    of the loss, the largest over layers of ||grad W_i - torch's|| / ||torch's||, and the
    largest over hidden layers of the relative difference of ||dL/dh_i||. Arrays (M,)."""
    ours = backprop(seeds, depth, scale, variant, cfg)
    arch = md.mlp(64, cfg["depth"]["width"], depth, 10)
    x, y = digits_batches(seeds, cfg)
    params = scaled_init(arch, seeds, scale)
    out = {"loss": [], "weight_grad": [], "signal": []}
    for m in range(len(seeds)):
        net = nets.torch_net(arch, params, m, variant)
        h, hidden = x[:, m], []
        for mod in net:
            h = mod(h)
            if isinstance(mod, torch.nn.ReLU):
                h.retain_grad()
                hidden.append(h)
        loss = F.cross_entropy(h, y[:, m])
        loss.backward()
        lins = [mod for mod in net if isinstance(mod, torch.nn.Linear)]
        out["loss"].append(float(abs(ours["loss"][m] - loss.detach()) / loss.detach()))
        out["weight_grad"].append(max(float((g[m] - lin.weight.grad).norm()
                                            / lin.weight.grad.norm())
                                      for g, lin in zip(ours["weight_grads"], lins)))
        ref = torch.stack([hd.grad.norm() for hd in hidden])
        out["signal"].append(float(((ours["signal"][m] - ref).abs() / ref).max()))
    return {k: np.array(v) for k, v in out.items()}


def scale_sweep(seeds, variant: str, cfg: dict = CONFIG) -> np.ndarray:
    """signal_ratio per (init scale, seed): (len(scales), M)."""
    c = cfg["depth"]
    return np.stack([gradient_profile(seeds, c["mlp_depth"], s, variant, cfg)["signal_ratio"]
                     for s in c["scales"]])


def depth_sweep(seeds, variant: str, cfg: dict = CONFIG) -> np.ndarray:
    """weight_ratio per (depth, seed) at He init: (len(depths), M)."""
    return np.stack([gradient_profile(seeds, d, 1.0, variant, cfg)["weight_ratio"]
                     for d in cfg["depth"]["depths"]])


def log_slope(values: np.ndarray, x) -> np.ndarray:
    """Per seed: the least-squares slope of log(values) (rows: the points x, columns: seeds)
    against x."""
    x = np.asarray(x, dtype=float)
    logs = np.log(values)
    xc = x - x.mean()
    return (xc[:, None] * (logs - logs.mean(0))).sum(0) / (xc ** 2).sum()


def scale_exponent(ratios: np.ndarray, scales) -> np.ndarray:
    """Per seed: the power p in signal_ratio ~ s^p over the init scales (L - 2 for a plain
    bias-free ReLU net of L layers, 0 with BatchNorm)."""
    return log_slope(ratios, np.log(scales))


def growth_per_layer(ratios: np.ndarray, depths) -> np.ndarray:
    """Per seed: the factor by which the ratio grows per added layer (exp of the slope of its
    log against depth)."""
    return np.exp(log_slope(ratios, depths))


def plot_gradients(scale: dict, depth: dict, cfg: dict = CONFIG) -> "Figure":
    """(a) signal ratio ||dL/dh_1|| / ||dL/dh_{L-1}|| against the init scale, (b) weight-gradient
    ratio ||grad W_1|| / ||grad W_{L-1}|| against depth at He init; plain and BN, median over
    seeds, seed range shaded. ``scale`` and ``depth`` map "plain"/"bn" to (points, seeds)."""
    from matplotlib.figure import Figure
    c = cfg["depth"]
    fig = Figure(figsize=(9, 3.4), layout="constrained")
    ax, bx = fig.subplots(1, 2)
    for v, color in (("plain", "C3"), ("bn", "C0")):
        for axis, data, x in ((ax, scale, c["scales"]), (bx, depth, c["depths"])):
            axis.plot(x, np.median(data[v], 1), "o-", color=color,
                      label={"plain": "plain", "bn": "BN"}[v])
            axis.fill_between(x, data[v].min(1), data[v].max(1), color=color, alpha=0.2)
    ax.set_xscale("log")
    ax.set_xlabel("init scale s (x He)")
    ax.set_ylabel("||dL/dh_1|| / ||dL/dh_L-1||")
    ax.set_title(f"{c['mlp_depth']}-layer MLP, digits")
    bx.set_xlabel("depth (weight layers)")
    bx.set_ylabel("||grad W_1|| / ||grad W_L-1||")
    bx.set_title("He init")
    for axis in (ax, bx):
        axis.set_yscale("log")
    ax.legend(fontsize=8)
    return fig


# --- training runs: a badly scaled init, and depth ------------------------------------------------
def train_mlp_grid(seeds, depth: int, lrs, steps: int, init_std: float | None = None,
                   variants=("plain", "bn"), cfg: dict = CONFIG) -> dict:
    """ReLU MLPs of ``depth`` weight layers (``batchnorm_landscape``'s, width ``depth.width``,
    float32), plain and BN, from He init or, with ``init_std``, from N(0, init_std^2) weights;
    plain SGD at every lr of ``lrs`` for ``steps`` steps on each seed's digits batches, all as
    one batch of models. Returns {(variant, lr): (full-batch training losses (M,), test
    accuracies (M,))}, seeds in order."""
    arch = md.mlp(64, cfg["depth"]["width"], depth, 10)
    specs = nets.grid(seeds, variants, lrs)
    splits = {s: nets.digits_split(s, flat=True) for s in seeds}
    sample, data, model_seed = nets.split_sampler(splits, specs, cfg["depth"]["batch"], steps)
    params = mlp_init(arch, [s.seed for s in specs], init_std)
    variant = torch.tensor([md.VARIANTS[s.variant] for s in specs])
    lr = torch.tensor([s.lr for s in specs], dtype=torch.float32)
    opts = {k: optim.sgd(minibatch.per_model(lr, p)) for k, p in params.items()}
    states = minibatch.init_each(opts, params)
    for t in range(steps):
        xb, yb = sample(t)
        _, grads = nets.grads_and_loss(arch, params, xb, yb, variant)
        params, states = minibatch.step_each(opts, params, grads, states)
    loss, acc = nets.evaluate(arch, params, specs, data, model_seed)
    out = {}
    for v in variants:
        for r in lrs:
            idx = [i for _, i in sorted((s.seed, i) for i, s in enumerate(specs)
                                        if s.variant == v and s.lr == r)]
            out[(v, r)] = (loss[idx], acc[idx])
    return out


def mlp_init(arch: md.Arch, seeds, init_std: float | None = None) -> dict[str, Tensor]:
    """``models.init`` (He, float32) per seed, or with every weight N(0, init_std^2)."""
    params = md.init(arch, seeds)
    if init_std is None:
        return params
    he_std = math.sqrt(2.0 / arch.in_dim)                # every weight layer has fan-in 64
    return {k: v * (init_std / he_std) if k.startswith("w") else v for k, v in params.items()}


def training_kernel_vs_torch(seeds, depth: int, init_std: float | None = None,
                             cfg: dict = CONFIG) -> dict:
    """The training runs' loss and gradients (``batched_nets.grads_and_loss`` on the
    batched MLP) at their initial weights on each seed's first batch, against a torch.nn
    rebuild of each model: ``batched_nets.grads_vs_torch``'s relative differences, per
    variant ("plain", "bn"). In float64 (the code is dtype-generic; the runs are float32), so
    that rounding flips no ReLU between the two computations."""
    arch = md.mlp(64, cfg["depth"]["width"], depth, 10)
    x, y = digits_batches(seeds, cfg)
    params = {k: v.double() for k, v in mlp_init(arch, seeds, init_std).items()}
    return {v: nets.grads_vs_torch(arch, params, x, y, [v] * len(seeds)) for v in ("plain", "bn")}


def slides_bn_vs_torch(seed: int, cfg: dict = CONFIG) -> dict:
    """The hand-written BatchNorm (``batch_norm``) on one invariance problem against torch's
    train-mode ``F.batch_norm`` at eps 1e-5 and 1e-10 (torch refuses eps = 0): the largest
    relative difference of the outputs and of the gradients of ``layer_loss`` with respect to W
    (autograd through each); and at eps = 0 the largest |per-feature mean| and |biased
    per-feature variance - 1| of the output (the definition, to rounding)."""
    W, x, R = invariance_problem(seed, cfg)
    z = x @ W.T
    out_err, grad_err = 0.0, 0.0
    for eps in (1e-5, 1e-10):
        ours, ref = batch_norm(z, eps), F.batch_norm(z, None, None, training=True, eps=eps)
        out_err = max(out_err, float((ours - ref).abs().max() / ref.abs().max()))
        _, g = _grad(W, x, R, True, eps)
        Wt = W.detach().requires_grad_(True)
        yt = F.batch_norm(x @ Wt.T, None, None, training=True, eps=eps)
        (gt,) = torch.autograd.grad(0.5 * (R * yt).pow(2).sum(), Wt)
        grad_err = max(grad_err, float((g - gt).abs().max() / gt.abs().max()))
    y0 = batch_norm(z)
    return {"out_err": out_err, "grad_err": grad_err,
            "mean": float(y0.mean(0).abs().max()),
            "var": float((y0.pow(2).mean(0) - 1).abs().max())}


def train_from_bad_init(seeds, cfg: dict = CONFIG) -> dict:
    """The 8-layer MLPs from N(0, init_std^2) weights at every lr of ``train.lrs``:
    ``train_mlp_grid``'s {(variant, lr): (losses, accuracies)}."""
    c = cfg["train"]
    return train_mlp_grid(seeds, cfg["depth"]["mlp_depth"], c["lrs"], c["steps"],
                          init_std=c["init_std"], cfg=cfg)


def train_at_depth(seeds, cfg: dict = CONFIG) -> dict:
    """He-initialized MLPs: plain and BN at ``depth_train.depth``, and the plain net at
    ``depth_train.shallow`` layers (what depth costs it), every lr of ``depth_train.lrs``.
    Returns {depth: ``train_mlp_grid``'s dict}."""
    c = cfg["depth_train"]
    return {c["depth"]: train_mlp_grid(seeds, c["depth"], c["lrs"], c["steps"], cfg=cfg),
            c["shallow"]: train_mlp_grid(seeds, c["shallow"], c["lrs"], c["steps"],
                                         variants=("plain",), cfg=cfg)}


def best_over_lrs(runs: dict, variant: str, lrs) -> tuple[np.ndarray, np.ndarray]:
    """Per seed: the lowest full-batch training loss over ``lrs`` (a diverged run, NaN, counts
    as +inf) and the highest test accuracy."""
    loss = np.min([np.nan_to_num(runs[(variant, lr)][0], nan=np.inf) for lr in lrs], 0)
    acc = np.max([np.nan_to_num(runs[(variant, lr)][1], nan=0.0) for lr in lrs], 0)
    return loss, acc


def best_lr(runs: dict, variant: str, lrs) -> np.ndarray:
    """Per seed: the lr of ``lrs`` with the lowest final loss (NaN counts as +inf)."""
    losses = np.stack([np.nan_to_num(runs[(variant, lr)][0], nan=np.inf) for lr in lrs])
    return np.asarray(lrs)[losses.argmin(0)]


# --- GroupNorm, LayerNorm, InstanceNorm -----------------------------------------------------------
def group_norm_reference(x: Tensor, groups: int, eps: float) -> Tensor:
    """Hand-written GroupNorm (no affine): each example's channels split into ``groups``
    consecutive groups, each group normalized over its channels and space, biased variance."""
    N, C = x.shape[:2]
    g = x.reshape(N, groups, -1)
    mu = g.mean(-1, keepdim=True)
    var = (g - mu).pow(2).mean(-1, keepdim=True)
    return ((g - mu) / torch.sqrt(var + eps)).reshape(x.shape)


def group_norm_loops(x: Tensor, groups: int, eps: float) -> Tensor:
    """The same, one (example, group) at a time in Python loops: the naive baseline."""
    N, C = x.shape[:2]
    k = C // groups
    out = torch.empty_like(x)
    for n in range(N):
        for gi in range(groups):
            block = x[n, gi * k:(gi + 1) * k]
            mu = block.mean()
            var = (block - mu).pow(2).mean()
            out[n, gi * k:(gi + 1) * k] = (block - mu) / torch.sqrt(var + eps)
    return out


def layer_norm_reference(x: Tensor, eps: float) -> Tensor:
    """Each example over all its other dimensions (C, H, W)."""
    dims = tuple(range(1, x.dim()))
    mu = x.mean(dims, keepdim=True)
    return (x - mu) / torch.sqrt((x - mu).pow(2).mean(dims, keepdim=True) + eps)


def instance_norm_reference(x: Tensor, eps: float) -> Tensor:
    """Each (example, channel) over space."""
    dims = tuple(range(2, x.dim()))
    mu = x.mean(dims, keepdim=True)
    return (x - mu) / torch.sqrt((x - mu).pow(2).mean(dims, keepdim=True) + eps)


def weight_standardization(W: Tensor) -> Tensor:
    """Weight Standardization (Qiao et al. 2019, eq. (5), no eps): each output filter (row of
    ``W`` flattened over its fan-in) minus its mean, over its standard deviation (biased)."""
    rows = W.reshape(W.shape[0], -1)
    mu = rows.mean(1, keepdim=True)
    return ((rows - mu) / (rows - mu).pow(2).mean(1, keepdim=True).sqrt()).reshape(W.shape)


def layerwise_standardization(W: Tensor) -> Tensor:
    """The other reading: all of the layer's weights standardized jointly."""
    return (W - W.mean()) / (W - W.mean()).pow(2).mean().sqrt()


def conv_weights(seed: int, shape=(16, 8, 3, 3)) -> Tensor:
    """A conv layer's weights (out, in, kh, kw), float64, with a different offset and scale per
    output filter (so that per-filter and joint standardization differ)."""
    g = torch.Generator().manual_seed(int(seed))
    kw = {"generator": g, "dtype": torch.float64}
    return (torch.randn(*shape, **kw) * (0.5 + torch.rand(shape[0], 1, 1, 1, **kw))
            + torch.randn(shape[0], 1, 1, 1, **kw))


def group_input(seed: int, cfg: dict = CONFIG) -> Tensor:
    """(N, C, H, W) float64 with a different offset and scale per channel and per example, so
    that no two of the normalizations coincide by accident."""
    gen = torch.Generator().manual_seed(int(seed))
    N, C, H, W = cfg["groups"]["shape"]
    kw = {"generator": gen, "dtype": torch.float64}
    return (torch.randn(N, C, H, W, **kw) * (0.5 + 2 * torch.rand(N, C, 1, 1, **kw))
            + 3 * torch.randn(N, C, 1, 1, **kw))


def _maxdiff(a: Tensor, b: Tensor) -> float:
    return float((a - b).abs().max())


def group_norm_cases(seed: int, cfg: dict = CONFIG) -> dict:
    """Max absolute differences on one input: torch GroupNorm(G=1) vs LayerNorm over (C, H, W),
    GroupNorm(G=C) vs InstanceNorm, the same for the hand-written references, torch vs
    hand-written at G = 1, control G and C, and the control G against LN and IN."""
    c = cfg["groups"]
    x, eps = group_input(seed, cfg), c["eps"]
    C, Gc = x.shape[1], c["control_groups"]
    gn = {g: F.group_norm(x, g, eps=eps) for g in (1, Gc, C)}
    ref = {g: group_norm_reference(x, g, eps) for g in (1, Gc, C)}
    ln, inn = F.layer_norm(x, x.shape[1:], eps=eps), F.instance_norm(x, eps=eps)
    ln_ref, in_ref = layer_norm_reference(x, eps), instance_norm_reference(x, eps)
    return {
        "torch_g1_vs_ln": _maxdiff(gn[1], ln), "torch_gc_vs_in": _maxdiff(gn[C], inn),
        "ref_g1_vs_ln": _maxdiff(ref[1], ln_ref), "ref_gc_vs_in": _maxdiff(ref[C], in_ref),
        "torch_vs_ref": max(_maxdiff(gn[g], ref[g]) for g in gn),
        "torch_vs_ref_ln_in": max(_maxdiff(ln, ln_ref), _maxdiff(inn, in_ref)),
        "control_vs_ln": _maxdiff(gn[Gc], ln), "control_vs_in": _maxdiff(gn[Gc], inn),
    }


# --- which axis LayerNorm normalizes --------------------------------------------------------------
def hidden_activations(seed: int, cfg: dict = CONFIG) -> Tensor:
    """relu(x W^T) for a batch of standardized digits and a random He layer, float64 (B, width)."""
    c = cfg["layernorm"]
    split = nets.digits_split(seed, flat=True)
    idx = nets.batch_order(seed, len(split.y_train), 1, c["batch"])[0]
    gen = torch.Generator().manual_seed(int(seed) + 1)
    W = torch.randn(c["width"], 64, generator=gen, dtype=torch.float64) * math.sqrt(2 / 64)
    return F.relu(split.x_train[idx].double() @ W.T)


def axis_statistics(seed: int, cfg: dict = CONFIG) -> dict:
    """Means and variances of LayerNorm's and BatchNorm's outputs along both axes: per sample
    (over the features) and per feature (over the batch): max |mean| and max |var - 1| of each.
    Also LayerNorm (torch) vs a per-sample hand-written normalization, and the input's spread of
    per-feature means."""
    eps = cfg["layernorm"]["eps"]
    h = hidden_activations(seed, cfg)
    outs = {"ln": F.layer_norm(h, h.shape[1:], eps=eps),
            "bn": F.batch_norm(h, None, None, training=True, eps=eps)}
    res = {}
    for name, y in outs.items():
        for axis, dim in (("sample", 1), ("feature", 0)):
            res[f"{name}_{axis}_mean"] = float(y.mean(dim).abs().max())
            res[f"{name}_{axis}_var"] = float((y.var(dim, unbiased=False) - 1).abs().max())
    res["ln_vs_ref"] = _maxdiff(outs["ln"], layer_norm_reference(h, eps))
    res["input_feature_mean_spread"] = float(h.mean(0).max() - h.mean(0).min())
    return res


# --- every normalization against a vanishing initialization -----------------------------------
NORMALIZATIONS = ("none", "batch", "layer", "group", "instance", "weight standardization",
                  "weight standardization + group")
# Ten 3x3 convolutions of 8 channels from N(0, 0.01^2): the signal shrinks ~0.01 sqrt(72 / 2)
# per layer, so the first layer's gradient is ~1e-13 of its weights. Training: 300 SGD steps of
# 64 digits at each lr of a three-decade grid (slow tier).
VANISHING = {"depth": 10, "channels": 8, "init_std": 0.01, "groups": 2, "batch": 64,
             "lrs": (0.01, 0.1, 1.0), "steps": 300}


class StandardizedConv(torch.nn.Conv2d):
    """A 3x3 convolution whose filters are standardized (``weight_standardization``) in the
    forward pass, as Qiao et al. (2019) train them."""

    def forward(self, x: Tensor) -> Tensor:
        return self._conv_forward(x, weight_standardization(self.weight), self.bias)


def norm_layer(kind: str, channels: int, groups: int) -> torch.nn.Module:
    """torch's layer for each normalization (LayerNorm over (C, H, W) is GroupNorm with one
    group, InstanceNorm GroupNorm with one channel per group, both with their affine)."""
    return {"batch": lambda: torch.nn.BatchNorm2d(channels),
            "layer": lambda: torch.nn.GroupNorm(1, channels),
            "group": lambda: torch.nn.GroupNorm(groups, channels),
            "instance": lambda: torch.nn.GroupNorm(channels, channels)}.get(
        kind, torch.nn.Identity)()


def vanishing_convnet(seed: int, kind: str, cfg: dict = VANISHING) -> torch.nn.Sequential:
    """``depth`` 3x3 convolutions of ``channels`` channels (padding 1) with ReLU on the 8x8
    digits, a global average pool and a linear read-out; every weight N(0, init_std^2), biases
    0; ``kind`` places a normalization after each convolution (or standardizes its filters)."""
    torch.manual_seed(seed)
    conv = StandardizedConv if kind.startswith("weight standardization") else torch.nn.Conv2d
    norm = "group" if kind == "weight standardization + group" else kind
    layers, c_in = [], 1
    for _ in range(cfg["depth"]):
        layers += [conv(c_in, cfg["channels"], 3, padding=1),
                   norm_layer(norm, cfg["channels"], cfg["groups"]), torch.nn.ReLU()]
        c_in = cfg["channels"]
    net = torch.nn.Sequential(*layers, torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(),
                              torch.nn.Linear(c_in, 10))
    for m in net.modules():
        if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)):
            torch.nn.init.normal_(m.weight, std=cfg["init_std"])
            torch.nn.init.zeros_(m.bias)
    return net


@functools.lru_cache(maxsize=1)
def vanishing_digits() -> tuple[Tensor, Tensor]:
    """scikit-learn's digits (``data.digits_standardized``) as (N, 1, 8, 8)
    images, and their labels; loaded once (every seed and normalization reads them, none
    writes to them)."""
    X, Y = digits_standardized()
    return X.reshape(-1, 1, 8, 8), Y


def first_layer_gradient(seed: int, kind: str, cfg: dict = VANISHING) -> float:
    """||grad of the first convolution's weights|| / ||its weights|| at initialization, on a
    batch of ``batch`` digits: how far one gradient step moves the layer farthest from the
    loss, relative to where it is."""
    X, Y = vanishing_digits()
    batch = torch.randint(len(Y), (cfg["batch"],), generator=torch.Generator().manual_seed(seed))
    net = vanishing_convnet(seed, kind, cfg)
    first = net[0].weight
    loss = torch.nn.functional.cross_entropy(net(X[batch]), Y[batch])
    (grad,) = torch.autograd.grad(loss, [first])
    return float(grad.norm() / first.detach().norm())


def vanishing_training(seed: int, kind: str, lr: float, cfg: dict = VANISHING) -> float:
    """The full training loss after ``steps`` SGD steps at ``lr`` (minibatches of ``batch``;
    NaN where it diverged)."""
    X, Y = vanishing_digits()
    order = torch.randint(len(Y), (cfg["steps"], cfg["batch"]),
                          generator=torch.Generator().manual_seed(seed))
    net = vanishing_convnet(seed, kind, cfg)
    opt = torch.optim.SGD(net.parameters(), lr=lr)
    for batch in order:
        opt.zero_grad()
        torch.nn.functional.cross_entropy(net(X[batch]), Y[batch]).backward()
        opt.step()
    with torch.no_grad():
        final = float(torch.nn.functional.cross_entropy(net(X), Y))
    return final if math.isfinite(final) else float("nan")
