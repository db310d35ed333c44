"""Adam's non-convergence on convex online/stochastic linear problems, and AMSGrad's fix.

Reference: Reddi, Kale, Kumar, "On the Convergence of Adam and Beyond", ICLR 2018 (Theorem 1,
Theorems 2-3, Section 5); lecture notes 000/001 §1.2.

Problems (all on the feasible set F = [-1, 1], projection = clipping, optimum x* = -1):

* ``theorem1(C)``: f_t(x) = C x if t mod 3 = 1 else -x (paper: C > 2, beta1 = 0,
  beta2 = 1 / (1 + C^2)).
* ``online()``: Section 5 online, f_t(x) = 1010 x if t mod 101 = 1 else -10 x.
* ``stochastic(seeds, steps)``: Section 5 stochastic, f_t(x) = 1010 x with probability 0.01,
  else -10 x (one gradient column per seed).

The optimizers are Reddi et al.'s: no bias correction, no epsilon, alpha_t = alpha / sqrt(t),
x_{t+1} = clip(x_t - alpha_t m_t / sqrt(v_t)), with v_t replaced by its running maximum for
AMSGrad. The paper gives neither alpha nor the horizon T of its Figure 1; this reproduction uses
alpha = 0.5 throughout (``ALPHA``) and states T where each experiment runs. SGD is
x_{t+1} = clip(x_t - alpha_t g_t); AdaGrad is the paper's form alpha_t = alpha / sqrt(t),
v_t = sum_{s<=t} g_s^2 / t, i.e. x_{t+1} = clip(x_t - alpha g_t / sqrt(sum g^2)), which equals
``optimizers.adagrad(lr=alpha, eps=0)`` with a constant learning rate.

Regret: R_T = sum_t f_t(x_t) - min_{x in F} sum_t f_t(x) = sum_t g_t x_t - min(lo G_T, hi G_T),
G_T = sum_t g_t.

Speed. For linear losses the gradient sequence does not depend on x, so m_t, v_t and AMSGrad's
running max are computed for a whole chunk of steps at once (``scipy.signal.lfilter`` for the
exponential averages, ``np.maximum.accumulate`` for the max), once per distinct (beta, gradient
column) pair, and only the clipped cumulative sum x_{t+1} = clip(x_t - d_t) is sequential.
That scan is itself blocked: a map x -> clip(x + a, l, h) is closed under composition, so each
block of B steps is first reduced to one such map (vectorised over all blocks), the maps are
chained block to block, and the block interiors are then replayed with the exact step rule
vectorised over blocks. Python-level iterations per chunk drop from T_c to about 3 sqrt(T_c);
with many configurations (N >= 512) the plain row loop is already cheap per configuration and
is used instead. Time is processed in chunks with all state carried across: the per-(beta,
column) tables in long chunks (up to 2^17 steps), the per-configuration steps and the scan in
short ones of about 1 MB (128 steps at N = 1024), so that the scan works in cache; memory is
O(chunk x configurations).

``naive_loop`` is the plain-Python scalar reference (and the speed baseline);
``optimizer_trajectory`` drives the shared ``reproductions.optimizers`` implementation.
"""

from __future__ import annotations

import math
from typing import Callable, NamedTuple, Sequence

import numpy as np
from scipy.signal import lfilter

ALPHA = 0.5  # alpha in alpha_t = alpha / sqrt(t); the paper does not state its value
LO, HI = -1.0, 1.0  # the feasible set F

try:  # the clip ufunc itself: np.clip's Python wrapper costs more than the work on small rows
    _clip = np._core.umath.clip
except AttributeError:  # numpy < 2
    _clip = np.core.umath.clip


# ------------------------------------------------------------------------------------ problems
class LinearProblem(NamedTuple):
    """f_t(x) = g_t x on [lo, hi]. ``grads(t0, t1)`` returns g_t for t = t0 .. t1-1 (1-based) as
    an array of shape (t1 - t0, columns); ``columns`` is 1 (one sequence shared by every
    configuration) or the number of configurations (one sequence each, e.g. one per seed)."""

    name: str
    grads: Callable[[int, int], np.ndarray]
    columns: int = 1
    optimum: float = LO


def theorem1(C: float = 3.0) -> LinearProblem:
    """Reddi et al. Theorem 1: g_t = C if t mod 3 = 1 else -1."""

    def grads(t0, t1):
        t = np.arange(t0, t1)
        return np.where(t % 3 == 1, float(C), -1.0)[:, None]

    return LinearProblem(f"theorem1(C={C:g})", grads)


