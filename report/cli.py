"""The ``repro`` command.

    repro report [--out DIR] [--no-reuse] [PYTEST_ARGS...]
                                                run the claims (every core; unchanged claim modules'
                                                results reused), write DIR/results.json and DIR/index.html
    repro report --from DIR/results.json [--out DIR]   rebuild DIR/index.html without re-running
    repro report --from latest                  render the newest plain `pytest claims/` run
    repro report --from A.json B.json [--out DIR]   merge runs (tiers, machines, shards) into one report
    repro compare EARLIER.json LATER.json       what changed between two runs (exit 1 on a flipped verdict)
    repro baseline [latest|HISTORY_ENTRY]       pin the run later reports are judged against
    repro sweep --seeds 0-19,100 [--jobs 2] [--out DIR] [PYTEST_ARGS...]
                                                run the claims at each base seed, compare verdicts
    repro schema                                print results.json's JSON Schema
    repro mutants [--minutes 30] [--jobs 2] [--sample-seed 0] [--survivors] [NAME...]
                                                a mutation score for reproductions/ (mutmut), judged
                                                by the claim modules; kept for the report

Arguments after the options (or after ``--``) go to pytest unchanged, e.g.
``repro report --out /tmp/r -- --runslow -k adam``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import signal
import sys
from pathlib import Path

from . import history, mutants, reuse
from .build import write_report
from .documents import document_view, errata_html, errata_markdown
from .compare import as_text as compare_text
from .compare import compare
from .merge import merge
from .paths import HISTORY_DIR, MERGED_DIR, MUTANTS_DIR, OUT, SWEEP_DIR
from .processes import PYTEST_USAGE_ERROR, ForwardSignals
from .results import (ResultsFileError, collect_environment, latest_run, load, utc_now,
                      write_atomic)
from .schema import RESULTS
from .sweep import MAX_SEEDS, parse_seeds, sweep

PLANTED = Path("tests") / "test_planted_bugs.py"
PLANTED_MODULES_ENV = "OPTCLAIMS_PLANTED_FOR"   # the claim modules whose bugs run (comma-separated)


def find_project_root() -> Path | None:
    """The checkout holding ``claims/``: the working directory if it has one, else the folder
    above this package (an editable install); None if neither has."""
    for candidate in (Path.cwd(), Path(__file__).resolve().parent.parent):
        if (candidate / "claims").is_dir():
            return candidate
    return None


def project_root() -> Path:
    root = find_project_root()
    if root is not None:
        return root
    raise SystemExit("repro: no claims/ folder here or beside the installed package; "
                     "run it from the project's checkout")


def resolve_results(given: str) -> Path:
    """``--from`` names a results.json, a folder holding one, or ``latest`` (the newest run
    directory a plain ``pytest claims/`` wrote)."""
    if given == "latest":
        return latest_run(project_root())
    path = Path(given)
    return path / "results.json" if path.is_dir() else path


def latest_mutants() -> dict | None:
    """The newest ``repro mutants`` result of the checkout, if there is a checkout."""
    root = find_project_root()
    return None if root is None else mutants.latest(root)


def cmd_report(args, pytest_args: list[str]) -> int:
    if args.from_ and len(args.from_) > 1:
        return cmd_merge(args)
    if args.scheduler and not args.from_:
        return cmd_report_on_cluster(args, pytest_args)
    if args.from_:
        source = resolve_results(args.from_[0])
        out = Path(args.out) if args.out else source.parent
        print(f"repro: rendering {source}")
        print(f"repro: wrote {write_report(load(source), out, mutation=latest_mutants())}")
        return 0
    root = project_root()
    out = Path(args.out) if args.out else root / OUT
    out.mkdir(parents=True, exist_ok=True)
    results_path = (out / "results.json").resolve()
    if results_path.exists():
        results_path.unlink()  # never render a previous run's results as this run's
    # The planted-bug tests run beside the claims, so the report shows what the checks catch.
    planted = (root / PLANTED).is_file()
    modules = sorted(str(p.relative_to(root)) for p in (root / "claims").glob("test_*.py"))
    reusing = reuse.allowed(pytest_args) and not args.no_reuse
    keys, reused = reuse.lookup(root, modules, pytest_args, planted) if reusing else ({}, {})
    to_run = [m for m in modules if m not in reused]
    for module, kept in reused.items():
        env = kept["environment"]
        print(f"repro: {module} unchanged since the run of {env.get('written_utc', '?')} "
              f"(commit {(env.get('git_commit') or 'none')[:10]}): reused")
    status, fresh, stopped_by = 0, None, None
    if to_run:
        status, fresh, stopped_by = run_pytest(root, to_run if reused else ["claims"], planted,
                                               results_path, pytest_args)
        if fresh is None:
            return stopped_by or status or 1
        if fresh["environment"].get("complete"):
            for module in to_run:
                if keys.get(module):
                    reuse.keep(root, keys[module], fresh, module)
    status = max(status, reuse.exit_status(reused))
    results = reuse.combine(root, reused, fresh)
    if reused:
        write_atomic(results, results_path)
    if not results["environment"].get("complete", True):
        # An interrupted run is reported (with a banner) but not kept: "what changed since the
        # last run" compares finished runs, and reuse keeps only complete modules.
        print(f"repro: the run did not finish; wrote {write_report(results, out)} and "
              f"{results_path} (not kept in the history)")
        return stopped_by or status or 1
    entry = history.record(results, root)
    changes = history.changes_since_last_run(root, results, entry)
    series = history.check_series(root, results)
    mutation = mutants.latest(root)
    print(f"repro: wrote {write_report(results, out, changes, series, mutation)} and "
          f"{results_path}; "
          f"kept in {entry.relative_to(root)}"
          + (f"; {len(reused)} of {len(modules)} claim modules reused" if reused else ""))
    return status


def run_pytest(root: Path, paths: list[str], planted: bool, results_path: Path,
               pytest_args: list[str]) -> tuple[int, dict | None, int | None]:
    """pytest on ``paths`` (and the planted bugs of those claim modules), on every core unless
    the arguments say otherwise; returns its exit status, the results it wrote, and 128 + the
    signal if this process was sent SIGINT or SIGTERM meanwhile (forwarded to pytest, which
    writes its results for what finished)."""
    env = dict(os.environ)
    if planted and paths != ["claims"]:
        env[PLANTED_MODULES_ENV] = ",".join(paths)
    told = any(a == "no:xdist" or a.startswith(("-n", "--numprocesses", "--dist"))
               for a in pytest_args)
    workers = [] if told or importlib.util.find_spec("xdist") is None else ["-n", "auto"]
    cmd = [sys.executable, "-m", "pytest", *paths, *([str(PLANTED)] if planted else []),
           f"--results={results_path}", "--progress", *workers, *pytest_args]
    print("repro: " + " ".join(cmd[2:]), flush=True)
    with ForwardSignals() as children:
        status = children.run(cmd, cwd=root, env=env)
    if children.received:
        print(f"repro: {signal.Signals(children.received).name} received and passed on to "
              "pytest", file=sys.stderr)
    if status == PYTEST_USAGE_ERROR:
        print("repro: pytest rejected its arguments (above); nothing ran", file=sys.stderr)
        return 2, None, children.exit_status
    if status is None or not results_path.exists():
        print(f"repro: pytest exited {status} without writing {results_path}; no report",
              file=sys.stderr)
        return status or 1, None, children.exit_status
    return status, load(results_path), children.exit_status


def has_distributed(prog: str) -> bool:
    """Whether Dask's ``distributed`` is installed; if not, says so (for --scheduler)."""
    if importlib.util.find_spec("distributed") is not None:
        return True
    print(f"{prog}: --scheduler needs Dask's `distributed` package: pip install -e "
          "'.[cluster]'", file=sys.stderr)
    return False


