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
