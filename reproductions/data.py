"""Data for the claims: synthetic generators, and verified readers of real data sets.

Real data is never downloaded at run time. It comes from a pip package that ships it, or from the
data directory (``--data-dir`` / ``$REPRO_DATA`` / ``../shared/data``), read in its original
published format after its checksum has been verified. A missing or corrupt file raises
:class:`DataUnavailable`, whose message names the file, the expected checksum and where to get it.
"""

from __future__ import annotations

import hashlib
import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np


class DataUnavailable(RuntimeError):
    """A data file is missing or does not match its published checksum."""


def verified(path: str | Path, digest: str, algorithm: str = "sha256", source: str = "") -> Path:
    """Return ``path`` once its ``algorithm`` digest equals ``digest``; else DataUnavailable."""
    path = Path(path)
    where = f" Get it from {source}." if source else ""
    if not path.is_file():
        raise DataUnavailable(f"missing data file {path} (expected {algorithm} {digest}).{where}")
    h = hashlib.new(algorithm)
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    if h.hexdigest() != digest:
        raise DataUnavailable(f"corrupt data file {path}: {algorithm} {h.hexdigest()}, "
                              f"expected {digest}.{where}")
    return path


# --- Wilson et al. (2017), Section 3.3 ---------------------------------------------------------
@dataclass(frozen=True)
class Wilson:
    X_train: np.ndarray  # (n, d)
    y_train: np.ndarray  # (n,) in {-1, +1}
    X_test: np.ndarray   # (m, d)
    y_test: np.ndarray   # (m,)
    train_support: int   # columns 0 .. train_support-1 hold every non-zero training feature


SLOT = 5  # width of each example's block of unique features


def wilson_dataset(n: int, p: float, m: int, seed: int, variant: str = "paper") -> Wilson:
    """The binary classification problem on which adaptive methods overfit (Wilson, Roelofs,
    Stern, Srebro, Recht, NeurIPS 2017, Section 3.3).

    Example i (1-based) has feature 1 = y_i, features 2 and 3 = 1, and the unique features
    4 + 5(i-1) ... 4 + 5(i-1) + k(1 - y_i) equal to 1, every other feature 0: one unique feature
    when y_i = +1 and 1 + 2k when y_i = -1. The paper has k = 2 (``variant="paper"``: five unique
    features for a negative example); lecture notes 000/001 write (1 - y_i), i.e. k = 1
    (``variant="notes"``: three).

    Deviation from the paper, stated: the paper draws labels i.i.d. with P(y = 1) = p. At n = 50
    that makes sum(y) <= 0 possible, which flips the sign of features 2 and 3 in X^T y; the
    training labels here have exactly round(p n) positives, shuffled. Test labels are i.i.d.
    Bernoulli(p), and test examples get fresh unique slots never used in training.
    """
    k = {"paper": 2, "notes": 1}[variant]
    rng = np.random.default_rng(seed)
    n_pos = int(round(p * n))
    y_train = rng.permutation(np.r_[np.ones(n_pos), -np.ones(n - n_pos)])
    y_test = np.where(rng.random(m) < p, 1.0, -1.0)
    d = 3 + SLOT * (n + m)

    def features(y, first_slot):
        X = np.zeros((len(y), d))
        X[:, 0] = y
        X[:, 1:3] = 1.0
        for i, yi in enumerate(y):
            start = 3 + SLOT * (first_slot + i)
            X[i, start:start + 1 + int(k * (1 - yi))] = 1.0
        return X

    return Wilson(features(y_train, 0), y_train, features(y_test, n), y_test, 3 + SLOT * n)


# --- CIFAR-10, python version (Krizhevsky 2009) -------------------------------------------------
CIFAR10_SOURCE = "https://www.cs.toronto.edu/~kriz/cifar.html (cifar-10-python.tar.gz)"
# MD5 sums of the files inside cifar-10-batches-py/, as published with the data set's loaders.
CIFAR10_MD5 = {
    "data_batch_1": "c99cafc152244af753f735de768cd75f",
    "data_batch_2": "d4bba439e000b95fd0a9bffe97cbabec",
    "data_batch_3": "54ebc095f3ab1f0389bbae665268c751",
    "data_batch_4": "634d18415352ddfa80567beed471001a",
    "data_batch_5": "482c414d41f54cd18b22e5b47cb7c3cb",
    "test_batch": "40351d587109b95175f43aff81a1287e",
}


def load_cifar10(data_dir: str | Path, checksums: dict[str, str] = CIFAR10_MD5):
    """CIFAR-10 from ``data_dir/cifar-10-batches-py`` in its published python (pickle) format.

    Returns ``(x_train uint8 (50000, 32, 32, 3), y_train int64, x_test, y_test)``. Each batch file
    is checked against its published MD5 before it is unpickled.
    """
    folder = Path(data_dir) / "cifar-10-batches-py"

    def batch(name):
        path = verified(folder / name, checksums[name], "md5", CIFAR10_SOURCE)
        with path.open("rb") as f:
            d = pickle.load(f, encoding="bytes")
        x = np.asarray(d[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
        return x, np.asarray(d[b"labels"], dtype=np.int64)

    train = [batch(f"data_batch_{i}") for i in range(1, 6)]
    x_test, y_test = batch("test_batch")
    return (np.concatenate([x for x, _ in train]), np.concatenate([y for _, y in train]),
            x_test, y_test)
