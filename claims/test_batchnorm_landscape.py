"""BatchNorm eases training by smoothing the loss landscape, not by reducing internal covariate
shift.

Sources: Santurkar, Tsipras, Ilyas, Madry, "How Does Batch Normalization Help Optimization?",
NeurIPS 2018 (Fig. 1 training speed and learning rates; §2.1 noisy BatchNorm; Definition 2.1
gradient ICS; §3.1 landscape measures; §3.2 ℓp normalization); lecture notes 000/001 §2.1
"Batch normalization" (BN improves training reliability; [STIM18] found it does not reduce
internal covariate shift but makes the landscape more navigable); slides 002 "Batch
Normalization".

Scale: real 8x8 digits (scikit-learn) with an 8-layer MLP and a 5-conv mini-VGG, a 5000-image
subset of the real MNIST test images with a narrow mini-VGG, and a 25-layer deep linear network;
plain SGD, batch 64, plain and BN nets from identical He-initialized weights. Every experiment
trains all its seeds and variants as one batch of models; protocol, constants and deviations are
in ``reproductions/batchnorm_landscape.py``.

Seeds (``--seed`` S, seeds S, S+1, ...): each statistic gets as many seeds as it needs to give the
same verdict at every base seed. Measured over seeds 0-124 (sliding windows): a rule over 5
seeds such as "min over seeds of the mini-VGG's plain/BN gradient predictiveness >= 5" failed at
about half the base seeds (per seed it holds on 90% of seeds); the geometric mean over 12 seeds,
with its bootstrap interval, clears the bound at every window. So: the learning-rate grid 5
seeds; training speed at lr 0.1 and ℓp training at lr 1, 20; noisy BN at lr 0.1, 10; the
mini-VGG landscape 12 (its ℓp variants 8); the MLP landscape 20; the deep linear net 30.

Tiers: the MLP learning-rate runs, the landscapes and the deep linear network run by default;
the same learning-rate runs on the mini-VGG and the MNIST runs are ``slow``; the paper-scale VGG
is ``gpu``.
"""

import numpy as np
import pytest
import torch

from optclaims_report.claim import known_non_reproduction, measured, part, reading, tried
from reproductions import batchnorm_landscape as bl
from reproductions import models as md
from reproductions.data import load_mnist

