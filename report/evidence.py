"""What a claim test records: checks (a metric, its bound, a reference with its kind), checks over
seeds (a statistic with its bootstrap interval), numbers, notes, figures and seeds.

A check is written once: ``Evidence.check`` records the metric with its bound and its status. A
failed check does not stop the test: every check of a test is recorded, and the plugin calls
:meth:`Evidence.finish` after the test body, which raises one error that lists every failure. So a
failing run's report shows the whole picture, not only the first failure.

Every record is appended at once to the pytest item's ``user_properties`` as a ``(kind, payload)``
pair of plain JSON-able values: pytest copies them onto the test report, which pytest-xdist
carries from its workers to the controller, where the results store reads them. Nothing is kept in
a global.
"""

from __future__ import annotations

import base64
import io
import math
import operator
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

PREFIX = "optclaims."

_OPS: dict[str, Callable[[Any, Any], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "==": operator.eq,
    "in": lambda v, b: b[0] <= v <= b[1],
}

# --- references --------------------------------------------------------------------------------
REFERENCE_KINDS = {
    "paper": "a number in the paper's text or table",
    "figure": "read off a figure of the paper (approximate)",
    "theory": "a limit derived in the paper or in the test",
    "measured": "our own earlier measurement, taken when the check was written",
}
# A value further than this factor from a paper or figure reference gets a visible remark.
REMARK_FACTOR = 2.0


@dataclass(frozen=True)
class Reference:
    """A value to compare a measurement with, and what kind of value it is."""
    kind: str
    value: Any
    where: str = ""

    def __post_init__(self):
        if self.kind not in REFERENCE_KINDS:
            raise ValueError(f"reference kind {self.kind!r}; use one of {sorted(REFERENCE_KINDS)}")

    def as_dict(self) -> dict:
        return {"kind": self.kind, "value": plain(self.value), "where": self.where}


def paper(value: Any, where: str) -> Reference:
    """A number stated in the paper's text or a table; ``where`` says which (``"Table 2"``)."""
    return Reference("paper", value, where)


def figure(value: Any, where: str) -> Reference:
    """A number read off one of the paper's figures: approximate by nature."""
    return Reference("figure", value, where)


def theory(value: Any, where: str) -> Reference:
    """A limit derived in the paper or the test (``"R_T/T -> 2/3, Theorem 1's construction"``)."""
    return Reference("theory", value, where)


def measured(value: Any, where: str) -> Reference:
    """Our own earlier measurement: what was measured when the check was written, and where."""
    return Reference("measured", value, where)


def compact_png(raw: bytes) -> bytes:
    """A matplotlib PNG as a 256-colour palette PNG, undithered: line plots look the same at about
    a third of the bytes (the report's 16 figures: 1.10 MB, then 0.38 MB). The original where
    that is not smaller."""
    from PIL import Image
    out = io.BytesIO()
    Image.open(io.BytesIO(raw)).convert("RGB").quantize(
        colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(
        out, format="png", optimize=True)
    return out.getvalue() if len(out.getvalue()) < len(raw) else raw


def remark_for(value: Any, ref: Reference | None) -> str | None:
    """A visible remark when ``value`` is far from a paper or figure reference."""
    if ref is None or ref.kind not in ("paper", "figure"):
        return None
    v, r = value, plain(ref.value)
    if not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in (v, r)):
        return None
    if not (math.isfinite(v) and math.isfinite(r)) or r == 0:
        return None
    if v * r < 0:
        return f"opposite sign to the {ref.kind} value {fmt(r)}"
    factor = v / r
    if factor > REMARK_FACTOR or factor < 1 / REMARK_FACTOR:
        return f"{fmt(factor)}\u00d7 the {ref.kind} value {fmt(r)} ({ref.where})"
    return None


# --- readings: the ways a sentence was read before a verdict ----------------------------------------
READING_VERDICTS = ("holds", "does not hold", "inconclusive")
READING_BASES = {
    "document": "the document's own setting, metric or code",
    "horizon": "run to convergence, or at 10x the default horizon or more",
    "direction": "the direction alone, with its interval (no effect size the document does "
                 "not state)",
    "paper": "the cited paper's setting",
    "ours": "a setting of ours (a smaller scale, another data set)",
}


def make_reading(setting: str, value: Any, verdict: str, basis: str, where: str) -> dict:
    """One reading of a sentence: the setting tried, what it gave, whether the sentence holds
    under it, on which basis the setting was chosen and where the number was measured."""
    if verdict not in READING_VERDICTS:
        raise ValueError(f"reading verdict {verdict!r}; use one of {READING_VERDICTS}")
    if basis not in READING_BASES:
        raise ValueError(f"reading basis {basis!r}; use one of {sorted(READING_BASES)}")
    return {"setting": str(setting), "value": plain(value), "verdict": verdict, "basis": basis,
            "where": str(where)}


# --- formatting ----------------------------------------------------------------------------------
def plain(x: Any) -> Any:
    """A JSON-able copy of a number, array scalar, tensor scalar, sequence or mapping."""
    if x is None or isinstance(x, (bool, str)):
        return x
    if isinstance(x, Reference):
        return x.as_dict()
    if isinstance(x, dict):
        return {str(k): plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple, range)):
        return [plain(v) for v in x]
    if hasattr(x, "tolist"):  # numpy / torch scalars and arrays
        return plain(x.tolist())
    if isinstance(x, int):
        return int(x)
    return float(x)


