"""The Fisher information and the natural gradient, on softmax regression.

Sources: lecture notes 000/001 §1.1 (the natural-gradient step as the minimizer of a linear term
plus the expected KL divergence; the Fisher matrix, which "does not depend at all on the true
labels"; K-FAC speeds up training per iteration); slides 002 "Information theory point of view"
(natural gradient with the Fisher matrix, "empirical version"); Amari (1998); Martens (2020),
"New insights and perspectives on the natural gradient method", JMLR 21, §5 (for the
cross-entropy of an exponential family the Fisher equals the Hessian) and §11 (the empirical
Fisher is a different matrix).

Model (``reproductions/softmax_regression.py``): p(y | x) = softmax(W x) with the last class's
row of W fixed at 0 (so the parameters are identifiable and the Fisher is invertible); theta =
the other K - 1 rows, flattened.
"""

from __future__ import annotations

import numpy as np
import torch

from . import softmax_regression as smr

CONFIG = {
    "fisher": {"n": 200, "dim": 5, "classes": 3, "weight_scale": 1.0},
    "dataset_fisher": {"pool": 2000, "dim": 5, "classes": 3, "sizes": (25, 100, 400, 1600),
                       "replicates": 200, "mc_n": 200, "label_samples": (1, 4, 16, 64)},
    "kl_step": {"n": 100, "dim": 2, "classes": 3,
                "scales": (1e-4, 1e-3, 3e-3, 1e-2, 0.1, 0.3, 1.0),
                "unbounded_scale": 30.0, "probe_t": 1000.0},
    "ngd_vs_gd": {"iterations": 30, "damping": 1e-3, "ngd_lr": 1.0,
                  "gd_lrs": (1.0, 3.0, 10.0, 30.0, 100.0, 300.0), "train_fraction": 0.8},
}


def log_prob_grads(theta, X, K) -> torch.Tensor:
    """d log p(k | x_i) / d theta for every example i and class k: (n, K, P), in closed form:
    (1[k = j] - p_j) x for the rows j < K."""
    p = torch.softmax(smr.logits(theta, X, K), 1)                    # (n, K)
    onehot = torch.eye(K, dtype=X.dtype)[:, :K - 1]                # (K, K-1)
    coef = onehot[None] - p[:, None, :K - 1]                       # (n, K, K-1)
    return (coef[..., None] * X[:, None, None, :]).flatten(2)      # (n, K, (K-1) d)


def fisher(theta, X, K) -> torch.Tensor:
    """The Fisher of the notes: E_x E_{y ~ p_theta(.|x)} [grad log p grad log p^T]."""
    p = torch.softmax(smr.logits(theta, X, K), 1)
    G = log_prob_grads(theta, X, K)
    return torch.einsum("nk,nki,nkj->ij", p, G, G) / len(X)


def empirical_fisher(theta, X, y, K) -> torch.Tensor:
    """The 'empirical Fisher': the same outer product at the true labels only."""
    G = log_prob_grads(theta, X, K)[torch.arange(len(X)), y]
    return G.T @ G / len(X)


def hessian(theta, X, y, K) -> torch.Tensor:
    return torch.autograd.functional.hessian(lambda t: smr.mean_cross_entropy(t, X, y, K), theta)


def softmax_problem(seed: int, n: int, dim: int, classes: int, weight_scale: float):
    """Random inputs, labels from a random teacher, and a random current theta (not the
    optimum)."""
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, dim, generator=g, dtype=torch.float64)
    teacher = torch.randn((classes - 1) * dim, generator=g, dtype=torch.float64)
    y = torch.multinomial(torch.softmax(smr.logits(teacher, X, classes), 1), 1, generator=g)[:, 0]
    theta = weight_scale * torch.randn((classes - 1) * dim, generator=g, dtype=torch.float64)
    return X, y, theta


