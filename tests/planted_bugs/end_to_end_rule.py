"""The planted bugs of claims/test_end_to_end_rule.py."""

from __future__ import annotations

import math

from planted_bugs import planted


@planted("balanced-start-rescaled", claim="e2e-rule-first-order",
         select="second_order_in_eta",
         what="the balanced factorization scales W_1 by 1.5 and W_N by 1/1.5 (same product, "
              "unbalanced)",
         expect="error-second-order")
def balanced_start_rescaled(mp):
    """The 'balanced' factorization returns W_1 x 1.5 and W_N / 1.5: the same product, unbalanced."""
    from reproductions import end_to_end as ee
    original = ee.balanced_start

    def rescaled(seed, depth, config=ee.CONFIG):
        We, Ws, X, Y = original(seed, depth, config)
        return We, ee.rescaled(Ws, 1.5), X, Y
    mp.setattr(ee, "balanced_start", rescaled)


@planted("loop-integral-along-the-radius", claim="not-attainable-by-regularization",
         select="gradient_field",
         what="the loop integral dots F with the radius instead of the tangent",
         expect="n1-is-a-gradient")
def loop_integral_along_the_radius(mp):
    """The loop integral dots F with the radius gamma - c instead of the tangent gamma'."""

    import torch

    from reproductions import end_to_end as ee

    def radial(F, center, a, b, radius, points):
        t = torch.arange(points, dtype=torch.float64) * (2 * math.pi / points)
        offset = radius * (torch.cos(t)[:, None] * a + torch.sin(t)[:, None] * b)
        Fs = torch.vmap(F)(center + offset)
        h = 2 * math.pi / points
        return (float((Fs * offset).sum() * h),
                float((Fs.norm(dim=1) * offset.norm(dim=1)).sum() * h))
    mp.setattr(ee, "loop_integral", radial)


@planted("one-factor-lr-off-by-ten-percent", claim="balancedness-preserved",
         select="drift_halves",
         what="GD on the factors gives the middle factor 1.1x the learning rate",
         expect="drift-halves-with-eta")
def one_factor_lr_off_by_ten_percent(mp):
    """GD on the factors gives the middle factor 1.1 times the others' learning rate."""
    from reproductions import end_to_end as ee
    original = ee.gd_on_factors

    def off(Ws, X, Y, eta, steps, lr_scales=None):
        scales = [1.0] * len(Ws) if lr_scales is None else list(lr_scales)
        scales[1] *= 1.1
        return original(Ws, X, Y, eta, steps, scales)
    mp.setattr(ee, "gd_on_factors", off)
