"""Planted bugs: one-line mistakes a careless change could make to a claim's kernels, data or
model, injected by monkeypatching (never by editing files).

Used as a pytest plugin (``-p planted_bugs``) in a separate pytest run of a claim module: the
environment variable ``OPTCLAIMS_PLANTED_BUG`` names the bug to plant before the claims import
anything from ``reproductions``; ``tests/test_planted_bugs.py`` compares that run's checks with
a clean run of the same selection. A claim added later is not done until its planted bugs are
here.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pytest


@dataclass(frozen=True)
class Bug:
    claim: str            # claim id
    module: str           # the claim module to run
    select: str           # its -k selection (the tests that exercise the planted piece)
    what: str             # the mistake, in words
    plant: Callable       # plant(monkeypatch): apply the mistake
    expect: str           # the part whose checks test the property the bug breaks
    slow: bool = False    # the selection takes long enough to belong to the slow tier
    kernel: str = ""      # a bug in this hand-written kernel, which `expect` (a precondition
    #                       part of the same claim) checks against autograd, torch or a closed form


# --- adam-nonconvergence ------------------------------------------------------------------------
def amsgrad_without_running_max(mp):
    from reproductions import adam_nonconvergence as an
    mp.setattr(an, "_running_max", lambda v, carry: v)


def theorem1_with_flipped_sign(mp):
    from reproductions import adam_nonconvergence as an
    original = an.theorem1

    def flipped(C=3.0):
        prob = original(C)
        return prob._replace(grads=lambda t0, t1: -prob.grads(t0, t1))
    mp.setattr(an, "theorem1", flipped)


# --- adaptive-overfit ---------------------------------------------------------------------------
def wilson_label_feature_dropped(mp):
    from reproductions import adaptive_overfit as ao
    original = ao.wilson_dataset

    def dropped(*args, **kwargs):
        data = original(*args, **kwargs)
        data.X_train[:, 0] = 0.0
        data.X_test[:, 0] = 0.0
        return data
    mp.setattr(ao, "wilson_dataset", dropped)


def adaptive_methods_run_as_sgd(mp):
    from reproductions import adaptive_overfit as ao
    from reproductions import optimizers as optim
    original = ao._optimizer

    def as_sgd(method, cfg, lipschitz):
        if method in ao.ADAPTIVE:
            return optim.sgd(1.0 / lipschitz[:, None])
        return original(method, cfg, lipschitz)
    mp.setattr(ao, "_optimizer", as_sgd)


def least_squares_residual_sign_flipped(mp):
    """X^T (X w + y) / n: the residual's sign slip, a plausible typo in a hand-written gradient."""
    import torch

    from reproductions import adaptive_overfit as ao
    mp.setattr(ao, "least_squares_gradient", lambda X, y, w: torch.einsum(
        "snd,sn->sd", X, torch.einsum("snd,sd->sn", X, w) + y) / X.shape[1])


# --- depth-acceleration -------------------------------------------------------------------------
def l4_trained_with_the_l2_gradient(mp):
    from reproductions import depth_acceleration as da
    original = da.grad_fn
    mp.setattr(da, "grad_fn", lambda problem, p, dtype: original(problem, 2, dtype))


def standardization_dropped(mp):
    from reproductions import depth_acceleration as da
    mp.setattr(da, "standardize", lambda X, y: (np.asarray(X, float), np.asarray(y, float)))


def deep_factors_frozen(mp):
    """The scalar factors a_2 .. a_N get no gradient (a wrong trainable mask)."""
    from reproductions import depth_acceleration as da
    original = da.factor_grads

    @functools.wraps(original)
    def frozen(P, G_of_w, d, trainable=None):
        grads, w = original(P, G_of_w, d, trainable)
        grads[d:] = 0.0
        return grads, w
    mp.setattr(da, "factor_grads", frozen)


def e2e_rule_with_the_slides_exponent(mp):
    """The general end-to-end rule with [W W^T]^{(j-2)/N} (slide 003's exponent) instead of the
    paper's (j-1)/N."""
    from reproductions import depth_acceleration as da

    def shifted(W, G, N):
        WWt, WtW = W @ W.T, W.T @ W
        return sum(da.matrix_power_psd(WWt, max(j - 2, 0) / N) @ G
                   @ da.matrix_power_psd(WtW, (N - j) / N) for j in range(1, N + 1))
    mp.setattr(da, "e2e_direction_multi", shifted)


# --- batchnorm-landscape ------------------------------------------------------------------------
def identity_normalization(mp):
    from reproductions import models as md
    original = md._normalize
    mp.setattr(md, "_normalize", lambda x, code, noise, stat_rows: x if code != md.VARIANTS[
        "noisy"] else original(x, code, noise, stat_rows))


def noisy_bn_without_noise(mp):
    import torch

    from reproductions import batchnorm_landscape as bl

    def quiet(arch, gens, B, spatial, cfg, device):
        return [(torch.ones(1), torch.zeros(1)) for _ in spatial]
    mp.setattr(bl, "_draw_noise", quiet)


def probe_ignores_the_step_size(mp):
    """The landscape probe moves every model by the smallest step size only."""
    from reproductions import batchnorm_landscape as bl
    original = bl.landscape_probe
    mp.setattr(bl, "landscape_probe", lambda arch, params, grads, x, y, variant, etas, kind="ce":
               original(arch, params, grads, x, y, variant, (etas[0],) * len(etas), kind))


# --- optimizer mechanics, natural gradient, the documents' formulas ----------------------------------
def momentum_without_decay(mp):
    """The heavy-ball buffer forgets nothing: b = b + g instead of mu b + g."""
    from reproductions import optimizers as optim
    original = optim.sgd

    def sgd(lr, momentum=0.0, nesterov=False):
        opt = original(lr, momentum, nesterov)
        if not momentum:
            return opt
        plain = original(lr, momentum=1.0, nesterov=nesterov)
        return optim.Optimizer(opt.init, plain.update)
    mp.setattr(optim, "sgd", sgd)


def clip_value_one_sided(mp):
    from reproductions import stochastic_training as st
    mp.setattr(st, "clip_by_value", lambda grads, c: [g.clamp(max=c) for g in grads])


def fisher_at_the_true_labels(mp):
    """The 'Fisher' computed from the data's labels (the empirical Fisher)."""
    from reproductions import natural_gradient as ng
    original = ng.fisher_comparison

    def comparison(seed, cfg=ng.CONFIG["fisher"]):
        X, y, theta = ng.softmax_problem(seed, **cfg)
        mp.setattr(ng, "fisher", lambda t, X_, K: ng.empirical_fisher(t, X_, y, K))
        return original(seed, cfg)
    mp.setattr(ng, "fisher_comparison", comparison)


