"""What a class run hands on: the dashboard page and the gradebook's exports.

The library behind `grade batch --report` and `grade gradebook export`; renderers (render/)
lay the files out, this module picks the rows, the titles and the points, checks that an
LMS can match every row, and writes the files.
"""

from __future__ import annotations

import contextlib
import datetime
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grader.classroom.formats import EXPORT_FORMATS, MOODLE_IDENTIFIERS
from grader.classroom.gradebook import Gradebook, exercise_hash, is_current
from grader.classroom.roster import ClassList, listed_names, roster_fields, with_roster
from grader.course import Course
from grader.errors import GraderError, Problem, SpecError
from grader.results import Roster

#: How Canvas's importer reads an assignment's id from a column's header (Assignment.
#: title_and_id): a title that ends so would be taken for an id.
CANVAS_TITLE_ID = re.compile(r"\A(.*)\s\((\d+)\)\Z", re.DOTALL)


@dataclass(frozen=True)
class Items:
    """The exercises of an export: their titles and points, each from the course when it
    loads (else the id, and the most points the gradebook saw)."""

    ids: tuple[str, ...]
    titles: dict[str, str]
    points: dict[str, float]


@dataclass(frozen=True)
class Exported:
    text: str
    #: Said on stderr: rows left out, assignments Canvas will create.
    warnings: list[str] = field(default_factory=list)


def titles(course: Course | None, items: Sequence[str]) -> dict[str, str]:
    """Column and section titles; an item whose file is broken is named by its id."""
    return describe(course, items, {}).titles


def describe(
    course: Course | None, ids: Sequence[str], rows: Mapping[tuple[str, str], Mapping[str, Any]]
) -> Items:
    """Each item's title and points from the course (each file loaded once), else its id
    and the most points the gradebook saw for it."""
    found_titles: dict[str, str] = {}
    points: dict[str, float] = {}
    for (_, item), row in rows.items():
        points[item] = max(points.get(item, 0.0), float(row["max_score"] or 0.0))
    for item in ids if course is not None else ():
        with contextlib.suppress(GraderError):
            exercise = course.load(item)  # type: ignore[union-attr]
            found_titles[item], points[item] = exercise.title, float(exercise.points)
    return Items(tuple(ids), found_titles, points)


def class_list(
    book: Gradebook,
    course: Course | None,
    items: Sequence[str] | None = None,
    roster: Roster | None = None,
    also: Sequence[str] = (),
) -> tuple[ClassList, Items]:
    """Each student's grade per item (that of the file the latest run found), with a "no
    submission" row for each roster student without one; `items` None: the gradebook's,
    and `also` (exercises of the course no one handed in, which an export was asked for)."""
    latest = book.latest()
    ids = sorted({item for _, item in latest} | set(also)) if items is None else list(items)
    latest = {key: row for key, row in latest.items() if key[1] in ids}
    described = describe(course, ids, latest)
    # A row without a graded file is out of the exercise's points as it is now (the
    # gradebook's highest could be those of an earlier version of the exercise).
    for key, row in latest.items():
        if row["id"] is None and key[1] in described.points:
            latest[key] = {**row, "max_score": described.points[key[1]]}
    return with_roster(latest, roster, ids, described.points), described


def write_dashboard(
    course: Course, book: Gradebook, items: list[str], path: Path, roster: Roster | None = None
) -> None:
    """The class's page for `items`, from each student's grade at the latest run."""
    from grader.classroom.statistics import class_stats
    from grader.render.dashboard import render_dashboard

    listed, described = class_list(book, course, items, roster)
    generated = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
    page = render_dashboard(
        class_stats(list(listed.rows.values()), described.titles),
        generated=generated,
        unknown=listed.unknown,
    )
    try:
        path.write_text(page, encoding="utf-8")
    except OSError as exc:
        raise GraderError(f"cannot write {path}: {exc.strerror}") from None


