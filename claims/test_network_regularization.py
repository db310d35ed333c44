"""Regularizing a small network, as slides 002 recommends: early stopping (and its Keras
example), more data, dropout (and its Keras code), Gaussian input noise, mixup, small batches,
snapshot ensembles.

Sources: slides 002 (Velasco-Forero, Optimization on Deep Learning): "Early Stopping /
ReduceLROnPlateau" with its Keras code, "We need more data!", "Dropout" (Srivastava et al.
2014) with its Keras code, "Vicinal Risk Minimization" (Gaussian noise, mixup), "SelectBatch"
(small batch sizes have a regularizing effect), "Schedules 3/3" (snapshot ensembles). Experiments
in ``reproductions/small_net_regularization.py``: an MLP 64-128-10 on scikit-learn's digits, all
seeds of an experiment trained as one batch, each model with its own random streams.

The slides state a direction for each regularizer ("avoid memorization", "fight overfitting",
"improve generalization", "a regularizing effect"), never a size. Each is checked as that
direction: the mean over seeds of the paired difference in test accuracy (regularized minus
plain, the same data split and initial weights per seed) with its 95% interval against 0, and
the size recorded beside. Where an interval straddled 0 the answer was more seeds, a larger test
set (every digit outside the 150 training images: 1647) or the cited paper's own recipe, until
every window of the check's seeds among 0-139 and 10000-10139 gave the same verdict.

Tiers: the default tier runs Gaussian noise's direction and every claim's kernel checks (each
hand-written kernel against torch or a closed form); dropout (1000 steps, 20 seeds), mixup
(Zhang et al.'s recipe, 100 seeds, and full-batch Adam at 3000 steps), small batches (40 seeds)
and snapshot ensembles (Huang et al.'s schedule) need more seeds or steps than the default tier
affords and run in the slow tier."""

import math

import numpy as np
import pytest
import torch

from optclaims_report.claim import (discrepancy, known_non_reproduction, measured, part, reading,
                                    seed_range, theory, tried)
from optclaims_report.evidence import seed_interval
from reproductions import digits_mlp as mlp
from reproductions import optimizers as optim
from reproductions import small_net_regularization as sr

S = "Slides 002"
KERAS_DROPOUT = ("Keras documentation, keras.layers.Dropout: rate is the fraction of units "
                 "dropped, kept units are scaled by 1/(1 - rate)")
PARITY_TOL = 1e-5   # float32 summation order only: 2-3e-7 measured on seeds 0-4


# --- kernel checks shared by the claims' preconditions ------------------------------------------
def check_training_parity(evidence, label, seed, n_train, epochs, batch, spec):
    """The batched training (forward, soft-target cross-entropy, vmap gradients, our optimizer,
    the minibatch order) against torch.nn with torch.optim and F.cross_entropy."""
    evidence.check(f"{label}: train() against torch.nn + torch.optim on the same minibatches, "
                   f"{epochs} epochs: max |parameter difference| / max |parameter|",
                   mlp.training_parity(seed, n_train, epochs, batch, spec), "<", PARITY_TOL,
                   theory(0.0, "the same computation: float32 rounding only"))


def check_soft_cross_entropy(evidence, seed):
    """Our soft-target cross-entropy against torch's cross_entropy with probability targets."""
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(64, 10, generator=g) * 3
    target = torch.softmax(torch.randn(64, 10, generator=g), -1)
    ours, theirs = mlp.soft_ce(logits, target), torch.nn.functional.cross_entropy(logits, target)
    evidence.check("soft-target cross-entropy: |ours - torch's| / torch's",
                   float(abs(ours - theirs) / theirs), "<", 1e-6,
                   theory(0.0, "the same formula: float32 rounding only"))


def binomial_band(p: float, n: int, z: float = 4.0) -> tuple[float, float]:
    """A z-standard-error band around p for a fraction of n Bernoulli(p) draws."""
    half = z * math.sqrt(p * (1 - p) / n)
    return p - half, p + half


