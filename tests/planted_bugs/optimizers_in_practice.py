"""The planted bugs of claims/test_optimizers_in_practice.py."""

from __future__ import annotations

from planted_bugs import planted


@planted("rmsprop-decay-0-9", claim="rmsprop-beats-adagrad",
         select="adagrad_and_rmsprop",
         what="the batched trainer's RMSProp averages the squared gradients with alpha 0.9, "
              "not 0.99",
         expect="rmsprop-adagrad-trainer-exact", kernel="small_net_optimizers.make_optimizer")
def rmsprop_decay_0_9(mp):
    """``make_optimizer`` builds RMSProp with alpha 0.9 (Hinton's lecture) instead of torch's
    0.99, the rule the reference runs."""
    from reproductions import small_net_optimizers as so
    original = so.make_optimizer
    mp.setattr(so, "make_optimizer", lambda method, lr: so.optim.rmsprop(lr, alpha=0.9)
               if method == "rmsprop" else original(method, lr))


@planted("adagrad-branch-builds-rmsprop", claim="rmsprop-beats-adagrad",
         select="adagrad_and_rmsprop",
         what="the batched trainer's 'adagrad' runs RMSProp (the branch below copied)",
         expect="rmsprop-adagrad-trainer-exact", kernel="small_net_optimizers.make_optimizer")
def adagrad_branch_builds_rmsprop(mp):
    """``make_optimizer("adagrad", lr)`` returns ``optim.rmsprop(lr)``."""
    from reproductions import small_net_optimizers as so
    original = so.make_optimizer
    mp.setattr(so, "make_optimizer", lambda method, lr: so.optim.rmsprop(lr)
               if method == "adagrad" else original(method, lr))


@planted("nesterov-flag-not-passed", claim="nesterov-no-major-role",
         select="momentum_sgd",
         what="the batched trainer's Nesterov runs heavy ball (nesterov= not passed to sgd)",
         expect="momenta-trainer-exact", kernel="small_net_optimizers.make_optimizer")
def nesterov_flag_not_passed(mp):
    """``make_optimizer`` builds ``optim.sgd(lr, momentum=0.9)`` for both momenta."""
    from reproductions import small_net_optimizers as so
    original = so.make_optimizer
    mp.setattr(so, "make_optimizer", lambda method, lr: so.optim.sgd(lr, momentum=0.9)
               if method == "nesterov" else original(method, lr))


@planted("momentum-coefficient-not-passed", claim="nesterov-no-major-role",
         select="momentum_sgd",
         what="the batched trainer's momenta run plain SGD (momentum= not passed, default 0)",
         expect="momenta-trainer-exact", kernel="small_net_optimizers.make_optimizer")
def momentum_coefficient_not_passed(mp):
    """``make_optimizer`` calls ``optim.sgd(lr, nesterov=...)`` without ``momentum=0.9``."""
    from reproductions import small_net_optimizers as so
    original = so.make_optimizer
    mp.setattr(so, "make_optimizer", lambda method, lr: so.optim.sgd(
        lr, nesterov=method == "nesterov") if method in ("momentum", "nesterov")
        else original(method, lr))
