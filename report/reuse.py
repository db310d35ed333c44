"""Reuse, between ``repro report`` runs, the results of the claim modules that did not change.

A claim module's results are kept under ``report/out/reuse/<key>.json``: its claims (figures
included), their planted bugs and benchmarks, and the environment of the run that made them. The
key is a sha256 over everything that can change them:

- the source of the claim module and of every project module it reaches through its imports,
  transitively (``reproductions.*``, ``optclaims_report.*``, any module of the checkout), the
  plugin (``report/plugin/``) and what it imports (verdict rules, results builder) and,
  where the planted-bug table runs, the planted-bug sources under ``tests/``;
- the data files' sha256 (every file under the data directory, or its absence);
- the pytest arguments (seed, tier, selection) and the versions of python, torch, numpy, scipy
  and scikit-learn.

The next ``repro report`` runs only the modules whose key has no kept results and merges the
rest in (``merge.merge``, each test naming the run it came from); the report marks each reused
claim. ``pytest claims/`` never reuses: it always runs everything. ``repro report --no-reuse``
(and ``--no-cache`` among its pytest arguments, as CI passes) runs everything too.
"""

from __future__ import annotations

import ast
import hashlib
import json
import platform
from pathlib import Path

from reproductions.data import data_directory

from .merge import merge
from .paths import REUSE_DIR
from .results import ResultsFileError, git_commit, library_versions, load, utc_now, write_atomic

PROJECT_PACKAGES = {"reproductions": "reproductions", "optclaims_report": "report"}
# The planted-bug machinery every module's bugs run through; each module's own bugs are in
# tests/planted_bugs/<name>.py (claims/test_<name>.py), which only its key covers.
PLANTED_SOURCES = ("tests/planted_bugs/__init__.py", "tests/test_planted_bugs.py",
                   "tests/forkserver.py")
VERSIONED = ("torch", "numpy", "scipy", "sklearn")


def _module_file(root: Path, dotted: str) -> Path | None:
    """The source file of ``dotted`` (a package's __init__) if it is the project's: under the
    checkout, the report package installed as ``optclaims_report``."""
    top, *rest = dotted.split(".")
    base = root / PROJECT_PACKAGES.get(top, top)
    base = base / Path(*rest) if rest else base
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _imports(path: Path, root: Path) -> set[Path]:
    """The project source files ``path`` imports (``import a.b``, ``from a import b``, relative
    imports inside a package)."""
    tree = ast.parse(path.read_text(), str(path))
    folders = path.relative_to(root).with_suffix("").parts[:-1]
    top = next((name for name, folder in PROJECT_PACKAGES.items()
                if folders and folder == folders[0]), folders[0] if folders else "")
    package = ".".join([top, *folders[1:]]) if folders else ""
    found: set[Path] = set()
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[:len(package.split(".")) - node.level + 1]
                                + ([base] if base else []))
            names = [base] + [f"{base}.{alias.name}" for alias in node.names]
        for name in names:
            source = _module_file(root, name)
            if source is not None:
                found.add(source)
    return found


def reached_sources(root: Path, module: Path) -> list[Path]:
    """``module`` and every project source it reaches through imports, sorted."""
    seen: set[Path] = set()
    todo = [module]
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        todo += sorted(_imports(path, root) - seen)
    return sorted(seen)


PLUGIN = Path("report") / "plugin" / "__init__.py"


def plugin_sources_of(root: Path) -> list[Path]:
    """What the pytest plugin reaches (the verdict rules, the results builder, which judge every
    claim), and a root conftest.py if the checkout has one."""
    starts = [root / PLUGIN, root / "conftest.py"]
    return sorted({path for start in starts if start.is_file()
                   for path in reached_sources(root, start)})


def data_digest(data_dir: Path | None) -> str:
    """sha256 over the names and sha256 of every file under the data directory."""
    digest = hashlib.sha256()
    if data_dir is None or not data_dir.is_dir():
        digest.update(b"no data directory")
        return digest.hexdigest()
    for path in sorted(p for p in data_dir.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(data_dir)).encode())
        with path.open("rb") as handle:
            digest.update(hashlib.file_digest(handle, "sha256").digest())
    return digest.hexdigest()


def versions() -> dict[str, str | None]:
    return {"python": platform.python_version(), **library_versions(VERSIONED)}