SANTURKAR = "Santurkar, Tsipras, Ilyas, Madry, NeurIPS 2018"
CLAIM = {
    "id": "batchnorm-landscape",
    "title": "BatchNorm smooths the landscape; it does not reduce internal covariate shift "
             "(Santurkar et al. 2018)",
    "statement": "Networks with BatchNorm train at learning rates where the same networks without "
                 "it fail, and the loss along the gradient direction, the change of the gradient "
                 "and the effective beta-smoothness are all smaller with BatchNorm. BatchNorm "
                 "with injected time-varying noise (unstable activation distributions) still "
                 "trains, and BatchNorm does not reduce the gradient internal covariate shift of "
                 "Definition 2.1; ℓ1 and ℓ∞ normalization help as BatchNorm does.",
    "sources": [f"{SANTURKAR}, How Does Batch Normalization Help Optimization?: Fig. 1, §2.1, "
                "Definition 2.1, §3.1, §3.2",
                "Lecture notes 000/001 §2.1, Batch normalization",
                "Slides 002, Batch Normalization"],
    "torch_threads": 1,  # its lr 1-3 runs amplify rounding: their outcomes depend on threads
    "parts": [
        part("trains-at-large-lr", "effect", "With BN, the nets train at lr 1 and 3, where the "
             "same nets without BN (same initial weights, same batches) diverge or stall; BN's "
             "largest usable lr is at least 3x the plain net's.", f"{SANTURKAR}, Fig. 1",
             judges=("batchnorm-trains-reliably",)),
        part("faster-at-equal-lr", "scope", "At the same small lr (0.1) BN also trains faster: "
             "after 200 steps its loss is at most a third of the plain net's.",
             f"{SANTURKAR}, Fig. 1 (training curves at equal lr)",
             readings=(
                 reading(
                         "digits, lr 0.1, 200 steps, BN's loss at most a third of plain's (our "
                         "bar)",
                         "MLP median plain/BN 1.1; mini-VGG per-seed 0.58-4.58",
                         "does not hold",
                         "ours",
                         "default tier (MLP), slow tier (mini-VGG)"),
             )),
        part("smooths-landscape-cnn", "mechanism", "Along the gradient, the mini-VGG with BN "
             "has a smaller loss range, a gradient that changes less (predictiveness) and a "
             "smaller effective beta than the same net without.", f"{SANTURKAR}, §3.1, Fig. 4"),
        part("smooths-landscape-mlp", "mechanism", "The same on the MLP: BN narrows the loss "
             "range and improves gradient predictiveness.", f"{SANTURKAR}, §3.1"),
        part("mlp-beta-2x", "scope", "On the MLP too, BN lowers the effective beta at least 2x "
             "(as on the mini-VGG).", f"{SANTURKAR}, §3.1, Fig. 4(c)",
             readings=(
                 reading(
                         "MLP on digits, effective beta-smoothness along the gradient, BN at least"
                         " 2x lower (our bar)",
                         "median plain/BN ratio 1.7",
                         "does not hold",
                         "ours",
                         "default tier"),
             )),
        part("noisy-bn-trains", "mechanism", "BN with injected non-zero-mean, non-unit-variance, "
             "time-varying noise (so unstable activation distributions) still trains at lr 1 "
             "where the plain net fails, generalizes, and its activations shift far more per "
             "step than BN's: stable distributions are not what helps.", f"{SANTURKAR}, §2.1, "
             "Fig. 2"),
        part("noisy-bn-small-lr", "scope", "At lr 0.1 noisy BN trains at least as well as the "
             "plain net.", f"{SANTURKAR}, §2.1, Fig. 2 (noisy BN beats the standard net)",
             readings=(
                 reading(
                         "digits, lr 0.1, noisy BN at least as low as plain on 80% of seeds",
                         "noisy BN ends above plain",
                         "does not hold",
                         "ours",
                         "default tier (MLP), slow (mini-VGG)"),
             )),
        part("lp-normalization", "scope", "ℓ1 and ℓ∞ normalization (no Gaussian statistics) "
             "smooth the mini-VGG's landscape and train the MLP at lr 1 as BN does.",
             f"{SANTURKAR}, §3.2"),
        part("ics-not-reduced-dln", "mechanism", "In a 25-layer deep linear network BN does not "
             "reduce the gradient ICS of Definition 2.1: BN's relative shift ||G - G'|| / ||G|| "
             "is at least the plain net's (whose gradients barely shift).",
             f"{SANTURKAR}, Definition 2.1, Fig. 5 (deep linear network)",
             judges=("batchnorm-not-ics",)),
        part("ics-not-reduced-cnn", "mechanism", "In the mini-VGG, too, BN does not reduce the "
             "gradient ICS.", f"{SANTURKAR}, Definition 2.1, Fig. 5 (VGG)",
             judges=("batchnorm-not-ics",),
             readings=(
                 reading(
                         "mini-VGG on digits, Santurkar et al.'s gradient ICS (Definition 2.1)",
                         "median BN/plain relative shift 0.52",
                         "does not hold",
                         "paper",
                         "default tier"),
             )),
        part("smooths-landscape-dln", "scope", "The deep linear network's landscape is smoother "
             "with BN (loss range along the gradient at least 3x smaller).",
             f"{SANTURKAR}, §3.1 (deep linear network)",
             readings=(
                 reading(
                         "25-layer deep linear net, loss range along the gradient, BN at least 3x "
                         "smaller (our bar)",
                         "median plain/BN range 0.24 (BN rougher)",
                         "does not hold",
                         "ours",
                         "default tier"),
             )),
        part("mnist", "scope", "On MNIST (5000-image subset, narrow mini-VGG) BN trains to a "
             "3x lower loss at lr 0.3 and trains at lr 1 where the plain net fails.",
             f"{SANTURKAR}, Fig. 1 (another data set)"),
        part("paper-scale-vgg", "scope", "At the paper's scale (VGG on CIFAR-10; the 10k MNIST "
             "images with a wider mini-VGG as a second configuration) BN smooths the landscape "
             "and trains at lr 0.5 where the plain net does worse.", f"{SANTURKAR}, Fig. 1, 4"),
    ],
    "configurations_tried": [
        tried("digits mini-VGG, 8/16/32 channels, raw pixels / 16", "plain/BN loss-range ratio "
              "(geometric mean over steps 10, 25, 50), min over 5 seeds: 0.4; its plain net "
              "barely moved by step 25 at lr 0.1"),
        tried("digits mini-VGG, 16/32/64 channels, raw pixels / 16", "min over 5 seeds: 2.3"),
        tried("digits mini-VGG, 8/16/32 channels, standardized inputs", "min over 5 seeds: 2.7"),
        tried("digits mini-VGG, 16/32/64 channels, standardized inputs", "min over 5 seeds: 7.5; "
              "over seeds 0-124 the per-seed ratio has median 10.8, 5th percentile 3.2",
              kept=True),
        tried("deep linear net, He initialization", "the plain 25-layer net's output is ~2^12 "
              "times its input and SGD at lr 1e-3 diverges"),
        tried("deep linear net, orthogonal initialization", "BN's relative ICS about 0.25x the "
              "plain net's (BN reduces it)"),
        tried("deep linear net, N(0, 1/width) initialization", "BN/plain relative ICS median "
              "1.2 at step 10 and 5.4 at step 50 over seeds 0-124 (5th percentiles 0.44, 0.96)",
              kept=True),
    ],
}
CFG = bl.CONFIG
PROBE_STEPS = CFG["probe"]["steps"]
SWEEP = "seeds 0-124"
# How many seeds each experiment runs (see the module docstring).
MLP_PLAN = {"grid": 5, "speed": 20, "noisy_small_lr": 10, "noisy": 5, "lp": 20}
N_GRID = MLP_PLAN["grid"]
N_CNN_LANDSCAPE, N_CNN_LP = 12, 8
N_MLP_LANDSCAPE = 20
N_DLN = 30
N_SLOW = 5
# The learning-rate runs: the MLP in the default tier, the mini-VGG (the paper's kind of net) slow.
NETS = [pytest.param("mlp", id="mlp"), pytest.param("cnn", id="cnn", marks=pytest.mark.slow)]


