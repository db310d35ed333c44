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


@planted("ridge-with-lambda-squared", claim="ridge-closed-form",
         select="lambda_limits",
         what="the ridge closed form adds lambda^2 I instead of lambda I",
         expect="lambda-limits")
def ridge_with_lambda_squared(mp):
    """ridge() solves (X^T X + lambda^2 I) theta = X^T y (the same at lambda = 1 only)."""
    from reproductions import regularization as reg
    original = reg.ridge
    mp.setattr(reg, "ridge", lambda X, y, lam: original(X, y, lam ** 2))


@planted("gradient-keeps-a-weight-decay", claim="min-norm-implicit-bias",
         select="gd_and_sgd_end_at",
         what="the least-squares runs add a weight decay 1e-4 w to every gradient",
         expect="gd-sgd-at-min-norm")
def gradient_keeps_a_weight_decay(mp):
    """Each run's gradient is grad L(w) + 1e-4 w: an L2 penalty left on (ridge, not min-norm)."""
    from reproductions import optimizers as optim
    original = optim.run

    def run(opt, grad_fn, params, steps, *args, **kwargs):
        return original(opt, lambda w, t: grad_fn(w, t) + 1e-4 * w, params, steps, *args,
                        **kwargs)
    mp.setattr(optim, "run", run)


@planted("bagging-max-samples-one", claim="bagging-halves-variance",
         select="cuts_the_expected_error",
         what="the bagged trees are fitted with max_samples=1 (the int: one sample per tree) "
              "instead of 1.0 (the whole size)",
         expect="bagged-error-lower")
def bagging_max_samples_one(mp):
    """BaggingRegressor(max_samples=1): every tree sees one bootstrap point and predicts it."""
    import sklearn.ensemble
    mp.setattr(sklearn.ensemble, "BaggingRegressor",
               functools.partial(sklearn.ensemble.BaggingRegressor, max_samples=1))


@planted("ridge-penalty-over-n", claim="gaussian-noise-is-ridge",
         select="noisy_copies_give_ridge",
         what="ridge() divides lambda by n (the mean-loss convention), so the reference is ridge "
              "with lambda = sigma^2, not n sigma^2",
         expect="noisy-copies-give-ridge")
def ridge_penalty_over_n(mp):
    """ridge(X, y, lam) solves with lam / n: the penalty scaled for a mean, not a sum, of
    squares."""
    from reproductions import regularization as reg
    original = reg.ridge
    mp.setattr(reg, "ridge", lambda X, y, lam: original(X, y, lam / len(y)))


@planted("input-noise-sigma-a-tenth", claim="gaussian-noise-is-ridge",
         select="plain_least_squares_differs",
         what="the Gaussian-noise experiment runs at sigma 0.03 instead of 0.3 (a decimal slip)",
         expect="least-squares-differs")
def input_noise_sigma_a_tenth(mp):
    """vicinal_experiment's sigma is 0.03: the ridge it matches is then almost least squares."""
    from reproductions import regularization as reg
    original = reg.vicinal_experiment
    mp.setattr(reg, "vicinal_experiment", lambda seed, cfg=reg.CONFIG["vicinal"]: original(
        seed, {**cfg, "sigma": cfg["sigma"] / 10}))


@planted("lambda-grid-reversed", claim="ridge-shrinks-the-norm",
         select="norm_decreases_strictly",
         what="the ridge path's lambda grid runs from 1e4 down to 1e-3",
         expect="norm-decreases")
def lambda_grid_reversed(mp):
    """The lambda grid is np.logspace(4, -3, 60): the path is walked backwards."""
    from reproductions import regularization as reg
    original = reg.ridge_experiment
    mp.setattr(reg, "ridge_experiment", lambda seed, cfg=reg.CONFIG["ridge"]: original(
        seed, {**cfg, "lambdas": cfg["lambdas"][::-1]}))


@planted("ridge-penalty-all-ones", claim="ridge-shrinks-the-norm",
         select="norm_decreases_strictly",
         what="the ridge closed form adds lambda times the all-ones matrix (np.ones for np.eye)",
         expect="norm-decreases")
def ridge_penalty_all_ones(mp):
    """ridge() solves (X^T X + lambda 1 1^T) theta = X^T y: np.ones where np.eye belongs."""
    from reproductions import regularization as reg
    mp.setattr(reg, "ridge", lambda X, y, lam: np.linalg.solve(
        X.T @ X + lam * np.ones((X.shape[1], X.shape[1])), X.T @ y))


