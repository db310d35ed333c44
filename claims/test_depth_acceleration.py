"""Overparameterizing a linear model by depth accelerates gradient descent on l4 regression, and
not on l2 regression, on the UCI ethanol data.

Sources: Arora, Cohen, Hazan, "On the Optimization of Deep Networks: Implicit Acceleration by
Overparameterization", ICML 2018 (the end-to-end update rule, Theorem 1 and Claim 1; the Ethanol
and MNIST-convnet experiments); slides 003 of the course (a reproduction of it, Experiments 1-4);
lecture notes 000/001 for AdaGrad, AdaDelta and Adam.

Which tier holds which protocol:
- default: all 2565 ethanol rows (the paper's set) and, as a cross-check, the 1316 exact rows of
  the UCI batch files present; 5 seeds, T = 10^4 full-batch steps, the fine lr grid of
  ``CONFIG["lr_exponents"]`` for every depth. Depth 2's acceleration, the l2 control, the tuning
  of the baseline and the early phase of the optimizer comparison are checked here.
- slow: T = 5 x 10^4 (5 seeds, the wide grid), where depth 3 has left its near-zero start on
  every seed, and the paper scale (10^6 steps, 3 seeds, AdaDelta's crossover with depth-3 GD).
- gpu: the MNIST convnet with and without the product-of-two dense layers.

Why depth 3 is judged at the longer horizon (measured over seeds 0-124 at T = 10^4): depth 3
ends closer to the l4 optimum than depth 1 on 86% of seeds, but on 18 of 125 seeds it has not
reached depth 1's final loss by step 10^4 (its end-to-end vector starts as the product of two
N(0, 0.01^2) scalars and W_1, and when one scalar is drawn near 0 the escape takes longer), so
any rule over 5 seeds about depth 3 at T = 10^4 flips with the base seed. Its T = 10^4 numbers
are recorded in the default tier.

Where the sources state no size (Adam gains from depth; depth-3 GD ends below AdaDelta), the
direction is judged by its 95% interval (bound 1) and the size is recorded; sizes stated by the
paper's figure (depth 2 ~2x, depth 3 ~6x at 10^6 steps) are references. Slides 003's own
settings of the same sentences (Adam at lr 0.0005 for 60,000 epochs; 600,000 epochs at the
slides' lrs) run in ``claims/test_slides003_experiments.py`` and are declared here as readings.
"""

import math

import numpy as np
import pytest
import torch

from optclaims_report.claim import (figure, known_non_reproduction, measured, paper, part, reading,
                                    seed_range, theory)
from reproductions import depth_acceleration as da
from reproductions import linear_nets as ln
from reproductions.data import load_mnist

ARORA = "Arora, Cohen, Hazan, ICML 2018"
S003 = "slides 003"
CLAIM = {
    "id": "depth-acceleration",
    "title": "Depth accelerates gradient descent on l4 regression, not on l2 "
             "(Arora, Cohen & Hazan 2018)",
    "statement": "On the UCI ethanol regression (z-scored, no bias), gradient descent on a depth-2 "
                 "or depth-3 linear network with near-zero initialization reaches a lower l4 loss "
                 "than on the depth-1 model, each at its best learning rate, while on l2 depth "
                 "gives no such advantage; the deep nets follow the end-to-end update rule "
                 "W <- W - eta ||W||^{2-2/N} (grad L + (N-1) Pr_W grad L).",
    "sources": [f"{ARORA}, On the Optimization of Deep Networks: Implicit Acceleration by "
                "Overparameterization: the end-to-end update rule (Theorem 1, Claim 1) and the "
                "Ethanol and MNIST-convnet experiments",
                "Slides 003 (a reproduction of Arora et al.: end-to-end rule, Experiments 1-4)",
                "Lecture notes 000/001: AdaGrad, AdaDelta, Adam"],
    "parts": [
        part("l4-depth2", "effect", "On l4 regression (all 2565 rows), GD on a depth-2 linear "
             "net ends closer to the optimum than GD on the depth-1 model, each at its best lr, "
             "and reaches depth 1's final loss well before the horizon.",
             f"{ARORA}, Section 7 (Ethanol, l4 loss); slides 003, Experiment 1",
             judges=("depth-accelerates-l4",)),
        part("l2-no-advantage", "control", "On l2 regression, the same grid and seeds give depth "
             "no such advantage: depth 2 ends within 20% of depth 1 and depth 3 no better than "
             "it, and the l4 advantage exceeds the l2 one.",
             f"{ARORA}, Section 7 (l2 loss: no acceleration)", judges=("depth-slows-l2",)),
        part("depth1-tuned", "precondition", "The depth-1 baseline is tuned at its stability "
             "edge: its chosen lr is the grid's largest stable lr, the next one diverging.",
             f"{ARORA}, Section 7 (each method at its best lr)"),
        part("lr-grid-brackets", "precondition", "The lr grids bracket every choice: for every "
             "loss, data set, depth and seed the best lr is neither the grid's smallest nor its "
             "largest.", f"{ARORA}, Section 7 (learning rates tuned by grid search)"),
        part("l4-exact-rows", "scope", "The depth-2 acceleration holds on the 1316 exact rows of "
             "the UCI batch files present, with the same l2 control.",
             "UCI gas sensor drift data (batch files); cross-check of the CSV's 2565 rows"),
        part("l4-depth3", "scope", "Depth 3 accelerates too: at T = 5 x 10^4 (and at the "
             "paper's 10^6 steps) GD on a depth-3 net ends closer to the l4 optimum than "
             "depth 1.", f"{ARORA}, Section 7, Figure 5 (depth 3 ~6x at 10^6 steps, read off)",
             judges=("depth-accelerates-l4",)),
        # Our reading, judging no document sentence: slides 003 compare the depths at one lr
        # each (Experiments 2 and 3), never at every lr; the paper tunes each depth.
        part("every-stable-lr", "scope", "Not only at the best lr: at every lr where depth 1 is "
             "stable, depth 2 and depth 3 end below it.", "our reading of slides 003, "
             "Experiment 2 (depths compared at fixed lrs)",
             readings=(
                 reading("every lr of the grid where depth 1 is stable, T = 10^4, 5 seeds",
                         "no seed without a losing (lr, depth) pair: 2-12 such pairs on every seed "
                         "of 0-23 and 10000-10008 (fraction 0 at base seeds 0-19, 10000-10004)",
                         "does not hold",
                         "ours", "default tier"),
                 reading("the same at T = 5 x 10^4, 10 seeds, the wide grid", "10-22 losing "
                         "(lr, depth) pairs on every seed of 0-9 (depth 3 still near its start "
                         "below 10^-3.5; both deep nets diverge or lag near depth 1's edge)",
                         "does not hold", "horizon", "slow tier"),
             )),
        part("e2e-rule", "mechanism", "From a balanced start, real depth-2 and depth-3 training "
             "follows the end-to-end update rule (single- and multi-output), and plain GD from "
             "the same end-to-end start does not.", f"{ARORA}, Theorem 1 and Claim 1; "
             "slides 003", judges=("end-to-end-update-rule",)),
        part("claim1-exponent", "mechanism", "Claim 1's eigenvalues of the preconditioner P_W "
             "have exponents 2(j-1)/N (the paper); slide 003's 2(j-2)/N is a typo.",
             f"{ARORA}, Claim 1; slides 003 (the eigenvalue formula)",
             judges=("preconditioner-eigenpairs",)),
        part("kernels", "precondition", "The hand-written kernels compute what they stand for "
             "on the 2565 rows: the l2 and l4 gradients (both layouts) and the factor gradients of "
             "width-1 chains (depths 1-3, frozen factors masked) and of wide nets equal "
             "autograd's; the single-output end-to-end step equals the general rule with one "
             "row, and the general rule equals the Kronecker form of P_W built with scipy's "
             "matrix powers; L* from damped Newton is certified by its Newton decrement.",
             "our protocol (hand-derived kernels)"),
        part("width-and-precision", "precondition", "The stand-ins are faithful: width-1 nets "
             "train like wide ones (depth 2, widths 1/10/100), and float32 steps give float64's "
             "suboptimality.", "our protocol (width 1 and float32 are our choices)",
             judges=("width-unrelated-to-speed",)),
        part("adam-depth", "scope", "Depth helps Adam too: Adam on depth-2 and depth-3 nets, "
             "each depth at its best lr, ends closer to the l4 optimum than Adam on depth 1 "
             "(the direction, judged by its interval; no size is stated, the size is recorded).",
             f"{ARORA}, Section 7 (Adam with and without overparameterization); slides 003, "
             "Experiment 3, part 2", judges=("adam-with-depth",),
             readings=(
                 reading("slides 003's own setting: Adam (Keras' constants) at the fixed lr "
                         "0.0005, 60,000 full-batch epochs, N(0, 0.01^2), 2565 rows",
                         "depth1/depth2 1.68, depth1/depth3 1.70 (gmean, seeds 0-4; every seed "
                         "1.62-1.74)", "holds",
                         "document", "slides003-exp3-depth-vs-adaptive/adam-with-depth, "
                         "slow tier"),
                 reading("the paper's lr 0.001 (as slides 003 state it), otherwise the same",
                         "depth1/depth2 1.43, depth1/depth3 1.29 (interval 1.08-1.42; depth 3 "
                         "spikes now and then at this lr)", "holds", "paper",
                         "slides003-exp3-depth-vs-adaptive/adam-with-depth, slow tier"),
                 reading("each depth at its best lr, T = 10^4 and 5 x 10^4, 1316 rows",
                         "gmean depth1/depthN 1.2-1.4, every interval above 1", "holds",
                         "horizon", "default and slow tiers"),
                 reading("each depth at its best lr, 500 iterations, synthetic n = 256, d = 16",
                         "depth1/depth3 0.53-0.74 (medians over windows of 20 of seeds 0-58)",
                         "does not hold", "ours", "slides003-exp3-depth-vs-adaptive, "
                         "recorded"),
             )),
        part("adagrad-vs-depth3", "scope", "Depth-3 GD beats AdaGrad on the depth-1 model "
             "(T = 5 x 10^4).", f"{ARORA}, Section 7 (comparison with AdaGrad and AdaDelta)",
             judges=("overparameterization-beats-convex-methods",)),
        part("adadelta-early-lead", "scope", "Early on (T = 10^4) AdaDelta on depth 1 is ahead "
             "of depth-3 GD.", f"{ARORA}, Section 7, Figure 5 (AdaDelta leads at first)"),
        part("adadelta-crossover", "scope", "Depth-3 GD overtakes AdaDelta on depth 1 at about "
             "5 x 10^5 steps and ends below it at 10^6.",
             f"{ARORA}, Section 7, Figure 5 (crossover read off the plot)",
             judges=("overparameterization-beats-convex-methods",),
             readings=(
                 reading("the paper's horizon 10^6 steps, 2565 rows, each method's lr re-chosen "
                         "at 10^6 (AdaDelta tuned like GD)", "depth-3 GD 1.09x farther from L* "
                         "than AdaDelta on depth 1 (median 1.09, interval 1.08-1.10)",
                         "does not hold", "paper",
                         "slow tier, seeds 0-2"),
                 reading("slides 003's own setting: AdaDelta at the slides' lr 0.0005 (Keras' "
                         "constants), depth-3 GD at 1e-4, 600,000 epochs", "AdaDelta / depth-3 "
                         "GD suboptimality 1.14-1.19 (seeds 0-2): depth-3 GD ahead", "holds",
                         "document", "slides003-exp3-depth-vs-adaptive/slides-settings-adadelta, "
                         "slow tier"),
             )),
        part("ethanol-data-as-described", "scope", "The ethanol regression read from the data "
             "directory has the 2565 rows and 128 features the slides' data summary gives.",
             f"{S003}, 'Data Summary'", judges=("slides003-ethanol-data-size",)),
        part("mnist-convnet", "scope", "On MNIST, replacing each dense layer of the TensorFlow "
             "tutorial's convnet by a product of two lowers the training cross-entropy.",
             f"{ARORA}, Section 8 (convolutional network)", judges=("product-of-two-accelerates",)),
    ],
}
CFG = da.CONFIG
T = CFG["steps"]
# The measurement this module's references cite: seeds 0-124, default tier, T = 10^4.
SWEEP = "seeds 0-124, T = 10^4"


