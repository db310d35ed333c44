"""The Fisher information matrix, the natural gradient and K-FAC, as lecture notes 000/001 §1.1
and slides 002 describe them.

Sources: lecture notes 000/001 §1.1 "Natural gradient descent" (the KL-regularized step, the
Fisher matrix with y drawn from the model, the empirical Fisher F_hat over the dataset's inputs,
K-FAC [MG15], Figure 1 and the three concerns about K-FAC); slides 002 "Information theory point
of view"; Martens (2020), "New insights and perspectives on the natural gradient method", JMLR
21: §9.2 (Fisher = generalized Gauss-Newton = Hessian for the cross-entropy of softmax outputs of
a model linear in its parameters); Kunstner, Hennig & Balles (NeurIPS 2019), "Limitations of the
empirical Fisher approximation" (their "empirical Fisher": outer products at the data's labels,
not the notes' F_hat); Martens & Grosse (ICML 2015), K-FAC. Experiments in
``reproductions/natural_gradient.py`` and ``reproductions/kfac.py``.
"""

import numpy as np
import pytest
import torch

from optclaims_report.claim import (known_non_reproduction, measured, part, reading, seed_range,
                                    theory, tried)
from reproductions import kfac as kf
from reproductions import natural_gradient as ng
from reproductions.data import load_mnist

NOTES = "Lecture notes 000/001 §1.1"
SLIDES = "Slides 002"
MG15 = "Martens & Grosse (ICML 2015)"
KL_SEEDS_MEASURED = "per-seed values over seeds 0-124 and 10000-10124"
KFAC_MEASURED = "per-seed values over seeds 0-29 and 10000-10029 (slow tier's experiment)"

