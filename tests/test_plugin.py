"""The pytest plugin (conftest.py), run on small claim modules in a scratch directory."""

import json
from pathlib import Path

import pytest

ROOT_CONFTEST = (Path(__file__).resolve().parent.parent / "conftest.py").read_text()

CLAIM_MODULE = '''
import pytest
CLAIM = {"id": "toy", "title": "A toy claim", "statement": "Two is more than one.",
         "sources": ["Nobody, 2024"]}

def test_effect(evidence, seed):
    """The effect."""
    evidence.seeds(range(seed, seed + 3))
    evidence.check("two minus one", 2 - 1, ">", 0.5, paper=1.0)
    evidence.record("a size", 3)
    evidence.note("an assumption")

@pytest.mark.xfail(strict=True, reason="does not reproduce at this scale")
def test_known_gap(evidence):
    evidence.check("gap", 0.1, ">=", 0.5)

@pytest.mark.slow
def test_paper_scale(evidence):
    evidence.check("big", 1, "==", 1)

@pytest.mark.gpu
def test_on_gpu(evidence, device):
    evidence.check("gpu", 1, "==", 1)
'''


@pytest.fixture
def project(pytester):
    pytester.makeconftest(ROOT_CONFTEST)
    pytester.makepyfile(test_toy=CLAIM_MODULE)
    return pytester


def results(pytester):
    return json.loads((pytester.path / "report" / "out" / "results.json").read_text())


def only_claim(pytester):
    (claim,) = results(pytester)["claims"]
    return claim


def test_markers_are_registered(project):
    out = project.runpytest("--markers")
    out.stdout.fnmatch_lines(["*@pytest.mark.slow:*--runslow*", "*@pytest.mark.gpu: needs CUDA*"])


def test_header_echoes_the_seed(project):
    project.runpytest("--seed", "7").stdout.fnmatch_lines(["*base seed 7 (repeat this run with --seed 7)*"])


def test_slow_and_gpu_skip_with_reasons(project):
    out = project.runpytest("-rs")
    out.stdout.fnmatch_lines(["*slow tier: needs --runslow*", "*needs CUDA*"])
    out.assert_outcomes(passed=1, xfailed=1, skipped=2)


def test_require_gpu_turns_the_skip_into_a_failure(project):
    out = project.runpytest("--require-gpu")
    out.assert_outcomes(passed=1, xfailed=1, skipped=1, errors=1)


def test_runslow_runs_the_slow_tier(project):
    project.runpytest("--runslow").assert_outcomes(passed=2, xfailed=1, skipped=1)
    assert only_claim(project)["tiers"] == ["default", "slow"]


def test_results_json_carries_checks_seeds_records_and_verdicts(project):
    project.runpytest("--seed", "4")
    claim = only_claim(project)
    assert claim["verdict"] == "reproduced" and claim["tier"] == "default"
    assert claim["seeds"] == [4, 5, 6]
    checks = {c["name"]: c for c in claim["checks"]}
    assert checks["two minus one"] == {"name": "two minus one", "value": 1, "op": ">",
                                       "bound": 0.5, "paper": 1.0, "passed": True,
                                       "test": "test_effect", "tier": "default"}
    assert checks["gap"]["passed"] is False
    assert [r["name"] for r in claim["records"]] == ["a size"]
    verdicts = {t["name"]: t["verdict"] for t in claim["tests"]}
    assert verdicts == {"test_effect": "reproduced", "test_known_gap": "not_reproduced_expected",
                        "test_paper_scale": "skipped", "test_on_gpu": "skipped"}
    gap = next(t for t in claim["tests"] if t["name"] == "test_known_gap")
    assert "gap: 0.1 is not >= 0.5" in gap["message"]
    assert results(project)["environment"]["seed"] == 4


def test_a_failed_check_is_not_reproduced_with_its_numbers(project):
    project.makepyfile(test_toy=CLAIM_MODULE.replace('2 - 1, ">", 0.5', '2 - 1, ">", 1.5'))
    out = project.runpytest()
    out.stdout.fnmatch_lines(["*AssertionError: two minus one: 1 is not > 1.5 (paper: 1)*"])
    claim = only_claim(project)
    assert claim["verdict"] == "not_reproduced"
    assert claim["checks"][0]["value"] == 1 and claim["checks"][0]["passed"] is False


