"""The report opened in a real browser (headless Chromium): it renders, every figure decodes, the
verdict filters work, and no script errors. Skipped, saying why, where Chromium is absent."""

import importlib.util
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from matplotlib.figure import Figure

from optclaims_report.build import render
from optclaims_report.evidence import Evidence, paper
from optclaims_report.results import build_results

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync")

PARTS = [{"id": "effect", "role": "effect", "statement": "It holds.", "source": "p. 1"},
         {"id": "gap", "role": "scope", "statement": "It is large.", "source": "p. 2"}]

# Runs in the page after the report's own scripts; the results go into an attribute of <body>
# that --dump-dom prints.
SELFTEST = """
<script>
(function () {
  var out = {title: document.title, errors: window.__errors || []};
  out.cards = document.querySelectorAll("section.claim").length;
  var images = Array.from(document.images);
  out.images = images.length;
  out.undecoded = images.filter(function (i) { return !(i.complete && i.naturalWidth > 0); }).length;
  function visibleRows() {
    return Array.from(document.querySelectorAll("#matrix tr.claim-row"))
      .filter(function (r) { return r.style.display !== "none"; }).length;
  }
  out.rows = visibleRows();
  var known = document.querySelector('#filters button[data-filter="known_non_reproduction"]');
  if (known) { known.click(); out.rows_known = visibleRows(); }
  var all = document.querySelector('#filters button[data-filter="all"]');
  if (all) { all.click(); out.rows_all = visibleRows(); }
  document.body.setAttribute("data-selftest", JSON.stringify(out));
})();
</script>
"""
ERROR_HOOK = ("<script>window.__errors = []; window.addEventListener('error', function (e) "
              "{ window.__errors.push(String(e.message)); });</script>")


