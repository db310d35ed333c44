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
5 seeds (``--seed`` .. ``--seed`` + 4), plain SGD, batch 64, plain and BN nets from identical
He-initialized weights. Every experiment trains all its seeds and variants as one batch of
models; protocol, constants and deviations are in ``reproductions/batchnorm_landscape.py``.

Tiers: the landscape measurements, the deep linear network, and the learning-rate runs on the MLP
run by default (~35 s on one core); the same learning-rate runs on the mini-VGG (~60 s) and the
MNIST runs (~100 s) are ``slow``; the paper-scale VGG is ``gpu``.

Known non-reproductions at this scale (strict xfails that carry their numbers): BN is not faster
at the same small lr on digits; BN does not lower the MLP's effective beta 2x; in the mini-VGG BN
reduces the gradient ICS; the deep linear net's landscape is rougher with BN; noisy BN at lr 0.1
ends above the plain net; and (not in research's list) BN's relative gradient ICS in the deep
linear net is not 2x plain's on 4/5 seeds (2/5 at step 10, 3/5 at step 50).
"""

import numpy as np
import pytest
import torch

from reproductions import batchnorm_landscape as bl
from reproductions import models as md
from reproductions.data import DataUnavailable, load_mnist

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
    "sources": ["Santurkar, Tsipras, Ilyas, Madry, How Does Batch Normalization Help "
                "Optimization?, NeurIPS 2018: Fig. 1, §2.1, Definition 2.1, §3.1, §3.2",
                "Lecture notes 000/001 §2.1, Batch normalization",
                "Slides 002, Batch Normalization"],
}
N_SEEDS = 5
CFG = bl.CONFIG
PROBE_STEPS = CFG["probe"]["steps"]
# The learning-rate runs: the MLP in the default tier, the mini-VGG (the paper's kind of net) slow.
NETS = [pytest.param("mlp", id="mlp"), pytest.param("cnn", id="cnn", marks=pytest.mark.slow)]


def at_least(mask, k=N_SEEDS - 1) -> bool:
    return int(np.sum(mask)) >= k


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """One intra-op thread for this module: its tensors are small, and on a shared 2-core machine
    two threads ran the experiments 4x slower than one (measured), and made the runs at lr 1-3,
    which amplify rounding differences, depend on the thread count."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def seeds(seed):
    return list(range(seed, seed + N_SEEDS))


@pytest.fixture(scope="module")
def lr_runs(seeds):
    """lr_runs(net): plain and BN at every lr, noisy BN at 0.1 and 1, ℓ1/ℓ∞ at 1 (computed once
    per net)."""
    cache = {}

    def get(net):
        if net not in cache:
            cache[net] = bl.lr_experiment(seeds, net)
        return cache[net]
    return get


@pytest.fixture(scope="module")
def cnn_landscape(seeds):
    return bl.landscape_experiment(seeds, "cnn", variants=("plain", "bn", "l1", "linf"))


@pytest.fixture(scope="module")
def mlp_landscape(seeds):
    return bl.landscape_experiment(seeds, "mlp", variants=("plain", "bn"))


@pytest.fixture(scope="module")
def dln(seeds):
    return bl.dln_experiment(seeds)


@pytest.fixture(scope="module")
def mnist(seeds, data_dir):
    try:
        images, labels = load_mnist(data_dir)
    except DataUnavailable as e:
        pytest.skip(str(e))
    return bl.mnist_experiment(images, labels, seeds)


def losses(run, variant, lr):
    return run.train_loss[run.select(variant, lr)]


# --- effect: BN trains at learning rates where the plain net fails (Fig. 1) -----------------------
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
                    "over 5 seeds, seed range shaded) of plain, BN and noisy BN nets at lr 0.1 and "
                    "1. A curve that stops has diverged to NaN.")
    for lr in (1.0, 3.0):
        evidence.check(f"{net}, lr {lr:g}: plain runs that fail (≥ 4/5 seeds)",
                       int(bl.failed(losses(run, "plain", lr)).sum()), ">=", N_SEEDS - 1)


