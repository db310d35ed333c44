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
