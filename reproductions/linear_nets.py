"""Linear networks on l_p regression: the kit of the depth claims (Arora, Cohen & Hazan, ICML 2018).

- the problem: a standardized regression (X, y), its loss L_p(w) = (1/p) mean |x . w - y|^p, its
  optimum (least squares for l2, damped Newton for l4) and the gradient g(w) at many columns;
- width-1 nets W_1 in R^{1 x d} times scalars a_2 .. a_N: their initialization, the hand-derived
  gradient of every factor, exactly balanced factors, and ``train_grid``, which trains every
  (seed, depth, lr) as the columns of one parameter matrix through a shared optimizer;
- nets of any width: the gradient of every factor of W_N ... W_1, balanced factors of a rank-k
  end-to-end matrix;
- the end-to-end update rule (Theorem 1, eq. (13) for one output), its preconditioner's
  eigenvalues (Claim 1) and the matrix powers it needs.

Every hand-written gradient here is checked against autograd by the claims that use it.
"""

from __future__ import annotations

import itertools
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from . import optimizers as optim
from .data import load_gas_ethanol_batches, load_gas_ethanol_csv, standardize


# --- the l_p regression problem -----------------------------------------------------------------
@dataclass(frozen=True)
class Problem:
    """A standardized regression problem: X (m, d), y (m,), float64; ``summary`` names the rows."""
    X: np.ndarray
    y: np.ndarray
    summary: str

    @property
    def m(self) -> int:
        return len(self.y)


def load_problem(data_dir: str | Path, source: str = "csv") -> Problem:
    """The z-scored ethanol regression: ``"csv"`` (all 2565 rows, the paper's set) or
    ``"batches"`` (the 1316 exact rows of the UCI batch files present). Raises DataUnavailable."""
    data = (load_gas_ethanol_csv if source == "csv" else load_gas_ethanol_batches)(data_dir)
    X, y = standardize(data.X, data.y)
    return Problem(X, y, data.summary)


def loss_np(problem: Problem, w: np.ndarray, p: int) -> np.ndarray:
    """L_p at the columns of ``w`` (d, C) or at one vector (d,), in float64."""
    r = problem.X @ w - (problem.y[:, None] if w.ndim == 2 else problem.y)
    return np.mean(np.abs(r) ** p, axis=0) / p


def solve_l2(problem: Problem) -> tuple[np.ndarray, float]:
    """(w*, L*) of l2 by least squares (SVD-based, float64)."""
    w = np.linalg.lstsq(problem.X, problem.y, rcond=None)[0]
    return w, float(loss_np(problem, w, 2))


def solve_l4(problem: Problem, tol: float = 1e-16,
             max_iter: int = 100) -> tuple[np.ndarray, float, dict]:
    """(w*, L*, info) of l4 by damped Newton from the least-squares solution, run until the
    Newton decrement^2 / 2 (an upper estimate of L - L* near the optimum) is below ``tol``.

    l4 is smooth and convex, its Hessian 3 X^T diag(r^2) X / m is positive definite unless the
    residual vanishes, so Newton converges quadratically once close."""
    X, y, m = problem.X, problem.y, problem.m
    f = lambda w: float(np.mean((X @ w - y) ** 4) / 4)  # noqa: E731
    w = solve_l2(problem)[0]
    dec = math.inf
    for it in range(1, max_iter + 1):
        r = X @ w - y
        g = X.T @ r**3 / m
        H = 3 * (X.T * r**2) @ X / m
        d = np.linalg.solve(H, g)
        dec = float(g @ d) / 2
        if dec < tol:
            break
        step, f0 = 1.0, f(w)
        while f(w - step * d) > f0 - 0.25 * step * 2 * dec and step > 1e-12:
            step /= 2
        w = w - step * d
    return w, f(w), {"iterations": it, "newton_decrement": dec,
                     "grad_norm": float(np.linalg.norm(X.T @ (X @ w - y) ** 3 / m))}