CLAIMS = [
    {"id": "fisher-label-free", "title": "The Fisher matrix ignores the labels; the outer "
     "product at the data's labels does not", "statement": "For softmax regression the Fisher "
     "information matrix (labels drawn from the model) equals the Hessian of the cross-entropy "
     "and does not depend on the true labels, while the outer product of the log-likelihood "
     "gradients at the data's labels (Kunstner et al.'s 'empirical Fisher', a different matrix "
     "from the notes' F_hat) changes with them.",
     "sources": [f"{NOTES} (the Fisher matrix does not depend at all on the true labels)",
                 f'{SLIDES}, "Information theory point of view" (Newton and the Fisher as two '
                 'interpretations of similar methods)', "Martens (2020), JMLR 21, §9.2",
                 "Kunstner, Hennig & Balles (NeurIPS 2019)"],
     "parts": [
         part("fisher-kernels-match-autograd", "precondition", "The closed-form gradients of "
              "log p(k|x), the Fisher, the outer product at the labels and the block-assembled "
              "Fisher agree with autograd (and each other) to 1e-12.", "our protocol"),
         part("fisher-equals-hessian-label-free", "effect", "The Fisher equals the Hessian of "
              "the mean cross-entropy, and neither changes when the labels are permuted.",
              NOTES, judges=("fisher-ignores-labels", "newton-fisher-equivalence")),
         part("label-outer-product-differs", "control", "The outer product at the data's "
              "labels differs from the Fisher by more than 10% and changes by more than 10% "
              "when the labels are permuted.", "Kunstner et al. (NeurIPS 2019)"),
     ]},
    {"id": "dataset-fisher", "title": "The notes' empirical Fisher: inputs from the dataset, "
     "labels from the model", "statement": "With the input distribution D unknown, the notes "
     "average the Fisher over the dataset's inputs, labels still drawn from the model: this "
     "F_hat approaches F with the error of an average of independent terms (E||F_hat - F||^2 = "
     "sigma^2 / n), and drawing the labels by Monte Carlo approaches F_hat at the rate 1/sqrt(S) "
     "of S draws per input; the outer product at the data's labels does not approach F.",
     "sources": [f"{NOTES} (the empirical distribution of the dataset gives F_hat)",
                 "Kunstner et al. (NeurIPS 2019) for the matrix at the data's labels"],
     "parts": [
         part("dataset-fisher-kernels", "precondition", "The per-example Fisher, the outer "
              "products per class, the dataset counts and the Monte Carlo estimator agree with "
              "autograd or the literal computation to 1e-12.", "our protocol"),
         part("dataset-fisher-converges", "effect", "For datasets of n = 25 to 1600 draws from "
              "D, n E||F_hat - F||^2 / sigma^2 = 1 (geometric mean over sizes and seeds within "
              "5%) and the root-mean-square error falls as n^(-1/2) (fitted slope within 0.03 of "
              "-1/2 on every seed).", NOTES, judges=("empirical-fisher-stand-in",)),
         part("sampled-labels-converge", "scope", "Labels drawn from the model, S = 1 to 64 per "
              "input: S E||F_MC - F_hat||^2 equals its exact value (geometric mean over S and "
              "seeds within 5%) and the error falls as S^(-1/2) (slope within 0.03 on every "
              "seed).", NOTES,
              judges=("fisher-ignores-labels",)),
         part("label-outer-product-stays-away", "control", "The same average at the data's "
              "labels does not approach F: from n = 400 to 1600 its error falls by less than "
              "20% (F_hat's halves), and at n = 1600 it is over 5 times F_hat's.",
              "Kunstner et al. (NeurIPS 2019)"),
     ],
     "configurations_tried": [
         tried("the sentence read as the outer product at the data's labels (this suite's "
               "earlier reading of 'empirical Fisher')", "a different matrix (median 10%+ "
               "from F, changes with the labels): kept as the control, not as the notes' F_hat"),
         tried("pool of 4000 inputs, seed 0", "n E||F_hat - F||^2 / sigma^2 0.98-1.03, the "
               "same as with the pool of 2000 kept"),
     ]},
    {"id": "natural-gradient-kl-step", "title": "The natural-gradient step minimizes the "
     "KL-regularized step to second order, not exactly", "statement": "The minimizer of c g^T "
     "Delta + E_x KL(p_theta || p_theta+Delta) is -c F^-1 g + c^2 delta_2 + O(c^3), delta_2 = "
     "-1/2 F^-1 T[n, n, .] from the KL's third derivative: the relative gap to the natural step "
     "is linear in the gradient's scale c and the excess objective of the natural step is c^4 "
     "1/2 delta_2^T F delta_2; at the loss's own gradient (c = 1) the gap is tens of percent, and "
     "for a large gradient there is no minimizer. The notes' 'precisely' holds for the "
     "derivation's quadratic approximation of the KL, not for the KL.",
     "sources": [f"{NOTES} (the minimizer is precisely -F^-1 grad loss)"],
     "parts": [
         part("kl-kernels-match", "precondition", "The expected KL equals torch's kl_div, its "
              "Hessian (autograd) equals the closed-form Fisher at theta + Delta, the "
              "third-order term T[n, n, .] equals central differences of that Hessian, and "
              "Newton's solver finds the quadratic model's closed-form minimizer and a "
              "stationary point of every KL problem (gradient below 1e-10).", "our protocol"),
         part("second-order-agreement", "effect", "As c -> 0, on every seed: the gap's slope "
              "in c is 1 (within 0.01, c = 1e-4 to 1e-3) and gap / c equals ||delta_2|| / ||n|| "
              "(within 0.3% at c = 1e-4); the excess objective's slope is 4 (within 0.05, "
              "c = 3e-3 to 1e-2) and excess / c^4 equals 1/2 delta_2^T F delta_2 (within 3% at "
              "c = 3e-3).", NOTES, judges=("natural-gradient-minimizer",)),
         part("no-minimizer-for-large-gradients", "mechanism", "At c = 30 the objective is "
              "unbounded below: along -F^-1 g it is below -1000 at step length 1000.",
              "KL grows only linearly in the logits, the linear term as fast"),
         part("precisely", "scope", "The notes' 'precisely' at the loss's own gradient (c = 1): "
              "the exact minimizer equals -F^-1 g to the solver's precision (1e-8) on every "
              "seed.", NOTES, judges=("natural-gradient-minimizer",),
              readings=(
                  reading("the exact KL at the loss's own gradient (c = 1), softmax regression "
                          "at a random theta", "exact minimizer 7%-151% away from -F^-1 g "
                          "(median 42%); on no seed within 1e-8", "does not hold", "document",
                          f"default tier; {KL_SEEDS_MEASURED}"),
                  reading("the derivation's approximation: the KL replaced by 1/2 Delta^T F "
                          "Delta", "minimizer -F^-1 g to 1e-15", "holds", "document",
                          "default tier, kl-kernels-match (quadratic model)"),
                  reading("as the gradient's scale c -> 0 (second order in the step)",
                          "gap / c -> ||delta_2|| / ||n|| within 0.1% at c = 1e-4 on 250 "
                          "seeds", "holds", "ours", "default tier, second-order-agreement"),
              )),
     ],
     "configurations_tried": [
         tried("one bound: BFGS minimizer within 5% of -c F^-1 g at c = 0.01, median over 5 "
               "seeds", "per-seed values 0.007-0.083 against 0.05: inconclusive at a held-out "
               "base seed; replaced by the scaling checks"),
         tried("Newton with a backtracking line search on the objective's value", "stalls at "
               "c = 1e-4 on 9% of seeds (the objective's changes there, ~c^4, are below its "
               "rounding); the gradient's norm as the merit function converges on all 250"),
     ]},
    {"id": "kfac-mnist", "title": "K-FAC against tuned gradient descent with momentum on MNIST",
     "statement": "A 784-32-10 tanh classifier on 1000 MNIST digits, full batch. K-FAC (MG15: "
     "Kronecker factors per layer, factored Tikhonov damping, the quadratic-model rescaling with "
     "momentum, Levenberg-Marquardt damping) reaches a training loss hundreds of times lower "
     "than GD with momentum at its best learning rate after 10 iterations. Against cost (the "
     "notes' Figure 1 plots training error against time; here torch's flop count, one K-FAC "
     "iteration = 5.7 GD iterations, measured seconds about the same), tuned GD gets to a "
     "training loss of 0.1, 0.01 and 0.001 first, at 0.13-0.18, 0.20-0.34 and 0.31-0.93 of "
     "K-FAC's cost, but at the cost of K-FAC's 80 iterations GD's training loss is 60-9000 "
     "times higher. K-FAC at the damping that makes it fast, early-stopped on validation, ends "
     "at a test loss 1.2-1.8 times GD's (validation-tuned, early-stopped); damped more it "
     "approaches GD's (0.99-1.05 times at lambda0 = 10).",
     "parts": [
         part("kfac-kernels-match", "precondition", "K-FAC's Kronecker blocks G (x) A equal the "
              "exact Fisher's layer blocks (autograd) for one example, its G factors, "
              "Fisher-vector product, damped inverse and rescaled update agree with autograd "
              "or explicit algebra to 1e-10; the block-assembled softmax Fisher of the convex "
              "run equals the per-example one.", f"{MG15}, §3",
              judges=("notes-kfac-estimates-inverse-fisher",)),
         part("hyperparameters-bracketed", "precondition", "Each chosen hyperparameter "
              "(K-FAC's fastest lambda0; GD's fastest, matched-cost and validation-best "
              "learning rates) is interior to its grid on every seed, and K-FAC's "
              "early-stopping iteration is before its run's end (GD's may be at its end: "
              "stopped before its validation minimum, GD's test loss tends to be higher, the "
              "conservative side).",
              "our protocol"),
         part("kfac-faster-per-iteration", "effect", "After 10 iterations GD's lowest training "
              "loss over its grid is above K-FAC's (geometric-mean ratio over seeds > 1, its "
              "95% interval clear of 1).", f"{NOTES}; {MG15}",
              judges=("kfac-faster-per-iteration",)),
         part("kfac-faster-against-time", "scope", "Against cost (the notes' Figure 1 plots "
              "training error against time; here a flop model, measured seconds beside it), at "
              "the cost of K-FAC's whole run GD's lowest training loss over its grid is above "
              "K-FAC's (geometric-mean ratio > 1, interval clear of 1); early in the run GD is "
              "ahead (recorded).", f"{NOTES}, Figure 1 (training error against time)",
              judges=("kfac-faster-per-iteration",)),
         part("kfac-worse-test-loss", "scope", "K-FAC at the damping of its fastest training "
              "(the run of Figure 1), early-stopped on validation, ends at a higher test loss "
              "than GD at its validation-best learning rate, early-stopped (geometric-mean "
              "ratio > 1, its 95% interval clear of 1; the notes state no size). Damped more, "
              "K-FAC's test loss approaches GD's (recorded).", f"{NOTES} (third concern about "
              "K-FAC)",
              judges=("kfac-poor-test-loss",),
              readings=(
                  reading("the exact damped natural gradient on convex softmax regression "
                          "(digits), both methods after 30 iterations (this suite's earlier "
                          "reading)", "NGD test loss 0.12-0.19 against GD's 0.17-0.40",
                          "does not hold", "ours", "slow tier, exact-natural-gradient-convex"),
              )),
         part("exact-natural-gradient-convex", "scope", "On softmax regression on digits (a "
              "convex problem, the exact damped Fisher), the natural gradient's training loss "
              "after 30 iterations is at least 5 times below GD's at its best learning rate, "
              "whose grid brackets it; its test loss is recorded as a reading of the notes' "
              "test-loss remark.", "our earlier reading of the K-FAC sentences"),
     ],
     "configurations_tried": [
         tried("784-64-10 net, K-FAC lambda0 in {1e-3, 1e-2, 0.1, 1, 10, 150} for 60 "
               "iterations, GD lr in {0.01 ... 10} for 300, seeds 0-5", "GD / K-FAC training "
               "loss after 10 iterations about 100x; K-FAC (validation-best lambda0 1) / GD "
               "test loss 0.995-1.038"),
         tried("the paper's lambda0 = 150", "over-damped for these runs: training loss 2.36 -> "
               "1.02 in 60 iterations, test loss 1.07-1.19 (GD 0.39-0.43)"),
         tried("784-32-10, lambda0 speed grid {1e-4, 1e-3, 1e-2}, validation grid {0.1, 1, 10} "
               "and {0.3, 1, 3}, GD lr {0.01, 0.03, 0.1, 3, 10, 30}, 16 and 13 seeds", "fastest "
               "lambda0 1e-4 at the grid's end; validation-best lambda0 the grid's largest each "
               "time (test ratio 1.035, then 1.027); GD's matched-cost lr 30 at the grid's end "
               "on 3 of 13 seeds: grids widened to the ones kept"),
         tried("an analytic flop model (backward = 2 forward passes)", "K-FAC = 3.8 GD "
               "iterations; torch's counter gives 5.7 (the first layer's input gradient is not "
               "computed in GD's backward pass), matching the measured seconds (4-6x): kept"),
     ]},
    {"id": "second-order-costs", "title": "The full Fisher's inverse is out of reach even for a "
     "small MNIST MLP; a K-FAC iteration costs several gradient-descent iterations",
     "statement": "For the 784-32-10 MLP (P = 25,418 parameters) the full Fisher is a P x P "
                  "matrix of 2.6 GB in float32 whose inversion (P^3 / 3 flops) costs about "
                  "5 x 10^4 gradient-descent iterations; K-FAC avoids it but still pays about "
                  "5.7 gradient-descent iterations per iteration (torch's flop count).",
     "sources": [f"{NOTES}, the paragraph on the empirical Fisher's inverse and K-FAC's "
                 "concerns", f"{MG15}, §8 (cost per iteration)"],
     "parts": [
         part("full-inverse-out-of-reach", "effect", "The full Fisher of the MLP has P^2 "
              "entries, over 1 GB in float32, and its inversion costs over 10^4 gradient-"
              "descent iterations by torch's flop count (one iteration on 1000 examples).",
              f"{NOTES} (computing the inverse is too expensive)",
              judges=("notes-fisher-inverse-too-expensive",)),
         part("kfac-iteration-costs-more", "effect", "One K-FAC iteration (gradient, factors, "
              "preconditioning, two Fisher-vector products, rescaling, the damping's trial "
              "pass every 5 iterations, eigendecompositions at 10 d^3) costs over 2 "
              "gradient-descent iterations by torch's flop count.",
              f"{NOTES} (each K-FAC iteration is expensive)", judges=("kfac-slow-iterations",)),
         part("kfac-far-below-the-full-inverse", "control", "A K-FAC iteration costs less than "
              "1e-3 of the full inverse: the cost the check measures is the heuristic's, not "
              "the inverse it replaces.", f"{MG15}, §3"),
     ]},
]
N_SEEDS = 5          # the Fisher comparisons: exact identities, a few seeds for coverage
N_DATASET = 5        # dataset-Fisher convergence: 200 replicate datasets per seed
N_KL = 16            # the KL step: exact per-seed limits; 16 seeds for the median at c = 1
N_KFAC = 6           # K-FAC on MNIST (slow tier): every window of 6 held, seeds 0-24, 10000-10024


