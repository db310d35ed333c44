"""The planted bugs of claims/test_optimizer_mechanics.py."""

from __future__ import annotations

from planted_bugs import planted


@planted("momentum-without-decay", claim="momentum-effective-step",
         select="momentum_step or without_momentum",
         what="the heavy-ball buffer never decays (b = b + g)",
         expect="amplified-by-1-over-1-minus-beta")
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


@planted("clip-value-one-sided", claim="gradient-clipping",
         select="semantics",
         what="clipping by value caps only the positive side",
         expect="clipping-semantics", kernel="stochastic_training.clip_by_value")
def clip_value_one_sided(mp):
    from reproductions import stochastic_training as st
    mp.setattr(st, "clip_by_value", lambda grads, c: [g.clamp(max=c) for g in grads])


@planted("minibatch-with-replacement", claim="minibatch-gradient-variance",
         select="finite_population",
         what="minibatches drawn with replacement",
         expect="variance-formula")
def minibatch_with_replacement(mp):
    """Minibatches drawn with replacement where the protocol draws without."""
    import torch

    from reproductions import stochastic_training as st

    def argsort(self, *args, **kwargs):
        return torch.randint(0, self.shape[-1], self.shape)
    mp.setattr(st.torch.Tensor, "argsort", argsort)


@planted("stacked-nets-ignore-the-gain", claim="exploding-weights-huge-steps",
         select="he_net or as_large",
         what="every net drawn at gain 2 whatever gain is asked",
         expect="he-net-keeps-the-weights")
def stacked_nets_ignore_the_gain(mp):
    """stacked_nets drawing every net with the configured gain 2, whatever gain is asked."""
    from reproductions import stochastic_training as st
    original = st.stacked_nets
    mp.setattr(st, "stacked_nets", lambda seeds, cfg, d_in, d_out: original(
        seeds, dict(cfg, gain=st.CONFIG["clip"]["gain"]), d_in, d_out))


@planted("quadratic-loss-without-the-half", claim="gd-step-size-limit",
         select="quadratic_gradient_and_spectrum",
         what="the quadratic loss written x^T A x, without its 1/2",
         expect="quadratic-kernel", kernel="quadratics.quadratic_loss")
def quadratic_loss_without_the_half(mp):
    """quadratic_loss missing the factor 1/2, so that A x is half its gradient."""
    from reproductions import quadratics as q
    mp.setattr(q, "quadratic_loss", lambda A, x: q.torch.einsum("bi,bij,bj->b", x, A, x))


@planted("eigenvalues-log-spaced-downward", claim="gd-step-size-limit",
         select="just_below_2_over_L",
         what="the eigenvalues listed from kappa down to 1, so lam[-1] is mu, not L",
         expect="converges-below-2-over-L")
def eigenvalues_log_spaced_downward(mp):
    """random_quadratic returning its eigenvalues in descending order (logspace(log10 kappa,
    0)): every lr built on lam[-1] = L uses mu = 1."""
    from reproductions import quadratics as q
    original = q.random_quadratic

    def random_quadratic(seed, dim, kappa):
        A, x0, lam = original(seed, dim, kappa)
        return A, x0, lam.flip(0)
    mp.setattr(q, "random_quadratic", random_quadratic)


@planted("momentum-buffer-dampened", claim="momentum-effective-step",
         select="momentum_step",
         what="the heavy-ball buffer as an average (b = mu b + (1 - mu) g)",
         expect="amplified-by-1-over-1-minus-beta")
def momentum_buffer_dampened(mp):
    """The heavy-ball buffer fed (1 - mu) g, torch's dampening = momentum: an average of the
    gradients that no longer amplifies them."""
    from reproductions import optimizers as optim
    original = optim.sgd

    def sgd(lr, momentum=0.0, nesterov=False):
        opt = original(lr, momentum, nesterov)
        return optim.Optimizer(opt.init, lambda g, state: opt.update((1 - momentum) * g, state))
    mp.setattr(optim, "sgd", sgd)


@planted("polyak-momentum-unsquared", claim="momentum-high-condition-number",
         select="contract_at_their_theory_rates",
         what="heavy ball's momentum (sqrt k - 1)/(sqrt k + 1), without Polyak's square",
         expect="momentum-orders-below-gd")
def polyak_momentum_unsquared(mp):
    """tuned_methods giving the heavy ball Nesterov's beta instead of its square."""
    import math

    from reproductions import quadratics as q
    original = q.tuned_methods

    def tuned_methods(mu, L):
        k = math.sqrt(L / mu)
        return dict(original(mu, L), heavy_ball=q.optim.sgd(
            4.0 / (math.sqrt(L) + math.sqrt(mu)) ** 2, momentum=(k - 1) / (k + 1)))
    mp.setattr(q, "tuned_methods", tuned_methods)


@planted("nesterov-flag-ignored", claim="momentum-high-condition-number",
         select="contract_at_their_theory_rates",
         what="the shared SGD ignoring nesterov=True (heavy ball at Nesterov's tuning)",
         expect="momentum-orders-below-gd")
def nesterov_flag_ignored(mp):
    """optim.sgd dropping its nesterov argument: the look-ahead never taken."""
    from reproductions import optimizers as optim
    original = optim.sgd
    mp.setattr(optim, "sgd", lambda lr, momentum=0.0, nesterov=False: original(lr, momentum))


@planted("worst-case-gradient-without-l-over-4", claim="nesterov-worst-case",
         select="worst_case_function_kernels",
         what="the worst-case function's gradient without its factor L/4",
         expect="worst-case-function", kernel="quadratics.worst_case_function")
