"""Slides 003's own experiments, as the slides state them: Experiment 1 (the emulated end-to-end
rule explains a depth-2 net's training, and width does not change the speed), Experiment 3 (depth-3
GD against AdaGrad, AdaDelta and Adam on l4 regression, with Experiment 2's l2 contrast) and
Experiment 4 / the conclusion (a dense matrix replaced by a product of two accelerates a
non-linear net).

Sources: slides 003 (Deep2Reproduce reproduction of Arora, Cohen & Hazan, ICML 2018),
Experiments 1-4 with their printed code, and the conclusion; Arora et al. (2018) Sections 7-8.

Which tier runs which setting:
- default: stand-ins that run in seconds, many seeds: a synthetic ill-conditioned regression
  (n = 256, d = 16) for Experiments 1 and 3 (short horizons, every lr tuned on a grid), and
  scikit-learn's digits for Experiment 4 (``reproductions/slides003_experiments.py`` lists the
  deviations).
- slow: the slides' own settings on their data: Experiment 1 on the 2565 ethanol rows (l2, lr
  0.001, 200,000 iterations, N(0, 0.01^2)), Experiment 3 (600,000 epochs at the slides' lrs, and
  Adam at lr 0.0005 for 60,000 epochs and at the paper's 0.001), Experiment 4 on the TensorFlow
  tutorial's MNIST convnet (a subset, a few hundred steps; stated in the test).
A sentence is judged at the slides' own setting where they give one; the stand-ins' readings
(another horizon, metric or data) are recorded beside it as readings with their basis.

The slides' code has errors that matter only where stated: ``if N=3:`` and ``if i%1000=0:`` are
syntax errors (the code cannot have run as printed; we run its evident intent; no outcome
depends on them), Experiment 2 trains depths 1/2/3 at unequal lrs (0.05, 0.05, 0.5; here every
method is tuned on a grid, and at the slides' lrs depth 3 is still behind depth 1 on l2: the
outcome does not change), and Experiment 3 gives Keras' Adadelta lr = 0.0005, which decides its
500-iteration comparison (the discrepancy ``slides003-adadelta-lr``). The slides' Keras layers
carry biases (zero-initialized); our linear chains have none (the paper's nets have none, and
every feature and the target are z-scored).
"""

import math

import numpy as np
import pytest
import torch

from optclaims_report.claim import (discrepancy, known_non_reproduction, measured, part, reading,
                                    seed_range, theory, tried)
from optclaims_report.evidence import seed_interval
from reproductions import rule_runs as rr
from reproductions import depth_acceleration as da
from reproductions import linear_nets as ln
from reproductions import slides003_experiments as s3
from reproductions.data import digits_standardized, load_mnist

S003 = "slides 003"
# Readings measured for this module (earlier runs, each with its seeds and tier).
EXP1_DOC = ("Experiment 1's setting: 2565 ethanol rows, l2 (the code's p = 2), lr 0.001, "
            "200,000 iterations, every weight N(0, 0.01^2)")
