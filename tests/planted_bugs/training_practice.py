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


@planted("dip-twice-as-deep", claim="small-step-stuck-in-local-minimum",
         select="two_over_the_local_curvature",
         what="the dip's depth 1.0 instead of 0.5",
         expect="threshold-is-two-over-curvature")
def dip_twice_as_deep(mp):
    """The dip's depth constant set to 1.0 instead of 0.5 (a sharper local minimum)."""
    from reproductions import training_practice as tp
    mp.setitem(tp.DIP, "depth", 1.0)


@planted("flops-counted-on-one-extra-example", claim="batch-cost-grows-with-size",
         select="flops_grow_linearly",
         what="the counted forward-backward pass runs on batch + 1 examples",
         expect="flops-linear-in-batch")
def flops_counted_on_one_extra_example(mp):
    """The flop count's batch drawn with one example too many (an off-by-one)."""
    from reproductions import training_practice as tp
    original = tp.gradient_flops
    mp.setattr(tp, "gradient_flops", lambda batch, widths=(64, 128, 10):
               original(batch + 1, widths))


@planted("flops-net-ignores-its-widths", claim="batch-cost-grows-with-size",
         select="wider_net_costs_more",
         what="the flop count's MLP is always 64-128-10, whatever widths it is given",
         expect="wider-net-costs-more-per-example")
def flops_net_ignores_its_widths(mp):
    """The flop count builds the default 64-128-10 MLP and drops its ``widths`` argument."""
    from reproductions import training_practice as tp
    original = tp.gradient_flops
    mp.setattr(tp, "gradient_flops", lambda batch, widths=(64, 128, 10): original(batch))


@planted("plateau-scheduler-without-its-factor", claim="reduce-lr-on-plateau-floor",
         select="lowers_sgds_rate",
         what="ReduceLROnPlateau built without factor=, so with torch's default 0.1",
         expect="acts-from-sgds-rate")
def plateau_scheduler_without_its_factor(mp):
    """torch's ReduceLROnPlateau built without the slides' factor 0.2 (torch's default 0.1)."""
    from reproductions import training_practice as tp
    original = tp.plateau_learning_rates
    mp.setattr(tp, "plateau_learning_rates", lambda lr, epochs=40, factor=0.2, patience=5,
               min_lr=1e-3: original(lr, epochs, 0.1, patience, min_lr))


@planted("ridge-lambda-by-the-largest-validation-error", claim="weight-decay-regularizes",
         select="changes_little_without_overfitting",
         what="weight decay's lambda picked by max, not min, of the validation error",
         expect="nothing-to-regularize")
def ridge_lambda_by_the_largest_validation_error(mp):
    """The ridge penalty chosen by ``max`` of the validation MSE instead of ``min``."""
    from reproductions import training_practice as tp
    mp.setattr(tp, "min", max, raising=False)   # ridge_test_gain is tp's only caller of min


@planted("digits-test-split-is-the-training-split", claim="memorization-minimizes-empirical-risk",
         select="lookup_table_memorizes",
         what="the digits split returns the training images as the test set",
         expect="lookup-table-memorizes-and-overfits")
def digits_test_split_is_the_training_split(mp):
    """The 80/20 split hands back the training part in place of the test part."""
    from reproductions import training_practice as tp
    original = tp.digits_split

    def digits_split(seed):
        X_train, _, y_train, _ = original(seed)
        return X_train, X_train, y_train, y_train
    mp.setattr(tp, "digits_split", digits_split)


@planted("digits-pixels-floor-divided", claim="memorization-minimizes-empirical-risk",
         select="nearest_neighbour_memorizes",
         what="the digits' pixels floor-divided by 16 (X // 16), not divided",
         expect="nearest-neighbour-generalizes")
def digits_pixels_floor_divided(mp):
    """The pixels scaled by ``X // 16.0`` (floor division: almost every pixel becomes 0)."""
    import numpy as np

    from reproductions import training_practice as tp
    original = tp.digits_split

    def digits_split(seed):
        X_train, X_test, y_train, y_test = original(seed)
        return np.floor(X_train), np.floor(X_test), y_train, y_test   # X // 16 = floor(X / 16)
    mp.setattr(tp, "digits_split", digits_split)
