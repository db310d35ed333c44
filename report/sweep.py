"""Run the claims at several base seeds and compare the verdicts: the check behind "a verdict
must hold at any base seed".

``repro sweep --seeds 0-19,100 [--jobs 2] [--out DIR] [-- PYTEST_ARGS]`` runs
``pytest claims/ --seed S --results DIR/seed-S.json`` for every S, then :func:`summarize` reads
the files: per claim and per part, the verdict at each seed and whether it is the same at all of
them; per check, the number of seeds at which it held. The summary goes to ``DIR/sweep.json``
and, as text, to the terminal; the command fails when a verdict differs between seeds.
"""

from __future__ import annotations

import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .processes import PYTEST_USAGE_ERROR, ForwardSignals
from .results import load, write_atomic

# A sweep of more base seeds than this needs --max-seeds: a typo such as 0-100000 would otherwise
# start 100,001 pytest runs. The README's sweeps use 21 (0-19 and 100).
MAX_SEEDS = 100


def parse_seeds(text: str, max_seeds: int = MAX_SEEDS) -> list[int]:
    """'0-3,7,100' -> [0, 1, 2, 3, 7, 100]. ValueError, saying which item, for anything that is
    not a seed (a whole number >= 0) or an increasing range of them, and for more than
    ``max_seeds`` seeds."""
    seeds: set[int] = set()
    for item in (i.strip() for i in text.split(",")):
        if not item:
            continue
        match = re.fullmatch(r"(\d+)(?:\s*-\s*(\d+))?", item)
        if match is None:
            raise ValueError(f"{item!r} is not a base seed (a whole number >= 0) or a range "
                             "of them such as 0-19")
        low, high = int(match[1]), int(match[2] if match[2] is not None else match[1])
        if high < low:
            raise ValueError(f"{item!r} is a reversed range; write {high}-{low}")
        if high - low + 1 > max_seeds or len(seeds.union(range(low, high + 1))) > max_seeds:
            raise ValueError(f"{text!r} names more than {max_seeds} base seeds; pass "
                             "--max-seeds N to run that many")    # a huge range is never built
        seeds.update(range(low, high + 1))
    if not seeds:
        raise ValueError(f"no seeds in {text!r}")
    return sorted(seeds)


def run_seed(root: Path, out: Path, seed: int, pytest_args: list[str], paths: list[str],
             children: ForwardSignals) -> tuple[int | None, Path]:
    """One pytest run of the claims at base seed ``seed``; its log goes beside its results. The
    status is None when the sweep was stopped before this seed started."""
    path = out / f"seed-{seed}.json"
    if path.exists():
        path.unlink()
    cmd = [sys.executable, "-m", "pytest", *paths, f"--seed={seed}", f"--results={path}",
           "-q", "-p", "no:cacheprovider", "--benchmark-disable", *pytest_args]
    with (out / f"seed-{seed}.log").open("w") as log:
        status = children.run(cmd, cwd=root, stdout=log, stderr=subprocess.STDOUT)
    return status, path


def usage_error(log: Path) -> str:
    """The line of a seed's log in which pytest says what is wrong with its arguments."""
    lines = log.read_text(errors="replace").splitlines() if log.exists() else []
    return next((line.strip() for line in lines if "error:" in line), "see " + str(log))


def summarize(runs: dict[int, dict]) -> dict:
    """Verdicts per claim, part and document sentence at each base seed, and per check the seeds
    where it held."""
    seeds = sorted(runs)
    claims: dict[str, dict] = {}
    for seed in seeds:
        for claim in runs[seed]["claims"]:
            c = claims.setdefault(claim["id"], {"verdicts": {}, "parts": {}, "checks": {}})
            c["verdicts"][seed] = claim["verdict"]
            for part in claim["parts"]:
                c["parts"].setdefault(part["id"], {})[seed] = part["verdict"]
            for check in claim["checks"]:
                key = f"{check['test']} :: {check['name']}"
                entry = c["checks"].setdefault(key, {"part": check["part"], "status": {}})
                entry["status"][seed] = check["status"]
    for c in claims.values():
        c["stable"] = len(set(c["verdicts"].values())) == 1 and all(
            len(set(p.values())) == 1 for p in c["parts"].values())
        for entry in c["checks"].values():
            entry["held"] = sum(s == "held" for s in entry["status"].values())
            entry["runs"] = len(entry["status"])
    sentences: dict[str, dict] = {}
    for seed in seeds:
        for entry in (runs[seed].get("catalogue") or {}).get("entries", []):
            sentences.setdefault(entry["id"], {})[seed] = entry["verdict"]
    unstable = sorted(sid for sid, v in sentences.items() if len(set(v.values())) > 1)
    return {"seeds": seeds, "claims": claims, "sentences": sentences,
            "unstable_sentences": unstable,
            "stable": all(c["stable"] for c in claims.values()) and not unstable}


