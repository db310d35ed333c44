"""The verdict rules (report/verdicts.py), table-driven: tests -> parts -> claim."""

import itertools

import pytest

from optclaims_report import verdicts as V


# --- a test's verdict -------------------------------------------------------------------------------
@pytest.mark.parametrize("outcome, exc, skip_kind, n_checks, expected", [
    ("passed", None, None, 3, "held"),
    ("passed", None, None, 0, "error"),                      # checked nothing: a defect
    ("failed", "AssertionError", None, 3, "not_reproduced"),
    ("failed", "Inconclusive", None, 3, "inconclusive"),
    ("failed", "TypeError", None, 1, "error"),
    ("failed", "XPASS(strict)", None, 2, "now_reproduces"),
    ("xfailed", "AssertionError", None, 2, "known_non_reproduction"),
    ("failed", "ChangedNonReproduction", None, 2, "changed_non_reproduction"),
    ("xfailed", "TypeError", None, 0, "error"),              # only reachable without raises=
    ("error", "KeyError", None, 0, "error"),                 # a fixture broke
    ("skipped", None, "tier", 0, "outside_run"),
    ("skipped", None, "data", 0, "not_run"),
    ("skipped", None, "other", 0, "not_run"),
    ("failed", "DataMissing", None, 0, "not_run"),           # --require-data: fails, not run
    ("error", "DataMissing", None, 0, "not_run"),
    ("error", "DataCorrupt", None, 0, "error"),
])
def test_test_verdict(outcome, exc, skip_kind, n_checks, expected):
    assert V.verdict_of_test(outcome, exc, skip_kind, n_checks) == expected


# --- a part's verdict ---------------------------------------------------------------------------------
PRECEDENCE = ["error", "not_reproduced", "inconclusive", "changed_non_reproduction",
              "now_reproduces", "known_non_reproduction", "not_run", "held"]


@pytest.mark.parametrize("pair", list(itertools.combinations_with_replacement(
    PRECEDENCE + ["outside_run"], 2)))
def test_part_verdict_of_every_pair_of_tests(pair):
    inside = [v for v in pair if v != "outside_run"]
    if not inside:
        expected = "outside_run"
    else:
        first = min(inside, key=PRECEDENCE.index)
        expected = "reproduced" if first == "held" else first
    assert V.verdict_of_part(list(pair)) == expected


def test_part_with_no_test_is_outside_the_run():
    assert V.verdict_of_part([]) == "outside_run"


# --- a claim's verdict: every combination of an effect, a control and a mechanism part -------------
def expected_claim(effect, control, mechanism):
    parts = {"effect": effect, "control": control, "mechanism": mechanism}
    verdicts = list(parts.values())
    gating = [effect, control]
    if "error" in verdicts:
        return "error"
    if "not_reproduced" in gating:
        return "not_reproduced"
    if "inconclusive" in gating:
        return "inconclusive"
    if effect == "outside_run" or "not_run" in verdicts:
        return "not_run"
    if "changed_non_reproduction" in verdicts:
        return "changed_non_reproduction"
    if "now_reproduces" in verdicts:
        return "now_reproduces"
    if "known_non_reproduction" in gating:
        return "known_non_reproduction"
    if set(verdicts) - {"reproduced", "outside_run"}:
        return "partly_reproduced"
    return "reproduced"


@pytest.mark.parametrize("effect, control, mechanism",
                         list(itertools.product(V.PART_VERDICTS, repeat=3)))
def test_claim_verdict_of_every_combination(effect, control, mechanism):
    parts = [("effect", effect), ("control", control), ("mechanism", mechanism)]
    assert V.verdict_of_claim(parts) == expected_claim(effect, control, mechanism)


@pytest.mark.parametrize("parts, expected", [
    ([("effect", "reproduced"), ("control", "reproduced")], "reproduced"),
    ([("effect", "reproduced"), ("scope", "outside_run")], "reproduced"),
    ([("effect", "reproduced"), ("scope", "known_non_reproduction")], "partly_reproduced"),
    ([("effect", "reproduced"), ("mechanism", "not_reproduced")], "partly_reproduced"),
    ([("effect", "reproduced"), ("precondition", "not_reproduced")], "not_reproduced"),
    ([("effect", "reproduced"), ("precondition", "inconclusive")], "inconclusive"),
    ([("effect", "reproduced"), ("scope", "inconclusive")], "partly_reproduced"),
    ([("effect", "known_non_reproduction"), ("control", "reproduced")], "known_non_reproduction"),
    ([("effect", "not_run"), ("mechanism", "reproduced")], "not_run"),
    ([("effect", "outside_run"), ("mechanism", "reproduced")], "not_run"),
    ([("control", "reproduced")], "not_run"),          # no effect part: nothing shown
    ([], "error"),
])
def test_claim_verdict_examples(parts, expected):
    assert V.verdict_of_claim(parts) == expected


def test_every_verdict_has_a_label_and_every_claim_verdict_a_legend():
    for v in V.TEST_VERDICTS + V.PART_VERDICTS + V.CLAIM_VERDICTS + V.ENTRY_VERDICTS:
        assert v in V.LABELS
    assert set(V.LEGEND) == set(V.CLAIM_VERDICTS)


# --- a document sentence's verdict ------------------------------------------------------------------
@pytest.mark.parametrize("standings, split, expected", [
    ([], None, "outside_run"),
    (["reproduced"], None, "reproduced"),
    (["reproduced", "reproduced"], None, "reproduced"),
    (["known_non_reproduction"], None, "known_non_reproduction"),
    (["reproduced", "known_non_reproduction"], None, "contradictory"),
    (["reproduced", "not_reproduced"], None, "contradictory"),
    (["reproduced", "known_non_reproduction"], "holds at 10^4 steps, not at 500", "partly_reproduced"),
    (["reproduced", "not_reproduced"], "holds at 10^4 steps, not at 500", "not_reproduced"),
    (["reproduced", "inconclusive"], None, "inconclusive"),
    (["reproduced", "error"], None, "error"),
    (["known_non_reproduction", "changed_non_reproduction"], None, "changed_non_reproduction"),
    (["reproduced", "not_run"], None, "not_run"),
])
def test_entry_verdict(standings, split, expected):
    assert V.verdict_of_entry(standings, split) == expected


@pytest.mark.parametrize("role, gates, expected", [
    ("effect", [("control", "reproduced")], "reproduced"),
    ("scope", [("control", "not_reproduced")], "not_reproduced"),
    ("scope", [("precondition", "error")], "error"),
    ("scope", [("mechanism", "not_reproduced")], "reproduced"),   # mechanisms do not gate
    ("control", [("control", "outside_run")], "reproduced"),
])
def test_a_part_stands_for_its_sentence_only_behind_its_claims_gates(role, gates, expected):
    part = {"id": "judge", "role": role, "verdict": "reproduced"}
    others = [{"id": f"p{i}", "role": r, "verdict": v} for i, (r, v) in enumerate(gates)]
    assert V.standing_of_part(part, [part] + others) == expected


def test_the_reason_names_the_deciding_parts():
    parts = [{"id": "fast", "role": "effect", "verdict": "reproduced"},
             {"id": "why", "role": "mechanism", "verdict": "known_non_reproduction"},
             {"id": "big", "role": "scope", "verdict": "outside_run"}]
    assert V.claim_verdict_reason(parts, "partly_reproduced") == "the effect held; why: known non-reproduction"
    parts[1]["verdict"] = "reproduced"
    assert V.claim_verdict_reason(parts, "reproduced") == (
        "every part inside this run held; outside this run: big")
