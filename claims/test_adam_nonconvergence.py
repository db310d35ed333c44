"""Adam can fail to converge on a simple convex (linear) problem, and AMSGrad, which divides by
the running maximum of v_t, converges on the same problems.

Sources: Reddi, Kale, Kumar, "On the Convergence of Adam and Beyond", ICLR 2018, Theorem 1
(online counterexample, beta1 = 0), Theorems 2-3 (counterexamples exist for any
beta1 < sqrt(beta2)) and Section 5 (synthetic online and stochastic experiments); lecture notes
000/001 §1.2 ("a counterexample of convergence was recently published [RKK18] for a simple convex
problem").

Stated assumptions (the paper gives no alpha and no horizon T for its Figure 1): step size
alpha_t = 0.5 / sqrt(t) for every method; T = 1e5 steps for Theorem 1's Adam runs, 1e6 for the
Section 5 runs and for the controls (AMSGrad, SGD, AdaGrad), which are also read at
t = 1e5, 2e5, 5e5; x_1 = 0 unless stated; "time-average" is the mean of the played points x_t
over the last 10% of steps (the last 101,000 = 1000 periods on the Section 5 online problem).
Update rules are the paper's (no bias correction, no epsilon, projection onto F = [-1, 1] by
clipping; AdaGrad in the paper's form, alpha_t = alpha/sqrt(t) with v_t = sum g^2 / t); the
torch-style bias-corrected variants are run separately and named where they appear.
Everything runs on the batched kernel ``adam_nonconvergence.run_linear``; its parity with the
shared ``reproductions.optimizers`` (and theirs with ``torch.optim.Adam``) is checked here.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pytest

from optclaims_report.claim import measured, part, seed_range, theory
from reproductions import adam_nonconvergence as an
from reproductions import optimizers as opt

REDDI = "Reddi, Kale, Kumar, ICLR 2018"
CLAIM = {
    "id": "adam-nonconvergence",
    "title": "Adam can fail to converge on a convex problem; AMSGrad fixes it",
    "statement": "On online linear problems over [-1, 1] whose optimum is x = -1, Adam (Reddi et "
                 "al.'s form, alpha_t = alpha/sqrt(t)) drifts to the worst point x = +1 and "
                 "suffers linear regret, while AMSGrad, which divides by the running maximum of "
                 "v_t, converges to -1 with vanishing average regret. On the stochastic version "
                 "Adam fails on every seed; AMSGrad is on the optimum's side on average, with "
                 "less regret than Adam on most seeds.",
    "sources": ["Reddi, Kale, Kumar, On the Convergence of Adam and Beyond, ICLR 2018, "
                "Theorem 1 and Section 5",
                "Lecture notes 000/001 §1.2 (counterexample of convergence [RKK18] for a simple "
                "convex problem)"],
    "parts": [
        part("adam-fails-theorem1", "effect", "On Theorem 1's problem (f_t = C x once every 3 "
             "steps, else -x; beta1 = 0, beta2 = 1/(1+C^2)) Adam started at 0 settles at the worst "
             "point x = +1 and its average regret tends to 2/3.", f"{REDDI}, Theorem 1",
             judges=("adam-convex-counterexample",)),
        part("theorem1-mechanism", "mechanism", "Why: v_t forgets the rare large gradient within "
             "two steps, so the two small gradients after it push x back up past 1 and the "
             "projection returns x to exactly 1 at every t = 3k+1.",
             f"{REDDI}, proof of Theorem 1"),
        part("adam-fails-section5", "effect", "On Section 5's online problem (1010 x once every "
             "101 steps, else -10 x) Adam with beta1 = 0.9, beta2 = 0.99 ends at x = +1 with "
             "average regret near the worst point's 20/101.", f"{REDDI}, Section 5, Figure 1",
             judges=("adam-convex-counterexample",)),
        part("amsgrad-converges", "control", "AMSGrad with the same betas, step sizes and start "
             "goes to x* = -1 on both problems, its average regret falling at every checkpoint.",
             f"{REDDI}, Section 4 (AMSGrad) and Section 5",
             judges=("adam-nonconvergence-amsgrad",)),
        part("sgd-adagrad-converge", "control", "Methods without an exponential moving average "
             "of g^2 (SGD, AdaGrad in the paper's form) end on the optimum's side of both "
             "problems with falling average regret.", f"{REDDI}, Section 3 (AdaGrad and SGD "
             "have no such counterexample)"),
        part("stochastic-setting", "scope", "Section 5's stochastic problem (1010 x with "
             "probability 0.01, else -10 x): Adam's time-average is near +1 on every seed; "
             "AMSGrad's is on the optimum's side on average and its regret is below Adam's on "
             "most seeds (per seed it is still noisy at 10^6 steps).",
             f"{REDDI}, Section 5, Figure 1 (stochastic)"),
        part("beta1-condition", "scope", "The counterexamples need beta1 < sqrt(beta2) "
             "(Theorems 2-3); with beta1 = 0.9 > sqrt(0.1) Adam converges on Theorem 1's "
             "instance, and a beta1 sweep locates the switch.", f"{REDDI}, Theorems 2 and 3"),
        part("kernel-parity", "precondition", "The fast batched kernel computes the same x_t as "
             "the shared optimizers, and those match torch.optim.Adam/AMSGrad, so every run "
             "above uses the intended update rules.", "Reddi et al. Algorithm 1-2; "
             "torch.optim.Adam"),
        part("max-of-corrected-v", "scope", "Beyond the paper: where AMSGrad's max is taken "
             "matters once v is bias-corrected; a max over the corrected v stalls near x = -0.5 "
             "on Section 5's problem with beta1 = 0, while the paper's and torch's AMSGrad "
             "converge.", f"{REDDI}, Algorithm 2 (no bias correction); torch.optim.Adam"),
        part("phase-diagram", "scope", "Beyond the paper: over a (beta1, beta2) grid on Section "
             "5's problem, Adam also fails where beta1 > sqrt(beta2): the paper's condition is "
             "about the existence of a bad problem, not a threshold for this one.",
             f"{REDDI}, Theorems 2 and 3 (condition beta1 < sqrt(beta2))"),
    ],
}


@dataclass(frozen=True)
class Hyper:
    alpha: float = an.ALPHA  # alpha_t = alpha / sqrt(t), every method (not given by the paper)
    C: float = 3.0  # Theorem 1: f_t = C x if t mod 3 = 1 else -x, C > 2
    theorem1_steps: int = 100_000
    s5_b1: float = 0.9  # Section 5 online and stochastic
    s5_b2: float = 0.99
    s5_steps: int = 1_000_000
    s5_tail: int = 101_000  # last 1000 periods of 101 steps (~10%)
    checkpoints: tuple = (100_000, 200_000, 500_000, 1_000_000)  # controls' R_t/t read here
    # Stochastic: seeds range(seed, seed + 100), seed = --seed. Measured over 1300 seeds: with
    # 20 the seed-mean regret ratio AMSGrad/Adam ranged 0.27-0.61 over windows of 20 seeds, so
    # any rule about it flipped with the base seed; with 100 every rule checked below held, with
    # its 95% interval clear of its bound, in all 172 windows tried (seeds 0-1299, step 7).
    n_seeds: int = 100
    tail_fraction: float = 0.1
    beta1_sweep: int = 100  # beta1 grid on [0, 0.99] for the role-of-beta1 sweep
    parity_steps: int = 3000
    phase_n: int = 32  # slow tier: 32 x 32 (beta1, beta2) grid at 1e6 steps
    phase_steps: int = 1_000_000
    phase_small_n: int = 8  # default tier: 8 x 8 at 1e5 steps
    phase_small_steps: int = 100_000
    bench_naive_steps: int = 50_000
    bench_kernel_steps: int = 20_000


HP = Hyper()
B2_THEOREM1 = 1.0 / (1.0 + HP.C**2)  # beta2 = 1/(1 + C^2) = 0.1
ASSUMPTIONS = (f"alpha_t = {HP.alpha}/sqrt(t) (the paper states no alpha); x_1 = 0 unless "
               "stated; paper-form updates (no bias correction, no epsilon, clipping to [-1, 1]).")


def tail(steps: int) -> int:
    """The time-average window: the last 10% of the steps."""
    return int(steps * HP.tail_fraction)


def plot_times(steps: int, extra=()) -> np.ndarray:
    """~400 log-spaced steps (for the log-t figures) plus the checkpoints."""
    t = np.geomspace(1, steps, 400).astype(int)
    return np.unique(np.concatenate([t, [c for c in extra if c <= steps]]))


def rate(tr: an.Trace) -> np.ndarray:
    """R_t / t at the recorded steps, shape (K, N)."""
    return tr.regret / tr.t[:, None]


def at_checkpoints(tr: an.Trace, column: int = 0) -> np.ndarray:
    idx = np.searchsorted(tr.t, HP.checkpoints)
    return rate(tr)[idx, column]


# --- experiments (module-scoped: each runs once) ----------------------------------------------
@pytest.fixture(scope="module")
def theorem1():
    """Theorem 1 problem, beta1 = 0, beta2 = 1/(1 + C^2), T = 1e5: Adam from x_1 = 1 (every step
    recorded) and from x_1 = 0."""
    prob, T = an.theorem1(HP.C), HP.theorem1_steps
    kw = dict(b1=0.0, b2=B2_THEOREM1, alpha=HP.alpha, tail=tail(T))
    return {"from_one": an.run_linear(prob, T, x0=1.0, record_at=range(1, T + 1), **kw),
            "from_zero": an.run_linear(prob, T, x0=0.0, record_at=plot_times(T), **kw)}


@pytest.fixture(scope="module")
def online_adam():
    """Section 5 online problem, Adam beta1 = 0.9, beta2 = 0.99, x_1 = 0, T = 1e6."""
    return an.run_linear(an.online(), HP.s5_steps, b1=HP.s5_b1, b2=HP.s5_b2, alpha=HP.alpha,
                         record_at=plot_times(HP.s5_steps, HP.checkpoints), tail=HP.s5_tail)


CONTROL_PROBLEMS = {"Theorem 1": (an.theorem1(HP.C), 0.0, B2_THEOREM1),
                    "Section 5 online": (an.online(), HP.s5_b1, HP.s5_b2)}
CONTROL_TAIL = {"Theorem 1": tail(HP.s5_steps), "Section 5 online": HP.s5_tail}
CONTROL_METHODS = {"AMSGrad": dict(amsgrad=True), "SGD": dict(method="sgd"),
                   "AdaGrad": dict(method="adagrad")}


@pytest.fixture(scope="module")
def controls():
    """AMSGrad, SGD and AdaGrad on both online problems, T = 1e6, x_1 = 0."""
    T = HP.s5_steps
    return {(p, m): an.run_linear(prob, T, b1=b1, b2=b2, alpha=HP.alpha, tail=CONTROL_TAIL[p],
                                  record_at=plot_times(T, HP.checkpoints), **kw)
            for p, (prob, b1, b2) in CONTROL_PROBLEMS.items()
            for m, kw in CONTROL_METHODS.items()}


@pytest.fixture(scope="module")
def seeds(seed):
    return seed_range(seed, HP.n_seeds)


@pytest.fixture(scope="module")
def stochastic(seeds):
    """Section 5 stochastic problem, one gradient stream per seed, T = 1e6, Adam and AMSGrad."""
    T = HP.s5_steps
    prob = an.stochastic(seeds, T)
    return {name: an.run_linear(prob, T, b1=HP.s5_b1, b2=HP.s5_b2, alpha=HP.alpha,
                                tail=tail(T), record_at=plot_times(T), **kw)
            for name, kw in (("Adam", {}), ("AMSGrad", dict(amsgrad=True)))}


# --- effect -----------------------------------------------------------------------------------
@pytest.mark.part("theorem1-mechanism")
def test_adam_started_at_one_returns_to_one_every_third_step(theorem1, evidence):
    """Theorem 1's mechanism: from x_1 = 1, the large gradient C at t = 3k+1 pushes x down, but
    the two -1 gradients that follow, each normalised by a v_t that has already forgotten C,
    push it back past 1, so the projection returns x to exactly 1.0 at every t = 3k+1."""
    tr = theorem1["from_one"]
    x, t = tr.x[:, 0], tr.t
    on = x[t % 3 == 1]
    evidence.note(ASSUMPTIONS + f" Theorem 1: C = {HP.C:g}, beta1 = 0, beta2 = 1/(1+C^2) = "
                  f"{B2_THEOREM1:g}, T = {HP.theorem1_steps:.0e}.")
    evidence.check(f"Theorem 1, Adam from x_1 = 1: steps t = 3k+1 <= 1e5 with x_t != 1.0 "
                   f"(of {on.size})", int((on != 1.0).sum()), "==", 0,
                   theory(0, "Theorem 1's proof: x returns to 1 every third step"))
    evidence.check("Theorem 1, Adam from x_1 = 1: min x_t over all steps (it does move between "
                   "returns)", x.min(), "<", 0.9)


@pytest.mark.part("adam-fails-theorem1")
def test_adam_started_at_zero_ends_at_the_worst_point_with_linear_regret(theorem1, controls,
                                                                         evidence):
    """From x_1 = 0, Adam goes to x = +1, the maximiser of sum f_t, and its average regret tends
    to 2/3 (per 3 steps: f = C - 2 = 1 at x = 1 against -1 at x* = -1)."""
    tr = theorem1["from_zero"]
    evidence.check("Theorem 1, Adam from x_1 = 0: mean x_t over the last 10% of 1e5 steps",
                   tr.tail_mean[0], ">", 0.99, theory(1.0, "the worst point of [-1, 1]"))
    evidence.check("Theorem 1, Adam from x_1 = 0: R_T/T at T = 1e5",
                   tr.regret_T[0] / tr.steps, ">", 0.6,
                   theory(2 / 3, "regret 2 per period of 3 steps at x = +1"))
    evidence.figure("theorem1-trajectories", an.figure_trajectories(
        {"Adam (T = 1e5)": tr, "AMSGrad (T = 1e6)": controls["Theorem 1", "AMSGrad"]},
        f"Theorem 1: C = {HP.C:g}, beta1 = 0, beta2 = {B2_THEOREM1:g}, alpha_t = "
        f"{HP.alpha}/sqrt(t), x_1 = 0"),
        "x_t and R_t/t against t: Adam settles at the worst point x = +1 with R_t/t -> 2/3; "
        "AMSGrad goes to the optimum x = -1 with R_t/t -> 0.")


@pytest.mark.part("adam-fails-section5")
def test_adam_fails_on_the_section5_online_problem(online_adam, controls, evidence):
    """Section 5 online: f_t = 1010 x once every 101 steps, else -10 x. Adam (beta1 = 0.9,
    beta2 = 0.99) ends at +1 with R_T/T near the worst-point value 20/101."""
    tr = online_adam
    evidence.note(ASSUMPTIONS + f" Section 5: beta1 = {HP.s5_b1}, beta2 = {HP.s5_b2}, "
                  f"T = {HP.s5_steps:.0e}, time-average over the last {HP.s5_tail} steps.")
    evidence.check("Section 5 online, Adam: mean x_t over the last 101k of 1e6 steps",
                   tr.tail_mean[0], ">", 0.95, theory(1.0, "the worst point of [-1, 1]"))
    evidence.check("Section 5 online, Adam: R_T/T at T = 1e6",
                   tr.regret_T[0] / tr.steps, ">", 0.15,
                   theory(20 / 101, "regret 20 per period of 101 steps at x = +1"))
    evidence.figure("section5-online-trajectories", an.figure_trajectories(
        {"Adam": tr, "AMSGrad": controls["Section 5 online", "AMSGrad"]},
        f"Section 5 online: 1010x every 101 steps else -10x, beta1 = {HP.s5_b1}, beta2 = "
        f"{HP.s5_b2}, alpha_t = {HP.alpha}/sqrt(t), x_1 = 0"),
        "x_t and R_t/t against t: Adam drifts to x = +1 (R_t/t -> 20/101); AMSGrad to -1.")


# --- control ------------------------------------------------------------------------------------
@pytest.mark.part("amsgrad-converges")
@pytest.mark.parametrize("problem", list(CONTROL_PROBLEMS))
def test_amsgrad_converges_to_the_optimum_on_the_same_problem(problem, controls, evidence):
    """AMSGrad (same beta1, beta2, alpha_t, x_1) goes to x* = -1 with average regret that falls
    at every checkpoint t = 1e5, 2e5, 5e5, 1e6."""
    tr = controls[problem, "AMSGrad"]
    r = at_checkpoints(tr)
    evidence.record(f"{problem}, AMSGrad: R_t/t at t = 1e5, 2e5, 5e5, 1e6", r)
    evidence.check(f"{problem}, AMSGrad: mean x_t over the last {CONTROL_TAIL[problem] // 1000}k "
                   "of 1e6 steps",
                   tr.tail_mean[0], "<", -0.95, theory(-1.0, "the optimum x* = -1"))
    evidence.check(f"{problem}, AMSGrad: R_T/T at T = 1e6", r[-1], "<", 0.06)
    evidence.check(f"{problem}, AMSGrad: largest change of R_t/t between successive checkpoints "
                   "(< 0: strictly decreasing)", np.diff(r).max(), "<", 0.0)


@pytest.mark.part("sgd-adagrad-converge")
@pytest.mark.parametrize("method", ["SGD", "AdaGrad"])
def test_sgd_and_adagrad_converge_on_both_problems(method, controls, evidence):
    """Non-exponential averaging converges too: SGD (x - alpha_t g) and AdaGrad (paper form)
    end on the optimum's side with R_t/t falling at every checkpoint. SGD's steps are not scaled
    to the gradient size (1010 alpha_t), so on Section 5 it still swings across [-1, -0.5] at 1e6
    steps and its R_t/t, though falling as 1/sqrt(t), is large."""
    for problem in CONTROL_PROBLEMS:
        tr = controls[problem, method]
        r = at_checkpoints(tr)
        evidence.record(f"{problem}, {method}: R_t/t at t = 1e5, 2e5, 5e5, 1e6", r)
        evidence.check(f"{problem}, {method}: mean x_t over the last "
                       f"{CONTROL_TAIL[problem] // 1000}k of 1e6 steps",
                       tr.tail_mean[0], "<", -0.5)
        evidence.check(f"{problem}, {method}: largest change of R_t/t between successive "
                       "checkpoints (< 0: strictly decreasing)", np.diff(r).max(), "<", 0.0)


# --- stochastic version -------------------------------------------------------------------------
@pytest.mark.part("stochastic-setting")
def test_adam_fails_on_every_seed_of_the_stochastic_problem(stochastic, seeds, evidence):
    """Section 5 stochastic: f_t = 1010 x with probability 0.01, else -10 x (E g = +0.2, so
    x* = -1). Adam's time-average sits near +1 on every seed."""
    adam = stochastic["Adam"]
    evidence.seeds(seeds)
    evidence.note(f"Stochastic: seeds range(seed, seed + {HP.n_seeds}) with seed = --seed, one "
                  f"gradient stream per seed from numpy default_rng(seed); T = {HP.s5_steps:.0e}, "
                  "time-average over the last 10%; " + ASSUMPTIONS)
    evidence.check_every_seed(
        "Stochastic: seeds where Adam's mean x_t over the last 10% exceeds 0.9",
        adam.tail_mean > 0.9, seeds=seeds,
        reference=measured(1.0, "1300 of 1300 seeds (0-1299), min 0.988"))
    evidence.figure("section5-stochastic-trajectories", an.figure_trajectories(
        stochastic, f"Section 5 stochastic: mean over {HP.n_seeds} seeds (band: min-max)"),
        "x_t and R_t/t against t, averaged over seeds with the min-max band over seeds.")


