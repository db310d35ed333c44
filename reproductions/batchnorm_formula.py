"""The batch-normalization formula of notes 000/001 §2.1 and slides 002, on small random batches.

The documents normalize each coordinate r of a size-k minibatch of activations y^(1..k) by its
batch mean and the root of its batch variance (taken with 1/k), with no stabilizing constant;
Ioffe & Szegedy (ICML 2015, Algorithm 1) and torch add eps under the root. Ioffe & Szegedy §2
explain why training must back-propagate through the batch statistics: with the mean left out
of the gradient, a bias added before the normalization changes nothing in the output, yet
gradient descent moves it without end.

Everything is float64 torch; each function takes a seed (or tensors) and returns tensors or
numbers.
"""

from __future__ import annotations

import torch

DT = torch.float64
# A minibatch of k = 32 examples with d = 8 coordinates: each coordinate gets its own offset and
# scale (so a normalization over the wrong axis is visible), and coordinates are correlated
# through a random mixing matrix (so a decorrelation would be visible).
CONFIG = {"k": 32, "d": 8, "lr": 0.1, "steps": 100}


def batch(seed: int, k: int = CONFIG["k"], d: int = CONFIG["d"]) -> torch.Tensor:
    """k examples (rows) of d correlated coordinates with offsets N(0, 3^2) and scales in
    [0.5, 5]."""
    g = torch.Generator().manual_seed(seed)
    mixing = torch.eye(d, dtype=DT) + 0.8 * torch.randn(d, d, generator=g, dtype=DT)
    offsets = 3.0 * torch.randn(d, generator=g, dtype=DT)
    scales = 0.5 + 4.5 * torch.rand(d, generator=g, dtype=DT)
    return (torch.randn(k, d, generator=g, dtype=DT) @ mixing) * scales + offsets


def normalize(y: torch.Tensor, eps: float = 0.0) -> torch.Tensor:
    """The documents' formula per coordinate (column): (y - mean_B) / sqrt(var_B + eps), the
    batch variance with 1/k; eps = 0 as printed."""
    mean = y.mean(0, keepdim=True)
    var = ((y - mean) ** 2).mean(0, keepdim=True)
    return (y - mean) / torch.sqrt(var + eps)


def normalize_detached(y: torch.Tensor) -> torch.Tensor:
    """The same formula with the batch mean and variance left out of the gradient (treated as
    constants): the forward pass is unchanged."""
    mean = y.mean(0, keepdim=True).detach()
    var = ((y - mean) ** 2).mean(0, keepdim=True).detach()
    return (y - mean) / torch.sqrt(var)


def torch_batch_norm(y: torch.Tensor, eps: float) -> torch.Tensor:
    """torch.nn.functional.batch_norm in training mode, no affine parameters (torch refuses
    eps = 0 in training; 1e-300 vanishes against any non-zero float64 variance)."""
    return torch.nn.functional.batch_norm(y, None, None, training=True, eps=eps)


def correlation(y: torch.Tensor) -> torch.Tensor:
    """The d x d correlation matrix of the batch's coordinates."""
    return torch.corrcoef(y.T)


def bias_drift(seed: int, detached: bool, config: dict = CONFIG) -> dict:
    """Ioffe & Szegedy §2's example: a bias b added before the normalization, the loss
    0.5 ||BN(y + b) - target||^2 / k with a fixed random target, gradient descent on b alone.
    Returns the bias's distance from its start and the loss at every step."""
    y = batch(seed, config["k"], config["d"])
    g = torch.Generator().manual_seed(seed + 1)
    target = torch.randn(y.shape, generator=g, dtype=DT)
    bias = torch.zeros(config["d"], dtype=DT, requires_grad=True)
    norm = normalize_detached if detached else normalize
    moved, losses = [], []
    for _ in range(config["steps"] + 1):
        loss = 0.5 * ((norm(y + bias) - target) ** 2).sum() / config["k"]
        (grad,) = torch.autograd.grad(loss, bias)
        losses.append(loss.item())
        moved.append(bias.detach().norm().item())
        with torch.no_grad():
            bias -= config["lr"] * grad
    return {"moved": torch.tensor(moved, dtype=DT), "loss": torch.tensor(losses, dtype=DT)}


# --- what a change to one layer does downstream ------------------------------------------------
def downstream_changes(seed: int, use_bn: bool, change: str, depth: int = 20, width: int = 64,
                       k: int = 256, size: float = 0.01) -> list[float]:
    """A depth-``depth`` ReLU MLP (He-scaled Gaussian weights, inputs N(0, I) of dimension 32,
    a batch of k), with the documents' BN formula after every linear layer or without: the
    relative change ||z'_l - z_l|| / ||z_l|| of every layer's (normalized) pre-activations when
    the first layer's weights are rescaled by 1 + 50 ``size`` ("rescale") or moved by a random
    matrix of relative size ``size`` ("random")."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(k, 32, generator=g, dtype=DT)
    fan_ins = [32] + [width] * (depth - 1)
    Ws = [torch.randn(width, f, generator=g, dtype=DT) * (2.0 / f) ** 0.5 for f in fan_ins]
    direction = torch.randn(Ws[0].shape, generator=g, dtype=DT)
    moved = Ws[0] * (1 + 50 * size) if change == "rescale" else \
        Ws[0] + size * direction * Ws[0].norm() / direction.norm()

    def layers(weights):
        h, out = x, []
        for W in weights:
            z = h @ W.T
            z = normalize(z) if use_bn else z
            out.append(z)
            h = torch.relu(z)
        return out
    before, after = layers(Ws), layers([moved] + Ws[1:])
    return [float((b - a).norm() / b.norm()) for b, a in zip(before, after)]
