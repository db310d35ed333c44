"""The pytest plugin (optclaims_report.plugin), run on small claim modules in a scratch directory."""

import json

import pytest
# The plugin imports scipy.stats on its first seed interval. pytester's in-process runs drop the
# modules a run imported when it ends, and numpy's C extensions cannot be loaded twice in one
# process: imported here once, scipy.stats outlives every in-process run.
import scipy.stats  # noqa: F401

PLUGIN_CONFTEST = 'pytest_plugins = ["optclaims_report.plugin"]\n'   # a checkout's pyproject loads it with -p

CLAIM_MODULE = '''
import pytest
from optclaims_report.claim import known_non_reproduction, paper, part, measured, reading
from reproductions.data import DataCorrupt, DataMissing

CLAIM = {"id": "toy", "title": "A toy claim", "statement": "Two is more than one.",
         "sources": ["Nobody, 2024"],
         "parts": [part("more", "effect", "two exceeds one", "Nobody, 2024, p. 1",
                        judges=("two-more",)),
                   part("gap", "scope", "the gap is large", "Nobody, 2024, p. 2",
                        judges=("gap-large",),
                        readings=[reading("p. 2's own gap", 0.1, "does not hold", "document",
                                          "measured, seed 0")]),
                   part("big", "scope", "it holds at scale", "Nobody, 2024, p. 3")]}

@pytest.mark.part("more")
def test_effect(evidence, seed):
    """The effect."""
    evidence.seeds(range(seed, seed + 3))
    evidence.check("two minus one", 2 - 1, ">", 0.5, paper(1.0, "p. 1"))
    evidence.record("a size", 3)
    evidence.note("an assumption")

@pytest.mark.part("gap")
@known_non_reproduction("does not reproduce at this scale")
def test_known_gap(evidence):
    evidence.check("gap", 0.1, ">=", 0.5, measured(0.1, "seed 0"), pinned=(0.05, 0.2))

@pytest.mark.part("big")
@pytest.mark.slow
def test_paper_scale(evidence):
    evidence.check("big", 1, "==", 1)

@pytest.mark.part("big")
@pytest.mark.gpu
def test_on_gpu(evidence, device):
    evidence.check("gpu", 1, "==", 1)
'''


@pytest.fixture
def project(pytester):
    pytester.makeconftest(PLUGIN_CONFTEST)
    pytester.makepyfile(test_toy=CLAIM_MODULE)
    return pytester


def run_files(pytester):
    return sorted((pytester.path / "report" / "out" / "runs").glob("*/results.json"),
                  key=lambda p: p.stat().st_mtime)


def results(pytester):
    """The newest run's results (a plain run writes to its own run directory)."""
    return json.loads(run_files(pytester)[-1].read_text())


def only_claim(pytester):
    (claim,) = results(pytester)["claims"]
    return claim


def parts(pytester):
    return {p["id"]: p["verdict"] for p in only_claim(pytester)["parts"]}


def edit(pytester, old, new, count=1):
    assert CLAIM_MODULE.count(old) >= 1, old
    pytester.makepyfile(test_toy=CLAIM_MODULE.replace(old, new, count))


def test_markers_are_registered(project):
    out = project.runpytest("--markers")
    out.stdout.fnmatch_lines(["*@pytest.mark.slow:*--runslow*", "*@pytest.mark.gpu: needs CUDA*",
                              "*@pytest.mark.part(id):*"])


def test_header_echoes_the_seed(project):
    project.runpytest("--seed", "7").stdout.fnmatch_lines(
        ["*base seed 7 (repeat this run with --seed 7)*"])


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
    assert parts(project)["big"] == "reproduced"


