"""What a class run hands on: the dashboard page and the gradebook's exports.

The library behind `grade batch --report` and `grade gradebook export`; renderers (render/)
format, this module picks the rows and the titles and writes the files.
"""

from __future__ import annotations

import contextlib
import datetime
from pathlib import Path

from grader.classroom.gradebook import Gradebook
from grader.course import Course
from grader.errors import GraderError

#: `grade gradebook export --format`.
EXPORT_FORMATS = ("csv", "json")


def titles(course: Course, items: list[str]) -> dict[str, str]:
    """Column and section titles; an item whose file is broken is named by its id."""
    found = {}
    for item in items:
        with contextlib.suppress(GraderError):
            found[item] = course.load(item).title
    return found


def write_dashboard(course: Course, book: Gradebook, items: list[str], path: Path) -> None:
    """The class's page for `items`, from each student's latest attempts."""
    from grader.classroom.statistics import class_stats
    from grader.render.dashboard import render_dashboard

    rows = [r for r in book.latest().values() if r["item"] in items]
    generated = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
    page = render_dashboard(class_stats(rows, titles(course, items)), generated=generated)
    try:
        path.write_text(page, encoding="utf-8")
    except OSError as exc:
        raise GraderError(f"cannot write {path}: {exc.strerror}") from None


def export(book: Gradebook, fmt: str, course: Course | None, *, all_attempts: bool = False) -> str:
    """The gradebook as CSV (one row per student; columns titled from the course, when
    there is one) or JSON: each student's grade per exercise, that of the file the latest
    run found (Gradebook.latest), or with `all_attempts` every attempt ever graded."""
    if fmt == "json":
        from grader.render.json import dumps

        rows = book.rows() if all_attempts else list(book.latest().values())
        return dumps(rows) + "\n"
    from grader.render.spreadsheet import render_class

    named = titles(course, course.exercise_ids()) if course is not None else {}
    return render_class(book.latest(), named)