def optimum(problem: Problem, p: int) -> float:
    return solve_l2(problem)[1] if p == 2 else solve_l4(problem)[1]


def grad_fn(problem: Problem, p: int, dtype: torch.dtype):
    """g(w) = grad_w L_p at the columns of w (d, C): for l2 from X^T X / m and X^T y / m alone,
    for l4 one GEMM pair X^T (X w - y)^3 / m."""
    X = torch.tensor(problem.X, dtype=dtype)
    y = torch.tensor(problem.y, dtype=dtype)[:, None]
    m = problem.m
    if p == 2:
        S = X.T @ X / m
        b = X.T @ y / m
        return lambda w: torch.addmm(-b, S, w)
    if p == 4:
        Xt = (X.T / m).contiguous()
        Xm, yt, Xt1 = X / m, y.T.contiguous(), X.T.contiguous()

        def g4(w):
            if w.shape[1] < 16:  # few columns: the row layout (C, m) is several times faster
                r = torch.addmm(-yt, w.T, Xt1)
                return (r.pow_(3) @ Xm).T
            r = torch.addmm(-y, X, w)
            return Xt @ r.pow_(3)
        return g4
    raise ValueError("p must be 2 or 4")


# --- width-1 nets, all configurations as columns ------------------------------------------------
def init_factors(seed: int, d: int, max_depth: int, std: float) -> np.ndarray:
    """One seed's draw: W_1 (d,) then the scalars a_2 .. a_{max_depth}, all N(0, std^2), float64.
    A depth-N net uses W_1 and the first N - 1 scalars of the same draw."""
    rng = np.random.default_rng(seed)
    return rng.normal(0.0, std, size=d + max_depth - 1)


