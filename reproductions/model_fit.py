"""Judging and curing a model's fit, and what dropout does to memorization, on scikit-learn's
digits with the 64-h-10 ReLU MLP of ``digits_mlp``.

Sources: slides 002 (Velasco-Forero), "How to judge if a deep machine learning model is
overfitting or not?" (the two diagnoses and their "What to do?" lists) and "Dropout" (its first
two bullets, after Srivastava et al. 2014); the random-label protocol is Zhang et al. (2017) and
Arpit et al. (2017), whose Figure 10 (MNIST, random labels) shows dropout holding the training
accuracy on noise down while real labels are still fitted.

Every experiment trains all its seeds as one batch (``digits_mlp.train``: vmap over
models, the shared Adam, each model with its own random streams) with full-batch Adam: every
training image seen at every step, so a model's training error is what its optimization reached,
not a minibatch artefact. Errors are classification errors (1 - accuracy); a model's gap is its
test error minus its training error, the slides' "gap with the validation error".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import torch
from torch.func import vmap

from . import optimizers as optim
from . import digits_mlp as mlp
from .data import sine_curve

CONFIG = {
    # Full-batch Adam at lr 1e-2 for 300 steps: the width-128 net reaches zero training error on
    # 150 images and on the whole split (measured, seeds 0-7).
    "steps": 300, "lr": 1e-2, "n_test": 360, "wide": 128,
    # Underfitting: 4 hidden units on the 16 means of the 2x2 blocks (a 4x4 image), on every
    # digit outside the 360 test images: training error 0.2-0.5 with a gap of 0.02 (seeds 0-7).
    # Its remedies: the wide net, and (for the lr) the wide net at lr / 100; more features on a
    # linear classifier (the 4-unit net with 64 pixels is erratic: dead units).
    "narrow": 4, "pooled_features": 16, "slow_lr": 1e-4,
    # Overfitting: the wide net on 150 training images (zero training error, gap ~0.08), tested
    # on every other digit; weight decay as torch SGD's form (gradient + wd * params).
    "small_n": 150, "small_n_test": 1647, "weight_decay": 0.1, "small": 16, "keep": 0.5,
    # Memorization: 300 training images, labels drawn uniformly at random (Zhang et al. 2017),
    # the wide net with and without Dropout(0.5) at lr 1e-3 (at 1e-2 both memorize within 300
    # steps); the default tier stops at 300 steps, the slow tier runs 10x longer.
    "memorize_n": 300, "memorize_lr": 1e-3, "memorize_steps": 300,
    # Polynomial least squares on n noisy samples of sin(2 pi x) (noise 0.3): the classical
    # setting of the slides' bias/variance slide, where every quantity is exact or Monte Carlo.
    # n = 20: degree 1 underfits, degree 3 fits, degree 9 (10 coefficients) overfits; its
    # remedies: degree 3, a ridge penalty, n = 50; degree 12 is the change that is no remedy.
    "poly": {"n": 20, "noise": 0.3, "train_sets": 2000, "x_test": 200,
             "underfit": 1, "good": 3, "overfit": 9, "more_complex": 12, "more_n": 50,
             "ridge": 1e-3},
}


def split(seeds, n_train: int | None = None, features: int = 64,
          n_test: int = CONFIG["n_test"]):
    """Each seed's stratified digits split, stacked (M, n, features); ``features`` 16 replaces the
    8x8 image by the means of its 2x2 blocks (a 4x4 image)."""
    X, Y, Xte, Yte = mlp.stacked_digits(seeds, n_train, n_test)
    if features == 16:
        X, Xte = block_means(X), block_means(Xte)
    return X, Y, Xte, Yte


def block_means(X: torch.Tensor) -> torch.Tensor:
    """(M, n, 64) 8x8 images -> (M, n, 16) means of their 2x2 blocks."""
    M, n, _ = X.shape
    return X.reshape(M, n, 4, 2, 4, 2).mean((3, 5)).reshape(M, n, 16)


def errors(params, X, Y, Xte, Yte) -> dict:
    """Training and test classification errors per model, and the gap between them."""
    train = 1 - mlp.accuracy(params, X, Y)
    test = 1 - mlp.accuracy(params, Xte, Yte)
    return {"train": train, "test": test, "gap": test - train}


def fit(seeds, hidden: int, features: int = 64, lr: float = CONFIG["lr"],
        n_train: int | None = None, n_test: int = CONFIG["n_test"],
        variant: dict | None = None) -> dict:
    """One configuration trained on every seed's split (``n_train`` images, all but the test
    images by default): its errors per seed."""
    X, Y, Xte, Yte = split(seeds, n_train, features, n_test)
    p = mlp.train([mlp.init(s, hidden, features) for s in seeds], X, Y, CONFIG["steps"],
                  X.shape[1], optim.adam(lr), seeds, variant)
    return errors(p, X, Y, Xte, Yte)


class Rows(Mapping):
    """A table whose rows are computed when first read, each once: a run that reads two rows
    (a planted bug's selection) trains two configurations, not all of them. Each row depends
    only on its own arguments and the seeds, so the order of reading changes nothing."""

    def __init__(self, makers: dict[str, Callable[[], dict]]):
        self._makers, self._rows = makers, {}

    def __getitem__(self, key: str) -> dict:
        if key not in self._rows:
            self._rows[key] = self._makers[key]()
        return self._rows[key]

    def __iter__(self):
        return iter(self._makers)

    def __len__(self) -> int:
        return len(self._makers)


def underfitting_table(seeds, cfg: dict = CONFIG) -> Rows:
    """The underfitting net and each change to it, errors per seed (rows computed on use)."""
    narrow, wide, pooled = cfg["narrow"], cfg["wide"], cfg["pooled_features"]
    decay = {"weight_decay": cfg["weight_decay"]}
    return Rows({"underfitting": lambda: fit(seeds, narrow, pooled),
                 "wider": lambda: fit(seeds, wide, pooled),
                 "weight decay": lambda: fit(seeds, narrow, pooled, variant=decay),
                 "wide, slow lr": lambda: fit(seeds, wide, pooled, lr=cfg["slow_lr"])})


def overfitting_table(seeds, cfg: dict = CONFIG) -> dict:
    """The overfitting net (the wide net on 150 images) and a narrower one, errors per seed."""
    small = {"n_train": cfg["small_n"], "n_test": cfg["small_n_test"]}
    wide = cfg["wide"]
    return {"overfitting": fit(seeds, wide, **small), "smaller": fit(seeds, cfg["small"], **small)}


def linear_training_errors(seeds, features: int) -> np.ndarray:
    """Training error per seed of the least-squares linear classifier (one-hot targets, a bias
    column, the argmax of the fitted scores) on every digit outside the test images, with the 64
    pixels or the 16 block means as features."""
    X, Y, _, _ = split(seeds, None, features)
    out = []
    for x, y in zip(X.numpy().astype(np.float64), Y.numpy()):
        design = np.hstack([x, np.ones((len(x), 1))])
        weights = np.linalg.lstsq(design, np.eye(10)[y], rcond=None)[0]
        out.append(float(np.mean((design @ weights).argmax(1) != y)))
    return np.array(out)


# --- the polynomial diagnosis -----------------------------------------------------------------
def polynomial_least_squares(x: np.ndarray, y: np.ndarray, degree: int,
                             ridge: float = 0.0) -> np.ndarray:
    """The coefficients (constant first) minimizing sum (p(x_i) - y_i)^2 + ridge ||coef||^2: the
    least-squares solution of the monomial design stacked on sqrt(ridge) I."""
    design = np.vander(x, degree + 1, increasing=True)
    if ridge:
        design = np.vstack([design, np.sqrt(ridge) * np.eye(degree + 1)])
        y = np.concatenate([y, np.zeros(degree + 1)])
    return np.linalg.lstsq(design, y, rcond=None)[0]


def polynomial_fits(seed: int, degree: int, n: int | None = None, ridge: float = 0.0,
                    cfg: dict = CONFIG["poly"]) -> dict:
    """Polynomial least squares of ``degree`` (with a ``ridge`` penalty) on ``train_sets`` random
    training sets of n (default ``cfg["n"]``) noisy samples of sin(2 pi x): per set, the
    training and test mean squared errors (the test set a fresh sample of ``x_test`` points);
    over the sets, the squared bias and the variance of the prediction on a grid of x."""
    rng = np.random.default_rng(seed)
    n = n or cfg["n"]
    grid = np.linspace(0, 1, cfg["x_test"])
    train, test, preds = [], [], []
    for _ in range(cfg["train_sets"]):
        x, x_new = rng.uniform(0, 1, n), rng.uniform(0, 1, cfg["x_test"])
        y = sine_curve(x) + cfg["noise"] * rng.normal(size=x.size)
        y_new = sine_curve(x_new) + cfg["noise"] * rng.normal(size=x_new.size)
        coef = polynomial_least_squares(x, y, degree, ridge)
        predict = lambda t: np.vander(t, degree + 1, increasing=True) @ coef  # noqa: E731
        train.append(np.mean((predict(x) - y) ** 2))
        test.append(np.mean((predict(x_new) - y_new) ** 2))
        preds.append(predict(grid))
    preds = np.array(preds)
    return {"train": np.array(train), "test": np.array(test),
            "gap": np.array(test) - np.array(train),
            "bias2": float(np.mean((preds.mean(0) - sine_curve(grid)) ** 2)),
            "variance": float(np.mean(preds.var(0)))}


# --- dropout and memorization ---------------------------------------------------------------
def random_labels(n: int, seed: int) -> torch.Tensor:
    """n labels drawn uniformly from the 10 classes, independent of the images."""
    return torch.randint(0, 10, (n,), generator=torch.Generator().manual_seed(10_000 + seed))


def memorization(seeds, steps: int = CONFIG["memorize_steps"], cfg: dict = CONFIG) -> dict:
    """Training accuracy reached in ``steps`` full-batch Adam steps by the wide net with
    and without dropout, on true labels and on random ones (the same images and initial weights);
    the dropout nets are evaluated without dropout, as at test time."""
    X, Y, _, _ = split(seeds, cfg["memorize_n"])
    noise = torch.stack([random_labels(cfg["memorize_n"], s) for s in seeds])
    out = {}
    for labels_name, labels in (("true", Y), ("random", noise)):
        for name, variant in (("plain", None), ("dropout", {"keep": cfg["keep"]})):
            p = mlp.train([mlp.init(s, cfg["wide"]) for s in seeds], X, labels,
                          steps, cfg["memorize_n"], optim.adam(cfg["memorize_lr"]), seeds,
                          variant)
            out[f"{name}, {labels_name} labels"] = mlp.accuracy(p, X, labels)
    return out


# --- dropout and co-adaptation -----------------------------------------------------------------
def ablation_masks(count: int, hidden: int, keep: float, seed: int) -> torch.Tensor:
    """``count`` 0/1 masks over ``hidden`` units, each unit kept with probability ``keep``."""
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(count, hidden, generator=g) < keep).float()


def ablated_accuracy(params, X, Y, keep: float, masks: int, seed: int) -> np.ndarray:
    """Test accuracy per model with a random fraction 1 - ``keep`` of its hidden units removed
    (the rest scaled by 1 / keep, as inverted dropout trains them), averaged over ``masks``
    random choices of the removed units."""
    M, hidden = params["b1"].shape
    scores = []
    for mask in ablation_masks(masks * M, hidden, keep, seed).reshape(masks, M, hidden):
        with torch.no_grad():
            out = vmap(lambda p, x, m: mlp.forward(p, x, keep, m))(params, X, mask)
        scores.append((out.argmax(-1) == Y).float().mean(-1).numpy())
    return np.mean(scores, 0)


def coadaptation(seeds, cfg: dict = CONFIG, masks: int = 20) -> dict:
    """The accuracy a net loses on the test images when half its hidden units are removed, for
    the wide net trained with and without Dropout(0.5) and for a second plain net (another
    initialization: the control), each on ``memorize_n`` training images."""
    X, Y, Xte, Yte = split(seeds, cfg["memorize_n"])
    models = {"plain": (0, None), "dropout": (0, {"keep": cfg["keep"]}),
              "plain, another init": (50_000, None)}
    out = {}
    for name, (offset, variant) in models.items():
        p = mlp.train([mlp.init(s + offset, cfg["wide"]) for s in seeds], X, Y, cfg["steps"],
                      X.shape[1], optim.adam(cfg["lr"]), seeds, variant)
        intact = mlp.accuracy(p, Xte, Yte)
        out[name] = intact - ablated_accuracy(p, Xte, Yte, cfg["keep"], masks, seeds[0])
        out[name + " intact"] = intact
    return out