class _NumpyWith:
    """numpy as ``reproductions/regularization.py`` sees it (its module-level ``np``), with the
    functions given as keywords in place of numpy's: a bug in one call of a helper it uses."""

    def __init__(self, **replaced):
        self.__dict__.update(replaced)

    def __getattr__(self, name):
        return getattr(np, name)


@planted("test-error-against-the-truth", claim="bias-variance-decomposition",
         select="decomposition_holds_over",
         what="the expected squared error is measured against sin(2 pi x), not the noisy test "
              "labels",
         expect="decomposition-holds")
def test_error_against_the_truth(mp):
    """bias_variance's errors are (truth(x_test) - p)^2: the test labels' noise left out, so the
    MSE is variance + bias^2 exactly and misses the noise term."""
    from reproductions import regularization as reg
    original = reg.bias_variance

    def bias_variance(seed, cfg=reg.CONFIG["bias_variance"]):
        out = original(seed, cfg)
        mse = out["variance"] + out["bias2"]
        return {**out, "mse": mse, "decomposition_gap": abs(
            mse - (out["noise"] + out["variance"] + out["bias2"])) / mse}
    mp.setattr(reg, "bias_variance", bias_variance)


@planted("test-errors-overwritten", claim="bias-variance-decomposition",
         select="decomposition_holds_over",
         what="the squared errors are assigned, not appended, in the loop over training sets: "
              "the MSE is that of the last training set",
         expect="decomposition-holds")
def test_errors_overwritten(mp):
    """errors = (y_test - p)^2 inside the loop: np.mean(errors) averages the last fit only."""
    from reproductions import regularization as reg
    mp.setattr(reg, "np", _NumpyWith(mean=lambda a, *args, **kwargs: np.mean(
        a[-1] if isinstance(a, list) else a, *args, **kwargs)))


@planted("one-model-on-sorted-inputs", claim="slides-bias-variance-deterministic",
         select="misses_the_covariance",
         what="the one fitted model is evaluated at the sorted test inputs, paired with the "
              "labels in draw order",
         expect="slides-bias-variance-deterministic:document-differs")
def one_model_on_sorted_inputs(mp):
    """m = np.polyval(coef, np.sort(xs)): the model's outputs no longer match their labels' x,
    so Cov(y, M(x)) vanishes (the polyval calls on the sorted grid x_test are unchanged)."""
    from reproductions import regularization as reg
    mp.setattr(reg, "np", _NumpyWith(polyval=lambda p, x: np.polyval(p, np.sort(x))))


@planted("noise-term-as-the-std", claim="slides-bias-variance-deterministic",
         select="identity_holds",
         what="the decomposition's noise term is the noise's std (0.3), not its variance",
         expect="slides-bias-variance-deterministic:reference-agrees")
def noise_term_as_the_std(mp):
    """bias_variance's noise = cfg['noise'] where cfg['noise'] ** 2 belongs."""
    from reproductions import regularization as reg
    original = reg.bias_variance

    def bias_variance(seed, cfg=reg.CONFIG["bias_variance"]):
        out = original(seed, cfg)
        noise = cfg["noise"]
        return {**out, "noise": noise, "decomposition_gap": abs(
            out["mse"] - (noise + out["variance"] + out["bias2"])) / out["mse"]}
    mp.setattr(reg, "bias_variance", bias_variance)


@planted("polyval-coefficients-reversed", claim="underfit-bias-overfit-variance",
         select="neighbouring_degrees",
         what="the fitted polynomials are evaluated with polyfit's coefficients in reverse order "
              "(lowest degree first)",
         expect="neighbouring-degrees-alike")
def polyval_coefficients_reversed(mp):
    """np.polyval(coef[::-1], x): polyfit's highest-first coefficients read lowest-first."""
    from reproductions import regularization as reg
    mp.setattr(reg, "np", _NumpyWith(polyval=lambda p, x: np.polyval(p[::-1], x)))


@planted("fits-on-noiseless-labels", claim="underfit-bias-overfit-variance",
         select="underfitting_has_more_bias",
         what="the polynomials are fitted to sin(2 pi x) without the label noise",
         expect="underfit-vs-overfit")
def fits_on_noiseless_labels(mp):
    """np.polyfit(x, truth(x), degree): the training labels' noise dropped (the test labels keep
    theirs), so the fits vary only with the inputs."""
    from reproductions import regularization as reg
    mp.setattr(reg, "np", _NumpyWith(polyfit=lambda x, y, degree: np.polyfit(
        x, reg.truth(x), degree)))
