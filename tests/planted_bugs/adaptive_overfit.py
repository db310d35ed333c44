"""The planted bugs of claims/test_adaptive_overfit.py."""

from __future__ import annotations

from planted_bugs import planted


@planted("wilson-label-feature-dropped", claim="adaptive-overfit",
         select="predict_plus_one or classify_every or minimum_norm",
         what="the data generator leaves out the label feature",
         expect="gd-sgd-generalize")
def wilson_label_feature_dropped(mp):
    from reproductions import adaptive_overfit as ao
    original = ao.wilson_dataset

    def dropped(*args, **kwargs):
        data = original(*args, **kwargs)
        data.X_train[:, 0] = 0.0
        data.X_test[:, 0] = 0.0
        return data
    mp.setattr(ao, "wilson_dataset", dropped)


@planted("adaptive-methods-run-as-sgd", claim="adaptive-overfit",
         select="predict_plus_one or classify_every or sign_of",
         what="the adaptive methods' optimizer is plain gradient descent",
         expect="adaptive-predict-plus-one")
def adaptive_methods_run_as_sgd(mp):
    from reproductions import adaptive_overfit as ao
    from reproductions import optimizers as optim
    original = ao._optimizer

    def as_sgd(method, cfg, lipschitz):
        if method in ao.ADAPTIVE:
            return optim.sgd(1.0 / lipschitz[:, None])
        return original(method, cfg, lipschitz)
    mp.setattr(ao, "_optimizer", as_sgd)


@planted("least-squares-residual-sign-flipped", claim="adaptive-overfit",
         select="matches_torch_optim",
         what="the batched least-squares gradient adds y instead of subtracting it",
         expect="kernel-parity", kernel="adaptive_overfit.least_squares_gradient")
def least_squares_residual_sign_flipped(mp):
    """X^T (X w + y) / n: the residual's sign slip, a plausible typo in a hand-written gradient."""
    import torch

    from reproductions import adaptive_overfit as ao
    mp.setattr(ao, "least_squares_gradient", lambda X, y, w: torch.einsum(
        "snd,sn->sd", X, torch.einsum("snd,sd->sn", X, w) + y) / X.shape[1])