CLAIMS = [
    {"id": "slides003-exp1-rule-tracks-training", "title": "Slides 003, Experiment 1: the "
     "emulated end-to-end rule follows depth-2 training, and width does not change the speed",
     "statement": "Gradient descent on depth-2 linear nets of widths 1, 8 and 64 follows the "
                  "single-output end-to-end rule (the slides' emulate function), and the width "
                  "does not change how fast the loss falls.",
     "sources": [f"{S003}, Experiment 1 (results and code: train, emulate)",
                 "Arora, Cohen, Hazan, ICML 2018, Section 5 and Figure 2"],
     "parts": [
         part("restart-tracks", "effect", "Restarted from the real net's end-to-end vector at "
              "the step where its loss has halved, the rule's loss stays within 6% of the "
              "net's for 600 steps (synthetic l4, lr 0.02, every width).",
              f"{S003}, Experiment 1", judges=("rule-explains-training",)),
         part("plain-gd-does-not", "control", "Plain GD from the same restart point is more "
              "than 20% off the net's loss (l4; 10% on l2).", "our control"),
         part("exp1-kernels", "precondition", "The kernels the runs rely on compute what they "
              "stand for: the l_p gradient (lp_fns) and the depth-2 factor gradients "
              "(linear_nets.wide_factor_grads) equal autograd's, and the batched emulate (the "
              "rule's step linear_nets.e2e_step_single) follows the slides' emulate as printed "
              "(autograd gradient, one start at a time).", "our protocol (hand-derived kernels)"),
         part("from-slides-init", "scope", "At Experiment 1's own setting (the ethanol rows, "
              "l2, lr 0.001, 200,000 iterations, every weight N(0, 0.01^2)) the rule run from "
              "each net's end-to-end start draws the net's loss curve on the slides' figure "
              "(the loss on a log axis against the iteration): every point of each curve lies "
              "within 1% of the axes of the other, and the final losses - L* agree within 5%.",
              f"{S003}, Experiment 1 (results; code: emulate, train, 200,000 iterations)",
              judges=("rule-explains-training",),
              readings=(
                  reading(EXP1_DOC + "; the rule from each net's end-to-end start, the distance "
                          "between the curves on the slides' figure and the final loss",
                          "within 0.2% of the axes, final L - L* within 0.6% (held-out seeds "
                          "10000-10002: 0.23%, 0.62%)", "holds", "document",
                          "slow tier, seeds 0-2"),
                  reading("the same runs compared at every iteration (max relative loss gap, "
                          "the escape from the near-zero start included)", "0.04-0.50 of the "
                          "net's loss during the escape (seeds 0-2, 10000-10002)",
                          "does not hold", "ours",
                          "slow tier, seeds 0-2"),
                  reading("synthetic l4 (n = 256, d = 16), lr 0.02, the rule from step 0, max "
                          "relative loss gap over the first t0 + 600 steps", "0.3-7x the net's "
                          "loss (median 1.4), seeds 0-29", "does not hold", "ours",
                          "default tier, recorded by restart-tracks"),
              )),
         part("width-unrelated-from-slides-init", "scope", "At Experiment 1's own setting the "
              "loss curves of widths 1, 8 and 64 are one curve on the slides' figure: every "
              "point of a wider net's curve lies within 1% of the axes of width 1's, and the "
              "final losses - L* agree within 5%.",
              f"{S003}, Experiment 1 (width not related to the converging speed)",
              judges=("slides003-depth-not-width-cheap", "width-unrelated-to-speed",),
              readings=(
                  reading(EXP1_DOC + "; widths 1, 8, 64, the distance between the curves on "
                          "the slides' figure and the final loss", "within 0.6% of the axes, "
                          "final L - L* within 1% (held-out seeds 10000-10002: 0.42%, 0.73%)",
                          "holds", "document", "slow tier, seeds 0-2"),
                  reading("the same runs, steps to halve the loss (the escape from the "
                          "near-zero start, relative to its own length)", "width 1 / width 64 "
                          "1.9-2.5 (at 300-810 of the 200,000 iterations; seeds 0-2, "
                          "10000-10002)", "does not hold",
                          "ours", "slow tier, seeds 0-2"),
                  reading("synthetic l4, lr 0.02, steps to halve the loss", "width 64 "
                          "1.5-4.6x sooner than width 1, seeds 0-29", "does not hold", "ours",
                          "default tier, recorded by width-unrelated-balanced"),
              )),
         part("width-unrelated-balanced", "scope", "From exactly balanced factors of one "
              "end-to-end start, the steps to halve the loss are the same at every width.",
              "Arora et al. (2018), Theorem 1 (the rule does not involve the width)",
              judges=("slides003-depth-not-width-cheap", "width-unrelated-to-speed",)),
     ],
     "configurations_tried": [
         tried("lr 0.02, 1000 steps, restart at the halving step, 600 tracked, seeds 0-29",
               "restart gap per seed (max over widths) at most 0.035 (l4), 0.024 (l2); plain "
               "GD 0.43-0.83 (l4), 0.16-0.68 (l2); from init 0.32-7.2; halving-step ratio "
               "across widths 1.5-4.6 (random init), 1.0 (balanced)", kept=True),
         tried("lr 0.01 and 0.05 from a balanced start (seed 0)", "rule vs net from step 0: "
               "3-6% at 0.01, 15-34% at 0.05 (the discrete rule is the small-lr limit)"),
         tried(EXP1_DOC + ", seeds 0-2", "rule vs net and widths 8, 64 vs width 1: the same "
               "curve on the slides' figure (within 0.2% and 0.6% of the axes; final L - L* "
               "within 0.6% and 1%); the loss at the slides' printed steps up to 11% apart at "
               "iteration 1000 (the escape), under 1% from 10,000 on", kept=True),
         tried("Experiment 1's setting compared by the iterations to reach each printed loss",
               "ill-posed late in the run: a 0.1% loss gap on the flat tail is thousands of "
               "iterations, and a final loss 0.1% higher is never reached (inf); replaced by "
               "the distance on the figure"),
     ]},
    {"id": "slides003-exp3-depth-vs-adaptive", "title": "Slides 003, Experiment 3: depth-3 GD "
     "against AdaGrad, AdaDelta and Adam on l4 regression",
     "statement": "On l4 regression, gradient descent on a depth-3 linear net ends closer to the "
                  "optimum than AdaGrad and AdaDelta on the linear model, and adding depth "
                  "also accelerates Adam.",
     "sources": [f"{S003}, Experiment 3 (parts 1 and 2) and Experiment 2 (l2 vs l4)",
                 "Arora, Cohen, Hazan, ICML 2018, Section 7"],
     "parts": [
         part("gd3-beats-adagrad", "effect", "After 500 full-batch iterations on the synthetic "
              "regression, each method at its best lr, depth-3 GD's l4 suboptimality is below "
              "AdaGrad's (median ratio >= 1.2).", f"{S003}, Experiment 3, part 1",
              judges=("overparameterization-beats-convex-methods",)),
         part("slides-settings-adagrad", "scope", "At the slides' own settings (the 2565 "
              "ethanol rows, l4, Keras' constants, every weight N(0, 0.01^2), 600,000 "
              "full-batch epochs, depth-3 GD at lr 1e-4 and AdaGrad at 0.01 on the linear "
              "model) depth-3 GD ends closer to L* than AdaGrad (the direction, judged by its "
              "interval; the size is recorded).",
              f"{S003}, Experiment 3, part 1 (code: model_building, 600,000 epochs)",
              judges=("overparameterization-beats-convex-methods",),
              readings=(
                  reading("the slides' settings: depth-3 GD at 1e-4, AdaGrad at 0.01, 600,000 "
                          "epochs, 2565 rows", "AdaGrad / depth-3 GD suboptimality 0.57-0.59 "
                          "(seeds 0-2): AdaGrad ahead; depth-3 GD leaves its near-zero start "
                          "only after 1-2 x 10^5 epochs at lr 1e-4 and is still closing in",
                          "does not hold", "document", "slow tier, seeds 0-2"),
                  reading("each method at its best lr, T = 5 x 10^4, 1316 exact rows",
                          "AdaGrad / depth-3 GD 1.74 (median, seeds 0-29)", "holds", "horizon",
                          "depth-acceleration/adagrad-vs-depth3, slow tier"),
                  reading("each method at its best lr, 500 iterations, synthetic regression",
                          "AdaGrad / depth-3 GD 1.7-2.9 (medians of 20 seeds, base seeds 0-19 "
                          "and 10000-10019)", "holds", "ours", "gd3-beats-adagrad, default tier"),
              )),
         part("slides-settings-adadelta", "scope", "At the slides' own settings (as above, "
              "AdaDelta at the slides' lr 0.0005) depth-3 GD ends closer to L* than AdaDelta "
              "on the linear model (the direction, judged by its interval; the size is "
              "recorded).", f"{S003}, Experiment 3, part 1 (code: model_building)",
              judges=("overparameterization-beats-convex-methods",)),
         part("l2-no-gain", "control", "On l2 (Experiment 2), depth-3 GD ends no closer to the "
              "optimum than depth-1 GD (median ratio depth 1 / depth 3 <= 0.8): the comparison "
              "that finds the l4 gain finds none on l2.", f"{S003}, Experiment 2 (with l2, "
              "deeper networks are slower)",
              judges=("slides003-exp2-unequal-learning-rates",)),
         part("gd3-beats-gd1", "scope", "On l4, depth-3 GD ends below depth-1 GD (median ratio "
              ">= 1.2).", f"{S003}, Experiment 2 (with l4, depth accelerates)",
              judges=("slides003-exp2-unequal-learning-rates",)),
         part("lr-grids-bracket", "precondition", "Every method's best lr lies inside its grid "
              "on at least 90% of seeds.", "our protocol (each method tuned)"),
         part("exp3-kernels", "precondition", "The kernels the runs rely on compute what they "
              "stand for: the width-1 chains' factor gradients (linear_nets.factor_grads) and the "
              "l4 gradient (lp_fns) equal autograd's; the shared AdaDelta with Keras' constants is "
              "Keras 2's Adadelta written out (to 1e-12) and the shared Adam with Keras' "
              "constants Keras 2's Adam (within eps / (sqrt(1 - b2) |g|): Keras adds eps to "
              "sqrt(v), not to sqrt(v / (1 - b2^t))); float32 steps give float64's "
              "suboptimality on the slides' "
              "configurations (slow tier).", "our protocol (hand-written kernels, Keras 2)"),
         part("gd3-beats-tuned-adadelta", "scope", "Depth-3 GD also ends below AdaDelta when "
              "AdaDelta's lr is tuned like the others' (500 iterations, synthetic regression).",
              f"{S003}, Experiment 3, part 1 (overparameterization beats algorithms designed "
              "for convex problems)", judges=("overparameterization-beats-convex-methods",),
              readings=(
                  reading("the slides' settings: AdaDelta at their lr 0.0005, depth-3 GD at "
                          "1e-4, 600,000 epochs, 2565 rows", "AdaDelta / depth-3 GD "
                          "suboptimality 1.14-1.19 (seeds 0-2)", "holds", "document",
                          "slides-settings-adadelta, slow tier"),
                  reading("the paper's horizon 10^6 steps, 2565 rows, AdaDelta's lr tuned like "
                          "GD's", "depth-3 GD 1.09x farther from L* than AdaDelta (seeds 0-2)",
                          "does not hold", "paper", "depth-acceleration/adadelta-crossover, "
                          "slow tier"),
                  reading("500 iterations, synthetic regression, AdaDelta tuned (best lr "
                          "~10^1)", "AdaDelta / depth-3 GD suboptimality 0.13-0.32 (medians of "
                          "20 seeds, base seeds 0-19 and 10000-10019)", "does not hold", "ours",
                          "default tier"),
              )),
         part("adam-with-depth", "scope", "Adam on depth-2 and depth-3 nets ends closer to L* "
              "than Adam on the linear model at the slides' setting (the 2565 rows, l4, Keras' "
              "constants, N(0, 0.01^2), the fixed lr 0.0005, 60,000 full-batch epochs, float64 "
              "steps; the direction, judged by its interval; the size is recorded); the paper's "
              "lr 0.001 is recorded as a reading.",
              f"{S003}, Experiment 3, part 2 (code: part_2, 60,000 epochs)",
              judges=("adam-with-depth", "slides003-exp3-adam-lr-differs"),
              readings=(
                  reading("the slides' setting: lr 0.0005, 60,000 epochs", "depth 1 / depth 2 "
                          "1.68 (1.62-1.72 per seed), depth 1 / depth 3 1.70 (1.62-1.74); "
                          "held-out seeds 10000-10004: 1.71, 1.73", "holds", "document",
                          "slow tier, seeds 0-4"),
                  reading("the paper's lr 0.001 (as the slides state it), 60,000 epochs",
                          "depth 1 / depth 2 1.43 (1.39-1.50), depth 1 / depth 3 1.29 (interval "
                          "1.08-1.42; seed 3 0.92, caught in one of depth 3's loss spikes)",
                          "holds", "paper", "slow tier, seeds 0-4"),
                  reading("500 iterations, synthetic regression, each depth at its best lr",
                          "depth 1 / depth 3 suboptimality 0.53-0.74 (medians of 20 seeds, "
                          "base seeds 0-19 and 10000-10019): depth has not paid off yet",
                          "does not hold", "ours", "default tier (recorded by the slow test)"),
              )),
     ],
     "configurations_tried": [
         tried("500 iterations, seeds 0-39, lr grids of quarter decades", "median "
               "suboptimality ratios: depth 1 / depth 3 GD 2.2, AdaGrad / depth-3 GD 2.2, "
               "depth-3 GD / tuned AdaDelta 6.4, Adam depth 3 / depth 1 1.6 (depth 2 / depth 1 "
               "1.35); l2: depth 1 / depth 3 0.20", kept=True),
         tried("AdaDelta at lr 1 (Zeiler's rule, Keras 2's default), seeds 0-39", "beats "
               "depth-3 GD on 68% of seeds, diverges on some: tuned on a grid instead"),
         tried("the slides' settings on the 2565 rows (600,000 epochs; Adam 60,000 epochs at "
               "0.0005 and 0.001), seeds 0-2 (0-4 for Adam)", "600,000 epochs at the slides' "
               "lrs: AdaGrad / depth-3 GD 0.57-0.59, AdaDelta / depth-3 GD 1.14-1.19; Adam at "
               "0.0005: depth 1 / depth 2 1.68, depth 1 / depth 3 1.70; at 0.001: 1.43, 1.29",
               kept=True),
         tried("Adam at the slides' setting in float32 steps", "up to 42% off float64 at epoch "
               "60,000 on the deep nets at lr 0.001 (1-2% by epoch 5000): Adam runs in float64"),
     ]},
    discrepancy("slides003-adadelta-lr", "Slides 003 run Keras' Adadelta at lr = 0.0005",
                f"{S003}, Experiment 3 code (model building)", "AdaDelta_lr = 0.0005",
                "an lr tuned like the other methods' (Zeiler's AdaDelta has no lr, i.e. 1; "
                "Keras 2's default is 1.0); the tuned AdaDelta beats depth-3 GD",
                ["Zeiler, arXiv:1212.5701 (2012)", "Keras 2 optimizers.Adadelta (lr=1.0)"],
                "At the slides' lr the AdaDelta run has hardly left its start after 500 "
                "iterations and ends hundreds of times farther from the optimum than depth-3 "
                "GD: the slides' comparison is decided by the lr.",
                "The shared AdaDelta with Keras' constants follows Keras 2's Adadelta update "
                "(written out) to 1e-12, and tuned on a grid it ends below depth-3 GD.",
                judges=("slides-adadelta-lr", "slides003-exp3-lr-search-one-value")),
    {"id": "slides003-exp4-product-accelerates", "title": "Slides 003, Experiment 4: replacing "
     "each dense matrix by a product of two accelerates a non-linear net",
     "statement": "Replacing the dense matrices of a ReLU network by products of two matrices "
                  "(the expressiveness unchanged) lowers the training loss reached in a fixed "
                  "budget.",
     "sources": [f"{S003}, Experiment 4 and Conclusion (non-linear networks)",
                 "Arora, Cohen, Hazan, ICML 2018, Section 8"],
     "parts": [
         part("product-lower-loss", "effect", "A 64-128-10 ReLU MLP on digits, 5 epochs of "
              "minibatch Adam (SGD recorded), each net at its best lr: the product net's final "
              "training cross-entropy is below the plain net's.",
              f"{S003}, Conclusion (replacing an internal weight matrix by a product of two "
              "accelerates optimization) and Experiment 4", judges=("product-of-two-accelerates",),
              readings=(
                  reading("the slides' setting: the TensorFlow tutorial's MNIST convnet with the "
                          "slides' product factors and protocol, the first 2000 of the 10,000 "
                          "MNIST images present, 200 steps, each net at its best lr of a shared "
                          "grid", "plain / product 2.9, 1.14, 0.54 (seeds 0-2): the direction's "
                          "interval straddles 1", "inconclusive", "document",
                          "convnet-grid-brackets, slow tier"),
                  reading("the same, both nets at the tutorial's own lr 0.01 (the slides' "
                          "protocol: neither net tuned)", "plain / product 0.82, 1.61, 1.17 "
                          "(seeds 0-2)", "inconclusive", "document",
                          "convnet-grid-brackets, slow tier"),
                  reading("64-128-10 ReLU MLP on 8x8 digits, 5 epochs of Adam, each net at its "
                          "best lr", "plain / product 0.30-0.66 (gmean over windows of 6 of "
                          "seeds 0-26 and 10000-10026; per seed 0.24-1.19, above 1 on 3 of 54)",
                          "does not hold", "ours", "default tier (6 seeds), slow tier (8)"),
              )),
         part("convnet-grid-brackets", "precondition", "The slides' convnet comparison is a "
              "fair one (slow tier, where its numbers are recorded as the sentence's reading at "
              "the slides' setting): both nets train (best training cross-entropy below 0.1 "
              "from ln 10) and the shared lr grid brackets each net's best lr on every seed.",
              "our protocol (each net tuned the same way)"),
         part("small-lr-artefact", "control", "At Adam's two smallest lrs (1e-4, 10^-3.5), "
              "where neither net has converged, the product net does end lower: the comparison "
              "shows an acceleration where one exists at a fixed lr.",
              "our control (the narrow grid of an earlier measurement)"),
         part("grids-bracket", "precondition", "Each digits net's best lr lies inside its "
              "grid on most seeds.", "our protocol"),
         part("exp4-kernels", "precondition", "The pieces the runs rely on compute what they "
              "stand for: the truncated-normal sampler cuts at 2 std with the cut normal's "
              "std, the product nets' forward passes equal the plain ones with the folded "
              "matrix, the tutorial's regularizer is its sum of l2_loss terms.",
              "our protocol (hand-written sampler and forward passes)"),
     ],
     "configurations_tried": [
         tried("SGD lrs 10^-2.5 .. 10^0", "plain net best at the grid's top on seed 0: the "
               "grid was extended to 10^0.5"),
         tried("Adam lrs 10^-4, 10^-3.5 only (narrow grid)", "the product net ends lower: "
               "an apparent acceleration, an artefact of the grid"),
         tried("control bound plain / product >= 1.1 at the narrow grid (set on seeds 0-9, "
               "min 1.17)", "failed at base seeds 13 (1.04) and 18 (1.07) of 0-19, 100; over "
               "seeds 0-29, 100-103 the ratio is above 1 on every seed: bound > 1"),
         tried("Adam lrs up to 10^-1.5, seeds 0-9 and 100-105", "plain net best at the grid's "
               "top on seed 100: the grid was extended to 10^-1"),
         tried("SGD at the best lr, seeds 0-9 and 100-105", "plain / product 0.12-0.88 on 14 "
               "seeds, 1.02 and 1.69 on seeds 101 and 103: SGD's ratio is recorded, not "
               "checked", kept=True),
         tried("the slides' convnet, 2000 MNIST images, 200 steps, lr grid 10^-2.5 .. 10^-1.5, "
               "seeds 0-1", "both nets best at the grid's top on both seeds: extended by 10^-1 "
               "(the product net diverges, the plain net is worse) and 10^-1.25 (the product "
               "net diverges; the plain net's best on seed 1)"),
         tried("the slides' convnet at the tutorial's lr 0.01 only (the slides' protocol)",
               "plain / product 0.82 (seed 0) and 1.61 (seed 1): either way, a reading, not "
               "the judgement"),
         tried("the slides' convnet, lr grid 10^-2.5 .. 10^-1 (quarter decade at the top), "
               "seeds 0-2", "each net at its best lr: plain / product 2.9, 1.14, 0.54 (the "
               "product net's seed-2 run at 10^-1.5 ends at 0.052 against 0.012-0.017 on seeds "
               "0-1): the interval straddles 1 and each further seed costs ~7 min here, so the "
               "convnet comparison is a recorded reading", kept=True),
     ]},
    discrepancy("slides003-exp1-code", "Slides 003's Experiment 1 code tests conditions with "
                "a single '='", f"{S003}, 'Experiment 1 Code' (train and emulate)",
                "if N=3: ... if i%1000=0:",
                "if N == 3: ... if i % 1000 == 0: (as Experiment 2's train function writes it)",
                [f"{S003}, Experiment 2 code", "the Python grammar (ast.parse)"],
                "Python refuses both conditions as written (SyntaxError from ast.parse).",
                "With '==' both parse, as does an assignment statement N = 3: the grammar check "
                "accepts valid code.", judges=("slides003-exp1-code-does-not-parse",)),
    discrepancy("slides003-exp4-dropout-line", "Slides 003's Experiment 4 code applies dropout "
                "with a garbled line", f"{S003}, Experiment 4 code (the dropout line)",
                "hidden \u2013 tf.nn.dropout(bidden, 0.5, seed-SEED)",
                "hidden = tf.nn.dropout(hidden, 0.5, seed=SEED)",
                [f"{S003}, Experiment 4 code", "the Python grammar (ast.parse)"],
                "As printed (an en dash) the line does not parse; with an ASCII minus it parses "
                "but as an expression statement: nothing is assigned, so dropout would never "
                "reach the network.",
                "The corrected line parses as an assignment to hidden.",
                judges=("slides003-exp4-code-garbled",)),
    {"id": "slides003-exp4-factor-shapes", "title": "Slides 003, Experiment 4: the added square "
     "factors keep every shape and every representable map",
     "statement": "For 28 x 28 inputs the tutorial's hidden matrix is (28 // 4)^2 * 64 = 3136 by "
                  "512; multiplying it by a 512 x 512 factor (and the 512 x 10 output by a "
                  "10 x 10 one) keeps the shapes, and as long as the square factor is invertible "
                  "every matrix of the original shape is still a product.",
     "sources": [f"{S003}, 'Experiment 4 (MNIST Convolutional Network)' and its code",
                 "TensorFlow's convolutional.py MNIST tutorial (IMAGE_SIZE 28, two 2x2 pools, "
                 "64 channels)"],
     "parts": [
         part("square-factor-keeps-the-maps", "effect", "(28 // 4)^2 * 64 = 3136; for a "
              "random 3136 x 512 target T and a truncated-normal 512 x 512 factor F (std 0.1, "
              "as the code draws it), T F^-1 times F gives back T (1e-10, relative), and the "
              "same for 512 x 10 by 10 x 10, on every seed.",
              f"{S003}, Experiment 4 ('two minor changes')",
              judges=("slides003-exp4-replacement-shapes",)),
         part("narrow-factor-caps-rank", "control", "With a 512 x 256 factor instead, the "
              "product 3136 x 512 has rank 256: a full-rank target is out of reach (its best "
              "approximation keeps above 10% of the error): the check sees lost maps.",
              "Eckart & Young (1936)"),
     ]},
]

