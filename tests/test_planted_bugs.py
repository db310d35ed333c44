"""Planted-bug sensitivity: each bug of ``tests/planted_bugs/`` must make at least one check of
its claim fail, and one of them a check of the part whose property the bug breaks.

Each bug runs the tests of the part it must break (among its claim module's ``-k`` selection)
with the bug planted, in a fork of a server process
that has imported torch and the other heavy libraries once (``tests/forkserver.py``), with the
session's seed, data and tier options. The clean checks it is compared with come from the claim
tests this process already ran (``pytest claims/ tests/``, and ``-n 2``, where the plugin runs a
claim module and its bugs in one worker, the module first); where they did not run here, from a
clean fork of the same selection. A check "catches" the bug when it held clean and does not
with the bug (a test that crashes with the bug counts too). The findings go to results.json
("planted_bugs") and the report shows the kill rate and the catching checks.
"""

import functools
import importlib.util
import json
import os
import sys
from collections import Counter
from pathlib import Path

import pytest

from optclaims_report.cli import PLANTED_MODULES_ENV
from optclaims_report.evidence import PREFIX
from optclaims_report.results import build_results

sys.path.insert(0, str(Path(__file__).resolve().parent))
from forkserver import ForkServer  # noqa: E402
from planted_bugs import BUGS, ENV, PART_ENV  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def session_options(config) -> list[str]:
    """The options that decide a claim test's numbers, as this session has them. Planted runs
    never read the experiment cache: a cached clean result would hide the bug."""
    options = [f"--seed={config.getoption('seed')}",
               f"--torch-threads={config.getoption('torch_threads')}", "--no-cache"]
    if config.getoption("data_dir"):
        options.append(f"--data-dir={config.getoption('data_dir')}")
    return options + ["--runslow"] * bool(config.getoption("runslow"))


