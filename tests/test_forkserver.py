"""The fork server planted bugs run in (tests/forkserver.py)."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from forkserver import ForkServer  # noqa: E402

TOY = '''
import os, time

def test_env():
    assert os.environ["TOY_FLAG"] == "set"

def test_sleeps():
    time.sleep(float(os.environ.get("TOY_SLEEP", "0")))
'''


@pytest.fixture
def server(tmp_path):
    (tmp_path / "test_toy.py").write_text(TOY)
    served = ForkServer(tmp_path, preload=("pytest",))   # no torch: the mechanism alone
    yield served
    served.close()


def test_a_run_sees_its_environment_and_reports_pytests_exit_status(server, tmp_path):
    args = [str(tmp_path / "test_toy.py"), "-p", "no:cacheprovider", "-q"]
    assert server.run(args + ["-k", "env"], {"TOY_FLAG": "set"}, tmp_path / "a.log") == 0
    assert server.run(args + ["-k", "env"], {"TOY_FLAG": "no"}, tmp_path / "b.log") == 1
    assert "1 failed" in (tmp_path / "b.log").read_text()


def test_a_run_over_its_limit_is_killed_and_the_next_run_gets_a_new_server(server, tmp_path):
    args = [str(tmp_path / "test_toy.py"), "-p", "no:cacheprovider", "-q", "-k", "sleeps"]
    with pytest.raises(TimeoutError):
        server.run(args, {"TOY_SLEEP": "30"}, tmp_path / "a.log", timeout_s=2)
    assert server.run(args, {"TOY_SLEEP": "0"}, tmp_path / "b.log") == 0
