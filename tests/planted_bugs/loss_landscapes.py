"""The planted bugs of claims/test_loss_landscapes.py."""

from __future__ import annotations

from planted_bugs import planted


@planted("filter-normalization-skipped", claim="filter-normalization-invariance",
         select="rescaling_two_layers or filter_normalized_slices or raw_slices",
         what="filter normalization returns the raw random direction",
         expect="filter-normalized-slices-unchanged")
def filter_normalization_skipped(mp):
    """Filter normalization returns the raw direction (bias directions still zero)."""
    import torch

    from reproductions import loss_landscapes as ll

    def skipped(direction, theta, layers=None):
        keep = lambda k: k.startswith("w") and (layers is None or int(k[1:]) in layers)  # noqa
        return {k: d.double() if keep(k) else torch.zeros_like(d, dtype=torch.float64)
                for k, d in direction.items()}
    mp.setattr(ll, "filter_normalize", skipped)


@planted("rescaling-forgets-the-biases", claim="filter-normalization-invariance",
         select="rescaling_two_layers or filter_normalized_slices or raw_slices",
         what="the rescaled net keeps the first layer's biases while its weights are multiplied",
         expect="rescaling-keeps-the-function")
def rescaling_forgets_the_biases(mp):
    """The rescaled copy multiplies the first layer's weights but not its biases."""
    from reproductions import loss_landscapes as ll
    original = ll.rescaled

    def rescaled(theta, factor=ll.CONFIG["rescale"]):
        out = original(theta, factor)
        out["b0"] = theta["b0"].clone()
        return out
    mp.setattr(ll, "rescaled", rescaled)


@planted("second-difference-sign-flipped", claim="interpolation-monotone-not-convex",
         select="convex_model or not_convex_near",
         what="non-convex points counted where the second difference is positive",
         expect="convex-model-convex-line")
def second_difference_sign_flipped(mp):
    """Non-convex points counted where the second difference is positive."""
    from reproductions import loss_landscapes as ll
    original = ll.second_differences
    mp.setattr(ll, "second_differences", lambda curves: -original(curves))


@planted("gradient-replaced-by-noise", claim="gradient-direction-complicated",
         select="much_sharper",
         what="the gradient direction is a Gaussian draw",
         expect="gradient-direction-distinct")
def gradient_replaced_by_noise(mp):
    """The "gradient" direction is a Gaussian draw of the same shape."""
    import torch

    from reproductions import loss_landscapes as ll
    mp.setattr(ll, "full_gradient", lambda theta, X, Y: {
        k: torch.randn(v.shape, generator=torch.Generator().manual_seed(1),
                       dtype=torch.float64) for k, v in theta.items()})


@planted("layer-restriction-ignored", claim="layer-wise-slices",
         select="single_layer_directions",
         what="single-layer directions span every layer",
         expect="single-layer-directions-differ")
def layer_restriction_ignored(mp):
    """Directions meant for one layer span every layer."""
    from reproductions import loss_landscapes as ll
    original = ll.filter_normalize
    mp.setattr(ll, "filter_normalize", lambda direction, theta, layers=None:
               original(direction, theta))


@planted("segment-direction-reversed", claim="interpolation-monotone-not-convex",
         select="segment_kernels",
         what="the segment's direction taken as a - b, so it walks away from the final weights",
         expect="segment-kernels-exact", kernel="loss_landscapes.segment_losses")
def segment_direction_reversed(mp):
    """The segment losses step along a - b instead of b - a."""
    from reproductions import loss_landscapes as ll
    mp.setattr(ll, "segment_losses", lambda a, b, alphas, X, Y: ll.line_losses(
        a, {k: a[k].double() - b[k].double() for k in a}, alphas, X, Y).T.numpy())


@planted("unit-norm-without-the-root", claim="gradient-direction-complicated",
         select="gradient_slice_kernels",
         what="the unit-norm scaling divides by the squared norm (the square root dropped)",
         expect="gradient-slice-kernels-exact", kernel="loss_landscapes.unit_norm")
def unit_norm_without_the_root(mp):
    """``unit_norm`` divides each direction by its squared norm instead of its norm."""
    from reproductions import loss_landscapes as ll

    def unit_norm(direction):
        norm = sum((v.double() ** 2).flatten(1).sum(1) for v in direction.values())
        return {k: v.double() / norm.view(-1, *[1] * (v.dim() - 1))
                for k, v in direction.items()}
    mp.setattr(ll, "unit_norm", unit_norm)


@planted("rise-scale-returns-the-lower-end", claim="layer-wise-slices",
         select="layer_slice_kernels",
         what="the rise-scale bisection returns the lower end of its bracket",
         expect="layer-slice-kernels-exact", kernel="loss_landscapes.rise_scale")
def rise_scale_returns_the_lower_end(mp):
    """The bisection returns ``lo`` (where the rise is not yet reached) instead of ``hi``."""
    import math

    from reproductions import loss_landscapes as ll
    original = ll.rise_scale

    def rise_scale(theta, direction, X, Y, cfg=ll.CONFIG):
        b = cfg["bisection"]
        step = math.exp((math.log(b["high"]) - math.log(b["low"])) / 2 ** b["steps"])
        return original(theta, direction, X, Y, cfg) / step     # exp(lo) = exp(hi) / step
    mp.setattr(ll, "rise_scale", rise_scale)
