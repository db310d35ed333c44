"""The planted bugs of claims/test_document_formulas.py."""

from __future__ import annotations

from planted_bugs import planted


@planted("adagrad-sums-to-t-minus-1", claim="notes-adagrad-sum",
         select="adagrad",
         what="the shared AdaGrad leaves the current gradient out of its sum",
         expect="notes-adagrad-sum:reference-agrees", kernel="optimizers.adagrad")
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


@planted("notes-adagrad-sum-starts-above-zero", claim="notes-adagrad-sum",
         select="empty_sum",
         what="the notes' literal AdaGrad starts its sum at 1e-20 instead of 0",
         expect="notes-adagrad-sum:document-differs")
def notes_adagrad_sum_starts_above_zero(mp):
    """The literal AdaGrad's running sum initialized to 1e-20 (a guard against the empty sum)."""
    import torch

    from reproductions import document_rules as dr
    original = dr.adagrad_notes_literal

    def adagrad_notes_literal(lr):
        inner = original(lr)
        return lambda g, state, t: inner(
            g, torch.full_like(g, 1e-20) if state is None else state, t)
    mp.setattr(dr, "adagrad_notes_literal", adagrad_notes_literal)


@planted("notes-rmsprop-decay-outside-the-new-term", claim="notes-rmsprop-weights",
         select="leaves_the_current_gradient_out",
         what="the notes' literal RMSProp accumulates rho * acc + g^2 instead of rho * (acc + g^2)",
         expect="notes-rmsprop-weights:document-differs")
def notes_rmsprop_decay_outside_the_new_term(mp):
    """The literal RMSProp's recursion with the parenthesis dropped: rho * acc + g^2."""
    import torch

    from reproductions import document_rules as dr

    def rmsprop_notes_literal(lr, rho):
        def step(g, state, t):
            acc = torch.zeros_like(g) if state is None else state
            return -lr * g / acc.sqrt(), rho * acc + g * g
        return step
    mp.setattr(dr, "rmsprop_notes_literal", rmsprop_notes_literal)


@planted("shared-rmsprop-ignores-alpha", claim="notes-rmsprop-weights",
         select="test_shared_rmsprop_follows_torch and not small",
         what="the shared RMSProp ignores its alpha and averages with 0.99",
         expect="notes-rmsprop-weights:reference-agrees", kernel="optimizers.rmsprop")
def shared_rmsprop_ignores_alpha(mp):
    """The shared RMSProp's alpha argument not passed on: every run averages with 0.99."""
    from reproductions import optimizers as optim
    original = optim.rmsprop
    mp.setattr(optim, "rmsprop", lambda lr, alpha=0.99, eps=1e-8: original(lr, 0.99, eps))


@planted("notes000-adam-corrected-by-t", claim="notes000-adam-bias-correction",
         select="notes000_adam_parts",
         what="notes 000's literal Adam corrects its first moment by 1 - rho_1^t",
         expect="notes000-adam-bias-correction:document-differs")
def notes000_adam_corrected_by_t(mp):
    """Notes 000's literal Adam with the book's correction s / (1 - rho_1^t) in place of the
    printed s / (1 - rho_1)."""
    from reproductions import document_rules as dr
    original = dr.adam_notes000_literal

    def adam_notes000_literal(lr, b1=0.9, b2=0.999, delta=1e-8):
        inner = original(lr, b1, b2, delta)

        def step(g, state, t):
            upd, state = inner(g, state, t)
            return upd * (1 - b1) / (1 - b1 ** t), state
        return step
    mp.setattr(dr, "adam_notes000_literal", adam_notes000_literal)


@planted("shared-adam-b2-default-099", claim="notes000-adam-bias-correction",
         select="test_shared_adam_follows_torch and not small",
         what="the shared Adam's default b2 is 0.99 instead of torch's 0.999",
         expect="notes000-adam-bias-correction:reference-agrees", kernel="optimizers.adam")
def shared_adam_b2_default_099(mp):
    """The shared Adam's default second-moment decay b2 = 0.99."""
    from reproductions import optimizers as optim
    original = optim.adam
    mp.setattr(optim, "adam", lambda lr, b1=0.9, b2=0.99, **kw: original(lr, b1, b2, **kw))


@planted("notes001-adam-without-the-stray-r", claim="notes001-adam-printing",
         select="notes001_adam_parts",
         what="notes 001's literal Adam run without its stray factor r",
         expect="notes001-adam-printing:document-differs")
