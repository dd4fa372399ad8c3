"""The class list an institution keeps: who should have handed something in.

`grade batch ... --roster roster.csv` and `grade gradebook export --roster roster.csv`
read it. Without it the grader knows only the folders it found, so a student who handed
in nothing is invisible and an LMS keeps whatever grade it had; with it every student of
the roster gets a row ("no submission", 0 points, where nothing was found), and a folder
that is not in the roster is named as unknown (and still graded).

The file is a CSV with a header. `student` (the folder, or the file's stem, in the class
directory) is required; the others identify the student to an LMS:

    student,name,canvas_id,sis_user_id,sis_login_id,section,email
    ada,"Lovelace, Ada",101,S001,ada.l,Lab 1,ada@example.edu

Every fault is a file:line error that says what to write instead.
"""

from __future__ import annotations

import csv
import difflib
import io
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from grader.errors import Problem, SpecError
from grader.results import Roster, RosterStudent

#: The columns a roster may have, `student` first (required).
COLUMNS = ("student", "name", "canvas_id", "sis_user_id", "sis_login_id", "section", "email")
#: A roster of 100,000 students with every column fits in a few MiB.
MAX_BYTES = 8 * 1024 * 1024
#: More unknown columns than this is not a header with typos: one error says so.
MAX_UNKNOWN = 10
#: More students than the largest course: every export holds a row per student and
#: exercise in memory (100,000 rows of JSON: 400 MB).
MAX_STUDENTS = 100_000
EXAMPLE = "student,name,canvas_id,sis_user_id,sis_login_id,section,email"
FIX = f"A roster is a CSV with a header, e.g. '{EXAMPLE}' (only 'student' is required)."


def read_roster(path: Path) -> Roster:
    """The roster at `path`, or a SpecError listing every malformed row with its line."""
    from grader.exercise.yamlfile import YamlLimits, read_text

    limits = YamlLimits("a roster", MAX_BYTES, 1, 1, 0, FIX)
    text = read_text(path, limits).removeprefix("\ufeff")  # a spreadsheet's byte-order mark
    rows = _parse(text, path)
    if not rows:
        raise SpecError("the roster is empty", where=f"{path}:1", fix=FIX)
    header_line, header = rows[0]
    columns = tuple(column_name(cell) for cell in header)
    problems = _header_problems(columns, path, header_line)
    if problems:
        raise SpecError(problems=problems)
    students: list[RosterStudent] = []
    seen: dict[str, int] = {}
    identifiers: dict[tuple[str, str], int] = {}
    # Blank lines left out, as spreadsheets leave them at the end.
    listed = [(line, cells) for line, cells in rows[1:] if any(cell.strip() for cell in cells)]
    if len(listed) > MAX_STUDENTS:
        raise SpecError(
            f"the roster lists more than {MAX_STUDENTS:,} students",
            where=f"{path}:{listed[MAX_STUDENTS][0]}",
            fix="Give one roster per course (or section) of at most that many students.",
        )
    for line, cells in listed:
        where = f"{path}:{line}"
        if len(cells) != len(columns):
            problems.append(
                Problem(
                    where,
                    f"{len(cells)} cells where the header has {len(columns)}",
                    'Quote a cell that holds a comma: "Lovelace, Ada".',
                )
            )
            continue
        values = {column: cell.strip() for column, cell in zip(columns, cells, strict=True)}
        # The form a folder's name is recorded in (see submissions.visible_name): a name
        # typed on one system matches the folder unpacked on another.
        values["student"] = unicodedata.normalize("NFC", values["student"])
        problem = (
            _row_problem(values, where, seen)
            or _unseen(values, where)
            or _shared_identifier(values, where, identifiers)
        )
        if problem is not None:
            problems.append(problem)
            continue
        seen[values["student"]] = line
        for column in IDENTIFIERS:
            if values.get(column):
                identifiers.setdefault((column, exported(values[column])), line)
        students.append(RosterStudent(**values, line=line))
    if problems:
        raise SpecError(problems=problems)
    if not students:
        raise SpecError(
            "the roster lists no students: it has a header and no row under it",
            where=f"{path}:{header_line}",
            fix="Add one row per student under the header, e.g. 'ada,\"Lovelace, Ada\",101'.",
        )
    return Roster(path, tuple(students), columns)


#: The columns that name one student to an LMS: two students may not share a value.
IDENTIFIERS = ("canvas_id", "sis_user_id", "sis_login_id", "email")


def column_name(cell: str) -> str:
    """A header cell as a column's name: case, outer spaces and the spaces or hyphens
    between words do not matter ('SIS User ID', as Canvas's own export heads it, is
    sis_user_id)."""
    return re.sub(r"[\s-]+", "_", cell.strip()).lower()


def exported(value: str) -> str:
    """An identifier as an LMS reads it from the export: made inert and visible as the
    export writes it ('=a@x' is written "'=a@x", an escape character as `\\x1b`), then
    without case. Two values alike here are one user to the LMS."""
    from grader.render.spreadsheet import text_cell

    return text_cell(value).casefold()


def _unseen(values: Mapping[str, str], where: str) -> Problem | None:
    """A name an LMS matches (or a folder's) holding a character that shows as nothing
    or acts on a terminal: it would match no user, or look like another student."""
    from grader.render.untrusted import UNSEEN, visible

    for column in ("student", *IDENTIFIERS):
        value = values.get(column, "")
        if UNSEEN.search(value):
            return Problem(
                where,
                f"{column} '{visible(value)}' holds a character that shows as nothing or acts "
                "on a terminal",
                "Retype the cell: an LMS would match no user by it.",
            )
    return None