def test_results_json_carries_checks_references_parts_and_verdicts(project):
    project.runpytest("--seed", "4")
    claim = only_claim(project)
    assert claim["seeds"] == [4, 5, 6]
    check = next(c for c in claim["checks"] if c["name"] == "two minus one")
    assert check == {"name": "two minus one", "value": 1, "op": ">", "bound": 0.5,
                     "reference": {"kind": "paper", "value": 1.0, "where": "p. 1"},
                     "remark": None, "status": "held", "passed": True, "seeds": None,
                     "pinned": None, "pin_status": None,
                     "test": "test_effect", "part": "more", "tier": "default"}
    gap = next(c for c in claim["checks"] if c["name"] == "gap")
    assert gap["status"] == "failed" and gap["reference"]["kind"] == "measured"
    assert gap["pinned"] == [0.05, 0.2] and gap["pin_status"] == "inside"
    assert [r["name"] for r in claim["records"]] == ["a size"]
    verdicts = {t["name"]: t["verdict"] for t in claim["tests"]}
    assert verdicts == {"test_effect": "held", "test_known_gap": "known_non_reproduction",
                        "test_paper_scale": "outside_run", "test_on_gpu": "outside_run"}
    assert parts(project) == {"more": "reproduced", "gap": "known_non_reproduction",
                              "big": "outside_run"}
    assert claim["verdict"] == "partly_reproduced"
    assert "gap" in claim["verdict_reason"]
    assert results(project)["environment"]["seed"] == 4


def test_every_check_is_recorded_before_the_test_fails(project):
    edit(project, '''    evidence.record("a size", 3)''',
         '''    evidence.check("second", 1, ">", 2)
    evidence.check("third", 3, ">", 2)
    evidence.check("fourth", 0, ">", 2)
    evidence.record("a size", 3)''')
    out = project.runpytest()
    out.stdout.fnmatch_lines(["*2 of the test's checks did not hold*",
                              "*failed? second: 1 is not > 2*",
                              "*failed? fourth: 0 is not > 2*"])
    claim = only_claim(project)
    assert [c["status"] for c in claim["checks"] if c["test"] == "test_effect"] == [
        "held", "failed", "held", "failed"]
    assert claim["verdict"] == "not_reproduced" and parts(project)["more"] == "not_reproduced"


def test_a_strict_xfail_that_passes_is_its_own_verdict_and_fails_the_run(project):
    edit(project, '0.1, ">=", 0.5', '0.9, ">=", 0.5')
    out = project.runpytest()
    assert out.ret == 1
    assert parts(project)["gap"] == "now_reproduces"
    assert only_claim(project)["verdict"] == "now_reproduces"


def test_a_known_non_reproduction_whose_value_leaves_its_pin_has_changed(project):
    """A bug that moves a non-reproduced value (0.1 -> 0.3, still failing its bound) is noticed:
    a verdict of its own, and the run fails."""
    edit(project, 'evidence.check("gap", 0.1,', 'evidence.check("gap", 0.3,')
    out = project.runpytest()
    assert out.ret == 1
    out.stdout.fnmatch_lines(["*numbers changed:", "*gap: 0.3 is not >= 0.5*pinned in ?0.05, 0.2?"])
    assert parts(project)["gap"] == "changed_non_reproduction"
    assert only_claim(project)["verdict"] == "changed_non_reproduction"
    gap = next(c for c in only_claim(project)["checks"] if c["name"] == "gap")
    assert gap["pin_status"] == "outside"


def test_a_failed_check_of_a_known_non_reproduction_needs_a_pin(project):
    edit(project, ', pinned=(0.05, 0.2))', ')')
    assert project.runpytest().ret == 1
    assert parts(project)["gap"] == "changed_non_reproduction"


def test_a_pin_outside_a_known_non_reproduction_is_refused(project):
    edit(project, 'evidence.check("two minus one", 2 - 1, ">", 0.5, paper(1.0, "p. 1"))',
         'evidence.check("two minus one", 2 - 1, ">", 0.5, pinned=(0, 2))')
    project.runpytest()
    assert parts(project)["more"] == "error"


def test_a_known_non_reproduction_without_readings_stops_the_run(project):
    edit(project, 'readings=[reading(', 'readings=[] and [reading(')
    out = project.runpytest()
    assert out.ret == pytest.ExitCode.USAGE_ERROR
    assert "declare the readings tried" in out.stderr.str()


def test_declared_and_recorded_readings_reach_the_part(project):
    edit(project, '    evidence.check("gap", 0.1,',
         '    evidence.reading("ten times the horizon", 0.12, "does not hold", "horizon")\n'
         '    evidence.check("gap", 0.1,')
    project.runpytest()
    (gap,) = [p for p in only_claim(project)["parts"] if p["id"] == "gap"]
    assert [(r["setting"], r["basis"], r["where"]) for r in gap["readings"]] == [
        ("p. 2's own gap", "document", "measured, seed 0"),
        ("ten times the horizon", "horizon", "this run")]


