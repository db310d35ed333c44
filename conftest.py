"""The optclaims pytest plugin: tiers, fixtures, and the results store.

- Tiers: ``@pytest.mark.slow`` (paper-scale on CPU, runs with ``--runslow``) and
  ``@pytest.mark.gpu`` (needs CUDA; skipped with the reason "needs CUDA" when it is absent, a
  failure instead with ``--require-gpu``). Unmarked tests are the ``default`` tier.
- Fixtures: ``evidence`` (record a metric with its bound and assert it, plus numbers, notes, seeds
  and figures), ``seed`` (the base seed, ``--seed``), ``device``, ``data_dir``.
- Results: at the end of a session that ran claim tests, the controller writes ``results.json``
  (``--results``; by default a new run directory ``report/out/runs/<UTC time>-<pid>/``, so no
  run overwrites another's results). Evidence travels on each test report's
  ``user_properties``, so ``pytest -n 2`` (xdist) stores the same evidence as a serial run.

A claim module declares a module-level ``CLAIM`` with its parts (``optclaims_report.claim``), or a
list ``CLAIMS`` of several; each of its tests backs one part (``@pytest.mark.part("id")``, unique
within the module), benchmarks none. The plugin checks that
at collection: an undeclared part, a missing part marker, or a known non-reproduction that is not
``xfail(strict=True, raises=AssertionError)`` stops the run with a usage error.

Checks do not stop a test: after the test body the plugin raises one error listing every failed
check (``Evidence.finish``). Missing data (``DataMissing``) skips the test as "not run", or fails
it with ``--require-data``; corrupt data (``DataCorrupt``) is an error. Neither prints a traceback.
"""

from __future__ import annotations

import inspect
import os
import signal
import threading
import time
from pathlib import Path

import pytest

from optclaims_report.cache import ExperimentCache
from optclaims_report.evidence import PREFIX, Evidence
from optclaims_report.results import (RUNS_DIR, build_results, collect_environment,
                                      git_commit, utc_now, write_atomic)
from optclaims_report.verdicts import LABELS
from reproductions.data import DataCorrupt, DataMissing, data_directory

DEFAULT_SEED = 0
CACHE_DIR = Path("report") / "out" / "cache"


def pytest_addoption(parser):
    group = parser.getgroup("optclaims", "optclaims reproduction suite")
    group.addoption("--runslow", action="store_true", default=False,
                    help="also run the paper-scale `slow` tier (minutes per claim on CPU)")
    group.addoption("--require-gpu", action="store_true", default=False,
                    help="fail, instead of skipping, `gpu` tests when CUDA is absent")
    group.addoption("--seed", type=int, default=DEFAULT_SEED,
                    help=f"base seed of every claim's seed list (default {DEFAULT_SEED}); "
                         "echoed in the header so a run can be repeated")
    group.addoption("--results", default=None, metavar="PATH",
                    help="where to write results.json (default: a new run directory "
                         "report/out/runs/<UTC time>-<pid>/ under the rootdir, so no run "
                         "overwrites another's results)")
    group.addoption("--torch-threads", type=int, default=1, metavar="N",
                    help="torch intra-op threads (default 1: the claims' tensors are small, and "
                         "on a shared machine, or under xdist, more threads than free cores "
                         "slowed runs down by an order of magnitude)")
    group.addoption("--data-dir", default=None, metavar="DIR",
                    help="data directory for real-data claims (default: $REPRO_DATA, else "
                         "../shared/data beside the checkout)")
    group.addoption("--no-cache", action="store_true", default=False,
                    help="run every `slow`/`gpu` experiment afresh instead of reusing a cached "
                         "result with the same key (source, config, seeds, versions, device); "
                         "CI's regression run sets it")
    group.addoption("--cache-dir", default=None, metavar="DIR",
                    help=f"where experiments are cached (default {CACHE_DIR}/ under the rootdir)")
    group.addoption("--progress", action="store_true", default=False,
                    help="print a line as each claim module starts and ends (which claims, how "
                         "far along, elapsed time, its tests' outcomes); repro report sets it")
    group.addoption("--require-data", action="store_true", default=False,
                    help="fail, instead of skipping as 'not run', tests whose data files are "
                         "missing (CI sets it)")


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config):
    """``-n N`` distributes whole modules unless told otherwise (``--dist``): a claim module's
    experiments are module-scoped fixtures, computed once on the worker that runs it."""
    if getattr(config.option, "numprocesses", None):
        if getattr(config.option, "dist", "no") == "no":
            config.option.dist = "loadscope"
            config.stash[MODULE_SCHEDULING] = True  # pytest_xdist_make_scheduler, below


