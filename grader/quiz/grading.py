"""A student's answers to a quiz -> the same Report an exercise gives, for every renderer.

Numbers are judged with the exercises' rule (numpy.isclose semantics) or by significant
figures; a wrong number is checked against the question's misconceptions in order, and the
first that matches names itself, gives its hint and the value it gives for this variant.
Choice questions give partial credit by the rule each declares (formulas in docs/quizzes.md).
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from grader import __version__
from grader.exercise.compare import within
from grader.quiz.spec import PLACEHOLDER, Partial, Question, QuestionType, Quiz
from grader.quiz.variants import Loader, Variant, make_variant, variant_seed
from grader.results import CaseResult, Report, Status


@dataclass(frozen=True)
class Posed:
    """A question as one student sees it: its text with their numbers, their option order."""

    question: Question
    variant: Variant
    text: str
    #: The options in this student's order (indices into question.options).
    order: tuple[int, ...]

    @property
    def letters(self) -> tuple[str, ...]:
        return tuple("abcdefghij"[: len(self.order)])


def show(value: Any) -> str:
    """A parameter as the student reads it: every digit that was drawn, nothing more."""
    if isinstance(value, list):
        return "[" + ", ".join(show(v) for v in value) + "]"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def pose(quiz: Quiz, question: Question, student: str, load: Loader | None) -> Posed:
    variant = make_variant(quiz, question, student, load)
    shown = {name: show(value) for name, value in variant.params.items()}
    text = PLACEHOLDER.sub(lambda m: shown.get(m.group(1), m.group(0)), question.text)
    order = list(range(len(question.options)))
    if question.shuffle and order:
        random.Random(variant.seed ^ 0x5EED).shuffle(order)
    return Posed(question, variant, text, tuple(order))


def pose_all(quiz: Quiz, student: str, load: Loader | None) -> list[Posed]:
    return [pose(quiz, q, student, load) for q in quiz.questions]


# --- judging --------------------------------------------------------------------------------


def significant(text: str) -> int | None:
    """Significant figures written in a number's text (0.0450 -> 3); None: not a number."""
    try:
        number = Decimal(text.strip())
    except InvalidOperation:
        return None
    if not number.is_finite():
        return None
    digits = number.as_tuple().digits
    stripped = list(digits)
    while stripped and stripped[0] == 0:
        stripped.pop(0)
    return max(1, len(stripped))


def _matches(actual: float, target: float, question: Question) -> bool:
    if question.sigfigs is not None:
        if target == 0:
            return actual == 0
        unit = 10.0 ** (math.floor(math.log10(abs(target))) - question.sigfigs + 1)
        return abs(actual - target) <= 0.5 * unit * (1 + 1e-9)
    return within(actual, target, question.tolerance)


@dataclass(frozen=True)
class Judged:
    score: float
    message: str
    hint: str | None
    actual: float | None = None


def _numeric(posed: Posed, raw: Any, practice: bool) -> Judged:
    question, variant = posed.question, posed.variant
    text = str(raw).strip()
    try:
        actual = float(text)
    except ValueError:
        return Judged(0.0, f"{text!r} is not a number", "Write a number, e.g. 0.2231.")
    if not math.isfinite(actual):
        return Judged(0.0, f"{text} is not a finite number", None)
    right = variant.answer
    if right is None:
        return Judged(0.0, "no key for this question here: it is graded in the course's CI", None)
    given = significant(text)
    required = question.sigfigs
    if required is not None and given is not None and given < required:
        if _close_at(actual, right, given):
            return _too_few(given, required, actual)
    elif _matches(actual, right, question):
        return Judged(question.points, "correct", question.feedback.get("correct"), actual)
    for m in question.misconceptions:
        wrong = variant.wrong.get(m.id)
        if wrong is not None and _matches(actual, wrong, question):
            message = f"this is what {m.title} gives ({wrong:.6g})"
            return Judged(question.points * m.credit, message, m.hint, actual)
    if given is not None and _close_at(actual, right, given):
        return _too_few(given, required or _figures_needed(right, question), actual)
    where = f" (the answer is {right:.6g})" if practice else ""
    return Judged(0.0, f"wrong value{where}", question.feedback.get("wrong"), actual)


def _too_few(given: int, needed: int, actual: float) -> Judged:
    figures = f"{given} significant figure{'s' if given != 1 else ''}"
    return Judged(
        0.0,
        f"close, but {figures} {'are' if given != 1 else 'is'} too few",
        f"Give at least {needed} significant figures.",
        actual,
    )


def _close_at(actual: float, right: float, figures: int) -> bool:
    """Whether `right`, rounded to the figures the student wrote, is what they wrote."""
    if right == 0 or actual == 0:
        return False
    unit = 10.0 ** (math.floor(math.log10(abs(right))) - figures + 1)
    return abs(actual - right) <= 0.5 * unit * (1 + 1e-9)


def _figures_needed(right: float, question: Question) -> int:
    """Significant figures that bring rounding within the question's tolerance."""
    for figures in range(1, 16):
        unit = 10.0 ** (math.floor(math.log10(abs(right))) - figures + 1) if right else 0.0
        if 0.5 * unit <= question.tolerance.atol + question.tolerance.rtol * abs(right):
            return figures
    return 16