def adagrad_sums_to_t_minus_1(mp):
    """The shared AdaGrad with the notes' off-by-one: the current gradient left out of the sum
    (plus eps so that it stays finite)."""
    import torch

    from reproductions import optimizers as optim

    def adagrad(lr, eps=1e-10):
        def init(params):
            return optim.AdagradState(0, torch.zeros_like(params))

        def update(grads, state):
            t = state.t + 1
            return (-optim._at(lr, t) * grads / (state.sum_sq.sqrt() + max(eps, 1e-10)),
                    optim.AdagradState(t, state.sum_sq + grads * grads))
        return optim.Optimizer(init, update)
    mp.setattr(optim, "adagrad", adagrad)


def minibatch_with_replacement(mp):
    """Minibatches drawn with replacement where the protocol draws without."""
    import torch

    from reproductions import stochastic_training as st

    def argsort(self, *args, **kwargs):
        return torch.randint(0, self.shape[-1], self.shape)
    mp.setattr(st.torch.Tensor, "argsort", argsort)


# --- regularization ----------------------------------------------------------------------------------
def ridge_ignores_lambda(mp):
    """The closed form without its lambda I (plain least squares)."""
    from reproductions import regularization as reg
    mp.setattr(reg, "ridge", lambda X, y, lam: np.linalg.solve(X.T @ X, X.T @ y))


def iterates_start_off_zero(mp):
    """The linear-regression runs start from a random point instead of w = 0."""
    import torch

    from reproductions import optimizers as optim
    original = optim.run

    def run(opt, grad_fn, params, steps, *args, **kwargs):
        start = params + 0.1 * torch.randn(params.shape, dtype=params.dtype,
                                           generator=torch.Generator().manual_seed(0))
        return original(opt, grad_fn, start, steps, *args, **kwargs)
    mp.setattr(optim, "run", run)


def bagging_without_bootstrap(mp):
    """Every bagged tree fits the whole training set (bootstrap=False): the trees coincide."""
    import sklearn.ensemble
    mp.setattr(sklearn.ensemble, "BaggingRegressor",
               functools.partial(sklearn.ensemble.BaggingRegressor, bootstrap=False))


def label_noise_not_applied(mp):
    from reproductions import small_net_regularization as sr
    mp.setattr(sr, "noisy_labels", lambda y, fraction, seed: y)


def early_stopping_in_mode_max(mp):
    """The early-stopping rule waits for a new maximum, as if the metric were an accuracy."""
    from reproductions import small_net_regularization as sr
    original = sr.keras_early_stopping
    mp.setattr(sr, "keras_early_stopping",
               lambda values, patience: original(-np.asarray(values), patience))


def mask_probability_without_the_drop_factor(mp):
    """A mask's probability computed as keep^kept, leaving out (1 - keep)^dropped."""
    from reproductions import small_net_regularization as sr
    original = sr.all_masks

    def all_masks(n, keep):
        masks, _ = original(n, keep)
        return masks, keep ** masks.sum(1)
    mp.setattr(sr, "all_masks", all_masks)


# --- normalization layers -------------------------------------------------------------------------
def bn_centers_without_scaling(mp):
    """The scale-invariance BatchNorm subtracts the batch mean but never divides by the std."""
    from reproductions import normalization_layers as nl
    mp.setattr(nl, "batch_norm", lambda z, eps=0.0: z - z.mean(0, keepdim=True))


def init_scale_ignored(mp):
    """The gradient measurements start every net from plain He init, whatever the scale."""
    from reproductions import normalization_layers as nl
    original = nl.scaled_init
    mp.setattr(nl, "scaled_init", lambda arch, seeds, scale: original(arch, seeds, 1.0))


def bad_init_not_applied(mp):
    """The training runs start from He init instead of N(0, 0.01^2)."""
    import math

    from reproductions import normalization_layers as nl
    mp.setitem(nl.CONFIG["train"], "init_std", math.sqrt(2.0 / 64))


def group_norm_unbiased_variance(mp):
    """The hand-written GroupNorm divides by the unbiased (n - 1) standard deviation."""
    import torch

    from reproductions import normalization_layers as nl

    def unbiased(x, groups, eps):
        g = x.reshape(x.shape[0], groups, -1)
        mu = g.mean(-1, keepdim=True)
        return ((g - mu) / torch.sqrt(g.var(-1, keepdim=True) + eps)).reshape(x.shape)
    mp.setattr(nl, "group_norm_reference", unbiased)


def layer_norm_reference_over_the_batch(mp):
    """The hand-written LayerNorm normalizes each feature over the batch (the slides' reading)."""
    import torch

    from reproductions import normalization_layers as nl

    def over_batch(x, eps):
        mu = x.mean(0, keepdim=True)
        return (x - mu) / torch.sqrt((x - mu).pow(2).mean(0, keepdim=True) + eps)
    mp.setattr(nl, "layer_norm_reference", over_batch)


# --- loss-landscapes ------------------------------------------------------------------------------
def filter_normalization_skipped(mp):
    """Filter normalization returns the raw direction (bias directions still zero)."""
    import torch

    from reproductions import loss_landscapes as ll

    def skipped(direction, theta, layers=None):
        keep = lambda k: k.startswith("w") and (layers is None or int(k[1:]) in layers)  # noqa
        return {k: d.double() if keep(k) else torch.zeros_like(d, dtype=torch.float64)
                for k, d in direction.items()}
    mp.setattr(ll, "filter_normalize", skipped)


def rescaling_forgets_the_biases(mp):
    """The rescaled copy multiplies the first layer's weights but not its biases."""
    from reproductions import loss_landscapes as ll
    original = ll.rescaled

    def rescaled(theta, factor=ll.CONFIG["rescale"]):
        out = original(theta, factor)
        out["b0"] = theta["b0"].clone()
        return out
    mp.setattr(ll, "rescaled", rescaled)


def second_difference_sign_flipped(mp):
    """Non-convex points counted where the second difference is positive."""
    from reproductions import loss_landscapes as ll
    original = ll.second_differences
    mp.setattr(ll, "second_differences", lambda curves: -original(curves))


def gradient_replaced_by_noise(mp):
    """The "gradient" direction is a Gaussian draw of the same shape."""
    import torch

    from reproductions import loss_landscapes as ll
    mp.setattr(ll, "full_gradient", lambda theta, X, Y: {
        k: torch.randn(v.shape, generator=torch.Generator().manual_seed(1),
                       dtype=torch.float64) for k, v in theta.items()})


def layer_restriction_ignored(mp):
    """Directions meant for one layer span every layer."""
    from reproductions import loss_landscapes as ll
    original = ll.filter_normalize
    mp.setattr(ll, "filter_normalize", lambda direction, theta, layers=None:
               original(direction, theta))


# --- signal propagation ---------------------------------------------------------------------------
SIGNAL = "claims/test_signal_propagation.py"