@pytest.mark.slow
def test_bn_net_trains_at_lr_1_and_3(lr_runs, evidence):
    """With BN, the mini-VGG from the same weights reaches a full-batch loss below 0.05."""
    run = lr_runs("cnn")
    for lr in (1.0, 3.0):
        evidence.record(f"cnn, lr {lr:g}: BN full-batch training loss per seed",
                        losses(run, "bn", lr))
    for lr in (1.0, 3.0):
        evidence.check(f"cnn, lr {lr:g}: BN runs with full-batch loss < 0.05 (≥ 4/5 seeds)",
                       int((losses(run, "bn", lr) < 0.05).sum()), ">=", N_SEEDS - 1)


@pytest.mark.parametrize("net", NETS)
def test_bn_usable_learning_rate_is_3x_plain(net, lr_runs, evidence):
    """The largest lr of {0.1, 0.3, 1, 3} with a final loss below 1, BN over plain."""
    run = lr_runs(net)
    if net == "mlp":
        evidence.note("MLP: BN's loss at lr 1 and 3 sits near 0.05 (3-5 of 5 seeds below it, "
                      "depending on floating-point reduction order, e.g. the thread count), so "
                      "the 'BN < 0.05' check runs on the mini-VGG (slow tier); the MLP's values "
                      "are recorded here.")
        for lr in (1.0, 3.0):
            evidence.record(f"mlp, lr {lr:g}: BN full-batch training loss per seed",
                            losses(run, "bn", lr))
    ratio = bl.largest_ok_lr(run, "bn") / bl.largest_ok_lr(run, "plain")
    evidence.record(f"{net}: largest usable lr, plain, per seed", bl.largest_ok_lr(run, "plain"))
    evidence.record(f"{net}: largest usable lr, BN, per seed", bl.largest_ok_lr(run, "bn"))
    evidence.check(f"{net}: largest usable lr, BN / plain (min over all 5 seeds)",
                   np.nanmin(ratio) if np.isfinite(ratio).all() else np.nan, ">=", 3.0)


@pytest.mark.parametrize("net", [
    pytest.param("mlp", id="mlp", marks=pytest.mark.xfail(
        strict=True, reason="at lr 0.1 BN's loss is not 3x lower on digits (MLP)")),
    pytest.param("cnn", id="cnn", marks=[pytest.mark.slow, pytest.mark.xfail(
        strict=True, reason="at lr 0.1 BN's loss is not 3x lower on digits (mini-VGG)")])])
def test_bn_trains_faster_at_equal_small_lr_on_digits(net, lr_runs, evidence):
    """Known non-reproduction: Fig. 1's faster training at the same small lr does not show on
    digits, where the plain net also trains well at lr 0.1 in 200 steps."""
    run = lr_runs(net)
    ratio = losses(run, "plain", 0.1) / losses(run, "bn", 0.1)
    evidence.record(f"{net}, lr 0.1: plain full-batch loss per seed", losses(run, "plain", 0.1))
    evidence.record(f"{net}, lr 0.1: BN full-batch loss per seed", losses(run, "bn", 0.1))
    evidence.check(f"{net}, lr 0.1: seeds with plain / BN loss ≥ 3 (≥ 4/5 seeds)",
                   int((ratio >= 3).sum()), ">=", N_SEEDS - 1)


# --- effect on MNIST (5000-image subset, narrow mini-VGG) -----------------------------------------
@pytest.mark.slow
def test_bn_trains_3x_lower_loss_on_mnist_at_lr_0_3(mnist, evidence):
    """At the same lr 0.3 and 200 steps, BN's training loss is at most a third of plain's."""
    evidence.seeds(mnist.seeds)
    evidence.note(f"MNIST: a 500-per-class subset of the 10k test images per seed, 4000 train / "
                  f"1000 test, standardized; {CFG['mnist_cnn']}; {CFG['steps']} steps, batch "
                  f"{CFG['batch']}.")
    ratio = losses(mnist, "plain", 0.3) / losses(mnist, "bn", 0.3)
    evidence.record("MNIST, lr 0.3: plain / BN full-batch loss per seed", ratio)
    evidence.check("MNIST, lr 0.3: seeds with BN loss ≤ 1/3 of plain's (≥ 4/5 seeds)",
                   int((ratio >= 3).sum()), ">=", N_SEEDS - 1)


