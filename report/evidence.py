"""What a claim test records: checks (a metric, its bound, the paper's value), numbers, notes,
figures and seeds.

A check is written once: ``Evidence.check`` records the metric with its bound and asserts it in
the same call, so the report shows exactly what was asserted. Every record is appended at once to
the pytest item's ``user_properties`` as a ``(kind, payload)`` pair of plain JSON-able values:
pytest copies them onto the test report, which pytest-xdist carries from its workers to the
controller, where the results store reads them. Nothing is kept in a global.
"""

from __future__ import annotations

import base64
import io
import math
import operator
from typing import Any, Callable, Sequence

PREFIX = "optclaims."

_OPS: dict[str, Callable[[Any, Any], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "==": operator.eq,
    "in": lambda v, b: b[0] <= v <= b[1],
}


def plain(x: Any) -> Any:
    """A JSON-able copy of a number, array scalar, tensor scalar, sequence or mapping."""
    if x is None or isinstance(x, (bool, str)):
        return x
    if isinstance(x, dict):
        return {str(k): plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [plain(v) for v in x]
    if hasattr(x, "tolist"):  # numpy / torch scalars and arrays
        return plain(x.tolist())
    if isinstance(x, int):
        return int(x)
    return float(x)


def format_bound(op: str, bound: Any) -> str:
    if op == "in":
        return f"in [{fmt(bound[0])}, {fmt(bound[1])}]"
    return f"{op} {fmt(bound)}"


def fmt(x: Any) -> str:
    """A short, exact-enough rendering of a recorded value for messages and the report."""
    if isinstance(x, bool) or x is None:
        return str(x)
    if isinstance(x, int):
        return str(x)
    if isinstance(x, float):
        if math.isnan(x) or math.isinf(x):
            return str(x)
        if x != 0 and (abs(x) < 1e-3 or abs(x) >= 1e5):
            return f"{x:.3g}"
        return f"{x:.4g}"
    if isinstance(x, (list, tuple)):
        return "[" + ", ".join(fmt(v) for v in x) + "]"
    return str(x)


class Evidence:
    """Records evidence for one test. ``sink`` is the item's ``user_properties`` list."""

    def __init__(self, sink: list):
        self._sink = sink

    def _add(self, kind: str, payload: dict) -> None:
        self._sink.append((PREFIX + kind, payload))

    def check(self, name: str, value: Any, op: str, bound: Any, paper: Any = None) -> None:
        """Record ``value`` against ``op bound`` (and the paper's value) and assert it."""
        if op not in _OPS:
            raise ValueError(f"unknown comparison {op!r}; use one of {sorted(_OPS)}")
        value, bound, paper = plain(value), plain(bound), plain(paper)
        if op == "in" and not (isinstance(bound, list) and len(bound) == 2):
            raise ValueError("op 'in' takes a (low, high) bound")
        numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
        # NaN fails every comparison, so a diverged run fails its check instead of passing it.
        passed = bool(value == bound) if op == "==" else numeric and bool(_OPS[op](value, bound))
        self._add("check", {"name": name, "value": value, "op": op, "bound": bound,
                            "paper": paper, "passed": passed})
        if not passed:
            where = f" (paper: {fmt(paper)})" if paper is not None else ""
            raise AssertionError(f"{name}: {fmt(value)} is not {format_bound(op, bound)}{where}")

    def record(self, name: str, value: Any, paper: Any = None) -> None:
        """Record a number that is reported but not asserted (a documented discrepancy, a size)."""
        self._add("record", {"name": name, "value": plain(value), "paper": plain(paper)})

    def note(self, text: str) -> None:
        """Record a sentence for the report: an assumption, a stated constant, a finding."""
        self._add("note", {"text": str(text)})

    def seeds(self, seeds: Sequence[int]) -> None:
        """Record the seeds a test used."""
        self._add("seeds", {"seeds": [int(s) for s in seeds]})

    def figure(self, name: str, fig, caption: str = "") -> None:
        """Embed a matplotlib Figure as a PNG (and close it)."""
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
        if getattr(fig.canvas, "manager", None) is not None:  # made through pyplot: release it
            import matplotlib.pyplot as plt
            plt.close(fig)
        self._add("figure", {"name": name, "caption": caption,
                             "png": base64.b64encode(buf.getvalue()).decode("ascii")})
