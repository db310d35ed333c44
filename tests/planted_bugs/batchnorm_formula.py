"""The planted bugs of claims/test_batchnorm_formula.py."""

from __future__ import annotations

from planted_bugs import planted


@planted("bn-statistics-over-the-examples-axis", claim="bn-standardizes-each-coordinate",
         select="each_coordinate or torch",
         what="the BN formula's statistics taken over each example's coordinates",
         expect="matches-torch", kernel="batchnorm_formula.normalize")
def bn_statistics_over_the_examples_axis(mp):
    """The BN formula's mean and variance taken over each example's coordinates (dim 1)."""
    import torch

    from reproductions import batchnorm_formula as bf

    def normalize(y, eps=0.0):
        mean = y.mean(1, keepdim=True)
        return (y - mean) / torch.sqrt(((y - mean) ** 2).mean(1, keepdim=True) + eps)
    mp.setattr(bf, "normalize", normalize)


@planted("bn-formula-with-epsilon", claim="bn-formula-without-epsilon",
         select="nan_without_epsilon",
         what="the printed BN formula run with eps = 1e-5",
         expect="bn-formula-without-epsilon:document-differs")
def bn_formula_with_epsilon(mp):
    """The 'printed' BN formula quietly gets torch's eps = 1e-5."""
    from reproductions import batchnorm_formula as bf
    original = bf.normalize
    mp.setattr(bf, "normalize", lambda y, eps=1e-5: original(y, eps))


@planted("bn-statistics-not-detached", claim="bn-backprop-through-statistics",
         select="drifts",
         what="the detached BN keeps its statistics in the gradient",
         expect="detached-statistics-drift")
def bn_statistics_not_detached(mp):
    """The detached BN keeps the statistics in the gradient after all."""
    from reproductions import batchnorm_formula as bf
    mp.setattr(bf, "normalize_detached", bf.normalize)
