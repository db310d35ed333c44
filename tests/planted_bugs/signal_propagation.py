"""The planted bugs of claims/test_signal_propagation.py."""

from __future__ import annotations

import math

import numpy as np

from planted_bugs import planted


@planted("relu-mask-after-the-relu", claim="vanishing-gradient-rate",
         select="halve_the_squared_norm",
         what="the Jacobian product's masks are taken after the ReLU (all ones)",
         expect="orthogonal-relu-vanishes")
def relu_mask_after_the_relu(mp):
    """The Jacobian product's masks taken on the post-activations (identically 1), as the notes'
    eq. (2) prints them."""
    import torch

    from reproductions import signal_propagation as sp

    def jacobian_log_norms(seed, width, depth, weights):
        g = torch.Generator().manual_seed(seed)
        x = torch.randn(width, generator=g, dtype=sp.DT)
        v = torch.randn(width, generator=g, dtype=sp.DT)
        h, v = torch.relu(x), v / v.norm()
        log_norms, active = [0.0], []
        for _ in range(2, depth + 1):
            W = weights(g)
            h = torch.relu(W @ h)
            mask = (h >= 0).to(sp.DT)
            v = mask * (W @ v)
            log_norms.append(float(v.norm().log()))
            active.append(float(mask.mean()))
        return {"log_norms": np.array(log_norms), "active": np.array(active)}
    mp.setattr(sp, "jacobian_log_norms", jacobian_log_norms)


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


@planted("linear-gradient-untransposed", claim="orthogonal-init-depth-independent",
         select="linear_net_gradients or about_the_same_time",
         what="the deep linear nets' gradients use the prefix product untransposed",
         expect="linear-gradients-exact", kernel="signal_propagation.linear_net_losses")
def linear_gradient_untransposed(mp):
    """The deep linear nets' factor gradients use the prefix product untransposed."""
    import torch

    from reproductions import signal_propagation as sp

    def linear_net_losses(W, A):
        depth = W.shape[0]
        prefix = [torch.eye(A.shape[-1], dtype=A.dtype).expand_as(A)]
        for i in range(depth):
            prefix.append(W[i] @ prefix[-1])
        E = prefix[-1] - A
        grads, suffix = [None] * depth, E
        for i in reversed(range(depth)):
            grads[i] = suffix @ prefix[i]
            suffix = W[i].transpose(-1, -2) @ suffix
        return 0.5 * E.pow(2).sum((-1, -2)), torch.stack(grads)
    mp.setattr(sp, "linear_net_losses", linear_net_losses)
