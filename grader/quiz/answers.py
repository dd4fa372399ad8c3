"""Answers files: the blank one a student fills in, and reading a filled one back.

A template shows the student's own numbers and option letters, so the file can be filled
in anywhere (an editor, an LMS export) and graded in CI. A malformed file is an error
with file:line:col, like an exercise file; an answer that is merely wrong is a score.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import replace
from pathlib import Path
from typing import Any

from grader.errors import Problem, SpecError
from grader.exercise.yamlfile import ANSWERS_YAML, locate, parse_yaml, read_text
from grader.quiz.grading import Posed
from grader.quiz.spec import Quiz
from grader.quiz.types import type_of

#: A number at the start of a value, before the comma, brace, comment or end that follows.
_WRITTEN = re.compile(r"\s*([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*(?:[,}\]#]|$)")


def _comment(text: str, indent: str) -> list[str]:
    """A question's text as comment lines: prose re-wrapped, indented blocks (a worked
    example, an array) kept line for line."""
    lines: list[str] = []
    for paragraph in text.strip().split("\n\n"):
        rows = paragraph.splitlines()
        if any(row.startswith((" ", "\t")) for row in rows):
            wrapped = rows
        else:
            wrapped = textwrap.wrap(" ".join(r.strip() for r in rows), 84) or [""]
        if lines:
            lines.append(f"{indent}#")
        lines += [f"{indent}# {line}".rstrip() for line in wrapped]
    return lines


def template(quiz: Quiz, posed: list[Posed], student: str) -> str:
    """A blank answers file for `student`: their numbers, their option order."""
    head = [
        f"# {quiz.id}: {quiz.title}. Answers of student {student}.",
        "# Write each answer after its colon and save; a blank answer scores 0. Grade with:",
        f"#   grade {quiz.id} --answers THIS_FILE",
        "quiz: " + quiz.id,
        "student: " + _yaml_text(student),
        "answers:",
    ]
    body: list[str] = []
    for n, p in enumerate(posed, 1):
        q = p.question
        points = f"{q.points:g} point{'s' if q.points != 1 else ''}"
        body.append(f"  # {n}. ({points}; answer with {type_of(q).how})")
        body += _comment(p.text, "  ")
        for letter, index in zip(p.letters, p.order, strict=True):
            body.append(f"  #   {letter}) {q.options[index].text}")
        body.append(f"  {q.id}:")
    return "\n".join(head + body) + "\n"


def _yaml_text(value: str) -> str:
    import json

    return json.dumps(value)  # a JSON string is a YAML string


def read_answers(path: Path, quiz: Quiz) -> tuple[dict[str, Any], str | None]:
    """The answers by question id (numbers as written, for counting their digits), and the
    student the file names. Raises SpecError, with file:line:col, for a malformed file, and
    for one beyond ANSWERS_YAML's limits (size, depth, values, any alias)."""
    limits = replace(
        ANSWERS_YAML,
        fix=f"An answers file holds one value or a short list per "
        f"question: start again from 'grade {quiz.id} --template'.",
    )
    text = read_text(path, limits)
    data, lines = parse_yaml(text, path, limits)
    problems: list[Problem] = []

    def where(*key: str | int) -> str:
        return locate(path, lines, tuple(key))

    unknown = sorted(set(data) - {"quiz", "student", "answers"}, key=str)  # keys of any type
    for key in unknown:
        problems.append(
            Problem(where(str(key)), f"unknown key {key!r}", "Keep quiz, student, answers.")
        )
    if data.get("quiz", quiz.id) != quiz.id:
        problems.append(
            Problem(
                where("quiz"),
                f"this file answers {data['quiz']!r}, not {quiz.id!r}",
                f"Grade it with 'grade {data['quiz']} --answers {path}'.",
            )
        )
    student = data.get("student")
    if student is not None and not isinstance(student, (str, int)):
        problems.append(Problem(where("student"), "student must be a text", None))
    answers = data.get("answers")
    if not isinstance(answers, dict):
        problems.append(
            Problem(
                where("answers"),
                "'answers' must be a mapping of question id to answer",
                f"Start from 'grade {quiz.id} --template'.",
            )
        )
        raise SpecError(problems=problems)
    ids = {q.id for q in quiz.questions}
    source = text.splitlines()
    out: dict[str, Any] = {}
    for key, value in answers.items():
        if key not in ids:
            problems.append(
                Problem(
                    where("answers", str(key)),
                    f"{quiz.id} has no question {key!r}",
                    f"Its questions: {', '.join(q.id for q in quiz.questions)}.",
                )
            )
            continue
        if isinstance(value, dict):
            problems.append(Problem(where("answers", str(key)), "an answer is one value or a list"))
            continue
        if isinstance(value, float | int) and not isinstance(value, bool):
            value = _as_written(source, lines.get(("answers", key)), value)
        out[str(key)] = value
    if problems:
        raise SpecError(problems=problems)
    return out, None if student is None else str(student)


def _as_written(source: list[str], position: tuple[int, int] | None, value: Any) -> Any:
    """A number's text as the student typed it (0.2230, not 0.223): its digits count. The
    number is read where its key's value starts, in a block (`one: 0.2230`) or a flow
    mapping (`{one: 0.2230, two: 1}`) alike."""
    if position is None:
        return value
    line = source[position[0] - 1][position[1] - 1 :]
    rest = line.split(":", 1)[1] if ":" in line else ""
    typed = _WRITTEN.match(rest)
    if typed is None or float(typed.group(1)) != value:
        return value
    return typed.group(1)
