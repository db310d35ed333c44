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


@planted("rare-feature-drawn-as-often-as-the-frequent", claim="adagrad-per-coordinate-rates",
         select="rare_feature_a_higher_rate",
         what="the rare feature drawn with the frequent feature's probability",
         expect="rare-feature-higher-rate")
def rare_feature_drawn_as_often_as_the_frequent(mp):
    """sparse_logistic_data drawing the rare column with frequent_fraction (a copy-paste slip)."""
    from reproductions import adaptive_definitions as ad
    original = ad.sparse_logistic_data
    mp.setattr(ad, "sparse_logistic_data", lambda seed, n, rare_fraction, frequent_fraction=1.0:
               original(seed, n, frequent_fraction, frequent_fraction))


@planted("eq5-eps-default-1e-6", claim="adagrad-eq5-matches-torch",
         select="eq5_is_torchs",
         what="eq. (5)'s eps defaulting to 1e-6 instead of torch's 1e-10",
         expect="eq5-is-torchs")
def eq5_eps_default_1e_6(mp):
    """adagrad_eq5 with its default eps typed 1e-6 (Adadelta's) instead of 1e-10."""
    from reproductions import adaptive_definitions as ad
    original = ad.adagrad_eq5
    mp.setattr(ad, "adagrad_eq5", lambda lr, eps=1e-6: original(lr, eps))


@planted("eq5-accumulator-not-summed", claim="adagrad-eq5-matches-torch",
         select="eq5_is_torchs",
         what="eq. (5)'s G_t set to g_t^2 instead of summed over the past",
         expect="eq5-is-torchs")
def eq5_accumulator_not_summed(mp):
    """adagrad_eq5 with G = g * g at every step: the running sum dropped."""
    from reproductions import adaptive_definitions as ad

    def adagrad_eq5(lr, eps=1e-10):
        def step(g, G, t):
            G = g * g
            return -lr * g / (G + eps).sqrt(), G
        return step
    mp.setattr(ad, "adagrad_eq5", adagrad_eq5)


@planted("first-moment-started-at-the-first-gradient", claim="adam-as-documented",
         select="undo_the_zero_start",
         what="Adam's first moment started at g_1 (like torch's SGD buffer) instead of zero",
         expect="corrections-undo-zero-start")
def first_moment_started_at_the_first_gradient(mp):
    """moment_estimates defaulting m_0 to the first gradient instead of 0."""
    from reproductions import adaptive_definitions as ad
    original = ad.moment_estimates
    mp.setattr(ad, "moment_estimates", lambda grads, b1, b2, m0=None: original(
        grads, b1, b2, grads[0] if m0 is None else m0))


@planted("nadam-b2-default-0.99", claim="adam-as-documented",
         select="dampened_momentum",
         what="NAdam's second-moment decay defaulting to 0.99 instead of 0.999",
         expect="momentum-over-rmsprop")
def nadam_b2_default_0_99(mp):
    """nadam_constant_momentum with its default b2 typed 0.99."""
    from reproductions import adaptive_definitions as ad
    original = ad.nadam_constant_momentum
    mp.setattr(ad, "nadam_constant_momentum",
               lambda lr, b1=0.9, b2=0.99, eps=1e-8: original(lr, b1, b2, eps))


@planted("nadam-b1-default-0.95", claim="notes-adam-not-nesterov",
         select="not_nesterovs_nadam",
         what="NAdam's momentum defaulting to 0.95 instead of 0.9",
         expect="notes-adam-not-nesterov:document-differs")
def nadam_b1_default_0_95(mp):
    """nadam_constant_momentum with its default b1 typed 0.95."""
    from reproductions import adaptive_definitions as ad
    original = ad.nadam_constant_momentum
    mp.setattr(ad, "nadam_constant_momentum",
               lambda lr, b1=0.95, b2=0.999, eps=1e-8: original(lr, b1, b2, eps))


@planted("shared-adam-without-bias-correction", claim="notes-adam-outer-product",
         select="outer_products_diagonal",
         what="the shared Adam's bias correction off by default",
         expect="notes-adam-outer-product:reference-agrees", kernel="optimizers.adam")
def shared_adam_without_bias_correction(mp):
    """optim.adam with bias_correction defaulting to False (Reddi et al.'s form)."""
    from reproductions import optimizers as optim
    original = optim.adam
    mp.setattr(optim, "adam", lambda lr, b1=0.9, b2=0.999, eps=1e-8, bias_correction=False,
               **kwargs: original(lr, b1, b2, eps, bias_correction, **kwargs))