def relu_mask_after_the_relu(mp):
    """The Jacobian product's masks taken on the post-activations (identically 1), as the notes'
    eq. (2) prints them."""
    import torch

    from reproductions import signal_propagation as sp

    def jacobian_log_norms(seed, width, depth, weights):
        g = torch.Generator().manual_seed(seed)
        x = torch.randn(width, generator=g, dtype=sp.DT)
        v = torch.randn(width, generator=g, dtype=sp.DT)
        h, v = torch.relu(x), v / v.norm()
        log_norms, active = [0.0], []
        for _ in range(2, depth + 1):
            W = weights(g)
            h = torch.relu(W @ h)
            mask = (h >= 0).to(sp.DT)
            v = mask * (W @ v)
            log_norms.append(float(v.norm().log()))
            active.append(float(mask.mean()))
        return {"log_norms": np.array(log_norms), "active": np.array(active)}
    mp.setattr(sp, "jacobian_log_norms", jacobian_log_norms)


def he_init_without_the_factor_2(mp):
    """He's normal initialization with std sqrt(1/fan_in) instead of sqrt(2/fan_in)."""
    import math

    import torch

    from reproductions import signal_propagation as sp
    original = sp.layer_init

    def layer_init(init, fan_out, fan_in, g):
        if init == "he":
            return math.sqrt(1 / fan_in) * torch.randn(fan_out, fan_in, generator=g)
        return original(init, fan_out, fan_in, g)
    mp.setattr(sp, "layer_init", layer_init)


def residual_skip_dropped(mp):
    """The residual layers lose their identity path: h <- s act(W h + b)."""
    import torch

    from reproductions import signal_propagation as sp

    def last_hidden(Ws, bs, x, activation="relu", scale=None):
        act = sp.ACTIVATIONS[activation]
        h = act(torch.baddbmm(bs[0], x, Ws[0].transpose(-1, -2)))
        for W, b in zip(Ws[1:-1], bs[1:-1]):
            f = act(torch.baddbmm(b, h, W.transpose(-1, -2)))
            h = f if scale is None else scale * f
        return h
    mp.setattr(sp, "last_hidden", last_hidden)


def linear_gradient_untransposed(mp):
    """The deep linear nets' factor gradients use the prefix product untransposed."""
    import torch

    from reproductions import signal_propagation as sp

    def linear_net_losses(W, A):
        depth = W.shape[0]
        prefix = [torch.eye(A.shape[-1], dtype=A.dtype).expand_as(A)]
        for i in range(depth):
            prefix.append(W[i] @ prefix[-1])
        E = prefix[-1] - A
        grads, suffix = [None] * depth, E
        for i in reversed(range(depth)):
            grads[i] = suffix @ prefix[i]
            suffix = W[i].transpose(-1, -2) @ suffix
        return 0.5 * E.pow(2).sum((-1, -2)), torch.stack(grads)
    mp.setattr(sp, "linear_net_losses", linear_net_losses)


# --- end-to-end rule, slides 003's experiments ---------------------------------------------------
def balanced_start_rescaled(mp):
    """The 'balanced' factorization returns W_1 x 1.5 and W_N / 1.5: the same product, unbalanced."""
    from reproductions import end_to_end as ee
    original = ee.balanced_start

    def rescaled(seed, depth, config=ee.CONFIG):
        We, Ws, X, Y = original(seed, depth, config)
        return We, ee.rescaled(Ws, 1.5), X, Y
    mp.setattr(ee, "balanced_start", rescaled)


def loop_integral_along_the_radius(mp):
    """The loop integral dots F with the radius gamma - c instead of the tangent gamma'."""
    import math

    import torch

    from reproductions import end_to_end as ee

    def radial(F, center, a, b, radius, points):
        t = torch.arange(points, dtype=torch.float64) * (2 * math.pi / points)
        offset = radius * (torch.cos(t)[:, None] * a + torch.sin(t)[:, None] * b)
        Fs = torch.vmap(F)(center + offset)
        h = 2 * math.pi / points
        return (float((Fs * offset).sum() * h),
                float((Fs.norm(dim=1) * offset.norm(dim=1)).sum() * h))
    mp.setattr(ee, "loop_integral", radial)


def one_factor_lr_off_by_ten_percent(mp):
    """GD on the factors gives the middle factor 1.1 times the others' learning rate."""
    from reproductions import end_to_end as ee
    original = ee.gd_on_factors

    def off(Ws, X, Y, eta, steps, lr_scales=None):
        scales = [1.0] * len(Ws) if lr_scales is None else list(lr_scales)
        scales[1] *= 1.1
        return original(Ws, X, Y, eta, steps, scales)
    mp.setattr(ee, "gd_on_factors", off)


def emulate_without_the_projection(mp):
    """The single-output rule drops its (N - 1) Pr_w g term."""
    from reproductions import depth_acceleration as da

    def step(w, g, lr, N):
        n2 = (w * w).sum(0, keepdim=True)
        return w - lr * n2 ** (1 - 1 / N) * g
    mp.setattr(da, "e2e_step_single", step)


def keras_adadelta_ignores_its_lr(mp):
    """The Keras-constant AdaDelta is built with lr 1 whatever lr it is given."""
    from reproductions import slides003_experiments as s3
    original = s3.keras_optimizer
    mp.setattr(s3, "keras_optimizer", lambda method, lr: original(
        method, 1.0 if method == "adadelta" else lr))


def chain_scalars_get_no_gradient(mp):
    """The deep chains' scalar factors get zero gradient (they stay at their N(0, 0.01^2) draw)."""
    from reproductions import depth_acceleration as da
    original = da.factor_grads

    def frozen(P, G_of_w, d, trainable=None):
        grads, w = original(P, G_of_w, d, trainable)
        grads = grads.clone()
        grads[d:] = 0
        return grads, w
    mp.setattr(da, "factor_grads", frozen)


# --- initialization and conditioning -----------------------------------------------------------


def glorot_std_without_the_2(mp):
    """Glorot's standard deviation written sqrt(1 / (fan_in + fan_out))."""
    import math

    from reproductions import conditioning_and_init as ci
    mp.setattr(ci, "glorot_std", lambda fan_in, fan_out: math.sqrt(1.0 / (fan_in + fan_out)))


def correlation_halved(mp):
    """The correlated features drawn with half the requested correlation."""
    from reproductions import conditioning_and_init as ci
    original = ci.correlated_features
    mp.setattr(ci, "correlated_features", lambda seed, rho, n=512: original(seed, rho / 2, n))


def closed_form_with_a_ridge(mp):
    """The closed form (X^T X)^-1 X^T y computed with a ridge term lambda = 1 added."""
    from reproductions import conditioning_and_init as ci
    mp.setattr(ci, "closed_form",
               lambda X, y: np.linalg.solve(X.T @ X + np.eye(X.shape[1]), X.T @ y))


# --- the batch-normalization formula -----------------------------------------------------------


def bn_statistics_over_the_examples_axis(mp):
    """The BN formula's mean and variance taken over each example's coordinates (dim 1)."""
    import torch

    from reproductions import batchnorm_formula as bf

    def normalize(y, eps=0.0):
        mean = y.mean(1, keepdim=True)
        return (y - mean) / torch.sqrt(((y - mean) ** 2).mean(1, keepdim=True) + eps)
    mp.setattr(bf, "normalize", normalize)


