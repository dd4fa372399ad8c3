"""The library behind `grade qNN`: a quiz with its answer functions, for one student.

The CLI only parses options and renders; everything a script or a CI job would need
(template, grading an answers file) is here.
"""

from __future__ import annotations

import getpass
import os
from dataclasses import dataclass
from pathlib import Path

from grader.course import Course
from grader.errors import GraderError, Problem
from grader.quiz.answers import read_answers, template
from grader.quiz.grading import Posed, grade_quiz, pose_all
from grader.quiz.spec import Quiz
from grader.quiz.variants import Loader, solution_loader
from grader.results import Report

#: CI jobs name the student here instead of passing --student.
STUDENT_ENV = "GRADER_STUDENT"


@dataclass(frozen=True)
class OpenQuiz:
    quiz: Quiz
    load: Loader

    def posed(self, student: str) -> list[Posed]:
        return pose_all(self.quiz, student, self.load)


def open_quiz(course: Course, quiz_id: str) -> OpenQuiz:
    return OpenQuiz(course.load_quiz(quiz_id), solution_loader(course.root))


def default_student(given: str | None) -> str:
    """--student, else $GRADER_STUDENT, else the login name: the same numbers every time."""
    if given:
        return given
    if os.environ.get(STUDENT_ENV):
        return os.environ[STUDENT_ENV]
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "student"


def template_text(opened: OpenQuiz, student: str) -> str:
    """The blank answers file of `student`: their numbers, their option letters."""
    return template(opened.quiz, opened.posed(student), student)


def write_template(opened: OpenQuiz, student: str, path: Path, *, force: bool) -> Path:
    if path.exists() and not force:
        raise GraderError(
            f"{path} already exists; it was left as it is",
            fix="Grade it with --answers, or pass --force to write a blank one over it.",
        )
    text = template_text(opened, student)
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise GraderError(f"cannot write {path}: {exc.strerror}") from None
    return path


def grade_answers(opened: OpenQuiz, path: Path, student: str | None) -> Report:
    """Grade an answers file; the student is the file's, unless --student says otherwise
    and the file names none (a file for one student never grades as another's)."""
    if not path.exists():
        raise GraderError(
            f"{path} does not exist",
            fix=f"Write a blank one with 'grade {opened.quiz.id} --template'.",
        )
    if not path.is_file():  # a folder, a named pipe: nothing to wait on or read
        raise GraderError(
            f"{path} is not a regular file",
            fix=f"Pass the answers file itself (a blank one: 'grade {opened.quiz.id} --template').",
        )
    answers, named = read_answers(path, opened.quiz)
    if named is not None and student is not None and named != student:
        raise GraderError(
            f"{path} holds the answers of student {named!r}, not {student!r}",
            where=str(path),
            fix="Leave out --student, or grade that student's own file.",
        )
    who = named or student or os.environ.get(STUDENT_ENV)
    if not who:
        raise GraderError(
            f"{path} names no student, and no --student was given",
            fix=f"Add 'student: <id>' to the file, pass --student, or set {STUDENT_ENV}: "
            "each student's numbers come from their id.",
        )
    return grade_quiz(opened.quiz, answers, student=who, load=opened.load, submission=str(path))


def grade_taken(opened: OpenQuiz, answers: dict[str, object], student: str) -> Report:
    return grade_quiz(
        opened.quiz, answers, student=student, load=opened.load, submission="(terminal)"
    )


def export_text(
    course: Course, quiz_id: str, *, variants: int, round_credits: bool = False
) -> tuple[str, list[Problem]]:
    """Moodle XML of a quiz: each numeric question with its tolerance and, per variant,
    its misconceptions as wrong answers carrying their feedback. Also the credits that
    were rounded to a grade Moodle holds (only with `round_credits`; without it, such a
    credit is a SpecError at its place in the quiz file)."""
    from grader.quiz.moodle import credit_problems, export_moodle

    if not course.is_quiz(quiz_id):
        raise GraderError(
            f"there is no quiz {quiz_id!r}",
            fix=f"Quizzes of this course: {', '.join(course.quiz_ids()) or '(none)'}.",
        )
    quiz = course.load_quiz(quiz_id)
    text = export_moodle(
        quiz, solution_loader(course.root), variants=variants, round_credits=round_credits
    )
    return text, credit_problems(quiz)


def export_quiz(
    course: Course, quiz_id: str, path: Path, *, variants: int, round_credits: bool = False
) -> tuple[Path, list[Problem]]:
    """export_text, written to `path`."""
    text, rounded = export_text(course, quiz_id, variants=variants, round_credits=round_credits)
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise GraderError(f"cannot write {path}: {exc.strerror}") from None
    return path, rounded
