"""BatchNorm eases training by smoothing the loss landscape, not by reducing internal covariate
shift.

Reference: Santurkar, Tsipras, Ilyas, Madry, "How Does Batch Normalization Help Optimization?",
NeurIPS 2018: Fig. 1 (training speed, larger learning rates), §2.1 (noisy BatchNorm: BN with
injected non-zero-mean, non-unit-variance, time-varying noise still trains), Definition 2.1
(gradient internal covariate shift, ICS), §3.1 (loss landscape, gradient predictiveness,
effective beta-smoothness, measured along the gradient), §3.2 (ℓp normalization). Lecture notes
000/001 §2.1 "Batch normalization"; slides 002 "Batch Normalization".

Scale (the paper: VGG on CIFAR-10, 25-layer deep linear network): real 8x8 digits
(scikit-learn's ``load_digits``, 1797 images, 80/20 stratified split per seed), an 8-layer MLP and
a 5-conv mini-VGG; the 28x28 MNIST test images (a 5000-image, 500-per-class subset, 4000 for
training and 1000 for testing, drawn per seed) with a narrow mini-VGG; a 25-layer deep linear
network of width 20 on Gaussian data. Hyperparameters are in ``CONFIG``, each with its reason.

How it runs: every network has a leading model dimension (``reproductions.models``), so all
seeds, learning rates and variants (plain / BN / noisy BN / ℓ1 / ℓ∞) of one architecture train
as one batch of independent models (the data splits, per-model minibatches, gradients and
full-batch evaluation of such a batch are ``reproductions.batched_nets``). The update is the
shared pure ``reproductions.optimizers.sgd`` applied to the stacked parameter tensors, with a
per-model learning rate. The landscape probe measures every model at one step size after
another (``landscape_probe``), and the ICS measurement stacks one copy per layer.
``train_reference`` is the naive per-seed baseline: one ``torch.nn`` network with
``nn.BatchNorm`` and ``torch.optim.SGD``, sharing no forward or update code with ``train``.

Definitions used (all on the mini-batch B_t of step t, at the weights w_t before its update):
  * landscape probe (§3.1): g = grad L_B(w_t); for eta in ``CONFIG["probe"]["etas"]``:
    loss range = max_eta L_B(w_t - eta g) - min_eta L_B(w_t - eta g);
    gradient predictiveness = max_eta ||grad L_B(w_t - eta g) - g||;
    effective beta = max_eta ||grad L_B(w_t - eta g) - g|| / ||eta g||.
    Norms are over all parameters of the model.
  * ICS (Definition 2.1): for weight layer i, G = grad_{W_i} L_B(w_t) and G' = grad_{W_i} L_B at
    the weights where the layers before i (weights, biases, gamma, beta) have taken their SGD
    step w_t - lr g and layers i.. have not. Reported: ||G - G'|| (the paper's l2 difference),
    ||G - G'|| / ||G|| (the same, free of the gradient's scale) and cos(G, G').
  * full-batch training loss: the loss on the whole training split in one pass, BN statistics
    of the whole training split, noise off.

Deviations from the paper and choices the protocol leaves open, stated:
  * Scale: digits, a 5000-image MNIST subset and small nets instead of CIFAR-10 and VGG (the
    ``gpu`` tier runs VGG-11 on CIFAR-10 when it is present: 3 seeds, unmeasured here).
  * Inputs are standardized with the training split's global pixel mean and std, and the digits
    mini-VGG has 16/32/64 channels (the MLP: width 64); the protocol gives neither. Disclosed
    forking path: this was the third of three digits CNNs tried. With raw pixels / 16, an
    8/16/32 CNN and a 16/32/64 CNN gave a plain/BN loss-range ratio (geometric mean over steps
    10, 25, 50) whose minimum over the 5 seeds was 0.4 and 2.3, and the standardized 8/16/32 CNN
    2.7, all below the bound 3 (their plain nets barely moved by step 25 at lr 0.1, where the
    landscape is flat); the standardized 16/32/64 CNN gives 7.5 (an earlier measurement: 7.0).
  * No running averages: BN evaluates with the statistics of the training split (``stat_rows``),
    which is what running averages estimate; test accuracy uses those same statistics.
  * Noisy BN (§2.1): the constants are ours. At every step, each channel of each noisy layer
    draws a mean shift mu ~ U(-0.5, 0.5) and a scale sigma ~ U(0.5, 2); each activation of each
    example then becomes sigma x^ + mu + 0.1 eps, eps ~ N(0, 1) i.i.d., before gamma and beta.
    The noise is off at evaluation.
  * ℓp normalization (§3.2): (x - mean) / mean|x - mean| (ℓ1) and (x - mean) / max|x - mean| (ℓ∞),
    per channel over batch and space, then gamma, beta (ℓ2 would be BN itself).
  * Deep linear net: N(0, 1/width) initialization (He init makes a 25-layer linear net's output
    ~2^12 times its input and SGD at lr 1e-3 diverges), no biases, BN after every hidden layer,
    targets y = A x of a fixed Gaussian teacher A ~ N(0, 1/width), a fresh batch every step.
    Its landscape is probed at step sizes 0.5 ... 4 times its lr, the digits probe's ratio.
  * Plain SGD on the stacked parameters uses ``optimizers.sgd`` (no momentum, no weight decay);
    the baseline ``train_reference`` uses ``torch.optim.SGD`` on a ``torch.nn`` module.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from . import batched_nets as nets
from . import minibatch
from . import models as md
from . import optimizers as optim

if TYPE_CHECKING:      # the figures' return annotations; matplotlib is imported where one is drawn
    from matplotlib.figure import Figure

CONFIG = {
    "batch": 64,                 # the protocol's batch size (plain SGD, no momentum)
    "digits_test": 360,          # 1437 train / 360 test (20%), stratified, a fresh split per seed
    "mnist_per_class": 500,      # the 5000-image subset of the earlier measurement ...
    "mnist_train": 4000,         # ... 4000 for training, 1000 for testing
    "mlp": md.mlp(64, 64, 8, 10),                      # the protocol's 8-layer MLP; width 64
    "cnn": md.cnn(1, (16, 16, "M", 32, 32, "M", 64)),  # the 5-conv mini-VGG, 16/32/64 channels
    "mnist_cnn": md.cnn(1, (8, 8, "M", 16, 16, "M", 32)),  # the protocol's narrow mini-VGG
    "lrs": (0.1, 0.3, 1.0, 3.0),  # the protocol's learning-rate grid
    "steps": 200,                # training steps of the learning-rate runs (the protocol's 200
                                 # for MNIST and noisy BN; ~9 epochs of digits)
    "fail_loss": 1.0,            # a run fails when NaN or its full-batch train loss is above this
    "probe": {"lr": 0.1,                    # the protocol's lr for the landscape runs
              "steps": (10, 25, 50),        # probed steps: not 0 (the range there counts the
                                            # descent) nor late (the plain net has converged);
                                            # the figure shows these too (probing every 10
                                            # steps for it cost a third of the claim's time)
              "etas": tuple(round(0.05 * k, 2) for k in range(1, 9))},  # 0.05 ... 0.40
    "noise": {"mu": 0.5, "sigma": (0.5, 2.0), "jitter": 0.1},  # noisy BN, stated above
    "noise_layer": 2,            # the middle one of the 5 norm layers: where stability is read
    "ics_steps": (10, 50),       # the protocol's steps for Definition 2.1
    "dln": {"arch": md.dln(20, 25),     # the protocol's 25 layers of width 20
            "lr": 1e-3, "batch": 128,   # the protocol's
            "ics_steps": (10, 50),      # the protocol's
            "probe_steps": (10, 25, 50),  # as for the digits nets
            "eta_over_lr": tuple(0.5 * k for k in range(1, 9))},  # the digits probe's eta/lr
    "gpu": {"lrs": (0.1, 0.5), "batch": 128,      # the protocol's gpu tier
            "cifar_steps": 15_000, "mnist_steps": 2_000, "probe_every": 500,
            "vgg": (64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"),  # VGG-11
            "wide_cnn": (32, 32, "M", 64, 64, "M", 128),   # the MNIST fallback, 32-128 channels
            "mnist_test": 2000,                   # the 10k images split 8000 / 2000 per seed
            "eval_rows": 5000,                    # full-batch loss on 5000 training images
            "n_seeds": 3},                        # 3 seeds: paper-scale runs are long
}


# --- data -----------------------------------------------------------------------------------------
# --- the models being trained ---------------------------------------------------------------------
@dataclass
class Run:
    """What ``train`` measured. Arrays have the models (``specs`` order) on their first axis."""
    specs: list
    batch_loss: np.ndarray                       # (M, steps): mini-batch loss before each update
    params: dict                                 # final parameters, (M, ...) each
    probes: dict = field(default_factory=dict)   # step -> {"range", "pred", "beta": (M,), ...}
    ics: dict = field(default_factory=dict)      # step -> {"rel", "cos", "diff": (M, n_layers)},
                                                 # NaN but for the plain and BN models
    act_stats: np.ndarray | None = None          # (steps, M, 2, C): a norm layer's output
                                                 # per-channel batch mean and std
    train_loss: np.ndarray | None = None         # (M,) full-batch training loss at the end
    test_acc: np.ndarray | None = None           # (M,)

    def select(self, variant: str, lr: float | None = None, seeds=None) -> np.ndarray:
        """Model indices of one variant (and learning rate, and ``seeds``), in seed order."""
        chosen = [(s.seed, i) for i, s in enumerate(self.specs) if s.variant == variant
                  and (lr is None or np.isclose(s.lr, lr))
                  and (seeds is None or s.seed in seeds)]
        return np.array([i for _, i in sorted(chosen)], dtype=int)

    def seeds_of(self, variant: str, lr: float | None = None) -> list[int]:
        """The seeds that ran ``variant`` (at ``lr``), in order."""
        return [self.specs[i].seed for i in self.select(variant, lr)]

    def paired(self, a: tuple, b: tuple) -> tuple[list[int], np.ndarray, np.ndarray]:
        """(seeds, indices of a, indices of b) over the seeds that ran both ``a`` and ``b``,
        each a (variant, lr) pair (lr None: any)."""
        seeds = sorted(set(self.seeds_of(*a)) & set(self.seeds_of(*b)))
        return seeds, self.select(*a, seeds=seeds), self.select(*b, seeds=seeds)

    @property
    def seeds(self) -> list[int]:
        return sorted({s.seed for s in self.specs})


def noise_generators(specs: list) -> list[torch.Generator]:
    """One generator per noisy model, fixed by its own seed and lr: a model's noise does not
    depend on which other models share its batch."""
    return [torch.Generator().manual_seed(int(np.random.SeedSequence(
        [s.seed, 104729, int(round(s.lr * 1e6))]).generate_state(1)[0])) for s in specs]


def _draw_noise(arch: md.Arch, gens: list, B: int, spatial: list, cfg: dict, device) -> list:
    """One (scale, shift) pair per norm layer for the noisy models, each drawn from the model's
    own generator: the noisy-BN perturbation of one step (module docstring): per channel
    sigma ~ U(lo, hi), mu ~ U(-mu, mu); per activation shift mu + jitter * N(0, 1)."""
    out = []
    lo, hi = cfg["noise"]["sigma"]
    M = len(gens)
    for (shape, _), sp in zip(md.layer_shapes(arch)[:arch.n_norm], spatial):
        C, tail = shape[0], (1,) * len(sp)
        # The arithmetic on the stacked draws (the same operations element by element, so the
        # same numbers): per-generator tensor ops cost a fifth of the MLP runs' noisy steps.
        mu = (torch.stack([torch.rand(C, generator=g) for g in gens]) * 2 - 1) \
            * cfg["noise"]["mu"]
        sigma = lo + torch.stack([torch.rand(C, generator=g) for g in gens]) * (hi - lo)
        jitter = torch.stack([torch.randn((B, C, *sp), generator=g) for g in gens], 1) \
            * cfg["noise"]["jitter"]
        out.append((sigma.view(1, M, C, *tail).to(device),
                    (mu.view(1, M, C, *tail) + jitter).to(device)))
    return out


def _spatial(arch: md.Arch, x_shape) -> list:
    """Spatial shape at each norm layer."""
    if arch.kind != "cnn":
        return [()] * arch.n_norm
    hw, out = list(x_shape[-2:]), []
    for w in arch.widths:
        if w == "M":
            hw = [h // 2 for h in hw]
        else:
            out.append(tuple(hw))
    return out


def _flat_norm(tensors: dict) -> Tensor:
    return torch.sqrt(sum(t.flatten(1).pow(2).sum(1) for t in tensors.values()))


def landscape_probe(arch, params, grads, x, y, variant, etas, kind="ce") -> dict:
    """The landscape probe of every model at each step size in turn. (Stacking the K step sizes
    as K x M more models in one pass gave the same numbers within 1e-6 and ran 0.86x as fast on
    the CPU, so it was removed.)"""
    losses, diffs = [], []
    for e in torch.tensor(etas, dtype=torch.float32, device=x.device):  # float32 step sizes
        moved = {k: p - e * grads[k] for k, p in params.items()}
        loss, g = nets.grads_and_loss(arch, moved, x, y, variant, kind)
        losses.append(loss)
        diffs.append(_flat_norm({k: g[k] - grads[k] for k in g}))
    return _probe_measures(torch.stack(losses, 1), torch.stack(diffs, 1), _flat_norm(grads),
                           etas)


def _probe_measures(loss: Tensor, diff: Tensor, gnorm: Tensor, etas) -> dict:
    eta = torch.tensor(etas, dtype=torch.float32, device=loss.device)
    return {"range": (loss.amax(1) - loss.amin(1)).cpu().numpy(),
            "pred": diff.amax(1).cpu().numpy(),
            "beta": (diff / (eta * gnorm[:, None])).amax(1).cpu().numpy(),
            "lo": loss.amin(1).cpu().numpy(), "hi": loss.amax(1).cpu().numpy()}


def ics(arch, params, grads, x, y, variant, lr: Tensor, kind="ce") -> dict:
    """Gradient ICS (Definition 2.1) of every weight layer in one pass: copy i of each model has
    the layers before i (weights, biases, gamma, beta) moved by their SGD step ``-lr * grads``
    and layers i.. unmoved; G' of layer i is copy i's gradient of W_i, and G is copy 0's (no
    layer moved), computed in the same pass, so the first layer's ICS is exactly zero."""
    L, M = arch.n_layers, len(variant)
    owner = {k: i for i in range(L) for k in md.layer_keys(arch, i)}
    copy = torch.arange(L, device=x.device).repeat(M)                   # (M*L,)
    moved = {}
    for k, p in params.items():
        shape = (-1,) + (1,) * (p.dim() - 1)
        step = (lr.view(shape) * grads[k]).repeat_interleave(L, 0)
        moved[k] = p.repeat_interleave(L, 0) - (owner[k] < copy).view(shape) * step
    _, g = nets.grads_and_loss(arch, moved, x.repeat_interleave(L, 1), y.repeat_interleave(L, 1),
                               variant.repeat_interleave(L), kind)
    rel, cos, diff = (torch.empty(M, L, dtype=g["w0"].dtype) for _ in range(3))
    for i in range(L):
        gi = g[f"w{i}"].reshape(M, L, -1)
        G, Gp = gi[:, 0], gi[:, i]
        diff[:, i] = (G - Gp).norm(dim=1).cpu()
        rel[:, i] = diff[:, i] / G.norm(dim=1).cpu()
        cos[:, i] = F.cosine_similarity(G, Gp, dim=1, eps=0.0).cpu()
    return {"rel": rel.numpy(), "cos": cos.numpy(), "diff": diff.numpy()}


