"""The results store: each test's phases collected on the controller (xdist workers send their
reports to it) and written as results.json, periodically while the run goes and at its end."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from optclaims_report.evidence import PREFIX
from optclaims_report.results import (RUNS_DIR, build_results, collect_environment, utc_now,
                                      write_atomic)
from optclaims_report.verdicts import LABELS

from .contract import module_claims

RUN_DIR = pytest.StashKey[Path]()      # this run's own folder under report/out/runs/
DESELECTED = pytest.StashKey[int]()    # claim tests -k/-m deselected


def _outcome(report, previous: str | None) -> str | None:
    xfail = hasattr(report, "wasxfail")
    if report.when == "call":
        if report.passed:
            return "xpassed" if xfail else "passed"
        if report.failed:
            return "failed"
        return "xfailed" if xfail else "skipped"
    if report.when == "setup":
        if report.failed:
            return "error"
        if report.skipped:
            return "xfailed" if xfail else "skipped"
        return previous
    return "error" if report.failed else previous  # teardown


def _message(report) -> str:
    longrepr = report.longrepr
    if longrepr is None:
        return ""
    if isinstance(longrepr, tuple):  # a skip: (path, line, reason)
        return str(longrepr[2]).removeprefix("Skipped: ")
    crash = getattr(longrepr, "reprcrash", None)
    text = crash.message if crash is not None else str(longrepr)
    if getattr(report, "wasxfail", ""):
        text = f"{report.wasxfail}: {text}"
    return text[:2000]


def benchmarks_timed_here(config, claim_of: dict, only: str | None = None) -> list[dict]:
    """The statistics of the benchmarks this process timed (of test ``only``, if given)."""
    bs = getattr(config, "_benchmarksession", None)
    out = []
    for bench in getattr(bs, "benchmarks", []) or []:
        if not bench or (only and bench.fullname != only):
            continue  # disabled (--benchmark-disable), errored, or another test's
        info = dict(bench.extra_info or {})
        out.append({"name": bench.name, "fullname": bench.fullname, "group": bench.group,
                    "claim": claim_of.get(bench.fullname), "median_s": bench.stats.median,
                    "rounds": bench.stats.rounds, "units": info.pop("units", 1),
                    "baseline": info.pop("baseline", None), "extra_info": info})
    return out


def load_catalogue(root) -> list[dict]:
    """The documents' claims (``claims/catalogue.toml``), for the report's coverage view."""
    import tomllib
    path = Path(root) / "claims" / "catalogue.toml"
    if not path.is_file():
        return []
    with path.open("rb") as f:
        return tomllib.load(f).get("claim", [])


def results_path(config) -> Path:
    """``--results``, else this run's own directory under report/out/runs/ (named once)."""
    chosen = config.getoption("results")
    if chosen:
        return Path(chosen)
    if RUN_DIR not in config.stash:
        stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
        base = Path(config.rootpath) / RUNS_DIR / f"{stamp}-{os.getpid()}"
        run_dir, n = base, 1
        while run_dir.exists():       # several runs in one process within a second
            n += 1
            run_dir = base.with_name(f"{base.name}-{n}")
        run_dir.mkdir(parents=True)
        config.stash[RUN_DIR] = run_dir
    return config.stash[RUN_DIR] / "results.json"


def selection(config, records: list[dict]) -> dict:
    """What this run selected: its arguments, -k and -m, and whether it is partial (a -k/-m
    selection, deselected tests, or only some of the claim modules)."""
    suite = sorted(p.name for p in (Path(config.rootpath) / "claims").glob("test_*.py"))
    ran = sorted({Path(r["nodeid"].split("::")[0]).name for r in records if r["claim"]})
    keyword = config.getoption("keyword", "") or None
    markexpr = config.getoption("markexpr", "") or None
    deselected = config.stash.get(DESELECTED, 0)
    return {"args": [str(a) for a in config.invocation_params.args], "keyword": keyword,
            "markexpr": markexpr, "deselected_claim_tests": deselected,
            "claim_modules_run": len(ran), "claim_modules_in_suite": len(suite),
            "partial": bool(keyword or markexpr or deselected or len(ran) < len(suite))}


