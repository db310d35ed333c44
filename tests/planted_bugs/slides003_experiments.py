"""The planted bugs of claims/test_slides003_experiments.py."""

from __future__ import annotations

from planted_bugs import planted


@planted("emulate-without-the-projection", claim="slides003-exp1-rule-tracks-training",
         select="restarted_after_the_plateau",
         what="the emulated rule drops its (N - 1) Pr_w g term",
         expect="restart-tracks")
def emulate_without_the_projection(mp):
    """The single-output rule drops its (N - 1) Pr_w g term."""
    from reproductions import depth_acceleration as da

    def step(w, g, lr, N):
        n2 = (w * w).sum(0, keepdim=True)
        return w - lr * n2 ** (1 - 1 / N) * g
    mp.setattr(da, "e2e_step_single", step)


@planted("keras-adadelta-ignores-its-lr", claim="slides003-adadelta-lr",
         select="slides_lr_hardly_moves",
         what="the Keras-constant AdaDelta runs at lr 1 whatever lr it is given",
         expect="slides003-adadelta-lr:document-differs")
def keras_adadelta_ignores_its_lr(mp):
    """The Keras-constant AdaDelta is built with lr 1 whatever lr it is given."""
    from reproductions import slides003_experiments as s3
    original = s3.keras_optimizer
    mp.setattr(s3, "keras_optimizer", lambda method, lr: original(
        method, 1.0 if method == "adadelta" else lr))


@planted("chain-scalars-get-no-gradient", claim="slides003-exp3-depth-vs-adaptive",
         select="depth_3_gd_ends_below_adagrad",
         what="the deep chains' scalar factors get zero gradient",
         expect="gd3-beats-adagrad")
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


@planted("truncated-normal-unit-std", claim="slides003-exp4-init-scale",
         select="initial_pre_activations or initial_map",
         what="the truncated-normal sampler ignoring its std",
         expect="slides003-exp4-init-scale:reference-agrees",
         kernel="slides003_experiments.truncated_normal")
def truncated_normal_unit_std(mp):
    """The truncated-normal sampler ignoring its std (every weight std ~0.88)."""
    from reproductions import slides003_experiments as s3
    original = s3.truncated_normal
    mp.setattr(s3, "truncated_normal", lambda g, shape, std: original(g, shape, 1.0))


@planted("flops-of-the-linear-model-only", claim="slides003-depth-price",
         select="three_over_d",
         what="the flop count of a depth-1 model whatever the depth",
         expect="chain-costs-little")
def flops_of_the_linear_model_only(mp):
    """gradient_step_flops counting a depth-1 model whatever the depth asked."""
    from reproductions import slides003_experiments as s3
    original = s3.gradient_step_flops
    mp.setattr(s3, "gradient_step_flops",
               lambda rows, features, depth, width=1: original(rows, features, 1, width))


@planted("product-net-is-the-plain-net", claim="slides003-depth-effect-mixed",
         select="ahead_at",
         what="the product runs training the plain net",
         expect="accelerated-at-small-lrs")
def product_net_is_the_plain_net(mp):
    """mlp_init ignoring ``product``: the product runs train the plain net."""
    from reproductions import slides003_experiments as s3
    original = s3.mlp_init
    mp.setattr(s3, "mlp_init", lambda seed, product, cfg=s3.DIGITS: original(seed, False, cfg))