CATALOGUE = """
[[claim]]
id = "two-more"
source = "Nobody, 2024, p. 1"
statement = "Two exceeds one."
checkable = true
judged_by = ["toy/more"{more}]
{split}
[[claim]]
id = "gap-large"
source = "Nobody, 2024, p. 2"
statement = "The gap is large."
checkable = true
judged_by = ["toy/gap"]
"""


def entries(pytester):
    return {e["id"]: e for e in results(pytester)["catalogue"]["entries"]}


def test_each_document_sentence_gets_one_verdict_from_its_parts(project):
    project.mkdir("claims")
    (project.path / "claims" / "catalogue.toml").write_text(CATALOGUE.format(more="", split=""))
    assert project.runpytest().ret == 0
    found = entries(project)
    assert found["two-more"]["verdict"] == "reproduced"
    assert found["gap-large"]["verdict"] == "known_non_reproduction"
    assert found["gap-large"]["parts"][0]["readings"][0]["basis"] == "document"


def test_a_sentence_judged_both_ways_fails_the_run_unless_the_split_is_declared(project):
    project.mkdir("claims")
    catalogue = project.path / "claims" / "catalogue.toml"
    catalogue.write_text(CATALOGUE.format(more=', "toy/gap"', split=""))
    edit(project, 'judges=("gap-large",)', 'judges=("gap-large", "two-more")')
    out = project.runpytest()
    assert out.ret == 1
    out.stdout.fnmatch_lines(["*CONTRADICTORY two-more: toy/more reproduced; toy/gap known*"])
    assert entries(project)["two-more"]["verdict"] == "contradictory"
    catalogue.write_text(CATALOGUE.format(more=', "toy/gap"',
                                          split='split = "holds for small gaps only"'))
    assert project.runpytest().ret == 0
    assert entries(project)["two-more"]["verdict"] == "partly_reproduced"


def test_a_broken_control_leaves_the_sentence_unjudged(project):
    """A part stands for its sentence only when its claim's controls and preconditions hold."""
    project.mkdir("claims")
    (project.path / "claims" / "catalogue.toml").write_text(CATALOGUE.format(more="", split=""))
    project.makepyfile(test_toy=CLAIM_MODULE.replace(
        'part("big", "scope",', 'part("big", "control",') + '\n\n@pytest.mark.part("big")\n'
        'def test_broken(evidence):\n    evidence.check("control", 0, "==", 1)\n')
    project.runpytest()
    assert entries(project)["two-more"]["verdict"] == "not_reproduced"


def test_a_crash_inside_a_known_non_reproduction_is_an_error(project):
    edit(project, '    evidence.check("gap", 0.1', '    raise TypeError("oops")\n    evidence.check("gap", 0.1')
    out = project.runpytest()
    out.assert_outcomes(passed=1, failed=1, skipped=2)
    assert parts(project)["gap"] == "error" and only_claim(project)["verdict"] == "error"


def test_an_exception_is_an_error_not_a_finding(project):
    edit(project, 'evidence.note("an assumption")', 'raise KeyError("oops")')
    project.runpytest()
    assert only_claim(project)["verdict"] == "error"


def test_a_test_that_checks_nothing_is_an_error(project):
    edit(project, '    evidence.check("two minus one", 2 - 1, ">", 0.5, paper(1.0, "p. 1"))\n', "")
    project.runpytest()
    assert parts(project)["more"] == "error"


@pytest.mark.parametrize("old, new, problem", [
    ('@pytest.mark.part("more")\n', "", "needs exactly one @pytest.mark.part"),
    ('@pytest.mark.part("more")', '@pytest.mark.part("less")', "which CLAIM does not declare"),
    ('@known_non_reproduction("does not reproduce at this scale")',
     '@pytest.mark.xfail(strict=True, reason="no raises")', "raises=AssertionError"),
])
def test_a_wrongly_declared_test_stops_the_run(project, old, new, problem):
    edit(project, old, new)
    out = project.runpytest()
    assert out.ret == pytest.ExitCode.USAGE_ERROR
    assert problem in out.stderr.str()


def test_an_effect_outside_the_selected_tiers_is_not_run(project):
    edit(project, '@pytest.mark.part("more")\ndef', '@pytest.mark.part("more")\n@pytest.mark.slow\ndef')
    project.runpytest()
    assert parts(project)["more"] == "outside_run"
    assert only_claim(project)["verdict"] == "not_run"