class ResultsStore:
    """Collects each test's phases on the controller and writes results.json: after each claim
    test (at most every few seconds, so a killed run leaves a valid file for what finished) and
    at the end. Tests a run did not reach (it was interrupted) are stored as not run."""

    META = (PREFIX + "test", PREFIX + "exc", PREFIX + "skip", PREFIX + "benchmark")
    WRITE_EVERY_S = 5.0

    def __init__(self, config, writes: bool = True):
        self.config = config
        self.writes = writes
        self.records: dict[str, dict] = {}
        self.worker_benchmarks: dict[str, dict] = {}
        self.pending: dict[str, dict] = {}
        self.written: tuple[Path, dict] | None = None
        self.environment: dict | None = None
        # The first periodic write comes WRITE_EVERY_S into the run: a run shorter than that (a
        # planted bug's selection) writes its results once, at the end.
        self.last_write = time.monotonic()
        self.started_utc = utc_now()

    @staticmethod
    def _new_record(nodeid: str, line: int) -> dict:
        return {"nodeid": nodeid, "line": line, "outcome": None, "exc_type": None,
                "message": "", "duration_s": 0.0, "properties": [], "claim": None,
                "tier": "default", "doc": "", "part": None, "benchmark": False,
                "skip_kind": None, "xfail_reason": None}

    def pytest_collection_finish(self, session):
        """Remember the claim tests this run will reach (none on an xdist controller)."""
        for item in session.items:
            meta = dict(next((p for k, p in item.user_properties if k == PREFIX + "test"), {}))
            if meta.get("claim"):
                rec = self._new_record(item.nodeid, item.location[1] or 0)
                rec.update({k: meta[k] for k in ("claim", "tier", "doc", "part", "benchmark",
                                                 "xfail_reason")})
                self.pending[item.nodeid] = rec

    def pytest_deselected(self, items):
        claim_tests = sum(1 for item in items if module_claims(getattr(item, "module", None)))
        self.config.stash[DESELECTED] = self.config.stash.get(DESELECTED, 0) + claim_tests

    def pytest_runtest_logreport(self, report):
        rec = self.records.setdefault(report.nodeid, self._new_record(
            report.nodeid, report.location[1] or 0))
        rec["duration_s"] += report.duration
        new = _outcome(report, rec["outcome"])
        if new is not None and new != rec["outcome"]:
            rec["outcome"] = new
            rec["message"] = _message(report)
        props = [tuple(p) for p in report.user_properties]
        for kind, payload in props:
            if kind == PREFIX + "test":
                rec.update({k: payload[k] for k in ("claim", "tier", "doc", "part", "benchmark",
                                                    "xfail_reason")})
                rec["skip_kind"] = rec["skip_kind"] or payload["skip_kind"]
            elif kind == PREFIX + "exc" and rec["exc_type"] is None:
                rec["exc_type"] = payload["type"]
            elif kind == PREFIX + "benchmark":   # timed on an xdist worker
                self.worker_benchmarks[payload["fullname"]] = payload
            elif kind == PREFIX + "skip":
                rec["skip_kind"] = payload["kind"]
        if rec["outcome"] == "skipped" and rec["skip_kind"] is None:
            rec["skip_kind"] = "other"
        # Each phase's report carries everything recorded so far; keep the fullest list.
        evidence = [p for p in props if p[0] not in self.META]
        if len(evidence) >= len(rec["properties"]):
            rec["properties"] = evidence
        if report.when == "teardown" and rec["claim"]:
            self.pending.pop(report.nodeid, None)
            if time.monotonic() - self.last_write > self.WRITE_EVERY_S:
                self._write(complete=False)

    def _write(self, complete: bool, interrupted: bool = False) -> None:
        records = list(self.records.values())
        if not self.writes or not any(r["claim"] for r in records):
            return  # a run of the unit tests alone leaves the last claims run's results in place
        records = [r if r["outcome"] is not None else dict(
            r, outcome="skipped", skip_kind="interrupted",
            message="not finished: the run stopped during this test") for r in records]
        not_reached = [dict(r, outcome="skipped", skip_kind="interrupted",
                            message="not run: the run stopped before this test")
                       for r in self.pending.values() if r["nodeid"] not in self.records]
        config = self.config
        claim_of = {r["nodeid"]: r["claim"]["id"] for r in records if r["claim"]}
        if self.environment is None:
            self.environment = collect_environment(
                config.rootpath, seed=config.getoption("seed"),
                runslow=config.getoption("runslow"), require_data=config.getoption("require_data"),
                xdist_workers=getattr(config.option, "numprocesses", None),
                started_utc=self.started_utc)
        benchmarks = benchmarks_timed_here(config, claim_of) + [
            dict(b, claim=claim_of.get(b["fullname"])) for b in self.worker_benchmarks.values()]
        results = build_results(records + not_reached, benchmarks,
                                dict(self.environment, complete=complete, written_utc=utc_now(),
                                     interrupted=interrupted,
                                     selection=selection(config, records + not_reached)),
                                load_catalogue(config.rootpath))
        self.written = (write_atomic(results, results_path(config)), results)
        self.last_write = time.monotonic()

    def pytest_sessionfinish(self, session, exitstatus):
        interrupted = exitstatus == pytest.ExitCode.INTERRUPTED
        self._write(complete=not interrupted and not self.pending, interrupted=interrupted)
        if self.written and self.written[1]["catalogue"].get("contradictory") and \
                session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED  # one sentence, two verdicts

    def pytest_terminal_summary(self, terminalreporter):
        if self.written is None:
            return
        path, results = self.written
        tr = terminalreporter
        tr.section("optclaims verdicts")
        for claim in results["claims"]:
            held = sum(c["status"] == "held" for c in claim["checks"])
            tr.write_line(f"{LABELS[claim['verdict']].upper():24s} {claim['id']:24s} "
                          f"{held}/{len(claim['checks'])} checks held; "
                          f"{claim['verdict_reason']}")
            for p in claim["parts"]:
                tr.write_line(f"    {LABELS[p['verdict']]:24s} {p['role']:12s} {p['id']}")
        catalogue = results["catalogue"]
        if catalogue["verdicts"]:
            tr.write_line("document sentences: " + ", ".join(
                f"{n} {LABELS.get(v, v.replace('_', ' '))}"
                for v, n in catalogue["verdicts"].items()))
        for entry in catalogue["entries"]:
            if entry["verdict"] == "contradictory":
                tr.write_line(f"CONTRADICTORY {entry['id']}: " + "; ".join(
                    f"{j['ref']} {LABELS[j['standing']]}" for j in entry["parts"])
                    + " (declare the split in claims/catalogue.toml, or make them agree)",
                    red=True)
        tr.write_line(f"results: {path}")
