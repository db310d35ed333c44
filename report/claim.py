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

from .evidence import Reference, figure, measured, paper, theory  # noqa: F401 (re-exported)
from .verdicts import ROLES


def part(part_id: str, role: str, statement: str, source: str) -> dict:
    """One sub-statement of a claim: its id, role (see ``verdicts.ROLES``), the statement in our
    words, and the passage of the paper or documents it comes from."""
    if role not in ROLES:
        raise ValueError(f"part {part_id!r}: role {role!r}; use one of {ROLES}")
    return {"id": part_id, "role": role, "statement": statement, "source": source}


def discrepancy(claim_id: str, title: str, document: str, document_says: str, correction: str,
                sources: list[str], document_part: str, reference_part: str) -> dict:
    """A claim that one of the documents states a formula or constant differently from its
    reference: ``document_says`` (the document's version, a formula at most, quoted), and the
    ``correction``. Its two parts: the effect ``document-differs`` (the document's version, run
    literally, differs from the reference by a stated margin) and the precondition
    ``reference-agrees`` (the reference implementation agrees with ``torch.optim`` or a closed
    form, so the difference is the document's). Shown in the report's discrepancies section."""
    return {"id": claim_id, "title": title, "kind": "discrepancy", "document": document,
            "document_says": document_says, "correction": correction,
            "statement": f"{document} states {document_says}; the reference is {correction}.",
            "sources": sources,
            "parts": [part(f"{claim_id}:document-differs", "effect", document_part, document),
                      part(f"{claim_id}:reference-agrees", "precondition", reference_part,
                           sources[0] if sources else document)]}


def tried(configuration: str, outcome: str, kept: bool = False) -> dict:
    """A configuration tried for the claim, with what it gave (an earlier measurement): the
    report lists every one of them, not only the one kept."""
    return {"configuration": configuration, "outcome": outcome, "kept": kept}


def known_non_reproduction(reason: str):
    """Mark a test whose checks do not hold at our scale: a strict xfail that only an
    AssertionError (a failed check) satisfies. A crash inside it is an error, an inconclusive
    seed statistic a failure, and an unexpected pass fails the run ("now reproduces")."""
    return pytest.mark.xfail(strict=True, raises=AssertionError, reason=reason)