def as_text(summary: dict) -> str:
    """The summary for a terminal or a CI log: unstable verdicts first, then every check that did
    not hold at every seed."""
    seeds = summary["seeds"]
    lines = [f"base seeds: {', '.join(map(str, seeds))}"]
    for cid, c in sorted(summary["claims"].items()):
        verdicts = sorted(set(c["verdicts"].values()))
        lines.append(f"{'same' if c['stable'] else 'DIFFERS':8s} {cid}: {', '.join(verdicts)}")
        for pid, by_seed in c["parts"].items():
            if len(set(by_seed.values())) > 1:
                lines.append(f"         part {pid}: " + ", ".join(
                    f"{s}={v}" for s, v in sorted(by_seed.items())))
        for key, entry in c["checks"].items():
            statuses = set(entry["status"].values())
            if len(statuses) > 1:
                lines.append(f"         check held at {entry['held']}/{entry['runs']}: {key}")
    for sid in summary.get("unstable_sentences", []):
        lines.append(f"DIFFERS  sentence {sid}: " + ", ".join(
            f"{s}={v}" for s, v in sorted(summary["sentences"][sid].items())))
    lines.append("every claim, part and sentence verdict is the same at every base seed" if
                 summary["stable"] else "SOME VERDICTS DEPEND ON THE BASE SEED")
    return "\n".join(lines)


def workers_of(tasks: dict[int, dict]) -> list[dict]:
    """The machines that ran a cluster sweep's seeds: host, process, CPU, GPU, commit, library
    versions, and which seeds each ran."""
    out: dict[tuple, dict] = {}
    for seed, task in sorted(tasks.items()):
        for w in task.get("workers") or [task["worker"]]:
            entry = out.setdefault((w.get("host"), w.get("pid")), {
                k: w.get(k) for k in ("host", "pid", "cpu", "cpu_count", "gpu", "commit",
                                      "changes", "versions")} | {"seeds": []})
            if seed not in entry["seeds"]:
                entry["seeds"].append(seed)
    return list(out.values())


def sweep(root: Path, out: Path, seeds: list[int], pytest_args: list[str], jobs: int = 1,
          paths: list[str] = ("claims",), scheduler: str | None = None,
          allow_mixed: bool = False, task_timeout: float | None = None) -> int:
    """Run ``pytest paths`` at every base seed (``jobs`` at once, or as tasks of the Dask
    cluster ``scheduler``), summarize, and return 0 when every claim and part verdict is the
    same at every seed."""
    out.mkdir(parents=True, exist_ok=True)
    workers, lost = [], None
    with ForwardSignals() as children:
        if scheduler:
            from . import cluster
            tasks, refused, lost = cluster.sweep_tasks(
                root, out, seeds, list(paths), pytest_args, scheduler, allow_mixed,
                task_timeout or cluster.TASK_TIMEOUT_S)
            if refused:
                print(f"repro sweep: refused to merge results from other code: {refused[0]} "
                      "(--allow-mixed-commits merges them)", file=sys.stderr)
                return 2
            workers = workers_of(tasks)
            done = [(s, tasks[s]["status"] if s in tasks else None, out / f"seed-{s}.json")
                    for s in seeds]
        else:
            with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
                done = list(pool.map(lambda s: (s, *run_seed(root, out, s, pytest_args,
                                                             list(paths), children)), seeds))
    if lost:
        print(f"repro sweep: {lost}; the finished seeds are kept in {out}, and the same command "
              "run again resumes the sweep (finished seeds are not run again)", file=sys.stderr)
    rejected = [usage_error(out / f"seed-{s}.log") for s, status, _ in done
                if status == PYTEST_USAGE_ERROR]
    if rejected:
        print(f"repro sweep: pytest rejected its arguments: {rejected[0]}", file=sys.stderr)
        return 2
    runs, missing, cut = {}, [], []
    for seed, status, path in done:
        print(f"repro sweep: seed {seed}: " + ("not started (the sweep was stopped)"
                                              if status is None else "not run: killed at its "
                                              "time limit" if status == "timeout" else
                                              f"pytest exited {status}"), flush=True)
        run = load(path) if path.exists() else None
        if run is None:
            missing.append(seed)
        elif not run["environment"].get("complete", True):
            cut.append(seed)     # "not run" verdicts are no evidence of a seed-dependent verdict
        else:
            runs[seed] = run
    if missing or cut:
        print(f"repro sweep: no results for seeds {missing}, unfinished runs at seeds {cut}; "
              f"see {out}/seed-S.log; those seeds are left out of the comparison",
              file=sys.stderr)
    if runs:
        summary = dict(summarize(runs), missing=missing, unfinished=cut,
                       interrupted=bool(children.received), partial=bool(lost),
                       **({"scheduler": scheduler, "workers": workers} if scheduler else {}))
        write_atomic(summary, out / "sweep.json")
        print(as_text(summary))
        print(f"repro sweep: wrote {out / 'sweep.json'}")
    if children.received:
        return children.exit_status
    if lost:
        return 3
    return 0 if runs and summary["stable"] and not missing and not cut else 1


