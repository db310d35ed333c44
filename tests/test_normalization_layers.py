"""Unit tests of ``reproductions.normalization_layers``'s kernels against torch."""

import torch
import torch.nn.functional as F

from reproductions import normalization_layers as nl


def x64(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def test_batch_norm_equals_torch_train_mode_batch_norm():
    z = x64(16, 5) * 3 + 1
    for eps in (1e-8, 1e-5):   # torch refuses eps = 0 in training mode
        assert torch.allclose(nl.batch_norm(z, eps),
                              F.batch_norm(z, None, None, training=True, eps=eps), atol=1e-12)


def test_group_norm_loops_equal_the_vectorized_reference():
    x = x64(3, 8, 4, 4, seed=1)
    for g in (1, 2, 4, 8):
        assert torch.allclose(nl.group_norm_loops(x, g, 1e-5), nl.group_norm_reference(x, g, 1e-5),
                              atol=1e-12)

