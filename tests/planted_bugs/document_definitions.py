"""The planted bugs of claims/test_document_definitions.py."""

from __future__ import annotations

from planted_bugs import planted


@planted("ridge-gradient-without-the-2-on-lambda", claim="slides-ridge-derivation",
         select="ridge",
         what="the corrected ridge gradient with lambda theta for 2 lambda theta",
         expect="slides-ridge-derivation:reference-agrees",
         kernel="document_definitions.ridge_gradient")
def ridge_gradient_without_the_2_on_lambda(mp):
    """The corrected ridge gradient with lambda theta instead of 2 lambda theta."""
    from reproductions import document_definitions as dd
    mp.setattr(dd, "ridge_gradient",
               lambda X, y, theta, lam: -2 * X.T @ y + 2 * X.T @ X @ theta + lam * theta)


@planted("js-mixture-of-logs", claim="slides-augmix-kl-on-logits",
         select="posteriors",
         what="AugMix's mixture taken as the geometric mean of the posteriors",
         expect="slides-augmix-kl-on-logits:reference-agrees",
         kernel="document_definitions.jensen_shannon")
def js_mixture_of_logs(mp):
    """AugMix's mixture M taken as the geometric mean of the posteriors."""
    from reproductions import document_definitions as dd

    def jensen_shannon(probabilities):
        log_m = probabilities.log().mean(0)
        return (probabilities * (probabilities.log() - log_m)).sum(-1).mean()
    mp.setattr(dd, "jensen_shannon", jensen_shannon)


@planted("min-norm-without-the-gram-inverse", claim="min-norm-expected-error",
         select="pseudo_inverse",
         what="the minimum-norm interpolant as X^T y, without (X X^T)^-1",
         expect="formula-is-pinv")
def min_norm_without_the_gram_inverse(mp):
    """The minimum-norm interpolant computed as X^T y, without (X X^T)^-1."""
    from reproductions import document_definitions as dd
    mp.setattr(dd, "min_norm_interpolant", lambda X, Y: Y @ X)


@planted("cross-entropy-log-softmax-over-the-batch", claim="softmax-and-cross-entropy",
         select="one_hot_cross_entropy",
         what="the cross-entropy's log-softmax normalized over the batch axis, not the classes",
         expect="cross-entropy-one-hot")
def cross_entropy_log_softmax_over_the_batch(mp):
    """H(P, Q) with Q = softmax over axis 0 (the examples) instead of the classes."""
    import torch

    from reproductions import document_definitions as dd
    mp.setattr(dd, "cross_entropy_of_distributions",
               lambda target, logits: -(target * torch.log_softmax(logits, 0)).sum(-1))


@planted("naive-softmax-summed-over-the-batch", claim="softmax-and-cross-entropy",
         select="naive_softmax",
         what="the literal softmax divides by the sum over the batch axis, not the classes",
         expect="naive-softmax-overflows")
def naive_softmax_summed_over_the_batch(mp):
    """exp(z) / sum exp(z) with the sum taken over axis 0 instead of -1."""
    from reproductions import document_definitions as dd
    mp.setattr(dd, "naive_softmax", lambda z: z.exp() / z.exp().sum(0, keepdim=True))


@planted("hinge-without-its-margin", claim="margin-losses",
         select="hinge_and_logistic",
         what="the hinge loss written max{-y s, 0}, the margin 1 dropped",
         expect="losses-are-the-libraries")
def hinge_without_its_margin(mp):
    """Eq. (2) as max{-y s, 0} (the perceptron loss): the 1 of the margin dropped."""
    import torch

    from reproductions import document_definitions as dd
    mp.setattr(dd, "hinge", lambda y, score: torch.clamp(-y * score, min=0))


@planted("logistic-loss-sign-flipped", claim="margin-losses",
         select="hinge_and_logistic",
         what="the logistic loss as log(1 + exp(+y s)), the sign of the margin flipped",
         expect="losses-are-the-libraries")
def logistic_loss_sign_flipped(mp):
    """Eq. (3) as softplus(y s) instead of softplus(-y s)."""
    import torch

    from reproductions import document_definitions as dd
    mp.setattr(dd, "logistic", lambda y, score: torch.nn.functional.softplus(y * score))


@planted("ridge-closed-form-without-lambda", claim="slides-ridge-derivation",
         select="corrected_ridge",
         what="the ridge closed form solved with X^T X alone, lambda I dropped",
         expect="slides-ridge-derivation:reference-agrees")
def ridge_closed_form_without_lambda(mp):
    """(X^T X)^-1 X^T y (least squares) where the closed form is (X^T X + lambda I)^-1 X^T y."""
    from reproductions import document_definitions as dd
    original = dd.ridge_closed_form
    mp.setattr(dd, "ridge_closed_form", lambda X, y, lam: original(X, y, 0.0))