def online(big: float = 1010.0, small: float = -10.0, period: int = 101) -> LinearProblem:
    """Reddi et al. Section 5, online: g_t = 1010 if t mod 101 = 1 else -10."""

    def grads(t0, t1):
        t = np.arange(t0, t1)
        return np.where(t % period == 1, big, small)[:, None]

    return LinearProblem(f"online({big:g}|{small:g}/{period})", grads)


def stochastic(seeds: Sequence[int], steps: int, p: float = 0.01, big: float = 1010.0,
               small: float = -10.0) -> LinearProblem:
    """Reddi et al. Section 5, stochastic: g_t = 1010 with probability p = 0.01, else -10,
    independently per step; one column per seed, drawn with ``np.random.default_rng(seed)``."""
    hits = np.stack([np.random.default_rng(s).random(steps) < p for s in seeds], axis=1)

    def grads(t0, t1):
        return np.where(hits[t0 - 1:t1 - 1], big, small)

    return LinearProblem(f"stochastic(p={p:g}, seeds={list(seeds)})", grads, columns=len(seeds))


def grad_array(problem: LinearProblem, steps: int) -> np.ndarray:
    """The whole gradient sequence g_1 .. g_steps, shape (steps, columns)."""
    return problem.grads(1, steps + 1)


# ----------------------------------------------------------------------------- the fast kernel
class Trace(NamedTuple):
    """Result of ``run_linear`` for N configurations.

    t: the recorded steps (K,); x: x_t at those steps, the point played at step t (K, N);
    regret: R_t at those steps (K, N); x_final: x_{T+1} (N,); tail_mean: mean of x_t over the
    last ``tail`` steps t in (T - tail, T] (N,); regret_T: R_T (N,); steps: T."""

    t: np.ndarray
    x: np.ndarray
    regret: np.ndarray
    x_final: np.ndarray
    tail_mean: np.ndarray
    regret_T: np.ndarray
    steps: int


def _pairs(beta: np.ndarray, col: np.ndarray):
    """Distinct (beta, column) pairs: (betas, columns, inverse) with config n -> pair inverse[n]."""
    keys = np.stack([beta, col.astype(float)], axis=1)
    uniq, inverse = np.unique(keys, axis=0, return_inverse=True)
    return uniq[:, 0], uniq[:, 1].astype(int), inverse.reshape(-1)


class _Ema:
    """Exponential moving averages y_t = beta y_{t-1} + (1 - beta) x_t (y_0 = 0) for a set of
    (beta, column) pairs, chunk by chunk with the state carried across chunks. Time runs along
    the last axis: x is (columns, Tc), the result (pairs, Tc)."""

    def __init__(self, betas: np.ndarray, cols: np.ndarray):
        self.groups = [(b, np.flatnonzero(betas == b)) for b in np.unique(betas)]
        self.cols = cols
        self.state = np.zeros(len(betas))

    def __call__(self, x: np.ndarray) -> np.ndarray:
        if len(self.groups) == 1:  # one beta: no gather/scatter of rows
            (b, _), cols = self.groups[0], self.cols
            xs = x if np.array_equal(cols, np.arange(x.shape[0])) else x[cols]
            out, _ = lfilter([1.0 - b], [1.0, -b], xs, axis=-1, zi=(b * self.state)[:, None])
        else:
            out = np.empty((len(self.cols), x.shape[1]))
            for b, idx in self.groups:
                out[idx], _ = lfilter([1.0 - b], [1.0, -b], x[self.cols[idx]], axis=-1,
                                      zi=(b * self.state[idx])[:, None])
        self.state = out[:, -1].copy()
        return out


def _running_max(v: np.ndarray, carry: np.ndarray) -> np.ndarray:
    """Running maximum along the last (time) axis, continuing from ``carry``."""
    v[:, 0] = np.maximum(v[:, 0], carry)
    return np.maximum.accumulate(v, axis=-1, out=v)