@pytest.mark.slow
def test_plain_fails_on_mnist_at_lr_1_where_bn_trains(mnist, evidence):
    plain, bn = losses(mnist, "plain", 1.0), losses(mnist, "bn", 1.0)
    evidence.record("MNIST, lr 1: BN full-batch loss per seed", bn)
    evidence.check("MNIST, lr 1: plain runs that fail (≥ 4/5 seeds)",
                   int(bl.failed(plain).sum()), ">=", N_SEEDS - 1)
    evidence.check("MNIST, lr 1: BN runs with loss < 0.6 (≥ 4/5 seeds)",
                   int((bn < 0.6).sum()), ">=", N_SEEDS - 1)


# --- mechanism: BN smooths the landscape (§3.1) ---------------------------------------------------
def landscape_checks(evidence, run, net, den, bounds):
    for measure, bound in bounds.items():
        ratio = bl.probe_ratio(run, measure, PROBE_STEPS, den=den)
        evidence.record(f"{net}: plain / {den} {MEASURES[measure]}, geometric mean over steps "
                        f"{PROBE_STEPS}, per seed", ratio)
        evidence.check(f"{net}: plain / {den} {MEASURES[measure]} (geometric mean over steps, "
                       "min over all 5 seeds)", ratio.min(), ">=", bound)


MEASURES = {"range": "loss range along the gradient", "pred": "gradient predictiveness",
            "beta": "effective beta"}


def test_bn_smooths_the_cnn_landscape(cnn_landscape, evidence):
    """Along the mini-batch gradient, the mini-VGG with BN has a smaller loss range, a gradient
    that changes less, and a smaller effective beta than the same net without."""
    evidence.seeds(cnn_landscape.seeds)
    evidence.note(f"Probe: lr {CFG['probe']['lr']}, at steps {PROBE_STEPS}, step sizes eta = "
                  f"{CFG['probe']['etas']} along the mini-batch gradient g on the same batch; "
                  "loss range = max - min of L(w - eta g); predictiveness = max ||grad L(w - eta "
                  "g) - g||; effective beta = max ||grad L(w - eta g) - g|| / ||eta g||.")
    evidence.figure("landscape-cnn", bl.plot_landscape(cnn_landscape, title="mini-VGG:"),
                    "Mini-VGG on digits, lr 0.1, 5 seeds: (a) the band of loss values along the "
                    "gradient (eta 0.05-0.40; mean over seeds of the min and max), (b) gradient "
                    "predictiveness and (c) effective beta-smoothness (mean, seed range shaded), "
                    "plain vs BN, every 10 steps: the shape of Santurkar et al.'s Fig. 4.")
    evidence.note("Research's earlier measurement (its own mini-VGG, 5 seeds): min over seeds "
                  "7.0 (loss range), 10.8 (predictiveness), 3.45 (effective beta).")
    landscape_checks(evidence, cnn_landscape, "mini-VGG", "bn",
                     {"range": 3.0, "pred": 5.0, "beta": 2.0})


def test_bn_smooths_the_mlp_landscape(mlp_landscape, evidence):
    evidence.seeds(mlp_landscape.seeds)
    evidence.figure("landscape-mlp", bl.plot_landscape(mlp_landscape, title="MLP:"),
                    "The same measurements for the 8-layer MLP on digits.")
    landscape_checks(evidence, mlp_landscape, "MLP", "bn", {"range": 3.0, "pred": 2.0})