def test_a_deselected_effect_is_not_run(project):
    project.runpytest("-k", "known_gap")
    assert parts(project)["more"] == "outside_run" and only_claim(project)["verdict"] == "not_run"


MISSING = '    raise DataMissing("missing data file /nowhere/x.gz (expected sha256 abc). Get it from Z.")\n'


def test_missing_data_is_not_run_never_reproduced(project):
    edit(project, '    """The effect."""\n', '    """The effect."""\n' + MISSING)
    out = project.runpytest("-rs")
    out.assert_outcomes(xfailed=1, skipped=3)
    out.stdout.fnmatch_lines(["*data missing: missing data file /nowhere/x.gz*"])
    assert parts(project)["more"] == "not_run" and only_claim(project)["verdict"] == "not_run"


def test_require_data_turns_missing_data_into_a_failure_without_a_traceback(project):
    edit(project, '    """The effect."""\n', '    """The effect."""\n' + MISSING)
    out = project.runpytest("--require-data")
    out.assert_outcomes(failed=1, xfailed=1, skipped=2)
    out.stdout.fnmatch_lines(["*data missing (--require-data): missing data file /nowhere/x.gz*"])
    assert "Traceback" not in out.stdout.str() and "raise DataMissing" not in out.stdout.str()
    assert only_claim(project)["verdict"] == "not_run"


def test_corrupt_data_is_an_error(project):
    edit(project, '    """The effect."""\n',
         '    """The effect."""\n    raise DataCorrupt("corrupt data file /d/x.gz: sha256 0, expected 1")\n')
    out = project.runpytest()
    out.stdout.fnmatch_lines(["*corrupt data: corrupt data file /d/x.gz*"])
    assert only_claim(project)["verdict"] == "error"


SEEDS = '    evidence.check_seeds("ratio", {values}, "median", ">=", 1.0, seeds=range({n}))\n'


@pytest.mark.parametrize("values, n, status", [
    ([1.5, 1.6, 1.4, 1.7, 1.55], 5, "held"),
    ([0.5, 1.6, 0.4, 1.7, 1.05], 5, "inconclusive"),
    ([0.5, 0.6, 0.4, 0.7, 0.55], 5, "failed"),
])
def test_a_seed_statistic_is_held_failed_or_inconclusive(project, values, n, status):
    edit(project, '    evidence.record("a size", 3)\n', SEEDS.format(values=values, n=n))
    project.runpytest()
    check = next(c for c in only_claim(project)["checks"] if c["name"] == "ratio")
    assert check["status"] == status
    assert check["seeds"]["values"] == values and check["seeds"]["seeds"] == list(range(n))
    lo, hi = check["seeds"]["interval"]
    assert lo <= check["value"] <= hi
    expected = {"held": "reproduced", "failed": "not_reproduced", "inconclusive": "inconclusive"}
    assert parts(project)["more"] == expected[status]


def test_an_inconclusive_known_non_reproduction_fails_the_run(project):
    edit(project, '    evidence.check("gap", 0.1, ">=", 0.5, measured(0.1, "seed 0"), pinned=(0.05, 0.2))',
         SEEDS.format(values=[0.5, 1.6, 0.4, 1.7, 1.05], n=5))
    out = project.runpytest()
    out.assert_outcomes(passed=1, failed=1, skipped=2)
    assert parts(project)["gap"] == "inconclusive"


def test_a_thread_pin_is_applied_and_shown(project):
    edit(project, '"sources": ["Nobody, 2024"],', '"sources": ["Nobody, 2024"], "torch_threads": 1,')
    project.makepyfile(test_threads='''
import torch
def test_default_threads(request):
    assert torch.get_num_threads() == request.config.getoption("torch_threads")
''')
    project.runpytest("--torch-threads", "2").assert_outcomes(passed=2, xfailed=1, skipped=2)
    assert results(project)["environment"]["thread_pins"] == {"toy": 1}


def test_unit_tests_alone_write_no_results(project):
    project.runpytest()
    before = run_files(project)
    project.makepyfile(test_unit="def test_x():\n    assert True\n")
    project.runpytest("test_unit.py").assert_outcomes(passed=1)
    assert run_files(project) == before