def factor_grads(P: Tensor, G_of_w, d: int,
                 trainable: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """Hand-derived gradients of every factor of a width-1 linear net, batched over columns.

    ``P`` (d + K, C): rows 0..d-1 are W_1, rows d.. the scalars a_2 .. a_{K+1}. ``trainable``
    (K, C), 1 where a scalar belongs to the column's net and 0 where the column's depth is smaller
    (that factor is frozen at 1: its gradient is zeroed, so every optimizer leaves it there).
    With s = prod_k a_k and w = s W_1, g = grad_w L = G_of_w(w): grad W_1 = s g and
    grad a_k = (prod_{j != k} a_j) (W_1 . g). Returns (grads, w)."""
    U, A = P[:d], P[d:]
    s = A.prod(0, keepdim=True) if len(A) else torch.ones_like(P[:1])
    w = U * s
    g = G_of_w(w)
    ug = (U * g).sum(0, keepdim=True)
    rows = [g * s]
    for k in range(len(A)):
        others = torch.cat([A[:k], A[k + 1:]]).prod(0, keepdim=True)
        rows.append(others * ug if trainable is None else others * ug * trainable[k:k + 1])
    return torch.cat(rows), w


def balanced_factors(w0: np.ndarray, depth: int) -> np.ndarray:
    """Width-1 factors whose product is w0 and which are exactly balanced
    (W_{j+1}^T W_{j+1} = W_j W_j^T): W_1 = w0 / ||w0||^{1 - 1/N}, a_k = ||w0||^{1/N}."""
    n = np.linalg.norm(w0)
    if depth == 1:
        return np.asarray(w0, dtype=np.float64).copy()
    return np.concatenate([w0 / n ** (1 - 1 / depth), np.full(depth - 1, n ** (1 / depth))])


def make_optimizer(name, lr) -> optim.Optimizer:
    """The shared optimizers; ``lr`` may be a (1, C) tensor (one learning rate per column).
    ``name`` may also be a module-level function ``lr -> Optimizer`` (another set of constants,
    e.g. Keras' in ``slides003_experiments``)."""
    if callable(name):
        return name(lr)
    if name == "gd":
        return optim.sgd(lr)
    if name == "adagrad":
        return optim.adagrad(lr)
    if name == "adadelta":
        return optim.adadelta(lr)  # rho 0.9, eps 1e-6 (Zeiler's defaults, torch's)
    if name == "adam":
        return optim.adam(lr)      # betas (0.9, 0.999), eps 1e-8 (Kingma & Ba's, torch's)
    raise ValueError(f"unknown optimizer {name!r}")


def record_steps(steps: int, n_log: int, n_linear: int) -> np.ndarray:
    """0, log-spaced steps from 1, and T/n_linear, 2T/n_linear, ..., T."""
    logs = np.unique(np.round(np.logspace(0, math.log10(max(steps, 1)), n_log)).astype(int))
    lin = np.round(np.linspace(steps / n_linear, steps, n_linear)).astype(int)
    return np.unique(np.concatenate([[0], logs, lin, [steps]]))


@dataclass
class Grid:
    """Losses of every configuration (seed x depth x lr) at the recorded steps."""
    p: int
    optimizer: str
    seeds: list[int]
    depths: list[int]
    lr_exponents: np.ndarray      # (L,)
    steps: np.ndarray             # (K,) recorded steps
    loss: np.ndarray              # (S, D, L, K) float64, +inf after divergence
    w: np.ndarray                 # (S, D, L, d) final end-to-end vectors (NaN if diverged)
    lstar: float
    seconds: float = 0.0
    config_steps: int = 0         # sum over configurations of the steps they ran

    @property
    def final(self) -> np.ndarray:          # (S, D, L)
        return self.loss[..., -1]

    @property
    def subopt(self) -> np.ndarray:         # (S, D, L, K)
        return self.loss - self.lstar


def lr_grid(p: int, base, config: dict) -> tuple:
    """The lr exponents for loss l_p: ``base``, and for l2 also ``config["l2_extra_exponents"]``
    (l2 is stable at larger rates), sorted, each once."""
    extra = config["l2_extra_exponents"] if p == 2 else ()
    return tuple(float(e) for e in np.unique(np.r_[base, extra]))


def train_grid(problem: Problem, p: int, seeds, depths, lr_exponents, steps: int, *,
               config: dict, optimizer="gd", dtype=torch.float32, lstar: float | None = None,
               init=None) -> Grid:
    """Train every (seed, depth, lr) of a width-1 linear net at once, full batch, ``steps`` steps.

    All configurations are columns of one parameter matrix and advance through one call of the
    shared optimizer per step; ``init(seed, depth)`` gives a net's d + depth - 1 factors
    (default: the first d + depth - 1 entries of ``init_factors(seed, ...)``).
    Losses are evaluated in float64 at ``record_steps(steps)``. The default lr grid is
    ``config["lr_exponents"]``, extended by ``config["l2_extra_exponents"]`` for l2; a grid is
    used sorted, so its first and last exponents are its ends. ``config`` holds the protocol's
    knobs: ``init_std``, ``n_log`` and ``n_linear`` (the recorded steps), ``diverged`` (a loss
    above it times L(0) counts as +inf), and, for ``lr_exponents=None``, ``lr_exponents`` and
    ``l2_extra_exponents``."""
    t0 = time.perf_counter()
    seeds, depths = list(seeds), list(depths)
    if lr_exponents is None:
        lr_exponents = lr_grid(p, config["lr_exponents"], config)
    lr_exponents = np.unique(np.asarray(lr_exponents, dtype=np.float64))
    d, K = problem.X.shape[1], max(depths) - 1
    combos = list(itertools.product(range(len(seeds)), range(len(depths)),
                                    range(len(lr_exponents))))
    C = len(combos)
    P0 = np.ones((d + K, C))  # unused factors of a shallower net: frozen at 1
    for c, (i, j, _) in enumerate(combos):
        draw = (init(seeds[i], depths[j]) if init is not None else
                init_factors(seeds[i], d, max(depths), config["init_std"]))
        P0[: d + depths[j] - 1, c] = draw[: d + depths[j] - 1]
    mask0 = np.array([[1.0 if k < depths[j] - 1 else 0.0 for (_, j, _) in combos]
                      for k in range(K)]).reshape(K, C)
    lr_all = np.array([10.0 ** lr_exponents[k] for _, _, k in combos])
    rec = record_steps(steps, config["n_log"], config["n_linear"])
    loss = np.full((C, len(rec)), np.inf)
    w_final = np.full((C, d), np.nan)
    X64 = torch.tensor(problem.X)
    y64 = torch.tensor(problem.y)[:, None]
    L0 = float(np.mean(np.abs(problem.y) ** p) / p)
    g_of_w = grad_fn(problem, p, dtype)

    P = torch.tensor(P0, dtype=dtype)
    active = np.arange(C)
    lr = torch.tensor(lr_all, dtype=dtype)[None, :]
    mask = torch.tensor(mask0, dtype=dtype)
    opt = make_optimizer(optimizer, lr)
    state = opt.init(P)
    config_steps, t, r_i = 0, 0, 0

    def evaluate(P):
        s = P[d:].prod(0, keepdim=True) if K else 1.0
        w = (P[:d] * s).to(torch.float64)
        r = torch.addmm(-y64, X64, w)
        return (r.abs() ** p).mean(0).numpy() / p, w.T.numpy()

    while True:
        if t == rec[r_i]:
            L, w = evaluate(P)
            loss[active, r_i] = L
            w_final[active] = w
            keep = np.isfinite(L) & (L <= config["diverged"] * L0)
            if not keep.all():
                w_final[active[~keep]] = np.nan
                loss[active[~keep], r_i] = np.inf
                idx = torch.from_numpy(np.flatnonzero(keep))
                active = active[keep]
                P, lr, mask = P[:, idx], lr[:, idx], mask[:, idx]
                state = state._replace(**{f: v[:, idx] for f, v in state._asdict().items()
                                          if isinstance(v, Tensor)})
                opt = make_optimizer(optimizer, lr)
            r_i += 1
            if r_i == len(rec) or len(active) == 0:
                break
        grads, _ = factor_grads(P, g_of_w, d, mask)
        updates, state = opt.update(grads, state)
        P = P + updates
        t += 1
        config_steps += len(active)
    S, D, Lr = len(seeds), len(depths), len(lr_exponents)
    return Grid(p, getattr(optimizer, "__name__", optimizer), seeds, depths, lr_exponents, rec,
                loss.reshape(S, D, Lr, -1), w_final.reshape(S, D, Lr, d),
                optimum(problem, p) if lstar is None else lstar,
                time.perf_counter() - t0, config_steps)


def best_over_lr(final: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(best final loss, index of the best lr) over the last axis; NaN counts as +inf."""
    f = np.where(np.isnan(final), np.inf, final)
    return f.min(-1), f.argmin(-1)


def time_to_reach(grid: Grid, target: np.ndarray, s: int, j: int, k: int) -> float:
    """First recorded step at which config (seed s, depth j, lr k) has loss <= target, as a
    fraction of the horizon (inf if never)."""
    hit = np.flatnonzero(grid.loss[s, j, k] <= target)
    return grid.steps[hit[0]] / grid.steps[-1] if len(hit) else math.inf


# --- nets of any width ----------------------------------------------------------------------------
def wide_factor_grads(Ws: list[Tensor], g: Tensor) -> list[Tensor]:
    """Gradients of L(W_N ... W_1) w.r.t. each factor, batched over a leading axis C.
    Ws[0] (C, h, d), Ws[j] (C, h, h), Ws[-1] (C, 1, h); g = grad_w L (C, 1, d):
    grad W_j = (W_N ... W_{j+1})^T g (W_{j-1} ... W_1)^T."""
    prefix = [None]                                    # prefix[j] = W_j ... W_1
    for W in Ws:
        prefix.append(W if prefix[-1] is None else W @ prefix[-1])
    grads, suffix = [None] * len(Ws), None             # suffix = W_N ... W_{j+1}
    for j in range(len(Ws) - 1, -1, -1):
        left = g if suffix is None else suffix.transpose(1, 2) @ g
        grads[j] = left if j == 0 else left @ prefix[j].transpose(1, 2)
        suffix = Ws[j] if suffix is None else suffix @ Ws[j]
    return grads


def balanced_multi(We: np.ndarray, depth: int, width: int, rng) -> list[np.ndarray]:
    """Factors W_1 (h, d), W_j (h, h), W_N (k, h) of a rank-k end-to-end matrix We (k, d), exactly
    balanced (W_{j+1}^T W_{j+1} = W_j W_j^T): W_1 = Q_1 S^{1/N} V^T, W_j = Q_j S^{1/N} Q_{j-1}^T,
    W_N = U S^{1/N} Q_{N-1}^T with random Q_j (h, k) of orthonormal columns."""
    U, S, Vt = np.linalg.svd(We, full_matrices=False)
    k = len(S)
    Q = [np.linalg.qr(rng.normal(size=(width, k)))[0] for _ in range(depth - 1)]
    root = np.diag(S ** (1 / depth))
    Ws = [Q[0] @ root @ Vt]
    Ws += [Q[j] @ root @ Q[j - 1].T for j in range(1, depth - 1)]
    Ws.append(U @ root @ Q[-1].T)
    return Ws


# --- the end-to-end update rule (Theorem 1 and eq. (13)) and Claim 1 ----------------------------
def e2e_step_single(w: Tensor, g: Tensor, lr, N) -> Tensor:
    """One step of the single-output rule, batched over columns of w, g (d, C):
    w <- w - lr ||w||^{2 - 2/N} (g + (N - 1) Pr_w g), Pr_w g = (w . g / ||w||^2) w.
    (The paper's weight decay lambda is 0 here.)"""
    n2 = (w * w).sum(0, keepdim=True)
    proj = (w * g).sum(0, keepdim=True) / n2 * w
    return w - lr * n2 ** (1 - 1 / N) * (g + (N - 1) * proj)


def matrix_power_psd(A: np.ndarray, power: float) -> np.ndarray:
    """A^power of a symmetric PSD matrix through its eigendecomposition (0^0 = 1, 0^x = 0);
    eigenvalues below 1e-12 of the largest are rounding noise of a rank-deficient A and count
    as 0 (a fractional power would blow them up)."""
    ev, V = np.linalg.eigh(A)
    ev = np.where(ev > 1e-12 * max(ev.max(), 0.0), ev, 0.0)
    if power == 0:
        return np.eye(len(A))
    return (V * ev**power) @ V.T


def e2e_direction_multi(W: np.ndarray, G: np.ndarray, N: int) -> np.ndarray:
    """The general rule's preconditioned gradient (Arora et al., Theorem 1, lambda = 0):
    sum_{j=1}^N [W W^T]^{(j-1)/N} G [W^T W]^{(N-j)/N}, for W, G (k, d)."""
    WWt, WtW = W @ W.T, W.T @ W
    return sum(matrix_power_psd(WWt, (j - 1) / N) @ G @ matrix_power_psd(WtW, (N - j) / N)
               for j in range(1, N + 1))


def claim1_eigenvalue(sigma: np.ndarray, r: int, r2: int, N: int, shift: int = 1) -> float:
    """Claim 1's eigenvalue of P_W on vec(u_r v_{r'}^T): sum_j sigma_r^{2(N-j)/N}
    sigma_{r'}^{2(j-shift)/N}. shift = 1 is the paper's exponent 2(j-1)/N; shift = 2 is slide
    003's 2(j-2)/N."""
    return float(sum(sigma[r] ** (2 * (N - j) / N) * sigma[r2] ** (2 * (j - shift) / N)
                     for j in range(1, N + 1)))