@pytest.mark.part("stochastic-setting")
def test_amsgrad_beats_adam_on_the_stochastic_problem_on_average(stochastic, seeds, evidence):
    """Per seed AMSGrad is too noisy to call at 10^6 steps (its time-average ranges over
    roughly [-1, +0.96]); over seeds it is on the optimum's side on average, and its regret is
    below Adam's on most seeds. "Less than half Adam's regret on average" (the statement this
    check replaced, at 20 seeds) is recorded, not checked: over 1300 seeds the ratio of mean
    regrets is 0.41, but with 100 seeds its interval still reaches 0.5 for some base seeds."""
    adam, ams = stochastic["Adam"], stochastic["AMSGrad"]
    T = ams.steps
    evidence.seeds(seeds)
    adam_rate, ams_rate = adam.regret_T / T, ams.regret_T / T
    evidence.record("Stochastic: AMSGrad time-average, min and max over seeds",
                    [ams.tail_mean.min(), ams.tail_mean.max()])
    evidence.record("Stochastic: (mean over seeds of AMSGrad's R_T/T) / (same for Adam)",
                    ams_rate.mean() / adam_rate.mean(),
                    measured(0.41, "pooled over seeds 0-1299; 0.27-0.61 in windows of 20 seeds"))
    evidence.check_seeds("Stochastic: AMSGrad's mean x_t over the last 10%", ams.tail_mean,
                         "mean", "<", 0.0, seeds=seeds,
                         reference=measured(-0.40, "pooled over seeds 0-1299"))
    evidence.check_seeds("Stochastic: seeds where AMSGrad's R_T/T is below Adam's",
                         ams_rate < adam_rate, "fraction", ">=", 0.8, seeds=seeds,
                         reference=measured(0.95, "pooled over seeds 0-1299"))


