"""The results store: one run's evidence as ``results.json``.

The plugin (``conftest.py``) turns each finished test into a *test record* and calls
:func:`build_results` once at the end of the session; the report builder reads the file back.
Schema (``version`` 1)::

    {"version": 1,
     "claims": [{"id", "title", "statement", "source", "sources", "module", "verdict", "tier",
                 "tiers", "seeds", "duration_s",
                 "checks": [{"name", "value", "op", "bound", "paper", "passed", "test", "tier"}],
                 "records": [{"name", "value", "paper", "test"}], "notes": [{"text", "test"}],
                 "figures": [{"name", "caption", "png", "test"}],
                 "tests": [{"nodeid", "name", "doc", "tier", "outcome", "verdict", "message",
                            "duration_s"}]}],
     "benchmarks": [{"name", "fullname", "group", "claim", "median_s", "rounds", "units",
                     "per_unit_s", "baseline", "speedup"}],
     "totals": {...}, "environment": {...}}

Non-finite floats are stored as the strings "nan", "inf" and "-inf" so the file is strict JSON.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any, Iterable

from .evidence import PREFIX

VERSION = 1
VERDICTS = ("reproduced", "not_reproduced", "not_reproduced_expected", "skipped", "error")

# How a test's outcome reads as a verdict. A test that fails on an assertion (a check, or a strict
# xfail that passed) did not reproduce; any other exception is a broken test, not a finding.
_TEST_VERDICT = {
    "passed": "reproduced",
    "xpassed": "reproduced",
    "failed": "not_reproduced",
    "xfailed": "not_reproduced_expected",
    "skipped": "skipped",
    "error": "error",
}


def test_verdict(outcome: str, exc_type: str | None) -> str:
    if outcome in ("failed", "xfailed") and exc_type not in (None, "AssertionError"):
        return "error"
    return _TEST_VERDICT[outcome]


def claim_verdict(tests: list[dict], n_checks_passed: int) -> str:
    """error > not_reproduced > reproduced > not_reproduced_expected > skipped.

    ``reproduced`` needs at least one passing check: a claim whose only passing tests are
    benchmarks, or tests that assert nothing through the evidence fixture, has shown nothing.
    """
    verdicts = {t["verdict"] for t in tests}
    if "error" in verdicts:
        return "error"
    if "not_reproduced" in verdicts:
        return "not_reproduced"
    if "reproduced" in verdicts and n_checks_passed > 0:
        return "reproduced"
    if "not_reproduced_expected" in verdicts:
        return "not_reproduced_expected"
    if "reproduced" in verdicts:
        return "error"  # tests ran and passed but checked nothing: a defect, not a verdict
    return "skipped"


_TIER_ORDER = {"default": 0, "slow": 1, "gpu": 2}


def build_results(tests: Iterable[dict], benchmarks: Iterable[dict], environment: dict) -> dict:
    """Group test records by claim and derive verdicts, totals and benchmark speedups.

    A test record: ``{"nodeid", "line", "claim": {...} | None, "tier", "outcome", "exc_type",
    "message", "duration_s", "doc", "properties": [(kind, payload), ...]}``. Tests without a claim (unit
    tests under ``tests/``) are counted in the totals only.
    """
    claims: dict[str, dict] = {}
    totals = {"tests": 0, "outcomes": {}, "checks": 0, "checks_failed": 0}
    # Definition order within each file: the same order whichever process ran which test.
    for rec in sorted(tests, key=lambda r: (r["nodeid"].split("::")[0], r.get("line", 0),
                                            r["nodeid"])):
        totals["tests"] += 1
        totals["outcomes"][rec["outcome"]] = totals["outcomes"].get(rec["outcome"], 0) + 1
        meta = rec.get("claim")
        if not meta:
            continue
        claim = claims.setdefault(meta["id"], _new_claim(meta))
        name = rec["nodeid"].split("::")[-1]
        verdict = test_verdict(rec["outcome"], rec.get("exc_type"))
        claim["tests"].append({"nodeid": rec["nodeid"], "name": name, "doc": rec.get("doc", ""),
                               "tier": rec["tier"], "outcome": rec["outcome"], "verdict": verdict,
                               "message": rec.get("message", ""),
                               "duration_s": rec.get("duration_s", 0.0)})
        claim["duration_s"] += rec.get("duration_s", 0.0)
        ran = rec["outcome"] != "skipped"
        if ran and rec["tier"] not in claim["tiers"]:
            claim["tiers"].append(rec["tier"])
        for kind, payload in rec.get("properties", []):
            if not kind.startswith(PREFIX):
                continue
            kind = kind[len(PREFIX):]
            tagged = dict(payload, test=name)
            if kind == "check":
                claim["checks"].append(dict(tagged, tier=rec["tier"]))
                totals["checks"] += 1
                totals["checks_failed"] += not payload["passed"]
            elif kind == "record":
                claim["records"].append(tagged)
            elif kind == "note":
                claim["notes"].append(tagged)
            elif kind == "figure":
                claim["figures"].append(tagged)
            elif kind == "seeds":
                claim["seeds"] = sorted(set(claim["seeds"]) | set(payload["seeds"]))

    for claim in claims.values():
        passed_checks = sum(c["passed"] for c in claim["checks"]
                            if _verdict_of(claim, c["test"]) == "reproduced")
        claim["verdict"] = claim_verdict(claim["tests"], passed_checks)
        claim["tiers"].sort(key=_TIER_ORDER.get)
        claim["tier"] = claim["tiers"][-1] if claim["tiers"] else "none"

    ordered = sorted(claims.values(), key=lambda c: c["id"])
    totals["claims"] = {v: sum(c["verdict"] == v for c in ordered) for v in VERDICTS}
    totals["duration_s"] = sum(c["duration_s"] for c in ordered)
    return {"version": VERSION, "claims": ordered, "benchmarks": pair_benchmarks(benchmarks),
            "totals": totals, "environment": environment}


def _verdict_of(claim: dict, test_name: str) -> str:
    return next(t["verdict"] for t in claim["tests"] if t["name"] == test_name)


def _new_claim(meta: dict) -> dict:
    sources = list(meta.get("sources", []))
    return {"id": meta["id"], "title": meta.get("title", meta["id"]),
            "statement": meta.get("statement", ""), "source": "; ".join(sources),
            "sources": sources, "module": meta.get("module", ""), "verdict": "skipped",
            "tier": "none", "tiers": [], "seeds": [], "duration_s": 0.0, "checks": [],
            "records": [], "notes": [], "figures": [], "tests": []}


def pair_benchmarks(benchmarks: Iterable[dict]) -> list[dict]:
    """Attach to each benchmark that names a ``baseline`` its speedup over it, per unit of work.

    ``units`` (default 1) is the amount of work one call does (configurations x steps, say), so a
    batched kernel and the naive loop it replaces can be timed on different sizes and still be
    compared. The baseline is looked up by name in the same claim first, then anywhere.
    """
    out = []
    for b in benchmarks:
        b = dict(b)
        b["units"] = b.get("units") or 1
        b["per_unit_s"] = b["median_s"] / b["units"] if b.get("median_s") is not None else None
        out.append(b)
    for b in out:
        b.setdefault("baseline", None)
        b["speedup"] = None
        if not b["baseline"] or b["per_unit_s"] is None:
            continue
        same = [o for o in out if o["name"] == b["baseline"] and o.get("claim") == b.get("claim")]
        base = (same or [o for o in out if o["name"] == b["baseline"]] or [None])[0]
        if base is not None and base["per_unit_s"]:
            b["speedup"] = base["per_unit_s"] / b["per_unit_s"]
    return out


# ---------------------------------------------------------------------------------------------
def _strict(x: Any) -> Any:
    if isinstance(x, float) and not math.isfinite(x):
        return "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")
    if isinstance(x, dict):
        return {k: _strict(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_strict(v) for v in x]
    return x


def write_atomic(results: dict, path: str | os.PathLike) -> Path:
    """Write ``results`` as strict JSON to ``path`` via a temporary file and a rename, so a reader
    never sees a half-written file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    os.fchmod(fd, 0o644)  # mkstemp makes it private; a results file is for reading
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(_strict(results), f, indent=1, allow_nan=False)
            f.write("\n")
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def load(path: str | os.PathLike) -> dict:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no results file at {path}: run `repro report` first")
    with path.open(encoding="utf-8") as f:
        results = json.load(f)
    if results.get("version") != VERSION:
        raise ValueError(f"{path} has results version {results.get('version')!r}, expected {VERSION}")
    return results


def collect_environment(root: str | os.PathLike, **extra: Any) -> dict:
    """Versions, hardware and the git commit of ``root``: what a reader needs to repeat a run."""
    import platform
    import subprocess
    import sys

    env: dict[str, Any] = {"python": platform.python_version(), "platform": platform.platform()}
    for mod in ("torch", "numpy", "scipy", "pytest"):
        try:
            env[mod] = __import__(mod).__version__
        except Exception:  # not installed: say so rather than fail the run
            env[mod] = None
    env["cpu"] = _cpu_model()
    env["cpu_count"] = os.cpu_count()
    try:
        import torch
        env["torch_threads"] = torch.get_num_threads()
        env["cuda"] = torch.version.cuda
        env["gpu"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    except Exception:
        env["gpu"] = None

    def git(*args):
        try:
            return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True,
                                  timeout=10).stdout.strip() or None
        except Exception:
            return None

    env["git_commit"] = git("rev-parse", "--verify", "-q", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no")
    env["git_dirty"] = bool(status) if env["git_commit"] else None
    env["argv"] = sys.argv[1:]
    env.update(extra)
    return env


def _cpu_model() -> str:
    import platform
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()
