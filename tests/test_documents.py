"""The documents view (report/documents.py): one reader's verdict per catalogue sentence, the
sections as the report's table of contents, and the errata sheet drawn from them."""

import pytest

from optclaims_report.build import render
from optclaims_report.cli import main
from optclaims_report.documents import (ERRATA, READER_VERDICTS, anchor, count_line,
                                        document_view, errata, errata_html, errata_markdown,
                                        reader_verdict)
from optclaims_report.results import NOTES, PAPERS, build_results, write_atomic


def entry(eid, source, verdict, kind=None, note="", claim="c1"):
    """A catalogue entry as results.json holds it (judged, with its judging parts)."""
    return {"id": eid, "source": source, "statement": f"statement {eid}", "checkable": True,
            "judged_by": [f"{claim}/effect"], "note": note, "verdict": verdict,
            **({"kind": kind} if kind else {}),
            "parts": [{"claim": claim, "part": "effect", "readings": []}]}


ENTRIES = [
    entry("n2", "notes 000/001 §2.1", "reproduced"),
    entry("n1", "notes 000/001 §1.2, RMSProp", "reproduced", kind="misprint",
          note="correction: the sum includes g_t"),
    entry("n3", "notes 000 §1.2, last paragraph", "known_non_reproduction",
          note="tried at p = 0.52"),
    entry("n4", "notes 000/001 §1", "not_checkable", kind="misprint", note="correction: P*"),
    entry("s1", "slides 002, 'Batch Normalization' (first bullet)", "partly_reproduced"),
    entry("s2", "slides 002, Batch Normalization", "outside_run"),
    entry("s3", "slides 002, Dropout", "reproduced", kind="misprint", claim="c2"),
    entry("p1", "Wu & He (ECCV 2018) §3.1: a claim of the paper", "not_reproduced"),
    entry("t1", "slides 003, Experiment 1", "known_non_reproduction", kind="misprint"),
]
CATALOGUE = {"entries": ENTRIES}


@pytest.mark.parametrize("kind, verdict, reader", [
    (None, "reproduced", "holds"), (None, "partly_reproduced", "partly"),
    (None, "known_non_reproduction", "does_not_hold"), (None, "outside_run", "not_run"),
    (None, "not_covered", "not_judged"), (None, "not_checkable", "not_checkable"),
    (None, "not_reproduced", "attention"), (None, "contradictory", "attention"),
    ("misprint", "reproduced", "misprint"), ("misprint", "not_checkable", "misprint_read"),
    ("misprint", "partly_reproduced", "misprint_in_part"),
    ("misprint", "known_non_reproduction", "misprint_not_confirmed"),
])
def test_a_reproduced_misprint_reads_as_the_document_being_wrong_not_as_holding(kind, verdict,
                                                                                reader):
    assert reader_verdict({"verdict": verdict, **({"kind": kind} if kind else {})}) == reader
    assert reader in READER_VERDICTS


def test_section_anchors_are_short_and_readable():
    assert anchor(NOTES, "§2.1") == "notes-2.1"
    assert anchor("slides 002", "Batch Normalization") == "slides002-batch-normalization"
    assert anchor("slides 003", "Experiment 3 code") == "slides003-experiment-3-code"
    assert anchor(PAPERS, "Wu & He (ECCV 2018) §3.1") == "papers-wu-he-eccv-2018-3.1"


def test_a_section_anchor_never_takes_a_claim_cards_id():
    view = document_view(CATALOGUE, taken={"notes-1.2"})
    assert [s["anchor"] for s in view[0]["sections"]] == ["notes-1", "notes-1.2-", "notes-2.1"]


def test_documents_come_in_reading_order_and_the_notes_sections_by_number():
    view = document_view(CATALOGUE)
    assert [d["document"] for d in view] == [NOTES, "slides 002", "slides 003", PAPERS]
    assert [s["section"] for s in view[0]["sections"]] == ["§1", "§1.2", "§2.1"]
    assert [s["anchor"] for s in view[1]["sections"]] == ["slides002-batch-normalization",
                                                          "slides002-dropout"]


