"""Verdicts: a test's, a part's, a claim's. Pure functions of plain data, so the rules can be read
in one place and tested exhaustively (``tests/test_verdicts.py``).

A claim is a few **parts**, each a sub-statement with a role:

- ``effect``: what the paper says happens;
- ``control``: the contrast that must also hold, so that the test can fail;
- ``precondition``: what makes the comparison fair (a tuned baseline, a grid that brackets the
  best learning rate, a kernel that computes the paper's update rule);
- ``mechanism``: the explanation the paper gives;
- ``scope``: a condition or an extension (another data set, the paper's scale, a variant).

Effect, control and precondition parts *gate* the claim: if one of them fails, the claim is not
reproduced. Mechanism and scope parts qualify it: if one fails, the claim is partly reproduced.

A part's verdict comes from its tests; the claim's from its parts. A part all of whose tests are in
a tier this run did not select (``slow`` without ``--runslow``, ``gpu`` without CUDA), or that no
selected test backs, is *outside this run*: it is shown, but the claim's verdict is taken over the
parts inside the run, and it is never ``reproduced`` unless every effect part ran and held.
"""

from __future__ import annotations

ROLES = ("effect", "control", "precondition", "mechanism", "scope")
GATING = ("effect", "control", "precondition")

# Test verdicts, from a test's outcome and the exception that ended it.
TEST_VERDICTS = ("held", "not_reproduced", "inconclusive", "known_non_reproduction",
                 "changed_non_reproduction", "now_reproduces", "not_run", "outside_run", "error")

# Part and claim verdicts.
PART_VERDICTS = ("reproduced", "not_reproduced", "inconclusive", "known_non_reproduction",
                 "changed_non_reproduction", "now_reproduces", "not_run", "outside_run", "error")
CLAIM_VERDICTS = ("reproduced", "partly_reproduced", "not_reproduced", "known_non_reproduction",
                  "inconclusive", "changed_non_reproduction", "now_reproduces", "not_run",
                  "error")

LABELS = {
    "held": "held",
    "reproduced": "reproduced",
    "partly_reproduced": "partly reproduced",
    "not_reproduced": "not reproduced",
    "known_non_reproduction": "known non-reproduction",
    "inconclusive": "inconclusive",
    "changed_non_reproduction": "changed non-reproduction: update the claim",
    "now_reproduces": "now reproduces: update the claim",
    "not_run": "not run",
    "outside_run": "outside this run",
    "error": "error",
    "timed": "timed",  # a benchmark that ran (benchmarks back no part and gate nothing)
}

LEGEND = {
    "reproduced": "every part inside this run ran and held, the effect parts among them",
    "partly_reproduced": "the effect held; a mechanism or scope part did not hold or is a known "
                         "non-reproduction (the card says which)",
    "not_reproduced": "an effect, control or precondition part failed",
    "known_non_reproduction": "an effect or control part is a known non-reproduction: it does "
                              "not reproduce at our scale, and carries its numbers",
    "inconclusive": "a gating seed statistic's 95% interval straddles its bound: more seeds "
                    "are needed to tell",
    "changed_non_reproduction": "a known non-reproduction still fails, but a value left the "
                                "interval pinned for it: the finding's numbers changed, update "
                                "the claim (CI fails until it is)",
    "now_reproduces": "a known non-reproduction passed: the effect now appears, update the claim "
                      "(CI fails until it is)",
    "not_run": "a part that should have run did not (missing data, or an effect part outside "
               "the selected tiers); never green",
    "error": "the code broke (an exception other than a failed check)",
}


def verdict_of_test(outcome: str, exc_type: str | None = None, skip_kind: str | None = None,
                 n_checks: int = 0) -> str:
    """A test's verdict from its pytest outcome.

    ``outcome``: passed, failed, xfailed, xpassed, skipped, error (setup or teardown failed);
    ``exc_type``: the exception's class name (``XPASS(strict)`` for a strict unexpected pass,
    ``DataMissing`` for absent data); ``skip_kind``: ``tier`` for a tier that was not selected,
    ``data`` for missing data, else ``other``; ``n_checks``: checks the test recorded.
    """
    if exc_type == "DataMissing":
        return "not_run"  # skipped, or failed under --require-data: never a finding
    if outcome == "skipped":
        return "outside_run" if skip_kind == "tier" else "not_run"
    if outcome in ("passed", "xpassed"):
        return "held" if n_checks > 0 else "error"  # a test that checked nothing is a defect
    if exc_type == "XPASS(strict)":
        return "now_reproduces"
    if outcome == "xfailed":
        return "known_non_reproduction" if exc_type == "AssertionError" else "error"
    if outcome == "failed":
        return {"AssertionError": "not_reproduced", "Inconclusive": "inconclusive",
                "ChangedNonReproduction": "changed_non_reproduction"}.get(exc_type, "error")
    return "error"


def verdict_of_part(test_verdicts: list[str]) -> str:
    """A part's verdict from the verdicts of the tests that back it (benchmarks back none).

    The first rule that applies: outside the run (no test inside it) > error > not reproduced >
    inconclusive > changed non-reproduction > now reproduces > known non-reproduction > not run
    (a test inside the run did not run: missing data) > reproduced (every test inside the run
    held)."""
    inside = [v for v in test_verdicts if v != "outside_run"]
    if not inside:
        return "outside_run"
    for verdict in ("error", "not_reproduced", "inconclusive", "changed_non_reproduction",
                    "now_reproduces", "known_non_reproduction", "not_run"):
        if verdict in inside:
            return verdict
    return "reproduced"


