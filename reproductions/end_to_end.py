"""The algebra of the end-to-end update rule of deep linear networks, checked numerically.

Reference: Arora, Cohen, Hazan, "On the Optimization of Deep Networks: Implicit Acceleration by
Overparameterization", ICML 2018: Theorem 1 (gradient descent on the factors W_1 .. W_N of a
balanced linear net moves the end-to-end matrix W_e = W_N ... W_1 by the preconditioned rule
W_e <- (1 - eta lambda N) W_e - eta sum_j [W_e W_e^T]^{(j-1)/N} dL/dW(W_e) [W_e^T W_e]^{(N-j)/N},
to first order in eta), its single-output form (k = 1:
||W||^{2-2/N} (g + (N-1) Pr_W g)), the conservation of W_{j+1}^T W_{j+1} - W_j W_j^T under
gradient flow (Arora et al., Theorem 1's proof; Du, Hu & Lee, NeurIPS 2018, Theorem 2.1), and
Theorem 2 (the single-output update field F(W) is not the gradient of any function when N >= 2).
Slides 003 ("Proposed solution", "Single-output Case", "Overparameterization effect cannot be
attained via regularization") present the same statements.

Everything is float64 and small (k, d <= 6): each function takes a seed (and a config) and
returns plain numbers. Losses (our choice, stated in the claim module): l2 regression
L(W) = (1/2n) ||X W^T - Y||_F^2 on Gaussian data, W (k, d).

From the kit ``linear_nets``: the general rule's direction ``e2e_direction_multi``, the
single-output step ``e2e_step_single``, the exactly balanced factorization ``balanced_multi``
(SVD of W_e, W_j = Q_j S^{1/N} Q_{j-1}^T) and the hand-derived factor gradients
``wide_factor_grads``.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from . import linear_nets as ln

CONFIG = {
    # Problem size for every check: n examples, d inputs, k outputs (small: the algebra claims
    # must take well under a second each).
    "n": 12, "d": 5, "k": 3,
    # Hidden width of the balanced factorizations (>= k, so any rank-k W_e factors exactly).
    "width": 4,
    # Claim: one GD step on balanced factors vs the rule's prediction, to first order in eta.
    "first_order": {
        "depths": (2, 3, 4),
        "weight_decays": (0.0, 0.5),
        # Three decades: the relative error / eta must be flat over them (it is O(eta)).
        "etas": (1e-2, 1e-3, 1e-4, 1e-5),
    },
    # Balancedness: GD for a fixed time tau = eta * steps; the imbalance's drift is O(eta).
    "balancedness": {
        "depth": 3,
        "tau": 1.0,                     # W_e moves by O(1) relative over this time (recorded)
        # Each eta half the one before: at fixed eta * steps the drift must halve (it is O(eta)).
        "etas": (2e-2, 1e-2, 5e-3),
        "unbalanced_std": 0.6,          # entries of the unbalanced start's factors
        # The control: the middle factor at twice the others' learning rate (the imbalance's
        # time derivative cancels only when neighbouring factors share one learning rate).
        "lr_scales": (1.0, 2.0, 1.0),
    },
    # Theorem 2: Jacobian asymmetry of F at a point, and the loop integral of F around a
    # circle of radius ``radius`` centred at a point of norm 1 (it stays away from W = 0, where
    # ||W||^{2-2/N} is not smooth), by the trapezoid rule (spectrally accurate: F is periodic
    # and smooth along the circle).
    "gradient_field": {
        "d": 4, "n": 12, "depths": (1, 2, 3, 4), "radius": 0.5, "points": 256,
    },
}


# --- problem --------------------------------------------------------------------------------------
def regression(seed: int, n: int, d: int, k: int):
    """Gaussian inputs X (n, d) and targets Y (n, k), float64 tensors, from ``seed``."""
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, d, generator=g, dtype=torch.float64)
    Y = torch.randn(n, k, generator=g, dtype=torch.float64)
    return X, Y


def l2_loss(W, X, Y):
    """(1/2n) ||X W^T - Y||_F^2 for W (k, d)."""
    return 0.5 * ((X @ W.T - Y) ** 2).sum() / X.shape[0]


def product(Ws):
    """W_N ... W_1 of factors listed as [W_1, ..., W_N]."""
    P = Ws[0]
    for W in Ws[1:]:
        P = W @ P
    return P


def balanced_start(seed: int, depth: int, config: dict = CONFIG):
    """A random end-to-end matrix W_e (k, d), entries N(0, 1), its exactly balanced factors
    (``ln.balanced_multi``) and the regression data, all from ``seed``."""
    c = config
    rng = np.random.default_rng(seed)
    We = rng.normal(size=(c["k"], c["d"]))
    Ws = ln.balanced_multi(We, depth, c["width"], rng)
    X, Y = regression(seed, c["n"], c["d"], c["k"])
    return We, Ws, X, Y


# --- Theorem 1: one GD step on the factors vs the rule --------------------------------------------
def factor_gd_step(Ws: list[np.ndarray], X, Y, eta: float, wd: float) -> np.ndarray:
    """One GD step with weight decay on every factor, gradients by autograd:
    W_j <- (1 - eta wd) W_j - eta dL/dW_j. Returns the new end-to-end matrix."""
    T = [torch.tensor(W, requires_grad=True) for W in Ws]
    grads = torch.autograd.grad(l2_loss(product(T), X, Y), T)
    new = [(1 - eta * wd) * W.detach() - eta * G for W, G in zip(T, grads)]
    return product(new).numpy()


def e2e_gradient(We: np.ndarray, X, Y) -> np.ndarray:
    """dL/dW at the end-to-end matrix, by autograd."""
    W = torch.tensor(We, requires_grad=True)
    return torch.autograd.grad(l2_loss(W, X, Y), W)[0].numpy()


def e2e_rule_step(We: np.ndarray, G: np.ndarray, eta: float, wd: float, N: int,
                  decay_depth: int | None = None) -> np.ndarray:
    """The end-to-end rule: (1 - eta wd N) W_e - eta sum_j [W W^T]^{(j-1)/N} G [W^T W]^{(N-j)/N}.
    N = 1 is plain GD on W_e with weight decay. ``decay_depth`` replaces the N of the decay
    factor (the control: 1 - eta wd, the factors' own decay, carried over unchanged)."""
    Nd = N if decay_depth is None else decay_depth
    return (1 - eta * wd * Nd) * We - eta * ln.e2e_direction_multi(We, G, N)


def rescaled(Ws: list[np.ndarray], c: float) -> list[np.ndarray]:
    """The same product with W_1 scaled by c and W_N by 1/c: for c != 1 the factors are no
    longer balanced (W_2^T W_2 - W_1 W_1^T moves by (c^2 - 1) W_1 W_1^T)."""
    return [c * Ws[0]] + list(Ws[1:-1]) + [Ws[-1] / c]


def first_order_errors(seed: int, config: dict = CONFIG, scale: float = 1.0,
                       decay_depth: int | None = None) -> dict:
    """For every depth N and weight decay: the rule's error in predicting one GD step on the
    factors, at each eta: "abs" ||W_real' - W_rule'||_F / ||W_e||_F and "rule" the same over the
    real step's length ||W_real' - W_e||_F (relative: O(eta) when the rule holds to first order);
    "plain" the relative error of plain GD on W_e (the N = 1 rule) as the prediction.
    ``scale`` != 1 starts from unbalanced factors of the same W_e (``rescaled``);
    ``decay_depth`` = 1 predicts with the decay factor 1 - eta wd instead of 1 - eta wd N.
    Returns {"etas", "depths", "weight_decays", "rule", "abs", "plain"}, arrays (N, wd, eta)."""
    c = config["first_order"]
    out = {"etas": np.array(c["etas"]), "depths": list(c["depths"]),
           "weight_decays": list(c["weight_decays"])}
    shape = (len(c["depths"]), len(c["weight_decays"]), len(c["etas"]))
    rule, plain, absolute = np.empty(shape), np.empty(shape), np.empty(shape)
    for a, N in enumerate(c["depths"]):
        _, Ws, X, Y = balanced_start(seed + 1000 * N, N, config)
        Ws = rescaled(Ws, scale)
        We = product(Ws)  # the factors' product (the SVD's W_e up to rounding)
        G = e2e_gradient(We, X, Y)
        for b, wd in enumerate(c["weight_decays"]):
            for e, eta in enumerate(c["etas"]):
                real = factor_gd_step(Ws, X, Y, eta, wd)
                step = np.linalg.norm(real - We)
                err = np.linalg.norm(real - e2e_rule_step(We, G, eta, wd, N, decay_depth))
                rule[a, b, e] = err / step
                absolute[a, b, e] = err / np.linalg.norm(We)
                plain[a, b, e] = np.linalg.norm(real - e2e_rule_step(We, G, eta, wd, 1)) / step
    out.update(rule=rule, plain=plain, abs=absolute)
    return out


def loglog_slope(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Least-squares slope of log y against log x along the last axis."""
    lx = np.log(x)
    ly = np.log(y)
    lx = lx - lx.mean()
    return ((ly - ly.mean(-1, keepdims=True)) * lx).sum(-1) / (lx * lx).sum()


# --- Claim 1 with the preconditioner built as a matrix --------------------------------------------
def preconditioner_matrix(W: np.ndarray, N: int) -> np.ndarray:
    """P_W = sum_j [W^T W]^{(N-j)/N} (x) [W W^T]^{(j-1)/N} (Kronecker product, (kd, kd)), the
    matrix of G -> sum_j [W W^T]^{(j-1)/N} G [W^T W]^{(N-j)/N} on column-major vec(G)."""
    WtW, WWt = W.T @ W, W @ W.T
    return sum(np.kron(ln.matrix_power_psd(WtW, (N - j) / N), ln.matrix_power_psd(WWt, (j - 1) / N))
               for j in range(1, N + 1))


def vec(M: np.ndarray) -> np.ndarray:
    """Column-major (column-first) vectorization, as the slides say."""
    return M.reshape(-1, order="F")


def eigen_structure(seed: int, k: int = 3, d: int = 5, N: int = 3) -> dict:
    """P_W for a random W (k, d) of full rank k, built as a Kronecker matrix (independently of the
    rule's code path): the largest residual ||P e - lambda e|| / |lambda| of e = vec(u_r v_r'^T)
    (r <= k, r' <= k), where lambda = e^T P e; the largest relative error of the eigenvalue
    formula sum_j s_r^{2(N-j)/N} s_r'^{2(j-shift)/N} with shift 1 (the paper) and shift 2 (the
    slides); and the largest gap between vec(P_W G) and the rule applied to a random G."""
    rng = np.random.default_rng(seed)
    W = rng.normal(size=(k, d))
    U, S, Vt = np.linalg.svd(W, full_matrices=False)
    P = preconditioner_matrix(W, N)
    G = rng.normal(size=(k, d))
    out = {"residual": 0.0, "paper": 0.0, "slides": 0.0,
           "matrix_vs_rule": float(np.linalg.norm(P @ vec(G) - vec(ln.e2e_direction_multi(W, G, N)))
                                   / np.linalg.norm(P @ vec(G)))}
    for r in range(k):
        for r2 in range(k):
            e = vec(np.outer(U[:, r], Vt[r2]))
            lam = float(e @ P @ e)
            res = float(np.linalg.norm(P @ e - lam * e) / abs(lam))
            out["residual"] = max(out["residual"], res)
            for key, shift in (("paper", 1), ("slides", 2)):
                formula = ln.claim1_eigenvalue(S, r, r2, N, shift)
                out[key] = max(out[key], abs(formula - lam) / abs(lam))
    return out


# --- the single-output form -----------------------------------------------------------------------
def single_output_direction(w: np.ndarray, g: np.ndarray, N: int,
                            norm_power: float | None = None) -> np.ndarray:
    """||w||^{2-2/N} (g + (N-1) Pr_w g) for row vectors w, g (d,), through
    ``ln.e2e_step_single`` (lr 1: direction = w - step). ``norm_power`` replaces 2 - 2/N (for the
    control: a wrong power)."""
    wt = torch.tensor(w)[:, None]
    gt = torch.tensor(g)[:, None]
    if norm_power is None:
        return (wt - ln.e2e_step_single(wt, gt, 1.0, N))[:, 0].numpy()
    n = float(np.linalg.norm(w))
    return n ** norm_power * (g + (N - 1) * (w @ g) / n**2 * w)


def slides_emulate_direction(w: np.ndarray, g: np.ndarray, N: int) -> np.ndarray:
    """The update direction of slide 003's ``emulate`` as printed (lambda = 0):
    fct1 = ||W||^(2-2/N); fct2 = grad + (N-1) (grad W_unit^T) W_unit; W <- W - lr fct1 fct2."""
    W = torch.tensor(w)[None, :]
    grad = torch.tensor(g)[None, :]
    fct1 = torch.norm(W) ** (2 - 2 / N)
    W_unit = W / torch.norm(W)
    fct2 = grad + (N - 1) * torch.mm(grad, W_unit.t()) * W_unit
    return (fct1 * fct2)[0].numpy()


def general_direction_shifted(W: np.ndarray, G: np.ndarray, N: int, shift: int) -> np.ndarray:
    """sum_j [W W^T]^{(j-shift)/N} G [W^T W]^{(N-j)/N}: shift 1 is the paper's rule, shift 2 the
    exponent slide 003 prints in Claim 1's eigenvalues, carried over to the rule (the control).
    For a row vector W W^T is the positive scalar ||W||^2, so negative powers exist."""
    WWt = (W @ W.T).item()
    return sum(WWt ** ((j - shift) / N) * G @ ln.matrix_power_psd(W.T @ W, (N - j) / N)
               for j in range(1, N + 1))


def single_output_agreement(seed: int, depths=(2, 3, 4, 5), norms=(0.5, 2.0)) -> dict:
    """For row vectors W (1, d) of each norm in ``norms`` and a random gradient G: the largest
    relative difference between the general rule and (a) the single-output formula
    (``ln.e2e_step_single``), (b) slide 003's ``emulate`` step; and, as controls, the smallest
    relative difference from the general rule of (c) the single-output formula with the power
    1 - 1/N instead of 2 - 2/N (||w|| where ||w||^2 belongs), (d) the general rule with the
    exponent (j-2)/N, and the largest distance of (d) from its closed form: at one output the
    shifted exponent scales every term by ||W||^{-2/N}, a relative difference |1 - ||W||^{-2/N}|."""
    rng = np.random.default_rng(seed)
    d = CONFIG["d"]
    res = {"formula": 0.0, "slides_emulate": 0.0, "wrong_power": math.inf,
           "slides_exponent": math.inf, "slides_exponent_vs_closed_form": 0.0}
    for N in depths:
        for norm in norms:
            w = rng.normal(size=d)
            w *= norm / np.linalg.norm(w)
            g = rng.normal(size=d)
            ref = ln.e2e_direction_multi(w[None, :], g[None, :], N)[0]
            rel = lambda v: float(np.linalg.norm(v - ref) / np.linalg.norm(ref))  # noqa: E731
            res["formula"] = max(res["formula"], rel(single_output_direction(w, g, N)))
            res["slides_emulate"] = max(res["slides_emulate"],
                                        rel(slides_emulate_direction(w, g, N)))
            res["wrong_power"] = min(res["wrong_power"],
                                     rel(single_output_direction(w, g, N, norm_power=1 - 1 / N)))
            shifted = rel(general_direction_shifted(w[None, :], g[None, :], N, shift=2)[0])
            res["slides_exponent"] = min(res["slides_exponent"], shifted)
            res["slides_exponent_vs_closed_form"] = max(
                res["slides_exponent_vs_closed_form"], abs(shifted - abs(1 - norm ** (-2 / N))))
    return res


# --- balancedness ---------------------------------------------------------------------------------
def imbalances(Ws: list[torch.Tensor]) -> list[torch.Tensor]:
    """D_j = W_{j+1}^T W_{j+1} - W_j W_j^T, j = 1 .. N-1 (batched over a leading axis)."""
    return [Ws[j + 1].transpose(-1, -2) @ Ws[j + 1] - Ws[j] @ Ws[j].transpose(-1, -2)
            for j in range(len(Ws) - 1)]


def gd_on_factors(Ws: list[np.ndarray], X, Y, eta: float, steps: int,
                  lr_scales=None) -> list[torch.Tensor]:
    """``steps`` GD steps on the factors of the l2 regression (hand-derived gradients,
    ``ln.wide_factor_grads``), float64. ``lr_scales`` (one per factor) gives factor j the
    learning rate eta * lr_scales[j] (the control: unequal learning rates across layers)."""
    Ws = [torch.tensor(W)[None] for W in Ws]
    scales = [1.0] * len(Ws) if lr_scales is None else list(lr_scales)
    n = X.shape[0]
    for _ in range(steps):
        We = product(Ws)[0]
        G = ((X @ We.T - Y).T @ X / n)[None]      # dL/dW at W_e, (1, k, d)
        Ws = [W - eta * c * g for W, c, g in zip(Ws, scales, ln.wide_factor_grads(Ws, G))]
    return [W[0] for W in Ws]


def gd_on_factors_autograd(Ws: list[np.ndarray], X, Y, eta: float,
                           steps: int) -> list[torch.Tensor]:
    """The naive version of ``gd_on_factors`` (the benchmark's baseline): every step an autograd
    graph through the product and the loss, as slide 003's ``train`` does."""
    Ws = [torch.tensor(W) for W in Ws]
    for _ in range(steps):
        T = [W.requires_grad_() for W in Ws]
        grads = torch.autograd.grad(l2_loss(product(T), X, Y), T)
        Ws = [W.detach() - eta * g for W, g in zip(T, grads)]
    return Ws


def relative_change(before: list[torch.Tensor], after: list[torch.Tensor],
                    scale: list[torch.Tensor]) -> float:
    """max_j ||after_j - before_j||_F / ||scale_j||_F."""
    return max(float(torch.linalg.norm(a - b) / torch.linalg.norm(s))
               for a, b, s in zip(after, before, scale))


def unbalanced_start(seed: int, config: dict = CONFIG) -> list[np.ndarray]:
    """Random factors W_1 (h, d), W_2 (h, h), W_3 (k, h), entries N(0, unbalanced_std^2)."""
    c, b = config, config["balancedness"]
    rng = np.random.default_rng(seed)
    shapes = [(c["width"], c["d"])] + [(c["width"], c["width"])] * (b["depth"] - 2) + \
             [(c["k"], c["width"])]
    return [rng.normal(0.0, b["unbalanced_std"], s) for s in shapes]


def balancedness_drift(seed: int, config: dict = CONFIG) -> dict:
    """GD on the factors for the time tau = eta * steps at each eta, from (a) an exactly balanced
    start and (b) a random unbalanced one. Returns per eta:
    "balanced": max_j ||D_j(T)||_F / ||W_j W_j^T(0)||_F (D_j(0) = 0),
    "unequal_lr": the same with unequal learning rates across the factors (``lr_scales``),
    "unbalanced": max_j ||D_j(T) - D_j(0)||_F / ||D_j(0)||_F,
    "gram": max_j ||W_j W_j^T(T) - W_j W_j^T(0)||_F / ||W_j W_j^T(0)||_F from the balanced start
    (each Gram matrix moves; only the difference is conserved),
    "moved": ||W_e(T) - W_e(0)||_F / ||W_e(0)||_F from the balanced start."""
    b = config["balancedness"]
    _, Ws, X, Y = balanced_start(seed, b["depth"], config)
    U = unbalanced_start(seed + 7919, config)
    out = {k: [] for k in ("balanced", "unbalanced", "gram", "moved", "unequal_lr")}
    T0 = [torch.tensor(W) for W in Ws]
    U0 = [torch.tensor(W) for W in U]
    for eta in b["etas"]:
        steps = int(round(b["tau"] / eta))
        T1 = gd_on_factors(Ws, X, Y, eta, steps)
        U1 = gd_on_factors(U, X, Y, eta, steps)
        gram = [W @ W.T for W in T0[:-1]]
        out["balanced"].append(relative_change(imbalances(T0), imbalances(T1), gram))
        T2 = gd_on_factors(Ws, X, Y, eta, steps, b["lr_scales"])
        out["unequal_lr"].append(relative_change(imbalances(T0), imbalances(T2), gram))
        out["unbalanced"].append(relative_change(imbalances(U0), imbalances(U1),
                                                 imbalances(U0)))
        out["gram"].append(relative_change(gram, [W @ W.T for W in T1[:-1]], gram))
        out["moved"].append(float(torch.linalg.norm(product(T1) - product(T0))
                                  / torch.linalg.norm(product(T0))))
    return {"etas": np.array(b["etas"]), **{k: np.array(v) for k, v in out.items()}}


# --- Theorem 2: F is not a gradient field ---------------------------------------------------------
def update_field(X: torch.Tensor, y: torch.Tensor, N: int):
    """F(w) = ||w||^{2-2/N} (g + (N-1) Pr_w g), g = grad of (1/2n) ||X w - y||^2 at w (d,): the
    single-output end-to-end update direction of depth N (N = 1: the plain gradient)."""
    n = X.shape[0]

    def F(w):
        g = X.T @ (X @ w - y) / n
        n2 = w @ w
        return n2 ** (1 - 1 / N) * (g + (N - 1) * (w @ g) / n2 * w)
    return F


def jacobian_asymmetry(F, w0: torch.Tensor) -> float:
    """||J - J^T||_F / ||J||_F of the Jacobian of F at w0 (``torch.autograd.functional``): zero
    for a gradient field (J is then a Hessian)."""
    J = torch.autograd.functional.jacobian(F, w0)
    return float(torch.linalg.norm(J - J.T) / torch.linalg.norm(J))


def loop_integral(F, center: torch.Tensor, a: torch.Tensor, b: torch.Tensor, radius: float,
                  points: int) -> tuple[float, float]:
    """The line integral of F around the circle center + r (cos t a + sin t b), t in [0, 2 pi)
    (a, b orthonormal), by the trapezoid rule; and the integral of ||F|| ||gamma'|| (its upper
    bound) for scale. Zero for a gradient field (the gradient theorem)."""
    t = torch.arange(points, dtype=torch.float64) * (2 * math.pi / points)
    gamma = center + radius * (torch.cos(t)[:, None] * a + torch.sin(t)[:, None] * b)
    dgamma = radius * (-torch.sin(t)[:, None] * a + torch.cos(t)[:, None] * b)
    Fs = torch.vmap(F)(gamma)
    h = 2 * math.pi / points
    return (float((Fs * dgamma).sum() * h),
            float((Fs.norm(dim=1) * dgamma.norm(dim=1)).sum() * h))


def antisymmetric_jacobian(X: torch.Tensor, y: torch.Tensor, N: int,
                           w: torch.Tensor) -> torch.Tensor:
    """J - J^T of F (``update_field``) in closed form, at points w (..., d):
    (N - 1)/N ||w||^(-2/N) [(N - 2)(c w^T - w c^T) - 2 (N - 1)(H w w^T - w (H w)^T)] with
    H = X^T X / n, c = X^T y / n. (F = s^p g + (N - 1) s^(p-1) (w.g) w, s = ||w||^2,
    p = 1 - 1/N, g = H w - c: the symmetric terms s^p H and (N - 1) s^(p-1) (w.g) I drop out, the
    rank-one terms 2 p s^(p-1) g w^T and (N - 1) s^(p-1) w (g + H w)^T leave this.) Zero at
    N = 1; independent of F's code, for the claim's checks."""
    n = X.shape[0]
    H, c = X.T @ X / n, X.T @ y / n
    Hw = w @ H
    outer = lambda u, v: u[..., :, None] * v[..., None, :]  # noqa: E731
    s = (w * w).sum(-1)[..., None, None]
    return (N - 1) / N * s ** (-1 / N) * ((N - 2) * (outer(c.expand_as(w), w)
                                                     - outer(w, c.expand_as(w)))
                                          - 2 * (N - 1) * (outer(Hw, w) - outer(w, Hw)))


def stokes_loop_value(X, y, N: int, center: torch.Tensor, a: torch.Tensor, b: torch.Tensor,
                      radius: float, n_radial: int = 24, n_angle: int = 64) -> float:
    """The loop integral of F around the circle of ``loop_integral``, by Stokes' theorem: the
    integral over the disk of the curl b^T (J - J^T) a (``antisymmetric_jacobian``), Gauss-Legendre
    in the radius and the trapezoid rule in the angle. An independent route to the same number."""
    nodes, wts = np.polynomial.legendre.leggauss(n_radial)
    r = torch.tensor((nodes + 1) * radius / 2)
    wr = torch.tensor(wts * radius / 2)
    t = torch.arange(n_angle, dtype=torch.float64) * (2 * math.pi / n_angle)
    dirs = torch.cos(t)[:, None] * a + torch.sin(t)[:, None] * b            # (angle, d)
    points = center + r[:, None, None] * dirs                                # (radial, angle, d)
    curl = torch.einsum("i,raij,j->ra", b, antisymmetric_jacobian(X, y, N, points), a)
    return float((curl * (r * wr)[:, None]).sum() * (2 * math.pi / n_angle))


def field_problem(seed: int, config: dict = CONFIG):
    """The data (X, y), the point w0 of norm 1 and the orthonormal plane (a, b) of
    ``gradient_field_test``, from ``seed``."""
    c = config["gradient_field"]
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(c["n"], c["d"], generator=g, dtype=torch.float64)
    y = torch.randn(c["n"], generator=g, dtype=torch.float64)
    w0 = torch.randn(c["d"], generator=g, dtype=torch.float64)
    w0 = w0 / w0.norm()
    ab, _ = torch.linalg.qr(torch.randn(c["d"], 2, generator=g, dtype=torch.float64))
    return X, y, w0, ab[:, 0], ab[:, 1]


def gradient_field_test(seed: int, config: dict = CONFIG) -> dict:
    """For each depth N: the Jacobian asymmetry of F at a random point of norm 1 (autograd), and
    the loop integral of F (relative to its bound) around a circle in a random plane through that
    point; beside them, for the claims' checks, their independent values: the closed-form
    J - J^T's distance from autograd's ("closed_form_gap", relative to ||J||), Stokes' disk
    integral's from the loop integral ("stokes_gap", relative to the bound), and F's distance
    from the general rule at k = 1 with autograd's gradient ("rule_gap")."""
    c = config["gradient_field"]
    X, y, w0, a, b = field_problem(seed, config)
    n = X.shape[0]
    wr = w0.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(0.5 * ((X @ wr - y) ** 2).sum() / n, wr)
    out = {"depths": list(c["depths"]), "asymmetry": [], "loop": [], "loop_relative": [],
           "closed_form_gap": [], "closed_form_asymmetry": [], "stokes_gap": [], "rule_gap": []}
    for N in c["depths"]:
        F = update_field(X, y, N)
        J = torch.autograd.functional.jacobian(F, w0)
        K = antisymmetric_jacobian(X, y, N, w0)
        out["asymmetry"].append(jacobian_asymmetry(F, w0))
        out["closed_form_asymmetry"].append(float(torch.linalg.norm(K) / torch.linalg.norm(J)))
        out["closed_form_gap"].append(float(torch.linalg.norm(J - J.T - K) / torch.linalg.norm(J)))
        loop_value, bound = loop_integral(F, w0, a, b, c["radius"], c["points"])
        out["loop"].append(loop_value)
        out["loop_relative"].append(abs(loop_value) / bound)
        out["stokes_gap"].append(abs(loop_value - stokes_loop_value(X, y, N, w0, a, b, c["radius"]))
                                 / bound)
        rule = torch.tensor(ln.e2e_direction_multi(w0.numpy()[None], g.numpy()[None], N)[0])
        out["rule_gap"].append(float((F(w0) - rule).abs().max() / rule.abs().max()))
    return {k: np.array(v) if k != "depths" else v for k, v in out.items()}


def linear_field_checks(seed: int, config: dict = CONFIG) -> dict:
    """The two tests on a linear field F(w) = M w with a random M, whose answers are known in
    closed form: ``jacobian_asymmetry`` must give ||M - M^T|| / ||M||, ``loop_integral`` around the
    circle c + r (cos t a + sin t b) must give pi r^2 b^T (M - M^T) a. Returns both relative
    errors (the second relative to the loop's bound)."""
    c = config["gradient_field"]
    _, _, w0, a, b = field_problem(seed, config)
    M = torch.randn(c["d"], c["d"], generator=torch.Generator().manual_seed(seed + 1),
                    dtype=torch.float64)
    F = lambda w: M @ w  # noqa: E731
    asym = float(torch.linalg.norm(M - M.T) / torch.linalg.norm(M))
    loop_value, bound = loop_integral(F, w0, a, b, c["radius"], c["points"])
    exact = float(math.pi * c["radius"] ** 2 * (b @ (M - M.T) @ a))
    return {"asymmetry": abs(jacobian_asymmetry(F, w0) - asym) / asym,
            "loop": abs(loop_value - exact) / bound}


# --- the kernels' own checks: an exactly balanced start, hand-derived factor gradients ------------
def balanced_start_errors(seed: int, depth: int, config: dict = CONFIG) -> dict:
    """For ``balanced_start``: max_j ||W_(j+1)^T W_(j+1) - W_j W_j^T|| / ||W_j W_j^T|| (zero for
    exactly balanced factors) and ||W_N ... W_1 - W_e|| / ||W_e||."""
    We, Ws, _, _ = balanced_start(seed, depth, config)
    T = [torch.tensor(W) for W in Ws]
    gram = [W @ W.T for W in T[:-1]]
    return {"imbalance": max(float(torch.linalg.norm(D) / torch.linalg.norm(G))
                             for D, G in zip(imbalances(T), gram)),
            "product": float(np.linalg.norm(product(Ws) - We) / np.linalg.norm(We))}


def factor_gradient_gap(seed: int, depth: int = 3, eta: float = 1e-2, steps: int = 50,
                        config: dict = CONFIG) -> float:
    """max_j ||W_j (hand-derived gradients) - W_j (autograd)|| / ||W_j|| after ``steps`` GD steps
    from the balanced start."""
    _, Ws, X, Y = balanced_start(seed, depth, config)
    hand = gd_on_factors(Ws, X, Y, eta, steps)
    auto = gd_on_factors_autograd(Ws, X, Y, eta, steps)
    return max(float(torch.linalg.norm(h - a) / torch.linalg.norm(a)) for h, a in zip(hand, auto))


# --- figure ---------------------------------------------------------------------------------------
def plot_first_order(balanced: dict, unbalanced: dict):
    """The rule's error ||W_real' - W_rule'|| / ||W_e|| against eta (log-log), per depth, from a
    balanced start and from unbalanced factors of the same W_e (lambda = 0), with slope-1 and
    slope-2 guides (one seed's ``first_order_errors`` each)."""
    from matplotlib.figure import Figure
    fig = Figure(figsize=(5.2, 3.8))
    ax = fig.subplots()
    etas = balanced["etas"]
    for a, N in enumerate(balanced["depths"]):
        color = f"C{a}"
        ax.plot(etas, balanced["abs"][a, 0], "o-", color=color, label=f"N = {N}, balanced")
        ax.plot(etas, unbalanced["abs"][a, 0], "s--", color=color, label=f"N = {N}, unbalanced")
    ref = balanced["abs"][0, 0, -1]
    ax.plot(etas, ref * (etas / etas[-1]) ** 2, "k:", lw=1, label="slope 2")
    ref = unbalanced["abs"][0, 0, -1]
    ax.plot(etas, ref * (etas / etas[-1]), "k-.", lw=1, label="slope 1")
    ax.set(xscale="log", yscale="log", xlabel="learning rate eta",
           ylabel="||W_real' - W_rule'|| / ||W_e||")
    ax.legend(fontsize=7)
    return fig


# --- the slides' readings of the rule ------------------------------------------------------------
def eigenvalue_grid(N: int, sigmas: np.ndarray) -> np.ndarray:
    """Claim 1's eigenvalue sum_j s^{2(N-j)/N} s'^{2(j-1)/N} on the grid sigmas x sigmas (rows:
    s, the singular value on W_e's left side of the eigenvector u_r v_r'^T; columns: s')."""
    s, s2 = sigmas[:, None], sigmas[None, :]
    return sum(s ** (2 * (N - j) / N) * s2 ** (2 * (j - 1) / N) for j in range(1, N + 1))


def along_and_across_gains(seed: int, N: int, d: int = 6, norm: float = 1.5) -> dict:
    """The single-output rule's gain on the gradient's component along w and across it:
    (step . w_hat) / (g . w_hat) and ||step_perp|| / ||g_perp||, for a random w of norm ``norm``
    and a random g."""
    rng = np.random.default_rng(seed)
    w = rng.normal(size=d)
    w *= norm / np.linalg.norm(w)
    g = rng.normal(size=d)
    step = single_output_direction(w, g, N)
    unit = w / np.linalg.norm(w)
    perp = lambda v: v - (v @ unit) * unit  # noqa: E731
    return {"along": float((step @ unit) / (g @ unit)),
            "across": float(np.linalg.norm(perp(step)) / np.linalg.norm(perp(g))),
            "norm power": norm ** (2 - 2 / N)}


def small_init_imbalance(seed: int, scale: float, depth: int = 3, width: int = 4) -> dict:
    """Factors W_j ~ scale N(0, 1) (width x width): the largest imbalance ||D_j||_F, absolute and
    relative to ||W_j W_j^T||_F."""
    g = torch.Generator().manual_seed(seed)
    Ws = [scale * torch.randn(width, width, generator=g, dtype=torch.float64)
          for _ in range(depth)]
    D = imbalances(Ws)
    absolute = max(float(torch.linalg.norm(Dj)) for Dj in D)
    relative = max(float(torch.linalg.norm(Dj) / torch.linalg.norm(Ws[j] @ Ws[j].T))
                   for j, Dj in enumerate(D))
    return {"absolute": absolute, "relative": relative}
