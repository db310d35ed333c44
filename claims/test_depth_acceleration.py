"""Overparameterizing a linear model by depth accelerates gradient descent on l4 regression, and
not on l2 regression, on the UCI ethanol data.

Sources: Arora, Cohen, Hazan, "On the Optimization of Deep Networks: Implicit Acceleration by
Overparameterization", ICML 2018 (the end-to-end update rule, Theorem 1 and Claim 1; the Ethanol
and MNIST-convnet experiments); slides 003 of the course (a reproduction of it, Experiments 1-4);
lecture notes 000/001 for AdaGrad, AdaDelta and Adam.

Which tier holds which protocol:
- default: all 2565 ethanol rows (the paper's set) and, as a cross-check, the 1316 exact rows of
  the UCI batch files present; 5 seeds, T = 10^4 full-batch steps, the fine lr grid of
  ``CONFIG["lr_exponents"]`` for every depth; the research bounds (measured at T = 5 x 10^4),
  with depth 3's, which needs the longer horizon, a strict xfail here.
- slow: the research protocol (T = 5 x 10^4, 5 seeds, the research bounds, the wide grid) and
  the paper scale (10^6 steps, 3 seeds, loss - L* per depth, the ratio over time, AdaDelta's
  crossover with depth-3 GD).
- gpu: the MNIST convnet with and without the product-of-two dense layers.
"""

import math

import numpy as np
import pytest
import torch

from reproductions import depth_acceleration as da
from reproductions.data import DataUnavailable, load_mnist

CLAIM = {
    "id": "depth-acceleration",
    "title": "Depth accelerates gradient descent on l4 regression, not on l2 "
             "(Arora, Cohen & Hazan 2018)",
    "statement": "On the UCI ethanol regression (z-scored, no bias), gradient descent on a depth-2 "
                 "or depth-3 linear network with near-zero initialization reaches a lower l4 loss "
                 "than on the depth-1 model, each at its best learning rate, while on l2 depth "
                 "gives no such advantage; the deep nets follow the end-to-end update rule "
                 "W <- W - eta ||W||^{2-2/N} (grad L + (N-1) Pr_W grad L).",
    "sources": ["Arora, Cohen, Hazan, On the Optimization of Deep Networks: Implicit Acceleration "
                "by Overparameterization, ICML 2018: the end-to-end update rule (Theorem 1, "
                "Claim 1) and the Ethanol and MNIST-convnet experiments",
                "Slides 003 (a reproduction of Arora et al.: end-to-end rule, Experiments 1-4)",
                "Lecture notes 000/001: AdaGrad, AdaDelta, Adam"],
}
CFG = da.CONFIG
T = CFG["steps"]


def problem_or_skip(data_dir, source):
    try:
        return da.load_problem(data_dir, source)
    except DataUnavailable as e:
        pytest.skip(str(e))


@pytest.fixture(scope="module")
def csv(data_dir):
    return problem_or_skip(data_dir, "csv")


@pytest.fixture(scope="module")
def exact(data_dir):
    return problem_or_skip(data_dir, "batches")


@pytest.fixture(scope="module")
def seeds(seed):
    return list(range(seed, seed + CFG["n_seeds"]))


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
                  f"for e in {list(grid.lr_exponents)} (the same for every depth), best lr per "
                  "depth and seed by final loss, NaN/divergence counted as +inf; L* from a direct "
                  f"solver (l{grid.p}: {'least squares' if grid.p == 2 else 'damped Newton'}) = "
                  f"{grid.lstar:.10g}; steps in float32, losses evaluated in float64.")


def check_ratios(evidence, grid, label, bound2, bound3=None, paper2=None, paper3=None):
    """Record the per-seed ratios; check depth 2's median (and depth 3's where ``bound3``)."""
    r = da.depth_ratios(grid)
    n = len(grid.seeds)
    evidence.record(f"{label}: best loss - L* per seed, depth 1/2/3", r["subopt"])
    evidence.record(f"{label}: chosen lr exponent per seed, depth 1/2/3", r["best_lr"])
    evidence.record(f"{label}: depth1/depth2 ratio per seed", r["ratio2"])
    evidence.record(f"{label}: depth1/depth3 ratio per seed", r["ratio3"])
    evidence.record(f"{label}: depth1/depth2 ratio (min over all {n} seeds)", r["ratio2"].min())
    evidence.record(f"{label}: depth1/depth3 ratio (min over all {n} seeds)", r["ratio3"].min())
    evidence.check(f"{label}: depth1/depth2 suboptimality ratio (median over {n} seeds)",
                   np.median(r["ratio2"]), ">=", bound2, paper=paper2)
    if bound3 is None:
        evidence.record(f"{label}: depth1/depth3 suboptimality ratio (median over {n} seeds)",
                        np.median(r["ratio3"]), paper=paper3)
    else:
        evidence.check(f"{label}: depth1/depth3 suboptimality ratio (median over {n} seeds)",
                       np.median(r["ratio3"]), ">=", bound3, paper=paper3)
    return r


