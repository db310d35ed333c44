"""The documents' update rules and formulas, run literally, beside their references.

Each ``*_literal`` function implements a rule exactly as one of the documents prints it (the
place is in its docstring); the references are the shared optimizers of
``reproductions.optimizers`` (each checked against ``torch.optim`` in ``tests/test_optimizers.py``
and again by the claim's precondition part), torch itself, or a closed form. A rule is run on a
fixed test problem: a diagonal quadratic f(x) = sum_i a_i x_i^2 / 2 with curvatures spread over
two decades, from x_0 = 1, gradients scaled by ``scale`` (f is multiplied by it), so that a rule's
dependence on the gradients' size can be seen.
"""

from __future__ import annotations

import numpy as np
import torch

from . import softmax_regression

# --- lecture notes 000/001 §1.2 -----------------------------------------------------------------
def adagrad_notes_literal(lr: float):
    """Notes 000/001 eq. (1): x_{t+1} = x_t - lr diag(sum_{tau=1}^{t-1} g_tau g_tau^T)^{-1/2} g_t:
    the sum stops at t - 1 (so at t = 1 it is empty: 0/0 and g/0) and there is no epsilon."""
    def step(g, state, t):
        total = torch.zeros_like(g) if state is None else state
        with np.errstate(divide="ignore", invalid="ignore"):
            upd = -lr * g / total.sqrt()
        return upd, total + g * g
    return step


def rmsprop_notes_literal(lr: float, rho: float):
    """Notes 000/001: x_{t+1} = x_t - lr diag(sum_{tau=1}^{t-1} rho^{t-tau} g g^T)^{-1/2} g_t:
    no (1 - rho) weight, and g_t itself left out of the average."""
    def step(g, state, t):
        acc = torch.zeros_like(g) if state is None else state
        upd = -lr * g / acc.sqrt()
        return upd, rho * (acc + g * g)   # sum_{tau <= t} rho^{t+1-tau} g_tau^2, for step t+1
    return step


def adam_notes000_literal(lr: float, b1: float = 0.9, b2: float = 0.999, delta: float = 1e-8):
    """Notes 000, Fig. 5 (Goodfellow et al., Algorithm 8.7, as rendered there): the first moment is
    corrected by 1 - rho_1 instead of 1 - rho_1^t. The rest of that rendering is garbled beyond
    execution (its second-moment line repeats the first-moment correction and its update reads
    "-eps != sqrt(s^ + s^)"), so the book's remaining lines are used."""
    def step(g, state, t):
        s, r = (torch.zeros_like(g), torch.zeros_like(g)) if state is None else state
        s, r = b1 * s + (1 - b1) * g, b2 * r + (1 - b2) * g * g
        s_hat, r_hat = s / (1 - b1), r / (1 - b2 ** t)
        return -lr * s_hat / (r_hat.sqrt() + delta), (s, r)
    return step


def adam_notes001_literal(lr: float, b1: float = 0.9, b2: float = 0.999, delta: float = 1e-8):
    """Notes 001, Fig. 5: s^ <- s / (1 - rho_1^t) r (a stray factor r) and
    Delta theta = -eps s^ / sqrt(r^ + delta) (delta inside the root)."""
    def step(g, state, t):
        s, r = (torch.zeros_like(g), torch.zeros_like(g)) if state is None else state
        s, r = b1 * s + (1 - b1) * g, b2 * r + (1 - b2) * g * g
        s_hat, r_hat = s / (1 - b1 ** t) * r, r / (1 - b2 ** t)
        return -lr * s_hat / (r_hat + delta).sqrt(), (s, r)
    return step


def adam_notes001_delta_only(lr: float, b1: float = 0.9, b2: float = 0.999, delta: float = 1e-8):
    """Notes 001's Fig. 5 with only its delta-inside-the-root difference (no stray r)."""
    def step(g, state, t):
        s, r = (torch.zeros_like(g), torch.zeros_like(g)) if state is None else state
        s, r = b1 * s + (1 - b1) * g, b2 * r + (1 - b2) * g * g
        s_hat, r_hat = s / (1 - b1 ** t), r / (1 - b2 ** t)
        return -lr * s_hat / (r_hat + delta).sqrt(), (s, r)
    return step