def fisher_comparison(seed: int, cfg: dict = CONFIG["fisher"]) -> dict:
    """Relative Frobenius differences: Fisher vs Hessian; Hessian and Fisher under a label
    permutation; empirical Fisher vs Fisher, and under the permutation."""
    X, y, theta = softmax_problem(seed, **cfg)
    K = cfg["classes"]
    perm = y[torch.randperm(len(y), generator=torch.Generator().manual_seed(seed + 1))]
    rel = lambda a, b: float((a - b).norm() / b.norm())  # noqa: E731
    H, F, Fe = hessian(theta, X, y, K), fisher(theta, X, K), empirical_fisher(theta, X, y, K)
    return {"fisher_vs_hessian": rel(F, H),
            "hessian_under_permuted_labels": rel(hessian(theta, X, perm, K), H),
            "empirical_vs_fisher": rel(Fe, F),
            "empirical_under_permuted_labels": rel(empirical_fisher(theta, X, perm, K), Fe)}


# --- the notes' empirical Fisher: x from the dataset, y from the model ----------------------------
def per_example_fisher(theta, X, K) -> torch.Tensor:
    """f(x_i) = E_{y ~ p_theta(.|x_i)} [grad log p grad log p^T] for every example: (n, P, P)."""
    p = torch.softmax(smr.logits(theta, X, K), 1)
    G = log_prob_grads(theta, X, K)
    return torch.einsum("nk,nki,nkj->nij", p, G, G)


def label_outer_products(theta, X, K) -> torch.Tensor:
    """grad log p(k | x_i) grad log p(k | x_i)^T for every example and class, flat: (n, K, P^2)."""
    G = log_prob_grads(theta, X, K)
    return (G[..., :, None] * G[..., None, :]).flatten(2)


def sampled_label_fishers(theta, X, K, samples: int, replicates: int, generator) -> torch.Tensor:
    """The Monte Carlo version, ``replicates`` times: ``samples`` labels per input drawn from
    p_theta(.|x), the outer products at the drawn labels averaged (summed class by class over
    the draws' counts): (replicates, P^2)."""
    p = torch.softmax(smr.logits(theta, X, K), 1)
    y = torch.multinomial(p, samples * replicates, replacement=True, generator=generator)
    counts = torch.nn.functional.one_hot(y.view(len(X), replicates, samples), K).sum(2)
    return torch.einsum("nrk,nkq->rq", counts.to(X.dtype),
                        label_outer_products(theta, X, K)) / (len(X) * samples)


def dataset_draws(pool: int, n: int, replicates: int, generator) -> torch.Tensor:
    """How often each pool point is drawn in each of ``replicates`` datasets of n draws with
    replacement: (replicates, pool)."""
    draws = torch.randint(pool, (replicates, n), generator=generator)
    return torch.zeros(replicates, pool, dtype=torch.float64).scatter_add_(
        1, draws, torch.ones(replicates, n, dtype=torch.float64))