def _shared_identifier(
    values: Mapping[str, str], where: str, seen: Mapping[tuple[str, str], int]
) -> Problem | None:
    """A row whose LMS identifier another row has already: the LMS would give both grades
    to one student (emails and logins compared without case)."""
    for column in IDENTIFIERS:
        value = values.get(column, "")
        first = seen.get((column, exported(value))) if value else None
        if first is not None:
            return Problem(
                where,
                f"{column} '{value}' is also that of the student at line {first}",
                "Each student's LMS identifiers are their own: correct one of the two rows.",
            )
    return None


#: What separates a roster's cells, the first found in its header (see _parse).
DELIMITERS = (",", ";", "\t")


def _parse(text: str, path: Path) -> list[tuple[int, list[str]]]:
    """(line, cells) per row, the line where the row starts. A spreadsheet set to a
    European locale saves with semicolons, and one saved as tab-separated text (or a
    class list pasted from one) with tabs: the header's first separator of comma,
    semicolon and tab, in that order, is the file's."""
    header = text.split("\n", 1)[0]
    delimiter = next((d for d in DELIMITERS if d in header), ",")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    rows = []
    start = 1
    try:
        for cells in reader:
            rows.append((start, cells))
            start = reader.line_num + 1
    except csv.Error as exc:
        if "field larger than field limit" in str(exc):
            raise SpecError(
                f"a cell longer than {csv.field_size_limit():,} characters: not a roster's",
                where=f"{path}:{start}",
                fix=FIX,
            ) from None
        raise SpecError(
            f"not CSV: the row that starts here does not end ({exc})",
            where=f"{path}:{start}",
            fix="Close the quote it opens: a quoted cell ends with a double quote.",
        ) from None
    return rows


def _header_problems(columns: Sequence[str], path: Path, line: int) -> list[Problem]:
    where = f"{path}:{line}"
    if not set(columns) & set(COLUMNS):
        shown = ", ".join(f"'{c[:40]}'" for c in columns[:3]) + (", ..." if columns[3:] else "")
        return [
            Problem(
                where,
                f"the first line is not a header: none of its cells ({shown}) names a column",
                f"Add a header line above the students. {FIX}",
            )
        ]
    problems = []
    unknown = [column for column in columns if column not in COLUMNS]
    if len(unknown) > MAX_UNKNOWN:
        shown = ", ".join(f"'{c[:40]}'" for c in unknown[:3])
        return [
            Problem(
                where,
                f"{len(unknown):,} unknown columns ({shown}, ...): this is not a roster's header",
                FIX,
            )
        ]
    for column in unknown:
        near = difflib.get_close_matches(column[:100], COLUMNS, n=1)
        hint = f"did you mean '{near[0]}'? " if near else ""
        shown = column if len(column) <= 60 else column[:60] + "..."
        problems.append(
            Problem(
                where,
                f"unknown column '{shown}'",
                f"{hint}The columns are {', '.join(COLUMNS)}.",
            )
        )
    doubled = sorted(c for c, n in Counter(columns).items() if n > 1)
    if doubled:
        problems.append(Problem(where, f"the column '{doubled[0]}' is given twice"))
    if "student" not in columns:
        problems.append(
            Problem(
                where,
                "no 'student' column: the folder (or file stem) of each student in the class "
                "directory",
                FIX,
            )
        )
    return problems


def _row_problem(values: Mapping[str, str], where: str, seen: Mapping[str, int]) -> Problem | None:
    student = values["student"]
    if not student:
        return Problem(where, "no student: the 'student' cell is empty", "Give the folder name.")
    if "/" in student or student in (".", ".."):
        return Problem(
            where,
            f"'{student}' cannot be a folder of the class directory",
            "Give the folder's own name, without a path.",
        )
    if student in seen:
        return Problem(where, f"'{student}' is listed twice (first at line {seen[student]})")
    canvas = values.get("canvas_id", "")
    if canvas and not (canvas.isascii() and canvas.isdigit()):
        return Problem(
            where,
            f"canvas_id '{canvas}' is not a number",
            "Give the number in the ID column of Canvas's own gradebook export.",
        )
    return None


@dataclass(frozen=True)
class ClassList:
    """Each student's row per item, the roster's students included: what exports read."""

    #: (student, item) -> row, in the order of students then items.
    rows: dict[tuple[str, str], dict[str, Any]]
    #: Graded students the roster does not list (empty without a roster).
    unknown: tuple[str, ...]


#: The reason of a roster student for whom no file was ever found.
NEVER_SUBMITTED = "no submission: nothing of this student's was found in the class folder"


def with_roster(
    latest: Mapping[tuple[str, str], dict[str, Any]],
    roster: Roster | None,
    items: Iterable[str],
    points: Mapping[str, float],
) -> ClassList:
    """The gradebook's rows (Gradebook.latest) and a "no submission" row, 0 points, for each
    roster student without one at an item; the students it does not list, apart."""
    from grader.classroom.gradebook import no_submission

    rows = dict(latest)
    if roster is None:
        return ClassList(dict(sorted(rows.items())), ())
    for item in items:
        for student in roster.names():
            if (student, item) not in rows:
                rows[student, item] = no_submission(
                    student, item, points.get(item, 0.0), NEVER_SUBMITTED
                )
    unknown = sorted({s for s, _ in rows} - set(roster.names()))
    return ClassList(dict(sorted(rows.items())), tuple(unknown))


def roster_fields(student: RosterStudent | None) -> dict[str, str] | None:
    """A roster row as the JSON export shows it (None: not in the roster)."""
    if student is None:
        return None
    return {f.name: getattr(student, f.name) for f in fields(RosterStudent) if f.name != "line"}


def listed_names(students: Sequence[str], most: int = 10) -> str:
    """Up to `most` names, in order, and how many more: for one line of a summary."""
    more = len(students) - most
    return ", ".join(students[:most]) + (f" and {more} more" if more > 0 else "")
