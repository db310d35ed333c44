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


@planted("batch-norm-eps-outside-the-root", claim="bn-scale-invariance",
         select="slides_batch_norm_matches",
         what="the slides' BatchNorm adds eps to the standard deviation, not under the root",
         expect="slides-bn-matches-torch", kernel="normalization_layers.batch_norm")
def batch_norm_eps_outside_the_root(mp):
    """The hand-written BatchNorm divides by sqrt(var) + eps instead of sqrt(var + eps)."""
    import torch

    from reproductions import normalization_layers as nl

    def batch_norm(z, eps=0.0):
        mu = z.mean(0, keepdim=True)
        return (z - mu) / (torch.sqrt((z - mu).pow(2).mean(0, keepdim=True)) + eps)
    mp.setattr(nl, "batch_norm", batch_norm)


@planted("instance-norm-reference-over-the-channels-too", claim="group-norm-special-cases",
         select="hand_written_ones",
         what="the hand-written InstanceNorm normalizes over (C, H, W), its dims counted from 1",
         expect="torch-matches-reference", kernel="normalization_layers.instance_norm_reference")
def instance_norm_reference_over_the_channels_too(mp):
    """The hand-written InstanceNorm's dims start at 1 instead of 2 (an off-by-one: it is
    LayerNorm)."""
    from reproductions import normalization_layers as nl
    mp.setattr(nl, "instance_norm_reference", nl.layer_norm_reference)


@planted("weight-standardization-over-the-output-axis",
         claim="instance-norm-and-weight-standardization",
         select="standardizes_each_filter",
         what="Weight Standardization's statistics taken over the filters (axis 0), not the fan-in",
         expect="ws-zero-mean-unit-variance")
def weight_standardization_over_the_output_axis(mp):
    """Weight Standardization's mean and deviation taken over axis 0 (across the output
    filters) instead of axis 1 (each filter's fan-in)."""
    from reproductions import normalization_layers as nl

    def standardize(W):
        rows = W.reshape(W.shape[0], -1)
        centred = rows - rows.mean(0, keepdim=True)
        return (centred / centred.pow(2).mean(0, keepdim=True).sqrt()).reshape(W.shape)
    mp.setattr(nl, "weight_standardization", standardize)


@planted("layer-norm-eps-1e5", claim="slides-layernorm-per-feature",
         select="does_not_normalize_each_feature",
         what="the LayerNorm experiment's eps typed 1e5 instead of 1e-5",
         expect="slides-layernorm-per-feature:document-differs")
def layer_norm_eps_1e5(mp):
    """The axis experiment's eps is 1e5 (a dropped minus sign in 1e-5)."""
    from reproductions import normalization_layers as nl
    mp.setitem(nl.CONFIG["layernorm"], "eps", 1e5)
