"""``repro sweep --scheduler`` and ``repro report --scheduler``: pytest runs as tasks of a Dask
cluster.

A sweep's task is one pytest run of its claim modules at one base seed (with ``--runslow``: the
default tier, and each module's slow tier apart, merged back per seed); a report's task is one
claim module's default tier with its planted bugs, or its slow tier. A task runs in the worker's own
checkout (the client's path, or ``$OPTCLAIMS_ROOT`` on the worker); it returns the run's results
(the contents of its results.json), its exit status, the tail of its log and who ran it (host,
CPU, GPU, commit, a hash of uncommitted changes, library versions), never a path on the worker's
disk. ``--scheduler local[:N]`` starts a ``LocalCluster`` of N one-thread worker processes on
127.0.0.1; any other value is the address of a running ``dask scheduler``.

- **Same code, same libraries, or refuse**: a result whose commit, uncommitted changes or
  library versions differ from the client's is not merged (exit 2) unless
  ``--allow-mixed-commits``.
- **Faults**: a worker that dies mid-task has its task re-run on another (Dask reschedules it;
  ``RETRIES`` more tries for a task that raises); a run over ``--task-timeout`` is killed and its
  seed reported as not run; a lost scheduler ends the sweep with one line, and the seeds that
  finished stay in the output folder, where the next call with the same arguments finds them and
  does not run them again.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import hashlib
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

from .results import write_atomic

# What a future raises when the client loses its scheduler (distributed's FutureCancelledError
# derives from one of these, depending on the version).
LOST = (OSError, TimeoutError, asyncio.CancelledError, concurrent.futures.CancelledError)
RETRIES = 2               # more tries for a task that raises (a worker lost mid-task is separate)
TASK_TIMEOUT_S = 3600.0   # one pytest run; the default tier of every claim takes minutes
CONNECT_TIMEOUT_S = 10.0
ROOT_ENV = "OPTCLAIMS_ROOT"
NO_TESTS = 5              # pytest's exit status when a selection (a module's slow tier) is empty


def _git(root: Path, *args: str) -> str:
    try:
        return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True,
                              timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def code_identity(root: Path) -> dict:
    """What decides a run's numbers besides its arguments: the commit, a hash of the uncommitted
    changes to tracked files (empty when none), and the versions of the libraries."""
    from .reuse import versions
    diff = _git(root, "diff", "HEAD")
    return {"commit": _git(root, "rev-parse", "HEAD") or None,
            "changes": hashlib.sha256(diff.encode()).hexdigest()[:16] if diff else "",
            "versions": versions()}


def worker_description(root: Path) -> dict:
    """Who ran a task: host, CPU, GPU (if torch sees one), and its code identity."""
    gpu = None
    try:
        import torch
        gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    except Exception:  # noqa: BLE001 - a description never fails a task
        pass
    return {"host": socket.gethostname(), "pid": os.getpid(),
            "cpu": platform.processor() or platform.machine(), "cpu_count": os.cpu_count(),
            "gpu": gpu, **code_identity(root)}


def _die_with_the_worker() -> None:
    """In the pytest child, before it runs: on Linux, SIGKILL it when the worker that started it
    dies (a worker killed mid-task must not leave its pytest running unseen)."""
    try:
        import ctypes
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)   # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


# What a Dask nanny sets for its worker, which a pytest run must not inherit: glibc's malloc
# trimming at 64 KiB (claims/test_model_fit.py took 34 s with it, 16 s without) and one
# BLAS/OpenMP thread (a plain pytest run on the same machine uses its defaults).
NANNY_ENVIRONMENT = ("MALLOC_TRIM_THRESHOLD_", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
                     "OPENBLAS_NUM_THREADS")


def task_environment(extra: dict | None) -> dict:
    """The environment of a task's pytest: the worker's, less what its nanny set, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if k not in NANNY_ENVIRONMENT}
    return {**env, **(extra or {})}


