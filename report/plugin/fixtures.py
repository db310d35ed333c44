"""The fixtures claim modules use: ``evidence``, ``experiment_cache``, ``seed``, ``device``,
``data_dir``, and the module-wide torch thread pin a claim may declare."""

from __future__ import annotations

from pathlib import Path

import pytest

from optclaims_report.cache import ExperimentCache
from optclaims_report.evidence import Evidence
from optclaims_report.paths import CACHE_DIR
from optclaims_report.results import git_commit
from reproductions.data import data_directory

from .contract import is_benchmark, tier_of

CACHE = pytest.StashKey[ExperimentCache]()   # the session's experiment cache, once made


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
    config.stash[CACHE] = cache
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