# --- readings tried before each verdict (measured when the checks were written) ------------------
M40 = "measured when written, seeds 0-39"
DROPOUT_MEASURED, DROPOUT_WHERE = 0.0052, "mean over seeds 0-39 and 10000-10039"
DROPOUT_READINGS = (
    reading("the slides' Dropout(0.5) (keep 0.5) after 128 hidden units, full-batch Adam lr "
            "1e-3, 1000 steps", "+0.52 points (sd 0.54); every window of 20 seeds from "
            "0-39 and 10000-10039 above 0 (lowest lower end +0.20)", "holds", "document",
            "slow tier"),
    reading("the slides' own layer: Dense(50) then Dropout(0.5)", "300 steps: -0.40 points "
            "(t -3.6; the dropout net is not yet fit, training accuracy 0.998); 1000 steps: "
            "+0.32 (t 3.2); 3000 steps: +0.33 (t 3.0)", "holds", "document", M40),
    reading("128 hidden units at our default horizon, 300 steps", "+0.30 points (t 3.5 over 40 "
            "seeds; a window of 10 seeds straddles 0)", "holds", "ours", M40),
    reading("128 hidden units, 3000 steps (10x)", "+0.57 points (t 6.6)", "holds", "horizon",
            M40),
)
NOISE_MEASURED, NOISE_WHERE = 0.0083, "mean over seeds 0-59 and 10000-10059, 1647 test images"
NOISE_READINGS = (
    reading("sigma 0.5 on the standardized inputs, full-batch Adam lr 1e-3, 300 steps",
            "+0.83 points; every window of 10 seeds from 0-59 and 10000-10059 above 0 (lowest "
            "lower end +0.34)", "holds", "ours", "default tier"),
    reading("the slides' Keras GaussianNoise(.01), read on pixels scaled to [0, 1] (sigma 0.027 "
            "on the standardized inputs)", "+0.00 points (sd 0.12): too small to move the test "
            "accuracy", "inconclusive", "document", M40),
    reading("sigma 0.5, 3000 steps (10x)", "+1.44 points (t 11.9)", "holds", "horizon", M40),
)
MIXUP_MEASURED, MIXUP_WHERE = 0.0039, "mean over seeds 0-139 and 10000-10139"
MIXUP_READINGS = (
    reading("Zhang et al.'s CIFAR recipe for both nets (SGD 0.1, momentum 0.9, weight decay "
            "1e-4, batch 128, 200 epochs, lr / 10 at 100 and 150), alpha 0.2 (their ImageNet "
            "range 0.1-0.4)", "+0.39 points over 280 seeds (sd 0.81); every window of 100 "
            "seeds from 0-139 and 10000-10139 above 0 (lowest lower end +0.11)", "holds",
            "paper", "slow tier"),
    reading("the same recipe, alpha 1 (their CIFAR alpha)", "+0.14 points over 280 seeds "
            "(t 2.6), but windows of 100 seeds straddle 0 (30 of 42)", "inconclusive",
            "paper", "slow tier (recorded)"),
    reading("full-batch Adam lr 1e-3, no weight decay, 300 steps", "alpha 0.2: -0.04 points "
            "(straddles 0); alpha 1: -0.24 (t -2.2)", "does not hold", "ours", M40),
    reading("full-batch Adam, 3000 steps (10x)", "alpha 0.2: -2.0 points (t -10); alpha 1: "
            "-6.8 (t -35)", "does not hold", "horizon", M40),
)
# Pins: the mean over every window of 10 of seeds 0-29 and 10000-10029 lies in [-0.0258, -0.0115]
# (alpha 0.2) and [-0.0739, -0.0562] (alpha 1), every interval below 0; a margin of ~0.004.
MIXUP_ADAM_PINS = {0.2: (-0.030, -0.009), 1.0: (-0.080, -0.050)}
MIXUP_ADAM_READINGS = (
    reading("full-batch Adam lr 1e-3, no weight decay, 3000 steps, alpha 0.2 and 1",
            "alpha 0.2: -2.1 points, alpha 1: -6.7 (seeds 0-29, "
            "10000-10029); every window of 10 seeds below 0", "does not hold", "horizon",
            "slow tier"),
    reading("the same at 300 / 600 / 1000 / 1500 / 2000 / 3000 steps", "alpha 1: -0.24 / "
            "-0.86 / -1.7 / -2.9 / -4.2 / -6.8 points; alpha 0.2: -0.04 / -0.05 / -0.34 / "
            "-0.69 / -0.97 / -2.0 (the plain net gains 0.5 over the same span)",
            "does not hold", "ours", M40),
    reading("Zhang et al.'s recipe (weight decay, step schedule)", "alpha 0.2 raises the "
            "accuracy (mixup-raises-accuracy)", "holds", "paper", "slow tier"),
)
# Pin: the lower end of the 95% interval over every window of 40 of seeds 0-59 and 10000-10059
# lies in [-0.00252, -0.00058] (the upper end in [-0.00012, +0.00152]).
SMALL_BATCH_PIN = (-0.0035, -0.0001)
SMALL_BATCH_READINGS = (
    reading("Adam lr 1e-3: batch 16 for 60 epochs against full batch for 300 steps",
            "-0.03 points (sd 0.37, seeds 0-59 and 10000-10059); the "
            "interval straddles 0 in 39 of 42 windows of 40 seeds, lies below 0 in 3, never "
            "above", "inconclusive", "ours", "slow tier"),
    reading("the slides' Algorithm 2 (plain SGD, a fixed step, SelectBatch): lr 0.05, batch 16 "
            "against full batch, 900 steps each", "+0.01 points (sd 0.13, t 0.5): the two "
            "nets nearly coincide", "inconclusive", "document", M40),
    reading("Algorithm 2 at lr 0.2 and 0.5 (more gradient noise), 900 steps", "+0.03 (t 0.7) "
            "and -0.08 points (t -0.9)", "inconclusive", "document", M40),
    reading("batch 1 (the Deep Learning book's 'often best'), Adam lr 1e-3, against full batch "
            "for as many steps", "10 epochs: -0.91 points (t -9.1); 20 epochs: -0.24 (t -2.9)",
            "does not hold", "ours", M40),
)
# Pin: the mean over every window of 25 of seeds 0-59 and 10000-10059 lies in [-0.00175,
# -0.00131], every interval below 0 (windows of 20: the highest upper end is -0.00036, thin).
SNAPSHOT_PIN = (-0.0022, -0.0009)
SNAPSHOT_READINGS = (
    reading("Huang et al.'s schedule and ensemble (cyclic cosine from 0.2, 5 cycles, SGD with "
            "Nesterov momentum 0.9, weight decay 1e-4, batch 64), 40 epochs a cycle (their B = 200 "
            "epochs, M = 5) on 150 digits", "-0.15 points (sd 0.16, seeds 0-59 and "
            "10000-10059); every window of 25 seeds below 0; each snapshot fits the training "
            "set and each is more accurate than the one before", "does not hold", "paper",
            "default tier"),
    reading("the same, 100 epochs a cycle", "-0.13 points (t -5.3)", "does not hold", "paper",
            M40 + " (one random stream for all seeds)"),
    reading("the same with 200 epochs a cycle", "-0.13 points (sd 0.21, seeds 0-39 and "
            "10000-10039); every window of 20 below 0, by a thin margin", "does not hold",
            "paper", "measured when written, seeds 0-39 and 10000-10039"),
    reading("Huang et al.'s schedule on the whole training split (1437 images, 360 test), 20 "
            "epochs a cycle", "-0.02 points (t -0.8): snapshots agree on almost every test "
            "image; test NLL higher for the ensemble (t 6.2)", "inconclusive", "paper", M40),
    reading("whole split, lr 0.05, 4 cycles of 20 epochs, heavy ball 0.9 (this claim's earlier "
            "setting)", "-0.03 points (t -0.8); test NLL higher for the ensemble (t 2.9)",
            "inconclusive", "ours", M40),
    reading("150 digits, lr 0.05, 4 cycles of 100 epochs, batch 16", "-0.01 points (t -0.6); "
            "test NLL lower for the ensemble (t -15)", "inconclusive", "ours", M40),
)