# --- effect ---------------------------------------------------------------------------------------
# The research bounds (depth1/depth2 >= 1.25, depth1/depth3 >= 1.2, medians over 5 seeds) were
# measured at T = 5 x 10^4; the slow tier checks them there. The default tier runs T = 10^4 and
# holds the same bounds: depth 2 meets its bound there, depth 3 does not yet (a strict xfail).
RESEARCH_L4_BOUND2, RESEARCH_L4_BOUND3 = 1.25, 1.2


def test_depth_2_reaches_lower_l4_loss_than_depth_1(csv, l4_csv, l2_csv, evidence):
    """All 2565 rows: each depth at its best lr, depth 2 ends closer to the l4 optimum than
    depth 1 (median over 5 seeds of the suboptimality ratio, research bound 1.25)."""
    evidence.seeds(l4_csv.seeds)
    protocol_note(evidence, csv, l4_csv)
    evidence.note(f"Default tier: T = {T} steps, with the research bounds measured at "
                  "T = 5 x 10^4 (the slow tier runs that protocol). Depth 3's 1.2x is a strict "
                  "xfail at this horizon: it needs longer to leave its near-zero start.")
    check_ratios(evidence, l4_csv, "l4, 2565 rows", RESEARCH_L4_BOUND2)
    evidence.figure("loss-minus-optimum", da.plot_curves({"l2": l2_csv, "l4": l4_csv},
                                                           f"{csv.summary}"),
                    f"loss - L* vs step (log-log), depths 1/2/3 each at its best lr per seed "
                    f"(thin: each of {len(l4_csv.seeds)} seeds; bold: median), l2 and l4 side by "
                    "side, all 2565 rows.")


def test_depth_1_baseline_is_tuned_at_its_stability_edge(l4_csv, evidence):
    """The depth-1 baseline is honestly tuned: on every seed its chosen lr is the largest that
    did not diverge, and the next lr of the grid diverged."""
    f = l4_csv.final[:, 0]
    _, arg = da.best_over_lr(f)
    at_edge = [int(a + 1 < f.shape[1] and not np.isfinite(f[s, a + 1]))
               for s, a in enumerate(arg)]
    evidence.record("l4, 2565 rows: depth-1 chosen lr exponent per seed",
                    l4_csv.lr_exponents[arg])
    evidence.check("l4, 2565 rows: seeds whose depth-1 lr is the largest stable one, the next "
                   f"diverging (of all {len(at_edge)} seeds)", sum(at_edge), "==", len(at_edge))


def test_every_best_lr_lies_inside_its_grid(l4_csv, l2_csv, evidence):
    """The grids bracket every choice: for every loss, depth and seed the best lr is neither the
    grid's smallest nor its largest value."""
    for name, g in (("l4", l4_csv), ("l2", l2_csv)):
        _, arg = da.best_over_lr(g.final)
        inside = ((arg > 0) & (arg < len(g.lr_exponents) - 1)).sum()
        evidence.check(f"{name}, 2565 rows: (seed, depth) pairs whose best lr is interior to the "
                       f"grid (of all {arg.size}: 5 seeds x 3 depths)", int(inside), "==",
                       arg.size)


def test_deep_nets_reach_depth_1_final_loss_before_the_horizon(l4_csv, evidence):
    """Depth 2 and depth 3 (at their best lr) reach depth 1's final l4 loss before step T."""
    best, arg = da.best_over_lr(l4_csv.final)
    n = len(l4_csv.seeds)
    for j, research in ((1, 0.40), (2, 0.6)):
        frac = np.array([da.time_to_reach(l4_csv, best[s, 0], s, j, arg[s, j])
                         for s in range(n)])
        evidence.record(f"l4, 2565 rows: depth {j + 1} reaches depth 1's final loss at this "
                        f"fraction of T, per seed (research: {research} at T = 5e4 on the 1316 "
                        "rows)", frac)
        evidence.check(f"l4, 2565 rows: depth {j + 1}: fraction of T to reach depth 1's final "
                       f"loss (max over all {n} seeds)", frac.max(), "<", 1.0)


def test_cross_check_on_the_1316_exact_rows(exact, l4_exact, evidence):
    """The same protocol on the exact UCI rows of the 8 batch files present."""
    evidence.seeds(l4_exact.seeds)
    protocol_note(evidence, exact, l4_exact)
    check_ratios(evidence, l4_exact, "l4, 1316 exact rows", RESEARCH_L4_BOUND2)


@pytest.mark.xfail(strict=True, reason="At T = 10^4 depth 3 is not yet 1.2x closer to the l4 "
                   "optimum than depth 1 (it needs longer to leave its near-zero start); the "
                   "research protocol at T = 5 x 10^4 (slow tier) meets the bound")
