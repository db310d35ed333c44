"""Slides 003's own experiments, as the slides state them: Experiment 1 (the emulated end-to-end
rule explains a depth-2 net's training, and width does not change the speed), Experiment 3 (depth-3
GD against AdaGrad, AdaDelta and Adam on l4 regression, with Experiment 2's l2 contrast) and
Experiment 4 / the conclusion (a dense matrix replaced by a product of two accelerates a
non-linear net).

Sources: slides 003 (Deep2Reproduce reproduction of Arora, Cohen & Hazan, ICML 2018),
Experiments 1-4 with their printed code, and the conclusion; Arora et al. (2018) Sections 7-8.
Experiments in ``reproductions/slides003_experiments.py``: synthetic ill-conditioned regression
(n = 256, d = 16) instead of the ethanol set, scikit-learn's digits instead of MNIST (deviations
listed there). The paper-scale ethanol and convnet versions are the claim ``depth-acceleration``'s.

The slides' code has errors that matter only where stated: ``if N=3:`` and ``if i%1000=0:`` are
syntax errors (the code cannot have run as printed; we run its evident intent; no outcome
depends on them), Experiment 2 trains depths 1/2/3 at unequal lrs (0.05, 0.05, 0.5; here every
method is tuned on a grid, and at the slides' lrs depth 3 is still behind depth 1 on l2: the
outcome does not change), and Experiment 3 gives Keras' Adadelta lr = 0.0005, which decides its
comparison (the discrepancy ``slides003-adadelta-lr``).
"""

import math

import numpy as np
import pytest
import torch

from optclaims_report.claim import (discrepancy, known_non_reproduction, measured, part, reading,
                                   theory, tried)
from reproductions import document_rules as dr
from reproductions import slides003_experiments as s3

