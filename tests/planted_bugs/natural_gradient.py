"""The planted bugs of claims/test_natural_gradient.py."""

from __future__ import annotations

from planted_bugs import planted


@planted("fisher-at-the-true-labels", claim="fisher-label-free",
         select="fisher",
         what="the Fisher computed at the data's labels",
         expect="fisher-equals-hessian-label-free")
def fisher_at_the_true_labels(mp):
    """The 'Fisher' computed from the data's labels (the empirical Fisher)."""
    from reproductions import natural_gradient as ng
    original = ng.fisher_comparison

    def comparison(seed, cfg=ng.CONFIG["fisher"]):
        X, y, theta = ng.softmax_problem(seed, **cfg)
        mp.setattr(ng, "fisher", lambda t, X_, K: ng.empirical_fisher(t, X_, y, K))
        return original(seed, cfg)
    mp.setattr(ng, "fisher_comparison", comparison)


@planted("log-prob-grads-probabilities-of-the-wrong-classes", claim="fisher-label-free",
         select="test_fisher_kernels",
         what="the closed-form log-likelihood gradients subtract the probabilities of classes "
              "1..K-1 instead of 0..K-2",
         expect="fisher-kernels-match-autograd", kernel="natural_gradient.log_prob_grads")
def log_prob_grads_probabilities_of_the_wrong_classes(mp):
    """log_prob_grads slices p[:, 1:] (dropping the first class) where the free rows are the
    first K - 1."""
    import torch

    from reproductions import natural_gradient as ng
    from reproductions import softmax_regression as smr

    def log_prob_grads(theta, X, K):
        p = torch.softmax(smr.logits(theta, X, K), 1)
        onehot = torch.eye(K, dtype=X.dtype)[:, :K - 1]
        coef = onehot[None] - p[:, None, 1:]
        return (coef[..., None] * X[:, None, None, :]).flatten(2)
    mp.setattr(ng, "log_prob_grads", log_prob_grads)


@planted("dataset-draws-without-replacement", claim="dataset-fisher",
         select="approaches_the_fisher",
         what="the datasets drawn from the pool without replacement",
         expect="dataset-fisher-converges")
def dataset_draws_without_replacement(mp):
    """dataset_draws takes n distinct pool points (a random permutation's first n) instead of n
    independent draws from D."""
    import torch

    from reproductions import natural_gradient as ng

    def dataset_draws(pool, n, replicates, generator):
        draws = torch.rand(replicates, pool, generator=generator).argsort(1)[:, :n]
        return torch.zeros(replicates, pool, dtype=torch.float64).scatter_add_(
            1, draws, torch.ones(replicates, n, dtype=torch.float64))
    mp.setattr(ng, "dataset_draws", dataset_draws)


@planted("sampled-labels-softmax-over-the-inputs", claim="dataset-fisher",
         select="sampled_labels",
         what="the Monte Carlo labels drawn from a softmax taken over the inputs, not the classes",
         expect="sampled-labels-converge")
def sampled_labels_softmax_over_the_inputs(mp):
    """sampled_label_fishers draws y from softmax(logits, axis 0) instead of axis 1."""
    import torch

    from reproductions import natural_gradient as ng
    from reproductions import softmax_regression as smr

    def sampled_label_fishers(theta, X, K, samples, replicates, generator):
        p = torch.softmax(smr.logits(theta, X, K), 0)
        y = torch.multinomial(p, samples * replicates, replacement=True, generator=generator)
        counts = torch.nn.functional.one_hot(y.view(len(X), replicates, samples), K).sum(2)
        return torch.einsum("nrk,nkq->rq", counts.to(X.dtype),
                            ng.label_outer_products(theta, X, K)) / (len(X) * samples)
    mp.setattr(ng, "sampled_label_fishers", sampled_label_fishers)


@planted("expected-kl-arguments-swapped", claim="natural-gradient-kl-step",
         select="kl_kernels",
         what="the expected KL computed as KL(p_theta+delta || p_theta), its arguments swapped",
         expect="kl-kernels-match", kernel="natural_gradient.expected_kl")
def expected_kl_arguments_swapped(mp):
    """expected_kl weights the log-ratio by the new distribution: KL(q || p) for KL(p || q)."""
    import torch

    from reproductions import natural_gradient as ng
    from reproductions import softmax_regression as smr

    def expected_kl(theta, delta, X, K):
        lp = torch.log_softmax(smr.logits(theta, X, K), 1)
        lq = torch.log_softmax(smr.logits(theta + delta, X, K), 1)
        return (lq.exp() * (lq - lp)).sum(1).mean()
    mp.setattr(ng, "expected_kl", expected_kl)


@planted("delta-2-without-the-half", claim="natural-gradient-kl-step",
         select="second_order",
         what="the second-order coefficient delta_2 without its factor 1/2",
         expect="second-order-agreement")
def delta_2_without_the_half(mp):
    """third_order_coefficient returns -F^-1 T[n, n, .] instead of -1/2 F^-1 T[n, n, .]."""
    from reproductions import natural_gradient as ng
    original = ng.third_order_coefficient
    mp.setattr(ng, "third_order_coefficient",
               lambda X, theta, natural, K: 2 * original(X, theta, natural, K))


@planted("kfac-damping-gamma-squared", claim="kfac-mnist",
         select="kfac_kernels",
         what="K-FAC's factored damping applied with gamma^2 (lambda) where it takes gamma",
         expect="kfac-kernels-match", kernel="kfac.damped_inverse_apply")
def kfac_damping_gamma_squared(mp):
    """damped_inverse_apply damps the factors with gamma^2 instead of gamma = sqrt(lambda)."""
    from reproductions import kfac as kf
    original = kf.damped_inverse_apply
    mp.setattr(kf, "damped_inverse_apply",
               lambda grad_W, A_eig, G, gamma: original(grad_W, A_eig, G, gamma ** 2))


@planted("kfac-fisher-vector-product-summed", claim="kfac-mnist",
         select="kfac_kernels",
         what="the exact Fisher-vector product summed over the examples, not averaged",
         expect="kfac-kernels-match", kernel="kfac.fisher_vector_product")
def kfac_fisher_vector_product_summed(mp):
    """fisher_vector_product leaves out the 1 / n of C Jv / n: n F v."""
    from reproductions import kfac as kf
    original = kf.fisher_vector_product
    mp.setattr(kf, "fisher_vector_product",
               lambda theta, v, X, hidden: len(X) * original(theta, v, X, hidden))


@planted("cost-model-gd-and-kfac-swapped", claim="second-order-costs",
         select="several_gd_iterations",
         what="the cost model returns the GD and K-FAC flop counts under each other's names",
         expect="kfac-iteration-costs-more")
def cost_model_gd_and_kfac_swapped(mp):
    """counted_flops returns {"gd": K-FAC's count, "kfac": GD's count}."""
    from reproductions import kfac as kf
    original = kf.counted_flops

    def counted_flops(theta0, data, hidden, lm_every):
        flops = original(theta0, data, hidden, lm_every)
        return {**flops, "gd": flops["kfac"], "kfac": flops["gd"]}
    mp.setattr(kf, "counted_flops", counted_flops)


@planted("mlp-hidden-width-16", claim="second-order-costs",
         select="full_fisher_inverse",
         what="the MLP's hidden width 16 instead of 32",
         expect="full-inverse-out-of-reach")
def mlp_hidden_width_16(mp):
    """kfac.CONFIG["hidden"] = 16: the 784-16-10 net, half the parameters."""
    from reproductions import kfac as kf
    mp.setitem(kf.CONFIG, "hidden", 16)