def test_depth_3_is_1p2x_closer_to_the_l4_optimum_at_the_default_horizon(l4_csv, l4_exact,
                                                                         evidence):
    """The research bound for depth 3 (median depth1/depth3 >= 1.2), held at the default tier's
    shorter horizon on both data sets."""
    medians = {label: float(np.median(da.depth_ratios(g)["ratio3"]))
               for label, g in (("l4, 2565 rows", l4_csv), ("l4, 1316 exact rows", l4_exact))}
    for label, value in medians.items():
        evidence.record(f"{label}: depth1/depth3 ratio at T = {T} (median over 5 seeds)", value)
    for label, value in medians.items():
        evidence.check(f"{label}: depth1/depth3 suboptimality ratio at T = {T} (median over 5 "
                       "seeds)", value, ">=", RESEARCH_L4_BOUND3)


@pytest.mark.xfail(strict=True, reason="Not at every lr: depth 3 loses to depth 1 at several lrs "
                   "where depth 1 is stable (at small lr it has not left its near-zero start by "
                   "step T; near depth 1's edge it diverges first); the lrs are recorded")
def test_deep_nets_beat_depth_1_at_every_lr_where_depth_1_is_stable(l4_csv, evidence):
    """Research statement: at every fixed lr at which depth 1 is stable on all seeds, depth 2
    and depth 3 beat depth 1 on every seed."""
    f = l4_csv.final
    stable = np.isfinite(f[:, 0]).all(0)
    lost = {}
    for j in (1, 2):
        beats = (f[:, j] < f[:, 0]).all(0)
        lost[j + 1] = [float(e) for e, s, b in zip(l4_csv.lr_exponents, stable, beats)
                       if s and not b]
        evidence.record(f"l4, 2565 rows: lr exponents (depth 1 stable on all seeds) where depth "
                        f"{j + 1} fails to beat depth 1 on some seed", lost[j + 1])
    won = [float(e) for e, s in zip(l4_csv.lr_exponents, stable)
           if s and (f[:, 1:, list(l4_csv.lr_exponents).index(e)] < f[:, :1, list(
               l4_csv.lr_exponents).index(e)]).all()]
    evidence.record("l4, 2565 rows: lr exponents where both deep nets beat depth 1 on every "
                    "seed", won)
    evidence.check("l4, 2565 rows: (lr, depth) pairs with depth 1 stable on all 5 seeds where "
                   "a deep net fails to beat it on some seed", len(lost[2]) + len(lost[3]),
                   "==", 0)


# --- control --------------------------------------------------------------------------------------
def test_depth_gives_no_advantage_on_l2(l2_csv, l4_csv, evidence):
    """l2 on the same grid: depth 2 ends within [0.8, 1.25] of depth 1 and depth 3 no better
    than 1.1x; the l4 advantage exceeds the l2 one by >= 0.25."""
    evidence.seeds(l2_csv.seeds)
    evidence.note(f"l2 optimum L* = {l2_csv.lstar:.10g} (least squares); L(0) = 0.5 matches the "
                  "start of the paper's l2 panel.")
    r2, r4 = da.depth_ratios(l2_csv), da.depth_ratios(l4_csv)
    n = len(l2_csv.seeds)
    evidence.record("l2, 2565 rows: best loss - L* per seed, depth 1/2/3", r2["subopt"])
    evidence.record("l2, 2565 rows: chosen lr exponent per seed, depth 1/2/3", r2["best_lr"])
    evidence.check(f"l2, 2565 rows: depth1/depth2 ratio (median over {n} seeds; research 0.90)",
                   np.median(r2["ratio2"]), "in", (0.8, 1.25))
    evidence.check(f"l2, 2565 rows: depth1/depth3 ratio (median over {n} seeds; research 0.96)",
                   np.median(r2["ratio3"]), "<=", 1.1)
    evidence.check(f"2565 rows: l4 minus l2 depth1/depth2 ratio (medians over {n} seeds)",
                   np.median(r4["ratio2"]) - np.median(r2["ratio2"]), ">=", 0.25)


def test_depth_gives_no_advantage_on_l2_on_the_exact_rows(l2_exact, l4_exact, evidence):
    """The control on the 1316 exact rows."""
    r2, r4 = da.depth_ratios(l2_exact), da.depth_ratios(l4_exact)
    n = len(l2_exact.seeds)
    evidence.record("l2, 1316 exact rows: best loss - L* per seed, depth 1/2/3", r2["subopt"])
    evidence.check(f"l2, 1316 exact rows: depth1/depth2 ratio (median over {n} seeds; research "
                   "1.04)", np.median(r2["ratio2"]), "in", (0.8, 1.25))
    evidence.check(f"l2, 1316 exact rows: depth1/depth3 ratio (median over {n} seeds; research "
                   "0.91)", np.median(r2["ratio3"]), "<=", 1.1)
    evidence.check(f"1316 exact rows: l4 minus l2 depth1/depth2 ratio (medians over {n} seeds)",
                   np.median(r4["ratio2"]) - np.median(r2["ratio2"]), ">=", 0.25)


# --- mechanism ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def e2e_runs(csv, seed):
    return {f"l{p}": da.e2e_vs_real(csv, p, seed) for p in (2, 4)}


