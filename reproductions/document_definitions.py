"""Definitions the documents state in passing, each beside torch, scikit-learn or a closed form:
losses (softmax, cross-entropy, hinge, logistic), the ridge derivation, dropout's conventions,
the mixing augmentations' distributions, activations' derivatives, solving with an
ill-conditioned Hessian, and the minimum-norm solution's expected error.

Everything is float64 unless a function says otherwise; each function takes sizes and a seed and
returns arrays or numbers.
"""

from __future__ import annotations

import math

import numpy as np
import torch

DT = torch.float64


def generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# --- losses -----------------------------------------------------------------------------------
def naive_softmax(z: torch.Tensor) -> torch.Tensor:
    """exp(z) / sum exp(z), without subtracting the largest logit."""
    return z.exp() / z.exp().sum(-1, keepdim=True)


def cross_entropy_of_distributions(target: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    """H(P, Q) = -sum_y P(y) log Q(y) per row, Q = softmax(logits)."""
    return -(target * torch.log_softmax(logits, -1)).sum(-1)


def hinge(y: torch.Tensor, score: torch.Tensor) -> torch.Tensor:
    """Slides 002, eq. (2): max{1 - y s, 0}, y in {-1, +1}."""
    return torch.clamp(1 - y * score, min=0)


def logistic(y: torch.Tensor, score: torch.Tensor) -> torch.Tensor:
    """Slides 002, eq. (3): log(1 + exp(-y s)), y in {-1, +1} (softplus, stable)."""
    return torch.nn.functional.softplus(-y * score)


# --- the ridge derivation (slides 002, 'Regularization for linear models') --------------------
def ridge_problem(seed: int, n: int = 30, p: int = 5, lam: float = 0.7):
    """X (n, p), y (n, 1), theta (p, 1) column vectors, and lambda."""
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, p)), rng.standard_normal((n, 1)), \
        rng.standard_normal((p, 1)), lam


def ridge_loss(X, y, theta, lam) -> float:
    """(y - X theta)^T (y - X theta) + lambda theta^T theta."""
    r = y - X @ theta
    return float((r.T @ r + lam * theta.T @ theta).item())


def ridge_lines(X, y, theta, lam) -> dict:
    """Each printed line of the derivation, evaluated literally with column vectors: a number,
    an array of another shape, or the error numpy raises."""
    T = theta.T
    lines = {
        "line 3 (-theta^T X^T, no y)": lambda: y.T @ y - T @ X.T - y.T @ X @ theta
        + T @ X.T @ X @ theta + lam * T @ theta,
        "line 4, first render (-2 theta^T X^T y^T)": lambda: y.T @ y - 2 * T @ X.T @ y.T
        + T @ X.T @ X @ theta + lam * T @ theta,
        "line 4, second render (-2 theta^T X^T y)": lambda: y.T @ y - 2 * T @ X.T @ y
        + T @ X.T @ X @ theta + lam * T @ theta,
        "gradient (-2 X^T y + 2 theta^T X^T X + 2 lambda theta)": lambda: -2 * X.T @ y
        + 2 * T @ X.T @ X + 2 * lam * theta,
        "stationarity, left minus right (theta^T X^T X + lambda theta - X^T y)": lambda:
        T @ X.T @ X + lam * theta - X.T @ y,
    }
    out = {}
    for name, line in lines.items():
        try:
            out[name] = line()
        except ValueError as error:
            out[name] = error
    return out


def ridge_gradient(X, y, theta, lam) -> np.ndarray:
    """The corrected gradient -2 X^T y + 2 X^T X theta + 2 lambda theta, a column."""
    return -2 * X.T @ y + 2 * X.T @ X @ theta + 2 * lam * theta


def ridge_autograd_gradient(X, y, theta, lam) -> np.ndarray:
    t = torch.tensor(theta, requires_grad=True)
    r = torch.tensor(y) - torch.tensor(X) @ t
    (r.T @ r + lam * t.T @ t).sum().backward()
    return t.grad.numpy()


def ridge_closed_form(X, y, lam) -> np.ndarray:
    """(X^T X + lambda I)^-1 X^T y."""
    return np.linalg.solve(X.T @ X + lam * np.eye(X.shape[1]), X.T @ y)


# --- dropout --------------------------------------------------------------------------------------
def dropout_mean(x: torch.Tensor, rate: float, draws: int, seed: int, inverted: bool = True):
    """Monte Carlo mean and standard error of dropout on ``x`` (training mode): torch's
    inverted dropout, or the mask alone (the original, non-inverted form)."""
    torch.manual_seed(seed)
    batch = x.expand(draws, *x.shape)
    samples = torch.nn.functional.dropout(batch, rate, training=True)
    if not inverted:
        samples = samples * (1 - rate)
    return samples.mean(0), samples.std(0) / math.sqrt(draws)