CLAIMS = [
    {"id": "early-stopping-label-noise", "title": "Early stopping protects against label noise",
     "statement": "With 30% of the training labels wrong, the checkpoint with the best "
                  "validation accuracy classifies the clean test set far better than the model "
                  "trained to the end, which memorizes the wrong labels.",
     "sources": [f'{S}, "Early Stopping / ReduceLROnPlateau / Learning Rate Scheduler"'],
     "parts": [
         part("best-checkpoint-beats-final", "effect", "The best-validation checkpoint's test "
              "accuracy exceeds the final model's by at least 5 points (mean over 10 seeds).",
              f'{S}, "Early Stopping"', judges=("early-stopping-helps",)),
         part("noisy-training-matches-torch", "precondition", "The label-noise kernel changes "
              "the stated fraction of labels, each to one of the nine other classes with equal "
              "probability, and the batched training (minibatches of 64, Adam) matches torch.nn "
              "with torch.optim.Adam and F.cross_entropy on the same minibatches.",
              "torch.optim.Adam; a closed form (Bernoulli flips, uniform over 9 classes)"),
     ]},
    discrepancy("slides-keras-early-stopping-loss", "The slides' Keras early stopping watches "
                "the training loss", f'{S}, Keras example under "Early Stopping"',
                "EarlyStopping(monitor='loss', patience=3)",
                "monitor='val_loss' (the validation loss, which is what early stopping "
                "watches for overfitting)", ["Keras EarlyStopping documentation",
                                             "Prechelt (1998), Early stopping - but when?"],
                "Under label noise, monitoring the training loss stops late or never (it keeps "
                "falling while the model memorizes): a median of at least 20 epochs after "
                "monitor='val_loss' stops, with a model worse on the test set by more than 2 "
                "points on average.",
                "monitor='val_loss' stops within the first 30 epochs, near the best-validation "
                "epoch; the stopping rule is Keras' (a closed form of it agrees on random "
                "curves) and the noisy training matches torch.",
                judges=("early-stopping-keras-monitor",)),
    {"id": "more-data-smaller-gap", "title": "More data shrinks the generalization gap",
     "statement": "The same network trained to fit its training set has a smaller train-test "
                  "accuracy gap with more training data.",
     "sources": [f'{S}, "We need more data!"'],
     "parts": [
         part("gap-shrinks", "effect", "The gap at n = 1000 is at most half the gap at "
              "n = 100 (geometric mean over seeds), and it shrinks at every step 100 -> 300 -> "
              "1000 on every seed (it did on 60 of 60 measured).", f'{S}, "We need more data!"',
              judges=("slides-overfitting-remedies", "more-data-less-overfitting",)),
         part("full-batch-training-matches-torch", "precondition", "The batched full-batch "
              "Adam training matches torch.nn with torch.optim.Adam and F.cross_entropy.",
              "torch.optim.Adam"),
     ]},
    {"id": "dropout-weight-scaling", "title": "Dropout's weight scaling is exact only for a "
     "linear unit", "statement": "Multiplying the weights by the keep probability at test time "
     "reproduces the average over all dropout masks exactly for a linear unit, and only "
     "approximately once ReLU layers follow.",
     "sources": [f'{S}, "Dropout" (Srivastava et al. 2014: 2^H thinned models, weight scaling at '
                 "test time)"],
     "parts": [
         part("exact-for-a-linear-unit", "effect", "For a linear unit the weight-scaled output "
              "equals the exact average over all 2^6 masks to 1e-12.", "Srivastava et al. "
              "(2014), §4", judges=("dropout-weight-scaling",)),
         part("approximate-with-relu", "scope", "With two ReLU layers it differs from the exact "
              "average over all masks by more than 3%.", "Srivastava et al. (2014), §7.5",
              judges=("dropout-weight-scaling",)),
         part("mask-average-matches-torch-sampling", "precondition", "The enumerated average "
              "over every mask (all_masks' probabilities) is the expectation that masks drawn "
              "by torch's dropout estimate: within 5 standard errors at every output.",
              "torch.nn.functional.dropout; a closed form (Bernoulli mask probabilities)"),
     ]},
    {"id": "dropout-regularizes", "title": "Dropout regularizes",
     "statement": "Dropping hidden units at random while training (the slides' Dropout(0.5)) "
                  "raises the test accuracy of a network that fits its training set.",
     "sources": [f'{S}, "Dropout" (avoid memorization; Keras code Dropout(0.5)) and '
                 '"Regularization vs Overfitting" (dropout: indirect regularization)'],
     "parts": [
         part("dropout-raises-test-accuracy", "effect", "Dropout with keep probability 0.5 "
              "after the hidden layer (Dropout(0.5)) raises the test accuracy on 150 training "
              "images: the paired mean difference over seeds has its 95% interval above 0 "
              "(the direction only; the size is recorded).", f'{S}, "Dropout"',
              judges=("dropout-regularizes",),
              readings=DROPOUT_READINGS),
         part("dropout-layer-matches-torch", "precondition", "The training's dropout (a 0/1 "
              "mask kept with probability 0.5, kept units divided by 0.5) equals torch's "
              "nn.Dropout(0.5) given the same draw, its masks keep half the units, and the "
              "full-batch training matches torch.", "torch.nn.Dropout; torch.optim.Adam"),
     ]},
    {"id": "slides-dropout-argument", "title": "The slides' Dropout(0.5) keeps half the units, "
     "as its caption says", "statement": "Keras' Dropout argument is the fraction of units "
     "dropped and the figure's p the probability of keeping one; the slides' code uses 0.5, "
     "where the two coincide, so 'a dropout of p = .5' is right under either reading (the "
     "readings part at any other value, which the slides do not use).",
     "sources": [f'{S}, "Dropout" (the figure: a unit present with probability p) and its '
                 "Keras code (Dropout(0.5), caption 'a dropout of p = .5')", KERAS_DROPOUT],
     "parts": [
         part("dropout-half-keeps-half", "effect", "Dropout(0.5) (torch's nn.Dropout takes the "
              "same drop rate as Keras') keeps a fraction 0.5 of the units, within 4 standard "
              "errors of 10^5 draws, and scales the kept ones by 2 = 1/p, so that the expected "
              "output is the input, as the figure's test-time weights times p = 0.5 give.",
              f'{S}, "Dropout" and its Keras code', judges=("dropout-keras-argument",)),
         part("rate-is-the-dropped-fraction", "control", "At a rate other than 0.5 the two "
              "readings part, so the effect's check could have failed: Dropout(0.2) keeps 0.8 "
              "of the units, not 0.2.", KERAS_DROPOUT),
     ]},
    {"id": "gaussian-noise-augmentation", "title": "Gaussian input noise regularizes",
     "statement": "Adding Gaussian noise to the inputs while training (a vicinal risk) raises "
                  "the test accuracy.",
     "sources": [f'{S}, "We need more data!" (additive Gaussian noise) and "Vicinal Risk '
                 'Minimization" (Gaussian vicinities; Keras GaussianNoise)'],
     "parts": [
         part("noise-raises-accuracy", "effect", "Noise sigma = 0.5 on the standardized inputs "
              "raises the test accuracy on 150 training images: the paired mean difference "
              "over seeds has its 95% interval above 0 (the direction only; the size is "
              "recorded).", f'{S}, "We need more data!"',
              judges=("gaussian-noise-augmentation-helps",), readings=NOISE_READINGS),
         part("noise-kernel-matches", "precondition", "The added noise has mean 0 and "
              "standard deviation sigma (closed form, within 4 standard errors), and the "
              "full-batch training matches torch.", "a closed form; torch.optim.Adam"),
     ]},
    {"id": "mixup-augmentation", "title": "Mixup regularizes, with the paper's recipe",
     "statement": "Training on convex combinations of pairs of examples and of their labels "
                  "(mixup) raises the test accuracy when trained as Zhang et al. train it (SGD "
                  "with momentum, weight decay and a step schedule); with full-batch Adam and "
                  "no weight decay it lowers it, the more the longer it trains.",
     "sources": [f'{S}, "Recent improvement on image augmentation" (Mixup, Zhang et al. 2018)',
                 "Zhang et al. (2018), mixup: Beyond Empirical Risk Minimization, §3.2"],
     "parts": [
         part("mixup-raises-accuracy", "effect", "With Zhang et al.'s CIFAR recipe (SGD lr 0.1, "
              "momentum 0.9, weight decay 1e-4, batch 128, 200 epochs, lr / 10 at epochs 100 "
              "and 150) for both, mixup with alpha = 0.2 raises the test accuracy on 150 "
              "training images over ERM: the paired mean difference has its 95% interval "
              "above 0 (the direction only; the size is recorded).", S,
              judges=("mixup-improves",), readings=MIXUP_READINGS),
         part("mixup-kernel-matches", "precondition", "The mixed batch equals lam x_i + "
              "(1 - lam) x_j example by example, the loss on mixed labels equals Zhang et al.'s "
              "lam CE(y_i) + (1 - lam) CE(y_j) with torch's cross_entropy, lambda's draws have "
              "Beta(alpha, alpha)'s mean 1/2 and variance 1/(4(2 alpha + 1)), and the recipe's "
              "training (SGD, weight decay, step schedule) matches torch.",
              "Zhang et al. (2018), §2 and their code; torch.optim.SGD + MultiStepLR"),
         part("mixup-without-the-recipe", "scope", "With full-batch Adam (lr 1e-3, no weight "
              "decay) for 3000 steps (10x our default horizon), mixup lowers the test accuracy "
              "for alpha = 0.2 and 1.", "ours", readings=MIXUP_ADAM_READINGS),
     ]},
    {"id": "small-batches-regularize", "title": "Small batches regularize",
     "statement": "Training with small minibatches generalizes better than full-batch "
                  "training to the same (zero) training error.",
     "sources": [f'{S}, "SelectBatch" (small batch sizes have a regularizing effect)'],
     "parts": [
         part("small-batch-raises-accuracy", "effect", "Minibatches of 16 (60 epochs) raise the "
              "test accuracy over full batch (300 steps), both fitting the 150 training "
              "images: a gain shown by the paired mean difference's 95% interval above 0 (the "
              "direction only).", f'{S}, "SelectBatch"', judges=("small-batch-regularizes",),
              readings=SMALL_BATCH_READINGS),
         part("minibatch-training-matches-torch", "precondition", "The minibatch training "
              "(Adam, and the slides' plain SGD) matches torch.nn with torch.optim on the same "
              "minibatches.", "torch.optim.Adam, torch.optim.SGD"),
     ]},
    {"id": "snapshot-ensembles", "title": "Snapshot ensembles from warm restarts",
     "statement": "Averaging the models at the ends of the cycles of a warm-restart schedule "
                  "gives an ensemble better than its last member, from one training run.",
     "sources": [f'{S}, "Schedules 3/3" (SGDR; Huang et al. 2017)',
                 "Huang et al. (2017), Snapshot Ensembles: Train 1, get M for free"],
     "parts": [
         part("ensemble-beats-last-snapshot", "effect", "With Huang et al.'s schedule (cyclic "
              "cosine from 0.2, 5 cycles of 40 epochs, Nesterov momentum 0.9, weight decay "
              "1e-4, batch 64), "
              "the ensemble of the 5 cycle-end snapshots has a higher test accuracy than the "
              "last snapshot: the paired mean difference's 95% interval above 0 (the direction "
              "only).", f'{S}, "Schedules 3/3"', judges=("snapshot-ensembles",),
              readings=SNAPSHOT_READINGS),
         part("schedule-matches-torch", "precondition", "The cyclic cosine schedule equals "
              "torch's CosineAnnealingWarmRestarts step by step, the snapshots fall at its "
              "minima, and the SGD training (Nesterov, weight decay) matches torch.",
              "torch.optim.lr_scheduler.CosineAnnealingWarmRestarts; torch.optim.SGD"),
     ]},
]