BENCH = '''
import time
CLAIM = {"id": "bench", "title": "b", "statement": "", "sources": [], "parts": []}
def test_bench_slow(benchmark):
    benchmark.group = "g"
    benchmark.extra_info["units"] = 1
    benchmark.pedantic(time.sleep, args=(0.02,), rounds=2)
def test_bench_fast(benchmark):
    benchmark.group = "g"
    benchmark.extra_info["units"] = 4
    benchmark.extra_info["baseline"] = "test_bench_slow"
    benchmark.pedantic(time.sleep, args=(0.02,), rounds=2)
'''


def test_benchmarks_pair_with_their_baseline_and_gate_nothing(project, monkeypatch):
    # Inside an xdist worker, pytest-benchmark would see PYTEST_XDIST_WORKER and not time.
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)
    project.makepyfile(test_bench=BENCH)
    project.runpytest("test_bench.py")
    benches = {b["name"]: b for b in results(project)["benchmarks"]}
    assert benches["test_bench_fast"]["claim"] == "bench"
    slow, fast = benches["test_bench_slow"]["median_s"], benches["test_bench_fast"]["median_s"]
    # per unit of work: the same sleep per call, four units per call of the fast one
    assert benches["test_bench_fast"]["speedup"] == pytest.approx(4 * slow / fast)
    assert 2 < benches["test_bench_fast"]["speedup"] < 8
    assert benches["test_bench_slow"]["speedup"] is None
    assert {t["verdict"] for t in only_claim(project)["tests"]} == {"timed"}


def test_a_benchmark_cannot_check(project):
    project.makepyfile(test_bench=BENCH.replace(
        '    benchmark.group = "g"\n', '    evidence.check("fast", 1, ">", 0)\n', 1).replace(
        "def test_bench_slow(benchmark)", "def test_bench_slow(benchmark, evidence)"))
    out = project.runpytest("test_bench.py")
    out.stdout.fnmatch_lines(["*a benchmark records numbers; it does not check them*"])


def test_xdist_stores_the_same_evidence_as_a_serial_run(project):
    project.runpytest_subprocess("-p", "no:cacheprovider")
    serial = only_claim(project)
    project.runpytest_subprocess("-n", "2", "-p", "no:cacheprovider")
    parallel = only_claim(project)
    for key in ("verdict", "parts", "checks", "records", "notes", "seeds", "tiers"):
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
    assert results["claims"][0]["verdict"] == "partly_reproduced"
    html = (out / "index.html").read_text()
    assert "A toy claim" in html and "two minus one" in html


def test_repro_report_returns_pytests_failure_status(project, monkeypatch):
    from optclaims_report import cli

    claims = project.mkdir("claims")
    (claims / "test_toy.py").write_text(CLAIM_MODULE.replace('2 - 1, ">", 0.5', '2 - 1, ">", 1.5'))
    monkeypatch.chdir(project.path)
    assert cli.main(["report", "--out", "site", "--", "-q", "-p", "no:cacheprovider", "-n0"]) == 1
    assert "not reproduced" in (project.path / "site" / "index.html").read_text()


@pytest.mark.parametrize("signame", ["SIGTERM", "SIGINT"])
def test_a_run_killed_midway_leaves_valid_results_for_what_finished(project, signame):
    """The first test passes; the second kills the run; the rest are stored as not run."""
    edit(project, '@pytest.mark.part("gap")\n', f'''@pytest.mark.part("gap")
def test_stop_here(evidence):
    import os, signal
    evidence.check("reached", 1, "==", 1)
    # A process started in the background inherits SIGINT ignored; a terminal's Ctrl-C is not.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    os.kill(os.getpid(), signal.{signame})

@pytest.mark.part("gap")
''')
    project.runpytest_subprocess("-p", "no:cacheprovider", "--runslow")
    results_json = results(project)
    assert results_json["environment"]["interrupted"] is True
    assert results_json["environment"]["complete"] is False
    tests = {t["name"]: t for t in results_json["claims"][0]["tests"]}
    assert tests["test_effect"]["verdict"] == "held"
    assert tests["test_known_gap"]["verdict"] == "not_run"
    assert "stopped before this test" in tests["test_paper_scale"]["message"]
    assert results_json["claims"][0]["verdict"] == "not_run"


