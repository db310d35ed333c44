"""results.json -> one self-contained HTML file (figures embedded as data URIs).

Everything shown is read from the results store; nothing is recomputed here, so the report shows
exactly what the tests asserted.
"""

from __future__ import annotations

import base64
import json
import math
from datetime import datetime, timezone
from pathlib import Path

import jinja2
from markupsafe import Markup, escape

from .compare import margin
from .documents import READER_VERDICTS, count_line, document_view
from .evidence import REFERENCE_KINDS, fmt, format_bound
from .papers import linked
from .pictures import claim_pictures, why_no_picture
from .results import strict_json
from .verdicts import ENTRY_LEGEND, GATING, LABELS, LEGEND, ROLES


def seed_ranges(seeds: list[int]) -> str:
    """[0, 1, 2, 3, 7] -> '0-3, 7'."""
    out, seeds = [], sorted(seeds)
    i = 0
    while i < len(seeds):
        j = i
        while j + 1 < len(seeds) and seeds[j + 1] == seeds[j] + 1:
            j += 1
        out.append(str(seeds[i]) if i == j else f"{seeds[i]}\u2013{seeds[j]}")
        i = j + 1
    return ", ".join(out)


def duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 1e-3:
        return f"{seconds * 1e6:.3g} \u00b5s"
    if seconds < 1:
        return f"{seconds * 1e3:.3g} ms"
    if seconds < 120:
        return f"{seconds:.3g} s"
    return f"{seconds / 60:.3g} min"


def speedup(x: float | None) -> Markup:
    """A speedup to three significant digits; below 1 it is a slowdown and says so."""
    if not x:
        return Markup("")
    text = f"{x:.3g}\u00d7"
    if x < 1:
        return Markup('<span class="slower" title="slower than its baseline">{} (slower)</span>'
                      ).format(text)
    return Markup("{}").format(text)


def json_data_uri(value) -> str:
    """``value`` as a base64 JSON data URI, for a download link beside a figure."""
    text = json.dumps(strict_json(value), allow_nan=False, default=str, separators=(",", ":"))
    return "data:application/json;base64," + base64.b64encode(text.encode()).decode("ascii")


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.PackageLoader("optclaims_report", "templates"),
                             autoescape=jinja2.select_autoescape(default=True),
                             trim_blocks=True,
                             lstrip_blocks=True)
    env.filters.update(num=fmt, bound=lambda c: format_bound(c["op"], c["bound"]), spark=sparkline,
                       margin=margin_text,
                       seeds=seed_ranges, duration=duration,
                       verdict=lambda v: LABELS.get(v, v), linked=linked,
                       data_uri=json_data_uri, speedup=speedup, count_line=count_line)
    return env


def by_test(claim: dict) -> list[dict]:
    """The claim's tests in order, each with its own checks, records and notes attached."""
    out = []
    for t in claim["tests"]:
        mine = lambda items: [x for x in items if x["test"] == t["name"]]  # noqa: E731
        out.append(dict(t, checks=mine(claim["checks"]), records=mine(claim["records"]),
                        notes=mine(claim["notes"])))
    return out


def tightest_margin(checks: list[dict]) -> float | None:
    """The smallest margin (compare.margin: 1 at the bound, above 1 with room, below 1 missing
    it) over checks that have one; None when none has."""
    margins = [m for m in (margin(k) for k in checks) if m is not None]
    return min(margins) if margins else None


def margin_text(m: float | None) -> str:
    return "" if m is None else f"×{m:.2g}" if m < 100 else "×≥100"


def by_part(claim: dict) -> list[dict]:
    """The claim's parts in role order (gating roles first), each with its tests attached."""
    tests = by_test(claim)
    parts = sorted(claim["parts"], key=lambda p: ROLES.index(p["role"]))
    out = [dict(p, gating=p["role"] in GATING, margin=tightest_margin(
                    [k for k in claim["checks"] if k["part"] == p["id"]]),
                by_test=[t for t in tests if t["part"] == p["id"]]) for p in parts]
    unparted = [t for t in tests if t["part"] is None]
    if unparted:
        out.append({"id": "benchmarks", "role": "speed", "statement": "Speed of the claim's "
                    "kernels beside the naive code they replace (gates no verdict).",
                    "source": "", "verdict": None, "reason": "", "gating": False,
                    "by_test": unparted, "expected": []})
    return out