# The configurations tried on the way, beside the readings of each part.
BAR = "a gain of at least 2 points (1 for snapshots), a size the slides never state"
TRIED = {
    "dropout-regularizes": [
        tried(f"150 digits, 360 test images, full-batch Adam 300 steps, {BAR}",
              "+0.25 points over seeds 0-9: a known non-reproduction by our bar only"),
        tried("the same, 1647 test images, 40 seeds", "+0.30 points, t 3.5: the direction "
              "holds, but a window of 10-20 seeds straddles 0"),
        tried("1000 steps, 20 seeds", "kept: every window above 0", kept=True)],
    "gaussian-noise-augmentation": [
        tried(f"sigma 0.5, 360 test images, {BAR}", "+0.6 points (interval above 0) on seeds "
              "0-9: a known non-reproduction by our bar only"),
        tried("sigma 0.5, 1647 test images, 10 seeds, the direction", "kept", kept=True)],
    "mixup-augmentation": [
        tried(f"full-batch Adam 300 steps, alpha 0.2 and 1, {BAR}", "-0.1 and -0.4 points on "
              "seeds 0-9"),
        tried("full-batch Adam to 3000 steps", "lowers the accuracy more the longer it trains: "
              "the scope part"),
        tried("Zhang et al.'s recipe, alpha 0.2 and 1", "alpha 0.2 kept (the effect part); "
              "alpha 1 recorded", kept=True)],
    "small-batches-regularize": [
        tried(f"Adam, batch 16 against full batch, 360 test images, {BAR}", "-0.4 points on "
              "seeds 0-9"),
        tried("the same with 1647 test images, 200 seeds", "-0.05 points, the interval "
              "straddles 0"),
        tried("plain SGD at lr 0.05, 0.2, 0.5; batch 1 with Adam", "see the readings: no gain "
              "anywhere", kept=True)],
    "snapshot-ensembles": [
        tried(f"whole training split, lr 0.05, 4 cycles of 20 epochs, {BAR}", "-0.1 points on "
              "seeds 0-9"),
        tried("Huang et al.'s schedule on the whole split and on 150 digits", "150 digits, 200 "
              "epochs a cycle kept: the only setting whose direction does not straddle 0",
              kept=True)],
}
for _claim in CLAIMS:
    _claim["configurations_tried"] = TRIED.get(_claim["id"], [])


# --- early stopping -------------------------------------------------------------------------------
N_SEEDS = 10


@pytest.fixture(scope="module")
def seeds(seed):
    return seed_range(seed, N_SEEDS)


@pytest.fixture(scope="module")
def early(seeds):
    return sr.early_stopping_experiment(seeds)


@pytest.mark.part("best-checkpoint-beats-final")
def test_the_best_validation_checkpoint_beats_the_final_model(early, seeds, evidence):
    c = sr.CONFIG["early_stopping"]
    evidence.seeds(seeds)
    evidence.note(f"Digits, {c['label_noise']:.0%} of the training and validation labels "
                  f"replaced by another class (test labels clean); {c['n_val']} validation "
                  f"images; Adam lr {c['lr']}, batch {c['batch']}, {c['epochs']} epochs.")
    best = early["val_acc"].argmax(1)
    rows = np.arange(len(seeds))
    gain = early["test_acc"][rows, best] - early["test_acc"][:, -1]
    evidence.record("best-validation epoch per seed", best)
    evidence.check_seeds("test accuracy: best-validation checkpoint minus final model", gain,
                         "mean", ">=", 0.05, seeds=seeds,
                         reference=measured(0.17, "an earlier measurement, 150 epochs, 5 seeds"))


