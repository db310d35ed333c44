"""Compare two runs: what changed between an earlier results.json and a later one.

``repro compare EARLIER.json LATER.json`` prints, for a CI log: environment differences (torch,
numpy, device, commit), flipped verdicts of claims, parts and document sentences, checks whose status changed, values that
left the earlier run's seed interval, and margins that shrank by more than half. It exits 1 when
a verdict flipped, so a torch upgrade or a refactor that changes a verdict fails the job; a part
that one run did not judge (not run, outside the run) is listed as not comparable, not as a flip.
"""

from __future__ import annotations

import math
from typing import Any

UNJUDGED = ("not_run", "outside_run")  # a verdict that says nothing about the claim
ENVIRONMENT_KEYS = ("git_commit", "python", "torch", "numpy", "scipy", "sklearn", "gpu", "cpu",
                    "torch_threads", "seed", "runslow")


def margin(check: dict) -> float | None:
    """How far a check is from its bound, as a ratio that is 1 at the bound and grows with room:
    value / bound for > and >=, bound / value for < and <=, using the end of the seed interval
    nearest the bound. None where a ratio means nothing (==, 'in', a zero or sign-changing
    bound, a non-numeric value, a fraction of seeds bounded by 0 or 1)."""
    op, bound = check.get("op"), check.get("bound")
    if (check.get("seeds") or {}).get("statistic") == "fraction" and bound in (0, 1):
        return None     # "every seed" / "no seed": at the bound is the only way to hold
    value = _nearest_end(check)
    if op not in (">", ">=", "<", "<=") or not _number(bound) or not _number(value):
        return None
    if bound == 0 or value == 0 or (bound > 0) != (value > 0):
        return None
    ratio = value / bound if op in (">", ">=") else bound / value
    return ratio if bound > 0 else 1 / ratio


def _nearest_end(check: dict) -> Any:
    interval = (check.get("seeds") or {}).get("interval")
    if not interval or not all(_number(x) for x in interval):
        return check.get("value")
    return interval[0] if check.get("op") in (">", ">=") else interval[1]


def _number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _verdicts(results: dict) -> dict[str, str]:
    out = {}
    for claim in results["claims"]:
        out[f"claim {claim['id']}"] = claim["verdict"]
        for part in claim["parts"]:
            out[f"part {claim['id']} / {part['id']}"] = part["verdict"]
    for entry in (results.get("catalogue") or {}).get("entries", []):
        if entry.get("verdict") not in (None, "not_checkable", "not_covered"):
            out[f"sentence {entry['id']}"] = entry["verdict"]
    return out


def _checks(results: dict) -> dict[str, dict]:
    return {f"{claim['id']} :: {check['test']} :: {check['name']}": check
            for claim in results["claims"] for check in claim["checks"]}


def compare(earlier: dict, later: dict) -> dict:
    """Everything that differs between two runs, grouped by kind (see the module docstring)."""
    env_a, env_b = earlier.get("environment", {}), later.get("environment", {})
    environment = {k: (env_a.get(k), env_b.get(k)) for k in ENVIRONMENT_KEYS
                   if env_a.get(k) != env_b.get(k)}
    va, vb = _verdicts(earlier), _verdicts(later)
    flipped, not_comparable = [], []
    for key in sorted(set(va) | set(vb)):
        a, b = va.get(key), vb.get(key)
        if a == b:
            continue
        target = not_comparable if a in UNJUDGED + (None,) or b in UNJUDGED + (None,) \
            else flipped
        target.append({"what": key, "earlier": a, "later": b})
    ca, cb = _checks(earlier), _checks(later)
    status_changed, left_interval, shrunk = [], [], []
    for key in sorted(set(ca) & set(cb)):
        a, b = ca[key], cb[key]
        if a["status"] != b["status"]:
            status_changed.append({"what": key, "earlier": a["status"], "later": b["status"]})
        interval = (a.get("seeds") or {}).get("interval")
        if interval and _number(b.get("value")) and all(_number(x) for x in interval) \
                and not interval[0] <= b["value"] <= interval[1]:
            left_interval.append({"what": key, "earlier": interval, "later": b["value"]})
        ma, mb = margin(a), margin(b)
        if ma and mb and ma > 1 and (mb - 1) < 0.5 * (ma - 1):
            shrunk.append({"what": key, "earlier": ma, "later": mb})
    return {"environment": environment, "flipped": flipped, "not_comparable": not_comparable,
            "status_changed": status_changed, "left_interval": left_interval,
            "margin_shrunk": shrunk,
            "checks_only_earlier": sorted(set(ca) - set(cb)),
            "checks_only_later": sorted(set(cb) - set(ca))}


def as_text(diff: dict, earlier_name: str, later_name: str) -> str:
    lines = [f"repro compare: {earlier_name} -> {later_name}"]
    for key, (a, b) in diff["environment"].items():
        lines.append(f"  environment {key}: {a} -> {b}")
    sections = (("VERDICT FLIPPED", "flipped"), ("not comparable (judged in one run only)",
                                                 "not_comparable"),
                ("check status changed", "status_changed"),
                ("value left the earlier run's seed interval", "left_interval"),
                ("margin to the bound shrank by more than half", "margin_shrunk"))
    for title, key in sections:
        if diff[key]:
            lines.append(f"{title} ({len(diff[key])}):")
            lines += [f"  {d['what']}: {_fmt(d['earlier'])} -> {_fmt(d['later'])}"
                      for d in diff[key]]
    for title, key in (("checks only in the earlier run", "checks_only_earlier"),
                       ("checks only in the later run", "checks_only_later")):
        if diff[key]:
            lines.append(f"{title}: {len(diff[key])}")
    if len(lines) == 1:
        lines.append("  no differences in verdicts, checks or environment")
    lines.append("verdicts: " + (f"{len(diff['flipped'])} flipped" if diff["flipped"]
                                 else "none flipped"))
    return "\n".join(lines)


def _fmt(x: Any) -> str:
    if isinstance(x, float):
        return f"{x:.4g}"
    if isinstance(x, list):
        return "[" + ", ".join(_fmt(v) for v in x) + "]"
    return str(x)
