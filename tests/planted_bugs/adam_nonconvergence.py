"""The planted bugs of claims/test_adam_nonconvergence.py."""

from __future__ import annotations

from planted_bugs import planted


@planted("amsgrad-without-running-max", claim="adam-nonconvergence",
         select="started_at_zero or section5 or amsgrad_converges or sgd_and_adagrad",
         what="AMSGrad's running max of v_t left out, so AMSGrad is Adam",
         expect="amsgrad-converges")
def amsgrad_without_running_max(mp):
    from reproductions import adam_nonconvergence as an
    mp.setattr(an, "_running_max", lambda v, carry: v)


@planted("theorem1-with-flipped-sign", claim="adam-nonconvergence",
         select="started_at_zero or section5 or amsgrad_converges or sgd_and_adagrad",
         what="Theorem 1's gradients with the wrong sign (C x once every 3 steps becomes -C x)",
         expect="adam-fails-theorem1")
def theorem1_with_flipped_sign(mp):
    from reproductions import adam_nonconvergence as an
    original = an.theorem1

    def flipped(C=3.0):
        prob = original(C)
        return prob._replace(grads=lambda t0, t1: -prob.grads(t0, t1))
    mp.setattr(an, "theorem1", flipped)