S003 = "slides 003"
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
              "net's for 600 steps (lr 0.02, every width).", f"{S003}, Experiment 1",
              judges=("rule-explains-training",)),
         part("plain-gd-does-not", "control", "Plain GD from the same restart point is more "
              "than 20% off the net's loss (l4; 10% on l2).", "our control"),
         part("from-slides-init", "scope", "From the slides' own start (every weight "
              "N(0, 0.01^2), factors far from balanced) the rule started at step 0 follows the "
              "net within the same 6%.", f"{S003}, Experiment 1 code (randn * 0.01)",
              judges=("rule-explains-training",),
              readings=(
                  reading(
                          "the slides' own start N(0, 0.01^2), rule started at step 0",
                          "30% to several times off",
                          "does not hold",
                          "document",
                          "default tier"),
              )),
         part("width-unrelated-from-slides-init", "scope", "From N(0, 0.01^2) the steps to "
              "halve the loss differ by less than 20% across widths 1, 8, 64.",
              f"{S003}, Experiment 1 (width not related to the converging speed)",
              judges=("width-unrelated-to-speed",),
              readings=(
                  reading(
                          "the slides' own start N(0, 0.01^2), steps to halve the loss at widths "
                          "1, 8, 64",
                          "width 64 1.5-4.6x sooner than width 1",
                          "does not hold",
                          "ours",
                          "default tier"),
              )),
         part("width-unrelated-balanced", "scope", "From exactly balanced factors of one "
              "end-to-end start, the steps to halve the loss are the same at every width.",
              "Arora et al. (2018), Theorem 1 (the rule does not involve the width)",
              judges=("width-unrelated-to-speed",)),
     ],
     "configurations_tried": [
         tried("lr 0.02, 1000 steps, restart at the halving step, 600 tracked, seeds 0-29",
               "restart gap per seed (max over widths) at most 0.035 (l4), 0.024 (l2); plain "
               "GD 0.43-0.83 (l4), 0.16-0.68 (l2); from init 0.32-7.2; halving-step ratio "
               "across widths 1.5-4.6 (random init), 1.0 (balanced)", kept=True),
         tried("lr 0.01 and 0.05 from a balanced start (seed 0)", "rule vs net from step 0: "
               "3-6% at 0.01, 15-34% at 0.05 (the discrete rule is the small-lr limit)"),
     ]},
    {"id": "slides003-exp3-depth-vs-adaptive", "title": "Slides 003, Experiment 3: depth-3 GD "
     "against AdaGrad, AdaDelta and Adam on l4 regression",
     "statement": "On l4 regression, gradient descent on a depth-3 linear net ends closer to the "
                  "optimum than AdaGrad and AdaDelta on the linear model, and adding depth "
                  "also accelerates Adam.",
     "sources": [f"{S003}, Experiment 3 (parts 1 and 2) and Experiment 2 (l2 vs l4)",
                 "Arora, Cohen, Hazan, ICML 2018, Section 7"],
     "parts": [
         part("gd3-beats-adagrad", "effect", "After 500 full-batch iterations, each method at "
              "its best lr, depth-3 GD's l4 suboptimality is below AdaGrad's (median ratio "
              ">= 1.2).", f"{S003}, Experiment 3, part 1",
              judges=("overparameterization-beats-convex-methods",)),
         part("l2-no-gain", "control", "On l2 (Experiment 2), depth-3 GD ends no closer to the "
              "optimum than depth-1 GD (median ratio depth 1 / depth 3 <= 0.8): the comparison "
              "that finds the l4 gain finds none on l2.", f"{S003}, Experiment 2 (with l2, "
              "deeper networks are slower)"),
         part("gd3-beats-gd1", "scope", "On l4, depth-3 GD ends below depth-1 GD (median ratio "
              ">= 1.2).", f"{S003}, Experiment 2 (with l4, depth accelerates)"),
         part("lr-grids-bracket", "precondition", "Every method's best lr lies inside its grid "
              "on at least 90% of seeds.", "our protocol (each method tuned)"),
         part("gd3-beats-tuned-adadelta", "scope", "Depth-3 GD also ends below AdaDelta when "
              "AdaDelta's lr is tuned like the others'.", f"{S003}, Experiment 3, part 1 "
              "(overparameterization beats algorithms designed for convex problems)",
              judges=("overparameterization-beats-convex-methods",),
              readings=(
                  reading(
                          "500 iterations, AdaDelta tuned (best lr ~10)",
                          "AdaDelta ~6x closer to the optimum",
                          "does not hold",
                          "ours",
                          "default tier"),
              )),
         part("adam-with-depth", "scope", "Adam on a depth-3 net ends below Adam on the linear "
              "model, each at its best lr.", f"{S003}, Experiment 3, part 2",
              judges=("overparameterization-beats-convex-methods",),
              readings=(
                  reading(
                          "500 iterations, each depth at its best lr",
                          "median depth-1/depth-3 ratio ~0.6",
                          "does not hold",
                          "ours",
                          "default tier"),
              )),
     ],
     "configurations_tried": [
         tried("500 iterations, seeds 0-39, lr grids of quarter decades", "median "
               "suboptimality ratios: depth 1 / depth 3 GD 2.2, AdaGrad / depth-3 GD 2.2, "
               "depth-3 GD / tuned AdaDelta 6.4, Adam depth 3 / depth 1 1.6 (depth 2 / depth 1 "
               "1.35); l2: depth 1 / depth 3 0.20", kept=True),
         tried("AdaDelta at lr 1 (Zeiler's rule, Keras 2's default), seeds 0-39", "beats "
               "depth-3 GD on 68% of seeds, diverges on some: tuned on a grid instead"),
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
                judges=("slides-adadelta-lr",)),
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
              "accelerates optimization)", judges=("product-of-two-accelerates",),
              readings=(
                  reading(
                          "64-128-10 ReLU MLP on digits, 5 epochs of Adam, each net at its best lr",
                          "the product net ends higher on every seed",
                          "does not hold",
                          "ours",
                          "default tier; 8 seeds in the slow tier"),
              )),
         part("small-lr-artefact", "control", "At Adam's two smallest lrs (1e-4, 10^-3.5), "
              "where neither net has converged, the product net does end lower: the comparison "
              "shows an acceleration where one exists at a fixed lr.",
              "our control (the narrow grid of an earlier measurement)"),
         part("grids-bracket", "precondition", "Each net's best lr lies inside its grid on "
              "most seeds.", "our protocol"),
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
     ]},
]
E1 = s3.CONFIG["experiment1"]
E3 = s3.CONFIG["experiment3"]
N_EXP1, N_EXP3, N_EXP4 = 3, 20, 1


@pytest.fixture(scope="module")
def seeds1(seed):
    return list(range(seed, seed + N_EXP1))


@pytest.fixture(scope="module")
def exp1(seeds1):
    return s3.experiment1(seeds1, dict(E1, losses=(4,)))


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
    evidence.record("l4: restart gap per seed and width", r["restart"])
    evidence.check_seeds("l4: restarted rule's loss gap (max over widths)", r["restart"].max(1),
                         "median", "<=", 0.06, seeds=seeds1,
                         reference=measured(0.024, "median, seeds 0-29 (max 0.035)"))


