"""The loss-landscape library: the batched line evaluation against a plain per-net loop, filter
normalization, the rescaling, the rise scale and the curve measures."""

import numpy as np
import torch

from reproductions import loss_landscapes as ll
from reproductions import minibatch

SEEDS = [0, 1]


def nets(depth=3):
    return minibatch.stack([ll.init(s, depth) for s in SEEDS]), ll.training_data(SEEDS)


def test_line_losses_match_a_per_point_per_net_loop():
    for depth in (1, 3):
        theta, (X, Y) = nets(depth)
        d = ll.gaussian_direction(theta, [7, 8])
        d["b0"] = torch.ones_like(d["b0"])          # a bias direction too
        ts = np.array([-0.5, 0.0, 0.3])
        naive = ll.losses_naive(ll.along(theta, d, ts), X, Y)
        assert torch.allclose(ll.line_losses(theta, d, ts, X, Y), naive, rtol=0, atol=1e-12)


def test_filter_normalized_rows_have_the_weights_row_norms():
    theta, _ = nets()
    d = ll.filter_normalize(ll.gaussian_direction(theta, [3, 4]), theta, layers={0, 2})
    for k in ("w0", "w2"):
        assert torch.allclose(d[k].norm(dim=-1), theta[k].double().norm(dim=-1))
    assert not d["w1"].any() and not d["b0"].any()


def test_rescaling_keeps_the_function_and_each_nets_direction_is_its_own():
    theta, (X, _) = nets()
    theta["b0"] = theta["b0"] + 0.1                  # non-zero biases must be rescaled too
    assert ll.max_output_change(theta, ll.rescaled(theta), X).max() < 1e-6
    one = ll.gaussian_direction(minibatch.stack([ll.init(1, 3)]), [5])
    two = ll.gaussian_direction(theta, [9, 5])
    assert torch.equal(one["w0"][0], two["w0"][1])


def test_the_rise_scale_gives_the_requested_rise():
    theta, (X, Y) = nets()
    d = ll.filter_normalize(ll.gaussian_direction(theta, [3, 4]), theta)
    s = ll.rise_scaled_slice(theta, d, X, Y)
    rise = np.maximum(s["loss"][:, 0], s["loss"][:, -1]) - s["loss"][:, len(s["ts"]) // 2]
    assert np.allclose(rise, ll.CONFIG["rise"], rtol=0.05)


def test_curve_measures_on_known_curves():
    a = np.linspace(0, 1, 61)
    convex, plateau = (a - 0.7) ** 2, 1 / (1 + np.exp(12 * (a - 0.3)))
    assert ll.nonconvex_fraction(convex[None])[0] == 0
    span = ll.nonconvex_span(plateau[None])[0]
    assert 0 < span[0] < 0.05 and 0.25 < span[1] < 0.3   # concave before the inflection at 0.3
    assert np.isnan(ll.nonconvex_span(convex[None])[0]).all()
    assert ll.largest_rise(plateau[None])[0] < 0 < ll.largest_rise(convex[None])[0]
    assert np.isclose(ll.quadratic_r2(a, convex[None])[0], 1.0)
