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
