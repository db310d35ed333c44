"""A fork server for short pytest runs: one process imports the heavy libraries once, and each run
is a forked child of it calling ``pytest.main``.

A planted-bug run is a claim module's selection in a fresh process (the bug is planted before the
claim module imports anything from ``reproductions``). As separate ``python -m pytest`` processes
each run paid about 3.5 s of imports (torch 1.7 s, scipy.stats 1.2 s) for tests that take a tenth
of that; a fork of a process that has imported them pays none of it.

Only third-party libraries and the report package are imported here, never ``reproductions`` or a
claim module: a child imports those itself, after its bug is planted, exactly as a fresh process
would. The server never runs a torch operation, so no thread pool exists when it forks.

Protocol (one JSON object per line): the client writes ``{"args": [...], "env": {...},
"log": PATH}``; the server forks, the child runs ``pytest.main(args)`` with ``env`` added to its
environment and its output in ``log``, and the server answers ``{"exit": CODE}`` when the child
has ended.
"""

from __future__ import annotations

import gc
import json
import os
import select
import signal
import subprocess
import sys
from pathlib import Path

# torch._dynamo: torch.optim's Optimizer.__init__ imports it (with sympy), 0.8 s in each child
# that builds a torch optimizer (a parity check against torch.optim), about 100 planted runs.
PRELOAD = ("torch", "torch._dynamo", "numpy", "scipy.stats", "scipy.optimize",
           "sklearn.datasets", "sklearn.linear_model", "pytest", "pytest_benchmark.plugin", "xdist.plugin",
           "optclaims_report.evidence", "optclaims_report.results")


def _child(request: dict) -> None:
    """In the forked child: run pytest and leave without returning to the server's loop."""
    code = 70
    try:
        os.environ.update(request.get("env", {}))
        log = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
        import pytest
        code = int(pytest.main(request["args"]))
    except BaseException as err:  # noqa: BLE001 - the child must always reach os._exit
        print(f"forkserver child: {type(err).__name__}: {err}", file=sys.stderr)
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def serve(preload: tuple[str, ...] = PRELOAD) -> None:
    for name in preload:
        __import__(name)
    # What the server imported is never garbage: frozen, a child's collections skip it (pytest
    # runs gc.collect twice as it ends, 0.22 s a run over torch's objects otherwise).
    gc.freeze()
    protocol = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # stray prints go to stderr, never into the protocol stream
    protocol.write(json.dumps({"ready": os.getpid()}) + "\n")
    for line in sys.stdin:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            _child(request)
        _, status = os.waitpid(pid, 0)
        protocol.write(json.dumps({"exit": os.waitstatus_to_exitcode(status)}) + "\n")


class ForkServer:
    """Client side: ``run(args, env, log)`` runs one pytest selection in a fork of the server.
    The server and its children form one process group: a run over its time limit kills the
    group (child included) and raises TimeoutError; the next run starts a new server."""

    def __init__(self, cwd: Path, env: dict | None = None, preload: tuple[str, ...] = PRELOAD):
        self.cwd, self.env, self.preload = cwd, env, preload
        self.proc = self._start()

    def _start(self) -> subprocess.Popen:
        proc = subprocess.Popen([sys.executable, __file__, *self.preload], cwd=self.cwd,
                                env=self.env,
                                text=True, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                start_new_session=True)
        if not proc.stdout.readline():
            raise RuntimeError("the pytest fork server did not start (see its stderr)")
        return proc

    def run(self, args: list[str], env: dict, log: Path, timeout_s: float = 1800) -> int:
        if self.proc.poll() is not None:
            self.proc = self._start()
        self.proc.stdin.write(json.dumps({"args": args, "env": env, "log": str(log)}) + "\n")
        self.proc.stdin.flush()
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout_s)
        if not ready:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
            raise TimeoutError(f"pytest {' '.join(args)} ran over {timeout_s:.0f} s (log: {log})")
        answer = self.proc.stdout.readline()
        if not answer:
            raise RuntimeError("the pytest fork server died")
        return json.loads(answer)["exit"]

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.close()
            self.proc.wait(timeout=60)


if __name__ == "__main__":
    serve(tuple(sys.argv[1:]) or PRELOAD)
