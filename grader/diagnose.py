"""Diagnosis step of the flow: which known mistake, if any, explains a student's results.

Pure: it compares numbers the student returned with numbers the mistake variants gave on
the same inputs (computed in the grader, never in the sandbox). A mistake is named only
when it agrees with the student on every failing case where the student returned a
number; where several agree, all are named; where none does, the diagnosis says so.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from grader.compare import Expected, within
from grader.spec import Mistake, Tolerance


@dataclass(frozen=True)
class Evidence:
    """One case the student returned a number on, and whether it passed."""

    case_id: str
    actual: float
    tolerance: Tolerance
    passed: bool


@dataclass(frozen=True)
class Match:
    mistake: Mistake
    cases: int


@dataclass(frozen=True)
class Diagnosis:
    #: Failing cases with a number to compare; 0 means nothing could be diagnosed.
    failing: int
    matches: tuple[Match, ...]


def agrees(actual: float, answer: Expected | None, tolerance: Tolerance) -> bool:
    """Whether a student's number is what a mistake gives: a finite value within tolerance of
    the mistake's value (or interval), or non-finite where the mistake is non-finite.

    NaN and the infinities count as one: whether a missing clip shows as NaN (0 * log 0) or
    as infinity (log 0) depends on how the sum was written, not on the mistake.
    """
    if answer is None:
        return False
    low, high = answer.low, answer.high
    if not (math.isfinite(low) and math.isfinite(high)):
        return not math.isfinite(actual)
    if not math.isfinite(actual):
        return False
    nearest = min(max(actual, low), high)
    return within(actual, nearest, tolerance)


def diagnose(
    evidence: Sequence[Evidence],
    answers: Sequence[tuple[Mistake, Mapping[str, Expected | None]]],
) -> Diagnosis:
    """Match the failing cases against every declared mistake.

    A mistake must agree with the student on every failing case. Among those that do, the
    ones that also agree on the most passing cases win: a mistake that gets wrong a case the
    student got right (no clipping at all, for a student who clipped one side) explains less.
    """
    failing = [e for e in evidence if not e.passed]
    passing = [e for e in evidence if e.passed]
    scored = []
    if failing:
        for mistake, by_case in answers:
            if all(agrees(f.actual, by_case.get(f.case_id), f.tolerance) for f in failing):
                agree = sum(agrees(p.actual, by_case.get(p.case_id), p.tolerance) for p in passing)
                scored.append((agree, mistake))
    best = max((agree for agree, _ in scored), default=0)
    matches = tuple(Match(m, len(failing)) for agree, m in scored if agree == best)
    return Diagnosis(failing=len(failing), matches=matches)
