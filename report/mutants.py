"""``repro mutants``: how many small changes to ``reproductions/`` the claim modules notice.

mutmut (3.8.1, pinned in the ``mutation`` extra) makes the mutants: every function of
``reproductions/`` gets copies with one operator, constant or call argument changed, and a
trampoline that picks the copy named by an environment variable. The whole tree has about 29,000
of them, at seconds to a minute each, so one run judges a uniform random sample sized to a time
budget (30 minutes on 2 cores by default), and says so.

Each mutant is judged by the claim modules only (``claims/``, never the unit tests of ``tests/``):
those whose tests call its function. mutmut's own stats link a function only to the tests that
call it while they run, and a claim module computes its experiments once, in module-scoped
fixtures, for the first test that asks; the later tests that check those numbers would never be
run against the mutant. So every function is also linked to each test of the same module that
shares a module-wide fixture with a test that called it (``linked_tests``; the fixtures come from
``mutants_probe``, a plugin loaded into mutmut's stats run).

Survivors that cannot change any result are marked equivalent in ``claims/equivalent_mutants.toml``
with a reason and the changed line, so that a renumbered mutant is never marked by mistake; the
score leaves them out. Each run is kept under ``report/out/mutants/`` and the report shows the
newest: per module, mutants, sampled, killed, survived, equivalent, and every survivor's diff.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import time
import tomllib
from collections import defaultdict
from pathlib import Path

from reproductions.data import data_directory

from . import mutants_probe
from .paths import MUTANTS_DIR
from .processes import ForwardSignals
from .results import git_commit, utc_now, write_atomic

VERSION = 1
MUTMUT = "mutmut==3.8.1"
WORK = Path("mutants")                       # mutmut's working tree (it insists on this name)
STATS = WORK / "mutmut-stats.json"
PROBE = WORK / "optclaims-probe.json"    # each claim test's whole time and fixtures (mutants_probe)
PER_MUTANT_S = 1.0    # a forked pytest session's own start and collection, per mutant
# A caught mutant stops at its first failing test (mutmut runs pytest -x): the first full run
# (186 mutants, 2026-12-07) took 0.48 of the worst case its sample was sized by; 0.6 keeps a
# margin under the budget.
EXPECTED_OVER_WORST = 0.6
EQUIVALENT = Path("claims") / "equivalent_mutants.toml"
DRIVER = [sys.executable, "-m", "optclaims_report.mutmut_driver"]   # mutmut's steps, in a child
DEFAULT_MINUTES = 30.0

# mutmut 3.8.1's exit codes (mutmut/stats.py), grouped as this report counts them. A mutant that
# runs past mutmut's CPU limit (15x its tests' clean time) or crashes the interpreter is caught:
# no run of the suite would pass with it.
OUTCOME = {1: "killed", 3: "killed", 0: "survived", 5: "no tests", 33: "no tests",
           34: "skipped", 36: "timeout", 24: "timeout", -24: "timeout", 152: "timeout",
           255: "timeout", -11: "crashed", -9: "crashed", 2: "interrupted", None: "not run"}
CAUGHT = ("killed", "timeout", "crashed")


class MutantsError(Exception):
    """A one-line reason ``repro mutants`` cannot go on (exit 2)."""


def outcome(exit_code: int | None) -> str:
    return OUTCOME.get(exit_code, "suspicious")


def function_of(mutant: str) -> str:
    """mutmut's name of the function a mutant changes: ``pkg.mod.x_name__mutmut_7`` belongs to
    ``pkg.mod.x_name``."""
    return mutant.rsplit("__mutmut_", 1)[0]


def is_figure_code(mutant: str) -> bool:
    """A mutant of a figure helper (``plot...``; mutmut names a function ``x_<name>`` and a
    method ``xǁ<class>ǁ<name>``): it changes what a figure draws, never a number a check
    judges, so it is left out of the sample and counted apart."""
    name = function_of(mutant).rsplit(".", 1)[-1]
    return name.removeprefix("x_").rsplit("ǁ", 1)[-1].startswith("plot")


def claim_module(test_id: str) -> str:
    return test_id.split("::", 1)[0]


def linked_tests(tests_by_function: dict[str, list[str]], all_tests: list[str],
                 module_fixtures: dict[str, list[str]] | None = None) -> dict[str, list[str]]:
    """Each function linked to the tests mutmut saw call it and to every test of the same claim
    module that shares a module-wide fixture with one of them (it reuses a value the function
    helped compute). A test whose fixtures are unknown stands for its whole module."""
    by_module: dict[str, set[str]] = defaultdict(set)
    for test in all_tests:
        by_module[claim_module(test)].add(test)
    fixtures = module_fixtures or {}
    linked = {}
    for function, tests in tests_by_function.items():
        found = set(tests)
        for test in tests:
            module = by_module.get(claim_module(test), set())
            if test not in fixtures:
                found |= module
            elif fixtures[test]:
                found |= {t for t in module if set(fixtures.get(t, ())) & set(fixtures[test])}
        linked[function] = sorted(found)
    return linked


def worst_case_seconds(mutant: str, tests_by_function: dict[str, list[str]],
                       duration_by_test: dict[str, float]) -> float:
    """The clean time of every test that judges ``mutant`` (what a survivor costs)."""
    tests = tests_by_function.get(function_of(mutant), [])
    return PER_MUTANT_S + sum(duration_by_test.get(t, 0.0) for t in tests) if tests else 0.0


def sample(mutants: list[str], cost: dict[str, float], budget_s: float, seed: int) -> list[str]:
    """A uniform random sample, as many mutants as the budget pays for at their mean cost: a
    seeded shuffle, cut at ``budget / mean cost`` (so an expensive module is neither favoured
    nor skipped). Sorted, so the same seed and tree give the same list."""
    if not mutants:
        return []
    mean = EXPECTED_OVER_WORST * sum(cost.get(m, 0.0) for m in mutants) / len(mutants)
    count = len(mutants) if mean == 0 else max(1, min(len(mutants), int(budget_s / mean)))
    order = sorted(mutants)
    random.Random(seed).shuffle(order)
    return sorted(order[:count])


def matching(patterns: list[str], mutants) -> list[str]:
    """The mutants named by ``patterns`` (exact names or globs)."""
    return sorted(m for m in mutants if any(fnmatch.fnmatchcase(m, p) for p in patterns))


def read_outcomes(work: Path) -> dict[str, dict]:
    """Every mutant mutmut made under ``work`` (its ``*.py.meta`` files): its source file, exit
    code and duration."""
    found = {}
    for meta in sorted(work.glob("reproductions/**/*.py.meta")):
        data = json.loads(meta.read_text(encoding="utf-8"))
        source = meta.relative_to(work).as_posix().removesuffix(".meta")
        for name, code in data.get("exit_code_by_key", {}).items():
            found[name] = {"source": source, "exit_code": code,
                           "seconds": data.get("durations_by_key", {}).get(name)}
    return found


def changed_lines(diff: str) -> list[str]:
    """The removed and added lines of a unified diff, stripped: what an equivalence mark
    names, so that it follows its mutant and no other."""
    return [line[0] + line[1:].strip() for line in diff.splitlines()
            if line[:1] in "+-" and not line.startswith(("+++", "---"))]


def load_equivalent(path: Path) -> dict[str, dict]:
    """``claims/equivalent_mutants.toml``: ``[[equivalent]]`` tables of mutant, changed (its
    changed lines as ``changed_lines`` gives them) and reason."""
    if not path.exists():
        return {}
    entries = tomllib.loads(path.read_text(encoding="utf-8")).get("equivalent", [])
    for entry in entries:
        missing = {"mutant", "changed", "reason"} - entry.keys()
        if missing or not entry["reason"].strip():
            raise MutantsError(f"{path}: an [[equivalent]] entry lacks "
                               f"{', '.join(sorted(missing)) or 'a reason'}: {entry}")
    return {entry["mutant"]: entry for entry in entries}


def judge(sampled: dict[str, dict], diffs: dict[str, str],
          equivalent: dict[str, dict]) -> dict[str, dict]:
    """Each sampled mutant's status: mutmut's outcome, except a survivor marked equivalent
    whose changed lines still match the mark ("equivalent"); a mark whose lines no longer match
    leaves the mutant a survivor and is reported as stale."""
    judged = {}
    for name, found in sampled.items():
        status = outcome(found["exit_code"])
        entry = dict(found, status=status, diff=diffs.get(name))
        mark = equivalent.get(name)
        if mark and status == "survived":
            if diffs.get(name) is not None and changed_lines(diffs[name]) == mark["changed"]:
                entry.update(status="equivalent", reason=mark["reason"])
            else:
                entry["stale_mark"] = mark["reason"]
        judged[name] = entry
    return judged


def wilson_interval(caught: int, judged: int) -> list[float] | None:
    if judged == 0:
        return None
    from scipy.stats import binomtest

    ci = binomtest(caught, judged).proportion_ci(confidence_level=0.95, method="wilson")
    return [ci.low, ci.high]


def summarize(judged: dict[str, dict], generated: dict[str, int]) -> dict:
    """Per source module and in all: mutants generated, sampled, and each status; the score is
    caught / (sampled - equivalent - not run), with its 95% Wilson interval, and
    ``score_reached`` leaves out too the mutants of functions no default-tier claim test calls
    (code of the slow and gpu tiers: mutmut has no test to run them with)."""
    modules: dict[str, dict] = {}
    for source, count in generated.items():
        modules[source] = {"generated": count, "sampled": 0}
    for entry in judged.values():
        row = modules.setdefault(entry["source"], {"generated": 0, "sampled": 0})
        row["sampled"] += 1
        row[entry["status"]] = row.get(entry["status"], 0) + 1
    total: dict = {"generated": sum(generated.values()), "sampled": len(judged)}
    for row in modules.values():
        for key, value in row.items():
            if key not in ("generated", "sampled"):
                total[key] = total.get(key, 0) + value
    for row in [*modules.values(), total]:
        caught = sum(row.get(s, 0) for s in CAUGHT)
        counted = row["sampled"] - row.get("equivalent", 0) - row.get("not run", 0) \
            - row.get("interrupted", 0) - row.get("skipped", 0)
        reached = counted - row.get("no tests", 0)
        row["caught"] = caught
        row["score"] = caught / counted if counted else None
        row["score_interval"] = wilson_interval(caught, counted)
        row["score_reached"] = caught / reached if reached else None
        row["score_reached_interval"] = wilson_interval(caught, reached)
    return {"modules": dict(sorted(modules.items())), "total": total}


# --- running mutmut ---------------------------------------------------------------------------

def _mutmut_executable() -> str | None:
    """The mutmut command of this environment, or None if it is not installed."""
    return shutil.which("mutmut", path=str(Path(sys.executable).parent))


def _env(root: Path) -> dict:
    """This environment, with the data directory named outright: mutmut runs pytest inside
    ``mutants/``, beside which ``../shared/data`` is not the checkout's."""
    return dict(os.environ, REPRO_DATA=str(data_directory(root)))


