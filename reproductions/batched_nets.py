"""Many networks of ``reproductions.models`` trained as one batch: the data splits and each
model's own minibatches, the specs (seed, variant, learning rate) of a batch, the gradient of every
model at once, the full-batch evaluation, and the torch.nn rebuild of a model that checks them.

Every tensor has the models on its leading axis (inputs: (B, M, ...)); the models share nothing,
so the gradient of the sum of their losses is each model's own gradient. Used by the BatchNorm
landscape claims and the normalization-layer claims.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from . import models as md
from .data import digits, mnist_subset


# --- data -----------------------------------------------------------------------------------------
@dataclass
class Split:
    x_train: Tensor   # (N, *input shape) float32
    y_train: Tensor   # (N,) int64
    x_test: Tensor
    y_test: Tensor


def stratified_indices(labels: np.ndarray, n_test: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.model_selection import train_test_split
    idx = np.arange(len(labels))
    tr, te = train_test_split(idx, test_size=n_test, stratify=labels, random_state=seed)
    return np.sort(tr), np.sort(te)


def digits_split(seed: int, flat: bool = False, n_test: int = 360) -> Split:
    """scikit-learn's 1797 real 8x8 digits in a stratified split fixed by ``seed`` (``n_test`` test
    images), standardized
    (``standardized``). ``flat``: (N, 64) for the MLP, else (N, 1, 8, 8)."""
    images, _, target = digits()
    x = torch.tensor(images, dtype=torch.float32)
    x = x.reshape(len(x), 64) if flat else x[:, None]
    y = torch.tensor(target, dtype=torch.int64)
    tr, te = stratified_indices(target, n_test, seed)
    return standardized(Split(x[tr], y[tr], x[te], y[te]))


def standardized(s: Split) -> Split:
    """Pixels shifted and scaled by the training split's global mean and standard deviation (one
    scalar each, as the usual MNIST normalization (x - 0.1307) / 0.3081)."""
    mu, sd = s.x_train.mean(), s.x_train.std()
    return Split((s.x_train - mu) / sd, s.y_train, (s.x_test - mu) / sd, s.y_test)


def mnist_split(images: np.ndarray, labels: np.ndarray, seed: int, per_class: int = 500,
                n_train: int = 4000) -> Split:
    """A class-balanced subset of the MNIST images (``mnist_subset``: ``per_class`` a class),
    pixels / 255, split ``n_train`` / the rest (stratified), both fixed by ``seed``,
    standardized (``standardized``)."""
    sub = mnist_subset(images, labels, per_class, seed)
    x = torch.tensor(images[sub], dtype=torch.float32)[:, None]
    y = torch.tensor(labels[sub], dtype=torch.int64)
    tr, te = stratified_indices(labels[sub], len(sub) - n_train, seed)
    return standardized(Split(x[tr], y[tr], x[te], y[te]))


def batch_order(seed: int, n: int, steps: int, batch: int) -> Tensor:
    """(steps, batch) example indices: a fresh permutation every epoch, last partial batch
    dropped. Plain and BN runs of one seed see the same batches."""
    gen = torch.Generator().manual_seed(int(seed) + 7919)
    per_epoch = n // batch
    epochs = -(-steps // per_epoch)
    rows = [torch.randperm(n, generator=gen)[:per_epoch * batch].view(per_epoch, batch)
            for _ in range(epochs)]
    return torch.cat(rows)[:steps]


# --- a batch of models ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Spec:
    seed: int
    variant: str      # a key of models.VARIANTS
    lr: float


def grid(seeds, variants, lrs) -> list[Spec]:
    """Every (variant, lr, seed), variants outermost: each variant's models are consecutive."""
    return [Spec(int(s), v, float(lr)) for v in variants for lr in lrs for s in seeds]


def _loss(logits: Tensor, y: Tensor, kind: str) -> Tensor:
    """Per-model mean loss (M,) from logits (B, M, out) and targets (B, M) or (B, M, out)."""
    if kind == "mse":
        return (logits - y).pow(2).mean((0, 2))
    B, M, C = logits.shape
    return F.cross_entropy(logits.reshape(B * M, C), y.reshape(-1),
                           reduction="none").view(B, M).mean(0)


def grads_and_loss(arch, params, x, y, variant, kind="ce", noise=None, record=None):
    """Per-model losses (M,) and the gradient of every parameter: each model's own, since the
    models share nothing and the gradient taken is that of the sum of their losses."""
    p = {k: v.detach().requires_grad_(True) for k, v in params.items()}
    loss = _loss(md.forward(arch, p, x, variant, noise, record=record), y, kind)
    g = torch.autograd.grad(loss.sum(), list(p.values()), allow_unused=True)
    return loss.detach(), {k: torch.zeros_like(v) if gk is None else gk
                           for (k, v), gk in zip(p.items(), g)}


def split_sampler(splits: dict, specs: list, batch: int, steps: int, device="cpu"):
    """``sample(t)`` for ``train``: model m gets the t-th batch of its own seed's split (the
    batch order depends only on the seed), plus the stacked data for ``evaluate``."""
    seeds = sorted({s.seed for s in specs})
    pos = {s: k for k, s in enumerate(seeds)}
    data = {k: torch.stack([getattr(splits[s], k) for s in seeds]).to(device)
            for k in ("x_train", "y_train", "x_test", "y_test")}
    model_seed = torch.tensor([pos[s.seed] for s in specs], device=device)
    n = data["x_train"].shape[1]
    order = torch.stack([batch_order(s, n, steps, batch) for s in seeds]).to(device)
    rows = torch.arange(len(seeds), device=device)[:, None]

    def sample(t):
        idx = order[:, t]
        return (data["x_train"][rows, idx][model_seed].movedim(0, 1),
                data["y_train"][rows, idx][model_seed].movedim(0, 1))

    return sample, data, model_seed


