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