@planted("relative-gap-over-the-summed-path", claim="notes-adam-outer-product",
         select="outer_product_parts_from_torch",
         what="the trajectory gap divided by the summed, not the largest, distance travelled",
         expect="notes-adam-outer-product:document-differs")
def relative_gap_over_the_summed_path(mp):
    """relative_gap normalized by the sum over t of ||b_t - b_0|| instead of its max."""
    import numpy as np

    from reproductions import rule_runs as rr
    mp.setattr(rr, "relative_gap", lambda a, b: float(
        np.linalg.norm(a - b, axis=1).max() / np.linalg.norm(b - b[0], axis=1).sum()))


@planted("run-rule-drops-its-curvatures", claim="notes-no-stabilizing-constant",
         select="without_eps_an_ignored",
         what="run_rule ignoring its curvatures (always the 10-coordinate test quadratic)",
         expect="notes-no-stabilizing-constant:document-differs")
def run_rule_drops_its_curvatures(mp):
    """run_rule not passing its curvatures on: the ignored coordinate never exists."""
    from reproductions import adaptive_definitions as ad
    from reproductions import rule_runs as rr
    mp.setattr(ad, "run_rule", lambda step_fn, curvatures, steps: rr.trajectory(step_fn, steps))


@planted("shared-rmsprop-alpha-0.9", claim="notes-no-stabilizing-constant",
         select="ignored_coordinate_stays_put",
         what="the shared RMSprop's alpha defaulting to 0.9 instead of torch's 0.99",
         expect="notes-no-stabilizing-constant:reference-agrees",
         kernel="optimizers.rmsprop")
def shared_rmsprop_alpha_0_9(mp):
    """optim.rmsprop with its default alpha typed 0.9 (Hinton's lecture value)."""
    from reproductions import optimizers as optim
    original = optim.rmsprop
    mp.setattr(optim, "rmsprop", lambda lr, alpha=0.9, eps=1e-8: original(lr, alpha, eps))


@planted("relative-gap-mean-over-time", claim="slides-adadelta-sum",
         select="adadelta_with_a_sum",
         what="the trajectory gap averaged over the steps instead of its worst step",
         expect="slides-adadelta-sum:document-differs")
def relative_gap_mean_over_time(mp):
    """relative_gap taking the mean over t of ||a_t - b_t|| instead of its max."""
    import numpy as np

    from reproductions import rule_runs as rr
    mp.setattr(rr, "relative_gap", lambda a, b: float(
        np.linalg.norm(a - b, axis=1).mean() / np.linalg.norm(b - b[0], axis=1).max()))


@planted("shared-adadelta-rho-0.95", claim="slides-adadelta-sum",
         select="shared_adadelta_follows_torch",
         what="the shared Adadelta's rho defaulting to 0.95 instead of torch's 0.9",
         expect="slides-adadelta-sum:reference-agrees", kernel="optimizers.adadelta")
def shared_adadelta_rho_0_95(mp):
    """optim.adadelta with its default rho typed 0.95 (Zeiler's experiments' value)."""
    from reproductions import optimizers as optim
    original = optim.adadelta
    mp.setattr(optim, "adadelta", lambda lr=1.0, rho=0.95, eps=1e-6: original(lr, rho, eps))


@planted("correlated-gradients-cholesky-untransposed", claim="slides-adagrad-diagonal-of-inverse",
         select="is_not_adagrads_scale",
         what="the correlated gradients mixed by L instead of L^T (wrong covariance)",
         expect="slides-adagrad-diagonal-of-inverse:document-differs")
def correlated_gradients_cholesky_untransposed(mp):
    """correlated_gradients multiplying by the Cholesky factor untransposed: covariance L^T L."""
    import torch

    from reproductions import adaptive_definitions as ad

    def correlated_gradients(seed, dim, steps, rho):
        g = torch.Generator().manual_seed(seed)
        cov = (1 - rho) * torch.eye(dim, dtype=ad.DT) + rho * torch.ones(dim, dim, dtype=ad.DT)
        return torch.randn(steps, dim, generator=g, dtype=ad.DT) @ torch.linalg.cholesky(cov)
    mp.setattr(ad, "correlated_gradients", correlated_gradients)


@planted("unit-formula-step-keeps-eps", claim="adadelta-units",
         select="scales_with_the_units",
         what="the one-step formula taken with the rule's eps instead of eps 0",
         expect="adadelta-formula-has-units")
def unit_formula_step_keeps_eps(mp):
    """step_unit_ratio's formula step built by make() with its eps, not make(eps=0)."""
    from reproductions import adaptive_definitions as ad
    original = ad.step_unit_ratio
    mp.setattr(ad, "step_unit_ratio", lambda make, c, seed, warmup=50: original(
        lambda eps=None: make(), c, seed, warmup))