@dataclass(frozen=True)
class ExportOptions:
    """What `grade gradebook export` was asked for beside the format."""

    all_attempts: bool = False
    roster: Roster | None = None
    #: Exercise id -> its assignment's id in Canvas.
    assignments: Mapping[str, str] = field(default_factory=dict)
    #: Moodle's user field (formats.MOODLE_IDENTIFIERS).
    identifier: str | None = None


def export(
    book: Gradebook, fmt: str, course: Course | None, options: ExportOptions | None = None
) -> Exported:
    """The gradebook in `fmt`: each student's grade per exercise, that of the file the
    latest run found (Gradebook.latest), a roster's students without one at 0 points;
    with `all_attempts` (JSON) every attempt ever graded."""
    if fmt not in EXPORTERS:
        raise GraderError(f"unknown export format '{fmt}'", fix=f"Use one of {EXPORT_FORMATS}.")
    return EXPORTERS[fmt](book, course, options or ExportOptions())


def _csv(book: Gradebook, course: Course | None, options: ExportOptions) -> Exported:
    from grader.render.spreadsheet import render_class

    listed, items = class_list(book, course, roster=options.roster)
    roster = options.roster
    sections = {s.student: s.section for s in roster.students} if roster else {}
    names = {s.student: s.name for s in roster.students} if roster else {}
    text = render_class(listed.rows, items.titles, sections, names)
    return Exported(text, _unknown(listed) + _not_yet(listed, course))


def _json(book: Gradebook, course: Course | None, options: ExportOptions) -> Exported:
    from grader.render.json import dumps

    roster = options.roster
    if options.all_attempts:
        rows = book.rows()
        listed = ClassList({}, ())
    else:
        listed, _ = class_list(book, course, roster=roster)
        rows = list(listed.rows.values())
    if roster is not None:
        rows = [row | {"roster": roster_fields(roster.get(row["student"]))} for row in rows]
    return Exported(dumps(rows) + "\n", _unknown(listed) + _not_yet(listed, course))


def _lms_roster(fmt: str, options: ExportOptions) -> Roster:
    """The roster an LMS import matches students by: required."""
    if options.roster is None:
        raise GraderError(
            f"a {fmt} import matches students by the ids in a roster",
            fix="Pass --roster roster.csv (student,name,canvas_id,sis_user_id,sis_login_id,"
            "section,email); the manual's 'Hand grades to an LMS' shows one.",
        )
    return options.roster


def _unknown(listed: ClassList) -> list[str]:
    if not listed.unknown:
        return []
    return [
        f"{len(listed.unknown)} student(s) graded but not in the roster: "
        + listed_names(listed.unknown)
    ]


def _pending(listed: ClassList) -> list[str]:
    """Students with a file the latest run found and did not grade (status "pending")."""
    return sorted(s for (s, _), row in listed.rows.items() if row["status"] == "pending")


def _not_yet(listed: ClassList, course: Course | None) -> list[str]:
    """What makes an export's grades not the class's as it is now: files the latest run
    found and was stopped before grading, and grades made against an earlier version of
    their exercise (its file changed since: the next run grades them again)."""
    pending = _pending(listed)
    out = []
    if pending:
        out.append(
            f"{len(pending)} student(s) have a file the latest run did not grade (it was "
            f"stopped): {listed_names(pending)}; run the same grade batch command again"
        )
    return out + _version_notes(listed, course)


