"""``repro sweep --scheduler`` (report/cluster.py) against a real Dask scheduler and two workers
started as processes on 127.0.0.1: the same verdicts as a local sweep, a worker killed mid-task,
a task over its time limit, a resumed sweep, results from other code refused. Nothing here
reaches beyond the loopback interface."""

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

distributed = pytest.importorskip("distributed", reason="the cluster tests need Dask's "
                                                        "`distributed` (the test extra)")

from optclaims_report import cluster  # noqa: E402
from optclaims_report.sweep import sweep  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
MODULE = "claims/test_local_models.py"     # 7 tests in a fraction of a second
SEEDS = [0, 1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_cluster(n_workers: int, *worker_options: str):
    """A `dask scheduler` and ``n_workers`` one-thread `dask worker` processes, started as a user
    would by hand, on 127.0.0.1, once every worker has joined: (address, scheduler process,
    worker processes)."""
    address = f"tcp://127.0.0.1:{free_port()}"
    quiet = {"env": {**os.environ, "PYTHONWARNINGS": "ignore"}, "stdout": subprocess.DEVNULL,
             "stderr": subprocess.DEVNULL}
    scheduler = subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler",
                                  "--host", "127.0.0.1", "--port", address.rsplit(":", 1)[1],
                                  "--no-dashboard"], **quiet)
    workers = [subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker", address,
                                 "--nthreads", "1", "--no-dashboard", "--host", "127.0.0.1",
                                 *worker_options], **quiet) for _ in range(n_workers)]
    with distributed.Client(address, timeout=30) as client:
        client.wait_for_workers(n_workers, timeout=60)
    return address, scheduler, workers


def stop(procs) -> None:
    for proc in procs:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="module")
def scheduler():
    """The address of a scheduler with two workers, for the tests that leave them alive."""
    address, scheduler, workers = start_cluster(2)
    yield address
    stop([*workers, scheduler])


@pytest.fixture(scope="module")
def local_verdicts(tmp_path_factory):
    """The sweep of MODULE at SEEDS with the local process pool: the reference."""
    out = tmp_path_factory.mktemp("local")
    assert sweep(ROOT, out, SEEDS, [], jobs=2, paths=[MODULE]) == 0
    return verdicts(out)


def verdicts(out: Path) -> dict:
    summary = json.loads((out / "sweep.json").read_text())
    return {cid: (c["verdicts"], c["parts"]) for cid, c in summary["claims"].items()}


def test_a_sweep_through_a_scheduler_and_two_workers_gives_the_local_verdicts(
        scheduler, local_verdicts, tmp_path):
    assert sweep(ROOT, tmp_path, SEEDS, [], paths=[MODULE], scheduler=scheduler) == 0
    assert verdicts(tmp_path) == local_verdicts
    summary = json.loads((tmp_path / "sweep.json").read_text())
    ran = sorted(s for w in summary["workers"] for s in w["seeds"])
    assert ran == SEEDS and all(w["host"] for w in summary["workers"])
    assert summary["workers"][0]["commit"] == cluster.code_identity(ROOT)["commit"]


def kill_the_first_busy_worker(address: str, killed: list) -> None:
    """From another thread: the moment a worker is processing a task, SIGKILL its process."""
    with distributed.Client(address, timeout=30) as client:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not killed:
            busy = [w for w, keys in client.processing().items() if keys]
            if busy:
                pid = client.run(os.getpid, workers=[busy[0]])[busy[0]]
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
                return
            time.sleep(0.05)


def test_a_worker_killed_during_a_task_has_its_task_run_again_elsewhere(tmp_path, local_verdicts):
    # No nanny: a killed worker stays dead, so its task must move to the other worker.
    address, scheduler, workers = start_cluster(2, "--no-nanny")
    try:
        killed: list = []
        killer = threading.Thread(target=kill_the_first_busy_worker, args=(address, killed))
        killer.start()
        status = sweep(ROOT, tmp_path, SEEDS, [], paths=[MODULE], scheduler=address)
        killer.join()
        assert killed, "no worker was busy to be killed"
        assert status == 0 and verdicts(tmp_path) == local_verdicts
        summary = json.loads((tmp_path / "sweep.json").read_text())
        assert killed[0] not in [w["pid"] for w in summary["workers"]]
    finally:
        stop([*workers, scheduler])


