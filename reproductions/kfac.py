"""K-FAC (Martens & Grosse, ICML 2015) against tuned gradient descent with momentum, on MNIST.

Sources: lecture notes 000/001 §1.1 (K-FAC approximates the inverse Fisher; its training error
falls faster against time, Figure 1, taken from [MG15] on MNIST; "it does not give good test
loss"); Martens & Grosse (2015), "Optimizing neural networks with Kronecker-factored approximate
curvature": §3 (the Fisher's layer blocks approximated by Kronecker products A (x) G of the input
second moments and the pre-activation gradients' second moments), §6.3 (factored Tikhonov
damping with pi from the factors' traces), §6.4 and §7 (the update rescaled, with momentum, by
the exact quadratic model), §6.5 (Levenberg-Marquardt adjustment of lambda).

CPU-scale reading, and how it departs from the paper:

- the network: a 784-32-10 tanh MLP classifier (``CONFIG["hidden"]``) with softmax
  cross-entropy (the notes' setting for the natural gradient: a classifier outputting
  P_theta(y|x)); MG15's MNIST run is a deep autoencoder, far beyond this machine;
- the data: the only MNIST here is the 10,000-image test set, so a class-balanced subset of it
  is the training set (100 per class), and disjoint class-balanced subsets are the validation
  and test sets; pixels / 255, centred by the training mean;
- full-batch iterations for both methods (the paper uses growing minibatches), so iterations
  and costs compare without minibatch noise;
- the factors use the exact expectation over y ~ P_theta (closed form for this network) where
  the paper samples one y per case; they are recomputed at every iteration (T3 = 1; the input
  factor of the first layer is constant in full batch, so its eigendecomposition is done once);
- gamma = sqrt(lambda) (the paper adapts gamma by a separate search), no weight decay (eta = 0)
  in either method.

The baseline, as in the paper: SGD with momentum (here full batch: heavy-ball GD, mu = 0.9,
from ``reproductions/optimizers.py``) at the best learning rate of a grid.

Cost model (the notes' Figure 1 plots training error against time): the floating-point
operations torch counts for each method's iteration (``torch.utils.flop_counter``, matrix
products), the eigendecompositions added as 10 d^3 each (the counter does not see them).
Measured wall-clock seconds are recorded beside it (machine- and load-dependent).
"""

from __future__ import annotations

import time

import numpy as np
import torch

from . import optimizers
from .data import mnist_subset

CONFIG = {
    "hidden": 32, "per_class": {"train": 100, "validation": 50, "test": 100},
    "kfac": {"iterations": 80, "lambda0": 1.0, "lm_every": 5, "omega": (19 / 20) ** 5,
             "min_lambda": 1e-8},
    # lambda0: a grid for training speed and one for the validation loss, each bracketing its
    # choice (measured: 1e-4, and 3 at this horizon); the paper's 150 was tried
    "kfac_lambda0": {"speed": (1e-5, 1e-4, 1e-3, 1e-2), "validation": (1.0, 3.0, 10.0)},
    "gd": {"iterations": 600, "momentum": 0.9,
           "lrs": (0.003, 0.01, 0.03, 0.1, 1.0, 3.0, 10.0, 30.0, 100.0)},
    "dtype": torch.float32,
}
CLASSES = 10


# --- data -----------------------------------------------------------------------------------------
def split_indices(labels: np.ndarray, per_class: dict, seed: int) -> dict:
    """Disjoint class-balanced train / validation / test index sets of the 10,000 images."""
    total = sum(per_class.values())
    pool = mnist_subset(np.zeros(len(labels)), labels, total, seed)
    rng = np.random.default_rng(seed + 1)
    out, taken = {}, {c: rng.permutation(pool[labels[pool] == c]) for c in range(CLASSES)}
    start = 0
    for name, k in per_class.items():
        out[name] = np.sort(np.concatenate([taken[c][start:start + k] for c in range(CLASSES)]))
        start += k
    return out


