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


# Two claim modules whose checks are statistics over 20 seeds (S .. S + 19) and that cost about a
# second per base seed, so this test exercises a sweep end to end in about 15 s. The sweeps of
# the costly claims (every claim at base seeds 0-19 and 100) are in the README.
CHEAP = ("claims/test_conditioning_and_init.py", "claims/test_batchnorm_formula.py")


def claim_ids(modules) -> set[str]:
    """The ids of the claims the modules declare (CLAIMS, or the single CLAIM)."""
    import importlib.util

    ids = set()
    for path in modules:
        spec = importlib.util.spec_from_file_location("claim_module", ROOT / path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        ids |= {c["id"] for c in getattr(module, "CLAIMS", None) or [module.CLAIM]}
    return ids


def test_cheap_claims_give_the_same_verdicts_at_other_base_seeds(tmp_path):
    """Two seed-statistic claim modules at base seeds 1 and 100: every claim, part and sentence
    verdict is the same at both, and the sweep's summary names every claim it ran."""
    status = sweep(ROOT, tmp_path, [1, 100], [], jobs=1, paths=list(CHEAP))
    summary = json.loads((tmp_path / "sweep.json").read_text())
    assert set(summary["claims"]) == claim_ids(CHEAP)
    assert summary["stable"], as_text({**summary, "seeds": summary["seeds"]})
    assert status == 0