def train(arch: md.Arch, specs: list, steps: int, sample, kind: str = "ce",
          cfg: dict = CONFIG, probe_steps=(), etas=(), ics_steps=(),
          record_layer: int | None = None, device="cpu") -> Run:
    """Train every model in ``specs`` (seed, variant, lr) with SGD, all in one batch.

    ``sample(t)`` returns step t's mini-batch (x, y), shaped (B, M, ...), each model's own.
    Initial weights depend only on the seed (so the variants of a seed start identical); noisy
    models (which must be consecutive) draw their noise from generators of their own
    (``noise_generators``). The update is ``optimizers.sgd`` on the stacked parameters with a
    per-model learning rate. At ``probe_steps`` the landscape probe runs on the non-noisy models
    (step sizes ``etas``), at ``ics_steps`` the ICS measurement on the plain and BN models.
    """
    M = len(specs)
    params = {k: v.to(device) for k, v in md.init(arch, [s.seed for s in specs],
                                                 "lecun" if arch.kind == "dln" else "he").items()}
    variant = torch.tensor([md.VARIANTS[s.variant] for s in specs])
    lr = torch.tensor([s.lr for s in specs], dtype=torch.float32, device=device)
    opts = {k: optim.sgd(minibatch.per_model(lr, p)) for k, p in params.items()}
    states = minibatch.init_each(opts, params)
    noisy = (variant == md.VARIANTS["noisy"]).nonzero().flatten()
    if len(noisy) and int(noisy[-1] - noisy[0]) != len(noisy) - 1:
        raise ValueError("noisy models must be consecutive in specs")
    gens = noise_generators([specs[int(i)] for i in noisy])
    keep = (variant != md.VARIANTS["noisy"]).nonzero().flatten()
    # ICS is compared between plain and BN only: the other variants' would cost a sixth of the
    # mini-VGG landscape run and be read by nothing (NaN in ``run.ics``).
    compared = ((variant == md.VARIANTS["plain"]) | (variant == md.VARIANTS["bn"]))
    compared = compared.nonzero().flatten()
    run = Run(list(specs), None, None)
    batch_loss, stats = torch.empty(M, steps), []
    for t in range(steps):
        xb, yb = sample(t)
        noise = None
        if len(noisy):
            noise = _draw_noise(arch, gens, xb.shape[0], _spatial(arch, xb.shape), cfg,
                                device)
        record = {record_layer: []} if record_layer is not None else None
        loss, grads = nets.grads_and_loss(arch, params, xb, yb, variant, kind, noise, record)
        batch_loss[:, t] = loss.cpu()
        if record is not None:
            stats.append(torch.stack(record[record_layer][0], 1).cpu())     # (M, 2, C)
        if t in probe_steps:
            res = landscape_probe(arch, {k: v[keep] for k, v in params.items()},
                        {k: v[keep] for k, v in grads.items()}, xb[:, keep], yb[:, keep],
                        variant[keep], etas, kind)
            run.probes[t] = {k: _scatter(v, keep.numpy(), M) for k, v in res.items()}
        if t in ics_steps:
            res = ics(arch, {k: v[compared] for k, v in params.items()},
                      {k: v[compared] for k, v in grads.items()}, xb[:, compared],
                      yb[:, compared], variant[compared], lr[compared], kind)
            run.ics[t] = {k: _scatter(v, compared.numpy(), M) for k, v in res.items()}
        params, states = minibatch.step_each(opts, params, grads, states)
    run.batch_loss = batch_loss.numpy()
    run.params = params
    if stats:
        run.act_stats = torch.stack(stats).numpy()
    return run


