"""The planted bugs of claims/test_network_regularization.py."""

from __future__ import annotations

import numpy as np

from planted_bugs import planted


@planted("label-noise-not-applied", claim="early-stopping-label-noise",
         select="best_validation_checkpoint",
         what="the training and validation labels are left clean",
         expect="best-checkpoint-beats-final")
def label_noise_not_applied(mp):
    from reproductions import small_net_regularization as sr
    mp.setattr(sr, "noisy_labels", lambda y, fraction, seed: y)


@planted("early-stopping-in-mode-max", claim="slides-keras-early-stopping-loss",
         select="monitoring",
         what="the early-stopping rule waits for a new maximum of a loss",
         expect="slides-keras-early-stopping-loss:document-differs")
def early_stopping_in_mode_max(mp):
    """The early-stopping rule waits for a new maximum, as if the metric were an accuracy."""
    from reproductions import small_net_regularization as sr
    original = sr.keras_early_stopping
    mp.setattr(sr, "keras_early_stopping",
               lambda values, patience: original(-np.asarray(values), patience))


@planted("mask-probability-without-the-drop-factor", claim="dropout-weight-scaling",
         select="weight_scaling",
         what="a dropout mask's probability leaves out the (1 - keep) factor of the dropped units",
         expect="exact-for-a-linear-unit")
def mask_probability_without_the_drop_factor(mp):
    """A mask's probability computed as keep^kept, leaving out (1 - keep)^dropped."""
    from reproductions import small_net_regularization as sr
    original = sr.all_masks

    def all_masks(n, keep):
        masks, _ = original(n, keep)
        return masks, keep ** masks.sum(1)
    mp.setattr(sr, "all_masks", all_masks)