MODULE_SCHEDULING = pytest.StashKey[bool]()


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """Whole modules per worker, a claim module's planted bugs with it, longest first
    (``optclaims_report.schedule``); only when the plugin chose the distribution itself."""
    if config.stash.get(MODULE_SCHEDULING, False):
        from optclaims_report.schedule import ModuleScheduling
        return ModuleScheduling(config, log)
    return None


def _check_options(config) -> None:
    """Option values the plugin cannot use are usage errors (one line, exit 4), not an
    INTERNALERROR halfway through the run."""
    if config.getoption("torch_threads") < 1:
        raise pytest.UsageError(f"--torch-threads must be at least 1, not "
                                f"{config.getoption('torch_threads')}")
    results = config.getoption("results")
    if results and Path(results).is_dir():
        raise pytest.UsageError(f"--results names the folder {results}; give the path of the "
                                f"results file to write, e.g. {results}/results.json")
    if results and Path(results).parent.exists() and not Path(results).parent.is_dir():
        raise pytest.UsageError(f"--results {results}: {Path(results).parent} is not a folder")


@pytest.hookimpl(tryfirst=True)  # before pytest-benchmark reads its options
def pytest_configure(config):
    _check_options(config)
    config.addinivalue_line(
        "markers", "slow: paper-scale run on CPU (minutes); skipped unless --runslow is given")
    config.addinivalue_line(
        "markers", "gpu: needs CUDA; skipped with the reason 'needs CUDA' when CUDA is absent "
                   "(--require-gpu turns the skip into a failure)")
    config.addinivalue_line(
        "markers", "part(id): the part of the module's CLAIM (or of one of its CLAIMS) that this "
                   "test backs (every claim test but benchmarks backs exactly one)")
    config.addinivalue_line(
        "markers", "claim(id): the claim a benchmark belongs to, in a module of several CLAIMS")
    # Every process keeps its tests' records (the planted-bug tests read the clean checks of the
    # claim tests that ran before them in the same process); only the controller writes them,
    # as xdist workers send their reports to it.
    worker = hasattr(config, "workerinput")
    config.pluginmanager.register(ResultsStore(config, writes=not worker), "optclaims-results")
    if not worker:
        if config.getoption("progress"):
            config.pluginmanager.register(Progress(config), "optclaims-progress")
        _stop_cleanly_on_sigterm()