def clip_scan(d: np.ndarray, x: np.ndarray, out: np.ndarray, lo: float = LO, hi: float = HI,
              block: int | None = None) -> np.ndarray:
    """x_{t+1} = clip(x_t - d_t, lo, hi) for the rows of ``d`` (Tc, N) from x (N,).

    Writes the points played, x_t for each row, into ``out`` (Tc, N) and returns the next point.
    ``block`` = 1 is the plain row-by-row loop; otherwise the blocked scan described in the
    module docstring (default: about sqrt(Tc / 2) rows per block when N is small enough for
    Python overhead to dominate, else the plain loop).
    """
    Tc, N = d.shape
    if block is None:
        block = 1 if N >= 512 else max(1, int(math.sqrt(Tc / 2)))
    nb = Tc // block if block > 1 else 0
    main = nb * block
    if nb >= 2:
        # (block, nb, N) copies, so that step k of every block is one contiguous slab
        D = np.ascontiguousarray(d[:main].reshape(nb, block, N).swapaxes(0, 1))
        iterates = np.empty_like(D)
        # pass 1: reduce each block to x -> clip(x + a, l, h), starting from the identity
        lh = np.empty((2, nb, N))
        lh[0], lh[1] = -np.inf, np.inf
        for k in range(block):
            np.subtract(lh, D[k], lh)
            _clip(lh, lo, hi, lh)
        a = D.sum(axis=0)
        np.negative(a, a)
        # pass 2: chain the block maps to get every block's starting point
        starts = iterates[0]
        for b in range(nb):
            starts[b] = x
            x = _clip(x + a[b], lh[0, b], lh[1, b])
        # pass 3: replay the block interiors with the exact step rule, all blocks at once
        for k in range(block - 1):
            np.subtract(iterates[k], D[k], iterates[k + 1])
            _clip(iterates[k + 1], lo, hi, iterates[k + 1])
        out[:main] = iterates.swapaxes(0, 1).reshape(main, N)
    else:
        main = 0
    if main < Tc:  # plain loop over the remaining rows, writing in place
        out[main] = x
        rows, drows = list(out[main:]), list(d[main:])
        for a, db, b in zip(rows, drows, rows[1:]):
            np.subtract(a, db, b)
            _clip(b, lo, hi, b)
        x = _clip(out[Tc - 1] - d[Tc - 1], lo, hi)
    return x