@planted("js-kl-arguments-swapped", claim="slides-augmix-kl-on-logits",
         select="posteriors",
         what="AugMix's KL terms taken as KL(M || p_i), the arguments swapped",
         expect="slides-augmix-kl-on-logits:reference-agrees",
         kernel="document_definitions.jensen_shannon")
def js_kl_arguments_swapped(mp):
    """The consistency term as the mean of KL(M || p_i) instead of KL(p_i || M)."""
    from reproductions import document_definitions as dd

    def jensen_shannon(probabilities):
        M = probabilities.mean(0)
        return (M * (M.log() - probabilities.log())).sum(-1).mean()
    mp.setattr(dd, "jensen_shannon", jensen_shannon)


@planted("min-norm-null-dimension-without-k", claim="min-norm-expected-error",
         select="lowest_expected_error",
         what="the null space's dimension reported as d, not d - k",
         expect="lowest-expected-error")
def min_norm_null_dimension_without_k(mp):
    """min_norm_expected_errors returns d as the null dimension, forgetting the k constraints."""
    from reproductions import document_definitions as dd
    original = dd.min_norm_expected_errors
    mp.setattr(dd, "min_norm_expected_errors",
               lambda seed, k=20, d=100, draws=4000, prior_mean_scale=0.0: {
                   **original(seed, k, d, draws, prior_mean_scale), "null dimension": d})


@planted("dropout-mask-default-rate-0.9", claim="dropout-conventions",
         select="two_to_the_h",
         what="the mask counter's default drop rate 0.9 (a keep probability of 0.1 taken as "
              "the rate)",
         expect="two-to-the-h-sub-models")
def dropout_mask_default_rate_0_9(mp):
    """distinct_dropout_masks with rate=0.9 as its default instead of 0.5."""
    from reproductions import document_definitions as dd
    original = dd.distinct_dropout_masks
    mp.setattr(dd, "distinct_dropout_masks",
               lambda units, draws, seed, rate=0.9: original(units, draws, seed, rate))


@planted("dropout-mean-inverted-flag-flipped", claim="dropout-conventions",
         select="inverted_dropout_needs",
         what="the Monte Carlo dropout mean's inverted flag flipped: the inverted form gets the "
              "mask-only rescaling",
         expect="inverted-needs-no-rescaling")
def dropout_mean_inverted_flag_flipped(mp):
    """dropout_mean tests ``if inverted`` where it should test ``if not inverted``."""
    from reproductions import document_definitions as dd
    original = dd.dropout_mean
    mp.setattr(dd, "dropout_mean", lambda x, rate, draws, seed, inverted=True: original(
        x, rate, draws, seed, inverted=not inverted))


@planted("keras-net-default-rate-0.2", claim="slides-dropout-rule-on-keras",
         select="halves_the_output",
         what="the Dense-Dropout net built with rate 0.2, not the slides' Dropout(0.5)",
         expect="slides-dropout-rule-on-keras:document-differs")
def keras_net_default_rate_0_2(mp):
    """slides_test_rule_on_an_inverted_layer with rate=0.2 as its default."""
    from reproductions import document_definitions as dd
    original = dd.slides_test_rule_on_an_inverted_layer
    mp.setattr(dd, "slides_test_rule_on_an_inverted_layer",
               lambda seed, rate=0.2, inputs=32, draws=1000: original(seed, rate, inputs, draws))


@planted("keras-net-standard-error-over-draws", claim="slides-dropout-rule-on-keras",
         select="evaluates_at_the_expected",
         what="the Monte Carlo standard error divided by the number of draws, not its root",
         expect="slides-dropout-rule-on-keras:reference-agrees")
def keras_net_standard_error_over_draws(mp):
    """The training outputs' standard error as std / draws instead of std / sqrt(draws)."""
    import math

    from reproductions import document_definitions as dd
    original = dd.slides_test_rule_on_an_inverted_layer

    def rule(seed, rate=0.5, inputs=32, draws=1000):
        evaluated, scaled, mean, se = original(seed, rate, inputs, draws)
        return evaluated, scaled, mean, se / math.sqrt(draws)
    mp.setattr(dd, "slides_test_rule_on_an_inverted_layer", rule)


@planted("mixup-beta-second-parameter-1", claim="slides-mixup-one-parameter-beta",
         select="symmetric_beta",
         what="Mixup's lambda drawn from Beta(alpha, 1), the second parameter left at 1",
         expect="slides-mixup-one-parameter-beta:reference-agrees")
def mixup_beta_second_parameter_1(mp):
    """mixup_lambdas draws Beta(alpha, 1) instead of Beta(alpha, alpha)."""
    import numpy as np

    from reproductions import document_definitions as dd
    mp.setattr(dd, "mixup_lambdas", lambda seed, alpha=0.2, draws=20000:
               np.random.default_rng(seed).beta(alpha, 1.0, draws))