@pytest.fixture(scope="module")
def csv(data_dir):
    return ln.load_problem(data_dir, "csv")


@pytest.fixture(scope="module")
def exact(data_dir):
    return ln.load_problem(data_dir, "batches")


@pytest.fixture(scope="module")
def seeds(seed):
    return seed_range(seed, CFG["n_seeds"])


@pytest.mark.part("ethanol-data-as-described")
def test_the_ethanol_data_has_the_slides_size(csv, evidence):
    evidence.note(csv.summary)
    evidence.check("ethanol rows", csv.X.shape[0], "==", 2565,
                   paper(2565, "slides 003, Data Summary; Arora et al. 2018, §7"))
    evidence.check("features", csv.X.shape[1], "==", 128, paper(128, "slides 003, Data Summary"))


@pytest.fixture(scope="module")
def l4_csv(csv, seeds):
    return da.train_grid(csv, 4, seeds)


@pytest.fixture(scope="module")
def l2_csv(csv, seeds):
    return da.train_grid(csv, 2, seeds)


@pytest.fixture(scope="module")
def l4_exact(exact, seeds):
    return da.train_grid(exact, 4, seeds)


@pytest.fixture(scope="module")
def l2_exact(exact, seeds):
    return da.train_grid(exact, 2, seeds)


def protocol_note(evidence, problem, grid):
    evidence.note(f"Data: {problem.summary} ({problem.m} rows x {problem.X.shape[1]} features), "
                  "sha256-verified. Preprocessing (assumption: the paper's text was not "
                  "available): every feature and the target z-scored, no bias, loss "
                  "(1/p) mean |x.w - y|^p; features not whitened (whitening removes the effect).")
    evidence.note(f"Protocol: width-1 linear nets of depth 1/2/3, every weight N(0, 0.01^2), "
                  f"full-batch GD for {grid.steps[-1]} steps, seeds {grid.seeds}, lr grid 10^e "
                  f"for e in {[float(e) for e in grid.lr_exponents]} (the same for every depth), "
                  "best lr per depth and seed by final loss, NaN/divergence counted as +inf; L* "
                  f"from a direct solver (l{grid.p}: "
                  f"{'least squares' if grid.p == 2 else 'damped Newton'}) = {grid.lstar:.10g}; "
                  "steps in float32, losses evaluated in float64.")


def record_ratios(evidence, grid, label):
    """The per-seed numbers behind a grid's ratio checks."""
    r = da.depth_ratios(grid)
    evidence.record(f"{label}: best loss - L* per seed, depth 1/2/3", r["subopt"])
    evidence.record(f"{label}: chosen lr exponent per seed, depth 1/2/3", r["best_lr"])
    return r


def check_depth2(evidence, grid, label, reference):
    r = record_ratios(evidence, grid, label)
    evidence.check_seeds(f"{label}: depth1/depth2 suboptimality ratio", r["ratio2"], "median",
                         ">=", 1.25, seeds=grid.seeds, reference=reference)
    evidence.record(f"{label}: depth1/depth3 ratio per seed at T = {grid.steps[-1]} (depth 3 "
                    "is judged at T = 5 x 10^4, slow tier)", r["ratio3"])
    return r


