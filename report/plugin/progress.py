"""``--progress``: a line as each claim module starts and ends."""

from __future__ import annotations

import time

import pytest

from .contract import claim_meta


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
            self._add(item.nodeid, (claim_meta(item) or {}).get("id"))

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

    def _named(self, module: str) -> str:
        """How a line names its module: not at all in a one-process run, where pytest's own
        line of dots already starts with the module's path (and this line comes just before
        it); by its path under xdist, whose dots name no module."""
        serial = self.config.pluginmanager.get_plugin("dsession") is None
        return "" if serial else f" {module}"

    @pytest.hookimpl(tryfirst=True)  # before the terminal reporter writes the module's path
    def pytest_runtest_logstart(self, nodeid, location):
        module = nodeid.split("::")[0]
        entry = self.modules.get(module)
        if entry is None or entry["started"] is not None:
            return
        entry["started"] = time.monotonic()
        started = sum(e["started"] is not None for e in self.modules.values())
        claims = ", ".join(entry["claims"][:4]) + (
            f" and {len(entry['claims']) - 4} more" if len(entry["claims"]) > 4 else "")
        self._line(f"module {started}/{len(self.modules)}{self._named(module)}: "
                   f"{entry['tests']} tests"
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
            self._line(f"done{self._named(report.nodeid.split('::')[0])} in {took:.0f} s: "
                       + ", ".join(f"{n} {o}" for o, n in sorted(counts.items()))
                       + f" ({done}/{self.total} tests of the run)")
