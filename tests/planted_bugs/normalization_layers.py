"""The planted bugs of claims/test_normalization_layers.py."""

from __future__ import annotations

import math

from planted_bugs import planted


@planted("bn-centers-without-scaling", claim="bn-scale-invariance",
         select="weight_scale or one_over_a",
         what="the scale-invariance BatchNorm centres the batch but does not divide by its std",
         expect="bn-output-invariant")
def bn_centers_without_scaling(mp):
    """The scale-invariance BatchNorm subtracts the batch mean but never divides by the std."""
    from reproductions import normalization_layers as nl
    mp.setattr(nl, "batch_norm", lambda z, eps=0.0: z - z.mean(0, keepdim=True))


@planted("init-scale-ignored", claim="batchnorm-vanishing-exploding",
         select="init_scale or sixth",
         what="the gradient measurements ignore the init scale (He init at every s)",
         expect="plain-signal-vanishes-explodes")
def init_scale_ignored(mp):
    """The gradient measurements start every net from plain He init, whatever the scale."""
    from reproductions import normalization_layers as nl
    original = nl.scaled_init
    mp.setattr(nl, "scaled_init", lambda arch, seeds, scale: original(arch, seeds, 1.0))


@planted("bad-init-not-applied", claim="batchnorm-vanishing-exploding",
         select="badly_scaled",
         what="the training runs start from He init instead of N(0, 0.01^2)",
         expect="plain-stuck-at-bad-init")
def bad_init_not_applied(mp):
    """The training runs start from He init instead of N(0, 0.01^2)."""

    from reproductions import normalization_layers as nl
    mp.setitem(nl.CONFIG["train"], "init_std", math.sqrt(2.0 / 64))


@planted("group-norm-unbiased-variance", claim="group-norm-special-cases",
         select="group_norm_with or hand_written",
         what="the hand-written GroupNorm uses the unbiased variance",
         expect="torch-matches-reference", kernel="normalization_layers.group_norm_reference")
def group_norm_unbiased_variance(mp):
    """The hand-written GroupNorm divides by the unbiased (n - 1) standard deviation."""
    import torch

    from reproductions import normalization_layers as nl

    def unbiased(x, groups, eps):
        g = x.reshape(x.shape[0], groups, -1)
        mu = g.mean(-1, keepdim=True)
        return ((g - mu) / torch.sqrt(g.var(-1, keepdim=True) + eps)).reshape(x.shape)
    mp.setattr(nl, "group_norm_reference", unbiased)


@planted("layer-norm-reference-over-the-batch", claim="slides-layernorm-per-feature",
         select="normalize_each_feature or each_sample",
         what="the hand-written LayerNorm normalizes each feature over the batch",
         expect="slides-layernorm-per-feature:reference-agrees",
         kernel="normalization_layers.layer_norm_reference")
def layer_norm_reference_over_the_batch(mp):
    """The hand-written LayerNorm normalizes each feature over the batch (the slides' reading)."""
    import torch

    from reproductions import normalization_layers as nl

    def over_batch(x, eps):
        mu = x.mean(0, keepdim=True)
        return (x - mu) / torch.sqrt((x - mu).pow(2).mean(0, keepdim=True) + eps)
    mp.setattr(nl, "layer_norm_reference", over_batch)


@planted("weight-standardization-unbiased", claim="instance-norm-and-weight-standardization",
         select="weight_standardization",
         what="Weight Standardization with the unbiased standard deviation",
         expect="ws-is-layer-norm-over-the-fan-in",
         kernel="normalization_layers.weight_standardization")
def weight_standardization_unbiased(mp):
    """Weight Standardization dividing by the unbiased standard deviation (1 / (n - 1))."""
    from reproductions import normalization_layers as nl

    def standardize(W):
        rows = W.reshape(W.shape[0], -1)
        centred = rows - rows.mean(1, keepdim=True)
        return (centred / rows.std(1, keepdim=True)).reshape(W.shape)
    mp.setattr(nl, "weight_standardization", standardize)


@planted("instance-norm-is-group-norm", claim="normalizations-against-vanishing",
         select="definitions or restore",
         what="InstanceNorm built as GroupNorm with 2 groups",
         expect="layers-are-the-definitions", kernel="normalization_layers.norm_layer")
def instance_norm_is_group_norm(mp):
    """norm_layer('instance') building GroupNorm with the configured 2 groups."""
    from reproductions import normalization_layers as nl
    original = nl.norm_layer
    mp.setattr(nl, "norm_layer", lambda kind, channels, groups: original(
        "group" if kind == "instance" else kind, channels, groups))


@planted("standardized-conv-without-standardizing", claim="normalizations-against-vanishing",
         select="definitions or weight_standardization_alone",
         what="the standardized convolution using its raw filters",
         expect="layers-are-the-definitions", kernel="normalization_layers.StandardizedConv")
def standardized_conv_without_standardizing(mp):
    """StandardizedConv convolving with its raw filters."""
    from reproductions import normalization_layers as nl
    mp.setattr(nl.StandardizedConv, "forward",
               lambda self, x: self._conv_forward(x, self.weight, self.bias))
