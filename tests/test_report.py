"""The report builder and the results store, on fixed inputs."""

import json
import math

import pytest

from optclaims_report import cli
from optclaims_report.build import render, seed_ranges, write_report
from optclaims_report.evidence import Evidence, fmt
from optclaims_report.results import (build_results, claim_verdict, load, pair_benchmarks,
                                      write_atomic)

EVIL = "<script>alert('x')</script>"


def record(name, outcome, props, claim_id="c1", title="Claim one", exc=None, tier="default"):
    return {"nodeid": f"claims/test_c.py::{name}", "outcome": outcome, "exc_type": exc,
            "message": "", "duration_s": 0.5, "doc": "", "tier": tier,
            "claim": {"id": claim_id, "title": title, "statement": "It holds.",
                      "sources": ["A paper, 2020"], "module": "claims/test_c.py"},
            "properties": props}


def checks(*triples):
    sink = []
    ev = Evidence(sink)
    for name, value, bound in triples:
        try:
            ev.check(name, value, ">", bound, paper=2.0)
        except AssertionError:
            pass
    return sink


@pytest.fixture
def results():
    tests = [
        record("test_a", "passed", checks(("m", 3.0, 1.0)) + [("optclaims.seeds", {"seeds": [0, 1, 2, 5]})]),
        record("test_b", "xfailed", checks(("gap", 0.1, 1.0))),
        record("test_evil", "passed", checks(("e", float("inf"), 1.0)), claim_id="evil", title=EVIL),
        {"nodeid": "tests/test_unit.py::test_u", "outcome": "passed", "claim": None,
         "tier": "default", "properties": []},
    ]
    benches = [{"name": "naive", "group": "g", "claim": "c1", "median_s": 2.0, "units": 1},
               {"name": "fast", "group": "g", "claim": "c1", "median_s": 1.0, "units": 10,
                "baseline": "naive"}]
    return build_results(tests, benches, {"python": "3.x", "seed": 0, "argv": []})


def test_claims_are_grouped_with_their_verdicts(results):
    by_id = {c["id"]: c for c in results["claims"]}
    assert by_id["c1"]["verdict"] == "reproduced" and by_id["c1"]["seeds"] == [0, 1, 2, 5]
    assert [c["passed"] for c in by_id["c1"]["checks"]] == [True, False]
    assert results["totals"]["tests"] == 4 and results["totals"]["checks_failed"] == 1


@pytest.mark.parametrize("verdicts, n_passed, expected", [
    (["reproduced", "not_reproduced_expected"], 1, "reproduced"),
    (["reproduced", "not_reproduced"], 1, "not_reproduced"),
    (["reproduced", "error", "not_reproduced"], 1, "error"),
    (["not_reproduced_expected", "skipped"], 0, "not_reproduced_expected"),
    (["skipped"], 0, "skipped"),
    (["reproduced"], 0, "error"),  # passed, but nothing was checked
])
def test_claim_verdict_rules(verdicts, n_passed, expected):
    assert claim_verdict([{"verdict": v} for v in verdicts], n_passed) == expected


def test_speedup_is_per_unit_of_work():
    (naive, fast) = pair_benchmarks([
        {"name": "naive", "claim": "c", "median_s": 2.0, "units": 1},
        {"name": "fast", "claim": "c", "median_s": 1.0, "units": 10, "baseline": "naive"}])
    assert naive["speedup"] is None and fast["speedup"] == pytest.approx(20.0)


def test_write_atomic_is_strict_json_and_leaves_no_temp_file(results, tmp_path):
    path = write_atomic(results, tmp_path / "out" / "results.json")
    text = path.read_text()
    json.loads(text, parse_constant=lambda c: pytest.fail(f"non-standard JSON constant {c}"))
    assert '"value": "inf"' in text
    assert [p.name for p in path.parent.iterdir()] == ["results.json"]
    assert load(path)["claims"][0]["id"] == results["claims"][0]["id"]


def test_load_refuses_a_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="repro report"):
        load(tmp_path / "results.json")


def test_html_escapes_a_hostile_title(results):
    html = render(results)
    assert EVIL not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html


def test_html_shows_checks_bounds_paper_and_speedup(results):
    html = render(results)
    for text in ("reproduced", "known non-reproduction", "&gt; 1", "0\u20132, 5", "20\u00d7",
                 "A paper, 2020", "Python 3.x"):
        assert text in html, text


def test_html_embeds_figures(results):
    results["claims"][0]["figures"] = [{"name": "f", "caption": "cap", "png": "QUJD", "test": "t"}]
    assert 'src="data:image/png;base64,QUJD"' in render(results)


def test_repro_report_from_rebuilds_without_running(results, tmp_path, capsys):
    path = write_atomic(results, tmp_path / "results.json")
    assert cli.main(["report", "--from", str(path)]) == 0
    assert "Claim one" in (tmp_path / "index.html").read_text()


def test_write_report_replaces_the_page(results, tmp_path):
    write_report(results, tmp_path)
    results["claims"][0]["title"] = "Renamed"
    assert "Renamed" in write_report(results, tmp_path).read_text()


def test_seed_ranges():
    assert seed_ranges([3, 0, 1, 2, 7, 9, 10]) == "0\u20133, 7, 9\u201310"
    assert seed_ranges([]) == ""


def test_fmt_keeps_small_and_nonfinite_numbers_readable():
    assert fmt(5.5e-15) == "5.5e-15" and fmt(math.inf) == "inf" and fmt(0.85235) == "0.8524"


def test_evidence_check_asserts_and_records():
    sink = []
    ev = Evidence(sink)
    ev.check("x", 0.5, "in", (0, 1))
    with pytest.raises(AssertionError, match=r"y: nan is not < 1"):
        ev.check("y", float("nan"), "<", 1)
    assert [p["passed"] for _, p in sink] == [True, False]
    with pytest.raises(ValueError):
        ev.check("z", 1, "~", 1)
