"""The plugin's command-line options and the checks of their values."""

from __future__ import annotations

from pathlib import Path

import pytest

from optclaims_report.paths import CACHE_DIR

DEFAULT_SEED = 0


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
    group.addoption("--no-results", action="store_true", default=False,
                    help="write no results.json: for throwaway runs, such as the one per mutant "
                         "of `repro mutants`, that nobody reads back")
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


def check_options(config) -> None:
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
