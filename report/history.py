"""Every ``repro report`` run kept, per machine: the history behind "what changed since the last
run" and the per-check sparklines.

Runs are stored as ``report/out/history/<machine fingerprint>/<UTC time>-<commit>.json``: the
run's results.json (per-seed values included) without its figures' image data. The fingerprint
hashes what makes timings and float results comparable between runs (CPU model, core count, GPU,
architecture); torch, numpy and python versions are not in it, so a torch upgrade stays in the
same history and shows up as an environment change beside whatever it moved.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from pathlib import Path

from .compare import compare
from .paths import HISTORY_DIR
from .results import ResultsFileError, load, write_atomic

MACHINE_KEYS = ("cpu", "cpu_count", "gpu")
SPARK_RUNS = 20   # runs shown in a check's sparkline
BASELINE = "BASELINE"   # names the machine's baseline entry (repro baseline)


def fingerprint(environment: dict) -> str:
    """12 hex digits naming the machine a run ran on."""
    arch = (environment.get("platform") or "").split("-")
    machine = {k: environment.get(k) for k in MACHINE_KEYS}
    machine["arch"] = next((a for a in arch if a in ("x86_64", "aarch64", "arm64")), "")
    return hashlib.sha256(json.dumps(machine, sort_keys=True).encode()).hexdigest()[:12]


def without_images(results: dict) -> dict:
    """The results with each figure's image data dropped (names and captions kept)."""
    claims = [dict(c, figures=[{k: v for k, v in f.items()
                                if k not in ("png", "data_uri", "data")}
                               for f in c.get("figures", [])]) for c in results["claims"]]
    return dict(results, claims=claims)


def record(results: dict, root: str | Path) -> Path:
    """Store one run in its machine's history; returns the entry's path."""
    env = results.get("environment", {})
    folder = Path(root) / HISTORY_DIR / fingerprint(env)
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    commit = (env.get("git_commit") or "nocommit")[:10]
    kept = without_images(results)
    for n in range(1, 10_000):     # several runs in one second: -2, -3, ...
        path = folder / f"{stamp}-{commit}{f'-{n}' if n > 1 else ''}.json"
        try:
            return write_atomic(kept, path, replace=False)   # claims the name or raises
        except FileExistsError:
            continue
    raise ResultsFileError(f"{folder}: 10,000 runs recorded in the second {stamp}")


def entries(root: str | Path, environment: dict) -> list[Path]:
    """This machine's runs, oldest first."""
    folder = Path(root) / HISTORY_DIR / fingerprint(environment)
    return sorted(folder.glob("*.json"), key=lambda p: (p.stat().st_mtime, p.name))


def _readable(paths: list[Path]) -> list[tuple[Path, dict]]:
    """The entries that load; a damaged, older-version or misshapen one is skipped with a
    warning on stderr, never fatal (one bad file must not break every later report)."""
    out = []
    for p in paths:
        try:
            out.append((p, load(p)))
        except ResultsFileError as err:
            print(f"repro: warning: skipping the history entry {err}", file=sys.stderr)
    return out


def baseline_file(root: str | Path, environment: dict) -> Path:
    return Path(root) / HISTORY_DIR / fingerprint(environment) / BASELINE


def baseline(root: str | Path, environment: dict) -> Path | None:
    """This machine's baseline run, set explicitly with ``repro baseline``; None if unset."""
    marker = baseline_file(root, environment)
    if not marker.is_file():
        return None
    path = marker.parent / marker.read_text().strip()
    return path if path.is_file() else None


def set_baseline(entry: Path) -> Path:
    """Make the history entry ``entry`` its machine's baseline: the run that later runs are
    judged against until the next ``repro baseline`` (after an intended change, a new torch)."""
    marker = Path(entry).parent / BASELINE
    marker.write_text(Path(entry).name + "\n")
    return marker


def changes_since_last_run(root: str | Path, results: dict, current: Path | None) -> dict:
    """The comparison of ``results`` with the newest earlier run on the same machine and, when
    one is set and is not that run, with the machine's baseline: ``{"previous": name or None,
    "diff": compare(...) or None, "baseline": {"name", "diff"} or None}``."""
    env = results.get("environment", {})
    earlier = [p for p in entries(root, env) if p != current]
    previous = _readable(earlier[-1:])
    base = baseline(root, env)
    pinned = None
    if base is not None and base != current and (not earlier or base != earlier[-1]):
        pinned = next(({"name": p.stem, "diff": compare(r, results)}
                       for p, r in _readable([base])), None)
    if not previous:
        return {"previous": None, "diff": None, "runs": len(earlier), "baseline": pinned}
    path, prev = previous[0]
    return {"previous": path.stem, "diff": compare(prev, results), "runs": len(earlier),
            "baseline": pinned, "baseline_set": base is not None}


def check_series(root: str | Path, results: dict, limit: int = SPARK_RUNS) -> dict[str, list]:
    """Per check ("claim :: test :: name"), its value in each of the last ``limit`` runs on
    this machine (None where a run did not have it), oldest first."""
    runs = [r for _, r in _readable(entries(root, results.get("environment", {}))[-limit:])]
    series: dict[str, list] = {}
    for i, run in enumerate(runs):
        for claim in run["claims"]:
            for check in claim["checks"]:
                key = f"{claim['id']} :: {check['test']} :: {check['name']}"
                series.setdefault(key, [None] * len(runs))[i] = check.get("value")
    return series
