"""Pictures drawn from a run's own numbers, for the claims whose tests plot nothing themselves.

A check over seeds stores every seed's value (results.json, ``checks[].seeds.values``); its strip
plot shows them against the check's bound, with the statistic the check judges and its 95%
interval, as a small inline SVG (a few hundred bytes: the report stays one file and no image has
to decode). A claim with neither a figure of its own nor a numeric check over seeds says why no
picture helps.
"""

from __future__ import annotations

import math

from markupsafe import Markup, escape

from .evidence import fmt

WIDTH, HEIGHT, PAD = 420, 50, 8
AXIS_Y = 34


def _numbers(values) -> list[float] | None:
    """The values as floats, or None when any is not a finite number (a fraction check's
    booleans, a missing seed)."""
    if any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in values):
        return None
    out = [float(v) for v in values]
    return out if all(math.isfinite(v) for v in out) else None


def _bounds(check: dict) -> list[float]:
    bound = check.get("bound")
    if check.get("op") == "in" and isinstance(bound, (list, tuple)):
        return [float(b) for b in bound if isinstance(b, (int, float)) and math.isfinite(b)]
    if isinstance(bound, (int, float)) and not isinstance(bound, bool) and math.isfinite(bound):
        return [float(bound)]
    return []


def strip_plot(check: dict) -> Markup | None:
    """The per-seed values of a check over seeds as an SVG strip: a dot per seed, the bound as a
    red line (two for a range), the statistic as a blue tick inside its interval's band. A log
    axis when every number is positive and they span a factor of 50 or more. None when the check
    has no numeric per-seed values (fewer than 3, or booleans)."""
    seeds = check.get("seeds") or {}
    values = _numbers(seeds.get("values") or [])
    if not values or len(values) < 3:
        return None
    bounds = _bounds(check)
    interval = [float(x) for x in seeds.get("interval") or [] if isinstance(x, (int, float))
                and math.isfinite(x)]
    stat = check.get("value")
    stat = float(stat) if isinstance(stat, (int, float)) and not isinstance(stat, bool) and \
        math.isfinite(stat) else None
    every = values + bounds + interval + ([stat] if stat is not None else [])
    lo, hi = min(every), max(every)
    log = lo > 0 and hi / lo >= 50
    if log:
        lo, hi = math.log10(lo), math.log10(hi)
    span = (hi - lo) or 1.0

    def x(v: float) -> float:
        return PAD + (WIDTH - 2 * PAD) * ((math.log10(v) if log else v) - lo) / span

    band = (f'<rect x="{x(interval[0]):.1f}" y="14" width="{max(x(interval[1]) - x(interval[0]), 1):.1f}" '
            f'height="26" fill="#ddf4ff"/>' if len(interval) == 2 else "")
    dots = "".join(f"M{x(v):.1f} {AXIS_Y - 4 - 3 * (i % 5)}h0" for i, v in enumerate(values))
    lines = "".join(f'<line x1="{x(b):.1f}" x2="{x(b):.1f}" y1="8" y2="{AXIS_Y + 4}" '
                    f'stroke="#cf222e" stroke-width="1.5"/>' for b in bounds)
    tick = (f'<line x1="{x(stat):.1f}" x2="{x(stat):.1f}" y1="12" y2="{AXIS_Y + 2}" '
            f'stroke="#0969da" stroke-width="2.5"/>' if stat is not None else "")
    ends = 10 ** lo if log else lo, 10 ** hi if log else hi
    title = (f"{check.get('name', '')}: {len(values)} seeds, {seeds.get('statistic', '')} "
             f"{fmt(stat) if stat is not None else '?'}"
             + (f" [{fmt(interval[0])}, {fmt(interval[1])}]" if len(interval) == 2 else "")
             + (f", bound {check.get('op')} {', '.join(fmt(b) for b in bounds)}" if bounds else "")
             + (", log axis" if log else ""))
    return Markup(
        f'<svg class="strip" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'role="img"><title>{escape(title)}</title>{band}'
        f'<line x1="{PAD}" x2="{WIDTH - PAD}" y1="{AXIS_Y}" y2="{AXIS_Y}" stroke="#8c959f"/>'
        f'{lines}{tick}<path d="{dots}" stroke="#1f2328" stroke-width="4" '
        f'stroke-linecap="round" opacity=".55"/>'
        f'<text x="{PAD}" y="{HEIGHT - 2}" font-size="10" fill="#57606a">{escape(fmt(ends[0]))}'
        f'</text><text x="{WIDTH - PAD}" y="{HEIGHT - 2}" font-size="10" fill="#57606a" '
        f'text-anchor="end">{escape(fmt(ends[1]))}{" (log)" if log else ""}</text></svg>')


def claim_pictures(claim: dict) -> list[dict]:
    """The strip plots of a claim's numeric checks over seeds, in the order of its checks, then
    of its recorded per-seed numbers (a record whose name says "per seed"; no bound)."""
    out = []
    for check in claim.get("checks", []):
        svg = strip_plot(check)
        if svg is not None:
            out.append({"check": check["name"], "test": check.get("test", ""),
                        "status": check.get("status"), "svg": svg,
                        "n": len(check["seeds"]["values"])})
    for record in claim.get("records", []):
        values = record.get("value")
        if "per seed" not in record.get("name", "") or not isinstance(values, list):
            continue
        svg = strip_plot({"name": record["name"], "seeds": {"values": values}})
        if svg is not None:
            out.append({"check": record["name"], "test": record.get("test", ""),
                        "status": "recorded", "svg": svg, "n": len(values)})
    return out


def why_no_picture(claim: dict) -> str:
    """For a claim with no figure and no numeric check over seeds: what its checks are, and so
    why a picture would add nothing to the numbers in its table."""
    checks = claim.get("checks", [])
    if not claim.get("tests") or all(t.get("outcome") in ("skipped", None)
                                     for t in claim["tests"]):
        return "No picture: none of its tests ran in this run."
    later = [t for t in claim["tests"] if t.get("skip_kind") == "tier"]
    if later:
        tiers = " or ".join(sorted({t.get("tier") or "slow" for t in later}))
        return (f"No picture in this run: {len(later)} of its tests run in the {tiers} tier, "
                "and those that ran here compare single numbers (a kernel against torch or a "
                "closed form, a count), which the table below gives.")
    if any(c.get("seeds") for c in checks):
        return ("No picture: its checks over seeds count seeds (each seed passes or not); the "
                "count and the seeds are in the table below.")
    count = f"{len(checks)} checks each compare" if len(checks) != 1 else "one check compares"
    return (f"No picture: its {count} one number with a bound (a closed form, a library's "
            "result, a count or a single run); a plot would show one point per check, which the "
            "table below already gives with its reference.")