def check_label_noise(evidence, seed):
    """noisy_labels against its closed form: each label changes with probability 0.3, to one
    of the nine other classes with equal probability (a change to its own class would show as
    a changed fraction of 0.27)."""
    fraction = sr.CONFIG["early_stopping"]["label_noise"]
    y = torch.arange(10).repeat(2000)
    noisy = sr.noisy_labels(y, fraction, seed)
    changed = noisy != y
    evidence.check(f"label noise {fraction}: fraction of 20000 labels changed",
                   float(changed.float().mean()), "in", binomial_band(fraction, len(y)),
                   theory(fraction, "a Bernoulli(0.3) change per label, 4 standard errors"))
    offsets = torch.bincount(((noisy - y) % 10)[changed], minlength=10)[1:].double()
    n_changed = int(changed.sum())
    evidence.check("changed labels: largest |frequency of an offset 1..9 - 1/9|",
                   float((offsets / n_changed - 1 / 9).abs().max()), "<",
                   4 * math.sqrt((1 / 9) * (8 / 9) / n_changed),
                   theory(0.0, "uniform over the nine other classes, 4 standard errors"))


@pytest.mark.part("noisy-training-matches-torch")
def test_label_noise_and_minibatch_training_match_closed_forms_and_torch(seed, evidence):
    c = sr.CONFIG["early_stopping"]
    check_label_noise(evidence, seed)
    check_soft_cross_entropy(evidence, seed)
    check_training_parity(evidence, f"Adam lr {c['lr']}, batch {c['batch']}, all digits",
                          seed, None, 2, c["batch"], {"name": "adam", "lr": c["lr"]})


def keras_stops(early, patience):
    stops = {}
    for monitor in ("train_loss", "val_loss"):
        stops[monitor] = [sr.keras_early_stopping(v, patience) for v in early[monitor]]
    return stops


@pytest.mark.part("slides-keras-early-stopping-loss:document-differs")
def test_monitoring_the_training_loss_stops_late_with_a_worse_model(early, seeds, evidence):
    patience = sr.CONFIG["early_stopping"]["patience"]
    stops = keras_stops(early, patience)
    epochs = early["test_acc"].shape[1]
    at = lambda monitor: np.array([early["test_acc"][i, e if e is not None else epochs - 1]  # noqa
                                   for i, e in enumerate(stops[monitor])])
    evidence.record("monitor='loss': stop epoch per seed (None: never)", stops["train_loss"])
    evidence.record("monitor='val_loss': stop epoch per seed", stops["val_loss"])
    evidence.record(f"monitor='loss': fraction of seeds on which it never fires in {epochs} "
                    "epochs", float(np.mean([e is None for e in stops["train_loss"]])))
    stop_or_end = lambda monitor: np.array([epochs if e is None else e  # noqa: E731
                                            for e in stops[monitor]])
    evidence.check_seeds(f"patience {patience}: monitor='loss' stop epoch minus monitor="
                         f"'val_loss' stop epoch (never stopping counts as {epochs})",
                         stop_or_end("train_loss") - stop_or_end("val_loss"), "median", ">=",
                         20, seeds=seeds)
    evidence.check_seeds("test accuracy at the stop: monitor='val_loss' minus monitor='loss'",
                         at("val_loss") - at("train_loss"), "mean", ">", 0.02, seeds=seeds)


@pytest.mark.part("slides-keras-early-stopping-loss:reference-agrees")
def test_monitoring_the_validation_loss_stops_early(early, seeds, evidence):
    stops = keras_stops(early, sr.CONFIG["early_stopping"]["patience"])["val_loss"]
    evidence.record("monitor='val_loss': stop epoch per seed", stops)
    evidence.check_every_seed("monitor='val_loss': seeds on which it stops before epoch 30",
                              np.array([e is not None and e < 30 for e in stops]), seeds=seeds)


def keras_stop_closed_form(values, patience):
    """Keras' EarlyStopping (mode min, min_delta 0) read as a closed form: the first epoch e
    whose last ``patience`` values hold no value below the minimum of all earlier ones."""
    for e in range(patience, len(values)):
        if min(values[e - patience + 1:e + 1]) >= min(values[:e - patience + 1]):
            return e
    return None


@pytest.mark.part("slides-keras-early-stopping-loss:reference-agrees")
def test_the_keras_rule_and_the_noisy_training_match_closed_forms_and_torch(seed, evidence):
    rng = np.random.default_rng(seed)
    # Random walks with a downward drift (some never stop) and rounded ones (ties: Keras
    # counts a tie as no improvement).
    curves = [np.cumsum(rng.normal(-0.05, 1.0, 60)) for _ in range(500)]
    curves += [np.round(c) for c in curves[:250]]
    agree = [sr.keras_early_stopping(c, p) == keras_stop_closed_form(c, p)
             for c in curves for p in (1, 3, 5)]
    evidence.record("curves on which the rule never fires (patience 3)",
                    sum(sr.keras_early_stopping(c, 3) is None for c in curves))
    evidence.check(f"Keras' stopping rule against its closed form: agreement on {len(agree)} "
                   "curves and patiences", float(np.mean(agree)), "==", 1.0,
                   theory(1.0, "Keras EarlyStopping: stop when wait >= patience"))
    c = sr.CONFIG["early_stopping"]
    check_label_noise(evidence, seed + 1)
    check_training_parity(evidence, f"Adam lr {c['lr']}, batch {c['batch']}, all digits",
                          seed + 1, None, 2, c["batch"], {"name": "adam", "lr": c["lr"]})


# --- more data ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def more_data(seeds):
    return sr.more_data_experiment(seeds[:5])


@pytest.mark.part("gap-shrinks")
def test_more_data_shrinks_the_gap(more_data, seeds, evidence):
    c = sr.CONFIG["more_data"]
    evidence.note(f"Full-batch Adam lr {c['lr']} for {c['steps']} steps on n = {c['sizes']} "
                  "training images (each reaches training accuracy ~1).")
    small, mid, large = (more_data[n] for n in c["sizes"])
    for n, gap in more_data.items():
        evidence.record(f"n = {n}: train - test accuracy per seed", gap)
    evidence.check_seeds("gap at n = 1000 / gap at n = 100", large / small, "gmean", "<=", 0.5,
                         seeds=seeds[:5])
    evidence.check_every_seed("seeds on which the gap shrinks at both steps",
                              (mid < small) & (large < mid), seeds=seeds[:5])


@pytest.mark.part("full-batch-training-matches-torch")
def test_full_batch_training_matches_torch(seed, evidence):
    c = sr.CONFIG["more_data"]
    check_soft_cross_entropy(evidence, seed)
    check_training_parity(evidence, f"full-batch Adam lr {c['lr']}, n = 300", seed, 300, 5, 300,
                          {"name": "adam", "lr": c["lr"]})


# --- dropout's weight scaling ---------------------------------------------------------------------
SCALING_SEEDS = 20  # the ReLU gap's median over 10 seeds has an interval reaching 0.07


@pytest.fixture(scope="module")
def scaling_seeds(seed):
    return seed_range(seed, SCALING_SEEDS)


@pytest.fixture(scope="module")
def scaling(scaling_seeds):
    return [sr.weight_scaling_gap(s) for s in scaling_seeds]


