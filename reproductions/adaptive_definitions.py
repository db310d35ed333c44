"""The adaptive methods as the documents define them, beside torch.optim and closed forms.

- AdaGrad's step size per coordinate, eta / sqrt(G_ii), G the running sum of squared gradients
  (Duchi, Hazan & Singer, JMLR 2011): what it does to a stiff coordinate (large, oscillating
  gradients) and to a rare feature (few non-zero gradients).
- AdaGrad scales by diag(G)^(-1/2), the inverse of the diagonal, which is not the diagonal of an
  inverse when the gradients are correlated.
- Adam (Kingma & Ba, ICLR 2015): an exponential average of the gradient over the square root of
  an exponential average of its element-wise square, both divided by their bias corrections; the
  notes' "outer product" version and the Nesterov variant NAdam (Dozat, ICLR 2016 workshop).
- The rules printed without a stabilizing constant, and Adadelta with a sum where Zeiler (2012)
  has a decaying average.

Every rule is a ``step(g, state, t) -> (update, state)`` as in ``document_rules``; everything is
float64.
"""

from __future__ import annotations

import numpy as np
import torch

from . import rule_runs

DT = torch.float64


# --- rules ------------------------------------------------------------------------------------
def adagrad_eq5(lr: float, eps: float = 1e-10):
    """Slides 002, eq. (5): theta <- theta - lr / sqrt(G_t + eps) g_t, G_t = sum_{j<=t} g_j^2
    (eps inside the root; torch.optim.Adagrad puts it outside)."""
    def step(g, G, t):
        G = g * g if G is None else G + g * g
        return -lr * g / (G + eps).sqrt(), G
    return step


def adagrad_without_eps(lr: float):
    """AdaGrad as the notes' eq. (1) prints it, but with g_t in the sum: no constant at all."""
    def step(g, G, t):
        G = g * g if G is None else G + g * g
        return -lr * g / G.sqrt(), G
    return step


def rmsprop_without_eps(lr: float, rho: float = 0.99):
    """RMSProp with g_t in its average and no constant: x <- x - lr g_t / sqrt(v_t)."""
    def step(g, v, t):
        v = (1 - rho) * g * g if v is None else rho * v + (1 - rho) * g * g
        return -lr * g / v.sqrt(), v
    return step


def adadelta_with_a_sum(rho: float = 0.9, eps: float = 1e-6):
    """Adadelta (Zeiler 2012, Algorithm 1) with the slides' accumulator: the denominator's
    E[g^2]_t replaced by the sum of the squared gradients up to t; the numerator's decaying
    average of squared updates kept."""
    def step(g, state, t):
        G, Ex = (torch.zeros_like(g), torch.zeros_like(g)) if state is None else state
        G = G + g * g
        update = -((Ex + eps).sqrt() / (G + eps).sqrt()) * g
        Ex = rho * Ex + (1 - rho) * update * update
        return update, (G, Ex)
    return step


def full_matrix_adam(lr: float, b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8):
    """Adam with the notes' second moment, the outer product: V_t = b2 V_{t-1} + (1 - b2) g g^T
    and the update -lr (V_t / (1 - b2^t))^(-1/2) m_t / (1 - b1^t), the inverse root taken on V's
    eigenvalues as 1 / (sqrt(lambda) + eps) (Adam's eps, per eigen-direction)."""
    def step(g, state, t):
        m, V = (torch.zeros_like(g), torch.zeros(len(g), len(g), dtype=g.dtype)) \
            if state is None else state
        m = b1 * m + (1 - b1) * g
        V = b2 * V + (1 - b2) * torch.outer(g, g)
        lam, Q = torch.linalg.eigh(V / (1 - b2 ** t))
        inverse_root = Q @ torch.diag(1 / (lam.clamp(min=0).sqrt() + eps)) @ Q.T
        return -lr * inverse_root @ (m / (1 - b1 ** t)), (m, V)
    return step


def nadam_constant_momentum(lr: float, b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8):
    """Nesterov-accelerated Adam (Dozat 2016, Algorithm 2) with a constant momentum b1: the
    first moment looks one step ahead, b1 m_t / (1 - b1^(t+1)) + (1 - b1) g_t / (1 - b1^t),
    over Adam's sqrt(v_t / (1 - b2^t)) + eps."""
    def step(g, state, t):
        m, v = (torch.zeros_like(g), torch.zeros_like(g)) if state is None else state
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        ahead = b1 * m / (1 - b1 ** (t + 1)) + (1 - b1) * g / (1 - b1 ** t)
        return -lr * ahead / ((v / (1 - b2 ** t)).sqrt() + eps), (m, v)
    return step