def max_rel_dev(a, b):
    return float(np.max(np.abs(a - b) / b))


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


def test_plain_gd_from_the_same_start_does_not_track_deep_training(e2e_runs, evidence):
    """Control of the mechanism: plain GD on w0 differs from the deep nets' training by >= 20%."""
    for name, r in e2e_runs.items():
        for j, dpt in enumerate(r["depths"]):
            evidence.check(f"{name}, depth {dpt}: max relative loss gap, plain GD vs real deep "
                           "training (seed rule: the base seed)", max_rel_dev(r["gd"],
                                                                              r["real"][j]),
                           ">=", 0.2)


def test_hidden_width_barely_changes_depth_2(csv, seed, evidence):
    """Depth-2 GD from N(0, 0.01^2) at hidden width 1, 10, 100: the final l4 loss - L* differs
    from width 1's by < 5% (so width-1 nets stand for the paper's wide ones)."""
    seeds2 = [seed, seed + 1]
    evidence.seeds(seeds2)
    lr_e, steps = -2.625, T // 2
    r = da.hidden_width_effect(csv, 4, seeds2, 10.0 ** lr_e, steps)
    lstar = da.optimum(csv, 4)
    sub = r["loss"][:, :, -1] - lstar                           # (S, W)
    evidence.note(f"Hidden width: l4, 2565 rows, lr 10^{lr_e} (depth 2's best-lr region), "
                  f"{steps} steps, every weight N(0, 0.01^2).")
    evidence.record("depth 2, final loss - L* per seed, widths " + str(r["widths"]), sub)
    evidence.check("depth 2: |subopt(width h) - subopt(width 1)| / subopt(width 1), h in 10, 100 "
                   "(max over both seeds)", np.max(np.abs(sub[:, 1:] - sub[:, :1]) / sub[:, :1]),
                   "<", 0.05)


def test_general_end_to_end_rule_tracks_multi_output_training(seed, evidence):
    """The multi-output rule W <- W - eta sum_j [WW^T]^{(j-1)/N} grad L [W^TW]^{(N-j)/N} follows
    a balanced depth-3, 3-output linear net within 2% (synthetic l2 regression); plain GD does
    not."""
    r = da.multi_output_tracking(seed)
    c = da.MULTI
    evidence.note(f"Multi-output rule: synthetic l2 regression, n={c['n']}, d={c['d']}, "
                  f"k={c['k']} outputs, depth {c['depth']}, width {c['width']}, lr {c['lr']}, "
                  f"{c['steps']} steps, balanced start of norm {c['init_norm']}.")
    evidence.check("multi-output: max relative loss gap, general e2e rule vs real training "
                   "(seed rule: the base seed)", max_rel_dev(r["e2e"], r["real"]), "<=", 0.02)
    evidence.check("multi-output: max relative loss gap, plain GD vs real training (seed rule: "
                   "the base seed)", max_rel_dev(r["gd"], r["real"]), ">=", 0.2)


def test_claim_1_eigenvalues_have_exponent_2j_minus_1_not_the_slides_2j_minus_2(seed, evidence):
    """Claim 1: P_W's eigenvalue on u_r v_r'^T is sum_j s_r^{2(N-j)/N} s_r'^{2(j-1)/N} (the
    paper); slide 003 writes 2(j-2)/N, a typo that this check shows numerically."""
    errs = [da.claim1_check(s) for s in (seed, seed + 1, seed + 2)]
    evidence.check("Claim 1 with the paper's exponent 2(j-1)/N: max relative eigenvalue error "
                   "(max over 3 seeds, all pairs r, r')", max(e["paper"] for e in errs),
                   "<", 1e-10)
    evidence.check("u_r v_r'^T is an eigenvector of P_W: max relative residual (max over 3 "
                   "seeds)", max(e["eigvec_residual"] for e in errs), "<", 1e-10)
    evidence.check("slide 003's exponent 2(j-2)/N: max relative eigenvalue error (min over 3 "
                   "seeds)", min(e["slide"] for e in errs), ">", 0.1)
    evidence.note("Slide 003 writes the eigenvalue exponent as 2(j-2)/N; the paper's 2(j-1)/N "
                  "matches P_W to rounding, the slide's is off by the recorded amount: a typo.")


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


# --- other optimizers (lecture notes 000/001) -----------------------------------------------------
@pytest.fixture(scope="module")
def optimizer_grids(exact, seed, l4_exact):
    seeds = list(range(seed, seed + CFG["optimizer_seeds"]))
    grids = {name: da.train_grid(exact, 4, seeds, depths=(1,) if name != "adam" else (1, 2, 3),
                                 lr_exponents=CFG["optimizers"][name], optimizer=name,
                                 lstar=l4_exact.lstar)
             for name in ("adagrad", "adadelta", "adam")}
    return seeds, grids


