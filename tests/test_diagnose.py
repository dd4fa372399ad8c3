"""Diagnosis: which known mistake explains a student's numbers, and honesty when none does."""

from __future__ import annotations

import math

from grader.compare import Expected
from grader.diagnose import Evidence, agrees, diagnose
from grader.spec import Mistake, Tolerance

TOL = Tolerance(rtol=1e-4, atol=1e-9)


def mistake(mistake_id: str) -> Mistake:
    return Mistake(mistake_id, mistake_id, f"hint for {mistake_id}", "solutions.x.y", "x:1")


def test_agrees_matches_non_finite_with_non_finite_only() -> None:
    assert agrees(math.nan, Expected.exact(math.nan), TOL)
    assert agrees(math.inf, Expected.exact(math.inf), TOL)
    # 0 * log(0) = NaN or log(0) = infinity: the same missing clip, written two ways.
    assert agrees(math.inf, Expected.exact(math.nan), TOL)
    assert not agrees(1.0, Expected.exact(math.nan), TOL)
    assert not agrees(1.0, Expected.exact(math.inf), TOL)
    assert not agrees(math.nan, Expected.exact(1.0), TOL)
    assert not agrees(1.0, None, TOL)


def test_agrees_uses_the_tolerance_and_intervals() -> None:
    assert agrees(0.32193, Expected.exact(0.3219280948873623), TOL)
    assert not agrees(0.2231, Expected.exact(0.3219280948873623), TOL)
    assert agrees(20.0, Expected(11.5, 34.5), TOL)


def test_a_mistake_must_agree_on_every_failing_case() -> None:
    evidence = [Evidence("a", 1.0, TOL, False), Evidence("b", 2.0, TOL, False)]
    answers = [
        (mistake("both"), {"a": Expected.exact(1.0), "b": Expected.exact(2.0)}),
        (mistake("one"), {"a": Expected.exact(1.0), "b": Expected.exact(3.0)}),
    ]
    found = diagnose(evidence, answers)
    assert found.failing == 2
    assert [m.mistake.id for m in found.matches] == ["both"]


def test_ties_are_broken_by_the_cases_the_student_got_right() -> None:
    evidence = [Evidence("edge", math.inf, TOL, False), Evidence("ok", 0.5, TOL, True)]
    answers = [
        (mistake("no_clip"), {"edge": Expected.exact(math.inf), "ok": Expected.exact(math.inf)}),
        (mistake("low_only"), {"edge": Expected.exact(math.inf), "ok": Expected.exact(0.5)}),
    ]
    assert [m.mistake.id for m in diagnose(evidence, answers).matches] == ["low_only"]


def test_two_equally_good_explanations_are_both_named() -> None:
    evidence = [Evidence("a", 1.0, TOL, False)]
    answers = [
        (mistake("x"), {"a": Expected.exact(1.0)}),
        (mistake("y"), {"a": Expected.exact(1.0)}),
    ]
    assert [m.mistake.id for m in diagnose(evidence, answers).matches] == ["x", "y"]


def test_no_match_is_reported_as_none_not_a_guess() -> None:
    evidence = [Evidence("a", 7.0, TOL, False)]
    found = diagnose(evidence, [(mistake("x"), {"a": Expected.exact(1.0)})])
    assert found.failing == 1
    assert found.matches == ()