def dataset_fisher_errors(seed: int, cfg: dict = CONFIG["dataset_fisher"]) -> dict:
    """The population D is uniform on a pool of Gaussian inputs, so F (x ~ D) is exact. For each
    dataset size n, ``replicates`` datasets of n draws from D: the mean squared Frobenius error
    of the notes' F_hat (x from the dataset, y from the model, exact over y) and of the outer
    product at the dataset's labels (a teacher's), against F; theory: E||F_hat - F||^2 =
    sigma^2 / n, sigma^2 = E_x ||f(x) - F||^2. For each number S of labels drawn per input, on
    one dataset: the mean squared error of the Monte Carlo F_hat against the exact F_hat;
    theory: (1 / (n^2 S)) sum_i (E_y ||g g^T||^2 - ||f(x_i)||^2)."""
    X, y, theta = softmax_problem(seed, cfg["pool"], cfg["dim"], cfg["classes"], 1.0)
    K, R, gen = cfg["classes"], cfg["replicates"], torch.Generator().manual_seed(seed + 7)
    f = per_example_fisher(theta, X, K).flatten(1)                       # (pool, P^2)
    at_label = label_outer_products(theta, X, K)[torch.arange(len(X)), y]
    F = f.mean(0)
    out = {"F_norm2": float(F @ F), "sigma2": float(((f - F) ** 2).sum(1).mean()),
           "dataset": {}, "labels": {}, "sampled": {}}
    for n in cfg["sizes"]:
        counts = dataset_draws(len(X), n, R, gen) / n
        out["dataset"][n] = float(((counts @ f - F) ** 2).sum(1).mean())
        out["labels"][n] = float(((counts @ at_label - F) ** 2).sum(1).mean())
    Xn = X[:cfg["mc_n"]]
    exact = fisher(theta, Xn, K).flatten()
    p = torch.softmax(smr.logits(theta, Xn, K), 1)
    outer2 = (p * (log_prob_grads(theta, Xn, K) ** 2).sum(2) ** 2).sum(1)  # E_y ||g g^T||^2
    fx2 = (per_example_fisher(theta, Xn, K) ** 2).sum((1, 2))
    out["sampled_theory_S1"] = float((outer2 - fx2).sum()) / cfg["mc_n"] ** 2
    for S in cfg["label_samples"]:
        est = sampled_label_fishers(theta, Xn, K, S, R, gen)
        out["sampled"][S] = float(((est - exact) ** 2).sum(1).mean())
    return out


# --- the natural-gradient step and the KL-regularized problem -------------------------------------
def expected_kl(theta, delta, X, K) -> torch.Tensor:
    """E_x KL(p_theta(.|x) || p_{theta + delta}(.|x))."""
    lp = torch.log_softmax(smr.logits(theta, X, K), 1)
    lq = torch.log_softmax(smr.logits(theta + delta, X, K), 1)
    return (lp.exp() * (lp - lq)).sum(1).mean()


def kl_problem(seed: int, cfg: dict = CONFIG["kl_step"]):
    """The softmax problem of the KL-step claim: inputs, the current theta, the loss gradient g
    (autograd) and the natural direction n = F^-1 g."""
    X, y, theta = softmax_problem(seed, cfg["n"], cfg["dim"], cfg["classes"], 1.0)
    K = cfg["classes"]
    g = torch.autograd.functional.jacobian(lambda t: smr.mean_cross_entropy(t, X, y, K), theta)
    return X, theta, g, torch.linalg.solve(fisher(theta, X, K), g)


def kl_objective(c, g, theta, X, K):
    """J_c(delta) = c g^T delta + E KL(p_theta || p_theta+delta)."""
    return lambda d: c * (g @ d) + expected_kl(theta, d, X, K)


def newton_minimize(objective, hessian, start, max_iter=100, max_norm=1e6):
    """Damped Newton from ``start``: a step is halved until it lowers the gradient's norm (the
    merit function: near the minimizer the objective's changes fall below its rounding, the
    gradient's do not). Returns (minimizer, its gradient norm, converged); not converged when
    the iterates run off past ``max_norm`` (no minimizer) or stall above 1e-10 (relative)."""
    def gradient(d):
        x = d.detach().requires_grad_(True)
        return torch.autograd.grad(objective(x), x)[0]

    d, grad = start.clone(), gradient(start)
    for _ in range(max_iter):
        step, t = -torch.linalg.solve(hessian(d), grad), 1.0
        while t > 1e-6:
            new_grad = gradient(d + t * step)
            if float(new_grad.norm()) < float(grad.norm()):
                break
            t /= 2
        if t <= 1e-6 or float(d.norm()) > max_norm:
            break
        d, grad = d + t * step, new_grad
    scale = max(1.0, float(d.norm()))
    return d, float(grad.norm()), float(grad.norm()) < 1e-10 * scale


def kl_minimizer(c, X, theta, g, natural, K):
    """The exact minimizer of J_c by Newton's method from the natural step -c n; the Hessian of
    J_c at delta is the Fisher at theta + delta (the KL's Hessian does not involve p_theta)."""
    return newton_minimize(kl_objective(c, g, theta, X, K),
                           lambda d: fisher(theta + d, X, K), -c * natural)