def run_task(root: str, seed: int | None, paths: list[str], pytest_args: list[str],
             timeout_s: float = TASK_TIMEOUT_S, env: dict | None = None) -> dict:
    """On a worker: ``pytest paths [--seed=seed]`` in the worker's checkout, with ``env`` added
    to its environment; the results come back as data. ``status`` is pytest's exit status, or
    ``"timeout"`` (the run was killed)."""
    checkout = Path(os.environ.get(ROOT_ENV) or root)
    worker = worker_description(checkout)    # the code as the run starts: what it imports
    with tempfile.TemporaryDirectory(prefix="optclaims-task-") as tmp:
        results, log = Path(tmp) / "results.json", Path(tmp) / "pytest.log"
        cmd = [sys.executable, "-m", "pytest", *paths, *([f"--seed={seed}"] if seed is not None
                                                         else []), f"--results={results}",
               "-q", "-p", "no:cacheprovider", "--benchmark-disable", *pytest_args]
        with log.open("w") as out:
            proc = subprocess.Popen(cmd, cwd=checkout, stdout=out, stderr=subprocess.STDOUT,
                                    env=task_environment(env), start_new_session=True,
                                    preexec_fn=_die_with_the_worker)
            try:
                status: int | str = proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                status = "timeout"
        text = log.read_text(errors="replace")
        return {"seed": seed, "status": status, "log": text[-20000:],
                "results": json.loads(results.read_text()) if results.exists() else None,
                "worker": worker}


def first_line(err: BaseException) -> str:
    return f"{type(err).__name__}: {(str(err).splitlines() or [''])[0]}"


def mismatch(task: dict, mine: dict, what: str | None = None) -> str | None:
    """Why a task's result must not be merged with this client's (None when it may); ``what``
    names the task (default: its seed)."""
    theirs = task["worker"]
    for field, words in (("commit", "commit"), ("changes", "uncommitted changes"),
                         ("versions", "library versions")):
        if theirs.get(field) != mine.get(field):
            return (f"{what or 'seed ' + str(task['seed'])} ran on {theirs.get('host')} with "
                    f"{words} {theirs.get(field)!r}, this checkout has {mine.get(field)!r}")
    return None


def connect(scheduler: str, timeout_s: float = CONNECT_TIMEOUT_S):
    """A dask Client: ``local`` or ``local:N`` starts a LocalCluster of N (default: every core)
    one-thread worker processes on 127.0.0.1; anything else is a scheduler's address."""
    from distributed import Client, LocalCluster
    if scheduler == "local" or scheduler.startswith("local:"):
        n = int(scheduler.partition(":")[2] or os.cpu_count() or 1)
        cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                               host="127.0.0.1", dashboard_address="127.0.0.1:0")
        return Client(cluster)
    return Client(scheduler, timeout=timeout_s)


class Unreachable(Exception):
    """The scheduler could not be reached (or a LocalCluster not started)."""


@contextlib.contextmanager
def connected(scheduler: str):
    """A client of ``scheduler`` (``connect``) for the ``with`` block, closed after it with the
    LocalCluster it started, if any. Unreachable when it cannot connect."""
    try:
        client = connect(scheduler, CONNECT_TIMEOUT_S)
    except (OSError, TimeoutError, RuntimeError) as err:   # RuntimeError: a LocalCluster
        raise Unreachable(f"cannot reach the scheduler {scheduler}: {err}") from err
    try:
        yield client
    finally:
        cluster = getattr(client, "cluster", None)
        client.close()
        if cluster is not None:
            cluster.close()


def slow_tier(pytest_args: list[str]) -> list[str]:
    """The arguments of a run of the slow tier alone (``pytest_args`` hold ``--runslow``)."""
    return [*pytest_args, "-m", "slow"]


def default_tier(pytest_args: list[str]) -> list[str]:
    """The arguments of a run of the default tier alone."""
    return [a for a in pytest_args if a != "--runslow"]


def task_file(out: Path, seed: int) -> Path:
    return out / f"seed-{seed}.task.json"


def finished_before(out: Path, seed: int, request: dict, mine: dict) -> bool:
    """Whether an earlier call of the same sweep (same arguments, same code) finished ``seed``:
    its results and its task record are in ``out``."""
    try:
        task = json.loads(task_file(out, seed).read_text())
        results = json.loads((out / f"seed-{seed}.json").read_text())
    except (OSError, ValueError):
        return False
    return (task.get("request") == request and mismatch(task, mine) is None
            and results.get("environment", {}).get("complete", False))


def claim_modules(root: Path, paths: list[str]) -> list[str]:
    """The claim modules that ``paths`` (files or folders) name, relative to ``root``."""
    out = []
    for path in paths:
        full = root / path
        found = sorted(full.glob("test_*.py")) if full.is_dir() else [full]
        out += [str(f.relative_to(root)) for f in found]
    return out