def notes001_adam_without_the_stray_r(mp):
    """Notes 001's literal Adam with s^ = s / (1 - rho_1^t), the stray r dropped."""
    from reproductions import document_rules as dr
    mp.setattr(dr, "adam_notes001_literal", dr.adam_notes001_delta_only)


@planted("shared-adam-eps-default-1e-6", claim="notes001-adam-printing",
         select="at_small_gradients and adam",
         what="the shared Adam's default eps is 1e-6 instead of torch's 1e-8",
         expect="notes001-adam-printing:reference-agrees", kernel="optimizers.adam")
def shared_adam_eps_default_1e_6(mp):
    """The shared Adam's default eps = 1e-6."""
    from reproductions import optimizers as optim
    original = optim.adam
    mp.setattr(optim, "adam", lambda lr, b1=0.9, b2=0.999, eps=1e-6, **kw:
               original(lr, b1, b2, eps, **kw))


@planted("algorithm4-literal-uses-its-lr", claim="slides-momentum-unused-lr",
         select="ignores_its_learning_rate",
         what="Algorithm 4 as printed is run with its learning rate in the update",
         expect="slides-momentum-unused-lr:document-differs")
def algorithm4_literal_uses_its_lr(mp):
    """The 'as printed' Algorithm 4 multiplies the gradient by epsilon after all."""
    from reproductions import document_rules as dr
    mp.setattr(dr, "momentum_alg4_literal", dr.momentum_alg4_with_lr)


@planted("algorithm4-lr-term-inside-the-decay", claim="slides-momentum-unused-lr",
         select="is_torchs_momentum",
         what="Algorithm 4 with its lr decays the new term too: m = beta (m + lr g)",
         expect="slides-momentum-unused-lr:reference-agrees",
         kernel="document_rules.momentum_alg4_with_lr")
def algorithm4_lr_term_inside_the_decay(mp):
    """Algorithm 4 with its learning rate, the parenthesis misplaced: m = beta (m + lr g)."""
    import torch

    from reproductions import document_rules as dr

    def momentum_alg4_with_lr(lr, beta):
        def step(g, state, t):
            m = beta * ((torch.zeros_like(g) if state is None else state) + lr * g)
            return -m, m
        return step
    mp.setattr(dr, "momentum_alg4_with_lr", momentum_alg4_with_lr)


@planted("algorithm5-literal-looks-ahead-along-the-step", claim="slides-nesterov-lookahead-sign",
         select="algorithm_5_as_printed_diverges",
         what="Algorithm 5 as printed takes its gradient at theta - m instead of theta + m",
         expect="slides-nesterov-lookahead-sign:document-differs")
def algorithm5_literal_looks_ahead_along_the_step(mp):
    """The printed Algorithm 5 with the look-ahead's sign flipped: the gradient at x - m."""
    import torch

    from reproductions import document_rules as dr

    def nesterov_alg5_literal(lr, beta, grad):
        def step(x, state, t):
            m = torch.zeros_like(x) if state is None else state
            m = beta * m + lr * grad(x - m)
            return -m, m
        return step
    mp.setattr(dr, "nesterov_alg5_literal", nesterov_alg5_literal)


@planted("shared-sgd-drops-nesterov", claim="slides-nesterov-lookahead-sign",
         select="table_form_is_torchs_nesterov",
         what="the shared SGD ignores nesterov=True and runs heavy-ball momentum",
         expect="slides-nesterov-lookahead-sign:reference-agrees", kernel="optimizers.sgd")
def shared_sgd_drops_nesterov(mp):
    """The shared SGD's nesterov flag not passed on: heavy ball instead of Nesterov."""
    from reproductions import optimizers as optim
    original = optim.sgd
    mp.setattr(optim, "sgd", lambda lr, momentum=0.0, nesterov=False: original(lr, momentum))


@planted("variance-of-a-sum-not-a-mean", claim="slides-variance-of-mean",
         select="sigma2_over_n2",
         what="the Monte Carlo 'mean' of N draws is their sum",
         expect="slides-variance-of-mean:document-differs")
def variance_of_a_sum_not_a_mean(mp):
    """The Monte Carlo variance of the mean reduces the N draws by sum instead of mean."""
    import torch

    from reproductions import document_rules as dr

    def variance_of_the_mean(N, sigma, draws, seed):
        g = torch.Generator().manual_seed(seed)
        return float((sigma * torch.randn(draws, N, generator=g, dtype=torch.float64))
                     .sum(1).var())
    mp.setattr(dr, "variance_of_the_mean", variance_of_the_mean)


@planted("variance-of-uniform-draws", claim="slides-variance-of-mean",
         select="is_sigma2_over_n",
         what="the Monte Carlo observations drawn uniform on [0, 1) (rand for randn)",
         expect="slides-variance-of-mean:reference-agrees")