def bn_formula_with_epsilon(mp):
    """The 'printed' BN formula quietly gets torch's eps = 1e-5."""
    from reproductions import batchnorm_formula as bf
    original = bf.normalize
    mp.setattr(bf, "normalize", lambda y, eps=1e-5: original(y, eps))


def bn_statistics_not_detached(mp):
    """The detached BN keeps the statistics in the gradient after all."""
    from reproductions import batchnorm_formula as bf
    mp.setattr(bf, "normalize_detached", bf.normalize)


# --- local-model-steps -------------------------------------------------------------------------


def linear_model_minimizer_times_beta(mp):
    """The penalized linearization's minimizer written -beta g instead of -g / beta."""
    from reproductions import local_models as lm
    mp.setattr(lm, "linear_model_minimizer", lambda g, beta: -beta * g)


def newton_step_without_the_inverse(mp):
    """Newton's step multiplies the gradient by the Hessian instead of solving with it."""
    from reproductions import local_models as lm
    mp.setattr(lm, "newton_step", lambda A, b, x, eta: x - eta * A @ lm.gradient(A, b, x))


def bfgs_update_without_the_transpose(mp):
    """BFGS's update (I - rho s y^T) H (I - rho s y^T) + rho s s^T: the right factor not
    transposed."""
    from reproductions import local_models as lm

    def update(H, s, y):
        rho = 1.0 / (y @ s)
        V = np.eye(len(s)) - rho * np.outer(s, y)
        return V @ H @ V + rho * np.outer(s, s)
    mp.setattr(lm, "bfgs_update", update)


# --- the adaptive methods' definitions ------------------------------------------------------------


def logistic_gradient_sign_flipped(mp):
    """The batched logistic-loss gradient with its sign flipped (ascent)."""
    from reproductions import adaptive_definitions as ad
    original = ad.logistic_gradient
    mp.setattr(ad, "logistic_gradient", lambda w, x, y: -original(w, x, y))


def nadam_without_the_look_ahead(mp):
    """NAdam's first moment without Nesterov's look-ahead: Adam's m_t / (1 - b1^t)."""
    from reproductions import adaptive_definitions as ad

    def nadam(lr, b1=0.9, b2=0.999, eps=1e-8):
        def step(g, state, t):
            m, v = (0 * g, 0 * g) if state is None else state
            m, v = b1 * m + (1 - b1) * g, b2 * v + (1 - b2) * g * g
            return -lr * (m / (1 - b1 ** t)) / ((v / (1 - b2 ** t)).sqrt() + eps), (m, v)
        return step
    mp.setattr(ad, "nadam_constant_momentum", nadam)


def adagrad_scale_unrooted(mp):
    """AdaGrad's scale taken as diag(G)^-1, without the root."""
    from reproductions import adaptive_definitions as ad
    original = ad.adagrad_scales

    def scales(grads):
        out = original(grads)
        out["inverse of the diagonal"] = out["inverse of the diagonal"] ** 2
        return out
    mp.setattr(ad, "adagrad_scales", scales)


ADAPTIVE_DEFINITIONS = "claims/test_adaptive_definitions.py"


# --- definitions stated in passing ----------------------------------------------------------------


def ridge_gradient_without_the_2_on_lambda(mp):
    """The corrected ridge gradient with lambda theta instead of 2 lambda theta."""
    from reproductions import document_definitions as dd
    mp.setattr(dd, "ridge_gradient",
               lambda X, y, theta, lam: -2 * X.T @ y + 2 * X.T @ X @ theta + lam * theta)


def js_mixture_of_logs(mp):
    """AugMix's mixture M taken as the geometric mean of the posteriors."""
    from reproductions import document_definitions as dd

    def jensen_shannon(probabilities):
        log_m = probabilities.log().mean(0)
        return (probabilities * (probabilities.log() - log_m)).sum(-1).mean()
    mp.setattr(dd, "jensen_shannon", jensen_shannon)


def min_norm_without_the_gram_inverse(mp):
    """The minimum-norm interpolant computed as X^T y, without (X X^T)^-1."""
    from reproductions import document_definitions as dd
    mp.setattr(dd, "min_norm_interpolant", lambda X, Y: Y @ X)


DEFINITIONS = "claims/test_document_definitions.py"


# --- the slides' practical advice -----------------------------------------------------------------


def dip_gradient_over_the_width(mp):
    """The dip's derivative divided by its width instead of the width squared."""
    import torch

    from reproductions import training_practice as tp

    def gradient(x, dip=tp.DIP):
        bump = torch.exp(-(x - dip["at"]) ** 2 / (2 * dip["width"] ** 2))
        return x + dip["depth"] * (x - dip["at"]) / dip["width"] * bump
    mp.setattr(tp, "dip_gradient", gradient)


def plateau_rule_one_epoch_early(mp):
    """The written-out ReduceLROnPlateau rule acting after ``patience`` stalled epochs."""
    from reproductions import training_practice as tp
    original = tp.plateau_rule
    mp.setattr(tp, "plateau_rule", lambda lr, epochs=40, factor=0.2, patience=5, min_lr=1e-3:
               original(lr, epochs, factor, patience - 1, min_lr))


def weight_decay_penalty_without_the_half(mp):
    """The penalized step's penalty taken as lambda ||w||^2 instead of lambda / 2 ||w||^2."""
    from reproductions import training_practice as tp
    original = tp.sgd_weight_decay_step
    mp.setattr(tp, "sgd_weight_decay_step", lambda seed, weight_decay, lr=0.1, dim=10: (
        original(seed, weight_decay, lr, dim)[0],
        original(seed, 2 * weight_decay, lr, dim)[1]))


PRACTICE = "claims/test_training_practice.py"


def weight_standardization_unbiased(mp):
    """Weight Standardization dividing by the unbiased standard deviation (1 / (n - 1))."""
    from reproductions import normalization_layers as nl

    def standardize(W):
        rows = W.reshape(W.shape[0], -1)
        centred = rows - rows.mean(1, keepdim=True)
        return (centred / rows.std(1, keepdim=True)).reshape(W.shape)
    mp.setattr(nl, "weight_standardization", standardize)

# --- model fit and dropout --------------------------------------------------------------------
MODEL_FIT = "claims/test_model_fit.py"


def polyfit_without_the_constant(mp):
    """The polynomial fit's design matrix missing its constant column (the fit through 0)."""
    from reproductions import model_fit as mf
    original = mf.polynomial_least_squares

    def through_zero(x, y, degree, ridge=0.0):
        if ridge:
            return original(x, y, degree, ridge)
        design = np.vander(x, degree + 1, increasing=True)[:, 1:]
        return np.concatenate([[0.0], np.linalg.lstsq(design, y, rcond=None)[0]])
    mp.setattr(mf, "polynomial_least_squares", through_zero)


def bias_and_variance_swapped(mp):
    """polynomial_fits returning the squared bias under the variance's name and back."""
    from reproductions import model_fit as mf
    original = mf.polynomial_fits

    def swapped(*args, **kwargs):
        r = original(*args, **kwargs)
        return dict(r, bias2=r["variance"], variance=r["bias2"])
    mp.setattr(mf, "polynomial_fits", swapped)


