"""Where the exercises live: the course root holds exercises/*.yaml and solutions/, and
the course's own words for the files grade writes (course.yaml, optional).

Found, in order, from an explicit path (``--course``), the GRADER_COURSE environment
variable, the working directory and its parents, and the checkout the package runs from.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING

from grader.errors import CourseNotFoundError, GraderError, SpecError, UnknownExerciseError
from grader.exercise import cache
from grader.exercise.spec import Exercise
from grader.quiz.kind import is_quiz

if TYPE_CHECKING:
    from grader.exercise.prepare import Prepared
    from grader.quiz.spec import Quiz

ENV_VAR = "GRADER_COURSE"
#: The course's own words (title, starter comments, import lines), at the course's root.
COURSE_FILE = "course.yaml"
#: The kinds of item a course holds, told apart by their file (quiz.kind.is_quiz). Every
#: step that treats them differently dispatches on these names through its own table:
#: the command (cli/grade.py COMMANDS), validate (authoring/validate.py VALIDATORS) and
#: selftest (authoring/selftest.py PROVERS); tests/test_registries.py checks each has all.
ITEM_KINDS = ("exercise", "quiz")
_ID = re.compile(r"[a-z][a-z0-9_-]{0,31}")


#: How a starter file imports a package the exercise allows, unless the course file says.
DEFAULT_IMPORTS = {"numpy": "import numpy as np"}


@dataclass(frozen=True)
class CourseText:
    """A course's own words in the files grade writes for it, from course.yaml: every key
    optional, the defaults neutral, so that nothing one course says appears in another's."""

    #: The bundle README's heading.
    title: str = "Exercises"
    #: Markdown under that heading (None: the README starts with how to work).
    description: str | None = None
    #: The comment where the student's code goes in a starter file.
    starter_comment: str = "Your code here."
    #: Package -> the line a starter file imports it with.
    imports: Mapping[str, str] = field(default_factory=dict)
    #: The file it was read from; None for a course without one.
    source: Path | None = None

    def import_line(self, package: str) -> str:
        return self.imports.get(package) or DEFAULT_IMPORTS.get(package) or f"import {package}"


def read_course_text(root: Path) -> CourseText:
    """The course file of a course root, checked against its schema (SpecError with
    file:line:col); the neutral defaults where there is none."""
    from grader.exercise.yamlfile import read_yaml, schema_problems

    path = root / COURSE_FILE
    if not path.is_file():
        return CourseText()
    data, lines = read_yaml(path)
    problems = schema_problems(data, path, lines, kind="course")
    if problems:
        raise SpecError(problems=problems)
    starter = data.get("starter", {})
    return CourseText(
        title=data.get("title", CourseText.title),
        description=data.get("description"),
        starter_comment=starter.get("comment", CourseText.starter_comment),
        imports=MappingProxyType(dict(starter.get("imports", {}))),
        source=path,
    )


@dataclass(frozen=True)
class Course:
    root: Path

    @cached_property
    def text(self) -> CourseText:
        """The course's own words (course.yaml), read once."""
        return read_course_text(self.root)

    @property
    def exercises_dir(self) -> Path:
        return self.root / "exercises"

    def exercise_ids(self) -> list[str]:
        return sorted(p.stem for p in self.exercises_dir.glob("*.yaml") if not is_quiz(p))

    def quiz_ids(self) -> list[str]:
        return sorted(p.stem for p in self.exercises_dir.glob("*.yaml") if is_quiz(p))

    def exercise_path(self, exercise_id: str) -> Path:
        path = self.exercises_dir / f"{exercise_id}.yaml"
        if not _ID.fullmatch(exercise_id) or not path.is_file() or is_quiz(path):
            ids = self.exercise_ids() + self.quiz_ids()
            # A quiz asked for as an exercise is no typo: no other id is meant.
            guess = None if exercise_id in ids else nearest_id(exercise_id, ids)
            raise UnknownExerciseError(
                f"there is no exercise {exercise_id!r}"
                + (f": did you mean {guess}?" if guess is not None else ""),
                where=str(self.exercises_dir),
                fix=f"Exercises and quizzes of this course: {', '.join(ids) or '(none)'}. "
                "'grade list' shows their titles.",
            )
        return path

    def kind_of(self, item_id: str) -> str:
        """Which kind an item is; an unknown id is an exercise, whose loading says so."""
        return "quiz" if self.is_quiz(item_id) else "exercise"

    def is_quiz(self, item_id: str) -> bool:
        path = self.exercises_dir / f"{item_id}.yaml"
        return bool(_ID.fullmatch(item_id)) and path.is_file() and is_quiz(path)

    def shared_mistakes(self) -> dict[str, tuple[str, str]]:
        """'<exercise>.<mistake>' -> (title, hint): the wording quizzes share."""
        shared = {}
        for exercise_id in self.exercise_ids():
            try:
                exercise = self.load(exercise_id)
            except GraderError:
                continue  # a broken exercise is its own error, not the quiz's
            for m in exercise.mistakes:
                shared[f"{exercise.id}.{m.id}"] = (m.title, m.hint)
        return shared

    def load_quiz(self, quiz_id: str) -> Quiz:
        from grader.quiz.spec import load_quiz

        return load_quiz(self.exercises_dir / f"{quiz_id}.yaml", self.shared_mistakes())

    def load(self, exercise_id: str) -> Exercise:
        return cache.load_exercise(self.exercise_path(exercise_id))

    def prepare(self, exercise_id: str) -> Prepared:
        from grader.exercise.prepare import prepare

        return prepare(self.root, self.exercise_path(exercise_id))

    def load_all(self) -> list[Exercise]:
        return [self.load(i) for i in self.exercise_ids()]