TWO_CLAIMS = '''
import pytest
from optclaims_report.claim import part

CLAIMS = [
    {"id": "one", "title": "One", "statement": "s", "sources": [],
     "parts": [part("one-holds", "effect", "one holds", "p. 1")]},
    {"id": "two", "title": "Two", "statement": "s", "sources": [],
     "parts": [part("two-holds", "effect", "two holds", "p. 2")]},
]

@pytest.mark.part("one-holds")
def test_one(evidence):
    evidence.check("one", 1, "==", 1)

@pytest.mark.part("two-holds")
def test_two(evidence):
    evidence.check("two", 2, "==", 3)

@pytest.mark.claim("one")
def test_bench_one(benchmark):
    benchmark.pedantic(lambda: None, rounds=1)
'''


def test_a_module_may_declare_several_claims_each_with_its_own_verdict(pytester):
    pytester.makeconftest(PLUGIN_CONFTEST)
    pytester.makepyfile(test_two=TWO_CLAIMS)
    pytester.runpytest()
    verdicts = {c["id"]: c["verdict"] for c in results(pytester)["claims"]}
    assert verdicts == {"one": "reproduced", "two": "not_reproduced"}
    one = next(c for c in results(pytester)["claims"] if c["id"] == "one")
    assert [t["name"] for t in one["tests"]] == ["test_one", "test_bench_one"]


def test_a_part_declared_by_two_claims_of_a_module_stops_the_run(pytester):
    pytester.makeconftest(PLUGIN_CONFTEST)
    pytester.makepyfile(test_two=TWO_CLAIMS.replace('part("two-holds"', 'part("one-holds"'))
    out = pytester.runpytest()
    assert out.ret == pytest.ExitCode.USAGE_ERROR
    assert "declared by both 'one' and 'two'" in out.stderr.str()


def test_plain_runs_write_to_their_own_run_directories(project):
    project.runpytest()
    project.runpytest("-k", "effect")
    first, second = run_files(project)
    assert first.parent != second.parent
    assert not (project.path / "report" / "out" / "results.json").exists()


def test_results_flag_writes_only_where_it_says(project):
    project.runpytest(f"--results={project.path / 'mine.json'}")
    assert (project.path / "mine.json").is_file() and not run_files(project)


def test_no_results_flag_writes_no_results_anywhere(project):
    project.runpytest("--no-results").assert_outcomes(passed=1, xfailed=1, skipped=2)
    assert not run_files(project)


def test_a_keyword_selection_is_recorded_as_partial(project):
    project.runpytest("-k", "effect")
    sel = results(project)["environment"]["selection"]
    assert sel["partial"] and sel["keyword"] == "effect" and sel["deselected_claim_tests"] == 3


def test_a_whole_run_is_not_partial(project):
    project.runpytest()
    sel = results(project)["environment"]["selection"]
    assert not sel["partial"] and sel["deselected_claim_tests"] == 0


def test_report_from_latest_renders_the_newest_run(project, monkeypatch):
    from optclaims_report import cli
    project.runpytest("-k", "effect")
    (project.path / "claims").mkdir()
    monkeypatch.chdir(project.path)
    assert cli.main(["report", "--from", "latest"]) == 0
    assert (run_files(project)[-1].parent / "index.html").is_file()


def test_a_partial_run_is_marked_on_every_claim_card(project, monkeypatch):
    from optclaims_report.build import render
    project.runpytest("-k", "effect")
    html = render(results(project))
    assert html.count(">partial run</span>") == 2          # the summary and the one claim card
    project.runpytest()
    assert "partial run</span>" not in render(results(project))


def test_two_report_runs_in_a_row_show_what_changed_since_the_last(project, monkeypatch):
    from optclaims_report import cli

    claims = project.mkdir("claims")
    (project.path / "test_toy.py").rename(claims / "test_toy.py")
    monkeypatch.chdir(project.path)
    args = ["report", "--out", "site", "--", "-q", "-p", "no:cacheprovider", "-n0"]
    assert cli.main(args) == 0
    assert "The first run kept on this machine" in (project.path / "site" / "index.html").read_text()
    assert cli.main(args) == 0
    html = (project.path / "site" / "index.html").read_text()
    assert "Changed since the last run" in html and "Nothing moved" in html
    assert '<svg class="spark"' in html                     # each check's value over both runs
    (claims / "test_toy.py").write_text(CLAIM_MODULE.replace('2 - 1, ">", 0.5', '2 - 1, ">", 1.5'))
    assert cli.main(args) == 1
    html = (project.path / "site" / "index.html").read_text()
    assert "Verdicts flipped (2)" in html and "claim toy" in html
    assert len(list((project.path / "report" / "out" / "history").glob("*/*.json"))) == 3