CLAIMS += [
    discrepancy("slides003-exp4-init-scale", "Slides 003's product convnet also starts from "
                "another scale", f"{S003}, Experiment 4 code (fc1_weights_op, fc2_weights_op)",
                "two minor changes: W -> W W_op, W_op ~ truncated normal, stddev = 0.1",
                "a factor that keeps the net's initial map (W_op = I at the start), so that the "
                "comparison changes only the parameterization",
                ["Arora, Cohen, Hazan, ICML 2018, Section 8", "tf.truncated_normal (cut at 2 "
                 "std)"],
                "Drawn as the slides' code draws them, the factors multiply the std of the "
                "dense layer's initial pre-activation by 0.088 sqrt(512) = 1.99 (the truncated "
                "normal's std times the square root of the factor's fan-in; measured within "
                "10% on MNIST images) and change the logits' too: the product net starts from "
                "a different initialization, a second difference beside the parameterization.",
                "With identity factors the product net's pre-activations and logits equal the "
                "plain net's (ratio 1 to 1e-6): the measurement sees no change where there is "
                "none.", judges=("slides003-exp4-init-scale",)),
    {"id": "slides003-depth-price", "title": "Slides 003: depth's acceleration comes at a minimal "
     "computational price",
     "statement": "Adding two scalar layers to a 128-feature linear model (the slides' depth-3 "
                  "chain) adds 2 parameters and 3/128 of a gradient step's flops; a width-64 "
                  "hidden layer would multiply them by ~65.",
     "sources": [f"{S003}, 'Conclusion and Future Work' (linear networks: depth rather than "
                 "width, at a minimal computational price)"],
     "parts": [
         part("chain-costs-little", "effect", "On the slides' 2565 x 128 problem one l2 loss "
              "and gradient evaluation of the depth-3 width-1 chain costs 4nd + 12n flops "
              "(torch's flop counter), 1 + 3/d = 1.023 times the linear model's 4nd, with 2 "
              "parameters more than 128.", f"{S003}, Conclusion",
              judges=("slides003-depth-not-width-cheap",)),
         part("width-is-not-cheap", "control", "A depth-2 chain of width 64 costs more than "
              "10 times the linear model's flops: the count sees a price where there is one.",
              "our control"),
         part("flop-counter-counts", "precondition", "The flop counter gives 2mnk for an "
              "(m x k) @ (k x n) product.", "torch.utils.flop_counter"),
     ]},
    {"id": "slides003-depth-effect-mixed", "title": "Slides 003, Experiment 4: depth's effect on "
     "a non-linear net is mixed",
     "statement": "For a non-linear network, replacing each dense matrix by a product of two "
                  "accelerates training in some settings and not in others.",
     "sources": [f"{S003}, Experiment 4 'Result' (first bullet)"],
     "parts": [
         part("accelerated-at-small-lrs", "effect", "On the digits MLP, restricted to Adam's two "
              "smallest lrs (1e-4, 10^-3.5), the product net ends with the lower training loss "
              "(median over seeds of plain / product; the check of "
              "slides003-exp4-product-accelerates/small-lr-artefact on the same runs).",
              f"{S003}, Experiment 4 'Result'", judges=("slides003-nonlinear-effect-mixed",)),
         part("not-accelerated-at-best-lrs", "control", "Each net at its best lr on the same "
              "grid, the plain net ends lower (geometric mean of plain / product below 1, its "
              "interval too): the acceleration is not uniform, the other half of 'mixed'.",
              f"{S003}, Experiment 4 'Result'", judges=("slides003-nonlinear-effect-mixed",)),
     ]},
]

E1 = s3.CONFIG["experiment1"]
E3 = s3.CONFIG["experiment3"]
SLIDES = s3.SLIDES
N_EXP1, N_EXP3, N_EXP4 = 3, 20, 6
# Earlier measurements at the slides' settings (slow tier, this commit's code), the references
# of the slow checks. Wall times on the 2-core machine shared with other jobs (~30% of a core).
# Held-out seeds 10000-10002 (10000-10004 for Adam) gave 0.0023, 0.0062 (rule), 0.0042, 0.0073
# (widths) and Adam 1.71, 1.73 (every seed 1.63-1.78).
EXP1_RULE_GAP, EXP1_RULE_FINAL = 0.0019, 0.0055          # seeds 0-2, max over widths
EXP1_WIDTH_GAP, EXP1_WIDTH_FINAL = 0.0057, 0.0097        # seeds 0-2, max over widths 8, 64
ADAM_SIZES = {(0, 1): 1.68, (0, 2): 1.70}                # lr 0.0005, depth 1 / depth 2, 3
PARITY = 1.9e-7                                          # part-1 configurations, epoch 5000


@pytest.fixture(scope="module")
def seeds1(seed):
    return seed_range(seed, N_EXP1)


@pytest.fixture(scope="module")
def exp1(seeds1):
    return s3.experiment1(seeds1, dict(E1, losses=(4,)))


@pytest.fixture(scope="module")
def csv(data_dir):
    """The slides' data: all 2565 ethanol rows, z-scored (``linear_nets.load_problem``)."""
    return ln.load_problem(data_dir, "csv")


# --- Experiment 1 ---------------------------------------------------------------------------------
def exp1_note(evidence, losses):
    evidence.note(f"Synthetic l{'/l'.join(map(str, losses))} regression (n = "
                  f"{s3.CONFIG['data']['n']}, d = {s3.CONFIG['data']['d']}, singular values over "
                  f"{s3.CONFIG['data']['decades']} decades, z-scored); depth-2 nets of widths "
                  f"{list(E1['widths'])}, every weight N(0, {E1['init_std']}^2), full-batch GD at "
                  f"lr {E1['lr']} for {E1['steps']} steps; the rule (emulate, N = 2) and plain GD "
                  f"restarted at the step t0 where the net's loss has halved, compared for "
                  f"{E1['track']} steps; gap = max over steps of |rule - net| / net.")


@pytest.mark.part("restart-tracks")
def test_rule_restarted_after_the_plateau_tracks_depth_2_training(exp1, seeds1, evidence):
    evidence.seeds(seeds1)
    exp1_note(evidence, (4,))
    r = exp1["l4"]
    evidence.check("l4: latest step at which a net's loss has halved (the restart needs "
                   f"{E1['track']} steps after it)", float(np.max(r["half"])), "<=",
                   E1["steps"] - E1["track"])
    evidence.record("l4: restart gap per seed and width", r["restart"])
    evidence.check_seeds("l4: restarted rule's loss gap (max over widths)", r["restart"].max(1),
                         "median", "<=", 0.06, seeds=seeds1,
                         reference=measured(0.024, "median, seeds 0-29 (max 0.035)"))
    # Another reading of the same sentence, ours: the rule run from step 0 of the slides'
    # unbalanced start, judged at every step of this short horizon (escape included).
    evidence.record("l4: relative imbalance ||W_2^T W_2 - W_1 W_1^T|| / ||W_1 W_1^T|| at init",
                    r["imbalance"])
    evidence.record("l4: the rule from the slides' init, started at step 0: max relative loss "
                    "gap per seed (max over widths)", r["from_init"].max(1))
    evidence.reading("synthetic l4, lr 0.02, the rule from step 0 of the slides' N(0, 0.01^2) "
                     "start, max relative loss gap over the first t0 + 600 steps",
                     f"median {np.median(r['from_init'].max(1)):.2f} of the net's loss",
                     "does not hold" if np.median(r["from_init"].max(1)) > 0.06 else "holds",
                     "ours")