# --- the role of beta1 --------------------------------------------------------------------------
@pytest.mark.part("beta1-condition")
def test_momentum_beta1_0p9_makes_adam_converge_on_the_theorem1_problem(evidence):
    """Theorem 1 takes beta1 = 0. Reddi et al.'s general counterexamples (Theorems 2-3) need
    beta1 < sqrt(beta2); here sqrt(beta2) = 0.316, so beta1 = 0.9 is outside that condition, and
    on this instance Adam then converges. A beta1 sweep locates the switch."""
    prob, T = an.theorem1(HP.C), HP.theorem1_steps
    tr = an.run_linear(prob, T, b1=0.9, b2=B2_THEOREM1, alpha=HP.alpha, tail=tail(T))
    evidence.check(f"Theorem 1 problem, Adam with beta1 = 0.9 (> sqrt(beta2) = "
                   f"{np.sqrt(B2_THEOREM1):.3f}): mean x_t over the last 10% of 1e5 steps",
                   tr.tail_mean[0], "<", -0.95)
    b1s = np.linspace(0.0, 0.99, HP.beta1_sweep)
    sweep = an.run_linear(prob, T, b1=b1s, b2=B2_THEOREM1, alpha=HP.alpha, tail=tail(T))
    fails = b1s[sweep.tail_mean > 0.9]
    converges = b1s[sweep.tail_mean < -0.9]
    evidence.record("Theorem 1 problem: largest beta1 of the sweep at which Adam fails "
                    "(time-average > 0.9)", fails.max())
    evidence.record("Theorem 1 problem: smallest beta1 of the sweep at which Adam converges "
                    "(time-average < -0.9)", converges.min())
    evidence.record("Theorem 1 problem: sqrt(beta2)", np.sqrt(B2_THEOREM1))
    evidence.note(f"Paper's condition for a counterexample to exist: beta1 < sqrt(beta2) "
                  f"(= {np.sqrt(B2_THEOREM1):.3f} here). On this instance (C = {HP.C:g}, alpha = "
                  f"{HP.alpha}, T = 1e5) Adam fails for beta1 <= {fails.max():.2f} and converges "
                  f"for beta1 >= {converges.min():.2f}: the switch is near, but not at, "
                  "sqrt(beta2) - the condition is about existence of some bad problem, not a "
                  "threshold for this one.")