@pytest.mark.part("plain-gd-does-not")
def test_plain_gd_restarted_at_the_same_point_does_not_track(exp1, seeds1, evidence):
    evidence.seeds(seeds1)
    r = exp1["l4"]
    evidence.check_seeds("l4: restarted plain GD's loss gap (min over widths)",
                         r["restart_gd"].min(1), "median", ">=", 0.2, seeds=seeds1,
                         reference=measured(0.69, "median, seeds 0-29 (min 0.43)"))


@pytest.mark.part("from-slides-init")
@known_non_reproduction("from the slides' N(0, 0.01^2) start the two factors are far from "
                        "balanced (relative imbalance ~1) and the rule started at step 0 "
                        "parts from the net by 30% to several times its loss")
def test_rule_from_the_slides_init_tracks_depth_2_training(exp1, seeds1, evidence):
    evidence.seeds(seeds1)
    r = exp1["l4"]
    evidence.record("l4: relative imbalance ||W_2^T W_2 - W_1 W_1^T|| / ||W_1 W_1^T|| at init",
                    r["imbalance"])
    evidence.record("l4: rule from a balanced start of the same end-to-end vector, gap per "
                    "seed (the discrete rule at lr 0.02)", r["from_init_balanced"][:, 0])
    evidence.check_seeds("l4: rule from the slides' init, loss gap (max over widths)",
                         r["from_init"].max(1), "median", "<=", 0.06, seeds=seeds1,
                         reference=measured(1.39, "median, seeds 0-29 (min 0.39)"))


@pytest.mark.part("width-unrelated-from-slides-init")
@known_non_reproduction("from N(0, 0.01^2) a wider net starts with a larger end-to-end vector "
                        "(its norm grows like sqrt(width)) and leaves the near-zero plateau "
                        "sooner: width 64 halves its loss 1.5-4.6x sooner than width 1")
def test_width_does_not_change_the_speed_from_the_slides_init(exp1, seeds1, evidence):
    evidence.seeds(seeds1)
    h = exp1["l4"]["half"]
    evidence.record("l4: steps to halve the loss per seed, widths " + str(E1["widths"]), h)
    evidence.check_seeds("l4: slowest / fastest width, steps to halve the loss",
                         h.max(1) / h.min(1), "median", "<=", 1.2, seeds=seeds1,
                         reference=measured(2.4, "seeds 0-29: 1.55-4.6"))


@pytest.mark.part("width-unrelated-balanced")
def test_width_does_not_change_the_speed_from_balanced_factors(exp1, seeds1, evidence):
    evidence.seeds(seeds1)
    h = exp1["l4"]["half_balanced"]
    evidence.check_seeds("l4, balanced start: slowest / fastest width, steps to halve the loss",
                         h.max(1) / h.min(1), "median", "<=", 1.05, seeds=seeds1,
                         reference=theory(1.0, "the rule has no width"))


@pytest.mark.slow
@pytest.mark.part("restart-tracks")
def test_rule_restart_tracks_and_plain_gd_does_not_on_l2_and_l4_more_seeds(seed, evidence):
    seeds = list(range(seed, seed + 12))
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
    return list(range(seed, seed + N_EXP3))


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


@pytest.mark.part("gd3-beats-tuned-adadelta")
@known_non_reproduction("tuned like the other methods (best lr ~10^1), AdaDelta ends ~6x "
                        "closer to the l4 optimum than depth-3 GD after 500 iterations; the "
                        "slides' AdaDelta ran at lr 0.0005")
def test_depth_3_gd_ends_below_tuned_adadelta(exp3, seeds3, evidence):
    _, sub = exp3
    evidence.seeds(seeds3)
    evidence.check_seeds("tuned AdaDelta / depth-3 GD suboptimality", sub["adadelta1"] /
                         sub["gd3"], "median", ">=", 1.0, seeds=seeds3,
                         reference=measured(0.16, "median, seeds 0-39"))


@pytest.mark.part("adam-with-depth")
@known_non_reproduction("at 500 iterations, each at its best lr, Adam on the depth-3 chain ends "
                        "farther from the l4 optimum than Adam on the linear model (median "
                        "ratio ~0.6); depth 2 likewise")
