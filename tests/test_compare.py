"""repro compare: what changed between two runs."""

import json

import pytest

from optclaims_report import cli
from optclaims_report.compare import compare, margin


def run(verdict="reproduced", value=2.0, interval=(1.8, 2.2), torch="2.13.0"):
    check = {"test": "test_effect", "name": "ratio", "value": value, "op": ">=", "bound": 1.0,
             "status": "held" if interval[0] >= 1.0 else "failed", "part": "more",
             "seeds": {"interval": list(interval)}}
    parts = [{"id": "more", "role": "effect", "statement": "s", "verdict": verdict},
             {"id": "big", "role": "scope", "statement": "s", "verdict": "outside_run"}]
    return {"version": 2, "environment": {"torch": torch, "git_commit": "abc"}, "totals": {},
            "claims": [{"id": "toy", "title": "Toy", "verdict": verdict, "parts": parts,
                        "checks": [check], "tests": [], "records": [], "notes": [],
                        "figures": []}]}


def test_margin_is_the_interval_end_nearest_the_bound_over_the_bound():
    check = {"op": ">=", "bound": 1.0, "value": 2.0, "seeds": {"interval": [1.5, 2.5]}}
    assert margin(check) == pytest.approx(1.5)
    assert margin(dict(check, op="<=", bound=4.0)) == pytest.approx(4.0 / 2.5)
    assert margin(dict(check, op="==")) is None
    assert margin({"op": ">", "bound": 0.0, "value": 1.0}) is None
    assert margin({"op": ">=", "bound": 1.0, "value": 1.0,
                   "seeds": {"statistic": "fraction", "interval": [1.0, 1.0]}}) is None


def test_identical_runs_differ_in_nothing():
    diff = compare(run(), run())
    assert not any(diff[k] for k in ("flipped", "not_comparable", "status_changed",
                                     "left_interval", "margin_shrunk", "environment"))


def test_a_flipped_verdict_and_the_check_behind_it_are_reported():
    diff = compare(run(), run("not_reproduced", 0.9, (0.8, 1.0)))
    assert {d["what"] for d in diff["flipped"]} == {"claim toy", "part toy / more"}
    assert diff["status_changed"][0]["later"] == "failed"
    assert diff["left_interval"][0]["later"] == 0.9


def test_a_part_judged_in_one_run_only_is_not_a_flip():
    later = run()
    later["claims"][0]["parts"][1]["verdict"] = "reproduced"
    diff = compare(run(), later)
    assert not diff["flipped"] and diff["not_comparable"][0]["what"] == "part toy / big"


def test_a_shrinking_margin_and_an_environment_change_are_reported():
    diff = compare(run(value=3.0, interval=(2.8, 3.2)), run(value=1.3, interval=(1.2, 1.4),
                                                            torch="2.14.0"))
    assert diff["margin_shrunk"] and diff["environment"]["torch"] == ("2.13.0", "2.14.0")
    assert not diff["flipped"]


def test_the_command_exits_1_on_a_flip_and_0_otherwise(tmp_path, capsys):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text(json.dumps(run()))
    b.write_text(json.dumps(run("not_reproduced", 0.9, (0.8, 1.0))))
    assert cli.main(["compare", str(a), str(b)]) == 1
    assert "VERDICT FLIPPED (2)" in capsys.readouterr().out
    assert cli.main(["compare", str(a), str(a)]) == 0
    assert "none flipped" in capsys.readouterr().out



def test_a_document_sentence_whose_verdict_flips_is_reported():
    earlier, later = run(), run()
    earlier["catalogue"] = {"entries": [{"id": "two-more", "verdict": "reproduced"},
                                        {"id": "untested", "verdict": "not_covered"}]}
    later["catalogue"] = {"entries": [{"id": "two-more", "verdict": "contradictory"},
                                      {"id": "untested", "verdict": "not_covered"}]}
    assert [d["what"] for d in compare(earlier, later)["flipped"]] == ["sentence two-more"]