def mnist_problem(images: np.ndarray, labels: np.ndarray, seed: int, cfg: dict = CONFIG) -> dict:
    """Tensors of the three splits: inputs with a trailing 1 (the bias), centred by the
    training mean."""
    idx = split_indices(labels, cfg["per_class"], seed)
    X = torch.tensor(images.reshape(len(images), -1), dtype=torch.float64) / 255.0
    mean = X[idx["train"]].mean(0)
    out = {}
    for name, i in idx.items():
        x = X[i] - mean
        out[name] = (torch.cat([x, torch.ones(len(x), 1, dtype=x.dtype)], 1).to(cfg["dtype"]),
                     torch.tensor(labels[i], dtype=torch.int64))
    return out


# --- the network: 784-h-10 tanh MLP, parameters one flat vector [W1 (h x 785), W2 (10 x h+1)] ---
def shapes(d_in: int, hidden: int) -> tuple:
    return (hidden, d_in), (CLASSES, hidden + 1)


def unflatten(theta: torch.Tensor, d_in: int, hidden: int):
    """W1, W2 as views of the flat parameters (any leading batch dimensions)."""
    (h, d), (k, h1) = shapes(d_in, hidden)
    lead = theta.shape[:-1]
    return (theta[..., :h * d].reshape(*lead, h, d),
            theta[..., h * d:].reshape(*lead, k, h1))


def init_params(seed: int, d_in: int, hidden: int, dtype=torch.float32) -> torch.Tensor:
    """LeCun-normal weights (variance 1 / fan-in), zero biases."""
    g = torch.Generator().manual_seed(seed)
    parts = []
    for rows, cols in shapes(d_in, hidden):
        W = torch.randn(rows, cols, generator=g, dtype=torch.float64) / np.sqrt(cols - 1)
        W[:, -1] = 0.0
        parts.append(W.flatten())
    return torch.cat(parts).to(dtype)


def forward(theta: torch.Tensor, X: torch.Tensor, hidden: int):
    """Layer inputs a0 (with 1), a1 (with 1) and the logits s2, for params with leading dims."""
    W1, W2 = unflatten(theta, X.shape[1], hidden)
    a1 = torch.tanh(torch.einsum("nd,...hd->...nh", X, W1))
    a1 = torch.cat([a1, torch.ones(*a1.shape[:-1], 1, dtype=a1.dtype)], -1)
    return a1, torch.einsum("...nh,...kh->...nk", a1, W2)


def mean_cross_entropy(theta, X, y, hidden) -> torch.Tensor:
    """Mean cross-entropy, one value per leading index of theta."""
    logits = forward(theta, X, hidden)[1]
    return -torch.log_softmax(logits, -1).gather(-1, y.expand(*logits.shape[:-1])[..., None]
                                                 ).squeeze(-1).mean(-1)


def loss_and_grad(theta, X, y, hidden):
    theta = theta.detach().requires_grad_(True)
    loss = mean_cross_entropy(theta, X, y, hidden)
    (grad,) = torch.autograd.grad(loss.sum(), theta)
    return loss.detach(), grad


# --- K-FAC's Kronecker factors (MG15 §3), exact expectation over y ~ P_theta ----------------------
def kfac_factors(theta: torch.Tensor, X: torch.Tensor, hidden: int, with_A0: bool = True) -> dict:
    """A0 = E[a0 a0^T], G1 = E_x E_y[g1 g1^T], A1 = E[a1 a1^T], G2 = E_x E_y[g2 g2^T], where g
    are the gradients of log p(y|x) with respect to the layers' pre-activations. For softmax
    outputs E_y[g2 g2^T] = diag p - p p^T =: C, and g1 = D V^T g2 (D = diag(1 - a1^2), V = W2
    without its bias column), so G1 = E_x[D V^T C V D] = sum_k E_x[p_k (D v_k)(D v_k)^T] -
    E_x[(D V^T p)(D V^T p)^T], v_k the rows of V."""
    a1, logits = forward(theta, X, hidden)
    p = torch.softmax(logits, -1)
    V = unflatten(theta, X.shape[1], hidden)[1][:, :hidden]            # (K, h)
    D = 1 - a1[:, :hidden] ** 2                                        # (n, h)
    E = D[:, None, :] * V[None]                                        # (n, K, h): D v_k
    R = (p @ V) * D                                                    # (n, h): D V^T p
    n = len(X)
    out = {"G1": (torch.einsum("nk,nkh,nkg->hg", p, E, E) - R.T @ R) / n,
           "A1": a1.T @ a1 / n, "G2": (torch.diag(p.sum(0)) - p.T @ p) / n}
    if with_A0:  # the input's second moments: constant in full batch, computed once by run_kfac
        out["A0"] = X.T @ X / n
    return out