def letters_of(raw: Any) -> list[str] | None:
    """'b', 'a, c', ['a', 'c'] -> letters in order; None for an answer that is not letters."""
    items = raw if isinstance(raw, list) else str(raw).replace(",", " ").split()
    out = []
    for item in items:
        letter = str(item).strip().lower().rstrip(")")
        if len(letter) != 1 or not letter.isalpha():
            return None
        out.append(letter)
    return out


def _choice(posed: Posed, raw: Any, practice: bool) -> Judged:
    question = posed.question
    picked = letters_of(raw)
    letters = posed.letters
    if picked is None or any(p not in letters for p in picked):
        return Judged(0.0, f"{raw!r} is not one of the letters {', '.join(letters)}", None)
    if question.type is QuestionType.SINGLE and len(picked) != 1:
        return Judged(0.0, "pick exactly one option", None)
    chosen = {posed.order[letters.index(p)] for p in picked}
    right = {i for i, o in enumerate(question.options) if o.correct}
    n = len(question.options)
    if question.type is QuestionType.SINGLE or question.partial is Partial.OFF:
        fraction = 1.0 if chosen == right else 0.0
    elif question.partial is Partial.NET_CORRECT:
        fraction = max(0.0, (len(chosen & right) - len(chosen - right)) / len(right))
    elif question.partial is Partial.COVERAGE:
        fraction = len(chosen & right) / len(right) if not chosen - right else 0.0
    else:  # each-answer: every option judged, chosen or not
        fraction = sum((i in chosen) == (i in right) for i in range(n)) / n
    notes = [question.options[i].feedback for i in sorted(chosen) if question.options[i].feedback]
    hint = " ".join(n for n in notes if n) or None
    if fraction == 1.0:
        return Judged(question.points, "correct", hint)
    key = ""
    if practice:
        key = (
            " (right: "
            + ", ".join(letters[posed.order.index(i)] for i in sorted(right, key=posed.order.index))
            + ")"
        )
    message = "partly right" + key if fraction > 0 else "wrong" + key
    return Judged(question.points * fraction, message, hint)


def _truefalse(posed: Posed, raw: Any, practice: bool) -> Judged:
    question = posed.question
    value = {"true": True, "t": True, "yes": True, "false": False, "f": False, "no": False}.get(
        str(raw).strip().lower()
    )
    if value is None:
        return Judged(0.0, f"{raw!r} is neither true nor false", None)
    hint = question.feedback.get("true" if value else "false")
    if value == question.truth:
        return Judged(question.points, "correct", hint)
    key = f" (it is {str(question.truth).lower()})" if practice else ""
    return Judged(0.0, "wrong" + key, hint)


def judge(posed: Posed, raw: Any, *, practice: bool) -> Judged:
    if raw is None or (isinstance(raw, str) and not raw.strip()) or raw == []:
        return Judged(0.0, "not answered", None)
    if posed.question.type is QuestionType.NUMERIC:
        return _numeric(posed, raw, practice)
    if posed.question.type is QuestionType.TRUEFALSE:
        return _truefalse(posed, raw, practice)
    return _choice(posed, raw, practice)


def _case(posed: Posed, judged: Judged, raw: Any, practice: bool) -> CaseResult:
    question = posed.question
    full = judged.score >= question.points
    numeric = question.type is QuestionType.NUMERIC
    right = posed.variant.answer if numeric and practice else None
    return CaseResult(
        name=question.id,
        kind=question.type.value,
        visibility="visible",
        status=Status.PASSED if full else Status.FAILED,
        score=judged.score,
        max_score=question.points,
        message=judged.message,
        hint=judged.hint,
        inputs={name: show(v) for name, v in posed.variant.params.items()} or None,
        expected_low=right,
        expected_high=right,
        actual=judged.actual,
        actual_type=None,  # an answer's YAML type says nothing to the student
        # With sigfigs the rule is rounding, which the message and hint state.
        rtol=question.tolerance.rtol if numeric and not question.sigfigs else None,
        atol=question.tolerance.atol if numeric and not question.sigfigs else None,
        seed=posed.variant.seed,
    )


def grade_quiz(
    quiz: Quiz,
    answers: Mapping[str, Any],
    *,
    student: str,
    load: Loader | None,
    submission: str,
) -> Report:
    """Judge every question; an unanswered one scores 0."""
    started = time.monotonic()
    tests = []
    for posed in pose_all(quiz, student, load):
        raw = answers.get(posed.question.id)
        judged = judge(posed, raw, practice=quiz.practice)
        tests.append(_case(posed, judged, raw, quiz.practice))
    return Report(
        exercise=quiz.id,
        title=quiz.title,
        submission=submission,
        seed=variant_seed(quiz.course, quiz.id, "", student),
        score=sum(t.score for t in tests),
        max_score=quiz.points,
        execution_time=time.monotonic() - started,
        tests=tuple(tests),
        backend="quiz",
        grader_version=__version__,
        statement=quiz.intro,
        student=student,
    )