# --- effect ---------------------------------------------------------------------------------------
@pytest.mark.part("l4-depth2")
def test_depth_2_reaches_lower_l4_loss_than_depth_1(csv, l4_csv, l2_csv, evidence):
    """All 2565 rows: each depth at its best lr, depth 2 ends closer to the l4 optimum than
    depth 1 (median over 5 seeds of the suboptimality ratio, bound 1.25)."""
    evidence.seeds(l4_csv.seeds)
    protocol_note(evidence, csv, l4_csv)
    check_depth2(evidence, l4_csv, "l4, 2565 rows",
                 measured(1.70, f"median per seed, {SWEEP}; min 1.43"))
    evidence.figure("loss-minus-optimum", da.plot_curves({"l2": l2_csv, "l4": l4_csv},
                                                           f"{csv.summary}"),
                    f"loss - L* vs step (log-log), depths 1/2/3 each at its best lr per seed "
                    f"(thin: each of {len(l4_csv.seeds)} seeds; bold: median), l2 and l4 side by "
                    "side, all 2565 rows.")


@pytest.mark.part("l4-depth2")
def test_depth_2_reaches_depth_1_final_loss_well_before_the_horizon(l4_csv, evidence):
    """Depth 2 at its best lr reaches depth 1's final l4 loss (depth 1 at its best lr) before
    step T on every seed; depth 3's times are recorded."""
    best, arg = ln.best_over_lr(l4_csv.final)
    n = len(l4_csv.seeds)
    frac = {j + 1: np.array([ln.time_to_reach(l4_csv, best[s, 0], s, j, arg[s, j])
                             for s in range(n)]) for j in (1, 2)}
    evidence.record("l4, 2565 rows: depth 2 reaches depth 1's final loss at this fraction of T, "
                    "per seed", frac[2])
    evidence.record("l4, 2565 rows: depth 3 reaches depth 1's final loss at this fraction of T, "
                    "per seed (inf: not by T; 18 of 125 seeds in the sweep)", frac[3])
    evidence.check_every_seed(
        "l4, 2565 rows: seeds on which depth 2 reaches depth 1's final loss "
        "before T", frac[2] < 1.0, seeds=l4_csv.seeds,
        reference=measured(1.0, f"125 of 125 seeds, {SWEEP}; latest at 0.60 T"))


# --- preconditions --------------------------------------------------------------------------------
@pytest.mark.part("depth1-tuned")
def test_depth_1_baseline_is_tuned_at_its_stability_edge(l4_csv, evidence):
    """The depth-1 baseline is honestly tuned: on every seed its chosen lr is the largest that
    did not diverge, and the next lr of the grid diverged."""
    f = l4_csv.final[:, 0]
    _, arg = ln.best_over_lr(f)
    at_edge = np.array([a + 1 < f.shape[1] and not np.isfinite(f[s, a + 1])
                        for s, a in enumerate(arg)])
    evidence.record("l4, 2565 rows: depth-1 chosen lr exponent per seed",
                    l4_csv.lr_exponents[arg])
    evidence.check_every_seed(
        "l4, 2565 rows: seeds whose depth-1 lr is the largest stable one, the "
        "next diverging", at_edge, seeds=l4_csv.seeds,
        reference=measured(1.0, f"125 of 125 seeds, {SWEEP}"))


@pytest.mark.part("lr-grid-brackets")
def test_every_best_lr_lies_inside_its_grid(l4_csv, l2_csv, l4_exact, l2_exact, evidence):
    """The grids bracket every choice: for every loss, data set, depth and seed the best lr is
    neither the grid's smallest nor its largest value."""
    for name, g in (("l4, 2565 rows", l4_csv), ("l2, 2565 rows", l2_csv),
                    ("l4, 1316 exact rows", l4_exact), ("l2, 1316 exact rows", l2_exact)):
        _, arg = ln.best_over_lr(g.final)                      # (seeds, depths)
        inside = ((arg > 0) & (arg < len(g.lr_exponents) - 1)).all(1)
        evidence.check_every_seed(
            f"{name}: seeds on which every depth's best lr is interior to the "
            f"grid 10^[{g.lr_exponents[0]:g} ... {g.lr_exponents[-1]:g}]", inside, seeds=g.seeds)


@pytest.mark.part("l4-exact-rows")
def test_cross_check_on_the_1316_exact_rows(exact, l4_exact, evidence):
    """The same protocol on the exact UCI rows of the 8 batch files present."""
    evidence.seeds(l4_exact.seeds)
    protocol_note(evidence, exact, l4_exact)
    check_depth2(evidence, l4_exact, "l4, 1316 exact rows",
                 measured(1.65, f"median per seed, {SWEEP}; min 1.47"))


# The fraction of 5 seeds with no losing (lr, depth) pair: 0 at every base seed 0-19 and
# 10000-10004 (seeds 0-23 and 10000-10008 each have 2-12 losing pairs; the cost of the 10^4-step
# grid bounded the held-out seeds); the pin allows one seed of five without one.
PIN_EVERY_STABLE = (0.0, 0.2)


@pytest.mark.part("every-stable-lr")
@known_non_reproduction("Not at every lr: at some lrs where depth 1 is stable a deep net ends "
                        "above it (depth 3 still near its near-zero start at small lr, or "
                        "diverging below depth 1's edge); the lrs are recorded")
def test_deep_nets_beat_depth_1_at_every_lr_where_depth_1_is_stable(l4_csv, evidence):
    """Slides 003's fixed-lr comparison: at every lr at which depth 1 is stable, depth 2 and
    depth 3 beat depth 1. Per seed: the (lr, depth) pairs where that fails."""
    f = l4_csv.final
    lost = []
    for s in range(len(l4_csv.seeds)):
        stable = np.isfinite(f[s, 0])
        lost.append([(float(e), d + 1) for d in (1, 2)
                     for e, st, b in zip(l4_csv.lr_exponents, stable, f[s, d] < f[s, 0])
                     if st and not b])
    evidence.record("l4, 2565 rows: (lr exponent, depth) pairs where a deep net fails to beat "
                    "a stable depth 1, per seed", lost)
    evidence.check_every_seed(
        "l4, 2565 rows: seeds on which both deep nets beat depth 1 at every lr "
        "where depth 1 is stable", np.array([not x for x in lost]), seeds=l4_csv.seeds,
        reference=measured(0.0, f"1-6 losing pairs per 5 seeds, {SWEEP}"), pinned=PIN_EVERY_STABLE)


# --- control --------------------------------------------------------------------------------------
def check_l2_control(evidence, l2, l4, label):
    r2, r4 = record_ratios(evidence, l2, f"l2, {label}"), da.depth_ratios(l4)
    on_l2_seeds = [list(l4.seeds).index(s) for s in l2.seeds]
    r4 = {k: v[on_l2_seeds] for k, v in r4.items()}
    evidence.check_seeds(f"l2, {label}: depth1/depth2 ratio", r2["ratio2"], "median", "in",
                         (0.8, 1.25), seeds=l2.seeds)
    evidence.check_seeds(f"l2, {label}: depth1/depth3 ratio", r2["ratio3"], "median", "<=", 1.1,
                         seeds=l2.seeds)
    evidence.check_seeds(f"{label}: l4 minus l2 depth1/depth2 ratio, per seed",
                         r4["ratio2"] - r2["ratio2"], "median", ">=", 0.25, seeds=l2.seeds)


@pytest.mark.part("l2-no-advantage")
def test_depth_gives_no_advantage_on_l2(l2_csv, l4_csv, evidence):
    """l2 on the same grid: depth 2 ends within [0.8, 1.25] of depth 1 and depth 3 no better
    than 1.1x; the l4 advantage exceeds the l2 one by >= 0.25."""
    evidence.seeds(l2_csv.seeds)
    evidence.note(f"l2 optimum L* = {l2_csv.lstar:.10g} (least squares); L(0) = 0.5 matches the "
                  "start of the paper's l2 panel.")
    check_l2_control(evidence, l2_csv, l4_csv, "2565 rows")


@pytest.mark.part("l4-exact-rows")
def test_depth_gives_no_advantage_on_l2_on_the_exact_rows(l2_exact, l4_exact, evidence):
    """The control on the 1316 exact rows."""
    check_l2_control(evidence, l2_exact, l4_exact, "1316 exact rows")


# --- mechanism ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def e2e_runs(csv, seed):
    return {f"l{p}": da.e2e_vs_real(csv, p, seed) for p in (2, 4)}


def max_rel_dev(a, b):
    return float(np.max(np.abs(a - b) / b))


