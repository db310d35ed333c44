"""The planted bugs of claims/test_adaptive_definitions.py."""

from __future__ import annotations

from planted_bugs import planted


@planted("logistic-gradient-sign-flipped", claim="adagrad-per-coordinate-rates",
         select="batched_adagrad",
         what="the batched logistic-loss gradient with its sign flipped",
         expect="batched-adagrad-is-torchs", kernel="adaptive_definitions.logistic_gradient")
def logistic_gradient_sign_flipped(mp):
    """The batched logistic-loss gradient with its sign flipped (ascent)."""
    from reproductions import adaptive_definitions as ad
    original = ad.logistic_gradient
    mp.setattr(ad, "logistic_gradient", lambda w, x, y: -original(w, x, y))


@planted("nadam-without-the-look-ahead", claim="notes-adam-not-nesterov",
         select="nadam",
         what="NAdam without Nesterov's look-ahead (Adam's corrected m_t)",
         expect="notes-adam-not-nesterov:reference-agrees")
def nadam_without_the_look_ahead(mp):
    """NAdam's first moment without Nesterov's look-ahead: Adam's m_t / (1 - b1^t)."""
    from reproductions import adaptive_definitions as ad

    def nadam(lr, b1=0.9, b2=0.999, eps=1e-8):
        def step(g, state, t):
            m, v = (0 * g, 0 * g) if state is None else state
            m, v = b1 * m + (1 - b1) * g, b2 * v + (1 - b2) * g * g
            return -lr * (m / (1 - b1 ** t)) / ((v / (1 - b2 ** t)).sqrt() + eps), (m, v)
        return step
    mp.setattr(ad, "nadam_constant_momentum", nadam)


@planted("adagrad-scale-unrooted", claim="slides-adagrad-diagonal-of-inverse",
         select="diagonal",
         what="AdaGrad's scale taken as diag(G)^-1, without the root",
         expect="slides-adagrad-diagonal-of-inverse:reference-agrees")
def adagrad_scale_unrooted(mp):
    """AdaGrad's scale taken as diag(G)^-1, without the root."""
    from reproductions import adaptive_definitions as ad
    original = ad.adagrad_scales

    def scales(grads):
        out = original(grads)
        out["inverse of the diagonal"] = out["inverse of the diagonal"] ** 2
        return out
    mp.setattr(ad, "adagrad_scales", scales)


@planted("update-accumulator-with-gradient-units", claim="adadelta-units",
         select="scales_with_the_units",
         what="Adadelta's E[d^2] written in the gradient's units",
         expect="adadelta-formula-has-units")
def update_accumulator_with_gradient_units(mp):
    """in_units giving Adadelta's E[d^2] the gradient's units (c^-2) instead of c^2."""
    from reproductions import adaptive_definitions as ad
    mp.setitem(ad.UNIT_POWERS, "mean_sq_delta", -2)