@pytest.fixture(scope="module")
def seeds(seed):
    return seed_range(seed, N_SEEDS)


# --- the Fisher matrix ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def fisher(seeds):
    rows = [ng.fisher_comparison(s) for s in seeds]
    return {k: np.array([r[k] for r in rows]) for k in rows[0]}


@pytest.mark.part("fisher-kernels-match-autograd")
def test_fisher_kernels_match_autograd(seeds, evidence):
    errors = [ng.fisher_kernel_errors(s) for s in seeds]
    evidence.seeds(seeds)
    for name in errors[0]:
        evidence.check(f"max over seeds: {name}, relative error", max(e[name] for e in errors),
                       "<", 1e-12, reference=theory(0.0, "the same quantity by autograd"))


@pytest.mark.part("fisher-equals-hessian-label-free")
def test_fisher_equals_the_hessian_and_ignores_the_labels(fisher, seeds, evidence):
    c = ng.CONFIG["fisher"]
    evidence.seeds(seeds)
    evidence.note(f"Softmax regression, n = {c['n']} Gaussian inputs of dimension {c['dim']}, "
                  f"{c['classes']} classes (last class's logit fixed at 0), labels from a random "
                  "teacher, evaluated at a random theta (not the optimum). Hessian by autograd, "
                  "Fisher in closed form E_x sum_y p(y|x) grad log p grad log p^T.")
    evidence.check_seeds("||F - H|| / ||H||", fisher["fisher_vs_hessian"], "median", "<", 1e-10,
                         seeds=seeds, reference=theory(0.0, "Martens (2020), §9.2"))
    evidence.check_seeds("||H(permuted labels) - H|| / ||H||",
                         fisher["hessian_under_permuted_labels"], "median", "<", 1e-12,
                         seeds=seeds, reference=theory(0.0, "the CE Hessian of softmax "
                                                            "regression has no label term"))