def _scatter(v: np.ndarray, idx: np.ndarray, M: int) -> np.ndarray:
    out = np.full((M,) + v.shape[1:], np.nan)
    out[idx] = v
    return out


# --- data feeding ---------------------------------------------------------------------------------
def train_on_splits(arch, splits, specs, steps, cfg=CONFIG, device="cpu", eval_rows=None,
                    final_eval: bool = True, **kw) -> Run:
    """``train`` on per-seed data splits, then (``final_eval``) ``evaluate`` the final weights."""
    sample, data, model_seed = nets.split_sampler(splits, specs, cfg["batch"], steps, device)
    run = train(arch, specs, steps, sample, "ce", cfg, device=device, **kw)
    if final_eval:
        run.train_loss, run.test_acc = nets.evaluate(arch, run.params, specs, data, model_seed,
                                                     eval_rows=eval_rows)
    return run


def gaussian_sampler(seeds_of_models: list, width: int, batch: int, device="cpu"):
    """Deep-linear-net data: x ~ N(0, I), y = A x with a teacher A ~ N(0, 1/width) fixed by the
    seed; a fresh batch every step, the same for all models of one seed."""
    seeds = sorted(set(seeds_of_models))
    pos = {s: k for k, s in enumerate(seeds)}
    model_seed = torch.tensor([pos[s] for s in seeds_of_models])
    gens = [torch.Generator().manual_seed(int(s) + 31337) for s in seeds]
    A = torch.stack([torch.randn(width, width, generator=g) / width ** 0.5 for g in gens])

    def sample(t):
        x = torch.stack([torch.randn(batch, width, generator=g) for g in gens])   # (S, B, d)
        y = torch.einsum("sbi,soi->sbo", x, A)
        return (x[model_seed].movedim(0, 1).to(device), y[model_seed].movedim(0, 1).to(device))

    return sample