def damped_inverse_apply(grad_W, A_eig, G, gamma):
    """G_d^-1 grad_W A_d^-1 (= (A_d (x) G_d)^-1 vec(grad_W)) with factored Tikhonov damping
    (MG15 §6.3): A_d = A + pi gamma I, G_d = G + gamma / pi I, pi^2 = (tr A / dim A) /
    (tr G / dim G). A_eig = (eigenvalues, eigenvectors) of A."""
    lam_A, Q_A = A_eig
    lam_G, Q_G = torch.linalg.eigh(G)
    pi = torch.sqrt(lam_A.clamp_min(0).mean() / lam_G.clamp_min(0).mean().clamp_min(1e-30))
    inner = Q_G.T @ grad_W @ Q_A
    inner = inner / ((lam_G[:, None] + gamma / pi) * (lam_A[None, :] + pi * gamma))
    return Q_G @ inner @ Q_A.T


def kfac_direction(theta, grad, X, hidden, gamma, A0_eig=None) -> torch.Tensor:
    """-(K-FAC's block-diagonal damped inverse Fisher) times the gradient, flat."""
    f = kfac_factors(theta, X, hidden, with_A0=A0_eig is None)
    A0_eig = A0_eig or torch.linalg.eigh(f["A0"])
    gW1, gW2 = unflatten(grad, X.shape[1], hidden)
    d1 = damped_inverse_apply(gW1, A0_eig, f["G1"], gamma)
    d2 = damped_inverse_apply(gW2, torch.linalg.eigh(f["A1"]), f["G2"], gamma)
    return -torch.cat([d1.flatten(), d2.flatten()])


def fisher_vector_product(theta, v, X, hidden) -> torch.Tensor:
    """F v with the exact Fisher (= the Gauss-Newton matrix for softmax cross-entropy):
    (1/n) sum_i J_i^T C_i J_i v, J_i the Jacobian of the logits, in closed form for this net:
    J v = a1 V2^T + (D (X V1^T)) W2'^T, then back through the same Jacobian transposed."""
    d_in = X.shape[1]
    W1, W2 = unflatten(theta, d_in, hidden)
    V1, V2 = unflatten(v, d_in, hidden)
    a1 = torch.tanh(X @ W1.T)
    D = 1 - a1 ** 2
    a1 = torch.cat([a1, torch.ones(len(X), 1, dtype=a1.dtype)], 1)
    p = torch.softmax(a1 @ W2.T, -1)
    Jv = a1 @ V2.T + (D * (X @ V1.T)) @ W2[:, :hidden].T               # (n, K)
    w = (p * Jv - p * (p * Jv).sum(-1, keepdim=True)) / len(X)         # C Jv / n
    back = (w @ W2[:, :hidden]) * D                                    # to the pre-activations
    return torch.cat([(back.T @ X).flatten(), (w.T @ a1).flatten()])