def test_adam_with_depth_ends_below_adam_on_the_linear_model(exp3, seeds3, evidence):
    _, sub = exp3
    evidence.seeds(seeds3)
    evidence.record("Adam depth 1 / depth 2 suboptimality per seed", sub["adam1"] / sub["adam2"])
    evidence.check_seeds("Adam depth 1 / depth 3 suboptimality", sub["adam1"] / sub["adam3"],
                         "median", ">=", 1.0, seeds=seeds3,
                         reference=measured(0.64, "median, seeds 0-39"))


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
        ours = dr.trajectory(dr.reference(s3.keras_optimizer("adadelta", lr)))
        ref = dr.trajectory(s3.keras2_adadelta_step(lr))
        evidence.check(f"gap at lr {lr}, shared AdaDelta (rho 0.95, eps 1e-7) vs Keras 2's "
                       "Adadelta update written out", dr.relative_gap(ours, ref), "<", 1e-12,
                       theory(0.0, "the same rule"))
    evidence.check_seeds("tuned AdaDelta / depth-3 GD suboptimality", sub["adadelta1"] /
                         sub["gd3"], "median", "<", 1.0, seeds=seeds3,
                         reference=measured(0.16, "median, seeds 0-39"))


# --- Experiment 4 ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def seeds4(seed):
    return list(range(seed, seed + N_EXP4))


@pytest.fixture(scope="module")
def exp4(seeds4):
    return s3.experiment4(seeds4)


def exp4_note(evidence):
    c = s3.DIGITS
    evidence.note(f"Experiment 4 stand-in: scikit-learn's 8x8 digits (1797 images, standardized), "
                  f"MLP 64-{c['hidden']}-10 with ReLU; the product net has W_1 = B_1 A_1 "
                  f"(B_1 {c['hidden']}x{c['hidden']}) and W_2 = B_2 A_2 (B_2 10x10); the "
                  f"tutorial's init (truncated normal, std {c['init_std']}, biases {c['bias']}); "
                  f"{c['epochs']} epochs of batch {c['batch']}; final full-batch training "
                  f"cross-entropy; lr grids {dict(c['grids'])} (exponents of 10).")


@pytest.mark.part("product-lower-loss")
@known_non_reproduction("each net at its best lr, the product net ends with a higher training "
                        "cross-entropy than the plain net with Adam (every seed measured) and "
                        "with SGD on most seeds")
def test_product_net_ends_below_the_plain_net(exp4, seeds4, evidence):
    evidence.seeds(seeds4)
    exp4_note(evidence)
    evidence.note("One seed in the default tier (8 in the slow tier): over seeds 0-9 and "
                  "100-105 the Adam ratio plain / product was below 1 on every seed (0.24-0.93), "
                  "so its verdict does not depend on the seed. The SGD ratio was below 1 on 14 "
                  "of those 16 seeds (0.12-0.88; seed 101: 1.02, seed 103: 1.69): recorded, "
                  "not checked.")
    for m, r in exp4.items():
        plain, prod = r["plain"].min(1), r["product"].min(1)
        evidence.record(f"{m}: best final cross-entropy per seed, plain / product",
                        np.stack([plain, prod], 1))
        evidence.record(f"{m}: plain / product best final cross-entropy per seed", plain / prod)
    r = exp4["adam"]
    evidence.check_seeds("adam: plain / product best final cross-entropy",
                         r["plain"].min(1) / r["product"].min(1), "median", ">=", 1.0,
                         seeds=seeds4, reference=measured(0.36, "median, seeds 0-9, 100-105"))


@pytest.mark.slow
@pytest.mark.part("product-lower-loss")
@known_non_reproduction("over 8 seeds, each net at its best lr, the product net ends with a "
                        "higher training cross-entropy than the plain net with Adam")
def test_product_net_ends_below_the_plain_net_more_seeds(seed, evidence):
    seeds = list(range(seed, seed + 8))
    evidence.seeds(seeds)
    exp4_note(evidence)
    r = s3.experiment4(seeds)
    evidence.record("sgd: plain / product best final cross-entropy per seed",
                    r["sgd"]["plain"].min(1) / r["sgd"]["product"].min(1))
    evidence.check_seeds("adam: plain / product best final cross-entropy",
                         r["adam"]["plain"].min(1) / r["adam"]["product"].min(1), "median",
                         ">=", 1.0, seeds=seeds)


@pytest.mark.part("small-lr-artefact")
def test_product_net_ends_lower_at_adams_smallest_lrs(exp4, seeds4, evidence):
    evidence.seeds(seeds4)
    r = exp4["adam"]
    small = [i for i, e in enumerate(r["lr_exponents"]) if e in s3.DIGITS["narrow_grid"]["adam"]]
    ratio = r["plain"][:, small].min(1) / r["product"][:, small].min(1)
    evidence.check_seeds("Adam, lrs 1e-4 and 10^-3.5 only: plain / product best final "
                         "cross-entropy", ratio, "median", ">", 1.0, seeds=seeds4,
                         reference=measured(1.3, "median, seeds 0-29 and 100-103 (min 1.04)"))


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