def third_order_coefficient(X, theta, natural, K) -> torch.Tensor:
    """delta_2 of the expansion argmin J_c = -c n + c^2 delta_2 + O(c^3): stationarity
    c g + F delta + 1/2 T[delta, delta, .] = 0 with T the KL's third derivative at 0 gives
    delta_2 = -1/2 F^-1 T[n, n, .], and T[n, n, .] = grad_delta (n^T F(theta + delta) n) at 0."""
    d = torch.zeros_like(theta, requires_grad=True)
    (Tnn,) = torch.autograd.grad(natural @ fisher(theta + d, X, K) @ natural, d)
    return -0.5 * torch.linalg.solve(fisher(theta, X, K), Tnn)


def kl_step_scaling(seed: int, cfg: dict = CONFIG["kl_step"]) -> dict:
    """For each gradient scale c: the exact minimizer's relative distance from the natural step
    -c n (||argmin + c n|| / ||c n||), the excess objective J_c(-c n) - J_c(argmin), whether
    Newton converged and its final gradient norm; the theory's limits of distance / c
    (||delta_2|| / ||n||) and excess / c^4 (1/2 delta_2^T F delta_2); and, at a large c, the
    objective along -n at t = probe_t (very negative: no minimizer)."""
    X, theta, g, natural = kl_problem(seed, cfg)
    K = cfg["classes"]
    delta2 = third_order_coefficient(X, theta, natural, K)
    rows = {"relative_error": {}, "excess": {}, "converged": {}, "grad_norm": {}}
    for c in cfg["scales"]:
        d, grad_norm, ok = kl_minimizer(c, X, theta, g, natural, K)
        J = kl_objective(c, g, theta, X, K)
        rows["relative_error"][c] = float((d + c * natural).norm() / (c * natural).norm())
        rows["excess"][c] = float(J(-c * natural) - J(d))
        rows["converged"][c], rows["grad_norm"][c] = ok, grad_norm
    c, t = cfg["unbounded_scale"], cfg["probe_t"]
    rows["objective_along_natural_at_large_c"] = float(kl_objective(c, g, theta, X, K)(
        -t * natural))
    rows["gap_over_c_limit"] = float(delta2.norm() / natural.norm())
    rows["excess_over_c4_limit"] = float(0.5 * delta2 @ fisher(theta, X, K) @ delta2)
    return rows


def quadratic_model_minimizer(seed: int, c: float, cfg: dict = CONFIG["kl_step"]) -> float:
    """The derivation's reading: with the KL replaced by its second-order term 1/2 d^T F d the
    minimizer is -c F^-1 g exactly; Newton's solver on that model, relative distance from it
    (a check of the solver against a closed form)."""
    X, theta, g, natural = kl_problem(seed, cfg)
    F = fisher(theta, X, cfg["classes"])
    d, _, _ = newton_minimize(lambda d: c * (g @ d) + 0.5 * d @ F @ d, lambda d: F,
                              torch.zeros_like(theta))
    return float((d + c * natural).norm() / (c * natural).norm())


# --- natural gradient vs gradient descent per iteration, digits -----------------------------------
def fisher_kron(theta, X, K) -> torch.Tensor:
    """The exact Fisher of softmax regression, assembled from its blocks: for classes j, k the
    block E[p_j (1[j = k] - p_k) x x^T] (the same matrix as ``fisher``, cheaper for many
    examples)."""
    p = torch.softmax(smr.logits(theta, X, K), 1)[:, :K - 1]           # (n, K-1)
    d, n = X.shape[1], len(X)
    Z = (p[:, :, None] * X[:, None, :]).reshape(n, -1)             # p_j x
    F = -(Z.T @ Z) / n
    for j in range(K - 1):
        F[j * d:(j + 1) * d, j * d:(j + 1) * d] += (X.T * p[:, j]) @ X / n
    return F