# --- the experiments ------------------------------------------------------------------------------
def lr_specs(seeds, plan: dict | None = None, cfg: dict = CONFIG) -> list[nets.Spec]:
    """The models of the learning-rate runs. ``plan`` gives how many of ``seeds`` (the first
    ones) run each group; by default every group runs on every seed:
      grid:  plain and BN at every lr of the grid (Fig. 1, the usable lr);
      speed: plain and BN at the smallest lr (training speed at equal lr);
      noisy_small_lr, noisy: noisy BN at the smallest lr and at 1 (§2.1);
      lp:    ℓ1 and ℓ∞ normalization at 1 (§3.2)."""
    n = {k: len(seeds) for k in ("grid", "speed", "noisy_small_lr", "noisy", "lp")}
    n.update(plan or {})
    lrs, seeds = cfg["lrs"], list(seeds)
    return (nets.grid(seeds[:n["grid"]], ["plain", "bn"], lrs)
            + nets.grid(seeds[n["grid"]:n["speed"]], ["plain", "bn"], lrs[:1])
            + nets.grid(seeds[:n["noisy_small_lr"]], ["noisy"], lrs[:1])
            + nets.grid(seeds[:n["noisy"]], ["noisy"], (1.0,))
            + nets.grid(seeds[:n["lp"]], ["l1", "linf"], (1.0,)))


def lr_experiment(seeds, arch_name: str = "cnn", cfg: dict = CONFIG,
                  plan: dict | None = None) -> Run:
    """Fig. 1, §2.1 and §3.2 on digits: the models of ``lr_specs(seeds, plan)``, ``steps`` SGD
    steps each, same initial weights and batches per seed; the middle norm layer's output
    statistics recorded every step."""
    flat = cfg[arch_name].kind == "mlp"
    splits = {s: nets.digits_split(s, flat, cfg["digits_test"]) for s in seeds}
    return train_on_splits(cfg[arch_name], splits, lr_specs(seeds, plan, cfg), cfg["steps"],
                           cfg, record_layer=cfg["noise_layer"])


def landscape_experiment(seeds, arch_name: str = "cnn", cfg: dict = CONFIG,
                         variants=("plain", "bn", "l1", "linf"), lp_seeds: int | None = None,
                         measure_ics: bool = True) -> Run:
    """§3.1 on digits: train at the probe lr, probe the landscape at ``probe.steps`` and
    (``measure_ics``) measure ICS at ``ics_steps``. Plain and BN run on every seed, the ℓp
    variants on the first ``lp_seeds`` (default: every seed)."""
    p = cfg["probe"]
    last = max(max(p["steps"]), max(cfg["ics_steps"]))
    flat = cfg[arch_name].kind == "mlp"
    splits = {s: nets.digits_split(s, flat, cfg["digits_test"]) for s in seeds}
    lp = [v for v in variants if v in ("l1", "linf")]
    specs = (nets.grid(seeds, [v for v in variants if v not in lp], (p["lr"],))
             + nets.grid(list(seeds)[:lp_seeds], lp, (p["lr"],)))
    return train_on_splits(cfg[arch_name], splits, specs, last + 1, cfg,
                           probe_steps=p["steps"], etas=p["etas"],
                           ics_steps=cfg["ics_steps"] if measure_ics else (), final_eval=False)