@pytest.mark.xfail(strict=True, reason="BN does not lower the MLP's effective beta 2x")
def test_bn_lowers_the_mlp_effective_beta(mlp_landscape, evidence):
    """Known non-reproduction: on the MLP the effective beta-smoothness ratio stays below 2."""
    landscape_checks(evidence, mlp_landscape, "MLP", "bn", {"beta": 2.0})


def test_lp_normalization_smooths_the_cnn_landscape(cnn_landscape, evidence):
    """§3.2: normalizing by the mean ℓ1 deviation or the max deviation (no Gaussian statistics
    at all) smooths the landscape as BN does."""
    evidence.note("ℓ1: (x - mean) / mean|x - mean|; ℓ∞: (x - mean) / max|x - mean|, per channel "
                  "over batch and space, then gamma, beta.")
    for den in ("l1", "linf"):
        landscape_checks(evidence, cnn_landscape, "mini-VGG", den, {"range": 3.0, "pred": 3.0})


# --- control: noisy BN trains, so stable activation distributions are not what helps (§2.1) -------
@pytest.mark.parametrize("net", NETS)
def test_noisy_bn_trains_at_lr_1_where_plain_fails(net, lr_runs, evidence):
    run = lr_runs(net)
    evidence.note("Noisy BN: per step and channel mu ~ U(-0.5, 0.5), sigma ~ U(0.5, 2); each "
                  "normalized activation x^ -> sigma x^ + mu + 0.1 N(0, 1), after every BN layer; "
                  "noise off at evaluation.")
    noisy = losses(run, "noisy", 1.0)
    evidence.record(f"{net}, lr 1: noisy BN full-batch loss per seed", noisy)
    evidence.check(f"{net}, lr 1: plain runs that fail (≥ 4/5 seeds)",
                   int(bl.failed(losses(run, "plain", 1.0)).sum()), ">=", N_SEEDS - 1)
    evidence.check(f"{net}, lr 1: noisy-BN runs with loss < 0.1 (≥ 4/5 seeds)",
                   int((noisy < 0.1).sum()), ">=", N_SEEDS - 1)


@pytest.mark.parametrize("net", NETS)
def test_noisy_bn_generalizes(net, lr_runs, evidence):
    acc = lr_runs(net).test_acc[lr_runs(net).select("noisy", 1.0)]
    evidence.record(f"{net}, lr 1: noisy BN test accuracy per seed", acc)
    evidence.check(f"{net}, lr 1: noisy BN test accuracy (min over all 5 seeds)", acc.min(),
                   ">=", 0.85)


@pytest.mark.parametrize("net", NETS)
def test_noisy_bn_activations_are_less_stable_than_bn(net, lr_runs, evidence):
    """The noise makes the middle norm layer's output distribution shift every step far more
    than BN's does, yet the net trains (the test above)."""
    run = lr_runs(net)
    noisy = bl.instability(run.act_stats, run.select("noisy", 1.0))
    bn = bl.instability(run.act_stats, run.select("bn", 1.0))
    evidence.note(f"Instability of norm layer {CFG['noise_layer'] + 1}'s output: mean over steps "
                  "and channels of |change of the channel's batch mean| + |change of its batch "
                  "std| from one step to the next, lr 1.")
    evidence.record(f"{net}: instability, noisy BN per seed", noisy)
    evidence.record(f"{net}: instability, BN per seed", bn)
    evidence.check(f"{net}: instability noisy BN / BN (min over all 5 seeds)",
                   (noisy / bn).min(), ">=", 10.0)


@pytest.mark.parametrize("net", [
    pytest.param("mlp", id="mlp", marks=pytest.mark.xfail(
        strict=True, reason="noisy BN at lr 0.1 ends above the plain net (MLP)")),
    pytest.param("cnn", id="cnn", marks=[pytest.mark.slow, pytest.mark.xfail(
        strict=True, reason="noisy BN at lr 0.1 ends above the plain net (mini-VGG)")])])