def test_every_sentence_is_counted_once_under_its_document_and_section():
    view = document_view(CATALOGUE)
    assert sum(d["statements"] for d in view) == len(ENTRIES)
    notes = view[0]
    assert notes["counts"] == {"holds": 1, "does_not_hold": 1, "misprint": 1, "misprint_read": 1}
    assert notes["sections"][1]["counts"] == {"does_not_hold": 1, "misprint": 1}
    assert count_line(notes["sections"][1]["counts"]) == (
        "1 does not hold at our scale · 1 misprint shown by a run")
    assert count_line({"holds": 3}) == "3 hold"


def test_the_errata_list_only_misprints_and_sentences_that_do_not_hold():
    sheet = errata(document_view(CATALOGUE))
    listed = {e["id"]: e["reader"] for d in sheet for s in d["sections"] for e in s["entries"]}
    assert listed == {"n1": "misprint", "n3": "does_not_hold", "n4": "misprint_read",
                      "s1": "partly", "s3": "misprint"}
    assert all(reader in ERRATA for reader in listed.values())


def test_the_errata_sheet_gives_the_correction_and_links_each_item_to_its_report_entry():
    view = document_view(CATALOGUE)
    text = errata_markdown(view, "index.html", "of today")
    assert "## notes 000/001" in text and "### §1.2" in text
    assert "[n1](index.html#entry-n1)" in text and "correction: the sum includes g_t" in text
    assert "statement n2" not in text and "statement s2" not in text
    html = errata_html(view, "index.html", "of today")
    assert 'href="index.html#entry-n1"' in html and "statement n2" not in html


def run_results(tmp_path):
    """A report's results.json with the catalogue above, beside its index.html."""
    results = build_results([], [], {"python": "3.x", "argv": []})
    results["catalogue"] = CATALOGUE
    path = write_atomic(results, tmp_path / "results.json")
    (tmp_path / "index.html").write_text(render(results), encoding="utf-8")
    return path, results


def test_repro_errata_writes_both_sheets_beside_the_report(tmp_path, capsys):
    path, _ = run_results(tmp_path)
    assert main(["errata", "--from", str(path)]) == 0
    assert "#entry-s3" in (tmp_path / "errata.md").read_text()
    assert (tmp_path / "errata.html").read_text().startswith("<!DOCTYPE html>")


def test_repro_errata_without_results_is_one_clear_line(tmp_path, capsys):
    assert main(["errata", "--from", str(tmp_path / "missing.json")]) == 2
    assert "missing.json" in capsys.readouterr().err


def test_the_report_opens_on_the_documents_with_misprints_in_their_own_colour(tmp_path):
    _, results = run_results(tmp_path)
    html = render(results)
    assert html.index('id="documents"') < html.index('id="run"') < html.index('id="matrix"')
    summary = html.split('id="documents-summary"')[1].split("</table>")[0]
    notes_row = summary.split('data-document="notes 000/001"')[1].split("</tr>")[0]
    assert '<td class="num" data-reader="misprints">2</td>' in notes_row
    assert '<td class="num" data-reader="holds">1</td>' in notes_row
    assert 'id="notes-1.2"' in html
    item = html.split('data-search="statement n1')[0].rsplit("<li", 1)[1]
    assert 'data-reader="misprint"' in item


def test_a_reproduced_discrepancy_claim_wears_the_misprint_badge_not_the_green_one():
    from optclaims_report.evidence import Evidence, paper
    sink = []
    Evidence(sink).check("gap", 3.0, ">", 1.0, paper(2.0, "Table 1"))
    parts = [{"id": "effect", "role": "effect", "statement": "It differs.", "source": "p. 1"}]
    record = {"nodeid": "claims/test_c.py::test_a", "outcome": "passed", "exc_type": None,
              "message": "", "duration_s": 0.1, "doc": "", "tier": "default", "part": "effect",
              "claim": {"id": "c1", "title": "Claim one", "statement": "It differs.",
                        "sources": ["notes"], "module": "claims/test_c.py", "parts": parts},
              "properties": sink}
    results = build_results([record], [], {"python": "3.x", "argv": []})
    assert results["claims"][0]["verdict"] == "reproduced"
    results["claims"][0]["kind"] = "discrepancy"
    row = render(results).split('class="claim-row"')[1].split("</tr>")[0]
    verdict_cell = row.split("<td>")[2]
    assert '"badge r-misprint"' in verdict_cell and "v-reproduced" not in verdict_cell