def test_a_strict_xfail_that_passes_fails_the_claim(project):
    project.makepyfile(test_toy=CLAIM_MODULE.replace('0.1, ">=", 0.5', '0.9, ">=", 0.5'))
    project.runpytest()
    assert only_claim(project)["verdict"] == "not_reproduced"


def test_an_exception_is_an_error_not_a_finding(project):
    project.makepyfile(test_toy=CLAIM_MODULE.replace('evidence.note("an assumption")',
                                                     'raise KeyError("oops")'))
    project.runpytest()
    assert only_claim(project)["verdict"] == "error"


def test_a_claim_with_only_expected_failures(project):
    module = CLAIM_MODULE.split("def test_effect")[0] + CLAIM_MODULE.split(
        '    evidence.note("an assumption")\n')[1]
    project.makepyfile(test_toy=module)
    project.runpytest()
    assert only_claim(project)["verdict"] == "not_reproduced_expected"


def test_unit_tests_alone_leave_the_results_in_place(project):
    project.runpytest()
    before = (project.path / "report" / "out" / "results.json").read_text()
    project.makepyfile(test_unit="def test_x():\n    assert True\n")
    project.runpytest("test_unit.py").assert_outcomes(passed=1)
    assert (project.path / "report" / "out" / "results.json").read_text() == before


def test_benchmarks_pair_with_their_baseline(project):
    project.makepyfile(test_bench='''
import time
CLAIM = {"id": "bench", "title": "b", "statement": "", "sources": []}
def test_bench_slow(benchmark):
    benchmark.group = "g"
    benchmark.extra_info["units"] = 1
    benchmark.pedantic(time.sleep, args=(0.02,), rounds=2)
def test_bench_fast(benchmark):
    benchmark.group = "g"
    benchmark.extra_info["units"] = 4
    benchmark.extra_info["baseline"] = "test_bench_slow"
    benchmark.pedantic(time.sleep, args=(0.02,), rounds=2)
''')
    project.runpytest("test_bench.py")
    benches = {b["name"]: b for b in results(project)["benchmarks"]}
    assert benches["test_bench_fast"]["claim"] == "bench"
    assert benches["test_bench_fast"]["speedup"] == pytest.approx(4, rel=0.3)
    assert benches["test_bench_slow"]["speedup"] is None


def test_xdist_stores_the_same_evidence_as_a_serial_run(project):
    project.runpytest_subprocess("-p", "no:cacheprovider")
    serial = only_claim(project)
    project.runpytest_subprocess("-n", "2", "-p", "no:cacheprovider")
    parallel = only_claim(project)
    for key in ("verdict", "checks", "records", "notes", "seeds", "tiers"):
        assert parallel[key] == serial[key], key
    assert [(t["name"], t["verdict"]) for t in parallel["tests"]] == \
        [(t["name"], t["verdict"]) for t in serial["tests"]]


def test_repro_report_runs_the_claims_and_writes_both_files(project, monkeypatch):
    from optclaims_report import cli

    claims = project.mkdir("claims")
    (project.path / "test_toy.py").rename(claims / "test_toy.py")
    monkeypatch.chdir(project.path)
    out = project.path / "site"
    assert cli.main(["report", "--out", str(out), "--", "-q", "-p", "no:cacheprovider"]) == 0
    results = json.loads((out / "results.json").read_text())
    assert results["claims"][0]["verdict"] == "reproduced"
    html = (out / "index.html").read_text()
    assert "A toy claim" in html and "two minus one" in html


def test_repro_report_returns_pytests_failure_status(project, monkeypatch):
    from optclaims_report import cli

    claims = project.mkdir("claims")
    (claims / "test_toy.py").write_text(CLAIM_MODULE.replace('2 - 1, ">", 0.5', '2 - 1, ">", 1.5'))
    monkeypatch.chdir(project.path)
    assert cli.main(["report", "--out", "site", "--", "-q", "-p", "no:cacheprovider"]) == 1
    assert "not reproduced" in (project.path / "site" / "index.html").read_text()