def test_noisy_bn_at_lr_0_1_trains_as_well_as_plain(net, lr_runs, evidence):
    """Known non-reproduction: at the small lr, noisy BN's loss is above the plain net's."""
    run = lr_runs(net)
    noisy, plain = losses(run, "noisy", 0.1), losses(run, "plain", 0.1)
    evidence.record(f"{net}, lr 0.1: noisy BN full-batch loss per seed", noisy)
    evidence.record(f"{net}, lr 0.1: plain full-batch loss per seed", plain)
    evidence.check(f"{net}, lr 0.1: seeds with noisy-BN loss ≤ plain loss (≥ 4/5 seeds)",
                   int((noisy <= plain).sum()), ">=", N_SEEDS - 1)


@pytest.mark.parametrize("net", NETS)
def test_lp_normalization_trains_at_lr_1_where_plain_fails(net, lr_runs, evidence):
    run = lr_runs(net)
    for v in ("l1", "linf"):
        evidence.record(f"{net}, lr 1: {v} full-batch loss per seed", losses(run, v, 1.0))
        evidence.check(f"{net}, lr 1: {v} runs with loss < 0.05 (≥ 4/5 seeds)",
                       int((losses(run, v, 1.0) < 0.05).sum()), ">=", N_SEEDS - 1)


# --- mechanism: BN does not reduce internal covariate shift (Definition 2.1) ----------------------
def ics_ratio(run, t):
    """Per seed: BN's over plain's relative ℓ2 shift ||G - G'|| / ||G||, mean over the layers
    after the first (whose shift is zero by definition)."""
    rel = run.ics[t]["rel"][:, 1:].mean(1)
    return rel[run.select("bn")] / rel[run.select("plain")]


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
                    "cos(G, G') per layer at steps 10 and 50 (mean over 5 seeds, range shaded), "
                    "plain vs BN, in the 25-layer deep linear network.")
    for t in d["ics_steps"]:
        cos = dln.ics[t]["cos"][dln.select("plain")].min(1)
        evidence.check(f"deep linear net, step {t}: plain min over layers of cos(G, G') (min over "
                       "all 5 seeds)", cos.min(), ">=", 0.9)


@pytest.mark.xfail(strict=True, reason="BN's gradient shift is not 2x plain's in the deep linear "
                                       "net on 4/5 seeds at step 10")
def test_bn_increases_ics_in_the_deep_linear_net(dln, evidence):
    """Known non-reproduction at our settings: BN's relative ICS is not consistently 2x plain's
    (research measured 3.7-15x)."""
    for t in CFG["dln"]["ics_steps"]:
        evidence.record(f"deep linear net, step {t}: BN / plain relative ICS per seed",
                        ics_ratio(dln, t))
    for t in CFG["dln"]["ics_steps"]:
        evidence.check(f"deep linear net, step {t}: seeds with BN / plain relative ICS ≥ 2 "
                       "(≥ 4/5 seeds)", int((ics_ratio(dln, t) >= 2).sum()), ">=", N_SEEDS - 1)


@pytest.mark.xfail(strict=True, reason="in the mini-VGG, BN reduces the gradient ICS (5/5 seeds)")
def test_bn_increases_ics_in_the_cnn(cnn_landscape, dln, evidence):
    """Known non-reproduction: in the mini-VGG BN's relative ICS is smaller than plain's."""
    evidence.figure("ics-cosines-cnn", bl.plot_ics({"mini-VGG": cnn_landscape}),
                    "cos(G, G') per layer at steps 10 and 50, plain vs BN, mini-VGG on digits, "
                    "lr 0.1.")
    for t in CFG["ics_steps"]:
        evidence.record(f"mini-VGG, step {t}: BN / plain relative ICS per seed",
                        ics_ratio(cnn_landscape, t))
    for t in CFG["ics_steps"]:
        evidence.check(f"mini-VGG, step {t}: seeds with BN / plain relative ICS ≥ 2 "
                       "(≥ 4/5 seeds)", int((ics_ratio(cnn_landscape, t) >= 2).sum()), ">=",
                       N_SEEDS - 1)