def _stop_cleanly_on_sigterm() -> None:
    """SIGTERM stops the run the way Ctrl-C does, so results.json is written for what finished
    (its default action would end the process with nothing written)."""
    if threading.current_thread() is not threading.main_thread():
        return

    def interrupt(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")
    signal.signal(signal.SIGTERM, interrupt)


def pytest_sessionstart(session):
    import torch
    torch.set_num_threads(session.config.getoption("torch_threads"))
    _time_benchmarks_under_xdist(session.config)


def _time_benchmarks_under_xdist(config) -> None:
    """pytest-benchmark switches itself off under xdist. Each worker here is one process with
    one torch thread on its own core, and a benchmark compares a kernel with its naive loop
    timed back to back in the same worker, so the ratio stays meaningful: time them unless
    ``--benchmark-disable`` was given. A worker sends its benchmarks' statistics to the
    controller with the test's report (``pytest_runtest_makereport``)."""
    bench = getattr(config, "_benchmarksession", None)
    xdist = hasattr(config, "workerinput") or getattr(config.option, "numprocesses", None)
    if bench is not None and xdist and not config.getoption("benchmark_disable"):
        bench.disabled = False
        bench.skip = bool(config.getoption("benchmark_skip"))   # --benchmark-skip still holds
        bench.xdist_warning = False


def _cuda_available() -> bool:
    try:
        import torch
        return torch.cuda.is_available()
    except Exception:
        return False


def pytest_report_header(config):
    tiers = ["default"] + ["slow"] * config.getoption("runslow")
    tiers.append("gpu" if _cuda_available() else "gpu (skipped: needs CUDA)")
    seed = config.getoption("seed")
    lines = [f"optclaims: base seed {seed} (repeat this run with --seed {seed}); "
             f"tiers: {', '.join(tiers)}"]
    if getattr(config.option, "numprocesses", None):
        lines.append("optclaims: under -n each worker times its modules' benchmarks on its own "
                     "core (one torch thread); compare kernels by their ratios")
    return lines


def tier_of(item) -> str:
    if item.get_closest_marker("gpu"):
        return "gpu"
    if item.get_closest_marker("slow"):
        return "slow"
    return "default"


CLAIM_KEYS = ("id", "title", "statement", "sources", "parts", "configurations_tried",
              "torch_threads", "kind", "document", "document_says", "correction")


def module_claims(module) -> list[dict]:
    """A module's claims: its ``CLAIMS`` list, or its single ``CLAIM``."""
    claims = getattr(module, "CLAIMS", None)
    if claims is None:
        claim = getattr(module, "CLAIM", None)
        claims = [claim] if claim else []
    return list(claims)


def _claim_of(item) -> dict | None:
    """The claim a test belongs to: the one that declares its part (or, for a benchmark, the
    one named by ``@pytest.mark.claim(id)``, or the module's only claim)."""
    claims = module_claims(getattr(item, "module", None))
    if not claims:
        return None
    if len(claims) == 1:
        return claims[0]
    claim_mark, part_mark = item.get_closest_marker("claim"), item.get_closest_marker("part")
    if claim_mark and claim_mark.args:
        return next((c for c in claims if c["id"] == claim_mark.args[0]), None)
    if part_mark and part_mark.args:
        return next((c for c in claims if any(p["id"] == part_mark.args[0]
                                              for p in c.get("parts", []))), None)
    return None


def _claim_meta(item) -> dict | None:
    claim = _claim_of(item)
    if not claim:
        return None
    meta = {k: claim[k] for k in CLAIM_KEYS if k in claim}
    meta["module"] = item.nodeid.split("::")[0]
    return meta


def is_benchmark(item) -> bool:
    return "benchmark" in getattr(item, "fixturenames", ())


def _part_problems(item, claim: dict | None) -> list[str]:
    """What is wrong with how ``item`` declares its claim, its part and its known
    non-reproductions."""
    if claim is None:
        return ["belongs to none of the module's CLAIMS: back a part one of them declares (a "
                "benchmark: @pytest.mark.claim(<id>))"]
    problems = []
    declared = {p["id"] for p in claim.get("parts", [])}
    marks = list(item.iter_markers("part"))
    if is_benchmark(item):
        if marks:
            problems.append("a benchmark backs no part (speed never gates a verdict)")
    elif len(marks) != 1 or len(marks[0].args) != 1:
        problems.append("needs exactly one @pytest.mark.part(<part id>)")
    elif marks[0].args[0] not in declared:
        problems.append(f"backs part {marks[0].args[0]!r}, which CLAIM does not declare "
                        f"(declared: {sorted(declared)})")
    for mark in item.iter_markers("xfail"):
        if mark.kwargs.get("strict") is not True or mark.kwargs.get("raises") is not AssertionError:
            problems.append("a known non-reproduction must be xfail(strict=True, "
                            "raises=AssertionError): use claim.known_non_reproduction(reason)")
    backed = next((p for p in claim.get("parts", []) if marks and marks[0].args
                   and p["id"] == marks[0].args[0]), None)
    if item.get_closest_marker("xfail") and backed is not None and not backed.get("readings"):
        problems.append(f"part {backed['id']!r} is a known non-reproduction: declare the "
                        "readings tried (claim.reading)")
    return problems


def _module_problems(module) -> list[str]:
    """Part ids must be unique across a module's claims (a test names only its part)."""
    seen, problems = {}, []
    for claim in module_claims(module):
        for p in claim.get("parts", []):
            if p["id"] in seen:
                problems.append(f"{module.__name__}: part {p['id']!r} declared by both "
                                f"{seen[p['id']]!r} and {claim['id']!r}")
            seen[p["id"]] = claim["id"]
    return problems


@pytest.hookimpl(tryfirst=True)  # before -k/-m deselection, so every collected test is checked
def pytest_collection_modifyitems(config, items):
    cuda = _cuda_available()
    problems, checked_modules = [], set()
    for item in items:
        tier, skip_kind = tier_of(item), None
        if tier == "slow" and not config.getoption("runslow"):
            item.add_marker(pytest.mark.skip(reason="slow tier: needs --runslow"))
            skip_kind = "tier"
        if tier == "gpu" and not cuda and not config.getoption("require_gpu"):
            item.add_marker(pytest.mark.skip(reason="needs CUDA"))
            skip_kind = "tier"
        meta = _claim_meta(item)
        part_id = None
        module = getattr(item, "module", None)
        if module_claims(module):
            if module not in checked_modules:
                checked_modules.add(module)
                problems += _module_problems(module)
            problems += [f"{item.nodeid}: {p}" for p in _part_problems(item, meta)]
            mark = item.get_closest_marker("part")
            part_id = mark.args[0] if mark and mark.args else None
        xfail = item.get_closest_marker("xfail")
        item.user_properties.append((PREFIX + "test", {
            "claim": meta, "tier": tier, "doc": inspect.getdoc(getattr(item, "function", None))
            or "", "part": part_id, "benchmark": is_benchmark(item), "skip_kind": skip_kind,
            "xfail_reason": xfail.kwargs.get("reason", "") if xfail else None}))
    if problems:
        raise pytest.UsageError("claim modules declare their parts wrongly:\n  "
                                + "\n  ".join(problems))


def pytest_runtest_setup(item):
    if tier_of(item) == "gpu" and not _cuda_available() and item.config.getoption("require_gpu"):
        pytest.fail("needs CUDA (--require-gpu was given)", pytrace=False)


@pytest.hookimpl(wrapper=True)
def pytest_pyfunc_call(pyfuncitem):
    """After the test body: fail with every failed check listed (checks record, then go on)."""
    __tracebackhide__ = True
    result = yield
    evidence = pyfuncitem.funcargs.get("evidence")
    if isinstance(evidence, Evidence):
        evidence.finish()
    return result


def _data_problem(report, call, require_data: bool) -> None:
    """Missing data: a skip ('not run'), or with --require-data a failure; corrupt data: an
    error. Either way one line that names the file, never a traceback."""
    exc = call.excinfo.value
    if isinstance(exc, DataMissing) and not require_data:
        report.outcome = "skipped"
        report.longrepr = (report.location[0], (report.location[1] or 0) + 1,
                           f"Skipped: data missing: {exc}")
        report.user_properties.append((PREFIX + "skip", {"kind": "data"}))
        return
    what = "data missing (--require-data)" if isinstance(exc, DataMissing) else "corrupt data"
    report.longrepr = f"{what}: {exc}"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if call.when == "call" and hasattr(item.config, "workerinput") and is_benchmark(item):
        report.user_properties += [(PREFIX + "benchmark", b) for b in
                                   _benchmarks(item.config, {}, only=item.nodeid)]
    cache = getattr(item.config, "_optclaims_cache", None)
    if cache is not None:  # experiments a module fixture ran (or loaded) while this test set up
        events = [(PREFIX + "cache", e) for e in cache.drain()]
        item.user_properties += events   # so the later phases' reports carry them too
        report.user_properties += events
    excinfo = call.excinfo
    if excinfo is not None:
        report.user_properties.append((PREFIX + "exc", {"type": excinfo.typename}))
        if excinfo.errisinstance((DataMissing, DataCorrupt)):
            _data_problem(report, call, item.config.getoption("require_data"))
    elif call.when == "call" and report.failed and item.get_closest_marker("xfail"):
        # pytest turns a strict xfail that passed into a failure without an exception.
        report.user_properties.append((PREFIX + "exc", {"type": "XPASS(strict)"}))
    return report


# --- fixtures --------------------------------------------------------------------------------
@pytest.fixture(scope="module", autouse=True)
def _claim_torch_threads(request):
    """A claim may pin torch's intra-op threads for its module (``CLAIM["torch_threads"]``):
    set before its module-scoped experiments run, restored after, shown in results.json."""
    pin = (getattr(request.module, "CLAIM", None) or {}).get("torch_threads")
    if pin is None:
        yield
        return
    import torch
    before = torch.get_num_threads()
    torch.set_num_threads(pin)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def evidence(request) -> Evidence:
    """Record checks (a metric, its bound, a reference with its kind), checks over seeds,
    numbers, notes, seeds and figures. In a benchmark it records only: speed gates nothing."""
    return Evidence(request.node.user_properties, checks_allowed=not is_benchmark(request.node),
                    expects_failure=request.node.get_closest_marker("xfail") is not None)


@pytest.fixture(scope="session")
def experiment_cache(request) -> ExperimentCache:
    """``experiment_cache(fn, *args, **kwargs)``: ``fn(*args, **kwargs)``, reused from an earlier
    run with the same key unless ``--no-cache`` (``optclaims_report.cache``). For `slow` and
    `gpu` experiments: the default tier always recomputes."""
    config = request.config
    directory = config.getoption("cache_dir") or Path(config.rootpath) / CACHE_DIR
    cache = ExperimentCache(directory, enabled=not config.getoption("no_cache"),
                            commit=git_commit(config.rootpath))
    config._optclaims_cache = cache
    return cache


@pytest.fixture(scope="session")
def seed(request) -> int:
    """The base seed from ``--seed``: claims derive their seed lists from it."""
    return request.config.getoption("seed")


@pytest.fixture
def device(request):
    """``cuda`` for `gpu`-tier tests (which only run where CUDA is present), else ``cpu``."""
    import torch
    return torch.device("cuda" if tier_of(request.node) == "gpu" else "cpu")


@pytest.fixture(scope="session")
def data_dir(request) -> Path:
    """The data directory: ``--data-dir``, else ``$REPRO_DATA``, else ``../shared/data``."""
    return data_directory(request.config.rootpath, request.config.getoption("data_dir"))


# --- the results store -----------------------------------------------------------------------
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


def _benchmarks(config, claim_of: dict, only: str | None = None) -> list[dict]:
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
    if not hasattr(config, "_optclaims_run_dir"):
        stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
        base = Path(config.rootpath) / RUNS_DIR / f"{stamp}-{os.getpid()}"
        run_dir, n = base, 1
        while run_dir.exists():       # several runs in one process within a second
            n += 1
            run_dir = base.with_name(f"{base.name}-{n}")
        run_dir.mkdir(parents=True)
        config._optclaims_run_dir = run_dir
    return config._optclaims_run_dir / "results.json"


def selection(config, records: list[dict]) -> dict:
    """What this run selected: its arguments, -k and -m, and whether it is partial (a -k/-m
    selection, deselected tests, or only some of the claim modules)."""
    suite = sorted(p.name for p in (Path(config.rootpath) / "claims").glob("test_*.py"))
    ran = sorted({Path(r["nodeid"].split("::")[0]).name for r in records if r["claim"]})
    keyword = config.getoption("keyword", "") or None
    markexpr = config.getoption("markexpr", "") or None
    deselected = getattr(config, "_optclaims_deselected", 0)
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
        self.last_write = 0.0
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
        self.config._optclaims_deselected = getattr(self.config, "_optclaims_deselected",
                                                    0) + claim_tests

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
        benchmarks = _benchmarks(config, claim_of) + [
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


class Progress:
    """``--progress``: one line when a claim module starts (its claims, how far the run is) and
    one when it ends (its tests' outcomes and time), so a long experiment is not a silent
    minute. Runs on the controller, so it also reports an xdist run's modules as they go."""

    def __init__(self, config):
        self.config = config
        self.modules: dict[str, dict] = {}
        self.start = time.monotonic()
        self.total = 0

    def _add(self, nodeid: str, claim: str | None = None) -> None:
        module = nodeid.split("::")[0]
        entry = self.modules.setdefault(module, {"tests": 0, "done": 0, "claims": [],
                                                 "outcomes": {}, "started": None})
        entry["tests"] += 1
        if claim and claim not in entry["claims"]:
            entry["claims"].append(claim)
        self.total += 1

    def pytest_collection_finish(self, session):
        for item in session.items:
            self._add(item.nodeid, (_claim_meta(item) or {}).get("id"))

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node, ids):
        """Under xdist the controller collects nothing; every worker collects the same ids."""
        if not self.total:
            for nodeid in ids:
                self._add(nodeid)

    def _line(self, text: str) -> None:
        elapsed = time.monotonic() - self.start
        writer = self.config.pluginmanager.get_plugin("terminalreporter")
        line = f"[{int(elapsed // 60)}:{int(elapsed % 60):02d}] {text}"
        if writer is not None:
            writer.ensure_newline()
            writer.write_line(line)
        else:
            print(line, flush=True)

    def pytest_runtest_logstart(self, nodeid, location):
        module = nodeid.split("::")[0]
        entry = self.modules.get(module)
        if entry is None or entry["started"] is not None:
            return
        entry["started"] = time.monotonic()
        started = sum(e["started"] is not None for e in self.modules.values())
        claims = ", ".join(entry["claims"][:4]) + (
            f" and {len(entry['claims']) - 4} more" if len(entry["claims"]) > 4 else "")
        self._line(f"module {started}/{len(self.modules)} {module}: {entry['tests']} tests"
                   + (f" ({claims})" if claims else ""))

    def pytest_runtest_logreport(self, report):
        entry = self.modules.get(report.nodeid.split("::")[0])
        if entry is None or report.when != "teardown":
            if entry is not None and (report.when == "call" or report.outcome != "passed"):
                xfail = hasattr(report, "wasxfail")
                entry["outcomes"][report.nodeid] = (
                    ("xfailed" if report.skipped else "xpassed") if xfail else report.outcome)
            return
        entry["done"] += 1
        if entry["done"] == entry["tests"]:
            counts: dict[str, int] = {}
            for outcome in entry["outcomes"].values():
                counts[outcome] = counts.get(outcome, 0) + 1
            took = time.monotonic() - (entry["started"] or self.start)
            done = sum(e["done"] for e in self.modules.values())
            self._line(f"done {report.nodeid.split('::')[0]} in {took:.0f} s: "
                       + ", ".join(f"{n} {o}" for o, n in sorted(counts.items()))
                       + f" ({done}/{self.total} tests of the run)")
