"""Every claim module declares itself completely: its parts are each backed by a test, every test
backs a declared part, every known non-reproduction fails only by an AssertionError."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from optclaims_report.verdicts import ROLES

ROOT = Path(__file__).resolve().parent.parent

DUMP_PLUGIN = '''
import json, os
import pytest

def pytest_collection_modifyitems(config, items):
    """Runs after the project plugin's hook (tryfirst), which attached each test's claim."""
    out = []
    for item in items:
        meta = next((p for k, p in item.user_properties if k == "optclaims.test"), {})
        claim = meta.get("claim")
        part = item.get_closest_marker("part")
        out.append({"nodeid": item.nodeid, "claim": claim and {
                        "id": claim["id"], "parts": claim.get("parts", [])},
                    "part": part.args[0] if part else None,
                    "benchmark": "benchmark" in item.fixturenames,
                    "xfails": [{"strict": m.kwargs.get("strict"),
                                "raises": getattr(m.kwargs.get("raises"), "__name__", None)}
                               for m in item.iter_markers("xfail")]})
    with open(os.environ["CLAIMS_DUMP"], "w") as f:
        json.dump(out, f)
'''


@pytest.fixture(scope="module")
def collected(tmp_path_factory):
    """Every item of claims/, collected (not run) in a separate process with the plugin on."""
    folder = tmp_path_factory.mktemp("dump")
    (folder / "claims_dump_plugin.py").write_text(DUMP_PLUGIN)
    dump = folder / "items.json"
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "claims", "--collect-only", "-q", "-p",
         "claims_dump_plugin", "-p", "no:cacheprovider"], cwd=ROOT, capture_output=True,
        text=True, env={**__import__("os").environ, "PYTHONPATH": str(folder),
                        "CLAIMS_DUMP": str(dump)})
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return json.loads(dump.read_text())


def claim_items(collected):
    return [i for i in collected if i["claim"]]


def test_every_claim_module_declares_parts_with_known_roles(collected):
    claims = {i["claim"]["id"]: i["claim"] for i in claim_items(collected)}
    assert claims, "no claim module collected"
    for cid, claim in claims.items():
        roles = [p["role"] for p in claim["parts"]]
        assert roles and set(roles) <= set(ROLES), cid
        assert "effect" in roles, f"{cid} has no effect part"
        ids = [p["id"] for p in claim["parts"]]
        assert len(ids) == len(set(ids)), f"{cid} declares a part twice"


def test_every_declared_part_is_backed_by_a_test(collected):
    backed: dict[str, set] = {}
    for item in claim_items(collected):
        backed.setdefault(item["claim"]["id"], set()).add(item["part"])
    for item in claim_items(collected):
        claim = item["claim"]
        missing = {p["id"] for p in claim["parts"]} - backed[claim["id"]]
        assert not missing, f"{claim['id']}: no test backs {sorted(missing)}"


def test_every_claim_test_but_a_benchmark_backs_a_declared_part(collected):
    for item in claim_items(collected):
        declared = {p["id"] for p in item["claim"]["parts"]}
        if item["benchmark"]:
            assert item["part"] is None, item["nodeid"]
        else:
            assert item["part"] in declared, item["nodeid"]


def test_every_known_non_reproduction_fails_only_by_an_assertion(collected):
    xfails = [(i["nodeid"], x) for i in claim_items(collected) for x in i["xfails"]]
    assert xfails, "no known non-reproduction collected"
    for nodeid, x in xfails:
        assert x == {"strict": True, "raises": "AssertionError"}, nodeid


# --- the catalogue of the documents' claims ----------------------------------------------------------
def catalogue():
    import tomllib
    with (ROOT / "claims" / "catalogue.toml").open("rb") as f:
        return tomllib.load(f)["claim"]


def test_catalogue_entries_are_complete_and_unique():
    entries = catalogue()
    ids = [e["id"] for e in entries]
    assert len(ids) == len(set(ids)), "duplicate catalogue ids"
    for e in entries:
        assert set(e) >= {"id", "source", "statement", "checkable", "judged_by"}, e["id"]
        assert isinstance(e["checkable"], bool) and e["statement"] and e["source"], e["id"]
        assert not e["judged_by"] or e["checkable"], f"{e['id']}: judged but not checkable?"
        assert len(e["judged_by"]) == len(set(e["judged_by"])), e["id"]
        assert "split" not in e or len(e["judged_by"]) > 1, \
            f"{e['id']}: a split needs two parts that judge the sentence"


def declared_parts(collected) -> dict[str, dict]:
    """Every declared part of the suite by its reference "claim-id/part-id"."""
    return {f"{i['claim']['id']}/{p['id']}": p for i in claim_items(collected)
            for p in i["claim"]["parts"]}


def test_every_judging_part_exists(collected):
    parts = declared_parts(collected)
    for e in catalogue():
        missing = [ref for ref in e["judged_by"] if ref not in parts]
        assert not missing, f"{e['id']} is judged by parts the suite lacks: {missing}"


def test_parts_and_catalogue_name_each_other(collected):
    """An entry lists the parts that judge it, and each such part names the entry back."""
    from_catalogue = {(e["id"], ref) for e in catalogue() for ref in e["judged_by"]}
    from_parts = {(entry, ref) for ref, p in declared_parts(collected).items()
                  for entry in p.get("judges", [])}
    assert from_parts - from_catalogue == set(), "parts name entries that do not list them"
    assert from_catalogue - from_parts == set(), "entries list parts that do not name them"


def test_every_claim_judges_a_document_sentence(collected):
    for item in claim_items(collected):
        claim = item["claim"]
        assert any(p.get("judges") for p in claim["parts"]), \
            f"{claim['id']}: no part judges a catalogue entry"


def test_a_sentence_is_refuted_only_after_a_reading_at_its_own_setting(collected):
    """The plugin refuses a known non-reproduction without readings; a known non-reproduction
    that judges a document sentence must also have been run at the document's (or the cited
    paper's) own setting, metric or code: a refutation by our own horizon, metric or threshold
    alone is not a finding."""
    parts = declared_parts(collected)
    knr = {f"{i['claim']['id']}/{i['part']}" for i in claim_items(collected) if i["xfails"]}
    assert knr, "no known non-reproduction collected"
    unfair = [ref for ref in sorted(knr) if parts[ref].get("judges") and not any(
        r["basis"] in ("document", "paper") for r in parts[ref]["readings"])]
    assert not unfair, f"refuted without a reading at the document's setting: {unfair}"
    for ref in knr:
        for r in parts[ref]["readings"]:
            assert r["setting"] and r["where"] and r["verdict"], ref
