"""A pytest plugin that writes each test's whole time (setup, call and teardown, so a module
fixture's experiment counts) to the JSON file ``$OPTCLAIMS_TEST_TIMES`` names. ``repro mutants``
loads it (``PYTEST_PLUGINS``) into mutmut's stats run to size its sample: mutmut itself times
only the call phase, which leaves out the experiments that claim modules compute in fixtures."""

from __future__ import annotations

import json
import os

ENV = "OPTCLAIMS_TEST_TIMES"
_seconds: dict[str, float] = {}


def pytest_runtest_logreport(report) -> None:
    _seconds[report.nodeid] = _seconds.get(report.nodeid, 0.0) + report.duration


def pytest_sessionfinish(session) -> None:
    path = os.environ.get(ENV)
    if path and _seconds:
        with open(path, "w", encoding="utf-8") as out:
            json.dump(_seconds, out, indent=0)
