"""Quiz question types: the registry that spec, grading, interactive, answers and moodle look
a question's `type:` up in. Each type is one class in a module of its own, type_<name>.py,
beside this one (what a class does: type_base.py).

A new type: its module, with a BaseType subclass (its keys and checks, judge, prompt,
template words and Moodle question), its entry in QUESTION_TYPES and its name in
QuestionType, below. Then say it in docs/quizzes.md ("Question types") and in the
schema's `type` enum (grader/schema/quiz.schema.json, with any keys of its own);
tests/test_question_types.py fails until both are there.
"""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING

from grader.quiz.type_base import BaseType, Flaw, Judged, Key
from grader.quiz.type_choice import Multiple, Single
from grader.quiz.type_numeric import Numeric
from grader.quiz.type_truefalse import TrueFalse

if TYPE_CHECKING:
    from grader.quiz.spec import Question

__all__ = ["QUESTION_TYPES", "BaseType", "Flaw", "Judged", "Key", "QuestionType", "type_of"]

#: `type:` in a quiz file -> the class that checks, judges, asks, templates and exports it.
QUESTION_TYPES: dict[str, type[BaseType]] = {
    "numeric": Numeric,
    "single": Single,
    "multiple": Multiple,
    "truefalse": TrueFalse,
}


class QuestionType(str, Enum):
    """A question's `type:` as a loaded question holds it: one member per QUESTION_TYPES
    entry, for code that compares types by name."""

    NUMERIC = "numeric"
    SINGLE = "single"
    MULTIPLE = "multiple"
    TRUEFALSE = "truefalse"


def type_of(question: Question) -> type[BaseType]:
    """The class of a question's type."""
    return QUESTION_TYPES[question.type]