@pytest.mark.part("label-outer-product-differs")
def test_the_outer_product_at_the_labels_is_another_matrix(fisher, seeds, evidence):
    evidence.note("The outer product at the data's labels is what Kunstner et al. (2019) call "
                  "the empirical Fisher; the notes' F_hat (inputs from the dataset, labels "
                  "from the model) is the Fisher of the claim above, computed on the dataset.")
    evidence.check_seeds("||outer product at labels - F|| / ||F||", fisher["empirical_vs_fisher"],
                         "median", ">", 0.1, seeds=seeds)
    evidence.check_seeds("||its value at permuted labels - itself|| / ||itself||",
                         fisher["empirical_under_permuted_labels"], "median", ">", 0.1,
                         seeds=seeds)


# --- the notes' empirical Fisher F_hat ------------------------------------------------------------
@pytest.fixture(scope="module")
def dataset_fisher(seed):
    seeds = seed_range(seed, N_DATASET)
    return seeds, [ng.dataset_fisher_errors(s) for s in seeds]


@pytest.mark.part("dataset-fisher-kernels")
def test_dataset_fisher_kernels_match_autograd(dataset_fisher, evidence):
    seeds, _ = dataset_fisher
    errors = [ng.dataset_kernel_errors(s) for s in seeds]
    for name in errors[0]:
        evidence.check(f"max over seeds: {name}, relative error", max(e[name] for e in errors),
                       "<", 1e-12, reference=theory(0.0, "autograd / the literal computation"))


def fitted_slope(xs, mean_squares) -> float:
    """Slope of log root-mean-square error against log x."""
    return float(np.polyfit(np.log(xs), 0.5 * np.log(mean_squares), 1)[0])


@pytest.mark.part("dataset-fisher-converges")
def test_the_dataset_fisher_approaches_the_fisher(dataset_fisher, evidence):
    seeds, rows = dataset_fisher
    c = ng.CONFIG["dataset_fisher"]
    evidence.seeds(seeds)
    evidence.note(f"D is uniform on a pool of {c['pool']} Gaussian inputs (dimension {c['dim']}, "
                  f"{c['classes']} classes), so F under D is exact; {c['replicates']} datasets of "
                  "n draws from D per size, F_hat with the exact expectation over y ~ p_theta. "
                  "Measured over seeds 0-59 and 10000-10059: n E||F_hat - F||^2 / sigma^2 "
                  "per seed and size in [0.89, 1.11] (200 replicates' sampling error), so the "
                  "check pools the four sizes per seed (theory: 1 at each); the band [0.95, "
                  "1.05] held on every window of 5 seeds (112 windows; one size alone straddles "
                  "on up to a third of them); fitted slopes in [-0.513, -0.487].")
    ratios = np.array([[n * r["dataset"][n] / r["sigma2"] for n in c["sizes"]] for r in rows])
    for n, ratio in zip(c["sizes"], ratios.T):
        evidence.record(f"n = {n}: n E||F_hat - F||^2 / sigma^2 per seed", ratio)
    evidence.check_seeds(f"n E||F_hat - F||^2 / sigma^2, geometric mean over n = "
                         f"{c['sizes']} per seed", np.exp(np.log(ratios).mean(1)), "gmean", "in",
                         (0.95, 1.05), seeds=seeds,
                         reference=theory(1.0, "variance of a mean of n iid terms"))
    slopes = [fitted_slope(c["sizes"], [r["dataset"][n] for n in c["sizes"]]) for r in rows]
    evidence.record("fitted slope of the RMS error against n, per seed", slopes)
    evidence.check("largest |slope + 1/2| over seeds", max(abs(s + 0.5) for s in slopes), "<",
                   0.03, reference=theory(0.0, "error ~ n^(-1/2)"))