def test_a_pinned_baseline_keeps_judging_later_runs_until_the_next_baseline(project, monkeypatch):
    from optclaims_report import cli

    claims = project.mkdir("claims")
    (project.path / "test_toy.py").rename(claims / "test_toy.py")
    monkeypatch.chdir(project.path)
    args = ["report", "--out", "site", "--", "-q", "-p", "no:cacheprovider", "-n0"]
    page = project.path / "site" / "index.html"
    assert cli.main(args) == 0
    history = project.path / "report" / "out" / "history"
    (mine,) = history.glob("*/*.json")
    other = history / "another-machine" / "29991231-000000-abc.json"  # newer, elsewhere
    other.parent.mkdir()
    other.write_text(mine.read_text())
    assert cli.main(["baseline"]) == 0
    assert (mine.parent / "BASELINE").read_text().strip() == mine.name
    assert not (other.parent / "BASELINE").exists()
    (claims / "test_toy.py").write_text(CLAIM_MODULE.replace('2 - 1, ">", 0.5', '2 - 1, ">", 1.5'))
    assert cli.main(args) == 1
    assert cli.main(args) == 1
    html = page.read_text()
    assert "Nothing moved" in html                    # against the last run: the same failure
    assert "Flipped since the baseline" in html       # against the baseline: still a flip
    assert cli.main(["baseline", "latest"]) == 0      # the change is accepted explicitly
    assert cli.main(args) == 1
    assert "Flipped since the baseline" not in page.read_text()


CACHED_MODULE = '''
import pytest
from optclaims_report.claim import part
from reproductions import optimizers

CLAIM = {"id": "cached", "title": "A cached claim", "statement": "s", "sources": ["x"],
         "parts": [part("big", "effect", "at scale", "x")]}
CALLS = []

def experiment(n):
    CALLS.append(n)
    return list(range(n))

@pytest.fixture(scope="module")
def big(experiment_cache):
    return experiment_cache(experiment, 4)

@pytest.mark.part("big")
@pytest.mark.slow
def test_big(big, evidence):
    evidence.record("experiment calls", len(CALLS))
    evidence.check("sum", sum(big), "==", 6)
'''


def test_a_slow_experiment_is_cached_between_runs_unless_no_cache(pytester):
    pytester.makeconftest(PLUGIN_CONFTEST)
    pytester.makepyfile(test_cached=CACHED_MODULE)
    statuses, calls = [], []
    for args in ([], [], ["--no-cache"]):
        pytester.runpytest("--runslow", *args).assert_outcomes(passed=1)
        (claim,) = results(pytester)["claims"]
        statuses.append([e["status"] for e in claim["cache"]])
        calls.append(claim["records"][0]["value"])
    assert statuses == [["stored"], ["hit"], ["off"]]
    assert calls == [1, 0, 1]
    assert claim["verdict"] == "reproduced"


def test_progress_marks_each_module_as_it_starts_and_ends_and_names_it_once(project):
    out = project.runpytest("--progress")
    out.stdout.fnmatch_lines(["*module 1/1: 4 tests (toy)*", "test_toy.py *",
                              "*done in * s: 1 passed, 2 skipped, 1 xfailed "
                              "(4/4 tests of the run)*"])
    assert out.stdout.str().count("test_toy.py") == 1   # pytest's own line of dots names it


def test_under_xdist_progress_names_the_module_as_it_starts_and_ends(project):
    out = project.runpytest("--progress", "-n", "1")
    out.stdout.fnmatch_lines(["*module 1/1 test_toy.py: 4 tests*",
                              "*done test_toy.py in * s: 1 passed, 2 skipped, 1 xfailed "
                              "(4/4 tests of the run)*"])


@pytest.mark.parametrize("option, says", [
    ("--torch-threads=0", "--torch-threads must be at least 1"),
    ("--results=.", "names the folder"),
])
def test_an_option_value_the_plugin_cannot_use_is_a_usage_error(project, option, says):
    out = project.runpytest_subprocess("-p", "no:cacheprovider", option)
    assert out.ret == pytest.ExitCode.USAGE_ERROR
    out.stderr.fnmatch_lines([f"*{says}*"])
    assert "INTERNALERROR" not in out.stdout.str() + out.stderr.str()