def moment_estimates(grads: torch.Tensor, b1: float, b2: float, m0: torch.Tensor | None = None):
    """Adam's raw and bias-corrected moments (m_t, v_t, m^_t, v^_t) after each gradient of
    ``grads`` (T, d), from m_0 = ``m0`` (default 0) and v_0 = 0."""
    m = torch.zeros_like(grads[0]) if m0 is None else m0
    v, out = torch.zeros_like(grads[0]), []
    for t, g in enumerate(grads, start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        out.append((m, v, m / (1 - b1 ** t), v / (1 - b2 ** t)))
    return [torch.stack(x) for x in zip(*out)]


# --- problems ---------------------------------------------------------------------------------
def run_rule(step_fn, curvatures: torch.Tensor, steps: int) -> np.ndarray:
    """x_0 .. x_steps of a rule on f(x) = sum_i a_i x_i^2 / 2 (a_i = ``curvatures``, zero allowed:
    a coordinate the loss ignores), from x_0 = 1: ``rule_runs.trajectory``."""
    return rule_runs.trajectory(step_fn, steps, curvatures=curvatures)


def run_torch(make, curvatures: torch.Tensor, steps: int) -> np.ndarray:
    """The same problem through ``make([x])``, a torch.optim optimizer
    (``rule_runs.torch_trajectory``), run with float64 as torch's default dtype, so that
    the optimizer's own scalars (NAdam's momentum product) are float64 too."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(DT)
    try:
        return rule_runs.torch_trajectory(make, steps, curvatures=curvatures)
    finally:
        torch.set_default_dtype(previous)


def correlated_gradients(seed: int, dim: int, steps: int, rho: float) -> torch.Tensor:
    """``steps`` gradients in R^dim with unit variances and correlation rho between every pair
    of coordinates (an equicorrelated Gaussian), mean zero."""
    g = torch.Generator().manual_seed(seed)
    cov = (1 - rho) * torch.eye(dim, dtype=DT) + rho * torch.ones(dim, dim, dtype=DT)
    return torch.randn(steps, dim, generator=g, dtype=DT) @ torch.linalg.cholesky(cov).T


def adagrad_scales(grads: torch.Tensor) -> dict:
    """Per-coordinate scale of AdaGrad after the gradients ``grads`` (T, d): its own,
    diag(G)^(-1/2), and the slides' reading, the diagonal of an inverse, diag(G^-1)^(1/2)
    (G = sum_t g_t g_t^T)."""
    G = grads.T @ grads
    return {"inverse of the diagonal": G.diagonal().rsqrt(),
            "diagonal of the inverse": torch.linalg.inv(G).diagonal().sqrt()}


def torch_adagrad_state_sum(grads: torch.Tensor) -> torch.Tensor:
    """torch.optim.Adagrad's accumulator after the gradients ``grads`` (T, d) are fed to it."""
    x = torch.zeros(grads.shape[1], dtype=DT, requires_grad=True)
    opt = torch.optim.Adagrad([x], lr=0.1)
    for g in grads:
        x.grad = g.clone()
        opt.step()
    return opt.state[x]["sum"]


# --- AdaGrad's per-coordinate rates -------------------------------------------------------------
def adagrad_rates_on_a_quadratic(curvatures, lr: float, steps: int) -> np.ndarray:
    """AdaGrad's effective rates lr / sqrt(G_ii) after ``steps`` on the quadratic (from 1)."""
    x, G = torch.ones(len(curvatures), dtype=DT), torch.zeros(len(curvatures), dtype=DT)
    for _ in range(steps):
        g = curvatures * x
        G = G + g * g
        x = x - lr * g / (G.sqrt() + 1e-10)
    return (lr / G.sqrt()).numpy()


def sign_changes(trajectory: np.ndarray, coordinate: int) -> int:
    """How often a coordinate of a trajectory changes sign."""
    s = np.sign(trajectory[:, coordinate])
    return int((s[1:] * s[:-1] < 0).sum())


def sparse_logistic_data(seed: int, n: int, rare_fraction: float, frequent_fraction: float = 1.0):
    """Logistic-regression data with two binary features: a frequent one, present in a fraction
    ``frequent_fraction`` of the rows, and a rare one (``rare_fraction``); labels
    y = sign(x_frequent + x_rare - 0.5 + N(0, 1/4)) in {-1, +1}."""
    rng = np.random.default_rng(seed)
    X = np.stack([rng.random(n) < frequent_fraction, rng.random(n) < rare_fraction], 1) * 1.0
    y = np.where(X.sum(1) - 0.5 + 0.5 * rng.standard_normal(n) > 0, 1.0, -1.0)
    return torch.tensor(X, dtype=DT), torch.tensor(y, dtype=DT)


def logistic_gradient(w: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Gradient of log(1 + exp(-y w.x)) in w, for a batch of models: w, x (S, d), y (S,)."""
    return (-y * torch.sigmoid(-y * (w * x).sum(1)))[:, None] * x


def adagrad_on_sparse_logistic(seeds, n: int = 1000, rare_fraction: float = 0.03,
                               frequent_fraction: float = 1.0, lr: float = 0.5):
    """AdaGrad on logistic regression, one example per step, one pass, for each seed at once:
    the final weights and the effective rates lr / sqrt(G_ii), each (len(seeds), 2) (frequent,
    rare)."""
    data = [sparse_logistic_data(s, n, rare_fraction, frequent_fraction) for s in seeds]
    X, y = torch.stack([d[0] for d in data]), torch.stack([d[1] for d in data])
    w, G = torch.zeros(len(seeds), 2, dtype=DT), torch.zeros(len(seeds), 2, dtype=DT)
    for i in range(n):
        g = logistic_gradient(w, X[:, i], y[:, i])
        G = G + g * g
        w = w - lr * g / (G.sqrt() + 1e-10)
    return w.numpy(), (lr / G.sqrt()).numpy()


def torch_adagrad_on_sparse_logistic(seed: int, n: int = 1000, rare_fraction: float = 0.03,
                                     lr: float = 0.5):
    """One seed of the same run through torch.optim.Adagrad and autograd: (final weights,
    effective rates)."""
    X, y = sparse_logistic_data(seed, n, rare_fraction)
    w = torch.zeros(2, dtype=DT, requires_grad=True)
    opt = torch.optim.Adagrad([w], lr=lr)
    for i in range(n):
        opt.zero_grad()
        torch.nn.functional.softplus(-y[i] * (X[i] @ w)).backward()
        opt.step()
    return w.detach().numpy(), (lr / opt.state[w]["sum"].sqrt()).numpy()


# --- units (Zeiler 2012, Section 3.2) ---------------------------------------------------------
# In units phi = c theta a gradient is g / c; a rule whose step has the parameter's units moves
# phi by c times what it moves theta. Each accumulator carries the units of what it averages.
UNIT_POWERS = {"mean_sq": -2, "sum_sq": -2, "v": -2, "v_max": -2, "m": -1, "momentum": -1,
               "mean_sq_delta": 2}


def in_units(state, c: float):
    """An optimizer state (one of ``reproductions.optimizers``' NamedTuples) written in units
    phi = c theta: each accumulator times c to the power of its units (``UNIT_POWERS``)."""
    return state._replace(**{name: getattr(state, name) * c ** UNIT_POWERS[name]
                             for name in state._fields
                             if name in UNIT_POWERS and getattr(state, name) is not None})


def step_unit_ratio(make, c: float, seed: int, warmup: int = 50) -> float:
    """The step's scaling under theta -> c theta: accumulate a state by feeding ``warmup`` random
    gradients to ``make()`` (the rule with its eps), write it in the new units, and take one step
    from each with ``make(eps=0)`` (the formula itself): step in phi / (c step in theta). 1: the
    step has the parameter's units; 1/c: it is a pure number; 1/c^2: the gradient's units."""
    g = torch.Generator().manual_seed(seed)
    grads = torch.randn(warmup + 1, dtype=torch.float64, generator=g) + 0.5
    opt = make()
    state = opt.init(torch.zeros((), dtype=torch.float64))
    for grad in grads[:-1]:
        _, state = opt.update(grad, state)
    formula = make(eps=0.0)
    in_theta, _ = formula.update(grads[-1], state)
    in_phi, _ = formula.update(grads[-1] / c, in_units(state, c))
    return float(in_phi / (c * in_theta))


def displacement_unit_ratio(make, c: float, steps: int, curvature: float = 1.0) -> float:
    """The rule as run (its eps, accumulators from zero) on f(theta) = curvature theta^2 / 2 from
    theta = 1 and on the same function in units phi = c theta from phi = c: the distance phi has
    moved after ``steps`` steps over c times the distance theta has."""
    moved = []
    for scale in (1.0, c):
        opt = make()
        x = torch.tensor(scale, dtype=torch.float64)
        state = opt.init(x)
        for _ in range(steps):
            update, state = opt.update(curvature * x / scale ** 2, state)
            x = x + update
        moved.append(float(x) - scale)
    return moved[1] / (c * moved[0])