def seed_list(seed, n):
    return list(range(seed, seed + n))


@pytest.fixture(scope="module")
def lr_runs(seed, experiment_cache):
    """lr_runs(net): the MLP's runs follow MLP_PLAN; the mini-VGG's (slow) run every group on
    5 seeds. Computed once per net."""
    cache = {}

    def get(net):
        if net not in cache:
            cache[net] = (bl.lr_experiment(seed_list(seed, max(MLP_PLAN.values())), net,
                                           plan=MLP_PLAN) if net == "mlp" else
                          experiment_cache(bl.lr_experiment, seed_list(seed, N_SLOW), net))
        return cache[net]
    return get


@pytest.fixture(scope="module")
def cnn_landscape(seed):
    return bl.landscape_experiment(seed_list(seed, N_CNN_LANDSCAPE), "cnn",
                                   variants=("plain", "bn", "l1", "linf"), lp_seeds=N_CNN_LP)


@pytest.fixture(scope="module")
def mlp_landscape(seed):
    return bl.landscape_experiment(seed_list(seed, N_MLP_LANDSCAPE), "mlp",
                                   variants=("plain", "bn"))


@pytest.fixture(scope="module")
def dln(seed):
    return bl.dln_experiment(seed_list(seed, N_DLN))


@pytest.fixture(scope="module")
def mnist(seed, data_dir, experiment_cache):
    images, labels = load_mnist(data_dir)
    return experiment_cache(bl.mnist_experiment, images, labels, seed_list(seed, N_SLOW))


def losses(run, variant, lr):
    """(seeds, full-batch training losses) of one variant at one lr, in seed order."""
    return run.seeds_of(variant, lr), run.train_loss[run.select(variant, lr)]


def paired_losses(run, a, b):
    """(seeds, losses of a, losses of b) on the seeds that ran both (variant, lr) pairs."""
    seeds, ia, ib = run.paired(a, b)
    return seeds, run.train_loss[ia], run.train_loss[ib]


def check_plain_fails(evidence, run, net, lrs=(1.0, 3.0)):
    for lr in lrs:
        seeds, plain = losses(run, "plain", lr)
        evidence.check_seeds(f"{net}, lr {lr:g}: seeds on which the plain net fails (NaN or "
                             f"full-batch loss > {CFG['fail_loss']})", bl.failed(plain),
                             "fraction", "==", 1.0, seeds=seeds,
                             reference=measured(1.0, f"mlp: 125 of 125 seeds, {SWEEP}")
                             if net == "mlp" else None)


# --- effect: BN trains at learning rates where the plain net fails (Fig. 1) -----------------------
@pytest.mark.part("trains-at-large-lr")
@pytest.mark.parametrize("net", NETS)
def test_plain_net_fails_at_lr_1_and_3(net, lr_runs, evidence):
    """Without BN, SGD at lr 1 and 3 diverges or stalls above loss 1 after 200 steps."""
    run = lr_runs(net)
    evidence.seeds(run.seeds)
    evidence.note(f"{net}: {CFG[net]}; digits 1437 train / 360 test per seed, standardized; "
                  f"{CFG['steps']} SGD steps, batch {CFG['batch']}; a run fails when NaN or its "
                  f"full-batch training loss > {CFG['fail_loss']}.")
    evidence.figure(f"training-{net}", bl.plot_training(run, title=f"{net} on digits,"),
                    f"{net} on digits: mini-batch training loss (10-step running mean, median "
                    "over seeds, interquartile range shaded) of plain, BN and noisy BN nets at lr "
                    "0.1 and 1, each panel on its own axis capped at 3x the initial loss; seeds "
                    "that diverge (NaN or above the cap) leave the plot and are counted in the "
                    "legend.")
    check_plain_fails(evidence, run, net)


@pytest.mark.part("trains-at-large-lr")
@pytest.mark.slow
def test_bn_net_trains_at_lr_1_and_3(lr_runs, evidence):
    """With BN, the mini-VGG from the same weights reaches a full-batch loss below 0.05."""
    run = lr_runs("cnn")
    for lr in (1.0, 3.0):
        seeds, bn = losses(run, "bn", lr)
        evidence.record(f"cnn, lr {lr:g}: BN full-batch training loss per seed", bn)
        evidence.check_seeds(f"cnn, lr {lr:g}: BN full-batch loss", bn, "median", "<", 0.05,
                             seeds=seeds)