@pytest.mark.part("sampled-labels-converge")
def test_sampled_labels_approach_the_exact_expectation(dataset_fisher, evidence):
    seeds, rows = dataset_fisher
    c = ng.CONFIG["dataset_fisher"]
    evidence.note(f"{c['mc_n']} inputs, S labels per input drawn from p_theta(.|x), "
                  f"{c['replicates']} replicates per S; against the exact expectation over y. "
                  "Measured over seeds 0-59 and 10000-10059: S E||F_MC - F_hat||^2 / theory per "
                  "seed in [0.92, 1.13], pooled over S per seed in [0.95, 1.05] on every window "
                  "of 5 seeds (112 windows); slopes in [-0.513, -0.484].")
    ratios = np.array([[S * r["sampled"][S] / r["sampled_theory_S1"] for S in c["label_samples"]]
                       for r in rows])
    for S, ratio in zip(c["label_samples"], ratios.T):
        evidence.record(f"S = {S}: S E||F_MC - F_hat||^2 / its exact value per seed", ratio)
    evidence.check_seeds(f"S E||F_MC - F_hat||^2 / its exact value, geometric mean over S = "
                         f"{c['label_samples']} per seed", np.exp(np.log(ratios).mean(1)),
                         "gmean", "in", (0.95, 1.05), seeds=seeds,
                         reference=theory(1.0, "variance of a mean of S iid draws"))
    slopes = [fitted_slope(c["label_samples"], [r["sampled"][S] for S in c["label_samples"]])
              for r in rows]
    evidence.record("fitted slope of the RMS error against S, per seed", slopes)
    evidence.check("largest |slope + 1/2| over seeds", max(abs(s + 0.5) for s in slopes), "<",
                   0.03, reference=theory(0.0, "error ~ S^(-1/2)"))


@pytest.mark.part("label-outer-product-stays-away")
def test_the_outer_product_at_the_labels_does_not_approach_the_fisher(dataset_fisher, evidence):
    seeds, rows = dataset_fisher
    evidence.note("The labels come from a teacher, not from the current theta: the average at "
                  "the labels converges to E_x E_{y ~ teacher}[g g^T], another matrix. Measured "
                  "over seeds 0-59 and 10000-10059: RMS(1600) / RMS(400) in [0.90, 1.00], "
                  "its RMS at n = 1600 7-91 times F_hat's.")
    evidence.check("largest RMS error ratio n = 1600 / n = 400 at the labels",
                   max(np.sqrt(r["labels"][1600] / r["labels"][400]) for r in rows), ">", 0.8,
                   reference=theory(0.5, "what a consistent estimator gives"))
    evidence.check("smallest RMS error at the labels / RMS error of F_hat, n = 1600",
                   min(np.sqrt(r["labels"][1600] / r["dataset"][1600]) for r in rows), ">", 5.0)


def direction(ratios) -> str:
    """A reading's verdict from per-seed ratios (above 1: the sentence's direction)."""
    return "holds" if min(ratios) > 1 else "does not hold" if max(ratios) < 1 else "inconclusive"


# --- the KL-regularized step ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def kl_steps(seed):
    seeds = seed_range(seed, N_KL)
    return seeds, [ng.kl_step_scaling(s) for s in seeds]


@pytest.mark.part("kl-kernels-match")
def test_kl_kernels_match_autograd_and_closed_forms(kl_steps, evidence):
    seeds, rows = kl_steps
    errors = [ng.kl_kernel_errors(s) for s in seeds[:4]]
    for name in errors[0]:
        evidence.check(f"max over seeds {seeds[0]}-{seeds[3]}: {name}",
                       max(e[name] for e in errors), "<", 1e-12,
                       reference=theory(0.0, "torch / autograd / closed form"))
    evidence.check("max over 4 seeds: T[n, n, .] (autograd through F) vs central differences "
                   "of the KL's Hessian (step 1e-4)", max(ng.third_order_error(s)
                                                          for s in seeds[:4]), "<", 1e-6,
                   reference=theory(0.0, "O(eps^2) = 1e-8 differencing error"))
    scales = ng.CONFIG["kl_step"]["scales"]
    evidence.check("fraction of (seed, c) where Newton's solver converged",
                   float(np.mean([r["converged"][c] for r in rows for c in scales])), "==", 1.0)
    evidence.check("largest final gradient norm of J_c", max(r["grad_norm"][c] for r in rows
                                                             for c in scales), "<", 1e-10)


