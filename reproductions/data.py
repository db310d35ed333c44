"""Data for the claims: synthetic generators, and verified readers of real data sets.

Real data is never downloaded at run time. It comes from a pip package that ships it, or from the
data directory (``--data-dir`` / ``$REPRO_DATA`` / ``../shared/data``), read in its original
published format after its checksum has been verified. A missing file raises
:class:`DataMissing` (the test that needs it is "not run"), a file that fails its checksum or does
not parse raises :class:`DataCorrupt` (an error); both are :class:`DataUnavailable`, and the
message names the file, the expected checksum and where to get it.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import os
import pickle
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np


class DataUnavailable(RuntimeError):
    """A data file is missing or does not match its published checksum."""


class DataMissing(DataUnavailable):
    """A data file (or a whole data set) is not in the data directory."""


class DataCorrupt(DataUnavailable):
    """A data file is present but fails its checksum, has no known checksum, or does not parse."""


def data_directory(root: str | Path, chosen: str | Path | None = None) -> Path:
    """The data directory of the checkout at ``root``: ``chosen`` (``--data-dir``), else
    ``$REPRO_DATA``, else ``../shared/data`` beside the checkout."""
    chosen = chosen or os.environ.get("REPRO_DATA")
    return Path(chosen) if chosen else Path(root).parent / "shared" / "data"


def verified(path: str | Path, digest: str, algorithm: str = "sha256", source: str = "") -> Path:
    """Return ``path`` once its ``algorithm`` digest equals ``digest``; else DataUnavailable."""
    path = Path(path)
    where = f" Get it from {source}." if source else ""
    if not path.is_file():
        raise DataMissing(f"missing data file {path} (expected {algorithm} {digest}).{where}")
    h = hashlib.new(algorithm)
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    if h.hexdigest() != digest:
        raise DataCorrupt(f"corrupt data file {path}: {algorithm} {h.hexdigest()}, "
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


@functools.lru_cache(maxsize=1)
def _digits_arrays() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits
    bunch = load_digits()
    return bunch.images, bunch.data, bunch.target


def digits() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """scikit-learn's 1797 real 8x8 digits (shipped with the package): images (N, 8, 8), the same
    pixels as rows (N, 64), float64, and labels (N,). Parsed once per process (the CSV takes
    about 50 ms); each call returns copies, so a caller may change them."""
    images, rows, labels = _digits_arrays()
    return images.copy(), rows.copy(), labels.copy()


def digits_standardized():
    """The digits as torch tensors: rows (N, 64) float32 shifted and scaled by one mean and one
    standard deviation over all pixels, labels (N,) int64."""
    import torch

    _, rows, labels = digits()
    X = torch.tensor(rows, dtype=torch.float32)
    return (X - X.mean()) / X.std(), torch.tensor(labels, dtype=torch.int64)


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


# --- MNIST, idx format (LeCun, Cortes, Burges) --------------------------------------------------
MNIST_SOURCE = ("http://yann.lecun.com/exdb/mnist/ (test files as found in github.com/kelas/mnist "
                "at commit 283b387221ab46655e600cfcc25d843bb14292b9)")
# sha256 of the gzip files, from the data directory's README.md; no checksum is known for the
# training files here (pass ``checksums=`` to load_mnist to use them).
MNIST_SHA256 = {
    "t10k-images-idx3-ubyte.gz": "167310007f03058885c7e95e6c0b19c20de5c7fd3031f4cbdadc9014a523d80b",
    "t10k-labels-idx1-ubyte.gz": "fc607395669ec21321ea83e4b82c0544b7e8e63ff5b34337c06bc0a17cc0da3c",
}
IDX_MAGIC = {"images": 2051, "labels": 2049}  # 0x0803: ubyte, 3 dims; 0x0801: ubyte, 1 dim


def read_idx(path: str | Path, magic: int) -> np.ndarray:
    """Parse one gzip-compressed idx file: big-endian int32 ``magic``, then one big-endian uint32
    per dimension (``magic & 0xff`` of them), then the unsigned bytes in C order."""
    path = Path(path)
    try:
        with gzip.open(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as e:
        raise DataCorrupt(f"{path} is not a readable gzip file: {e}") from e
    if len(raw) < 4 or struct.unpack(">i", raw[:4])[0] != magic:
        found = struct.unpack(">i", raw[:4])[0] if len(raw) >= 4 else None
        raise DataCorrupt(f"{path}: idx magic number {found}, expected {magic}")
    ndim = magic & 0xFF
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataCorrupt(f"{path}: truncated idx header ({len(raw)} bytes)")
    dims = struct.unpack(f">{ndim}I", raw[4:header])
    if len(raw) - header != int(np.prod(dims)):
        raise DataCorrupt(f"{path}: header gives dims {dims} = {int(np.prod(dims))} bytes, "
                              f"but {len(raw) - header} bytes follow it")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


def load_mnist(data_dir: str | Path, split: str = "t10k", checksums: dict[str, str] | None = None):
    """MNIST from ``data_dir/mnist/{split}-images-idx3-ubyte.gz`` and ``...-labels-idx1-ubyte.gz``
    in the published idx format (gzip). Each file's sha256 is checked before it is parsed.

    Returns ``(images uint8 (N, 28, 28), labels int64 (N,))``. Only the test split
    (``"t10k"``, N = 10000) has a known checksum here; for ``split="train"`` pass
    ``checksums={"train-images-idx3-ubyte.gz": ..., "train-labels-idx1-ubyte.gz": ...}``.
    """
    if split not in ("t10k", "train"):
        raise ValueError(f"split must be 't10k' or 'train', not {split!r}")
    sums = {**MNIST_SHA256, **(checksums or {})}
    folder = Path(data_dir) / "mnist"
    arrays = {}
    for kind, ndim in (("images", 3), ("labels", 1)):
        name = f"{split}-{kind}-idx{ndim}-ubyte.gz"
        if name not in sums:
            raise DataCorrupt(f"no sha256 known for {folder / name}; pass "
                                  f"checksums={{{name!r}: '<sha256>'}} to load it. "
                                  f"Get it from {MNIST_SOURCE}.")
        arrays[kind] = read_idx(verified(folder / name, sums[name], "sha256", MNIST_SOURCE),
                                IDX_MAGIC[kind])
    images, labels = arrays["images"], arrays["labels"].astype(np.int64)
    if images.shape[1:] != (28, 28) or len(images) != len(labels):
        raise DataCorrupt(f"{folder}: images {images.shape} do not pair with labels "
                              f"{labels.shape}")
    return images, labels


def mnist_subset(images: np.ndarray, labels: np.ndarray, per_class: int, seed: int) -> np.ndarray:
    """Sorted indices of a class-balanced subset: ``per_class`` examples drawn without
    replacement from each label present (e.g. 500 per class -> 5000); the same for the same
    seed."""
    labels = np.asarray(labels)
    if len(images) != len(labels):
        raise ValueError(f"{len(images)} images but {len(labels)} labels")
    rng = np.random.default_rng(seed)
    chosen = []
    for c in np.unique(labels):
        members = np.flatnonzero(labels == c)
        if len(members) < per_class:
            raise ValueError(f"class {c} has {len(members)} examples, fewer than {per_class}")
        chosen.append(rng.choice(members, size=per_class, replace=False))
    return np.sort(np.concatenate(chosen))


# --- Gas sensor array drift, ethanol rows (UCI id 270) ------------------------------------------
GAS_DRIFT_SOURCE = ("the UCI repository, 'Gas Sensor Array Drift Dataset at Different "
                    "Concentrations' (id 270), Dataset/batch1.dat ... batch10.dat")
# sha256 of batch1.dat ... batch10.dat, from the data directory's README.md (batch7 and batch10
# are not in that directory; their sums are listed there for users who download them).
GAS_DRIFT_SHA256 = {
    "batch1.dat": "6b62f3e71b90f95dd9c2157fa91ffce32571faa7f474dd52f29a4ae769144625",
    "batch2.dat": "4ea9490068457badf9efd0c22f359fbfce12c208cdd440526b97ac91d31b9002",
    "batch3.dat": "aabf06bf8b8200740156235dc59458e06d99aa8faba4d6764a22c6b6c2674ff4",
    "batch4.dat": "ffc87c5146001bbe8ce90c4b2f7dad5b390ca3079f51b559032df53ffe5ff0af",
    "batch5.dat": "dcad4939c300a6c7d9f41b9470a9253eecc0ebc5c2c4e940d8ae20b8fc4240d0",
    "batch6.dat": "297d3a8b594dee4e2f4d7d2c4f5c485939fa708c10b5a11ed5cce95e05049afb",
    "batch7.dat": "eb5801d38a59beaae4a2412195d8ded790175ed1611159e083649ee9fe03d150",
    "batch8.dat": "58146b3e2dd68b125b2d5432cdd4968ec1fff47464ceb04282382181932d49be",
    "batch9.dat": "51f368ae8dee5d285be7f2029770e10eb12f342578830bc40ea852db19d19c9b",
    "batch10.dat": "b8309e8ff205b9d0350761989809f31f8feaefb8582aecb05f1d0f694b91184e",
}
GAS_ETHANOL_CSV_SOURCE = ("github.com/treforevans/uci_datasets at commit "
                          "f0737523712fe66a1640e4b980b927e8490b58eb, uci_datasets/gas/data.csv.gz")
# sha256 of data.csv.gz, from the data directory's README.md.
GAS_ETHANOL_CSV_SHA256 = "bd82bee47199d3952bee30a59739794b26baa742e1da7f7bd42b9a34552321a1"
GAS_ETHANOL_ROWS = 2565        # ethanol rows in all ten batches (Arora, Cohen & Hazan 2018)
GAS_ETHANOL_FEATURES = 128
GAS_CSV_TARGET_SHIFT = 4.356465  # column 129 = log(1 + ppmv) - this (data directory README.md)


@dataclass(frozen=True)
class GasEthanol:
    X: np.ndarray                # (k, 128) float64 sensor features
    y: np.ndarray                # (k,) float64 ethanol concentration, ppmv
    batches: list[int] | None    # batch number (1..10) of each row; None when unknown
    n_total: int                 # rows in the full ethanol set (2565)
    files_used: list[str]        # the files the rows came from

    @property
    def summary(self) -> str:
        return (f"{len(self.y)} of {self.n_total} ethanol rows from "
                f"{', '.join(self.files_used)}")


def _gas_line(line: str, where: str) -> tuple[int, float, list[float] | None]:
    """``GAS;CONCENTRATION 1:F1 ... 128:F128`` -> (gas, concentration, features if gas 1)."""
    head, *fields = line.split()
    try:
        gas, conc = head.split(";")
        gas, conc = int(gas), float(conc)
        if gas != 1:
            return gas, conc, None
        pairs = [f.split(":") for f in fields]
        if [int(i) for i, _ in pairs] != list(range(1, GAS_ETHANOL_FEATURES + 1)):
            raise ValueError("feature indices are not 1..128")
        return gas, conc, [float(v) for _, v in pairs]
    except ValueError as e:
        raise DataCorrupt(f"{where}: not 'GAS;CONCENTRATION 1:F1 ... 128:F128' ({e})") from e


def load_gas_ethanol_batches(data_dir: str | Path,
                             checksums: dict[str, str] | None = None) -> GasEthanol:
    """The ethanol rows (gas 1) of ``data_dir/gas-sensor-drift/batch1.dat ... batch10.dat``, the
    UCI files of Vergara et al. (2012), one measurement per line as
    ``GAS;CONCENTRATION 1:F1 2:F2 ... 128:F128`` (concentration in ppmv).

    Every present batch file is checked against its sha256 (``GAS_DRIFT_SHA256``, overridable by
    ``checksums``) before it is parsed; a wrong checksum raises DataUnavailable, a missing batch
    is skipped. The full set is 2565 rows; the result's ``files_used``, ``batches`` and
    ``summary`` say which part was read. No batch present raises DataUnavailable.
    """
    sums = {**GAS_DRIFT_SHA256, **(checksums or {})}
    folder = Path(data_dir) / "gas-sensor-drift"
    X, y, batches, used = [], [], [], []
    for b in range(1, 11):
        name = f"batch{b}.dat"
        if not (folder / name).is_file():
            continue
        path = verified(folder / name, sums[name], "sha256", GAS_DRIFT_SOURCE)
        used.append(name)
        with path.open() as f:
            for lineno, line in enumerate(f, 1):
                if not line.strip():
                    continue
                gas, conc, feats = _gas_line(line, f"{path}:{lineno}")
                if feats is not None:
                    X.append(feats)
                    y.append(conc)
                    batches.append(b)
    if not used:
        raise DataMissing(f"no gas sensor batch file (batch1.dat ... batch10.dat, sha256 in "
                              f"GAS_DRIFT_SHA256) in {folder}. Get them from {GAS_DRIFT_SOURCE}.")
    return GasEthanol(np.asarray(X, dtype=np.float64).reshape(-1, GAS_ETHANOL_FEATURES),
                      np.asarray(y, dtype=np.float64), batches, GAS_ETHANOL_ROWS, used)


def load_gas_ethanol_csv(data_dir: str | Path,
                         digest: str = GAS_ETHANOL_CSV_SHA256) -> GasEthanol:
    """All 2565 ethanol rows from ``data_dir/gas-ethanol-uci-datasets/data.csv.gz`` (the "gas"
    set of treforevans/uci_datasets), checked against its sha256 before it is parsed.

    Format: gzip CSV, 129 comma-separated columns, rows shuffled, no batch id (a header line, if
    one is present, is skipped). Columns 1-128 are the sensor features, each shifted by a
    per-column constant and printed to 5 significant digits, so they are not the original values
    (z-scoring them gives the original z-scores up to that rounding). Column 129 is
    ``log(1 + ppmv) - 4.356465`` to 5 significant digits; ``y`` is ``expm1(col129 + 4.356465)``,
    in ppmv. ``batches`` is None.
    """
    path = verified(Path(data_dir) / "gas-ethanol-uci-datasets" / "data.csv.gz", digest,
                    "sha256", GAS_ETHANOL_CSV_SOURCE)
    with gzip.open(path, "rt") as f:
        lines = [line for line in f.read().splitlines() if line.strip()]
    try:
        float(lines[0].split(",")[0])
    except (ValueError, IndexError):
        lines = lines[1:]  # a header line
    try:
        table = np.array([[float(v) for v in line.split(",")] for line in lines], dtype=np.float64)
    except ValueError as e:
        raise DataCorrupt(f"{path}: not a numeric CSV table ({e})") from e
    if table.ndim != 2 or table.shape[1] != GAS_ETHANOL_FEATURES + 1:
        raise DataCorrupt(f"{path}: expected {GAS_ETHANOL_FEATURES + 1} columns, "
                              f"got table of shape {table.shape}")
    y = np.expm1(table[:, -1] + GAS_CSV_TARGET_SHIFT)
    return GasEthanol(table[:, :-1].copy(), y, None, GAS_ETHANOL_ROWS, [path.name])


def sine_curve(x: np.ndarray) -> np.ndarray:
    """sin(2 pi x): the target of the polynomial-fitting examples (Bishop, Pattern Recognition
    and Machine Learning, §1.1), read by the bias-variance and the model-fit claims."""
    return np.sin(2 * np.pi * x)


def standardize(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Z-score each feature column and the target: subtract the mean, divide by the population
    standard deviation (ddof=0); a constant column becomes 0. Returns float64 copies.

    This is the preprocessing assumed for the gas "Ethanol" regression (a stated assumption:
    per-column z-scoring only, no whitening or decorrelation of the features).
    """
    def z(a):
        a = np.asarray(a, dtype=np.float64)
        sd = a.std(axis=0)
        return (a - a.mean(axis=0)) / np.where(sd > 0, sd, 1.0)

    return z(X), z(y)
