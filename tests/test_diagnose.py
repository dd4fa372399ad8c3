"""Diagnosis: which known mistake explains a student's numbers, and honesty when none does."""

from __future__ import annotations

import math

from grader.exercise.compare import Expected
from grader.exercise.diagnose import Evidence, agrees, diagnose
from grader.exercise.spec import Mistake, Tolerance

TOL = Tolerance(rtol=1e-4, atol=1e-9)


def evidence(case_id: str, actual: float, passed: bool, accepted: Expected | float) -> Evidence:
    right = accepted if isinstance(accepted, Expected) else Expected.exact(accepted)
    return Evidence(case_id, actual, TOL, passed, right)


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


def evidence_b() -> Evidence:
    return evidence("b", 2.0, False, 5.0)


def test_a_mistake_must_agree_on_every_failing_case() -> None:
    evidence = [Evidence("a", 1.0, TOL, False, Expected.exact(5.0)), evidence_b()]
    answers = [
        (mistake("both"), {"a": Expected.exact(1.0), "b": Expected.exact(2.0)}),
        (mistake("one"), {"a": Expected.exact(1.0), "b": Expected.exact(3.0)}),
    ]
    found = diagnose(evidence, answers)
    assert found.failing == 2
    assert [m.mistake.id for m in found.matches] == ["both"]


def test_a_mistake_that_explains_fewer_passing_cases_loses_the_tie() -> None:
    evidence_ = [evidence("edge", math.inf, False, 0.7), evidence("ok", 0.5, True, 0.5)]
    answers = [
        (mistake("no_clip"), {"edge": Expected.exact(math.inf), "ok": Expected.exact(math.inf)}),
        (mistake("low_only"), {"edge": Expected.exact(math.inf), "ok": Expected.exact(0.5)}),
    ]
    assert [m.mistake.id for m in diagnose(evidence_, answers).matches] == ["low_only"]


def test_two_equally_good_explanations_are_both_named() -> None:
    answers = [
        (mistake("x"), {"a": Expected.exact(1.0)}),
        (mistake("y"), {"a": Expected.exact(1.0)}),
    ]
    found = diagnose([evidence("a", 1.0, False, 2.0)], answers)
    assert [m.mistake.id for m in found.matches] == ["x", "y"]


def test_no_match_is_reported_as_none_not_a_guess() -> None:
    found = diagnose([evidence("a", 7.0, False, 2.0)], [(mistake("x"), {"a": Expected.exact(1.0)})])
    assert found.failing == 1
    assert found.matches == ()
    assert found.explained == ()


def test_a_mistake_contradicted_by_a_finite_value_on_a_passing_case_is_not_named() -> None:
    cases = [evidence("big", 12.0, False, 8.3), evidence("ok", 0.5, True, 0.5)]
    answers = [(mistake("log2"), {"big": Expected.exact(12.0), "ok": Expected.exact(0.72)})]
    assert diagnose(cases, answers).matches == ()


def test_a_nan_mistake_answer_on_a_passing_case_rules_nothing_out() -> None:
    # No clipping written with np.where: finite where the declared variant gives 0 * log 0.
    cases = [evidence("edge", math.inf, False, Expected(6.0, 18.3)), evidence("ok", 0.1, True, 0.1)]
    answers = [
        (mistake("no_clip"), {"edge": Expected.exact(math.inf), "ok": Expected.exact(math.nan)})
    ]
    assert [m.mistake.id for m in diagnose(cases, answers).matches] == ["no_clip"]
    # Infinity is log(0) on a term that counts: a student who passed there did not do it.
    answers = [
        (mistake("no_clip"), {"edge": Expected.exact(math.inf), "ok": Expected.exact(math.inf)})
    ]
    assert diagnose(cases, answers).matches == ()


def test_agreeing_with_a_wide_interval_on_a_clip_range_case_alone_names_nothing() -> None:
    # A correct clip outside the accepted range (before it was widened) agreed with log2
    # and swapped_args run over every clipping constant: that is no evidence of either.
    clip_case = evidence("edge", 40.0, False, Expected(11.5, 36.0))
    answers = [
        (mistake("log2"), {"edge": Expected(16.6, 52.0)}),
        (mistake("swapped"), {"edge": Expected(2.0, 45.0)}),
    ]
    found = diagnose([clip_case], answers)
    assert found.matches == ()


def test_a_sharp_answer_on_a_clip_range_case_is_evidence() -> None:
    clip_case = evidence("edge", math.nan, False, Expected(11.5, 36.0))
    found = diagnose([clip_case], [(mistake("no_clip"), {"edge": Expected.exact(math.nan)})])
    assert [(m.mistake.id, m.cases) for m in found.matches] == [("no_clip", 1)]
    assert found.explained == ("edge",)


def test_a_case_where_the_mistake_gives_the_right_answer_is_no_evidence_of_it() -> None:
    # N = 1: the sum is the mean, so this case cannot show sum_not_mean.
    only_n1 = evidence("n1", 0.5, False, 0.2)
    answers = [(mistake("sum_not_mean"), {"n1": Expected.exact(0.2)})]
    assert diagnose([only_n1], answers).matches == ()


def test_the_diagnosis_says_how_many_failing_cases_it_rests_on() -> None:
    cases = [
        evidence("n1", 0.3219, False, 0.2231),
        evidence("big", 12.0, False, 8.3),
        evidence("edge", 20.0, False, Expected(11.5, 36.0)),
    ]
    answers = [
        (
            mistake("log2"),
            {
                "n1": Expected.exact(0.3219),
                "big": Expected.exact(12.0),
                "edge": Expected(16.6, 52.0),
            },
        )
    ]
    found = diagnose(cases, answers)
    assert [(m.mistake.id, m.cases) for m in found.matches] == [("log2", 2)]
    assert found.explained == ("n1", "big", "edge")


def test_a_mistake_is_named_through_any_one_of_its_forms() -> None:
    """Each form of a mistake (naive or stable, in float32 or float64) is an entry of its
    own; the mistake is named once, through the form that agrees."""
    cases = [evidence("f32", 100.0, True, 100.0), evidence("big", math.inf, False, 1000.0)]
    naive = mistake("naive_softplus")
    answers = [
        (naive, {"f32": Expected.exact(math.inf), "big": Expected.exact(math.inf)}),
        (naive, {"f32": Expected.exact(100.0), "big": Expected.exact(math.inf)}),
    ]
    found = diagnose(cases, answers)
    assert [m.mistake.id for m in found.matches] == ["naive_softplus"]
    assert diagnose(cases, answers[:1]).matches == (), "the float32 form alone is contradicted"


def test_a_mistake_is_held_to_one_form_across_the_failing_cases() -> None:
    cases = [evidence("a", 1.0, False, 5.0), evidence("b", 2.0, False, 5.0)]
    mixed = mistake("mixed")
    answers = [
        (mixed, {"a": Expected.exact(1.0), "b": Expected.exact(9.0)}),
        (mixed, {"a": Expected.exact(9.0), "b": Expected.exact(2.0)}),
    ]
    assert diagnose(cases, answers).matches == ()