# --- parity and the bias-correction variants ----------------------------------------------------
PARITY_VARIANTS = {  # keywords shared by optimizers.adam and the kernel, all spelled out
    "Adam, paper form": dict(bias_correction=False, eps=0.0),
    "AMSGrad, paper form": dict(bias_correction=False, eps=0.0, amsgrad=True),
    "Adam, bias-corrected, eps 1e-8": dict(bias_correction=True, eps=1e-8),
    "AMSGrad, bias-corrected (max of raw v), eps 1e-8":
        dict(bias_correction=True, eps=1e-8, amsgrad=True),
    "AMSGrad, max of bias-corrected v, eps 1e-8":
        dict(bias_correction=True, eps=1e-8, amsgrad=True, max_of_corrected=True),
}


@pytest.mark.part("kernel-parity")
def test_fast_kernel_matches_the_shared_optimizers(evidence):
    """The batched kernel and ``reproductions.optimizers`` (driven step by step with clipping)
    produce the same x_t on both online problems, for each Adam/AMSGrad variant, SGD and
    AdaGrad (``optimizers.adagrad(lr=alpha, eps=0)`` is the paper's AdaGrad with alpha/sqrt(t))."""
    T = HP.parity_steps
    sched = opt.inverse_sqrt(HP.alpha)
    for name, kw in PARITY_VARIANTS.items():
        worst = 0.0
        for prob, b1, b2 in CONTROL_PROBLEMS.values():
            g = an.grad_array(prob, T)
            ref = an.optimizer_trajectory(opt.adam(sched, b1=b1, b2=b2, **kw), g, 0.0)
            tr = an.run_linear(prob, T, b1=b1, b2=b2, alpha=HP.alpha,
                               record_at=range(1, T + 1), **kw)
            worst = max(worst, np.abs(tr.x[:, 0] - ref[:-1, 0]).max(),
                        abs(tr.x_final[0] - ref[-1, 0]))
        evidence.check(f"{name}: max |x_t(kernel) - x_t(optimizers.adam)| over {T} steps, both "
                       "problems", worst, "<", 1e-9)
    for name, make, method in (("SGD", lambda: opt.sgd(sched), "sgd"),
                               ("AdaGrad", lambda: opt.adagrad(HP.alpha, eps=0.0), "adagrad")):
        worst = 0.0
        for prob, _, _ in CONTROL_PROBLEMS.values():
            g = an.grad_array(prob, T)
            ref = an.optimizer_trajectory(make(), g, 0.0)
            tr = an.run_linear(prob, T, method=method, alpha=HP.alpha,
                               record_at=range(1, T + 1))
            worst = max(worst, np.abs(tr.x[:, 0] - ref[:-1, 0]).max())
        evidence.check(f"{name}: max |x_t(kernel) - x_t(optimizers.{name.lower()})| over {T} "
                       "steps, both problems", worst, "<", 1e-9)


