"""The minibatch loop that the small-network claims share: M independent models stacked on a
leading axis, each drawing its own data order, and one step of a shared optimizer over a dict of
parameter tensors, each with its own state.

    states = init_each(opts, params)
    for epoch in range(epochs):
        for idx in shuffled_batches(gens, n, batch):       # idx: (M, batch) example indices
            grads = ...                                    # a dict keyed as params
            params, states = step_each(opts, params, grads, states)

``opts`` is one ``reproductions.optimizers.Optimizer`` for every tensor, or a dict of them keyed
as ``params`` (a learning rate per model needs a per-tensor broadcast shape: ``per_model``).
"""

from __future__ import annotations

import torch
from torch import Tensor

from .optimizers import Optimizer


def stack(models: list[dict[str, Tensor]]) -> dict[str, Tensor]:
    """Models' parameter dicts stacked on a leading model axis: {name: (M, ...)}."""
    return {k: torch.stack([m[k] for m in models]) for k in models[0]}


def shuffled_batches(gens: list[torch.Generator], n: int, batch: int,
                     repeat: int = 1) -> list[Tensor]:
    """One epoch of minibatches: per model generator a fresh permutation of the ``n`` examples
    (all drawn before the first batch, so later draws from ``gens`` within the epoch follow
    them), each row repeated ``repeat`` times (the models that share a data order, e.g. one per
    learning rate), cut into consecutive slices of ``batch``; the last ``n mod batch`` examples of
    a permutation sit the epoch out. Returns index tensors of shape (len(gens) * repeat, batch).
    """
    perm = torch.stack([torch.randperm(n, generator=g) for g in gens])
    if repeat > 1:
        perm = perm.repeat_interleave(repeat, 0)
    return [perm[:, start:start + batch] for start in range(0, n - batch + 1, batch)]


def per_model(value: Tensor, like: Tensor) -> Tensor:
    """A per-model value (M,) shaped to broadcast against a stacked parameter ``like`` (M, ...)."""
    return value.view(-1, *[1] * (like.dim() - 1))


def _opt(opts: Optimizer | dict[str, Optimizer], key: str) -> Optimizer:
    return opts[key] if isinstance(opts, dict) else opts


def init_each(opts: Optimizer | dict[str, Optimizer], params: dict[str, Tensor]) -> dict:
    """An optimizer state per parameter tensor."""
    return {k: _opt(opts, k).init(v) for k, v in params.items()}


def step_each(opts: Optimizer | dict[str, Optimizer], params: dict[str, Tensor],
              grads: dict[str, Tensor], states: dict) -> tuple[dict[str, Tensor], dict]:
    """One update of every parameter tensor by its own optimizer state: p + update(g, state).
    Returns new dicts; the arguments are not changed."""
    new_params, new_states = {}, {}
    for k, p in params.items():
        update, new_states[k] = _opt(opts, k).update(grads[k], states[k])
        new_params[k] = p + update
    return new_params, new_states