@pytest.mark.part("exact-for-a-linear-unit")
def test_weight_scaling_is_exact_for_a_linear_unit(scaling, scaling_seeds, evidence):
    evidence.note("Keep probability 0.5; the average over every mask is enumerated (2^6 masks "
                  "per layer), not sampled.")
    evidence.check_seeds("linear unit: ||E_masks[output] - weight-scaled output|| / ||.||",
                         [r["linear"] for r in scaling], "median", "<", 1e-12, seeds=scaling_seeds,
                         reference=theory(0.0, "linearity of expectation"))


@pytest.mark.part("approximate-with-relu")
def test_weight_scaling_is_approximate_with_relu_layers(scaling, scaling_seeds, evidence):
    evidence.check_seeds("two ReLU layers: ||E_masks[output] - weight-scaled output|| / ||.||",
                         [r["relu"] for r in scaling], "median", ">", 0.03, seeds=scaling_seeds)


@pytest.mark.part("mask-average-matches-torch-sampling")
def test_the_enumerated_mask_average_is_what_torch_dropout_samples(scaling_seeds, evidence):
    keep, width = 0.5, 6
    masks, prob = sr.all_masks(width, keep)
    evidence.check("all_masks: distinct masks", len({tuple(m.tolist()) for m in masks}), "==",
                   2 ** width, theory(2 ** width, "every 0/1 mask of 6 units"))
    evidence.check("all_masks: |sum of the mask probabilities - 1|", float(abs(prob.sum() - 1)),
                   "<", 1e-12, theory(0.0, "a probability distribution"))
    evidence.check("all_masks: largest |P(unit kept) - keep|",
                   float(((prob[:, None] * masks).sum(0) - keep).abs().max()), "<", 1e-12,
                   theory(keep, "each unit kept independently with probability keep"))
    z = []
    for s in scaling_seeds[:5]:
        exact, sampled = sr.exact_mask_averages(s, keep, width), sr.sampled_mask_averages(s, keep,
                                                                                          width)
        for k, (mean, se) in sampled.items():
            z.append(float(((exact[k] - mean).abs() / se.clamp_min(1e-12)).max()))
    evidence.check("enumerated average against 20000 masks drawn by torch's dropout: largest "
                   "|difference| / standard error over 50 outputs x 2 nets x 5 seeds", max(z),
                   "<", 5.0, theory(0.0, "the Monte Carlo mean estimates the expectation; 5 "
                                         "standard errors (500 outputs)"))


# --- dropout as a regularizer ---------------------------------------------------------------------
def check_gain(evidence, runs, name, seeds, label, reference=None, pinned=None):
    """The slides' direction: the paired difference in test accuracy (regularized minus plain,
    the same split and initial weights per seed), its mean with a 95% interval against 0; the
    size and the training accuracies are recorded beside."""
    diff = runs[name] - runs["plain"]
    evidence.record(f"{label}: test accuracy minus the plain net's, per seed", diff)
    evidence.record(f"{label}: training accuracy per seed", runs[name + " train"])
    evidence.record("plain net: training accuracy per seed", runs["plain train"])
    evidence.record(f"{label}: mean gain in points of test accuracy", 100 * float(diff.mean()))
    return evidence.check_seeds(f"{label}: test accuracy minus the plain net's (paired)", diff,
                                "mean", ">", 0.0, seeds=seeds, reference=reference,
                                pinned=pinned)


def small_data_note(evidence, horizon, optimizer="full-batch Adam lr 1e-3"):
    c = sr.CONFIG["small_data"]
    evidence.note(f"n = {c['n_train']} training images, the other {c['n_test']} digits as the "
                  f"test set; {optimizer} for {horizon}; the same data split and initial "
                  "weights per seed for both nets; the slides state a direction only, so the "
                  "bound is 0 and the size is recorded.")


# Every window of 20 of seeds 0-39, 10000-10039 above 0 (15: lowest lower end +0.09).
DROPOUT_SEEDS, DROPOUT_STEPS = 20, 1000


@pytest.fixture(scope="module")
def dropout_runs(seed, experiment_cache):
    seeds = seed_range(seed, DROPOUT_SEEDS)
    return seeds, experiment_cache(sr.small_data_variants, seeds, ["dropout"],
                                   steps=DROPOUT_STEPS)


@pytest.mark.slow
@pytest.mark.part("dropout-raises-test-accuracy")
def test_dropout_raises_the_test_accuracy(dropout_runs, evidence):
    seeds, runs = dropout_runs
    evidence.seeds(seeds)
    small_data_note(evidence, f"{DROPOUT_STEPS} steps (the dropout net learns slower: at 300 "
                              "steps the gain is half as large)")
    check_gain(evidence, runs, "dropout", seeds,
               f"Dropout(0.5) (keep {sr.CONFIG['dropout']['keep']})",
               reference=measured(DROPOUT_MEASURED, DROPOUT_WHERE))


@pytest.mark.part("dropout-layer-matches-torch")
def test_the_training_dropout_is_torch_dropout(seed, evidence):
    keep = sr.CONFIG["dropout"]["keep"]
    evidence.check("forward() with a mask against a torch.nn net with nn.Dropout(1 - keep), "
                   "the mask read off torch's draw: max |difference| / max |output|",
                   mlp.dropout_layer_parity(seed, keep), "<", 1e-6,
                   theory(0.0, "inverted dropout: kept units divided by keep"))
    gens = [torch.Generator().manual_seed(seed + m) for m in range(10)]
    mask = mlp.dropout_mask((150, mlp.HIDDEN), keep, gens)
    evidence.check(f"training masks: fraction of units kept ({mask.numel()} draws)",
                   float(mask.mean()), "in", binomial_band(keep, mask.numel()),
                   theory(keep, "Bernoulli(keep) per unit, 4 standard errors"))
    check_training_parity(evidence, "full-batch Adam lr 1e-3, n = 150", seed, 150, 5, 150,
                          {"name": "adam", "lr": sr.CONFIG["small_data"]["lr"]})


# --- the slides' Dropout(0.5) ---------------------------------------------------------------------
@pytest.mark.part("dropout-half-keeps-half")
def test_the_slides_dropout_of_one_half_keeps_half_the_units(evidence):
    out = sr.dropout_layer_output(0.5)
    kept = out != 0
    evidence.note("torch's nn.Dropout takes the drop rate, as Keras' Dropout does (Keras "
                  "documentation); the slides' figure calls p the probability of keeping a unit "
                  "and multiplies the weights by p at test time.")
    evidence.check("Dropout(0.5): fraction of units kept (10^5 draws)",
                   float(kept.float().mean()), "in", binomial_band(0.5, out.numel()),
                   theory(0.5, "the caption's p = .5, a keep probability; 4 standard errors"))
    evidence.check("Dropout(0.5): largest |kept value - 2| for an input of ones",
                   float((out[kept] - 2).abs().max()), "<", 1e-6,
                   theory(2.0, "1/(1 - rate) = 1/p"))
    evidence.check("Dropout(0.5): mean output / input (the figure's test-time rule gives p x "
                   "(1/p) = 1)", float(out.mean()), "in", (1 - 4 / 316.2, 1 + 4 / 316.2),
                   theory(1.0, "expected output = input; 4 standard errors"))