def ngd_vs_gd(seed: int, cfg: dict = CONFIG["ngd_vs_gd"]) -> dict:
    """Training cross-entropy after each iteration: damped natural gradient (F + lambda I)^-1 g
    at lr 1, and GD at each lr of its grid; plus the test losses at the end."""
    Xtr, ytr, Xte, yte = smr.digits_softmax_split(seed, cfg["train_fraction"])
    K, d = 10, Xtr.shape[1]
    loss = lambda t, X, y: float(smr.mean_cross_entropy(t, X, y, K))  # noqa: E731
    grad = lambda t: torch.autograd.functional.jacobian(  # noqa: E731
        lambda u: smr.mean_cross_entropy(u, Xtr, ytr, K), t)

    def run(step):
        theta, curve = torch.zeros((K - 1) * d, dtype=torch.float64), []
        for _ in range(cfg["iterations"]):
            theta = theta - step(theta)
            curve.append(loss(theta, Xtr, ytr))
        return np.array(curve), loss(theta, Xte, yte)

    eye = torch.eye((K - 1) * d, dtype=torch.float64)
    ngd, ngd_test = run(lambda t: cfg["ngd_lr"] * torch.linalg.solve(
        fisher_kron(t, Xtr, K) + cfg["damping"] * eye, grad(t)))
    gd = {lr: run(lambda t, lr=lr: lr * grad(t)) for lr in cfg["gd_lrs"]}
    finite = {lr: r for lr, r in gd.items() if np.isfinite(r[0][-1])}
    best_lr = min(finite, key=lambda lr: finite[lr][0][-1])
    return {"ngd_train": ngd, "ngd_test": ngd_test, "gd_train": gd[best_lr][0],
            "gd_test": gd[best_lr][1], "gd_best_lr": best_lr,
            "gd_lr_interior": 0 < list(cfg["gd_lrs"]).index(best_lr) < len(cfg["gd_lrs"]) - 1}


# --- the hand-written kernels against autograd, torch and the literal computations ----------------
def _rel(a, b) -> float:
    return float((a - b).norm() / b.norm())


def autograd_log_prob_grads(theta, X, K) -> torch.Tensor:
    """d log p(k | x_i) / d theta by autograd: (n, K, P)."""
    return torch.func.jacrev(lambda t: torch.log_softmax(smr.logits(t, X, K), 1))(theta)


def fisher_kernel_errors(seed: int, cfg: dict = CONFIG["fisher"]) -> dict:
    """Relative errors of the closed-form gradients, Fisher and outer product at the labels
    against their autograd versions."""
    X, y, theta = softmax_problem(seed, **cfg)
    K = cfg["classes"]
    J, p = autograd_log_prob_grads(theta, X, K), torch.softmax(smr.logits(theta, X, K), 1)
    at_labels = J[torch.arange(len(X)), y]
    return {"log_prob_grads": _rel(log_prob_grads(theta, X, K), J),
            "fisher": _rel(fisher(theta, X, K), torch.einsum("nk,nki,nkj->ij", p, J, J) / len(X)),
            "outer product at the labels": _rel(empirical_fisher(theta, X, y, K),
                                                at_labels.T @ at_labels / len(X))}