def evaluate(arch, params, specs, data, model_seed, kind="ce", budget: float = 4e7,
             eval_rows: int | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """Full-batch training loss and test accuracy per model, noise off, BN statistics from the
    training split (its first ``eval_rows`` examples when given). Models are evaluated in
    chunks whose first activation stays under ``budget`` floats."""
    xtr, ytr = data["x_train"], data["y_train"]
    xte, yte = data["x_test"], data["y_test"]
    if eval_rows is not None:
        xtr, ytr, xte, yte = xtr[:, :eval_rows], ytr[:, :eval_rows], xte[:, :eval_rows], \
            yte[:, :eval_rows]
    n = xtr.shape[1]
    first = md.layer_shapes(arch)[0][0][0] * int(np.prod(xtr.shape[3:]) or 1)
    chunk = max(1, int(budget // ((n + xte.shape[1]) * first)))
    variant = torch.tensor([md.VARIANTS[s.variant] for s in specs])
    losses, accs = [], []
    with torch.no_grad():
        for a in range(0, len(specs), chunk):
            sl = slice(a, a + chunk)
            ms = model_seed[sl]
            xs = torch.cat([xtr[ms], xte[ms]], 1).movedim(0, 1)
            out = md.forward(arch, {k: v[sl] for k, v in params.items()}, xs, variant[sl],
                             stat_rows=n)
            losses.append(_loss(out[:n], ytr[ms].movedim(0, 1), kind).cpu())
            accs.append((out[n:].argmax(-1) == yte[ms].movedim(0, 1)).float().mean(0).cpu())
    return torch.cat(losses).numpy(), torch.cat(accs).numpy()


# --- the batched kernels against torch.nn ---------------------------------------------------------
# The kernels are dtype-generic; the checks run them in float64, where rounding cannot flip a ReLU
# between the two computations (in float32 one flip moved an MLP's effective beta by 2e-3).
def torch_net(arch, params, m: int, variant: str) -> torch.nn.Sequential:
    """Model ``m`` rebuilt by ``models.to_torch`` in the parameters' dtype, holding their exact
    values (to_torch's layers are float32: a float64 check needs them converted and refilled)."""
    net = md.to_torch(arch, {k: v.detach().float() for k, v in params.items()}, m,
                      variant).to(params["w0"].dtype)
    mods, i = list(net), 0
    with torch.no_grad():
        for k, mod in enumerate(mods):
            if not isinstance(mod, (torch.nn.Conv2d, torch.nn.Linear)):
                continue
            mod.weight.copy_(params[f"w{i}"][m])
            if mod.bias is not None:
                mod.bias.copy_(params[f"b{i}"][m])
            after = mods[k + 1] if k + 1 < len(mods) else None
            if isinstance(after, torch.nn.modules.batchnorm._BatchNorm):
                after.weight.copy_(params[f"g{i}"][m])
                after.bias.copy_(params[f"beta{i}"][m])
            i += 1
    return net


def torch_grads(arch, params, m: int, variant: str, x, y, kind: str):
    """Loss and gradients (this module's names) of model ``m`` rebuilt by ``torch_net``, on its
    own batch x[:, m], y[:, m]."""
    net = torch_net(arch, params, m, variant)
    out = net(x[:, m])
    loss = F.mse_loss(out, y[:, m]) if kind == "mse" else F.cross_entropy(out, y[:, m])
    loss.backward()
    return float(loss.detach()), md.from_torch(arch, net, grads=True)


def grads_vs_torch(arch, params, x, y, variants: list, kind: str = "ce") -> dict:
    """``grads_and_loss`` on the batched models against each model's torch.nn rebuild (variants
    "plain" or "bn"), per model: ``loss``, the relative difference of the loss, and ``grad``,
    the largest over parameter tensors of ||ours - torch's|| / max(||torch's||, 1e-3 ||torch's
    whole gradient||) (the floor keeps a tensor whose exact gradient is 0, a bias before a BN
    layer, from dividing rounding by rounding)."""
    code = torch.tensor([md.VARIANTS[v] for v in variants])
    loss, grads = grads_and_loss(arch, params, x, y, code, kind)
    out = {"loss": [], "grad": []}
    for m, v in enumerate(variants):
        ref_loss, ref = torch_grads(arch, params, m, v, x, y, kind)
        total = math.sqrt(sum(float(g.pow(2).sum()) for g in ref.values()))
        out["loss"].append(abs(float(loss[m]) - ref_loss) / abs(ref_loss))
        out["grad"].append(max(float((grads[k][m] - g).norm()) / max(float(g.norm()),
                                                                       1e-3 * total)
                               for k, g in ref.items()))
    return {k: np.array(v) for k, v in out.items()}


def evaluate_vs_torch(arch, params, specs, data, model_seed) -> np.ndarray:
    """``evaluate``'s full-batch training loss (BN statistics of the whole training split)
    against each plain or BN model rebuilt by ``models.to_torch`` and run in train mode on the
    whole training split at once: the relative difference per model."""
    ours, _ = evaluate(arch, params, specs, data, model_seed)
    errs = []
    with torch.no_grad():
        for m, s in enumerate(specs):
            net = torch_net(arch, params, m, s.variant).train()
            k = int(model_seed[m])
            ref = float(F.cross_entropy(net(data["x_train"][k]), data["y_train"][k]))
            errs.append(abs(float(ours[m]) - ref) / ref)
    return np.array(errs)