@pytest.mark.part("e2e-rule")
def test_end_to_end_rule_tracks_balanced_deep_training(e2e_runs, seed, evidence):
    """From an exactly balanced start, real depth-2 and depth-3 GD follow the single-output
    end-to-end rule W <- W - eta ||W||^{2-2/N} (grad L + (N-1) Pr_W grad L) within 2% of the loss
    at every recorded step, for l2 and l4."""
    c = CFG["e2e"]
    evidence.seeds([seed])
    evidence.note(f"Mechanism protocol: 2565 rows, end-to-end start w0 = random direction of norm "
                  f"{c['init_norm']}, width-1 factors exactly balanced (a_k = ||W_1|| = "
                  f"||w0||^(1/N)), lr {c['lr']}, {c['steps']} steps, loss compared at "
                  f"{len(e2e_runs['l2']['steps'])} recorded steps.")
    for name, r in e2e_runs.items():
        for j, dpt in enumerate(r["depths"]):
            evidence.check(f"{name}, depth {dpt}: max relative loss gap, e2e rule vs real "
                           "training (seed rule: the base seed)", max_rel_dev(r["e2e"][j],
                                                                              r["real"][j]),
                           "<=", 0.02)
    evidence.figure("e2e-rule-vs-real", da.plot_mechanism(e2e_runs),
                    "Real GD on balanced depth-2/3 nets (lines), the end-to-end rule (x) and "
                    "plain GD from the same end-to-end start (dotted), all 2565 rows.")


@pytest.mark.part("e2e-rule")
def test_plain_gd_from_the_same_start_does_not_track_deep_training(e2e_runs, evidence):
    """Control of the mechanism: plain GD on w0 differs from the deep nets' training by >= 20%."""
    for name, r in e2e_runs.items():
        for j, dpt in enumerate(r["depths"]):
            evidence.check(f"{name}, depth {dpt}: max relative loss gap, plain GD vs real deep "
                           "training (seed rule: the base seed)", max_rel_dev(r["gd"],
                                                                              r["real"][j]),
                           ">=", 0.2)


@pytest.mark.part("width-and-precision")
def test_hidden_width_barely_changes_depth_2(csv, seed, evidence):
    """Depth-2 GD from N(0, 0.01^2) at hidden width 1, 10, 100: the final l4 loss - L* differs
    from width 1's by < 5% (so width-1 nets stand for the paper's wide ones)."""
    seeds2 = [seed, seed + 1]
    evidence.seeds(seeds2)
    lr_e, steps = -2.625, T // 2
    r = da.hidden_width_effect(csv, 4, seeds2, 10.0 ** lr_e, steps)
    lstar = ln.optimum(csv, 4)
    sub = r["loss"][:, :, -1] - lstar                           # (S, W)
    evidence.note(f"Hidden width: l4, 2565 rows, lr 10^{lr_e} (depth 2's best-lr region), "
                  f"{steps} steps, every weight N(0, 0.01^2).")
    evidence.record("depth 2, final loss - L* per seed, widths " + str(r["widths"]), sub)
    evidence.check("depth 2: |subopt(width h) - subopt(width 1)| / subopt(width 1), h in 10, 100 "
                   "(max over both seeds)", np.max(np.abs(sub[:, 1:] - sub[:, :1]) / sub[:, :1]),
                   "<", 0.05)


def log_figure_distance(curve, reference):
    """max over recorded steps of |ln curve - ln reference|, over the reference's log-span
    ln L_0 - ln min L: the distance between the two curves on a log-loss plot, as a fraction of
    the plot's height. A relative loss gap is ill-posed during a steep drop (a curve a few steps
    late is tens of percent off there): seed 10003 gave 0.29, seeds 20-21 0.15-0.22."""
    curve, reference = np.log(curve), np.log(reference)
    return float(np.max(np.abs(curve - reference)) / (reference[0] - reference.min()))


@pytest.mark.part("e2e-rule")
def test_general_end_to_end_rule_tracks_multi_output_training(seed, evidence):
    """The multi-output rule W <- W - eta sum_j [WW^T]^{(j-1)/N} grad L [W^TW]^{(N-j)/N} follows
    a balanced depth-3, 3-output linear net (synthetic l2 regression) within 2% of the log-loss
    plot's height; plain GD from the same start does not (geometric mean over 8 seeds, rule set
    on seeds 0-99 and 10000-10099: over every window of 8 the rule's upper interval end was at
    most 0.0077 and plain GD's lower end at least 0.153)."""
    seeds = seed_range(seed, 8)
    runs = [da.multi_output_tracking(s) for s in seeds]
    c = da.MULTI
    evidence.seeds(seeds)
    evidence.note(f"Multi-output rule: synthetic l2 regression, n={c['n']}, d={c['d']}, "
                  f"k={c['k']} outputs, depth {c['depth']}, width {c['width']}, lr {c['lr']}, "
                  f"{c['steps']} steps, balanced start of norm {c['init_norm']}.")
    evidence.record("multi-output: max relative loss gap, general e2e rule vs real training, "
                    "per seed (the earlier single-seed statistic)",
                    [max_rel_dev(r["e2e"], r["real"]) for r in runs])
    evidence.check_seeds("multi-output: log-loss distance, general e2e rule vs real training "
                         "(fraction of the plot's height)",
                         [log_figure_distance(r["e2e"], r["real"]) for r in runs], "gmean",
                         "<=", 0.02, seeds=seeds,
                         reference=measured(0.00085, "median, seeds 0-99, 10000-10099"))
    evidence.check_seeds("multi-output: log-loss distance, plain GD vs real training (fraction "
                         "of the plot's height)",
                         [log_figure_distance(r["gd"], r["real"]) for r in runs], "gmean", ">=",
                         0.05, seeds=seeds,
                         reference=measured(0.37, "median, seeds 0-99, 10000-10099"))


@pytest.mark.part("claim1-exponent")
def test_claim_1_eigenvalues_have_exponent_2j_minus_1_not_the_slides_2j_minus_2(seed, evidence):
    """Claim 1: P_W's eigenvalue on u_r v_r'^T is sum_j s_r^{2(N-j)/N} s_r'^{2(j-1)/N} (the
    paper); slide 003 writes 2(j-2)/N, a typo that this check shows numerically."""
    errs = [da.claim1_check(s) for s in (seed, seed + 1, seed + 2)]
    evidence.check("Claim 1 with the paper's exponent 2(j-1)/N: max relative eigenvalue error "
                   "(max over 3 seeds, all pairs r, r')", max(e["paper"] for e in errs),
                   "<", 1e-10, theory(0.0, "Claim 1 is exact"))
    evidence.check("u_r v_r'^T is an eigenvector of P_W: max relative residual (max over 3 "
                   "seeds)", max(e["eigvec_residual"] for e in errs), "<", 1e-10)
    evidence.check("slide 003's exponent 2(j-2)/N: max relative eigenvalue error (min over 3 "
                   "seeds)", min(e["slide"] for e in errs), ">", 0.1)
    evidence.note("Slide 003 writes the eigenvalue exponent as 2(j-2)/N; the paper's 2(j-1)/N "
                  "matches P_W to rounding, the slide's is off by the recorded amount: a typo.")