def rescaled_update(theta, grad, proposal, previous, X, hidden, lam):
    """MG15 §7: delta = alpha proposal + mu previous, (alpha, mu) minimizing the quadratic model
    M(delta) = 1/2 delta^T (F + lam I) delta + grad^T delta; returns delta and the model's
    change with the undamped F (for the reduction ratio, §6.5)."""
    vecs = [proposal] if previous is None else [proposal, previous]
    Fv = [fisher_vector_product(theta, v, X, hidden) for v in vecs]
    M = torch.tensor([[float(a @ Fb + lam * a @ b) for b, Fb in zip(vecs, Fv)] for a in vecs],
                     dtype=torch.float64)
    rhs = -torch.tensor([float(grad @ v) for v in vecs], dtype=torch.float64)
    if not (torch.isfinite(M).all() and torch.isfinite(rhs).all()):
        return None, 0.0  # float32 overflow at a near-zero loss: the caller rejects the step
    coef = (torch.linalg.pinv(M) @ rhs).to(theta.dtype)  # pinv: collinear directions
    delta = sum(c * v for c, v in zip(coef, vecs))
    Fdelta = sum(c * Fb for c, Fb in zip(coef, Fv))
    return delta, float(0.5 * delta @ Fdelta + grad @ delta)


# --- the two training runs ------------------------------------------------------------------------
def evaluate(theta, data: dict, hidden: int) -> dict:
    return {name: mean_cross_entropy(theta, X, y, hidden).detach()
            for name, (X, y) in data.items() if name != "train"}


def run_kfac(theta0, data, hidden, cfg=CONFIG["kfac"]) -> dict:
    """K-FAC with factored Tikhonov damping, the quadratic-model rescaling with momentum and the
    Levenberg-Marquardt adjustment of lambda (every ``lm_every`` iterations). Returns per
    iteration the training loss (before the step), validation and test losses, lambda, and the
    measured seconds of the algorithm's own work (evaluation excluded) up to that iteration."""
    X, y = data["train"]
    clock = time.perf_counter()
    A0_eig = torch.linalg.eigh(kfac_factors(theta0, X, hidden)["A0"])  # constant in full batch
    theta, previous, lam, spent = theta0.clone(), None, cfg["lambda0"], 0.0
    curves = {"train": [], "validation": [], "test": [], "lambda": [], "seconds": []}
    for k in range(cfg["iterations"]):
        loss, grad = loss_and_grad(theta, X, y, hidden)
        spent += time.perf_counter() - clock
        record(curves, loss, evaluate(theta, data, hidden), spent)
        curves["lambda"].append(lam)
        clock = time.perf_counter()
        proposal = kfac_direction(theta, grad, X, hidden, np.sqrt(lam), A0_eig)
        delta, model_change = rescaled_update(theta, grad, proposal, previous, X, hidden, lam)
        if delta is None:  # rejected, as Levenberg-Marquardt rejects a step: more damping
            previous, lam = None, lam / cfg["omega"]
            continue
        if (k + 1) % cfg["lm_every"] == 0:
            new_loss = float(mean_cross_entropy(theta + delta, X, y, hidden))
            rho = (new_loss - float(loss)) / model_change if model_change < 0 else 0.0
            lam = levenberg_marquardt(lam, rho, cfg)
        theta, previous = theta + delta, delta
    loss = mean_cross_entropy(theta, X, y, hidden).detach()
    record(curves, loss, evaluate(theta, data, hidden), spent + time.perf_counter() - clock)
    return {k: np.array(v) for k, v in curves.items()}


def levenberg_marquardt(lam, rho, cfg):
    """MG15 §6.5: shrink lambda when the model predicted the change well, grow it when not."""
    if rho > 0.75:
        lam *= cfg["omega"]
    elif rho < 0.25:
        lam /= cfg["omega"]
    return max(lam, cfg["min_lambda"])


def record(curves, train_loss, held_out, seconds):
    curves["train"].append(float(train_loss))
    for name, v in held_out.items():
        curves[name].append(float(v))
    curves["seconds"].append(seconds)