@pytest.mark.part("trains-at-large-lr")
@pytest.mark.parametrize("net", NETS)
def test_bn_usable_learning_rate_is_3x_plain(net, lr_runs, evidence):
    """The largest lr of {0.1, 0.3, 1, 3} with a final loss below 1, BN over plain."""
    run = lr_runs(net)
    if net == "mlp":
        evidence.note("MLP: BN's loss at lr 3 sits near 0.05 (median 0.048 over seeds 0-124, "
                      "and depending on floating-point reduction order, e.g. the thread count), "
                      "so a 'BN < 0.05' check runs on the mini-VGG (slow tier); the MLP's values "
                      "are recorded here.")
        for lr in (1.0, 3.0):
            evidence.record(f"mlp, lr {lr:g}: BN full-batch loss per seed", losses(run, "bn", lr)[1])
    plain, bn = bl.largest_ok_lr(run, "plain"), bl.largest_ok_lr(run, "bn")
    evidence.record(f"{net}: largest usable lr, plain, per seed", plain)
    evidence.record(f"{net}: largest usable lr, BN, per seed", bn)
    evidence.check_seeds(f"{net}: largest usable lr, BN / plain (NaN when no lr is usable)",
                         bn / plain, "median", ">=", 3.0, seeds=bl.grid_seeds(run),
                         reference=measured(10.0, f"mlp: median over {SWEEP}; always 10 or 30")
                         if net == "mlp" else None)


@pytest.mark.part("faster-at-equal-lr")
@pytest.mark.parametrize("net", [
    pytest.param("mlp", id="mlp", marks=known_non_reproduction(
        "at lr 0.1 BN's loss is not 3x lower on digits (MLP: median plain/BN 1.1)")),
    pytest.param("cnn", id="cnn", marks=[pytest.mark.slow, known_non_reproduction(
        "at lr 0.1 BN's loss is not 3x lower on digits (mini-VGG)")])])
def test_bn_trains_faster_at_equal_small_lr_on_digits(net, lr_runs, evidence):
    """Known non-reproduction: Fig. 1's faster training at the same small lr does not show on
    digits, where the plain net also trains well at lr 0.1 in 200 steps."""
    run = lr_runs(net)
    seeds, plain, bn = paired_losses(run, ("plain", 0.1), ("bn", 0.1))
    evidence.seeds(seeds)
    evidence.record(f"{net}, lr 0.1: plain full-batch loss per seed", plain)
    evidence.record(f"{net}, lr 0.1: BN full-batch loss per seed", bn)
    evidence.check_seeds(f"{net}, lr 0.1: plain / BN full-batch loss", plain / bn, "median",
                         ">=", 3.0, seeds=seeds,
                         reference=measured(1.11, f"mlp: median per seed, {SWEEP}")
                         if net == "mlp" else None)


# --- effect on MNIST (5000-image subset, narrow mini-VGG) -----------------------------------------
@pytest.mark.part("mnist")
@pytest.mark.slow
def test_bn_trains_3x_lower_loss_on_mnist_at_lr_0_3(mnist, evidence):
    """At the same lr 0.3 and 200 steps, BN's training loss is at most a third of plain's."""
    evidence.seeds(mnist.seeds)
    evidence.note(f"MNIST: a 500-per-class subset of the 10k test images per seed, 4000 train / "
                  f"1000 test, standardized; {CFG['mnist_cnn']}; {CFG['steps']} steps, batch "
                  f"{CFG['batch']}.")
    seeds, plain, bn = paired_losses(mnist, ("plain", 0.3), ("bn", 0.3))
    evidence.check_seeds("MNIST, lr 0.3: plain / BN full-batch loss", plain / bn, "median",
                         ">=", 3.0, seeds=seeds)


@pytest.mark.part("mnist")
@pytest.mark.slow
def test_plain_fails_on_mnist_at_lr_1_where_bn_trains(mnist, evidence):
    check_plain_fails(evidence, mnist, "MNIST", lrs=(1.0,))
    seeds, bn = losses(mnist, "bn", 1.0)
    evidence.check_seeds("MNIST, lr 1: BN full-batch loss", bn, "median", "<", 0.6, seeds=seeds)


# --- mechanism: BN smooths the landscape (§3.1) ---------------------------------------------------
MEASURES = {"range": "loss range along the gradient", "pred": "gradient predictiveness",
            "beta": "effective beta"}


def landscape_checks(evidence, run, net, den, bounds, statistic, references=None):
    """Per measure: the per-seed ratio plain / ``den`` (geometric mean over the probed steps),
    checked by ``statistic`` over seeds."""
    seeds, _, _ = run.paired(("plain", None), (den, None))
    for measure, bound in bounds.items():
        ratio = bl.probe_ratio(run, measure, PROBE_STEPS, den=den)
        evidence.check_seeds(f"{net}: plain / {den} {MEASURES[measure]} (geometric mean over "
                             f"steps {PROBE_STEPS})", ratio, statistic, ">=", bound,
                             seeds=seeds, reference=(references or {}).get(measure))