def variance_of_uniform_draws(mp):
    """The observations drawn with torch.rand instead of torch.randn: variance 1/12, not 1."""
    import torch

    from reproductions import document_rules as dr

    def variance_of_the_mean(N, sigma, draws, seed):
        g = torch.Generator().manual_seed(seed)
        return float((sigma * torch.rand(draws, N, generator=g, dtype=torch.float64))
                     .mean(1).var())
    mp.setattr(dr, "variance_of_the_mean", variance_of_the_mean)


@planted("objective-stepped-uphill", claim="notes-objective-sign",
         select="unlearns_the_labels",
         what="the objectives are followed uphill: theta += lr g",
         expect="notes-objective-sign:document-differs")
def objective_stepped_uphill(mp):
    """The GD loop of the objective comparison steps along the gradient (a flipped sign)."""
    from reproductions import document_rules as dr
    original = dr.log_likelihood_objectives
    mp.setattr(dr, "log_likelihood_objectives",
               lambda seed, steps=200, lr=0.5: original(seed, steps, -lr))


@planted("digits-labels-not-shuffled-with-the-images", claim="notes-objective-sign",
         select="learns_the_labels and cross_entropy",
         what="the digits split shuffles the images but takes the labels in the data set's order",
         expect="notes-objective-sign:reference-agrees")
def digits_labels_not_shuffled_with_the_images(mp):
    """The softmax digits split indexes the labels y[:n] instead of y[order[:n]]."""
    import torch

    from reproductions import softmax_regression as smr
    original = smr.digits_softmax_split

    def digits_softmax_split(seed, train_fraction):
        X, y, X_test, y_test = original(seed, train_fraction)
        return X, torch.tensor(smr.digits()[2], dtype=torch.int64)[:len(y)], X_test, y_test
    mp.setattr(smr, "digits_softmax_split", digits_softmax_split)


@planted("shared-rmsprop-eps-default-1e-6", claim="slides-rmsprop-epsilon",
         select="at_small_gradients and rmsprop",
         what="the shared RMSProp's default eps is 1e-6 instead of torch's 1e-8",
         expect="slides-rmsprop-epsilon:reference-agrees", kernel="optimizers.rmsprop")
def shared_rmsprop_eps_default_1e_6(mp):
    """The shared RMSProp's default eps = 1e-6."""
    from reproductions import optimizers as optim
    original = optim.rmsprop
    mp.setattr(optim, "rmsprop", lambda lr, alpha=0.99, eps=1e-6: original(lr, alpha, eps))


@planted("slides-rmsprop-rho-default-09", claim="slides-rmsprop-epsilon",
         select="at_small_gradients and rmsprop",
         what="the slides' literal RMSprop defaults to rho = 0.9 instead of 0.99",
         expect="slides-rmsprop-epsilon:reference-agrees",
         kernel="document_rules.rmsprop_slides_literal")
def slides_rmsprop_rho_default_09(mp):
    """The literal eq. (6) with a default decay rho = 0.9 (the sums written out keep 0.99)."""
    from reproductions import document_rules as dr
    original = dr.rmsprop_slides_literal
    mp.setattr(dr, "rmsprop_slides_literal", lambda lr, rho=0.9, eps=1e-8, definition="slides":
               original(lr, rho, eps, definition))


@planted("shared-adadelta-rho-default-095", claim="slides-adadelta-root",
         select="test_shared_adadelta_follows_torch",
         what="the shared AdaDelta defaults to Zeiler's rho = 0.95 instead of torch's 0.9",
         expect="slides-adadelta-root:reference-agrees", kernel="optimizers.adadelta")
def shared_adadelta_rho_default_095(mp):
    """The shared AdaDelta's default decay rho = 0.95."""
    from reproductions import optimizers as optim
    original = optim.adadelta
    mp.setattr(optim, "adadelta", lambda lr=1.0, rho=0.95, eps=1e-6: original(lr, rho, eps))


@planted("slides-rms-without-eps", claim="slides-adadelta-root",
         select="slides_adadelta_parts",
         what="the slides' RMS(x) = E[x^2] + eps computed without its eps",
         expect="slides-adadelta-root:document-differs")
def slides_rms_without_eps(mp):
    """``rms`` under the slides' definition returns E[x^2], the eps dropped."""
    from reproductions import document_rules as dr
    mp.setattr(dr, "rms", lambda mean_sq, eps, definition: mean_sq if definition == "slides"
               else (mean_sq + eps).sqrt())
