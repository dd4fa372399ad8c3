"""Quiz YAML -> frozen dataclasses, with every problem at file:line:col.

The quiz kind shares the exercise's YAML reader, positions and schema step (grader.exercise.spec);
its own schema is grader/schema/quiz.schema.json.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from grader.errors import Problem, SpecError
from grader.exercise.spec import RESERVED_IDS, Tolerance
from grader.exercise.yamlfile import PathKey, Position, locate, read_yaml, schema_problems
from grader.quiz.type_choice import Partial as Partial  # here for the questions' readers
from grader.quiz.types import QUESTION_TYPES
from grader.quiz.types import QuestionType as QuestionType  # here for the questions' readers

KIND = "quiz"
#: {name} in a question's text: replaced by that parameter's shown value. Nothing else is
#: interpreted (no format specs, no attribute access), so braces may appear as text.
PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
#: The seed's course part when a quiz names none.
DEFAULT_COURSE = "grader"
#: Numeric answers with neither tolerance nor sigfigs: three significant figures' worth.
DEFAULT_TOLERANCE = Tolerance(rtol=1e-3, atol=1e-9)
#: Every key some question type takes as its own: a question of another type refuses it.
TYPE_KEYS: frozenset[str] = frozenset().union(*(kind.keys for kind in QUESTION_TYPES.values()))


@dataclass(frozen=True)
class Option:
    text: str
    correct: bool
    feedback: str | None


@dataclass(frozen=True)
class Misconception:
    id: str
    title: str
    hint: str
    formula: str
    credit: float
    where: str


@dataclass(frozen=True)
class Question:
    id: str
    type: QuestionType
    points: float
    text: str
    where: str
    #: Parameter name -> its generator spec, as written (numeric questions).
    params: Mapping[str, Mapping[str, Any]]
    #: numeric: dotted path of the answer function; None with a fixed `value`.
    answer: str | None
    value: float | None
    tolerance: Tolerance
    sigfigs: int | None
    misconceptions: tuple[Misconception, ...]
    options: tuple[Option, ...]
    shuffle: bool
    partial: Partial
    truth: bool | None
    feedback: Mapping[str, str]

    @property
    def names(self) -> tuple[str, ...]:
        """The names the text refers to as {name}."""
        return tuple(PLACEHOLDER.findall(self.text))


@dataclass(frozen=True)
class Quiz:
    id: str
    title: str
    course: str
    practice: bool
    intro: str
    questions: tuple[Question, ...]
    source: Path
    lines: Mapping[PathKey, Position]

    @property
    def points(self) -> float:
        return sum(q.points for q in self.questions)

    def where(self, *key: str | int) -> str:
        return locate(self.source, self.lines, tuple(key))


def _misconception(
    raw: Mapping[str, Any], where: str, shared: Mapping[str, tuple[str, str]]
) -> tuple[Misconception | None, list[Problem]]:
    title, hint = raw.get("title"), raw.get("hint")
    mistake = raw.get("mistake")
    if mistake is not None:
        if mistake not in shared:
            return None, [
                Problem(
                    where,
                    f"no exercise declares the mistake {mistake!r}",
                    "Write <exercise id>.<mistake id>, e.g. ex01.log2, or give title and hint.",
                )
            ]
        title, hint = title or shared[mistake][0], hint or shared[mistake][1]
    if title is None or hint is None:
        return None, [
            Problem(where, "a misconception needs a title and a hint, or a 'mistake'", None)
        ]
    ident = raw.get("id") or (mistake.split(".")[1] if mistake else None)
    if ident is None:
        return None, [Problem(where, "a misconception needs an 'id' (or a 'mistake')", None)]
    misconception = Misconception(
        ident, title, hint, raw["formula"], float(raw.get("credit", 0)), where
    )
    return misconception, []


def _question(
    raw: Mapping[str, Any], i: int, quiz_where: Any, shared: Mapping[str, tuple[str, str]]
) -> tuple[Question | None, list[Problem]]:
    """One question, checked: the keys every question has here, its type's own keys and
    rules in its class (grader.quiz.types)."""
    where = quiz_where("questions", i)
    kind = QUESTION_TYPES[raw["type"]]
    problems: list[Problem] = []

    def add(key: str, what: str, fix: str | None = None) -> None:
        problems.append(Problem(quiz_where("questions", i, key), what, fix))

    misconceptions = []
    for j, m in enumerate(raw.get("misconceptions", [])):
        found, issues = _misconception(m, quiz_where("questions", i, "misconceptions", j), shared)
        problems += issues
        if found is not None:
            misconceptions.append(found)
    for key in sorted((set(raw) & TYPE_KEYS) - kind.keys):
        add(key, f"'{key}' does not apply to a {kind.name} question", "Remove it.")
    tolerance = DEFAULT_TOLERANCE
    if "tolerance" in raw:  # either key alone: the other keeps its default
        given = raw["tolerance"]
        tolerance = Tolerance(
            float(given.get("rtol", DEFAULT_TOLERANCE.rtol)),
            float(given.get("atol", DEFAULT_TOLERANCE.atol)),
        )
    answer = raw.get("answer")
    question = Question(
        id=raw["id"],
        type=QuestionType(raw["type"]),
        points=float(raw.get("points", 1)),
        text=raw["text"],
        where=where,
        params=MappingProxyType({k: dict(v) for k, v in raw.get("params", {}).items()}),
        answer=answer if isinstance(answer, str) else None,
        value=float(raw["value"]) if "value" in raw else None,
        tolerance=tolerance,
        sigfigs=raw.get("sigfigs"),
        misconceptions=tuple(misconceptions),
        options=tuple(
            Option(o["text"], bool(o.get("correct", False)), o.get("feedback"))
            for o in raw.get("options", [])
        ),
        shuffle=bool(raw.get("shuffle", True)),
        partial=Partial(raw.get("partial", "net-correct")),
        truth=answer if isinstance(answer, bool) else None,
        feedback=MappingProxyType(dict(raw.get("feedback", {}))),
    )
    for flaw in kind.check(question, raw):
        add(flaw.key, flaw.what, flaw.fix)
    ids = [m.id for m in misconceptions]
    if len(set(ids)) != len(ids):
        add("misconceptions", "two misconceptions have the same id")
    if tolerance.rtol == 0 and tolerance.atol == 0:
        add("tolerance", "rtol and atol are both 0", "Allow rounding: rtol: 1.0e-3.")
    if problems:
        return None, problems
    return question, []


def _yaml11_words(data: Any) -> None:
    """`partial: off` and `feedback: {true: ..., false: ...}` read as the words they are:
    YAML 1.1 turns off, true and false into booleans, which no author means here."""
    if not isinstance(data, dict) or not isinstance(data.get("questions"), list):
        return
    for question in data["questions"]:
        if not isinstance(question, dict):
            continue
        if question.get("partial") is False:
            question["partial"] = "off"
        feedback = question.get("feedback")
        if isinstance(feedback, dict):
            question["feedback"] = {
                (str(k).lower() if isinstance(k, bool) else k): v for k, v in feedback.items()
            }


def load_quiz(source: Path, shared: Mapping[str, tuple[str, str]] | None = None) -> Quiz:
    """Read, validate and freeze one quiz file. `shared`: the course's exercise mistakes,
    '<exercise>.<mistake>' -> (title, hint). Raises SpecError with every problem found."""
    data, lines = read_yaml(source)
    _yaml11_words(data)
    problems = schema_problems(data, source, lines, kind=KIND)
    if problems:
        raise SpecError(problems=problems)

    def where(*key: str | int) -> str:
        return locate(source, lines, tuple(key))

    problems = []
    if data["id"] != source.stem:
        problems.append(
            Problem(
                where("id"),
                f"id {data['id']!r} does not match the file name {source.name!r}",
                f"Rename the file to {data['id']}.yaml or set id: {source.stem}.",
            )
        )
    if data["id"] in RESERVED_IDS:
        problems.append(Problem(where("id"), f"id {data['id']!r} is a command of 'grade'"))
    questions = []
    seen: set[str] = set()
    for i, raw in enumerate(data["questions"]):
        if raw["id"] in seen:
            problems.append(
                Problem(where("questions", i, "id"), f"two questions have the id {raw['id']!r}")
            )
        seen.add(raw["id"])
        question, issues = _question(raw, i, where, shared or {})
        problems += issues
        if question is not None:
            questions.append(question)
    if problems:
        raise SpecError(problems=problems)
    return Quiz(
        id=data["id"],
        title=data["title"],
        course=data.get("course", DEFAULT_COURSE),
        practice=data.get("mode", "practice") == "practice",
        intro=data.get("intro", ""),
        questions=tuple(questions),
        source=source,
        lines=MappingProxyType(dict(lines)),
    )