def _version_notes(listed: ClassList, course: Course | None) -> list[str]:
    """Grades made against an earlier version of their exercise, and exercises that no
    longer load (their column named by id, their points the gradebook's)."""
    out = []
    current: dict[str, str | None] = {}
    stale: dict[str, list[str]] = {}
    broken: dict[str, str] = {}
    for (student, item), row in listed.rows.items():
        if row["id"] is None or course is None:
            continue
        if item not in current:
            try:
                current[item] = exercise_hash(course, item)
            except (GraderError, OSError) as exc:
                current[item] = None
                broken[item] = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        now = current[item]
        if now is not None and not is_current(row, now):
            stale.setdefault(item, []).append(student)
    for item, students in sorted(stale.items()):
        out.append(
            f"{len(students)} grade(s) of {item} were made against an earlier version of the "
            f"exercise (its files changed since): {listed_names(students)}; run grade batch "
            "again to grade them against this one"
        )
    for item, why in sorted(broken.items()):
        out.append(
            f"{item} cannot be loaded ({why}): its column is named by its id and its points "
            "are the most the gradebook saw; fix it (grade validate) and export again"
        )
    return out


def _refuse_not_current(fmt: str, listed: ClassList, course: Course | None) -> None:
    """An LMS import replaces grades: one made against an earlier version of its exercise
    (other points, other cases), or under a column an exercise that no longer loads names
    by its id (the LMS would make a new item), must be made again first."""
    _refuse_ungraded(fmt, listed)
    notes = _version_notes(listed, course)
    if notes:
        raise GraderError(
            f"{notes[0]} (a {fmt} import would carry that)",
            fix="Run grade batch again on the class folder (it grades only what changed), "
            "then export.",
        )


def _refuse_ungraded(fmt: str, listed: ClassList) -> None:
    """An LMS import overwrites the grades it holds: a 0 for a file nobody graded yet would
    replace a real grade there."""
    pending = _pending(listed)
    if pending:
        raise GraderError(
            f"{len(pending)} student(s) have a file the latest run did not grade (it was "
            f"stopped): {listed_names(pending)}; a {fmt} import would give them 0",
            fix="Run the same grade batch command again (it grades only what is missing), "
            "then export.",
        )


def _canvas(book: Gradebook, course: Course | None, options: ExportOptions) -> Exported:
    from grader.render.lms import render_canvas

    roster = _lms_roster("Canvas", options)
    # An exercise of the course no one handed in: a column of 0 for the class, when asked.
    known = course.exercise_ids() if course is not None else []
    asked = [i for i in options.assignments if i in known]
    listed, items = class_list(book, course, roster=roster, also=asked)
    _refuse_not_current("Canvas", listed, course)
    assignments = options.assignments
    _check_assignments(assignments, items)
    ids = ("canvas_id", "sis_user_id", "sis_login_id")
    if not any(column in roster.columns for column in ids):
        raise GraderError(
            f"{roster.path} has no canvas_id, sis_user_id or sis_login_id column: Canvas "
            "matches a row by one of them",
            fix="Add one: the ID, SIS User ID or SIS Login ID column of Canvas's own "
            "gradebook export (Grades, Export).",
        )
    unmatched = [
        Problem(
            roster.where(s),
            f"'{s.student}' has no canvas_id, sis_user_id or sis_login_id",
            "Give one of them: Canvas matches a row by its ID, SIS User ID or SIS Login ID "
            "(columns of Canvas's own gradebook export).",
        )
        for s in roster.students
        if not (s.canvas_id or s.sis_user_id or s.sis_login_id)
    ]
    if unmatched:
        raise SpecError(problems=unmatched)
    headers: dict[str, str] = {}
    warnings = _unknown(listed)
    if listed.unknown:
        warnings[-1] += " (left out: Canvas could not match them)"
    for item in items.ids:
        title = items.titles.get(item, item)
        if item in assignments:
            headers[item] = f"{title} ({assignments[item]})"
            continue
        if CANVAS_TITLE_ID.match(title):
            raise GraderError(
                f"the title of {item}, '{title}', ends like a Canvas assignment id",
                fix=f"Pass --assignment {item}=ID with the assignment's id in Canvas.",
            )
        headers[item] = title
        warnings.append(
            f"{item} has no --assignment {item}=ID: Canvas will create a new assignment "
            f"'{title}' (or use the one of that exact title)"
        )
    _distinct_columns("Canvas", headers, CANVAS_COLUMNS, "--assignment {item}=ID")
    return Exported(render_canvas(listed.rows, roster, items.ids, headers, items.points), warnings)