def distinct_dropout_masks(units: int, draws: int, seed: int, rate: float = 0.5) -> int:
    """How many distinct masks torch's dropout draws over ``units`` units in ``draws`` draws."""
    torch.manual_seed(seed)
    kept = torch.nn.functional.dropout(torch.ones(draws, units, dtype=DT), rate) > 0
    return len(torch.unique(kept, dim=0))


def distinct_subnetwork_outputs(units: int, seed: int) -> int:
    """How many different outputs the 2^units masked copies of one random 4 -> units -> 1
    sigmoid net give on one input (rounded to 1e-9): a different function per mask."""
    g = generator(seed)
    W1, W2 = torch.randn(units, 4, generator=g, dtype=DT), torch.randn(1, units, generator=g,
                                                                     dtype=DT)
    h = torch.sigmoid(W1 @ torch.randn(4, generator=g, dtype=DT))
    masks = torch.tensor([[(m >> i) & 1 for i in range(units)] for m in range(2 ** units)],
                         dtype=DT)
    outputs = (masks * h) @ W2.T
    return len(torch.unique(torch.round(outputs * 1e9)))


def slides_test_rule_on_an_inverted_layer(seed: int, rate: float = 0.5, inputs: int = 32,
                                          draws: int = 1000):
    """A Dense(50)-ReLU-Dropout(rate)-Dense(1, no bias) net (torch's Dropout is inverted, as
    Keras'), on ``inputs`` random inputs: its eval-mode outputs, those outputs with the slides'
    test-time rule applied on top (the weights after the dropout multiplied by the keep
    probability), and the Monte Carlo mean of its training-mode outputs with their standard
    errors (``draws`` masks per input); arrays of shape (inputs,)."""
    torch.manual_seed(seed)
    net = torch.nn.Sequential(torch.nn.Linear(8, 50), torch.nn.ReLU(), torch.nn.Dropout(rate),
                              torch.nn.Linear(50, 1, bias=False)).double()
    x = torch.randn(inputs, 8, dtype=DT)
    with torch.no_grad():
        net.eval()
        evaluated = net(x)[:, 0]
        scaled = torch.relu(net[0](x)) @ ((1 - rate) * net[3].weight.T)[:, 0]
        net.train()
        samples = net(x.expand(draws, inputs, 8))[..., 0]
    return (evaluated.numpy(), scaled.numpy(), samples.mean(0).numpy(),
            samples.std(0).numpy() / math.sqrt(draws))


# --- augmentations --------------------------------------------------------------------------------
def beta_accepts_one_parameter(alpha: float = 0.2) -> bool:
    """Does numpy accept a Beta distribution with one parameter (the slides' Beta(alpha))?"""
    try:
        np.random.default_rng(0).beta(alpha)
    except TypeError:
        return False
    return True


def mixup_lambdas(seed: int, alpha: float = 0.2, draws: int = 20000) -> np.ndarray:
    """lambda ~ Beta(alpha, alpha), as Zhang et al. draw it."""
    return np.random.default_rng(seed).beta(alpha, alpha, draws)


def jensen_shannon(probabilities: torch.Tensor) -> torch.Tensor:
    """AugMix's consistency term: the mean of KL(p_i || M) over the rows p_i of ``probabilities``
    (k, classes), M their average."""
    M = probabilities.mean(0)
    return (probabilities * (probabilities.log() - M.log())).sum(-1).mean()


def entropy(p: torch.Tensor) -> torch.Tensor:
    return -(p * p.log()).sum(-1)


def jensen_shannon_on_logits(logits: torch.Tensor) -> torch.Tensor:
    """The slides' version: the same KLs evaluated on the logits, M the average of the logits."""
    return jensen_shannon(logits)


# --- activations -----------------------------------------------------------------------------------
def derivative(activation, x: torch.Tensor) -> torch.Tensor:
    """d activation / dx by autograd, elementwise."""
    x = x.clone().requires_grad_()
    activation(x).sum().backward()
    return x.grad


# --- an ill-conditioned Hessian ---------------------------------------------------------------
def solve_error(seed: int, condition: float, dtype: torch.dtype, n: int = 50) -> float:
    """Relative error of torch.linalg.solve(H, g) in ``dtype`` for a symmetric positive definite
    H with eigenvalues log-spaced over [1/condition, 1] and a known solution x."""
    g = generator(seed)
    Q, _ = torch.linalg.qr(torch.randn(n, n, generator=g, dtype=DT))
    H = Q @ torch.diag(torch.logspace(-math.log10(condition), 0, n, dtype=DT)) @ Q.T
    x = torch.randn(n, generator=g, dtype=DT)
    solved = torch.linalg.solve(H.to(dtype), (H @ x).to(dtype)).to(DT)
    return float(torch.linalg.norm(solved - x) / torch.linalg.norm(x))


