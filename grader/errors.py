"""Faults we report to a person: each says what went wrong, where, and what to do.

Nothing here is about a student's code being wrong; that is feedback, carried in the
result model. These are the reasons the grader itself cannot go on (exit code 2).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One fault of a file, as an editor and a person both read it."""

    where: str  # file:line:col, or the file alone
    what: str
    fix: str | None = None

    def __str__(self) -> str:
        return f"{self.where}: {self.what}" + (f"; {_lower_first(self.fix)}" if self.fix else "")


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:] if text[1:2].islower() else text


def raised(exc: BaseException, limit: int = 300) -> str:
    """What the course's own code raised, in one line for a message: type and message."""
    lines = str(exc).strip().splitlines()
    message = lines[0] if lines else ""
    if len(message) > limit:
        message = message[: limit - 3] + "..."
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


class GraderError(Exception):
    """A fault with a message for a person, never shown as a traceback."""

    exit_code = 2

    def __init__(self, what: str, *, where: str | None = None, fix: str | None = None) -> None:
        super().__init__(what)
        self.what = what
        self.where = where
        self.fix = fix

    def __str__(self) -> str:
        head = f"{self.where}: {self.what}" if self.where else self.what
        return f"{head}\n  {self.fix}" if self.fix else head


class SpecError(GraderError):
    """An exercise file is malformed or inconsistent: the author must fix it.

    Carries every problem found, so an author fixes a file in one pass, not one per run.
    """

    def __init__(
        self,
        what: str = "",
        *,
        where: str | None = None,
        fix: str | None = None,
        problems: Sequence[Problem] = (),
    ) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems) or (Problem(where or "", what, fix),)
        first = self.problems[0]
        super().__init__(first.what, where=first.where or None, fix=first.fix)

    def __str__(self) -> str:
        return "\n".join(str(p) if p.where else p.what for p in self.problems)


class CourseNotFoundError(GraderError):
    """No directory of exercises could be found."""


class UnknownExerciseError(GraderError):
    """The exercise id names no exercise of the course."""


class SubmissionFileError(GraderError):
    """The student's file cannot be graded as handed in (missing, unreadable, not a
    notebook, too large): the one kind of fault that is the student's to fix. Any other
    fault while grading is the course's or the machine's (Gradescope says so)."""


class SubmissionNotFoundError(SubmissionFileError):
    """The file to grade does not exist."""


class ReferenceSolutionError(GraderError):
    """A reference solution cannot be loaded or gives an unusable value."""


class SandboxError(GraderError):
    """The sandbox could not start a child at all (a fault of the machine, not the student)."""
