"""The planted bugs of claims/test_slides003_experiments.py."""

from __future__ import annotations

from planted_bugs import planted


@planted("emulate-without-the-projection", claim="slides003-exp1-rule-tracks-training",
         select="restarted_after_the_plateau",
         what="the emulated rule drops its (N - 1) Pr_w g term",
         expect="restart-tracks")
def emulate_without_the_projection(mp):
    """The single-output rule drops its (N - 1) Pr_w g term."""
    from reproductions import linear_nets as ln

    def step(w, g, lr, N):
        n2 = (w * w).sum(0, keepdim=True)
        return w - lr * n2 ** (1 - 1 / N) * g
    mp.setattr(ln, "e2e_step_single", step)


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
    from reproductions import linear_nets as ln
    original = ln.factor_grads

    def frozen(P, G_of_w, d, trainable=None):
        grads, w = original(P, G_of_w, d, trainable)
        grads = grads.clone()
        grads[d:] = 0
        return grads, w
    mp.setattr(ln, "factor_grads", frozen)


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


@planted("parse-in-eval-mode", claim="slides003-exp1-code",
         select="corrected_conditions_parse",
         what="the grammar check parses in eval mode, where no statement is valid",
         expect="slides003-exp1-code:reference-agrees")
def parse_in_eval_mode(mp):
    """parses() calls ast.parse(code, mode="eval"): every statement, valid or not, is refused."""
    import ast

    from reproductions import slides003_experiments as s3

    def parses(code):
        try:
            ast.parse(code, mode="eval")
        except SyntaxError:
            return False
        return True
    mp.setattr(s3, "parses", parses)


@planted("parse-error-answers-true", claim="slides003-exp1-code",
         select="conditions_do_not_parse",
         what="the grammar check answers True in its SyntaxError branch too",
         expect="slides003-exp1-code:document-differs")
def parse_error_answers_true(mp):
    """parses() returns True from its ``except SyntaxError`` branch: every code 'parses'."""
    import ast

    from reproductions import slides003_experiments as s3

    def parses(code):
        try:
            ast.parse(code)
        except SyntaxError:
            return True
        return True
    mp.setattr(s3, "parses", parses)


@planted("statement-kind-of-its-value", claim="slides003-exp4-dropout-line",
         select="printed_dropout_line_assigns_nothing",
         what="the statement check names the first statement's value node, not the statement",
         expect="slides003-exp4-dropout-line:document-differs")
def statement_kind_of_its_value(mp):
    """statement_kind() reads ``body[0].value``: a subtraction reports BinOp, not Expr."""
    import ast

    from reproductions import slides003_experiments as s3
    mp.setattr(s3, "statement_kind", lambda code: type(ast.parse(code).body[0].value).__name__)


@planted("statement-kind-of-the-module", claim="slides003-exp4-dropout-line",
         select="corrected_dropout_line_assigns_hidden",
         what="the statement check names the parsed module's node (body[0] dropped)",
         expect="slides003-exp4-dropout-line:reference-agrees")
def statement_kind_of_the_module(mp):
    """statement_kind() without ``.body[0]``: every code is a Module, no statement an Assign."""
    import ast

    from reproductions import slides003_experiments as s3
    mp.setattr(s3, "statement_kind", lambda code: type(ast.parse(code)).__name__)


@planted("flop-count-default-width-2", claim="slides003-depth-price",
         select="three_over_d",
         what="the flop count's hidden width defaults to 2, so the 'width-1' chain is width 2",
         expect="chain-costs-little")
def flop_count_default_width_2(mp):
    """gradient_step_flops(rows, features, depth, width=2): the depth-3 chain counted at width 2."""
    from reproductions import slides003_experiments as s3
    original = s3.gradient_step_flops
    mp.setattr(s3, "gradient_step_flops",
               lambda rows, features, depth, width=2: original(rows, features, depth, width))


@planted("lp-gradient-sums-over-rows", claim="slides003-exp1-rule-tracks-training",
         select="experiment_1_kernels",
         what="the l_p gradient sums over the rows instead of averaging (no 1/n)",
         expect="exp1-kernels", kernel="slides003_experiments.lp_fns")
def lp_gradient_sums_over_rows(mp):
    """lp_fns' gradient X^T r^{p-1} without the 1/n of the mean loss."""
    from reproductions import slides003_experiments as s3
    original = s3.lp_fns

    def lp_fns(X, y, p):
        loss_of, grad_of = original(X, y, p)
        return loss_of, lambda w: grad_of(w) * X.shape[1]
    mp.setattr(s3, "lp_fns", lp_fns)


@planted("keras-adadelta-with-torch-rho", claim="slides003-exp3-depth-vs-adaptive",
         select="experiment_3_kernels",
         what="the Keras-constant AdaDelta decays its averages with torch's rho 0.9, not 0.95",
         expect="exp3-kernels")
