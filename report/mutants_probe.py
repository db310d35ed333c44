"""A pytest plugin for every pytest run mutmut starts (``pytest_add_cli_args`` in pyproject.toml).

It runs the tests in file order. mutmut passes the tests it selects as node ids in set order,
and pytest runs them in the order given, tearing a module's fixtures down whenever the next test
is in another module: without this, the claim modules' experiments were computed again and
again, and mutmut's clean run of the suite took more than twice as long as the suite.

In mutmut's stats run (where ``$OPTCLAIMS_MUTANTS_PROBE`` names a file) it also records two
things mutmut does not, for each claim test: its whole time (setup, call and teardown; mutmut
times only the call, which leaves out the experiments claim modules compute in fixtures) and the
fixtures wider than function scope that it uses (mutmut links a function called while such a
fixture is computed to the first test that asked for it only)."""

from __future__ import annotations

import json
import os

ENV = "OPTCLAIMS_MUTANTS_PROBE"
_seconds: dict[str, float] = {}
_shared: dict[str, list[str]] = {}


NOT_EXPERIMENTS = ("optclaims_report", "_pytest", "pytest_benchmark", "xdist")


def module_fixtures(item) -> list[str]:
    """The fixtures ``item`` uses (directly or through others) with a scope wider than one test,
    the ones whose values later tests reuse, leaving out those of pytest and of the suite's
    plugin (seed, device, data folder), which compute no experiment."""
    found = []
    for name, defs in item._fixtureinfo.name2fixturedefs.items():
        module = getattr(defs[-1].func, "__module__", "") or ""
        if defs[-1].scope != "function" and not module.startswith(NOT_EXPERIMENTS):
            found.append(name)
    return sorted(found)


def pytest_collection_modifyitems(items) -> None:
    """File order, and definition order within a file (a stable sort keeps parametrizations in
    their collected order)."""
    items.sort(key=lambda item: (str(item.path), item.location[1] or 0))


def pytest_collection_finish(session) -> None:
    for item in session.items:
        if getattr(item, "module", None) is not None and hasattr(item, "_fixtureinfo"):
            _shared[item.nodeid] = module_fixtures(item)


def pytest_runtest_logreport(report) -> None:
    _seconds[report.nodeid] = _seconds.get(report.nodeid, 0.0) + report.duration


def pytest_sessionfinish(session) -> None:
    path = os.environ.get(ENV)
    if path and _seconds:
        with open(path, "w", encoding="utf-8") as out:
            json.dump({"seconds": _seconds, "module_fixtures": _shared}, out, indent=0)
