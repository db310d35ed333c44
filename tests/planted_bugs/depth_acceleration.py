"""The planted bugs of claims/test_depth_acceleration.py."""

from __future__ import annotations

import functools

import numpy as np

from planted_bugs import planted


@planted("l4-trained-with-the-l2-gradient", claim="depth-acceleration",
         select="depth_2_reaches_lower",
         what="the l4 runs step with the l2 gradient",
         expect="l4-depth2", slow=True)
def l4_trained_with_the_l2_gradient(mp):
    from reproductions import linear_nets as ln
    original = ln.grad_fn
    mp.setattr(ln, "grad_fn", lambda problem, p, dtype: original(problem, 2, dtype))


@planted("standardization-dropped", claim="depth-acceleration",
         select="depth_2_reaches_lower or stability_edge",
         what="the features and target are not z-scored",
         expect="l4-depth2", slow=True)
def standardization_dropped(mp):
    from reproductions import linear_nets as ln
    mp.setattr(ln, "standardize", lambda X, y: (np.asarray(X, float), np.asarray(y, float)))


@planted("deep-factors-frozen", claim="depth-acceleration",
         select="depth_2_reaches_lower",
         what="the deep nets' scalar factors get no gradient",
         expect="l4-depth2", slow=True)
def deep_factors_frozen(mp):
    """The scalar factors a_2 .. a_N get no gradient (a wrong trainable mask)."""
    from reproductions import linear_nets as ln
    original = ln.factor_grads

    @functools.wraps(original)
    def frozen(P, G_of_w, d, trainable=None):
        grads, w = original(P, G_of_w, d, trainable)
        grads[d:] = 0.0
        return grads, w
    mp.setattr(ln, "factor_grads", frozen)


@planted("e2e-rule-with-the-slides-exponent", claim="depth-acceleration",
         select="general_end_to_end",
         what="the general end-to-end rule with slide 003's exponent (j-2)/N",
         expect="e2e-rule")
def e2e_rule_with_the_slides_exponent(mp):
    """The general end-to-end rule with [W W^T]^{(j-2)/N} (slide 003's exponent) instead of the
    paper's (j-1)/N."""
    from reproductions import linear_nets as ln

    def shifted(W, G, N):
        WWt, WtW = W @ W.T, W.T @ W
        return sum(ln.matrix_power_psd(WWt, max(j - 2, 0) / N) @ G
                   @ ln.matrix_power_psd(WtW, (N - j) / N) for j in range(1, N + 1))
    mp.setattr(ln, "e2e_direction_multi", shifted)