@pytest.mark.part("smooths-landscape-cnn")
def test_bn_smooths_the_cnn_landscape(cnn_landscape, evidence):
    """Along the mini-batch gradient, the mini-VGG with BN has a smaller loss range, a gradient
    that changes less, and a smaller effective beta than the same net without (geometric mean
    over 12 seeds: the per-seed ratios are log-symmetric with a few low seeds, e.g. seed 74)."""
    evidence.seeds(cnn_landscape.seeds_of("plain"))
    evidence.note(f"Probe: lr {CFG['probe']['lr']}, at steps {PROBE_STEPS}, step sizes eta = "
                  f"{CFG['probe']['etas']} along the mini-batch gradient g on the same batch; "
                  "loss range = max - min of L(w - eta g); predictiveness = max ||grad L(w - eta "
                  "g) - g||; effective beta = max ||grad L(w - eta g) - g|| / ||eta g||.")
    evidence.figure("landscape-cnn", bl.plot_landscape(cnn_landscape, title="mini-VGG:"),
                    "Mini-VGG on digits, lr 0.1: (a) the band of loss values along the gradient "
                    "(eta 0.05-0.40; mean over seeds of the min and max), (b) gradient "
                    "predictiveness and (c) effective beta-smoothness (mean, seed range shaded), "
                    f"plain vs BN, at steps {PROBE_STEPS}: the shape of Santurkar et al.'s Fig. 4.")
    landscape_checks(evidence, cnn_landscape, "mini-VGG", "bn",
                     {"range": 3.0, "pred": 5.0, "beta": 2.0}, "gmean",
                     {m: measured(v, f"median per seed, {SWEEP}")
                      for m, v in (("range", 10.8), ("pred", 10.9), ("beta", 2.85))})


@pytest.mark.part("smooths-landscape-mlp")
def test_bn_smooths_the_mlp_landscape(mlp_landscape, evidence):
    evidence.seeds(mlp_landscape.seeds)
    evidence.figure("landscape-mlp", bl.plot_landscape(mlp_landscape, title="MLP:"),
                    "The same measurements for the 8-layer MLP on digits.")
    landscape_checks(evidence, mlp_landscape, "MLP", "bn", {"range": 3.0, "pred": 2.0}, "median",
                     {m: measured(v, f"median per seed, {SWEEP}")
                      for m, v in (("range", 13.2), ("pred", 8.25))})


@pytest.mark.part("mlp-beta-2x")
@known_non_reproduction("BN does not lower the MLP's effective beta 2x (median ratio 1.7)")
def test_bn_lowers_the_mlp_effective_beta_2x(mlp_landscape, evidence):
    """Known non-reproduction: on the MLP, BN lowers the effective beta-smoothness, but by less
    than the 2x seen on the mini-VGG (geometric mean over 20 seeds)."""
    landscape_checks(evidence, mlp_landscape, "MLP", "bn", {"beta": 2.0}, "gmean",
                     {"beta": measured(1.71, f"median per seed, {SWEEP}; 95th pct 2.31")})


@pytest.mark.part("lp-normalization")
def test_lp_normalization_smooths_the_cnn_landscape(cnn_landscape, evidence):
    """§3.2: normalizing by the mean ℓ1 deviation or the max deviation (no Gaussian statistics
    at all) smooths the landscape as BN does."""
    evidence.note("ℓ1: (x - mean) / mean|x - mean|; ℓ∞: (x - mean) / max|x - mean|, per channel "
                  "over batch and space, then gamma, beta.")
    for den in ("l1", "linf"):
        landscape_checks(evidence, cnn_landscape, "mini-VGG", den, {"range": 3.0, "pred": 3.0},
                         "gmean")


# --- mechanism: noisy BN trains, so stable activation distributions are not what helps (§2.1) ----
@pytest.mark.part("noisy-bn-trains")
@pytest.mark.parametrize("net", NETS)
def test_noisy_bn_trains_at_lr_1_where_plain_fails(net, lr_runs, evidence):
    run = lr_runs(net)
    evidence.note("Noisy BN: per step and channel mu ~ U(-0.5, 0.5), sigma ~ U(0.5, 2); each "
                  "normalized activation x^ -> sigma x^ + mu + 0.1 N(0, 1), after every BN layer; "
                  "noise off at evaluation; each model draws its noise from its own generator.")
    seeds, noisy = losses(run, "noisy", 1.0)
    evidence.record(f"{net}, lr 1: noisy BN full-batch loss per seed", noisy)
    evidence.check_seeds(f"{net}, lr 1: noisy-BN full-batch loss", noisy, "gmean", "<", 0.1,
                         seeds=seeds, reference=measured(0.037, f"mlp: median per seed, "
                                                                f"{SWEEP}") if net == "mlp"
                         else None)