def test_a_run_over_its_time_limit_is_killed_and_reported_as_not_run():
    task = cluster.run_task(str(ROOT), 0, [MODULE], [], timeout_s=0.2)
    assert task["status"] == "timeout" and task["seed"] == 0


def test_finished_seeds_are_not_run_again_and_a_lost_scheduler_is_one_line(tmp_path, scheduler,
                                                                           monkeypatch, capsys):
    assert sweep(ROOT, tmp_path, SEEDS, [], paths=[MODULE], scheduler=scheduler) == 0
    capsys.readouterr()
    monkeypatch.setattr(cluster, "CONNECT_TIMEOUT_S", 1.0)
    # Both seeds finished: the next call needs no scheduler at all, even an unreachable one.
    closed = f"tcp://127.0.0.1:{free_port()}"
    assert sweep(ROOT, tmp_path, SEEDS, [], paths=[MODULE], scheduler=closed) == 0
    assert capsys.readouterr().out.count("finished by an earlier call") == 2
    # A third seed needs the scheduler, which is not there: one line, exit 3, the rest kept.
    assert sweep(ROOT, tmp_path, [*SEEDS, 2], [], paths=[MODULE], scheduler=closed) == 3
    err = capsys.readouterr().err
    assert "cannot reach the scheduler" in err and "resumes the sweep" in err
    assert json.loads((tmp_path / "sweep.json").read_text())["partial"] is True


def test_results_from_other_code_or_libraries_are_refused():
    mine = {"commit": "abc", "changes": "", "versions": {"torch": "2.13"}}
    task = {"seed": 3, "worker": {"host": "node7", **mine}}
    assert cluster.mismatch(task, mine) is None
    other = dict(task, worker={**task["worker"], "commit": "def"})
    assert "seed 3 ran on node7 with commit 'def'" in cluster.mismatch(other, mine)
    newer = dict(task, worker={**task["worker"], "versions": {"torch": "2.14"}})
    assert "library versions" in cluster.mismatch(newer, mine)
    edited = dict(task, worker={**task["worker"], "changes": "1234"})
    assert "uncommitted changes" in cluster.mismatch(edited, mine)


def test_a_seed_finished_with_other_arguments_is_run_again(tmp_path):
    mine = {"commit": "abc", "changes": "", "versions": {}}
    request = {"paths": [MODULE], "pytest_args": []}
    (tmp_path / "seed-0.json").write_text(json.dumps({"environment": {"complete": True}}))
    (tmp_path / "seed-0.task.json").write_text(json.dumps(
        {"seed": 0, "worker": {"host": "h", **mine}, "request": request}))
    assert cluster.finished_before(tmp_path, 0, request, mine)
    assert not cluster.finished_before(tmp_path, 0, dict(request, pytest_args=["--runslow"]), mine)
    assert not cluster.finished_before(tmp_path, 1, request, mine)


def test_a_report_on_the_cluster_runs_each_module_and_tier_as_a_shard_and_names_its_worker(
        scheduler):
    from optclaims_report.merge import merge
    runs, refused, error, status = cluster.report_tasks(
        ROOT, [MODULE], ["--runslow"], scheduler, "tests/test_planted_bugs.py",
        "OPTCLAIMS_PLANTED_FOR")
    assert (refused, error, status) == ([], None, 0)
    merged = merge(runs)
    (origin,) = merged["environment"]["merged_from"]      # the slow shard: no tests, no results
    assert origin["file"].startswith(f"{MODULE} (default tier) on ")
    assert merged["planted_bugs"] and all(p["caught"] for p in merged["planted_bugs"])
    assert {c["verdict"] for c in merged["claims"]} == {"reproduced"}


