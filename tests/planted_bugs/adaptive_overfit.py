"""The planted bugs of claims/test_adaptive_overfit.py."""

from __future__ import annotations

import numpy as np

from planted_bugs import planted


@planted("wilson-label-feature-dropped", claim="adaptive-overfit",
         select="predict_plus_one or classify_every or minimum_norm",
         what="the data generator leaves out the label feature",
         expect="gd-sgd-generalize")
def wilson_label_feature_dropped(mp):
    from reproductions import adaptive_overfit as ao
    original = ao.wilson_dataset

    def dropped(*args, **kwargs):
        data = original(*args, **kwargs)
        data.X_train[:, 0] = 0.0
        data.X_test[:, 0] = 0.0
        return data
    mp.setattr(ao, "wilson_dataset", dropped)


@planted("adaptive-methods-run-as-sgd", claim="adaptive-overfit",
         select="predict_plus_one or classify_every or sign_of",
         what="the adaptive methods' optimizer is plain gradient descent",
         expect="adaptive-predict-plus-one")
def adaptive_methods_run_as_sgd(mp):
    from reproductions import adaptive_overfit as ao
    from reproductions import optimizers as optim
    original = ao._optimizer

    def as_sgd(method, cfg, lipschitz):
        if method in ao.ADAPTIVE:
            return optim.sgd(1.0 / lipschitz[:, None])
        return original(method, cfg, lipschitz)
    mp.setattr(ao, "_optimizer", as_sgd)


@planted("least-squares-residual-sign-flipped", claim="adaptive-overfit",
         select="matches_torch_optim",
         what="the batched least-squares gradient adds y instead of subtracting it",
         expect="kernel-parity", kernel="adaptive_overfit.least_squares_gradient")
def least_squares_residual_sign_flipped(mp):
    """X^T (X w + y) / n: the residual's sign slip, a plausible typo in a hand-written gradient."""
    import torch

    from reproductions import adaptive_overfit as ao
    mp.setattr(ao, "least_squares_gradient", lambda X, y, w: torch.einsum(
        "snd,sn->sd", X, torch.einsum("snd,sd->sn", X, w) + y) / X.shape[1])


@planted("positive-fraction-read-off-the-training-labels",
         claim="notes-wilson-majority-not-chance",
         select="scores_the_majority_rate",
         what="the fraction of +1 test labels counted on the training labels",
         expect="notes-wilson-majority-not-chance:document-differs")
def positive_fraction_read_off_the_training_labels(mp):
    """train() computing pos_frac as (yn > 0).mean(1), the training labels, not the test ones."""
    from reproductions import adaptive_overfit as ao
    original = ao.train

    def train(seeds, variant="paper", config=ao.CONFIG, methods=ao.METHODS):
        runs = original(seeds, variant, config, methods)
        runs.pos_frac = np.array([(ao.wilson_dataset(config["n"], config["p"], config["m"], s,
                                                     variant).y_train > 0).mean()
                                  for s in runs.seeds])
        return runs
    mp.setattr(ao, "train", train)


@planted("test-labels-positive-with-one-minus-p",
         claim="notes-wilson-majority-not-chance",
         select="fraction_of_positive_test_labels",
         what="the test labels drawn +1 with probability 1 - p",
         expect="notes-wilson-majority-not-chance:reference-agrees")
def test_labels_positive_with_one_minus_p(mp):
    """wilson_dataset drawing the test labels as rng.random(m) < 1 - p: the test set's classes
    swapped in frequency (the training labels keep their round(p n) positives)."""
    import dataclasses

    from reproductions import adaptive_overfit as ao
    original = ao.wilson_dataset

    def wilson_dataset(n, p, m, seed, variant="paper"):
        swapped = original(n, 1 - p, m, seed, variant)   # the same draws, read against 1 - p
        return dataclasses.replace(original(n, p, m, seed, variant), X_test=swapped.X_test,
                                   y_test=swapped.y_test)
    mp.setattr(ao, "wilson_dataset", wilson_dataset)