@pytest.mark.part("kernel-parity")
@pytest.mark.parametrize("amsgrad", [False, True], ids=["adam", "amsgrad"])
def test_shared_adam_matches_torch_adam(amsgrad, evidence):
    """``optimizers.adam`` in its torch form (bias correction, eps = 1e-8, AMSGrad's max taken of
    the raw v_t) follows ``torch.optim.Adam(amsgrad=...)`` driven with lr_t = alpha/sqrt(t) by
    LambdaLR and clamped after each step. The paper's form differs from both: no bias
    correction and no eps."""
    T = HP.parity_steps
    worst = 0.0
    for prob, b1, b2 in CONTROL_PROBLEMS.values():
        g = an.grad_array(prob, T)
        ours = an.optimizer_trajectory(
            opt.adam(opt.inverse_sqrt(HP.alpha), b1=b1, b2=b2, eps=1e-8, amsgrad=amsgrad), g, 0.0)
        theirs = an.torch_adam_trajectory(g, 0.0, b1, b2, HP.alpha, eps=1e-8, amsgrad=amsgrad)
        worst = max(worst, np.abs(ours - theirs).max())
    evidence.check(f"{'AMSGrad' if amsgrad else 'Adam'}: max |x_t(optimizers.adam) - "
                   f"x_t(torch.optim.Adam)| over {T} steps, both problems", worst, "<", 1e-9)