@pytest.mark.part("plain-gd-does-not")
def test_plain_gd_restarted_at_the_same_point_does_not_track(exp1, seeds1, evidence):
    evidence.seeds(seeds1)
    r = exp1["l4"]
    evidence.check_seeds("l4: restarted plain GD's loss gap (min over widths)",
                         r["restart_gd"].min(1), "median", ">=", 0.2, seeds=seeds1,
                         reference=measured(0.69, "median, seeds 0-29 (min 0.43)"))


def max_rel(a, b) -> float:
    """max |a - b| / max |b| over all entries."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


@pytest.mark.part("exp1-kernels")
def test_experiment_1_kernels_match_autograd_and_the_printed_emulate(seed, evidence):
    """On the synthetic problem of the seed: lp_fns' gradient and wide_factor_grads against
    autograd; the batched emulate against the slides' emulate as printed; the Gram-form l2 loss
    against the loss over the rows; the time-shift metric on a curve shifted by a known number
    of steps."""
    Xs, ys, problems = s3.stacked_problems([seed, seed + 1])
    rng = np.random.default_rng(seed)
    same = theory(0.0, "the same derivative, computed two ways")
    for p in (2, 4):
        loss_of, grad_of = s3.lp_fns(Xs, ys, p)
        w = torch.tensor(rng.normal(0.0, 0.3, (2, Xs.shape[2], 3)), requires_grad=True)
        loss_of(w).sum().backward()
        evidence.check(f"lp_fns, l{p}: gradient vs autograd, max relative error",
                       max_rel(grad_of(w.detach()), w.grad), "<", 1e-10, same)
    _, grad4 = s3.lp_fns(Xs, ys, 4)
    Ws = [torch.tensor(rng.normal(0.0, 0.3, s), requires_grad=True)
          for s in ((2, 8, Xs.shape[2]), (2, 1, 8))]
    w = Ws[1] @ Ws[0]                                                   # (2, 1, d)
    s3.lp_fns(Xs, ys, 4)[0](w.transpose(1, 2)).sum().backward()
    hand = ln.wide_factor_grads([W.detach() for W in Ws],
                                grad4(w.detach().transpose(1, 2)).transpose(1, 2))
    evidence.check("wide_factor_grads, l4, depth 2, width 8 vs autograd: max relative error",
                   max(max_rel(h, W.grad) for h, W in zip(hand, Ws)), "<", 1e-10, same)
    w0 = rng.normal(0.0, 0.1, Xs.shape[2])
    printed = s3.emulate_slides_naive(Xs[0], ys[0], 4, w0, 2, E1["lr"], 50)
    batched = s3.emulate(Xs[:1], ys[:1], 4, w0[None], 2, E1["lr"], 50)[0, :50]
    evidence.check("emulate (batched, linear_nets.e2e_step_single) vs the slides' emulate as "
                   "printed, 50 steps at lr 0.02: max relative loss difference",
                   max_rel(batched, printed), "<", 1e-10, theory(0.0, "the same rule"))
    q = problems[0]
    W = rng.normal(0.0, 0.3, (4, Xs.shape[2]))
    evidence.check("l2 loss from X^T X / m (gram_l2) vs over the rows: max relative error",
                   max_rel(s3.gram_l2(q)(torch.tensor(W)).numpy(), ln.loss_np(q, W.T, 2)), "<",
                   1e-12, theory(0.0, "the same quadratic"))
    steps = np.arange(0, 10_001, 10)
    curve = 1.0 / (1.0 + steps / 100.0)
    delayed = 1.0 / (1.0 + np.maximum(steps - 250, 0) / 100.0)
    span = float(np.log10(curve[0] / curve[-1]))
    evidence.check("time_shift of a curve delayed by 250 steps (resolution 10)",
                   s3.time_shift(steps, delayed, curve, 1000, 5_000), "in", (240, 260),
                   theory(250, "the delay"))
    evidence.check("figure_gap of a curve delayed by 2.5% of the horizon",
                   figure_gap(steps, delayed, curve, span), "in", (0.024, 0.026),
                   theory(0.025, "the delay as a fraction of the horizon"))
    flat = np.ones_like(curve)
    evidence.check("figure_gap of two flat curves 2% of the figure's span apart",
                   figure_gap(steps, flat * 10 ** (0.02 * span), flat, span), "in",
                   (0.0199, 0.0201), theory(0.02, "the vertical offset"))


@pytest.fixture(scope="module")
def exp1_slides(csv, seed, experiment_cache):
    """Experiment 1 at the slides' own setting (slow: 4.4 min of wall time on 3 seeds, on this
    2-core machine shared with other jobs)."""
    return experiment_cache(s3.experiment1_slides, csv, seed_range(seed, 3))


def exp1_slides_note(evidence, r):
    c = SLIDES["experiment1"]
    evidence.note(f"Experiment 1 as the slides' code runs it: the 2565 ethanol rows (z-scored), "
                  f"l{c['p']} (the code's default p = 2), depth-2 nets of widths {r['widths']}, "
                  f"every weight N(0, {c['init_std']}^2), full-batch GD at lr {c['lr']} for "
                  f"{c['iterations']} iterations; the rule (emulate, N = 2) from each net's "
                  f"end-to-end start; curves kept every {c['record_every']} iterations; L* (least "
                  f"squares) = {r['lstar']:.6g}. The sentence is read off the slides' figure (the "
                  "loss on a log axis against the iteration, 200,000 iterations): two curves are "
                  "the same curve there when every point of each lies within 1% of the axes of "
                  "the other (figure_gap; 1% of an axis is about a line's width, our tolerance), "
                  "and their final losses - L* agree within 5%.")


def figure_gap(steps: np.ndarray, a: np.ndarray, b: np.ndarray, span: float) -> float:
    """How far apart two loss curves lie on the slides' figure (x: iteration / horizon, y: log10
    loss / ``span``, the decades the figure spans): for each point of either curve the smaller
    of its horizontal distance to the other (the iterations the other needs to reach its loss,
    from the other's running minimum) and its vertical one (the log-loss gap at the same
    iteration), the largest over points. An upper bound of the curves' distance on the figure."""
    def one_way(a, b):
        reached = np.minimum.accumulate(b)                     # non-increasing
        k = np.searchsorted(-reached, -a, side="left")         # first index where b <= a's loss
        when = np.where(k < len(steps), steps[np.minimum(k, len(steps) - 1)], np.inf)
        horizontal = np.abs(when - steps) / steps[-1]
        vertical = np.abs(np.log10(a) - np.log10(b)) / span
        return float(np.max(np.minimum(horizontal, vertical)))
    return max(one_way(a, b), one_way(b, a))


def figure_span(r) -> float:
    """The decades of loss the slides' figure spans (every curve of the run)."""
    both = np.concatenate([r["real"].ravel(), r["rule"].ravel()])
    return float(np.log10(both.max()) - np.log10(both.min()))


@pytest.mark.slow
@pytest.mark.part("from-slides-init")
def test_rule_from_the_slides_init_draws_the_nets_curve_at_the_slides_setting(exp1_slides, seed,
                                                                            evidence):
    """Experiment 1's own setting: the rule from each net's end-to-end start against the net,
    on the slides' figure and at the end; every-iteration gaps recorded as our reading."""
    r = exp1_slides
    seeds = seed_range(seed, len(r["real"]))
    evidence.seeds(seeds)
    exp1_slides_note(evidence, r)
    span = figure_span(r)
    gap = np.array([[figure_gap(r["steps"], r["rule"][s, h], r["real"][s, h], span)
                     for h in range(len(r["widths"]))] for s in range(len(seeds))])
    final = (r["rule"][..., -1] - r["lstar"]) / (r["real"][..., -1] - r["lstar"])
    evidence.record("rule vs net: distance on the slides' figure (fraction of the axes), per "
                    "seed and width", gap)
    evidence.record("final (L - L*): rule / net, per seed and width", final)
    evidence.check("rule vs net: largest distance on the slides' figure (max over seeds and "
                   "widths)", float(gap.max()), "<=", 0.01,
                   reference=measured(EXP1_RULE_GAP, "seeds 0-2"))
    evidence.check("rule vs net: largest |final (L - L*) ratio - 1| (max over seeds and widths)",
                   float(np.abs(final - 1).max()), "<=", 0.05,
                   reference=measured(EXP1_RULE_FINAL, "seeds 0-2"))
    every = (np.abs(r["rule"] - r["real"]) / r["real"]).max(-1)
    evidence.record("rule vs net: max relative loss gap over every recorded iteration, per seed "
                    "and width (the escape from the near-zero start included)", every)
    evidence.reading("the same runs compared at every iteration: max relative loss gap",
                     f"{every.min():.2f}-{every.max():.2f}",
                     "does not hold" if every.max() > 0.06 else "holds", "ours")