#: The columns Canvas's importer reads as a student's, not an assignment's (by title).
CANVAS_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Points Possible")


def _distinct_columns(
    lms: str, headers: Mapping[str, str], reserved: Sequence[str], remedy: str
) -> None:
    """Each exercise's column titled apart from every other column: two of one title (two
    exercises titled alike), or one titled as a column of the LMS's own, would be read as
    one assignment, or not as an assignment at all."""
    noun = "an assignment" if lms == "Canvas" else "a grade item"
    taken = {name.casefold(): f"{lms}'s own column" for name in reserved}
    for item, header in headers.items():
        other = taken.get(header.strip().casefold())
        if other is not None:
            raise GraderError(
                f"the column of {item} would be titled '{header}', as {other} is: {lms} "
                f"would not read it as {noun} of its own",
                fix="Give the exercises titles of their own in their YAML"
                + (f", or pass {remedy.format(item=item)}." if remedy else "."),
            )
        taken[header.strip().casefold()] = f"the column of {item}"


def _check_assignments(assignments: Mapping[str, str], items: Items) -> None:
    for item, number in assignments.items():
        if item not in items.ids:
            raise GraderError(
                f"--assignment {item}={number}: {item} is no exercise of the course, and the "
                "gradebook holds no grade of it",
                fix="Its exercises: " + (", ".join(items.ids) or "none yet") + ".",
            )


def _moodle(book: Gradebook, course: Course | None, options: ExportOptions) -> Exported:
    from grader.render.lms import render_moodle

    roster = _lms_roster("Moodle", options)
    identifier = options.identifier
    if identifier is None or identifier not in MOODLE_IDENTIFIERS:
        raise GraderError(
            "a Moodle import matches students by one user field",
            fix="Pass --identifier username (the roster's sis_login_id), idnumber "
            "(sis_user_id) or email (email).",
        )
    column, header = MOODLE_IDENTIFIERS[identifier]
    if column not in roster.columns:
        others = [
            f"--identifier {i}" for i, (c, _) in MOODLE_IDENTIFIERS.items() if c in roster.columns
        ]
        raise GraderError(
            f"{roster.path} has no {column} column: Moodle would find students by their "
            f"{identifier}",
            fix=f"Add the column {column}"
            + (f", or pass {' or '.join(others)} (the roster has its column)." if others else "."),
        )
    lacking = [
        Problem(
            roster.where(s),
            f"'{s.student}' has no {column}",
            f"Give it (Moodle finds each student by their {identifier}), or export with "
            "another --identifier.",
        )
        for s in roster.students
        if not getattr(s, column)
    ]
    if lacking:
        raise SpecError(problems=lacking)
    listed, items = class_list(book, course, roster=roster)
    _refuse_not_current("Moodle", listed, course)
    warnings = _unknown(listed)
    if listed.unknown:
        warnings[-1] += " (left out: Moodle would stop the import at a user it cannot find)"
    over = [item for item in items.ids if items.points.get(item, 0.0) > 100]
    if over:
        warnings.append(
            f"{', '.join(over)} is worth more than 100 points: Moodle refuses a grade above "
            "100 unless the site allows more (gradepointmax)"
        )
    titles = {i: items.titles.get(i, i) for i in items.ids}
    _distinct_columns("Moodle", titles, (header, "Full name"), "")
    text = render_moodle(listed.rows, roster, items.ids, titles, column, header)
    return Exported(text, warnings)


#: `grade gradebook export --format` -> its exporter (formats.EXPORT_FORMATS names them for
#: the CLI without loading this module).
EXPORTERS: dict[str, Callable[[Gradebook, Course | None, ExportOptions], Exported]] = {
    "csv": _csv,
    "json": _json,
    "canvas": _canvas,
    "moodle": _moodle,
}
