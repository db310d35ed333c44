"""How ``-n N`` shares the tests among pytest-xdist workers.

A work unit is a test module: a claim module's experiments are module-scoped fixtures, computed
once on the worker that runs the module (``--dist loadfile`` did the same). Two additions:

- A test parametrized with an id that starts with a claim module's path and a colon
  (``claims/test_x.py:bug-name``: the planted bugs of that module) runs in that module's unit,
  after the module's own tests, so it can compare with the clean checks of the same process.
- Units start longest first, by the seconds each module took in the newest kept run (the
  history of ``repro report``), else by their number of tests: a long module started last
  leaves the other worker idle at the end.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

from xdist.scheduler import LoadScopeScheduling

from .paths import HISTORY_DIR
from .results import PLANTED_FOR


def work_unit(nodeid: str) -> str:
    """The module whose worker runs ``nodeid``."""
    bound = PLANTED_FOR.search(nodeid)
    return bound.group(1) if bound else nodeid.split("::")[0]


def module_seconds(root: Path) -> dict[str, float]:
    """Seconds per work unit in the newest kept run on any machine ({} when none): a module's
    tests, and for a claim module also its planted bugs."""
    kept = sorted((root / HISTORY_DIR).glob("*/*.json"), key=lambda p: p.stat().st_mtime)
    for path in reversed(kept[-3:]):
        try:
            run = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        timing = run.get("timing") or {}
        seconds: dict[str, float] = defaultdict(float)
        for module, entry in (timing.get("modules") or {}).items():
            seconds[module] += float(entry.get("seconds", 0.0))
        planted = (timing.get("planted_bugs") or {}).get("by_claim_module") or {}
        for module, spent in planted.items():
            seconds[module] += float(spent)
            seconds["tests/test_planted_bugs.py"] -= float(spent)
        if seconds:
            return dict(seconds)
    return {}


def longest_first(nodeids: list[str], seconds: dict[str, float]) -> list[str]:
    """``nodeids`` grouped by work unit, the units in decreasing expected time (known times
    first; then by number of tests), collection order kept within a unit."""
    units: dict[str, list[str]] = {}
    for nodeid in nodeids:
        units.setdefault(work_unit(nodeid), []).append(nodeid)
    order = sorted(units, key=lambda u: (-seconds.get(u, -1.0), -len(units[u])))
    return [nodeid for unit in order for nodeid in units[unit]]


class ModuleScheduling(LoadScopeScheduling):
    """Whole modules per worker (planted bugs with their claim module), longest first."""

    def __init__(self, config, log=None):
        super().__init__(config, log)
        self.seconds = module_seconds(Path(config.rootpath))

    def _split_scope(self, nodeid: str) -> str:
        return work_unit(nodeid)

    def schedule(self) -> None:
        """LoadScopeScheduling.schedule with the work queue built longest unit first. The
        workers' own collections stay as collected: work is sent as indices into them."""
        assert self.collection_is_completed
        if self.collection is not None:   # a later call: new nodes join the queue
            for node in self.nodes:
                self._reschedule(node)
            return
        if not self._check_nodes_have_same_collection():
            self.log("**Different tests collected, aborting run**")
            return
        self.collection = list(next(iter(self.registered_collections.values())))
        if not self.collection:
            return
        for nodeid in longest_first(self.collection, self.seconds):
            self.workqueue.setdefault(work_unit(nodeid), {})[nodeid] = False
        for _ in range(len(self.nodes) - len(self.workqueue)):   # more workers than units
            unused, _ = self.assigned_work.popitem()
            unused.shutdown()
        for node in self.nodes:
            self._assign_work_unit(node)
        for node in self.nodes:
            self._reschedule(node)
        if not self.workqueue:
            for node in self.nodes:
                node.shutdown()