def sparkline(values: list, width: int = 80, height: int = 16) -> Markup:
    """An inline SVG polyline of a check's value over earlier runs (None: a run without it);
    empty when fewer than two runs have a number."""
    points = [(i, float(v)) for i, v in enumerate(values or [])
              if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)]
    if len(points) < 2:
        return Markup("")
    ys = [y for _, y in points]
    lo, hi = min(ys), max(ys)
    span_x, span_y = max(len(values) - 1, 1), (hi - lo) or 1.0
    xy = " ".join(f"{1 + (width - 2) * i / span_x:.1f},{height - 1 - (height - 2) * (y - lo) / span_y:.1f}"
                  for i, y in points)
    last_x, last_y = xy.split(" ")[-1].split(",")
    title = escape(f"{len(points)} runs on this machine: {fmt(ys[0])} ... {fmt(ys[-1])} "
                   f"(range {fmt(lo)} to {fmt(hi)})")
    return Markup(f'<svg class="spark" width="{width}" height="{height}" role="img">'
                  f'<title>{title}</title><polyline points="{xy}" fill="none" '
                  f'stroke="#57606a" stroke-width="1"/><circle cx="{last_x}" cy="{last_y}" '
                  f'r="1.8" fill="#0969da"/></svg>')


def stopped_run(results: dict) -> dict | None:
    """For a run that did not finish: whether it was interrupted (SIGINT/SIGTERM, pytest wrote
    its results on the way out) or its results file is the last periodic write of a run that was
    killed or is still going, and how many claim tests did not run to the end. None for a
    finished run (and for merged runs, whose sources each say)."""
    env = results.get("environment", {})
    if env.get("complete", True) or env.get("merged_from"):
        return None
    cut = sum(t.get("skip_kind") == "interrupted" for c in results["claims"] for t in c["tests"])
    return {"interrupted": bool(env.get("interrupted")), "tests_cut": cut,
            "written_utc": env.get("written_utc")}


def render(results: dict, changes: dict | None = None, series: dict | None = None,
           mutation: dict | None = None) -> str:
    """The report as one HTML string; ``changes`` (history.changes_since_last_run) adds the
    "changed since the last run" section, ``series`` (history.check_series) each check's
    sparkline over earlier runs, and ``mutation`` (mutants.latest) the mutation score."""
    benchmarks_by_claim: dict[str | None, list] = {}
    for b in results.get("benchmarks", []):
        benchmarks_by_claim.setdefault(b.get("claim"), []).append(b)
    claims = []
    for c in results["claims"]:
        pictures = claim_pictures(c)
        claims.append(dict(c, by_part=by_part(c), pictures=pictures, no_picture="" if (
            pictures or c.get("figures")) else why_no_picture(c)))
    return _environment().get_template("report.html").render(
        results=results, claims=claims, env=results.get("environment", {}),
        stopped=stopped_run(results),
        legend=LEGEND, entry_legend=ENTRY_LEGEND, roles=ROLES, reference_kinds=REFERENCE_KINDS,
        totals=results.get("totals", {}), benchmarks=results.get("benchmarks", []),
        benchmarks_by_claim=benchmarks_by_claim, changes=changes, series=series or {},
        mutation=mutation, documents=document_view(
            results.get("catalogue"), {c["id"] for c in results["claims"]}),
        reader_verdicts=READER_VERDICTS,
        built=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"))


def write_report(results: dict, out_dir: str | Path, changes: dict | None = None,
                 series: dict | None = None, mutation: dict | None = None) -> Path:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "index.html"
    tmp = path.with_suffix(".html.tmp")
    tmp.write_text(render(results, changes, series, mutation), encoding="utf-8")
    tmp.replace(path)
    return path
