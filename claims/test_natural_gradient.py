"""The Fisher information matrix and the natural gradient, as lecture notes 000/001 §1.1 and
slides 002 describe them, checked exactly on softmax regression.

Sources: lecture notes 000/001 §1.1 "Natural gradient descent"; slides 002 "Information theory
point of view"; Martens (2020), "New insights and perspectives on the natural gradient method",
JMLR 21: §9.2 (Fisher = generalized Gauss-Newton = Hessian for the cross-entropy of softmax
outputs, for a model linear in its parameters) and §11 (the empirical Fisher). Experiments in
``reproductions/natural_gradient.py``.
"""

import numpy as np
import pytest

from optclaims_report.claim import known_non_reproduction, part, reading, theory
from reproductions import natural_gradient as ng

NOTES = "Lecture notes 000/001 §1.1"
SLIDES = "Slides 002"
CLAIMS = [
    {"id": "fisher-label-free", "title": "The Fisher matrix ignores the labels; the empirical "
     "Fisher does not", "statement": "For softmax regression the Fisher information matrix "
     "(labels drawn from the model) equals the Hessian of the cross-entropy and does not depend "
     "on the true labels, while the 'empirical Fisher' (the same outer product at the true "
     "labels) is a different matrix that changes with them.",
     "sources": [f"{NOTES} (the Fisher matrix does not depend at all on the true labels)",
                 f'{SLIDES}, "Information theory point of view" (Fisher information matrix, '
                 '"empirical version")', "Martens (2020), JMLR 21, §9.2 and §11"],
     "parts": [
         part("fisher-equals-hessian-label-free", "effect", "The Fisher equals the Hessian of "
              "the mean cross-entropy, and neither changes when the labels are permuted.",
              NOTES,
              judges=("fisher-ignores-labels", "empirical-fisher-stand-in",
                      "newton-fisher-equivalence")),
         part("empirical-fisher-differs", "control", "The empirical Fisher differs from the "
              "Fisher by more than 10% and changes by more than 10% when the labels are "
              "permuted.", f'{SLIDES} ("empirical version")'),
     ]},
    {"id": "natural-gradient-kl-step", "title": "The natural-gradient step minimizes the "
     "KL-regularized step only to second order", "statement": "The minimizer of g^T Delta + "
     "E_x KL(p_theta || p_theta+Delta) approaches the natural step -F^-1 g as the gradient "
     "shrinks (the error grows linearly with its size), and for a large gradient the problem "
     "has no minimizer at all; the notes' 'precisely' holds only in the limit.",
     "sources": [f"{NOTES} (the minimizer is precisely -F^-1 grad loss)"],
     "parts": [
         part("second-order-agreement", "effect", "For a gradient scaled by c = 0.01 the "
              "exact minimizer is within 5% of -c F^-1 g, and the gap grows about linearly "
              "with c (more than 10x from c = 0.01 to 1).", NOTES,
              judges=("natural-gradient-minimizer",)),
         part("no-minimizer-for-large-gradients", "mechanism", "At c = 30 the objective is "
              "unbounded below: along -F^-1 g it is below -1000 at step length 1000.",
              "KL grows only linearly in the logits, the linear term as fast"),
         part("precisely", "scope", "The notes' 'precisely': at c = 1 the minimizer equals "
              "-F^-1 g within 1%.", NOTES, judges=("natural-gradient-minimizer",),
              readings=(
                  reading(
                          "the notes' 'precisely', exact KL, gradient scale c = 1",
                          "exact minimizer 26-48% away from -F^-1 g",
                          "does not hold",
                          "document",
                          "default tier"),
              )),
     ]},
    {"id": "natural-gradient-per-iteration", "title": "The natural gradient trains faster per "
     "iteration than gradient descent", "statement": "On softmax regression on digits, the "
     "damped natural gradient reaches a training loss several times lower than gradient "
     "descent at its best learning rate after the same 30 iterations; here its test loss is "
     "lower too, unlike the notes' remark on K-FAC.",
     "sources": [f"{NOTES} (K-FAC improves convergence per iteration; it does not give good "
                 "test loss)", f'{SLIDES}, "Information theory point of view"'],
     "parts": [
         part("ngd-lower-training-loss", "effect", "After 30 iterations, GD's training loss "
              "is at least 5 times the natural gradient's.", NOTES,
              judges=("kfac-faster-per-iteration",)),
         part("gd-tuned", "precondition", "GD's best lr is interior to its grid "
              "(1 ... 300).", "our protocol"),
         part("ngd-worse-test-loss", "scope", "The notes: the method does not give good test "
              "loss (its test loss is not below GD's).", f"{NOTES} (third concern about "
              "K-FAC)", judges=("kfac-poor-test-loss",),
              readings=(
                  reading(
                          "softmax regression with the exact damped Fisher, 30 iterations",
                          "NGD test loss 0.12-0.19 against GD's 0.17-0.40",
                          "does not hold",
                          "ours",
                          "default tier"),
              )),
     ]},
]
N_SEEDS = 5


@pytest.fixture(scope="module")
def seeds(seed):
    return list(range(seed, seed + N_SEEDS))