@pytest.mark.part("rate-is-the-dropped-fraction")
def test_dropout_of_a_fifth_keeps_four_fifths(evidence):
    out = sr.dropout_layer_output(0.2, seed=1)
    evidence.check("Dropout(0.2): fraction of units kept (10^5 draws)",
                   float((out != 0).float().mean()), "in", binomial_band(0.8, out.numel()),
                   theory(0.8, "the argument is the fraction dropped; read as p it would keep "
                               "0.2"))


# --- Gaussian input noise -------------------------------------------------------------------------
NOISE_SEEDS = 10  # every window of 10 of seeds 0-59, 10000-10059 above 0


@pytest.fixture(scope="module")
def noise_runs(seed):
    seeds = seed_range(seed, NOISE_SEEDS)
    return seeds, sr.small_data_variants(seeds, ["noise"])


@pytest.mark.part("noise-raises-accuracy")
def test_gaussian_noise_raises_the_test_accuracy(noise_runs, evidence):
    seeds, runs = noise_runs
    evidence.seeds(seeds)
    small_data_note(evidence, f"{sr.CONFIG['small_data']['epochs']} steps")
    check_gain(evidence, runs, "noise", seeds, f"noise sigma {sr.CONFIG['input_noise']}",
               reference=measured(NOISE_MEASURED, NOISE_WHERE))


@pytest.mark.part("noise-kernel-matches")
def test_the_input_noise_has_the_stated_law_and_training_matches_torch(seed, evidence):
    sigma = sr.CONFIG["input_noise"]
    gens = [torch.Generator().manual_seed(seed + m) for m in range(10)]
    noise = mlp.input_noise(torch.zeros(10, 150, 64), sigma, gens)
    n = noise.numel()
    evidence.check(f"input noise: mean over {n} draws", float(noise.mean()), "in",
                   (-4 * sigma / n ** 0.5, 4 * sigma / n ** 0.5),
                   theory(0.0, "N(0, sigma^2), 4 standard errors"))
    evidence.check("input noise: standard deviation / sigma", float(noise.std()) / sigma, "in",
                   (1 - 4 / (2 * n) ** 0.5, 1 + 4 / (2 * n) ** 0.5),
                   theory(1.0, "N(0, sigma^2), 4 standard errors"))
    check_training_parity(evidence, "full-batch Adam lr 1e-3, n = 150", seed, 150, 5, 150,
                          {"name": "adam", "lr": sr.CONFIG["small_data"]["lr"]})


# --- mixup ----------------------------------------------------------------------------------------
MIXUP_SEEDS = 100  # every window of 100 of seeds 0-139, 10000-10139 above 0; 80 is thin


@pytest.fixture(scope="module")
def mixup_runs(seed, experiment_cache):
    m = sr.CONFIG["mixup"]
    seeds = seed_range(seed, MIXUP_SEEDS)
    return seeds, experiment_cache(sr.small_data_variants, seeds, ["mixup 0.2", "mixup 1.0"],
                                   steps=m["epochs"], spec=m["recipe"], batch=m["batch"])


@pytest.mark.slow
@pytest.mark.part("mixup-raises-accuracy")
def test_mixup_raises_the_test_accuracy_with_the_papers_recipe(mixup_runs, evidence):
    seeds, runs = mixup_runs
    evidence.seeds(seeds)
    m = sr.CONFIG["mixup"]
    small_data_note(evidence, f"{m['epochs']} epochs", "Zhang et al.'s recipe for ERM and mixup "
                    "alike (SGD lr 0.1, momentum 0.9, weight decay 1e-4, batch 128, lr / 10 at "
                    "epochs 100 and 150)")
    check_gain(evidence, runs, "mixup 0.2", seeds, "mixup alpha 0.2",
               reference=measured(MIXUP_MEASURED, MIXUP_WHERE))
    diff = runs["mixup 1.0"] - runs["plain"]
    evidence.record("mixup alpha 1 (Zhang et al.'s CIFAR alpha): mean gain in points and 95% "
                    "interval (a reading, not checked: it straddles 0)",
                    [100 * float(diff.mean())] + [100 * v for v in seed_interval(diff, "mean")])


@pytest.mark.part("mixup-kernel-matches")
def test_mixup_matches_its_definition_and_the_recipe_matches_torch(seed, evidence):
    for alpha in sr.CONFIG["mixup"]["alphas"]:
        r = sr.mixup_against_definitions(seed, alpha)
        evidence.check(f"alpha {alpha}: mixed inputs against lam x_i + (1 - lam) x_j example by "
                       "example, max |difference|", r["inputs"], "<", 1e-6,
                       theory(0.0, "Zhang et al., eq. (1)"))
        evidence.check(f"alpha {alpha}: loss on mixed labels against lam CE(y_i) + (1 - lam) "
                       "CE(y_j) (torch's cross_entropy), max relative difference", r["loss"],
                       "<", 1e-5, theory(0.0, "the cross-entropy is linear in the target"))
        var = 1 / (4 * (2 * alpha + 1))
        n = r["draws"]
        evidence.check(f"alpha {alpha}: mean of {n} lambda draws", r["lam_mean"], "in",
                       (0.5 - 4 * (var / n) ** 0.5, 0.5 + 4 * (var / n) ** 0.5),
                       theory(0.5, "Beta(alpha, alpha), 4 standard errors"))
        evidence.check(f"alpha {alpha}: variance of the lambda draws / 1/(4(2 alpha + 1))",
                       r["lam_var"] / var, "in", (0.97, 1.03),
                       theory(1.0, "Beta(alpha, alpha); 20000 draws: 3% is > 4 standard "
                                   "errors"))
    m = sr.CONFIG["mixup"]
    check_training_parity(evidence, "Zhang et al.'s recipe (SGD momentum 0.9, weight decay "
                          "1e-4, lr / 10 at steps 10 and 15 here), n = 150, batch 128", seed,
                          150, 20, m["batch"], {**m["recipe"], "milestones": (10, 15)})


MIXUP_ADAM_SEEDS, MIXUP_ADAM_STEPS = 10, 3000


@pytest.fixture(scope="module")
def mixup_adam_runs(seed, experiment_cache):
    seeds = seed_range(seed, MIXUP_ADAM_SEEDS)
    return seeds, experiment_cache(sr.small_data_variants, seeds, ["mixup 0.2", "mixup 1.0"],
                                   steps=MIXUP_ADAM_STEPS)


@pytest.mark.slow
@pytest.mark.part("mixup-without-the-recipe")
@known_non_reproduction("with full-batch Adam and no weight decay mixup lowers the test "
                        "accuracy, the more the longer it trains")
