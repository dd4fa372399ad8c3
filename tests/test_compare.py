from __future__ import annotations

import math

import pytest

from conftest import REPO
from grader.exercise import feedback
from grader.exercise.compare import Expected, Finding, apart, compare, within
from grader.exercise.spec import Tolerance, load_exercise

TOL = Tolerance(rtol=1e-4, atol=1e-9)


def test_within_uses_numpy_isclose_semantics_relative_to_the_expected_value() -> None:
    # |a - b| <= atol + rtol * |b|, with b the expected value: asymmetric on purpose.
    assert within(1.0001, 1.0, Tolerance(rtol=1e-4, atol=0.0))
    assert not within(1.00011, 1.0, Tolerance(rtol=1e-4, atol=0.0))
    assert within(0.0, 1e-10, TOL)
    assert not within(1e-6, 0.0, TOL)


def test_compare_accepts_float32_rounding_and_rejects_log_base_2() -> None:
    expected = Expected.exact(0.2231435513142097)
    assert compare(0.22314355, expected, TOL).passed
    verdict = compare(0.3219280948873623, expected, TOL)
    assert not verdict.passed
    assert verdict.abs_error == pytest.approx(0.0987845435731526)
    assert verdict.rel_error == pytest.approx(0.44269504, rel=1e-6)


def test_compare_rejects_nan_and_infinity_and_feedback_hints_at_their_cause() -> None:
    expected = Expected.exact(1.0)
    ex01 = load_exercise(REPO / "exercises" / "ex01.yaml").hints
    for value, found in ((math.nan, Finding.NAN), (math.inf, Finding.INFINITE)):
        verdict = compare(value, expected, TOL)
        assert not verdict.passed
        assert verdict.finding is found
        assert verdict.abs_error is None
        # grader's default names what makes the value, and no remedy of one loss ...
        words = feedback.finding(found)
        assert words.hint is not None
        assert "find the step of your computation that makes one" in words.hint
        assert "clip" not in words.hint
        # ... which an exercise of probabilities gives in its own hints: clip before the log.
        own = feedback.finding(found, hints=ex01)
        assert own.hint is not None
        assert "clip the predictions to [eps, 1 - eps]" in own.hint
    assert "NaN" in feedback.finding(Finding.NAN).message
    negative = feedback.finding(Finding.INFINITE, -math.inf)
    assert negative.message == "wrong value (negative infinity)"
    assert feedback.finding(Finding.INFINITE, math.inf).message == "wrong value (infinity)"


def test_compare_accepts_any_value_inside_an_interval_and_measures_distance_outside() -> None:
    expected = Expected(11.5, 34.5)
    assert compare(16.1, expected, TOL).passed
    assert compare(34.5, expected, TOL).passed
    verdict = compare(40.0, expected, TOL)
    assert not verdict.passed
    assert verdict.abs_error == pytest.approx(5.5)
    assert verdict.finding is Finding.OUTSIDE_RANGE
    assert "range" in feedback.finding(verdict.finding).message


def test_compare_names_a_missing_minus_sign() -> None:
    verdict = compare(-0.35667494393873245, Expected.exact(0.35667494393873245), TOL)
    assert not verdict.passed
    assert verdict.finding is Finding.OPPOSITE_SIGN
    hint = feedback.finding(verdict.finding).hint
    assert hint is not None
    assert "minus" in hint


def test_compare_refuses_a_non_finite_reference() -> None:
    with pytest.raises(ValueError, match="non-finite"):
        compare(1.0, Expected.exact(math.inf), TOL)


def test_relative_error_against_zero_is_infinite_unless_exact() -> None:
    assert compare(0.0, Expected.exact(0.0), TOL).rel_error == 0.0
    assert compare(1.0, Expected.exact(0.0), TOL).rel_error == math.inf


def test_apart_is_symmetric_and_treats_non_finite_answers_as_one() -> None:
    tol = Tolerance(rtol=1e-3, atol=0.0)
    one, close, far = Expected.exact(1.0), Expected.exact(1.0009), Expected.exact(1.01)
    assert not apart(one, close, tol)
    assert not apart(close, one, tol)
    assert apart(one, far, tol)
    assert apart(far, one, tol)
    assert not apart(Expected(0.9, 1.1), one, tol)  # inside an interval
    assert apart(Expected(0.9, 0.95), one, tol)
    nan, inf = Expected.exact(math.nan), Expected.exact(math.inf)
    assert apart(one, inf, tol)
    assert not apart(nan, inf, tol)
