"""Unit tests of the adaptive-overfit library pieces. The batched trainer's parity with
torch.optim is the claim's own precondition part (claims/test_adaptive_overfit.py)."""

import numpy as np
import torch

from reproductions import adaptive_overfit as ao
from reproductions.data import wilson_dataset


def test_gradient_vanishes_outside_the_training_support():
    """Why training on the support columns alone is exact."""
    d = wilson_dataset(50, 0.7, 20, seed=1)
    w = np.random.default_rng(0).normal(size=d.X_train.shape[1])
    grad = d.X_train.T @ (d.X_train @ w - d.y_train)
    assert not grad[d.train_support:].any()


def test_sgd_order_visits_every_example_once_per_epoch():
    order = ao.sgd_order(seed=0, n=50, steps=120)
    assert len(order) == 120
    assert sorted(order[:50].tolist()) == list(range(50))
    assert sorted(order[50:100].tolist()) == list(range(50))


def test_vgg_small_maps_cifar_images_to_ten_logits():
    torch.manual_seed(0)
    assert ao.vgg_small()(torch.zeros(2, 3, 32, 32)).shape == (2, 10)


def test_cifar_trainer_runs_on_cpu_at_toy_size():
    """The gpu tier's code path, exercised on random images so that it cannot rot unseen."""
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (16, 32, 32, 3), dtype=np.uint8)
    y = rng.integers(0, 10, 16)
    cfg = {**ao.CIFAR_CONFIG, "epochs": 1, "batch": 8, "lr_decay_epochs": (1,)}
    err = ao.cifar_test_error(x, y, x[:4], y[:4], "adam", 1e-3, 0, torch.device("cpu"), cfg)
    assert 0.0 <= err <= 100.0