def test_mixup_with_full_batch_adam_lowers_the_test_accuracy(mixup_adam_runs, evidence):
    seeds, runs = mixup_adam_runs
    evidence.seeds(seeds)
    small_data_note(evidence, f"{MIXUP_ADAM_STEPS} steps (10x our default horizon)")
    for alpha, pin in MIXUP_ADAM_PINS.items():
        check_gain(evidence, runs, f"mixup {alpha}", seeds, f"mixup alpha {alpha}", pinned=pin)


# --- small batches --------------------------------------------------------------------------------
SMALL_BATCH_SEEDS = 40


@pytest.fixture(scope="module")
def small_batch_runs(seed, experiment_cache):
    seeds = seed_range(seed, SMALL_BATCH_SEEDS)
    return seeds, experiment_cache(sr.small_data_variants, seeds, ["small_batch"])


@pytest.mark.slow
@pytest.mark.part("small-batch-raises-accuracy")
@known_non_reproduction("at 150 digits no batch size shows a gain: the paired difference's "
                        "interval straddles 0 for batch 16 (Adam; SGD at three step sizes) "
                        "and batch 1 is worse")
def test_small_batches_raise_the_test_accuracy(small_batch_runs, evidence):
    seeds, runs = small_batch_runs
    c = sr.CONFIG["small_data"]
    evidence.seeds(seeds)
    small_data_note(evidence, f"{c['epochs']} full-batch steps against {c['small_batch_epochs']} "
                              f"epochs of minibatches of {sr.CONFIG['small_batch']} (both reach "
                              "training accuracy 1)", "Adam lr 1e-3")
    evidence.check_seeds("minibatches of 16: seeds with training accuracy 1 (both fit)",
                         runs["small_batch train"] == 1.0, "fraction", ">=", 0.8, seeds=seeds)
    diff = runs["small_batch"] - runs["plain"]
    low, high = seed_interval(diff, "mean")
    evidence.record("batch 16: test accuracy minus full batch's, per seed", diff)
    evidence.record("batch 16: mean gain and its 95% interval, in points",
                    [100 * float(diff.mean()), 100 * low, 100 * high])
    # The direction read as 'a gain is shown': the interval's lower end above 0. Its mean's
    # interval straddles 0 at every reading tried (readings), so a three-valued check stays
    # inconclusive at any number of seeds; what is stable is that no gain is shown.
    evidence.check("batch 16: lower end of the 95% interval of the mean gain (a gain is shown "
                   "when it is above 0)", low, ">", 0.0, pinned=SMALL_BATCH_PIN)


@pytest.mark.part("minibatch-training-matches-torch")
def test_minibatch_training_matches_torch(seed, evidence):
    lr = sr.CONFIG["small_data"]["lr"]
    check_training_parity(evidence, f"Adam lr {lr}, minibatches of {sr.CONFIG['small_batch']}, "
                          "n = 150", seed, 150, 3, sr.CONFIG["small_batch"],
                          {"name": "adam", "lr": lr})
    check_training_parity(evidence, "SGD lr 0.05 (the slides' Algorithm 2), minibatches of "
                          f"{sr.CONFIG['small_batch']}, n = 150", seed, 150, 3,
                          sr.CONFIG["small_batch"], {"name": "sgd", "lr": 0.05})


# --- snapshot ensembles ---------------------------------------------------------------------------
SNAPSHOT_SEEDS = 25


@pytest.fixture(scope="module")
def snapshots(seed):
    seeds = seed_range(seed, SNAPSHOT_SEEDS)
    return seeds, sr.snapshot_experiment(seeds)


@pytest.mark.part("ensemble-beats-last-snapshot")
@known_non_reproduction("with Huang et al.'s schedule on 150 digits the ensemble of the 5 "
                        "cycle-end snapshots is less accurate than the last snapshot: the "
                        "earlier snapshots are worse and pull it down")
def test_the_snapshot_ensemble_beats_its_last_member(snapshots, evidence):
    seeds, r = snapshots
    c = sr.CONFIG["snapshots"]
    evidence.seeds(seeds)
    evidence.note(f"Huang et al.'s cyclic cosine schedule from lr {c['lr']}, {c['cycles']} "
                  f"cycles of {c['epochs_per_cycle']} epochs, batch {c['batch']}, SGD with "
                  f"Nesterov momentum 0.9, weight decay {c['weight_decay']}; a snapshot at each "
                  f"cycle's end, the ensemble averages their softmax outputs; n = "
                  f"{c['n_train']} training images, {c['n_test']} test images.")
    evidence.record("test accuracy of each snapshot (cycle 1..5), mean over seeds",
                    r["snapshot_acc"].mean(1))
    evidence.record("last snapshot: training accuracy per seed", r["last_train_acc"])
    evidence.record("test NLL, mean over seeds: last snapshot, ensemble",
                    [float(np.mean(r["last_nll"])), float(np.mean(r["ensemble_nll"]))])
    diff = r["ensemble_acc"] - r["last_acc"]
    evidence.record("ensemble minus last snapshot: mean in points", 100 * float(diff.mean()))
    evidence.check_seeds("test accuracy: ensemble minus last snapshot (paired)", diff, "mean",
                         ">", 0.0, seeds=seeds, pinned=SNAPSHOT_PIN)


@pytest.mark.part("schedule-matches-torch")
def test_the_cyclic_schedule_and_its_training_match_torch(seed, evidence):
    c = sr.CONFIG["snapshots"]
    period = c["epochs_per_cycle"] * (c["n_train"] // c["batch"])
    lr = optim.cosine_restarts(c["lr"], period)
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=c["lr"])
    sched = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=period)
    gap = 0.0
    for t in range(1, 3 * period + 1):
        gap = max(gap, abs(lr(t) - opt.param_groups[0]["lr"]))
        opt.step()
        sched.step()
    evidence.check(f"cosine restarts against torch's CosineAnnealingWarmRestarts(T_0 = {period})"
                   " over 3 cycles: max |lr difference|", gap, "<", 1e-12,
                   theory(0.0, "Huang et al. eq. (2) is SGDR with T_mult 1, eta_min 0"))
    ends = [k * period for k in range(1, c["cycles"] + 1)]   # where the snapshots are taken
    evidence.record("lr at the snapshot steps / lr0", [lr(t) / c["lr"] for t in ends])
    evidence.check("snapshot steps at which lr is not its cycle's smallest",
                   sum(lr(t) > min(lr(u) for u in range(t - period + 1, t + 1)) for t in ends),
                   "==", 0, theory(0, "a snapshot at each cycle's end, where the cosine bottoms "
                                      "out at lr0 (1 - cos(pi / period)) / 2"))
    evidence.check("lr at the step after each snapshot / lr0 (the restart)",
                   min(lr(t + 1) for t in ends) / c["lr"], "==", 1.0, theory(1.0, "a restart"))
    check_training_parity(evidence, f"SGD Nesterov 0.9, weight decay {c['weight_decay']}, cosine "
                          "restarts every 10 steps, batch 64", seed, c["n_train"], 15, c["batch"],
                          {"name": "sgd", "lr": c["lr"], "momentum": 0.9, "nesterov": True,
                           "weight_decay": c["weight_decay"], "period": 10})