def cmd_report_on_cluster(args, pytest_args: list[str]) -> int:
    """``repro report --scheduler``: every claim module (and, with --runslow, its slow tier) as
    a task of a Dask cluster, merged into one report that names the worker of each."""
    from . import cluster
    if not has_distributed("repro"):
        return 2
    root = project_root()
    out = Path(args.out) if args.out else root / OUT
    modules = sorted(str(p.relative_to(root)) for p in (root / "claims").glob("test_*.py"))
    planted = str(PLANTED) if (root / PLANTED).is_file() else None
    runs, refused, error, status = cluster.report_tasks(
        root, modules, pytest_args, args.scheduler, planted, PLANTED_MODULES_ENV,
        args.allow_mixed_commits, args.task_timeout or cluster.TASK_TIMEOUT_S)
    if refused:
        print(f"repro: refused to merge results from other code: {refused[0]} "
              "(--allow-mixed-commits merges them)", file=sys.stderr)
        return 2
    if error or not runs:
        print(f"repro: {error or 'no shard wrote results'}; no report", file=sys.stderr)
        return 3 if error else status or 1
    merged = merge(runs, allow_mixed_commits=args.allow_mixed_commits)
    path = write_atomic(merged, out / "results.json")
    hosts = {o["machine"] for o in merged["environment"]["merged_from"]}
    print(f"repro: wrote {write_report(merged, out)} and {path}: {len(runs)} shards merged, "
          f"from {len(hosts)} machine(s)")
    return status