# --- the Fisher matrix -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def fisher(seeds):
    rows = [ng.fisher_comparison(s) for s in seeds]
    return {k: np.array([r[k] for r in rows]) for k in rows[0]}


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


@pytest.mark.part("empirical-fisher-differs")
def test_the_empirical_fisher_is_another_matrix(fisher, seeds, evidence):
    evidence.check_seeds("||F_empirical - F|| / ||F||", fisher["empirical_vs_fisher"], "median",
                         ">", 0.1, seeds=seeds)
    evidence.check_seeds("||F_empirical(permuted labels) - F_empirical|| / ||F_empirical||",
                         fisher["empirical_under_permuted_labels"], "median", ">", 0.1,
                         seeds=seeds)


# --- the KL-regularized step ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def kl_steps(seeds):
    return [ng.kl_step_errors(s) for s in seeds]


@pytest.mark.part("second-order-agreement")
def test_the_natural_step_is_the_minimizer_to_second_order(kl_steps, seeds, evidence):
    c = ng.CONFIG["kl_step"]
    errors = {s: np.array([r["relative_error"][s] for r in kl_steps]) for s in c["scales"]}
    evidence.note(f"3-class softmax regression on {c['n']} points in {c['dim']}-D; the gradient "
                  "g scaled by c; exact minimizer by BFGS (gtol 1e-12) started at the natural "
                  "step.")
    for scale, e in errors.items():
        evidence.record(f"c = {scale}: ||argmin - (-c F^-1 g)|| / ||c F^-1 g|| per seed", e)
    evidence.check_seeds("c = 0.01: relative distance of the minimizer from the natural step",
                         errors[0.01], "median", "<", 0.05, seeds=seeds,
                         reference=theory(0.0, "second-order expansion of the KL"))
    evidence.check_seeds("relative distance at c = 1 / at c = 0.01", errors[1.0] / errors[0.01],
                         "gmean", ">", 10.0, seeds=seeds,
                         reference=theory(100.0, "an O(c) error"))


@pytest.mark.part("no-minimizer-for-large-gradients")
def test_for_a_large_gradient_there_is_no_minimizer(kl_steps, seeds, evidence):
    along = np.array([r["objective_along_natural_at_large_c"] for r in kl_steps])
    evidence.check_seeds("c = 30: objective c g^T Delta + E KL at Delta = -1000 F^-1 g", along,
                         "median", "<", -1000.0, seeds=seeds)


@pytest.mark.part("precisely")
@known_non_reproduction("not 'precisely': at c = 1 the exact minimizer is 26-48% away from "
                        "-F^-1 g (and for large gradients there is none)")
def test_the_natural_step_is_precisely_the_minimizer(kl_steps, seeds, evidence):
    errors = np.array([r["relative_error"][1.0] for r in kl_steps])
    evidence.check_seeds("c = 1: relative distance of the minimizer from the natural step",
                         errors, "median", "<", 0.01, seeds=seeds)


# --- natural gradient vs gradient descent, per iteration --------------------------------------------
@pytest.fixture(scope="module")
def ngd(seeds):
    return [ng.ngd_vs_gd(s) for s in seeds]


@pytest.mark.part("ngd-lower-training-loss")
def test_natural_gradient_reaches_a_lower_training_loss_per_iteration(ngd, seeds, evidence):
    c = ng.CONFIG["ngd_vs_gd"]
    evidence.seeds(seeds)
    evidence.note(f"scikit-learn digits, standardized, a random {c['train_fraction']:.0%} / "
                  f"rest split per seed; softmax regression from 0; {c['iterations']} full-batch "
                  f"iterations; natural gradient (F + {c['damping']} I)^-1 g at lr "
                  f"{c['ngd_lr']} with the exact Fisher; GD at the best lr of {c['gd_lrs']}.")
    ratio = np.array([r["gd_train"][-1] / r["ngd_train"][-1] for r in ngd])
    evidence.record("GD / NGD training loss after 5 iterations, per seed",
                    [r["gd_train"][4] / r["ngd_train"][4] for r in ngd])
    evidence.check_seeds("GD / NGD training loss after 30 iterations", ratio, "gmean", ">=", 5.0,
                         seeds=seeds)


@pytest.mark.part("gd-tuned")
def test_gd_is_at_its_best_learning_rate(ngd, seeds, evidence):
    evidence.record("GD's best lr per seed", [r["gd_best_lr"] for r in ngd])
    evidence.check_seeds("seeds whose GD best lr is interior to the grid",
                         np.array([r["gd_lr_interior"] for r in ngd]), "fraction", "==", 1.0,
                         seeds=seeds)


@pytest.mark.part("ngd-worse-test-loss")
@known_non_reproduction("in this convex setting the natural gradient's test loss is lower than "
                        "GD's on every seed (0.12-0.19 against 0.17-0.40)")
def test_natural_gradient_does_not_give_a_better_test_loss(ngd, seeds, evidence):
    test = np.array([r["ngd_test"] / r["gd_test"] for r in ngd])
    evidence.record("test loss NGD, GD per seed", [[r["ngd_test"], r["gd_test"]] for r in ngd])
    evidence.check_seeds("NGD test loss / GD test loss", test, "gmean", ">=", 1.0, seeds=seeds)
