"""The planted bugs of claims/test_model_fit.py."""

from __future__ import annotations

import numpy as np

from planted_bugs import planted


@planted("polyfit-without-the-constant", claim="fit-diagnosis",
         select="numpys or underfitting_has or overfitting_has",
         what="the polynomial design without its constant column",
         expect="least-squares-kernel", kernel="model_fit.polynomial_least_squares")
def polyfit_without_the_constant(mp):
    """The polynomial fit's design matrix missing its constant column (the fit through 0)."""
    from reproductions import model_fit as mf
    original = mf.polynomial_least_squares

    def through_zero(x, y, degree, ridge=0.0):
        if ridge:
            return original(x, y, degree, ridge)
        design = np.vander(x, degree + 1, increasing=True)[:, 1:]
        return np.concatenate([[0.0], np.linalg.lstsq(design, y, rcond=None)[0]])
    mp.setattr(mf, "polynomial_least_squares", through_zero)


@planted("bias-and-variance-swapped", claim="fit-diagnosis",
         select="bias_and_variance",
         what="squared bias and variance swapped",
         expect="bias-and-variance-agree")
def bias_and_variance_swapped(mp):
    """polynomial_fits returning the squared bias under the variance's name and back."""
    from reproductions import model_fit as mf
    original = mf.polynomial_fits

    def swapped(*args, **kwargs):
        r = original(*args, **kwargs)
        return dict(r, bias2=r["variance"], variance=r["bias2"])
    mp.setattr(mf, "polynomial_fits", swapped)


@planted("ridge-penalty-squared", claim="overfitting-remedies",
         select="ridge",
         what="the ridge penalty squared",
         expect="ridge-kernel", kernel="model_fit.polynomial_least_squares")
def ridge_penalty_squared(mp):
    """The ridge rows scaled by the penalty, not its square root (lambda^2 ||coef||^2)."""
    from reproductions import model_fit as mf
    original = mf.polynomial_least_squares
    mp.setattr(mf, "polynomial_least_squares",
               lambda x, y, degree, ridge=0.0: original(x, y, degree, ridge ** 2))


@planted("fit-ignores-its-variant", claim="underfitting-remedies",
         select="weight_decay",
         what="the MLP runs dropping their variant (weight decay)",
         expect="weight-decay-is-no-remedy")
def fit_ignores_its_variant(mp):
    """fit() training every configuration without its variant (no weight decay, no dropout)."""
    from reproductions import model_fit as mf
    original = mf.fit
    mp.setattr(mf, "fit", lambda *args, variant=None, **kwargs: original(*args, **kwargs))


@planted("block-means-over-the-wrong-axes", claim="underfitting-remedies",
         select="more_features or block_means",
         what="the 2x2 block means over the wrong pixels",
         expect="underfitting-kernels", kernel="model_fit.block_means")
def block_means_over_the_wrong_axes(mp):
    """The 2x2 block means taken over a row pair and a column group of 4 (wrong reshape)."""
    from reproductions import model_fit as mf

    def wrong(X):
        M, n, _ = X.shape
        return X.reshape(M, n, 2, 4, 4, 2).mean((2, 5)).reshape(M, n, 16)
    mp.setattr(mf, "block_means", wrong)


@planted("random-labels-are-the-true-ones", claim="dropout-hinders-memorization",
         select="random_labels or more_slowly",
         what="the 'random' labels are the true labels",
         expect="random-labels-held-back")
def random_labels_are_the_true_ones(mp):
    """memorization() fed the true labels under the random labels' name."""
    from reproductions import model_fit as mf
    original_split = mf.split
    mp.setattr(mf, "random_labels", lambda n, seed: original_split([seed], n)[1][0])


@planted("coadaptation-dropout-net-without-dropout", claim="dropout-features-robust",
         select="loses_less",
         what="the dropout net trained with keep 1 (no dropout)",
         expect="dropout-net-loses-less")
def coadaptation_dropout_net_without_dropout(mp):
    """coadaptation() training its 'dropout' net with keep 1 (no dropout)."""
    from reproductions import model_fit as mf
    mp.setitem(mf.CONFIG, "keep", 1.0)


@planted("ablation-masks-keep-with-the-drop-rate", claim="dropout-features-robust",
         select="keeping_every_unit",
         what="the ablation masks keep each unit with probability 1 - keep",
         expect="ablation-kernel", kernel="model_fit.ablation_masks")
def ablation_masks_keep_with_the_drop_rate(mp):
    """ablation_masks drawing rand < 1 - keep: the drop rate read as the keep probability."""
    from reproductions import model_fit as mf
    original = mf.ablation_masks
    mp.setattr(mf, "ablation_masks",
               lambda count, hidden, keep, seed: original(count, hidden, 1 - keep, seed))


@planted("dropout-kept-units-times-keep", claim="dropout-hinders-memorization",
         select="uniform_and_dropout",
         what="dropout multiplies the kept units by keep instead of dividing by it",
         expect="labels-and-dropout-kernels", kernel="digits_mlp.forward")
def dropout_kept_units_times_keep(mp):
    """forward's inverted dropout written h * mask * keep: kept units shrunk, not scaled up."""
    from reproductions import digits_mlp as mlp
    original = mlp.forward
    mp.setattr(mlp, "forward", lambda p, x, keep=None, mask=None: original(
        p, x, keep, None if mask is None else mask * keep * keep))


@planted("polynomial-fits-ignore-their-n", claim="overfitting-remedies",
         select="more_samples",
         what="every polynomial training set drawn at the default n",
         expect="more-data")
def polynomial_fits_ignore_their_n(mp):
    """polynomial_fits setting n = cfg["n"], dropping the n it is given (n = 50 runs as 20)."""
    from reproductions import model_fit as mf
    original = mf.polynomial_fits
    mp.setattr(mf, "polynomial_fits", lambda seed, degree, n=None, ridge=0.0,
               cfg=mf.CONFIG["poly"]: original(seed, degree, None, ridge, cfg))
