"""Unit tests of the batchnorm-landscape library: the batched models against torch.nn, the
landscape probe against a closed form, the ICS measurement against a direct computation, and the
gpu tier's code path at toy size on the CPU."""

import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from reproductions import batched_nets as nets
from reproductions import batchnorm_landscape as bl
from reproductions import models as md
from reproductions.data import DataCorrupt, DataMissing


def codes(*names):
    return torch.tensor([md.VARIANTS[n] for n in names])


# --- the BN layer ---------------------------------------------------------------------------------
@pytest.mark.parametrize("spatial", [(), (5, 6)])
def test_bn_layer_matches_nn_batchnorm_in_train_mode(spatial):
    """Output and gradients of the model-batched layer equal nn.BatchNorm (train mode) run on each
    model separately."""
    gen = torch.Generator().manual_seed(0)
    B, M, C = 16, 3, 4
    x = (torch.randn((B, M, C) + spatial, generator=gen) * 3 + 1).requires_grad_(True)
    gamma = torch.randn(M, C, generator=gen).requires_grad_(True)
    beta = torch.randn(M, C, generator=gen).requires_grad_(True)
    w = torch.randn((B, M, C) + spatial, generator=gen)
    y = md.batch_norm(x, gamma, beta, "bn")
    gx, gg, gb = torch.autograd.grad((y * w).sum(), (x, gamma, beta))
    for m in range(M):
        bn = (torch.nn.BatchNorm2d if spatial else torch.nn.BatchNorm1d)(C).train()
        with torch.no_grad():
            bn.weight.copy_(gamma[m])
            bn.bias.copy_(beta[m])
        xm = x.detach()[:, m].clone().requires_grad_(True)
        ym = bn(xm)
        (ym * w[:, m]).sum().backward()
        torch.testing.assert_close(y[:, m], ym, rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(gx[:, m], xm.grad, rtol=1e-4, atol=1e-5)
        torch.testing.assert_close(gg[m], bn.weight.grad, rtol=1e-4, atol=1e-5)
        torch.testing.assert_close(gb[m], bn.bias.grad, rtol=1e-4, atol=1e-5)


def test_bn_layer_with_statistics_of_the_first_rows_matches_nn_batchnorm_eval_mode():
    """``stat_rows``: the statistics of the training rows, applied to every row (evaluation)."""
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(30, 2, 3, 4, 4, generator=gen) * 2 - 1
    gamma, beta = torch.randn(2, 3, generator=gen), torch.randn(2, 3, generator=gen)
    y = md.batch_norm(x, gamma, beta, "bn", stat_rows=20)
    for m in range(2):
        bn = torch.nn.BatchNorm2d(3).eval()
        ref = x[:20, m]
        with torch.no_grad():
            bn.running_mean.copy_(ref.mean((0, 2, 3)))
            bn.running_var.copy_(ref.var((0, 2, 3), unbiased=False))
            bn.weight.copy_(gamma[m])
            bn.bias.copy_(beta[m])
            torch.testing.assert_close(y[:, m], bn(x[:, m]), rtol=1e-5, atol=1e-5)


def test_lp_normalizations_divide_by_the_mean_and_max_deviation():
    x = torch.randn(50, 1, 2, generator=torch.Generator().manual_seed(2))
    one, zero = torch.ones(1, 2), torch.zeros(1, 2)
    dev = x - x.mean(0)
    torch.testing.assert_close(md.batch_norm(x, one, zero, "l1"),
                               dev / (dev.abs().mean(0) + md.EPS))
    torch.testing.assert_close(md.batch_norm(x, one, zero, "linf"),
                               dev / (dev.abs().amax(0) + md.EPS))
    assert md.batch_norm(x, one, zero, "linf").abs().max() <= 1.0


def test_noisy_bn_applies_scale_and_shift_after_normalizing():
    x = torch.randn(64, 1, 3, generator=torch.Generator().manual_seed(3)) * 5 + 2
    scale, shift = torch.tensor([2.0, 0.5, 1.0]).view(1, 1, 3), torch.tensor(0.3)
    y = md.batch_norm(x, torch.ones(1, 3), torch.zeros(1, 3), "noisy", noise=(scale, shift))
    torch.testing.assert_close(y, scale * md.batch_norm(x, torch.ones(1, 3), torch.zeros(1, 3),
                                                        "bn") + shift)
    torch.testing.assert_close(y.mean(0).flatten(), torch.full((3,), 0.3), atol=1e-5, rtol=0)


def test_plain_models_leave_gamma_and_beta_untouched():
    arch = md.mlp(6, 5, 3, 2)
    params = md.init(arch, [0, 0])
    x = torch.randn(8, 2, 6)
    _, g = nets.grads_and_loss(arch, params, x, torch.randint(0, 2, (8, 2)), codes("plain", "bn"))
    assert g["g0"][0].abs().sum() == 0 and g["beta1"][0].abs().sum() == 0
    assert g["g0"][1].abs().sum() > 0


def test_variants_of_one_seed_start_from_identical_weights():
    arch = md.cnn(1, (4, "M", 8))
    a, b = md.init(arch, [7]), md.init(arch, [7, 8])
    for k in a:
        assert torch.equal(a[k][0], b[k][0])
    assert not torch.equal(b["w0"][0], b["w0"][1])


# --- the batched trainer against the naive per-seed torch.nn loop ---------------------------------
@pytest.mark.parametrize("net", ["mlp", "cnn"])
def test_batched_trainer_matches_the_torch_nn_reference_plain(net):
    """20 SGD steps at lr 0.1, two seeds in one batch, against torch.nn + torch.optim.SGD per
    seed."""
    seeds = [3, 4]
    splits = {s: nets.digits_split(s, flat=net == "mlp") for s in seeds}
    specs = nets.grid(seeds, ["plain"], [0.1])
    run = bl.train_on_splits(bl.CONFIG[net], splits, specs, 20)
    for m, sp in enumerate(specs):
        losses, params = bl.train_reference(bl.CONFIG[net], splits[sp.seed], sp.seed, sp.variant,
                                            sp.lr, 20)
        np.testing.assert_allclose(run.batch_loss[m], losses, rtol=2e-5, atol=2e-6)
        for k, v in params.items():
            torch.testing.assert_close(run.params[k][m], v, rtol=1e-4, atol=2e-5)


@pytest.mark.parametrize("net", ["mlp", "cnn"])
def test_batched_trainer_matches_the_torch_nn_reference_bn(net):
    """BN nets: the gradients at initialization agree to float precision; training with BN
    amplifies those 1e-6 differences (a ReLU flips, the batch statistics move), so the
    trajectories are compared over 3 steps only."""
    arch, s = bl.CONFIG[net], 4
    split = nets.digits_split(s, flat=net == "mlp")
    x, y = split.x_train[:64], split.y_train[:64]
    nn_net = md.to_torch(arch, md.init(arch, [s]), 0, "bn")
    F.cross_entropy(nn_net(x), y).backward()
    nn_grads = md.from_torch(arch, nn_net, grads=True)
    _, grads = nets.grads_and_loss(arch, md.init(arch, [s]), x[:, None], y[:, None], codes("bn"))
    for k, g in nn_grads.items():
        if not k.startswith("b") or k.startswith("beta") or k == f"b{arch.n_layers - 1}":
            torch.testing.assert_close(grads[k][0], g, rtol=1e-4, atol=1e-6)
    run = bl.train_on_splits(arch, {s: split}, nets.grid([s], ["bn"], [0.1]), 3)
    losses, params = bl.train_reference(arch, split, s, "bn", 0.1, 3)
    np.testing.assert_allclose(run.batch_loss[0], losses, rtol=1e-4)


def test_a_diverging_model_does_not_disturb_the_others_in_its_batch():
    """A plain MLP at lr 3 goes to NaN; the BN models trained beside it are unaffected."""
    seeds = [0, 1]
    splits = {s: nets.digits_split(s, flat=True) for s in seeds}
    mixed = bl.train_on_splits(bl.CONFIG["mlp"], splits, nets.grid(seeds, ["plain", "bn"], [3.0]),
                               40)
    alone = bl.train_on_splits(bl.CONFIG["mlp"], splits, nets.grid(seeds, ["bn"], [3.0]), 40)
    assert np.isnan(mixed.train_loss[mixed.select("plain")]).all()
    np.testing.assert_allclose(mixed.batch_loss[mixed.select("bn")], alone.batch_loss,
                               rtol=1e-5, atol=1e-6)


def test_batch_order_is_a_fresh_permutation_each_epoch():
    order = nets.batch_order(0, n=130, steps=5, batch=64)   # 2 batches per epoch
    assert order.shape == (5, 64)
    assert len(set(order[:2].flatten().tolist())) == 128
    assert not torch.equal(order[0], order[2])


def test_digits_split_is_stratified_standardized_and_fixed_by_the_seed():
    a, b, c = nets.digits_split(0), nets.digits_split(0), nets.digits_split(1)
    assert a.x_train.shape == (1437, 1, 8, 8) and a.x_test.shape == (360, 1, 8, 8)
    assert torch.equal(a.x_train, b.x_train) and not torch.equal(a.y_train, c.y_train)
    assert abs(float(a.x_train.mean())) < 1e-5 and abs(float(a.x_train.std()) - 1) < 1e-4
    assert np.bincount(a.y_test.numpy()).min() >= 35


# --- the landscape probe --------------------------------------------------------------------------
def least_squares(seed=0, B=32, d=5):
    """A one-layer linear net with MSE: L(W) = mean((W x - y)^2), Hessian known in closed form."""
    gen = torch.Generator().manual_seed(seed)
    arch = md.dln(d, depth=1)
    params = {"w0": torch.randn(1, d, d, generator=gen)}
    x, y = torch.randn(B, 1, d, generator=gen), torch.randn(B, 1, d, generator=gen)
    _, grads = nets.grads_and_loss(arch, params, x, y, codes("plain"), "mse")
    return arch, params, grads, x, y


def test_probe_on_least_squares_matches_the_closed_form():
    """For L(W) = mean((Wx - y)^2): grad L(W - eta g) - g = -eta H g with H g = 2 g X X^T/(B d),
    so the effective beta is ||Hg|| / ||g|| at every eta, the predictiveness is
    max(eta) ||Hg||, and the loss along the gradient is the exact quadratic."""
    arch, params, grads, x, y = least_squares()
    B, d = x.shape[0], x.shape[2]
    X, Y = x[:, 0].double().T, y[:, 0].double().T                        # (d, B)
    W, g = params["w0"][0].double(), grads["w0"][0].double()
    torch.testing.assert_close(g, 2 * (W @ X - Y) @ X.T / (B * d), rtol=1e-5, atol=1e-6)
    Hg = 2 * g @ X @ X.T / (B * d)
    beta = float(Hg.norm() / g.norm())
    etas = (0.05, 0.1, 0.2, 0.4)
    per_eta = [bl.landscape_probe(arch, params, grads, x, y, codes("plain"), (e,), "mse")["beta"][0]
               for e in etas]
    np.testing.assert_allclose(per_eta, beta, rtol=1e-4)
    res = bl.landscape_probe(arch, params, grads, x, y, codes("plain"), etas, "mse")
    np.testing.assert_allclose(res["beta"][0], beta, rtol=1e-4)
    np.testing.assert_allclose(res["pred"][0], max(etas) * float(Hg.norm()), rtol=1e-4)
    along = [float(((W - e * g) @ X - Y).pow(2).mean()) for e in etas]
    np.testing.assert_allclose(res["range"][0], max(along) - min(along), rtol=1e-4, atol=1e-6)


def test_probe_ratio_is_the_geometric_mean_over_steps():
    run = bl.Run(nets.grid([0, 1], ["plain", "bn"], (0.1,)), None, None)
    run.probes = {10: {"range": np.array([4.0, 9.0, 1.0, 1.0])},
                  20: {"range": np.array([1.0, 1.0, 1.0, 0.25])}}
    np.testing.assert_allclose(bl.probe_ratio(run, "range", (10, 20)), [2.0, 6.0])


# --- gradient ICS (Definition 2.1) ----------------------------------------------------------------
def dln_point(variants=("plain", "bn"), depth=4, width=6, lr=0.05):
    arch = md.dln(width, depth)
    specs = nets.grid([0], variants, (lr,))
    params = md.init(arch, [s.seed for s in specs], "lecun")
    sample = bl.gaussian_sampler([s.seed for s in specs], width, 32)
    x, y = sample(0)
    variant = torch.tensor([md.VARIANTS[s.variant] for s in specs])
    _, grads = nets.grads_and_loss(arch, params, x, y, variant, "mse")
    return arch, params, grads, x, y, variant, torch.full((len(specs),), lr)


def test_first_layer_ics_is_exactly_zero():
    for args in (dln_point(), dln_point(depth=25, width=20)):
        res = bl.ics(*args, kind="mse")
        assert (res["rel"][:, 0] == 0).all()
        assert (res["rel"][:, 1:] > 0).all()


def test_ics_vanishes_when_the_step_is_zero():
    arch, params, grads, x, y, variant, lr = dln_point()
    res = bl.ics(arch, params, grads, x, y, variant, torch.zeros_like(lr), "mse")
    np.testing.assert_allclose(res["rel"], 0, atol=1e-6)


@pytest.mark.parametrize("variant", ["plain", "bn"])
def test_ics_matches_a_direct_torch_nn_computation(variant):
    """G' of layer i recomputed with a torch.nn copy whose layers before i took their SGD step."""
    arch, params, grads, x, y, v, lr = dln_point((variant,))
    res = bl.ics(arch, params, grads, x, y, v, lr, "mse")
    for i in range(arch.n_layers):
        moved = {k: (p - lr[0] * grads[k] if int(re.sub(r"\D", "", k)) < i else p)
                 for k, p in params.items()}
        net = md.to_torch(arch, moved, 0, variant)
        F.mse_loss(net(x[:, 0]), y[:, 0]).backward()
        G, Gp = grads[f"w{i}"][0], [m for m in net if isinstance(m, torch.nn.Linear)][i].weight.grad
        np.testing.assert_allclose(res["rel"][0, i], float((G - Gp).norm() / G.norm()),
                                   rtol=1e-3, atol=1e-6)
        np.testing.assert_allclose(res["cos"][0, i], float(F.cosine_similarity(
            G.flatten(), Gp.flatten(), dim=0)), rtol=1e-5)


# --- derived measures -----------------------------------------------------------------------------
def test_failed_counts_nan_and_losses_above_one():
    assert bl.failed(np.array([np.nan, np.inf, 1.5, 0.9])).tolist() == [True, True, True, False]


def test_instability_is_the_mean_step_to_step_change():
    stats = np.zeros((3, 1, 2, 2))
    stats[1, 0, 0] = [1.0, 3.0]    # means jump by 1 and 3, then back
    assert bl.instability(stats, [0])[0] == pytest.approx((1 + 3 + 1 + 3) / 4)


# --- the gpu tier, at toy size on the CPU ---------------------------------------------------------
TOY = {**bl.CONFIG, "gpu": {**bl.CONFIG["gpu"], "cifar_steps": 4, "mnist_steps": 4,
                            "probe_every": 2, "vgg": (4, "M", 8, "M"), "wide_cnn": (4, "M", 8),
                            "eval_rows": 24, "mnist_test": 20, "n_seeds": 2, "batch": 8}}


@pytest.mark.parametrize("name", ["cifar10", "mnist10k"])
def test_gpu_tier_runs_on_cpu_at_toy_size(name):
    """The gpu test's code path (data, experiment, summary, figure) on random images."""
    rng = np.random.default_rng(0)
    if name == "cifar10":
        split = bl.cifar_split(rng.integers(0, 256, (40, 32, 32, 3), dtype=np.uint8),
                               rng.integers(0, 10, 40), rng.integers(0, 256, (12, 32, 32, 3),
                                                                     dtype=np.uint8),
                               rng.integers(0, 10, 12))
    else:
        split = bl.mnist10k_split(rng.integers(0, 256, (60, 28, 28), dtype=np.uint8),
                                  np.repeat(np.arange(10), 6), seed=0, cfg=TOY)
    run = bl.gpu_experiment(name, split, [0, 1], "cpu", TOY)
    assert sorted(run.probes) == [2]
    summary = bl.gpu_summary(run, TOY)
    assert set(summary) == set(TOY["gpu"]["lrs"])
    assert summary[0.1]["range_ratio"].shape == (2,)
    assert np.isfinite(summary[0.1]["bn_loss"]).all()
    from matplotlib.figure import Figure
    assert isinstance(bl.plot_landscape(run, lr=0.1), Figure)


def test_gpu_data_says_what_is_missing_and_never_falls_back(tmp_path):
    with pytest.raises(DataMissing, match="cifar-10-batches-py"):
        bl.gpu_data(tmp_path, "cifar10")
    with pytest.raises(DataMissing, match="t10k-images"):
        bl.gpu_data(tmp_path, "mnist10k")


def test_gpu_data_refuses_a_corrupt_cifar10_file(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    (folder / "data_batch_1").write_bytes(b"not the published file")
    with pytest.raises(DataCorrupt, match="corrupt data file .*data_batch_1"):
        bl.gpu_data(tmp_path, "cifar10")


# --- figures --------------------------------------------------------------------------------------
def test_figures_are_matplotlib_figures():
    from matplotlib.figure import Figure
    seeds = [0, 1]
    specs = nets.grid(seeds, ["plain", "bn"], (0.1, 1.0)) + nets.grid(seeds, ["noisy"], (0.1, 1.0))
    splits = {s: nets.digits_split(s, flat=True) for s in seeds}
    run = bl.train_on_splits(bl.CONFIG["mlp"], splits, specs, 12, probe_steps=(5, 10),
                             etas=(0.1, 0.2), ics_steps=(5,), record_layer=2)
    assert run.act_stats.shape == (12, len(specs), 2, 64)
    for fig in (bl.plot_training(run), bl.plot_landscape(run), bl.plot_ics({"mlp": run})):
        assert isinstance(fig, Figure)


# --- seeds: a model's run depends on its own seed, not on its batch-mates -------------------------
def test_noisy_model_draws_the_same_noise_whatever_shares_its_batch():
    seeds = [3, 4]
    splits = {s: nets.digits_split(s, flat=True) for s in seeds}
    alone = bl.train_on_splits(bl.CONFIG["mlp"], {4: splits[4]}, nets.grid([4], ["noisy"], (0.1,)),
                               5, final_eval=False)
    shared = bl.train_on_splits(bl.CONFIG["mlp"], splits, nets.grid(seeds, ["noisy"], (0.1,)), 5,
                                final_eval=False)
    np.testing.assert_allclose(shared.batch_loss[1], alone.batch_loss[0], rtol=1e-5)


def test_lr_specs_follow_the_plan_and_run_seed_aligned():
    specs = bl.lr_specs(range(6), {"grid": 2, "speed": 4, "noisy_small_lr": 3, "noisy": 1,
                                   "lp": 6})
    run = bl.Run(specs, None, None)
    assert run.seeds_of("plain", 3.0) == [0, 1]
    assert run.seeds_of("plain", 0.1) == [0, 1, 2, 3]
    assert run.seeds_of("noisy", 0.1) == [0, 1, 2] and run.seeds_of("noisy", 1.0) == [0]
    assert run.seeds_of("l1", 1.0) == list(range(6))
    seeds, a, b = run.paired(("noisy", 0.1), ("plain", 0.1))
    assert seeds == [0, 1, 2]
    assert [specs[i].seed for i in a] == [specs[i].seed for i in b] == seeds