@pytest.mark.part("noisy-bn-trains")
@pytest.mark.parametrize("net", NETS)
def test_noisy_bn_generalizes(net, lr_runs, evidence):
    run = lr_runs(net)
    seeds = run.seeds_of("noisy", 1.0)
    acc = run.test_acc[run.select("noisy", 1.0)]
    evidence.record(f"{net}, lr 1: noisy BN test accuracy per seed", acc)
    evidence.check_seeds(f"{net}, lr 1: noisy BN test accuracy", acc, "median", ">=", 0.85,
                         seeds=seeds)


@pytest.mark.part("noisy-bn-trains")
@pytest.mark.parametrize("net", NETS)
def test_noisy_bn_activations_are_less_stable_than_bn(net, lr_runs, evidence):
    """The noise makes the middle norm layer's output distribution shift every step far more
    than BN's does, yet the net trains (the test above)."""
    run = lr_runs(net)
    seeds, i_noisy, i_bn = run.paired(("noisy", 1.0), ("bn", 1.0))
    noisy, bn = bl.instability(run.act_stats, i_noisy), bl.instability(run.act_stats, i_bn)
    evidence.note(f"Instability of norm layer {CFG['noise_layer'] + 1}'s output: mean over steps "
                  "and channels of |change of the channel's batch mean| + |change of its batch "
                  "std| from one step to the next, lr 1.")
    evidence.record(f"{net}: instability, noisy BN per seed", noisy)
    evidence.record(f"{net}: instability, BN per seed", bn)
    evidence.check_seeds(f"{net}: instability noisy BN / BN", noisy / bn, "median", ">=", 10.0,
                         seeds=seeds)


@pytest.mark.part("noisy-bn-small-lr")
@pytest.mark.parametrize("net", [
    pytest.param("mlp", id="mlp", marks=known_non_reproduction(
        "noisy BN at lr 0.1 ends above the plain net (MLP)")),
    pytest.param("cnn", id="cnn", marks=[pytest.mark.slow, known_non_reproduction(
        "noisy BN at lr 0.1 ends above the plain net (mini-VGG)")])])
def test_noisy_bn_at_lr_0_1_trains_as_well_as_plain(net, lr_runs, evidence):
    """Known non-reproduction: at the small lr, noisy BN's loss is above the plain net's."""
    run = lr_runs(net)
    seeds, noisy, plain = paired_losses(run, ("noisy", 0.1), ("plain", 0.1))
    evidence.record(f"{net}, lr 0.1: noisy BN full-batch loss per seed", noisy)
    evidence.record(f"{net}, lr 0.1: plain full-batch loss per seed", plain)
    evidence.check_seeds(f"{net}, lr 0.1: seeds with noisy-BN loss <= plain loss",
                         noisy <= plain, "fraction", ">=", 0.8, seeds=seeds)


@pytest.mark.part("lp-normalization")
@pytest.mark.parametrize("net", NETS)
def test_lp_normalization_trains_at_lr_1_where_plain_fails(net, lr_runs, evidence):
    """ℓ1 and ℓ∞ nets at lr 1 reach a full-batch loss below 0.05 (geometric mean over seeds; the
    plain net's failure at lr 1 is the effect part's check)."""
    run = lr_runs(net)
    for v in ("l1", "linf"):
        seeds, loss = losses(run, v, 1.0)
        evidence.record(f"{net}, lr 1: {v} full-batch loss per seed", loss)
        evidence.check_seeds(f"{net}, lr 1: {v} full-batch loss", loss, "gmean", "<", 0.05,
                             seeds=seeds)


# --- mechanism: BN does not reduce internal covariate shift (Definition 2.1) ----------------------
def ics_ratio(run):
    """Per seed: BN's over plain's relative ℓ2 shift ||G - G'|| / ||G||, mean over the layers
    after the first (whose shift is zero by definition), geometric mean over the ICS steps."""
    seeds, i_bn, i_plain = run.paired(("bn", None), ("plain", None))
    logs = [np.log(run.ics[t]["rel"][i_bn, 1:].mean(1) / run.ics[t]["rel"][i_plain, 1:].mean(1))
            for t in sorted(run.ics)]
    return seeds, np.exp(np.mean(logs, 0))


@pytest.mark.part("ics-not-reduced-dln")
def test_plain_deep_linear_net_gradients_barely_shift(dln, evidence):
    """In the 25-layer deep linear network, G and G' of every layer point the same way."""
    d = CFG["dln"]
    evidence.seeds(dln.seeds)
    evidence.note(f"Deep linear net: {d['arch'].n_layers} bias-free layers of width "
                  f"{d['arch'].in_dim}, N(0, 1/width) init, BN after each hidden layer; MSE on "
                  f"x ~ N(0, I), y = A x with a fixed Gaussian teacher A; lr {d['lr']}, batch "
                  f"{d['batch']}. G' of layer i: its gradient after layers 1..i-1 took their SGD "
                  "step, on the same batch (Definition 2.1).")
    evidence.figure("ics-cosines", bl.plot_ics({"deep linear net": dln}),
                    "cos(G, G') per layer at steps 10 and 50 (mean over seeds, range shaded), "
                    "plain vs BN, in the 25-layer deep linear network.")
    seeds = dln.seeds_of("plain")
    for t in d["ics_steps"]:
        cos = dln.ics[t]["cos"][dln.select("plain")].min(1)
        evidence.check_seeds(f"deep linear net, step {t}: plain, min over layers of cos(G, G')",
                             cos, "median", ">=", 0.9, seeds=seeds)