def portable(x: Any) -> Any:
    """``x`` with every numpy scalar or array inside its dicts, lists and tuples made a Python
    number or list: test reports travel between pytest-xdist workers through execnet, which
    refuses numpy types; everything else is left as it is."""
    if isinstance(x, dict):
        return {k: portable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return type(x)(portable(v) for v in x)
    if isinstance(x, (np.generic, np.ndarray)):
        return x.tolist()
    return x


def format_bound(op: str, bound: Any) -> str:
    if op == "in":
        return f"in [{fmt(bound[0])}, {fmt(bound[1])}]"
    return f"{op} {fmt(bound)}"


def fmt(x: Any) -> str:
    """A short, exact-enough rendering of a recorded value for messages and the report."""
    if isinstance(x, bool) or x is None:
        return str(x)
    if isinstance(x, int):
        # Long counts grouped by thousands with narrow no-break spaces: readable, never wrapped.
        return f"{x:,}".replace(",", "\u202f") if abs(x) >= 100_000 else str(x)
    if isinstance(x, float):
        if math.isnan(x) or math.isinf(x):
            return str(x)
        if x != 0 and (abs(x) < 1e-3 or abs(x) >= 1e5):
            return f"{x:.3g}"
        return f"{x:.4g}"
    if isinstance(x, (list, tuple)):
        return "[" + ", ".join(fmt(v) for v in x) + "]"
    if isinstance(x, dict) and "kind" in x and "value" in x:  # a stored reference
        return fmt(x["value"])
    return str(x)


# --- statistics over seeds ------------------------------------------------------------------------
CONFIDENCE = 0.95
N_RESAMPLES = 9999
BOOTSTRAP_SEED = 20260101  # fixed: the same per-seed values always give the same interval


def _gmean(x, axis=-1):
    return np.exp(np.mean(np.log(x), axis=axis))


STATISTICS: dict[str, Callable] = {
    "median": np.median,
    "mean": np.mean,
    "fraction": np.mean,   # of booleans: the fraction of seeds where a condition holds
    "gmean": _gmean,       # of positive ratios
}


def seed_interval(values: Sequence[float], statistic: str) -> tuple[float, float]:
    """The 95% percentile-bootstrap interval of ``statistic`` over the per-seed ``values``
    (``scipy.stats.bootstrap``, resampling seeds with replacement, fixed resampling seed).

    The percentile method is used, not BCa: with 5-20 seeds a median's bootstrap distribution
    has few distinct values, on which BCa's acceleration estimate is unstable or undefined."""
    x = np.asarray(values, dtype=float)
    if x.size < 2 or np.all(x == x[0]):
        v = float(STATISTICS[statistic](x))
        return v, v
    if statistic == "gmean":  # the geometric mean is the mean of the logs
        low, high = seed_interval(np.log(x), "mean")
        return math.exp(low), math.exp(high)
    # Percentiles of a distribution holding inf are nan: +-inf (a run that never got there)
    # stand in as values just beyond the finite ones, and map back to +-inf afterwards.
    finite = x[np.isfinite(x)]
    top, bottom = (finite.max(), finite.min()) if finite.size else (0.0, 0.0)
    span = top - bottom + 1.0
    x = np.where(x == np.inf, top + span, np.where(x == -np.inf, bottom - span, x))
    from scipy import stats  # here, not at the top: every pytest run imports this module, and
    #                          scipy.stats costs 1.4 s of a run that bootstraps nothing
    res = stats.bootstrap((x,), STATISTICS[statistic], n_resamples=N_RESAMPLES,
                          confidence_level=CONFIDENCE, method="percentile",
                          rng=np.random.default_rng(BOOTSTRAP_SEED))
    low, high = float(res.confidence_interval.low), float(res.confidence_interval.high)
    # Clamp to the data's range (the percentile interpolation can step an ulp outside it), and
    # read a bound that lies in a stand-in's half-span as +-inf.
    if low < bottom - span / 2:
        low = -math.inf
    if high > top + span / 2:
        high = math.inf
    return (float(max(low, bottom)) if math.isfinite(low) else low,
            float(min(high, top)) if math.isfinite(high) else high)


def interval_status(op: str, bound: Any, point: float, low: float, high: float) -> str:
    """``held`` when the statistic and its whole interval meet the bound, ``failed`` when the
    whole interval misses it, ``inconclusive`` when the interval straddles it."""
    if any(isinstance(v, float) and math.isnan(v) for v in (point, low, high)):
        return "failed"
    if op == "in":
        if bound[0] <= low and high <= bound[1] and bound[0] <= point <= bound[1]:
            return "held"
        return "failed" if high < bound[0] or low > bound[1] else "inconclusive"
    ok = [bool(_OPS[op](v, bound)) for v in (point, low, high)]
    return "held" if all(ok) else ("failed" if not any(ok) else "inconclusive")


# --- outcomes ---------------------------------------------------------------------------------------
class Inconclusive(Exception):
    """A test whose failing checks are all seed statistics whose interval straddles the bound.

    Deliberately not an AssertionError: a known non-reproduction (``xfail(raises=
    AssertionError)``) that turns inconclusive is a failure in pytest, not an expected failure."""


class ChangedNonReproduction(Exception):
    """A known non-reproduction whose failed checks left the intervals pinned for them (or failed
    without one): the finding's numbers changed. Not an AssertionError, so the strict xfail of a
    known non-reproduction does not absorb it: the test fails and CI with it."""


def pin_status(value: Any, pinned: Any) -> str | None:
    """``inside`` or ``outside`` the pinned ``[low, high]`` (None where nothing is pinned)."""
    if pinned is None:
        return None
    numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
    if numeric and not math.isnan(value) and pinned[0] <= value <= pinned[1]:
        return "inside"
    return "outside"


class Evidence:
    """Records evidence for one test. ``sink`` is the item's ``user_properties`` list;
    ``expects_failure`` is set for a known non-reproduction, whose failed checks must each stay
    inside the interval pinned for them (``pinned=``)."""

    def __init__(self, sink: list, checks_allowed: bool = True, expects_failure: bool = False):
        self._sink = sink
        self._checks_allowed = checks_allowed
        self._expects_failure = expects_failure
        self.failures: list[tuple[str, str]] = []  # (status, message)
        self.changed: list[str] = []                # failed checks outside (or without) a pin
        self._check_names: set[str] = set()

    def _add(self, kind: str, payload: dict) -> None:
        self._sink.append((PREFIX + kind, portable(payload)))

    def _validated(self, op: str, bound: Any, reference: Reference | None,
                   pinned: Any = None) -> Any:
        if pinned is not None:
            if not self._expects_failure:
                raise TypeError("pinned= is for the failed checks of a known non-reproduction")
            if not (len(pinned) == 2 and pinned[0] <= pinned[1]):
                raise ValueError("pinned takes a (low, high) interval")
        if not self._checks_allowed:
            raise TypeError("a benchmark records numbers; it does not check them (speed never "
                            "gates a verdict): use evidence.record")
        if op not in _OPS:
            raise ValueError(f"unknown comparison {op!r}; use one of {sorted(_OPS)}")
        bound = plain(bound)
        if op == "in" and not (isinstance(bound, list) and len(bound) == 2):
            raise ValueError("op 'in' takes a (low, high) bound")
        if reference is not None and not isinstance(reference, Reference):
            raise TypeError("reference must be made by paper(), figure(), theory() or "
                            "measured(), which say what kind of value it is")
        return bound

    def _store(self, payload: dict, message: str, pinned: Any = None) -> bool:
        if payload["name"] in self._check_names:
            raise ValueError(f"check name {payload['name']!r} is used twice in this test: a "
                             "check is known by its name (in the report, repro compare and the "
                             "planted-bug table); bound both ends with op 'in' or name each")
        self._check_names.add(payload["name"])
        payload["pinned"] = plain(pinned)
        payload["pin_status"] = pin_status(payload["value"], payload["pinned"])
        self._add("check", payload)
        if payload["status"] != "held":
            self.failures.append((payload["status"], message))
            if self._expects_failure and payload["pin_status"] != "inside":
                self.changed.append(
                    f"{message}; pinned {format_bound('in', payload['pinned'])}"
                    if payload["pinned"] else f"{message}; no interval pinned for it")
        return payload["status"] == "held"

    def check(self, name: str, value: Any, op: str, bound: Any,
              reference: Reference | None = None, pinned: Any = None) -> bool:
        """Record ``value`` against ``op bound`` (and a reference with its kind). A failed check
        is recorded and the test goes on; it fails at the end with every failure listed.

        In a known non-reproduction, ``pinned=(low, high)`` is the interval the failing value is
        expected in (measured like any bound): outside it the finding has changed."""
        bound = self._validated(op, bound, reference, pinned)
        value = plain(value)
        numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
        # NaN fails every comparison, so a diverged run fails its check instead of passing it.
        passed = bool(value == bound) if op == "==" else numeric and bool(_OPS[op](value, bound))
        payload = {"name": name, "value": value, "op": op, "bound": bound,
                   "reference": reference.as_dict() if reference else None,
                   "remark": remark_for(value, reference), "status": "held" if passed else
                   "failed", "passed": passed, "seeds": None}
        where = f" ({reference.kind}: {fmt(plain(reference.value))})" if reference else ""
        return self._store(payload, f"{name}: {fmt(value)} is not {format_bound(op, bound)}"
                                    f"{where}", pinned)

    def check_seeds(self, name: str, values: Sequence, statistic: str, op: str, bound: Any,
                    seeds: Sequence[int], reference: Reference | None = None,
                    pinned: Any = None) -> bool:
        """Check a statistic of per-seed ``values`` (``median``, ``mean``, ``gmean``, or
        ``fraction`` of booleans) against ``op bound``, with its 95% bootstrap interval over
        seeds: held when the statistic and the whole interval meet the bound, failed when the
        whole interval misses it, inconclusive when it straddles it. ``pinned``: as for
        :meth:`check`, for the statistic."""
        if statistic not in STATISTICS:
            raise ValueError(f"unknown statistic {statistic!r}; use one of {sorted(STATISTICS)}")
        bound = self._validated(op, bound, reference, pinned)
        per_seed = [plain(v) for v in np.asarray(values).ravel()]
        seeds = [int(s) for s in seeds]
        if len(per_seed) != len(seeds):
            raise ValueError(f"{len(per_seed)} values for {len(seeds)} seeds")
        x = np.asarray(values, dtype=float).ravel()
        point = float(STATISTICS[statistic](x))
        if np.isnan(x).any():
            point, low, high = math.nan, math.nan, math.nan
        else:
            low, high = seed_interval(x, statistic)
        status = interval_status(op, bound, point, low, high)
        n = len(seeds)
        payload = {"name": name, "value": point, "op": op, "bound": bound,
                   "reference": reference.as_dict() if reference else None,
                   "remark": remark_for(point, reference), "status": status,
                   "passed": status == "held",
                   "seeds": {"statistic": statistic, "n": n, "values": per_seed, "seeds": seeds,
                             "interval": [low, high], "confidence": CONFIDENCE}}
        described = f"{statistic} over {n} seeds {fmt(point)} [95% CI {fmt(low)}, {fmt(high)}]"
        verdict = {"failed": "is not", "inconclusive": "straddles"}.get(status, "is")
        return self._store(payload, f"{name}: {described} {verdict} {format_bound(op, bound)}",
                           pinned)

    def check_every_seed(self, name: str, holds: Sequence[bool], seeds: Sequence[int],
                         reference: Reference | None = None, pinned: Any = None) -> bool:
        """A property that must hold on every seed: the fraction of seeds where ``holds`` is true
        checked == 1 (``check_seeds`` with ``fraction``), each seed's value kept."""
        return self.check_seeds(name, holds, "fraction", "==", 1.0, seeds=seeds,
                                reference=reference, pinned=pinned)

    def finish(self) -> None:
        """Raise one error listing every failed check: :class:`Inconclusive` if the only failures
        are straddling intervals, :class:`ChangedNonReproduction` if a known non-reproduction's
        failed check left its pinned interval (or has none), else AssertionError."""
        __tracebackhide__ = True  # the failure is the checks' messages, not this frame
        if not self.failures:
            return
        lines = [f"{len(self.failures)} of the test's checks did not hold:"] + [
            f"  [{status}] {message}" for status, message in self.failures]
        if all(status == "inconclusive" for status, _ in self.failures):
            raise Inconclusive("\n".join(lines))
        if self.changed:
            raise ChangedNonReproduction("\n".join(
                ["the known non-reproduction's numbers changed:"]
                + [f"  {message}" for message in self.changed] + lines))
        raise AssertionError("\n".join(lines))

    def record(self, name: str, value: Any, reference: Reference | None = None) -> None:
        """Record a number that is reported but not asserted (a documented discrepancy, a size)."""
        value = plain(value)
        self._add("record", {"name": name, "value": value,
                             "reference": reference.as_dict() if reference else None,
                             "remark": remark_for(value, reference)})

    def reading(self, setting: str, value: Any, verdict: str, basis: str = "ours") -> None:
        """Record a reading of the part's sentence tried in this run: the ``setting`` (horizon,
        metric, data), the ``value`` it gave, and whether the sentence holds under it
        (``verdict``: see :data:`READING_VERDICTS`; ``basis``: :data:`READING_BASES`)."""
        self._add("reading", make_reading(setting, value, verdict, basis, where="this run"))

    def note(self, text: str) -> None:
        """Record a sentence for the report: an assumption, a stated constant, a finding."""
        self._add("note", {"text": str(text)})

    def seeds(self, seeds: Sequence[int]) -> None:
        """Record the seeds a test used."""
        self._add("seeds", {"seeds": [int(s) for s in seeds]})

    def figure(self, name: str, fig, caption: str = "") -> None:
        """Embed a matplotlib Figure as a PNG with the numbers it plots (and close it)."""
        data = figure_data(fig)
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
        png = compact_png(buf.getvalue())
        if getattr(fig.canvas, "manager", None) is not None:  # made through pyplot: release it
            import matplotlib.pyplot as plt
            plt.close(fig)
        self._add("figure", {"name": name, "caption": caption,
                             "png": base64.b64encode(png).decode("ascii"),
                             "data": data})


def figure_data(fig) -> list[dict]:
    """The numbers a figure plots, panel by panel: each line's label and x, y values and each
    scatter's points, with the panel's title and axis labels (shaded bands are drawn from the
    same numbers' ranges and are not repeated)."""
    panels = []
    for ax in fig.get_axes():
        series = [{"kind": "line", "label": line.get_label(),
                   "x": plain(np.asarray(line.get_xdata(), dtype=float)),
                   "y": plain(np.asarray(line.get_ydata(), dtype=float))}
                  for line in ax.get_lines() if not line.get_label().startswith("_child")
                  or len(line.get_xdata()) > 2]
        series += [{"kind": "points", "label": c.get_label(),
                    "xy": plain(np.asarray(c.get_offsets(), dtype=float))}
                   for c in ax.collections if type(c).__name__ == "PathCollection"]
        if series:
            panels.append({"title": ax.get_title(), "xlabel": ax.get_xlabel(),
                           "ylabel": ax.get_ylabel(), "xscale": ax.get_xscale(),
                           "yscale": ax.get_yscale(), "series": series})
    return panels
