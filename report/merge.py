"""Several runs' results as one: the default tier from here, the slow tier from last night, the
gpu tier from a GPU machine, or shards of one run split with pytest's own selection.

Each test is taken from the run that actually ran it: a run where it passed, failed or was a
known non-reproduction beats one where it was outside the run (another tier, deselected) or not
run. When several runs ran the same test, the latest (by when its results were written) wins, and
the report says so. Every test keeps the index of the run it came from, and the merged
environment lists the runs (file, commit, machine, versions, when, selection). Parts and claims
are judged again from the merged tests with the usual rules.

Runs of different commits measure different code; merging them is refused unless asked for
(``allow_mixed_commits``), and then each test still names its run's commit.
"""

from __future__ import annotations

from .history import fingerprint
from .results import ResultsFileError, assemble, judge, pair_benchmarks

NOT_RAN = ("outside_run", "not_run")


def origin(index: int, source: str, results: dict) -> dict:
    env = results.get("environment", {})
    sel = env.get("selection") or {}
    tiers = sorted({t["tier"] for c in results["claims"] for t in c["tests"]
                    if t["verdict"] not in NOT_RAN})
    return {"run": index, "file": source, "commit": env.get("git_commit"),
            "dirty": env.get("git_dirty"), "machine": fingerprint(env), "cpu": env.get("cpu"),
            "gpu": env.get("gpu"), "torch": env.get("torch"), "python": env.get("python"),
            "started_utc": env.get("started_utc"), "written_utc": env.get("written_utc"),
            "keyword": sel.get("keyword"), "markexpr": sel.get("markexpr"), "tiers": tiers}


def check_commits(origins: list[dict], allow_mixed_commits: bool) -> None:
    commits = {o["commit"] for o in origins}
    if len(commits) > 1 and not allow_mixed_commits:
        listed = ", ".join(f"{o['file']} at {(o['commit'] or 'no commit')[:10]}" for o in origins)
        raise ResultsFileError(f"these runs measured different commits ({listed}); merging "
                               "them mixes two versions of the code. Re-run one side at the "
                               "other's commit, or pass --allow-mixed-commits to merge anyway "
                               "(each test then names its run's commit)")


def _rank(test: dict, written: str) -> tuple:
    return (test["verdict"] not in NOT_RAN, written or "")


def merge_claim(versions: list[tuple[int, dict]], origins: list[dict]) -> dict:
    """One claim from its versions in several runs: each test from the run that ran it."""
    latest = versions[-1][1]   # the claim's title, statement and parts as the last run had them
    chosen: dict[str, tuple[int, dict]] = {}
    for index, claim in versions:
        for test in claim["tests"]:
            held = chosen.get(test["nodeid"])
            if held is None or _rank(test, origins[index]["written_utc"]) >= _rank(
                    held[1], origins[held[0]]["written_utc"]):
                chosen[test["nodeid"]] = (index, test)
    by_index = dict(versions)
    merged = {k: v for k, v in latest.items()
              if k not in ("checks", "records", "notes", "figures", "cache", "readings", "tests")}
    merged["parts"] = [dict(p) for p in latest["parts"]]
    merged.update(checks=[], records=[], notes=[], figures=[], cache=[], readings=[], tests=[],
                  tiers=[], duration_s=0.0,
                  seeds=sorted({s for _, c in versions for s in c["seeds"]}))
    for nodeid, (index, test) in chosen.items():
        source = by_index[index]
        ran_in = sum(any(t["nodeid"] == nodeid and t["verdict"] not in NOT_RAN
                         for t in c["tests"]) for _, c in versions)
        merged["tests"].append(dict(test, run=index, commit=origins[index]["commit"],
                                    ran_in_runs=ran_in))
        for kind in ("checks", "records", "notes", "figures", "cache", "readings"):
            merged[kind] += [dict(x, run=index) for x in source.get(kind, [])
                             if x.get("test") == test["name"]]
        merged["duration_s"] += test["duration_s"]
        if test["outcome"] != "skipped" and test["tier"] not in merged["tiers"]:
            merged["tiers"].append(test["tier"])
    judge(merged)
    return merged


def merge(runs: list[tuple[str, dict]], allow_mixed_commits: bool = False) -> dict:
    """``runs``: (file name, results) pairs, in any order. Returns one results dict."""
    origins = [origin(i, source, results) for i, (source, results) in enumerate(runs)]
    check_commits(origins, allow_mixed_commits)
    versions: dict[str, list[tuple[int, dict]]] = {}
    for index, (_, results) in enumerate(runs):
        for claim in results["claims"]:
            versions.setdefault(claim["id"], []).append((index, claim))
    claims = [merge_claim(v, origins) for v in versions.values()]

    benchmarks: dict[tuple, dict] = {}
    for _, results in runs:
        for b in results.get("benchmarks", []):
            key = (b.get("claim"), b["name"])
            if key not in benchmarks or b.get("median_s") is not None:
                benchmarks[key] = b
    planted = {p["bug"]: p for _, results in runs for p in results.get("planted_bugs", [])}
    catalogue = [{k: v for k, v in e.items() if k not in ("verdict", "parts")}
                 for e in max((r.get("catalogue", {}).get("entries", []) for _, r in runs),
                              key=len)]
    environment = dict(runs[-1][1].get("environment", {}), merged_from=origins,
                       selection=merged_selection(runs, claims))
    outcomes: dict[str, int] = {}
    for t in (t for c in claims for t in c["tests"]):
        outcomes[t["outcome"]] = outcomes.get(t["outcome"], 0) + 1
    return assemble(claims, pair_benchmarks(benchmarks.values()), list(planted.values()),
                    environment, catalogue, {"tests": sum(outcomes.values()), "outcomes": outcomes})


def merged_selection(runs: list[tuple[str, dict]], claims: list[dict]) -> dict:
    """Partial when some claim module of the suite ran in none of the runs, or when every run
    was itself a -k/-m selection (so no run covered whole modules)."""
    sels = [r.get("environment", {}).get("selection") or {} for _, r in runs]
    in_suite = max((s.get("claim_modules_in_suite") or 0 for s in sels), default=0)
    modules = {c.get("module") for c in claims if any(t["verdict"] not in NOT_RAN
                                                        for t in c["tests"])}
    selected = all(s.get("keyword") or s.get("markexpr") for s in sels)
    return {"args": [], "keyword": None, "markexpr": None, "deselected_claim_tests": 0,
            "claim_modules_run": len(modules), "claim_modules_in_suite": in_suite,
            "partial": bool(len(modules) < in_suite or selected), "merged": len(runs)}
