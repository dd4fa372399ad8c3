"""A student's answers to a quiz -> the same Report an exercise gives, for every renderer.

Each question is posed as its student sees it (their numbers, their option order), and each
answer judged by its question's type (grader.quiz.types: numbers by the exercises' rule or
by significant figures, misconceptions named; choices with the partial credit each declares).
"""

from __future__ import annotations

import random
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from grader import __version__
from grader.quiz.spec import PLACEHOLDER, Question, Quiz
from grader.quiz.types import Judged as Judged  # here for the verdict's readers
from grader.quiz.types import type_of
from grader.quiz.variants import Loader, Variant, digits_of, make_variant, variant_seed
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

    @property
    def shown(self) -> dict[str, str]:
        """Each parameter as the student reads it, by name."""
        params = self.question.params
        return {
            name: show(value, digits_of(params.get(name, {})))
            for name, value in self.variant.params.items()
        }


def show(value: Any, digits: int | None = None) -> str:
    """A parameter as the student reads it: at the decimals it was drawn to (`digits: 2`
    shows 0.20, not 0.2), else every digit that was drawn."""
    if isinstance(value, list):
        return "[" + ", ".join(show(v, digits) for v in value) + "]"
    if isinstance(value, float):
        return f"{value:.{digits}f}" if digits is not None else repr(value)
    return str(value)


def pose(quiz: Quiz, question: Question, student: str, load: Loader | None) -> Posed:
    variant = make_variant(quiz, question, student, load)
    order = list(range(len(question.options)))
    if question.shuffle and order:
        random.Random(variant.seed ^ 0x5EED).shuffle(order)
    posed = Posed(question, variant, question.text, tuple(order))
    shown = posed.shown
    text = PLACEHOLDER.sub(lambda m: shown.get(m.group(1), m.group(0)), question.text)
    return replace(posed, text=text)


def pose_all(quiz: Quiz, student: str, load: Loader | None) -> list[Posed]:
    return [pose(quiz, q, student, load) for q in quiz.questions]


def judge(posed: Posed, raw: Any, *, practice: bool) -> Judged:
    """An answer as an answers file holds it -> its verdict, by the question's type."""
    if raw is None or (isinstance(raw, str) and not raw.strip()) or raw == []:
        return Judged(0.0, "not answered", None)
    return type_of(posed.question).judge(posed, raw, practice=practice)


def _case(posed: Posed, judged: Judged, raw: Any, practice: bool) -> CaseResult:
    question = posed.question
    kind = type_of(question)
    key = kind.key(posed, practice=practice)
    return CaseResult(
        name=question.id,
        kind=kind.name,
        visibility="visible",
        status=Status.PASSED if judged.score >= question.points else Status.FAILED,
        score=judged.score,
        max_score=question.points,
        message=judged.message,
        hint=judged.hint,
        inputs=posed.shown or None,
        expected_low=key.expected,
        expected_high=key.expected,
        actual=judged.actual,
        actual_type=None,  # an answer's YAML type says nothing to the student
        rtol=key.rtol,
        atol=key.atol,
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
