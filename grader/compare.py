"""Comparison step of the flow: a student's number against the reference, in the grader.

numpy.isclose semantics, |got - expected| <= atol + rtol * |expected|, the tolerance taken
relative to the reference, never to the student's value. NaN and infinity always fail with
their own message: NaN compares unequal to everything and would otherwise read as "wrong
by NaN".
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from grader.spec import Tolerance


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


@dataclass(frozen=True)
class Verdict:
    passed: bool
    #: Distance from the expected value (or interval); None when not a finite number.
    abs_error: float | None
    #: abs_error relative to the nearest expected value; inf when that value is 0.
    rel_error: float | None
    reason: str
    hint: str | None = None


def within(actual: float, target: float, tol: Tolerance) -> bool:
    """numpy.isclose for one pair of finite numbers."""
    return abs(actual - target) <= tol.atol + tol.rtol * abs(target)


def compare(actual: float, expected: Expected, tol: Tolerance) -> Verdict:
    """Judge one finite or non-finite float against the reference's answer."""
    if not (math.isfinite(expected.low) and math.isfinite(expected.high)):
        raise ValueError(f"the reference gave a non-finite value {expected}")
    if math.isnan(actual):
        return Verdict(
            False,
            None,
            None,
            "got NaN (not a number)",
            "NaN comes from 0 * log(0) or from log of a negative number: clip the "
            "predictions to [eps, 1 - eps] before taking the log.",
        )
    if math.isinf(actual):
        return Verdict(
            False,
            None,
            None,
            f"got {'-' if actual < 0 else ''}infinity",
            "log(0) is -infinity: clip the predictions to [eps, 1 - eps] before the log.",
        )
    nearest = min(max(actual, expected.low), expected.high)
    distance = abs(actual - nearest)
    rel = distance / abs(nearest) if nearest != 0 else (0.0 if distance == 0 else math.inf)
    if within(actual, nearest, tol):
        return Verdict(True, distance, rel, "within tolerance")
    hint = None
    if expected.is_exact and expected.low != 0 and within(-actual, expected.low, tol):
        hint = "Your value has the opposite sign: the loss has a minus sign in front."
    where = "outside the accepted range" if not expected.is_exact else "not within tolerance"
    return Verdict(False, distance, rel, f"wrong value ({where})", hint)