@pytest.mark.part("max-of-corrected-v")
def test_max_of_bias_corrected_v_stalls_on_the_section5_problem(evidence):
    """Where AMSGrad's max is taken matters once v is bias-corrected. v^_1 = g_1^2 = 1010^2, so a
    max over the *corrected* v^_t keeps every later step divided by >= 1010: with beta1 = 0 the
    first step takes x to -0.5 and it barely moves after. Reddi et al.'s AMSGrad (no correction)
    and torch's (max of raw v, then corrected) both converge."""
    prob, T = an.online(), HP.s5_steps

    def run(b1, **kw):
        return an.run_linear(prob, T, b1=b1, b2=HP.s5_b2, alpha=HP.alpha, tail=HP.s5_tail,
                             amsgrad=True, **kw).tail_mean[0]
    evidence.check("Section 5 online, beta1 = 0, AMSGrad with the max of bias-corrected v "
                   "(max_of_corrected=True): mean x_t over the last 101k of 1e6 steps",
                   run(0.0, bias_correction=True, max_of_corrected=True), "in", (-0.75, -0.25),
                   theory(-0.5, "x_2 = -alpha, after which every step is divided by >= 1010"))
    evidence.check("Section 5 online, beta1 = 0, torch's AMSGrad (max of raw v, then corrected): "
                   "mean x_t over the last 101k of 1e6 steps", run(0.0, bias_correction=True),
                   "<", -0.95)
    evidence.check("Section 5 online, beta1 = 0, paper's AMSGrad: mean x_t over the last 101k of "
                   "1e6 steps", run(0.0), "<", -0.95)
    evidence.record("Section 5 online, beta1 = 0.9, x_1 = 0, max of bias-corrected v: mean x_t "
                    "over the last 101k", run(0.9, bias_correction=True, max_of_corrected=True))
    evidence.record("Section 5 online, beta1 = 0.9, x_1 = 1, max of bias-corrected v: mean x_t "
                    "over the last 101k",
                    an.run_linear(prob, T, b1=0.9, b2=HP.s5_b2, x0=1.0, alpha=HP.alpha,
                                  tail=HP.s5_tail, amsgrad=True, bias_correction=True,
                                  max_of_corrected=True).tail_mean[0])
    evidence.note("With the paper's beta1 = 0.9 from x_1 = 0 the max-of-corrected variant does "
                  "not stall: m's own bias correction front-loads large steps that carry x to "
                  "-0.9 within 10 steps; started at x_1 = 1 it stalls near 0 instead (recorded). "
                  "The stall near -0.5 is the beta1 = 0 case.")