# --- slides 002 -----------------------------------------------------------------------------------
def momentum_alg4_literal(lr: float, beta: float):
    """Slides 002, Algorithm 4 with a fixed schedule multiplier eta_t = 1:
    m_t = beta m_{t-1} + eta_t g_t, theta_t = theta_{t-1} - m_t. The learning rate ``lr`` it is
    "given" never enters."""
    def step(g, state, t):
        m = beta * (torch.zeros_like(g) if state is None else state) + 1.0 * g
        return -m, m
    return step


def momentum_alg4_with_lr(lr: float, beta: float):
    """Algorithm 4 with the learning rate where it belongs: m_t = beta m_{t-1} + lr g_t."""
    def step(g, state, t):
        m = beta * (torch.zeros_like(g) if state is None else state) + lr * g
        return -m, m
    return step


def nesterov_alg5_literal(lr: float, beta: float, grad):
    """Slides 002, Algorithm 5 (eta_t = 1 after scaling by lr): the gradient is taken at
    theta_{t-1} + m_{t-1}, then m_t = beta m_{t-1} + lr g_t and theta_t = theta_{t-1} - m_t. Since
    the step is -m, the look-ahead goes the wrong way (and without beta)."""
    def step(x, state, t):
        m = torch.zeros_like(x) if state is None else state
        m = beta * m + lr * grad(x + m)
        return -m, m
    return step


def nesterov_alg5_corrected(lr: float, beta: float, grad):
    """Algorithm 5 with the look-ahead along the step: the gradient at theta_{t-1} - beta
    m_{t-1}."""
    def step(x, state, t):
        m = torch.zeros_like(x) if state is None else state
        m = beta * m + lr * grad(x - beta * m)
        return -m, m
    return step


def nesterov_table_form(lr: float, beta: float, grad):
    """Slides 002's summary table: m_t = beta m_{t-1} - lr g(theta_t + beta m_{t-1}),
    theta_{t+1} = theta_t + m_t. Returned as the look-ahead point theta + beta m, the variable
    torch.optim.SGD(nesterov=True) keeps."""
    def step(x, state, t):
        theta, m = (x, torch.zeros_like(x)) if state is None else state
        m = beta * m - lr * grad(theta + beta * m)
        theta = theta + m
        return theta + beta * m - x, (theta, m)
    return step


def trajectory_with_state_grad(step_fn, A: torch.Tensor, x0: torch.Tensor, steps: int):
    """f(x_t) for a rule whose ``step_fn(x, state, t)`` evaluates gradients itself, on
    f(x) = x^T A x / 2 (batched over the leading axis)."""
    x, state, out = x0.clone(), None, []
    f = lambda x: 0.5 * torch.einsum("bi,bij,bj->b", x, A, x)  # noqa: E731
    out.append(f(x))
    for t in range(1, steps + 1):
        upd, state = step_fn(x, state, t)
        x = x + upd
        out.append(f(x))
    return torch.stack(out).numpy()


# The slides define RMS once, for eq. (6): RMS(G)_t = E[g^2]_t + eps (no root), while their prose
# calls it an estimate of sqrt(G + eps), Zeiler's RMS[x]_t = sqrt(E[x^2]_t + eps). One definition
# is applied to both eq. (6) and eq. (7) at a time: "slides" (the slides' own, the verdict's
# reading) or "zeiler" (the cited paper's).
RMS_DEFINITIONS = ("slides", "zeiler")


def rms(mean_sq: torch.Tensor, eps: float, definition: str) -> torch.Tensor:
    """RMS of a running mean of squares under one of ``RMS_DEFINITIONS``."""
    return mean_sq + eps if definition == "slides" else (mean_sq + eps).sqrt()


