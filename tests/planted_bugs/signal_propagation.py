"""The planted bugs of claims/test_signal_propagation.py."""

from __future__ import annotations

import math


from planted_bugs import planted


@planted("relu-mask-after-the-relu", claim="vanishing-gradient-rate",
         select="halve_the_squared_norm",
         what="the Jacobian product's masks are taken after the ReLU (all ones)",
         expect="orthogonal-relu-vanishes")
def relu_mask_after_the_relu(mp):
    """The Jacobian's masks taken on the post-activations, 1[relu(pre) >= 0] (identically 1), as
    the notes' eq. (2) prints them."""
    import torch

    from reproductions import signal_propagation as sp
    mp.setattr(sp, "relu_derivative", lambda pre: (torch.relu(pre) >= 0).to(pre.dtype))


@planted("he-init-without-the-factor-2", claim="bad-init-stuck-at-chance",
         select="he_and_orthogonal",
         what="He's initialization with std sqrt(1/fan_in)",
         expect="he-orthogonal-train")
def he_init_without_the_factor_2(mp):
    """He's normal initialization with std sqrt(1/fan_in) instead of sqrt(2/fan_in)."""

    import torch

    from reproductions import signal_propagation as sp
    original = sp.layer_init

    def layer_init(init, fan_out, fan_in, g):
        if init == "he":
            return math.sqrt(1 / fan_in) * torch.randn(fan_out, fan_in, generator=g)
        return original(init, fan_out, fan_in, g)
    mp.setattr(sp, "layer_init", layer_init)


@planted("residual-skip-dropped", claim="residual-connections-fix-degradation",
         select="residual_connections_train",
         what="the residual layers lose their identity path",
         expect="residual-trains-deep")
def residual_skip_dropped(mp):
    """The residual layers lose their identity path: h <- s act(W h + b)."""
    import torch

    from reproductions import signal_propagation as sp

    def last_hidden(Ws, bs, x, activation="relu", scale=None):
        act = sp.ACTIVATIONS[activation]
        h = act(torch.baddbmm(bs[0], x, Ws[0].transpose(-1, -2)))
        for W, b in zip(Ws[1:-1], bs[1:-1]):
            f = act(torch.baddbmm(b, h, W.transpose(-1, -2)))
            h = f if scale is None else scale * f
        return h
    mp.setattr(sp, "last_hidden", last_hidden)


@planted("linear-gradients-returned-transposed", claim="orthogonal-init-depth-independent",
         select="linear_net_gradients or about_the_same_time",
         what="the deep linear nets' factor gradients returned transposed (dL/dW_i^T)",
         expect="linear-gradients-exact", kernel="signal_propagation.linear_net_losses")
def linear_gradients_returned_transposed(mp):
    """Each factor's gradient G_i returned as G_i^T, the layout of W_i^T."""
    from reproductions import signal_propagation as sp
    original = sp.linear_net_losses

    def linear_net_losses(W, A):
        loss, grads = original(W, A)
        return loss, grads.transpose(-1, -2)
    mp.setattr(sp, "linear_net_losses", linear_net_losses)


@planted("jacobian-product-multiplied-on-the-wrong-side", claim="notes-relu-mask",
         select="pre_activation_mask_gives",
         what="eq. (2)'s product formula multiplies each W on the right of the running product",
         expect="notes-relu-mask:reference-agrees")
def jacobian_product_multiplied_on_the_wrong_side(mp):
    """The product formula accumulates J <- D (J W) instead of J <- D (W J)."""
    import torch

    from reproductions import signal_propagation as sp

    def product_formula(Ws, masks):
        J = torch.eye(Ws[0].shape[1], dtype=sp.DT)
        for W, d in zip(Ws, masks):
            J = d[:, None] * (J @ W)
        return J
    mp.setattr(sp, "product_formula", product_formula)


@planted("jacobian-masks-one-layer-late", claim="notes-relu-mask",
         select="pre_activation_mask_gives",
         what="eq. (2)'s product formula pairs each W with the previous layer's mask",
         expect="notes-relu-mask:reference-agrees")
def jacobian_masks_one_layer_late(mp):
    """The product formula's masks shifted by one layer (an off-by-one in the pairing: the first
    W gets no mask, each later W the mask of the layer before it)."""
    import torch

    from reproductions import signal_propagation as sp
    original = sp.product_formula
    mp.setattr(sp, "product_formula", lambda Ws, masks: original(
        Ws, [torch.ones_like(masks[0])] + list(masks[:-1])))


@planted("random-signs-drawn-as-zero-or-a", claim="vanishing-gradient-rate",
         select="explode_at_rate",
         what="the random-sign matrix's entries are 0 or a, not -a or +a (the 2x - 1 dropped)",
         expect="random-signs-explode")
def random_signs_drawn_as_zero_or_a(mp):
    """The random-sign sampler returns a * Bernoulli(1/2) instead of a * (2 Bernoulli - 1)."""
    import torch

    from reproductions import signal_propagation as sp
    mp.setattr(sp, "random_signs", lambda n, a, g: a * torch.randint(
        0, 2, (n, n), generator=g, dtype=sp.DT))


@planted("sigmoid-entry-is-tanh", claim="bad-init-stuck-at-chance",
         select="signal_vanishes_at_init",
         what="the activation table maps 'sigmoid' to tanh",
         expect="signal-vanishes-at-init")
def sigmoid_entry_is_tanh(mp):
    """The ACTIVATIONS table's "sigmoid" entry is torch.tanh (a copy of the line below it)."""
    import torch

    from reproductions import signal_propagation as sp
    mp.setitem(sp.ACTIVATIONS, "sigmoid", torch.tanh)


@planted("orthogonal-linear-factors-scaled-like-gaussian",
         claim="orthogonal-init-depth-independent",
         select="about_the_same_time",
         what="the deep linear nets' orthogonal factors also divided by sqrt(width)",
         expect="orthogonal-depth-independent")
def orthogonal_linear_factors_scaled_like_gaussian(mp):
    """The orthogonal start divided by sqrt(width), the Gaussian start's normalization."""
    from reproductions import signal_propagation as sp
    original = sp._linear_start

    def _linear_start(init, depth, width, seed):
        W, A = original(init, depth, width, seed)
        return (W / math.sqrt(width) if init == "orthogonal" else W), A
    mp.setattr(sp, "_linear_start", _linear_start)


@planted("residual-scale-not-passed-to-the-forward", claim="residual-connections-fix-degradation",
         select="batched_residual_training",
         what="the batched nets' forward pass drops the residual scale, so it runs plain layers",
         expect="residual-training-matches-reference", kernel="signal_propagation.forward")
def residual_scale_not_passed_to_the_forward(mp):
    """``forward`` calls ``last_hidden`` without ``scale``: the batched residual nets are plain."""
    import torch

    from reproductions import signal_propagation as sp

    def forward(Ws, bs, x, activation="relu", scale=None):
        h = sp.last_hidden(Ws, bs, x, activation)
        return torch.baddbmm(bs[-1], h, Ws[-1].transpose(-1, -2))
    mp.setattr(sp, "forward", forward)