# --- beyond the paper: a (beta1, beta2) phase diagram -------------------------------------------
def phase_findings(b1s, b2s, x_tail, evidence, label):
    B1, B2 = np.meshgrid(b1s, b2s, indexing="ij")
    above = B1 > np.sqrt(B2)  # outside the paper's counterexample condition beta1 < sqrt(beta2)
    fails, converges = x_tail > 0.9, x_tail < -0.9
    evidence.record(f"{label}: fraction of grid cells where Adam fails (time-average > 0.9)",
                    fails.mean())
    evidence.record(f"{label}: cells with beta1 > sqrt(beta2) / of them Adam fails",
                    [int(above.sum()), int((above & fails).sum())])
    evidence.record(f"{label}: cells with beta1 < sqrt(beta2) / of them Adam converges "
                    "(time-average < -0.9)", [int((~above).sum()), int((~above & converges).sum())])
    failing_b2 = b2s[fails[0]]
    if failing_b2.size:
        evidence.record(f"{label}: beta1 = 0, smallest 1 - beta2 of the grid at which Adam fails",
                        1.0 - failing_b2.max())
    return above, fails, converges


@pytest.mark.part("phase-diagram")
def test_phase_diagram_small_grid(evidence):
    """The phase-diagram mechanism at default-tier size (8 x 8 grid, 1e5 steps)."""
    b1s, b2s = an.phase_grid(HP.phase_small_n, HP.phase_small_n)
    x_tail, reg = an.phase_diagram(b1s, b2s, HP.phase_small_steps, alpha=HP.alpha)
    label = f"{HP.phase_small_n}x{HP.phase_small_n} grid, Section 5 online, T = 1e5"
    above, fails, _ = phase_findings(b1s, b2s, x_tail, evidence, label)
    evidence.check(f"{label}: cells with beta1 > sqrt(beta2) where Adam fails",
                   int((above & fails).sum()), ">", 0)
    evidence.figure("phase-diagram-small", an.figure_phase_diagram(
        b1s, b2s, x_tail, reg, f"Adam (paper form, alpha_t = {HP.alpha}/sqrt(t)), {label}"),
        "Time-average of x_t (left) and R_T/T (right) over (1 - beta2, beta1); dashed: "
        "beta1 = sqrt(beta2), the paper's condition beta1 < sqrt(beta2) holds below it.")


