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


@planted("label-noise-offset-may-be-zero", claim="early-stopping-label-noise",
         select="label_noise_and_minibatch",
         what="a flipped label's offset drawn from 0..9, so some flips keep their class",
         expect="noisy-training-matches-torch", kernel="small_net_regularization.noisy_labels")
def label_noise_offset_may_be_zero(mp):
    """noisy_labels drawing the offset with randint(0, 10): a tenth of the flips land on the
    label's own class (0.27 of the labels changed, not 0.3)."""
    import torch

    from reproductions import small_net_regularization as sr

    def noisy_labels(y, fraction, seed):
        g = torch.Generator().manual_seed(seed)
        flip = torch.rand(len(y), generator=g) < fraction
        other = (y + torch.randint(0, 10, (len(y),), generator=g)) % 10
        return torch.where(flip, other, y)
    mp.setattr(sr, "noisy_labels", noisy_labels)


@planted("early-stopping-patience-off-by-one", claim="slides-keras-early-stopping-loss",
         select="keras_rule_and_the_noisy",
         what="the early-stopping rule fires when wait > patience, an epoch late",
         expect="slides-keras-early-stopping-loss:reference-agrees",
         kernel="small_net_regularization.keras_early_stopping")
def early_stopping_patience_off_by_one(mp):
    """keras_early_stopping testing wait > patience instead of wait >= patience."""
    from reproductions import small_net_regularization as sr
    original = sr.keras_early_stopping
    mp.setattr(sr, "keras_early_stopping",
               lambda values, patience: original(values, patience + 1))


@planted("relu-mask-average-reuses-the-first-mask", claim="dropout-weight-scaling",
         select="enumerated_mask_average",
         what="the exact ReLU-net average puts the first layer's mask on both layers",
         expect="mask-average-matches-torch-sampling",
         kernel="small_net_regularization.exact_mask_averages")
def relu_mask_average_reuses_the_first_mask(mp):
    """exact_mask_averages summing p1 p2 net(m1, m1): the second layer's mask typed as the
    first's (the sum over m2 then only adds up its probabilities, to 1)."""
    from reproductions import small_net_regularization as sr
    original = sr.exact_mask_averages

    def exact_mask_averages(seed, keep=0.5, width=6):
        _, _, net = sr.scaling_net(seed, width)
        masks, prob = sr.all_masks(width, keep)
        return {**original(seed, keep, width),
                "relu": sum(p1 * net(m1, m1) for m1, p1 in zip(masks, prob))}
    mp.setattr(sr, "exact_mask_averages", exact_mask_averages)


@planted("dropout-mask-marks-the-dropped-units", claim="dropout-regularizes",
         select="training_dropout_is_torch",
         what="the forward pass keeps the units the dropout mask marks as dropped",
         expect="dropout-layer-matches-torch", kernel="digits_mlp.forward")
def dropout_mask_marks_the_dropped_units(mp):
    """forward computing h * (1 - mask) / keep: the mask read as the dropped units."""
    from reproductions import digits_mlp as mlp
    original = mlp.forward
    mp.setattr(mlp, "forward", lambda p, x, keep=None, mask=None: original(
        p, x, keep, None if mask is None else 1 - mask))


@planted("dropout-mask-drawn-with-randn", claim="dropout-regularizes",
         select="training_dropout_is_torch",
         what="the dropout masks compare a normal draw (randn) with keep instead of a uniform one",
         expect="dropout-layer-matches-torch", kernel="digits_mlp.dropout_mask")
def dropout_mask_drawn_with_randn(mp):
    """dropout_mask typed torch.randn for torch.rand: units kept with probability
    Phi(keep) = 0.69 at keep 0.5."""
    import torch

    from reproductions import digits_mlp as mlp
    mp.setattr(mlp, "dropout_mask", lambda shape, keep, gens: torch.stack(
        [(torch.randn(shape, generator=g) < keep).float() for g in gens]))


