"""repro mutants (optclaims_report/mutants.py): the sample, the mapping of mutants to claim
modules, the equivalence marks, the score, and the report's section. Only the last test (slow
tier) runs mutmut itself; the others write its output files by hand, in the shape mutmut 3.8.1
writes them."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from optclaims_report import cli, mutants, mutants_probe
from optclaims_report.build import render
from optclaims_report.results import build_results

ROOT = Path(__file__).resolve().parent.parent

DIFF = """--- reproductions/toy.py
+++ reproductions/toy.py
@@ -1,2 +1,2 @@
 def x_step(lr, g):
-    return lr * g
+    return lr / g
"""


ALL_TESTS = ["claims/test_a.py::test_1", "claims/test_a.py::test_2", "claims/test_a.py::test_3",
             "claims/test_b.py::test_1", "claims/test_b.py::test_2", "claims/test_c.py::test_1"]


def test_a_function_is_judged_by_the_tests_that_reuse_a_fixture_it_helped_compute():
    # mutmut saw only test_1 call f: the module fixture `runs` was computed in its setup.
    fixtures = {"claims/test_a.py::test_1": ["runs"], "claims/test_a.py::test_2": ["runs"],
                "claims/test_a.py::test_3": ["grid"], "claims/test_b.py::test_1": [],
                "claims/test_b.py::test_2": []}
    linked = mutants.linked_tests({"r.m.x_f": ["claims/test_a.py::test_1"],
                                   "r.m.x_g": ["claims/test_b.py::test_2"]}, ALL_TESTS, fixtures)
    assert linked["r.m.x_f"] == ["claims/test_a.py::test_1", "claims/test_a.py::test_2"]
    assert linked["r.m.x_g"] == ["claims/test_b.py::test_2"]


def test_without_fixture_facts_a_function_is_judged_by_its_whole_claim_modules():
    linked = mutants.linked_tests({"r.m.x_f": ["claims/test_a.py::test_1"]}, ALL_TESTS)
    assert linked["r.m.x_f"] == ALL_TESTS[:3]


def test_a_mutant_belongs_to_the_function_mutmut_names_before_its_number():
    assert mutants.function_of("reproductions.q.x_run__mutmut_12") == "reproductions.q.x_run"
    assert mutants.function_of("reproductions.q.xǁAǁstep__mutmut_3") == "reproductions.q.xǁAǁstep"


def test_mutants_of_figure_helpers_are_told_apart():
    assert mutants.is_figure_code("reproductions.bl.x_plot_landscape__mutmut_4")
    assert mutants.is_figure_code("reproductions.bl.xǁRunǁplot__mutmut_1")
    assert not mutants.is_figure_code("reproductions.bl.x_landscape_plotless__mutmut_1")
    assert not mutants.is_figure_code("reproductions.bl.x_replot__mutmut_1")


def test_the_sample_is_sized_to_the_budget_at_the_mean_cost_and_repeatable():
    names = [f"r.m.x_f__mutmut_{i}" for i in range(100)]
    cost = {n: 2.0 if i % 2 else 8.0 for i, n in enumerate(names)}    # mean 5 s
    chosen = mutants.sample(names, cost, budget_s=100.0, seed=3)
    assert len(chosen) == int(100.0 / (mutants.EXPECTED_OVER_WORST * 5.0))
    assert chosen == mutants.sample(list(reversed(names)), cost, 100.0, seed=3)
    assert chosen != mutants.sample(names, cost, 100.0, seed=4)
    assert mutants.sample(names, cost, budget_s=1e9, seed=0) == sorted(names)


def test_an_expensive_module_is_sampled_in_proportion_to_its_mutants():
    cheap = [f"r.a.x_f__mutmut_{i}" for i in range(900)]
    costly = [f"r.b.x_f__mutmut_{i}" for i in range(100)]
    cost = {**{n: 1.0 for n in cheap}, **{n: 91.0 for n in costly}}  # mean 10 s
    chosen = mutants.sample(cheap + costly, cost, budget_s=1800.0 * mutants.EXPECTED_OVER_WORST,
                            seed=0)
    assert len(chosen) == 180
    assert 8 <= sum(n.startswith("r.b.") for n in chosen) <= 28       # 10% of 180, +-3 sd


def test_glob_names_pick_the_mutants_they_match():
    found = ["r.q.x_a__mutmut_1", "r.q.x_a__mutmut_2", "r.q.x_b__mutmut_1"]
    assert mutants.matching(["r.q.x_a__*"], found) == found[:2]
    assert mutants.matching(["r.q.x_b__mutmut_1"], found) == found[2:]


def write_meta(work, source, codes, durations=None):
    path = work / source
    path.parent.mkdir(parents=True, exist_ok=True)
    Path(str(path) + ".meta").write_text(json.dumps(
        {"exit_code_by_key": codes, "durations_by_key": durations or {}}))


def test_outcomes_are_read_from_mutmuts_meta_files(tmp_path):
    write_meta(tmp_path, "reproductions/toy.py", {"r.toy.x_f__mutmut_1": 1,
                                                  "r.toy.x_f__mutmut_2": 0},
               {"r.toy.x_f__mutmut_1": 0.4})
    found = mutants.read_outcomes(tmp_path)
    assert found["r.toy.x_f__mutmut_1"] == {"source": "reproductions/toy.py", "exit_code": 1,
                                            "seconds": 0.4}
    assert found["r.toy.x_f__mutmut_2"]["exit_code"] == 0


@pytest.mark.parametrize("code, status", [(1, "killed"), (3, "killed"), (0, "survived"),
                                          (33, "no tests"), (36, "timeout"), (-24, "timeout"),
                                          (-11, "crashed"), (None, "not run"), (77, "suspicious")])
def test_mutmut_exit_codes_are_named(code, status):
    assert mutants.outcome(code) == status


def test_an_equivalence_mark_applies_only_while_its_changed_lines_match():
    mark = {"mutant": "m1", "changed": ["-return lr * g", "+return lr / g"], "reason": "why"}
    sampled = {"m1": {"source": "s", "exit_code": 0, "seconds": 1.0}}
    judged = mutants.judge(sampled, {"m1": DIFF}, {"m1": mark})
    assert judged["m1"]["status"] == "equivalent" and judged["m1"]["reason"] == "why"
    renumbered = DIFF.replace("lr / g", "lr + g")                   # m1 is now another mutant
    judged = mutants.judge(sampled, {"m1": renumbered}, {"m1": mark})
    assert judged["m1"]["status"] == "survived" and judged["m1"]["stale_mark"] == "why"


def test_a_killed_mutant_is_never_marked_equivalent():
    mark = {"mutant": "m1", "changed": mutants.changed_lines(DIFF), "reason": "why"}
    judged = mutants.judge({"m1": {"source": "s", "exit_code": 1, "seconds": 1.0}},
                           {"m1": DIFF}, {"m1": mark})
    assert judged["m1"]["status"] == "killed"


def test_an_equivalence_mark_without_a_reason_is_refused(tmp_path):
    path = tmp_path / "equivalent_mutants.toml"
    path.write_text('[[equivalent]]\nmutant = "m1"\nchanged = ["-a", "+b"]\nreason = " "\n')
    with pytest.raises(mutants.MutantsError, match="reason"):
        mutants.load_equivalent(path)


def test_the_projects_equivalence_marks_are_well_formed():
    for entry in mutants.load_equivalent(ROOT / mutants.EQUIVALENT).values():
        assert entry["changed"] and all(line[:1] in "+-" for line in entry["changed"])


def judged_example():
    status = {"a1": "killed", "a2": "killed", "a3": "survived", "a4": "equivalent",
              "b1": "no tests", "b2": "timeout"}
    return {name: {"source": f"reproductions/{name[0]}.py", "exit_code": None,
                   "seconds": 1.0, "status": s, "diff": DIFF} for name, s in status.items()}


def test_the_score_counts_timeouts_as_caught_and_functions_without_tests_as_not():
    summary = mutants.summarize(judged_example(), {"reproductions/a.py": 40,
                                                   "reproductions/b.py": 10,
                                                   "reproductions/c.py": 5})
    total = summary["total"]
    assert (total["generated"], total["sampled"], total["caught"]) == (55, 6, 3)
    assert total["score"] == pytest.approx(3 / 5)                    # the equivalent one is out
    assert total["score_reached"] == pytest.approx(3 / 4)            # and "no tests" too
    low, high = total["score_interval"]
    assert low < 0.6 < high
    assert summary["modules"]["reproductions/a.py"]["score"] == pytest.approx(2 / 3)
    assert summary["modules"]["reproductions/c.py"] == {
        "generated": 5, "sampled": 0, "caught": 0, "score": None, "score_interval": None,
        "score_reached": None, "score_reached_interval": None}


def mutation_result():
    judged = judged_example()
    return {"version": mutants.VERSION, "tool": mutants.MUTMUT, "started_utc": "t0",
            "finished_utc": "t1", "seconds": 60.0, "git_commit": "abc", "jobs": 2,
            "minutes": 30.0, "sample_seed": 0, "named": False, "mutmut_exit": 0,
            "interrupted": False, "clean_test_seconds": 10.0,
            "summary": mutants.summarize(judged, {"reproductions/a.py": 40}),
            "mutants": judged}


def test_the_report_lists_the_survivors_with_their_diffs_and_the_score():
    results = build_results([], [], {"python": "3.x", "seed": 0, "argv": []})
    html = render(results, mutation=mutation_result())
    assert 'id="mutants"' in html and "60.0%" in html
    assert "a3" in html and "lr / g" in html
    assert "Marked equivalent" in html


def test_a_kept_result_of_another_version_is_skipped_with_a_warning(tmp_path, capsys):
    out = tmp_path / "report" / "out" / "mutants" / "run1"
    out.mkdir(parents=True)
    mutants.write(dict(mutation_result(), version=0), out)
    assert mutants.latest(tmp_path) is None
    assert "not a version-1 mutants result" in capsys.readouterr().err
    mutants.write(mutation_result(), out)
    assert mutants.latest(tmp_path)["git_commit"] == "abc"


def test_repro_mutants_without_mutmut_is_one_line_and_exit_2(monkeypatch, capsys):
    monkeypatch.setattr(mutants, "_mutmut_executable", lambda: None)
    assert cli.main(["mutants", "--minutes", "1"]) == 2
    err = capsys.readouterr().err
    assert "mutmut is not installed" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("bad", [["--minutes", "0"], ["--jobs", "0"], ["--minutes", "x"]])
def test_repro_mutants_refuses_bad_option_values(bad):
    with pytest.raises(SystemExit) as stop:
        cli.main(["mutants", *bad])
    assert stop.value.code == 2


def test_survivors_judged_again_replace_only_their_own_outcomes():
    previous = mutation_result()
    again = mutation_result()
    again["mutants"] = {"a3": dict(previous["mutants"]["a3"], status="killed")}
    again.update(finished_utc="t2", git_commit="def")
    merged = mutants.rejudged(previous, again)
    assert merged["mutants"]["a3"]["status"] == "killed"
    assert merged["mutants"]["a1"] == previous["mutants"]["a1"]
    assert merged["summary"]["total"]["caught"] == previous["summary"]["total"]["caught"] + 1
    assert merged["rejudged"] == [{"finished_utc": "t2", "git_commit": "def", "count": 1,
                                   "seconds": 60.0}]
    results = build_results([], [], {"python": "3.x", "seed": 0, "argv": []})
    assert "judged again on t2" in render(results, mutation=merged)


def test_the_probe_records_each_tests_module_fixtures_and_whole_time(pytester, monkeypatch):
    pytester.makepyfile(test_probe="""
        import time
        import pytest

        @pytest.fixture(scope="module")
        def runs():
            time.sleep(0.2)          # the experiment, computed once for the module
            return [1, 2]

        @pytest.fixture
        def fresh():
            return 3

        def test_first(runs):
            assert runs

        def test_second(runs, fresh):
            assert runs

        def test_alone(fresh):
            assert fresh
    """)
    out = pytester.path / "probe.json"
    monkeypatch.setenv(mutants_probe.ENV, str(out))
    assert pytester.runpytest_subprocess("-p", "optclaims_report.mutants_probe").ret == 0
    probe = json.loads(out.read_text())
    fixtures = {k.split("::")[1]: v for k, v in probe["module_fixtures"].items()}
    assert fixtures == {"test_first": ["runs"], "test_second": ["runs"], "test_alone": []}
    seconds = {k.split("::")[1]: v for k, v in probe["seconds"].items()}
    assert seconds["test_first"] >= 0.2 > seconds["test_second"]


def test_the_probe_runs_tests_given_in_any_order_in_file_order(pytester):
    pytester.makepyfile(test_a="def test_a1(): pass\ndef test_a2(): pass\n",
                        test_b="def test_b1(): pass\n")
    ids = ["test_b.py::test_b1", "test_a.py::test_a2", "test_a.py::test_a1"]
    run = pytester.runpytest_inprocess("-p", "optclaims_report.mutants_probe", "-v", *ids)
    ran = [line.split(" ")[0] for line in run.outlines if " PASSED" in line]
    assert ran == ["test_a.py::test_a1", "test_a.py::test_a2", "test_b.py::test_b1"]


# --- end to end, with mutmut --------------------------------------------------------------------
TOY_EXPERIMENT = '''
def scaled_sum(values, factor):
    total = 0.0
    for value in values:
        total += value
    return total * factor


def plot_sum(values):
    return [value * 2.0 for value in values]
'''

TOY_CLAIM = '''
import pytest
from reproductions.toy import plot_sum, scaled_sum


@pytest.fixture(scope="module")
def total():
    return scaled_sum([1.0, 2.0, 3.0], 2.0)


def test_total_is_positive(total):
    assert total > 0


def test_total_is_twice_the_sum(total):
    assert total == 12.0


def test_the_figure_has_a_point_per_value():
    assert len(plot_sum([1, 2])) == 2
'''

TOY_PYPROJECT = '''
[tool.mutmut]
source_paths = ["reproductions/"]
pytest_add_cli_args_test_selection = ["claims/"]
pytest_add_cli_args = ["-p", "optclaims_report.mutants_probe", "-p", "no:cacheprovider", "-q"]
also_copy = ["claims/"]
process_isolation = "forkserver"
'''


@pytest.mark.slow
def test_repro_mutants_judges_a_fixture_computed_value_by_every_test_that_reads_it(tmp_path):
    pytest.importorskip("mutmut")
    (tmp_path / "reproductions").mkdir()
    (tmp_path / "reproductions" / "__init__.py").write_text("")
    (tmp_path / "reproductions" / "toy.py").write_text(TOY_EXPERIMENT)
    (tmp_path / "claims").mkdir()
    (tmp_path / "claims" / "test_toy.py").write_text(TOY_CLAIM)
    (tmp_path / "pyproject.toml").write_text(TOY_PYPROJECT)
    done = subprocess.run([sys.executable, "-m", "optclaims_report.cli", "mutants",
                           "--minutes", "10", "--jobs", "1"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    result = mutants.latest(tmp_path)
    total = result["summary"]["total"]
    # `total = 0.0` made `1.0` changes only the exact value: only the second test, which mutmut
    # never saw call scaled_sum (the module fixture ran for the first), can catch it.
    assert total["sampled"] >= 4 and total.get("survived", 0) == 0
    assert total["caught"] == total["sampled"]
    stats = json.loads((tmp_path / mutants.STATS).read_text())
    assert set(stats["tests_by_mangled_function_name"]["reproductions.toy.x_scaled_sum"]) == {
        "claims/test_toy.py::test_total_is_positive",
        "claims/test_toy.py::test_total_is_twice_the_sum"}
    assert result["figure_code_mutants"] > 0
    assert all(not mutants.is_figure_code(m) for m in result["mutants"])