@pytest.mark.part("phase-diagram")
@pytest.mark.slow
def test_phase_diagram_paper_scale(evidence):
    """Adam on the Section 5 online problem over a 32 x 32 (beta1, beta2) grid at 1e6 steps:
    beta1 in [0, 0.99] uniform, 1 - beta2 in [1e-5, 0.5] log-uniform, all 1024 configurations
    in one lockstep run."""
    b1s, b2s = an.phase_grid(HP.phase_n, HP.phase_n)
    start = time.perf_counter()
    x_tail, reg = an.phase_diagram(b1s, b2s, HP.phase_steps, alpha=HP.alpha)
    evidence.record("wall time of the 32 x 32 x 1e6 phase diagram [s]", time.perf_counter() - start)
    label = f"{HP.phase_n}x{HP.phase_n} grid, Section 5 online, T = 1e6"
    above, fails, converges = phase_findings(b1s, b2s, x_tail, evidence, label)
    evidence.check(f"{label}: cells with beta1 > sqrt(beta2) where Adam fails",
                   int((above & fails).sum()), ">", 0)
    evidence.check(f"{label}: cells with beta1 < sqrt(beta2) where Adam converges",
                   int((~above & converges).sum()), ">", 0)
    u_fail = 1.0 - b2s[fails[0]].max()  # beta1 = 0: smallest 1 - beta2 at which Adam fails
    evidence.note(
        f"Phase diagram: on this instance the outcome is set by beta2, not by beta1 < "
        f"sqrt(beta2). Adam fails (x -> +1) in {fails.mean():.0%} of the grid: for beta1 = 0 once "
        f"1 - beta2 >= {u_fail:.1e}, i.e. once v_t's memory 1/(1 - beta2) is shorter than "
        f"~{1 / u_fail:.0f} steps (~{1 / u_fail / 101:.0f} periods of 101) and forgets the rare "
        f"1010 gradient, and the boundary moves little with beta1 up to ~0.9. It fails in "
        f"{int((above & fails).sum())} of the {int(above.sum())} cells above the curve "
        f"beta1 = sqrt(beta2), where the paper's condition does not hold, and converges "
        f"(time-average < -0.9) in {int((~above & converges).sum())} cells below it (very long "
        f"memory, or beta1 near 0.99); between the two it has not settled by 1e6 steps. The "
        f"paper's condition beta1 < sqrt(beta2) guarantees that *some* problem defeats Adam; "
        f"for this problem it is neither necessary nor sufficient.")
    evidence.figure("phase-diagram", an.figure_phase_diagram(
        b1s, b2s, x_tail, reg, f"Adam (paper form, alpha_t = {HP.alpha}/sqrt(t)), {label}"),
        "Time-average of x_t over the last 10% (left) and R_T/T (right) over (1 - beta2, beta1); "
        "dashed: beta1 = sqrt(beta2) (the paper's condition beta1 < sqrt(beta2) holds below it).")


# --- benchmarks -----------------------------------------------------------------------------------
def test_bench_naive_python_loop(benchmark):
    """Plain-Python scalar loop, one configuration (Section 5 online, beta1 = 0.9, beta2 = 0.99),
    computing the same outputs as the kernel (path, regret, time-average)."""
    T = HP.bench_naive_steps
    g = an.grad_array(an.online(), T)[:, 0].tolist()
    benchmark.group = "adam-nonconvergence: 1e6-step linear problems"
    benchmark.extra_info["units"] = T  # configuration-steps per call
    benchmark.pedantic(an.naive_loop, args=(g, HP.s5_b1, HP.s5_b2),
                       kwargs=dict(alpha=HP.alpha, tail=T // 10), rounds=3, iterations=1)


def test_bench_batched_kernel_at_phase_diagram_size(benchmark):
    """The batched kernel on the phase diagram's 32 x 32 configurations (fewer steps)."""
    T = HP.bench_kernel_steps
    b1s, b2s = an.phase_grid(HP.phase_n, HP.phase_n)
    benchmark.group = "adam-nonconvergence: 1e6-step linear problems"
    benchmark.extra_info["units"] = HP.phase_n**2 * T
    benchmark.extra_info["baseline"] = "test_bench_naive_python_loop"
    benchmark.pedantic(an.phase_diagram, args=(b1s, b2s, T), kwargs=dict(alpha=HP.alpha),
                       rounds=3, iterations=1)


def test_bench_batched_kernel_single_config(benchmark):
    """The kernel on one configuration for 1e6 steps (the blocked scan vectorises over blocks of
    time, so even a single run avoids the per-step Python loop)."""
    T = HP.s5_steps
    benchmark.group = "adam-nonconvergence: 1e6-step linear problems"
    benchmark.extra_info["units"] = T
    benchmark.extra_info["baseline"] = "test_bench_naive_python_loop"
    benchmark.pedantic(an.run_linear, args=(an.online(), T),
                       kwargs=dict(b1=HP.s5_b1, b2=HP.s5_b2, alpha=HP.alpha, tail=HP.s5_tail),
                       rounds=3, iterations=1)