@pytest.mark.slow
@pytest.mark.part("width-unrelated-from-slides-init")
def test_width_does_not_change_the_loss_curve_at_the_slides_setting(exp1_slides, seed, evidence):
    """Experiment 1's own setting: widths 8 and 64 against width 1 on the slides' figure and at
    the end; the escape from the near-zero start (steps to halve the loss) and the iterations to
    reach width 1's printed losses are recorded as our readings."""
    r = exp1_slides
    seeds = seed_range(seed, len(r["real"]))
    evidence.seeds(seeds)
    exp1_slides_note(evidence, r)
    span, T = figure_span(r), SLIDES["experiment1"]["iterations"]
    gap = np.array([[figure_gap(r["steps"], r["real"][s, h], r["real"][s, 0], span)
                     for h in range(1, len(r["widths"]))] for s in range(len(seeds))])
    sub = r["real"][..., -1] - r["lstar"]
    final = sub[:, 1:] / sub[:, :1]
    evidence.record(f"widths {r['widths'][1:]} vs width 1: distance on the slides' figure "
                    "(fraction of the axes), per seed", gap)
    evidence.record(f"widths {r['widths'][1:]} vs width 1: final (L - L*) ratio per seed", final)
    evidence.check("widths 8, 64 vs width 1: largest distance on the slides' figure (max over "
                   "seeds)", float(gap.max()), "<=", 0.01,
                   reference=measured(EXP1_WIDTH_GAP, "seeds 0-2"))
    evidence.check("widths 8, 64 vs width 1: largest |final (L - L*) ratio - 1| (max over "
                   "seeds)", float(np.abs(final - 1).max()), "<=", 0.05,
                   reference=measured(EXP1_WIDTH_FINAL, "seeds 0-2"))
    shift = np.array([[s3.time_shift(r["steps"], r["real"][s, h], r["real"][s, 0],
                                     SLIDES["experiment1"]["print_every"], T // 2)
                       for h in range(1, len(r["widths"]))] for s in range(len(seeds))])
    evidence.record("widths 8, 64: iterations by which they reach width 1's printed losses "
                    "sooner or later, largest up to half the horizon, per seed", shift)
    half = np.array([[r["steps"][np.argmax(c <= c[0] / 2)] for c in row] for row in r["real"]])
    evidence.record(f"steps to halve the loss per seed, widths {r['widths']}", half)
    evidence.reading("the same runs, steps to halve the loss (the escape from the near-zero "
                     "start, relative to its own length)",
                     f"width 1 / width 64: {np.median(half[:, 0] / half[:, -1]):.2f} (median over "
                     f"seeds), at {half.min()}-{half.max()} of {T} iterations", "does not hold",
                     "ours")
    evidence.figure("experiment1-slides-setting", s3.plot_experiment1_slides(r),
                    "Experiment 1 at the slides' setting: loss - L* vs iteration per width "
                    f"(solid) and the rule from each net's start (dashed), seed {seed}.")


@pytest.mark.part("width-unrelated-balanced")
def test_width_does_not_change_the_speed_from_balanced_factors(exp1, seeds1, evidence):
    evidence.seeds(seeds1)
    h = exp1["l4"]["half_balanced"]
    evidence.check_seeds("l4, balanced start: slowest / fastest width, steps to halve the loss",
                         h.max(1) / h.min(1), "median", "<=", 1.05, seeds=seeds1,
                         reference=theory(1.0, "the rule has no width"))
    # Our reading of the sentence at the slides' init on this short horizon: the escape.
    h0 = exp1["l4"]["half"]
    evidence.record("l4, the slides' N(0, 0.01^2) start: steps to halve the loss per seed, widths "
                    + str(E1["widths"]), h0)
    evidence.reading("synthetic l4, lr 0.02, the slides' N(0, 0.01^2) start: slowest / fastest "
                     "width, steps to halve the loss",
                     f"median {np.median(h0.max(1) / h0.min(1)):.2f}",
                     "does not hold", "ours")


@pytest.mark.slow
@pytest.mark.part("restart-tracks")
def test_rule_restart_tracks_and_plain_gd_does_not_on_l2_and_l4_more_seeds(seed, evidence):
    seeds = seed_range(seed, 12)
    evidence.seeds(seeds)
    exp1_note(evidence, E1["losses"])
    r = s3.experiment1(seeds)
    for loss, gd_bound in (("l2", 0.1), ("l4", 0.2)):
        evidence.check_seeds(f"{loss}: restarted rule's loss gap (max over widths)",
                             r[loss]["restart"].max(1), "median", "<=", 0.06, seeds=seeds)
        evidence.check_seeds(f"{loss}: restarted plain GD's loss gap (min over widths)",
                             r[loss]["restart_gd"].min(1), "median", ">=", gd_bound, seeds=seeds)


# --- Experiment 3 ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def seeds3(seed):
    return seed_range(seed, N_EXP3)


@pytest.fixture(scope="module")
def exp3(seeds3):
    r = s3.experiment3(seeds3)
    sub = {m: s3.best(r[m])["loss"] - r["lstar"] for m in s3.METHODS}
    return r, sub


@pytest.fixture(scope="module")
def exp3_l2(seeds3):
    return s3.experiment3_l2(seeds3)


def exp3_note(evidence):
    evidence.note(f"Experiment 3 protocol: the synthetic regression with the l4 loss (1/4) mean "
                  f"r^4, width-1 chains (128 x 1 in the slides; {s3.CONFIG['data']['d']} x 1 "
                  f"here), every weight N(0, {E3['init_std']}^2), {E3['steps']} full-batch "
                  "iterations, Keras' constants (Adadelta rho 0.95, eps 1e-7; Adagrad and Adam "
                  "eps 1e-7); each method's lr the best of its grid by final loss; "
                  "suboptimality = L - L* (L* by damped Newton).")


@pytest.mark.part("gd3-beats-adagrad")
def test_depth_3_gd_ends_below_adagrad(exp3, seeds3, evidence):
    _, sub = exp3
    evidence.seeds(seeds3)
    exp3_note(evidence)
    evidence.check_seeds("AdaGrad (depth 1) / depth-3 GD suboptimality", sub["adagrad1"] /
                         sub["gd3"], "median", ">=", 1.2, seeds=seeds3,
                         reference=measured(2.2, "median, seeds 0-39"))


@pytest.mark.part("gd3-beats-gd1")
def test_depth_3_gd_ends_below_depth_1_gd_on_l4(exp3, seeds3, evidence):
    _, sub = exp3
    evidence.seeds(seeds3)
    evidence.check_seeds("l4: depth-1 / depth-3 GD suboptimality", sub["gd1"] / sub["gd3"],
                         "median", ">=", 1.2, seeds=seeds3,
                         reference=measured(2.2, "median, seeds 0-39"))


@pytest.mark.part("l2-no-gain")
def test_depth_3_gd_gains_nothing_on_l2(exp3_l2, seeds3, evidence):
    r = exp3_l2
    evidence.seeds(seeds3)
    evidence.note(f"l2 control: the same problems and init, depth-1 and depth-3 GD over the lr "
                  f"grids {dict(E3['l2_grids'])} (exponents of 10).")
    sub = {m: s3.best(r[m])["loss"] - r["lstar"] for m in ("gd1", "gd3")}
    evidence.check_seeds("l2: depth-1 / depth-3 GD suboptimality", sub["gd1"] / sub["gd3"],
                         "median", "<=", 0.8, seeds=seeds3,
                         reference=measured(0.20, "median, seeds 0-39"))
    slides = s3.experiment2_slides_lrs(seeds3)
    sub_slides = slides["final"] - slides["lstar"][:, None]
    evidence.record("l2 at the slides' lrs 0.05/0.05/0.5: suboptimality per seed, depth 1/2/3",
                    sub_slides)
    evidence.check_seeds("l2 at the slides' unequal lrs: depth-1 / depth-3 GD suboptimality "
                         "(the slides' lr choice does not change the l2 outcome)",
                         sub_slides[:, 0] / sub_slides[:, 2], "median", "<=", 0.8, seeds=seeds3,
                         reference=measured(0.03, "median, seeds 0-19"))
    interior = np.concatenate([s3.best(r[m])["interior"] for m in ("gd1", "gd3")])
    evidence.check("l2: fraction of (method, seed) whose best lr is inside its grid",
                   float(interior.mean()), ">=", 0.9)


@pytest.mark.part("lr-grids-bracket")
def test_every_methods_best_lr_is_inside_its_grid(exp3, seeds3, evidence):
    r, _ = exp3
    evidence.seeds(seeds3)
    for m in s3.METHODS:
        b = s3.best(r[m])
        evidence.record(f"{m}: best lr exponent per seed", b["lr"])
        evidence.check(f"{m}: fraction of seeds whose best lr is inside the grid "
                       f"{list(E3['grids'][m])}", float(b["interior"].mean()), ">=", 0.9)


@pytest.mark.part("exp3-kernels")
def test_experiment_3_kernels_match_autograd_and_keras(seed, evidence):
    """On the synthetic problem of the seed: linear_nets.factor_grads (depths 1-3 side by side, the
    frozen factors masked) and lp_fns' l4 gradient against autograd; the shared AdaDelta and
    Adam with Keras' constants against Keras 2's updates written out (s3.keras2_*_step) on the
    test quadratic of document_rules, at gradients of order 1 and 1e-3."""
    Xs, ys, _ = s3.stacked_problems([seed])
    X, y, d = Xs[0], ys[0][:, None], Xs.shape[2]
    rng = np.random.default_rng(seed)
    P = torch.tensor(rng.normal(0.0, 0.3, (d + 2, 3)))
    trainable = torch.tensor([[0.0, 1.0, 1.0], [0.0, 0.0, 1.0]])          # depths 1, 2, 3
    P[d:][trainable == 0] = 1.0
    _, grad_of = s3.lp_fns(Xs, ys, 4)
    grads, _ = ln.factor_grads(P, lambda w: grad_of(w[None])[0], d, trainable)
    Pa = P.clone().requires_grad_()
    w = Pa[:d] * Pa[d:].prod(0, keepdim=True)
    ((X @ w - y) ** 4).mean(0).div(4).sum().backward()
    want = torch.cat([Pa.grad[:d], Pa.grad[d:] * trainable])
    evidence.check("factor_grads with lp_fns' l4 gradient, depths 1-3, vs autograd: max "
                   "relative error", max_rel(grads, want), "<", 1e-10,
                   theory(0.0, "the same derivative, computed two ways"))
    for scale in (1.0, 1e-3):
        for lr in (1.0, 5e-4):
            ours = rr.trajectory(rr.reference(s3.keras_optimizer("adadelta", lr)), scale=scale)
            ref = rr.trajectory(s3.keras2_adadelta_step(lr), scale=scale)
            evidence.check(f"AdaDelta with Keras' constants vs Keras 2's update written out, lr "
                           f"{lr}, gradient scale {scale}: trajectory gap",
                           rr.relative_gap(ours, ref), "<", 1e-12, theory(0.0, "the same rule"))
        for lr in (5e-4, 1e-3):
            ours = rr.trajectory(rr.reference(s3.keras_optimizer("adam", lr)), scale=scale)
            ref = rr.trajectory(s3.keras2_adam_step(lr), scale=scale)
            # Keras adds eps to sqrt(v), torch to sqrt(v / (1 - b2^t)): the first step differs
            # by eps / (sqrt(1 - b2) |g|) relatively, and less as t grows.
            first_step = s3.KERAS["eps"] / (math.sqrt(1 - 0.999) * scale)
            evidence.check(f"Adam with Keras' constants vs Keras 2's Adam written out, lr {lr}, "
                           f"gradient scale {scale}: trajectory gap (eps placement)",
                           rr.relative_gap(ours, ref), "<", first_step,
                           theory(first_step, "eps / (sqrt(1 - b2) |g|) at the first step"))


@pytest.fixture(scope="module")
def exp3_slides(csv, seed, experiment_cache):
    """Experiment 3, part 1 at the slides' settings (slow: 27 min of wall time for 3 seeds x 3
    methods x 600,000 epochs on the busy 2-core machine)."""
    return experiment_cache(s3.experiment3_slides_part1, csv, seed_range(seed, 3))


@pytest.fixture(scope="module")
def adam_slides(csv, seed, experiment_cache):
    """Experiment 3, part 2 at the slides' setting and the paper's lr, float64 steps: float32
    parts from float64 by 1-2% on the deep nets at lr 0.001 by epoch 5000 and by up to 42% at
    60,000, where depth 3's loss spikes now and then (slow: 7.8 min of wall time for 5 seeds x
    3 depths x 2 lrs x 60,000 epochs on the busy 2-core machine)."""
    return experiment_cache(s3.experiment3_slides_adam, csv, seed_range(seed, 5),
                            dtype=torch.float64)


def slides_subopt(grid):
    """(S, D, L) final loss - L* of a grid run at the slides' settings."""
    return grid.final - grid.lstar


def slides_settings_note(evidence, g):
    E = SLIDES["experiment3"]
    evidence.note(f"The slides' settings: 2565 ethanol rows (z-scored), l4, width-1 chains, every "
                  f"weight N(0, 0.01^2), Keras' constants, {E['part1_epochs']} full-batch epochs; "
                  f"(depth, optimizer, lr) = {dict(E['part1'])}; float32 steps, float64 losses "
                  f"(parity checked by exp3-kernels). L* = {g['gd3'].lstar:.6g}.")


def slides_ratio(g, method):
    """Per seed: ``method``'s final suboptimality over depth-3 GD's, at the slides' settings."""
    return slides_subopt(g[method])[:, 0, 0] / slides_subopt(g["gd3"])[:, 0, 0]


@pytest.mark.slow
@pytest.mark.part("slides-settings-adagrad")
@known_non_reproduction("at the slides' own lrs and horizon (depth-3 GD at 1e-4, AdaGrad at "
                        "0.01, 600,000 epochs) AdaGrad ends closer to L*: 0.57-0.59 of depth-3 "
                        "GD's suboptimality; at lr 1e-4 depth 3 leaves its near-zero start only "
                        "after 1-2 x 10^5 epochs (tuned for shorter horizons, depth-3 GD is ahead)")
def test_depth_3_gd_ends_below_adagrad_at_the_slides_settings(exp3_slides, evidence):
    """600,000 full-batch epochs at the slides' lrs on the 2565 rows: depth-3 GD against AdaGrad
    on the linear model, the direction with its interval; the curves in a figure."""
    g = exp3_slides
    seeds = g["gd3"].seeds
    evidence.seeds(seeds)
    slides_settings_note(evidence, g)
    evidence.record("L - L* per seed at the end: depth-3 GD, AdaGrad, AdaDelta",
                    np.stack([slides_subopt(g[m])[:, 0, 0] for m in ("gd3", "adagrad1",
                                                                       "adadelta1")], 1))
    for t in (10**5, 2 * 10**5, 4 * 10**5):
        k = int(np.searchsorted(g["gd3"].steps, t))
        evidence.record(f"AdaGrad / depth-3 GD suboptimality at epoch {t}, per seed",
                        g["adagrad1"].subopt[:, 0, 0, k] / g["gd3"].subopt[:, 0, 0, k])
    # Pinned from seeds 0-2 only (the three runs of 600,000 epochs cost ~27 min on this busy
    # machine): 0.569-0.594 per seed, gmean 0.583; the pin leaves ~15% on either side.
    evidence.check_seeds(f"AdaGrad (lr 0.01) / depth-3 GD (lr 1e-4) suboptimality at epoch "
                         f"{SLIDES['experiment3']['part1_epochs']} (direction)",
                         slides_ratio(g, "adagrad1"), "gmean", ">", 1.0, seeds=seeds,
                         reference=measured(0.58, "gmean, seeds 0-2"), pinned=(0.5, 0.68))
    curves = {name: np.median(grid.subopt[:, 0, 0], 0) for name, grid in g.items()}
    evidence.figure("experiment3-slides-settings", da.plot_optimizers(
        curves, g["gd3"].steps, "Experiment 3, part 1 at the slides' settings (2565 rows)"),
        f"loss - L* vs epoch, median over {len(seeds)} seeds, each method at the slides' lr.")


@pytest.mark.slow
@pytest.mark.part("slides-settings-adadelta")
def test_depth_3_gd_ends_below_adadelta_at_the_slides_settings(exp3_slides, evidence):
    """600,000 full-batch epochs at the slides' lrs: depth-3 GD against AdaDelta at the slides'
    lr 0.0005, the direction with its interval; AdaDelta's own progress recorded (at 500
    iterations it has hardly moved: the discrepancy slides003-adadelta-lr)."""
    g = exp3_slides
    seeds = g["gd3"].seeds
    evidence.seeds(seeds)
    slides_settings_note(evidence, g)
    ratio = slides_ratio(g, "adadelta1")
    evidence.record("AdaDelta / depth-3 GD suboptimality per seed", ratio)
    evidence.check_seeds(f"AdaDelta (lr 0.0005) / depth-3 GD (lr 1e-4) suboptimality at epoch "
                         f"{SLIDES['experiment3']['part1_epochs']} (direction)", ratio, "gmean",
                         ">", 1.0, seeds=seeds, reference=measured(1.17, "gmean, seeds 0-2"))
    a = g["adadelta1"]
    progress = slides_subopt(a)[:, 0, 0] / (a.loss[:, 0, 0, 0] - a.lstar)
    evidence.record("AdaDelta at lr 0.0005: (L - L*) / (L0 - L*) at the end of the 600,000 "
                    "epochs, per seed (far from 'hardly moving' at the slides' own horizon)",
                    progress)


@pytest.mark.slow
@pytest.mark.part("exp3-kernels")
def test_float32_steps_give_float64s_suboptimality_at_the_slides_settings(csv, seed, evidence,
                                                                         experiment_cache):
    """The first 5000 epochs of the slides' part-1 configurations, float32 against float64 steps
    (losses in float64): the 600,000-epoch runs are float32. Adam's runs, which float32 moves by
    1-2% on the deep nets at lr 0.001 by epoch 5000 (recorded), run in float64."""
    E = SLIDES["experiment3"]
    seeds3, seeds5 = seed_range(seed, 3), seed_range(seed, 5)
    part1 = {dt: experiment_cache(s3.experiment3_slides_part1, csv, seeds3, dtype=dt,
                                  epochs=E["parity_epochs"])
             for dt in (torch.float32, torch.float64)}
    gaps = {}
    for name, g64 in part1[torch.float64].items():
        a, b = slides_subopt(part1[torch.float32][name]), slides_subopt(g64)
        gaps[name] = float(np.max(np.abs(a - b) / b))
    evidence.record(f"part 1: max |subopt float32 - float64| / float64 at epoch "
                    f"{E['parity_epochs']}, per method", gaps)
    evidence.check(f"float32 vs float64 steps, the slides' part-1 configurations at epoch "
                   f"{E['parity_epochs']}: max relative suboptimality difference",
                   max(gaps.values()), "<", 1e-3, measured(PARITY, "seeds 0-2"))
    adam = {dt: experiment_cache(s3.experiment3_slides_adam, csv, seeds5, dtype=dt,
                                 epochs=E["parity_epochs"])
            for dt in (torch.float32, torch.float64)}
    a, b = slides_subopt(adam[torch.float32]), slides_subopt(adam[torch.float64])
    evidence.record(f"Adam (depths 1-3, lr 0.0005 and 0.001): max |subopt float32 - float64| / "
                    f"float64 at epoch {E['parity_epochs']} (why Adam runs in float64)",
                    float(np.max(np.abs(a - b) / b)))


@pytest.mark.part("gd3-beats-tuned-adadelta")
@known_non_reproduction("tuned like the other methods (best lr ~10^1), AdaDelta ends ~6x "
                        "closer to the l4 optimum than depth-3 GD after 500 iterations; at the "
                        "slides' own settings (their lr 0.0005, 600,000 epochs) depth-3 GD is "
                        "ahead (the part slides-settings)")
def test_depth_3_gd_ends_below_tuned_adadelta(exp3, seeds3, evidence):
    _, sub = exp3
    evidence.seeds(seeds3)
    # Pinned over base seeds 0-19 and 10000-10019 (windows of 20 seeds of 0-58 and 10000-10058):
    # the median 0.13-0.32; the pin leaves ~25% on either side.
    evidence.check_seeds("tuned AdaDelta / depth-3 GD suboptimality", sub["adadelta1"] /
                         sub["gd3"], "median", ">=", 1.0, seeds=seeds3,
                         reference=measured(0.16, "median, seeds 0-39"), pinned=(0.1, 0.42))


@pytest.mark.slow
@pytest.mark.part("adam-with-depth")
def test_adam_with_depth_ends_below_adam_on_the_linear_model_at_the_slides_setting(
        adam_slides, seed, evidence):
    """Experiment 3, part 2: Adam on depths 1-3 at the slides' fixed lr 0.0005 for 60,000
    full-batch epochs on the 2565 rows, and at the paper's 0.001; the direction of depth1/depthN
    with its interval, the size recorded; the 500-iteration best-lr reading recorded beside."""
    g = adam_slides
    evidence.seeds(g.seeds)
    E = SLIDES["experiment3"]
    evidence.note(f"Adam with Keras' constants (b 0.9, 0.999, eps 1e-7), 2565 ethanol rows, l4, "
                  f"width-1 chains of depth {list(g.depths)}, every weight N(0, 0.01^2), "
                  f"{E['part2_epochs']} full-batch epochs, float64 steps; L* = {g.lstar:.6g}.")
    sub = slides_subopt(g)                                          # (S, D, 2 lrs)
    for k, (lr, basis) in enumerate(((E["adam_lr"], "document"), (E["paper_adam_lr"], "paper"))):
        for j in (1, 2):
            ratio = sub[:, 0, k] / sub[:, j, k]
            size = float(np.exp(np.mean(np.log(ratio))))
            low, high = seed_interval(ratio, "gmean")
            evidence.record(f"lr {lr}: Adam depth 1 / depth {j + 1} suboptimality per seed",
                            ratio)
            if basis == "document":
                evidence.check_seeds(f"lr {lr} (the slides'): Adam depth 1 / depth {j + 1} "
                                     f"suboptimality at epoch {E['part2_epochs']} (direction)",
                                     ratio, "gmean", ">", 1.0, seeds=g.seeds,
                                     reference=measured(ADAM_SIZES[(k, j)], "gmean, seeds 0-4"))
            evidence.reading(f"Adam at lr {lr}, {E['part2_epochs']} epochs, 2565 rows, depth 1 / "
                             f"depth {j + 1} (final loss; at lr 0.001 depth 3's loss spikes now "
                             f"and then, so its final value is a noisy snapshot)",
                             f"gmean {size:.2f}, 95% interval {low:.2f}-{high:.2f}",
                             "holds" if low > 1 else ("does not hold" if high < 1
                                                      else "inconclusive"), basis)
    r = s3.experiment3(list(range(g.seeds[0], g.seeds[0] + N_EXP3)))
    best = {m: s3.best(r[m])["loss"] - r["lstar"] for m in ("adam1", "adam3")}
    short = best["adam1"] / best["adam3"]
    evidence.record("500 iterations, synthetic regression, each depth at its best lr: Adam depth "
                    "1 / depth 3 per seed", short)
    evidence.reading("500 iterations, synthetic regression (n = 256, d = 16), each depth at its "
                     "best lr", f"median depth 1 / depth 3 {np.median(short):.2f}",
                     "does not hold" if np.median(short) < 1 else "holds", "ours")
    curves = {f"Adam, depth {d}, lr {lr}": np.median(g.subopt[:, j, k], 0)
              for k, lr in enumerate((E["adam_lr"], E["paper_adam_lr"]))
              for j, d in enumerate(g.depths)}
    evidence.figure("experiment3-adam-slides-setting", da.plot_optimizers(
        curves, g.steps, "Experiment 3, part 2 at the slides' setting (2565 rows)"),
        f"loss - L* vs epoch, median over {len(g.seeds)} seeds.")


@pytest.mark.part("slides003-adadelta-lr:document-differs")
def test_adadelta_at_the_slides_lr_hardly_moves(exp3, seeds3, evidence):
    r, sub = exp3
    evidence.seeds(seeds3)
    slides = r["adadelta_slides"] - r["lstar"]
    evidence.check_seeds("AdaDelta at lr 0.0005: (L - L*) / (L0 - L*) after 500 iterations",
                         slides / (r["L0"] - r["lstar"]), "median", ">=", 0.5, seeds=seeds3,
                         reference=measured(1.0, "seeds 0-39: 0.83-1.21"))
    evidence.check_seeds("AdaDelta at lr 0.0005 / depth-3 GD suboptimality", slides / sub["gd3"],
                         "median", ">=", 10.0, seeds=seeds3,
                         reference=measured(7000, "seeds 0-39: 470-68000"))


@pytest.mark.part("slides003-adadelta-lr:reference-agrees")
def test_shared_keras_adadelta_follows_torch_and_tuned_beats_depth_3(exp3, seeds3, evidence):
    _, sub = exp3
    evidence.seeds(seeds3)
    for lr in (1.0, 5e-4):
        ours = rr.trajectory(rr.reference(s3.keras_optimizer("adadelta", lr)))
        ref = rr.trajectory(s3.keras2_adadelta_step(lr))
        evidence.check(f"gap at lr {lr}, shared AdaDelta (rho 0.95, eps 1e-7) vs Keras 2's "
                       "Adadelta update written out", rr.relative_gap(ours, ref), "<", 1e-12,
                       theory(0.0, "the same rule"))
    evidence.check_seeds("tuned AdaDelta / depth-3 GD suboptimality", sub["adadelta1"] /
                         sub["gd3"], "median", "<", 1.0, seeds=seeds3,
                         reference=measured(0.16, "median, seeds 0-39"))


@pytest.mark.part("exp4-kernels")
def test_experiment_4_kernels_match_closed_forms(seed, evidence):
    """The truncated-normal sampler (tf.truncated_normal) against the closed form of a normal
    cut at 2 std; the product nets' forward passes against the plain ones with the folded
    matrix (digits MLP and the tutorial's convnet); the tutorial's regularizer against its sum
    written out."""
    g = torch.Generator().manual_seed(seed)
    x = s3.truncated_normal(g, (200_000,), 0.1).double()
    # std of N(0, 1) cut at +-2: sqrt(1 - 4 phi(2) / (2 Phi(2) - 1)) = 0.8796
    phi, Phi = math.exp(-2.0) / math.sqrt(2 * math.pi), 0.5 * (1 + math.erf(2 / math.sqrt(2)))
    std = 0.1 * math.sqrt(1 - 4 * phi / (2 * Phi - 1))
    evidence.check("truncated normal (std 0.1): largest |x| / std", float(x.abs().max()) / 0.1,
                   "<=", 2.0, theory(2.0, "cut at 2 std"))
    evidence.check("truncated normal (std 0.1): sample std / the cut normal's std",
                   float(x.std()) / std, "in", (0.99, 1.01), theory(1.0, "0.1 x 0.8796"))
    p = {k: v[None] for k, v in s3.mlp_init(seed, True).items()}
    folded = dict(p, A1=p["B1"] @ p["A1"], A2=p["B2"] @ p["A2"])
    del folded["B1"], folded["B2"]
    xd = digits_standardized()[0][None, :64]
    evidence.check("digits MLP: product forward vs the plain forward with W = B A, max relative "
                   "difference", max_rel(s3.mlp_forward(p, xd), s3.mlp_forward(folded, xd)), "<",
                   1e-5, theory(0.0, "the same matrix (float32 rounding)"))
    c = s3.convnet_init(seed, True)
    flat = dict(c, fc1=c["fc1"] @ c["fc1_op"], fc2=c["fc2"] @ c["fc2_op"])
    del flat["fc1_op"], flat["fc2_op"]
    xm = torch.randn(8, 1, 28, 28, generator=g)
    evidence.check("convnet: product forward vs the plain forward with fc = fc @ fc_op, max "
                   "relative difference", max_rel(s3.convnet_logits(c, xm),
                                                  s3.convnet_logits(flat, xm)), "<", 1e-4,
                   theory(0.0, "the same matrix (float32 rounding)"))
    written = sum(float((c[k].double() ** 2).sum()) / 2 for k in ("fc1", "fc1_b", "fc2", "fc2_b"))
    evidence.check("the tutorial's regularizer vs its sum of l2_loss terms written out, relative "
                   "difference", abs(float(s3.convnet_penalty(c)) - written) / written, "<", 1e-5,
                   theory(0.0, "the same sum"))


# --- Experiment 4 ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def seeds4(seed):
    return seed_range(seed, N_EXP4)


@pytest.fixture(scope="module")
def exp4(seeds4):
    """Adam only in the default tier (6 seeds; SGD is recorded by the slow test)."""
    return s3.experiment4(seeds4, dict(s3.DIGITS, grids={"adam": s3.DIGITS["grids"]["adam"]}))


def exp4_note(evidence):
    c = s3.DIGITS
    evidence.note(f"Experiment 4 stand-in: scikit-learn's 8x8 digits (1797 images, standardized), "
                  f"MLP 64-{c['hidden']}-10 with ReLU; the product net has W_1 = B_1 A_1 "
                  f"(B_1 {c['hidden']}x{c['hidden']}) and W_2 = B_2 A_2 (B_2 10x10); the "
                  f"tutorial's init (truncated normal, std {c['init_std']}, biases {c['bias']}); "
                  f"{c['epochs']} epochs of batch {c['batch']}; final full-batch training "
                  f"cross-entropy; lr grids {dict(c['grids'])} (exponents of 10).")


@pytest.mark.part("product-lower-loss")
@known_non_reproduction("on the digits MLP, each net at its best lr, the product net ends with a "
                        "higher training cross-entropy than the plain net with Adam (every seed "
                        "measured) and with SGD on most seeds; at the slides' convnet setting "
                        "(CPU scale, slow tier) the comparison is inconclusive")
def test_product_net_ends_below_the_plain_net(exp4, seeds4, evidence):
    evidence.seeds(seeds4)
    exp4_note(evidence)
    evidence.note("Six seeds, Adam (8 in the slow tier, with SGD recorded): per seed the ratio "
                  "plain / product was 0.24-1.19 over seeds 0-26 and 10000-10026, above 1 on 3 "
                  "of 54 (10004, 10007, 10026), so a single seed does not decide it; the "
                  "geometric mean over 6 seeds was 0.30-0.66 on every window, its interval below "
                  "1 (the largest upper end 0.94).")
    r = exp4["adam"]
    plain, prod = r["plain"].min(1), r["product"].min(1)
    evidence.record("adam: best final cross-entropy per seed, plain / product",
                    np.stack([plain, prod], 1))
    # Pinned over base seeds 0-21 and 10000-10021 (windows of 6 of seeds 0-26, 10000-10026):
    # 0.30-0.66; the pin leaves ~25% on either side.
    evidence.check_seeds("adam: plain / product best final cross-entropy", plain / prod, "gmean",
                         ">=", 1.0, seeds=seeds4,
                         reference=measured(0.45, "gmean, windows of 6 of seeds 0-26 and "
                                                  "10000-10026: 0.30-0.66"),
                         pinned=(0.22, 0.82))


@pytest.mark.slow
@pytest.mark.part("product-lower-loss")
@known_non_reproduction("over 8 seeds, each net at its best lr, the product digits MLP ends with "
                        "a higher training cross-entropy than the plain one with Adam")
def test_product_net_ends_below_the_plain_net_more_seeds(seed, evidence):
    seeds = seed_range(seed, 8)
    evidence.seeds(seeds)
    exp4_note(evidence)
    r = s3.experiment4(seeds)
    evidence.record("sgd: plain / product best final cross-entropy per seed",
                    r["sgd"]["plain"].min(1) / r["sgd"]["product"].min(1))
    # Pinned over base seeds 0-19 and 10000-10019 (windows of 8 of seeds 0-26, 10000-10026):
    # 0.30-0.64 (the median's interval straddled 1 on some windows: the geometric mean's did not,
    # largest upper end 0.83); the pin leaves ~25% on either side.
    evidence.check_seeds("adam: plain / product best final cross-entropy",
                         r["adam"]["plain"].min(1) / r["adam"]["product"].min(1), "gmean",
                         ">=", 1.0, seeds=seeds, pinned=(0.23, 0.8))


# The slides' convnet: the grid of SLIDES["experiment4"] (10^-2.5 .. 10^-1.5) found both nets
# best at its top on both seeds, so it is extended by 10^-1 (the product net diverges there) and
# 10^-1.25 (each run as its own experiment, then merged).
CONV_EXTRA = ((-1.25,), (-1.0,))


@pytest.fixture(scope="module")
def convnet_slides(data_dir, seed, experiment_cache):
    """Experiment 4 at the slides' setting, 3 seeds x 2 nets x 5 lrs, assembled from cached runs
    (seeds (s, s + 1) and (s + 2), the base grid and each extension; slow: ~22 min of wall time
    on the busy 2-core machine)."""
    images, labels = load_mnist(data_dir)
    c = SLIDES["experiment4"]
    groups = []
    for seeds in ([seed, seed + 1], [seed + 2]):
        runs = [experiment_cache(s3.experiment4_slides, images, labels, seeds)] + [
            experiment_cache(s3.experiment4_slides, images, labels, seeds,
                             dict(c, lr_exponents=extra)) for extra in CONV_EXTRA]
        groups.append(runs)
    exps = np.concatenate([r["lr_exponents"] for r in groups[0]])
    order = np.argsort(exps)
    out = {k: np.concatenate([np.concatenate([r[k] for r in runs], 1)[:, order]
                              for runs in groups], 0)
           for k in ("plain", "product", "plain_curves", "product_curves")}
    out["lr_exponents"], out["seeds"] = exps[order], [seed, seed + 1, seed + 2]
    return out


def convnet_note(evidence, r):
    c = SLIDES["experiment4"]
    evidence.note(f"Experiment 4 at the slides' setting: the TensorFlow tutorial's MNIST convnet "
                  f"(conv 5x5x32, conv 5x5x64, dense 3136-512, dropout {c['dropout']}, dense "
                  f"512-10), every weight truncated normal std {c['init_std']}; the product net "
                  f"multiplies the dense matrices by square factors drawn the same way (the "
                  f"slides' code); momentum {c['momentum']}, batch {c['batch']} taken in order, lr "
                  f"decayed x{c['decay']} per epoch, {c['l2']} x the tutorial's regularizer. CPU "
                  f"scale (a deviation): the first {c['n_train']} of the 10,000 MNIST images "
                  f"present, {c['steps']} steps (~{c['steps'] * c['batch'] // c['n_train']} "
                  f"epochs of the subset; the tutorial runs 8,600 steps on 55,000 images). Both "
                  f"nets on the lr grid 10^{list(r['lr_exponents'])}; the training "
                  "cross-entropy on the whole subset without dropout after the last step.")


@pytest.mark.slow
@pytest.mark.part("convnet-grid-brackets")
def test_the_slides_convnet_comparison_is_fair_and_its_numbers_are_recorded(convnet_slides,
                                                                         evidence):
    """The slides' Experiment 4 at CPU scale: both nets train and the shared grid brackets each
    net's best lr; the comparison itself (each at its best lr, and both at the tutorial's lr
    0.01) is recorded: plain / product 2.9, 1.14, 0.54 on seeds 0-2, an interval that straddles
    1 (more seeds cost ~7 min each here), so it is the sentence's reading at the slides' setting,
    not a verdict."""
    r = convnet_slides
    evidence.seeds(r["seeds"])
    convnet_note(evidence, r)
    evidence.record("final training cross-entropy per seed and lr: plain", r["plain"])
    evidence.record("final training cross-entropy per seed and lr: product", r["product"])
    for net in ("plain", "product"):
        k = np.argmin(r[net], 1)
        evidence.record(f"{net}: best lr exponent per seed", r["lr_exponents"][k])
        evidence.check(f"{net}: fraction of seeds whose best lr is inside the grid",
                       float(((k > 0) & (k < r[net].shape[1] - 1)).mean()), "==", 1.0)
        evidence.check(f"{net}: largest best training cross-entropy over seeds (ln 10 = 2.30 at "
                       "the start)", float(r[net].min(1).max()), "<", 0.1)
    best = r["plain"].min(1) / r["product"].min(1)
    low, high = seed_interval(best, "gmean")
    evidence.record("each net at its best lr: plain / product training cross-entropy per seed "
                    f"(gmean {np.exp(np.mean(np.log(best))):.2f}, 95% interval {low:.2f}-"
                    f"{high:.2f})", best)
    k = int(np.argmin(np.abs(r["lr_exponents"] - math.log10(SLIDES["experiment4"]["tutorial_lr"]))))
    evidence.record("both nets at the tutorial's lr 0.01: plain / product per seed",
                    r["plain"][:, k] / r["product"][:, k])
    evidence.figure("experiment4-convnet", s3.plot_convnet_slides(r),
                    "Batch cross-entropy (20-step average) of each net at its best lr per seed.")


def check_product_ahead_at_small_lrs(evidence, r, seeds):
    """The plain / product ratio of the best final cross-entropy over Adam's narrow grid (its
    two smallest lrs), median over seeds above 1."""
    small = [i for i, e in enumerate(r["lr_exponents"]) if e in s3.DIGITS["narrow_grid"]["adam"]]
    ratio = r["plain"][:, small].min(1) / r["product"][:, small].min(1)
    evidence.check_seeds("Adam, lrs 1e-4 and 10^-3.5 only: plain / product best final "
                         "cross-entropy", ratio, "median", ">", 1.0, seeds=seeds,
                         reference=measured(1.3, "median over windows of 6 of seeds 0-26 and "
                                                "10000-10026: 1.22-1.39, interval above 1.05"))


@pytest.mark.part("small-lr-artefact")
def test_product_net_ends_lower_at_adams_smallest_lrs(exp4, seeds4, evidence):
    evidence.seeds(seeds4)
    check_product_ahead_at_small_lrs(evidence, exp4["adam"], seeds4)


@pytest.mark.part("grids-bracket")
def test_each_nets_best_lr_is_inside_its_grid(exp4, seeds4, evidence):
    evidence.seeds(seeds4)
    for m, r in exp4.items():
        for net in ("plain", "product"):
            k = np.argmin(r[net], 1)
            evidence.record(f"{m}, {net}: best lr exponent per seed", r["lr_exponents"][k])
            evidence.check(f"{m}, {net}: fraction of seeds whose best lr is inside the grid",
                           float(((k > 0) & (k < r[net].shape[1] - 1)).mean()), ">=", 0.5)


# --- benchmark ------------------------------------------------------------------------------------
BENCH_STEPS, BENCH_ROWS = 300, 8


def bench_rows(seed):
    Xs, ys, _ = s3.stacked_problems([seed])
    w0 = np.random.default_rng(seed).normal(0.0, 0.1, (BENCH_ROWS, Xs.shape[2]))
    return Xs, ys, w0


@pytest.mark.claim("slides003-exp1-rule-tracks-training")
def test_bench_emulate_as_printed(benchmark, seed):
    """The slides' emulate: one start at a time, autograd and a host sync every step."""
    Xs, ys, w0 = bench_rows(seed)
    benchmark.group = "slides003: emulated end-to-end rule, l4"
    benchmark.extra_info["units"] = BENCH_STEPS * BENCH_ROWS  # start-steps per call
    benchmark.pedantic(lambda: [s3.emulate_slides_naive(Xs[0], ys[0], 4, w, 2, E1["lr"],
                                                        BENCH_STEPS) for w in w0],
                       rounds=3, iterations=1)


@pytest.mark.claim("slides003-exp1-rule-tracks-training")
def test_bench_emulate_batched(benchmark, seed):
    """The kernel the claim uses: every start a column, the closed-form gradient."""
    Xs, ys, w0 = bench_rows(seed)
    X, y = Xs.expand(BENCH_ROWS, -1, -1), ys.expand(BENCH_ROWS, -1)
    benchmark.group = "slides003: emulated end-to-end rule, l4"
    benchmark.extra_info["units"] = BENCH_STEPS * BENCH_ROWS
    benchmark.extra_info["baseline"] = "test_bench_emulate_as_printed"
    benchmark.pedantic(s3.emulate, args=(X, y, 4, w0, 2, E1["lr"], BENCH_STEPS), rounds=3,
                       iterations=1)


# --- the slides' code, checked as code --------------------------------------------------------------
@pytest.mark.part("slides003-exp1-code:document-differs")
def test_experiment_1_conditions_do_not_parse(evidence):
    for condition in ("N=3", "i%1000=0"):
        evidence.check(f"'if {condition}:' parses (1 = yes)",
                       int(s3.parses(f"if {condition}:\n    pass\n")), "==", 0,
                       theory(0, "an assignment is not an expression"))


@pytest.mark.part("slides003-exp1-code:reference-agrees")
def test_the_corrected_conditions_parse(evidence):
    for code in ("if N == 3:\n    pass\n", "if i % 1000 == 0:\n    pass\n", "N = 3\n"):
        evidence.check(f"{code.splitlines()[0]!r} parses (1 = yes)", int(s3.parses(code)), "==",
                       1)


@pytest.mark.part("square-factor-keeps-the-maps")
def test_a_square_factor_keeps_every_map(seed, evidence):
    evidence.check("(28 // 4) * (28 // 4) * 64", (28 // 4) * (28 // 4) * 64, "==", 3136,
                   theory(3136, "the slides' hidden-matrix rows"))
    for rows, cols in ((3136, 512), (512, 10)):
        evidence.check(f"{rows} x {cols} target: ||(T F^-1) F - T|| / ||T||",
                       s3.refactor_error(seed, rows, cols, cols), "<=", 1e-10,
                       theory(0.0, "F invertible"))


@pytest.mark.part("narrow-factor-caps-rank")
def test_a_narrow_factor_caps_the_rank(seed, evidence):
    evidence.check("3136 x 512 target through a 256-wide factor: best relative error",
                   s3.refactor_error(seed, 3136, 512, 256), ">", 0.1,
                   theory("sqrt(sum of the 256 smallest s_i^2) / ||T||", "Eckart-Young"))


DROPOUT_PRINTED = "hidden \u2013 tf.nn.dropout(bidden, 0.5, seed-SEED)\n"
DROPOUT_CORRECTED = "hidden = tf.nn.dropout(hidden, 0.5, seed=SEED)\n"


@pytest.mark.part("slides003-exp4-dropout-line:document-differs")
def test_the_printed_dropout_line_assigns_nothing(evidence):
    evidence.check("the printed line parses (1 = yes)", int(s3.parses(DROPOUT_PRINTED)), "==", 0,
                   theory(0, "an en dash is not an operator"))
    evidence.check("with an ASCII minus: the statement's kind",
                   s3.statement_kind(DROPOUT_PRINTED.replace("\u2013", "-")), "==", "Expr",
                   theory("Expr", "a subtraction whose value is dropped"))


@pytest.mark.part("slides003-exp4-dropout-line:reference-agrees")
def test_the_corrected_dropout_line_assigns_hidden(evidence):
    evidence.check("the corrected line: the statement's kind", s3.statement_kind(
        DROPOUT_CORRECTED), "==", "Assign")


# --- Experiment 4's initial scale ------------------------------------------------------------------
INIT_SEEDS = 4


@pytest.mark.part("slides003-exp4-init-scale:document-differs")
def test_the_slides_factors_double_the_initial_pre_activations(data_dir, seed, evidence):
    images, _ = load_mnist(data_dir)
    theory_ratio = s3.truncated_std() * SLIDES["experiment4"]["init_std"] * math.sqrt(512)
    seeds = seed_range(seed, INIT_SEEDS)
    evidence.seeds(seeds)
    scales = [s3.initial_scales(images, s) for s in seeds]
    evidence.record("logits' std, product / plain, per seed", [r["logits"] for r in scales])
    for s, r in zip(seeds, scales):
        evidence.check(f"seed {s}: dense pre-activation std, product / plain", r["hidden"],
                       "in", (0.9 * theory_ratio, 1.1 * theory_ratio),
                       theory(theory_ratio, "std of N(0, 0.1^2) cut at 2 std, times sqrt(512); "
                                            "10% for the 256 images and one draw"))


@pytest.mark.part("slides003-exp4-init-scale:reference-agrees")
def test_identity_factors_keep_the_initial_map(data_dir, seed, evidence):
    images, _ = load_mnist(data_dir)
    r = s3.initial_scales(images, seed, factors="identity")
    for layer in ("hidden", "logits"):
        evidence.check(f"identity factors: {layer} std, product / plain", abs(r[layer] - 1), "<",
                       1e-6, theory(1.0, "W I = W"))
    from scipy.stats import truncnorm
    std = SLIDES["experiment4"]["init_std"]
    draws = s3.truncated_normal(torch.Generator().manual_seed(seed), (200_000,), std)
    expected = std * truncnorm(-2, 2).std()
    evidence.check(f"the sampler at std {std}: the draws' std / the truncated normal's",
                   float(draws.std()) / expected, "in", (0.995, 1.005),
                   theory(1.0, "scipy.stats.truncnorm(-2, 2) times the std; 200,000 draws"))


# --- the price of depth -----------------------------------------------------------------------------
ETHANOL_ROWS, ETHANOL_FEATURES = 2565, 128


@pytest.mark.part("chain-costs-little")
def test_the_depth_3_chain_costs_three_over_d_more(evidence):
    n, d = ETHANOL_ROWS, ETHANOL_FEATURES
    linear = s3.gradient_step_flops(n, d, 1)
    chain = s3.gradient_step_flops(n, d, 3)
    evidence.check("depth-1 flops per loss-and-gradient", linear, "==", 4 * n * d,
                   theory(4 * n * d, "X w forward, X^T r backward: 2nd each"))
    evidence.check("depth-3 chain flops", chain, "==", 4 * n * d + 12 * n,
                   theory(4 * n * d + 12 * n, "two n x 1 x 1 products: 2n forward, 4n backward "
                                              "each"))
    evidence.check("depth-3 chain / linear model flops", chain / linear, "<=", 1 + 3 / d + 1e-12,
                   theory(1 + 3 / d, "1 + 3/d"))
    evidence.check("parameters: depth-3 chain minus linear model", (d + 2) - d, "==", 2)


@pytest.mark.part("width-is-not-cheap")
def test_a_width_64_layer_costs_tens_of_times_more(evidence):
    n, d = ETHANOL_ROWS, ETHANOL_FEATURES
    ratio = s3.gradient_step_flops(n, d, 2, 64) / s3.gradient_step_flops(n, d, 1)
    evidence.check("depth-2 width-64 / linear model flops", ratio, ">", 10.0,
                   theory(64.75, "(4nd 64 + 6n 64) / 4nd"))


@pytest.mark.part("flop-counter-counts")
def test_the_flop_counter_counts_two_mnk(evidence):
    from torch.utils.flop_counter import FlopCounterMode
    with FlopCounterMode(display=False) as counter:
        torch.ones(7, 5) @ torch.ones(5, 3)
    evidence.check("flops of a (7 x 5) @ (5 x 3) product", counter.get_total_flops(), "==",
                   2 * 7 * 5 * 3, theory(210, "2mnk"))


# --- Experiment 4's hedged result ---------------------------------------------------------------------
@pytest.mark.part("accelerated-at-small-lrs")
def test_the_product_net_is_ahead_at_small_lrs(exp4, seeds4, evidence):
    evidence.seeds(seeds4)
    exp4_note(evidence)
    check_product_ahead_at_small_lrs(evidence, exp4["adam"], seeds4)


@pytest.mark.part("not-accelerated-at-best-lrs")
def test_the_plain_net_is_ahead_at_each_nets_best_lr(exp4, seeds4, evidence):
    evidence.seeds(seeds4)
    r = exp4["adam"]
    evidence.check_seeds("adam, each net at its best lr: plain / product final cross-entropy",
                         r["plain"].min(1) / r["product"].min(1), "gmean", "<", 1.0,
                         seeds=seeds4, reference=measured(0.45, "gmean, windows of 6 of seeds "
                                                                "0-26 and 10000-10026"))
