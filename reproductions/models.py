"""Networks with a leading *model* dimension: many independent nets in one forward pass.

Every parameter tensor has a leading dimension ``M`` (one slice per model: seeds, learning rates,
variants, or copies of one net at different points of weight space), and every activation is laid
out as ``(B, M, C, *spatial)``: model ``m`` sees only its own slice of the input, its own weights
and its own batch statistics. A convolution is one grouped ``conv2d`` (``groups=M``), a linear
layer one batched ``einsum``; the models share no computation, so the gradient of the *sum* of the
per-model losses is each model's own gradient.

Each model has a normalization *variant* (an integer per model, ``VARIANTS``):

    plain   no normalization layer
    bn      batch normalization, train mode (Ioffe & Szegedy 2015): per channel over batch and
            space, x^ = (x - mean) / sqrt(var + eps), biased var, then gamma x^ + beta
    noisy   bn with injected noise (Santurkar et al. 2018 §2.1; ``noise`` argument of ``forward``)
    l1      (x - mean) / mean |x - mean|           (Santurkar et al. §3.2 / App. ℓp-normalization)
    linf    (x - mean) / max |x - mean|

Plain and normalized models share weight and bias tensors of the same shapes, so one seed gives
them identical initial weights (He init); the plain models also carry gamma/beta, which they never
use (their gradient is exactly zero). Consecutive models of one variant run as one pass, so keep
each variant's models together. Architectures (``Arch``):

    mlp   Linear(in, w) -> [norm] -> ReLU, repeated, then Linear(w, out)
    cnn   3x3 conv (padding 1) -> [norm] -> ReLU blocks with 2x2 max-pools ("M"), a global average
          pool, then Linear(c_last, out): a VGG in miniature
    dln   a deep linear network: bias-free Linear(w, w) -> [norm], no nonlinearity; the last
          layer is not normalized

``to_torch`` rebuilds one model as a plain ``torch.nn`` network with ``nn.BatchNorm``, the
independent reference used by the unit tests and by the per-seed benchmark baseline.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

VARIANTS = {"plain": 0, "bn": 1, "noisy": 2, "l1": 3, "linf": 4}
EPS = 1e-5  # nn.BatchNorm's eps


@dataclass(frozen=True)
class Arch:
    kind: str                 # "mlp" | "cnn" | "dln"
    in_dim: int               # input features (mlp, dln) or input channels (cnn)
    widths: tuple             # hidden widths (mlp, dln) or conv channels with "M" pools (cnn)
    out_dim: int

    @property
    def n_layers(self) -> int:
        """Weight layers, in forward order (the units of the ICS measurement)."""
        return len([w for w in self.widths if w != "M"]) + 1

    @property
    def n_norm(self) -> int:
        return self.n_layers - 1


def mlp(in_dim=64, width=64, depth=8, out_dim=10) -> Arch:
    return Arch("mlp", in_dim, (width,) * (depth - 1), out_dim)


def cnn(in_ch=1, channels=(16, 16, "M", 32, 32, "M", 64), out_dim=10) -> Arch:
    return Arch("cnn", in_ch, tuple(channels), out_dim)


def dln(width=20, depth=25) -> Arch:
    return Arch("dln", width, (width,) * (depth - 1), width)


# --- parameters --------------------------------------------------------------------------------
def layer_shapes(arch: Arch) -> list[tuple]:
    """(weight shape, bias?) per weight layer, without the model dimension."""
    shapes, prev = [], arch.in_dim
    for w in arch.widths:
        if w == "M":
            continue
        shapes.append(((w, prev, 3, 3) if arch.kind == "cnn" else (w, prev), arch.kind != "dln"))
        prev = w
    shapes.append(((arch.out_dim, prev), arch.kind != "dln"))
    return shapes


def init(arch: Arch, seeds, init_std: str = "he") -> dict[str, Tensor]:
    """Parameters of one model per seed, shape (len(seeds), ...): weights N(0, 2/fan_in) ("he")
    or N(0, 1/fan_in) ("lecun", for the deep linear net), biases 0, gamma 1, beta 0. The same
    seed gives the same weights whatever the variant, so plain and BN nets start identical."""
    gain = {"he": 2.0, "lecun": 1.0}[init_std]
    params: dict[str, list] = {}
    for s in seeds:
        gen = torch.Generator().manual_seed(int(s))
        for i, (shape, bias) in enumerate(layer_shapes(arch)):
            fan_in = math.prod(shape[1:])
            w = torch.randn(shape, generator=gen, dtype=torch.float32) * math.sqrt(gain / fan_in)
            params.setdefault(f"w{i}", []).append(w)
            if bias:
                params.setdefault(f"b{i}", []).append(torch.zeros(shape[0]))
            if i < arch.n_norm:
                params.setdefault(f"g{i}", []).append(torch.ones(shape[0]))
                params.setdefault(f"beta{i}", []).append(torch.zeros(shape[0]))
    return {k: torch.stack(v) for k, v in params.items()}


def layer_keys(arch: Arch, i: int) -> list[str]:
    """The parameter names of weight layer i (its weight, bias and its norm's gamma/beta)."""
    keys = [f"w{i}"] + ([f"b{i}"] if arch.kind != "dln" else [])
    return keys + ([f"g{i}", f"beta{i}"] if i < arch.n_norm else [])


# --- the normalization layer ---------------------------------------------------------------------
def _segments(variant: Tensor) -> list[tuple[int, int, int]]:
    """Runs (start, stop, code) of consecutive models with the same variant."""
    v = variant.tolist()
    out, a = [], 0
    for b in range(1, len(v) + 1):
        if b == len(v) or v[b] != v[a]:
            out.append((a, b, v[a]))
            a = b
    return out


def _normalize(x: Tensor, code: int, noise, stat_rows: int | None) -> Tensor:
    """x^ of one segment (B, m, C, *spatial) of models sharing ``code``, before gamma/beta."""
    B, m, C = x.shape[:3]
    dims = (0,) + tuple(range(3, x.dim()))
    if code in (VARIANTS["bn"], VARIANTS["noisy"]) and stat_rows is None:
        # The fused kernel: per channel of (B, m*C, *spatial), biased variance, as in train mode.
        xhat = F.batch_norm(x.flatten(1, 2), None, None, training=True, eps=EPS).view(x.shape)
    else:
        ref = x if stat_rows is None else x[:stat_rows]
        mean = ref.mean(dims, keepdim=True)
        dev = (ref - mean).abs()
        if code in (VARIANTS["bn"], VARIANTS["noisy"]):
            scale = (dev.pow(2).mean(dims, keepdim=True) + EPS).sqrt()
        elif code == VARIANTS["l1"]:
            scale = dev.mean(dims, keepdim=True) + EPS
        elif code == VARIANTS["linf"]:
            scale = dev.amax(dims, keepdim=True) + EPS
        else:
            raise ValueError(f"unknown variant code {code}")
        xhat = (x - mean) / scale
    if code == VARIANTS["noisy"] and noise is not None:
        n_scale, n_shift = noise
        xhat = n_scale * xhat + n_shift
    return xhat


def batch_norm(x: Tensor, gamma: Tensor, beta: Tensor, variant: str | int = "bn",
               noise: tuple[Tensor, Tensor] | None = None, stat_rows: int | None = None,
               record: list | None = None) -> Tensor:
    """The normalization layer of M models of one variant: ``x`` (B, M, C, *spatial) is
    normalized per (model, channel) over batch and space, then scaled by ``gamma`` and shifted by
    ``beta`` (M, C); a "plain" layer returns ``x``.

    ``noise = (scale, shift)`` (broadcastable to ``x``; noisy variant only) makes the output
    gamma (scale x^ + shift) + beta. ``stat_rows`` computes the statistics from the first
    ``stat_rows`` examples only and applies them to all (evaluation with training-set
    statistics). ``record`` receives the output's per-(model, channel) batch mean and standard
    deviation, (M, C) each.
    """
    code = VARIANTS[variant] if isinstance(variant, str) else int(variant)
    if code == VARIANTS["plain"]:
        y = x
    else:
        tail = (1,) * (x.dim() - 3)
        M = x.shape[1]
        y = torch.addcmul(beta.view(1, M, -1, *tail), gamma.view(1, M, -1, *tail),
                          _normalize(x, code, noise, stat_rows))
    if record is not None:
        dims = (0,) + tuple(range(3, x.dim()))
        yd = y.detach()
        record.append((yd.mean(dims), yd.std(dims, unbiased=False)))
    return y


# --- the forward pass ----------------------------------------------------------------------------
def forward(arch: Arch, params: dict[str, Tensor], x: Tensor, variant: Tensor,
            noise: list | None = None, stat_rows: int | None = None,
            record: dict | None = None) -> Tensor:
    """Logits (B, M, out) of every model on its own inputs ``x`` (B, M, *input shape).

    ``variant`` (M,) holds ``VARIANTS`` codes; each run of consecutive models of one variant is
    one pass (so keep each variant's models together). ``noise`` is a list with one
    (scale, shift) pair per norm layer, shaped for the noisy models (they must be consecutive);
    ``record`` a dict {layer index: list} that receives that norm layer's output statistics,
    (M, C) each, in model order.
    """
    segs = _segments(variant)
    if len(segs) == 1:
        return _forward(arch, params, x, segs[0][2], noise, stat_rows, record)
    outs, recs = [], {i: [] for i in (record or {})}
    for a, b, code in segs:
        rec = {i: [] for i in recs} if record is not None else None
        outs.append(_forward(arch, {k: v[a:b] for k, v in params.items()}, x[:, a:b], code,
                             noise if code == VARIANTS["noisy"] else None, stat_rows, rec))
        for i in recs:
            recs[i].append(rec[i][0])
    for i in recs:
        record[i].append(tuple(torch.cat([r[j] for r in recs[i]]) for j in (0, 1)))
    return torch.cat(outs, 1)


def _forward(arch, params, x, code, noise, stat_rows, record):
    B, M = x.shape[:2]
    h, i = x, 0
    for w in arch.widths:
        if w == "M":
            h = F.max_pool2d(h.flatten(1, 2), 2).unflatten(1, (M, -1))
            continue
        if arch.kind == "cnn":
            W = params[f"w{i}"]
            # channels_last: mkldnn's grouped convolution and max-pool are ~1.5x faster on CPU
            h = F.conv2d(h.flatten(1, 2).contiguous(memory_format=torch.channels_last),
                         W.flatten(0, 1), params[f"b{i}"].flatten(), padding=1,
                         groups=M).unflatten(1, (M, -1))
        else:
            h = torch.einsum("bmi,moi->bmo", h, params[f"w{i}"])
            if arch.kind != "dln":
                h = h + params[f"b{i}"]
        h = batch_norm(h, params[f"g{i}"], params[f"beta{i}"], code,
                       None if noise is None else noise[i], stat_rows,
                       None if record is None or i not in record else record[i])
        if arch.kind != "dln":
            h = F.relu(h)
        i += 1
    if arch.kind == "cnn":
        h = h.mean((3, 4))
    h = torch.einsum("bmi,moi->bmo", h, params[f"w{i}"])
    if arch.kind != "dln":
        h = h + params[f"b{i}"]
    return h


# --- an independent torch.nn rebuild (for tests and the per-seed baseline) ------------------------
def to_torch(arch: Arch, params: dict[str, Tensor], m: int, variant: str) -> torch.nn.Sequential:
    """Model ``m`` as a ``torch.nn.Sequential`` with ``nn.BatchNorm`` (variant "plain" or "bn")."""
    nn = torch.nn
    layers, prev, i = [], arch.in_dim, 0
    for w in arch.widths:
        if w == "M":
            layers.append(nn.MaxPool2d(2))
            continue
        if arch.kind == "cnn":
            lin = nn.Conv2d(prev, w, 3, padding=1)
        else:
            lin = nn.Linear(prev, w, bias=arch.kind != "dln")
        layers.append(lin)
        with torch.no_grad():
            lin.weight.copy_(params[f"w{i}"][m])
            if lin.bias is not None:
                lin.bias.copy_(params[f"b{i}"][m])
        if variant == "bn":
            bn = (nn.BatchNorm2d if arch.kind == "cnn" else nn.BatchNorm1d)(w)
            with torch.no_grad():
                bn.weight.copy_(params[f"g{i}"][m])
                bn.bias.copy_(params[f"beta{i}"][m])
            layers.append(bn)
        elif variant != "plain":
            raise ValueError(f"to_torch builds 'plain' or 'bn', not {variant!r}")
        if arch.kind != "dln":
            layers.append(nn.ReLU())
        prev, i = w, i + 1
    if arch.kind == "cnn":
        layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
    head = nn.Linear(prev, arch.out_dim, bias=arch.kind != "dln")
    with torch.no_grad():
        head.weight.copy_(params[f"w{i}"][m])
        if head.bias is not None:
            head.bias.copy_(params[f"b{i}"][m])
    layers.append(head)
    return nn.Sequential(*layers)


def from_torch(arch: Arch, net: torch.nn.Sequential, grads: bool = False) -> dict[str, Tensor]:
    """The parameters (or, with ``grads``, their ``.grad``) of a ``to_torch`` network under this
    module's names, without the model axis."""
    out, i = {}, 0
    mods = list(net)

    def get(p):
        return (p.grad if grads else p).detach().clone()

    for k, mod in enumerate(mods):
        if isinstance(mod, (torch.nn.Conv2d, torch.nn.Linear)):
            out[f"w{i}"] = get(mod.weight)
            if mod.bias is not None:
                out[f"b{i}"] = get(mod.bias)
            nxt = mods[k + 1] if k + 1 < len(mods) else None
            if isinstance(nxt, torch.nn.modules.batchnorm._BatchNorm):
                out[f"g{i}"] = get(nxt.weight)
                out[f"beta{i}"] = get(nxt.bias)
            i += 1
    return out