def keras_adadelta_with_torch_rho(mp):
    """KERAS["adadelta_rho"] = 0.9 (torch's default) instead of Keras' 0.95."""
    from reproductions import slides003_experiments as s3
    mp.setitem(s3.KERAS, "adadelta_rho", 0.9)


@planted("refactor-factor-one-row-short", claim="slides003-exp4-factor-shapes",
         select="square_factor_keeps",
         what="the refactoring's factor drawn with inner - 1 rows (an off-by-one)",
         expect="square-factor-keeps-the-maps")
def refactor_factor_one_row_short(mp):
    """refactor_error draws its factor F (inner - 1) x cols: the square factor is one row short."""
    from reproductions import slides003_experiments as s3
    original = s3.refactor_error
    mp.setattr(s3, "refactor_error",
               lambda seed, rows, cols, inner: original(seed, rows, cols, inner - 1))


@planted("refactor-factor-shape-transposed", claim="slides003-exp4-factor-shapes",
         select="narrow_factor_caps",
         what="the refactoring's factor drawn cols x inner (its shape transposed)",
         expect="narrow-factor-caps-rank")
def refactor_factor_shape_transposed(mp):
    """refactor_error with inner and cols swapped: the narrow factor becomes a wide one."""
    from reproductions import slides003_experiments as s3
    original = s3.refactor_error
    mp.setattr(s3, "refactor_error",
               lambda seed, rows, cols, inner: original(seed, rows, inner, cols))


@planted("initial-scale-ratio-inverted", claim="slides003-exp4-init-scale",
         select="initial_pre_activations",
         what="the initial scales reported as plain / product instead of product / plain",
         expect="slides003-exp4-init-scale:document-differs")
def initial_scale_ratio_inverted(mp):
    """initial_scales divides the plain net's std by the product net's (indices 0 and 1 swapped)."""
    from reproductions import slides003_experiments as s3
    original = s3.initial_scales

    def initial_scales(images, seed, factors="drawn", n=256):
        r = original(images, seed, factors, n)
        return {layer: 1 / ratio for layer, ratio in r.items()}
    mp.setattr(s3, "initial_scales", initial_scales)


@planted("keras-adadelta-with-torch-eps", claim="slides003-adadelta-lr",
         select="shared_keras_adadelta_follows",
         what="the Keras-constant AdaDelta built without its eps, so with torch's 1e-6, not 1e-7",
         expect="slides003-adadelta-lr:reference-agrees")
def keras_adadelta_with_torch_eps(mp):
    """keras_optimizer("adadelta") passes rho but drops eps=KERAS["eps"] (the default 1e-6)."""
    from reproductions import optimizers as optim
    from reproductions import slides003_experiments as s3
    original = s3.keras_optimizer
    mp.setattr(s3, "keras_optimizer", lambda method, lr: optim.adadelta(
        lr, rho=s3.KERAS["adadelta_rho"]) if method == "adadelta" else original(method, lr))


@planted("digits-not-standardized", claim="slides003-depth-effect-mixed",
         select="plain_net_is_ahead",
         what="the digits MLPs train on the raw 0-16 pixels (the standardization dropped)",
         expect="not-accelerated-at-best-lrs")
def digits_not_standardized(mp):
    """digits_standardized returns the raw pixel rows: no shift by the mean, no division by the
    std."""
    import torch

    from reproductions import data
    from reproductions import slides003_experiments as s3

    def digits_standardized():
        _, rows, labels = data.digits()
        return torch.tensor(rows, dtype=torch.float32), torch.tensor(labels, dtype=torch.int64)
    mp.setattr(s3, "digits_standardized", digits_standardized)


@planted("mlp-product-factor-transposed", claim="slides003-exp4-product-accelerates",
         select="experiment_4_kernels",
         what="the product MLP's forward pass multiplies by B_1 transposed (W_1 = B_1^T A_1)",
         expect="exp4-kernels", kernel="slides003_experiments.mlp_forward")
def mlp_product_factor_transposed(mp):
    """mlp_forward builds W_1 = B_1^T A_1 instead of B_1 A_1."""
    from reproductions import slides003_experiments as s3
    original = s3.mlp_forward

    def mlp_forward(p, x):
        return original(dict(p, B1=p["B1"].transpose(1, 2)) if "B1" in p else p, x)
    mp.setattr(s3, "mlp_forward", mlp_forward)


@planted("convnet-penalty-without-the-half", claim="slides003-exp4-product-accelerates",
         select="experiment_4_kernels",
         what="the tutorial's regularizer sums t^2 where l2_loss is sum(t^2) / 2",
         expect="exp4-kernels", kernel="slides003_experiments.convnet_penalty")
def convnet_penalty_without_the_half(mp):
    """convnet_penalty drops l2_loss's 1/2: twice the tutorial's weight decay."""
    from reproductions import slides003_experiments as s3
    mp.setattr(s3, "convnet_penalty", lambda p: sum(
        (p[k] * p[k]).sum() for k in ("fc1", "fc1_b", "fc2", "fc2_b")))
