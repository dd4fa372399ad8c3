"""What a quiz question type is: one class that does for its questions every job that
differs between types, so that spec, grading, interactive, answers and moodle hold none.

The jobs, and who asks:

- **check** (spec): the type's own YAML keys (`keys`; the JSON schema has checked their
  shapes), and the rules the schema cannot say (exactly one correct option...).
- **judge** (grading): a student's answer, as an answers file holds it -> a score, a
  message and a hint; **key**: what the report shows beside it (the right value, the
  tolerance).
- **prompt** and **given** (interactive): the questionary prompt a terminal shows, and its
  answer as an answers file holds it.
- **how** (answers): the template's "answer with ..." words.
- **moodle** (moodle): the Moodle XML question for one variant.

A class is never instantiated: its methods are class methods, found by the question's
`type:` in grader.quiz.types.QUESTION_TYPES; each lives in type_<name>.py.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from xml.etree.ElementTree import Element

    import questionary

    from grader.quiz.grading import Posed
    from grader.quiz.spec import Question, Quiz


@dataclass(frozen=True)
class Flaw:
    """A problem of one question's YAML, at one of its keys (spec adds file:line:col)."""

    key: str
    what: str
    fix: str | None = None


@dataclass(frozen=True)
class Judged:
    """The verdict on one answer, worded as the report and the terminal show it."""

    score: float
    message: str
    hint: str | None
    actual: float | None = None


@dataclass(frozen=True)
class Key:
    """What a report shows beside a student's answer: the right value (None: not shown)
    and the tolerance it was judged with (None: not a tolerance, or not a number)."""

    expected: float | None = None
    rtol: float | None = None
    atol: float | None = None


class BaseType(ABC):
    """One `type:` of quiz question. A subclass sets the four class variables and writes
    the abstract methods; `key` and `given` have defaults that fit most types."""

    #: The `type:` value in a quiz file: the key in QUESTION_TYPES and the report's `kind`.
    name: ClassVar[str]
    #: The question keys only this type takes; a question of another type refuses them.
    keys: ClassVar[frozenset[str]]
    #: The answers file's words after "answer with" (`grade qNN --template`).
    how: ClassVar[str]
    #: The terminal prompt's words.
    ask: ClassVar[str]

    @classmethod
    @abstractmethod
    def check(cls, question: Question, raw: Mapping[str, Any]) -> Iterator[Flaw]:
        """What is wrong with this type's keys beyond what the schema says. `question` is
        built from `raw` as given; `raw` tells what was written (an answer of the wrong type
        is None in `question`)."""

    @classmethod
    @abstractmethod
    def judge(cls, posed: Posed, raw: Any, *, practice: bool) -> Judged:
        """An answer (never blank: grading scores that) as an answers file holds it: text,
        a number, letters, a list, a boolean. `practice`: the message may give the key."""

    @classmethod
    def key(cls, posed: Posed, *, practice: bool) -> Key:
        """The right value and tolerance the report shows; by default none."""
        return Key()

    @classmethod
    @abstractmethod
    def prompt(cls, posed: Posed, pointer: str) -> questionary.Question:
        """The terminal prompt, with `ask` as its message; `pointer` is the select mark
        the terminal can show."""

    @classmethod
    def given(cls, answer: Any) -> object:
        """The prompt's answer as an answers file holds it; by default as it came."""
        return answer

    @classmethod
    @abstractmethod
    def moodle(cls, root: Element, quiz: Quiz, posed: Posed, name: str) -> None:
        """Append the Moodle XML question `name` for this variant to `root` (building blocks
        in grader.quiz.moodle_xml; the file's layout in grader.quiz.moodle)."""