@planted("input-noise-scaled-by-the-variance", claim="gaussian-noise-augmentation",
         select="input_noise_has_the_stated_law",
         what="the input noise scaled by sigma^2 instead of sigma",
         expect="noise-kernel-matches", kernel="digits_mlp.input_noise")
def input_noise_scaled_by_the_variance(mp):
    """input_noise adding sigma^2 N(0, 1): the variance where the standard deviation goes."""
    from reproductions import digits_mlp as mlp
    original = mlp.input_noise
    mp.setattr(mlp, "input_noise", lambda x, sigma, gens: original(x, sigma ** 2, gens))


@planted("mixup-labels-weighted-by-one-minus-lambda", claim="mixup-augmentation",
         select="mixup_matches_its_definition",
         what="mixup weights the labels by 1 - lambda and the inputs by lambda",
         expect="mixup-kernel-matches", kernel="digits_mlp.mixup")
def mixup_labels_weighted_by_one_minus_lambda(mp):
    """mixup returning (1 - lam) target + lam target[j]: the label weights transposed."""
    from reproductions import digits_mlp as mlp
    original = mlp.mixup
    mp.setattr(mlp, "mixup", lambda x, target, lam, j: (original(x, target, lam, j)[0],
                                                        original(x, target, 1 - lam, j)[1]))


@planted("step-decay-a-step-early", claim="mixup-augmentation",
         select="mixup_matches_its_definition",
         what="the step schedule divides the lr at its milestones, a step early",
         expect="mixup-kernel-matches", kernel="optimizers.step_decay")
def step_decay_a_step_early(mp):
    """step_decay counting t >= m instead of t > m: each decay one step early."""
    from reproductions import optimizers as optim
    mp.setattr(optim, "step_decay", lambda lr0, milestones, factor=0.1:
               lambda t: lr0 * factor ** sum(t >= m for m in milestones))


@planted("cosine-restarts-phase-off-by-one", claim="snapshot-ensembles",
         select="cyclic_schedule",
         what="the cyclic cosine's phase taken at t instead of t - 1",
         expect="schedule-matches-torch", kernel="optimizers.cosine_restarts")
def cosine_restarts_phase_off_by_one(mp):
    """cosine_restarts using t mod period: each cycle starts one step into its cosine and
    restarts a step early."""
    import math

    from reproductions import optimizers as optim
    mp.setattr(optim, "cosine_restarts", lambda lr0, period: lambda t: 0.5 * lr0 * (
        1 + math.cos(math.pi * (t % period) / period)))


@planted("sgd-drops-the-nesterov-flag", claim="snapshot-ensembles",
         select="cyclic_schedule",
         what="SGD runs heavy-ball momentum when Nesterov is asked",
         expect="schedule-matches-torch", kernel="optimizers.sgd")
def sgd_drops_the_nesterov_flag(mp):
    """optim.sgd ignoring its nesterov argument (the look-ahead g + mu b never taken)."""
    from reproductions import optimizers as optim
    original = optim.sgd
    mp.setattr(optim, "sgd", lambda lr, momentum=0.0, nesterov=False: original(lr, momentum))


@planted("cross-entropy-summed-over-the-batch", claim="small-batches-regularize",
         select="minibatch_training_matches",
         what="the training loss summed over the minibatch instead of averaged",
         expect="minibatch-training-matches-torch", kernel="digits_mlp.soft_ce")
def cross_entropy_summed_over_the_batch(mp):
    """soft_ce reducing by sum over the examples: gradients (and SGD's steps) batch times too
    large."""
    import torch

    from reproductions import digits_mlp as mlp
    mp.setattr(mlp, "soft_ce",
               lambda logits, target: -(target * torch.log_softmax(logits, -1)).sum())


@planted("minibatch-order-repeats-every-epoch", claim="small-batches-regularize",
         select="minibatch_training_matches",
         what="every epoch reuses the first epoch's example order",
         expect="minibatch-training-matches-torch", kernel="minibatch.shuffled_batches")
