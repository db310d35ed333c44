"""Unit tests of the shared minibatch loop (reproductions/minibatch.py)."""

import torch

from reproductions import minibatch
from reproductions import optimizers as optim


def generators(seeds):
    return [torch.Generator().manual_seed(s) for s in seeds]


def test_shuffled_batches_cut_one_permutation_per_model_and_drop_the_remainder():
    batches = minibatch.shuffled_batches(generators([3, 4]), n=10, batch=4)
    assert [tuple(b.shape) for b in batches] == [(2, 4), (2, 4)]
    for model, seed in enumerate([3, 4]):
        expected = torch.randperm(10, generator=torch.Generator().manual_seed(seed))[:8]
        assert torch.equal(torch.cat([b[model] for b in batches]), expected)


def test_shuffled_batches_repeat_each_models_order_for_the_models_that_share_it():
    plain = minibatch.shuffled_batches(generators([5, 6]), n=9, batch=3)
    repeated = minibatch.shuffled_batches(generators([5, 6]), n=9, batch=3, repeat=3)
    for one, three in zip(plain, repeated):
        assert torch.equal(three, one.repeat_interleave(3, 0))


def test_shuffled_batches_draw_every_permutation_before_the_epochs_other_draws():
    gens = generators([7])
    minibatch.shuffled_batches(gens, n=6, batch=2)
    after = torch.rand(1, generator=gens[0])
    reference = torch.Generator().manual_seed(7)
    torch.randperm(6, generator=reference)
    assert torch.equal(after, torch.rand(1, generator=reference))


def test_step_each_is_the_optimizer_applied_to_each_tensor_with_its_own_state():
    params = {"w": torch.ones(2, 3), "b": torch.zeros(2)}
    grads = {"w": torch.full((2, 3), 0.5), "b": torch.tensor([1.0, -1.0])}
    opt = optim.adam(0.1)
    states = minibatch.init_each(opt, params)
    new, new_states = minibatch.step_each(opt, params, grads, states)
    for k in params:
        update, state = opt.update(grads[k], opt.init(params[k]))
        assert torch.equal(new[k], params[k] + update)
        assert new_states[k].t == state.t == 1
    assert torch.equal(params["w"], torch.ones(2, 3)), "the arguments must not change"


def test_step_each_takes_an_optimizer_per_tensor():
    lr = torch.tensor([0.1, 1.0])
    params = {"w": torch.ones(2, 3), "b": torch.ones(2)}
    opts = {k: optim.sgd(minibatch.per_model(lr, v)) for k, v in params.items()}
    grads = {k: torch.ones_like(v) for k, v in params.items()}
    new, _ = minibatch.step_each(opts, params, grads, minibatch.init_each(opts, params))
    assert torch.allclose(new["w"], torch.tensor([[0.9] * 3, [0.0] * 3]))
    assert torch.allclose(new["b"], torch.tensor([0.9, 0.0]))


def test_stack_puts_the_models_on_a_leading_axis():
    stacked = minibatch.stack([{"w": torch.zeros(2, 3)}, {"w": torch.ones(2, 3)}])
    assert stacked["w"].shape == (2, 2, 3) and float(stacked["w"][1].sum()) == 6.0