def run_gd(theta0, data, hidden, cfg=CONFIG["gd"]) -> dict:
    """Full-batch heavy-ball GD at every learning rate of the grid at once (a leading grid
    dimension): per iteration the training, validation and test losses, (lrs, T + 1)."""
    X, y = data["train"]
    lrs = torch.tensor(cfg["lrs"], dtype=theta0.dtype)[:, None]
    theta = theta0.expand(len(lrs), -1).clone()
    opt = optimizers.sgd(lambda t: lrs, momentum=cfg["momentum"])
    state = opt.init(theta)
    curves = {"train": [], "validation": [], "test": []}
    for _ in range(cfg["iterations"]):
        loss, grad = loss_and_grad(theta, X, y, hidden)
        for name, v in (("train", loss), *evaluate(theta, data, hidden).items()):
            curves[name].append(v.numpy().astype(float))
        update, state = opt.update(grad, state)
        theta = theta + update
    for name, v in (("train", mean_cross_entropy(theta, X, y, hidden).detach()),
                    *evaluate(theta, data, hidden).items()):
        curves[name].append(v.numpy().astype(float))
    return {k: np.stack(v, -1) for k, v in curves.items()}


def gd_seconds_per_iteration(theta0, data, hidden, lr, iterations=20, momentum=0.9) -> float:
    """Measured seconds per iteration of one GD run (one learning rate, no evaluation): the
    time the batched grid run cannot give."""
    X, y = data["train"]
    opt, theta = optimizers.sgd(lr, momentum=momentum), theta0.clone()
    state, start = opt.init(theta), time.perf_counter()
    for _ in range(iterations):
        update, state = opt.update(loss_and_grad(theta, X, y, hidden)[1], state)
        theta = theta + update
    return (time.perf_counter() - start) / iterations


# --- the cost model ------------------------------------------------------------------------------
def counted_flops(theta0, data: dict, hidden: int, lm_every: int) -> dict:
    """Floating-point operations per iteration as torch counts them
    (``torch.utils.flop_counter.FlopCounterMode``: the matrix products) for one GD iteration
    (loss and gradient; the momentum update is element-wise) and one K-FAC iteration (the same,
    the factors, the preconditioning, two Fisher-vector products and the rescaling, and a
    forward pass every ``lm_every`` iterations), plus K-FAC's one-off input factor. The
    eigendecompositions, which the counter does not see, are added as 10 d^3 each."""
    from torch.utils.flop_counter import FlopCounterMode
    X, y = data["train"]

    def count(fn) -> float:
        with FlopCounterMode(display=False) as counter:
            fn()
        return float(counter.get_total_flops())
    grad = loss_and_grad(theta0, X, y, hidden)[1]
    A0_eig = torch.linalg.eigh(kfac_factors(theta0, X, hidden)["A0"])
    gd = count(lambda: loss_and_grad(theta0, X, y, hidden))
    step = count(lambda: rescaled_update(theta0, grad, kfac_direction(
        theta0, grad, X, hidden, 1.0, A0_eig), grad, X, hidden, 1.0))
    trial = count(lambda: mean_cross_entropy(theta0, X, y, hidden))
    input_factor = count(lambda: kfac_factors(theta0, X, hidden)) - count(
        lambda: kfac_factors(theta0, X, hidden, with_A0=False))
    eig = 10.0 * (hidden ** 3 + (hidden + 1) ** 3 + CLASSES ** 3)
    return {"gd": gd, "kfac": gd + step + trial / lm_every + eig,
            "kfac_once": input_factor + 10.0 * X.shape[1] ** 3}


# --- the experiment -------------------------------------------------------------------------------
def kfac_vs_gd(images: np.ndarray, labels: np.ndarray, seed: int, cfg: dict = CONFIG) -> dict:
    """One seed (data split and initialization): K-FAC at each lambda0 of both grids and GD with
    momentum at each learning rate of its grid, from the same start; per-iteration training,
    validation and test losses and measured seconds."""
    data = mnist_problem(images, labels, seed, cfg)
    d_in, hidden = data["train"][0].shape[1], cfg["hidden"]
    theta0 = init_params(seed, d_in, hidden, cfg["dtype"])
    lambdas = cfg["kfac_lambda0"]["speed"] + cfg["kfac_lambda0"]["validation"]
    kfac = {lam: run_kfac(theta0, data, hidden, dict(cfg["kfac"], lambda0=lam))
            for lam in lambdas}
    return {"kfac": kfac, "gd": run_gd(theta0, data, hidden, cfg["gd"]),
            "gd_seconds": gd_seconds_per_iteration(theta0, data, hidden, 1.0),
            "flops": counted_flops(theta0, data, hidden, cfg["kfac"]["lm_every"])}


