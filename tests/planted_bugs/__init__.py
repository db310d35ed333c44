"""Planted bugs: one-line mistakes a careless change could make to a claim's kernels, data or
model, injected by monkeypatching (never by editing files).

One file per claim module: the bugs of ``claims/test_<name>.py`` live in
``tests/planted_bugs/<name>.py``, each registered beside its function by ``@planted(...)``,
which names the claim, the ``-k`` selection to run, the mistake in words, the part whose check
must catch it, and its tier. A bug wraps or patches the function it breaks; it never copies one.

Used as a pytest plugin (``-p planted_bugs``) in a separate pytest run of a claim module: the
environment variable ``OPTCLAIMS_PLANTED_BUG`` names the bug to plant before the claims import
anything from ``reproductions``; ``tests/test_planted_bugs.py`` compares that run's checks with
a clean run of the same selection. A claim added later is not done until its planted bugs are
here.
"""

from __future__ import annotations

import importlib
import inspect
import os
import pkgutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest

ENV = "OPTCLAIMS_PLANTED_BUG"
PART_ENV = "OPTCLAIMS_PLANTED_PART"   # run only the tests of this part (the one a bug must break)


@dataclass(frozen=True)
class Bug:
    claim: str            # claim id
    module: str           # the claim module to run
    select: str           # its -k selection (the tests that exercise the planted piece)
    what: str             # the mistake, in words
    plant: Callable       # plant(monkeypatch): apply the mistake
    expect: str           # the part whose checks test the property the bug breaks
    slow: bool = False    # the selection takes long enough to belong to the slow tier
    kernel: str = ""      # a bug in this hand-written kernel, which `expect` (a precondition
    #                       part of the same claim) checks against autograd, torch or a closed form


BUGS: dict[str, Bug] = {}


def claim_module_of(path: str | Path) -> str:
    """The claim module whose bugs the file ``path`` holds: x.py holds those of claims/test_x.py."""
    return f"claims/test_{Path(path).stem}.py"


def planted(name: str, *, claim: str, select: str, what: str, expect: str, slow: bool = False,
            kernel: str = ""):
    """Register the decorated ``plant(monkeypatch)`` as the bug ``name`` of the claim module its
    file is named after."""
    def register(plant: Callable) -> Callable:
        if name in BUGS:
            raise ValueError(f"planted bug {name!r} is registered twice")
        BUGS[name] = Bug(claim, claim_module_of(inspect.getfile(plant)), select, what, plant,
                         expect, slow, kernel)
        return plant
    return register


def pytest_configure(config):
    """Plant the bug named by $OPTCLAIMS_PLANTED_BUG for the whole run."""
    name = os.environ.get(ENV)
    if not name:
        return
    mp = pytest.MonkeyPatch()
    BUGS[name].plant(mp)
    config.add_cleanup(mp.undo)


@pytest.hookimpl(trylast=True)   # after -k: of the selected tests, those of the part
def pytest_collection_modifyitems(config, items):
    """Keep only the tests of the part $OPTCLAIMS_PLANTED_PART names: a planted run (and the
    clean run it is compared with) computes only what the part the bug must break reads."""
    part = os.environ.get(PART_ENV)
    if not part:
        return
    keep = [item for item in items if (mark := item.get_closest_marker("part")) is not None
            and mark.args and mark.args[0] == part]
    if len(keep) < len(items):
        config.hook.pytest_deselected(items=[item for item in items if item not in keep])
        items[:] = keep


for _module in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
    importlib.import_module(f"{__name__}.{_module.name}")
