"""The repro command's arguments, its history entries under concurrency, and what it does with
Ctrl-C and SIGTERM: usage errors are one line and exit 2, nothing unknown is ignored, runs at
once never share a history entry, and a stopped run stops its pytest and still gets a report."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from optclaims_report import cli, history
from optclaims_report.sweep import parse_seeds

ROOT = Path(__file__).resolve().parent.parent


# --- seeds ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("text, says", [
    ("3,5-1", "reversed range; write 1-5"),
    ("-3", "is not a base seed"),
    ("1,x", "is not a base seed"),
    ("0-100000", "more than 100 base seeds"),
    (" , ", "no seeds"),
])
def test_a_seed_list_that_names_no_sensible_seeds_is_refused_saying_why(text, says):
    with pytest.raises(ValueError, match=says):
        parse_seeds(text)


def test_a_long_seed_list_runs_when_its_length_is_allowed():
    assert parse_seeds("0-149", max_seeds=150) == list(range(150))
    assert parse_seeds("7, 2-3,2") == [2, 3, 7]


@pytest.mark.parametrize("argv, says", [
    (["sweep", "--seeds", "3,5-1"], "reversed range"),
    (["sweep", "--seeds", "-3"], "is not a base seed"),
    (["sweep", "--seeds", "0-100000"], "--max-seeds"),
    (["sweep", "--seeds", "5"], "names one"),
    (["sweep", "--seeds", "0-3", "--jobs", "0"], "--jobs"),
    (["compare", "a.json", "b.json", "--bogus"], "unrecognized arguments"),
    (["baseline", "--bogus"], "unrecognized arguments"),
    (["report", "--from", "a.json", "-k", "adam"], "unrecognized arguments"),
])
def test_a_bad_command_line_is_a_one_line_usage_error(argv, says, capsys):
    with pytest.raises(SystemExit) as stop:
        cli.main(argv)
    assert stop.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert says in err[-1], err


# --- history -------------------------------------------------------------------------------------
RECORD_AT = """
import json, sys, time
from optclaims_report import history
root, n, start = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
time.sleep(max(0.0, start - time.time()))      # every process records in the same instant
results = {"claims": [], "environment": {"git_commit": "abc", "cpu": "x"}, "run": n}
print(history.record(results, root))
"""


def test_runs_recorded_at_the_same_instant_each_get_an_entry_of_their_own(tmp_path):
    """Ten processes (not forks of this one: a fork of a threaded xdist worker can deadlock)
    record a run in the same instant: ten entries, each holding its own run."""
    start = time.time() + 3.0
    procs = [subprocess.Popen([sys.executable, "-c", RECORD_AT, str(tmp_path), str(n), str(start)],
                              stdout=subprocess.PIPE, text=True) for n in range(10)]
    paths = [proc.communicate(timeout=60)[0].strip() for proc in procs]
    assert all(proc.returncode == 0 for proc in procs)
    assert len(set(paths)) == 10
    kept = sorted(json.loads(Path(p).read_text())["run"] for p in paths)
    assert kept == list(range(10))
    assert not list(tmp_path.rglob("*.tmp"))


# --- stopping a run ------------------------------------------------------------------------------
SLOW_CLAIM = '''
import os, time
import pytest
from optclaims_report.claim import part

CLAIM = {"id": "slow", "title": "A claim that takes its time", "statement": "s", "sources": [],
         "parts": [part("quick", "effect", "a quick check", "p. 1"),
                   part("long", "effect", "a long check", "p. 2")]}

@pytest.mark.part("quick")
def test_quick(evidence):
    evidence.check("one", 1, "==", 1)

@pytest.mark.part("long")
def test_long(evidence):
    with open(os.environ["PYTEST_PID_FILE"], "a") as f:
        f.write(f"{os.getpid()}\\n")
    time.sleep(120)
    evidence.check("two", 2, "==", 2)
'''


@pytest.fixture
def slow_project(tmp_path):
    """A checkout with one claim module whose second test sleeps, writing its pid first."""
    (tmp_path / "claims").mkdir()
    (tmp_path / "claims" / "test_slow.py").write_text(SLOW_CLAIM)
    (tmp_path / "conftest.py").write_text('pytest_plugins = ["optclaims_report.plugin"]\n')
    (tmp_path / "pyproject.toml").write_text('[tool.pytest.ini_options]\naddopts = "-p no:cacheprovider"\n')
    return tmp_path


def start_and_stop(project: Path, argv: list[str], signum: int) -> tuple[int, list[int], str]:
    """Start ``repro argv`` in ``project``, send it ``signum`` once its pytest is inside the slow
    test; its exit status, the pids of the pytest processes that reached that test, and its
    output. Whatever is still running afterwards is killed (a failing run leaves nothing)."""
    pid_file = project / "pids"
    env = {**os.environ, "PYTEST_PID_FILE": str(pid_file)}
    repro = subprocess.Popen([sys.executable, "-m", "optclaims_report.cli", *argv], cwd=project,
                             env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                             process_group=0)
    try:
        deadline = time.time() + 60
        while not pid_file.exists() and time.time() < deadline and repro.poll() is None:
            time.sleep(0.1)
        assert pid_file.exists(), repro.communicate()[0]
        repro.send_signal(signum)
        output = repro.communicate(timeout=60)[0]
        return repro.returncode, [int(p) for p in pid_file.read_text().split()], output
    finally:
        for pid in [int(p) for p in pid_file.read_text().split()] if pid_file.exists() else []:
            if not gone(pid):
                os.kill(pid, signal.SIGKILL)
        if repro.poll() is None:
            os.killpg(repro.pid, signal.SIGKILL)
            repro.wait()


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_stopped_report_stops_its_pytest_and_reports_what_finished(slow_project, signum):
    status, pids, output = start_and_stop(slow_project, ["report", "--out", "site", "--", "-n0"],
                                          signum)
    assert status == 128 + signum, output
    assert all(gone(pid) for pid in pids), output
    results = json.loads((slow_project / "site" / "results.json").read_text())
    assert results["environment"]["interrupted"] is True
    tests = {t["name"]: t["verdict"] for t in results["claims"][0]["tests"]}
    assert tests == {"test_quick": "held", "test_long": "not_run"}
    page = (slow_project / "site" / "index.html").read_text()
    assert "This run was interrupted" in page
    assert not (slow_project / "report" / "out" / "history").exists()   # not kept


def test_a_stopped_sweep_stops_every_pytest_and_starts_no_other(slow_project):
    status, pids, output = start_and_stop(
        slow_project, ["sweep", "--seeds", "1-4", "--jobs", "2", "--out", "sweep"],
        signal.SIGTERM)
    assert status == 128 + signal.SIGTERM, output
    assert len(pids) <= 2 and all(gone(pid) for pid in pids), output
    assert "not started (the sweep was stopped)" in output
    assert not (slow_project / "sweep" / "seed-4.json").exists()


# --- the results schema --------------------------------------------------------------------------
@pytest.mark.parametrize("content, says", [
    ({"version": 2, "claims": 5}, "is a required property"),
    ({"version": 2, "claims": [{"id": "c"}], "environment": {}, "totals": {}}, "claims[0]"),
])
def test_a_results_file_of_the_wrong_shape_is_one_line_naming_it_and_exit_2(tmp_path, capsys,
                                                                              content, says):
    bad = tmp_path / "results.json"
    bad.write_text(json.dumps(content))
    assert cli.main(["report", "--from", str(bad), "--out", str(tmp_path / "site")]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert str(bad) in line and says in line and "Traceback" not in line


def test_a_misshapen_history_entry_is_skipped_with_a_warning(tmp_path, capsys):
    results = {"version": 2, "claims": [], "environment": {"git_commit": "abc"}, "totals": {}}
    good = history.record(results, tmp_path)
    bad = good.with_name("29991231-000000-bad.json")
    bad.write_text(json.dumps({"version": 2, "claims": 5}))
    assert history.check_series(tmp_path, results) == {}
    changes = history.changes_since_last_run(tmp_path, results, None)
    assert changes is not None
    err = capsys.readouterr().err
    assert f"skipping the history entry {bad}" in err
