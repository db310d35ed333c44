"""The planted bugs of claims/test_local_models.py."""

from __future__ import annotations

import numpy as np

from planted_bugs import planted


@planted("linear-model-minimizer-times-beta", claim="local-model-steps",
         select="minus_g_over_beta",
         what="the penalized linearization's minimizer written -beta g",
         expect="linearization-minimizer")
def linear_model_minimizer_times_beta(mp):
    """The penalized linearization's minimizer written -beta g instead of -g / beta."""
    from reproductions import local_models as lm
    mp.setattr(lm, "linear_model_minimizer", lambda g, beta: -beta * g)


@planted("newton-step-without-the-inverse", claim="local-model-steps",
         select="newton_step",
         what="Newton's step multiplies the gradient by the Hessian instead of solving with it",
         expect="newton-lands")
def newton_step_without_the_inverse(mp):
    """Newton's step multiplies the gradient by the Hessian instead of solving with it."""
    from reproductions import local_models as lm
    mp.setattr(lm, "newton_step", lambda A, b, x, eta: x - eta * A @ lm.gradient(A, b, x))


@planted("bfgs-update-without-the-transpose", claim="local-model-steps",
         select="bfgs or kernels",
         what="BFGS's update with its right factor not transposed",
         expect="kernels-exact", kernel="local_models.bfgs_update")
def bfgs_update_without_the_transpose(mp):
    """BFGS's update (I - rho s y^T) H (I - rho s y^T) + rho s s^T: the right factor not
    transposed."""
    from reproductions import local_models as lm

    def update(H, s, y):
        rho = 1.0 / (y @ s)
        V = np.eye(len(s)) - rho * np.outer(s, y)
        return V @ H @ V + rho * np.outer(s, s)
    mp.setattr(lm, "bfgs_update", update)
