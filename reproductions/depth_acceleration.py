"""Overparameterizing by depth accelerates gradient descent on l4 regression (not on l2).

Reference: Arora, Cohen, Hazan, "On the Optimization of Deep Networks: Implicit Acceleration by
Overparameterization", ICML 2018 (the end-to-end update rule: Theorem 1 and Claim 1; the
experiments on the UCI "Ethanol" regression and the MNIST convnet); slides 003 of the course (a
reproduction of it, Experiments 1-4); lecture notes 000/001 for AdaGrad, AdaDelta and Adam.

Data: the ethanol rows (gas class 1) of the UCI "Gas Sensor Array Drift Dataset at Different
Concentrations": all 2565 rows x 128 features from the redistributed CSV (the paper's data set)
and, as a cross-check, the 1316 exact rows of the 8 UCI batch files present (see
``reproductions/data.py``). Target = concentration.

Preprocessing (a stated assumption: the paper's text does not say): z-score every feature and the
target (``data.standardize``), no bias term, loss L_p(w) = (1/p) * mean_i |x_i . w - y_i|^p for
p = 2 and p = 4. Then L_2(0) = 0.5, matching the start of the paper's l2 panel. The standardized
X^T X / m has eigenvalues down to ~1e-8: very ill-conditioned, which is where depth helps.
Whitening the features removes the effect, so they are not whitened.

Models: linear networks of depth N = 1, 2, 3 with hidden width 1 (``CONFIG["init_std"]``: every
weight N(0, 0.01^2)): W_1 in R^{1 x 128}, then scalars a_2 .. a_N, end-to-end vector
w = (a_2 ... a_N) W_1. The gradients of all factors follow from g = grad_w L in closed form,

    grad_{W_1} = (prod_k a_k) g,      grad_{a_k} = (prod_{j != k} a_j) (W_1 . g),

so every depth costs the same GEMM pair per step: all configurations (seed x depth x lr) are the
columns of one matrix, R = X W - y (m x C) and G = X^T R^3 / m (128 x C). For l2 only
X^T X / m (128 x 128) and X^T y / m are needed. Depth-1 configurations carry their unused scalar
factors frozen at 1. The problem, these gradients, the grid trainer and the end-to-end rule are
the kit ``reproductions/linear_nets.py``; this module holds the claim's protocol (``CONFIG``),
its runs, summaries and figures. The optimizers are those of ``reproductions/optimizers.py``
(element-wise, so the column axis is the grid). Configurations whose loss becomes non-finite
or exceeds ``CONFIG["diverged"]`` times L(0) are dropped from the batch and count as +inf (the
paper's "NaN counted as +inf"); the best lr per depth is chosen by final loss.

Deviations from the paper, stated:
- width 1 instead of the paper's hidden width (the end-to-end dynamics do not depend on it from
  near-zero initialization; ``hidden_width_effect`` measures that);
- the default tier runs a shorter horizon than the paper's 10^6 steps (the paper-scale grid is the
  claim module's ``slow`` tier);
- the l2 lr grid extends the l4 grid upward (l2 is stable at larger lr; on the l4 grid alone every
  depth's best l2 lr would be the grid's top, an untuned baseline);
- AdaDelta gets an lr grid (torch's scaling of Zeiler's step): at Zeiler's lr = 1 it blows up on
  l4 here within 300 steps;
- the convnet (``gpu`` tier) is trained on the 10,000 MNIST test images, the only MNIST images in
  the data directory, instead of the 55,000 training images; the added square factor of each dense
  layer starts at the identity (our choice) and the 5e-4 penalty is on the end-to-end matrices.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import torch

from . import linear_nets as ln

# --- hyperparameters ---------------------------------------------------------------------------
CONFIG = {
    # Every weight N(0, init_std^2): near-zero initialization, the paper's regime (and the
    # protocol of the earlier T = 5 x 10^4 measurement).
    "init_std": 0.01,
    # Depths compared: 1 (the linear model itself), 2 and 3 (as in the paper's Ethanol runs).
    "depths": (1, 2, 3),
    # lr grid (exponents of 10), the same for every depth: 10^-3.25 ... 10^-2.75, then sixteenth
    # decades over [10^-2.625, 10^-2.25], where depth 1's l4 stability edge lies and moves with
    # the seed (10^-2.75 ... 10^-2.25 at T = 10^4 over seeds 0-124), then 10^-2 and 10^-1.75.
    # Measured over seeds 0-124 (2565 rows, T = 10^4): every depth's best lr is interior. The
    # ends are there for the rare seeds: seed 40's depth 1 diverges at 10^-2.75 and is best at
    # 10^-3; seed 100's depth 3, still near its start at T, is best at 10^-2 (10^-1.75 diverges).
    "lr_exponents": (-3.25, -3.0, -2.75, -2.625, -2.5625, -2.5, -2.4375, -2.375, -2.3125, -2.25,
                     -2.0, -1.75),
    # l2 is stable up to 2 / lambda_max(X^T X / m) = 10^-1.56, so on the l4 grid every depth's
    # best l2 lr is near the grid's top; the l2 grid extends it upward until every depth diverges
    # (depth 3 is best at 10^-0.5 on some seeds, e.g. seed 54, and diverges or does worse at 1).
    "l2_extra_exponents": (-1.875, -1.75, -1.625, -1.5, -1.25, -1.0, -0.5, 0.0),
    # Slow tier (T = 5 x 10^4 and paper scale): the same fine grid over [10^-3, 10^-2] at
    # sixteenth decades, plus quarter decades down to 10^-4 (where the deep nets have not yet
    # left the neighbourhood of their near-zero initialization).
    "wide_exponents": tuple(float(e) for e in np.r_[np.arange(-4.0, -3.0, 0.25),
                                                     np.arange(-3.0, -1.99, 0.0625)].round(4)),
    # A configuration whose loss is non-finite or above diverged * L(0) at a recorded step is
    # dropped and counts as +inf (NaN counted as +inf). l4 divergence is explosive (doubly
    # exponential), so any large factor gives the same set.
    "diverged": 1e6,
    # Training precision. Losses are always evaluated in float64 (weights cast to float64);
    # float32 steps give float64's suboptimality to a relative 3e-7 (measured by the claim's
    # test_float32_steps_give_the_float64_suboptimality) at 2-3x the GEMM throughput.
    "dtype": torch.float32,
    # Default-tier horizon (full-batch GD steps) and seeds: sized to the 90 s budget of the default
    # tier on 2 shared CPU cores (see the claim module's notes for which tier holds which protocol).
    "steps": 10_000,
    "n_seeds": 5,
    # The longer horizon (slow tier): T = 50k steps, >= 5 seeds.
    "research_steps": 50_000,
    # Paper scale (slow tier): 10^6 steps, 3 seeds, as in the paper's figure.
    "paper_steps": 1_000_000,
    "paper_seeds": 3,
    # Recorded steps: log-spaced early (divergence is caught fast), linear later (times to reach
    # a loss are read off at T/n_linear resolution).
    "n_log": 60,
    "n_linear": 100,
    # Mechanism: e2e rule vs real training from an exactly balanced start, small lr (the rule is
    # the gradient-flow limit; at lr 10^-3 the discrete steps stay within the stated 2%).
    "e2e": {"steps": 12_000, "lr": 1e-3, "init_norm": 0.1, "depths": (2, 3)},
    # Hidden widths compared for depth 2 (the paper's nets are wide; ours width 1).
    "widths": (1, 10, 100),
    # Other optimizers on l4 (lecture notes 000/001), depth 1 unless stated: lr grids (exponents),
    # each bracketing the optimizer's best lr at 10^4 steps (measured on the 1316 rows: AdaGrad
    # 10^-2, AdaDelta 10^-1.75, Adam 10^-2.5 on depth 1 and 10^-2.75 on depths 2 and 3).
    "optimizers": {
        # 10^-1.25 brackets the rare seeds best at 10^-1.5 at T = 5 x 10^4 (seeds 12, 18 of 0-29)
        "adagrad": (-2.5, -2.25, -2.0, -1.75, -1.5, -1.25),
        # Zeiler's rule has no learning rate (lr = 1), but at lr 1 it blows up on l4 here within
        # 300 steps; torch's lr scaling is tuned like the others. rho 0.9, eps 1e-6.
        "adadelta": (-2.25, -2.0, -1.75, -1.5, -1.0, 0.0),
        "adam": (-3.0, -2.75, -2.5, -2.25, -2.0),  # betas (0.9, 0.999), eps 1e-8
    },
    # Seeds of the default tier's optimizer comparison (3, to fit the budget; the slow tier's
    # T = 5 x 10^4 comparison uses 5).
    "optimizer_seeds": 3,
}


# --- the batched grid trainer under this claim's protocol -----------------------------------------
def train_grid(problem: ln.Problem, p: int, seeds, depths=CONFIG["depths"], lr_exponents=None,
               steps: int = CONFIG["steps"], optimizer="gd", dtype=CONFIG["dtype"],
               **options) -> ln.Grid:
    """``linear_nets.train_grid`` under this claim's protocol: CONFIG's depths, horizon,
    precision, lr grids, initialization and divergence rule unless ``options`` say otherwise."""
    return ln.train_grid(problem, p, seeds, depths, lr_exponents, steps,
                         **{"config": CONFIG, "optimizer": optimizer, "dtype": dtype, **options})


# --- the naive baseline: slide 003's train() ------------------------------------------------------
def train_naive(problem: ln.Problem, p: int, depth: int, lr: float, seed: int, steps: int,
                dtype=torch.float32, config: dict = CONFIG, init: np.ndarray | None = None):
    """One configuration the way slide 003 trains it: an nn.Sequential of bias-free nn.Linear
    layers of width 1, torch.optim.SGD, autograd, and ``float(loss)`` every step (a host sync).
    Starts from the same draw as ``train_grid``. Returns (losses before each step (steps,),
    the final end-to-end vector (d,))."""
    d = problem.X.shape[1]
    draw = ln.init_factors(seed, d, depth, config["init_std"]) if init is None else init
    layers = [torch.nn.Linear(d, 1, bias=False)] + \
        [torch.nn.Linear(1, 1, bias=False) for _ in range(depth - 1)]
    net = torch.nn.Sequential(*layers).to(dtype)
    with torch.no_grad():
        layers[0].weight.copy_(torch.tensor(draw[:d])[None, :])
        for k in range(depth - 1):
            layers[k + 1].weight.fill_(float(draw[d + k]))
    X = torch.tensor(problem.X, dtype=dtype)
    y = torch.tensor(problem.y, dtype=dtype)
    opt = torch.optim.SGD(net.parameters(), lr=lr)
    losses = np.empty(steps)
    for t in range(steps):
        opt.zero_grad()
        loss = (net(X).squeeze(1) - y).abs().pow(p).mean() / p
        loss.backward()
        opt.step()
        losses[t] = loss.item()  # float(loss): a host sync every step
    with torch.no_grad():
        w = layers[0].weight[0].double()
        for layer in layers[1:]:
            w = w * layer.weight[0, 0].double()
    return losses, w.detach().numpy()


# --- the end-to-end rule's runs (the rule itself: linear_nets) ----------------------------------
def train_e2e(problem: ln.Problem, p: int, w0: np.ndarray, depths, lr: float, steps: int,
              dtype=torch.float64, config: dict = CONFIG, drop_projection: bool = False):
    """The single-output end-to-end rule from w0 for each depth N (one column each); N = 1 is
    plain GD. Returns the float64 losses at ``record_steps(steps)``, shape (len(depths), K).
    ``drop_projection=True`` removes the (N - 1) Pr_w term (a planted bug for the tests)."""
    g_of_w = ln.grad_fn(problem, p, dtype)
    N = torch.tensor([float(n) for n in depths], dtype=dtype)[None, :]
    w = torch.tensor(np.repeat(w0[:, None], len(depths), 1), dtype=dtype)
    rec = ln.record_steps(steps, config["n_log"], config["n_linear"])
    out = np.empty((len(depths), len(rec)))
    r_i = 0
    for t in range(steps + 1):
        if t == rec[r_i]:
            out[:, r_i] = ln.loss_np(problem, w.double().numpy(), p)
            r_i += 1
            if r_i == len(rec):
                break
        g = g_of_w(w)
        if drop_projection:
            n2 = (w * w).sum(0, keepdim=True)
            w = w - lr * n2 ** (1 - 1 / N) * g
        else:
            w = ln.e2e_step_single(w, g, lr, N)
    return out


# --- hidden width (depth-N linear nets of any width: linear_nets.wide_factor_grads) ---------------
def train_wide(problem: ln.Problem, p: int, depth: int, widths, seeds, lr: float, steps: int,
               dtype=CONFIG["dtype"], config: dict = CONFIG) -> np.ndarray:
    """GD on depth-``depth`` linear nets of hidden width h for every (seed, h), every weight
    N(0, init_std^2). All widths share one tensor of the largest width, zero-padded: a zero row
    of W_1 paired with a zero column of W_2 gets zero gradient and stays zero under GD, so the
    padded net is exactly the narrow one. Returns the float64 losses at ``record_steps(steps)``,
    shape (len(seeds), len(widths), K)."""
    d, H = problem.X.shape[1], max(widths)
    combos = list(itertools.product(seeds, widths))
    shapes = [(H, d)] + [(H, H)] * (depth - 2) + [(1, H)]
    Ws = [np.zeros((len(combos),) + s) for s in shapes]
    for c, (s, h) in enumerate(combos):
        rng = np.random.default_rng([s, h])
        for j, (rows, cols) in enumerate(shapes):
            r, q = min(rows, h), (cols if j == 0 else min(cols, h))
            Ws[j][c, :r, :q] = rng.normal(0.0, config["init_std"], (r, q))
    Ws = [torch.tensor(W, dtype=dtype) for W in Ws]
    g_of_w = ln.grad_fn(problem, p, dtype)
    rec = ln.record_steps(steps, config["n_log"], config["n_linear"])
    out, r_i = np.empty((len(combos), len(rec))), 0

    def e2e(Ws):
        w = Ws[0]
        for W in Ws[1:]:
            w = W @ w
        return w[:, 0, :]                              # (C, d)

    for t in range(steps + 1):
        if t == rec[r_i]:
            out[:, r_i] = ln.loss_np(problem, e2e(Ws).double().numpy().T, p)
            r_i += 1
            if r_i == len(rec):
                break
        g = g_of_w(e2e(Ws).T).T[:, None, :]              # (C, 1, d)
        Ws = [W - lr * G for W, G in zip(Ws, ln.wide_factor_grads(Ws, g))]
    return out.reshape(len(seeds), len(widths), -1)


# --- the convnet experiment (gpu tier) ------------------------------------------------------------
CONVNET = {
    # The TensorFlow MNIST tutorial (tensorflow/models, tutorials/image/mnist/convolutional.py):
    # conv 5x5x32 + relu + maxpool, conv 5x5x64 + relu + maxpool, dense 3136 -> 512 + relu,
    # dropout 0.5, dense 512 -> 10; momentum 0.9, lr 0.01 decayed x0.95 per epoch (staircase),
    # batch 64, weights truncated-normal std 0.1, biases 0 (conv1) / 0.1 (others).
    "batch": 64, "lr": 0.01, "momentum": 0.9, "decay": 0.95, "dropout": 0.5,
    "init_std": 0.1, "l2": 5e-4,
    # The tutorial's 10 epochs of 55,000 images = 8,600 steps; here the same number of steps over
    # the 10,000 images of the data directory (~55 epochs).
    "steps": 8_600,
    # Moving-average window of the logged batch losses (steps) for the comparison.
    "smooth": 500,
}


class ConvNet(torch.nn.Module):
    """The tutorial's net; ``overparameterized=True`` replaces each dense matrix W by a product
    W_b W_a with a square W_b (512 x 512 and 10 x 10: +262,244 parameters, about +16%).
    W_b starts at the identity (our choice: the end-to-end net then starts exactly as the
    original's), W_a as the original matrix."""

    def __init__(self, overparameterized: bool = False, init_std: float = 0.1):
        super().__init__()
        tn = lambda *shape: torch.nn.Parameter(  # noqa: E731
            torch.nn.init.trunc_normal_(torch.empty(*shape), std=init_std,
                                        a=-2 * init_std, b=2 * init_std))
        self.conv1_w, self.conv1_b = tn(32, 1, 5, 5), torch.nn.Parameter(torch.zeros(32))
        self.conv2_w, self.conv2_b = tn(64, 32, 5, 5), torch.nn.Parameter(torch.full((64,), 0.1))
        self.fc1_w, self.fc1_b = tn(512, 3136), torch.nn.Parameter(torch.full((512,), 0.1))
        self.fc2_w, self.fc2_b = tn(10, 512), torch.nn.Parameter(torch.full((10,), 0.1))
        self.over = overparameterized
        if overparameterized:
            self.fc1_v = torch.nn.Parameter(torch.eye(512))
            self.fc2_v = torch.nn.Parameter(torch.eye(10))

    def dense(self):
        """The end-to-end dense matrices."""
        if self.over:
            return self.fc1_v @ self.fc1_w, self.fc2_v @ self.fc2_w
        return self.fc1_w, self.fc2_w

    def forward(self, x, dropout: float = 0.0):
        F = torch.nn.functional
        x = F.max_pool2d(F.relu(F.conv2d(x, self.conv1_w, self.conv1_b, padding=2)), 2)
        x = F.max_pool2d(F.relu(F.conv2d(x, self.conv2_w, self.conv2_b, padding=2)), 2)
        W1, W2 = self.dense()
        x = F.relu(F.linear(x.flatten(1), W1, self.fc1_b))
        if dropout:
            x = F.dropout(x, dropout, training=True)
        return F.linear(x, W2, self.fc2_b)

    def penalty(self):
        """The tutorial's 5e-4 (l2_loss(fc1) + l2_loss(fc2)) term, l2_loss(t) = sum(t^2) / 2, on
        weights and biases; on the end-to-end matrices (the same objective for both nets)."""
        W1, W2 = self.dense()
        return sum((t * t).sum() / 2 for t in (W1, self.fc1_b, W2, self.fc2_b))


def train_convnet(images: np.ndarray, labels: np.ndarray, overparameterized: bool, seed: int,
                  device, config: dict = CONVNET) -> dict:
    """Train the tutorial's net on ``images`` (N, 28, 28) uint8 with the tutorial's protocol.
    Logs per step the batch cross-entropy and the penalty term separately.
    Returns {"ce": (steps,), "penalty": (steps,), "params": int}."""
    torch.manual_seed(seed)
    net = ConvNet(overparameterized, config["init_std"]).to(device)
    x_all = (torch.tensor(images, dtype=torch.float32, device=device)[:, None] - 127.5) / 255.0
    y_all = torch.tensor(labels, dtype=torch.int64, device=device)
    n, b = len(y_all), config["batch"]
    opt = torch.optim.SGD(net.parameters(), lr=config["lr"], momentum=config["momentum"])
    gen = torch.Generator(device="cpu").manual_seed(seed)
    per_epoch = max(n // b, 1)  # batches per epoch; a fresh permutation every epoch
    ce_log = torch.empty(config["steps"], device=device)
    pen_log = torch.empty(config["steps"], device=device)
    for t in range(config["steps"]):
        if t % per_epoch == 0:
            order = torch.randperm(n, generator=gen)
        start = (t % per_epoch) * b
        idx = order[start:start + b].to(device)
        for g in opt.param_groups:  # staircase decay per epoch of n images
            g["lr"] = config["lr"] * config["decay"] ** ((t * b) // n)
        ce = torch.nn.functional.cross_entropy(net(x_all[idx], config["dropout"]), y_all[idx])
        pen = config["l2"] * net.penalty()
        opt.zero_grad(set_to_none=True)
        (ce + pen).backward()
        opt.step()
        ce_log[t], pen_log[t] = ce.detach(), pen.detach()
    return {"ce": ce_log.cpu().numpy(), "penalty": pen_log.cpu().numpy(),
            "params": sum(q.numel() for q in net.parameters())}


# --- mechanism experiments ------------------------------------------------------------------------
def e2e_vs_real(problem: ln.Problem, p: int, seed: int, config: dict = CONFIG,
                drop_projection: bool = False) -> dict:
    """From one end-to-end start w0 (random direction, norm ``e2e.init_norm``): real GD on
    exactly balanced width-1 nets of each depth in ``e2e.depths``, the end-to-end rule for the
    same depths, and plain GD (depth 1) on w0. Returns float64 loss curves at the recorded steps:
    {"steps", "real" (D, K), "e2e" (D, K), "gd" (K,), "depths"}."""
    c = config["e2e"]
    rng = np.random.default_rng(seed)
    w0 = rng.normal(size=problem.X.shape[1])
    w0 *= c["init_norm"] / np.linalg.norm(w0)
    depths = list(c["depths"])
    lr_e = [math.log10(c["lr"])]
    # depth 1 from w0 is plain GD; deeper nets start from balanced factors of the same w0
    real = ln.train_grid(problem, p, [seed], [1] + depths, lr_e, c["steps"], lstar=0.0,
                         config=config, init=lambda s, N: ln.balanced_factors(w0, N))
    e2e = train_e2e(problem, p, w0, depths, c["lr"], c["steps"], dtype=config["dtype"],
                    config=config, drop_projection=drop_projection)
    return {"steps": real.steps, "real": real.loss[0, 1:, 0], "e2e": e2e,
            "gd": real.loss[0, 0, 0], "depths": depths}


def hidden_width_effect(problem: ln.Problem, p: int, seeds, lr: float, steps: int,
                        config: dict = CONFIG) -> dict:
    """Depth-2 GD at widths ``config["widths"]`` (each weight N(0, init_std^2)).
    Returns {"steps", "loss" (S, W, K), "widths"}."""
    loss = train_wide(problem, p, 2, config["widths"], seeds, lr, steps, config["dtype"], config)
    return {"steps": ln.record_steps(steps, config["n_log"], config["n_linear"]), "loss": loss,
            "widths": list(config["widths"])}


MULTI = {
    # Synthetic multi-output l2 regression for the general rule (the ethanol target is a scalar):
    # n examples, d features, k outputs, Y = X A + 0.1 noise; depth-3 net of width 6.
    "n": 200, "d": 10, "k": 3, "width": 6, "depth": 3, "lr": 1e-3, "steps": 4000,
    "init_norm": 0.5, "record_every": 100,
}


def multi_output_tracking(seed: int, config: dict = MULTI) -> dict:
    """Real GD on a balanced depth-N, k-output linear net vs the general end-to-end rule
    W <- W - lr sum_j [W W^T]^{(j-1)/N} grad L [W^T W]^{(N-j)/N}, and plain GD, from the same
    end-to-end start; l2 loss 1/(2n) ||X W^T - Y||^2, float64.
    Returns {"steps", "real", "e2e", "gd"} loss curves."""
    c = config
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(c["n"], c["d"]))
    Y = X @ rng.normal(size=(c["d"], c["k"])) + 0.1 * rng.normal(size=(c["n"], c["k"]))
    We0 = rng.normal(size=(c["k"], c["d"]))
    We0 *= c["init_norm"] / np.linalg.norm(We0)
    loss = lambda W: 0.5 * np.mean(np.sum((X @ W.T - Y) ** 2, 1))  # noqa: E731
    grad = lambda W: (X @ W.T - Y).T @ X / c["n"]                  # noqa: E731
    Ws = ln.balanced_multi(We0, c["depth"], c["width"], rng)
    We, Wg = We0.copy(), We0.copy()
    steps, out = [], {"real": [], "e2e": [], "gd": []}
    for t in range(c["steps"] + 1):
        prod = Ws[0]
        for W in Ws[1:]:
            prod = W @ prod
        if t % c["record_every"] == 0:
            steps.append(t)
            for key, W in (("real", prod), ("e2e", We), ("gd", Wg)):
                out[key].append(loss(W))
        G = grad(prod)
        # real factors: grad W_j = (W_N..W_{j+1})^T G (W_{j-1}..W_1)^T
        new = []
        for j in range(len(Ws)):
            left = np.eye(c["k"])
            for W in Ws[j + 1:][::-1]:
                left = left @ W
            right = np.eye(c["d"])
            for W in Ws[:j]:
                right = W @ right
            new.append(Ws[j] - c["lr"] * left.T @ G @ right.T)
        Ws = new
        We = We - c["lr"] * ln.e2e_direction_multi(We, grad(We), c["depth"])
        Wg = Wg - c["lr"] * grad(Wg)
    return {"steps": np.array(steps), **{k: np.array(v) for k, v in out.items()}}


def claim1_check(seed: int, k: int = 4, d: int = 6, N: int = 3) -> dict:
    """Claim 1 of the paper, numerically: for W (k, d) with SVD sum_r s_r u_r v_r^T, P_W
    (G -> sum_j [WW^T]^{(j-1)/N} G [W^TW]^{(N-j)/N}) maps u_r v_{r'}^T to lambda u_r v_{r'}^T.
    Returns the largest relative error of the eigenvalue formula with the paper's exponent
    2(j-1)/N and with slide 003's 2(j-2)/N, over all pairs r, r' <= k, and the eigen-residual."""
    rng = np.random.default_rng(seed)
    W = rng.normal(size=(k, d))
    U, S, Vt = np.linalg.svd(W, full_matrices=False)
    err = {"paper": 0.0, "slide": 0.0, "eigvec_residual": 0.0}
    for r in range(k):
        for r2 in range(k):
            E = np.outer(U[:, r], Vt[r2])
            PE = ln.e2e_direction_multi(W, E, N)
            lam = float((PE * E).sum())
            err["eigvec_residual"] = max(err["eigvec_residual"],
                                         float(np.linalg.norm(PE - lam * E) / abs(lam)))
            for key, shift in (("paper", 1), ("slide", 2)):
                formula = ln.claim1_eigenvalue(S, r, r2, N, shift)
                err[key] = max(err[key], abs(formula - lam) / abs(lam))
    return err


# --- summaries ------------------------------------------------------------------------------------
def depth_ratios(grid: ln.Grid) -> dict:
    """Per seed: best final suboptimality per depth (best lr by final loss, NaN = +inf), the
    ratios depth1/depth2 and depth1/depth3, and each depth's chosen lr exponent."""
    best, arg = ln.best_over_lr(grid.final)
    sub = best - grid.lstar                                   # (S, D)
    return {"subopt": sub, "ratio2": sub[:, 0] / sub[:, 1], "ratio3": sub[:, 0] / sub[:, 2],
            "best_lr": grid.lr_exponents[arg]}


def best_curves(grid: ln.Grid) -> np.ndarray:
    """(S, D, K) loss - L* curve of each seed's and depth's best lr (by final loss)."""
    _, arg = ln.best_over_lr(grid.final)
    return np.take_along_axis(grid.subopt, arg[..., None, None], axis=2)[:, :, 0]


def ratio_over_time(grid: ln.Grid) -> dict:
    """At each recorded step t, the protocol run with horizon t (best lr by the loss at t):
    median over seeds of depth1/depth2 and depth1/depth3 suboptimality ratios."""
    L = np.where(np.isnan(grid.loss), np.inf, grid.loss)
    best = L.min(2) - grid.lstar                              # (S, D, K)
    with np.errstate(invalid="ignore", divide="ignore"):
        return {"steps": grid.steps, "ratio2": np.median(best[:, 0] / best[:, 1], 0),
                "ratio3": np.median(best[:, 0] / best[:, 2], 0)}


# --- figures --------------------------------------------------------------------------------------
DEPTH_COLORS = {1: "tab:blue", 2: "tab:orange", 3: "tab:green"}


def plot_curves(grids: dict, title: str = ""):
    """loss - L* vs step (log-log), one panel per loss (``grids`` = {"l2": ln.Grid, "l4": ln.Grid}):
    each depth at its best lr, every seed a thin line, the median seed bold."""
    from matplotlib.figure import Figure
    fig = Figure(figsize=(5.2 * len(grids), 3.8))
    axes = fig.subplots(1, len(grids), squeeze=False)[0]
    for ax, (name, g) in zip(axes, grids.items()):
        curves = best_curves(g)
        t = np.maximum(g.steps, 1)
        for j, dpt in enumerate(g.depths):
            for s in range(len(g.seeds)):
                ax.plot(t, curves[s, j], color=DEPTH_COLORS[dpt], lw=0.6, alpha=0.4)
            ax.plot(t, np.median(curves[:, j], 0), color=DEPTH_COLORS[dpt], lw=2,
                    label=f"depth {dpt}")
        ax.set(xscale="log", yscale="log", xlabel="step", ylabel="loss - L*",
               title=f"{name} ({len(g.seeds)} seeds, best lr per depth and seed)")
        ax.legend()
    if title:
        fig.suptitle(title)
    return fig


def plot_mechanism(results: dict):
    """Real balanced-init training vs the end-to-end rule vs plain GD, one panel per loss
    (``results`` = {"l2": e2e_vs_real(...), "l4": ...})."""
    from matplotlib.figure import Figure
    fig = Figure(figsize=(5.2 * len(results), 3.8))
    axes = fig.subplots(1, len(results), squeeze=False)[0]
    for ax, (name, r) in zip(axes, results.items()):
        t = np.maximum(r["steps"], 1)
        for j, dpt in enumerate(r["depths"]):
            ax.plot(t, r["real"][j], color=DEPTH_COLORS[dpt], lw=2, label=f"depth {dpt}, real")
            ax.plot(t[::8], r["e2e"][j][::8], "x", color="k", ms=4,
                    label="end-to-end rule" if j == 0 else None)
        ax.plot(t, r["gd"], color=DEPTH_COLORS[1], ls=":", lw=2, label="plain GD (depth 1)")
        ax.set(xscale="log", yscale="log", xlabel="step", ylabel="loss", title=name)
        ax.legend(fontsize=8)
    return fig


def plot_optimizers(curves: dict, steps: np.ndarray, title: str = ""):
    """loss - L* vs step for each named curve (``curves`` = {label: (K,) array})."""
    from matplotlib.figure import Figure
    fig = Figure(figsize=(6, 4))
    ax = fig.subplots()
    t = np.maximum(steps, 1)
    for label, c in curves.items():
        ax.plot(t, c, lw=1.6, label=label)
    ax.set(xscale="log", yscale="log", xlabel="step", ylabel="loss - L*", title=title)
    ax.legend(fontsize=8)
    return fig


def plot_ratio_over_time(ratios: dict, title: str = ""):
    """Median depth1/depth2 and depth1/depth3 suboptimality ratio vs horizon (``ratios`` =
    {label: ratio_over_time(...)})."""
    from matplotlib.figure import Figure
    fig = Figure(figsize=(6, 4))
    ax = fig.subplots()
    for label, r in ratios.items():
        t = np.maximum(r["steps"], 1)
        ax.plot(t, r["ratio2"], label=f"{label}: depth1/depth2")
        ax.plot(t, r["ratio3"], ls="--", label=f"{label}: depth1/depth3")
    ax.axhline(1.0, color="k", lw=0.8)
    ax.set(xscale="log", yscale="log", xlabel="horizon (steps)",
           ylabel="suboptimality ratio (median over seeds)", title=title)
    ax.legend(fontsize=8)
    return fig


def plot_convnet(logs: dict, smooth: int):
    """Moving averages of the batch cross-entropy and of the penalty term per net."""
    from matplotlib.figure import Figure
    fig = Figure(figsize=(10, 3.8))
    axes = fig.subplots(1, 2)
    k = np.ones(smooth) / smooth
    for label, log in logs.items():
        for ax, key in zip(axes, ("ce", "penalty")):
            ax.plot(np.convolve(log[key], k, mode="valid"), label=label)
    axes[0].set(yscale="log", xlabel="step", ylabel="batch cross-entropy (moving average)")
    axes[1].set(xlabel="step", ylabel="5e-4 x L2 penalty (moving average)")
    axes[0].legend()
    return fig