def rmsprop_slides_literal(lr: float, rho: float = 0.99, eps: float = 1e-8,
                           definition: str = "slides"):
    """Slides 002, eq. (6): x <- x - lr / sqrt(RMS(G)_t + eps) g, with RMS from ``rms``: the
    slides' own definition gives lr g / sqrt(E[g^2]_t + 2 eps) (RMSprop with eps inside the root,
    added twice); Zeiler's gives a root of a root."""
    def step(g, state, t):
        e = rho * (torch.zeros_like(g) if state is None else state) + (1 - rho) * g * g
        return -lr * g / (rms(e, eps, definition) + eps).sqrt(), e
    return step


def adadelta_slides_literal(rho: float = 0.9, eps: float = 1e-6, definition: str = "zeiler"):
    """Slides 002, eq. (7) in its summary-table form
    x <- x - RMS(dx)_{t-1} / sqrt(RMS(G)_t + eps) g (the same denominator as eq. (6)), RMS from
    ``rms``: with the slides' own definition the numerator E[dx^2]_{t-1} + eps has no root; with
    Zeiler's the denominator takes a root twice. Zeiler's rule is RMS[dx]_{t-1} / RMS[g]_t g."""
    def step(g, state, t):
        eg, ed = (torch.zeros_like(g), torch.zeros_like(g)) if state is None else state
        eg = rho * eg + (1 - rho) * g * g
        d = rms(ed, eps, definition) / (rms(eg, eps, definition) + eps).sqrt() * g
        ed = rho * ed + (1 - rho) * d * d
        return -d, (eg, ed)
    return step


# --- the documents' formulas written out as sums over the history ---------------------------------
# Independent of the recursions above (which carry a running state): each step computed from the
# whole history at once, with the weights of the printed sums, for the claims' kernel checks.
def literal_steps(step_fn, grads: torch.Tensor) -> torch.Tensor:
    """The steps (T, d) a rule ``step_fn(g, state, t)`` takes on a fixed gradient sequence
    (T, d)."""
    state, out = None, []
    for t, g in enumerate(grads, 1):
        upd, state = step_fn(g, state, t)
        out.append(upd)
    return torch.stack(out)


def weights(T: int, rho: float, strict: bool = False, scale: float = 1.0) -> torch.Tensor:
    """W[t, tau] = scale rho^(t - tau) for tau <= t (tau < t if ``strict``), 0 after: row t of
    W @ x is the weighted sum over the history up to step t (1-based t = row + 1)."""
    t = torch.arange(T, dtype=torch.float64)
    lag = t[:, None] - t[None, :]
    keep = lag > 0 if strict else lag >= 0
    return torch.where(keep, scale * rho ** lag.clamp(min=0), torch.zeros(()).double())


def notes_adagrad_direct(lr: float, G: torch.Tensor) -> torch.Tensor:
    """Notes eq. (1): -lr g_t / sqrt(sum_{tau=1}^{t-1} g_tau^2)."""
    return -lr * G / (weights(len(G), 1.0, strict=True) @ G ** 2).sqrt()


def notes_rmsprop_direct(lr: float, rho: float, G: torch.Tensor) -> torch.Tensor:
    """Notes §1.2: -lr g_t / sqrt(sum_{tau=1}^{t-1} rho^(t - tau) g_tau^2)."""
    return -lr * G / (weights(len(G), rho, strict=True) @ G ** 2).sqrt()


def lagged_rmsprop_direct(lr: float, rho: float, G: torch.Tensor) -> torch.Tensor:
    """RMSProp whose average stops at t - 1 (no eps, no bias correction):
    -lr g_t / sqrt(v_{t-1}), v_{t-1} = (1 - rho) sum_{tau <= t-1} rho^(t-1-tau) g_tau^2."""
    v_prev = weights(len(G), rho, strict=True, scale=(1 - rho) / rho) @ G ** 2
    return -lr * G / v_prev.sqrt()