@pytest.mark.part("second-order-agreement")
def test_the_natural_step_is_the_minimizer_to_second_order(kl_steps, evidence):
    seeds, rows = kl_steps
    c = ng.CONFIG["kl_step"]
    evidence.seeds(seeds)
    evidence.note(f"3-class softmax regression on {c['n']} points in {c['dim']}-D at a random "
                  "theta; the gradient g scaled by c; the exact minimizer by Newton's method "
                  "(gradient below 1e-16). Theory: argmin = -c n + c^2 delta_2 + O(c^3), so "
                  "gap / (c ||n||) = c ||delta_2|| / ||n|| + O(c^2) and J_c(-c n) - J_c(argmin) = "
                  "c^4 1/2 delta_2^T F delta_2 + O(c^5). Measured (" + KL_SEEDS_MEASURED + "): "
                  "gap slope 1e-4 -> 1e-3 in [0.9962, 1.0006], gap / (c A) at 1e-4 in "
                  "[0.9990, 1.0002], excess slope 3e-3 -> 1e-2 in [3.975, 4.011], excess / (c^4 "
                  "E4) at 3e-3 in [0.987, 1.006]; the deviations shrink linearly in c (at "
                  "1e-3: 0.0098, at 1e-2: 0.09), the O(c) term.")
    for scale in c["scales"]:
        evidence.record(f"c = {scale}: ||argmin - (-c n)|| / ||c n|| per seed",
                        [r["relative_error"][scale] for r in rows])
    gap, excess = (lambda s: np.array([r["relative_error"][s] for r in rows]),
                   lambda s: np.array([r["excess"][s] for r in rows]))
    A = np.array([r["gap_over_c_limit"] for r in rows])
    E4 = np.array([r["excess_over_c4_limit"] for r in rows])
    slope = np.log(gap(1e-3) / gap(1e-4)) / np.log(10)
    evidence.check("largest |gap slope - 1| over seeds, c = 1e-4 -> 1e-3",
                   float(np.max(np.abs(slope - 1))), "<", 0.01,
                   reference=theory(0.0, "a gap linear in c"))
    evidence.check("largest |gap / (c ||delta_2|| / ||n||) - 1| over seeds, c = 1e-4",
                   float(np.max(np.abs(gap(1e-4) / (1e-4 * A) - 1))), "<", 0.003,
                   reference=theory(0.0, "the third-order term of the KL"))
    excess_slope = np.log(excess(1e-2) / excess(3e-3)) / np.log(1e-2 / 3e-3)
    evidence.check("largest |excess slope - 4| over seeds, c = 3e-3 -> 1e-2",
                   float(np.max(np.abs(excess_slope - 4))), "<", 0.05,
                   reference=theory(0.0, "an excess of order c^4"))
    evidence.check("largest |excess / (c^4 1/2 delta_2^T F delta_2) - 1| over seeds, c = 3e-3",
                   float(np.max(np.abs(excess(3e-3) / (3e-3 ** 4 * E4) - 1))), "<", 0.03,
                   reference=theory(0.0, "the excess's leading term"))


@pytest.mark.part("no-minimizer-for-large-gradients")
def test_for_a_large_gradient_there_is_no_minimizer(kl_steps, evidence):
    seeds, rows = kl_steps
    along = np.array([r["objective_along_natural_at_large_c"] for r in rows])
    evidence.check_seeds("c = 30: objective c g^T Delta + E KL at Delta = -1000 F^-1 g", along,
                         "median", "<", -1000.0, seeds=seeds)


@pytest.mark.part("precisely")
@known_non_reproduction("not 'precisely': at the loss's own gradient the exact minimizer is "
                        "7%-151% away from -F^-1 g (median about 40%), on no seed within 1e-8; "
                        "it holds for the KL's quadratic approximation and as c -> 0")
def test_the_natural_step_is_precisely_the_minimizer(kl_steps, evidence):
    seeds, rows = kl_steps
    errors = np.array([r["relative_error"][1.0] for r in rows])
    evidence.check("fraction of seeds where the minimizer at c = 1 is -F^-1 g within 1e-8",
                   float(np.mean(errors < 1e-8)), "==", 1.0, pinned=(0.0, 0.0))
    evidence.check_seeds("c = 1: relative distance of the minimizer from the natural step",
                         errors, "median", "<", 1e-8, seeds=seeds,
                         reference=measured(0.42, f"median over 250 seeds, {KL_SEEDS_MEASURED}"),
                         pinned=(0.25, 0.6))
    evidence.reading("the derivation's quadratic model of the KL (kl-kernels-match)",
                     f"minimizer -F^-1 g to {ng.quadratic_model_minimizer(seeds[0], 1.0):.1e}",
                     "holds", "document")


# --- K-FAC on MNIST -------------------------------------------------------------------------------
@pytest.mark.part("kfac-kernels-match")
def test_kfac_kernels_match_autograd(seed, evidence):
    errors = [kf.kernel_errors(s) for s in seed_range(seed, 3)]
    evidence.note("A 5-4-10 tanh net with random biases in float64 (the experiment's net, "
                  "smaller): the exact Fisher by autograd per example and class.")
    for name in errors[0]:
        value = max(e[name] for e in errors)
        if name == "kron_vs_fisher_n_examples":
            evidence.record("K-FAC's approximation error on 8 examples (relative, largest "
                            "block)", value)
            continue
        evidence.check(f"max over 3 seeds: {name}", value, "<", 1e-10,
                       reference=theory(0.0, "autograd / explicit algebra"))
    evidence.check("max over 3 seeds: block-assembled softmax Fisher vs per-example Fisher",
                   max(ng.fisher_kron_error(s) for s in seed_range(seed, 3)), "<", 1e-12,
                   reference=theory(0.0, "the same matrix"))


@pytest.fixture(scope="module")
def kfac_runs(seed, data_dir, experiment_cache):
    images, labels = load_mnist(data_dir)
    seeds = seed_range(seed, N_KFAC)
    return seeds, [experiment_cache(kf.kfac_vs_gd, images, labels, s) for s in seeds]


def kfac_setting_note(evidence):
    c = kf.CONFIG
    evidence.note(f"MNIST (the 10,000 test images, the only ones here): {c['per_class']} "
                  f"images per class for training / validation / test, disjoint; a 784-"
                  f"{c['hidden']}-10 tanh classifier, full batch, same start for both methods. "
                  f"K-FAC (MG15 §3, §6.3-6.5, §7; exact expectation over y, gamma = "
                  f"sqrt(lambda)) "
                  f"for {c['kfac']['iterations']} iterations at lambda0 in "
                  f"{c['kfac_lambda0']['speed'] + c['kfac_lambda0']['validation']}; GD with "
                  f"momentum {c['gd']['momentum']} for {c['gd']['iterations']} iterations at lr in "
                  f"{c['gd']['lrs']}. Cost model: flops (reproductions/kfac.py).")