def run_linear(problem: LinearProblem, steps: int, *, method: str = "adam", alpha: float = ALPHA,
               b1=0.0, b2=0.99, eps: float = 0.0, bias_correction: bool = False,
               amsgrad: bool = False, max_of_corrected: bool = False, x0=0.0,
               record_at: Sequence[int] = (), tail: int = 0, lo: float = LO, hi: float = HI,
               chunk: int | None = None, block: int | None = None) -> Trace:
    """Run N configurations of one optimizer on a linear problem for ``steps`` steps, in lockstep.

    ``b1``, ``b2``, ``x0`` broadcast to N configurations (and so do the problem's gradient
    columns). ``method``: "adam" (with the ``optimizers.adam`` keywords ``eps``,
    ``bias_correction``, ``amsgrad``, ``max_of_corrected``; the paper's form is the default
    ``bias_correction=False, eps=0``), "sgd" or "adagrad" (paper forms, see module docstring).
    Step size alpha_t = alpha / sqrt(t). ``record_at``: steps t at which x_t and R_t are kept;
    ``tail``: length of the final window whose mean x_t is returned. ``chunk``: steps per scan
    chunk (default: about 1 MB of steps, so the scan works in cache); ``block``: see
    ``clip_scan``.
    """
    b1a, b2a, x0a = np.broadcast_arrays(np.asarray(b1, float), np.asarray(b2, float),
                                        np.asarray(x0, float))
    shape = np.broadcast_shapes(b1a.shape, (problem.columns,) if problem.columns > 1 else ())
    N = int(np.prod(shape)) if shape else 1
    b1a, b2a, x0a = (np.broadcast_to(z, shape).reshape(N).copy() for z in (b1a, b2a, x0a))
    col = np.arange(N) if problem.columns > 1 else np.zeros(N, int)
    if problem.columns > 1 and problem.columns != N:
        raise ValueError("configurations must match the problem's gradient columns")
    if method not in ("adam", "sgd", "adagrad"):
        raise ValueError(f"unknown method {method!r}")
    if not 0 <= tail <= steps:
        raise ValueError("tail must lie in [0, steps]")

    # d_t = S_t / R_t. The numerator S is tabulated once per distinct (beta1, gradient column)
    # pair, the denominator R once per distinct (beta2, column) pair; configuration n reads
    # pairs inv1[n] and inv2[n].
    key1 = b1a if method == "adam" else np.zeros(N)
    key2 = b2a if method == "adam" else np.zeros(N)
    beta1, col1, inv1 = _pairs(key1, col)
    beta2, col2, inv2 = _pairs(key2, col)
    P1, P2 = len(beta1), len(beta2)
    ema1, ema2 = _Ema(beta1, col1), _Ema(beta2, col2)
    vmax = np.zeros(P2)
    sumsq = np.zeros(P2)
    expand1, expand2 = _expander(inv1, P1, N), _expander(inv2, P2, N)
    grid = (P1 > 1 and P2 > 1 and P1 * P2 == N
            and np.array_equal(inv1, np.repeat(np.arange(P1), P2))
            and np.array_equal(inv2, np.tile(np.arange(P2), P1)))

    record_at = np.asarray(sorted(set(int(t) for t in record_at)), int)
    if record_at.size and (record_at[0] < 1 or record_at[-1] > steps):
        raise ValueError("record_at must lie in [1, steps]")
    rec_x = np.empty((record_at.size, N))
    rec_r = np.empty((record_at.size, N))
    gx = np.zeros(N)  # running sum_s g_s x_s
    gsum = np.zeros(problem.columns)  # running sum_s g_s
    tail_sum = np.zeros(N)
    first_tail = steps - tail + 1  # the tail window is t in [first_tail, steps]
    x = x0a
    if chunk is None:
        chunk = int(min(max(2**17 // N, 128), 2**17))
    table_chunk = max(chunk, min(2**22 // (P1 + P2 + problem.columns), 2**17) // chunk * chunk)
    xbuf = np.empty((min(chunk, steps), N))
    ri = 0
    for T0 in range(1, steps + 1, table_chunk):
        T1 = min(T0 + table_chunk, steps + 1)
        g = np.ascontiguousarray(problem.grads(T0, T1), dtype=float)  # (Tc, columns)
        gT = np.ascontiguousarray(g.T)  # the tables run with time along the last axis
        t = np.arange(T0, T1, dtype=float)
        at = alpha / np.sqrt(t)
        if method == "adam":
            S = ema1(gT)
            S *= at
            V = ema2(gT * gT)
            if bias_correction:
                S /= 1.0 - beta1[:, None] ** t
                c2 = 1.0 - beta2[:, None] ** t
            if amsgrad and max_of_corrected:
                if bias_correction:
                    V /= c2
                vmax = _running_max(V, vmax)[:, -1].copy()
            elif amsgrad:
                vmax = _running_max(V, vmax)[:, -1].copy()
                if bias_correction:
                    V /= c2
            elif bias_correction:
                V /= c2
            R = np.sqrt(V, out=V)
        elif method == "sgd":
            S = gT[col1] * at
            R = None
        else:  # adagrad
            S = gT[col1] * alpha
            R = np.cumsum(gT[col2] ** 2, axis=-1)
            R += sumsq[:, None]
            sumsq = R[:, -1].copy()
            np.sqrt(R, out=R)
        if R is not None and eps:
            R += eps
        for s0 in range(0, T1 - T0, chunk):
            s1 = min(s0 + chunk, T1 - T0)
            n, t0 = s1 - s0, T0 + s0
            # step d_t of every configuration, (n, N), from the (P, n) table slices
            if R is not None and grid:  # configurations = the full pair1 x pair2 grid
                St = np.ascontiguousarray(S[:, s0:s1].T)  # small (n, P) copies, so that the
                Rt = np.ascontiguousarray(R[:, s0:s1].T)  # broadcast reads contiguous rows
                d = np.divide(St[:, :, None], Rt[:, None, :]).reshape(n, N)
            else:
                dT = expand1(S[:, s0:s1])
                if R is not None:
                    dT = np.divide(dT, expand2(R[:, s0:s1]))
                d = np.ascontiguousarray(dT.T)  # a small transpose, in cache
            X = xbuf[:n]
            x = clip_scan(d, x, X, lo, hi, block)

            # regret: sum_s g_s x_s up to each step recorded here, then the sub-chunk's total
            gc = g[s0:s1]
            k = np.searchsorted(record_at, t0 + n)
            if k > ri:
                rows = record_at[ri:k] - t0
                gx_rows = gx + np.cumsum(gc * X, axis=0)[rows]
                G_rows = gsum + np.cumsum(gc, axis=0)[rows]
                rec_x[ri:k] = X[rows]
                rec_r[ri:k] = gx_rows - np.minimum(lo * G_rows, hi * G_rows)[:, col]
                ri = k
            gx += gc[:, 0] @ X if problem.columns == 1 else np.einsum("tn,tn->n", gc, X)
            gsum += gc.sum(axis=0)
            if tail and t0 + n > first_tail:
                tail_sum += X[max(0, first_tail - t0):].sum(axis=0)
    regret_T = gx - np.minimum(lo * gsum, hi * gsum)[col]
    tail_mean = tail_sum / tail if tail else np.full(N, np.nan)
    return Trace(record_at, rec_x, rec_r, x, tail_mean, regret_T, steps)


def _expander(inv: np.ndarray, P: int, N: int):
    """A map from a (P, n) per-pair table slice to the (N, n) per-configuration array."""
    if P == N and np.array_equal(inv, np.arange(N)):
        return lambda a: a
    if P == 1:
        return lambda a: np.broadcast_to(a, (N, a.shape[1]))
    return lambda a: np.take(a, inv, axis=0)


# ------------------------------------------------------------------------- reference loops
def naive_loop(grads: Sequence[float], b1: float, b2: float, alpha: float = ALPHA,
               eps: float = 0.0, amsgrad: bool = False, x0: float = 0.0, lo: float = LO,
               hi: float = HI, tail: int = 0):
    """Plain-Python scalar loop of the paper's Adam / AMSGrad (the speed baseline and a parity
    reference). Returns (x_1 .. x_{T+1} as a list, R_T, mean of x_t over the last ``tail``)."""
    T = len(grads)
    m = v = vmax = gx = gs = tail_sum = 0.0
    x = x0
    xs = [x]
    first_tail = T - tail + 1
    sqrt = math.sqrt
    for t, g in enumerate(grads, 1):
        gx += g * x
        gs += g
        if t >= first_tail:
            tail_sum += x
        m = b1 * m + (1.0 - b1) * g
        v = b2 * v + (1.0 - b2) * g * g
        if amsgrad:
            vmax = v if v > vmax else vmax
            denom = sqrt(vmax) + eps
        else:
            denom = sqrt(v) + eps
        x = x - alpha / sqrt(t) * m / denom
        x = lo if x < lo else hi if x > hi else x
        xs.append(x)
    regret = gx - min(lo * gs, hi * gs)
    return xs, regret, (tail_sum / tail if tail else float("nan"))


def optimizer_trajectory(opt, grads: np.ndarray, x0, lo: float = LO, hi: float = HI) -> np.ndarray:
    """Drive a ``reproductions.optimizers`` optimizer on a fixed gradient sequence ``grads``
    (T, N) with projection onto [lo, hi]; returns x_1 .. x_{T+1}, shape (T + 1, N).
    (``optimizers.run`` returns only the final point; this records the whole path.)"""
    import torch

    params = torch.as_tensor(np.broadcast_to(np.asarray(x0, float), grads.shape[1:]).copy(),
                             dtype=torch.float64)
    g = torch.as_tensor(grads, dtype=torch.float64)
    state = opt.init(params)
    xs = [params.clone()]
    for t in range(grads.shape[0]):
        updates, state = opt.update(g[t], state)
        params = torch.clamp(params + updates, lo, hi)
        xs.append(params)
    return torch.stack(xs).numpy()


def torch_adam_trajectory(grads: np.ndarray, x0, b1: float, b2: float, alpha: float = ALPHA,
                          eps: float = 1e-8, amsgrad: bool = False, lo: float = LO,
                          hi: float = HI) -> np.ndarray:
    """``torch.optim.Adam`` (bias-corrected, eps inside) with lr_t = alpha / sqrt(t) via
    LambdaLR and projection by clamping after each step; returns x_1 .. x_{T+1}, (T + 1, N)."""
    import torch

    p = torch.nn.Parameter(torch.as_tensor(
        np.broadcast_to(np.asarray(x0, float), grads.shape[1:]).copy(), dtype=torch.float64))
    opt = torch.optim.Adam([p], lr=alpha, betas=(b1, b2), eps=eps, amsgrad=amsgrad,
                           foreach=False)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda k: 1.0 / math.sqrt(k + 1))
    g = torch.as_tensor(grads, dtype=torch.float64)
    xs = [p.detach().clone()]
    for t in range(grads.shape[0]):
        p.grad = g[t].clone()
        opt.step()
        sched.step()
        with torch.no_grad():
            p.clamp_(lo, hi)
        xs.append(p.detach().clone())
    return torch.stack(xs).numpy()


# ------------------------------------------------------------------------- phase diagram
def phase_grid(n1: int = 32, n2: int = 32, b1_max: float = 0.99, one_minus_b2=(1e-5, 0.5)):
    """The (beta1, beta2) grid: beta1 uniform on [0, b1_max], 1 - beta2 log-uniform."""
    b1s = np.linspace(0.0, b1_max, n1)
    b2s = 1.0 - np.logspace(math.log10(one_minus_b2[1]), math.log10(one_minus_b2[0]), n2)
    return b1s, b2s


def phase_diagram(b1s: np.ndarray, b2s: np.ndarray, steps: int,
                  problem: LinearProblem | None = None, tail_fraction: float = 0.1, **kw):
    """Adam (paper form) on every (beta1, beta2) of the grid in one lockstep run.
    Returns (tail-mean x, R_T / T), each of shape (len(b1s), len(b2s))."""
    problem = problem or online()
    B1, B2 = np.meshgrid(b1s, b2s, indexing="ij")
    tr = run_linear(problem, steps, b1=B1.ravel(), b2=B2.ravel(),
                    tail=max(1, int(round(steps * tail_fraction))), **kw)
    shape = B1.shape
    return tr.tail_mean.reshape(shape), (tr.regret_T / steps).reshape(shape)


# ------------------------------------------------------------------------------ figures
def figure_trajectories(traces: dict, title: str = ""):
    """x_t and R_t / t against t (log axis) for each labelled ``Trace`` (first config column,
    or the mean over columns with a band when a trace has several, e.g. seeds)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 3.6), layout="constrained")
    ax_x, ax_r = fig.subplots(1, 2)
    top = 0.0  # R_t/t axis range: from t >= 100 on, past the first steps' transient
    for label, tr in traces.items():
        late = tr.t >= min(100, tr.t.max())
        top = max(top, float(np.max(tr.regret[late] / tr.t[late, None])))
        t = tr.t
        for ax, y in ((ax_x, tr.x), (ax_r, tr.regret / t[:, None])):
            if y.shape[1] == 1:
                ax.plot(t, y[:, 0], label=label, lw=1)
            else:
                line, = ax.plot(t, y.mean(axis=1), label=f"{label} (mean of {y.shape[1]})", lw=1)
                ax.fill_between(t, y.min(axis=1), y.max(axis=1), color=line.get_color(),
                                alpha=0.2, lw=0)
    ax_x.set(xscale="log", xlabel="t", ylabel="$x_t$", ylim=(-1.05, 1.05))
    ax_x.axhline(-1, color="k", lw=0.5, ls=":")
    ax_r.set(xscale="log", xlabel="t", ylabel="$R_t / t$ (y range fitted to t >= 100)",
             ylim=(min(0.0, -0.05 * top), 1.15 * top if top > 0 else 1.0))
    ax_r.axhline(0, color="k", lw=0.5, ls=":")
    ax_x.legend(fontsize=8)
    fig.suptitle(title, fontsize=10)
    return fig


def figure_phase_diagram(b1s, b2s, x_tail, regret_rate, title: str = ""):
    """Heat maps over (1 - beta2 [log], beta1) of the tail-mean x and of R_T / T, with the
    curve beta1 = sqrt(beta2) (Reddi et al.'s condition beta1 < sqrt(beta2) lies below it)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 4.2), layout="constrained")
    axes = fig.subplots(1, 2)
    u = 1.0 - np.asarray(b2s)
    for ax, Z, label, cmap, vlim in ((axes[0], x_tail, "mean $x_t$, last 10%", "coolwarm",
                                      (-1, 1)),
                                     (axes[1], regret_rate, "$R_T / T$", "viridis", (None, None))):
        mesh = ax.pcolormesh(u, b1s, Z, shading="nearest", cmap=cmap, vmin=vlim[0], vmax=vlim[1])
        fig.colorbar(mesh, ax=ax, label=label)
        uu = np.logspace(np.log10(u.min()), np.log10(u.max()), 200)
        ax.plot(uu, np.sqrt(1 - uu), "k--", lw=1.2, label=r"$\beta_1 = \sqrt{\beta_2}$")
        ax.set(xscale="log", xlabel=r"$1 - \beta_2$", ylabel=r"$\beta_1$",
               ylim=(b1s[0], b1s[-1]))
        ax.legend(loc="lower left", fontsize=8)
    fig.suptitle(title, fontsize=10)
    return fig