def verdict_of_claim(parts: list[tuple[str, str]]) -> str:
    """A claim's verdict from its parts, given as ``(role, part verdict)`` pairs.

    The first rule that applies:
    1. ``error``: a part broke.
    2. ``not_reproduced``: a gating part (effect, control, precondition) failed.
    3. ``inconclusive``: a gating part's seed statistic straddles its bound.
    4. ``not_run``: an effect part is outside the run, or a part inside it did not run.
    5. ``changed_non_reproduction``: a known non-reproduction failed with a value outside the
       interval pinned for it.
    6. ``now_reproduces``: a known non-reproduction passed.
    7. ``known_non_reproduction``: a gating part is a known non-reproduction.
    8. ``partly_reproduced``: a mechanism or scope part failed, is inconclusive or is a known
       non-reproduction.
    9. ``reproduced``: every part inside the run held.
    """
    if not parts:
        return "error"  # a claim with no parts has shown nothing
    verdicts = [v for _, v in parts]
    gating = [v for role, v in parts if role in GATING]
    if "error" in verdicts:
        return "error"
    if "not_reproduced" in gating:
        return "not_reproduced"
    if "inconclusive" in gating:
        return "inconclusive"
    effects = [v for role, v in parts if role == "effect"]
    if not effects or "outside_run" in effects or "not_run" in verdicts:
        return "not_run"
    for changed in ("changed_non_reproduction", "now_reproduces"):
        if changed in verdicts:
            return changed
    if "known_non_reproduction" in gating:
        return "known_non_reproduction"
    if set(verdicts) - {"reproduced", "outside_run"}:
        return "partly_reproduced"
    return "reproduced"


def claim_verdict_reason(parts: list[dict], verdict: str) -> str:
    """One sentence naming the parts that decided ``verdict``."""
    def named(pred):
        return ", ".join(p["id"] for p in parts if pred(p))

    if verdict == "reproduced":
        outside = named(lambda p: p["verdict"] == "outside_run")
        return "every part inside this run held" + (
            f"; outside this run: {outside}" if outside else "")
    if verdict == "partly_reproduced":
        return "the effect held; " + ", ".join(
            f"{p['id']}: {LABELS[p['verdict']]}" for p in parts
            if p["verdict"] not in ("reproduced", "outside_run"))
    if verdict == "not_run":
        return "did not run: " + named(
            lambda p: p["verdict"] == "not_run" or (p["role"] == "effect"
                                                    and p["verdict"] == "outside_run"))
    if verdict == "not_reproduced":
        return "failed: " + named(lambda p: p["verdict"] == "not_reproduced"
                                  and p["role"] in GATING)
    return f"{LABELS[verdict]}: " + named(lambda p: p["verdict"] == verdict)


# --- a document sentence's verdict, from the parts that judge it ------------------------------------
# A catalogue entry (one sentence of the documents) is judged by one or more parts, possibly of
# different claims; it gets one verdict. Two more verdicts than a claim's: ``contradictory`` (two
# parts judge it in opposite ways and the entry declares no split: a defect of the suite, the run
# fails) and ``outside_run`` (every part that judges it is outside this run).
ENTRY_VERDICTS = CLAIM_VERDICTS + ("contradictory", "outside_run")
HOLDS, DOES_NOT_HOLD = ("reproduced",), ("not_reproduced", "known_non_reproduction")
LABELS["contradictory"] = "contradictory: two parts disagree"
LABELS["not_checkable"] = "not checkable by code"
LABELS["not_covered"] = "not covered yet"
ENTRY_LEGEND = {
    "contradictory": "two parts judge the sentence in opposite ways and the catalogue declares no "
                     "split: a defect of the suite (the run fails until it is resolved)",
    "partly_reproduced": "the sentence holds under some of its readings and not others, as the "
                         "catalogue entry's split states",
}


def standing_of_part(part: dict, claim_parts: list[dict]) -> str:
    """What one judging part says of its sentence: the part read as the sentence's effect, gated
    by the control and precondition parts of its own claim (a failed control or a broken kernel
    leaves nothing to judge the sentence by)."""
    gates = [(p["role"], p["verdict"]) for p in claim_parts
             if p["role"] in ("control", "precondition") and p["id"] != part["id"]]
    return verdict_of_claim([("effect", part["verdict"])] + gates)


def verdict_of_entry(standings: list[str], split: str | None = None) -> str:
    """A sentence's verdict from the standings of the parts inside the run that judge it.

    No part inside the run: ``outside_run``. A part that holds beside one that does not
    (not reproduced or a known non-reproduction): ``contradictory``, unless the entry declares
    the ``split`` (the condition under which each reading holds), when a mix of held parts and
    known non-reproductions is ``partly_reproduced``. Otherwise the claim rule's precedence over
    the standings, each read as an effect."""
    if not standings:
        return "outside_run"
    holds = any(s in HOLDS for s in standings)
    fails = [s for s in standings if s in DOES_NOT_HOLD]
    if holds and fails:
        if not split:
            return "contradictory"
        if set(standings) <= {"reproduced", "known_non_reproduction"}:
            return "partly_reproduced"
    return verdict_of_claim([("effect", s) for s in standings])