def adam_direct(lr: float, G: torch.Tensor, b1=0.9, b2=0.999, delta=1e-8,
                variant: str = "notes000") -> torch.Tensor:
    """Fig. 5's Adam from the moment sums s_t = (1 - b1) sum b1^(t-tau) g_tau, r_t = (1 - b2)
    sum b2^(t-tau) g_tau^2: notes 000 (s / (1 - b1)), notes 001 (s / (1 - b1^t) r, delta inside
    the root) or notes 001 with only delta inside the root ("delta_only")."""
    T = len(G)
    t = torch.arange(1, T + 1, dtype=torch.float64)[:, None]
    s = weights(T, b1, scale=1 - b1) @ G
    r = weights(T, b2, scale=1 - b2) @ G ** 2
    r_hat = r / (1 - b2 ** t)
    if variant == "notes000":
        return -lr * (s / (1 - b1)) / (r_hat.sqrt() + delta)
    s_hat = s / (1 - b1 ** t) * (r if variant == "notes001" else 1.0)
    return -lr * s_hat / (r_hat + delta).sqrt()


def momentum_alg4_direct(lr: float | None, beta: float, G: torch.Tensor) -> torch.Tensor:
    """Algorithm 4: m_t = sum beta^(t-tau) c g_tau, step -m_t, c = 1 as printed (``lr`` None) or
    the learning rate where it belongs."""
    return -(weights(len(G), beta) @ G) * (1.0 if lr is None else lr)


def rmsprop_slides_direct(lr: float, G: torch.Tensor, rho=0.99, eps=1e-8,
                          definition: str = "slides") -> torch.Tensor:
    """Eq. (6) with E[g^2]_t = (1 - rho) sum rho^(t-tau) g_tau^2 and ``rms``'s definition."""
    mean_sq = weights(len(G), rho, scale=1 - rho) @ G ** 2
    return -lr * G / (rms(mean_sq, eps, definition) + eps).sqrt()


def adadelta_slides_direct(G: torch.Tensor, rho=0.9, eps=1e-6,
                           definition: str = "zeiler") -> torch.Tensor:
    """Eq. (7) (table form) with both running means written as sums over the history: the
    gradients' up to t, the steps' up to t - 1."""
    T = len(G)
    mean_g = weights(T, rho, scale=1 - rho) @ G ** 2
    W = weights(T, rho, scale=1 - rho)
    steps = torch.zeros_like(G)
    for t in range(T):
        mean_d = W[t - 1, :t] @ steps[:t] ** 2 if t else torch.zeros_like(G[0])
        steps[t] = -(rms(mean_d, eps, definition)
                     / (rms(mean_g[t], eps, definition) + eps).sqrt() * G[t])
    return steps


def rmsprop_eps_inside(lr: float, G: torch.Tensor, rho=0.99, eps=2e-8) -> torch.Tensor:
    """RMSprop with eps inside the root (TensorFlow 1's tf.train.RMSPropOptimizer):
    -lr g_t / sqrt(E[g^2]_t + eps)."""
    return -lr * G / (weights(len(G), rho, scale=1 - rho) @ G ** 2 + eps).sqrt()


def variance_of_the_mean(N: int, sigma: float, draws: int, seed: int) -> float:
    """Monte Carlo variance of the mean of N i.i.d. N(0, sigma^2) observations."""
    g = torch.Generator().manual_seed(seed)
    means = (sigma * torch.randn(draws, N, generator=g, dtype=torch.float64)).mean(1)
    return float(means.var())


# --- notes 000 §1.1: the classification objective ------------------------------------------------
def log_likelihood_objectives(seed: int, steps: int = 200, lr: float = 0.5) -> dict:
    """Softmax regression on digits trained by GD on the notes' printed objective
    sum_i log P(y_i | x_i) (argmin, no minus sign) and on the cross-entropy -sum_i log P: the
    training accuracy each reaches."""
    X, y, _, _ = softmax_regression.digits_softmax_split(seed, 0.8)
    logits = softmax_regression.logits
    out = {}
    for name, sign in (("notes_printed", 1.0), ("cross_entropy", -1.0)):
        theta = torch.zeros(9 * X.shape[1], dtype=torch.float64, requires_grad=True)
        for _ in range(steps):
            lp = torch.log_softmax(logits(theta, X, 10), 1)[torch.arange(len(y)), y]
            objective = sign * lp.mean()
            (g,) = torch.autograd.grad(objective, theta)
            with torch.no_grad():
                theta -= lr * g
        with torch.no_grad():
            out[name] = float((logits(theta, X, 10).argmax(1) == y).double().mean())
    return out