def test_depth_3_gd_beats_adagrad_on_depth_1(optimizer_grids, l4_exact, evidence):
    """l4, 1316 rows: depth-3 GD at its best lr ends closer to L* than depth-1 AdaGrad at its
    best lr."""
    seeds, g = optimizer_grids
    evidence.seeds(seeds)
    n = len(seeds)
    ada = da.best_over_lr(g["adagrad"].final[:, 0])[0] - l4_exact.lstar
    gd3 = da.depth_ratios(l4_exact)["subopt"][:n, 2]
    evidence.record("AdaGrad depth 1: best loss - L* per seed", ada)
    evidence.check(f"l4, 1316 rows: AdaGrad(depth 1) / GD(depth 3) suboptimality (median over "
                   f"{n} seeds; research 1.56 at T = 5e4)", np.median(ada / gd3), ">=", 1.2)


def test_adam_with_depth_beats_adam_on_depth_1(optimizer_grids, evidence):
    """l4, 1316 rows: Adam on depth-2 and depth-3 nets ends closer to L* than Adam on depth 1."""
    seeds, g = optimizer_grids
    r = da.depth_ratios(g["adam"])
    n = len(seeds)
    evidence.record("Adam: best loss - L* per seed, depth 1/2/3", r["subopt"])
    evidence.record("Adam: chosen lr exponent per seed, depth 1/2/3", r["best_lr"])
    evidence.check(f"l4, 1316 rows: Adam depth1/depth2 (median over {n} seeds; research 1.6-1.7 "
                   "at T = 5e4)", np.median(r["ratio2"]), ">=", 1.2)
    evidence.check(f"l4, 1316 rows: Adam depth1/depth3 (median over {n} seeds; research 1.6-1.7 "
                   "at T = 5e4)", np.median(r["ratio3"]), ">=", 1.2)


def test_adadelta_on_depth_1_leads_depth_3_gd_at_this_horizon(optimizer_grids, l4_exact,
                                                               evidence):
    """AdaDelta (depth 1) vs depth-3 GD over the default horizon; the paper's crossover
    (~5 x 10^5 steps) is measured in the slow tier."""
    seeds, g = optimizer_grids
    n = len(seeds)
    adad = da.best_curves(g["adadelta"])[:, 0]
    gd3 = da.best_curves(l4_exact)[:n, 2]
    lead = np.median(gd3 / adad, 0)
    evidence.record("AdaDelta: chosen lr exponent per seed",
                    g["adadelta"].lr_exponents[da.best_over_lr(g["adadelta"].final[:, 0])[1]])
    evidence.record(f"GD(depth 3) / AdaDelta(depth 1) suboptimality at step {T} (median over "
                    f"{n} seeds)", lead[-1])
    evidence.check(f"AdaDelta(depth 1) ahead of GD(depth 3) at step {T}: GD3/AdaDelta "
                   f"suboptimality (median over {n} seeds; research: AdaDelta leads up to ~3e5)",
                   lead[-1], ">", 1.0)
    adagrad = da.best_curves(g["adagrad"])[:, 0]
    adam = da.best_curves(g["adam"])
    curves = {"GD, depth 1": np.median(da.best_curves(l4_exact)[:n, 0], 0),
              "GD, depth 3": np.median(gd3, 0), "AdaGrad, depth 1": np.median(adagrad, 0),
              "AdaDelta, depth 1": np.median(adad, 0)}
    curves.update({f"Adam, depth {d}": np.median(adam[:, j], 0) for j, d in enumerate((1, 2, 3))})
    evidence.figure("optimizers", da.plot_optimizers(curves, l4_exact.steps,
                                                      "l4, 1316 exact rows"),
                    f"loss - L* vs step, each method at its best lr (median over {n} seeds).")


# --- slow: the research protocol and the paper scale ----------------------------------------------
@pytest.fixture(scope="module")
def research_grids(csv, exact, seeds):
    grid = {4: CFG["wide_exponents"], 2: CFG["wide_exponents"] + CFG["l2_extra_exponents"]}
    return {(name, p): da.train_grid(problem, p, seeds, lr_exponents=grid[p],
                                     steps=CFG["research_steps"])
            for name, problem in (("csv", csv), ("exact", exact)) for p in (4, 2)}


@pytest.mark.slow
def test_research_protocol_depth_accelerates_l4(research_grids, evidence):
    """T = 5 x 10^4, 5 seeds, the wide grid: median depth1/depth2 >= 1.25 and depth1/depth3 >=
    1.2 on all 2565 rows, the minimum beside it; the same protocol on the 1316 exact rows."""
    g = research_grids[("csv", 4)]
    evidence.seeds(g.seeds)
    evidence.note(f"Research protocol: T = {CFG['research_steps']}, lr grid 10^e for e in "
                  f"{list(g.lr_exponents)}.")
    check_ratios(evidence, g, "research protocol, l4, 2565 rows", 1.25, 1.2)
    check_ratios(evidence, research_grids[("exact", 4)], "research protocol, l4, 1316 exact rows",
                 1.25, 1.2)


