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


@planted("bn-detached-unbiased-variance", claim="bn-backprop-through-statistics",
         select="detaching_changes_only_the_gradient",
         what="the detached BN divides by the unbiased (1/(k-1)) batch variance",
         expect="detached-forward-unchanged", kernel="batchnorm_formula.normalize_detached")
def bn_detached_unbiased_variance(mp):
    """The detached BN formula takes torch's default var(), the unbiased 1/(k-1) variance."""
    from reproductions import batchnorm_formula as bf

    def normalize_detached(y):
        mean = y.mean(0, keepdim=True).detach()
        return (y - mean) / y.var(0, keepdim=True).detach().sqrt()
    mp.setattr(bf, "normalize_detached", normalize_detached)


@planted("bn-eps-outside-the-root", claim="bn-formula-without-epsilon",
         select="finite_and_matches_torch",
         what="the BN formula adds its eps outside the root: sqrt(var) + eps",
         expect="bn-formula-without-epsilon:reference-agrees",
         kernel="batchnorm_formula.normalize")
def bn_eps_outside_the_root(mp):
    """The BN formula divides by sqrt(var_B) + eps instead of sqrt(var_B + eps)."""
    from reproductions import batchnorm_formula as bf

    def normalize(y, eps=0.0):
        mean = y.mean(0, keepdim=True)
        return (y - mean) / (((y - mean) ** 2).mean(0, keepdim=True).sqrt() + eps)
    mp.setattr(bf, "normalize", normalize)


@planted("bn-unbiased-batch-variance", claim="bn-standardizes-each-coordinate",
         select="zero_mean_and_unit_variance",
         what="the BN formula divides by the unbiased (1/(k-1)) batch variance",
         expect="each-coordinate-standardized")
def bn_unbiased_batch_variance(mp):
    """The BN formula takes torch's default var(), the unbiased 1/(k-1) batch variance."""
    import torch

    from reproductions import batchnorm_formula as bf

    def normalize(y, eps=0.0):
        return (y - y.mean(0, keepdim=True)) / torch.sqrt(y.var(0, keepdim=True) + eps)
    mp.setattr(bf, "normalize", normalize)


@planted("bn-divides-by-the-variance", claim="bn-blocks-rescaling-not-perturbations",
         select="stops_a_rescaling",
         what="the BN formula divides by the batch variance instead of its root",
         expect="rescaling-not-propagated")
def bn_divides_by_the_variance(mp):
    """The BN formula without the square root: (y - mean_B) / (var_B + eps)."""
    from reproductions import batchnorm_formula as bf

    def normalize(y, eps=0.0):
        mean = y.mean(0, keepdim=True)
        return (y - mean) / (((y - mean) ** 2).mean(0, keepdim=True) + eps)
    mp.setattr(bf, "normalize", normalize)


@planted("downstream-change-size-default-doubled", claim="bn-blocks-rescaling-not-perturbations",
         select="reaches_the_last_layer",
         what="the downstream experiment's change size defaults to 0.02: W_1 rescaled by 2",
         expect="plain-propagates-rescaling")
def downstream_change_size_default_doubled(mp):
    """downstream_changes with size = 0.02 by default, so the rescaling is 1 + 50 * 0.02 = 2."""
    from reproductions import batchnorm_formula as bf
    original = bf.downstream_changes
    mp.setattr(bf, "downstream_changes",
               lambda seed, use_bn, change, depth=20, width=64, k=256, size=0.02:
               original(seed, use_bn, change, depth, width, k, size))
