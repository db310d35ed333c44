"""The planted bugs of claims/test_conditioning_and_init.py."""

from __future__ import annotations

import math

import numpy as np

from planted_bugs import planted


@planted("glorot-std-without-the-2", claim="glorot-variance",
         select="xavier_normal",
         what="Glorot's standard deviation without its factor 2",
         expect="formula-is-torchs")
def glorot_std_without_the_2(mp):
    """Glorot's standard deviation written sqrt(1 / (fan_in + fan_out))."""

    from reproductions import conditioning_and_init as ci
    mp.setattr(ci, "glorot_std", lambda fan_in, fan_out: math.sqrt(1.0 / (fan_in + fan_out)))


@planted("correlation-halved", claim="correlated-features-ill-conditioned",
         select="condition_number",
         what="the correlated features drawn with half the correlation",
         expect="condition-number-closed-form")
def correlation_halved(mp):
    """The correlated features drawn with half the requested correlation."""
    from reproductions import conditioning_and_init as ci
    original = ci.correlated_features
    mp.setattr(ci, "correlated_features", lambda seed, rho, n=512: original(seed, rho / 2, n))


@planted("closed-form-with-a-ridge", claim="closed-form-needs-n-above-p",
         select="closed_form",
         what="the closed form computed with a ridge term",
         expect="unique-closed-form")
def closed_form_with_a_ridge(mp):
    """The closed form (X^T X)^-1 X^T y computed with a ridge term lambda = 1 added."""
    from reproductions import conditioning_and_init as ci
    mp.setattr(ci, "closed_form",
               lambda X, y: np.linalg.solve(X.T @ X + np.eye(X.shape[1]), X.T @ y))


@planted("glorot-std-from-fan-in-only", claim="glorot-variance",
         select="xavier_normal",
         what="Glorot's standard deviation written with fan_in only (LeCun's sqrt(1 / fan_in))",
         expect="formula-is-torchs")
def glorot_std_from_fan_in_only(mp):
    """Glorot's standard deviation written sqrt(1 / fan_in): equal to it for square layers only."""
    from reproductions import conditioning_and_init as ci
    mp.setattr(ci, "glorot_std", lambda fan_in, fan_out: math.sqrt(1.0 / fan_in))


@planted("whitening-factor-untransposed", claim="correlated-features-ill-conditioned",
         select="uncorrelated_features_need_one_step",
         what="the correlated features whitened by inv(L) instead of inv(L)^T: not exactly white",
         expect="uncorrelated-lands-in-one-step")
def whitening_factor_untransposed(mp):
    """The draws whitened as Z @ inv(L), L the Cholesky factor of their sample covariance, with
    the transpose dropped: their covariance is no longer exactly I. The wrapper replays the same
    draws to get L; the targets keep y = X w* with the same w*."""
    from reproductions import conditioning_and_init as ci
    original = ci.correlated_features

    def correlated_features(seed, rho, n=512):
        X, y = original(seed, rho, n)
        Z = np.random.default_rng(seed).standard_normal((n, 2))
        L = np.linalg.cholesky((Z - Z.mean(0)).T @ (Z - Z.mean(0)) / n)
        mix = np.linalg.cholesky(np.array([[1.0, rho], [rho, 1.0]])).T
        w_star = np.linalg.solve(X.T @ X, X.T @ y)
        X = X @ np.linalg.inv(mix) @ L.T @ np.linalg.inv(L) @ mix   # Z inv(L) mix
        return X, X @ w_star
    mp.setattr(ci, "correlated_features", correlated_features)

@planted("regression-rows-and-columns-swapped", claim="closed-form-needs-n-above-p",
         select="singular_when_p_exceeds_n",
         what="the regression data drawn with its rows and columns arguments swapped",
         expect="singular-below-p")
def regression_rows_and_columns_swapped(mp):
    """regression(seed, rows, columns) draws a columns x rows design (the two sizes swapped)."""
    from reproductions import conditioning_and_init as ci
    original = ci.regression
    mp.setattr(ci, "regression", lambda seed, rows, columns: original(seed, columns, rows))


@planted("gaussian-entries-with-he-variance", claim="gaussian-approximately-orthogonal",
         select="spread_over_zero_to_two",
         what="the Gaussian matrix's entries drawn with He's variance 2/n instead of 1/n",
         expect="singular-values-spread")
def gaussian_entries_with_he_variance(mp):
    """The N(0, 1/n) matrix drawn as randn / sqrt(n / 2): singular values sqrt(2) times larger."""
    from reproductions import conditioning_and_init as ci
    original = ci.singular_values
    mp.setattr(ci, "singular_values", lambda seed, n, orthogonal: original(seed, n, orthogonal)
               * (1.0 if orthogonal else math.sqrt(2.0)))

@planted("product-orthogonal-flag-inverted", claim="gaussian-approximately-orthogonal",
         select="products_of_gaussian",
         what="the layer products draw Gaussian layers for orthogonal=True and vice versa",
         expect="products-grow-ill-conditioned")
def product_orthogonal_flag_inverted(mp):
    """product_condition's branch reads `if not orthogonal`: the two kinds of layer swapped."""
    from reproductions import conditioning_and_init as ci
    original = ci.product_condition
    mp.setattr(ci, "product_condition",
               lambda seed, n, layers, orthogonal: original(seed, n, layers, not orthogonal))