def worst_case_gradient_without_l_over_4(mp):
    """worst_case_function's hand-written gradient A x - b, its L/4 dropped."""
    from reproductions import quadratics as q
    original = q.worst_case_function

    def worst_case_function(n, L=1.0):
        f, grad, A = original(n, L)
        return f, lambda x: grad(x) * 4 / L, A
    mp.setattr(q, "worst_case_function", worst_case_function)


@planted("worst-case-gradient-without-b", claim="nesterov-worst-case",
         select="within_its_bound",
         what="the worst-case function's gradient without its linear term (L/4 A x)",
         expect="within-the-bound")
def worst_case_gradient_without_b(mp):
    """worst_case_function's gradient missing -b, the linear term's: from x0 = 0 no method
    moves."""
    from reproductions import quadratics as q
    original = q.worst_case_function

    def worst_case_function(n, L=1.0):
        f, grad, A = original(n, L)
        return f, lambda x: L / 4 * (A @ x), A
    mp.setattr(q, "worst_case_function", worst_case_function)


@planted("flat-side-derivative-over-100", claim="adagrad-vanishing-lr",
         select="steep_then_flat_gradient",
         what="the flat side's derivative (x - 10)/100 instead of (x - 10)/50",
         expect="convex-kernel", kernel="quadratics.steep_then_flat_grad")
def flat_side_derivative_over_100(mp):
    """steep_then_flat_grad dividing by 100, the function's denominator, forgetting the 2."""
    from reproductions import quadratics as q
    torch = q.torch
    mp.setattr(q, "steep_then_flat_grad", lambda x: torch.where(
        x < 1, torch.full_like(x, -50.0), (x - 10) / 100))


@planted("adagrad-accumulator-leaks", claim="adagrad-vanishing-lr",
         select="stalls_on_a_convex",
         what="AdaGrad's sum of squared gradients decaying by 0.99 per step",
         expect="adagrad-stalls")
def adagrad_accumulator_leaks(mp):
    """The shared AdaGrad's accumulator multiplied by 0.99 before each step (an RMSprop-style
    leak): it forgets the steep gradients."""
    from reproductions import optimizers as optim
    original = optim.adagrad

    def adagrad(lr, eps=1e-10):
        opt = original(lr, eps)
        return optim.Optimizer(opt.init, lambda g, state: opt.update(
            g, state._replace(sum_sq=0.99 * state.sum_sq)))
    mp.setattr(optim, "adagrad", adagrad)


@planted("per-example-residual-sign-flipped", claim="minibatch-gradient-variance",
         select="per_example_gradients_and_sampler",
         what="the per-example gradients x_i (y_i - x_i . w), residual sign flipped",
         expect="gradients-and-sampler", kernel="stochastic_training.per_example_gradients")
def per_example_residual_sign_flipped(mp):
    """per_example_gradients with the residual y - X w instead of X w - y."""
    from reproductions import stochastic_training as st

    def per_example_gradients(seed, N, dim):
        X, y, w = st.least_squares_problem(seed, N, dim)
        return X * (y - X @ w)[:, None]
    mp.setattr(st, "per_example_gradients", per_example_gradients)


@planted("linear-decay-counts-from-1", claim="linear-decay-schedule",
         select="slides_formula_and_torchs",
         what="the linear decay's k counted from 1 (one step ahead of the slides' schedule)",
         expect="schedule-is-the-slides", kernel="stochastic_training.linear_decay")
def linear_decay_counts_from_1(mp):
    """linear_decay with min(t, tau) where the slides count k = t - 1 from 0."""
    from reproductions import stochastic_training as st
    mp.setattr(st, "linear_decay", lambda lr0, lr_tau, tau: lambda t: (
        (1 - min(t, tau) / tau) * lr0 + min(t, tau) / tau * lr_tau))


@planted("decay-ends-at-a-tenth", claim="linear-decay-schedule",
         select="ends_closer_to_the_optimum",
         what="the decay's final rate eta_0/10 instead of eta_0/100",
         expect="decay-beats-constant")
def decay_ends_at_a_tenth(mp):
    """CONFIG's lr_tau_ratio typed 0.1 instead of 0.01."""
    from reproductions import stochastic_training as st
    mp.setitem(st.CONFIG["decay"], "lr_tau_ratio", 0.1)


@planted("batched-stacked-loss-summed", claim="exploding-weights-huge-steps",
         select="growth_runs_match",
         what="each model's cross-entropy summed over its batch instead of averaged",
         expect="growth-kernels", kernel="stochastic_training.stacked_losses")
def batched_stacked_loss_summed(mp):
    """stacked_losses reducing each model's batch by sum instead of mean (64x the gradient)."""
    from reproductions import stochastic_training as st
    original = st.stacked_losses
    mp.setattr(st, "stacked_losses", lambda params, x, y: original(params, x, y) * y.shape[1])


@planted("batched-clip-norm-over-all-models", claim="gradient-clipping",
         select="semantics",
         what="the batched clippings' norms taken over all models together",
         expect="clipping-semantics", kernel="stochastic_training._norms")
def batched_clip_norm_over_all_models(mp):
    """_norms ignoring batched: one norm per tensor across the model axis, so one model's
    large gradient clips every other model's."""
    from reproductions import stochastic_training as st
    original = st._norms
    mp.setattr(st, "_norms", lambda grads, batched: original(grads, False))