def cmd_merge(args) -> int:
    """Several results files as one report (and one merged results.json beside it)."""
    sources = [resolve_results(p) for p in args.from_]
    runs = [(str(p), load(p)) for p in sources]
    merged = merge(runs, allow_mixed_commits=args.allow_mixed_commits)
    out = Path(args.out) if args.out else project_root() / MERGED_DIR
    for o in merged["environment"]["merged_from"]:
        print(f"repro: run {o['run']}: {o['file']} (commit {(o['commit'] or 'none')[:10]}, "
              f"tiers {', '.join(o['tiers']) or 'none'}, written {o['written_utc'] or '?'})")
    path = write_atomic(merged, out / "results.json")
    print(f"repro: wrote {write_report(merged, out)} and {path}")
    return 0


def cmd_errata(args) -> int:
    """The correction sheet of a run: errata.md and errata.html, per document and section."""
    source = resolve_results(args.from_) if args.from_ else project_root() / OUT / "results.json"
    if not source.exists():
        raise ResultsFileError(f"{source}: no results to draw the errata from; run `repro "
                               "report` first or name a results.json with --from")
    results = load(source)
    out = Path(args.out) if args.out else source.parent
    out.mkdir(parents=True, exist_ok=True)
    report = os.path.relpath(source.parent / "index.html", out)
    env = results.get("environment", {})
    run = (f"of {env.get('written_utc') or env.get('started_utc') or '?'}, commit "
           f"{(env.get('git_commit') or 'none')[:10]}, base seed {env.get('seed', '?')}")
    view = document_view(results.get("catalogue"))
    (out / "errata.md").write_text(errata_markdown(view, report, run), encoding="utf-8")
    (out / "errata.html").write_text(errata_html(view, report, run), encoding="utf-8")
    print(f"repro: wrote {out / 'errata.md'} and {out / 'errata.html'} from {source}")
    return 0


def cmd_baseline(args) -> int:
    """Pin a kept run as this machine's baseline (default: the newest)."""
    root = project_root()
    if args.run in (None, "latest"):
        kept = history.entries(root, collect_environment(root))   # this machine's runs
        if not kept:
            raise ResultsFileError(f"{root / HISTORY_DIR}: no run kept on this machine "
                                   "yet; run `repro report` first")
        entry = kept[-1]
    else:
        entry = Path(args.run)
        load(entry)  # a clear error for a missing or damaged file
        if entry.resolve().parent.parent != (root / HISTORY_DIR).resolve():
            raise ResultsFileError(f"{entry}: not a run kept in {HISTORY_DIR}/<machine>/;"
                                   " name one of those files (or 'latest')")
    marker = history.set_baseline(entry)
    print(f"repro: {entry.name} is now the baseline of machine {entry.parent.name} ({marker})")
    return 0