@pytest.mark.slow
@pytest.mark.part("hyperparameters-bracketed")
def test_each_method_is_at_an_interior_hyperparameter(kfac_runs, evidence):
    seeds, runs = kfac_runs
    grids, lrs = kf.CONFIG["kfac_lambda0"], list(kf.CONFIG["gd"]["lrs"])
    fast = [kf.per_iteration(r, 10) for r in runs]
    held = [kf.test_losses(r) for r in runs]
    end = [kf.matched_cost_lr(r, kf.matched_end(r)) for r in runs]
    evidence.record("GD's best lr at the cost of K-FAC's whole run, per seed", end)
    evidence.record("K-FAC lambda0 / GD lr fastest after 10 iterations, per seed",
                    [[f["kfac_lambda0"], f["gd_lr"]] for f in fast])
    evidence.record("GD lr with the lowest validation loss, per seed", [h["gd_lr"] for h in held])
    checks = {
        "K-FAC's fastest lambda0 interior to its speed grid": [
            kf.interior(f["kfac_lambda0"], grids["speed"]) for f in fast],
        "GD's fastest lr interior": [kf.interior(f["gd_lr"], lrs) for f in fast],
        "GD's best lr at the matched cost of the runs' end interior": [
            kf.interior(lr, lrs) for lr in end],
        "GD's validation-best lr interior": [kf.interior(h["gd_lr"], lrs) for h in held],
        "K-FAC's early stopping (fastest lambda0) before its run's end": [
            not h["kfac_fast"]["last"] for h in held]}
    evidence.record("fraction of seeds where GD's validation loss is lowest at its run's end "
                    "(lr 0.01 still improving; stopped before its minimum GD's test loss tends "
                    "to be higher, moving the K-FAC / GD test ratio towards 1)",
                    float(np.mean([h["gd"]["last"] for h in held])))
    for name, flags in checks.items():
        evidence.check_every_seed(f"seeds where {name}", flags, seeds=seeds)


@pytest.mark.slow
@pytest.mark.part("kfac-faster-per-iteration")
def test_kfac_reaches_a_lower_training_loss_per_iteration(kfac_runs, evidence):
    seeds, runs = kfac_runs
    kfac_setting_note(evidence)
    evidence.seeds(seeds)
    for it in (5, 20, 60):
        evidence.record(f"GD / K-FAC lowest training loss after {it} iterations, per seed",
                        [kf.per_iteration(r, it)["gd"] / kf.per_iteration(r, it)["kfac"]
                         for r in runs])
    ratio = [kf.per_iteration(r, 10)["gd"] / kf.per_iteration(r, 10)["kfac"] for r in runs]
    evidence.check_seeds("GD / K-FAC lowest training loss after 10 iterations", ratio, "gmean",
                         ">", 1.0, seeds=seeds, reference=theory(1.0, "the direction only"))


@pytest.mark.slow
@pytest.mark.part("kfac-faster-against-time")
def test_kfac_reaches_a_lower_training_loss_against_cost(kfac_runs, evidence):
    seeds, runs = kfac_runs
    per_it, once = kf.cost_in_gd_iterations(runs[0])
    evidence.note(f"Flop model: one K-FAC iteration costs {per_it:.2f} GD iterations, plus "
                  f"{once:.0f} once (the input factor's eigendecomposition); measured seconds "
                  "per iteration are recorded beside it (machine- and load-dependent).")
    evidence.record("measured seconds per K-FAC iteration / per GD iteration, per seed",
                    [kf.measured_seconds_ratio(r) for r in runs])
    for it in (5, 10, 20, 40):
        ratio = [kf.at_matched_cost(r, it)["gd"] / kf.at_matched_cost(r, it)["kfac"]
                 for r in runs]
        evidence.record(f"at the cost of {it} K-FAC iterations: GD / K-FAC training loss",
                        ratio)
        evidence.reading(f"training loss at the cost of {it} K-FAC iterations (flop model)",
                         f"GD / K-FAC {min(ratio):.3g}-{max(ratio):.3g}", direction(ratio),
                         "document")
    for target in (1e-1, 1e-2, 1e-3, 1e-4):
        costs = [kf.cost_to_reach(r, target) for r in runs]
        ratio = [c["gd"] / c["kfac"] for c in costs]
        evidence.record(f"cost to reach training loss {target:g}: GD / K-FAC, per seed", ratio)
        evidence.reading(f"time to reach training loss {target:g} (flop model)",
                         f"GD / K-FAC cost {min(ratio):.3g}-{max(ratio):.3g}", direction(ratio),
                         "document")
    T = kf.matched_end(runs[0])
    at_end = [kf.at_matched_cost(r, T) for r in runs]
    evidence.check_seeds(f"at the cost of {T} K-FAC iterations (GD iteration "
                         f"{at_end[0]['gd_iteration']}, its run's end): GD / K-FAC lowest "
                         "training loss",
                         [a["gd"] / a["kfac"] for a in at_end], "gmean", ">", 1.0, seeds=seeds,
                         reference=theory(1.0, "the direction only"))


