"""``repro report`` reuses the results of the claim modules that did not change."""

import json
from pathlib import Path

import pytest

from optclaims_report import cli, reuse

ROOT = Path(__file__).resolve().parent.parent
CLAIM_SOURCE = '''
import pytest
from optclaims_report.claim import part
import {experiment}

CLAIM = {{"id": "{claim}", "title": "claim {claim}", "statement": "the value exceeds one",
          "sources": ["Nobody, 2024"],
          "parts": [part("more", "effect", "it exceeds one", "Nobody, 2024, p. 1")]}}

@pytest.mark.part("more")
def test_more(evidence):
    evidence.check("value", {experiment}.value(), ">", 1.0)
'''
ARGS = ["--", "-q", "-p", "no:cacheprovider", "-n0"]


@pytest.fixture
def project(tmp_path, monkeypatch):
    """Two claim modules, each reaching its own experiment module."""
    (tmp_path / "conftest.py").write_text('pytest_plugins = ["optclaims_report.plugin"]\n')
    (tmp_path / "claims").mkdir()
    for claim, experiment in (("a", "experiment_a"), ("b", "experiment_b")):
        (tmp_path / "claims" / f"test_{claim}.py").write_text(
            CLAIM_SOURCE.format(claim=claim, experiment=experiment))
        (tmp_path / f"{experiment}.py").write_text("def value():\n    return 2.0\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


@pytest.fixture
def pytest_runs(monkeypatch):
    """The claim modules each `repro report` hands to pytest."""
    runs = []
    real = cli.run_pytest

    def spy(root, paths, *args, **kwargs):
        runs.append(paths)
        return real(root, paths, *args, **kwargs)
    monkeypatch.setattr(cli, "run_pytest", spy)
    return runs


def report(project, *extra, status=0) -> dict:
    assert cli.main(["report", "--out", "site", *extra, *ARGS]) == status
    return json.loads((project / "site" / "results.json").read_text())


def verdicts(results) -> dict:
    return {c["id"]: (c["verdict"], [(k["name"], k["value"], k["status"]) for k in c["checks"]])
            for c in results["claims"]}


def test_a_second_report_with_nothing_changed_runs_nothing_and_gives_the_same_verdicts(
        project, pytest_runs):
    first = report(project)
    second = report(project)
    assert pytest_runs == [["claims"]]
    assert verdicts(second) == verdicts(first)
    assert all(c["reused_from"]["written_utc"] == first["environment"]["written_utc"]
               for c in second["claims"])
    assert "Reused from the run of" in (project / "site" / "index.html").read_text()


def test_editing_one_experiment_reruns_only_the_claims_that_reach_it(project, pytest_runs):
    first = report(project)
    (project / "experiment_b.py").write_text("def value():\n    return 0.5\n")
    second = report(project, status=1)   # b's check fails now
    assert pytest_runs == [["claims"], ["claims/test_b.py"]]
    by_id = {c["id"]: c for c in second["claims"]}
    assert "reused_from" in by_id["a"] and "reused_from" not in by_id["b"]
    assert by_id["a"]["verdict"] == "reproduced" and by_id["b"]["verdict"] == "not_reproduced"
    assert verdicts(second)["a"] == verdicts(first)["a"]
    assert not second["environment"]["selection"]["partial"]


def test_no_reuse_and_no_cache_run_every_module(project, pytest_runs):
    report(project)
    report(project, "--no-reuse")
    assert cli.main(["report", "--out", "site", *ARGS, "--no-cache"]) == 0
    assert pytest_runs == [["claims"], ["claims"], ["claims"]]


def test_the_key_changes_with_a_reached_source_the_arguments_and_the_data(project, tmp_path):
    module = project / "claims" / "test_a.py"
    key = reuse.module_key(project, module, [], "data", planted=False)
    assert reuse.reached_sources(project, module) == [module, project / "experiment_a.py"]
    assert reuse.module_key(project, module, ["--seed=1"], "data", planted=False) != key
    assert reuse.module_key(project, module, [], "other data", planted=False) != key
    (project / "experiment_b.py").write_text("def value():\n    return 3.0\n")
    assert reuse.module_key(project, module, [], "data", planted=False) == key
    (project / "experiment_a.py").write_text("def value():\n    return 3.0\n")
    assert reuse.module_key(project, module, [], "data", planted=False) != key


def test_the_real_claim_modules_reach_their_experiments_and_the_optimizers():
    sources = reuse.reached_sources(ROOT, ROOT / "claims" / "test_adaptive_overfit.py")
    names = {str(p.relative_to(ROOT)) for p in sources}
    assert {"reproductions/adaptive_overfit.py", "reproductions/optimizers.py",
            "report/claim.py"} <= names


def test_a_changed_data_file_changes_the_data_digest(tmp_path):
    (tmp_path / "a.csv").write_text("1,2\n")
    before = reuse.data_digest(tmp_path)
    (tmp_path / "a.csv").write_text("1,3\n")
    assert reuse.data_digest(tmp_path) != before
    assert reuse.data_digest(tmp_path / "absent") != before


def test_a_change_to_what_the_plugin_imports_changes_every_modules_key(tmp_path):
    """The plugin imports the verdict rules and the results builder: editing them must re-run
    every claim; so must editing what a checkout's own conftest.py imports."""
    sources = reuse.plugin_sources_of(ROOT)
    assert ROOT / "report" / "verdicts.py" in sources and ROOT / "report" / "results.py" in sources
    assert ROOT / "report" / "plugin" / "store.py" in sources
    (tmp_path / "claims").mkdir()
    (tmp_path / "claims" / "test_a.py").write_text("def test_a():\n    pass\n")
    (tmp_path / "conftest.py").write_text("import rules\n")
    (tmp_path / "rules.py").write_text("BOUND = 1\n")
    key = reuse.module_key(tmp_path, tmp_path / "claims" / "test_a.py", [], "d", planted=False)
    (tmp_path / "rules.py").write_text("BOUND = 2\n")
    assert reuse.module_key(tmp_path, tmp_path / "claims" / "test_a.py", [], "d",
                            planted=False) != key


def test_editing_one_modules_planted_bugs_changes_only_that_modules_key(tmp_path):
    """A claim module's bugs live in tests/planted_bugs/<name>.py: only its key covers them."""
    bugs = tmp_path / "tests" / "planted_bugs"
    bugs.mkdir(parents=True)
    (tmp_path / "claims").mkdir()
    for name in ("a", "b"):
        (tmp_path / "claims" / f"test_{name}.py").write_text("def test_x():\n    pass\n")
        (bugs / f"{name}.py").write_text("BUG = 1\n")
    (bugs / "__init__.py").write_text("")

    def keys():
        return {m: reuse.module_key(tmp_path, tmp_path / "claims" / f"test_{m}.py", [], "d",
                                    planted=True) for m in ("a", "b")}
    before = keys()
    (bugs / "a.py").write_text("BUG = 2\n")
    after = keys()
    assert after["a"] != before["a"] and after["b"] == before["b"]
