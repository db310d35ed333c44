"""The documents as the report's table of contents, and the errata sheet drawn from the same view.

Each catalogue sentence (results.json, ``catalogue.entries``) sits under its document and section
(``results.place_entries``) with one reader's verdict: what the entry's verdict means for the
sentence as a lecturer reads it. The catalogue's ``kind = "misprint"`` entries state the
document's version, so a reproduced misprint entry means the document is wrong: it gets its own
words ("misprint") and colour, never the green of a sentence that holds.
"""

from __future__ import annotations

import re
from html import escape

from .results import NOTES, PAPERS, document_order, place_entries

# reader verdict -> (words, what it means for the document's sentence), in display order
READER_VERDICTS = {
    "holds": ("holds", "the suite reproduces the sentence at the strength the document states it"),
    "partly": ("holds in part", "it holds under some readings or settings and not others; the "
                                "entry says which"),
    "does_not_hold": ("does not hold at our scale",
                      "tried at the document's own setting (or the closest this machine runs) "
                      "and not reproduced: a known non-reproduction, with the readings tried"),
    "misprint": ("misprint: the document's version differs",
                 "the suite runs the document's version beside the reference and they differ; "
                 "the entry gives the correction"),
    "misprint_in_part": ("misprint under some readings", "the document's version differs under "
                                                         "some readings only; the entry says which"),
    "misprint_read": ("misprint, found by reading", "a wrong symbol, index or reference no code "
                                                    "can run; the entry gives the correction"),
    "misprint_not_confirmed": ("suspected misprint, not confirmed",
                               "run as the document defines its terms, the document's version "
                               "agrees with the reference"),
    "not_run": ("not run here", "judged by slow- or gpu-tier parts that this run left out"),
    "not_checkable": ("not checkable", "no code can check it (a definition, an opinion, a "
                                       "pointer to the literature)"),
    "not_judged": ("not judged yet", "checkable, but no part of the suite judges it yet"),
    "attention": ("needs attention", "the suite's own verdict is a failure, an error or a "
                                     "contradiction: see the claim card"),
}
# The reader verdicts an errata sheet lists: the document is wrong, or does not hold.
ERRATA = ("misprint", "misprint_in_part", "misprint_read", "does_not_hold", "partly")

_STATEMENT = {"reproduced": "holds", "partly_reproduced": "partly",
              "known_non_reproduction": "does_not_hold", "outside_run": "not_run",
              "not_run": "not_run", "not_checkable": "not_checkable",
              "not_covered": "not_judged"}
_MISPRINT = {"reproduced": "misprint", "partly_reproduced": "misprint_in_part",
             "known_non_reproduction": "misprint_not_confirmed", "outside_run": "not_run",
             "not_run": "not_run", "not_checkable": "misprint_read",
             "not_covered": "not_judged"}


def reader_verdict(entry: dict) -> str:
    """The reader's verdict of one judged catalogue entry (a key of ``READER_VERDICTS``)."""
    table = _MISPRINT if entry.get("kind") == "misprint" else _STATEMENT
    return table.get(entry["verdict"], "attention")


_DOCUMENT_SLUGS = {NOTES: "notes", PAPERS: "papers"}


def anchor(document: str, section: str) -> str:
    """A section's id in the report: "notes 000/001", "§2.1" -> "notes-2.1"; "slides 002",
    "Batch Normalization" -> "slides002-batch-normalization"."""
    doc = _DOCUMENT_SLUGS.get(document) or re.sub(r"[^a-z0-9]+", "", document.lower())
    sec = re.sub(r"[^a-z0-9.]+", "-", section.lower().replace("§", "")).strip("-.")
    return f"{doc}-{sec or 'section'}"


def _section_key(section: str) -> tuple:
    """The notes' § numbers in numeric order (§1, §1.1, §1.2, §2, ...), other places after them
    in the order they first appear (the sort is stable)."""
    number = re.fullmatch(r"§(\d+(?:\.\d+)*)", section)
    return (0, tuple(int(n) for n in number.group(1).split("."))) if number else (1,)


def counts(readers: list[str]) -> dict[str, int]:
    """How many of each reader verdict, in display order; absent ones left out."""
    return {v: n for v in READER_VERDICTS if (n := readers.count(v))}


def document_view(catalogue: dict | None, taken: set[str] = frozenset()) -> list[dict]:
    """Per document (notes, slides 002, slides 003, papers): its sections in reading order, each
    with its anchor (never one of the ids in ``taken``: the claim cards'), its entries (id,
    statement, reader verdict, the note or split that explains it, the claims whose parts judge
    it) and the counts of their reader verdicts."""
    documents: dict[str, dict[str, list[dict]]] = {}
    for doc, section, entry in place_entries((catalogue or {}).get("entries", [])):
        item = {"id": entry["id"], "statement": entry.get("statement", ""),
                "source": entry.get("source", ""), "verdict": entry["verdict"],
                "reader": reader_verdict(entry), "kind": entry.get("kind") or "statement",
                "explanation": entry.get("split") or entry.get("note") or "",
                "claims": list(dict.fromkeys(p["claim"] for p in entry.get("parts", []))),
                "readings": [r for p in entry.get("parts", []) for r in p.get("readings", [])]}
        documents.setdefault(doc, {}).setdefault(section, []).append(item)
    view, used = [], set(taken)
    for doc, sections in sorted(documents.items(), key=lambda d: document_order(d[0])):
        out = []
        for section in sorted(sections, key=_section_key) if doc == NOTES else sections:
            entries = sections[section]
            key = anchor(doc, section)
            while key in used:
                key += "-"
            used.add(key)
            out.append({"section": section, "anchor": key, "entries": entries,
                        "counts": counts([e["reader"] for e in entries])})
        readers = [e["reader"] for s in out for e in s["entries"]]
        view.append({"document": doc, "statements": len(readers), "counts": counts(readers),
                     "sections": out})
    return view


