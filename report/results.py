"""The results store: one run's evidence as ``results.json``.

The plugin (``optclaims_report.plugin``) turns each finished test into a *test record* and calls
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
                   "with_verdict", "verdicts": {verdict: n}, "contradictory": [id],
                   "by_section": [{"document", "statements", "checkable", "covered",
                                   "verdicts", "sections": [{"section", "statements",
                                   "checkable", "covered", "verdicts"}]}],
                   "uncovered": [{"id", "document", "section", "source", "note"}]},
     "totals": {...}, "environment": {...}}

Non-finite floats are stored as the strings "nan", "inf" and "-inf" so the file is strict JSON.
"""

from __future__ import annotations

import functools
import json
import math
import os
import re
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable

from .evidence import PREFIX
from .paths import RUNS_DIR
from .schema import VERSION, first_mismatch   # results.json's version and shape
from .verdicts import (CLAIM_VERDICTS, ENTRY_VERDICTS, LABELS, PART_VERDICTS,
                       claim_verdict_reason, standing_of_part, verdict_of_claim, verdict_of_entry,
                       verdict_of_part, verdict_of_test)

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
            "verdicts": verdict_counts(entries),
            "contradictory": [e["id"] for e in entries if e["verdict"] == "contradictory"],
            "by_section": coverage_by_section(entries),
            "uncovered": uncovered_entries(entries)}


def verdict_counts(entries: list[dict]) -> dict[str, int]:
    """How many judged entries have each verdict, in the order of ``ENTRY_VERDICTS``, then
    not checkable and not covered; verdicts no entry has are left out."""
    return {v: n for v in ENTRY_VERDICTS + ("not_checkable", "not_covered")
            if (n := sum(e["verdict"] == v for e in entries))}


# ---------------------------------------------------------------------------------------------
# Where in the documents an entry is: its document and section, read from its source.

NOTES = "notes 000/001"
PAPERS = "papers"
WHOLE_DOCUMENT = "(whole document)"

_NOTES = re.compile(r"notes\s+\d{3}(?:\s*(?:/|and)\s*\d{3})?")
_SLIDES = re.compile(r"slides\s+(\d{3})")
_NOTES_SECTION = re.compile(r"\s*§\s*(\d+(?:\.\d+)*)")
_QUOTED_TITLE = re.compile(r"\s*,?\s*'(.+?)'(?!\w)")  # an apostrophe inside a word is no quote
# The first place named: up to a parenthesis, comma, semicolon or quoted phrase ("eq. (5)" whole).
_PLACE = re.compile(r"(?:\beqs?\.\s*\([^)]*\)|(?!\s')[^,;(])+")
_CITATION = re.compile(r"\s*\[[^\]]*\]")
_ASIDE = re.compile(r"\((?=[^)]*[a-z])[^)]*\)")  # "(VRM)", "(again)"; not "(5)"


def document_and_section(source: str) -> tuple[str, str]:
    """The document a catalogue entry's source names first, and the section within it.

    - Notes ("notes 000", "notes 001", "notes 000/001", "notes 000 and 001") are one document,
      ``"notes 000/001"``, sectioned by the § number: "notes 000/001 §1.2, RMSProp" -> "§1.2".
      Without one, the place named: "notes 000, Figure 5" -> "Figure 5".
    - Slides ("slides 002", "slides 003") are sectioned by the slide title: the quoted title
      right after "slides 00X, " ("'SGD with Nesterov's momentum', Algorithm 5 caption" ->
      "SGD with Nesterov's momentum"), its bracketed citation and a trailing colon dropped
      ("'Dropout: [Srivastava et al., 2014]'" -> "Dropout"); unquoted, the text up to the first
      parenthesis, comma, semicolon or quoted phrase ("Initialization Issues (Saxe et al.
      2014)" -> "Initialization Issues"), an equation's number kept ("eq. (5)").
    - Any other source names a paper, not one of the documents: it is in ``"papers"``,
      sectioned by the text before its colon ("Wu & He (ECCV 2018) §3.1: a claim of the paper;
      ..." -> "Wu & He (ECCV 2018) §3.1").

    A source that names no section ("notes 000 and 001, throughout") is in
    ``"(whole document)"``.
    """
    source = source.strip()
    if notes := _NOTES.match(source):
        return NOTES, _notes_section(source[notes.end():])
    if slides := _SLIDES.match(source):
        return f"slides {slides.group(1)}", _slide_title(source[slides.end():])
    return PAPERS, source.split(":", 1)[0].strip() or WHOLE_DOCUMENT


