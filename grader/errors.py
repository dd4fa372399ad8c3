"""Faults we report to a person: each says what went wrong, where, and what to do.

Nothing here is about a student's code being wrong; that is feedback, carried in the
result model. These are the reasons the grader itself cannot go on (exit code 2).
"""

from __future__ import annotations


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
    """An exercise file is malformed or inconsistent: the author must fix it."""


class CourseNotFoundError(GraderError):
    """No directory of exercises could be found."""


class UnknownExerciseError(GraderError):
    """The exercise id names no exercise of the course."""


class SubmissionNotFoundError(GraderError):
    """The file to grade does not exist."""


class ReferenceSolutionError(GraderError):
    """A reference solution cannot be loaded or gives an unusable value."""


class SandboxError(GraderError):
    """The sandbox could not start a child at all (a fault of the machine, not the student)."""
