"""The sources pass ruff's checks for mistakes (pyproject.toml's [tool.ruff]: unused and
undefined names, pycodestyle's error classes); .ci/run runs the same check before the tests."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RUFF = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")


@pytest.mark.skipif(RUFF is None, reason="ruff is not installed (a test extra: .ci/setup)")
def test_the_sources_pass_ruff():
    proc = subprocess.run([RUFF, "check", "--no-cache", "."], cwd=ROOT, capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stdout[-4000:]


@pytest.mark.skipif(RUFF is None, reason="ruff is not installed (a test extra: .ci/setup)")
def test_ruff_flags_an_undefined_name(tmp_path):
    (tmp_path / "pyproject.toml").write_text((ROOT / "pyproject.toml").read_text())
    (tmp_path / "bad.py").write_text("def f() -> 'Figure':\n    return undefined_name\n")
    proc = subprocess.run([RUFF, "check", "--no-cache", "."], cwd=tmp_path, capture_output=True,
                          text=True)
    assert proc.returncode == 1 and "F821" in proc.stdout