def minibatch_order_repeats_every_epoch(mp):
    """shuffled_batches drawing its permutation from a fresh generator of the model's seed:
    the same minibatches every epoch."""
    import torch

    from reproductions import minibatch
    original = minibatch.shuffled_batches
    mp.setattr(minibatch, "shuffled_batches", lambda gens, n, batch, repeat=1: original(
        [torch.Generator().manual_seed(g.initial_seed()) for g in gens], n, batch, repeat))


@planted("hidden-bias-added-after-the-relu", claim="more-data-smaller-gap",
         select="full_batch_training_matches",
         what="the hidden layer's bias added after the ReLU",
         expect="full-batch-training-matches-torch", kernel="digits_mlp.forward")
def hidden_bias_added_after_the_relu(mp):
    """forward computing relu(x W1^T) + b1 instead of relu(x W1^T + b1)."""
    import torch

    from reproductions import digits_mlp as mlp

    def forward(p, x, keep=None, mask=None):
        h = torch.relu(x @ p["w1"].T) + p["b1"]
        if mask is not None:
            h = h * mask / keep
        return h @ p["w2"].T + p["b2"]
    mp.setattr(mlp, "forward", forward)


@planted("input-noise-drawn-with-rand", claim="gaussian-noise-augmentation",
         select="input_noise_has_the_stated_law",
         what="the input noise drawn uniform on [0, 1) (rand) instead of normal (randn)",
         expect="noise-kernel-matches", kernel="digits_mlp.input_noise")
def input_noise_drawn_with_rand(mp):
    """input_noise typed torch.rand for torch.randn: noise of mean sigma / 2 and standard
    deviation sigma / sqrt(12)."""
    import torch

    from reproductions import digits_mlp as mlp
    mp.setattr(mlp, "input_noise", lambda x, sigma, gens: x + sigma * torch.stack(
        [torch.rand(x.shape[1:], generator=g) for g in gens]))


@planted("cross-entropy-averaged-over-the-classes", claim="more-data-smaller-gap",
         select="full_batch_training_matches",
         what="the cross-entropy averaged over the 10 classes instead of summed",
         expect="full-batch-training-matches-torch", kernel="digits_mlp.soft_ce")
def cross_entropy_averaged_over_the_classes(mp):
    """soft_ce reducing the class axis by mean: the loss a tenth of the cross-entropy."""
    import torch

    from reproductions import digits_mlp as mlp
    mp.setattr(mlp, "soft_ce",
               lambda logits, target: -(target * torch.log_softmax(logits, -1)).mean(-1).mean())


@planted("dropout-layer-built-with-the-keep-probability", claim="slides-dropout-argument",
         select="dropout_of_a_fifth",
         what="the slides' Dropout(rate) built as nn.Dropout(1 - rate), the argument read as p",
         expect="rate-is-the-dropped-fraction")
def dropout_layer_built_with_the_keep_probability(mp):
    """The layer's argument read as the keep probability p: nn.Dropout(1 - rate)."""
    from reproductions import small_net_regularization as sr
    original = sr.dropout_layer_output
    mp.setattr(sr, "dropout_layer_output",
               lambda rate, n=100_000, seed=0: original(1 - rate, n, seed))


@planted("dropout-layer-left-in-eval-mode", claim="slides-dropout-argument",
         select="dropout_of_one_half",
         what="the Dropout layer applied in evaluation mode, where it passes its input through",
         expect="dropout-half-keeps-half")
def dropout_layer_left_in_eval_mode(mp):
    """nn.Dropout(rate).eval(): every unit kept, none rescaled."""
    import torch

    from reproductions import small_net_regularization as sr

    def eval_mode(rate, n=100_000, seed=0):
        torch.manual_seed(seed)
        return torch.nn.Dropout(rate).eval()(torch.ones(n))
    mp.setattr(sr, "dropout_layer_output", eval_mode)
