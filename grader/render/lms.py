"""The class as the CSV files LMS importers read (`grade gradebook export --format canvas`,
`--format moodle`); classroom/exports.py has checked that every row can be matched.

Canvas (its GradebookImporter): the header row starts `Student, ID`, then `SIS User ID`,
`SIS Login ID`, and `Section` closes the student columns; a column titled `Title (12345)`
grades the assignment of that id; a row whose first cell is `Points Possible` sets each
assignment's points. A student is matched by ID, then SIS User ID, then SIS Login ID, then
by name. Moodle (gradeimport_csv): one header row; the instructor maps one column to a user
field (username, ID number or email address) and each other column to a grade item.

Cells go through spreadsheet.py: text made inert, numbers written as numbers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from grader.render.spreadsheet import Cell, render_rows
from grader.results import Roster

#: Canvas's own export names the row of points so, its first cell indented.
POINTS_POSSIBLE = "    Points Possible"
CANVAS_STUDENT_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")


def render_canvas(
    rows: Mapping[tuple[str, str], Mapping[str, Any]],
    roster: Roster,
    items: Sequence[str],
    headers: Mapping[str, str],
    points: Mapping[str, float],
) -> str:
    """One row per roster student, in the roster's order; one column per exercise."""
    table: list[Sequence[Cell]] = [
        [*CANVAS_STUDENT_COLUMNS, *(headers[item] for item in items)],
        [POINTS_POSSIBLE, "", "", "", "", *(points.get(item, 0.0) for item in items)],
    ]
    for s in roster.students:
        table.append(
            [
                s.display_name,
                s.canvas_id,
                s.sis_user_id,
                s.sis_login_id,
                s.section,
                *(_score(rows.get((s.student, item))) for item in items),
            ]
        )
    return render_rows(table)


def render_moodle(
    rows: Mapping[tuple[str, str], Mapping[str, Any]],
    roster: Roster,
    items: Sequence[str],
    titles: Mapping[str, str],
    column: str,
    header: str,
) -> str:
    """One row per roster student: the identifier Moodle maps, the name (for people; left
    unmapped), a column per exercise titled as the course titles it."""
    table: list[Sequence[Cell]] = [[header, "Full name", *(titles[item] for item in items)]]
    for s in roster.students:
        table.append(
            [
                getattr(s, column),
                s.display_name,
                *(_score(rows.get((s.student, item))) for item in items),
            ]
        )
    return render_rows(table)


def _score(row: Mapping[str, Any] | None) -> Cell:
    return None if row is None else float(row["score"])