def _notes_section(rest: str) -> str:
    """The notes' § number at the start of ``rest``, or else the place it names."""
    if section := _NOTES_SECTION.match(rest):
        return "§" + section.group(1)
    return _place(rest)


def _slide_title(rest: str) -> str:
    """The slide title at the start of ``rest``: quoted, or else the place named."""
    if quoted := _QUOTED_TITLE.match(rest):
        return _CITATION.sub("", quoted.group(1)).rstrip(" :") or WHOLE_DOCUMENT
    return _place(rest)


def _place(rest: str) -> str:
    """The first place ``rest`` names, or ``(whole document)`` where it names none."""
    place = _PLACE.match(rest.lstrip(" ,"))
    text = _CITATION.sub("", place.group(0)).strip() if place else ""
    return WHOLE_DOCUMENT if text in ("", "throughout") else text


def _title_key(title: str) -> str:
    """A title without case, asides in parentheses and extra spaces: the spellings of one
    section share it."""
    title = _ASIDE.sub("", title.casefold()).replace("\u2026", "...")
    return " ".join(title.split())


def _spells(short: str, full: str) -> bool:
    """Whether title key ``short`` names ``full``: equal, or equal but for what the
    abbreviation's "..." leaves out ("how to judge ..." names "how to judge if ... or not?")."""
    pattern = r"\s*.*?\s*".join(re.escape(p.strip()) for p in short.split("..."))
    return re.fullmatch(pattern, full) is not None


def section_names(titles: list[str]) -> dict[str, str]:
    """Each section title of one document as the report names it: the spellings of one
    section (case, an aside in parentheses, an abbreviation with "...") take the first
    unabbreviated spelling in ``titles``."""
    return dict(_section_names(tuple(titles)))


