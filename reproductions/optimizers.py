"""First-order optimizers as pure update rules: the one implementation every claim uses.

Each optimizer is a pair of pure functions, in the style of optax:

    state = opt.init(params)
    updates, state = opt.update(grads, state)
    params = params + updates

Nothing is mutated in place and every operation is element-wise, so ``params`` may carry any
leading batch dimensions (seeds, learning rates, configurations): one call advances a whole grid.
A learning rate is either a number or a schedule ``lr(t)`` of the 1-based step count ``t``.

The defaults follow ``torch.optim`` so that parity can be tested on the same gradient sequence
(``tests/test_optimizers.py``); where a paper's rule differs from torch's (Reddi et al.'s Adam has
no bias correction and no epsilon), the difference is a keyword argument, named in the docstring.
"""

from __future__ import annotations

import math
from typing import Callable, NamedTuple, Union

import torch
from torch import Tensor

Schedule = Callable[[int], float]
LearningRate = Union[float, Schedule]


class Optimizer(NamedTuple):
    init: Callable[[Tensor], NamedTuple]
    update: Callable[[Tensor, NamedTuple], tuple[Tensor, NamedTuple]]


def _at(lr: LearningRate, t: int) -> float:
    return lr(t) if callable(lr) else lr


def inverse_sqrt(alpha: float) -> Schedule:
    """alpha_t = alpha / sqrt(t), the step size of Reddi et al. (2018), Theorem 1 and Section 5."""
    return lambda t: alpha / math.sqrt(t)


def cosine_restarts(lr0: float, period: int) -> Schedule:
    """Huang et al.'s (2017) cyclic cosine schedule, eq. (2): lr0/2 (cos(pi mod(t - 1, period) /
    period) + 1) at 1-based step t, restarting at lr0 every ``period`` steps."""
    return lambda t: 0.5 * lr0 * (1 + math.cos(math.pi * ((t - 1) % period) / period))


def step_decay(lr0: float, milestones: tuple, factor: float = 0.1) -> Schedule:
    """lr0, multiplied by ``factor`` at each of the 1-based steps in ``milestones`` (Zhang et
    al.'s CIFAR schedule: 0.1, divided by 10 at epochs 100 and 150)."""
    return lambda t: lr0 * factor ** sum(t > m for m in milestones)


# --------------------------------------------------------------------------------------------
class SgdState(NamedTuple):
    t: int
    momentum: Tensor | None


def sgd(lr: LearningRate, momentum: float = 0.0, nesterov: bool = False) -> Optimizer:
    """(Stochastic) gradient descent, optionally with heavy-ball or Nesterov momentum.

        b_t = mu * b_{t-1} + g_t            (b_0 = 0)
        x_{t+1} = x_t - lr_t * b_t          (heavy ball, Polyak 1964)
        x_{t+1} = x_t - lr_t * (g_t + mu * b_t)   (Nesterov, in the form used by torch.optim.SGD)
    """

    def init(params):
        return SgdState(0, torch.zeros_like(params) if momentum else None)

    def update(grads, state):
        t = state.t + 1
        if not momentum:
            return -_at(lr, t) * grads, SgdState(t, None)
        b = momentum * state.momentum + grads
        direction = grads + momentum * b if nesterov else b
        return -_at(lr, t) * direction, SgdState(t, b)

    return Optimizer(init, update)


# --------------------------------------------------------------------------------------------
class AdagradState(NamedTuple):
    t: int
    sum_sq: Tensor


def adagrad(lr: LearningRate, eps: float = 1e-10) -> Optimizer:
    """AdaGrad (Duchi, Hazan, Singer, JMLR 2011), diagonal form.

        G_t = G_{t-1} + g_t^2               (G_0 = 0; the sum includes g_t)
        x_{t+1} = x_t - lr_t * g_t / (sqrt(G_t) + eps)

    Lecture notes 000 eq. (1) sum only to t-1, which leaves a zero denominator at t = 1;
    this is the paper's (and torch's) rule.
    """

    def init(params):
        return AdagradState(0, torch.zeros_like(params))

    def update(grads, state):
        t = state.t + 1
        sum_sq = state.sum_sq + grads * grads
        return -_at(lr, t) * grads / (sum_sq.sqrt() + eps), AdagradState(t, sum_sq)

    return Optimizer(init, update)


# --------------------------------------------------------------------------------------------
class RmspropState(NamedTuple):
    t: int
    mean_sq: Tensor


