"""Diagnosis step of the flow: which known mistake, if any, explains a student's results.

Pure: it compares numbers the student returned with numbers the mistake variants gave on
the same inputs (computed in the grader, never in the sandbox). A mistake is named only on
evidence: it must agree with every failing case, be contradicted by no passing one, and
rest on at least one failing case that sets it apart from the right answer. Where several qualify
equally, all are named; where none does, the diagnosis says so rather than guess.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from grader.exercise.compare import Expected, within
from grader.exercise.spec import Mistake, Tolerance


@dataclass(frozen=True)
class Evidence:
    """One case the student returned a number on, whether it passed, and what was right."""

    case_id: str
    actual: float
    tolerance: Tolerance
    passed: bool
    #: The reference's accepted answer: one value, or the interval of a clip-range case.
    accepted: Expected


@dataclass(frozen=True)
class Match:
    mistake: Mistake
    #: Failing cases that tell this mistake from the right answer: what the naming rests on.
    cases: int


@dataclass(frozen=True)
class Diagnosis:
    #: Failing cases with a number to compare; 0 means nothing could be diagnosed.
    failing: int
    matches: tuple[Match, ...]
    #: The failing cases the named mistakes explain (every failing case with a number).
    explained: tuple[str, ...] = ()


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


def _apart(answer: Expected, accepted: Expected, tolerance: Tolerance) -> bool:
    """Whether a mistake's answer lies outside the accepted one: only then can the case show
    the mistake at all (sum and mean agree at N = 1; a missing minus is invisible at 0)."""
    if not (math.isfinite(answer.low) and math.isfinite(answer.high)):
        return True
    if answer.high < accepted.low:
        return not within(answer.high, accepted.low, tolerance)
    if answer.low > accepted.high:
        return not within(answer.low, accepted.high, tolerance)
    return False


def _narrow(interval: Expected, tolerance: Tolerance) -> bool:
    if not (math.isfinite(interval.low) and math.isfinite(interval.high)):
        return True
    return within(interval.high, interval.low, tolerance)


def decisive(answer: Expected | None, evidence: Evidence) -> bool:
    """Whether agreeing with a mistake on this failing case is evidence of that mistake.

    The case must set the mistake apart from the right answer, and one of the two answers
    must be sharp: agreeing with a wide interval (a mistake run over the whole accepted
    range of clipping constants) on a case whose accepted answer is itself a wide interval
    says little, since correct code with another constant lands there too.
    """
    if answer is None or not _apart(answer, evidence.accepted, evidence.tolerance):
        return False
    return _narrow(evidence.accepted, evidence.tolerance) or _narrow(answer, evidence.tolerance)


def _contradicts(answer: Expected | None, evidence: Evidence) -> bool:
    """Whether a case the student passed rules a mistake out: the mistake gives a number
    there (infinity included) and the student's is another. NaN rules nothing out: it is
    the 0 * log(0) of how the variant was written, which student code may avoid."""
    if answer is None or math.isnan(answer.low) or math.isnan(answer.high):
        return False
    return not agrees(evidence.actual, answer, evidence.tolerance)


def _rank(
    by_case: Mapping[str, Expected | None], failing: Sequence[Evidence], passing: Sequence[Evidence]
) -> tuple[int, int] | None:
    """How well one form of a mistake explains the evidence: (passing cases it agrees
    with, failing cases decisive for it); None when it does not qualify."""
    if not all(agrees(f.actual, by_case.get(f.case_id), f.tolerance) for f in failing):
        return None
    if any(_contradicts(by_case.get(p.case_id), p) for p in passing):
        return None
    weight = sum(decisive(by_case.get(f.case_id), f) for f in failing)
    if not weight:
        return None
    support = sum(agrees(p.actual, by_case.get(p.case_id), p.tolerance) for p in passing)
    return support, weight


def diagnose(
    evidence: Sequence[Evidence],
    answers: Sequence[tuple[Mistake, Mapping[str, Expected | None]]],
) -> Diagnosis:
    """The declared mistakes the evidence points to; none rather than a guess.

    `answers` holds each mistake in every form it is computed in (a mistake may appear
    several times: written naively or stably, in the inputs' dtype or in float64). A form
    qualifies when (1) it agrees with the student on every failing case, (2) no case the
    student passed contradicts it (see `_contradicts`), and (3) at least one failing case
    is decisive for it (see `decisive`); a mistake qualifies through its best form, held
    to that one form on every case (code computes one way throughout). Among several,
    those that also agree on the most passing cases, then rest on the most decisive
    cases, are named: a mistake that cannot say what the student did on a passing case
    explains less.
    """
    failing = [e for e in evidence if not e.passed]
    passing = [e for e in evidence if e.passed]
    ranked: dict[str, tuple[tuple[int, int], Mistake]] = {}
    for mistake, by_case in answers:
        if not failing:
            break
        rank = _rank(by_case, failing, passing)
        if rank is None:
            continue
        if mistake.id not in ranked or rank > ranked[mistake.id][0]:
            ranked[mistake.id] = (rank, mistake)
    best = max((rank for rank, _ in ranked.values()), default=(0, 0))
    matches = tuple(Match(m, rank[1]) for rank, m in ranked.values() if rank == best)
    explained = tuple(f.case_id for f in failing) if matches else ()
    return Diagnosis(failing=len(failing), matches=matches, explained=explained)