def ridge_penalty_squared(mp):
    """The ridge rows scaled by the penalty, not its square root (lambda^2 ||coef||^2)."""
    from reproductions import model_fit as mf
    original = mf.polynomial_least_squares
    mp.setattr(mf, "polynomial_least_squares",
               lambda x, y, degree, ridge=0.0: original(x, y, degree, ridge ** 2))


def fit_ignores_its_variant(mp):
    """fit() training every configuration without its variant (no weight decay, no dropout)."""
    from reproductions import model_fit as mf
    original = mf.fit
    mp.setattr(mf, "fit", lambda *args, variant=None, **kwargs: original(*args, **kwargs))


def block_means_over_the_wrong_axes(mp):
    """The 2x2 block means taken over a row pair and a column group of 4 (wrong reshape)."""
    from reproductions import model_fit as mf

    def wrong(X):
        M, n, _ = X.shape
        return X.reshape(M, n, 2, 4, 4, 2).mean((2, 5)).reshape(M, n, 16)
    mp.setattr(mf, "block_means", wrong)


def random_labels_are_the_true_ones(mp):
    """memorization() fed the true labels under the random labels' name."""
    from reproductions import model_fit as mf
    original_split = mf.split
    mp.setattr(mf, "random_labels", lambda n, seed: original_split([seed], n)[1][0])


def coadaptation_dropout_net_without_dropout(mp):
    """coadaptation() training its 'dropout' net with keep 1 (no dropout)."""
    from reproductions import model_fit as mf
    mp.setitem(mf.CONFIG, "keep", 1.0)


# --- slides 003 additions ----------------------------------------------------------------------
def truncated_normal_unit_std(mp):
    """The truncated-normal sampler ignoring its std (every weight std ~0.88)."""
    from reproductions import slides003_experiments as s3
    original = s3.truncated_normal
    mp.setattr(s3, "truncated_normal", lambda g, shape, std: original(g, shape, 1.0))


def flops_of_the_linear_model_only(mp):
    """gradient_step_flops counting a depth-1 model whatever the depth asked."""
    from reproductions import slides003_experiments as s3
    original = s3.gradient_step_flops
    mp.setattr(s3, "gradient_step_flops",
               lambda rows, features, depth, width=1: original(rows, features, 1, width))


def product_net_is_the_plain_net(mp):
    """mlp_init ignoring ``product``: the product runs train the plain net."""
    from reproductions import slides003_experiments as s3
    original = s3.mlp_init
    mp.setattr(s3, "mlp_init", lambda seed, product, cfg=s3.DIGITS: original(seed, False, cfg))


# --- adadelta units, exploding weights -------------------------------------------------------
def update_accumulator_with_gradient_units(mp):
    """in_units giving Adadelta's E[d^2] the gradient's units (c^-2) instead of c^2."""
    from reproductions import adaptive_definitions as ad
    mp.setitem(ad.UNIT_POWERS, "mean_sq_delta", -2)


def stacked_nets_ignore_the_gain(mp):
    """stacked_nets drawing every net with the configured gain 2, whatever gain is asked."""
    from reproductions import stochastic_training as st
    original = st.stacked_nets
    mp.setattr(st, "stacked_nets", lambda seeds, cfg, d_in, d_out: original(
        seeds, dict(cfg, gain=st.CONFIG["clip"]["gain"]), d_in, d_out))



# --- batch size --------------------------------------------------------------------------------
BATCH = "claims/test_batch_size.py"


def every_batch_is_the_full_batch(mp):
    """training_losses training with the whole training set whatever batch size is asked."""
    from reproductions import batch_size as bs
    original = bs.training_losses
    mp.setattr(bs, "training_losses", lambda seeds, optimizer, batch, epochs, cfg=bs.CONFIG:
               original(seeds, optimizer, cfg["n_train"], epochs, cfg))



def rescaling_keeps_the_second_layer(mp):
    """Dinh et al.'s rescaling scaling the first layer without dividing the second."""
    from reproductions import batch_size as bs
    mp.setattr(bs, "rescaled", lambda params, a: {**params, "w1": a * params["w1"],
                                                  "b1": a * params["b1"]})


def power_iteration_stops_after_two(mp):
    """The Hessian's power iteration stopped after 2 iterations."""
    from reproductions import batch_size as bs
    original = bs.top_hessian_eigenvalue
    mp.setattr(bs, "top_hessian_eigenvalue",
               lambda params, X, Y, iterations=50, seed=0: original(params, X, Y, 2, seed))



def instance_norm_is_group_norm(mp):
    """norm_layer('instance') building GroupNorm with the configured 2 groups."""
    from reproductions import normalization_layers as nl
    original = nl.norm_layer
    mp.setattr(nl, "norm_layer", lambda kind, channels, groups: original(
        "group" if kind == "instance" else kind, channels, groups))


def standardized_conv_without_standardizing(mp):
    """StandardizedConv convolving with its raw filters."""
    from reproductions import normalization_layers as nl
    mp.setattr(nl.StandardizedConv, "forward",
               lambda self, x: self._conv_forward(x, self.weight, self.bias))