def dataset_kernel_errors(seed: int, cfg: dict = CONFIG["dataset_fisher"]) -> dict:
    """The per-example Fisher and outer products against autograd; a dataset's count-weighted
    average against the Fisher of its drawn rows; the Monte Carlo estimator against the literal
    average of outer products at labels drawn with the same generator state."""
    X, y, theta = softmax_problem(seed, 300, cfg["dim"], cfg["classes"], 1.0)
    K = cfg["classes"]
    J, p = autograd_log_prob_grads(theta, X, K), torch.softmax(smr.logits(theta, X, K), 1)
    outer = J[..., :, None] * J[..., None, :]
    draws = torch.randint(len(X), (2, 50), generator=torch.Generator().manual_seed(seed))
    counts = dataset_draws(len(X), 50, 2, torch.Generator().manual_seed(seed))
    labels = torch.multinomial(p, 8, replacement=True, generator=torch.Generator().manual_seed(
        seed))
    literal = outer[torch.arange(len(X))[:, None], labels].mean((0, 1)).flatten()
    return {"per-example Fisher": _rel(per_example_fisher(theta, X, K),
                                       torch.einsum("nk,nkij->nij", p, outer)),
            "outer products per class": _rel(label_outer_products(theta, X, K), outer.flatten(2)),
            "dataset average by counts": _rel(counts[0] @ per_example_fisher(theta, X, K).flatten(1)
                                              / 50, fisher(theta, X[draws[0]], K).flatten()),
            "Monte Carlo F by counts": _rel(sampled_label_fishers(
                theta, X, K, 8, 1, torch.Generator().manual_seed(seed))[0], literal)}


def kl_kernel_errors(seed: int, cfg: dict = CONFIG["kl_step"]) -> dict:
    """The expected KL against torch's kl_div; its Hessian (autograd) against the closed-form
    Fisher at theta and at theta + Delta; its gradient at 0 (relative to g); Newton's solver on
    the quadratic model against its closed-form minimizer -c F^-1 g (c = 1 and 1e-3)."""
    X, theta, g, natural = kl_problem(seed, cfg)
    K = cfg["classes"]
    delta = 0.5 * torch.randn(theta.shape, generator=torch.Generator().manual_seed(seed),
                              dtype=theta.dtype)
    lp = torch.log_softmax(smr.logits(theta, X, K), 1)
    lq = torch.log_softmax(smr.logits(theta + delta, X, K), 1)
    torch_kl = torch.nn.functional.kl_div(lq, lp, log_target=True, reduction="batchmean")
    hess = lambda d: torch.autograd.functional.hessian(  # noqa: E731
        lambda u: expected_kl(theta, u, X, K), d)
    zero = torch.zeros_like(theta, requires_grad=True)
    (grad0,) = torch.autograd.grad(expected_kl(theta, zero, X, K), zero)
    return {"expected KL vs torch kl_div": abs(float(expected_kl(theta, delta, X, K) - torch_kl))
            / float(torch_kl),
            "Hessian of the KL at 0 vs F(theta)": _rel(hess(torch.zeros_like(theta)),
                                                       fisher(theta, X, K)),
            "Hessian of the KL at Delta vs F(theta + Delta)": _rel(hess(delta),
                                                                   fisher(theta + delta, X, K)),
            "|grad KL at 0| / |g|": float(grad0.norm() / g.norm()),
            "Newton on the quadratic model, c = 1": quadratic_model_minimizer(seed, 1.0, cfg),
            "Newton on the quadratic model, c = 1e-3": quadratic_model_minimizer(seed, 1e-3, cfg)}


def third_order_error(seed: int, cfg: dict = CONFIG["kl_step"], eps: float = 1e-4) -> float:
    """T[n, n, .] as ``third_order_coefficient`` takes it (autograd through the closed-form
    Fisher) against central differences of the KL's autograd Hessian along n: (H(eps n) -
    H(-eps n)) n / (2 eps), whose own error is O(eps^2)."""
    X, theta, g, natural = kl_problem(seed, cfg)
    K = cfg["classes"]
    hess = lambda d: torch.autograd.functional.hessian(  # noqa: E731
        lambda u: expected_kl(theta, u, X, K), d)
    fd = (hess(eps * natural) - hess(-eps * natural)) @ natural / (2 * eps)
    F = fisher(theta, X, K)
    return _rel(-2 * F @ third_order_coefficient(X, theta, natural, K), fd)


def fisher_kron_error(seed: int) -> float:
    """The block-assembled Fisher of the digits run against the per-example form, on a random
    10-class problem."""
    X, _, theta = softmax_problem(seed, 60, 7, 10, 1.0)
    return _rel(fisher_kron(theta, X, 10), fisher(theta, X, 10))