def dln_experiment(seeds, cfg: dict = CONFIG, variants=("plain", "bn")) -> Run:
    """Definition 2.1 on the 25-layer deep linear network (MSE, Gaussian data), plus the
    landscape probe at step sizes ``eta_over_lr`` times its lr."""
    d = cfg["dln"]
    specs = nets.grid(seeds, variants, (d["lr"],))
    sample = gaussian_sampler([s.seed for s in specs], d["arch"].in_dim, d["batch"])
    etas = tuple(d["lr"] * r for r in d["eta_over_lr"])
    last = max(max(d["ics_steps"]), max(d["probe_steps"]))
    return train(d["arch"], specs, last + 1, sample, "mse", cfg, probe_steps=d["probe_steps"],
                 etas=etas, ics_steps=d["ics_steps"])


def mnist_experiment(images, labels, seeds, cfg: dict = CONFIG, lrs=(0.3, 1.0)) -> Run:
    """Fig. 1 on the 5000-image MNIST subset: plain and BN, narrow mini-VGG, ``steps`` steps."""
    splits = {s: nets.mnist_split(images, labels, s, cfg["mnist_per_class"], cfg["mnist_train"])
              for s in seeds}
    return train_on_splits(cfg["mnist_cnn"], splits, nets.grid(seeds, ["plain", "bn"], lrs),
                           cfg["steps"], cfg)


# --- derived measures -----------------------------------------------------------------------------
def probe_ratio(run: Run, measure: str, steps, num: str = "plain", den: str = "bn") -> np.ndarray:
    """Per seed that ran both: geometric mean over ``steps`` of measure(num) / measure(den)."""
    _, a, b = run.paired((num, None), (den, None))
    logs = [np.log(run.probes[t][measure][a] / run.probes[t][measure][b]) for t in steps]
    return np.exp(np.mean(logs, axis=0))


def instability(act_stats: np.ndarray, idx) -> np.ndarray:
    """Per model: mean over steps and channels of |change of the channel's batch mean| +
    |change of its batch std| from one step to the next, for the recorded norm layer."""
    d = np.abs(np.diff(act_stats[:, idx], axis=0))     # (T-1, m, 2, C)
    return d.sum(2).mean((0, 2))


def grid_seeds(run: Run, cfg: dict = CONFIG) -> list[int]:
    """The seeds that ran plain and BN at every lr of the grid."""
    sets = [set(run.seeds_of(v, lr)) for v in ("plain", "bn") for lr in cfg["lrs"]]
    return sorted(set.intersection(*sets))


def largest_ok_lr(run: Run, variant: str, cfg: dict = CONFIG) -> np.ndarray:
    """Per seed of the grid: the largest lr whose final full-batch loss is < fail_loss."""
    out = []
    for seed in grid_seeds(run, cfg):
        ok = [lr for lr in cfg["lrs"]
              if run.train_loss[run.select(variant, lr, seeds=[seed])[0]] < cfg["fail_loss"]]
        out.append(max(ok) if ok else np.nan)
    return np.array(out)


def failed(loss: np.ndarray, cfg: dict = CONFIG) -> np.ndarray:
    """A run fails when its loss is NaN/inf or above ``fail_loss``."""
    return ~np.isfinite(loss) | (loss > cfg["fail_loss"])


# --- the kernels against torch.nn and autograd ---------------------------------------------------
# Each claim that relies on a hand-written kernel (the batched nets, the normalization variants,
# noisy BN, the landscape probe, the ICS measurement, the full-batch evaluation) checks it with
# these functions and those of ``batched_nets``, against a torch.nn rebuild of each model
# (``models.to_torch``: nn.Conv2d / nn.Linear, nn.BatchNorm in train mode, its own autograd
# graph) or a closed form. The kernels are dtype-generic; the checks run them in float64, where
# rounding cannot flip a ReLU between the two computations (in float32 one flip moved an MLP's
# effective beta by 2e-3, seed 100).
def _as_float32(value: float) -> float:
    """``value`` rounded to float32, as the trainer's and the probe's step-size tensors hold it."""
    return float(torch.tensor(value, dtype=torch.float32))


def probe_vs_torch(arch, params, x, y, variants: list, etas, kind: str = "ce") -> dict:
    """``landscape_probe`` against the same three measures computed directly for each model:
    its torch.nn rebuild at w and at every w - eta g, loss and gradient by autograd. Returns
    per model the relative difference of ``range``, ``pred`` and ``beta``."""
    code = torch.tensor([md.VARIANTS[v] for v in variants])
    _, grads = nets.grads_and_loss(arch, params, x, y, code, kind)
    ours = landscape_probe(arch, params, grads, x, y, code, etas, kind)
    etas = [_as_float32(e) for e in etas]     # the probe's step sizes are float32 tensors
    out = {k: [] for k in ("range", "pred", "beta")}
    for m, v in enumerate(variants):
        _, g0 = nets.torch_grads(arch, params, m, v, x, y, kind)
        gnorm = math.sqrt(sum(float(g.pow(2).sum()) for g in g0.values()))
        losses, diffs = [], []
        for eta in etas:
            moved = {k: p[m:m + 1] - eta * g0[k][None] if k in g0 else p[m:m + 1]
                     for k, p in params.items()}
            loss, g = nets.torch_grads(arch, moved, 0, v, x[:, m:m + 1], y[:, m:m + 1], kind)
            losses.append(loss)
            diffs.append(math.sqrt(sum(float((g[k] - g0[k]).pow(2).sum()) for k in g0)))
        ref = {"range": max(losses) - min(losses), "pred": max(diffs),
               "beta": max(d / (eta * gnorm) for d, eta in zip(diffs, etas))}
        for k in out:
            out[k].append(abs(float(ours[k][m]) - ref[k]) / ref[k])
    return {k: np.array(v) for k, v in out.items()}