LOCAL = "claims/test_local_models.py"
BN_FORMULA = "claims/test_batchnorm_formula.py"
CONDITIONING = "claims/test_conditioning_and_init.py"
ADAM = "claims/test_adam_nonconvergence.py"
ADAPTIVE = "claims/test_adaptive_overfit.py"
DEPTH = "claims/test_depth_acceleration.py"
BN = "claims/test_batchnorm_landscape.py"
MECHANICS = "claims/test_optimizer_mechanics.py"
NATURAL = "claims/test_natural_gradient.py"
FORMULAS = "claims/test_document_formulas.py"
LINEAR = "claims/test_linear_regularization.py"
NETWORK = "claims/test_network_regularization.py"
NORM = "claims/test_normalization_layers.py"
LANDSCAPES = "claims/test_loss_landscapes.py"
FN_SELECT = "rescaling_two_layers or filter_normalized_slices or raw_slices"
E2E = "claims/test_end_to_end_rule.py"
SLIDES003 = "claims/test_slides003_experiments.py"
ADAM_SELECT = "started_at_zero or section5 or amsgrad_converges or sgd_and_adagrad"
BUGS = {
    "momentum-without-decay": Bug(
        "momentum-effective-step", MECHANICS, "momentum_step or without_momentum", "the "
        "heavy-ball buffer never decays (b = b + g)", momentum_without_decay,
        "amplified-by-1-over-1-minus-beta"),
    "clip-value-one-sided": Bug(
        "gradient-clipping", MECHANICS, "semantics", "clipping by value caps only the "
        "positive side", clip_value_one_sided, "clipping-semantics",
        kernel="stochastic_training.clip_by_value"),
    "minibatch-with-replacement": Bug(
        "minibatch-gradient-variance", MECHANICS, "finite_population", "minibatches drawn "
        "with replacement", minibatch_with_replacement, "variance-formula"),
    "fisher-at-the-true-labels": Bug(
        "fisher-label-free", NATURAL, "fisher", "the Fisher computed at the data's labels",
        fisher_at_the_true_labels, "fisher-equals-hessian-label-free"),
    "adagrad-sums-to-t-minus-1": Bug(
        "notes-adagrad-sum", FORMULAS, "adagrad", "the shared AdaGrad leaves the current "
        "gradient out of its sum", adagrad_sums_to_t_minus_1, "notes-adagrad-sum:reference-agrees",
        kernel="optimizers.adagrad"),
    "ridge-ignores-lambda": Bug(
        "ridge-closed-form", LINEAR, "closed_form or lambda_limits", "the ridge closed form "
        "without its lambda I", ridge_ignores_lambda, "closed-form-is-the-minimizer"),
    "iterates-start-off-zero": Bug(
        "min-norm-implicit-bias", LINEAR, "minimum_norm_interpolator", "GD, SGD and Adam start "
        "from a random point instead of zero", iterates_start_off_zero, "gd-sgd-at-min-norm"),
    "bagging-without-bootstrap": Bug(
        "bagging-halves-variance", LINEAR, "bagging", "the bagged trees all fit the whole "
        "training set (no bootstrap)", bagging_without_bootstrap, "bagged-variance-lower"),
    "label-noise-not-applied": Bug(
        "early-stopping-label-noise", NETWORK, "best_validation_checkpoint", "the training and "
        "validation labels are left clean", label_noise_not_applied,
        "best-checkpoint-beats-final"),
    "early-stopping-in-mode-max": Bug(
        "slides-keras-early-stopping-loss", NETWORK, "monitoring", "the early-stopping rule "
        "waits for a new maximum of a loss", early_stopping_in_mode_max,
        "slides-keras-early-stopping-loss:document-differs"),
    "mask-probability-without-the-drop-factor": Bug(
        "dropout-weight-scaling", NETWORK, "weight_scaling", "a dropout mask's probability "
        "leaves out the (1 - keep) factor of the dropped units",
        mask_probability_without_the_drop_factor, "exact-for-a-linear-unit"),
    "amsgrad-without-running-max": Bug(
        "adam-nonconvergence", ADAM, ADAM_SELECT, "AMSGrad's running max of v_t left out, so "
        "AMSGrad is Adam", amsgrad_without_running_max, "amsgrad-converges"),
    "theorem1-with-flipped-sign": Bug(
        "adam-nonconvergence", ADAM, ADAM_SELECT, "Theorem 1's gradients with the wrong sign "
        "(C x once every 3 steps becomes -C x)", theorem1_with_flipped_sign,
        "adam-fails-theorem1"),
    "wilson-label-feature-dropped": Bug(
        "adaptive-overfit", ADAPTIVE, "predict_plus_one or classify_every or minimum_norm",
        "the data generator leaves out the label feature", wilson_label_feature_dropped,
        "gd-sgd-generalize"),
    "adaptive-methods-run-as-sgd": Bug(
        "adaptive-overfit", ADAPTIVE, "predict_plus_one or classify_every or sign_of",
        "the adaptive methods' optimizer is plain gradient descent", adaptive_methods_run_as_sgd,
        "adaptive-predict-plus-one"),
    "least-squares-residual-sign-flipped": Bug(
        "adaptive-overfit", ADAPTIVE, "matches_torch_optim", "the batched least-squares "
        "gradient adds y instead of subtracting it", least_squares_residual_sign_flipped,
        "kernel-parity", kernel="adaptive_overfit.least_squares_gradient"),
    "l4-trained-with-the-l2-gradient": Bug(
        "depth-acceleration", DEPTH, "depth_2_reaches_lower", "the l4 runs step with the l2 "
        "gradient", l4_trained_with_the_l2_gradient, "l4-depth2", slow=True),
    "standardization-dropped": Bug(
        "depth-acceleration", DEPTH, "depth_2_reaches_lower or stability_edge", "the features "
        "and target are not z-scored", standardization_dropped, "l4-depth2", slow=True),
    "deep-factors-frozen": Bug(
        "depth-acceleration", DEPTH, "depth_2_reaches_lower", "the deep nets' scalar factors "
        "get no gradient", deep_factors_frozen, "l4-depth2", slow=True),
    "e2e-rule-with-the-slides-exponent": Bug(
        "depth-acceleration", DEPTH, "general_end_to_end", "the general end-to-end rule with "
        "slide 003's exponent (j-2)/N", e2e_rule_with_the_slides_exponent, "e2e-rule"),
    "identity-normalization": Bug(
        "batchnorm-landscape", BN, "smooths_the_mlp_landscape",
        "the BN layer returns its input unnormalized", identity_normalization,
        "smooths-landscape-mlp"),
    "probe-ignores-the-step-size": Bug(
        "batchnorm-landscape", BN, "smooths_the_mlp_landscape", "the landscape probe steps by "
        "the smallest step size at every step size", probe_ignores_the_step_size,
        "smooths-landscape-mlp"),
    "noisy-bn-without-noise": Bug(
        "batchnorm-landscape", BN, "noisy_bn_activations and mlp", "noisy BN draws no noise",
        noisy_bn_without_noise, "noisy-bn-trains", slow=True),
    "bn-centers-without-scaling": Bug(
        "bn-scale-invariance", NORM, "weight_scale or one_over_a", "the scale-invariance "
        "BatchNorm centres the batch but does not divide by its std", bn_centers_without_scaling,
        "bn-output-invariant"),
    "init-scale-ignored": Bug(
        "batchnorm-vanishing-exploding", NORM, "init_scale or sixth", "the gradient "
        "measurements ignore the init scale (He init at every s)", init_scale_ignored,
        "plain-signal-vanishes-explodes"),
    "bad-init-not-applied": Bug(
        "batchnorm-vanishing-exploding", NORM, "badly_scaled", "the training runs start from He "
        "init instead of N(0, 0.01^2)", bad_init_not_applied, "plain-stuck-at-bad-init"),
    "group-norm-unbiased-variance": Bug(
        "group-norm-special-cases", NORM, "group_norm_with or hand_written", "the hand-written "
        "GroupNorm uses the unbiased variance", group_norm_unbiased_variance,
        "torch-matches-reference",
        kernel="normalization_layers.group_norm_reference"),
    "layer-norm-reference-over-the-batch": Bug(
        "slides-layernorm-per-feature", NORM, "normalize_each_feature or each_sample", "the "
        "hand-written LayerNorm normalizes each feature over the batch",
        layer_norm_reference_over_the_batch, "slides-layernorm-per-feature:reference-agrees",
        kernel="normalization_layers.layer_norm_reference"),
    "filter-normalization-skipped": Bug(
        "filter-normalization-invariance", LANDSCAPES, FN_SELECT, "filter normalization "
        "returns the raw random direction", filter_normalization_skipped,
        "filter-normalized-slices-unchanged"),
    "rescaling-forgets-the-biases": Bug(
        "filter-normalization-invariance", LANDSCAPES, FN_SELECT, "the rescaled net keeps the "
        "first layer's biases while its weights are multiplied", rescaling_forgets_the_biases,
        "rescaling-keeps-the-function"),
    "second-difference-sign-flipped": Bug(
        "interpolation-monotone-not-convex", LANDSCAPES, "convex_model or not_convex_near",
        "non-convex points counted where the second difference is positive",
        second_difference_sign_flipped, "convex-model-convex-line"),
    "gradient-replaced-by-noise": Bug(
        "gradient-direction-complicated", LANDSCAPES, "much_sharper", "the gradient "
        "direction is a Gaussian draw", gradient_replaced_by_noise,
        "gradient-direction-distinct"),
    "layer-restriction-ignored": Bug(
        "layer-wise-slices", LANDSCAPES, "single_layer_directions", "single-layer directions "
        "span every layer", layer_restriction_ignored, "single-layer-directions-differ"),
    "relu-mask-after-the-relu": Bug(
        "vanishing-gradient-rate", SIGNAL, "halve_the_squared_norm", "the Jacobian product's "
        "masks are taken after the ReLU (all ones)", relu_mask_after_the_relu,
        "orthogonal-relu-vanishes"),
    "he-init-without-the-factor-2": Bug(
        "bad-init-stuck-at-chance", SIGNAL, "he_and_orthogonal", "He's initialization with "
        "std sqrt(1/fan_in)", he_init_without_the_factor_2, "he-orthogonal-train"),
    "residual-skip-dropped": Bug(
        "residual-connections-fix-degradation", SIGNAL, "residual_connections_train",
        "the residual layers lose their identity path", residual_skip_dropped,
        "residual-trains-deep"),
    "linear-gradient-untransposed": Bug(
        "orthogonal-init-depth-independent", SIGNAL, "linear_net_gradients or "
        "about_the_same_time", "the deep linear nets' gradients use the prefix product "
        "untransposed", linear_gradient_untransposed, "linear-gradients-exact",
        kernel="signal_propagation.linear_net_losses"),
    "balanced-start-rescaled": Bug(
        "e2e-rule-first-order", E2E, "second_order_in_eta", "the balanced factorization "
        "scales W_1 by 1.5 and W_N by 1/1.5 (same product, unbalanced)",
        balanced_start_rescaled, "error-second-order"),
    "loop-integral-along-the-radius": Bug(
        "not-attainable-by-regularization", E2E, "gradient_field", "the loop integral dots F "
        "with the radius instead of the tangent", loop_integral_along_the_radius,
        "n1-is-a-gradient"),
    "one-factor-lr-off-by-ten-percent": Bug(
        "balancedness-preserved", E2E, "drift_halves", "GD on the factors gives the middle "
        "factor 1.1x the learning rate", one_factor_lr_off_by_ten_percent,
        "drift-halves-with-eta"),
    "emulate-without-the-projection": Bug(
        "slides003-exp1-rule-tracks-training", SLIDES003, "restarted_after_the_plateau",
        "the emulated rule drops its (N - 1) Pr_w g term", emulate_without_the_projection,
        "restart-tracks"),
    "keras-adadelta-ignores-its-lr": Bug(
        "slides003-adadelta-lr", SLIDES003, "slides_lr_hardly_moves", "the Keras-constant "
        "AdaDelta runs at lr 1 whatever lr it is given", keras_adadelta_ignores_its_lr,
        "slides003-adadelta-lr:document-differs"),
    "chain-scalars-get-no-gradient": Bug(
        "slides003-exp3-depth-vs-adaptive", SLIDES003, "depth_3_gd_ends_below_adagrad",
        "the deep chains' scalar factors get zero gradient", chain_scalars_get_no_gradient,
        "gd3-beats-adagrad"),
    "linear-model-minimizer-times-beta": Bug(
        "local-model-steps", LOCAL, "minus_g_over_beta", "the penalized linearization's "
        "minimizer written -beta g", linear_model_minimizer_times_beta,
        "linearization-minimizer"),
    "newton-step-without-the-inverse": Bug(
        "local-model-steps", LOCAL, "newton_step", "Newton's step multiplies the gradient by "
        "the Hessian instead of solving with it", newton_step_without_the_inverse,
        "newton-lands"),
    "bfgs-update-without-the-transpose": Bug(
        "local-model-steps", LOCAL, "bfgs or kernels", "BFGS's update with its right factor "
        "not transposed", bfgs_update_without_the_transpose, "kernels-exact",
        kernel="local_models.bfgs_update"),
    "bn-statistics-over-the-examples-axis": Bug(
        "bn-standardizes-each-coordinate", BN_FORMULA, "each_coordinate or torch",
        "the BN formula's statistics taken over each example's coordinates",
        bn_statistics_over_the_examples_axis, "matches-torch",
        kernel="batchnorm_formula.normalize"),
    "bn-formula-with-epsilon": Bug(
        "bn-formula-without-epsilon", BN_FORMULA, "nan_without_epsilon", "the printed BN "
        "formula run with eps = 1e-5", bn_formula_with_epsilon,
        "bn-formula-without-epsilon:document-differs"),
    "bn-statistics-not-detached": Bug(
        "bn-backprop-through-statistics", BN_FORMULA, "drifts", "the detached BN keeps its "
        "statistics in the gradient", bn_statistics_not_detached, "detached-statistics-drift"),
    "glorot-std-without-the-2": Bug(
        "glorot-variance", CONDITIONING, "xavier_normal", "Glorot's standard deviation "
        "without its factor 2", glorot_std_without_the_2, "formula-is-torchs"),
    "correlation-halved": Bug(
        "correlated-features-ill-conditioned", CONDITIONING, "condition_number",
        "the correlated features drawn with half the correlation", correlation_halved,
        "condition-number-closed-form"),
    "closed-form-with-a-ridge": Bug(
        "closed-form-needs-n-above-p", CONDITIONING, "closed_form", "the closed form computed "
        "with a ridge term", closed_form_with_a_ridge, "unique-closed-form"),
    "logistic-gradient-sign-flipped": Bug(
        "adagrad-per-coordinate-rates", ADAPTIVE_DEFINITIONS, "batched_adagrad", "the batched "
        "logistic-loss gradient with its sign flipped", logistic_gradient_sign_flipped,
        "batched-adagrad-is-torchs", kernel="adaptive_definitions.logistic_gradient"),
    "nadam-without-the-look-ahead": Bug(
        "notes-adam-not-nesterov", ADAPTIVE_DEFINITIONS, "nadam", "NAdam without Nesterov's "
        "look-ahead (Adam's corrected m_t)", nadam_without_the_look_ahead,
        "notes-adam-not-nesterov:reference-agrees"),
    "adagrad-scale-unrooted": Bug(
        "slides-adagrad-diagonal-of-inverse", ADAPTIVE_DEFINITIONS, "diagonal", "AdaGrad's "
        "scale taken as diag(G)^-1, without the root", adagrad_scale_unrooted,
        "slides-adagrad-diagonal-of-inverse:reference-agrees"),
    "ridge-gradient-without-the-2-on-lambda": Bug(
        "slides-ridge-derivation", DEFINITIONS, "ridge", "the corrected ridge gradient with "
        "lambda theta for 2 lambda theta", ridge_gradient_without_the_2_on_lambda,
        "slides-ridge-derivation:reference-agrees",
        kernel="document_definitions.ridge_gradient"),
    "js-mixture-of-logs": Bug(
        "slides-augmix-kl-on-logits", DEFINITIONS, "posteriors", "AugMix's mixture taken as "
        "the geometric mean of the posteriors", js_mixture_of_logs,
        "slides-augmix-kl-on-logits:reference-agrees",
        kernel="document_definitions.jensen_shannon"),
    "min-norm-without-the-gram-inverse": Bug(
        "min-norm-expected-error", DEFINITIONS, "pseudo_inverse", "the minimum-norm "
        "interpolant as X^T y, without (X X^T)^-1", min_norm_without_the_gram_inverse,
        "formula-is-pinv"),
    "dip-gradient-over-the-width": Bug(
        "small-step-stuck-in-local-minimum", PRACTICE, "hand_written or low_step", "the dip's "
        "derivative divided by its width, not its square", dip_gradient_over_the_width,
        "hand-written-gradient", kernel="training_practice.dip_gradient"),
    "plateau-rule-one-epoch-early": Bug(
        "reduce-lr-on-plateau-floor", PRACTICE, "written_out", "the written-out callback rule "
        "acting one epoch early", plateau_rule_one_epoch_early, "rule-written-out"),
    "weight-decay-penalty-without-the-half": Bug(
        "weight-decay-regularizes", PRACTICE, "penalty_gradient", "the penalty as lambda "
        "||w||^2, not lambda / 2 ||w||^2", weight_decay_penalty_without_the_half,
        "decay-is-the-penalty"),
    "weight-standardization-unbiased": Bug(
        "instance-norm-and-weight-standardization", NORM, "weight_standardization",
        "Weight Standardization with the unbiased standard deviation",
        weight_standardization_unbiased, "ws-is-layer-norm-over-the-fan-in",
        kernel="normalization_layers.weight_standardization"),
    "polyfit-without-the-constant": Bug(
        "fit-diagnosis", MODEL_FIT, "numpys or underfitting_has or overfitting_has",
        "the polynomial design without its constant column", polyfit_without_the_constant,
        "least-squares-kernel", kernel="model_fit.polynomial_least_squares"),
    "bias-and-variance-swapped": Bug(
        "fit-diagnosis", MODEL_FIT, "bias_and_variance", "squared bias and variance swapped",
        bias_and_variance_swapped, "bias-and-variance-agree"),
    "ridge-penalty-squared": Bug(
        "overfitting-remedies", MODEL_FIT, "ridge", "the ridge penalty squared",
        ridge_penalty_squared, "ridge-kernel", kernel="model_fit.polynomial_least_squares"),
    "fit-ignores-its-variant": Bug(
        "underfitting-remedies", MODEL_FIT, "weight_decay", "the MLP runs dropping their "
        "variant (weight decay)", fit_ignores_its_variant, "weight-decay-is-no-remedy"),
    "block-means-over-the-wrong-axes": Bug(
        "underfitting-remedies", MODEL_FIT, "more_features or block_means", "the 2x2 block "
        "means over the wrong pixels", block_means_over_the_wrong_axes, "underfitting-kernels",
        kernel="model_fit.block_means"),
    "random-labels-are-the-true-ones": Bug(
        "dropout-hinders-memorization", MODEL_FIT, "random_labels or more_slowly",
        "the 'random' labels are the true labels", random_labels_are_the_true_ones,
        "random-labels-held-back"),
    "coadaptation-dropout-net-without-dropout": Bug(
        "dropout-features-robust", MODEL_FIT, "loses_less", "the dropout net trained with keep "
        "1 (no dropout)", coadaptation_dropout_net_without_dropout, "dropout-net-loses-less"),
    "truncated-normal-unit-std": Bug(
        "slides003-exp4-init-scale", SLIDES003, "initial_pre_activations or initial_map",
        "the truncated-normal sampler ignoring its std", truncated_normal_unit_std,
        "slides003-exp4-init-scale:reference-agrees",
        kernel="slides003_experiments.truncated_normal"),
    "flops-of-the-linear-model-only": Bug(
        "slides003-depth-price", SLIDES003, "three_over_d", "the flop count of a depth-1 model "
        "whatever the depth", flops_of_the_linear_model_only, "chain-costs-little"),
    "product-net-is-the-plain-net": Bug(
        "slides003-depth-effect-mixed", SLIDES003, "ahead_at", "the product runs training "
        "the plain net", product_net_is_the_plain_net, "accelerated-at-small-lrs"),
    "update-accumulator-with-gradient-units": Bug(
        "adadelta-units", ADAPTIVE_DEFINITIONS, "scales_with_the_units", "Adadelta's E[d^2] "
        "written in the gradient's units", update_accumulator_with_gradient_units,
        "adadelta-formula-has-units"),
    "stacked-nets-ignore-the-gain": Bug(
        "exploding-weights-huge-steps", MECHANICS, "he_net or as_large", "every net drawn at "
        "gain 2 whatever gain is asked", stacked_nets_ignore_the_gain,
        "he-net-keeps-the-weights"),    "every-batch-is-the-full-batch": Bug(
        "small-batches-cost-less", BATCH, "same_examples or same_updates", "every run trained "
        "with the full batch", every_batch_is_the_full_batch, "lower-loss-per-example"),    "rescaling-keeps-the-second-layer": Bug(
        "sharp-minima-generalize-worse", BATCH, "same_function", "the rescaling without "
        "dividing the second layer", rescaling_keeps_the_second_layer,
        "sharpness-measure-responds"),
    "power-iteration-stops-after-two": Bug(
        "sharp-minima-generalize-worse", BATCH, "explicit_hessians", "two power iterations",
        power_iteration_stops_after_two, "power-iteration-is-the-hessians",
        kernel="batch_size.top_hessian_eigenvalue"),    "instance-norm-is-group-norm": Bug(
        "normalizations-against-vanishing", NORM, "definitions or restore", "InstanceNorm "
        "built as GroupNorm with 2 groups", instance_norm_is_group_norm,
        "layers-are-the-definitions", kernel="normalization_layers.norm_layer"),
    "standardized-conv-without-standardizing": Bug(
        "normalizations-against-vanishing", NORM, "definitions or weight_standardization_alone",
        "the standardized convolution using its raw filters",
        standardized_conv_without_standardizing, "layers-are-the-definitions",
        kernel="normalization_layers.StandardizedConv"),
}

ENV = "OPTCLAIMS_PLANTED_BUG"


def pytest_configure(config):
    """Plant the bug named by $OPTCLAIMS_PLANTED_BUG for the whole run."""
    name = os.environ.get(ENV)
    if not name:
        return
    mp = pytest.MonkeyPatch()
    BUGS[name].plant(mp)
    config.add_cleanup(mp.undo)
