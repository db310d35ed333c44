"""The planted bugs of claims/test_linear_regularization.py."""

from __future__ import annotations

import functools

import numpy as np

from planted_bugs import planted


@planted("ridge-ignores-lambda", claim="ridge-closed-form",
         select="closed_form or lambda_limits",
         what="the ridge closed form without its lambda I",
         expect="closed-form-is-the-minimizer")
def ridge_ignores_lambda(mp):
    """The closed form without its lambda I (plain least squares)."""
    from reproductions import regularization as reg
    mp.setattr(reg, "ridge", lambda X, y, lam: np.linalg.solve(X.T @ X, X.T @ y))


@planted("iterates-start-off-zero", claim="min-norm-implicit-bias",
         select="minimum_norm_interpolator",
         what="GD, SGD and Adam start from a random point instead of zero",
         expect="gd-sgd-at-min-norm")
def iterates_start_off_zero(mp):
    """The linear-regression runs start from a random point instead of w = 0."""
    import torch

    from reproductions import optimizers as optim
    original = optim.run

    def run(opt, grad_fn, params, steps, *args, **kwargs):
        start = params + 0.1 * torch.randn(params.shape, dtype=params.dtype,
                                           generator=torch.Generator().manual_seed(0))
        return original(opt, grad_fn, start, steps, *args, **kwargs)
    mp.setattr(optim, "run", run)


@planted("bagging-without-bootstrap", claim="bagging-halves-variance",
         select="bagging",
         what="the bagged trees all fit the whole training set (no bootstrap)",
         expect="bagged-variance-lower")
def bagging_without_bootstrap(mp):
    """Every bagged tree fits the whole training set (bootstrap=False): the trees coincide."""
    import sklearn.ensemble
    mp.setattr(sklearn.ensemble, "BaggingRegressor",
               functools.partial(sklearn.ensemble.BaggingRegressor, bootstrap=False))