def cmd_sweep(args, pytest_args: list[str]) -> int:
    root = project_root()
    out = Path(args.out) if args.out else root / SWEEP_DIR
    if args.scheduler and not has_distributed("repro sweep"):
        return 2
    return sweep(root, out.resolve(), args.seeds, pytest_args, args.jobs,
                 paths=args.paths or ["claims"], scheduler=args.scheduler,
                 allow_mixed=args.allow_mixed_commits, task_timeout=args.task_timeout)


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise ValueError(text)
    return value


def check_sweep_seeds(parser: argparse.ArgumentParser, args) -> None:
    """Replace ``args.seeds`` by the list it names, or stop with a usage error (exit 2)."""
    try:
        seeds = parse_seeds(args.seeds, args.max_seeds)
    except ValueError as err:
        parser.error(f"--seeds: {err}")
    if len(seeds) < 2:
        parser.error(f"--seeds: a sweep compares verdicts across base seeds; {args.seeds!r} "
                     "names one (run pytest claims/ --seed S for a single seed)")
    args.seeds = seeds


def cmd_mutants(args) -> int:
    root = project_root()
    out = root / MUTANTS_DIR / utc_now().replace(":", "")
    try:
        previous = None
        if args.survivors:
            previous = mutants.latest(root)
            if previous is None:
                raise mutants.MutantsError("--survivors: no repro mutants result is kept yet")
        result = mutants.run(root, out, args.minutes, args.jobs, args.sample_seed, args.names,
                             previous)
    except mutants.MutantsError as err:
        print(f"repro: error: {err}", file=sys.stderr)
        return 2
    print(mutants.as_text(result))
    print(f"repro: wrote {out / 'mutants.json'}; `repro report` shows it")
    if result["interrupted"]:
        return 130
    return 0 if result["mutmut_exit"] == 0 else 1


def positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise ValueError(text)
    return value


