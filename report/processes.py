"""Child pytest processes that stop with their parent: ``repro report`` and ``repro sweep`` run
pytest as children, and a Ctrl-C or SIGTERM sent to ``repro`` must reach them, let them write
their results on the way out (the plugin turns SIGTERM into an interrupt), and be waited for, so
no pytest is left running alone and the interrupted run still gets its report.

Each child runs in a process group of its own, and a signal is forwarded to the whole group (the
pytest process and its xdist workers) exactly once: a terminal's Ctrl-C reaches only ``repro``,
not the child twice.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading

FORWARDED = (signal.SIGINT, signal.SIGTERM)
PYTEST_USAGE_ERROR = 4    # pytest.ExitCode.USAGE_ERROR: a child that rejected its arguments


class ForwardSignals:
    """While open (``with ForwardSignals() as children:``), SIGINT and SIGTERM received by this
    process are forwarded to every child started with ``children.popen``; after the first, no new
    child starts (``popen`` returns None). ``received`` is the first signal, or None. Open it in
    the main thread (Python delivers signals there; elsewhere it forwards nothing); ``popen``
    may be called from any thread."""

    def __init__(self):
        self.received: int | None = None
        self._children: list[subprocess.Popen] = []
        self._lock = threading.Lock()
        self._previous: dict = {}

    def __enter__(self) -> "ForwardSignals":
        if threading.current_thread() is threading.main_thread():   # signals reach only it
            self._previous = {s: signal.signal(s, self._forward) for s in FORWARDED}
        return self

    def __exit__(self, *exc) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)

    def _forward(self, signum, frame) -> None:
        with self._lock:
            self.received = self.received or signum
            for child in self._children:
                if child.poll() is None:
                    try:
                        os.killpg(child.pid, signum)
                    except ProcessLookupError:
                        pass

    def popen(self, cmd: list[str], **kwargs) -> subprocess.Popen | None:
        with self._lock:
            if self.received:
                return None
            child = subprocess.Popen(cmd, process_group=0, **kwargs)
            self._children.append(child)
            return child

    def run(self, cmd: list[str], **kwargs) -> int | None:
        """``cmd``'s exit status, waiting through forwarded signals; None if it never started
        because a signal came first."""
        child = self.popen(cmd, **kwargs)
        return None if child is None else child.wait()

    @property
    def exit_status(self) -> int | None:
        """128 + the signal received (the shell's convention), or None."""
        return 128 + self.received if self.received else None