def module_key(root: Path, module: Path, pytest_args: list[str], data: str, planted: bool,
               plugin_sources: list[Path] | None = None) -> str:
    """The reuse key of one claim module's results (see the module docstring).
    ``plugin_sources``: ``plugin_sources_of(root)``, when the caller has it for many modules."""
    digest = hashlib.sha256()
    if plugin_sources is None:
        plugin_sources = plugin_sources_of(root)
    sources = sorted(set(reached_sources(root, module)) | set(plugin_sources))
    own_bugs = Path("tests") / "planted_bugs" / f"{module.stem.removeprefix('test_')}.py"
    sources += [root / p for p in (*PLANTED_SOURCES, own_bugs) if planted and (root / p).is_file()]
    for path in sources:
        digest.update(str(path.relative_to(root)).encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    digest.update(json.dumps({"args": pytest_args, "data": data, "planted": planted,
                              "versions": versions()}, sort_keys=True).encode())
    return digest.hexdigest()


def module_results(results: dict, module: str) -> dict:
    """The part of ``results`` that belongs to one claim module: its claims, their planted bugs
    and benchmarks; the environment kept whole."""
    claims = [c for c in results["claims"] if c.get("module") == module]
    ids = {c["id"] for c in claims}
    return {"version": results.get("version"), "environment": results.get("environment", {}),
            "claims": claims, "catalogue": results.get("catalogue", {}),
            "benchmarks": [b for b in results.get("benchmarks", []) if b.get("claim") in ids],
            "planted_bugs": [p for p in results.get("planted_bugs", []) if p["claim"] in ids],
            "totals": {}}


def kept(root: Path, key: str) -> dict | None:
    """The kept results for ``key``, or None (absent, or unreadable: then it is recomputed)."""
    path = root / REUSE_DIR / f"{key}.json"
    if not path.is_file():
        return None
    try:
        return load(path)
    except ResultsFileError:
        return None


def keep(root: Path, key: str, results: dict, module: str) -> Path:
    return write_atomic(module_results(results, module), root / REUSE_DIR / f"{key}.json")


def allowed(pytest_args: list[str]) -> bool:
    """Reuse is off when the run is asked to recompute (``--no-cache``, as CI passes it)."""
    return "--no-cache" not in pytest_args


def data_dir(root: Path, pytest_args: list[str]) -> Path:
    """The data directory the run will read (as the plugin resolves it)."""
    for i, arg in enumerate(pytest_args):
        if arg.startswith("--data-dir="):
            return data_directory(root, arg.split("=", 1)[1])
        if arg == "--data-dir" and i + 1 < len(pytest_args):
            return data_directory(root, pytest_args[i + 1])
    return data_directory(root)


def lookup(root: Path, modules: list[str], pytest_args: list[str],
           planted: bool) -> tuple[dict[str, str], dict[str, dict]]:
    """Each claim module's key, and the kept results of those whose key has some."""
    data = data_digest(data_dir(root, pytest_args))
    plugin = plugin_sources_of(root)
    keys = {m: module_key(root, root / m, pytest_args, data, planted, plugin) for m in modules}
    found = {m: kept(root, key) for m, key in keys.items()}
    return keys, {m: r for m, r in found.items() if r is not None}


def combine(root: Path, reused: dict[str, dict], fresh: dict | None) -> dict:
    """This run's results with the reused modules' merged in; each reused claim says from which
    run (``reused_from``), and ``reused`` lists the modules."""
    if not reused:
        return fresh
    runs = [(str(REUSE_DIR / m), r) for m, r in reused.items()]
    runs += [("this run", fresh)] if fresh is not None else []
    merged = merge(runs, allow_mixed_commits=True)   # the keys guarantee the same sources
    origins = merged["environment"]["merged_from"]
    reused_runs = set(range(len(reused)))
    for claim in merged["claims"]:
        ran = {t["run"] for t in claim["tests"]}
        if ran and ran <= reused_runs:
            source = origins[min(ran)]
            claim["reused_from"] = {"written_utc": source["written_utc"],
                                    "commit": source["commit"]}
    merged["reused"] = {m: {"written_utc": r["environment"].get("written_utc"),
                            "commit": r["environment"].get("git_commit")}
                        for m, r in reused.items()}
    merged["timing"] = dict((fresh or {}).get("timing") or {}, reused_modules=sorted(reused))
    if fresh is None:
        merged["environment"].update(written_utc=utc_now(), git_commit=git_commit(root),
                                     complete=True)
    return merged


def exit_status(reused: dict[str, dict]) -> int:
    """What pytest exited with when it ran the reused modules: 1 if a test of theirs failed or
    errored (a claim not reproduced, broken, or a known non-reproduction that reproduced)."""
    return int(any(t["outcome"] in ("failed", "error") for r in reused.values()
                   for c in r["claims"] for t in c["tests"]))