def tree_digest(root: Path) -> str:
    """sha256 over what mutmut's stats depend on: the experiments, the claim modules, the
    plugin, the probe and the project configuration."""
    digest = hashlib.sha256()
    files = [root / "pyproject.toml", *sorted((root / "reproductions").rglob("*.py")),
             *sorted(p for p in (root / "claims").rglob("*") if p.suffix in (".py", ".toml")),
             *sorted((root / "report" / "plugin").rglob("*.py")), Path(mutants_probe.__file__)]
    for path in files:
        if path.is_file():
            name = path.relative_to(root) if path.is_relative_to(root) else path.name
            digest.update(str(name).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def start_afresh_if_changed(root: Path) -> bool:
    """mutmut keeps its stats (which test calls which function) between runs and updates them
    only for new tests; after any edit of the tree they are dropped and collected again (a full
    serial run of the claim modules) rather than trusted. True if they were dropped."""
    stamp, digest = root / WORK / "optclaims-tree.sha256", tree_digest(root)
    kept = stamp.exists() and stamp.read_text().strip() == digest and (root / PROBE).exists()
    if not kept and (root / WORK).exists():
        shutil.rmtree(root / WORK)
    (root / WORK).mkdir(exist_ok=True)
    stamp.write_text(digest + "\n")
    return not kept


def expand_stats(root: Path) -> tuple[dict, dict]:
    """Rewrite mutmut's stats so every function is judged by the tests that reuse what it
    computed (``linked_tests``); returns (tests by function, each test's whole time: the probe's
    where the stats run timed it, else mutmut's call time)."""
    path = root / STATS
    stats = json.loads(path.read_text(encoding="utf-8"))
    seconds, fixtures = dict(stats["duration_by_test"]), None
    if (root / PROBE).exists():
        probe = json.loads((root / PROBE).read_text(encoding="utf-8"))
        seconds.update(probe["seconds"])
        fixtures = probe["module_fixtures"]
    expanded = linked_tests(stats["tests_by_mangled_function_name"],
                            list(stats["duration_by_test"]), fixtures)
    stats["tests_by_mangled_function_name"] = expanded
    path.write_text(json.dumps(stats, indent=1), encoding="utf-8")
    return expanded, seconds


def run(root: Path, out_dir: Path, minutes: float, jobs: int, seed: int,
        names: list[str] | None = None, previous: dict | None = None) -> dict:
    """Generate, sample and judge; returns the result written to ``out_dir/mutants.json``.
    With ``previous`` (a kept result), judge its survivors again on the current tree and keep
    its other mutants' outcomes (checks added since cannot un-catch a mutant)."""
    if previous is not None:
        names = [m for m, e in previous["mutants"].items() if e["status"] == "survived"]
        if not names:
            raise MutantsError("the newest repro mutants result has no survivors to judge again")
    mutmut = _mutmut_executable()
    if mutmut is None:
        raise MutantsError(f"mutmut is not installed in this environment; "
                           f"pip install -e '.[mutation]' (it pins {MUTMUT})")
    out_dir.mkdir(parents=True, exist_ok=True)
    started, started_utc = time.monotonic(), utc_now()
    log_path = out_dir / "mutmut.log"
    with open(log_path, "w") as log, ForwardSignals() as signals:
        tests_by_function, seconds = prepare(root, jobs, log, signals)
        found = read_outcomes(root / WORK)
        cost = {m: worst_case_seconds(m, tests_by_function, seconds) for m in found}
        clean_s = sum(seconds.values())
        budget_s = max(0.0, (minutes * 60 - (time.monotonic() - started) - clean_s) * jobs)
        population = [m for m in found if not is_figure_code(m)]
        chosen = matching(names, found) if names else sample(population, cost, budget_s, seed)
        if not chosen:
            raise MutantsError(f"no mutant is named {' '.join(names)}")
        print(f"repro: {len(chosen)} of {len(found)} mutants (estimated worst case "
              f"{sum(cost[m] for m in chosen) / jobs / 60:.0f} min on {jobs} cores, after "
              f"{clean_s / 60:.0f} min of clean tests); mutmut's output: {log_path}", flush=True)
        status = signals.run([mutmut, "run", "--max-children", str(jobs), *chosen],
                             cwd=root, stdout=log, stderr=subprocess.STDOUT, env=_env(root))
        interrupted = signals.exit_status is not None
    found = read_outcomes(root / WORK)
    judged = judge_sampled(root, {m: found[m] for m in chosen if m in found})
    result = {"version": VERSION, "tool": MUTMUT, "started_utc": started_utc,
              "finished_utc": utc_now(), "seconds": round(time.monotonic() - started, 1),
              "git_commit": git_commit(root), "jobs": jobs, "minutes": minutes,
              "sample_seed": seed, "named": bool(names), "mutmut_exit": status,
              "interrupted": interrupted, "clean_test_seconds": round(clean_s, 1),
              "figure_code_mutants": sum(map(is_figure_code, found)),
              "summary": summarize(judged, generated_per_source(found)),
              "mutants": dict(sorted(judged.items()))}
    if previous is not None:
        result = rejudged(previous, result)
    write(result, out_dir)
    return result


def prepare(root: Path, jobs: int, log, signals: ForwardSignals) -> tuple[dict, dict]:
    """mutmut's mutants and stats, brought up to date (``start_afresh_if_changed``), then
    linked to whole fixtures (``expand_stats``)."""
    afresh = start_afresh_if_changed(root)
    print(f"repro: {'collecting' if afresh else 'reusing'} mutmut's stats (which claim test "
          f"calls which function){': one serial run of the claim modules' if afresh else ''}",
          flush=True)
    env = dict(_env(root), **{mutants_probe.ENV: str((root / PROBE).resolve())})
    status = signals.run([*DRIVER, "prepare", "--jobs", str(jobs)],
                         cwd=root, stdout=log, stderr=subprocess.STDOUT, env=env)
    if status != 0:
        if signals.received:
            raise MutantsError("interrupted while mutmut prepared the mutants")
        raise MutantsError(f"mutmut could not generate the mutants or collect its stats; "
                           f"see {log.name}")
    return expand_stats(root)


def judge_sampled(root: Path, sampled: dict[str, dict]) -> dict[str, dict]:
    """The sampled mutants' statuses, with the survivors' diffs and the equivalence marks."""
    survivors = [m for m, f in sampled.items() if outcome(f["exit_code"]) == "survived"]
    return judge(sampled, _diffs(root, survivors), load_equivalent(root / EQUIVALENT))


def generated_per_source(found: dict[str, dict]) -> dict[str, int]:
    generated: dict[str, int] = defaultdict(int)
    for entry in found.values():
        generated[entry["source"]] += 1
    return dict(generated)


def rejudged(previous: dict, again: dict) -> dict:
    """``previous`` with its survivors' outcomes replaced by ``again``'s (a run naming just
    them), and a note of when and on which commit they were judged again."""
    merged = dict(previous["mutants"], **again["mutants"])
    generated = {name: row["generated"] for name, row in again["summary"]["modules"].items()}
    note = {"finished_utc": again["finished_utc"], "git_commit": again["git_commit"],
            "count": len(again["mutants"]), "seconds": again["seconds"]}
    return dict(previous, mutants=dict(sorted(merged.items())),
                summary=summarize(merged, generated), mutmut_exit=again["mutmut_exit"],
                interrupted=again["interrupted"],
                rejudged=[*previous.get("rejudged", []), note])


def _diffs(root: Path, names: list[str]) -> dict[str, str]:
    if not names:
        return {}
    done = subprocess.run([*DRIVER, "diffs", *names], cwd=root, capture_output=True, text=True,
                          env=_env(root))
    return json.loads(done.stdout) if done.returncode == 0 else {}


# --- keeping and reading results ----------------------------------------------------------------

def write(result: dict, out_dir: Path) -> Path:
    path = write_atomic(result, out_dir / "mutants.json")
    write_atomic(result, out_dir.parent / "latest.json")
    return path


def latest(root: Path) -> dict | None:
    """The newest kept ``repro mutants`` result, or None (none kept, or one of another version:
    a warning on stderr, never a broken report)."""
    path = root / MUTANTS_DIR / "latest.json"
    if not path.exists():
        return None
    try:
        result = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        print(f"repro: skipping {path}: {err}", file=sys.stderr)
        return None
    if not isinstance(result, dict) or result.get("version") != VERSION or \
            not isinstance(result.get("summary"), dict):
        print(f"repro: skipping {path}: not a version-{VERSION} mutants result "
              "(run repro mutants again)", file=sys.stderr)
        return None
    return result


def as_text(result: dict) -> str:
    """The terminal summary: per module, then in all, then the survivors' names."""
    lines = [f"{'module':42s} {'made':>6s} {'sampled':>7s} {'caught':>6s} {'survived':>8s} "
             f"{'equiv.':>6s} {'no tests':>8s}  score"]
    rows = dict(result["summary"]["modules"], total=result["summary"]["total"])
    for name, row in rows.items():
        if not row["sampled"] and name != "total":
            continue
        score = "-" if row["score"] is None else f"{row['score']:.0%}"
        lines.append(f"{name:42s} {row['generated']:6d} {row['sampled']:7d} {row['caught']:6d} "
                     f"{row.get('survived', 0):8d} {row.get('equivalent', 0):6d} "
                     f"{row.get('no tests', 0):8d}  {score}")
    total = result["summary"]["total"]
    if total["score_interval"]:
        low, high = total["score_interval"]
        lines.append(f"score {total['score']:.1%} (95% interval {low:.1%} to {high:.1%}); "
                     "mutants in code no default-tier claim test calls count as not caught")
    if total.get("score_reached_interval"):
        low, high = total["score_reached_interval"]
        lines.append(f"of the mutants the default tier reaches: {total['score_reached']:.1%} "
                     f"(95% interval {low:.1%} to {high:.1%})")
    survivors = [m for m, e in result["mutants"].items() if e["status"] == "survived"]
    lines += [f"survived: {m}" for m in survivors]
    return "\n".join(lines)