def test_shards_start_with_the_longest_module_and_split_off_the_slow_tier(monkeypatch, tmp_path):
    from optclaims_report import schedule
    monkeypatch.setattr(schedule, "module_seconds", lambda root: {"claims/test_b.py": 60.0,
                                                                  "claims/test_a.py": 5.0})
    modules = ["claims/test_a.py", "claims/test_b.py"]
    assert cluster.shards(tmp_path, modules, []) == [("claims/test_b.py", "default"),
                                                     ("claims/test_a.py", "default")]
    assert cluster.shards(tmp_path, modules, ["--runslow"])[:2] == [
        ("claims/test_b.py", "slow"), ("claims/test_b.py", "default")]
    paths, args, env = cluster.shard_request("claims/test_a.py", "default", ["--runslow"],
                                             "tests/test_planted_bugs.py", "PLANTED_FOR")
    assert paths == ["claims/test_a.py", "tests/test_planted_bugs.py"] and args == []
    assert env == {"PLANTED_FOR": "claims/test_a.py"}
    assert cluster.shard_request("claims/test_a.py", "slow", ["--runslow"], None, "X") == (
        ["claims/test_a.py"], ["--runslow", "-m", "slow"], {})


def test_a_scheduler_lost_mid_sweep_ends_it_in_one_line_and_the_next_call_resumes(tmp_path,
                                                                                  capsys):
    address, scheduler, workers = start_cluster(1)

    def kill_the_scheduler_after_the_first_seed():
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not cluster.task_file(tmp_path, 0).exists():
            time.sleep(0.05)
        scheduler.kill()

    try:
        killer = threading.Thread(target=kill_the_scheduler_after_the_first_seed)
        killer.start()
        status = sweep(ROOT, tmp_path, [0, 1, 2], [], paths=[MODULE], scheduler=address)
        killer.join()
        err = capsys.readouterr().err
        assert status == 3, err
        assert "lost the scheduler" in err and "Traceback" not in err
        assert cluster.task_file(tmp_path, 0).exists()
        assert sweep(ROOT, tmp_path, [0, 1, 2], [], paths=[MODULE], scheduler="local:1") == 0
        assert "seed 0: finished by an earlier call" in capsys.readouterr().out
    finally:
        stop([*workers, scheduler])


def test_with_runslow_a_seed_splits_into_its_default_tier_and_each_modules_slow_tier(
        monkeypatch):
    from optclaims_report import schedule
    monkeypatch.setattr(schedule, "module_seconds", lambda root: {
        "claims/test_depth_acceleration.py": 900.0, "claims/test_local_models.py": 1.0})
    paths = ["claims/test_local_models.py", "claims/test_depth_acceleration.py"]
    assert cluster.seed_shards(ROOT, paths, ["-x"]) == [("all", paths, ["-x"])]
    shards = cluster.seed_shards(ROOT, paths, ["--runslow"])
    assert shards == [
        ("slow tier of claims/test_depth_acceleration.py", ["claims/test_depth_acceleration.py"],
         ["--runslow", "-m", "slow"]),
        ("slow tier of claims/test_local_models.py", ["claims/test_local_models.py"],
         ["--runslow", "-m", "slow"]),
        ("default tier", paths, [])]
    assert len(cluster.claim_modules(ROOT, ["claims"])) == len(list((ROOT / "claims").glob(
        "test_*.py")))


def test_a_seeds_shards_combine_into_one_record_with_every_worker_and_the_worst_status():
    def task(status, pid):
        return {"seed": 4, "status": status, "results": None, "log": f"log {pid}",
                "worker": {"host": "h", "pid": pid}}
    shards = [("slow a", [], []), ("slow b", [], []), ("default tier", [], [])]
    record = cluster.combine([task(cluster.NO_TESTS, 1), task(1, 2), task(0, 3)], shards)
    assert record["status"] == 1 and [w["pid"] for w in record["workers"]] == [1, 2, 3]
    assert record["log"] == "log 1\nlog 2\nlog 3"
    assert cluster.combine([task(0, 1), task("timeout", 2), task(0, 3)], shards)["status"] == \
        "timeout"


def test_a_tasks_pytest_does_not_inherit_the_nannys_malloc_and_thread_settings(monkeypatch):
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "65536")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.setenv("OPTCLAIMS_SOMETHING", "kept")
    env = cluster.task_environment({"OPTCLAIMS_PLANTED_FOR": "claims/test_x.py"})
    assert "MALLOC_TRIM_THRESHOLD_" not in env and "OMP_NUM_THREADS" not in env
    assert env["OPTCLAIMS_SOMETHING"] == "kept"
    assert env["OPTCLAIMS_PLANTED_FOR"] == "claims/test_x.py"