def ics_vs_torch(arch, params, x, y, variants: list, lr: float, kind: str = "ce",
                 layers=None) -> dict:
    """``ics`` (Definition 2.1, all layers in one pass) against a direct computation for each
    model and layer i of ``layers`` (default: every layer): the torch.nn rebuild whose layers
    before i took their SGD step -lr g, G' its gradient of W_i by autograd. Returns per model
    the largest absolute difference of the relative shift ||G - G'|| / ||G|| and of cos(G, G')
    over those layers, and the largest relative difference of the l2 difference ||G - G'||
    over those after the first (whose shift is 0)."""
    code = torch.tensor([md.VARIANTS[v] for v in variants])
    _, grads = nets.grads_and_loss(arch, params, x, y, code, kind)
    ours = ics(arch, params, grads, x, y, code, torch.full((len(variants),), lr), kind)
    owner = {k: i for i in range(arch.n_layers) for k in md.layer_keys(arch, i)}
    lr = _as_float32(lr)                       # as ``train`` holds it
    layers = list(range(arch.n_layers) if layers is None else layers)
    out = {"rel": [], "cos": [], "diff": []}
    for m, v in enumerate(variants):
        _, g0 = nets.torch_grads(arch, params, m, v, x, y, kind)
        rel, cos, diff = [], [], []
        for i in layers:
            moved = {k: p[m:m + 1] - lr * g0[k][None] if owner[k] < i and k in g0
                     else p[m:m + 1] for k, p in params.items()}
            _, g = nets.torch_grads(arch, moved, 0, v, x[:, m:m + 1], y[:, m:m + 1], kind)
            G, Gp = g0[f"w{i}"].flatten(), g[f"w{i}"].flatten()
            diff.append(float((G - Gp).norm()))
            rel.append(diff[-1] / float(G.norm()))
            cos.append(float(F.cosine_similarity(G, Gp, dim=0)))
        out["rel"].append(float(np.abs(ours["rel"][m, layers] - rel).max()))
        out["cos"].append(float(np.abs(ours["cos"][m, layers] - cos).max()))
        moved = [k for k, i in enumerate(layers) if i > 0]
        out["diff"].append(float(max(abs(ours["diff"][m, layers[k]] - diff[k]) / diff[k]
                                     for k in moved)))
    return {k: np.array(v) for k, v in out.items()}


def norm_layer_errors(seed: int) -> dict:
    """The normalization layer (``models.batch_norm``) of 3 models on a (B, M, C, H, W) batch
    against references, largest absolute differences (relative to the output's size):
      bn            train mode against nn.BatchNorm2d per model, output and the gradients of
                    sum(y * r) with respect to x, gamma and beta (autograd on each side)
      bn_stat_rows  statistics of the first rows applied to all (evaluation) against
                    nn.BatchNorm2d in eval mode with those rows' mean and biased variance
      l1, linf      against (x - mean) / (mean|x - mean| + eps) and / (max|x - mean| + eps) in
                    float64 numpy, per (model, channel) over batch and space, then gamma, beta
      noisy         against gamma (scale x^ + shift) + beta with x^ nn.BatchNorm2d's"""
    gen = torch.Generator().manual_seed(int(seed))
    B, M, C, H = 16, 3, 4, 5
    x = (torch.randn(B, M, C, H, H, generator=gen) * 3 + 1).requires_grad_(True)
    gamma = (torch.rand(M, C, generator=gen) + 0.5).requires_grad_(True)
    beta = torch.randn(M, C, generator=gen).requires_grad_(True)
    r = torch.randn(B, M, C, H, H, generator=gen)
    out = {}
    y = md.batch_norm(x, gamma, beta, "bn")
    gx, gg, gb = torch.autograd.grad((y * r).sum(), (x, gamma, beta))
    err = 0.0
    for m in range(M):
        bn = torch.nn.BatchNorm2d(C).train()
        with torch.no_grad():
            bn.weight.copy_(gamma[m])
            bn.bias.copy_(beta[m])
        xm = x.detach()[:, m].clone().requires_grad_(True)
        ym = bn(xm)
        (ym * r[:, m]).sum().backward()
        for a, b in ((y[:, m], ym), (gx[:, m], xm.grad), (gg[m], bn.weight.grad),
                     (gb[m], bn.bias.grad)):
            err = max(err, float((a - b).detach().abs().max() / b.detach().abs().max()))
    out["bn"] = err
    rows, err = 10, 0.0
    with torch.no_grad():
        ys = md.batch_norm(x, gamma, beta, "bn", stat_rows=rows)
        for m in range(M):
            bn = torch.nn.BatchNorm2d(C).eval()
            ref = x[:rows, m]
            bn.running_mean.copy_(ref.mean((0, 2, 3)))
            bn.running_var.copy_(ref.var((0, 2, 3), unbiased=False))
            bn.weight.copy_(gamma[m])
            bn.bias.copy_(beta[m])
            err = max(err, float((ys[:, m] - bn(x[:, m])).abs().max() / ys[:, m].abs().max()))
    out["bn_stat_rows"] = err
    xn, gn, bn_ = (t.detach().double().numpy() for t in (x, gamma, beta))
    dev = xn - xn.mean((0, 3, 4), keepdims=True)
    for v, scale in (("l1", np.abs(dev).mean((0, 3, 4), keepdims=True)),
                     ("linf", np.abs(dev).max((0, 3, 4), keepdims=True))):
        ref = gn[None, :, :, None, None] * dev / (scale + md.EPS) + bn_[None, :, :, None, None]
        ours = md.batch_norm(x, gamma, beta, v).detach().double().numpy()
        out[v] = float(np.abs(ours - ref).max() / np.abs(ref).max())
    n_scale = 0.5 + 1.5 * torch.rand(1, M, C, 1, 1, generator=gen)
    n_shift = torch.randn(B, M, C, H, H, generator=gen)
    with torch.no_grad():
        noisy = md.batch_norm(x, gamma, beta, "noisy", noise=(n_scale, n_shift))
        xhat = torch.stack([F.batch_norm(x[:, m], None, None, training=True, eps=md.EPS)
                            for m in range(M)], 1)
        ref = (gamma.view(1, M, C, 1, 1) * (n_scale * xhat + n_shift)
               + beta.view(1, M, C, 1, 1))
    out["noisy"] = float((noisy - ref).abs().max() / ref.abs().max())
    return out