# --- the kernels against autograd, on a tiny net in float64 ---------------------------------------
def exact_fisher(theta, X, hidden) -> torch.Tensor:
    """The exact Fisher E_x sum_k p_k grad log p_k grad log p_k^T, the gradients of every example
    and class by autograd (torch.func.jacrev): (P, P)."""
    def log_probs(t, x):
        return torch.log_softmax(forward(t, x[None], hidden)[1][0], -1)
    J = torch.stack([torch.func.jacrev(log_probs)(theta, x) for x in X])      # (n, K, P)
    p = torch.softmax(forward(theta, X, hidden)[1], -1)
    return torch.einsum("nk,nki,nkj->ij", p, J, J) / len(X)


def exact_output_factors(theta, X, hidden) -> dict:
    """G1 and G2 by autograd: the gradients of log p_k with respect to each layer's
    pre-activations, their outer products averaged over k ~ p and the examples."""
    W1, W2 = unflatten(theta, X.shape[1], hidden)
    G1, G2 = 0, 0
    for x in X:
        s1 = (W1 @ x).requires_grad_(True)
        a1 = torch.cat([torch.tanh(s1), torch.ones(1, dtype=x.dtype)])
        s2 = (W2 @ a1).detach().requires_grad_(True)
        logp1 = torch.log_softmax(W2 @ a1, -1)
        logp2 = torch.log_softmax(s2, -1)
        p = logp2.exp().detach()
        for k in range(CLASSES):
            g1 = torch.autograd.grad(logp1[k], s1, retain_graph=True)[0]
            g2 = torch.autograd.grad(logp2[k], s2, retain_graph=True)[0]
            G1 = G1 + p[k] * torch.outer(g1, g1)
            G2 = G2 + p[k] * torch.outer(g2, g2)
    return {"G1": G1 / len(X), "G2": G2 / len(X)}


def tiny_problem(seed: int, n: int, d_in: int = 6, hidden: int = 4):
    """Gaussian inputs with a trailing 1 and LeCun-normal float64 parameters (random biases)."""
    g = torch.Generator().manual_seed(seed)
    X = torch.cat([torch.randn(n, d_in - 1, generator=g, dtype=torch.float64),
                   torch.ones(n, 1, dtype=torch.float64)], 1)
    theta = init_params(seed, d_in, hidden, torch.float64)
    theta = theta + 0.3 * torch.randn(theta.shape, generator=g, dtype=torch.float64)
    return X, theta, hidden


def kernel_errors(seed: int, n: int = 8) -> dict:
    """Relative errors of K-FAC's hand-written pieces against autograd or explicit algebra:
    the Kronecker blocks G (x) A against the exact Fisher's diagonal blocks for one example
    (where they are equal: the input does not depend on y); G1, G2 for n examples; the
    closed-form Fisher-vector product; the factored-damping inverse against an explicit
    Kronecker solve; the rescaled update's stationarity on its two-dimensional subspace. Also
    the Kronecker approximation's own error for n examples (not zero: what K-FAC gives up)."""
    rel = lambda a, b: float((a - b).norm() / b.norm())  # noqa: E731
    X, theta, h = tiny_problem(seed, n)
    d_in, n1 = X.shape[1], h * X.shape[1]
    out = {}
    for name, rows in (("one_example", X[:1]), ("n_examples", X)):
        F, f = exact_fisher(theta, rows, h), kfac_factors(theta, rows, h)
        blocks = (torch.kron(f["G1"], f["A0"]), torch.kron(f["G2"], f["A1"]))
        out[f"kron_vs_fisher_{name}"] = max(rel(blocks[0], F[:n1, :n1]),
                                            rel(blocks[1], F[n1:, n1:]))
    y = torch.arange(n) % CLASSES
    out["mean_cross_entropy"] = abs(float(mean_cross_entropy(theta, X, y, h)) - float(
        torch.nn.functional.cross_entropy(forward(theta, X, h)[1], y))) / float(
        torch.nn.functional.cross_entropy(forward(theta, X, h)[1], y))
    f, exact = kfac_factors(theta, X, h), exact_output_factors(theta, X, h)
    out["G_factors"] = max(rel(f["G1"], exact["G1"]), rel(f["G2"], exact["G2"]))
    v = torch.randn(theta.shape, generator=torch.Generator().manual_seed(seed + 1),
                    dtype=torch.float64)
    F = exact_fisher(theta, X, h)
    out["fisher_vector_product"] = rel(fisher_vector_product(theta, v, X, h), F @ v)
    out["damped_inverse"] = damped_inverse_error(f["G1"], f["A0"], v[:n1].view(h, d_in), 0.3)
    out.update(rescaling_errors(theta, X, h, F, v))
    return out