@planted("beta-probe-passes-alpha-twice", claim="slides-mixup-one-parameter-beta",
         select="one_parameter_beta",
         what="the one-parameter Beta probe calls beta(alpha, alpha), so it never tries the "
              "slides' Beta(alpha)",
         expect="slides-mixup-one-parameter-beta:document-differs")
def beta_probe_passes_alpha_twice(mp):
    """beta_accepts_one_parameter probes Beta(alpha, alpha) instead of Beta(alpha)."""
    import numpy as np

    from reproductions import document_definitions as dd

    def beta_accepts_one_parameter(alpha=0.2):
        try:
            np.random.default_rng(0).beta(alpha, alpha)
        except TypeError:
            return False
        return True
    mp.setattr(dd, "beta_accepts_one_parameter", beta_accepts_one_parameter)


@planted("cutout-half-width-taken-as-side", claim="slides-cutmix-lambda-as-in-cutout",
         select="no_mixing_ratio",
         what="Cutout's square built with half-width 16 (side 32, the whole image), not side 16",
         expect="slides-cutmix-lambda-as-in-cutout:document-differs")
def cutout_half_width_taken_as_side(mp):
    """cutout_kept_fractions with the patch's side doubled (16 taken as the half-width)."""
    from reproductions import document_definitions as dd
    original = dd.cutout_kept_fractions
    mp.setattr(dd, "cutout_kept_fractions", lambda seed, draws=2000, size=32, patch=16:
               original(seed, draws, size, 2 * patch))


@planted("cutmix-box-bottom-edge-inclusive", claim="slides-cutmix-lambda-as-in-cutout",
         select="first_images_share",
         what="CutMix's box bottom edge off by one (inclusive), so its area counts a row past "
              "the image",
         expect="slides-cutmix-lambda-as-in-cutout:reference-agrees")
def cutmix_box_bottom_edge_inclusive(mp):
    """cutmix_box returns bottom + 1 (an inclusive edge) where slicing takes it as exclusive."""
    from reproductions import document_definitions as dd
    original = dd.cutmix_box

    def cutmix_box(lam, size, rng):
        top, bottom, left, right = original(lam, size, rng)
        return top, bottom + 1, left, right
    mp.setattr(dd, "cutmix_box", cutmix_box)


@planted("activation-derivative-by-mean", claim="saturating-activations",
         select="saturating_derivatives_vanish",
         what="the activation's derivative back-propagated from the mean over the grid, not "
              "the sum",
         expect="saturating-derivatives-vanish")
def activation_derivative_by_mean(mp):
    """derivative() calls activation(x).mean().backward(): every derivative divided by the grid
    size."""
    from reproductions import document_definitions as dd

    def derivative(activation, x):
        x = x.clone().requires_grad_()
        activation(x).mean().backward()
        return x.grad
    mp.setattr(dd, "derivative", derivative)


@planted("activation-derivative-in-float32", claim="saturating-activations",
         select="closed_forms",
         what="the activation's derivative taken on a float32 copy of the grid",
         expect="autograd-is-the-closed-form", kernel="document_definitions.derivative")
def activation_derivative_in_float32(mp):
    """derivative() casts the grid to float32 before autograd."""
    from reproductions import document_definitions as dd
    original = dd.derivative
    mp.setattr(dd, "derivative", lambda activation, x: original(activation, x.float()).double())


@planted("ill-conditioned-spectrum-over-sqrt-kappa", claim="ill-conditioned-solve",
         select="grows_with_the_condition",
         what="the test Hessian's eigenvalues spread over sqrt(kappa), not kappa",
         expect="error-grows-with-condition")
def ill_conditioned_spectrum_over_sqrt_kappa(mp):
    """solve_error builds H with eigenvalues over [1/sqrt(condition), 1] (a factor 1/2 on the
    log10)."""
    import math

    from reproductions import document_definitions as dd
    original = dd.solve_error
    mp.setattr(dd, "solve_error", lambda seed, condition, dtype, n=50: original(
        seed, math.sqrt(condition), dtype, n))


@planted("ill-conditioned-solve-ignores-dtype", claim="ill-conditioned-solve",
         select="grows_with_the_condition",
         what="the solve done in float64 whatever dtype is asked for",
         expect="error-grows-with-condition")
def ill_conditioned_solve_ignores_dtype(mp):
    """solve_error casts to float64 instead of ``dtype`` before the solve."""
    import torch

    from reproductions import document_definitions as dd
    original = dd.solve_error
    mp.setattr(dd, "solve_error", lambda seed, condition, dtype, n=50: original(
        seed, condition, torch.float64, n))
