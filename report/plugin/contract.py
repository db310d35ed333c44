"""The claim contract a module must keep, checked at collection: a module declares ``CLAIM`` (or
``CLAIMS``) with its parts; each test backs exactly one declared part (benchmarks none); a known
non-reproduction is a strict xfail that declares its readings. Also what a test is: its tier,
its claim, whether it is a benchmark."""

from __future__ import annotations


def tier_of(item) -> str:
    if item.get_closest_marker("gpu"):
        return "gpu"
    if item.get_closest_marker("slow"):
        return "slow"
    return "default"


CLAIM_KEYS = ("id", "title", "statement", "sources", "parts", "configurations_tried",
              "torch_threads", "kind", "document", "document_says", "correction")


def module_claims(module) -> list[dict]:
    """A module's claims: its ``CLAIMS`` list, or its single ``CLAIM``."""
    claims = getattr(module, "CLAIMS", None)
    if claims is None:
        claim = getattr(module, "CLAIM", None)
        claims = [claim] if claim else []
    return list(claims)


def claim_of(item) -> dict | None:
    """The claim a test belongs to: the one that declares its part (or, for a benchmark, the
    one named by ``@pytest.mark.claim(id)``, or the module's only claim)."""
    claims = module_claims(getattr(item, "module", None))
    if not claims:
        return None
    if len(claims) == 1:
        return claims[0]
    claim_mark, part_mark = item.get_closest_marker("claim"), item.get_closest_marker("part")
    if claim_mark and claim_mark.args:
        return next((c for c in claims if c["id"] == claim_mark.args[0]), None)
    if part_mark and part_mark.args:
        return next((c for c in claims if any(p["id"] == part_mark.args[0]
                                              for p in c.get("parts", []))), None)
    return None


def claim_meta(item) -> dict | None:
    claim = claim_of(item)
    if not claim:
        return None
    meta = {k: claim[k] for k in CLAIM_KEYS if k in claim}
    meta["module"] = item.nodeid.split("::")[0]
    return meta


def is_benchmark(item) -> bool:
    return "benchmark" in getattr(item, "fixturenames", ())


def part_problems(item, claim: dict | None) -> list[str]:
    """What is wrong with how ``item`` declares its claim, its part and its known
    non-reproductions."""
    if claim is None:
        return ["belongs to none of the module's CLAIMS: back a part one of them declares (a "
                "benchmark: @pytest.mark.claim(<id>))"]
    problems = []
    declared = {p["id"] for p in claim.get("parts", [])}
    marks = list(item.iter_markers("part"))
    if is_benchmark(item):
        if marks:
            problems.append("a benchmark backs no part (speed never gates a verdict)")
    elif len(marks) != 1 or len(marks[0].args) != 1:
        problems.append("needs exactly one @pytest.mark.part(<part id>)")
    elif marks[0].args[0] not in declared:
        problems.append(f"backs part {marks[0].args[0]!r}, which CLAIM does not declare "
                        f"(declared: {sorted(declared)})")
    for mark in item.iter_markers("xfail"):
        if mark.kwargs.get("strict") is not True or mark.kwargs.get("raises") is not AssertionError:
            problems.append("a known non-reproduction must be xfail(strict=True, "
                            "raises=AssertionError): use claim.known_non_reproduction(reason)")
    backed = next((p for p in claim.get("parts", []) if marks and marks[0].args
                   and p["id"] == marks[0].args[0]), None)
    if item.get_closest_marker("xfail") and backed is not None and not backed.get("readings"):
        problems.append(f"part {backed['id']!r} is a known non-reproduction: declare the "
                        "readings tried (claim.reading)")
    return problems


def module_problems(module) -> list[str]:
    """Part ids must be unique across a module's claims (a test names only its part)."""
    seen, problems = {}, []
    for claim in module_claims(module):
        for p in claim.get("parts", []):
            if p["id"] in seen:
                problems.append(f"{module.__name__}: part {p['id']!r} declared by both "
                                f"{seen[p['id']]!r} and {claim['id']!r}")
            seen[p["id"]] = claim["id"]
    return problems
