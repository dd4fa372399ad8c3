"""A quiz as a terminal shows it: `grade show qNN` and the questions and feedback of
`grade qNN`, wrapped to the terminal's width, their Markdown rendered (the subset of
grader.render.markup that the Moodle export shows too), the numbers as the student's
variant shows them.

Pure functions of the posed questions, the width and whether to colour; the CLI and the
interactive quiz pick those from the terminal.
"""

from __future__ import annotations

import os
import shutil
import sys
import textwrap
from collections.abc import Iterable
from dataclasses import dataclass

import click

from grader.quiz.grading import Posed
from grader.quiz.spec import Quiz
from grader.quiz.types import Judged, type_of
from grader.render.markup import SpanKind, terminal_lines
from grader.render.untrusted import visible


@dataclass(frozen=True)
class Screen:
    """What the terminal can show: its width, colour, and Unicode marks."""

    width: int = 100
    color: bool = False
    unicode: bool = True

    def style(self, text: str, kind: SpanKind) -> str:
        """**strong** in bold, `code` in cyan; without colour, their text alone."""
        if not self.color or kind == "text":
            return text
        return click.style(text, bold=True) if kind == "strong" else click.style(text, fg="cyan")

    def bold(self, text: str) -> str:
        return click.style(text, bold=True) if self.color else text

    def paint(self, text: str, fg: str) -> str:
        return click.style(text, fg=fg, bold=True) if self.color else text

    def markdown(self, text: str, indent: int = 0) -> list[str]:
        return terminal_lines(text.strip(), self.width, self.style, indent)

    def wrap(self, text: str) -> str:
        """Our own sentences, wrapped at spaces; a path or command longer than a line is
        left whole, so that it can still be copied."""
        return textwrap.fill(text, self.width, break_long_words=False, break_on_hyphens=False)


def this_terminal() -> Screen:
    """Standard output as it is now: its width, colour on a terminal unless NO_COLOR,
    Unicode marks where its encoding has them."""
    encoding = (sys.stdout.encoding or "").lower().replace("-", "")
    return Screen(
        width=max(shutil.get_terminal_size((100, 24)).columns, 40),
        color=sys.stdout.isatty() and not os.environ.get("NO_COLOR"),
        unicode=encoding in ("utf8", "utf8mb4"),
    )


def _s(points: float) -> str:
    return "" if points == 1 else "s"


def intro_lines(quiz: Quiz, screen: Screen) -> list[str]:
    """The quiz's title, then its intro."""
    lines = [screen.bold(f"{quiz.id}: {quiz.title}")]
    if quiz.intro.strip():
        lines += ["", *screen.markdown(quiz.intro)]
    return lines


def question_lines(posed: Posed, n: int, total: int, screen: Screen) -> list[str]:
    """A question's number, points and text, with the student's numbers."""
    points = posed.question.points
    head = f"{screen.bold(f'{n}/{total}')}  ({points:g} point{_s(points)})"
    return [head, *screen.markdown(posed.text)]


def option_lines(posed: Posed, screen: Screen) -> list[str]:
    """A choice question's options by the student's letters, each wrapped under itself."""
    out: list[str] = []
    for letter, index in zip(posed.letters, posed.order, strict=True):
        text = posed.question.options[index].text
        rows = terminal_lines(text, screen.width - 5, screen.style) or [""]
        out += [f"  {letter}) {rows[0]}", *(f"     {row}" for row in rows[1:])]
    return out


def feedback_lines(posed: Posed, judged: Judged, screen: Screen) -> list[str]:
    """A practice answer's verdict, as the report words it, then its hint."""
    points = posed.question.points
    right = judged.score >= points
    mark = ("✓" if right else "✗") if screen.unicode else ("PASS" if right else "FAIL")
    # The message quotes what the student typed: shown as escapes, never acted on.
    message = visible(judged.message)
    verdict = f"{mark} {message}  ({judged.score:g}/{points:g} point{_s(points)})"
    rows = textwrap.wrap(verdict, screen.width - 2, break_on_hyphens=False) or [""]
    lines = ["  " + screen.paint(row, "green" if right else "red") for row in rows]
    if judged.hint:
        lines += screen.markdown(judged.hint, indent=4)
    return lines


def sheet(quiz: Quiz, posed: Iterable[Posed], student: str, screen: Screen) -> str:
    """`grade show qNN`: the intro and every question as `student` sees them, with how
    each is answered, then how to take the quiz."""
    questions = list(posed)
    mode = "practice" if quiz.practice else "graded"
    lines = intro_lines(quiz, screen)
    about = f"{quiz.points:g} points, a {mode} quiz; the numbers of student {visible(student)}"
    lines[1:1] = [screen.wrap(about)]
    for n, p in enumerate(questions, 1):
        lines += ["", *question_lines(p, n, len(questions), screen)]
        lines += option_lines(p, screen)
        lines.append(f"  (answer with {type_of(p.question).how})")
    lines += [
        "",
        screen.wrap(
            f"Take it here with 'grade {quiz.id}', or write an answers file with "
            f"'grade start {quiz.id}' and grade it with 'grade {quiz.id} --answers FILE'."
        ),
    ]
    return "\n".join(lines) + "\n"