def noise_draw_stats(seeds, arch: md.Arch, steps: int = 20, cfg: dict = CONFIG) -> dict:
    """What ``_draw_noise`` draws for the noisy models of ``seeds`` over ``steps`` steps (batch
    ``cfg["batch"]``): the range of sigma and of the per-channel mean shift (the shift averaged
    over batch and space, so the jitter mostly cancels), and the jitter's standard deviation
    around it."""
    gens = noise_generators(nets.grid(seeds, ["noisy"], (0.1,)))
    spatial = _spatial(arch, (1, 1, 8, 8))
    sig, mu, jit = [], [], []
    for _ in range(steps):
        for scale, shift in _draw_noise(arch, gens, cfg["batch"], spatial, cfg, "cpu"):
            dims = (0,) + tuple(range(3, shift.dim()))
            mean = shift.mean(dims, keepdim=True)
            sig.append(scale.flatten())
            mu.append(mean.flatten())
            jit.append((shift - mean).flatten())
    sig, mu, jit = torch.cat(sig), torch.cat(mu), torch.cat(jit)
    return {"sigma": (float(sig.min()), float(sig.max())), "mu": (float(mu.min()),
            float(mu.max())), "jitter_std": float(jit.std())}


# --- the naive per-seed baseline ------------------------------------------------------------------
def train_reference(arch: md.Arch, split: nets.Split, seed: int, variant: str, lr: float,
                    steps: int, cfg: dict = CONFIG) -> tuple[np.ndarray, dict]:
    """One seed, one net: ``torch.nn`` layers with ``nn.BatchNorm`` (train mode),
    ``torch.optim.SGD``, and ``float(loss)`` read every step as a training loop would. Same
    initial weights and batches as ``train``, no code shared with its forward or update.
    Returns the mini-batch losses and the final parameters (``train``'s names, no model axis)."""
    net = md.to_torch(arch, md.init(arch, [seed]), 0, variant)
    opt = torch.optim.SGD(net.parameters(), lr=lr)
    order = nets.batch_order(seed, len(split.y_train), steps, cfg["batch"])
    losses = []
    for t in range(steps):
        idx = order[t]
        loss = F.cross_entropy(net(split.x_train[idx]), split.y_train[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return np.array(losses), md.from_torch(arch, net)


# --- the gpu tier: paper scale --------------------------------------------------------------------
def gpu_data(data_dir, name: str) -> nets.Split:
    """The paper-scale data set ``name``: ``"cifar10"`` (``load_cifar10``, per-channel
    standardized, NCHW) or ``"mnist10k"`` (the 10k MNIST test images split 8000 / 2000). Each is
    its own configuration: a missing file raises DataMissing, a corrupt one DataCorrupt; neither
    falls back to the other."""
    from .data import load_cifar10, load_mnist
    if name == "cifar10":
        return cifar_split(*load_cifar10(data_dir))
    if name == "mnist10k":
        return mnist10k_split(*load_mnist(data_dir), seed=0)
    raise ValueError(f"unknown paper-scale data set {name!r}")


def cifar_split(xtr, ytr, xte, yte) -> nets.Split:
    """CIFAR-10 arrays (N, 32, 32, 3) uint8 as standardized float (N, 3, 32, 32)."""
    x = torch.tensor(xtr, dtype=torch.float32).permute(0, 3, 1, 2)
    mu, sd = x.mean((0, 2, 3), keepdim=True), x.std((0, 2, 3), keepdim=True)
    xt = torch.tensor(xte, dtype=torch.float32).permute(0, 3, 1, 2)
    return nets.Split((x - mu) / sd, torch.as_tensor(ytr, dtype=torch.int64), (xt - mu) / sd,
                      torch.as_tensor(yte, dtype=torch.int64))


def mnist10k_split(images, labels, seed: int, cfg: dict = CONFIG) -> nets.Split:
    """All 10k MNIST test images, stratified 8000 / 2000, standardized."""
    x = torch.tensor(images, dtype=torch.float32)[:, None]
    y = torch.tensor(labels, dtype=torch.int64)
    tr, te = nets.stratified_indices(np.asarray(labels), cfg["gpu"]["mnist_test"], seed)
    return nets.standardized(nets.Split(x[tr], y[tr], x[te], y[te]))


def gpu_experiment(name: str, split: nets.Split, seeds, device, cfg: dict = CONFIG) -> Run:
    """Plain and BN VGG (CIFAR-10) or the wide mini-VGG (MNIST 10k) at the gpu lrs, batch 128,
    landscape probed every ``probe_every`` steps (looped over the step sizes: batching them
    would multiply the activation memory of a VGG by 8)."""
    g = cfg["gpu"]
    in_ch = split.x_train.shape[1]
    arch = md.cnn(in_ch, g["vgg"] if name == "cifar10" else g["wide_cnn"])
    steps = g["cifar_steps"] if name == "cifar10" else g["mnist_steps"]
    run_cfg = dict(cfg, batch=g["batch"])
    probe_steps = tuple(range(g["probe_every"], steps, g["probe_every"]))
    return train_on_splits(arch, {s: split for s in seeds},
                           nets.grid(seeds, ["plain", "bn"], g["lrs"]),
                           steps, run_cfg, device=device, eval_rows=g["eval_rows"],
                           probe_steps=probe_steps, etas=cfg["probe"]["etas"])


def gpu_summary(run: Run, cfg: dict = CONFIG) -> dict:
    """The gpu tier's numbers: per lr, plain / BN loss range (geometric mean over all probes,
    per seed), and the final full-batch losses of plain and BN at each lr."""
    out = {}
    steps = sorted(run.probes)
    for lr in cfg["gpu"]["lrs"]:
        idx = [i for i, s in enumerate(run.specs) if np.isclose(s.lr, lr)]
        sub = Run([run.specs[i] for i in idx], None, None,
                  probes={t: {k: v[idx] for k, v in run.probes[t].items()} for t in steps})
        out[lr] = {"range_ratio": probe_ratio(sub, "range", steps),
                   "plain_loss": run.train_loss[run.select("plain", lr)],
                   "bn_loss": run.train_loss[run.select("bn", lr)]}
    return out


# --- figures --------------------------------------------------------------------------------------
COLORS = {"plain": "C3", "bn": "C0", "noisy": "C2", "l1": "C4", "linf": "C1"}
LABELS = {"plain": "plain", "bn": "BN", "noisy": "noisy BN", "l1": "ℓ1 norm", "linf": "ℓ∞ norm"}


def _smooth(y: np.ndarray, k: int = 10) -> np.ndarray:
    y = np.where(np.isfinite(y), y, np.nan)
    out = np.full_like(y, np.nan, dtype=float)
    for t in range(len(y)):
        w = y[max(0, t - k + 1):t + 1]
        out[t] = np.nan if np.isnan(w).any() else w.mean()
    return out


def plot_training(run: Run, lrs=(0.1, 1.0), title: str = "") -> "Figure":
    """Mini-batch training loss vs step (10-step running mean; median over seeds, interquartile
    range shaded) for plain, BN and noisy BN at two learning rates, each panel on its own log
    axis capped at 3x the largest initial loss: a run that diverges (NaN or above the cap) leaves
    the plot, and the legend counts such seeds instead of stretching the axis to 1e21."""
    from matplotlib.figure import Figure
    fig = Figure(figsize=(10, 3.6), layout="constrained")
    axes = fig.subplots(1, len(lrs))
    for ax, lr in zip(axes, lrs):
        drawn = {v: np.stack([_smooth(run.batch_loss[i]) for i in run.select(v, lr)])
                 for v in ("plain", "bn", "noisy") if len(run.select(v, lr))}
        top = 3 * max(np.nanmax(c[:, 0]) for c in drawn.values())
        low = top
        for v, curves in drawn.items():
            steps = np.arange(curves.shape[1])
            gone = ~np.isfinite(curves) | (curves > top)
            diverged = int(gone.any(1).sum())
            shown = np.where(gone, np.nan, curves)
            with warnings.catch_warnings():  # every seed diverged by a step: NaN, not drawn
                warnings.simplefilter("ignore", RuntimeWarning)
                q25, q50, q75 = np.nanpercentile(shown, [25, 50, 75], axis=0)
            label = LABELS[v] + (f" (diverged on {diverged}/{len(curves)} seeds)" if diverged
                                 else "")
            ax.plot(steps, q50, color=COLORS[v], label=label)
            ax.fill_between(steps, q25, q75, color=COLORS[v], alpha=0.12, linewidth=0)
            low = min(low, np.nanmin(q25))
        ax.set_yscale("log")
        ax.set_ylim(0.7 * low, top)
        ax.set_xlabel("step")
        ax.set_title(f"{title} lr {lr:g}")
        ax.legend(fontsize=8)
    axes[0].set_ylabel("mini-batch training loss")
    return fig


def plot_landscape(run: Run, variants=("plain", "bn"), title: str = "",
                   lr: float | None = None) -> "Figure":
    """The shape of Santurkar et al.'s Fig. 4: (a) the range of the loss along the gradient
    (band from min to max over step sizes, mean over seeds), (b) gradient predictiveness,
    (c) effective beta-smoothness, at every probed step (models at ``lr`` only, when given)."""
    from matplotlib.figure import Figure
    fig = Figure(figsize=(12, 3.6), layout="constrained")
    ax, bx, cx = fig.subplots(1, 3)
    steps = sorted(run.probes)
    for v in variants:
        idx = run.select(v, lr)
        lo = np.array([run.probes[t]["lo"][idx].mean() for t in steps])
        hi = np.array([run.probes[t]["hi"][idx].mean() for t in steps])
        ax.fill_between(steps, lo, hi, color=COLORS[v], alpha=0.35, label=LABELS[v])
        for axis, key in ((bx, "pred"), (cx, "beta")):
            vals = np.stack([run.probes[t][key][idx] for t in steps])       # (T, seeds)
            axis.plot(steps, vals.mean(1), color=COLORS[v], label=LABELS[v])
            axis.fill_between(steps, vals.min(1), vals.max(1), color=COLORS[v], alpha=0.15)
    ax.set_title(f"{title} loss along the gradient")
    ax.set_ylabel("loss range (min to max over η)")
    bx.set_title("gradient predictiveness")
    bx.set_ylabel("max over η of ||∇L(w-ηg) - ∇L(w)||")
    cx.set_title("effective β-smoothness")
    cx.set_ylabel("max over η of the same / ||ηg||")
    for axis in (ax, bx, cx):
        axis.set_xlabel("step")
        axis.set_yscale("log")
    ax.legend(fontsize=8)
    return fig


def plot_ics(runs: dict, title: str = "") -> "Figure":
    """cos(G, G') per layer (mean over seeds, seed range shaded), plain vs BN, one panel per
    (net, step): ``runs`` maps a net's name to its Run."""
    from matplotlib.figure import Figure
    panels = [(name, t) for name, r in runs.items() for t in sorted(r.ics)]
    fig = Figure(figsize=(3.2 * len(panels), 3.4), layout="constrained")
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    for ax, (name, t) in zip(axes, panels):
        r = runs[name]
        for v in ("plain", "bn"):
            cos = r.ics[t]["cos"][r.select(v)]
            layers = np.arange(1, cos.shape[1] + 1)
            ax.plot(layers, cos.mean(0), "o-", ms=3, color=COLORS[v], label=LABELS[v])
            ax.fill_between(layers, cos.min(0), cos.max(0), color=COLORS[v], alpha=0.15)
        ax.set_title(f"{name}, step {t}")
        ax.set_xlabel("layer")
    axes[0].set_ylabel("cos(G, G')")
    axes[0].legend(fontsize=8)
    fig.suptitle(title)
    return fig
