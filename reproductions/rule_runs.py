"""An update rule run on the diagonal test quadratic f(x) = 1/2 sum_i a_i x_i^2 (curvatures a_i
log-spaced over [0.1, 10]) from x_0 = 1: the trajectory of a rule written as ``step(g, state, t)``,
of a shared optimizer, of a torch.optim optimizer, and the relative gap between two trajectories.
The harness of the claims that run the documents' formulas beside their references.
"""

from __future__ import annotations

import numpy as np
import torch

from . import optimizers as optim

CURVATURES = torch.logspace(-1, 1, 10, dtype=torch.float64)    # a_i in [0.1, 10]
STEPS = 200


def quadratic_grad(scale: float = 1.0, curvatures: torch.Tensor = CURVATURES):
    return lambda x, t=None: scale * curvatures * x


def trajectory(step_fn, steps: int = STEPS, scale: float = 1.0,
               curvatures: torch.Tensor = CURVATURES) -> np.ndarray:
    """x_0 .. x_steps of a rule ``step_fn(g, state, t) -> (update, state)`` on the test
    quadratic, or on another diagonal one with ``curvatures`` (zero allowed: a coordinate the
    loss ignores), from x_0 = 1 (state starts as None)."""
    x, state, out = torch.ones(len(curvatures), dtype=torch.float64), None, []
    grad = quadratic_grad(scale, curvatures)
    out.append(x.clone())
    for t in range(1, steps + 1):
        upd, state = step_fn(grad(x), state, t)
        x = x + upd
        out.append(x.clone())
    return torch.stack(out).numpy()


def reference(opt: optim.Optimizer):
    """A shared optimizer as a ``step_fn``."""
    def step(g, state, t):
        return opt.update(g, opt.init(g) if state is None else state)
    return step


def torch_trajectory(make, steps: int = STEPS, scale: float = 1.0,
                     curvatures: torch.Tensor = CURVATURES) -> np.ndarray:
    """The same problem through a ``torch.optim`` optimizer ``make([x])``."""
    x = torch.ones(len(curvatures), dtype=torch.float64, requires_grad=True)
    opt, out = make([x]), [x.detach().clone()]
    for _ in range(steps):
        opt.zero_grad()
        (0.5 * scale * (curvatures * x * x).sum()).backward()
        opt.step()
        out.append(x.detach().clone())
    return torch.stack(out).numpy()


def relative_gap(a: np.ndarray, b: np.ndarray) -> float:
    """max_t ||a_t - b_t|| / max_t ||b_t - b_0||: 0 when two trajectories agree, O(1) when they
    part."""
    return float(np.linalg.norm(a - b, axis=1).max() / np.linalg.norm(b - b[0], axis=1).max())
