"""What a claim module imports to declare itself: its parts, references with their kinds, and
known non-reproductions.

A claim module declares::

    CLAIM = {
        "id": "adam-nonconvergence", "title": ..., "statement": ..., "sources": [...],
        "parts": [
            part("adam-fails-online", "effect", "Adam ... goes to the worst point x = +1",
                 source="Reddi et al., Theorem 1"),
            ...
        ],
        # optional: every configuration tried on the way, with its numbers (forking paths)
        "configurations_tried": [tried("...", "...")],
        # optional: torch intra-op threads for this module's tests (shown in results.json)
        "torch_threads": 1,
    }

and each test says which part it backs with ``@pytest.mark.part("adam-fails-online")``.
Benchmarks (tests that use pytest-benchmark's ``benchmark`` fixture) back no part: speed never
gates a verdict.
"""

from __future__ import annotations

import pytest

from .evidence import Reference, figure, make_reading, measured, paper, theory  # noqa: F401
from .verdicts import ROLES


def part(part_id: str, role: str, statement: str, source: str, judges: tuple[str, ...] = (),
         readings: tuple[dict, ...] = ()) -> dict:
    """One sub-statement of a claim: its id, role (see ``verdicts.ROLES``), the statement in our
    words, and the passage of the paper or documents it comes from.

    ``judges``: the ids of the catalogue entries (``claims/catalogue.toml``: the documents'
    sentences) that this part's verdict judges; every effect part names at least one.
    ``readings``: the readings of the sentence tried before this verdict (:func:`reading`); a
    part backed by a known non-reproduction declares them, one at the document's own setting
    among them."""
    if role not in ROLES:
        raise ValueError(f"part {part_id!r}: role {role!r}; use one of {ROLES}")
    return {"id": part_id, "role": role, "statement": statement, "source": source,
            "judges": list(judges), "readings": list(readings)}


def reading(setting: str, value, verdict: str, basis: str, where: str) -> dict:
    """A reading of a part's sentence measured before (or beside) this run: the ``setting``
    tried, the ``value`` it gave, ``verdict`` (holds, does not hold, inconclusive), its
    ``basis`` (document, horizon, direction, paper, ours: ``evidence.READING_BASES``) and
    ``where`` it was measured (a test of a tier, or an earlier measurement with its seeds)."""
    return make_reading(setting, value, verdict, basis, where)


def discrepancy(claim_id: str, title: str, document: str, document_says: str, correction: str,
                sources: list[str], document_part: str, reference_part: str,
                judges: tuple[str, ...] = ()) -> dict:
    """A claim that one of the documents states a formula or constant differently from its
    reference: ``document_says`` (the document's version, a formula at most, quoted), and the
    ``correction``. Its two parts: the effect ``document-differs`` (the document's version, run
    literally, differs from the reference by a stated margin) and the precondition
    ``reference-agrees`` (the reference implementation agrees with ``torch.optim`` or a closed
    form, so the difference is the document's). Shown in the report's discrepancies section.
    ``judges``: the catalogue entries (the misprints) that ``document-differs`` judges."""
    return {"id": claim_id, "title": title, "kind": "discrepancy", "document": document,
            "document_says": document_says, "correction": correction,
            "statement": f"{document} states {document_says}; the reference is {correction}.",
            "sources": sources,
            "parts": [part(f"{claim_id}:document-differs", "effect", document_part, document,
                           judges=judges),
                      part(f"{claim_id}:reference-agrees", "precondition", reference_part,
                           sources[0] if sources else document)]}


def tried(configuration: str, outcome: str, kept: bool = False) -> dict:
    """A configuration tried for the claim, with what it gave (an earlier measurement): the
    report lists every one of them, not only the one kept."""
    return {"configuration": configuration, "outcome": outcome, "kept": kept}


def seed_range(base_seed: int, n: int) -> list[int]:
    """The suite's seed rule: a claim measured over ``n`` seeds uses ``base_seed`` ..
    ``base_seed + n - 1`` (``base_seed`` is the ``seed`` fixture, ``--seed``), so a run at another
    base seed measures on seeds it has not seen."""
    return list(range(base_seed, base_seed + n))


def known_non_reproduction(reason: str):
    """Mark a test whose checks do not hold at our scale: a strict xfail that only an
    AssertionError (a failed check) satisfies. A crash inside it is an error, an inconclusive
    seed statistic a failure, and an unexpected pass fails the run ("now reproduces")."""
    return pytest.mark.xfail(strict=True, raises=AssertionError, reason=reason)
