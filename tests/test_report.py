"""The report builder and the results store, on fixed inputs."""

import json
import math
import tomllib
from pathlib import Path

from markupsafe import escape

import pytest

from optclaims_report import cli
from optclaims_report.build import render, seed_ranges, write_report
from optclaims_report.evidence import (Evidence, Inconclusive, figure, fmt, interval_status,
                                       paper, seed_interval)
from optclaims_report.results import (NOTES, PAPERS, WHOLE_DOCUMENT, ResultsFileError,
                                      build_results, coverage_by_section, document_and_section,
                                      load, pair_benchmarks, section_names, uncovered_entries,
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


def test_a_check_name_is_used_once_per_test():
    """A check is known by (claim, test, name) in the report, repro compare and the planted-bug
    table: a second check of the same name would hide the first one's outcome."""
    ev = Evidence([])
    ev.check("ratio", 2.0, ">=", 1.0)
    with pytest.raises(ValueError, match="used twice"):
        ev.check("ratio", 2.0, "<=", 3.0)
    with pytest.raises(ValueError, match="used twice"):
        ev.check_seeds("ratio", [1.0, 2.0], "median", "<=", 3.0, seeds=[0, 1])
    ev.check("ratio, the other end", 2.0, "<=", 3.0)


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


# --- The catalogue's coverage per document and section ------------------------------------------

CATALOGUE = Path(__file__).resolve().parents[1] / "claims" / "catalogue.toml"


@pytest.mark.parametrize("source, section", [
    ("notes 000/001 §1.1", "§1.1"),
    ("notes 000/001 §1.2, RMSProp paragraph", "§1.2"),
    ("notes 000 §2, eq. (2) (001 renders it correctly)", "§2"),
    ("notes 000/001 §4, Figure 5 (Algorithm 8.7, 'Require' lines); §1.2 ('recommended "
     "hyperparameters')", "§4"),
    ("notes 000/001 §1.1; slides 002, Information theory point of view", "§1.1"),
    ("notes 000/001 §2.1 (Santurkar et al. 2018)", "§2.1"),
])
def test_notes_sources_are_sectioned_by_their_section_number(source, section):
    assert document_and_section(source) == (NOTES, section)


@pytest.mark.parametrize("source, section", [
    ("notes 000, Figure 5", "Figure 5"),
    ("notes 001, Figure 5", "Figure 5"),
    ("notes 000 and 001, throughout", WHOLE_DOCUMENT),
])
def test_a_notes_source_without_a_section_number_keeps_the_place_it_names(source, section):
    assert document_and_section(source) == (NOTES, section)


@pytest.mark.parametrize("source, title", [
    ("slides 002, 'How to judge if a deep machine learning model is overfitting or not?'",
     "How to judge if a deep machine learning model is overfitting or not?"),
    ("slides 002, 'How to judge ...' (What to do? under Overfitting)", "How to judge ..."),
    ("slides 002, 'SGD with Nesterov's momentum', Algorithm 5 caption",
     "SGD with Nesterov's momentum"),
    ("slides 002, 'Dropout: [Srivastava et al., 2014]' (first bullet)", "Dropout"),
    ("slides 002, 'Adagrad [Duchi et al., 2011]', bullets under eq. (5)", "Adagrad"),
    ("slides 002, 'Other loss functions, other models', eqs. (2) and (3)",
     "Other loss functions, other models"),
    ("slides 002, 'Empirical Risk (again)' (after eq. (4))", "Empirical Risk (again)"),
    ("slides 003, 'Experiment 4 (MNIST Convolutional Network)' (the two 'minor changes') and "
     "its code", "Experiment 4 (MNIST Convolutional Network)"),
])
def test_a_quoted_slide_title_is_the_section_without_its_citation(source, title):
    assert document_and_section(source)[1] == title


@pytest.mark.parametrize("source, title", [
    ("slides 002, Bias/Variance Tradeoff", "Bias/Variance Tradeoff"),
    ("slides 002, Initialization Issues (Saxe et al. 2014)", "Initialization Issues"),
    ("slides 002, Motivation; Momentum", "Motivation"),
    ("slides 002, Nesterov's Momentum", "Nesterov's Momentum"),
    ("slides 002, We need more data! (additive Gaussian noise)", "We need more data!"),
    ("slides 003, Experiment 3, part 2; Arora et al. (2018) §7", "Experiment 3"),
    ("slides 003, Experiment 4 'Result', first bullet", "Experiment 4"),
    ("slides 002, eq. (5)", "eq. (5)"),
    ("slides 002, Algorithms 1-5 (lines 'g_t = grad L_i(...)', 'theta_i = theta_(t-1) - m_t')",
     "Algorithms 1-5"),
])
def test_an_unquoted_slide_title_ends_at_its_first_aside(source, title):
    assert document_and_section(source)[1] == title


def test_each_slide_deck_is_its_own_document():
    assert document_and_section("slides 002, Mixup")[0] == "slides 002"
    assert document_and_section("slides 003, Experiment 1")[0] == "slides 003"


def test_a_slide_source_naming_no_title_is_the_whole_document():
    assert document_and_section("slides 002, throughout") == ("slides 002", WHOLE_DOCUMENT)


@pytest.mark.parametrize("source, section", [
    ("Ioffe & Szegedy (ICML 2015) §3.3: a claim of the paper; slides 002, 'Batch "
     "Normalization', second bullet, allude to it (slides-bn-changes-not-propagated)",
     "Ioffe & Szegedy (ICML 2015) §3.3"),
    ("Reddi, Kale & Kumar (ICLR 2018) §4: a claim of the cited paper; none of the four "
     "documents mentions AMSGrad", "Reddi, Kale & Kumar (ICLR 2018) §4"),
])
def test_a_source_naming_a_paper_is_sectioned_by_the_paper_under_papers(source, section):
    assert document_and_section(source) == (PAPERS, section)


def test_every_catalogue_source_has_a_known_document_and_a_plain_section():
    entries = tomllib.loads(CATALOGUE.read_text(encoding="utf-8"))["claim"]
    for entry in entries:
        document, section = document_and_section(entry["source"])
        assert document in (NOTES, "slides 002", "slides 003", PAPERS), entry["source"]
        assert section == WHOLE_DOCUMENT or (section[0] not in "',;(" and
                                             section[-1] not in ",;"), entry["source"]


def test_spellings_of_one_slide_title_share_its_full_name():
    names = section_names(["How to judge ...", "Vicinal Risk Minimization",
                           "How to judge if a model is overfitting or not?",
                           "Vicinal Risk Minimization (VRM)", "Proposed solution",
                           "Proposed Solution", "eq. (5)", "eq. (6)"])
    assert names["How to judge ..."] == "How to judge if a model is overfitting or not?"
    assert names["Vicinal Risk Minimization (VRM)"] == "Vicinal Risk Minimization"
    assert names["Proposed Solution"] == "Proposed solution"
    assert names["eq. (5)"] == "eq. (5)" and names["eq. (6)"] == "eq. (6)"


def entry(eid, source, verdict, checkable=True, judged_by=("c1/effect",), note=""):
    """A catalogue entry as ``judge_entries`` returns it."""
    return {"id": eid, "source": source, "statement": eid, "checkable": checkable,
            "judged_by": list(judged_by), "note": note, "verdict": verdict}


JUDGED = [
    entry("s1", "slides 002, 'Dropout' (first bullet)", "reproduced"),
    entry("p1", "Wu & He (ECCV 2018) §3.1: a claim of the paper", "not_reproduced"),
    entry("n1", "notes 000/001 §1.2, RMSProp", "reproduced"),
    entry("n2", "notes 000/001 §1.1", "not_checkable", checkable=False, judged_by=()),
    entry("n3", "notes 000 §1.2, last paragraph", "not_covered", judged_by=(),
          note="check: a sweep over learning rates"),
    entry("s2", "slides 002, Dropout", "known_non_reproduction"),
    entry("t1", "slides 003, Experiment 1", "outside_run"),
]


def test_coverage_by_section_counts_statements_checkable_covered_and_verdicts():
    notes = coverage_by_section(JUDGED)[0]
    assert (notes["document"], notes["statements"], notes["checkable"], notes["covered"]) == (
        NOTES, 3, 2, 1)
    assert notes["verdicts"] == {"reproduced": 1, "not_checkable": 1, "not_covered": 1}
    section = notes["sections"][0]
    assert (section["section"], section["statements"], section["checkable"],
            section["covered"]) == ("§1.2", 2, 2, 1)
    assert section["verdicts"] == {"reproduced": 1, "not_covered": 1}


def test_coverage_by_section_orders_documents_notes_slides_papers_and_sections_as_catalogued():
    by_section = coverage_by_section(JUDGED)
    assert [d["document"] for d in by_section] == [NOTES, "slides 002", "slides 003", PAPERS]
    assert [s["section"] for s in by_section[0]["sections"]] == ["§1.2", "§1.1"]
    assert [s["statements"] for s in by_section[1]["sections"]] == [2]


def test_uncovered_entries_are_the_checkable_ones_no_part_judges_with_their_note():
    assert uncovered_entries(JUDGED) == [{
        "id": "n3", "document": NOTES, "section": "§1.2",
        "source": "notes 000 §1.2, last paragraph", "note": "check: a sweep over learning rates"}]


def test_the_report_shows_coverage_per_document_and_section_and_the_uncovered_sentences():
    tests = [record("test_a", "passed", checks(("m", 3.0, 1.0)))]
    catalogue = [{k: v for k, v in e.items() if k != "verdict"} for e in JUDGED]
    results = build_results(tests, [], {"python": "3.x", "argv": []}, catalogue)
    assert results["catalogue"]["by_section"][0]["document"] == NOTES
    html = render(results)
    table = html.split('id="coverage-by-section"')[1].split("</table>")[0]
    assert "notes 000/001" in table and "§1.2" in table and "Wu &amp; He (ECCV 2018) §3.1" in table
    assert '<span class="badge v-reproduced">1 reproduced</span>' in table
    uncovered = html.split('id="uncovered"')[1].split("</table>")[0]
    assert 'href="#entry-n3"' in uncovered and "check: a sweep over learning rates" in uncovered


def test_evidence_payloads_hold_no_numpy_types_so_xdist_can_send_them():
    import numpy as np
    from execnet.gateway_base import dumps_internal

    from optclaims_report.evidence import portable
    payload = {"value": np.float64(1.5), "interval": [np.float64(0.5), 2.0],
               "per seed": (np.arange(3), "text", None, True)}
    plain_copy = portable(payload)
    dumps_internal(plain_copy)   # raises DumpError on a numpy type
    assert plain_copy == {"value": 1.5, "interval": [0.5, 2.0],
                          "per seed": ([0, 1, 2], "text", None, True)}



def stopped_run(complete: bool, interrupted: bool) -> dict:
    """One test that ran and one that the run's stop cut short."""
    cut = dict(record("test_long", "skipped", [], part="gap"), skip_kind="interrupted",
               message="not run: the run stopped before this test")
    return build_results([record("test_a", "passed", checks(("m", 3.0, 1.0))), cut], [],
                         {"python": "3.x", "seed": 0, "argv": [], "complete": complete,
                          "interrupted": interrupted, "written_utc": "2026-01-01T00:00:00Z"})


@pytest.mark.parametrize("interrupted, says", [
    (True, "This run was interrupted"),
    (False, "This run did not finish"),
])
def test_an_unfinished_run_says_so_above_its_summary(interrupted, says):
    page = render(stopped_run(False, interrupted))
    assert says in page and "1 claim test did not run to the end" in page
    assert page.index(says) < page.index('<table class="summary">')


def test_a_finished_run_has_no_unfinished_banner():
    assert "did not run to the end" not in render(stopped_run(True, False))


def test_what_the_results_builder_writes_follows_the_schema(results):
    from optclaims_report.schema import first_mismatch
    assert first_mismatch(results) is None
    assert first_mismatch(stopped_run(False, True)) is None
    broken = dict(results, claims=[dict(results["claims"][0], verdict="yes")])
    assert first_mismatch(broken).startswith("claims[0].verdict")


def test_check_every_seed_is_the_fraction_of_seeds_checked_equal_to_one():
    kit, spelled_out = [], []
    Evidence(kit).check_every_seed("every seed", [True, True, False], seeds=[3, 4, 5])
    Evidence(spelled_out).check_seeds("every seed", [True, True, False], "fraction", "==", 1.0,
                                      seeds=[3, 4, 5])
    assert kit == spelled_out
    assert kit[0][1]["status"] != "held" and kit[0][1]["seeds"]["seeds"] == [3, 4, 5]


def test_seed_range_is_the_base_seed_and_the_next_ones():
    from optclaims_report.claim import seed_range
    assert seed_range(100, 3) == [100, 101, 102] and seed_range(0, 0) == []
