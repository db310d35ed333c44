"""repro sweep: the same claim and part verdicts at several base seeds."""

import json
from pathlib import Path

import pytest

from optclaims_report.sweep import as_text, parse_seeds, summarize, sweep

ROOT = Path(__file__).resolve().parent.parent


def test_parse_seeds():
    assert parse_seeds("0-3,7, 100") == [0, 1, 2, 3, 7, 100]
    assert parse_seeds("5") == [5]
    with pytest.raises(ValueError):
        parse_seeds(" , ")


def run(verdict, part_verdict, status):
    return {"claims": [{"id": "c", "verdict": verdict,
                        "parts": [{"id": "p", "verdict": part_verdict}],
                        "checks": [{"test": "t", "name": "n", "part": "p", "status": status}]}]}


def test_summary_counts_where_each_check_held_and_flags_a_changed_verdict():
    same = summarize({0: run("reproduced", "reproduced", "held"),
                      1: run("reproduced", "reproduced", "held")})
    assert same["stable"] and same["claims"]["c"]["checks"]["t :: n"]["held"] == 2
    flipped = summarize({0: run("reproduced", "reproduced", "held"),
                         7: run("inconclusive", "inconclusive", "inconclusive")})
    assert not flipped["stable"]
    text = as_text(flipped)
    assert "DIFFERS  c" in text and "part p: 0=reproduced, 7=inconclusive" in text
    assert "check held at 1/2: t :: n" in text


def test_a_sentence_whose_verdict_depends_on_the_base_seed_is_flagged():
    runs = {s: run("reproduced", "reproduced", "held") for s in (0, 10000)}
    runs[0]["catalogue"] = {"entries": [{"id": "e", "verdict": "reproduced"}]}
    runs[10000]["catalogue"] = {"entries": [{"id": "e", "verdict": "contradictory"}]}
    summary = summarize(runs)
    assert not summary["stable"] and summary["unstable_sentences"] == ["e"]
    assert "DIFFERS  sentence e: 0=reproduced, 10000=contradictory" in as_text(summary)


CHEAP = ("claims/test_adaptive_overfit.py claims/test_adam_nonconvergence.py -k "
         "'predict_plus_one or classify_every or near_balanced or stochastic'")


def test_cheap_claims_give_the_same_verdicts_at_other_base_seeds(tmp_path):
    """The seed-dependent tests of the two cheapest claims (the adaptive methods' effect and
    control over 20 seeds, the notes' class-balance sweep, Adam's stochastic problem over 100
    seeds) at base seeds 1 and 100 (the full sweep over 0-19 and 100: README)."""
    import shlex
    args = shlex.split(CHEAP)
    status = sweep(ROOT, tmp_path, [1, 100], args[2:], jobs=1, paths=args[:2])
    summary = json.loads((tmp_path / "sweep.json").read_text())
    assert set(summary["claims"]) == {"adaptive-overfit", "adam-nonconvergence"}
    assert summary["stable"], as_text({**summary, "seeds": summary["seeds"]})
    assert status == 0
