"""The report builder and the results store, on fixed inputs."""

import json
import math
from markupsafe import escape

import pytest

from optclaims_report import cli
from optclaims_report.build import render, seed_ranges, write_report
from optclaims_report.evidence import (Evidence, Inconclusive, figure, fmt, interval_status,
                                       paper, seed_interval)
from optclaims_report.results import (ResultsFileError, build_results, load, pair_benchmarks,
                                      write_atomic)

EVIL = "<script>alert('x')</script>"


PARTS = [{"id": "effect", "role": "effect", "statement": "It holds.", "source": "p. 1"},
         {"id": "gap", "role": "scope", "statement": "It is large.", "source": "p. 2"}]


def record(name, outcome, props, part="effect", claim_id="c1", title="Claim one", exc=None,
           tier="default"):
    return {"nodeid": f"claims/test_c.py::{name}", "outcome": outcome, "exc_type": exc,
            "message": "", "duration_s": 0.5, "doc": "", "tier": tier, "part": part,
            "claim": {"id": claim_id, "title": title, "statement": "It holds.",
                      "sources": ["A paper, 2020"], "module": "claims/test_c.py",
                      "parts": PARTS},
            "properties": props}


def checks(*triples):
    sink = []
    ev = Evidence(sink)
    for name, value, bound in triples:
        ev.check(name, value, ">", bound, paper(2.0, "Table 1"))
    return sink


@pytest.fixture
def results():
    tests = [
        record("test_a", "passed", checks(("m", 3.0, 1.0)) + [("optclaims.seeds", {"seeds": [0, 1, 2, 5]})]),
        record("test_b", "xfailed", checks(("gap", 0.1, 1.0)), part="gap", exc="AssertionError"),
        record("test_evil", "passed", checks(("e", float("inf"), 1.0)), claim_id="evil", title=EVIL),
        {"nodeid": "tests/test_unit.py::test_u", "outcome": "passed", "claim": None,
         "tier": "default", "properties": []},
    ]
    benches = [{"name": "naive", "group": "g", "claim": "c1", "median_s": 2.0, "units": 1},
               {"name": "fast", "group": "g", "claim": "c1", "median_s": 1.0, "units": 10,
                "baseline": "naive"}]
    return build_results(tests, benches, {"python": "3.x", "seed": 0, "argv": []})


def test_claims_are_grouped_with_their_parts_and_verdicts(results):
    by_id = {c["id"]: c for c in results["claims"]}
    c1 = by_id["c1"]
    assert c1["verdict"] == "partly_reproduced" and c1["seeds"] == [0, 1, 2, 5]
    assert {p["id"]: p["verdict"] for p in c1["parts"]} == {
        "effect": "reproduced", "gap": "known_non_reproduction"}
    assert [c["status"] for c in c1["checks"]] == ["held", "failed"]
    assert [c["part"] for c in c1["checks"]] == ["effect", "gap"]
    assert results["totals"]["tests"] == 4
    assert results["totals"]["checks_by_status"] == {"held": 2, "failed": 1, "inconclusive": 0}
    assert results["totals"]["parts"]["reproduced"] == 1 + 1  # c1's effect, evil's effect


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
    with pytest.raises(ResultsFileError, match="no such results file.*repro report"):
        load(tmp_path / "results.json")


@pytest.mark.parametrize("content, says", [
    ('{"version": 2, "claims": [', "truncated"),
    ("hello", "not valid JSON"),
    ("[1, 2]", "not a results file"),
    ('{"version": 1}', "results version 1"),
])
def test_report_from_a_bad_file_names_it_and_exits_2_without_a_traceback(tmp_path, capsys,
                                                                        content, says):
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    assert cli.main(["report", "--from", str(bad)]) == 2
    err = capsys.readouterr().err
    assert str(bad) in err and says in err and "Traceback" not in err
    assert not (tmp_path / "index.html").exists()


def test_html_escapes_a_hostile_title(results):
    html = render(results)
    assert EVIL not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html


HOSTILE = ["<script>alert(1)</script>", '"><img src=x onerror=alert(1)>']


def poison(x, evil):
    """Every string of a results tree replaced by ``evil`` (keys and numbers kept)."""
    if isinstance(x, dict):
        return {k: (x[k] if k in ("status", "verdict", "role", "outcome", "kind", "op", "png")
                    else poison(v, evil)) for k, v in x.items()}
    if isinstance(x, list):
        return [poison(v, evil) for v in x]
    return evil if isinstance(x, str) else x


@pytest.mark.parametrize("evil", HOSTILE)
def test_every_string_that_reaches_the_html_is_escaped(results, evil):
    """Claim text, part statements, test messages, check names, parameter values and paths,
    the environment: each replaced by a hostile string, which must come out as text."""
    results["claims"][0]["checks"].append({"name": "n", "value": "v", "op": "in", "bound": [0, 1],
                                           "reference": {"kind": "paper", "value": 1,
                                                         "where": "w"}, "remark": "r",
                                           "status": "held", "passed": True, "seeds": None,
                                           "test": "test_a", "part": "effect", "tier": "t"})
    results["claims"][0]["configurations_tried"] = [{"configuration": "c", "outcome": "o",
                                                     "kept": False}]
    results["planted_bugs"] = [{"bug": "b", "claim": "c", "what": "w", "expected_part": "p",
                                "caught": True, "direct": True,
                                "caught_by": [{"part": "p", "check": "c", "status": "failed"}]}]
    results["totals"]["planted_bugs"] = {"planted": 1, "caught": 1, "caught_directly": 1}
    results["environment"].update(argv=["-k", "x"], platform="p", cpu="c", torch="t")
    html = render(poison(results, evil))
    assert evil not in html
    assert html.count(str(escape(evil))) > 20