def seed_shards(root: Path, paths: list[str], pytest_args: list[str]) -> list[tuple]:
    """The tasks of one base seed, as (name, paths, pytest arguments): one run of ``paths``, or
    with ``--runslow`` the default tier of ``paths`` and, per claim module, its slow tier, the
    longest first (the paper-scale runs of one seed spread over the workers)."""
    if "--runslow" not in pytest_args:
        return [("all", list(paths), list(pytest_args))]
    from .schedule import module_seconds
    seconds = module_seconds(root)
    modules = sorted(claim_modules(root, paths), key=lambda m: -seconds.get(m, 0.0))
    return [*((f"slow tier of {m}", [m], slow_tier(pytest_args)) for m in modules),
            ("default tier", list(paths), default_tier(pytest_args))]


def combine(tasks: list[dict], shards: list[tuple]) -> dict:
    """One seed's task record from its shards' tasks: the results merged (each test from the
    shard that ran it), the logs one after the other, every worker, the worst exit status (a
    shard without tests is none)."""
    from .merge import merge
    if len(tasks) == 1:
        return dict(tasks[0], workers=[tasks[0]["worker"]])
    runs = [(name, t["results"]) for t, (name, _, _) in zip(tasks, shards)
            if t["results"] is not None]
    results = merge(runs, allow_mixed_commits=True) if runs else None
    if results is not None:
        results["environment"]["complete"] = all(
            r["environment"].get("complete", False) for _, r in runs) and len(runs) == len([
                t for t in tasks if t["status"] != NO_TESTS])
    statuses = [t["status"] for t in tasks if t["status"] != NO_TESTS]
    status = "timeout" if "timeout" in statuses else max(
        [st for st in statuses if isinstance(st, int)], default=0)
    return {"seed": tasks[0]["seed"], "status": status, "results": results,
            "log": "\n".join(t["log"] for t in tasks), "worker": tasks[0]["worker"],
            "workers": [t["worker"] for t in tasks]}


def keep(out: Path, task: dict, request: dict) -> None:
    """A finished seed's results, log and record (who ran it, with what request) in ``out``."""
    seed = task["seed"]
    (out / f"seed-{seed}.log").write_text(task["log"])
    if task["results"] is not None:
        write_atomic(task["results"], out / f"seed-{seed}.json")
    write_atomic({"seed": seed, "status": task["status"], "worker": task["worker"],
                  "workers": task.get("workers", [task["worker"]]), "request": request},
                 task_file(out, seed))


def sweep_tasks(root: Path, out: Path, seeds: list[int], paths: list[str],
                pytest_args: list[str], scheduler: str, allow_mixed: bool = False,
                timeout_s: float = TASK_TIMEOUT_S) -> tuple[dict[int, dict], list[str], str | None]:
    """Run every seed not finished before on the cluster (each as ``seed_shards`` tasks).
    Returns ({seed: task record} of this call's and earlier calls' finished seeds, refusals,
    the error that ended the sweep early)."""
    mine = code_identity(root)
    request = {"paths": list(paths), "pytest_args": list(pytest_args)}
    done = {s: json.loads(task_file(out, s).read_text()) for s in seeds
            if finished_before(out, s, request, mine)}
    for seed in sorted(done):
        print(f"repro sweep: seed {seed}: finished by an earlier call (ran on "
              f"{done[seed]['worker'].get('host')}); not run again", flush=True)
    todo = [s for s in seeds if s not in done]
    refused: list[str] = []
    if not todo:
        return done, refused, None
    shards = seed_shards(root, list(paths), list(pytest_args))
    try:
        with connected(scheduler) as client:
            for seed, record in seeds_as_they_finish(client, root, shards, todo, timeout_s):
                why = None if allow_mixed else next(
                    (m for w in record["workers"] if (m := mismatch(dict(record, worker=w), mine))),
                    None)
                if why:
                    refused.append(why)
                    print(f"repro sweep: seed {seed}: refused: {why}", flush=True)
                    continue
                keep(out, record, request)
                done[seed] = {k: v for k, v in record.items() if k not in ("results", "log")}
                hosts = sorted({w["host"] for w in record["workers"]})
                n = len(record["workers"])
                print(f"repro sweep: seed {seed}: pytest exited {record['status']} on "
                      f"{', '.join(hosts)} ({n} task{'s' * (n > 1)})", flush=True)
    except Unreachable as err:
        return done, refused, str(err)
    except LOST as err:
        return done, refused, (f"lost the scheduler {scheduler} ({first_line(err)}) after "
                               f"{len(done)} of {len(seeds)} seeds")
    return done, refused, None


