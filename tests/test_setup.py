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


def copy_of_the_project(to: Path) -> Path:
    """What an editable install of the project reads: pyproject.toml, the README it names and
    the two packages."""
    import shutil
    to.mkdir()
    for name in ("pyproject.toml", "README.md", ".ci"):
        (shutil.copytree if (ROOT / name).is_dir() else shutil.copy)(ROOT / name, to / name)
    for package in ("reproductions", "report"):
        shutil.copytree(ROOT / package, to / package,
                        ignore=shutil.ignore_patterns("__pycache__", "out"))
    return to


def test_setup_reinstalls_offline_after_an_edit_of_pyproject(tmp_path):
    """A new environment whose libraries (pip, setuptools, torch and the rest) are this one's,
    seen through a .pth file, and no package index: .ci/setup installs the project, and again
    after pyproject.toml changes. pip's build isolation would fetch setuptools from the index
    for each install and fail."""
    import site
    import sysconfig

    project = copy_of_the_project(tmp_path / "project")
    venv = tmp_path / "venv"
    subprocess.run([sys._base_executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    purelib = sysconfig.get_path("purelib", vars={"base": str(venv), "platbase": str(venv)})
    Path(purelib, "this-environment.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    offline = {**os.environ, "PIP_NO_INDEX": "1", "PIP_CONFIG_FILE": os.devnull,
               "PIP_FIND_LINKS": str(tmp_path), "REPRO_VENV": str(venv)}
    for edit in ("", "\n# an edit\n"):
        with (project / "pyproject.toml").open("a") as f:
            f.write(edit)
        proc = subprocess.run([str(project / ".ci" / "setup")], env=offline, cwd=project,
                              capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert "setup: done" in proc.stderr
    imported = subprocess.run([str(venv / "bin" / "python"), "-c",
                               "import optclaims_report; print(optclaims_report.__file__)"],
                              capture_output=True, text=True, cwd=tmp_path)
    assert imported.stdout.strip().startswith(str(project)), imported.stderr