@pytest.mark.part("width-and-precision")
def test_float32_steps_give_the_float64_suboptimality(exact, seed, evidence):
    """The precision the suboptimality needs: float32 steps end within 1% of float64's."""
    lrs = (-2.75, -2.5)
    kw = dict(seeds=[seed], lr_exponents=lrs, steps=T // 4)
    g32 = da.train_grid(exact, 4, dtype=torch.float32, **kw)
    g64 = da.train_grid(exact, 4, dtype=torch.float64, lstar=g32.lstar, **kw)
    a, b = g32.final - g32.lstar, g64.final - g64.lstar
    ok = np.isfinite(b)
    evidence.check("l4, 1316 rows: |subopt(float32) - subopt(float64)| / subopt(float64), depths "
                   f"1-3 x lr 10^{list(lrs)} at {T // 4} steps (max; seed rule: the base seed)",
                   float(np.max(np.abs(a[ok] - b[ok]) / b[ok])), "<", 0.01)
    evidence.check("same configurations diverge in float32 and float64",
                   int((np.isfinite(a) != ok).sum()), "==", 0)


# --- the kernels ---------------------------------------------------------------------------------
def max_rel(a, b) -> float:
    """max |a - b| / max |b| over all entries."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


def autograd_chain_grads(problem, p, P, d, trainable):
    """Autograd's gradients of sum over columns of L_p(W_1 * prod a_k) w.r.t. P (d + K, C), the
    frozen factors' rows zeroed as factor_grads zeroes them."""
    P = P.clone().requires_grad_()
    X, y = torch.tensor(problem.X), torch.tensor(problem.y)[:, None]
    w = P[:d] * P[d:].prod(0, keepdim=True)
    ((X @ w - y).abs() ** p).mean(0).div(p).sum().backward()
    return torch.cat([P.grad[:d], P.grad[d:] * trainable])


def kronecker_rule(W: np.ndarray, G: np.ndarray, N: int) -> np.ndarray:
    """The general rule's P_W applied to G through its Kronecker form (slides 003: P_W = sum_j
    [W^T W]^((N-j)/N) (x) [W W^T]^((j-1)/N) on vec(G), column-major), matrix powers by scipy."""
    from scipy.linalg import fractional_matrix_power as power
    k, d = W.shape
    P = sum(np.kron(np.real(power(W.T @ W, (N - j) / N)), np.real(power(W @ W.T, (j - 1) / N)))
            for j in range(1, N + 1))
    return (P @ G.ravel(order="F")).reshape((k, d), order="F")


@pytest.mark.part("kernels")
def test_hand_written_gradients_and_rules_match_autograd_and_closed_forms(csv, seed, evidence):
    """Every kernel the runs rely on, against autograd or an independent closed form, float64, on
    the 2565 rows: grad_fn (l2 from X^T X / m; l4 in the row layout, C < 16, and the column
    layout), factor_grads (depths 1-3 side by side, frozen factors masked), wide_factor_grads
    (depth 3, width 5), the single-output end-to-end step (vs the general rule with one row) and
    the general rule (vs the Kronecker form of P_W, N = 2, 3); and L*'s damped Newton point has a
    vanishing Newton decrement."""
    rng = np.random.default_rng(seed)
    d = csv.X.shape[1]
    X, y = torch.tensor(csv.X), torch.tensor(csv.y)[:, None]
    same = theory(0.0, "the same derivative, computed two ways")
    for p in (2, 4):
        g_of_w = ln.grad_fn(csv, p, torch.float64)
        for C in (3, 20):
            w = torch.tensor(rng.normal(0.0, 0.1, (d, C)), requires_grad=True)
            ((X @ w - y).abs() ** p).mean(0).div(p).sum().backward()
            evidence.check(f"grad_fn, l{p}, {C} columns vs autograd: max relative error",
                           max_rel(g_of_w(w.detach()), w.grad), "<", 1e-10, same)
        P = torch.tensor(rng.normal(0.0, 0.3, (d + 2, 3)))
        trainable = torch.tensor([[0.0, 1.0, 1.0], [0.0, 0.0, 1.0]])      # depths 1, 2, 3
        P[d:][trainable == 0] = 1.0
        grads, _ = ln.factor_grads(P, g_of_w, d, trainable)
        evidence.check(f"factor_grads, l{p}, depths 1-3 with the frozen-factor mask vs "
                       "autograd: max relative error",
                       max_rel(grads, autograd_chain_grads(csv, p, P, d, trainable)), "<", 1e-10,
                       same)
    Ws = [torch.tensor(rng.normal(0.0, 0.3, s), requires_grad=True)
          for s in ((2, 5, d), (2, 5, 5), (2, 1, 5))]
    w = (Ws[2] @ Ws[1] @ Ws[0])[:, 0, :]
    (((w @ X.T - y.T) ** 4).mean(1) / 4).sum().backward()
    g = ln.grad_fn(csv, 4, torch.float64)(w.detach().T).T[:, None, :]
    hand = ln.wide_factor_grads([W.detach() for W in Ws], g)
    evidence.check("wide_factor_grads, l4, depth 3, width 5 vs autograd: max relative error "
                   "over the three factors", max(max_rel(h, W.grad) for h, W in zip(hand, Ws)),
                   "<", 1e-10, same)
    w0 = rng.normal(0.0, 0.1, (d, 1))
    g0 = ln.grad_fn(csv, 4, torch.float64)(torch.tensor(w0)).numpy()
    for N in (2, 3):
        single = ln.e2e_step_single(torch.tensor(w0), torch.tensor(g0), 1.0, N).numpy()
        general = w0 - ln.e2e_direction_multi(w0.T, g0.T, N).T
        evidence.check(f"end-to-end rule, N = {N}: single-output step vs the general rule with "
                       "one row, max relative error of the step", max_rel(single - w0,
                                                                          general - w0),
                       "<", 1e-10, theory(0.0, "the single-output case of Theorem 1"))
        W, G = rng.normal(size=(4, 4)), rng.normal(size=(4, 4))
        evidence.check(f"general rule, N = {N}: e2e_direction_multi vs the Kronecker form of "
                       "P_W (scipy's fractional powers), max relative error",
                       max_rel(ln.e2e_direction_multi(W, G, N), kronecker_rule(W, G, N)), "<",
                       1e-8, theory(0.0, "the same operator"))
    # The benchmark's baseline must do the grid trainer's work, or their ratio means nothing.
    grid = da.train_grid(csv, 4, [seed], depths=[3], lr_exponents=np.array([-3.0]), steps=20,
                         dtype=torch.float64, lstar=0.0, config=BENCH_CONFIG)
    _, w_naive = da.train_naive(csv, 4, 3, 1e-3, seed, 20, dtype=torch.float64)
    evidence.check("train_naive (nn.Linear, torch.optim.SGD, autograd; the benchmarks' baseline) "
                   "vs the grid trainer, l4, depth 3, 20 steps from the same draw: max relative "
                   "error of the end-to-end vector", max_rel(w_naive, grid.w[0, 0, 0]), "<",
                   1e-10, theory(0.0, "the same gradient steps, computed two ways"))
    _, lstar, info = ln.solve_l4(csv)
    evidence.record("l4 optimum: L*, Newton iterations, ||grad L(w*)||", [lstar,
                    info["iterations"], info["grad_norm"]])
    # The certificate of L*, not the gradient's norm (3e-9 here, with Hessian eigenvalues down
    # to ~1e-8 that says little): the Newton decrement g^T H^-1 g / 2 estimates L(w*) - L*.
    evidence.check("l4 optimum: Newton decrement g^T H^-1 g / 2 at w* (L(w*) - L*), relative to "
                   "L*", info["newton_decrement"] / lstar, "<", 1e-12,
                   theory(0.0, "Newton's quadratic convergence; every suboptimality here is "
                               ">= 1e-4"))


# --- other optimizers (lecture notes 000/001) -----------------------------------------------------
@pytest.fixture(scope="module")
def optimizer_grids(exact, seeds, l4_exact):
    """Adam (depths 1-3) and AdaDelta (depth 1) on the 1316 exact rows, the first
    CONFIG["optimizer_seeds"] (3) of the default seeds: both checks are directions whose per-seed
    values stay far from 1 (Adam's ratios 1.2-1.4, AdaDelta's lead at least 1.16 over seeds
    0-124). AdaGrad is compared with depth-3 GD in the slow tier only: at T = 10^4 depth 3 has
    not left its start on some seeds (module docstring)."""
    seeds = seeds[:CFG["optimizer_seeds"]]
    return {name: da.train_grid(exact, 4, seeds, depths=(1,) if name != "adam" else (1, 2, 3),
                                lr_exponents=CFG["optimizers"][name], optimizer=name,
                                lstar=l4_exact.lstar)
            for name in ("adadelta", "adam")}


@pytest.mark.part("adam-depth")
def test_adam_with_depth_beats_adam_on_depth_1(optimizer_grids, evidence):
    """l4, 1316 rows: Adam on depth-2 and depth-3 nets ends closer to L* than Adam on depth 1
    (geometric mean over seeds: the per-seed ratios are concentrated, sd of log 0.04)."""
    g = optimizer_grids["adam"]
    evidence.seeds(g.seeds)
    check_adam_depth(evidence, g, "l4, 1316 rows", {2: 1.29, 3: 1.35}, f"median per seed, {SWEEP}")


def check_adam_depth(evidence, g, label, sizes, where):
    """The direction of 'depth helps Adam' with its interval (bound 1: the paper and the slides
    state no factor); the size is recorded beside it."""
    r = record_ratios(evidence, g, f"Adam, {label}")
    for j, key in ((2, "ratio2"), (3, "ratio3")):
        evidence.check_seeds(f"{label}: Adam depth1/depth{j} suboptimality ratio (direction)",
                             r[key], "gmean", ">", 1.0, seeds=g.seeds,
                             reference=measured(sizes[j], where))
        evidence.record(f"{label}: Adam depth1/depth{j}, geometric mean over seeds (the size)",
                        float(np.exp(np.mean(np.log(r[key])))))


@pytest.mark.part("adadelta-early-lead")
def test_adadelta_on_depth_1_leads_depth_3_gd_at_this_horizon(optimizer_grids, l4_exact,
                                                               evidence):
    """The early phase of Arora et al.'s comparison: at T = 10^4 AdaDelta on depth 1 is ahead
    of depth-3 GD on every seed. The crossover (~5 x 10^5 steps) is the slow tier's part
    adadelta-crossover."""
    g = optimizer_grids["adadelta"]
    adad = da.best_curves(g)[:, 0]
    gd3 = da.best_curves(l4_exact)[:len(g.seeds), 2]      # the same seeds as AdaDelta's
    lead = gd3[:, -1] / adad[:, -1]
    evidence.record("AdaDelta: chosen lr exponent per seed",
                    g.lr_exponents[ln.best_over_lr(g.final[:, 0])[1]])
    evidence.check_seeds(f"GD(depth 3) / AdaDelta(depth 1) suboptimality at step {T}", lead,
                         "median", ">", 1.0, seeds=g.seeds,
                         reference=measured(1.42, f"median per seed, {SWEEP}; min 1.16"))
    adam = da.best_curves(optimizer_grids["adam"])
    curves = {"GD, depth 1": np.median(da.best_curves(l4_exact)[:, 0], 0),
              "GD, depth 3": np.median(gd3, 0), "AdaDelta, depth 1": np.median(adad, 0)}
    curves.update({f"Adam, depth {d}": np.median(adam[:, j], 0) for j, d in enumerate((1, 2, 3))})
    evidence.figure("optimizers", da.plot_optimizers(curves, l4_exact.steps,
                                                      "l4, 1316 exact rows"),
                    f"loss - L* vs step, each method at its best lr (median over "
                    f"{len(g.seeds)} seeds).")


# --- slow: T = 5 x 10^4 and the paper scale ------------------------------------------------------
LONG = "T = 5 x 10^4"
EARLIER = "an earlier measurement, seeds 0-4, T = 5 x 10^4"


# Depth 3 at T = 5 x 10^4 on the 2565 rows, measured on seeds 0-29: its ratio is >= 1.2 on 28 of
# 30 seeds (seed 5: 0.996, seed 6: 1.12), so a median over 5 seeds straddles 1.2 for windows
# holding both; over 10 seeds it does not. The l4 grid on the 2565 rows runs 10 seeds.
N_LONG_CSV_L4 = 10


@pytest.fixture(scope="module")
def long_grids(csv, exact, seeds, seed, experiment_cache):
    """T = 5 x 10^4 with the wide grid (quarter decades from 10^-4, then sixteenths)."""
    grid = {p: ln.lr_grid(p, CFG["wide_exponents"], CFG) for p in (4, 2)}
    seeds_of = {("csv", 4): seed_range(seed, N_LONG_CSV_L4)}
    return {(name, p): experiment_cache(
                da.train_grid, problem, p, seeds_of.get((name, p), seeds), lr_exponents=grid[p],
                steps=CFG["research_steps"])
            for name, problem in (("csv", csv), ("exact", exact)) for p in (4, 2)}


@pytest.mark.part("l4-depth3")
@pytest.mark.slow
def test_depth_3_accelerates_l4_at_the_longer_horizon(long_grids, evidence):
    """T = 5 x 10^4, 10 seeds, the wide grid: depth 3 (and depth 2, recorded) ends closer to the
    l4 optimum than depth 1, each at its best lr, on the 2565 rows (the 1316 exact rows
    recorded)."""
    g = long_grids[("csv", 4)]
    evidence.seeds(g.seeds)
    evidence.note(f"{LONG}, lr grid 10^e for e in {[float(e) for e in g.lr_exponents]}.")
    r = record_ratios(evidence, g, f"{LONG}, l4, 2565 rows")
    evidence.record(f"{LONG}, l4, 2565 rows: depth1/depth2 ratio per seed", r["ratio2"])
    evidence.check_seeds(f"{LONG}, l4, 2565 rows: depth1/depth3 suboptimality ratio",
                         r["ratio3"], "median", ">=", 1.2, seeds=g.seeds,
                         reference=measured(1.42, "median per seed, seeds 0-29; seed 5: 0.996"))
    exact = da.depth_ratios(long_grids[("exact", 4)])
    evidence.record(f"{LONG}, l4, 1316 exact rows: depth1/depth2, depth1/depth3 ratio per seed "
                    "(5 seeds, not checked: not measured over enough seeds)",
                    [exact["ratio2"], exact["ratio3"]], measured(1.47, EARLIER + ", depth 3"))


@pytest.mark.part("l2-no-advantage")
@pytest.mark.slow
def test_depth_gives_no_advantage_on_l2_at_the_longer_horizon(long_grids, evidence):
    """T = 5 x 10^4: the l2 control on both data sets."""
    for key, label in (("csv", "2565 rows"), ("exact", "1316 exact rows")):
        check_l2_control(evidence, long_grids[(key, 2)], long_grids[(key, 4)],
                         f"{label}, {LONG}")


# The fraction of the 10 seeds with no losing (lr, depth) pair at T = 5 x 10^4: 0 on seeds 0-9
# (measured at base seed 0 only: the T = 5 x 10^4 grid costs ~11 min here); as at T = 10^4 the
# pin allows one seed in five without a losing pair.
PIN_EVERY_STABLE_LONG = (0.0, 0.2)


@pytest.mark.part("every-stable-lr")
@pytest.mark.slow
@known_non_reproduction("Not at every lr at T = 5 x 10^4 either: below 10^-3.5 depth 3 is still "
                        "near its start, and near depth 1's edge the deep nets diverge or lag "
                        "(seeds 0-9: 10-22 losing (lr, depth) pairs each); the pairs are recorded")
def test_deep_nets_beat_depth_1_at_every_stable_lr_at_the_longer_horizon(long_grids, evidence):
    """T = 5 x 10^4: at every lr where depth 1 is stable, both deep nets beat it, per seed."""
    g = long_grids[("csv", 4)]
    f = g.final
    lost = [[(float(e), d + 1) for d in (1, 2)
             for e, st, b in zip(g.lr_exponents, np.isfinite(f[s, 0]), f[s, d] < f[s, 0])
             if st and not b] for s in range(len(g.seeds))]
    evidence.record(f"{LONG}, 2565 rows: (lr exponent, depth) pairs where a deep net fails to "
                    "beat a stable depth 1, per seed", lost)
    evidence.check_every_seed(f"{LONG}, 2565 rows: seeds on which both deep nets beat depth 1 at "
                              "every lr where depth 1 is stable", np.array([not x for x in lost]),
                              seeds=g.seeds, pinned=PIN_EVERY_STABLE_LONG)


@pytest.fixture(scope="module")
def long_optimizer_grids(exact, seeds, experiment_cache):
    kw = dict(steps=CFG["research_steps"], lstar=ln.optimum(exact, 4))
    grids = {name: experiment_cache(da.train_grid, exact, 4, seeds, depths=(1,) if name != "adam" else (1, 2, 3),
                                 lr_exponents=CFG["optimizers"][name], optimizer=name, **kw)
             for name in ("adagrad", "adadelta", "adam")}
    grids["gd3"] = experiment_cache(da.train_grid, exact, 4, seeds, depths=(3,),
                                 lr_exponents=CFG["wide_exponents"][:12], **kw)
    return grids


@pytest.mark.part("adagrad-vs-depth3")
@pytest.mark.slow
def test_depth_3_gd_beats_adagrad_on_depth_1(long_optimizer_grids, evidence):
    """T = 5 x 10^4, 1316 exact rows: depth-3 GD at its best lr ends closer to L* than AdaGrad
    on depth 1 at its best lr (AdaDelta's ratio recorded)."""
    g = long_optimizer_grids
    evidence.seeds(g["gd3"].seeds)
    gd3 = ln.best_over_lr(g["gd3"].final[:, 0])[0] - g["gd3"].lstar
    ratio = {}
    for name in ("adagrad", "adadelta"):
        sub = ln.best_over_lr(g[name].final[:, 0])[0] - g["gd3"].lstar
        ratio[name] = sub / gd3
        evidence.record(f"{LONG}: {name} depth 1 best loss - L* per seed", sub)
        evidence.record(f"{LONG}: {name} / GD(depth 3) per seed", ratio[name])
    evidence.check_seeds(f"{LONG}, 1316 rows: AdaGrad(depth 1) / GD(depth 3) suboptimality",
                         ratio["adagrad"], "median", ">=", 1.2, seeds=g["gd3"].seeds,
                         reference=measured(1.74, "median per seed, seeds 0-29; min 1.51"))


@pytest.mark.part("adam-depth")
@pytest.mark.slow
def test_adam_with_depth_beats_adam_on_depth_1_at_the_longer_horizon(long_optimizer_grids,
                                                                     evidence):
    """T = 5 x 10^4, 1316 exact rows: Adam on depth 2/3 vs Adam on depth 1, the direction with
    its interval (an earlier bound of 1.2, ours, straddled: gmean 1.232, interval 1.195-1.256)."""
    g = long_optimizer_grids["adam"]
    evidence.seeds(g.seeds)
    check_adam_depth(evidence, g, f"{LONG}, 1316 rows", {2: 1.23, 3: 1.24},
                     "gmean over seeds 0-4, T = 5 x 10^4 (intervals 1.195-1.256, 1.228-1.255)")


# Paper scale: eighth decades, sixteenth near depth 1's edge (which moves down with the horizon).
PAPER_EXPONENTS = (-3.5, -3.25, -3.0, -2.875, -2.75, -2.625, -2.5625, -2.5, -2.4375, -2.375,
                   -2.25)
FIG5 = "Figure 5 (Ethanol, l4), read off at 10^6 steps"


@pytest.fixture(scope="module")
def paper_grids(csv, seed, experiment_cache):
    seeds3 = seed_range(seed, CFG["paper_seeds"])
    grid = {p: ln.lr_grid(p, PAPER_EXPONENTS, CFG) for p in (4, 2)}
    return {p: experiment_cache(da.train_grid, csv, p, seeds3, lr_exponents=grid[p], steps=CFG["paper_steps"])
            for p in (2, 4)}


@pytest.mark.part("l4-depth3")
@pytest.mark.slow
def test_paper_scale_deep_nets_pull_ahead_on_l4(paper_grids, evidence):
    """10^6 steps, 3 seeds, all 2565 rows: loss - L* per depth (the paper's figure) and the
    depth1/depthN ratio over time. The paper's plot: depth 2 ~2x and depth 3 ~6x closer to the
    optimum than depth 1 at 10^6 steps."""
    g4, g2 = paper_grids[4], paper_grids[2]
    evidence.seeds(g4.seeds)
    r = record_ratios(evidence, g4, "paper scale, l4")
    over = da.ratio_over_time(g4)
    for t in (10**4, 10**5, 2 * 10**5, 5 * 10**5, 10**6):
        k = min(int(np.searchsorted(over["steps"], t)), len(over["steps"]) - 1)
        evidence.record(f"paper scale, l4: median depth1/depth2, depth1/depth3 at horizon {t}",
                        [over["ratio2"][k], over["ratio3"][k]])
    evidence.check_seeds("paper scale, l4: depth1/depth2 at 10^6 steps", r["ratio2"], "median",
                         ">=", 1.25, seeds=g4.seeds, reference=figure(2.0, FIG5))
    evidence.check_seeds("paper scale, l4: depth1/depth3 at 10^6 steps", r["ratio3"], "median",
                         ">=", 1.2, seeds=g4.seeds, reference=figure(6.0, FIG5))
    r2 = da.depth_ratios(g2)
    evidence.record("paper scale, l2: depth1/depth2, depth1/depth3 (median over 3 seeds)",
                    [np.median(r2["ratio2"]), np.median(r2["ratio3"])])
    evidence.figure("paper-scale", da.plot_curves({"l2": g2, "l4": g4}, "10^6 steps, 2565 rows"),
                    "The paper's figure at its scale: loss - L* (log) per depth, best lr each.")
    evidence.figure("ratio-over-time", da.plot_ratio_over_time({"l4": over,
                                                                "l2": da.ratio_over_time(g2)}),
                    "Median depth1/depthN suboptimality ratio of the protocol run to horizon t.")


# GD(depth 3) / AdaDelta(depth 1) at 10^6 steps: median 1.090 over seeds 0-2 (interval
# 1.084-1.103), measured at base seed 0 only (the 10^6-step grids cost ~30 min here); the pin
# leaves ~5% on either side, so a 5% move of the finding is noticed.
PIN_CROSSOVER = (1.04, 1.15)


@pytest.mark.part("adadelta-crossover")
@pytest.mark.slow
@known_non_reproduction("Measured (seeds 0-2, 2565 rows, lr re-chosen at 10^6 steps): depth-3 GD "
                        "is still 1.09x farther from L* than AdaDelta on depth 1 at 10^6 steps "
                        "and never overtakes it; the paper's crossover at ~5 x 10^5 steps does "
                        "not reproduce here")
def test_paper_scale_depth_3_gd_overtakes_adadelta(csv, seed, paper_grids, evidence,
                                                   experiment_cache):
    """10^6 steps, all 2565 rows, lr re-chosen for that horizon: depth-3 GD ends closer to L*
    than AdaDelta on depth 1 (the paper: it overtakes at ~5 x 10^5 steps)."""
    seeds3 = paper_grids[4].seeds
    g = experiment_cache(da.train_grid, csv, 4, seeds3, depths=(1,),
                         lr_exponents=CFG["optimizers"]["adadelta"][:7],
                      steps=CFG["paper_steps"], optimizer="adadelta", lstar=paper_grids[4].lstar)
    adad_seeds = da.best_curves(g)[:, 0]
    gd3_seeds = da.best_curves(paper_grids[4])[:, 2]
    adad, gd3 = np.median(adad_seeds, 0), np.median(gd3_seeds, 0)
    evidence.record("paper scale: AdaDelta chosen lr exponent per seed",
                    g.lr_exponents[ln.best_over_lr(g.final[:, 0])[1]])
    evidence.record("paper scale: GD depth-3 chosen lr exponent per seed",
                    da.depth_ratios(paper_grids[4])["best_lr"][:, 2])
    for t in (10**4, 10**5, 3 * 10**5, 5 * 10**5, 10**6):
        k = min(int(np.searchsorted(g.steps, t)), len(g.steps) - 1)
        evidence.record(f"paper scale: GD(depth 3) / AdaDelta(depth 1) at step {t} (median "
                        "curves)", gd3[k] / adad[k])
    behind = np.flatnonzero(gd3 > adad)
    cross = int(g.steps[behind[-1] + 1]) if len(behind) and behind[-1] + 1 < len(g.steps) else (
        0 if not len(behind) else math.inf)
    evidence.record("paper scale: first step after which depth-3 GD stays ahead of AdaDelta "
                    "(median curves; inf = never)", cross,
                    figure(5e5, "Figure 5, crossover read off the plot"))
    evidence.check_seeds("paper scale: GD(depth 3) / AdaDelta(depth 1) suboptimality at 10^6 "
                         "steps", gd3_seeds[:, -1] / adad_seeds[:, -1], "median", "<", 1.0,
                         seeds=seeds3, reference=measured(1.09, "median, seeds 0-2"),
                         pinned=PIN_CROSSOVER)


# --- gpu: the convnet -----------------------------------------------------------------------------
@pytest.mark.part("mnist-convnet")
@pytest.mark.gpu
def test_overparameterized_convnet_lowers_training_cross_entropy(data_dir, device, seed, evidence,
                                                                experiment_cache):
    """The TensorFlow tutorial's MNIST convnet vs the same net with each dense matrix a product
    of two (+~16% parameters): the overparameterized net's batch cross-entropy is lower at the
    end of training (moving average, mean over 2 seeds)."""
    images, labels = load_mnist(data_dir)
    c = da.CONVNET
    seeds2 = [seed, seed + 1]
    evidence.seeds(seeds2)
    logs = {}
    for over in (False, True):
        runs = [experiment_cache(da.train_convnet, images, labels, over, s, device)
                for s in seeds2]
        logs["product of two" if over else "original"] = {
            k: np.mean([r[k] for r in runs], 0) for k in ("ce", "penalty")}
        logs["product of two" if over else "original"]["params"] = runs[0]["params"]
    base, over = logs["original"], logs["product of two"]
    evidence.note(f"Trained on the {len(labels)} MNIST test images (the only MNIST images in the "
                  f"data directory), {c['steps']} steps of batch {c['batch']}; cross-entropy and "
                  "the 5e-4 L2 penalty logged separately (the tutorial's 'batch loss' is their "
                  "sum).")
    evidence.record("parameters: original, product of two", [base["params"], over["params"]])
    evidence.check("parameter increase of the product-of-two net", over["params"] /
                   base["params"] - 1, "in", (0.14, 0.18),
                   theory(0.16, "the added square factors' parameter count"))
    w = c["smooth"]
    ce_b, ce_o = base["ce"][-w:].mean(), over["ce"][-w:].mean()
    evidence.record(f"final cross-entropy, last {w} steps: original, product of two",
                    [ce_b, ce_o])
    evidence.check("cross-entropy ratio original / product of two, last 500 steps (mean over 2 "
                   "seeds)", ce_b / ce_o, ">", 1.0)
    evidence.figure("convnet", da.plot_convnet(
        {k: v for k, v in logs.items()}, w), "Batch cross-entropy and penalty, moving average.")


# --- benchmarks -----------------------------------------------------------------------------------
BENCH_STEPS = 500
BENCH_NAIVE = [(1, -3.0), (2, -3.0), (3, -3.0)]          # (depth, lr exponent) of the naive loop
BENCH_EXPONENTS = (-3.5, -3.25, -3.0, -2.875, -2.75, -2.625)
# The claim's runs record ~160 of 10^4 steps; 500 steps with that density of float64 loss
# evaluations would time the recording, not the stepping: the benchmark records 20 steps.
BENCH_CONFIG = {**CFG, "n_log": 10, "n_linear": 10}
FLOPS_PER_CONFIG_STEP = "4 m d (two GEMMs of 2 m d flops per column)"


def _median(benchmark):
    stats = getattr(benchmark, "stats", None)
    return getattr(getattr(stats, "stats", None), "median", None)


def bench_grid(benchmark, csv, seeds, p):
    """Time the grid trainer; its units are the config-steps it really ran (a configuration that
    diverges is dropped early: seed 40's depth 1 at 10^-2.75, for one)."""
    g = benchmark.pedantic(da.train_grid, args=(csv, p, seeds),
                           kwargs=dict(lr_exponents=BENCH_EXPONENTS, steps=BENCH_STEPS,
                                       lstar=0.0, config=BENCH_CONFIG), rounds=3, iterations=1)
    benchmark.extra_info["units"] = g.config_steps
    return g


def test_bench_naive_per_config_loop(benchmark, csv, seed):
    """Baseline: slide 003's train(), one configuration at a time (nn.Linear + optim.SGD +
    autograd + float(loss) every step), l4 on the 2565 rows."""
    benchmark.group = "depth-acceleration: l4 grid, config-steps"
    benchmark.extra_info["units"] = len(BENCH_NAIVE) * BENCH_STEPS

    def run():
        for depth, e in BENCH_NAIVE:
            da.train_naive(csv, 4, depth, 10.0**e, seed, BENCH_STEPS)

    benchmark.pedantic(run, rounds=2, iterations=1, warmup_rounds=1)


def test_bench_batched_grid(benchmark, csv, seeds, evidence):
    """The grid trainer: 5 seeds x 3 depths x 6 lrs as the columns of one matrix, hand-derived
    gradients, one GEMM pair per step, l4 on the 2565 rows."""
    benchmark.group = "depth-acceleration: l4 grid, config-steps"
    benchmark.extra_info["baseline"] = "test_bench_naive_per_config_loop"
    g = bench_grid(benchmark, csv, seeds, 4)
    med = _median(benchmark)
    evidence.note("The l4 step is GEMM-bound: 4 m d = 1.31 MFLOP per config-step, so at this "
                  "machine's single-thread float32 GEMM rate (the GEMM benchmark) the trainer "
                  "cannot exceed ~55k config-steps/s, about 19x the naive loop after its warm-up "
                  "round; the l2 trainer (Gram matrix) is not bound that way.")
    if med:
        evidence.record(f"batched grid trainer: achieved GFLOP/s ({FLOPS_PER_CONFIG_STEP})",
                        g.config_steps * 4 * csv.m * csv.X.shape[1] / med / 1e9)


def test_bench_naive_per_config_loop_l2(benchmark, csv, seed):
    """Baseline for l2: slide 003's train() with p = 2 (a pass over all 2565 rows per step)."""
    benchmark.group = "depth-acceleration: l2 grid, config-steps"
    benchmark.extra_info["units"] = len(BENCH_NAIVE) * BENCH_STEPS

    def run():
        for depth, e in BENCH_NAIVE:
            da.train_naive(csv, 2, depth, 10.0**e, seed, BENCH_STEPS)

    benchmark.pedantic(run, rounds=2, iterations=1, warmup_rounds=1)


def test_bench_batched_grid_l2(benchmark, csv, seeds):
    """The grid trainer on l2: X^T X / m and X^T y / m only (one 128 x 128 x C GEMM per step)."""
    benchmark.group = "depth-acceleration: l2 grid, config-steps"
    benchmark.extra_info["baseline"] = "test_bench_naive_per_config_loop_l2"
    bench_grid(benchmark, csv, seeds, 2)


def test_bench_gemm_of_the_same_shapes(benchmark, csv, seeds, evidence):
    """The step's two GEMMs alone, X W (m x d x C) and X^T R (d x m x C), float32, one thread:
    the throughput ceiling of the trainer."""
    benchmark.group = "depth-acceleration: GEMM, flops"
    C = len(seeds) * 3 * len(BENCH_EXPONENTS)
    X = torch.tensor(csv.X, dtype=torch.float32)
    Xt = X.T.contiguous()
    W = torch.randn(csv.X.shape[1], C)
    reps = 200
    flops = reps * 4 * csv.m * csv.X.shape[1] * C
    benchmark.extra_info["units"] = flops

    def run():
        for _ in range(reps):
            Xt @ (X @ W)

    benchmark.pedantic(run, rounds=3, iterations=1)
    med = _median(benchmark)
    if med:
        evidence.record("GEMM of the trainer's shapes: GFLOP/s (this machine, this run)",
                        flops / med / 1e9)
