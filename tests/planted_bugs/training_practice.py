"""The planted bugs of claims/test_training_practice.py."""

from __future__ import annotations

from planted_bugs import planted


@planted("dip-gradient-over-the-width", claim="small-step-stuck-in-local-minimum",
         select="hand_written or low_step",
         what="the dip's derivative divided by its width, not its square",
         expect="hand-written-gradient", kernel="training_practice.dip_gradient")
def dip_gradient_over_the_width(mp):
    """The dip's derivative divided by its width instead of the width squared."""
    import torch

    from reproductions import training_practice as tp

    def gradient(x, dip=tp.DIP):
        bump = torch.exp(-(x - dip["at"]) ** 2 / (2 * dip["width"] ** 2))
        return x + dip["depth"] * (x - dip["at"]) / dip["width"] * bump
    mp.setattr(tp, "dip_gradient", gradient)


@planted("plateau-rule-one-epoch-early", claim="reduce-lr-on-plateau-floor",
         select="written_out",
         what="the written-out callback rule acting one epoch early",
         expect="rule-written-out")
def plateau_rule_one_epoch_early(mp):
    """The written-out ReduceLROnPlateau rule acting after ``patience`` stalled epochs."""
    from reproductions import training_practice as tp
    original = tp.plateau_rule
    mp.setattr(tp, "plateau_rule", lambda lr, epochs=40, factor=0.2, patience=5, min_lr=1e-3:
               original(lr, epochs, factor, patience - 1, min_lr))


@planted("weight-decay-penalty-without-the-half", claim="weight-decay-regularizes",
         select="penalty_gradient",
         what="the penalty as lambda ||w||^2, not lambda / 2 ||w||^2",
         expect="decay-is-the-penalty")
def weight_decay_penalty_without_the_half(mp):
    """The penalized step's penalty taken as lambda ||w||^2 instead of lambda / 2 ||w||^2."""
    from reproductions import training_practice as tp
    original = tp.sgd_weight_decay_step
    mp.setattr(tp, "sgd_weight_decay_step", lambda seed, weight_decay, lr=0.1, dim=10: (
        original(seed, weight_decay, lr, dim)[0],
        original(seed, 2 * weight_decay, lr, dim)[1]))