@pytest.mark.slow
def test_research_protocol_l2_control(research_grids, evidence):
    """T = 5 x 10^4: the l2 control on both data sets."""
    for key, label in ((("csv", 2), "2565 rows"), (("exact", 2), "1316 exact rows")):
        r2 = da.depth_ratios(research_grids[key])
        r4 = da.depth_ratios(research_grids[(key[0], 4)])
        evidence.check(f"research protocol, l2, {label}: depth1/depth2 (median over 5 seeds)",
                       np.median(r2["ratio2"]), "in", (0.8, 1.25))
        evidence.check(f"research protocol, l2, {label}: depth1/depth3 (median over 5 seeds)",
                       np.median(r2["ratio3"]), "<=", 1.1)
        evidence.check(f"research protocol, {label}: l4 minus l2 depth1/depth2 (medians over 5 "
                       "seeds)", np.median(r4["ratio2"]) - np.median(r2["ratio2"]), ">=", 0.25)


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason="Measured at T = 5 x 10^4, seeds 0-4: 10 (lr, depth) pairs "
                   "fail: depth 2 at 10^-4 and 10^-2.5625, depth 3 at 10^-4 ... 10^-3.5 (still "
                   "near its start) and 10^-2.8125 ... 10^-2.5625 (diverged below depth 1's "
                   "edge); the pairs are recorded")
def test_research_protocol_deep_nets_beat_depth_1_at_every_stable_lr(research_grids, evidence):
    """T = 5 x 10^4: at every lr where depth 1 is stable on all seeds, both deep nets beat it on
    every seed (research statement)."""
    g = research_grids[("csv", 4)]
    f = g.final
    stable = np.isfinite(f[:, 0]).all(0)
    fails = [(float(e), d + 1) for d in (1, 2) for e, s, b in
             zip(g.lr_exponents, stable, (f[:, d] < f[:, 0]).all(0)) if s and not b]
    evidence.record("research protocol, 2565 rows: (lr exponent, depth) where a deep net fails "
                    "to beat a stable depth 1", fails)
    evidence.check("research protocol, 2565 rows: such (lr, depth) pairs (of all 5 seeds)",
                   len(fails), "==", 0)


@pytest.fixture(scope="module")
def research_optimizer_grids(exact, seeds):
    kw = dict(steps=CFG["research_steps"], lstar=da.optimum(exact, 4))
    grids = {name: da.train_grid(exact, 4, seeds, depths=(1,) if name != "adam" else (1, 2, 3),
                                 lr_exponents=CFG["optimizers"][name], optimizer=name, **kw)
             for name in ("adagrad", "adadelta", "adam")}
    grids["gd3"] = da.train_grid(exact, 4, seeds, depths=(3,),
                                 lr_exponents=CFG["wide_exponents"][:12], **kw)
    return grids


@pytest.mark.slow
def test_research_protocol_other_optimizers(research_optimizer_grids, evidence):
    """T = 5 x 10^4, 5 seeds, 1316 exact rows: depth-3 GD vs AdaGrad and AdaDelta on depth 1,
    Adam on depth 2/3 vs Adam on depth 1 (research: 1.56x and 1.6-1.7x)."""
    g = research_optimizer_grids
    n = len(g["gd3"].seeds)
    evidence.seeds(g["gd3"].seeds)
    gd3 = da.best_over_lr(g["gd3"].final[:, 0])[0] - g["gd3"].lstar
    for name in ("adagrad", "adadelta"):
        sub = da.best_over_lr(g[name].final[:, 0])[0] - g["gd3"].lstar
        evidence.record(f"research protocol: {name} depth 1 best loss - L* per seed", sub)
        evidence.record(f"research protocol: {name} / GD(depth 3) per seed", sub / gd3)
    ada = da.best_over_lr(g["adagrad"].final[:, 0])[0] - g["gd3"].lstar
    evidence.check(f"research protocol, 1316 rows: AdaGrad(depth 1) / GD(depth 3) (median over "
                   f"{n} seeds; research 1.56)", np.median(ada / gd3), ">=", 1.2)
    r = da.depth_ratios(g["adam"])
    evidence.record("research protocol: Adam chosen lr exponent per seed, depth 1/2/3",
                    r["best_lr"])
    evidence.check(f"research protocol, 1316 rows: Adam depth1/depth2 (median over {n} seeds; "
                   "research 1.6-1.7)", np.median(r["ratio2"]), ">=", 1.2)
    evidence.check(f"research protocol, 1316 rows: Adam depth1/depth3 (median over {n} seeds; "
                   "research 1.6-1.7)", np.median(r["ratio3"]), ">=", 1.2)


# Paper scale: eighth decades, sixteenth near depth 1's edge (which moves down with the horizon).
PAPER_EXPONENTS = (-3.5, -3.25, -3.0, -2.875, -2.75, -2.625, -2.5625, -2.5, -2.4375, -2.375,
                   -2.25)