@pytest.mark.part("ics-not-reduced-dln")
def test_bn_does_not_reduce_ics_in_the_deep_linear_net(dln, evidence):
    """BN's relative gradient shift is at least the plain net's (geometric mean over steps 10
    and 50, median over 30 seeds). An earlier measurement gave 3.7-15x plain's; per seed it is 1.2x at
    step 10 and 5.4x at step 50 (medians over seeds 0-124), with the unstated initialization
    deciding the direction (see the configurations tried)."""
    seeds, ratio = ics_ratio(dln)
    for t in CFG["dln"]["ics_steps"]:
        _, i_bn, i_plain = dln.paired(("bn", None), ("plain", None))
        evidence.record(f"deep linear net, step {t}: BN / plain relative ICS per seed",
                        dln.ics[t]["rel"][i_bn, 1:].mean(1) / dln.ics[t]["rel"][i_plain, 1:]
                        .mean(1))
    evidence.check_seeds("deep linear net: BN / plain relative ICS (geometric mean over steps "
                         f"{CFG['dln']['ics_steps']})", ratio, "median", ">=", 1.0, seeds=seeds,
                         reference=measured(2.78, f"median per seed, {SWEEP}"))


@pytest.mark.part("ics-not-reduced-cnn")
@known_non_reproduction("in the mini-VGG, BN reduces the gradient ICS (median BN/plain 0.52)")
def test_bn_does_not_reduce_ics_in_the_cnn(cnn_landscape, evidence):
    """Known non-reproduction: in the mini-VGG BN's relative ICS is smaller than plain's."""
    evidence.figure("ics-cosines-cnn", bl.plot_ics({"mini-VGG": cnn_landscape}),
                    "cos(G, G') per layer at steps 10 and 50, plain vs BN, mini-VGG on digits, "
                    "lr 0.1.")
    seeds, ratio = ics_ratio(cnn_landscape)
    evidence.check_seeds("mini-VGG: BN / plain relative ICS (geometric mean over steps "
                         f"{CFG['ics_steps']})", ratio, "median", ">=", 1.0, seeds=seeds,
                         reference=measured(0.52, f"median per seed, {SWEEP}"))


@pytest.mark.part("smooths-landscape-dln")
@known_non_reproduction("the deep linear net's landscape is rougher with BN (median plain/BN "
                        "loss range 0.24)")
def test_bn_smooths_the_deep_linear_net_landscape(dln, evidence):
    """Known non-reproduction: probed at 0.5-4x its lr, the deep linear net's loss range along
    the gradient is larger with BN than without."""
    evidence.record("deep linear net: plain / BN gradient predictiveness per seed",
                    bl.probe_ratio(dln, "pred", CFG["dln"]["probe_steps"]))
    ratio = bl.probe_ratio(dln, "range", CFG["dln"]["probe_steps"])
    evidence.check_seeds("deep linear net: plain / BN loss range (geometric mean over steps)",
                         ratio, "median", ">=", 3.0, seeds=dln.seeds_of("plain"),
                         reference=measured(0.24, f"median per seed, {SWEEP}"))


# --- paper scale ----------------------------------------------------------------------------------
@pytest.mark.part("paper-scale-vgg")
@pytest.mark.gpu
@pytest.mark.parametrize("dataset", ["cifar10", "mnist10k"])
def test_vgg_bn_smooths_the_landscape_at_paper_scale(dataset, data_dir, device, seed, evidence,
                                                     experiment_cache):
    """The paper's setting: VGG with and without BN on CIFAR-10 (and, as a second configuration,
    a wider mini-VGG on the 10k MNIST images), lr 0.1 and 0.5, batch 128, the landscape probed
    every 500 steps."""
    split = bl.gpu_data(data_dir, dataset)
    g = CFG["gpu"]
    seeds = seed_list(seed, g["n_seeds"])
    evidence.seeds(seeds)
    run = experiment_cache(bl.gpu_experiment, dataset, split, seeds, device)
    evidence.note(f"{dataset}: {g['cifar_steps'] if dataset == 'cifar10' else g['mnist_steps']} "
                  f"steps, lrs {g['lrs']}, batch {g['batch']}, probes every {g['probe_every']} "
                  f"steps; full-batch loss on {g['eval_rows']} training images.")
    evidence.figure(f"landscape-{dataset}", bl.plot_landscape(run, title=f"{dataset}:",
                                                              lr=g["lrs"][0]),
                    f"{dataset}: loss range, gradient predictiveness and effective beta along "
                    f"training, plain vs BN at lr {g['lrs'][0]}.")
    summary = bl.gpu_summary(run)
    low, high = g["lrs"]
    for lr in g["lrs"]:
        evidence.record(f"{dataset}, lr {lr}: plain / BN loss range per seed",
                        summary[lr]["range_ratio"])
        evidence.record(f"{dataset}, lr {lr}: plain full-batch loss per seed",
                        summary[lr]["plain_loss"])
        evidence.record(f"{dataset}, lr {lr}: BN full-batch loss per seed",
                        summary[lr]["bn_loss"])
    evidence.check_seeds(f"{dataset}, lr {low}: plain / BN loss range (geometric mean over "
                         "probes)", summary[low]["range_ratio"], "median", ">=", 3.0, seeds=seeds)
    bn = summary[high]["bn_loss"]
    plain = np.nan_to_num(summary[high]["plain_loss"], nan=np.inf)
    evidence.check_seeds(f"{dataset}, lr {high}: seeds with BN loss below plain's", bn < plain,
                         "fraction", "==", 1.0, seeds=seeds)