# --- the minimum-norm solution's expected error ---------------------------------------------
def min_norm_interpolant(X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """X^T (X X^T)^-1 y for each row y of ``Y`` (draws, k): rows of the result are in R^d."""
    return Y @ np.linalg.inv(X @ X.T) @ X


def min_norm_expected_errors(seed: int, k: int = 20, d: int = 100, draws: int = 4000,
                             prior_mean_scale: float = 0.0) -> dict:
    """Underdetermined least squares X (k, d) w = y, y = X w*, w* ~ N(mu, I) with mu =
    ``prior_mean_scale`` times a unit null-space direction of X. Returns the Monte Carlo mean
    of ||w - w*||^2 for the minimum-norm interpolant X^T (X X^T)^-1 y, for it plus a fixed unit
    null-space vector z, and for it plus mu's null-space part (the interpolant the prior's mean
    suggests); the closed-form check |X^T (X X^T)^-1 y - pinv(X) y|; and max(|X z|, |X mu|),
    which is 0 when the two others are interpolants too."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((k, d))
    null = np.linalg.svd(X)[2][k:]                              # (d - k, d) orthonormal rows
    z = null.T @ rng.standard_normal(d - k)
    z /= np.linalg.norm(z)
    direction = null.T @ rng.standard_normal(d - k)
    mu = prior_mean_scale * direction / np.linalg.norm(direction)
    W = mu + rng.standard_normal((draws, d))                     # rows: draws of w*
    Y = W @ X.T
    min_norm = min_norm_interpolant(X, Y)
    closed_form_gap = np.abs(min_norm - Y @ np.linalg.pinv(X).T).max()
    error = lambda V: float(((V - W) ** 2).sum(1).mean())       # noqa: E731
    return {"min-norm": error(min_norm), "min-norm + z": error(min_norm + z),
            "min-norm + prior mean": error(min_norm + mu), "closed-form gap": closed_form_gap,
            "null-space residual": float(max(np.abs(X @ z).max(), np.abs(X @ mu).max())),
            "null dimension": d - k}


# --- CutMix against Cutout ------------------------------------------------------------------------
def cutmix_box(lam: float, size: int, rng) -> tuple[int, int, int, int]:
    """Yun et al. (ICCV 2019, eq. (2)): a box of sides size sqrt(1 - lambda) centred uniformly
    at random, clipped to the image: (top, bottom, left, right)."""
    side = size * math.sqrt(1 - lam)
    cy, cx = rng.integers(0, size, 2)
    top, bottom = int(np.clip(cy - side / 2, 0, size)), int(np.clip(cy + side / 2, 0, size))
    left, right = int(np.clip(cx - side / 2, 0, size)), int(np.clip(cx + side / 2, 0, size))
    return top, bottom, left, right


def cutmix_label_weights(seed: int, draws: int = 2000, size: int = 32, alpha: float = 1.0):
    """CutMix's label weight of the first image, 1 - (box area) / size^2, with lambda ~ Beta(alpha,
    alpha) (as in Mixup), and the share of the first image's pixels in each mixed image (built
    with the box pasted from a second image)."""
    rng = np.random.default_rng(seed)
    weights, shares = [], []
    first, second = np.zeros((size, size)), np.ones((size, size))
    for lam in rng.beta(alpha, alpha, draws):
        top, bottom, left, right = cutmix_box(lam, size, rng)
        mixed = first.copy()
        mixed[top:bottom, left:right] = second[top:bottom, left:right]
        weights.append(1 - (bottom - top) * (right - left) / size ** 2)
        shares.append(float((mixed == 0).mean()))
    return np.array(weights), np.array(shares)


def cutout_kept_fractions(seed: int, draws: int = 2000, size: int = 32, patch: int = 16):
    """Cutout (DeVries & Taylor 2017): a fixed patch x patch square centred uniformly at random
    and clipped: the fraction of the image it leaves, the nearest thing to a 'lambda' it has."""
    rng = np.random.default_rng(seed)
    kept = []
    for cy, cx in rng.integers(0, size, (draws, 2)):
        h = np.clip(cy + patch // 2, 0, size) - np.clip(cy - patch // 2, 0, size)
        w = np.clip(cx + patch // 2, 0, size) - np.clip(cx - patch // 2, 0, size)
        kept.append(1 - h * w / size ** 2)
    return np.array(kept)