@pytest.fixture(scope="module")
def paper_grids(csv, seed):
    seeds3 = list(range(seed, seed + CFG["paper_seeds"]))
    grid = {4: PAPER_EXPONENTS, 2: PAPER_EXPONENTS + CFG["l2_extra_exponents"]}
    return {p: da.train_grid(csv, p, seeds3, lr_exponents=grid[p], steps=CFG["paper_steps"])
            for p in (2, 4)}


@pytest.mark.slow
def test_paper_scale_deep_nets_pull_ahead_on_l4(paper_grids, evidence):
    """10^6 steps, 3 seeds, all 2565 rows: loss - L* per depth (the paper's figure) and the
    depth1/depthN ratio over time. The paper's plot: depth 2 ~2x and depth 3 ~6x closer to the
    optimum than depth 1 at 10^6 steps."""
    g4, g2 = paper_grids[4], paper_grids[2]
    evidence.seeds(g4.seeds)
    r = da.depth_ratios(g4)
    evidence.record("paper scale, l4: chosen lr exponent per seed, depth 1/2/3", r["best_lr"])
    evidence.record("paper scale, l4: best loss - L* per seed, depth 1/2/3", r["subopt"])
    over = da.ratio_over_time(g4)
    for t in (10**4, 10**5, 2 * 10**5, 5 * 10**5, 10**6):
        k = min(int(np.searchsorted(over["steps"], t)), len(over["steps"]) - 1)
        evidence.record(f"paper scale, l4: median depth1/depth2, depth1/depth3 at horizon {t}",
                        [over["ratio2"][k], over["ratio3"][k]])
    evidence.check("paper scale, l4: depth1/depth2 at 10^6 steps (median over 3 seeds)",
                   np.median(r["ratio2"]), ">=", 1.25, paper=2.0)
    evidence.check("paper scale, l4: depth1/depth3 at 10^6 steps (median over 3 seeds)",
                   np.median(r["ratio3"]), ">=", 1.2, paper=6.0)
    r2 = da.depth_ratios(g2)
    evidence.record("paper scale, l2: depth1/depth2, depth1/depth3 (median over 3 seeds)",
                    [np.median(r2["ratio2"]), np.median(r2["ratio3"])])
    evidence.figure("paper-scale", da.plot_curves({"l2": g2, "l4": g4}, "10^6 steps, 2565 rows"),
                    "The paper's figure at its scale: loss - L* (log) per depth, best lr each.")
    evidence.figure("ratio-over-time", da.plot_ratio_over_time({"l4": over,
                                                                "l2": da.ratio_over_time(g2)}),
                    "Median depth1/depthN suboptimality ratio of the protocol run to horizon t.")


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason="Measured (seeds 0-2, 2565 rows, lr re-chosen at 10^6 "
                   "steps): depth-3 GD is still 1.09x farther from L* than AdaDelta on depth 1 at "
                   "10^6 steps and never overtakes it; the paper's crossover at ~5 x 10^5 steps "
                   "does not reproduce here")
def test_paper_scale_depth_3_gd_overtakes_adadelta(csv, seed, paper_grids, evidence):
    """10^6 steps, all 2565 rows, lr re-chosen for that horizon: depth-3 GD ends closer to L*
    than AdaDelta on depth 1 (the paper: it overtakes at ~5 x 10^5 steps)."""
    seeds3 = paper_grids[4].seeds
    g = da.train_grid(csv, 4, seeds3, depths=(1,), lr_exponents=CFG["optimizers"]["adadelta"][:7],
                      steps=CFG["paper_steps"], optimizer="adadelta", lstar=paper_grids[4].lstar)
    adad = np.median(da.best_curves(g)[:, 0], 0)
    gd3 = np.median(da.best_curves(paper_grids[4])[:, 2], 0)
    evidence.record("paper scale: AdaDelta chosen lr exponent per seed",
                    g.lr_exponents[da.best_over_lr(g.final[:, 0])[1]])
    evidence.record("paper scale: GD depth-3 chosen lr exponent per seed",
                    da.depth_ratios(paper_grids[4])["best_lr"][:, 2])
    for t in (10**4, 10**5, 3 * 10**5, 5 * 10**5, 10**6):
        k = min(int(np.searchsorted(g.steps, t)), len(g.steps) - 1)
        evidence.record(f"paper scale: GD(depth 3) / AdaDelta(depth 1) at step {t}",
                        gd3[k] / adad[k])
    behind = np.flatnonzero(gd3 > adad)
    cross = int(g.steps[behind[-1] + 1]) if len(behind) and behind[-1] + 1 < len(g.steps) else (
        0 if not len(behind) else math.inf)
    evidence.record("paper scale: first step after which depth-3 GD stays ahead of AdaDelta "
                    "(median curves; inf = never)", cross, paper=5e5)
    evidence.check("paper scale: GD(depth 3) / AdaDelta(depth 1) suboptimality at 10^6 steps "
                   "(median curves over 3 seeds)", gd3[-1] / adad[-1], "<", 1.0)