# --- benchmarks -----------------------------------------------------------------------------------
BENCH_STEPS = 20


@pytest.fixture(scope="module")
def seeds(seed):
    """The benchmarks' 5 seeds."""
    return seed_list(seed, N_SLOW)


@pytest.fixture(scope="module")
def bench_splits(seeds):
    return {net: {s: bl.digits_split(s, flat=net == "mlp") for s in seeds}
            for net in ("mlp", "cnn")}


def naive_one_seed(net, seeds, bench_splits):
    s = seeds[0]

    def run():
        for v in ("plain", "bn"):
            bl.train_reference(CFG[net], bench_splits[net][s], s, v, 0.1, BENCH_STEPS)
    return run


@pytest.mark.parametrize("net", ["mlp", "cnn"])
def test_bench_naive_per_seed_loop(benchmark, net, seeds, bench_splits):
    """Baseline: one seed at a time, torch.nn + torch.optim.SGD, plain then BN, a host sync per
    step."""
    benchmark.group = f"batchnorm-landscape: train plain + BN {net}, 20 steps"
    benchmark.extra_info["units"] = 1  # seeds per call
    benchmark.pedantic(naive_one_seed(net, seeds, bench_splits), rounds=3, iterations=1,
                       warmup_rounds=1)


@pytest.mark.parametrize("net", ["mlp", "cnn"])
def test_bench_batched_seeds(benchmark, net, seeds, bench_splits):
    """All 5 seeds x (plain, BN) as one batch of 10 models (no final evaluation, as the
    baseline)."""
    benchmark.group = f"batchnorm-landscape: train plain + BN {net}, 20 steps"
    benchmark.extra_info["units"] = len(seeds)
    benchmark.extra_info["baseline"] = f"test_bench_naive_per_seed_loop[{net}]"
    specs = bl.grid(seeds, ["plain", "bn"], (0.1,))
    benchmark.pedantic(bl.train_on_splits, args=(CFG[net], bench_splits[net], specs, BENCH_STEPS),
                       kwargs={"final_eval": False}, rounds=3, iterations=1, warmup_rounds=1)


@pytest.fixture(scope="module")
def probe_point(seeds, bench_splits):
    """Weights, gradients and batch of the 5 plain + 5 BN mini-VGGs after 10 steps."""
    specs = bl.grid(seeds, ["plain", "bn"], (0.1,))
    sample, _, _ = bl.split_sampler(bench_splits["cnn"], specs, CFG["batch"], 11)
    run = bl.train(CFG["cnn"], specs, 10, sample)
    x, y = sample(10)
    variant = torch.tensor([md.VARIANTS[s.variant] for s in specs])
    _, grads = bl.grads_and_loss(CFG["cnn"], run.params, x, y, variant)
    return CFG["cnn"], run.params, grads, x, y, variant, CFG["probe"]["etas"]


def test_bench_probe_looped_over_step_sizes(benchmark, probe_point):
    """Baseline: the 8 step sizes one after the other (10 models per pass)."""
    benchmark.group = "batchnorm-landscape: landscape probe of 5 plain + 5 BN cnn, 8 step sizes"
    benchmark.extra_info["units"] = N_SLOW
    benchmark.pedantic(bl.probe_looped, args=probe_point, rounds=3, iterations=1,
                       warmup_rounds=1)


def test_bench_probe_batched_over_step_sizes(benchmark, probe_point):
    """The 8 step sizes as 8 x 10 models in one pass."""
    benchmark.group = "batchnorm-landscape: landscape probe of 5 plain + 5 BN cnn, 8 step sizes"
    benchmark.extra_info["units"] = N_SLOW
    benchmark.extra_info["baseline"] = "test_bench_probe_looped_over_step_sizes"
    benchmark.pedantic(bl.probe_batched, args=probe_point, rounds=3, iterations=1,
                       warmup_rounds=1)
