"""The optclaims pytest plugin: tiers, fixtures, and the results store.

Loaded with ``-p optclaims_report.plugin`` (the project's ``pyproject.toml`` adds it to every
pytest run). This module holds the hooks; the rest lives beside it: ``options`` (command-line
options), ``contract`` (what a claim module must declare, checked at collection), ``fixtures``,
``store`` (results.json) and ``progress`` (``--progress``). State is kept in ``config.stash``.

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
import signal
import threading

import pytest

from optclaims_report.evidence import PREFIX, Evidence
from reproductions.data import DataCorrupt, DataMissing

from .contract import (claim_meta, is_benchmark, module_claims, module_problems, part_problems,
                       tier_of)
from .fixtures import CACHE
from .options import check_options
from .progress import Progress
from .store import ResultsStore, benchmarks_timed_here

# The options (pytest_addoption) and the fixtures are plugins of their own, loaded with this one.
pytest_plugins = ("optclaims_report.plugin.options", "optclaims_report.plugin.fixtures")


@pytest.hookimpl(wrapper=True)
def pytest_cmdline_main(config):
    """``-n N`` distributes whole modules unless told otherwise (``--dist``): a claim module's
    experiments are module-scoped fixtures, computed once on the worker that runs it. A wrapper,
    so it runs before xdist's own hook (which turns an unset ``--dist`` into ``load``) whatever
    the order the two plugins were loaded in."""
    if getattr(config.option, "numprocesses", None):
        if getattr(config.option, "dist", "no") == "no":
            config.option.dist = "loadscope"
            config.stash[MODULE_SCHEDULING] = True  # pytest_xdist_make_scheduler, below
    return (yield)


MODULE_SCHEDULING = pytest.StashKey[bool]()


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """Whole modules per worker, a claim module's planted bugs with it, longest first
    (``optclaims_report.schedule``); only when the plugin chose the distribution itself."""
    if config.stash.get(MODULE_SCHEDULING, False):
        from optclaims_report.schedule import ModuleScheduling
        return ModuleScheduling(config, log)
    return None


@pytest.hookimpl(tryfirst=True)  # before pytest-benchmark reads its options
def pytest_configure(config):
    check_options(config)
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
    config.pluginmanager.register(ResultsStore(
        config, writes=not worker and not config.getoption("no_results")), "optclaims-results")
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
        meta = claim_meta(item)
        part_id = None
        module = getattr(item, "module", None)
        if module_claims(module):
            if module not in checked_modules:
                checked_modules.add(module)
                problems += module_problems(module)
            problems += [f"{item.nodeid}: {p}" for p in part_problems(item, meta)]
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
                                   benchmarks_timed_here(item.config, {}, only=item.nodeid)]
    cache = item.config.stash.get(CACHE, None)
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