# --- gpu: the convnet -----------------------------------------------------------------------------
@pytest.mark.gpu
def test_overparameterized_convnet_lowers_training_cross_entropy(data_dir, device, seed, evidence):
    """The TensorFlow tutorial's MNIST convnet vs the same net with each dense matrix a product
    of two (+~16% parameters): the overparameterized net's batch cross-entropy is lower at the
    end of training (moving average, mean over 2 seeds)."""
    try:
        images, labels = load_mnist(data_dir)
    except DataUnavailable as e:
        pytest.skip(str(e))
    c = da.CONVNET
    seeds2 = [seed, seed + 1]
    evidence.seeds(seeds2)
    logs = {}
    for over in (False, True):
        runs = [da.train_convnet(images, labels, over, s, device) for s in seeds2]
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
                   base["params"] - 1, "in", (0.14, 0.18), paper=0.16)
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
BENCH_EXPONENTS = (-3.5, -3.25, -3.0, -2.875, -2.75, -2.625)  # stable for 500 steps at every depth
# The claim's runs record ~160 of 10^4 steps; 500 steps with that density of float64 loss
# evaluations would time the recording, not the stepping: the benchmark records 20 steps.
BENCH_CONFIG = {**CFG, "n_log": 10, "n_linear": 10}
_medians = {}


def _median(benchmark):
    stats = getattr(benchmark, "stats", None)
    return getattr(getattr(stats, "stats", None), "median", None)


def test_bench_naive_per_config_loop(benchmark, csv, seed):
    """Baseline: slide 003's train(), one configuration at a time (nn.Linear + optim.SGD +
    autograd + float(loss) every step), l4 on the 2565 rows."""
    benchmark.group = "depth-acceleration: l4 grid, config-steps"
    benchmark.extra_info["units"] = len(BENCH_NAIVE) * BENCH_STEPS

    def run():
        for depth, e in BENCH_NAIVE:
            da.train_naive(csv, 4, depth, 10.0**e, seed, BENCH_STEPS)

    benchmark.pedantic(run, rounds=2, iterations=1, warmup_rounds=1)
    _medians["naive"] = _median(benchmark)


def test_bench_batched_grid(benchmark, csv, seeds, evidence):
    """The grid trainer: 5 seeds x 3 depths x 6 lrs as the columns of one matrix, hand-derived
    gradients, one GEMM pair per step, l4 on the 2565 rows."""
    benchmark.group = "depth-acceleration: l4 grid, config-steps"
    C = len(seeds) * 3 * len(BENCH_EXPONENTS)
    benchmark.extra_info["units"] = C * BENCH_STEPS
    benchmark.extra_info["baseline"] = "test_bench_naive_per_config_loop"
    g = benchmark.pedantic(da.train_grid, args=(csv, 4, seeds),
                           kwargs=dict(lr_exponents=BENCH_EXPONENTS, steps=BENCH_STEPS,
                                       lstar=0.0, config=BENCH_CONFIG), rounds=3, iterations=1)
    assert g.config_steps == C * BENCH_STEPS  # nothing diverged: units are exact
    _medians["batched"] = _median(benchmark)
    if _medians.get("naive") and _medians["batched"]:
        speedup = (_medians["naive"] / (len(BENCH_NAIVE) * BENCH_STEPS)) / (
            _medians["batched"] / (C * BENCH_STEPS))
        evidence.record("l4: batched grid trainer vs naive per-config loop: per config-step "
                        "speedup (this run; target >= 20)", speedup)
        evidence.note("The l4 step is GEMM-bound: 4 m d = 1.31 MFLOP per config-step, so at this "
                      "machine's single-thread float32 GEMM rate (recorded) the trainer cannot "
                      "exceed ~55k config-steps/s, about 19x the naive loop measured after its "
                      "warm-up round; the l2 trainer (Gram matrix) is not bound that way.")
        gflops = C * BENCH_STEPS * 4 * csv.m * csv.X.shape[1] / _medians["batched"] / 1e9
        _medians["trainer_gflops"] = gflops
        evidence.record("batched grid trainer: achieved GFLOP/s (2 GEMMs of 2 m d C flops each "
                        "per step)", gflops)


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
    C = len(seeds) * 3 * len(BENCH_EXPONENTS)
    benchmark.extra_info["units"] = C * BENCH_STEPS
    benchmark.extra_info["baseline"] = "test_bench_naive_per_config_loop_l2"
    g = benchmark.pedantic(da.train_grid, args=(csv, 2, seeds),
                           kwargs=dict(lr_exponents=BENCH_EXPONENTS, steps=BENCH_STEPS,
                                       lstar=0.0, config=BENCH_CONFIG), rounds=3, iterations=1)
    assert g.config_steps == C * BENCH_STEPS


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
        gemm = flops / med / 1e9
        evidence.record("GEMM of the trainer's shapes: GFLOP/s (this machine, this run)", gemm)
        if _medians.get("trainer_gflops"):
            evidence.record("trainer throughput as a fraction of the GEMM's",
                            _medians["trainer_gflops"] / gemm)