@pytest.mark.xfail(strict=True, reason="the deep linear net's landscape is rougher with BN")
def test_bn_smooths_the_deep_linear_net_landscape(dln, evidence):
    """Known non-reproduction: probed at 0.5-4x its lr, the deep linear net's loss range along
    the gradient is larger with BN than without."""
    for measure in ("range", "pred"):
        evidence.record(f"deep linear net: plain / BN {MEASURES[measure]} per seed",
                        bl.probe_ratio(dln, measure, CFG["dln"]["probe_steps"]))
    ratio = bl.probe_ratio(dln, "range", CFG["dln"]["probe_steps"])
    evidence.check("deep linear net: plain / BN loss range (geometric mean over steps, min over "
                   "all 5 seeds)", ratio.min(), ">=", 3.0)


# --- paper scale ----------------------------------------------------------------------------------
@pytest.mark.gpu
def test_vgg_bn_smooths_the_landscape_at_paper_scale(data_dir, device, seed, evidence):
    """The paper's setting: VGG with and without BN on CIFAR-10 (else a wider mini-VGG on the 10k
    MNIST images), lr 0.1 and 0.5, batch 128, the landscape probed every 500 steps."""
    try:
        name, split = bl.gpu_data(data_dir)
    except DataUnavailable as e:
        pytest.skip(f"neither CIFAR-10 nor MNIST in the data directory: {e}")
    g = CFG["gpu"]
    seeds = list(range(seed, seed + g["n_seeds"]))
    evidence.seeds(seeds)
    run = bl.gpu_experiment(name, split, seeds, device)
    evidence.note(f"{name}: {g['cifar_steps'] if name == 'cifar10' else g['mnist_steps']} steps, "
                  f"lrs {g['lrs']}, batch {g['batch']}, probes every {g['probe_every']} steps; "
                  f"full-batch loss on {g['eval_rows']} training images.")
    evidence.figure(f"landscape-{name}", bl.plot_landscape(run, title=f"{name}:",
                                                           lr=g["lrs"][0]),
                    f"{name}: loss range, gradient predictiveness and effective beta along "
                    f"training, plain vs BN at lr {g['lrs'][0]}.")
    summary = bl.gpu_summary(run)
    low, high = g["lrs"]
    for lr in g["lrs"]:
        evidence.record(f"{name}, lr {lr}: plain / BN loss range per seed",
                        summary[lr]["range_ratio"])
        evidence.record(f"{name}, lr {lr}: plain full-batch loss per seed",
                        summary[lr]["plain_loss"])
        evidence.record(f"{name}, lr {lr}: BN full-batch loss per seed", summary[lr]["bn_loss"])
    evidence.check(f"{name}, lr {low}: plain / BN loss range (geometric mean over probes, min "
                   f"over all {len(seeds)} seeds)", summary[low]["range_ratio"].min(), ">=", 3.0)
    bn = summary[high]["bn_loss"]
    plain = np.nan_to_num(summary[high]["plain_loss"], nan=np.inf)
    evidence.check(f"{name}, lr {high}: seeds with BN loss below plain's (all {len(seeds)} "
                   "seeds)", int((bn < plain).sum()), "==", len(seeds))


# --- benchmarks -----------------------------------------------------------------------------------
BENCH_STEPS = 20


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
    benchmark.extra_info["units"] = N_SEEDS
    benchmark.pedantic(bl.probe_looped, args=probe_point, rounds=3, iterations=1,
                       warmup_rounds=1)


def test_bench_probe_batched_over_step_sizes(benchmark, probe_point):
    """The 8 step sizes as 8 x 10 models in one pass."""
    benchmark.group = "batchnorm-landscape: landscape probe of 5 plain + 5 BN cnn, 8 step sizes"
    benchmark.extra_info["units"] = N_SEEDS
    benchmark.extra_info["baseline"] = "test_bench_probe_looped_over_step_sizes"
    benchmark.pedantic(bl.probe_batched, args=probe_point, rounds=3, iterations=1,
                       warmup_rounds=1)