def cmd_compare(args) -> int:
    earlier, later = (resolve_results(p) for p in (args.earlier, args.later))
    diff = compare(load(earlier), load(later))
    print(compare_text(diff, str(earlier), str(later)))
    return 1 if diff["flipped"] else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="repro", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    rep = sub.add_parser("report", help="run the claims and write an HTML report")
    rep.add_argument("--out", metavar="DIR", help=f"output folder (default {OUT}/)")
    rep.add_argument("--from", dest="from_", metavar="RESULTS_JSON", nargs="+",
                     help="rebuild the HTML from an existing results.json (or a folder holding "
                          "one, or 'latest': the newest pytest run under report/out/runs/); "
                          "runs nothing. Several files are merged into one report (each test "
                          f"from the run that ran it; default --out {OUT}/merged/)")
    rep.add_argument("--no-reuse", action="store_true",
                     help="run every claim module, even those whose sources, data, arguments "
                          "and versions are unchanged since a kept run (also implied by "
                          "--no-cache among the pytest arguments)")
    rep.add_argument("--allow-mixed-commits", action="store_true",
                     help="with several --from files or --scheduler: merge runs of different "
                          "commits (or, on a cluster, uncommitted changes or library versions)")
    rep.add_argument("--scheduler", metavar="ADDRESS",
                     help="run each claim module (with --runslow: and its slow tier) as a task "
                          "of a Dask cluster (a scheduler's address, or local[:N]) and merge "
                          "them into one report naming each task's worker")
    rep.add_argument("--task-timeout", type=positive_float, metavar="SECONDS",
                     help="with --scheduler: kill a task's pytest after SECONDS (default 3600)")
    swp = sub.add_parser("sweep", help="run the claims at several base seeds and compare the "
                                       "claim and part verdicts (exit 1 if any differs)")
    swp.add_argument("paths", nargs="*", metavar="PATH",
                     help="claim modules or folders to sweep (default claims/)")
    swp.add_argument("--seeds", default="0-19,100",
                     help="base seeds, e.g. 0-19,100 (the default)")
    swp.add_argument("--jobs", type=positive_int, default=1,
                     help="pytest runs at once (each uses one torch thread)")
    swp.add_argument("--scheduler", metavar="ADDRESS",
                     help="run each seed as a task of a Dask cluster: the address of a running "
                          "`dask scheduler` (tcp://host:port), or local[:N] for a LocalCluster "
                          "of N worker processes on this machine; needs the `cluster` extra")
    swp.add_argument("--allow-mixed-commits", action="store_true",
                     help="with --scheduler: merge results of workers whose commit, uncommitted "
                          "changes or library versions differ from this checkout's")
    swp.add_argument("--task-timeout", type=positive_float, metavar="SECONDS",
                     help="with --scheduler: kill a seed's pytest run after SECONDS and report "
                          "the seed as not run (default 3600)")
    swp.add_argument("--max-seeds", type=positive_int, default=MAX_SEEDS, metavar="N",
                     help=f"refuse --seeds naming more than N seeds (default {MAX_SEEDS})")
    swp.add_argument("--out", metavar="DIR",
                     help="folder for seed-S.json, seed-S.log and sweep.json "
                          f"(default {OUT}/sweep/)")
    cmp = sub.add_parser("compare", help="what changed between two runs' results: flipped "
                                         "verdicts (exit 1), checks, intervals, margins, "
                                         "environment")
    cmp.add_argument("earlier", help="the earlier results.json (or its folder, or 'latest')")
    cmp.add_argument("later", help="the later results.json (or its folder, or 'latest')")
    base = sub.add_parser("baseline", help="pin a kept run as this machine's baseline: later "
                                           "reports are judged against it until the next "
                                           "`repro baseline` (after an intended change)")
    base.add_argument("run", nargs="?", default="latest",
                      help="a file under report/out/history/<machine>/, or 'latest' (default)")
    sub.add_parser("schema", help="print the JSON Schema every results.json follows (and every "
                                  "reader checks)")
    err = sub.add_parser("errata", help="write the correction sheet of a run: per document and "
                                        "section, each misprint and each sentence that does not "
                                        "hold, in the catalogue's words (errata.md, errata.html)")
    err.add_argument("--from", dest="from_", metavar="RESULTS_JSON",
                     help=f"the run's results.json, its folder, or 'latest' (default "
                          f"{OUT}/results.json, the last `repro report`)")
    err.add_argument("--out", metavar="DIR", help="output folder (default: the results' folder, "
                                                  "beside its index.html)")
    mut = sub.add_parser("mutants", help="mutate reproductions/ with mutmut and count the "
                                         "mutants the claim modules catch (a sample sized to "
                                         "--minutes)")
    mut.add_argument("names", nargs="*", metavar="NAME",
                     help="judge these mutants (mutmut names, globs allowed) instead of a sample")
    mut.add_argument("--survivors", action="store_true",
                     help="judge the newest result's survivors again on the current tree (after "
                          "a check was strengthened), keeping its other mutants' outcomes")
    mut.add_argument("--minutes", type=positive_float, default=mutants.DEFAULT_MINUTES,
                     help=f"wall-time budget the sample is sized to (default "
                          f"{mutants.DEFAULT_MINUTES:g})")
    mut.add_argument("--jobs", type=positive_int, default=os.cpu_count() or 1,
                     help="mutants judged at once (default: every core)")
    mut.add_argument("--sample-seed", type=int, default=0,
                     help="seed of the random sample (default 0)")
    args, rest = parser.parse_known_args(argv)
    # Only `report` (when it runs the claims) and `sweep` pass the rest to pytest, which rejects
    # what it does not know; elsewhere an unknown argument is a usage error, never ignored.
    runs_pytest = args.command == "sweep" or (args.command == "report" and not args.from_)
    if rest and not runs_pytest:
        parser.error(f"unrecognized arguments for repro {args.command}: {' '.join(rest)}")
    if rest and rest[0] == "--":
        rest = rest[1:]
    if args.command == "sweep":
        check_sweep_seeds(sub.choices["sweep"], args)
    try:
        if args.command == "compare":
            return cmd_compare(args)
        if args.command == "baseline":
            return cmd_baseline(args)
        if args.command == "mutants":
            return cmd_mutants(args)
        if args.command == "errata":
            return cmd_errata(args)
        if args.command == "schema":
            print(json.dumps(RESULTS, indent=1))
            return 0
        return cmd_sweep(args, rest) if args.command == "sweep" else cmd_report(args, rest)
    except ResultsFileError as err:
        print(f"repro: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
