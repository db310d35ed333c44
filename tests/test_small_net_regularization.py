"""Unit tests of the small-net regularization kernels (reproductions/small_net_regularization)."""

import numpy as np
import torch

from reproductions import optimizers as optim
from reproductions import digits_mlp as mlp
from reproductions import small_net_regularization as sr


def test_keras_early_stopping_fires_after_patience_epochs_without_a_new_minimum():
    assert sr.keras_early_stopping(np.array([3.0, 2.0, 2.5, 2.4, 2.1, 1.0]), patience=3) == 4


def test_keras_early_stopping_never_fires_on_a_falling_metric():
    assert sr.keras_early_stopping(np.linspace(1, 0, 50), patience=3) is None


def test_keras_early_stopping_counts_a_tie_as_no_improvement():
    assert sr.keras_early_stopping(np.array([1.0, 1.0, 1.0]), patience=2) == 2


def test_the_mask_probabilities_sum_to_one_and_count_the_kept_units():
    masks, prob = sr.all_masks(4, keep=0.3)
    assert masks.shape == (16, 4)
    assert abs(float(prob.sum()) - 1.0) < 1e-12
    assert abs(float((prob[:, None] * masks).sum(0).mean()) - 0.3) < 1e-12


def test_noisy_labels_change_only_the_chosen_fraction_and_always_to_another_class():
    y = torch.arange(10).repeat(500)
    noisy = sr.noisy_labels(y, 0.3, seed=0)
    changed = noisy != y
    assert 0.27 < float(changed.float().mean()) < 0.33
    assert torch.equal(sr.noisy_labels(y, 0.0, seed=0), y)


def test_mixup_training_does_not_depend_on_the_global_random_state():
    X, y, _, _ = mlp.digits(0, n_train=32)
    runs = []
    for global_seed in (1, 2):
        torch.manual_seed(global_seed)
        np.random.seed(global_seed)
        p = mlp.train([mlp.init(0, hidden=8)], X[None], y[None], epochs=2, batch=16,
                      opt=optim.sgd(0.1), seed=0, variant={"mixup": 0.2})
        runs.append(p["w1"])
    assert torch.equal(*runs)
