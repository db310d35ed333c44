"""The results store: one run's evidence as ``results.json``.

The plugin (``conftest.py``) turns each finished test into a *test record* and calls
:func:`build_results` once at the end of the session; the report builder reads the file back.
Verdicts follow ``verdicts.py``: tests -> parts -> claim. Schema (``version`` 2)::

    {"version": 2,
     "claims": [{"id", "title", "statement", "sources", "module", "verdict", "verdict_reason",
                 "kind" ("claim" or "discrepancy"), "document", "document_says", "correction",
                 "tiers", "seeds", "duration_s", "torch_threads", "configurations_tried",
                 "parts": [{"id", "role", "statement", "source", "verdict", "reason", "tests",
                            "tiers", "expected"}],
                 "checks": [{"name", "value", "op", "bound", "reference": {"kind", "value",
                             "where"} | null, "remark", "status", "passed", "seeds": {
                             "statistic", "n", "values", "seeds", "interval", "confidence"}
                             | null, "test", "part", "tier"}],
                 "records": [{"name", "value", "reference", "remark", "test", "part"}],
                 "notes": [{"text", "test", "part"}], "figures": [{"name", "caption", "png",
                 "test", "part"}],
                 "tests": [{"nodeid", "name", "part", "benchmark", "doc", "tier", "outcome",
                            "verdict", "message", "duration_s", "xfail_reason"}]}],
     "benchmarks": [{"name", "fullname", "group", "claim", "median_s", "rounds", "units",
                     "per_unit_s", "baseline", "speedup"}],
     "planted_bugs": [{"bug", "claim", "what", "expected_part", "caught", "direct",
                       "caught_by": [{"part", "check", "status"}]}],
     "catalogue": {"entries": [{"id", "source", "statement", "checkable", "covered_by", "note",
                                "verdict"}], "in_documents", "checkable", "checked",
                   "with_verdict"},
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
from .verdicts import (CLAIM_VERDICTS, ENTRY_VERDICTS, LABELS, PART_VERDICTS,
                       claim_verdict_reason, standing_of_part, verdict_of_claim, verdict_of_entry,
                       verdict_of_part, verdict_of_test)

VERSION = 2
_TIER_ORDER = {"default": 0, "slow": 1, "gpu": 2}
_KINDS = {"check": "checks", "record": "records", "note": "notes", "figure": "figures",
          "cache": "cache", "reading": "readings"}


def _test_entry(rec: dict) -> dict:
    """A test as results.json shows it, with its verdict."""
    props = [(k[len(PREFIX):], p) for k, p in rec.get("properties", []) if k.startswith(PREFIX)]
    n_checks = sum(kind == "check" for kind, _ in props)
    if rec.get("benchmark"):
        verdict = {"skipped": "outside_run" if rec.get("skip_kind") == "tier" else "not_run",
                   "passed": "timed"}.get(rec["outcome"], "error")
    else:
        verdict = verdict_of_test(rec["outcome"], rec.get("exc_type"), rec.get("skip_kind"),
                                  n_checks)
    return {"nodeid": rec["nodeid"], "name": rec["nodeid"].split("::")[-1],
            "part": rec.get("part"), "benchmark": bool(rec.get("benchmark")),
            "doc": rec.get("doc", ""), "tier": rec.get("tier", "default"),
            "outcome": rec["outcome"], "verdict": verdict, "message": rec.get("message", ""),
            "duration_s": rec.get("duration_s", 0.0), "skip_kind": rec.get("skip_kind"),
            "xfail_reason": rec.get("xfail_reason"), "_props": props}


def judge_entries(catalogue: list[dict], claims: list[dict]) -> list[dict]:
    """Each catalogue entry (a sentence of the documents) with its one verdict.

    An entry names the parts that judge it (``judged_by``: ``"claim-id/part-id"``). Each part
    inside the run stands for or against the sentence (``verdicts.standing_of_part``: the part,
    gated by its claim's controls and preconditions); the entry's verdict is
    ``verdicts.verdict_of_entry`` of those standings. An entry no code can check is
    ``not_checkable``; a checkable one that no part judges is ``not_covered``."""
    parts = {f"{c['id']}/{p['id']}": (c, p) for c in claims for p in c["parts"]}
    out = []
    for entry in catalogue:
        judged = []
        for ref in entry.get("judged_by", []):
            if ref not in parts:
                continue  # its claim is not in this run
            claim, part = parts[ref]
            inside = part["verdict"] != "outside_run"
            judged.append({"ref": ref, "claim": claim["id"], "part": part["id"],
                           "role": part["role"], "statement": part["statement"],
                           "verdict": part["verdict"],
                           "standing": standing_of_part(part, claim["parts"]) if inside
                           else "outside_run", "readings": part.get("readings", [])})
        if not entry.get("checkable"):
            verdict = "not_checkable"
        elif not entry.get("judged_by"):
            verdict = "not_covered"
        else:
            verdict = verdict_of_entry([j["standing"] for j in judged
                                        if j["standing"] != "outside_run"], entry.get("split"))
        out.append(dict(entry, verdict=verdict, parts=judged))
    return out


def coverage(catalogue: list[dict], claims: list[dict]) -> dict:
    """How much of the documents' catalogue the suite covers, and each sentence's verdict."""
    entries = judge_entries(catalogue, claims)
    judged = [e for e in entries if e["verdict"] not in ("not_checkable", "not_covered")]
    return {"entries": entries, "in_documents": len(entries),
            "checkable": sum(bool(e.get("checkable")) for e in entries),
            "checked": sum(bool(e.get("judged_by")) for e in entries),
            "with_verdict": sum(e["verdict"] not in ("not_run", "outside_run") for e in judged),
            "verdicts": {v: n for v in ENTRY_VERDICTS + ("not_checkable", "not_covered")
                         if (n := sum(e["verdict"] == v for e in entries))},
            "contradictory": [e["id"] for e in entries if e["verdict"] == "contradictory"]}


def build_results(tests: Iterable[dict], benchmarks: Iterable[dict], environment: dict,
                  catalogue: list[dict] | None = None) -> dict:
    """Group test records by claim and derive verdicts (tests -> parts -> claim), totals and
    benchmark speedups.

    A test record: ``{"nodeid", "line", "claim": {...} | None, "tier", "outcome", "exc_type",
    "skip_kind", "part", "benchmark", "xfail_reason", "message", "duration_s", "doc",
    "properties": [(kind, payload), ...]}``. Tests without a claim (unit tests under
    ``tests/``) are counted in the totals only.
    """
    claims: dict[str, dict] = {}
    planted: list[dict] = []
    totals = {"tests": 0, "outcomes": {}}
    # Definition order within each file: the same order whichever process ran which test.
    for rec in sorted(tests, key=lambda r: (r["nodeid"].split("::")[0], r.get("line", 0),
                                            r["nodeid"])):
        totals["tests"] += 1
        totals["outcomes"][rec["outcome"]] = totals["outcomes"].get(rec["outcome"], 0) + 1
        meta = rec.get("claim")
        if not meta:
            planted += [p for k, p in rec.get("properties", []) if k == PREFIX + "planted"]
            continue
        claim = claims.setdefault(meta["id"], _new_claim(meta))
        test = _test_entry(rec)
        for kind, payload in test.pop("_props"):
            tagged = dict(payload, test=test["name"], part=test["part"])
            if kind == "check":
                claim["checks"].append(dict(tagged, tier=test["tier"]))
            elif kind in _KINDS:
                claim[_KINDS[kind]].append(tagged)
            elif kind == "seeds":
                claim["seeds"] = sorted(set(claim["seeds"]) | set(payload["seeds"]))
        claim["tests"].append(test)
        claim["duration_s"] += test["duration_s"]
        if test["outcome"] != "skipped" and test["tier"] not in claim["tiers"]:
            claim["tiers"].append(test["tier"])

    for claim in claims.values():
        _judge(claim)
    return assemble(list(claims.values()), pair_benchmarks(benchmarks), planted, environment,
                    catalogue or [], totals)


def assemble(claims: list[dict], benchmarks: list[dict], planted: list[dict], environment: dict,
             catalogue: list[dict], totals: dict) -> dict:
    """The results file from judged claims: claims in id order, totals, coverage."""
    ordered = sorted(claims, key=lambda c: c["id"])
    totals = dict(totals)
    checks = [k for c in ordered for k in c["checks"]]
    totals["claims"] = {v: sum(c["verdict"] == v for c in ordered) for v in CLAIM_VERDICTS}
    totals["parts"] = {v: sum(p["verdict"] == v for c in ordered for p in c["parts"])
                       for v in PART_VERDICTS}
    totals["checks"] = len(checks)
    totals["checks_by_status"] = {s: sum(k["status"] == s for k in checks)
                                  for s in ("held", "failed", "inconclusive")}
    totals["duration_s"] = sum(c["duration_s"] for c in ordered)
    environment = dict(environment, thread_pins={c["id"]: c["torch_threads"] for c in ordered
                                                 if c["torch_threads"] is not None})
    totals["planted_bugs"] = {"planted": len(planted), "caught": sum(p["caught"] for p in planted),
                              "caught_directly": sum(p["direct"] for p in planted)}
    return {"version": VERSION, "claims": ordered, "benchmarks": benchmarks,
            "planted_bugs": planted, "catalogue": coverage(catalogue, ordered),
            "totals": totals, "environment": environment}


def _judge(claim: dict) -> None:
    """Each part's verdict from its tests, then the claim's from its parts."""
    for part in claim["parts"]:
        mine = [t for t in claim["tests"] if t["part"] == part["id"]]
        part["tests"] = [t["name"] for t in mine]
        part["tiers"] = sorted({t["tier"] for t in mine}, key=_TIER_ORDER.get)
        part["verdict"] = verdict_of_part([t["verdict"] for t in mine])
        part["reason"] = _part_reason(part["verdict"], mine)
        part["expected"] = sorted({t["xfail_reason"] for t in mine
                                   if t["xfail_reason"] and t["verdict"] == "outside_run"})
        # Declared readings, then those this run's tests recorded (idempotent when re-judged).
        part["readings"] = [r for r in part.get("readings", []) if "test" not in r] + [
            r for r in claim["readings"] if r["part"] == part["id"]]
    claim["verdict"] = verdict_of_claim([(p["role"], p["verdict"]) for p in claim["parts"]])
    claim["verdict_reason"] = claim_verdict_reason(claim["parts"], claim["verdict"])
    claim["tiers"].sort(key=_TIER_ORDER.get)


def _part_reason(verdict: str, tests: list[dict]) -> str:
    """Why a part has its verdict, in the words of its tests' outcomes."""
    if not tests:
        return "no selected test backs it in this run"
    if verdict == "outside_run":
        return "; ".join(sorted({t["message"] or "not selected" for t in tests}))
    if verdict == "reproduced":
        outside = [t for t in tests if t["verdict"] == "outside_run"]
        return (f"{len(tests) - len(outside)} test(s) held"
                + (f"; {len(outside)} outside this run ({outside[0]['message']})"
                   if outside else ""))
    why = [(t["xfail_reason"] if verdict == "known_non_reproduction" else t["message"]) or ""
           for t in tests if t["verdict"] == verdict]
    return "; ".join(w for w in why if w) or LABELS[verdict]


def _new_claim(meta: dict) -> dict:
    sources = list(meta.get("sources", []))
    parts = [dict(p, verdict="outside_run", reason="", tests=[], tiers=[], expected=[])
             for p in meta.get("parts", [])]
    return {"id": meta["id"], "title": meta.get("title", meta["id"]),
            "statement": meta.get("statement", ""), "sources": sources,
            "module": meta.get("module", ""), "verdict": "error", "verdict_reason": "",
            "tiers": [], "seeds": [], "duration_s": 0.0, "parts": parts,
            "configurations_tried": list(meta.get("configurations_tried", [])),
            "kind": meta.get("kind", "claim"), "document": meta.get("document"),
            "document_says": meta.get("document_says"), "correction": meta.get("correction"),
            "torch_threads": meta.get("torch_threads"), "checks": [], "records": [],
            "notes": [], "figures": [], "cache": [], "readings": [], "tests": []}


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


RUNS_DIR = Path("report") / "out" / "runs"   # a plain pytest run's results, one folder per run


def latest_run(root: str | os.PathLike) -> Path:
    """The results.json of the newest run directory under ``root``/report/out/runs/."""
    runs = sorted((Path(root) / RUNS_DIR).glob("*/results.json"),
                  key=lambda p: p.stat().st_mtime)
    if not runs:
        raise ResultsFileError(f"{Path(root) / RUNS_DIR}: no runs yet; run `pytest claims/` or "
                               "`repro report` first")
    return runs[-1]


class ResultsFileError(Exception):
    """A results file that cannot be rendered: missing, unreadable, not JSON, truncated, or of
    another schema version. The message names the file, what is wrong and what to do."""


def load(path: str | os.PathLike) -> dict:
    path = Path(path)
    again = "run `repro report` (or pytest with --results) to write a new one"
    if not path.is_file():
        raise ResultsFileError(f"{path}: no such results file; {again}")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise ResultsFileError(f"{path}: cannot be read ({err}); {again}") from None
    try:
        results = json.loads(text)
    except json.JSONDecodeError as err:
        what = ("truncated (it ends in the middle of the JSON: was the run killed while "
                "writing?)" if err.pos >= len(text.rstrip()) else
                f"not valid JSON (line {err.lineno}, column {err.colno}: {err.msg})")
        raise ResultsFileError(f"{path}: {what}; {again}") from None
    if not isinstance(results, dict) or "version" not in results:
        raise ResultsFileError(f"{path}: JSON, but not a results file of this suite (no "
                               f"'version' field); {again}")
    if results["version"] != VERSION:
        raise ResultsFileError(f"{path}: results version {results['version']!r}; this version "
                               f"of the suite reads version {VERSION}; {again}")
    return results


def collect_environment(root: str | os.PathLike, **extra: Any) -> dict:
    """Versions, hardware and the git commit of ``root``: what a reader needs to repeat a run."""
    import platform
    import sys

    env: dict[str, Any] = {"python": platform.python_version(), "platform": platform.platform()}
    for mod in ("torch", "numpy", "scipy", "matplotlib", "sklearn", "pytest"):
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

    env["git_commit"] = git_commit(root)
    status = _git(root, "status", "--porcelain", "--untracked-files=no")
    env["git_dirty"] = bool(status) if env["git_commit"] else None
    env["argv"] = sys.argv[1:]
    env.update(extra)
    return env


def _git(root: str | os.PathLike, *args: str) -> str | None:
    """git's output in ``root``, or None where git or the repository is missing."""
    import subprocess
    try:
        return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True,
                              timeout=10).stdout.strip() or None
    except Exception:
        return None


def git_commit(root: str | os.PathLike) -> str | None:
    """The commit checked out in ``root``."""
    return _git(root, "rev-parse", "--verify", "-q", "HEAD")


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