def seeds_as_they_finish(client, root: Path, shards: list[tuple], seeds: list[int],
                         timeout_s: float):
    """Submit every shard of every seed, the first shards first; yield (seed, the combined
    record of its shards) as each seed's last shard comes back."""
    from distributed import as_completed
    futures, collected = {}, {s: [] for s in seeds}
    for rank, (_, shard_paths, shard_args) in enumerate(shards):
        for seed in seeds:
            future = client.submit(run_task, str(root), seed, shard_paths, shard_args,
                                   timeout_s, pure=False, retries=RETRIES,
                                   priority=len(shards) - rank,
                                   key=f"seed-{seed}-{rank}-{os.getpid()}")
            futures[future] = rank
    for future in as_completed(list(futures)):
        task = future.result()
        collected[task["seed"]].append((futures[future], task))
        if len(collected[task["seed"]]) == len(shards):
            ordered = [t for _, t in sorted(collected[task["seed"]], key=lambda rt: rt[0])]
            yield task["seed"], combine(ordered, shards)


# --- repro report --scheduler: the claim modules (and their tiers) as tasks -----------------------
def shards(root: Path, modules: list[str], pytest_args: list[str]) -> list[tuple[str, str]]:
    """(claim module, tier) pairs, longest first by the newest kept run's seconds per module
    (``schedule.module_seconds``): with ``--runslow`` each module's slow tier is a shard of its
    own, so a module's paper-scale tests and its quick ones run on different workers."""
    from .schedule import module_seconds
    seconds = module_seconds(root)
    tiers = ("default", "slow") if "--runslow" in pytest_args else ("default",)
    pairs = [(m, t) for m in modules for t in tiers]
    return sorted(pairs, key=lambda p: (-seconds.get(p[0], 0.0) * (2 if p[1] == "slow" else 1),
                                        p[0], p[1]))


def shard_request(module: str, tier: str, pytest_args: list[str], planted: str | None,
                  planted_env: str) -> tuple[list[str], list[str], dict]:
    """The paths, pytest arguments and environment of one shard: the default tier with the
    module's planted bugs (when the suite has them), or the slow tier alone."""
    if tier == "slow":
        return [module], slow_tier(pytest_args), {}
    return ([module, planted] if planted else [module]), default_tier(pytest_args), (
        {planted_env: module} if planted else {})


def report_tasks(root: Path, modules: list[str], pytest_args: list[str], scheduler: str,
                 planted: str | None, planted_env: str, allow_mixed: bool = False,
                 timeout_s: float = TASK_TIMEOUT_S) -> tuple[list[tuple[str, dict]], list[str],
                                                              str | None, int]:
    """Run every shard on the cluster. Returns ([(label, results)] of the shards that wrote
    results, refusals, the error that ended the run early, the worst pytest exit status)."""
    from distributed import as_completed
    mine = code_identity(root)
    runs, refused, status = [], [], 0
    try:
        with connected(scheduler) as client:
            futures = {}
            for rank, (module, tier) in enumerate(order := shards(root, modules, pytest_args)):
                paths, args, env = shard_request(module, tier, pytest_args, planted, planted_env)
                future = client.submit(run_task, str(root), None, paths, args, timeout_s, env,
                                       pure=False, retries=RETRIES, priority=len(order) - rank,
                                       key=f"{module}-{tier}-{os.getpid()}")
                futures[future] = (module, tier)
            for future in as_completed(list(futures)):
                module, tier = futures[future]
                task = future.result()
                host = task["worker"]["host"]
                why = mismatch(task, mine, what=f"{module} ({tier})")
                if why and not allow_mixed:
                    refused.append(why)
                    continue
                said = {"timeout": "was killed at its time limit",
                        NO_TESTS: "found no tests in this tier"}.get(task["status"])
                print(f"repro: {module} ({tier} tier) on {host} (pid {task['worker']['pid']}): "
                      f"pytest {said or 'exited ' + str(task['status'])}", flush=True)
                if task["status"] != NO_TESTS:
                    status = max(status, task["status"] if isinstance(task["status"], int) else 1)
                if task["results"] is not None:
                    runs.append((f"{module} ({tier} tier) on {host}", task["results"]))
    except Unreachable as err:
        return [], [], str(err), 1
    except LOST as err:
        return runs, refused, f"lost the scheduler {scheduler} ({first_line(err)})", 1
    return runs, refused, None, status
