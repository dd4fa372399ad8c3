"""Comparison step of the flow: a student's number against the reference, in the grader.

numpy.isclose semantics, |got - expected| <= atol + rtol * |expected|, the tolerance taken
relative to the reference, never to the student's value. NaN and infinity always fail as
findings of their own: NaN compares unequal to everything and would otherwise read as
"wrong by NaN". The words for each finding live in grader/exercise/feedback.py.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum

from grader.exercise.spec import Tolerance


@dataclass(frozen=True)
class Expected:
    """The reference's answer: one value, or an interval when several answers are right."""

    low: float
    high: float

    @classmethod
    def exact(cls, value: float) -> Expected:
        return cls(value, value)

    @property
    def is_exact(self) -> bool:
        return self.low == self.high


class Finding(str, Enum):
    """What a comparison found; grader/exercise/feedback.py words it for the student."""

    WITHIN = "within"
    NAN = "nan"
    INFINITE = "infinite"
    WRONG_VALUE = "wrong_value"  # outside the tolerance of the one expected value
    OUTSIDE_RANGE = "outside_range"  # outside the accepted interval
    OPPOSITE_SIGN = "opposite_sign"  # a wrong value whose negation is right


@dataclass(frozen=True)
class Verdict:
    passed: bool
    #: Distance from the expected value (or interval); None when not a finite number.
    abs_error: float | None
    #: abs_error relative to the nearest expected value; inf when that value is 0.
    rel_error: float | None
    finding: Finding


def within(actual: float, target: float, tol: Tolerance) -> bool:
    """numpy.isclose for one pair of finite numbers."""
    return abs(actual - target) <= tol.atol + tol.rtol * abs(target)


def apart(a: Expected, b: Expected, tol: Tolerance) -> bool:
    """Whether two answers can be told apart: neither within tolerance of the other, taken
    either way round (the rule is asymmetric); a finite answer and a non-finite one are
    apart, two non-finite ones are not. Shared by selftest (mistakes that look alike) and
    quiz variants (misconceptions that collide)."""
    finite_a = math.isfinite(a.low) and math.isfinite(a.high)
    finite_b = math.isfinite(b.low) and math.isfinite(b.high)
    if not (finite_a and finite_b):
        return finite_a != finite_b
    if a.high < b.low:
        return not (within(a.high, b.low, tol) or within(b.low, a.high, tol))
    if b.high < a.low:
        return not (within(b.high, a.low, tol) or within(a.low, b.high, tol))
    return False


def compare(actual: float, expected: Expected, tol: Tolerance) -> Verdict:
    """Judge one finite or non-finite float against the reference's answer."""
    if not (math.isfinite(expected.low) and math.isfinite(expected.high)):
        raise ValueError(f"the reference gave a non-finite value {expected}")
    if math.isnan(actual):
        return Verdict(False, None, None, Finding.NAN)
    if math.isinf(actual):
        return Verdict(False, None, None, Finding.INFINITE)
    nearest = min(max(actual, expected.low), expected.high)
    distance = abs(actual - nearest)
    rel = distance / abs(nearest) if nearest != 0 else (0.0 if distance == 0 else math.inf)
    if within(actual, nearest, tol):
        return Verdict(True, distance, rel, Finding.WITHIN)
    if expected.is_exact and expected.low != 0 and within(-actual, expected.low, tol):
        return Verdict(False, distance, rel, Finding.OPPOSITE_SIGN)
    finding = Finding.WRONG_VALUE if expected.is_exact else Finding.OUTSIDE_RANGE
    return Verdict(False, distance, rel, finding)
