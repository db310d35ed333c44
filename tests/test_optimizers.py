"""The hand-written update rules against torch.optim on the same gradient sequence."""

import math

import pytest
import torch

from reproductions import optimizers as optim

STEPS = 60


def grads_sequence(shape=(3, 7), seed=0):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(shape, generator=g, dtype=torch.float64) * (1 + t % 5)
            for t in range(STEPS)]


def ours(opt, grads):
    params = torch.zeros_like(grads[0])
    state = opt.init(params)
    for g in grads:
        updates, state = opt.update(g, state)
        params = params + updates
    return params


def theirs(make, grads):
    p = torch.zeros_like(grads[0], requires_grad=True)
    opt = make([p])
    for g in grads:
        p.grad = g.clone()
        opt.step()
    return p.detach()


CASES = {
    "sgd": (lambda: optim.sgd(0.1), lambda ps: torch.optim.SGD(ps, lr=0.1)),
    "heavy-ball": (lambda: optim.sgd(0.1, momentum=0.9),
                   lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9)),
    "nesterov": (lambda: optim.sgd(0.1, momentum=0.9, nesterov=True),
                 lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True)),
    "adagrad": (lambda: optim.adagrad(0.1), lambda ps: torch.optim.Adagrad(ps, lr=0.1)),
    "rmsprop": (lambda: optim.rmsprop(1e-2, alpha=0.99),
                lambda ps: torch.optim.RMSprop(ps, lr=1e-2, alpha=0.99)),
    "adadelta": (lambda: optim.adadelta(0.5, rho=0.9, eps=1e-6),
                 lambda ps: torch.optim.Adadelta(ps, lr=0.5, rho=0.9, eps=1e-6)),
    "adam": (lambda: optim.adam(1e-2), lambda ps: torch.optim.Adam(ps, lr=1e-2)),
    "amsgrad": (lambda: optim.adam(1e-2, amsgrad=True),
                lambda ps: torch.optim.Adam(ps, lr=1e-2, amsgrad=True)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_torch_optim(name):
    mine, torchs = CASES[name]
    grads = grads_sequence()
    torch.testing.assert_close(ours(mine(), grads), theirs(torchs, grads), rtol=1e-12, atol=1e-14)


def test_leading_batch_dimensions_are_independent_problems():
    grads = grads_sequence(shape=(4, 5))
    batched = ours(optim.adam(1e-2), grads)
    for i in range(4):
        single = ours(optim.adam(1e-2), [g[i] for g in grads])
        torch.testing.assert_close(batched[i], single, rtol=0, atol=0)


def test_schedule_is_called_with_the_one_based_step():
    seen = []
    opt = optim.sgd(lambda t: seen.append(t) or 1.0)
    ours(opt, grads_sequence()[:3])
    assert seen == [1, 2, 3]


def test_inverse_sqrt_schedule():
    assert optim.inverse_sqrt(0.5)(4) == 0.25


def test_paper_adam_first_step_is_sign_of_gradient():
    """Without bias correction or eps, and b1 = 0: x_2 = x_1 - a g / sqrt((1 - b2) g^2)."""
    g = torch.tensor([2.0, -3.0], dtype=torch.float64)
    opt = optim.adam(0.5, b1=0.0, b2=0.9, eps=0.0, bias_correction=False)
    updates, _ = opt.update(g, opt.init(torch.zeros(2, dtype=torch.float64)))
    torch.testing.assert_close(updates, -0.5 * torch.sign(g) / math.sqrt(0.1))


def test_amsgrad_keeps_the_largest_second_moment():
    opt = optim.adam(1.0, b1=0.0, b2=0.5, eps=0.0, bias_correction=False, amsgrad=True)
    state = opt.init(torch.zeros(1, dtype=torch.float64))
    _, state = opt.update(torch.tensor([4.0], dtype=torch.float64), state)
    updates, state = opt.update(torch.tensor([1.0], dtype=torch.float64), state)
    assert float(state.v_max) == 8.0  # max(0.5 * 16, 0.25 * 16 + 0.5 * 1)
    assert float(updates) == pytest.approx(-1.0 / math.sqrt(8.0))


def test_run_applies_the_projection_every_step():
    opt = optim.sgd(1.0)
    out = optim.run(opt, lambda x, t: -torch.ones_like(x), torch.zeros(2), 5,
                    project=lambda x: x.clamp(-1, 1))
    torch.testing.assert_close(out, torch.ones(2))