def sibling(name: str):
    """Another test module of this folder (the documents view's sample catalogue)."""
    spec = importlib.util.spec_from_file_location(f"_{name}", Path(__file__).with_name(f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def browser() -> str | None:
    return next((shutil.which(b) for b in BROWSERS if shutil.which(b)), None)


def record(name, outcome, props, claim_id, part="effect"):
    return {"nodeid": f"claims/test_{claim_id}.py::{name}", "outcome": outcome,
            "exc_type": "AssertionError" if outcome == "xfailed" else None, "message": "",
            "duration_s": 0.5, "doc": "", "tier": "default", "part": part,
            "claim": {"id": claim_id, "title": f"Claim {claim_id}", "statement": "It holds.",
                      "sources": ["A paper, 2020"], "module": f"claims/test_{claim_id}.py",
                      "parts": PARTS},
            "properties": props}


def evidence_with_figure(value: float):
    sink = []
    ev = Evidence(sink)
    ev.check("ratio", value, ">", 1.0, paper(2.0, "Table 1"))
    fig = Figure(figsize=(3, 2))
    fig.add_subplot().plot([0, 1, 2], [1, 0.5, 0.2])
    ev.figure("curve", fig, "a decreasing curve")
    return sink


@pytest.fixture
def report_file(tmp_path):
    tests = [record("test_a", "passed", evidence_with_figure(3.0), "one"),
             record("test_b", "xfailed", evidence_with_figure(0.5), "one", part="gap"),
             record("test_a", "passed", evidence_with_figure(2.0), "two"),
             record("test_b", "xfailed", evidence_with_figure(0.2), "three"),
             record("test_c", "passed", evidence_with_figure(1.5), "three", part="gap")]
    results = build_results(tests, [], {"python": "3.x", "seed": 0, "argv": []})
    html = render(results).replace("<head>", "<head>" + ERROR_HOOK, 1)
    html = html.replace("</body>", SELFTEST + "</body>", 1)
    path = tmp_path / "index.html"
    path.write_text(html, encoding="utf-8")
    return path, results


def run_browser(path, *extra) -> subprocess.CompletedProcess:
    exe = browser()
    profile = path.parent / "profile"
    profile.mkdir(exist_ok=True)
    return subprocess.run([exe, *FLAGS, f"--user-data-dir={profile}", *extra,
                           path.as_uri()], capture_output=True, text=True, timeout=120)


@pytest.mark.skipif(browser() is None, reason="no Chromium on this machine (apt-get install "
                                              "chromium); the browser check needs one")
def test_the_report_renders_in_chromium_with_working_filters_and_decoded_figures(report_file):
    path, results = report_file
    dom = run_browser(path, "--dump-dom", "--virtual-time-budget=5000").stdout
    found = re.search(r'data-selftest="([^"]*)"', dom)
    assert found, "the self-test did not run: " + dom[:500]
    out = json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    claims = results["claims"]
    assert out["title"].startswith("optclaims")
    assert out["cards"] == len(claims) == 3
    assert out["images"] == 5 and out["undecoded"] == 0
    assert out["rows"] == out["rows_all"] == 3
    known = sum(c["verdict"] == "known_non_reproduction" for c in claims)
    assert out["rows_known"] == known >= 1
    assert out["errors"] == []


@pytest.mark.skipif(browser() is None, reason="no Chromium on this machine (apt-get install "
                                              "chromium); the browser check needs one")
def test_a_screenshot_of_the_first_screen_is_taken(report_file):
    path, _ = report_file
    shot = path.parent / "first-screen.png"
    run_browser(path, f"--screenshot={shot}", "--window-size=1280,1000")
    assert shot.is_file() and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# The documents view: counts, search and filters that narrow, a deep link that opens its section,
# and the time the page took to become interactive. Runs once the page has loaded.
DOCS_SELFTEST = """
<script>
window.addEventListener("load", function () {
  var out = {errors: window.__errors || []};
  function shown() {
    return Array.from(document.querySelectorAll("li.statement-item"))
      .filter(function (li) { return li.style.display !== "none"; }).length;
  }
  var opened = Array.from(document.querySelectorAll("details.docsec"))
    .filter(function (d) { return d.open; }).map(function (d) { return d.id; });
  out.opened_by_link = opened;
  out.summary = {};
  document.querySelectorAll("#documents-summary tr.doc-row").forEach(function (row) {
    var cells = {};
    row.querySelectorAll("td[data-reader]").forEach(function (td) {
      cells[td.dataset.reader] = Number(td.textContent); });
    out.summary[row.dataset.document] = cells;
  });
  out.all = shown();
  var search = document.getElementById("doc-search");
  search.value = "statement n1"; search.dispatchEvent(new Event("input"));
  out.searched = shown();
  search.value = ""; search.dispatchEvent(new Event("input"));
  var reader = document.getElementById("doc-reader");
  reader.value = "misprint"; reader.dispatchEvent(new Event("input"));
  out.misprints = shown();
  var doc = document.getElementById("doc-document");
  doc.value = "slides 002"; doc.dispatchEvent(new Event("input"));
  out.misprints_in_slides = shown();
  out.strips = Array.from(document.querySelectorAll("svg.strip")).map(function (svg) {
    var box = svg.getBBox(); return box.width > 0 && box.height > 0; });
  out.no_picture = document.querySelectorAll("p.no-picture").length;
  var nav = performance.getEntriesByType("navigation")[0];
  out.interactive_ms = nav.domInteractive; out.loaded_ms = nav.domContentLoadedEventEnd;
  document.body.setAttribute("data-selftest", JSON.stringify(out));
});
</script>
"""


@pytest.fixture
def documents_report(tmp_path):
    CATALOGUE = sibling("test_documents").CATALOGUE
    seeds = []
    Evidence(seeds).check_seeds("ratio per seed", [2.0, 2.5, 3.5, 2.2, 2.9], "median", ">", 1.0,
                                seeds=range(5), reference=paper(2.0, "Table 1"))
    tests = [record("test_a", "passed", evidence_with_figure(3.0), "c1"),
             record("test_a", "passed", seeds, "c2")]
    results = build_results(tests, [], {"python": "3.x", "seed": 0, "argv": []})
    results["catalogue"] = CATALOGUE
    html = render(results).replace("<head>", "<head>" + ERROR_HOOK, 1)
    path = tmp_path / "index.html"
    path.write_text(html.replace("</body>", DOCS_SELFTEST + "</body>", 1), encoding="utf-8")
    return path, results


@pytest.mark.skipif(browser() is None, reason="no Chromium on this machine (apt-get install "
                                              "chromium); the browser check needs one")
def test_the_documents_view_counts_filters_searches_and_opens_a_deep_link(documents_report):
    from optclaims_report.documents import document_view
    path, results = documents_report
    exe = browser()
    profile = path.parent / "profile"
    profile.mkdir(exist_ok=True)
    dom = subprocess.run([exe, *FLAGS, f"--user-data-dir={profile}", "--dump-dom",
                          "--virtual-time-budget=5000", path.as_uri() + "#notes-1.2"],
                         capture_output=True, text=True, timeout=120).stdout
    found = re.search(r'data-selftest="([^"]*)"', dom)
    assert found, "the self-test did not run: " + dom[:500]
    out = json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    assert out["errors"] == []
    for doc in document_view(results["catalogue"]):
        counts = doc["counts"]
        assert out["summary"][doc["document"]]["holds"] == counts.get("holds", 0)
        assert out["summary"][doc["document"]]["misprints"] == sum(
            counts.get(k, 0) for k in ("misprint", "misprint_in_part", "misprint_read"))
    entries = results["catalogue"]["entries"]
    assert out["all"] == len(entries)
    assert out["searched"] == 1
    assert out["misprints"] == sum(e.get("kind") == "misprint" and e["verdict"] == "reproduced"
                                   for e in entries) == 2
    assert out["misprints_in_slides"] == 1
    assert out["opened_by_link"] == ["notes-1.2"]
    assert out["strips"] == [True]          # c2's check over seeds, drawn
    assert out["no_picture"] == 0           # c1 has a figure of its own
    print(f"documents view: interactive after {out['interactive_ms']:.0f} ms, DOMContentLoaded "
          f"handled after {out['loaded_ms']:.0f} ms")


# Every picture of a loaded page: strip plots drawn with a non-empty box, images decoded.
PICTURES_SELFTEST = """
<script>
window.addEventListener("load", function () {
  var images = Array.from(document.images);
  document.body.setAttribute("data-selftest", JSON.stringify({
    errors: window.__errors || [],
    strips: Array.from(document.querySelectorAll("svg.strip"))
      .filter(function (s) { return s.getBBox().width > 0; }).length,
    images: images.length,
    undecoded: images.filter(function (i) { return !i.naturalWidth; }).length,
    interactive_ms: performance.getEntriesByType("navigation")[0].domInteractive}));
});
</script>
"""


@pytest.mark.skipif(browser() is None, reason="no Chromium on this machine (apt-get install "
                                              "chromium); the browser check needs one")
def test_a_page_of_150_claims_with_a_picture_each_renders_every_picture(tmp_path):
    """The suite's size and more: 150 claims, each with a check over 20 seeds (its strip plot),
    10 of them with a figure too. Every picture must render; the time the page took to become
    interactive is printed (speed gates nothing)."""
    tests = []
    for i in range(150):
        sink = evidence_with_figure(2.0) if i < 10 else []
        Evidence(sink).check_seeds("ratio per seed", [2.0 + 0.05 * k for k in range(20)],
                                   "median", ">", 1.0, seeds=range(20),
                                   reference=paper(2.0, "Table 1"))
        tests.append(record("test_a", "passed", sink, f"claim{i}"))
    results = build_results(tests, [], {"python": "3.x", "seed": 0, "argv": []})
    html = render(results).replace("<head>", "<head>" + ERROR_HOOK, 1)
    path = tmp_path / "index.html"
    path.write_text(html.replace("</body>", PICTURES_SELFTEST + "</body>", 1), encoding="utf-8")
    dom = run_browser(path, "--dump-dom", "--virtual-time-budget=10000").stdout
    found = re.search(r'data-selftest="([^"]*)"', dom)
    assert found, "the self-test did not run: " + dom[:500]
    out = json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    assert out["errors"] == []
    assert out["strips"] == 150 and out["images"] == 10 and out["undecoded"] == 0
    print(f"150 claims, 160 pictures, {path.stat().st_size / 1e6:.1f} MB: interactive after "
          f"{out['interactive_ms']:.0f} ms")
