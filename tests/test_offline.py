"""No network at run time: a claim runs, and its checks hold, with every socket connection
refused."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

NO_NETWORK = '''
import socket

class NetworkBlocked(OSError):
    pass

def refuse(self, *args, **kwargs):
    raise NetworkBlocked(f"network access attempted: connect{args}")

def pytest_configure(config):
    socket.socket.connect = refuse
    socket.socket.connect_ex = refuse
    try:  # the blocking itself is checked, so a pass means something
        socket.create_connection(("127.0.0.1", 9), timeout=1)
    except NetworkBlocked:
        pass
    else:
        raise RuntimeError("socket connections are not blocked")
'''


def test_a_claim_runs_with_sockets_blocked(tmp_path):
    (tmp_path / "no_network.py").write_text(NO_NETWORK)
    results = tmp_path / "results.json"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path),
                                                        os.environ.get("PYTHONPATH", "")])}
    # A claim on scikit-learn's digits (the real data a package ships), cheap: the linear
    # classifiers of underfitting-remedies.
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "claims/test_model_fit.py", "-k", "more_features",
         "-p", "no_network", f"--results={results}", "-q", "-p", "no:cacheprovider",
         "--benchmark-disable"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    claims = json.loads(results.read_text())["claims"]
    (claim,) = [c for c in claims if c["id"] == "underfitting-remedies"]
    verdicts = {p["id"]: p["verdict"] for p in claim["parts"]}
    assert verdicts["more-features"] == "reproduced"