@pytest.mark.slow
@pytest.mark.part("kfac-worse-test-loss")
def test_kfac_gives_a_higher_test_loss(kfac_runs, evidence):
    seeds, runs = kfac_runs
    held = [kf.test_losses(r) for r in runs]
    evidence.seeds(seeds)
    evidence.note("Every run early-stopped at its lowest validation loss (a disjoint validation "
                  "split), the test loss there. K-FAC at the damping lambda0 of its fastest "
                  "training (the run the notes' Figure 1 shows); GD at the learning rate with "
                  "the lowest validation loss. The notes give no size: the direction is "
                  "checked, the size recorded. More damping moves K-FAC towards GD: its best "
                  "test loss approaches GD's as lambda0 grows (readings), and the validation "
                  "loss picks the largest lambda0 of every grid tried (1 of {0.1, 1, 10} at 60 "
                  "iterations, 3 of {0.3, 1, 3} and 10 of {1, 3, 10} at 80).")
    evidence.record("test loss K-FAC (fastest lambda0), GD (validation-best lr) per seed",
                    [[h["kfac_fast"]["test"], h["gd"]["test"]] for h in held])
    for lam in kf.CONFIG["kfac_lambda0"]["validation"]:
        ratio = [h["kfac_damped"][lam]["test"] / h["gd"]["test"] for h in held]
        evidence.record(f"test loss K-FAC at lambda0 {lam:g} / GD, per seed", ratio)
        evidence.reading(f"K-FAC damped more (lambda0 {lam:g}), early-stopped, against GD "
                         "tuned on validation", f"K-FAC / GD test loss {min(ratio):.3g}-"
                         f"{max(ratio):.3g}", direction(ratio), "direction")
    both_fast = [h["kfac_fast"]["test"] / h["gd_fast"]["test"] for h in held]
    evidence.record("test loss K-FAC / GD, both at their fastest hyperparameter", both_fast)
    evidence.reading("both at their fastest hyperparameter, early-stopped", f"K-FAC / GD test "
                     f"loss {min(both_fast):.3g}-{max(both_fast):.3g}", direction(both_fast),
                     "direction")
    evidence.check_seeds("test loss K-FAC (fastest lambda0) / GD (validation-best lr), each "
                         "early-stopped", [h["kfac_fast"]["test"] / h["gd"]["test"]
                                           for h in held], "gmean", ">", 1.0, seeds=seeds,
                         reference=theory(1.0, "the direction only"))


@pytest.fixture(scope="module")
def convex_runs(seed, experiment_cache):
    seeds = seed_range(seed, N_SEEDS)
    return seeds, [experiment_cache(ng.ngd_vs_gd, s) for s in seeds]


@pytest.mark.slow
@pytest.mark.part("exact-natural-gradient-convex")
def test_exact_natural_gradient_on_a_convex_problem(convex_runs, evidence):
    seeds, runs = convex_runs
    c = ng.CONFIG["ngd_vs_gd"]
    evidence.seeds(seeds)
    evidence.note(f"scikit-learn digits, standardized, a random {c['train_fraction']:.0%} / "
                  f"rest split per seed; softmax regression from 0; {c['iterations']} full-batch "
                  f"iterations; natural gradient (F + {c['damping']} I)^-1 g at lr "
                  f"{c['ngd_lr']} with the exact Fisher; GD at the best lr of {c['gd_lrs']}.")
    evidence.record("GD's best lr per seed", [r["gd_best_lr"] for r in runs])
    evidence.check_every_seed("seeds whose GD best lr is interior to the grid",
                              [r["gd_lr_interior"] for r in runs], seeds=seeds)
    evidence.check_seeds("GD / NGD training loss after 30 iterations",
                         [r["gd_train"][-1] / r["ngd_train"][-1] for r in runs], "gmean", ">=",
                         5.0, seeds=seeds)
    test = [r["ngd_test"] / r["gd_test"] for r in runs]
    evidence.record("test loss NGD, GD per seed", [[r["ngd_test"], r["gd_test"]] for r in runs])
    evidence.reading("exact damped natural gradient on convex softmax regression (digits), "
                     "both after 30 iterations", f"NGD / GD test loss {min(test):.3g}-"
                     f"{max(test):.3g}", direction(test), "ours")


# --- the costs of second-order methods ---------------------------------------------------------
@pytest.fixture(scope="module")
def mlp_costs(seed):
    """torch's flop counts for one GD and one K-FAC iteration of the kfac-mnist MLP on 1000
    random 784-pixel examples (the counts depend on the shapes only), and its parameter count."""
    g = torch.Generator().manual_seed(seed)
    X, y = torch.randn(1000, 784, generator=g), torch.randint(0, 10, (1000,), generator=g)
    theta = kf.init_params(seed, 784, kf.CONFIG["hidden"])
    flops = kf.counted_flops(theta, {"train": (X, y)}, kf.CONFIG["hidden"],
                             kf.CONFIG["kfac"]["lm_every"])
    return flops, theta.numel()


@pytest.mark.part("full-inverse-out-of-reach")
def test_the_full_fisher_inverse_is_out_of_reach(mlp_costs, evidence):
    flops, P = mlp_costs
    evidence.check("parameters P of the MLP the statement names", P, "==", 25_418,
                   theory(25_418, "784-32-10: 32 x 784 + 10 x (32 + 1)"))
    evidence.check("full Fisher in float32, GB", P * P * 4 / 1e9, ">", 1.0,
                   theory(2.58, "P^2 x 4 bytes"))
    evidence.check("inversion (P^3 / 3 flops) in GD iterations", P ** 3 / 3 / flops["gd"], ">",
                   1e4, measured(5.3e4, "torch's flop count, this MLP"))


@pytest.mark.part("kfac-iteration-costs-more")
def test_a_kfac_iteration_costs_several_gd_iterations(mlp_costs, evidence):
    flops, _ = mlp_costs
    evidence.check("K-FAC iteration / GD iteration, flops", flops["kfac"] / flops["gd"], ">",
                   2.0, measured(5.7, "torch's flop count, kfac-mnist"))


@pytest.mark.part("kfac-far-below-the-full-inverse")
def test_kfac_costs_far_less_than_the_full_inverse(mlp_costs, evidence):
    flops, P = mlp_costs
    evidence.check("K-FAC iteration / full inversion, flops", flops["kfac"] / (P ** 3 / 3), "<",
                   1e-3, measured(1.1e-4, "this MLP"))