def run_selection(server: ForkServer, options: list[str], module: str, select: str, part: str,
                  out: Path, bug: str | None = None) -> dict:
    """The results of ``pytest module -k select``, its tests of ``part`` only, in a fork of
    ``server``, with ``bug`` planted."""
    results = out / "results.json"
    # Per run, the fixed cost is pytest's start: no entry-point scan (the one plugin a claim
    # module needs is named), no assertion rewriting (a verdict reads the checks, not assert
    # messages); 0.4 s of 0.9 s for a selection that computes little.
    code = server.run(
        [module, "-k", select, "-p", "planted_bugs", "-p", "pytest_benchmark.plugin",
         "--assert=plain", f"--results={results}", "-q", "-p", "no:cacheprovider",
         "--benchmark-disable", *options],
        env={ENV: bug or "", PART_ENV: part, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"},
        log=out / "pytest.log")
    log = (out / "pytest.log").read_text(errors="replace")
    assert results.exists(), f"pytest exited {code}:\n{log[-6000:]}"
    return json.loads(results.read_text())


def clean_from_this_process(config, module: str, claim_id: str, planted: dict) -> dict | None:
    """The clean outcomes of the tests the planted run ran, from this process's own run of the
    claim module, if every one of them ran here to an outcome; else None."""
    store = config.pluginmanager.get_plugin("optclaims-results")
    wanted = {f"{module}::{name}" for name in planted["tests"]}
    records = [r for nodeid, r in (store.records.items() if store else ())
               if nodeid in wanted and r["outcome"] is not None]
    if not wanted or len(records) != len(wanted):
        return None
    return outcomes(build_results(records, [], {}), claim_id)


def outcomes(results: dict, claim_id: str) -> dict:
    """{(test, check name): (part, status)}, and {test: (part, verdict)} for the tests of the
    claim ``claim_id`` (a module can hold several claims and a selection reach more than one).
    A known non-reproduction's failed check counts as held while its value stays inside the
    interval pinned for it: a bug that moves it out has changed the finding."""
    (claim,) = [c for c in results["claims"] if c["id"] == claim_id]
    checks = {(k["test"], k["name"]): (k["part"], "held" if k.get("pin_status") == "inside"
                                       else k["status"]) for k in claim["checks"]}
    tests = {t["name"]: (t["part"], t["verdict"]) for t in claim["tests"]}
    return {"checks": checks, "tests": tests}


def caught_by(clean: dict, planted: dict) -> list[dict]:
    """The checks that held in the clean run and not with the bug, and the tests that crashed
    with the bug only."""
    out = [{"part": part, "check": f"{test}: {name}", "status": planted["checks"].get(
               (test, name), (part, "not recorded"))[1]}
           for (test, name), (part, status) in clean["checks"].items()
           if status == "held" and planted["checks"].get((test, name), (None, None))[1] != "held"]
    out += [{"part": part, "check": f"{test} crashed", "status": "error"}
            for test, (part, verdict) in planted["tests"].items()
            if verdict == "error" and clean["tests"].get(test, (None, None))[1] != "error"]
    return out


@pytest.fixture(scope="session")
def fork_server():
    """One server per process running these tests, each selection in a fork of it. Session-
    scoped: under -n N a worker moves between claim modules and their bugs, and a module-scoped
    server was restarted (torch imported again, about 3.5 s) at each switch."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT / "tests"), os.environ.get("PYTHONPATH", "")])}
    env.pop(ENV, None)
    env.pop(PART_ENV, None)
    server = ForkServer(ROOT, env)
    yield server
    server.close()


@pytest.fixture(scope="session")
def clean_runs(fork_server, tmp_path_factory, request):
    """Clean forks, one per (module, selection), for the bugs whose claim tests did not run in
    this process."""
    cache = {}

    def get(bug):
        key = (bug.module, bug.select, bug.expect)
        if key not in cache:
            cache[key] = run_selection(fork_server, session_options(request.config), bug.module,
                                       bug.select, bug.expect, tmp_path_factory.mktemp("clean"))
        return outcomes(cache[key], bug.claim)
    return get


def bugs_to_run() -> dict:
    """Every bug, or those of the claim modules that $OPTCLAIMS_PLANTED_FOR lists (``repro
    report`` sets it when it reuses the other modules' results)."""
    only = [m for m in os.environ.get(PLANTED_MODULES_ENV, "").split(",") if m]
    return {name: bug for name, bug in BUGS.items() if not only or bug.module in only}


# The id names the claim module first: under -n N the bug runs on the worker that ran it.
@pytest.mark.parametrize("name", [
    pytest.param(name, marks=[pytest.mark.slow] if bug.slow else [], id=f"{bug.module}:{name}")
    for name, bug in bugs_to_run().items()])
def test_planted_bug_is_caught_by_a_check_of_the_property_it_breaks(name, clean_runs, fork_server,
                                                                    tmp_path, request):
    bug = BUGS[name]
    planted = outcomes(run_selection(fork_server, session_options(request.config), bug.module,
                                     bug.select, bug.expect, tmp_path, name), bug.claim)
    clean = clean_from_this_process(request.config, bug.module, bug.claim, planted)
    source = "this process's run of the claim module" if clean else "a clean fork"
    clean = clean or clean_runs(bug)
    assert any(s == "held" for _, s in clean["checks"].values()), "the clean run checked nothing"
    caught = caught_by(clean, planted)
    direct = [c for c in caught if c["part"] == bug.expect]
    request.node.user_properties.append((PREFIX + "planted", {
        "bug": name, "claim": bug.claim, "what": bug.what, "expected_part": bug.expect,
        "caught": bool(caught), "direct": bool(direct), "caught_by": caught,
        "clean_from": source}))
    assert caught, f"planted bug {name!r} ({bug.what}) left every check of {bug.claim} holding"
    assert direct, (f"planted bug {name!r} was caught only outside part {bug.expect!r}: "
                    f"{[c['check'] for c in caught]}")


# Claims still short of two planted bugs, with the number each has. The list only shrinks: a
# claim that reaches two must leave it, and a new claim comes with its two bugs.
SHORT_OF_TWO: dict[str, int] = {}


@functools.cache
def declared_parts() -> dict[str, dict[str, str]]:
    """{claim id: {part id: role}} of every claim module, read from its CLAIM or CLAIMS."""
    out = {}
    for path in sorted((ROOT / "claims").glob("test_*.py")):
        spec = importlib.util.spec_from_file_location(f"declared_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
        for claim in getattr(module, "CLAIMS", None) or [module.CLAIM]:
            out[claim["id"]] = {p["id"]: p["role"] for p in claim["parts"]}
    return out


def test_a_known_non_reproduction_moved_out_of_its_pinned_interval_counts_as_caught():
    def results(pin_status):
        check = {"test": "t", "name": "gap", "part": "p", "status": "failed",
                 "pin_status": pin_status}
        return {"claims": [{"id": "c", "checks": [check],
                            "tests": [{"name": "t", "part": "p", "verdict": "xfailed"}]}]}
    clean = outcomes(results("inside"), "c")
    assert caught_by(clean, outcomes(results("outside"), "c")) == [
        {"part": "p", "check": "t: gap", "status": "failed"}]
    assert caught_by(clean, outcomes(results("inside"), "c")) == []


def test_every_bug_names_a_declared_claim_and_one_of_its_parts():
    parts = declared_parts()
    for name, bug in BUGS.items():
        assert bug.claim in parts, f"planted bug {name!r} names no declared claim: {bug.claim}"
        assert bug.expect in parts[bug.claim], (
            f"planted bug {name!r}: {bug.claim} has no part {bug.expect!r}")


def test_every_claim_has_two_planted_bugs_or_is_listed_as_short_of_them():
    counts = Counter(bug.claim for bug in BUGS.values())
    short = {cid: counts[cid] for cid in declared_parts() if counts[cid] < 2}
    assert short == SHORT_OF_TWO, (
        f"claims short of two planted bugs: {short}; listed as short: {SHORT_OF_TWO}")


def test_five_hand_written_kernels_carry_a_bug_their_own_claim_catches():
    """A broken kernel must fail the claim that relies on it, not only a unit test: at least
    five different hand-written kernels have a planted bug whose expected catcher is a
    precondition part of that claim (test_planted_bug_is_caught... runs each one)."""
    kernels = {}
    for name, bug in BUGS.items():
        if not bug.kernel:
            continue
        roles = declared_parts()[bug.claim]
        assert roles.get(bug.expect) == "precondition", (name, bug.expect, roles)
        kernels.setdefault(bug.kernel, name)
    assert len(kernels) >= 5, kernels


def test_every_bug_file_holds_the_bugs_of_an_existing_claim_module():
    """tests/planted_bugs/<name>.py registers bugs of claims/test_<name>.py, which must exist;
    the decorator takes the module from the file, so a bug cannot name another."""
    for name, bug in BUGS.items():
        assert (ROOT / bug.module).is_file(), (name, bug.module)
        assert Path(sys.modules[bug.plant.__module__].__file__).stem == \
            Path(bug.module).stem.removeprefix("test_"), name
