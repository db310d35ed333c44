"""Softmax regression on scikit-learn's digits: p(y | x) = softmax(W x) with the last class's
row of W fixed at 0 (the parameters are identifiable, the Fisher invertible); theta holds the
other K - 1 rows, flattened. The model of the natural-gradient claims and of the notes'
classification objective.
"""

from __future__ import annotations

import torch

from .data import digits


def logits(theta: torch.Tensor, X: torch.Tensor, K: int) -> torch.Tensor:
    """(n, K) logits, the last class's at 0."""
    W = theta.view(K - 1, X.shape[1])
    return torch.cat([X @ W.T, torch.zeros(len(X), 1, dtype=X.dtype)], 1)


def mean_cross_entropy(theta, X, y, K):
    return torch.nn.functional.cross_entropy(logits(theta, X, K), y)


def digits_softmax_split(seed: int, train_fraction: float):
    """scikit-learn's 8x8 digits, standardized features plus a bias column, a random split."""
    _, rows, labels = digits()
    X = torch.tensor(rows, dtype=torch.float64)
    X = (X - X.mean(0)) / X.std(0).clamp_min(1e-12)
    X = torch.cat([X, torch.ones(len(X), 1, dtype=torch.float64)], 1)
    y = torch.tensor(labels, dtype=torch.int64)
    order = torch.randperm(len(y), generator=torch.Generator().manual_seed(seed))
    n = int(train_fraction * len(y))
    return X[order[:n]], y[order[:n]], X[order[n:]], y[order[n:]]