def test_html_shows_parts_checks_bounds_references_and_speedup(results):
    html = render(results)
    for text in ("partly reproduced", "known non-reproduction", "&gt; 1", "0\u20132, 5",
                 "20\u00d7", "A paper, 2020", "Python 3.x", "(paper: Table 1)", "It is large.",
                 "remark: 0.05\u00d7 the paper value 2 (Table 1)"):
        assert text in html, text


def test_html_shows_a_seed_statistic_with_its_interval_and_per_seed_values(results):
    sink = []
    Evidence(sink).check_seeds("ratio", [1.5, 1.6, 1.4, 1.7, 1.55], "median", ">=", 1.0,
                               seeds=range(10, 15), reference=figure(2.0, "Fig. 5"))
    results["claims"][0]["checks"].append(dict(sink[0][1], test="test_a", part="effect",
                                               tier="default"))
    html = render(results)
    assert "median over 5 seeds (10\u201314): [1.5, 1.6, 1.4, 1.7, 1.55]" in html
    assert "(figure: Fig. 5)" in html


def test_html_embeds_figures(results):
    results["claims"][0]["figures"] = [{"name": "f", "caption": "cap", "png": "QUJD", "test": "t"}]
    assert 'src="data:image/png;base64,QUJD"' in render(results)


def test_a_figures_plotted_numbers_are_downloadable_beside_it(results):
    import base64

    from matplotlib.figure import Figure
    sink = []
    fig = Figure()
    ax = fig.add_subplot()
    ax.plot([1, 2, 3], [0.5, float("nan"), 0.1], label="depth 2")
    ax.axhline(1.0)
    ax.set_yscale("log")
    Evidence(sink).figure("curve", fig, "a curve")
    payload = dict(sink[0][1], test="t")
    (panel,) = payload["data"]
    assert panel["yscale"] == "log" and len(panel["series"]) == 1
    results["claims"][0]["figures"] = [payload]
    html = render(results)
    uri = html.split('download="c1-curve.json" href="data:application/json;base64,')[1]
    data = json.loads(base64.b64decode(uri.split('"')[0]))
    assert data[0]["series"][0] == {"kind": "line", "label": "depth 2", "x": [1.0, 2.0, 3.0],
                                    "y": [0.5, "nan", 0.1]}


def test_a_cited_paper_is_linked(results):
    results["claims"][0]["sources"] = ["Arora, Cohen, Hazan, ICML 2018, Section 7"]
    assert 'href="https://arxiv.org/abs/1802.06509"' in render(results)


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


def test_evidence_records_every_check_then_fails_with_all_of_them():
    sink = []
    ev = Evidence(sink)
    assert ev.check("x", 0.5, "in", (0, 1))
    assert not ev.check("y", float("nan"), "<", 1)   # NaN fails every comparison
    assert not ev.check("w", 3, "<", 1)
    assert [p["status"] for _, p in sink] == ["held", "failed", "failed"]
    with pytest.raises(AssertionError, match=r"(?s)2 of the test's checks.*y: nan is not < 1.*"
                                             r"w: 3 is not < 1"):
        ev.finish()
    with pytest.raises(ValueError):
        ev.check("z", 1, "~", 1)


def test_a_reference_must_say_its_kind():
    with pytest.raises(TypeError, match="what kind of value"):
        Evidence([]).check("x", 1, ">", 0, 1.0)
    with pytest.raises(ValueError, match="reference kind"):
        paper(1, "p. 1").__class__("guess", 1, "")


def test_only_straddling_intervals_make_a_test_inconclusive():
    ev = Evidence([])
    ev.check_seeds("r", [0.5, 1.6, 0.4, 1.7, 1.05], "median", ">=", 1.0, seeds=range(5))
    with pytest.raises(Inconclusive, match=r"straddles >= 1"):
        ev.finish()
    ev.check("plain", 0, ">", 1)
    with pytest.raises(AssertionError):
        ev.finish()


@pytest.mark.parametrize("op, bound, point, low, high, expected", [
    (">=", 1.0, 1.5, 1.2, 1.8, "held"),
    (">=", 1.0, 1.5, 0.9, 1.8, "inconclusive"),
    (">=", 1.0, 0.5, 0.2, 0.8, "failed"),
    ("<", 0.5, 0.4, 0.3, 0.52, "inconclusive"),
    ("in", (0.8, 1.25), 1.0, 0.9, 1.1, "held"),
    ("in", (0.8, 1.25), 1.2, 1.1, 1.3, "inconclusive"),
    ("in", (0.8, 1.25), 1.5, 1.3, 1.7, "failed"),
    ("==", 1.0, 1.0, 1.0, 1.0, "held"),
    ("==", 1.0, 0.95, 0.85, 1.0, "inconclusive"),
    (">", 0.0, float("nan"), float("nan"), float("nan"), "failed"),
])
def test_interval_status(op, bound, point, low, high, expected):
    assert interval_status(op, bound, point, low, high) == expected


def test_seed_interval_is_scipys_bootstrap_and_is_repeatable():
    values = [1.2, 1.9, 1.4, 1.7, 1.3, 1.6, 1.5]
    lo, hi = seed_interval(values, "median")
    assert lo < 1.5 < hi and (lo, hi) == seed_interval(values, "median")
    assert seed_interval([2.0, 2.0, 2.0], "median") == (2.0, 2.0)
    assert seed_interval([True] * 19 + [False], "fraction")[1] == 1.0
    lo, hi = seed_interval([1.0, float("inf"), 2.0, float("inf"), 3.0], "median")
    assert 1.0 <= lo and hi == float("inf")
    lo, hi = seed_interval([1.0, 2.0, 4.0, 8.0], "gmean")
    assert lo < 8 ** 0.5 < hi
