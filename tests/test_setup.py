""".ci/setup: once the environment holds the project, a later call does nothing and works with no
package index reachable (a train, a cluster node)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"


@pytest.mark.skipif(not (VENV / ".optclaims-setup").is_file()
                    or Path(sys.prefix).resolve() != VENV.resolve(),
                    reason="runs where .ci/setup made the environment these tests run in")
def test_a_second_setup_needs_no_network_and_does_nothing(tmp_path):
    offline = {**os.environ, "PIP_NO_INDEX": "1", "PIP_CONFIG_FILE": os.devnull,
               "PIP_FIND_LINKS": str(tmp_path)}  # an empty directory: nothing to install from
    stamp = (VENV / ".optclaims-setup").read_text()
    proc = subprocess.run([str(ROOT / ".ci" / "setup")], env=offline, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == "" and proc.stdout == ""  # said nothing: it installed nothing
    assert (VENV / ".optclaims-setup").read_text() == stamp