@functools.lru_cache(maxsize=64)   # the catalogue's titles: the same on every results write
def _section_names(titles: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    unique = list(dict.fromkeys(titles))
    full = [t for t in unique if "..." not in _title_key(t)]
    return tuple((t, next((f for f in full if _spells(_title_key(t), _title_key(f))), t))
                 for t in unique)


def place_entries(entries: list[dict]) -> list[tuple[str, str, dict]]:
    """``(document, section, entry)`` for each entry, in catalogue order."""
    placed = [(*document_and_section(e.get("source", "")), e) for e in entries]
    names = {doc: section_names([s for d, s, _ in placed if d == doc])
             for doc in {d for d, _, _ in placed}}
    return [(doc, names[doc][section], e) for doc, section, e in placed]


def document_order(document: str) -> tuple:
    """Notes first, then the slides by number, then the papers."""
    return (document == PAPERS, document != NOTES, document)


def _entry_counts(entries: list[dict]) -> dict:
    """Statements, checkable ones, covered ones (a part judges them) and verdict counts."""
    return {"statements": len(entries),
            "checkable": sum(bool(e.get("checkable")) for e in entries),
            "covered": sum(bool(e.get("judged_by")) for e in entries),
            "verdicts": verdict_counts(entries)}


def coverage_by_section(entries: list[dict]) -> list[dict]:
    """The judged entries (``judge_entries``) counted per document and, within it, per section.

    Documents in the order notes, slides, papers; sections in the order they first appear in
    the catalogue. Each document and section: ``statements``, ``checkable``, ``covered``
    (entries some part judges) and ``verdicts`` (``verdict_counts``)."""
    grouped: dict[str, dict[str, list[dict]]] = {}
    for doc, section, entry in place_entries(entries):
        grouped.setdefault(doc, {}).setdefault(section, []).append(entry)
    return [dict(document=doc, **_entry_counts([e for es in sections.values() for e in es]),
                 sections=[dict(section=s, **_entry_counts(es)) for s, es in sections.items()])
            for doc, sections in sorted(grouped.items(), key=lambda d: document_order(d[0]))]


def uncovered_entries(entries: list[dict]) -> list[dict]:
    """The checkable entries no part judges yet, in catalogue order, each with its document,
    section, source and ``note`` (why it is not judged yet, or the check planned)."""
    return [{"id": e["id"], "document": doc, "section": section, "source": e.get("source", ""),
             "note": e.get("note", "")}
            for doc, section, e in place_entries(entries)
            if e.get("checkable") and not e.get("judged_by")]


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
    tests = sorted(tests, key=lambda r: (r["nodeid"].split("::")[0], r.get("line", 0),
                                         r["nodeid"]))
    for rec in tests:
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
        judge(claim)
    results = assemble(list(claims.values()), pair_benchmarks(benchmarks), planted, environment,
                       catalogue or [], totals)
    results["timing"] = timing(tests)
    return results


# A planted-bug test is parametrized "claims/test_x.py:bug-name": it runs that claim module.
PLANTED_FOR = re.compile(r"\[(claims/[^\]:]+\.py):[^\]]*\]$")


def timing(records: list[dict], slowest: int = 3) -> dict:
    """Where a run's time went: per test module its seconds (setup, call and teardown of its
    tests, as they ran on whichever process), share of the run and slowest tests; the planted-
    bug tests' seconds in all and per claim module they run."""
    modules: dict[str, dict] = {}
    planted: dict[str, float] = {}
    for rec in records:
        module = rec["nodeid"].split("::")[0]
        entry = modules.setdefault(module, {"seconds": 0.0, "tests": 0, "slowest": []})
        entry["seconds"] += rec.get("duration_s", 0.0)
        entry["tests"] += 1
        entry["slowest"].append([rec["nodeid"].split("::", 1)[-1], rec.get("duration_s", 0.0)])
        bound = PLANTED_FOR.search(rec["nodeid"])
        if bound:
            planted[bound.group(1)] = planted.get(bound.group(1), 0.0) + rec.get("duration_s", 0.0)
    total = sum(e["seconds"] for e in modules.values()) or 1.0
    for entry in modules.values():
        entry["share"] = entry["seconds"] / total
        entry["slowest"] = sorted(entry["slowest"], key=lambda t: -t[1])[:slowest]
    return {"test_seconds": sum(e["seconds"] for e in modules.values()),
            "modules": dict(sorted(modules.items(), key=lambda kv: -kv[1]["seconds"])),
            "planted_bugs": {"seconds": sum(planted.values()), "by_claim_module": planted}}


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


def judge(claim: dict) -> None:
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
def strict_json(x: Any) -> Any:
    if isinstance(x, float) and not math.isfinite(x):
        return "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")
    if isinstance(x, dict):
        return {k: strict_json(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [strict_json(v) for v in x]
    return x


def write_atomic(results: dict, path: str | os.PathLike, replace: bool = True) -> Path:
    """Write ``results`` as strict JSON to ``path`` via a temporary file and a rename, so a reader
    never sees a half-written file. With ``replace=False`` an existing ``path`` is never
    overwritten: FileExistsError, and nothing written (a hard link claims the name atomically)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    os.fchmod(fd, 0o644)  # mkstemp makes it private; a results file is for reading
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(strict_json(results), f, indent=1, allow_nan=False)
            f.write("\n")
        if replace:
            os.replace(tmp, path)
        else:
            os.link(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path




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
    mismatch = first_mismatch(results)
    if mismatch:
        raise ResultsFileError(f"{path}: not a results file of this suite's schema "
                               f"(optclaims_report.schema): {mismatch}; {again}")
    return results


def utc_now() -> str:
    """The time now, UTC, as results files write it."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# The libraries whose versions a run records: import name, distribution name.
LIBRARIES = (("torch", "torch"), ("numpy", "numpy"), ("scipy", "scipy"),
             ("matplotlib", "matplotlib"), ("sklearn", "scikit-learn"), ("pytest", "pytest"))


def library_versions(names=tuple(name for name, _ in LIBRARIES)) -> dict[str, str | None]:
    """The installed version of each library of ``names`` (None where absent), from the loaded
    module if there is one, else from its installed distribution: importing matplotlib only to
    read its version cost 0.45 s in every pytest run (each planted-bug run among them)."""
    import sys
    from importlib import metadata

    found: dict[str, str | None] = {}
    for name, dist in LIBRARIES:
        if name in names:
            try:
                found[name] = getattr(sys.modules.get(name), "__version__", None) or \
                    metadata.version(dist)
            except Exception:  # not installed: say so rather than fail the run
                found[name] = None
    return found


def collect_environment(root: str | os.PathLike, **extra: Any) -> dict:
    """Versions, hardware and the git commit of ``root``: what a reader needs to repeat a run."""
    import platform
    import sys

    env: dict[str, Any] = {"python": platform.python_version(), "platform": platform.platform(),
                           **library_versions()}
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
