"""The starter file of an exercise, rendered from a jinja2 template in the package, in the
course's own words (course.yaml: the comment where the code goes, how packages are
imported)."""

from __future__ import annotations

from pathlib import Path

from grader.course import CourseText, read_course_text
from grader.errors import GraderError
from grader.exercise.spec import Exercise


def course_text_of(exercise: Exercise) -> CourseText:
    """The words of the course an exercise file sits in (exercises/<id>.yaml)."""
    return read_course_text(exercise.source.resolve().parent.parent)


def render_starter(exercise: Exercise, text: CourseText | None = None) -> str:
    """The starter file: the function's signature and docstring, an import line for each
    package the exercise allows (none for pure Python), and the course's comment."""
    import jinja2  # only `grade start` needs it: keep `grade exNN` quick to start

    text = text if text is not None else course_text_of(exercise)
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("grader", "templates"),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,  # Python source, not HTML
    )
    return env.get_template("starter.py.j2").render(
        exercise=exercise,
        imports=[text.import_line(package) for package in exercise.packages],
        comment=text.starter_comment.strip().splitlines(),
    )


def write_starter(exercise: Exercise, path: Path, *, force: bool = False) -> Path:
    """Write the starter file; an existing file (the student's work) is kept unless forced."""
    if path.exists() and not force:
        raise GraderError(
            f"{path} already exists; it was left as it is",
            fix=f"Grade it with 'grade {exercise.id}', or overwrite it with "
            f"'grade start {exercise.id} --force' (your code in it is then lost).",
        )
    try:
        path.write_text(render_starter(exercise), encoding="utf-8")
    except OSError as exc:
        raise GraderError(f"cannot write {path}: {exc}") from None
    return path