def damped_inverse_error(G, A, grad_W, gamma) -> float:
    """damped_inverse_apply against the explicit solve with kron(G + gamma / pi I,
    A + pi gamma I), pi from the traces (row-major vec: kron(G, A))."""
    pi = torch.sqrt((torch.trace(A) / len(A)) / (torch.trace(G) / len(G)))
    M = torch.kron(G + gamma / pi * torch.eye(len(G), dtype=G.dtype),
                   A + pi * gamma * torch.eye(len(A), dtype=A.dtype))
    explicit = torch.linalg.solve(M, grad_W.flatten())
    got = damped_inverse_apply(grad_W, torch.linalg.eigh(A), G, gamma).flatten()
    return float((got - explicit).norm() / explicit.norm())


def rescaling_errors(theta, X, hidden, F, v) -> dict:
    """The rescaled update delta = alpha proposal + mu previous minimizes the damped model on
    their span: its residual (F + lam I) delta + g is orthogonal to both; and the model change
    it returns equals 1/2 delta^T F delta + g^T delta with the exact F."""
    lam = 0.1
    g = torch.randn(theta.shape, generator=torch.Generator().manual_seed(3), dtype=theta.dtype)
    proposal = kfac_direction(theta, g, X, hidden, np.sqrt(lam))
    delta, change = rescaled_update(theta, g, proposal, v, X, hidden, lam)
    r = F @ delta + lam * delta + g
    orthogonality = [abs(float(r @ u)) / float(g.norm() * u.norm()) for u in (proposal, v)]
    return {"rescaling_stationarity": max(orthogonality),
            "rescaling_model_change": abs(change - float(0.5 * delta @ F @ delta + g @ delta))
            / abs(change)}


# --- summaries of one seed's runs (the tests check them) ------------------------------------------
def _grid(run) -> tuple[list, np.ndarray, list, np.ndarray]:
    """(K-FAC lambda0s, their training curves (configs, T_K + 1), GD lrs, GD curves)."""
    lams = sorted(run["kfac"])
    return (lams, np.stack([run["kfac"][lam]["train"] for lam in lams]),
            list(CONFIG["gd"]["lrs"]), run["gd"]["train"])


def interior(choice, grid) -> bool:
    """Whether ``choice`` is in ``grid`` and not at either end of it."""
    grid = sorted(grid)
    return choice in grid and 0 < grid.index(choice) < len(grid) - 1


def matched_end(run) -> int:
    """The last K-FAC iteration whose cost GD's run covers (at most K-FAC's whole run)."""
    per_it, once = cost_in_gd_iterations(run)
    gd_iterations = run["gd"]["train"].shape[1] - 1
    return int(min(len(run["kfac"][min(run["kfac"])]["train"]) - 1,
                   np.floor((gd_iterations - once) / per_it)))


def matched_cost_lr(run, kfac_iteration: int) -> float:
    """GD's best learning rate at the cost of ``kfac_iteration`` K-FAC iterations."""
    j = at_matched_cost(run, kfac_iteration)["gd_iteration"]
    return CONFIG["gd"]["lrs"][int(np.nanargmin(run["gd"]["train"][:, j]))]


