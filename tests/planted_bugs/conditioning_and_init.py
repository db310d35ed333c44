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
