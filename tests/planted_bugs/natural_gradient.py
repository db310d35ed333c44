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