# How a count of each reader verdict reads: (one, several).
COUNT_WORDS = {
    "holds": ("holds", "hold"), "partly": ("holds in part", "hold in part"),
    "does_not_hold": ("does not hold at our scale", "do not hold at our scale"),
    "misprint": ("misprint shown by a run", "misprints shown by a run"),
    "misprint_in_part": ("misprint under some readings", "misprints under some readings"),
    "misprint_read": ("misprint found by reading", "misprints found by reading"),
    "misprint_not_confirmed": ("suspected misprint not confirmed",
                               "suspected misprints not confirmed"),
    "not_run": ("not run here", "not run here"), "not_checkable": ("not checkable",) * 2,
    "not_judged": ("not judged yet",) * 2, "attention": ("needs attention", "need attention"),
}


def count_line(section_counts: dict[str, int]) -> str:
    """'12 hold · 1 misprint shown by a run · 2 not checkable'."""
    return " · ".join(f"{n} {COUNT_WORDS[v][n != 1]}" for v, n in section_counts.items())


# --- the errata sheet ----------------------------------------------------------------------------
def errata(view: list[dict]) -> list[dict]:
    """Per document, the sections with a misprint or a sentence that does not hold (wholly or
    in part), each such entry with its reader verdict; documents without any are left out."""
    out = []
    for doc in view:
        sections = [dict(s, entries=[e for e in s["entries"] if e["reader"] in ERRATA])
                    for s in doc["sections"]]
        sections = [s for s in sections if s["entries"]]
        if sections:
            out.append({"document": doc["document"], "sections": sections})
    return out


def _reading_lines(entry: dict) -> list[str]:
    return [f"{r['setting']}: {r['value']} ({r['verdict']}; {r.get('basis', '')}, "
            f"{r.get('where', '')})" for r in entry["readings"] if "test" not in r]


def errata_markdown(view: list[dict], report_href: str, run: str) -> str:
    """The correction sheet as Markdown: per document and section, each misprint and each
    sentence that does not hold, in the catalogue's words (never the document's), with the
    correction or finding and a link to its entry in the report."""
    lines = ["# Errata: the documents' misprints and the sentences that do not hold", "",
             f"From the suite's run {run}. Each item is the catalogue's restatement of the "
             f"sentence, the verdict, and the correction or what was measured; the link opens "
             f"the entry in the report ({report_href}).", ""]
    sheet = errata(view)
    if not sheet:
        lines.append("Nothing to correct in this run: no misprint confirmed and no sentence "
                     "found not to hold.")
    for doc in sheet:
        lines += [f"## {doc['document']}", ""]
        for s in doc["sections"]:
            lines += [f"### {s['section']}", ""]
            for e in s["entries"]:
                lines.append(f"- **{READER_VERDICTS[e['reader']][0]}** — {e['statement']} "
                             f"([{e['id']}]({report_href}#entry-{e['id']}); {e['source']})")
                if e["explanation"]:
                    lines.append(f"  - {e['explanation']}")
                lines += [f"  - reading: {line}" for line in _reading_lines(e)]
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def errata_html(view: list[dict], report_href: str, run: str) -> str:
    """The same sheet as a printable HTML page."""
    parts = ["<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Errata</title>"
             "<style>body{font:15px/1.5 system-ui,sans-serif;max-width:900px;margin:2rem auto;"
             "padding:0 1rem}.v{font-weight:600}.misprint{color:#8250df}.does_not_hold,.partly"
             "{color:#9a6700}li{margin:.4rem 0}.muted{color:#57606a}</style></head><body>",
             "<h1>Errata: the documents' misprints and the sentences that do not hold</h1>",
             f"<p class=\"muted\">From the suite's run {escape(run)}; each link opens the entry "
             f"in the report.</p>"]
    sheet = errata(view)
    if not sheet:
        parts.append("<p>Nothing to correct in this run.</p>")
    for doc in sheet:
        parts.append(f"<h2>{escape(doc['document'])}</h2>")
        for s in doc["sections"]:
            parts.append(f"<h3>{escape(s['section'])}</h3><ul>")
            for e in s["entries"]:
                css = "misprint" if e["reader"].startswith("misprint") else e["reader"]
                extra = "".join(f"<div class=\"muted\">{escape(x)}</div>"
                                for x in [e["explanation"], *_reading_lines(e)] if x)
                parts.append(f"<li><span class=\"v {css}\">{escape(READER_VERDICTS[e['reader']][0])}"
                             f"</span> — {escape(e['statement'])} (<a href=\"{escape(report_href)}"
                             f"#entry-{escape(e['id'])}\">{escape(e['id'])}</a>; "
                             f"{escape(e['source'])}){extra}</li>")
            parts.append("</ul>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"

