"""The results file's schema, written down once: a JSON Schema (draft 2020-12) of what
``results.build_results`` writes and every reader (the report, compare, merge, history, sweep,
reuse) reads. ``results.load`` validates each file against it, so a file of the wrong shape is
one line naming the file and its first mismatch, never a traceback in a reader.

The schema states what readers rely on (the required fields and their types, the verdict
vocabularies); it allows fields it does not name, so a later writer may add some within the same
``version``. ``repro schema`` prints it.
"""

from __future__ import annotations

import functools

from .verdicts import CLAIM_VERDICTS, ENTRY_VERDICTS, PART_VERDICTS, ROLES, TEST_VERDICTS

VERSION = 2   # results.json's "version"; a reader refuses another

STRING = {"type": "string"}
STRINGS = {"type": "array", "items": STRING}
OPTIONAL_STRING = {"type": ["string", "null"]}
NUMBER = {"type": "number"}
COUNTS = {"type": "object", "additionalProperties": {"type": "integer", "minimum": 0}}


def record(required: dict, optional: dict | None = None) -> dict:
    """An object with ``required`` fields (name: schema) and ``optional`` ones."""
    return {"type": "object", "required": sorted(required),
            "properties": {**required, **(optional or {})}}


def array_of(item: dict) -> dict:
    return {"type": "array", "items": item}


TEST = record({"nodeid": STRING, "name": STRING, "part": OPTIONAL_STRING,
               "tier": {"enum": ["default", "slow", "gpu"]}, "outcome": STRING,
               "verdict": {"enum": [*TEST_VERDICTS, "timed"]}},
              {"benchmark": {"type": "boolean"}, "duration_s": NUMBER,
               "skip_kind": OPTIONAL_STRING, "xfail_reason": OPTIONAL_STRING,
               "message": STRING, "doc": STRING})
PART = record({"id": STRING, "role": {"enum": list(ROLES)}, "statement": STRING,
               "verdict": {"enum": list(PART_VERDICTS)}},
              {"source": STRING, "tests": STRINGS, "tiers": STRINGS, "reason": STRING,
               "readings": {"type": "array"}, "judges": {"type": "array"}})
CHECK = record({"test": STRING, "name": STRING, "part": OPTIONAL_STRING, "op": STRING,
                "status": {"enum": ["held", "failed", "inconclusive"]}},
               {"reference": {"type": ["object", "null"]}, "seeds": {"type": ["object", "null"]},
                "pinned": {"type": ["array", "null"]}, "pin_status": OPTIONAL_STRING,
                "passed": {"type": "boolean"}})
NOTE = record({"text": STRING})
NAMED = record({"name": STRING})
CLAIM = record(
    {"id": STRING, "title": STRING, "verdict": {"enum": list(CLAIM_VERDICTS)},
     "parts": array_of(PART), "tests": array_of(TEST), "checks": array_of(CHECK),
     "records": array_of(NAMED), "notes": array_of(NOTE), "figures": array_of(NAMED)},
    {"statement": STRING, "sources": STRINGS, "module": STRING, "verdict_reason": STRING,
     "tiers": STRINGS, "seeds": {"type": "array"}, "duration_s": NUMBER,
     "readings": {"type": "array"}, "cache": {"type": "array"},
     "configurations_tried": {"type": "array"}, "reused_from": {"type": "object"}})
PLANTED_BUG = record({"bug": STRING, "claim": STRING, "caught": {"type": "boolean"},
                      "direct": {"type": "boolean"}, "caught_by": {"type": "array"}},
                     {"what": STRING, "expected_part": STRING})
ENTRY = record({"id": STRING, "verdict": {"enum": [*ENTRY_VERDICTS, "not_checkable",
                                                   "not_covered"]}},
               {"source": STRING, "statement": STRING, "parts": {"type": "array"}})
RESULTS = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "optclaims results file (results.json)",
    **record({"version": {"const": VERSION}, "claims": array_of(CLAIM),
              "environment": {"type": "object"}, "totals": {"type": "object"}},
             {"benchmarks": array_of({"type": "object"}), "planted_bugs": array_of(PLANTED_BUG),
              "catalogue": record({}, {"entries": array_of(ENTRY)}),
              "timing": {"type": "object"}}),
}


@functools.cache
def _validator():
    import jsonschema
    cls = jsonschema.validators.validator_for(RESULTS)
    cls.check_schema(RESULTS)
    return cls(RESULTS)


def first_mismatch(results) -> str | None:
    """Where ``results`` first departs from the schema, in one line ("claims[3].verdict: 'yes' is
    not one of [...]"), or None when it matches."""
    import jsonschema
    error = jsonschema.exceptions.best_match(_validator().iter_errors(results))
    if error is None:
        return None
    where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.path).lstrip(".")
    message = error.message if len(error.message) < 160 else error.message[:157] + "..."
    return f"{where or 'the top level'}: {message}"
