"""Merging runs: each test from the run that ran it, parts judged again, runs of different
commits refused unless asked, and the command writes one report from several files."""

import json

import pytest

from optclaims_report import cli
from optclaims_report.evidence import Evidence
from optclaims_report.merge import merge
from optclaims_report.results import ResultsFileError, build_results, write_atomic

PARTS = [{"id": "small", "role": "effect", "statement": "s", "source": "x"},
         {"id": "big", "role": "scope", "statement": "s", "source": "x"}]


def record(name, tier, ran, value=2.0, claim="toy", part="small"):
    sink = []
    if ran:
        Evidence(sink).check(f"{name} value", value, ">", 1.0)
    return {"nodeid": f"claims/test_{claim}.py::{name}", "line": 1,
            "outcome": "passed" if ran else "skipped", "exc_type": None,
            "skip_kind": None if ran else "tier", "message": "" if ran else "needs --runslow",
            "duration_s": 1.0, "doc": "", "tier": tier, "part": part, "benchmark": False,
            "xfail_reason": None, "properties": sink,
            "claim": {"id": claim, "title": claim, "statement": "s", "sources": ["x"],
                      "module": f"claims/test_{claim}.py", "parts": PARTS}}


def run(records, commit="abc123", written="2026-01-01T00:00:00Z", markexpr=None, modules=1):
    env = {"git_commit": commit, "written_utc": written, "cpu": "cpu", "platform": "x86_64",
           "selection": {"markexpr": markexpr, "keyword": None, "partial": bool(markexpr),
                         "claim_modules_run": modules, "claim_modules_in_suite": 1}}
    return build_results(records, [], env, [])


def default_and_slow():
    default = run([record("test_small", "default", True), record("test_big", "slow", False,
                                                                  part="big")])
    slow = run([record("test_big", "slow", True, value=3.0, part="big")], markexpr="slow",
               written="2026-01-02T00:00:00Z")
    return default, slow


def test_each_test_comes_from_the_run_that_ran_it_and_parts_are_judged_again():
    default, slow = default_and_slow()
    assert {p["id"]: p["verdict"] for p in default["claims"][0]["parts"]}["big"] == "outside_run"
    merged = merge([("default.json", default), ("slow.json", slow)])
    (claim,) = merged["claims"]
    assert {p["id"]: p["verdict"] for p in claim["parts"]} == {"small": "reproduced",
                                                                "big": "reproduced"}
    assert {t["name"]: t["run"] for t in claim["tests"]} == {"test_small": 0, "test_big": 1}
    assert sorted(k["name"] for k in claim["checks"]) == ["test_big value", "test_small value"]
    assert claim["tiers"] == ["default", "slow"]
    origins = merged["environment"]["merged_from"]
    assert [o["tiers"] for o in origins] == [["default"], ["slow"]]
    assert not merged["environment"]["selection"]["partial"]


def test_a_test_that_ran_in_two_runs_is_taken_from_the_later_one():
    early = run([record("test_small", "default", True, value=2.0)], written="2026-01-01T00:00Z")
    late = run([record("test_small", "default", True, value=5.0)], written="2026-01-03T00:00Z")
    for order in ([("e", early), ("l", late)], [("l", late), ("e", early)]):
        (claim,) = merge(order)["claims"]
        (check,) = claim["checks"]
        assert check["value"] == 5.0 and claim["tests"][0]["ran_in_runs"] == 2


def test_runs_of_different_commits_are_refused_unless_allowed():
    default, slow = default_and_slow()
    slow["environment"]["git_commit"] = "def456"
    with pytest.raises(ResultsFileError, match="different commits.*--allow-mixed-commits"):
        merge([("default.json", default), ("slow.json", slow)])
    merged = merge([("default.json", default), ("slow.json", slow)], allow_mixed_commits=True)
    assert {t["commit"] for t in merged["claims"][0]["tests"]} == {"abc123", "def456"}


def test_shards_of_one_run_merge_into_every_claim():
    a = run([record("test_small", "default", True, claim="one")], modules=1)
    b = run([record("test_small", "default", True, claim="two")], modules=1)
    for r in (a, b):
        r["environment"]["selection"]["claim_modules_in_suite"] = 2
    merged = merge([("a.json", a), ("b.json", b)])
    assert [c["id"] for c in merged["claims"]] == ["one", "two"]
    assert merged["totals"]["claims"]["reproduced"] == 2
    assert not merged["environment"]["selection"]["partial"]


def test_the_command_merges_files_into_one_report(tmp_path, capsys):
    default, slow = default_and_slow()
    files = [write_atomic(default, tmp_path / "d.json"), write_atomic(slow, tmp_path / "s.json")]
    out = tmp_path / "merged"
    assert cli.main(["report", "--from", *map(str, files), "--out", str(out)]) == 0
    merged = json.loads((out / "results.json").read_text())
    assert [p["verdict"] for p in merged["claims"][0]["parts"]] == ["reproduced", "reproduced"]
    html = (out / "index.html").read_text()
    assert "2 merged runs" in html and "run #1" in html
    assert "run 1: " in capsys.readouterr().out


def test_the_command_refuses_mixed_commits_in_one_line(tmp_path, capsys):
    default, slow = default_and_slow()
    slow["environment"]["git_commit"] = "def456"
    files = [write_atomic(default, tmp_path / "d.json"), write_atomic(slow, tmp_path / "s.json")]
    assert cli.main(["report", "--from", *map(str, files), "--out", str(tmp_path / "m")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "different commits" in err