def rmsprop(lr: LearningRate, alpha: float = 0.99, eps: float = 1e-8) -> Optimizer:
    """RMSProp (Tieleman & Hinton, Coursera NN lecture 6.5, 2012).

        v_t = alpha * v_{t-1} + (1 - alpha) * g_t^2     (v_0 = 0)
        x_{t+1} = x_t - lr_t * g_t / (sqrt(v_t) + eps)

    The notes' version omits the (1 - alpha) and excludes g_t from v_t; this is torch's rule.
    """

    def init(params):
        return RmspropState(0, torch.zeros_like(params))

    def update(grads, state):
        t = state.t + 1
        mean_sq = alpha * state.mean_sq + (1 - alpha) * grads * grads
        return -_at(lr, t) * grads / (mean_sq.sqrt() + eps), RmspropState(t, mean_sq)

    return Optimizer(init, update)


# --------------------------------------------------------------------------------------------
class AdadeltaState(NamedTuple):
    t: int
    mean_sq: Tensor
    mean_sq_delta: Tensor


def adadelta(lr: LearningRate = 1.0, rho: float = 0.9, eps: float = 1e-6) -> Optimizer:
    """AdaDelta (Zeiler, arXiv:1212.5701, 2012, Algorithm 1).

        E[g^2]_t  = rho * E[g^2]_{t-1} + (1 - rho) * g_t^2
        d_t       = sqrt(E[d^2]_{t-1} + eps) / sqrt(E[g^2]_t + eps) * g_t
        E[d^2]_t  = rho * E[d^2]_{t-1} + (1 - rho) * d_t^2
        x_{t+1}   = x_t - lr_t * d_t

    The paper has no learning rate (lr = 1); like torch.optim.Adadelta, ``lr`` scales the step
    but not the accumulated E[d^2].
    """

    def init(params):
        zeros = torch.zeros_like(params)
        return AdadeltaState(0, zeros, zeros)

    def update(grads, state):
        t = state.t + 1
        mean_sq = rho * state.mean_sq + (1 - rho) * grads * grads
        delta = (state.mean_sq_delta + eps).sqrt() / (mean_sq + eps).sqrt() * grads
        mean_sq_delta = rho * state.mean_sq_delta + (1 - rho) * delta * delta
        return -_at(lr, t) * delta, AdadeltaState(t, mean_sq, mean_sq_delta)

    return Optimizer(init, update)


# --------------------------------------------------------------------------------------------
class AdamState(NamedTuple):
    t: int
    m: Tensor
    v: Tensor
    v_max: Tensor | None


def adam(
    lr: LearningRate,
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-8,
    bias_correction: bool = True,
    amsgrad: bool = False,
    max_of_corrected: bool = False,
) -> Optimizer:
    """Adam (Kingma & Ba, ICLR 2015) and AMSGrad (Reddi, Kale, Kumar, ICLR 2018).

        m_t = b1 * m_{t-1} + (1 - b1) * g_t
        v_t = b2 * v_{t-1} + (1 - b2) * g_t^2
        Adam:     x_{t+1} = x_t - lr_t * m^_t / (sqrt(v^_t) + eps),
                  m^_t = m_t / (1 - b1^t), v^_t = v_t / (1 - b2^t)
        AMSGrad:  v~_t = max(v~_{t-1}, v_t), and v~_t replaces v_t above.

    ``bias_correction=False, eps=0`` gives the rules as Reddi et al. state them (Algorithm 1 with
    their Adam and AMSGrad choices of v_t), which have neither. With bias correction, AMSGrad takes
    the running maximum of the *raw* v_t and then divides by (1 - b2^t), as torch.optim.Adam does;
    ``max_of_corrected=True`` instead takes the maximum of the corrected v^_t, a variant that is
    not Reddi et al.'s algorithm.
    """

    def init(params):
        zeros = torch.zeros_like(params)
        return AdamState(0, zeros, zeros, zeros if amsgrad else None)

    def update(grads, state):
        t = state.t + 1
        m = b1 * state.m + (1 - b1) * grads
        v = b2 * state.v + (1 - b2) * grads * grads
        c1, c2 = (1 - b1**t, 1 - b2**t) if bias_correction else (1.0, 1.0)
        v_max = None
        if not amsgrad:
            second = v / c2
        elif max_of_corrected:
            v_max = torch.maximum(state.v_max, v / c2)
            second = v_max
        else:
            v_max = torch.maximum(state.v_max, v)
            second = v_max / c2
        step = -_at(lr, t) * (m / c1) / (second.sqrt() + eps)
        return step, AdamState(t, m, v, v_max)

    return Optimizer(init, update)


def run(opt: Optimizer, grad_fn: Callable[[Tensor, int], Tensor], params: Tensor, steps: int,
        project: Callable[[Tensor], Tensor] | None = None) -> Tensor:
    """Apply ``steps`` updates of ``opt`` to ``params`` with gradients ``grad_fn(params, t)``.

    ``project``, when given, maps each iterate back onto the feasible set (Reddi et al.'s
    projection onto F). Returns the final parameters.
    """
    state = opt.init(params)
    for t in range(1, steps + 1):
        updates, state = opt.update(grad_fn(params, t), state)
        params = params + updates
        if project is not None:
            params = project(params)
    return params