def per_iteration(run, iteration: int) -> dict:
    """Each method's lowest training loss after ``iteration`` iterations over its grid, and the
    hyperparameter that gave it."""
    lams, K, lrs, G = _grid(run)
    k, g = int(np.nanargmin(K[:, iteration])), int(np.nanargmin(G[:, iteration]))
    return {"kfac": float(K[k, iteration]), "gd": float(G[g, iteration]),
            "kfac_lambda0": lams[k], "gd_lr": lrs[g]}


def cost_in_gd_iterations(run) -> tuple[float, float]:
    """K-FAC's cost per iteration and its one-off cost (the first layer's input factor and its
    eigendecomposition), in GD iterations, by the flop model."""
    f = run["flops"]
    return f["kfac"] / f["gd"], f["kfac_once"] / f["gd"]


def cost_to_reach(run, target: float) -> dict:
    """The cost, in GD iterations, of each method to first bring the training loss to
    ``target`` at its best hyperparameter (inf if it never does within its run)."""
    lams, K, lrs, G = _grid(run)
    per_it, once = cost_in_gd_iterations(run)

    def first(curves):
        hits = [np.flatnonzero(c <= target) for c in curves]
        return [float(h[0]) if len(h) else np.inf for h in hits]
    return {"kfac": min(once + per_it * k for k in first(K)), "gd": min(first(G))}


def at_matched_cost(run, kfac_iteration: int) -> dict:
    """K-FAC's lowest training loss after ``kfac_iteration`` iterations and GD's lowest after the
    same cost (flop model), each over its grid."""
    lams, K, lrs, G = _grid(run)
    per_it, once = cost_in_gd_iterations(run)
    j = int(np.floor(once + per_it * kfac_iteration))
    if j >= G.shape[1]:
        return {"kfac": float(np.nanmin(K[:, kfac_iteration])), "gd": np.nan, "gd_iteration": j}
    return {"kfac": float(np.nanmin(K[:, kfac_iteration])), "gd": float(np.nanmin(G[:, j])),
            "gd_iteration": j}


def measured_seconds_ratio(run) -> float:
    """Measured seconds per K-FAC iteration (its own work, the one-off cost spread over the run)
    over measured seconds per GD iteration (one learning rate, same machine, same process)."""
    per_kfac = np.mean([r["seconds"][-1] / (len(r["seconds"]) - 1) for r in run["kfac"].values()])
    return float(per_kfac / run["gd_seconds"])


def early_stopped(curves: dict, rows=None) -> dict:
    """The configuration and iteration with the lowest validation loss (over ``rows`` of a
    grid), and the test and training losses there."""
    val = np.atleast_2d(curves["validation"])
    rows = range(len(val)) if rows is None else rows
    best = min(((r, int(np.nanargmin(val[r]))) for r in rows), key=lambda ri: val[ri])
    get = lambda name: float(np.atleast_2d(curves[name])[best])  # noqa: E731
    return {"row": best[0], "iteration": best[1], "test": get("test"), "train": get("train"),
            "validation": get("validation"), "last": best[1] == val.shape[1] - 1}


def test_losses(run) -> dict:
    """Each run early-stopped at its lowest validation loss, the test loss there: K-FAC at the
    lambda0 of its fastest training after 10 iterations (the notes' Figure 1 configuration) and
    at each lambda0 of its validation grid; GD at the learning rate with the lowest validation
    loss (the standard a good test loss is measured by) and at its fastest learning rate."""
    fastest = per_iteration(run, 10)
    gd = early_stopped(run["gd"])
    gd_fast = early_stopped(run["gd"], rows=[CONFIG["gd"]["lrs"].index(fastest["gd_lr"])])
    return {"kfac_fast": early_stopped(run["kfac"][fastest["kfac_lambda0"]]),
            "kfac_fast_lambda0": fastest["kfac_lambda0"],
            "kfac_damped": {lam: early_stopped(run["kfac"][lam])
                            for lam in CONFIG["kfac_lambda0"]["validation"]},
            "gd": gd, "gd_lr": CONFIG["gd"]["lrs"][gd["row"]], "gd_fast": gd_fast}
