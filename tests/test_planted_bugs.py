"""Planted-bug sensitivity: each bug of ``tests/planted_bugs.py`` must make at least one check of
its claim fail, and one of them a check of the part whose property the bug breaks.

Each bug runs its claim module's selection in a separate pytest process with the bug planted,
beside a clean run of the same selection; a check "catches" the bug when it held in the clean run
and does not with the bug (a test that crashes with the bug counts too). The findings go to
results.json ("planted_bugs") and the report shows the kill rate and the catching checks.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from optclaims_report.evidence import PREFIX

sys.path.insert(0, str(Path(__file__).resolve().parent))
from planted_bugs import BUGS, ENV  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def run_selection(module: str, select: str, out: Path, bug: str | None = None) -> dict:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT / "tests"), os.environ.get("PYTHONPATH", "")])}
    env.pop(ENV, None)
    if bug:
        env[ENV] = bug
    results = out / "results.json"
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", module, "-k", select, "-p", "planted_bugs",
         f"--results={results}", "-q", "-p", "no:cacheprovider", "--benchmark-disable"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800)
    assert results.exists(), proc.stdout[-3000:] + proc.stderr[-3000:]
    return json.loads(results.read_text())


def outcomes(results: dict, claim_id: str) -> dict:
    """{(test, check name): (part, status)}, and {test: (part, verdict)} for the tests of the
    claim ``claim_id`` (a module can hold several claims and a selection reach more than one)."""
    (claim,) = [c for c in results["claims"] if c["id"] == claim_id]
    checks = {(k["test"], k["name"]): (k["part"], k["status"]) for k in claim["checks"]}
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


@pytest.fixture(scope="module")
def clean_runs(tmp_path_factory):
    """Clean runs, one per (module, selection), shared by the bugs that use it."""
    cache = {}

    def get(bug):
        key = (bug.module, bug.select)
        if key not in cache:
            cache[key] = run_selection(bug.module, bug.select, tmp_path_factory.mktemp("clean"))
        return outcomes(cache[key], bug.claim)
    return get


@pytest.mark.parametrize("name", [
    pytest.param(name, marks=[pytest.mark.slow] if bug.slow else [], id=name)
    for name, bug in BUGS.items()])
def test_planted_bug_is_caught_by_a_check_of_the_property_it_breaks(name, clean_runs, tmp_path,
                                                                    request):
    bug = BUGS[name]
    clean = clean_runs(bug)
    assert any(s == "held" for _, s in clean["checks"].values()), "the clean run checked nothing"
    caught = caught_by(clean, outcomes(run_selection(bug.module, bug.select, tmp_path, name),
                                           bug.claim))
    direct = [c for c in caught if c["part"] == bug.expect]
    request.node.user_properties.append((PREFIX + "planted", {
        "bug": name, "claim": bug.claim, "what": bug.what, "expected_part": bug.expect,
        "caught": bool(caught), "direct": bool(direct), "caught_by": caught}))
    assert caught, f"planted bug {name!r} ({bug.what}) left every check of {bug.claim} holding"
    assert direct, (f"planted bug {name!r} was caught only outside part {bug.expect!r}: "
                    f"{[c['check'] for c in caught]}")


def test_five_hand_written_kernels_carry_a_bug_their_own_claim_catches():
    """A broken kernel must fail the claim that relies on it, not only a unit test: at least
    five different hand-written kernels have a planted bug whose expected catcher is a
    precondition part of that claim (test_planted_bug_is_caught... runs each one)."""
    import importlib.util

    kernels = {}
    for name, bug in BUGS.items():
        if not bug.kernel:
            continue
        spec = importlib.util.spec_from_file_location("claim_module", ROOT / bug.module)
        module = importlib.util.module_from_spec(spec)
        sys.modules["claim_module"] = module
        spec.loader.exec_module(module)
        claims = getattr(module, "CLAIMS", None) or [module.CLAIM]
        roles = {p["id"]: p["role"] for c in claims if c["id"] == bug.claim for p in c["parts"]}
        assert roles.get(bug.expect) == "precondition", (name, bug.expect, roles)
        kernels.setdefault(bug.kernel, name)
    assert len(kernels) >= 5, kernels