def nearest_id(typed: str, ids: list[str]) -> str | None:
    """The id a mistyped one most likely meant: 'ex2' -> 'ex02', 'Q1' -> 'q01'. Numbers
    are compared as numbers first, so that ex2 means ex02 and never ex20."""
    import difflib

    def unpadded(text: str) -> str:
        return re.sub(r"\d+", lambda m: str(int(m[0])), text.lower())

    same = [i for i in ids if unpadded(i) == unpadded(typed)]
    if same:
        return same[0]
    close = difflib.get_close_matches(typed.lower(), ids, n=1, cutoff=0.6)
    return close[0] if close else None


def kind_of_file(path: Path) -> str:
    """Which kind of item a file holds."""
    return "quiz" if is_quiz(path) else "exercise"


def _is_course(path: Path) -> bool:
    return (path / "exercises").is_dir()


def find_course(explicit: Path | None = None) -> Course:
    """The course to use; see the module docstring for the order of the search."""
    if explicit is None and os.environ.get(ENV_VAR):
        explicit = Path(os.environ[ENV_VAR])
    if explicit is not None:
        if not _is_course(explicit):
            raise CourseNotFoundError(
                f"{explicit} has no exercises/ directory",
                fix=f"Point --course (or {ENV_VAR}) at the directory that holds exercises/.",
            )
        return Course(explicit.resolve())
    here = Path.cwd().resolve()
    for candidate in (here, *here.parents):
        if _is_course(candidate):
            return Course(candidate)
    checkout = Path(__file__).resolve().parent.parent
    if _is_course(checkout):
        return Course(checkout)
    raise CourseNotFoundError(
        "no course found: no exercises/ directory here or in any parent directory",
        fix=f"Run grade inside the course directory, or pass --course PATH (or set {ENV_VAR}).",
    )


@dataclass(frozen=True)
class Listed:
    """One item of a course as `grade list` shows it; `problem` says why it cannot be read."""

    id: str
    quiz: bool
    title: str = ""
    points: float = 0.0
    problem: str | None = None


def listing(course: Course) -> list[Listed]:
    """Every exercise, then every quiz: one broken file hides none of the others."""
    items = []
    for item_id in course.exercise_ids() + course.quiz_ids():
        quiz = course.is_quiz(item_id)
        try:
            item = course.load_quiz(item_id) if quiz else course.load(item_id)
        except GraderError as exc:
            items.append(Listed(item_id, quiz, problem=str(exc)))
            continue
        items.append(Listed(item.id, quiz, item.title, item.points))
    return items


def course_of(paths: list[Path]) -> Path | None:
    """The course named files sit in (an exercises/ folder's parent), if any."""
    for path in paths:
        parent = path.resolve().parent
        if path.suffix in (".yaml", ".yml") and parent.name == "exercises":
            return parent.parent
    return None


def enclosing(here: Path) -> Path:
    """The course around a directory, else the directory itself (a new course there)."""
    return next((d for d in (here, *here.parents) if _is_course(d)), here)
